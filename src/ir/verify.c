/* verify.c: the invariants every pass relies on, checked between passes and
 * before interpretation. A violation is a compiler bug, reported on the
 * context as an error prefixed "IR:" at the nearest known location. */
#include "ir.h"

typedef struct verifier {
  aotc_ctx *ctx;
  const ir_func *f;
  const ir_stmt *s; /* the statement being checked, NULL outside */
  bool ok;
} verifier;

static void fail(verifier *v, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(verifier *v, ir_loc loc, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  aotc_vdiag(v->ctx, AOTC_ERROR, loc, fmt, ap);
  va_end(ap);
  v->ok = false;
}

/* ------------------------------------------------------------------------
 * Size expressions and tensors
 * ------------------------------------------------------------------------ */

static bool size_ok(const ir_func *f, const ir_size *s)
{
  if (!s || s->kind > IR_SZ_MAX)
    return false;
  if (s->kind == IR_SZ_CONST)
    return true;
  if (s->kind == IR_SZ_PARAM)
    return s->value >= 0 && s->value < f->n_params;
  return size_ok(f, s->a) && size_ok(f, s->b);
}

static void check_tensor(verifier *v, int t)
{
  const ir_tensor *tensor = v->f->tensors[t];
  if (!tensor || !tensor->name) {
    fail(v, v->f->loc, "IR: tensor %d of '%s' is missing or unnamed", t, v->f->name);
    return;
  }
  if (tensor->type >= IR_TYPE_COUNT || tensor->role > IR_CONSTANT || tensor->rank < 0 ||
      (tensor->rank > 0 && !tensor->shape)) {
    fail(v, tensor->loc, "IR: tensor '%s' has a bad type, role, rank or shape", tensor->name);
    return;
  }
  for (int d = 0; d < tensor->rank; d++)
    if (tensor->shape[d] && !size_ok(v->f, tensor->shape[d]))
      fail(v, tensor->loc, "IR: dimension %d of tensor '%s' is a bad size expression", d, tensor->name);
}

static bool tensor_number_ok(const ir_func *f, int t)
{
  return t >= 0 && t < f->n_tensors && f->tensors[t];
}

/* The signature: inputs are readable tensors (parameters last), outputs
 * written ones. */
static void check_signature(verifier *v)
{
  const ir_func *f = v->f;
  bool parameters = false;
  for (int i = 0; i < f->n_inputs; i++) {
    if (!tensor_number_ok(f, f->inputs[i]) || f->tensors[f->inputs[i]]->role == IR_OUTPUT ||
        f->tensors[f->inputs[i]]->role == IR_TEMP) {
      fail(v, f->loc, "IR: input %d of '%s' is not an input tensor", i, f->name);
      continue;
    }
    if (parameters && f->tensors[f->inputs[i]]->role != IR_PARAMETER)
      fail(v, f->loc, "IR: input %d of '%s' follows a parameter", i, f->name);
    parameters |= f->tensors[f->inputs[i]]->role == IR_PARAMETER;
  }
  for (int i = 0; i < f->n_outputs; i++)
    if (!tensor_number_ok(f, f->outputs[i]) || f->tensors[f->outputs[i]]->role != IR_OUTPUT)
      fail(v, f->loc, "IR: output %d of '%s' is not an output tensor", i, f->name);
}

/* ------------------------------------------------------------------------
 * Expressions
 * ------------------------------------------------------------------------ */

static const int kind_arity[IR_EXPR_KIND_COUNT] = {
    [IR_CONST_INT] = 0, [IR_CONST_FLOAT] = 0, [IR_INDEX] = 0, [IR_SIZE] = 0, [IR_ACCESS] = -1,
    [IR_UNARY] = 1,     [IR_BINARY] = 2,      [IR_SELECT] = 3, [IR_CAST] = 1, [IR_CALL] = -1,
};
_Static_assert(sizeof(kind_arity) / sizeof(kind_arity[0]) == IR_EXPR_KIND_COUNT, "arity table");

static const char *const kind_names[IR_EXPR_KIND_COUNT] = {
    [IR_CONST_INT] = "integer constant", [IR_CONST_FLOAT] = "float constant", [IR_INDEX] = "index",
    [IR_SIZE] = "size", [IR_ACCESS] = "access", [IR_UNARY] = "unary operation",
    [IR_BINARY] = "binary operation", [IR_SELECT] = "select", [IR_CAST] = "cast", [IR_CALL] = "call",
};
_Static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == IR_EXPR_KIND_COUNT, "kind name table");

static bool is_bool_op(ir_op op)
{
  return op == IR_NOT || (op >= IR_LT && op <= IR_OR);
}

