/* ops_data.c: data movement and small generators of the op library:
 * gather, gather_elements, expand, tile, pad, eye, trilu, cumsum,
 * depth_to_space and space_to_depth. */
#include "ops_internal.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * Gather, GatherElements, Expand, Tile, Pad
 * ------------------------------------------------------------------------ */

bool graph_infer_gather(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0), *i = graph_in(g, n, 1);
  int axis, rank = 0;
  int64_t shape[IR_MAX_RANK];
  if (!i || ir_types[i->type].is_float)
    return graph_fail(g, n, "integer indices expected");
  if (!graph_axis(g, n, n->p.axis.axis, x->rank, &axis))
    return false;
  if (n->op == GRAPH_OP_GATHER_ELEMENTS)
    return i->rank == x->rank ? graph_set_out(g, n, 0, x->type, i->rank, i->shape) : graph_fail(g, n, "rank mismatch");
  if (x->rank + i->rank - 1 > IR_MAX_RANK)
    return graph_fail(g, n, "output rank too large");
  for (int d = 0; d < axis; d++)
    shape[rank++] = x->shape[d];
  for (int d = 0; d < i->rank; d++)
    shape[rank++] = i->shape[d];
  for (int d = axis + 1; d < x->rank; d++)
    shape[rank++] = x->shape[d];
  return graph_set_out(g, n, 0, x->type, rank, shape);
}

/* An index read from an indices tensor, negative values counted from dim. */
static ir_expr *wrap_index(ir_lower *L, ir_expr *i, int64_t dim)
{
  i = graph_ex_cast(L, IR_I64, i);
  return graph_ex_sel(L, graph_ex_bin(L, IR_LT, i, graph_ex_int(L, 0)),
                      graph_ex_bin(L, IR_ADD, i, graph_ex_int(L, dim)), i);
}

bool graph_lower_gather(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), ii = graph_lw_in(L, n->in[1]), y = graph_lw_out(L, n->out[0]);
  if (x < 0 || ii < 0 || y < 0)
    return false;
  int rx = graph_lw_tensor(L, x)->rank, ri = graph_lw_tensor(L, ii)->rank;
  int axis;
  ir_expr *idx[IR_MAX_RANK];
  if (!graph_axis(L->g, n, n->p.axis.axis, rx, &axis))
    return false;
  if (n->op == GRAPH_OP_GATHER_ELEMENTS) {
    for (int d = 0; d < rx; d++)
      idx[d] = graph_ex_idx(L, d);
    idx[axis] = wrap_index(L, graph_ex_at(L, ii, 0), graph_lw_dim(L, x, axis));
    return graph_st_map(L, y, graph_ex_read(L, x, idx, false));
  }
  for (int d = 0; d < axis; d++)
    idx[d] = graph_ex_idx(L, d);
  idx[axis] = wrap_index(L, graph_ex_at(L, ii, axis), graph_lw_dim(L, x, axis));
  for (int d = axis + 1; d < rx; d++)
    idx[d] = graph_ex_idx(L, d + ri - 1);
  return graph_st_map(L, y, graph_ex_read(L, x, idx, false));
}

bool graph_infer_expand(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0), *s = graph_in(g, n, 1);
  int64_t shape[IR_MAX_RANK], out[IR_MAX_RANK];
  int64_t rank = ir_value_numel(s);
  int r;
  if (s->rank != 1 || rank > IR_MAX_RANK)
    return graph_fail(g, n, "shape must be a list of at most %d sizes", IR_MAX_RANK);
  for (int d = 0; d < rank; d++)
    shape[d] = graph_const_int(s, d);
  return graph_broadcast(g, n, x->rank, x->shape, (int)rank, shape, &r, out) && graph_set_out(g, n, 0, x->type, r, out);
}

bool graph_lower_expand(ir_lower *L, ir_node *n)
{
  int y = graph_lw_out(L, n->out[0]);
  return y >= 0 && graph_st_map(L, y, graph_ex_bcast(L, graph_lw_in(L, n->in[0]), graph_lw_tensor(L, y)->rank, 0));
}

