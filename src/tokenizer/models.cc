#include "tokenizer/models.h"

#include <algorithm>
#include <queue>

#include "tokenizer/unicode.h"

namespace autoglm::tokenizer {

namespace {

// The key separator cannot occur inside byte-encoded tokens (byte 0 maps to U+0100).
constexpr char kSep = '\0';

struct Symbol {
  uint32_t start;
  uint32_t n;  // 0 once merged into its left neighbour
  int32_t prev;
  int32_t next;
  int32_t id;  // token id of the symbol's text, -1 if it is not a token (BPE only)
};

// Splits `text` into one symbol per UTF-8 character (a truncated sequence stays one symbol).
std::vector<Symbol> make_symbols(std::string_view text) {
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  size_t offset = 0;
  int32_t index = 0;
  while (offset < text.size()) {
    const size_t n = std::min(utf8_len(text[offset]), text.size() - offset);
    offset += n;
    symbols.push_back({static_cast<uint32_t>(offset - n), static_cast<uint32_t>(n), index - 1,
                       offset == text.size() ? -1 : index + 1, -1});
    ++index;
  }
  return symbols;
}

// Merges the right symbol into the left one and unlinks it.
void merge_symbols(std::vector<Symbol>& symbols, int32_t left, int32_t right) {
  Symbol& l = symbols[left];
  Symbol& r = symbols[right];
  l.n += r.n;
  r.n = 0;
  l.next = r.next;
  if (r.next >= 0) symbols[r.next].prev = left;
}

struct BpeBigram {
  int32_t left;
  int32_t right;
  int rank;
  uint32_t size;
  int32_t result;  // token id of the merged text, or -1 (then looked up by text)
};

// Lowest rank first, then leftmost.
struct BpeBigramOrder {
  bool operator()(const BpeBigram& l, const BpeBigram& r) const {
    return l.rank > r.rank || (l.rank == r.rank && l.left > r.left);
  }
};

struct SpmBigram {
  int32_t left;
  int32_t right;
  float score;
  uint32_t size;
};

// Highest score first, then leftmost.
struct SpmBigramOrder {
  bool operator()(const SpmBigram& l, const SpmBigram& r) const {
    return l.score < r.score || (l.score == r.score && l.left > r.left);
  }
};

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

BpeModel::BpeModel(const std::vector<std::string>& merges, const Vocab& vocab) {
  by_text_.reserve(merges.size());
  by_id_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string& m = merges[i];
    // Split at the first space after the first byte, so a merge may start with a space.
    const size_t pos = m.find(' ', 1);
    if (pos == std::string::npos) continue;
    const std::string_view left(m.data(), pos);
    const std::string_view right(m.data() + pos + 1, m.size() - pos - 1);
    std::string key(left);
    key += kSep;
    key.append(right);
    if (!by_text_.try_emplace(std::move(key), static_cast<int>(i)).second) continue;
    const int32_t l = vocab.find(left);
    const int32_t r = vocab.find(right);
    if (l < 0 || r < 0) continue;
    by_id_.try_emplace(pair_key(l, r),
                       Merge{static_cast<int>(i), vocab.find(std::string(left) += right)});
  }
  small_char_id_.resize(512);
  for (uint32_t cpt = 0; cpt < small_char_id_.size(); ++cpt) {
    std::string c;
    append_utf8(c, cpt);
    small_char_id_[cpt] = vocab.find(c);
  }
}

const BpeModel::Merge* BpeModel::find(int32_t left, int32_t right) const {
  const auto it = by_id_.find(pair_key(left, right));
  return it == by_id_.end() ? nullptr : &it->second;
}

int BpeModel::rank(std::string_view left, std::string_view right, std::string& scratch) const {
  scratch.assign(left);
  scratch += kSep;
  scratch.append(right);
  const auto it = by_text_.find(std::string_view(scratch));
  return it == by_text_.end() ? -1 : it->second;
}

int32_t BpeModel::char_id(const Vocab& vocab, std::string_view utf8_char) const {
  size_t offset = 0;
  const uint32_t cpt = decode_utf8(utf8_char, offset);
  const size_t canonical_len = cpt < 0x80 ? 1 : 2;
  if (cpt < small_char_id_.size() && offset == utf8_char.size() && offset == canonical_len) {
    return small_char_id_[cpt];
  }
  return vocab.find(utf8_char);
}

void bpe_encode_word(const Vocab& vocab, const BpeModel& model, std::string_view word,
                     bool ignore_merges, std::vector<int32_t>& out) {
  if (word.empty()) return;
  if (ignore_merges) {
    const int32_t id = vocab.find(word);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  std::vector<Symbol> symbols = make_symbols(word);
  for (Symbol& s : symbols) s.id = model.char_id(vocab, word.substr(s.start, s.n));
  std::priority_queue<BpeBigram, std::vector<BpeBigram>, BpeBigramOrder> queue;
  std::string scratch;
  const auto text_of = [&](const Symbol& s) { return word.substr(s.start, s.n); };
  const auto add_bigram = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    if (l.id >= 0 && r.id >= 0) {
      // Both texts are tokens, so the id table holds exactly the merges the text table would.
      const BpeModel::Merge* m = model.find(l.id, r.id);
      if (m != nullptr) queue.push({left, right, m->rank, l.n + r.n, m->result});
      return;
    }
    const int rank = model.rank(text_of(l), text_of(r), scratch);
    if (rank >= 0) queue.push({left, right, rank, l.n + r.n, -1});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) add_bigram(i - 1, i);

  while (!queue.empty()) {
    const BpeBigram b = queue.top();
    queue.pop();
    const Symbol& l = symbols[b.left];
    const Symbol& r = symbols[b.right];
    // Symbols only grow rightwards from fixed starts, so a size change means a stale entry.
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
    merge_symbols(symbols, b.left, b.right);
    Symbol& merged = symbols[b.left];
    merged.id = b.result >= 0 ? b.result : vocab.find(text_of(merged));
    add_bigram(merged.prev, b.left);
    add_bigram(b.left, merged.next);
  }

  for (const Symbol& s : symbols) {
    if (s.n == 0) continue;
    if (s.id >= 0) {
      out.push_back(s.id);
      continue;
    }
    // As llama.cpp: fall back to single-byte tokens for each byte of the symbol.
    for (const char c : text_of(s)) {
      const int32_t byte_id = vocab.find(std::string_view(&c, 1));
      if (byte_id >= 0) out.push_back(byte_id);
    }
  }
}

namespace {

int32_t spm_byte_token(const Vocab& vocab, uint8_t byte) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const char buf[6] = {'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>'};
  int32_t id = vocab.find(std::string_view(buf, 6));
  if (id < 0) {
    const char raw = static_cast<char>(byte);
    id = vocab.find(std::string_view(&raw, 1));
  }
  return id >= 0 ? id : vocab.unk();
}

}  // namespace

