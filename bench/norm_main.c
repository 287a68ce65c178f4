/* norm_main.c: one softmax or layer norm kernel emitted by aotc against a
 * memcpy of the same bytes (input to output) in the same process
 * (bench/softmax_layernorm.sh). Build with -DMODEL=name -I<dir of name.h>;
 * the model has one float input and one float output of the same size.
 * ROUNDS rounds alternate CALLS kernel calls and CALLS memcpys, each timed
 * in CPU time (CLOCK_PROCESS_CPUTIME_ID, 1 thread); prints the medians in
 * microseconds per call and memcpy / kernel (>= 0.8: within 80% of the
 * memcpy bound). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"

#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#include STR(MODEL.h)

#define ROUNDS 15

static double cpu_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t numel(const aotc_io_info *io)
{
  size_t n = 1;
  for (int j = 0; j < io->rank; j++)
    n *= (size_t)io->shape[j];
  return n;
}

int main(void)
{
  size_t n = numel(&CAT(MODEL, _inputs)[0]), bytes = n * sizeof(float);
  float *x = aligned_alloc(64, (bytes + 63) / 64 * 64), *y = aligned_alloc(64, (bytes + 63) / 64 * 64);
  void *ws = aligned_alloc(64, CAT(MODEL, _workspace_bytes)() + 64);
  int calls = (int)(200e6 / (double)bytes) + 1;
  double tk[ROUNDS], tm[ROUNDS], sum = 0;
  if (!x || !y || !ws)
    return 1;
  for (size_t i = 0; i < n; i++)
    x[i] = (float)((i * 2654435761u) % 8192) / 1024.0f - 4.0f;
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = cpu_now();
    for (int c = 0; c < calls; c++)
      if (MODEL(x, y, ws) != 0)
        return 1;
    double t1 = cpu_now();
    for (int c = 0; c < calls; c++) {
      memcpy(y, x, bytes);
      __asm__ volatile("" : : "r"(y) : "memory");
    }
    double t2 = cpu_now();
    tk[r] = (t1 - t0) / calls;
    tm[r] = (t2 - t1) / calls;
  }
  MODEL(x, y, ws);
  for (size_t i = 0; i < n; i++)
    sum += y[i];
  double k = median(tk, ROUNDS), m = median(tm, ROUNDS);
  printf("%.1f %.1f %.2f %g\n", k * 1e6, m * 1e6, m / k, sum);
  return 0;
}
