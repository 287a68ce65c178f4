/* interp.c: the reference interpreter, the oracle of every test. It walks the
 * IR directly, independent of the polyhedral backend: statements in program
 * order, each index over its range in index order, every value tagged with
 * its type and kept to the C semantics of that type after each operation.
 * Simple on purpose: obviously correct beats fast here. Float statements
 * with affine subscripts run compiled (interp_fast.c: the same arithmetic
 * and order, checked against this walk on the corpus). */
#include "interp_priv.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Values: integers as 64-bit patterns normalised to their type's width
 * (sign- or zero-extended), floats as double (float32 already rounded).
 * ------------------------------------------------------------------------ */

typedef struct value {
  ir_type type;
  union {
    uint64_t u;
    int64_t i;
    double f;
  };
} value;

static bool is_float(ir_type t)
{
  return ir_types[t].is_float;
}

static bool is_signed_int(ir_type t)
{
  return !ir_types[t].is_float && ir_types[t].is_signed;
}

/* The integer value of type t whose low bits are `bits` (C's wrap-around). */
static value make_int(ir_type t, uint64_t bits)
{
  value v = {.type = t};
  int w = ir_types[t].bytes * 8;
  if (t == IR_BOOL) {
    v.u = bits != 0;
    return v;
  }
  if (w < 64) {
    uint64_t mask = ((uint64_t)1 << w) - 1;
    bits &= mask;
    if (ir_types[t].is_signed && (bits >> (w - 1)))
      bits |= ~mask;
  }
  v.u = bits;
  return v;
}

static value make_float(ir_type t, double d)
{
  value v = {.type = t};
  v.f = t == IR_F32 ? (double)(float)d : d;
  return v;
}

static value type_max(ir_type t)
{
  if (t == IR_BOOL)
    return make_int(t, 1);
  if (is_signed_int(t))
    return make_int(t, ((uint64_t)1 << (ir_types[t].bytes * 8 - 1)) - 1);
  return make_int(t, UINT64_MAX);
}

static value type_min(ir_type t)
{
  if (is_signed_int(t))
    return make_int(t, (uint64_t)1 << (ir_types[t].bytes * 8 - 1));
  return make_int(t, 0);
}

/* Float to integer: truncation toward zero, saturating where C leaves the
 * result undefined, NaN to 0. */
static value float_to_int(ir_type t, double d)
{
  if (t == IR_BOOL || isnan(d))
    return make_int(t, t == IR_BOOL && d != 0);
  d = trunc(d);
  if (!ir_types[t].is_signed && d >= 0)
    return make_int(t, d >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)d);
  if (d >= 9223372036854775808.0)
    return make_int(t, (uint64_t)INT64_MAX);
  if (d < -9223372036854775808.0)
    return make_int(t, (uint64_t)INT64_MIN);
  return make_int(t, (uint64_t)(int64_t)d);
}

static value int_to_float(ir_type t, value v)
{
  value r = {.type = t};
  if (t == IR_F32)
    r.f = ir_types[v.type].is_signed ? (float)v.i : (float)v.u;
  else
    r.f = ir_types[v.type].is_signed ? (double)v.i : (double)v.u;
  return r;
}

/* C's conversion of v to type t. */
static value convert(value v, ir_type t)
{
  if (v.type == t)
    return v;
  if (is_float(t))
    return is_float(v.type) ? make_float(t, v.f) : int_to_float(t, v);
  if (is_float(v.type))
    return float_to_int(t, v.f);
  return make_int(t, v.u);
}

static bool truthy(value v)
{
  return is_float(v.type) ? v.f != 0 : v.u != 0;
}

/* ------------------------------------------------------------------------
 * Element storage: one load and one store per element type.
 * ------------------------------------------------------------------------ */

typedef value (*load_fn)(const void *p, int64_t k);
typedef void (*store_fn)(void *p, int64_t k, value v);

#define INT_ACCESSORS(T, ctype, field)                                                                 \
  static value load_##T(const void *p, int64_t k) { return make_int(IR_##T, (uint64_t)((const ctype *)p)[k]); } \
  static void store_##T(void *p, int64_t k, value v) { ((ctype *)p)[k] = (ctype)v.field; }
