/* ops_nn.c: the neural-network operators of the op library: matrix
 * products, convolutions, pooling, normalisations, softmax and reductions,
 * each lowered to a few comprehensions (`+=!` reductions, elementwise
 * statements reading keep-dims temporaries). */
#include "ops_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Reductions over a set of dimensions: where each index of the input goes
 * ------------------------------------------------------------------------ */

typedef struct red_map {
  int rank;                   /* of the input */
  bool reduced[IR_MAX_RANK];
  int lhs_of[IR_MAX_RANK];    /* index variable of a kept (or kept-as-1) dimension */
  int red_of[IR_MAX_RANK];    /* index variable of a reduced dimension */
  int n_lhs, n_red;
  int64_t hi[2 * IR_MAX_RANK];
} red_map;

/* keepdims: the output has the input's rank, reduced dimensions of size 1. */
static void red_map_init(ir_lower *L, red_map *m, int x, const bool *reduced, bool keepdims)
{
  memset(m, 0, sizeof(*m));
  m->rank = lw_tensor(L, x)->rank;
  for (int d = 0; d < m->rank; d++) {
    m->reduced[d] = reduced[d];
    if (!reduced[d] || keepdims) {
      m->lhs_of[d] = m->n_lhs;
      m->hi[m->n_lhs++] = reduced[d] ? 1 : lw_dim(L, x, d);
    }
  }
  for (int d = 0; d < m->rank; d++)
    if (reduced[d]) {
      m->red_of[d] = m->n_lhs + m->n_red;
      m->hi[m->n_lhs + m->n_red++] = lw_dim(L, x, d);
    }
}

/* The input at the statement's point: kept dimensions at their left-hand
 * index, reduced ones at their reduction index. */
static ir_expr *red_read_x(ir_lower *L, const red_map *m, int x)
{
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < m->rank; d++)
    idx[d] = ex_idx(L, m->reduced[d] ? m->red_of[d] : m->lhs_of[d]);
  return ex_read(L, x, idx, false);
}

/* A keep-dims temporary at the statement's point (0 in reduced dimensions). */
static ir_expr *red_read_keep(ir_lower *L, const red_map *m, int t)
{
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < m->rank; d++)
    idx[d] = m->reduced[d] ? ex_int(L, 0) : ex_idx(L, m->lhs_of[d]);
  return ex_read(L, t, idx, false);
}

static ir_stmt *red_stmt(ir_lower *L, const red_map *m, int y)
{
  return st_new(L, y, m->n_lhs, m->n_red, m->hi);
}

/* A keep-dims temporary of x's type (or float for integers). */
static int keep_temp(ir_lower *L, int x, const bool *reduced, const char *suffix, ir_type t)
{
  int64_t shape[IR_MAX_RANK];
  for (int d = 0; d < lw_tensor(L, x)->rank; d++)
    shape[d] = reduced[d] ? 1 : lw_dim(L, x, d);
  return lw_temp(L, suffix, t, lw_tensor(L, x)->rank, shape);
}

static int64_t reduced_count(ir_lower *L, int x, const bool *reduced)
{
  int64_t c = 1;
  for (int d = 0; d < lw_tensor(L, x)->rank; d++)
    if (reduced[d])
      c *= lw_dim(L, x, d);
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
  return ex_at(L, x, 0);
}

/* ------------------------------------------------------------------------
 * MatMul and Gemm
 * ------------------------------------------------------------------------ */

bool infer_matmul(ir_graph *g, ir_node *n)
{
  const ir_value *a = op_in(g, n, 0), *b = op_in(g, n, 1);
  if (!a || !b || a->rank < 1 || b->rank < 1)
    return op_fail(g, n, "inputs of rank 1 or more expected");
  int64_t ka = a->shape[a->rank - 1], kb = b->rank == 1 ? b->shape[0] : b->shape[b->rank - 2];
  if (ka != kb)
    return op_fail(g, n, "inner dimensions differ (%lld and %lld)", (long long)ka, (long long)kb);
  int64_t shape[IR_MAX_RANK];
  int r = 0;
  int ba = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0;
  if (!op_broadcast(g, n, ba, a->shape, bb, b->shape, &r, shape))
    return false;
  if (a->rank > 1)
    shape[r++] = a->shape[a->rank - 2];
  if (b->rank > 1)
    shape[r++] = b->shape[b->rank - 1];
  return op_set_out(g, n, 0, a->type, r, shape);
}

/* Reads a matrix operand: batch dimensions aligned right against nb output
 * batch indices, row and column index variables given (-1: none). */
static ir_expr *matmul_operand(ir_lower *L, int t, int nb, int row, int col)
{
  int r = lw_tensor(L, t)->rank, own = r > 2 ? r - 2 : 0;
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < own; d++)
    idx[d] = lw_dim(L, t, d) == 1 ? ex_int(L, 0) : ex_idx(L, d + nb - own);
  int k = own;
  if (row >= 0)
    idx[k++] = ex_idx(L, row);
  if (col >= 0)
    idx[k++] = ex_idx(L, col);
  return ex_read(L, t, idx, false);
}

bool lower_matmul(ir_lower *L, ir_node *n)
{
  int a = lw_in(L, n->in[0]), b = lw_in(L, n->in[1]), y = lw_out(L, n->out[0]);
  if (a < 0 || b < 0 || y < 0)
    return false;
  int ra = lw_tensor(L, a)->rank, rb = lw_tensor(L, b)->rank, ry = lw_tensor(L, y)->rank;
  int nb = ry - (ra > 1) - (rb > 1);
  int64_t hi[IR_MAX_RANK + 1];
  for (int d = 0; d < ry; d++)
    hi[d] = lw_dim(L, y, d);
  hi[ry] = lw_dim(L, a, ra - 1);
  int m = ra > 1 ? nb : -1, col = rb > 1 ? nb + (ra > 1) : -1;
  ir_expr *ea = ra > 1 ? matmul_operand(L, a, nb, m, ry) : matmul_operand(L, a, nb, ry, -1);
  ir_expr *eb = rb > 1 ? matmul_operand(L, b, nb, ry, col) : matmul_operand(L, b, nb, ry, -1);
  return st_emit(L, st_new(L, y, ry, 1, hi), IR_RED_ADD, true, ex_bin(L, IR_MUL, ea, eb));
}

