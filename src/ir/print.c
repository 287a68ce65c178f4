/* print.c: text forms of the IR. ir_print_func writes TC-like source of a
 * function (debugging, `--dump=ir`); ir_print_ranges writes the listing of
 * `aotc check`, a stable format documented in docs/check-format.md. */
#include "ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[] = {
    [IR_INPUT] = "input", [IR_OUTPUT] = "output", [IR_TEMP] = "temp",
    [IR_PARAMETER] = "parameter", [IR_CONSTANT] = "constant",
};

static const char *const red_spelling[] = {
    [IR_RED_NONE] = "=", [IR_RED_ADD] = "+=", [IR_RED_MUL] = "*=", [IR_RED_MIN] = "min=", [IR_RED_MAX] = "max=",
};

/* Binding strength, loosest first: ?: || && == < + * unary primary. */
enum { PREC_SELECT = 1, PREC_UNARY = 8, PREC_PRIMARY = 9 };

static const int op_prec[IR_OP_COUNT] = {
    [IR_NEG] = PREC_UNARY, [IR_NOT] = PREC_UNARY, [IR_ADD] = 6, [IR_SUB] = 6, [IR_MUL] = 7,
    [IR_DIV] = 7, [IR_MOD] = 7, [IR_LT] = 5, [IR_LE] = 5, [IR_GT] = 5, [IR_GE] = 5,
    [IR_EQ] = 4, [IR_NE] = 4, [IR_AND] = 3, [IR_OR] = 2,
};
_Static_assert(sizeof(op_prec) / sizeof(op_prec[0]) == IR_OP_COUNT, "precedence table");

static int expr_prec(const ir_expr *e)
{
  switch (e->kind) {
  case IR_SELECT: return PREC_SELECT;
  case IR_BINARY: return e->op < IR_OP_COUNT ? op_prec[e->op] : PREC_PRIMARY;
  case IR_UNARY: return PREC_UNARY;
  case IR_CONST_INT: return e->ival < 0 ? PREC_UNARY : PREC_PRIMARY;
  case IR_CONST_FLOAT: return signbit(e->fval) ? PREC_UNARY : PREC_PRIMARY;
  default: return PREC_PRIMARY;
  }
}

/* e, in parentheses when it binds looser than min_prec. */
static void print_operand(FILE *out, const ir_func *f, const ir_stmt *s, const ir_expr *e, int min_prec)
{
  bool paren = e && expr_prec(e) < min_prec;
  if (paren)
    fputc('(', out);
  ir_print_expr(out, f, s, e);
  if (paren)
    fputc(')', out);
}

static void print_args(FILE *out, const ir_func *f, const ir_stmt *s, const ir_expr *e)
{
  fputc('(', out);
  for (int k = 0; k < e->n_args; k++) {
    if (k)
      fputs(", ", out);
    ir_print_expr(out, f, s, e->args[k]);
  }
  fputc(')', out);
}

/* The shortest decimal that reads back as the same value of the type, with a
 * point or exponent so that it reads back as a float. */
static void print_float(FILE *out, ir_type type, double v)
{
  char buf[48];
  for (int digits = type == IR_F32 ? 6 : 15; digits <= 17; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    double back = strtod(buf, NULL);
    if (type == IR_F32 ? (float)back == (float)v : back == v)
      break;
  }
  fputs(buf, out);
  if (!strpbrk(buf, ".eni"))
    fputs(".0", out);
}

static void print_access(FILE *out, const ir_func *f, const ir_stmt *s, const ir_expr *e)
{
  bool known = e->tensor >= 0 && e->tensor < f->n_tensors;
  if (e->padded)
    fputs("padded(", out);
  fputs(known ? f->tensors[e->tensor]->name : "?", out);
  if (e->n_args > 0)
    print_args(out, f, s, e);
  if (e->padded)
    fputc(')', out);
}

static void print_index(FILE *out, const ir_stmt *s, int index)
{
  if (s && index >= 0 && index < s->n_index && s->index[index].name)
    fputs(s->index[index].name, out);
  else
    fprintf(out, "i?%d", index);
}

static void print_binary(FILE *out, const ir_func *f, const ir_stmt *s, const ir_expr *e)
{
  int p = expr_prec(e);
  print_operand(out, f, s, e->args[0], p);
  fprintf(out, " %s ", e->op < IR_OP_COUNT ? ir_op_spelling[e->op] : "?");
  print_operand(out, f, s, e->args[1], p + 1);
}

static void print_select(FILE *out, const ir_func *f, const ir_stmt *s, const ir_expr *e)
{
  print_operand(out, f, s, e->args[0], PREC_SELECT + 1);
  fputs(" ? ", out);
  print_operand(out, f, s, e->args[1], PREC_SELECT + 1);
  fputs(" : ", out);
  print_operand(out, f, s, e->args[2], PREC_SELECT);
}

static void print_call(FILE *out, const ir_func *f, const ir_stmt *s, const ir_expr *e)
{
  fputs(e->fn < IR_FN_COUNT ? ir_builtins[e->fn].name : "?", out);
  print_args(out, f, s, e);
}

