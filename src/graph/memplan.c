/* memplan.c: the memory plan. Every temporary lives from the first kernel
 * that touches it to the last; temporaries whose lifetimes overlap get
 * disjoint byte ranges of one workspace, the others may share bytes.
 * Placement is greedy, at the lowest 64-byte aligned offset free of every
 * placed temporary it overlaps, in the best of a few orders, each a total
 * order (ties go to the lower tensor number), improved by moving the
 * temporary that ends highest to the front while that helps (the rounds);
 * a plan still over the lower bound then searches orders one move from it
 * (search). The lower bound is the largest total size of the temporaries
 * live in one kernel.
 *
 * With constant shapes the offsets are fixed here. When a temporary's size
 * depends on size parameters the lifetimes, which do not depend on them, are
 * recorded instead, and the emitted code runs the same placement on the
 * sizes of each call (emit_abi.c, aotc_ws_plan): the same orders, the same
 * lowest offsets and rounds, so a call gets the plan a compilation at its
 * sizes would give before the search (which places up to thousands of
 * times: too slow for each call).
 *
 * A view (views.c) takes no bytes of its own: the temporary it lives in is
 * live wherever the view is, and the view's offset follows from that
 * temporary's. */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

typedef struct live_range {
  int t;
  int first, last; /* kernels */
  int64_t bytes;   /* rounded up to 64 */
  int64_t offset;
} live_range;

/* Rounds of improvement after the best order (aotc_ws_plan runs as many),
 * and passes of the search after them (search below; compile time only). */
enum { MEMPLAN_ROUNDS = 16, MEMPLAN_SEARCH_PASSES = 4, MEMPLAN_SEARCH_PLACEMENTS = 1 << 14 };

int64_t ir_memplan_temp_bytes(const ir_tensor *T)
{
  int64_t n = 1, d;
  for (int j = 0; j < T->rank; j++)
    if (!T->shape[j] || !ir_size_is_const(T->shape[j], &d) || d < 0 || __builtin_mul_overflow(n, d, &n))
      return -1;
  if (__builtin_mul_overflow(n, (int64_t)ir_types[T->type].bytes, &n) || n > INT64_MAX / 2)
    return -1;
  return n == 0 ? 64 : (n + 63) / 64 * 64;
}

static void touch(live_range *r, int kernel)
{
  if (r->first < 0 || kernel < r->first)
    r->first = kernel;
  if (kernel > r->last)
    r->last = kernel;
}

static void touch_expr(live_range *by_tensor, const ir_expr *e, int kernel)
{
  if (e->kind == IR_ACCESS)
    touch(&by_tensor[e->tensor], kernel);
  for (int k = 0; k < e->n_args; k++)
    touch_expr(by_tensor, e->args[k], kernel);
}

static int by_size_desc(const void *a, const void *b)
{
  const live_range *x = a, *y = b;
  if (x->bytes != y->bytes)
    return x->bytes > y->bytes ? -1 : 1;
  return x->first != y->first ? x->first - y->first : x->t - y->t;
}

static int by_first(const void *a, const void *b)
{
  const live_range *x = a, *y = b;
  return x->first != y->first ? x->first - y->first : by_size_desc(a, b);
}

static int by_area_desc(const void *a, const void *b)
{
  const live_range *x = a, *y = b;
  double ax = (double)x->bytes * (x->last - x->first + 1), ay = (double)y->bytes * (y->last - y->first + 1);
  return ax != ay ? (ax > ay ? -1 : 1) : by_size_desc(a, b);
}

static bool overlaps(const live_range *a, const live_range *b)
{
  return a->first <= b->last && b->first <= a->last;
}

/* The placed ranges by the kernel they start in: a range that overlaps r in
 * time starts at most `longest` kernels before r does, so placing r looks
 * at those kernels' ranges only (near-linear unless lifetimes are long). */
