/* index_harness.c: drives the kernels of tests/hostile/run.sh's index
 * checks (the TC defs `lut` and `scat` it writes, compiled with them):
 * each call's return code and whether the output still holds its canary,
 * against closed forms. Prints one line per case, `FAIL ...` on a mismatch;
 * exits 1 when one failed. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int lut(int64_t K, int64_t R, int64_t B, int64_t N, const float *LUT, const int32_t *I, float *O, void *workspace);
int scat(int64_t N, const float *V, const int32_t *Idx, float *H, void *workspace);

#define CANARY 12345.0f

static int failures;

static void expect(const char *what, int rc, int want_rc, const float *out, int n, const float *want)
{
  int untouched = 1, right = 1;
  for (int i = 0; i < n; i++) {
    untouched &= out[i] == CANARY;
    right &= want ? out[i] == want[i] : out[i] == CANARY;
  }
  if (rc != want_rc || !right) {
    printf("FAIL %s: returned %d (want %d), output %s\n", what, rc, want_rc, untouched ? "untouched" : "written");
    failures++;
  } else {
    printf("ok %s: returned %d, output %s\n", what, rc, want ? "right" : "untouched");
  }
}

static void fill(float *v, int n)
{
  for (int i = 0; i < n; i++)
    v[i] = CANARY;
}

/* O(b, n, r) = LUT(I(b, n), r) with K = 4, R = 3, B = 2, N = 2. */
static void lut_cases(void)
{
  float table[12], out[12], want[12];
  for (int i = 0; i < 12; i++)
    table[i] = (float)(i * i);
  const int32_t good[4] = {3, 0, 2, 1}, high[4] = {3, 0, 4, 1}, low[4] = {-1, 0, 2, 1};
  for (int p = 0; p < 4; p++)
    for (int r = 0; r < 3; r++)
      want[p * 3 + r] = table[good[p] * 3 + r];
  fill(out, 12);
  expect("lut, indices inside", lut(4, 3, 2, 2, table, good, out, NULL), 0, out, 12, want);
  fill(out, 12);
  expect("lut, index 4 of 4 rows", lut(4, 3, 2, 2, table, high, out, NULL), 4, out, 12, NULL);
  fill(out, 12);
  expect("lut, index -1", lut(4, 3, 2, 2, table, low, out, NULL), 4, out, 12, NULL);
}

/* H(i) = 0 for i < 8, then H(Idx(n)) += V(n), N = 3. */
static void scat_cases(void)
{
  const float v[3] = {1, 2, 4};
  const int32_t good[3] = {7, 0, 7}, bad[3] = {7, 8, 0};
  float h[8], want[8] = {2, 0, 0, 0, 0, 0, 0, 5};
  fill(h, 8);
  expect("scatter, indices inside", scat(3, v, good, h, NULL), 0, h, 8, want);
  fill(h, 8);
  expect("scatter, index 8 of 8", scat(3, v, bad, h, NULL), 4, h, 8, NULL);
}

int main(void)
{
  lut_cases();
  scat_cases();
  return failures ? 1 : 0;
}
