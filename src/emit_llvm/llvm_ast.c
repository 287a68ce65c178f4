/* llvm_ast.c: isl's AST nodes (loops, conditions, blocks, marks,
 * statements) as LLVM control flow, each statement with its index values
 * bound from the call's arguments as the C printer binds them
 * (emit_print.c). Parallel marks run on OpenMP's team (llvm_parallel.c). */
#include "llvm_priv.h"

#include <limits.h>

#include <isl/id.h>
#include <string.h>

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

/* The element an update writes: the local accumulator inside a loop
 * annotated EMIT_PLAN_ACC. */
static LLVMValueRef lhs_address(lw_fn *F, const ir_stmt *s)
{
  return F->acc ? F->acc : lw_address(F, s->tensor, s->n_lhs, lhs_index, s);
}

static void mul_add(lw_fn *F, const ir_stmt *s, ir_type t)
{
  LLVMValueRef a = lw_expr_as(F, s->rhs->args[0], t), b = lw_expr_as(F, s->rhs->args[1], t);
  LLVMValueRef addr = lhs_address(F, s);
  lw_store(F, s->tensor, addr, lw_fmuladd(F, a, b, lw_load(F, s->tensor, addr), t));
}

/* The low 31 bits of a negative value flipped: a float's bits become an
 * integer of the same order (-0 just below +0, so a max of -0 and +0 is +0
 * where the C helper keeps the first), and the same map takes such a key
 * back to the float's bits. */
static LLVMValueRef flip_negative(lw_fn *F, LLVMValueRef bits)
{
  LLVMValueRef sign = LLVMBuildAShr(F->b, bits, LLVMConstInt(F->L->i32, 31, 0), "");
  return LLVMBuildXor(F->b, bits, LLVMBuildAnd(F->b, sign, LLVMConstInt(F->L->i32, 0x7fffffff, 0), ""), "");
}

/* The ordered key of float v; a NaN (when nan is given: the key for it) is
 * ignored by the reduction, as the C helpers' compare ignores it. */
static LLVMValueRef float_key(lw_fn *F, LLVMValueRef v, LLVMValueRef nan)
{
  LLVMValueRef key = flip_negative(F, LLVMBuildBitCast(F->b, v, F->L->i32, ""));
  return nan ? LLVMBuildSelect(F->b, LLVMBuildFCmp(F->b, LLVMRealUNO, v, v, ""), nan, key, "") : key;
}

static LLVMValueRef key_float(lw_fn *F, LLVMValueRef key)
{
  return LLVMBuildBitCast(F->b, flip_negative(F, key), F->L->f32, "");
}

/* acc = max (min) of acc and the key of rhs: an integer max, which the
 * loop vectoriser reduces (a float max needs no-NaN flags, which LLVM 15's
 * C API cannot set). */
static void keyed_update(lw_fn *F, const ir_stmt *s)
{
  bool is_max = s->red == IR_RED_MAX;
  LLVMValueRef ignore = LLVMConstInt(F->L->i32, is_max ? 0x80000000u : 0x7fffffffu, 0);
  LLVMValueRef key = float_key(F, lw_expr_as(F, s->rhs, IR_F32), ignore);
  LLVMValueRef old = LLVMBuildLoad2(F->b, F->L->i32, F->acc, "");
  LLVMValueRef more = LLVMBuildICmp(F->b, is_max ? LLVMIntSGT : LLVMIntSLT, key, old, "");
  LLVMBuildStore(F->b, LLVMBuildSelect(F->b, more, key, old, ""), F->acc);
}

