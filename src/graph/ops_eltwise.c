/* ops_eltwise.c: elementwise operators of the op library: unary math and
 * activations, broadcasting binary and variadic operators, where, clip,
 * cast, identity and dropout. */
#include "ops_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Elementwise operators
 * ------------------------------------------------------------------------ */

bool graph_infer_same(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  if (!x)
    return graph_fail(g, n, "missing input");
  for (int k = 0; k < n->n_out; k++)
    if (!graph_set_out(g, n, k, k == 1 && n->op == GRAPH_OP_DROPOUT ? IR_BOOL : x->type, x->rank, x->shape))
      return false;
  return true;
}

static bool is_float_op_type(ir_type t)
{
  return ir_types[t].is_float;
}

bool graph_infer_float_unary(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  if (x && !is_float_op_type(x->type))
    return graph_fail(g, n, "element type %s is not supported (floating point only)", ir_types[x->type].name);
  return graph_infer_same(g, n);
}

/* The builtin of a plain unary function, plus one (0: none). */
static const int unary_builtin[GRAPH_OP_COUNT] = {
    [GRAPH_OP_ACOS] = IR_FN_ACOS + 1,   [GRAPH_OP_ACOSH] = IR_FN_ACOSH + 1,     [GRAPH_OP_ASIN] = IR_FN_ASIN + 1,
    [GRAPH_OP_ASINH] = IR_FN_ASINH + 1, [GRAPH_OP_ATAN] = IR_FN_ATAN + 1,       [GRAPH_OP_ATANH] = IR_FN_ATANH + 1,
    [GRAPH_OP_CEIL] = IR_FN_CEIL + 1,   [GRAPH_OP_COS] = IR_FN_COS + 1,         [GRAPH_OP_COSH] = IR_FN_COSH + 1,
    [GRAPH_OP_ERF] = IR_FN_ERF + 1,     [GRAPH_OP_EXP] = IR_FN_EXP + 1,         [GRAPH_OP_FLOOR] = IR_FN_FLOOR + 1,
    [GRAPH_OP_LOG] = IR_FN_LOG + 1,     [GRAPH_OP_SIGMOID] = IR_FN_SIGMOID + 1, [GRAPH_OP_SIN] = IR_FN_SIN + 1,
    [GRAPH_OP_SINH] = IR_FN_SINH + 1,   [GRAPH_OP_SQRT] = IR_FN_SQRT + 1,       [GRAPH_OP_TAN] = IR_FN_TAN + 1,
    [GRAPH_OP_TANH] = IR_FN_TANH + 1,
};

static ir_expr *fn1(ir_lower *L, ir_builtin fn, ir_expr *x)
{
  return graph_ex_call(L, fn, x, NULL);
}

static ir_expr *fn2(ir_lower *L, ir_builtin fn, ir_expr *x, ir_expr *y)
{
  return graph_ex_call(L, fn, x, y);
}

/* Round half to even: floor(x + 0.5), one less where that rounded a tie up
 * to an odd number. */
static ir_expr *round_even(ir_lower *L, ir_expr *x, ir_type t)
{
  ir_expr *r = fn1(L, IR_FN_FLOOR, graph_ex_bin(L, IR_ADD, x, graph_ex_flt(L, 0.5, t)));
  ir_expr *tie = graph_ex_bin(L, IR_EQ, graph_ex_bin(L, IR_SUB, r, x), graph_ex_flt(L, 0.5, t));
  ir_expr *odd = graph_ex_bin(L, IR_NE, fn2(L, IR_FN_FMOD, r, graph_ex_flt(L, 2, t)), graph_ex_flt(L, 0, t));
  return graph_ex_sel(L, graph_ex_bin(L, IR_AND, tie, odd), graph_ex_bin(L, IR_SUB, r, graph_ex_flt(L, 1, t)), r);
}

static ir_expr *softplus(ir_lower *L, ir_expr *x, ir_type t)
{
  return fn1(L, IR_FN_LOG, graph_ex_bin(L, IR_ADD, fn1(L, IR_FN_EXP, x), graph_ex_flt(L, 1, t)));
}

