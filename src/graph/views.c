/* views.c: copies the memory plan makes disappear. A statement that copies
 * one tensor into another element for element in row-major order (Concat's
 * bands, Split's parts, a Slice of one contiguous range, Reshape, Flatten,
 * Squeeze, Unsqueeze, Identity) says that a contiguous range of the
 * destination's elements equals a contiguous range of the source's. When
 * both are temporaries, one can live inside the other and the statement
 * goes:
 *
 *   in place: the source, whole, becomes a view of the destination at its
 *   band (a Concat's producers write straight into the concatenation) when
 *   no other statement writes that band and nothing writes the source after
 *   the copy;
 *   gathered: the destination, written only by such copies from sources that
 *   already live in one temporary at consecutive places, becomes a view of
 *   that temporary (a Split's parts, a Reshape's result, each of DenseNet's
 *   concatenations of a growing list as a prefix of the last one).
 *
 * Tensors are decided from the last written to the first, so a chain of
 * concatenations ends up in the largest. Every byte keeps one set of
 * statements writing it, all before any read of a view, so the program
 * order stays right. Kernels keep the statements they had (partitioning
 * ran before); the polyhedral model sees temporaries that share bytes
 * through their offsets (poly.c keeps the program order where they meet in
 * one kernel) and the reference interpreter stores a view inside its
 * temporary. Only for functions whose temporaries all have constant sizes
 * (the plan is fixed at compile time), without control regions. */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

/* Elements [dst_lo, dst_lo + len) of dst equal [src_lo, src_lo + len) of src. */
typedef struct band {
  int src, dst;
  int64_t dst_lo, src_lo, len;
} band;

typedef struct views {
  ir_func *f;
  int *parent;       /* per tensor: the temporary it lives in, or -1 */
  int64_t *offset;   /* per tensor: its first byte in parent */
  int *first_write, *last_write; /* per tensor: statements (-1: none) */
  bool *removed;     /* per statement */
  band *bands;       /* per statement: room for one tensor's copies */
} views;

/* An affine integer expression of a statement's index variables. */
typedef struct affine {
  int64_t c, coef[IR_MAX_RANK];
} affine;

static int64_t dim_of(const ir_tensor *T, int d)
{
  int64_t v = -1;
  return T->shape[d] && ir_size_is_const(T->shape[d], &v) ? v : -1;
}

static int64_t numel_of(const ir_tensor *T)
{
  int64_t n = 1;
  for (int d = 0; d < T->rank; d++)
    if (dim_of(T, d) < 0 || __builtin_mul_overflow(n, dim_of(T, d), &n))
      return -1;
  return n;
}

static void strides_of(const ir_tensor *T, int64_t *stride)
{
  int64_t s = 1;
  for (int d = T->rank - 1; d >= 0; d--) {
    stride[d] = s;
    s *= dim_of(T, d) > 0 ? dim_of(T, d) : 1;
  }
}

static bool is_const_form(const affine *a, int n)
{
  for (int k = 0; k < n; k++)
    if (a->coef[k])
      return false;
  return true;
}

/* *a = x + sign * y (a may be x); false on overflow. */
static bool affine_add(affine *a, const affine *x, const affine *y, int64_t sign, int n)
{
  int64_t t;
  bool ok = !__builtin_mul_overflow(sign, y->c, &t) && !__builtin_add_overflow(x->c, t, &a->c);
  for (int k = 0; ok && k < n; k++)
    ok = !__builtin_mul_overflow(sign, y->coef[k], &t) && !__builtin_add_overflow(x->coef[k], t, &a->coef[k]);
  return ok;
}

static bool affine_scale(affine *a, const affine *x, int64_t m, int n)
{
  bool ok = !__builtin_mul_overflow(x->c, m, &a->c);
  for (int k = 0; ok && k < n; k++)
    ok = !__builtin_mul_overflow(x->coef[k], m, &a->coef[k]);
  return ok;
}

/* e as an affine form over n index variables: constants, indices, sums,
 * differences, products with a constant. */
