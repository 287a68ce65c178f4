/* ops_nn.c: the neural-network operators of the op library: matrix
 * products, global pooling, normalisations, softmax and reductions, each
 * lowered to a few comprehensions (`+=!` reductions, elementwise statements
 * reading keep-dims temporaries). Convolutions and windowed pooling are in
 * ops_conv.c. */
#include "ops_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Reductions over a set of dimensions: where each index of the input goes
 * ------------------------------------------------------------------------ */

typedef struct red_map {
  int rank; /* of the input */
  bool reduced[IR_MAX_RANK];
  int lhs_of[IR_MAX_RANK]; /* index variable of a kept (or kept-as-1) dimension */
  int red_of[IR_MAX_RANK]; /* index variable of a reduced dimension */
  int n_lhs, n_red;
  int64_t hi[2 * IR_MAX_RANK];
} red_map;

/* keepdims: the output has the input's rank, reduced dimensions of size 1. */
static void red_map_init(ir_lower *L, red_map *m, int x, const bool *reduced, bool keepdims)
{
  memset(m, 0, sizeof(*m));
  m->rank = graph_lw_tensor(L, x)->rank;
  for (int d = 0; d < m->rank; d++) {
    m->reduced[d] = reduced[d];
    if (!reduced[d] || keepdims) {
      m->lhs_of[d] = m->n_lhs;
      m->hi[m->n_lhs++] = reduced[d] ? 1 : graph_lw_dim(L, x, d);
    }
  }
  for (int d = 0; d < m->rank; d++)
    if (reduced[d]) {
      m->red_of[d] = m->n_lhs + m->n_red;
      m->hi[m->n_lhs + m->n_red++] = graph_lw_dim(L, x, d);
    }
}

/* The input at the statement's point: kept dimensions at their left-hand
 * index, reduced ones at their reduction index. */
static ir_expr *red_read_x(ir_lower *L, const red_map *m, int x)
{
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < m->rank; d++)
    idx[d] = graph_ex_idx(L, m->reduced[d] ? m->red_of[d] : m->lhs_of[d]);
  return graph_ex_read(L, x, idx, false);
}

/* A keep-dims temporary at the statement's point (0 in reduced dimensions). */
static ir_expr *red_read_keep(ir_lower *L, const red_map *m, int t)
{
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < m->rank; d++)
    idx[d] = m->reduced[d] ? graph_ex_int(L, 0) : graph_ex_idx(L, m->lhs_of[d]);
  return graph_ex_read(L, t, idx, false);
}

static ir_stmt *red_stmt(ir_lower *L, const red_map *m, int y)
{
  return graph_st_new(L, y, m->n_lhs, m->n_red, m->hi);
}

/* A keep-dims temporary of x's type (or float for integers). */
static int keep_temp(ir_lower *L, int x, const bool *reduced, const char *suffix, ir_type t)
{
  int64_t shape[IR_MAX_RANK];
  for (int d = 0; d < graph_lw_tensor(L, x)->rank; d++)
    shape[d] = reduced[d] ? 1 : graph_lw_dim(L, x, d);
  return graph_lw_temp(L, suffix, t, graph_lw_tensor(L, x)->rank, shape);
}

static int64_t reduced_count(ir_lower *L, int x, const bool *reduced)
{
  int64_t c = 1;
  for (int d = 0; d < graph_lw_tensor(L, x)->rank; d++)
    if (reduced[d])
      c *= graph_lw_dim(L, x, d);
  return c;
}

/* An elementwise statement over x's shape: full indices for x, keep-dims
 * reads for temporaries. */
static void full_map(ir_lower *L, red_map *m, int x, const bool *reduced)
{
  bool none[IR_MAX_RANK] = {false};
  red_map_init(L, m, x, none, true);
  memcpy(m->reduced, reduced, sizeof(bool) * IR_MAX_RANK);
}

static ir_expr *full_read(ir_lower *L, const red_map *m, int x)
{
  (void)m;
  return graph_ex_at(L, x, 0);
}

/* ------------------------------------------------------------------------
 * MatMul and Gemm
 * ------------------------------------------------------------------------ */

