/* emit_checks.c: run-time checks of the indices emitted code reads from
 * data: Gather's indices, TC's `LUT(I(b, n), r)`, a scatter's `H(Idx(n))`.
 * A subscript is data-dependent when it reads a tensor. Before each kernel,
 * for every such access of its statements (inner ones first), one loop nest
 * over the index variables the subscripts mention evaluates them; a value
 * outside its dimension makes the entry return AOTC_RC_INDEX (4) before the
 * kernel writes anything (kernels before it have run). The kernel boundaries
 * guarantee the index tensors are complete by then (poly_kernel_end starts a
 * kernel at a statement whose subscripts read a tensor of the kernel).
 * Padded reads need no check (outside is 0). Subscripts that read constant
 * tensors only are evaluated at compile time too (emit_checks_const.c,
 * called by emit_plan_build): one outside is an error. The checks are
 * conservative: a read in a branch of a select is checked at every point of
 * the statement.
 * --unchecked-indices (emit_options.unchecked_indices) leaves them out; only
 * the C target has them (a device target's tensors are not the host's). */
#include "emit_print.h"

#include <string.h>

bool emit_checks_reads_data(const ir_expr *e)
{
  if (e->kind == IR_ACCESS)
    return true;
  for (int k = 0; k < e->n_args; k++)
    if (emit_checks_reads_data(e->args[k]))
      return true;
  return false;
}

static bool any_reads_data(ir_expr *const *subs, int n)
{
  for (int j = 0; j < n; j++)
    if (emit_checks_reads_data(subs[j]))
      return true;
  return false;
}

static void mark_indices(const ir_expr *e, bool *used)
{
  if (e->kind == IR_INDEX)
    used[e->index] = true;
  for (int k = 0; k < e->n_args; k++)
    mark_indices(e->args[k], used);
}

/* The first tensor e reads (the outermost read), or -1. */
static int first_read(const ir_expr *e)
{
  if (e->kind == IR_ACCESS)
    return e->tensor;
  for (int k = 0; k < e->n_args; k++) {
    int t = first_read(e->args[k]);
    if (t >= 0)
      return t;
  }
  return -1;
}

int emit_checks_index_source(const emit_checked_access *a)
{
  int t = -1;
  for (int j = 0; t < 0 && j < a->n; j++)
    t = first_read(a->subs[j]);
  return t;
}

/* ------------------------------------------------------------------------
 * The accesses to check
 * ------------------------------------------------------------------------ */

/* The checked reads of e, inner ones first. */
static void visit_reads(const ir_stmt *s, const ir_expr *e, emit_access_visitor fn, void *data)
{
  for (int k = 0; k < e->n_args; k++)
    visit_reads(s, e->args[k], fn, data);
  if (e->kind == IR_ACCESS && !e->padded && any_reads_data(e->args, e->n_args))
    fn(data, &(emit_checked_access){s, e->tensor, e->n_args, e->args, false, e->loc});
}

void emit_checks_visit_stmt(const ir_stmt *s, emit_access_visitor fn, void *data)
{
  visit_reads(s, s->rhs, fn, data);
  if (ir_stmt_is_plain(s))
    return;
  for (int d = 0; d < s->n_lhs; d++)
    visit_reads(s, s->lhs_expr[d], fn, data);
  if (any_reads_data(s->lhs_expr, s->n_lhs))
    fn(data, &(emit_checked_access){s, s->tensor, s->n_lhs, s->lhs_expr, true, s->loc});
}

static bool checks_on(const emit_fn *E)
{
  return !E->em->plan->opt->unchecked_indices && E->em->tg == &emit_target_c;
}

/* ------------------------------------------------------------------------
 * Printing one check
 * ------------------------------------------------------------------------ */

/* Whether index x has a range known to be empty (*empty) or not known to
 * be non-empty (the result: it needs a guard). */
static bool needs_guard(const ir_index *x, bool *empty)
{
  int64_t lo, hi;
  if (!ir_size_is_const(x->lo, &lo) || !ir_size_is_const(x->hi, &hi))
    return true;
  *empty |= hi <= lo;
  return false;
}

/* Whether a guard `if (HI > LO && ...)` is needed over the indices the
 * check does not loop over (a range that may be empty: the statement then
 * runs nowhere); *empty: one is known to be empty. */
static bool guard_needed(const ir_stmt *s, const bool *used, bool *empty)
{
  bool any = false;
  for (int x = 0; x < s->n_index; x++)
    if (!used[x] && needs_guard(&s->index[x], empty))
      any = true;
  return any;
}

/* Opens the guard block when needed; false when a range is known to be
 * empty (no check). *opened: a block was opened. */
