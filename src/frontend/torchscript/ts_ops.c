/* ts_ops.c: TorchScript operators by the name the code calls them
 * (`torch.linear`, `ops.prim.NumToTensor`, `int`): the table, the argument
 * helpers every operator uses, torch's type promotion, and the builtins,
 * scalar and elementwise operators. Shapes and data movement are in
 * ts_ops_shape.c, network layers in ts_ops_nn.c. Arithmetic on values
 * known at compile time (sizes through NumToTensor, CONSTANTS scalars) is
 * computed here, so `int(...)` of it is a number. */
#include "ts_graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------------ */

ts_x *ts_arg(const ts_call *c, int k, const char *name)
{
  if (k >= 0 && k < c->n_args)
    return c->args[k];
  for (int i = 0; name && i < c->n_kw; i++)
    if (!strcmp(c->kw_names[i], name))
      return c->kw_values[i];
  return NULL;
}

static const char *arg_label(const ts_call *c, int k, const char *name)
{
  (void)c;
  return name ? name : k == 0 ? "input" : "an argument";
}

int ts_arg_tensor(ts_interp *I, const ts_call *c, int k, const char *name)
{
  ts_x *x = ts_arg(c, k, name);
  if (x && x->kind == TS_X_TENSOR)
    return x->u.t->v;
  ts_fail(I, c->node, "%s: %s must be a tensor", c->op, arg_label(c, k, name));
  return -1;
}

int ts_arg_opt_tensor(ts_interp *I, const ts_call *c, int k, const char *name)
{
  ts_x *x = ts_arg(c, k, name);
  (void)I;
  return x && x->kind == TS_X_TENSOR ? x->u.t->v : -1;
}

static double const_get(const ir_value *v, int64_t k)
{
  switch (v->type) {
  case IR_BOOL: return ((const bool *)v->data)[k];
  case IR_I8: return ((const int8_t *)v->data)[k];
  case IR_U8: return ((const uint8_t *)v->data)[k];
  case IR_I16: return ((const int16_t *)v->data)[k];
  case IR_U16: return ((const uint16_t *)v->data)[k];
  case IR_I32: return ((const int32_t *)v->data)[k];
  case IR_U32: return ((const uint32_t *)v->data)[k];
  case IR_U64: return (double)((const uint64_t *)v->data)[k];
  case IR_F32: return ((const float *)v->data)[k];
  case IR_F64: return ((const double *)v->data)[k];
  default: return (double)((const int64_t *)v->data)[k];
  }
}

int64_t ts_to_int(double d)
{
  return ir_saturate_i64(d);
}

bool ts_scalar_of(ts_interp *I, const ts_x *x, double *out, bool *is_float)
{
  switch (x->kind) {
  case TS_X_INT: *out = (double)x->u.i; *is_float = false; return true;
  case TS_X_FLOAT: *out = x->u.f; *is_float = true; return true;
  case TS_X_BOOL: *out = x->u.b; *is_float = false; return true;
  case TS_X_TENSOR: {
    const ir_value *v = &I->g->values[x->u.t->v];
    if (!v->data || ir_value_numel(v) != 1)
      return false;
    *out = const_get(v, 0);
    *is_float = ir_types[v->type].is_float;
    return true;
  }
  default: return false;
  }
}

bool ts_arg_int(ts_interp *I, const ts_call *c, int k, const char *name, int64_t dflt, int64_t *out)
{
  ts_x *x = ts_arg(c, k, name);
  double d;
  bool is_float;
  if (!x || x->kind == TS_X_NONE) {
    *out = dflt;
    return true;
  }
  if (ts_scalar_of(I, x, &d, &is_float) && !is_float) {
    *out = x->kind == TS_X_INT ? x->u.i : ts_to_int(d);
    return true;
  }
  ts_fail(I, c->node, "%s: %s must be an integer known at compile time", c->op, arg_label(c, k, name));
  return false;
}

bool ts_arg_float(ts_interp *I, const ts_call *c, int k, const char *name, double dflt, double *out)
{
  ts_x *x = ts_arg(c, k, name);
  bool is_float;
  if (!x || x->kind == TS_X_NONE) {
    *out = dflt;
    return true;
  }
  if (ts_scalar_of(I, x, out, &is_float))
    return true;
  ts_fail(I, c->node, "%s: %s must be a number known at compile time", c->op, arg_label(c, k, name));
  return false;
}

bool ts_arg_bool(ts_interp *I, const ts_call *c, int k, const char *name, bool dflt, bool *out)
{
  int64_t i;
  if (!ts_arg_int(I, c, k, name, dflt, &i))
    return false;
  *out = i != 0;
  return true;
}

