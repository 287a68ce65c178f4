/* emit_checks_const.c: the compile-time half of the index checks
 * (emit_checks.c): a data-dependent subscript that reads constant tensors
 * only (an ONNX Gather whose indices are an initializer) over constant
 * ranges is evaluated at every point, and a value outside its dimension is
 * an error naming the tensors, instead of code that would always return
 * AOTC_RC_INDEX. What cannot be evaluated here (floats, sizes, large
 * ranges) is left to the run-time checks. */
#include "emit_print.h"

#include <string.h>

#define MAX_POINTS ((int64_t)1 << 24) /* larger index ranges are left to the run-time check */

typedef struct const_eval {
  const ir_func *f;
  int64_t *iv; /* index values of the current point */
  bool ok;     /* false: not evaluable */
} const_eval;

static int64_t eval(const_eval *c, const ir_expr *e);

static int64_t fail(const_eval *c)
{
  c->ok = false;
  return 0;
}

static bool const_dim(const ir_tensor *T, int j, int64_t *v)
{
  return T->shape[j] && ir_size_is_const(T->shape[j], v);
}

static int64_t element(const_eval *c, const ir_tensor *T, int64_t k)
{
  switch (T->type) {
  case IR_BOOL: return ((const bool *)T->data)[k];
  case IR_U8: return ((const uint8_t *)T->data)[k];
  case IR_I8: return ((const int8_t *)T->data)[k];
  case IR_U16: return ((const uint16_t *)T->data)[k];
  case IR_I16: return ((const int16_t *)T->data)[k];
  case IR_U32: return ((const uint32_t *)T->data)[k];
  case IR_I32: return ((const int32_t *)T->data)[k];
  case IR_I64: return ((const int64_t *)T->data)[k];
  case IR_U64: return (int64_t)((const uint64_t *)T->data)[k];
  default: return fail(c);
  }
}

/* A read of a constant tensor, its subscripts inside it. */
static int64_t eval_read(const_eval *c, const ir_expr *e)
{
  const ir_tensor *T = c->f->tensors[e->tensor];
  int64_t k = 0, d;
  if (T->role != IR_CONSTANT || !T->data || e->padded)
    return fail(c);
  for (int j = 0; j < e->n_args && c->ok; j++) {
    int64_t v = eval(c, e->args[j]);
    if (!const_dim(T, j, &d) || v < 0 || v >= d)
      return fail(c);
    k = k * d + v;
  }
  return c->ok ? element(c, T, k) : 0;
}

static int64_t eval_binary(const_eval *c, ir_op op, int64_t a, int64_t b)
{
  int64_t r;
  switch (op) {
  case IR_ADD: return __builtin_add_overflow(a, b, &r) ? fail(c) : r;
  case IR_SUB: return __builtin_sub_overflow(a, b, &r) ? fail(c) : r;
  case IR_MUL: return __builtin_mul_overflow(a, b, &r) ? fail(c) : r;
  case IR_DIV: return b == 0 || (a == INT64_MIN && b == -1) ? fail(c) : a / b;
  case IR_MOD: return b == 0 || (a == INT64_MIN && b == -1) ? fail(c) : a % b;
  case IR_LT: return a < b;
  case IR_LE: return a <= b;
  case IR_GT: return a > b;
  case IR_GE: return a >= b;
  case IR_EQ: return a == b;
  case IR_NE: return a != b;
  case IR_AND: return a && b;
  case IR_OR: return a || b;
  default: return fail(c);
  }
}

/* v converted to integer type t as C converts it. */
static int64_t convert(const_eval *c, int64_t v, ir_type t)
{
  switch (t) {
  case IR_BOOL: return v != 0;
  case IR_U8: return (uint8_t)v;
  case IR_I8: return (int8_t)v;
  case IR_U16: return (uint16_t)v;
  case IR_I16: return (int16_t)v;
  case IR_U32: return (uint32_t)v;
  case IR_I32: return (int32_t)v;
  case IR_I64: case IR_U64: return v;
  default: return fail(c);
  }
}

static int64_t eval_call(const_eval *c, const ir_expr *e)
{
  int64_t a = eval(c, e->args[0]), b = e->n_args > 1 ? eval(c, e->args[1]) : 0;
  switch (e->fn) {
  case IR_FN_MIN: return a < b ? a : b;
  case IR_FN_MAX: return a > b ? a : b;
  case IR_FN_ABS: return a == INT64_MIN ? fail(c) : a < 0 ? -a : a;
  default: return fail(c);
  }
}

