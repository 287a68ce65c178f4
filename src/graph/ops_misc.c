/* ops_misc.c: Einsum (one contraction statement from the equation), OneHot,
 * QuantizeLinear and DequantizeLinear, LRN, GatherND and ReverseSequence. */
#include "ops_internal.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * Einsum: labels are letters; the dimensions an ellipsis stands for get
 * labels 256 + k, right-aligned over the widest ellipsis
 * ------------------------------------------------------------------------ */

#define EIN_MAX_OPS 8

typedef struct einsum {
  int n_ops;
  int rank[EIN_MAX_OPS + 1]; /* the operands, then the output */
  int label[EIN_MAX_OPS + 1][IR_MAX_RANK];
  int n_labels;
  int labels[2 * IR_MAX_RANK]; /* output labels first */
  int64_t size[2 * IR_MAX_RANK];
} einsum;

/* Labels of one term (up to its end) for an operand of the given rank
 * (-1: the output, whose ellipsis takes ell dimensions). */
static bool parse_term(const char *s, const char *end, int rank, int *ell, int *out, int *n)
{
  int letters = 0;
  bool has_ell = false;
  for (const char *p = s; p < end; p++)
    letters += (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
  for (const char *p = s; p + 2 < end + 1 && p < end; p++)
    if (!strncmp(p, "...", 3))
      has_ell = true;
  int e = has_ell ? (rank < 0 ? *ell : rank - letters) : 0;
  if (e < 0 || (rank >= 0 && !has_ell && letters != rank) || letters + e > IR_MAX_RANK)
    return false;
  if (rank >= 0 && e > *ell)
    *ell = e;
  *n = 0;
  for (const char *p = s; p < end;) {
    if (!strncmp(p, "...", 3)) {
      for (int k = 0; k < e; k++)
        out[(*n)++] = 256 + (rank < 0 ? k : *ell - e + k);
      p += 3;
    } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
      out[(*n)++] = (unsigned char)*p++;
    } else if (*p == ' ') {
      p++;
    } else {
      return false;
    }
  }
  return true;
}

static int label_count(const einsum *es, int label)
{
  int c = 0;
  for (int k = 0; k < es->n_ops; k++)
    for (int j = 0; j < es->rank[k]; j++)
      c += es->label[k][j] == label;
  return c;
}

static bool has_label(const int *ls, int n, int label)
{
  for (int j = 0; j < n; j++)
    if (ls[j] == label)
      return true;
  return false;
}

/* The implicit output: ellipsis dimensions, then the labels used once, in
 * alphabetical order. */
static void implicit_output(einsum *es, int ell)
{
  int *o = es->label[es->n_ops], n = 0;
  for (int k = 0; k < ell; k++)
    o[n++] = 256 + k;
  for (int c = 'A'; c <= 'z'; c++)
    if (label_count(es, c) == 1)
      o[n++] = c;
  es->rank[es->n_ops] = n;
}

static bool parse_einsum(ir_graph *g, const ir_node *n, einsum *es)
{
  const char *eq = n->p.einsum.equation, *arrow = eq ? strstr(eq, "->") : NULL;
  if (!eq || n->n_in > EIN_MAX_OPS)
    return graph_fail(g, n, "an equation and at most %d operands expected", EIN_MAX_OPS);
  const char *end = arrow ? arrow : eq + strlen(eq), *p = eq;
  int ell = 0;
  es->n_ops = n->n_in;
  for (int k = 0; k < n->n_in; k++) {
    const char *comma = memchr(p, ',', (size_t)(end - p)), *stop = comma ? comma : end;
    if ((k + 1 < n->n_in) != (comma != NULL) || !graph_in(g, n, k) ||
        !parse_term(p, stop, graph_in(g, n, k)->rank, &ell, es->label[k], &es->rank[k]))
      return graph_fail(g, n, "the equation '%s' does not match operand %d", eq, k);
    p = stop + 1;
  }
  if (arrow && !parse_term(arrow + 2, arrow + strlen(arrow), -1, &ell, es->label[es->n_ops], &es->rank[es->n_ops]))
    return graph_fail(g, n, "the output of equation '%s' cannot be read", eq);
  if (!arrow)
    implicit_output(es, ell);
  return true;
}

