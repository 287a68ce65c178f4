/* matmul.cu: C(M, N) = A(M, K) B(K, N) as aotc maps a contraction to CUDA: tiles of C to
 * blocks, points to threads, the A and B tiles promoted to shared memory between two
 * barriers, sizes not divisible by the tiles guarded. Two mappings: one output per thread
 * (16x16 tiles), and 32x32x16 tiles with a 4x2 register tile per thread.
 * -DAOTC_TEST_DROP_BARRIER=1 (after the loads) or 2 (after the products) removes one
 * barrier from the first: the simulator's catch-a-bug test. */
#include "kernels.h"

#ifndef AOTC_TEST_DROP_BARRIER
#define AOTC_TEST_DROP_BARRIER 0
#endif

#define TILE 16

__global__ void __launch_bounds__(TILE * TILE)
    matmul_kernel(int64_t M, int64_t K, int64_t N, const float *__restrict__ A,
                  const float *__restrict__ B, float *__restrict__ C) {
  __shared__ float As[TILE][TILE];
  __shared__ float Bs[TILE][TILE];
  int tx = (int)threadIdx.x, ty = (int)threadIdx.y;
  int64_t row = (int64_t)blockIdx.y * TILE + ty, col = (int64_t)blockIdx.x * TILE + tx;
  float acc = 0.0f;
  for (int64_t k0 = 0; k0 < K; k0 += TILE) {
    As[ty][tx] = row < M && k0 + tx < K ? A[row * K + k0 + tx] : 0.0f;
    Bs[ty][tx] = k0 + ty < K && col < N ? B[(k0 + ty) * N + col] : 0.0f;
#if AOTC_TEST_DROP_BARRIER != 1
    __syncthreads();
#endif
    AOTC_UNROLL(16)
    for (int k = 0; k < TILE; k++)
      acc += As[ty][k] * Bs[k][tx];
#if AOTC_TEST_DROP_BARRIER != 2
    __syncthreads();
#endif
  }
  if (row < M && col < N)
    C[row * N + col] = acc;
}

/* Grid dimensions beyond the hardware's limits are sizes this code does not fit. */
static int grid_fits(int64_t blocks_x, int64_t blocks_y) {
  return blocks_x <= 0x7fffffff && blocks_y <= 65535;
}

extern "C" int matmul(int64_t M, int64_t K, int64_t N, const float *A, const float *B,
                      float *C, void *workspace, cudaStream_t stream) {
  int64_t gx = (N + TILE - 1) / TILE, gy = (M + TILE - 1) / TILE;
  (void)workspace;
  if (M < 0 || K < 0 || N < 0 || !grid_fits(gx, gy))
    return (int)cudaErrorInvalidValue;
  if (M == 0 || N == 0)
    return 0;
  return (int)AOTC_LAUNCH(matmul_kernel, dim3((unsigned)gx, (unsigned)gy), dim3(TILE, TILE), 0,
                          stream, M, K, N, A, B, C);
}

extern "C" size_t matmul_workspace_bytes(int64_t M, int64_t K, int64_t N) {
  (void)M, (void)K, (void)N;
  return 0;
}

#define BM 32
#define BN 32
#define BK 16
#define TX 16
#define TY 8
#define RM (BM / TY)
#define RN (BN / TX)

/* Fills As[BM][BK] and Bs[BK][BN] from the tile at (row0, k0) and (k0, col0), zero outside. */
__device__ __forceinline__ void load_tiles(float (*As)[BK], float (*Bs)[BN], int t, int64_t M,
                                           int64_t K, int64_t N, const float *__restrict__ A,
                                           const float *__restrict__ B, int64_t row0,
                                           int64_t col0, int64_t k0) {
  AOTC_UNROLL(4)
  for (int e = 0; e < BM * BK / (TX * TY); e++) {
    int idx = t + TX * TY * e, r = idx / BK, c = idx % BK;
    As[r][c] = row0 + r < M && k0 + c < K ? A[(row0 + r) * K + k0 + c] : 0.0f;
  }
  AOTC_UNROLL(4)
  for (int e = 0; e < BK * BN / (TX * TY); e++) {
    int idx = t + TX * TY * e, r = idx / BN, c = idx % BN;
    Bs[r][c] = k0 + r < K && col0 + c < N ? B[(k0 + r) * N + col0 + c] : 0.0f;
  }
}

__global__ void __launch_bounds__(TX * TY)
    matmul_reg_kernel(int64_t M, int64_t K, int64_t N, const float *__restrict__ A,
                      const float *__restrict__ B, float *__restrict__ C) {
  __shared__ float As[BM][BK];
  __shared__ float Bs[BK][BN];
  int tx = (int)threadIdx.x, ty = (int)threadIdx.y;
  int64_t row0 = (int64_t)blockIdx.y * BM, col0 = (int64_t)blockIdx.x * BN;
  float acc[RM][RN] = {{0.0f}};
  for (int64_t k0 = 0; k0 < K; k0 += BK) {
    load_tiles(As, Bs, ty * TX + tx, M, K, N, A, B, row0, col0, k0);
    __syncthreads();
    AOTC_UNROLL(16)
    for (int k = 0; k < BK; k++) {
      AOTC_UNROLL(4)
      for (int i = 0; i < RM; i++) {
        AOTC_UNROLL(2)
        for (int j = 0; j < RN; j++)
          acc[i][j] += As[ty + TY * i][k] * Bs[k][tx + TX * j];
      }
    }
    __syncthreads();
  }
  AOTC_UNROLL(4)
  for (int i = 0; i < RM; i++) {
    AOTC_UNROLL(2)
    for (int j = 0; j < RN; j++) {
      int64_t r = row0 + ty + TY * i, c = col0 + tx + TX * j;
      if (r < M && c < N)
        C[r * N + c] = acc[i][j];
    }
  }
}

extern "C" int matmul_reg(int64_t M, int64_t K, int64_t N, const float *A, const float *B,
                          float *C, void *workspace, cudaStream_t stream) {
  int64_t gx = (N + BN - 1) / BN, gy = (M + BM - 1) / BM;
  (void)workspace;
  if (M < 0 || K < 0 || N < 0 || !grid_fits(gx, gy))
    return (int)cudaErrorInvalidValue;
  if (M == 0 || N == 0)
    return 0;
  return (int)AOTC_LAUNCH(matmul_reg_kernel, dim3((unsigned)gx, (unsigned)gy), dim3(TX, TY), 0,
                          stream, M, K, N, A, B, C);
}

extern "C" size_t matmul_reg_workspace_bytes(int64_t M, int64_t K, int64_t N) {
  (void)M, (void)K, (void)N;
  return 0;
}
