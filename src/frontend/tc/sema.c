/* sema.c: semantic analysis of one TC def: resolves names (tensors, sizes,
 * index variables, bindings), types expressions with TC's promotion and weak
 * literals, infers index ranges in rounds, and builds the ir_func. Every
 * check reports on the context with the location of the offending token. */
#include "tc_internal.h"

#include <stdlib.h>
#include <string.h>


typedef struct tinfo {
  ir_tensor *t;
  ir_loc loc;
  bool written;     /* an earlier statement wrote it */
  bool rank_known;  /* declared, or written once */
  bool type_known;
  bool shape_fixed; /* declared shape: writes must stay inside it */
  bool shape_known;
} tinfo;

typedef struct sidx {
  const char *name;
  ir_loc loc; /* first occurrence */
  ir_loc range_loc; /* the where clause of an explicit range */
  bool lhs;
  bool known, explicit_range;
  ir_size *lo, *hi;
} sidx;

typedef struct texpr {
  ir_expr *e; /* NULL after an error */
  bool weak;  /* a literal, or arithmetic on literals only */
  int depth;
} texpr;

typedef struct binding {
  const tc_where *w;
  texpr value;
  bool done;
} binding;

typedef struct sema {
  aotc_ctx *ctx;
  const tc_def *def;
  ir_vec tensors; /* tinfo* */
  ir_vec params;  /* const char* */
  ir_vec stmts;   /* ir_stmt* */
  ir_vec idx;     /* sidx*, of the current statement */
  ir_vec binds;   /* binding*, of the current statement */
  int visible_binds;
  long nodes;
} sema;

static texpr analyze(sema *s, const tc_node *n);

/* ------------------------------------------------------------------------
 * Size expressions: linear forms and simplification
 * ------------------------------------------------------------------------ */

static ir_size *sz(sema *s, ir_size_kind kind, ir_size *a, ir_size *b)
{
  return ir_size_bin(s->ctx, kind, a, b);
}

static ir_size *szc(sema *s, int64_t v)
{
  return ir_size_const(s->ctx, v);
}

/* The size as C text, for messages (truncated when long). */
static const char *size_text(sema *s, const ir_size *e)
{
  static const size_t cap = 256;
  char *buf = ir_alloc(s->ctx, cap);
  FILE *f = buf ? fmemopen(buf, cap - 1, "w") : NULL;
  if (!f)
    return "?";
  ir_size_print(f, e, (const char *const *)s->params.items);
  fclose(f);
  return buf;
}

/* ------------------------------------------------------------------------
 * Names: tensors, sizes, indices, bindings
 * ------------------------------------------------------------------------ */

static tinfo *tensor(sema *s, int t)
{
  return s->tensors.items[t];
}

static int find_tensor(sema *s, const char *name)
{
  for (int i = 0; i < s->tensors.n; i++)
    if (!strcmp(tensor(s, i)->t->name, name))
      return i;
  return -1;
}

static int find_param(sema *s, const char *name)
{
  for (int i = 0; i < s->params.n; i++)
    if (!strcmp(s->params.items[i], name))
      return i;
  return -1;
}

static int find_index(sema *s, const char *name)
{
  for (int i = 0; i < s->idx.n; i++)
    if (!strcmp(((sidx *)s->idx.items[i])->name, name))
      return i;
  return -1;
}

static sidx *index_at(sema *s, int i)
{
  return s->idx.items[i];
}

static binding *find_binding(sema *s, const char *name, int limit)
{
  for (int i = 0; i < limit && i < s->binds.n; i++) {
    binding *b = s->binds.items[i];
    if (!strcmp(b->w->name, name))
      return b;
  }
  return NULL;
}

/* Whether a statement of the def writes a tensor of that name (so that a
 * read of a temporary before its statement gets a precise message). */
static bool written_somewhere(sema *s, const char *name)
{
  for (int i = 0; i < s->def->n_stmts; i++)
    if (!strcmp(s->def->stmts[i].lhs, name))
      return true;
  return false;
}

static bool is_function_name(const char *name)
{
  ir_type t;
  ir_builtin fn;
  return ir_type_from_name(name, strlen(name), &t) || ir_builtin_from_name(name, strlen(name), &fn);
}

static int add_index(sema *s, const char *name, ir_loc loc, bool lhs)
{
  sidx *x = IR_NEW(s->ctx, sidx);
  if (!x)
    return -1;
  if (s->idx.n >= TC_MAX_INDICES) {
    aotc_error(s->ctx, loc, "too many index variables in one statement (more than %d)", TC_MAX_INDICES);
    return -1;
  }
  x->name = name;
  x->loc = loc;
  x->lhs = lhs;
  return ir_vec_push(s->ctx, &s->idx, x) ? s->idx.n - 1 : -1;
}

static int add_param(sema *s, const tc_dim *d)
{
  int p = find_param(s, d->name);
  if (p >= 0)
    return p;
  if (s->params.n >= TC_MAX_PARAMS) {
    aotc_error(s->ctx, d->loc, "too many size parameters (more than %d)", TC_MAX_PARAMS);
    return -1;
  }
  return ir_vec_push(s->ctx, &s->params, (void *)d->name) ? s->params.n - 1 : -1;
}

/* ------------------------------------------------------------------------
 * Signature
 * ------------------------------------------------------------------------ */

static ir_size *dim_size(sema *s, const tc_dim *d)
{
  if (!d->name)
    return szc(s, d->value);
  int p = add_param(s, d);
  return p < 0 ? NULL : ir_size_param(s->ctx, p);
}

static tinfo *new_tensor(sema *s, const char *name, ir_loc loc, ir_role role)
{
  tinfo *ti = IR_NEW(s->ctx, tinfo);
  ir_tensor *t = IR_NEW(s->ctx, ir_tensor);
  if (!ti || !t)
    return NULL;
  if (s->tensors.n >= TC_MAX_TENSORS) {
    aotc_error(s->ctx, loc, "too many tensors in one def (more than %d)", TC_MAX_TENSORS);
    return NULL;
  }
  t->name = name;
  t->role = role;
  t->loc = loc;
  ti->t = t;
  ti->loc = loc;
  return ir_vec_push(s->ctx, &s->tensors, ti) ? ti : NULL;
}

static bool declare_shape(sema *s, tinfo *ti, const tc_param *p)
{
  ti->t->type = p->type;
  ti->t->rank = p->rank;
  ti->t->shape = IR_NEW_ARRAY(s->ctx, ir_size *, p->rank);
  if (!ti->t->shape)
    return false;
  for (int k = 0; k < p->rank; k++)
    if (!(ti->t->shape[k] = dim_size(s, &p->dims[k])))
      return false;
  ti->rank_known = ti->type_known = ti->shape_fixed = ti->shape_known = true;
  return true;
}

