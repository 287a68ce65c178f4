/* epilogue.c: the elementwise chain after a contraction, rewritten in place
 * so that the backend can apply it in the contraction's final store.
 *
 * A contraction T0 +=! A * B is followed in a lowered model by statements
 * that each read one value pointwise and write the next: the bias of the
 * convolution (T0 += b(c)), a folded batch normalisation, an activation
 * (T1 = max(T0, 0), Clip, sigmoid, SiLU, hard-swish, GELU), a residual add
 * (T2 = T1 + R). When every intermediate Ti is a temporary read only by the
 * next statement of the chain, over the same box as the contraction's
 * output, and every other tensor the chain reads is complete before the
 * contraction runs, the chain is rewritten to work on its last value Tn:
 *
 *   Tn +=! A * B;  Tn += b(c);  Tn = max(Tn, 0);  Tn = Tn + R
 *
 * The intermediates disappear (no temporary in the memory plan), the
 * partitioning then joins the chain into one kernel right after the
 * contraction, and the C backend applies that kernel to each register tile
 * of the contraction as it stores it (src/emit_c/emit_epilogue.c). Every
 * other consumer of the IR (the reference interpreter, LLVM, CUDA) runs the
 * in-place statements as loops: the same operations in the same order.
 *
 * Subscripts that are the constant 0 on a dimension of size 1 where the
 * statement's own index runs over 0:1 (a batch-1 broadcast) are written as
 * that index, so that the chain reads its operands at its own point.
 * A residual Add reads two results: the chain goes through it from the
 * contraction that runs last (the other operand is then ready). A chain
 * also starts at the result of an operator that computes a product point
 * by point (Winograd's output transform): partitioning then joins it to
 * that loop nest.
 * AOTC_EPILOGUE=0 turns the pass off (pipeline.c). */
#include "graph.h"

#include <string.h>

/* The contraction form partition.c and the backend look for:
 * T(i..) +=! A(..) * B(..) with reduction indices, float32, plain. */
static bool is_contraction(const ir_func *f, const ir_stmt *s)
{
  const ir_expr *e = s->rhs;
  return ir_stmt_is_plain(s) && s->red == IR_RED_ADD && s->init && s->n_index > s->n_lhs &&
         f->tensors[s->tensor]->type == IR_F32 && e->kind == IR_BINARY && e->op == IR_MUL &&
         e->args[0]->kind == IR_ACCESS && e->args[1]->kind == IR_ACCESS;
}

/* Whether s writes the whole tensor, each index running over its
 * dimension from 0 (a contraction's output, or a chain step's). */
static bool covers_tensor(const ir_func *f, const ir_stmt *s)
{
  const ir_tensor *T = f->tensors[s->tensor];
  int64_t lo;
  if (!ir_stmt_is_plain(s) || s->n_lhs != T->rank)
    return false;
  for (int j = 0; j < s->n_lhs; j++) {
    const ir_index *x = &s->index[s->lhs[j]];
    if (!ir_size_is_const(x->lo, &lo) || lo != 0 || !T->shape[j] || !ir_size_equal(x->hi, T->shape[j]))
      return false;
    for (int k = 0; k < j; k++)
      if (s->lhs[k] == s->lhs[j])
        return false;
  }
  return true;
}

static bool same_shape(const ir_tensor *a, const ir_tensor *b)
{
  if (a->rank != b->rank || a->type != b->type)
    return false;
  for (int j = 0; j < a->rank; j++)
    if (!a->shape[j] || !b->shape[j] || !ir_size_equal(a->shape[j], b->shape[j]))
      return false;
  return true;
}

/* Whether subscript j of access e is the statement's own index of
 * dimension j, or the constant 0 where that index runs over 0:1. */
static bool own_subscript(const ir_stmt *s, const ir_expr *e, int j)
{
  const ir_expr *x = e->args[j];
  int64_t hi;
  if (x->kind == IR_INDEX)
    return x->index == s->lhs[j];
  return x->kind == IR_CONST_INT && x->ival == 0 && ir_size_is_const(s->index[s->lhs[j]].hi, &hi) && hi == 1;
}

static bool own_point(const ir_stmt *s, const ir_expr *e)
{
  if (e->padded || e->n_args != s->n_lhs)
    return false;
  for (int j = 0; j < e->n_args; j++)
    if (!own_subscript(s, e, j))
      return false;
  return true;
}

