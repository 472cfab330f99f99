// autoglm bench: prefill and decode speed of a model, mean ± std over repetitions; with
// --concurrency, the serving engine in-process under that many concurrent requests.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "commands.h"
#include "common.h"
#include "serve/engine.h"

namespace autoglm::cli {
namespace {

struct BenchArgs {
  ModelFlags model;
  int prompt = 512;
  int gen = 64;
  int repetitions = 3;
  bool json = false;
  // Engine mode: a comma-separated list of concurrency levels turns it on.
  std::string concurrency;
  int prompt_len = 128;
  int gen_len = 64;
  int shared_prefix = 0;
  bool profile = false;
};

using OpSeconds = std::map<std::string, double>;

// after - before, per op, in ms per `per` (a token or a step).
OpSeconds ms_per(const OpSeconds& after, const OpSeconds& before, double per) {
  OpSeconds out;
  for (const auto& [op, s] : after) {
    const auto it = before.find(op);
    const double d = s - (it == before.end() ? 0.0 : it->second);
    if (per > 0 && d > 0) out[op] = d * 1000.0 / per;
  }
  return out;
}

// The kernel time table of --profile: heaviest op first, with its share of the kernels.
void print_profile(const char* what, const OpSeconds& ms) {
  if (ms.empty()) {
    std::printf(
        "  kernel time per %s: not measured (a device that does not time its kernels "
        "ran ops)\n",
        what);
    return;
  }
  std::vector<std::pair<double, std::string>> rows;
  double total = 0;
  for (const auto& [op, v] : ms) {
    rows.emplace_back(v, op);
    total += v;
  }
  std::sort(rows.rbegin(), rows.rend());
  std::printf("  kernel time per %s, by op (%.3f ms in all):\n", what, total);
  for (const auto& [v, op] : rows) {
    std::printf("    %-26s %8.3f ms %5.1f %%\n", op.c_str(), v,
                total > 0 ? 100.0 * v / total : 0.0);
  }
}

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
  // Per decode token: wall time outside the kernels (thread dispatch and waiting, the executor,
  // sampling; the plan is cached, never rebuilt per token).
  // Negative: unknown (no decode, or a device that does not time its kernels).
  double outside_us = -1;
  OpSeconds decode_by_op;  // kernel ms per decode token by op, from the same pass
  // One untimed warm-up builds the plans (prefill and decode shapes) and faults in the weights.
  // A last pass, not in the speed figures, times every kernel for outside_us.
  for (int rep = -1; rep <= a.repetitions; ++rep) {
    const bool profiled = rep == a.repetitions;
    s.runner().set_kernel_timing(profiled);
    s.reset();
    auto t0 = clock::now();
    auto logits = s.decode(prompt);
    if (!logits.ok()) return report(logits.status());
    const double prefill_ms = ms_since(t0);
    int32_t next = runtime::argmax(*logits);
    const double kernel_s0 = s.runner().kernel_seconds();  // negative: not measured
    const OpSeconds by_op0 = s.runner().kernel_seconds_by_op();
    t0 = clock::now();
    for (int i = 0; i < a.gen; ++i) {
      auto l = s.decode({&next, 1});
      if (!l.ok()) return report(l.status());
      next = runtime::argmax(*l);
    }
    const double decode_ms = ms_since(t0);
    const double kernel_ms = (s.runner().kernel_seconds() - kernel_s0) * 1000.0;
    if (rep < 0) continue;
    if (profiled) {
      if (a.gen > 0 && kernel_s0 >= 0) outside_us = (decode_ms - kernel_ms) * 1000.0 / a.gen;
      decode_by_op = ms_per(s.runner().kernel_seconds_by_op(), by_op0, a.gen);
      continue;
    }
    if (a.prompt > 0) pp.push_back(a.prompt * 1000.0 / prefill_ms);
    if (a.gen > 0) tg.push_back(a.gen * 1000.0 / decode_ms);
  }
  s.runner().set_kernel_timing(false);
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
                        {"decode_outside_kernels_us_per_token",
                         outside_us >= 0 ? nlohmann::json(outside_us) : nlohmann::json()},
                        {"kv_cache_mb", static_cast<double>(s.kv_bytes()) / (1 << 20)},
                        {"plans_built", s.exec_stats().plans_built},
                        {"peak_rss_mb", peak_rss_mb()}};
    if (a.profile) j["decode_kernel_ms_per_token_by_op"] = decode_by_op;
    std::cout << j.dump() << "\n";
  } else {
    std::printf("model    %s\nthreads  %d (%s)\n", model.c_str(), threads,
                s.device().props().isa.c_str());
    std::printf("pp%-5d  %8.1f ± %.1f tokens/s\n", a.prompt, p.mean, p.std);
    std::printf("tg%-5d  %8.1f ± %.1f tokens/s\n", a.gen, g.mean, g.std);
    if (outside_us >= 0) std::printf("decode   %.0f µs per token outside kernels\n", outside_us);
    std::printf("peak RSS %.1f MiB (KV cache %.1f MiB), plans built %zu\n", peak_rss_mb(),
                static_cast<double>(s.kv_bytes()) / (1 << 20), s.exec_stats().plans_built);
    if (a.profile) print_profile("decode token", decode_by_op);
  }
  return 0;
}

