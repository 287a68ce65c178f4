/* llvm_split.c: the micro-kernels (aotc_ukr_*, llvm_ukernel.c) optimised
 * apart from the code that calls them. Each is moved into a module of its
 * own (a clone of the module with everything else deleted) and the calling
 * module keeps a declaration, so both are optimised alone: `--emit obj` and
 * `run --backend llvm` link them back after the pipeline (internal again),
 * and the tuner compiles each distinct micro-kernel once per search and
 * shares it between candidates (llvm_jit.c). The code the tuner times is
 * thus the code `--emit obj` writes. */
#include "llvm_priv.h"

#include <llvm-c/Linker.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UKR_PREFIX "aotc_ukr_"

static bool is_ukernel(LLVMValueRef fn)
{
  size_t len;
  const char *name = LLVMGetValueName2(fn, &len);
  return !LLVMIsDeclaration(fn) && len > strlen(UKR_PREFIX) && !strncmp(name, UKR_PREFIX, strlen(UKR_PREFIX));
}


/* Deletes from m every function but keep and every global left unused. */
static void keep_only(LLVMModuleRef m, const char *keep)
{
  LLVMValueRef next;
  for (LLVMValueRef fn = LLVMGetFirstFunction(m); fn; fn = next) {
    next = LLVMGetNextFunction(fn);
    size_t len;
    const char *name = LLVMGetValueName2(fn, &len);
    if (strcmp(name, keep) && !LLVMIsDeclaration(fn))
      LLVMDeleteFunction(fn);
  }
  for (LLVMValueRef g = LLVMGetFirstGlobal(m); g; g = next) {
    next = LLVMGetNextGlobal(g);
    if (!LLVMGetFirstUse(g))
      LLVMDeleteGlobal(g);
  }
}

/* fn replaced in its module by a declaration named name. */
static void to_declaration(LLVMValueRef fn, const char *name)
{
  LLVMModuleRef m = LLVMGetGlobalParent(fn);
  LLVMTypeRef ty = LLVMGlobalGetValueType(fn);
  LLVMSetValueName2(fn, "aotc.moved", strlen("aotc.moved"));
  LLVMValueRef decl = LLVMAddFunction(m, name, ty);
  LLVMReplaceAllUsesWith(fn, decl);
  LLVMDeleteFunction(fn);
}

/* The micro-kernel fn moved into a module of its own, named NAME (or
 * NAME__HASH when suffix_hash). */
static bool split_one(emit_llvm *L, LLVMValueRef fn, bool suffix_hash, lw_ukr *u)
{
  size_t len;
  char *text = LLVMPrintValueToString(fn);
  u->hash = ir_hash_str(text);
  LLVMDisposeMessage(text);
  const char *old = LLVMGetValueName2(fn, &len);
  char name[sizeof u->name - 20];
  snprintf(name, sizeof name, "%.*s", (int)len, old);
  if (suffix_hash)
    snprintf(u->name, sizeof u->name, "%s__%016llx", name, (unsigned long long)u->hash);
  else
    snprintf(u->name, sizeof u->name, "%s", name);
  u->m = LLVMCloneModule(L->m);
  if (!u->m)
    return false;
  keep_only(u->m, name);
  LLVMValueRef def = LLVMGetNamedFunction(u->m, name);
  LLVMSetLinkage(def, LLVMExternalLinkage);
  LLVMSetValueName2(def, u->name, strlen(u->name));
  to_declaration(fn, u->name);
  return true;
}

int lw_split_ukernels(emit_llvm *L, bool suffix_hash, lw_ukr *out, int cap)
{
  LLVMValueRef fns[LW_MAX_UKR];
  int n = 0;
  for (LLVMValueRef fn = LLVMGetFirstFunction(L->m); fn; fn = LLVMGetNextFunction(fn))
    if (is_ukernel(fn)) {
      if (n == cap || n == LW_MAX_UKR)
        return -1;
      fns[n++] = fn;
    }
  for (int i = 0; i < n; i++)
    if (!split_one(L, fns[i], suffix_hash, &out[i])) {
      for (int j = 0; j < i; j++)
        LLVMDisposeModule(out[j].m);
      return -1;
    }
  return n;
}

bool lw_link_ukernels(emit_llvm *L, lw_ukr *u, int n)
{
  bool ok = true;
  for (int i = 0; i < n; i++) {
    if (!ok) {
      LLVMDisposeModule(u[i].m);
      continue;
    }
    if (LLVMLinkModules2(L->m, u[i].m)) {
      aotc_error(L->ctx, (ir_loc){0}, "LLVM: cannot link the micro-kernel '%s'", u[i].name);
      ok = false;
      continue;
    }
    LLVMValueRef fn = LLVMGetNamedFunction(L->m, u[i].name);
    if (fn)
      LLVMSetLinkage(fn, LLVMInternalLinkage);
  }
  return ok;
}
