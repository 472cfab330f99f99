// Text <-> token ids, agreeing with llama.cpp: byte-level BPE ("gpt2") with llama.cpp's
// pre-tokenizer regexes, SentencePiece-style BPE ("llama"), special-token partitioning, and a
// streaming detokenizer that never emits half a UTF-8 character.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/models.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab.h"

namespace autoglm::gguf {
class File;
}

namespace autoglm::tokenizer {

class Tokenizer {
 public:
  // Reads tokenizer.ggml.* from the file. Unsupported for an unknown tokenizer.ggml.model.
  static Result<std::unique_ptr<Tokenizer>> from_gguf(const gguf::File& f);
  // Builds a tokenizer from plain data (tests, tools).
  static Result<std::unique_ptr<Tokenizer>> create(const VocabConfig& config);

  // add_bos: prepend the BOS token (callers usually pass add_bos()). parse_special: text of
  // control tokens (e.g. "<|im_start|>") becomes that token; user-defined tokens always do.
  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const;
  // Bytes of one token; control/unknown tokens are "" unless render_special.
  std::string token_to_piece(int32_t id, bool render_special = false) const;
  // Concatenated pieces; for SentencePiece the space added by encode's prefix is removed.
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;

  int32_t n_vocab() const { return vocab_.n_tokens(); }
  int32_t bos() const { return vocab_.bos(); }  // -1 if none
  int32_t eos() const { return vocab_.eos(); }  // -1 if none
  bool add_bos() const { return vocab_.add_bos(); }
  bool add_eos() const { return vocab_.add_eos(); }
  bool is_eog(int32_t id) const { return vocab_.is_eog(id); }
  std::optional<int32_t> find_token(std::string_view text) const;
  const Vocab& vocab() const { return vocab_; }
  const std::string& chat_template() const { return chat_template_; }

 private:
  Tokenizer(Vocab vocab, std::optional<PreTokenizer> pre, BpeModel bpe, bool ignore_merges,
            std::string chat_template);
  struct Fragment {
    int32_t token;  // -1: raw text [begin, end)
    size_t begin;
    size_t end;
  };
  std::vector<Fragment> partition(std::string_view text, bool parse_special) const;
  void encode_bpe(std::string_view text, std::vector<int32_t>& out) const;
  std::string make_piece(int32_t id) const;

  Vocab vocab_;
  std::optional<PreTokenizer> pre_;  // BPE only
  BpeModel bpe_;
  bool ignore_merges_ = false;
  std::string chat_template_;
  std::vector<std::string> pieces_;  // token_to_piece with render_special, per id
};

// Streaming detokenization: never emits an incomplete UTF-8 sequence; holds bytes until complete.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& t, bool render_special = false);
  std::string push(int32_t id);  // complete UTF-8 text now available (maybe empty)
  std::string flush();           // whatever is left (invalid bytes replaced by U+FFFD)

 private:
  const Tokenizer& tok_;
  bool render_special_;
  std::string pending_;
};

// Chat: ChatML now (a general Jinja engine comes later). Detects the template family from
// tokenizer.chat_template (contains "<|im_start|>" -> ChatML); Unsupported otherwise, naming
// what it saw. A default system message written in the template (inserted when the first message
// is not a system one, as SmolLM2's template does) is reproduced.
struct ChatMessage {
  std::string role, content;
};
Result<std::string> apply_chat_template(const std::string& template_text,
                                        const std::vector<ChatMessage>& messages,
                                        bool add_generation_prompt);

}  // namespace autoglm::tokenizer