#define FLOAT_ACCESSORS(T, ctype)                                                                      \
  static value load_##T(const void *p, int64_t k) { return make_float(IR_##T, ((const ctype *)p)[k]); } \
  static void store_##T(void *p, int64_t k, value v) { ((ctype *)p)[k] = (ctype)v.f; }

INT_ACCESSORS(BOOL, bool, u)
INT_ACCESSORS(I8, int8_t, i)
INT_ACCESSORS(U8, uint8_t, u)
INT_ACCESSORS(I16, int16_t, i)
INT_ACCESSORS(U16, uint16_t, u)
INT_ACCESSORS(I32, int32_t, i)
INT_ACCESSORS(U32, uint32_t, u)
INT_ACCESSORS(I64, int64_t, i)
INT_ACCESSORS(U64, uint64_t, u)
FLOAT_ACCESSORS(F32, float)
FLOAT_ACCESSORS(F64, double)

static const struct {
  load_fn load;
  store_fn store;
} elem_ops[IR_TYPE_COUNT] = {
    [IR_BOOL] = {load_BOOL, store_BOOL}, [IR_I8] = {load_I8, store_I8},    [IR_U8] = {load_U8, store_U8},
    [IR_I16] = {load_I16, store_I16},    [IR_U16] = {load_U16, store_U16}, [IR_I32] = {load_I32, store_I32},
    [IR_U32] = {load_U32, store_U32},    [IR_I64] = {load_I64, store_I64}, [IR_U64] = {load_U64, store_U64},
    [IR_F32] = {load_F32, store_F32},    [IR_F64] = {load_F64, store_F64},
};
_Static_assert(sizeof(elem_ops) / sizeof(elem_ops[0]) == IR_TYPE_COUNT, "element table");

/* ------------------------------------------------------------------------
 * Floating-point builtins: the float and the double libm function.
 * ------------------------------------------------------------------------ */

static float rsqrt_f(float x) { return 1.0f / sqrtf(x); }
static double rsqrt_d(double x) { return 1.0 / sqrt(x); }
static float sigmoid_f(float x) { return 1.0f / (1.0f + expf(-x)); }
static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

typedef ir_interp_fn fn_impl;

static const fn_impl fn_impls[IR_FN_COUNT] = {
    [IR_FN_EXP] = {expf, exp, 0, 0},       [IR_FN_LOG] = {logf, log, 0, 0},
    [IR_FN_TANH] = {tanhf, tanh, 0, 0},    [IR_FN_SQRT] = {sqrtf, sqrt, 0, 0},
    [IR_FN_RSQRT] = {rsqrt_f, rsqrt_d, 0, 0}, [IR_FN_FABS] = {fabsf, fabs, 0, 0},
    [IR_FN_FMAX] = {0, 0, fmaxf, fmax},    [IR_FN_FMIN] = {0, 0, fminf, fmin},
    [IR_FN_POW] = {0, 0, powf, pow},       [IR_FN_ERF] = {erff, erf, 0, 0},
    [IR_FN_FLOOR] = {floorf, floor, 0, 0}, [IR_FN_CEIL] = {ceilf, ceil, 0, 0},
    [IR_FN_ROUND] = {roundf, round, 0, 0}, [IR_FN_TRUNC] = {truncf, trunc, 0, 0},
    [IR_FN_SIN] = {sinf, sin, 0, 0},       [IR_FN_COS] = {cosf, cos, 0, 0},
    [IR_FN_TAN] = {tanf, tan, 0, 0},       [IR_FN_ASIN] = {asinf, asin, 0, 0},
    [IR_FN_ACOS] = {acosf, acos, 0, 0},    [IR_FN_ATAN] = {atanf, atan, 0, 0},
    [IR_FN_SINH] = {sinhf, sinh, 0, 0},    [IR_FN_COSH] = {coshf, cosh, 0, 0},
    [IR_FN_ASINH] = {asinhf, asinh, 0, 0}, [IR_FN_ACOSH] = {acoshf, acosh, 0, 0},
    [IR_FN_ATANH] = {atanhf, atanh, 0, 0}, [IR_FN_EXP2] = {exp2f, exp2, 0, 0},
    [IR_FN_EXPM1] = {expm1f, expm1, 0, 0}, [IR_FN_LOG2] = {log2f, log2, 0, 0},
    [IR_FN_LOG10] = {log10f, log10, 0, 0}, [IR_FN_LOG1P] = {log1pf, log1p, 0, 0},
    [IR_FN_CBRT] = {cbrtf, cbrt, 0, 0},    [IR_FN_ERFC] = {erfcf, erfc, 0, 0},
    [IR_FN_SIGMOID] = {sigmoid_f, sigmoid_d, 0, 0}, [IR_FN_FMOD] = {0, 0, fmodf, fmod},
    [IR_FN_ATAN2] = {0, 0, atan2f, atan2}, [IR_FN_MIN] = {0, 0, 0, 0},
    [IR_FN_MAX] = {0, 0, 0, 0},            [IR_FN_ABS] = {0, 0, 0, 0},
};
_Static_assert(sizeof(fn_impls) / sizeof(fn_impls[0]) == IR_FN_COUNT, "builtin implementation table");