bool infer_gemm(ir_graph *g, ir_node *n)
{
  const ir_value *a = op_in(g, n, 0), *b = op_in(g, n, 1), *c = op_in(g, n, 2);
  if (!a || !b || a->rank != 2 || b->rank != 2)
    return op_fail(g, n, "two matrices expected");
  bool ta = ir_attr_int(n, "transA", 0), tb = ir_attr_int(n, "transB", 0);
  int64_t shape[2] = {a->shape[ta ? 1 : 0], b->shape[tb ? 0 : 1]}, out[2];
  int r;
  if (a->shape[ta ? 0 : 1] != b->shape[tb ? 1 : 0])
    return op_fail(g, n, "inner dimensions differ");
  if (c && (!op_broadcast(g, n, 2, shape, c->rank, c->shape, &r, out) || r != 2 || out[0] != shape[0] ||
            out[1] != shape[1]))
    return op_fail(g, n, "C does not broadcast to the output");
  return op_set_out(g, n, 0, a->type, 2, shape);
}

bool lower_gemm(ir_lower *L, ir_node *n)
{
  int a = lw_in(L, n->in[0]), b = lw_in(L, n->in[1]), y = lw_out(L, n->out[0]);
  if (a < 0 || b < 0 || y < 0)
    return false;
  bool ta = ir_attr_int(n, "transA", 0), tb = ir_attr_int(n, "transB", 0);
  double alpha = ir_attr_float(n, "alpha", 1), beta = ir_attr_float(n, "beta", 1);
  ir_type t = lw_tensor(L, y)->type;
  int64_t hi[3] = {lw_dim(L, y, 0), lw_dim(L, y, 1), lw_dim(L, a, ta ? 0 : 1)};
  ir_expr *ia[2] = {ex_idx(L, ta ? 2 : 0), ex_idx(L, ta ? 0 : 2)}, *ib[2] = {ex_idx(L, tb ? 1 : 2), ex_idx(L, tb ? 2 : 1)};
  ir_expr *prod = ex_bin(L, IR_MUL, ex_read(L, a, ia, false), ex_read(L, b, ib, false));
  if (alpha != 1)
    prod = ex_bin(L, IR_MUL, ex_const(L, alpha, t), prod);
  if (!st_emit(L, st_new(L, y, 2, 1, hi), IR_RED_ADD, true, prod))
    return false;
  if (n->n_in < 3 || n->in[2] < 0 || beta == 0)
    return true;
  ir_expr *c = ex_bcast(L, lw_in(L, n->in[2]), 2, 0);
  if (beta != 1)
    c = ex_bin(L, IR_MUL, ex_const(L, beta, t), c);
  return st_emit(L, st_new(L, y, 2, 0, hi), IR_RED_ADD, false, c);
}

/* ------------------------------------------------------------------------
 * Convolution and pooling geometry
 * ------------------------------------------------------------------------ */

typedef struct conv_geom {
  int nsp; /* spatial dimensions */
  int64_t in[IR_MAX_RANK], k[IR_MAX_RANK], s[IR_MAX_RANK], d[IR_MAX_RANK];
  int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK], out[IR_MAX_RANK];
} conv_geom;

static bool attr_list(ir_graph *g, const ir_node *n, const char *name, int count, int64_t dflt, int64_t *out)
{
  const ir_attr *a = ir_node_attr(n, name);
  for (int k = 0; k < count; k++)
    out[k] = dflt;
  if (!a)
    return true;
  if (a->kind != IR_ATTR_INTS || a->n != count)
    return op_fail(g, n, "attribute '%s' must list %d values", name, count);
  memcpy(out, a->ints, sizeof(int64_t) * (size_t)count);
  return true;
}

static bool geom_attrs(ir_graph *g, const ir_node *n, conv_geom *cg, const int64_t *kernel)
{
  int64_t pads[2 * IR_MAX_RANK];
  if (!attr_list(g, n, "strides", cg->nsp, 1, cg->s) || !attr_list(g, n, "dilations", cg->nsp, 1, cg->d) ||
      !attr_list(g, n, "pads", 2 * cg->nsp, 0, pads) || !attr_list(g, n, "kernel_shape", cg->nsp, 1, cg->k))
    return false;
  for (int i = 0; i < cg->nsp; i++) {
    if (kernel)
      cg->k[i] = kernel[i];
    cg->pb[i] = pads[i];
    cg->pe[i] = pads[i + cg->nsp];
    if (cg->s[i] <= 0 || cg->d[i] <= 0 || cg->k[i] <= 0 || cg->pb[i] < 0 || cg->pe[i] < 0 || cg->k[i] > (1 << 20) ||
        cg->s[i] > (1 << 20) || cg->d[i] > (1 << 20) || cg->pb[i] > (1 << 20) || cg->pe[i] > (1 << 20))
      return op_fail(g, n, "invalid kernel, stride, dilation or pad in dimension %d", i);
  }
  return true;
}

static void auto_pad(conv_geom *cg, int i, const char *mode)
{
  int64_t ext = (cg->k[i] - 1) * cg->d[i] + 1;
  if (!strcmp(mode, "VALID")) {
    cg->pb[i] = cg->pe[i] = 0;
    return;
  }
  int64_t out = (cg->in[i] + cg->s[i] - 1) / cg->s[i];
  int64_t total = (out - 1) * cg->s[i] + ext - cg->in[i];
  total = total > 0 ? total : 0;
  cg->pb[i] = !strcmp(mode, "SAME_UPPER") ? total / 2 : total - total / 2;
  cg->pe[i] = total - cg->pb[i];
}

/* Geometry of a convolution or pooling window over x's spatial dimensions. */
static bool conv_geom_of(ir_graph *g, const ir_node *n, const ir_value *x, const int64_t *kernel, bool ceil_mode,
                         conv_geom *cg)
{
  const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
  if (x->rank < 3)
    return op_fail(g, n, "input of rank 3 or more expected");
  cg->nsp = x->rank - 2;
  memcpy(cg->in, x->shape + 2, sizeof(int64_t) * (size_t)cg->nsp);
  if (!geom_attrs(g, n, cg, kernel))
    return false;
  for (int i = 0; i < cg->nsp; i++) {
    if (strcmp(ap, "NOTSET"))
      auto_pad(cg, i, ap);
    int64_t ext = (cg->k[i] - 1) * cg->d[i] + 1, span = cg->in[i] + cg->pb[i] + cg->pe[i] - ext;
    if (span < 0)
      return op_fail(g, n, "the window is larger than the padded input in dimension %d", i);
    cg->out[i] = (ceil_mode ? (span + cg->s[i] - 1) / cg->s[i] : span / cg->s[i]) + 1;
    if (ceil_mode && (cg->out[i] - 1) * cg->s[i] >= cg->in[i] + cg->pb[i])
      cg->out[i]--;
  }
  return true;
}

