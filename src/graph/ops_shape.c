/* ops_shape.c: shape operators of the op library: shape and size, fill,
 * range, reshapes (reshape, flatten, squeeze, unsqueeze), transpose, concat,
 * split and slice. */
#include "ops_internal.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Shapes, constants and data movement
 * ------------------------------------------------------------------------ */

static bool set_const_out(ir_graph *g, ir_node *n, ir_type t, int rank, const int64_t *shape, const void *data)
{
  if (!graph_set_out(g, n, 0, t, rank, shape))
    return false;
  ir_value *y = graph_out(g, n, 0);
  if (!y)
    return true;
  void *p = ir_alloc(g->ctx, ir_value_bytes(y) + 1);
  if (!p)
    return false;
  memcpy(p, data, ir_value_bytes(y));
  y->data = p;
  return true;
}

bool graph_infer_shape(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  int64_t start = n->p.shape.start, end = n->p.shape.end;
  start = start < 0 ? (start < -x->rank ? 0 : start + x->rank) : start;
  end = end < 0 ? (end < -x->rank ? 0 : end + x->rank) : end;
  start = start < 0 ? 0 : start > x->rank ? x->rank : start;
  end = end < start ? start : end > x->rank ? x->rank : end;
  int64_t len = end - start;
  if (n->op == GRAPH_OP_SIZE) {
    int64_t numel = ir_value_numel(x);
    return set_const_out(g, n, IR_I64, 0, NULL, &numel);
  }
  return set_const_out(g, n, IR_I64, 1, &len, x->shape + start);
}

bool graph_infer_fill(ir_graph *g, ir_node *n)
{
  const ir_value *s = graph_in(g, n, 0);
  ir_type t = n->p.fill.type;
  int64_t shape[IR_MAX_RANK];
  int64_t rank = ir_value_numel(s);
  if (rank > IR_MAX_RANK || s->rank != 1)
    return graph_fail(g, n, "shape must be a list of at most %d sizes", IR_MAX_RANK);
  for (int d = 0; d < rank; d++)
    shape[d] = graph_const_int(s, d);
  if (!graph_set_out(g, n, 0, t, (int)rank, shape))
    return false;
  ir_value *y = graph_out(g, n, 0);
  size_t bytes = ir_value_bytes(y), es = (size_t)ir_types[t].bytes;
  unsigned char *p = ir_alloc(g->ctx, bytes + 1);
  for (size_t k = 0; p && k < bytes; k += es)
    memcpy(p + k, n->p.fill.value.bytes, es);
  y->data = p;
  return p != NULL;
}

static double range_elem(const ir_value *v)
{
  switch (v->type) {
  case IR_F32: return ((const float *)v->data)[0];
  case IR_F64: return ((const double *)v->data)[0];
  default: return (double)graph_const_int(v, 0);
  }
}

/* Element k of the range, in type t: integers computed exactly. */
static void range_store(const ir_value *s, const ir_value *d, void *p, int64_t k, graph_dim_check *c)
{
  double x = range_elem(s) + (double)k * range_elem(d);
  int64_t i = graph_dim_add(c, graph_const_int(s, 0), graph_dim_mul(c, k, graph_const_int(d, 0)));
  switch (s->type) {
  case IR_F32: ((float *)p)[k] = (float)x; break;
  case IR_F64: ((double *)p)[k] = x; break;
  case IR_I16: ((int16_t *)p)[k] = (int16_t)i; break;
  case IR_I32: ((int32_t *)p)[k] = (int32_t)i; break;
  default: ((int64_t *)p)[k] = i; break;
  }
}

bool graph_infer_range(ir_graph *g, ir_node *n)
{
  const ir_value *s = graph_in(g, n, 0), *l = graph_in(g, n, 1), *d = graph_in(g, n, 2);
  graph_dim_check c = {false};
  if (!s || !l || !d || s->rank != 0 || l->rank != 0 || d->rank != 0)
    return graph_fail(g, n, "scalar start, limit and delta expected");
  double start = range_elem(s), limit = range_elem(l), delta = range_elem(d);
  double count = delta != 0 ? ceil((limit - start) / delta) : -1;
  if (delta == 0 || !(count < (1 << 24)))
    return graph_fail(g, n, "delta is 0 or the range is too long");
  int64_t len = count > 0 ? (int64_t)count : 0;
  if (!graph_set_out(g, n, 0, s->type, 1, &len))
    return false;
  ir_value *y = graph_out(g, n, 0);
  void *p = ir_alloc(g->ctx, ir_value_bytes(y) + 1);
  for (int64_t k = 0; p && k < len; k++)
    range_store(s, d, p, k, &c);
  y->data = p;
  return p != NULL && graph_dim_ok(g, n, &c);
}