static int64_t eval(const_eval *c, const ir_expr *e)
{
  int64_t v;
  if (!c->ok || ir_types[e->type].is_float || e->type == IR_U64)
    return fail(c);
  switch (e->kind) {
  case IR_CONST_INT: return e->ival;
  case IR_INDEX: return c->iv[e->index];
  case IR_SIZE: return ir_size_is_const(e->size, &v) ? v : fail(c);
  case IR_ACCESS: return eval_read(c, e);
  case IR_UNARY:
    v = eval(c, e->args[0]);
    return e->op == IR_NOT ? !v : v == INT64_MIN ? fail(c) : -v;
  case IR_BINARY: v = eval(c, e->args[0]); return eval_binary(c, e->op, v, eval(c, e->args[1]));
  case IR_SELECT: return eval(c, e->args[0]) ? eval(c, e->args[1]) : eval(c, e->args[2]);
  case IR_CAST: return convert(c, eval(c, e->args[0]), e->type);
  case IR_CALL: return eval_call(c, e);
  default: return fail(c);
  }
}

/* ------------------------------------------------------------------------
 * The points of a subscript
 * ------------------------------------------------------------------------ */

/* Whether every range of s is constant and their points (over the indices
 * marked used) are few enough; *empty: the statement runs nowhere. */
static bool small_ranges(const ir_stmt *s, const bool *used, bool *empty)
{
  int64_t points = 1, lo, hi;
  for (int x = 0; x < s->n_index; x++) {
    if (!ir_size_is_const(s->index[x].lo, &lo) || !ir_size_is_const(s->index[x].hi, &hi))
      return false;
    *empty |= hi <= lo;
    if (used[x] && hi > lo && __builtin_mul_overflow(points, hi - lo, &points))
      return false;
  }
  return points <= MAX_POINTS;
}

/* The next point of the used indices (odometer); false after the last. */
static bool next_point(const ir_stmt *s, const bool *used, int64_t *iv)
{
  int64_t lo, hi;
  for (int x = s->n_index - 1; x >= 0; x--) {
    if (!used[x])
      continue;
    ir_size_is_const(s->index[x].lo, &lo);
    ir_size_is_const(s->index[x].hi, &hi);
    if (++iv[x] < hi)
      return true;
    iv[x] = lo;
  }
  return false;
}

static bool report(aotc_ctx *ctx, const ir_func *f, const emit_checked_access *a, int j, int64_t v, int64_t d)
{
  int from = emit_checks_index_source(a);
  aotc_error(ctx, a->loc, "index %lld computed from constant '%s' lies outside dimension %d of '%s' (size %lld)",
             (long long)v, from >= 0 ? f->tensors[from]->name : "?", j, f->tensors[a->t]->name, (long long)d);
  return false;
}

/* Subscript j at the current point; false (reported) when outside. */
static bool point_ok(aotc_ctx *ctx, const_eval *c, const emit_checked_access *a, int j)
{
  int64_t d, v = eval(c, a->subs[j]);
  if (!c->ok || !const_dim(c->f->tensors[a->t], j, &d))
    return true;
  return (v >= 0 && v < d) || report(ctx, c->f, a, j, v, d);
}

/* Every point of access a, where its data-dependent subscripts can be
 * evaluated; false (reported) at the first outside its dimension. */
static bool check_points(aotc_ctx *ctx, const ir_func *f, const emit_checked_access *a, const bool *used, int64_t *iv)
{
  const ir_stmt *s = a->s;
  bool empty = false;
  if (!small_ranges(s, used, &empty) || empty)
    return true;
  for (int x = 0; x < s->n_index; x++)
    ir_size_is_const(s->index[x].lo, &iv[x]);
  do {
    for (int j = 0; j < a->n; j++) {
      const_eval c = {f, iv, true};
      if (emit_checks_reads_data(a->subs[j]) && !point_ok(ctx, &c, a, j))
        return false;
    }
  } while (next_point(s, used, iv));
  return true;
}

typedef struct const_checker {
  aotc_ctx *ctx;
  const ir_func *f;
  bool ok;
} const_checker;

static void check_access(void *data, const emit_checked_access *a)
{
  const_checker *k = data;
  int n = a->s->n_index > 0 ? a->s->n_index : 1;
  bool *used = IR_NEW_ARRAY(k->ctx, bool, n);
  int64_t *iv = IR_NEW_ARRAY(k->ctx, int64_t, n);
  if (!k->ok || !used || !iv) {
    k->ok &= used && iv;
    return;
  }
  emit_checks_mark_used(a, used);
  k->ok = check_points(k->ctx, k->f, a, used, iv);
}

bool emit_checks_constant_indices(aotc_ctx *ctx, const ir_func *f)
{
  const_checker k = {ctx, f, true};
  for (int i = 0; k.ok && i < f->n_stmts; i++)
    emit_checks_visit_stmt(f->stmts[i], check_access, &k);
  return k.ok;
}