bool ts_arg_ints(ts_interp *I, const ts_call *c, int k, const char *name, int64_t *out, int *n)
{
  ts_x *x = ts_arg(c, k, name);
  int cap = *n;
  *n = 0;
  if (!x || x->kind == TS_X_NONE)
    return true;
  if (x->kind == TS_X_INT) {
    out[(*n)++] = x->u.i;
    return true;
  }
  if ((x->kind != TS_X_LIST && x->kind != TS_X_TUPLE) || x->u.seq.n > cap) {
    ts_fail(I, c->node, "%s: %s must be a list of at most %d integers", c->op, arg_label(c, k, name), cap);
    return false;
  }
  for (int i = 0; i < x->u.seq.n; i++) {
    double d;
    bool is_float;
    if (!ts_scalar_of(I, x->u.seq.items[i], &d, &is_float) || is_float) {
      ts_fail(I, c->node, "%s: %s must be integers known at compile time", c->op, arg_label(c, k, name));
      return false;
    }
    out[(*n)++] = ts_to_int(d);
  }
  return true;
}

/* ------------------------------------------------------------------------
 * Constants and small helpers
 * ------------------------------------------------------------------------ */

const ir_value *ts_value_of(ts_interp *I, int v)
{
  return &I->g->values[v];
}

static int internal_const(ts_interp *I, ir_type t, int rank, const int64_t *shape, const void *data)
{
  int v = graph_constant(I->g, "ts_const", t, rank, shape, data);
  if (v >= 0)
    I->g->values[v].internal = true;
  return v;
}

int ts_i64_const(ts_interp *I, int n, const int64_t *vals)
{
  int64_t count = n;
  return internal_const(I, IR_I64, 1, &count, vals);
}

static void store_as(ir_type t, double value, void *p)
{
  int64_t i = ts_to_int(value);
  switch (t) {
  case IR_BOOL: *(bool *)p = value != 0; break;
  case IR_I8: *(int8_t *)p = (int8_t)i; break;
  case IR_U8: *(uint8_t *)p = (uint8_t)i; break;
  case IR_I16: *(int16_t *)p = (int16_t)i; break;
  case IR_U16: *(uint16_t *)p = (uint16_t)i; break;
  case IR_I32: *(int32_t *)p = (int32_t)i; break;
  case IR_U32: *(uint32_t *)p = (uint32_t)i; break;
  case IR_U64: *(uint64_t *)p = (uint64_t)i; break;
  case IR_F32: *(float *)p = (float)value; break;
  case IR_F64: *(double *)p = value; break;
  default: *(int64_t *)p = i; break;
  }
}

int ts_scalar_const(ts_interp *I, ir_type t, double value)
{
  unsigned char buf[8];
  store_as(t, value, buf);
  return internal_const(I, t, 0, NULL, buf);
}

int ts_reshape(ts_interp *I, const ts_call *c, int x, int rank, const int64_t *shape)
{
  int s = ts_i64_const(I, rank, shape);
  ts_x *r = s >= 0 ? ts_made(I, c, graph_reshape(I->g, x, s)) : NULL;
  return r ? r->u.t->v : -1;
}

bool ts_dim(ts_interp *I, const ts_call *c, int64_t d, int rank, int *out)
{
  int r = rank ? rank : 1;
  if (d < -r || d >= r) {
    ts_fail(I, c->node, "%s: dimension %lld is out of range for rank %d", c->op, (long long)d, rank);
    return false;
  }
  *out = (int)(d < 0 ? d + r : d);
  return true;
}

static int cast_to(ts_interp *I, const ts_call *c, int v, ir_type t)
{
  if (I->g->values[v].type == t)
    return v;
  ts_x *r = ts_made(I, c, graph_cast(I->g, v, t));
  return r ? r->u.t->v : -1;
}

/* ------------------------------------------------------------------------
 * Type promotion (torch's: tensors with dimensions, then 0-d tensors, then
 * Python numbers; bool < integer < floating point)
 * ------------------------------------------------------------------------ */

typedef struct operand {
  ts_x *x;
  ir_type type;
  int priority; /* 2: a tensor with dimensions, 1: 0-d, 0: a number */
} operand;

static int category(ir_type t)
{
  return t == IR_BOOL ? 0 : ir_types[t].is_float ? 2 : 1;
}

static operand operand_of(ts_interp *I, ts_x *x)
{
  if (x->kind == TS_X_TENSOR) {
    const ir_value *v = &I->g->values[x->u.t->v];
    return (operand){x, v->type, v->rank > 0 ? 2 : 1};
  }
  ir_type t = x->kind == TS_X_FLOAT ? IR_F32 : x->kind == TS_X_BOOL ? IR_BOOL : IR_I64;
  return (operand){x, t, 0};
}