/* Whether every read of tensor t in e is at the statement's own point. */
static bool reads_at_own_point(const ir_stmt *s, const ir_expr *e, int t)
{
  if (e->kind == IR_ACCESS && e->tensor == t && !own_point(s, e))
    return false;
  for (int k = 0; k < e->n_args; k++)
    if (!reads_at_own_point(s, e->args[k], t))
      return false;
  return true;
}

/* Whether statement i writes tensor t. */
static bool writes(const ir_func *f, int i, int t)
{
  return f->stmts[i]->tensor == t;
}

/* Whether no statement first..end-1 writes a tensor e reads other than
 * t (the chain's value): the chain's other operands are complete when the
 * contraction (first) runs. */
static bool others_ready(const ir_func *f, const ir_expr *e, int t, int first, int end)
{
  if (e->kind == IR_ACCESS && e->tensor != t)
    for (int i = first; i < end; i++)
      if (writes(f, i, e->tensor))
        return false;
  for (int k = 0; k < e->n_args; k++)
    if (!others_ready(f, e->args[k], t, first, end))
      return false;
  return true;
}

/* A pointwise step of the chain over the contraction's box: no reduction
 * (or an in-place +=), reads of t only at its own point, operands ready. */
static bool is_step(const ir_func *f, int s0, int i, int t)
{
  const ir_stmt *s = f->stmts[i];
  bool in_place = s->tensor == t;
  if (!covers_tensor(f, s) || s->n_index != s->n_lhs || s->init || f->tensors[s->tensor]->type != IR_F32)
    return false;
  if (!(s->red == IR_RED_NONE || (in_place && s->red == IR_RED_ADD)))
    return false;
  if (!same_shape(f->tensors[s->tensor], f->tensors[t]) || !reads_at_own_point(s, s->rhs, t))
    return false;
  return (in_place || !ir_expr_reads(s->rhs, s->tensor)) && others_ready(f, s->rhs, t, s0, i);
}

/* ---- where each tensor is referenced, so that the pass stays linear in
 * the statements: bounds that may only err on the safe side (first no
 * later, last and last write no earlier than the truth), kept through the
 * rewrites. */

typedef struct refs {
  int *first, *last, *wlast; /* per tensor: statements reading or writing it, writing it; -1: none */
} refs;

static void note(refs *R, int t, int i)
{
  if (R->first[t] < 0 || i < R->first[t])
    R->first[t] = i;
  if (i > R->last[t])
    R->last[t] = i;
}

static void note_reads(refs *R, const ir_expr *e, int i)
{
  if (!e)
    return;
  if (e->kind == IR_ACCESS)
    note(R, e->tensor, i);
  for (int k = 0; k < e->n_args; k++)
    note_reads(R, e->args[k], i);
}

static void index_refs(const ir_func *f, refs *R)
{
  for (int t = 0; t < f->n_tensors; t++)
    R->first[t] = R->last[t] = R->wlast[t] = -1;
  for (int i = 0; i < f->n_stmts; i++) {
    const ir_stmt *s = f->stmts[i];
    note(R, s->tensor, i);
    R->wlast[s->tensor] = i;
    note_reads(R, s->rhs, i);
    for (int d = 0; s->lhs_expr && d < s->n_lhs; d++)
      note_reads(R, s->lhs_expr[d], i);
  }
}

/* Whether a statement before b reads or writes t. */
static bool referenced_before(const refs *R, int t, int b)
{
  return R->first[t] >= 0 && R->first[t] < b;
}

/* Whether a statement after i reads or writes t. */
static bool referenced_after(const refs *R, int t, int i)
{
  return R->last[t] > i;
}

/* Statement i reads t and writes a new value u: the chain may move on to u
 * when t is a temporary nothing else reads and u is new (untouched before
 * i, written only by i). */
static bool moves_on(const ir_func *f, const refs *R, int s0, int i, int t)
{
  int u = f->stmts[i]->tensor;
  const ir_tensor *U = f->tensors[u];
  if (f->tensors[t]->role != IR_TEMP || f->tensors[t]->view || U->view)
    return false;
  if (U->role != IR_TEMP && U->role != IR_OUTPUT)
    return false;
  return !referenced_after(R, t, i) && !referenced_before(R, u, i) && R->wlast[u] <= i &&
         is_step(f, s0, i, t);
}

