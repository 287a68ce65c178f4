/* emit_hoist.c: the vector loops of row kernels (mark "aotc_simd_rows",
 * rows.c) read their row's statistics (a maximum, a mean, a reciprocal)
 * from locals set before the loop: a read of a value stored just before a
 * loop that also stores through another pointer is partially redundant to
 * gcc, whose PRE then loads it again in the loop's latch and keeps the
 * loop from vectorising. */
#include "emit_print.h"

#include <isl/id.h>
#include <isl/val.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (a->kind != IR_INDEX || !E->iter[a->index] || emit_ast_mentions(E->iter[a->index], it))
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

/* ------------------------------------------------------------------------
 * Reductions along a row ("aotc_red_rows"): on vector targets lanes (see
 * print_lane_reduction), elsewhere four accumulators over four quarters
 * of the row, then the remainder, then their sum; rows known to be
 * shorter than SPLIT_MIN keep one accumulator
 * ------------------------------------------------------------------------ */

#define SPLIT_MIN 128 /* four quarters of 32: four vectors of 8 floats each */

static const char *const combine_fmt[] = {
    [IR_RED_ADD] = "%s = %s + %s;", [IR_RED_MAX] = "%s = (%s > %s) ? %s : %s;",
    [IR_RED_MIN] = "%s = (%s < %s) ? %s : %s;"};

/* a = a op b, as C text. */
static void print_combine(emit_fn *E, ir_reduction red, const char *a, const char *b)
{
  if (red == IR_RED_ADD)
    fprintf(E->out, combine_fmt[red], a, a, b);
  else
    fprintf(E->out, combine_fmt[red], a, b, a, b, a);
}

/* { const int64_t IT = START; const T aotc_v = RHS; ACC = ACC op aotc_v; },
 * in a fused loop with the map's statement first (it binds its own
 * indices; s's are bound again after it). */
static void print_step_into(emit_fn *E, const ir_stmt *s, const char *it, const char *start, const char *a)
{
  emit_indent(E);
  fprintf(E->out, "{ const int64_t %s = %s;", it, start);
  if (E->rows_map) {
    fputc('\n', E->out);
    E->indent++;
    emit_print_node(E, E->rows_map);
    bind(E, E->rows_red);
    emit_indent(E);
    E->indent--;
  } else {
    fputc(' ', E->out);
  }
  fprintf(E->out, "const %s aotc_v = ", emit_type_name(E, E->f->tensors[s->tensor]->type));
  emit_print_rhs(E, s);
  fputs("; ", E->out);
  print_combine(E, s->red, a, "aotc_v");
  fputs(" }\n", E->out);
}

static void print_step(emit_fn *E, const ir_stmt *s, const char *it, const char *start, int acc)
{
  char a[16];
  snprintf(a, sizeof(a), "aotc_a%d", acc);
  print_step_into(E, s, it, start, a);
}

/* e as the printer spells it (its helpers marked as used), malloc'ed. */
static char *ast_text(emit_fn *E, __isl_keep isl_ast_expr *e)
{
  emit_text text;
  if (!emit_text_begin(E, &text))
    return NULL;
  emit_print_ast_expr(E, e);
  return emit_text_end(E, &text);
}

/* Whether the loop from init to ub (inclusive when le) is known to run
 * fewer than SPLIT_MIN iterations: its quarters would not fill vectors. */
static bool is_short(__isl_keep isl_ast_expr *init, __isl_keep isl_ast_expr *ub, bool le)
{
  if (isl_ast_expr_get_type(init) != isl_ast_expr_int || isl_ast_expr_get_type(ub) != isl_ast_expr_int)
    return false;
  isl_val *lo = isl_ast_expr_get_val(init), *hi = isl_ast_expr_get_val(ub);
  long n = isl_val_get_num_si(hi) - isl_val_get_num_si(lo) + (le ? 1 : 0);
  isl_val_free(lo);
  isl_val_free(hi);
  return n < SPLIT_MIN;
}

/* The loop's first value and its trip count (iterator <= or < bound, step
 * 1) as C text; false for other loops and short ones. */
