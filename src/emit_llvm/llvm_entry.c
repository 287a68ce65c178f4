/* llvm_entry.c: the functions of one plan in the LLVM module, with the C
 * path's ABI (emit_abi.c): NAME (size checks, computed dimensions, the
 * temporaries' pointers into the workspace from the memory plan, the
 * kernels), NAME_workspace_bytes, NAME_call and NAME_call_workspace_bytes;
 * constant tensors as private constant globals (.rodata). */
#include "llvm_priv.h"

#include "graph.h"

#include <llvm-c/Analysis.h>

#include <stdlib.h>
#include <string.h>

static LLVMValueRef ret_if(lw_fn *F, LLVMValueRef bad, LLVMValueRef code)
{
  LLVMBasicBlockRef fail = lw_block(F, "fail"), ok = lw_block(F, "ok");
  LLVMBuildCondBr(F->b, bad, fail, ok);
  LLVMPositionBuilderAtEnd(F->b, fail);
  LLVMBuildRet(F->b, code);
  LLVMPositionBuilderAtEnd(F->b, ok);
  return NULL;
}

static bool is_scalar_input(const ir_func *f, int t)
{
  return f->tensors[t]->rank == 0 && f->tensors[t]->role == IR_INPUT;
}

static bool is_simple_size(const ir_size *s)
{
  return s && (s->kind == IR_SZ_CONST || s->kind == IR_SZ_PARAM);
}

static const int64_t *fixed_sizes(const lw_fn *F)
{
  return F->p->opt ? F->p->opt->fixed_sizes : NULL;
}

/* ------------------------------------------------------------------------
 * Prologue: sizes, dimensions
 * ------------------------------------------------------------------------ */

/* The check of size parameter v (int64_t): != its fixed value, or < 0, or
 * (a 32-bit index type) above INT32_MAX. */
static LLVMValueRef bad_param(lw_fn *F, LLVMValueRef v, const int64_t *fixed, int p)
{
  LLVMValueRef zero = LLVMConstInt(F->L->i64, 0, 0);
  if (fixed && fixed[p] >= 0)
    return LLVMBuildICmp(F->b, LLVMIntNE, v, LLVMConstInt(F->L->i64, (unsigned long long)fixed[p], 1), "");
  if (F->L->idx == F->L->i64)
    return LLVMBuildICmp(F->b, LLVMIntSLT, v, zero, "");
  return LLVMBuildICmp(F->b, LLVMIntUGT, v, LLVMConstInt(F->L->i64, INT32_MAX, 0), "");
}

/* if (M < 0 || N != 64 || check < 0) return code; then a size is a value
 * of the index type, a fixed one a constant. */
static void check_params(lw_fn *F, LLVMValueRef code)
{
  const int64_t *fixed = fixed_sizes(F);
  LLVMValueRef bad = LLVMConstInt(F->L->i1, 0, 0);
  for (int p = 0; p < F->f->n_params; p++) {
    bad = LLVMBuildOr(F->b, bad, bad_param(F, F->param[p], fixed, p), "");
    F->param[p] = lw_to_idx(F, F->param[p], IR_I64);
  }
  for (int c = 0; c < F->f->n_checks; c++)
    bad = LLVMBuildOr(F->b, bad, LLVMBuildICmp(F->b, LLVMIntSLT, lw_size(F, F->f->checks[c]), lw_idx(F->L, 0), ""),
                      "");
  ret_if(F, bad, code);
  for (int p = 0; fixed && p < F->f->n_params; p++)
    if (fixed[p] >= 0)
      F->param[p] = lw_idx(F->L, fixed[p]);
}

