/* ops_loss.c: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss. With
 * input X(n, c, d...) (log-probabilities; for the cross entropy, the log of
 * the softmax over c of the scores), target T(n, d...) and optional class
 * weights W(c):
 *   loss(n, d...) = T == ignore_index ? 0 : -X(n, T(n, d...), d...) * W(T)
 * reduced by none, sum or mean (the sum divided by the sum of the weights
 * of the targets that are not ignored). */
#include "ops_internal.h"

#include <string.h>

typedef enum { LOSS_NONE, LOSS_SUM, LOSS_MEAN } loss_reduction;

static bool reduction_of(ir_graph *g, const ir_node *n, loss_reduction *r)
{
  const char *s = ir_attr_string(n, "reduction", "mean");
  *r = !strcmp(s, "none") ? LOSS_NONE : !strcmp(s, "sum") ? LOSS_SUM : LOSS_MEAN;
  if (strcmp(s, "none") && strcmp(s, "sum") && strcmp(s, "mean"))
    return op_fail(g, n, "reduction '%s' is not supported", s);
  return true;
}

bool infer_loss(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0), *t = op_in(g, n, 1), *w = op_in(g, n, 2);
  loss_reduction r;
  if (!reduction_of(g, n, &r))
    return false;
  if (!t || x->rank < 2 || t->rank != x->rank - 1 || !ir_types[x->type].is_float || ir_types[t->type].is_float)
    return op_fail(g, n, "scores (N, C, ...) and integer targets (N, ...) expected");
  for (int d = 0; d < t->rank; d++)
    if (t->shape[d] != x->shape[d == 0 ? 0 : d + 1])
      return op_fail(g, n, "the targets' shape does not match the input's");
  if (w && (w->rank != 1 || w->shape[0] != x->shape[1] || w->type != x->type))
    return op_fail(g, n, "weights must be a vector of %lld elements", (long long)x->shape[1]);
  if (n->op == IR_NODE_SOFTMAXCROSSENTROPYLOSS && n->n_out > 1 && n->out[1] >= 0 &&
      !op_set_out(g, n, 1, x->type, x->rank, x->shape))
    return false;
  return op_set_out(g, n, 0, x->type, r == LOSS_NONE ? t->rank : 0, t->shape);
}

/* Index variables of a statement over the targets' shape: X's indices with
 * the class (index 1) given. */
static void x_indices(ir_lower *L, int rank_t, ir_expr *cls, ir_expr **ix)
{
  ix[0] = ex_idx(L, 0);
  ix[1] = cls;
  for (int d = 1; d < rank_t; d++)
    ix[d + 1] = ex_idx(L, d);
}

/* log_softmax over the classes into lp (same shape as x). */
static bool log_softmax(ir_lower *L, int x, int lp, int rank_t)
{
  const ir_tensor *X = lw_tensor(L, x);
  ir_type ty = X->type;
  int64_t hi[IR_MAX_RANK + 1], shape[IR_MAX_RANK];
  for (int d = 0; d < rank_t; d++)
    shape[d] = hi[d] = lw_dim(L, x, d == 0 ? 0 : d + 1);
  hi[rank_t] = lw_dim(L, x, 1);
  int mx = lw_temp(L, "max", ty, rank_t, shape), sum = lw_temp(L, "sum", ty, rank_t, shape);
  ir_expr *ix[IR_MAX_RANK];
  x_indices(L, rank_t, ex_idx(L, rank_t), ix);
  if (mx < 0 || sum < 0 || !st_emit(L, st_new(L, mx, rank_t, 1, hi), IR_RED_MAX, true, ex_read(L, x, ix, false)))
    return false;
  x_indices(L, rank_t, ex_idx(L, rank_t), ix);
  ir_expr *e = ex_call(L, IR_FN_EXP, ex_bin(L, IR_SUB, ex_read(L, x, ix, false), ex_at(L, mx, 0)), NULL);
  if (!st_emit(L, st_new(L, sum, rank_t, 1, hi), IR_RED_ADD, true, e))
    return false;
  ir_expr *at[IR_MAX_RANK];
  at[0] = ex_idx(L, 0);
  for (int d = 1; d < rank_t; d++)
    at[d] = ex_idx(L, d + 1);
  ir_expr *shifted = ex_bin(L, IR_SUB, ex_at(L, x, 0), ex_read(L, mx, at, false));
  for (int d = 1; d < rank_t; d++)
    at[d] = ex_idx(L, d + 1);
  return st_map(L, lp, ex_bin(L, IR_SUB, shifted, ex_call(L, IR_FN_LOG, ex_read(L, sum, at, false), NULL)));
}

