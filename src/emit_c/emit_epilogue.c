/* emit_epilogue.c: fused epilogues of packed contractions in C.
 *
 * After the epilogue pass (src/graph/epilogue.c) a contraction T +=! A * B
 * is followed by kernels that work on T in place, point by point: its bias,
 * activations, a residual add (T = max(T + R, 0)). The plan marks those
 * kernels (emit_kernel.epilogue_of) when every subscript they need can be
 * had in the micro-kernel's loops; the printer then skips them and applies
 * their statements to each register tile of T right after the micro-kernel
 * has stored it for the last depth block, while the tile is in L1: one pass
 * over memory less per kernel. Bound at a tile's element: the contraction's
 * batch indices, its row index (one row index) and column index (one column
 * index); a tensor of T's shape read at the element's own point (a residual)
 * is read at the element's offset in T. Off with AOTC_EPILOGUE=0, and for
 * GPU targets. */
#include "emit_print.h"

#include <isl/id.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Plan: which kernels are epilogues of which contraction
 * ------------------------------------------------------------------------ */

/* Whether a and b have the same known shape (rank > 0); shared with the
 * LLVM backend's epilogues. */
bool emit_same_shape(const ir_tensor *a, const ir_tensor *b)
{
  if (a->rank != b->rank || a->rank == 0)
    return false;
  for (int j = 0; j < a->rank; j++)
    if (!a->shape[j] || !b->shape[j] || !ir_size_equal(a->shape[j], b->shape[j]))
      return false;
  return true;
}

/* Whether access e of s is at s's own point (its index of each dimension). */
static bool own_point(const ir_stmt *s, const ir_expr *e)
{
  if (e->padded || e->n_args != s->n_lhs)
    return false;
  for (int j = 0; j < e->n_args; j++)
    if (e->args[j]->kind != IR_INDEX || e->args[j]->index != s->lhs[j])
      return false;
  return true;
}

static bool in_set(int x, const int *set, int n)
{
  for (int i = 0; i < n; i++)
    if (set[i] == x)
      return true;
  return false;
}

/* The contraction's index standing for index x of epilogue statement s
 * (the same dimension of T); -1 if x is not on s's left. */
static int contraction_index(const sched_contraction *c, const ir_func *f, const ir_stmt *s, int x)
{
  const ir_stmt *s0 = f->stmts[c->stmt];
  for (int d = 0; d < s->n_lhs; d++)
    if (s->lhs[d] == x)
      return s0->lhs[d];
  return -1;
}

/* Whether contraction index x0 has a value at each element of a tile. */
static bool bindable(const sched_contraction *c, int x0)
{
  if (x0 < 0)
    return false;
  return in_set(x0, c->batch, c->n_batch) || (c->n_rows == 1 && c->rows[0] == x0) ||
         (c->n_cols == 1 && c->cols[0] == x0);
}

/* Whether every index e mentions is bindable (and it reads no tensor). */
static bool subscript_ok(const sched_contraction *c, const ir_func *f, const ir_stmt *s, const ir_expr *e)
{
  if (e->kind == IR_ACCESS)
    return false;
  if (e->kind == IR_INDEX && !bindable(c, contraction_index(c, f, s, e->index)))
    return false;
  for (int k = 0; k < e->n_args; k++)
    if (!subscript_ok(c, f, s, e->args[k]))
      return false;
  return true;
}

/* Whether s's right-hand side can be printed at a tile's element. */
static bool rhs_ok(const sched_contraction *c, const ir_func *f, const ir_stmt *s, const ir_expr *e)
{
  if (e->kind == IR_ACCESS) {
    if (e->padded)
      return false;
    if (e->tensor == s->tensor || emit_same_shape(f->tensors[e->tensor], f->tensors[s->tensor]))
      return own_point(s, e);
    for (int j = 0; j < e->n_args; j++)
      if (!subscript_ok(c, f, s, e->args[j]))
        return false;
    return true;
  }
  if (e->kind == IR_INDEX)
    return subscript_ok(c, f, s, e);
  for (int k = 0; k < e->n_args; k++)
    if (!rhs_ok(c, f, s, e->args[k]))
      return false;
  return true;
}