/* Every dimension's value; computed ones must not be negative. */
static bool compute_dims(lw_fn *F, LLVMValueRef code)
{
  LLVMValueRef bad = LLVMConstInt(F->L->i1, 0, 0);
  F->dim = IR_NEW_ARRAY(F->L->ctx, LLVMValueRef *, F->f->n_tensors);
  for (int t = 0; F->dim && t < F->f->n_tensors; t++) {
    const ir_tensor *T = F->f->tensors[t];
    if (!(F->dim[t] = IR_NEW_ARRAY(F->L->ctx, LLVMValueRef, T->rank)))
      return false;
    for (int j = 0; j < T->rank; j++) {
      F->dim[t][j] = lw_size(F, T->shape[j]);
      if (!is_simple_size(T->shape[j]))
        bad = LLVMBuildOr(F->b, bad, LLVMBuildICmp(F->b, LLVMIntSLT, F->dim[t][j], lw_idx(F->L, 0), ""), "");
    }
  }
  if (!F->dim)
    return false;
  ret_if(F, bad, code);
  return true;
}

static int count_temps(const ir_func *f)
{
  int n = 0;
  for (int t = 0; t < f->n_tensors; t++)
    n += f->tensors[t]->role == IR_TEMP;
  return n;
}

static bool per_call_plan(const ir_func *f)
{
  return !f->memory_planned && f->memory_planned_per_call && count_temps(f) > 0;
}

/* aotc_ws_size(bytes of temporary t): rounded up to 64, at least 64. */
static LLVMValueRef temp_bytes(lw_fn *F, int t)
{
  const ir_tensor *T = F->f->tensors[t];
  LLVMValueRef n = lw_idx(F->L, ir_types[T->type].bytes);
  for (int j = 0; j < T->rank; j++)
    n = LLVMBuildMul(F->b, n, F->dim[t][j], "");
  LLVMValueRef up = LLVMBuildAnd(F->b, LLVMBuildAdd(F->b, n, lw_idx(F->L, 63), ""), lw_idx(F->L, ~(int64_t)63), "");
  LLVMValueRef zero = LLVMBuildICmp(F->b, LLVMIntEQ, n, lw_idx(F->L, 0), "");
  return LLVMBuildSelect(F->b, zero, lw_idx(F->L, 64), up, "");
}

/* Offset of temporary t (the memory plan's, or the sum of those before). */
static LLVMValueRef temp_offset(lw_fn *F, int t)
{
  if (F->f->memory_planned)
    return lw_idx(F->L, F->f->tensors[t]->ws_offset);
  LLVMValueRef off = lw_idx(F->L, 0);
  for (int u = 0; u < t; u++)
    if (F->f->tensors[u]->role == IR_TEMP)
      off = LLVMBuildAdd(F->b, off, temp_bytes(F, u), "");
  return off;
}

static bool packs(const lw_fn *F)
{
  return F->pf->n_contr > 0;
}

/* Bytes of the temporaries: where the packing buffers start. */
static LLVMValueRef temps_total(lw_fn *F)
{
  if (count_temps(F->f) == 0)
    return lw_idx(F->L, 0);
  if (F->f->memory_planned)
    return lw_idx(F->L, F->f->workspace_bytes == 0 ? 64 : (F->f->workspace_bytes + 63) / 64 * 64);
  LLVMValueRef off = lw_idx(F->L, 0);
  for (int u = 0; u < F->f->n_tensors; u++)
    if (F->f->tensors[u]->role == IR_TEMP)
      off = LLVMBuildAdd(F->b, off, temp_bytes(F, u), "");
  return off;
}

static LLVMValueRef workspace_total(lw_fn *F)
{
  if (packs(F))
    return LLVMBuildAdd(F->b, temps_total(F), lw_pack_bytes(F), "");
  if (count_temps(F->f) == 0)
    return lw_idx(F->L, 0);
  if (F->f->memory_planned)
    return lw_idx(F->L, F->f->workspace_bytes);
  LLVMValueRef off = lw_idx(F->L, 0);
  for (int u = 0; u < F->f->n_tensors; u++)
    if (F->f->tensors[u]->role == IR_TEMP)
      off = LLVMBuildAdd(F->b, off, temp_bytes(F, u), "");
  return off;
}

/* ------------------------------------------------------------------------
 * Constants
 * ------------------------------------------------------------------------ */