bool graph_infer_tile(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0), *r = graph_in(g, n, 1);
  int64_t shape[IR_MAX_RANK];
  graph_dim_check c = {false};
  if (r->rank != 1 || ir_value_numel(r) != x->rank)
    return graph_fail(g, n, "repeats must list %d counts", x->rank);
  for (int d = 0; d < x->rank; d++) {
    if (graph_const_int(r, d) < 0)
      return graph_fail(g, n, "repeat count %d is negative", d);
    shape[d] = graph_dim_mul(&c, x->shape[d], graph_const_int(r, d));
  }
  return graph_dim_ok(g, n, &c) && graph_set_out(g, n, 0, x->type, x->rank, shape);
}

bool graph_lower_tile(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  ir_expr *idx[IR_MAX_RANK];
  if (x < 0 || y < 0)
    return false;
  for (int d = 0; d < graph_lw_tensor(L, x)->rank; d++)
    idx[d] = graph_lw_dim(L, x, d) == graph_lw_dim(L, y, d)
                 ? graph_ex_idx(L, d)
                 : graph_ex_bin(L, IR_MOD, graph_ex_idx(L, d), graph_ex_int(L, graph_lw_dim(L, x, d)));
  return graph_st_map(L, y, graph_ex_read(L, x, idx, false));
}

typedef struct pad_plan {
  int64_t begin[IR_MAX_RANK], end[IR_MAX_RANK];
} pad_plan;

static bool pad_plan_of(ir_graph *g, ir_node *n, pad_plan *p)
{
  const ir_value *x = graph_in(g, n, 0);
  int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK];
  int n_pads = 0, n_axes = 0, a;
  bool has_axes = false;
  const ir_value *pv = graph_in(g, n, 1);
  if (pv && pv->data && pv->rank == 1 && ir_value_numel(pv) <= 2 * IR_MAX_RANK) {
    n_pads = (int)ir_value_numel(pv);
    for (int k = 0; k < n_pads; k++)
      pads[k] = graph_const_int(pv, k);
  }
  if (!graph_const_list(g, n, 3, axes, &n_axes, &has_axes))
    return false;
  int m = has_axes ? n_axes : x->rank;
  if (n_pads != 2 * m)
    return graph_fail(g, n, "pads must list %d values", 2 * m);
  memset(p, 0, sizeof(*p));
  for (int k = 0; k < m; k++) {
    if (!graph_axis(g, n, has_axes ? axes[k] : k, x->rank, &a))
      return false;
    p->begin[a] = pads[k];
    p->end[a] = pads[k + m];
  }
  return true;
}

bool graph_infer_pad(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  bool constant = n->p.pad.mode == GRAPH_PAD_CONSTANT;
  pad_plan p;
  int64_t shape[IR_MAX_RANK];
  graph_dim_check c = {false};
  if (!pad_plan_of(g, n, &p))
    return false;
  for (int d = 0; d < x->rank; d++) {
    shape[d] = graph_dim_add(&c, x->shape[d], graph_dim_add(&c, p.begin[d], p.end[d]));
    if (c.overflow)
      return graph_dim_ok(g, n, &c);
    if (shape[d] < 0 || (!constant && x->shape[d] == 0 && shape[d] > 0))
      return graph_fail(g, n, "invalid pads for dimension %d", d);
  }
  return graph_set_out(g, n, 0, x->type, x->rank, shape);
}

/* Source index for reflect and edge padding of dimension dim. */
static ir_expr *pad_source(ir_lower *L, ir_expr *i, int64_t dim, bool reflect)
{
  if (!reflect)
    return graph_ex_call(L, IR_FN_MIN, graph_ex_call(L, IR_FN_MAX, i, graph_ex_int(L, 0)), graph_ex_int(L, dim - 1));
  if (dim == 1)
    return graph_ex_int(L, 0);
  int64_t period = 2 * (dim - 1);
  ir_expr *m = graph_ex_bin(
      L, IR_MOD, graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MOD, i, graph_ex_int(L, period)), graph_ex_int(L, period)),
      graph_ex_int(L, period));
  return graph_ex_sel(L, graph_ex_bin(L, IR_LT, m, graph_ex_int(L, dim)), m,
                      graph_ex_bin(L, IR_SUB, graph_ex_int(L, period), m));
}

