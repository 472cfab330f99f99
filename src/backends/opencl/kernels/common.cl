// Shared definitions for every OpenCL kernel of the backend (concatenated first).
//
// Every tensor argument is a buffer plus a byte offset, so one cl_mem (an arena, a KV pool, a
// wrapped weight) backs many tensors without sub-buffers, whose origins would have to meet
// CL_DEVICE_MEM_BASE_ADDR_ALIGN.
// Contraction is off so a*b+c rounds twice as on the CPU reference; fma() is written out where
// the CPU kernels fuse.
#pragma OPENCL FP_CONTRACT OFF

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;  // the CPU reference sums squares and exponentials in double
#else
typedef float acc_t;
#endif

// exp, cos and sin as the CPU reference's libm gives them: glibc's float versions are correctly
// rounded in practice, which the double versions rounded once reproduce; OpenCL's float versions
// may be an ulp or more off, enough to flip an F16-rounded attention probability or a RoPE angle.
#ifdef cl_khr_fp64
inline float exp_ref(float x) {
  return (float)exp((double)x);
}
inline float cos_ref(float x) {
  return (float)cos((double)x);
}
inline float sin_ref(float x) {
  return (float)sin((double)x);
}
#else
inline float exp_ref(float x) {
  return exp(x);
}
inline float cos_ref(float x) {
  return cos(x);
}
inline float sin_ref(float x) {
  return sin(x);
}
#endif

#define AT(T, base, off) ((global T*)((global uchar*)(base) + (off)))
#define CAT(T, base, off) ((global const T*)((global const uchar*)(base) + (off)))

// DType ids (GGUF's ggml_type values, as core/dtype.h).
#define DT_F32 0
#define DT_F16 1
#define DT_Q4_0 2
#define DT_Q4_1 3
#define DT_Q8_0 8
#define DT_Q8_1 9
#define DT_BF16 30

// Quantized blocks, byte for byte as GGUF stores them; scales are fp16 bits.
typedef struct {
  ushort d;
  uchar qs[16];
} block_q4_0;
typedef struct {
  ushort d;
  ushort m;
  uchar qs[16];
} block_q4_1;
typedef struct {
  ushort d;
  char qs[32];
} block_q8_0;
typedef struct {
  ushort d;
  ushort s;
  char qs[32];
} block_q8_1;

inline float h2f(ushort h) {
  return vload_half(0, (const private half*)&h);
}

inline ushort f2h(float f) {
  ushort h;
  vstore_half_rte(f, 0, (private half*)&h);
  return h;
}

inline float round_to_f16(float f) {
  return h2f(f2h(f));
}

inline float bf2f(ushort h) {
  return as_float((uint)h << 16);
}

// Element j of a row stored as `type` (any type get_rows and matmul accept).
inline float load_elem(int type, global const uchar* row, long j) {
  switch (type) {
    case DT_F16:
      return vload_half(j, (global const half*)row);
    case DT_BF16:
      return bf2f(((global const ushort*)row)[j]);
    case DT_Q4_0: {
      global const block_q4_0* b = (global const block_q4_0*)row + j / 32;
      const int i = j % 32;
      const int q = i < 16 ? (b->qs[i] & 0x0f) : (b->qs[i - 16] >> 4);
      return (float)(q - 8) * h2f(b->d);
    }
    case DT_Q4_1: {
      global const block_q4_1* b = (global const block_q4_1*)row + j / 32;
      const int i = j % 32;
      const int q = i < 16 ? (b->qs[i] & 0x0f) : (b->qs[i - 16] >> 4);
      return (float)q * h2f(b->d) + h2f(b->m);
    }
    case DT_Q8_0: {
      global const block_q8_0* b = (global const block_q8_0*)row + j / 32;
      return (float)b->qs[j % 32] * h2f(b->d);
    }
    default:
      return ((global const float*)row)[j];
  }
}
