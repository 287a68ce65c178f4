/* reduce.cu: reductions across the threads of a block through a tree in shared memory, as
 * aotc maps a reduction that the schedule spreads over threads: a sum of N elements (per-block
 * partial sums in the workspace, then one block over them) and a row softmax (one block per
 * row, a max and a sum reduction through warp shuffles and one shared buffer). N and C need not be multiples
 * of the block. */
#include "kernels.h"

#include <math.h>

#define RB 256
#define MAX_PARTIALS 64

__global__ void __launch_bounds__(RB)
    sum_kernel(int64_t N, const float *__restrict__ X, float *__restrict__ partial) {
  __shared__ float buf[RB];
  unsigned t = threadIdx.x;
  float s = 0.0f;
  for (int64_t i = (int64_t)blockIdx.x * RB + t; i < N; i += (int64_t)RB * gridDim.x)
    s += X[i];
  buf[t] = s;
  __syncthreads();
  for (unsigned w = RB / 2; w > 0; w >>= 1) {
    if (t < w)
      buf[t] += buf[t + w];
    __syncthreads();
  }
  if (t == 0)
    partial[blockIdx.x] = buf[0];
}

static int64_t sum_blocks(int64_t N) {
  int64_t b = (N + RB - 1) / RB;
  return b < 1 ? 1 : b > MAX_PARTIALS ? MAX_PARTIALS : b;
}

extern "C" size_t reduce_sum_workspace_bytes(int64_t N) {
  return (size_t)sum_blocks(N) * sizeof(float);
}

extern "C" int reduce_sum(int64_t N, const float *X, float *Y, void *workspace,
                          cudaStream_t stream) {
  int64_t blocks = sum_blocks(N);
  float *partial = (float *)workspace;
  if (N < 0 || !workspace)
    return (int)cudaErrorInvalidValue;
  AOTC_CUDA_TRY(AOTC_LAUNCH(sum_kernel, dim3((unsigned)blocks), dim3(RB), 0, stream, N, X,
                            partial));
  return (int)AOTC_LAUNCH(sum_kernel, dim3(1), dim3(RB), 0, stream, blocks, partial, Y);
}

#define SB 128

/* The maximum (is_max) or the sum of v over the block; every thread gets the result. Each
 * warp folds its 32 values with shuffles (a fixed tree: lane i takes lane i + 16, ...), lane 0
 * leaves the warp's result in red[], and every thread folds the SB / 32 of them in order. The
 * last barrier lets the next call overwrite red[] once everyone has read it. */
__device__ float block_reduce(float *red, float v, bool is_max) {
  unsigned t = threadIdx.x;
  for (int o = warpSize / 2; o > 0; o /= 2) {
    float w = __shfl_down_sync(0xffffffffu, v, o);
    v = is_max ? fmaxf(v, w) : v + w;
  }
  if (t % warpSize == 0)
    red[t / warpSize] = v;
  __syncthreads();
  float r = red[0];
  for (int i = 1; i < SB / 32; i++)
    r = is_max ? fmaxf(r, red[i]) : r + red[i];
  __syncthreads();
  return r;
}

__global__ void __launch_bounds__(SB)
    softmax_kernel(int64_t C, const float *__restrict__ X, float *__restrict__ Y) {
  __shared__ float red[SB / 32];
  const float *x = X + (int64_t)blockIdx.x * C;
  float *y = Y + (int64_t)blockIdx.x * C;
  float m = -INFINITY, s = 0.0f;
  for (int64_t j = threadIdx.x; j < C; j += SB)
    m = fmaxf(m, x[j]);
  m = block_reduce(red, m, true);
  for (int64_t j = threadIdx.x; j < C; j += SB)
    s += __expf(x[j] - m);
  s = block_reduce(red, s, false);
  for (int64_t j = threadIdx.x; j < C; j += SB)
    y[j] = __expf(x[j] - m) / s;
}

extern "C" size_t softmax_workspace_bytes(int64_t R, int64_t C) {
  (void)R, (void)C;
  return 0;
}

extern "C" int softmax(int64_t R, int64_t C, const float *X, float *Y, void *workspace,
                       cudaStream_t stream) {
  (void)workspace;
  if (R < 0 || C < 0 || R > 0x7fffffff)
    return (int)cudaErrorInvalidValue;
  if (R == 0 || C == 0)
    return 0;
  return (int)AOTC_LAUNCH(softmax_kernel, dim3((unsigned)R), dim3(SB), 0, stream, C, X, Y);
}
