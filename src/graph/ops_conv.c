/* ops_conv.c: convolutions and pooling in the op library: the window
 * geometry (strides, dilations, pads, auto padding, ceil mode), conv (a
 * packed matrix product for one image, per-tap statements for depthwise
 * kernels, one reduction otherwise), conv_transpose, maxpool and avgpool. */
#include "ops_conv.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Convolution and pooling geometry
 * ------------------------------------------------------------------------ */

/* "3x3": a list of sizes for messages, in buf. */
static const char *sizes_text(char *buf, size_t len, const int64_t *v, int n)
{
  buf[0] = 0;
  for (int i = 0; i < n; i++)
    snprintf(buf + strlen(buf), len - strlen(buf), "%s%lld", i ? "x" : "", (long long)v[i]);
  return buf;
}

/* The kernel: the weights' spatial sizes for a convolution (which a kernel
 * given in the window must match), the window's for pooling. */
static bool window_kernel(ir_graph *g, const ir_node *n, const graph_window *w, const int64_t *weights, conv_geom *cg)
{
  char a[256], b[256];
  bool given = w->n_spatial > 0;
  for (int i = 0; i < cg->nsp; i++) {
    if (weights && given && w->kernel[i] && w->kernel[i] != weights[i])
      return graph_fail(g, n, "kernel shape %s does not match the weights' spatial sizes %s",
                        sizes_text(a, sizeof(a), w->kernel, cg->nsp), sizes_text(b, sizeof(b), weights, cg->nsp));
    cg->k[i] = weights ? weights[i] : given ? w->kernel[i] : 0;
  }
  return true;
}

static bool window_steps(ir_graph *g, const ir_node *n, const graph_window *w, conv_geom *cg)
{
  bool given = w->n_spatial > 0;
  for (int i = 0; i < cg->nsp; i++) {
    cg->s[i] = given ? w->strides[i] : 1;
    cg->d[i] = given ? w->dilations[i] : 1;
    cg->pb[i] = given ? w->pads[i] : 0;
    cg->pe[i] = given ? w->pads[i + cg->nsp] : 0;
    if (cg->s[i] <= 0 || cg->d[i] <= 0 || cg->k[i] <= 0 || cg->pb[i] < 0 || cg->pe[i] < 0 || cg->k[i] > (1 << 20) ||
        cg->s[i] > (1 << 20) || cg->d[i] > (1 << 20) || cg->pb[i] > (1 << 20) || cg->pe[i] > (1 << 20))
      return graph_fail(g, n, "invalid kernel, stride, dilation or pad in spatial dimension %d", i);
  }
  return true;
}

/* The window w over x's spatial dimensions, before auto padding. */
static bool window_geom(ir_graph *g, const ir_node *n, const graph_window *w, const ir_value *x, const int64_t *weights,
                        conv_geom *cg)
{
  if (x->rank < 3)
    return graph_fail(g, n, "input of rank 3 or more expected");
  cg->nsp = x->rank - 2;
  if (w->n_spatial && w->n_spatial != cg->nsp)
    return graph_fail(g, n, "the window has %d spatial dimensions, the input %d", w->n_spatial, cg->nsp);
  memcpy(cg->in, x->shape + 2, sizeof(int64_t) * (size_t)cg->nsp);
  return window_kernel(g, n, w, weights, cg) && window_steps(g, n, w, cg);
}

/* SAME padding: the output is ceil(input / stride); the odd pad goes to the
 * end (upper) or the beginning. */
static void auto_pad(conv_geom *cg, int i, graph_auto_pad mode, graph_dim_check *c)
{
  int64_t ext = (cg->k[i] - 1) * cg->d[i] + 1;
  if (mode == GRAPH_AUTO_PAD_VALID) {
    cg->pb[i] = cg->pe[i] = 0;
    return;
  }
  int64_t out = graph_dim_div(c, cg->in[i], cg->s[i], true);
  int64_t total = graph_dim_sub(c, graph_dim_add(c, graph_dim_mul(c, out - 1, cg->s[i]), ext), cg->in[i]);
  total = total > 0 ? total : 0;
  cg->pb[i] = mode == GRAPH_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
  cg->pe[i] = total - cg->pb[i];
}