typedef struct placed_index {
  int *head, *tail, *next; /* per kernel: first and last placed range, in placement order; per range: the next */
  int longest;             /* the longest lifetime placed, in kernels */
} placed_index;

/* The lowest offset where r fits beside the placed ranges. */
static int64_t place(const live_range *all, const placed_index *ix, const live_range *r)
{
  int64_t offset = 0;
  int from = r->first - ix->longest > 0 ? r->first - ix->longest : 0;
  for (bool moved = true; moved;) {
    moved = false;
    for (int k = from; k <= r->last; k++)
      for (int i = ix->head[k]; i >= 0; i = ix->next[i])
        if (overlaps(&all[i], r) && offset < all[i].offset + all[i].bytes && all[i].offset < offset + r->bytes) {
          offset = all[i].offset + all[i].bytes;
          moved = true;
        }
  }
  return offset;
}

/* The largest total size of the ranges live in one kernel (a sweep over
 * the kernels with the sizes starting and ending at each). */
static int64_t lower_bound(aotc_ctx *ctx, const live_range *r, int n, int n_kernels)
{
  int64_t *delta = IR_NEW_ARRAY(ctx, int64_t, n_kernels + 1), best = 0, live = 0;
  if (!delta)
    return 0;
  for (int i = 0; i < n; i++) {
    delta[r[i].first] += r[i].bytes;
    delta[r[i].last + 1] -= r[i].bytes;
  }
  for (int k = 0; k < n_kernels; k++) {
    live += delta[k];
    best = live > best ? live : best;
  }
  return best;
}

/* A view's lifetime joins that of the temporary it lives in. */
static void widen_to_views(const ir_func *f, live_range *by_tensor)
{
  for (int t = 0; t < f->n_tensors; t++) {
    const ir_tensor *T = f->tensors[t];
    if (T->role == IR_TEMP && T->view && by_tensor[t].first >= 0) {
      touch(&by_tensor[T->view_of], by_tensor[t].first);
      touch(&by_tensor[T->view_of], by_tensor[t].last);
    }
  }
}

/* The lifetime of every tensor, by tensor number (first -1: untouched);
 * views widen the temporaries they live in. */
static void collect_lifetimes(const ir_func *f, live_range *by_tensor)
{
  for (int t = 0; t < f->n_tensors; t++)
    by_tensor[t] = (live_range){.t = t, .first = -1, .last = -1};
  for (int i = 0; i < f->n_stmts; i++) {
    int kernel = f->stmt_kernel ? f->stmt_kernel[i] : 0;
    touch(&by_tensor[f->stmts[i]->tensor], kernel);
    touch_expr(by_tensor, f->stmts[i]->rhs, kernel);
    for (int d = 0; !ir_stmt_is_plain(f->stmts[i]) && d < f->stmts[i]->n_lhs; d++)
      touch_expr(by_tensor, f->stmts[i]->lhs_expr[d], kernel);
  }
  widen_to_views(f, by_tensor);
  for (int t = 0; t < f->n_tensors; t++)
    if (by_tensor[t].first < 0)
      by_tensor[t].first = by_tensor[t].last = 0;
}

/* Lifetimes of the temporaries that are no views, compacted to the front
 * of by_tensor; the number of them, or -1 when one has no constant size. */
static int collect(const ir_func *f, live_range *by_tensor)
{
  collect_lifetimes(f, by_tensor);
  int n = 0;
  for (int t = 0; t < f->n_tensors; t++) {
    if (f->tensors[t]->role != IR_TEMP || f->tensors[t]->view)
      continue;
    live_range r = by_tensor[t];
    ir_region_widen_live(f, t, &r.first, &r.last);
    if ((r.bytes = ir_memplan_temp_bytes(f->tensors[t])) < 0)
      return -1;
    by_tensor[n++] = r;
  }
  return n;
}

/* A function whose temporaries' sizes depend on size parameters: their
 * lifetimes, for the placement the emitted code does at each call. */