/* The operands e must have, or -1 when e's kind or referent is invalid. */
static int expected_arity(verifier *v, const ir_expr *e)
{
  if (e->kind == IR_ACCESS) {
    if (tensor_number_ok(v->f, e->tensor))
      return v->f->tensors[e->tensor]->rank;
    fail(v, e->loc, "IR: access to tensor %d, which does not exist", e->tensor);
    return -1;
  }
  if (e->kind == IR_CALL) {
    if (e->fn < IR_FN_COUNT)
      return ir_builtins[e->fn].arity;
    fail(v, e->loc, "IR: call of builtin %d, which does not exist", (int)e->fn);
    return -1;
  }
  return kind_arity[e->kind];
}

static void check_access(verifier *v, const ir_expr *e)
{
  const ir_tensor *t = v->f->tensors[e->tensor];
  if (e->type != t->type)
    fail(v, e->loc, "IR: access to '%s' has type %s, the tensor %s", t->name, ir_types[e->type].name,
         ir_types[t->type].name);
  for (int k = 0; k < e->n_args; k++)
    if (ir_types[e->args[k]->type].is_float)
      fail(v, e->loc, "IR: index %d of the access to '%s' is not an integer", k, t->name);
}

static void check_op(verifier *v, const ir_expr *e)
{
  bool unary = e->op == IR_NEG || e->op == IR_NOT;
  if (e->op >= IR_OP_COUNT || unary != (e->kind == IR_UNARY)) {
    fail(v, e->loc, "IR: %s with operator %d", kind_names[e->kind], (int)e->op);
    return;
  }
  if (is_bool_op(e->op) && e->type != IR_BOOL)
    fail(v, e->loc, "IR: '%s' has type %s, not bool", ir_op_spelling[e->op], ir_types[e->type].name);
}

/* Checks that depend on the kind, once the operands are known to exist. */
static void check_kind(verifier *v, const ir_expr *e)
{
  switch (e->kind) {
  case IR_INDEX:
    if (e->index < 0 || e->index >= v->s->n_index)
      fail(v, e->loc, "IR: index variable %d of a statement with %d", e->index, v->s->n_index);
    break;
  case IR_SIZE:
    if (!size_ok(v->f, e->size))
      fail(v, e->loc, "IR: bad size expression");
    break;
  case IR_ACCESS: check_access(v, e); break;
  case IR_UNARY:
  case IR_BINARY: check_op(v, e); break;
  case IR_CALL:
    if (ir_builtins[e->fn].float_only && !ir_types[e->type].is_float)
      fail(v, e->loc, "IR: call of '%s' has type %s", ir_builtins[e->fn].name, ir_types[e->type].name);
    break;
  default: break;
  }
  if ((e->kind == IR_INDEX || e->kind == IR_SIZE) && e->type != IR_I64)
    fail(v, e->loc, "IR: %s has type %s, not int64", kind_names[e->kind], ir_types[e->type].name);
}