static bool loop_range(emit_fn *E, __isl_keep isl_ast_node *loop, char *lo, char *n, size_t size)
{
  isl_ast_expr *cond = isl_ast_node_for_get_cond(loop), *inc = isl_ast_node_for_get_inc(loop);
  isl_ast_expr *init = isl_ast_node_for_get_init(loop);
  isl_val *step = inc && isl_ast_expr_get_type(inc) == isl_ast_expr_int ? isl_ast_expr_get_val(inc) : NULL;
  enum isl_ast_expr_op_type op = cond && isl_ast_expr_get_type(cond) == isl_ast_expr_op ? isl_ast_expr_op_get_type(cond)
                                                                                          : isl_ast_expr_op_error;
  bool ok = step && isl_val_is_one(step) && (op == isl_ast_expr_op_le || op == isl_ast_expr_op_lt);
  if (ok) {
    isl_ast_expr *ub = isl_ast_expr_op_get_arg(cond, 1);
    char *ls = ast_text(E, init), *us = ast_text(E, ub);
    ok = ls && us && ub && !is_short(init, ub, op == isl_ast_expr_op_le) && snprintf(lo, size, "(%s)", ls) < (int)size &&
         snprintf(n, size, "((%s) - (%s)%s)", us, ls, op == isl_ast_expr_op_le ? " + 1" : "") < (int)size;
    free(ls);
    free(us);
    isl_ast_expr_free(ub);
  }
  isl_val_free(step);
  isl_ast_expr_free(cond);
  isl_ast_expr_free(inc);
  isl_ast_expr_free(init);
  return ok;
}

static void print_split_loops(emit_fn *E, const ir_stmt *s, const char *it, const char *lo, const char *n)
{
  char start[400];
  emit_line(E, "const int64_t aotc_n4 = %s / 4;", n);
  emit_open_block(E, "for (int64_t aotc_q = 0; aotc_q < aotc_n4; aotc_q += 1)");
  for (int k = 0; k < 4; k++) {
    snprintf(start, sizeof(start), "%s + aotc_q + %d * aotc_n4", lo, k);
    print_step(E, s, it, start, k);
  }
  emit_close_block(E);
  emit_open_block(E, "for (int64_t aotc_r = 4 * aotc_n4; aotc_r < %s; aotc_r += 1)", n);
  snprintf(start, sizeof(start), "%s + aotc_r", lo);
  print_step(E, s, it, start, 0);
  emit_close_block(E);
}

/* Vector targets: RED_LANES accumulators in an array, element k of each
 * block of RED_LANES into lane k (the inner loop vectorises without a
 * reduction clause: two or four vector registers, no per-row spills of
 * omp simd's private lane arrays), the remainder into lane 0, then a tree
 * over the lanes. gcc's omp simd reductions over the four quarters stored
 * and reloaded their lane arrays around every row: 0.6x memcpy for a
 * softmax over 4096x1024 without its exp, 0.8-1.3x with these lanes
 * (bench/softmax_variants.py, RESULTS.md). */
#define RED_LANES 32

/* Whether the code is written for a CPU with vector units (not --cpu
 * generic or cortex-m4: a lane array there is memory traffic). */
static bool lanes_wanted(const emit_fn *E)
{
  const sched_cpu *cpu = E->em->plan->opt && E->em->plan->opt->cpu ? E->em->plan->opt->cpu : sched_cpu_native();
  return E->pf->sched.vectorize && !emit_target_is_gpu(E->em->tg) && cpu && cpu->vector_bytes > 4;
}

/* Software prefetch in a lane reduction: each block of RED_LANES elements
 * asks for the lines PREFETCH_AHEAD bytes further along every unpadded read
 * whose last subscript is the loop's index (a contiguous stream; the rows of
 * a row kernel follow one another, so this is the next rows). The first
 * pass over a row (softmax's max, layer norm's mean) is the one that brings
 * it from memory; the hardware's prefetchers alone left softmax and layer
 * norm over 4096x1024 at 0.34 and 0.67 of a memcpy, 0.48 and 0.83 with
 * 8 KB ahead (2 KB: no gain, 4 KB: half of it; bench/RESULTS.md). A
 * prefetch never faults; GNU C only, other compilers get none. */
#define PREFETCH_AHEAD 8192

/* The statement's index that the loop named it runs over, or -1. */
static int loop_index(const emit_fn *E, const ir_stmt *s, const char *it)
{
  for (int j = 0; j < s->n_index; j++) {
    isl_ast_expr *e = E->iter[j];
    if (e && isl_ast_expr_get_type(e) == isl_ast_expr_id) {
      isl_id *id = isl_ast_expr_get_id(e);
      bool same = !strcmp(isl_id_get_name(id), it);
      isl_id_free(id);
      if (same)
        return j;
    }
  }
  return -1;
}

