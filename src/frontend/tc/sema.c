/* sema.c: semantic analysis of one TC def: resolves names (tensors, sizes,
 * index variables, bindings), types expressions with TC's promotion and weak
 * literals, has ranges.c give every index its range and every written tensor
 * its shape, builds the ir_func and has bounds.c check its reads. Every check
 * reports on the context with the location of the offending token. */
#include "sema_internal.h"

#include <stdlib.h>
#include <string.h>

static texpr analyze(sema *s, const tc_node *n);

/* ------------------------------------------------------------------------
 * Size expressions
 * ------------------------------------------------------------------------ */

static ir_size *szc(sema *s, int64_t v)
{
  return ir_size_const(s->ctx, v);
}

/* The size as C text, for messages (truncated when long). */
const char *tc_sema_size_text(sema *s, const ir_size *e)
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

tinfo *tc_sema_tensor(sema *s, int t)
{
  return s->tensors.items[t];
}

static int find_tensor(sema *s, const char *name)
{
  for (int i = 0; i < s->tensors.n; i++)
    if (!strcmp(tc_sema_tensor(s, i)->t->name, name))
      return i;
  return -1;
}

int tc_sema_find_param(sema *s, const char *name)
{
  for (int i = 0; i < s->params.n; i++)
    if (!strcmp(s->params.items[i], name))
      return i;
  return -1;
}

int tc_sema_find_index(sema *s, const char *name)
{
  for (int i = 0; i < s->idx.n; i++)
    if (!strcmp(((sidx *)s->idx.items[i])->name, name))
      return i;
  return -1;
}

sidx *tc_sema_index(sema *s, int i)
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
  int p = tc_sema_find_param(s, d->name);
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
    if (tc_sema_find_param(s, tc_sema_tensor(s, i)->t->name) >= 0) {
      aotc_error(s->ctx, tc_sema_tensor(s, i)->loc, "'%s' is used both as a size and as an argument name",
                 tc_sema_tensor(s, i)->t->name);
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
bool tc_sema_report(sema *s, ir_loc loc, const char *fmt, ...)
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
  tinfo *ti = tc_sema_tensor(s, t);
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
  if (tc_sema_tensor(s, t)->t->rank > 0 && (tc_sema_tensor(s, t)->written || tc_sema_tensor(s, t)->t->role == IR_INPUT))
    return error_at(s, loc, "tensor '%s' of rank %d is used without indices", tc_sema_tensor(s, t)->t->name,
                    tc_sema_tensor(s, t)->t->rank);
  if (!check_read(s, t, 0, loc))
    return fail();
  ir_expr *e = new_expr(s, IR_ACCESS, tc_sema_tensor(s, t)->t->type, loc, 0);
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
  int i = tc_sema_find_index(s, n->name);
  if (i >= 0)
    return index_expr(s, i, n->loc);
  int p = tc_sema_find_param(s, n->name);
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
ir_size *tc_sema_dim_of(sema *s, const char *name, int64_t k, ir_loc loc)
{
  int t = find_tensor(s, name);
  if (t < 0 && !written_somewhere(s, name)) {
    aotc_error(s->ctx, loc, "unknown tensor '%s'", name);
    return NULL;
  }
  if (t < 0 || !tc_sema_tensor(s, t)->shape_known) {
    aotc_error(s->ctx, loc, "the size of '%s' is not known here: no earlier statement writes it", name);
    return NULL;
  }
  tinfo *ti = tc_sema_tensor(s, t);
  if (k < 0 || k >= ti->t->rank) {
    aotc_error(s->ctx, loc, "tensor '%s' of rank %d has no dimension %lld", name, ti->t->rank, (long long)k);
    return NULL;
  }
  return ti->t->shape[k];
}

static texpr dim_expr(sema *s, const tc_node *n)
{
  ir_size *d = tc_sema_dim_of(s, n->name, n->ival, n->loc);
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
  ir_expr *e = new_expr(s, IR_ACCESS, tc_sema_tensor(s, t)->t->type, n->loc, n->n_args);
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
      return tc_sema_report(s, n->loc, "operands of '%s' must be bool, not %s", op, type_name(ba ? b.e->type : a.e->type));
    return true;
  }
  if ((is_arith(n->op) || is_order(n->op)) && (ba || bb))
    return tc_sema_report(s, n->loc, "operands of '%s' must be numeric, not bool", op);
  if (ba != bb)
    return tc_sema_report(s, n->loc, "cannot compare bool with %s", type_name(ba ? b.e->type : a.e->type));
  if (n->op == IR_MOD && !is_integer(*t))
    return tc_sema_report(s, n->loc, "operands of '%%' must be integers, not %s", type_name(*t));
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
  if (tc_sema_find_param(s, st->lhs) >= 0) {
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
  tinfo *ti = tc_sema_tensor(s, t);
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
  if (tc_sema_find_index(s, name) >= 0)
    return tc_sema_report(s, loc, "index '%s' appears twice on the left-hand side", name);
  if (tc_sema_find_param(s, name) >= 0)
    return tc_sema_report(s, loc, "'%s' is a size, not an index variable", name);
  if (find_tensor(s, name) >= 0)
    return tc_sema_report(s, loc, "'%s' is a tensor, not an index variable", name);
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
    return tc_sema_report(s, w->loc, "binding '%s' is defined twice", w->name);
  if (tc_sema_find_index(s, w->name) >= 0 || tc_sema_find_param(s, w->name) >= 0 || find_tensor(s, w->name) >= 0)
    return tc_sema_report(s, w->loc, "binding '%s' has the name of an index, size or tensor", w->name);
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
      return tc_sema_report(s, w->e->loc, "unknown tensor '%s' in exists clause", w->e->name);
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
    if (!tc_sema_index(s, i)->lhs)
      return tc_sema_report(s, tc_sema_index(s, i)->loc,
                    "index '%s' is not on the left-hand side; reducing over it needs a reduction operator (+=, *=, "
                    "min=, max=)",
                    tc_sema_index(s, i)->name);
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
    tc_sema_report(s, n->loc, "left-hand side subscript must be an integer, not %s", type_name(x.e->type));
    return NULL;
  }
  if (ir_expr_reads(x.e, t)) {
    tc_sema_report(s, n->loc, "left-hand side subscript reads '%s', the tensor it writes", st->lhs);
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
    tc_sema_index(s, i)->lhs = true;
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
    sidx *x = tc_sema_index(s, i);
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
  tinfo *ti = tc_sema_tensor(s, t);
  if (!ti->type_known)
    ti->t->type = rhs.e->type;
  ti->type_known = true;
  ir_expr *value = coerce(s, rhs, ti->t->type);
  if (!value || !(subs ? tc_general_shape(s, ti, subs) : tc_update_shape(s, ti)))
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
  if (!check_reductions(s, st) || !tc_explicit_ranges(s, st))
    return false;
  return tc_infer_ranges(s, subs ? NULL : tc_sema_tensor(s, t), rhs.e, &exists) && finish_stmt(s, st, t, rhs, subs);
}

/* ------------------------------------------------------------------------
 * Definitions
 * ------------------------------------------------------------------------ */

static bool check_outputs_written(sema *s, const tc_def *def)
{
  bool ok = true;
  for (int i = 0; i < def->n_out; i++) {
    tinfo *ti = tc_sema_tensor(s, def->n_in + i);
    if (!ti->written)
      ok = tc_sema_report(s, ti->loc, "output '%s' is never written", ti->t->name);
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
    tensors[i] = tc_sema_tensor(s, i)->t;
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
