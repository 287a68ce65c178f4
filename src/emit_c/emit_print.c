/* emit_print.c: the printer core. isl AST nodes (loops, conditions, marks),
 * statements and IR expressions to text, in the spelling of the plan's
 * target (emit_target.h). Knows no target and makes no decision: the
 * options, marks and loops come from the plan. */
#include "emit_print.h"

#include <isl/id.h>
#include <isl/val.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Small printers
 * ------------------------------------------------------------------------ */

void emit_indent(emit_fn *E)
{
  for (int i = 0; i < E->indent; i++)
    fputs("  ", E->out);
}

void emit_print_i64(FILE *out, int64_t v)
{
  if (v == INT64_MIN)
    fputs("(-INT64_C(9223372036854775807) - 1)", out);
  else if (v > INT32_MAX || v < -INT32_MAX)
    fprintf(out, v < 0 ? "(-INT64_C(%lld))" : "INT64_C(%lld)", (long long)(v < 0 ? -v : v));
  else
    fprintf(out, v < 0 ? "(%lld)" : "%lld", (long long)v);
}

/* Marks the helpers ir_size_print will call. */
static void mark_size_helpers(emit_module *em, const ir_size *s)
{
  if (!s)
    return;
  if (s->kind == IR_SZ_FLOORDIV)
    em->helper[EMIT_H_FLOORDIV] = true;
  if (s->kind == IR_SZ_CEILDIV)
    em->helper[EMIT_H_CEILDIV] = true;
  if (s->kind == IR_SZ_MIN)
    em->helper[EMIT_H_MIN] = true;
  if (s->kind == IR_SZ_MAX)
    em->helper[EMIT_H_MAX] = true;
  mark_size_helpers(em, s->a);
  mark_size_helpers(em, s->b);
}

void emit_print_size(emit_fn *E, const ir_size *s)
{
  mark_size_helpers(E->em, s);
  ir_size_print(E->out, s, E->param_use);
}

/* Dimension j of tensor t: a constant, a parameter or a local. */
void emit_print_dim(emit_fn *E, int t, int j)
{
  if (E->dim[t][j])
    fputs(E->dim[t][j], E->out);
  else
    emit_print_size(E, E->f->tensors[t]->shape[j]);
}

/* ------------------------------------------------------------------------
 * isl AST expressions
 * ------------------------------------------------------------------------ */

static void print_ast_expr(emit_fn *E, __isl_keep isl_ast_expr *e);

static void print_ast_arg(emit_fn *E, __isl_keep isl_ast_expr *e, int i)
{
  isl_ast_expr *arg = isl_ast_expr_op_get_arg(e, i);
  print_ast_expr(E, arg);
  isl_ast_expr_free(arg);
}

static const char *ast_infix(enum isl_ast_expr_op_type type)
{
  switch (type) {
  case isl_ast_expr_op_and:
  case isl_ast_expr_op_and_then:
    return "&&";
  case isl_ast_expr_op_or:
  case isl_ast_expr_op_or_else:
    return "||";
  case isl_ast_expr_op_add:
    return "+";
  case isl_ast_expr_op_sub:
    return "-";
  case isl_ast_expr_op_mul:
    return "*";
  case isl_ast_expr_op_div:
  case isl_ast_expr_op_pdiv_q:
    return "/";
  case isl_ast_expr_op_pdiv_r:
  case isl_ast_expr_op_zdiv_r:
    return "%";
  case isl_ast_expr_op_eq:
    return "==";
  case isl_ast_expr_op_le:
    return "<=";
  case isl_ast_expr_op_lt:
    return "<";
  case isl_ast_expr_op_ge:
    return ">=";
  case isl_ast_expr_op_gt:
    return ">";
  default:
    return NULL;
  }
}

/* min/max of n arguments as nested aotc_min/aotc_max calls. */
static void print_ast_minmax(emit_fn *E, __isl_keep isl_ast_expr *e, bool is_min, int n)
{
  E->em->helper[is_min ? EMIT_H_MIN : EMIT_H_MAX] = true;
  for (int i = 0; i < n - 1; i++) {
    fputs(is_min ? "aotc_min(" : "aotc_max(", E->out);
    print_ast_arg(E, e, i);
    fputs(", ", E->out);
  }
  print_ast_arg(E, e, n - 1);
  for (int i = 0; i < n - 1; i++)
    fputc(')', E->out);
}

static void print_ast_call(emit_fn *E, __isl_keep isl_ast_expr *e, const char *fn, int n)
{
  fprintf(E->out, "%s(", fn);
  for (int i = 0; i < n; i++) {
    if (i)
      fputs(", ", E->out);
    print_ast_arg(E, e, i);
  }
  fputc(')', E->out);
}

static void print_ast_infix(emit_fn *E, __isl_keep isl_ast_expr *e, const char *infix, bool parens)
{
  fputs(parens ? "(" : "", E->out);
  print_ast_arg(E, e, 0);
  fprintf(E->out, " %s ", infix);
  print_ast_arg(E, e, 1);
  fputs(parens ? ")" : "", E->out);
}

static void print_ast_op(emit_fn *E, __isl_keep isl_ast_expr *e)
{
  enum isl_ast_expr_op_type type = isl_ast_expr_op_get_type(e);
  int n = isl_ast_expr_op_get_n_arg(e);
  const char *infix = ast_infix(type);
  if (infix && n == 2) {
    print_ast_infix(E, e, infix, true);
  } else if (type == isl_ast_expr_op_minus && n == 1) {
    fputs("(-", E->out);
    print_ast_arg(E, e, 0);
    fputc(')', E->out);
  } else if ((type == isl_ast_expr_op_min || type == isl_ast_expr_op_max) && n >= 1) {
    print_ast_minmax(E, e, type == isl_ast_expr_op_min, n);
  } else if (type == isl_ast_expr_op_fdiv_q && n == 2) {
    E->em->helper[EMIT_H_FLOORDIV] = true;
    print_ast_call(E, e, "aotc_floordiv", 2);
  } else if ((type == isl_ast_expr_op_cond || type == isl_ast_expr_op_select) && n == 3) {
    fputc('(', E->out);
    print_ast_arg(E, e, 0);
    fputs(" ? ", E->out);
    print_ast_arg(E, e, 1);
    fputs(" : ", E->out);
    print_ast_arg(E, e, 2);
    fputc(')', E->out);
  } else {
    E->failed = true;
    fputs("0", E->out);
  }
}

static void print_ast_expr(emit_fn *E, __isl_keep isl_ast_expr *e)
{
  if (isl_ast_expr_get_type(e) == isl_ast_expr_id) {
    isl_id *id = isl_ast_expr_id_get_id(e);
    fputs(isl_id_get_name(id), E->out);
    isl_id_free(id);
  } else if (isl_ast_expr_get_type(e) == isl_ast_expr_int) {
    isl_val *v = isl_ast_expr_int_get_val(e);
    emit_print_i64(E->out, isl_val_get_num_si(v));
    isl_val_free(v);
  } else if (isl_ast_expr_get_type(e) == isl_ast_expr_op) {
    print_ast_op(E, e);
  } else {
    E->failed = true;
    fputs("0", E->out);
  }
}

void emit_print_ast_expr(emit_fn *E, __isl_keep isl_ast_expr *e)
{
  print_ast_expr(E, e);
}

/* e without outer parentheses: a loop bound or condition. */
static void print_ast_top(emit_fn *E, __isl_keep isl_ast_expr *e)
{
  const char *infix = NULL;
  if (isl_ast_expr_get_type(e) == isl_ast_expr_op && isl_ast_expr_op_get_n_arg(e) == 2)
    infix = ast_infix(isl_ast_expr_op_get_type(e));
  if (infix)
    print_ast_infix(E, e, infix, false);
  else
    print_ast_expr(E, e);
}

/* ------------------------------------------------------------------------
 * IR expressions
 * ------------------------------------------------------------------------ */

static void print_expr(emit_fn *E, const ir_expr *e);

static void print_int_const(FILE *out, int64_t v, ir_type t)
{
  if (ir_types[t].is_float)
    fprintf(out, t == IR_F32 ? "%s%lld.0f%s" : "%s%lld.0%s", v < 0 ? "(" : "", (long long)v, v < 0 ? ")" : "");
  else if (t == IR_U64 && v < 0)
    fprintf(out, "UINT64_C(%llu)", (unsigned long long)v);
  else
    emit_print_i64(out, v);
}