void spm_encode(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out) {
  if (text.empty()) return;
  std::vector<Symbol> symbols = make_symbols(text);
  std::priority_queue<SpmBigram, std::vector<SpmBigram>, SpmBigramOrder> queue;
  const auto add_bigram = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const uint32_t size = symbols[left].n + symbols[right].n;
    const int32_t id = vocab.find(text.substr(symbols[left].start, size));
    if (id < 0) return;
    queue.push({left, right, vocab.score(id), size});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) add_bigram(i - 1, i);

  while (!queue.empty()) {
    const SpmBigram b = queue.top();
    queue.pop();
    const Symbol& l = symbols[b.left];
    const Symbol& r = symbols[b.right];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
    merge_symbols(symbols, b.left, b.right);
    add_bigram(symbols[b.left].prev, b.left);
    add_bigram(b.left, symbols[b.left].next);
  }

  for (int32_t i = 0; i != -1; i = symbols[i].next) {
    const std::string_view piece = text.substr(symbols[i].start, symbols[i].n);
    const int32_t id = vocab.find(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Every merge produced a token, so an unknown symbol is a single character: byte fallback.
    for (const char c : piece) {
      const int32_t byte_id = spm_byte_token(vocab, static_cast<uint8_t>(c));
      if (byte_id >= 0) out.push_back(byte_id);
    }
  }
}

}  // namespace autoglm::tokenizer
