/* grad_rules.c: the chain rule over one expression tree. grad_expr hands
 * the adjoint of an expression's value down to its operands with the
 * derivative of each operator and builtin (a table of rules, one per
 * builtin), until it reaches the accesses; grad.c turns each access and
 * its adjoint into a statement. Also the small expression builders the
 * rules and grad.c share. */
#include "grad.h"

#include <math.h>

/* ------------------------------------------------------------------------
 * Builders
 * ------------------------------------------------------------------------ */

ir_expr *grad_clone(aotc_ctx *ctx, const ir_expr *e, const int *tmap, const int *imap)
{
  if (!e)
    return NULL;
  ir_expr *c = ir_expr_new(ctx, e->kind, e->type, e->loc, e->n_args);
  if (!c)
    return NULL;
  ir_expr **args = c->args;
  *c = *e;
  c->args = args;
  if (e->kind == IR_ACCESS && tmap)
    c->tensor = tmap[e->tensor];
  if (e->kind == IR_INDEX && imap)
    c->index = imap[e->index];
  for (int k = 0; k < e->n_args; k++)
    if (!(c->args[k] = grad_clone(ctx, e->args[k], tmap, imap)))
      return NULL;
  return c;
}

ir_expr *grad_fconst(aotc_ctx *ctx, ir_type type, double v, ir_loc loc)
{
  ir_expr *e = ir_expr_new(ctx, IR_CONST_FLOAT, type, loc, 0);
  if (e)
    e->fval = v;
  return e;
}

static bool is_bool_op(ir_op op)
{
  return op == IR_NOT || (op >= IR_LT && op <= IR_OR);
}

ir_expr *grad_bin(aotc_ctx *ctx, ir_op op, ir_expr *a, ir_expr *b)
{
  if (!a || !b)
    return NULL;
  ir_type t = is_bool_op(op) ? IR_BOOL : ir_promote(a->type, b->type);
  ir_expr *e = ir_expr_new(ctx, IR_BINARY, t, a->loc, 2);
  if (!e)
    return NULL;
  e->op = op;
  e->args[0] = a;
  e->args[1] = b;
  return e;
}

static ir_expr *neg(aotc_ctx *ctx, ir_expr *a)
{
  ir_expr *e = a ? ir_expr_new(ctx, IR_UNARY, a->type, a->loc, 1) : NULL;
  if (!e)
    return NULL;
  e->op = IR_NEG;
  e->args[0] = a;
  return e;
}

ir_expr *grad_call(aotc_ctx *ctx, ir_builtin fn, ir_type type, ir_expr *a, ir_expr *b)
{
  return ir_expr_call(ctx, fn, type, a ? a->loc : (ir_loc){0}, a, b);
}

ir_expr *grad_select(aotc_ctx *ctx, ir_expr *c, ir_expr *a, ir_expr *b)
{
  if (!c || !a || !b)
    return NULL;
  ir_expr *e = ir_expr_new(ctx, IR_SELECT, ir_promote(a->type, b->type), a->loc, 3);
  if (!e)
    return NULL;
  e->args[0] = c;
  e->args[1] = a;
  e->args[2] = b;
  return e;
}

ir_expr *grad_access(aotc_ctx *ctx, const ir_func *f, int t, ir_expr *const *args, ir_loc loc)
{
  const ir_tensor *x = f->tensors[t];
  ir_expr *e = ir_expr_new(ctx, IR_ACCESS, x->type, loc, x->rank);
  if (!e)
    return NULL;
  e->tensor = t;
  for (int d = 0; d < x->rank; d++)
    if (!(e->args[d] = args[d]))
      return NULL;
  return e;
}

ir_expr *grad_index(aotc_ctx *ctx, int k, ir_loc loc)
{
  ir_expr *e = ir_expr_new(ctx, IR_INDEX, IR_I64, loc, 0);
  if (e)
    e->index = k;
  return e;
}

/* ------------------------------------------------------------------------
 * The walk
 * ------------------------------------------------------------------------ */

typedef struct walk {
  aotc_ctx *ctx;
  grad_active_fn active;
  grad_leaf_fn leaf;
  void *ud;
} walk;

static bool is_float(const ir_expr *e)
{
  return ir_types[e->type].is_float;
}

/* Whether some access under e is differentiated through float values. */
static bool reaches_active(const walk *w, const ir_expr *e)
{
  if (!is_float(e))
    return false;
  if (e->kind == IR_ACCESS)
    return w->active(w->ud, e);
  if (e->kind == IR_SELECT)
    return reaches_active(w, e->args[1]) || reaches_active(w, e->args[2]);
  for (int k = 0; k < e->n_args; k++)
    if (reaches_active(w, e->args[k]))
      return true;
  return false;
}