/* Index variables: the output's labels, then the others; sizes checked. */
static bool number_labels(ir_graph *g, const ir_node *n, einsum *es)
{
  es->n_labels = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int k = pass ? 0 : es->n_ops; k <= (pass ? es->n_ops - 1 : es->n_ops); k++)
      for (int j = 0; j < es->rank[k]; j++)
        if (!has_label(es->labels, es->n_labels, es->label[k][j])) {
          if (es->n_labels == 2 * IR_MAX_RANK)
            return graph_fail(g, n, "too many labels");
          es->size[es->n_labels] = -1;
          es->labels[es->n_labels++] = es->label[k][j];
        }
  for (int k = 0; k < es->n_ops; k++)
    for (int j = 0; j < es->rank[k]; j++)
      for (int x = 0; x < es->n_labels; x++)
        if (es->labels[x] == es->label[k][j]) {
          int64_t d = graph_in(g, n, k)->shape[j];
          if (es->size[x] >= 0 && es->size[x] != d)
            return graph_fail(g, n, "dimension sizes of one label differ (broadcasting is not supported)");
          es->size[x] = d;
        }
  int r = es->rank[es->n_ops];
  for (int j = 0; j < r; j++)
    if (es->size[j] < 0 || has_label(es->label[es->n_ops], j, es->label[es->n_ops][j]))
      return graph_fail(g, n, "an output label must appear once and in an operand");
  return true;
}

bool graph_infer_einsum(ir_graph *g, ir_node *n)
{
  einsum es;
  if (!parse_einsum(g, n, &es) || !number_labels(g, n, &es))
    return false;
  const ir_value *x = graph_in(g, n, 0);
  for (int k = 1; k < n->n_in; k++)
    if (graph_in(g, n, k)->type != x->type)
      return graph_fail(g, n, "operands of one element type expected");
  return graph_set_out(g, n, 0, x->type, es.rank[es.n_ops], es.size);
}

static int label_index(const einsum *es, int label)
{
  for (int x = 0; x < es->n_labels; x++)
    if (es->labels[x] == label)
      return x;
  return -1;
}

bool graph_lower_einsum(ir_lower *L, ir_node *n)
{
  einsum es;
  int y = graph_lw_out(L, n->out[0]);
  if (y < 0 || !parse_einsum(L->g, n, &es) || !number_labels(L->g, n, &es))
    return false;
  ir_expr *prod = NULL;
  for (int k = 0; k < es.n_ops; k++) {
    int t = graph_lw_in(L, n->in[k]);
    ir_expr *ix[IR_MAX_RANK];
    for (int j = 0; j < es.rank[k]; j++)
      ix[j] = graph_ex_idx(L, label_index(&es, es.label[k][j]));
    ir_expr *e = graph_ex_read(L, t, ix, false);
    prod = prod ? graph_ex_bin(L, IR_MUL, prod, e) : e;
  }
  int r = es.rank[es.n_ops];
  return graph_st_emit(L, graph_st_new(L, y, r, es.n_labels - r, es.size), IR_RED_ADD, true, prod);
}

/* ------------------------------------------------------------------------
 * OneHot: y(..., d, ...) = wrap(indices(...)) == d ? values[1] : values[0]
 * ------------------------------------------------------------------------ */

bool graph_infer_onehot(ir_graph *g, ir_node *n)
{
  const ir_value *ind = graph_in(g, n, 0), *depth = graph_in(g, n, 1), *vals = graph_in(g, n, 2);
  int64_t shape[IR_MAX_RANK];
  int axis;
  if (!depth || !vals || ir_value_numel(depth) != 1 || ir_value_numel(vals) != 2 || ind->rank + 1 > IR_MAX_RANK)
    return graph_fail(g, n, "a scalar depth and two values expected");
  int64_t d = ir_types[depth->type].is_float
                  ? (int64_t)(depth->type == IR_F32 ? *(const float *)depth->data : *(const double *)depth->data)
                  : graph_const_int(depth, 0);
  if (d <= 0 || d > (1 << 24))
    return graph_fail(g, n, "depth must be positive");
  if (!graph_axis(g, n, n->p.axis.axis, ind->rank + 1, &axis))
    return false;
  for (int j = 0, s = 0; j <= ind->rank; j++)
    shape[j] = j == axis ? d : ind->shape[s++];
  return graph_set_out(g, n, 0, vals->type, ind->rank + 1, shape);
}

