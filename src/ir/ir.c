/* ir.c: tables of element types, operators and builtins; size expressions;
 * small builders and look-ups shared by every pass. */
#include "ir.h"

#include <string.h>

const ir_type_info ir_types[IR_TYPE_COUNT] = {
    [IR_BOOL] = {"bool", "bool", 1, false, false, 0},
    [IR_I8] = {"int8", "int8_t", 1, false, true, 1},
    [IR_U8] = {"uint8", "uint8_t", 1, false, false, 2},
    [IR_I16] = {"int16", "int16_t", 2, false, true, 3},
    [IR_U16] = {"uint16", "uint16_t", 2, false, false, 4},
    [IR_I32] = {"int32", "int32_t", 4, false, true, 5},
    [IR_U32] = {"uint32", "uint32_t", 4, false, false, 6},
    [IR_I64] = {"int64", "int64_t", 8, false, true, 7},
    [IR_U64] = {"uint64", "uint64_t", 8, false, false, 8},
    [IR_F32] = {"float", "float", 4, true, true, 9},
    [IR_F64] = {"double", "double", 8, true, true, 10},
};
_Static_assert(sizeof(ir_types) / sizeof(ir_types[0]) == IR_TYPE_COUNT, "type table");

ir_type ir_promote(ir_type a, ir_type b)
{
  return ir_types[a].rank >= ir_types[b].rank ? a : b;
}

static const struct {
  const char *name;
  ir_type type;
} type_aliases[] = {
    {"float32", IR_F32}, {"float64", IR_F64}, {"half", IR_F32},
};

bool ir_type_from_name(const char *name, size_t len, ir_type *out)
{
  for (int t = 0; t < IR_TYPE_COUNT; t++)
    if (strlen(ir_types[t].name) == len && !memcmp(ir_types[t].name, name, len)) {
      *out = (ir_type)t;
      return true;
    }
  for (size_t i = 0; i < sizeof(type_aliases) / sizeof(type_aliases[0]); i++)
    if (strlen(type_aliases[i].name) == len && !memcmp(type_aliases[i].name, name, len)) {
      *out = type_aliases[i].type;
      return true;
    }
  return false;
}

const char *const ir_op_spelling[IR_OP_COUNT] = {
    [IR_NEG] = "-", [IR_NOT] = "!", [IR_ADD] = "+", [IR_SUB] = "-", [IR_MUL] = "*",
    [IR_DIV] = "/", [IR_MOD] = "%", [IR_LT] = "<",  [IR_LE] = "<=", [IR_GT] = ">",
    [IR_GE] = ">=", [IR_EQ] = "==", [IR_NE] = "!=", [IR_AND] = "&&", [IR_OR] = "||",
};

const ir_builtin_info ir_builtins[IR_FN_COUNT] = {
    [IR_FN_EXP] = {"exp", 1, true, "expf", "exp"},
    [IR_FN_LOG] = {"log", 1, true, "logf", "log"},
    [IR_FN_TANH] = {"tanh", 1, true, "tanhf", "tanh"},
    [IR_FN_SQRT] = {"sqrt", 1, true, "sqrtf", "sqrt"},
    [IR_FN_RSQRT] = {"rsqrt", 1, true, NULL, NULL},
    [IR_FN_FABS] = {"fabs", 1, true, "fabsf", "fabs"},
    [IR_FN_FMAX] = {"fmax", 2, true, "fmaxf", "fmax"},
    [IR_FN_FMIN] = {"fmin", 2, true, "fminf", "fmin"},
    [IR_FN_POW] = {"pow", 2, true, "powf", "pow"},
    [IR_FN_ERF] = {"erf", 1, true, "erff", "erf"},
    [IR_FN_FLOOR] = {"floor", 1, true, "floorf", "floor"},
    [IR_FN_CEIL] = {"ceil", 1, true, "ceilf", "ceil"},
    [IR_FN_ROUND] = {"round", 1, true, "roundf", "round"},
    [IR_FN_TRUNC] = {"trunc", 1, true, "truncf", "trunc"},
    [IR_FN_SIN] = {"sin", 1, true, "sinf", "sin"},
    [IR_FN_COS] = {"cos", 1, true, "cosf", "cos"},
    [IR_FN_TAN] = {"tan", 1, true, "tanf", "tan"},
    [IR_FN_ASIN] = {"asin", 1, true, "asinf", "asin"},
    [IR_FN_ACOS] = {"acos", 1, true, "acosf", "acos"},
    [IR_FN_ATAN] = {"atan", 1, true, "atanf", "atan"},
    [IR_FN_SINH] = {"sinh", 1, true, "sinhf", "sinh"},
    [IR_FN_COSH] = {"cosh", 1, true, "coshf", "cosh"},
    [IR_FN_ASINH] = {"asinh", 1, true, "asinhf", "asinh"},
    [IR_FN_ACOSH] = {"acosh", 1, true, "acoshf", "acosh"},
    [IR_FN_ATANH] = {"atanh", 1, true, "atanhf", "atanh"},
    [IR_FN_EXP2] = {"exp2", 1, true, "exp2f", "exp2"},
    [IR_FN_EXPM1] = {"expm1", 1, true, "expm1f", "expm1"},
    [IR_FN_LOG2] = {"log2", 1, true, "log2f", "log2"},
    [IR_FN_LOG10] = {"log10", 1, true, "log10f", "log10"},
    [IR_FN_LOG1P] = {"log1p", 1, true, "log1pf", "log1p"},
    [IR_FN_CBRT] = {"cbrt", 1, true, "cbrtf", "cbrt"},
    [IR_FN_ERFC] = {"erfc", 1, true, "erfcf", "erfc"},
    [IR_FN_SIGMOID] = {"sigmoid", 1, true, NULL, NULL},
    [IR_FN_FMOD] = {"fmod", 2, true, "fmodf", "fmod"},
    [IR_FN_ATAN2] = {"atan2", 2, true, "atan2f", "atan2"},
    [IR_FN_MIN] = {"min", 2, false, NULL, NULL},
    [IR_FN_MAX] = {"max", 2, false, NULL, NULL},
    [IR_FN_ABS] = {"abs", 1, false, NULL, NULL},
};
_Static_assert(sizeof(ir_builtins) / sizeof(ir_builtins[0]) == IR_FN_COUNT, "builtin table");