const ir_interp_fn *ir_interp_builtin(ir_builtin fn)
{
  return &fn_impls[fn];
}

/* ------------------------------------------------------------------------
 * Interpreter state
 * ------------------------------------------------------------------------ */

typedef struct slot {
  void *data;
  bool arg;           /* an argument of the call */
  bool readonly;
  size_t owned_bytes; /* > 0: allocated here (a temporary) */
  int64_t *shape;
} slot;

typedef struct interp {
  aotc_ctx *ctx;
  const ir_func *f;
  const int64_t *sizes;
  slot *slots;         /* per tensor */
  int64_t *dims;       /* storage of every slot's shape */
  size_t dims_bytes;
  const ir_stmt *s;    /* the statement executing */
  int64_t *lo, *hi;    /* its index ranges */
  int64_t *iv;         /* the current point */
  size_t index_bytes;
  void **data;         /* per tensor: slots[t].data and .shape, for interp_fast.c */
  int64_t **shape;
  bool walk_only;      /* no compiled statements */
} interp;

static void *raw_alloc(aotc_ctx *ctx, size_t n)
{
  void *p = ctx->alloc(ctx->alloc_ud, NULL, 0, n ? n : 1);
  if (!p) {
    ctx->oom = true;
    return NULL;
  }
  memset(p, 0, n ? n : 1);
  return p;
}

static void raw_free(aotc_ctx *ctx, void *p, size_t n)
{
  if (p)
    ctx->alloc(ctx->alloc_ud, p, n ? n : 1, 0);
}

/* ------------------------------------------------------------------------
 * Arithmetic with C semantics
 * ------------------------------------------------------------------------ */

static int div_by_zero(interp *in, const ir_expr *e)
{
  aotc_error(in->ctx, e->loc, "integer division by zero");
  return 1;
}

/* a op b for integers of type t (a and b already of type t). */
static int int_arith(interp *in, const ir_expr *e, ir_op op, ir_type t, value a, value b, value *out)
{
  bool sgn = ir_types[t].is_signed;
  if ((op == IR_DIV || op == IR_MOD) && b.u == 0)
    return div_by_zero(in, e);
  switch (op) {
  case IR_ADD: *out = make_int(t, a.u + b.u); return 0;
  case IR_SUB: *out = make_int(t, a.u - b.u); return 0;
  case IR_MUL: *out = make_int(t, a.u * b.u); return 0;
  case IR_DIV:
    if (sgn && b.i == -1)
      *out = make_int(t, 0 - a.u);
    else
      *out = make_int(t, sgn ? (uint64_t)(a.i / b.i) : a.u / b.u);
    return 0;
  case IR_MOD:
    *out = make_int(t, sgn ? (b.i == -1 ? 0 : (uint64_t)(a.i % b.i)) : a.u % b.u);
    return 0;
  default:
    return 1;
  }
}

/* a op b for floats of type t. */
static value float_arith(ir_op op, ir_type t, value a, value b)
{
  switch (op) {
  case IR_ADD: return make_float(t, a.f + b.f);
  case IR_SUB: return make_float(t, a.f - b.f);
  case IR_MUL: return make_float(t, a.f * b.f);
  case IR_DIV: return make_float(t, a.f / b.f);
  default: return make_float(t, t == IR_F32 ? fmodf((float)a.f, (float)b.f) : fmod(a.f, b.f));
  }
}