static bool geom_padded(const conv_geom *cg)
{
  for (int i = 0; i < cg->nsp; i++)
    if (cg->pb[i] || (cg->out[i] - 1) * cg->s[i] + (cg->k[i] - 1) * cg->d[i] - cg->pb[i] >= cg->in[i])
      return true;
  return false;
}

/* o * s + k * d - pb for spatial dimension i, o and k index variables. */
static ir_expr *window_pos(ir_lower *L, const conv_geom *cg, int i, int o, int k)
{
  ir_expr *e = ex_bin(L, IR_MUL, ex_idx(L, o), ex_int(L, cg->s[i]));
  e = ex_bin(L, IR_ADD, e, ex_bin(L, IR_MUL, ex_idx(L, k), ex_int(L, cg->d[i])));
  return ex_bin(L, IR_SUB, e, ex_int(L, cg->pb[i]));
}

/* ------------------------------------------------------------------------
 * Conv
 * ------------------------------------------------------------------------ */

bool infer_conv(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0), *w = op_in(g, n, 1), *b = op_in(g, n, 2);
  conv_geom cg;
  int64_t group = ir_attr_int(n, "group", 1), shape[IR_MAX_RANK];
  if (!w || w->rank != x->rank || group <= 0 || w->shape[0] % group || x->shape[1] != w->shape[1] * group)
    return op_fail(g, n, "weights do not match the input (channels, group, rank)");
  if (b && (b->rank != 1 || b->shape[0] != w->shape[0]))
    return op_fail(g, n, "bias must have %lld elements", (long long)w->shape[0]);
  if (!ir_types[x->type].is_float || !conv_geom_of(g, n, x, w->shape + 2, false, &cg))
    return op_fail(g, n, "floating-point input and a valid geometry expected");
  shape[0] = x->shape[0];
  shape[1] = w->shape[0];
  memcpy(shape + 2, cg.out, sizeof(int64_t) * (size_t)cg.nsp);
  return op_set_out(g, n, 0, x->type, x->rank, shape);
}

/* Input channel of group member c for output channel m. */
static ir_expr *group_channel(ir_lower *L, int m, int c, int64_t group, int64_t per_out, int64_t per_in)
{
  if (group == 1)
    return ex_idx(L, c);
  ir_expr *g = ex_bin(L, IR_DIV, ex_idx(L, m), ex_int(L, per_out));
  return ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, g, ex_int(L, per_in)), ex_idx(L, c));
}

static bool add_bias(ir_lower *L, const ir_node *n, int y)
{
  if (n->n_in < 3 || n->in[2] < 0)
    return true;
  ir_expr *idx[1] = {ex_idx(L, 1)};
  int64_t hi[IR_MAX_RANK];
  for (int d = 0; d < lw_tensor(L, y)->rank; d++)
    hi[d] = lw_dim(L, y, d);
  return st_emit(L, st_new(L, y, lw_tensor(L, y)->rank, 0, hi), IR_RED_ADD, false,
                 ex_read(L, lw_in(L, n->in[2]), idx, false));
}

/* Whether Conv n lowers to a packed matrix product (implicit im2col): one image, 2-D,
 * no groups, float32 with constant weights. */
static bool conv_as_gemm(ir_lower *L, const ir_node *n, const conv_geom *cg)
{
  const ir_value *x = &L->g->values[n->in[0]], *w = &L->g->values[n->in[1]];
  return cg->nsp == 2 && x->shape[0] == 1 && ir_attr_int(n, "group", 1) == 1 && x->type == IR_F32 &&
         w->type == IR_F32 && w->data;
}

/* x with its padding made explicit (a copy), or x itself without padding. */
static int explicit_padding(ir_lower *L, int x, const conv_geom *cg)
{
  if (!geom_padded(cg))
    return x;
  int64_t shape[4] = {lw_dim(L, x, 0), lw_dim(L, x, 1)};
  for (int i = 0; i < 2; i++)
    shape[2 + i] = (cg->out[i] - 1) * cg->s[i] + (cg->k[i] - 1) * cg->d[i] + 1;
  int xp = lw_temp(L, "padded", IR_F32, 4, shape);
  ir_expr *ix[4] = {ex_idx(L, 0), ex_idx(L, 1), ex_bin(L, IR_SUB, ex_idx(L, 2), ex_int(L, cg->pb[0])),
                    ex_bin(L, IR_SUB, ex_idx(L, 3), ex_int(L, cg->pb[1]))};
  return xp >= 0 && st_map(L, xp, ex_read(L, x, ix, true)) ? xp : -1;
}

/* y(0, m, oh, ow) +=! w(m, c, kh, kw) * xp(0, c, oh * s + kh * d, ow * s +
 * kw * d), xp the input with its padding made explicit: a contraction with
 * affine subscripts, which the backend runs as a packed matrix
 * multiplication packing the windows straight from xp (implicit im2col; no
 * column matrix). */
static bool lower_conv_gemm(ir_lower *L, ir_node *n, int x, int y, const conv_geom *cg)
{
  int xp = explicit_padding(L, x, cg), w = lw_in(L, n->in[1]);
  if (xp < 0 || w < 0)
    return false;
  int64_t hi[7] = {1, lw_dim(L, w, 0), cg->out[0], cg->out[1], lw_dim(L, w, 1), cg->k[0], cg->k[1]};
  ir_expr *ix[4] = {ex_int(L, 0), ex_idx(L, 4)}, *iw[4] = {ex_idx(L, 1), ex_idx(L, 4), ex_idx(L, 5), ex_idx(L, 6)};
  for (int i = 0; i < 2; i++)
    ix[2 + i] = ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, ex_idx(L, 2 + i), ex_int(L, cg->s[i])),
                       ex_bin(L, IR_MUL, ex_idx(L, 5 + i), ex_int(L, cg->d[i])));
  ir_expr *rhs = ex_bin(L, IR_MUL, ex_read(L, w, iw, false), ex_read(L, xp, ix, false));
  return st_emit(L, st_new(L, y, 4, 3, hi), IR_RED_ADD, true, rhs) && add_bias(L, n, y);
}

/* Whether Conv n is a 2-D depthwise convolution (one input channel per
 * output channel) with a small float32 kernel. */
