/* ops.c: the op library shared by the model frontends: the per-op table
 * (shape inference, lowering, constant inputs) and the helpers every shape
 * inference uses (checked size arithmetic, the memory budget, broadcasting).
 * The operators are in ops_eltwise.c, ops_shape.c, ops_data.c, ops_nn.c,
 * ops_conv.c, ops_resize.c, ops_loss.c and ops_misc.c; the builders of
 * lowerings in ops_lower.c. */
#include "ops_internal.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Inference helpers
 * ------------------------------------------------------------------------ */

ir_value *graph_in(ir_graph *g, const ir_node *n, int k)
{
  return k < n->n_in && n->in[k] >= 0 ? &g->values[n->in[k]] : NULL;
}

ir_value *graph_out(ir_graph *g, const ir_node *n, int k)
{
  return k < n->n_out && n->out[k] >= 0 ? &g->values[n->out[k]] : NULL;
}

bool graph_fail(ir_graph *g, const ir_node *n, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  aotc_error(g->ctx, n->loc, "node '%s' (%s): %s", n->name, graph_node_op_name(n), msg);
  return false;
}

/* ------------------------------------------------------------------------
 * Overflow-checked size arithmetic
 * ------------------------------------------------------------------------ */

int64_t graph_dim_add(graph_dim_check *c, int64_t a, int64_t b)
{
  int64_t r;
  c->overflow |= __builtin_add_overflow(a, b, &r);
  return c->overflow ? 0 : r;
}

int64_t graph_dim_sub(graph_dim_check *c, int64_t a, int64_t b)
{
  int64_t r;
  c->overflow |= __builtin_sub_overflow(a, b, &r);
  return c->overflow ? 0 : r;
}

int64_t graph_dim_mul(graph_dim_check *c, int64_t a, int64_t b)
{
  int64_t r;
  c->overflow |= __builtin_mul_overflow(a, b, &r);
  return c->overflow ? 0 : r;
}

int64_t graph_dim_div(graph_dim_check *c, int64_t a, int64_t b, bool ceil)
{
  if (b <= 0)
    c->overflow = true;
  if (c->overflow)
    return 0;
  int64_t q = a / b, r = a % b;
  return q + (ceil ? r > 0 : -(r < 0));
}

bool graph_dim_ok(ir_graph *g, const ir_node *n, const graph_dim_check *c)
{
  return !c->overflow || graph_fail(g, n, "size arithmetic overflows: a dimension, pad, stride or count is too large");
}

/* ------------------------------------------------------------------------
 * Outputs: shapes and the memory budget
 * ------------------------------------------------------------------------ */

bool graph_set_out(ir_graph *g, const ir_node *n, int k, ir_type type, int rank, const int64_t *shape)
{
  ir_value *v = graph_out(g, n, k);
  if (!v)
    return true;
  if (rank < 0 || rank > IR_MAX_RANK)
    return graph_fail(g, n, "output rank %d is not supported", rank);
  v->type = type;
  v->rank = rank;
  for (int d = 0; d < rank; d++) {
    if (shape[d] < 0)
      return graph_fail(g, n, "output dimension %d is negative (%lld)", d, (long long)shape[d]);
    v->shape[d] = shape[d];
  }
  int64_t numel = ir_value_numel(v);
  size_t bytes = ir_value_bytes(v);
  if (numel < 0)
    return graph_fail(g, n, "output '%s' has too many elements (the product of its dimensions overflows)", v->name);
  if (bytes > g->max_bytes)
    return graph_fail(g, n,
                      "output '%s' needs %zu bytes (%lld elements of %s), more than the memory budget of %zu bytes",
                      v->name, bytes, (long long)numel, ir_types[type].name, g->max_bytes);
  return true;
}

/* ------------------------------------------------------------------------
 * Axes, constant inputs and broadcasting
 * ------------------------------------------------------------------------ */

