#include "common.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace autoglm::cli {

std::string default_model_path() {
  std::string home;
  if (const char* h = std::getenv("AUTOGLM_HOME"); h && *h) {
    home = h;
  } else if (const char* u = std::getenv("HOME"); u && *u) {
    home = std::string(u) + "/.cache/autoglm";
  } else {
    home = ".autoglm";
  }
  return home + "/models/" + kDefaultModelFile;
}

void ModelFlags::add(CLI::App& app) {
  app.add_option("-m,--model", model, "GGUF model file (default: " + default_model_path() + ")");
  app.add_option("-t,--threads", threads, "Worker threads (0 = physical cores)")
      ->check(CLI::Range(0, 1024));
  app.add_option("-c,--ctx", ctx, "Context length in tokens (0 = min(model's, 4096))")
      ->check(CLI::NonNegativeNumber);
  add_config(app);
}

void ModelFlags::add_config(CLI::App& app) {
  app.add_option("--config", config_file,
                 "JSON config file (comments allowed) with keys backend, precision, "
                 "fallback_policy, memory_alignment, threads, kv_dtype; AUTOGLM_<KEY> variables "
                 "and flags override it");
  app.add_option("--backend", backend,
                 "auto, a backend name, or a priority list like opencl,cpu (default cpu; see "
                 "`autoglm devices`)");
  app.add_option(
      "--precision", precision,
      "auto, f32 or f16 (the KV cache's type; auto: the device's choice), or int8: auto's KV with "
      "quantized matmuls summing each block as integers, faster, last bits differ from llama.cpp "
      "(CPU with AVX-512 VNNI). bf16 is refused (default auto)");
  app.add_option("--fallback-policy", fallback_policy,
                 "Where an op no chosen device supports runs: cpu (default) or error");
  app.add_option("--memory-alignment", memory_alignment,
                 "Minimum device buffer alignment in bytes, a power of two");
  app.add_option("--kv-dtype", kv_dtype,
                 "KV cache storage: f16, f32 or q8_0 (default: f16, or f32 with --precision f32). "
                 "q8_0 takes half the memory of f16 per token (the same memory holds ~1.9x the "
                 "tokens) for a small accuracy cost");
}

Result<runtime::RuntimeConfig> ModelFlags::resolve() const {
  runtime::RuntimeConfig c;
  if (!config_file.empty()) AUTOGLM_RETURN_IF_ERROR(runtime::apply_config_file(c, config_file));
  AUTOGLM_RETURN_IF_ERROR(runtime::apply_config_env(c));
  const std::pair<const char*, const std::string*> flags[] = {
      {"backend", &backend},
      {"precision", &precision},
      {"fallback_policy", &fallback_policy},
      {"memory_alignment", &memory_alignment},
      {"kv_dtype", &kv_dtype}};
  for (const auto& [key, value] : flags) {
    if (!value->empty()) AUTOGLM_RETURN_IF_ERROR(runtime::set_config_value(c, key, *value));
  }
  if (threads > 0) c.threads = threads;
  return c;
}

void add_sampling_flags(CLI::App& app, runtime::SamplingParams& p) {
  app.add_option("--temp", p.temperature, "Temperature; 0 = greedy")->capture_default_str();
  app.add_option("--top-k", p.top_k, "Keep the K most likely tokens; 0 = off")
      ->capture_default_str();
  app.add_option("--top-p", p.top_p, "Nucleus sampling mass; 1 = off")->capture_default_str();
  app.add_option("--min-p", p.min_p, "Drop tokens below P x the best one's probability; 0 = off")
      ->capture_default_str();
  app.add_option("--repeat-penalty", p.repeat_penalty, "Penalty for recently seen tokens; 1 = off")
      ->capture_default_str();
  app.add_option("--repeat-last-n", p.repeat_last_n, "How many recent tokens the penalty looks at")
      ->capture_default_str();
  app.add_option("-s,--seed", p.seed, "Random seed; the same seed gives the same output")
      ->capture_default_str();
}

