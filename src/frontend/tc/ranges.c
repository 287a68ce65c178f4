/* ranges.c: the ranges of a TC statement's index variables: explicit
 * `where i in LO:HI` clauses, then inference in rounds over the accesses
 * (docs/tc-language.md, "Range inference"), and the shapes of the tensors
 * written. */
#include "sema_internal.h"

static ir_size *sz(sema *s, ir_size_kind kind, ir_size *a, ir_size *b)
{
  return ir_size_bin(s->ctx, kind, a, b);
}

static ir_size *szc(sema *s, int64_t v)
{
  return ir_size_const(s->ctx, v);
}

/* ------------------------------------------------------------------------
 * Explicit ranges
 * ------------------------------------------------------------------------ */

static ir_size *bound_size(sema *s, const tc_node *n);

static ir_size *bound_error(sema *s, const tc_node *n, const char *what)
{
  aotc_error(s->ctx, n->loc, "%s", what);
  return NULL;
}

static ir_size *bound_name(sema *s, const tc_node *n)
{
  int p = tc_sema_find_param(s, n->name);
  if (p >= 0)
    return ir_size_param(s->ctx, p);
  aotc_error(s->ctx, n->loc, "'%s' is not a size; range bounds use integers, sizes and T.k", n->name);
  return NULL;
}

static ir_size *bound_binary(sema *s, const tc_node *n)
{
  ir_size *a = bound_size(s, n->args[0]), *b = a ? bound_size(s, n->args[1]) : NULL;
  int64_t v;
  if (!b)
    return NULL;
  if (n->op == IR_ADD || n->op == IR_SUB)
    return sz(s, n->op == IR_ADD ? IR_SZ_ADD : IR_SZ_SUB, a, b);
  if (n->op == IR_MUL && (ir_size_is_const(a, NULL) || ir_size_is_const(b, NULL)))
    return sz(s, IR_SZ_MUL, a, b);
  if (n->op == IR_MUL)
    return bound_error(s, n, "range bound must be affine: one factor of '*' must be a constant");
  if (n->op == IR_DIV && ir_size_is_const(b, &v) && v > 0)
    return sz(s, IR_SZ_FLOORDIV, a, b);
  if (n->op == IR_DIV)
    return bound_error(s, n, "range bound can only be divided by a positive constant");
  return bound_error(s, n, "range bound must be a size expression (integers, sizes, T.k, + - * /)");
}

/* A size expression written in a `where i in LO:HI` clause. */
static ir_size *bound_size(sema *s, const tc_node *n)
{
  switch (n->kind) {
  case TC_N_INT:
    return szc(s, n->ival);
  case TC_N_IDENT:
    return bound_name(s, n);
  case TC_N_DIM:
    return tc_sema_dim_of(s, n->name, n->ival, n->loc);
  case TC_N_BINARY:
    return bound_binary(s, n);
  case TC_N_UNARY:
    if (n->op == IR_NEG)
      return sz(s, IR_SZ_SUB, szc(s, 0), bound_size(s, n->args[0]));
    return bound_error(s, n, "range bound must be a size expression (integers, sizes, T.k, + - * /)");
  default:
    return bound_error(s, n, "range bound must be a size expression (integers, sizes, T.k, + - * /)");
  }
}

static bool explicit_range(sema *s, const tc_where *w)
{
  int i = tc_sema_find_index(s, w->name);
  if (i < 0)
    return tc_sema_report(s, w->loc, "unknown index '%s' in where clause: it does not appear in the statement", w->name);
  sidx *x = tc_sema_index(s, i);
  if (x->explicit_range)
    return tc_sema_report(s, w->loc, "index '%s' already has a range", w->name);
  x->lo = tc_size_simplify(s->ctx, bound_size(s, w->lo));
  x->hi = x->lo ? tc_size_simplify(s->ctx, bound_size(s, w->hi)) : NULL;
  x->known = x->explicit_range = x->hi != NULL;
  x->range_loc = w->loc;
  return x->known;
}