typedef struct loss_parts {
  ir_expr *ignored; /* bool: the target is ignore_index (NULL: none) */
  ir_expr *weight;  /* W(T), or 1 */
  ir_expr *loss;    /* the element's loss */
} loss_parts;

/* The loss of the element at the statement's first rank_t indices. */
static loss_parts element_loss(ir_lower *L, const ir_node *n, int lp, int t, int w, int rank_t)
{
  ir_type ty = lw_tensor(L, lp)->type;
  int64_t classes = lw_dim(L, lp, 1);
  loss_parts p = {0};
  ir_expr *target = ex_cast(L, IR_I64, ex_at(L, t, 0));
  ir_expr *cls = ex_call(L, IR_FN_MAX, ex_int(L, 0), ex_call(L, IR_FN_MIN, target, ex_int(L, classes - 1)));
  ir_expr *ix[IR_MAX_RANK], *wi[1];
  x_indices(L, rank_t, cls, ix);
  wi[0] = ex_call(L, IR_FN_MAX, ex_int(L, 0),
                  ex_call(L, IR_FN_MIN, ex_cast(L, IR_I64, ex_at(L, t, 0)), ex_int(L, classes - 1)));
  p.weight = w >= 0 ? ex_read(L, w, wi, false) : ex_const(L, 1, ty);
  p.loss = ex_neg(L, ex_bin(L, IR_MUL, ex_read(L, lp, ix, false), p.weight));
  if (ir_node_attr(n, "ignore_index")) {
    int64_t ii = ir_attr_int(n, "ignore_index", 0);
    p.ignored = ex_bin(L, IR_EQ, ex_cast(L, IR_I64, ex_at(L, t, 0)), ex_int(L, ii));
    p.loss = ex_sel(L, p.ignored, ex_const(L, 0, ty), p.loss);
    p.weight = ex_sel(L, ex_bin(L, IR_EQ, ex_cast(L, IR_I64, ex_at(L, t, 0)), ex_int(L, ii)), ex_const(L, 0, ty),
                      w >= 0 ? ex_read(L, w, wi, false) : ex_const(L, 1, ty));
  }
  return p;
}

static bool nll(ir_lower *L, const ir_node *n, int lp, int t, int w, int y)
{
  loss_reduction r;
  int rank_t = lw_tensor(L, t)->rank;
  ir_type ty = lw_tensor(L, lp)->type;
  if (!reduction_of(L->g, n, &r))
    return false;
  int64_t hi[IR_MAX_RANK];
  for (int d = 0; d < rank_t; d++)
    hi[d] = lw_dim(L, t, d);
  loss_parts p = element_loss(L, n, lp, t, w, rank_t);
  if (r == LOSS_NONE)
    return st_emit(L, st_new(L, y, rank_t, 0, hi), IR_RED_NONE, false, p.loss);
  if (r == LOSS_SUM)
    return st_emit(L, st_new(L, y, 0, rank_t, hi), IR_RED_ADD, true, p.loss);
  int total = lw_temp(L, "total", ty, 0, NULL), weights = lw_temp(L, "weights", ty, 0, NULL);
  if (total < 0 || weights < 0 || !st_emit(L, st_new(L, total, 0, rank_t, hi), IR_RED_ADD, true, p.loss) ||
      !st_emit(L, st_new(L, weights, 0, rank_t, hi), IR_RED_ADD, true, p.weight))
    return false;
  return st_emit(L, st_new(L, y, 0, 0, hi), IR_RED_NONE, false,
                 ex_bin(L, IR_DIV, ex_read(L, total, NULL, false), ex_read(L, weights, NULL, false)));
}

bool lower_loss(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), t = lw_in(L, n->in[1]), y = lw_out(L, n->out[0]);
  int w = n->n_in > 2 && n->in[2] >= 0 ? lw_in(L, n->in[2]) : -1;
  if (x < 0 || t < 0 || y < 0 || (n->n_in > 2 && n->in[2] >= 0 && w < 0))
    return false;
  if (n->op == IR_NODE_NEGATIVELOGLIKELIHOODLOSS)
    return nll(L, n, x, t, w, y);
  const ir_tensor *X = lw_tensor(L, x);
  int64_t shape[IR_MAX_RANK];
  for (int d = 0; d < X->rank; d++)
    shape[d] = lw_dim(L, x, d);
  int lp = n->n_out > 1 && n->out[1] >= 0 ? lw_out(L, n->out[1]) : lw_temp(L, "log_prob", X->type, X->rank, shape);
  return lp >= 0 && log_softmax(L, x, lp, lw_tensor(L, t)->rank) && nll(L, n, lp, t, w, y);
}
