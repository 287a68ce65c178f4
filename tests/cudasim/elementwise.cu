/* elementwise.cu: an elementwise kernel as aotc maps one: a grid-stride loop over all
 * N * C elements (the grid is capped, so most threads take several elements and the last
 * pass is partial), with the device math functions emitted code uses. */
#include "kernels.h"

#include <math.h>

#define EB 256
#define MAX_BLOCKS 40

__global__ void __launch_bounds__(EB)
    bias_act_kernel(int64_t N, int64_t C, const float *__restrict__ X,
                    const float *__restrict__ bias, float *__restrict__ Y) {
  int64_t total = N * C, stride = (int64_t)blockDim.x * gridDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
    float v = X[i] + __ldg(&bias[i % C]);
    Y[i] = fmaxf(v, 0.0f) * rsqrtf(1.0f + v * v) + __expf(-fabsf(v)) - fminf(v, 0.5f);
  }
}

extern "C" size_t bias_act_workspace_bytes(int64_t N, int64_t C) {
  (void)N, (void)C;
  return 0;
}

extern "C" int bias_act(int64_t N, int64_t C, const float *X, const float *bias, float *Y,
                        void *workspace, cudaStream_t stream) {
  int64_t blocks = (N * C + EB - 1) / EB;
  (void)workspace;
  if (N < 0 || C < 0)
    return (int)cudaErrorInvalidValue;
  if (N == 0 || C == 0)
    return 0;
  if (blocks > MAX_BLOCKS)
    blocks = MAX_BLOCKS;
  return (int)AOTC_LAUNCH(bias_act_kernel, dim3((unsigned)blocks), dim3(EB), 0, stream, N, C, X,
                          bias, Y);
}

/* Reverses each block's slice through dynamic shared memory (the launch's shmem bytes). */
__global__ void block_reverse_kernel(int64_t N, const float *__restrict__ X,
                                     float *__restrict__ Y) {
  AOTC_DYNAMIC_SHARED(float, buf);
  unsigned t = threadIdx.x, b = blockDim.x;
  int64_t i = (int64_t)blockIdx.x * b + t;
  buf[t] = i < N ? X[i] : 0.0f;
  __syncthreads();
  if (i < N)
    Y[i] = buf[b - 1 - t];
}

extern "C" int block_reverse(int64_t N, int64_t B, const float *X, float *Y, void *workspace,
                             cudaStream_t stream) {
  (void)workspace;
  if (N <= 0 || B <= 0 || B > 1024)
    return N == 0 ? 0 : (int)cudaErrorInvalidValue;
  return (int)AOTC_LAUNCH(block_reverse_kernel, dim3((unsigned)((N + B - 1) / B)),
                          dim3((unsigned)B), (size_t)B * sizeof(float), stream, N, X, Y);
}
