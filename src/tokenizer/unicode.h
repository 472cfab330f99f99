// UTF-8 helpers shared by the tokenizers. Decoding follows llama.cpp (unicode.cpp) byte for
// byte, because token ids must agree with it even on malformed input.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace autoglm::tokenizer {

inline constexpr uint32_t kReplacementChar = 0xFFFD;

// Length of the UTF-8 sequence announced by a lead byte (1 for continuation/ASCII bytes).
size_t utf8_len(char lead);

// Appends the UTF-8 encoding of `cpt` (must be <= 0x10FFFF).
void append_utf8(std::string& out, uint32_t cpt);

// Decodes one code point at `offset` as llama.cpp does: an invalid sequence yields U+FFFD and
// advances by one byte. Overlong forms are accepted (as llama.cpp accepts them).
uint32_t decode_utf8(std::string_view s, size_t& offset);

// Re-encodes `s` after decoding it with decode_utf8, so the result is what llama.cpp's
// pre-tokenizers see. Code points past U+10FFFF become U+FFFD.
std::string sanitize_utf8(std::string_view s);

// Length of the longest prefix of `s` that ends on a complete UTF-8 sequence boundary, treating
// a trailing, still-incomplete but valid-so-far sequence as not yet complete.
size_t complete_utf8_prefix(std::string_view s);

// Strict validation + repair for output: every maximal invalid subsequence becomes U+FFFD.
std::string repair_utf8(std::string_view s);

// GPT-2 byte-level mapping: every byte has a printable code point stand-in.
class ByteUnicode {
 public:
  static const ByteUnicode& get();
  // UTF-8 text of the stand-in for byte `b`.
  const std::string& encode(uint8_t b) const { return byte_to_utf8_[b]; }
  // Byte for a stand-in code point, or -1 if `cpt` is not one.
  int decode(uint32_t cpt) const { return cpt < cpt_to_byte_.size() ? cpt_to_byte_[cpt] : -1; }

 private:
  ByteUnicode();
  std::array<std::string, 256> byte_to_utf8_;
  std::array<int16_t, 512> cpt_to_byte_{};
};

// Maps every byte of `text` to its stand-in (llama.cpp's unicode_byte_encoding_process).
std::string byte_encode(std::string_view text);

}  // namespace autoglm::tokenizer
