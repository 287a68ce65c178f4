/* cuda_sim.h: the CPU simulator's view of CUDA. With it, a .cu file written for nvcc
 * compiles as C++17 with g++ (-DAOTC_CUDA_SIM, usually through aotc_cuda.h) and runs on
 * the CPU: each block's threads run as fibers (or as OS threads under ThreadSanitizer),
 * __syncthreads() is a switch point checked for divergence, warp shuffles and __syncwarp()
 * are switch points of the lanes of a warp, __shared__ memory is filled
 * with NaN before each block. The implementation is runtime/cuda_sim.cc; how it works and
 * how emitted code must be spelled is in docs/cuda-sim.md.
 *
 * The part above the C++ section is plain C, so a C host program can allocate, copy and
 * call the extern "C" entry functions of a .cu compiled for the simulator. */
#ifndef AOTC_CUDA_SIM_H
#define AOTC_CUDA_SIM_H

#if defined(__CUDACC__)
#error "cuda_sim.h is for g++; under nvcc include aotc_cuda.h without -DAOTC_CUDA_SIM"
#endif

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef AOTC_CUDA_SIM
#define AOTC_CUDA_SIM 1
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ types and codes */

/* Error codes: the values of the real runtime, so a code prints the same either way. */
typedef enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidSymbol = 13,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
  cudaErrorUnknown = 999
} cudaError_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
  cudaFuncAttributePreferredSharedMemoryCarveout = 9
};

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02

typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;

/* The fields of cudaDeviceProp that aotc reads; the simulator describes an sm_90-like part. */
typedef struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  size_t sharedMemPerBlockOptin;
  int regsPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int major;
  int minor;
  int multiProcessorCount;
} cudaDeviceProp;

#ifdef __cplusplus
struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
      : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
#else
typedef struct uint3 { unsigned int x, y, z; } uint3;
typedef struct dim3 { unsigned int x, y, z; } dim3;
#endif

typedef struct float2 { float x, y; } float2;
typedef struct __attribute__((aligned(16))) float4 { float x, y, z, w; } float4;
typedef struct int2 { int x, y; } int2;
typedef struct __attribute__((aligned(16))) int4 { int x, y, z, w; } int4;

/* ------------------------------------------------------------------ runtime API (C linkage) */

cudaError_t cudaMalloc(void **ptr, size_t bytes);
cudaError_t cudaFree(void *ptr);
cudaError_t cudaMallocHost(void **ptr, size_t bytes);
cudaError_t cudaFreeHost(void *ptr);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind,
                            cudaStream_t stream);
