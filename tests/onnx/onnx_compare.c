/* onnx_compare.c: compares an output written by `aotc run` (.npy) with the
 * expected ONNX TensorProto (.pb): same element type and shape, values
 * within 1e-4 relative (exact for integers). Exit status 0 when they agree.
 *
 *   onnx_compare EXPECTED.pb ACTUAL.npy */
#include "ir.h"
#include "npy.h"
#include "onnx_testdata.h"

#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: onnx_compare EXPECTED.pb ACTUAL.npy\n");
    return 2;
  }
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  size_t len;
  ir_type type;
  int rank;
  int64_t shape[16];
  void *expect = NULL;
  npy_array got;
  unsigned char *buf = driver_read_file(ctx, argv[1], &len);
  if (!buf || !onnx_read_tensor(ctx, argv[1], buf, len, &type, &rank, shape, &expect) || !driver_npy_load(ctx, argv[2], &got)) {
    aotc_print_diags(ctx, stderr);
    return 2;
  }
  long long bad = 0, n = 1;
  for (int d = 0; d < rank; d++)
    n *= shape[d];
  if (got.type != type || got.rank != rank || memcmp(got.shape, shape, sizeof(int64_t) * (size_t)rank)) {
    fprintf(stderr, "%s: type or shape differs from %s\n", argv[2], argv[1]);
    return 1;
  }
  if (!onnx_testdata_close(type, got.data, expect, n, &bad)) {
    fprintf(stderr, "%s: element %lld differs from %s\n", argv[2], bad, argv[1]);
    return 1;
  }
  driver_npy_free(&got);
  free(expect);
  aotc_free(ctx, buf);
  aotc_ctx_free(ctx);
  return 0;
}