bool graph_infer_matmul(ir_graph *g, ir_node *n)
{
  const ir_value *a = graph_in(g, n, 0), *b = graph_in(g, n, 1);
  if (!a || !b || a->rank < 1 || b->rank < 1)
    return graph_fail(g, n, "inputs of rank 1 or more expected");
  int64_t ka = a->shape[a->rank - 1], kb = b->rank == 1 ? b->shape[0] : b->shape[b->rank - 2];
  if (ka != kb)
    return graph_fail(g, n, "inner dimensions differ (%lld and %lld)", (long long)ka, (long long)kb);
  int64_t shape[IR_MAX_RANK];
  int r = 0;
  int ba = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0;
  if (!graph_broadcast(g, n, ba, a->shape, bb, b->shape, &r, shape))
    return false;
  if (a->rank > 1)
    shape[r++] = a->shape[a->rank - 2];
  if (b->rank > 1)
    shape[r++] = b->shape[b->rank - 1];
  return graph_set_out(g, n, 0, a->type, r, shape);
}

/* Reads a matrix operand: batch dimensions aligned right against nb output
 * batch indices, row and column index variables given (-1: none). */
static ir_expr *matmul_operand(ir_lower *L, int t, int nb, int row, int col)
{
  int r = graph_lw_tensor(L, t)->rank, own = r > 2 ? r - 2 : 0;
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < own; d++)
    idx[d] = graph_lw_dim(L, t, d) == 1 ? graph_ex_int(L, 0) : graph_ex_idx(L, d + nb - own);
  int k = own;
  if (row >= 0)
    idx[k++] = graph_ex_idx(L, row);
  if (col >= 0)
    idx[k++] = graph_ex_idx(L, col);
  return graph_ex_read(L, t, idx, false);
}

bool graph_lower_matmul(ir_lower *L, ir_node *n)
{
  int a = graph_lw_in(L, n->in[0]), b = graph_lw_in(L, n->in[1]), y = graph_lw_out(L, n->out[0]);
  if (a < 0 || b < 0 || y < 0)
    return false;
  int ra = graph_lw_tensor(L, a)->rank, rb = graph_lw_tensor(L, b)->rank, ry = graph_lw_tensor(L, y)->rank;
  int nb = ry - (ra > 1) - (rb > 1);
  int64_t hi[IR_MAX_RANK + 1];
  for (int d = 0; d < ry; d++)
    hi[d] = graph_lw_dim(L, y, d);
  hi[ry] = graph_lw_dim(L, a, ra - 1);
  int m = ra > 1 ? nb : -1, col = rb > 1 ? nb + (ra > 1) : -1;
  ir_expr *ea = ra > 1 ? matmul_operand(L, a, nb, m, ry) : matmul_operand(L, a, nb, ry, -1);
  ir_expr *eb = rb > 1 ? matmul_operand(L, b, nb, ry, col) : matmul_operand(L, b, nb, ry, -1);
  return graph_st_emit(L, graph_st_new(L, y, ry, 1, hi), IR_RED_ADD, true, graph_ex_bin(L, IR_MUL, ea, eb));
}

bool graph_infer_gemm(ir_graph *g, ir_node *n)
{
  const ir_value *a = graph_in(g, n, 0), *b = graph_in(g, n, 1), *c = graph_in(g, n, 2);
  if (!a || !b || a->rank != 2 || b->rank != 2)
    return graph_fail(g, n, "two matrices expected");
  bool ta = n->p.gemm.trans_a, tb = n->p.gemm.trans_b;
  int64_t shape[2] = {a->shape[ta ? 1 : 0], b->shape[tb ? 0 : 1]}, out[2];
  int r;
  if (a->shape[ta ? 0 : 1] != b->shape[tb ? 1 : 0])
    return graph_fail(g, n, "inner dimensions differ");
  if (c && (!graph_broadcast(g, n, 2, shape, c->rank, c->shape, &r, out) || r != 2 || out[0] != shape[0] ||
            out[1] != shape[1]))
    return graph_fail(g, n, "C does not broadcast to the output");
  return graph_set_out(g, n, 0, a->type, 2, shape);
}

