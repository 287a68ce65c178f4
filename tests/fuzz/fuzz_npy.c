/* fuzz_npy.c: libFuzzer target for the .npy reader (driver_npy_parse) and the
 * element conversion aotc run applies to what it reads. Built by
 * tests/fuzz/build.sh. Checks that a parsed array is consistent: its
 * element count is the product of its shape and its data is readable. */
#include "npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *sink;

static void check(const npy_array *a)
{
  int64_t n = 1;
  for (int i = 0; i < a->rank; i++)
    n *= a->shape[i];
  if (n != a->numel || a->rank < 0 || a->rank > NPY_MAX_RANK)
    abort();
  volatile unsigned char x = 0;
  for (int64_t i = 0; i < a->numel * ir_types[a->type].bytes; i++)
    x ^= ((const unsigned char *)a->data)[i];
  (void)x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!sink)
    sink = fopen("/dev/null", "w");
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ctx->max_bytes = 64 << 20;
  npy_array a;
  memset(&a, 0, sizeof(a));
  bool ok = driver_npy_parse(ctx, "fuzz.npy", data, size, &a);
  if (ok == (ctx->n_errors > 0))
    abort();
  if (ok) {
    check(&a);
    if (driver_npy_convert(&a, a.type == IR_F32 ? IR_F64 : IR_F32))
      check(&a);
    driver_npy_free(&a);
  }
  aotc_print_diags(ctx, sink);
  aotc_ctx_free(ctx);
  return 0;
}