bool graph_lower_onehot(ir_lower *L, ir_node *n)
{
  int ind = graph_lw_in(L, n->in[0]), vals = graph_lw_in(L, n->in[2]), y = graph_lw_out(L, n->out[0]);
  if (ind < 0 || vals < 0 || y < 0)
    return false;
  int r = graph_lw_tensor(L, y)->rank, axis;
  if (!graph_axis(L->g, n, n->p.axis.axis, r, &axis))
    return false;
  int64_t depth = graph_lw_dim(L, y, axis);
  ir_expr *ix[IR_MAX_RANK], *on[1] = {graph_ex_int(L, 1)}, *off[1] = {graph_ex_int(L, 0)};
  for (int j = 0, s = 0; j < r; j++)
    if (j != axis)
      ix[s++] = graph_ex_idx(L, j);
  ir_expr *i = graph_ex_cast(L, IR_I64, graph_ex_read(L, ind, ix, false));
  i = graph_ex_sel(L, graph_ex_bin(L, IR_LT, i, graph_ex_int(L, 0)), graph_ex_bin(L, IR_ADD, i, graph_ex_int(L, depth)),
                   i);
  return graph_st_map(L, y,
                      graph_ex_sel(L, graph_ex_bin(L, IR_EQ, i, graph_ex_idx(L, axis)),
                                   graph_ex_read(L, vals, on, false), graph_ex_read(L, vals, off, false)));
}

/* ------------------------------------------------------------------------
 * QuantizeLinear and DequantizeLinear, per tensor or per axis
 * ------------------------------------------------------------------------ */

static bool quant_params(ir_graph *g, const ir_node *n, int *axis)
{
  const ir_value *x = graph_in(g, n, 0), *s = graph_in(g, n, 1), *z = graph_in(g, n, 2);
  if (!s || (z && ir_value_numel(z) != ir_value_numel(s)))
    return graph_fail(g, n, "a scale and a zero point of the same size expected");
  *axis = -1;
  if (ir_value_numel(s) == 1 && s->rank <= 1)
    return true;
  if (s->rank != 1 || !graph_axis(g, n, n->p.axis.axis, x->rank, axis) || s->shape[0] != x->shape[*axis])
    return graph_fail(g, n, "per-axis scale must match dimension axis of the input");
  return true;
}

bool graph_infer_quantize(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0), *z = graph_in(g, n, 2);
  int axis;
  if (!quant_params(g, n, &axis))
    return false;
  if (n->op == GRAPH_OP_DEQUANTIZE)
    return graph_set_out(g, n, 0, graph_in(g, n, 1)->type, x->rank, x->shape);
  ir_type t = z ? z->type : IR_U8;
  if (t != IR_U8 && t != IR_I8)
    return graph_fail(g, n, "only uint8 and int8 outputs are supported");
  return graph_set_out(g, n, 0, t, x->rank, x->shape);
}

/* Parameter k (scale or zero point) at the statement's point, or NULL. */
static ir_expr *param_at(ir_lower *L, const ir_node *n, int k, int axis)
{
  if (n->n_in <= k || n->in[k] < 0)
    return NULL;
  int t = graph_lw_in(L, n->in[k]);
  ir_expr *ix[1] = {axis < 0 ? graph_ex_int(L, 0) : graph_ex_idx(L, axis)};
  return graph_ex_read(L, t, graph_lw_tensor(L, t)->rank == 0 ? NULL : ix, false);
}