/* The reads of e streamed along index x, at most max of them, one per tensor. */
static int streamed_reads(const ir_expr *e, int x, const ir_expr **found, int n, int max)
{
  if (e->kind == IR_ACCESS && !e->padded && e->n_args > 0 && e->args[e->n_args - 1]->kind == IR_INDEX &&
      e->args[e->n_args - 1]->index == x) {
    bool seen = false;
    for (int k = 0; k < n; k++)
      seen |= found[k]->tensor == e->tensor;
    if (!seen && n < max)
      found[n++] = e;
  }
  for (int k = 0; k < e->n_args; k++)
    n = streamed_reads(e->args[k], x, found, n, max);
  return n;
}

static void print_prefetch(emit_fn *E, const ir_stmt *s, const char *it, const char *lo)
{
  const ir_expr *reads[2];
  /* Not in a fused map and reduction: the reduction reads the element the
   * map has just written, and fetching the output's lines ahead cost
   * softmax 0.87 -> 0.73 of a memcpy (bench/RESULTS.md). */
  int x = E->rows_map ? -1 : loop_index(E, s, it), n = x < 0 ? 0 : streamed_reads(s->rhs, x, reads, 0, 2);
  if (n == 0)
    return;
  fputs("#if defined(__GNUC__)\n", E->out);
  emit_indent(E);
  fprintf(E->out, "{ const int64_t %s = %s + aotc_q * %d;", it, lo, RED_LANES);
  for (int k = 0; k < n; k++)
    for (int line = 0; line < RED_LANES * ir_types[reads[k]->type].bytes; line += 64) {
      fputs(" __builtin_prefetch((const char *)&", E->out);
      emit_print_read(E, reads[k]);
      fprintf(E->out, " + %d);", PREFETCH_AHEAD + line);
    }
  fputs(" }\n#endif\n", E->out);
}

/* The lanes' blocks with AVX-512 intrinsics, when the value reduced (or
 * the fused map's, E->rows_map) calls a helper with a 16-lane form and is
 * otherwise printable 16 lanes at a time (emit_vmath_vec_ok): two vectors
 * of accumulators in registers, loaded from and stored back to the lane
 * array around the loop; the map's vector stored where the map writes.
 * false: nothing printed. */
static bool print_vector_lanes(emit_fn *E, const ir_stmt *s, const char *it, const char *lo)
{
  static const char *const combine[] = {[IR_RED_ADD] = "_mm512_add_ps(aotc_w%d, aotc_v)",
                                        [IR_RED_MAX] = "_mm512_max_ps(aotc_v, aotc_w%d)",
                                        [IR_RED_MIN] = "_mm512_min_ps(aotc_v, aotc_w%d)"};
  const ir_stmt *m = NULL;
  int calls = 0, x;
  if (RED_LANES != 32 || E->f->tensors[s->tensor]->type != IR_F32)
    return false;
  if (E->rows_map) {
    m = bind(E, E->rows_map);
    x = m ? loop_index(E, m, it) : -1;
    bool ok = x >= 0 && m->lhs[m->n_lhs - 1] == x && E->f->tensors[m->tensor]->type == IR_F32 &&
              emit_vmath_vec_ok(E, m, m->rhs, x, &calls);
    if (m)
      emit_unbind_indices(E, m);
    bind(E, E->rows_red);
    if (!ok || calls == 0)
      return false;
  } else {
    x = loop_index(E, s, it);
    if (x < 0 || !emit_vmath_vec_ok(E, s, s->rhs, x, &calls) || calls == 0)
      return false;
  }
  fputs(EMIT_AVX512_GUARD, E->out);
  emit_line(E, "__m512 aotc_w0 = _mm512_loadu_ps(aotc_l), aotc_w1 = _mm512_loadu_ps(aotc_l + 16);");
  emit_open_block(E, "for (int64_t aotc_q = 0; aotc_q < aotc_nl; aotc_q += 1)");
  print_prefetch(E, s, it, lo);
  for (int v = 0; v < 2; v++) {
    emit_indent(E);
    fprintf(E->out, "{ const int64_t %s = %s + aotc_q * %d + %d;\n", it, lo, RED_LANES, 16 * v);
    E->indent++;
    emit_indent(E);
    fputs("const __m512 aotc_v = ", E->out);
    const ir_stmt *val = m ? bind(E, E->rows_map) : s;
    E->stmt = val;
    emit_vmath_vec_print(E, val, val->rhs, x);
    fputs(";\n", E->out);
    if (m) {
      emit_indent(E);
      fputs("_mm512_storeu_ps(&", E->out);
      emit_print_lhs(E, m);
      fputs(", aotc_v);\n", E->out);
      emit_unbind_indices(E, m);
      bind(E, E->rows_red);
    }
    emit_indent(E);
    fprintf(E->out, "aotc_w%d = ", v);
    fprintf(E->out, combine[s->red], v);
    fputs("; }\n", E->out);
    E->indent--;
  }
  emit_close_block(E);
  emit_line(E, "_mm512_storeu_ps(aotc_l, aotc_w0);");
  emit_line(E, "_mm512_storeu_ps(aotc_l + 16, aotc_w1);");
  fputs("#else\n", E->out);
  return true;
}

