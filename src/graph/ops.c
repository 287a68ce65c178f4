/* ops.c: the op library shared by the model frontends: the per-op table
 * (shape inference and lowering), the builders every lowering uses, and the
 * elementwise and data-movement operators. Neural-network operators
 * (convolution, pooling, normalisation, reductions) are in ops_nn.c. */
#include "ops_internal.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Inference helpers
 * ------------------------------------------------------------------------ */

ir_value *op_in(ir_graph *g, const ir_node *n, int k)
{
  return k < n->n_in && n->in[k] >= 0 ? &g->values[n->in[k]] : NULL;
}

ir_value *op_out(ir_graph *g, const ir_node *n, int k)
{
  return k < n->n_out && n->out[k] >= 0 ? &g->values[n->out[k]] : NULL;
}

bool op_fail(ir_graph *g, const ir_node *n, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  aotc_error(g->ctx, n->loc, "node '%s' (%s): %s", n->name, ir_node_op_names[n->op], msg);
  return false;
}

bool op_set_out(ir_graph *g, const ir_node *n, int k, ir_type type, int rank, const int64_t *shape)
{
  ir_value *v = op_out(g, n, k);
  if (!v)
    return true;
  if (rank < 0 || rank > IR_MAX_RANK)
    return op_fail(g, n, "output rank %d is not supported", rank);
  v->type = type;
  v->rank = rank;
  for (int d = 0; d < rank; d++) {
    if (shape[d] < 0)
      return op_fail(g, n, "output dimension %d is negative (%lld)", d, (long long)shape[d]);
    v->shape[d] = shape[d];
  }
  if (ir_value_numel(v) < 0 || ir_value_bytes(v) > ((size_t)1 << 40))
    return op_fail(g, n, "output '%s' is too large", v->name);
  return true;
}

bool op_axis(ir_graph *g, const ir_node *n, int64_t axis, int rank, int *out)
{
  if (axis < -rank || axis >= (rank ? rank : 1))
    return op_fail(g, n, "axis %lld is out of range for rank %d", (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return true;
}

int64_t op_const_int(const ir_value *v, int64_t k)
{
  switch (v->type) {
  case IR_I32: return ((const int32_t *)v->data)[k];
  case IR_I64: return ((const int64_t *)v->data)[k];
  case IR_U8: return ((const uint8_t *)v->data)[k];
  case IR_I8: return ((const int8_t *)v->data)[k];
  case IR_I16: return ((const int16_t *)v->data)[k];
  case IR_F32: return (int64_t)((const float *)v->data)[k];
  case IR_F64: return (int64_t)((const double *)v->data)[k];
  default: return ((const int64_t *)v->data)[k];
  }
}

bool op_int_list(ir_graph *g, const ir_node *n, const char *name, int k, int since, int64_t *out, int *count,
                 bool *present)
{
  *present = false;
  *count = 0;
  if (n->opset < since) {
    const ir_attr *a = ir_node_attr(n, name);
    if (!a)
      return true;
    if (a->kind != IR_ATTR_INTS || a->n > IR_MAX_RANK)
      return op_fail(g, n, "attribute '%s' must be a list of at most %d integers", name, IR_MAX_RANK);
    memcpy(out, a->ints, sizeof(int64_t) * (size_t)a->n);
    *count = a->n;
    *present = true;
    return true;
  }
  const ir_value *v = op_in(g, n, k);
  if (!v)
    return true;
  int64_t numel = ir_value_numel(v);
  if (v->rank > 1 || numel > IR_MAX_RANK || !v->data || ir_types[v->type].is_float)
    return op_fail(g, n, "input %d ('%s') must be a constant list of at most %d integers", k, v->name, IR_MAX_RANK);
  for (int64_t j = 0; j < numel; j++)
    out[j] = op_const_int(v, j);
  *count = (int)numel;
  *present = true;
  return true;
}

bool op_broadcast(ir_graph *g, const ir_node *n, int rank_a, const int64_t *a, int rank_b, const int64_t *b,
                  int *rank, int64_t *out)
{
  int r = rank_a > rank_b ? rank_a : rank_b;
  int64_t res[IR_MAX_RANK];
  for (int d = 0; d < r; d++) {
    int64_t x = d - (r - rank_a) >= 0 ? a[d - (r - rank_a)] : 1;
    int64_t y = d - (r - rank_b) >= 0 ? b[d - (r - rank_b)] : 1;
    if (x != y && x != 1 && y != 1)
      return op_fail(g, n, "shapes do not broadcast: dimension %d is %lld and %lld", d, (long long)x,
                     (long long)y);
    res[d] = x == 1 ? y : x;
  }
  memcpy(out, res, sizeof(int64_t) * (size_t)r);
  *rank = r;
  return true;
}

bool ir_type_from_onnx(int64_t code, ir_type *out)
{
  static const int map[] = {-1, IR_F32, IR_U8, IR_I8, IR_U16, IR_I16, IR_I32, IR_I64, -1, IR_BOOL, -1, IR_F64,
                            IR_U32, IR_U64};
  if (code < 0 || code >= (int64_t)(sizeof(map) / sizeof(map[0])) || map[code] < 0)
    return false;
  *out = (ir_type)map[code];
  return true;
}

/* ------------------------------------------------------------------------
 * Lowering state and builders
 * ------------------------------------------------------------------------ */

ir_lower *ir_lower_new(ir_graph *g, const char *func_name)
{
  ir_lower *L = IR_NEW(g->ctx, ir_lower);
  if (!L)
    return NULL;
  L->ctx = g->ctx;
  L->g = g;
  L->name = func_name;
  L->tensor_of = IR_NEW_ARRAY(g->ctx, int, g->n_values);
  if (!L->tensor_of)
    return NULL;
  for (int k = 0; k < g->n_values; k++)
    L->tensor_of[k] = -1;
  return L;
}

/* A C identifier made from a model's name, unique among the tensors. */
static const char *tensor_name(ir_lower *L, const char *raw)
{
  return ir_c_name_unique(L->ctx, &L->names, raw);
}

static int add_tensor(ir_lower *L, const char *raw, ir_type type, int rank, const int64_t *shape, ir_role role)
{
  ir_tensor *t = IR_NEW(L->ctx, ir_tensor);
  if (!t)
    return -1;
  t->name = tensor_name(L, raw);
  t->type = type;
  t->role = role;
  t->rank = rank;
  t->loc = L->g->loc;
  t->shape = IR_NEW_ARRAY(L->ctx, ir_size *, rank);
  if (!t->name || !t->shape)
    return -1;
  for (int d = 0; d < rank; d++)
    if (!(t->shape[d] = ir_size_const(L->ctx, shape[d])))
      return -1;
  if (!ir_vec_push(L->ctx, &L->tensors, t))
    return -1;
  return L->tensors.n - 1;
}

int ir_lower_tensor(ir_lower *L, int v, ir_role role)
{
  if (L->tensor_of[v] >= 0)
    return L->tensor_of[v];
  const ir_value *val = &L->g->values[v];
  int t = add_tensor(L, val->name, val->type, val->rank, val->shape, role);
  if (t < 0)
    return -1;
  if (role == IR_CONSTANT)
    ((ir_tensor *)L->tensors.items[t])->data = val->data;
  return L->tensor_of[v] = t;
}

int lw_in(ir_lower *L, int v)
{
  const ir_value *val = &L->g->values[v];
  if (L->tensor_of[v] < 0 && !val->data && !val->is_input) {
    aotc_error(L->ctx, L->g->loc, "value '%s' is read before it is written", val->name);
    return -1;
  }
  return ir_lower_tensor(L, v, val->data ? IR_CONSTANT : IR_INPUT);
}

int lw_out(ir_lower *L, int v)
{
  return ir_lower_tensor(L, v, IR_TEMP);
}

int lw_temp(ir_lower *L, const char *suffix, ir_type type, int rank, const int64_t *shape)
{
  const char *base = L->node && L->node->n_out > 0 && L->node->out[0] >= 0 ? L->g->values[L->node->out[0]].name
                                                                            : "tmp";
  return add_tensor(L, ir_sprintf(L->ctx, "%s_%s", base, suffix), type, rank, shape, IR_TEMP);
}

int lw_const(ir_lower *L, const char *suffix, ir_type type, int rank, const int64_t *shape, const void *data)
{
  int t = lw_temp(L, suffix, type, rank, shape);
  if (t >= 0) {
    ((ir_tensor *)L->tensors.items[t])->role = IR_CONSTANT;
    ((ir_tensor *)L->tensors.items[t])->data = data;
  }
  return t;
}

const ir_tensor *lw_tensor(ir_lower *L, int t)
{
  return L->tensors.items[t];
}

static ir_loc lw_loc(ir_lower *L)
{
  return L->node ? L->node->loc : L->g->loc;
}

ir_expr *ex_int(ir_lower *L, int64_t v)
{
  ir_expr *e = ir_expr_new(L->ctx, IR_CONST_INT, IR_I64, lw_loc(L), 0);
  if (e)
    e->ival = v;
  return e;
}

ir_expr *ex_flt(ir_lower *L, double v, ir_type t)
{
  ir_expr *e = ir_expr_new(L->ctx, IR_CONST_FLOAT, ir_types[t].is_float ? t : IR_F32, lw_loc(L), 0);
  if (e)
    e->fval = v;
  return e;
}

ir_expr *ex_idx(ir_lower *L, int k)
{
  ir_expr *e = ir_expr_new(L->ctx, IR_INDEX, IR_I64, lw_loc(L), 0);
  if (e)
    e->index = k;
  return e;
}

static bool is_logical(ir_op op)
{
  return op >= IR_LT && op <= IR_OR;
}

ir_expr *ex_bin(ir_lower *L, ir_op op, ir_expr *a, ir_expr *b)
{
  if (!a || !b)
    return NULL;
  ir_type t = is_logical(op) ? IR_BOOL : ir_promote(a->type, b->type);
  ir_expr *e = ir_expr_new(L->ctx, IR_BINARY, t, lw_loc(L), 2);
  if (!e)
    return NULL;
  e->op = op;
  e->args[0] = a;
  e->args[1] = b;
  return e;
}

static ir_expr *ex_unary(ir_lower *L, ir_op op, ir_type t, ir_expr *a)
{
  if (!a)
    return NULL;
  ir_expr *e = ir_expr_new(L->ctx, IR_UNARY, t, lw_loc(L), 1);
  if (!e)
    return NULL;
  e->op = op;
  e->args[0] = a;
  return e;
}

ir_expr *ex_neg(ir_lower *L, ir_expr *a)
{
  return a ? ex_unary(L, IR_NEG, a->type, a) : NULL;
}

ir_expr *ex_not(ir_lower *L, ir_expr *a)
{
  return ex_unary(L, IR_NOT, IR_BOOL, a);
}

ir_expr *ex_fn(ir_lower *L, ir_builtin fn, ir_type t, ir_expr *a, ir_expr *b)
{
  int n = ir_builtins[fn].arity;
  if (!a || (n == 2 && !b))
    return NULL;
  ir_expr *e = ir_expr_new(L->ctx, IR_CALL, t, lw_loc(L), n);
  if (!e)
    return NULL;
  e->fn = fn;
  e->args[0] = a;
  if (n == 2)
    e->args[1] = b;
  return e;
}

ir_expr *ex_sel(ir_lower *L, ir_expr *c, ir_expr *a, ir_expr *b)
{
  if (!c || !a || !b)
    return NULL;
  ir_expr *e = ir_expr_new(L->ctx, IR_SELECT, ir_promote(a->type, b->type), lw_loc(L), 3);
  if (!e)
    return NULL;
  e->args[0] = c;
  e->args[1] = a;
  e->args[2] = b;
  return e;
}

ir_expr *ex_cast(ir_lower *L, ir_type t, ir_expr *a)
{
  if (!a)
    return NULL;
  if (a->type == t)
    return a;
  ir_expr *e = ir_expr_new(L->ctx, IR_CAST, t, lw_loc(L), 1);
  if (e)
    e->args[0] = a;
  return e;
}

ir_expr *ex_read(ir_lower *L, int tensor, ir_expr *const *idx, bool padded)
{
  if (tensor < 0)
    return NULL;
  const ir_tensor *t = lw_tensor(L, tensor);
  for (int d = 0; d < t->rank; d++)
    if (!idx[d])
      return NULL;
  ir_expr *e = ir_expr_new(L->ctx, IR_ACCESS, t->type, lw_loc(L), t->rank);
  if (!e)
    return NULL;
  e->tensor = tensor;
  e->padded = padded;
  for (int d = 0; d < t->rank; d++)
    e->args[d] = idx[d];
  return e;
}

int64_t lw_dim(ir_lower *L, int t, int d)
{
  int64_t v = 0;
  ir_size_is_const(lw_tensor(L, t)->shape[d], &v);
  return v;
}

ir_expr *ex_bcast(ir_lower *L, int t, int out_rank, int first)
{
  if (t < 0)
    return NULL;
  int r = lw_tensor(L, t)->rank;
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < r; d++)
    idx[d] = lw_dim(L, t, d) == 1 ? ex_int(L, 0) : ex_idx(L, first + d + out_rank - r);
  return ex_read(L, t, idx, false);
}

ir_expr *ex_at(ir_lower *L, int t, int first)
{
  if (t < 0)
    return NULL;
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < lw_tensor(L, t)->rank; d++)
    idx[d] = ex_idx(L, first + d);
  return ex_read(L, t, idx, false);
}

