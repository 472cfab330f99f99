// autoglm serve: OpenAI-compatible, KServe v2 and envelope APIs over HTTP, one engine per model.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "commands.h"
#include "common.h"
#include "serve/http/model_registry.h"
#include "serve/http/server.h"

namespace autoglm::cli {
namespace {

using serve::http::HttpServer;
using serve::http::ModelSpec;

struct ServeArgs {
  std::string model;
  std::string model_repo;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;
  std::string api_key_file;
  double drain_timeout_s = 30;
  size_t max_body_bytes = 4 << 20;
  int64_t max_prompt_tokens = 0;
  int64_t max_tokens_limit = 4096;
  int64_t default_max_tokens = 256;
  double queue_timeout_s = 0;
  double request_timeout_s = 0;
  size_t max_queue = 64;
  int64_t max_batch = 32;
  int threads = 0;
  int64_t ctx = 0;
  int64_t kv_tokens = 0;
  size_t kv_memory_mib = 0;
  int http_threads = 128;
  ModelFlags runtime;  // --config, --backend, --precision, --fallback-policy, --memory-alignment,
                       // --kv-dtype
};

void log_line(const std::string& s) {
  std::fprintf(stderr, "autoglm serve: %s\n", s.c_str());
  std::fflush(stderr);
}

Result<std::vector<ModelSpec>> model_specs(const ServeArgs& a) {
  if (!a.model_repo.empty()) return serve::http::scan_model_repository(a.model_repo);
  const std::string path = a.model.empty() ? default_model_path() : a.model;
  if (!std::filesystem::exists(path)) {
    return error(ErrorCode::NotFound,
                 "no model at " + path +
                     (a.model.empty() ? "\n  fetch the default model with: scripts/fetch_model.sh"
                                        "\n  or pass a GGUF file with -m FILE"
                                      : "\n  pass an existing GGUF file with -m FILE"));
  }
  return std::vector<ModelSpec>{serve::http::single_model_spec(path)};
}

// Ready-to-paste examples for the first model, printed once everything is loaded.
// "cpu" or "opencl, cpu (61 splits, 30 ops fell back)"
std::string placement_text(const serve::Engine::Placement& p) {
  std::string s;
  for (const std::string& d : p.devices) s += (s.empty() ? "" : ", ") + d;
  if (p.splits > 1) {
    s += " (" + std::to_string(p.splits) + " splits, " + std::to_string(p.fallbacks) +
         " ops fell back)";
  }
  return s;
}

void print_examples(const std::string& base, const std::string& model, bool with_key) {
  const std::string auth = with_key ? " -H \"Authorization: Bearer $AUTOGLM_API_KEY\"" : "";
  std::fprintf(stderr,
               "\nTry it:\n"
               "  curl %s/v1/chat/completions -H 'Content-Type: application/json'%s \\\n"
               "    -d '{\"model\": \"%s\", \"messages\": [{\"role\": \"user\", \"content\": "
               "\"Say hello\"}], \"max_tokens\": 32}'\n\n"
               "  python3 -c 'from openai import OpenAI; c = OpenAI(base_url=\"%s/v1\", "
               "api_key=\"%s\"); print(c.chat.completions.create(model=\"%s\", "
               "messages=[{\"role\": \"user\", \"content\": \"Say hello\"}], "
               "max_tokens=32).choices[0].message.content)'\n\n",
               base.c_str(), auth.c_str(), model.c_str(), base.c_str(),
               with_key ? "YOUR_KEY" : "none", model.c_str());
  std::fflush(stderr);
}

int serve_main(const ServeArgs& a) {
  // Signals are taken by one thread with sigtimedwait; block them before any thread starts (the
  // precision query below already creates a device and its pool), so every thread inherits the
  // mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  auto cfg = a.runtime.resolve();
  if (!cfg.ok()) return report(cfg.status());
  auto kv_dtype = runtime::kv_dtype_for(*cfg);
  if (!kv_dtype.ok()) return report(kv_dtype.status());
  auto specs = model_specs(a);
  if (!specs.ok()) return report(specs.status());
  serve::http::ServerConfig config;
  if (!a.api_key_file.empty()) {
    auto keys = serve::http::ApiKeys::from_file(a.api_key_file);
    if (!keys.ok()) return report(keys.status());
    config.api_keys = std::move(*keys);
  } else if (!a.api_key.empty()) {
    config.api_keys = serve::http::ApiKeys({a.api_key});
  }
  config.max_body_bytes = a.max_body_bytes;
  config.limits.max_prompt_tokens = a.max_prompt_tokens;
  config.limits.max_tokens_limit = a.max_tokens_limit;
  config.limits.default_max_tokens = std::min(a.default_max_tokens, a.max_tokens_limit);
  config.limits.queue_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(a.queue_timeout_s * 1000));
  config.limits.request_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(a.request_timeout_s * 1000));
  config.http_threads = a.http_threads;

