/* bounds.c: every read of a TC def stays inside the tensor it reads, for
 * every value of the statement's indices in their ranges (explicit `where`
 * ranges and inferred ones alike). For each dimension of each read (padded
 * reads excepted) whose index is affine in the indices, the least and the
 * greatest index over the ranges (a box: every range is a size expression)
 * are compared with the extent:
 *   - inside for every size, as linear forms show: nothing to do;
 *   - otherwise isl decides, over the sizes for which the statement runs
 *     (every range non-empty; when the sizes hold more than a few min and
 *     max, isl is skipped as if it said "some"): inside for all of them:
 *     nothing to do;
 *     outside for all of them: an error at the range that lets the read out
 *     (its `where` clause, or the index's first use); outside for some: a
 *     run-time check of the entry (f->checks), which then returns 1.
 * Indices of other forms (division, modulo, values read from tensors) are
 * not checked here. */
#include "tc_internal.h"

#include <isl/aff.h>
#include <isl/ctx.h>
#include <isl/options.h>
#include <isl/set.h>
#include <isl/space.h>
#include <stdlib.h>

#define BOUNDS_MAX_ISL_OPS 200000
#define BOUNDS_MAX_MINMAX 6 /* beyond this, a run-time check instead of isl */

typedef struct reader {
  aotc_ctx *ctx;
  ir_func *f;
  const ir_stmt *st;
  isl_ctx *isl; /* made on first need */
  ir_vec checks;
  bool failed;
} reader;

/* One dimension of one read: index, extent and the extremes of the index. */
typedef struct read_dim {
  const ir_expr *access;
  int dim;
  tc_affine a;
  ir_size *extent, *least, *greatest;
} read_dim;

typedef enum { INSIDE, OUTSIDE, DEPENDS } verdict;

static ir_size *konst(reader *r, int64_t v)
{
  return ir_size_const(r->ctx, v);
}

static ir_size *bin(reader *r, ir_size_kind kind, ir_size *a, ir_size *b)
{
  return ir_size_bin(r->ctx, kind, a, b);
}

/* The least (greatest) value of a over the statement's ranges. */
static ir_size *extreme(reader *r, const tc_affine *a, bool greatest)
{
  ir_size *acc = a->rest ? a->rest : konst(r, 0);
  for (int k = 0; k < a->n; k++) {
    int64_t c = a->coef[k];
    const ir_index *x = &r->st->index[a->idx[k]];
    if (!c)
      continue;
    ir_size *v = (c > 0) == greatest ? bin(r, IR_SZ_SUB, x->hi, konst(r, 1)) : x->lo;
    acc = bin(r, IR_SZ_ADD, acc, bin(r, IR_SZ_MUL, konst(r, c), v));
  }
  return tc_size_simplify(r->ctx, acc);
}

/* ------------------------------------------------------------------------
 * isl: over the sizes for which the statement runs
 * ------------------------------------------------------------------------ */

static __isl_give isl_pw_aff *size_pa(__isl_keep isl_space *space, const ir_size *s)
{
  isl_local_space *ls = isl_local_space_from_space(isl_space_copy(space));
  if (!s || s->kind == IR_SZ_CONST)
    return isl_pw_aff_from_aff(isl_aff_val_on_domain(ls, isl_val_int_from_si(isl_space_get_ctx(space),
                                                                              s ? (long)s->value : 0)));
  if (s->kind == IR_SZ_PARAM)
    return isl_pw_aff_from_aff(isl_aff_var_on_domain(ls, isl_dim_param, (unsigned)s->value));
  isl_local_space_free(ls);
  isl_pw_aff *a = size_pa(space, s->a), *b = size_pa(space, s->b);
  switch (s->kind) {
  case IR_SZ_ADD:
    return isl_pw_aff_add(a, b);
  case IR_SZ_SUB:
    return isl_pw_aff_sub(a, b);
  case IR_SZ_MUL:
    return isl_pw_aff_mul(a, b);
  case IR_SZ_FLOORDIV:
    return isl_pw_aff_floor(isl_pw_aff_div(a, b));
  case IR_SZ_CEILDIV:
    return isl_pw_aff_ceil(isl_pw_aff_div(a, b));
  case IR_SZ_MIN:
    return isl_pw_aff_min(a, b);
  default:
    return isl_pw_aff_max(a, b);
  }
}

/* { lo < hi }, a max in lo or a min in hi as the intersection of its terms
 * conditions (isl's min of many terms has exponentially many pieces). */
