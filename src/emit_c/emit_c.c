/* emit_c.c: the C backend. For every function: the polyhedral model and
 * schedule (poly.c), isl's AST of that schedule, printed as standalone C99
 * with int64_t loop variables, plus the header with the prototypes. */
#define _POSIX_C_SOURCE 200809L
#include "poly.h"
#include "../schedule/schedule.h"
#include "emit_model.h"

#include <ctype.h>
#include <isl/aff.h>
#include <isl/id.h>
#include <isl/options.h>
#include <isl/val.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Module state: which static inline helpers the emitted code needs
 * ------------------------------------------------------------------------ */

typedef enum {
  H_FLOORDIV, /* aotc_floordiv */
  H_CEILDIV,  /* aotc_ceildiv */
  H_MIN,      /* aotc_min */
  H_MAX,      /* aotc_max */
  H_WS_SIZE,  /* aotc_ws_size */
  H_COUNT
} helper;

typedef struct emitter {
  aotc_ctx *ctx;
  const emit_options *opt;
  isl_ctx *isl;
  bool helper[H_COUNT];
  bool min_of[IR_TYPE_COUNT], max_of[IR_TYPE_COUNT], abs_of[IR_TYPE_COUNT];
  const char *first_name; /* C name of the first entry: names the header's guard */
  bool need_thread;       /* aotc_thread(): the OpenMP thread number, 0 without OpenMP */
  int n_ukr;              /* micro-kernels the code calls: register tile and vector width */
  sched_blocks ukr[16];
} emitter;

#define MAX_CONTRACTIONS 64

/* One function being emitted. */
typedef struct emit_fn {
  emitter *em;
  FILE *out;
  const ir_func *f;
  const char *name;        /* C name of the entry */
  const char **param_c;    /* declared names of the size parameters */
  const char **param_use;  /* spelling in expressions: name or fixed value */
  const char **tensor_c;   /* C names of the tensors */
  const char ***dim;       /* local holding a computed dimension, or NULL */
  bool *is_read;           /* per tensor: read by some statement */
  poly_kernel *k;
  poly_cache *cache;       /* loops of the kernels printed so far */
  const ir_stmt *stmt;     /* the statement being printed */
  isl_ast_expr **iter;     /* current statement: value of each index */
  int indent;
  bool failed;
  sched_options sched;     /* the options every kernel of the function is scheduled with */
  const char *acc;         /* scalar replacement: the local that stands for the left-hand side */
  int n_contr;             /* kernels emitted as packed micro-kernel loops */
  sched_contraction contr[MAX_CONTRACTIONS];
  sched_blocks blocks[MAX_CONTRACTIONS];
} emit_fn;

/* ------------------------------------------------------------------------
 * Names: one scheme for every user name, ir_c_name (src/ir/names.c)
 * ------------------------------------------------------------------------ */

/* A C identifier for name, distinct from taken[0..n_taken-1]. */
static const char *c_ident(aotc_ctx *ctx, const char *name, const char *const *taken, int n_taken)
{
  return ir_c_name(ctx, name, taken, n_taken);
}

/* ------------------------------------------------------------------------
 * Small printers
 * ------------------------------------------------------------------------ */

static void put_indent(emit_fn *E)
{
  for (int i = 0; i < E->indent; i++)
    fputs("  ", E->out);
}

static void print_i64(FILE *out, int64_t v)
{
  if (v == INT64_MIN)
    fputs("(-INT64_C(9223372036854775807) - 1)", out);
  else if (v > INT32_MAX || v < -INT32_MAX)
    fprintf(out, v < 0 ? "(-INT64_C(%lld))" : "INT64_C(%lld)", (long long)(v < 0 ? -v : v));
  else
    fprintf(out, v < 0 ? "(%lld)" : "%lld", (long long)v);
}

/* Marks the helpers ir_size_print will call. */
static void mark_size_helpers(emitter *em, const ir_size *s)
{
  if (!s)
    return;
  if (s->kind == IR_SZ_FLOORDIV)
    em->helper[H_FLOORDIV] = true;
  if (s->kind == IR_SZ_CEILDIV)
    em->helper[H_CEILDIV] = true;
  if (s->kind == IR_SZ_MIN)
    em->helper[H_MIN] = true;
  if (s->kind == IR_SZ_MAX)
    em->helper[H_MAX] = true;
  mark_size_helpers(em, s->a);
  mark_size_helpers(em, s->b);
}

static void print_size(emit_fn *E, const ir_size *s)
{
  mark_size_helpers(E->em, s);
  ir_size_print(E->out, s, E->param_use);
}

/* Dimension j of tensor t: a constant, a parameter or a local. */
static void print_dim(emit_fn *E, int t, int j)
{
  if (E->dim[t][j])
    fputs(E->dim[t][j], E->out);
  else
    print_size(E, E->f->tensors[t]->shape[j]);
}

static const char *ctype(ir_type t)
{
  return ir_types[t].c_name;
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
  E->em->helper[is_min ? H_MIN : H_MAX] = true;
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
    E->em->helper[H_FLOORDIV] = true;
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
    print_i64(E->out, isl_val_get_num_si(v));
    isl_val_free(v);
  } else if (isl_ast_expr_get_type(e) == isl_ast_expr_op) {
    print_ast_op(E, e);
  } else {
    E->failed = true;
    fputs("0", E->out);
  }
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
    print_i64(out, v);
}

/* A decimal spelling that C reads back as the same float or double. */
static void print_float_literal(FILE *out, double v, ir_type t)
{
  char buf[64];
  if (isnan(v)) {
    fputs(t == IR_F32 ? "NAN" : "(double)NAN", out);
    return;
  }
  if (isinf(v)) {
    fputs(v < 0 ? (t == IR_F32 ? "(-INFINITY)" : "(-(double)INFINITY)") : (t == IR_F32 ? "INFINITY" : "(double)INFINITY"), out);
    return;
  }
  snprintf(buf, sizeof(buf), t == IR_F32 ? "%.9g" : "%.17g", t == IR_F32 ? (double)(float)v : v);
  bool has_point = strpbrk(buf, ".e") != NULL;
  fprintf(out, "%s%s%s%s%s", v < 0 ? "(" : "", buf, has_point ? "" : ".0", t == IR_F32 ? "f" : "", v < 0 ? ")" : "");
}

static void print_float_const(FILE *out, double v, ir_type t)
{
  if (ir_types[t].is_float)
    print_float_literal(out, v, t);
  else
    fprintf(out, "((%s)%.17g)", ctype(t), v);
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

/* e converted to type t: constants are spelled in t, others cast. */
static void print_as(emit_fn *E, const ir_expr *e, ir_type t)
{
  if (e->kind == IR_CONST_INT) {
    print_int_const(E->out, e->ival, t);
  } else if (e->kind == IR_CONST_FLOAT) {
    print_float_const(E->out, e->fval, t);
  } else if (e->type == t) {
    print_expr(E, e);
  } else {
    fprintf(E->out, "((%s)", ctype(t));
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
    print_i64(E->out, e->ival);
  } else if (t != IR_I64) {
    fputs("(int64_t)", E->out);
    print_as(E, e, t);
  } else if (at == AT_WHOLE || (at == AT_ADDEND && is_arith_binary(e))) {
    print_top(E, e, t);
  } else {
    print_as(E, e, t);
  }
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
      print_dim(E, t, j);
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
    print_dim(E, e->tensor, j);
  }
}

static bool all_in_bounds(emit_fn *E, const ir_expr *e)
{
  for (int j = 0; j < e->n_args; j++)
    if (!always_in_bounds(E, e, j))
      return false;
  return true;
}

static void print_read(emit_fn *E, const ir_expr *e)
{
  const ir_tensor *T = E->f->tensors[e->tensor];
  if (T->rank == 0 && T->role == IR_INPUT) {
    fputs(E->tensor_c[e->tensor], E->out);
  } else if (e->padded && !all_in_bounds(E, e)) {
    fputs("((", E->out);
    print_in_bounds(E, e);
    fputs(") ? ", E->out);
    print_linear(E, e->tensor, T->rank, print_read_index, e);
    fprintf(E->out, " : (%s)0)", ctype(T->type));
  } else {
    print_linear(E, e->tensor, T->rank, print_read_index, e);
  }
}