static int arith(interp *in, const ir_expr *e, ir_op op, ir_type t, value a, value b, value *out)
{
  a = convert(a, t);
  b = convert(b, t);
  if (is_float(t)) {
    *out = float_arith(op, t, a, b);
    return 0;
  }
  return int_arith(in, e, op, t, a, b, out);
}

/* -1, 0, 1, or 2 when unordered (a NaN). */
static int three_way(value a, value b)
{
  if (is_float(a.type))
    return a.f < b.f ? -1 : a.f > b.f ? 1 : a.f == b.f ? 0 : 2;
  if (ir_types[a.type].is_signed)
    return a.i < b.i ? -1 : a.i > b.i;
  return a.u < b.u ? -1 : a.u > b.u;
}

static bool compare(ir_op op, value a, value b)
{
  ir_type t = ir_promote(a.type, b.type);
  int c = three_way(convert(a, t), convert(b, t));
  switch (op) {
  case IR_LT: return c == -1;
  case IR_LE: return c == -1 || c == 0;
  case IR_GT: return c == 1;
  case IR_GE: return c == 1 || c == 0;
  case IR_EQ: return c == 0;
  default: return c != 0;
  }
}

static value min_max(ir_type t, value a, value b, bool is_max)
{
  a = convert(a, t);
  b = convert(b, t);
  if (is_float(t))
    return make_float(t, is_max ? fmax(a.f, b.f) : fmin(a.f, b.f));
  return (three_way(a, b) < 0) == is_max ? b : a;
}

static value abs_value(value a)
{
  if (is_float(a.type))
    return make_float(a.type, fabs(a.f));
  return is_signed_int(a.type) && a.i < 0 ? make_int(a.type, 0 - a.u) : a;
}

/* ------------------------------------------------------------------------
 * Expressions
 * ------------------------------------------------------------------------ */

static int eval(interp *in, const ir_expr *e, value *out);

static int eval_size(interp *in, const ir_expr *e, value *out)
{
  int64_t v;
  if (!ir_size_eval(e->size, in->sizes, &v)) {
    aotc_error(in->ctx, e->loc, "size expression overflows");
    return 1;
  }
  *out = make_int(IR_I64, (uint64_t)v);
  return 0;
}

static int read_out_of_bounds(interp *in, const ir_expr *e, int d, int64_t idx, int64_t size)
{
  aotc_error(in->ctx, e->loc, "read of '%s' out of bounds: index %lld in dimension %d of size %lld",
             in->f->tensors[e->tensor]->name, (long long)idx, d, (long long)size);
  return 1;
}

static int eval_access(interp *in, const ir_expr *e, value *out)
{
  const slot *sl = &in->slots[e->tensor];
  int64_t off = 0;
  for (int d = 0; d < e->n_args; d++) {
    value v;
    if (eval(in, e->args[d], &v))
      return 1;
    int64_t idx = convert(v, IR_I64).i;
    if (idx < 0 || idx >= sl->shape[d]) {
      if (!e->padded)
        return read_out_of_bounds(in, e, d, idx, sl->shape[d]);
      *out = make_int(IR_I64, 0);
      return 0;
    }
    off = off * sl->shape[d] + idx;
  }
  *out = elem_ops[in->f->tensors[e->tensor]->type].load(sl->data, off);
  return 0;
}

static int eval_unary(interp *in, const ir_expr *e, value *out)
{
  value a;
  if (eval(in, e->args[0], &a))
    return 1;
  if (e->op == IR_NOT) {
    *out = make_int(IR_BOOL, !truthy(a));
    return 0;
  }
  a = convert(a, e->type);
  *out = is_float(e->type) ? make_float(e->type, -a.f) : make_int(e->type, 0 - a.u);
  return 0;
}

/* && and ||: the right operand only when the left does not decide. */
static int eval_logical(interp *in, const ir_expr *e, value *out)
{
  value a, b;
  if (eval(in, e->args[0], &a))
    return 1;
  if (truthy(a) == (e->op == IR_OR)) {
    *out = make_int(IR_BOOL, truthy(a));
    return 0;
  }
  if (eval(in, e->args[1], &b))
    return 1;
  *out = make_int(IR_BOOL, truthy(b));
  return 0;
}