static __isl_give isl_set *less(__isl_keep isl_space *space, const ir_size *lo, const ir_size *hi)
{
  if (lo && lo->kind == IR_SZ_MAX)
    return isl_set_intersect(less(space, lo->a, hi), less(space, lo->b, hi));
  if (hi && hi->kind == IR_SZ_MIN)
    return isl_set_intersect(less(space, lo, hi->a), less(space, lo, hi->b));
  return isl_pw_aff_lt_set(size_pa(space, lo), size_pa(space, hi));
}

/* The sizes (all non-negative) for which every range of the statement is
 * non-empty. */
static __isl_give isl_set *runs(reader *r, __isl_keep isl_space *space)
{
  isl_set *set = isl_set_universe(isl_space_copy(space));
  for (int p = 0; p < r->f->n_params; p++)
    set = isl_set_intersect(set, isl_pw_aff_nonneg_set(size_pa(space, ir_size_param(r->ctx, p))));
  for (int k = 0; k < r->st->n_index; k++) {
    const ir_index *x = &r->st->index[k];
    set = isl_set_intersect(set, less(space, x->lo, x->hi));
  }
  return set;
}

static __isl_give isl_space *param_space(reader *r)
{
  isl_space *space = isl_space_set_alloc(r->isl, (unsigned)r->f->n_params, 0);
  for (int p = 0; p < r->f->n_params; p++) {
    char name[24];
    snprintf(name, sizeof(name), "p%d", p);
    space = isl_space_set_dim_name(space, isl_dim_param, (unsigned)p, name);
  }
  return space;
}

static bool make_isl(reader *r)
{
  if (r->isl)
    return true;
  r->isl = isl_ctx_alloc();
  if (!r->isl)
    return false;
  isl_options_set_on_error(r->isl, ISL_ON_ERROR_CONTINUE);
  isl_ctx_set_max_operations(r->isl, BOUNDS_MAX_ISL_OPS);
  return true;
}

/* Whether d leaves its tensor for no size, every size or some sizes for
 * which the statement runs; DEPENDS when isl cannot tell. */
static verdict isl_verdict(reader *r, const read_dim *d)
{
  if (!make_isl(r))
    return DEPENDS;
  isl_ctx_reset_operations(r->isl);
  isl_space *space = param_space(r);
  isl_set *run = runs(r, space);
  isl_set *low = isl_pw_aff_lt_set(size_pa(space, d->least), size_pa(space, konst(r, 0)));
  isl_set *high = isl_pw_aff_ge_set(size_pa(space, d->greatest), size_pa(space, d->extent));
  isl_set *bad = isl_set_intersect(isl_set_union(low, high), isl_set_copy(run));
  isl_bool none = isl_set_is_empty(bad);
  isl_bool all = none == isl_bool_false ? isl_set_is_subset(run, bad) : isl_bool_false;
  isl_set_free(bad);
  isl_set_free(run);
  isl_space_free(space);
  if (none == isl_bool_true)
    return INSIDE;
  return all == isl_bool_true ? OUTSIDE : DEPENDS;
}

/* The min and max nodes of s: each can double the pieces isl works on. */
static int minmax_nodes(const ir_size *s)
{
  if (!s || s->kind == IR_SZ_CONST || s->kind == IR_SZ_PARAM)
    return 0;
  return (s->kind == IR_SZ_MIN || s->kind == IR_SZ_MAX) + minmax_nodes(s->a) + minmax_nodes(s->b);
}

/* Whether isl can decide d quickly: few min and max nodes in its sizes. */
static bool small_for_isl(reader *r, const read_dim *d)
{
  int n = minmax_nodes(d->least) + minmax_nodes(d->greatest) + minmax_nodes(d->extent);
  for (int k = 0; k < r->st->n_index; k++)
    n += minmax_nodes(r->st->index[k].lo) + minmax_nodes(r->st->index[k].hi);
  return n <= BOUNDS_MAX_MINMAX;
}

static verdict judge(reader *r, const read_dim *d)
{
  ir_size *last = bin(r, IR_SZ_SUB, d->extent, konst(r, 1));
  if (tc_size_le(konst(r, 0), d->least) && tc_size_le(d->greatest, last))
    return INSIDE;
  return small_for_isl(r, d) ? isl_verdict(r, d) : DEPENDS;
}

/* ------------------------------------------------------------------------
 * Outcomes: an error or a run-time check
 * ------------------------------------------------------------------------ */

static const char *size_text(reader *r, const ir_size *s)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return "?";
  ir_size_print(f, s, r->f->param_names);
  fclose(f);
  const char *out = buf ? ir_strndup(r->ctx, buf, len > 200 ? 200 : len) : "?";
  free(buf);
  return out ? out : "?";
}

