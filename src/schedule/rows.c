/* rows.c: row kernels. A group of statements that reduce over part of a
 * row and then map over the same row (softmax, log-softmax, layer and
 * instance normalisation, RMS or L2 normalisation: any reduction followed
 * by a map reading its result) and that touch each other's results only
 * within the same row gets one schedule: one loop over the rows (the
 * leading dimensions every statement writes alike) around each statement's
 * own loops over the rest of the row, in program order, so that a row
 * stays in the L1 cache between the statements and the tensor is read once
 * from memory. The partition keeps such a node's statements in one kernel
 * (sched_row_prefix), the plan gives that kernel sched_row_schedule
 * instead of isl's. */
#include "schedule.h"

#include <isl/aff.h>
#include <isl/ctx.h>
#include <isl/id.h>
#include <isl/schedule_node.h>
#include <isl/set.h>
#include <isl/space.h>
#include <isl/union_set.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Recognition
 * ------------------------------------------------------------------------ */

static bool written_in(const ir_func *f, int first, int end, int t)
{
  for (int i = first; i < end; i++)
    if (f->stmts[i]->tensor == t)
      return true;
  return false;
}

static bool same_range(const ir_index *a, const ir_index *b)
{
  return ir_size_equal(a->lo, b->lo) && ir_size_equal(a->hi, b->hi);
}

/* Whether every read in e of a tensor the group writes is at s's own row
 * (subscripts 0..p-1 are s's row indices). */
static bool reads_own_row(const ir_func *f, int first, int end, const ir_stmt *s, const ir_expr *e, int p)
{
  if (e->kind == IR_ACCESS && written_in(f, first, end, e->tensor)) {
    if (e->padded || e->n_args < p)
      return false;
    for (int j = 0; j < p; j++)
      if (e->args[j]->kind != IR_INDEX || e->args[j]->index != s->lhs[j])
        return false;
  }
  for (int k = 0; k < e->n_args; k++)
    if (!reads_own_row(f, first, end, s, e->args[k], p))
      return false;
  return true;
}

/* Leading left-hand positions whose ranges all statements share. */
static int shared_prefix(const ir_func *f, int first, int end)
{
  const ir_stmt *a = f->stmts[first];
  int p = a->n_lhs;
  for (int i = first; i < end; i++) {
    const ir_stmt *s = f->stmts[i];
    if (!ir_stmt_is_plain(s) || s->n_lhs != a->n_lhs || s->n_index > SCHED_MAX_DIMS)
      return 0;
    for (int j = 0; j < p; j++)
      if (!same_range(&s->index[s->lhs[j]], &a->index[a->lhs[j]]))
        p = j;
  }
  return p;
}

/* Whether a map statement reads a reduction's result over a longer row
 * than the reduction wrote (the reduce-then-map pattern). */
static bool maps_over_reduction(const ir_func *f, int first, int end)
{
  for (int r = first; r < end; r++) {
    const ir_stmt *red = f->stmts[r];
    for (int i = r + 1; red->red != IR_RED_NONE && i < end; i++) {
      const ir_stmt *s = f->stmts[i];
      if (s->red != IR_RED_NONE || !ir_expr_reads(s->rhs, red->tensor))
        continue;
      for (int j = 0; j < s->n_lhs; j++)
        if (!same_range(&s->index[s->lhs[j]], &red->index[red->lhs[j]]))
          return true;
    }
  }
  return false;
}

int sched_row_prefix(const ir_func *f, int first, int end)
{
  if (end - first < 2 || end - first > 16)
    return 0;
  int p = shared_prefix(f, first, end);
  if (p < 1 || p >= f->stmts[first]->n_lhs || !maps_over_reduction(f, first, end))
    return 0;
  for (int i = first; i < end; i++)
    if (!reads_own_row(f, first, end, f->stmts[i], f->stmts[i]->rhs, p))
      return 0;
  return p;
}

/* ------------------------------------------------------------------------
 * The schedule: rows band, then each statement's loops in program order
 * ------------------------------------------------------------------------ */

/* The map from the set's points to their coordinates pos[0..n-1]. */
static __isl_give isl_multi_aff *pick_dims(__isl_keep isl_set *dom, const int *pos, int n)
{
  isl_space *sp = isl_set_get_space(dom);
  isl_multi_aff *id = isl_multi_aff_identity(isl_space_map_from_set(isl_space_copy(sp)));
  isl_space *range = isl_space_add_dims(isl_space_set_from_params(isl_space_params(isl_space_copy(sp))),
                                        isl_dim_set, n);
  isl_aff_list *list = isl_aff_list_alloc(isl_set_get_ctx(dom), n);
  for (int i = 0; i < n; i++)
    list = isl_aff_list_add(list, isl_multi_aff_get_aff(id, pos[i]));
  isl_multi_aff_free(id);
  return isl_multi_aff_from_aff_list(isl_space_map_from_domain_and_range(sp, range), list);
}

