#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "tiny_model.h"

namespace autoglm::gguf {
namespace {

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_all(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

std::string small_file() {
  Writer w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 3);
  w.set_i32("some.negative", -7);
  w.set_f32("some.float", 0.25f);
  w.set_bool("some.flag", true);
  w.set_string_array("tokenizer.ggml.tokens", {"a", "bb", "ccc"});
  w.set_f32_array("tokenizer.ggml.scores", {1.0f, 2.0f, 3.5f});
  std::vector<uint8_t> t0(4 * 8 * 2);
  for (size_t i = 0; i < t0.size(); ++i) t0[i] = static_cast<uint8_t>(i);
  w.add_tensor("t0", DType::F32, {8, 2}, t0);
  w.add_tensor("t1", DType::Q8_0, {32}, std::vector<uint8_t>(34, 7));
  const std::string path = testing::temp_path("gguf_small");
  EXPECT_TRUE(w.write(path).ok());
  return path;
}

TEST(Gguf, RoundTrip) {
  const std::string path = small_file();
  auto f = File::open(path);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  const File& file = **f;
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(*file.get_string("general.architecture"), "llama");
  EXPECT_EQ(*file.get_int("llama.block_count"), 3);
  EXPECT_EQ(*file.get_int("some.negative"), -7);
  EXPECT_FLOAT_EQ(static_cast<float>(*file.get_float("some.float")), 0.25f);
  EXPECT_TRUE(*file.get_bool("some.flag"));
  EXPECT_EQ(*file.get_string_array("tokenizer.ggml.tokens"),
            (std::vector<std::string>{"a", "bb", "ccc"}));
  EXPECT_EQ(file.get_float_array("tokenizer.ggml.scores")->at(2), 3.5f);
  EXPECT_EQ(*file.get_int_or("missing.key", 42), 42);
  EXPECT_EQ(file.get_int("missing.key").status().code(), ErrorCode::NotFound);
  EXPECT_EQ(file.get_int("general.architecture").status().code(), ErrorCode::InvalidArgument);

  ASSERT_EQ(file.tensors().size(), 2u);
  const TensorInfo* t0 = file.find_tensor("t0");
  ASSERT_NE(t0, nullptr);
  EXPECT_EQ(t0->desc.dims[0], 8);
  EXPECT_EQ(t0->desc.dims[1], 2);
  EXPECT_EQ(t0->bytes, 64u);
  EXPECT_EQ(t0->data[5], 5);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t0->data) % file.alignment(), 0u);
  const TensorInfo* t1 = file.find_tensor("t1");
  ASSERT_NE(t1, nullptr);
  EXPECT_EQ(t1->desc.dtype, DType::Q8_0);
  EXPECT_EQ(t1->bytes, 34u);
  EXPECT_EQ(t1->data[33], 7);
}

TEST(Gguf, MissingFileIsNotFound) {
  auto f = File::open("/nonexistent/model.gguf");
  EXPECT_EQ(f.status().code(), ErrorCode::NotFound);
  EXPECT_NE(f.status().message().find("/nonexistent/model.gguf"), std::string::npos);
}

// Every truncation of a valid file must be rejected cleanly, never crash or read out of bounds.
TEST(Gguf, EveryTruncationIsRejected) {
  const std::vector<uint8_t> bytes = read_all(small_file());
  const std::string path = testing::temp_path("gguf_trunc");
  // The writer pads the last tensor (34 bytes) to the 32-byte alignment; cutting only that
  // padding leaves a valid file.
  const size_t data_end = bytes.size() - 30;
  for (size_t n = 0; n < data_end; ++n) {
    write_all(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n)));
    auto f = File::open(path);
    ASSERT_FALSE(f.ok()) << "truncated to " << n << " bytes was accepted";
    EXPECT_EQ(f.status().code(), ErrorCode::CorruptFile) << n << ": " << f.status().to_string();
  }
}