static bool is_depthwise(ir_lower *L, const ir_node *n, const conv_geom *cg)
{
  const ir_value *x = &L->g->values[n->in[0]], *w = &L->g->values[n->in[1]];
  return cg->nsp == 2 && x->type == IR_F32 && w->shape[1] == 1 && w->shape[0] == x->shape[1] &&
         ir_attr_int(n, "group", 1) == x->shape[1] && cg->k[0] * cg->k[1] <= 49;
}

/* Depthwise convolution as one elementwise statement per kernel tap over
 * an explicitly padded input: y = xp(tap 0) * w(0) (+ bias), then
 * y += xp(tap k) * w(k); every statement runs along the image rows. */
static bool lower_conv_depthwise(ir_lower *L, ir_node *n, int x, int y, const conv_geom *cg)
{
  int w = lw_in(L, n->in[1]), xp = x < 0 ? -1 : explicit_padding(L, x, cg);
  if (w < 0 || xp < 0)
    return false;
  int64_t hi[4];
  for (int d = 0; d < 4; d++)
    hi[d] = lw_dim(L, y, d);
  for (int64_t kh = 0; kh < cg->k[0]; kh++)
    for (int64_t kw = 0; kw < cg->k[1]; kw++) {
      int64_t tap[2] = {kh, kw};
      ir_expr *ix[4] = {ex_idx(L, 0), ex_idx(L, 1)}, *iw[4] = {ex_idx(L, 1), ex_int(L, 0), ex_int(L, kh), ex_int(L, kw)};
      for (int i = 0; i < 2; i++)
        ix[2 + i] = ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, ex_idx(L, 2 + i), ex_int(L, cg->s[i])),
                           ex_int(L, tap[i] * cg->d[i]));
      ir_expr *rhs = ex_bin(L, IR_MUL, ex_read(L, xp, ix, false), ex_read(L, w, iw, false));
      bool first = kh == 0 && kw == 0;
      if (!st_emit(L, st_new(L, y, 4, 0, hi), first ? IR_RED_NONE : IR_RED_ADD, false, rhs))
        return false;
    }
  return add_bias(L, n, y);
}

bool lower_conv(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  conv_geom cg;
  if (x < 0 || y < 0 ||
      !conv_geom_of(L->g, n, &L->g->values[n->in[0]], L->g->values[n->in[1]].shape + 2, false, &cg))
    return false;
  if (conv_as_gemm(L, n, &cg))
    return lower_conv_gemm(L, n, x, y, &cg);
  if (is_depthwise(L, n, &cg))
    return lower_conv_depthwise(L, n, x, y, &cg);
  int w = lw_in(L, n->in[1]);
  if (w < 0)
    return false;
  int r = lw_tensor(L, y)->rank, c = r, k0 = r + 1;
  int64_t group = ir_attr_int(n, "group", 1), hi[2 * IR_MAX_RANK];
  for (int d = 0; d < r; d++)
    hi[d] = lw_dim(L, y, d);
  hi[c] = lw_dim(L, w, 1);
  ir_expr *ix[IR_MAX_RANK], *iw[IR_MAX_RANK];
  ix[0] = ex_idx(L, 0);
  ix[1] = group_channel(L, 1, c, group, lw_dim(L, w, 0) / group, lw_dim(L, w, 1));
  iw[0] = ex_idx(L, 1);
  iw[1] = ex_idx(L, c);
  for (int i = 0; i < cg.nsp; i++) {
    hi[k0 + i] = cg.k[i];
    ix[2 + i] = window_pos(L, &cg, i, 2 + i, k0 + i);
    iw[2 + i] = ex_idx(L, k0 + i);
  }
  ir_expr *rhs = ex_bin(L, IR_MUL, ex_read(L, x, ix, geom_padded(&cg)), ex_read(L, w, iw, false));
  return st_emit(L, st_new(L, y, r, 1 + cg.nsp, hi), IR_RED_ADD, true, rhs) && add_bias(L, n, y);
}

/* ------------------------------------------------------------------------
 * ConvTranspose
 * ------------------------------------------------------------------------ */

static bool convt_geom(ir_graph *g, const ir_node *n, const ir_value *x, const ir_value *w, conv_geom *cg)
{
  int64_t outpad[IR_MAX_RANK], oshape[IR_MAX_RANK];
  cg->nsp = x->rank - 2;
  memcpy(cg->in, x->shape + 2, sizeof(int64_t) * (size_t)cg->nsp);
  if (!geom_attrs(g, n, cg, w->shape + 2) || !attr_list(g, n, "output_padding", cg->nsp, 0, outpad))
    return false;
  const ir_attr *os = ir_node_attr(n, "output_shape");
  const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
  if (os && (os->kind != IR_ATTR_INTS || (os->n != cg->nsp && os->n != x->rank)))
    return op_fail(g, n, "output_shape must list %d sizes", cg->nsp);
  for (int i = 0; os && i < cg->nsp; i++)
    oshape[i] = os->ints[os->n - cg->nsp + i];
  for (int i = 0; i < cg->nsp; i++) {
    int64_t full = cg->s[i] * (cg->in[i] - 1) + outpad[i] + (cg->k[i] - 1) * cg->d[i] + 1;
    if (os || !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
      int64_t target = os ? oshape[i] : cg->in[i] * cg->s[i], total = full - target;
      int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
      cg->pb[i] = !strcmp(ap, "SAME_UPPER") ? half : total - half;
      cg->pe[i] = total - cg->pb[i];
    }
    cg->out[i] = full - cg->pb[i] - cg->pe[i];
    if (cg->out[i] < 0)
      return op_fail(g, n, "negative output size in dimension %d", i);
  }
  return true;
}

bool infer_convtranspose(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0), *w = op_in(g, n, 1);
  int64_t group = ir_attr_int(n, "group", 1), shape[IR_MAX_RANK];
  conv_geom cg;
  if (!w || x->rank < 3 || w->rank != x->rank || group <= 0 || x->shape[1] != w->shape[0] || w->shape[0] % group)
    return op_fail(g, n, "weights do not match the input (channels, group, rank)");
  if (!ir_types[x->type].is_float || !convt_geom(g, n, x, w, &cg))
    return false;
  shape[0] = x->shape[0];
  shape[1] = w->shape[1] * group;
  memcpy(shape + 2, cg.out, sizeof(int64_t) * (size_t)cg.nsp);
  return op_set_out(g, n, 0, x->type, x->rank, shape);
}