ir_expr *ex_in_range(ir_lower *L, ir_expr *e, int64_t lo, int64_t hi)
{
  return ex_bin(L, IR_AND, ex_bin(L, IR_GE, e, ex_int(L, lo)), ex_bin(L, IR_LT, e, ex_int(L, hi)));
}

ir_stmt *st_new(ir_lower *L, int t, int n_lhs, int n_red, const int64_t *hi)
{
  ir_stmt *s = IR_NEW(L->ctx, ir_stmt);
  if (!s || t < 0)
    return NULL;
  s->loc = lw_loc(L);
  s->tensor = t;
  s->n_index = n_lhs + n_red;
  s->n_lhs = n_lhs;
  s->index = IR_NEW_ARRAY(L->ctx, ir_index, s->n_index);
  s->lhs = IR_NEW_ARRAY(L->ctx, int, n_lhs);
  if (!s->index || !s->lhs)
    return NULL;
  for (int k = 0; k < s->n_index; k++) {
    s->index[k].name = k < n_lhs ? ir_sprintf(L->ctx, "i%d", k) : ir_sprintf(L->ctx, "r%d", k - n_lhs);
    s->index[k].lo = ir_size_const(L->ctx, 0);
    s->index[k].hi = ir_size_const(L->ctx, hi[k]);
    s->index[k].reduction = k >= n_lhs;
    s->index[k].explicit_range = true;
  }
  for (int k = 0; k < n_lhs; k++)
    s->lhs[k] = k;
  return s;
}

void st_range(ir_stmt *s, ir_lower *L, int k, int64_t lo, int64_t hi)
{
  if (!s)
    return;
  s->index[k].lo = ir_size_const(L->ctx, lo);
  s->index[k].hi = ir_size_const(L->ctx, hi);
}

bool st_emit(ir_lower *L, ir_stmt *s, ir_reduction red, bool init, ir_expr *rhs)
{
  if (!s || !rhs) {
    aotc_error(L->ctx, lw_loc(L), "out of memory while lowering");
    return false;
  }
  s->red = red;
  s->init = init;
  s->rhs = rhs;
  return ir_vec_push(L->ctx, &L->stmts, s);
}

bool st_map(ir_lower *L, int t, ir_expr *rhs)
{
  if (t < 0)
    return false;
  const ir_tensor *ts = lw_tensor(L, t);
  int64_t hi[IR_MAX_RANK];
  for (int d = 0; d < ts->rank; d++)
    hi[d] = lw_dim(L, t, d);
  return st_emit(L, st_new(L, t, ts->rank, 0, hi), IR_RED_NONE, false, rhs);
}

ir_func *ir_lower_finish(ir_lower *L)
{
  ir_func *f = IR_NEW(L->ctx, ir_func);
  if (!f || L->ctx->oom)
    return NULL;
  f->name = ir_strdup(L->ctx, L->name);
  f->loc = L->g->loc;
  f->n_tensors = L->tensors.n;
  f->tensors = (ir_tensor **)L->tensors.items;
  f->n_stmts = L->stmts.n;
  f->stmts = (ir_stmt **)L->stmts.items;
  f->inputs = IR_NEW_ARRAY(L->ctx, int, f->n_tensors);
  f->outputs = IR_NEW_ARRAY(L->ctx, int, f->n_tensors);
  if (!f->inputs || !f->outputs)
    return NULL;
  for (int t = 0; t < f->n_tensors; t++) {
    if (f->tensors[t]->role == IR_INPUT)
      f->inputs[f->n_inputs++] = t;
    if (f->tensors[t]->role == IR_OUTPUT)
      f->outputs[f->n_outputs++] = t;
  }
  return f;
}

int ir_lower_copy_output(ir_lower *L, int v)
{
  int src = lw_in(L, v);
  const ir_value *val = &L->g->values[v];
  int t = add_tensor(L, val->name, val->type, val->rank, val->shape, IR_OUTPUT);
  L->node = NULL;
  if (src < 0 || t < 0 || !st_map(L, t, ex_at(L, src, 0)))
    return -1;
  return t;
}

/* ------------------------------------------------------------------------
 * Elementwise operators
 * ------------------------------------------------------------------------ */

static bool infer_same(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  if (!x)
    return op_fail(g, n, "missing input");
  for (int k = 0; k < n->n_out; k++)
    if (!op_set_out(g, n, k, k == 1 && n->op == IR_NODE_DROPOUT ? IR_BOOL : x->type, x->rank, x->shape))
      return false;
  return true;
}

static bool is_float_op_type(ir_type t)
{
  return ir_types[t].is_float;
}

static bool infer_float_unary(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  if (x && !is_float_op_type(x->type))
    return op_fail(g, n, "element type %s is not supported (floating point only)", ir_types[x->type].name);
  return infer_same(g, n);
}

/* The builtin of a plain unary function, plus one (0: none). */
static const int unary_builtin[IR_NODE_COUNT] = {
    [IR_NODE_ACOS] = IR_FN_ACOS + 1, [IR_NODE_ACOSH] = IR_FN_ACOSH + 1, [IR_NODE_ASIN] = IR_FN_ASIN + 1,
    [IR_NODE_ASINH] = IR_FN_ASINH + 1, [IR_NODE_ATAN] = IR_FN_ATAN + 1, [IR_NODE_ATANH] = IR_FN_ATANH + 1,
    [IR_NODE_CEIL] = IR_FN_CEIL + 1, [IR_NODE_COS] = IR_FN_COS + 1, [IR_NODE_COSH] = IR_FN_COSH + 1,
    [IR_NODE_ERF] = IR_FN_ERF + 1, [IR_NODE_EXP] = IR_FN_EXP + 1, [IR_NODE_FLOOR] = IR_FN_FLOOR + 1,
    [IR_NODE_LOG] = IR_FN_LOG + 1, [IR_NODE_SIGMOID] = IR_FN_SIGMOID + 1, [IR_NODE_SIN] = IR_FN_SIN + 1,
    [IR_NODE_SINH] = IR_FN_SINH + 1, [IR_NODE_SQRT] = IR_FN_SQRT + 1, [IR_NODE_TAN] = IR_FN_TAN + 1,
    [IR_NODE_TANH] = IR_FN_TANH + 1,
};

ir_expr *ex_const(ir_lower *L, double v, ir_type t)
{
  return ir_types[t].is_float ? ex_flt(L, v, t) : ex_cast(L, t, ex_int(L, (int64_t)v));
}

static ir_expr *fn1(ir_lower *L, ir_builtin fn, ir_expr *x)
{
  return x ? ex_fn(L, fn, x->type, x, NULL) : NULL;
}

static ir_expr *fn2(ir_lower *L, ir_builtin fn, ir_expr *x, ir_expr *y)
{
  return x && y ? ex_fn(L, fn, ir_promote(x->type, y->type), x, y) : NULL;
}

ir_expr *ex_call(ir_lower *L, ir_builtin fn, ir_expr *a, ir_expr *b)
{
  return b ? fn2(L, fn, a, b) : fn1(L, fn, a);
}

/* Round half to even: floor(x + 0.5), one less where that rounded a tie up
 * to an odd number. */
static ir_expr *round_even(ir_lower *L, ir_expr *x, ir_type t)
{
  ir_expr *r = fn1(L, IR_FN_FLOOR, ex_bin(L, IR_ADD, x, ex_flt(L, 0.5, t)));
  ir_expr *tie = ex_bin(L, IR_EQ, ex_bin(L, IR_SUB, r, x), ex_flt(L, 0.5, t));
  ir_expr *odd = ex_bin(L, IR_NE, fn2(L, IR_FN_FMOD, r, ex_flt(L, 2, t)), ex_flt(L, 0, t));
  return ex_sel(L, ex_bin(L, IR_AND, tie, odd), ex_bin(L, IR_SUB, r, ex_flt(L, 1, t)), r);
}

