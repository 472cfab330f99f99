#include "tiny_model.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "core/quant.h"
#include "gguf/writer.h"

namespace autoglm::testing {
namespace {

// GPT-2's byte → printable code point mapping, as UTF-8 strings.
std::vector<std::string> byte_tokens() {
  std::vector<int> cps(256, -1);
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable =
        (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    cps[b] = printable ? b : next++;
  }
  std::vector<std::string> out;
  for (int cp : cps) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace

const std::vector<float>& TinyLlamaWeights::get(const std::string& name) const {
  for (const auto& [n, v] : tensors) {
    if (n == name) return v;
  }
  static const std::vector<float> kEmpty;
  return kEmpty;
}

namespace {

// Removes the files handed out by temp_path when the test process exits.
struct TempFiles {
  std::vector<std::string> paths;
  ~TempFiles() {
    std::error_code ec;
    for (const auto& p : paths) std::filesystem::remove(p, ec);
  }
};

}  // namespace

std::string temp_path(const std::string& stem) {
  static std::atomic<int> counter{0};
  static TempFiles files;
  std::string p =
      (std::filesystem::temp_directory_path() /
       (stem + "." + std::to_string(getpid()) + "." + std::to_string(counter++) + ".gguf"))
          .string();
  files.paths.push_back(p);
  return p;
}

Result<TinyLlamaWeights> write_tiny_llama(const std::string& path, const TinyLlama& c) {
  gguf::Writer w;
  const std::string a = c.arch;
  w.set_string("general.architecture", a);
  w.set_string("general.name", "tiny-random-llama");
  w.set_u32(a + ".block_count", static_cast<uint32_t>(c.n_layer));
  w.set_u32(a + ".context_length", static_cast<uint32_t>(c.n_ctx));
  w.set_u32(a + ".embedding_length", static_cast<uint32_t>(c.n_embd));
  w.set_u32(a + ".feed_forward_length", static_cast<uint32_t>(c.n_ff));
  w.set_u32(a + ".attention.head_count", static_cast<uint32_t>(c.n_head));
  w.set_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(c.n_head_kv));
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_f32(a + ".rope.freq_base", c.rope_freq_base);
  if (!c.rope_scaling_type.empty()) {
    w.set_string(a + ".rope.scaling.type", c.rope_scaling_type);
    w.set_f32(a + ".rope.scaling.factor", c.rope_scaling_factor);
  }

  std::vector<std::string> tokens = byte_tokens();
  std::vector<int32_t> types(tokens.size(), 1);
  for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
    tokens.emplace_back(special);
    types.push_back(3);
  }
  for (const char* merged : {"\xC4\xA0t", "he", "\xC4\xA0the"}) {
    tokens.emplace_back(merged);
    types.push_back(1);
  }
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "smollm");
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_string_array("tokenizer.ggml.merges", {"\xC4\xA0 t", "h e", "\xC4\xA0t he"});
  w.set_u32("tokenizer.ggml.bos_token_id", 257);
  w.set_u32("tokenizer.ggml.eos_token_id", 258);
  w.set_bool("tokenizer.ggml.add_bos_token", false);
  w.set_string("tokenizer.chat_template",
               "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
               "message['content'] + "
               "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
               "'<|im_start|>assistant\n' }}{% endif %}");

  std::mt19937 rng(c.seed);
  TinyLlamaWeights out;
  auto add = [&](const std::string& name, DType dtype, std::vector<int64_t> dims, float scale,
                 float offset) {
    const int64_t n = dims[0] * (dims.size() > 1 ? dims[1] : 1);
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = offset + dist(rng);
    std::vector<uint8_t> bytes(dtype_row_bytes(dtype, dims[0]) * static_cast<size_t>(n / dims[0]));
    const size_t row = dtype_row_bytes(dtype, dims[0]);
    for (int64_t r = 0; r < n / dims[0]; ++r) {
      quantize_row(dtype, v.data() + r * dims[0], bytes.data() + static_cast<size_t>(r) * row,
                   dims[0]);
      dequantize_row(dtype, bytes.data() + static_cast<size_t>(r) * row, v.data() + r * dims[0],
                     dims[0]);
    }
    if (name != c.omit_tensor) w.add_tensor(name, dtype, dims, std::move(bytes));
    out.tensors.emplace_back(name, std::move(v));
  };
  const int64_t e = c.n_embd, hd = c.n_embd / c.n_head, kv = c.n_head_kv * hd;
  const float we = 1.0f / std::sqrt(static_cast<float>(e)),
              wf = 1.0f / std::sqrt(static_cast<float>(c.n_ff));
  add("token_embd.weight", c.matrix_dtype, {e, kTinyVocab}, 1.0f, 0.0f);
  add("output_norm.weight", DType::F32, {e}, 0.1f, 1.0f);
  if (!c.tied_output) add("output.weight", c.matrix_dtype, {e, kTinyVocab}, we, 0.0f);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l);
    add(p + ".attn_norm.weight", DType::F32, {e}, 0.1f, 1.0f);
    add(p + ".attn_q.weight", c.matrix_dtype, {e, e}, we, 0.0f);
    add(p + ".attn_k.weight", c.matrix_dtype, {e, kv}, we, 0.0f);
    add(p + ".attn_v.weight", c.matrix_dtype, {e, kv}, we, 0.0f);
    add(p + ".attn_output.weight", c.matrix_dtype, {e, e}, we, 0.0f);
    add(p + ".ffn_norm.weight", DType::F32, {e}, 0.1f, 1.0f);
    add(p + ".ffn_gate.weight", c.matrix_dtype, {e, c.n_ff}, we, 0.0f);
    add(p + ".ffn_up.weight", c.matrix_dtype, {e, c.n_ff}, we, 0.0f);
    add(p + ".ffn_down.weight", c.matrix_dtype, {c.n_ff, e}, wf, 0.0f);
  }
  AUTOGLM_RETURN_IF_ERROR(w.write(path));
  return out;
}

std::string tiny_llama_file(const TinyLlama& cfg, TinyLlamaWeights* weights) {
  const std::string path = temp_path("tiny_llama");
  auto w = write_tiny_llama(path, cfg);
  if (!w.ok()) {
    std::fprintf(stderr, "cannot write the tiny test model: %s\n", w.status().to_string().c_str());
    std::abort();
  }
  if (weights) *weights = std::move(*w);
  return path;
}

}  // namespace autoglm::testing
