#include <optional>
#include <string>
#include <string_view>

#include "tokenizer/tokenizer.h"

namespace autoglm::tokenizer {

namespace {

// Reads the literal text of a Jinja string starting at `pos` up to `end_marker`. nullopt if the
// span contains template syntax or closes the string literal, i.e. it is not a fixed text.
std::optional<std::string> literal_until(std::string_view t, size_t pos,
                                         std::string_view end_marker) {
  const size_t end = t.find(end_marker, pos);
  if (end == std::string_view::npos) return std::nullopt;
  std::string out;
  for (size_t i = pos; i < end; ++i) {
    const char c = t[i];
    if (c == '\\' && i + 1 < end) {
      const char e = t[++i];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        default:
          out += e;
          break;  // \' \" and \\ stand for themselves
      }
      continue;
    }
    if (c == '\'' || c == '"' || c == '{' || c == '}') return std::nullopt;
    out += c;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// The default system message a ChatML template inserts when the conversation does not start with
// one, e.g. SmolLM2's "{% if loop.first and messages[0]['role'] != 'system' %}{{
// '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, ...<|im_end|>\n' }}".
std::optional<std::string> default_system_message(std::string_view t) {
  const bool tests_role = t.find("'system'") != std::string_view::npos ||
                          t.find("\"system\"") != std::string_view::npos;
  if (!tests_role) return std::nullopt;
  static constexpr std::string_view kHead = "<|im_start|>system";
  for (size_t pos = t.find(kHead); pos != std::string_view::npos; pos = t.find(kHead, pos)) {
    pos += kHead.size();
    size_t body = pos;
    if (t.substr(pos, 1) == "\n") {
      body = pos + 1;
    } else if (t.substr(pos, 2) == "\\n") {
      body = pos + 2;
    } else {
      continue;
    }
    if (auto text = literal_until(t, body, "<|im_end|>")) return text;
  }
  return std::nullopt;
}

// What a non-ChatML template looks like, so the error says which family is missing.
std::string describe_template(std::string_view t) {
  struct Marker {
    std::string_view text, family;
  };
  static constexpr Marker kMarkers[] = {
      {"<|start_header_id|>", "Llama 3"}, {"[INST]", "Llama 2 / Mistral ([INST])"},
      {"<start_of_turn>", "Gemma"},       {"<|START_OF_TURN_TOKEN|>", "Command-R"},
      {"<｜User｜>", "DeepSeek"},         {"<|user|>", "Zephyr / Phi-3 / GLM (<|user|>)"},
      {"### Instruction", "Alpaca"},
  };
  for (const Marker& m : kMarkers) {
    if (t.find(m.text) != std::string_view::npos) {
      return std::string(m.family) + " template (contains \"" + std::string(m.text) + "\")";
    }
  }
  std::string head(t.substr(0, 80));
  for (char& c : head) {
    if (c == '\n') c = ' ';
  }
  return "template starting \"" + head + (t.size() > 80 ? "...\"" : "\"");
}

}  // namespace

Result<std::string> apply_chat_template(const std::string& template_text,
                                        const std::vector<ChatMessage>& messages,
                                        bool add_generation_prompt) {
  if (template_text.empty()) {
    return error(ErrorCode::Unsupported,
                 "the model has no chat template (tokenizer.chat_template is empty); use plain "
                 "completion instead of chat");
  }
  if (template_text.find("<|im_start|>") == std::string::npos) {
    return error(ErrorCode::Unsupported, "chat template not supported yet (only ChatML is): saw " +
                                             describe_template(template_text));
  }
  std::string out;
  if (!messages.empty() && messages.front().role != "system") {
    if (auto system = default_system_message(template_text)) {
      out += "<|im_start|>system\n" + *system + "<|im_end|>\n";
    }
  }
  for (const ChatMessage& m : messages) {
    out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace autoglm::tokenizer