static LLVMValueRef constant_global(lw_fn *F, int t)
{
  const ir_tensor *T = F->f->tensors[t];
  int64_t n = emit_abi_const_numel(T);
  if (n < 0 || (!T->data && n > 0)) {
    lw_fail(F, "a constant without data of a constant shape");
    return LLVMConstNull(F->L->ptr);
  }
  size_t bytes = (size_t)n * (size_t)ir_types[T->type].bytes;
  LLVMValueRef init = bytes ? LLVMConstStringInContext(F->L->c, T->data, (unsigned)bytes, 1)
                            : LLVMConstNull(LLVMArrayType(F->L->i8, 1));
  const char *name = ir_sprintf(F->L->ctx, "aotc_%s_%s", F->pf->name, F->pf->tensor_c[t]);
  LLVMValueRef g = LLVMAddGlobal(F->L->m, LLVMTypeOf(init), name ? name : "aotc_const");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  LLVMSetAlignment(g, 64);
  return g;
}

/* ------------------------------------------------------------------------
 * Functions
 * ------------------------------------------------------------------------ */

static LLVMTypeRef arg_type(emit_llvm *L, const ir_func *f, int t)
{
  return is_scalar_input(f, t) ? lw_mem_type(L, f->tensors[t]->type) : L->ptr;
}

/* int NAME(int64_t sizes..., inputs..., outputs..., void *workspace) */
static LLVMTypeRef entry_type(emit_llvm *L, const ir_func *f)
{
  int n = f->n_params + f->n_inputs + f->n_outputs + 1, k = 0;
  LLVMTypeRef *ty = IR_NEW_ARRAY(L->ctx, LLVMTypeRef, n);
  if (!ty)
    return NULL;
  for (int p = 0; p < f->n_params; p++)
    ty[k++] = L->i64;
  for (int i = 0; i < f->n_inputs; i++)
    ty[k++] = arg_type(L, f, f->inputs[i]);
  for (int i = 0; i < f->n_outputs; i++)
    ty[k++] = L->ptr;
  ty[k++] = L->ptr;
  return LLVMFunctionType(L->i32, ty, (unsigned)n, 0);
}

static LLVMTypeRef ws_bytes_type(emit_llvm *L, const ir_func *f)
{
  LLVMTypeRef *ty = IR_NEW_ARRAY(L->ctx, LLVMTypeRef, f->n_params);
  for (int p = 0; ty && p < f->n_params; p++)
    ty[p] = L->i64;
  return ty ? LLVMFunctionType(L->size_t_ty, ty, (unsigned)f->n_params, 0) : NULL;
}

static void add_noalias(emit_llvm *L, LLVMValueRef fn, unsigned arg)
{
  unsigned kind = LLVMGetEnumAttributeKindForName("noalias", 7);
  LLVMAddAttributeAtIndex(fn, arg + 1, LLVMCreateEnumAttribute(L->c, kind, 0));
}

static bool start_fn(lw_fn *F, const char *name, LLVMTypeRef ty)
{
  emit_llvm *L = F->L;
  if (!ty || !name)
    return false;
  F->fn = LLVMAddFunction(L->m, name, ty);
  F->b = LLVMCreateBuilderInContext(L->c);
  LLVMPositionBuilderAtEnd(F->b, lw_block(F, "entry"));
  F->param = IR_NEW_ARRAY(L->ctx, LLVMValueRef, F->f->n_params);
  F->tensor = IR_NEW_ARRAY(L->ctx, LLVMValueRef, F->f->n_tensors);
  for (int p = 0; F->param && p < F->f->n_params; p++)
    F->param[p] = LLVMGetParam(F->fn, (unsigned)p);
  return F->param && F->tensor;
}

static void bind_tensors(lw_fn *F)
{
  const ir_func *f = F->f;
  unsigned k = (unsigned)f->n_params;
  for (int i = 0; i < f->n_inputs; i++, k++) {
    F->tensor[f->inputs[i]] = LLVMGetParam(F->fn, k);
    if (!is_scalar_input(f, f->inputs[i]))
      add_noalias(F->L, F->fn, k);
  }
  for (int i = 0; i < f->n_outputs; i++, k++) {
    F->tensor[f->outputs[i]] = LLVMGetParam(F->fn, k);
    add_noalias(F->L, F->fn, k);
  }
  for (int t = 0; t < f->n_tensors; t++)
    if (f->tensors[t]->role == IR_CONSTANT && !lw_prepack_replaces(F, t))
      F->tensor[t] = constant_global(F, t);
}