/* ------------------------------------------------------------------------
 * Reshapes: Reshape, Flatten, Squeeze, Unsqueeze, Identity-like copies
 * ------------------------------------------------------------------------ */

bool graph_infer_reshape(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0), *s = graph_in(g, n, 1);
  int64_t shape[IR_MAX_RANK], known = 1;
  int64_t rank = s ? ir_value_numel(s) : -1;
  int infer_at = -1;
  graph_dim_check c = {false};
  if (!s || s->rank != 1 || rank > IR_MAX_RANK)
    return graph_fail(g, n, "shape must be a constant list of at most %d sizes", IR_MAX_RANK);
  for (int d = 0; d < rank; d++) {
    shape[d] = graph_const_int(s, d);
    if (shape[d] == 0 && !n->p.reshape.allow_zero)
      shape[d] = d < x->rank ? x->shape[d] : -2;
    if (shape[d] == -1 && infer_at < 0)
      infer_at = d;
    else if (shape[d] < 0)
      return graph_fail(g, n, "invalid target shape: dimension %d is %lld", d, (long long)shape[d]);
    else
      known = graph_dim_mul(&c, known, shape[d]);
  }
  if (!graph_dim_ok(g, n, &c))
    return false;
  if (infer_at >= 0)
    shape[infer_at] = known ? ir_value_numel(x) / known : 0;
  if (ir_value_numel(x) != (infer_at >= 0 ? shape[infer_at] * known : known))
    return graph_fail(g, n, "cannot reshape %lld elements to the target shape", (long long)ir_value_numel(x));
  return graph_set_out(g, n, 0, x->type, (int)rank, shape);
}

bool graph_infer_flatten(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  int64_t axis = n->p.axis.axis;
  graph_dim_check c = {false};
  axis = axis < 0 && axis >= -x->rank ? axis + x->rank : axis;
  if (axis < 0 || axis > x->rank)
    return graph_fail(g, n, "axis %lld is out of range", (long long)n->p.axis.axis);
  int64_t shape[2] = {1, 1};
  for (int d = 0; d < x->rank; d++)
    shape[d >= axis] = graph_dim_mul(&c, shape[d >= axis], x->shape[d]);
  return graph_dim_ok(g, n, &c) && graph_set_out(g, n, 0, x->type, 2, shape);
}

bool graph_infer_squeeze(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  int64_t axes[IR_MAX_RANK], shape[IR_MAX_RANK];
  bool drop[IR_MAX_RANK] = {false}, present;
  int n_axes, rank = 0, a;
  if (!graph_const_list(g, n, 1, axes, &n_axes, &present))
    return false;
  for (int k = 0; k < n_axes; k++) {
    if (!graph_axis(g, n, axes[k], x->rank, &a))
      return false;
    if (x->shape[a] != 1)
      return graph_fail(g, n, "dimension %d is %lld, not 1", a, (long long)x->shape[a]);
    drop[a] = true;
  }
  for (int d = 0; d < x->rank; d++)
    if (!(present ? drop[d] : x->shape[d] == 1))
      shape[rank++] = x->shape[d];
  return graph_set_out(g, n, 0, x->type, rank, shape);
}

bool graph_infer_unsqueeze(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  int64_t axes[IR_MAX_RANK], shape[IR_MAX_RANK];
  bool ins[IR_MAX_RANK] = {false}, present;
  int n_axes, a;
  if (!graph_const_list(g, n, 1, axes, &n_axes, &present))
    return false;
  int rank = x->rank + n_axes;
  if (!present || rank > IR_MAX_RANK)
    return graph_fail(g, n, "axes missing or rank too large");
  for (int k = 0; k < n_axes; k++) {
    if (!graph_axis(g, n, axes[k], rank, &a) || ins[a])
      return graph_fail(g, n, "invalid axes");
    ins[a] = true;
  }
  for (int d = 0, j = 0; d < rank; d++)
    shape[d] = ins[d] ? 1 : x->shape[j++];
  return graph_set_out(g, n, 0, x->type, rank, shape);
}

