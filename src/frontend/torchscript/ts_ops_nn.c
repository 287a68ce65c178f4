/* ts_ops_nn.c: TorchScript's network operators through the op library:
 * linear and addmm (gemm), matmul/bmm/mm, _convolution and conv2d
 * (transposed too), batch_norm and layer_norm (inference), max/avg
 * pooling and adaptive average pooling, softmax, log_softmax, embedding,
 * and the activations composed of graph ops (gelu with erf or tanh, silu,
 * hardtanh and relu6 as clips, leaky_relu). */
#include "ts_graph.h"

#include <math.h>
#include <string.h>

static ts_x *made_v(ts_interp *I, const ts_call *c, int v, int *out)
{
  ts_x *r = ts_made(I, c, v);
  *out = r ? r->u.t->v : -1;
  return r;
}

/* ------------------------------------------------------------------------
 * Matrix products
 * ------------------------------------------------------------------------ */

/* x (..., in) times w (out, in) transposed, plus b: a gemm on x seen as a
 * matrix, reshaped back. */
ts_x *ts_op_linear(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "input"), w = x >= 0 ? ts_arg_tensor(I, c, 1, "weight") : -1;
  int b = ts_arg_opt_tensor(I, c, 2, "bias"), y;
  if (w < 0)
    return NULL;
  const ir_value *xv = ts_value_of(I, x), *wv = ts_value_of(I, w);
  if (wv->rank != 2 || xv->rank < 1 || wv->shape[1] < 1 || xv->shape[xv->rank - 1] != wv->shape[1])
    return ts_fail(I, c->node, "%s: input (..., %lld) and weight (out, in) do not fit", c->op,
                   (long long)(xv->rank ? xv->shape[xv->rank - 1] : 0));
  int64_t shape[IR_MAX_RANK], rows = ir_value_numel(xv) / wv->shape[1];
  int rank = xv->rank;
  memcpy(shape, xv->shape, sizeof(int64_t) * (size_t)rank);
  shape[rank - 1] = wv->shape[0];
  int m = rank == 2 ? x : ts_reshape(I, c, x, 2, (int64_t[]){rows, wv->shape[1]});
  graph_gemm_params p = {.trans_b = true, .alpha = 1.0, .beta = 1.0};
  if (m < 0 || !made_v(I, c, graph_gemm(I->g, m, w, b, &p), &y))
    return NULL;
  return rank == 2 ? ts_tensor_x(I, y) : ts_tensor_x(I, ts_reshape(I, c, y, rank, shape));
}

ts_x *ts_op_matmul(ts_interp *I, const ts_call *c)
{
  int a = ts_arg_tensor(I, c, 0, "self"), b = a >= 0 ? ts_arg_tensor(I, c, 1, "other") : -1;
  return b < 0 ? NULL : ts_made(I, c, graph_matmul(I->g, a, b));
}

/* beta * c + alpha * a b */
ts_x *ts_op_addmm(ts_interp *I, const ts_call *c)
{
  int bias = ts_arg_tensor(I, c, 0, "self"), a = bias >= 0 ? ts_arg_tensor(I, c, 1, "mat1") : -1;
  int b = a >= 0 ? ts_arg_tensor(I, c, 2, "mat2") : -1;
  graph_gemm_params p = {.alpha = 1.0, .beta = 1.0};
  if (b < 0 || !ts_arg_float(I, c, 3, "beta", 1.0, &p.beta) || !ts_arg_float(I, c, 4, "alpha", 1.0, &p.alpha))
    return NULL;
  return ts_made(I, c, graph_gemm(I->g, a, b, bias, &p));
}

/* ------------------------------------------------------------------------
 * Windows: convolution and pooling
 * ------------------------------------------------------------------------ */

