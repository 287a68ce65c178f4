/* llvm_loops.c: isl's AST nodes (loops, conditions, blocks, marks,
 * statements) as LLVM control flow, the contractions of the plan as plain
 * loop nests the O2/O3 pipeline vectorises, and the run-time checks of
 * indices read from data (emit_checks.c's meaning: before the kernel, the
 * entry returns AOTC_RC_INDEX). Parallel marks run serially. */
#include "llvm_priv.h"

#include <isl/id.h>
#include <string.h>

static void node(lw_fn *F, __isl_keep isl_ast_node *n);

/* ------------------------------------------------------------------------
 * Loops and branches
 * ------------------------------------------------------------------------ */

typedef LLVMValueRef (*cond_fn)(lw_fn *F, LLVMValueRef i, void *data);
typedef LLVMValueRef (*inc_fn)(lw_fn *F, void *data);

/* for (i = init; cond(i); i += inc) body(i) */
static void loop(lw_fn *F, LLVMValueRef init, cond_fn cond, inc_fn inc, lw_body_fn body, void *data)
{
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(F->b), head = lw_block(F, "loop"), in = lw_block(F, "body"),
                    out = lw_block(F, "exit");
  LLVMBuildBr(F->b, head);
  LLVMPositionBuilderAtEnd(F->b, head);
  LLVMValueRef i = LLVMBuildPhi(F->b, F->L->i64, "i");
  LLVMBuildCondBr(F->b, cond(F, i, data), in, out);
  LLVMPositionBuilderAtEnd(F->b, in);
  body(F, i, data);
  LLVMValueRef next = LLVMBuildAdd(F->b, i, inc(F, data), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(F->b);
  LLVMBuildBr(F->b, head);
  LLVMValueRef vals[] = {init, next};
  LLVMBasicBlockRef blocks[] = {pre, latch};
  LLVMAddIncoming(i, vals, blocks, 2);
  LLVMPositionBuilderAtEnd(F->b, out);
}

typedef struct counted {
  LLVMValueRef hi;
  lw_body_fn body;
  void *data;
} counted;

static LLVMValueRef counted_cond(lw_fn *F, LLVMValueRef i, void *data)
{
  return LLVMBuildICmp(F->b, LLVMIntSLT, i, ((counted *)data)->hi, "");
}

static LLVMValueRef counted_inc(lw_fn *F, void *data)
{
  (void)data;
  return lw_i64(F->L, 1);
}

static void counted_body(lw_fn *F, LLVMValueRef i, void *data)
{
  counted *c = data;
  c->body(F, i, c->data);
}

void lw_counted_loop(lw_fn *F, LLVMValueRef lo, LLVMValueRef hi, lw_body_fn body, void *data)
{
  counted c = {hi, body, data};
  loop(F, lo, counted_cond, counted_inc, counted_body, &c);
}

/* if (cond) then(F, data) */
static void branch(lw_fn *F, LLVMValueRef cond, void (*then)(lw_fn *, void *), void *data)
{
  LLVMBasicBlockRef yes = lw_block(F, "then"), join = lw_block(F, "endif");
  LLVMBuildCondBr(F->b, cond, yes, join);
  LLVMPositionBuilderAtEnd(F->b, yes);
  then(F, data);
  LLVMBuildBr(F->b, join);
  LLVMPositionBuilderAtEnd(F->b, join);
}

void lw_fail_if(lw_fn *F, LLVMValueRef bad)
{
  if (!F->fail_index) {
    LLVMBasicBlockRef here = LLVMGetInsertBlock(F->b);
    F->fail_index = lw_block(F, "index_fail");
    LLVMPositionBuilderAtEnd(F->b, F->fail_index);
    LLVMBuildRet(F->b, LLVMConstInt(F->L->i32, AOTC_RC_INDEX, 0));
    LLVMPositionBuilderAtEnd(F->b, here);
  }
  LLVMBasicBlockRef ok = lw_block(F, "index_ok");
  LLVMBuildCondBr(F->b, bad, F->fail_index, ok);
  LLVMPositionBuilderAtEnd(F->b, ok);
}

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

static int bound_count(const ir_stmt *s)
{
  return !ir_stmt_is_plain(s) && s->n_lhs > s->n_index ? s->n_lhs : s->n_index;
}

static void unbind(lw_fn *F, const ir_stmt *s)
{
  for (int j = 0; j < bound_count(s); j++)
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
    unbind(F, s);
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
  node(F, body);
  lw_pop_var(F);
  isl_ast_node_free(body);
}

static void ast_for_node(lw_fn *F, __isl_keep isl_ast_node *n)
{
  isl_ast_expr *it = isl_ast_node_for_get_iterator(n), *init = isl_ast_node_for_get_init(n);
  isl_id *id = isl_ast_expr_id_get_id(it);
  ast_for a = {n, isl_id_get_name(id), isl_ast_node_for_get_cond(n), isl_ast_node_for_get_inc(n)};
  loop(F, lw_ast_expr(F, init), for_cond, for_inc, for_body, &a);
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
  node(F, then);
  isl_ast_node_free(then);
  LLVMBuildBr(F->b, join);
  LLVMPositionBuilderAtEnd(F->b, no);
  if (isl_ast_node_if_has_else_node(n) == isl_bool_true) {
    isl_ast_node *other = isl_ast_node_if_get_else_node(n);
    node(F, other);
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
    node(F, child);
    isl_ast_node_free(child);
  }
  isl_ast_node_list_free(list);
}

/* Marks (aotc_parallel, aotc_simd): the loop below, serial; LLVM's
 * vectoriser finds the simd loops itself. */
static void ast_mark_node(lw_fn *F, __isl_keep isl_ast_node *n)
{
  isl_ast_node *child = isl_ast_node_mark_get_node(n);
  node(F, child);
  isl_ast_node_free(child);
}

static void node(lw_fn *F, __isl_keep isl_ast_node *n)
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

/* ------------------------------------------------------------------------
 * Loop nests over a statement's own index ranges (contractions, checks)
 * ------------------------------------------------------------------------ */

typedef struct nest {
  const ir_stmt *s;
  const int *order; /* the indices, outermost first */
  int n, depth;
  void (*inner)(lw_fn *F, struct nest *n);
  const void *data;
  LLVMValueRef *lo, *hi; /* per index: a tile's bounds instead of its range (NULL: none) */
} nest;

static void nest_level(lw_fn *F, nest *n);

static void nest_body(lw_fn *F, LLVMValueRef i, void *data)
{
  nest *n = data;
  F->iter[n->order[n->depth]] = i;
  n->depth++;
  nest_level(F, n);
  n->depth--;
}

static void nest_level(lw_fn *F, nest *n)
{
  if (n->depth == n->n) {
    n->inner(F, n);
    return;
  }
  int k = n->order[n->depth];
  const ir_index *x = &n->s->index[k];
  LLVMValueRef lo = n->lo && n->lo[k] ? n->lo[k] : lw_size(F, x->lo);
  LLVMValueRef hi = n->hi && n->hi[k] ? n->hi[k] : lw_size(F, x->hi);
  lw_counted_loop(F, lo, hi, nest_body, n);
}

static void run_nest(lw_fn *F, nest *n)
{
  F->stmt = n->s;
  n->depth = 0;
  nest_level(F, n);
  unbind(F, n->s);
}

/* ---- contractions: C(batch, rows, cols) (+)= A * B; the columns inside */

static void contraction_init(lw_fn *F, nest *n)
{
  store_identity(F, n->s);
}

static void contraction_update(lw_fn *F, nest *n)
{
  update(F, n->s);
}

static int contraction_order(const ir_stmt *s, const sched_contraction *c, int *order)
{
  int n = 0;
  bool used[SCHED_MAX_DIMS * 4] = {0};
  const int *lists[] = {c->batch, c->rows, c->depth, c->cols};
  const int counts[] = {c->n_batch, c->n_rows, c->n_depth, c->n_cols};
  for (int l = 0; l < 4; l++)
    for (int i = 0; i < counts[l]; i++)
      if (!used[lists[l][i]]) {
        used[lists[l][i]] = true;
        order[n++] = lists[l][i];
      }
  for (int x = 0; x < s->n_index; x++)
    if (!used[x])
      order[n++] = x;
  return n;
}

/* ---- cache blocks: tile loops over the last column, depth and row index
 * (steps nc, kc, mc of the plan's blocks, capped so that a kc x nc block of
 * B stays in L2 without packing), the point loops inside */

typedef struct tiles {
  nest *body;
  int idx[3];
  int64_t step[3];
  int depth;
} tiles;

static void tile_level(lw_fn *F, tiles *t);

typedef struct stepped {
  LLVMValueRef hi;
  int64_t step;
  tiles *t;
} stepped;

static LLVMValueRef stepped_inc(lw_fn *F, void *data)
{
  const counted *c = data;
  return lw_i64(F->L, ((const stepped *)c->data)->step);
}

typedef struct step_loop {
  counted c; /* first: counted_cond and counted_body read it */
  int64_t step;
} step_loop;

static LLVMValueRef step_inc(lw_fn *F, void *data)
{
  return lw_i64(F->L, ((const step_loop *)data)->step);
}

/* for (i = lo; i < hi; i += step) body(i) */
static void stepped_loop(lw_fn *F, LLVMValueRef lo, LLVMValueRef hi, int64_t step, lw_body_fn body, void *data)
{
  step_loop s = {{hi, body, data}, step};
  loop(F, lo, counted_cond, step_inc, counted_body, &s);
}

static void tile_body(lw_fn *F, LLVMValueRef start, void *data)
{
  stepped *st = data;
  tiles *t = st->t;
  int x = t->idx[t->depth];
  LLVMValueRef end = LLVMBuildAdd(F->b, start, lw_i64(F->L, st->step), "");
  t->body->lo[x] = start;
  t->body->hi[x] = LLVMBuildSelect(F->b, LLVMBuildICmp(F->b, LLVMIntSLT, end, st->hi, ""), end, st->hi, "");
  t->depth++;
  tile_level(F, t);
  t->depth--;
  t->body->lo[x] = t->body->hi[x] = NULL;
}

static void tile_level(lw_fn *F, tiles *t)
{
  if (t->depth == 3) {
    run_nest(F, t->body);
    return;
  }
  int x = t->idx[t->depth];
  if (x < 0 || t->step[t->depth] <= 0) {
    t->depth++;
    tile_level(F, t);
    t->depth--;
    return;
  }
  const ir_index *ix = &t->body->s->index[x];
  stepped st = {lw_size(F, ix->hi), t->step[t->depth], t};
  counted c = {st.hi, tile_body, &st};
  loop(F, lw_size(F, ix->lo), counted_cond, stepped_inc, counted_body, &c);
}

/* ---- register tiles: mr rows x nr columns of C in vectors of vw floats
 * across the depth block, B loaded as vectors along the columns, A
 * broadcast (the C path's micro-kernel, without packing); the rows and
 * columns left over take the scalar loops */

#define UKR_MAX_ACC 32
#define UKR_KC 256 /* the most depth of a cache block (its panel of B lives on the stack) */

typedef struct ukr {
  const sched_contraction *c;
  const sched_blocks *b;
  const ir_stmt *s;
  nest *outer;                      /* its lo/hi hold the tile's bounds */
  LLVMValueRef acc[UKR_MAX_ACC];    /* allocas of the accumulators */
  LLVMValueRef panel;               /* alloca: B's depth block x nr columns, packed */
  LLVMValueRef row;                 /* alloca: the panel's row of the depth point */
  int kc;                           /* the depth block's most points (panel rows) */
  int64_t step0;                    /* cache block of the outermost depth index */
  LLVMValueRef i0, j0, klo, khi, jlo;
} ukr;

/* Points of the depth indices inside the outermost one (constant ranges);
 * 0 when not constant or too many for a panel. */
static int64_t inner_depth(const ir_stmt *s, const sched_contraction *c)
{
  int64_t n = 1, lo, hi;
  if (c->n_depth < 1)
    return 0;
  for (int d = 1; d < c->n_depth; d++) {
    const ir_index *x = &s->index[c->depth[d]];
    if (!ir_size_is_const(x->lo, &lo) || !ir_size_is_const(x->hi, &hi) || hi <= lo || (n *= hi - lo) > UKR_KC)
      return 0;
  }
  return n;
}

static bool plain_f32_read(const lw_fn *F, const ir_expr *e)
{
  return e->kind == IR_ACCESS && e->type == IR_F32 && F->f->tensors[e->tensor]->type == IR_F32 &&
         F->f->tensors[e->tensor]->rank == e->n_args && e->n_args > 0;
}

/* C(.., j) += A(..) * B(..): j the last subscript of C, A without j, B
 * without i (B is packed: any subscripts, padded or not); vectors of vw
 * floats, at most UKR_MAX_ACC accumulators. */
static bool ukr_usable(const lw_fn *F, const sched_contraction *c, const sched_blocks *b, const ir_stmt *s)
{
  const ir_expr *e = s->rhs, *A = c->a, *B = c->b;
  if (b->vw <= 1 || b->mr < 1 || b->nr < b->vw || b->nr % b->vw || b->mr * (b->nr / b->vw) > UKR_MAX_ACC)
    return false;
  if (c->k < 0 || !ir_stmt_is_plain(s) || s->red != IR_RED_ADD || F->f->tensors[s->tensor]->type != IR_F32)
    return false;
  if (e->kind != IR_BINARY || e->op != IR_MUL || e->type != IR_F32 ||
      !((e->args[0] == A && e->args[1] == B) || (e->args[0] == B && e->args[1] == A)))
    return false;
  if (!plain_f32_read(F, A) || !plain_f32_read(F, B) || s->lhs[s->n_lhs - 1] != c->j)
    return false;
  return !ir_expr_uses_index(A, c->j) && !ir_expr_uses_index(B, c->i) && inner_depth(s, c) > 0;
}

static LLVMTypeRef ukr_vec(lw_fn *F, const ukr *u)
{
  return LLVMVectorType(F->L->f32, (unsigned)u->b->vw);
}

static LLVMValueRef entry_alloca(lw_fn *F, LLVMTypeRef ty)
{
  LLVMBuilderRef b = LLVMCreateBuilderInContext(F->L->c);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(F->fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first)
    LLVMPositionBuilderBefore(b, first);
  else
    LLVMPositionBuilderAtEnd(b, entry);
  LLVMValueRef a = LLVMBuildAlloca(b, ty, "acc");
  LLVMDisposeBuilder(b);
  return a;
}

/* Binds row r and column vector v of the tile. */
static void ukr_at(lw_fn *F, ukr *u, int r, int v)
{
  if (r >= 0)
    F->iter[u->c->i] = LLVMBuildAdd(F->b, u->i0, lw_i64(F->L, r), "");
  if (v >= 0)
    F->iter[u->c->j] = LLVMBuildAdd(F->b, u->j0, lw_i64(F->L, (int64_t)v * u->b->vw), "");
}

static LLVMValueRef ukr_c_addr(lw_fn *F, ukr *u, int r, int v)
{
  ukr_at(F, u, r, v);
  return lw_address(F, u->s->tensor, u->s->n_lhs, lhs_index, u->s);
}

/* Every point of the depth indices of the block (the outermost in its
 * cache block), in order, each with its panel row: fn(F, row, u). */
typedef void (*depth_fn)(lw_fn *F, LLVMValueRef row, ukr *u);

typedef struct depth_walk {
  ukr *u;
  int d;
  depth_fn fn;
} depth_walk;

static void walk_level(lw_fn *F, depth_walk *w);

static void walk_body(lw_fn *F, LLVMValueRef x, void *data)
{
  depth_walk *w = data;
  F->iter[w->u->c->depth[w->d]] = x;
  w->d++;
  walk_level(F, w);
  w->d--;
}

static void walk_level(lw_fn *F, depth_walk *w)
{
  ukr *u = w->u;
  if (w->d == u->c->n_depth) {
    LLVMValueRef row = LLVMBuildLoad2(F->b, F->L->i64, u->row, "");
    w->fn(F, LLVMBuildMul(F->b, row, lw_i64(F->L, u->b->nr), ""), u);
    LLVMBuildStore(F->b, LLVMBuildAdd(F->b, row, lw_i64(F->L, 1), ""), u->row);
    return;
  }
  const ir_index *x = &u->s->index[u->c->depth[w->d]];
  LLVMValueRef lo = w->d ? lw_size(F, x->lo) : u->klo, hi = w->d ? lw_size(F, x->hi) : u->khi;
  lw_counted_loop(F, lo, hi, walk_body, w);
}

static void walk_depth(lw_fn *F, ukr *u, depth_fn fn)
{
  depth_walk w = {u, 0, fn};
  LLVMBuildStore(F->b, lw_i64(F->L, 0), u->row);
  walk_level(F, &w);
}

static void ukr_depth(lw_fn *F, LLVMValueRef row, ukr *u)
{
  int mr = u->b->mr, nv = u->b->nr / u->b->vw;
  LLVMTypeRef vt = ukr_vec(F, u);
  LLVMValueRef bv[UKR_MAX_ACC], zero = LLVMConstNull(LLVMVectorType(F->L->i32, (unsigned)u->b->vw));
  for (int v = 0; v < nv; v++) {
    LLVMValueRef at = LLVMBuildAdd(F->b, row, lw_i64(F->L, (int64_t)v * u->b->vw), "");
    bv[v] = LLVMBuildLoad2(F->b, vt, LLVMBuildGEP2(F->b, F->L->f32, u->panel, &at, 1, ""), "");
    LLVMSetAlignment(bv[v], 4);
  }
  for (int r = 0; r < mr; r++) {
    ukr_at(F, u, r, -1);
    LLVMValueRef a = lw_expr_as(F, u->c->a, IR_F32);
    LLVMValueRef one = LLVMBuildInsertElement(F->b, LLVMGetUndef(vt), a, LLVMConstInt(F->L->i32, 0, 0), "");
    LLVMValueRef splat = LLVMBuildShuffleVector(F->b, one, LLVMGetUndef(vt), zero, "");
    for (int v = 0; v < nv; v++) {
      LLVMValueRef *slot = &u->acc[r * nv + v];
      LLVMValueRef sum = lw_fmuladd(F, splat, bv[v], LLVMBuildLoad2(F->b, vt, *slot, ""), IR_F32);
      LLVMBuildStore(F->b, sum, *slot);
    }
  }
}

/* Loads or stores the accumulators from or to C. */
static void ukr_move(lw_fn *F, ukr *u, bool load)
{
  int nv = u->b->nr / u->b->vw;
  LLVMTypeRef vt = ukr_vec(F, u);
  for (int r = 0; r < u->b->mr; r++)
    for (int v = 0; v < nv; v++) {
      LLVMValueRef addr = ukr_c_addr(F, u, r, v), x;
      if (load) {
        x = LLVMBuildLoad2(F->b, vt, addr, "");
        LLVMSetAlignment(x, 4);
        LLVMBuildStore(F->b, x, u->acc[r * nv + v]);
      } else {
        x = LLVMBuildStore(F->b, LLVMBuildLoad2(F->b, vt, u->acc[r * nv + v], ""), addr);
        LLVMSetAlignment(x, 4);
      }
    }
}

static void ukr_tile(lw_fn *F, LLVMValueRef i0, void *data)
{
  ukr *u = data;
  u->i0 = i0;
  ukr_move(F, u, true);
  walk_depth(F, u, ukr_depth);
  ukr_move(F, u, false);
}

/* lo + (hi - lo) / step * step: the end of the whole steps. */
static LLVMValueRef whole(lw_fn *F, LLVMValueRef lo, LLVMValueRef hi, int step)
{
  LLVMValueRef n = LLVMBuildSDiv(F->b, LLVMBuildSub(F->b, hi, lo, ""), lw_i64(F->L, step), "");
  return LLVMBuildAdd(F->b, lo, LLVMBuildMul(F->b, n, lw_i64(F->L, step), ""), "");
}

/* panel[(k - klo) * nr + jj] = B at (k, j0 + jj) */
static void pack_depth(lw_fn *F, LLVMValueRef row, ukr *u)
{
  for (int jj = 0; jj < u->b->nr; jj++) {
    F->iter[u->c->j] = LLVMBuildAdd(F->b, u->j0, lw_i64(F->L, jj), "");
    LLVMValueRef at = LLVMBuildAdd(F->b, row, lw_i64(F->L, jj), "");
    LLVMBuildStore(F->b, lw_expr_as(F, u->c->b, IR_F32), LLVMBuildGEP2(F->b, F->L->f32, u->panel, &at, 1, ""));
  }
}

typedef struct ukr_cols {
  ukr *u;
  LLVMValueRef ilo, iend;
} ukr_cols;

/* One panel of nr columns: B packed, then the register tiles down the rows. */
static void ukr_panel(lw_fn *F, LLVMValueRef j0, void *data)
{
  ukr_cols *cols = data;
  ukr *u = cols->u;
  u->j0 = j0;
  walk_depth(F, u, pack_depth);
  stepped_loop(F, cols->ilo, cols->iend, u->b->mr, ukr_tile, u);
}

/* The scalar loops over rows [ilo, ihi) and columns [jlo, jhi) of the tile. */
static void ukr_rest(lw_fn *F, ukr *u, LLVMValueRef ilo, LLVMValueRef ihi, LLVMValueRef jlo, LLVMValueRef jhi)
{
  const sched_contraction *c = u->c;
  int order[SCHED_MAX_DIMS + 2], k = 0, d0 = c->depth[0];
  order[k++] = c->i;
  for (int d = 0; d < c->n_depth; d++)
    order[k++] = c->depth[d];
  order[k++] = c->j;
  LLVMValueRef lo[SCHED_MAX_DIMS * 4] = {0}, hi[SCHED_MAX_DIMS * 4] = {0};
  lo[c->i] = ilo, hi[c->i] = ihi, lo[c->j] = jlo, hi[c->j] = jhi, lo[d0] = u->klo, hi[d0] = u->khi;
  nest n = {.s = u->s, .order = order, .n = k, .inner = contraction_update, .lo = lo, .hi = hi};
  n.depth = 0;
  nest_level(F, &n);
}

static LLVMValueRef bound(lw_fn *F, nest *n, int x, bool hi)
{
  LLVMValueRef *v = hi ? n->hi : n->lo;
  return v && v[x] ? v[x] : lw_size(F, hi ? n->s->index[x].hi : n->s->index[x].lo);
}

/* The point loops of one cache block: register tiles, then the rest. */
static void ukr_block(lw_fn *F, nest *n)
{
  ukr *u = (ukr *)n->data;
  const sched_contraction *c = u->c;
  LLVMValueRef ilo = bound(F, n, c->i, false), ihi = bound(F, n, c->i, true);
  LLVMValueRef jlo = bound(F, n, c->j, false), jhi = bound(F, n, c->j, true);
  u->klo = bound(F, n, c->depth[0], false), u->khi = bound(F, n, c->depth[0], true), u->jlo = jlo;
  LLVMValueRef iend = whole(F, ilo, ihi, u->b->mr), jend = whole(F, jlo, jhi, u->b->nr);
  ukr_cols cols = {u, ilo, iend};
  u->outer = n;
  stepped_loop(F, jlo, jend, u->b->nr, ukr_panel, &cols);
  ukr_rest(F, u, ilo, iend, jend, jhi);
  ukr_rest(F, u, iend, ihi, jlo, jhi);
}

static int64_t cap(int64_t v, int64_t most)
{
  return v > 0 && v < most ? v : most;
}

/* The cache blocks around body; u: the register tiles' (their depth block
 * is over the outermost depth index), NULL: the plain loop nest's. */
static void blocked(lw_fn *F, const sched_contraction *c, const sched_blocks *b, nest *body, const ukr *u)
{
  LLVMValueRef lo[SCHED_MAX_DIMS * 4] = {0}, hi[SCHED_MAX_DIMS * 4] = {0};
  body->lo = lo;
  body->hi = hi;
  tiles t = {body, {c->j, u ? c->depth[0] : c->k, c->i}, {cap(b->nc, 512), u ? u->step0 : cap(b->kc, UKR_KC),
                                                          cap(b->mc, 128)}, 0};
  tile_level(F, &t);
  body->lo = body->hi = NULL;
}

static bool is_depth(const sched_contraction *c, int x)
{
  for (int d = 0; d < c->n_depth; d++)
    if (c->depth[d] == x)
      return true;
  return false;
}

/* order without the register tile's row, column and depth indices. */
static int without(int *order, int n, const sched_contraction *c)
{
  int k = 0;
  for (int x = 0; x < n; x++)
    if (order[x] != c->i && order[x] != c->j && !is_depth(c, order[x]))
      order[k++] = order[x];
  return k;
}

static void contraction(lw_fn *F, int ci)
{
  const sched_contraction *c = &F->pf->contr[ci];
  const ir_stmt *s = F->f->stmts[c->stmt];
  int order[SCHED_MAX_DIMS * 4];
  if (s->n_index > SCHED_MAX_DIMS * 4 || !ir_stmt_is_plain(s)) {
    lw_fail(F, "a contraction of an unexpected form");
    return;
  }
  if (s->init) {
    nest init = {.s = s, .order = s->lhs, .n = s->n_lhs, .inner = contraction_init};
    run_nest(F, &init);
  }
  nest body = {.s = s, .order = order, .n = contraction_order(s, c, order), .inner = contraction_update};
  ukr u = {.c = c, .b = &F->pf->blocks[ci], .s = s};
  if (ukr_usable(F, c, u.b, s)) {
    body.n = without(order, body.n, c);
    body.inner = ukr_block;
    body.data = &u;
    for (int a = 0; a < u.b->mr * (u.b->nr / u.b->vw); a++)
      u.acc[a] = entry_alloca(F, ukr_vec(F, &u));
    int64_t inner = inner_depth(s, c);
    u.step0 = UKR_KC / inner > 0 ? UKR_KC / inner : 1;
    u.kc = (int)(u.step0 * inner);
    u.panel = entry_alloca(F, LLVMArrayType(F->L->f32, (unsigned)(u.kc * u.b->nr)));
    u.row = entry_alloca(F, F->L->i64);
  }
  blocked(F, c, u.b, &body, body.inner == ukr_block ? &u : NULL);
}

/* ---- index checks */

static void check_tests(lw_fn *F, nest *n)
{
  const emit_checked_access *a = n->data;
  for (int j = 0; j < a->n; j++) {
    if (!emit_checks_reads_data(a->subs[j]))
      continue;
    LLVMValueRef v = lw_subscript(F, a->subs[j]);
    lw_fail_if(F, LLVMBuildICmp(F->b, LLVMIntUGE, v, F->dim[a->t][j], ""));
  }
}

typedef struct check_job {
  const emit_checked_access *a;
  bool *used;
} check_job;

static void check_loops(lw_fn *F, void *data)
{
  check_job *job = data;
  const ir_stmt *s = job->a->s;
  int order[64], k = 0;
  for (int x = 0; x < s->n_index && k < 64; x++)
    if (job->used[x])
      order[k++] = x;
  nest n = {.s = s, .order = order, .n = k, .inner = check_tests, .data = job->a};
  run_nest(F, &n);
}

/* The statement runs somewhere: every range the check does not loop over
 * is non-empty. */
static LLVMValueRef runs(lw_fn *F, const ir_stmt *s, const bool *used)
{
  LLVMValueRef ok = LLVMConstInt(F->L->i1, 1, 0);
  for (int x = 0; x < s->n_index; x++)
    if (!used[x])
      ok = LLVMBuildAnd(
          F->b, ok, LLVMBuildICmp(F->b, LLVMIntSGT, lw_size(F, s->index[x].hi), lw_size(F, s->index[x].lo), ""), "");
  return ok;
}

static void check_access(void *data, const emit_checked_access *a)
{
  lw_fn *F = data;
  bool used[64] = {0};
  if (a->s->n_index > 64) {
    lw_fail(F, "a checked statement with too many indices");
    return;
  }
  emit_checks_mark_used(a, used);
  check_job job = {a, used};
  F->stmt = a->s;
  branch(F, runs(F, a->s, used), check_loops, &job);
  F->stmt = NULL;
}

void lw_kernel(lw_fn *F, int i)
{
  const emit_kernel *k = &F->pf->kernels[i];
  for (int s = k->first; !F->p->opt->unchecked_indices && s < k->end; s++)
    emit_checks_visit_stmt(F->f->stmts[s], check_access, F);
  if (k->contraction >= 0) {
    contraction(F, k->contraction);
    return;
  }
  F->k = k->poly;
  node(F, k->ast);
}