bool graph_lower_quantize(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]), axis;
  if (x < 0 || y < 0 || !quant_params(L->g, n, &axis))
    return false;
  ir_type ty = graph_lw_tensor(L, y)->type;
  ir_expr *scale = param_at(L, n, 1, axis), *zp = param_at(L, n, 2, axis);
  ir_expr *v = graph_ex_at(L, x, 0);
  if (n->op == GRAPH_OP_DEQUANTIZE) {
    ir_expr *c = graph_ex_cast(L, ty, v);
    if (zp)
      c = graph_ex_bin(L, IR_SUB, c, graph_ex_cast(L, ty, zp));
    return graph_st_map(L, y, graph_ex_bin(L, IR_MUL, c, scale));
  }
  ir_type f = IR_F32;
  ir_expr *q = graph_ex_bin(L, IR_DIV, graph_ex_cast(L, f, v), graph_ex_cast(L, f, scale));
  ir_expr *r = graph_ex_call(L, IR_FN_FLOOR, graph_ex_bin(L, IR_ADD, q, graph_ex_flt(L, 0.5, f)), NULL);
  ir_expr *tie = graph_ex_bin(L, IR_EQ, graph_ex_bin(L, IR_SUB, r, q), graph_ex_flt(L, 0.5, f));
  ir_expr *odd = graph_ex_bin(L, IR_NE, graph_ex_call(L, IR_FN_FMOD, r, graph_ex_flt(L, 2, f)), graph_ex_flt(L, 0, f));
  r = graph_ex_sel(L, graph_ex_bin(L, IR_AND, tie, odd), graph_ex_bin(L, IR_SUB, r, graph_ex_flt(L, 1, f)), r);
  if (zp)
    r = graph_ex_bin(L, IR_ADD, r, graph_ex_cast(L, f, zp));
  double lo = ty == IR_U8 ? 0 : -128, hi = ty == IR_U8 ? 255 : 127;
  r = graph_ex_call(L, IR_FN_FMIN, graph_ex_call(L, IR_FN_FMAX, r, graph_ex_flt(L, lo, f)), graph_ex_flt(L, hi, f));
  return graph_st_map(L, y, graph_ex_cast(L, ty, r));
}

/* ------------------------------------------------------------------------
 * LRN: y = x / (bias + alpha / size * sum of x^2 over the channel window)^beta
 * ------------------------------------------------------------------------ */

bool graph_infer_lrn(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  int64_t size = n->p.lrn.size;
  if (x->rank < 3 || !ir_types[x->type].is_float || size <= 0 || size > (1 << 16))
    return graph_fail(g, n, "a floating-point input of rank 3 or more and a positive size expected");
  return graph_set_out(g, n, 0, x->type, x->rank, x->shape);
}

bool graph_lower_lrn(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  if (x < 0 || y < 0)
    return false;
  const ir_tensor *X = graph_lw_tensor(L, x);
  int r = X->rank;
  int64_t size = n->p.lrn.size, hi[IR_MAX_RANK + 1], shape[IR_MAX_RANK];
  double alpha = n->p.lrn.alpha, beta = n->p.lrn.beta, bias = n->p.lrn.bias;
  for (int d = 0; d < r; d++)
    shape[d] = hi[d] = graph_lw_dim(L, x, d);
  hi[r] = size;
  int sq = graph_lw_temp(L, "sqsum", X->type, r, shape);
  ir_expr *ix[IR_MAX_RANK];
  for (int d = 0; d < r; d++)
    ix[d] = graph_ex_idx(L, d);
  ix[1] = graph_ex_bin(L, IR_SUB, graph_ex_bin(L, IR_ADD, graph_ex_idx(L, 1), graph_ex_idx(L, r)),
                       graph_ex_int(L, (size - 1) / 2));
  ir_expr *v = graph_ex_read(L, x, ix, true);
  if (sq < 0 || !graph_st_emit(L, graph_st_new(L, sq, r, 1, hi), IR_RED_ADD, true, graph_ex_bin(L, IR_MUL, v, v)))
    return false;
  ir_expr *base =
      graph_ex_bin(L, IR_ADD, graph_ex_flt(L, bias, X->type),
                   graph_ex_bin(L, IR_MUL, graph_ex_flt(L, alpha / (double)size, X->type), graph_ex_at(L, sq, 0)));
  return graph_st_map(
      L, y,
      graph_ex_bin(L, IR_DIV, graph_ex_at(L, x, 0), graph_ex_call(L, IR_FN_POW, base, graph_ex_flt(L, beta, X->type))));
}

/* ------------------------------------------------------------------------
 * GatherND: y(i..., j...) = x(b..., I(i..., 0), ..., I(i..., m-1), j...)
 * ------------------------------------------------------------------------ */

