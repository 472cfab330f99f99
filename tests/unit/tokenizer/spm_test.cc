// SentencePiece-style BPE ("llama" model): score-ordered merges, space prefix, byte fallback.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace autoglm::tokenizer {
namespace {

using Ids = std::vector<int32_t>;

constexpr int32_t kByte0 = 3;  // <0x00> .. <0xFF> are ids 3..258
constexpr int32_t kSpace = 259, kA = 260, kB = 261, kSpaceA = 262, kAB = 263, kSpaceAB = 264,
                  kC = 265;

VocabConfig spm_vocab(bool with_space_ab) {
  VocabConfig c;
  c.model = "llama";
  c.tokens = {"<unk>", "<s>", "</s>"};
  c.token_types = {TokenType::Unknown, TokenType::Control, TokenType::Control};
  c.scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    c.tokens.push_back(name);
    c.token_types.push_back(TokenType::Byte);
    c.scores.push_back(0);
  }
  const std::string sp = "\xE2\x96\x81";  // U+2581
  const std::vector<std::pair<std::string, float>> pieces = {
      {sp, -1},       {"a", -1},  {"b", -1},
      {sp + "a", -3}, {"ab", -2}, {with_space_ab ? sp + "ab" : "unused-ab", -1},
      {"c", -1}};
  for (const auto& [text, score] : pieces) {
    c.tokens.push_back(text);
    c.token_types.push_back(TokenType::Normal);
    c.scores.push_back(score);
  }
  return c;
}

std::unique_ptr<Tokenizer> make(bool with_space_ab = true) {
  auto t = Tokenizer::create(spm_vocab(with_space_ab));
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return std::move(t).value();
}

TEST(Spm, HighestScoreMergesFirst) {
  // "▁ab": "ab" (-2) beats "▁a" (-3), then "▁ab" (-1) forms.
  EXPECT_EQ(make(true)->encode("ab", false, false), (Ids{kSpaceAB}));
  EXPECT_EQ(make(false)->encode("ab", false, false), (Ids{kSpace, kAB}));
}

TEST(Spm, ByteFallbackForUnknownCharacters) {
  const auto t = make();
  // "€" = E2 82 AC has no token.
  EXPECT_EQ(t->encode("a\xE2\x82\xAC", false, false),
            (Ids{kSpaceA, kByte0 + 0xE2, kByte0 + 0x82, kByte0 + 0xAC}));
  EXPECT_EQ(t->decode(t->encode("a\xE2\x82\xAC", false, false)), "a\xE2\x82\xAC");
  EXPECT_EQ(t->token_to_piece(kByte0 + 'Z'), "Z");
}

TEST(Spm, DefaultsAndBos) {
  const auto t = make();
  EXPECT_TRUE(t->add_bos());
  EXPECT_EQ(t->bos(), 1);
  EXPECT_EQ(t->eos(), 2);
  EXPECT_TRUE(t->is_eog(2));
  EXPECT_EQ(t->encode("ab", true, false), (Ids{1, kSpaceAB}));
  EXPECT_EQ(t->encode("", true, false), (Ids{1}));
  EXPECT_EQ(t->encode("", false, false), Ids{});
}

TEST(Spm, DecodeRemovesThePrefixSpace) {
  const auto t = make();
  const Ids ids = t->encode("ab c", true, false);
  EXPECT_EQ(ids, (Ids{1, kSpaceAB, kSpace, kC}));
  EXPECT_EQ(t->decode(ids), "ab c");
  EXPECT_EQ(t->decode(ids, true), "<s>ab c");
}

TEST(Spm, SpecialTokensRestartTheSpacePrefix) {
  const auto t = make();
  EXPECT_EQ(t->encode("a</s>b", false, true), (Ids{kSpaceA, 2, kSpace, kB}));
  // Without parse_special the control token's text is plain text (here: bytes).
  const Ids plain = t->encode("</s>", false, false);
  EXPECT_EQ(plain.front(), kSpace);
  EXPECT_EQ(plain.size(), 5u);
}

TEST(Spm, ControlTokensRenderOnlyOnRequest) {
  const auto t = make();
  EXPECT_EQ(t->token_to_piece(1), "");
  EXPECT_EQ(t->token_to_piece(1, true), "<s>");
  EXPECT_EQ(t->token_to_piece(0, true), "<unk>");
  EXPECT_EQ(t->token_to_piece(kSpaceA), " a");
  EXPECT_EQ(t->token_to_piece(-1), "");
  EXPECT_EQ(t->token_to_piece(100000), "");
}

}  // namespace
}  // namespace autoglm::tokenizer
