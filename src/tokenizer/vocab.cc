#include "tokenizer/vocab.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "gguf/file.h"
#include "tokenizer/pretokenizer.h"

namespace autoglm::tokenizer {

namespace {

Result<std::optional<int32_t>> optional_id(const gguf::File& f, std::string_view key) {
  if (f.find(key) == nullptr) return std::optional<int32_t>();
  AUTOGLM_ASSIGN_OR_RETURN(const int64_t v, f.get_int(key));
  if (v < 0 || v > INT32_MAX) {
    return error(ErrorCode::CorruptFile,
                 std::string(key) + " = " + std::to_string(v) + " is not a valid token id");
  }
  return std::optional<int32_t>(static_cast<int32_t>(v));
}

Result<std::optional<bool>> optional_bool(const gguf::File& f, std::string_view key) {
  if (f.find(key) == nullptr) return std::optional<bool>();
  AUTOGLM_ASSIGN_OR_RETURN(const bool v, f.get_bool(key));
  return std::optional<bool>(v);
}

uint32_t attr_from_type(TokenType t) {
  switch (t) {
    case TokenType::Normal:
      return kAttrNormal;
    case TokenType::Unknown:
      return kAttrUnknown;
    case TokenType::Control:
      return kAttrControl;
    case TokenType::UserDefined:
      return kAttrUserDefined;
    case TokenType::Unused:
      return kAttrUnused;
    case TokenType::Byte:
      return kAttrByte;
    case TokenType::Undefined:
      return kAttrUndefined;
  }
  return kAttrUndefined;
}

bool is_one_of(std::string_view s, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

void warn(const std::string& msg) {
  std::fprintf(stderr, "autoglm: tokenizer: %s\n", msg.c_str());
}

}  // namespace

Result<VocabConfig> read_vocab_config(const gguf::File& f) {
  VocabConfig c;
  auto model = f.get_string("tokenizer.ggml.model");
  if (!model.ok()) {
    if (model.status().code() == ErrorCode::NotFound) {
      return error(ErrorCode::NotFound, f.path() +
                                            " has no tokenizer (tokenizer.ggml.model is "
                                            "missing); use a GGUF converted with its vocab");
    }
    return model.status();
  }
  c.model = std::move(model).value();
  if (f.find("tokenizer.ggml.pre") != nullptr) {
    AUTOGLM_ASSIGN_OR_RETURN(c.pre, f.get_string("tokenizer.ggml.pre"));
  }
  AUTOGLM_ASSIGN_OR_RETURN(c.tokens, f.get_string_array("tokenizer.ggml.tokens"));
  // llama.cpp reads GGUF strings as C strings, so a token ends at its first NUL byte.
  for (std::string& t : c.tokens) t.resize(std::strlen(t.c_str()));
  const size_t n = c.tokens.size();
  if (f.find("tokenizer.ggml.scores") != nullptr) {
    AUTOGLM_ASSIGN_OR_RETURN(c.scores, f.get_float_array("tokenizer.ggml.scores"));
  }
  if (f.find("tokenizer.ggml.token_type") != nullptr) {
    AUTOGLM_ASSIGN_OR_RETURN(const std::vector<int64_t> types,
                             f.get_int_array("tokenizer.ggml.token_type"));
    c.token_types.reserve(types.size());
    for (const int64_t t : types) {
      c.token_types.push_back(t >= 0 && t <= 6 ? static_cast<TokenType>(t) : TokenType::Undefined);
    }
  }
  if (!c.scores.empty() && c.scores.size() < n) {
    return error(ErrorCode::CorruptFile, "tokenizer.ggml.scores has " +
                                             std::to_string(c.scores.size()) + " entries for " +
                                             std::to_string(n) + " tokens");
  }
  if (!c.token_types.empty() && c.token_types.size() < n) {
    return error(ErrorCode::CorruptFile, "tokenizer.ggml.token_type has " +
                                             std::to_string(c.token_types.size()) +
                                             " entries for " + std::to_string(n) + " tokens");
  }
  if (f.find("tokenizer.ggml.merges") != nullptr) {
    AUTOGLM_ASSIGN_OR_RETURN(c.merges, f.get_string_array("tokenizer.ggml.merges"));
    for (std::string& m : c.merges) m.resize(std::strlen(m.c_str()));
  } else if (c.model == "gpt2") {
    return error(ErrorCode::CorruptFile,
                 f.path() + ": a gpt2 tokenizer needs tokenizer.ggml.merges, which is missing");
  }
  AUTOGLM_ASSIGN_OR_RETURN(c.bos_id, optional_id(f, "tokenizer.ggml.bos_token_id"));
  AUTOGLM_ASSIGN_OR_RETURN(c.eos_id, optional_id(f, "tokenizer.ggml.eos_token_id"));
  AUTOGLM_ASSIGN_OR_RETURN(c.unk_id, optional_id(f, "tokenizer.ggml.unknown_token_id"));
  AUTOGLM_ASSIGN_OR_RETURN(c.pad_id, optional_id(f, "tokenizer.ggml.padding_token_id"));
  AUTOGLM_ASSIGN_OR_RETURN(c.eot_id, optional_id(f, "tokenizer.ggml.eot_token_id"));
  AUTOGLM_ASSIGN_OR_RETURN(c.eom_id, optional_id(f, "tokenizer.ggml.eom_token_id"));
  AUTOGLM_ASSIGN_OR_RETURN(c.add_bos, optional_bool(f, "tokenizer.ggml.add_bos_token"));
  AUTOGLM_ASSIGN_OR_RETURN(c.add_eos, optional_bool(f, "tokenizer.ggml.add_eos_token"));
  AUTOGLM_ASSIGN_OR_RETURN(c.add_space_prefix, optional_bool(f, "tokenizer.ggml.add_space_prefix"));
  if (f.find("tokenizer.chat_template") != nullptr) {
    AUTOGLM_ASSIGN_OR_RETURN(c.chat_template, f.get_string("tokenizer.chat_template"));
  }
  return c;
}

int32_t Vocab::find(std::string_view text) const {
  const auto it = to_id_.find(text);
  return it == to_id_.end() ? -1 : it->second;
}

Result<Vocab> Vocab::create(const VocabConfig& c) {
  Vocab v;
  if (c.model == "gpt2") {
    v.kind_ = VocabKind::Bpe;
    bool known = false;
    const PreTokenizerConfig pre = resolve_pre_tokenizer(c.pre, &known);
    // llama.cpp's defaults for BPE vocabularies, including its historical BOS/EOS id 11.
    v.bos_ = pre.no_bos ? -1 : 11;
    v.eos_ = 11;
    v.add_bos_ = pre.add_bos;
  } else if (c.model == "llama") {
    v.kind_ = VocabKind::Spm;
    v.bos_ = 1;
    v.eos_ = 2;
    v.unk_ = 0;
    v.add_bos_ = true;
    v.add_space_prefix_ = true;
  } else {
    return error(ErrorCode::Unsupported,
                 "tokenizer model '" + c.model + "' is not supported (supported: gpt2, llama)");
  }
  if (c.add_space_prefix) v.add_space_prefix_ = *c.add_space_prefix;
  if (c.tokens.empty()) return error(ErrorCode::InvalidArgument, "the vocabulary has no tokens");

  const size_t n = c.tokens.size();
  if ((!c.scores.empty() && c.scores.size() < n) ||
      (!c.token_types.empty() && c.token_types.size() < n)) {
    return error(ErrorCode::InvalidArgument, "scores/token types are shorter than the vocabulary");
  }
  v.text_.resize(n);
  v.score_.assign(n, 0.0f);
  v.attr_.assign(n, kAttrNormal);
  v.to_id_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    v.text_[i] = c.tokens[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : c.tokens[i];
    v.to_id_.insert_or_assign(v.text_[i], static_cast<int32_t>(i));  // last duplicate wins
    if (!c.scores.empty()) v.score_[i] = c.scores[i];
    if (!c.token_types.empty()) v.attr_[i] = attr_from_type(c.token_types[i]);
  }

  const auto set_id = [&](int32_t& id, const std::optional<int32_t>& from_file, const char* what) {
    if (!v.valid(id)) id = -1;
    if (!from_file) return;
    if (v.valid(*from_file)) {
      id = *from_file;
    } else {
      warn(std::string("bad ") + what + " token id " + std::to_string(*from_file) + ", keeping " +
           std::to_string(id));
    }
  };
  set_id(v.bos_, c.bos_id, "bos");
  set_id(v.eos_, c.eos_id, "eos");
  set_id(v.unk_, c.unk_id, "unknown");
  set_id(v.pad_, c.pad_id, "padding");
  set_id(v.eot_, c.eot_id, "eot");
  set_id(v.eom_, c.eom_id, "eom");
  if (c.add_bos) v.add_bos_ = *c.add_bos;
  if (c.add_eos) v.add_eos_ = *c.add_eos;

  v.detect_special_tokens();

  for (int32_t id = 0; id < v.n_tokens(); ++id) {
    if (v.attr_[id] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) v.special_.push_back(id);
  }
  std::stable_sort(v.special_.begin(), v.special_.end(),
                   [&](int32_t a, int32_t b) { return v.text_[a].size() > v.text_[b].size(); });
  return v;
}

// llama.cpp recognises end-of-turn, fill-in-the-middle and end-of-generation tokens by their
// text and forces them to be control tokens; generation stops on the EOG set.
void Vocab::detect_special_tokens() {
  int32_t fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1;
  const auto detect = [&](int32_t& slot, int32_t id,
                          std::initializer_list<std::string_view> names) {
    if (slot >= 0 || !is_one_of(text_[id], names)) return;
    slot = id;
    attr_[id] |= kAttrControl;
  };
  for (int32_t id = 0; id < n_tokens(); ++id) {
    detect(
        eot_, id,
        {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
         "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"});
    detect(eom_, id, {"<|eom_id|>"});
    detect(fim_pre, id,
           {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
            "<|code_prefix|>", "<|prefix|>"});
    detect(fim_suf, id,
           {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
            "<|code_suffix|>", "<|suffix|>"});
    detect(fim_mid, id,
           {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
            "<|code_middle|>", "<|middle|>"});
    detect(fim_pad, id, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"});
    detect(fim_rep, id, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"});
    detect(fim_sep, id, {"<|file_sep|>"});
  }
  for (int32_t id = 0; id < n_tokens(); ++id) {
    if ((attr_[id] & kAttrControl) && text_[id].find("unused") != std::string::npos) {
      attr_[id] |= kAttrUnused;
    }
  }

  for (const int32_t id : {fim_pad, fim_rep, fim_sep}) {
    if (id >= 0) eog_.insert(id);
  }
  for (int32_t id = 0; id < n_tokens(); ++id) {
    if (is_one_of(text_[id], {"<|eot_id|>",
                              "<|im_end|>",
                              "<|end|>",
                              "<|return|>",
                              "<|call|>",
                              "<|flush|>",
                              "<|calls|>",
                              "<end_of_turn>",
                              "<|endoftext|>",
                              "</s>",
                              "<|eom_id|>",
                              "<EOT>",
                              "_<EOT>",
                              "[EOT]",
                              "[EOS]",
                              "<|end_of_text|>",
                              "<end_of_utterance>",
                              "<eos>",
                              "<turn|>",
                              "<|tool_response>",
                              "<｜end▁of▁sentence｜>",
                              "[e~["})) {
      eog_.insert(id);
      attr_[id] |= kAttrControl;
    }
    // gpt-oss channel markers are always rendered.
    if (is_one_of(text_[id], {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"})) {
      attr_[id] = kAttrUserDefined;
    }
  }
  for (const int32_t id : {eos_, eot_, eom_}) {
    if (id >= 0) eog_.insert(id);
  }

  const auto eog_with = [&](std::string_view text) {
    for (const int32_t id : eog_) {
      if (text_[id] == text) return id;
    }
    return -1;
  };
  // o200k_harmony / solar-open: "<|end|>" ends a message, not the generation.
  const int32_t end_id = eog_with("<|end|>");
  const bool has_call = eog_with("<|call|>") >= 0 || eog_with("<|calls|>") >= 0;
  if (end_id >= 0 && has_call && (eog_with("<|return|>") >= 0 || eog_with("<|flush|>") >= 0)) {
    eog_.erase(end_id);
    attr_[end_id] = kAttrUserDefined;
  }
  // gemma4 / plamo: "</s>" is an ordinary token there.
  const int32_t s_id = eog_with("</s>");
  if (s_id >= 0 && (eog_with("<|tool_response>") >= 0 || eog_with("<|plamo:eos|>") >= 0)) {
    eog_.erase(s_id);
    attr_[s_id] = kAttrNormal;
  }
}

}  // namespace autoglm::tokenizer