  serve::EngineOptions engine;
  engine.threads = a.threads > 0 ? a.threads : cfg->threads;
  engine.backend = cfg->backend;
  engine.fallback = cfg->fallback_policy;
  engine.alignment = cfg->memory_alignment;
  engine.int8_block_sums = cfg->precision == "int8";
  engine.kv_dtype = *kv_dtype;
  engine.n_ctx = a.ctx;
  engine.kv_tokens = a.kv_tokens;
  engine.kv_memory = a.kv_memory_mib << 20;
  engine.max_queue = a.max_queue;
  engine.max_batch = a.max_batch;

  serve::http::ModelRegistry registry(*specs);
  serve::http::ServerContext ctx(registry, std::move(config));
  HttpServer server(ctx);
  auto port = server.bind(a.host, a.port);
  if (!port.ok()) return report(port.status());
  const std::string base = "http://" + a.host + ":" + std::to_string(*port);
  log_line("listening on " + base + " (ready once models load; /ready tells)");
  if (ctx.config.api_keys.enabled()) {
    log_line(
        "API keys required (Authorization: Bearer); /health, /ready, /metrics and "
        "/v2/health/* stay open");
  }

  std::atomic<bool> stopping{false};
  Status load_status;
  std::thread loader([&] {
    for (const ModelSpec& spec : *specs) {
      if (stopping) return;
      log_line("loading " + spec.name + " version " + spec.version + " from " + spec.path);
      const auto t0 = std::chrono::steady_clock::now();
      auto m = serve::http::load_served_model(spec, engine);
      if (!m.ok()) {
        load_status = m.status();
        server.stop();
        return;
      }
      const auto& hp = (*m)->model->hparams();
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
      log_line("loaded " + spec.name + " version " + spec.version + " (" + hp.arch + ", " +
               std::to_string(hp.n_layer) + " layers, ctx " +
               std::to_string((*m)->engine->options().n_ctx) + ") on " +
               placement_text((*m)->engine->placement()) + " in " + std::to_string(ms) + " ms");
      registry.add_loaded(std::move(*m));
    }
    log_line("ready: every model is loaded");
    print_examples(base, specs->front().name, ctx.config.api_keys.enabled());
  });
  std::thread signals([&] {
    const timespec tick{0, 200'000'000};
    while (!stopping) {
      if (sigtimedwait(&sigs, nullptr, &tick) <= 0) continue;
      char grace[32];
      std::snprintf(grace, sizeof(grace), "%g s", a.drain_timeout_s);
      log_line(std::string("draining: readiness is false, new requests get 503; in-flight "
                           "requests have ") +
               grace + " to finish (signal again to stop now)");
      server.begin_drain();
      const auto deadline =
          std::chrono::steady_clock::now() +
          std::chrono::milliseconds(static_cast<int64_t>(a.drain_timeout_s * 1000));
      bool drained = false;
      const timespec poll{0, 50'000'000};
      while (!(drained = server.wait_drained(std::chrono::milliseconds(0))) &&
             std::chrono::steady_clock::now() < deadline) {
        if (sigtimedwait(&sigs, nullptr, &poll) > 0) break;
      }
      log_line(drained ? "drained; stopping"
                       : std::to_string(ctx.in_flight.load()) +
                             " request(s) still running; cancelling them and stopping");
      server.stop();
      return;
    }
  });
  server.listen();
  stopping = true;
  loader.join();
  signals.join();
  if (!load_status.ok()) return report(load_status);
  log_line("stopped");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve models over HTTP: OpenAI-compatible (/v1/...), KServe v2 (/v2/...) and the "
      "envelope (POST /infer)");
  cmd->footer(
      "Examples:\n"
      "  autoglm serve                          default model on http://127.0.0.1:8080\n"
      "  autoglm serve -m model.gguf --port 9000\n"
      "  autoglm serve --model-repo models/ --api-key-file keys.txt --host 0.0.0.0\n"
      "\n"
      "A model repository holds DIR/<name>/<version>/model.gguf (+ optional config.json with\n"
      "ctx, max_batch, max_queue, kv_tokens, threads, block_size, prefix_cache). Requests pick\n"
      "a model by name (\"model\": \"name\" or \"name/version\"; latest version when omitted).\n"
      "With -m, the model's name is the file name without .gguf and its version is 1.\n"
      "\n"
      "Endpoints: GET /v1/models, POST /v1/completions, POST /v1/chat/completions (stream: true\n"
      "for SSE); GET /v2, /v2/health/{live,ready}, /v2/models/<m>[/versions/<v>][/ready],\n"
      "POST .../infer; POST /infer; GET /metrics (Prometheus), /health, /ready.\n"
      "With API keys, every endpoint but /health, /ready, /metrics and /v2/health/* needs\n"
      "'Authorization: Bearer <key>'.\n"
      "SIGTERM or Ctrl-C drains: readiness turns false, new requests get 503, running ones get\n"
      "--drain-timeout seconds to finish; a second signal stops at once.");
  cmd->add_option("-m,--model", a->model,
                  "GGUF model file (default: " + default_model_path() + ")");
  cmd->add_option("--model-repo", a->model_repo, "Serve every DIR/<name>/<version>/model.gguf")
      ->excludes(cmd->get_option("--model"));
  cmd->add_option("--host", a->host, "Address to listen on; 0.0.0.0 for every interface")
      ->capture_default_str();
  cmd->add_option("--port", a->port, "TCP port; 0 picks a free one")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  auto* key = cmd->add_option("--api-key", a->api_key,
                              "Require this bearer key (prefer AUTOGLM_API_KEY: command lines "
                              "are visible to other users)")
                  ->envname("AUTOGLM_API_KEY");
  cmd->add_option("--api-key-file", a->api_key_file, "Require one of the keys in F (one a line)")
      ->excludes(key);
  cmd->add_option("--drain-timeout", a->drain_timeout_s,
                  "Seconds in-flight requests get to finish after SIGTERM/SIGINT")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", a->max_body_bytes, "Larger request bodies get 413")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 32))
      ->capture_default_str();
  cmd->add_option("--max-prompt-tokens", a->max_prompt_tokens,
                  "Longer prompts get 400; 0 = the context length")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-tokens-limit", a->max_tokens_limit,
                  "Requests asking for more max_tokens get 400")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--default-max-tokens", a->default_max_tokens,
                  "max_tokens of requests that set none (capped by the context)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--queue-timeout", a->queue_timeout_s,
                  "Seconds a request may wait for a batch slot before 504; 0 = no limit")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--request-timeout", a->request_timeout_s,
                  "Seconds a request may take from arrival to its last token; past it 504 (or a "
                  "streamed error). Requests may ask for less with timeout_ms; 0 = no limit")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-queue", a->max_queue,
                  "Waiting requests per model at most; beyond that 429 with Retry-After")
      ->capture_default_str();
  cmd->add_option("--max-batch", a->max_batch, "Requests a model runs at once")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}))
      ->capture_default_str();
  cmd->add_option("-t,--threads", a->threads, "Compute threads per model (0 = physical cores)")
      ->check(CLI::Range(0, 1024));
  a->runtime.add_config(*cmd);
  cmd->add_option("-c,--ctx", a->ctx, "Longest sequence (prompt + output); 0 = min(model's, 4096)")
      ->check(CLI::NonNegativeNumber);
  auto* kv_tokens =
      cmd->add_option("--kv-tokens", a->kv_tokens,
                      "KV cache size in tokens per model; 0 = --kv-memory, else 4 x --ctx")
          ->check(CLI::NonNegativeNumber);
  cmd->add_option("--kv-memory", a->kv_memory_mib,
                  "KV cache size in MiB per model: as many tokens as fit in --kv-dtype rows "
                  "(q8_0 fits ~1.9x the tokens of f16)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 24))
      ->excludes(kv_tokens);
  cmd->add_option("--http-threads", a->http_threads,
                  "Connections served at once (each open stream holds one)")
      ->check(CLI::Range(4, 4096))
      ->capture_default_str();
  cmd->callback([a] { g_exit_code = serve_main(*a); });
}

}  // namespace autoglm::cli
