/* ops_loss.c: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss. With
 * input X(n, c, d...) (log-probabilities; for the cross entropy, the log of
 * the softmax over c of the scores), target T(n, d...) and optional class
 * weights W(c):
 *   loss(n, d...) = T == ignore_index ? 0 : -X(n, T(n, d...), d...) * W(T)
 * reduced by none, sum or mean (the sum divided by the sum of the weights
 * of the targets that are not ignored). */
#include "ops_internal.h"

#include <string.h>

bool graph_infer_loss(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0), *t = graph_in(g, n, 1), *w = graph_in(g, n, 2);
  graph_loss_reduction r = n->p.loss.reduction;
  if (!t || x->rank < 2 || t->rank != x->rank - 1 || !ir_types[x->type].is_float || ir_types[t->type].is_float)
    return graph_fail(g, n, "scores (N, C, ...) and integer targets (N, ...) expected");
  for (int d = 0; d < t->rank; d++)
    if (t->shape[d] != x->shape[d == 0 ? 0 : d + 1])
      return graph_fail(g, n, "the targets' shape does not match the input's");
  if (w && (w->rank != 1 || w->shape[0] != x->shape[1] || w->type != x->type))
    return graph_fail(g, n, "weights must be a vector of %lld elements", (long long)x->shape[1]);
  if (n->op == GRAPH_OP_SOFTMAX_CROSS_ENTROPY && n->n_out > 1 && n->out[1] >= 0 &&
      !graph_set_out(g, n, 1, x->type, x->rank, x->shape))
    return false;
  return graph_set_out(g, n, 0, x->type, r == GRAPH_LOSS_NONE ? t->rank : 0, t->shape);
}

/* Index variables of a statement over the targets' shape: X's indices with
 * the class (index 1) given. */
static void x_indices(ir_lower *L, int rank_t, ir_expr *cls, ir_expr **ix)
{
  ix[0] = graph_ex_idx(L, 0);
  ix[1] = cls;
  for (int d = 1; d < rank_t; d++)
    ix[d + 1] = graph_ex_idx(L, d);
}

/* log_softmax over the classes into lp (same shape as x). */
static bool log_softmax(ir_lower *L, int x, int lp, int rank_t)
{
  const ir_tensor *X = graph_lw_tensor(L, x);
  ir_type ty = X->type;
  int64_t hi[IR_MAX_RANK + 1], shape[IR_MAX_RANK];
  for (int d = 0; d < rank_t; d++)
    shape[d] = hi[d] = graph_lw_dim(L, x, d == 0 ? 0 : d + 1);
  hi[rank_t] = graph_lw_dim(L, x, 1);
  int mx = graph_lw_temp(L, "max", ty, rank_t, shape), sum = graph_lw_temp(L, "sum", ty, rank_t, shape);
  ir_expr *ix[IR_MAX_RANK];
  x_indices(L, rank_t, graph_ex_idx(L, rank_t), ix);
  if (mx < 0 || sum < 0 ||
      !graph_st_emit(L, graph_st_new(L, mx, rank_t, 1, hi), IR_RED_MAX, true, graph_ex_read(L, x, ix, false)))
    return false;
  x_indices(L, rank_t, graph_ex_idx(L, rank_t), ix);
  ir_expr *e =
      graph_ex_call(L, IR_FN_EXP, graph_ex_bin(L, IR_SUB, graph_ex_read(L, x, ix, false), graph_ex_at(L, mx, 0)), NULL);
  if (!graph_st_emit(L, graph_st_new(L, sum, rank_t, 1, hi), IR_RED_ADD, true, e))
    return false;
  ir_expr *at[IR_MAX_RANK];
  at[0] = graph_ex_idx(L, 0);
  for (int d = 1; d < rank_t; d++)
    at[d] = graph_ex_idx(L, d + 1);
  ir_expr *shifted = graph_ex_bin(L, IR_SUB, graph_ex_at(L, x, 0), graph_ex_read(L, mx, at, false));
  for (int d = 1; d < rank_t; d++)
    at[d] = graph_ex_idx(L, d + 1);
  return graph_st_map(
      L, lp, graph_ex_bin(L, IR_SUB, shifted, graph_ex_call(L, IR_FN_LOG, graph_ex_read(L, sum, at, false), NULL)));
}

typedef struct loss_parts {
  ir_expr *ignored; /* bool: the target is ignore_index (NULL: none) */
  ir_expr *weight;  /* W(T), or 1 */
  ir_expr *loss;    /* the element's loss */
} loss_parts;