static ir_expr *activation(ir_lower *L, const ir_node *n, ir_expr *x, ir_type t)
{
  double alpha = n->p.act.alpha;
  ir_expr *zero = graph_ex_const(L, 0, t);
  switch (n->op) {
  case GRAPH_OP_RELU: return fn2(L, IR_FN_MAX, x, zero);
  case GRAPH_OP_LEAKY_RELU:
    return graph_ex_sel(L, graph_ex_bin(L, IR_LT, x, zero), graph_ex_bin(L, IR_MUL, graph_ex_flt(L, alpha, t), x), x);
  case GRAPH_OP_ELU:
    return graph_ex_sel(L, graph_ex_bin(L, IR_LT, x, zero),
                        graph_ex_bin(L, IR_MUL, graph_ex_flt(L, alpha, t),
                                     graph_ex_bin(L, IR_SUB, fn1(L, IR_FN_EXP, x), graph_ex_flt(L, 1, t))),
                        x);
  case GRAPH_OP_SELU: {
    double gamma = n->p.act.gamma;
    ir_expr *neg = graph_ex_bin(L, IR_SUB, graph_ex_bin(L, IR_MUL, graph_ex_flt(L, alpha, t), fn1(L, IR_FN_EXP, x)),
                                graph_ex_flt(L, alpha, t));
    return graph_ex_bin(L, IR_MUL, graph_ex_flt(L, gamma, t), graph_ex_sel(L, graph_ex_bin(L, IR_GT, x, zero), x, neg));
  }
  case GRAPH_OP_CELU: {
    ir_expr *e =
        graph_ex_bin(L, IR_MUL, graph_ex_flt(L, alpha, t),
                     graph_ex_bin(L, IR_SUB, fn1(L, IR_FN_EXP, graph_ex_bin(L, IR_DIV, x, graph_ex_flt(L, alpha, t))),
                                  graph_ex_flt(L, 1, t)));
    return graph_ex_bin(L, IR_ADD, fn2(L, IR_FN_MAX, x, zero), fn2(L, IR_FN_MIN, e, graph_ex_const(L, 0, t)));
  }
  case GRAPH_OP_HARD_SIGMOID: {
    double beta = n->p.act.beta;
    ir_expr *y =
        graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, graph_ex_flt(L, alpha, t), x), graph_ex_flt(L, beta, t));
    return fn2(L, IR_FN_MAX, zero, fn2(L, IR_FN_MIN, graph_ex_flt(L, 1, t), y));
  }
  case GRAPH_OP_HARD_SWISH: {
    ir_expr *y = graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_DIV, x, graph_ex_flt(L, 6, t)), graph_ex_flt(L, 0.5, t));
    return graph_ex_bin(L, IR_MUL, x, fn2(L, IR_FN_MAX, zero, fn2(L, IR_FN_MIN, graph_ex_flt(L, 1, t), y)));
  }
  case GRAPH_OP_THRESHOLDED_RELU: return graph_ex_sel(L, graph_ex_bin(L, IR_GT, x, graph_ex_flt(L, alpha, t)), x, zero);
  default: return NULL;
  }
}

static ir_expr *unary_math(ir_lower *L, const ir_node *n, ir_expr *x, ir_type t)
{
  ir_expr *zero = graph_ex_const(L, 0, t);
  switch (n->op) {
  case GRAPH_OP_ABS: return fn1(L, IR_FN_ABS, x);
  case GRAPH_OP_NEG: return graph_ex_neg(L, x);
  case GRAPH_OP_NOT: return graph_ex_not(L, x);
  case GRAPH_OP_RECIPROCAL: return graph_ex_bin(L, IR_DIV, graph_ex_flt(L, 1, t), x);
  case GRAPH_OP_ROUND: return round_even(L, x, t);
  case GRAPH_OP_SOFTPLUS: return softplus(L, x, t);
  case GRAPH_OP_SOFTSIGN:
    return graph_ex_bin(L, IR_DIV, x, graph_ex_bin(L, IR_ADD, graph_ex_flt(L, 1, t), fn1(L, IR_FN_ABS, x)));
  case GRAPH_OP_MISH: return graph_ex_bin(L, IR_MUL, x, fn1(L, IR_FN_TANH, softplus(L, x, t)));
  case GRAPH_OP_ISNAN: return graph_ex_bin(L, IR_NE, x, x);
  case GRAPH_OP_SIGN:
    return graph_ex_sel(L, graph_ex_bin(L, IR_GT, x, zero), graph_ex_const(L, 1, t),
                        graph_ex_sel(L, graph_ex_bin(L, IR_LT, x, graph_ex_const(L, 0, t)), graph_ex_const(L, -1, t),
                                     graph_ex_const(L, 0, t)));
  case GRAPH_OP_SHRINK: {
    double bias = n->p.shrink.bias, lambd = n->p.shrink.lambd;
    ir_expr *hi = graph_ex_sel(L, graph_ex_bin(L, IR_GT, x, graph_ex_const(L, lambd, t)),
                               graph_ex_bin(L, IR_SUB, x, graph_ex_const(L, bias, t)), zero);
    return graph_ex_sel(L, graph_ex_bin(L, IR_LT, x, graph_ex_const(L, -lambd, t)),
                        graph_ex_bin(L, IR_ADD, x, graph_ex_const(L, bias, t)), hi);
  }
  case GRAPH_OP_ISINF: {
    double big = t == IR_F32 ? FLT_MAX : DBL_MAX;
    ir_expr *pos = graph_ex_bin(L, IR_AND, graph_ex_bin(L, IR_GT, x, graph_ex_flt(L, big, t)),
                                graph_ex_int(L, n->p.isinf.detect_positive));
    ir_expr *neg = graph_ex_bin(L, IR_AND, graph_ex_bin(L, IR_LT, x, graph_ex_flt(L, -big, t)),
                                graph_ex_int(L, n->p.isinf.detect_negative));
    return graph_ex_bin(L, IR_OR, pos, neg);
  }
  default: return unary_builtin[n->op] ? fn1(L, (ir_builtin)(unary_builtin[n->op] - 1), x) : activation(L, n, x, t);
  }
}