static bool declare_argument(sema *s, const tc_param *p, ir_role role)
{
  if (find_tensor(s, p->name) >= 0) {
    aotc_error(s->ctx, p->loc, "duplicate argument '%s'", p->name);
    return false;
  }
  tinfo *ti = new_tensor(s, p->name, p->loc, role);
  if (!ti)
    return false;
  return !p->typed || declare_shape(s, ti, p);
}

/* Size names and argument names share one namespace. */
static bool check_size_names(sema *s)
{
  for (int i = 0; i < s->tensors.n; i++)
    if (find_param(s, tensor(s, i)->t->name) >= 0) {
      aotc_error(s->ctx, tensor(s, i)->loc, "'%s' is used both as a size and as an argument name",
                 tensor(s, i)->t->name);
      return false;
    }
  return true;
}

static bool declare_signature(sema *s, const tc_def *def)
{
  for (int i = 0; i < def->n_in; i++)
    if (!declare_argument(s, &def->in[i], IR_INPUT))
      return false;
  for (int i = 0; i < def->n_out; i++)
    if (!declare_argument(s, &def->out[i], IR_OUTPUT))
      return false;
  return check_size_names(s);
}

/* ------------------------------------------------------------------------
 * Expressions: builders and types
 * ------------------------------------------------------------------------ */

static texpr fail(void)
{
  return (texpr){NULL, false, 0};
}