bool lower_convtranspose(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), w = lw_in(L, n->in[1]), y = lw_out(L, n->out[0]);
  conv_geom cg;
  if (x < 0 || w < 0 || y < 0 || !convt_geom(L->g, n, &L->g->values[n->in[0]], &L->g->values[n->in[1]], &cg))
    return false;
  int r = lw_tensor(L, y)->rank, c = r, k0 = r + 1;
  int64_t group = ir_attr_int(n, "group", 1), mg = lw_dim(L, w, 1), cgrp = lw_dim(L, x, 1) / group;
  int64_t hi[2 * IR_MAX_RANK];
  for (int d = 0; d < r; d++)
    hi[d] = lw_dim(L, y, d);
  hi[c] = cgrp;
  ir_expr *ix[IR_MAX_RANK], *iw[IR_MAX_RANK], *ok = ex_cast(L, IR_BOOL, ex_int(L, 1));
  ix[0] = ex_idx(L, 0);
  ix[1] = iw[0] = group_channel(L, 1, c, group, mg, cgrp);
  iw[1] = group == 1 ? ex_idx(L, 1) : ex_bin(L, IR_MOD, ex_idx(L, 1), ex_int(L, mg));
  for (int i = 0; i < cg.nsp; i++) {
    hi[k0 + i] = cg.k[i];
    ir_expr *num = ex_bin(L, IR_SUB, ex_bin(L, IR_ADD, ex_idx(L, 2 + i), ex_int(L, cg.pb[i])),
                          ex_bin(L, IR_MUL, ex_idx(L, k0 + i), ex_int(L, cg.d[i])));
    ix[2 + i] = cg.s[i] == 1 ? num : ex_bin(L, IR_DIV, num, ex_int(L, cg.s[i]));
    if (cg.s[i] != 1)
      ok = ex_bin(L, IR_AND, ok, ex_bin(L, IR_EQ, ex_bin(L, IR_MOD, num, ex_int(L, cg.s[i])), ex_int(L, 0)));
    iw[2 + i] = ex_idx(L, k0 + i);
  }
  ir_type t = lw_tensor(L, y)->type;
  ir_expr *prod = ex_bin(L, IR_MUL, ex_read(L, x, ix, true), ex_read(L, w, iw, false));
  ir_expr *rhs = ex_sel(L, ok, prod, ex_const(L, 0, t));
  return st_emit(L, st_new(L, y, r, 1 + cg.nsp, hi), IR_RED_ADD, true, rhs) && add_bias(L, n, y);
}

/* ------------------------------------------------------------------------
 * MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool
 * ------------------------------------------------------------------------ */

static bool pool_geom(ir_graph *g, const ir_node *n, const ir_value *x, conv_geom *cg)
{
  const ir_attr *ks = ir_node_attr(n, "kernel_shape");
  if (!ks || ks->kind != IR_ATTR_INTS || ks->n != x->rank - 2)
    return op_fail(g, n, "kernel_shape must list %d sizes", x->rank - 2);
  if (n->op == IR_NODE_AVERAGEPOOL && n->opset < 19 && ir_node_attr(n, "dilations") &&
      ir_attr_int(n, "dilations", 1) != 1)
    return op_fail(g, n, "dilations are not supported");
  return conv_geom_of(g, n, x, ks->ints, ir_attr_int(n, "ceil_mode", 0) != 0, cg);
}

bool infer_pool(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  conv_geom cg;
  int64_t shape[IR_MAX_RANK];
  if (op_out(g, n, 1))
    return op_fail(g, n, "the Indices output is not supported");
  if (ir_attr_int(n, "storage_order", 0))
    return op_fail(g, n, "storage_order=1 is not supported");
  if (x->rank < 3 || !pool_geom(g, n, x, &cg))
    return op_fail(g, n, "input of rank 3 or more and a valid window expected");
  if (n->op == IR_NODE_AVERAGEPOOL && !ir_types[x->type].is_float)
    return op_fail(g, n, "floating-point input expected");
  memcpy(shape, x->shape, sizeof(int64_t) * 2);
  memcpy(shape + 2, cg.out, sizeof(int64_t) * (size_t)cg.nsp);
  return op_set_out(g, n, 0, x->type, x->rank, shape);
}

static ir_expr *lowest(ir_lower *L, ir_type t)
{
  if (ir_types[t].is_float)
    return ex_flt(L, -INFINITY, t);
  if (!ir_types[t].is_signed || t == IR_BOOL)
    return ex_cast(L, t, ex_int(L, 0));
  return ex_cast(L, t, ex_int(L, -((int64_t)1 << (ir_types[t].bytes * 8 - 1))));
}

/* The number of window positions inside [lo, hi) per output position, as a
 * constant table over the spatial output shape. */
static int pool_counts(ir_lower *L, const conv_geom *cg, bool include_pad, ir_type t)
{
  int64_t numel = 1;
  for (int i = 0; i < cg->nsp; i++)
    numel *= cg->out[i];
  double *cnt = IR_NEW_ARRAY(L->ctx, double, numel);
  float *cnt32 = IR_NEW_ARRAY(L->ctx, float, numel);
  if (!cnt || !cnt32)
    return -1;
  for (int64_t p = 0; p < numel; p++) {
    int64_t rest = p, c = 1;
    for (int i = cg->nsp - 1; i >= 0; i--) {
      int64_t o = rest % cg->out[i], lo = include_pad ? -cg->pb[i] : 0;
      int64_t hi = include_pad ? cg->in[i] + cg->pe[i] : cg->in[i], m = 0;
      rest /= cg->out[i];
      for (int64_t k = 0; k < cg->k[i]; k++) {
        int64_t pos = o * cg->s[i] + k * cg->d[i] - cg->pb[i];
        m += pos >= lo && pos < hi;
      }
      c *= m;
    }
    cnt[p] = (double)(c ? c : 1);
    cnt32[p] = (float)cnt[p];
  }
  return lw_const(L, "count", t, cg->nsp, cg->out, t == IR_F64 ? (void *)cnt : (void *)cnt32);
}