bool graph_lower_pad(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  graph_pad_mode mode = n->p.pad.mode;
  pad_plan p;
  ir_expr *idx[IR_MAX_RANK], *inside = graph_ex_cast(L, IR_BOOL, graph_ex_int(L, 1));
  if (x < 0 || y < 0 || !pad_plan_of(L->g, n, &p))
    return false;
  ir_type t = graph_lw_tensor(L, x)->type;
  for (int d = 0; d < graph_lw_tensor(L, x)->rank; d++) {
    idx[d] = graph_ex_bin(L, IR_SUB, graph_ex_idx(L, d), graph_ex_int(L, p.begin[d]));
    inside = graph_ex_bin(L, IR_AND, inside, graph_ex_in_range(L, idx[d], 0, graph_lw_dim(L, x, d)));
    if (mode != GRAPH_PAD_CONSTANT)
      idx[d] = pad_source(L, idx[d], graph_lw_dim(L, x, d), mode == GRAPH_PAD_REFLECT);
  }
  if (mode != GRAPH_PAD_CONSTANT)
    return graph_st_map(L, y, graph_ex_read(L, x, idx, false));
  ir_expr *cv = n->n_in > 2 && n->in[2] >= 0
                    ? graph_ex_cast(L, t, graph_ex_read(L, graph_lw_in(L, n->in[2]), NULL, false))
                    : graph_ex_const(L, 0, t);
  return graph_st_map(L, y, graph_ex_sel(L, inside, graph_ex_read(L, x, idx, true), cv));
}

/* ------------------------------------------------------------------------
 * Small generators: EyeLike, Trilu, CumSum, DepthToSpace, SpaceToDepth
 * ------------------------------------------------------------------------ */

bool graph_infer_eyelike(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  ir_type t = n->p.eye.same_type ? x->type : n->p.eye.type;
  return x->rank == 2 ? graph_set_out(g, n, 0, t, 2, x->shape) : graph_fail(g, n, "rank 2 expected");
}

bool graph_lower_eyelike(ir_lower *L, ir_node *n)
{
  int y = graph_lw_out(L, n->out[0]);
  if (y < 0)
    return false;
  ir_expr *diag = graph_ex_bin(L, IR_EQ, graph_ex_bin(L, IR_SUB, graph_ex_idx(L, 1), graph_ex_idx(L, 0)),
                               graph_ex_int(L, n->p.eye.k));
  return graph_st_map(L, y, graph_ex_cast(L, graph_lw_tensor(L, y)->type, diag));
}

bool graph_lower_trilu(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  const ir_value *kv = graph_in(L->g, n, 1);
  if (x < 0 || y < 0)
    return false;
  int r = graph_lw_tensor(L, x)->rank;
  ir_expr *diff = graph_ex_bin(L, IR_SUB, graph_ex_idx(L, r - 1), graph_ex_idx(L, r - 2));
  ir_expr *k = graph_ex_int(L, kv ? graph_const_int(kv, 0) : 0);
  ir_expr *keep = graph_ex_bin(L, n->p.trilu.upper ? IR_GE : IR_LE, diff, k);
  return graph_st_map(L, y,
                      graph_ex_sel(L, keep, graph_ex_at(L, x, 0), graph_ex_const(L, 0, graph_lw_tensor(L, x)->type)));
}

bool graph_infer_trilu(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  return x->rank >= 2 ? graph_infer_same(g, n) : graph_fail(g, n, "rank 2 or more expected");
}

