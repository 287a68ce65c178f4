/* llvm_ast.c: isl's AST nodes (loops, conditions, blocks, marks,
 * statements) as LLVM control flow, each statement with its index values
 * bound from the call's arguments as the C printer binds them
 * (emit_print.c). Parallel marks run serially. */
#include "llvm_priv.h"

#include <isl/id.h>

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static LLVMValueRef lhs_index(lw_fn *F, const void *data, int j)
{
  const ir_stmt *s = data;
  return ir_stmt_is_plain(s) ? F->iter[s->lhs[j]] : lw_subscript(F, s->lhs_expr[j]);
}

static LLVMValueRef init_index(lw_fn *F, const void *data, int j)
{
  (void)data;
  return F->iter[j];
}

static void store_identity(lw_fn *F, const ir_stmt *s)
{
  lw_index_fn index = ir_stmt_is_plain(s) ? lhs_index : init_index;
  LLVMValueRef addr = lw_address(F, s->tensor, s->n_lhs, index, s);
  lw_store(F, s->tensor, addr, lw_identity(F, s->red, F->f->tensors[s->tensor]->type));
}

/* LHS += a * b in floating point: one multiply-add. */
static bool is_mul_add(const ir_stmt *s, ir_type t)
{
  const ir_expr *e = s->rhs;
  return s->red == IR_RED_ADD && ir_types[t].is_float && e->kind == IR_BINARY && e->op == IR_MUL && e->type == t;
}

static void mul_add(lw_fn *F, const ir_stmt *s, ir_type t)
{
  LLVMValueRef a = lw_expr_as(F, s->rhs->args[0], t), b = lw_expr_as(F, s->rhs->args[1], t);
  LLVMValueRef addr = lw_address(F, s->tensor, s->n_lhs, lhs_index, s);
  lw_store(F, s->tensor, addr, lw_fmuladd(F, a, b, lw_load(F, s->tensor, addr), t));
}

static void update(lw_fn *F, const ir_stmt *s)
{
  ir_type t = F->f->tensors[s->tensor]->type;
  if (is_mul_add(s, t)) {
    mul_add(F, s, t);
    return;
  }
  LLVMValueRef rhs = lw_expr_as(F, s->rhs, t), addr = lw_address(F, s->tensor, s->n_lhs, lhs_index, s), v = rhs;
  if (s->red != IR_RED_NONE) {
    LLVMValueRef old = lw_load(F, s->tensor, addr);
    bool fl = ir_types[t].is_float;
    if (s->red == IR_RED_ADD)
      v = fl ? LLVMBuildFAdd(F->b, old, rhs, "") : LLVMBuildAdd(F->b, old, rhs, "");
    else if (s->red == IR_RED_MUL)
      v = fl ? LLVMBuildFMul(F->b, old, rhs, "") : LLVMBuildMul(F->b, old, rhs, "");
    else
      v = lw_minmax(F, s->red == IR_RED_MIN, old, rhs, t);
  }
  lw_store(F, s->tensor, addr, v);
}

void lw_unbind(lw_fn *F, const ir_stmt *s)
{
  for (int j = 0; j < emit_bound_count(s); j++)
    F->iter[j] = NULL;
  F->stmt = NULL;
}

/* The statement a user node runs, its index values bound from the call's
 * arguments (emit_print.c's bind_call). */
static void user(lw_fn *F, __isl_keep isl_ast_node *n)
{
  isl_ast_expr *call = isl_ast_node_user_get_expr(n), *name = isl_ast_expr_op_get_arg(call, 0);
  isl_id *id = isl_ast_expr_id_get_id(name);
  poly_stmt ps;
  if (poly_kernel_stmt(F->k, isl_id_get_name(id), &ps) && ps.stmt < F->f->n_stmts) {
    const ir_stmt *s = F->stmt = F->f->stmts[ps.stmt];
    int nargs = isl_ast_expr_op_get_n_arg(call) - 1;
    for (int j = 0; j < nargs; j++) {
      isl_ast_expr *arg = isl_ast_expr_op_get_arg(call, j + 1);
      F->iter[ps.init && ir_stmt_is_plain(s) ? s->lhs[j] : j] = lw_ast_expr(F, arg);
      isl_ast_expr_free(arg);
    }
    if (ps.init)
      store_identity(F, s);
    else
      update(F, s);
    lw_unbind(F, s);
  } else {
    lw_fail(F, "an isl statement of another kernel");
  }
  isl_id_free(id);
  isl_ast_expr_free(name);
  isl_ast_expr_free(call);
}

