/* affine.c: the arithmetic range inference and bound checks rest on:
 * linear forms of size expressions (sums of constant multiples of the size
 * parameters), their simplification and comparison, and affine forms of
 * index expressions over a statement's indices. */
#include "tc_internal.h"

#include <string.h>

#define LIN_TERMS 16

/* ------------------------------------------------------------------------
 * Size expressions: linear forms and simplification
 * ------------------------------------------------------------------------ */

typedef struct lin {
  int n;
  int param[LIN_TERMS];
  int64_t coef[LIN_TERMS];
  int64_t c;
} lin;

static bool lin_add_term(lin *l, int param, int64_t coef)
{
  for (int i = 0; i < l->n; i++)
    if (l->param[i] == param)
      return !__builtin_add_overflow(l->coef[i], coef, &l->coef[i]);
  if (l->n == LIN_TERMS)
    return false;
  l->param[l->n] = param;
  l->coef[l->n++] = coef;
  return true;
}

/* l += k * m */
static bool lin_add_scaled(lin *l, const lin *m, int64_t k)
{
  int64_t t;
  for (int i = 0; i < m->n; i++)
    if (__builtin_mul_overflow(m->coef[i], k, &t) || !lin_add_term(l, m->param[i], t))
      return false;
  return !__builtin_mul_overflow(m->c, k, &t) && !__builtin_add_overflow(l->c, t, &l->c);
}

static bool lin_is_const(const lin *l)
{
  for (int i = 0; i < l->n; i++)
    if (l->coef[i])
      return false;
  return true;
}