static ir_type promote(operand a, operand b)
{
  int ca = category(a.type), cb = category(b.type);
  if (ca != cb) {
    operand hi = ca > cb ? a : b;
    return hi.priority == 0 && category(hi.type) == 2 ? IR_F32 : hi.type;
  }
  if (a.priority != b.priority)
    return a.priority > b.priority ? a.type : b.type;
  return ir_promote(a.type, b.type);
}

static int operand_value(ts_interp *I, const ts_call *c, operand o, ir_type t)
{
  double d;
  bool is_float;
  if (o.x->kind == TS_X_TENSOR)
    return cast_to(I, c, o.x->u.t->v, t);
  if (!ts_scalar_of(I, o.x, &d, &is_float)) {
    ts_fail(I, c->node, "%s: operands must be tensors or numbers", c->op);
    return -1;
  }
  return ts_scalar_const(I, t, d);
}

static bool is_compare(graph_op op)
{
  return op == GRAPH_OP_EQUAL || op == GRAPH_OP_LESS || op == GRAPH_OP_LESS_EQUAL || op == GRAPH_OP_GREATER ||
         op == GRAPH_OP_GREATER_EQUAL;
}

/* ------------------------------------------------------------------------
 * Arithmetic known at compile time
 * ------------------------------------------------------------------------ */

static double fold_op(graph_op op, double a, double b, bool ints)
{
  switch (op) {
  case GRAPH_OP_ADD: return a + b;
  case GRAPH_OP_SUB: return a - b;
  case GRAPH_OP_MUL: return a * b;
  case GRAPH_OP_DIV: return a / b;
  case GRAPH_OP_POW: return pow(a, b);
  case GRAPH_OP_MAX: return a > b ? a : b;
  case GRAPH_OP_MIN: return a < b ? a : b;
  case GRAPH_OP_MOD: return ints ? a - floor(a / b) * b : fmod(a, b);
  case GRAPH_OP_EQUAL: return a == b;
  case GRAPH_OP_LESS: return a < b;
  case GRAPH_OP_LESS_EQUAL: return a <= b;
  case GRAPH_OP_GREATER: return a > b;
  case GRAPH_OP_GREATER_EQUAL: return a >= b;
  default: return NAN;
  }
}

static bool foldable_op(graph_op op)
{
  return op == GRAPH_OP_ADD || op == GRAPH_OP_SUB || op == GRAPH_OP_MUL || op == GRAPH_OP_DIV ||
         op == GRAPH_OP_POW || op == GRAPH_OP_MAX || op == GRAPH_OP_MIN || op == GRAPH_OP_MOD || is_compare(op);
}

/* Both operands known scalars: a number (both numbers) or a 0-d constant. */
static ts_x *fold_binary(ts_interp *I, graph_op op, operand a, operand b, ir_type t)
{
  double x, y;
  bool fa, fb;
  ts_scalar_of(I, a.x, &x, &fa);
  ts_scalar_of(I, b.x, &y, &fb);
  bool ints = !ir_types[t].is_float && t != IR_BOOL;
  double r = fold_op(op, x, y, ints);
  if (op == GRAPH_OP_DIV && !ir_types[t].is_float)
    t = IR_F32;
  if (is_compare(op))
    t = IR_BOOL;
  if (a.priority == 0 && b.priority == 0)
    return t == IR_BOOL ? ts_bool_x(I, r != 0) : ir_types[t].is_float ? ts_float_x(I, r) : ts_int_x(I, ts_to_int(r));
  return ts_tensor_x(I, ts_scalar_const(I, t, r));
}

static bool known_scalar(ts_interp *I, const ts_x *x)
{
  double d;
  bool f;
  return ts_scalar_of(I, x, &d, &f) && (x->kind != TS_X_TENSOR || I->g->values[x->u.t->v].rank == 0);
}

ts_x *ts_binary(ts_interp *I, const ts_call *c, graph_op op, ts_x *a, ts_x *b)
{
  operand oa = operand_of(I, a), ob = operand_of(I, b);
  ir_type t = promote(oa, ob);
  if (foldable_op(op) && known_scalar(I, a) && known_scalar(I, b))
    return fold_binary(I, op, oa, ob, t);
  if (op == GRAPH_OP_DIV && !ir_types[t].is_float)
    t = IR_F32;
  int va = operand_value(I, c, oa, t), vb = va >= 0 ? operand_value(I, c, ob, t) : -1;
  return vb >= 0 ? ts_made(I, c, graph_binary(I->g, op, va, vb)) : NULL;
}

/* ------------------------------------------------------------------------
 * Builtins
 * ------------------------------------------------------------------------ */

