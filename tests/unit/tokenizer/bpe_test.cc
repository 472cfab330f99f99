// Byte-level BPE: byte mapping, merge ranks, pre-tokenizer boundaries, malformed input.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "test_vocabs.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace autoglm::tokenizer {
namespace {

using testing::BpeVocabBuilder;
using testing::utf8;
using Ids = std::vector<int32_t>;

std::unique_ptr<Tokenizer> make(const BpeVocabBuilder& b) {
  auto t = Tokenizer::create(b.build());
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.ok() ? std::move(t).value() : nullptr;
}

TEST(ByteUnicode, MatchesGpt2Table) {
  // Known values of GPT-2's bytes_to_unicode().
  EXPECT_EQ(byte_encode(" "), utf8(0x120));   // 'Ġ'
  EXPECT_EQ(byte_encode("\n"), utf8(0x10A));  // 'Ċ'
  EXPECT_EQ(byte_encode(std::string(1, '\0')), utf8(0x100));
  EXPECT_EQ(byte_encode("\xAD"), utf8(0x143));
  EXPECT_EQ(byte_encode("A~"), "A~");
  EXPECT_EQ(byte_encode("\xE9"), utf8(0xE9));
  const auto& bu = ByteUnicode::get();
  for (int b = 0; b < 256; ++b) {
    const std::string enc = bu.encode(static_cast<uint8_t>(b));
    size_t off = 0;
    EXPECT_EQ(bu.decode(decode_utf8(enc, off)), b);
  }
}

TEST(Bpe, MergeRankDecidesWhichPairMergesFirst) {
  BpeVocabBuilder b;
  b.extra = {"ab", "bc"};
  b.merges = {{"a", "b"}, {"b", "c"}};
  EXPECT_EQ(make(b)->encode("abc", false, false), (Ids{b.id_of_extra(0), 'c'}));

  b.merges = {{"b", "c"}, {"a", "b"}};
  EXPECT_EQ(make(b)->encode("abc", false, false), (Ids{'a', b.id_of_extra(1)}));
}

TEST(Bpe, MergesChainAndTiesGoLeftmost) {
  BpeVocabBuilder b;
  b.extra = {"ab", "abc", "aa"};
  b.merges = {{"a", "a"}, {"a", "b"}, {"ab", "c"}};
  const auto t = make(b);
  EXPECT_EQ(t->encode("abc", false, false), (Ids{b.id_of_extra(1)}));
  EXPECT_EQ(t->encode("aaa", false, false), (Ids{b.id_of_extra(2), 'a'}));
  EXPECT_EQ(t->encode("aaaa", false, false), (Ids{b.id_of_extra(2), b.id_of_extra(2)}));
}

TEST(Bpe, MergedSymbolThatIsNoTokenFallsBackToBytes) {
  BpeVocabBuilder b;
  b.extra = {"ab"};
  b.merges = {{"a", "b"}, {"ab", "c"}};  // "abc" itself is not in the vocabulary
  EXPECT_EQ(make(b)->encode("abc", false, false), (Ids{'a', 'b', 'c'}));
  EXPECT_EQ(make(b)->encode("abd", false, false), (Ids{b.id_of_extra(0), 'd'}));
}

TEST(Bpe, MergesStopAtPreTokenizerBoundaries) {
  BpeVocabBuilder b;
  b.extra = {"a ", " b"};
  b.merges = {{"a", " "}, {" ", "b"}};
  // GPT-2 splits "a b" into "a" and " b", so "a " can never form.
  EXPECT_EQ(make(b)->encode("a b", false, false), (Ids{'a', b.id_of_extra(1)}));
}

TEST(Bpe, SmolLmIsolatesDigits) {
  BpeVocabBuilder b;
  b.extra = {"12"};
  b.merges = {{"1", "2"}};
  EXPECT_EQ(make(b)->encode("123", false, false), (Ids{b.id_of_extra(0), '3'}));
  b.pre = "smollm";
  EXPECT_EQ(make(b)->encode("123", false, false), (Ids{'1', '2', '3'}));
}

TEST(Bpe, Llama3IgnoresMergesForWholeWordTokens) {
  BpeVocabBuilder b;
  b.extra = {"xyz"};
  EXPECT_EQ(make(b)->encode("xyz", false, false), (Ids{'x', 'y', 'z'}));
  b.pre = "llama3";
  const auto t = make(b);
  EXPECT_EQ(t->encode("xyz", false, false), (Ids{b.id_of_extra(0)}));
  EXPECT_TRUE(t->add_bos());  // llama.cpp's default for llama3 vocabularies
}

TEST(Bpe, InvalidUtf8BecomesReplacementCharacter) {
  BpeVocabBuilder b;
  const auto t = make(b);
  // As llama.cpp: each invalid byte is U+FFFD (EF BF BD) before byte-level encoding.
  EXPECT_EQ(t->encode("\xFF", false, false), (Ids{0xEF, 0xBF, 0xBD}));
  EXPECT_EQ(t->encode("a\xC3", false, false), (Ids{'a', 0xEF, 0xBF, 0xBD}));
}

TEST(Bpe, EncodeDecodeRoundTrip) {
  BpeVocabBuilder b;
  b.extra = {"he", "ll", "hell", "hello", " w", " wo"};
  b.merges = {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {" ", "w"}, {" w", "o"}};
  const auto t = make(b);
  const Ids ids = t->encode("hello world", false, false);
  EXPECT_EQ(ids, (Ids{b.id_of_extra(3), b.id_of_extra(5), 'r', 'l', 'd'}));
  EXPECT_EQ(t->decode(ids), "hello world");
  for (const std::string& text :
       std::vector<std::string>{"\t tabs\n\nand  spaces ", "caf\xC3\xA9 \xF0\x9F\x98\x80 12,345",
                                std::string("nul\0byte", 8)}) {
    EXPECT_EQ(t->decode(t->encode(text, false, false)), text);
  }
}

TEST(Bpe, AddBosUsesBosToken) {
  BpeVocabBuilder b;
  VocabConfig c = b.build();
  c.bos_id = 7;
  auto t = Tokenizer::create(c);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->bos(), 7);
  EXPECT_EQ((*t)->encode("a", true, false), (Ids{7, 'a'}));
  EXPECT_FALSE((*t)->add_bos());  // gpt2 default
}

TEST(Bpe, UnknownPreTokenizerFallsBackToGpt2) {
  BpeVocabBuilder b;
  b.pre = "no-such-pre";
  EXPECT_EQ(make(b)->encode("ab 1", false, false), (Ids{'a', 'b', ' ', '1'}));
}

TEST(Tokenizer, UnsupportedModelIsNamed) {
  VocabConfig c;
  c.model = "bert";
  c.tokens = {"[PAD]"};
  auto t = Tokenizer::create(c);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::Unsupported);
  EXPECT_NE(t.status().message().find("bert"), std::string::npos);
}

TEST(Tokenizer, FindToken) {
  BpeVocabBuilder b;
  b.extra = {"hello"};
  const auto t = make(b);
  EXPECT_EQ(t->find_token(testing::gpt2_text("hello")), b.id_of_extra(0));
  EXPECT_FALSE(t->find_token("nope").has_value());
  EXPECT_EQ(t->n_vocab(), 257);
}

}  // namespace
}  // namespace autoglm::tokenizer