static int64_t floordiv64(int64_t a, int64_t b)
{
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static bool lin_of(const ir_size *s, lin *out);

/* A size operator on two constant linear forms. */
static bool lin_const_op(ir_size_kind kind, const lin *a, const lin *b, lin *out)
{
  if (!lin_is_const(a) || !lin_is_const(b))
    return false;
  if ((kind == IR_SZ_FLOORDIV || kind == IR_SZ_CEILDIV) && (b->c <= 0 || (kind == IR_SZ_CEILDIV && a->c == INT64_MIN)))
    return false;
  if (kind == IR_SZ_FLOORDIV)
    out->c = floordiv64(a->c, b->c);
  else if (kind == IR_SZ_CEILDIV)
    out->c = -floordiv64(-a->c, b->c);
  else if (kind == IR_SZ_MIN)
    out->c = a->c < b->c ? a->c : b->c;
  else
    out->c = a->c > b->c ? a->c : b->c;
  return true;
}

static bool lin_binary(const ir_size *s, lin *out)
{
  lin a, b;
  if (!lin_of(s->a, &a) || !lin_of(s->b, &b))
    return false;
  switch (s->kind) {
  case IR_SZ_ADD:
    return lin_add_scaled(out, &a, 1) && lin_add_scaled(out, &b, 1);
  case IR_SZ_SUB:
    return lin_add_scaled(out, &a, 1) && lin_add_scaled(out, &b, -1);
  case IR_SZ_MUL:
    if (lin_is_const(&a))
      return lin_add_scaled(out, &b, a.c);
    return lin_is_const(&b) && lin_add_scaled(out, &a, b.c);
  default:
    return lin_const_op(s->kind, &a, &b, out);
  }
}

/* The linear form of s over the size parameters; false when s is not affine
 * (a min, max or division of non-constants) or a coefficient overflows. */
static bool lin_of(const ir_size *s, lin *out)
{
  memset(out, 0, sizeof(*out));
  if (!s)
    return false;
  if (s->kind == IR_SZ_CONST) {
    out->c = s->value;
    return true;
  }
  if (s->kind == IR_SZ_PARAM)
    return lin_add_term(out, (int)s->value, 1);
  return lin_binary(s, out);
}

static ir_size *lin_term(aotc_ctx *ctx, int param, int64_t coef)
{
  ir_size *p = ir_size_param(ctx, param);
  return coef == 1 ? p : ir_size_bin(ctx, IR_SZ_MUL, ir_size_const(ctx, coef), p);
}

static ir_size *lin_append(aotc_ctx *ctx, ir_size *acc, int param, int64_t coef)
{
  if (!acc)
    return lin_term(ctx, param, coef);
  if (coef > 0)
    return ir_size_bin(ctx, IR_SZ_ADD, acc, lin_term(ctx, param, coef));
  if (coef == INT64_MIN)
    return ir_size_bin(ctx, IR_SZ_ADD, acc, lin_term(ctx, param, coef));
  return ir_size_bin(ctx, IR_SZ_SUB, acc, lin_term(ctx, param, -coef));
}

/* Positive terms before negative ones, then by parameter number. */
static bool term_before(const lin *l, int i, int j)
{
  if ((l->coef[i] > 0) != (l->coef[j] > 0))
    return l->coef[i] > 0;
  return l->param[i] < l->param[j];
}

static void lin_sort(lin *l)
{
  for (int i = 1; i < l->n; i++)
    for (int j = i; j > 0 && term_before(l, j, j - 1); j--) {
      int p = l->param[j];
      int64_t c = l->coef[j];
      l->param[j] = l->param[j - 1];
      l->coef[j] = l->coef[j - 1];
      l->param[j - 1] = p;
      l->coef[j - 1] = c;
    }
}

/* The canonical sum of l's terms and its constant. */
static ir_size *lin_build(aotc_ctx *ctx, lin *l)
{
  ir_size *acc = NULL;
  lin_sort(l);
  for (int i = 0; i < l->n; i++)
    if (l->coef[i])
      acc = lin_append(ctx, acc, l->param[i], l->coef[i]);
  if (!acc)
    return ir_size_const(ctx, l->c);
  if (l->c > 0 || l->c == INT64_MIN)
    return ir_size_bin(ctx, IR_SZ_ADD, acc, ir_size_const(ctx, l->c));
  if (l->c < 0)
    return ir_size_bin(ctx, IR_SZ_SUB, acc, ir_size_const(ctx, -l->c));
  return acc;
}

/* a - b as a constant, when both are affine and differ by one. */
static bool lin_const_diff(const ir_size *a, const ir_size *b, int64_t *d)
{
  lin la, lb, diff = {0};
  if (!lin_of(a, &la) || !lin_of(b, &lb) || !lin_add_scaled(&diff, &la, 1) || !lin_add_scaled(&diff, &lb, -1))
    return false;
  *d = diff.c;
  return lin_is_const(&diff);
}

static ir_size *simplify_minmax(aotc_ctx *ctx, ir_size_kind kind, ir_size *a, ir_size *b)
{
  int64_t d;
  if (lin_const_diff(a, b, &d))
    return (d <= 0) == (kind == IR_SZ_MIN) ? a : b;
  return ir_size_bin(ctx, kind, a, b);
}

ir_size *tc_size_simplify(aotc_ctx *ctx, ir_size *s)
{
  lin l;
  if (!s || s->kind == IR_SZ_CONST || s->kind == IR_SZ_PARAM)
    return s;
  if (lin_of(s, &l))
    return lin_build(ctx, &l);
  ir_size *a = tc_size_simplify(ctx, s->a), *b = tc_size_simplify(ctx, s->b);
  if (s->kind == IR_SZ_MIN || s->kind == IR_SZ_MAX)
    return simplify_minmax(ctx, s->kind, a, b);
  return ir_size_bin(ctx, s->kind, a, b);
}

/* a <= b for every value of the (non-negative) size parameters. */
bool tc_size_le(const ir_size *a, const ir_size *b)
{
  lin la, lb, diff = {0};
  if (lin_of(a, &la) && lin_of(b, &lb) && lin_add_scaled(&diff, &lb, 1) && lin_add_scaled(&diff, &la, -1)) {
    for (int i = 0; i < diff.n; i++)
      if (diff.coef[i] < 0)
        return false;
    return diff.c >= 0;
  }
  if (a && a->kind == IR_SZ_MIN)
    return tc_size_le(a->a, b) || tc_size_le(a->b, b);
  if (a && a->kind == IR_SZ_MAX)
    return tc_size_le(a->a, b) && tc_size_le(a->b, b);
  if (b && b->kind == IR_SZ_MAX)
    return tc_size_le(a, b->a) || tc_size_le(a, b->b);
  if (b && b->kind == IR_SZ_MIN)
    return tc_size_le(a, b->a) && tc_size_le(a, b->b);
  return false;
}

/* ------------------------------------------------------------------------
 * Index expressions: affine forms
 * ------------------------------------------------------------------------ */


static bool affine_term(tc_affine *a, int idx, int64_t coef)
{
  for (int k = 0; k < a->n; k++)
    if (a->idx[k] == idx)
      return !__builtin_add_overflow(a->coef[k], coef, &a->coef[k]);
  if (a->n == TC_AFFINE_TERMS)
    return false;
  a->idx[a->n] = idx;
  a->coef[a->n++] = coef;
  return true;
}

/* out += k * a */
static bool affine_add(aotc_ctx *ctx, tc_affine *out, const tc_affine *a, int64_t k)
{
  int64_t c;
  for (int i = 0; i < a->n; i++)
    if (__builtin_mul_overflow(a->coef[i], k, &c) || !affine_term(out, a->idx[i], c))
      return false;
  if (!a->rest)
    return true;
  ir_size *r = k == 1 ? a->rest : ir_size_bin(ctx, IR_SZ_MUL, ir_size_const(ctx, k), a->rest);
  out->rest = out->rest ? ir_size_bin(ctx, IR_SZ_ADD, out->rest, r) : r;
  return out->rest != NULL;
}

static bool affine_is_const(const tc_affine *a, int64_t *v)
{
  for (int i = 0; i < a->n; i++)
    if (a->coef[i])
      return false;
  if (!a->rest)
    *v = 0;
  return !a->rest || ir_size_is_const(a->rest, v);
}

static bool affine_mul(aotc_ctx *ctx, const ir_expr *e, tc_affine *out)
{
  tc_affine a, b;
  int64_t k;
  if (!tc_affine_of(ctx, e->args[0], &a) || !tc_affine_of(ctx, e->args[1], &b))
    return false;
  if (affine_is_const(&a, &k))
    return affine_add(ctx, out, &b, k);
  if (affine_is_const(&b, &k))
    return affine_add(ctx, out, &a, k);
  return false;
}

static bool affine_binary(aotc_ctx *ctx, const ir_expr *e, tc_affine *out)
{
  tc_affine a, b;
  if (e->op == IR_MUL)
    return affine_mul(ctx, e, out);
  if (e->op != IR_ADD && e->op != IR_SUB)
    return false;
  return tc_affine_of(ctx, e->args[0], &a) && tc_affine_of(ctx, e->args[1], &b) && affine_add(ctx, out, &a, 1) &&
         affine_add(ctx, out, &b, e->op == IR_ADD ? 1 : -1);
}

/* The affine form of an index expression over the statement's indices and
 * the sizes; false when it has another form. */
bool tc_affine_of(aotc_ctx *ctx, const ir_expr *e, tc_affine *out)
{
  memset(out, 0, sizeof(*out));
  switch (e->kind) {
  case IR_CONST_INT:
    return (out->rest = ir_size_const(ctx, e->ival)) != NULL;
  case IR_INDEX:
    return affine_term(out, e->index, 1);
  case IR_SIZE:
    return (out->rest = e->size) != NULL;
  case IR_BINARY:
    return affine_binary(ctx, e, out);
  case IR_UNARY: {
    tc_affine a;
    return e->op == IR_NEG && tc_affine_of(ctx, e->args[0], &a) && affine_add(ctx, out, &a, -1);
  }
  case IR_CAST:
    return e->type != IR_BOOL && !ir_types[e->type].is_float && tc_affine_of(ctx, e->args[0], out);
  default:
    return false;
  }
}