// Nearest-rank percentile; 0 for no samples.
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

Result<std::vector<int>> parse_levels(const std::string& list) {
  std::vector<int> levels;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1 || v > 4096) {
      return error(ErrorCode::InvalidArgument,
                   "--concurrency wants positive integers separated by commas, e.g. 1,4,16,32; "
                   "got '" +
                       item + "'");
    }
    levels.push_back(static_cast<int>(v));
  }
  if (levels.empty()) return error(ErrorCode::InvalidArgument, "--concurrency is empty");
  return levels;
}

std::string fmt_ratio(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", x);
  return buf;
}

struct LevelResult {
  int concurrency = 0;
  double wall_s = 0, tokens_per_s = 0, decode_tokens_per_s = 0;
  double ttft_p50 = 0, ttft_p99 = 0, itl_p50 = 0, itl_p99 = 0;
  int64_t completion_tokens = 0, cached_prompt_tokens = 0, steps = 0, preemptions = 0;
  OpSeconds kernel_ms_per_step;  // with --profile
};

// c concurrent greedy requests of prompt_len tokens starting with `prefix` (the same for every
// level, like a common system prompt), each decoding gen_len tokens; latencies come from the
// engine's own samples.
Result<LevelResult> run_level(serve::Engine& engine, const BenchArgs& a, int c,
                              const std::vector<int32_t>& prefix, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> dist(
      0, static_cast<int32_t>(engine.tokenizer().n_vocab() - 1));
  const serve::EngineStats before = engine.stats();
  engine.take_samples();
  std::vector<std::shared_ptr<serve::RequestHandle>> handles;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < c; ++i) {
    serve::Request r;
    r.prompt = prefix;
    while (static_cast<int>(r.prompt.size()) < a.prompt_len) r.prompt.push_back(dist(rng));
    r.max_tokens = a.gen_len;
    r.sampling.temperature = 0.0f;
    r.ignore_eos = true;
    AUTOGLM_ASSIGN_OR_RETURN(auto h, engine.submit(std::move(r)));
    handles.push_back(std::move(h));
  }
  LevelResult res;
  res.concurrency = c;
  for (auto& h : handles) {
    for (;;) {
      auto ev = h->next(std::chrono::milliseconds(1000));
      if (!ev) continue;
      if (ev->finish == serve::FinishReason::None) continue;
      if (ev->finish != serve::FinishReason::Length) {
        return error(ErrorCode::Internal, std::string("a bench request ended with ") +
                                              serve::finish_reason_name(ev->finish) + ": " +
                                              ev->status.to_string());
      }
      res.completion_tokens += ev->completion_tokens;
      res.cached_prompt_tokens += ev->cached_prompt_tokens;
      break;
    }
  }
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const serve::LatencySamples ls = engine.take_samples();
  const serve::EngineStats after = engine.stats();
  res.tokens_per_s = static_cast<double>(res.completion_tokens) / res.wall_s;
  double itl_sum = 0;
  for (double x : ls.itl_ms) itl_sum += x;
  // Every running stream yields one token per inter-token interval.
  if (!ls.itl_ms.empty()) {
    res.decode_tokens_per_s = c * 1000.0 / (itl_sum / static_cast<double>(ls.itl_ms.size()));
  }
  res.ttft_p50 = percentile(ls.ttft_ms, 50);
  res.ttft_p99 = percentile(ls.ttft_ms, 99);
  res.itl_p50 = percentile(ls.itl_ms, 50);
  res.itl_p99 = percentile(ls.itl_ms, 99);
  res.steps = after.steps - before.steps;
  res.preemptions = after.preemptions - before.preemptions;
  res.kernel_ms_per_step = ms_per(after.kernel_seconds_by_op, before.kernel_seconds_by_op,
                                  static_cast<double>(res.steps));
  return res;
}