/* A list of n values from argument k (one value repeated; absent: dflt). */
static bool window_list(ts_interp *I, const ts_call *c, int k, const char *name, int n, int64_t dflt, int64_t *out)
{
  int64_t vals[IR_MAX_RANK];
  int got = IR_MAX_RANK;
  if (!ts_arg_ints(I, c, k, name, vals, &got))
    return false;
  if (got != 0 && got != 1 && got != n) {
    ts_fail(I, c->node, "%s: %s has %d values for %d spatial dimensions", c->op, name, got, n);
    return false;
  }
  for (int d = 0; d < n; d++)
    out[d] = got == 0 ? dflt : got == 1 ? vals[0] : vals[d];
  return true;
}

/* padding: a list, or (conv2d) the strings "valid" and "same". */
static bool window_pads(ts_interp *I, const ts_call *c, int k, graph_window *w)
{
  ts_x *p = ts_arg(c, k, "padding");
  int64_t pads[IR_MAX_RANK];
  if (p && p->kind == TS_X_STR) {
    w->auto_pad = !strcmp(p->u.s, "same") ? GRAPH_AUTO_PAD_SAME_UPPER : GRAPH_AUTO_PAD_VALID;
    return true;
  }
  if (!window_list(I, c, k, "padding", w->n_spatial, 0, pads))
    return false;
  for (int d = 0; d < w->n_spatial; d++)
    w->pads[d] = w->pads[d + w->n_spatial] = pads[d];
  return true;
}

static bool spatial_rank(ts_interp *I, const ts_call *c, int x, int *n)
{
  *n = ts_value_of(I, x)->rank - 2;
  if (*n < 1 || *n > IR_MAX_RANK - 2) {
    ts_fail(I, c->node, "%s: input of rank 3 or more expected", c->op);
    return false;
  }
  return true;
}

/* conv args from position `first`: stride, padding, dilation. */
static bool conv_window(ts_interp *I, const ts_call *c, int first, int x, graph_window *w)
{
  if (!spatial_rank(I, c, x, &w->n_spatial))
    return false;
  return window_list(I, c, first, "stride", w->n_spatial, 1, w->strides) && window_pads(I, c, first + 1, w) &&
         window_list(I, c, first + 2, "dilation", w->n_spatial, 1, w->dilations);
}

static ts_x *conv_transposed(ts_interp *I, const ts_call *c, int in[3], const graph_window *w, int64_t groups)
{
  graph_params p = {.conv_transpose = {.window = *w, .groups = groups}};
  if (!window_list(I, c, 7, "output_padding", w->n_spatial, 0, p.conv_transpose.output_padding))
    return NULL;
  return ts_made(I, c, graph_node(I->g, GRAPH_OP_CONV_TRANSPOSE, in, in[2] >= 0 ? 3 : 2, &p));
}

/* _convolution(x, w, b, stride, padding, dilation, transposed,
 * output_padding, groups, benchmark, deterministic, cudnn, allow_tf32) */
ts_x *ts_op_convolution(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "input"), w = x >= 0 ? ts_arg_tensor(I, c, 1, "weight") : -1;
  int b = ts_arg_opt_tensor(I, c, 2, "bias");
  graph_conv_params p = {.groups = 1};
  bool transposed;
  if (w < 0 || !conv_window(I, c, 3, x, &p.window) || !ts_arg_bool(I, c, 6, "transposed", false, &transposed) ||
      !ts_arg_int(I, c, 8, "groups", 1, &p.groups))
    return NULL;
  if (transposed)
    return conv_transposed(I, c, (int[]){x, w, b}, &p.window, p.groups);
  return ts_made(I, c, graph_conv(I->g, x, w, b, &p));
}

/* conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) */
ts_x *ts_op_conv2d(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "input"), w = x >= 0 ? ts_arg_tensor(I, c, 1, "weight") : -1;
  int b = ts_arg_opt_tensor(I, c, 2, "bias");
  graph_conv_params p = {.groups = 1};
  if (w < 0 || !conv_window(I, c, 3, x, &p.window) || !ts_arg_int(I, c, 6, "groups", 1, &p.groups))
    return NULL;
  return ts_made(I, c, graph_conv(I->g, x, w, b, &p));
}