bool graph_axis(ir_graph *g, const ir_node *n, int64_t axis, int rank, int *out)
{
  if (axis < -rank || axis >= (rank ? rank : 1))
    return graph_fail(g, n, "axis %lld is out of range for rank %d", (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return true;
}

int64_t graph_const_int(const ir_value *v, int64_t k)
{
  switch (v->type) {
  case IR_BOOL: return ((const bool *)v->data)[k];
  case IR_U8: return ((const uint8_t *)v->data)[k];
  case IR_I8: return ((const int8_t *)v->data)[k];
  case IR_U16: return ((const uint16_t *)v->data)[k];
  case IR_I16: return ((const int16_t *)v->data)[k];
  case IR_U32: return ((const uint32_t *)v->data)[k];
  case IR_I32: return ((const int32_t *)v->data)[k];
  case IR_U64:
    return (int64_t)(((const uint64_t *)v->data)[k] > INT64_MAX ? INT64_MAX : ((const uint64_t *)v->data)[k]);
  case IR_F32: return ir_saturate_i64(((const float *)v->data)[k]);
  case IR_F64: return ir_saturate_i64(((const double *)v->data)[k]);
  default: return ((const int64_t *)v->data)[k];
  }
}

bool graph_const_list(ir_graph *g, const ir_node *n, int k, int64_t *out, int *count, bool *present)
{
  *present = false;
  *count = 0;
  const ir_value *v = graph_in(g, n, k);
  if (!v)
    return true;
  int64_t numel = ir_value_numel(v);
  if (v->rank > 1 || numel > IR_MAX_RANK || !v->data || ir_types[v->type].is_float)
    return graph_fail(g, n, "input %d ('%s') must be a constant list of at most %d integers", k, v->name, IR_MAX_RANK);
  for (int64_t j = 0; j < numel; j++)
    out[j] = graph_const_int(v, j);
  *count = (int)numel;
  *present = true;
  return true;
}

bool graph_broadcast(ir_graph *g, const ir_node *n, int rank_a, const int64_t *a, int rank_b, const int64_t *b,
                     int *rank, int64_t *out)
{
  int r = rank_a > rank_b ? rank_a : rank_b;
  int64_t res[IR_MAX_RANK];
  for (int d = 0; d < r; d++) {
    int64_t x = d - (r - rank_a) >= 0 ? a[d - (r - rank_a)] : 1;
    int64_t y = d - (r - rank_b) >= 0 ? b[d - (r - rank_b)] : 1;
    if (x != y && x != 1 && y != 1)
      return graph_fail(g, n, "shapes do not broadcast: dimension %d is %lld and %lld", d, (long long)x, (long long)y);
    res[d] = x == 1 ? y : x;
  }
  memcpy(out, res, sizeof(int64_t) * (size_t)r);
  *rank = r;
  return true;
}

/* ------------------------------------------------------------------------
 * The op table
 * ------------------------------------------------------------------------ */

typedef struct op_def {
  graph_infer_fn infer;
  graph_lower_fn lower;
  unsigned const_inputs; /* bit k: input k must be constant (its value determines a shape) */
} op_def;

static const op_def op_defs[] = {
    [GRAPH_OP_ABS] = {graph_infer_same, graph_lower_unary, 0},
    [GRAPH_OP_ACOS] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_ACOSH] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_ADD] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_AND] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_ARGMAX] = {graph_infer_argmax, graph_lower_argmax, 0},
    [GRAPH_OP_ARGMIN] = {graph_infer_argmax, graph_lower_argmax, 0},
    [GRAPH_OP_ASIN] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_ASINH] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_ATAN] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_ATANH] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_AVGPOOL] = {graph_infer_pool, graph_lower_pool, 0},
    [GRAPH_OP_BATCHNORM] = {graph_infer_batchnorm, graph_lower_batchnorm, 0},
    [GRAPH_OP_CAST] = {graph_infer_cast, graph_lower_cast, 0},
    [GRAPH_OP_CAST_LIKE] = {graph_infer_cast, graph_lower_cast, 0},
    [GRAPH_OP_CEIL] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_CELU] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_CLIP] = {graph_infer_clip, graph_lower_clip, 0},
    [GRAPH_OP_CONCAT] = {graph_infer_concat, graph_lower_concat, 0},
    [GRAPH_OP_FILL] = {graph_infer_fill, NULL, 1},
    [GRAPH_OP_CONV] = {graph_infer_conv, graph_lower_conv, 0},
    [GRAPH_OP_CONV_TRANSPOSE] = {graph_infer_convtranspose, graph_lower_convtranspose, 0},
    [GRAPH_OP_COS] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_COSH] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_CUMSUM] = {graph_infer_cumsum, graph_lower_cumsum, 2},
    [GRAPH_OP_DEPTH_TO_SPACE] = {graph_infer_depth_space, graph_lower_depth_space, 0},
    [GRAPH_OP_DEQUANTIZE] = {graph_infer_quantize, graph_lower_quantize, 0},
    [GRAPH_OP_DIV] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_DROPOUT] = {graph_infer_dropout, graph_lower_identity, 4},
    [GRAPH_OP_ELU] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_EINSUM] = {graph_infer_einsum, graph_lower_einsum, 0},
    [GRAPH_OP_EQUAL] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_ERF] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_EXP] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_EXPAND] = {graph_infer_expand, graph_lower_expand, 2},
    [GRAPH_OP_EYE] = {graph_infer_eyelike, graph_lower_eyelike, 0},
    [GRAPH_OP_FLATTEN] = {graph_infer_flatten, graph_lower_reshape, 0},
    [GRAPH_OP_FLOOR] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_GATHER] = {graph_infer_gather, graph_lower_gather, 0},
    [GRAPH_OP_GATHER_ELEMENTS] = {graph_infer_gather, graph_lower_gather, 0},
    [GRAPH_OP_GATHER_ND] = {graph_infer_gathernd, graph_lower_gathernd, 0},
    [GRAPH_OP_GEMM] = {graph_infer_gemm, graph_lower_gemm, 0},
    [GRAPH_OP_GLOBAL_AVGPOOL] = {graph_infer_global_pool, graph_lower_global_pool, 0},
    [GRAPH_OP_GLOBAL_MAXPOOL] = {graph_infer_global_pool, graph_lower_global_pool, 0},
    [GRAPH_OP_GREATER] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_GREATER_EQUAL] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_HARDMAX] = {graph_infer_softmax, graph_lower_softmax, 0},
    [GRAPH_OP_HARD_SIGMOID] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_HARD_SWISH] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_IDENTITY] = {graph_infer_same, graph_lower_identity, 0},
    [GRAPH_OP_IF] = {graph_infer_if, graph_lower_if, 0},
    [GRAPH_OP_INSTANCENORM] = {graph_infer_instancenorm, graph_lower_instancenorm, 0},
    [GRAPH_OP_ISINF] = {graph_infer_isx, graph_lower_unary, 0},
    [GRAPH_OP_ISNAN] = {graph_infer_isx, graph_lower_unary, 0},
    [GRAPH_OP_LAYERNORM] = {graph_infer_layernorm, graph_lower_layernorm, 0},
    [GRAPH_OP_LEAKY_RELU] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_LRN] = {graph_infer_lrn, graph_lower_lrn, 0},
    [GRAPH_OP_LESS] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_LESS_EQUAL] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_LOG] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_LOG_SOFTMAX] = {graph_infer_softmax, graph_lower_softmax, 0},
    [GRAPH_OP_LOOP] = {graph_infer_loop, graph_lower_loop, 0},
    [GRAPH_OP_MATMUL] = {graph_infer_matmul, graph_lower_matmul, 0},
    [GRAPH_OP_MAX] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_MAXPOOL] = {graph_infer_pool, graph_lower_pool, 0},
    [GRAPH_OP_MEAN] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_MIN] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_MISH] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_MOD] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_MUL] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_NEG] = {graph_infer_same, graph_lower_unary, 0},
    [GRAPH_OP_NLL_LOSS] = {graph_infer_loss, graph_lower_loss, 0},
    [GRAPH_OP_NOT] = {graph_infer_bool_unary, graph_lower_unary, 0},
    [GRAPH_OP_ONE_HOT] = {graph_infer_onehot, graph_lower_onehot, 2},
    [GRAPH_OP_OR] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_PAD] = {graph_infer_pad, graph_lower_pad, 2 | 8},
    [GRAPH_OP_POW] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_PRELU] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_QUANTIZE] = {graph_infer_quantize, graph_lower_quantize, 0},
    [GRAPH_OP_RANGE] = {graph_infer_range, NULL, 1 | 2 | 4},
    [GRAPH_OP_RECIPROCAL] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_REDUCE_L1] = {graph_infer_reduce, graph_lower_reduce, 2},
    [GRAPH_OP_REDUCE_L2] = {graph_infer_reduce, graph_lower_reduce, 2},
    [GRAPH_OP_REDUCE_LOG_SUM] = {graph_infer_reduce, graph_lower_reduce, 2},
    [GRAPH_OP_REDUCE_LOG_SUM_EXP] = {graph_infer_reduce, graph_lower_reduce, 2},
    [GRAPH_OP_REDUCE_MAX] = {graph_infer_reduce, graph_lower_reduce, 2},
    [GRAPH_OP_REDUCE_MEAN] = {graph_infer_reduce, graph_lower_reduce, 2},
    [GRAPH_OP_REDUCE_MIN] = {graph_infer_reduce, graph_lower_reduce, 2},
    [GRAPH_OP_REDUCE_PROD] = {graph_infer_reduce, graph_lower_reduce, 2},
    [GRAPH_OP_REDUCE_SUM] = {graph_infer_reduce, graph_lower_reduce, 2},
    [GRAPH_OP_REDUCE_SUM_SQUARE] = {graph_infer_reduce, graph_lower_reduce, 2},
    [GRAPH_OP_RELU] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_RESHAPE] = {graph_infer_reshape, graph_lower_reshape, 2},
    [GRAPH_OP_REVERSE_SEQUENCE] = {graph_infer_reverse_sequence, graph_lower_reverse_sequence, 0},
    [GRAPH_OP_RESIZE] = {graph_infer_resize, graph_lower_resize, 2 | 4},
    [GRAPH_OP_ROUND] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_SELU] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_SHAPE] = {graph_infer_shape, NULL, 0},
    [GRAPH_OP_SHRINK] = {graph_infer_same, graph_lower_unary, 0},
    [GRAPH_OP_SIGMOID] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_SIGN] = {graph_infer_same, graph_lower_unary, 0},
    [GRAPH_OP_SIN] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_SINH] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_SIZE] = {graph_infer_shape, NULL, 0},
    [GRAPH_OP_SLICE] = {graph_infer_slice, graph_lower_slice, 2 | 4 | 8 | 16},
    [GRAPH_OP_SOFTMAX] = {graph_infer_softmax, graph_lower_softmax, 0},
    [GRAPH_OP_SOFTMAX_CROSS_ENTROPY] = {graph_infer_loss, graph_lower_loss, 0},
    [GRAPH_OP_SOFTPLUS] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_SOFTSIGN] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_SPACE_TO_DEPTH] = {graph_infer_depth_space, graph_lower_depth_space, 0},
    [GRAPH_OP_SPLIT] = {graph_infer_split, graph_lower_split, 2},
    [GRAPH_OP_SQRT] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_SQUEEZE] = {graph_infer_squeeze, graph_lower_reshape, 2},
    [GRAPH_OP_SUB] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_SUM] = {graph_infer_nary, graph_lower_nary, 0},
    [GRAPH_OP_TAN] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_TANH] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_THRESHOLDED_RELU] = {graph_infer_float_unary, graph_lower_unary, 0},
    [GRAPH_OP_TILE] = {graph_infer_tile, graph_lower_tile, 2},
    [GRAPH_OP_TRANSPOSE] = {graph_infer_transpose, graph_lower_transpose, 0},
    [GRAPH_OP_TRILU] = {graph_infer_trilu, graph_lower_trilu, 2},
    [GRAPH_OP_UNSQUEEZE] = {graph_infer_unsqueeze, graph_lower_reshape, 2},
    [GRAPH_OP_WHERE] = {graph_infer_nary, graph_lower_where, 0},
    [GRAPH_OP_XOR] = {graph_infer_nary, graph_lower_nary, 0},
};
_Static_assert(sizeof(op_defs) / sizeof(op_defs[0]) == GRAPH_OP_COUNT, "op table");

