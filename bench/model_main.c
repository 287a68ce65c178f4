/* model_main.c: batch-1 latency of a model emitted by aotc (bench/models.sh).
 * Build with -DMODEL=name -I<dir of name.h>; runs the model on a fixed input
 * for warm-up, then REPS timed calls, and prints the median in ms. Uses only
 * the emitted API: the input/output table and the workspace size. */
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
  for (int i = 0; i < 3; i++)
    if (MODEL(x, y, ws))
      return 3;
  for (int i = 0; i < reps; i++) {
    double t0 = now();
    MODEL(x, y, ws);
    t[i] = now() - t0;
  }
  qsort(t, (size_t)reps, sizeof *t, cmp_double);
  printf("%.3f\n", t[reps / 2] * 1e3);
  return 0;
}
