#include "serve/http/model_repo.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "serve/http/model_registry.h"
#include "tiny_model.h"

namespace autoglm::serve::http {
namespace {

namespace fs = std::filesystem;

TEST(ModelRepo, NamesCannotEscapeTheRepository) {
  EXPECT_TRUE(valid_model_name("SmolLM2-135M-Instruct.Q4_1"));
  EXPECT_TRUE(valid_model_name("a"));
  EXPECT_FALSE(valid_model_name(""));
  EXPECT_FALSE(valid_model_name("."));
  EXPECT_FALSE(valid_model_name(".."));
  EXPECT_FALSE(valid_model_name(".hidden"));
  EXPECT_FALSE(valid_model_name("a/b"));
  EXPECT_FALSE(valid_model_name("a\\b"));
  EXPECT_FALSE(valid_model_name("../etc"));
  EXPECT_FALSE(valid_model_name(std::string(129, 'a')));
  EXPECT_TRUE(valid_model_version("1"));
  EXPECT_TRUE(valid_model_version("20240101"));
  EXPECT_FALSE(valid_model_version(""));
  EXPECT_FALSE(valid_model_version(".."));
  EXPECT_FALSE(valid_model_version("1a"));
  EXPECT_FALSE(valid_model_version("1234567890"));
}

TEST(ModelRepo, LatestIsTheHighestNumber) {
  EXPECT_EQ(latest_version({"9", "10", "2"}), "10");
  EXPECT_EQ(latest_version({}), "");
}

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}

TEST(ModelRepo, ScanFindsEveryVersionAndSkipsTheRest) {
  const fs::path dir = autoglm::testing::temp_path("repo");
  touch(dir / "b" / "1" / "model.gguf");
  touch(dir / "a" / "10" / "model.gguf");
  touch(dir / "a" / "9" / "model.gguf");
  touch(dir / "a" / "9" / "config.json");
  touch(dir / "a" / "latest" / "model.gguf");   // not a number: skipped
  touch(dir / ".hidden" / "1" / "model.gguf");  // not a valid name: skipped
  fs::create_directories(dir / "c" / "1");      // no model.gguf: skipped
  auto specs = scan_model_repository(dir.string());
  ASSERT_TRUE(specs.ok()) << specs.status().to_string();
  ASSERT_EQ(specs->size(), 3u);
  EXPECT_EQ((*specs)[0].name, "a");
  EXPECT_EQ((*specs)[0].version, "9");
  EXPECT_FALSE((*specs)[0].config_path.empty());
  EXPECT_EQ((*specs)[1].version, "10");
  EXPECT_TRUE((*specs)[1].config_path.empty());
  EXPECT_EQ((*specs)[2].name, "b");
  fs::remove_all(dir);
}

TEST(ModelRepo, EmptyOrMissingRepositoryIsNotFound) {
  const fs::path dir = autoglm::testing::temp_path("empty-repo");
  EXPECT_EQ(scan_model_repository(dir.string()).status().code(), ErrorCode::NotFound);
  fs::create_directories(dir);
  EXPECT_EQ(scan_model_repository(dir.string()).status().code(), ErrorCode::NotFound);
  fs::remove_all(dir);
}

TEST(ModelRepo, SingleFileIsItsStemVersionOne) {
  const ModelSpec s = single_model_spec("/m/SmolLM2-135M-Instruct.Q4_1.gguf");
  EXPECT_EQ(s.name, "SmolLM2-135M-Instruct.Q4_1");
  EXPECT_EQ(s.version, "1");
}

TEST(ModelRepo, ConfigOverridesEngineOptions) {
  const std::string path = autoglm::testing::temp_path("config.json");
  ModelSpec spec{"m", "1", "model.gguf", path};
  std::ofstream(path) << R"({"ctx": 512, "max_batch": 4, "prefix_cache": false})";
  auto o = apply_model_config(spec, EngineOptions{});
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  EXPECT_EQ(o->n_ctx, 512);
  EXPECT_EQ(o->max_batch, 4);
  EXPECT_FALSE(o->prefix_cache);
  std::ofstream(path) << R"({"ctxx": 512})";
  auto bad = apply_model_config(spec, EngineOptions{});
  EXPECT_EQ(bad.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(bad.status().message().find("ctxx"), std::string::npos);
  std::ofstream(path) << R"({"max_batch": "four"})";
  EXPECT_NE(apply_model_config(spec, EngineOptions{}).status().message().find("max_batch"),
            std::string::npos);
  fs::remove(path);
}

TEST(ModelRegistry, RoutesByNameAndVersion) {
  ModelRegistry reg({{"m", "1", "", ""}, {"m", "2", "", ""}});
  EXPECT_FALSE(reg.all_loaded());
  EXPECT_EQ(reg.find("m", "").status().code(), ErrorCode::Unavailable);
  EXPECT_EQ(reg.find("other", "").status().code(), ErrorCode::NotFound);
  EXPECT_EQ(reg.find("../m", "").status().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(reg.find("m", "x").status().code(), ErrorCode::InvalidArgument);
  auto v1 = std::make_shared<ServedModel>();
  v1->name = "m";
  v1->version = "1";
  reg.add_loaded(v1);
  // Latest among loaded versions while version 2 still loads.
  auto found = reg.find("m", "");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)->version, "1");
  EXPECT_EQ(reg.find("m", "2").status().code(), ErrorCode::Unavailable);
  EXPECT_EQ(reg.find("m", "3").status().code(), ErrorCode::NotFound);
  auto v2 = std::make_shared<ServedModel>();
  v2->name = "m";
  v2->version = "2";
  reg.add_loaded(v2);
  EXPECT_TRUE(reg.all_loaded());
  EXPECT_EQ((*reg.find("m", ""))->version, "2");
  EXPECT_EQ((*reg.find("m", "1"))->version, "1");
  EXPECT_EQ(reg.versions("m"), (std::vector<std::string>{"1", "2"}));
}

}  // namespace
}  // namespace autoglm::serve::http