bool graph_lower_unary(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]);
  int y = graph_lw_out(L, n->out[0]);
  if (x < 0 || y < 0)
    return false;
  ir_type t = graph_lw_tensor(L, x)->type;
  return graph_st_map(L, y, unary_math(L, n, graph_ex_at(L, x, 0), t));
}

bool graph_infer_isx(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  if (!x || !is_float_op_type(x->type))
    return graph_fail(g, n, "floating-point input expected");
  return graph_set_out(g, n, 0, IR_BOOL, x->rank, x->shape);
}

bool graph_infer_bool_unary(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  if (!x || x->type != IR_BOOL)
    return graph_fail(g, n, "bool input expected");
  return graph_infer_same(g, n);
}

bool graph_lower_identity(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]);
  if (!graph_st_map(L, graph_lw_out(L, n->out[0]), graph_ex_at(L, x, 0)))
    return false;
  if (n->op == GRAPH_OP_DROPOUT && n->n_out > 1 && n->out[1] >= 0)
    return graph_st_map(L, graph_lw_out(L, n->out[1]), graph_ex_cast(L, IR_BOOL, graph_ex_int(L, 1)));
  return true;
}

bool graph_infer_dropout(ir_graph *g, ir_node *n)
{
  const ir_value *mode = graph_in(g, n, 2);
  if (mode && (!mode->data || graph_const_int(mode, 0)))
    return graph_fail(g, n, "training mode is not supported");
  return graph_infer_same(g, n);
}

/* ------------------------------------------------------------------------
 * Broadcasting binary and variadic operators
 * ------------------------------------------------------------------------ */

static bool is_compare(graph_op op)
{
  return op == GRAPH_OP_EQUAL || op == GRAPH_OP_LESS || op == GRAPH_OP_GREATER || op == GRAPH_OP_LESS_EQUAL ||
         op == GRAPH_OP_GREATER_EQUAL || op == GRAPH_OP_AND || op == GRAPH_OP_OR || op == GRAPH_OP_XOR;
}

/* The dimension of the first operand the second lines up with (legacy
 * alignment, or a prelu slope per channel); -1: numpy broadcasting. */
static int legacy_axis(ir_graph *g, const ir_node *n)
{
  const ir_value *a = graph_in(g, n, 0), *b = graph_in(g, n, 1);
  const graph_binary_params *p = &n->p.binary;
  if (p->channel_slope && a && b && a->rank >= 2 && b->rank == 1 && b->shape[0] == a->shape[1] && b->shape[0] != 1)
    return 1;
  return p->aligned && n->n_in == 2 && a && b ? p->axis : -1;
}