cudaError_t cudaMemset(void *ptr, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void *ptr, int value, size_t bytes, cudaStream_t stream);
cudaError_t cudaStreamCreate(cudaStream_t *stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaEventCreate(cudaEvent_t *event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaDeviceReset(void);
cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device);
cudaError_t cudaRuntimeGetVersion(int *version);
cudaError_t cudaDriverGetVersion(int *version);
const char *cudaGetErrorString(cudaError_t error);
const char *cudaGetErrorName(cudaError_t error);

/* ------------------------------------------------------------------ simulator controls */

/* The order in which a block's threads run between two barriers (and blocks in a grid). */
typedef enum aotc_sim_order {
  AOTC_SIM_FORWARD, /* thread 0, 1, 2, ... */
  AOTC_SIM_REVERSE, /* the last thread first */
  AOTC_SIM_RANDOM   /* a fresh seeded shuffle at every barrier */
} aotc_sim_order;

typedef enum aotc_sim_mode {
  AOTC_SIM_FIBERS,  /* one OS thread; threads are ucontext fibers, run in the chosen order */
  AOTC_SIM_PTHREADS /* one OS thread per CUDA thread of a block (for ThreadSanitizer) */
} aotc_sim_mode;

/* Overrides AOTC_SIM_ORDER / AOTC_SIM_SEED / AOTC_SIM_MODE from the environment. */
void aotc_sim_set_order(aotc_sim_order order, uint64_t seed);
void aotc_sim_set_mode(aotc_sim_mode mode);
aotc_sim_order aotc_sim_get_order(void);
aotc_sim_mode aotc_sim_get_mode(void);

/* Called by the __syncthreads() macro with its source position. */
void aotc_sim_syncthreads(const char *file, int line);
/* Warp collectives: a warp switch point that every lane named in the mask must reach at the
 * same call (like a barrier for those lanes of the warp), each lane then receiving the value of
 * the lane its operation names (none for __syncwarp). */
typedef enum aotc_sim_warp_op {
  AOTC_SIM_SYNCWARP,  /* __syncwarp(mask) */
  AOTC_SIM_SHFL_IDX,  /* __shfl_sync(mask, v, lane, width) */
  AOTC_SIM_SHFL_UP,   /* __shfl_up_sync(mask, v, delta, width) */
  AOTC_SIM_SHFL_DOWN, /* __shfl_down_sync(mask, v, delta, width) */
  AOTC_SIM_SHFL_XOR,  /* __shfl_xor_sync(mask, v, lane_mask, width) */
  AOTC_SIM_WARP_OP_COUNT
} aotc_sim_warp_op;

/* Called by the warp collectives with their source position: this lane's value (its bytes,
 * zero-extended) in, the named lane's out. */
uint64_t aotc_sim_warp(const char *file, int line, aotc_sim_warp_op op, unsigned mask, uint64_t value,
                       int arg, int width);
/* The current block's dynamic shared memory (the launch's shmem bytes, NaN-filled). */
void *aotc_sim_dynamic_shared(void);
/* A memory fence for __threadfence(): a real one in pthreads mode. */
void aotc_sim_fence(void);

#ifdef __cplusplus
}
#endif

/* ------------------------------------------------------------------ C++: device code */
#ifdef __cplusplus
#include <tuple>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
/* Every __shared__ variable lives in the section aotc_shared: the simulator finds it there
 * and fills it with 0xff bytes (NaN) before each block. `static` makes it one per program,
 * which is one per block because blocks run one at a time. */
#define __shared__ [[gnu::section("aotc_shared")]] static
#define __syncthreads() aotc_sim_barrier(__FILE__, __LINE__)
#define __threadfence() aotc_sim_fence()
#define __threadfence_block() aotc_sim_fence()

extern __thread uint3 threadIdx;
extern __thread uint3 blockIdx;
extern __thread uint3 blockDim;
extern __thread uint3 gridDim;
constexpr int warpSize = 32;

/* The call is opaque to the compiler; the clobber also stops it from keeping shared values
 * of non-escaping statics in registers across the barrier. */
static inline void aotc_sim_barrier(const char *file, int line) {
  aotc_sim_syncthreads(file, line);
  __asm__ __volatile__("" ::: "memory");
}