bool graph_lower_gemm(ir_lower *L, ir_node *n)
{
  int a = graph_lw_in(L, n->in[0]), b = graph_lw_in(L, n->in[1]), y = graph_lw_out(L, n->out[0]);
  if (a < 0 || b < 0 || y < 0)
    return false;
  bool ta = n->p.gemm.trans_a, tb = n->p.gemm.trans_b;
  double alpha = n->p.gemm.alpha, beta = n->p.gemm.beta;
  ir_type t = graph_lw_tensor(L, y)->type;
  int64_t hi[3] = {graph_lw_dim(L, y, 0), graph_lw_dim(L, y, 1), graph_lw_dim(L, a, ta ? 0 : 1)};
  ir_expr *ia[2] = {graph_ex_idx(L, ta ? 2 : 0), graph_ex_idx(L, ta ? 0 : 2)},
          *ib[2] = {graph_ex_idx(L, tb ? 1 : 2), graph_ex_idx(L, tb ? 2 : 1)};
  ir_expr *prod = graph_ex_bin(L, IR_MUL, graph_ex_read(L, a, ia, false), graph_ex_read(L, b, ib, false));
  if (alpha != 1)
    prod = graph_ex_bin(L, IR_MUL, graph_ex_const(L, alpha, t), prod);
  if (!graph_st_emit(L, graph_st_new(L, y, 2, 1, hi), IR_RED_ADD, true, prod))
    return false;
  if (n->n_in < 3 || n->in[2] < 0 || beta == 0)
    return true;
  ir_expr *c = graph_ex_bcast(L, graph_lw_in(L, n->in[2]), 2, 0);
  if (beta != 1)
    c = graph_ex_bin(L, IR_MUL, graph_ex_const(L, beta, t), c);
  return graph_st_emit(L, graph_st_new(L, y, 2, 0, hi), IR_RED_ADD, false, c);
}

/* ------------------------------------------------------------------------
 * GlobalAveragePool, GlobalMaxPool
 * ------------------------------------------------------------------------ */

bool graph_infer_global_pool(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  int64_t shape[IR_MAX_RANK];
  if (x->rank < 3 || !ir_types[x->type].is_float)
    return graph_fail(g, n, "floating-point input of rank 3 or more expected");
  for (int d = 0; d < x->rank; d++)
    shape[d] = d < 2 ? x->shape[d] : 1;
  return graph_set_out(g, n, 0, x->type, x->rank, shape);
}

/* A temporary x of rank 4 or more pooled as one row per channel: x seen as
 * [N, C, H * W * ...] (a copy the views pass turns into a view of x), so
 * the reduction is one loop over the plane (MobileNetV2's last pool: 7 loops
 * of 7 before, 0.063 ms per call at 1 thread). */
static bool pool_rows(ir_lower *L, int x, int y, ir_reduction red)
{
  const int rank = graph_lw_tensor(L, x)->rank;
  int64_t shape[3] = {graph_lw_dim(L, x, 0), graph_lw_dim(L, x, 1), 1}, hi[IR_MAX_RANK + 1];
  for (int d = 2; d < rank; d++)
    shape[2] *= graph_lw_dim(L, x, d);
  int xf = graph_lw_temp(L, "rows", graph_lw_tensor(L, x)->type, 3, shape);
  ir_expr *idx[IR_MAX_RANK];
  if (xf < 0)
    return false;
  graph_reshape_index(L, x, xf, idx);
  if (!graph_st_map(L, xf, graph_ex_read(L, x, idx, false)))
    return false;
  for (int d = 0; d < rank; d++)
    hi[d] = d < 2 ? shape[d] : 1;
  hi[rank] = shape[2];
  ir_expr *at[3] = {graph_ex_idx(L, 0), graph_ex_idx(L, 1), graph_ex_idx(L, rank)};
  return graph_st_emit(L, graph_st_new(L, y, rank, 1, hi), red, true, graph_ex_read(L, xf, at, false));
}