static ir_expr *softplus(ir_lower *L, ir_expr *x, ir_type t)
{
  return fn1(L, IR_FN_LOG, ex_bin(L, IR_ADD, fn1(L, IR_FN_EXP, x), ex_flt(L, 1, t)));
}

static ir_expr *activation(ir_lower *L, const ir_node *n, ir_expr *x, ir_type t)
{
  double alpha = ir_attr_float(n, "alpha", n->op == IR_NODE_LEAKYRELU ? 0.01 : n->op == IR_NODE_HARDSIGMOID ? 0.2
                                                                        : n->op == IR_NODE_SELU ? 1.67326319217681884765625
                                                                                                : 1.0);
  ir_expr *zero = ex_const(L, 0, t);
  switch (n->op) {
  case IR_NODE_RELU: return fn2(L, IR_FN_MAX, x, zero);
  case IR_NODE_LEAKYRELU: return ex_sel(L, ex_bin(L, IR_LT, x, zero), ex_bin(L, IR_MUL, ex_flt(L, alpha, t), x), x);
  case IR_NODE_ELU:
    return ex_sel(L, ex_bin(L, IR_LT, x, zero),
                  ex_bin(L, IR_MUL, ex_flt(L, alpha, t), ex_bin(L, IR_SUB, fn1(L, IR_FN_EXP, x), ex_flt(L, 1, t))), x);
  case IR_NODE_SELU: {
    double gamma = ir_attr_float(n, "gamma", 1.05070102214813232421875);
    ir_expr *neg = ex_bin(L, IR_SUB, ex_bin(L, IR_MUL, ex_flt(L, alpha, t), fn1(L, IR_FN_EXP, x)), ex_flt(L, alpha, t));
    return ex_bin(L, IR_MUL, ex_flt(L, gamma, t), ex_sel(L, ex_bin(L, IR_GT, x, zero), x, neg));
  }
  case IR_NODE_CELU: {
    ir_expr *e = ex_bin(L, IR_MUL, ex_flt(L, alpha, t),
                        ex_bin(L, IR_SUB, fn1(L, IR_FN_EXP, ex_bin(L, IR_DIV, x, ex_flt(L, alpha, t))), ex_flt(L, 1, t)));
    return ex_bin(L, IR_ADD, fn2(L, IR_FN_MAX, x, zero), fn2(L, IR_FN_MIN, e, ex_const(L, 0, t)));
  }
  case IR_NODE_HARDSIGMOID: {
    double beta = ir_attr_float(n, "beta", 0.5);
    ir_expr *y = ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, ex_flt(L, alpha, t), x), ex_flt(L, beta, t));
    return fn2(L, IR_FN_MAX, zero, fn2(L, IR_FN_MIN, ex_flt(L, 1, t), y));
  }
  case IR_NODE_HARDSWISH: {
    ir_expr *y = ex_bin(L, IR_ADD, ex_bin(L, IR_DIV, x, ex_flt(L, 6, t)), ex_flt(L, 0.5, t));
    return ex_bin(L, IR_MUL, x, fn2(L, IR_FN_MAX, zero, fn2(L, IR_FN_MIN, ex_flt(L, 1, t), y)));
  }
  case IR_NODE_THRESHOLDEDRELU: return ex_sel(L, ex_bin(L, IR_GT, x, ex_flt(L, alpha, t)), x, zero);
  default: return NULL;
  }
}

static ir_expr *unary_math(ir_lower *L, const ir_node *n, ir_expr *x, ir_type t)
{
  ir_expr *zero = ex_const(L, 0, t);
  switch (n->op) {
  case IR_NODE_ABS: return fn1(L, IR_FN_ABS, x);
  case IR_NODE_NEG: return ex_neg(L, x);
  case IR_NODE_NOT: return ex_not(L, x);
  case IR_NODE_RECIPROCAL: return ex_bin(L, IR_DIV, ex_flt(L, 1, t), x);
  case IR_NODE_ROUND: return round_even(L, x, t);
  case IR_NODE_SOFTPLUS: return softplus(L, x, t);
  case IR_NODE_SOFTSIGN: return ex_bin(L, IR_DIV, x, ex_bin(L, IR_ADD, ex_flt(L, 1, t), fn1(L, IR_FN_ABS, x)));
  case IR_NODE_MISH: return ex_bin(L, IR_MUL, x, fn1(L, IR_FN_TANH, softplus(L, x, t)));
  case IR_NODE_ISNAN: return ex_bin(L, IR_NE, x, x);
  case IR_NODE_SIGN:
    return ex_sel(L, ex_bin(L, IR_GT, x, zero), ex_const(L, 1, t),
                  ex_sel(L, ex_bin(L, IR_LT, x, ex_const(L, 0, t)), ex_const(L, -1, t), ex_const(L, 0, t)));
  case IR_NODE_SHRINK: {
    double bias = ir_attr_float(n, "bias", 0), lambd = ir_attr_float(n, "lambd", 0.5);
    ir_expr *hi = ex_sel(L, ex_bin(L, IR_GT, x, ex_const(L, lambd, t)), ex_bin(L, IR_SUB, x, ex_const(L, bias, t)), zero);
    return ex_sel(L, ex_bin(L, IR_LT, x, ex_const(L, -lambd, t)), ex_bin(L, IR_ADD, x, ex_const(L, bias, t)), hi);
  }
  case IR_NODE_ISINF: {
    double big = t == IR_F32 ? FLT_MAX : DBL_MAX;
    ir_expr *pos = ex_bin(L, IR_AND, ex_bin(L, IR_GT, x, ex_flt(L, big, t)), ex_int(L, ir_attr_int(n, "detect_positive", 1)));
    ir_expr *neg = ex_bin(L, IR_AND, ex_bin(L, IR_LT, x, ex_flt(L, -big, t)), ex_int(L, ir_attr_int(n, "detect_negative", 1)));
    return ex_bin(L, IR_OR, pos, neg);
  }
  default:
    return unary_builtin[n->op] ? fn1(L, (ir_builtin)(unary_builtin[n->op] - 1), x) : activation(L, n, x, t);
  }
}

static bool lower_unary(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]);
  int y = lw_out(L, n->out[0]);
  if (x < 0 || y < 0)
    return false;
  ir_type t = lw_tensor(L, x)->type;
  return st_map(L, y, unary_math(L, n, ex_at(L, x, 0), t));
}

static bool infer_isx(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  if (!x || !is_float_op_type(x->type))
    return op_fail(g, n, "floating-point input expected");
  return op_set_out(g, n, 0, IR_BOOL, x->rank, x->shape);
}

static bool infer_bool_unary(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  if (!x || x->type != IR_BOOL)
    return op_fail(g, n, "bool input expected");
  return infer_same(g, n);
}

static bool lower_identity(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]);
  if (!st_map(L, lw_out(L, n->out[0]), ex_at(L, x, 0)))
    return false;
  if (n->op == IR_NODE_DROPOUT && n->n_out > 1 && n->out[1] >= 0)
    return st_map(L, lw_out(L, n->out[1]), ex_cast(L, IR_BOOL, ex_int(L, 1)));
  return true;
}

static bool infer_dropout(ir_graph *g, ir_node *n)
{
  const ir_value *mode = op_in(g, n, 2);
  if (mode && (!mode->data || op_const_int(mode, 0)))
    return op_fail(g, n, "training mode is not supported");
  return infer_same(g, n);
}

/* ------------------------------------------------------------------------
 * Broadcasting binary and variadic operators
 * ------------------------------------------------------------------------ */

static bool is_compare(ir_node_op op)
{
  return op == IR_NODE_EQUAL || op == IR_NODE_LESS || op == IR_NODE_GREATER || op == IR_NODE_LESSOREQUAL ||
         op == IR_NODE_GREATEROREQUAL || op == IR_NODE_AND || op == IR_NODE_OR || op == IR_NODE_XOR;
}

/* Before opset 7, Add, Sub, Mul, Div, Pow, And, Or, Xor, Equal, Less and
 * Greater broadcast B only with broadcast=1, aligned at dimension `axis` of
 * A (by default at the end). -1: the current numpy-style rule applies. */
static int legacy_axis(ir_graph *g, const ir_node *n)
{
  const ir_value *a = op_in(g, n, 0), *b = op_in(g, n, 1);
  if (n->op == IR_NODE_PRELU && n->opset < 7 && a && b && a->rank >= 2 && b->rank == 1 && b->shape[0] == a->shape[1] &&
      b->shape[0] != 1)
    return 1;
  if (n->opset >= 7 || n->n_in != 2 || !ir_attr_int(n, "broadcast", 0) || !op_in(g, n, 0) || !op_in(g, n, 1))
    return -1;
  int ra = op_in(g, n, 0)->rank, rb = op_in(g, n, 1)->rank;
  return (int)ir_attr_int(n, "axis", ra - rb);
}

static bool infer_legacy(ir_graph *g, ir_node *n, int axis)
{
  const ir_value *a = op_in(g, n, 0), *b = op_in(g, n, 1);
  if (axis < 0 || axis + b->rank > a->rank)
    return op_fail(g, n, "legacy broadcast axis %d does not fit", axis);
  for (int d = 0; d < b->rank; d++)
    if (b->shape[d] != 1 && b->shape[d] != a->shape[axis + d])
      return op_fail(g, n, "legacy broadcast: dimension %d of B does not match", d);
  return op_set_out(g, n, 0, is_compare(n->op) ? IR_BOOL : a->type, a->rank, a->shape);
}

/* B read for a legacy broadcast at axis. */
static ir_expr *legacy_read(ir_lower *L, int b, int axis)
{
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < lw_tensor(L, b)->rank; d++)
    idx[d] = lw_dim(L, b, d) == 1 ? ex_int(L, 0) : ex_idx(L, axis + d);
  return ex_read(L, b, idx, false);
}

static bool infer_nary(ir_graph *g, ir_node *n)
{
  if (n->opset < 7 && n->n_in == 2 && legacy_axis(g, n) >= 0)
    return infer_legacy(g, n, legacy_axis(g, n));
  int rank = 0;
  int64_t shape[IR_MAX_RANK];
  int first = n->op == IR_NODE_WHERE ? 1 : 0;
  const ir_value *x0 = op_in(g, n, first);
  if (!x0)
    return op_fail(g, n, "missing input");
  for (int k = 0; k < n->n_in; k++) {
    const ir_value *x = op_in(g, n, k);
    if (!x)
      return op_fail(g, n, "missing input %d", k);
    if (!op_broadcast(g, n, rank, shape, x->rank, x->shape, &rank, shape))
      return false;
  }
  if (n->op == IR_NODE_MOD && ir_types[x0->type].is_float && !ir_attr_int(n, "fmod", 0))
    return op_fail(g, n, "floating-point Mod needs fmod=1");
  return op_set_out(g, n, 0, is_compare(n->op) ? IR_BOOL : x0->type, rank, shape);
}