// Flipping any single header byte either still parses or fails with a clear status.
TEST(Gguf, CorruptedHeaderBytesNeverCrash) {
  const std::vector<uint8_t> bytes = read_all(small_file());
  const std::string path = testing::temp_path("gguf_flip");
  const size_t header = bytes.size() - 128;  // leave the tensor data alone
  for (size_t i = 0; i < header; ++i) {
    for (uint8_t x : {0xFF, 0x80, 0x01}) {
      std::vector<uint8_t> b = bytes;
      b[i] ^= x;
      write_all(path, b);
      auto f = File::open(path);
      if (!f.ok()) {
        EXPECT_FALSE(f.status().message().empty());
      }
    }
  }
}

class GgufBad : public ::testing::Test {
 protected:
  // Patches the little-endian field at `offset` of a valid file and returns the open status.
  template <typename T>
  Status open_patched(size_t offset, T value) {
    std::vector<uint8_t> b = read_all(small_file());
    std::memcpy(b.data() + offset, &value, sizeof(T));
    const std::string path = testing::temp_path("gguf_bad");
    write_all(path, b);
    auto f = File::open(path);
    return f.ok() ? Status{} : f.status();
  }
};

TEST_F(GgufBad, WrongMagic) {
  Status st = open_patched<uint32_t>(0, 0x46554746);
  EXPECT_EQ(st.code(), ErrorCode::CorruptFile);
  EXPECT_NE(st.message().find("not a GGUF file"), std::string::npos);
}

TEST_F(GgufBad, UnsupportedVersion) {
  EXPECT_EQ(open_patched<uint32_t>(4, 99).code(), ErrorCode::Unsupported);
}

TEST_F(GgufBad, AbsurdTensorCount) {
  Status st = open_patched<uint64_t>(8, 1ull << 60);
  EXPECT_EQ(st.code(), ErrorCode::CorruptFile);
  EXPECT_NE(st.message().find("tensor count"), std::string::npos);
}

TEST_F(GgufBad, AbsurdMetadataCount) {
  EXPECT_EQ(open_patched<uint64_t>(16, 1ull << 62).code(), ErrorCode::CorruptFile);
}

TEST_F(GgufBad, HugeStringLength) {
  // The first key's length field sits right after the 24-byte header.
  EXPECT_EQ(open_patched<uint64_t>(24, 1ull << 40).code(), ErrorCode::CorruptFile);
}

// Builds a file by hand so a tensor's dtype or offset can be forged.
std::string forge_tensor(uint32_t dtype, uint64_t offset, uint64_t dim) {
  std::vector<uint8_t> b;
  auto put = [&](auto v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(v));
  };
  put(uint32_t{0x46554747});
  put(uint32_t{3});
  put(uint64_t{1});  // tensors
  put(uint64_t{0});  // kv
  put(uint64_t{1});
  b.push_back('w');
  put(uint32_t{1});
  put(dim);
  put(dtype);
  put(offset);
  b.resize((b.size() + 31) / 32 * 32, 0);
  b.resize(b.size() + 128, 0);
  const std::string path = testing::temp_path("gguf_forged");
  write_all(path, b);
  return path;
}

TEST(GgufForged, ValidTensorOpens) {
  EXPECT_TRUE(File::open(forge_tensor(0, 0, 32)).ok());
}

TEST(GgufForged, TensorPastEndOfFile) {
  auto f = File::open(forge_tensor(0, 0, 1000));
  EXPECT_EQ(f.status().code(), ErrorCode::CorruptFile);
  EXPECT_NE(f.status().message().find("extends past the end"), std::string::npos);
  EXPECT_EQ(File::open(forge_tensor(0, 1ull << 62, 32)).status().code(), ErrorCode::CorruptFile);
}

TEST(GgufForged, UnknownDtype) {
  auto f = File::open(forge_tensor(12345, 0, 32));
  EXPECT_EQ(f.status().code(), ErrorCode::Unsupported);
  EXPECT_NE(f.status().message().find("12345"), std::string::npos);
}

TEST(GgufForged, AbsurdDimension) {
  EXPECT_EQ(File::open(forge_tensor(0, 0, 1ull << 62)).status().code(), ErrorCode::CorruptFile);
  EXPECT_EQ(File::open(forge_tensor(0, 0, 0)).status().code(), ErrorCode::CorruptFile);
}

TEST(GgufForged, MisalignedOffset) {
  EXPECT_EQ(File::open(forge_tensor(0, 3, 4)).status().code(), ErrorCode::CorruptFile);
}

}  // namespace
}  // namespace autoglm::gguf
