/* fused_main.c: tests/llvm/fused.tc's object against closed forms. With
 * a = b = 1 + 2^-12, a * b = 1 + 2^-11 + 2^-24, which float rounds to
 * 1 + 2^-11 (a tie, to even). One rounding (a fused multiply-add) keeps the
 * 2^-24: with c = -(1 + 2^-11), a * b + c is 2^-24 exactly (0 when the
 * product is rounded first); with c = 1 + 2^-11, c - a * b is -2^-24.
 * The other sums round alike either way. Exit 0 when every element is
 * exact; the first wrong one printed. */
#include "fused.h"

#include <math.h>
#include <stdio.h>

enum { N = 37 }; /* vectors of 8 and 16 and a remainder */

int main(void)
{
  float a[N], b[N], c[N], y[N], z[N];
  const float p = 1.0f + ldexpf(1.0f, -11);
  for (int i = 0; i < N; i++) {
    a[i] = b[i] = 1.0f + ldexpf(1.0f, -12);
    c[i] = i % 2 ? p : -p;
  }
  if (fused(N, a, b, c, y, z, NULL) != 0) {
    puts("fused: the call failed");
    return 1;
  }
  const float tiny = ldexpf(1.0f, -24), big = 2.0f + ldexpf(1.0f, -10);
  for (int i = 0; i < N; i++) {
    float want_y = i % 2 ? big : tiny, want_z = i % 2 ? -tiny : -big;
    if (y[i] != want_y || z[i] != want_z) {
      printf("fused: element %d: Y %a Z %a, want %a and %a\n", i, y[i], z[i], want_y, want_z);
      return 1;
    }
  }
  printf("fused: %d elements exact\n", N);
  return 0;
}
