// autoglm chat: interactive chat with the model's chat template; works with piped stdin too.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "commands.h"
#include "common.h"
#include "generate.h"

namespace autoglm::cli {
namespace {

struct ChatArgs {
  ModelFlags model;
  std::string system;
  GenerateOptions gen{512, false};
  runtime::SamplingParams sampling;
};

int chat(const ChatArgs& a) {
  if (Status st = a.sampling.validate(); !st.ok()) return report(st);
  auto loaded = load(a.model);
  if (!loaded.ok()) return report(loaded.status());
  const auto& tok = *loaded->tokenizer;
  runtime::Session& s = *loaded->session;
  const std::string& tmpl = tok.chat_template();
  if (tmpl.empty()) {
    return report(
        error(ErrorCode::Unsupported, "this model has no chat template; use `autoglm run`"));
  }
  const bool interactive = isatty(STDIN_FILENO);
  if (interactive) std::cerr << "Type a message and press Enter; Ctrl-D to quit.\n";

  std::vector<tokenizer::ChatMessage> messages;
  if (!a.system.empty()) messages.push_back({"system", a.system});
  std::vector<int32_t> in_cache;  // tokens the session has evaluated
  runtime::Sampler sampler(a.sampling);
  std::string line;
  while (true) {
    if (interactive) std::cout << "> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    messages.push_back({"user", line});
    auto text = tokenizer::apply_chat_template(tmpl, messages, true);
    if (!text.ok()) return report(text.status());
    const std::vector<int32_t> all = tok.encode(*text, tok.add_bos(), true);
    // Keep the KV rows of the longest common prefix with what the session already evaluated;
    // only the rest of the conversation is prefilled (at least one token, for fresh logits).
    size_t common = 0;
    while (common < in_cache.size() && common + 1 < all.size() && in_cache[common] == all[common])
      ++common;
    s.truncate(static_cast<int64_t>(common));
    const std::vector<int32_t> fresh(all.begin() + static_cast<ptrdiff_t>(common), all.end());
    std::string reply;
    auto st = generate(s, tok, fresh, sampler, a.gen, [&](const std::string& piece) {
      reply += piece;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    });
    std::fputc('\n', stdout);
    if (!st.ok()) return report(st.status());
    messages.push_back({"assistant", reply});
    in_cache = all;
    in_cache.insert(in_cache.end(), st->tokens.begin(), st->tokens.end());
    in_cache.resize(static_cast<size_t>(s.n_past()));
  }
  return 0;
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto a = std::make_shared<ChatArgs>();
  CLI::App* cmd =
      app.add_subcommand("chat", "Chat with the model (reads stdin; one message per line)");
  a->model.add(*cmd);
  cmd->add_option("--system", a->system, "System message (default: the template's own)");
  cmd->add_option("-n,--n-predict", a->gen.max_tokens, "Maximum tokens per reply")
      ->capture_default_str();
  add_sampling_flags(*cmd, a->sampling);
  cmd->callback([a] { g_exit_code = chat(*a); });
}

}  // namespace autoglm::cli
