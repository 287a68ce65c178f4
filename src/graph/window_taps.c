/* window_taps.c: small windows (max and average pooling, depthwise
 * convolution) as one elementwise statement per kernel tap, each over the
 * box of output positions whose tap falls inside the input. No statement
 * reads padding, so there is neither a padded copy nor a per-element
 * condition; every statement runs along the output width, which the
 * backends vectorise, and the schedule fuses the taps (and the pointwise
 * consumers) into one pass. A tap that covers every output starts the
 * accumulation; otherwise an initial value does (-inf, 0 or the bias). */
#include "ops_conv.h"

#include <math.h>

#define TAPS_MAX 64

static int64_t floor_div(int64_t a, int64_t b)
{
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The outputs [lo, hi) of spatial dimension i whose tap k reads inside the
 * input: 0 <= o * s + k * d - pb < in. */
static void tap_range(const conv_geom *cg, int i, int64_t k, int64_t *lo, int64_t *hi)
{
  int64_t off = k * cg->d[i] - cg->pb[i];
  *lo = -floor_div(off, cg->s[i]);
  *hi = floor_div(cg->in[i] - 1 - off, cg->s[i]) + 1;
  *lo = *lo > 0 ? *lo : 0;
  *hi = *hi < cg->out[i] ? *hi : cg->out[i];
}

/* Tap t of the window (row-major over the kernel) as per-dimension offsets. */
static void tap_of(const conv_geom *cg, int64_t t, int64_t *tap)
{
  for (int i = cg->nsp - 1; i >= 0; i--) {
    tap[i] = t % cg->k[i];
    t /= cg->k[i];
  }
}

static int64_t taps_count(const conv_geom *cg)
{
  int64_t n = 1;
  for (int i = 0; i < cg->nsp; i++)
    n *= cg->k[i];
  return n;
}

bool graph_window_taps_fit(const conv_geom *cg)
{
  return cg->nsp >= 1 && cg->nsp + 2 <= IR_MAX_RANK && taps_count(cg) <= TAPS_MAX;
}

/* Whether tap reads inside the input for every output (none is clamped). */
static bool tap_full(const conv_geom *cg, const int64_t *tap)
{
  for (int i = 0; i < cg->nsp; i++) {
    int64_t lo, hi;
    tap_range(cg, i, tap[i], &lo, &hi);
    if (lo != 0 || hi != cg->out[i])
      return false;
  }
  return true;
}

static bool tap_empty(const conv_geom *cg, const int64_t *tap)
{
  for (int i = 0; i < cg->nsp; i++) {
    int64_t lo, hi;
    tap_range(cg, i, tap[i], &lo, &hi);
    if (lo >= hi)
      return true;
  }
  return false;
}

/* The first tap that covers every output, or -1. */
static int64_t full_tap(const conv_geom *cg)
{
  int64_t tap[IR_MAX_RANK];
  for (int64_t t = 0; t < taps_count(cg); t++) {
    tap_of(cg, t, tap);
    if (tap_full(cg, tap))
      return t;
  }
  return -1;
}

/* x(n, c, o * s + k * d - pb ...) at tap. */
static ir_expr *tap_read(ir_lower *L, int x, const conv_geom *cg, const int64_t *tap)
{
  ir_expr *ix[IR_MAX_RANK] = {graph_ex_idx(L, 0), graph_ex_idx(L, 1)};
  for (int i = 0; i < cg->nsp; i++)
    ix[2 + i] = graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, graph_ex_idx(L, 2 + i), graph_ex_int(L, cg->s[i])),
                             graph_ex_int(L, tap[i] * cg->d[i] - cg->pb[i]));
  return graph_ex_read(L, x, ix, false);
}

/* w(c, 0, tap...) * x(tap) for depthwise weights w, else x(tap). */
static ir_expr *tap_value(ir_lower *L, const graph_taps *tp, const conv_geom *cg, const int64_t *tap)
{
  ir_expr *v = tap_read(L, tp->x, cg, tap);
  if (tp->w < 0)
    return v;
  ir_expr *iw[IR_MAX_RANK] = {graph_ex_idx(L, 1), graph_ex_int(L, 0)};
  for (int i = 0; i < cg->nsp; i++)
    iw[2 + i] = graph_ex_int(L, tap[i]);
  return graph_ex_bin(L, IR_MUL, v, graph_ex_read(L, tp->w, iw, false));
}

/* One statement y (red)= rhs over the outputs whose tap reads inside x
 * (all outputs when full). */
static bool emit_tap(ir_lower *L, const graph_taps *tp, const conv_geom *cg, const int64_t *tap, ir_reduction red,
                     ir_expr *rhs)
{
  int64_t hi[IR_MAX_RANK];
  int r = cg->nsp + 2;
  for (int d = 0; d < r; d++)
    hi[d] = graph_lw_dim(L, tp->y, d);
  ir_stmt *s = graph_st_new(L, tp->y, r, 0, hi);
  for (int i = 0; i < cg->nsp; i++) {
    int64_t lo, up;
    tap_range(cg, i, tap[i], &lo, &up);
    graph_st_range(s, L, 2 + i, lo, up);
  }
  return graph_st_emit(L, s, red, false, rhs);
}

/* The first statement: the full tap (plus tp->add), or tp->start alone
 * over every output. */
static bool emit_start(ir_lower *L, const graph_taps *tp, const conv_geom *cg, int64_t full)
{
  int64_t tap[IR_MAX_RANK];
  if (full < 0)
    return graph_st_map(L, tp->y, tp->start);
  tap_of(cg, full, tap);
  ir_expr *v = tap_value(L, tp, cg, tap);
  if (tp->add)
    v = graph_ex_bin(L, IR_ADD, v, tp->add);
  return emit_tap(L, tp, cg, tap, IR_RED_NONE, v);
}

bool graph_window_taps(ir_lower *L, const graph_taps *tp, const conv_geom *cg)
{
  int64_t full = full_tap(cg), tap[IR_MAX_RANK];
  if (tp->x < 0 || tp->y < 0 || !tp->start || !emit_start(L, tp, cg, full))
    return false;
  for (int64_t t = 0; t < taps_count(cg); t++) {
    tap_of(cg, t, tap);
    if (t != full && !tap_empty(cg, tap) && !emit_tap(L, tp, cg, tap, tp->red, tap_value(L, tp, cg, tap)))
      return false;
  }
  return true;
}