Result<Loaded> load(const ModelFlags& flags, bool verbose) {
  const bool is_default = flags.model.empty();
  const std::string path = is_default ? default_model_path() : flags.model;
  if (is_default && !std::filesystem::exists(path)) {
    return error(ErrorCode::NotFound, "the default model is not at " + path +
                                          "\n  fetch it with: scripts/fetch_model.sh"
                                          "\n  or pass another GGUF file with -m FILE");
  }
  AUTOGLM_ASSIGN_OR_RETURN(const runtime::RuntimeConfig cfg, flags.resolve());
  const auto t0 = std::chrono::steady_clock::now();
  Loaded l;
  AUTOGLM_ASSIGN_OR_RETURN(l.model, model::Model::load(path));
  AUTOGLM_ASSIGN_OR_RETURN(l.tokenizer, tokenizer::Tokenizer::from_gguf(l.model->file()));
  runtime::SessionOptions so;
  so.threads = cfg.threads;
  so.n_ctx = flags.ctx;
  so.backend = cfg.backend;
  so.fallback = cfg.fallback_policy;
  so.alignment = cfg.memory_alignment;
  so.int8_block_sums = cfg.precision == "int8";
  AUTOGLM_ASSIGN_OR_RETURN(so.kv_dtype, runtime::kv_dtype_for(cfg));
  AUTOGLM_ASSIGN_OR_RETURN(l.session, runtime::Session::create(*l.model, so));
  if (verbose) {
    const auto& hp = l.model->hparams();
    const auto props = l.session->device().props();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::cerr << "autoglm: " << path << " (" << hp.arch << ", " << hp.n_layer << " layers, n_embd "
              << hp.n_embd << ", vocab " << hp.n_vocab << ") on " << props.name << " [" << props.isa
              << ", " << props.threads << " threads], ctx " << l.session->n_ctx() << ", loaded in "
              << static_cast<int>(ms) << " ms\n";
    if (l.session->runner().placement().splits.size() > 1) {
      AUTOGLM_RETURN_IF_ERROR(print_placement(l.session->runner(), false, stderr));
    }
  }
  return l;
}

Status print_placement(runtime::BatchRunner& r, bool nodes, std::FILE* out) {
  const sched::Placement& pl = r.placement();
  const graph::Graph& g = r.graph().graph;
  AUTOGLM_ASSIGN_OR_RETURN(const size_t crossing, r.crossing_bytes(1, 1));
  std::fprintf(out,
               "placement %zu splits, %zu fallback ops, %zu bytes cross devices per decode step\n",
               pl.splits.size(), pl.fallbacks.size(), crossing);
  for (const auto& dev : r.devices()) {
    size_t n = 0;
    for (const sched::Split& s : pl.splits) n += s.device == dev.get() ? s.nodes.size() : 0;
    std::fprintf(out, "  %-10s %zu nodes\n", dev->props().name.c_str(), n);
  }
  for (graph::NodeId id : pl.fallbacks)
    std::fprintf(out, "  fallback  %s\n", sched::describe_node(g, g.node(id)).c_str());
  if (nodes) {
    for (const sched::Split& s : pl.splits) {
      for (graph::NodeId id : s.nodes) {
        const graph::Node& n = g.node(id);
        std::fprintf(out, "  %-36s %-10s %s\n", n.name.c_str(), graph::op_label(n).c_str(),
                     s.device->props().name.c_str());
      }
    }
  }
  // Every cut synchronizes two devices and moves a tensor: many of them cost more than the
  // fallback ops themselves.
  constexpr size_t kManySplits = 8;
  if (pl.splits.size() > kManySplits) {
    std::fprintf(stderr,
                 "warning: fallbacks cut the graph into %zu splits; each cut synchronizes devices. "
                 "Choose a backend that supports these ops, or --backend cpu.\n",
                 pl.splits.size());
  }
  return {};
}

Status print_precision(const runtime::RuntimeConfig& c, runtime::BatchRunner& r, std::FILE* out) {
  const std::string kv(dtype_name(r.options().kv_dtype));
  std::string source = "set by kv_dtype";
  if (c.kv_dtype == "auto") {
    AUTOGLM_ASSIGN_OR_RETURN(const auto holder, runtime::kv_cache_device(c));
    source = "the choice of " + holder->props().name + ", which holds the cache";
  }
  std::fprintf(out, "precision %s: KV cache %s (%s), activations f32\n", c.precision.c_str(),
               kv.c_str(), source.c_str());
  for (const auto& dev : r.devices()) {
    const auto p = runtime::choose_precision(c.precision, *dev);
    const std::string type = p.ok() ? std::string(dtype_name(p->kv)) : "-";
    const std::string why = p.ok() ? p->why : p.status().message();
    std::fprintf(out, "  %-10s %-5s %s\n", dev->props().name.c_str(), type.c_str(), why.c_str());
  }
  return {};
}

int report(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  return st.code() == ErrorCode::InvalidArgument ? 2 : 1;
}

double peak_rss_mb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is KiB on Linux
}

}  // namespace autoglm::cli