/* Whether s works on the contraction's tensor in place over its box. */
static bool is_epilogue_stmt(const sched_contraction *c, const ir_func *f, const ir_stmt *s)
{
  const ir_stmt *s0 = f->stmts[c->stmt];
  if (!ir_stmt_is_plain(s) || s->tensor != s0->tensor || s->n_index != s->n_lhs || s->n_lhs != s0->n_lhs ||
      s->init || !(s->red == IR_RED_NONE || s->red == IR_RED_ADD))
    return false;
  for (int d = 0; d < s->n_lhs; d++) {
    const ir_index *x = &s->index[s->lhs[d]], *x0 = &s0->index[s0->lhs[d]];
    if (!ir_size_equal(x->lo, x0->lo) || !ir_size_equal(x->hi, x0->hi))
      return false;
  }
  return rhs_ok(c, f, s, s->rhs);
}

static bool kernel_is_epilogue(const sched_contraction *c, const ir_func *f, const emit_kernel *k)
{
  for (int i = k->first; i < k->end; i++)
    if (!is_epilogue_stmt(c, f, f->stmts[i]))
      return false;
  return k->end > k->first;
}

/* A contraction whose epilogue runs after its last depth block: C starts
 * at 0 and the depth is a constant > 0 (no block: no store to hook). */
static bool has_store(const ir_func *f, const sched_contraction *c)
{
  int64_t n = 1, lo, hi;
  const ir_stmt *s = f->stmts[c->stmt];
  for (int t = 0; t < c->n_depth; t++)
    if (!ir_size_is_const(s->index[c->depth[t]].lo, &lo) || !ir_size_is_const(s->index[c->depth[t]].hi, &hi) ||
        lo != 0 || hi <= 0 || __builtin_mul_overflow(n, hi, &n))
      return false;
  return c->init && n > 0;
}

static bool epilogues_off(const emit_plan *p, const emit_plan_fn *pf)
{
  const char *env = getenv("AOTC_EPILOGUE");
  return (env && !strcmp(env, "0")) || emit_target_is_gpu(p->target) || pf->f->body;
}

void emit_epilogue_plan(const emit_plan *p, emit_plan_fn *pf)
{
  for (int j = 0; j < pf->n_kernels; j++)
    pf->kernels[j].epilogue_of = -1;
  if (epilogues_off(p, pf))
    return;
  for (int j = 0; j < pf->n_kernels; j++) {
    int ci = pf->kernels[j].contraction;
    if (ci < 0 || !has_store(pf->f, &pf->contr[ci]))
      continue;
    for (int e = j + 1; e < pf->n_kernels && kernel_is_epilogue(&pf->contr[ci], pf->f, &pf->kernels[e]); e++)
      pf->kernels[e].epilogue_of = ci;
  }
}

/* ------------------------------------------------------------------------
 * Printing
 * ------------------------------------------------------------------------ */

/* The epilogue kernels of contraction ci: [*first, *end) (empty: none). */
static void epilogue_kernels(const emit_plan_fn *pf, int ci, int *first, int *end)
{
  *first = *end = 0;
  for (int j = 0; j < pf->n_kernels; j++)
    if (pf->kernels[j].epilogue_of == ci) {
      if (*end == 0)
        *first = j;
      *end = j + 1;
    }
}

/* Marks in used[] (by contraction index) the indices e needs bound, and
 * sets *residual when it reads another tensor at the element's point. */
static void mark_uses(const emit_fn *E, const sched_contraction *c, const ir_stmt *s, const ir_expr *e, bool *used,
                      bool *residual)
{
  if (e->kind == IR_ACCESS && e->tensor != s->tensor &&
      emit_same_shape(E->f->tensors[e->tensor], E->f->tensors[s->tensor])) {
    *residual = true;
    return;
  }
  if (e->kind == IR_ACCESS && e->tensor == s->tensor)
    return;
  if (e->kind == IR_INDEX)
    used[contraction_index(c, E->f, s, e->index)] = true;
  for (int k = 0; k < e->n_args; k++)
    mark_uses(E, c, s, e->args[k], used, residual);
}