static bool infer_legacy(ir_graph *g, ir_node *n, int axis)
{
  const ir_value *a = graph_in(g, n, 0), *b = graph_in(g, n, 1);
  if (axis < 0 || axis + b->rank > a->rank)
    return graph_fail(g, n, "legacy broadcast axis %d does not fit", axis);
  for (int d = 0; d < b->rank; d++)
    if (b->shape[d] != 1 && b->shape[d] != a->shape[axis + d])
      return graph_fail(g, n, "legacy broadcast: dimension %d of B does not match", d);
  return graph_set_out(g, n, 0, is_compare(n->op) ? IR_BOOL : a->type, a->rank, a->shape);
}

/* B read for a legacy broadcast at axis. */
static ir_expr *legacy_read(ir_lower *L, int b, int axis)
{
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < graph_lw_tensor(L, b)->rank; d++)
    idx[d] = graph_lw_dim(L, b, d) == 1 ? graph_ex_int(L, 0) : graph_ex_idx(L, axis + d);
  return graph_ex_read(L, b, idx, false);
}

bool graph_infer_nary(ir_graph *g, ir_node *n)
{
  if (n->n_in == 2 && legacy_axis(g, n) >= 0)
    return infer_legacy(g, n, legacy_axis(g, n));
  int rank = 0;
  int64_t shape[IR_MAX_RANK];
  int first = n->op == GRAPH_OP_WHERE ? 1 : 0;
  const ir_value *x0 = graph_in(g, n, first);
  if (!x0)
    return graph_fail(g, n, "missing input");
  for (int k = 0; k < n->n_in; k++) {
    const ir_value *x = graph_in(g, n, k);
    if (!x)
      return graph_fail(g, n, "missing input %d", k);
    if (!graph_broadcast(g, n, rank, shape, x->rank, x->shape, &rank, shape))
      return false;
  }
  if (n->op == GRAPH_OP_MOD && ir_types[x0->type].is_float && !n->p.binary.fmod)
    return graph_fail(g, n, "floating-point Mod needs fmod=1");
  return graph_set_out(g, n, 0, is_compare(n->op) ? IR_BOOL : x0->type, rank, shape);
}

/* Python's modulo for integers: the result takes the divisor's sign. */
static ir_expr *int_mod(ir_lower *L, ir_expr *a, ir_expr *b)
{
  ir_expr *r = graph_ex_bin(L, IR_MOD, a, b);
  ir_expr *fix =
      graph_ex_bin(L, IR_AND, graph_ex_bin(L, IR_NE, r, graph_ex_cast(L, r ? r->type : IR_I64, graph_ex_int(L, 0))),
                   graph_ex_bin(L, IR_NE, graph_ex_bin(L, IR_LT, r, graph_ex_int(L, 0)),
                                graph_ex_bin(L, IR_LT, b, graph_ex_int(L, 0))));
  return graph_ex_sel(L, fix, graph_ex_bin(L, IR_ADD, r, b), r);
}

static ir_expr *binary_expr(ir_lower *L, const ir_node *n, ir_expr *a, ir_expr *b, ir_type t)
{
  switch (n->op) {
  case GRAPH_OP_ADD:
  case GRAPH_OP_SUM:
  case GRAPH_OP_MEAN: return graph_ex_bin(L, IR_ADD, a, b);
  case GRAPH_OP_SUB: return graph_ex_bin(L, IR_SUB, a, b);
  case GRAPH_OP_MUL: return graph_ex_bin(L, IR_MUL, a, b);
  case GRAPH_OP_DIV: return graph_ex_bin(L, IR_DIV, a, b);
  case GRAPH_OP_MAX: return fn2(L, IR_FN_MAX, a, b);
  case GRAPH_OP_MIN: return fn2(L, IR_FN_MIN, a, b);
  case GRAPH_OP_EQUAL: return graph_ex_bin(L, IR_EQ, a, b);
  case GRAPH_OP_LESS: return graph_ex_bin(L, IR_LT, a, b);
  case GRAPH_OP_GREATER: return graph_ex_bin(L, IR_GT, a, b);
  case GRAPH_OP_LESS_EQUAL: return graph_ex_bin(L, IR_LE, a, b);
  case GRAPH_OP_GREATER_EQUAL: return graph_ex_bin(L, IR_GE, a, b);
  case GRAPH_OP_AND: return graph_ex_bin(L, IR_AND, a, b);
  case GRAPH_OP_OR: return graph_ex_bin(L, IR_OR, a, b);
  case GRAPH_OP_XOR: return graph_ex_bin(L, IR_NE, a, b);
  case GRAPH_OP_PRELU:
    return graph_ex_sel(L, graph_ex_bin(L, IR_LT, a, graph_ex_const(L, 0, t)), graph_ex_bin(L, IR_MUL, b, a), a);
  case GRAPH_OP_POW: return graph_ex_cast(L, t, graph_ex_fn(L, IR_FN_POW, ir_types[t].is_float ? t : IR_F64, a, b));
  case GRAPH_OP_MOD:
    return n->p.binary.fmod ? (ir_types[t].is_float ? fn2(L, IR_FN_FMOD, a, b) : graph_ex_bin(L, IR_MOD, a, b))
                            : int_mod(L, a, b);
  default: return NULL;
  }
}

