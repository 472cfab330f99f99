// Token table, special tokens and the per-model defaults llama.cpp applies when loading a
// vocabulary (special-token ids, add_bos, control-looking tokens, end-of-generation set).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/status.h"

namespace autoglm::gguf {
class File;
}

namespace autoglm::tokenizer {

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

// Token attributes as bit flags: loading may add flags to a token (e.g. Control on
// "<|im_end|>" stored as Normal), so a single TokenType is not enough.
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
};

enum class VocabKind { Bpe, Spm };

// Plain description of a vocabulary: what from_gguf reads from tokenizer.ggml.*, and what tests
// fill in directly. Optional fields left empty take llama.cpp's defaults for the model type.
struct VocabConfig {
  std::string model = "gpt2";  // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SPM)
  std::string pre;             // tokenizer.ggml.pre; "" selects llama.cpp's "default" regexes
  std::vector<std::string> tokens;
  std::vector<float> scores;           // empty: all 0
  std::vector<TokenType> token_types;  // empty: all Normal
  std::vector<std::string> merges;     // "left right", in rank order (gpt2 only)
  std::optional<int32_t> bos_id, eos_id, unk_id, pad_id, eot_id, eom_id;
  std::optional<bool> add_bos, add_eos, add_space_prefix;
  std::string chat_template;  // tokenizer.chat_template
};

// Reads a VocabConfig from GGUF metadata. CorruptFile/InvalidArgument on malformed keys.
Result<VocabConfig> read_vocab_config(const gguf::File& f);

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Vocab {
 public:
  // Unsupported (naming the model) for a tokenizer model other than gpt2/llama.
  static Result<Vocab> create(const VocabConfig& config);

  VocabKind kind() const { return kind_; }
  int32_t n_tokens() const { return static_cast<int32_t>(text_.size()); }
  const std::string& text(int32_t id) const { return text_[id]; }
  float score(int32_t id) const { return score_[id]; }
  uint32_t attr(int32_t id) const { return attr_[id]; }
  bool valid(int32_t id) const { return id >= 0 && id < n_tokens(); }
  // Exact token text lookup over all tokens (llama.cpp's text_to_token); -1 if absent.
  int32_t find(std::string_view text) const;

  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  int32_t unk() const { return unk_; }
  int32_t pad() const { return pad_; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  bool add_space_prefix() const { return add_space_prefix_; }
  bool is_eog(int32_t id) const { return eog_.count(id) > 0; }
  const std::unordered_set<int32_t>& eog_ids() const { return eog_; }
  // Control, user-defined and unknown tokens, longest text first: the order in which the
  // special-token partition tries them.
  const std::vector<int32_t>& special_tokens() const { return special_; }

 private:
  Vocab() = default;
  void detect_special_tokens();

  VocabKind kind_ = VocabKind::Bpe;
  std::vector<std::string> text_;
  std::vector<float> score_;
  std::vector<uint32_t> attr_;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> to_id_;
  int32_t bos_ = -1, eos_ = -1, unk_ = -1, pad_ = -1, eot_ = -1, eom_ = -1;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false;
  std::unordered_set<int32_t> eog_;
  std::vector<int32_t> special_;
};

}  // namespace autoglm::tokenizer
