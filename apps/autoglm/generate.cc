#include "generate.h"

#include <chrono>

namespace autoglm::cli {

Result<GenerateStats> generate(runtime::Session& s, const tokenizer::Tokenizer& tok,
                               const std::vector<int32_t>& prompt, runtime::Sampler& sampler,
                               const GenerateOptions& opts,
                               const std::function<void(const std::string&)>& on_text) {
  using clock = std::chrono::steady_clock;
  GenerateStats st;
  st.prompt_tokens = static_cast<int64_t>(prompt.size());
  if (prompt.empty()) return error(ErrorCode::InvalidArgument, "the prompt is empty");
  if (s.n_past() + static_cast<int64_t>(prompt.size()) >= s.n_ctx()) {
    return error(ErrorCode::OutOfRange,
                 "the prompt is " + std::to_string(prompt.size()) +
                     " tokens but the context holds " + std::to_string(s.n_ctx()) + " (with " +
                     std::to_string(s.n_past()) + " in use); shorten it or raise --ctx");
  }
  std::vector<int32_t> history = prompt;
  tokenizer::StreamDecoder detok(tok);
  auto t0 = clock::now();
  AUTOGLM_ASSIGN_OR_RETURN(auto logits, s.decode(prompt));
  st.prefill_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  t0 = clock::now();
  for (int32_t i = 0; i < opts.max_tokens; ++i) {
    const int32_t next = sampler.sample(logits, history);
    if (!opts.ignore_eos && tok.is_eog(next)) {
      st.stopped_by_eos = true;
      break;
    }
    ++st.generated;
    history.push_back(next);
    st.tokens.push_back(next);
    if (const std::string text = detok.push(next); !text.empty()) on_text(text);
    if (i + 1 == opts.max_tokens || s.n_past() >= s.n_ctx()) break;
    AUTOGLM_ASSIGN_OR_RETURN(logits, s.decode({&next, 1}));
  }
  if (const std::string rest = detok.flush(); !rest.empty()) on_text(rest);
  st.decode_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  return st;
}

}  // namespace autoglm::cli