/* A decimal spelling that C reads back as the same float or double. */
void emit_print_float_literal(const emit_target *tg, FILE *out, double v, ir_type t)
{
  char buf[64];
  if (isnan(v)) {
    fputs(t == IR_F32 ? "NAN" : "(double)NAN", out);
    return;
  }
  if (isinf(v)) {
    fputs(v < 0 ? tg->type_min[t] : tg->type_max[t], out);
    return;
  }
  snprintf(buf, sizeof(buf), t == IR_F32 ? "%.9g" : "%.17g", t == IR_F32 ? (double)(float)v : v);
  bool has_point = strpbrk(buf, ".e") != NULL;
  fprintf(out, "%s%s%s%s%s", v < 0 ? "(" : "", buf, has_point ? "" : ".0", t == IR_F32 ? "f" : "", v < 0 ? ")" : "");
}

static void print_float_const(emit_fn *E, double v, ir_type t)
{
  if (ir_types[t].is_float)
    emit_print_float_literal(E->em->tg, E->out, v, t);
  else
    fprintf(E->out, "((%s)%.17g)", emit_type_name(E, t), v);
}

static bool is_small_int(ir_type t)
{
  return !ir_types[t].is_float && ir_types[t].bytes < 4;
}

/* The operand type of a binary operator printed as a C infix operator;
 * false when it needs more (fmod, a narrowing cast). */
static bool infix_operand_type(const ir_expr *e, ir_type *t)
{
  if (e->op >= IR_LT && e->op <= IR_NE)
    *t = ir_promote(e->args[0]->type, e->args[1]->type);
  else if (e->op == IR_AND || e->op == IR_OR)
    *t = IR_BOOL;
  else if ((e->op == IR_MOD && ir_types[e->type].is_float) || is_small_int(e->type))
    return false;
  else
    *t = e->type;
  return true;
}

static void print_as(emit_fn *E, const ir_expr *e, ir_type t);

static void print_infix(emit_fn *E, const ir_expr *e, ir_type operand_type, bool parens)
{
  fputs(parens ? "(" : "", E->out);
  print_as(E, e->args[0], operand_type);
  fprintf(E->out, " %s ", ir_op_spelling[e->op]);
  print_as(E, e->args[1], operand_type);
  fputs(parens ? ")" : "", E->out);
}

/* e in type t without outer parentheses: a statement's right-hand side, an
 * argument, a subscript. */
static void print_top(emit_fn *E, const ir_expr *e, ir_type t)
{
  ir_type operand_type;
  if (e->kind == IR_BINARY && e->type == t && infix_operand_type(e, &operand_type))
    print_infix(E, e, operand_type, false);
  else
    print_as(E, e, t);
}

void emit_print_rhs(emit_fn *E, const ir_stmt *s)
{
  print_top(E, s->rhs, E->f->tensors[s->tensor]->type);
}

/* e converted to type t: constants are spelled in t, others cast. */
static void print_as(emit_fn *E, const ir_expr *e, ir_type t)
{
  if (e->kind == IR_CONST_INT) {
    print_int_const(E->out, e->ival, t);
  } else if (e->kind == IR_CONST_FLOAT) {
    print_float_const(E, e->fval, t);
  } else if (e->type == t) {
    print_expr(E, e);
  } else {
    fprintf(E->out, "((%s)", emit_type_name(E, t));
    print_expr(E, e);
    fputc(')', E->out);
  }
}

/* Where an index is printed: alone in the brackets, as the left operand of
 * a product, or as the right operand of a sum. */
typedef enum { AT_WHOLE, AT_FACTOR, AT_ADDEND } index_place;

static bool is_arith_binary(const ir_expr *e)
{
  return e->kind == IR_BINARY && e->op >= IR_ADD && e->op <= IR_MOD && !is_small_int(e->type);
}

/* An index of a read, in int64 arithmetic whatever its type. */
static void print_index(emit_fn *E, const ir_expr *e, index_place at)
{
  ir_type t = ir_types[e->type].is_float ? IR_I64 : e->type;
  if (e->kind == IR_CONST_INT) {
    emit_print_i64(E->out, e->ival);
  } else if (t != IR_I64) {
    fputs("(int64_t)", E->out);
    print_as(E, e, t);
  } else if (at == AT_WHOLE || (at == AT_ADDEND && is_arith_binary(e))) {
    print_top(E, e, t);
  } else {
    print_as(E, e, t);
  }
}

void emit_print_subscript(emit_fn *E, const ir_expr *e)
{
  print_index(E, e, AT_WHOLE);
}

typedef void (*index_printer)(emit_fn *E, const void *data, int j, index_place at);

static void print_read_index(emit_fn *E, const void *data, int j, index_place at)
{
  const ir_expr *e = data;
  print_index(E, e->args[j], at);
}

/* T[(i0 * D1 + i1) * D2 + i2] */
static void print_linear(emit_fn *E, int t, int rank, index_printer index, const void *data)
{
  fprintf(E->out, "%s[", E->tensor_c[t]);
  if (rank == 0)
    fputc('0', E->out);
  for (int j = 0; j < rank - 2; j++)
    fputc('(', E->out);
  for (int j = 0; j < rank; j++) {
    if (j > 0) {
      fputs(" * ", E->out);
      emit_print_dim(E, t, j);
      fputs(" + ", E->out);
    }
    index(E, data, j, rank == 1 ? AT_WHOLE : j == 0 ? AT_FACTOR : AT_ADDEND);
    if (j > 0 && j < rank - 1)
      fputc(')', E->out);
  }
  fputc(']', E->out);
}

/* Is dimension j of a padded read an index variable whose whole range lies
 * in the bounds? Then it needs no check. */
static bool always_in_bounds(emit_fn *E, const ir_expr *e, int j)
{
  const ir_expr *x = e->args[j];
  int64_t lo;
  if (x->kind != IR_INDEX || !E->stmt)
    return false;
  const ir_index *ix = &E->stmt->index[x->index];
  return ir_size_is_const(ix->lo, &lo) && lo >= 0 && ir_size_equal(ix->hi, E->f->tensors[e->tensor]->shape[j]);
}

/* i0 >= 0 && i0 < D0 && ... for a padded read. */
static void print_in_bounds(emit_fn *E, const ir_expr *e)
{
  const char *sep = "";
  for (int j = 0; j < e->n_args; j++) {
    if (always_in_bounds(E, e, j))
      continue;
    fputs(sep, E->out);
    sep = " && ";
    print_read_index(E, e, j, AT_FACTOR);
    fputs(" >= 0 && ", E->out);
    print_read_index(E, e, j, AT_FACTOR);
    fputs(" < ", E->out);
    emit_print_dim(E, e->tensor, j);
  }
}

static bool all_in_bounds(emit_fn *E, const ir_expr *e)
{
  for (int j = 0; j < e->n_args; j++)
    if (!always_in_bounds(E, e, j))
      return false;
  return true;
}

void emit_print_read(emit_fn *E, const ir_expr *e)
{
  const ir_tensor *T = E->f->tensors[e->tensor];
  if (E->epi_on && emit_epilogue_print_read(E, e))
    return;
  if (E->win && emit_window_print_read(E, e))
    return;
  if (E->tile_read == e) {
    fputs(EMIT_CUDA_TILE_READ, E->out);
    return;
  }
  if (T->rank == 0 && T->role == IR_INPUT) {
    fputs(E->tensor_c[e->tensor], E->out);
  } else if (e->padded && !all_in_bounds(E, e)) {
    fputs("((", E->out);
    print_in_bounds(E, e);
    fputs(") ? ", E->out);
    print_linear(E, e->tensor, T->rank, print_read_index, e);
    fprintf(E->out, " : (%s)0)", emit_type_name(E, T->type));
  } else {
    print_linear(E, e->tensor, T->rank, print_read_index, e);
  }
}

/* The target's name of builtin fn for float (t IR_F32) or double; call (or
 * NULL) is the call printed, which may allow a cheaper form. */
static const char *call_name(const emit_fn *E, const ir_expr *call, ir_builtin fn, ir_type t)
{
  const char *inline_fn = emit_vmath_name(E->em, E->f, E->stmt, call, fn, t);
  return inline_fn ? inline_fn : E->em->tg->libm[fn][t == IR_F64];
}

static const char *libm_name(const emit_fn *E, ir_builtin fn, ir_type t)
{
  return call_name(E, NULL, fn, t);
}

