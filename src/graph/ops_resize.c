/* ops_resize.c: resize (nearest, linear and cubic). Every output
 * coordinate maps to a source coordinate per dimension, fixed at compile
 * time, so each resized dimension becomes two constant tables: the source
 * indices of its taps (1 nearest, 2 linear, 4 cubic) and their weights. The
 * output is one statement summing over the taps:
 *   Y(i, j) +=! X(I0(i, r0), I1(j, r1)) * W0(i, r0) * W1(j, r1)
 * Dimensions that keep their size and map identically read X directly. */
#include "ops_internal.h"

#include <math.h>
#include <string.h>

typedef struct resize_spec {
  int rank;
  int64_t in[IR_MAX_RANK], out[IR_MAX_RANK];
  double scale[IR_MAX_RANK], len[IR_MAX_RANK]; /* len: in * scale, unrounded */
  graph_resize_params p;
} resize_spec;

static double const_float(const ir_value *v, int64_t k)
{
  if (v->type == IR_F32)
    return ((const float *)v->data)[k];
  if (v->type == IR_F64)
    return ((const double *)v->data)[k];
  return (double)graph_const_int(v, k);
}

/* The output sizes, from the scales (input 1) or the sizes (input 2). */
static bool read_sizes(ir_graph *g, const ir_node *n, const ir_value *x, resize_spec *rs)
{
  const ir_value *scales = graph_in(g, n, 1), *sizes = graph_in(g, n, 2);
  if (scales && ir_value_numel(scales) == 0)
    scales = NULL;
  if (sizes && ir_value_numel(sizes) == 0)
    sizes = NULL;
  if ((!scales && !sizes) || (scales && ir_value_numel(scales) != x->rank) ||
      (sizes && ir_value_numel(sizes) != x->rank))
    return graph_fail(g, n, "scales or sizes must give %d values", x->rank);
  rs->rank = x->rank;
  for (int d = 0; d < x->rank; d++) {
    rs->in[d] = x->shape[d];
    if (sizes) {
      rs->out[d] = graph_const_int(sizes, d);
      rs->scale[d] = rs->in[d] ? (double)rs->out[d] / (double)rs->in[d] : 1.0;
    } else {
      rs->scale[d] = const_float(scales, d);
      double out = floor((double)rs->in[d] * rs->scale[d]);
      rs->out[d] = out >= 0 && out <= (1 << 24) ? (int64_t)out : -1;
    }
    rs->len[d] = sizes ? (double)rs->out[d] : (double)rs->in[d] * rs->scale[d];
    if (!(rs->scale[d] > 0) || rs->out[d] < 0 || rs->out[d] > (1 << 24) || (rs->out[d] > 0 && rs->in[d] == 0))
      return graph_fail(g, n, "invalid scale or size in dimension %d", d);
  }
  return true;
}

static bool resize_spec_of(ir_graph *g, const ir_node *n, resize_spec *rs)
{
  rs->p = n->p.resize;
  return read_sizes(g, n, graph_in(g, n, 0), rs);
}

bool graph_infer_resize(ir_graph *g, ir_node *n)
{
  resize_spec rs;
  const ir_value *x = graph_in(g, n, 0);
  if (!resize_spec_of(g, n, &rs))
    return false;
  if (rs.p.mode != GRAPH_RESIZE_NEAREST && !ir_types[x->type].is_float)
    return graph_fail(g, n, "linear and cubic modes need a floating-point input");
  return graph_set_out(g, n, 0, x->type, rs.rank, rs.out);
}

/* Source coordinate of output index i in dimension d. */
static double source_coord(const resize_spec *rs, int d, int64_t i)
{
  double s = rs->scale[d], in = (double)rs->in[d], out = rs->len[d];
  switch (rs->p.coord) {
  case GRAPH_COORD_ASYMMETRIC: return (double)i / s;
  case GRAPH_COORD_ALIGN_CORNERS: return out == 1 ? 0 : (double)i * (in - 1) / (out - 1);
  case GRAPH_COORD_TF_HALF_PIXEL_FOR_NN: return ((double)i + 0.5) / s;
  case GRAPH_COORD_PYTORCH_HALF_PIXEL: return rs->out[d] <= 1 ? 0 : ((double)i + 0.5) / s - 0.5;
  default: return ((double)i + 0.5) / s - 0.5;
  }
}

static int64_t nearest_index(const resize_spec *rs, double x)
{
  double f = floor(x);
  bool half = x - f == 0.5;
  switch (rs->p.nearest) {
  case GRAPH_NEAREST_FLOOR: return ir_saturate_i64(f);
  case GRAPH_NEAREST_CEIL: return ir_saturate_i64(ceil(x));
  case GRAPH_NEAREST_ROUND_PREFER_CEIL: return ir_saturate_i64(half ? f + 1 : floor(x + 0.5));
  default: return ir_saturate_i64(half ? f : floor(x + 0.5));
  }
}

static int64_t clamp(int64_t v, int64_t n)
{
  return v < 0 ? 0 : v >= n ? n - 1 : v;
}