/* The loss of the element at the statement's first rank_t indices. */
static loss_parts element_loss(ir_lower *L, const ir_node *n, int lp, int t, int w, int rank_t)
{
  ir_type ty = graph_lw_tensor(L, lp)->type;
  int64_t classes = graph_lw_dim(L, lp, 1);
  loss_parts p = {0};
  ir_expr *target = graph_ex_cast(L, IR_I64, graph_ex_at(L, t, 0));
  ir_expr *cls = graph_ex_call(L, IR_FN_MAX, graph_ex_int(L, 0),
                               graph_ex_call(L, IR_FN_MIN, target, graph_ex_int(L, classes - 1)));
  ir_expr *ix[IR_MAX_RANK], *wi[1];
  x_indices(L, rank_t, cls, ix);
  wi[0] = graph_ex_call(
      L, IR_FN_MAX, graph_ex_int(L, 0),
      graph_ex_call(L, IR_FN_MIN, graph_ex_cast(L, IR_I64, graph_ex_at(L, t, 0)), graph_ex_int(L, classes - 1)));
  p.weight = w >= 0 ? graph_ex_read(L, w, wi, false) : graph_ex_const(L, 1, ty);
  p.loss = graph_ex_neg(L, graph_ex_bin(L, IR_MUL, graph_ex_read(L, lp, ix, false), p.weight));
  if (n->p.loss.has_ignore_index) {
    int64_t ii = n->p.loss.ignore_index;
    p.ignored = graph_ex_bin(L, IR_EQ, graph_ex_cast(L, IR_I64, graph_ex_at(L, t, 0)), graph_ex_int(L, ii));
    p.loss = graph_ex_sel(L, p.ignored, graph_ex_const(L, 0, ty), p.loss);
    p.weight =
        graph_ex_sel(L, graph_ex_bin(L, IR_EQ, graph_ex_cast(L, IR_I64, graph_ex_at(L, t, 0)), graph_ex_int(L, ii)),
                     graph_ex_const(L, 0, ty), w >= 0 ? graph_ex_read(L, w, wi, false) : graph_ex_const(L, 1, ty));
  }
  return p;
}

static bool nll(ir_lower *L, const ir_node *n, int lp, int t, int w, int y)
{
  graph_loss_reduction r = n->p.loss.reduction;
  int rank_t = graph_lw_tensor(L, t)->rank;
  ir_type ty = graph_lw_tensor(L, lp)->type;
  int64_t hi[IR_MAX_RANK];
  for (int d = 0; d < rank_t; d++)
    hi[d] = graph_lw_dim(L, t, d);
  loss_parts p = element_loss(L, n, lp, t, w, rank_t);
  if (r == GRAPH_LOSS_NONE)
    return graph_st_emit(L, graph_st_new(L, y, rank_t, 0, hi), IR_RED_NONE, false, p.loss);
  if (r == GRAPH_LOSS_SUM)
    return graph_st_emit(L, graph_st_new(L, y, 0, rank_t, hi), IR_RED_ADD, true, p.loss);
  int total = graph_lw_temp(L, "total", ty, 0, NULL), weights = graph_lw_temp(L, "weights", ty, 0, NULL);
  if (total < 0 || weights < 0 || !graph_st_emit(L, graph_st_new(L, total, 0, rank_t, hi), IR_RED_ADD, true, p.loss) ||
      !graph_st_emit(L, graph_st_new(L, weights, 0, rank_t, hi), IR_RED_ADD, true, p.weight))
    return false;
  return graph_st_emit(
      L, graph_st_new(L, y, 0, 0, hi), IR_RED_NONE, false,
      graph_ex_bin(L, IR_DIV, graph_ex_read(L, total, NULL, false), graph_ex_read(L, weights, NULL, false)));
}

bool graph_lower_loss(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), t = graph_lw_in(L, n->in[1]), y = graph_lw_out(L, n->out[0]);
  int w = n->n_in > 2 && n->in[2] >= 0 ? graph_lw_in(L, n->in[2]) : -1;
  if (x < 0 || t < 0 || y < 0 || (n->n_in > 2 && n->in[2] >= 0 && w < 0))
    return false;
  if (n->op == GRAPH_OP_NLL_LOSS)
    return nll(L, n, x, t, w, y);
  const ir_tensor *X = graph_lw_tensor(L, x);
  int64_t shape[IR_MAX_RANK];
  for (int d = 0; d < X->rank; d++)
    shape[d] = graph_lw_dim(L, x, d);
  int lp = n->n_out > 1 && n->out[1] >= 0 ? graph_lw_out(L, n->out[1])
                                          : graph_lw_temp(L, "log_prob", X->type, X->rank, shape);
  return lp >= 0 && log_softmax(L, x, lp, graph_lw_tensor(L, t)->rank) && nll(L, n, lp, t, w, y);
}