bool lower_pool(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  conv_geom cg;
  if (x < 0 || y < 0 || !pool_geom(L->g, n, &L->g->values[n->in[0]], &cg))
    return false;
  int r = lw_tensor(L, y)->rank, k0 = r;
  int64_t hi[2 * IR_MAX_RANK];
  ir_type t = lw_tensor(L, y)->type;
  bool pad = geom_padded(&cg), is_max = n->op == IR_NODE_MAXPOOL;
  ir_expr *ix[IR_MAX_RANK], *inside = ex_cast(L, IR_BOOL, ex_int(L, 1));
  for (int d = 0; d < r; d++)
    hi[d] = lw_dim(L, y, d);
  ix[0] = ex_idx(L, 0);
  ix[1] = ex_idx(L, 1);
  for (int i = 0; i < cg.nsp; i++) {
    hi[k0 + i] = cg.k[i];
    ix[2 + i] = window_pos(L, &cg, i, 2 + i, k0 + i);
    inside = ex_bin(L, IR_AND, inside, ex_in_range(L, ix[2 + i], 0, cg.in[i]));
  }
  ir_expr *v = ex_read(L, x, ix, pad);
  if (is_max)
    return st_emit(L, st_new(L, y, r, cg.nsp, hi), IR_RED_MAX, true, pad ? ex_sel(L, inside, v, lowest(L, t)) : v);
  if (!st_emit(L, st_new(L, y, r, cg.nsp, hi), IR_RED_ADD, true, v))
    return false;
  int cnt = pool_counts(L, &cg, ir_attr_int(n, "count_include_pad", 0) != 0, t);
  ir_expr *ic[IR_MAX_RANK];
  for (int i = 0; i < cg.nsp; i++)
    ic[i] = ex_idx(L, 2 + i);
  return st_map(L, y, ex_bin(L, IR_DIV, ex_at(L, y, 0), ex_read(L, cnt, ic, false)));
}

bool infer_global_pool(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  int64_t shape[IR_MAX_RANK];
  if (x->rank < 3 || !ir_types[x->type].is_float)
    return op_fail(g, n, "floating-point input of rank 3 or more expected");
  for (int d = 0; d < x->rank; d++)
    shape[d] = d < 2 ? x->shape[d] : 1;
  return op_set_out(g, n, 0, x->type, x->rank, shape);
}

bool lower_global_pool(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  bool reduced[IR_MAX_RANK] = {false};
  red_map m;
  if (x < 0 || y < 0)
    return false;
  for (int d = 2; d < lw_tensor(L, x)->rank; d++)
    reduced[d] = true;
  red_map_init(L, &m, x, reduced, true);
  bool is_max = n->op == IR_NODE_GLOBALMAXPOOL;
  if (!st_emit(L, red_stmt(L, &m, y), is_max ? IR_RED_MAX : IR_RED_ADD, true, red_read_x(L, &m, x)))
    return false;
  ir_type t = lw_tensor(L, y)->type;
  return is_max || st_map(L, y, ex_bin(L, IR_DIV, ex_at(L, y, 0), ex_const(L, (double)reduced_count(L, x, reduced), t)));
}

/* ------------------------------------------------------------------------
 * BatchNormalization, InstanceNormalization, LayerNormalization
 * ------------------------------------------------------------------------ */

static bool check_channel_params(ir_graph *g, const ir_node *n, int first, int last, int64_t c)
{
  for (int k = first; k <= last; k++) {
    const ir_value *p = op_in(g, n, k);
    if (!p || p->rank != 1 || p->shape[0] != c)
      return op_fail(g, n, "input %d must have %lld elements", k, (long long)c);
  }
  return true;
}

bool infer_batchnorm(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  if (ir_attr_int(n, "training_mode", 0) || op_out(g, n, 1) || op_out(g, n, 2))
    return op_fail(g, n, "training mode is not supported");
  if (!ir_attr_int(n, "spatial", 1))
    return op_fail(g, n, "spatial=0 is not supported");
  if (x->rank < 2 || !ir_types[x->type].is_float || !check_channel_params(g, n, 1, 4, x->shape[1]))
    return op_fail(g, n, "floating-point input of rank 2 or more expected");
  return op_set_out(g, n, 0, x->type, x->rank, x->shape);
}

static ir_expr *chan(ir_lower *L, const ir_node *n, int k)
{
  ir_expr *idx[1] = {ex_idx(L, 1)};
  return ex_read(L, lw_in(L, n->in[k]), idx, false);
}

bool lower_batchnorm(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  if (x < 0 || y < 0)
    return false;
  ir_type t = lw_tensor(L, y)->type;
  ir_expr *den = ex_call(L, IR_FN_SQRT, ex_bin(L, IR_ADD, chan(L, n, 4), ex_const(L, ir_attr_float(n, "epsilon", 1e-5), t)), NULL);
  ir_expr *norm = ex_bin(L, IR_DIV, ex_bin(L, IR_SUB, ex_at(L, x, 0), chan(L, n, 3)), den);
  return st_map(L, y, ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, norm, chan(L, n, 1)), chan(L, n, 2)));
}

bool infer_instancenorm(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  if (x->rank < 3 || !ir_types[x->type].is_float || !check_channel_params(g, n, 1, 2, x->shape[1]))
    return op_fail(g, n, "floating-point input of rank 3 or more and per-channel scale and bias expected");
  return op_set_out(g, n, 0, x->type, x->rank, x->shape);
}

/* mean(keep) and the inverse standard deviation istd(keep) of x over the
 * reduced dimensions. */
static bool moments(ir_lower *L, int x, const bool *reduced, int mean, int istd, double eps)
{
  red_map m;
  ir_type t = lw_tensor(L, mean)->type;
  double cnt = (double)reduced_count(L, x, reduced);
  red_map_init(L, &m, x, reduced, true);
  if (!st_emit(L, red_stmt(L, &m, mean), IR_RED_ADD, true, ex_cast(L, t, red_read_x(L, &m, x))) ||
      !st_map(L, mean, ex_bin(L, IR_DIV, ex_at(L, mean, 0), ex_const(L, cnt, t))))
    return false;
  ir_expr *dev = ex_bin(L, IR_SUB, ex_cast(L, t, red_read_x(L, &m, x)), red_read_keep(L, &m, mean));
  if (!st_emit(L, red_stmt(L, &m, istd), IR_RED_ADD, true, ex_bin(L, IR_MUL, dev, dev)))
    return false;
  ir_expr *var = ex_bin(L, IR_ADD, ex_bin(L, IR_DIV, ex_at(L, istd, 0), ex_const(L, cnt, t)), ex_const(L, eps, t));
  return st_map(L, istd, ex_bin(L, IR_DIV, ex_const(L, 1, t), ex_call(L, IR_FN_SQRT, var, NULL)));
}