/* Non-unit dimensions of a tensor, in order, with their positions. */
static int nonunit_dims(ir_lower *L, int t, int *pos)
{
  int m = 0;
  for (int d = 0; d < graph_lw_tensor(L, t)->rank; d++)
    if (graph_lw_dim(L, t, d) != 1)
      pos[m++] = d;
  return m;
}

/* When x and y have the same non-unit dimensions, a copy is a renaming of
 * indices. */
static bool reshape_direct(ir_lower *L, int x, int y, ir_expr **idx)
{
  int px[IR_MAX_RANK], py[IR_MAX_RANK];
  int mx = nonunit_dims(L, x, px), my = nonunit_dims(L, y, py);
  if (mx != my)
    return false;
  for (int k = 0; k < mx; k++)
    if (graph_lw_dim(L, x, px[k]) != graph_lw_dim(L, y, py[k]))
      return false;
  for (int d = 0; d < graph_lw_tensor(L, x)->rank; d++)
    idx[d] = graph_ex_int(L, 0);
  for (int k = 0; k < mx; k++)
    idx[px[k]] = graph_ex_idx(L, py[k]);
  return true;
}

void graph_reshape_index(ir_lower *L, int x, int y, ir_expr **idx)
{
  ir_expr *flat = graph_ex_int(L, 0);
  for (int d = 0; d < graph_lw_tensor(L, y)->rank; d++)
    flat = graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, flat, graph_ex_int(L, graph_lw_dim(L, y, d))),
                        graph_ex_idx(L, d));
  int64_t stride = 1;
  for (int d = graph_lw_tensor(L, x)->rank - 1; d >= 0; d--) {
    int64_t dim = graph_lw_dim(L, x, d);
    ir_expr *q = stride == 1 ? flat : graph_ex_bin(L, IR_DIV, flat, graph_ex_int(L, stride));
    idx[d] = dim == 1 ? graph_ex_int(L, 0) : d == 0 ? q : graph_ex_bin(L, IR_MOD, q, graph_ex_int(L, dim));
    stride *= dim ? dim : 1;
  }
}

bool graph_lower_reshape(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  ir_expr *idx[IR_MAX_RANK];
  if (x < 0 || y < 0)
    return false;
  if (!reshape_direct(L, x, y, idx))
    graph_reshape_index(L, x, y, idx);
  return graph_st_map(L, y, graph_ex_read(L, x, idx, false));
}

bool graph_infer_transpose(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  const graph_transpose_params *p = &n->p.transpose;
  int64_t shape[IR_MAX_RANK];
  bool seen[IR_MAX_RANK] = {false};
  if (p->n_perm && p->n_perm != x->rank)
    return graph_fail(g, n, "the permutation must list %d axes", x->rank);
  for (int d = 0; d < x->rank; d++) {
    int a = p->n_perm ? p->perm[d] : x->rank - 1 - d;
    if (a < 0 || a >= x->rank || seen[a])
      return graph_fail(g, n, "perm is not a permutation");
    seen[a] = true;
    shape[d] = x->shape[a];
  }
  return graph_set_out(g, n, 0, x->type, x->rank, shape);
}

bool graph_lower_transpose(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  const graph_transpose_params *p = &n->p.transpose;
  ir_expr *idx[IR_MAX_RANK];
  if (x < 0 || y < 0)
    return false;
  int r = graph_lw_tensor(L, x)->rank;
  for (int d = 0; d < r; d++)
    idx[p->n_perm ? p->perm[d] : r - 1 - d] = graph_ex_idx(L, d);
  return graph_st_map(L, y, graph_ex_read(L, x, idx, false));
}

/* ------------------------------------------------------------------------
 * Concat, Split, Slice
 * ------------------------------------------------------------------------ */