/* max_pool2d(x, kernel, stride=kernel, padding=0, dilation=1, ceil_mode) */
ts_x *ts_op_max_pool2d(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  graph_pool_params p = {0};
  graph_window *w = &p.window;
  if (x < 0 || !spatial_rank(I, c, x, &w->n_spatial) ||
      !window_list(I, c, 1, "kernel_size", w->n_spatial, 1, w->kernel) ||
      !window_list(I, c, 2, "stride", w->n_spatial, 0, w->strides) || !window_pads(I, c, 3, w) ||
      !window_list(I, c, 4, "dilation", w->n_spatial, 1, w->dilations) ||
      !ts_arg_bool(I, c, 5, "ceil_mode", false, &p.ceil_mode))
    return NULL;
  for (int d = 0; d < w->n_spatial; d++)
    w->strides[d] = w->strides[d] ? w->strides[d] : w->kernel[d];
  return ts_made(I, c, graph_maxpool(I->g, x, &p));
}

/* avg_pool2d(x, kernel, stride=kernel, padding=0, ceil_mode, count_include_pad=True, divisor_override) */
ts_x *ts_op_avg_pool2d(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  graph_pool_params p = {0};
  graph_window *w = &p.window;
  ts_x *divisor = ts_arg(c, 6, "divisor_override");
  if (x < 0 || !spatial_rank(I, c, x, &w->n_spatial) ||
      !window_list(I, c, 1, "kernel_size", w->n_spatial, 1, w->kernel) ||
      !window_list(I, c, 2, "stride", w->n_spatial, 0, w->strides) || !window_pads(I, c, 3, w) ||
      !ts_arg_bool(I, c, 4, "ceil_mode", false, &p.ceil_mode) ||
      !ts_arg_bool(I, c, 5, "count_include_pad", true, &p.count_include_pad))
    return NULL;
  if (divisor && divisor->kind != TS_X_NONE)
    return ts_fail(I, c->node, "%s: divisor_override is not supported", c->op);
  for (int d = 0; d < w->n_spatial; d++) {
    w->strides[d] = w->strides[d] ? w->strides[d] : w->kernel[d];
    w->dilations[d] = 1;
  }
  return ts_made(I, c, graph_avgpool(I->g, x, &p));
}

/* Output sizes 1: a global average; sizes dividing the input: an average
 * pool with window and stride input / output. */
ts_x *ts_op_adaptive_avg_pool2d(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self"), n;
  int64_t out[IR_MAX_RANK];
  bool ones = true;
  if (x < 0 || !spatial_rank(I, c, x, &n) || !window_list(I, c, 1, "output_size", n, 1, out))
    return NULL;
  const ir_value *v = ts_value_of(I, x);
  graph_pool_params p = {.window = {.n_spatial = n}};
  for (int d = 0; d < n; d++) {
    int64_t in = v->shape[d + 2];
    ones &= out[d] == 1;
    if (out[d] < 1 || in % out[d])
      return ts_fail(I, c->node, "%s: output size %lld does not divide input size %lld (not supported yet)", c->op,
                     (long long)out[d], (long long)in);
    p.window.kernel[d] = p.window.strides[d] = in / out[d];
    p.window.dilations[d] = 1;
  }
  return ts_made(I, c, ones ? graph_global_avgpool(I->g, x) : graph_avgpool(I->g, x, &p));
}

/* ------------------------------------------------------------------------
 * Normalisation
 * ------------------------------------------------------------------------ */

/* An absent weight or bias: a constant of `value` of the given shape. */
static int filled(ts_interp *I, int rank, const int64_t *shape, double value)
{
  int64_t n = 1;
  for (int d = 0; d < rank; d++)
    n *= shape[d];
  float *data = IR_NEW_ARRAY(I->ctx, float, n);
  for (int64_t k = 0; data && k < n; k++)
    data[k] = (float)value;
  int v = data ? graph_constant(I->g, "ts_fill", IR_F32, rank, shape, data) : -1;
  if (v >= 0)
    I->g->values[v].internal = true;
  return v;
}