typedef struct tile_epilogue {
  int ci, first, end; /* the contraction, its epilogue statements */
  bool *used;         /* per contraction index: bound at each element */
  bool residual;      /* reads at the element's offset */
} tile_epilogue;

static bool collect_uses(emit_fn *E, tile_epilogue *te)
{
  const sched_contraction *c = &E->pf->contr[te->ci];
  te->used = IR_NEW_ARRAY(E->em->plan->ctx, bool, E->f->stmts[c->stmt]->n_index);
  if (!te->used)
    return false;
  for (int i = te->first; i < te->end; i++)
    mark_uses(E, c, E->f->stmts[i], E->f->stmts[i]->rhs, te->used, &te->residual);
  return true;
}

/* Statement s's indices bound to the tile's names: aotc_e<x0> for a row
 * or column index, aotc_x<x0> for a batch index. */
static void bind_epilogue_indices(emit_fn *E, const sched_contraction *c, const ir_stmt *s)
{
  char name[32];
  for (int x = 0; x < s->n_index; x++) {
    int x0 = contraction_index(c, E->f, s, x);
    snprintf(name, sizeof(name), "aotc_%c%d", in_set(x0, c->batch, c->n_batch) ? 'x' : 'e', x0);
    isl_ast_expr_free(E->iter[x]);
    E->iter[x] = isl_ast_expr_from_id(isl_id_alloc(E->em->plan->isl, name, NULL));
  }
}

/* The index of epilogue statement s standing for the contraction's one
 * column (n_cols 1), or -1. */
static int lane_index(const sched_contraction *c, const ir_func *f, const ir_stmt *s)
{
  for (int x = 0; x < s->n_index; x++)
    if (contraction_index(c, f, s, x) == c->cols[0])
      return x;
  return -1;
}

/* aotc_v = rhs (or += rhs) for each epilogue statement; vec: the 16-lane
 * value aotc_vv (print_vector_rows). */
static void print_steps(emit_fn *E, const tile_epilogue *te, bool vec)
{
  const sched_contraction *c = &E->pf->contr[te->ci];
  for (int i = te->first; i < te->end; i++) {
    const ir_stmt *s = E->f->stmts[i];
    E->stmt = s;
    bind_epilogue_indices(E, c, s);
    emit_indent(E);
    if (vec) {
      fputs(s->red == IR_RED_ADD ? "aotc_vv = _mm512_add_ps(aotc_vv, " : "aotc_vv = (", E->out);
      emit_vmath_vec_print(E, s, s->rhs, lane_index(c, E->f, s));
      fputs(");\n", E->out);
    } else {
      fputs(s->red == IR_RED_ADD ? "aotc_v += " : "aotc_v = ", E->out);
      emit_print_value(E, s->rhs, IR_F32);
      fputs(";\n", E->out);
    }
    emit_unbind_indices(E, s);
  }
}

/* No dependence between the elements of a row (the stores go to T, the
 * reads of other tensors to tensors live beside it): gcc vectorises the
 * full row at -O2 without checks of aliasing. */
static const char ivdep[] = "#if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC ivdep\n#endif\n";

/* One element: its column index and offset, the steps, the store; col is
 * its offset in the row. */
static void print_element(emit_fn *E, const tile_epilogue *te, const char *col)
{
  const sched_contraction *c = &E->pf->contr[te->ci];
  if (c->n_cols == 1 && te->used[c->cols[0]])
    emit_line(E, "const int64_t aotc_e%d = aotc_x%d + aotc_ej;", c->cols[0], c->cols[0]);
  if (te->residual)
    emit_line(E, "const int64_t aotc_eo = aotc_eo0 + aotc_ei * aotc_rs + %s;", col);
  emit_line(E, "float aotc_v = aotc_er[%s];", col);
  print_steps(E, te, false);
  emit_line(E, "aotc_er[%s] = aotc_v;", col);
}

