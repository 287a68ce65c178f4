/* dynamic_main.c: runs a size-generic model emitted by aotc (one object for
 * every size) on a .npy input and compares its output with PyTorch's
 * (|got - expected| <= 1e-4 * (1 + |expected|) elementwise). Uses only the
 * packed entry points of the emitted API: MODEL_call and
 * MODEL_call_workspace_bytes, with the sizes from the command line. The
 * workspace starts filled with NaNs, so a temporary read where another one
 * (planned into the same bytes) was written shows in the output.
 *
 *   cc -DMODEL=cnn_dyn -I DIR dynamic_main.c DIR/cnn_dyn.c -lm
 *   ./a.out input.npy expected.npy SIZE...
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#include STR(MODEL.h)

/* The float32 elements of a version 1 .npy file (C order assumed). */
static float *read_npy(const char *path, size_t *n)
{
  FILE *f = fopen(path, "rb");
  unsigned char head[10];
  if (!f || fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY\x01", 7)) {
    fprintf(stderr, "%s: not a version 1 .npy file\n", path);
    exit(2);
  }
  size_t hlen = head[8] | (size_t)head[9] << 8;
  fseek(f, 0, SEEK_END);
  long end = ftell(f);
  *n = ((size_t)end - 10 - hlen) / sizeof(float);
  float *data = malloc(*n * sizeof(float) + 1);
  fseek(f, (long)(10 + hlen), SEEK_SET);
  if (!data || fread(data, sizeof(float), *n, f) != *n)
    exit(2);
  fclose(f);
  return data;
}

static int compare(const float *got, const float *want, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!(fabs((double)got[i] - want[i]) <= 1e-4 * (1 + fabs((double)want[i])))) {
      printf("element %zu: got %.8g, expected %.8g\n", i, got[i], want[i]);
      return 1;
    }
  printf("%zu elements match\n", n);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc < 4)
    return 2;
  int64_t sizes[8];
  int n_sizes = argc - 3 < 8 ? argc - 3 : 8;
  for (int i = 0; i < n_sizes; i++)
    sizes[i] = atoll(argv[3 + i]);
  size_t n_in, n_out;
  float *x = read_npy(argv[1], &n_in), *want = read_npy(argv[2], &n_out);
  float *y = calloc(n_out + 1, sizeof(float));
  size_t ws_bytes = CAT(MODEL, _call_workspace_bytes)(sizes);
  void *ws = malloc(ws_bytes + 64);
  void *args[2] = {x, y};
  if (!y || !ws)
    return 2;
  memset(ws, 0xff, ws_bytes + 64);
  int rc = CAT(MODEL, _call)(sizes, args, ws);
  if (rc)
    printf("%s returned %d\n", STR(MODEL), rc);
  else
    rc = compare(y, want, n_out);
  free(x);
  free(want);
  free(y);
  free(ws);
  return rc ? 1 : 0;
}