static bool plan_per_call(aotc_ctx *ctx, ir_func *f)
{
  live_range *r = IR_NEW_ARRAY(ctx, live_range, f->n_tensors);
  if (!r)
    return false;
  collect_lifetimes(f, r);
  for (int t = 0; t < f->n_tensors; t++) {
    f->tensors[t]->live_first = r[t].first;
    f->tensors[t]->live_last = r[t].last;
  }
  f->memory_planned = false;
  f->memory_planned_per_call = true;
  return true;
}

/* The placement's scratch: the placed index, for n ranges over n_kernels. */
typedef struct placer {
  placed_index ix;
  int n, n_kernels;
} placer;

static bool placer_init(aotc_ctx *ctx, placer *p, int n, int n_kernels)
{
  *p = (placer){{IR_NEW_ARRAY(ctx, int, n_kernels), IR_NEW_ARRAY(ctx, int, n_kernels), IR_NEW_ARRAY(ctx, int, n), 0},
                n, n_kernels};
  return p->ix.head && p->ix.tail && p->ix.next;
}

/* Places the ranges in their current order; the workspace size. */
static int64_t place_all(placer *p, live_range *r)
{
  placed_index *ix = &p->ix;
  int64_t total = 0;
  ix->longest = 0;
  for (int k = 0; k < p->n_kernels; k++)
    ix->head[k] = ix->tail[k] = -1;
  for (int i = 0; i < p->n; i++) {
    int k = r[i].first;
    r[i].offset = place(r, ix, &r[i]);
    ix->next[i] = -1;
    if (ix->tail[k] >= 0)
      ix->next[ix->tail[k]] = i;
    else
      ix->head[k] = i;
    ix->tail[k] = i;
    ix->longest = r[i].last - r[i].first > ix->longest ? r[i].last - r[i].first : ix->longest;
    if (r[i].offset + r[i].bytes > total)
      total = r[i].offset + r[i].bytes;
  }
  return total;
}

/* Up to MEMPLAN_ROUNDS rounds on the order r (placed, its workspace
 * *total): the temporary that ends highest moves to the front and
 * everything is placed again, kept while the workspace shrinks; r ends
 * placed in the order kept (placed again only after a move is undone). */
static void improve_rounds(placer *p, live_range *r, int64_t bound, int64_t *total)
{
  int n = p->n;
  for (int round = 0; round < MEMPLAN_ROUNDS && n > 0 && *total > bound; round++) {
    int top = 0;
    for (int i = 1; i < n; i++)
      if (r[i].offset + r[i].bytes > r[top].offset + r[top].bytes)
        top = i;
    live_range lifted = r[top];
    memmove(r + 1, r, (size_t)top * sizeof(*r));
    r[0] = lifted;
    int64_t t = place_all(p, r);
    if (t < *total) {
      *total = t;
      continue;
    }
    memmove(r, r + 1, (size_t)top * sizeof(*r));
    r[top] = lifted;
    *total = place_all(p, r);
    break;
  }
}

/* The search after the rounds, for plans still over the bound: each
 * temporary in turn moves to the front of the order, followed by the
 * rounds; the best such order is kept when it beats the current one, and
 * the search runs again from it, at most `passes` times. Each pass places
 * n x (1 + MEMPLAN_ROUNDS) times at most; only compilations with constant
 * shapes search (the emitted per-call plan stops at the rounds). ResNet-18
 * with F(4x4) in layer1: conv1's output and layer1's residuals placed by
 * size leave one 0.8 MB residual above a pair of 1.8 MB Winograd
 * temporaries (1.18x the bound); after moving one of those temporaries to
 * the front, the rounds lift the residual and the plan reaches the bound
 * in two passes (136 placements). The search stops after about
 * MEMPLAN_SEARCH_PLACEMENTS placements, whatever the model's size (a
 * placement costs about n x the temporaries live beside each). */
