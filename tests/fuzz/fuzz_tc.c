/* fuzz_tc.c: libFuzzer target for the TC frontend (lexer, parser, sema,
 * range inference, read bound checks). Built by tests/fuzz/build.sh.
 * Checks the frontend's contract on every input: tc_compile returns NULL
 * exactly when an error was reported, what it returns passes ir_verify,
 * and printing the diagnostics works. With AOTC_FUZZ_EMIT set, what
 * compiles is also emitted as C (slower: isl schedules it). */
#include "ir.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static FILE *sink;

static void emit(aotc_ctx *ctx, ir_module *m)
{
  emit_options opt = {.fuse = true};
  rewind(sink);
  int before = ctx->n_errors;
  bool ok = emit_c_module(ctx, m, m->funcs, m->n_funcs, &opt, sink, sink);
  if (ok != (ctx->n_errors == before))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!sink)
    sink = fopen("/dev/null", "w");
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  const aotc_source *src = aotc_add_source(ctx, "fuzz.tc", (const char *)data, size);
  ir_module *m = src ? tc_compile(ctx, src) : NULL;
  if ((m == NULL) != (ctx->n_errors > 0 || ctx->oom))
    abort();
  for (int i = 0; m && i < m->n_funcs; i++)
    if (!ir_verify(ctx, m->funcs[i]))
      abort();
  if (m && getenv("AOTC_FUZZ_EMIT"))
    emit(ctx, m);
  aotc_print_diags(ctx, sink);
  aotc_ctx_free(ctx);
  return 0;
}