bool tc_explicit_ranges(sema *s, const tc_stmt *st)
{
  for (int i = 0; i < st->n_where; i++)
    if (st->where[i].kind == TC_W_RANGE && !explicit_range(s, &st->where[i]))
      return false;
  return true;
}

/* ------------------------------------------------------------------------
 * Range inference
 * ------------------------------------------------------------------------ */

/* One dimension of a read: its index expression and the extent. */
typedef struct dimref {
  tc_affine a;
  ir_size *extent;
} dimref;

/* The dimensions of the reads in e: padded ones when `padded` is set,
 * the others otherwise. */
static bool collect_dims(sema *s, const ir_expr *e, bool padded, ir_vec *out)
{
  for (int i = 0; i < e->n_args; i++)
    if (!collect_dims(s, e->args[i], padded, out))
      return false;
  if (e->kind != IR_ACCESS || e->padded != padded)
    return true;
  for (int d = 0; d < e->n_args; d++) {
    dimref *r = IR_NEW(s->ctx, dimref);
    if (!r)
      return false;
    r->extent = tc_sema_tensor(s, e->tensor)->t->shape[d];
    if (tc_affine_of(s->ctx, e->args[d], &r->a) && !ir_vec_push(s->ctx, out, r))
      return false;
  }
  return true;
}

/* The only index of r whose range is unknown, -1 if none or several. */
static int sole_unknown(sema *s, const dimref *r, int64_t *coef)
{
  int found = -1;
  for (int k = 0; k < r->a.n; k++) {
    if (!r->a.coef[k] || tc_sema_index(s, r->a.idx[k])->known)
      continue;
    if (found >= 0)
      return -1;
    found = r->a.idx[k];
    *coef = r->a.coef[k];
  }
  return found;
}

/* The least (or greatest) value of r's terms other than index i. */
static ir_size *rest_bound(sema *s, const dimref *r, int i, bool greatest)
{
  ir_size *acc = r->a.rest ? r->a.rest : szc(s, 0);
  for (int k = 0; k < r->a.n; k++) {
    int64_t c = r->a.coef[k];
    if (!c || r->a.idx[k] == i)
      continue;
    sidx *x = tc_sema_index(s, r->a.idx[k]);
    ir_size *last = sz(s, IR_SZ_SUB, x->hi, szc(s, 1));
    ir_size *v = (c > 0) == greatest ? last : x->lo;
    acc = sz(s, IR_SZ_ADD, acc, sz(s, IR_SZ_MUL, szc(s, c), v));
  }
  return acc;
}

/* The range of i for which 0 <= a*i + rest < extent for every value of rest. */
static bool bound_from(sema *s, const dimref *r, int i, int64_t a, ir_size **lo, ir_size **hi)
{
  ir_size *rmin = rest_bound(s, r, i, false), *rmax = rest_bound(s, r, i, true);
  ir_size *last = sz(s, IR_SZ_SUB, r->extent, szc(s, 1));
  if (a == INT64_MIN)
    return false;
  if (a > 0) {
    *lo = sz(s, IR_SZ_CEILDIV, sz(s, IR_SZ_SUB, szc(s, 0), rmin), szc(s, a));
    *hi = sz(s, IR_SZ_ADD, sz(s, IR_SZ_FLOORDIV, sz(s, IR_SZ_SUB, last, rmax), szc(s, a)), szc(s, 1));
  } else {
    *lo = sz(s, IR_SZ_CEILDIV, sz(s, IR_SZ_SUB, rmax, last), szc(s, -a));
    *hi = sz(s, IR_SZ_ADD, sz(s, IR_SZ_FLOORDIV, rmin, szc(s, -a)), szc(s, 1));
  }
  return *lo && *hi;
}

static void intersect(sema *s, ir_size **acc, ir_size *v, ir_size_kind kind)
{
  v = tc_size_simplify(s->ctx, v);
  *acc = *acc ? tc_size_simplify(s->ctx, sz(s, kind, *acc, v)) : v;
}

