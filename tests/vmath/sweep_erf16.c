/* sweep_erf16.c: the 16-lane erf of GELU's epilogues (aotc_erff16, printed
 * by aotc into MODEL.c; this file includes that C file, -DMODEL_C="path")
 * against libm's erf in double rounded to float: every STRIDE-th float bit
 * pattern (all signs and exponents: subnormals, large, inf), every float
 * within 20000 ulps of the split (0.875) and of the clamp (3.925), and -0,
 * +-inf. At most LIMIT ulp; NaN stays NaN. Also the scalar aotc_erff on the
 * same floats, for the record. Prints the largest errors in ulp; exits 1
 * past the limit, 2 when the file has no aotc_erff16 (a build without
 * AVX-512: nothing to sweep). */
#include MODEL_C

#include "floats.h"

#include <math.h>
#include <stdio.h>

#define STRIDE 251u
#define LIMIT 4.0

static double worst16, worst1;
static float worst16_x;
static long bad;

static void check(float x)
{
  float in[16], got[16];
  for (int i = 0; i < 16; i++)
    in[i] = x;
#if defined(AOTC_HAVE_aotc_erff16)
  _mm512_storeu_ps(got, aotc_erff16(_mm512_loadu_ps(in)));
#else
  (void)in;
  got[0] = x;
#endif
  float want = (float)erf((double)x), one = aotc_erff(x);
  if (isnan(x)) {
    bad += !isnan(got[0]);
    return;
  }
  double e16 = fabs((double)(ordinal(got[0]) - ordinal(want))), e1 = fabs((double)(ordinal(one) - ordinal(want)));
  if (e16 > worst16) {
    worst16 = e16;
    worst16_x = x;
  }
  worst1 = e1 > worst1 ? e1 : worst1;
}

int main(void)
{
#if !defined(AOTC_HAVE_aotc_erff16)
  puts("no aotc_erff16 in this build");
  return 2;
#else
  for (uint64_t u = 0; u <= 0xffffffffu; u += STRIDE)
    check(float_of_bits((uint32_t)u));
  static const float seams[] = {0.875f, -0.875f, 3.925f, -3.925f};
  for (int s = 0; s < 4; s++)
    for (int64_t k = -20000; k <= 20000; k++)
      check(float_at(ordinal(seams[s]) + k));
  check(-0.0f);
  check(INFINITY);
  check(-INFINITY);
  check(NAN);
  printf("aotc_erff16: %.0f ulp at most (at %.9g), scalar aotc_erff %.0f; %ld NaN mismatches\n", worst16,
         (double)worst16_x, worst1, bad);
  return worst16 <= LIMIT && bad == 0 ? 0 : 1;
#endif
}
