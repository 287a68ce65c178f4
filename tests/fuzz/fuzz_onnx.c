/* fuzz_onnx.c: libFuzzer target for the ONNX reader: the input is decoded
 * as a ModelProto and lowered (onnx_compile: protobuf decoding, tensor
 * decoding, shape inference, folding, the op library), and also as a
 * TensorProto (onnx_read_tensor, the reader of `.pb` inputs). Built by
 * tests/fuzz/build.sh. Checks that a module comes back exactly when no
 * error was reported and that it passes ir_verify. */
#include "ir.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static FILE *sink;

static void model(const uint8_t *data, size_t size)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ctx->max_bytes = 64 << 20;
  ir_module *m = onnx_compile(ctx, "/nonexistent/fuzz.onnx", data, size, "fuzz");
  if ((m == NULL) != (ctx->n_errors > 0 || ctx->oom))
    abort();
  for (int i = 0; m && i < m->n_funcs; i++)
    if (!ir_verify(ctx, m->funcs[i]))
      abort();
  aotc_print_diags(ctx, sink);
  aotc_ctx_free(ctx);
}

static void tensor(const uint8_t *data, size_t size)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ctx->max_bytes = 64 << 20;
  ir_type type;
  int rank;
  int64_t shape[16];
  void *values = NULL;
  bool ok = onnx_read_tensor(ctx, "fuzz.pb", data, size, &type, &rank, shape, &values);
  if (ok == (ctx->n_errors > 0))
    abort();
  free(values);
  aotc_print_diags(ctx, sink);
  aotc_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!sink)
    sink = fopen("/dev/null", "w");
  model(data, size);
  tensor(data, size);
  return 0;
}
