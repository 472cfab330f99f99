// autoglm run: one prompt in, generated text streamed to stdout; logs and timings on stderr.
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "common.h"
#include "generate.h"

namespace autoglm::cli {
namespace {

struct RunArgs {
  ModelFlags model;
  std::string prompt;
  GenerateOptions gen;
  runtime::SamplingParams sampling;
  bool no_special = false;
};

int run(const RunArgs& a) {
  if (Status st = a.sampling.validate(); !st.ok()) return report(st);
  auto loaded = load(a.model);
  if (!loaded.ok()) return report(loaded.status());
  const auto& tok = *loaded->tokenizer;
  const std::vector<int32_t> prompt = tok.encode(a.prompt, tok.add_bos(), !a.no_special);
  runtime::Sampler sampler(a.sampling);
  auto st = generate(*loaded->session, tok, prompt, sampler, a.gen, [](const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  });
  std::fputc('\n', stdout);
  if (!st.ok()) return report(st.status());
  std::fprintf(
      stderr,
      "autoglm: prompt %lld tokens in %.1f ms (%.1f tok/s), generated %lld tokens in %.1f ms (%.1f "
      "tok/s)\n",
      static_cast<long long>(st->prompt_tokens), st->prefill_ms,
      st->prompt_tokens * 1000.0 / std::max(st->prefill_ms, 1e-9),
      static_cast<long long>(st->generated), st->decode_ms,
      st->generated > 1 ? (st->generated - 1) * 1000.0 / std::max(st->decode_ms, 1e-9) : 0.0);
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Generate a continuation of a prompt (text on stdout)");
  a->model.add(*cmd);
  cmd->add_option("-p,--prompt", a->prompt, "Prompt text")->required();
  cmd->add_option("-n,--n-predict", a->gen.max_tokens, "Tokens to generate")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  add_sampling_flags(*cmd, a->sampling);
  cmd->add_flag("--ignore-eos", a->gen.ignore_eos, "Keep generating past end-of-sequence tokens");
  cmd->add_flag("--no-special", a->no_special,
                "Treat special-token text in the prompt as plain text");
  cmd->callback([a] { g_exit_code = run(*a); });
}

}  // namespace autoglm::cli