static ts_x *op_int(ts_interp *I, const ts_call *c)
{
  double d;
  bool is_float;
  ts_x *x = ts_arg(c, 0, NULL);
  if (x && ts_data_dependent(I, x))
    return ts_control_scalar(I, c, x, IR_I64);
  if (!x || !ts_scalar_of(I, x, &d, &is_float))
    return ts_fail(I, c->node, "int() of a value that is not a number or a tensor");
  return ts_int_x(I, x->kind == TS_X_INT ? x->u.i : ts_to_int(d));
}

static ts_x *op_float(ts_interp *I, const ts_call *c)
{
  double d;
  bool is_float;
  ts_x *x = ts_arg(c, 0, NULL);
  if (x && ts_data_dependent(I, x))
    return ts_control_scalar(I, c, x, IR_F32);
  if (!x || !ts_scalar_of(I, x, &d, &is_float))
    return ts_fail(I, c->node, "float() of a value that is not a number or a tensor");
  return ts_float_x(I, d);
}

/* bool(x): a tensor whose value is unknown stays a tensor, so that an `if`
 * on it reports data-dependent control flow at its line. */
static ts_x *op_bool(ts_interp *I, const ts_call *c)
{
  double d;
  bool is_float;
  ts_x *x = ts_arg(c, 0, NULL);
  if (!x)
    return ts_fail(I, c->node, "bool() needs an argument");
  if (x->kind == TS_X_TENSOR && !ts_scalar_of(I, x, &d, &is_float))
    return x;
  if (!ts_scalar_of(I, x, &d, &is_float))
    return ts_bool_x(I, x->kind != TS_X_NONE && !((x->kind == TS_X_LIST || x->kind == TS_X_TUPLE) && !x->u.seq.n));
  return ts_bool_x(I, d != 0);
}

static ts_x *op_len(ts_interp *I, const ts_call *c)
{
  ts_x *x = ts_arg(c, 0, NULL);
  if (x && (x->kind == TS_X_LIST || x->kind == TS_X_TUPLE))
    return ts_int_x(I, x->u.seq.n);
  if (x && x->kind == TS_X_TENSOR && ts_value_of(I, x->u.t->v)->rank > 0)
    return ts_int_x(I, ts_value_of(I, x->u.t->v)->shape[0]);
  return ts_fail(I, c->node, "len() of a value that is not a list, tuple or tensor");
}

static ts_x *op_getattr(ts_interp *I, const ts_call *c)
{
  ts_x *m = ts_arg(c, 0, NULL), *name = ts_arg(c, 1, NULL);
  if (!m || m->kind != TS_X_MODULE || !name || name->kind != TS_X_STR)
    return ts_fail(I, c->node, "getattr() of a module and a name expected");
  return ts_module_get(I, m->u.m, name->u.s, c->node);
}

static ts_x *op_range(ts_interp *I, const ts_call *c)
{
  return ts_range_list(I, c);
}

static ts_x *op_passthrough(ts_interp *I, const ts_call *c)
{
  ts_x *x = ts_arg(c, 0, NULL);
  return x ? x : ts_fail(I, c->node, "%s: an argument expected", c->op);
}

static ts_x *op_none(ts_interp *I, const ts_call *c)
{
  (void)c;
  return ts_none_x(I);
}

/* torch.__is__(a, b), torch.__isnot__(a, b): None against None or a value. */
static ts_x *op_is(ts_interp *I, const ts_call *c)
{
  ts_x *a = ts_arg(c, 0, NULL), *b = ts_arg(c, 1, NULL);
  if (!a || !b)
    return ts_fail(I, c->node, "%s: two operands expected", c->op);
  bool same = a == b || (a->kind == TS_X_NONE && b->kind == TS_X_NONE);
  return ts_bool_x(I, strstr(c->op, "isnot") ? !same : same);
}

static ts_x *op_not(ts_interp *I, const ts_call *c)
{
  ts_x *x = ts_arg(c, 0, NULL);
  double d;
  bool is_float;
  if (!x || !ts_scalar_of(I, x, &d, &is_float))
    return ts_fail(I, c->node, "%s: a value known at compile time expected", c->op);
  return ts_bool_x(I, d == 0);
}

/* min/max of numbers, or of a list of numbers. */
static ts_x *op_minmax(ts_interp *I, const ts_call *c)
{
  ts_x *first = ts_arg(c, 0, NULL);
  const ts_call *from = c;
  ts_call list = {.node = c->node, .op = c->op};
  if (c->n_args == 1 && first && (first->kind == TS_X_LIST || first->kind == TS_X_TUPLE)) {
    list.args = first->u.seq.items;
    list.n_args = first->u.seq.n;
    from = &list;
  }
  ts_x *best = from->n_args ? from->args[0] : NULL;
  graph_op op = !strcmp(c->op, "min") ? GRAPH_OP_MIN : GRAPH_OP_MAX;
  for (int i = 1; best && i < from->n_args; i++)
    best = ts_binary(I, c, op, best, from->args[i]);
  return best ? best : ts_fail(I, c->node, "%s() of nothing", c->op);
}