bool graph_lower_global_pool(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  bool reduced[IR_MAX_RANK] = {false};
  red_map m;
  if (x < 0 || y < 0)
    return false;
  const ir_tensor *X = graph_lw_tensor(L, x);
  for (int d = 2; d < X->rank; d++)
    reduced[d] = true;
  bool is_max = n->op == GRAPH_OP_GLOBAL_MAXPOOL;
  ir_reduction red = is_max ? IR_RED_MAX : IR_RED_ADD;
  if (X->rank >= 4 && X->role == IR_TEMP) {
    if (!pool_rows(L, x, y, red))
      return false;
  } else {
    red_map_init(L, &m, x, reduced, true);
    if (!graph_st_emit(L, red_stmt(L, &m, y), red, true, red_read_x(L, &m, x)))
      return false;
  }
  ir_type t = graph_lw_tensor(L, y)->type;
  return is_max || graph_st_map(L, y,
                                graph_ex_bin(L, IR_DIV, graph_ex_at(L, y, 0),
                                             graph_ex_const(L, (double)reduced_count(L, x, reduced), t)));
}

/* ------------------------------------------------------------------------
 * BatchNormalization, InstanceNormalization, LayerNormalization
 * ------------------------------------------------------------------------ */

static bool check_channel_params(ir_graph *g, const ir_node *n, int first, int last, int64_t c)
{
  for (int k = first; k <= last; k++) {
    const ir_value *p = graph_in(g, n, k);
    if (!p || p->rank != 1 || p->shape[0] != c)
      return graph_fail(g, n, "input %d must have %lld elements", k, (long long)c);
  }
  return true;
}

bool graph_infer_batchnorm(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  if (graph_out(g, n, 1) || graph_out(g, n, 2))
    return graph_fail(g, n, "training mode (running mean and variance outputs) is not supported");
  if (x->rank < 2 || !ir_types[x->type].is_float || !check_channel_params(g, n, 1, 4, x->shape[1]))
    return graph_fail(g, n, "floating-point input of rank 2 or more expected");
  return graph_set_out(g, n, 0, x->type, x->rank, x->shape);
}

static ir_expr *chan(ir_lower *L, const ir_node *n, int k)
{
  ir_expr *idx[1] = {graph_ex_idx(L, 1)};
  return graph_ex_read(L, graph_lw_in(L, n->in[k]), idx, false);
}

bool graph_lower_batchnorm(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  if (x < 0 || y < 0)
    return false;
  ir_type t = graph_lw_tensor(L, y)->type;
  if (n->p.norm.scale_shift)
    return graph_st_map(L, y, graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, graph_ex_at(L, x, 0), chan(L, n, 1)),
                                           chan(L, n, 2)));
  ir_expr *den = graph_ex_call(L, IR_FN_SQRT,
                               graph_ex_bin(L, IR_ADD, chan(L, n, 4), graph_ex_const(L, n->p.norm.epsilon, t)), NULL);
  ir_expr *norm = graph_ex_bin(L, IR_DIV, graph_ex_bin(L, IR_SUB, graph_ex_at(L, x, 0), chan(L, n, 3)), den);
  return graph_st_map(L, y, graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, norm, chan(L, n, 1)), chan(L, n, 2)));
}

bool graph_infer_instancenorm(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  if (x->rank < 3 || !ir_types[x->type].is_float || !check_channel_params(g, n, 1, 2, x->shape[1]))
    return graph_fail(g, n, "floating-point input of rank 3 or more and per-channel scale and bias expected");
  return graph_set_out(g, n, 0, x->type, x->rank, x->shape);
}

/* mean(keep) and the inverse standard deviation istd(keep) of x over the
 * reduced dimensions. */