static bool is_comparison(ir_op op)
{
  return op >= IR_LT && op <= IR_NE;
}

static int eval_binary(interp *in, const ir_expr *e, value *out)
{
  value a, b;
  if (e->op == IR_AND || e->op == IR_OR)
    return eval_logical(in, e, out);
  if (eval(in, e->args[0], &a) || eval(in, e->args[1], &b))
    return 1;
  if (is_comparison(e->op)) {
    *out = make_int(IR_BOOL, compare(e->op, a, b));
    return 0;
  }
  return arith(in, e, e->op, e->type, a, b, out);
}

static int eval_select(interp *in, const ir_expr *e, value *out)
{
  value c;
  if (eval(in, e->args[0], &c))
    return 1;
  return eval(in, e->args[truthy(c) ? 1 : 2], out);
}

/* A libm builtin, in float for float32 and in double otherwise. */
static value call_float_fn(ir_builtin fn, ir_type t, const value *a)
{
  const fn_impl *im = &fn_impls[fn];
  bool f32 = t == IR_F32;
  if (ir_builtins[fn].arity == 1)
    return make_float(t, f32 ? im->f1((float)a[0].f) : im->d1(a[0].f));
  return make_float(t, f32 ? im->f2((float)a[0].f, (float)a[1].f) : im->d2(a[0].f, a[1].f));
}

static int eval_call(interp *in, const ir_expr *e, value *out)
{
  value a[2];
  ir_type t = e->type;
  for (int k = 0; k < e->n_args; k++)
    if (eval(in, e->args[k], &a[k]))
      return 1;
  if (e->fn == IR_FN_MIN || e->fn == IR_FN_MAX)
    *out = min_max(t, a[0], a[1], e->fn == IR_FN_MAX);
  else if (e->fn == IR_FN_ABS)
    *out = abs_value(convert(a[0], t));
  else {
    ir_type ft = is_float(t) ? t : IR_F64;
    for (int k = 0; k < e->n_args; k++)
      a[k] = convert(a[k], ft);
    *out = call_float_fn(e->fn, ft, a);
  }
  return 0;
}

static int eval_leaf(interp *in, const ir_expr *e, value *out)
{
  switch (e->kind) {
  case IR_CONST_INT: *out = make_int(IR_I64, (uint64_t)e->ival); return 0;
  case IR_CONST_FLOAT: *out = make_float(IR_F64, e->fval); return 0;
  case IR_INDEX: *out = make_int(IR_I64, (uint64_t)in->iv[e->index]); return 0;
  default: return eval_size(in, e, out);
  }
}