/* Geometry of a convolution or pooling window over x's spatial dimensions. */
static bool conv_geom_of(ir_graph *g, const ir_node *n, const graph_window *w, const ir_value *x,
                         const int64_t *weights, bool ceil_mode, conv_geom *cg)
{
  graph_dim_check c = {false};
  if (!window_geom(g, n, w, x, weights, cg))
    return false;
  for (int i = 0; i < cg->nsp; i++) {
    if (w->auto_pad != GRAPH_AUTO_PAD_NONE)
      auto_pad(cg, i, w->auto_pad, &c);
    int64_t ext = (cg->k[i] - 1) * cg->d[i] + 1;
    int64_t span = graph_dim_sub(&c, graph_dim_add(&c, cg->in[i], cg->pb[i] + cg->pe[i]), ext);
    if (!graph_dim_ok(g, n, &c))
      return false;
    if (span < 0)
      return graph_fail(g, n, "the window is larger than the padded input in spatial dimension %d", i);
    cg->out[i] = graph_dim_div(&c, span, cg->s[i], ceil_mode) + 1;
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
  ir_expr *e = graph_ex_bin(L, IR_MUL, graph_ex_idx(L, o), graph_ex_int(L, cg->s[i]));
  e = graph_ex_bin(L, IR_ADD, e, graph_ex_bin(L, IR_MUL, graph_ex_idx(L, k), graph_ex_int(L, cg->d[i])));
  return graph_ex_bin(L, IR_SUB, e, graph_ex_int(L, cg->pb[i]));
}

/* ------------------------------------------------------------------------
 * Conv
 * ------------------------------------------------------------------------ */

/* The number of groups (0 taken as 1). */
static int64_t groups_of(int64_t groups)
{
  return groups ? groups : 1;
}

bool graph_infer_conv(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0), *w = graph_in(g, n, 1), *b = graph_in(g, n, 2);
  conv_geom cg;
  int64_t group = groups_of(n->p.conv.groups), shape[IR_MAX_RANK];
  if (!w || w->rank != x->rank || group <= 0 || w->shape[0] % group || x->shape[1] != w->shape[1] * group)
    return graph_fail(g, n, "weights do not match the input (channels, group, rank)");
  if (b && (b->rank != 1 || b->shape[0] != w->shape[0]))
    return graph_fail(g, n, "bias must have %lld elements", (long long)w->shape[0]);
  if (!ir_types[x->type].is_float)
    return graph_fail(g, n, "floating-point input expected");
  if (!conv_geom_of(g, n, &n->p.conv.window, x, w->shape + 2, false, &cg))
    return false;
  shape[0] = x->shape[0];
  shape[1] = w->shape[0];
  memcpy(shape + 2, cg.out, sizeof(int64_t) * (size_t)cg.nsp);
  return graph_set_out(g, n, 0, x->type, x->rank, shape);
}

/* Input channel of group member c for output channel m. */
static ir_expr *group_channel(ir_lower *L, int m, int c, int64_t group, int64_t per_out, int64_t per_in)
{
  if (group == 1)
    return graph_ex_idx(L, c);
  ir_expr *g = graph_ex_bin(L, IR_DIV, graph_ex_idx(L, m), graph_ex_int(L, per_out));
  return graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, g, graph_ex_int(L, per_in)), graph_ex_idx(L, c));
}

static bool add_bias(ir_lower *L, const ir_node *n, int y)
{
  if (n->n_in < 3 || n->in[2] < 0)
    return true;
  ir_expr *idx[1] = {graph_ex_idx(L, 1)};
  int64_t hi[IR_MAX_RANK];
  for (int d = 0; d < graph_lw_tensor(L, y)->rank; d++)
    hi[d] = graph_lw_dim(L, y, d);
  return graph_st_emit(L, graph_st_new(L, y, graph_lw_tensor(L, y)->rank, 0, hi), IR_RED_ADD, false,
                       graph_ex_read(L, graph_lw_in(L, n->in[2]), idx, false));
}