static bool affine_of(const ir_expr *e, int n, affine *a)
{
  affine x, y;
  memset(a, 0, sizeof *a);
  switch (e->kind) {
  case IR_CONST_INT:
    a->c = e->ival;
    return true;
  case IR_SIZE:
    return ir_size_is_const(e->size, &a->c);
  case IR_INDEX:
    return e->index < n && (a->coef[e->index] = 1);
  case IR_BINARY:
    if (!affine_of(e->args[0], n, &x) || !affine_of(e->args[1], n, &y))
      return false;
    if (e->op == IR_ADD || e->op == IR_SUB)
      return affine_add(a, &x, &y, e->op == IR_ADD ? 1 : -1, n);
    if (e->op == IR_MUL && is_const_form(&x, n))
      return affine_scale(a, &y, x.c, n);
    return e->op == IR_MUL && is_const_form(&y, n) && affine_scale(a, &x, y.c, n);
  case IR_UNARY:
    return e->op == IR_NEG && affine_of(e->args[0], n, &x) && affine_scale(a, &x, -1, n);
  default:
    return false;
  }
}

/* The box a plain statement writes: lo[d] <= subscript d < hi[d]. */
static bool box_of(const ir_func *f, const ir_stmt *s, int64_t *lo, int64_t *hi)
{
  const ir_tensor *Y = f->tensors[s->tensor];
  if (!ir_stmt_is_plain(s) || s->n_lhs != Y->rank || s->n_lhs > IR_MAX_RANK)
    return false;
  for (int d = 0; d < s->n_lhs; d++) {
    const ir_index *ix = &s->index[s->lhs[d]];
    if (!ir_size_is_const(ix->lo, &lo[d]) || !ir_size_is_const(ix->hi, &hi[d]) || lo[d] < 0 ||
        hi[d] > dim_of(Y, d) || lo[d] >= hi[d])
      return false;
  }
  return true;
}

/* Whether the box is one contiguous range of the tensor's elements:
 * leading extents of 1, then one partial dimension, then whole ones. */
static bool box_contiguous(const ir_tensor *Y, const int64_t *lo, const int64_t *hi)
{
  int d = 0;
  while (d < Y->rank && hi[d] - lo[d] == 1)
    d++;
  for (int j = d + 1; j < Y->rank; j++)
    if (lo[j] != 0 || hi[j] != dim_of(Y, j))
      return false;
  return true;
}

/* The extremes of a over the box of statement s (variable s->lhs[d] in
 * [lo[d], hi[d])). */
static bool affine_range(const ir_stmt *s, const affine *a, const int64_t *lo, const int64_t *hi, int64_t *mn,
                         int64_t *mx)
{
  *mn = *mx = a->c;
  for (int d = 0; d < s->n_lhs; d++) {
    int64_t k = a->coef[s->lhs[d]], p, q;
    if (__builtin_mul_overflow(k, lo[d], &p) || __builtin_mul_overflow(k, hi[d] - 1, &q))
      return false;
    if (__builtin_add_overflow(*mn, p < q ? p : q, mn) || __builtin_add_overflow(*mx, p < q ? q : p, mx))
      return false;
  }
  return true;
}

/* Source subscripts affine, each inside its dimension, whose row-major
 * position moves with the destination's: *src_lo where the band starts. */
static bool affine_source(const ir_func *f, const ir_stmt *s, const int64_t *lo, const int64_t *hi,
                          int64_t *src_lo)
{
  const ir_expr *e = s->rhs;
  const ir_tensor *X = f->tensors[e->tensor], *Y = f->tensors[s->tensor];
  int64_t sx[IR_MAX_RANK], sy[IR_MAX_RANK], mn, mx;
  affine total = {0}, a, scaled;
  strides_of(X, sx);
  strides_of(Y, sy);
  for (int j = 0; j < X->rank; j++)
    if (!affine_of(e->args[j], s->n_index, &a) || !affine_range(s, &a, lo, hi, &mn, &mx) || mn < 0 ||
        mx >= dim_of(X, j) || !affine_scale(&scaled, &a, sx[j], s->n_index) ||
        !affine_add(&total, &total, &scaled, 1, s->n_index))
      return false;
  for (int d = 0; d < s->n_lhs; d++)
    if (hi[d] - lo[d] > 1 && total.coef[s->lhs[d]] != sy[d])
      return false;
  return affine_range(s, &total, lo, hi, src_lo, &mx);
}

