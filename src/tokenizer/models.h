// The two subword algorithms, each a faithful port of llama.cpp's session code so token ids
// agree: byte-level BPE with ranked merges (llm_tokenizer_bpe_session) and SentencePiece-style
// score-driven merges with byte fallback (llm_tokenizer_spm_session).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab.h"

namespace autoglm::tokenizer {

// Merge table of a byte-level BPE vocabulary. Merges are looked up by token-id pair (fast path);
// a symbol whose text is not a token falls back to the text-keyed table, as in llama.cpp.
class BpeModel {
 public:
  BpeModel() = default;
  // `merges` holds "left right" strings; the rank is the index, the first duplicate wins.
  BpeModel(const std::vector<std::string>& merges, const Vocab& vocab);

  struct Merge {
    int rank;
    int32_t result;  // token id of the merged text, -1 if it is not a token
  };
  const Merge* find(int32_t left, int32_t right) const;
  // Rank of merging two texts, or -1. `scratch` avoids an allocation per lookup.
  int rank(std::string_view left, std::string_view right, std::string& scratch) const;
  // Token id of a one-character symbol (-1 if none).
  int32_t char_id(const Vocab& vocab, std::string_view utf8_char) const;

 private:
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> by_text_;
  std::unordered_map<uint64_t, Merge> by_id_;
  std::vector<int32_t> small_char_id_;  // by code point, for the byte-level alphabet (< 512)
};

// Appends the tokens of one pre-tokenized, byte-encoded word.
void bpe_encode_word(const Vocab& vocab, const BpeModel& model, std::string_view word,
                     bool ignore_merges, std::vector<int32_t>& out);

// Appends the tokens of `text`, whose spaces must already be escaped as U+2581.
void spm_encode(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out);

}  // namespace autoglm::tokenizer
