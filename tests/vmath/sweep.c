/* sweep.c: the emitted expf, erff, tanhf and sigmoid (tests/vmath/vm.tc
 * compiled by aotc) against libm in double rounded to float (sigmoid: its
 * definition, 1 / (1 + expf(-x)), with libm's expf), over every
 * STRIDE-th float bit pattern (all signs and exponents: subnormals, large,
 * inf, NaN), every float near the polynomials' seams, and special values.
 * Prints the largest error in ulp per function; exits 1 past the limits. */
#include "vm.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 65536
#define STRIDE 251u

static const char *const names[4] = {"exp", "erf", "tanh", "sigmoid"};
static const double limit_ulp[4] = {2, 4, 4, 6};

static float X[CHUNK], out[4][CHUNK];
static double worst[4];
static float worst_x[4];
static long bad_special;

static uint32_t bits(float f)
{
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* Position on the number line in ulps (the bits' order, signed). */
static int64_t ordinal(float f)
{
  uint32_t u = bits(f);
  return u & 0x80000000u ? -(int64_t)(u & 0x7fffffffu) : (int64_t)u;
}

static float reference(int fn, float x)
{
  double d = x;
  switch (fn) {
  case 0:
    return (float)exp(d);
  case 1:
    return (float)erf(d);
  case 2:
    return (float)tanh(d);
  default:
    return 1.0f / (1.0f + expf(-x));
  }
}

static void compare(int fn, float x, float got)
{
  float want = reference(fn, x);
  if (isnan(want) || isnan(got)) {
    bad_special += isnan(want) != isnan(got);
    return;
  }
  if (isinf(want) || isinf(got)) {
    bad_special += want != got;
    return;
  }
  double ulp = fabs((double)(ordinal(got) - ordinal(want)));
  if (ulp > worst[fn]) {
    worst[fn] = ulp;
    worst_x[fn] = x;
  }
}

static void run_chunk(int n)
{
  static unsigned char ws[64];
  if (vm(n, X, out[0], out[1], out[2], out[3], ws) != 0) {
    fprintf(stderr, "vm returned non-zero\n");
    exit(2);
  }
  for (int fn = 0; fn < 4; fn++)
    for (int i = 0; i < n; i++)
      compare(fn, X[i], out[fn][i]);
}

/* Every STRIDE-th bit pattern. */
static void sweep_all(void)
{
  int n = 0;
  for (uint64_t u = 0; u <= 0xffffffffu; u += STRIDE) {
    uint32_t b = (uint32_t)u;
    memcpy(&X[n++], &b, 4);
    if (n == CHUNK) {
      run_chunk(n);
      n = 0;
    }
  }
  run_chunk(n);
}

/* Every float within 20000 ulps of each seam and special value, both signs. */
static void sweep_near(void)
{
  static const float seams[] = {0.0f,  0.625f, 0.875f,  3.925f,   9.1f, 88.7228f, 87.3365f,
                                89.0f, 104.0f, 103.97f, 1.0f, 0.5f, 1e-20f, 1.17549435e-38f};
  for (size_t s = 0; s < sizeof seams / sizeof seams[0]; s++)
    for (int sign = 0; sign < 2; sign++) {
      int n = 0;
      int64_t c = ordinal(sign ? -seams[s] : seams[s]);
      for (int64_t k = c - 20000; k <= c + 20000; k++) {
        uint32_t b = k < 0 ? (uint32_t)(-k) | 0x80000000u : (uint32_t)k;
        memcpy(&X[n++], &b, 4);
      }
      run_chunk(n);
    }
}

static void specials(void)
{
  const float v[] = {INFINITY, -INFINITY, NAN, -NAN, 0.0f, -0.0f, 1e-45f, -1e-45f, 3.4e38f, -3.4e38f};
  int n = (int)(sizeof v / sizeof v[0]);
  memcpy(X, v, sizeof v);
  run_chunk(n);
  for (int i = 0; i < n; i++)
    for (int fn = 0; fn < 4; fn++)
      if (isnan(X[i]) != isnan(out[fn][i]) || (!isnan(X[i]) && bits(out[fn][i]) != bits(reference(fn, X[i])) &&
                                               (X[i] == 0 || isinf(X[i]))))
        bad_special++, fprintf(stderr, "%s(%g) = %g, libm %g\n", names[fn], X[i], out[fn][i], reference(fn, X[i]));
}

int main(void)
{
  int fail = 0;
  sweep_all();
  sweep_near();
  specials();
  for (int fn = 0; fn < 4; fn++) {
    printf("%-8s max %.0f ulp (at %.9g), limit %.0f\n", names[fn], worst[fn], worst_x[fn], limit_ulp[fn]);
    fail |= worst[fn] > limit_ulp[fn];
  }
  printf("special values wrong: %ld\n", bad_special);
  return fail || bad_special;
}