bool graph_lower_nary(ir_lower *L, ir_node *n)
{
  int y = graph_lw_out(L, n->out[0]);
  if (y < 0)
    return false;
  int r = graph_lw_tensor(L, y)->rank;
  ir_type t = graph_lw_tensor(L, graph_lw_in(L, n->in[0]))->type;
  ir_expr *acc = graph_ex_bcast(L, graph_lw_in(L, n->in[0]), r, 0);
  int legacy = legacy_axis(L->g, n);
  for (int k = 1; k < n->n_in; k++)
    acc = binary_expr(L, n, acc,
                      legacy >= 0 ? legacy_read(L, graph_lw_in(L, n->in[k]), legacy)
                                  : graph_ex_bcast(L, graph_lw_in(L, n->in[k]), r, 0),
                      t);
  if (n->op == GRAPH_OP_MEAN)
    acc = graph_ex_bin(L, IR_DIV, acc, graph_ex_const(L, n->n_in, t));
  return graph_st_map(L, y, acc);
}

bool graph_lower_where(ir_lower *L, ir_node *n)
{
  int y = graph_lw_out(L, n->out[0]);
  if (y < 0)
    return false;
  int r = graph_lw_tensor(L, y)->rank;
  ir_expr *c = graph_ex_bcast(L, graph_lw_in(L, n->in[0]), r, 0);
  return graph_st_map(L, y,
                      graph_ex_sel(L, c, graph_ex_bcast(L, graph_lw_in(L, n->in[1]), r, 0),
                                   graph_ex_bcast(L, graph_lw_in(L, n->in[2]), r, 0)));
}

bool graph_infer_clip(ir_graph *g, ir_node *n)
{
  for (int k = 1; k < n->n_in; k++)
    if (graph_in(g, n, k) && graph_in(g, n, k)->rank != 0)
      return graph_fail(g, n, "min and max must be scalars");
  return graph_infer_same(g, n);
}

static ir_expr *clip_bound(ir_lower *L, const ir_node *n, int k, ir_type t)
{
  if (k >= n->n_in || n->in[k] < 0)
    return NULL;
  return graph_ex_cast(L, t, graph_ex_read(L, graph_lw_in(L, n->in[k]), NULL, false));
}

bool graph_lower_clip(ir_lower *L, ir_node *n)
{
  int x = graph_lw_in(L, n->in[0]);
  if (x < 0)
    return false;
  ir_type t = graph_lw_tensor(L, x)->type;
  ir_expr *e = graph_ex_at(L, x, 0);
  ir_expr *lo = clip_bound(L, n, 1, t), *hi = clip_bound(L, n, 2, t);
  if (lo)
    e = graph_ex_sel(L, graph_ex_bin(L, IR_LT, e, lo), lo, e);
  if (hi)
    e = graph_ex_sel(L, graph_ex_bin(L, IR_GT, e, hi), hi, e);
  return graph_st_map(L, graph_lw_out(L, n->out[0]), e);
}

bool graph_infer_cast(ir_graph *g, ir_node *n)
{
  const ir_value *x = graph_in(g, n, 0);
  ir_type t;
  if (n->op == GRAPH_OP_CAST_LIKE) {
    if (!graph_in(g, n, 1))
      return graph_fail(g, n, "missing input");
    t = graph_in(g, n, 1)->type;
  } else {
    t = n->p.cast.to;
  }
  return x ? graph_set_out(g, n, 0, t, x->rank, x->shape) : graph_fail(g, n, "missing input");
}

bool graph_lower_cast(ir_lower *L, ir_node *n)
{
  int y = graph_lw_out(L, n->out[0]);
  return y >= 0 &&
         graph_st_map(L, y, graph_ex_cast(L, graph_lw_tensor(L, y)->type, graph_ex_at(L, graph_lw_in(L, n->in[0]), 0)));
}