/* Python's modulo for integers: the result takes the divisor's sign. */
static ir_expr *int_mod(ir_lower *L, ir_expr *a, ir_expr *b)
{
  ir_expr *r = ex_bin(L, IR_MOD, a, b);
  ir_expr *fix = ex_bin(L, IR_AND, ex_bin(L, IR_NE, r, ex_cast(L, r ? r->type : IR_I64, ex_int(L, 0))),
                        ex_bin(L, IR_NE, ex_bin(L, IR_LT, r, ex_int(L, 0)), ex_bin(L, IR_LT, b, ex_int(L, 0))));
  return ex_sel(L, fix, ex_bin(L, IR_ADD, r, b), r);
}

static ir_expr *binary_expr(ir_lower *L, const ir_node *n, ir_expr *a, ir_expr *b, ir_type t)
{
  switch (n->op) {
  case IR_NODE_ADD: case IR_NODE_SUM: case IR_NODE_MEAN: return ex_bin(L, IR_ADD, a, b);
  case IR_NODE_SUB: return ex_bin(L, IR_SUB, a, b);
  case IR_NODE_MUL: return ex_bin(L, IR_MUL, a, b);
  case IR_NODE_DIV: return ex_bin(L, IR_DIV, a, b);
  case IR_NODE_MAX: return fn2(L, IR_FN_MAX, a, b);
  case IR_NODE_MIN: return fn2(L, IR_FN_MIN, a, b);
  case IR_NODE_EQUAL: return ex_bin(L, IR_EQ, a, b);
  case IR_NODE_LESS: return ex_bin(L, IR_LT, a, b);
  case IR_NODE_GREATER: return ex_bin(L, IR_GT, a, b);
  case IR_NODE_LESSOREQUAL: return ex_bin(L, IR_LE, a, b);
  case IR_NODE_GREATEROREQUAL: return ex_bin(L, IR_GE, a, b);
  case IR_NODE_AND: return ex_bin(L, IR_AND, a, b);
  case IR_NODE_OR: return ex_bin(L, IR_OR, a, b);
  case IR_NODE_XOR: return ex_bin(L, IR_NE, a, b);
  case IR_NODE_PRELU: return ex_sel(L, ex_bin(L, IR_LT, a, ex_const(L, 0, t)), ex_bin(L, IR_MUL, b, a), a);
  case IR_NODE_POW:
    return ex_cast(L, t, ex_fn(L, IR_FN_POW, ir_types[t].is_float ? t : IR_F64, a, b));
  case IR_NODE_MOD:
    return ir_attr_int(n, "fmod", 0) ? (ir_types[t].is_float ? fn2(L, IR_FN_FMOD, a, b) : ex_bin(L, IR_MOD, a, b))
                                     : int_mod(L, a, b);
  default: return NULL;
  }
}

static bool lower_nary(ir_lower *L, ir_node *n)
{
  int y = lw_out(L, n->out[0]);
  if (y < 0)
    return false;
  int r = lw_tensor(L, y)->rank;
  ir_type t = lw_tensor(L, lw_in(L, n->in[0]))->type;
  ir_expr *acc = ex_bcast(L, lw_in(L, n->in[0]), r, 0);
  int legacy = legacy_axis(L->g, n);
  for (int k = 1; k < n->n_in; k++)
    acc = binary_expr(L, n, acc, legacy >= 0 ? legacy_read(L, lw_in(L, n->in[k]), legacy)
                                              : ex_bcast(L, lw_in(L, n->in[k]), r, 0), t);
  if (n->op == IR_NODE_MEAN)
    acc = ex_bin(L, IR_DIV, acc, ex_const(L, n->n_in, t));
  return st_map(L, y, acc);
}

static bool lower_where(ir_lower *L, ir_node *n)
{
  int y = lw_out(L, n->out[0]);
  if (y < 0)
    return false;
  int r = lw_tensor(L, y)->rank;
  ir_expr *c = ex_bcast(L, lw_in(L, n->in[0]), r, 0);
  return st_map(L, y, ex_sel(L, c, ex_bcast(L, lw_in(L, n->in[1]), r, 0), ex_bcast(L, lw_in(L, n->in[2]), r, 0)));
}

static bool infer_clip(ir_graph *g, ir_node *n)
{
  for (int k = 1; k < n->n_in; k++)
    if (op_in(g, n, k) && op_in(g, n, k)->rank != 0)
      return op_fail(g, n, "min and max must be scalars");
  return infer_same(g, n);
}

static ir_expr *clip_bound(ir_lower *L, const ir_node *n, int k, const char *attr, ir_type t)
{
  if (n->opset < 11) {
    const ir_attr *a = ir_node_attr(n, attr);
    return a ? ex_const(L, ir_attr_float(n, attr, 0), t) : NULL;
  }
  if (k >= n->n_in || n->in[k] < 0)
    return NULL;
  return ex_read(L, lw_in(L, n->in[k]), NULL, false);
}

static bool lower_clip(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]);
  if (x < 0)
    return false;
  ir_type t = lw_tensor(L, x)->type;
  ir_expr *e = ex_at(L, x, 0);
  ir_expr *lo = clip_bound(L, n, 1, "min", t), *hi = clip_bound(L, n, 2, "max", t);
  if (lo)
    e = ex_sel(L, ex_bin(L, IR_LT, e, lo), lo, e);
  if (hi)
    e = ex_sel(L, ex_bin(L, IR_GT, e, hi), hi, e);
  return st_map(L, lw_out(L, n->out[0]), e);
}

static bool infer_cast(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  ir_type t;
  if (n->op == IR_NODE_CASTLIKE) {
    if (!op_in(g, n, 1))
      return op_fail(g, n, "missing input");
    t = op_in(g, n, 1)->type;
  } else if (!ir_type_from_onnx(ir_attr_int(n, "to", 0), &t)) {
    return op_fail(g, n, "target type %lld is not supported", (long long)ir_attr_int(n, "to", 0));
  }
  return x ? op_set_out(g, n, 0, t, x->rank, x->shape) : op_fail(g, n, "missing input");
}

static bool lower_cast(ir_lower *L, ir_node *n)
{
  int y = lw_out(L, n->out[0]);
  return y >= 0 && st_map(L, y, ex_cast(L, lw_tensor(L, y)->type, ex_at(L, lw_in(L, n->in[0]), 0)));
}

/* ------------------------------------------------------------------------
 * Shapes, constants and data movement
 * ------------------------------------------------------------------------ */

static bool set_const_out(ir_graph *g, ir_node *n, ir_type t, int rank, const int64_t *shape, const void *data)
{
  if (!op_set_out(g, n, 0, t, rank, shape))
    return false;
  ir_value *y = op_out(g, n, 0);
  if (!y)
    return true;
  void *p = ir_alloc(g->ctx, ir_value_bytes(y) + 1);
  if (!p)
    return false;
  memcpy(p, data, ir_value_bytes(y));
  y->data = p;
  return true;
}

static bool infer_shape(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  int64_t start = ir_attr_int(n, "start", 0), end = ir_attr_int(n, "end", x->rank);
  start = start < 0 ? start + x->rank : start;
  end = end < 0 ? end + x->rank : end;
  start = start < 0 ? 0 : start > x->rank ? x->rank : start;
  end = end < start ? start : end > x->rank ? x->rank : end;
  int64_t len = end - start;
  if (n->op == IR_NODE_SIZE) {
    int64_t numel = ir_value_numel(x);
    return set_const_out(g, n, IR_I64, 0, NULL, &numel);
  }
  return set_const_out(g, n, IR_I64, 1, &len, x->shape + start);
}

static bool infer_constant(ir_graph *g, ir_node *n)
{
  const ir_attr *a = n->n_attrs == 1 ? &n->attrs[0] : NULL;
  if (!a)
    return op_fail(g, n, "exactly one attribute expected");
  if (a->kind == IR_ATTR_TENSOR) {
    const ir_value *v = &g->values[a->value];
    return set_const_out(g, n, v->type, v->rank, v->shape, v->data);
  }
  int64_t count = a->n;
  float f = (float)a->f;
  if (!strcmp(a->name, "value_float"))
    return set_const_out(g, n, IR_F32, 0, NULL, &f);
  if (!strcmp(a->name, "value_int"))
    return set_const_out(g, n, IR_I64, 0, NULL, &a->i);
  if (!strcmp(a->name, "value_ints") && a->kind == IR_ATTR_INTS)
    return set_const_out(g, n, IR_I64, 1, &count, a->ints);
  if (!strcmp(a->name, "value_floats") && a->kind == IR_ATTR_FLOATS) {
    float *fs = IR_NEW_ARRAY(g->ctx, float, count);
    for (int k = 0; fs && k < count; k++)
      fs[k] = (float)a->floats[k];
    return fs && set_const_out(g, n, IR_F32, 1, &count, fs);
  }
  return op_fail(g, n, "attribute '%s' is not supported", a->name);
}

static bool infer_constant_of_shape(ir_graph *g, ir_node *n)
{
  const ir_value *s = op_in(g, n, 0);
  const ir_attr *a = ir_node_attr(n, "value");
  const ir_value *fill = a && a->kind == IR_ATTR_TENSOR ? &g->values[a->value] : NULL;
  ir_type t = fill ? fill->type : IR_F32;
  int64_t shape[IR_MAX_RANK];
  int64_t rank = ir_value_numel(s);
  if (rank > IR_MAX_RANK || s->rank != 1)
    return op_fail(g, n, "shape must be a list of at most %d sizes", IR_MAX_RANK);
  for (int d = 0; d < rank; d++)
    shape[d] = op_const_int(s, d);
  if (!op_set_out(g, n, 0, t, (int)rank, shape))
    return false;
  ir_value *y = op_out(g, n, 0);
  size_t bytes = ir_value_bytes(y), es = (size_t)ir_types[t].bytes;
  if (bytes > ((size_t)1 << 28))
    return op_fail(g, n, "output is too large for a constant");
  unsigned char *p = ir_alloc(g->ctx, bytes + 1);
  for (size_t k = 0; p && fill && fill->data && k < bytes; k += es)
    memcpy(p + k, fill->data, es);
  y->data = p;
  return p != NULL;
}

static double range_elem(const ir_value *v)
{
  switch (v->type) {
  case IR_F32: return ((const float *)v->data)[0];
  case IR_F64: return ((const double *)v->data)[0];
  default: return (double)op_const_int(v, 0);
  }
}