static bool walk_expr(walk *w, const ir_expr *e, ir_expr *seed);

/* Operand k of e gets seed (skipped when nothing active is under it). */
static bool down(walk *w, const ir_expr *e, int k, ir_expr *seed)
{
  if (!reaches_active(w, e->args[k]))
    return true;
  return seed && walk_expr(w, e->args[k], seed);
}

#define C(x) grad_clone(w->ctx, (x), NULL, NULL)
#define K(v) grad_fconst(w->ctx, e->type, (v), e->loc)
#define MUL(a, b) grad_bin(w->ctx, IR_MUL, (a), (b))
#define DIV(a, b) grad_bin(w->ctx, IR_DIV, (a), (b))
#define ADD(a, b) grad_bin(w->ctx, IR_ADD, (a), (b))
#define SUB(a, b) grad_bin(w->ctx, IR_SUB, (a), (b))
#define CALL(fn, a) grad_call(w->ctx, (fn), e->type, (a), NULL)
#define A0 C(e->args[0])
#define A1 C(e->args[1])
#define Y C(e)

static bool walk_binary(walk *w, const ir_expr *e, ir_expr *seed)
{
  switch (e->op) {
  case IR_ADD: return down(w, e, 0, seed) && down(w, e, 1, C(seed));
  case IR_SUB: return down(w, e, 0, seed) && down(w, e, 1, neg(w->ctx, C(seed)));
  case IR_MUL: return down(w, e, 0, MUL(seed, A1)) && down(w, e, 1, MUL(C(seed), A0));
  case IR_DIV:
    return down(w, e, 0, DIV(seed, A1)) && down(w, e, 1, neg(w->ctx, DIV(MUL(C(seed), A0), MUL(A1, A1))));
  case IR_MOD:
    return down(w, e, 0, seed) &&
           down(w, e, 1, neg(w->ctx, MUL(C(seed), CALL(IR_FN_TRUNC, DIV(A0, A1)))));
  default: return true;
  }
}

/* d/da of a unary builtin, times seed; NULL for a builtin with a zero
 * derivative (floor, ceil, round, trunc). */
static ir_expr *unary_rule(walk *w, const ir_expr *e, ir_expr *seed)
{
  switch (e->fn) {
  case IR_FN_EXP: return MUL(seed, Y);
  case IR_FN_LOG: return DIV(seed, A0);
  case IR_FN_TANH: return MUL(seed, SUB(K(1), MUL(Y, Y)));
  case IR_FN_SQRT: return DIV(seed, MUL(K(2), Y));
  case IR_FN_RSQRT: return MUL(seed, DIV(MUL(K(-0.5), Y), A0));
  case IR_FN_SIGMOID: return MUL(seed, MUL(Y, SUB(K(1), Y)));
  case IR_FN_ERF: return MUL(seed, MUL(K(2 / sqrt(M_PI)), CALL(IR_FN_EXP, neg(w->ctx, MUL(A0, A0)))));
  case IR_FN_ERFC: return MUL(seed, MUL(K(-2 / sqrt(M_PI)), CALL(IR_FN_EXP, neg(w->ctx, MUL(A0, A0)))));
  case IR_FN_SIN: return MUL(seed, CALL(IR_FN_COS, A0));
  case IR_FN_COS: return neg(w->ctx, MUL(seed, CALL(IR_FN_SIN, A0)));
  case IR_FN_TAN: return MUL(seed, ADD(K(1), MUL(Y, Y)));
  case IR_FN_ASIN: return DIV(seed, CALL(IR_FN_SQRT, SUB(K(1), MUL(A0, A0))));
  case IR_FN_ACOS: return neg(w->ctx, DIV(seed, CALL(IR_FN_SQRT, SUB(K(1), MUL(A0, A0)))));
  case IR_FN_ATAN: return DIV(seed, ADD(K(1), MUL(A0, A0)));
  case IR_FN_SINH: return MUL(seed, CALL(IR_FN_COSH, A0));
  case IR_FN_COSH: return MUL(seed, CALL(IR_FN_SINH, A0));
  case IR_FN_ASINH: return DIV(seed, CALL(IR_FN_SQRT, ADD(MUL(A0, A0), K(1))));
  case IR_FN_ACOSH: return DIV(seed, CALL(IR_FN_SQRT, SUB(MUL(A0, A0), K(1))));
  case IR_FN_ATANH: return DIV(seed, SUB(K(1), MUL(A0, A0)));
  case IR_FN_EXP2: return MUL(seed, MUL(Y, K(M_LN2)));
  case IR_FN_EXPM1: return MUL(seed, ADD(Y, K(1)));
  case IR_FN_LOG2: return DIV(seed, MUL(A0, K(M_LN2)));
  case IR_FN_LOG10: return DIV(seed, MUL(A0, K(M_LN10)));
  case IR_FN_LOG1P: return DIV(seed, ADD(A0, K(1)));
  case IR_FN_CBRT: return DIV(seed, MUL(K(3), MUL(Y, Y)));
  case IR_FN_FABS:
  case IR_FN_ABS:
    return MUL(seed, grad_select(w->ctx, grad_bin(w->ctx, IR_GT, A0, K(0)), K(1),
                                 grad_select(w->ctx, grad_bin(w->ctx, IR_LT, A0, K(0)), K(-1), K(0))));
  default: return NULL;
  }
}

