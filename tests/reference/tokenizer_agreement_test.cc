// Token ids of the default model's tokenizer must equal llama.cpp's for every corpus string
// (goldens/tokens.json, written by make_goldens.py through llama-cpp-python).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/file.h"
#include "reference_model.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::tokenizer {
namespace {

using reference::model_path;

// Printable rendering of a test string for failure messages.
std::string show(const std::string& s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string show(const std::vector<int32_t>& ids) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < ids.size(); ++i) os << (i ? ", " : "") << ids[i];
  os << ']';
  return os.str();
}

TEST(TokenizerAgreement, MatchesLlamaCppOnCorpus) {
  const std::string golden_path =
      std::string(AUTOGLM_SOURCE_DIR) + "/tests/reference/goldens/tokens.json";
  std::ifstream in(golden_path);
  ASSERT_TRUE(in.good()) << "missing " << golden_path << "; run scripts/make_goldens.sh";
  const nlohmann::json golden = nlohmann::json::parse(in);

  const std::string model_name =
      golden.value("model", std::string("SmolLM2-135M-Instruct.Q4_1.gguf"));
  const std::string path = model_path(model_name);
  ASSERT_TRUE(std::filesystem::exists(path))
      << "model file " << path << " not found; run scripts/fetch_model.sh "
      << "(or point AUTOGLM_MODEL at " << model_name << ")";
  ASSERT_EQ(std::filesystem::path(path).filename().string(), model_name)
      << "the goldens were made for " << model_name << " but AUTOGLM_MODEL is " << path;

  auto file = gguf::File::open(path);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  auto tok_or = Tokenizer::from_gguf(**file);
  ASSERT_TRUE(tok_or.ok()) << tok_or.status().to_string();
  const Tokenizer& tok = **tok_or;
  if (golden.contains("n_vocab")) {
    EXPECT_EQ(tok.n_vocab(), golden["n_vocab"].get<int32_t>());
  }

  const bool add_bos = golden.value("add_bos", false);
  const bool parse_special = golden.value("parse_special", true);
  const auto& cases = golden.at("cases");
  ASSERT_GE(cases.size(), 200u) << "the corpus is expected to hold at least 200 strings";

  size_t identical = 0;
  size_t round_trips = 0;
  double seconds = 0;
  for (const auto& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    const std::vector<int32_t> expected = c.at("ids").get<std::vector<int32_t>>();
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<int32_t> got = tok.encode(text, add_bos && tok.add_bos(), parse_special);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (got == expected) {
      ++identical;
    } else {
      ADD_FAILURE() << "token mismatch for " << show(text)
                    << "\n  expected (llama.cpp): " << show(expected)
                    << "\n  got:                  " << show(got);
    }
    const std::string decoded = tok.decode(got, /*render_special=*/true);
    if (decoded == text) {
      ++round_trips;
    } else {
      ADD_FAILURE() << "decode(encode(text)) != text for " << show(text)
                    << "\n  decoded: " << show(decoded);
    }
  }
  std::printf(
      "[ tokenizer ] %zu/%zu cases identical to llama.cpp, %zu/%zu round-trip, "
      "encode total %.2f ms\n",
      identical, cases.size(), round_trips, cases.size(), seconds * 1e3);
}

}  // namespace
}  // namespace autoglm::tokenizer
