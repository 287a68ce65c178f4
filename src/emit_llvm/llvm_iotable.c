/* llvm_iotable.c: a model's input, parameter and output tables
 * (NAME_inputs, NAME_params, NAME_outputs of type aotc_io_info, which the
 * header declares) as constant globals of the object, as emit_model.c
 * prints them for C: name, element type, element bytes, rank, shape. */
#include "llvm_priv.h"

#include <stdio.h>
#include <string.h>

static LLVMValueRef cstring(emit_llvm *L, const char *s)
{
  LLVMValueRef init = LLVMConstStringInContext(L->c, s, (unsigned)strlen(s), 0);
  LLVMValueRef g = LLVMAddGlobal(L->m, LLVMTypeOf(init), "aotc_str");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return g;
}

static LLVMValueRef shape(emit_llvm *L, const ir_tensor *T)
{
  LLVMValueRef dims[64];
  int n = T->rank > 0 && T->rank <= 64 ? T->rank : 1;
  int64_t d;
  for (int j = 0; j < n; j++)
    dims[j] = LLVMConstInt(L->i64, (unsigned long long)(j < T->rank && T->shape[j] && ir_size_is_const(T->shape[j], &d) ? d : T->rank ? -1 : 0), 1);
  LLVMValueRef init = LLVMConstArray(L->i64, dims, (unsigned)n);
  LLVMValueRef g = LLVMAddGlobal(L->m, LLVMTypeOf(init), "aotc_shape");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

/* { const char *name, *type; int element_bytes, rank; const int64_t *shape; } */
static LLVMTypeRef info_type(emit_llvm *L)
{
  LLVMTypeRef fields[] = {L->ptr, L->ptr, L->i32, L->i32, L->ptr};
  return LLVMStructTypeInContext(L->c, fields, 5, 0);
}

static LLVMValueRef info(emit_llvm *L, const ir_tensor *T)
{
  LLVMValueRef f[] = {cstring(L, T->name), cstring(L, ir_types[T->type].name),
                      LLVMConstInt(L->i32, (unsigned)ir_types[T->type].bytes, 0),
                      LLVMConstInt(L->i32, (unsigned)T->rank, 0), shape(L, T)};
  return LLVMConstNamedStruct(info_type(L), f, 5);
}

static void table(emit_llvm *L, const ir_func *f, const char *name, const char *kind, const int *ts, int n)
{
  LLVMValueRef rows[64];
  int k = n < 64 ? n : 64;
  for (int i = 0; i < k; i++)
    rows[i] = info(L, f->tensors[ts[i]]);
  if (k == 0)
    rows[k++] = LLVMConstNull(info_type(L));
  LLVMValueRef init = LLVMConstArray(info_type(L), rows, (unsigned)k);
  char sym[512];
  snprintf(sym, sizeof sym, "%s_%ss", name, kind);
  LLVMValueRef g = LLVMAddGlobal(L->m, LLVMTypeOf(init), sym);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
}

void lw_io_tables(emit_llvm *L, const ir_func *f, const char *name)
{
  if (!ir_func_is_model(f))
    return;
  int n_in = ir_func_first_parameter(f);
  table(L, f, name, "input", f->inputs, n_in);
  table(L, f, name, "param", f->inputs + n_in, f->n_inputs - n_in);
  table(L, f, name, "output", f->outputs, f->n_outputs);
}
