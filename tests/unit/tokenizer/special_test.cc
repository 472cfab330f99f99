// Special-token partition, end-of-generation detection and streaming detokenization.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "test_vocabs.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::tokenizer {
namespace {

using testing::BpeVocabBuilder;
using Ids = std::vector<int32_t>;

Ids bytes_of(const std::string& s) {
  Ids ids;
  for (const unsigned char c : s) ids.push_back(c);
  return ids;
}

std::unique_ptr<Tokenizer> make(const BpeVocabBuilder& b) {
  auto t = Tokenizer::create(b.build());
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return std::move(t).value();
}

BpeVocabBuilder chat_vocab() {
  BpeVocabBuilder b;
  b.extra = {"<|endoftext|>"};  // stored as a normal token, as some conversions do
  b.specials = {"<|im_start|>", "<|im_end|>", "<a>", "<a><b>"};
  b.user_defined = {"<tool>"};
  return b;
}

TEST(SpecialTokens, ControlTokensAreMatchedWhenParsingSpecial) {
  const auto b = chat_vocab();
  const auto t = make(b);
  const int32_t start = b.id_of_special(0), end = b.id_of_special(1);
  Ids expected = {start};
  for (const int32_t id : bytes_of("user\nhi")) expected.push_back(id);
  expected.push_back(end);
  EXPECT_EQ(t->encode("<|im_start|>user\nhi<|im_end|>", false, true), expected);
  EXPECT_EQ(t->encode("<|im_end|><|im_end|>", false, true), (Ids{end, end}));
  // Without parse_special the text is ordinary bytes.
  EXPECT_EQ(t->encode("<|im_start|>", false, false), bytes_of("<|im_start|>"));
  // Partial markers are never special.
  EXPECT_EQ(t->encode("<|im_start", false, true), bytes_of("<|im_start"));
}

TEST(SpecialTokens, UserDefinedTokensAreAlwaysMatched) {
  const auto b = chat_vocab();
  const auto t = make(b);
  const int32_t tool = b.id_of_user(0);
  EXPECT_EQ(t->encode("a<tool>b", false, false), (Ids{'a', tool, 'b'}));
  EXPECT_EQ(t->encode("a<tool>b", false, true), (Ids{'a', tool, 'b'}));
}

TEST(SpecialTokens, LongestTokenWins) {
  const auto b = chat_vocab();
  const auto t = make(b);
  const int32_t a = b.id_of_special(2), ab = b.id_of_special(3);
  EXPECT_EQ(t->encode("<a><b><a>", false, true), (Ids{ab, a}));
  EXPECT_EQ(t->encode("x<a>y", false, true), (Ids{'x', a, 'y'}));
}

TEST(SpecialTokens, EndOfGenerationSet) {
  const auto b = chat_vocab();
  const auto t = make(b);
  const int32_t eot_text = b.id_of_extra(0);
  EXPECT_TRUE(t->is_eog(b.id_of_special(1)));  // <|im_end|>
  EXPECT_TRUE(t->is_eog(eot_text));            // <|endoftext|>
  EXPECT_FALSE(t->is_eog(b.id_of_special(0)));
  EXPECT_FALSE(t->is_eog('a'));
  EXPECT_FALSE(t->is_eog(-1));
  // A normal-typed "<|endoftext|>" is forced to control, like llama.cpp does.
  EXPECT_EQ(t->token_to_piece(eot_text), "");
  EXPECT_EQ(t->token_to_piece(eot_text, true), "<|endoftext|>");
  EXPECT_EQ(t->encode("x<|endoftext|>", false, true), (Ids{'x', eot_text}));
}

TEST(SpecialTokens, DecodeRendersSpecialOnRequest) {
  const auto b = chat_vocab();
  const auto t = make(b);
  const Ids ids = t->encode("<|im_start|>hi<|im_end|>", false, true);
  EXPECT_EQ(t->decode(ids), "hi");
  EXPECT_EQ(t->decode(ids, true), "<|im_start|>hi<|im_end|>");
  EXPECT_EQ(t->decode(t->encode("a<tool>b", false, false)), "a<tool>b");
}

TEST(StreamDecoder, HoldsAnEmojiSplitAcrossTokens) {
  const auto t = make(BpeVocabBuilder{});
  const std::string text =
      "a\xF0\x9F\x98\x80"
      "b";  // a😀b
  const Ids ids = t->encode(text, false, false);
  ASSERT_EQ(ids, (Ids{'a', 0xF0, 0x9F, 0x98, 0x80, 'b'}));
  StreamDecoder d(*t);
  std::vector<std::string> out;
  for (const int32_t id : ids) out.push_back(d.push(id));
  EXPECT_EQ(out, (std::vector<std::string>{"a", "", "", "", "\xF0\x9F\x98\x80", "b"}));
  EXPECT_EQ(d.flush(), "");
}

TEST(StreamDecoder, FlushReplacesAnUnfinishedSequence) {
  const auto t = make(BpeVocabBuilder{});
  StreamDecoder d(*t);
  EXPECT_EQ(d.push('x'), "x");
  EXPECT_EQ(d.push(0xF0), "");
  EXPECT_EQ(d.push(0x9F), "");
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(d.flush(), "");
}

TEST(StreamDecoder, InvalidBytesAreReplacedAtOnce) {
  const auto t = make(BpeVocabBuilder{});
  StreamDecoder d(*t);
  EXPECT_EQ(d.push(0xFF), "\xEF\xBF\xBD");
  EXPECT_EQ(d.push(0xC3), "");
  EXPECT_EQ(d.push('('), "\xEF\xBF\xBD(");  // the lead byte never got its continuation
}

TEST(StreamDecoder, SkipsControlTokensUnlessRendering) {
  const auto b = chat_vocab();
  const auto t = make(b);
  StreamDecoder plain(*t);
  EXPECT_EQ(plain.push(b.id_of_special(1)), "");
  StreamDecoder rendered(*t, true);
  EXPECT_EQ(rendered.push(b.id_of_special(1)), "<|im_end|>");
}

}  // namespace
}  // namespace autoglm::tokenizer