static bool moments(ir_lower *L, int x, const bool *reduced, int mean, int istd, double eps)
{
  red_map m;
  ir_type t = graph_lw_tensor(L, mean)->type;
  double cnt = (double)reduced_count(L, x, reduced);
  red_map_init(L, &m, x, reduced, true);
  if (!graph_st_emit(L, red_stmt(L, &m, mean), IR_RED_ADD, true, graph_ex_cast(L, t, red_read_x(L, &m, x))) ||
      !graph_st_map(L, mean, graph_ex_bin(L, IR_DIV, graph_ex_at(L, mean, 0), graph_ex_const(L, cnt, t))))
    return false;
  ir_expr *dev = graph_ex_bin(L, IR_SUB, graph_ex_cast(L, t, red_read_x(L, &m, x)), red_read_keep(L, &m, mean));
  if (!graph_st_emit(L, red_stmt(L, &m, istd), IR_RED_ADD, true, graph_ex_bin(L, IR_MUL, dev, dev)))
    return false;
  ir_expr *var = graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_DIV, graph_ex_at(L, istd, 0), graph_ex_const(L, cnt, t)),
                              graph_ex_const(L, eps, t));
  return graph_st_map(L, istd,
                      graph_ex_bin(L, IR_DIV, graph_ex_const(L, 1, t), graph_ex_call(L, IR_FN_SQRT, var, NULL)));
}

bool graph_lower_instancenorm(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  bool reduced[IR_MAX_RANK] = {false};
  red_map m;
  if (x < 0 || y < 0)
    return false;
  ir_type t = graph_lw_tensor(L, y)->type;
  for (int d = 2; d < graph_lw_tensor(L, x)->rank; d++)
    reduced[d] = true;
  int mean = keep_temp(L, x, reduced, "mean", t), istd = keep_temp(L, x, reduced, "istd", t);
  if (!moments(L, x, reduced, mean, istd, n->p.norm.epsilon))
    return false;
  full_map(L, &m, x, reduced);
  ir_expr *norm = graph_ex_bin(L, IR_MUL, graph_ex_bin(L, IR_SUB, full_read(L, &m, x), red_read_keep(L, &m, mean)),
                               red_read_keep(L, &m, istd));
  return graph_st_map(L, y, graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, norm, chan(L, n, 1)), chan(L, n, 2)));
}

/* Whether p broadcasts (unidirectionally) to dimensions axis.. of x. */
static bool broadcasts_to_tail(const ir_value *p, const ir_value *x, int axis)
{
  if (p->rank > x->rank - axis)
    return false;
  for (int j = 1; j <= p->rank; j++)
    if (p->shape[p->rank - j] != 1 && p->shape[p->rank - j] != x->shape[x->rank - j])
      return false;
  return true;
}

/* Scale (input 1, required, optional only in the fused node of
 * fuse_layernorm.c, which has no source op) and bias (input 2, optional) of a
 * LayerNormalization. */
static bool layernorm_params_fit(ir_graph *g, ir_node *n, const ir_value *x, int axis)
{
  for (int k = 1; k < 3; k++)
    if ((k == 1 ? n->source_op || graph_in(g, n, k) : graph_in(g, n, k) != NULL) &&
        (!graph_in(g, n, k) || !broadcasts_to_tail(graph_in(g, n, k), x, axis)))
      return graph_fail(g, n, "%s must broadcast to the normalized dimensions %d.. of the input",
                        k == 1 ? "scale" : "bias", axis);
  return true;
}

bool graph_infer_layernorm(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  int axis;
  int64_t shape[IR_MAX_RANK];
  if (!ir_types[x->type].is_float)
    return graph_fail(g, n, "floating-point input expected");
  if (!graph_axis(g, n, n->p.layernorm.axis, x->rank, &axis) || !layernorm_params_fit(g, n, x, axis))
    return false;
  for (int d = 0; d < x->rank; d++)
    shape[d] = d < axis ? x->shape[d] : 1;
  ir_type st = n->p.layernorm.stash_type;
  return graph_set_out(g, n, 0, x->type, x->rank, x->shape) && graph_set_out(g, n, 1, st, x->rank, shape) &&
         graph_set_out(g, n, 2, st, x->rank, shape);
}