bool graph_conv_store_biased(ir_lower *L, const ir_node *n, ir_expr *rhs, int y)
{
  if (n->n_in >= 3 && n->in[2] >= 0) {
    int b = graph_lw_in(L, n->in[2]);
    ir_expr *ib[1] = {graph_ex_idx(L, 1)};
    if (b < 0)
      return false;
    rhs = graph_ex_bin(L, IR_ADD, rhs, graph_ex_read(L, b, ib, false));
  }
  return graph_st_map(L, y, rhs);
}

/* xp(n, c, i, j) = rhs over rows r[0]..r[1] - 1 and columns c[0]..c[1] - 1
 * (nothing when either range is empty). */
static bool padded_band(ir_lower *L, int xp, const int64_t *shape, const int64_t *r, const int64_t *c, ir_expr *rhs)
{
  if (r[0] >= r[1] || c[0] >= c[1])
    return true;
  ir_stmt *s = graph_st_new(L, xp, 4, 0, shape);
  graph_st_range(s, L, 2, r[0], r[1]);
  graph_st_range(s, L, 3, c[0], c[1]);
  return graph_st_emit(L, s, IR_RED_NONE, false, rhs);
}

/* The border zeroed and the interior copied by statements of their own: a
 * plain row copy, where one statement over the whole read the input through
 * a bounds check at every element (ResNet-18's conv1 at batch 8 spent 0.9 ms
 * there). in[0] and in[1]: the interior's rows and columns, within the
 * padded extent (pads are at least 0, window_steps). */
int graph_conv_explicit_padding(ir_lower *L, int x, const conv_geom *cg)
{
  if (!geom_padded(cg))
    return x;
  int64_t shape[4] = {graph_lw_dim(L, x, 0), graph_lw_dim(L, x, 1)}, in[2][2];
  for (int i = 0; i < 2; i++) {
    int64_t ext = shape[2 + i] = (cg->out[i] - 1) * cg->s[i] + (cg->k[i] - 1) * cg->d[i] + 1;
    int64_t end = cg->pb[i] + graph_lw_dim(L, x, 2 + i);
    in[i][0] = cg->pb[i] < ext ? cg->pb[i] : ext;
    in[i][1] = end < ext ? end : ext;
  }
  int xp = graph_lw_temp(L, "padded", IR_F32, 4, shape);
  const int64_t all_cols[2] = {0, shape[3]}, above[2] = {0, in[0][0]}, below[2] = {in[0][1], shape[2]},
                left[2] = {0, in[1][0]}, right[2] = {in[1][1], shape[3]};
  ir_expr *ix[4] = {graph_ex_idx(L, 0), graph_ex_idx(L, 1),
                    graph_ex_bin(L, IR_SUB, graph_ex_idx(L, 2), graph_ex_int(L, cg->pb[0])),
                    graph_ex_bin(L, IR_SUB, graph_ex_idx(L, 3), graph_ex_int(L, cg->pb[1]))};
  bool ok = xp >= 0 && padded_band(L, xp, shape, above, all_cols, graph_ex_flt(L, 0.0, IR_F32)) &&
            padded_band(L, xp, shape, below, all_cols, graph_ex_flt(L, 0.0, IR_F32)) &&
            padded_band(L, xp, shape, in[0], left, graph_ex_flt(L, 0.0, IR_F32)) &&
            padded_band(L, xp, shape, in[0], right, graph_ex_flt(L, 0.0, IR_F32)) &&
            padded_band(L, xp, shape, in[0], in[1], graph_ex_read(L, x, ix, false));
  return ok ? xp : -1;
}

/* Whether Conv n lowers to a packed matrix product (implicit im2col): 2-D,
 * no groups, float32 with constant weights (the images are its batches). */
static bool conv_as_gemm(ir_lower *L, const ir_node *n, const conv_geom *cg)
{
  const ir_value *x = &L->g->values[n->in[0]], *w = &L->g->values[n->in[1]];
  return cg->nsp == 2 && groups_of(n->p.conv.groups) == 1 && x->type == IR_F32 &&
         w->type == IR_F32 && w->data;
}