/* ---- a temporary read once, inlined (a DAG such as x * sigmoid(x) or
 * GELU's x * 0.5 * (1 + erf(x / sqrt 2)) becomes one step) */

static int count_reads(const ir_expr *e, int t)
{
  int n = e->kind == IR_ACCESS && e->tensor == t;
  for (int k = 0; k < e->n_args; k++)
    n += count_reads(e->args[k], t);
  return n;
}

/* The one statement reading t (once, in its right-hand side) when i is
 * its only writer and comes first; -1 otherwise. */
static int single_reader(const ir_func *f, const refs *R, int i, int t)
{
  int u = -1;
  if (referenced_before(R, t, i))
    return -1;
  for (int k = i; k < f->n_stmts && k <= R->last[t]; k++) {
    const ir_stmt *s = f->stmts[k];
    if (k == i || !(ir_stmt_reads(s, t) || writes(f, k, t)))
      continue;
    if (u >= 0 || k < i || writes(f, k, t) || !ir_stmt_is_plain(s) || count_reads(s->rhs, t) != 1)
      return -1;
    u = k;
  }
  return u;
}

/* Statement i, pointwise over its tensor D and reading the chain's value
 * t at its point, may go into the one statement u reading D (at u's own
 * point, over the same box) when nothing in between writes what i reads. */
static int inline_target(const ir_func *f, const refs *R, int i, int t)
{
  const ir_stmt *s = f->stmts[i];
  const ir_tensor *D = f->tensors[s->tensor];
  if (!covers_tensor(f, s) || s->n_index != s->n_lhs || s->red != IR_RED_NONE || s->init || D->role != IR_TEMP ||
      D->view || !reads_at_own_point(s, s->rhs, t))
    return -1;
  int u = single_reader(f, R, i, s->tensor);
  if (u < 0)
    return -1;
  const ir_stmt *r = f->stmts[u];
  if (!covers_tensor(f, r) || r->n_index != r->n_lhs || !same_shape(D, f->tensors[r->tensor]) ||
      !reads_at_own_point(r, r->rhs, s->tensor) || !others_ready(f, s->rhs, -1, i + 1, u + 1))
    return -1;
  return u;
}

/* A copy of e with index variable lhs[j] of its statement as to[j]. */
static ir_expr *clone_expr(aotc_ctx *ctx, const ir_expr *e, const int *lhs, const int *to, int n)
{
  ir_expr *c = ir_expr_new(ctx, e->kind, e->type, e->loc, e->n_args);
  if (!c)
    return NULL;
  ir_expr **args = c->args;
  *c = *e;
  c->args = args;
  for (int j = 0; e->kind == IR_INDEX && j < n; j++)
    if (lhs[j] == e->index)
      c->index = to[j];
  for (int k = 0; k < e->n_args; k++)
    if (!(c->args[k] = clone_expr(ctx, e->args[k], lhs, to, n)))
      return NULL;
  return c;
}

/* The access of t in e (one) replaced by the value v. */
static void substitute(ir_expr *e, int t, ir_expr *v)
{
  for (int k = 0; k < e->n_args; k++)
    if (e->args[k]->kind == IR_ACCESS && e->args[k]->tensor == t)
      e->args[k] = v;
    else
      substitute(e->args[k], t, v);
}

static void remove_stmt(ir_func *f, refs *R, int i)
{
  for (int k = i; k + 1 < f->n_stmts; k++) {
    f->stmts[k] = f->stmts[k + 1];
    f->stmt_origin[k] = f->stmt_origin[k + 1];
  }
  f->n_stmts--;
  for (int t = 0; t < f->n_tensors; t++) {
    R->first[t] -= R->first[t] > i;
    R->last[t] -= R->last[t] > i;
    R->wlast[t] -= R->wlast[t] > i;
  }
}

/* Statement i into its one reader (then removed), when the chain's value
 * t is read again after i (a DAG: x * sigmoid(x)); false if it cannot be.
 * Its tensor is marked in dead. */