/* ------------------------------------------------------------------------
 * Tensors from numbers, sizes
 * ------------------------------------------------------------------------ */

static ts_x *op_num_to_tensor(ts_interp *I, const ts_call *c)
{
  double d;
  bool is_float;
  ts_x *x = ts_arg(c, 0, NULL);
  if (!x || !ts_scalar_of(I, x, &d, &is_float))
    return ts_fail(I, c->node, "%s: a number expected", c->op);
  return ts_tensor_x(I, ts_scalar_const(I, is_float ? IR_F64 : IR_I64, d));
}

static ts_x *op_size(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self"), d;
  if (x < 0)
    return NULL;
  const ir_value *v = ts_value_of(I, x);
  if (!ts_arg(c, 1, "dim")) {
    ts_x *r = ts_seq_x(I, TS_X_LIST, v->rank);
    for (int i = 0; r && i < v->rank; i++)
      r->u.seq.items[i] = ts_int_x(I, v->shape[i]);
    return r;
  }
  int64_t dim;
  if (!ts_arg_int(I, c, 1, "dim", 0, &dim) || !ts_dim(I, c, dim, v->rank, &d))
    return NULL;
  return ts_int_x(I, v->shape[d]);
}

static ts_x *op_dim(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  return x < 0 ? NULL : ts_int_x(I, ts_value_of(I, x)->rank);
}

static ts_x *op_numel(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  return x < 0 ? NULL : ts_int_x(I, ir_value_numel(ts_value_of(I, x)));
}

/* ------------------------------------------------------------------------
 * Elementwise
 * ------------------------------------------------------------------------ */

/* The in-place form writes the result into its first argument's slot. */
static bool in_place(const ts_call *c)
{
  size_t n = strlen(c->op);
  return n > 1 && c->op[n - 1] == '_' && c->op[n - 2] != '_';
}

ts_x *ts_result(const ts_call *c, ts_x *r)
{
  ts_x *self = c->n_args ? c->args[0] : NULL;
  if (!r || !in_place(c) || !self || self->kind != TS_X_TENSOR)
    return r;
  self->u.t->v = r->u.t->v;
  return self;
}

static graph_op binary_of(const char *op)
{
  static const struct { const char *name; graph_op op; } ops[] = {
      {"add", GRAPH_OP_ADD}, {"sub", GRAPH_OP_SUB}, {"mul", GRAPH_OP_MUL}, {"div", GRAPH_OP_DIV},
      {"true_divide", GRAPH_OP_DIV}, {"pow", GRAPH_OP_POW}, {"eq", GRAPH_OP_EQUAL}, {"lt", GRAPH_OP_LESS},
      {"le", GRAPH_OP_LESS_EQUAL}, {"gt", GRAPH_OP_GREATER}, {"ge", GRAPH_OP_GREATER_EQUAL},
      {"maximum", GRAPH_OP_MAX}, {"minimum", GRAPH_OP_MIN}, {"remainder", GRAPH_OP_MOD}, {"fmod", GRAPH_OP_MOD},
      {"floor_divide", GRAPH_OP_DIV}, {"rsub", GRAPH_OP_SUB}, {"multiply", GRAPH_OP_MUL},
  };
  const char *name = strrchr(op, '.') ? strrchr(op, '.') + 1 : op;
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strncmp(ops[i].name, name, n - (name[n - 1] == '_')) && strlen(ops[i].name) == n - (name[n - 1] == '_'))
      return ops[i].op;
  return GRAPH_OP_COUNT;
}

/* a - alpha * b style scaling of the second operand. */
static ts_x *scaled(ts_interp *I, const ts_call *c, ts_x *b)
{
  double alpha;
  if (!ts_arg_float(I, c, 2, "alpha", 1.0, &alpha))
    return NULL;
  return alpha == 1.0 ? b : ts_binary(I, c, GRAPH_OP_MUL, b, ts_float_x(I, alpha));
}

static ts_x *rounded(ts_interp *I, const ts_call *c, ts_x *q, const char *mode);

/* eq and ne of strings, of None and of lists of numbers. */
static bool same_value(ts_interp *I, const ts_x *a, const ts_x *b)
{
  double x, y;
  bool fa, fb;
  if (a->kind == TS_X_STR && b->kind == TS_X_STR)
    return !strcmp(a->u.s, b->u.s);
  if (a->kind == TS_X_NONE || b->kind == TS_X_NONE)
    return a->kind == b->kind;
  if ((a->kind == TS_X_LIST || a->kind == TS_X_TUPLE) && a->kind == b->kind && a->u.seq.n == b->u.seq.n) {
    for (int i = 0; i < a->u.seq.n; i++)
      if (!same_value(I, a->u.seq.items[i], b->u.seq.items[i]))
        return false;
    return true;
  }
  return ts_scalar_of(I, a, &x, &fa) && ts_scalar_of(I, b, &y, &fb) && x == y;
}

