/* sweep_neg.c: the emitted exp of an argument at most 0 (aotc_expf_neg,
 * chosen for exp(x - max x): tests/vmath/expneg.tc compiled by aotc) against
 * libm in double rounded to float. Each row is (x, 0): its maximum is 0 for
 * x <= 0, so P(r, 0) = exp(x) and P(r, 1) = exp(0) = 1. Every STRIDE-th
 * non-positive float, every float within 20000 ulps of the clamp and of
 * the reduction's seams, and -inf, -0, NaN. At most 2 ulp from libm down to
 * -87.3, exactly 0 below (where expf turns subnormal); NaN stays NaN.
 * Prints the largest error in ulp; exits 1 past the limit. */
#include "expneg.h"

#include "floats.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 32768
#define STRIDE 127u
#define CUT (-87.3f)

static float X[2 * ROWS], M[ROWS], P[2 * ROWS];
static unsigned char ws[1 << 16];
static double worst;
static float worst_x;
static long bad;

static void run(int n)
{
  if (expneg_workspace_bytes(n, 2) > sizeof ws || expneg(n, 2, X, M, P, ws) != 0) {
    fprintf(stderr, "expneg failed\n");
    exit(2);
  }
  for (int r = 0; r < n; r++) {
    float x = X[2 * r], got = P[2 * r], want = (float)exp((double)x);
    if (isnan(x)) {
      bad += !isnan(got);
      continue;
    }
    if (P[2 * r + 1] != 1.0f || (x < CUT && got != 0.0f)) {
      bad++;
      fprintf(stderr, "exp(%.9g) = %.9g (other column %.9g)\n", x, got, P[2 * r + 1]);
      continue;
    }
    if (x < CUT)
      continue;
    double ulp = fabs((double)(ordinal(got) - ordinal(want)));
    if (ulp > worst)
      worst = ulp, worst_x = x;
  }
}

static void add(int *n, float x)
{
  X[2 * *n] = x;
  X[2 * *n + 1] = 0.0f;
  if (++*n == ROWS) {
    run(*n);
    *n = 0;
  }
}

int main(void)
{
  int n = 0;
  for (uint64_t u = 0x80000000u; u <= 0xffffffffu; u += STRIDE) {
    float x = float_of_bits((uint32_t)u);
    if (!isnan(x))
      add(&n, x);
  }
  static const float seams[] = {CUT, -87.3365f, -0.34657359f, -0.6931472f, -1.0f, -1e-20f};
  for (size_t s = 0; s < sizeof seams / sizeof seams[0]; s++)
    for (int64_t k = ordinal(seams[s]) - 20000; k <= ordinal(seams[s]) + 20000; k++) {
      float x = float_at(k);
      if (x <= 0.0f)
        add(&n, x);
    }
  add(&n, -INFINITY);
  add(&n, -0.0f);
  add(&n, NAN);
  run(n);
  printf("exp_neg  max %.0f ulp (at %.9g), limit 2; wrong below the cut or special: %ld\n", worst, worst_x, bad);
  return worst > 2 || bad;
}