static void range_store(ir_type t, void *p, int64_t k, double x)
{
  switch (t) {
  case IR_F32: ((float *)p)[k] = (float)x; break;
  case IR_F64: ((double *)p)[k] = x; break;
  case IR_I16: ((int16_t *)p)[k] = (int16_t)x; break;
  case IR_I32: ((int32_t *)p)[k] = (int32_t)x; break;
  default: ((int64_t *)p)[k] = (int64_t)x; break;
  }
}

static bool infer_range(ir_graph *g, ir_node *n)
{
  const ir_value *s = op_in(g, n, 0), *l = op_in(g, n, 1), *d = op_in(g, n, 2);
  if (!s || !l || !d || s->rank != 0 || l->rank != 0 || d->rank != 0)
    return op_fail(g, n, "scalar start, limit and delta expected");
  double start = range_elem(s), limit = range_elem(l), delta = range_elem(d);
  double count = delta != 0 ? ceil((limit - start) / delta) : -1;
  if (delta == 0 || !(count < (1 << 24)))
    return op_fail(g, n, "delta is 0 or the range is too long");
  int64_t len = count > 0 ? (int64_t)count : 0;
  if (!op_set_out(g, n, 0, s->type, 1, &len))
    return false;
  ir_value *y = op_out(g, n, 0);
  void *p = ir_alloc(g->ctx, ir_value_bytes(y) + 1);
  for (int64_t k = 0; p && k < len; k++)
    range_store(s->type, p, k, start + (double)k * delta);
  y->data = p;
  return p != NULL;
}

/* ------------------------------------------------------------------------
 * Reshapes: Reshape, Flatten, Squeeze, Unsqueeze, Identity-like copies
 * ------------------------------------------------------------------------ */

static bool infer_reshape(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0), *s = op_in(g, n, 1);
  int64_t shape[IR_MAX_RANK], known = 1;
  int64_t rank = s ? ir_value_numel(s) : -1;
  int infer_at = -1;
  if (!s || s->rank != 1 || rank > IR_MAX_RANK)
    return op_fail(g, n, "shape must be a constant list of at most %d sizes", IR_MAX_RANK);
  for (int d = 0; d < rank; d++) {
    shape[d] = op_const_int(s, d);
    if (shape[d] == 0 && !ir_attr_int(n, "allowzero", 0))
      shape[d] = d < x->rank ? x->shape[d] : -2;
    if (shape[d] == -1 && infer_at < 0)
      infer_at = d;
    else if (shape[d] < 0 || __builtin_mul_overflow(known, shape[d], &known))
      return op_fail(g, n, "invalid target shape");
  }
  if (infer_at >= 0)
    shape[infer_at] = known ? ir_value_numel(x) / known : 0;
  if (ir_value_numel(x) != (infer_at >= 0 ? shape[infer_at] * known : known))
    return op_fail(g, n, "cannot reshape %lld elements to the target shape", (long long)ir_value_numel(x));
  return op_set_out(g, n, 0, x->type, (int)rank, shape);
}

static bool infer_flatten(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  int64_t axis = ir_attr_int(n, "axis", 1);
  axis = axis < 0 ? axis + x->rank : axis;
  if (axis < 0 || axis > x->rank)
    return op_fail(g, n, "axis %lld is out of range", (long long)ir_attr_int(n, "axis", 1));
  int64_t shape[2] = {1, 1};
  for (int d = 0; d < x->rank; d++)
    shape[d >= axis] *= x->shape[d];
  return op_set_out(g, n, 0, x->type, 2, shape);
}

static bool infer_squeeze(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  int64_t axes[IR_MAX_RANK], shape[IR_MAX_RANK];
  bool drop[IR_MAX_RANK] = {false}, present;
  int n_axes, rank = 0, a;
  if (!op_int_list(g, n, "axes", 1, 13, axes, &n_axes, &present))
    return false;
  for (int k = 0; k < n_axes; k++) {
    if (!op_axis(g, n, axes[k], x->rank, &a))
      return false;
    if (x->shape[a] != 1)
      return op_fail(g, n, "dimension %d is %lld, not 1", a, (long long)x->shape[a]);
    drop[a] = true;
  }
  for (int d = 0; d < x->rank; d++)
    if (!(present ? drop[d] : x->shape[d] == 1))
      shape[rank++] = x->shape[d];
  return op_set_out(g, n, 0, x->type, rank, shape);
}

static bool infer_unsqueeze(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  int64_t axes[IR_MAX_RANK], shape[IR_MAX_RANK];
  bool ins[IR_MAX_RANK] = {false}, present;
  int n_axes, a;
  if (!op_int_list(g, n, "axes", 1, 13, axes, &n_axes, &present))
    return false;
  int rank = x->rank + n_axes;
  if (!present || rank > IR_MAX_RANK)
    return op_fail(g, n, "axes missing or rank too large");
  for (int k = 0; k < n_axes; k++) {
    if (!op_axis(g, n, axes[k], rank, &a) || ins[a])
      return op_fail(g, n, "invalid axes");
    ins[a] = true;
  }
  for (int d = 0, j = 0; d < rank; d++)
    shape[d] = ins[d] ? 1 : x->shape[j++];
  return op_set_out(g, n, 0, x->type, rank, shape);
}

/* Non-unit dimensions of a tensor, in order, with their positions. */
static int nonunit_dims(ir_lower *L, int t, int *pos)
{
  int m = 0;
  for (int d = 0; d < lw_tensor(L, t)->rank; d++)
    if (lw_dim(L, t, d) != 1)
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
    if (lw_dim(L, x, px[k]) != lw_dim(L, y, py[k]))
      return false;
  for (int d = 0; d < lw_tensor(L, x)->rank; d++)
    idx[d] = ex_int(L, 0);
  for (int k = 0; k < mx; k++)
    idx[px[k]] = ex_idx(L, py[k]);
  return true;
}

/* Row-major flat position of y's index variables, unflattened for x. */
static void reshape_flat(ir_lower *L, int x, int y, ir_expr **idx)
{
  ir_expr *flat = ex_int(L, 0);
  for (int d = 0; d < lw_tensor(L, y)->rank; d++)
    flat = ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, flat, ex_int(L, lw_dim(L, y, d))), ex_idx(L, d));
  int64_t stride = 1;
  for (int d = lw_tensor(L, x)->rank - 1; d >= 0; d--) {
    int64_t dim = lw_dim(L, x, d);
    ir_expr *q = stride == 1 ? flat : ex_bin(L, IR_DIV, flat, ex_int(L, stride));
    idx[d] = dim == 1 ? ex_int(L, 0) : d == 0 ? q : ex_bin(L, IR_MOD, q, ex_int(L, dim));
    stride *= dim ? dim : 1;
  }
}

static bool lower_reshape(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  ir_expr *idx[IR_MAX_RANK];
  if (x < 0 || y < 0)
    return false;
  if (!reshape_direct(L, x, y, idx))
    reshape_flat(L, x, y, idx);
  return st_map(L, y, ex_read(L, x, idx, false));
}

static bool infer_transpose(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  const ir_attr *p = ir_node_attr(n, "perm");
  int64_t shape[IR_MAX_RANK];
  bool seen[IR_MAX_RANK] = {false};
  if (p && (p->kind != IR_ATTR_INTS || p->n != x->rank))
    return op_fail(g, n, "perm must list %d axes", x->rank);
  for (int d = 0; d < x->rank; d++) {
    int64_t a = p ? p->ints[d] : x->rank - 1 - d;
    if (a < 0 || a >= x->rank || seen[a])
      return op_fail(g, n, "perm is not a permutation");
    seen[a] = true;
    shape[d] = x->shape[a];
  }
  return op_set_out(g, n, 0, x->type, x->rank, shape);
}

static bool lower_transpose(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  const ir_attr *p = ir_node_attr(n, "perm");
  ir_expr *idx[IR_MAX_RANK];
  if (x < 0 || y < 0)
    return false;
  int r = lw_tensor(L, x)->rank;
  for (int d = 0; d < r; d++)
    idx[p ? p->ints[d] : r - 1 - d] = ex_idx(L, d);
  return st_map(L, y, ex_read(L, x, idx, false));
}

/* ------------------------------------------------------------------------
 * Concat, Split, Slice
 * ------------------------------------------------------------------------ */

static bool infer_concat(ir_graph *g, ir_node *n)
{
  const ir_value *x0 = op_in(g, n, 0);
  int axis;
  if (!x0 || !op_axis(g, n, ir_attr_int(n, "axis", 0), x0->rank, &axis))
    return op_fail(g, n, "missing input or axis");
  int64_t shape[IR_MAX_RANK];
  memcpy(shape, x0->shape, sizeof(int64_t) * (size_t)x0->rank);
  shape[axis] = 0;
  for (int k = 0; k < n->n_in; k++) {
    const ir_value *x = op_in(g, n, k);
    if (!x || x->rank != x0->rank)
      return op_fail(g, n, "inputs must have the same rank");
    for (int d = 0; d < x->rank; d++)
      if (d != axis && x->shape[d] != x0->shape[d])
        return op_fail(g, n, "input %d differs in dimension %d", k, d);
    shape[axis] += x->shape[axis];
  }
  return op_set_out(g, n, 0, x0->type, x0->rank, shape);
}

/* y(..., i_axis, ...) = x(..., i_axis - off, ...) for i_axis in off:off+len. */
static bool copy_band(ir_lower *L, int y, int x, int axis, int64_t off, int64_t len, int64_t src_off)
{
  int r = lw_tensor(L, y)->rank;
  int64_t hi[IR_MAX_RANK];
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < r; d++) {
    hi[d] = lw_dim(L, y, d);
    idx[d] = ex_idx(L, d);
  }
  idx[axis] = ex_bin(L, IR_ADD, ex_idx(L, axis), ex_int(L, src_off - off));
  ir_stmt *s = st_new(L, y, r, 0, hi);
  st_range(s, L, axis, off, off + len);
  return st_emit(L, s, IR_RED_NONE, false, ex_read(L, x, idx, false));
}

static bool lower_concat(ir_lower *L, ir_node *n)
{
  int y = lw_out(L, n->out[0]);
  if (y < 0)
    return false;
  int axis = (int)ir_attr_int(n, "axis", 0);
  axis = axis < 0 ? axis + lw_tensor(L, y)->rank : axis;
  int64_t off = 0;
  for (int k = 0; k < n->n_in; k++) {
    int x = lw_in(L, n->in[k]);
    if (x < 0)
      return false;
    int64_t len = lw_dim(L, x, axis);
    if (len > 0 && !copy_band(L, y, x, axis, off, len, 0))
      return false;
    off += len;
  }
  return true;
}

