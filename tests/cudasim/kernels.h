/* kernels.h: the host entry points of the hand-written .cu files in tests/cudasim, in the
 * form aotc emits for CUDA (sizes, device pointers, workspace, stream; 0 or a CUDA error
 * code). The harness (main.cu) calls them on the simulator and, in tests/gpu, on a GPU. */
#ifndef CUDASIM_KERNELS_H
#define CUDASIM_KERNELS_H

#include "aotc_cuda.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* matmul.cu: C(M, N) = A(M, K) B(K, N), 16x16 shared-memory tiles, one output per thread. */
int matmul(int64_t M, int64_t K, int64_t N, const float *A, const float *B, float *C,
           void *workspace, cudaStream_t stream);
size_t matmul_workspace_bytes(int64_t M, int64_t K, int64_t N);
/* matmul.cu: the same with 32x32x16 tiles and a 4x2 register tile per thread. */
int matmul_reg(int64_t M, int64_t K, int64_t N, const float *A, const float *B, float *C,
               void *workspace, cudaStream_t stream);
size_t matmul_reg_workspace_bytes(int64_t M, int64_t K, int64_t N);

/* reduce.cu: Y(0) = sum of X(N): per-block shared-memory trees, then one block over them. */
int reduce_sum(int64_t N, const float *X, float *Y, void *workspace, cudaStream_t stream);
size_t reduce_sum_workspace_bytes(int64_t N);
/* reduce.cu: Y(r, c) = softmax over c of X(r, c); one block per row, two block reductions
 * (warp shuffles, then a shared buffer). */
int softmax(int64_t R, int64_t C, const float *X, float *Y, void *workspace,
            cudaStream_t stream);
size_t softmax_workspace_bytes(int64_t R, int64_t C);

/* elementwise.cu: Y(n, c) = f(X(n, c) + bias(c)), a grid-stride loop over N * C. */
int bias_act(int64_t N, int64_t C, const float *X, const float *bias, float *Y,
             void *workspace, cudaStream_t stream);
size_t bias_act_workspace_bytes(int64_t N, int64_t C);
/* elementwise.cu: Y = X with each slice of B elements reversed, through dynamic shared memory
 * (the last slice is padded with zeros before reversing). */
int block_reverse(int64_t N, int64_t B, const float *X, float *Y, void *workspace,
                  cudaStream_t stream);

/* bugs.cu: kernels with one bug each, for the simulator's catch-a-bug tests. */
int bug_shared_oob(int64_t N, const float *X, float *Y, cudaStream_t stream);
int bug_divergent_barrier(int64_t N, const float *X, float *Y, cudaStream_t stream);
int bug_exit_before_barrier(int64_t N, const float *X, float *Y, cudaStream_t stream);
int bug_two_barriers(int64_t N, const float *X, float *Y, cudaStream_t stream);
int bug_partial_warp_shuffle(int64_t N, const float *X, float *Y, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* CUDASIM_KERNELS_H */
