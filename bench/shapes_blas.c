/* shapes_blas.c: the reference side of bench/shapes.sh. Times aotc's
 * emitted sgemm 1024 (mm from bench/kernels.tc) and OpenBLAS's sgemm 1024,
 * then OpenBLAS's cblas_sgemm on each product shape read from stdin
 * (`name m n k batches` a line: batches products of m x k by k x n), in CPU
 * time of the process, median of REPS calls; prints `name GFLOP/s` lines.
 * Run without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (the AVX-512 kernel). */
#define _POSIX_C_SOURCE 200809L
#include "mm.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "timing.h"

void openblas_set_num_threads(int);
char *openblas_get_corename(void);

#define REPS 15

static double cpu_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *random_floats(long n)
{
  float *v = aligned_alloc(64, (size_t)(n + 16) * sizeof(float));
  for (long i = 0; v && i < n; i++)
    v[i] = (float)rand() / RAND_MAX - 0.5f;
  return v;
}

static void blas_batches(int m, int n, int k, int nb, const float *A, const float *B, float *C)
{
  for (int q = 0; q < nb; q++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, A + (long)q * m * k, k,
                B + (long)q * k * n, n, 0.0f, C + (long)q * m * n, n);
}

/* Median GFLOP/s of OpenBLAS on one shape. */
static double blas_gflops(int m, int n, int k, int nb)
{
  float *A = random_floats((long)nb * m * k), *B = random_floats((long)nb * k * n), *C = random_floats((long)nb * m * n);
  double t[REPS];
  blas_batches(m, n, k, nb, A, B, C);
  for (int r = 0; r < REPS; r++) {
    double t0 = cpu_now();
    blas_batches(m, n, k, nb, A, B, C);
    t[r] = cpu_now() - t0;
  }
  free(A);
  free(B);
  free(C);
  return 2.0 * m * n * k * nb / median(t, REPS) * 1e-9;
}

/* Median GFLOP/s of aotc's sgemm n x n x n. */
static double aotc_gflops(int n)
{
  float *A = random_floats((long)n * n), *B = random_floats((long)n * n), *C = random_floats((long)n * n);
  size_t wsb = mm_workspace_bytes(n, n, n);
  void *ws = wsb ? aligned_alloc(64, (wsb + 63) & ~(size_t)63) : NULL;
  double t[REPS];
  mm(n, n, n, A, B, C, ws);
  for (int r = 0; r < REPS; r++) {
    double t0 = cpu_now();
    mm(n, n, n, A, B, C, ws);
    t[r] = cpu_now() - t0;
  }
  free(A);
  free(B);
  free(C);
  free(ws);
  return 2.0 * n * n * n / median(t, REPS) * 1e-9;
}

int main(void)
{
  char name[128];
  int m, n, k, nb;
  openblas_set_num_threads(1);
  srand(1);
  printf("sgemm1024_aotc %.1f\n", aotc_gflops(1024));
  printf("sgemm1024_openblas %.1f %s\n", blas_gflops(1024, 1024, 1024, 1), openblas_get_corename());
  while (scanf("%127s %d %d %d %d", name, &m, &n, &k, &nb) == 5)
    printf("%s %.1f\n", name, blas_gflops(m, n, k, nb));
  return 0;
}
