// Shared CLI plumbing: model location, loading with clear errors, common flags.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "model/model.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::cli {

constexpr const char* kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

// $AUTOGLM_HOME (default ~/.cache/autoglm) + /models/ + the default model's file name.
std::string default_model_path();

struct ModelFlags {
  std::string model;  // empty: default model
  int threads = 0;
  int64_t ctx = 0;
  void add(CLI::App& app);
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

// Prints "error: ..." to stderr and returns the process exit code for it.
int report(const Status& st);

// Peak resident set size of this process, MiB.
double peak_rss_mb();

}  // namespace autoglm::cli