static bool plain_value(const ts_x *x)
{
  return x->kind == TS_X_STR || x->kind == TS_X_NONE || x->kind == TS_X_LIST || x->kind == TS_X_TUPLE;
}

/* ne: not eq (tensors: equal, then not). */
static ts_x *op_ne(ts_interp *I, const ts_call *c)
{
  ts_x *a = ts_arg(c, 0, "self"), *b = ts_arg(c, 1, "other");
  if (!a || !b)
    return ts_fail(I, c->node, "%s: two operands expected", c->op);
  if (plain_value(a) || plain_value(b))
    return ts_bool_x(I, !same_value(I, a, b));
  ts_x *eq = ts_binary(I, c, GRAPH_OP_EQUAL, a, b);
  if (!eq || eq->kind != TS_X_TENSOR)
    return eq ? ts_bool_x(I, !eq->u.b) : NULL;
  if (known_scalar(I, eq))
    return ts_binary(I, c, GRAPH_OP_EQUAL, eq, ts_bool_x(I, false));
  return ts_made(I, c, graph_unary(I->g, GRAPH_OP_NOT, eq->u.t->v));
}

static ts_x *op_binary(ts_interp *I, const ts_call *c)
{
  graph_op op = binary_of(c->op);
  ts_x *a = ts_arg(c, 0, "self"), *b = ts_arg(c, 1, "other");
  if (a && b && op == GRAPH_OP_EQUAL && (plain_value(a) || plain_value(b)))
    return ts_bool_x(I, same_value(I, a, b));
  bool is_add = op == GRAPH_OP_ADD || (op == GRAPH_OP_SUB && !strstr(c->op, "rsub"));
  if (!a || !b)
    return ts_fail(I, c->node, "%s: two operands expected", c->op);
  if (strstr(c->op, "rsub")) {
    ts_x *t = a;
    a = b;
    b = t;
  }
  if (is_add && !(b = scaled(I, c, b)))
    return NULL;
  ts_x *r = ts_binary(I, c, op, a, b);
  ts_x *mode = ts_arg(c, op == GRAPH_OP_DIV && !strstr(c->op, "floor_divide") ? 2 : -1, "rounding_mode");
  if (r && strstr(c->op, "floor_divide"))
    r = rounded(I, c, r, "floor");
  else if (r && mode && mode->kind == TS_X_STR)
    r = rounded(I, c, r, mode->u.s);
  return ts_result(c, r);
}

/* A known quotient rounded, in type t (integer operands: an integer). */
static ts_x *round_known(ts_interp *I, ts_x *q, const char *mode, ir_type t)
{
  double d;
  bool is_float;
  ts_scalar_of(I, q, &d, &is_float);
  d = !strcmp(mode, "floor") ? floor(d) : trunc(d);
  if (q->kind == TS_X_TENSOR)
    return ts_tensor_x(I, ts_scalar_const(I, t, d));
  return ir_types[t].is_float ? ts_float_x(I, d) : ts_int_x(I, ts_to_int(d));
}

/* trunc(v) = v < 0 ? ceil(v) : floor(v) */
static ts_x *trunc_tensor(ts_interp *I, const ts_call *c, int v)
{
  ts_x *lo = ts_made(I, c, graph_unary(I->g, GRAPH_OP_CEIL, v));
  ts_x *hi = lo ? ts_made(I, c, graph_unary(I->g, GRAPH_OP_FLOOR, v)) : NULL;
  int zero = hi ? ts_scalar_const(I, ts_value_of(I, v)->type, 0) : -1;
  ts_x *neg = zero >= 0 ? ts_made(I, c, graph_binary(I->g, GRAPH_OP_LESS, v, zero)) : NULL;
  if (!neg)
    return NULL;
  int in[3] = {neg->u.t->v, lo->u.t->v, hi->u.t->v};
  return ts_made(I, c, graph_node(I->g, GRAPH_OP_WHERE, in, 3, NULL));
}

/* A quotient rounded (rounding_mode "floor" or "trunc"); integer operands
 * give an integer result, as in torch. */
static ts_x *rounded(ts_interp *I, const ts_call *c, ts_x *q, const char *mode)
{
  ts_x *a = ts_arg(c, 0, "self"), *b = ts_arg(c, 1, "other");
  ir_type t = promote(operand_of(I, a), operand_of(I, b));
  if (strcmp(mode, "floor") && strcmp(mode, "trunc"))
    return ts_fail(I, c->node, "%s: rounding_mode '%s' is not supported", c->op, mode);
  if (known_scalar(I, q))
    return round_known(I, q, mode, t);
  int v = q->u.t->v;
  ts_x *r = !strcmp(mode, "floor") ? ts_made(I, c, graph_unary(I->g, GRAPH_OP_FLOOR, v)) : trunc_tensor(I, c, v);
  if (r && !ir_types[t].is_float)
    return ts_tensor_x(I, cast_to(I, c, r->u.t->v, t));
  return r;
}