/* The access in e with the most subscripts (the row a reduction reads). */
static const ir_expr *widest_access(const ir_expr *e, const ir_expr *best)
{
  if (e->kind == IR_ACCESS && (!best || e->n_args > best->n_args))
    best = e;
  for (int k = 0; k < e->n_args; k++)
    best = widest_access(e->args[k], best);
  return best;
}

/* Where index x first subscripts access a; -1 when it does not. */
static int subscript_of(const ir_expr *a, int x)
{
  for (int j = 0; a && j < a->n_args; j++)
    if (a->args[j]->kind == IR_INDEX && a->args[j]->index == x)
      return j;
  return -1;
}

/* A reduction's inner loops in the order of the row it reads (the
 * reduced dimension outside a kept one after it: unit stride inside). */
static void order_like_read(const ir_stmt *s, int *inner, int n_inner)
{
  const ir_expr *a = widest_access(s->rhs, NULL);
  for (int i = 1; i < n_inner; i++)
    for (int j = i; j > 0 && subscript_of(a, inner[j - 1]) > subscript_of(a, inner[j]); j--) {
      int t = inner[j];
      inner[j] = inner[j - 1];
      inner[j - 1] = t;
    }
}

/* Row and inner coordinates of isl statement S_n (init: S_n_init). */
static void split_dims(const ir_stmt *s, bool init, int p, int *row, int *inner, int *n_inner)
{
  bool is_row[SCHED_MAX_DIMS] = {false};
  *n_inner = 0;
  for (int j = 0; j < p; j++) {
    row[j] = init ? j : s->lhs[j];
    is_row[row[j]] = true;
  }
  for (int x = 0; x < (init ? s->n_lhs : s->n_index); x++)
    if (!is_row[x])
      inner[(*n_inner)++] = x;
  if (!init && s->red != IR_RED_NONE)
    order_like_read(s, inner, *n_inner);
}

static __isl_give isl_schedule_node *mark(__isl_take isl_schedule_node *node, const char *name)
{
  return isl_schedule_node_insert_mark(node, isl_id_alloc(isl_schedule_node_get_ctx(node), name, NULL));
}

/* Whether the innermost inner loop of s writes a new element every
 * iteration (a map, an initialisation, a reduction along a kept index). */
static bool inner_is_parallel(const ir_stmt *s, bool init, const int *inner, int n_inner)
{
  if (init || s->red == IR_RED_NONE)
    return true;
  for (int j = 0; j < s->n_lhs; j++)
    if (s->lhs[j] == inner[n_inner - 1])
      return true;
  return false;
}

/* One statement's schedule: its inner loops, the innermost marked for
 * vectors when its iterations are independent. */
static __isl_give isl_schedule *stmt_schedule(__isl_take isl_set *dom, const ir_stmt *s, bool init, int p,
                                              bool vectorize, isl_union_pw_multi_aff **rows)
{
  int row[SCHED_MAX_DIMS], inner[SCHED_MAX_DIMS], n_inner;
  split_dims(s, init, p, row, inner, &n_inner);
  *rows = isl_union_pw_multi_aff_add_pw_multi_aff(*rows, isl_pw_multi_aff_from_multi_aff(pick_dims(dom, row, p)));
  isl_multi_aff *in = n_inner > 0 ? pick_dims(dom, inner, n_inner) : NULL;
  isl_schedule *sch = isl_schedule_from_domain(isl_union_set_from_set(dom));
  if (!in)
    return sch;
  isl_multi_union_pw_aff *band = isl_multi_union_pw_aff_from_union_pw_multi_aff(
      isl_union_pw_multi_aff_from_pw_multi_aff(isl_pw_multi_aff_from_multi_aff(in)));
  sch = isl_schedule_insert_partial_schedule(sch, band);
  if (!vectorize)
    return sch;
  isl_schedule_node *node = isl_schedule_node_child(isl_schedule_get_root(sch), 0);
  if (n_inner > 1)
    node = isl_schedule_node_child(isl_schedule_node_band_split(node, n_inner - 1), 0);
  node = mark(node, inner_is_parallel(s, init, inner, n_inner) ? "aotc_simd_rows" : "aotc_red_rows");
  isl_schedule_free(sch);
  sch = isl_schedule_node_get_schedule(node);
  isl_schedule_node_free(node);
  return sch;
}