static void print_binary(emit_fn *E, const ir_expr *e)
{
  ir_type t;
  if (infix_operand_type(e, &t)) {
    print_infix(E, e, t, true);
  } else if (e->op == IR_MOD && ir_types[e->type].is_float) {
    fputs(e->type == IR_F64 ? "fmod(" : "fmodf(", E->out);
    print_as(E, e->args[0], e->type);
    fputs(", ", E->out);
    print_as(E, e->args[1], e->type);
    fputc(')', E->out);
  } else {
    fprintf(E->out, "((%s)", ctype(e->type));
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
    fputs(t == IR_F64 ? "fabs" : "fabsf", E->out);
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
  const char *f = t == IR_F64 ? "" : "f";
  if (e->fn == IR_FN_MIN || e->fn == IR_FN_MAX || e->fn == IR_FN_ABS) {
    print_typed_call(E, e);
    return;
  }
  if (e->fn == IR_FN_RSQRT)
    fprintf(E->out, "(%s / sqrt%s", t == IR_F64 ? "1.0" : "1.0f", f);
  else if (e->fn == IR_FN_SIGMOID)
    fprintf(E->out, "(%s / (%s + exp%s(-", t == IR_F64 ? "1.0" : "1.0f", t == IR_F64 ? "1.0" : "1.0f", f);
  else
    fputs(t == IR_F64 ? ir_builtins[e->fn].c_f64 : ir_builtins[e->fn].c_f32, E->out);
  print_call_args(E, e, t);
  fputs(e->fn == IR_FN_RSQRT ? ")" : e->fn == IR_FN_SIGMOID ? ")))" : "", E->out);
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
    print_float_const(E->out, e->fval, e->type);
    return;
  case IR_INDEX:
    print_index_var(E, e->index);
    return;
  case IR_SIZE:
    print_size(E, e->size);
    return;
  case IR_ACCESS:
    print_read(E, e);
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

static const char *const int_max_name[IR_TYPE_COUNT] = {
    [IR_BOOL] = "true", [IR_I8] = "INT8_MAX", [IR_U8] = "UINT8_MAX", [IR_I16] = "INT16_MAX",
    [IR_U16] = "UINT16_MAX", [IR_I32] = "INT32_MAX", [IR_U32] = "UINT32_MAX", [IR_I64] = "INT64_MAX",
    [IR_U64] = "UINT64_MAX", [IR_F32] = "INFINITY", [IR_F64] = "(double)INFINITY",
};
static const char *const int_min_name[IR_TYPE_COUNT] = {
    [IR_BOOL] = "false", [IR_I8] = "INT8_MIN", [IR_U8] = "0", [IR_I16] = "INT16_MIN",
    [IR_U16] = "0", [IR_I32] = "INT32_MIN", [IR_U32] = "0", [IR_I64] = "INT64_MIN",
    [IR_U64] = "0", [IR_F32] = "(-INFINITY)", [IR_F64] = "(-(double)INFINITY)",
};

/* The identity of a reduction in type t. */
static void print_identity(emit_fn *E, ir_reduction red, ir_type t)
{
  if (red == IR_RED_MIN)
    fputs(int_max_name[t], E->out);
  else if (red == IR_RED_MAX)
    fputs(int_min_name[t], E->out);
  else
    print_int_const(E->out, red == IR_RED_MUL ? 1 : 0, t);
}

static void print_lhs_index(emit_fn *E, const void *data, int j, index_place at)
{
  (void)at;
  const ir_stmt *s = data;
  print_index_var(E, s->lhs[j]);
}

static void print_lhs(emit_fn *E, const ir_stmt *s)
{
  if (E->acc)
    fputs(E->acc, E->out);
  else
    print_linear(E, s->tensor, s->n_lhs, print_lhs_index, s);
}

/* LHS = aotc_min_T(LHS, rhs) for min= and max=. */
static void print_minmax_update(emit_fn *E, const ir_stmt *s, ir_type t)
{
  bool is_min = s->red == IR_RED_MIN;
  (is_min ? E->em->min_of : E->em->max_of)[t] = true;
  print_lhs(E, s);
  fprintf(E->out, " = aotc_%s_%s(", is_min ? "min" : "max", ir_types[t].name);
  print_lhs(E, s);
  fputs(", ", E->out);
  print_top(E, s->rhs, t);
  fputc(')', E->out);
}

static void print_update(emit_fn *E, const ir_stmt *s)
{
  static const char *const assign[] = {[IR_RED_NONE] = " = ", [IR_RED_ADD] = " += ", [IR_RED_MUL] = " *= "};
  ir_type t = E->f->tensors[s->tensor]->type;
  if (s->red == IR_RED_MIN || s->red == IR_RED_MAX) {
    print_minmax_update(E, s, t);
    return;
  }
  print_lhs(E, s);
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
    for (int j = 0; j < s->n_index; j++)
      E->iter[j] = isl_ast_expr_free(E->iter[j]);
    for (int j = 0; j < n; j++)
      E->iter[ps->init ? s->lhs[j] : j] = isl_ast_expr_op_get_arg(call, j + 1);
  }
  isl_id_free(id);
  isl_ast_expr_free(name);
  isl_ast_expr_free(call);
  return s;
}

static void unbind_call(emit_fn *E, const ir_stmt *s)
{
  for (int j = 0; j < s->n_index; j++)
    E->iter[j] = isl_ast_expr_free(E->iter[j]);
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
  put_indent(E);
  if (ps.init) {
    print_lhs(E, s);
    fputs(" = ", E->out);
    print_identity(E, s->red, E->f->tensors[s->tensor]->type);
  } else {
    print_update(E, s);
  }
  fputs(";\n", E->out);
  unbind_call(E, s);
}

/* Does e mention the identifier named name? */
static bool expr_mentions(__isl_keep isl_ast_expr *e, const char *name)
{
  bool found = false;
  if (isl_ast_expr_get_type(e) == isl_ast_expr_id) {
    isl_id *id = isl_ast_expr_id_get_id(e);
    found = !strcmp(isl_id_get_name(id), name);
    isl_id_free(id);
  } else if (isl_ast_expr_get_type(e) == isl_ast_expr_op) {
    for (int i = 0; !found && i < isl_ast_expr_op_get_n_arg(e); i++) {
      isl_ast_expr *arg = isl_ast_expr_op_get_arg(e, i);
      found = expr_mentions(arg, name);
      isl_ast_expr_free(arg);
    }
  }
  return found;
}

/* The reduction a loop with body `body` and iterator `it` can keep in a
 * local: the body is one reduction statement whose left-hand side does not
 * move with the loop. */
static const ir_stmt *replaceable_reduction(emit_fn *E, __isl_keep isl_ast_node *body, __isl_keep isl_ast_expr *it)
{
  poly_stmt ps;
  if (!E->sched.scalar_replace || E->acc || isl_ast_node_get_type(body) != isl_ast_node_user)
    return NULL;
  const ir_stmt *s = bind_call(E, body, &ps);
  bool ok = s && !ps.init && s->red != IR_RED_NONE;
  isl_id *id = isl_ast_expr_id_get_id(it);
  for (int j = 0; ok && j < s->n_lhs; j++)
    ok = E->iter[s->lhs[j]] && !expr_mentions(E->iter[s->lhs[j]], isl_id_get_name(id));
  isl_id_free(id);
  return ok ? s : NULL;
}

static void print_for(emit_fn *E, __isl_keep isl_ast_node *node);

/* With vectorisation on, the accumulator loop may reassociate (OpenMP's
 * simd reduction, only under -fopenmp or -fopenmp-simd). */
static void print_simd_reduction(emit_fn *E, ir_reduction red)
{
  static const char *const op[] = {[IR_RED_ADD] = "+", [IR_RED_MUL] = "*", [IR_RED_MIN] = "min",
                                   [IR_RED_MAX] = "max"};
  if (E->sched.vectorize && red != IR_RED_NONE)
    fprintf(E->out, "#if defined(_OPENMP) && !defined(__clang__)\n#pragma omp simd reduction(%s:aotc_acc)\n#endif\n",
            op[red]);
}

/* { T aotc_acc = LHS; for (...) aotc_acc op= rhs; LHS = aotc_acc; } */
static void print_replaced_for(emit_fn *E, __isl_keep isl_ast_node *node, const ir_stmt *s)
{
  put_indent(E);
  fprintf(E->out, "{\n");
  E->indent++;
  put_indent(E);
  fprintf(E->out, "%s aotc_acc = ", ctype(E->f->tensors[s->tensor]->type));
  print_lhs(E, s);
  fputs(";\n", E->out);
  unbind_call(E, s);
  print_simd_reduction(E, s->red);
  E->acc = "aotc_acc";
  print_for(E, node);
  E->acc = NULL;
  isl_ast_node *body = isl_ast_node_for_get_body(node);
  poly_stmt ps;
  bind_call(E, body, &ps);
  isl_ast_node_free(body);
  put_indent(E);
  print_lhs(E, s);
  fputs(" = aotc_acc;\n", E->out);
  unbind_call(E, s);
  E->indent--;
  put_indent(E);
  fputs("}\n", E->out);
}

/* ------------------------------------------------------------------------
 * isl AST nodes
 * ------------------------------------------------------------------------ */

static void print_node(emit_fn *E, __isl_keep isl_ast_node *node);
static void print_mark(emit_fn *E, __isl_keep isl_ast_node *node);

static void print_body(emit_fn *E, __isl_take isl_ast_node *body)
{
  E->indent++;
  print_node(E, body);
  E->indent--;
  isl_ast_node_free(body);
}

static void print_for(emit_fn *E, __isl_keep isl_ast_node *node)
{
  isl_ast_expr *it = isl_ast_node_for_get_iterator(node);
  if (!E->acc) {
    isl_ast_node *body = isl_ast_node_for_get_body(node);
    const ir_stmt *s = replaceable_reduction(E, body, it);
    isl_ast_node_free(body);
    if (s) {
      isl_ast_expr_free(it);
      print_replaced_for(E, node, s);
      return;
    }
  }
  isl_ast_expr *init = isl_ast_node_for_get_init(node);
  isl_ast_expr *cond = isl_ast_node_for_get_cond(node);
  isl_ast_expr *inc = isl_ast_node_for_get_inc(node);
  put_indent(E);
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
  print_body(E, isl_ast_node_for_get_body(node));
  put_indent(E);
  fputs("}\n", E->out);
  isl_ast_expr_free(it);
  isl_ast_expr_free(init);
  isl_ast_expr_free(cond);
  isl_ast_expr_free(inc);
}

static void print_if(emit_fn *E, __isl_keep isl_ast_node *node)
{
  isl_ast_expr *cond = isl_ast_node_if_get_cond(node);
  put_indent(E);
  fputs("if (", E->out);
  print_ast_top(E, cond);
  fputs(") {\n", E->out);
  isl_ast_expr_free(cond);
  print_body(E, isl_ast_node_if_get_then_node(node));
  if (isl_ast_node_if_has_else_node(node) == isl_bool_true) {
    put_indent(E);
    fputs("} else {\n", E->out);
    print_body(E, isl_ast_node_if_get_else_node(node));
  }
  put_indent(E);
  fputs("}\n", E->out);
}

static void print_block(emit_fn *E, __isl_keep isl_ast_node *node)
{
  isl_ast_node_list *list = isl_ast_node_block_get_children(node);
  isl_size n = isl_ast_node_list_n_ast_node(list);
  for (int i = 0; i < n; i++) {
    isl_ast_node *child = isl_ast_node_list_get_at(list, i);
    print_node(E, child);
    isl_ast_node_free(child);
  }
  isl_ast_node_list_free(list);
}

/* aotc_parallel: an OpenMP parallel loop; aotc_simd: an OpenMP simd loop;
 * both only where the marked node is a loop, and only under -fopenmp (simd
 * not for clang, which warns about loops it cannot vectorise). */
static void print_mark(emit_fn *E, __isl_keep isl_ast_node *node)
{
  isl_id *id = isl_ast_node_mark_get_id(node);
  isl_ast_node *child = isl_ast_node_mark_get_node(node);
  const char *name = isl_id_get_name(id);
  bool is_for = isl_ast_node_get_type(child) == isl_ast_node_for;
  if (is_for && name && !strcmp(name, "aotc_parallel"))
    fprintf(E->out, "#ifdef _OPENMP\n#pragma omp parallel for schedule(static) num_threads(%d)\n#endif\n",
            E->sched.threads);
  else if (is_for && name && !strcmp(name, "aotc_simd"))
    fputs("#if defined(_OPENMP) && !defined(__clang__)\n#pragma omp simd\n#endif\n", E->out);
  print_node(E, child);
  isl_ast_node_free(child);
  isl_id_free(id);
}

static void print_node(emit_fn *E, __isl_keep isl_ast_node *node)
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
 * Contractions: packed BLIS-like loops around a register-tile micro-kernel
 *
 * C(i, j) (+)= A(.. i .. k ..) * B(.. k .. j ..) is computed block by block:
 * columns of C in blocks of nc, depth in blocks of kc (B's block packed in
 * panels of nr columns), rows in blocks of mc (A's block packed in panels of
 * mr rows), and an mr x nr tile of C accumulated in registers. The packing
 * buffers live in the workspace after the temporaries, one set per thread.
 * ------------------------------------------------------------------------ */

static void line(emit_fn *E, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line of emitted code at the current indentation. */
static void line(emit_fn *E, const char *fmt, ...)
{
  va_list ap;
  put_indent(E);
  va_start(ap, fmt);
  vfprintf(E->out, fmt, ap);
  va_end(ap);
  fputc('\n', E->out);
}

static void open_block(emit_fn *E, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void open_block(emit_fn *E, const char *fmt, ...)
{
  va_list ap;
  put_indent(E);
  va_start(ap, fmt);
  vfprintf(E->out, fmt, ap);
  va_end(ap);
  fputs(" {\n", E->out);
  E->indent++;
}

static void close_block(emit_fn *E)
{
  E->indent--;
  line(E, "}");
}

/* The micro-kernel's name: aotc_ukr_f32_6x64_v16. */
static void print_ukr_name(FILE *out, const sched_blocks *b)
{
  fprintf(out, "aotc_ukr_f32_%dx%d_v%d", b->mr, b->nr, b->vw);
}

static void use_ukr(emitter *em, const sched_blocks *b)
{
  for (int i = 0; i < em->n_ukr; i++)
    if (em->ukr[i].mr == b->mr && em->ukr[i].nr == b->nr && em->ukr[i].vw == b->vw)
      return;
  if (em->n_ukr < (int)(sizeof(em->ukr) / sizeof(em->ukr[0])))
    em->ukr[em->n_ukr++] = *b;
}

static const char *const vec_guard = "#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__))\n";

/* The vector path: mr x nr/vw accumulator vectors, one broadcast of A per
 * row and depth, FMAs (contraction asked for with gcc's optimize). */
static void print_ukr_vector(FILE *out, const sched_blocks *b)
{
  int nv = b->nr / b->vw;
  fprintf(out, "  aotc_vf%d", b->vw);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < nv; v++)
      fprintf(out, "%s c%d_%d = {0.0f}", r || v ? "," : "", r, v);
  fputs(";\n  for (int64_t p = 0; p < kc; p++) {\n", out);
  for (int v = 0; v < nv; v++)
    fprintf(out, "    const aotc_vf%d b%d = *(const aotc_vf%d *)(b + %d * p + %d);\n", b->vw, v, b->vw, b->nr,
            v * b->vw);
  fprintf(out, "    const float *ap = a + %d * p;\n", b->mr);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < nv; v++)
      fprintf(out, "    c%d_%d += b%d * ap[%d];\n", r, v, v, r);
  fprintf(out, "  }\n  if (mr == %d && nr == %d && cs == 1) {\n    if (first) {\n", b->mr, b->nr);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < nv; v++)
      fprintf(out, "      *(aotc_vf%d *)(c + %d * rs + %d) = c%d_%d;\n", b->vw, r, v * b->vw, r, v);
  fputs("    } else {\n", out);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < nv; v++)
      fprintf(out, "      *(aotc_vf%d *)(c + %d * rs + %d) += c%d_%d;\n", b->vw, r, v * b->vw, r, v);
  fputs("    }\n    return;\n  }\n", out);
  for (int r = 0; r < b->mr; r++)
    for (int v = 0; v < nv; v++)
      fprintf(out, "  *(aotc_vf%d *)(t + %d) = c%d_%d;\n", b->vw, r * b->nr + v * b->vw, r, v);
}

