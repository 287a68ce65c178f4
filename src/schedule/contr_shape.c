/* contr_shape.c: a contraction's register tile fitted to its constant
 * extents. A tile of 12 rows wastes a ninth of its work on 64 output
 * channels (72 rows) and a third on 16: the tile's rows are fitted to the
 * rows there are (sched_contraction_heuristic asks). */
#include "schedule.h"

#include <stdlib.h>

/* The product of the ranges of set[0..n-1]; -1 when one is not constant. */
static int64_t extent(const ir_func *f, const sched_contraction *c, const int *set, int n)
{
  int64_t v = 1, d;
  for (int t = 0; t < n; t++)
    if (!ir_size_is_const(f->stmts[c->stmt]->index[set[t]].hi, &d) || d < 0 || __builtin_mul_overflow(v, d, &v))
      return -1;
  return v;
}

static int64_t padded(int64_t v, int64_t tile)
{
  return (v + tile - 1) / tile * tile;
}

/* The rows of a register tile of mr rows fitted to the row extent: down to
 * half of mr when the last tile of mr would make more than 5% padding, the
 * count with the least padding (the most rows among equals). */
static int fit_rows(const ir_func *f, const sched_contraction *c, int mr)
{
  int64_t m = extent(f, c, c->rows, c->n_rows);
  if (m <= 0 || (padded(m, mr) - m) * 20 <= m)
    return mr;
  int best = mr;
  for (int r = mr - 1; r >= (mr + 1) / 2; r--)
    if (padded(m, r) < padded(m, best))
      best = r;
  return best;
}

static void deepen(const ir_func *f, const sched_contraction *c, sched_blocks *b)
{
  const char *env = getenv("AOTC_R18_DEEP");
  int64_t n = extent(f, c, c->cols, c->n_cols), k = extent(f, c, c->depth, c->n_depth);
  if ((env && !atoi(env)) || n <= 0 || k <= b->kc || n > b->nc)
    return;
  int64_t budget = (int64_t)b->nc * b->kc, cols = padded(n, b->nr);
  int64_t kmax = env ? atoi(env) : 1 << 30;
  int64_t blocks = (k * cols + budget - 1) / budget;
  int64_t kc = (k + blocks - 1) / blocks;
  if (kc > kmax)
    kc = kmax;
  if (kc > b->kc)
    b->kc = (int)kc;
}

void sched_contraction_fit_tile(const ir_func *f, const sched_contraction *c, sched_blocks *b)
{
  deepen(f, c, b);
  b->mr = fit_rows(f, c, b->mr);
  b->mc = (int)padded(b->mc, b->mr);
}