static graph_op unary_of(const char *name)
{
  static const struct { const char *name; graph_op op; } ops[] = {
      {"relu", GRAPH_OP_RELU},       {"sigmoid", GRAPH_OP_SIGMOID},   {"tanh", GRAPH_OP_TANH},
      {"exp", GRAPH_OP_EXP},         {"log", GRAPH_OP_LOG},           {"sqrt", GRAPH_OP_SQRT},
      {"neg", GRAPH_OP_NEG},         {"abs", GRAPH_OP_ABS},           {"erf", GRAPH_OP_ERF},
      {"sin", GRAPH_OP_SIN},         {"cos", GRAPH_OP_COS},           {"floor", GRAPH_OP_FLOOR},
      {"ceil", GRAPH_OP_CEIL},       {"round", GRAPH_OP_ROUND},       {"hardswish", GRAPH_OP_HARD_SWISH},
      {"reciprocal", GRAPH_OP_RECIPROCAL}, {"softplus", GRAPH_OP_SOFTPLUS}, {"mish", GRAPH_OP_MISH},
      {"sign", GRAPH_OP_SIGN},       {"logical_not", GRAPH_OP_NOT},
  };
  const char *base = strrchr(name, '.') ? strrchr(name, '.') + 1 : name;
  size_t n = strlen(base) - (base[strlen(base) - 1] == '_');
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strlen(ops[i].name) == n && !strncmp(ops[i].name, base, n))
      return ops[i].op;
  return GRAPH_OP_COUNT;
}

static ts_x *op_unary(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  graph_op op = unary_of(c->op);
  if (x < 0)
    return NULL;
  if (op == GRAPH_OP_NEG && known_scalar(I, c->args[0]))
    return ts_binary(I, c, GRAPH_OP_MUL, c->args[0], ts_int_x(I, -1));
  if (ir_types[ts_value_of(I, x)->type].is_float == false && op != GRAPH_OP_NEG && op != GRAPH_OP_ABS &&
      op != GRAPH_OP_NOT && op != GRAPH_OP_SIGN && op != GRAPH_OP_RELU)
    x = cast_to(I, c, x, IR_F32);
  return x < 0 ? NULL : ts_result(c, ts_made(I, c, graph_unary(I->g, op, x)));
}

static ts_x *op_rsqrt(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  ts_x *s = x >= 0 ? ts_made(I, c, graph_unary(I->g, GRAPH_OP_SQRT, x)) : NULL;
  return s ? ts_result(c, ts_made(I, c, graph_unary(I->g, GRAPH_OP_RECIPROCAL, s->u.t->v))) : NULL;
}

static ts_x *op_hardsigmoid(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  graph_params p = {.act = {.alpha = 1.0 / 6.0, .beta = 0.5}};
  return x < 0 ? NULL : ts_result(c, ts_made(I, c, graph_node(I->g, GRAPH_OP_HARD_SIGMOID, &x, 1, &p)));
}

/* ------------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------------ */