/* The portable path: the tile in a local array. */
static void print_ukr_scalar(FILE *out, const sched_blocks *b)
{
  fprintf(out, "  for (int i = 0; i < %d; i++)\n    t[i] = 0.0f;\n", b->mr * b->nr);
  fprintf(out, "  for (int64_t p = 0; p < kc; p++)\n    for (int i = 0; i < %d; i++)\n", b->mr);
  fprintf(out, "      for (int j = 0; j < %d; j++)\n        t[i * %d + j] += a[%d * p + i] * b[%d * p + j];\n",
          b->nr, b->nr, b->mr, b->nr);
}

static void print_ukr(FILE *out, const sched_blocks *b)
{
  char name[64];
  snprintf(name, sizeof(name), "ukr_f32_%dx%d_v%d", b->mr, b->nr, b->vw);
  fprintf(out, "#ifndef AOTC_HAVE_%s\n#define AOTC_HAVE_%s\n", name, name);
  bool vec = b->vw > 1;
  if (vec) {
    fputs(vec_guard, out);
    fprintf(out, "#ifndef AOTC_HAVE_vf%d\n#define AOTC_HAVE_vf%d\n", b->vw, b->vw);
    fprintf(out, "typedef float aotc_vf%d __attribute__((__vector_size__(%d), __may_alias__, __aligned__(4)));\n#endif\n",
            b->vw, b->vw * 4);
    fputs("#if !defined(__clang__)\n__attribute__((optimize(\"fp-contract=fast\")))\n#endif\n#endif\n", out);
  }
  fputs("static void ", out);
  print_ukr_name(out, b);
  fputs("(int64_t kc, const float *a, const float *b, float *c, int64_t rs, int64_t cs,\n"
        "    int64_t mr, int64_t nr, int first)\n{\n", out);
  fprintf(out, "  float t[%d];\n", b->mr * b->nr);
  if (vec) {
    fputs(vec_guard, out);
    print_ukr_vector(out, b);
    fputs("#else\n", out);
  }
  print_ukr_scalar(out, b);
  if (vec)
    fputs("#endif\n", out);
  fputs("  for (int64_t i = 0; i < mr; i++)\n    for (int64_t j = 0; j < nr; j++)\n", out);
  fprintf(out, "      c[i * rs + j * cs] = (first ? 0.0f : c[i * rs + j * cs]) + t[i * %d + j];\n}\n#endif\n\n",
          b->nr);
}

/* ---- sizes of the packing buffers */

/* The product of the ranges of set[0..n-1] without parameters; false if
 * unknown. */
static bool set_extent_value(const ir_func *f, const sched_contraction *c, const int *set, int n, int64_t *out)
{
  int64_t v = 1, d;
  for (int t = 0; t < n; t++)
    if (!ir_size_eval(f->stmts[c->stmt]->index[set[t]].hi, NULL, &d) || d < 0 || __builtin_mul_overflow(v, d, &v))
      return false;
  *out = v;
  return true;
}

/* The product of the ranges of set[0..n-1] as a C expression (malloc'ed). */
static char *set_extent_text(emit_fn *E, const sched_contraction *c, const int *set, int n)
{
  char *buf = NULL;
  size_t len;
  FILE *saved = E->out;
  E->out = open_memstream(&buf, &len);
  if (!E->out) {
    E->out = saved;
    return NULL;
  }
  fputc('(', E->out);
  for (int t = 0; t < n; t++) {
    fputs(t ? " * " : "", E->out);
    print_size(E, E->f->stmts[c->stmt]->index[set[t]].hi);
  }
  fputc(')', E->out);
  fclose(E->out);
  E->out = saved;
  return buf;
}

/* Floats one thread packs into, for extents m, n, k (C expressions). */
static void print_pack_floats(emit_fn *E, const sched_blocks *b, const char *m, const char *n, const char *k)
{
  E->em->helper[H_MIN] = true;
  fprintf(E->out, "((aotc_min(%d, %s) + %d) / %d * %d + (aotc_min(%d, %s) + %d) / %d * %d) * aotc_min(%d, %s) + 32",
          b->mc, m, b->mr - 1, b->mr, b->mr, b->nc, n, b->nr - 1, b->nr, b->nr, b->kc, k);
}

static int64_t min64(int64_t a, int64_t b)
{
  return a < b ? a : b;
}

static int64_t pack_floats_value(const sched_blocks *b, int64_t m, int64_t n, int64_t k)
{
  int64_t rows = (min64(b->mc, m) + b->mr - 1) / b->mr * b->mr;
  int64_t cols = (min64(b->nc, n) + b->nr - 1) / b->nr * b->nr;
  return (rows + cols) * min64(b->kc, k) + 32;
}

/* Workspace bytes of the packing buffers of all contractions (the largest:
 * kernels run one after the other), for a function without parameters. */
