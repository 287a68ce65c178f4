/* emit_hoist.c: the vector loops of row kernels (mark "aotc_simd_rows",
 * rows.c) read their row's statistics (a maximum, a mean, a reciprocal)
 * from locals set before the loop: a read of a value stored just before a
 * loop that also stores through another pointer is partially redundant to
 * gcc, whose PRE then loads it again in the loop's latch and keeps the
 * loop from vectorising. */
#include "emit_print.h"

#include <isl/id.h>
#include <string.h>

/* Whether isl expression e mentions the identifier named name. */
static bool mentions(__isl_keep isl_ast_expr *e, const char *name)
{
  bool found = false;
  if (isl_ast_expr_get_type(e) == isl_ast_expr_id) {
    isl_id *id = isl_ast_expr_id_get_id(e);
    found = !strcmp(isl_id_get_name(id), name);
    isl_id_free(id);
  } else if (isl_ast_expr_get_type(e) == isl_ast_expr_op) {
    for (int i = 0; !found && i < isl_ast_expr_op_get_n_arg(e); i++) {
      isl_ast_expr *arg = isl_ast_expr_op_get_arg(e, i);
      found = mentions(arg, name);
      isl_ast_expr_free(arg);
    }
  }
  return found;
}

/* An access of another tensor than s writes, at index variables bound to
 * values that do not move with the loop iterator it. */
static bool is_invariant(const emit_fn *E, const ir_stmt *s, const ir_expr *e, const char *it)
{
  if (e->kind != IR_ACCESS || e->tensor == s->tensor || e->padded || e->n_args == 0)
    return false;
  for (int j = 0; j < e->n_args; j++) {
    const ir_expr *a = e->args[j];
    if (a->kind == IR_CONST_INT)
      continue;
    if (a->kind != IR_INDEX || !E->iter[a->index] || mentions(E->iter[a->index], it))
      return false;
  }
  return true;
}

static void collect(emit_fn *E, const ir_stmt *s, const ir_expr *e, const char *it)
{
  if (E->n_hoist < EMIT_MAX_HOIST && is_invariant(E, s, e, it)) {
    E->hoist[E->n_hoist++] = e;
    return;
  }
  for (int k = 0; k < e->n_args; k++)
    collect(E, s, e->args[k], it);
}

/* Binds the indices of the statement the user node runs; NULL if not ours. */
static const ir_stmt *bind(emit_fn *E, __isl_keep isl_ast_node *user)
{
  isl_ast_expr *call = isl_ast_node_user_get_expr(user);
  isl_ast_expr *name = isl_ast_expr_op_get_arg(call, 0);
  isl_id *id = isl_ast_expr_id_get_id(name);
  poly_stmt ps;
  const ir_stmt *s = NULL;
  if (poly_kernel_stmt(E->k, isl_id_get_name(id), &ps) && ps.stmt < E->f->n_stmts && !ps.init) {
    s = E->f->stmts[ps.stmt];
    emit_unbind_indices(E, s);
    for (int j = 0; j + 1 < isl_ast_expr_op_get_n_arg(call) && j < s->n_index; j++)
      E->iter[j] = isl_ast_expr_op_get_arg(call, j + 1);
  }
  isl_id_free(id);
  isl_ast_expr_free(name);
  isl_ast_expr_free(call);
  return s;
}

static void print_locals(emit_fn *E, const ir_stmt *s)
{
  for (int k = 0; k < E->n_hoist; k++) {
    emit_indent(E);
    fprintf(E->out, "const %s aotc_row%d = ", emit_type_name(E, E->f->tensors[E->hoist[k]->tensor]->type), k);
    emit_print_read(E, E->hoist[k]);
    fputs(";\n", E->out);
  }
  emit_unbind_indices(E, s);
}

bool emit_hoist_begin(emit_fn *E, __isl_keep isl_ast_node *loop)
{
  isl_ast_node *body = isl_ast_node_for_get_body(loop);
  isl_ast_expr *it = isl_ast_node_for_get_iterator(loop);
  isl_id *it_id = it ? isl_ast_expr_id_get_id(it) : NULL;
  const ir_stmt *s = body && it_id && isl_ast_node_get_type(body) == isl_ast_node_user ? bind(E, body) : NULL;
  E->n_hoist = 0;
  if (s) {
    collect(E, s, s->rhs, isl_id_get_name(it_id));
    emit_indent(E);
    fputs("{\n", E->out);
    E->indent++;
    print_locals(E, s);
  }
  isl_id_free(it_id);
  isl_ast_expr_free(it);
  isl_ast_node_free(body);
  return s != NULL;
}

void emit_hoist_end(emit_fn *E)
{
  E->n_hoist = 0;
  E->indent--;
  emit_indent(E);
  fputs("}\n", E->out);
}

bool emit_hoisted(emit_fn *E, const ir_expr *e)
{
  for (int k = 0; k < E->n_hoist; k++)
    if (E->hoist[k] == e) {
      fprintf(E->out, "aotc_row%d", k);
      return true;
    }
  return false;
}