/* Evaluates e; the result always has e's type. */
static int eval(interp *in, const ir_expr *e, value *out)
{
  value v;
  int rc;
  switch (e->kind) {
  case IR_ACCESS: rc = eval_access(in, e, &v); break;
  case IR_UNARY: rc = eval_unary(in, e, &v); break;
  case IR_BINARY: rc = eval_binary(in, e, &v); break;
  case IR_SELECT: rc = eval_select(in, e, &v); break;
  case IR_CAST: rc = eval(in, e->args[0], &v); break;
  case IR_CALL: rc = eval_call(in, e, &v); break;
  default: rc = eval_leaf(in, e, &v); break;
  }
  if (!rc)
    *out = convert(v, e->type);
  return rc;
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static value identity(ir_reduction red, ir_type t)
{
  switch (red) {
  case IR_RED_MUL: return convert(make_int(IR_I64, 1), t);
  case IR_RED_MIN: return is_float(t) ? make_float(t, INFINITY) : type_max(t);
  case IR_RED_MAX: return is_float(t) ? make_float(t, -INFINITY) : type_min(t);
  default: return convert(make_int(IR_I64, 0), t);
  }
}

static int reduce(interp *in, ir_reduction red, value old, value x, value *out)
{
  ir_type t = ir_promote(old.type, x.type);
  switch (red) {
  case IR_RED_ADD: return arith(in, in->s->rhs, IR_ADD, t, old, x, out);
  case IR_RED_MUL: return arith(in, in->s->rhs, IR_MUL, t, old, x, out);
  case IR_RED_MIN: *out = min_max(t, old, x, false); return 0;
  case IR_RED_MAX: *out = min_max(t, old, x, true); return 0;
  default: *out = x; return 0;
  }
}

/* Subscript d of the left-hand side at the current point. */
static int lhs_subscript(interp *in, int d, int64_t *idx)
{
  const ir_stmt *s = in->s;
  value v;
  if (ir_stmt_is_plain(s)) {
    *idx = in->iv[s->lhs[d]];
    return 0;
  }
  if (eval(in, s->lhs_expr[d], &v))
    return 1;
  *idx = convert(v, IR_I64).i;
  return 0;
}

/* Offset of the element the statement writes at the current point. */
static int lhs_offset(interp *in, int64_t *off)
{
  const ir_stmt *s = in->s;
  const slot *sl = &in->slots[s->tensor];
  *off = 0;
  for (int d = 0; d < s->n_lhs; d++) {
    int64_t idx;
    if (lhs_subscript(in, d, &idx))
      return 1;
    if (idx < 0 || idx >= sl->shape[d]) {
      aotc_error(in->ctx, s->loc, "write to '%s' out of bounds: index %lld in dimension %d of size %lld",
                 in->f->tensors[s->tensor]->name, (long long)idx, d, (long long)sl->shape[d]);
      return 1;
    }
    *off = *off * sl->shape[d] + idx;
  }
  return 0;
}

static int init_point(interp *in)
{
  const ir_tensor *t = in->f->tensors[in->s->tensor];
  int64_t off;
  if (lhs_offset(in, &off))
    return 1;
  elem_ops[t->type].store(in->slots[in->s->tensor].data, off, identity(in->s->red, t->type));
  return 0;
}

/* The `!` initialisation of a general left-hand side: the whole tensor. */
static int init_tensor(interp *in)
{
  const ir_tensor *t = in->f->tensors[in->s->tensor];
  int64_t n = ir_tensor_numel(in->f, in->s->tensor, in->sizes);
  value id = identity(in->s->red, t->type);
  for (int64_t k = 0; k < n; k++)
    elem_ops[t->type].store(in->slots[in->s->tensor].data, k, id);
  return 0;
}

static int update_point(interp *in)
{
  const ir_tensor *t = in->f->tensors[in->s->tensor];
  void *data = in->slots[in->s->tensor].data;
  value x, old;
  int64_t off;
  if (eval(in, in->s->rhs, &x) || lhs_offset(in, &off))
    return 1;
  if (in->s->red != IR_RED_NONE) {
    old = elem_ops[t->type].load(data, off);
    if (reduce(in, in->s->red, old, x, &x))
      return 1;
  }
  elem_ops[t->type].store(data, off, convert(x, t->type));
  return 0;
}

/* Runs body at every point of indices d..n-1 (index d outermost). */
static int loop_nest(interp *in, int d, int n, int (*body)(interp *))
{
  if (d == n)
    return body(in);
  for (int64_t v = in->lo[d]; v < in->hi[d]; v++) {
    in->iv[d] = v;
    if (loop_nest(in, d + 1, n, body))
      return 1;
  }
  return 0;
}

static int init_stmt(interp *in, const ir_stmt *s)
{
  if (!s->init)
    return 0;
  return ir_stmt_is_plain(s) ? loop_nest(in, 0, s->n_lhs, init_point) : init_tensor(in);
}

static int eval_ranges(interp *in, const ir_stmt *s)
{
  for (int k = 0; k < s->n_index; k++)
    if (!ir_size_eval(s->index[k].lo, in->sizes, &in->lo[k]) ||
        !ir_size_eval(s->index[k].hi, in->sizes, &in->hi[k])) {
      aotc_error(in->ctx, s->loc, "range of index '%s' overflows", s->index[k].name);
      return 1;
    }
  return 0;
}

static int fast_stmt(interp *in, const ir_stmt *s)
{
  for (int t = 0; t < in->f->n_tensors; t++) {
    in->data[t] = in->slots[t].data;
    in->shape[t] = in->slots[t].shape;
  }
  ir_interp_view v = {.data = in->data, .shape = in->shape, .sizes = in->sizes};
  return ir_interp_fast_stmt(in->ctx, in->f, s, &v, in->lo, in->hi);
}

static int exec_stmt(interp *in, const ir_stmt *s)
{
  in->s = s;
  if (in->slots[s->tensor].readonly) {
    aotc_error(in->ctx, s->loc, "statement writes read-only tensor '%s'", in->f->tensors[s->tensor]->name);
    return 1;
  }
  if (eval_ranges(in, s))
    return 1;
  if (init_stmt(in, s))
    return 1;
  int rc = in->walk_only ? -1 : fast_stmt(in, s);
  return rc >= 0 ? rc : loop_nest(in, 0, s->n_index, update_point);
}

/* ------------------------------------------------------------------------
 * Storage: arguments, embedded data and temporaries
 * ------------------------------------------------------------------------ */

static int tensor_error(interp *in, int t, const char *what)
{
  aotc_error(in->ctx, in->f->tensors[t]->loc, "tensor '%s': %s", in->f->tensors[t]->name, what);
  return 1;
}

static int shape_tensors(interp *in)
{
  int64_t *dims = in->dims;
  for (int t = 0; t < in->f->n_tensors; t++) {
    in->slots[t].shape = dims;
    if (!ir_tensor_shape(in->f, t, in->sizes, dims))
      return tensor_error(in, t, "shape cannot be evaluated");
    if (ir_tensor_numel(in->f, t, in->sizes) < 0)
      return tensor_error(in, t, "shape is negative or too large");
    dims += in->f->tensors[t]->rank;
  }
  return 0;
}

static void bind_args(interp *in, void *const *args)
{
  const ir_func *f = in->f;
  for (int i = 0; i < f->n_inputs; i++) {
    in->slots[f->inputs[i]].data = args[i];
    in->slots[f->inputs[i]].arg = true;
    in->slots[f->inputs[i]].readonly = true;
  }
  for (int i = 0; i < f->n_outputs; i++) {
    in->slots[f->outputs[i]].data = args[f->n_inputs + i];
    in->slots[f->outputs[i]].arg = true;
    in->slots[f->outputs[i]].readonly = false;
  }
}

static int alloc_temp(interp *in, int t)
{
  int64_t n = ir_tensor_numel(in->f, t, in->sizes);
  size_t bytes;
  if (__builtin_mul_overflow((size_t)n, (size_t)ir_types[in->f->tensors[t]->type].bytes, &bytes))
    return tensor_error(in, t, "too large");
  in->slots[t].data = raw_alloc(in->ctx, bytes);
  if (!in->slots[t].data)
    return tensor_error(in, t, "out of memory");
  in->slots[t].owned_bytes = bytes ? bytes : 1;
  return 0;
}

/* A view (src/graph/views.c) is stored inside the temporary it lives in. */
static void place_views(interp *in)
{
  for (int t = 0; t < in->f->n_tensors; t++) {
    const ir_tensor *tensor = in->f->tensors[t];
    if (tensor->role == IR_TEMP && tensor->view)
      in->slots[t].data = (unsigned char *)in->slots[tensor->view_of].data + tensor->view_offset;
  }
}

/* Storage for every tensor that is not an argument. */
static int place_tensors(interp *in)
{
  for (int t = 0; t < in->f->n_tensors; t++) {
    const ir_tensor *tensor = in->f->tensors[t];
    slot *sl = &in->slots[t];
    if (sl->arg && !sl->data && ir_tensor_numel(in->f, t, in->sizes) > 0)
      return tensor_error(in, t, "argument is NULL");
    if (sl->arg)
      continue;
    if (tensor->role == IR_TEMP && !tensor->view && alloc_temp(in, t))
      return 1;
    if (tensor->role != IR_TEMP && !tensor->data)
      return tensor_error(in, t, "no storage (not an argument, no data)");
    if (tensor->role != IR_TEMP) {
      sl->data = (void *)tensor->data;
      sl->readonly = true;
    }
  }
  place_views(in);
  return 0;
}

static int max_index(const ir_func *f)
{
  int n = 1;
  for (int k = 0; k < f->n_stmts; k++)
    if (f->stmts[k]->n_index > n)
      n = f->stmts[k]->n_index;
  return n;
}

static int total_rank(const ir_func *f)
{
  int n = 1;
  for (int t = 0; t < f->n_tensors; t++)
    n += f->tensors[t]->rank;
  return n;
}

static int interp_setup(interp *in)
{
  int n_index = max_index(in->f);
  in->dims_bytes = sizeof(int64_t) * (size_t)total_rank(in->f);
  in->index_bytes = sizeof(int64_t) * (size_t)n_index;
  in->slots = raw_alloc(in->ctx, sizeof(slot) * (size_t)(in->f->n_tensors + 1));
  in->dims = raw_alloc(in->ctx, in->dims_bytes);
  in->lo = raw_alloc(in->ctx, in->index_bytes * 3);
  in->data = raw_alloc(in->ctx, sizeof(void *) * (size_t)(in->f->n_tensors + 1));
  in->shape = raw_alloc(in->ctx, sizeof(int64_t *) * (size_t)(in->f->n_tensors + 1));
  if (!in->slots || !in->dims || !in->lo || !in->data || !in->shape) {
    aotc_error(in->ctx, in->f->loc, "out of memory");
    return 1;
  }
  in->hi = in->lo + n_index;
  in->iv = in->hi + n_index;
  return 0;
}

static void interp_free(interp *in)
{
  for (int t = 0; in->slots && t < in->f->n_tensors; t++)
    if (in->slots[t].owned_bytes)
      raw_free(in->ctx, in->slots[t].data, in->slots[t].owned_bytes);
  raw_free(in->ctx, in->slots, sizeof(slot) * (size_t)(in->f->n_tensors + 1));
  raw_free(in->ctx, in->dims, in->dims_bytes);
  raw_free(in->ctx, in->lo, in->index_bytes * 3);
  raw_free(in->ctx, in->data, sizeof(void *) * (size_t)(in->f->n_tensors + 1));
  raw_free(in->ctx, in->shape, sizeof(int64_t *) * (size_t)(in->f->n_tensors + 1));
}

/* ------------------------------------------------------------------------
 * Regions: branches and loops over the statements (ir.h)
 * ------------------------------------------------------------------------ */

/* Element 0 of a region's control tensor t. */
static value control_value(interp *in, int t)
{
  return elem_ops[in->f->tensors[t]->type].load(in->slots[t].data, 0);
}

static int exec_region(interp *in, const ir_region *r);

static int exec_loop(interp *in, const ir_region *r)
{
  int64_t n = r->trip >= 0 ? convert(control_value(in, r->trip), IR_I64).i : r->max_trip;
  bool bounded = r->trip >= 0 || r->max_trip >= 0;
  int rc = 0;
  for (int64_t i = 0; !rc && (!bounded || i < n) && (r->cond < 0 || truthy(control_value(in, r->cond))); i++)
    rc = exec_region(in, r->children[0]);
  return rc;
}

static int exec_region(interp *in, const ir_region *r)
{
  int rc = 0;
  switch (r->kind) {
  case IR_REGION_STMTS:
    for (int k = r->first; !rc && k < r->end; k++)
      rc = exec_stmt(in, in->f->stmts[k]);
    return rc;
  case IR_REGION_SEQ:
    for (int k = 0; !rc && k < r->n_children; k++)
      rc = exec_region(in, r->children[k]);
    return rc;
  case IR_REGION_IF:
    return exec_region(in, r->children[truthy(control_value(in, r->cond)) ? 0 : 1]);
  case IR_REGION_LOOP:
    return exec_loop(in, r);
  }
  return 1;
}

static int interpret(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes, void *const *args, bool walk_only)
{
  interp in = {.ctx = ctx, .f = f, .sizes = sizes, .walk_only = walk_only};
  int rc = 1;
  if (!ir_verify(ctx, f))
    return 1;
  if (!interp_setup(&in) && !shape_tensors(&in)) {
    bind_args(&in, args);
    rc = place_tensors(&in);
    for (int k = 0; !rc && !f->body && k < f->n_stmts; k++)
      rc = exec_stmt(&in, f->stmts[k]);
    if (!rc && f->body)
      rc = exec_region(&in, f->body);
  }
  interp_free(&in);
  return rc;
}

int ir_interpret(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes, void *const *args)
{
  return interpret(ctx, f, sizes, args, false);
}

int ir_interpret_walk(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes, void *const *args)
{
  return interpret(ctx, f, sizes, args, true);
}
