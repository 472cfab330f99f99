// autoglm bench: prefill and decode speed of a model, mean ± std over repetitions.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "commands.h"
#include "common.h"

namespace autoglm::cli {
namespace {

struct BenchArgs {
  ModelFlags model;
  int prompt = 512;
  int gen = 64;
  int repetitions = 3;
  bool json = false;
};

struct Stat {
  double mean = 0, std = 0;
};

Stat stat(const std::vector<double>& v) {
  Stat s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = v.size() > 1 ? std::sqrt(s.std / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

int bench(BenchArgs a) {
  if (a.model.ctx == 0) a.model.ctx = a.prompt + a.gen + 1;
  auto loaded = load(a.model, !a.json);
  if (!loaded.ok()) return report(loaded.status());
  runtime::Session& s = *loaded->session;
  // Random token ids: prefill speed does not depend on the text.
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(s.n_vocab() - 1));
  std::vector<int32_t> prompt(static_cast<size_t>(a.prompt));
  for (auto& t : prompt) t = dist(rng);

  using clock = std::chrono::steady_clock;
  auto ms_since = [](clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  std::vector<double> pp, tg;
  // One untimed warm-up builds the plans (prefill and decode shapes) and faults in the weights.
  for (int rep = -1; rep < a.repetitions; ++rep) {
    s.reset();
    auto t0 = clock::now();
    auto logits = s.decode(prompt);
    if (!logits.ok()) return report(logits.status());
    const double prefill_ms = ms_since(t0);
    int32_t next = runtime::argmax(*logits);
    t0 = clock::now();
    for (int i = 0; i < a.gen; ++i) {
      auto l = s.decode({&next, 1});
      if (!l.ok()) return report(l.status());
      next = runtime::argmax(*l);
    }
    const double decode_ms = ms_since(t0);
    if (rep < 0) continue;
    if (a.prompt > 0) pp.push_back(a.prompt * 1000.0 / prefill_ms);
    if (a.gen > 0) tg.push_back(a.gen * 1000.0 / decode_ms);
  }
  const Stat p = pp.empty() ? Stat{} : stat(pp), g = tg.empty() ? Stat{} : stat(tg);
  const int threads = s.device().props().threads;
  const std::string model = a.model.model.empty() ? default_model_path() : a.model.model;
  if (a.json) {
    nlohmann::json j = {{"model", model},
                        {"threads", threads},
                        {"isa", s.device().props().isa},
                        {"prompt_tokens", a.prompt},
                        {"gen_tokens", a.gen},
                        {"repetitions", a.repetitions},
                        {"prefill_tokens_per_s", p.mean},
                        {"prefill_tokens_per_s_std", p.std},
                        {"decode_tokens_per_s", g.mean},
                        {"decode_tokens_per_s_std", g.std},
                        {"kv_cache_mb", static_cast<double>(s.kv_bytes()) / (1 << 20)},
                        {"plans_built", s.exec_stats().plans_built},
                        {"peak_rss_mb", peak_rss_mb()}};
    std::cout << j.dump() << "\n";
  } else {
    std::printf("model    %s\nthreads  %d (%s)\n", model.c_str(), threads,
                s.device().props().isa.c_str());
    std::printf("pp%-5d  %8.1f ± %.1f tokens/s\n", a.prompt, p.mean, p.std);
    std::printf("tg%-5d  %8.1f ± %.1f tokens/s\n", a.gen, g.mean, g.std);
    std::printf("peak RSS %.1f MiB (KV cache %.1f MiB), plans built %zu\n", peak_rss_mb(),
                static_cast<double>(s.kv_bytes()) / (1 << 20), s.exec_stats().plans_built);
  }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure prefill and decode speed (tokens/s)");
  a->model.add(*cmd);
  cmd->add_option("-p,--prompt-tokens", a->prompt, "Prompt length for the prefill test")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("-n,--gen-tokens", a->gen, "Tokens decoded one at a time")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 16));
  cmd->add_option("-r,--repetitions", a->repetitions, "Timed repetitions (after one warm-up)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", a->json, "Print one JSON object on stdout");
  cmd->callback([a] { g_exit_code = bench(*a); });
}

}  // namespace autoglm::cli
