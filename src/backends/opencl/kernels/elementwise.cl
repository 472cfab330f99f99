// Element-wise kernels. Global size: the element count.

// y = a op b; b is [b_rows, n] with b_rows == rows, or 1 to broadcast one row over a [rows, n].
kernel void mul_f32(global const uchar* a, ulong a_off, global const uchar* b, ulong b_off,
                    global uchar* y, ulong y_off, long n, long b_rows) {
  const long i = get_global_id(0);
  const long bi = b_rows == 1 ? i % n : i;
  AT(float, y, y_off)[i] = CAT(float, a, a_off)[i] * CAT(float, b, b_off)[bi];
}

kernel void add_f32(global const uchar* a, ulong a_off, global const uchar* b, ulong b_off,
                    global uchar* y, ulong y_off, long n, long b_rows) {
  const long i = get_global_id(0);
  const long bi = b_rows == 1 ? i % n : i;
  AT(float, y, y_off)[i] = CAT(float, a, a_off)[i] + CAT(float, b, b_off)[bi];
}

kernel void silu_f32(global const uchar* x, ulong x_off, global uchar* y, ulong y_off) {
  const long i = get_global_id(0);
  const float v = CAT(float, x, x_off)[i];
  AT(float, y, y_off)[i] = v / (1.0f + exp_ref(-v));
}

// y = silu(gate) * up, rounded as the unfused pair.
kernel void swiglu_f32(global const uchar* g, ulong g_off, global const uchar* u, ulong u_off,
                       global uchar* y, ulong y_off) {
  const long i = get_global_id(0);
  const float v = CAT(float, g, g_off)[i];
  AT(float, y, y_off)[i] = (v / (1.0f + exp_ref(-v))) * CAT(float, u, u_off)[i];
}

// out: [n_ids, n_embd] f32 = table rows ids[i] (bounds-checked on the host). Global: (n_embd,
// n_ids).
kernel void get_rows(global const uchar* table, ulong table_off, ulong row_bytes, int type,
                     global const uchar* ids, ulong ids_off, global uchar* out, ulong out_off) {
  const long j = get_global_id(0), i = get_global_id(1), n = get_global_size(0);
  const int id = CAT(int, ids, ids_off)[i];
  global const uchar* row = CAT(uchar, table, table_off) + (ulong)id * row_bytes;
  AT(float, out, out_off)[i * n + j] = load_elem(type, row, j);
}
