/* sgemm_bench.cu: aotc's emitted matmul (tests/kernels/matmul.tc, --target cuda, compiled in
 * as mm.cu) against cuBLAS SGEMM in fp32 with TF32 off, on one GPU, M = N = K = SIZE
 * (default 4096). Checks the emitted result against cuBLAS's, times both with events (best
 * of REPS after a warm-up) and prints one line:
 *
 *   sgemm 4096: aotc X ms (Y GFLOP/s), cuBLAS X ms (Y GFLOP/s), ratio R, max rel err E
 *
 * Exit status 0 when the results agree (and the ratio is printed whatever it is), 1 when
 * they do not, 2 on a CUDA or cuBLAS error.
 *
 *   nvcc -O2 -arch=native -Iruntime -I$DIR sgemm_bench.cu $DIR/mm.cu -lcublas -o bench */
#include "aotc_cuda.h"
#include "mm.h"

#include <cublas_v2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <vector>

#define CHECK(x)                                                                              \
  do {                                                                                        \
    int rc_ = (int)(x);                                                                       \
    if (rc_ != 0) {                                                                           \
      fprintf(stderr, "%s:%d: %s failed with %d\n", __FILE__, __LINE__, #x, rc_);             \
      exit(2);                                                                                \
    }                                                                                         \
  } while (0)

static float best_ms(cudaStream_t s, int reps, void (*fn)(void *), void *arg) {
  aotc_cuda_timer t;
  float best = 1e30f, ms;
  CHECK(aotc_cuda_timer_create(&t));
  fn(arg);
  CHECK(cudaStreamSynchronize(s));
  for (int r = 0; r < reps; r++) {
    CHECK(aotc_cuda_timer_start(&t, s));
    fn(arg);
    CHECK(aotc_cuda_timer_stop(&t, s, &ms));
    best = ms < best ? ms : best;
  }
  aotc_cuda_timer_destroy(&t);
  return best;
}

struct problem {
  int64_t n;
  float *a, *b, *c_aotc, *c_blas;
  void *ws;
  cudaStream_t s;
  cublasHandle_t h;
};

static void run_aotc(void *p) {
  problem *q = (problem *)p;
  CHECK(matmul(q->n, q->n, q->n, q->a, q->b, q->c_aotc, q->ws, q->s));
}

static void run_blas(void *p) {
  problem *q = (problem *)p;
  const float one = 1.0f, zero = 0.0f;
  int n = (int)q->n;
  CHECK(cublasSgemm(q->h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, q->b, n, q->a, n, &zero, q->c_blas, n));
}

int main(int argc, char **argv) {
  problem q = {};
  q.n = argc > 1 ? atoll(argv[1]) : 4096;
  int reps = argc > 2 ? atoi(argv[2]) : 10;
  size_t elems = (size_t)q.n * (size_t)q.n, bytes = elems * sizeof(float);
  std::vector<float> host(elems), got(elems), want(elems);
  srand(1);
  for (size_t i = 0; i < elems; i++)
    host[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  CHECK(cudaStreamCreate(&q.s));
  CHECK(cublasCreate(&q.h));
  CHECK(cublasSetStream(q.h, q.s));
  CHECK(cublasSetMathMode(q.h, CUBLAS_PEDANTIC_MATH));
  CHECK(cudaMalloc(&q.a, bytes));
  CHECK(cudaMalloc(&q.b, bytes));
  CHECK(cudaMalloc(&q.c_aotc, bytes));
  CHECK(cudaMalloc(&q.c_blas, bytes));
  size_t ws = matmul_workspace_bytes(q.n, q.n, q.n);
  if (ws)
    CHECK(cudaMalloc(&q.ws, ws));
  CHECK(cudaMemcpy(q.a, host.data(), bytes, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(q.b, host.data(), bytes, cudaMemcpyHostToDevice));
  float t_aotc = best_ms(q.s, reps, run_aotc, &q), t_blas = best_ms(q.s, reps, run_blas, &q);
  CHECK(cudaMemcpy(got.data(), q.c_aotc, bytes, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(want.data(), q.c_blas, bytes, cudaMemcpyDeviceToHost));
  double err = 0;
  for (size_t i = 0; i < elems; i++)
    err = fmax(err, fabs((double)got[i] - want[i]) / (1.0 + fabs((double)want[i])));
  double flops = 2.0 * (double)q.n * (double)q.n * (double)q.n;
  printf("sgemm %lld: aotc %.3f ms (%.0f GFLOP/s), cuBLAS %.3f ms (%.0f GFLOP/s), ratio %.3f, max rel err %.2e\n",
         (long long)q.n, t_aotc, flops / t_aotc / 1e6, t_blas, flops / t_blas / 1e6, t_blas / t_aotc, err);
  cudaFree(q.a);
  cudaFree(q.b);
  cudaFree(q.c_aotc);
  cudaFree(q.c_blas);
  cudaFree(q.ws);
  cublasDestroy(q.h);
  cudaStreamDestroy(q.s);
  return err < 1e-3 ? 0 : 1;
}
