// Shared CLI plumbing: model location, loading with clear errors, common flags.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "model/model.h"
#include "runtime/config.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::cli {

constexpr const char* kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

// $AUTOGLM_HOME (default ~/.cache/autoglm) + /models/ + the default model's file name.
std::string default_model_path();

// Model location plus the runtime configuration keys (runtime/config.h) as flags; a flag wins
// over its AUTOGLM_* variable, which wins over the --config file.
struct ModelFlags {
  std::string model;  // empty: default model
  int threads = 0;    // 0: not given
  int64_t ctx = 0;
  std::string config_file, backend, precision, fallback_policy, memory_alignment,
      kv_dtype;                    // "": not given
  void add(CLI::App& app);         // every flag
  void add_config(CLI::App& app);  // only the runtime configuration flags
  Result<runtime::RuntimeConfig> resolve() const;
};

void add_sampling_flags(CLI::App& app, runtime::SamplingParams& p);

// Everything a command needs to generate text.
struct Loaded {
  std::unique_ptr<model::Model> model;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  std::unique_ptr<runtime::Session> session;
};

// Loads model, tokenizer and session, printing progress and errors to stderr.
// A missing default model explains how to fetch it.
Result<Loaded> load(const ModelFlags& flags, bool verbose = true);

// One line per device with its node count, then splits, fallbacks and bytes crossing devices per
// decode step; with `nodes`, every compute node and its device.
Status print_placement(runtime::BatchRunner& r, bool nodes, std::FILE* out);

// The precision chosen on each device of the runner and why, and the KV-cache type the session
// stores (the choice of the device holding the cache, unless kv_dtype names one).
Status print_precision(const runtime::RuntimeConfig& c, runtime::BatchRunner& r, std::FILE* out);

// Prints "error: ..." to stderr and returns the process exit code for it.
int report(const Status& st);

// Peak resident set size of this process, MiB.
double peak_rss_mb();

}  // namespace autoglm::cli