/* y(n, m, oh, ow) +=! w(m, c, kh, kw) * xp(n, c, oh * s + kh * d, ow * s +
 * kw * d), xp the input with its padding made explicit: a contraction with
 * affine subscripts, which the backend runs as a packed matrix
 * multiplication packing the windows straight from xp (implicit im2col; no
 * column matrix). */
static bool lower_conv_gemm(ir_lower *L, ir_node *n, int x, int y, const conv_geom *cg)
{
  int xp = graph_conv_explicit_padding(L, x, cg), w = graph_lw_in(L, n->in[1]);
  if (xp < 0 || w < 0)
    return false;
  int64_t hi[7] = {graph_lw_dim(L, x, 0), graph_lw_dim(L, w, 0), cg->out[0], cg->out[1], graph_lw_dim(L, w, 1),
                   cg->k[0], cg->k[1]};
  ir_expr *ix[4] = {graph_ex_idx(L, 0), graph_ex_idx(L, 4)},
          *iw[4] = {graph_ex_idx(L, 1), graph_ex_idx(L, 4), graph_ex_idx(L, 5), graph_ex_idx(L, 6)};
  for (int i = 0; i < 2; i++)
    ix[2 + i] = graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, graph_ex_idx(L, 2 + i), graph_ex_int(L, cg->s[i])),
                             graph_ex_bin(L, IR_MUL, graph_ex_idx(L, 5 + i), graph_ex_int(L, cg->d[i])));
  ir_expr *rhs = graph_ex_bin(L, IR_MUL, graph_ex_read(L, w, iw, false), graph_ex_read(L, xp, ix, false));
  return graph_st_emit(L, graph_st_new(L, y, 4, 3, hi), IR_RED_ADD, true, rhs) && add_bias(L, n, y);
}

/* Whether the window is one pixel at every position, unpadded and
 * unstrided (a 1x1 convolution reads its input as a matrix). */
static bool is_pointwise(const conv_geom *cg)
{
  return cg->nsp == 2 && cg->k[0] == 1 && cg->k[1] == 1 && cg->s[0] == 1 && cg->s[1] == 1 && !geom_padded(cg);
}

/* y(n, m, oh, ow) +=! w(m, c, 0, 0) * x(n, c, oh, ow): plain subscripts,
 * so that the pixels of a packed panel are consecutive floats. */
static bool lower_conv_pointwise(ir_lower *L, ir_node *n, int x, int y)
{
  int w = graph_lw_in(L, n->in[1]);
  if (w < 0)
    return false;
  int64_t hi[5] = {graph_lw_dim(L, x, 0), graph_lw_dim(L, w, 0), graph_lw_dim(L, y, 2), graph_lw_dim(L, y, 3),
                   graph_lw_dim(L, w, 1)};
  ir_expr *ix[4] = {graph_ex_idx(L, 0), graph_ex_idx(L, 4), graph_ex_idx(L, 2), graph_ex_idx(L, 3)},
          *iw[4] = {graph_ex_idx(L, 1), graph_ex_idx(L, 4), graph_ex_int(L, 0), graph_ex_int(L, 0)};
  ir_expr *rhs = graph_ex_bin(L, IR_MUL, graph_ex_read(L, w, iw, false), graph_ex_read(L, x, ix, false));
  return graph_st_emit(L, graph_st_new(L, y, 4, 1, hi), IR_RED_ADD, true, rhs) && add_bias(L, n, y);
}

/* Whether Conv n is a 2-D depthwise convolution (one input channel per
 * output channel) with a small float32 kernel, for the window per tap
 * (not in a function grad will differentiate). */
static bool is_depthwise(ir_lower *L, const ir_node *n, const conv_geom *cg)
{
  const ir_value *x = &L->g->values[n->in[0]], *w = &L->g->values[n->in[1]];
  return cg->nsp == 2 && x->type == IR_F32 && w->shape[1] == 1 && w->shape[0] == x->shape[1] &&
         groups_of(n->p.conv.groups) == x->shape[1] && !L->g->differentiable && graph_window_taps_fit(cg);
}