bool ir_builtin_from_name(const char *name, size_t len, ir_builtin *out)
{
  for (int i = 0; i < IR_FN_COUNT; i++)
    if (strlen(ir_builtins[i].name) == len && !memcmp(ir_builtins[i].name, name, len)) {
      *out = (ir_builtin)i;
      return true;
    }
  return false;
}

ir_size *ir_size_const(aotc_ctx *ctx, int64_t v)
{
  ir_size *s = IR_NEW(ctx, ir_size);
  if (s) {
    s->kind = IR_SZ_CONST;
    s->value = v;
  }
  return s;
}

ir_size *ir_size_param(aotc_ctx *ctx, int param)
{
  ir_size *s = IR_NEW(ctx, ir_size);
  if (s) {
    s->kind = IR_SZ_PARAM;
    s->value = param;
  }
  return s;
}

bool ir_size_is_const(const ir_size *s, int64_t *value)
{
  if (!s || s->kind != IR_SZ_CONST)
    return false;
  if (value)
    *value = s->value;
  return true;
}

static int64_t floordiv64(int64_t a, int64_t b)
{
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t ceildiv64(int64_t a, int64_t b)
{
  return -floordiv64(-a, b);
}

/* Applies one size operator to two values; false on overflow or a bad divisor. */
static bool size_apply(ir_size_kind kind, int64_t a, int64_t b, int64_t *out)
{
  switch (kind) {
  case IR_SZ_ADD:
    return !__builtin_add_overflow(a, b, out);
  case IR_SZ_SUB:
    return !__builtin_sub_overflow(a, b, out);
  case IR_SZ_MUL:
    return !__builtin_mul_overflow(a, b, out);
  case IR_SZ_FLOORDIV:
    if (b <= 0)
      return false;
    *out = floordiv64(a, b);
    return true;
  case IR_SZ_CEILDIV:
    if (b <= 0)
      return false;
    *out = ceildiv64(a, b);
    return true;
  case IR_SZ_MIN:
    *out = a < b ? a : b;
    return true;
  case IR_SZ_MAX:
    *out = a > b ? a : b;
    return true;
  default:
    return false;
  }
}

ir_size *ir_size_bin(aotc_ctx *ctx, ir_size_kind kind, ir_size *a, ir_size *b)
{
  if (!a || !b)
    return NULL;
  int64_t va, vb, v;
  bool ca = ir_size_is_const(a, &va), cb = ir_size_is_const(b, &vb);
  if (ca && cb && size_apply(kind, va, vb, &v))
    return ir_size_const(ctx, v);
  if (cb && vb == 0 && (kind == IR_SZ_ADD || kind == IR_SZ_SUB))
    return a;
  if (ca && va == 0 && kind == IR_SZ_ADD)
    return b;
  if (cb && vb == 1 && (kind == IR_SZ_MUL || kind == IR_SZ_FLOORDIV || kind == IR_SZ_CEILDIV))
    return a;
  if (ca && va == 1 && kind == IR_SZ_MUL)
    return b;
  if ((kind == IR_SZ_MIN || kind == IR_SZ_MAX) && ir_size_equal(a, b))
    return a;
  ir_size *s = IR_NEW(ctx, ir_size);
  if (s) {
    s->kind = kind;
    s->a = a;
    s->b = b;
  }
  return s;
}

bool ir_size_equal(const ir_size *a, const ir_size *b)
{
  if (a == b)
    return true;
  if (!a || !b || a->kind != b->kind)
    return false;
  if (a->kind == IR_SZ_CONST || a->kind == IR_SZ_PARAM)
    return a->value == b->value;
  return ir_size_equal(a->a, b->a) && ir_size_equal(a->b, b->b);
}

bool ir_size_eval(const ir_size *s, const int64_t *params, int64_t *out)
{
  if (!s)
    return false;
  if (s->kind == IR_SZ_CONST) {
    *out = s->value;
    return true;
  }
  if (s->kind == IR_SZ_PARAM) {
    *out = params[s->value];
    return true;
  }
  int64_t a, b;
  return ir_size_eval(s->a, params, &a) && ir_size_eval(s->b, params, &b) &&
         size_apply(s->kind, a, b, out);
}

void ir_size_print(FILE *out, const ir_size *s, const char *const *param_names)
{
  static const char *const infix[] = {[IR_SZ_ADD] = " + ", [IR_SZ_SUB] = " - ", [IR_SZ_MUL] = " * "};
  static const char *const fname[] = {[IR_SZ_FLOORDIV] = "aotc_floordiv", [IR_SZ_CEILDIV] = "aotc_ceildiv",
                                      [IR_SZ_MIN] = "aotc_min", [IR_SZ_MAX] = "aotc_max"};
  if (!s) {
    fputs("?", out);
    return;
  }
  switch (s->kind) {
  case IR_SZ_CONST:
    fprintf(out, s->value < 0 ? "(%lld)" : "%lld", (long long)s->value);
    return;
  case IR_SZ_PARAM:
    fputs(param_names[s->value], out);
    return;
  case IR_SZ_ADD:
  case IR_SZ_SUB:
  case IR_SZ_MUL:
    fputc('(', out);
    ir_size_print(out, s->a, param_names);
    fputs(infix[s->kind], out);
    ir_size_print(out, s->b, param_names);
    fputc(')', out);
    return;
  default:
    fprintf(out, "%s(", fname[s->kind]);
    ir_size_print(out, s->a, param_names);
    fputs(", ", out);
    ir_size_print(out, s->b, param_names);
    fputc(')', out);
    return;
  }
}

ir_expr *ir_expr_new(aotc_ctx *ctx, ir_expr_kind kind, ir_type type, ir_loc loc, int n_args)
{
  ir_expr *e = IR_NEW(ctx, ir_expr);
  if (!e)
    return NULL;
  e->kind = kind;
  e->type = type;
  e->loc = loc;
  e->n_args = n_args;
  e->tensor = -1;
  if (n_args > 0) {
    e->args = IR_NEW_ARRAY(ctx, ir_expr *, n_args);
    if (!e->args)
      return NULL;
  }
  return e;
}

ir_expr *ir_expr_call(aotc_ctx *ctx, ir_builtin fn, ir_type type, ir_loc loc, ir_expr *a, ir_expr *b)
{
  int n = ir_builtins[fn].arity;
  if (!a || (n == 2 && !b))
    return NULL;
  ir_expr *e = ir_expr_new(ctx, IR_CALL, type, loc, n);
  if (!e)
    return NULL;
  e->fn = fn;
  e->args[0] = a;
  if (n == 2)
    e->args[1] = b;
  return e;
}

bool ir_expr_reads(const ir_expr *e, int t)
{
  if (!e)
    return false;
  if (e->kind == IR_ACCESS && e->tensor == t)
    return true;
  for (int k = 0; k < e->n_args; k++)
    if (ir_expr_reads(e->args[k], t))
      return true;
  return false;
}

bool ir_expr_uses_index(const ir_expr *e, int k)
{
  if (e->kind == IR_INDEX)
    return e->index == k;
  for (int j = 0; j < e->n_args; j++)
    if (ir_expr_uses_index(e->args[j], k))
      return true;
  return false;
}

bool ir_stmt_reads(const ir_stmt *s, int t)
{
  if ((s->red != IR_RED_NONE && s->tensor == t) || ir_expr_reads(s->rhs, t))
    return true;
  for (int d = 0; s->lhs_expr && d < s->n_lhs; d++)
    if (ir_expr_reads(s->lhs_expr[d], t))
      return true;
  return false;
}

int ir_func_first_parameter(const ir_func *f)
{
  int k = f->n_inputs;
  while (k > 0 && f->tensors[f->inputs[k - 1]]->role == IR_PARAMETER)
    k--;
  return k;
}

int ir_func_find_tensor(const ir_func *f, const char *name)
{
  for (int i = 0; i < f->n_tensors; i++)
    if (!strcmp(f->tensors[i]->name, name))
      return i;
  return -1;
}

ir_func *ir_module_find(const ir_module *m, const char *name)
{
  for (int i = 0; i < m->n_funcs; i++)
    if (!strcmp(m->funcs[i]->name, name))
      return m->funcs[i];
  return NULL;
}