bool graph_lower_layernorm(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  bool reduced[IR_MAX_RANK] = {false};
  red_map m;
  if (x < 0 || y < 0)
    return false;
  int r = graph_lw_tensor(L, x)->rank, axis;
  if (!graph_axis(L->g, n, n->p.layernorm.axis, r, &axis))
    return false;
  for (int d = axis; d < r; d++)
    reduced[d] = true;
  ir_type st = graph_out(L->g, n, 1)   ? graph_out(L->g, n, 1)->type
               : graph_out(L->g, n, 2) ? graph_out(L->g, n, 2)->type
                                       : IR_F32;
  int mean = graph_out(L->g, n, 1) ? graph_lw_out(L, n->out[1]) : keep_temp(L, x, reduced, "mean", st);
  int istd = graph_out(L->g, n, 2) ? graph_lw_out(L, n->out[2]) : keep_temp(L, x, reduced, "istd", st);
  if (mean < 0 || istd < 0 || !moments(L, x, reduced, mean, istd, n->p.layernorm.epsilon))
    return false;
  full_map(L, &m, x, reduced);
  ir_expr *norm = graph_ex_bin(
      L, IR_MUL, graph_ex_bin(L, IR_SUB, graph_ex_cast(L, st, full_read(L, &m, x)), red_read_keep(L, &m, mean)),
      red_read_keep(L, &m, istd));
  norm = graph_ex_cast(L, graph_lw_tensor(L, y)->type, norm);
  if (n->n_in > 1 && n->in[1] >= 0)
    norm = graph_ex_bin(L, IR_MUL, norm, graph_ex_bcast(L, graph_lw_in(L, n->in[1]), r, 0));
  if (n->n_in > 2 && n->in[2] >= 0)
    norm = graph_ex_bin(L, IR_ADD, norm, graph_ex_bcast(L, graph_lw_in(L, n->in[2]), r, 0));
  return graph_st_map(L, y, norm);
}

/* ------------------------------------------------------------------------
 * Softmax, LogSoftmax, Hardmax
 * ------------------------------------------------------------------------ */

static bool softmax_dims(ir_graph *g, const ir_node *n, int rank, bool *reduced)
{
  int axis;
  bool old = n->p.softmax.from_axis;
  if (!graph_axis(g, n, n->p.softmax.axis, rank, &axis))
    return false;
  for (int d = 0; d < rank; d++)
    reduced[d] = old ? d >= axis : d == axis;
  return true;
}

bool graph_infer_softmax(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  bool reduced[IR_MAX_RANK];
  if (!ir_types[x->type].is_float || !softmax_dims(g, n, x->rank, reduced))
    return graph_fail(g, n, "floating-point input and a valid axis expected");
  return graph_set_out(g, n, 0, x->type, x->rank, x->shape);
}

/* Row-major position of x's index variables within the reduced dimensions. */
static ir_expr *reduced_flat(ir_lower *L, const red_map *m, int x, bool use_red)
{
  ir_expr *flat = graph_ex_int(L, 0);
  for (int d = 0; d < m->rank; d++)
    if (m->reduced[d])
      flat = graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, flat, graph_ex_int(L, graph_lw_dim(L, x, d))),
                          graph_ex_idx(L, use_red ? m->red_of[d] : m->lhs_of[d]));
  return flat;
}

static bool lower_hardmax(ir_lower *L, int x, int y, const bool *reduced, int mx)
{
  red_map m, f;
  red_map_init(L, &m, x, reduced, true);
  int arg = keep_temp(L, x, reduced, "arg", IR_I64);
  ir_expr *hit = graph_ex_bin(L, IR_EQ, red_read_x(L, &m, x), red_read_keep(L, &m, mx));
  if (!graph_st_emit(L, red_stmt(L, &m, arg), IR_RED_MIN, true,
                     graph_ex_sel(L, hit, reduced_flat(L, &m, x, true), graph_ex_int(L, INT64_MAX))))
    return false;
  full_map(L, &f, x, reduced);
  ir_expr *is = graph_ex_bin(L, IR_EQ, reduced_flat(L, &f, x, false), red_read_keep(L, &f, arg));
  return graph_st_map(L, y, graph_ex_cast(L, graph_lw_tensor(L, y)->type, is));
}

/* Softmax with one exp per element and no temporary of the input's size:
 * y = exp(x - max), its sum, the sum's reciprocal, then y *= 1 / sum (a row
 * kernel keeps each row in the cache between the four). */