/* The bias b(c) of Conv n, or NULL without one. */
static ir_expr *bias_read(ir_lower *L, const ir_node *n)
{
  ir_expr *ib[1] = {graph_ex_idx(L, 1)};
  int b = n->n_in >= 3 && n->in[2] >= 0 ? graph_lw_in(L, n->in[2]) : -1;
  return b < 0 ? NULL : graph_ex_read(L, b, ib, false);
}

/* Depthwise convolution as one elementwise statement per kernel tap
 * (window_taps.c): y = tap * w (+ bias), then y += tap * w over the outputs
 * each tap reaches inside x; no padded copy. */
static bool lower_conv_depthwise(ir_lower *L, ir_node *n, int x, int y, const conv_geom *cg)
{
  ir_type t = graph_lw_tensor(L, y)->type;
  ir_expr *b = bias_read(L, n);
  graph_taps tp = {x, y, graph_lw_in(L, n->in[1]), IR_RED_ADD, b ? b : graph_ex_const(L, 0, t), bias_read(L, n)};
  return tp.w >= 0 && graph_window_taps(L, &tp, cg);
}

bool graph_lower_conv(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  conv_geom cg;
  if (x < 0 || y < 0 ||
      !conv_geom_of(L->g, n, &n->p.conv.window, &L->g->values[n->in[0]], L->g->values[n->in[1]].shape + 2, false, &cg))
    return false;
  if (n->p.conv.winograd)
    return graph_lower_conv_winograd(L, n, x, y, &cg);
  if (conv_as_gemm(L, n, &cg) && is_pointwise(&cg))
    return lower_conv_pointwise(L, n, x, y);
  if (conv_as_gemm(L, n, &cg))
    return lower_conv_gemm(L, n, x, y, &cg);
  if (is_depthwise(L, n, &cg))
    return lower_conv_depthwise(L, n, x, y, &cg);
  if (graph_conv_is_grouped(L, n, &cg))
    return graph_lower_conv_grouped(L, n, x, y, &cg);
  int w = graph_lw_in(L, n->in[1]);
  if (w < 0)
    return false;
  int r = graph_lw_tensor(L, y)->rank, c = r, k0 = r + 1;
  int64_t group = groups_of(n->p.conv.groups), hi[2 * IR_MAX_RANK];
  for (int d = 0; d < r; d++)
    hi[d] = graph_lw_dim(L, y, d);
  hi[c] = graph_lw_dim(L, w, 1);
  ir_expr *ix[IR_MAX_RANK], *iw[IR_MAX_RANK];
  ix[0] = graph_ex_idx(L, 0);
  ix[1] = group_channel(L, 1, c, group, graph_lw_dim(L, w, 0) / group, graph_lw_dim(L, w, 1));
  iw[0] = graph_ex_idx(L, 1);
  iw[1] = graph_ex_idx(L, c);
  for (int i = 0; i < cg.nsp; i++) {
    hi[k0 + i] = cg.k[i];
    ix[2 + i] = window_pos(L, &cg, i, 2 + i, k0 + i);
    iw[2 + i] = graph_ex_idx(L, k0 + i);
  }
  ir_expr *rhs = graph_ex_bin(L, IR_MUL, graph_ex_read(L, x, ix, geom_padded(&cg)), graph_ex_read(L, w, iw, false));
  return graph_st_emit(L, graph_st_new(L, y, r, 1 + cg.nsp, hi), IR_RED_ADD, true, rhs) && add_bias(L, n, y);
}

/* ------------------------------------------------------------------------
 * ConvTranspose
 * ------------------------------------------------------------------------ */

/* The pads that give output sizes target (output_shape, or input * stride
 * for SAME auto padding) from the full size. */
static void convt_pads(conv_geom *cg, int i, int64_t full, int64_t target, bool upper)
{
  int64_t total = full - target;
  int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
  cg->pb[i] = upper ? half : total - half;
  cg->pe[i] = total - cg->pb[i];
}

