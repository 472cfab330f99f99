// Matrix multiplication as the CPU reference does it: activations are first converted to the
// weight's partner type (Q4_0, Q8_0 → Q8_0; Q4_1 → Q8_1; F16 → F16; F32 stays), then each
// output is a sum of per-block integer (or float) dot products.

// x: [rows, k] f32 → y: rows of k/32 Q8_0 blocks. Scale 127/amax, ties to even, as the CPU's
// activation quantizer. Global: (k / 32, rows).
kernel void quantize_q8_0(global const uchar* x, ulong x_off, global uchar* y, ulong y_off,
                          long k) {
  const long b = get_global_id(0), r = get_global_id(1), nb = get_global_size(0);
  global const float* xb = CAT(float, x, x_off) + r * k + b * 32;  // [32]
  global block_q8_0* yb = AT(block_q8_0, y, y_off) + r * nb + b;
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = fmax(amax, fabs(xb[j]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  for (int j = 0; j < 32; ++j) yb->qs[j] = (char)rint(xb[j] * id);
  yb->d = f2h(d);
}

// As quantize_q8_0 plus s = d * sum(qs) with the unrounded scale.
kernel void quantize_q8_1(global const uchar* x, ulong x_off, global uchar* y, ulong y_off,
                          long k) {
  const long b = get_global_id(0), r = get_global_id(1), nb = get_global_size(0);
  global const float* xb = CAT(float, x, x_off) + r * k + b * 32;  // [32]
  global block_q8_1* yb = AT(block_q8_1, y, y_off) + r * nb + b;
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = fmax(amax, fabs(xb[j]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  int sum = 0;
  for (int j = 0; j < 32; ++j) {
    const char q = (char)rint(xb[j] * id);
    yb->qs[j] = q;
    sum += q;
  }
  yb->d = f2h(d);
  yb->s = f2h((float)sum * d);
}

// x: [n] f32 → y: [n] fp16 bits, round to nearest even. Global: (n).
kernel void convert_f16(global const uchar* x, ulong x_off, global uchar* y, ulong y_off) {
  const long i = get_global_id(0);
  vstore_half_rte(CAT(float, x, x_off)[i], i, AT(half, y, y_off));
}

inline float dot_q4_0(global const block_q4_0* w, global const block_q8_0* x, long nb) {
  float sum = 0.0f;
  for (long b = 0; b < nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += ((w[b].qs[j] & 0x0f) - 8) * x[b].qs[j];
      sumi += ((w[b].qs[j] >> 4) - 8) * x[b].qs[j + 16];
    }
    sum += (float)sumi * (h2f(w[b].d) * h2f(x[b].d));
  }
  return sum;
}

inline float dot_q4_1(global const block_q4_1* w, global const block_q8_1* x, long nb) {
  float sum = 0.0f;
  for (long b = 0; b < nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += (w[b].qs[j] & 0x0f) * x[b].qs[j];
      sumi += (w[b].qs[j] >> 4) * x[b].qs[j + 16];
    }
    sum += (float)sumi * (h2f(w[b].d) * h2f(x[b].d)) + h2f(w[b].m) * h2f(x[b].s);
  }
  return sum;
}

inline float dot_q8_0(global const block_q8_0* w, global const block_q8_0* x, long nb) {
  float sum = 0.0f;
  for (long b = 0; b < nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += w[b].qs[j] * x[b].qs[j];
    sum += (float)sumi * (h2f(w[b].d) * h2f(x[b].d));
  }
  return sum;
}

// y[t][r] = w[r] · xq[t]. w: [n_out, k] in wtype, rows w_row_bytes apart; xq: [n_tok, k] in the
// partner type, rows xq_row_bytes apart; y: [n_tok, n_out] f32. Global: (n_out, n_tok).
kernel void matmul(global const uchar* w, ulong w_off, ulong w_row_bytes, int wtype,
                   global const uchar* xq, ulong xq_off, ulong xq_row_bytes, global uchar* y,
                   ulong y_off, long k) {
  const long r = get_global_id(0), t = get_global_id(1), n_out = get_global_size(0);
  global const uchar* wr = CAT(uchar, w, w_off) + r * w_row_bytes;
  global const uchar* xr = CAT(uchar, xq, xq_off) + t * xq_row_bytes;
  float acc = 0.0f;
  switch (wtype) {
    case DT_Q4_0:
      acc = dot_q4_0((global const block_q4_0*)wr, (global const block_q8_0*)xr, k / 32);
      break;
    case DT_Q4_1:
      acc = dot_q4_1((global const block_q4_1*)wr, (global const block_q8_1*)xr, k / 32);
      break;
    case DT_Q8_0:
      acc = dot_q8_0((global const block_q8_0*)wr, (global const block_q8_0*)xr, k / 32);
      break;
    case DT_F16:
      for (long i = 0; i < k; ++i) {
        acc += vload_half(i, (global const half*)wr) * vload_half(i, (global const half*)xr);
      }
      break;
    default:
      for (long i = 0; i < k; ++i) acc += ((global const float*)wr)[i] * ((global const float*)xr)[i];
      break;
  }
  AT(float, y, y_off)[t * n_out + r] = acc;
}
