/* npystat.c: statistics of a float32 .npy file for tests/train/run.sh:
 *
 *   npystat FILE  ->  n mean var min max zeros ones
 *
 * (var the population variance; zeros and ones count elements exactly 0
 * and exactly 1). Exit 2 when the file is not a little-endian float32
 * array. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *path, const char *why)
{
  fprintf(stderr, "npystat: %s: %s\n", path, why);
  return 2;
}

int main(int argc, char **argv)
{
  if (argc != 2)
    return fail("usage", "npystat FILE.npy");
  FILE *f = fopen(argv[1], "rb");
  unsigned char pre[10];
  if (!f || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6))
    return fail(argv[1], "not a .npy file");
  size_t hlen = pre[6] == 1 ? (size_t)(pre[8] | pre[9] << 8) : 0;
  char *hdr = calloc(hlen + 1, 1);
  if (!hdr || fread(hdr, 1, hlen, f) != hlen || !strstr(hdr, "'<f4'"))
    return fail(argv[1], "not a float32 array (version 1 header)");
  double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
  long n = 0, zeros = 0, ones = 0;
  float v;
  while (fread(&v, sizeof v, 1, f) == 1) {
    n++;
    sum += v;
    sq += (double)v * v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    zeros += v == 0.0f;
    ones += v == 1.0f;
  }
  fclose(f);
  free(hdr);
  if (!n)
    return fail(argv[1], "empty");
  double mean = sum / (double)n;
  printf("%ld %.9g %.9g %.9g %.9g %ld %ld\n", n, mean, sq / (double)n - mean * mean, lo, hi, zeros, ones);
  return 0;
}
