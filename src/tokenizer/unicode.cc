#include "tokenizer/unicode.h"

namespace autoglm::tokenizer {

size_t utf8_len(char lead) {
  static constexpr size_t kLookup[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLookup[static_cast<uint8_t>(lead) >> 4];
}

void append_utf8(std::string& out, uint32_t cpt) {
  if (cpt <= 0x7F) {
    out.push_back(static_cast<char>(cpt));
  } else if (cpt <= 0x7FF) {
    out.push_back(static_cast<char>(0xC0 | (cpt >> 6)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else if (cpt <= 0xFFFF) {
    out.push_back(static_cast<char>(0xE0 | (cpt >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cpt >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  }
}

namespace {

bool is_cont(std::string_view s, size_t i) {
  return i < s.size() && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80;
}

}  // namespace

uint32_t decode_utf8(std::string_view s, size_t& offset) {
  const auto b = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<uint8_t>(s[offset + i]));
  };
  const uint32_t b0 = b(0);
  if (!(b0 & 0x80)) {
    offset += 1;
    return b0;
  }
  if ((b0 & 0x40) && !(b0 & 0x20) && is_cont(s, offset + 1)) {
    const uint32_t cpt = ((b0 & 0x1F) << 6) | (b(1) & 0x3F);
    offset += 2;
    return cpt;
  }
  if ((b0 & 0x60) == 0x60 && !(b0 & 0x10) && is_cont(s, offset + 1) && is_cont(s, offset + 2)) {
    const uint32_t cpt = ((b0 & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    offset += 3;
    return cpt;
  }
  if ((b0 & 0x70) == 0x70 && !(b0 & 0x08) && is_cont(s, offset + 1) && is_cont(s, offset + 2) &&
      is_cont(s, offset + 3)) {
    const uint32_t cpt =
        ((b0 & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    offset += 4;
    return cpt;
  }
  offset += 1;
  return kReplacementChar;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    uint32_t cpt = decode_utf8(s, i);
    // Surrogates and out-of-range values cannot be handed to PCRE2 as UTF-8.
    if (cpt > 0x10FFFF || (cpt >= 0xD800 && cpt <= 0xDFFF)) cpt = kReplacementChar;
    if (cpt != kReplacementChar && i - start == 1) {
      out.push_back(s[start]);
    } else {
      append_utf8(out, cpt);
    }
  }
  return out;
}

namespace {

// Length of the valid strict UTF-8 sequence at `i`, or 0; `partial` is set when the bytes are a
// valid but truncated prefix running into the end of `s`.
size_t strict_seq_len(std::string_view s, size_t i, bool& partial) {
  partial = false;
  const uint8_t b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if (i + k >= s.size()) {
      partial = true;
      return 0;
    }
    const uint8_t c = static_cast<uint8_t>(s[i + k]);
    const bool ok = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
    if (!ok) return 0;
  }
  return n;
}

}  // namespace

size_t complete_utf8_prefix(std::string_view s) {
  // Only the last 3 bytes can hold the start of an unfinished sequence.
  const size_t from = s.size() > 3 ? s.size() - 3 : 0;
  for (size_t i = from; i < s.size(); ++i) {
    bool partial = false;
    if (strict_seq_len(s, i, partial) == 0 && partial) return i;
  }
  return s.size();
}

std::string repair_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    bool partial = false;
    const size_t n = strict_seq_len(s, i, partial);
    if (n > 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    append_utf8(out, kReplacementChar);
    // One replacement per maximal invalid subpart: skip the lead and its valid continuations.
    ++i;
    while (partial && i < s.size() && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) ++i;
  }
  return out;
}

ByteUnicode::ByteUnicode() {
  cpt_to_byte_.fill(-1);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    const uint32_t cpt = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + n++);
    append_utf8(byte_to_utf8_[b], cpt);
    cpt_to_byte_[cpt] = static_cast<int16_t>(b);
  }
}

const ByteUnicode& ByteUnicode::get() {
  static const ByteUnicode instance;
  return instance;
}

std::string byte_encode(std::string_view text) {
  const ByteUnicode& bu = ByteUnicode::get();
  std::string out;
  out.reserve(text.size() * 2);
  for (const char c : text) out += bu.encode(static_cast<uint8_t>(c));
  return out;
}

}  // namespace autoglm::tokenizer
