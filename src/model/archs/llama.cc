#include "model/archs/llama.h"

#include <cmath>

#include "model/layers.h"

namespace autoglm::model {

Result<HParams> LlamaArch::load_hparams(const gguf::File& f) const {
  HParams hp;
  const std::string a = "llama";
  hp.arch = a;
  AUTOGLM_ASSIGN_OR_RETURN(hp.n_layer, arch_int(f, a, "block_count"));
  AUTOGLM_ASSIGN_OR_RETURN(hp.n_embd, arch_int(f, a, "embedding_length"));
  AUTOGLM_ASSIGN_OR_RETURN(hp.n_head, arch_int(f, a, "attention.head_count"));
  AUTOGLM_ASSIGN_OR_RETURN(hp.n_ff, arch_int(f, a, "feed_forward_length"));
  AUTOGLM_ASSIGN_OR_RETURN(hp.n_ctx_train, arch_int(f, a, "context_length"));
  auto kv = f.get_int_or(a + ".attention.head_count_kv", hp.n_head);
  if (!kv.ok()) return kv.status();
  hp.n_head_kv = *kv;
  if (hp.n_head_kv <= 0 || hp.n_head % hp.n_head_kv != 0) {
    return error(ErrorCode::CorruptFile,
                 "model metadata: head_count must be a multiple of head_count_kv");
  }
  if (hp.n_embd % hp.n_head != 0) {
    return error(ErrorCode::CorruptFile,
                 "model metadata: embedding_length is not a multiple of head_count");
  }
  hp.head_dim = hp.n_embd / hp.n_head;
  auto rot = f.get_int_or(a + ".rope.dimension_count", hp.head_dim);
  if (!rot.ok()) return rot.status();
  hp.n_rot = static_cast<int32_t>(*rot);
  AUTOGLM_ASSIGN_OR_RETURN(hp.rms_eps,
                           arch_float_or(f, a, "attention.layer_norm_rms_epsilon", 1e-5f));
  AUTOGLM_ASSIGN_OR_RETURN(hp.rope_freq_base, arch_float_or(f, a, "rope.freq_base", 10000.0f));

  auto scaling = f.get_string(a + ".rope.scaling.type");
  const std::string type = scaling.ok() ? *scaling : "none";
  if (type == "linear") {
    AUTOGLM_ASSIGN_OR_RETURN(float factor, arch_float_or(f, a, "rope.scaling.factor", 1.0f));
    if (factor <= 0)
      return error(ErrorCode::CorruptFile, "model metadata: rope.scaling.factor must be positive");
    hp.rope_freq_scale = 1.0f / factor;
  } else if (type != "none") {
    return error(ErrorCode::Unsupported,
                 "rope scaling type '" + type + "' is not supported (supported: none, linear)");
  }

  const gguf::TensorInfo* emb = f.find_tensor("token_embd.weight");
  if (!emb || emb->desc.n_dims != 2) {
    return error(ErrorCode::CorruptFile, "tensor 'token_embd.weight' is missing or not 2-d");
  }
  hp.n_vocab = emb->desc.dims[1];
  return hp;
}

void LlamaArch::declare_weights(WeightTable& t, const HParams& hp) const {
  const int64_t e = hp.n_embd, kv = hp.n_head_kv * hp.head_dim, ff = hp.n_ff;
  t.push_back({"token_embd.weight", {e, hp.n_vocab}});
  t.push_back({"output_norm.weight", {e}});
  t.push_back({"output.weight", {e, hp.n_vocab}, false});     // absent: tied to token_embd
  t.push_back({"rope_freqs.weight", {hp.n_rot / 2}, false});  // llama3 frequency factors
  for (int64_t l = 0; l < hp.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l);
    t.push_back({p + ".attn_norm.weight", {e}});
    t.push_back({p + ".attn_q.weight", {e, e}});
    t.push_back({p + ".attn_k.weight", {e, kv}});
    t.push_back({p + ".attn_v.weight", {e, kv}});
    t.push_back({p + ".attn_output.weight", {e, e}});
    t.push_back({p + ".ffn_norm.weight", {e}});
    t.push_back({p + ".ffn_gate.weight", {e, ff}});
    t.push_back({p + ".ffn_up.weight", {e, ff}});
    t.push_back({p + ".ffn_down.weight", {ff, e}});
  }
}