/* Alias scopes for the temporaries of a memory-planned function: one scope
 * each in one domain per function, and on every access to t !noalias with
 * the scopes of the temporaries whose slots [ws_offset, ws_offset +
 * ir_memplan_temp_bytes) do not meet t's (a view lies inside its owner's
 * slot, so the two keep aliasing; two temporaries the plan put on the same
 * bytes at different times too). LLVM cannot tell them apart by
 * itself: all are offsets into the one workspace pointer, with indices it
 * cannot bound. */
static void temp_scopes(lw_fn *F)
{
  const ir_func *f = F->f;
  if (!f->memory_planned)
    return;
  int n = f->n_tensors;
  int64_t *lo = IR_NEW_ARRAY(F->L->ctx, int64_t, n), *hi = IR_NEW_ARRAY(F->L->ctx, int64_t, n);
  LLVMMetadataRef *scope = IR_NEW_ARRAY(F->L->ctx, LLVMMetadataRef, n);
  LLVMMetadataRef *list = IR_NEW_ARRAY(F->L->ctx, LLVMMetadataRef, n);
  F->scope_md = IR_NEW_ARRAY(F->L->ctx, LLVMValueRef, n);
  F->noalias_md = IR_NEW_ARRAY(F->L->ctx, LLVMValueRef, n);
  if (!lo || !hi || !scope || !list || !F->scope_md || !F->noalias_md) {
    F->scope_md = NULL;
    return;
  }
  LLVMContextRef c = F->L->c;
  LLVMMetadataRef name = LLVMMDStringInContext2(c, "aotc.workspace", 14);
  LLVMMetadataRef domain = lw_self_node(c, &name, 1);
  for (int t = 0; t < n; t++) {
    const ir_tensor *T = f->tensors[t];
    int64_t bytes = T->role == IR_TEMP ? ir_memplan_temp_bytes(T) : -1;
    if (bytes <= 0)
      continue;
    lo[t] = T->ws_offset;
    hi[t] = T->ws_offset + bytes;
    scope[t] = lw_self_node(c, &domain, 1);
    F->scope_md[t] = LLVMMetadataAsValue(c, LLVMMDNodeInContext2(c, &scope[t], 1));
  }
  for (int t = 0; t < n; t++) {
    if (!F->scope_md[t])
      continue;
    int k = 0;
    for (int u = 0; u < n; u++)
      if (u != t && F->scope_md[u] && (hi[u] <= lo[t] || hi[t] <= lo[u]))
        list[k++] = scope[u];
    F->noalias_md[t] = k ? LLVMMetadataAsValue(c, LLVMMDNodeInContext2(c, list, (size_t)k)) : NULL;
  }
}

/* The entry's workspace argument (after the sizes, inputs and outputs). */
static LLVMValueRef workspace_param(const lw_fn *F)
{
  return LLVMGetParam(F->fn, (unsigned)(F->f->n_params + F->f->n_inputs + F->f->n_outputs));
}

static void bind_temps(lw_fn *F, LLVMValueRef ws)
{
  if (count_temps(F->f) == 0 && !packs(F))
    return;
  ret_if(F, LLVMBuildIsNull(F->b, ws, ""), LLVMConstInt(F->L->i32, 2, 0));
  if (packs(F)) {
    LLVMValueRef off = temps_total(F);
    F->pack = LLVMBuildGEP2(F->b, F->L->i8, ws, &off, 1, "");
  }
  for (int t = 0; t < F->f->n_tensors; t++)
    if (F->f->tensors[t]->role == IR_TEMP) {
      LLVMValueRef off = temp_offset(F, t);
      F->tensor[t] = LLVMBuildGEP2(F->b, F->L->i8, ws, &off, 1, "");
    }
  temp_scopes(F);
}