bool graph_infer_gathernd(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0), *ind = graph_in(g, n, 1);
  int64_t b = n->p.gather_nd.batch_dims, shape[IR_MAX_RANK];
  if (!ind || ind->rank < 1 || ir_types[ind->type].is_float || b < 0 || b >= ind->rank || b > x->rank)
    return graph_fail(g, n, "integer indices of rank 1 or more and a valid batch_dims expected");
  int64_t m = ind->shape[ind->rank - 1];
  int r = 0;
  if (m < 1 || b + m > x->rank)
    return graph_fail(g, n, "the indices' last dimension is out of range");
  for (int d = 0; d < b; d++)
    if (ind->shape[d] != x->shape[d])
      return graph_fail(g, n, "batch dimensions differ");
  for (int d = 0; d < ind->rank - 1; d++)
    shape[r++] = ind->shape[d];
  for (int64_t d = b + m; d < x->rank; d++)
    shape[r++] = x->shape[d];
  if (r > IR_MAX_RANK)
    return graph_fail(g, n, "output rank %d is not supported", r);
  return graph_set_out(g, n, 0, x->type, r, shape);
}

/* Index value v wrapped into 0..size-1 when negative. */
static ir_expr *wrap_negative(ir_lower *L, ir_expr *v, int64_t size)
{
  return graph_ex_sel(L, graph_ex_bin(L, IR_LT, v, graph_ex_int(L, 0)),
                      graph_ex_bin(L, IR_ADD, v, graph_ex_int(L, size)), v);
}

bool graph_lower_gathernd(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), ind = graph_lw_in(L, n->in[1]), y = graph_lw_out(L, n->out[0]);
  if (x < 0 || ind < 0 || y < 0)
    return false;
  int q = graph_lw_tensor(L, ind)->rank, rx = graph_lw_tensor(L, x)->rank;
  int64_t b = n->p.gather_nd.batch_dims, m = graph_lw_dim(L, ind, q - 1);
  ir_expr *ix[IR_MAX_RANK], *ii[IR_MAX_RANK];
  for (int d = 0; d < b; d++)
    ix[d] = graph_ex_idx(L, d);
  for (int64_t k = 0; k < m; k++) {
    for (int d = 0; d < q - 1; d++)
      ii[d] = graph_ex_idx(L, d);
    ii[q - 1] = graph_ex_int(L, k);
    ix[b + k] =
        wrap_negative(L, graph_ex_cast(L, IR_I64, graph_ex_read(L, ind, ii, false)), graph_lw_dim(L, x, (int)(b + k)));
  }
  for (int64_t d = b + m; d < rx; d++)
    ix[d] = graph_ex_idx(L, (int)(q - 1 + d - b - m));
  return graph_st_map(L, y, graph_ex_read(L, x, ix, false));
}

/* ------------------------------------------------------------------------
 * ReverseSequence: the first len(b) steps of each batch entry reversed
 * ------------------------------------------------------------------------ */

bool graph_infer_reverse_sequence(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0), *len = graph_in(g, n, 1);
  int64_t ta = n->p.reverse.time_axis, ba = n->p.reverse.batch_axis;
  if (!len || x->rank < 2 || ta < 0 || ba < 0 || ta > 1 || ba > 1 || ta == ba || len->rank != 1 ||
      len->shape[0] != x->shape[ba] || ir_types[len->type].is_float)
    return graph_fail(g, n, "time and batch axes 0 and 1 and one integer length per batch entry expected");
  return graph_set_out(g, n, 0, x->type, x->rank, x->shape);
}

bool graph_lower_reverse_sequence(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), len = graph_lw_in(L, n->in[1]), y = graph_lw_out(L, n->out[0]);
  if (x < 0 || len < 0 || y < 0)
    return false;
  int r = graph_lw_tensor(L, x)->rank, ta = (int)n->p.reverse.time_axis, ba = 1 - ta;
  ir_expr *ib[1] = {graph_ex_idx(L, ba)}, *ix[IR_MAX_RANK];
  ir_expr *l = graph_ex_cast(L, IR_I64, graph_ex_read(L, len, ib, false));
  for (int d = 0; d < r; d++)
    ix[d] = graph_ex_idx(L, d);
  ir_expr *t = graph_ex_idx(L, ta);
  ix[ta] = graph_ex_sel(L, graph_ex_bin(L, IR_LT, t, l),
                        graph_ex_bin(L, IR_SUB, graph_ex_bin(L, IR_SUB, l, graph_ex_int(L, 1)), graph_ex_idx(L, ta)),
                        graph_ex_idx(L, ta));
  return graph_st_map(L, y, graph_ex_read(L, x, ix, false));
}