static bool split_sizes(ir_graph *g, ir_node *n, int axis, int64_t *sizes)
{
  const ir_value *x = op_in(g, n, 0);
  int64_t list[IR_MAX_RANK * 4];
  const ir_attr *a = ir_node_attr(n, "split");
  const ir_value *s = op_in(g, n, 1);
  int count = 0;
  if (n->opset < 13 && a && a->kind == IR_ATTR_INTS && a->n <= (int)(sizeof(list) / sizeof(list[0]))) {
    memcpy(list, a->ints, sizeof(int64_t) * (size_t)a->n);
    count = a->n;
  } else if (n->opset >= 13 && s && s->data && ir_value_numel(s) <= (int64_t)(sizeof(list) / sizeof(list[0]))) {
    count = (int)ir_value_numel(s);
    for (int k = 0; k < count; k++)
      list[k] = op_const_int(s, k);
  }
  int64_t total = 0, dim = x->shape[axis], parts = n->n_out;
  for (int k = 0; k < n->n_out; k++) {
    int64_t chunk = (dim + parts - 1) / parts;
    sizes[k] = count ? (k < count ? list[k] : -1) : (k < parts - 1 ? chunk : dim - chunk * (parts - 1));
    if (sizes[k] < 0)
      return op_fail(g, n, "invalid split sizes");
    total += sizes[k];
  }
  if ((count && count != n->n_out) || total != dim)
    return op_fail(g, n, "split sizes do not add up to dimension %lld", (long long)dim);
  return true;
}

static bool infer_split(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  int64_t sizes[IR_MAX_RANK * 4], shape[IR_MAX_RANK];
  int axis;
  if (n->n_out > (int)(sizeof(sizes) / sizeof(sizes[0])))
    return op_fail(g, n, "too many outputs");
  if (!op_axis(g, n, ir_attr_int(n, "axis", 0), x->rank, &axis) || !split_sizes(g, n, axis, sizes))
    return false;
  memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->rank);
  for (int k = 0; k < n->n_out; k++) {
    shape[axis] = sizes[k];
    if (!op_set_out(g, n, k, x->type, x->rank, shape))
      return false;
  }
  return true;
}

static bool lower_split(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]);
  if (x < 0)
    return false;
  int r = lw_tensor(L, x)->rank;
  int axis = (int)ir_attr_int(n, "axis", 0);
  axis = axis < 0 ? axis + r : axis;
  int64_t off = 0;
  for (int k = 0; k < n->n_out; k++) {
    const ir_value *v = op_out(L->g, n, k);
    if (!v)
      return false;
    int y = lw_out(L, n->out[k]);
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

static void slice_axis(slice_plan *p, int a, int64_t dim, int64_t start, int64_t end, int64_t step)
{
  start = start < 0 ? start + dim : start;
  end = end < 0 ? end + dim : end;
  start = step > 0 ? clamp64(start, 0, dim) : clamp64(start, 0, dim - 1);
  end = step > 0 ? clamp64(end, 0, dim) : clamp64(end, -1, dim - 1);
  int64_t len = step > 0 ? (end - start + step - 1) / step : (start - end - step - 1) / -step;
  p->start[a] = start;
  p->step[a] = step;
  p->len[a] = len > 0 ? len : 0;
}

static bool slice_lists(ir_graph *g, ir_node *n, int64_t l[4][IR_MAX_RANK], int *cnt, bool *has)
{
  static const char *const names[4] = {"starts", "ends", "axes", "steps"};
  for (int k = 0; k < 4; k++)
    if (!op_int_list(g, n, names[k], k + 1, 10, l[k], &cnt[k], &has[k]))
      return false;
  return true;
}

static bool slice_plan_of(ir_graph *g, ir_node *n, slice_plan *p)
{
  const ir_value *x = op_in(g, n, 0);
  int64_t l[4][IR_MAX_RANK];
  int cnt[4], a;
  bool has[4];
  if (!slice_lists(g, n, l, cnt, has))
    return false;
  if (cnt[0] != cnt[1] || (has[2] && cnt[2] != cnt[0]) || (has[3] && cnt[3] != cnt[0]))
    return op_fail(g, n, "starts, ends, axes and steps differ in length");
  for (int d = 0; d < x->rank; d++)
    slice_axis(p, d, x->shape[d], 0, x->shape[d], 1);
  for (int k = 0; k < cnt[0]; k++) {
    int64_t step = has[3] ? l[3][k] : 1;
    if (!op_axis(g, n, has[2] ? l[2][k] : k, x->rank, &a) || step == 0)
      return op_fail(g, n, "invalid axis or step");
    slice_axis(p, a, x->shape[a], l[0][k], l[1][k], step);
  }
  return true;
}

static bool infer_slice(ir_graph *g, ir_node *n)
{
  slice_plan p;
  const ir_value *x = op_in(g, n, 0);
  return slice_plan_of(g, n, &p) && op_set_out(g, n, 0, x->type, x->rank, p.len);
}

static bool lower_slice(ir_lower *L, ir_node *n)
{
  slice_plan p;
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  ir_expr *idx[IR_MAX_RANK];
  if (x < 0 || y < 0 || !slice_plan_of(L->g, n, &p))
    return false;
  for (int d = 0; d < lw_tensor(L, x)->rank; d++)
    idx[d] = ex_bin(L, IR_ADD, ex_int(L, p.start[d]), ex_bin(L, IR_MUL, ex_idx(L, d), ex_int(L, p.step[d])));
  return st_map(L, y, ex_read(L, x, idx, false));
}

/* ------------------------------------------------------------------------
 * Gather, GatherElements, Expand, Tile, Pad
 * ------------------------------------------------------------------------ */

static bool infer_gather(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0), *i = op_in(g, n, 1);
  int axis, rank = 0;
  int64_t shape[IR_MAX_RANK];
  if (!i || ir_types[i->type].is_float || !op_axis(g, n, ir_attr_int(n, "axis", 0), x->rank, &axis))
    return op_fail(g, n, "integer indices and a valid axis expected");
  if (n->op == IR_NODE_GATHERELEMENTS)
    return i->rank == x->rank ? op_set_out(g, n, 0, x->type, i->rank, i->shape) : op_fail(g, n, "rank mismatch");
  if (x->rank + i->rank - 1 > IR_MAX_RANK)
    return op_fail(g, n, "output rank too large");
  for (int d = 0; d < axis; d++)
    shape[rank++] = x->shape[d];
  for (int d = 0; d < i->rank; d++)
    shape[rank++] = i->shape[d];
  for (int d = axis + 1; d < x->rank; d++)
    shape[rank++] = x->shape[d];
  return op_set_out(g, n, 0, x->type, rank, shape);
}

/* An index read from an indices tensor, negative values counted from dim. */
static ir_expr *wrap_index(ir_lower *L, ir_expr *i, int64_t dim)
{
  i = ex_cast(L, IR_I64, i);
  return ex_sel(L, ex_bin(L, IR_LT, i, ex_int(L, 0)), ex_bin(L, IR_ADD, i, ex_int(L, dim)), i);
}

static bool lower_gather(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), ii = lw_in(L, n->in[1]), y = lw_out(L, n->out[0]);
  if (x < 0 || ii < 0 || y < 0)
    return false;
  int rx = lw_tensor(L, x)->rank, ri = lw_tensor(L, ii)->rank;
  int axis = (int)ir_attr_int(n, "axis", 0);
  axis = axis < 0 ? axis + rx : axis;
  ir_expr *idx[IR_MAX_RANK];
  if (n->op == IR_NODE_GATHERELEMENTS) {
    for (int d = 0; d < rx; d++)
      idx[d] = ex_idx(L, d);
    idx[axis] = wrap_index(L, ex_at(L, ii, 0), lw_dim(L, x, axis));
    return st_map(L, y, ex_read(L, x, idx, false));
  }
  for (int d = 0; d < axis; d++)
    idx[d] = ex_idx(L, d);
  idx[axis] = wrap_index(L, ex_at(L, ii, axis), lw_dim(L, x, axis));
  for (int d = axis + 1; d < rx; d++)
    idx[d] = ex_idx(L, d + ri - 1);
  return st_map(L, y, ex_read(L, x, idx, false));
}

static bool infer_expand(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0), *s = op_in(g, n, 1);
  int64_t shape[IR_MAX_RANK], out[IR_MAX_RANK];
  int64_t rank = ir_value_numel(s);
  int r;
  if (s->rank != 1 || rank > IR_MAX_RANK)
    return op_fail(g, n, "shape must be a list of at most %d sizes", IR_MAX_RANK);
  for (int d = 0; d < rank; d++)
    shape[d] = op_const_int(s, d);
  return op_broadcast(g, n, x->rank, x->shape, (int)rank, shape, &r, out) && op_set_out(g, n, 0, x->type, r, out);
}

static bool lower_expand(ir_lower *L, ir_node *n)
{
  int y = lw_out(L, n->out[0]);
  return y >= 0 && st_map(L, y, ex_bcast(L, lw_in(L, n->in[0]), lw_tensor(L, y)->rank, 0));
}

static bool infer_tile(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0), *r = op_in(g, n, 1);
  int64_t shape[IR_MAX_RANK];
  if (r->rank != 1 || ir_value_numel(r) != x->rank)
    return op_fail(g, n, "repeats must list %d counts", x->rank);
  for (int d = 0; d < x->rank; d++)
    if (op_const_int(r, d) < 0 || __builtin_mul_overflow(x->shape[d], op_const_int(r, d), &shape[d]))
      return op_fail(g, n, "invalid repeats");
  return op_set_out(g, n, 0, x->type, x->rank, shape);
}

static bool lower_tile(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  ir_expr *idx[IR_MAX_RANK];
  if (x < 0 || y < 0)
    return false;
  for (int d = 0; d < lw_tensor(L, x)->rank; d++)
    idx[d] = lw_dim(L, x, d) == lw_dim(L, y, d) ? ex_idx(L, d)
                                                      : ex_bin(L, IR_MOD, ex_idx(L, d), ex_int(L, lw_dim(L, x, d)));
  return st_map(L, y, ex_read(L, x, idx, false));
}

typedef struct pad_plan {
  int64_t begin[IR_MAX_RANK], end[IR_MAX_RANK];
} pad_plan;

