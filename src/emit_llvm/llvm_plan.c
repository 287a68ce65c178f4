/* llvm_plan.c: one function through the backend's phases (emit_plan.h)
 * into an in-process LLVM module, for the tuner: the candidate's options,
 * the C path's schedule and AST, then LLVM IR compiled by ORC LLJIT. */
#include "llvm_priv.h"

#include <stdio.h>

/* The plan's phases and the LLVM functions of f into L. */
static bool build(aotc_ctx *ctx, emit_llvm *L, const ir_func *f, const emit_options *opt)
{
  ir_func *fn = (ir_func *)f;
  emit_plan *p = emit_plan_new(ctx, &fn, 1, opt, &emit_target_c);
  if (!p)
    return false;
  bool ok = emit_plan_build(p) && emit_plan_schedule(p) && emit_plan_ast(p) && emit_llvm_add_plan(L, p);
  emit_plan_free(p);
  return ok;
}

static void *lookup(emit_llvm *L, const char *name, const char *suffix)
{
  char sym[512];
  snprintf(sym, sizeof sym, "%s%s", name, suffix);
  return emit_llvm_lookup(L, sym);
}

emit_llvm *emit_llvm_jit_func(aotc_ctx *ctx, const ir_func *f, const emit_options *opt, void **call, void **call_ws,
                              char *msg, size_t cap)
{
  aotc_ctx *scratch = aotc_ctx_new(ctx->alloc, ctx->alloc_ud);
  emit_llvm_options lo = {.opt_level = 3};
  emit_llvm *L = NULL;
  if (scratch) {
    scratch->isl_max_ops = ctx->isl_max_ops;
    L = emit_llvm_new(scratch, &lo);
  }
  bool ok = L && build(scratch, L, f, opt) && emit_llvm_jit(L);
  *call = ok ? lookup(L, f->name, "_call") : NULL;
  *call_ws = ok ? lookup(L, f->name, "_call_workspace_bytes") : NULL;
  if (!*call || !*call_ws) {
    snprintf(msg, cap, "LLVM: %s", scratch && scratch->n_diags ? scratch->diags[0].msg : "out of memory");
    emit_llvm_free(L);
    L = NULL;
  }
  if (L)
    L->ctx = ctx;
  aotc_ctx_free(scratch);
  return L;
}