Result<graph::Value> LlamaArch::build(graph::Builder& b, const Weights& w, const HParams& hp,
                                      const BatchView& batch, const KvView& kv) const {
  graph::OpParams rope;
  rope.n_rot = hp.n_rot;
  rope.neox = hp.rope_neox;
  rope.freq_base = hp.rope_freq_base;
  rope.freq_scale = hp.rope_freq_scale;
  rope.head_dim = static_cast<int32_t>(hp.head_dim);
  graph::OpParams attn;
  attn.n_head = static_cast<int32_t>(hp.n_head);
  attn.n_head_kv = static_cast<int32_t>(hp.n_head_kv);
  attn.head_dim = static_cast<int32_t>(hp.head_dim);
  attn.scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim));
  attn.block_size = kv.block_size;
  const graph::Value freq_factors = w.get("rope_freqs.weight");

  graph::Value x =
      b.get_rows(w.get("token_embd.weight"), batch.tokens, "token_embd");  // [n_tok, n_embd]
  for (int64_t l = 0; l < hp.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l);
    graph::Value h =
        rms_norm_weighted(b, x, w.get(p + ".attn_norm.weight"), hp.rms_eps, p + ".attn_norm");
    graph::Value q = b.matmul(w.get(p + ".attn_q.weight"), h, p + ".attn_q");  // [n_tok, n_head*hd]
    graph::Value k =
        b.matmul(w.get(p + ".attn_k.weight"), h, p + ".attn_k");  // [n_tok, n_head_kv*hd]
    graph::Value v =
        b.matmul(w.get(p + ".attn_v.weight"), h, p + ".attn_v");  // [n_tok, n_head_kv*hd]
    rope.n_head = static_cast<int32_t>(hp.n_head);
    q = b.rope(q, batch.paged.positions, freq_factors, rope, p + ".attn_q_rope");
    rope.n_head = static_cast<int32_t>(hp.n_head_kv);
    k = b.rope(k, batch.paged.positions, freq_factors, rope, p + ".attn_k_rope");
    graph::Value ks =
        b.kv_store(kv.k[l], k, batch.kv_slots, p + ".k_store");  // [n_slots, n_head_kv*hd]
    graph::Value vs = b.kv_store(kv.v[l], v, batch.kv_slots, p + ".v_store");
    graph::Value a = b.attention(q, ks, vs, batch.paged, attn, p + ".attn");  // [n_tok, n_head*hd]
    graph::Value o = b.matmul(w.get(p + ".attn_output.weight"), a, p + ".attn_output");
    if (l == hp.n_layer - 1) {
      // Only the requested rows go on: prefill computes one row of logits, not n_tok.
      o = b.get_rows(o, batch.out_ids, p + ".attn_output_rows");  // [n_out, n_embd]
      x = b.get_rows(x, batch.out_ids, p + ".residual_rows");
    }
    x = b.add(x, o, p + ".attn_residual");
    h = rms_norm_weighted(b, x, w.get(p + ".ffn_norm.weight"), hp.rms_eps, p + ".ffn_norm");
    x = b.add(x, swiglu_ffn(b, h, w, p), p + ".ffn_residual");
  }
  x = rms_norm_weighted(b, x, w.get("output_norm.weight"), hp.rms_eps, "output_norm");
  const graph::Value out_w =
      w.has("output.weight") ? w.get("output.weight") : w.get("token_embd.weight");
  graph::Value logits = b.matmul(out_w, x, "output");  // [n_out, n_vocab]
  AUTOGLM_RETURN_IF_ERROR(b.status());
  return logits;
}

}  // namespace autoglm::model