static bool pad_plan_of(ir_graph *g, ir_node *n, pad_plan *p)
{
  const ir_value *x = op_in(g, n, 0);
  int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK];
  int n_pads = 0, n_axes = 0, a;
  bool has_axes = false;
  const ir_attr *pa = ir_node_attr(n, n->opset < 11 ? "pads" : "");
  const ir_value *pv = op_in(g, n, 1);
  if (pa && pa->kind == IR_ATTR_INTS && pa->n <= 2 * IR_MAX_RANK) {
    n_pads = pa->n;
    memcpy(pads, pa->ints, sizeof(int64_t) * (size_t)n_pads);
  } else if (n->opset >= 11 && pv && pv->data && ir_value_numel(pv) <= 2 * IR_MAX_RANK) {
    n_pads = (int)ir_value_numel(pv);
    for (int k = 0; k < n_pads; k++)
      pads[k] = op_const_int(pv, k);
  }
  if (n->opset >= 18 && op_in(g, n, 3) && !op_int_list(g, n, "axes", 3, 18, axes, &n_axes, &has_axes))
    return false;
  int m = has_axes ? n_axes : x->rank;
  if (n_pads != 2 * m)
    return op_fail(g, n, "pads must list %d values", 2 * m);
  memset(p, 0, sizeof(*p));
  for (int k = 0; k < m; k++) {
    if (!op_axis(g, n, has_axes ? axes[k] : k, x->rank, &a))
      return false;
    p->begin[a] = pads[k];
    p->end[a] = pads[k + m];
  }
  return true;
}

static bool infer_pad(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  const char *mode = ir_attr_string(n, "mode", "constant");
  pad_plan p;
  int64_t shape[IR_MAX_RANK];
  if (strcmp(mode, "constant") && strcmp(mode, "reflect") && strcmp(mode, "edge"))
    return op_fail(g, n, "mode '%s' is not supported", mode);
  if (!pad_plan_of(g, n, &p))
    return false;
  for (int d = 0; d < x->rank; d++) {
    shape[d] = x->shape[d] + p.begin[d] + p.end[d];
    if (shape[d] < 0 || (strcmp(mode, "constant") && x->shape[d] == 0 && shape[d] > 0))
      return op_fail(g, n, "invalid pads for dimension %d", d);
  }
  return op_set_out(g, n, 0, x->type, x->rank, shape);
}

/* Source index for reflect and edge padding of dimension dim. */
static ir_expr *pad_source(ir_lower *L, ir_expr *i, int64_t dim, bool reflect)
{
  if (!reflect)
    return fn2(L, IR_FN_MIN, fn2(L, IR_FN_MAX, i, ex_int(L, 0)), ex_int(L, dim - 1));
  if (dim == 1)
    return ex_int(L, 0);
  int64_t period = 2 * (dim - 1);
  ir_expr *m = ex_bin(L, IR_MOD, ex_bin(L, IR_ADD, ex_bin(L, IR_MOD, i, ex_int(L, period)), ex_int(L, period)),
                      ex_int(L, period));
  return ex_sel(L, ex_bin(L, IR_LT, m, ex_int(L, dim)), m, ex_bin(L, IR_SUB, ex_int(L, period), m));
}

static bool lower_pad(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  const char *mode = ir_attr_string(n, "mode", "constant");
  pad_plan p;
  ir_expr *idx[IR_MAX_RANK], *inside = ex_cast(L, IR_BOOL, ex_int(L, 1));
  if (x < 0 || y < 0 || !pad_plan_of(L->g, n, &p))
    return false;
  ir_type t = lw_tensor(L, x)->type;
  for (int d = 0; d < lw_tensor(L, x)->rank; d++) {
    idx[d] = ex_bin(L, IR_SUB, ex_idx(L, d), ex_int(L, p.begin[d]));
    inside = ex_bin(L, IR_AND, inside, ex_in_range(L, idx[d], 0, lw_dim(L, x, d)));
    if (strcmp(mode, "constant"))
      idx[d] = pad_source(L, idx[d], lw_dim(L, x, d), !strcmp(mode, "reflect"));
  }
  if (strcmp(mode, "constant"))
    return st_map(L, y, ex_read(L, x, idx, false));
  ir_expr *cv = n->opset < 11 ? ex_const(L, ir_attr_float(n, "value", 0), t)
                : n->n_in > 2 && n->in[2] >= 0 ? ex_read(L, lw_in(L, n->in[2]), NULL, false) : ex_const(L, 0, t);
  return st_map(L, y, ex_sel(L, inside, ex_read(L, x, idx, true), cv));
}

/* ------------------------------------------------------------------------
 * Small generators: EyeLike, Trilu, CumSum, DepthToSpace, SpaceToDepth
 * ------------------------------------------------------------------------ */

static bool infer_eyelike(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  ir_type t = x->type;
  if (ir_node_attr(n, "dtype") && !ir_type_from_onnx(ir_attr_int(n, "dtype", 1), &t))
    return op_fail(g, n, "dtype is not supported");
  return x->rank == 2 ? op_set_out(g, n, 0, t, 2, x->shape) : op_fail(g, n, "rank 2 expected");
}

static bool lower_eyelike(ir_lower *L, ir_node *n)
{
  int y = lw_out(L, n->out[0]);
  if (y < 0)
    return false;
  ir_expr *diag = ex_bin(L, IR_EQ, ex_bin(L, IR_SUB, ex_idx(L, 1), ex_idx(L, 0)), ex_int(L, ir_attr_int(n, "k", 0)));
  return st_map(L, y, ex_cast(L, lw_tensor(L, y)->type, diag));
}

static bool lower_trilu(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  const ir_value *kv = op_in(L->g, n, 1);
  if (x < 0 || y < 0)
    return false;
  int r = lw_tensor(L, x)->rank;
  ir_expr *diff = ex_bin(L, IR_SUB, ex_idx(L, r - 1), ex_idx(L, r - 2));
  ir_expr *k = ex_int(L, kv ? op_const_int(kv, 0) : 0);
  ir_expr *keep = ex_bin(L, ir_attr_int(n, "upper", 1) ? IR_GE : IR_LE, diff, k);
  return st_map(L, y, ex_sel(L, keep, ex_at(L, x, 0), ex_const(L, 0, lw_tensor(L, x)->type)));
}

static bool infer_trilu(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  return x->rank >= 2 ? infer_same(g, n) : op_fail(g, n, "rank 2 or more expected");
}

static bool lower_cumsum(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  const ir_value *av = op_in(L->g, n, 1);
  int axis;
  if (x < 0 || y < 0 || !op_axis(L->g, n, op_const_int(av, 0), lw_tensor(L, x)->rank, &axis))
    return false;
  int r = lw_tensor(L, x)->rank;
  int64_t hi[IR_MAX_RANK + 1];
  ir_expr *idx[IR_MAX_RANK];
  for (int d = 0; d < r; d++) {
    hi[d] = lw_dim(L, x, d);
    idx[d] = ex_idx(L, d);
  }
  hi[r] = hi[axis];
  idx[axis] = ex_idx(L, r);
  bool rev = ir_attr_int(n, "reverse", 0), excl = ir_attr_int(n, "exclusive", 0);
  ir_op op = rev ? (excl ? IR_GT : IR_GE) : (excl ? IR_LT : IR_LE);
  ir_expr *take = ex_bin(L, op, ex_idx(L, r), ex_idx(L, axis));
  ir_expr *rhs = ex_sel(L, take, ex_read(L, x, idx, false), ex_const(L, 0, lw_tensor(L, x)->type));
  return st_emit(L, st_new(L, y, r, 1, hi), IR_RED_ADD, true, rhs);
}

static bool infer_cumsum(ir_graph *g, ir_node *n)
{
  const ir_value *a = op_in(g, n, 1);
  if (!a || ir_value_numel(a) != 1)
    return op_fail(g, n, "axis must be a scalar");
  return infer_same(g, n);
}

static bool infer_depth_space(ir_graph *g, ir_node *n)
{
  const ir_value *x = op_in(g, n, 0);
  int64_t b = ir_attr_int(n, "blocksize", 0), s[4];
  if (x->rank != 4 || b <= 0 || b > (1 << 16))
    return op_fail(g, n, "rank-4 input and a positive blocksize expected");
  bool to_space = n->op == IR_NODE_DEPTHTOSPACE;
  if (to_space ? x->shape[1] % (b * b) : (x->shape[2] % b || x->shape[3] % b))
    return op_fail(g, n, "dimensions are not divisible by the block size");
  s[0] = x->shape[0];
  s[1] = to_space ? x->shape[1] / (b * b) : x->shape[1] * b * b;
  s[2] = to_space ? x->shape[2] * b : x->shape[2] / b;
  s[3] = to_space ? x->shape[3] * b : x->shape[3] / b;
  return op_set_out(g, n, 0, x->type, 4, s);
}

static bool lower_depth_space(ir_lower *L, ir_node *n)
{
  int x = lw_in(L, n->in[0]), y = lw_out(L, n->out[0]);
  if (x < 0 || y < 0)
    return false;
  int64_t b = ir_attr_int(n, "blocksize", 1);
  ir_expr *B = ex_int(L, b), *idx[4];
  idx[0] = ex_idx(L, 0);
  if (n->op == IR_NODE_DEPTHTOSPACE) {
    int64_t c = lw_dim(L, y, 1);
    ir_expr *bh = ex_bin(L, IR_MOD, ex_idx(L, 2), B), *bw = ex_bin(L, IR_MOD, ex_idx(L, 3), B);
    bool crd = !strcmp(ir_attr_string(n, "mode", "DCR"), "CRD");
    ir_expr *blk = ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, bh, B), bw);
    idx[1] = crd ? ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, ex_idx(L, 1), ex_int(L, b * b)), blk)
                 : ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, blk, ex_int(L, c)), ex_idx(L, 1));
    idx[2] = ex_bin(L, IR_DIV, ex_idx(L, 2), B);
    idx[3] = ex_bin(L, IR_DIV, ex_idx(L, 3), B);
  } else {
    int64_t c = lw_dim(L, x, 1);
    ir_expr *blk = ex_bin(L, IR_DIV, ex_idx(L, 1), ex_int(L, c));
    idx[1] = ex_bin(L, IR_MOD, ex_idx(L, 1), ex_int(L, c));
    idx[2] = ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, ex_idx(L, 2), B), ex_bin(L, IR_DIV, blk, B));
    idx[3] = ex_bin(L, IR_ADD, ex_bin(L, IR_MUL, ex_idx(L, 3), B), ex_bin(L, IR_MOD, blk, B));
  }
  return st_map(L, y, ex_read(L, x, idx, false));
}

/* ------------------------------------------------------------------------
 * The op table
 * ------------------------------------------------------------------------ */

typedef struct op_def {
  ir_infer_fn infer;
  ir_lower_fn lower;
  unsigned const_inputs; /* bit k: input k must be constant */
} op_def;

#define UNARY {infer_float_unary, lower_unary, 0}
#define NARY {infer_nary, lower_nary, 0}
#define REDUCE {infer_reduce, lower_reduce, 2}

