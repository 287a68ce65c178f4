/* llvm_expr.c: values for the LLVM backend: size expressions, isl's AST
 * expressions (loop bounds of the index type, conditions) and IR expressions with C's
 * conversions, as the C printer spells them (emit_print.c). */
#include "llvm_priv.h"

#include <isl/id.h>
#include <isl/val.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Types, constants, small helpers
 * ------------------------------------------------------------------------ */

LLVMTypeRef lw_type(emit_llvm *L, ir_type t)
{
  if (t == IR_BOOL)
    return L->i1;
  if (t == IR_F32)
    return L->f32;
  if (t == IR_F64)
    return L->f64;
  return LLVMIntTypeInContext(L->c, (unsigned)ir_types[t].bytes * 8);
}

LLVMTypeRef lw_mem_type(emit_llvm *L, ir_type t)
{
  return t == IR_BOOL ? L->i8 : lw_type(L, t);
}

LLVMValueRef lw_idx(emit_llvm *L, int64_t v)
{
  return LLVMConstInt(L->idx, (unsigned long long)v, 1);
}

LLVMValueRef lw_to_idx(lw_fn *F, LLVMValueRef v, ir_type from)
{
  return lw_convert(F, v, from, F->L->idx_ir);
}

void lw_fail(lw_fn *F, const char *why)
{
  if (!F->failed)
    F->why = why;
  F->failed = true;
}

LLVMBasicBlockRef lw_block(lw_fn *F, const char *name)
{
  return LLVMAppendBasicBlockInContext(F->L->c, F->fn, name);
}

void lw_push_var(lw_fn *F, const char *name, LLVMValueRef v)
{
  if (F->n_vars == LW_MAX_VARS) {
    lw_fail(F, "loops nested too deeply");
    return;
  }
  F->var_name[F->n_vars] = name;
  F->var_val[F->n_vars++] = v;
}

void lw_pop_var(lw_fn *F)
{
  if (F->n_vars > 0)
    F->n_vars--;
}

static LLVMValueRef find_var(lw_fn *F, const char *name)
{
  for (int i = F->n_vars - 1; i >= 0; i--)
    if (!strcmp(F->var_name[i], name))
      return F->var_val[i];
  for (int p = 0; p < F->f->n_params; p++)
    if (!strcmp(F->pf->param_c[p], name))
      return F->param[p];
  lw_fail(F, "an isl name without a value");
  return lw_idx(F->L, 0);
}

static LLVMValueRef select_idx(lw_fn *F, LLVMIntPredicate pred, LLVMValueRef a, LLVMValueRef b)
{
  return LLVMBuildSelect(F->b, LLVMBuildICmp(F->b, pred, a, b, ""), a, b, "");
}

/* floor(a / b) and ceil(a / b) as aotc_floordiv and aotc_ceildiv. */
static LLVMValueRef int_div_round(lw_fn *F, LLVMValueRef a, LLVMValueRef b, bool floor)
{
  LLVMBuilderRef B = F->b;
  LLVMValueRef zero = lw_idx(F->L, 0), q = LLVMBuildSDiv(B, a, b, ""), r = LLVMBuildSRem(B, a, b, "");
  LLVMValueRef inexact = LLVMBuildICmp(B, LLVMIntNE, r, zero, "");
  LLVMValueRef sa = LLVMBuildICmp(B, LLVMIntSLT, a, zero, ""), sb = LLVMBuildICmp(B, LLVMIntSLT, b, zero, "");
  LLVMValueRef adjust = LLVMBuildAnd(B, inexact, LLVMBuildICmp(B, floor ? LLVMIntNE : LLVMIntEQ, sa, sb, ""), "");
  LLVMValueRef step = lw_idx(F->L, floor ? -1 : 1);
  return LLVMBuildSelect(B, adjust, LLVMBuildAdd(B, q, step, ""), q, "");
}

/* ------------------------------------------------------------------------
 * Sizes
 * ------------------------------------------------------------------------ */

LLVMValueRef lw_size(lw_fn *F, const ir_size *s)
{
  if (!s) {
    lw_fail(F, "a missing size");
    return lw_idx(F->L, 0);
  }
  if (s->kind == IR_SZ_CONST)
    return lw_idx(F->L, s->value);
  if (s->kind == IR_SZ_PARAM)
    return F->param[s->value];
  LLVMValueRef a = lw_size(F, s->a), b = lw_size(F, s->b);
  switch (s->kind) {
  case IR_SZ_ADD:
    return LLVMBuildAdd(F->b, a, b, "");
  case IR_SZ_SUB:
    return LLVMBuildSub(F->b, a, b, "");
  case IR_SZ_MUL:
    return LLVMBuildMul(F->b, a, b, "");
  case IR_SZ_FLOORDIV:
  case IR_SZ_CEILDIV:
    return int_div_round(F, a, b, s->kind == IR_SZ_FLOORDIV);
  case IR_SZ_MIN:
    return select_idx(F, LLVMIntSLT, a, b);
  default:
    return select_idx(F, LLVMIntSGT, a, b);
  }
}

/* ------------------------------------------------------------------------
 * isl AST expressions: the index type, conditions i1
 * ------------------------------------------------------------------------ */

static LLVMValueRef as_idx(lw_fn *F, LLVMValueRef v)
{
  return LLVMTypeOf(v) == F->L->idx ? v : LLVMBuildZExt(F->b, v, F->L->idx, "");
}

