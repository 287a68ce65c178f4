/* gemm.c: times aotc's emitted sgemm (mm from bench/kernels.tc) and
 * OpenBLAS cblas_sgemm side by side in one process, on the same buffers,
 * alternating runs, and prints the median GFLOP/s of each, their ratio, the
 * median of the ratios of back-to-back pairs (steadier on a loaded machine)
 * and the ratio of the fastest runs. CLOCK=cpu times each call in CPU time
 * of the process (steadier on a loaded machine; with T threads the GFLOP/s
 * are per T cores of CPU time, spinning included). The OpenBLAS kernel in use is printed: run it
 * without OPENBLAS_CORETYPE for the AVX-512 kernel (bench/sgemm.sh). */
#include "mm.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"

void openblas_set_num_threads(int);
char *openblas_get_corename(void);

static int use_cpu_clock;

/* The shortest of n times (a loaded machine only ever adds time). */
static double fastest(const double *v, int n)
{
  double m = v[0];
  for (int i = 1; i < n; i++)
    m = v[i] < m ? v[i] : m;
  return m;
}

/* Seconds of wall time, or of the process's CPU time divided by threads. */
static double clock_now(int threads)
{
  if (!use_cpu_clock)
    return now();
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (ts.tv_sec + ts.tv_nsec * 1e-9) / threads;
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 1024, threads = argc > 2 ? atoi(argv[2]) : 1, reps = argc > 3 ? atoi(argv[3]) : 7;
  openblas_set_num_threads(threads);
  use_cpu_clock = getenv("CLOCK") && !strcmp(getenv("CLOCK"), "cpu");
  float *A = aligned_alloc(64, sizeof(float) * n * n), *B = aligned_alloc(64, sizeof(float) * n * n);
  float *C1 = aligned_alloc(64, sizeof(float) * n * n), *C2 = aligned_alloc(64, sizeof(float) * n * n);
  srand(1);
  for (long i = 0; i < (long)n * n; i++) {
    A[i] = (float)rand() / RAND_MAX - 0.5f;
    B[i] = (float)rand() / RAND_MAX - 0.5f;
  }
  size_t wsb = mm_workspace_bytes(n, n, n);
  void *ws = wsb ? aligned_alloc(64, (wsb + 63) & ~(size_t)63) : NULL;
  double ta[64], tb[64];
  if (reps > 64) reps = 64;
  /* BLOCKED=1 (the default with threads > 1): all aotc runs, then all
   * OpenBLAS runs, so that neither library's idle spinning threads take a
   * core from the other's next call; otherwise alternating runs. */
  const char *blocked_env = getenv("BLOCKED");
  int blocked = blocked_env ? atoi(blocked_env) : threads > 1;
  for (int r = -1; r < reps; r++) {
    double t0 = clock_now(threads);
    if (mm(n, n, n, A, B, C1, ws)) { fprintf(stderr, "mm rejected the sizes\n"); return 1; }
    double t1 = clock_now(threads);
    if (!blocked)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, C2, n);
    double t2 = clock_now(threads);
    if (r >= 0) { ta[r] = t1 - t0; tb[r] = t2 - t1; }
  }
  for (int r = -1; blocked && r < reps; r++) {
    double t1 = clock_now(threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, C2, n);
    double t2 = clock_now(threads);
    if (r >= 0) tb[r] = t2 - t1;
  }
  double err = 0;
  for (long i = 0; i < (long)n * n; i++)
    err = fmax(err, fabs(C1[i] - C2[i]) / (1 + fabs(C2[i])));
  double pair[64];
  for (int r = 0; r < reps; r++)
    pair[r] = tb[r] / ta[r];
  double flop = 2.0 * n * n * n, best = fastest(tb, reps) / fastest(ta, reps);
  double ga = flop / median(ta, reps) * 1e-9, gb = flop / median(tb, reps) * 1e-9;
  printf("sgemm n=%d threads=%d: aotc %.1f GFLOP/s, OpenBLAS (%s) %.1f GFLOP/s, ratio %.2f, median pairwise ratio %.2f, "
         "best-of ratio %.2f (max rel err %.1e%s)\n", n, threads, ga, openblas_get_corename(), gb, ga / gb, median(pair, reps), best, err,
         use_cpu_clock ? ", CPU time" : "");
  free(A); free(B); free(C1); free(C2); free(ws);
  return err < 1e-3 ? 0 : 1;
}