/* A shuffle of any value of at most 8 bytes (float, double, int, ...), by its bytes. */
template <typename T>
static inline T aotc_sim_shfl(const char *file, int line, aotc_sim_warp_op op, unsigned mask, T var,
                              int arg, int width = warpSize) {
  static_assert(sizeof(T) <= sizeof(uint64_t), "a shuffled value has at most 8 bytes");
  uint64_t bits = 0;
  memcpy(&bits, &var, sizeof(T));
  bits = aotc_sim_warp(file, line, op, mask, bits, arg, width);
  memcpy(&var, &bits, sizeof(T));
  return var;
}
#define __shfl_sync(mask, var, lane, ...)                                                      \
  aotc_sim_shfl(__FILE__, __LINE__, AOTC_SIM_SHFL_IDX, mask, var, lane, ##__VA_ARGS__)
#define __shfl_up_sync(mask, var, delta, ...)                                                  \
  aotc_sim_shfl(__FILE__, __LINE__, AOTC_SIM_SHFL_UP, mask, var, delta, ##__VA_ARGS__)
#define __shfl_down_sync(mask, var, delta, ...)                                                \
  aotc_sim_shfl(__FILE__, __LINE__, AOTC_SIM_SHFL_DOWN, mask, var, delta, ##__VA_ARGS__)
#define __shfl_xor_sync(mask, var, lane_mask, ...)                                             \
  aotc_sim_shfl(__FILE__, __LINE__, AOTC_SIM_SHFL_XOR, mask, var, lane_mask, ##__VA_ARGS__)
#define __syncwarp(...) aotc_sim_syncwarp(__FILE__, __LINE__, ##__VA_ARGS__)
static inline void aotc_sim_syncwarp(const char *file, int line, unsigned mask = 0xffffffffu) {
  aotc_sim_warp(file, line, AOTC_SIM_SYNCWARP, mask, 0, 0, warpSize);
  __asm__ __volatile__("" ::: "memory");
}

template <typename T> static inline cudaError_t cudaMalloc(T **ptr, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void **>(ptr), bytes);
}
template <typename T> static inline cudaError_t cudaMallocHost(T **ptr, size_t bytes) {
  return cudaMallocHost(reinterpret_cast<void **>(ptr), bytes);
}
template <typename T>
static inline cudaError_t cudaMemcpyToSymbol(T &symbol, const void *src, size_t bytes,
                                             size_t offset = 0,
                                             cudaMemcpyKind kind = cudaMemcpyHostToDevice) {
  if (offset + bytes > sizeof(T) || kind != cudaMemcpyHostToDevice)
    return cudaErrorInvalidValue;
  memcpy(reinterpret_cast<char *>(&symbol) + offset, src, bytes);
  return cudaSuccess;
}
extern "C" cudaError_t aotc_sim_func_set_attribute(const void *kernel, cudaFuncAttribute attr,
                                                  int value);
template <typename T>
static inline cudaError_t cudaFuncSetAttribute(T *kernel, cudaFuncAttribute attr, int value) {
  return aotc_sim_func_set_attribute(reinterpret_cast<const void *>(kernel), attr, value);
}

static inline float2 make_float2(float x, float y) { return float2{x, y}; }
static inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
static inline int2 make_int2(int x, int y) { return int2{x, y}; }
static inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }

#include "cuda_sim_math.h"

/* ------------------------------------------------------------------ C++: launches */

/* Where a launch is written, for error messages. */
typedef struct aotc_sim_site {
  const char *kernel;
  const char *file;
  int line;
} aotc_sim_site;

extern "C" void aotc_sim_launch_body(const aotc_sim_site *site, const void *kernel, dim3 grid,
                                     dim3 block, size_t shmem, cudaStream_t stream,
                                     void (*body)(void *), void *frame);

/* A kernel argument converts to its parameter as in a <<<>>> launch: implicitly. */
template <typename P> static inline P aotc_sim_arg(P value) { return value; }

/* Copies the arguments once; every simulated thread calls the kernel with its own copy of
 * the parameters, as on the GPU. */
template <typename... P, typename... A>
static inline void aotc_sim_launch(const aotc_sim_site &site, void (*kernel)(P...), dim3 grid,
                                   dim3 block, size_t shmem, cudaStream_t stream, A &&...args) {
  struct frame {
    void (*kernel)(P...);
    std::tuple<P...> args;
  } f{kernel, std::tuple<P...>(aotc_sim_arg<P>(std::forward<A>(args))...)};
  auto body = [](void *p) {
    frame *fr = static_cast<frame *>(p);
    std::apply(fr->kernel, fr->args);
  };
  aotc_sim_launch_body(&site, reinterpret_cast<const void *>(kernel), grid, block, shmem, stream,
                       body, &f);
}

#define AOTC_SIM_LAUNCH(kernel, grid, block, shmem, stream, ...)                                \
  aotc_sim_launch(aotc_sim_site{#kernel, __FILE__, __LINE__}, kernel, grid, block, shmem,       \
                  stream, ##__VA_ARGS__)

#endif /* __cplusplus */
#endif /* AOTC_CUDA_SIM_H */