static LLVMValueRef as_i1(lw_fn *F, LLVMValueRef v)
{
  return LLVMTypeOf(v) == F->L->i1 ? v : LLVMBuildICmp(F->b, LLVMIntNE, v, lw_idx(F->L, 0), "");
}

static LLVMValueRef ast_arg(lw_fn *F, __isl_keep isl_ast_expr *e, int i)
{
  isl_ast_expr *arg = isl_ast_expr_op_get_arg(e, i);
  LLVMValueRef v = lw_ast_expr(F, arg);
  isl_ast_expr_free(arg);
  return v;
}

static bool ast_compare(enum isl_ast_expr_op_type type, LLVMIntPredicate *pred)
{
  static const struct {
    enum isl_ast_expr_op_type type;
    LLVMIntPredicate pred;
  } table[] = {
      {isl_ast_expr_op_eq, LLVMIntEQ}, {isl_ast_expr_op_le, LLVMIntSLE}, {isl_ast_expr_op_lt, LLVMIntSLT},
      {isl_ast_expr_op_ge, LLVMIntSGE}, {isl_ast_expr_op_gt, LLVMIntSGT},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (table[i].type == type) {
      *pred = table[i].pred;
      return true;
    }
  return false;
}

static LLVMValueRef ast_logic(lw_fn *F, enum isl_ast_expr_op_type type, LLVMValueRef a, LLVMValueRef b)
{
  bool is_and = type == isl_ast_expr_op_and || type == isl_ast_expr_op_and_then;
  return is_and ? LLVMBuildAnd(F->b, as_i1(F, a), as_i1(F, b), "") : LLVMBuildOr(F->b, as_i1(F, a), as_i1(F, b), "");
}

static LLVMValueRef ast_binary(lw_fn *F, enum isl_ast_expr_op_type type, LLVMValueRef a, LLVMValueRef b, bool *ok)
{
  LLVMIntPredicate pred;
  if (ast_compare(type, &pred))
    return LLVMBuildICmp(F->b, pred, as_idx(F, a), as_idx(F, b), "");
  switch (type) {
  case isl_ast_expr_op_and:
  case isl_ast_expr_op_and_then:
  case isl_ast_expr_op_or:
  case isl_ast_expr_op_or_else:
    return ast_logic(F, type, a, b);
  case isl_ast_expr_op_add:
    return LLVMBuildAdd(F->b, a, b, "");
  case isl_ast_expr_op_sub:
    return LLVMBuildSub(F->b, a, b, "");
  case isl_ast_expr_op_mul:
    return LLVMBuildMul(F->b, a, b, "");
  case isl_ast_expr_op_div:
  case isl_ast_expr_op_pdiv_q:
    return LLVMBuildSDiv(F->b, a, b, "");
  case isl_ast_expr_op_pdiv_r:
  case isl_ast_expr_op_zdiv_r:
    return LLVMBuildSRem(F->b, a, b, "");
  case isl_ast_expr_op_fdiv_q:
    return int_div_round(F, a, b, true);
  default:
    *ok = false;
    return NULL;
  }
}

static LLVMValueRef ast_minmax(lw_fn *F, __isl_keep isl_ast_expr *e, bool is_min, int n)
{
  LLVMValueRef v = as_idx(F, ast_arg(F, e, n - 1));
  for (int i = n - 2; i >= 0; i--)
    v = select_idx(F, is_min ? LLVMIntSLT : LLVMIntSGT, as_idx(F, ast_arg(F, e, i)), v);
  return v;
}

static LLVMValueRef ast_op(lw_fn *F, __isl_keep isl_ast_expr *e)
{
  enum isl_ast_expr_op_type type = isl_ast_expr_op_get_type(e);
  int n = isl_ast_expr_op_get_n_arg(e);
  bool ok = true;
  if (n == 2) {
    LLVMValueRef a = ast_arg(F, e, 0), b = ast_arg(F, e, 1);
    LLVMValueRef v = ast_binary(F, type, a, b, &ok);
    if (ok)
      return v;
  }
  if (type == isl_ast_expr_op_minus && n == 1)
    return LLVMBuildNeg(F->b, as_idx(F, ast_arg(F, e, 0)), "");
  if ((type == isl_ast_expr_op_min || type == isl_ast_expr_op_max) && n >= 1)
    return ast_minmax(F, e, type == isl_ast_expr_op_min, n);
  if ((type == isl_ast_expr_op_cond || type == isl_ast_expr_op_select) && n == 3)
    return LLVMBuildSelect(F->b, as_i1(F, ast_arg(F, e, 0)), as_idx(F, ast_arg(F, e, 1)),
                           as_idx(F, ast_arg(F, e, 2)), "");
  lw_fail(F, "an isl operation without a translation");
  return lw_idx(F->L, 0);
}

LLVMValueRef lw_ast_expr(lw_fn *F, __isl_keep isl_ast_expr *e)
{
  enum isl_ast_expr_type type = isl_ast_expr_get_type(e);
  if (type == isl_ast_expr_id) {
    isl_id *id = isl_ast_expr_id_get_id(e);
    LLVMValueRef v = find_var(F, isl_id_get_name(id));
    isl_id_free(id);
    return v;
  }
  if (type == isl_ast_expr_int) {
    isl_val *v = isl_ast_expr_int_get_val(e);
    LLVMValueRef r = lw_idx(F->L, isl_val_get_num_si(v));
    isl_val_free(v);
    return r;
  }
  if (type == isl_ast_expr_op)
    return ast_op(F, e);
  lw_fail(F, "an isl expression without a translation");
  return lw_idx(F->L, 0);
}
