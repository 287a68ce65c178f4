/* llvm_value.c: IR expressions as LLVM values, with the C printer's
 * meaning (emit_print.c): C's conversions and promotions, builtins as LLVM
 * intrinsics or libm calls (the C row's names), accesses as loads at a
 * row-major linear index, padded reads guarded by a branch. */
#include "llvm_priv.h"

#include <string.h>

static LLVMValueRef expr(lw_fn *F, const ir_expr *e);

/* ------------------------------------------------------------------------
 * Conversions (C's rules)
 * ------------------------------------------------------------------------ */

static LLVMValueRef int_to_int(lw_fn *F, LLVMValueRef v, ir_type from, ir_type to)
{
  unsigned a = LLVMGetIntTypeWidth(LLVMTypeOf(v)), b = LLVMGetIntTypeWidth(lw_type(F->L, to));
  if (a == b)
    return v;
  if (a > b)
    return LLVMBuildTrunc(F->b, v, lw_type(F->L, to), "");
  bool sign = from != IR_BOOL && ir_types[from].is_signed;
  return sign ? LLVMBuildSExt(F->b, v, lw_type(F->L, to), "") : LLVMBuildZExt(F->b, v, lw_type(F->L, to), "");
}

static LLVMValueRef to_bool(lw_fn *F, LLVMValueRef v, ir_type from)
{
  if (ir_types[from].is_float)
    return LLVMBuildFCmp(F->b, LLVMRealUNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
  return LLVMBuildICmp(F->b, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
}

LLVMValueRef lw_convert(lw_fn *F, LLVMValueRef v, ir_type from, ir_type to)
{
  bool ff = ir_types[from].is_float, tf = ir_types[to].is_float;
  LLVMTypeRef ty = lw_type(F->L, to);
  if (from == to)
    return v;
  if (to == IR_BOOL)
    return to_bool(F, v, from);
  if (ff && tf)
    return to == IR_F64 ? LLVMBuildFPExt(F->b, v, ty, "") : LLVMBuildFPTrunc(F->b, v, ty, "");
  if (ff)
    return ir_types[to].is_signed ? LLVMBuildFPToSI(F->b, v, ty, "") : LLVMBuildFPToUI(F->b, v, ty, "");
  if (tf)
    return from != IR_BOOL && ir_types[from].is_signed ? LLVMBuildSIToFP(F->b, v, ty, "")
                                                       : LLVMBuildUIToFP(F->b, v, ty, "");
  return int_to_int(F, v, from, to);
}

static LLVMValueRef const_int(lw_fn *F, int64_t v, ir_type t)
{
  if (ir_types[t].is_float)
    return LLVMConstReal(lw_type(F->L, t), (double)v);
  if (t == IR_BOOL)
    return LLVMConstInt(F->L->i1, v != 0, 0);
  return LLVMConstInt(lw_type(F->L, t), (unsigned long long)v, 1);
}

static LLVMValueRef const_float(lw_fn *F, double v, ir_type t)
{
  if (ir_types[t].is_float)
    return LLVMConstReal(lw_type(F->L, t), t == IR_F32 ? (double)(float)v : v);
  return lw_convert(F, LLVMConstReal(F->L->f64, v), IR_F64, t);
}

LLVMValueRef lw_expr_as(lw_fn *F, const ir_expr *e, ir_type t)
{
  if (e->kind == IR_CONST_INT)
    return const_int(F, e->ival, t);
  if (e->kind == IR_CONST_FLOAT)
    return const_float(F, e->fval, t);
  return lw_convert(F, expr(F, e), e->type, t);
}

/* ------------------------------------------------------------------------
 * Accesses
 * ------------------------------------------------------------------------ */

LLVMValueRef lw_subscript(lw_fn *F, const ir_expr *e)
{
  ir_type t = ir_types[e->type].is_float ? IR_I64 : e->type;
  return lw_to_idx(F, lw_expr_as(F, e, t), t);
}

LLVMValueRef lw_linear(lw_fn *F, int t, int rank, lw_index_fn index, const void *data)
{
  LLVMValueRef lin = lw_idx(F->L, 0);
  for (int j = 0; j < rank; j++) {
    LLVMValueRef x = index(F, data, j);
    lin = j == 0 ? x : LLVMBuildAdd(F->b, LLVMBuildMul(F->b, lin, F->dim[t][j], ""), x, "");
  }
  return lin;
}

LLVMValueRef lw_address(lw_fn *F, int t, int rank, lw_index_fn index, const void *data)
{
  LLVMValueRef lin = lw_linear(F, t, rank, index, data);
  LLVMTypeRef ty = lw_mem_type(F->L, F->f->tensors[t]->type);
  return LLVMBuildGEP2(F->b, ty, F->tensor[t], &lin, 1, "");
}

void lw_parallel_access(lw_fn *F, LLVMValueRef access)
{
  if (F->par_loop)
    LLVMSetMetadata(access, LLVMGetMDKindIDInContext(F->L->c, "llvm.mem.parallel_loop_access", 29),
                    LLVMMetadataAsValue(F->L->c, F->par_loop));
}

/* A load or store of tensor t at addr: its alias scope and the scopes it
 * never meets (llvm_entry.c's temp_scopes); unless addr is the local
 * accumulator, the loop it is parallel in (lw_loop's par_loop). */
static void scoped(lw_fn *F, int t, LLVMValueRef addr, LLVMValueRef access)
{
  if (addr != F->acc)
    lw_parallel_access(F, access);
  if (!F->scope_md || !F->scope_md[t])
    return;
  LLVMSetMetadata(access, LLVMGetMDKindIDInContext(F->L->c, "alias.scope", 11), F->scope_md[t]);
  if (F->noalias_md[t])
    LLVMSetMetadata(access, LLVMGetMDKindIDInContext(F->L->c, "noalias", 7), F->noalias_md[t]);
}

LLVMValueRef lw_load(lw_fn *F, int t, LLVMValueRef addr)
{
  ir_type ty = F->f->tensors[t]->type;
  LLVMValueRef v = LLVMBuildLoad2(F->b, lw_mem_type(F->L, ty), addr, "");
  scoped(F, t, addr, v);
  return ty == IR_BOOL ? LLVMBuildICmp(F->b, LLVMIntNE, v, LLVMConstInt(F->L->i8, 0, 0), "") : v;
}

void lw_store(lw_fn *F, int t, LLVMValueRef addr, LLVMValueRef v)
{
  if (F->f->tensors[t]->type == IR_BOOL)
    v = LLVMBuildZExt(F->b, v, F->L->i8, "");
  scoped(F, t, addr, LLVMBuildStore(F->b, v, addr));
}

static LLVMValueRef read_index(lw_fn *F, const void *data, int j)
{
  const ir_expr *e = data;
  return lw_subscript(F, e->args[j]);
}

/* Dimension j of a padded read needs no check: an index whose range is the
 * dimension's (emit_print.c's always_in_bounds). */
static bool always_in_bounds(lw_fn *F, const ir_expr *e, int j)
{
  const ir_expr *x = e->args[j];
  int64_t lo;
  if (x->kind != IR_INDEX || !F->stmt)
    return false;
  const ir_index *ix = &F->stmt->index[x->index];
  return ir_size_is_const(ix->lo, &lo) && lo >= 0 && ir_size_equal(ix->hi, F->f->tensors[e->tensor]->shape[j]);
}

static LLVMValueRef in_bounds(lw_fn *F, const ir_expr *e)
{
  LLVMValueRef ok = LLVMConstInt(F->L->i1, 1, 0);
  for (int j = 0; j < e->n_args; j++) {
    if (always_in_bounds(F, e, j))
      continue;
    LLVMValueRef x = lw_subscript(F, e->args[j]);
    LLVMValueRef lo = LLVMBuildICmp(F->b, LLVMIntSGE, x, lw_idx(F->L, 0), "");
    LLVMValueRef hi = LLVMBuildICmp(F->b, LLVMIntSLT, x, F->dim[e->tensor][j], "");
    ok = LLVMBuildAnd(F->b, ok, LLVMBuildAnd(F->b, lo, hi, ""), "");
  }
  return ok;
}

/* cond ? load : 0, the load only on the taken branch. The condition is
 * frozen (one i1 the optimiser does not take apart): more of these loops
 * become masked vector loads (ResNet-18's object for AVX-512: 105 masked
 * operations against 46 without the freeze). */
static LLVMValueRef padded_read(lw_fn *F, const ir_expr *e)
{
  LLVMValueRef ok = LLVMBuildFreeze(F->b, in_bounds(F, e), "pad.ok");
  LLVMBasicBlockRef from = LLVMGetInsertBlock(F->b), yes = lw_block(F, "pad.in"), join = lw_block(F, "pad.join");
  LLVMBuildCondBr(F->b, ok, yes, join);
  LLVMPositionBuilderAtEnd(F->b, yes);
  LLVMValueRef v = lw_load(F, e->tensor, lw_address(F, e->tensor, e->n_args, read_index, e));
  LLVMBasicBlockRef yes_end = LLVMGetInsertBlock(F->b);
  LLVMBuildBr(F->b, join);
  LLVMPositionBuilderAtEnd(F->b, join);
  LLVMValueRef phi = LLVMBuildPhi(F->b, LLVMTypeOf(v), "");
  LLVMValueRef vals[] = {v, LLVMConstNull(LLVMTypeOf(v))};
  LLVMBasicBlockRef blocks[] = {yes_end, from};
  LLVMAddIncoming(phi, vals, blocks, 2);
  return phi;
}

static bool all_in_bounds(lw_fn *F, const ir_expr *e)
{
  for (int j = 0; j < e->n_args; j++)
    if (!always_in_bounds(F, e, j))
      return false;
  return true;
}

static LLVMValueRef read(lw_fn *F, const ir_expr *e)
{
  const ir_tensor *T = F->f->tensors[e->tensor];
  LLVMValueRef fused = F->read_hook ? F->read_hook(F, e, F->read_data) : NULL;
  if (!fused && F->epi_on)
    fused = lw_epilogue_read(F, e);
  if (fused)
    return fused;
  if (T->rank == 0 && T->role == IR_INPUT)
    return T->type == IR_BOOL ? LLVMBuildTrunc(F->b, F->tensor[e->tensor], F->L->i1, "") : F->tensor[e->tensor];
  if (e->padded && !all_in_bounds(F, e))
    return padded_read(F, e);
  return lw_load(F, e->tensor, lw_address(F, e->tensor, T->rank, read_index, e));
}

/* ------------------------------------------------------------------------
 * Operators
 * ------------------------------------------------------------------------ */

static bool is_small_int(ir_type t)
{
  return !ir_types[t].is_float && ir_types[t].bytes < 4;
}

static LLVMValueRef compare(lw_fn *F, ir_op op, LLVMValueRef a, LLVMValueRef b, ir_type t)
{
  static const LLVMRealPredicate fp[] = {[IR_LT] = LLVMRealOLT, [IR_LE] = LLVMRealOLE, [IR_GT] = LLVMRealOGT,
                                         [IR_GE] = LLVMRealOGE, [IR_EQ] = LLVMRealOEQ, [IR_NE] = LLVMRealUNE};
  static const LLVMIntPredicate si[] = {[IR_LT] = LLVMIntSLT, [IR_LE] = LLVMIntSLE, [IR_GT] = LLVMIntSGT,
                                        [IR_GE] = LLVMIntSGE, [IR_EQ] = LLVMIntEQ,  [IR_NE] = LLVMIntNE};
  static const LLVMIntPredicate ui[] = {[IR_LT] = LLVMIntULT, [IR_LE] = LLVMIntULE, [IR_GT] = LLVMIntUGT,
                                        [IR_GE] = LLVMIntUGE, [IR_EQ] = LLVMIntEQ,  [IR_NE] = LLVMIntNE};
  if (ir_types[t].is_float)
    return LLVMBuildFCmp(F->b, fp[op], a, b, "");
  return LLVMBuildICmp(F->b, t != IR_BOOL && ir_types[t].is_signed ? si[op] : ui[op], a, b, "");
}

static LLVMValueRef arith_float(lw_fn *F, ir_op op, LLVMValueRef a, LLVMValueRef b)
{
  switch (op) {
  case IR_ADD:
    return LLVMBuildFAdd(F->b, a, b, "");
  case IR_SUB:
    return LLVMBuildFSub(F->b, a, b, "");
  case IR_MUL:
    return LLVMBuildFMul(F->b, a, b, "");
  case IR_DIV:
    return LLVMBuildFDiv(F->b, a, b, "");
  default:
    return LLVMBuildFRem(F->b, a, b, "");
  }
}

static LLVMValueRef arith_int(lw_fn *F, ir_op op, LLVMValueRef a, LLVMValueRef b, bool sign)
{
  switch (op) {
  case IR_ADD:
    return LLVMBuildAdd(F->b, a, b, "");
  case IR_SUB:
    return LLVMBuildSub(F->b, a, b, "");
  case IR_MUL:
    return LLVMBuildMul(F->b, a, b, "");
  case IR_DIV:
    return sign ? LLVMBuildSDiv(F->b, a, b, "") : LLVMBuildUDiv(F->b, a, b, "");
  default:
    return sign ? LLVMBuildSRem(F->b, a, b, "") : LLVMBuildURem(F->b, a, b, "");
  }
}

/* e when it is a product in float type t, else NULL. */
static const ir_expr *float_product(const ir_expr *e, ir_type t)
{
  return e->kind == IR_BINARY && e->op == IR_MUL && e->type == t && (t == IR_F32 || t == IR_F64) ? e : NULL;
}

/* a * b + c, c + a * b, a * b - c and c - a * b as llvm.fmuladd (fused
 * where the target has FMA): gcc builds the C path's code with GNU C's
 * default -ffp-contract=fast, which fuses them; LLVM 15's C API cannot set
 * the contract flag on the instructions. NULL when e is no such sum. */
static LLVMValueRef contracted(lw_fn *F, const ir_expr *e, ir_type t)
{
  if (e->op != IR_ADD && e->op != IR_SUB)
    return NULL;
  const ir_expr *m = float_product(e->args[0], t), *other = e->args[1];
  bool first = m != NULL;
  if (!m && (m = float_product(e->args[1], t)))
    other = e->args[0];
  if (!m)
    return NULL;
  LLVMValueRef x = lw_expr_as(F, m->args[0], t), y = lw_expr_as(F, m->args[1], t), c = lw_expr_as(F, other, t);
  if (e->op == IR_SUB && first)
    c = LLVMBuildFNeg(F->b, c, "");
  else if (e->op == IR_SUB)
    x = LLVMBuildFNeg(F->b, x, "");
  return lw_fmuladd(F, x, y, c, t);
}

/* Arithmetic in type t; C computes small integers in int, then narrows. */
static LLVMValueRef arith(lw_fn *F, const ir_expr *e, ir_type t)
{
  LLVMValueRef fused = ir_types[t].is_float ? contracted(F, e, t) : NULL;
  if (fused)
    return fused;
  LLVMValueRef a = lw_expr_as(F, e->args[0], t), b = lw_expr_as(F, e->args[1], t);
  if (ir_types[t].is_float)
    return arith_float(F, e->op, a, b);
  if (!is_small_int(t))
    return arith_int(F, e->op, a, b, ir_types[t].is_signed);
  ir_type wide = IR_I32;
  LLVMValueRef v = arith_int(F, e->op, lw_convert(F, a, t, wide), lw_convert(F, b, t, wide), true);
  return lw_convert(F, v, wide, t);
}

static LLVMValueRef binary(lw_fn *F, const ir_expr *e)
{
  if (e->op >= IR_LT && e->op <= IR_NE) {
    ir_type t = ir_promote(e->args[0]->type, e->args[1]->type);
    return compare(F, e->op, lw_expr_as(F, e->args[0], t), lw_expr_as(F, e->args[1], t), t);
  }
  if (e->op == IR_AND || e->op == IR_OR) {
    LLVMValueRef a = lw_expr_as(F, e->args[0], IR_BOOL), b = lw_expr_as(F, e->args[1], IR_BOOL);
    return e->op == IR_AND ? LLVMBuildAnd(F->b, a, b, "") : LLVMBuildOr(F->b, a, b, "");
  }
  return arith(F, e, e->type);
}

static LLVMValueRef unary(lw_fn *F, const ir_expr *e)
{
  if (e->op == IR_NOT)
    return LLVMBuildNot(F->b, lw_expr_as(F, e->args[0], IR_BOOL), "");
  LLVMValueRef a = lw_expr_as(F, e->args[0], e->type);
  return ir_types[e->type].is_float ? LLVMBuildFNeg(F->b, a, "") : LLVMBuildNeg(F->b, a, "");
}

static bool reads_tensor(const ir_expr *e)
{
  if (e->kind == IR_ACCESS)
    return true;
  for (int i = 0; i < e->n_args; i++)
    if (reads_tensor(e->args[i]))
      return true;
  return false;
}

/* c ? a : b: a select, or branches when an arm reads memory (C evaluates
 * one arm only; the other's subscripts may lie outside its tensor). */
static LLVMValueRef select_expr(lw_fn *F, const ir_expr *e)
{
  LLVMValueRef c = lw_expr_as(F, e->args[0], IR_BOOL);
  if (!reads_tensor(e->args[1]) && !reads_tensor(e->args[2]))
    return LLVMBuildSelect(F->b, c, lw_expr_as(F, e->args[1], e->type), lw_expr_as(F, e->args[2], e->type), "");
  LLVMBasicBlockRef yes = lw_block(F, "sel.a"), no = lw_block(F, "sel.b"), join = lw_block(F, "sel.join");
  LLVMBuildCondBr(F->b, c, yes, no);
  LLVMPositionBuilderAtEnd(F->b, yes);
  LLVMValueRef a = lw_expr_as(F, e->args[1], e->type);
  LLVMBasicBlockRef yes_end = LLVMGetInsertBlock(F->b);
  LLVMBuildBr(F->b, join);
  LLVMPositionBuilderAtEnd(F->b, no);
  LLVMValueRef b = lw_expr_as(F, e->args[2], e->type);
  LLVMBasicBlockRef no_end = LLVMGetInsertBlock(F->b);
  LLVMBuildBr(F->b, join);
  LLVMPositionBuilderAtEnd(F->b, join);
  LLVMValueRef phi = LLVMBuildPhi(F->b, lw_type(F->L, e->type), "");
  LLVMValueRef vals[] = {a, b};
  LLVMBasicBlockRef blocks[] = {yes_end, no_end};
  LLVMAddIncoming(phi, vals, blocks, 2);
  return phi;
}

/* ------------------------------------------------------------------------
 * Builtins
 * ------------------------------------------------------------------------ */

/* LLVM intrinsics for the builtins that have one (lowered to libm calls
 * where the target has no instruction). */
static const char *const intrinsic_name[IR_FN_COUNT] = {
    [IR_FN_EXP] = "llvm.exp",     [IR_FN_LOG] = "llvm.log",     [IR_FN_SQRT] = "llvm.sqrt",
    [IR_FN_FABS] = "llvm.fabs",   [IR_FN_FMAX] = "llvm.maxnum", [IR_FN_FMIN] = "llvm.minnum",
    [IR_FN_POW] = "llvm.pow",     [IR_FN_FLOOR] = "llvm.floor", [IR_FN_CEIL] = "llvm.ceil",
    [IR_FN_ROUND] = "llvm.round", [IR_FN_TRUNC] = "llvm.trunc", [IR_FN_SIN] = "llvm.sin",
    [IR_FN_COS] = "llvm.cos",     [IR_FN_EXP2] = "llvm.exp2",   [IR_FN_LOG2] = "llvm.log2",
    [IR_FN_LOG10] = "llvm.log10",
};

/* Builtin fn on args of type t: the C path's inline polynomial where it
 * picks one (llvm_vmath.c; call, when given, is the IR call, whose
 * argument may allow a cheaper form), else an intrinsic, else libm. */
static LLVMValueRef call_fn(lw_fn *F, const ir_expr *call, ir_builtin fn, ir_type t, LLVMValueRef *args, int n)
{
  LLVMTypeRef ty = lw_type(F->L, t), params[2] = {ty, ty};
  LLVMValueRef inline_fn = n == 1 ? lw_vmath(F, call, fn, t, args[0]) : NULL;
  if (inline_fn)
    return inline_fn;
  const char *name = intrinsic_name[fn];
  if (name) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef decl = LLVMGetIntrinsicDeclaration(F->L->m, id, &ty, 1);
    return LLVMBuildCall2(F->b, LLVMIntrinsicGetType(F->L->c, id, &ty, 1), decl, args, (unsigned)n, "");
  }
  const char *libm = emit_target_c.libm[fn][t == IR_F64];
  LLVMTypeRef fty = LLVMFunctionType(ty, params, (unsigned)n, 0);
  LLVMValueRef decl = LLVMGetNamedFunction(F->L->m, libm);
  if (!decl)
    decl = LLVMAddFunction(F->L->m, libm, fty);
  return LLVMBuildCall2(F->b, fty, decl, args, (unsigned)n, "");
}

LLVMValueRef lw_access_address(lw_fn *F, const ir_expr *e)
{
  return lw_address(F, e->tensor, e->n_args, read_index, e);
}

LLVMValueRef lw_fmuladd(lw_fn *F, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c, ir_type t)
{
  LLVMTypeRef ty = LLVMTypeOf(a);
  (void)t;
  unsigned id = LLVMLookupIntrinsicID("llvm.fmuladd", 12);
  LLVMValueRef args[] = {a, b, c};
  return LLVMBuildCall2(F->b, LLVMIntrinsicGetType(F->L->c, id, &ty, 1), LLVMGetIntrinsicDeclaration(F->L->m, id, &ty, 1),
                        args, 3, "");
}

LLVMValueRef lw_minmax(lw_fn *F, bool is_min, LLVMValueRef a, LLVMValueRef b, ir_type t)
{
  LLVMValueRef c = compare(F, is_min ? IR_LT : IR_GT, b, a, t);
  return LLVMBuildSelect(F->b, c, b, a, "");
}

/* min, max and abs of any numeric type, as the C helpers compute them. */
static LLVMValueRef typed_call(lw_fn *F, const ir_expr *e)
{
  ir_type t = e->type;
  LLVMValueRef a = lw_expr_as(F, e->args[0], t);
  if (e->fn == IR_FN_ABS && ir_types[t].is_float)
    return call_fn(F, NULL, IR_FN_FABS, t, &a, 1);
  if (e->fn == IR_FN_ABS && !ir_types[t].is_signed)
    return a;
  if (e->fn == IR_FN_ABS) {
    LLVMValueRef neg = compare(F, IR_LT, a, LLVMConstNull(LLVMTypeOf(a)), t);
    return LLVMBuildSelect(F->b, neg, LLVMBuildNeg(F->b, a, ""), a, "");
  }
  return lw_minmax(F, e->fn == IR_FN_MIN, a, lw_expr_as(F, e->args[1], t), t);
}

static LLVMValueRef call(lw_fn *F, const ir_expr *e)
{
  ir_type t = e->type == IR_F64 ? IR_F64 : IR_F32;
  LLVMValueRef args[3], one = LLVMConstReal(lw_type(F->L, t), 1.0);
  if (e->fn == IR_FN_MIN || e->fn == IR_FN_MAX || e->fn == IR_FN_ABS)
    return typed_call(F, e);
  for (int i = 0; i < e->n_args && i < 3; i++)
    args[i] = lw_expr_as(F, e->args[i], t);
  LLVMValueRef v;
  if (e->fn == IR_FN_RSQRT) {
    v = LLVMBuildFDiv(F->b, one, call_fn(F, NULL, IR_FN_SQRT, t, args, 1), "");
  } else if (e->fn == IR_FN_SIGMOID) {
    args[0] = LLVMBuildFNeg(F->b, args[0], "");
    v = LLVMBuildFDiv(F->b, one, LLVMBuildFAdd(F->b, one, call_fn(F, NULL, IR_FN_EXP, t, args, 1), ""), "");
  } else {
    v = call_fn(F, e, e->fn, t, args, e->n_args);
  }
  return lw_convert(F, v, t, e->type);
}

/* ------------------------------------------------------------------------
 * Expressions
 * ------------------------------------------------------------------------ */

static LLVMValueRef index_var(lw_fn *F, int index)
{
  if (F->iter && F->iter[index])
    return F->iter[index];
  lw_fail(F, "an index variable without a value");
  return lw_idx(F->L, 0);
}

static LLVMValueRef expr(lw_fn *F, const ir_expr *e)
{
  switch (e->kind) {
  case IR_CONST_INT:
    return const_int(F, e->ival, e->type);
  case IR_CONST_FLOAT:
    return const_float(F, e->fval, e->type);
  case IR_INDEX:
    return lw_convert(F, index_var(F, e->index), F->L->idx_ir, e->type);
  case IR_SIZE:
    return lw_convert(F, lw_size(F, e->size), F->L->idx_ir, e->type);
  case IR_ACCESS:
    return read(F, e);
  case IR_UNARY:
    return unary(F, e);
  case IR_BINARY:
    return binary(F, e);
  case IR_SELECT:
    return select_expr(F, e);
  case IR_CAST:
    return lw_expr_as(F, e->args[0], e->type);
  case IR_CALL:
    return call(F, e);
  default:
    lw_fail(F, "an expression without a translation");
    return LLVMGetUndef(lw_type(F->L, e->type));
  }
}

LLVMValueRef lw_identity(lw_fn *F, ir_reduction red, ir_type t)
{
  LLVMTypeRef ty = lw_type(F->L, t);
  bool fl = ir_types[t].is_float, sg = t != IR_BOOL && ir_types[t].is_signed;
  unsigned bits = t == IR_BOOL ? 1 : (unsigned)ir_types[t].bytes * 8;
  if (red == IR_RED_MIN)
    return fl ? LLVMConstReal(ty, __builtin_inf())
              : LLVMConstInt(ty, sg ? (~0ULL >> (65 - bits)) : (bits == 64 ? ~0ULL : (1ULL << bits) - 1), 0);
  if (red == IR_RED_MAX)
    return fl ? LLVMConstReal(ty, -__builtin_inf()) : LLVMConstInt(ty, sg ? (1ULL << (bits - 1)) : 0, 0);
  return const_int(F, red == IR_RED_MUL ? 1 : 0, t);
}
