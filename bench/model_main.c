/* model_main.c: batch-1 latency of a model emitted by aotc (bench/models.sh).
 * Build with -DMODEL=name -I<dir of name.h>; runs the model on a fixed input
 * for warm-up, then REPS timed calls, and prints the median in ms (of
 * CPU time with BENCH_CPU_TIME set). Uses only
 * the emitted API: the input/output table and the workspace size. With
 * -DBLOB (a model compiled with --weights FILE) the weights blob named by
 * the second argument is loaded and handed to MODEL_set_weights first.
 * With -DKT_MAIN (a file rewritten by bench/kernel_times.py) it prints the
 * time of each kernel. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "timing.h"

#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#include STR(MODEL.h)

static size_t numel(const aotc_io_info *io)
{
  size_t n = 1;
  for (int j = 0; j < io->rank; j++)
    n *= (size_t)io->shape[j];
  return n;
}

/* The process's CPU time (all threads), for BENCH_CPU_TIME=1 on a loaded
 * machine. */
static double cpu_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#ifdef BLOB
#include "../runtime/aotc_blob.h"

static int load_blob(const char *path)
{
  size_t n;
  void *blob = aotc_blob_load(path, &n);
  return !blob || CAT(MODEL, _set_weights)(blob, n);
}
#endif

int main(int argc, char **argv)
{
  int reps = argc > 1 ? atoi(argv[1]) : 50;
  const aotc_io_info *in = &CAT(MODEL, _inputs)[0], *out = &CAT(MODEL, _outputs)[0];
  float *x = malloc(numel(in) * sizeof(float)), *y = malloc(numel(out) * sizeof(float));
  void *ws = aligned_alloc(64, (CAT(MODEL, _workspace_bytes)() + 63) / 64 * 64 + 64);
  double *t = malloc((size_t)(reps > 0 ? reps : 1) * sizeof(double));
  if (!x || !y || !ws || !t || reps < 1)
    return 2;
  for (size_t i = 0; i < numel(in); i++)
    x[i] = (float)((i * 7919 % 1000) / 500.0 - 1.0);
#ifdef BLOB
  if (argc < 3 || load_blob(argv[2]))
    return 4;
#endif
  for (int i = 0; i < 3; i++)
    if (MODEL(x, y, ws))
      return 3;
  double (*clock_fn)(void) = getenv("BENCH_CPU_TIME") ? cpu_now : now;
  for (int i = 0; i < reps; i++) {
    double t0 = clock_fn();
    MODEL(x, y, ws);
    t[i] = clock_fn() - t0;
  }
#ifdef KT_MAIN
  void CAT(MODEL, _kernel_report)(FILE *, int);
  CAT(MODEL, _kernel_report)(stdout, reps + 3);
#endif
  qsort(t, (size_t)reps, sizeof *t, cmp_double);
  printf("%.3f\n", t[reps / 2] * 1e3);
  return 0;
}