static const ts_op ops[] = {
    {"int", op_int}, {"float", op_float}, {"bool", op_bool}, {"len", op_len}, {"getattr", op_getattr},
    {"range", op_range}, {"annotate", op_passthrough}, {"unchecked_cast", op_passthrough},
    {"uninitialized", op_none}, {"print", op_none}, {"min", op_minmax}, {"max", op_minmax},
    {"torch.ne", op_ne}, {"torch.len", op_len}, {"torch.__is__", op_is}, {"torch.__isnot__", op_is}, {"torch.__not__", op_not},
    {"ops.prim.NumToTensor", op_num_to_tensor}, {"torch.size", op_size}, {"torch.dim", op_dim},
    {"torch.numel", op_numel}, {"ops.aten.Int", op_int}, {"torch.Int", op_int}, {"ops.aten.Float", op_float},
    {"torch.add", op_binary}, {"torch.add_", op_binary}, {"torch.sub", op_binary}, {"torch.sub_", op_binary},
    {"torch.mul", op_binary}, {"torch.mul_", op_binary}, {"torch.div", op_binary}, {"torch.div_", op_binary},
    {"torch.true_divide", op_binary}, {"torch.floor_divide", op_binary}, {"torch.rsub", op_binary},
    {"torch.pow", op_binary}, {"torch.eq", op_binary}, {"torch.lt", op_binary}, {"torch.le", op_binary},
    {"torch.gt", op_binary}, {"torch.ge", op_binary}, {"torch.maximum", op_binary},
    {"torch.minimum", op_binary}, {"torch.remainder", op_binary}, {"torch.multiply", op_binary},
    {"torch.relu", op_unary}, {"torch.relu_", op_unary}, {"torch.sigmoid", op_unary},
    {"torch.sigmoid_", op_unary}, {"torch.tanh", op_unary}, {"torch.tanh_", op_unary}, {"torch.exp", op_unary},
    {"torch.log", op_unary}, {"torch.sqrt", op_unary}, {"torch.neg", op_unary}, {"torch.abs", op_unary},
    {"torch.erf", op_unary}, {"torch.sin", op_unary}, {"torch.cos", op_unary}, {"torch.floor", op_unary},
    {"torch.ceil", op_unary}, {"torch.round", op_unary}, {"torch.reciprocal", op_unary},
    {"torch.sign", op_unary}, {"torch.logical_not", op_unary}, {"torch.softplus", op_unary},
    {"torch.hardswish", op_unary}, {"torch.hardswish_", op_unary}, {"torch.mish", op_unary},
    {"torch.rsqrt", op_rsqrt}, {"torch.hardsigmoid", op_hardsigmoid}, {"torch.hardsigmoid_", op_hardsigmoid},
    {"torch.gelu", ts_op_gelu}, {"torch.silu", ts_op_silu}, {"torch.silu_", ts_op_silu},
    {"torch.hardtanh", ts_op_hardtanh}, {"torch.hardtanh_", ts_op_hardtanh}, {"torch.relu6", ts_op_relu6},
    {"torch.leaky_relu", ts_op_leaky_relu}, {"torch.leaky_relu_", ts_op_leaky_relu},
    {"torch.clamp", ts_op_clamp}, {"torch.clamp_", ts_op_clamp}, {"torch.clip", ts_op_clamp},
    {"torch.dropout", op_passthrough}, {"torch.dropout_", op_passthrough},
    {"torch.feature_dropout", op_passthrough}, {"torch.alpha_dropout", op_passthrough},
    {"torch.contiguous", op_passthrough}, {"torch.detach", op_passthrough}, {"torch.clone", op_passthrough},
    {"torch.view", ts_op_view}, {"torch.reshape", ts_op_view}, {"torch.flatten", ts_op_flatten},
    {"torch.transpose", ts_op_transpose}, {"torch.t", ts_op_t}, {"torch.permute", ts_op_permute},
    {"torch.unsqueeze", ts_op_unsqueeze}, {"torch.squeeze", ts_op_squeeze}, {"torch.select", ts_op_select},
    {"torch.slice", ts_op_slice}, {"torch.chunk", ts_op_chunk}, {"torch.split", ts_op_split},
    {"torch.split_with_sizes", ts_op_split}, {"torch.unbind", ts_op_unbind}, {"torch.cat", ts_op_cat},
    {"torch.concat", ts_op_cat}, {"torch.stack", ts_op_stack}, {"torch.sum", ts_op_reduce},
    {"torch.mean", ts_op_reduce}, {"torch.amax", ts_op_reduce}, {"torch.amin", ts_op_reduce},
    {"torch.prod", ts_op_reduce}, {"torch.max", ts_op_max}, {"torch.min", ts_op_max},
    {"torch.argmax", ts_op_argmax}, {"torch.argmin", ts_op_argmax}, {"torch.to", ts_op_to},
    {"torch.expand", ts_op_expand}, {"torch.expand_as", ts_op_expand},
    {"torch.linear", ts_op_linear}, {"torch._convolution", ts_op_convolution}, {"torch.conv2d", ts_op_conv2d},
    {"torch.conv1d", ts_op_conv2d}, {"torch.batch_norm", ts_op_batch_norm},
    {"torch.layer_norm", ts_op_layer_norm}, {"torch.max_pool2d", ts_op_max_pool2d},
    {"torch.avg_pool2d", ts_op_avg_pool2d}, {"torch.adaptive_avg_pool2d", ts_op_adaptive_avg_pool2d},
    {"torch.matmul", ts_op_matmul}, {"torch.bmm", ts_op_matmul}, {"torch.mm", ts_op_matmul},
    {"torch.addmm", ts_op_addmm}, {"torch.softmax", ts_op_softmax}, {"torch.log_softmax", ts_op_log_softmax},
    {"torch.embedding", ts_op_embedding}, {"torch._transformer_encoder_layer_fwd", ts_op_encoder_layer},
    {"torch.unflatten", ts_op_unflatten}, {"torch.scaled_dot_product_attention", ts_op_sdpa},
};

const ts_op *ts_find_op(const char *name)
{
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(ops[i].name, name))
      return &ops[i];
  return NULL;
}
