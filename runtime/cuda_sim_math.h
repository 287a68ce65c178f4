/* cuda_sim_math.h: the CUDA device math functions and atomics that <math.h> lacks, for the
 * CPU simulator (included by cuda_sim.h, C++ only). The fast intrinsics (__expf, __fdividef,
 * ...) are the accurate functions here: the simulator checks ordering and synchronisation,
 * not the last bits of the GPU's approximations. Atomics are real atomics, so they are also
 * correct in the simulator's pthreads mode. */
#ifndef AOTC_CUDA_SIM_MATH_H
#define AOTC_CUDA_SIM_MATH_H

static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
/* glibc declares these names itself (its internal aliases): macros, not functions. */
#define __expf(x) expf(x)
#define __logf(x) logf(x)
#define __log2f(x) log2f(x)
#define __log10f(x) log10f(x)
#define __sinf(x) sinf(x)
#define __cosf(x) cosf(x)
#define __tanf(x) tanf(x)
#define __powf(x, y) powf(x, y)
static inline float __fdividef(float x, float y) { return x / y; }
static inline float fdividef(float x, float y) { return x / y; }
static inline float __frcp_rn(float x) { return 1.0f / x; }
static inline float __fsqrt_rn(float x) { return sqrtf(x); }
static inline float __fmaf_rn(float x, float y, float z) { return fmaf(x, y, z); }
static inline float __fadd_rn(float x, float y) { return x + y; }
static inline float __fmul_rn(float x, float y) { return x * y; }
static inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : x > 0.0f ? x : 0.0f; }

static inline int __float_as_int(float x) { int i; memcpy(&i, &x, sizeof i); return i; }
static inline float __int_as_float(int i) { float x; memcpy(&x, &i, sizeof x); return x; }
static inline unsigned __float_as_uint(float x) { unsigned i; memcpy(&i, &x, sizeof i); return i; }
static inline float __uint_as_float(unsigned i) { float x; memcpy(&x, &i, sizeof x); return x; }

static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
static inline int __ffs(int x) { return __builtin_ffs(x); }

static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
static inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }
static inline long long max(long long a, long long b) { return a > b ? a : b; }
static inline long min(long a, long b) { return a < b ? a : b; }
static inline long max(long a, long b) { return a > b ? a : b; }
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline double min(double a, double b) { return fmin(a, b); }
static inline double max(double a, double b) { return fmax(a, b); }

template <typename T> static inline T __ldg(const T *p) { return *p; }

/* Integer atomics: the builtin read-modify-write, sequentially consistent. */
template <typename T> static inline T aotc_sim_atomic_add_int(T *p, T v) {
  return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
static inline int atomicAdd(int *p, int v) { return aotc_sim_atomic_add_int(p, v); }
static inline unsigned atomicAdd(unsigned *p, unsigned v) { return aotc_sim_atomic_add_int(p, v); }
static inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v) {
  return aotc_sim_atomic_add_int(p, v);
}

/* Floating atomics: a compare-and-swap loop on the value's bits. */
template <typename T, typename F> static inline T aotc_sim_atomic_update(T *p, F update) {
  T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  while (!__atomic_compare_exchange_n(p, &old, update(old), false, __ATOMIC_SEQ_CST,
                                      __ATOMIC_SEQ_CST)) {
  }
  return old;
}
static inline float atomicAdd(float *p, float v) {
  unsigned old = aotc_sim_atomic_update(reinterpret_cast<unsigned *>(p), [v](unsigned bits) {
    return __float_as_uint(__uint_as_float(bits) + v);
  });
  return __uint_as_float(old);
}
static inline double atomicAdd(double *p, double v) {
  unsigned long long old = aotc_sim_atomic_update(
      reinterpret_cast<unsigned long long *>(p), [v](unsigned long long bits) {
        double d;
        memcpy(&d, &bits, sizeof d);
        d += v;
        memcpy(&bits, &d, sizeof d);
        return bits;
      });
  double r;
  memcpy(&r, &old, sizeof r);
  return r;
}
static inline int atomicMax(int *p, int v) {
  return aotc_sim_atomic_update(p, [v](int o) { return o > v ? o : v; });
}
static inline int atomicMin(int *p, int v) {
  return aotc_sim_atomic_update(p, [v](int o) { return o < v ? o : v; });
}
static inline int atomicExch(int *p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
static inline float atomicExch(float *p, float v) {
  return __uint_as_float(__atomic_exchange_n(reinterpret_cast<unsigned *>(p), __float_as_uint(v),
                                             __ATOMIC_SEQ_CST));
}
static inline int atomicCAS(int *p, int expected, int desired) {
  __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return expected;
}

#endif /* AOTC_CUDA_SIM_MATH_H */