static void update(lw_fn *F, const ir_stmt *s)
{
  ir_type t = F->f->tensors[s->tensor]->type;
  if (F->acc_keyed) {
    keyed_update(F, s);
    return;
  }
  if (is_mul_add(s, t)) {
    mul_add(F, s, t);
    return;
  }
  LLVMValueRef rhs = lw_expr_as(F, s->rhs, t), addr = lhs_address(F, s), v = rhs;
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

/* The statement a user node calls, its index values bound from the call's
 * arguments (emit_print.c's bind_call); NULL (failed) if none. */
static const ir_stmt *bind_call(lw_fn *F, __isl_keep isl_ast_node *n, poly_stmt *ps)
{
  isl_ast_expr *call = isl_ast_node_user_get_expr(n), *name = isl_ast_expr_op_get_arg(call, 0);
  isl_id *id = isl_ast_expr_id_get_id(name);
  const ir_stmt *s = NULL;
  if (poly_kernel_stmt(F->k, isl_id_get_name(id), ps) && ps->stmt < F->f->n_stmts) {
    s = F->stmt = F->f->stmts[ps->stmt];
    int nargs = isl_ast_expr_op_get_n_arg(call) - 1;
    for (int j = 0; j < nargs; j++) {
      isl_ast_expr *arg = isl_ast_expr_op_get_arg(call, j + 1);
      F->iter[ps->init && ir_stmt_is_plain(s) ? s->lhs[j] : j] = lw_ast_expr(F, arg);
      isl_ast_expr_free(arg);
    }
  } else {
    lw_fail(F, "an isl statement of another kernel");
  }
  isl_id_free(id);
  isl_ast_expr_free(name);
  isl_ast_expr_free(call);
  return s;
}

static void user(lw_fn *F, __isl_keep isl_ast_node *n)
{
  poly_stmt ps;
  const ir_stmt *s = bind_call(F, n, &ps);
  if (!s)
    return;
  if (ps.init)
    store_identity(F, s);
  else
    update(F, s);
  lw_unbind(F, s);
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
  return LLVMTypeOf(c) == F->L->i1 ? c : LLVMBuildICmp(F->b, LLVMIntNE, c, lw_idx(F->L, 0), "");
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

/* The loop's trip count when its start, bound (it <= c or it < c) and step
 * are constants (emit_ast_loop_range); 0 otherwise. */
static int constant_trip(__isl_keep isl_ast_expr *init, __isl_keep isl_ast_expr *cond, __isl_keep isl_ast_expr *inc)
{
  long lo, end, step;
  if (!emit_ast_loop_range(init, cond, inc, &lo, &end, &step))
    return 0;
  long trip = end <= lo ? 0 : (end - lo + step - 1) / step;
  return trip > INT_MAX ? 0 : (int)trip;
}

static void plain_for(lw_fn *F, __isl_keep isl_ast_node *n)
{
  isl_ast_expr *it = isl_ast_node_for_get_iterator(n), *init = isl_ast_node_for_get_init(n);
  isl_id *id = isl_ast_expr_id_get_id(it);
  ast_for a = {n, isl_id_get_name(id), isl_ast_node_for_get_cond(n), isl_ast_node_for_get_inc(n)};
  F->trip_next = constant_trip(init, a.cond, a.inc);
  lw_loop(F, lw_ast_expr(F, init), for_cond, for_inc, for_body, &a);
  isl_ast_expr_free(a.cond);
  isl_ast_expr_free(a.inc);
  isl_ast_expr_free(init);
  isl_id_free(id);
  isl_ast_expr_free(it);
}

/* The address of the element the loop's one statement reduces into (it does
 * not move with the loop: the iterator stands at its first value). */
static LLVMValueRef reduced_element(lw_fn *F, __isl_keep isl_ast_node *n, __isl_keep isl_ast_node *body,
                                    const ir_stmt **s)
{
  isl_ast_expr *it = isl_ast_node_for_get_iterator(n), *init = isl_ast_node_for_get_init(n);
  isl_id *id = isl_ast_expr_id_get_id(it);
  LLVMValueRef addr = NULL;
  poly_stmt ps;
  lw_push_var(F, isl_id_get_name(id), lw_ast_expr(F, init));
  *s = bind_call(F, body, &ps);
  if (*s && !ps.init)
    addr = lw_address(F, (*s)->tensor, (*s)->n_lhs, lhs_index, *s);
  if (*s)
    lw_unbind(F, *s);
  lw_pop_var(F);
  isl_id_free(id);
  isl_ast_expr_free(init);
  isl_ast_expr_free(it);
  return addr;
}

/* A loop the plan annotated EMIT_PLAN_ACC (emit_print.c's
 * print_replaced_for): the element in a local across the loop. */
static void replaced_for(lw_fn *F, __isl_keep isl_ast_node *n, __isl_keep isl_ast_node *body)
{
  const ir_stmt *s = NULL;
  LLVMValueRef addr = reduced_element(F, n, body, &s);
  if (!addr) {
    plain_for(F, n);
    return;
  }
  int t = s->tensor;
  /* The C path's omp simd reduction (print_simd_reduction): the loop may
   * reassociate the reduction (LLVM does so for + and *); a float max or
   * min reduces the floats' integer keys (float_key). */
  F->simd_next = F->pf->sched.vectorize && s->red != IR_RED_NONE;
  F->acc_keyed = F->simd_next && F->f->tensors[t]->type == IR_F32 && (s->red == IR_RED_MAX || s->red == IR_RED_MIN);
  LLVMValueRef init = NULL;
  if (F->acc_keyed) {
    F->acc = lw_entry_alloca(F, F->L->i32, "acc");
    init = lw_load(F, t, addr);
    LLVMBuildStore(F->b, float_key(F, init, NULL), F->acc);
  } else {
    F->acc = lw_entry_alloca(F, lw_mem_type(F->L, F->f->tensors[t]->type), "acc");
    lw_store(F, t, F->acc, lw_load(F, t, addr));
  }
  plain_for(F, n);
  if (F->acc_keyed) { /* a NaN to start with stays, as the C helpers keep it */
    LLVMValueRef v = key_float(F, LLVMBuildLoad2(F->b, F->L->i32, F->acc, ""));
    lw_store(F, t, addr, LLVMBuildSelect(F->b, LLVMBuildFCmp(F->b, LLVMRealUNO, init, init, ""), init, v, ""));
  } else
    lw_store(F, t, addr, lw_load(F, t, F->acc));
  F->acc = NULL;
  F->acc_keyed = false;
}

static bool is_annotated(__isl_keep isl_ast_node *n, const char *name)
{
  isl_id *id = isl_ast_node_get_annotation(n);
  bool yes = id && isl_id_get_name(id) && !strcmp(isl_id_get_name(id), name);
  isl_id_free(id);
  return yes;
}

/* emit_select_loop's loop: the body once per value, the index a constant
 * (the C printer's print_select_unrolled). */
static void select_unrolled(lw_fn *F, __isl_keep isl_ast_node *n, long lo, long hi)
{
  isl_ast_expr *it = isl_ast_node_for_get_iterator(n);
  isl_id *id = isl_ast_expr_id_get_id(it);
  isl_ast_node *body = isl_ast_node_for_get_body(n);
  for (long v = lo; v <= hi; v++) {
    lw_push_var(F, isl_id_get_name(id), lw_idx(F->L, v));
    lw_ast(F, body);
    lw_pop_var(F);
  }
  isl_ast_node_free(body);
  isl_id_free(id);
  isl_ast_expr_free(it);
}

static void ast_for_node(lw_fn *F, __isl_keep isl_ast_node *n)
{
  long lo, hi;
  if (!F->acc && !F->simd_next && emit_select_loop(F->k, F->f, n, &lo, &hi)) {
    select_unrolled(F, n, lo, hi);
    return;
  }
  isl_ast_node *body = isl_ast_node_for_get_body(n);
  if (!F->acc && is_annotated(n, EMIT_PLAN_ACC) && isl_ast_node_get_type(body) == isl_ast_node_user)
    replaced_for(F, n, body);
  else
    plain_for(F, n);
  isl_ast_node_free(body);
}

static void ast_if_node(lw_fn *F, __isl_keep isl_ast_node *n)
{
  isl_ast_expr *cond = isl_ast_node_if_get_cond(n);
  LLVMValueRef c = lw_ast_expr(F, cond);
  isl_ast_expr_free(cond);
  if (LLVMTypeOf(c) != F->L->i1)
    c = LLVMBuildICmp(F->b, LLVMIntNE, c, lw_idx(F->L, 0), "");
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

/* An aotc_parallel loop (the C path prints `omp parallel for
 * schedule(static)` there) on a team of the plan's threads
 * (llvm_parallel.c), where its bound is `it <= e` or `it < e` and its step
 * a constant, as OpenMP's canonical loops are; false: build it serially. */
static bool parallel_for(lw_fn *F, __isl_keep isl_ast_node *n)
{
  isl_ast_expr *it = isl_ast_node_for_get_iterator(n), *init = isl_ast_node_for_get_init(n);
  isl_ast_expr *cond = isl_ast_node_for_get_cond(n), *inc = isl_ast_node_for_get_inc(n);
  long step = 0;
  emit_ast_int(inc, &step);
  enum isl_ast_expr_op_type op = isl_ast_expr_get_type(cond) == isl_ast_expr_op ? isl_ast_expr_op_get_type(cond)
                                                                                  : isl_ast_expr_op_error;
  isl_ast_expr *left = (op == isl_ast_expr_op_le || op == isl_ast_expr_op_lt) && isl_ast_expr_op_get_n_arg(cond) == 2
                           ? isl_ast_expr_op_get_arg(cond, 0)
                           : NULL;
  bool ok = step > 0 && left && isl_ast_expr_is_equal(left, it) == isl_bool_true && !is_annotated(n, EMIT_PLAN_ACC);
  if (ok) {
    isl_ast_expr *bound = isl_ast_expr_op_get_arg(cond, 1);
    isl_id *id = isl_ast_expr_id_get_id(it);
    LLVMValueRef lo = lw_ast_expr(F, init), end = lw_ast_expr(F, bound);
    if (op == isl_ast_expr_op_le)
      end = LLVMBuildAdd(F->b, end, lw_idx(F->L, 1), "");
    LLVMValueRef span = LLVMBuildSub(F->b, end, lo, "");
    LLVMValueRef count = LLVMBuildSDiv(F->b, LLVMBuildAdd(F->b, span, lw_idx(F->L, step - 1), ""), lw_idx(F->L, step), "");
    count = LLVMBuildSelect(F->b, LLVMBuildICmp(F->b, LLVMIntSGT, span, lw_idx(F->L, 0), ""), count, lw_idx(F->L, 0), "");
    ast_for a = {n, isl_id_get_name(id), cond, inc};
    lw_parallel_loop(F, F->pf->sched.threads, lo, count, step, for_body, &a);
    isl_id_free(id);
    isl_ast_expr_free(bound);
  }
  isl_ast_expr_free(left);
  isl_ast_expr_free(it);
  isl_ast_expr_free(init);
  isl_ast_expr_free(cond);
  isl_ast_expr_free(inc);
  return ok;
}

/* Marks: aotc_parallel's loop on a team of threads (parallel_for) when the
 * plan has several; aotc_simd's and aotc_simd_rows' loop carries
 * llvm.loop.vectorize.enable (emit_print.c prints omp simd there); the
 * others' nodes as they are. */
static void ast_mark_node(lw_fn *F, __isl_keep isl_ast_node *n)
{
  isl_ast_node *child = isl_ast_node_mark_get_node(n);
  isl_id *id = isl_ast_node_mark_get_id(n);
  const char *name = isl_id_get_name(id);
  bool is_for = isl_ast_node_get_type(child) == isl_ast_node_for;
  F->simd_next = name && is_for && (!strcmp(name, "aotc_simd") || !strcmp(name, "aotc_simd_rows"));
  bool team = name && is_for && !strcmp(name, "aotc_parallel") && F->pf->sched.threads > 1 && !F->acc;
  isl_id_free(id);
  if (!team || !parallel_for(F, child))
    lw_ast(F, child);
  F->simd_next = false;
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