static bool convt_geom(ir_graph *g, const ir_node *n, const ir_value *x, const ir_value *w, conv_geom *cg)
{
  const graph_conv_transpose_params *p = &n->p.conv_transpose;
  int os = p->n_output_shape, nsp = x->rank - 2;
  bool same = p->window.auto_pad == GRAPH_AUTO_PAD_SAME_UPPER || p->window.auto_pad == GRAPH_AUTO_PAD_SAME_LOWER;
  graph_dim_check c = {false};
  if (!window_geom(g, n, &p->window, x, w->shape + 2, cg))
    return false;
  if (os && os != nsp && os != x->rank)
    return graph_fail(g, n, "the output shape must list %d sizes", nsp);
  for (int i = 0; i < nsp; i++) {
    int64_t outpad = p->window.n_spatial ? p->output_padding[i] : 0;
    if (outpad < 0 || outpad > (1 << 20))
      return graph_fail(g, n, "invalid output padding in spatial dimension %d", i);
    int64_t full =
        graph_dim_add(&c, graph_dim_mul(&c, cg->s[i], cg->in[i] - 1), outpad + (cg->k[i] - 1) * cg->d[i] + 1);
    if (os || same)
      convt_pads(cg, i, full, os ? p->output_shape[os - nsp + i] : graph_dim_mul(&c, cg->in[i], cg->s[i]),
                 p->window.auto_pad == GRAPH_AUTO_PAD_SAME_UPPER);
    cg->out[i] = graph_dim_sub(&c, full, graph_dim_add(&c, cg->pb[i], cg->pe[i]));
    if (!graph_dim_ok(g, n, &c))
      return false;
    if (cg->out[i] < 0)
      return graph_fail(g, n, "negative output size in spatial dimension %d", i);
  }
  return true;
}

bool graph_infer_convtranspose(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0), *w = graph_in(g, n, 1);
  int64_t group = groups_of(n->p.conv_transpose.groups), shape[IR_MAX_RANK];
  conv_geom cg;
  if (!w || x->rank < 3 || w->rank != x->rank || group <= 0 || x->shape[1] != w->shape[0] || w->shape[0] % group)
    return graph_fail(g, n, "weights do not match the input (channels, group, rank)");
  if (!ir_types[x->type].is_float)
    return graph_fail(g, n, "input type %s is not supported (float only)", ir_types[x->type].name);
  if (!convt_geom(g, n, x, w, &cg))
    return false;
  shape[0] = x->shape[0];
  shape[1] = w->shape[1] * group;
  memcpy(shape + 2, cg.out, sizeof(int64_t) * (size_t)cg.nsp);
  return graph_set_out(g, n, 0, x->type, x->rank, shape);
}

