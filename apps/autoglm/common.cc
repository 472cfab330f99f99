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
  const auto t0 = std::chrono::steady_clock::now();
  Loaded l;
  AUTOGLM_ASSIGN_OR_RETURN(l.model, model::Model::load(path));
  AUTOGLM_ASSIGN_OR_RETURN(l.tokenizer, tokenizer::Tokenizer::from_gguf(l.model->file()));
  runtime::SessionOptions so;
  so.threads = flags.threads;
  so.n_ctx = flags.ctx;
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
  }
  return l;
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
