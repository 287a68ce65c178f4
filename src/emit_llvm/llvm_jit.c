/* llvm_jit.c: the tuner's in-process compiler. A candidate's plan is
 * compiled to an object in memory (IR, the pipeline, code generation, with
 * a target machine of its own: safe on several threads at once, one
 * candidate per thread), then loaded into the one ORC LLJIT of the search
 * (made once, resolving the process's symbols) under names of its own,
 * with a resource tracker; its code is freed when dropped. */
#include "llvm_priv.h"

#include <stdio.h>
#include <stdlib.h>

#define JIT_MAX_LIVE 4096

struct emit_llvm_session {
  aotc_ctx *ctx;
  emit_llvm_options opt;
  LLVMOrcLLJITRef jit;
  LLVMOrcResourceTrackerRef rt[JIT_MAX_LIVE];
  void *call[JIT_MAX_LIVE], *call_ws[JIT_MAX_LIVE];
};

struct emit_llvm_object {
  char name[256];            /* the entry's name in the JIT */
  LLVMMemoryBufferRef code;  /* the ELF object; NULL once loaded */
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
  if (!(J->jit = lw_lljit(ctx, &J->opt))) {
    emit_llvm_session_free(J);
    return NULL;
  }
  return J;
}

/* The plan's functions under the entry name `name`, optimised, as an object. */
static LLVMMemoryBufferRef compile(const emit_llvm_options *opt, const emit_plan *p, const char *name)
{
  emit_llvm *L = emit_llvm_new(p->ctx, opt);
  emit_plan_fn *pf = &p->funcs[0];
  const char *saved = pf->name;
  LLVMMemoryBufferRef code = NULL;
  char *err = NULL;
  pf->name = name;
  bool ok = L && emit_llvm_add_plan(L, p) && lw_optimise(L);
  pf->name = saved;
  if (ok && LLVMTargetMachineEmitToMemoryBuffer(L->tm, L->m, LLVMObjectFile, &err, &code)) {
    aotc_error(p->ctx, (ir_loc){0}, "LLVM: code generation: %s", err ? err : "");
    code = NULL;
  }
  LLVMDisposeMessage(err);
  emit_llvm_free(L);
  return code;
}

emit_llvm_object *emit_llvm_session_compile(const emit_llvm_session *J, const emit_plan *p, int id)
{
  emit_llvm_object *o = calloc(1, sizeof *o);
  if (!o || p->n_funcs != 1) {
    aotc_error(p->ctx, (ir_loc){0}, "LLVM: a candidate of one function expected");
    free(o);
    return NULL;
  }
  snprintf(o->name, sizeof o->name, "%.200s__aotc_cand%d", p->funcs[0].name, id);
  if (!(o->code = compile(&J->opt, p, o->name))) {
    free(o);
    return NULL;
  }
  return o;
}

static int free_slot(const emit_llvm_session *J)
{
  for (int i = 0; i < JIT_MAX_LIVE; i++)
    if (!J->rt[i])
      return i;
  return -1;
}

static void *lookup(emit_llvm_session *J, const char *name, const char *suffix, char *msg, size_t cap)
{
  char sym[600];
  LLVMOrcExecutorAddress addr = 0;
  snprintf(sym, sizeof sym, "%s%s", name, suffix);
  LLVMErrorRef err = LLVMOrcLLJITLookup(J->jit, &addr, sym);
  if (err) {
    char *m = LLVMGetErrorMessage(err);
    snprintf(msg, cap, "LLVM: %s: %s", sym, m);
    LLVMDisposeErrorMessage(m);
  }
  return (void *)(uintptr_t)addr;
}

static void remove_code(LLVMOrcResourceTrackerRef rt)
{
  LLVMErrorRef err = LLVMOrcResourceTrackerRemove(rt);
  if (err)
    LLVMConsumeError(err);
  LLVMOrcReleaseResourceTracker(rt);
}

int emit_llvm_session_load(emit_llvm_session *J, emit_llvm_object *o, void **call, void **call_ws, char *msg,
                           size_t cap)
{
  int slot = free_slot(J);
  *call = *call_ws = NULL;
  if (slot < 0 || !o->code) {
    snprintf(msg, cap, "LLVM: %s", slot < 0 ? "too many candidates loaded" : "loaded before");
    return -1;
  }
  LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(J->jit));
  LLVMErrorRef err = LLVMOrcLLJITAddObjectFileWithRT(J->jit, rt, o->code);
  o->code = NULL;
  if (err) {
    char *m = LLVMGetErrorMessage(err);
    snprintf(msg, cap, "LLVM: adding the object: %s", m);
    LLVMDisposeErrorMessage(m);
    LLVMOrcReleaseResourceTracker(rt);
    return -1;
  }
  *call = lookup(J, o->name, "_call", msg, cap);
  *call_ws = *call ? lookup(J, o->name, "_call_workspace_bytes", msg, cap) : NULL;
  if (!*call || !*call_ws) {
    remove_code(rt);
    return -1;
  }
  J->rt[slot] = rt;
  J->call[slot] = *call;
  J->call_ws[slot] = *call_ws;
  return slot;
}

bool emit_llvm_session_entry(const emit_llvm_session *J, int handle, void **call, void **call_ws)
{
  if (!J || handle < 0 || handle >= JIT_MAX_LIVE || !J->rt[handle])
    return false;
  *call = J->call[handle];
  *call_ws = J->call_ws[handle];
  return true;
}

void emit_llvm_object_free(emit_llvm_object *o)
{
  if (o && o->code)
    LLVMDisposeMemoryBuffer(o->code);
  free(o);
}

void emit_llvm_session_drop(emit_llvm_session *J, int handle)
{
  if (!J || handle < 0 || handle >= JIT_MAX_LIVE || !J->rt[handle])
    return;
  remove_code(J->rt[handle]);
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
  free(J);
}
