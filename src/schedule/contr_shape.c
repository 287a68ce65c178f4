/* contr_shape.c: micro-kernel shapes fitted to a contraction's constant
 * extents. A register tile of 12 rows by 32 columns wastes much of its
 * work on a 7x7 image (49 columns: two tiles of 32) or 64 channels (72
 * rows): here the roles of the operands are swapped so that the dimension
 * of the vectors runs over the wide one (schedule.c's recogniser asks), and
 * the tile's rows are fitted to the rows there are (the heuristics ask). */
#include "schedule.h"

#define COL_TILE 32        /* the columns of a register tile with two vectors of 16 */
#define SWAP_MIN_DEPTH 256 /* a swapped tile's store is transposed: worth it over a long depth */
#define SWAP_MAX_COLS 256

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

bool sched_contraction_prefers_swap(const ir_func *f, const sched_contraction *c)
{
  int64_t m = extent(f, c, c->rows, c->n_rows), n = extent(f, c, c->cols, c->n_cols);
  int64_t k = extent(f, c, c->depth, c->n_depth);
  if (m < 0 || n < 0 || k < SWAP_MIN_DEPTH || n >= SWAP_MAX_COLS)
    return false;
  return (padded(n, COL_TILE) - n) * 8 > n && m % COL_TILE == 0;
}

/* The rows of a register tile of mr rows fitted to the row extent: fewer
 * when the last tile of mr would be more than 5% padding. */
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

/* Twice the columns for a tile of few rows (a 7x7 image's pixels) when the
 * columns fill them: each vector of B loaded serves only mr rows, and half
 * the accumulators would sit idle. At most a sixth more accumulators than
 * the cpu's tile of budget (24 of 32 registers: 28; 12 of 16: 14). */
static int widen_columns(const ir_func *f, const sched_contraction *c, const sched_blocks *b, int budget)
{
  int64_t n = extent(f, c, c->cols, c->n_cols);
  bool few_acc = b->vw > 1 && b->mr * (b->nr / b->vw) * 2 <= budget + budget / 6 && b->nr * 2 / b->vw <= 8;
  return few_acc && n > 0 && n % (2 * b->nr) == 0 ? 2 * b->nr : b->nr;
}

void sched_contraction_fit_tile(const ir_func *f, const sched_contraction *c, sched_blocks *b)
{
  int budget = b->vw > 1 ? b->mr * (b->nr / b->vw) : 0;
  b->mr = fit_rows(f, c, b->mr);
  b->nr = widen_columns(f, c, b, budget);
  b->mc = (int)padded(b->mc, b->mr);
  b->nc = (int)padded(b->nc, b->nr);
}