/* e is (F / stride) % dim with F the destination's row-major position, as
 * a Reshape lowers when the dimensions regroup (ops_shape.c, reshape_flat);
 * the division is absent for stride 1, the remainder may be. */
static bool flat_subscript(const ir_stmt *s, const ir_expr *e, int64_t stride, int64_t dim, const int64_t *sy)
{
  affine a;
  if (e->kind == IR_BINARY && e->op == IR_MOD && e->args[1]->kind == IR_CONST_INT && e->args[1]->ival == dim)
    e = e->args[0];
  if (stride != 1) {
    if (e->kind != IR_BINARY || e->op != IR_DIV || e->args[1]->kind != IR_CONST_INT || e->args[1]->ival != stride)
      return false;
    e = e->args[0];
  }
  if (!affine_of(e, s->n_index, &a) || a.c != 0)
    return false;
  for (int d = 0; d < s->n_lhs; d++)
    if (a.coef[s->lhs[d]] != sy[d])
      return false;
  return true;
}

/* A whole-tensor copy into a tensor of as many elements through the
 * row-major position (Reshape that regroups dimensions). */
static bool flat_source(const ir_func *f, const ir_stmt *s, int64_t len)
{
  const ir_expr *e = s->rhs;
  const ir_tensor *X = f->tensors[e->tensor], *Y = f->tensors[s->tensor];
  int64_t sx[IR_MAX_RANK], sy[IR_MAX_RANK];
  affine a;
  if (len != numel_of(Y) || numel_of(X) != len)
    return false;
  strides_of(X, sx);
  strides_of(Y, sy);
  for (int j = 0; j < X->rank; j++) {
    bool unit = dim_of(X, j) == 1 && affine_of(e->args[j], s->n_index, &a) && is_const_form(&a, s->n_index) && !a.c;
    if (!unit && !flat_subscript(s, e->args[j], sx[j], dim_of(X, j), sy))
      return false;
  }
  return true;
}

/* Whether statement s copies a contiguous range of one tensor into a
 * contiguous range of another, in order; *b says which. */
static bool copy_band(const ir_func *f, const ir_stmt *s, band *b)
{
  int64_t lo[IR_MAX_RANK], hi[IR_MAX_RANK], sy[IR_MAX_RANK];
  const ir_expr *e = s->rhs;
  if (s->red != IR_RED_NONE || s->n_index != s->n_lhs || e->kind != IR_ACCESS || e->padded ||
      e->tensor == s->tensor)
    return false;
  const ir_tensor *X = f->tensors[e->tensor], *Y = f->tensors[s->tensor];
  if (X->type != Y->type || X->rank > IR_MAX_RANK || numel_of(X) < 0 || numel_of(Y) < 0 || !box_of(f, s, lo, hi) ||
      !box_contiguous(Y, lo, hi))
    return false;
  strides_of(Y, sy);
  *b = (band){.src = e->tensor, .dst = s->tensor, .len = 1};
  for (int d = 0; d < Y->rank; d++) {
    b->dst_lo += lo[d] * sy[d];
    b->len *= hi[d] - lo[d];
  }
  if (affine_source(f, s, lo, hi, &b->src_lo))
    return true;
  b->src_lo = 0;
  return b->dst_lo == 0 && flat_source(f, s, b->len);
}

/* ------------------------------------------------------------------------
 * Deciding the views
 * ------------------------------------------------------------------------ */

static int root_of(const views *v, int t, int64_t *at)
{
  *at = 0;
  for (; v->parent[t] >= 0; t = v->parent[t])
    *at += v->offset[t];
  return t;
}

static bool is_temp(const views *v, int t)
{
  return v->f->tensors[t]->role == IR_TEMP;
}

static int64_t elem_bytes(const views *v, int t)
{
  return ir_types[v->f->tensors[t]->type].bytes;
}

/* Whether every statement other than skip writing tensor y stays out of
 * y's elements [lo, lo + len). */