bool graph_lower_convtranspose(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), w = graph_lw_in(L, n->in[1]), y = graph_lw_out(L, n->out[0]);
  conv_geom cg;
  if (x < 0 || w < 0 || y < 0 || !convt_geom(L->g, n, &L->g->values[n->in[0]], &L->g->values[n->in[1]], &cg))
    return false;
  int r = graph_lw_tensor(L, y)->rank, c = r, k0 = r + 1;
  int64_t group = groups_of(n->p.conv_transpose.groups), mg = graph_lw_dim(L, w, 1),
          cgrp = graph_lw_dim(L, x, 1) / group;
  int64_t hi[2 * IR_MAX_RANK];
  for (int d = 0; d < r; d++)
    hi[d] = graph_lw_dim(L, y, d);
  hi[c] = cgrp;
  ir_expr *ix[IR_MAX_RANK], *iw[IR_MAX_RANK], *ok = graph_ex_cast(L, IR_BOOL, graph_ex_int(L, 1));
  ix[0] = graph_ex_idx(L, 0);
  ix[1] = iw[0] = group_channel(L, 1, c, group, mg, cgrp);
  iw[1] = group == 1 ? graph_ex_idx(L, 1) : graph_ex_bin(L, IR_MOD, graph_ex_idx(L, 1), graph_ex_int(L, mg));
  for (int i = 0; i < cg.nsp; i++) {
    hi[k0 + i] = cg.k[i];
    ir_expr *num = graph_ex_bin(L, IR_SUB, graph_ex_bin(L, IR_ADD, graph_ex_idx(L, 2 + i), graph_ex_int(L, cg.pb[i])),
                                graph_ex_bin(L, IR_MUL, graph_ex_idx(L, k0 + i), graph_ex_int(L, cg.d[i])));
    ix[2 + i] = cg.s[i] == 1 ? num : graph_ex_bin(L, IR_DIV, num, graph_ex_int(L, cg.s[i]));
    if (cg.s[i] != 1)
      ok = graph_ex_bin(
          L, IR_AND, ok,
          graph_ex_bin(L, IR_EQ, graph_ex_bin(L, IR_MOD, num, graph_ex_int(L, cg.s[i])), graph_ex_int(L, 0)));
    iw[2 + i] = graph_ex_idx(L, k0 + i);
  }
  ir_type t = graph_lw_tensor(L, y)->type;
  ir_expr *prod = graph_ex_bin(L, IR_MUL, graph_ex_read(L, x, ix, true), graph_ex_read(L, w, iw, false));
  ir_expr *rhs = graph_ex_sel(L, ok, prod, graph_ex_const(L, 0, t));
  return graph_st_emit(L, graph_st_new(L, y, r, 1 + cg.nsp, hi), IR_RED_ADD, true, rhs) && add_bias(L, n, y);
}

/* ------------------------------------------------------------------------
 * MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool
 * ------------------------------------------------------------------------ */

static bool pool_geom(ir_graph *g, const ir_node *n, const ir_value *x, conv_geom *cg)
{
  const graph_pool_params *p = &n->p.pool;
  for (int i = 0; i < p->window.n_spatial; i++)
    if (p->window.kernel[i] <= 0)
      return graph_fail(g, n, "the pooling window needs a kernel size per spatial dimension");
  if (!p->window.n_spatial)
    return graph_fail(g, n, "the pooling window needs a kernel size per spatial dimension");
  return conv_geom_of(g, n, &p->window, x, NULL, p->ceil_mode, cg);
}

bool graph_infer_pool(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  conv_geom cg;
  int64_t shape[IR_MAX_RANK];
  if (graph_out(g, n, 1))
    return graph_fail(g, n, "the second output (the indices of the maxima) is not supported");
  if (!pool_geom(g, n, x, &cg))
    return false;
  if (n->op == GRAPH_OP_AVGPOOL && !ir_types[x->type].is_float)
    return graph_fail(g, n, "floating-point input expected");
  memcpy(shape, x->shape, sizeof(int64_t) * 2);
  memcpy(shape + 2, cg.out, sizeof(int64_t) * (size_t)cg.nsp);
  return graph_set_out(g, n, 0, x->type, x->rank, shape);
}

static ir_expr *lowest(ir_lower *L, ir_type t)
{
  if (ir_types[t].is_float)
    return graph_ex_flt(L, -INFINITY, t);
  if (!ir_types[t].is_signed || t == IR_BOOL)
    return graph_ex_cast(L, t, graph_ex_int(L, 0));
  return graph_ex_cast(L, t, graph_ex_int(L, -((int64_t)1 << (ir_types[t].bytes * 8 - 1))));
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
  return graph_lw_const(L, "count", t, cg->nsp, cg->out, t == IR_F64 ? (void *)cnt : (void *)cnt32);
}

/* Whether every output of an average pool divides by the same count
 * (*count): no padding reached, or padding counted everywhere. */
static bool pool_count_uniform(const conv_geom *cg, bool include_pad, int64_t *count)
{
  *count = 1;
  for (int i = 0; i < cg->nsp; i++) {
    bool over = (cg->out[i] - 1) * cg->s[i] + (cg->k[i] - 1) * cg->d[i] >= cg->in[i] + cg->pb[i] + cg->pe[i];
    if (over || (!include_pad && geom_padded(cg)))
      return false;
    *count *= cg->k[i];
  }
  return true;
}