/* max(a, b) passes the adjoint to a where a > b (so relu, max(x, 0), gives
 * none at 0, as PyTorch does), else to b; min(a, b) to a where a < b. */
static bool walk_minmax(walk *w, const ir_expr *e, ir_expr *seed, bool is_max)
{
  ir_expr *pick_a = grad_bin(w->ctx, is_max ? IR_GT : IR_LT, A0, A1);
  ir_expr *to_a = grad_select(w->ctx, pick_a, seed, K(0));
  ir_expr *to_b = grad_select(w->ctx, C(pick_a), K(0), C(seed));
  return down(w, e, 0, to_a) && down(w, e, 1, to_b);
}

static bool walk_binary_call(walk *w, const ir_expr *e, ir_expr *seed)
{
  switch (e->fn) {
  case IR_FN_FMAX:
  case IR_FN_MAX: return walk_minmax(w, e, seed, true);
  case IR_FN_FMIN:
  case IR_FN_MIN: return walk_minmax(w, e, seed, false);
  case IR_FN_POW:
    return down(w, e, 0, MUL(seed, MUL(A1, grad_call(w->ctx, IR_FN_POW, e->type, A0, SUB(A1, K(1)))))) &&
           down(w, e, 1, MUL(C(seed), MUL(Y, CALL(IR_FN_LOG, A0))));
  case IR_FN_FMOD:
    return down(w, e, 0, seed) &&
           down(w, e, 1, neg(w->ctx, MUL(C(seed), CALL(IR_FN_TRUNC, DIV(A0, A1)))));
  case IR_FN_ATAN2: {
    ir_expr *r2 = ADD(MUL(A0, A0), MUL(A1, A1));
    return down(w, e, 0, DIV(MUL(seed, A1), r2)) && down(w, e, 1, neg(w->ctx, DIV(MUL(C(seed), A0), C(r2))));
  }
  default: return true;
  }
}

static bool walk_call(walk *w, const ir_expr *e, ir_expr *seed)
{
  if (ir_builtins[e->fn].arity == 2)
    return walk_binary_call(w, e, seed);
  ir_expr *d = unary_rule(w, e, seed);
  return d ? down(w, e, 0, d) : !w->ctx->oom;
}

static bool walk_select(walk *w, const ir_expr *e, ir_expr *seed)
{
  ir_expr *zero = K(0);
  ir_expr *to_a = grad_select(w->ctx, C(e->args[0]), seed, zero);
  ir_expr *to_b = grad_select(w->ctx, C(e->args[0]), C(zero), C(seed));
  return down(w, e, 1, to_a) && down(w, e, 2, to_b);
}

static ir_expr *cast_to(aotc_ctx *ctx, ir_expr *x, ir_type t)
{
  if (!x || x->type == t)
    return x;
  ir_expr *e = ir_expr_new(ctx, IR_CAST, t, x->loc, 1);
  if (e)
    e->args[0] = x;
  return e;
}

static bool walk_expr(walk *w, const ir_expr *e, ir_expr *seed)
{
  switch (e->kind) {
  case IR_ACCESS: return w->leaf(w->ud, e, cast_to(w->ctx, seed, e->type));
  case IR_UNARY: return e->op == IR_NEG ? down(w, e, 0, neg(w->ctx, seed)) : true;
  case IR_BINARY: return walk_binary(w, e, seed);
  case IR_SELECT: return walk_select(w, e, seed);
  case IR_CAST: return down(w, e, 0, cast_to(w->ctx, seed, e->args[0]->type));
  case IR_CALL: return walk_call(w, e, seed);
  default: return true;
  }
}

bool grad_expr(aotc_ctx *ctx, const ir_expr *e, ir_expr *seed, grad_active_fn active, grad_leaf_fn leaf,
               void *ud)
{
  walk w = {ctx, active, leaf, ud};
  if (!reaches_active(&w, e))
    return true;
  return seed && walk_expr(&w, e, seed) && !ctx->oom;
}