static int64_t static_pack_bytes(const emit_fn *E)
{
  int64_t most = 0, m, n, k;
  for (int i = 0; i < E->n_contr; i++) {
    const sched_contraction *c = &E->contr[i];
    if (!set_extent_value(E->f, c, c->rows, c->n_rows, &m) || !set_extent_value(E->f, c, c->cols, c->n_cols, &n) ||
        !set_extent_value(E->f, c, c->depth, c->n_depth, &k))
      return -1;
    int64_t v = pack_floats_value(&E->blocks[i], m, n, k) * E->blocks[i].threads * 4;
    most = v > most ? v : most;
  }
  return most;
}

/* (size_t)(threads * 4) * aotc_max(floats of kernel 1, ...) per thread set. */
static void print_pack_bytes(emit_fn *E)
{
  E->em->helper[H_MAX] = true;
  fputs("(size_t)", E->out);
  for (int i = 0; i < E->n_contr; i++)
    fputs("aotc_max(", E->out);
  fputc('0', E->out);
  for (int i = 0; i < E->n_contr; i++) {
    const sched_contraction *c = &E->contr[i];
    fputs(", ", E->out);
    char *m = set_extent_text(E, c, c->rows, c->n_rows), *n = set_extent_text(E, c, c->cols, c->n_cols);
    char *k = set_extent_text(E, c, c->depth, c->n_depth);
    if (!m || !n || !k) {
      E->failed = true;
    } else {
      fprintf(E->out, "%d * (", E->blocks[i].threads * 4);
      print_pack_floats(E, &E->blocks[i], m, n, k);
      fputc(')', E->out);
    }
    free(m);
    free(n);
    free(k);
    fputc(')', E->out);
  }
}

/* ---- the loops */

/* Binds index x of the statement to the C variable aotc_x<x>. */
static void bind_index(emit_fn *E, int x)
{
  char name[32];
  snprintf(name, sizeof(name), "aotc_x%d", x);
  isl_ast_expr_free(E->iter[x]);
  E->iter[x] = isl_ast_expr_from_id(isl_id_alloc(E->em->isl, name, NULL));
}

/* The product of the dimensions of tensor t after position pos. */
static void print_stride(emit_fn *E, int t, int pos)
{
  fputs("(int64_t)1", E->out);
  for (int j = pos + 1; j < E->f->tensors[t]->rank; j++) {
    fputs(" * ", E->out);
    print_dim(E, t, j);
  }
}

static int lhs_pos(const ir_stmt *s, int x)
{
  for (int j = 0; j < s->n_lhs; j++)
    if (s->lhs[j] == x)
      return j;
  return 0;
}

static void print_extent(emit_fn *E, const char *name, const int *set, int n)
{
  put_indent(E);
  fprintf(E->out, "const int64_t %s = 1", name);
  for (int t = 0; t < n; t++) {
    fputs(" * ", E->out);
    print_size(E, E->stmt->index[set[t]].hi);
  }
  fputs(";\n", E->out);
}

/* The flattened extents: rows, columns, depth, batches. */
static void print_contraction_extents(emit_fn *E, const sched_contraction *c)
{
  print_extent(E, "aotc_m", c->rows, c->n_rows);
  print_extent(E, "aotc_n", c->cols, c->n_cols);
  print_extent(E, "aotc_k", c->depth, c->n_depth);
  print_extent(E, "aotc_nb", c->batch, c->n_batch);
}

static void print_batch_indices(emit_fn *E, const sched_contraction *c, const ir_stmt *s)
{
  if (c->n_batch > 0)
    line(E, "int64_t aotc_b = aotc_q;");
  for (int b = c->n_batch - 1; b >= 0; b--) {
    put_indent(E);
    fprintf(E->out, "const int64_t aotc_x%d = aotc_b %% ", c->batch[b]);
    print_size(E, s->index[c->batch[b]].hi);
    fputs(";\n", E->out);
    if (b > 0) {
      put_indent(E);
      fputs("aotc_b /= ", E->out);
      print_size(E, s->index[c->batch[b]].hi);
      fputs(";\n", E->out);
    }
  }
}

/* With fewer batches than threads, thread t of T takes a slice of the
 * columns (or of the rows when there are more rows), whole register tiles
 * each; otherwise whole batches. */
static void print_thread_slice(emit_fn *E, const sched_blocks *b)
{
  line(E, "int64_t aotc_i0 = 0, aotc_i1 = aotc_m, aotc_j0 = 0, aotc_j1 = aotc_n;");
  if (b->threads <= 1)
    return;
  open_block(E, "if (aotc_nb < %d && aotc_n >= aotc_m)", b->threads);
  line(E, "const int64_t aotc_w = (aotc_n + %d) / %d * %d;", b->threads * b->nr - 1, b->threads * b->nr, b->nr);
  line(E, "aotc_j0 = aotc_min(aotc_n, aotc_t * aotc_w);");
  line(E, "aotc_j1 = aotc_min(aotc_n, aotc_j0 + aotc_w);");
  E->indent--;
  open_block(E, "} else if (aotc_nb < %d)", b->threads);
  line(E, "const int64_t aotc_w = (aotc_m + %d) / %d * %d;", b->threads * b->mr - 1, b->threads * b->mr, b->mr);
  line(E, "aotc_i0 = aotc_min(aotc_m, aotc_t * aotc_w);");
  line(E, "aotc_i1 = aotc_min(aotc_m, aotc_i0 + aotc_w);");
  close_block(E);
}

/* Declares the indices set[0..n-1] from their flattened value `flat`
 * (const unless mutable: an odometer). */
static void print_decompose(emit_fn *E, const int *set, int n, const char *flat, bool is_mutable)
{
  const ir_stmt *s = E->stmt;
  for (int t = 0; t < n; t++) {
    put_indent(E);
    fprintf(E->out, "%sint64_t aotc_x%d = %s%s", is_mutable ? "" : "const ", set[t], n > 1 ? "(" : "", flat);
    if (n > 1)
      fputc(')', E->out);
    for (int u = t + 1; u < n; u++) {
      fputs(" / ", E->out);
      print_size(E, s->index[set[u]].hi);
    }
    if (t > 0) {
      fputs(" % ", E->out);
      print_size(E, s->index[set[t]].hi);
    }
    fputs(";\n", E->out);
  }
}

/* Steps the odometer set[0..n-1] by one. */
static void print_odometer_step(emit_fn *E, const int *set, int n)
{
  const ir_stmt *s = E->stmt;
  for (int t = n - 1; t > 0; t--) {
    put_indent(E);
    fprintf(E->out, "if (++aotc_x%d == ", set[t]);
    print_size(E, s->index[set[t]].hi);
    fprintf(E->out, ") {\n");
    E->indent++;
    line(E, "aotc_x%d = 0;", set[t]);
  }
  line(E, "++aotc_x%d;", set[0]);
  for (int t = n - 1; t > 0; t--)
    close_block(E);
}

/* The lanes of one depth step of a panel: dst[p * width + l] = read. */
static void print_pack_lanes(emit_fn *E, const ir_expr *read, int width, const int *lanes, int n_lanes,
                             const char *lane_end, bool edge)
{
  if (n_lanes > 1)
    print_decompose(E, lanes, n_lanes, "aotc_l0", true);
  open_block(E, "for (int64_t aotc_l = 0; aotc_l < %d; aotc_l++)", width);
  if (n_lanes == 1)
    line(E, "const int64_t aotc_x%d = aotc_l0 + aotc_l;", lanes[0]);
  put_indent(E);
  fprintf(E->out, "aotc_d[aotc_p * %d + aotc_l] = ", width);
  if (edge)
    fprintf(E->out, "aotc_l0 + aotc_l < %s ? ", lane_end);
  print_read(E, read);
  fputs(edge ? " : 0.0f;\n" : ";\n", E->out);
  if (n_lanes > 1)
    print_odometer_step(E, lanes, n_lanes);
  close_block(E);
}

/* dst[p * width + lane] = read, zero beyond the end (a panel of B or A). */
static void print_pack_panel(emit_fn *E, const sched_contraction *c, const ir_expr *read, int width,
                             const int *lanes, int n_lanes, const char *lane_end)
{
  open_block(E, "for (int64_t aotc_p = 0; aotc_p < aotc_kc; aotc_p++)");
  print_decompose(E, c->depth, c->n_depth, "aotc_pc + aotc_p", false);
  open_block(E, "if (aotc_l0 + %d <= %s)", width, lane_end);
  print_pack_lanes(E, read, width, lanes, n_lanes, lane_end, false);
  E->indent--;
  open_block(E, "} else");
  print_pack_lanes(E, read, width, lanes, n_lanes, lane_end, true);
  close_block(E);
  close_block(E);
}

static void print_pack_b(emit_fn *E, const sched_contraction *c, const sched_blocks *b)
{
  open_block(E, "for (int64_t aotc_jr = 0; aotc_jr < aotc_nc; aotc_jr += %d)", b->nr);
  line(E, "float *aotc_d = aotc_bp + aotc_jr * aotc_kc;");
  line(E, "const int64_t aotc_l0 = aotc_jc + aotc_jr;");
  print_pack_panel(E, c, c->b, b->nr, c->cols, c->n_cols, "aotc_j1");
  close_block(E);
}

static void print_pack_a(emit_fn *E, const sched_contraction *c, const sched_blocks *b)
{
  open_block(E, "for (int64_t aotc_ir = 0; aotc_ir < aotc_mc; aotc_ir += %d)", b->mr);
  line(E, "float *aotc_d = aotc_ap + aotc_ir * aotc_kc;");
  line(E, "const int64_t aotc_l0 = aotc_ic + aotc_ir;");
  print_pack_panel(E, c, c->a, b->mr, c->rows, c->n_rows, "aotc_i1");
  close_block(E);
}

