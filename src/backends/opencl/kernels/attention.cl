// The paged KV cache: stores and causal GQA attention through block tables.

// cache row slots[t] = src row t, converted to the cache type (F32 or F16). src: [n_tok, n]
// f32. Global: (n, n_tok).
kernel void kv_store(global const uchar* src, ulong src_off, global const uchar* slots,
                     ulong slots_off, global uchar* cache, ulong cache_off, ulong row_bytes,
                     int f16) {
  const long i = get_global_id(0), t = get_global_id(1), n = get_global_size(0);
  const float v = CAT(float, src, src_off)[t * n + i];
  global uchar* row = AT(uchar, cache, cache_off) + (ulong)CAT(int, slots, slots_off)[t] * row_bytes;
  if (f16) {
    vstore_half_rte(v, i, (global half*)row);
  } else {
    ((global float*)row)[i] = v;
  }
}

inline float load_kv(global const uchar* row, int d, int f16) {
  return f16 ? vload_half(d, (global const half*)row) : ((global const float*)row)[d];
}

// One work-group per (head, token). q, out: [n_tok, n_head, head_dim] f32; k, v caches: rows of
// [n_head_kv, head_dim] in F32 or F16; positions, tok_seq: [n_tok]; tables: [n_seqs, width];
// scores: global scratch [n_tok * n_head, score_stride]; qh: local [head_dim]; red: local
// [local size]. With an F16 cache q and the probabilities are rounded to F16 first, as the CPU
// reference (and ggml's F16 mat-muls) do.
kernel void attention(global const uchar* q, ulong q_off, global const uchar* k, ulong k_off,
                      global const uchar* v, ulong v_off, global const uchar* positions,
                      ulong positions_off, global const uchar* tok_seq, ulong tok_seq_off,
                      global const uchar* tables, ulong tables_off, global uchar* out,
                      ulong out_off, global float* scores, long score_stride, int table_width,
                      int block_size, int n_head_kv, int head_dim, ulong k_row_bytes,
                      ulong v_row_bytes, float scale, int f16, local float* qh,
                      local acc_t* red) {
  const int h = get_group_id(0), t = get_group_id(1), n_head = get_num_groups(0);
  const int lid = get_local_id(0), ls = get_local_size(0);
  const int n_kv = CAT(int, positions, positions_off)[t] + 1;
  global const int* table =
      CAT(int, tables, tables_off) + (long)CAT(int, tok_seq, tok_seq_off)[t] * table_width;
  const int kvh = h / (n_head / n_head_kv);
  const long head = (long)t * n_head + h;
  global const float* qg = CAT(float, q, q_off) + head * head_dim;  // [head_dim]
  global float* sc = scores + head * score_stride;                  // [n_kv]
  const ulong kv_col = (ulong)kvh * head_dim * (f16 ? 2 : 4);

  for (int d = lid; d < head_dim; d += ls) qh[d] = f16 ? round_to_f16(qg[d]) : qg[d];
  barrier(CLK_LOCAL_MEM_FENCE);

  float mx = -INFINITY;
  for (int p = lid; p < n_kv; p += ls) {
    const long row = (long)table[p / block_size] * block_size + p % block_size;
    global const uchar* kr = CAT(uchar, k, k_off) + row * k_row_bytes + kv_col;
    float dot = 0.0f;
    for (int d = 0; d < head_dim; ++d) dot += qh[d] * load_kv(kr, d, f16);
    sc[p] = dot;
    mx = fmax(mx, dot * scale);
  }
  mx = reduce_max(red, mx);
  for (int p = lid; p < n_kv; p += ls) sc[p] = exp_ref(sc[p] * scale - mx);
  barrier(CLK_GLOBAL_MEM_FENCE);
  // One item sums in position order, as the CPU reference, so the normalizer matches to the bit.
  if (lid == 0) {
    acc_t sum = 0;
    for (int p = 0; p < n_kv; ++p) sum += sc[p];
    red[0] = sum;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  const float inv = (float)(1.0 / red[0]);
  for (int p = lid; p < n_kv; p += ls) sc[p] = f16 ? round_to_f16(sc[p] * inv) : sc[p] * inv;
  barrier(CLK_GLOBAL_MEM_FENCE);

  global float* o = AT(float, out, out_off) + head * head_dim;  // [head_dim]
  for (int d = lid; d < head_dim; d += ls) {
    float acc = 0.0f;
    for (int p = 0; p < n_kv; ++p) {
      const long row = (long)table[p / block_size] * block_size + p % block_size;
      acc += sc[p] * load_kv(CAT(uchar, v, v_off) + row * v_row_bytes + kv_col, d, f16);
    }
    o[d] = acc;
  }
}