static const op_def op_defs[] = {
    [IR_NODE_ABS] = {infer_same, lower_unary, 0}, [IR_NODE_ACOS] = UNARY, [IR_NODE_ACOSH] = UNARY,
    [IR_NODE_ADD] = NARY, [IR_NODE_AND] = NARY, [IR_NODE_ARGMAX] = {infer_argmax, lower_argmax, 0},
    [IR_NODE_ARGMIN] = {infer_argmax, lower_argmax, 0}, [IR_NODE_ASIN] = UNARY, [IR_NODE_ASINH] = UNARY,
    [IR_NODE_ATAN] = UNARY, [IR_NODE_ATANH] = UNARY, [IR_NODE_AVERAGEPOOL] = {infer_pool, lower_pool, 0},
    [IR_NODE_BATCHNORM] = {infer_batchnorm, lower_batchnorm, 0}, [IR_NODE_CAST] = {infer_cast, lower_cast, 0},
    [IR_NODE_CASTLIKE] = {infer_cast, lower_cast, 0}, [IR_NODE_CEIL] = UNARY, [IR_NODE_CELU] = UNARY,
    [IR_NODE_CLIP] = {infer_clip, lower_clip, 0}, [IR_NODE_CONCAT] = {infer_concat, lower_concat, 0},
    [IR_NODE_CONSTANT] = {infer_constant, NULL, 0},
    [IR_NODE_CONSTANTOFSHAPE] = {infer_constant_of_shape, NULL, 1}, [IR_NODE_CONV] = {infer_conv, lower_conv, 0},
    [IR_NODE_CONVTRANSPOSE] = {infer_convtranspose, lower_convtranspose, 0}, [IR_NODE_COS] = UNARY,
    [IR_NODE_COSH] = UNARY, [IR_NODE_CUMSUM] = {infer_cumsum, lower_cumsum, 2},
    [IR_NODE_DEPTHTOSPACE] = {infer_depth_space, lower_depth_space, 0},
    [IR_NODE_DEQUANTIZELINEAR] = {infer_quantize, lower_quantize, 0}, [IR_NODE_DIV] = NARY,
    [IR_NODE_DROPOUT] = {infer_dropout, lower_identity, 4}, [IR_NODE_ELU] = UNARY,
    [IR_NODE_EINSUM] = {infer_einsum, lower_einsum, 0}, [IR_NODE_EQUAL] = NARY,
    [IR_NODE_ERF] = UNARY, [IR_NODE_EXP] = UNARY, [IR_NODE_EXPAND] = {infer_expand, lower_expand, 2},
    [IR_NODE_EYELIKE] = {infer_eyelike, lower_eyelike, 0}, [IR_NODE_FLATTEN] = {infer_flatten, lower_reshape, 0},
    [IR_NODE_FLOOR] = UNARY, [IR_NODE_GATHER] = {infer_gather, lower_gather, 0},
    [IR_NODE_GATHERELEMENTS] = {infer_gather, lower_gather, 0},
    [IR_NODE_GATHERND] = {infer_gathernd, lower_gathernd, 0}, [IR_NODE_GEMM] = {infer_gemm, lower_gemm, 0},
    [IR_NODE_GLOBALAVERAGEPOOL] = {infer_global_pool, lower_global_pool, 0},
    [IR_NODE_GLOBALMAXPOOL] = {infer_global_pool, lower_global_pool, 0}, [IR_NODE_GREATER] = NARY,
    [IR_NODE_GREATEROREQUAL] = NARY, [IR_NODE_HARDMAX] = {infer_softmax, lower_softmax, 0},
    [IR_NODE_HARDSIGMOID] = UNARY, [IR_NODE_HARDSWISH] = UNARY, [IR_NODE_IDENTITY] = {infer_same, lower_identity, 0},
    [IR_NODE_INSTANCENORM] = {infer_instancenorm, lower_instancenorm, 0}, [IR_NODE_ISINF] = {infer_isx, lower_unary, 0},
    [IR_NODE_ISNAN] = {infer_isx, lower_unary, 0}, [IR_NODE_LAYERNORM] = {infer_layernorm, lower_layernorm, 0},
    [IR_NODE_LEAKYRELU] = UNARY,
    [IR_NODE_LRN] = {infer_lrn, lower_lrn, 0}, [IR_NODE_LESS] = NARY, [IR_NODE_LESSOREQUAL] = NARY, [IR_NODE_LOG] = UNARY,
    [IR_NODE_LOGSOFTMAX] = {infer_softmax, lower_softmax, 0}, [IR_NODE_MATMUL] = {infer_matmul, lower_matmul, 0},
    [IR_NODE_MAX] = NARY, [IR_NODE_MAXPOOL] = {infer_pool, lower_pool, 0}, [IR_NODE_MEAN] = NARY,
    [IR_NODE_MIN] = NARY, [IR_NODE_MISH] = UNARY, [IR_NODE_MOD] = NARY, [IR_NODE_MUL] = NARY,
    [IR_NODE_NEG] = {infer_same, lower_unary, 0},
    [IR_NODE_NEGATIVELOGLIKELIHOODLOSS] = {infer_loss, lower_loss, 0}, [IR_NODE_NOT] = {infer_bool_unary, lower_unary, 0},
    [IR_NODE_ONEHOT] = {infer_onehot, lower_onehot, 2},
    [IR_NODE_OR] = NARY, [IR_NODE_PAD] = {infer_pad, lower_pad, 2 | 8}, [IR_NODE_POW] = NARY,
    [IR_NODE_PRELU] = NARY,
    [IR_NODE_QUANTIZELINEAR] = {infer_quantize, lower_quantize, 0}, [IR_NODE_RANGE] = {infer_range, NULL, 7}, [IR_NODE_RECIPROCAL] = UNARY,
    [IR_NODE_REDUCEL1] = REDUCE, [IR_NODE_REDUCEL2] = REDUCE, [IR_NODE_REDUCELOGSUM] = REDUCE,
    [IR_NODE_REDUCELOGSUMEXP] = REDUCE, [IR_NODE_REDUCEMAX] = REDUCE, [IR_NODE_REDUCEMEAN] = REDUCE,
    [IR_NODE_REDUCEMIN] = REDUCE, [IR_NODE_REDUCEPROD] = REDUCE, [IR_NODE_REDUCESUM] = REDUCE,
    [IR_NODE_REDUCESUMSQUARE] = REDUCE, [IR_NODE_RELU] = UNARY, [IR_NODE_RESHAPE] = {infer_reshape, lower_reshape, 2},
    [IR_NODE_REVERSESEQUENCE] = {infer_reverse_sequence, lower_reverse_sequence, 0},
    [IR_NODE_RESIZE] = {infer_resize, lower_resize, 2 | 4 | 8},
    [IR_NODE_ROUND] = UNARY, [IR_NODE_SELU] = UNARY, [IR_NODE_SHAPE] = {infer_shape, NULL, 0},
    [IR_NODE_SHRINK] = {infer_same, lower_unary, 0}, [IR_NODE_SIGMOID] = UNARY, [IR_NODE_SIGN] = {infer_same, lower_unary, 0},
    [IR_NODE_SIN] = UNARY, [IR_NODE_SINH] = UNARY, [IR_NODE_SIZE] = {infer_shape, NULL, 0},
    [IR_NODE_SLICE] = {infer_slice, lower_slice, 30}, [IR_NODE_SOFTMAX] = {infer_softmax, lower_softmax, 0},
    [IR_NODE_SOFTMAXCROSSENTROPYLOSS] = {infer_loss, lower_loss, 0},
    [IR_NODE_SOFTPLUS] = UNARY, [IR_NODE_SOFTSIGN] = UNARY,
    [IR_NODE_SPACETODEPTH] = {infer_depth_space, lower_depth_space, 0}, [IR_NODE_SPLIT] = {infer_split, lower_split, 2},
    [IR_NODE_SQRT] = UNARY, [IR_NODE_SQUEEZE] = {infer_squeeze, lower_reshape, 2}, [IR_NODE_SUB] = NARY,
    [IR_NODE_SUM] = NARY, [IR_NODE_TAN] = UNARY, [IR_NODE_TANH] = UNARY, [IR_NODE_THRESHOLDEDRELU] = UNARY,
    [IR_NODE_TILE] = {infer_tile, lower_tile, 2}, [IR_NODE_TRANSPOSE] = {infer_transpose, lower_transpose, 0},
    [IR_NODE_TRILU] = {infer_trilu, lower_trilu, 2}, [IR_NODE_UNSQUEEZE] = {infer_unsqueeze, lower_reshape, 2},
    [IR_NODE_UPSAMPLE] = {infer_resize, lower_resize, 2},
    [IR_NODE_WHERE] = {infer_nary, lower_where, 0}, [IR_NODE_XOR] = NARY,
};
_Static_assert(sizeof(op_defs) / sizeof(op_defs[0]) == IR_NODE_COUNT, "op table");

bool ir_op_needs_const(const ir_node *n, int k)
{
  unsigned mask = op_defs[n->op].const_inputs;
  bool attr_era = (n->op == IR_NODE_SQUEEZE || n->op == IR_NODE_UNSQUEEZE || n->op == IR_NODE_SPLIT) && n->opset < 13;
  if (attr_era || (n->op == IR_NODE_SLICE && n->opset < 10) || (n->op == IR_NODE_PAD && n->opset < 11))
    return false;
  if (n->op >= IR_NODE_REDUCEL1 && n->op <= IR_NODE_REDUCESUMSQUARE)
    return k == 1 && n->opset >= (n->op == IR_NODE_REDUCESUM ? 13 : 18);
  return k < 32 && (mask >> k) & 1;
}

bool ir_op_lowerable(ir_node_op op)
{
  return op_defs[op].lower != NULL;
}

bool ir_op_infer(ir_graph *g, ir_node *n)
{
  if (!op_defs[n->op].infer)
    return op_fail(g, n, "operator is not supported");
  if (n->n_in < 1 && n->op != IR_NODE_CONSTANT)
    return op_fail(g, n, "missing input");
  if (n->op != IR_NODE_CONSTANT && n->op != IR_NODE_SUM && n->op != IR_NODE_MAX && n->op != IR_NODE_MIN &&
      n->op != IR_NODE_MEAN && n->op != IR_NODE_CONCAT && !op_in(g, n, 0))
    return op_fail(g, n, "missing input 0");
  return op_defs[n->op].infer(g, n);
}

bool ir_lower_node(ir_lower *L, ir_node *n)
{
  L->node = n;
  if (!op_defs[n->op].lower)
    return op_fail(L->g, n, "operator has no lowering");
  bool ok = op_defs[n->op].lower(L, n);
  if (!ok && !L->ctx->n_errors)
    op_fail(L->g, n, "lowering failed");
  return ok;
}
