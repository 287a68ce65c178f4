/* window_taps.c: small windows (max and average pooling, depthwise
 * convolution) as one elementwise statement per kernel tap, each over the
 * box of output positions whose tap falls inside the input. No statement
 * reads padding, so there is neither a padded copy nor a per-element
 * condition; every statement runs along the output width, which the
 * backends vectorise, and the schedule fuses the taps (and the pointwise
 * consumers) into one pass. A tap that covers every output starts the
 * accumulation; otherwise an initial value does (-inf, 0 or the bias).
 * Rows narrower than NARROW_WIDTH (a 14x14 or 7x7 map) are not split at
 * their edges, where a few scalar columns would cost more than the vector
 * part: there every tap runs over the whole row and masks its reads of
 * the padding (0, or -inf for a float max). */
#include "ops_conv.h"

#include <math.h>

#define TAPS_MAX 64
#define NARROW_WIDTH 24 /* narrower outputs run whole rows, masked at the edges */

static int64_t floor_div(int64_t a, int64_t b)
{
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Whether spatial dimension i runs whole rows with masked reads. */
static bool masked_dim(const conv_geom *cg, int i)
{
  return i == cg->nsp - 1 && cg->nsp > 1 && cg->out[i] < NARROW_WIDTH;
}

/* The outputs [lo, hi) of spatial dimension i whose tap k reads inside the
 * input: 0 <= o * s + k * d - pb < in. */
static void inside_range(const conv_geom *cg, int i, int64_t k, int64_t *lo, int64_t *hi)
{
  int64_t off = k * cg->d[i] - cg->pb[i];
  *lo = -floor_div(off, cg->s[i]);
  *hi = floor_div(cg->in[i] - 1 - off, cg->s[i]) + 1;
  *lo = *lo > 0 ? *lo : 0;
  *hi = *hi < cg->out[i] ? *hi : cg->out[i];
}

/* The outputs a tap's statement runs over in dimension i: those it reads
 * inside the input, or all of them in a masked dimension. */
static void tap_range(const conv_geom *cg, int i, int64_t k, int64_t *lo, int64_t *hi)
{
  inside_range(cg, i, k, lo, hi);
  if (masked_dim(cg, i) && *lo < *hi) {
    *lo = 0;
    *hi = cg->out[i];
  }
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

/* Whether tap reads the padding of a masked dimension somewhere. */
static bool tap_masked(const conv_geom *cg, const int64_t *tap)
{
  int i = cg->nsp - 1;
  int64_t off = tap[i] * cg->d[i] - cg->pb[i];
  return masked_dim(cg, i) && (off < 0 || (cg->out[i] - 1) * cg->s[i] + off >= cg->in[i]);
}

/* Whether tap reads no input at all (never inside it). */
static bool tap_empty(const conv_geom *cg, const int64_t *tap)
{
  for (int i = 0; i < cg->nsp; i++) {
    int64_t lo, hi;
    inside_range(cg, i, tap[i], &lo, &hi);
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

static ir_expr *tap_pos(ir_lower *L, const conv_geom *cg, int i, const int64_t *tap)
{
  return graph_ex_bin(L, IR_ADD, graph_ex_bin(L, IR_MUL, graph_ex_idx(L, 2 + i), graph_ex_int(L, cg->s[i])),
                      graph_ex_int(L, tap[i] * cg->d[i] - cg->pb[i]));
}

/* x(n, c, o * s + k * d - pb ...) at tap; a masked read (0 outside x, or
 * -inf for a max) where the tap reaches the padding of a masked row. */
static ir_expr *tap_read(ir_lower *L, const graph_taps *tp, const conv_geom *cg, const int64_t *tap)
{
  ir_expr *ix[IR_MAX_RANK] = {graph_ex_idx(L, 0), graph_ex_idx(L, 1)};
  bool masked = tap_masked(cg, tap);
  for (int i = 0; i < cg->nsp; i++)
    ix[2 + i] = tap_pos(L, cg, i, tap);
  ir_expr *v = graph_ex_read(L, tp->x, ix, masked);
  if (!masked || tp->red != IR_RED_MAX)
    return v;
  int w = cg->nsp - 1;
  ir_type t = graph_lw_tensor(L, tp->y)->type;
  return graph_ex_sel(L, graph_ex_in_range(L, tap_pos(L, cg, w, tap), 0, cg->in[w]), v,
                      graph_ex_flt(L, -INFINITY, t));
}

/* w(c, 0, tap...) * x(tap) for depthwise weights w, else x(tap). */
static ir_expr *tap_value(ir_lower *L, const graph_taps *tp, const conv_geom *cg, const int64_t *tap)
{
  ir_expr *v = tap_read(L, tp, cg, tap);
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