static __isl_give isl_set *stmt_domain(__isl_keep isl_union_set *domain, const char *name)
{
  isl_set_list *list = isl_union_set_get_set_list(domain);
  isl_set *found = NULL;
  isl_size n = isl_set_list_n_set(list);
  for (int i = 0; i < n && !found; i++) {
    isl_set *s = isl_set_list_get_set(list, i);
    if (isl_set_get_tuple_name(s) && !strcmp(isl_set_get_tuple_name(s), name))
      found = s;
    else
      isl_set_free(s);
  }
  isl_set_list_free(list);
  return found;
}

/* The rows band on top: permutable, every member parallel; spread over
 * the threads when there are several. */
static __isl_give isl_schedule *rows_band(__isl_take isl_schedule *seq, __isl_take isl_union_pw_multi_aff *rows,
                                          int p, int threads)
{
  seq = isl_schedule_insert_partial_schedule(seq, isl_multi_union_pw_aff_from_union_pw_multi_aff(rows));
  isl_schedule_node *node = isl_schedule_node_child(isl_schedule_get_root(seq), 0);
  isl_schedule_free(seq);
  node = isl_schedule_node_band_set_permutable(node, 1);
  for (int j = 0; j < p; j++)
    node = isl_schedule_node_band_member_set_coincident(node, j, 1);
  if (threads > 1)
    node = mark(node, "aotc_parallel");
  seq = isl_schedule_node_get_schedule(node);
  isl_schedule_node_free(node);
  return seq;
}

/* ------------------------------------------------------------------------
 * A map and the reduction of its results in one loop
 *
 * Softmax's exp pass writes a row that its sum pass then reads back: two
 * passes over the row in L1, where one loop can store each element and
 * add it into the sum (bench/RESULTS.md: 4096x1024 0.62 -> 0.72 of a memcpy
 * with this alone). Statement m (a map) and the next statement r (a sum,
 * maximum or minimum) share their one inner loop when r reduces exactly
 * m's element at that index over the same range, m does not read r's
 * tensor, and the row is known to be at least FUSE_MIN long (shorter
 * rows keep their separate vector loops); r's initialisation moves
 * before m. The band is marked "aotc_map_red_rows" (emit_hoist.c prints
 * it); its child is the sequence m, r.
 * ------------------------------------------------------------------------ */

#define FUSE_MIN 128

/* The innermost inner index of s (after the p row positions) when the
 * others run over one value each (a reduction's kept dimensions of size
 * 1), or -1. */
static int only_inner(const ir_stmt *s, int p)
{
  int row[SCHED_MAX_DIMS], inner[SCHED_MAX_DIMS], n_inner;
  int64_t lo, hi;
  split_dims(s, false, p, row, inner, &n_inner);
  for (int j = 0; j + 1 < n_inner; j++)
    if (!ir_size_is_const(s->index[inner[j]].lo, &lo) || !ir_size_is_const(s->index[inner[j]].hi, &hi) || hi - lo != 1)
      return -1;
  return n_inner >= 1 ? inner[n_inner - 1] : -1;
}

static bool fusable(const ir_func *f, int i, int end, int p)
{
  if (i + 1 >= end)
    return false;
  const ir_stmt *m = f->stmts[i], *r = f->stmts[i + 1];
  if (m->red != IR_RED_NONE || (r->red != IR_RED_ADD && r->red != IR_RED_MAX && r->red != IR_RED_MIN) ||
      !ir_types[f->tensors[r->tensor]->type].is_float || m->n_lhs != p + 1 || ir_expr_reads(m->rhs, r->tensor))
    return false;
  int xm = only_inner(m, p), xr = only_inner(r, p);
  const ir_expr *a = r->rhs;
  if (xm < 0 || xr < 0 || m->lhs[p] != xm || !same_range(&m->index[xm], &r->index[xr]) || a->kind != IR_ACCESS ||
      a->tensor != m->tensor || a->padded || a->n_args != p + 1)
    return false;
  for (int j = 0; j <= p; j++)
    if (a->args[j]->kind != IR_INDEX || a->args[j]->index != (j < p ? r->lhs[j] : xr))
      return false;
  int64_t lo, hi;
  return !(ir_size_is_const(m->index[xm].lo, &lo) && ir_size_is_const(m->index[xm].hi, &hi) && hi - lo < FUSE_MIN);
}