static texpr error_at(sema *s, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static texpr error_at(sema *s, ir_loc loc, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  aotc_vdiag(s->ctx, AOTC_ERROR, loc, fmt, ap);
  va_end(ap);
  return fail();
}

/* Reports an error and returns false. */
static bool report(sema *s, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool report(sema *s, ir_loc loc, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  aotc_vdiag(s->ctx, AOTC_ERROR, loc, fmt, ap);
  va_end(ap);
  return false;
}

static const char *type_name(ir_type t)
{
  return ir_types[t].name;
}

static ir_expr *new_expr(sema *s, ir_expr_kind kind, ir_type type, ir_loc loc, int n_args)
{
  if (++s->nodes == TC_MAX_IR_NODES + 1)
    aotc_error(s->ctx, loc, "statement too large (more than %d expression nodes after substituting bindings)",
               TC_MAX_IR_NODES);
  if (s->nodes > TC_MAX_IR_NODES)
    return NULL;
  return ir_expr_new(s->ctx, kind, type, loc, n_args);
}

/* Wraps e with the depth of its deepest argument plus one. */
static texpr made(sema *s, ir_expr *e, bool weak, const texpr *args, int n)
{
  int depth = 0;
  for (int i = 0; i < n; i++)
    if (args[i].depth > depth)
      depth = args[i].depth;
  if (!e)
    return fail();
  if (depth + 1 > TC_MAX_IR_DEPTH)
    return error_at(s, e->loc, "expression too deeply nested after substituting bindings (more than %d levels)",
                    TC_MAX_IR_DEPTH);
  return (texpr){e, weak, depth + 1};
}

static texpr leaf(sema *s, ir_expr *e, bool weak)
{
  return made(s, e, weak, NULL, 0);
}

static bool is_integer(ir_type t)
{
  return t != IR_BOOL && !ir_types[t].is_float;
}

/* The type a weak operand of type `weak` takes next to a strong one. */
static ir_type adopt(ir_type weak, ir_type strong)
{
  return ir_types[weak].is_float && !ir_types[strong].is_float ? weak : strong;
}

static ir_type unify(texpr a, texpr b)
{
  if (a.weak && !b.weak)
    return adopt(a.e->type, b.e->type);
  if (b.weak && !a.weak)
    return adopt(b.e->type, a.e->type);
  return ir_promote(a.e->type, b.e->type);
}

/* Gives the literals of a weak expression the type t, in place. */
static void retype(ir_expr *e, ir_type t)
{
  if (e->kind == IR_CONST_INT && ir_types[t].is_float) {
    e->kind = IR_CONST_FLOAT;
    e->fval = (double)e->ival;
  }
  for (int i = e->kind == IR_SELECT ? 1 : 0; i < e->n_args; i++)
    retype(e->args[i], t);
  e->type = t;
}

static ir_expr *coerce(sema *s, texpr x, ir_type t)
{
  if (x.e->type == t)
    return x.e;
  if (x.weak && (ir_types[t].is_float || !ir_types[x.e->type].is_float)) {
    retype(x.e, t);
    return x.e;
  }
  ir_expr *c = new_expr(s, IR_CAST, t, x.e->loc, 1);
  if (c)
    c->args[0] = x.e;
  return c;
}

static texpr copy_expr(sema *s, const ir_expr *e, int depth)
{
  ir_expr *c = new_expr(s, e->kind, e->type, e->loc, e->n_args);
  if (!c)
    return fail();
  ir_expr **args = c->args;
  *c = *e;
  c->args = args;
  for (int i = 0; i < e->n_args; i++)
    if (!(c->args[i] = copy_expr(s, e->args[i], depth - 1).e))
      return fail();
  return (texpr){c, false, depth};
}

/* ------------------------------------------------------------------------
 * Expressions: leaves and names
 * ------------------------------------------------------------------------ */

static texpr int_literal(sema *s, const tc_node *n, int64_t v)
{
  ir_expr *e = new_expr(s, IR_CONST_INT, v >= INT32_MIN && v <= INT32_MAX ? IR_I32 : IR_I64, n->loc, 0);
  if (e)
    e->ival = v;
  return leaf(s, e, true);
}

static texpr float_literal(sema *s, const tc_node *n, double v)
{
  ir_expr *e = new_expr(s, IR_CONST_FLOAT, IR_F32, n->loc, 0);
  if (e)
    e->fval = v;
  return leaf(s, e, true);
}

static texpr size_expr(sema *s, ir_size *size, ir_loc loc)
{
  ir_expr *e = size ? new_expr(s, IR_SIZE, IR_I64, loc, 0) : NULL;
  if (e)
    e->size = size;
  return leaf(s, e, false);
}

static texpr index_expr(sema *s, int i, ir_loc loc)
{
  ir_expr *e = i >= 0 ? new_expr(s, IR_INDEX, IR_I64, loc, 0) : NULL;
  if (e)
    e->index = i;
  return leaf(s, e, false);
}

/* Checks that tensor t may be read here with n indices. */
static bool check_read(sema *s, int t, int n, ir_loc loc)
{
  tinfo *ti = tensor(s, t);
  if (ti->t->role != IR_INPUT && !ti->written) {
    aotc_error(s->ctx, loc, "tensor '%s' is read before any statement writes it", ti->t->name);
    return false;
  }
  if (ti->t->rank != n) {
    aotc_error(s->ctx, loc, "tensor '%s' has rank %d but is accessed with %d %s", ti->t->name, ti->t->rank, n,
               n == 1 ? "index" : "indices");
    return false;
  }
  return true;
}

static texpr scalar_read(sema *s, int t, ir_loc loc)
{
  if (tensor(s, t)->t->rank > 0 && (tensor(s, t)->written || tensor(s, t)->t->role == IR_INPUT))
    return error_at(s, loc, "tensor '%s' of rank %d is used without indices", tensor(s, t)->t->name,
                    tensor(s, t)->t->rank);
  if (!check_read(s, t, 0, loc))
    return fail();
  ir_expr *e = new_expr(s, IR_ACCESS, tensor(s, t)->t->type, loc, 0);
  if (e)
    e->tensor = t;
  return leaf(s, e, false);
}

/* Analyzes a binding once, seeing only the bindings before it. */
static void analyze_binding(sema *s, binding *b)
{
  int saved = s->visible_binds;
  for (int i = 0; i < s->binds.n; i++)
    if (s->binds.items[i] == b)
      s->visible_binds = i;
  b->value = analyze(s, b->w->e);
  s->visible_binds = saved;
  b->done = true;
}

static texpr binding_value(sema *s, binding *b)
{
  if (!b->done)
    analyze_binding(s, b);
  if (!b->value.e)
    return fail();
  texpr c = copy_expr(s, b->value.e, b->value.depth);
  c.weak = b->value.weak;
  return c;
}

/* ident = binding | index | size | scalar argument | new reduction index */
static texpr ident_expr(sema *s, const tc_node *n)
{
  binding *b = find_binding(s, n->name, s->visible_binds);
  if (b)
    return binding_value(s, b);
  if (find_binding(s, n->name, s->binds.n))
    return error_at(s, n->loc, "binding '%s' is used in its own definition or before it", n->name);
  int i = find_index(s, n->name);
  if (i >= 0)
    return index_expr(s, i, n->loc);
  int p = find_param(s, n->name);
  if (p >= 0)
    return size_expr(s, ir_size_param(s->ctx, p), n->loc);
  int t = find_tensor(s, n->name);
  if (t >= 0)
    return scalar_read(s, t, n->loc);
  if (is_function_name(n->name))
    return error_at(s, n->loc, "'%s' is a function and needs arguments", n->name);
  if (written_somewhere(s, n->name))
    return error_at(s, n->loc, "tensor '%s' is read before any statement writes it", n->name);
  return index_expr(s, add_index(s, n->name, n->loc, false), n->loc);
}

/* The shape entry k of tensor name, checking that it is known. */
static ir_size *dim_of(sema *s, const char *name, int64_t k, ir_loc loc)
{
  int t = find_tensor(s, name);
  if (t < 0 && !written_somewhere(s, name)) {
    aotc_error(s->ctx, loc, "unknown tensor '%s'", name);
    return NULL;
  }
  if (t < 0 || !tensor(s, t)->shape_known) {
    aotc_error(s->ctx, loc, "the size of '%s' is not known here: no earlier statement writes it", name);
    return NULL;
  }
  tinfo *ti = tensor(s, t);
  if (k < 0 || k >= ti->t->rank) {
    aotc_error(s->ctx, loc, "tensor '%s' of rank %d has no dimension %lld", name, ti->t->rank, (long long)k);
    return NULL;
  }
  return ti->t->shape[k];
}

static texpr dim_expr(sema *s, const tc_node *n)
{
  ir_size *d = dim_of(s, n->name, n->ival, n->loc);
  return d ? size_expr(s, d, n->loc) : fail();
}

/* ------------------------------------------------------------------------
 * Expressions: calls (tensor reads, casts, builtins)
 * ------------------------------------------------------------------------ */

static bool analyze_args(sema *s, const tc_node *n, texpr *args)
{
  for (int i = 0; i < n->n_args; i++)
    if (!(args[i] = analyze(s, n->args[i])).e)
      return false;
  return true;
}

static texpr tensor_read(sema *s, const tc_node *n, int t)
{
  texpr *args = IR_NEW_ARRAY(s->ctx, texpr, n->n_args);
  if (!args || !check_read(s, t, n->n_args, n->loc) || !analyze_args(s, n, args))
    return fail();
  ir_expr *e = new_expr(s, IR_ACCESS, tensor(s, t)->t->type, n->loc, n->n_args);
  if (!e)
    return fail();
  e->tensor = t;
  e->padded = n->padded;
  for (int i = 0; i < n->n_args; i++) {
    if (!is_integer(args[i].e->type))
      return error_at(s, n->args[i]->loc, "index expression must be an integer, not %s", type_name(args[i].e->type));
    e->args[i] = args[i].e;
  }
  return made(s, e, false, args, n->n_args);
}

static texpr cast_expr(sema *s, const tc_node *n, ir_type to)
{
  texpr a;
  if (n->n_args != 1)
    return error_at(s, n->loc, "cast to '%s' takes 1 argument, got %d", n->name, n->n_args);
  if (!(a = analyze(s, n->args[0])).e)
    return fail();
  ir_expr *e = new_expr(s, IR_CAST, to, n->loc, 1);
  if (e)
    e->args[0] = a.e;
  return made(s, e, false, &a, 1);
}

static ir_type builtin_type(ir_builtin fn, const texpr *args, int n)
{
  ir_type t = n == 2 ? unify(args[0], args[1]) : args[0].e->type;
  return ir_builtins[fn].float_only && !ir_types[t].is_float ? IR_F32 : t;
}

static texpr builtin_call(sema *s, const tc_node *n, ir_builtin fn)
{
  if (n->n_args != ir_builtins[fn].arity)
    return error_at(s, n->loc, "builtin '%s' takes %d argument%s, got %d", n->name, ir_builtins[fn].arity,
                    ir_builtins[fn].arity == 1 ? "" : "s", n->n_args);
  texpr args[2];
  if (!analyze_args(s, n, args))
    return fail();
  for (int i = 0; i < n->n_args; i++)
    if (args[i].e->type == IR_BOOL)
      return error_at(s, n->args[i]->loc, "argument of '%s' must be numeric, not bool", n->name);
  ir_type t = builtin_type(fn, args, n->n_args);
  ir_expr *e = new_expr(s, IR_CALL, t, n->loc, n->n_args);
  if (!e)
    return fail();
  e->fn = fn;
  for (int i = 0; i < n->n_args; i++)
    if (!(e->args[i] = coerce(s, args[i], t)))
      return fail();
  return made(s, e, false, args, n->n_args);
}

/* call = tensor read | cast | builtin, in that order of precedence */
static texpr call_expr(sema *s, const tc_node *n)
{
  int t = find_tensor(s, n->name);
  ir_type to;
  ir_builtin fn;
  if (t >= 0)
    return tensor_read(s, n, t);
  if (n->padded)
    return error_at(s, n->loc, "unknown tensor '%s'", n->name);
  if (ir_type_from_name(n->name, strlen(n->name), &to))
    return cast_expr(s, n, to);
  if (ir_builtin_from_name(n->name, strlen(n->name), &fn))
    return builtin_call(s, n, fn);
  if (written_somewhere(s, n->name))
    return error_at(s, n->loc, "tensor '%s' is read before any statement writes it", n->name);
  return error_at(s, n->loc, "unknown tensor or function '%s'", n->name);
}

/* ------------------------------------------------------------------------
 * Expressions: operators
 * ------------------------------------------------------------------------ */

static texpr negate_literal(texpr a)
{
  if (a.e->kind == IR_CONST_INT && a.e->ival != INT64_MIN) {
    a.e->ival = -a.e->ival;
    return a;
  }
  a.e->fval = -a.e->fval;
  return a;
}

static texpr unary_expr(sema *s, const tc_node *n)
{
  texpr a = analyze(s, n->args[0]);
  if (!a.e)
    return fail();
  if (n->op == IR_NOT && a.e->type != IR_BOOL)
    return error_at(s, n->loc, "operand of '!' must be bool, not %s", type_name(a.e->type));
  if (n->op == IR_NEG && a.e->type == IR_BOOL)
    return error_at(s, n->loc, "operand of unary '-' must be numeric, not bool");
  if (n->op == IR_NEG && (a.e->kind == IR_CONST_FLOAT || (a.e->kind == IR_CONST_INT && a.e->ival != INT64_MIN)))
    return negate_literal(a);
  ir_expr *e = new_expr(s, IR_UNARY, a.e->type, n->loc, 1);
  if (e) {
    e->op = n->op;
    e->args[0] = a.e;
  }
  return made(s, e, n->op == IR_NEG && a.weak, &a, 1);
}

static bool is_arith(ir_op op)
{
  return op == IR_ADD || op == IR_SUB || op == IR_MUL || op == IR_DIV || op == IR_MOD;
}

static bool is_order(ir_op op)
{
  return op == IR_LT || op == IR_LE || op == IR_GT || op == IR_GE;
}

/* The operand type of a binary operator, or an error. */
static bool binary_operand_type(sema *s, const tc_node *n, texpr a, texpr b, ir_type *t)
{
  const char *op = ir_op_spelling[n->op];
  bool ba = a.e->type == IR_BOOL, bb = b.e->type == IR_BOOL;
  *t = unify(a, b);
  if (n->op == IR_AND || n->op == IR_OR) {
    if (!ba || !bb)
      return report(s, n->loc, "operands of '%s' must be bool, not %s", op, type_name(ba ? b.e->type : a.e->type));
    return true;
  }
  if ((is_arith(n->op) || is_order(n->op)) && (ba || bb))
    return report(s, n->loc, "operands of '%s' must be numeric, not bool", op);
  if (ba != bb)
    return report(s, n->loc, "cannot compare bool with %s", type_name(ba ? b.e->type : a.e->type));
  if (n->op == IR_MOD && !is_integer(*t))
    return report(s, n->loc, "operands of '%%' must be integers, not %s", type_name(*t));
  return true;
}

static texpr binary_expr(sema *s, const tc_node *n)
{
  texpr args[2] = {analyze(s, n->args[0]), {0}};
  ir_type t;
  if (!args[0].e || !(args[1] = analyze(s, n->args[1])).e || !binary_operand_type(s, n, args[0], args[1], &t))
    return fail();
  bool weak = args[0].weak && args[1].weak && (n->op == IR_ADD || n->op == IR_SUB || n->op == IR_MUL);
  ir_expr *e = new_expr(s, IR_BINARY, is_arith(n->op) ? t : IR_BOOL, n->loc, 2);
  if (!e)
    return fail();
  e->op = n->op;
  if (!(e->args[0] = coerce(s, args[0], t)) || !(e->args[1] = coerce(s, args[1], t)))
    return fail();
  return made(s, e, weak, args, 2);
}

static texpr select_expr(sema *s, const tc_node *n)
{
  texpr a[3] = {analyze(s, n->args[0]), {0}, {0}};
  if (!a[0].e || !(a[1] = analyze(s, n->args[1])).e || !(a[2] = analyze(s, n->args[2])).e)
    return fail();
  if (a[0].e->type != IR_BOOL)
    return error_at(s, n->args[0]->loc, "condition of '?:' must be bool, not %s", type_name(a[0].e->type));
  if ((a[1].e->type == IR_BOOL) != (a[2].e->type == IR_BOOL))
    return error_at(s, n->loc, "branches of '?:' mix bool and %s",
                    type_name(a[1].e->type == IR_BOOL ? a[2].e->type : a[1].e->type));
  ir_type t = unify(a[1], a[2]);
  ir_expr *e = new_expr(s, IR_SELECT, t, n->loc, 3);
  if (!e)
    return fail();
  e->args[0] = a[0].e;
  if (!(e->args[1] = coerce(s, a[1], t)) || !(e->args[2] = coerce(s, a[2], t)))
    return fail();
  return made(s, e, a[1].weak && a[2].weak, a, 3);
}

static texpr analyze(sema *s, const tc_node *n)
{
  switch (n->kind) {
  case TC_N_INT:
    return int_literal(s, n, n->ival);
  case TC_N_FLOAT:
    return float_literal(s, n, n->fval);
  case TC_N_IDENT:
    return ident_expr(s, n);
  case TC_N_DIM:
    return dim_expr(s, n);
  case TC_N_CALL:
    return call_expr(s, n);
  case TC_N_UNARY:
    return unary_expr(s, n);
  case TC_N_BINARY:
    return binary_expr(s, n);
  case TC_N_SELECT:
    return select_expr(s, n);
  }
  return fail();
}

/* ------------------------------------------------------------------------
 * Statements: left-hand side, where clauses
 * ------------------------------------------------------------------------ */

static int lhs_new_tensor(sema *s, const tc_stmt *st)
{
  if (find_param(s, st->lhs) >= 0) {
    aotc_error(s->ctx, st->loc, "cannot write to size '%s'", st->lhs);
    return -1;
  }
  return new_tensor(s, st->lhs, st->loc, IR_TEMP) ? s->tensors.n - 1 : -1;
}

static bool lhs_set_rank(sema *s, tinfo *ti, int rank)
{
  ti->t->rank = rank;
  ti->rank_known = true;
  return (ti->t->shape = IR_NEW_ARRAY(s->ctx, ir_size *, rank)) != NULL;
}

/* The tensor written by st, created when it is a new temporary. */
static int lhs_tensor(sema *s, const tc_stmt *st)
{
  int t = find_tensor(s, st->lhs);
  if (t < 0 && (t = lhs_new_tensor(s, st)) < 0)
    return -1;
  tinfo *ti = tensor(s, t);
  if (ti->t->role == IR_INPUT) {
    aotc_error(s->ctx, st->loc, "cannot write to input '%s'", st->lhs);
    return -1;
  }
  if (!ti->rank_known)
    return lhs_set_rank(s, ti, st->n_idx) ? t : -1;
  if (ti->t->rank != st->n_idx) {
    aotc_error(s->ctx, st->loc, "tensor '%s' has rank %d but is written with %d %s", st->lhs, ti->t->rank,
               st->n_idx, st->n_idx == 1 ? "index" : "indices");
    return -1;
  }
  return t;
}

static bool lhs_index(sema *s, const char *name, ir_loc loc)
{
  if (find_index(s, name) >= 0)
    return report(s, loc, "index '%s' appears twice on the left-hand side", name);
  if (find_param(s, name) >= 0)
    return report(s, loc, "'%s' is a size, not an index variable", name);
  if (find_tensor(s, name) >= 0)
    return report(s, loc, "'%s' is a tensor, not an index variable", name);
  return add_index(s, name, loc, true) >= 0;
}

static bool lhs_indices(sema *s, const tc_stmt *st)
{
  for (int k = 0; k < st->n_idx; k++)
    if (!lhs_index(s, st->idx[k], st->idx_loc[k]))
      return false;
  return true;
}

static bool add_binding(sema *s, const tc_where *w)
{
  binding *b = IR_NEW(s->ctx, binding);
  if (!b)
    return false;
  if (find_binding(s, w->name, s->binds.n))
    return report(s, w->loc, "binding '%s' is defined twice", w->name);
  if (find_index(s, w->name) >= 0 || find_param(s, w->name) >= 0 || find_tensor(s, w->name) >= 0)
    return report(s, w->loc, "binding '%s' has the name of an index, size or tensor", w->name);
  b->w = w;
  return ir_vec_push(s->ctx, &s->binds, b);
}

static bool collect_bindings(sema *s, const tc_stmt *st)
{
  for (int i = 0; i < st->n_where; i++)
    if (st->where[i].kind == TC_W_BIND && !add_binding(s, &st->where[i]))
      return false;
  s->visible_binds = s->binds.n;
  return true;
}

/* Analyzes every `exists` access (after the right-hand side, so that their
 * new indices come last). */
static bool exists_accesses(sema *s, const tc_stmt *st, ir_vec *out)
{
  for (int i = 0; i < st->n_where; i++) {
    const tc_where *w = &st->where[i];
    if (w->kind != TC_W_EXISTS)
      continue;
    if (find_tensor(s, w->e->name) < 0)
      return report(s, w->e->loc, "unknown tensor '%s' in exists clause", w->e->name);
    texpr x = analyze(s, w->e);
    if (!x.e || !ir_vec_push(s->ctx, out, x.e))
      return false;
  }
  return true;
}

static void warn_unused_bindings(sema *s)
{
  for (int i = 0; i < s->binds.n; i++) {
    binding *b = s->binds.items[i];
    if (!b->done)
      aotc_warning(s->ctx, b->w->loc, "binding '%s' is never used", b->w->name);
  }
}

static bool check_reductions(sema *s, const tc_stmt *st)
{
  if (st->red != IR_RED_NONE)
    return true;
  for (int i = 0; i < s->idx.n; i++)
    if (!index_at(s, i)->lhs)
      return report(s, index_at(s, i)->loc,
                    "index '%s' is not on the left-hand side; reducing over it needs a reduction operator (+=, *=, "
                    "min=, max=)",
                    index_at(s, i)->name);
  return true;
}

/* ------------------------------------------------------------------------
 * Explicit ranges
 * ------------------------------------------------------------------------ */

static ir_size *bound_size(sema *s, const tc_node *n);

static ir_size *bound_error(sema *s, const tc_node *n, const char *what)
{
  aotc_error(s->ctx, n->loc, "%s", what);
  return NULL;
}

static ir_size *bound_name(sema *s, const tc_node *n)
{
  int p = find_param(s, n->name);
  if (p >= 0)
    return ir_size_param(s->ctx, p);
  aotc_error(s->ctx, n->loc, "'%s' is not a size; range bounds use integers, sizes and T.k", n->name);
  return NULL;
}

static ir_size *bound_binary(sema *s, const tc_node *n)
{
  ir_size *a = bound_size(s, n->args[0]), *b = a ? bound_size(s, n->args[1]) : NULL;
  int64_t v;
  if (!b)
    return NULL;
  if (n->op == IR_ADD || n->op == IR_SUB)
    return sz(s, n->op == IR_ADD ? IR_SZ_ADD : IR_SZ_SUB, a, b);
  if (n->op == IR_MUL && (ir_size_is_const(a, NULL) || ir_size_is_const(b, NULL)))
    return sz(s, IR_SZ_MUL, a, b);
  if (n->op == IR_MUL)
    return bound_error(s, n, "range bound must be affine: one factor of '*' must be a constant");
  if (n->op == IR_DIV && ir_size_is_const(b, &v) && v > 0)
    return sz(s, IR_SZ_FLOORDIV, a, b);
  if (n->op == IR_DIV)
    return bound_error(s, n, "range bound can only be divided by a positive constant");
  return bound_error(s, n, "range bound must be a size expression (integers, sizes, T.k, + - * /)");
}

/* A size expression written in a `where i in LO:HI` clause. */
static ir_size *bound_size(sema *s, const tc_node *n)
{
  switch (n->kind) {
  case TC_N_INT:
    return szc(s, n->ival);
  case TC_N_IDENT:
    return bound_name(s, n);
  case TC_N_DIM:
    return dim_of(s, n->name, n->ival, n->loc);
  case TC_N_BINARY:
    return bound_binary(s, n);
  case TC_N_UNARY:
    if (n->op == IR_NEG)
      return sz(s, IR_SZ_SUB, szc(s, 0), bound_size(s, n->args[0]));
    return bound_error(s, n, "range bound must be a size expression (integers, sizes, T.k, + - * /)");
  default:
    return bound_error(s, n, "range bound must be a size expression (integers, sizes, T.k, + - * /)");
  }
}

static bool explicit_range(sema *s, const tc_where *w)
{
  int i = find_index(s, w->name);
  if (i < 0)
    return report(s, w->loc, "unknown index '%s' in where clause: it does not appear in the statement", w->name);
  sidx *x = index_at(s, i);
  if (x->explicit_range)
    return report(s, w->loc, "index '%s' already has a range", w->name);
  x->lo = tc_size_simplify(s->ctx, bound_size(s, w->lo));
  x->hi = x->lo ? tc_size_simplify(s->ctx, bound_size(s, w->hi)) : NULL;
  x->known = x->explicit_range = x->hi != NULL;
  x->range_loc = w->loc;
  return x->known;
}

static bool explicit_ranges(sema *s, const tc_stmt *st)
{
  for (int i = 0; i < st->n_where; i++)
    if (st->where[i].kind == TC_W_RANGE && !explicit_range(s, &st->where[i]))
      return false;
  return true;
}

/* ------------------------------------------------------------------------
 * Range inference
 * ------------------------------------------------------------------------ */

/* One dimension of a read: its index expression and the extent. */
typedef struct dimref {
  tc_affine a;
  ir_size *extent;
} dimref;

/* The dimensions of the reads in e: padded ones when `padded` is set,
 * the others otherwise. */
static bool collect_dims(sema *s, const ir_expr *e, bool padded, ir_vec *out)
{
  for (int i = 0; i < e->n_args; i++)
    if (!collect_dims(s, e->args[i], padded, out))
      return false;
  if (e->kind != IR_ACCESS || e->padded != padded)
    return true;
  for (int d = 0; d < e->n_args; d++) {
    dimref *r = IR_NEW(s->ctx, dimref);
    if (!r)
      return false;
    r->extent = tensor(s, e->tensor)->t->shape[d];
    if (tc_affine_of(s->ctx, e->args[d], &r->a) && !ir_vec_push(s->ctx, out, r))
      return false;
  }
  return true;
}

/* The only index of r whose range is unknown, -1 if none or several. */
static int sole_unknown(sema *s, const dimref *r, int64_t *coef)
{
  int found = -1;
  for (int k = 0; k < r->a.n; k++) {
    if (!r->a.coef[k] || index_at(s, r->a.idx[k])->known)
      continue;
    if (found >= 0)
      return -1;
    found = r->a.idx[k];
    *coef = r->a.coef[k];
  }
  return found;
}

/* The least (or greatest) value of r's terms other than index i. */
static ir_size *rest_bound(sema *s, const dimref *r, int i, bool greatest)
{
  ir_size *acc = r->a.rest ? r->a.rest : szc(s, 0);
  for (int k = 0; k < r->a.n; k++) {
    int64_t c = r->a.coef[k];
    if (!c || r->a.idx[k] == i)
      continue;
    sidx *x = index_at(s, r->a.idx[k]);
    ir_size *last = sz(s, IR_SZ_SUB, x->hi, szc(s, 1));
    ir_size *v = (c > 0) == greatest ? last : x->lo;
    acc = sz(s, IR_SZ_ADD, acc, sz(s, IR_SZ_MUL, szc(s, c), v));
  }
  return acc;
}

/* The range of i for which 0 <= a*i + rest < extent for every value of rest. */
static bool bound_from(sema *s, const dimref *r, int i, int64_t a, ir_size **lo, ir_size **hi)
{
  ir_size *rmin = rest_bound(s, r, i, false), *rmax = rest_bound(s, r, i, true);
  ir_size *last = sz(s, IR_SZ_SUB, r->extent, szc(s, 1));
  if (a == INT64_MIN)
    return false;
  if (a > 0) {
    *lo = sz(s, IR_SZ_CEILDIV, sz(s, IR_SZ_SUB, szc(s, 0), rmin), szc(s, a));
    *hi = sz(s, IR_SZ_ADD, sz(s, IR_SZ_FLOORDIV, sz(s, IR_SZ_SUB, last, rmax), szc(s, a)), szc(s, 1));
  } else {
    *lo = sz(s, IR_SZ_CEILDIV, sz(s, IR_SZ_SUB, rmax, last), szc(s, -a));
    *hi = sz(s, IR_SZ_ADD, sz(s, IR_SZ_FLOORDIV, rmin, szc(s, -a)), szc(s, 1));
  }
  return *lo && *hi;
}

static void intersect(sema *s, ir_size **acc, ir_size *v, ir_size_kind kind)
{
  v = tc_size_simplify(s->ctx, v);
  *acc = *acc ? tc_size_simplify(s->ctx, sz(s, kind, *acc, v)) : v;
}

/* One round: every index that is the sole unknown of some dimension gets
 * the intersection of what those dimensions allow. */
static bool infer_round(sema *s, ir_vec *dims, bool *progress)
{
  ir_size **lo = IR_NEW_ARRAY(s->ctx, ir_size *, s->idx.n), **hi = IR_NEW_ARRAY(s->ctx, ir_size *, s->idx.n);
  if (!lo || !hi)
    return false;
  for (int d = 0; d < dims->n; d++) {
    const dimref *r = dims->items[d];
    int64_t a;
    ir_size *l, *h;
    int i = sole_unknown(s, r, &a);
    if (i < 0 || !bound_from(s, r, i, a, &l, &h))
      continue;
    intersect(s, &lo[i], l, IR_SZ_MAX);
    intersect(s, &hi[i], h, IR_SZ_MIN);
  }
  *progress = false;
  for (int i = 0; i < s->idx.n; i++)
    if (lo[i] && hi[i]) {
      index_at(s, i)->lo = lo[i];
      index_at(s, i)->hi = hi[i];
      index_at(s, i)->known = *progress = true;
    }
  return true;
}

static bool infer_rounds(sema *s, ir_vec *dims)
{
  bool progress = true;
  while (progress)
    if (!infer_round(s, dims, &progress))
      return false;
  return true;
}

/* Unconstrained left-hand indices of a tensor of known shape span it (the
 * plain form; ti NULL for the general one). */
static bool lhs_fallback(sema *s, const tinfo *ti)
{
  bool any = false;
  if (!ti || !ti->shape_known)
    return false;
  for (int k = 0; k < s->idx.n && index_at(s, k)->lhs; k++)
    if (!index_at(s, k)->known) {
      index_at(s, k)->lo = szc(s, 0);
      index_at(s, k)->hi = ti->t->shape[k];
      index_at(s, k)->known = any = true;
    }
  return any;
}

static bool report_unknown(sema *s)
{
  for (int i = 0; i < s->idx.n; i++)
    if (!index_at(s, i)->known)
      return report(s, index_at(s, i)->loc, "cannot infer the range of index '%s'; add a 'where %s in LO:HI' clause",
                    index_at(s, i)->name, index_at(s, i)->name);
  return true;
}

/* Rounds over the reads and `exists` accesses; then, for what is left, the
 * left-hand shape; then the padded reads. */
static bool infer_ranges(sema *s, const tinfo *lhs, const ir_expr *rhs, const ir_vec *exists)
{
  ir_vec dims = {0};
  if (!collect_dims(s, rhs, false, &dims))
    return false;
  for (int i = 0; i < exists->n; i++)
    if (!collect_dims(s, exists->items[i], false, &dims))
      return false;
  if (!infer_rounds(s, &dims))
    return false;
  if (lhs_fallback(s, lhs) && !infer_rounds(s, &dims))
    return false;
  if (!collect_dims(s, rhs, true, &dims) || !infer_rounds(s, &dims))
    return false;
  return report_unknown(s);
}

/* ------------------------------------------------------------------------
 * Statements: writes and shapes
 * ------------------------------------------------------------------------ */

/* Writes never go below 0: an inferred left-hand range starts at 0 at least. */
static bool clamp_lhs(sema *s, sidx *x)
{
  int64_t v;
  if (tc_size_le(szc(s, 0), x->lo))
    return true;
  if (!x->explicit_range) {
    x->lo = tc_size_simplify(s->ctx, sz(s, IR_SZ_MAX, x->lo, szc(s, 0)));
    return x->lo != NULL;
  }
  if (ir_size_is_const(x->lo, &v))
    return report(s, x->loc, "range of index '%s' starts at %lld, below 0, on the left-hand side", x->name,
                    (long long)v);
  return true;
}

static bool check_fits(sema *s, const tinfo *ti, int k)
{
  sidx *x = index_at(s, k);
  if (tc_size_le(x->hi, ti->t->shape[k]))
    return true;
  return report(s, x->loc, "size conflict: index '%s' goes up to %s but dimension %d of '%s' has size %s", x->name,
                  size_text(s, x->hi), k, ti->t->name, size_text(s, ti->t->shape[k]));
}

static bool update_shape(sema *s, tinfo *ti)
{
  for (int k = 0; k < ti->t->rank; k++) {
    sidx *x = index_at(s, k);
    if (!clamp_lhs(s, x))
      return false;
    if (ti->shape_fixed && !check_fits(s, ti, k))
      return false;
    if (ti->shape_fixed)
      continue;
    ir_size *hi = x->hi;
    ti->t->shape[k] = ti->shape_known ? tc_size_simplify(s->ctx, sz(s, IR_SZ_MAX, ti->t->shape[k], hi)) : hi;
    if (!ti->t->shape[k])
      return false;
  }
  ti->shape_known = true;
  return true;
}

/* ------------------------------------------------------------------------
 * Statements: general left-hand sides (`G(2*i + k) += ...`, `H(Idx(n)) += ...`)
 * ------------------------------------------------------------------------ */

/* Subscript k of a general left-hand side: an integer expression that does
 * not read the tensor written. */
static ir_expr *lhs_subscript(sema *s, const tc_stmt *st, int t, int k)
{
  const tc_node *n = st->sub[k];
  texpr x = analyze(s, n);
  if (!x.e)
    return NULL;
  if (!is_integer(x.e->type)) {
    report(s, n->loc, "left-hand side subscript must be an integer, not %s", type_name(x.e->type));
    return NULL;
  }
  if (ir_expr_reads(x.e, t)) {
    report(s, n->loc, "left-hand side subscript reads '%s', the tensor it writes", st->lhs);
    return NULL;
  }
  return x.e;
}

/* The subscripts of a general left-hand side (the indices they mention are
 * its left-hand indices); each also joins `reads`, whose reads bound the
 * index ranges. */
static ir_expr **lhs_subscripts(sema *s, const tc_stmt *st, int t, ir_vec *reads)
{
  ir_expr **subs = IR_NEW_ARRAY(s->ctx, ir_expr *, st->n_idx);
  for (int k = 0; subs && k < st->n_idx; k++)
    if (!(subs[k] = lhs_subscript(s, st, t, k)) || !ir_vec_push(s->ctx, reads, subs[k]))
      return NULL;
  for (int i = 0; subs && i < s->idx.n; i++)
    index_at(s, i)->lhs = true;
  return subs;
}

/* Plain form: the left-hand indices, then the bindings; general form: the
 * bindings, then the subscripts, which may use them. */
static bool lhs_and_bindings(sema *s, const tc_stmt *st, int t, ir_expr ***subs, ir_vec *reads)
{
  if (!st->general)
    return lhs_indices(s, st) && collect_bindings(s, st);
  return collect_bindings(s, st) && (*subs = lhs_subscripts(s, st, t, reads)) != NULL;
}

/* The least (or greatest) value of an affine subscript over the ranges. */
static ir_size *subscript_bound(sema *s, const tc_affine *a, bool greatest)
{
  dimref r = {.a = *a};
  return tc_size_simplify(s->ctx, rest_bound(s, &r, -1, greatest));
}

/* Dimension d of ti, written through affine subscript `sub`: never below 0,
 * inside a declared shape, or extending an inferred one. */
static bool affine_write_dim(sema *s, tinfo *ti, int d, const ir_expr *sub, const tc_affine *a)
{
  ir_size *lo = subscript_bound(s, a, false), *top = subscript_bound(s, a, true);
  ir_size *hi = top ? tc_size_simplify(s->ctx, sz(s, IR_SZ_ADD, top, szc(s, 1))) : NULL;
  int64_t v;
  if (!lo || !hi)
    return false;
  if (ir_size_is_const(lo, &v) && v < 0)
    return report(s, sub->loc, "left-hand side subscript %d of '%s' goes down to %lld, below 0", d, ti->t->name,
                  (long long)v);
  if (!tc_size_le(szc(s, 0), lo))
    return report(s, sub->loc, "left-hand side subscript %d of '%s' can go below 0: its least value is %s", d,
                  ti->t->name, size_text(s, lo));
  if (ti->shape_fixed && !tc_size_le(hi, ti->t->shape[d]))
    return report(s, sub->loc, "size conflict: left-hand side subscript %d goes up to %s but dimension %d of '%s' "
                  "has size %s", d, size_text(s, top), d, ti->t->name, size_text(s, ti->t->shape[d]));
  if (!ti->shape_fixed)
    ti->t->shape[d] = ti->shape_known ? tc_size_simplify(s->ctx, sz(s, IR_SZ_MAX, ti->t->shape[d], hi)) : hi;
  return ti->t->shape[d] != NULL;
}

/* The shape of a tensor written through general subscripts: affine ones
 * bound it as index ranges do; another (indirect) one needs it known. */
static bool general_shape(sema *s, tinfo *ti, ir_expr **subs)
{
  for (int d = 0; d < ti->t->rank; d++) {
    tc_affine a;
    if (tc_affine_of(s->ctx, subs[d], &a)) {
      if (!affine_write_dim(s, ti, d, subs[d], &a))
        return false;
    } else if (!ti->shape_known) {
      return report(s, subs[d]->loc, "cannot infer dimension %d of '%s' from a subscript that is not affine in the "
                    "indices; declare '%s' with a shape or write it with index variables first", d, ti->t->name,
                    ti->t->name);
    }
  }
  ti->shape_known = true;
  return true;
}

static ir_stmt *build_stmt(sema *s, const tc_stmt *st, int t, ir_expr *rhs, ir_expr **subs)
{
  ir_stmt *out = IR_NEW(s->ctx, ir_stmt);
  if (!out || !(out->index = IR_NEW_ARRAY(s->ctx, ir_index, s->idx.n)))
    return NULL;
  if (!subs && !(out->lhs = IR_NEW_ARRAY(s->ctx, int, st->n_idx)))
    return NULL;
  out->lhs_expr = subs;
  out->loc = st->loc;
  out->tensor = t;
  out->n_index = s->idx.n;
  out->n_lhs = st->n_idx;
  out->red = st->red;
  out->init = st->init;
  out->rhs = rhs;
  for (int i = 0; i < s->idx.n; i++) {
    sidx *x = index_at(s, i);
    out->index[i] = (ir_index){x->name, x->lo, x->hi, !x->lhs, x->explicit_range,
                               x->explicit_range ? x->range_loc : x->loc};
  }
  for (int k = 0; !subs && k < st->n_idx; k++)
    out->lhs[k] = k;
  return out;
}

/* Records the statement; subs: the subscripts of a general left-hand side,
 * NULL for the plain form. */
static bool finish_stmt(sema *s, const tc_stmt *st, int t, texpr rhs, ir_expr **subs)
{
  tinfo *ti = tensor(s, t);
  if (!ti->type_known)
    ti->t->type = rhs.e->type;
  ti->type_known = true;
  ir_expr *value = coerce(s, rhs, ti->t->type);
  if (!value || !(subs ? general_shape(s, ti, subs) : update_shape(s, ti)))
    return false;
  ir_stmt *out = build_stmt(s, st, t, value, subs);
  ti->written = true;
  return out && ir_vec_push(s->ctx, &s->stmts, out);
}

static void stmt_reset(sema *s)
{
  s->idx = (ir_vec){0};
  s->binds = (ir_vec){0};
  s->visible_binds = 0;
  s->nodes = 0;
}

static bool statement(sema *s, const tc_stmt *st)
{
  ir_vec exists = {0};
  ir_expr **subs = NULL;
  stmt_reset(s);
  int t = lhs_tensor(s, st);
  if (t < 0 || !lhs_and_bindings(s, st, t, &subs, &exists))
    return false;
  texpr rhs = analyze(s, st->rhs);
  if (!rhs.e || !exists_accesses(s, st, &exists))
    return false;
  warn_unused_bindings(s);
  if (!check_reductions(s, st) || !explicit_ranges(s, st))
    return false;
  return infer_ranges(s, subs ? NULL : tensor(s, t), rhs.e, &exists) && finish_stmt(s, st, t, rhs, subs);
}

/* ------------------------------------------------------------------------
 * Definitions
 * ------------------------------------------------------------------------ */

static bool check_outputs_written(sema *s, const tc_def *def)
{
  bool ok = true;
  for (int i = 0; i < def->n_out; i++) {
    tinfo *ti = tensor(s, def->n_in + i);
    if (!ti->written)
      ok = report(s, ti->loc, "output '%s' is never written", ti->t->name);
  }
  return ok;
}

static int *tensor_numbers(sema *s, int first, int n)
{
  int *v = IR_NEW_ARRAY(s->ctx, int, n);
  for (int i = 0; v && i < n; i++)
    v[i] = first + i;
  return v;
}

static ir_func *build_func(sema *s, const tc_def *def)
{
  ir_func *f = IR_NEW(s->ctx, ir_func);
  ir_tensor **tensors = IR_NEW_ARRAY(s->ctx, ir_tensor *, s->tensors.n);
  if (!f || !tensors)
    return NULL;
  for (int i = 0; i < s->tensors.n; i++)
    tensors[i] = tensor(s, i)->t;
  f->name = def->name;
  f->loc = def->loc;
  f->n_params = s->params.n;
  f->param_names = (const char **)s->params.items;
  f->n_tensors = s->tensors.n;
  f->tensors = tensors;
  f->n_inputs = def->n_in;
  f->inputs = tensor_numbers(s, 0, def->n_in);
  f->n_outputs = def->n_out;
  f->outputs = tensor_numbers(s, def->n_in, def->n_out);
  f->n_stmts = s->stmts.n;
  f->stmts = (ir_stmt **)s->stmts.items;
  return f->inputs && f->outputs ? f : NULL;
}

ir_func *tc_sema_def(aotc_ctx *ctx, const tc_def *def)
{
  sema s = {.ctx = ctx, .def = def};
  if (!declare_signature(&s, def))
    return NULL;
  if (def->n_stmts == 0) {
    aotc_error(ctx, def->loc, "def '%s' has no statements", def->name);
    return NULL;
  }
  for (int i = 0; i < def->n_stmts; i++)
    if (!statement(&s, &def->stmts[i]))
      return NULL;
  if (!check_outputs_written(&s, def))
    return NULL;
  ir_func *f = build_func(&s, def);
  return f && tc_check_reads(ctx, f) ? f : NULL;
}