static void print_binary(emit_fn *E, const ir_expr *e)
{
  ir_type t;
  if (infix_operand_type(e, &t)) {
    print_infix(E, e, t, true);
  } else if (e->op == IR_MOD && ir_types[e->type].is_float) {
    fprintf(E->out, "%s(", libm_name(E, IR_FN_FMOD, e->type));
    print_as(E, e->args[0], e->type);
    fputs(", ", E->out);
    print_as(E, e->args[1], e->type);
    fputc(')', E->out);
  } else {
    fprintf(E->out, "((%s)", emit_type_name(E, e->type));
    print_infix(E, e, e->type, true);
    fputc(')', E->out);
  }
}

static void print_unary(emit_fn *E, const ir_expr *e)
{
  fputs(e->op == IR_NOT ? "(!" : "(-", E->out);
  print_as(E, e->args[0], e->op == IR_NOT ? e->args[0]->type : e->type);
  fputc(')', E->out);
}

static void print_call_args(emit_fn *E, const ir_expr *e, ir_type t)
{
  fputc('(', E->out);
  for (int i = 0; i < e->n_args; i++) {
    fputs(i ? ", " : "", E->out);
    print_top(E, e->args[i], t);
  }
  fputc(')', E->out);
}

/* min, max and abs of any numeric type: a typed helper or libm. */
static void print_typed_call(emit_fn *E, const ir_expr *e)
{
  ir_type t = e->type;
  if (e->fn == IR_FN_ABS && ir_types[t].is_float) {
    fputs(libm_name(E, IR_FN_FABS, t), E->out);
  } else if (e->fn == IR_FN_ABS && !ir_types[t].is_signed) {
    print_as(E, e->args[0], t);
    return;
  } else {
    bool *used = e->fn == IR_FN_MIN ? E->em->min_of : e->fn == IR_FN_MAX ? E->em->max_of : E->em->abs_of;
    used[t] = true;
    fprintf(E->out, "aotc_%s_%s", ir_builtins[e->fn].name, ir_types[t].name);
  }
  print_call_args(E, e, t);
}

static void print_call(emit_fn *E, const ir_expr *e)
{
  ir_type t = e->type == IR_F64 ? IR_F64 : IR_F32;
  const char *one = t == IR_F64 ? "1.0" : "1.0f";
  const char *power = emit_vmath_power(E, e);
  if (e->fn == IR_FN_MIN || e->fn == IR_FN_MAX || e->fn == IR_FN_ABS) {
    print_typed_call(E, e);
    return;
  }
  if (power) {
    fprintf(E->out, "%s(", power);
    print_top(E, e->args[0], t);
    fputc(')', E->out);
    return;
  }
  if (e->fn == IR_FN_RSQRT)
    fprintf(E->out, "(%s / %s", one, libm_name(E, IR_FN_SQRT, t));
  else if (e->fn == IR_FN_SIGMOID)
    fprintf(E->out, "(%s / (%s + %s(-", one, one, libm_name(E, IR_FN_EXP, t));
  else
    fputs(call_name(E, e, e->fn, t), E->out);
  print_call_args(E, e, t);
  fputs(e->fn == IR_FN_RSQRT ? ")" : e->fn == IR_FN_SIGMOID ? ")))" : "", E->out);
}

void emit_print_value(emit_fn *E, const ir_expr *e, ir_type t)
{
  print_top(E, e, t);
}

static void print_select(emit_fn *E, const ir_expr *e)
{
  fputc('(', E->out);
  print_top(E, e->args[0], e->args[0]->type);
  fputs(" ? ", E->out);
  print_top(E, e->args[1], e->type);
  fputs(" : ", E->out);
  print_top(E, e->args[2], e->type);
  fputc(')', E->out);
}

static void print_index_var(emit_fn *E, int index)
{
  if (E->iter && E->iter[index])
    print_ast_expr(E, E->iter[index]);
  else
    E->failed = true;
}

