/* ts_eval.c: runs TorchScript code at compile time: statements (assignments,
 * `for` loops over ranges and lists unrolled, `while` loops and `if`s whose
 * condition is known at compile time folded, return) and expressions
 * (names, attributes, calls of operators, submodules and functions, tuples
 * and lists, arithmetic on Python numbers). An `if`, `while` or
 * `for ... in range(n)` on a tensor's value is data-dependent control flow:
 * ts_control.c builds it as the graph's if or loop. */
#include "ts_graph.h"

#include <math.h>
#include <string.h>

#define MAX_STEPS 2000000L /* statements run, unrolled loops included */
#define MAX_RANGE 1000000
#define MAX_NODES 200000   /* graph nodes one forward may make */

ts_frame *ts_frame_new(ts_interp *I)
{
  return IR_NEW(I->ctx, ts_frame);
}

bool ts_frame_set(ts_interp *I, ts_frame *f, const char *name, ts_x *x)
{
  return ts_map_put(I->ctx, &f->vars, name, x);
}


/* ------------------------------------------------------------------------
 * Truth and assignment
 * ------------------------------------------------------------------------ */

bool ts_data_dependent(ts_interp *I, const ts_x *x)
{
  double d;
  bool is_float;
  return x->kind == TS_X_TENSOR && !ts_scalar_of(I, x, &d, &is_float);
}

/* The truth of a condition known at compile time; a tensor without a
 * known value is data-dependent control flow (here: an expression). */
static bool truth(ts_interp *I, const ts_x *x, const ts_node *at, bool *out)
{
  double d;
  bool is_float;
  switch (x->kind) {
  case TS_X_BOOL: *out = x->u.b; return true;
  case TS_X_INT: *out = x->u.i != 0; return true;
  case TS_X_FLOAT: *out = x->u.f != 0; return true;
  case TS_X_NONE: *out = false; return true;
  case TS_X_LIST:
  case TS_X_TUPLE: *out = x->u.seq.n > 0; return true;
  case TS_X_TENSOR:
    if (ts_scalar_of(I, x, &d, &is_float)) {
      *out = d != 0;
      return true;
    }
    ts_fail(I, at, "a condition on a tensor's value (data-dependent) is supported in `if`, `while` and `for` "
                   "statements only, not in this expression");
    return false;
  default: ts_fail(I, at, "this condition is not known at compile time"); return false;
  }
}

static bool assign(ts_interp *I, ts_frame *f, const ts_node *target, ts_x *x);

static bool unpack(ts_interp *I, ts_frame *f, const ts_node *target, ts_x *x)
{
  if (x->kind != TS_X_TUPLE && x->kind != TS_X_LIST) {
    ts_fail(I, target, "cannot unpack a value that is not a tuple or list");
    return false;
  }
  if (x->u.seq.n != target->items.n) {
    ts_fail(I, target, "cannot unpack %d values into %d names", x->u.seq.n, target->items.n);
    return false;
  }
  for (int i = 0; i < target->items.n; i++)
    if (!assign(I, f, target->items.items[i], x->u.seq.items[i]))
      return false;
  return true;
}