/* m and r (fusable) in one inner loop, m first in it. */
static __isl_give isl_schedule *fused_schedule(__isl_take isl_set *dm, __isl_take isl_set *dr, const ir_func *f,
                                               int i, int p, isl_union_pw_multi_aff **rows)
{
  const ir_stmt *st[2] = {f->stmts[i], f->stmts[i + 1]};
  isl_set *dom[2] = {dm, dr};
  isl_union_pw_multi_aff *in = isl_union_pw_multi_aff_empty(isl_space_params(isl_set_get_space(dm)));
  isl_union_set_list *order = isl_union_set_list_alloc(isl_set_get_ctx(dm), 2);
  for (int k = 0; k < 2; k++) {
    int row[SCHED_MAX_DIMS], x = only_inner(st[k], p);
    for (int j = 0; j < p; j++)
      row[j] = st[k]->lhs[j];
    *rows = isl_union_pw_multi_aff_add_pw_multi_aff(*rows, isl_pw_multi_aff_from_multi_aff(pick_dims(dom[k], row, p)));
    in = isl_union_pw_multi_aff_add_pw_multi_aff(in, isl_pw_multi_aff_from_multi_aff(pick_dims(dom[k], &x, 1)));
    order = isl_union_set_list_add(order, isl_union_set_from_set(isl_set_copy(dom[k])));
  }
  isl_schedule *sch = isl_schedule_from_domain(isl_union_set_union(isl_union_set_from_set(dm),
                                                                   isl_union_set_from_set(dr)));
  sch = isl_schedule_insert_partial_schedule(sch, isl_multi_union_pw_aff_from_union_pw_multi_aff(in));
  isl_schedule_node *node = isl_schedule_node_child(isl_schedule_get_root(sch), 0);
  isl_schedule_free(sch);
  node = isl_schedule_node_parent(isl_schedule_node_insert_sequence(isl_schedule_node_child(node, 0), order));
  node = mark(node, "aotc_map_red_rows");
  sch = isl_schedule_node_get_schedule(node);
  isl_schedule_node_free(node);
  return sch;
}

/* seq, then statement k's schedule (its initialisation when init). */
static __isl_give isl_schedule *then_stmt(__isl_take isl_schedule *seq, __isl_keep isl_union_set *domain,
                                          const ir_func *f, int first, int k, bool init, int p,
                                          const sched_options *o, isl_union_pw_multi_aff **rows)
{
  char name[32];
  snprintf(name, sizeof(name), init ? "S_%d_init" : "S_%d", k - first);
  isl_set *dom = stmt_domain(domain, name);
  isl_schedule *one = dom ? stmt_schedule(dom, f->stmts[k], init, p, o->vectorize, rows) : NULL;
  return !seq ? one : isl_schedule_sequence(seq, one);
}

/* seq, then statements i and i + 1 in one loop (fusable). */
static __isl_give isl_schedule *then_fused(__isl_take isl_schedule *seq, __isl_keep isl_union_set *domain,
                                           const ir_func *f, int first, int i, int p, isl_union_pw_multi_aff **rows)
{
  char name[32];
  snprintf(name, sizeof(name), "S_%d", i - first);
  isl_set *dm = stmt_domain(domain, name);
  snprintf(name, sizeof(name), "S_%d", i + 1 - first);
  isl_set *dr = stmt_domain(domain, name);
  isl_schedule *two = NULL;
  if (dm && dr) {
    two = fused_schedule(dm, dr, f, i, p, rows);
  } else {
    isl_set_free(dm);
    isl_set_free(dr);
  }
  return !seq ? two : isl_schedule_sequence(seq, two);
}

__isl_give isl_schedule *sched_row_schedule(__isl_take isl_schedule *schedule, const ir_func *f, int first,
                                            int end, const sched_options *o)
{
  int p = sched_row_prefix(f, first, end);
  isl_union_set *domain = isl_schedule_get_domain(schedule);
  isl_schedule *seq = NULL;
  isl_union_pw_multi_aff *rows = isl_union_pw_multi_aff_empty(isl_union_set_get_space(domain));
  for (int i = first; p > 0 && i < end; i++) {
    const ir_stmt *s = f->stmts[i];
    if (o->vectorize && fusable(f, i, end, p)) { /* the reduction's initialisation, then both in one loop */
      const ir_stmt *r = f->stmts[i + 1];
      if (r->init && r->red != IR_RED_NONE)
        seq = then_stmt(seq, domain, f, first, i + 1, true, p, o, &rows);
      seq = then_fused(seq, domain, f, first, i, p, &rows);
      i++;
      continue;
    }
    for (int init = s->init && s->red != IR_RED_NONE; init >= 0; init--)
      seq = then_stmt(seq, domain, f, first, i, init, p, o, &rows);
  }
  isl_union_set_free(domain);
  if (!seq || !rows) {
    isl_schedule_free(seq);
    isl_union_pw_multi_aff_free(rows);
    return schedule;
  }
  seq = rows_band(seq, rows, p, o->threads);
  if (!seq)
    return schedule;
  isl_schedule_free(schedule);
  return seq;
}
