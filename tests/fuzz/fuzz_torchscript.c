/* fuzz_torchscript.c: libFuzzer target for the TorchScript readers. The
 * input's first bytes choose the reader: "PK" a whole archive
 * (ts_archive_open: zip, pickles, code, module tree), 0x80 a pickle whose
 * storages come from a small archive made once (ts_unpickle, tensors
 * rebuilt from data/0 and data/1), anything else a code file
 * (ts_parse_code). The contract checked: no crash (sanitizers), NULL
 * exactly when an error was reported or memory ran out, and the listing
 * and the diagnostics print. Build and run with tests/fuzz/run_ts_fuzzer.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../torchscript/zipwrite.h"
#include "ts.h"

static FILE *sink;
static unsigned char *storages;
static size_t storages_len;

/* An archive with two storages: data/0 (64 bytes) and data/1 (6 bytes). */
static void make_storages(void)
{
  static unsigned char s0[64], s1[6];
  for (size_t i = 0; i < sizeof(s0); i++)
    s0[i] = (unsigned char)(i * 37);
  zw_entry e[] = {{"f/data/0", 0, s0, sizeof(s0), false}, {"f/data/1", 0, s1, sizeof(s1), false}};
  storages = zw_build(e, 2, false, &storages_len, NULL);
}

static void check(aotc_ctx *ctx, const void *result)
{
  if ((result == NULL) != (ctx->n_errors > 0 || ctx->oom))
    __builtin_trap();
  aotc_print_diags(ctx, sink);
}

static void fuzz_pickle(aotc_ctx *ctx, const uint8_t *data, size_t size)
{
  ts_zip *z = ts_zip_open(ctx, "f.pt", storages, storages_len);
  if (!z)
    __builtin_trap();
  ts_storage_source src = {.zip = z, .folder = "data/"};
  check(ctx, ts_unpickle(ctx, "fuzz.pkl", data, size, &src));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!sink) {
    sink = fopen("/dev/null", "w");
    make_storages();
  }
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
    ts_archive *a = ts_archive_open(ctx, "fuzz.pt", data, size);
    check(ctx, a);
    if (a)
      ts_print_archive(sink, a);
  } else if (size >= 1 && data[0] == 0x80) {
    fuzz_pickle(ctx, data, size);
  } else {
    check(ctx, ts_parse_code(ctx, "fuzz.pt:code/__torch__.py", (const char *)data, size));
  }
  aotc_ctx_free(ctx);
  return 0;
}