bool graph_op_needs_const(const ir_node *n, int k)
{
  return (k < 32 && (op_defs[n->op].const_inputs >> k) & 1) || graph_control_needs_const(n, k);
}

bool graph_op_lowerable(graph_op op)
{
  return op_defs[op].lower != NULL;
}

bool graph_op_infer(ir_graph *g, ir_node *n)
{
  if (!op_defs[n->op].infer)
    return graph_fail(g, n, "operator is not supported");
  if (n->n_in < 1)
    return graph_fail(g, n, "missing input");
  if (n->op != GRAPH_OP_SUM && n->op != GRAPH_OP_MAX && n->op != GRAPH_OP_MIN && n->op != GRAPH_OP_MEAN &&
      n->op != GRAPH_OP_CONCAT && n->op != GRAPH_OP_LOOP && !graph_in(g, n, 0))
    return graph_fail(g, n, "missing input 0");
  return op_defs[n->op].infer(g, n);
}

bool ir_lower_node(ir_lower *L, ir_node *n)
{
  L->node = n;
  if (!op_defs[n->op].lower)
    return graph_fail(L->g, n, "operator has no lowering");
  bool ok = op_defs[n->op].lower(L, n);
  if (!ok && !L->ctx->n_errors)
    graph_fail(L->g, n, "lowering failed");
  return ok;
}
