#include "serve/http/auth.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tiny_model.h"

namespace autoglm::serve::http {
namespace {

TEST(Auth, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secreT", "secret"));
  EXPECT_FALSE(constant_time_equal("secret-longer", "secret"));
  EXPECT_FALSE(constant_time_equal("sec", "secret"));
  EXPECT_FALSE(constant_time_equal("", "secret"));
}

TEST(Auth, NoKeysAllowsEverything) {
  ApiKeys keys;
  EXPECT_FALSE(keys.enabled());
  EXPECT_TRUE(keys.allows(""));
}

TEST(Auth, BearerKeys) {
  ApiKeys keys({"k1", "k2"});
  EXPECT_TRUE(keys.allows("Bearer k1"));
  EXPECT_TRUE(keys.allows("Bearer k2"));
  EXPECT_FALSE(keys.allows("Bearer k3"));
  EXPECT_FALSE(keys.allows("k1"));
  EXPECT_FALSE(keys.allows("Basic k1"));
  EXPECT_FALSE(keys.allows(""));
  EXPECT_FALSE(keys.allows("Bearer "));
}

TEST(Auth, KeyFile) {
  const std::string path = autoglm::testing::temp_path("keys.txt");
  {
    std::ofstream out(path);
    out << "# operators\nalpha\n\nbeta\r\n";
  }
  auto keys = ApiKeys::from_file(path);
  ASSERT_TRUE(keys.ok()) << keys.status().to_string();
  EXPECT_TRUE(keys->allows("Bearer alpha"));
  EXPECT_TRUE(keys->allows("Bearer beta"));
  EXPECT_FALSE(keys->allows("Bearer # operators"));
  {
    std::ofstream out(path);
    out << "# nothing\n";
  }
  EXPECT_EQ(ApiKeys::from_file(path).status().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(ApiKeys::from_file(path + ".missing").status().code(), ErrorCode::NotFound);
}

}  // namespace
}  // namespace autoglm::serve::http