static bool inline_reader(aotc_ctx *ctx, ir_func *f, refs *R, int i, int t, bool *dead)
{
  int u = referenced_after(R, t, i) ? inline_target(f, R, i, t) : -1;
  if (u < 0 || f->n_syncs)
    return false;
  dead[f->stmts[i]->tensor] = true;
  const ir_stmt *s = f->stmts[i];
  ir_stmt *r = f->stmts[u];
  ir_expr *v = clone_expr(ctx, s->rhs, s->lhs, r->lhs, s->n_lhs);
  if (!v)
    return false;
  if (r->rhs->kind == IR_ACCESS && r->rhs->tensor == s->tensor)
    r->rhs = v;
  else
    substitute(r->rhs, s->tensor, v);
  note_reads(R, v, u);
  remove_stmt(f, R, i);
  return true;
}

/* ---- rewriting */

typedef struct chain {
  aotc_ctx *ctx;
  ir_func *f;
  int inlined;    /* statements inlined into their reader */
  bool *dead;     /* per tensor: renamed by some chain */
  refs refs;      /* where tensors are referenced */
  int s0;
  int n;          /* statements of the chain after s0 */
  int *stmts;     /* [n] */
  bool *renamed;  /* per tensor: an intermediate that becomes the last value */
  int last;       /* the last value */
} chain;

static void rename_expr(chain *c, ir_expr *e)
{
  if (e->kind == IR_ACCESS && c->renamed[e->tensor])
    e->tensor = c->last;
  for (int k = 0; k < e->n_args; k++)
    rename_expr(c, e->args[k]);
}

/* 0 on a unit dimension becomes the statement's own index there. */
static void own_indices(aotc_ctx *ctx, const ir_stmt *s, ir_expr *e)
{
  if (e->kind == IR_ACCESS && !e->padded && e->n_args == s->n_lhs && own_point(s, e))
    for (int j = 0; j < e->n_args; j++)
      if (e->args[j]->kind == IR_CONST_INT) {
        ir_expr *x = ir_expr_new(ctx, IR_INDEX, e->args[j]->type, e->args[j]->loc, 0);
        if (x) {
          x->index = s->lhs[j];
          e->args[j] = x;
        }
      }
  for (int k = 0; k < e->n_args; k++)
    own_indices(ctx, s, e->args[k]);
}

static void rewrite(aotc_ctx *ctx, chain *c)
{
  ir_func *f = c->f;
  f->stmts[c->s0]->tensor = c->last;
  for (int k = 0; k < c->n; k++) {
    ir_stmt *s = f->stmts[c->stmts[k]];
    s->tensor = c->last;
    rename_expr(c, s->rhs);
    own_indices(ctx, s, s->rhs);
  }
  for (int t = 0; t < f->n_tensors; t++)
    if (c->renamed[t]) {
      c->dead[t] = true;
      note(&c->refs, c->last, c->refs.first[t]);
      note(&c->refs, c->last, c->refs.last[t]);
    }
  note(&c->refs, c->last, c->s0);
  note(&c->refs, c->last, c->stmts[c->n - 1]);
  if (c->stmts[c->n - 1] > c->refs.wlast[c->last])
    c->refs.wlast[c->last] = c->stmts[c->n - 1];
}

/* ---- the intermediates leave the function */

/* Tensor numbers in e through map, each access once (a node two
 * statements share is seen twice: the first visit marks it negative). */
static void renumber_expr(ir_expr *e, const int *map, bool mark)
{
  if (e->kind == IR_ACCESS && mark && e->tensor >= 0)
    e->tensor = -2 - map[e->tensor];
  else if (e->kind == IR_ACCESS && !mark && e->tensor < 0)
    e->tensor = -2 - e->tensor;
  for (int k = 0; k < e->n_args; k++)
    renumber_expr(e->args[k], map, mark);
}

static void renumber_stmts(ir_func *f, const int *map, bool mark)
{
  for (int i = 0; i < f->n_stmts; i++) {
    ir_stmt *s = f->stmts[i];
    renumber_expr(s->rhs, map, mark);
    for (int d = 0; !ir_stmt_is_plain(s) && d < s->n_lhs; d++)
      renumber_expr(s->lhs_expr[d], map, mark);
  }
}

static void renumber_lists(ir_func *f, const int *map)
{
  for (int i = 0; i < f->n_stmts; i++)
    f->stmts[i]->tensor = map[f->stmts[i]->tensor];
  for (int i = 0; i < f->n_inputs; i++)
    f->inputs[i] = map[f->inputs[i]];
  for (int i = 0; i < f->n_outputs; i++)
    f->outputs[i] = map[f->outputs[i]];
  for (int i = 0; i < f->n_syncs; i++) {
    f->syncs[i].tensor = map[f->syncs[i].tensor];
    f->syncs[i].param = map[f->syncs[i].param];
  }
}