void ir_print_expr(FILE *out, const ir_func *f, const ir_stmt *s, const ir_expr *e)
{
  if (!e) {
    fputs("?", out);
    return;
  }
  switch (e->kind) {
  case IR_CONST_INT: fprintf(out, "%lld", (long long)e->ival); break;
  case IR_CONST_FLOAT: print_float(out, e->type, e->fval); break;
  case IR_INDEX: print_index(out, s, e->index); break;
  case IR_SIZE: ir_size_print(out, e->size, f->param_names); break;
  case IR_ACCESS: print_access(out, f, s, e); break;
  case IR_UNARY:
    fputs(e->op < IR_OP_COUNT ? ir_op_spelling[e->op] : "?", out);
    print_operand(out, f, s, e->args[0], PREC_PRIMARY);
    break;
  case IR_BINARY: print_binary(out, f, s, e); break;
  case IR_SELECT: print_select(out, f, s, e); break;
  case IR_CAST:
    fputs(ir_types[e->type].name, out);
    print_args(out, f, s, e);
    break;
  case IR_CALL: print_call(out, f, s, e); break;
  default: fputs("?", out); break;
  }
}

/* Subscript d of the left-hand side: an index name, or an expression. */
static void print_lhs_subscript(FILE *out, const ir_func *f, const ir_stmt *s, int d)
{
  if (ir_stmt_is_plain(s))
    fputs(s->index[s->lhs[d]].name, out);
  else
    ir_print_expr(out, f, s, s->lhs_expr[d]);
}

/* `C(m, n) +=! RHS` or `G(2 * i + k) += RHS`, without the where clause. */
static void print_stmt_body(FILE *out, const ir_func *f, const ir_stmt *s)
{
  fputs(f->tensors[s->tensor]->name, out);
  if (s->n_lhs > 0) {
    fputc('(', out);
    for (int d = 0; d < s->n_lhs; d++) {
      fputs(d ? ", " : "", out);
      print_lhs_subscript(out, f, s, d);
    }
    fputc(')', out);
  }
  fprintf(out, " %s%s ", red_spelling[s->red], s->init ? "!" : "");
  ir_print_expr(out, f, s, s->rhs);
}

static void print_range(FILE *out, const ir_func *f, const ir_index *ix)
{
  fprintf(out, "%s in ", ix->name);
  ir_size_print(out, ix->lo, f->param_names);
  fputc(':', out);
  ir_size_print(out, ix->hi, f->param_names);
}

/* The where clause: ranges of reduction indices and explicit ranges; every
 * range for a general left-hand side, which implies none. */
static void print_where(FILE *out, const ir_func *f, const ir_stmt *s)
{
  int n = 0;
  for (int k = 0; k < s->n_index; k++) {
    if (ir_stmt_is_plain(s) && !s->index[k].reduction && !s->index[k].explicit_range)
      continue;
    fputs(n++ ? ", " : " where ", out);
    print_range(out, f, &s->index[k]);
  }
}

/* `float(M, K)`; `float()` for a scalar when empty_parens. */
static void print_type_shape(FILE *out, const ir_func *f, const ir_tensor *t, bool empty_parens)
{
  fputs(ir_types[t->type].name, out);
  if (t->rank == 0 && !empty_parens)
    return;
  fputc('(', out);
  for (int d = 0; d < t->rank; d++) {
    if (d)
      fputs(", ", out);
    ir_size_print(out, t->shape[d], f->param_names);
  }
  fputc(')', out);
}

static void print_decls(FILE *out, const ir_func *f, const int *list, int n)
{
  for (int i = 0; i < n; i++) {
    const ir_tensor *t = f->tensors[list[i]];
    fputs(i ? ", " : "", out);
    print_type_shape(out, f, t, false);
    fprintf(out, " %s", t->name);
  }
}

static bool is_argument(const ir_func *f, int t)
{
  for (int i = 0; i < f->n_inputs; i++)
    if (f->inputs[i] == t)
      return true;
  for (int i = 0; i < f->n_outputs; i++)
    if (f->outputs[i] == t)
      return true;
  return false;
}

/* Tensors that are not arguments, as comments: `# temp float(M) T`. */
static void print_locals(FILE *out, const ir_func *f)
{
  for (int t = 0; t < f->n_tensors; t++) {
    if (is_argument(f, t))
      continue;
    fprintf(out, "  # %s ", role_names[f->tensors[t]->role]);
    print_type_shape(out, f, f->tensors[t], false);
    fprintf(out, " %s\n", f->tensors[t]->name);
  }
}

void ir_print_func(FILE *out, const ir_func *f)
{
  fprintf(out, "def %s(", f->name);
  print_decls(out, f, f->inputs, f->n_inputs);
  fputs(") -> (", out);
  print_decls(out, f, f->outputs, f->n_outputs);
  fputs(") {\n", out);
  print_locals(out, f);
  for (int k = 0; k < f->n_stmts; k++) {
    fputs("  ", out);
    print_stmt_body(out, f, f->stmts[k]);
    print_where(out, f, f->stmts[k]);
    fputc('\n', out);
  }
  fputs("}\n", out);
}

void ir_print_ranges(FILE *out, const ir_func *f)
{
  fprintf(out, "def %s\n", f->name);
  for (int t = 0; t < f->n_tensors; t++) {
    fprintf(out, "  tensor %s: %s ", f->tensors[t]->name, role_names[f->tensors[t]->role]);
    print_type_shape(out, f, f->tensors[t], true);
    fputc('\n', out);
  }
  for (int k = 0; k < f->n_stmts; k++) {
    const ir_stmt *s = f->stmts[k];
    fprintf(out, "  stmt %d: ", k);
    print_stmt_body(out, f, s);
    fputc('\n', out);
    for (int i = 0; i < s->n_index; i++) {
      fputs("    ", out);
      print_range(out, f, &s->index[i]);
      fputs(s->index[i].reduction ? " (reduction)\n" : "\n", out);
    }
  }
}