static bool band_free(const views *v, int y, int skip, int64_t lo, int64_t len)
{
  const ir_tensor *Y = v->f->tensors[y];
  int64_t blo[IR_MAX_RANK], bhi[IR_MAX_RANK], sy[IR_MAX_RANK];
  strides_of(Y, sy);
  for (int i = v->first_write[y]; i >= 0 && i <= v->last_write[y]; i++) {
    const ir_stmt *s = v->f->stmts[i];
    if (i == skip || v->removed[i] || s->tensor != y)
      continue;
    if (!box_of(v->f, s, blo, bhi))
      return false;
    int64_t mn = 0, mx = 0;
    for (int d = 0; d < Y->rank; d++) {
      mn += blo[d] * sy[d];
      mx += (bhi[d] - 1) * sy[d];
    }
    if (mn < lo + len && lo <= mx)
      return false;
  }
  return true;
}

/* In place: statement i copies all of x into a band of y; x then lives
 * there and i goes. */
static void try_in_place(views *v, int i, const band *b)
{
  int64_t at;
  int x = b->src, y = b->dst;
  if (!is_temp(v, x) || !is_temp(v, y) || v->parent[x] >= 0 || b->src_lo != 0 ||
      b->len != numel_of(v->f->tensors[x]) || root_of(v, y, &at) == x || v->last_write[x] >= i ||
      !band_free(v, y, i, b->dst_lo, b->len))
    return;
  v->parent[x] = y;
  v->offset[x] = b->dst_lo * elem_bytes(v, x);
  v->removed[i] = true;
}

static int by_dst_lo(const void *a, const void *b)
{
  const band *x = a, *y = b;
  return x->dst_lo < y->dst_lo ? -1 : x->dst_lo > y->dst_lo;
}

/* The bands of y's writers when every one is a copy out of temporaries
 * that all live in one temporary R (*root) at one place for y (*pos): the
 * number of them, or -1. */
static int gather_bands(views *v, int y, band *bands, int max, int *root, int64_t *pos)
{
  int n = 0;
  for (int i = v->first_write[y]; i >= 0 && i <= v->last_write[y]; i++) {
    int64_t at, p;
    if (v->f->stmts[i]->tensor != y)
      continue;
    if (n == max || !copy_band(v->f, v->f->stmts[i], &bands[n]) || !is_temp(v, bands[n].src) ||
        v->last_write[bands[n].src] >= v->first_write[y])
      return -1;
    int r = root_of(v, bands[n].src, &at);
    p = at + (bands[n].src_lo - bands[n].dst_lo) * elem_bytes(v, y);
    if ((n && (r != *root || p != *pos)) || r == y)
      return -1;
    *root = r;
    *pos = p;
    n++;
  }
  return n;
}

/* Gathered: y, written only by copies that cover it once out of one
 * temporary R at one place, becomes a view of R and its writers go. */
static bool try_gather(views *v, int y)
{
  band *bands = v->bands;
  int root = -1;
  int64_t pos = 0, covered = 0, numel = numel_of(v->f->tensors[y]);
  if (!is_temp(v, y) || v->parent[y] >= 0)
    return false;
  int n = gather_bands(v, y, bands, v->f->n_stmts, &root, &pos);
  if (n <= 0 || pos < 0 || pos + numel * elem_bytes(v, y) > numel_of(v->f->tensors[root]) * elem_bytes(v, root))
    return false;
  qsort(bands, (size_t)n, sizeof bands[0], by_dst_lo);
  for (int k = 0; k < n; k++) {
    if (bands[k].dst_lo != covered)
      return false;
    covered += bands[k].len;
  }
  if (covered != numel)
    return false;
  v->parent[y] = root;
  v->offset[y] = pos;
  for (int i = v->first_write[y]; i <= v->last_write[y]; i++)
    v->removed[i] = v->removed[i] || v->f->stmts[i]->tensor == y;
  return true;
}

/* The copies into y: gathered whole, or each source in place. */
static void decide(views *v, int y)
{
  band b;
  if (try_gather(v, y))
    return;
  for (int i = v->first_write[y]; i >= 0 && i <= v->last_write[y]; i++)
    if (v->f->stmts[i]->tensor == y && !v->removed[i] && copy_band(v->f, v->f->stmts[i], &b))
      try_in_place(v, i, &b);
}