static void print_lane_reduction(emit_fn *E, const ir_stmt *s, const char *it, const char *lo, const char *n)
{
  char start[400];
  emit_line(E, "{");
  E->indent++;
  const char *t = emit_type_name(E, E->f->tensors[s->tensor]->type);
  emit_indent(E);
  fprintf(E->out, "const %s aotc_i = ", t);
  emit_print_lhs(E, s);
  fputs(";\n", E->out);
  emit_line(E, "%s aotc_l[%d];", t, RED_LANES);
  emit_line(E, "for (int aotc_k = 0; aotc_k < %d; aotc_k += 1)", RED_LANES);
  emit_line(E, "  aotc_l[aotc_k] = %s;", s->red == IR_RED_ADD ? "0" : "aotc_i");
  if (s->red == IR_RED_ADD)
    emit_line(E, "aotc_l[0] = aotc_i;");
  emit_line(E, "const int64_t aotc_nl = %s / %d;", n, RED_LANES);
  bool vec = print_vector_lanes(E, s, it, lo);
  emit_open_block(E, "for (int64_t aotc_q = 0; aotc_q < aotc_nl; aotc_q += 1)");
  print_prefetch(E, s, it, lo);
  fputs("#if defined(_OPENMP) && !defined(__clang__)\n#pragma omp simd\n#endif\n", E->out);
  emit_open_block(E, "for (int aotc_k = 0; aotc_k < %d; aotc_k += 1)", RED_LANES);
  snprintf(start, sizeof(start), "%s + aotc_q * %d + aotc_k", lo, RED_LANES);
  print_step_into(E, s, it, start, "aotc_l[aotc_k]");
  emit_close_block(E);
  emit_close_block(E);
  if (vec)
    fputs("#endif\n", E->out);
  emit_open_block(E, "for (int64_t aotc_r = %d * aotc_nl; aotc_r < %s; aotc_r += 1)", RED_LANES, n);
  snprintf(start, sizeof(start), "%s + aotc_r", lo);
  print_step_into(E, s, it, start, "aotc_l[0]");
  emit_close_block(E);
  for (int w = RED_LANES / 2; w > 0; w /= 2) { /* constant halves: vector ops down to one lane */
    char b[40];
    snprintf(b, sizeof(b), "aotc_l[aotc_k + %d]", w);
    emit_line(E, "for (int aotc_k = 0; aotc_k < %d; aotc_k += 1)", w);
    E->indent++;
    emit_indent(E);
    print_combine(E, s->red, "aotc_l[aotc_k]", b);
    fputc('\n', E->out);
    E->indent--;
  }
  emit_indent(E);
  emit_print_lhs(E, s);
  fputs(" = aotc_l[0];\n", E->out);
  E->indent--;
  emit_line(E, "}");
}

static void print_split_reduction(emit_fn *E, const ir_stmt *s, const char *it, const char *lo, const char *n)
{
  if (lanes_wanted(E)) {
    print_lane_reduction(E, s, it, lo, n);
    return;
  }
  const char *t = emit_type_name(E, E->f->tensors[s->tensor]->type);
  emit_line(E, "{");
  E->indent++;
  emit_indent(E);
  fprintf(E->out, "%s aotc_a0 = ", t);
  emit_print_lhs(E, s);
  const char *rest = s->red == IR_RED_ADD ? "0" : "aotc_a0";
  fprintf(E->out, ", aotc_a1 = %s, aotc_a2 = %s, aotc_a3 = %s;\n", rest, rest, rest);
  print_split_loops(E, s, it, lo, n);
  emit_indent(E);
  print_combine(E, s->red, "aotc_a0", "aotc_a1");
  fputc(' ', E->out);
  print_combine(E, s->red, "aotc_a2", "aotc_a3");
  fputc(' ', E->out);
  print_combine(E, s->red, "aotc_a0", "aotc_a2");
  fputc('\n', E->out);
  emit_indent(E);
  emit_print_lhs(E, s);
  fputs(" = aotc_a0;\n", E->out);
  E->indent--;
  emit_line(E, "}");
}