/* The value the entry passes for pointer w (emit_outline_groups.uses). */
static LLVMValueRef outline_arg(lw_fn *F, int w)
{
  if (w >= 0)
    return F->tensor[w];
  if (w == EMIT_OUTLINE_PACK)
    return F->pack ? F->pack : LLVMConstPointerNull(F->L->ptr);
  return workspace_param(F);
}

/* Whether the bytes of temporaries a and b meet (temp_scopes' rule). */
static bool temps_meet(const ir_func *f, int a, int b)
{
  const ir_tensor *A = f->tensors[a], *B = f->tensors[b];
  int64_t na = ir_memplan_temp_bytes(A), nb = ir_memplan_temp_bytes(B);
  return !(A->ws_offset + na <= B->ws_offset || B->ws_offset + nb <= A->ws_offset);
}

/* Whether the alias scopes of group member i's temporaries hold for every
 * other member: two of its pointers whose bytes never meet in i never meet
 * in the others either (then the function keeps them, not inlined). */
static bool scopes_hold(const lw_fn *F, const emit_outline_groups *g, int i)
{
  const ir_func *f = F->f;
  if (!F->scope_md)
    return false;
  for (int j = 0; j < g->n; j++) {
    if (j == i || g->group[j] != g->group[i])
      continue;
    for (int u = 0; u < g->n_uses[i]; u++)
      for (int v = u + 1; v < g->n_uses[i]; v++) {
        int a = g->uses[i][u], b = g->uses[i][v], c = g->uses[j][u], d = g->uses[j][v];
        if (a < 0 || b < 0 || !F->scope_md[a] || !F->scope_md[b] || temps_meet(f, a, b))
          continue;
        if (c < 0 || d < 0 || !F->scope_md[c] || !F->scope_md[d] || temps_meet(f, c, d))
          return false;
      }
  }
  return true;
}

/* Kernel i (the first of its group) as an internal function of the
 * pointers it uses (emit_outline.c's grouping: the other kernels of the
 * group are the same code on other pointers). Its accesses keep the alias
 * scopes of i's temporaries when they hold for every member (scopes_hold;
 * the function is then never inlined, so that they stay among its own
 * accesses), else carry none. NULL when it cannot stand alone (it would
 * read a value of the entry): the group is then built inline. */
static LLVMValueRef outline_fn(lw_fn *F, const emit_outline_groups *g, int i)
{
  emit_llvm *L = F->L;
  int n = g->n_uses[i];
  LLVMTypeRef *ty = IR_NEW_ARRAY(L->ctx, LLVMTypeRef, n);
  lw_fn G = *F;
  G.tensor = IR_NEW_ARRAY(L->ctx, LLVMValueRef, F->f->n_tensors);
  G.iter = IR_NEW_ARRAY(L->ctx, LLVMValueRef, F->n_iter);
  if (!ty || !G.tensor || !G.iter)
    return NULL;
  memcpy(G.tensor, F->tensor, sizeof *G.tensor * (size_t)F->f->n_tensors);
  for (int u = 0; u < n; u++)
    ty[u] = LLVMTypeOf(outline_arg(F, g->uses[i][u]));
  G.fn = LLVMAddFunction(L->m, ir_sprintf(L->ctx, "%s_aotc_k%d", F->pf->name, g->group[i]),
                         LLVMFunctionType(LLVMVoidTypeInContext(L->c), ty, (unsigned)n, 0));
  LLVMSetLinkage(G.fn, LLVMInternalLinkage);
  G.b = LLVMCreateBuilderInContext(L->c);
  LLVMPositionBuilderAtEnd(G.b, lw_block(&G, "entry"));
  for (int u = 0; u < n; u++) {
    int w = g->uses[i][u];
    if (w >= 0)
      G.tensor[w] = LLVMGetParam(G.fn, (unsigned)u);
    else if (w == EMIT_OUTLINE_PACK)
      G.pack = LLVMGetParam(G.fn, (unsigned)u);
  }
  if (scopes_hold(F, g, i))
    LLVMAddAttributeAtIndex(G.fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(L->c, LLVMGetEnumAttributeKindForName("noinline", 8), 0));
  else
    G.scope_md = G.noalias_md = NULL;
  G.n_vars = 0;
  G.fail_index = NULL;
  G.failed = false;
  lw_kernel(&G, i);
  LLVMBuildRetVoid(G.b);
  LLVMDisposeBuilder(G.b);
  if (G.failed || LLVMVerifyFunction(G.fn, LLVMReturnStatusAction)) {
    LLVMDeleteFunction(G.fn);
    return NULL;
  }
  return G.fn;
}