static void print_expr(emit_fn *E, const ir_expr *e)
{
  switch (e->kind) {
  case IR_CONST_INT:
    print_int_const(E->out, e->ival, e->type);
    return;
  case IR_CONST_FLOAT:
    print_float_const(E, e->fval, e->type);
    return;
  case IR_INDEX:
    print_index_var(E, e->index);
    return;
  case IR_SIZE:
    emit_print_size(E, e->size);
    return;
  case IR_ACCESS:
    if (!emit_hoisted(E, e))
      emit_print_read(E, e);
    return;
  case IR_UNARY:
    print_unary(E, e);
    return;
  case IR_BINARY:
    print_binary(E, e);
    return;
  case IR_SELECT:
    print_select(E, e);
    return;
  case IR_CAST:
    print_as(E, e->args[0], e->type);
    return;
  case IR_CALL:
    print_call(E, e);
    return;
  default:
    E->failed = true;
    return;
  }
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

/* The identity of a reduction in type t. */
static void print_identity(emit_fn *E, ir_reduction red, ir_type t)
{
  if (red == IR_RED_MIN)
    fputs(E->em->tg->type_max[t], E->out);
  else if (red == IR_RED_MAX)
    fputs(E->em->tg->type_min[t], E->out);
  else
    print_int_const(E->out, red == IR_RED_MUL ? 1 : 0, t);
}

static void print_lhs_index(emit_fn *E, const void *data, int j, index_place at)
{
  const ir_stmt *s = data;
  if (ir_stmt_is_plain(s))
    print_index_var(E, s->lhs[j]);
  else
    print_index(E, s->lhs_expr[j], at);
}

/* The element a general `!` initialisation writes: its point's coordinates. */
static void print_init_index(emit_fn *E, const void *data, int j, index_place at)
{
  (void)data;
  (void)at;
  print_index_var(E, j);
}

void emit_print_lhs(emit_fn *E, const ir_stmt *s)
{
  if (E->acc)
    fputs(E->acc, E->out);
  else
    print_linear(E, s->tensor, s->n_lhs, print_lhs_index, s);
}

static void print_init_lhs(emit_fn *E, const ir_stmt *s)
{
  if (ir_stmt_is_plain(s))
    emit_print_lhs(E, s);
  else
    print_linear(E, s->tensor, s->n_lhs, print_init_index, s);
}

int emit_bound_count(const ir_stmt *s)
{
  return !ir_stmt_is_plain(s) && s->n_lhs > s->n_index ? s->n_lhs : s->n_index;
}

/* LHS = aotc_min_T(LHS, rhs) for min= and max=. */
static void print_minmax_update(emit_fn *E, const ir_stmt *s, ir_type t)
{
  bool is_min = s->red == IR_RED_MIN;
  (is_min ? E->em->min_of : E->em->max_of)[t] = true;
  emit_print_lhs(E, s);
  fprintf(E->out, " = aotc_%s_%s(", is_min ? "min" : "max", ir_types[t].name);
  emit_print_lhs(E, s);
  fputs(", ", E->out);
  print_top(E, s->rhs, t);
  fputc(')', E->out);
}

void emit_print_update(emit_fn *E, const ir_stmt *s)
{
  static const char *const assign[] = {[IR_RED_NONE] = " = ", [IR_RED_ADD] = " += ", [IR_RED_MUL] = " *= "};
  ir_type t = E->f->tensors[s->tensor]->type;
  if (s->red == IR_RED_MIN || s->red == IR_RED_MAX) {
    print_minmax_update(E, s, t);
    return;
  }
  emit_print_lhs(E, s);
  fputs(assign[s->red], E->out);
  print_top(E, s->rhs, t);
}

/* The statement a user node runs, its index values bound in E->iter from
 * the call's arguments; NULL if not ours. */
static const ir_stmt *bind_call(emit_fn *E, __isl_keep isl_ast_node *node, poly_stmt *ps)
{
  isl_ast_expr *call = isl_ast_node_user_get_expr(node);
  isl_ast_expr *name = isl_ast_expr_op_get_arg(call, 0);
  isl_id *id = isl_ast_expr_id_get_id(name);
  const ir_stmt *s = NULL;
  if (poly_kernel_stmt(E->k, isl_id_get_name(id), ps) && ps->stmt < E->f->n_stmts) {
    s = E->stmt = E->f->stmts[ps->stmt];
    int n = isl_ast_expr_op_get_n_arg(call) - 1;
    for (int j = 0; j < emit_bound_count(s); j++)
      E->iter[j] = isl_ast_expr_free(E->iter[j]);
    for (int j = 0; j < n; j++)
      E->iter[ps->init && ir_stmt_is_plain(s) ? s->lhs[j] : j] = isl_ast_expr_op_get_arg(call, j + 1);
  }
  isl_id_free(id);
  isl_ast_expr_free(name);
  isl_ast_expr_free(call);
  return s;
}

void emit_unbind_indices(emit_fn *E, const ir_stmt *s)
{
  for (int j = 0; j < emit_bound_count(s); j++)
    E->iter[j] = isl_ast_expr_free(E->iter[j]);
}

void emit_bind_index(emit_fn *E, int x)
{
  char name[32];
  snprintf(name, sizeof(name), "aotc_x%d", x);
  isl_ast_expr_free(E->iter[x]);
  E->iter[x] = isl_ast_expr_from_id(isl_id_alloc(E->em->plan->isl, name, NULL));
}

/* One isl statement, its index values given by the call's arguments. */
static void print_user(emit_fn *E, __isl_keep isl_ast_node *node)
{
  poly_stmt ps;
  const ir_stmt *s = bind_call(E, node, &ps);
  if (!s) {
    E->failed = true;
    return;
  }
  if (E->red_stage == 1 && !E->acc) {
    emit_unbind_indices(E, s);
    return;
  }
  emit_indent(E);
  if (E->red_threads > 0 && !E->acc)
    fprintf(E->out, "if (%s == 0) ", E->em->tg->thread_index[0]);
  if (ps.init) {
    print_init_lhs(E, s);
    fputs(" = ", E->out);
    print_identity(E, s->red, E->f->tensors[s->tensor]->type);
  } else {
    emit_print_update(E, s);
  }
  fputs(";\n", E->out);
  emit_unbind_indices(E, s);
}

static void print_for(emit_fn *E, __isl_keep isl_ast_node *node);

/* With vectorisation on, the accumulator loop may reassociate (OpenMP's
 * simd reduction, only under -fopenmp or -fopenmp-simd). */
static void print_simd_reduction(emit_fn *E, ir_reduction red)
{
  static const char *const op[] = {[IR_RED_ADD] = "+", [IR_RED_MUL] = "*", [IR_RED_MIN] = "min",
                                   [IR_RED_MAX] = "max"};
  if (E->pf->sched.vectorize && red != IR_RED_NONE)
    fprintf(E->out, E->em->tg->simd_reduction, op[red]);
}

/* a OP b for reduction red in type t, in three pieces: before a, between
 * a and b (part 1), after b (part 2). */
static void print_combine(emit_fn *E, ir_reduction red, ir_type t, int part)
{
  bool minmax = red == IR_RED_MIN || red == IR_RED_MAX;
  if (part == 0 && minmax) {
    (red == IR_RED_MIN ? E->em->min_of : E->em->max_of)[t] = true;
    fprintf(E->out, "aotc_%s_%s(", red == IR_RED_MIN ? "min" : "max", ir_types[t].name);
  } else if (part == 1) {
    fputs(minmax ? ", " : red == IR_RED_MUL ? " * " : " + ", E->out);
  } else if (part == 2 && minmax) {
    fputc(')', E->out);
  }
}

int emit_reduce_shared_slots(const emit_target *tg, int threads)
{
  if (!tg->shuffle_down)
    return threads;
  return threads > tg->warp_lanes ? threads / tg->warp_lanes : 0;
}

/* aotc_red[DST] = aotc_red[DST] op aotc_red[SRC], or aotc_acc = aotc_acc
 * op SRC: one step of a tree (dst NULL: into aotc_acc). */
static void print_tree_step(emit_fn *E, const ir_stmt *s, ir_type t, const char *dst, const char *src)
{
  emit_indent(E);
  if (dst)
    fprintf(E->out, "aotc_red[%s] = ", dst);
  else
    fputs("aotc_acc = ", E->out);
  print_combine(E, s->red, t, 0);
  if (dst)
    fprintf(E->out, "aotc_red[%s]", dst);
  else
    fputs("aotc_acc", E->out);
  print_combine(E, s->red, t, 1);
  fputs(src, E->out);
  print_combine(E, s->red, t, 2);
  fputs(";\n", E->out);
}

/* The partial results of the block's threads meet in shared memory, a
 * tree of log2(threads) steps each behind a barrier; the total in
 * aotc_red[0]. */
static void print_shared_tree(emit_fn *E, const ir_stmt *s, ir_type t)
{
  const emit_target *tg = E->em->tg;
  const char *tid = tg->thread_index[0];
  char src[64];
  emit_line(E, "aotc_red[%s] = aotc_acc;", tid);
  emit_line(E, "%s", tg->barrier);
  emit_open_block(E, "for (int aotc_s = %d; aotc_s > 0; aotc_s /= 2)", E->red_threads / 2);
  emit_line(E, "if ((int)%s < aotc_s)", tid);
  E->indent++;
  snprintf(src, sizeof src, "aotc_red[%s + aotc_s]", tid);
  print_tree_step(E, s, t, tid, src);
  E->indent--;
  emit_line(E, "%s", tg->barrier);
  emit_close_block(E);
}

/* aotc_acc folded over the first `lanes` lanes of each warp by shuffles
 * down (lane i takes lane i + lanes/2, ...): lane 0 ends with the total.
 * Every lane of mask (the threads of the warp) takes part. */
static void print_warp_tree(emit_fn *E, const ir_stmt *s, ir_type t, int lanes, unsigned mask)
{
  char src[96];
  snprintf(src, sizeof src, "%s(0x%08xu, aotc_acc, aotc_s)", E->em->tg->shuffle_down, mask);
  emit_open_block(E, "for (int aotc_s = %d; aotc_s > 0; aotc_s /= 2)", lanes / 2);
  print_tree_step(E, s, t, NULL, src);
  emit_close_block(E);
}

/* With shuffles: each warp folds its lanes, lane 0 of every warp leaves
 * its total in aotc_red[warp], one barrier, and the first warp folds
 * those; the total in thread 0's aotc_acc. One barrier instead of
 * log2(threads). */
static void print_shuffle_tree(emit_fn *E, const ir_stmt *s, ir_type t)
{
  const emit_target *tg = E->em->tg;
  const char *tid = tg->thread_index[0];
  int W = tg->warp_lanes, warps = E->red_threads / W;
  unsigned all = W >= 32 ? 0xffffffffu : (1u << W) - 1;
  print_warp_tree(E, s, t, warps > 0 ? W : E->red_threads, warps > 0 ? all : (1u << E->red_threads) - 1);
  if (warps <= 1)
    return;
  emit_line(E, "if (%s %% %d == 0)", tid, W);
  emit_line(E, "  aotc_red[%s / %d] = aotc_acc;", tid, W);
  emit_line(E, "%s", tg->barrier);
  emit_open_block(E, "if (%s < %d)", tid, W);
  emit_line(E, "aotc_acc = %s < %d ? aotc_red[%s] : aotc_acc;", tid, warps, tid);
  print_warp_tree(E, s, t, warps, all);
  emit_close_block(E);
}

/* A split reduction's blocks: "blockIdx.y" for S "Idx" and red_dim 1. */
static const char *split_dim(emit_fn *E, bool grid)
{
  return (grid ? E->em->tg->grid_dim : E->em->tg->block_index)[E->red_dim];
}

/* The slot of this block's output among the partial results of a split
 * reduction (the blocks along the members' dimensions, x first), in
 * front of "+ OUTPUTS * ". */
static void print_part_slot(emit_fn *E)
{
  const emit_target *tg = E->em->tg;
  static const char *const out[] = {"", "%s + ", "%s + %s * %s + "};
  static const char *const outs[] = {"", "%s * ", "%s * %s * "};
  fprintf(E->out, "aotc_part[");
  fprintf(E->out, out[E->red_dim], tg->block_index[0], tg->grid_dim[0], tg->block_index[1]);
  fprintf(E->out, outs[E->red_dim], tg->grid_dim[0], tg->grid_dim[1]);
}


/* Stage 2 of a split reduction: aotc_acc folds this output's partial
 * results, each thread every blockDim-th of them, in order. */
static void print_part_fold(emit_fn *E, const ir_stmt *s, ir_type t)
{
  const emit_target *tg = E->em->tg;
  emit_open_block(E, "for (int64_t aotc_g = %s; aotc_g < %d; aotc_g += %s)", tg->thread_index[0], E->red_blocks,
                  tg->block_dim[0]);
  emit_indent(E);
  fputs("aotc_acc = ", E->out);
  print_combine(E, s->red, t, 0);
  fputs("aotc_acc", E->out);
  print_combine(E, s->red, t, 1);
  print_part_slot(E);
  fputs("aotc_g]", E->out);
  print_combine(E, s->red, t, 2);
  fputs(";\n", E->out);
  emit_close_block(E);
}

/* The partial sums (stage 2: the fold of them), the threads' accumulators
 * before the tree. */
static void print_reduction_loop(emit_fn *E, __isl_keep isl_ast_node *node, const ir_stmt *s, ir_type t)
{
  if (E->red_stage == 2) {
    print_part_fold(E, s, t);
    return;
  }
  E->acc = "aotc_acc";
  E->red_split = true;
  print_for(E, node);
  E->acc = NULL;
}

/* Thread 0 folds the block's total into the left-hand side (stage 1: into
 * its slot of the partial results). */
static void print_reduction_result(emit_fn *E, __isl_keep isl_ast_node *body, const ir_stmt *s, ir_type t)
{
  const emit_target *tg = E->em->tg;
  const char *total = tg->shuffle_down ? "aotc_acc" : "aotc_red[0]";
  emit_line(E, "if (%s == 0)", tg->thread_index[0]);
  E->indent++;
  emit_indent(E);
  if (E->red_stage == 1) {
    print_part_slot(E);
    fprintf(E->out, "%s] = %s;\n", split_dim(E, false), total);
    E->indent--;
    return;
  }
  poly_stmt ps;
  bind_call(E, body, &ps);
  emit_print_lhs(E, s);
  fputs(" = ", E->out);
  print_combine(E, s->red, t, 0);
  emit_print_lhs(E, s);
  print_combine(E, s->red, t, 1);
  fputs(total, E->out);
  print_combine(E, s->red, t, 2);
  fputs(";\n", E->out);
  emit_unbind_indices(E, s);
  E->indent--;
}

/* A reduction kernel's accumulator loop (E->red_threads > 0), or a nest
 * around one (EMIT_PLAN_ACC_NEST), shared by the threads of the block along
 * x: each accumulates every red_threads-th iteration of the accumulator
 * loop (all iterations of the loops around it) from the identity, the
 * partial results meet in a tree of fixed order (warp shuffles where the
 * target has them, else shared memory: the same result for every order of
 * the threads and every run), and thread 0 folds the total into the
 * left-hand side.
 * The barrier before makes thread 0's earlier writes visible and frees the
 * shared buffer. */
static void print_shared_reduction(emit_fn *E, __isl_keep isl_ast_node *node, __isl_keep isl_ast_node *body,
                                   const ir_stmt *s)
{
  const emit_target *tg = E->em->tg;
  ir_type t = E->f->tensors[s->tensor]->type;
  const char *T = emit_type_name(E, t);
  emit_unbind_indices(E, s);
  if (emit_reduce_shared_slots(tg, E->red_threads) > 0)
    emit_line(E, "%s *aotc_red = (%s *)aotc_red_mem;", T, T);
  if (E->red_stage)
    emit_line(E, "%s *aotc_part = (%s *)aotc_part_mem;", T, T);
  emit_indent(E);
  fprintf(E->out, "%s aotc_acc = ", T);
  print_identity(E, s->red, t);
  fputs(";\n", E->out);
  emit_line(E, "%s", tg->barrier);
  print_reduction_loop(E, node, s, t);
  if (tg->shuffle_down)
    print_shuffle_tree(E, s, t);
  else
    print_shared_tree(E, s, t);
  print_reduction_result(E, body, s, t);
}

/* A loop the plan annotated EMIT_PLAN_ACC:
 * { T aotc_acc = LHS; for (...) aotc_acc op= rhs; LHS = aotc_acc; } */
static void print_replaced_for(emit_fn *E, __isl_keep isl_ast_node *node)
{
  poly_stmt ps;
  isl_ast_node *body = isl_ast_node_for_get_body(node);
  while (body && isl_ast_node_get_type(body) == isl_ast_node_for) { /* EMIT_PLAN_ACC_NEST */
    isl_ast_node *inner = isl_ast_node_for_get_body(body);
    isl_ast_node_free(body);
    body = inner;
  }
  const ir_stmt *s = body && isl_ast_node_get_type(body) == isl_ast_node_user ? bind_call(E, body, &ps) : NULL;
  if (!s) {
    E->failed = true;
    isl_ast_node_free(body);
    return;
  }
  emit_indent(E);
  fprintf(E->out, "{\n");
  E->indent++;
  if (E->red_threads > 0) {
    print_shared_reduction(E, node, body, s);
    isl_ast_node_free(body);
    E->indent--;
    emit_line(E, "}");
    return;
  }
  emit_indent(E);
  fprintf(E->out, "%s aotc_acc = ", emit_type_name(E, E->f->tensors[s->tensor]->type));
  emit_print_lhs(E, s);
  fputs(";\n", E->out);
  emit_unbind_indices(E, s);
  print_simd_reduction(E, s->red);
  E->acc = "aotc_acc";
  print_for(E, node);
  E->acc = NULL;
  bind_call(E, body, &ps);
  isl_ast_node_free(body);
  emit_indent(E);
  emit_print_lhs(E, s);
  fputs(" = aotc_acc;\n", E->out);
  emit_unbind_indices(E, s);
  E->indent--;
  emit_indent(E);
  fputs("}\n", E->out);
}

static bool is_annotated(__isl_keep isl_ast_node *node, const char *name)
{
  isl_id *id = isl_ast_node_get_annotation(node);
  bool yes = id && isl_id_get_name(id) && !strcmp(isl_id_get_name(id), name);
  isl_id_free(id);
  return yes;
}

/* (Below a spread mark, accumulator loops are per thread: not looked at.) */
static isl_bool find_acc(__isl_keep isl_ast_node *node, void *user)
{
  bool *found = user;
  *found = *found || (isl_ast_node_get_type(node) == isl_ast_node_for && is_annotated(node, EMIT_PLAN_ACC));
  bool spread = false;
  if (isl_ast_node_get_type(node) == isl_ast_node_mark) {
    isl_id *id = isl_ast_node_mark_get_id(node);
    spread = !strcmp(isl_id_get_name(id), SCHED_MARK_SPREAD);
    isl_id_free(id);
  }
  return *found || spread ? isl_bool_false : isl_bool_true;
}

bool emit_ast_has_acc(__isl_keep isl_ast_node *node)
{
  bool found = false;
  isl_ast_node_foreach_descendant_top_down(node, find_acc, &found);
  return found;
}

/* What emit_split_ok finds in a part. */
typedef struct split_scan {
  emit_fn *E;
  bool seq, spread;     /* below the seq mark; below a spread mark */
  int loops;            /* loops below the seq mark around the node */
  int sites;            /* accumulator loops (or nests) found */
  bool bad;             /* one inside a thread's loop, or a statement not ours */
  const ir_stmt *site;  /* the statement of the last one */
  bool *written;        /* per tensor: some statement of the part writes it */
} split_scan;

static void scan_split(split_scan *S, __isl_keep isl_ast_node *node);

/* The statement at the bottom of an accumulator loop (nest); NULL: none. */
static const ir_stmt *acc_stmt(emit_fn *E, __isl_keep isl_ast_node *loop)
{
  poly_stmt ps;
  isl_ast_node *body = isl_ast_node_for_get_body(loop);
  while (body && isl_ast_node_get_type(body) == isl_ast_node_for) {
    isl_ast_node *inner = isl_ast_node_for_get_body(body);
    isl_ast_node_free(body);
    body = inner;
  }
  const ir_stmt *s = body && isl_ast_node_get_type(body) == isl_ast_node_user ? bind_call(E, body, &ps) : NULL;
  if (s)
    emit_unbind_indices(E, s);
  isl_ast_node_free(body);
  return s;
}

static void scan_split_for(split_scan *S, __isl_keep isl_ast_node *node)
{
  if (!S->spread && (is_annotated(node, EMIT_PLAN_ACC) || is_annotated(node, EMIT_PLAN_ACC_NEST))) {
    S->site = acc_stmt(S->E, node);
    S->sites++;
    S->bad |= !S->site || (S->seq && S->loops > 0);
    if (S->site)
      S->written[S->site->tensor] = true;
    return;
  }
  isl_ast_node *body = isl_ast_node_for_get_body(node);
  S->loops += S->seq;
  scan_split(S, body);
  S->loops -= S->seq;
  isl_ast_node_free(body);
}

static void scan_split_children(split_scan *S, __isl_take isl_ast_node_list *list)
{
  isl_size n = isl_ast_node_list_n_ast_node(list);
  for (int i = 0; i < n; i++) {
    isl_ast_node *child = isl_ast_node_list_get_at(list, i);
    scan_split(S, child);
    isl_ast_node_free(child);
  }
  isl_ast_node_list_free(list);
}

static void scan_split_mark(split_scan *S, __isl_keep isl_ast_node *node)
{
  isl_id *id = isl_ast_node_mark_get_id(node);
  isl_ast_node *child = isl_ast_node_mark_get_node(node);
  bool seq = S->seq, spread = S->spread;
  S->seq |= !strcmp(isl_id_get_name(id), SCHED_MARK_SEQ);
  S->spread |= !strcmp(isl_id_get_name(id), SCHED_MARK_SPREAD);
  scan_split(S, child);
  S->seq = seq;
  S->spread = spread;
  isl_ast_node_free(child);
  isl_id_free(id);
}

static void scan_split_user(split_scan *S, __isl_keep isl_ast_node *node)
{
  poly_stmt ps;
  const ir_stmt *s = bind_call(S->E, node, &ps);
  S->bad |= !s;
  if (s) {
    S->written[s->tensor] = true;
    emit_unbind_indices(S->E, s);
  }
}

static void scan_split(split_scan *S, __isl_keep isl_ast_node *node)
{
  switch (isl_ast_node_get_type(node)) {
  case isl_ast_node_for:
    scan_split_for(S, node);
    return;
  case isl_ast_node_if:
    scan_split_children(S, isl_ast_node_list_from_ast_node(isl_ast_node_if_get_then_node(node)));
    if (isl_ast_node_if_has_else_node(node) == isl_bool_true)
      scan_split_children(S, isl_ast_node_list_from_ast_node(isl_ast_node_if_get_else_node(node)));
    return;
  case isl_ast_node_block:
    scan_split_children(S, isl_ast_node_block_get_children(node));
    return;
  case isl_ast_node_mark:
    scan_split_mark(S, node);
    return;
  case isl_ast_node_user:
    scan_split_user(S, node);
    return;
  default:
    S->bad = true;
  }
}

bool emit_split_ok(emit_fn *E, __isl_keep isl_ast_node *part)
{
  split_scan S = {.E = E, .written = IR_NEW_ARRAY(E->em->plan->ctx, bool, E->f->n_tensors)};
  if (!S.written)
    return false;
  scan_split(&S, part);
  bool ok = S.sites == 1 && !S.bad;
  for (int t = 0; ok && t < E->f->n_tensors; t++)
    ok = !(S.written[t] && ir_expr_reads(S.site->rhs, t));
  return ok;
}

/* ------------------------------------------------------------------------
 * isl AST nodes
 * ------------------------------------------------------------------------ */

static void print_mark(emit_fn *E, __isl_keep isl_ast_node *node);

static void print_body(emit_fn *E, __isl_take isl_ast_node *body)
{
  E->indent++;
  emit_print_node(E, body);
  E->indent--;
  isl_ast_node_free(body);
}

static void print_for_head(emit_fn *E, __isl_keep isl_ast_expr *it, __isl_keep isl_ast_expr *init,
                           __isl_keep isl_ast_expr *cond, __isl_keep isl_ast_expr *inc)
{
  fputs("for (int64_t ", E->out);
  print_ast_expr(E, it);
  fputs(" = ", E->out);
  print_ast_top(E, init);
  fputs("; ", E->out);
  print_ast_top(E, cond);
  fputs("; ", E->out);
  print_ast_expr(E, it);
  fputs(" += ", E->out);
  print_ast_top(E, inc);
  fputs(") {\n", E->out);
}

/* CUDA: a loop of a mapped band as a stride loop over the blocks (or the
 * threads of a block) along the band's dimension, correct for any grid:
 *   for (c = INIT + blockIdx.x * INC; COND; c += gridDim.x * INC) */
/* The member of the mapped band a loop runs over: from its iterator c<k>
 * (k: schedule depth), since isl leaves loops of one iteration out. */
static int mapped_member(emit_fn *E, __isl_keep isl_ast_expr *it)
{
  isl_id *id = isl_ast_expr_get_id(it);
  const char *name = id ? isl_id_get_name(id) : NULL;
  int k = -1, member = E->map_depth;
  if (name && sscanf(name, "c%d", &k) == 1 && k - E->map_base >= E->map_depth && k - E->map_base < E->map_n)
    member = k - E->map_base;
  isl_id_free(id);
  return member;
}

/* for (c = INIT + (int64_t)INDEX * INC; COND; c += (int64_t)COUNT * INC) */
static void print_spread_for_head(emit_fn *E, __isl_keep isl_ast_expr *it, __isl_keep isl_ast_expr *init,
                                  __isl_keep isl_ast_expr *cond, __isl_keep isl_ast_expr *inc, const char *index,
                                  const char *count)
{
  fputs("for (int64_t ", E->out);
  print_ast_expr(E, it);
  fputs(" = ", E->out);
  print_ast_expr(E, init);
  fprintf(E->out, " + (int64_t)%s * ", index);
  print_ast_expr(E, inc);
  fputs("; ", E->out);
  print_ast_top(E, cond);
  fputs("; ", E->out);
  print_ast_expr(E, it);
  fprintf(E->out, " += (int64_t)%s * ", count);
  print_ast_expr(E, inc);
  fputs(") {\n", E->out);
}

static void print_mapped_for_head(emit_fn *E, __isl_keep isl_ast_expr *it, __isl_keep isl_ast_expr *init,
                                  __isl_keep isl_ast_expr *cond, __isl_keep isl_ast_expr *inc)
{
  const emit_target *tg = E->em->tg;
  int member = mapped_member(E, it);
  int d = E->map_n - 1 - member;
  E->map_depth = member;
  bool blocks = E->map_kind == EMIT_MAP_BLOCKS;
  print_spread_for_head(E, it, init, cond, inc, (blocks ? tg->block_index : tg->thread_index)[d],
                        (blocks ? tg->grid_dim : tg->block_dim)[d]);
}

/* Is e it, it + e', e' + it, it - e', e' - it or -it, e' not mentioning
 * it: another value in every iteration of the loop over it? */
static bool moves_with(__isl_keep isl_ast_expr *e, const char *it)
{
  if (isl_ast_expr_get_type(e) == isl_ast_expr_id)
    return emit_ast_mentions(e, it);
  if (isl_ast_expr_get_type(e) != isl_ast_expr_op)
    return false;
  enum isl_ast_expr_op_type op = isl_ast_expr_op_get_type(e);
  isl_ast_expr *a = isl_ast_expr_op_get_arg(e, 0);
  isl_ast_expr *b = op == isl_ast_expr_op_add || op == isl_ast_expr_op_sub ? isl_ast_expr_op_get_arg(e, 1) : NULL;
  bool yes = op == isl_ast_expr_op_minus ? moves_with(a, it)
             : b ? (moves_with(a, it) && !emit_ast_mentions(b, it)) || (moves_with(b, it) && !emit_ast_mentions(a, it))
                 : false;
  isl_ast_expr_free(a);
  isl_ast_expr_free(b);
  return yes;
}

/* In a reduction kernel: a loop over one statement that is no reduction,
 * writes another element in every iteration and does not read the tensor
 * it writes, so that its iterations may run on different threads. */
static bool is_spreadable(emit_fn *E, __isl_keep isl_ast_node *loop)
{
  isl_ast_node *body = isl_ast_node_for_get_body(loop);
  isl_ast_expr *it = isl_ast_node_for_get_iterator(loop);
  isl_id *id = it ? isl_ast_expr_id_get_id(it) : NULL;
  poly_stmt ps;
  const ir_stmt *s = id && body && isl_ast_node_get_type(body) == isl_ast_node_user ? bind_call(E, body, &ps) : NULL;
  bool ok = false;
  if (s) {
    ok = ir_stmt_is_plain(s) && (ps.init || s->red == IR_RED_NONE) && !ir_expr_reads(s->rhs, s->tensor);
    bool moves = false;
    for (int j = 0; ok && !moves && j < s->n_lhs; j++)
      moves = E->iter[s->lhs[j]] && moves_with(E->iter[s->lhs[j]], isl_id_get_name(id));
    ok = ok && moves;
    emit_unbind_indices(E, s);
  }
  isl_id_free(id);
  isl_ast_expr_free(it);
  isl_ast_node_free(body);
  return ok;
}

static void print_spread(emit_fn *E, __isl_keep isl_ast_node *loop);

/* A reduction kernel's accumulator loop spread over the block's threads
 * along x; in stage 1 of a split reduction over the threads of red_blocks
 * blocks along red_dim as one row of threads. */
static void print_split_head(emit_fn *E, __isl_keep isl_ast_expr *it, __isl_keep isl_ast_expr *init,
                             __isl_keep isl_ast_expr *cond, __isl_keep isl_ast_expr *inc)
{
  const emit_target *tg = E->em->tg;
  char index[96], count[96];
  snprintf(index, sizeof index, "%s", tg->thread_index[0]);
  snprintf(count, sizeof count, "%s", tg->block_dim[0]);
  if (E->red_stage == 1) {
    snprintf(index, sizeof index, "(%s * %s + %s)", split_dim(E, false), tg->block_dim[0], tg->thread_index[0]);
    snprintf(count, sizeof count, "(%s * %s)", split_dim(E, true), tg->block_dim[0]);
  }
  print_spread_for_head(E, it, init, cond, inc, index, count);
}

static isl_bool find_for(__isl_keep isl_ast_node *node, void *user)
{
  bool *found = user;
  *found = *found || isl_ast_node_get_type(node) == isl_ast_node_for;
  return *found ? isl_bool_false : isl_bool_true;
}

/* Does the body of loop hold another loop? */
static bool has_inner_loop(__isl_keep isl_ast_node *loop)
{
  bool found = false;
  isl_ast_node *body = isl_ast_node_for_get_body(loop);
  isl_ast_node_foreach_descendant_top_down(body, find_for, &found);
  isl_ast_node_free(body);
  return found;
}

/* unroll= on a target with an unroll mark (CUDA): a thread's innermost
 * sequential loop (or its share of a block's reduction loop) unrolled
 * that many times (the compiler keeps a remainder loop, so any trip
 * count stays correct). */
static void print_unroll_mark(emit_fn *E, __isl_keep isl_ast_node *loop)
{
  int n = E->pf->sched.unroll;
  if (E->em->tg->unroll_for && n > 1 && !has_inner_loop(loop)) {
    fprintf(E->out, E->em->tg->unroll_for, n);
    emit_indent(E);
  }
}

/* emit_select_loop's loop as one block per value, the index a constant
 * there: the compiler folds the selects, and each block's inner loop
 * reads what the one before read while it is in L1. */
static void print_select_unrolled(emit_fn *E, __isl_keep isl_ast_node *node, long lo, long hi)
{
  isl_ast_expr *it = isl_ast_node_for_get_iterator(node);
  for (long v = lo; v <= hi; v++) {
    emit_indent(E);
    fputs("{\n", E->out);
    E->indent++;
    emit_indent(E);
    fputs("const int64_t ", E->out);
    print_ast_expr(E, it);
    fprintf(E->out, " = %ld;\n", v);
    isl_ast_node *body = isl_ast_node_for_get_body(node);
    emit_print_node(E, body);
    isl_ast_node_free(body);
    emit_close_block(E);
  }
  isl_ast_expr_free(it);
}

static void print_for(emit_fn *E, __isl_keep isl_ast_node *node)
{
  if (E->red_stage == 1 && !E->acc && !emit_ast_has_acc(node))
    return;
  if (!E->acc && (is_annotated(node, EMIT_PLAN_ACC) ||
                  (E->red_threads > 0 && is_annotated(node, EMIT_PLAN_ACC_NEST)))) {
    print_replaced_for(E, node);
    return;
  }
  if (E->red_threads > 0 && !E->acc && is_spreadable(E, node)) {
    print_spread(E, node);
    return;
  }
  long lo, hi;
  bool pragma = E->pragma_loop == (const void *)node;
  E->pragma_loop = NULL;
  if (!pragma && E->map_kind == EMIT_MAP_NONE && !E->acc && emit_select_loop(E->k, E->f, node, &lo, &hi)) {
    print_select_unrolled(E, node, lo, hi);
    return;
  }
  isl_ast_expr *it = isl_ast_node_for_get_iterator(node);
  isl_ast_expr *init = isl_ast_node_for_get_init(node);
  isl_ast_expr *cond = isl_ast_node_for_get_cond(node);
  isl_ast_expr *inc = isl_ast_node_for_get_inc(node);
  emit_indent(E);
  bool mapped = E->map_kind != EMIT_MAP_NONE && E->map_depth < E->map_n;
  int depth = E->map_depth;
  bool split = E->red_split && is_annotated(node, EMIT_PLAN_ACC);
  if (!mapped || split)
    print_unroll_mark(E, node);
  if (split)
    print_split_head(E, it, init, cond, inc);
  else if (mapped)
    print_mapped_for_head(E, it, init, cond, inc);
  else
    print_for_head(E, it, init, cond, inc);
  E->red_split = E->red_split && !split;
  E->map_depth += mapped;
  print_body(E, isl_ast_node_for_get_body(node));
  E->map_depth = depth;
  emit_indent(E);
  fputs("}\n", E->out);
  isl_ast_expr_free(it);
  isl_ast_expr_free(init);
  isl_ast_expr_free(cond);
  isl_ast_expr_free(inc);
}

static void print_if(emit_fn *E, __isl_keep isl_ast_node *node)
{
  isl_ast_expr *cond = isl_ast_node_if_get_cond(node);
  emit_indent(E);
  fputs("if (", E->out);
  print_ast_top(E, cond);
  fputs(") {\n", E->out);
  isl_ast_expr_free(cond);
  print_body(E, isl_ast_node_if_get_then_node(node));
  if (isl_ast_node_if_has_else_node(node) == isl_bool_true) {
    emit_indent(E);
    fputs("} else {\n", E->out);
    print_body(E, isl_ast_node_if_get_else_node(node));
  }
  emit_indent(E);
  fputs("}\n", E->out);
}

/* The left-hand side the statement of child i of list writes, as text
 * (malloc'ed), and its statement in *s; NULL if the child is not a
 * statement's call. The indices are unbound again. */
static char *user_lhs_text(emit_fn *E, __isl_keep isl_ast_node_list *list, int i, poly_stmt *ps,
                           const ir_stmt **s)
{
  isl_ast_node *node = isl_ast_node_list_get_at(list, i);
  *s = node && isl_ast_node_get_type(node) == isl_ast_node_user ? bind_call(E, node, ps) : NULL;
  isl_ast_node_free(node);
  if (!*s)
    return NULL;
  emit_text t;
  char *text = NULL;
  if (emit_text_begin(E, &t)) {
    if (ps->init)
      print_init_lhs(E, *s);
    else
      emit_print_lhs(E, *s);
    text = emit_text_end(E, &t);
  }
  emit_unbind_indices(E, *s);
  return text;
}

/* The statements of a chain from children[i] on: how many consecutive
 * statements write one element, the first an assignment or a reduction's
 * initialisation, the others min=, max=, += or *= updates of it whose
 * right-hand sides read nothing of that tensor (a pool's taps, one
 * statement each: window_taps.c). 0 or 1: no chain. */
static int chain_length(emit_fn *E, __isl_keep isl_ast_node_list *list, int i, int n)
{
  poly_stmt ps;
  const ir_stmt *first, *s;
  char *lhs = user_lhs_text(E, list, i, &ps, &first);
  if (!lhs || !(ps.init || first->red == IR_RED_NONE)) {
    free(lhs);
    return 0;
  }
  int len = 1;
  for (; i + len < n; len++) {
    char *next = user_lhs_text(E, list, i + len, &ps, &s);
    bool same = next && !ps.init && s->red != IR_RED_NONE && s->tensor == first->tensor && !strcmp(next, lhs) &&
                !ir_expr_reads(s->rhs, s->tensor);
    free(next);
    if (!same)
      break;
  }
  free(lhs);
  return len;
}

/* Binds the statement of child i of list (a user node). */
static const ir_stmt *bind_child(emit_fn *E, __isl_keep isl_ast_node_list *list, int i, poly_stmt *ps)
{
  isl_ast_node *node = isl_ast_node_list_get_at(list, i);
  const ir_stmt *s = bind_call(E, node, ps);
  isl_ast_node_free(node);
  return s;
}

/* A chain (chain_length) in a local: { T aotc_chain = first's value; the
 * updates of aotc_chain; LHS = aotc_chain; }, one store instead of one
 * store and one load per statement (the compiler cannot keep the element
 * in a register: the output may alias the input). */
static void print_chain(emit_fn *E, __isl_keep isl_ast_node_list *list, int i, int len)
{
  poly_stmt ps;
  const ir_stmt *s = bind_child(E, list, i, &ps);
  ir_type t = E->f->tensors[s->tensor]->type;
  emit_line(E, "{");
  E->indent++;
  emit_indent(E);
  fprintf(E->out, "%s aotc_chain = ", emit_type_name(E, t));
  if (ps.init)
    print_identity(E, s->red, t);
  else
    print_top(E, s->rhs, t);
  fputs(";\n", E->out);
  emit_unbind_indices(E, s);
  E->acc = "aotc_chain";
  for (int k = 1; k < len; k++) {
    s = bind_child(E, list, i + k, &ps);
    emit_indent(E);
    emit_print_update(E, s);
    fputs(";\n", E->out);
    emit_unbind_indices(E, s);
  }
  E->acc = NULL;
  s = bind_child(E, list, i + len - 1, &ps);
  emit_indent(E);
  emit_print_lhs(E, s);
  fputs(" = aotc_chain;\n", E->out);
  emit_unbind_indices(E, s);
  E->indent--;
  emit_line(E, "}");
}

static void print_block(emit_fn *E, __isl_keep isl_ast_node *node)
{
  isl_ast_node_list *list = isl_ast_node_block_get_children(node);
  isl_size n = isl_ast_node_list_n_ast_node(list);
  bool chains = !E->acc && E->red_stage == 0 && E->red_threads == 0;
  for (int i = 0; i < n; i++) {
    int len = chains ? chain_length(E, list, i, n) : 0;
    if (len > 1) {
      print_chain(E, list, i, len);
      i += len - 1;
      continue;
    }
    isl_ast_node *child = isl_ast_node_list_get_at(list, i);
    emit_print_node(E, child);
    isl_ast_node_free(child);
  }
  isl_ast_node_list_free(list);
}

static bool is_map_mark(const char *name)
{
  return !strcmp(name, SCHED_MARK_GRID) || !strcmp(name, SCHED_MARK_BLOCK) || !strcmp(name, SCHED_MARK_SEQ);
}

/* CUDA: the loops below a mark of sched_gpu_map: the band's loops go to the
 * blocks (grid mark) or threads (block mark), those below the seq mark
 * stay sequential. */
static void print_mapped(emit_fn *E, __isl_keep isl_id *id, __isl_keep isl_ast_node *child)
{
  const char *name = isl_id_get_name(id);
  const sched_gpu_band *b = isl_id_get_user(id);
  int kind = E->map_kind, n = E->map_n, depth = E->map_depth, base = E->map_base;
  E->map_kind = !strcmp(name, SCHED_MARK_GRID) ? EMIT_MAP_BLOCKS
                : !strcmp(name, SCHED_MARK_BLOCK) ? EMIT_MAP_THREADS : EMIT_MAP_NONE;
  E->map_n = b ? b->n : 0;
  E->map_base = b ? b->depth + (E->map_kind == EMIT_MAP_THREADS ? b->n : 0) : 0;
  E->map_depth = 0;
  emit_print_node(E, child);
  E->map_kind = kind;
  E->map_n = n;
  E->map_depth = depth;
  E->map_base = base;
}

/* aotc_simd over a block (a band separated into loops per range of
 * statements, sched_separate): every loop of the block vectorised. */
static void print_simd_block(emit_fn *E, __isl_keep isl_ast_node *block)
{
  isl_ast_node_list *list = isl_ast_node_block_get_children(block);
  isl_size n = isl_ast_node_list_n_ast_node(list);
  for (int i = 0; i < n; i++) {
    isl_ast_node *child = isl_ast_node_list_get_at(list, i);
    if (isl_ast_node_get_type(child) == isl_ast_node_for)
      fputs(E->em->tg->simd_for, E->out);
    emit_print_node(E, child);
    isl_ast_node_free(child);
  }
  isl_ast_node_list_free(list);
}

/* A reduction kernel's parallel loop (SCHED_MARK_SPREAD, is_spreadable):
 * its iterations over the block's threads along x, between barriers (what
 * thread 0 wrote before is visible to all, what all wrote is visible
 * after); inside, no shared reductions and no thread-0 guards. */
static void print_spread(emit_fn *E, __isl_keep isl_ast_node *loop)
{
  if (E->red_stage == 1)
    return;
  const emit_target *tg = E->em->tg;
  isl_ast_expr *it = isl_ast_node_for_get_iterator(loop);
  isl_ast_expr *init = isl_ast_node_for_get_init(loop);
  isl_ast_expr *cond = isl_ast_node_for_get_cond(loop);
  isl_ast_expr *inc = isl_ast_node_for_get_inc(loop);
  int threads = E->red_threads;
  emit_line(E, "%s", tg->barrier);
  emit_indent(E);
  print_spread_for_head(E, it, init, cond, inc, tg->thread_index[0], tg->block_dim[0]);
  E->red_threads = 0;
  print_body(E, isl_ast_node_for_get_body(loop));
  E->red_threads = threads;
  emit_line(E, "}");
  emit_line(E, "%s", tg->barrier);
  isl_ast_expr_free(it);
  isl_ast_expr_free(init);
  isl_ast_expr_free(cond);
  isl_ast_expr_free(inc);
}

/* aotc_parallel: a loop spread over the threads; aotc_simd: a loop to
 * vectorise (schedule.c puts the marks), or the loops of a block; both only
 * where the marked node is a loop. */
static void print_mark(emit_fn *E, __isl_keep isl_ast_node *node)
{
  isl_id *id = isl_ast_node_mark_get_id(node);
  isl_ast_node *child = isl_ast_node_mark_get_node(node);
  const char *name = isl_id_get_name(id);
  bool is_for = isl_ast_node_get_type(child) == isl_ast_node_for;
  if (is_for && name && !strcmp(name, "aotc_parallel"))
    fprintf(E->out, E->em->tg->parallel_for, E->pf->sched.threads);
  else if (is_for && name && !strcmp(name, "aotc_simd"))
    fputs(E->em->tg->simd_for, E->out);
  if (is_for)
    E->pragma_loop = child;
  bool hoist = is_for && name && !strcmp(name, "aotc_simd_rows") && emit_hoist_begin(E, child);
  if (hoist)
    fputs(E->em->tg->simd_for, E->out);
  if (is_for && name && !strcmp(name, "aotc_red_rows") && emit_rows_reduction(E, child))
    ;
  else if (is_for && name && !strcmp(name, "aotc_map_red_rows") && emit_rows_map_reduction(E, child))
    ;
  else if (is_for && E->red_threads > 0 && name && !strcmp(name, SCHED_MARK_SPREAD))
    print_spread(E, child);
  else if (E->map_on && name && is_map_mark(name))
    print_mapped(E, id, child);
  else if (name && !strcmp(name, "aotc_simd") && isl_ast_node_get_type(child) == isl_ast_node_block)
    print_simd_block(E, child);
  else
    emit_print_node(E, child);
  if (hoist)
    emit_hoist_end(E);
  E->pragma_loop = NULL;
  isl_ast_node_free(child);
  isl_id_free(id);
}

void emit_print_node(emit_fn *E, __isl_keep isl_ast_node *node)
{
  switch (isl_ast_node_get_type(node)) {
  case isl_ast_node_for:
    print_for(E, node);
    return;
  case isl_ast_node_if:
    print_if(E, node);
    return;
  case isl_ast_node_block:
    print_block(E, node);
    return;
  case isl_ast_node_mark:
    print_mark(E, node);
    return;
  case isl_ast_node_user:
    print_user(E, node);
    return;
  default:
    E->failed = true;
    return;
  }
}

/* ------------------------------------------------------------------------
 * Lines and blocks at the current indentation
 * ------------------------------------------------------------------------ */

bool emit_text_begin(emit_fn *E, emit_text *t)
{
  t->saved = E->out;
  t->buf = NULL;
  t->len = 0;
  FILE *mem = open_memstream(&t->buf, &t->len);
  if (mem)
    E->out = mem;
  return mem != NULL;
}

char *emit_text_end(emit_fn *E, emit_text *t)
{
  fclose(E->out);
  E->out = t->saved;
  return t->buf;
}

void emit_line(emit_fn *E, const char *fmt, ...)
{
  va_list ap;
  emit_indent(E);
  va_start(ap, fmt);
  vfprintf(E->out, fmt, ap);
  va_end(ap);
  fputc('\n', E->out);
}

void emit_open_block(emit_fn *E, const char *fmt, ...)
{
  va_list ap;
  emit_indent(E);
  va_start(ap, fmt);
  vfprintf(E->out, fmt, ap);
  va_end(ap);
  fputs(" {\n", E->out);
  E->indent++;
}

void emit_close_block(emit_fn *E)
{
  E->indent--;
  emit_line(E, "}");
}

