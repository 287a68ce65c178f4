/* llvm_driver.c: the command line's LLVM paths (docs/llvm.md), on top of
 * the pipeline: `aotc FILE --emit obj [--triple T] [--cpu C] -o OUT.o`
 * writes an object and the C path's header beside it; `aotc run --backend
 * llvm` compiles in-process with ORC LLJIT instead of spawning cc. The
 * backend passes run as for C; the print pass hands each plan to the LLVM
 * module (pipeline.c) and prints only the header. */
#define _POSIX_C_SOURCE 200809L
#include "llvm_driver.h"
#include "build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const ir_loc noloc;

/* OUT.o -> OUT.h (appends .h otherwise). */
static const char *object_header(aotc_ctx *ctx, const char *out)
{
  size_t n = strlen(out);
  if (n > 2 && !strcmp(out + n - 2, ".o"))
    return ir_sprintf(ctx, "%.*s.h", (int)(n - 2), out);
  return ir_sprintf(ctx, "%s.h", out);
}

static const char *base_name(const char *path)
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* The backend passes into L, the header into h (NULL: none). */
static bool build_module(driver_module *m, emit_llvm *L, FILE *h)
{
  m->llvm = L;
  m->c_out = NULL;
  m->h_out = h;
  bool ok = driver_run_after(m, "select");
  m->llvm = NULL;
  m->h_out = NULL;
  return ok;
}

static bool write_header_and_object(aotc_ctx *ctx, driver_module *m, emit_llvm *L, const char *otmp,
                                    const char *htmp)
{
  FILE *h = fopen(htmp, "w");
  if (!h) {
    aotc_error(ctx, noloc, "cannot write '%s': %s", htmp, strerror(errno));
    return false;
  }
  bool ok = build_module(m, L, h);
  ok = !fclose(h) && ok;
  FILE *o = ok ? fopen(otmp, "wb") : NULL;
  if (ok && !o)
    aotc_error(ctx, noloc, "cannot write '%s': %s", otmp, strerror(errno));
  ok = o && emit_llvm_write_object(L, o, otmp);
  if (o && fclose(o)) {
    aotc_error(ctx, noloc, "cannot write '%s': %s", otmp, strerror(errno));
    ok = false;
  }
  return ok;
}

/* An output that is not a regular file (driver_is_special_file): the
 * object, then the header, written in place through one stream. */
static bool write_special(aotc_ctx *ctx, driver_module *m, emit_llvm *L, const char *out)
{
  char *text = NULL;
  size_t len = 0;
  FILE *h = open_memstream(&text, &len), *f = NULL;
  bool ok = h && build_module(m, L, h);
  ok = h && !fclose(h) && ok;
  if (ok && !(f = fopen(out, "wb")))
    aotc_error(ctx, noloc, "cannot write '%s': %s", out, strerror(errno));
  ok = f && emit_llvm_write_object(L, f, out) && fwrite(text, 1, len, f) == len;
  if (f && fclose(f))
    ok = false;
  if (f && !ok && !ctx->n_errors)
    aotc_error(ctx, noloc, "cannot write '%s': %s", out, strerror(errno));
  free(text);
  return ok;
}

bool driver_llvm_object(aotc_ctx *ctx, driver_module *m, const char *out, const emit_llvm_options *opt)
{
  if (driver_is_special_file(out)) {
    emit_llvm *L = emit_llvm_new(ctx, opt);
    bool ok = L && write_special(ctx, m, L, out);
    emit_llvm_free(L);
    return ok;
  }
  const char *hout = object_header(ctx, out);
  char *otmp = ir_sprintf(ctx, "%s.tmp%ld", out, (long)getpid());
  char *htmp = hout ? ir_sprintf(ctx, "%s.tmp%ld", hout, (long)getpid()) : NULL;
  emit_llvm *L = otmp && htmp ? emit_llvm_new(ctx, opt) : NULL;
  if (!L)
    return false;
  driver_tmp_track(otmp);
  driver_tmp_track(htmp);
  m->header_name = base_name(hout);
  bool ok = write_header_and_object(ctx, m, L, otmp, htmp);
  if (ok && (rename(otmp, out) || rename(htmp, hout))) {
    aotc_error(ctx, noloc, "cannot write '%s': %s", out, strerror(errno));
    remove(out);
    ok = false;
  }
  driver_tmp_remove(otmp);
  driver_tmp_remove(htmp);
  emit_llvm_free(L);
  return ok;
}

emit_llvm *driver_llvm_jit(aotc_ctx *ctx, driver_module *m)
{
  emit_llvm_options opt = {.opt_level = 3};
  emit_llvm *L = emit_llvm_new(ctx, &opt);
  if (L && build_module(m, L, NULL) && emit_llvm_jit(L))
    return L;
  emit_llvm_free(L);
  return NULL;
}
