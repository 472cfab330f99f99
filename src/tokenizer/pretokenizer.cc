#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <initializer_list>
#include <iterator>

#include "tokenizer/unicode.h"

namespace autoglm::tokenizer {

namespace {

// Pattern strings are copied verbatim from llama.cpp (src/llama-vocab.cpp, llm_tokenizer_bpe).
constexpr const char* kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
constexpr const char* kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen35 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}"
    "\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kGpt4o =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]"
    "|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}]"
    ")([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s"
    "\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kTekken =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?("
    "(?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*["
    "\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kBailing =
    "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s"
    "\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
constexpr const char* kSeedCoder =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kDeepseek3 =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}"
    "\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
// Non-ASCII characters are written as \x{..} escapes so no editor or tool can normalize them.
constexpr const char* kDeepseekLlmLetters =
    "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-"
    "\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}"
    "\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-"
    "\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-"
    "\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}"
    "\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-"
    "\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-"
    "\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-"
    "\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}"
    "\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-"
    "\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}"
    "\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}"
    "\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}"
    "\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-"
    "\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}"
    "\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+";
constexpr const char* kDeepseekLlmPunct =
    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+";
constexpr const char* kCjk = "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+";
constexpr const char* kCjkKana = "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+";
constexpr const char* kPoro =
    " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{964}\\x{6D4}\\x{60C})]+";

bool is_one_of(std::string_view s, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

PreTokenizerConfig make(std::string name, std::vector<std::string> regexes) {
  PreTokenizerConfig c;
  c.name = std::move(name);
  c.regexes = std::move(regexes);
  return c;
}

}  // namespace

