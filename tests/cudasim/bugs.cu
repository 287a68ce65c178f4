/* bugs.cu: one bug per kernel, each a mistake a CUDA mapping can make, for the simulator's
 * catch-a-bug tests (tests/cudasim/run.sh). They compile cleanly with nvcc too: the bugs are
 * in what the code does, not in how it is spelled. Lines named in the expected messages are
 * marked BUG-LINE. */
#include "kernels.h"

#define B 64

/* Reads one element past the end of a shared array through a flattened pointer, as emitted
 * code addresses a promoted tile: ASan must report it (UBSan's bounds check cannot). */
__global__ void shared_oob_kernel(int64_t N, const float *X, float *Y) {
  __shared__ float t[B];
  float *tile = &t[0];
  int64_t i = (int64_t)blockIdx.x * B + threadIdx.x;
  tile[threadIdx.x] = i < N ? X[i] : 0.0f;
  __syncthreads();
  if (i < N)
    Y[i] = tile[threadIdx.x + 1]; /* BUG-LINE oob */
}

/* Half of the block waits at a barrier the other half never reaches. */
__global__ void divergent_barrier_kernel(int64_t N, const float *X, float *Y) {
  __shared__ float t[B];
  int64_t i = (int64_t)blockIdx.x * B + threadIdx.x;
  t[threadIdx.x] = i < N ? X[i] : 0.0f;
  if (threadIdx.x < B / 2)
    __syncthreads(); /* BUG-LINE divergent */
  if (i < N)
    Y[i] = t[B - 1 - threadIdx.x];
}

/* The guard for sizes not divisible by the block returns before the barrier. */
__global__ void exit_before_barrier_kernel(int64_t N, const float *X, float *Y) {
  __shared__ float t[B];
  int64_t i = (int64_t)blockIdx.x * B + threadIdx.x;
  if (i >= N)
    return;
  t[threadIdx.x] = X[i];
  __syncthreads(); /* BUG-LINE exit */
  Y[i] = t[threadIdx.x] + t[0];
}

/* Odd and even threads meet at two different barriers. */
__global__ void two_barriers_kernel(int64_t N, const float *X, float *Y) {
  __shared__ float t[B];
  int64_t i = (int64_t)blockIdx.x * B + threadIdx.x;
  t[threadIdx.x] = i < N ? X[i] : 0.0f;
  if (threadIdx.x % 2 == 0)
    __syncthreads(); /* BUG-LINE even */
  else
    __syncthreads(); /* BUG-LINE odd */
  if (i < N)
    Y[i] = t[B - 1 - threadIdx.x];
}

/* A warp sum whose shuffle only the first half of each warp reaches. */
__global__ void partial_warp_shuffle_kernel(int64_t N, const float *X, float *Y) {
  int64_t i = (int64_t)blockIdx.x * B + threadIdx.x;
  float v = i < N ? X[i] : 0.0f;
  if (threadIdx.x % 32 < 16)
    v += __shfl_down_sync(0xffffffffu, v, 8); /* BUG-LINE shuffle */
  if (i < N)
    Y[i] = v;
}

static unsigned blocks_for(int64_t N) { return (unsigned)((N + B - 1) / B); }

extern "C" int bug_shared_oob(int64_t N, const float *X, float *Y, cudaStream_t stream) {
  return (int)AOTC_LAUNCH(shared_oob_kernel, dim3(blocks_for(N)), dim3(B), 0, stream, N, X, Y);
}

extern "C" int bug_divergent_barrier(int64_t N, const float *X, float *Y, cudaStream_t stream) {
  return (int)AOTC_LAUNCH(divergent_barrier_kernel, dim3(blocks_for(N)), dim3(B), 0, stream, N,
                          X, Y);
}

extern "C" int bug_exit_before_barrier(int64_t N, const float *X, float *Y,
                                       cudaStream_t stream) {
  return (int)AOTC_LAUNCH(exit_before_barrier_kernel, dim3(blocks_for(N)), dim3(B), 0, stream,
                          N, X, Y);
}

extern "C" int bug_two_barriers(int64_t N, const float *X, float *Y, cudaStream_t stream) {
  return (int)AOTC_LAUNCH(two_barriers_kernel, dim3(blocks_for(N)), dim3(B), 0, stream, N, X,
                          Y);
}

extern "C" int bug_partial_warp_shuffle(int64_t N, const float *X, float *Y, cudaStream_t stream) {
  return (int)AOTC_LAUNCH(partial_warp_shuffle_kernel, dim3(blocks_for(N)), dim3(B), 0, stream, N,
                          X, Y);
}