/* Whether the contraction has fewer columns than a register tile (a
 * constant): no full row then. */
static bool narrow(const emit_fn *E, const sched_contraction *c, const sched_blocks *b)
{
  int64_t n = 1, hi;
  const ir_stmt *s = E->f->stmts[c->stmt];
  for (int t = 0; t < c->n_cols; t++)
    if (!ir_size_is_const(s->index[c->cols[t]].hi, &hi) || __builtin_mul_overflow(n, hi, &n))
      return false;
  return n < b->nr;
}

/* Opens the loop over the tile's rows: the row index where a step uses
 * it, and the row's first element aotc_er. */
static void open_rows(emit_fn *E, const tile_epilogue *te)
{
  const sched_contraction *c = &E->pf->contr[te->ci];
  emit_open_block(E, "for (int64_t aotc_ei = 0; aotc_ei < aotc_emr; aotc_ei++)");
  if (c->n_rows == 1 && te->used[c->rows[0]])
    emit_line(E, "const int64_t aotc_e%d = aotc_x%d + aotc_ei;", c->rows[0], c->rows[0]);
  emit_line(E, "float *aotc_er = aotc_c + aotc_ei * aotc_rs;");
}

/* Whether a full tile's rows take 16-lane AVX-512 steps (print_vector_rows):
 * one column index, whole vectors of columns, every step a float value
 * printable 16 lanes at a time (emit_vmath_vec_ok) and at least one a call
 * with a 16-lane form (GELU's erf: gcc's own vector form of the scalar
 * aotc_erff took 1.6 times as long, bench/RESULTS.md). */
static bool vector_rows(const emit_fn *E, const tile_epilogue *te, const sched_blocks *b)
{
  const sched_contraction *c = &E->pf->contr[te->ci];
  int calls = 0;
  if (c->n_cols != 1 || b->nr % 16)
    return false;
  for (int i = te->first; i < te->end; i++) {
    const ir_stmt *s = E->f->stmts[i];
    if (!ir_stmt_is_plain(s) || E->f->tensors[s->tensor]->type != IR_F32 ||
        (s->red != IR_RED_NONE && s->red != IR_RED_ADD) ||
        !emit_vmath_vec_ok(E, s, s->rhs, lane_index(c, E->f, s), &calls))
      return false;
  }
  return calls > 0;
}

/* A full tile's rows 16 columns at a time (vector_rows), under
 * EMIT_AVX512_GUARD: the running value aotc_vv, each step's right-hand side
 * printed by emit_vmath_vec_print. */
static void print_vector_rows(emit_fn *E, const tile_epilogue *te, const sched_blocks *b)
{
  const sched_contraction *c = &E->pf->contr[te->ci];
  E->em->need_immintrin = true;
  fputs(EMIT_AVX512_GUARD, E->out);
  open_rows(E, te);
  emit_open_block(E, "for (int64_t aotc_ej = 0; aotc_ej < %d; aotc_ej += 16)", b->nr);
  if (te->used[c->cols[0]])
    emit_line(E, "const int64_t aotc_e%d = aotc_x%d + aotc_ej;", c->cols[0], c->cols[0]);
  if (te->residual)
    emit_line(E, "const int64_t aotc_eo = aotc_eo0 + aotc_ei * aotc_rs + aotc_ej;");
  emit_line(E, "__m512 aotc_vv = _mm512_loadu_ps(&aotc_er[aotc_ej]);");
  print_steps(E, te, true);
  emit_line(E, "_mm512_storeu_ps(&aotc_er[aotc_ej], aotc_vv);");
  emit_close_block(E);
  emit_close_block(E);
  fputs("#else\n", E->out);
}

