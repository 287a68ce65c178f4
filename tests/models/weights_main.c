/* weights_main.c: runs a model emitted by aotc on a deterministic input and
 * writes its first output as raw bytes, either with the weights embedded or
 * (with -DBLOB) with the weights blob of --weights loaded at run time; run.sh
 * checks that both give the same bytes. Uses only the emitted API: the
 * input/output table, the workspace size and, with BLOB, MODEL_set_weights.
 *
 *   cc -DMODEL=cnn [-DBLOB] -I DIR weights_main.c DIR/cnn.c -lm
 *   ./a.out [BLOB_FILE] > output.bin
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#include STR(MODEL.h)

static size_t numel(const aotc_io_info *io)
{
  size_t n = 1;
  for (int j = 0; j < io->rank; j++)
    n *= (size_t)io->shape[j];
  return n;
}

#ifdef BLOB
#include "../../runtime/aotc_blob.h"

static int load_blob(const char *path)
{
  size_t n;
  void *blob = aotc_blob_load(path, &n);
  return !blob || CAT(MODEL, _set_weights)(blob, n);
}
#endif

int main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  const aotc_io_info *in = &CAT(MODEL, _inputs)[0], *out = &CAT(MODEL, _outputs)[0];
  if (CAT(MODEL, _NUM_INPUTS) != 1 || strcmp(in->type, "float") || strcmp(out->type, "float"))
    return 2;
  float *x = malloc(numel(in) * sizeof(float)), *y = malloc(numel(out) * sizeof(float));
  void *ws = malloc(CAT(MODEL, _workspace_bytes)() + 64);
  if (!x || !y || !ws)
    return 2;
  for (size_t i = 0; i < numel(in); i++)
    x[i] = (float)((i * 7919 % 1000) / 500.0 - 1.0);
#ifdef BLOB
  if (MODEL(x, y, ws) != 3 || argc < 2 || load_blob(argv[1]))
    return 3;
#endif
  if (MODEL(x, y, ws))
    return 4;
  fwrite(y, sizeof(float), numel(out), stdout);
  return 0;
}
