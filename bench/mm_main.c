/* mm_main.c: GFLOP/s of aotc's emitted sgemm (mm of bench/kernels.tc)
 * alone: REPS timed calls after a warm-up, the median printed. Used by
 * bench/before_after.sh to time the code two aotc builds emit, back to
 * back in one script.
 *
 *   cc -O3 -march=native -fopenmp -I DIR mm_main.c DIR/mm.c -lm && ./a.out N REPS */
#define _POSIX_C_SOURCE 200809L
#include "mm.h"

#include <stdio.h>
#include <stdlib.h>

#include "timing.h"

/* The process's CPU time (all threads), for BENCH_CPU_TIME=1 on a loaded
 * machine. */
static double cpu_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 1024, reps = argc > 2 ? atoi(argv[2]) : 9;
  float *A = aligned_alloc(64, sizeof(float) * n * n), *B = aligned_alloc(64, sizeof(float) * n * n);
  float *C = aligned_alloc(64, sizeof(float) * n * n);
  size_t wsb = mm_workspace_bytes(n, n, n);
  void *ws = wsb ? aligned_alloc(64, (wsb + 63) & ~(size_t)63) : NULL;
  double *t = malloc(sizeof(double) * (size_t)(reps > 0 ? reps : 1));
  if (!A || !B || !C || !t || reps < 1)
    return 2;
  for (long i = 0; i < (long)n * n; i++) {
    A[i] = (float)(i % 17) / 17.0f - 0.5f;
    B[i] = (float)(i % 13) / 13.0f - 0.5f;
  }
  mm(n, n, n, A, B, C, ws);
  double (*clock_fn)(void) = getenv("BENCH_CPU_TIME") ? cpu_now : now;
  for (int r = 0; r < reps; r++) {
    double t0 = clock_fn();
    mm(n, n, n, A, B, C, ws);
    t[r] = clock_fn() - t0;
  }
  qsort(t, (size_t)reps, sizeof *t, cmp_double);
  printf("%.1f\n", 2.0 * n * n * n / t[reps / 2] * 1e-9);
  return 0;
}
