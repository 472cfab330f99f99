// Rotary position embedding. x, y: [n_tok, n_head, head_dim] (may alias); pos: [n_tok];
// ff: [n_rot/2] or absent. Global: ((head_dim + 1) / 2, n_head, n_tok): item i < n_rot/2 rotates
// one pair, the rest copy two of the dims past n_rot.
kernel void rope_f32(global const uchar* x, ulong x_off, global const uchar* pos, ulong pos_off,
                     global const uchar* ff, ulong ff_off, int has_ff, global uchar* y,
                     ulong y_off, int head_dim, int n_rot, int neox, float theta_scale,
                     float freq_scale) {
  const int i = get_global_id(0), h = get_global_id(1), t = get_global_id(2);
  const long base = ((long)t * get_global_size(1) + h) * head_dim;
  global const float* xh = CAT(float, x, x_off) + base;  // [head_dim]
  global float* yh = AT(float, y, y_off) + base;         // [head_dim]
  const int half_rot = n_rot / 2;
  if (i >= half_rot) {
    const int d = n_rot + 2 * (i - half_rot);
    if (d < head_dim) yh[d] = xh[d];
    if (d + 1 < head_dim) yh[d + 1] = xh[d + 1];
    return;
  }
  // The angle by repeated multiplication, as the CPU reference and ggml's rope cache build it.
  float theta = (float)CAT(int, pos, pos_off)[t];
  for (int k = 0; k < i; ++k) theta *= theta_scale;
  const float f = has_ff ? CAT(float, ff, ff_off)[i] : 1.0f;
  const float angle = freq_scale * (theta / f);
  const float c = cos_ref(angle), s = sin_ref(angle);
  const int a = neox ? i : 2 * i;
  const int b = neox ? i + half_rot : 2 * i + 1;
  const float x0 = xh[a], x1 = xh[b];
  yh[a] = fma(x0, c, -(x1 * s));
  yh[b] = fma(x0, s, x1 * c);
}