/* The register tiles of one block: C tile address, strides, micro-kernel. */
static void print_tiles(emit_fn *E, const sched_contraction *c, const ir_stmt *s, const sched_blocks *b)
{
  open_block(E, "for (int64_t aotc_jr = 0; aotc_jr < aotc_nc; aotc_jr += %d)", b->nr);
  open_block(E, "for (int64_t aotc_ir = 0; aotc_ir < aotc_mc; aotc_ir += %d)", b->mr);
  print_decompose(E, c->rows, c->n_rows, "aotc_ic + aotc_ir", false);
  print_decompose(E, c->cols, c->n_cols, "aotc_jc + aotc_jr", false);
  put_indent(E);
  fputs("float *aotc_c = &", E->out);
  print_lhs(E, s);
  fputs(";\n", E->out);
  put_indent(E);
  print_ukr_name(E->out, b);
  fprintf(E->out, "(aotc_kc, aotc_ap + aotc_ir * aotc_kc, aotc_bp + aotc_jr * aotc_kc, aotc_c, aotc_rs, aotc_cs,\n");
  put_indent(E);
  fprintf(E->out, "    aotc_min(%d, aotc_mc - aotc_ir), aotc_min(%d, aotc_nc - aotc_jr), %s);\n", b->mr, b->nr,
          c->init ? "aotc_pc == 0" : "0");
  close_block(E);
  close_block(E);
}

static void print_omp(emit_fn *E, const char *what)
{
  fprintf(E->out, "#ifdef _OPENMP\n#pragma omp %s\n#endif\n", what);
}

/* C = 0 over the slice when the depth is empty (`+=!` only). */
static void print_empty_depth(emit_fn *E, const sched_contraction *c, const ir_stmt *s, bool cooperative)
{
  if (!c->init)
    return;
  open_block(E, "if (aotc_k == 0)");
  if (cooperative)
    print_omp(E, "for schedule(static)");
  open_block(E, "for (int64_t aotc_fi = aotc_i0; aotc_fi < aotc_i1; aotc_fi++)");
  open_block(E, "for (int64_t aotc_fj = aotc_j0; aotc_fj < aotc_j1; aotc_fj++)");
  print_decompose(E, c->rows, c->n_rows, "aotc_fi", false);
  print_decompose(E, c->cols, c->n_cols, "aotc_fj", false);
  put_indent(E);
  print_lhs(E, s);
  fputs(" = 0.0f;\n", E->out);
  close_block(E);
  close_block(E);
  close_block(E);
}

/* The blocked loops; cooperative: the threads of an enclosing parallel
 * region share the packing of B and take blocks of rows in turn. */
static void print_blis_loops(emit_fn *E, const sched_contraction *c, const ir_stmt *s, const sched_blocks *b,
                             bool cooperative)
{
  open_block(E, "for (int64_t aotc_jc = aotc_j0; aotc_jc < aotc_j1; aotc_jc += %d)", b->nc);
  line(E, "const int64_t aotc_nc = aotc_min(%d, aotc_j1 - aotc_jc);", b->nc);
  open_block(E, "for (int64_t aotc_pc = 0; aotc_pc < aotc_k; aotc_pc += %d)", b->kc);
  line(E, "const int64_t aotc_kc = aotc_min(%d, aotc_k - aotc_pc);", b->kc);
  if (cooperative)
    print_omp(E, "for schedule(static)");
  print_pack_b(E, c, b);
  if (cooperative) {
    print_omp(E, "for schedule(dynamic, 1)");
    open_block(E, "for (int64_t aotc_ic = aotc_i0; aotc_ic < aotc_i1; aotc_ic += aotc_mcb)");
    line(E, "const int64_t aotc_mc = aotc_min(aotc_mcb, aotc_i1 - aotc_ic);");
  } else {
    open_block(E, "for (int64_t aotc_ic = aotc_i0; aotc_ic < aotc_i1; aotc_ic += %d)", b->mc);
    line(E, "const int64_t aotc_mc = aotc_min(%d, aotc_i1 - aotc_ic);", b->mc);
  }
  print_pack_a(E, c, b);
  print_tiles(E, c, s, b);
  close_block(E);
  close_block(E);
  close_block(E);
}

/* With fewer batches than threads: one parallel region whose threads pack
 * the shared panels of B together (at the start of the packing area) and
 * take blocks of rows dynamically, each packing A into its own buffer. The
 * thread-slice form (whole batches per thread) follows in the else branch. */
static void print_cooperative(emit_fn *E, const sched_contraction *c, const ir_stmt *s, const sched_blocks *b)
{
  E->em->helper[H_MAX] = true;
  E->em->need_thread = true;
  open_block(E, "if (aotc_nb < %d)", b->threads);
  line(E, "const int64_t aotc_aps = (aotc_min(%d, aotc_m) + %d) / %d * %d * aotc_min(%d, aotc_k);", b->mc,
       b->mr - 1, b->mr, b->mr, b->kc);
  line(E, "const int64_t aotc_bps = (aotc_min(%d, aotc_n) + %d) / %d * %d * aotc_min(%d, aotc_k);", b->nc,
       b->nr - 1, b->nr, b->nr, b->kc);
  /* Row blocks of at most mc rows, as many as a multiple of the thread
   * count and as even in register tiles as they can be, so that the
   * dynamic schedule leaves no thread a block more than another. */
  int cap = (b->mc / b->mr > 0 ? b->mc / b->mr : 1) * b->threads;
  line(E, "const int64_t aotc_mt = (aotc_m + %d) / %d;", b->mr - 1, b->mr);
  line(E, "const int64_t aotc_nbk = aotc_max(1, (aotc_mt + %d) / %d) * %d;", cap - 1, cap, b->threads);
  line(E, "const int64_t aotc_mcb = aotc_max(1, (aotc_mt + aotc_nbk - 1) / aotc_nbk) * %d;", b->mr);
  line(E, "float *aotc_bp = aotc_pack;");
  fprintf(E->out, "#ifdef _OPENMP\n#pragma omp parallel num_threads(%d)\n#endif\n", b->threads);
  line(E, "{");
  E->indent++;
  line(E, "float *aotc_ap = aotc_pack + aotc_bps + aotc_thread() * aotc_aps;");
  open_block(E, "for (int64_t aotc_q = 0; aotc_q < aotc_nb; aotc_q++)");
  print_batch_indices(E, c, s);
  line(E, "const int64_t aotc_i0 = 0, aotc_i1 = aotc_m, aotc_j0 = 0, aotc_j1 = aotc_n;");
  print_blis_loops(E, c, s, b, true);
  print_empty_depth(E, c, s, true);
  close_block(E);
  close_block(E);
  E->indent--;
  open_block(E, "} else");
}

static void print_contraction(emit_fn *E, const sched_contraction *c, const sched_blocks *b)
{
  const ir_stmt *s = E->f->stmts[c->stmt];
  E->stmt = s;
  E->em->helper[H_MIN] = true;
  use_ukr(E->em, b);
  for (int x = 0; x < s->n_index; x++)
    bind_index(E, x);
  line(E, "/* %s: packed %dx%d register tiles, blocks %d x %d x %d, %d thread(s) */", E->f->name, b->mr, b->nr,
       b->mc, b->nc, b->kc, b->threads);
  line(E, "{");
  E->indent++;
  print_contraction_extents(E, c);
  put_indent(E);
  fputs("const int64_t aotc_rs = ", E->out);
  print_stride(E, s->tensor, lhs_pos(s, c->i));
  fputs(", aotc_cs = ", E->out);
  print_stride(E, s->tensor, lhs_pos(s, c->j));
  fputs(";\n", E->out);
  put_indent(E);
  fputs("const int64_t aotc_per = ", E->out);
  print_pack_floats(E, b, "aotc_m", "aotc_n", "aotc_k");
  fputs(";\n", E->out);
  if (b->threads > 1) {
    print_cooperative(E, c, s, b);
    fputs("#ifdef _OPENMP\n", E->out);
    fprintf(E->out, "#pragma omp parallel for schedule(static) num_threads(%d)\n#endif\n", b->threads);
  }
  open_block(E, "for (int64_t aotc_t = 0; aotc_t < %d; aotc_t++)", b->threads);
  line(E, "float *aotc_ap = aotc_pack + aotc_t * aotc_per;");
  line(E, "float *aotc_bp = aotc_ap + (aotc_min(%d, aotc_m) + %d) / %d * %d * aotc_min(%d, aotc_k);", b->mc,
       b->mr - 1, b->mr, b->mr, b->kc);
  if (b->threads > 1)
    open_block(E, "for (int64_t aotc_q = aotc_nb < %d ? 0 : aotc_t; aotc_q < aotc_nb; aotc_q += aotc_nb < %d ? 1 : %d)",
               b->threads, b->threads, b->threads);
  else
    open_block(E, "for (int64_t aotc_q = 0; aotc_q < aotc_nb; aotc_q++)");
  print_batch_indices(E, c, s);
  print_thread_slice(E, b);
  print_blis_loops(E, c, s, b, false);
  print_empty_depth(E, c, s, false);
  close_block(E);
  close_block(E);
  if (b->threads > 1)
    close_block(E);
  close_block(E);
  for (int x = 0; x < s->n_index; x++)
    E->iter[x] = isl_ast_expr_free(E->iter[x]);
  E->stmt = NULL;
}

/* Finds the contractions the options send to the micro-kernel path. */
static void find_contractions(emit_fn *E)
{
  E->n_contr = 0;
  if (!E->sched.microkernel)
    return;
  for (int i = 0; i < E->f->n_stmts && E->n_contr < MAX_CONTRACTIONS; i++)
    if (sched_find_contraction(E->f, i, &E->contr[E->n_contr])) {
      sched_contraction_blocks(&E->contr[E->n_contr], &E->sched, &E->blocks[E->n_contr]);
      E->n_contr++;
    }
}

static int contraction_of(const emit_fn *E, int stmt)
{
  for (int i = 0; i < E->n_contr; i++)
    if (E->contr[i].stmt == stmt)
      return i;
  return -1;
}

/* ------------------------------------------------------------------------
 * Constant tensors: static const arrays in the C file
 * ------------------------------------------------------------------------ */

