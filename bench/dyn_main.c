/* dyn_main.c: latency of a model emitted by aotc through its packed entry
 * (MODEL_call), for size-generic and fixed-size code alike: the sizes come
 * from the command line (none for fixed-size code); warm-up, then REPS
 * timed calls; prints the median in ms (bench/dynamic.sh).
 *
 *   cc -O2 -march=native -DMODEL=name -I DIR dyn_main.c DIR/name.c -lm && ./a.out REPS [SIZE...] */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "timing.h"

#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#include STR(MODEL.h)

int main(int argc, char **argv)
{
  int reps = argc > 1 ? atoi(argv[1]) : 50;
  int64_t sizes[8] = {0};
  for (int i = 2; i < argc && i < 10; i++)
    sizes[i - 2] = atoll(argv[i]);
  size_t n = (size_t)1 << 22;
  float *x = calloc(n, sizeof(float)), *y = calloc(n, sizeof(float));
  void *ws = aligned_alloc(64, (CAT(MODEL, _call_workspace_bytes)(sizes) + 63) / 64 * 64 + 64);
  double *t = malloc(sizeof(double) * (size_t)(reps > 0 ? reps : 1));
  void *args[2] = {x, y};
  if (!x || !y || !ws || !t || reps < 1)
    return 2;
  for (size_t i = 0; i < n; i++)
    x[i] = (float)(i % 100) / 100.0f;
  for (int i = 0; i < 3; i++)
    if (CAT(MODEL, _call)(sizes, args, ws))
      return 3;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    CAT(MODEL, _call)(sizes, args, ws);
    t[r] = now() - t0;
  }
  qsort(t, (size_t)reps, sizeof *t, cmp_double);
  printf("%.3f\n", t[reps / 2] * 1e3);
  return 0;
}