static void run_kernels(lw_fn *F)
{
  if (F->f->body) {
    lw_region(F, F->f->body);
    return;
  }
  emit_outline_groups g;
  bool grouped = emit_outline_plan(F->p, F->pf, &g);
  LLVMValueRef *fns = grouped ? IR_NEW_ARRAY(F->L->ctx, LLVMValueRef, g.n_groups) : NULL;
  bool *inline_group = grouped ? IR_NEW_ARRAY(F->L->ctx, bool, g.n_groups) : NULL;
  for (int i = 0; i < F->pf->n_kernels; i++) {
    int k = fns && inline_group ? g.group[i] : -1;
    if (k >= 0 && !fns[k] && !inline_group[k])
      inline_group[k] = !(fns[k] = outline_fn(F, &g, i));
    if (k < 0 || inline_group[k]) {
      lw_kernel(F, i);
      continue;
    }
    LLVMValueRef *args = IR_NEW_ARRAY(F->L->ctx, LLVMValueRef, g.n_uses[i]);
    for (int u = 0; args && u < g.n_uses[i]; u++)
      args[u] = outline_arg(F, g.uses[i][u]);
    if (args)
      LLVMBuildCall2(F->b, LLVMGlobalGetValueType(fns[k]), fns[k], args, (unsigned)g.n_uses[i], "");
    else
      lw_kernel(F, i);
  }
  if (grouped)
    emit_outline_groups_free(&g);
}

static int max_indices(const ir_func *f)
{
  int n = 1;
  for (int i = 0; i < f->n_stmts; i++) {
    int k = emit_bound_count(f->stmts[i]);
    n = k > n ? k : n;
  }
  return n;
}

static bool build_entry(lw_fn *F)
{
  const ir_func *f = F->f;
  if (!start_fn(F, F->pf->name, entry_type(F->L, f)))
    return false;
  LLVMValueRef one = LLVMConstInt(F->L->i32, 1, 0);
  F->n_iter = max_indices(f);
  F->iter = IR_NEW_ARRAY(F->L->ctx, LLVMValueRef, F->n_iter);
  if (!F->iter || !lw_prepack_setup(F))
    return false;
  bind_tensors(F);
  check_params(F, one);
  if (!compute_dims(F, one))
    return false;
  bind_temps(F, workspace_param(F));
  run_kernels(F);
  LLVMBuildRet(F->b, LLVMConstInt(F->L->i32, 0, 0));
  return !F->failed;
}

static LLVMValueRef to_size_t(lw_fn *F, LLVMValueRef v)
{
  return LLVMBuildZExtOrBitCast(F->b, LLVMBuildTruncOrBitCast(F->b, v, F->L->size_t_ty, ""), F->L->size_t_ty, "");
}

static bool build_ws_bytes(lw_fn *F)
{
  if (!start_fn(F, ir_sprintf(F->L->ctx, "%s_workspace_bytes", F->pf->name), ws_bytes_type(F->L, F->f)))
    return false;
  LLVMValueRef zero = LLVMConstInt(F->L->size_t_ty, 0, 0);
  for (int t = 0; t < F->f->n_tensors; t++)
    F->tensor[t] = LLVMConstNull(F->L->ptr);
  check_params(F, zero);
  if (!compute_dims(F, zero))
    return false;
  LLVMBuildRet(F->b, to_size_t(F, workspace_total(F)));
  return !F->failed;
}