/* The index whose range lets d out: an explicit range first. */
static const ir_index *culprit(reader *r, const read_dim *d)
{
  const ir_index *found = NULL;
  for (int k = 0; k < d->a.n; k++) {
    const ir_index *x = &r->st->index[d->a.idx[k]];
    if (d->a.coef[k] && (!found || (x->explicit_range && !found->explicit_range)))
      found = x;
  }
  return found;
}

static bool report_outside(reader *r, const read_dim *d)
{
  const ir_tensor *t = r->f->tensors[d->access->tensor];
  const ir_index *x = culprit(r, d);
  bool below = !tc_size_le(konst(r, 0), d->least);
  const char *reach = below ? size_text(r, d->least) : size_text(r, d->greatest);
  if (!x) {
    aotc_error(r->ctx, d->access->loc, "read of '%s' outside its bounds: index %s of dimension %d (size %s)",
               t->name, reach, d->dim, size_text(r, d->extent));
    return false;
  }
  aotc_error(r->ctx, x->loc,
             "the range of '%s' (%s:%s) makes the read of '%s' leave its bounds: the index of dimension %d "
             "%s %s, but its size is %s",
             x->name, size_text(r, x->lo), size_text(r, x->hi), t->name, d->dim, below ? "goes down to" : "reaches",
             reach, size_text(r, d->extent));
  return false;
}

/* Adds `term` to a min (max) of terms. */
static ir_size *fold(reader *r, ir_size_kind kind, ir_size *acc, ir_size *term)
{
  return acc ? bin(r, kind, acc, term) : term;
}

/* max(max_k(lo_k - hi_k), min(least, extent - 1 - greatest)) >= 0: some
 * range is empty, or the read stays inside (terms that are provably
 * negative, or provably non-negative inside the min, are left out). */
static bool add_check(reader *r, const read_dim *d)
{
  ir_size *last = bin(r, IR_SZ_SUB, d->extent, konst(r, 1)), *inside = NULL, *check;
  if (!tc_size_le(konst(r, 0), d->least))
    inside = d->least;
  if (!tc_size_le(d->greatest, last))
    inside = fold(r, IR_SZ_MIN, inside, bin(r, IR_SZ_SUB, last, d->greatest));
  check = inside;
  for (int k = 0; k < r->st->n_index; k++) {
    const ir_index *x = &r->st->index[k];
    if (!tc_size_le(bin(r, IR_SZ_ADD, x->lo, konst(r, 1)), x->hi))
      check = fold(r, IR_SZ_MAX, check, bin(r, IR_SZ_SUB, x->lo, x->hi));
  }
  check = tc_size_simplify(r->ctx, check);
  if (!check)
    return false;
  for (int i = 0; i < r->checks.n; i++)
    if (ir_size_equal(r->checks.items[i], check))
      return true;
  return ir_vec_push(r->ctx, &r->checks, check);
}

/* ------------------------------------------------------------------------
 * Walking the reads
 * ------------------------------------------------------------------------ */

static bool check_dim(reader *r, const ir_expr *access, int dim)
{
  read_dim d = {.access = access, .dim = dim};
  if (!tc_affine_of(r->ctx, access->args[dim], &d.a))
    return true;
  d.extent = r->f->tensors[access->tensor]->shape[dim];
  d.least = extreme(r, &d.a, false);
  d.greatest = extreme(r, &d.a, true);
  if (!d.least || !d.greatest || !d.extent)
    return false;
  switch (judge(r, &d)) {
  case INSIDE:
    return true;
  case OUTSIDE:
    return report_outside(r, &d);
  default:
    return add_check(r, &d);
  }
}

static bool check_expr(reader *r, const ir_expr *e)
{
  for (int i = 0; i < e->n_args; i++)
    if (!check_expr(r, e->args[i]))
      return false;
  if (e->kind != IR_ACCESS || e->padded)
    return true;
  for (int d = 0; d < e->n_args; d++)
    if (!check_dim(r, e, d))
      return false;
  return true;
}

bool tc_check_reads(aotc_ctx *ctx, ir_func *f)
{
  reader r = {.ctx = ctx, .f = f};
  bool ok = true;
  for (int s = 0; ok && s < f->n_stmts; s++) {
    r.st = f->stmts[s];
    ok = check_expr(&r, f->stmts[s]->rhs);
  }
  if (r.isl)
    isl_ctx_free(r.isl);
  f->n_checks = r.checks.n;
  f->checks = (ir_size **)r.checks.items;
  return ok && !ctx->oom;
}