bool graph_infer_concat(ir_graph *g, ir_node *n)
{
  const ir_value *x0 = graph_in(g, n, 0);
  int axis;
  graph_dim_check c = {false};
  if (!x0 || !graph_axis(g, n, n->p.axis.axis, x0->rank, &axis))
    return false;
  int64_t shape[IR_MAX_RANK];
  memcpy(shape, x0->shape, sizeof(int64_t) * (size_t)x0->rank);
  shape[axis] = 0;
  for (int k = 0; k < n->n_in; k++) {
    const ir_value *x = graph_in(g, n, k);
    if (!x || x->rank != x0->rank)
      return graph_fail(g, n, "inputs must have the same rank");
    for (int d = 0; d < x->rank; d++)
      if (d != axis && x->shape[d] != x0->shape[d])
        return graph_fail(g, n, "input %d differs in dimension %d", k, d);
    shape[axis] = graph_dim_add(&c, shape[axis], x->shape[axis]);
  }
  return graph_dim_ok(g, n, &c) && graph_set_out(g, n, 0, x0->type, x0->rank, shape);
}

/* y(..., i_axis, ...) = x(..., i_axis - off, ...) for i_axis in off:off+len. */
static bool copy_band(ir_lower *L, int y, int x, int axis, int64_t off, int64_t len, int64_t src_off)
{
  int r = graph_lw_tensor(L, y)->rank;
  int64_t hi[IR_MAX_RANK];
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < r; d++) {
    hi[d] = graph_lw_dim(L, y, d);
    idx[d] = graph_ex_idx(L, d);
  }
  idx[axis] = graph_ex_bin(L, IR_ADD, graph_ex_idx(L, axis), graph_ex_int(L, src_off - off));
  ir_stmt *s = graph_st_new(L, y, r, 0, hi);
  graph_st_range(s, L, axis, off, off + len);
  return graph_st_emit(L, s, IR_RED_NONE, false, graph_ex_read(L, x, idx, false));
}

bool graph_lower_concat(ir_lower *L, ir_node *n)
{
  int y = graph_lw_out(L, n->out[0]);
  if (y < 0)
    return false;
  int axis;
  if (!graph_axis(L->g, n, n->p.axis.axis, graph_lw_tensor(L, y)->rank, &axis))
    return false;
  int64_t off = 0;
  for (int k = 0; k < n->n_in; k++) {
    int x = graph_lw_in(L, n->in[k]);
    if (x < 0)
      return false;
    int64_t len = graph_lw_dim(L, x, axis);
    if (len > 0 && !copy_band(L, y, x, axis, off, len, 0))
      return false;
    off += len;
  }
  return true;
}

static bool split_sizes(ir_graph *g, ir_node *n, int axis, int64_t *sizes)
{
  const ir_value *x = graph_in(g, n, 0);
  const ir_value *s = graph_in(g, n, 1);
  int64_t count = s ? ir_value_numel(s) : 0;
  graph_dim_check c = {false};
  if (s && (!s->data || s->rank != 1 || count > n->n_out))
    return graph_fail(g, n, "the split sizes must be a constant list of %d sizes", n->n_out);
  int64_t total = 0, dim = x->shape[axis], parts = n->n_out;
  for (int k = 0; k < n->n_out; k++) {
    int64_t chunk = (dim + parts - 1) / parts;
    sizes[k] = count ? (k < count ? graph_const_int(s, k) : -1) : (k < parts - 1 ? chunk : dim - chunk * (parts - 1));
    if (sizes[k] < 0)
      return graph_fail(g, n, "invalid split sizes");
    total = graph_dim_add(&c, total, sizes[k]);
  }
  if (!graph_dim_ok(g, n, &c))
    return false;
  if ((count && count != n->n_out) || total != dim)
    return graph_fail(g, n, "split sizes do not add up to dimension %lld", (long long)dim);
  return true;
}

bool graph_infer_split(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  int64_t sizes[IR_MAX_RANK * 4], shape[IR_MAX_RANK];
  int axis;
  if (n->n_out > (int)(sizeof(sizes) / sizeof(sizes[0])))
    return graph_fail(g, n, "too many outputs");
  if (!graph_axis(g, n, n->p.axis.axis, x->rank, &axis) || !split_sizes(g, n, axis, sizes))
    return false;
  memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->rank);
  for (int k = 0; k < n->n_out; k++) {
    shape[axis] = sizes[k];
    if (!graph_set_out(g, n, k, x->type, x->rank, shape))
      return false;
  }
  return true;
}

