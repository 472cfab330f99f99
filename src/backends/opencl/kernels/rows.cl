// Row kernels: one work-group per row, local size a power of two; red: local_size acc_t.

inline float reduce_max(local acc_t* red, float v) {
  const int lid = get_local_id(0);
  red[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
    if (lid < s) red[lid] = fmax(red[lid], red[lid + s]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float r = (float)red[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return r;
}

// y = x / sqrt(mean(x^2) + eps). x, y: [rows, n] (may alias).
kernel void rms_norm_f32(global const uchar* x, ulong x_off, global uchar* y, ulong y_off, long n,
                         float eps, local acc_t* red) {
  const long row = get_group_id(0);
  const int lid = get_local_id(0), ls = get_local_size(0);
  global const float* xr = CAT(float, x, x_off) + row * n;  // [n]
  global float* yr = AT(float, y, y_off) + row * n;         // [n]
  // One item sums in element order, as the CPU reference: the same mean to the last bit.
  if (lid == 0) {
    acc_t ss = 0;
    for (long i = 0; i < n; ++i) ss += (acc_t)(xr[i] * xr[i]);
    red[0] = ss;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  const acc_t ss = red[0];
  const float mean = (float)(ss / (acc_t)n);
  const float scale = 1.0f / sqrt(mean + eps);
  for (long i = lid; i < n; i += ls) yr[i] = xr[i] * scale;
}

// y = rms_norm(x) * w, rounded as the unfused pair. x, y: [rows, n] (may alias); w: [n].
kernel void rms_norm_mul_f32(global const uchar* x, ulong x_off, global const uchar* w,
                             ulong w_off, global uchar* y, ulong y_off, long n, float eps,
                             local acc_t* red) {
  const long row = get_group_id(0);
  const int lid = get_local_id(0), ls = get_local_size(0);
  global const float* xr = CAT(float, x, x_off) + row * n;  // [n]
  global const float* wr = CAT(float, w, w_off);            // [n]
  global float* yr = AT(float, y, y_off) + row * n;         // [n]
  if (lid == 0) {
    acc_t ss = 0;
    for (long i = 0; i < n; ++i) ss += (acc_t)(xr[i] * xr[i]);
    red[0] = ss;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  const float mean = (float)(red[0] / (acc_t)n);
  const float scale = 1.0f / sqrt(mean + eps);
  for (long i = lid; i < n; i += ls) yr[i] = (xr[i] * scale) * wr[i];
}

// y = softmax(x * scale) per row, max-subtracted. x, y: [rows, n] (may alias).
kernel void softmax_f32(global const uchar* x, ulong x_off, global uchar* y, ulong y_off, long n,
                        float scale, local acc_t* red) {
  const long row = get_group_id(0);
  const int lid = get_local_id(0), ls = get_local_size(0);
  global const float* xr = CAT(float, x, x_off) + row * n;  // [n]
  global float* yr = AT(float, y, y_off) + row * n;         // [n]
  float mx = -INFINITY;
  for (long i = lid; i < n; i += ls) mx = fmax(mx, xr[i] * scale);
  mx = reduce_max(red, mx);
  for (long i = lid; i < n; i += ls) yr[i] = exp_ref(xr[i] * scale - mx);
  barrier(CLK_GLOBAL_MEM_FENCE);
  // One item sums in element order, as the CPU reference.
  if (lid == 0) {
    acc_t sum = 0;
    for (long i = 0; i < n; ++i) sum += yr[i];
    red[0] = sum;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  const float inv = (float)(1.0 / red[0]);
  for (long i = lid; i < n; i += ls) yr[i] *= inv;
}
