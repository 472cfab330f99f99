// Regex pre-tokenization for byte-level BPE, as llama.cpp does it: each regex of the model's
// list splits every current piece into its matches and the gaps between them, and the next regex
// works on the resulting pieces. Patterns are llama.cpp's, run with PCRE2 (UTF + UCP) after
// to_pcre2_pattern, so the code points each class matches are the ones llama.cpp matches.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

struct pcre2_real_code_8;

namespace autoglm::tokenizer {

struct PreTokenizerConfig {
  std::string name;                  // canonical name, for messages
  std::vector<std::string> regexes;  // llama.cpp's regex_exprs for this pre-tokenizer type
  bool ignore_merges = false;        // a word that is already a token is emitted whole
  bool add_bos = false;              // llama.cpp's default for tokenizer.ggml.add_bos_token
  bool no_bos = false;               // the model has no BOS token (chatglm)
};

// Config for a tokenizer.ggml.pre value; "" gives llama.cpp's "default". An unknown name falls
// back to the GPT-2 regex and sets `*known` to false so the caller can warn.
PreTokenizerConfig resolve_pre_tokenizer(std::string_view pre, bool* known);

// Rewrites a llama.cpp regex for PCRE2 so both match the same code points: `\s` / `\S` (also
// inside classes) become explicit White_Space classes, and \p{L}, \p{N}, \p{P}, \p{M}, \p{S}
// gain the code points llama.cpp's newer Unicode tables assign to them.
std::string to_pcre2_pattern(std::string_view pattern);

class PreTokenizer {
 public:
  // InvalidArgument naming the pattern if PCRE2 rejects it.
  static Result<PreTokenizer> compile(const std::vector<std::string>& regexes);

  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;
  ~PreTokenizer();

  // Splits valid UTF-8 `text` into words, returned as byte ranges [first, second).
  std::vector<std::pair<size_t, size_t>> split(std::string_view text) const;

 private:
  PreTokenizer() = default;
  struct CodeDeleter {
    void operator()(pcre2_real_code_8* code) const;
  };
  using Code = std::unique_ptr<pcre2_real_code_8, CodeDeleter>;
  struct Regex {
    Code code;
    bool whitespace_as_vt;  // sees non-ASCII whitespace as U+000B, like llama.cpp's std::wregex
  };
  std::vector<Regex> regexes_;
};

}  // namespace autoglm::tokenizer
