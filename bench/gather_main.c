/* gather_main.c: times the entries `emb` (O(n, d) = W(I(n), d)) and `pick`
 * (P(n) = T(J(n)), a gather of single elements, the worst case for the
 * index checks) as bench/index_checks.sh builds them, with or without
 * --unchecked-indices. Prints the median of REPS calls of each, in ms of
 * this thread's CPU time (the machine is shared: wall time mostly measures
 * the other engineers' load). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "timing.h"

static double cpu_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int emb(int64_t V, int64_t D, int64_t N, const float *W, const int32_t *I, float *O, void *workspace);
int pick(int64_t V, int64_t N, const float *T, const int32_t *J, float *P, void *workspace);

#define V 50000
#define D 64
#define N 200000
#define NP 4000000

int main(int argc, char **argv)
{
  int reps = argc > 1 ? atoi(argv[1]) : 21;
  float *w = malloc(sizeof(float) * V * D), *o = malloc(sizeof(float) * (size_t)N * D);
  float *t = malloc(sizeof(float) * V), *p = malloc(sizeof(float) * NP);
  int32_t *i = malloc(sizeof(int32_t) * N), *j = malloc(sizeof(int32_t) * NP);
  double *te = malloc(sizeof(double) * (size_t)reps), *tp = malloc(sizeof(double) * (size_t)reps);
  for (long k = 0; k < (long)V * D; k++)
    w[k] = (float)(k % 97);
  for (long k = 0; k < V; k++)
    t[k] = (float)k;
  for (long k = 0; k < N; k++)
    i[k] = (int32_t)((k * 7919) % V);
  for (long k = 0; k < NP; k++)
    j[k] = (int32_t)((k * 104729) % V);
  int rc = 0;
  for (int r = 0; r < reps; r++) {
    double t0 = cpu_now();
    rc |= emb(V, D, N, w, i, o, NULL);
    double t1 = cpu_now();
    rc |= pick(V, NP, t, j, p, NULL);
    te[r] = (t1 - t0) * 1e3;
    tp[r] = (cpu_now() - t1) * 1e3;
  }
  printf("emb (N=%d rows of D=%d): %.3f ms; pick (N=%d elements): %.3f ms; rc %d\n", N, D, median(te, reps), NP,
         median(tp, reps), rc);
  return rc;
}