/* The renamed intermediates (no statement mentions them any more) are
 * removed from f's tensors: no temporary, no pointer for them. */
static bool drop_tensors(aotc_ctx *ctx, ir_func *f, const bool *dead)
{
  int *map = IR_NEW_ARRAY(ctx, int, f->n_tensors), n = 0;
  if (!map)
    return false;
  for (int t = 0; t < f->n_tensors; t++) {
    map[t] = dead[t] ? 0 : n;
    if (!dead[t])
      f->tensors[n++] = f->tensors[t];
  }
  renumber_stmts(f, map, true);
  renumber_stmts(f, map, false);
  renumber_lists(f, map);
  f->n_tensors = n;
  return true;
}

/* The chain after contraction s0; false when it has no step. */
static bool find_chain(chain *c)
{
  ir_func *f = c->f;
  int t = f->stmts[c->s0]->tensor;
  if (referenced_before(&c->refs, t, c->s0))
    return false;
  c->n = 0;
  memset(c->renamed, 0, sizeof(bool) * (size_t)f->n_tensors);
  for (int i = c->s0 + 1; i < f->n_stmts && i <= c->refs.last[t]; i++) {
    if (!ir_stmt_reads(f->stmts[i], t) && !writes(f, i, t))
      continue;
    if (!writes(f, i, t) && !moves_on(f, &c->refs, c->s0, i, t) &&
        inline_reader(c->ctx, c->f, &c->refs, i, t, c->dead)) {
      c->inlined++;
      i--;
      continue;
    }
    if (writes(f, i, t) ? !is_step(f, c->s0, i, t) : !moves_on(f, &c->refs, c->s0, i, t))
      break;
    if (!writes(f, i, t)) {
      c->renamed[t] = true;
      t = f->stmts[i]->tensor;
    }
    c->stmts[c->n++] = i;
  }
  c->last = t;
  return c->n > 0;
}

/* The last statement of an operator that computes a product, writing its
 * result point by point (Winograd's output transform, bias included). */
static bool is_product_result(const ir_func *f, int i)
{
  const ir_stmt *s = f->stmts[i];
  if ((i + 1 < f->n_stmts && f->stmt_origin[i + 1] == f->stmt_origin[i]) || !covers_tensor(f, s) ||
      s->n_index != s->n_lhs || s->red != IR_RED_NONE || s->init || f->tensors[s->tensor]->type != IR_F32)
    return false;
  for (int k = i - 1; k >= 0 && f->stmt_origin[k] == f->stmt_origin[i]; k--)
    if (is_contraction(f, f->stmts[k]))
      return true;
  return false;
}

/* Where a chain starts: a contraction, or the result of a product. */
static bool is_head(const ir_func *f, int i)
{
  return (is_contraction(f, f->stmts[i]) || is_product_result(f, i)) && covers_tensor(f, f->stmts[i]);
}

bool ir_epilogue(aotc_ctx *ctx, ir_func *f, int *fused)
{
  chain c = {.ctx = ctx, .f = f};
  *fused = 0;
  if (!f->stmt_origin || f->body)
    return true;
  c.stmts = IR_NEW_ARRAY(ctx, int, f->n_stmts);
  c.renamed = IR_NEW_ARRAY(ctx, bool, f->n_tensors);
  c.dead = IR_NEW_ARRAY(ctx, bool, f->n_tensors);
  c.refs.first = IR_NEW_ARRAY(ctx, int, f->n_tensors);
  c.refs.last = IR_NEW_ARRAY(ctx, int, f->n_tensors);
  c.refs.wlast = IR_NEW_ARRAY(ctx, int, f->n_tensors);
  if (!c.stmts || !c.renamed || !c.dead || !c.refs.first || !c.refs.last || !c.refs.wlast)
    return false;
  index_refs(f, &c.refs);
  for (c.s0 = 0; c.s0 < f->n_stmts; c.s0++)
    if (is_head(f, c.s0) && find_chain(&c)) {
      rewrite(ctx, &c);
      *fused += c.n;
    }
  *fused += c.inlined;
  return !ctx->oom && (!*fused || drop_tensors(ctx, f, c.dead));
}
