// `autoglm devices --json` conforms to docs/schemas/devices.schema.json, and lists the OpenCL
// plugin's device with the ops the conformance suite runs on it.
#include <gtest/gtest.h>

#include <fstream>

#include "../../cli/cli_process.h"
#include "json_schema.h"

namespace autoglm::testing {
namespace {

nlohmann::json load_schema() {
  std::ifstream in(AUTOGLM_SOURCE_DIR "/docs/schemas/devices.schema.json");
  return nlohmann::json::parse(in);
}

TEST(DevicesJson, ValidatesAgainstTheCommittedSchema) {
  const Outcome o = run_cli("devices --json", "", "", /*merge_stderr=*/false);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const nlohmann::json doc = nlohmann::json::parse(o.output);
  const std::vector<std::string> errors = SchemaValidator().validate(load_schema(), doc);
  for (const std::string& e : errors) ADD_FAILURE() << e;
  ASSERT_FALSE(doc["devices"].empty());
  EXPECT_EQ(doc["devices"][0]["backend"], "cpu");
  bool opencl = false;
  for (const auto& d : doc["devices"]) {
    if (d["backend"] != "opencl") continue;
    opencl = true;
    EXPECT_EQ(d["support"]["MatMul"], nlohmann::json({"f32", "f16", "q4_0", "q4_1", "q8_0"}));
  }
  bool plugin_loaded = false;
  for (const auto& p : doc["plugins"]) plugin_loaded |= p["loaded"].get<bool>();
  EXPECT_TRUE(plugin_loaded) << "the OpenCL plugin was not found in the build's lib/";
  if (!opencl) {
    ASSERT_FALSE(doc["unavailable"].empty()) << "opencl neither listed nor reported unavailable";
  }
}

TEST(DevicesJson, ValidatorCatchesViolations) {
  nlohmann::json doc = nlohmann::json::parse(run_cli("devices --json", "", "", false).output);
  doc["devices"][0]["kind"] = "tpu";
  doc["devices"][0].erase("memory_bytes");
  doc["extra"] = 1;
  EXPECT_EQ(SchemaValidator().validate(load_schema(), doc).size(), 3u);
}

TEST(DevicesText, ShowsSupportTableAndPlugins) {
  const Outcome o = run_cli("devices");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("MatMul"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("libautoglm_backend_opencl.so: loaded opencl"), std::string::npos)
      << o.output;
}

}  // namespace
}  // namespace autoglm::testing