static bool lower_softmax_exp_once(ir_lower *L, int x, int y, const bool *reduced, int mx, int sum)
{
  red_map m, f;
  ir_type t = graph_lw_tensor(L, y)->type;
  full_map(L, &f, x, reduced);
  ir_expr *shifted = graph_ex_bin(L, IR_SUB, full_read(L, &f, x), red_read_keep(L, &f, mx));
  if (!graph_st_map(L, y, graph_ex_call(L, IR_FN_EXP, shifted, NULL)))
    return false;
  red_map_init(L, &m, y, reduced, true);
  if (!graph_st_emit(L, red_stmt(L, &m, sum), IR_RED_ADD, true, red_read_x(L, &m, y)) ||
      !graph_st_map(L, sum, graph_ex_bin(L, IR_DIV, graph_ex_const(L, 1, t), graph_ex_at(L, sum, 0))))
    return false;
  full_map(L, &f, y, reduced);
  return graph_st_map(L, y, graph_ex_bin(L, IR_MUL, full_read(L, &f, y), red_read_keep(L, &f, sum)));
}

bool graph_lower_softmax(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  bool reduced[IR_MAX_RANK];
  red_map m, f;
  if (x < 0 || y < 0 || !softmax_dims(L->g, n, graph_lw_tensor(L, x)->rank, reduced))
    return false;
  ir_type t = graph_lw_tensor(L, y)->type;
  int mx = keep_temp(L, x, reduced, "max", t), sum = keep_temp(L, x, reduced, "sum", t);
  red_map_init(L, &m, x, reduced, true);
  if (!graph_st_emit(L, red_stmt(L, &m, mx), IR_RED_MAX, true, red_read_x(L, &m, x)))
    return false;
  if (n->op == GRAPH_OP_HARDMAX)
    return lower_hardmax(L, x, y, reduced, mx);
  if (n->op == GRAPH_OP_SOFTMAX)
    return lower_softmax_exp_once(L, x, y, reduced, mx, sum);
  ir_expr *e =
      graph_ex_call(L, IR_FN_EXP, graph_ex_bin(L, IR_SUB, red_read_x(L, &m, x), red_read_keep(L, &m, mx)), NULL);
  if (!graph_st_emit(L, red_stmt(L, &m, sum), IR_RED_ADD, true, e))
    return false;
  full_map(L, &f, x, reduced);
  ir_expr *shifted = graph_ex_bin(L, IR_SUB, full_read(L, &f, x), red_read_keep(L, &f, mx));
  return graph_st_map(L, y,
                      graph_ex_bin(L, IR_SUB, shifted, graph_ex_call(L, IR_FN_LOG, red_read_keep(L, &f, sum), NULL)));
}

/* ------------------------------------------------------------------------
 * Reduce* and ArgMax/ArgMin
 * ------------------------------------------------------------------------ */

static bool reduce_dims(ir_graph *g, const ir_node *n, const ir_value *x, bool *reduced, bool *any)
{
  int64_t axes[IR_MAX_RANK];
  int count, a;
  bool present;
  if (!graph_const_list(g, n, 1, axes, &count, &present))
    return false;
  bool all = count == 0 && !n->p.reduce.empty_is_noop;
  *any = false;
  for (int d = 0; d < x->rank; d++)
    reduced[d] = all;
  for (int k = 0; k < count; k++) {
    if (!graph_axis(g, n, axes[k], x->rank, &a))
      return false;
    reduced[a] = true;
  }
  for (int d = 0; d < x->rank; d++)
    *any |= reduced[d];
  return true;
}

bool graph_infer_reduce(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  bool reduced[IR_MAX_RANK], any, keep = n->p.reduce.keep_dims;
  int64_t shape[IR_MAX_RANK];
  int r = 0;
  if (!reduce_dims(g, n, x, reduced, &any))
    return false;
  for (int d = 0; d < x->rank; d++)
    if (!reduced[d] || keep)
      shape[r++] = reduced[d] ? 1 : x->shape[d];
  return graph_set_out(g, n, 0, x->type, r, shape);
}

static ir_reduction reduce_kind(graph_op op)
{
  switch (op) {
  case GRAPH_OP_REDUCE_MAX: return IR_RED_MAX;
  case GRAPH_OP_REDUCE_MIN: return IR_RED_MIN;
  case GRAPH_OP_REDUCE_PROD: return IR_RED_MUL;
  default: return IR_RED_ADD;
  }
}