/* The rows of the tile: the loop over its row index, each row's elements
 * in a loop of their own; with a full stride-1 tile (a constant trip count:
 * it vectorises) first a test, marked likely: gcc at -O2 predicts an
 * equality false, and a loop it predicts cold it does not vectorise (the
 * transformer's GELU epilogue: 0.072 ms scalar, 0.011 ms vectorised). */
static void print_rows(emit_fn *E, const tile_epilogue *te, const sched_blocks *b)
{
  const sched_contraction *c = &E->pf->contr[te->ci];
  bool full = !narrow(E, c, b), vec = full && vector_rows(E, te, b);
  if (full)
    emit_open_block(E, "if (AOTC_LIKELY(aotc_enr == %d && aotc_cs == 1))", b->nr);
  for (int fast = full ? 1 : 0; fast >= 0; fast--) {
    if (fast && vec)
      print_vector_rows(E, te, b);
    open_rows(E, te);
    fputs(ivdep, E->out);
    if (fast)
      emit_open_block(E, "for (int64_t aotc_ej = 0; aotc_ej < %d; aotc_ej++)", b->nr);
    else
      emit_open_block(E, "for (int64_t aotc_ej = 0; aotc_ej < aotc_enr; aotc_ej++)");
    print_element(E, te, fast ? "aotc_ej" : "aotc_ej * aotc_cs");
    emit_close_block(E);
    emit_close_block(E);
    if (fast && vec)
      fputs("#endif\n", E->out);
    if (fast) {
      E->indent--;
      emit_open_block(E, "} else");
    }
  }
  if (full)
    emit_close_block(E);
}

/* The contraction's statement and index names back, after the steps. */
static void rebind_contraction(emit_fn *E, const sched_contraction *c)
{
  const ir_stmt *s0 = E->f->stmts[c->stmt];
  E->stmt = s0;
  for (int x = 0; x < s0->n_index; x++)
    emit_bind_index(E, x);
}

void emit_epilogue_print_tile(emit_fn *E, int ci)
{
  tile_epilogue te = {.ci = ci};
  const sched_contraction *c = &E->pf->contr[ci];
  const sched_blocks *b = &E->pf->blocks[ci];
  epilogue_kernels(E->pf, ci, &te.first, &te.end);
  if (te.end == 0)
    return;
  te.first = E->pf->kernels[te.first].first;
  te.end = E->pf->kernels[te.end - 1].end;
  if (!collect_uses(E, &te)) {
    E->failed = true;
    return;
  }
  emit_open_block(E, "if (aotc_pc + aotc_kc == aotc_k)");
  emit_line(E, "/* epilogue: statements %d..%d fused into the store of the tile */", te.first, te.end - 1);
  emit_line(E, "const int64_t aotc_emr = aotc_min(%d, aotc_mc - aotc_ir), aotc_enr = aotc_min(%d, aotc_nc - aotc_jr);",
            b->mr, b->nr);
  if (te.residual)
    emit_line(E, "const int64_t aotc_eo0 = aotc_c - %s;", E->tensor_c[E->f->stmts[c->stmt]->tensor]);
  E->epi_on = true;
  E->epi_tensor = E->f->stmts[c->stmt]->tensor;
  print_rows(E, &te, b);
  E->epi_on = false;
  emit_close_block(E);
  rebind_contraction(E, c);
}

bool emit_epilogue_print_read(emit_fn *E, const ir_expr *e)
{
  const ir_func *f = E->f;
  if (e->tensor == E->epi_tensor) {
    fputs("aotc_v", E->out);
    return true;
  }
  if (!emit_same_shape(f->tensors[e->tensor], f->tensors[E->epi_tensor]))
    return false;
  fprintf(E->out, "%s[aotc_eo]", E->tensor_c[e->tensor]);
  return true;
}

bool emit_epilogue_print_kernel(emit_fn *E, const emit_kernel *k)
{
  if (k->epilogue_of < 0)
    return false;
  emit_line(E, "/* statements %d..%d: fused into the store of the packed contraction of statement %d */", k->first,
            k->end - 1, E->pf->contr[k->epilogue_of].stmt);
  return true;
}
