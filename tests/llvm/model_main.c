/* model_main.c: links an object written by `aotc MODEL.onnx --emit obj`
 * (the LLVM backend) and checks it on a model fixture: reads IN.npy
 * (float32), calls MODEL (-DMODEL=name, header -include'd) and compares
 * its output with EXPECTED.npy (PyTorch's) elementwise:
 * |got - expected| <= 1e-4 * (1 + |expected|). Exit 0 when it matches.
 *
 *   cc -DMODEL=mlp -include mlp.h model_main.c mlp.o -lm
 *   ./a.out mlp.input.npy mlp.output.npy */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

/* The float32 data of a .npy file (version 1 or 2 header); *n elements. */
static float *read_npy(const char *path, long *n)
{
  FILE *f = fopen(path, "rb");
  unsigned char magic[10];
  if (!f || fread(magic, 1, 10, f) != 10 || memcmp(magic, "\x93NUMPY", 6)) {
    fprintf(stderr, "%s: not a .npy file\n", path);
    exit(2);
  }
  long hlen = magic[6] == 1 ? magic[8] | magic[9] << 8 : 0;
  if (magic[6] != 1) {
    unsigned char more[2];
    if (fread(more, 1, 2, f) != 2)
      exit(2);
    hlen = magic[8] | magic[9] << 8 | more[0] << 16 | (long)more[1] << 24;
  }
  long start = (magic[6] == 1 ? 10 : 12) + hlen;
  fseek(f, 0, SEEK_END);
  *n = (ftell(f) - start) / 4;
  float *data = malloc((size_t)*n * 4 + 4);
  fseek(f, start, SEEK_SET);
  if (!data || fread(data, 4, (size_t)*n, f) != (size_t)*n)
    exit(2);
  fclose(f);
  return data;
}

int main(int argc, char **argv)
{
  long n_in, n_out;
  if (argc != 3)
    return 2;
  float *in = read_npy(argv[1], &n_in), *want = read_npy(argv[2], &n_out);
  float *got = calloc((size_t)n_out + 1, 4);
  void *ws = aligned_alloc(64, CAT(MODEL, _workspace_bytes)() + 64);
  int rc = MODEL(in, got, ws);
  if (rc) {
    fprintf(stderr, "returned %d\n", rc);
    return 1;
  }
  long bad = 0;
  for (long i = 0; i < n_out; i++)
    if (!(fabsf(got[i] - want[i]) <= 1e-4f * (1 + fabsf(want[i]))) && bad++ < 5)
      fprintf(stderr, "element %ld: got %g, expected %g\n", i, got[i], want[i]);
  printf("%ld elements, %ld differ\n", n_out, bad);
  return bad ? 1 : 0;
}