static ir_expr *reduce_term(ir_lower *L, graph_op op, ir_expr *v)
{
  switch (op) {
  case GRAPH_OP_REDUCE_L1: return graph_ex_call(L, IR_FN_ABS, v, NULL);
  case GRAPH_OP_REDUCE_L2:
  case GRAPH_OP_REDUCE_SUM_SQUARE: return graph_ex_bin(L, IR_MUL, v, v);
  case GRAPH_OP_REDUCE_LOG_SUM_EXP: return graph_ex_call(L, IR_FN_EXP, v, NULL);
  default: return v;
  }
}

static ir_expr *reduce_post(ir_lower *L, graph_op op, ir_expr *y, double count, ir_type t)
{
  switch (op) {
  case GRAPH_OP_REDUCE_L2:
    return graph_ex_cast(L, t,
                         graph_ex_call(L, IR_FN_SQRT, graph_ex_cast(L, ir_types[t].is_float ? t : IR_F64, y), NULL));
  case GRAPH_OP_REDUCE_LOG_SUM:
  case GRAPH_OP_REDUCE_LOG_SUM_EXP: return graph_ex_call(L, IR_FN_LOG, y, NULL);
  case GRAPH_OP_REDUCE_MEAN: return graph_ex_bin(L, IR_DIV, y, graph_ex_const(L, count, t));
  default: return NULL;
  }
}

bool graph_lower_reduce(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  bool reduced[IR_MAX_RANK], any;
  red_map m;
  if (x < 0 || y < 0 || !reduce_dims(L->g, n, &L->g->values[n->in[0]], reduced, &any))
    return false;
  red_map_init(L, &m, x, reduced, n->p.reduce.keep_dims);
  ir_type t = graph_lw_tensor(L, y)->type;
  if (!graph_st_emit(L, red_stmt(L, &m, y), reduce_kind(n->op), true, reduce_term(L, n->op, red_read_x(L, &m, x))))
    return false;
  ir_expr *post = reduce_post(L, n->op, graph_ex_at(L, y, 0), (double)reduced_count(L, x, reduced), t);
  return !post || graph_st_map(L, y, post);
}

bool graph_infer_argmax(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  int axis, r = 0;
  bool keep = n->p.arg.keep_dims;
  int64_t shape[IR_MAX_RANK];
  if (!graph_axis(g, n, n->p.arg.axis, x->rank, &axis))
    return false;
  for (int d = 0; d < x->rank; d++)
    if (d != axis || keep)
      shape[r++] = d == axis ? 1 : x->shape[d];
  return graph_set_out(g, n, 0, IR_I64, r, shape);
}

bool graph_lower_argmax(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  bool reduced[IR_MAX_RANK] = {false};
  red_map m, k;
  if (x < 0 || y < 0)
    return false;
  int axis;
  if (!graph_axis(L->g, n, n->p.arg.axis, graph_lw_tensor(L, x)->rank, &axis))
    return false;
  reduced[axis] = true;
  bool is_max = n->op == GRAPH_OP_ARGMAX, last = n->p.arg.select_last;
  int best = keep_temp(L, x, reduced, "best", graph_lw_tensor(L, x)->type);
  red_map_init(L, &k, x, reduced, true);
  if (!graph_st_emit(L, red_stmt(L, &k, best), is_max ? IR_RED_MAX : IR_RED_MIN, true, red_read_x(L, &k, x)))
    return false;
  red_map_init(L, &m, x, reduced, n->p.arg.keep_dims);
  ir_expr *hit = graph_ex_bin(L, IR_EQ, red_read_x(L, &m, x), red_read_keep(L, &m, best));
  ir_expr *pos = graph_ex_sel(L, hit, graph_ex_idx(L, m.red_of[axis]), graph_ex_int(L, last ? -1 : INT64_MAX));
  return graph_st_emit(L, red_stmt(L, &m, y), last ? IR_RED_MAX : IR_RED_MIN, true, pos);
}
