/* sweep_softmax.c: the exp of a softmax row kernel (tests/vmath/softmax161.onnx
 * compiled by aotc: its exp and sum share one loop, on AVX-512 through
 * aotc_expf_neg16, elsewhere aotc_expf_neg) over every STRIDE-th
 * non-positive float, every float within 20000 ulps of the 16-lane exp's
 * seams (its clamp, where results turn subnormal, the table's steps), and
 * -inf, -0. Each row is 160 of them and a 0 in the last column, so its
 * maximum is 0 and y = exp(x) / S; the reference is the same in double.
 * Each y must be within 1e-6 of it relatively (the exp's 2 ulp, the sum's
 * and the division's rounding) or ABS absolutely: 3 * 2^-149 for the
 * 16-lane exp (its subnormal results are rounded once more), exp(-87.3) for
 * aotc_expf_neg (0 below -87.3, where expf turns subnormal); a row with a
 * NaN must be all NaN. Prints the largest relative
 * error and which exp the build took; exits 1 past the limits. */
#include "softmax161.h"

#include "floats.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 8192
#define COLS 161
#define STRIDE 127u
#if defined(__AVX512F__) && !defined(AOTC_NO_VECTORS)
#define PATH "aotc_expf_neg16 (AVX-512)"
#define ABS (3 * 0x1p-149)
#else
#define PATH "aotc_expf_neg"
#define ABS 1.22e-38 /* exp(-87.3) */
#endif

static float X[ROWS * COLS], Y[ROWS * COLS];
static double worst;
static float worst_x;
static long bad, values;
static int filled; /* values in the row being filled */
static int rows;   /* rows filled */

static void run(void)
{
  static unsigned char *ws;
  if (!ws && !(ws = malloc(softmax161_workspace_bytes() + 64))) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  if (softmax161(X, Y, ws) != 0) {
    fprintf(stderr, "softmax161 failed\n");
    exit(2);
  }
  for (int r = 0; r < rows; r++) {
    const float *x = X + r * COLS, *y = Y + r * COLS;
    double s = 0;
    int nan = 0;
    for (int c = 0; c < COLS; c++) {
      nan |= isnan(x[c]);
      s += exp((double)x[c]);
    }
    for (int c = 0; c < COLS; c++) {
      double want = exp((double)x[c]) / s, err = fabs((double)y[c] - want);
      if (nan ? !isnan(y[c]) : !(err <= 1e-6 * want || err <= ABS)) {
        if (bad++ < 10)
          fprintf(stderr, "x %.9g: y %.9g, want %.9g\n", x[c], y[c], want);
        continue;
      }
      if (!nan && err > ABS && err / want > worst)
        worst = err / want, worst_x = x[c];
    }
  }
  rows = 0;
}

static void add(float x)
{
  X[rows * COLS + filled++] = x;
  values++;
  if (filled == COLS - 1) {
    X[rows * COLS + filled] = 0.0f;
    filled = 0;
    if (++rows == ROWS)
      run();
  }
}

int main(void)
{
  for (uint64_t u = 0x80000000u; u <= 0xffffffffu; u += STRIDE) {
    float x = float_of_bits((uint32_t)u);
    if (!isnan(x))
      add(x);
  }
  static const float seams[] = {-104.0f, -103.27893f, -87.33655f, -0.0108304f, -0.0216608f, -0.6931472f, -1e-20f};
  for (size_t s = 0; s < sizeof seams / sizeof seams[0]; s++)
    for (int64_t k = ordinal(seams[s]) - 20000; k <= ordinal(seams[s]) + 20000; k++) {
      float x = float_at(k);
      if (x <= 0.0f)
        add(x);
    }
  add(-INFINITY);
  add(-0.0f);
  while (filled != 0)
    add(-1.0f);
  X[rows * COLS + 3] = NAN; /* a row with a NaN */
  for (int c = 0; c < COLS; c++)
    if (c != 3)
      X[rows * COLS + c] = -1.0f;
  rows++;
  run();
  printf("softmax exp, %s: %ld values, max relative error %.2g (at %.9g), limit 1e-6; wrong: %ld\n", PATH, values,
         worst, worst_x, bad);
  return bad != 0;
}