/* Element i of a dense array of type t. */
static void print_element(FILE *out, const void *data, ir_type t, int64_t i)
{
  switch (t) {
  case IR_F32:
    print_float_literal(out, ((const float *)data)[i], IR_F32);
    return;
  case IR_F64:
    print_float_literal(out, ((const double *)data)[i], IR_F64);
    return;
  case IR_BOOL:
    fputs(((const bool *)data)[i] ? "1" : "0", out);
    return;
  case IR_I8:
    print_i64(out, ((const int8_t *)data)[i]);
    return;
  case IR_U8:
    print_i64(out, ((const uint8_t *)data)[i]);
    return;
  case IR_I16:
    print_i64(out, ((const int16_t *)data)[i]);
    return;
  case IR_U16:
    print_i64(out, ((const uint16_t *)data)[i]);
    return;
  case IR_I32:
    print_i64(out, ((const int32_t *)data)[i]);
    return;
  case IR_U32:
    print_i64(out, ((const uint32_t *)data)[i]);
    return;
  case IR_I64:
    print_i64(out, ((const int64_t *)data)[i]);
    return;
  default:
    fprintf(out, "UINT64_C(%llu)", (unsigned long long)((const uint64_t *)data)[i]);
    return;
  }
}

/* Number of elements of a tensor whose shape holds no parameter; -1 if not. */
static int64_t const_numel(const ir_tensor *T)
{
  int64_t n = 1, d;
  for (int j = 0; j < T->rank; j++) {
    const ir_size *s = T->shape[j];
    if (!s || !ir_size_is_const(s, &d) || d < 0 || __builtin_mul_overflow(n, d, &n))
      return -1;
  }
  return n;
}

static bool print_constant(emit_fn *E, int t)
{
  const ir_tensor *T = E->f->tensors[t];
  int64_t n = const_numel(T);
  if (n < 0 || (!T->data && n > 0)) {
    aotc_error(E->em->ctx, T->loc, "%s: constant '%s' has no data of a constant shape", E->f->name, T->name);
    return false;
  }
  if (emit_model_constant(E->out, E->f, t, E->tensor_c[t], E->name, n, E->em->opt->weights != NULL))
    return true;
  fprintf(E->out, "static const %s %s[%lld] = {", ctype(T->type), E->tensor_c[t], (long long)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) {
    fputs(i % 8 ? " " : "\n  ", E->out);
    print_element(E->out, T->data, T->type, i);
    fputc(',', E->out);
  }
  fputs(n > 0 ? "\n};\n\n" : "0};\n\n", E->out);
  return true;
}

static bool print_constants(emit_fn *E)
{
  for (int t = 0; t < E->f->n_tensors; t++)
    if (E->f->tensors[t]->role == IR_CONSTANT && !print_constant(E, t))
      return false;
  return true;
}

/* ------------------------------------------------------------------------
 * Entry points: signatures, checks, workspace, packed form
 * ------------------------------------------------------------------------ */

static bool is_scalar_input(const ir_func *f, int t)
{
  return f->tensors[t]->rank == 0 && f->tensors[t]->role == IR_INPUT;
}

static void print_size_params(emit_fn *E)
{
  for (int p = 0; p < E->f->n_params; p++)
    fprintf(E->out, "%sint64_t %s", p ? ", " : "", E->param_c[p]);
  if (E->f->n_params == 0)
    fputs("void", E->out);
}

static void print_signature(emit_fn *E)
{
  const ir_func *f = E->f;
  fprintf(E->out, "int %s(", E->name);
  for (int p = 0; p < f->n_params; p++)
    fprintf(E->out, "int64_t %s, ", E->param_c[p]);
  for (int i = 0; i < f->n_inputs; i++) {
    int t = f->inputs[i];
    fprintf(E->out, is_scalar_input(f, t) ? "%s %s, " : "const %s *%s, ", ctype(f->tensors[t]->type), E->tensor_c[t]);
  }
  for (int i = 0; i < f->n_outputs; i++)
    fprintf(E->out, "%s *%s, ", ctype(f->tensors[f->outputs[i]]->type), E->tensor_c[f->outputs[i]]);
  fputs("void *workspace)", E->out);
}

static int64_t ws_size(int64_t bytes)
{
  return bytes == 0 ? 64 : (bytes + 63) / 64 * 64;
}

/* The workspace size of an entry without size parameters; -1 if unknown. */
static int64_t static_temp_bytes(const ir_func *f)
{
  int64_t total = 0;
  if (f->n_params > 0)
    return -1;
  if (f->memory_planned)
    return f->workspace_bytes;
  for (int t = 0; t < f->n_tensors; t++) {
    int64_t n = const_numel(f->tensors[t]);
    if (f->tensors[t]->role != IR_TEMP)
      continue;
    if (n < 0 || n > INT64_MAX / 16)
      return -1;
    total += ws_size(n * ir_types[f->tensors[t]->type].bytes);
  }
  return total;
}

static bool has_temps(const ir_func *f);

/* The workspace of an entry without size parameters; -1 if unknown. */
static int64_t static_workspace_bytes(const emit_fn *E)
{
  if (E->f->n_params > 0)
    return -1;
  int64_t temps = static_temp_bytes(E->f), pack = static_pack_bytes(E);
  if (temps < 0 || pack < 0)
    return -1;
  if (E->n_contr == 0)
    return temps;
  return (has_temps(E->f) ? ws_size(temps) : 0) + pack;
}

/* #define NAME_WORKSPACE_BYTES for static allocation. */
static void print_workspace_constant(emit_fn *E)
{
  int64_t n = static_workspace_bytes(E);
  if (n >= 0)
    fprintf(E->out, "#define %s_WORKSPACE_BYTES ((size_t)%lld)\n", E->name, (long long)n);
}

static void print_prototypes(emit_fn *E)
{
  print_signature(E);
  fprintf(E->out, ";\nsize_t %s_workspace_bytes(", E->name);
  print_size_params(E);
  fprintf(E->out, ");\nint %s_call(const int64_t *sizes, void *const *args, void *workspace);\n", E->name);
  fprintf(E->out, "size_t %s_call_workspace_bytes(const int64_t *sizes);\n", E->name);
  print_workspace_constant(E);
}

static int first_temp(const ir_func *f)
{
  for (int t = 0; t < f->n_tensors; t++)
    if (f->tensors[t]->role == IR_TEMP)
      return t;
  return -1;
}

static bool has_temps(const ir_func *f)
{
  return first_temp(f) >= 0;
}

/* if (M < 0 || N != 64) return FAIL; */
static void print_param_check(emit_fn *E, const char *fail)
{
  const int64_t *fixed = E->em->opt->fixed_sizes;
  if (E->f->n_params == 0)
    return;
  fputs("  if (", E->out);
  for (int p = 0; p < E->f->n_params; p++) {
    fputs(p ? " || " : "", E->out);
    if (fixed && fixed[p] >= 0)
      fprintf(E->out, "%s != %lld", E->param_c[p], (long long)fixed[p]);
    else
      fprintf(E->out, "%s < 0", E->param_c[p]);
  }
  for (int c = 0; c < E->f->n_checks; c++) {
    fputs(" || ", E->out);
    print_size(E, E->f->checks[c]);
    fputs(" < 0", E->out);
  }
  fprintf(E->out, ")\n    return %s;\n", fail);
}

/* Computed dimensions (untyped outputs, temporaries) as checked locals. */
static void print_dim_locals(emit_fn *E, const char *fail)
{
  bool any = false;
  for (int t = 0; t < E->f->n_tensors; t++)
    for (int j = 0; j < E->f->tensors[t]->rank; j++)
      if (E->dim[t][j]) {
        fprintf(E->out, "  const int64_t %s = ", E->dim[t][j]);
        print_size(E, E->f->tensors[t]->shape[j]);
        fputs(";\n", E->out);
        any = true;
      }
  if (!any)
    return;
  fputs("  if (", E->out);
  const char *sep = "";
  for (int t = 0; t < E->f->n_tensors; t++)
    for (int j = 0; j < E->f->tensors[t]->rank; j++)
      if (E->dim[t][j]) {
        fprintf(E->out, "%s%s < 0", sep, E->dim[t][j]);
        sep = " || ";
      }
  fprintf(E->out, ")\n    return %s;\n", fail);
}

/* aotc_ws_size(bytes of temporary t) */
static void print_temp_bytes(emit_fn *E, int t)
{
  const ir_tensor *T = E->f->tensors[t];
  E->em->helper[H_WS_SIZE] = true;
  fputs("aotc_ws_size(", E->out);
  for (int j = 0; j < T->rank; j++) {
    fputs("(size_t)", E->out);
    print_dim(E, t, j);
    fputs(" * ", E->out);
  }
  fprintf(E->out, "sizeof(%s))", ctype(T->type));
}

/* Sum of the workspace sizes of the temporaries before temporary `before`. */
static void print_temp_offset(emit_fn *E, int before)
{
  bool any = false;
  for (int t = 0; t < before; t++)
    if (E->f->tensors[t]->role == IR_TEMP) {
      fputs(any ? " + " : "", E->out);
      print_temp_bytes(E, t);
      any = true;
    }
  if (!any)
    fputc('0', E->out);
}

/* Bytes of the temporaries: where the packing buffers start. */
static void print_temps_total(emit_fn *E)
{
  if (!has_temps(E->f))
    fputc('0', E->out);
  else if (E->f->memory_planned)
    fprintf(E->out, "%lld", (long long)ws_size(E->f->workspace_bytes));
  else
    print_temp_offset(E, E->f->n_tensors);
}

static void print_workspace_bytes(emit_fn *E)
{
  fprintf(E->out, "size_t %s_workspace_bytes(", E->name);
  print_size_params(E);
  fputs(")\n{\n", E->out);
  if (!has_temps(E->f) && E->n_contr == 0) {
    for (int p = 0; p < E->f->n_params; p++)
      fprintf(E->out, "  (void)%s;\n", E->param_c[p]);
    fputs("  return 0;\n}\n\n", E->out);
    return;
  }
  print_param_check(E, "0");
  if (E->f->memory_planned && E->n_contr == 0) {
    fprintf(E->out, "  return %lld;\n}\n\n", (long long)E->f->workspace_bytes);
    return;
  }
  if (!E->f->memory_planned)
    print_dim_locals(E, "0");
  fputs("  return ", E->out);
  print_temps_total(E);
  if (E->n_contr > 0) {
    fputs(" + ", E->out);
    print_pack_bytes(E);
  }
  fputs(";\n}\n\n", E->out);
}