/* NAME_call(const int64_t *sizes, void *const *args, void *workspace) */
static bool build_call(lw_fn *F, LLVMValueRef entry, LLVMTypeRef ety)
{
  const ir_func *f = F->f;
  LLVMTypeRef ty[] = {F->L->ptr, F->L->ptr, F->L->ptr};
  if (!start_fn(F, ir_sprintf(F->L->ctx, "%s_call", F->pf->name), LLVMFunctionType(F->L->i32, ty, 3, 0)))
    return false;
  int n = f->n_params + f->n_inputs + f->n_outputs + 1, k = 0;
  LLVMValueRef *args = IR_NEW_ARRAY(F->L->ctx, LLVMValueRef, n), sizes = LLVMGetParam(F->fn, 0),
               argv = LLVMGetParam(F->fn, 1);
  if (!args)
    return false;
  for (int p = 0; p < f->n_params; p++) {
    LLVMValueRef i = lw_idx(F->L, p);
    args[k++] = LLVMBuildLoad2(F->b, F->L->i64, LLVMBuildGEP2(F->b, F->L->i64, sizes, &i, 1, ""), "");
  }
  for (int i = 0; i < f->n_inputs + f->n_outputs; i++) {
    LLVMValueRef x = lw_idx(F->L, i);
    LLVMValueRef a = LLVMBuildLoad2(F->b, F->L->ptr, LLVMBuildGEP2(F->b, F->L->ptr, argv, &x, 1, ""), "");
    int t = i < f->n_inputs ? f->inputs[i] : -1;
    args[k++] = t >= 0 && is_scalar_input(f, t) ? LLVMBuildLoad2(F->b, arg_type(F->L, f, t), a, "") : a;
  }
  args[k++] = LLVMGetParam(F->fn, 2);
  LLVMBuildRet(F->b, LLVMBuildCall2(F->b, ety, entry, args, (unsigned)n, ""));
  return true;
}

static bool build_call_ws(lw_fn *F, LLVMValueRef wsf, LLVMTypeRef wty)
{
  const ir_func *f = F->f;
  if (!start_fn(F, ir_sprintf(F->L->ctx, "%s_call_workspace_bytes", F->pf->name),
                LLVMFunctionType(F->L->size_t_ty, &F->L->ptr, 1, 0)))
    return false;
  LLVMValueRef *args = IR_NEW_ARRAY(F->L->ctx, LLVMValueRef, f->n_params), sizes = LLVMGetParam(F->fn, 0);
  for (int p = 0; args && p < f->n_params; p++) {
    LLVMValueRef i = lw_idx(F->L, p);
    args[p] = LLVMBuildLoad2(F->b, F->L->i64, LLVMBuildGEP2(F->b, F->L->i64, sizes, &i, 1, ""), "");
  }
  LLVMBuildRet(F->b, LLVMBuildCall2(F->b, wty, wsf, args, (unsigned)f->n_params, ""));
  return args != NULL;
}

static void end_fn(lw_fn *F)
{
  if (F->b)
    LLVMDisposeBuilder(F->b);
  F->b = NULL;
}

/* What the backend cannot build yet, reported before building. */
static const char *unsupported(const emit_plan *p, const emit_plan_fn *pf)
{
  if (p->opt && p->opt->weights)
    return "--weights (constants in a blob)";
  if (per_call_plan(pf->f))
    return "a memory plan computed at each call (named sizes with temporaries)";
  if (emit_target_is_gpu(p->target))
    return "a GPU target";
  return NULL;
}

static bool add_fn(emit_llvm *L, const emit_plan *p, const emit_plan_fn *pf)
{
  const char *why = unsupported(p, pf);
  if (why) {
    aotc_error(L->ctx, pf->f->loc, "%s: the LLVM backend does not support %s yet", pf->f->name, why);
    return false;
  }
  lw_fn E = {.L = L, .p = p, .pf = pf, .f = pf->f}, W = E, C = E, CW = E;
  bool ok = build_entry(&E) && build_ws_bytes(&W) && build_call(&C, E.fn, entry_type(L, pf->f)) &&
            build_call_ws(&CW, W.fn, ws_bytes_type(L, pf->f));
  if (ok)
    lw_io_tables(L, pf->f, pf->name);
  const char *what = E.failed ? E.why : W.failed ? W.why : NULL;
  end_fn(&E), end_fn(&W), end_fn(&C), end_fn(&CW);
  if (!ok)
    aotc_error(L->ctx, pf->f->loc, "%s: cannot build the LLVM function%s%s", pf->f->name, what ? ": " : "",
               what ? what : "");
  return ok;
}