static bool search(aotc_ctx *ctx, placer *p, live_range *r, int64_t bound, int passes, int64_t *total)
{
  int n = p->n, budget = MEMPLAN_SEARCH_PLACEMENTS;
  live_range *trial = IR_NEW_ARRAY(ctx, live_range, n), *best = IR_NEW_ARRAY(ctx, live_range, n);
  if (!trial || !best)
    return false;
  for (int pass = 0; pass < passes && *total > bound; pass++) {
    int64_t best_total = *total;
    for (int i = 1; i < n && best_total > bound && budget > 0; i++, budget -= 1 + MEMPLAN_ROUNDS) {
      trial[0] = r[i];
      memcpy(trial + 1, r, (size_t)i * sizeof(*r));
      memcpy(trial + i + 1, r + i + 1, (size_t)(n - i - 1) * sizeof(*r));
      int64_t t = place_all(p, trial);
      improve_rounds(p, trial, bound, &t);
      if (t < best_total) {
        best_total = t;
        memcpy(best, trial, (size_t)n * sizeof(*r));
      }
    }
    if (best_total >= *total)
      break;
    memcpy(r, best, (size_t)n * sizeof(*r)); /* with the offsets its placement gave */
    *total = best_total;
  }
  return true;
}

/* The smallest of the greedy placements in a few orders (largest first,
 * earliest first, largest size x lifetime first), then improved a round at a
 * time: the temporary that ends highest moves to the front of the order and
 * everything is placed again, kept while the workspace shrinks. (ConvNeXt:
 * every 4x wide MLP hidden tensor at offset 0 pushes a residual that lives
 * across two blocks above both; placed first, the residual goes low and
 * the hidden tensors around it: 8.4 MB -> 7.2 MB, the lower bound.) At the
 * lower bound no round can gain, so stopping there changes nothing. Then,
 * with search_passes > 0, the search above. */
bool ir_memplan_search(aotc_ctx *ctx, ir_func *f, int64_t *bound, int search_passes)
{
  static int (*const orders[])(const void *, const void *) = {by_size_desc, by_first, by_area_desc};
  live_range *r = IR_NEW_ARRAY(ctx, live_range, f->n_tensors);
  if (!r)
    return false;
  int n = collect(f, r);
  if (n < 0)
    return plan_per_call(ctx, f);
  int n_kernels = f->n_stmts && f->stmt_kernel ? f->stmt_kernel[f->n_stmts - 1] + 1 : 1;
  *bound = lower_bound(ctx, r, n, n_kernels);
  placer p;
  if (!placer_init(ctx, &p, n, n_kernels))
    return false;
  int best = 0;
  int64_t best_total = -1;
  for (int o = 0; o < (int)(sizeof orders / sizeof orders[0]); o++) {
    qsort(r, (size_t)n, sizeof(*r), orders[o]);
    int64_t total = place_all(&p, r);
    if (best_total < 0 || total < best_total)
      best = o, best_total = total;
  }
  qsort(r, (size_t)n, sizeof(*r), orders[best]);
  f->workspace_bytes = place_all(&p, r);
  improve_rounds(&p, r, *bound, &f->workspace_bytes);
  if (!search(ctx, &p, r, *bound, search_passes, &f->workspace_bytes))
    return false;
  for (int i = 0; i < n; i++)
    f->tensors[r[i].t]->ws_offset = r[i].offset;
  for (int t = 0; t < f->n_tensors; t++)
    if (f->tensors[t]->role == IR_TEMP && f->tensors[t]->view)
      f->tensors[t]->ws_offset = f->tensors[f->tensors[t]->view_of]->ws_offset + f->tensors[t]->view_offset;
  f->memory_planned = true;
  return true;
}

bool ir_memplan(aotc_ctx *ctx, ir_func *f, int64_t *bound)
{
  return ir_memplan_search(ctx, f, bound, MEMPLAN_SEARCH_PASSES);
}