/* One round: every index that is the sole unknown of some dimension gets
 * the intersection of what those dimensions allow. */
static bool infer_round(sema *s, ir_vec *dims, bool *progress)
{
  ir_size **lo = IR_NEW_ARRAY(s->ctx, ir_size *, s->idx.n), **hi = IR_NEW_ARRAY(s->ctx, ir_size *, s->idx.n);
  if (!lo || !hi)
    return false;
  for (int d = 0; d < dims->n; d++) {
    const dimref *r = dims->items[d];
    int64_t a;
    ir_size *l, *h;
    int i = sole_unknown(s, r, &a);
    if (i < 0 || !bound_from(s, r, i, a, &l, &h))
      continue;
    intersect(s, &lo[i], l, IR_SZ_MAX);
    intersect(s, &hi[i], h, IR_SZ_MIN);
  }
  *progress = false;
  for (int i = 0; i < s->idx.n; i++)
    if (lo[i] && hi[i]) {
      tc_sema_index(s, i)->lo = lo[i];
      tc_sema_index(s, i)->hi = hi[i];
      tc_sema_index(s, i)->known = *progress = true;
    }
  return true;
}

static bool infer_rounds(sema *s, ir_vec *dims)
{
  bool progress = true;
  while (progress)
    if (!infer_round(s, dims, &progress))
      return false;
  return true;
}

/* Unconstrained left-hand indices of a tensor of known shape span it. */
static bool lhs_fallback(sema *s, const tinfo *ti)
{
  bool any = false;
  if (!ti || !ti->shape_known)
    return false;
  for (int k = 0; k < s->idx.n && tc_sema_index(s, k)->lhs; k++)
    if (!tc_sema_index(s, k)->known) {
      tc_sema_index(s, k)->lo = szc(s, 0);
      tc_sema_index(s, k)->hi = ti->t->shape[k];
      tc_sema_index(s, k)->known = any = true;
    }
  return any;
}

static bool report_unknown(sema *s)
{
  for (int i = 0; i < s->idx.n; i++)
    if (!tc_sema_index(s, i)->known)
      return tc_sema_report(s, tc_sema_index(s, i)->loc, "cannot infer the range of index '%s'; add a 'where %s in LO:HI' clause",
                    tc_sema_index(s, i)->name, tc_sema_index(s, i)->name);
  return true;
}

/* Rounds over the reads and `exists` accesses; then, for what is left, the
 * left-hand shape; then the padded reads. */
bool tc_infer_ranges(sema *s, const tinfo *lhs, const ir_expr *rhs, const ir_vec *exists)
{
  ir_vec dims = {0};
  if (!collect_dims(s, rhs, false, &dims))
    return false;
  for (int i = 0; i < exists->n; i++)
    if (!collect_dims(s, exists->items[i], false, &dims))
      return false;
  if (!infer_rounds(s, &dims))
    return false;
  if (lhs_fallback(s, lhs) && !infer_rounds(s, &dims))
    return false;
  if (!collect_dims(s, rhs, true, &dims) || !infer_rounds(s, &dims))
    return false;
  return report_unknown(s);
}

/* ------------------------------------------------------------------------
 * Shapes of written tensors: from the left-hand ranges or subscripts
 * ------------------------------------------------------------------------ */

/* Writes never go below 0: an inferred left-hand range starts at 0 at least. */
static bool clamp_lhs(sema *s, sidx *x)
{
  int64_t v;
  if (tc_size_le(szc(s, 0), x->lo))
    return true;
  if (!x->explicit_range) {
    x->lo = tc_size_simplify(s->ctx, sz(s, IR_SZ_MAX, x->lo, szc(s, 0)));
    return x->lo != NULL;
  }
  if (ir_size_is_const(x->lo, &v))
    return tc_sema_report(s, x->loc, "range of index '%s' starts at %lld, below 0, on the left-hand side", x->name,
                    (long long)v);
  return true;
}