int bench_engine(BenchArgs a) {
  auto levels = parse_levels(a.concurrency);
  if (!levels.ok()) return report(levels.status());
  if (a.shared_prefix > a.prompt_len) {
    return report(
        error(ErrorCode::InvalidArgument, "--shared-prefix must not exceed --prompt-len"));
  }
  const int max_c = *std::max_element(levels->begin(), levels->end());
  const std::string path = a.model.model.empty() ? default_model_path() : a.model.model;
  auto cfg = a.model.resolve();
  if (!cfg.ok()) return report(cfg.status());
  auto kv_dtype = runtime::kv_dtype_for(*cfg);
  if (!kv_dtype.ok()) return report(kv_dtype.status());
  auto model = model::Model::load(path);
  if (!model.ok()) return report(model.status());
  auto tok = tokenizer::Tokenizer::from_gguf((*model)->file());
  if (!tok.ok()) return report(tok.status());
  serve::EngineOptions o;
  o.threads = cfg->threads;
  o.backend = cfg->backend;
  o.fallback = cfg->fallback_policy;
  o.alignment = cfg->memory_alignment;
  o.int8_block_sums = cfg->precision == "int8";
  o.kv_dtype = *kv_dtype;
  o.n_ctx = a.model.ctx > 0 ? a.model.ctx : a.prompt_len + a.gen_len;
  // Room for every stream at once: the bench measures batching, not preemption.
  o.kv_tokens = static_cast<int64_t>(max_c) * (o.n_ctx + o.block_size);
  o.max_batch = std::max<int64_t>(o.max_batch, max_c);
  o.max_queue = static_cast<size_t>(std::max(256, max_c));
  o.kernel_timing = a.profile;
  auto engine = serve::Engine::create(**model, **tok, o);
  if (!engine.ok()) return report(engine.status());
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>((*tok)->n_vocab() - 1));
  std::vector<int32_t> prefix(static_cast<size_t>(a.shared_prefix));
  for (auto& t : prefix) t = dist(rng);
  // Warm-up: faults in the weights, builds the first plans and caches the shared prefix.
  {
    BenchArgs w = a;
    w.gen_len = std::min(a.gen_len, 8);
    if (auto r = run_level(**engine, w, 1, prefix, rng); !r.ok()) return report(r.status());
  }
  if (!a.json) {
    std::printf("model    %s\nprompt   %d tokens (%d shared), %d generated per request\n",
                path.c_str(), a.prompt_len, a.shared_prefix, a.gen_len);
    std::printf("runs     %d per level, interleaved; the median one shown\n", a.repetitions);
    std::printf("%6s %10s %10s %7s %10s %10s %9s %9s %8s\n", "conc", "tok/s", "decode/s", "vs 1",
                "ttft p50", "ttft p99", "itl p50", "itl p99", "cached");
  }
  // Repetitions go round the levels, so a noisy neighbour's burst touches every level alike;
  // each level reports its median run (by decode tokens/s), all fields from that one run.
  std::vector<std::vector<LevelResult>> runs(levels->size());
  for (int rep = 0; rep < a.repetitions; ++rep) {
    for (size_t i = 0; i < levels->size(); ++i) {
      auto r = run_level(**engine, a, (*levels)[i], prefix, rng);
      if (!r.ok()) return report(r.status());
      runs[i].push_back(std::move(*r));
    }
  }
  std::vector<const LevelResult*> median(levels->size());
  double one_stream = 0;  // decode tokens/s of the level with one request, if run
  for (size_t i = 0; i < levels->size(); ++i) {
    std::vector<LevelResult>& rs = runs[i];
    std::sort(rs.begin(), rs.end(), [](const LevelResult& x, const LevelResult& y) {
      return x.decode_tokens_per_s < y.decode_tokens_per_s;
    });
    median[i] = &rs[(rs.size() - 1) / 2];
    if ((*levels)[i] == 1) one_stream = median[i]->decode_tokens_per_s;
  }
  for (size_t i = 0; i < levels->size(); ++i) {
    const int c = (*levels)[i];
    const LevelResult* r = median[i];
    // Aggregate decode rate over one stream's: what batching buys (0: no level 1 was run).
    const double vs_one = one_stream > 0 ? r->decode_tokens_per_s / one_stream : 0.0;
    if (a.json) {
      nlohmann::json j = {{"concurrency", c},
                          {"prompt_len", a.prompt_len},
                          {"gen_len", a.gen_len},
                          {"shared_prefix", a.shared_prefix},
                          {"tokens_per_s", r->tokens_per_s},
                          {"decode_tokens_per_s", r->decode_tokens_per_s},
                          {"ttft_ms_p50", r->ttft_p50},
                          {"ttft_ms_p99", r->ttft_p99},
                          {"itl_ms_p50", r->itl_p50},
                          {"itl_ms_p99", r->itl_p99},
                          {"completion_tokens", r->completion_tokens},
                          {"cached_prompt_tokens", r->cached_prompt_tokens},
                          {"steps", r->steps},
                          {"preemptions", r->preemptions},
                          {"wall_s", r->wall_s},
                          {"repetitions", a.repetitions}};
      if (vs_one > 0) j["decode_vs_one_stream"] = vs_one;
      if (a.profile) j["kernel_ms_per_step_by_op"] = r->kernel_ms_per_step;
      std::cout << j.dump() << std::endl;
    } else {
      const std::string vs = vs_one > 0 ? fmt_ratio(vs_one) : "-";
      std::printf("%6d %10.1f %10.1f %7s %8.1fms %8.1fms %7.1fms %7.1fms %8lld\n", c,
                  r->tokens_per_s, r->decode_tokens_per_s, vs.c_str(), r->ttft_p50, r->ttft_p99,
                  r->itl_p50, r->itl_p99, static_cast<long long>(r->cached_prompt_tokens));
      if (a.profile) print_profile("engine step", r->kernel_ms_per_step);
    }
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
  cmd->add_option("-r,--repetitions", a->repetitions,
                  "Timed repetitions (after one warm-up); with --concurrency, runs of each level "
                  "(interleaved), the median one reported")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", a->json,
                "Print one JSON object on stdout (with --concurrency: one per level and line)");
  cmd->add_option("--concurrency", a->concurrency,
                  "Run the serving engine with these many concurrent requests, e.g. 1,4,16,32 "
                  "(with 1 in the list, 'vs 1' shows each level's decode rate over one stream's)");
  cmd->add_option("--prompt-len", a->prompt_len, "Engine mode: prompt tokens per request")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--gen-len", a->gen_len, "Engine mode: tokens generated per request")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--shared-prefix", a->shared_prefix,
                  "Engine mode: leading prompt tokens all requests share (prefix cache)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 16));
  cmd->add_flag("--profile", a->profile,
                "Time every kernel and print where the time goes, by op: per decode token, or "
                "with --concurrency per engine step (a clock read per thread per op; CPU only)");
  cmd->callback([a] { g_exit_code = a->concurrency.empty() ? bench(*a) : bench_engine(*a); });
}

}  // namespace autoglm::cli
