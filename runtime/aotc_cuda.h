/* aotc_cuda.h: the runtime header every .cu that aotc emits includes. It chooses the CUDA
 * runtime (under nvcc, or a C/C++ host file linked with cudart) or the CPU simulator
 * (compiled with -DAOTC_CUDA_SIM, see cuda_sim.h and docs/cuda-sim.md), and gives emitted
 * code the few spellings that must differ between the two, plus helpers that return every
 * CUDA error as a code (never exit) and time work on a stream with events.
 *
 *   AOTC_LAUNCH(kernel, grid, block, shmem, stream, args...)  a launch; its value is the
 *       launch's cudaError_t (cudaGetLastError() right after it)
 *   AOTC_DYNAMIC_SHARED(type, name)   declares the block's dynamic shared memory as type *name
 *   AOTC_UNROLL(n)                    #pragma unroll n, for nvcc and for g++
 *   AOTC_CUDA_TRY(expr)               returns (int)expr from the enclosing function on error
 *   aotc_cuda_grid_dim(n, cap)        a grid dimension of n blocks, clamped to [1, cap]
 */
#ifndef AOTC_CUDA_H
#define AOTC_CUDA_H

#if defined(AOTC_CUDA_SIM) && defined(__CUDACC__)
#error "AOTC_CUDA_SIM is for compiling .cu files with g++, not nvcc"
#endif

#ifdef AOTC_CUDA_SIM
#include "cuda_sim.h"
#else
#include <cuda_runtime.h>
#endif

#include <stddef.h>
#include <stdio.h>

#define AOTC_PRAGMA_(text) _Pragma(#text)

#if defined(__CUDACC__)
#define AOTC_LAUNCH(kernel, grid, block, shmem, stream, ...)                                  \
  ((kernel)<<<(grid), (block), (shmem), (stream)>>>(__VA_ARGS__), cudaGetLastError())
#define AOTC_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#define AOTC_UNROLL(n) AOTC_PRAGMA_(unroll n)
#elif defined(AOTC_CUDA_SIM) && defined(__cplusplus)
#define AOTC_LAUNCH(kernel, grid, block, shmem, stream, ...)                                  \
  (AOTC_SIM_LAUNCH(kernel, grid, block, shmem, stream, ##__VA_ARGS__), cudaGetLastError())
#define AOTC_DYNAMIC_SHARED(type, name) type *name = (type *)aotc_sim_dynamic_shared()
#define AOTC_UNROLL(n) AOTC_PRAGMA_(GCC unroll n)
#endif

#define AOTC_CUDA_TRY(expr)                                                                   \
  do {                                                                                        \
    cudaError_t aotc_cuda_err_ = (expr);                                                      \
    if (aotc_cuda_err_ != cudaSuccess)                                                        \
      return (int)aotc_cuda_err_;                                                             \
  } while (0)

/* A grid dimension for n tiles: at least one block (an empty launch is an invalid
 * configuration; emitted kernels loop over their tiles, so a block with none does
 * nothing), at most cap (the hardware's limit, or the grid= option). */
static inline unsigned int aotc_cuda_grid_dim(long long n, long long cap) {
  return (unsigned int)(n < 1 ? 1 : n > cap ? cap : n);
}

/* "cudaErrorX: text" for a code returned by emitted code (0 prints "cudaSuccess: ..."). */
static inline const char *aotc_cuda_error_name(int code) {
  return cudaGetErrorName((cudaError_t)code);
}
static inline const char *aotc_cuda_error_string(int code) {
  return cudaGetErrorString((cudaError_t)code);
}
static inline void aotc_cuda_print_error(FILE *out, const char *what, int code) {
  fprintf(out, "%s: %s: %s\n", what, aotc_cuda_error_name(code), aotc_cuda_error_string(code));
}

/* ------------------------------------------------------------------ streams */

static inline int aotc_cuda_stream_create(cudaStream_t *stream) {
  return (int)cudaStreamCreateWithFlags(stream, cudaStreamNonBlocking);
}
static inline int aotc_cuda_stream_destroy(cudaStream_t stream) {
  return stream ? (int)cudaStreamDestroy(stream) : 0;
}
static inline int aotc_cuda_stream_sync(cudaStream_t stream) {
  return (int)cudaStreamSynchronize(stream);
}

/* ------------------------------------------------------------------ timing with events */

/* Two events bracketing work on one stream:
 *   aotc_cuda_timer t; aotc_cuda_timer_create(&t);
 *   aotc_cuda_timer_start(&t, s); ...launches on s...; aotc_cuda_timer_stop(&t, s, &ms);
 *   aotc_cuda_timer_destroy(&t); */
typedef struct aotc_cuda_timer {
  cudaEvent_t start, stop;
} aotc_cuda_timer;

static inline int aotc_cuda_timer_create(aotc_cuda_timer *t) {
  cudaError_t e;
  t->start = t->stop = NULL;
  e = cudaEventCreate(&t->start);
  if (e == cudaSuccess)
    e = cudaEventCreate(&t->stop);
  return (int)e;
}

static inline void aotc_cuda_timer_destroy(aotc_cuda_timer *t) {
  if (t->start)
    cudaEventDestroy(t->start);
  if (t->stop)
    cudaEventDestroy(t->stop);
  t->start = t->stop = NULL;
}

static inline int aotc_cuda_timer_start(aotc_cuda_timer *t, cudaStream_t stream) {
  return (int)cudaEventRecord(t->start, stream);
}

/* Records the stop event, waits for it and stores the milliseconds between the two. */
static inline int aotc_cuda_timer_stop(aotc_cuda_timer *t, cudaStream_t stream, float *ms) {
  cudaError_t e = cudaEventRecord(t->stop, stream);
  if (e == cudaSuccess)
    e = cudaEventSynchronize(t->stop);
  if (e == cudaSuccess)
    e = cudaEventElapsedTime(ms, t->start, t->stop);
  return (int)e;
}

/* ------------------------------------------------------------------ the device */

/* What the tuning cache keys on: device name, SM version, runtime and driver versions. */
typedef struct aotc_cuda_device_info {
  char name[256];
  int sm_major, sm_minor;
  int runtime_version, driver_version;
  size_t shared_per_block, shared_per_block_optin;
  int multiprocessors;
} aotc_cuda_device_info;

static inline int aotc_cuda_device_info_get(int device, aotc_cuda_device_info *info) {
  cudaDeviceProp p;
  cudaError_t e = cudaGetDeviceProperties(&p, device);
  if (e == cudaSuccess)
    e = cudaRuntimeGetVersion(&info->runtime_version);
  if (e == cudaSuccess)
    e = cudaDriverGetVersion(&info->driver_version);
  if (e != cudaSuccess)
    return (int)e;
  snprintf(info->name, sizeof info->name, "%s", p.name);
  info->sm_major = p.major;
  info->sm_minor = p.minor;
  info->shared_per_block = p.sharedMemPerBlock;
  info->shared_per_block_optin = p.sharedMemPerBlockOptin;
  info->multiprocessors = p.multiProcessorCount;
  return 0;
}

#endif /* AOTC_CUDA_H */