bool graph_lower_split(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]);
  if (x < 0)
    return false;
  int r = graph_lw_tensor(L, x)->rank;
  int axis;
  if (!graph_axis(L->g, n, n->p.axis.axis, r, &axis))
    return false;
  int64_t off = 0;
  for (int k = 0; k < n->n_out; k++) {
    const ir_value *v = graph_out(L->g, n, k);
    if (!v)
      return false;
    int y = graph_lw_out(L, n->out[k]);
    if (v->shape[axis] > 0 && !copy_band(L, y, x, axis, 0, v->shape[axis], off))
      return false;
    off += v->shape[axis];
  }
  return true;
}

typedef struct slice_plan {
  int64_t start[IR_MAX_RANK], step[IR_MAX_RANK], len[IR_MAX_RANK];
} slice_plan;

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

/* The elements start, start + step, ... before end along a dimension of
 * size dim, numpy's rules (negative positions from the end, clamped), for
 * any int64 start, end and step (step != 0) without overflow. */
static void slice_axis(slice_plan *p, int a, int64_t dim, int64_t start, int64_t end, int64_t step)
{
  graph_dim_check c = {false};
  start = start < 0 ? start + dim : start;
  end = end < 0 ? end + dim : end;
  start = step > 0 ? clamp64(start, 0, dim) : clamp64(start, 0, dim - 1);
  end = step > 0 ? clamp64(end, 0, dim) : clamp64(end, -1, dim - 1);
  int64_t span = step > 0 ? end - start : start - end;
  int64_t stride = step == INT64_MIN ? INT64_MAX : step > 0 ? step : -step;
  int64_t len = span > 0 ? graph_dim_add(&c, graph_dim_div(&c, span - 1, stride, false), 1) : 0;
  p->start[a] = len > 0 ? start : 0;
  p->step[a] = len > 1 ? step : 1;
  p->len[a] = len;
}

/* The lists (starts, ends, axes, steps); starts and ends are required. */
static bool slice_lists(ir_graph *g, ir_node *n, int64_t l[4][IR_MAX_RANK], int *cnt, bool *has)
{
  for (int k = 0; k < 4; k++)
    if (!graph_const_list(g, n, k + 1, l[k], &cnt[k], &has[k]))
      return false;
  return has[0] && has[1] ? true : graph_fail(g, n, "starts and ends are required");
}

static bool slice_plan_of(ir_graph *g, ir_node *n, slice_plan *p)
{
  const ir_value *x = graph_in(g, n, 0);
  int64_t l[4][IR_MAX_RANK];
  int cnt[4], a;
  bool has[4], seen[IR_MAX_RANK] = {false};
  if (!slice_lists(g, n, l, cnt, has))
    return false;
  if (cnt[0] != cnt[1] || (has[2] && cnt[2] != cnt[0]) || (has[3] && cnt[3] != cnt[0]))
    return graph_fail(g, n, "starts, ends, axes and steps differ in length");
  for (int d = 0; d < x->rank; d++)
    slice_axis(p, d, x->shape[d], 0, x->shape[d], 1);
  for (int k = 0; k < cnt[0]; k++) {
    int64_t step = has[3] ? l[3][k] : 1;
    if (!graph_axis(g, n, has[2] ? l[2][k] : k, x->rank, &a))
      return false;
    if (step == 0)
      return graph_fail(g, n, "step %d is 0", k);
    if (seen[a])
      return graph_fail(g, n, "axis %d is sliced twice", a);
    seen[a] = true;
    slice_axis(p, a, x->shape[a], l[0][k], l[1][k], step);
  }
  return true;
}

bool graph_infer_slice(ir_graph *g, ir_node *n)
{
  slice_plan p;
  const ir_value *x = graph_in(g, n, 0);
  return slice_plan_of(g, n, &p) && graph_set_out(g, n, 0, x->type, x->rank, p.len);
}

bool graph_lower_slice(ir_lower *L, ir_node *n)
{
  slice_plan p;
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  ir_expr *idx[IR_MAX_RANK];
  if (x < 0 || y < 0 || !slice_plan_of(L->g, n, &p))
    return false;
  for (int d = 0; d < graph_lw_tensor(L, x)->rank; d++)
    idx[d] = graph_ex_bin(L, IR_ADD, graph_ex_int(L, p.start[d]),
                          graph_ex_bin(L, IR_MUL, graph_ex_idx(L, d), graph_ex_int(L, p.step[d])));
  return graph_st_map(L, y, graph_ex_read(L, x, idx, false));
}