static bool print_guard(emit_fn *E, const ir_stmt *s, const bool *used, bool *opened)
{
  bool empty = false, dummy = false;
  if (!guard_needed(s, used, &empty) || empty)
    return !empty;
  emit_indent(E);
  fputs("if (", E->out);
  for (int x = 0, any = 0; x < s->n_index; x++) {
    if (used[x] || !needs_guard(&s->index[x], &dummy))
      continue;
    fputs(any++ ? " && " : "", E->out);
    emit_print_size(E, s->index[x].hi);
    fputs(" > ", E->out);
    emit_print_size(E, s->index[x].lo);
  }
  fputs(") {\n", E->out);
  E->indent++;
  *opened = true;
  return true;
}

static void open_loop(emit_fn *E, const ir_index *x, int i)
{
  emit_indent(E);
  fprintf(E->out, "for (int64_t aotc_x%d = ", i);
  emit_print_size(E, x->lo);
  fprintf(E->out, "; aotc_x%d < ", i);
  emit_print_size(E, x->hi);
  fprintf(E->out, "; aotc_x%d++) {\n", i);
  E->indent++;
  emit_bind_index(E, i);
}

/* `aotc_bad |= (uint64_t)(SUB) >= (uint64_t)DIM;` for each data-dependent
 * subscript (one unsigned comparison catches negative values too; no early
 * exit, so that the loop vectorises). */
static void print_tests(emit_fn *E, const emit_checked_access *a)
{
  for (int j = 0; j < a->n; j++) {
    if (!emit_checks_reads_data(a->subs[j]))
      continue;
    emit_indent(E);
    fputs("aotc_bad |= (uint64_t)(", E->out);
    emit_print_subscript(E, a->subs[j]);
    fputs(") >= (uint64_t)", E->out);
    emit_print_dim(E, a->t, j);
    fputs(";\n", E->out);
  }
}

void emit_checks_mark_used(const emit_checked_access *a, bool *used)
{
  for (int j = 0; j < a->n; j++)
    if (emit_checks_reads_data(a->subs[j]))
      mark_indices(a->subs[j], used);
}

static void print_check(void *data, const emit_checked_access *a)
{
  emit_fn *E = data;
  const ir_stmt *s = a->s;
  bool *used = IR_NEW_ARRAY(E->em->plan->ctx, bool, s->n_index > 0 ? s->n_index : 1), opened = false;
  int t = emit_checks_index_source(a);
  if (used)
    emit_checks_mark_used(a, used);
  if (!used || !print_guard(E, s, used, &opened)) {
    E->failed |= !used;
    return;
  }
  emit_line(E, "/* '%s' %s at indices read from '%s' */", E->f->tensors[a->t]->name, a->write ? "written" : "read",
            t >= 0 ? E->f->tensors[t]->name : "?");
  emit_line(E, "{");
  E->indent++;
  emit_line(E, "int aotc_bad = 0;");
  E->stmt = s;
  int depth = 0;
  for (int x = 0; x < s->n_index; x++)
    if (used[x]) {
      open_loop(E, &s->index[x], x);
      depth++;
    }
  print_tests(E, a);
  for (int d = 0; d < depth; d++)
    emit_close_block(E);
  emit_line(E, "if (aotc_bad)");
  emit_line(E, "  return %d;", AOTC_RC_INDEX);
  for (int d = 0; d < 1 + opened; d++)
    emit_close_block(E);
  emit_unbind_indices(E, s);
  E->stmt = NULL;
}

/* ------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------ */

void emit_checks_print_kernel(emit_fn *E, const emit_kernel *k)
{
  if (!checks_on(E))
    return;
  for (int i = k->first; i < k->end; i++)
    emit_checks_visit_stmt(E->f->stmts[i], print_check, E);
}

static void count_access(void *data, const emit_checked_access *a)
{
  (void)a;
  ++*(int *)data;
}

int emit_checks_count(const emit_fn *E)
{
  int n = 0;
  for (int i = 0; checks_on(E) && i < E->f->n_stmts; i++)
    emit_checks_visit_stmt(E->f->stmts[i], count_access, &n);
  return n;
}

void emit_checks_print_note(emit_fn *E)
{
  if (emit_checks_count(E) > 0)
    fprintf(E->out, "/* %s returns %d when an index it reads from data lies outside its tensor, before the\n"
                    " * kernel that uses it writes anything (--unchecked-indices removes the checks). */\n",
            E->name, AOTC_RC_INDEX);
}

typedef struct describer {
  aotc_ctx *ctx;
  const ir_func *f;
  char *text;
} describer;

static void describe_access(void *data, const emit_checked_access *a)
{
  describer *d = data;
  int t = emit_checks_index_source(a);
  if (!d->text)
    return;
  d->text = ir_sprintf(d->ctx, "%s%s'%s' %s at indices read from '%s'", d->text, *d->text ? ", " : "",
                       d->f->tensors[a->t]->name, a->write ? "written" : "read", t >= 0 ? d->f->tensors[t]->name : "?");
}

const char *emit_checks_describe(aotc_ctx *ctx, const ir_func *f)
{
  describer d = {ctx, f, ir_sprintf(ctx, "%s", "")};
  for (int i = 0; i < f->n_stmts; i++)
    emit_checks_visit_stmt(f->stmts[i], describe_access, &d);
  return d.text;
}