/* ------------------------------------------------------------------------
 * The pass
 * ------------------------------------------------------------------------ */

static bool applies(const ir_func *f)
{
  if (!ir_func_is_model(f) || f->body || f->n_syncs)
    return false;
  for (int t = 0; t < f->n_tensors; t++)
    if (f->tensors[t]->role == IR_TEMP && numel_of(f->tensors[t]) < 0)
      return false;
  return true;
}

static views *views_new(aotc_ctx *ctx, ir_func *f)
{
  views *v = IR_NEW(ctx, views);
  if (!v)
    return NULL;
  *v = (views){f, IR_NEW_ARRAY(ctx, int, f->n_tensors), IR_NEW_ARRAY(ctx, int64_t, f->n_tensors),
               IR_NEW_ARRAY(ctx, int, f->n_tensors), IR_NEW_ARRAY(ctx, int, f->n_tensors),
               IR_NEW_ARRAY(ctx, bool, f->n_stmts), IR_NEW_ARRAY(ctx, band, f->n_stmts)};
  if (!v->parent || !v->offset || !v->first_write || !v->last_write || !v->removed || !v->bands)
    return NULL;
  for (int t = 0; t < f->n_tensors; t++)
    v->parent[t] = v->first_write[t] = v->last_write[t] = -1;
  for (int i = 0; i < f->n_stmts; i++) {
    int t = f->stmts[i]->tensor;
    v->first_write[t] = v->first_write[t] < 0 ? i : v->first_write[t];
    v->last_write[t] = i;
  }
  return v;
}

typedef struct by_write {
  int first_write, t;
} by_write;

static int by_first_write_desc(const void *a, const void *b)
{
  const by_write *x = a, *y = b;
  return y->first_write - x->first_write;
}

/* The written tensors, the last first written first. */
static int decision_order(aotc_ctx *ctx, const views *v, int **order)
{
  by_write *w = IR_NEW_ARRAY(ctx, by_write, v->f->n_tensors);
  int n = 0;
  *order = IR_NEW_ARRAY(ctx, int, v->f->n_tensors);
  if (!w || !*order)
    return -1;
  for (int t = 0; t < v->f->n_tensors; t++)
    if (v->first_write[t] >= 0)
      w[n++] = (by_write){v->first_write[t], t};
  qsort(w, (size_t)n, sizeof w[0], by_first_write_desc);
  for (int k = 0; k < n; k++)
    (*order)[k] = w[k].t;
  return n;
}

/* The statements that stay, their kernels renumbered from 0 without gaps. */
static void drop_removed(ir_func *f, const bool *removed)
{
  int n = 0, kernel = -1, last = -1;
  for (int i = 0; i < f->n_stmts; i++) {
    if (removed[i])
      continue;
    if (f->stmt_kernel[i] != last)
      kernel++, last = f->stmt_kernel[i];
    f->stmts[n] = f->stmts[i];
    f->stmt_kernel[n] = kernel;
    if (f->stmt_origin)
      f->stmt_origin[n] = f->stmt_origin[i];
    n++;
  }
  f->n_stmts = n;
}

static void record_views(ir_func *f, const views *v)
{
  for (int t = 0; t < f->n_tensors; t++) {
    ir_tensor *T = f->tensors[t];
    T->view = v->parent[t] >= 0;
    T->view_of = T->view ? root_of(v, t, &T->view_offset) : 0;
    if (!T->view)
      T->view_offset = 0;
  }
}

bool ir_views(aotc_ctx *ctx, ir_func *f, int *removed)
{
  int before = f->n_stmts;
  *removed = 0;
  if (!applies(f))
    return true;
  views *v = views_new(ctx, f);
  int *order = NULL, n = v ? decision_order(ctx, v, &order) : -1;
  if (n < 0)
    return false;
  for (int k = 0; k < n; k++)
    decide(v, order[k]);
  record_views(f, v);
  drop_removed(f, v->removed);
  *removed = before - f->n_stmts;
  return true;
}
