// Loading a tokenizer from GGUF metadata written with gguf::Writer.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "test_vocabs.h"
#include "tiny_model.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::tokenizer {
namespace {

using Ids = std::vector<int32_t>;

gguf::Writer tokenizer_writer(const VocabConfig& c) {
  gguf::Writer w;
  w.set_string("general.architecture", "llama");
  w.set_string("tokenizer.ggml.model", c.model);
  w.set_string("tokenizer.ggml.pre", c.pre);
  w.set_string_array("tokenizer.ggml.tokens", c.tokens);
  std::vector<int32_t> types;
  for (const TokenType t : c.token_types) types.push_back(static_cast<int32_t>(t));
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_string_array("tokenizer.ggml.merges", c.merges);
  return w;
}

std::unique_ptr<gguf::File> write_and_open(const gguf::Writer& w, const std::string& name) {
  const std::string path = autoglm::testing::temp_path("tok_" + name);
  const Status st = w.write(path);
  EXPECT_TRUE(st.ok()) << st.to_string();
  auto f = gguf::File::open(path);
  EXPECT_TRUE(f.ok()) << f.status().to_string();
  return std::move(f).value();
}

TEST(TokenizerGguf, LoadsVocabularyMergesAndSpecialIds) {
  testing::BpeVocabBuilder b;
  b.pre = "smollm";
  b.extra = {"he", "hello"};
  b.merges = {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}};
  b.specials = {"<|im_start|>", "<|im_end|>"};
  const VocabConfig c = b.build();
  gguf::Writer w = tokenizer_writer(c);
  w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(b.id_of_special(0)));
  w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(b.id_of_special(1)));
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.set_string("tokenizer.chat_template", "{{ '<|im_start|>' }}");
  const auto f = write_and_open(w, "bpe");

  auto t = Tokenizer::from_gguf(*f);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  const Tokenizer& tok = **t;
  EXPECT_EQ(tok.n_vocab(), 256 + 2 + 2);
  EXPECT_EQ(tok.bos(), b.id_of_special(0));
  EXPECT_EQ(tok.eos(), b.id_of_special(1));
  EXPECT_TRUE(tok.add_bos());
  EXPECT_TRUE(tok.is_eog(b.id_of_special(1)));
  EXPECT_EQ(tok.chat_template(), "{{ '<|im_start|>' }}");
  // Digits are split by the smollm pre-tokenizer.
  EXPECT_EQ(tok.encode("hello 42<|im_end|>", true, true),
            (Ids{b.id_of_special(0), b.id_of_extra(1), ' ', '4', '2', b.id_of_special(1)}));
}

TEST(TokenizerGguf, UnknownModelIsUnsupported) {
  VocabConfig c;
  c.model = "rwkv";
  c.tokens = {"a"};
  c.token_types = {TokenType::Normal};
  const auto f = write_and_open(tokenizer_writer(c), "rwkv");
  auto t = Tokenizer::from_gguf(*f);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::Unsupported);
  EXPECT_NE(t.status().message().find("rwkv"), std::string::npos);
}

TEST(TokenizerGguf, MissingTokenizerIsNotFound) {
  gguf::Writer w;
  w.set_string("general.architecture", "llama");
  const auto f = write_and_open(w, "none");
  auto t = Tokenizer::from_gguf(*f);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::NotFound);
}

TEST(TokenizerGguf, Gpt2WithoutMergesIsCorrupt) {
  gguf::Writer w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b"});
  const auto f = write_and_open(w, "nomerges");
  auto t = Tokenizer::from_gguf(*f);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::CorruptFile);
}

}  // namespace
}  // namespace autoglm::tokenizer
