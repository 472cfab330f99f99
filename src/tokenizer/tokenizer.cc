#include "tokenizer/tokenizer.h"

#include <cstdio>
#include <cstdlib>

#include "gguf/file.h"
#include "tokenizer/unicode.h"

namespace autoglm::tokenizer {

namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

// Byte-level BPE token text back to bytes (llama.cpp's llama_decode_text, including its marker
// for characters outside the byte map).
std::string byte_decode(std::string_view text) {
  const ByteUnicode& bu = ByteUnicode::get();
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const uint32_t cpt = decode_utf8(text, i);
    const int b = bu.decode(cpt);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
      continue;
    }
    std::string utf8;
    append_utf8(utf8, cpt);
    out += "[UNK_BYTE_0x";
    for (const char c : utf8) {
      char hex[3];
      std::snprintf(hex, sizeof(hex), "%02x", static_cast<uint8_t>(c));
      out += hex;
    }
    out.append(text);
    out += ']';
  }
  return out;
}

}  // namespace

Tokenizer::Tokenizer(Vocab vocab, std::optional<PreTokenizer> pre, BpeModel bpe, bool ignore_merges,
                     std::string chat_template)
    : vocab_(std::move(vocab)),
      pre_(std::move(pre)),
      bpe_(std::move(bpe)),
      ignore_merges_(ignore_merges),
      chat_template_(std::move(chat_template)) {
  pieces_.reserve(vocab_.n_tokens());
  for (int32_t id = 0; id < vocab_.n_tokens(); ++id) pieces_.push_back(make_piece(id));
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_gguf(const gguf::File& f) {
  AUTOGLM_ASSIGN_OR_RETURN(VocabConfig config, read_vocab_config(f));
  return create(config);
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::create(const VocabConfig& config) {
  AUTOGLM_ASSIGN_OR_RETURN(Vocab vocab, Vocab::create(config));
  std::optional<PreTokenizer> pre;
  BpeModel bpe;
  bool ignore_merges = false;
  if (vocab.kind() == VocabKind::Bpe) {
    bool known = false;
    const PreTokenizerConfig pre_config = resolve_pre_tokenizer(config.pre, &known);
    if (!known) {
      std::fprintf(stderr,
                   "autoglm: tokenizer: warning: unknown pre-tokenizer '%s', using the GPT-2 "
                   "regex; token ids may differ from the model's training tokenizer\n",
                   config.pre.c_str());
    }
    AUTOGLM_ASSIGN_OR_RETURN(PreTokenizer compiled, PreTokenizer::compile(pre_config.regexes));
    pre.emplace(std::move(compiled));
    bpe = BpeModel(config.merges, vocab);
    ignore_merges = pre_config.ignore_merges;
  }
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(vocab), std::move(pre), std::move(bpe),
                                                  ignore_merges, config.chat_template));
}

std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  const int32_t id = vocab_.find(text);
  return id >= 0 ? std::optional<int32_t>(id) : std::nullopt;
}

// llama.cpp's tokenizer_st_partition: special tokens are tried longest first, each splitting every
// remaining raw-text fragment at all of its occurrences.
std::vector<Tokenizer::Fragment> Tokenizer::partition(std::string_view text,
                                                      bool parse_special) const {
  std::vector<Fragment> fragments{{-1, 0, text.size()}};
  std::vector<Fragment> next;
  for (const int32_t id : vocab_.special_tokens()) {
    if (!parse_special && (vocab_.attr(id) & (kAttrControl | kAttrUnknown))) continue;
    const std::string& special = vocab_.text(id);
    if (text.find(special) == std::string_view::npos) continue;
    next.clear();
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      const std::string_view window = text.substr(0, f.end);
      size_t pos = f.begin;
      while (true) {
        const size_t hit = window.find(special, pos);
        if (hit == std::string_view::npos) break;
        if (hit > pos) next.push_back({-1, pos, hit});
        next.push_back({id, hit, hit + special.size()});
        pos = hit + special.size();
      }
      if (pos < f.end) next.push_back({-1, pos, f.end});
    }
    fragments.swap(next);
  }
  return fragments;
}

void Tokenizer::encode_bpe(std::string_view text, std::vector<int32_t>& out) const {
  // llama.cpp pre-tokenizes the code points it decoded, so malformed bytes become U+FFFD first.
  const std::string clean = sanitize_utf8(text);
  const std::string_view view(clean);
  for (const auto& [begin, end] : pre_->split(view)) {
    const std::string word = byte_encode(view.substr(begin, end - begin));
    bpe_encode_word(vocab_, bpe_, word, ignore_merges_, out);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos,
                                       bool parse_special) const {
  std::vector<int32_t> out;
  if (add_bos && vocab_.bos() >= 0) out.push_back(vocab_.bos());
  if (text.empty()) return out;
  // SentencePiece prefixes a space to the text and to every text fragment after a special token.
  bool prev_special = true;
  for (const Fragment& f : partition(text, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    const std::string_view raw = text.substr(f.begin, f.end - f.begin);
    if (vocab_.kind() == VocabKind::Bpe) {
      encode_bpe(raw, out);
    } else {
      const std::string prefixed =
          (vocab_.add_space_prefix() && prev_special ? " " : "") + std::string(raw);
      spm_encode(vocab_, replace_all(prefixed, " ", kSpmSpace), out);
    }
    prev_special = false;
  }
  return out;
}

std::string Tokenizer::make_piece(int32_t id) const {
  const uint32_t attr = vocab_.attr(id);
  const std::string& text = vocab_.text(id);
  if (attr & (kAttrUnknown | kAttrControl | kAttrUserDefined)) return text;
  if (attr & kAttrNormal) {
    return vocab_.kind() == VocabKind::Bpe ? byte_decode(text) : replace_all(text, kSpmSpace, " ");
  }
  if (attr & kAttrByte) {
    // "<0xAB>"
    const std::string hex = text.size() >= 5 ? text.substr(3, 2) : std::string();
    return std::string(1, static_cast<char>(std::strtol(hex.c_str(), nullptr, 16)));
  }
  return {};
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  if (!vocab_.valid(id)) return {};
  if (!render_special && (vocab_.attr(id) & (kAttrUnknown | kAttrControl))) return {};
  return pieces_[id];
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  bool remove_space = vocab_.kind() == VocabKind::Spm && vocab_.add_space_prefix();
  size_t i = 0;
  if (remove_space && !ids.empty() && ids[0] == vocab_.bos()) {
    out += token_to_piece(ids[0], render_special);
    i = 1;
  }
  for (; i < ids.size(); ++i) {
    std::string piece = token_to_piece(ids[i], render_special);
    if (remove_space && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    remove_space = false;
    out += piece;
  }
  return out;
}

StreamDecoder::StreamDecoder(const Tokenizer& t, bool render_special)
    : tok_(t), render_special_(render_special) {}

std::string StreamDecoder::push(int32_t id) {
  pending_ += tok_.token_to_piece(id, render_special_);
  const size_t n = complete_utf8_prefix(pending_);
  std::string out = repair_utf8(std::string_view(pending_).substr(0, n));
  pending_.erase(0, n);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = repair_utf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace autoglm::tokenizer