static void check_expr(verifier *v, const ir_expr *e)
{
  if (e->kind >= IR_EXPR_KIND_COUNT || e->type >= IR_TYPE_COUNT) {
    fail(v, e->loc, "IR: expression of kind %d, type %d", (int)e->kind, (int)e->type);
    return;
  }
  int arity = expected_arity(v, e);
  if (arity < 0)
    return;
  if (e->n_args != arity || (arity > 0 && !e->args)) {
    fail(v, e->loc, "IR: %s with %d operands, expected %d", kind_names[e->kind], e->n_args, arity);
    return;
  }
  for (int k = 0; k < arity; k++)
    if (!e->args[k]) {
      fail(v, e->loc, "IR: %s with a missing operand", kind_names[e->kind]);
      return;
    }
  for (int k = 0; k < arity; k++)
    check_expr(v, e->args[k]);
  check_kind(v, e);
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

/* Plain form: the left-hand side lists the first n_lhs indices, each once. */
static void check_plain_lhs(verifier *v, const ir_stmt *s)
{
  for (int d = 0; d < s->n_lhs; d++) {
    bool dup = false;
    for (int e = 0; e < d; e++)
      dup |= s->lhs[e] == s->lhs[d];
    if (s->lhs[d] < 0 || s->lhs[d] >= s->n_lhs || dup)
      fail(v, s->loc, "IR: left-hand side entry %d is index %d (the first %d indices, each once)", d,
           s->lhs[d], s->n_lhs);
  }
}

static bool on_general_lhs(const ir_stmt *s, int k)
{
  for (int d = 0; d < s->n_lhs; d++)
    if (s->lhs_expr[d] && ir_expr_uses_index(s->lhs_expr[d], k))
      return true;
  return false;
}

/* General form: each subscript an integer expression that does not read
 * the tensor written. */
static void check_general_lhs(verifier *v, const ir_stmt *s)
{
  const char *name = v->f->tensors[s->tensor]->name;
  if (s->lhs)
    fail(v, s->loc, "IR: statement writing '%s' has both a plain and a general left-hand side", name);
  for (int d = 0; d < s->n_lhs; d++) {
    const ir_expr *e = s->lhs_expr[d];
    if (!e) {
      fail(v, s->loc, "IR: left-hand side subscript %d of '%s' is missing", d, name);
      continue;
    }
    check_expr(v, e);
    if (e->type < IR_TYPE_COUNT && ir_types[e->type].is_float)
      fail(v, e->loc, "IR: left-hand side subscript %d of '%s' is not an integer", d, name);
    if (ir_expr_reads(e, s->tensor))
      fail(v, e->loc, "IR: left-hand side subscript %d reads '%s', the tensor written", d, name);
  }
}

static bool reduction_flag_ok(const ir_stmt *s, int k)
{
  if (ir_stmt_is_plain(s))
    return !s->index[k].reduction || k >= s->n_lhs;
  return s->index[k].reduction == !on_general_lhs(s, k);
}

static void check_indices(verifier *v, const ir_stmt *s)
{
  bool any_reduction = false;
  for (int k = 0; k < s->n_index; k++) {
    const ir_index *ix = &s->index[k];
    if (!ix->name || !size_ok(v->f, ix->lo) || !size_ok(v->f, ix->hi))
      fail(v, s->loc, "IR: index %d has no name or a bad range", k);
    if ((v->ok || ir_stmt_is_plain(s)) && !reduction_flag_ok(s, k))
      fail(v, s->loc, "IR: index '%s' is %smarked reduction", ix->name ? ix->name : "?",
           ix->reduction ? "" : "not ");
    any_reduction |= ix->reduction;
  }
  if (any_reduction && s->red == IR_RED_NONE)
    fail(v, s->loc, "IR: statement with reduction indices and no reduction operator");
}

/* Shape of the statement itself: written tensor, counts, arrays. */
static bool check_stmt_frame(verifier *v, const ir_stmt *s)
{
  if (!tensor_number_ok(v->f, s->tensor)) {
    fail(v, s->loc, "IR: statement writes tensor %d, which does not exist", s->tensor);
    return false;
  }
  const ir_tensor *t = v->f->tensors[s->tensor];
  if (t->role == IR_INPUT || t->role == IR_PARAMETER || t->role == IR_CONSTANT)
    fail(v, s->loc, "IR: statement writes '%s', which is read-only", t->name);
  bool plain = ir_stmt_is_plain(s);
  if (s->n_lhs < 0 || (plain && s->n_lhs > s->n_index) || (s->n_index > 0 && !s->index) ||
      (plain && s->n_lhs > 0 && !s->lhs)) {
    fail(v, s->loc, "IR: statement with %d indices, %d on the left", s->n_index, s->n_lhs);
    return false;
  }
  if (s->n_lhs != t->rank)
    fail(v, s->loc, "IR: statement writes '%s' of rank %d with %d indices", t->name, t->rank, s->n_lhs);
  if (s->red > IR_RED_MAX || (s->init && s->red == IR_RED_NONE))
    fail(v, s->loc, "IR: bad reduction operator");
  if (!s->rhs)
    fail(v, s->loc, "IR: statement without a right-hand side");
  return s->rhs != NULL;
}

static void check_stmt(verifier *v, int k)
{
  const ir_stmt *s = v->f->stmts[k];
  if (!s) {
    fail(v, v->f->loc, "IR: statement %d of '%s' is missing", k, v->f->name);
    return;
  }
  v->s = s;
  if (!check_stmt_frame(v, s))
    return;
  if (ir_stmt_is_plain(s))
    check_plain_lhs(v, s);
  else
    check_general_lhs(v, s);
  check_indices(v, s);
  check_expr(v, s->rhs);
  v->s = NULL;
}

bool ir_verify(aotc_ctx *ctx, const ir_func *f)
{
  verifier v = {.ctx = ctx, .f = f, .ok = true};
  if (f->n_tensors < 0 || (f->n_tensors > 0 && !f->tensors) || f->n_stmts < 0 ||
      (f->n_stmts > 0 && !f->stmts) || f->n_params < 0 || (f->n_params > 0 && !f->param_names)) {
    fail(&v, f->loc, "IR: function '%s' has bad counts", f->name ? f->name : "?");
    return false;
  }
  for (int t = 0; t < f->n_tensors; t++)
    check_tensor(&v, t);
  if (!v.ok)
    return false;
  check_signature(&v);
  for (int k = 0; k < f->n_stmts; k++)
    check_stmt(&v, k);
  return v.ok && ir_region_verify(ctx, f);
}
