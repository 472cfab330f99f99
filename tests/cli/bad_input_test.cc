// Bad input through the real CLI: each case must end with a clear message and a non-zero exit,
// never a crash (this test also runs under ASan in CI).
#include <gtest/gtest.h>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "cli_process.h"
#include "tiny_model.h"

namespace autoglm {
namespace {

using testing::Outcome;
using testing::run_cli;

std::string tiny_model(const testing::TinyLlama& cfg = {}) {
  return testing::tiny_llama_file(cfg);
}

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string write_bytes(const std::vector<uint8_t>& b) {
  const std::string path = testing::temp_path("cli_bad");
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return path;
}

void expect_clean_failure(const Outcome& o, const std::string& needle) {
  EXPECT_FALSE(o.crashed) << o.output;
  EXPECT_NE(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("error: "), std::string::npos) << o.output;
  EXPECT_NE(o.output.find(needle), std::string::npos) << "expected '" << needle << "' in:\n"
                                                      << o.output;
}

TEST(BadInput, TinyModelRunsAtAll) {
  // Guards the cases below: they must fail for the reason they test, not a broken CLI.
  Outcome o = run_cli("run -m " + tiny_model() + " -p 'the cat' -n 4 --temp 0");
  EXPECT_EQ(o.exit_code, 0) << o.output;
}

TEST(BadInput, TruncatedFile) {
  std::vector<uint8_t> b = read_all(tiny_model());
  b.resize(b.size() / 2);
  expect_clean_failure(run_cli("run -m " + write_bytes(b) + " -p hi"),
                       "extends past the end of the file");
  b.resize(100);
  expect_clean_failure(run_cli("run -m " + write_bytes(b) + " -p hi"), "truncated");
}

TEST(BadInput, WrongMagic) {
  std::vector<uint8_t> b = read_all(tiny_model());
  std::memcpy(b.data(), "GGML", 4);
  expect_clean_failure(run_cli("run -m " + write_bytes(b) + " -p hi"), "not a GGUF file");
  expect_clean_failure(run_cli("inspect " + write_bytes(b)), "not a GGUF file");
}

TEST(BadInput, AbsurdTensorCount) {
  std::vector<uint8_t> b = read_all(tiny_model());
  const uint64_t n = 1ull << 61;
  std::memcpy(b.data() + 8, &n, 8);
  expect_clean_failure(run_cli("run -m " + write_bytes(b) + " -p hi"), "tensor count");
}

TEST(BadInput, UnknownDtype) {
  // Rewrite the dtype field of the last tensor entry: find its name, skip dims.
  std::vector<uint8_t> b = read_all(tiny_model());
  const std::string name = "blk.1.ffn_down.weight";
  auto it = std::search(b.begin(), b.end(), name.begin(), name.end());
  ASSERT_NE(it, b.end());
  size_t pos = static_cast<size_t>(it - b.begin()) + name.size();
  uint32_t n_dims;
  std::memcpy(&n_dims, &b[pos], 4);
  pos += 4 + 8 * n_dims;
  const uint32_t bogus = 77;
  std::memcpy(&b[pos], &bogus, 4);
  expect_clean_failure(run_cli("run -m " + write_bytes(b) + " -p hi"), "data type id 77");
}

TEST(BadInput, UnknownArchitecture) {
  testing::TinyLlama cfg;
  cfg.arch = "mamba9";
  expect_clean_failure(run_cli("run -m " + tiny_model(cfg) + " -p hi"),
                       "model architecture 'mamba9' is not supported (supported: llama");
}

TEST(BadInput, PromptLongerThanContext) {
  std::string prompt;
  for (int i = 0; i < 40; ++i) prompt += "the cat ";
  expect_clean_failure(run_cli("run -m " + tiny_model() + " --ctx 16 -p '" + prompt + "'"),
                       "context holds 16");
}

TEST(BadInput, MissingFiles) {
  expect_clean_failure(run_cli("run -m /nonexistent/model.gguf -p hi"), "/nonexistent/model.gguf");
  expect_clean_failure(run_cli("run -p hi", "AUTOGLM_HOME=/nonexistent/autoglm-home"),
                       "scripts/fetch_model.sh");
}

TEST(BadInput, BadFlags) {
  Outcome o = run_cli("run -m " + tiny_model() + " -p hi --top-p 2");
  EXPECT_FALSE(o.crashed);
  EXPECT_EQ(o.exit_code, 2) << o.output;
  EXPECT_NE(o.output.find("top_p"), std::string::npos) << o.output;
  o = run_cli("run --no-such-flag");
  EXPECT_FALSE(o.crashed);
  EXPECT_NE(o.exit_code, 0);
}

}  // namespace
}  // namespace autoglm
