/* llvm_jit.c: the tuner's in-process compiler: one ORC LLJIT for all the
 * candidates of a search (its target machine, the process's symbols and the
 * JIT itself made once), each candidate's module optimised and added under
 * names of its own with a resource tracker, its code freed when dropped. */
#include "llvm_priv.h"

#include <stdio.h>
#include <stdlib.h>

#define JIT_MAX_LIVE 4096

struct emit_llvm_session {
  aotc_ctx *ctx;
  emit_llvm_options opt;
  LLVMTargetMachineRef tm; /* for the modules: data layout, the pipeline's cost model */
  LLVMOrcLLJITRef jit;
  LLVMOrcResourceTrackerRef rt[JIT_MAX_LIVE];
  int serial;
};

emit_llvm_session *emit_llvm_session_new(aotc_ctx *ctx, int opt_level)
{
  emit_llvm_session *J = calloc(1, sizeof *J);
  if (!J) {
    aotc_error(ctx, (ir_loc){0}, "out of memory in the LLVM backend");
    return NULL;
  }
  J->ctx = ctx;
  J->opt = (emit_llvm_options){.opt_level = opt_level};
  J->tm = lw_target_machine(ctx, &J->opt);
  if (!J->tm || !(J->jit = lw_lljit(ctx, &J->opt))) {
    emit_llvm_session_free(J);
    return NULL;
  }
  return J;
}

static int free_slot(const emit_llvm_session *J)
{
  for (int i = 0; i < JIT_MAX_LIVE; i++)
    if (!J->rt[i])
      return i;
  return -1;
}

static void *lookup(emit_llvm_session *J, aotc_ctx *ctx, const char *name, const char *suffix)
{
  char sym[600];
  LLVMOrcExecutorAddress addr = 0;
  snprintf(sym, sizeof sym, "%s%s", name, suffix);
  LLVMErrorRef err = LLVMOrcLLJITLookup(J->jit, &addr, sym);
  if (err)
    lw_llvm_failed(ctx, err, sym);
  return (void *)(uintptr_t)addr;
}

/* The plan's functions under the entry name `name` into a new module. */
static emit_llvm *build(emit_llvm_session *J, const emit_plan *p, const char *name)
{
  emit_llvm *L = lw_module_new(p->ctx, &J->opt, J->tm);
  emit_plan_fn *pf = &p->funcs[0];
  const char *saved = pf->name;
  pf->name = name;
  bool ok = L && emit_llvm_add_plan(L, p) && lw_optimise(L);
  pf->name = saved;
  if (!ok) {
    emit_llvm_free(L);
    return NULL;
  }
  return L;
}

/* Adds L's module to the JIT, tracked by a new resource tracker. */
static LLVMOrcResourceTrackerRef add_module(emit_llvm_session *J, emit_llvm *L)
{
  LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(J->jit));
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(L->m, L->tsc);
  L->m = NULL;
  LLVMErrorRef err = LLVMOrcLLJITAddLLVMIRModuleWithRT(J->jit, rt, tsm);
  if (err) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    LLVMOrcReleaseResourceTracker(rt);
    lw_llvm_failed(L->ctx, err, "adding the module");
    return NULL;
  }
  return rt;
}

static void failure(const emit_plan *p, char *msg, size_t cap)
{
  snprintf(msg, cap, "LLVM: %s", p->ctx->n_diags ? p->ctx->diags[0].msg : "out of memory");
}

int emit_llvm_session_add(emit_llvm_session *J, const emit_plan *p, void **call, void **call_ws, char *msg, size_t cap)
{
  int slot = free_slot(J);
  const char *name = p->n_funcs == 1 ? ir_sprintf(p->ctx, "%s__aotc_cand%d", p->funcs[0].name, J->serial++) : NULL;
  emit_llvm *L = slot >= 0 && name ? build(J, p, name) : NULL;
  LLVMOrcResourceTrackerRef rt = L ? add_module(J, L) : NULL;
  emit_llvm_free(L);
  *call = rt ? lookup(J, p->ctx, name, "_call") : NULL;
  *call_ws = rt ? lookup(J, p->ctx, name, "_call_workspace_bytes") : NULL;
  if (!*call || !*call_ws) {
    failure(p, msg, cap);
    if (rt) {
      LLVMErrorRef err = LLVMOrcResourceTrackerRemove(rt);
      if (err)
        LLVMConsumeError(err);
      LLVMOrcReleaseResourceTracker(rt);
    }
    return -1;
  }
  J->rt[slot] = rt;
  return slot;
}

void emit_llvm_session_drop(emit_llvm_session *J, int handle)
{
  if (!J || handle < 0 || handle >= JIT_MAX_LIVE || !J->rt[handle])
    return;
  LLVMErrorRef err = LLVMOrcResourceTrackerRemove(J->rt[handle]);
  if (err)
    lw_llvm_failed(J->ctx, err, "freeing a candidate's code");
  LLVMOrcReleaseResourceTracker(J->rt[handle]);
  J->rt[handle] = NULL;
}

void emit_llvm_session_free(emit_llvm_session *J)
{
  if (!J)
    return;
  for (int i = 0; i < JIT_MAX_LIVE; i++)
    emit_llvm_session_drop(J, i);
  if (J->jit)
    LLVMOrcDisposeLLJIT(J->jit);
  if (J->tm)
    LLVMDisposeTargetMachine(J->tm);
  free(J);
}
