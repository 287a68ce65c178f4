/* emit_llvm_stub.c: the LLVM backend's entry points when aotc is built
 * without LLVM (meson found no llvm-config-15): each reports so. */
#include "emit_llvm.h"

#include <stdio.h>

static void without(aotc_ctx *ctx)
{
  aotc_error(ctx, (ir_loc){0}, "this aotc was built without LLVM (install llvm-15-dev and reconfigure)");
}

bool emit_llvm_available(void)
{
  return false;
}

emit_llvm *emit_llvm_new(aotc_ctx *ctx, const emit_llvm_options *opt)
{
  (void)opt;
  without(ctx);
  return NULL;
}

bool emit_llvm_add_plan(emit_llvm *L, const struct emit_plan *p)
{
  (void)L;
  (void)p;
  return false;
}

bool emit_llvm_write_object(emit_llvm *L, FILE *f, const char *name)
{
  (void)L;
  (void)f;
  (void)name;
  return false;
}

bool emit_llvm_jit(emit_llvm *L)
{
  (void)L;
  return false;
}

void *emit_llvm_lookup(emit_llvm *L, const char *name)
{
  (void)L;
  (void)name;
  return NULL;
}

emit_llvm_session *emit_llvm_session_new(aotc_ctx *ctx, int opt_level, const char *cache_dir)
{
  (void)opt_level, (void)cache_dir;
  without(ctx);
  return NULL;
}

emit_llvm_object *emit_llvm_session_compile(emit_llvm_session *J, const struct emit_plan *p, int id)
{
  (void)J, (void)p, (void)id;
  return NULL;
}

int emit_llvm_session_load(emit_llvm_session *J, emit_llvm_object *o, void **call, void **call_ws, char *msg,
                           size_t cap)
{
  (void)J, (void)o;
  *call = *call_ws = NULL;
  snprintf(msg, cap, "this aotc was built without LLVM");
  return -1;
}

bool emit_llvm_session_entry(const emit_llvm_session *J, int handle, void **call, void **call_ws)
{
  (void)J, (void)handle, (void)call, (void)call_ws;
  return false;
}

void emit_llvm_object_free(emit_llvm_object *o)
{
  (void)o;
}

void emit_llvm_session_drop(emit_llvm_session *J, int handle)
{
  (void)J, (void)handle;
}

void emit_llvm_session_shared(const emit_llvm_session *J, emit_llvm_shared *out)
{
  (void)J;
  *out = (emit_llvm_shared){0};
}

void emit_llvm_session_free(emit_llvm_session *J)
{
  (void)J;
}

char *emit_llvm_ir_text(emit_llvm *L)
{
  (void)L;
  return NULL;
}

void emit_llvm_free(emit_llvm *L)
{
  (void)L;
}