static bool check_fits(sema *s, const tinfo *ti, int k)
{
  sidx *x = tc_sema_index(s, k);
  if (tc_size_le(x->hi, ti->t->shape[k]))
    return true;
  return tc_sema_report(s, x->loc, "size conflict: index '%s' goes up to %s but dimension %d of '%s' has size %s", x->name,
                  tc_sema_size_text(s, x->hi), k, ti->t->name, tc_sema_size_text(s, ti->t->shape[k]));
}

bool tc_update_shape(sema *s, tinfo *ti)
{
  for (int k = 0; k < ti->t->rank; k++) {
    sidx *x = tc_sema_index(s, k);
    if (!clamp_lhs(s, x))
      return false;
    if (ti->shape_fixed && !check_fits(s, ti, k))
      return false;
    if (ti->shape_fixed)
      continue;
    ir_size *hi = x->hi;
    ti->t->shape[k] = ti->shape_known ? tc_size_simplify(s->ctx, sz(s, IR_SZ_MAX, ti->t->shape[k], hi)) : hi;
    if (!ti->t->shape[k])
      return false;
  }
  ti->shape_known = true;
  return true;
}

static ir_size *subscript_bound(sema *s, const tc_affine *a, bool greatest)
{
  dimref r = {.a = *a};
  return tc_size_simplify(s->ctx, rest_bound(s, &r, -1, greatest));
}

/* Dimension d of ti, written through affine subscript `sub`: never below 0,
 * inside a declared shape, or extending an inferred one. */
static bool affine_write_dim(sema *s, tinfo *ti, int d, const ir_expr *sub, const tc_affine *a)
{
  ir_size *lo = subscript_bound(s, a, false), *top = subscript_bound(s, a, true);
  ir_size *hi = top ? tc_size_simplify(s->ctx, sz(s, IR_SZ_ADD, top, szc(s, 1))) : NULL;
  int64_t v;
  if (!lo || !hi)
    return false;
  if (ir_size_is_const(lo, &v) && v < 0)
    return tc_sema_report(s, sub->loc, "left-hand side subscript %d of '%s' goes down to %lld, below 0", d, ti->t->name,
                  (long long)v);
  if (!tc_size_le(szc(s, 0), lo))
    return tc_sema_report(s, sub->loc, "left-hand side subscript %d of '%s' can go below 0: its least value is %s", d,
                  ti->t->name, tc_sema_size_text(s, lo));
  if (ti->shape_fixed && !tc_size_le(hi, ti->t->shape[d]))
    return tc_sema_report(s, sub->loc, "size conflict: left-hand side subscript %d goes up to %s but dimension %d of '%s' "
                  "has size %s", d, tc_sema_size_text(s, top), d, ti->t->name, tc_sema_size_text(s, ti->t->shape[d]));
  if (!ti->shape_fixed)
    ti->t->shape[d] = ti->shape_known ? tc_size_simplify(s->ctx, sz(s, IR_SZ_MAX, ti->t->shape[d], hi)) : hi;
  return ti->t->shape[d] != NULL;
}

/* The shape of a tensor written through general subscripts: affine ones
 * bound it as index ranges do; another (indirect) one needs it known. */
bool tc_general_shape(sema *s, tinfo *ti, ir_expr **subs)
{
  for (int d = 0; d < ti->t->rank; d++) {
    tc_affine a;
    if (tc_affine_of(s->ctx, subs[d], &a)) {
      if (!affine_write_dim(s, ti, d, subs[d], &a))
        return false;
    } else if (!ti->shape_known) {
      return tc_sema_report(s, subs[d]->loc, "cannot infer dimension %d of '%s' from a subscript that is not affine in the "
                    "indices; declare '%s' with a shape or write it with index variables first", d, ti->t->name,
                    ti->t->name);
    }
  }
  ti->shape_known = true;
  return true;
}