static bool assign(ts_interp *I, ts_frame *f, const ts_node *target, ts_x *x)
{
  if (target->kind == TS_N_NAME)
    return ts_frame_set(I, f, target->name, x);
  if (target->kind == TS_N_TUPLE || target->kind == TS_N_LIST)
    return unpack(I, f, target, x);
  ts_fail(I, target, "assigning to a %s is not supported", ts_node_kind_names[target->kind]);
  return false;
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static bool exec_if(ts_interp *I, ts_frame *f, const ts_node *s)
{
  ts_x *c = ts_eval(I, f, s->rhs);
  bool t;
  if (c && ts_data_dependent(I, c))
    return ts_control_if(I, f, s, c);
  if (!c || !truth(I, c, s, &t))
    return false;
  return ts_exec_list(I, f, t ? &s->body : &s->orelse);
}

/* One pass through a loop body; false on error. *stop when the loop ends
 * (break, return). */
static bool loop_body(ts_interp *I, ts_frame *f, const ts_node *s, bool *stop)
{
  if (!ts_exec_list(I, f, &s->body))
    return false;
  *stop = f->returned || f->broke;
  f->broke = f->continued = false;
  return true;
}

/* The iterable of a `for`: range(n) of a tensor's value is a loop built
 * by ts_control_for (*data set), anything else a list. */
static ts_x *for_iterable(ts_interp *I, ts_frame *f, const ts_node *e, bool *data)
{
  *data = false;
  if (e->kind != TS_N_CALL || e->lhs->kind != TS_N_NAME || strcmp(e->lhs->name, "range") || e->items.n != 1 ||
      e->items.items[0]->kind == TS_N_KWARG || ts_map_get(&f->vars, "range"))
    return ts_eval(I, f, e);
  ts_x *n = ts_eval(I, f, e->items.items[0]);
  if (!n || (*data = ts_data_dependent(I, n)))
    return n;
  return ts_range_list(I, &(ts_call){.node = e, .op = "range", .args = &n, .n_args = 1});
}

static bool exec_for(ts_interp *I, ts_frame *f, const ts_node *s)
{
  bool data;
  ts_x *it = for_iterable(I, f, s->rhs, &data);
  if (it && data)
    return ts_control_for(I, f, s, it);
  if (!it)
    return false;
  if (it->kind != TS_X_LIST && it->kind != TS_X_TUPLE) {
    ts_fail(I, s, "a `for` loop over a %s: only loops over a range or a list known at compile time are supported",
            it->kind == TS_X_TENSOR ? "tensor" : "value");
    return false;
  }
  bool stop = false;
  for (int i = 0; i < it->u.seq.n && !stop; i++)
    if (!assign(I, f, s->lhs, it->u.seq.items[i]) || !loop_body(I, f, s, &stop))
      return false;
  return true;
}

static bool exec_while(ts_interp *I, ts_frame *f, const ts_node *s)
{
  for (bool stop = false; !stop;) {
    ts_x *c = ts_eval(I, f, s->rhs);
    bool t;
    if (c && ts_data_dependent(I, c))
      return ts_control_while(I, f, s, c);
    if (!c || !truth(I, c, s, &t))
      return false;
    if (!t)
      return true;
    if (!loop_body(I, f, s, &stop))
      return false;
  }
  return true;
}

static bool exec_assign(ts_interp *I, ts_frame *f, const ts_node *s)
{
  ts_x *x = ts_eval(I, f, s->lhs);
  if (!x)
    return false;
  for (int i = 0; i < s->items.n; i++)
    if (!assign(I, f, s->items.items[i], x))
      return false;
  return true;
}

static ts_x *binary(ts_interp *I, const ts_node *at, const char *op, ts_x *a, ts_x *b);

static bool exec_augassign(ts_interp *I, ts_frame *f, const ts_node *s)
{
  const ts_node *target = s->items.items[0];
  ts_x *a = ts_eval(I, f, target), *b = a ? ts_eval(I, f, s->lhs) : NULL;
  ts_x *r = b ? binary(I, s, s->op, a, b) : NULL;
  return r && assign(I, f, target, r);
}

static bool exec_return(ts_interp *I, ts_frame *f, const ts_node *s)
{
  f->ret = s->lhs ? ts_eval(I, f, s->lhs) : ts_none_x(I);
  f->returned = true;
  return f->ret != NULL;
}

static bool exec_stmt(ts_interp *I, ts_frame *f, const ts_node *s)
{
  if (++I->steps > MAX_STEPS) {
    ts_fail(I, s, "more than %ld statements run (a loop too long to unroll?)", MAX_STEPS);
    return false;
  }
  if (I->g->n_nodes > MAX_NODES) {
    ts_fail(I, s, "the model graph grows past %d nodes", MAX_NODES);
    return false;
  }
  switch (s->kind) {
  case TS_N_EXPR_STMT: return ts_eval(I, f, s->lhs) != NULL;
  case TS_N_ASSIGN: return exec_assign(I, f, s);
  case TS_N_AUGASSIGN: return exec_augassign(I, f, s);
  case TS_N_ANNASSIGN: return !s->extra || exec_assign(I, f, &(ts_node){.lhs = s->extra, .items = s->items});
  case TS_N_RETURN: return exec_return(I, f, s);
  case TS_N_IF: return exec_if(I, f, s);
  case TS_N_FOR: return exec_for(I, f, s);
  case TS_N_WHILE: return exec_while(I, f, s);
  case TS_N_BREAK: return (f->broke = true);
  case TS_N_CONTINUE: return (f->continued = true);
  case TS_N_PASS:
  case TS_N_IMPORT:
  case TS_N_ASSERT:
  case TS_N_DEF:
  case TS_N_CLASS: return true;
  case TS_N_RAISE: ts_fail(I, s, "the code raises an exception here"); return false;
  default: ts_fail(I, s, "a %s statement is not supported", ts_node_kind_names[s->kind]); return false;
  }
}

bool ts_exec_list(ts_interp *I, ts_frame *f, const ts_node_list *body)
{
  for (int i = 0; i < body->n && !f->returned && !f->broke && !f->continued; i++)
    if (!exec_stmt(I, f, body->items[i]))
      return false;
  return true;
}

ts_x *ts_run_body(ts_interp *I, ts_frame *f, const ts_node_list *body)
{
  if (!ts_exec_list(I, f, body))
    return NULL;
  return f->returned ? f->ret : ts_none_x(I);
}

/* ------------------------------------------------------------------------
 * Arithmetic on Python values
 * ------------------------------------------------------------------------ */

static bool is_number(const ts_x *x)
{
  return x->kind == TS_X_INT || x->kind == TS_X_FLOAT || x->kind == TS_X_BOOL;
}

static double num(const ts_x *x)
{
  return x->kind == TS_X_FLOAT ? x->u.f : x->kind == TS_X_INT ? (double)x->u.i : x->u.b;
}

/* +, - and * of Python ints, overflow reported. */
static ts_x *int_ring(ts_interp *I, const ts_node *at, char op, int64_t a, int64_t b)
{
  int64_t r = 0;
  bool overflow = op == '+' ? __builtin_add_overflow(a, b, &r)
                  : op == '-' ? __builtin_sub_overflow(a, b, &r)
                              : __builtin_mul_overflow(a, b, &r);
  return overflow ? ts_fail(I, at, "integer arithmetic overflows") : ts_int_x(I, r);
}

static ts_x *int_arith(ts_interp *I, const ts_node *at, const char *op, int64_t a, int64_t b)
{
  if ((!strcmp(op, "//") || !strcmp(op, "%")) && b == 0)
    return ts_fail(I, at, "integer division by zero");
  if ((!strcmp(op, "//") || !strcmp(op, "%")) && b == -1 && a == INT64_MIN)
    return ts_fail(I, at, "integer arithmetic overflows");
  switch (op[0]) {
  case '+':
  case '-': return int_ring(I, at, op[0], a, b);
  case '*': return op[1] == '*' ? ts_int_x(I, ts_to_int(pow((double)a, (double)b))) : int_ring(I, at, '*', a, b);
  case '%': return ts_int_x(I, a % b + (a % b != 0 && (a % b < 0) != (b < 0) ? b : 0));
  case '/':
    if (op[1] == '/')
      return ts_int_x(I, a / b - ((a % b != 0) && ((a < 0) != (b < 0))));
    return ts_float_x(I, (double)a / (double)b);
  default: return NULL;
  }
}

static ts_x *float_arith(ts_interp *I, const char *op, double a, double b)
{
  switch (op[0]) {
  case '+': return ts_float_x(I, a + b);
  case '-': return ts_float_x(I, a - b);
  case '*': return ts_float_x(I, op[1] == '*' ? pow(a, b) : a * b);
  case '%': return ts_float_x(I, a - floor(a / b) * b);
  case '/': return ts_float_x(I, op[1] == '/' ? floor(a / b) : a / b);
  default: return NULL;
  }
}

static ts_x *compare(ts_interp *I, const char *op, double a, double b)
{
  if (!strcmp(op, "==")) return ts_bool_x(I, a == b);
  if (!strcmp(op, "!=")) return ts_bool_x(I, a != b);
  if (!strcmp(op, "<")) return ts_bool_x(I, a < b);
  if (!strcmp(op, "<=")) return ts_bool_x(I, a <= b);
  if (!strcmp(op, ">")) return ts_bool_x(I, a > b);
  if (!strcmp(op, ">=")) return ts_bool_x(I, a >= b);
  return NULL;
}

static ts_x *number_op(ts_interp *I, const ts_node *at, const char *op, ts_x *a, ts_x *b)
{
  ts_x *r = compare(I, op, num(a), num(b));
  if (r)
    return r;
  if (a->kind != TS_X_FLOAT && b->kind != TS_X_FLOAT)
    r = int_arith(I, at, op, a->kind == TS_X_INT ? a->u.i : a->u.b, b->kind == TS_X_INT ? b->u.i : b->u.b);
  else
    r = float_arith(I, op, num(a), num(b));
  return r || I->ctx->n_errors ? r : ts_fail(I, at, "operator '%s' on numbers is not supported", op);
}

static graph_op tensor_op(const char *op)
{
  static const struct { const char *op; graph_op g; } ops[] = {
      {"+", GRAPH_OP_ADD},  {"-", GRAPH_OP_SUB},  {"*", GRAPH_OP_MUL},          {"/", GRAPH_OP_DIV},
      {"@", GRAPH_OP_MATMUL}, {"**", GRAPH_OP_POW}, {"==", GRAPH_OP_EQUAL},     {"<", GRAPH_OP_LESS},
      {"<=", GRAPH_OP_LESS_EQUAL}, {">", GRAPH_OP_GREATER}, {">=", GRAPH_OP_GREATER_EQUAL},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(ops[i].op, op))
      return ops[i].g;
  return GRAPH_OP_COUNT;
}

static ts_x *concat_seq(ts_interp *I, ts_x *a, ts_x *b)
{
  ts_x *r = ts_seq_x(I, a->kind, a->u.seq.n + b->u.seq.n);
  for (int i = 0; r && i < a->u.seq.n + b->u.seq.n; i++)
    r->u.seq.items[i] = i < a->u.seq.n ? a->u.seq.items[i] : b->u.seq.items[i - a->u.seq.n];
  return r;
}

static ts_x *identity_test(ts_interp *I, const char *op, const ts_x *a, const ts_x *b)
{
  bool same = a->kind == b->kind && (a->kind == TS_X_NONE || a == b);
  return ts_bool_x(I, !strcmp(op, "is") ? same : !same);
}

static ts_x *binary(ts_interp *I, const ts_node *at, const char *op, ts_x *a, ts_x *b)
{
  if (!strcmp(op, "is") || !strcmp(op, "is not"))
    return identity_test(I, op, a, b);
  if (is_number(a) && is_number(b))
    return number_op(I, at, op, a, b);
  if (!strcmp(op, "+") && a->kind == b->kind && (a->kind == TS_X_LIST || a->kind == TS_X_TUPLE))
    return concat_seq(I, a, b);
  graph_op g = tensor_op(op);
  if (g != GRAPH_OP_COUNT && (a->kind == TS_X_TENSOR || b->kind == TS_X_TENSOR)) {
    ts_call c = {.node = at, .op = ir_sprintf(I->ctx, "operator %s", op)};
    return ts_binary(I, &c, g, a, b);
  }
  return ts_fail(I, at, "operator '%s' is not supported on these operands", op);
}

/* ------------------------------------------------------------------------
 * Expressions
 * ------------------------------------------------------------------------ */

static ts_x *eval_name(ts_interp *I, ts_frame *f, const ts_node *e)
{
  ts_x *x = ts_map_get(&f->vars, e->name);
  if (x)
    return x;
  if (!strcmp(e->name, "torch") || !strcmp(e->name, "ops") || !strcmp(e->name, "Tensor"))
    return ts_new_x(I, TS_X_OTHER);
  return ts_fail(I, e, "name '%s' is not defined", e->name);
}

static const char *dotted(ts_interp *I, const ts_node *e);

/* __torch__.a.b.name: a free function of module __torch__.a.b. */
static const ts_node *free_function(ts_interp *I, const char *name)
{
  const char *dot = strrchr(name, '.');
  const char *module = ir_strndup(I->ctx, name, (size_t)(dot - name));
  return module ? ts_archive_function(I->a, module, dot + 1) : NULL;
}

static ts_x *function_value(ts_interp *I, const ts_node *e, const char *name)
{
  const ts_node *def = free_function(I, name);
  ts_x *x = def ? ts_new_x(I, TS_X_FUNC) : NULL;
  if (!def)
    return ts_fail(I, e, "'%s' is not a function of the archive", name);
  if (x)
    x->u.def = def;
  return x;
}

static ts_x *eval_attr(ts_interp *I, ts_frame *f, const ts_node *e)
{
  const char *name = dotted(I, e);
  if (name && !strncmp(name, "__torch__.", 10))
    return function_value(I, e, name);
  if (e->lhs->kind == TS_N_NAME && !strcmp(e->lhs->name, "CONSTANTS")) {
    ts_value *v = ts_archive_constant(I->a, e->name);
    return v ? ts_from_pickle(I, v, ir_sprintf(I->ctx, "CONSTANTS.%s", e->name), e)
             : ts_fail(I, e, "the archive has no constant CONSTANTS.%s", e->name);
  }
  ts_x *obj = ts_eval(I, f, e->lhs);
  if (!obj)
    return NULL;
  if (obj->kind == TS_X_MODULE)
    return ts_module_get(I, obj->u.m, e->name, e);
  if (obj->kind == TS_X_OTHER)
    return obj;
  return ts_fail(I, e, "attribute '%s' of a value that is not a module is not supported", e->name);
}

static ts_x *eval_seq(ts_interp *I, ts_frame *f, const ts_node *e)
{
  ts_x_kind kind = e->kind == TS_N_LIST ? TS_X_LIST : e->kind == TS_N_DICT ? TS_X_DICT : TS_X_TUPLE;
  ts_x *x = ts_seq_x(I, kind, e->items.n);
  for (int i = 0; x && i < e->items.n; i++)
    if (!(x->u.seq.items[i] = ts_eval(I, f, e->items.items[i])))
      return NULL;
  return x;
}

static ts_x *slice_seq(ts_interp *I, ts_frame *f, const ts_x *s, const ts_node *sl)
{
  int64_t b = 0, e = s->u.seq.n, n = s->u.seq.n;
  ts_x *xb = sl->lhs ? ts_eval(I, f, sl->lhs) : NULL, *xe = sl->rhs ? ts_eval(I, f, sl->rhs) : NULL;
  if ((sl->lhs && (!xb || xb->kind != TS_X_INT)) || (sl->rhs && (!xe || xe->kind != TS_X_INT)) || sl->extra)
    return ts_fail(I, sl, "only slices a:b of integers are supported on lists");
  b = xb ? (xb->u.i < 0 ? xb->u.i + n : xb->u.i) : b;
  e = xe ? (xe->u.i < 0 ? xe->u.i + n : xe->u.i) : e;
  b = b < 0 ? 0 : b > n ? n : b;
  e = e < b ? b : e > n ? n : e;
  ts_x *r = ts_seq_x(I, s->kind, (int)(e - b));
  for (int64_t i = b; r && i < e; i++)
    r->u.seq.items[i - b] = s->u.seq.items[i];
  return r;
}

static bool same_key(const ts_x *a, const ts_x *b)
{
  if (a->kind == TS_X_STR && b->kind == TS_X_STR)
    return !strcmp(a->u.s, b->u.s);
  return is_number(a) && is_number(b) && num(a) == num(b);
}

static ts_x *dict_get(ts_interp *I, const ts_x *d, const ts_x *key, const ts_node *at)
{
  for (int i = 0; i + 1 < d->u.seq.n; i += 2)
    if (same_key(d->u.seq.items[i], key))
      return d->u.seq.items[i + 1];
  return ts_fail(I, at, "the dict has no such key");
}

static ts_x *eval_subscript(ts_interp *I, ts_frame *f, const ts_node *e)
{
  ts_x *s = ts_eval(I, f, e->lhs);
  if (!s)
    return NULL;
  if (s->kind == TS_X_DICT) {
    ts_x *k = ts_eval(I, f, e->rhs);
    return k ? dict_get(I, s, k, e) : NULL;
  }
  if (s->kind != TS_X_LIST && s->kind != TS_X_TUPLE)
    return ts_fail(I, e, "subscripts are supported on lists and tuples only");
  if (e->rhs->kind == TS_N_SLICE)
    return slice_seq(I, f, s, e->rhs);
  ts_x *k = ts_eval(I, f, e->rhs);
  if (!k)
    return NULL;
  int64_t i = k->kind == TS_X_INT ? k->u.i : -1 - s->u.seq.n;
  i = i < 0 ? i + s->u.seq.n : i;
  if (i < 0 || i >= s->u.seq.n)
    return ts_fail(I, e, "index out of range (or not an integer known at compile time)");
  return s->u.seq.items[i];
}

static ts_x *eval_unary(ts_interp *I, ts_frame *f, const ts_node *e)
{
  ts_x *x = ts_eval(I, f, e->lhs);
  bool t;
  if (!x)
    return NULL;
  if (!strcmp(e->op, "not"))
    return truth(I, x, e, &t) ? ts_bool_x(I, !t) : NULL;
  if (!strcmp(e->op, "+"))
    return x;
  if (!strcmp(e->op, "-") && x->kind == TS_X_INT)
    return ts_int_x(I, -x->u.i);
  if (!strcmp(e->op, "-") && x->kind == TS_X_FLOAT)
    return ts_float_x(I, -x->u.f);
  if (!strcmp(e->op, "-") && x->kind == TS_X_TENSOR)
    return ts_binary(I, &(ts_call){.node = e, .op = "operator -"}, GRAPH_OP_MUL, x, ts_int_x(I, -1));
  return ts_fail(I, e, "unary '%s' is not supported on this operand", e->op);
}

static ts_x *eval_logic(ts_interp *I, ts_frame *f, const ts_node *e)
{
  ts_x *a = ts_eval(I, f, e->lhs);
  bool t;
  if (!a || !truth(I, a, e, &t))
    return NULL;
  if ((e->kind == TS_N_AND && !t) || (e->kind == TS_N_OR && t))
    return a;
  return ts_eval(I, f, e->rhs);
}

static ts_x *eval_ifexp(ts_interp *I, ts_frame *f, const ts_node *e)
{
  ts_x *c = ts_eval(I, f, e->rhs);
  bool t;
  if (!c || !truth(I, c, e, &t))
    return NULL;
  return ts_eval(I, f, t ? e->lhs : e->extra);
}

static ts_x *eval_str(ts_interp *I, const ts_node *e)
{
  ts_x *x = ts_new_x(I, TS_X_STR);
  if (x)
    x->u.s = e->name;
  return x;
}

static ts_x *eval_call(ts_interp *I, ts_frame *f, const ts_node *e);

ts_x *ts_eval(ts_interp *I, ts_frame *f, const ts_node *e)
{
  switch (e->kind) {
  case TS_N_NAME: return eval_name(I, f, e);
  case TS_N_INT: return ts_int_x(I, e->i);
  case TS_N_FLOAT: return ts_float_x(I, e->f);
  case TS_N_STR: return eval_str(I, e);
  case TS_N_TRUE: return ts_bool_x(I, true);
  case TS_N_FALSE: return ts_bool_x(I, false);
  case TS_N_NONE: return ts_none_x(I);
  case TS_N_ATTR: return eval_attr(I, f, e);
  case TS_N_CALL: return eval_call(I, f, e);
  case TS_N_SUBSCRIPT: return eval_subscript(I, f, e);
  case TS_N_TUPLE:
  case TS_N_LIST:
  case TS_N_DICT: return eval_seq(I, f, e);
  case TS_N_UNARY: return eval_unary(I, f, e);
  case TS_N_AND:
  case TS_N_OR: return eval_logic(I, f, e);
  case TS_N_IFEXP: return eval_ifexp(I, f, e);
  case TS_N_BINARY: {
    ts_x *a = ts_eval(I, f, e->lhs), *b = a ? ts_eval(I, f, e->rhs) : NULL;
    return b ? binary(I, e, e->op, a, b) : NULL;
  }
  default: return ts_fail(I, e, "a %s expression is not supported", ts_node_kind_names[e->kind]);
  }
}

/* ------------------------------------------------------------------------
 * Calls
 * ------------------------------------------------------------------------ */

/* The dotted text of a callee made of names and attributes; NULL otherwise. */
static const char *dotted(ts_interp *I, const ts_node *e)
{
  if (e->kind == TS_N_NAME)
    return e->name;
  if (e->kind != TS_N_ATTR)
    return NULL;
  const char *lhs = dotted(I, e->lhs);
  return lhs ? ir_sprintf(I->ctx, "%s.%s", lhs, e->name) : NULL;
}

/* Builtins whose first arguments are types, not values. */
static int type_args(const char *name)
{
  if (!strcmp(name, "annotate") || !strcmp(name, "unchecked_cast"))
    return 1;
  if (!strcmp(name, "uninitialized"))
    return 1;
  return 0;
}

static bool eval_args(ts_interp *I, ts_frame *f, const ts_node *e, ts_call *c, int skip)
{
  int n = e->items.n;
  c->args = IR_NEW_ARRAY(I->ctx, ts_x *, n);
  c->kw_names = IR_NEW_ARRAY(I->ctx, const char *, n);
  c->kw_values = IR_NEW_ARRAY(I->ctx, ts_x *, n);
  if (!c->args || !c->kw_names || !c->kw_values)
    return false;
  for (int i = skip; i < n; i++) {
    const ts_node *a = e->items.items[i];
    ts_x *x = ts_eval(I, f, a->kind == TS_N_KWARG ? a->lhs : a);
    if (!x)
      return false;
    if (a->kind == TS_N_KWARG) {
      c->kw_names[c->n_kw] = a->name;
      c->kw_values[c->n_kw++] = x;
    } else {
      c->args[c->n_args++] = x;
    }
  }
  return true;
}

static ts_x *call_op(ts_interp *I, ts_frame *f, const ts_node *e, const char *name)
{
  const ts_op *op = ts_find_op(name);
  if (!op)
    return ts_fail(I, e, "operator '%s' is not supported", name);
  ts_call c = {.node = e, .op = name};
  if (!eval_args(I, f, e, &c, type_args(name)))
    return NULL;
  return op->fn(I, &c);
}

static ts_x *call_free_function(ts_interp *I, ts_frame *f, const ts_node *e, const char *name)
{
  const ts_node *def = free_function(I, name);
  ts_call c = {.node = e, .op = name};
  if (!def)
    return ts_fail(I, e, "function '%s' is not defined in the archive", name);
  return eval_args(I, f, e, &c, 0) ? ts_call_function(I, def, &c, NULL) : NULL;
}

/* obj.method(args): a submodule's forward (forward1, ...), or a tensor
 * method as the operator torch.method(obj, args). */
static ts_x *call_method(ts_interp *I, ts_frame *f, const ts_node *e)
{
  ts_x *obj = ts_eval(I, f, e->lhs->lhs);
  ts_call c = {.node = e, .op = e->lhs->name};
  if (!obj || !eval_args(I, f, e, &c, 0))
    return NULL;
  if (obj->kind == TS_X_MODULE)
    return ts_call_method(I, obj->u.m, e->lhs->name, &c);
  const char *name = ir_sprintf(I->ctx, "torch.%s", e->lhs->name);
  const ts_op *op = name && obj->kind == TS_X_TENSOR ? ts_find_op(name) : NULL;
  ts_x **args = op ? IR_NEW_ARRAY(I->ctx, ts_x *, c.n_args + 1) : NULL;
  if (!args)
    return ts_fail(I, e, "method '%s' is not supported", e->lhs->name);
  args[0] = obj;
  memcpy(args + 1, c.args, sizeof(ts_x *) * (size_t)c.n_args);
  c.args = args;
  c.n_args++;
  c.op = name;
  return op->fn(I, &c);
}

/* f(args) where f holds a function value. */
static ts_x *call_value(ts_interp *I, ts_frame *f, const ts_node *e, const ts_x *fn)
{
  ts_call c = {.node = e, .op = fn->u.def->name};
  return eval_args(I, f, e, &c, 0) ? ts_call_function(I, fn->u.def, &c, NULL) : NULL;
}

static ts_x *eval_call(ts_interp *I, ts_frame *f, const ts_node *e)
{
  const char *name = dotted(I, e->lhs);
  ts_x *local = e->lhs->kind == TS_N_NAME ? ts_map_get(&f->vars, e->lhs->name) : NULL;
  if (local && local->kind == TS_X_FUNC)
    return call_value(I, f, e, local);
  if (name && (!strncmp(name, "torch.", 6) || !strncmp(name, "ops.", 4) || e->lhs->kind == TS_N_NAME))
    return call_op(I, f, e, name);
  if (name && !strncmp(name, "__torch__.", 10))
    return call_free_function(I, f, e, name);
  if (e->lhs->kind == TS_N_ATTR)
    return call_method(I, f, e);
  return ts_fail(I, e, "this call is not supported");
}

ts_x *ts_range_list(ts_interp *I, const ts_call *c)
{
  int64_t v[3] = {0, 0, 1};
  for (int i = 0; i < c->n_args && i < 3; i++) {
    if (c->args[i]->kind != TS_X_INT)
      return ts_fail(I, c->node, "range() of values not known at compile time: only `for ... in range(n)` "
                                 "(one argument) may depend on a tensor's value");
    v[i] = c->args[i]->u.i;
  }
  if (c->n_args == 1)
    v[1] = v[0], v[0] = 0;
  if (c->n_args < 1 || c->n_args > 3 || v[2] == 0)
    return ts_fail(I, c->node, "range() takes 1 to 3 integers, the step not 0");
  double span = ((double)v[1] - (double)v[0]) / (double)v[2];
  if (span > MAX_RANGE)
    return ts_fail(I, c->node, "range() of more than %d values: too long to unroll", MAX_RANGE);
  int64_t n = span > 0 ? (int64_t)ceil(span) : 0, at;
  ts_x *r = ts_seq_x(I, TS_X_LIST, (int)n);
  for (int64_t i = 0; r && i < n; i++) {
    if (__builtin_mul_overflow(i, v[2], &at) || __builtin_add_overflow(at, v[0], &at))
      return ts_fail(I, c->node, "range(): integer arithmetic overflows");
    if (!(r->u.seq.items[i] = ts_int_x(I, at)))
      return NULL;
  }
  return r;
}