/* Whether s is a float sum, maximum or minimum (the lanes' combinations). */
static bool lane_reducible(const emit_fn *E, const ir_stmt *s)
{
  return (s->red == IR_RED_ADD || s->red == IR_RED_MAX || s->red == IR_RED_MIN) &&
         ir_types[E->f->tensors[s->tensor]->type].is_float;
}

bool emit_rows_reduction(emit_fn *E, __isl_keep isl_ast_node *loop)
{
  char lo[300], n[300];
  isl_ast_node *body = isl_ast_node_for_get_body(loop);
  isl_ast_expr *it = isl_ast_node_for_get_iterator(loop);
  isl_id *it_id = it ? isl_ast_expr_id_get_id(it) : NULL;
  const ir_stmt *s = body && it_id && isl_ast_node_get_type(body) == isl_ast_node_user ? bind(E, body) : NULL;
  bool ok = s && lane_reducible(E, s) && loop_range(E, loop, lo, n, sizeof(lo));
  if (ok)
    print_split_reduction(E, s, isl_id_get_name(it_id), lo, n);
  if (s)
    emit_unbind_indices(E, s);
  isl_id_free(it_id);
  isl_ast_expr_free(it);
  isl_ast_node_free(body);
  return ok;
}

/* The two user nodes of a loop's body when it is a block of two; false
 * otherwise (nothing taken). */
static bool two_users(__isl_keep isl_ast_node *body, isl_ast_node **a, isl_ast_node **b)
{
  *a = *b = NULL;
  if (!body || isl_ast_node_get_type(body) != isl_ast_node_block)
    return false;
  isl_ast_node_list *list = isl_ast_node_block_get_children(body);
  if (isl_ast_node_list_n_ast_node(list) == 2) {
    *a = isl_ast_node_list_get_at(list, 0);
    *b = isl_ast_node_list_get_at(list, 1);
  }
  isl_ast_node_list_free(list);
  if (*a && *b && isl_ast_node_get_type(*a) == isl_ast_node_user && isl_ast_node_get_type(*b) == isl_ast_node_user)
    return true;
  *a = isl_ast_node_free(*a);
  *b = isl_ast_node_free(*b);
  return false;
}

bool emit_rows_map_reduction(emit_fn *E, __isl_keep isl_ast_node *loop)
{
  char lo[300], n[300];
  isl_ast_node *body = isl_ast_node_for_get_body(loop), *um, *ur;
  isl_ast_expr *it = isl_ast_node_for_get_iterator(loop);
  isl_id *it_id = it ? isl_ast_expr_id_get_id(it) : NULL;
  bool two = it_id && two_users(body, &um, &ur);
  const ir_stmt *m = two ? bind(E, um) : NULL, *r = NULL;
  if (m) {
    emit_unbind_indices(E, m);
    r = bind(E, ur);
  }
  bool ok = m && r && m->red == IR_RED_NONE && lane_reducible(E, r) && loop_range(E, loop, lo, n, sizeof(lo));
  if (r)
    emit_unbind_indices(E, r);
  if (ok) {
    const char *name = isl_id_get_name(it_id);
    bind(E, um);
    E->n_hoist = 0;
    collect(E, m, m->rhs, name);
    emit_line(E, "{");
    E->indent++;
    print_locals(E, m);
    E->rows_map = um;
    E->rows_red = ur;
    bind(E, ur);
    print_split_reduction(E, r, name, lo, n);
    emit_unbind_indices(E, r);
    E->rows_map = E->rows_red = NULL;
    emit_hoist_end(E);
  }
  if (two) {
    isl_ast_node_free(um);
    isl_ast_node_free(ur);
  }
  isl_id_free(it_id);
  isl_ast_expr_free(it);
  isl_ast_node_free(body);
  return ok;
}