/* batch_norm(x, weight, bias, mean, var, training, momentum, eps, cudnn) */
ts_x *ts_op_batch_norm(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "input");
  int mean = x >= 0 ? ts_arg_tensor(I, c, 3, "running_mean") : -1;
  int var = mean >= 0 ? ts_arg_tensor(I, c, 4, "running_var") : -1;
  int w = ts_arg_opt_tensor(I, c, 1, "weight"), b = ts_arg_opt_tensor(I, c, 2, "bias");
  double eps;
  bool training;
  if (var < 0 || !ts_arg_bool(I, c, 5, "training", false, &training) || !ts_arg_float(I, c, 7, "eps", 1e-5, &eps))
    return NULL;
  if (training)
    return ts_fail(I, c->node, "%s in training mode: save the model after model.eval()", c->op);
  const ir_value *m = ts_value_of(I, mean);
  if ((w < 0 && (w = filled(I, m->rank, m->shape, 1.0)) < 0) || (b < 0 && (b = filled(I, m->rank, m->shape, 0.0)) < 0))
    return NULL;
  return ts_made(I, c, graph_batchnorm(I->g, x, w, b, mean, var, eps));
}

/* layer_norm(x, normalized_shape, weight, bias, eps, cudnn) */
ts_x *ts_op_layer_norm(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "input"), n = IR_MAX_RANK;
  int64_t shape[IR_MAX_RANK];
  graph_params p = {.layernorm = {.stash_type = IR_F32}};
  if (x < 0 || !ts_arg_ints(I, c, 1, "normalized_shape", shape, &n) ||
      !ts_arg_float(I, c, 4, "eps", 1e-5, &p.layernorm.epsilon))
    return NULL;
  const ir_value *v = ts_value_of(I, x);
  if (n < 1 || n > v->rank)
    return ts_fail(I, c->node, "%s: normalized_shape has %d dimensions for an input of rank %d", c->op, n, v->rank);
  for (int k = 0; k < n; k++)
    if (shape[k] != v->shape[v->rank - n + k])
      return ts_fail(I, c->node, "%s: normalized_shape is not the input's last dimensions", c->op);
  p.layernorm.axis = v->rank - n;
  int w = ts_arg_opt_tensor(I, c, 2, "weight"), b = ts_arg_opt_tensor(I, c, 3, "bias");
  if ((w < 0 && (w = filled(I, n, shape, 1.0)) < 0) || (b < 0 && (b = filled(I, n, shape, 0.0)) < 0))
    return NULL;
  int in[3] = {x, w, b};
  return ts_made(I, c, graph_node(I->g, GRAPH_OP_LAYERNORM, in, 3, &p));
}

/* ------------------------------------------------------------------------
 * Softmax, embedding
 * ------------------------------------------------------------------------ */

static ts_x *softmax_like(ts_interp *I, const ts_call *c, graph_op op)
{
  int x = ts_arg_tensor(I, c, 0, "self"), d;
  int64_t dim;
  if (x < 0 || !ts_arg_int(I, c, 1, "dim", -1, &dim) || !ts_dim(I, c, dim, ts_value_of(I, x)->rank, &d))
    return NULL;
  graph_params p = {.softmax = {.axis = d}};
  return ts_made(I, c, graph_node(I->g, op, &x, 1, &p));
}

ts_x *ts_op_softmax(ts_interp *I, const ts_call *c)
{
  return softmax_like(I, c, GRAPH_OP_SOFTMAX);
}

ts_x *ts_op_log_softmax(ts_interp *I, const ts_call *c)
{
  return softmax_like(I, c, GRAPH_OP_LOG_SOFTMAX);
}

/* embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse);
 * floating-point indices (an input given by --shape is float32) are cast. */
ts_x *ts_op_embedding(ts_interp *I, const ts_call *c)
{
  int w = ts_arg_tensor(I, c, 0, "weight"), i = w >= 0 ? ts_arg_tensor(I, c, 1, "indices") : -1;
  graph_params p = {.axis = {.axis = 0}};
  if (i >= 0 && ir_types[ts_value_of(I, i)->type].is_float && !made_v(I, c, graph_cast(I->g, i, IR_I64), &i))
    return NULL;
  int in[2] = {w, i};
  return i < 0 ? NULL : ts_made(I, c, graph_node(I->g, GRAPH_OP_GATHER, in, 2, &p));
}

