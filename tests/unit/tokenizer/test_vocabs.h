// Small in-memory vocabularies for the tokenizer tests. The GPT-2 byte mapping is re-derived here
// from its published definition (openai/gpt-2 encoder.py, bytes_to_unicode) so the tests do not
// depend on the implementation under test.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/vocab.h"

namespace autoglm::tokenizer::testing {

inline std::string utf8(uint32_t cpt) {
  std::string s;
  if (cpt < 0x80) {
    s += static_cast<char>(cpt);
  } else if (cpt < 0x800) {
    s += static_cast<char>(0xC0 | (cpt >> 6));
    s += static_cast<char>(0x80 | (cpt & 0x3F));
  } else if (cpt < 0x10000) {
    s += static_cast<char>(0xE0 | (cpt >> 12));
    s += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cpt & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cpt >> 18));
    s += static_cast<char>(0x80 | ((cpt >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cpt & 0x3F));
  }
  return s;
}

// bytes_to_unicode(): printable bytes map to themselves, the rest to 256, 257, ... in order.
inline std::vector<std::string> gpt2_byte_chars() {
  std::vector<std::string> out(256);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    out[b] = utf8(printable ? b : 256 + n++);
  }
  return out;
}

// Byte-level text of a raw string (what a GPT-2 token for it looks like).
inline std::string gpt2_text(const std::string& raw) {
  static const std::vector<std::string> chars = gpt2_byte_chars();
  std::string s;
  for (const unsigned char c : raw) s += chars[c];
  return s;
}

// A GPT-2 style BPE vocabulary: ids 0..255 are the byte tokens (id == byte value), then `extra`
// tokens (raw text, byte-encoded here), then `specials` as control tokens.
struct BpeVocabBuilder {
  std::vector<std::string> extra;                           // raw text
  std::vector<std::pair<std::string, std::string>> merges;  // raw text, in rank order
  std::vector<std::string> specials;                        // control tokens, stored verbatim
  std::vector<std::string> user_defined;
  std::string pre = "gpt-2";

  int32_t id_of_extra(size_t i) const { return static_cast<int32_t>(256 + i); }
  int32_t id_of_special(size_t i) const { return static_cast<int32_t>(256 + extra.size() + i); }
  int32_t id_of_user(size_t i) const {
    return static_cast<int32_t>(256 + extra.size() + specials.size() + i);
  }

  VocabConfig build() const {
    VocabConfig c;
    c.model = "gpt2";
    c.pre = pre;
    for (int b = 0; b < 256; ++b)
      c.tokens.push_back(gpt2_text(std::string(1, static_cast<char>(b))));
    for (const auto& e : extra) c.tokens.push_back(gpt2_text(e));
    for (const auto& s : specials) c.tokens.push_back(s);
    for (const auto& u : user_defined) c.tokens.push_back(u);
    c.token_types.assign(c.tokens.size(), TokenType::Normal);
    for (size_t i = 0; i < specials.size(); ++i)
      c.token_types[id_of_special(i)] = TokenType::Control;
    for (size_t i = 0; i < user_defined.size(); ++i) {
      c.token_types[id_of_user(i)] = TokenType::UserDefined;
    }
    for (const auto& [l, r] : merges) c.merges.push_back(gpt2_text(l) + " " + gpt2_text(r));
    return c;
  }
};

}  // namespace autoglm::tokenizer::testing