/* T *X = (T *)(void *)((unsigned char *)workspace + offset); per temporary. */
static void print_temp_pointers(emit_fn *E)
{
  if (!has_temps(E->f) && E->n_contr == 0) {
    fputs("  (void)workspace;\n", E->out);
    return;
  }
  fputs("  if (workspace == NULL)\n    return 2;\n", E->out);
  if (E->n_contr > 0) {
    fputs("  float *aotc_pack = (float *)(void *)((unsigned char *)workspace + ", E->out);
    print_temps_total(E);
    fputs(");\n", E->out);
  }
  for (int t = 0; t < E->f->n_tensors; t++) {
    if (E->f->tensors[t]->role != IR_TEMP)
      continue;
    const char *ty = ctype(E->f->tensors[t]->type);
    if (E->f->memory_planned) {
      fprintf(E->out, "  %s *%s = (%s *)(void *)((unsigned char *)workspace + %lld);\n", ty, E->tensor_c[t], ty,
              (long long)E->f->tensors[t]->ws_offset);
      continue;
    }
    if (first_temp(E->f) == t) {
      fprintf(E->out, "  %s *%s = (%s *)workspace;\n", ty, E->tensor_c[t], ty);
      continue;
    }
    fprintf(E->out, "  %s *%s = (%s *)(void *)((unsigned char *)workspace + ", ty, E->tensor_c[t], ty);
    print_temp_offset(E, t);
    fputs(");\n", E->out);
  }
}

static void print_unused_inputs(emit_fn *E)
{
  for (int i = 0; i < E->f->n_inputs; i++)
    if (!E->is_read[E->f->inputs[i]])
      fprintf(E->out, "  (void)%s;\n", E->tensor_c[E->f->inputs[i]]);
}

static bool print_kernel(emit_fn *E, int first, int end);

static bool print_entry(emit_fn *E)
{
  bool ok = true;
  print_signature(E);
  fputs("\n{\n", E->out);
  print_unused_inputs(E);
  emit_model_entry_check(E->out, E->f, E->name, E->em->opt->weights != NULL);
  print_param_check(E, "1");
  print_dim_locals(E, "1");
  print_temp_pointers(E);
  E->indent = 1;
  E->cache = poly_cache_new();
  for (int first = 0, end; ok && first < E->f->n_stmts; first = end) {
    end = poly_kernel_end(E->f, first);
    ok = print_kernel(E, first, end);
  }
  poly_cache_free(E->cache);
  fputs("  return 0;\n}\n\n", E->out);
  return ok;
}

/* (const float *)args[i], or *(const float *)args[i] for a scalar. */
static void print_packed_arg(emit_fn *E, int t, int i, bool is_input)
{
  const char *ty = ctype(E->f->tensors[t]->type);
  if (is_input && is_scalar_input(E->f, t))
    fprintf(E->out, "*(const %s *)args[%d]", ty, i);
  else
    fprintf(E->out, is_input ? "(const %s *)args[%d]" : "(%s *)args[%d]", ty, i);
}

static void print_packed_sizes(emit_fn *E)
{
  for (int p = 0; p < E->f->n_params; p++)
    fprintf(E->out, "%ssizes[%d]", p ? ", " : "", p);
}

static void print_packed(emit_fn *E)
{
  const ir_func *f = E->f;
  fprintf(E->out, "int %s_call(const int64_t *sizes, void *const *args, void *workspace)\n{\n", E->name);
  if (f->n_params == 0)
    fputs("  (void)sizes;\n", E->out);
  fprintf(E->out, "  return %s(", E->name);
  print_packed_sizes(E);
  for (int i = 0; i < f->n_inputs; i++) {
    fputs(f->n_params || i ? ", " : "", E->out);
    print_packed_arg(E, f->inputs[i], i, true);
  }
  for (int i = 0; i < f->n_outputs; i++) {
    fputs(f->n_params || f->n_inputs || i ? ", " : "", E->out);
    print_packed_arg(E, f->outputs[i], f->n_inputs + i, false);
  }
  fputs(f->n_params || f->n_inputs || f->n_outputs ? ", workspace);\n}\n\n" : "workspace);\n}\n\n", E->out);
  fprintf(E->out, "size_t %s_call_workspace_bytes(const int64_t *sizes)\n{\n", E->name);
  if (f->n_params == 0)
    fputs("  (void)sizes;\n", E->out);
  fprintf(E->out, "  return %s_workspace_bytes(", E->name);
  print_packed_sizes(E);
  fputs(");\n}\n\n", E->out);
}

/* ------------------------------------------------------------------------
 * Per-function setup: names, computed dimensions, reads
 * ------------------------------------------------------------------------ */

static void mark_reads(bool *is_read, const ir_expr *e)
{
  if (!e)
    return;
  if (e->kind == IR_ACCESS)
    is_read[e->tensor] = true;
  for (int i = 0; i < e->n_args; i++)
    mark_reads(is_read, e->args[i]);
}

static bool is_simple_size(const ir_size *s)
{
  return s && (s->kind == IR_SZ_CONST || s->kind == IR_SZ_PARAM);
}

/* Names of parameters and tensors, distinct and clear of C's words. */
static bool setup_names(emit_fn *E)
{
  aotc_ctx *ctx = E->em->ctx;
  const ir_func *f = E->f;
  ir_name_set taken = {0};
  E->param_c = IR_NEW_ARRAY(ctx, const char *, f->n_params);
  E->param_use = IR_NEW_ARRAY(ctx, const char *, f->n_params);
  E->tensor_c = IR_NEW_ARRAY(ctx, const char *, f->n_tensors);
  if (!E->param_c || !E->param_use || !E->tensor_c)
    return false;
  const int64_t *fixed = E->em->opt->fixed_sizes;
  for (int p = 0; p < f->n_params; p++) {
    E->param_c[p] = ir_c_name_unique(ctx, &taken, f->param_names[p]);
    E->param_use[p] = fixed && fixed[p] >= 0 ? ir_sprintf(ctx, "%lld", (long long)fixed[p]) : E->param_c[p];
  }
  for (int t = 0; t < f->n_tensors; t++)
    E->tensor_c[t] = f->tensors[t]->role == IR_CONSTANT
                         ? ir_sprintf(ctx, "aotc_k_%s_%s", E->name, f->tensors[t]->name)
                         : ir_c_name_unique(ctx, &taken, f->tensors[t]->name);
  return !ctx->oom;
}

static bool setup_dims(emit_fn *E)
{
  aotc_ctx *ctx = E->em->ctx;
  const ir_func *f = E->f;
  E->dim = IR_NEW_ARRAY(ctx, const char **, f->n_tensors);
  E->is_read = IR_NEW_ARRAY(ctx, bool, f->n_tensors);
  if (!E->dim || !E->is_read)
    return false;
  for (int t = 0; t < f->n_tensors; t++) {
    const ir_tensor *T = f->tensors[t];
    E->dim[t] = IR_NEW_ARRAY(ctx, const char *, T->rank);
    for (int j = 0; E->dim[t] && j < T->rank; j++) {
      if (!T->shape[j]) {
        aotc_error(ctx, T->loc, "%s: the shape of '%s' is unknown", f->name, T->name);
        return false;
      }
      if (!is_simple_size(T->shape[j]))
        E->dim[t][j] = ir_sprintf(ctx, "aotc_%s_d%d", E->tensor_c[t], j);
    }
  }
  for (int i = 0; i < f->n_stmts; i++)
    mark_reads(E->is_read, f->stmts[i]->rhs);
  return !ctx->oom;
}

static int max_indices(const ir_func *f)
{
  int n = 1;
  for (int i = 0; i < f->n_stmts; i++)
    n = f->stmts[i]->n_index > n ? f->stmts[i]->n_index : n;
  return n;
}

/* ------------------------------------------------------------------------
 * One function: model, schedule, AST, C
 * ------------------------------------------------------------------------ */

static void dump_options(emit_fn *E)
{
  char buf[512];
  sched_options_print(buf, sizeof(buf), &E->sched);
  fprintf(stderr, "# %s: options %s%s\n", E->f->name, buf, E->em->opt->sched ? "" : " (heuristic)");
}

static void dump_contraction(emit_fn *E, int ci)
{
  const sched_contraction *c = &E->contr[ci];
  const sched_blocks *b = &E->blocks[ci];
  const ir_stmt *s = E->f->stmts[c->stmt];
  fprintf(stderr, "# %s: statement %d is a contraction: rows %s, columns %s, depth %s; packed micro-kernel "
          "%dx%d (vector %d), blocks mc=%d nc=%d kc=%d, threads %d\n", E->f->name, c->stmt, s->index[c->i].name,
          s->index[c->j].name, s->index[c->k].name, b->mr, b->nr, b->vw, b->mc, b->nc, b->kc, b->threads);
}

static void dump_schedule(emit_fn *E, __isl_keep isl_ast_node *ast)
{
  char *s = isl_schedule_to_str(E->k->schedule);
  char *c = ast ? isl_ast_node_to_C_str(ast) : NULL;
  fprintf(stderr, "# %s: %s schedule\n%s\n# %s: AST\n%s\n", E->f->name,
          E->k->scheduled ? "isl" : "program-order", s ? s : "(none)", E->f->name, c ? c : "(none)");
  free(s);
  free(c);
}