static void cubic_coeffs(double t, double a, double *c)
{
  double u = 1 - t;
  c[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
  c[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  c[2] = ((a + 2) * u - (a + 3)) * u * u + 1;
  c[3] = ((a * (u + 1) - 5 * a) * (u + 1) + 8 * a) * (u + 1) - 4 * a;
}

static int taps_of(graph_resize_mode m)
{
  return m == GRAPH_RESIZE_NEAREST ? 1 : m == GRAPH_RESIZE_LINEAR ? 2 : 4;
}

/* Taps of output index i in dimension d: source indices and weights. */
static void taps(const resize_spec *rs, int d, int64_t i, int64_t *idx, double *w)
{
  double x = source_coord(rs, d, i), f = floor(x), t = x - f;
  int64_t n = rs->in[d], base = ir_saturate_i64(f);
  if (rs->p.mode == GRAPH_RESIZE_NEAREST) {
    idx[0] = clamp(nearest_index(rs, x), n);
    w[0] = 1;
    return;
  }
  if (rs->p.mode == GRAPH_RESIZE_LINEAR) {
    idx[0] = clamp(base, n), idx[1] = clamp(base + 1, n);
    w[0] = 1 - t, w[1] = t;
    return;
  }
  double sum = 0;
  cubic_coeffs(t, rs->p.cubic_a, w);
  for (int k = 0; k < 4; k++) {
    int64_t j = base - 1 + k;
    if (rs->p.exclude_outside && (j < 0 || j >= n))
      w[k] = 0;
    sum += w[k];
    idx[k] = clamp(j, n);
  }
  for (int k = 0; rs->p.exclude_outside && sum != 0 && k < 4; k++)
    w[k] /= sum;
}

static bool is_identity(const resize_spec *rs, int d)
{
  int64_t idx[4];
  double w[4];
  if (rs->in[d] != rs->out[d])
    return false;
  for (int64_t i = 0; i < rs->out[d]; i++) {
    taps(rs, d, i, idx, w);
    for (int k = 0; k < taps_of(rs->p.mode); k++)
      if (w[k] != 0 && (idx[k] != i || w[k] != 1))
        return false;
  }
  return true;
}

/* The index and weight tables of dimension d (tensors *ti, *tw). */
static bool tables(ir_lower *L, const resize_spec *rs, int d, ir_type wt, int *ti, int *tw)
{
  int nt = taps_of(rs->p.mode);
  int64_t shape[2] = {rs->out[d], nt}, n = rs->out[d] * nt;
  int64_t *idx = IR_NEW_ARRAY(L->ctx, int64_t, n);
  void *w = ir_alloc(L->ctx, (size_t)(n > 0 ? n : 1) * (size_t)ir_types[wt].bytes);
  char si[32], sw[32];
  if (!idx || !w)
    return false;
  for (int64_t i = 0; i < rs->out[d]; i++) {
    double wi[4];
    taps(rs, d, i, idx + i * nt, wi);
    for (int k = 0; k < nt; k++) {
      if (wt == IR_F64)
        ((double *)w)[i * nt + k] = wi[k];
      else
        ((float *)w)[i * nt + k] = (float)wi[k];
    }
  }
  snprintf(si, sizeof si, "ridx%d", d);
  snprintf(sw, sizeof sw, "rw%d", d);
  *ti = graph_lw_const(L, si, IR_I64, 2, shape, idx);
  *tw = rs->p.mode == GRAPH_RESIZE_NEAREST ? -1 : graph_lw_const(L, sw, wt, 2, shape, w);
  return *ti >= 0 && (rs->p.mode == GRAPH_RESIZE_NEAREST || *tw >= 0);
}

bool graph_lower_resize(ir_lower *L, ir_node *n)
{
  resize_spec rs;
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  if (x < 0 || y < 0 || !resize_spec_of(L->g, n, &rs))
    return false;
  ir_type wt = graph_lw_tensor(L, x)->type == IR_F64 ? IR_F64 : IR_F32;
  int nt = taps_of(rs.p.mode), r = rs.rank, n_red = 0, ti, tw;
  ir_expr *ix[IR_MAX_RANK], *weight = NULL;
  for (int d = 0; d < r; d++) {
    if (is_identity(&rs, d)) {
      ix[d] = graph_ex_idx(L, d);
      continue;
    }
    if (!tables(L, &rs, d, wt, &ti, &tw))
      return false;
    int tap = r + n_red;
    ir_expr *at[2] = {graph_ex_idx(L, d), nt == 1 ? graph_ex_int(L, 0) : graph_ex_idx(L, tap)};
    ix[d] = graph_ex_read(L, ti, at, false);
    if (nt > 1) {
      ir_expr *at2[2] = {graph_ex_idx(L, d), graph_ex_idx(L, tap)};
      ir_expr *wd = graph_ex_read(L, tw, at2, false);
      weight = weight ? graph_ex_bin(L, IR_MUL, weight, wd) : wd;
      n_red++;
    }
  }
  int64_t hi[2 * IR_MAX_RANK];
  for (int d = 0; d < r; d++)
    hi[d] = rs.out[d];
  for (int k = 0; k < n_red; k++)
    hi[r + k] = nt;
  ir_expr *v = graph_ex_read(L, x, ix, false);
  if (!weight)
    return graph_st_emit(L, graph_st_new(L, y, r, 0, hi), IR_RED_NONE, false, v);
  if (graph_lw_tensor(L, x)->type != wt)
    v = graph_ex_cast(L, wt, v);
  ir_expr *rhs = graph_ex_bin(L, IR_MUL, v, weight);
  if (graph_lw_tensor(L, y)->type != wt)
    rhs = graph_ex_cast(L, graph_lw_tensor(L, y)->type, rhs);
  return graph_st_emit(L, graph_st_new(L, y, r, n_red, hi), IR_RED_ADD, true, rhs);
}