/* ------------------------------------------------------------------------
 * isl AST nodes
 * ------------------------------------------------------------------------ */

typedef struct ast_for {
  isl_ast_node *node;
  const char *name;
  isl_ast_expr *cond, *inc;
} ast_for;

static LLVMValueRef for_cond(lw_fn *F, LLVMValueRef i, void *data)
{
  ast_for *a = data;
  lw_push_var(F, a->name, i);
  LLVMValueRef c = lw_ast_expr(F, a->cond);
  lw_pop_var(F);
  return LLVMTypeOf(c) == F->L->i1 ? c : LLVMBuildICmp(F->b, LLVMIntNE, c, lw_i64(F->L, 0), "");
}

static LLVMValueRef for_inc(lw_fn *F, void *data)
{
  return lw_ast_expr(F, ((ast_for *)data)->inc);
}

static void for_body(lw_fn *F, LLVMValueRef i, void *data)
{
  ast_for *a = data;
  isl_ast_node *body = isl_ast_node_for_get_body(a->node);
  lw_push_var(F, a->name, i);
  lw_ast(F, body);
  lw_pop_var(F);
  isl_ast_node_free(body);
}

static void ast_for_node(lw_fn *F, __isl_keep isl_ast_node *n)
{
  isl_ast_expr *it = isl_ast_node_for_get_iterator(n), *init = isl_ast_node_for_get_init(n);
  isl_id *id = isl_ast_expr_id_get_id(it);
  ast_for a = {n, isl_id_get_name(id), isl_ast_node_for_get_cond(n), isl_ast_node_for_get_inc(n)};
  lw_loop(F, lw_ast_expr(F, init), for_cond, for_inc, for_body, &a);
  isl_ast_expr_free(a.cond);
  isl_ast_expr_free(a.inc);
  isl_ast_expr_free(init);
  isl_id_free(id);
  isl_ast_expr_free(it);
}

static void ast_if_node(lw_fn *F, __isl_keep isl_ast_node *n)
{
  isl_ast_expr *cond = isl_ast_node_if_get_cond(n);
  LLVMValueRef c = lw_ast_expr(F, cond);
  isl_ast_expr_free(cond);
  if (LLVMTypeOf(c) != F->L->i1)
    c = LLVMBuildICmp(F->b, LLVMIntNE, c, lw_i64(F->L, 0), "");
  LLVMBasicBlockRef yes = lw_block(F, "then"), no = lw_block(F, "else"), join = lw_block(F, "endif");
  LLVMBuildCondBr(F->b, c, yes, no);
  LLVMPositionBuilderAtEnd(F->b, yes);
  isl_ast_node *then = isl_ast_node_if_get_then_node(n);
  lw_ast(F, then);
  isl_ast_node_free(then);
  LLVMBuildBr(F->b, join);
  LLVMPositionBuilderAtEnd(F->b, no);
  if (isl_ast_node_if_has_else_node(n) == isl_bool_true) {
    isl_ast_node *other = isl_ast_node_if_get_else_node(n);
    lw_ast(F, other);
    isl_ast_node_free(other);
  }
  LLVMBuildBr(F->b, join);
  LLVMPositionBuilderAtEnd(F->b, join);
}

static void ast_block_node(lw_fn *F, __isl_keep isl_ast_node *n)
{
  isl_ast_node_list *list = isl_ast_node_block_get_children(n);
  isl_size count = isl_ast_node_list_n_ast_node(list);
  for (int i = 0; i < count; i++) {
    isl_ast_node *child = isl_ast_node_list_get_at(list, i);
    lw_ast(F, child);
    isl_ast_node_free(child);
  }
  isl_ast_node_list_free(list);
}

/* Marks (aotc_parallel, aotc_simd): the loop below, serial; LLVM's
 * vectoriser finds the simd loops itself. */
static void ast_mark_node(lw_fn *F, __isl_keep isl_ast_node *n)
{
  isl_ast_node *child = isl_ast_node_mark_get_node(n);
  lw_ast(F, child);
  isl_ast_node_free(child);
}

void lw_ast(lw_fn *F, __isl_keep isl_ast_node *n)
{
  switch (isl_ast_node_get_type(n)) {
  case isl_ast_node_for:
    ast_for_node(F, n);
    return;
  case isl_ast_node_if:
    ast_if_node(F, n);
    return;
  case isl_ast_node_block:
    ast_block_node(F, n);
    return;
  case isl_ast_node_mark:
    ast_mark_node(F, n);
    return;
  case isl_ast_node_user:
    user(F, n);
    return;
  default:
    lw_fail(F, "an isl node without a translation");
    return;
  }
}