/* Model, schedule and loops of the statements first..end-1. */
static bool print_kernel(emit_fn *E, int first, int end)
{
  emitter *em = E->em;
  int ci = end == first + 1 ? contraction_of(E, first) : -1;
  if (ci >= 0) {
    if (em->opt->dump_schedule)
      dump_contraction(E, ci);
    print_contraction(E, &E->contr[ci], &E->blocks[ci]);
    return true;
  }
  unsigned long max_ops = em->ctx->isl_max_ops > 0 ? (unsigned long)em->ctx->isl_max_ops : POLY_DEFAULT_MAX_OPS;
  E->k = poly_kernel_build(em->ctx, em->isl, E->f, first, end, max_ops, E->param_c, E->tensor_c,
                           em->opt->fixed_sizes);
  if (!E->k)
    return false;
  E->k->cache = E->cache;
  sched_set_isl_options(em->isl, &E->sched);
  poly_kernel_schedule(E->k, em->opt->fuse);
  if (E->k->scheduled)
    E->k->schedule = sched_apply(E->k->schedule, &E->sched);
  isl_ast_node *ast = poly_kernel_ast(E->k);
  if (!ast)
    aotc_error(em->ctx, E->f->stmts[first]->loc, "%s: isl could not generate the loops", E->f->name);
  if (em->opt->dump_schedule)
    dump_schedule(E, ast);
  if (ast)
    print_node(E, ast);
  isl_ast_node_free(ast);
  poly_kernel_free(E->k);
  E->k = NULL;
  return ast != NULL;
}

static bool setup_func(emit_fn *E)
{
  aotc_ctx *ctx = E->em->ctx;
  if (!setup_names(E) || !setup_dims(E))
    return false;
  E->iter = IR_NEW_ARRAY(ctx, isl_ast_expr *, max_indices(E->f));
  return E->iter != NULL;
}

/* Emits the definitions of f into out and its prototypes into h. */
static bool emit_func(emitter *em, const ir_func *f, const char *name, FILE *out, FILE *h)
{
  emit_fn E = {.em = em, .out = out, .f = f, .name = name};
  if (em->opt->sched)
    E.sched = *em->opt->sched;
  else
    sched_options_heuristic(f, em->opt->threads, sched_host_vector_bytes(), &E.sched);
  find_contractions(&E);
  if (em->opt->dump_schedule)
    dump_options(&E);
  if (!setup_func(&E) || !print_constants(&E))
    return false;
  print_workspace_bytes(&E);
  bool ok = print_entry(&E);
  print_packed(&E);
  E.out = h;
  print_prototypes(&E);
  emit_model_io_table(out, h, f, name, em->opt->weights != NULL);
  if (E.failed)
    aotc_error(em->ctx, f->loc, "%s: cannot print the generated loops as C", f->name);
  return ok && !E.failed;
}

/* ------------------------------------------------------------------------
 * Module: helpers, header, C file
 * ------------------------------------------------------------------------ */

static const char *const int_helper_text[H_COUNT] = {
    [H_FLOORDIV] = "static inline int64_t aotc_floordiv(int64_t a, int64_t b)\n"
                   "{\n  return (a % b != 0 && ((a < 0) != (b < 0))) ? a / b - 1 : a / b;\n}\n",
    [H_CEILDIV] = "static inline int64_t aotc_ceildiv(int64_t a, int64_t b)\n"
                  "{\n  return (a % b != 0 && ((a < 0) == (b < 0))) ? a / b + 1 : a / b;\n}\n",
    [H_MIN] = "static inline int64_t aotc_min(int64_t a, int64_t b)\n{\n  return a < b ? a : b;\n}\n",
    [H_MAX] = "static inline int64_t aotc_max(int64_t a, int64_t b)\n{\n  return a > b ? a : b;\n}\n",
    [H_WS_SIZE] = "static inline size_t aotc_ws_size(size_t bytes)\n"
                  "{\n  return bytes == 0 ? 64 : (bytes + 63) / 64 * 64;\n}\n",
};

static const char *const int_helper_name[H_COUNT] = {
    [H_FLOORDIV] = "floordiv", [H_CEILDIV] = "ceildiv", [H_MIN] = "min", [H_MAX] = "max", [H_WS_SIZE] = "ws_size",
};

/* Helpers are guarded so that a file emitted in several calls (one per
 * entry) defines each once. */
static void print_guarded(FILE *out, const char *name, const char *text)
{
  fprintf(out, "#ifndef AOTC_HAVE_%s\n#define AOTC_HAVE_%s\n%s#endif\n\n", name, name, text);
}

static void print_typed_helper(FILE *out, const char *fn, ir_type t, const char *body)
{
  char text[512], name[64];
  const char *ty = ctype(t), *tn = ir_types[t].name;
  if (!strcmp(fn, "abs"))
    snprintf(text, sizeof(text), "static inline %s aotc_abs_%s(%s a)\n{\n  return %s;\n}\n", ty, tn, ty, body);
  else
    snprintf(text, sizeof(text), "static inline %s aotc_%s_%s(%s a, %s b)\n{\n  return %s;\n}\n", ty, fn, tn, ty,
             ty, body);
  snprintf(name, sizeof(name), "%s_%s", fn, tn);
  print_guarded(out, name, text);
}

static void print_helpers(FILE *out, const emitter *em)
{
  if (em->need_thread)
    print_guarded(out, "thread", "#ifdef _OPENMP\n#include <omp.h>\n#define aotc_thread() omp_get_thread_num()\n"
                                 "#else\n#define aotc_thread() 0\n#endif\n");
  for (int i = 0; i < em->n_ukr; i++)
    print_ukr(out, &em->ukr[i]);
  for (int h = 0; h < H_COUNT; h++)
    if (em->helper[h])
      print_guarded(out, int_helper_name[h], int_helper_text[h]);
  for (int t = 0; t < IR_TYPE_COUNT; t++) {
    if (em->min_of[t])
      print_typed_helper(out, "min", (ir_type)t, "(b < a) ? b : a");
    if (em->max_of[t])
      print_typed_helper(out, "max", (ir_type)t, "(b > a) ? b : a");
    if (em->abs_of[t])
      print_typed_helper(out, "abs", (ir_type)t, "a < 0 ? -a : a");
  }
}

static const char *const std_includes =
    "#include <math.h>\n#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n";

/* At the start of a file (or where that cannot be told)? */
static bool at_start(FILE *out)
{
  return ftell(out) <= 0;
}

static void print_c_file(FILE *c_out, const emitter *em, const char *protos, const char *defs)
{
  if (at_start(c_out)) {
    fputs("/* Generated by aotc " AOTC_VERSION ". */\n", c_out);
    if (em->opt->header_name)
      fprintf(c_out, "#include \"%s\"\n\n", em->opt->header_name);
    fputs(std_includes, c_out);
    fputc('\n', c_out);
  }
  if (!em->opt->header_name)
    fprintf(c_out, "%s\n", protos);
  print_helpers(c_out, em);
  fputs(defs, c_out);
}

/* AOTC_<HEADER>_H_<entry>: the header's file name and the first entry,
 * so that a header written in several calls guards each part. */
static void print_guard(FILE *out, const emitter *em)
{
  const char *header = em->opt->header_name;
  const char *base = header ? strrchr(header, '/') : NULL;
  base = base ? base + 1 : header ? header : "kernels.h";
  fputs("AOTC_", out);
  for (const char *p = base; *p; p++)
    fputc(isalnum((unsigned char)*p) ? toupper((unsigned char)*p) : '_', out);
  fprintf(out, "_%s", em->first_name ? em->first_name : "");
}

static void print_header(FILE *h_out, const emitter *em, const char *protos)
{
  if (at_start(h_out))
    fputs("/* Generated by aotc " AOTC_VERSION ". */\n", h_out);
  fputs("#ifndef ", h_out);
  print_guard(h_out, em);
  fputs("\n#define ", h_out);
  print_guard(h_out, em);
  fputs("\n\n#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n", h_out);
  fputs("#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", h_out);
  fputs(protos, h_out);
  fputs("\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n", h_out);
}

/* The C name of every entry: the def's name unless it clashes with C. */
static const char *entry_name(emitter *em, const ir_func *f)
{
  const char *name = c_ident(em->ctx, f->name, NULL, 0);
  if (name && strcmp(name, f->name))
    aotc_warning(em->ctx, f->loc, "'%s' is a reserved name in C; the entry is emitted as '%s'", f->name, name);
  return name;
}

static bool emit_funcs(emitter *em, ir_func *const *funcs, int n_funcs, FILE *defs, FILE *protos)
{
  for (int i = 0; i < n_funcs; i++) {
    const char *name = entry_name(em, funcs[i]);
    if (i == 0)
      em->first_name = name;
    if (!name || !emit_func(em, funcs[i], name, defs, protos))
      return false;
    if (i + 1 < n_funcs)
      fputc('\n', protos);
  }
  return true;
}

static isl_ctx *new_isl_ctx(void)
{
  isl_ctx *isl = isl_ctx_alloc();
  if (!isl)
    return NULL;
  isl_options_set_on_error(isl, ISL_ON_ERROR_CONTINUE);
  return isl;
}

bool emit_c_module(aotc_ctx *ctx, const ir_module *m, ir_func *const *funcs, int n_funcs,
                   const emit_options *opt, FILE *c_out, FILE *h_out)
{
  static const emit_options defaults = {.fuse = true};
  emitter em = {.ctx = ctx, .opt = opt ? opt : &defaults, .isl = new_isl_ctx()};
  char *defs = NULL, *protos = NULL;
  size_t defs_len = 0, protos_len = 0;
  FILE *defs_f = open_memstream(&defs, &defs_len), *protos_f = open_memstream(&protos, &protos_len);
  (void)m;
  bool ok = em.isl && defs_f && protos_f && emit_funcs(&em, funcs, n_funcs, defs_f, protos_f);
  if (defs_f)
    fclose(defs_f);
  if (protos_f)
    fclose(protos_f);
  if (ok && c_out)
    print_c_file(c_out, &em, protos, defs);
  if (ok && h_out)
    print_header(h_out, &em, protos);
  if (!em.isl || !defs_f || !protos_f)
    aotc_error(ctx, (ir_loc){0}, "out of memory in the C backend");
  free(defs);
  free(protos);
  if (em.isl)
    isl_ctx_free(em.isl);
  return ok;
}