bool lower_instancenorm(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  bool reduced[IR_MAX_RANK] = {false};
  red_map m;
  if (x < 0 || y < 0)
    return false;
  ir_type t = lw_tensor(L, y)->type;
  for (int d = 2; d < lw_tensor(L, x)->rank; d++)
    reduced[d] = true;
  int mean = keep_temp(L, x, reduced, "mean", t), istd = keep_temp(L, x, reduced, "istd", t);
  if (!moments(L, x, reduced, mean, istd, ir_attr_float(n, "epsilon", 1e-5)))
    return false;
  full_map(L, &m, x, reduced);
  ir_expr *norm = ex_bin(L, IR_MUL, ex_bin(L, IR_SUB, full_read(L, &m, x), red_read_keep(L, &m, mean)),
                         red_read_keep(L, &m, istd));
  return st_map(L, y, ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, norm, chan(L, n, 1)), chan(L, n, 2)));
}

bool infer_layernorm(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  int axis;
  int64_t shape[IR_MAX_RANK];
  if (!ir_types[x->type].is_float || !op_axis(g, n, ir_attr_int(n, "axis", -1), x->rank, &axis))
    return op_fail(g, n, "floating-point input and a valid axis expected");
  for (int d = 0; d < x->rank; d++)
    shape[d] = d < axis ? x->shape[d] : 1;
  ir_type st = IR_F32;
  if (ir_node_attr(n, "stash_type") && !ir_type_from_onnx(ir_attr_int(n, "stash_type", 1), &st))
    return op_fail(g, n, "stash_type is not supported");
  return op_set_out(g, n, 0, x->type, x->rank, x->shape) && op_set_out(g, n, 1, st, x->rank, shape) &&
         op_set_out(g, n, 2, st, x->rank, shape);
}

bool lower_layernorm(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  bool reduced[IR_MAX_RANK] = {false};
  red_map m;
  if (x < 0 || y < 0)
    return false;
  int r = lw_tensor(L, x)->rank, axis = (int)ir_attr_int(n, "axis", -1);
  axis = axis < 0 ? axis + r : axis;
  for (int d = axis; d < r; d++)
    reduced[d] = true;
  ir_type st = op_out(L->g, n, 1) ? op_out(L->g, n, 1)->type : op_out(L->g, n, 2) ? op_out(L->g, n, 2)->type : IR_F32;
  int mean = op_out(L->g, n, 1) ? lw_out(L, n->out[1]) : keep_temp(L, x, reduced, "mean", st);
  int istd = op_out(L->g, n, 2) ? lw_out(L, n->out[2]) : keep_temp(L, x, reduced, "istd", st);
  if (mean < 0 || istd < 0 || !moments(L, x, reduced, mean, istd, ir_attr_float(n, "epsilon", 1e-5)))
    return false;
  full_map(L, &m, x, reduced);
  ir_expr *norm = ex_bin(L, IR_MUL, ex_bin(L, IR_SUB, ex_cast(L, st, full_read(L, &m, x)), red_read_keep(L, &m, mean)),
                         red_read_keep(L, &m, istd));
  norm = ex_bin(L, IR_MUL, ex_cast(L, lw_tensor(L, y)->type, norm), ex_bcast(L, lw_in(L, n->in[1]), r, 0));
  if (n->n_in > 2 && n->in[2] >= 0)
    norm = ex_bin(L, IR_ADD, norm, ex_bcast(L, lw_in(L, n->in[2]), r, 0));
  return st_map(L, y, norm);
}

/* ------------------------------------------------------------------------
 * Softmax, LogSoftmax, Hardmax
 * ------------------------------------------------------------------------ */

static bool softmax_dims(ir_graph *g, const ir_node *n, int rank, bool *reduced)
{
  int axis;
  bool old = n->opset < 13;
  if (!op_axis(g, n, ir_attr_int(n, "axis", old ? 1 : -1), rank, &axis))
    return false;
  for (int d = 0; d < rank; d++)
    reduced[d] = old ? d >= axis : d == axis;
  return true;
}

bool infer_softmax(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  bool reduced[IR_MAX_RANK];
  if (!ir_types[x->type].is_float || !softmax_dims(g, n, x->rank, reduced))
    return op_fail(g, n, "floating-point input and a valid axis expected");
  return op_set_out(g, n, 0, x->type, x->rank, x->shape);
}

/* Row-major position of x's index variables within the reduced dimensions. */
static ir_expr *reduced_flat(ir_lower *L, const red_map *m, int x, bool use_red)
{
  ir_expr *flat = ex_int(L, 0);
  for (int d = 0; d < m->rank; d++)
    if (m->reduced[d])
      flat = ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, flat, ex_int(L, lw_dim(L, x, d))),
                    ex_idx(L, use_red ? m->red_of[d] : m->lhs_of[d]));
  return flat;
}

static bool lower_hardmax(ir_lower *L, int x, int y, const bool *reduced, int mx)
{
  red_map m, f;
  red_map_init(L, &m, x, reduced, true);
  int arg = keep_temp(L, x, reduced, "arg", IR_I64);
  ir_expr *hit = ex_bin(L, IR_EQ, red_read_x(L, &m, x), red_read_keep(L, &m, mx));
  if (!st_emit(L, red_stmt(L, &m, arg), IR_RED_MIN, true, ex_sel(L, hit, reduced_flat(L, &m, x, true), ex_int(L, INT64_MAX))))
    return false;
  full_map(L, &f, x, reduced);
  ir_expr *is = ex_bin(L, IR_EQ, reduced_flat(L, &f, x, false), red_read_keep(L, &f, arg));
  return st_map(L, y, ex_cast(L, lw_tensor(L, y)->type, is));
}

