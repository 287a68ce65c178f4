/* contr_shape.c: a contraction's register tile and depth block fitted to
 * its constant extents. A tile of 12 rows wastes a ninth of its work on 64
 * output channels (72 rows) and a third on 16: the tile's rows are fitted to
 * the rows there are; a product of few columns gets deeper blocks
 * (sched_contraction_heuristic asks). */
#include "schedule.h"

int64_t sched_role_extent(const ir_stmt *s, const int *set, int n)
{
  int64_t v = 1, d;
  for (int t = 0; t < n; t++)
    if (!ir_size_is_const(s->index[set[t]].hi, &d) || d < 0 || __builtin_mul_overflow(v, d, &v))
      return -1;
  return v;
}

static int64_t extent(const ir_func *f, const sched_contraction *c, const int *set, int n)
{
  return sched_role_extent(f->stmts[c->stmt], set, n);
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

/* A product of few columns (two register tiles or fewer: ResNet-18's
 * layer4, 512 x 49 x 4608) uses each panel of A once or twice, so A streams
 * from memory panel by panel; a deeper block makes that stream long and
 * sequential (one pass instead of one per depth block). Depth blocks as
 * deep as B's block of the default size allows (nc x kc floats in L2). */
static void deepen(const ir_func *f, const sched_contraction *c, sched_blocks *b)
{
  int64_t n = extent(f, c, c->cols, c->n_cols), k = extent(f, c, c->depth, c->n_depth);
  if (n <= 0 || k <= b->kc || n > 2 * b->nr)
    return;
  int64_t budget = (int64_t)b->nc * b->kc, blocks = (k * padded(n, b->nr) + budget - 1) / budget;
  b->kc = (int)((k + blocks - 1) / blocks);
}

void sched_contraction_fit_tile(const ir_func *f, const sched_contraction *c, sched_blocks *b)
{
  deepen(f, c, b);
  b->mr = fit_rows(f, c, b->mr);
  b->mc = (int)padded(b->mc, b->mr);
}