/* y = y / count: a constant, or a table over the spatial output shape. */
static bool pool_divide(ir_lower *L, const ir_node *n, const conv_geom *cg, int y)
{
  ir_type t = graph_lw_tensor(L, y)->type;
  int64_t count;
  if (pool_count_uniform(cg, n->p.pool.count_include_pad, &count))
    return graph_st_map(L, y, graph_ex_bin(L, IR_DIV, graph_ex_at(L, y, 0), graph_ex_const(L, (double)count, t)));
  int cnt = pool_counts(L, cg, n->p.pool.count_include_pad, t);
  ir_expr *ic[IR_MAX_RANK];
  for (int i = 0; i < cg->nsp; i++)
    ic[i] = graph_ex_idx(L, 2 + i);
  return cnt >= 0 &&
         graph_st_map(L, y, graph_ex_bin(L, IR_DIV, graph_ex_at(L, y, 0), graph_ex_read(L, cnt, ic, false)));
}

/* Pooling as one statement per window tap (window_taps.c): max from -inf,
 * or a sum from 0 then the division by the count. */
static bool lower_pool_taps(ir_lower *L, const ir_node *n, int x, int y, const conv_geom *cg)
{
  ir_type t = graph_lw_tensor(L, y)->type;
  bool is_max = n->op == GRAPH_OP_MAXPOOL;
  graph_taps tp = {x, y, -1, is_max ? IR_RED_MAX : IR_RED_ADD, is_max ? lowest(L, t) : graph_ex_const(L, 0, t), NULL};
  return graph_window_taps(L, &tp, cg) && (is_max || pool_divide(L, n, cg, y));
}

bool graph_lower_pool(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]), y = graph_lw_out(L, n->out[0]);
  conv_geom cg;
  if (x < 0 || y < 0 || !pool_geom(L->g, n, &L->g->values[n->in[0]], &cg))
    return false;
  if (!L->g->differentiable && graph_window_taps_fit(&cg))
    return lower_pool_taps(L, n, x, y, &cg);
  int r = graph_lw_tensor(L, y)->rank, k0 = r;
  int64_t hi[2 * IR_MAX_RANK];
  ir_type t = graph_lw_tensor(L, y)->type;
  bool pad = geom_padded(&cg), is_max = n->op == GRAPH_OP_MAXPOOL;
  ir_expr *ix[IR_MAX_RANK], *inside = graph_ex_cast(L, IR_BOOL, graph_ex_int(L, 1));
  for (int d = 0; d < r; d++)
    hi[d] = graph_lw_dim(L, y, d);
  ix[0] = graph_ex_idx(L, 0);
  ix[1] = graph_ex_idx(L, 1);
  for (int i = 0; i < cg.nsp; i++) {
    hi[k0 + i] = cg.k[i];
    ix[2 + i] = window_pos(L, &cg, i, 2 + i, k0 + i);
    inside = graph_ex_bin(L, IR_AND, inside, graph_ex_in_range(L, ix[2 + i], 0, cg.in[i]));
  }
  ir_expr *v = graph_ex_read(L, x, ix, pad);
  if (is_max)
    return graph_st_emit(L, graph_st_new(L, y, r, cg.nsp, hi), IR_RED_MAX, true,
                         pad ? graph_ex_sel(L, inside, v, lowest(L, t)) : v);
  if (!graph_st_emit(L, graph_st_new(L, y, r, cg.nsp, hi), IR_RED_ADD, true, v))
    return false;
  int cnt = pool_counts(L, &cg, n->p.pool.count_include_pad, t);
  ir_expr *ic[IR_MAX_RANK];
  for (int i = 0; i < cg.nsp; i++)
    ic[i] = graph_ex_idx(L, 2 + i);
  return graph_st_map(L, y, graph_ex_bin(L, IR_DIV, graph_ex_at(L, y, 0), graph_ex_read(L, cnt, ic, false)));
}