PreTokenizerConfig resolve_pre_tokenizer(std::string_view pre, bool* known) {
  *known = true;
  if (pre.empty() || pre == "default") {
    return make("default", {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"});
  }
  if (is_one_of(pre, {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                      "midm-2.0", "lfm2", "jina-v5-nano"})) {
    PreTokenizerConfig c = make("llama3", {kLlama3});
    c.ignore_merges = true;
    c.add_bos = true;
    return c;
  }
  if (is_one_of(pre, {"dbrx", "smaug-bpe"})) return make(std::string(pre), {kLlama3});
  if (is_one_of(pre, {"chatglm-bpe", "glm4", "glm5"})) {
    PreTokenizerConfig c = make(std::string(pre), {kLlama3});
    c.no_bos = true;
    c.ignore_merges = pre != "chatglm-bpe";
    return c;
  }
  if (pre == "deepseek-llm") {
    return make("deepseek-llm",
                {"[\r\n]", kDeepseekLlmLetters, kDeepseekLlmPunct, "\\s+$", kCjk, "\\p{N}+"});
  }
  if (pre == "deepseek-coder") {
    return make("deepseek-coder", {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", kCjk, "\\p{N}"});
  }
  if (is_one_of(pre, {"deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"})) {
    return make(std::string(pre), {"\\p{N}{1,3}", kCjkKana, kDeepseek3});
  }
  if (pre == "falcon") {
    return make("falcon", {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2, "[0-9][0-9][0-9]"});
  }
  if (is_one_of(pre, {"gpt-2",       "gpt2",       "phi-2",        "jina-es",         "jina-de",
                      "gigachat",    "jina-v2-es", "jina-v2-de",   "a.x-4.0",         "mellum",
                      "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe",     "mpt",
                      "olmo",        "jais",       "trillion",     "granite-docling", "exaone4"})) {
    return make(std::string(pre), {kGpt2});
  }
  if (is_one_of(pre, {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone",
                      "minerva-7b", "mellum2"})) {
    // Digits are isolated first, then the GPT-2 pattern runs on what is left.
    return make(std::string(pre), {"\\p{N}", kGpt2});
  }
  if (is_one_of(pre, {"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2",
                      "hunyuan", "solar-open", "grok-2"})) {
    return make(std::string(pre), {kQwen2});
  }
  if (pre == "qwen35") return make("qwen35", {kQwen35});
  if (is_one_of(pre, {"poro-chat", "bloom", "gpt3-finnish"})) {
    return make(std::string(pre), {kPoro});
  }
  if (pre == "viking") return make("viking", {kPoro, "\\p{N}"});
  if (pre == "tekken") {
    PreTokenizerConfig c = make("tekken", {kTekken});
    c.ignore_merges = true;
    c.add_bos = true;
    return c;
  }
  if (is_one_of(pre, {"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"})) {
    return make(std::string(pre), {kGpt4o});
  }
  if (is_one_of(pre, {"bailingmoe", "bailingmoe2", "llada-moe"})) {
    return make(std::string(pre), {kBailing});
  }
  if (pre == "seed-coder") return make("seed-coder", {kSeedCoder});
  if (pre == "ufakzeka") {
    return make("ufakzeka", {"[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                             "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"});
  }
  *known = false;
  return make("gpt-2", {kGpt2});
}

namespace {

// Unicode White_Space: what llama.cpp's splitters (and its collapsed std::regex) treat as \s.
// PCRE2's own \s differs (it also matches U+180E).
constexpr std::string_view kWhiteSpace =
    "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}"
    "\\x{3000}";

bool is_non_ascii_white_space(uint32_t c) {
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Code points assigned in Unicode 15.0/15.1: llama.cpp's tables have them, while PCRE2 10.42
// (Unicode 14) calls them unassigned. Added to the category classes so the two agree.
struct CategoryPatch {
  char category;
  std::string_view extra;
};
constexpr CategoryPatch kCategoryPatches[] = {
    {'L',
     "\\x{1123F}-\\x{11240}\\x{11F02}\\x{11F04}-\\x{11F10}\\x{11F12}-\\x{11F33}\\x{1342F}\\x{13441}"
     "-"
     "\\x{13446}\\x{1B132}\\x{1B155}\\x{1DF25}-\\x{1DF2A}\\x{1E030}-\\x{1E06D}\\x{1E4D0}-\\x{1E4EB}"
     "\\x{2B739}\\x{2EBF0}-\\x{2EE5D}\\x{31350}-\\x{323AF}"},
    {'M',
     "\\x{CF3}\\x{ECE}\\x{10EFD}-\\x{10EFF}\\x{11241}\\x{11F00}-\\x{11F01}\\x{11F03}\\x{11F34}-"
     "\\x{11F3A}\\x{11F3E}-\\x{11F42}\\x{13440}\\x{13447}-\\x{13455}\\x{1E08F}\\x{1E4EC}-\\x{"
     "1E4EF}"},
    {'N', "\\x{11F50}-\\x{11F59}\\x{1D2C0}-\\x{1D2D3}\\x{1E4F0}-\\x{1E4F9}"},
    {'P', "\\x{11B00}-\\x{11B09}\\x{11F43}-\\x{11F4F}"},
    {'S',
     "\\x{2FFC}-\\x{2FFF}\\x{31EF}\\x{1F6DC}\\x{1F774}-\\x{1F776}\\x{1F77B}-\\x{1F77F}\\x{1F7D9}"
     "\\x{1FA75}-\\x{1FA77}\\x{1FA87}-\\x{1FA88}\\x{1FAAD}-\\x{1FAAF}\\x{1FABB}-\\x{1FABD}\\x{"
     "1FABF}"
     "\\x{1FACE}-\\x{1FACF}\\x{1FADA}-\\x{1FADB}\\x{1FAE8}\\x{1FAF7}-\\x{1FAF8}"},
};

// llama.cpp runs a regex that names no Unicode category through std::wregex on text whose
// non-ASCII whitespace was replaced by U+000B; such a regex must see the same substitution.
bool uses_categories(std::string_view regex) {
  for (const std::string_view cat : {"\\p{N}", "\\p{L}", "\\p{P}", "\\p{M}", "\\p{S}", "\\p{Lu}",
                                     "\\p{Ll}", "\\p{Lt}", "\\p{Lm}", "\\p{Lo}"}) {
    if (regex.find(cat) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

std::string to_pcre2_pattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  const auto add_class = [&](std::string_view body, bool negate) {
    if (!in_class) out += negate ? "[^" : "[";
    out += body;
    if (!in_class) out += ']';
  };
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      if (e == 's' || (e == 'S' && !in_class)) {
        add_class(kWhiteSpace, e == 'S');
        continue;
      }
      if (e == 'p' && i + 3 < pattern.size() && pattern[i + 1] == '{' && pattern[i + 3] == '}') {
        const auto* patch =
            std::find_if(std::begin(kCategoryPatches), std::end(kCategoryPatches),
                         [&](const CategoryPatch& p) { return p.category == pattern[i + 2]; });
        if (patch != std::end(kCategoryPatches)) {
          add_class(std::string("\\p{") + patch->category + "}" + std::string(patch->extra), false);
          i += 3;
          continue;
        }
      }
      out += c;
      out += e;
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

void PreTokenizer::CodeDeleter::operator()(pcre2_real_code_8* code) const {
  pcre2_code_free(code);
}

PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

Result<PreTokenizer> PreTokenizer::compile(const std::vector<std::string>& regexes) {
  PreTokenizer p;
  for (const std::string& regex : regexes) {
    const std::string pattern = to_pcre2_pattern(regex);
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    // DOLLAR_ENDONLY: llama.cpp's std::regex `$` only matches at the very end of a piece.
    pcre2_code* code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                      PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &err_offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      return error(ErrorCode::InvalidArgument,
                   "pre-tokenizer regex '" + regex + "' does not compile at offset " +
                       std::to_string(err_offset) + ": " + reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional: the interpreter is the fallback
    p.regexes_.push_back({Code(code), !uses_categories(regex)});
  }
  return p;
}

namespace {

using Ranges = std::vector<std::pair<size_t, size_t>>;

struct MatchData {
  explicit MatchData(const pcre2_code* code)
      : md(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(md); }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
  pcre2_match_data* md;
};

// Splits text[begin, end) into matches and the gaps between them (llama.cpp's
// unicode_regex_split_stl), appending non-empty ranges to `out`.
void split_piece(const pcre2_code* code, pcre2_match_data* md, std::string_view text, size_t begin,
                 size_t end, Ranges& out) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + begin);
  const size_t len = end - begin;
  size_t pos = 0;
  size_t prev = 0;
  while (pos < len) {
    int rc = pcre2_match(code, subject, len, pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(code, subject, len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, nullptr);
    }
    if (rc < 0) break;  // no match (or a match limit): the rest is one gap
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t mb = ov[0];
    const size_t me = ov[1];
    if (me == mb) {
      // Empty match: step over one code point so the search makes progress.
      pos = mb + 1;
      while (pos < len && (static_cast<uint8_t>(subject[pos]) & 0xC0) == 0x80) ++pos;
      continue;
    }
    if (mb > prev) out.emplace_back(begin + prev, begin + mb);
    out.emplace_back(begin + mb, begin + me);
    prev = pos = me;
  }
  if (prev < len) out.emplace_back(begin + prev, end);
}

// `text` with non-ASCII whitespace replaced by U+000B, plus byte offset maps both ways (valid at
// character boundaries).
struct VtText {
  std::string text;
  std::vector<size_t> to_vt;    // original offset -> vt offset
  std::vector<size_t> from_vt;  // vt offset -> original offset

  // Returns false (and builds nothing) when `original` has no non-ASCII whitespace.
  bool build(std::string_view original) {
    bool any = false;
    for (size_t i = 0; i < original.size();) {
      any |= is_non_ascii_white_space(decode_utf8(original, i));
    }
    if (!any) return false;
    to_vt.assign(original.size() + 1, 0);
    for (size_t i = 0; i < original.size();) {
      const size_t start = i;
      const uint32_t cpt = decode_utf8(original, i);
      to_vt[start] = text.size();
      if (is_non_ascii_white_space(cpt)) {
        text += '\x0B';
        from_vt.push_back(start);
      } else {
        text.append(original.substr(start, i - start));
        from_vt.insert(from_vt.end(), i - start, start);
      }
    }
    to_vt[original.size()] = text.size();
    from_vt.push_back(original.size());
    return true;
  }
};

}  // namespace

std::vector<std::pair<size_t, size_t>> PreTokenizer::split(std::string_view text) const {
  Ranges pieces;
  if (text.empty()) return pieces;
  pieces.emplace_back(0, text.size());
  Ranges next;
  Ranges vt_pieces;
  VtText vt;
  int vt_state = -1;  // -1 not built yet, 0 not needed, 1 built
  for (const Regex& regex : regexes_) {
    const MatchData data(regex.code.get());
    next.clear();
    next.reserve(pieces.size() * 2);
    if (regex.whitespace_as_vt && vt_state < 0) vt_state = vt.build(text) ? 1 : 0;
    for (const auto& [b, e] : pieces) {
      if (!regex.whitespace_as_vt || vt_state == 0) {
        split_piece(regex.code.get(), data.md, text, b, e, next);
        continue;
      }
      vt_pieces.clear();
      split_piece(regex.code.get(), data.md, vt.text, vt.to_vt[b], vt.to_vt[e], vt_pieces);
      for (const auto& [vb, ve] : vt_pieces) next.emplace_back(vt.from_vt[vb], vt.from_vt[ve]);
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace autoglm::tokenizer