/* ------------------------------------------------------------------------
 * The index type
 * ------------------------------------------------------------------------ */

/* Whether s has a value at build time (no generic size parameter in it). */
static bool size_known(const ir_size *s, const int64_t *fixed)
{
  if (!s)
    return false;
  if (s->kind == IR_SZ_PARAM)
    return fixed && fixed[s->value] >= 0;
  return s->kind == IR_SZ_CONST || (size_known(s->a, fixed) && size_known(s->b, fixed));
}

/* Whether s * scale is known and above INT32_MAX (or below INT32_MIN). */
static bool too_big(const ir_size *s, const int64_t *fixed, int64_t scale)
{
  int64_t v;
  if (!size_known(s, fixed) || !ir_size_eval(s, fixed, &v))
    return false;
  return __builtin_mul_overflow(v, scale, &v) || v > INT32_MAX || v < INT32_MIN;
}

static bool tensor_too_big(const ir_tensor *T, const int64_t *fixed)
{
  int64_t n = ir_types[T->type].bytes, v;
  for (int j = 0; j < T->rank; j++) {
    if (!size_known(T->shape[j], fixed) || !ir_size_eval(T->shape[j], fixed, &v))
      return false;
    if (__builtin_mul_overflow(n, v, &n) || n > INT32_MAX)
      return true;
  }
  return false;
}

/* Whether a 32-bit index holds every bound of f known when built: its
 * tensors' bytes, its statements' ranges, its workspace. A generic size is
 * checked when called (above INT32_MAX: return 1, as for a negative one);
 * a tensor it sizes must fit the 32-bit address space anyway. */
static bool fits_i32(const ir_func *f, const int64_t *fixed)
{
  if (f->workspace_bytes > INT32_MAX)
    return false;
  for (int t = 0; t < f->n_tensors; t++)
    if (tensor_too_big(f->tensors[t], fixed))
      return false;
  for (int s = 0; s < f->n_stmts; s++)
    for (int x = 0; x < f->stmts[s]->n_index; x++)
      if (too_big(f->stmts[s]->index[x].lo, fixed, 1) || too_big(f->stmts[s]->index[x].hi, fixed, 1))
        return false;
  return true;
}

/* The index type of L's module, picked with its first plan: i32 where the
 * target's pointers are 32 bits wide and p's bounds fit (the C path prints
 * int64_t, which gcc narrows where only the low bits reach an address;
 * LLVM keeps 64-bit loop counters, pairs of registers on a 32-bit core). */
static bool pick_index(emit_llvm *L, const emit_plan *p)
{
  bool narrow = LLVMPointerSize(L->td) == 4;
  for (int i = 0; narrow && i < p->n_funcs; i++)
    narrow = fits_i32(p->funcs[i].f, p->opt ? p->opt->fixed_sizes : NULL);
  if (L->idx_picked && L->idx != L->i64 && !narrow) {
    aotc_error(L->ctx, (ir_loc){0}, "LLVM: a plan with 64-bit bounds after one with 32-bit indices");
    return false;
  }
  if (!L->idx_picked) {
    L->idx = narrow ? L->i32 : L->i64;
    L->idx_ir = narrow ? IR_I32 : IR_I64;
    L->unroll = narrow ? (getenv("AOTC_LLVM_UNROLL") ? atoi(getenv("AOTC_LLVM_UNROLL")) : 2) : 0;
  }
  L->idx_picked = true;
  return true;
}

bool emit_llvm_add_plan(emit_llvm *L, const emit_plan *p)
{
  if (!pick_index(L, p))
    return false;
  for (int i = 0; i < p->n_funcs; i++)
    if (!add_fn(L, p, &p->funcs[i]))
      return false;
  return true;
}
