// The CLI's contracts on a tiny random model: stdout carries only generated text, chat works
// with piped stdin, bench --json has its keys, inspect shows tensors and the graph.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_process.h"
#include "tiny_model.h"

namespace autoglm {
namespace {

using testing::run_cli;

const std::string& tiny() {
  static const std::string path = testing::tiny_llama_file();
  return path;
}

TEST(Cli, RunPrintsOnlyGeneratedTextOnStdout) {
  auto o = run_cli("run -m " + tiny() + " -p 'the cat' -n 8 --temp 0 --ignore-eos", "", "", false);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_EQ(o.output.find("autoglm:"), std::string::npos) << "logs leaked to stdout: " << o.output;
  EXPECT_FALSE(o.output.empty());
  // Greedy is deterministic; a seed makes sampling deterministic.
  EXPECT_EQ(o.output,
            run_cli("run -m " + tiny() + " -p 'the cat' -n 8 --temp 0 --ignore-eos", "", "", false)
                .output);
  auto s1 = run_cli("run -m " + tiny() + " -p 'the cat' -n 16 --temp 1 --seed 5 --ignore-eos", "",
                    "", false);
  auto s2 = run_cli("run -m " + tiny() + " -p 'the cat' -n 16 --temp 1 --seed 5 --ignore-eos", "",
                    "", false);
  EXPECT_EQ(s1.output, s2.output);
}

TEST(Cli, RunReportsTimingsOnStderr) {
  auto o = run_cli("run -m " + tiny() + " -p 'the cat' -n 4 --temp 0 --ignore-eos");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("tok/s"), std::string::npos) << o.output;
}

TEST(Cli, ChatReadsPipedStdin) {
  auto o = run_cli("chat -m " + tiny() + " -n 4 --temp 0", "", "hello\\nhow are you\\n");
  ASSERT_EQ(o.exit_code, 0) << o.output;
}

TEST(Cli, BenchJsonHasTheContractKeys) {
  auto o = run_cli("bench -m " + tiny() + " -p 16 -n 4 -r 1 --json", "", "", false);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const auto j = nlohmann::json::parse(o.output);
  for (const char* key :
       {"prefill_tokens_per_s", "decode_tokens_per_s", "peak_rss_mb", "threads", "model"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_GT(j["decode_tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["prefill_tokens_per_s"].get<double>(), 0.0);
}

TEST(Cli, BenchConcurrencyJsonHasOneLinePerLevel) {
  auto o =
      run_cli("bench -m " + tiny() + " --concurrency 1,3 --prompt-len 8 --gen-len 4 -r 2 --json",
              "", "", false);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  std::istringstream lines(o.output);
  std::string line;
  double one_stream = 0;
  for (int want : {1, 3}) {
    ASSERT_TRUE(std::getline(lines, line)) << o.output;
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["concurrency"], want);
    EXPECT_EQ(j["repetitions"], 2);  // the median of two runs, still one line per level
    for (const char* k : {"tokens_per_s", "ttft_ms_p50", "ttft_ms_p99", "itl_ms_p50", "itl_ms_p99",
                          "decode_vs_one_stream"}) {
      EXPECT_TRUE(j.contains(k)) << k;
    }
    // Each level's decode rate over level 1's.
    const double decode = j["decode_tokens_per_s"].get<double>();
    if (want == 1) one_stream = decode;
    EXPECT_DOUBLE_EQ(j["decode_vs_one_stream"].get<double>(), decode / one_stream);
  }
  EXPECT_FALSE(std::getline(lines, line)) << line;
}

TEST(Cli, BenchProfileShowsKernelTimeByOp) {
  auto o = run_cli("bench -m " + tiny() + " -p 8 -n 4 -r 1 --profile", "", "", false);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("kernel time per decode token, by op"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("MatMul"), std::string::npos) << o.output;
  o = run_cli("bench -m " + tiny() + " --concurrency 2 --prompt-len 8 --gen-len 4 --json --profile",
              "", "", false);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const auto j = nlohmann::json::parse(o.output);
  EXPECT_FALSE(j.contains("decode_vs_one_stream")) << "no level 1 to compare with";
  ASSERT_TRUE(j.contains("kernel_ms_per_step_by_op")) << o.output;
  EXPECT_FALSE(j["kernel_ms_per_step_by_op"].empty()) << o.output;
}

// OpenCL (PoCL in CI) with ops taken out of its support table: policy cpu runs them on the CPU,
// reports the cuts and gives the text of the full OpenCL run; policy error refuses up front.
TEST(Cli, FallbackPolicyDecidesWhereUnsupportedOpsGo) {
  const std::string args =
      "run -m " + tiny() + " -p 'the cat' -n 8 --temp 0 --ignore-eos --backend opencl";
  auto full = run_cli(args, "", "", false);
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const std::string disable = "AUTOGLM_OPENCL_DISABLE_OPS=Silu,SwiGlu";
  auto fallback = run_cli(args, disable, "", false);
  ASSERT_EQ(fallback.exit_code, 0);
  EXPECT_EQ(fallback.output, full.output);
  auto report = run_cli(args, disable);
  EXPECT_NE(report.output.find("fallback  'blk.0.ffn_silu' (Silu on f32)"), std::string::npos)
      << report.output;
  EXPECT_NE(report.output.find("splits"), std::string::npos);
  auto refused = run_cli(args + " --fallback-policy error", disable);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("device 'opencl' cannot run node 'blk.0.ffn_silu' (Silu on f32)"),
            std::string::npos)
      << refused.output;
}

TEST(Cli, InspectShowsTensorsAndGraph) {
  auto o = run_cli("inspect " + tiny() + " --tensors --graph", "", "", false);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("blk.1.ffn_down.weight"), std::string::npos);
  EXPECT_NE(o.output.find("pass dce"), std::string::npos);
  EXPECT_NE(o.output.find("blk.0.attn_q = MatMul"), std::string::npos) << o.output;
}

// precision auto picks per device from its capabilities; the session's KV cache takes the choice
// of the device holding it: the first that runs attention (the CPU when OpenCL's is taken away).
TEST(Cli, InspectShowsThePrecisionChosenPerDevice) {
  auto o = run_cli("inspect " + tiny() + " --placement --backend opencl,cpu", "", "", false);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("precision auto: KV cache "), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("(the choice of opencl, which holds the cache), activations f32"),
            std::string::npos)
      << o.output;
  EXPECT_NE(o.output.find("\n  cpu        f16   f16 halves KV memory"), std::string::npos)
      << o.output;
  const size_t cl = o.output.find("\n  opencl     f");
  ASSERT_NE(cl, std::string::npos) << o.output;
  EXPECT_NE(o.output.find("cl_khr_fp16", cl), std::string::npos) << o.output;

  auto moved = run_cli("inspect " + tiny() + " --placement --backend opencl",
                       "AUTOGLM_OPENCL_DISABLE_OPS=Attention", "", false);
  ASSERT_EQ(moved.exit_code, 0) << moved.output;
  EXPECT_NE(moved.output.find("(the choice of cpu, which holds the cache)"), std::string::npos)
      << moved.output;
  EXPECT_NE(moved.output.find("no KV cache here: attention does not run on 'opencl'"),
            std::string::npos)
      << moved.output;

  auto bf16 = run_cli("inspect " + tiny() + " --placement --precision bf16");
  EXPECT_NE(bf16.exit_code, 0);
  EXPECT_NE(bf16.output.find("config key 'precision': 'bf16' is not implemented"),
            std::string::npos)
      << bf16.output;
  EXPECT_NE(bf16.output.find("accepted: auto, f32, f16"), std::string::npos) << bf16.output;
}

TEST(Cli, HelpTeaches) {
  auto o = run_cli("--help");
  EXPECT_EQ(o.exit_code, 0);
  for (const char* cmd : {"run", "chat", "bench", "inspect"})
    EXPECT_NE(o.output.find(cmd), std::string::npos);
  o = run_cli("run --help");
  EXPECT_NE(o.output.find("--top-p"), std::string::npos);
}

}  // namespace
}  // namespace autoglm