bool graph_lower_cumsum(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  const ir_value *av = graph_in(L->g, n, 1);
  int axis;
  if (x < 0 || y < 0 || !graph_axis(L->g, n, graph_const_int(av, 0), graph_lw_tensor(L, x)->rank, &axis))
    return false;
  int r = graph_lw_tensor(L, x)->rank;
  int64_t hi[IR_MAX_RANK + 1];
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < r; d++) {
    hi[d] = graph_lw_dim(L, x, d);
    idx[d] = graph_ex_idx(L, d);
  }
  hi[r] = hi[axis];
  idx[axis] = graph_ex_idx(L, r);
  bool rev = n->p.cumsum.reverse, excl = n->p.cumsum.exclusive;
  ir_op op = rev ? (excl ? IR_GT : IR_GE) : (excl ? IR_LT : IR_LE);
  ir_expr *take = graph_ex_bin(L, op, graph_ex_idx(L, r), graph_ex_idx(L, axis));
  ir_expr *rhs =
      graph_ex_sel(L, take, graph_ex_read(L, x, idx, false), graph_ex_const(L, 0, graph_lw_tensor(L, x)->type));
  return graph_st_emit(L, graph_st_new(L, y, r, 1, hi), IR_RED_ADD, true, rhs);
}

bool graph_infer_cumsum(ir_graph *g, ir_node *n)
{
  const ir_value *a = graph_in(g, n, 1);
  if (!a || ir_value_numel(a) != 1)
    return graph_fail(g, n, "axis must be a scalar");
  return graph_infer_same(g, n);
}

bool graph_infer_depth_space(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  int64_t b = n->p.block.block, s[4];
  if (x->rank != 4 || b <= 0 || b > (1 << 16))
    return graph_fail(g, n, "rank-4 input and a positive blocksize expected");
  bool to_space = n->op == GRAPH_OP_DEPTH_TO_SPACE;
  if (to_space ? x->shape[1] % (b * b) : (x->shape[2] % b || x->shape[3] % b))
    return graph_fail(g, n, "dimensions are not divisible by the block size");
  graph_dim_check c = {false};
  s[0] = x->shape[0];
  s[1] = to_space ? x->shape[1] / (b * b) : graph_dim_mul(&c, x->shape[1], b * b);
  s[2] = to_space ? graph_dim_mul(&c, x->shape[2], b) : x->shape[2] / b;
  s[3] = to_space ? graph_dim_mul(&c, x->shape[3], b) : x->shape[3] / b;
  return graph_dim_ok(g, n, &c) && graph_set_out(g, n, 0, x->type, 4, s);
}

bool graph_lower_depth_space(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  if (x < 0 || y < 0)
    return false;
  int64_t b = n->p.block.block;
  ir_expr *B = graph_ex_int(L, b), *idx[4];
  idx[0] = graph_ex_idx(L, 0);
  if (n->op == GRAPH_OP_DEPTH_TO_SPACE) {
    int64_t c = graph_lw_dim(L, y, 1);
    ir_expr *bh = graph_ex_bin(L, IR_MOD, graph_ex_idx(L, 2), B), *bw = graph_ex_bin(L, IR_MOD, graph_ex_idx(L, 3), B);
    bool crd = n->p.block.crd;
    ir_expr *blk = graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, bh, B), bw);
    idx[1] = crd ? graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, graph_ex_idx(L, 1), graph_ex_int(L, b * b)), blk)
                 : graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, blk, graph_ex_int(L, c)), graph_ex_idx(L, 1));
    idx[2] = graph_ex_bin(L, IR_DIV, graph_ex_idx(L, 2), B);
    idx[3] = graph_ex_bin(L, IR_DIV, graph_ex_idx(L, 3), B);
  } else {
    int64_t c = graph_lw_dim(L, x, 1);
    ir_expr *blk = graph_ex_bin(L, IR_DIV, graph_ex_idx(L, 1), graph_ex_int(L, c));
    idx[1] = graph_ex_bin(L, IR_MOD, graph_ex_idx(L, 1), graph_ex_int(L, c));
    idx[2] = graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, graph_ex_idx(L, 2), B), graph_ex_bin(L, IR_DIV, blk, B));
    idx[3] = graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, graph_ex_idx(L, 3), B), graph_ex_bin(L, IR_MOD, blk, B));
  }
  return graph_st_map(L, y, graph_ex_read(L, x, idx, false));
}