/* ------------------------------------------------------------------------
 * Activations
 * ------------------------------------------------------------------------ */

static ts_x *unary(ts_interp *I, const ts_call *c, graph_op op, ts_x *x)
{
  return x ? ts_made(I, c, graph_unary(I->g, op, x->u.t->v)) : NULL;
}

static ts_x *times(ts_interp *I, const ts_call *c, ts_x *x, double k)
{
  return x ? ts_binary(I, c, GRAPH_OP_MUL, x, ts_float_x(I, k)) : NULL;
}

static ts_x *plus(ts_interp *I, const ts_call *c, ts_x *x, double k)
{
  return x ? ts_binary(I, c, GRAPH_OP_ADD, x, ts_float_x(I, k)) : NULL;
}

static ts_x *product(ts_interp *I, const ts_call *c, ts_x *a, ts_x *b)
{
  return a && b ? ts_binary(I, c, GRAPH_OP_MUL, a, b) : NULL;
}

/* gelu: x/2 (1 + erf(x / sqrt 2)), or with approximate="tanh"
 * x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
ts_x *ts_op_gelu(ts_interp *I, const ts_call *c)
{
  ts_x *x = ts_arg(c, 0, "self"), *mode = ts_arg(c, 1, "approximate");
  if (!x || x->kind != TS_X_TENSOR)
    return ts_fail(I, c->node, "%s: input must be a tensor", c->op);
  ts_x *inner;
  if (mode && mode->kind == TS_X_STR && !strcmp(mode->u.s, "tanh")) {
    ts_x *cube = product(I, c, product(I, c, x, x), x);
    ts_x *sum = cube ? ts_binary(I, c, GRAPH_OP_ADD, x, times(I, c, cube, 0.044715)) : NULL;
    inner = unary(I, c, GRAPH_OP_TANH, times(I, c, sum, sqrt(2.0 / M_PI)));
  } else {
    inner = unary(I, c, GRAPH_OP_ERF, times(I, c, x, 1.0 / sqrt(2.0)));
  }
  return product(I, c, times(I, c, x, 0.5), plus(I, c, inner, 1.0));
}

ts_x *ts_op_silu(ts_interp *I, const ts_call *c)
{
  ts_x *x = ts_arg(c, 0, "self");
  if (!x || x->kind != TS_X_TENSOR)
    return ts_fail(I, c->node, "%s: input must be a tensor", c->op);
  return ts_result(c, product(I, c, x, unary(I, c, GRAPH_OP_SIGMOID, x)));
}

static ts_x *clip(ts_interp *I, const ts_call *c, int x, double lo, double hi)
{
  ir_type t = ts_value_of(I, x)->type;
  int in[3] = {x, ts_scalar_const(I, t, lo), ts_scalar_const(I, t, hi)};
  if (in[1] < 0 || in[2] < 0)
    return NULL;
  return ts_result(c, ts_made(I, c, graph_node(I->g, GRAPH_OP_CLIP, in, 3, NULL)));
}

/* hardtanh(x, min_val=-1, max_val=1) */
ts_x *ts_op_hardtanh(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  double lo, hi;
  if (x < 0 || !ts_arg_float(I, c, 1, "min_val", -1.0, &lo) || !ts_arg_float(I, c, 2, "max_val", 1.0, &hi))
    return NULL;
  return clip(I, c, x, lo, hi);
}

ts_x *ts_op_relu6(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  return x < 0 ? NULL : clip(I, c, x, 0.0, 6.0);
}

/* leaky_relu(x, negative_slope=0.01) */
ts_x *ts_op_leaky_relu(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  graph_params p = {0};
  if (x < 0 || !ts_arg_float(I, c, 1, "negative_slope", 0.01, &p.act.alpha))
    return NULL;
  return ts_result(c, ts_made(I, c, graph_node(I->g, GRAPH_OP_LEAKY_RELU, &x, 1, &p)));
}
