// Pre-tokenizer splits, checked against what llama.cpp's splitters produce for these inputs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/pretokenizer.h"

namespace autoglm::tokenizer {
namespace {

using Words = std::vector<std::string>;

Words split(const std::string& pre, const std::string& text) {
  bool known = false;
  const PreTokenizerConfig config = resolve_pre_tokenizer(pre, &known);
  EXPECT_TRUE(known) << pre;
  auto p = PreTokenizer::compile(config.regexes);
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  Words out;
  for (const auto& [b, e] : p->split(text)) out.push_back(text.substr(b, e - b));
  return out;
}

TEST(PreTokenizer, Gpt2) {
  EXPECT_EQ(split("gpt-2", "Hello world"), (Words{"Hello", " world"}));
  EXPECT_EQ(split("gpt-2", "don't"), (Words{"don", "'t"}));
  EXPECT_EQ(split("gpt-2", "DON'T"), (Words{"DON", "'", "T"}));  // contractions are lowercase only
  EXPECT_EQ(split("gpt-2", "x=10, y"), (Words{"x", "=", "10", ",", " y"}));
  EXPECT_EQ(split("gpt-2", ""), Words{});
}

TEST(PreTokenizer, WhitespaceRunsLeaveTheLastSpaceToTheNextWord) {
  // \s+(?!\S): a run followed by a word gives its last space to that word...
  EXPECT_EQ(split("gpt-2", "a   b"), (Words{"a", "  ", " b"}));
  EXPECT_EQ(split("gpt-2", "a\t\tb"), (Words{"a", "\t", "\t", "b"}));
  // ...and a run at the end of the text stays whole.
  EXPECT_EQ(split("gpt-2", "x   "), (Words{"x", "   "}));
  EXPECT_EQ(split("gpt-2", "  hello"), (Words{" ", " hello"}));
}

TEST(PreTokenizer, WhitespaceIsUnicodeWhiteSpace) {
  // U+0085 and U+00A0 are whitespace for llama.cpp; U+180E and U+200B are not.
  EXPECT_EQ(split("gpt-2",
                  "a \xC2\x85"
                  "b"),
            (Words{"a", " ", "\xC2\x85", "b"}));
  EXPECT_EQ(split("gpt-2",
                  "a \xE1\xA0\x8E"
                  "b"),
            (Words{"a", " \xE1\xA0\x8E", "b"}));
  EXPECT_EQ(split("gpt-2",
                  "a\xE2\x80\x8B"
                  "b"),
            (Words{"a", "\xE2\x80\x8B", "b"}));
}

TEST(PreTokenizer, SmolLmSplitsDigitsFirst) {
  EXPECT_EQ(split("smollm", "abc 123"), (Words{"abc", " ", "1", "2", "3"}));
  EXPECT_EQ(split("smollm", "x1y"), (Words{"x", "1", "y"}));
  // The run before a digit ends its piece, so it is not split as "\s+(?!\S)" would on the
  // whole text.
  EXPECT_EQ(split("smollm", "a  1"), (Words{"a", "  ", "1"}));
  EXPECT_EQ(split("smollm", "\xD9\xA3\xC2\xBD"), (Words{"\xD9\xA3", "\xC2\xBD"}));  // Arabic 3, 1/2
}

TEST(PreTokenizer, Llama3) {
  EXPECT_EQ(split("llama3", "Hello\n\nworld"), (Words{"Hello", "\n\n", "world"}));
  EXPECT_EQ(split("llama3", "12345"), (Words{"123", "45"}));
  EXPECT_EQ(split("llama3", "DON'T"), (Words{"DON", "'T"}));
  EXPECT_EQ(split("llama3", " ?!\n\nx"), (Words{" ?!\n\n", "x"}));
  EXPECT_EQ(split("llama3", "(hello"), (Words{"(hello"}));
  EXPECT_EQ(split("llama-bpe", "  \n x"), (Words{"  \n", " x"}));
}

TEST(PreTokenizer, Qwen2SplitsSingleDigits) {
  EXPECT_EQ(split("qwen2", "12345"), (Words{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(split("qwen2", "It's"), (Words{"It", "'s"}));
}

TEST(PreTokenizer, DefaultSplitsPunctuationFirst) {
  EXPECT_EQ(split("", "hello, world"), (Words{"hello", ",", " world"}));
  EXPECT_EQ(split("default", "1234"), (Words{"123", "4"}));
}

TEST(PreTokenizer, CategoryFreeRegexesSeeNonAsciiWhitespaceAsVerticalTab) {
  // deepseek-coder's CJK class [\x{800}-\x{4E00}...] spans U+2028, but llama.cpp matches it
  // against text where U+2028 became U+000B, so only U+180E is taken.
  EXPECT_EQ(split("deepseek-coder", "\xC3\xA7 \xE2\x80\xA8\xE1\xA0\x8E"),
            (Words{"\xC3\xA7", " \xE2\x80\xA8", "\xE1\xA0\x8E"}));
}

TEST(PreTokenizer, UnknownNameFallsBackToGpt2) {
  bool known = true;
  const PreTokenizerConfig c = resolve_pre_tokenizer("made-up", &known);
  EXPECT_FALSE(known);
  ASSERT_EQ(c.regexes.size(), 1u);
  EXPECT_EQ(c.name, "gpt-2");
}

TEST(PreTokenizer, ToPcre2Pattern) {
  const std::string e = to_pcre2_pattern("\\s+(?!\\S)|[^\\s\\p{L}]");
  EXPECT_EQ(e.find("\\s"), std::string::npos);
  EXPECT_EQ(e.find("\\S"), std::string::npos);
  EXPECT_NE(e.find("[^\\t-\\r"), std::string::npos);
  EXPECT_EQ(to_pcre2_pattern("a\\\\s"), "a\\\\s");  // an escaped backslash, then 's'
  const std::string letters = to_pcre2_pattern("\\p{L}+");
  EXPECT_EQ(letters.rfind("[\\p{L}", 0), 0u) << letters;
  EXPECT_NE(letters.find("\\x{31350}"), std::string::npos);
  EXPECT_EQ(to_pcre2_pattern("\\p{Lu}"), "\\p{Lu}");
}

TEST(PreTokenizer, UnicodeFifteenLettersAreLetters) {
  // U+31350 (CJK Extension H) is a letter for llama.cpp even where PCRE2's tables predate it.
  EXPECT_EQ(split("gpt-2", "x\xF0\xB1\x8D\x90y z"), (Words{"x\xF0\xB1\x8D\x90y", " z"}));
}

TEST(PreTokenizer, BadRegexIsAnError) {
  auto p = PreTokenizer::compile({"(unclosed"});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace autoglm::tokenizer