bool lower_softmax(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  bool reduced[IR_MAX_RANK];
  red_map m, f;
  if (x < 0 || y < 0 || !softmax_dims(L->g, n, lw_tensor(L, x)->rank, reduced))
    return false;
  ir_type t = lw_tensor(L, y)->type;
  int mx = keep_temp(L, x, reduced, "max", t), sum = keep_temp(L, x, reduced, "sum", t);
  red_map_init(L, &m, x, reduced, true);
  if (!st_emit(L, red_stmt(L, &m, mx), IR_RED_MAX, true, red_read_x(L, &m, x)))
    return false;
  if (n->op == IR_NODE_HARDMAX)
    return lower_hardmax(L, x, y, reduced, mx);
  ir_expr *e = ex_call(L, IR_FN_EXP, ex_bin(L, IR_SUB, red_read_x(L, &m, x), red_read_keep(L, &m, mx)), NULL);
  if (!st_emit(L, red_stmt(L, &m, sum), IR_RED_ADD, true, e))
    return false;
  full_map(L, &f, x, reduced);
  ir_expr *shifted = ex_bin(L, IR_SUB, full_read(L, &f, x), red_read_keep(L, &f, mx));
  if (n->op == IR_NODE_LOGSOFTMAX)
    return st_map(L, y, ex_bin(L, IR_SUB, shifted, ex_call(L, IR_FN_LOG, red_read_keep(L, &f, sum), NULL)));
  return st_map(L, y, ex_bin(L, IR_DIV, ex_call(L, IR_FN_EXP, shifted, NULL), red_read_keep(L, &f, sum)));
}

/* ------------------------------------------------------------------------
 * Reduce* and ArgMax/ArgMin
 * ------------------------------------------------------------------------ */

static bool reduce_dims(ir_graph *g, const ir_node *n, const ir_value *x, bool *reduced, bool *any)
{
  int64_t axes[IR_MAX_RANK];
  int count, a;
  bool present;
  int since = n->op == IR_NODE_REDUCESUM ? 13 : 18;
  if (!op_int_list(g, n, "axes", 1, since, axes, &count, &present))
    return false;
  bool all = count == 0 && !ir_attr_int(n, "noop_with_empty_axes", 0);
  *any = false;
  for (int d = 0; d < x->rank; d++)
    reduced[d] = all;
  for (int k = 0; k < count; k++) {
    if (!op_axis(g, n, axes[k], x->rank, &a))
      return false;
    reduced[a] = true;
  }
  for (int d = 0; d < x->rank; d++)
    *any |= reduced[d];
  return true;
}

bool infer_reduce(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  bool reduced[IR_MAX_RANK], any, keep = ir_attr_int(n, "keepdims", 1) != 0;
  int64_t shape[IR_MAX_RANK];
  int r = 0;
  if (!reduce_dims(g, n, x, reduced, &any))
    return false;
  for (int d = 0; d < x->rank; d++)
    if (!reduced[d] || keep)
      shape[r++] = reduced[d] ? 1 : x->shape[d];
  return op_set_out(g, n, 0, x->type, r, shape);
}

static ir_reduction reduce_kind(ir_node_op op)
{
  switch (op) {
  case IR_NODE_REDUCEMAX: return IR_RED_MAX;
  case IR_NODE_REDUCEMIN: return IR_RED_MIN;
  case IR_NODE_REDUCEPROD: return IR_RED_MUL;
  default: return IR_RED_ADD;
  }
}

static ir_expr *reduce_term(ir_lower *L, ir_node_op op, ir_expr *v)
{
  switch (op) {
  case IR_NODE_REDUCEL1: return ex_call(L, IR_FN_ABS, v, NULL);
  case IR_NODE_REDUCEL2: case IR_NODE_REDUCESUMSQUARE: return ex_bin(L, IR_MUL, v, v);
  case IR_NODE_REDUCELOGSUMEXP: return ex_call(L, IR_FN_EXP, v, NULL);
  default: return v;
  }
}

static ir_expr *reduce_post(ir_lower *L, ir_node_op op, ir_expr *y, double count, ir_type t)
{
  switch (op) {
  case IR_NODE_REDUCEL2: return ex_cast(L, t, ex_call(L, IR_FN_SQRT, ex_cast(L, ir_types[t].is_float ? t : IR_F64, y), NULL));
  case IR_NODE_REDUCELOGSUM: case IR_NODE_REDUCELOGSUMEXP: return ex_call(L, IR_FN_LOG, y, NULL);
  case IR_NODE_REDUCEMEAN: return ex_bin(L, IR_DIV, y, ex_const(L, count, t));
  default: return NULL;
  }
}

bool lower_reduce(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  bool reduced[IR_MAX_RANK], any;
  red_map m;
  if (x < 0 || y < 0 || !reduce_dims(L->g, n, &L->g->values[n->in[0]], reduced, &any))
    return false;
  red_map_init(L, &m, x, reduced, ir_attr_int(n, "keepdims", 1) != 0);
  ir_type t = lw_tensor(L, y)->type;
  if (!st_emit(L, red_stmt(L, &m, y), reduce_kind(n->op), true, reduce_term(L, n->op, red_read_x(L, &m, x))))
    return false;
  ir_expr *post = reduce_post(L, n->op, ex_at(L, y, 0), (double)reduced_count(L, x, reduced), t);
  return !post || st_map(L, y, post);
}

bool infer_argmax(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  int axis, r = 0;
  bool keep = ir_attr_int(n, "keepdims", 1) != 0;
  int64_t shape[IR_MAX_RANK];
  if (!op_axis(g, n, ir_attr_int(n, "axis", 0), x->rank, &axis))
    return false;
  for (int d = 0; d < x->rank; d++)
    if (d != axis || keep)
      shape[r++] = d == axis ? 1 : x->shape[d];
  return op_set_out(g, n, 0, IR_I64, r, shape);
}

bool lower_argmax(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  bool reduced[IR_MAX_RANK] = {false};
  red_map m, k;
  if (x < 0 || y < 0)
    return false;
  int axis = (int)ir_attr_int(n, "axis", 0);
  axis = axis < 0 ? axis + lw_tensor(L, x)->rank : axis;
  reduced[axis] = true;
  bool is_max = n->op == IR_NODE_ARGMAX, last = ir_attr_int(n, "select_last_index", 0) != 0;
  int best = keep_temp(L, x, reduced, "best", lw_tensor(L, x)->type);
  red_map_init(L, &k, x, reduced, true);
  if (!st_emit(L, red_stmt(L, &k, best), is_max ? IR_RED_MAX : IR_RED_MIN, true, red_read_x(L, &k, x)))
    return false;
  red_map_init(L, &m, x, reduced, ir_attr_int(n, "keepdims", 1) != 0);
  ir_expr *hit = ex_bin(L, IR_EQ, red_read_x(L, &m, x), red_read_keep(L, &m, best));
  ir_expr *pos = ex_sel(L, hit, ex_idx(L, m.red_of[axis]), ex_int(L, last ? -1 : INT64_MAX));
  return st_emit(L, red_stmt(L, &m, y), last ? IR_RED_MAX : IR_RED_MIN, true, pos);
}
