/* winograd.c: 3x3 stride-1 convolutions by Winograd's minimal filtering
 * F(m x m, 3 x 3) (Lavin and Gray, 2015), m = 2 (tiles of 4 x 4 inputs) or
 * 4 (6 x 6). The graph pass `winograd` (after fold-batchnorm, so folded
 * weights are the ones transformed) picks the convolutions where it wins
 * (winograd_wins: a rule from measured times) and transforms their weights
 * at compile time, U = G g G^T, as a new constant input of the node
 * [a, a, M, C] (a = m + 2); the lowering below then emits, instead of the
 * implicit-im2col product:
 *
 *   input transform, rows then columns (one statement per transformed row or
 *   column, each a sum of a few reads of the zero-padded input):
 *     W(xi, n, c, ty, w)      = sum_i BT(xi, i) x(n, c, m ty + i - pad, w - pad)
 *     V(xi, nu, c, n, ty, tx) = sum_j BT(nu, j) W(xi, n, c, ty, m tx + j)
 *   a product batched over the a x a points, on the packed path:
 *     P(xi, nu, k, n, ty, tx) +=! U(xi, nu, k, c) * V(xi, nu, c, n, ty, tx)
 *   output transform, columns (one statement per tile column q, unit-stride
 *   reads) then rows (the row's remainder modulo m picks AT's row from a
 *   constant table, invariant in the inner loop; no select):
 *     Q(xi, k, n, ty, tx, q)  = sum_nu AT(q, nu) P(xi, nu, k, n, ty, tx)
 *     R(xi, k, n, ty, w)      = Q reshaped (w = m tx + q; a view, no copy)
 *     y(n, k, oh, ow)         = sum_xi AT(oh % m, xi) R(xi, k, n, oh / m, ow) (+ b(k))
 *
 * Sizes that are not multiples of m read zeros past the input's end and
 * the last tiles' extra outputs are never stored. AOTC_WINOGRAD=0 turns the
 * pass off, 2 or 4 forces F(2x2) or F(4x4) wherever it applies (tests,
 * measurements). */
#include "ops_conv.h"

#include <stdlib.h>
#include <string.h>

#define WINO_MAX 6

typedef struct wino_tables {
  int m, a;                        /* output tile, input tile (m + 2) */
  double bt[WINO_MAX][WINO_MAX];   /* input transform BT, a x a */
  double g[WINO_MAX][3];           /* weight transform G, a x 3 */
  double at[WINO_MAX][WINO_MAX];   /* output transform AT, m x a */
} wino_tables;

static const wino_tables wino_f2 = {
    2, 4,
    {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
    {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}},
    {{1, 1, 1, 0}, {0, 1, -1, -1}},
};

static const wino_tables wino_f4 = {
    4, 6,
    {{4, 0, -5, 0, 1, 0},
     {0, -4, -4, 1, 1, 0},
     {0, 4, -4, -1, 1, 0},
     {0, -2, -1, 2, 1, 0},
     {0, 2, -1, -2, 1, 0},
     {0, 4, 0, -5, 0, 1}},
    {{1.0 / 4, 0, 0},
     {-1.0 / 6, -1.0 / 6, -1.0 / 6},
     {-1.0 / 6, 1.0 / 6, -1.0 / 6},
     {1.0 / 24, 1.0 / 12, 1.0 / 6},
     {1.0 / 24, -1.0 / 12, 1.0 / 6},
     {0, 0, 1}},
    {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}},
};

static const wino_tables *tables_of(int m)
{
  return m == 4 ? &wino_f4 : &wino_f2;
}

/* ------------------------------------------------------------------------
 * The graph pass
 * ------------------------------------------------------------------------ */

/* Whether the window has strides and dilations 1 and explicit pads. */
static bool unit_window(const graph_window *w)
{
  if (w->auto_pad != GRAPH_AUTO_PAD_NONE && w->auto_pad != GRAPH_AUTO_PAD_VALID)
    return false;
  for (int i = 0; i < w->n_spatial; i++)
    if (w->strides[i] != 1 || w->dilations[i] != 1)
      return false;
  return true;
}

/* Whether Conv n can run as Winograd: 2-D, 3x3, stride and dilation 1, no
 * groups, float32 input and constant float32 weights. */
static bool winograd_legal(const ir_graph *g, const ir_node *n)
{
  if (n->dead || n->op != GRAPH_OP_CONV || n->n_in < 2 || n->n_in > 3 || n->p.conv.groups > 1 ||
      n->p.conv.winograd || n->out[0] < 0)
    return false;
  const ir_value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]], *y = &g->values[n->out[0]];
  return x->rank == 4 && x->type == IR_F32 && w->type == IR_F32 && w->data && w->rank == 4 && w->shape[2] == 3 &&
         w->shape[3] == 3 && y->rank == 4 && unit_window(&n->p.conv.window);
}

/* The tile where Winograd wins over the packed implicit-im2col product, 0
 * where it does not. Measured on ResNet-18's 3x3 layers (bench/conv.sh, 1
 * thread, CPU ms, bench/RESULTS.md): F(2x2) 0.7-0.9x of the direct product
 * at 56x56 and 28x28 with 64 and 128 channels, even at 14x14, 1.7x slower at
 * 7x7 (16 tiles); F(4x4) was slower than F(2x2) at every size then (its
 * transforms, before they ran in one pass: WINO_F4_MIN_CHANNELS). At 14x14
 * (layer3, batch 1) with the tiles as the product's columns the product
 * won but its transforms lost it back in the whole model (61.1 against 58.5
 * ms, an earlier machine): by size alone the rule starts at 28x28; below,
 * the tile count decides (next). */
#define WINO_MIN_PIXELS (28 * 28)

/* From 28x28 up, F(4x4) where both channel counts reach this: since the
 * input transforms run in one pass (d08b404) it beats F(2x2) there
 * (bench/conv.sh, 1 thread, bench/RESULTS.md: 64 -> 64 channels at 56x56
 * 0.80x, 96 -> 128 at 28x28 0.85x, 128 -> 128 0.81x, 128 -> 192 0.78x), and
 * gains little with fewer (32 -> 96 0.96x, 128 -> 32 1.01x). (ResNet-18's
 * layer1 in F(4x4) waited for the memory plan's search, memplan.c: its
 * placement by size was 1.18x the lower bound.) */
#define WINO_F4_MIN_CHANNELS 64

/* Below 28x28, F(2x2) wins by the number of tiles its product has (all
 * images), measured on ResNet-18 (bench/RESULTS.md):
 * - at least WINO_MANY_TILES (four 32-wide register tiles of columns):
 *   layer3 (14x14) at batch 8, 392 tiles, 0.5 ms an image against 1.2
 *   direct; layer4 (7x7) at batch 8, 128 tiles, 0.83 against 1.19;
 * - at most WINO_FEW_TILES at 14x14 and up: the packed product then takes
 *   the tiles as the rows of its register tile and the output channels as
 *   its vector lanes (schedule.c, SWAP_MAX_COLS). layer3 at batch 1, 49
 *   tiles: 0.58 ms product (0.85 before its weights were prepacked per tile
 *   point) and 0.1 ms transforms against 1.2 direct.
 * Not in between, nor with few tiles at 7x7 (layer4 at batch 1, 16 tiles:
 * 16 MB of transformed weights per convolution read for 16 rows, 2.9 ms
 * against 1.2). */
#define WINO_MANY_TILES 128
#define WINO_FEW_TILES 64
#define WINO_FEW_MIN_PIXELS (14 * 14)

static int64_t f2_tiles(int64_t images, int64_t h, int64_t w)
{
  return images * ((h + 1) / 2) * ((w + 1) / 2);
}

static int winograd_wins(const ir_graph *g, const ir_node *n)
{
  const ir_value *w = &g->values[n->in[1]], *y = &g->values[n->out[0]];
  int64_t k = w->shape[0], c = w->shape[1], pixels = y->shape[2] * y->shape[3];
  int64_t tiles = y->shape[0] > 0 ? f2_tiles(y->shape[0], y->shape[2], y->shape[3]) : 0;
  bool wins = pixels >= WINO_MIN_PIXELS || tiles >= WINO_MANY_TILES ||
              (pixels >= WINO_FEW_MIN_PIXELS && tiles > 0 && tiles <= WINO_FEW_TILES);
  if (k < 32 || c < 32 || !wins)
    return 0;
  return pixels >= WINO_MIN_PIXELS && k >= WINO_F4_MIN_CHANNELS && c >= WINO_F4_MIN_CHANNELS ? 4 : 2;
}

/* U(xi, nu, k, c) = sum_ij G(xi, i) w(k, c, i, j) G(nu, j). */
static float *transform_weights(ir_graph *g, const float *w, int64_t k, int64_t c, const wino_tables *t)
{
  int a = t->a;
  float *u = IR_NEW_ARRAY(g->ctx, float, (size_t)(a * a) * (size_t)(k * c));
  for (int64_t o = 0; u && o < k * c; o++) {
    const float *f = w + o * 9;
    for (int xi = 0; xi < a; xi++)
      for (int nu = 0; nu < a; nu++) {
        double s = 0;
        for (int i = 0; i < 3; i++)
          for (int j = 0; j < 3; j++)
            s += t->g[xi][i] * f[i * 3 + j] * t->g[nu][j];
        u[(size_t)(xi * a + nu) * (size_t)(k * c) + (size_t)o] = (float)s;
      }
  }
  return u;
}

/* The transformed weights as a new constant, the node's fourth input. */
static bool rewrite(ir_graph *g, int node, int m)
{
  const wino_tables *t = tables_of(m);
  const ir_value *w = &g->values[g->nodes[node].in[1]];
  int64_t k = w->shape[0], c = w->shape[1];
  float *u = transform_weights(g, w->data, k, c, t);
  const char *name = ir_sprintf(g->ctx, "%s_winograd", w->name);
  int *in = IR_NEW_ARRAY(g->ctx, int, 4), v = u && name && in ? ir_graph_add_value(g, name) : -1;
  if (v < 0)
    return false;
  ir_node *n = &g->nodes[node];
  ir_value *uv = &g->values[v];
  uv->type = IR_F32;
  uv->rank = 4;
  uv->shape[0] = uv->shape[1] = t->a;
  uv->shape[2] = k;
  uv->shape[3] = c;
  uv->data = u;
  uv->loc = n->loc;
  memcpy(in, n->in, sizeof(int) * (size_t)n->n_in);
  for (int j = n->n_in; j < 3; j++)
    in[j] = -1;
  in[3] = v;
  n->in = in;
  n->n_in = 4;
  n->p.conv.winograd = m;
  return true;
}

/* AOTC_WINOGRAD: 0 off, 2 or 4 that tile wherever legal; else -1 (the rule). */
static int forced_tile(void)
{
  const char *env = getenv("AOTC_WINOGRAD");
  if (!env || !*env)
    return -1;
  int v = atoi(env);
  return v == 2 || v == 4 ? v : 0;
}

bool graph_winograd_rewrite(ir_graph *g)
{
  int forced = forced_tile();
  if (g->weights_as_params || !forced)
    return true;
  for (int k = 0; k < g->n_nodes; k++) {
    if (!winograd_legal(g, &g->nodes[k]))
      continue;
    int m = forced > 0 ? forced : winograd_wins(g, &g->nodes[k]);
    if (m && !rewrite(g, k, m))
      return false;
  }
  return true;
}

/* ------------------------------------------------------------------------
 * Lowering
 * ------------------------------------------------------------------------ */

/* A batch whose transformed input (a * a * channels * tiles floats) and
 * product would pass this many bytes together is transformed, multiplied
 * and transformed back a chunk of images at a time, each chunk's stages
 * reading what the one before wrote while it is still in the cache. At
 * batch 8 (25 MB of transformed input and as much product for each of
 * ResNet-18's layer1 convolutions, one image a chunk) layer1.0's conv1 went
 * from 12.2 to 9.2 ms, its products from 5.4 to 4.0 (1 thread). */
#define WINO_CHUNK_BYTES ((int64_t)8 << 20)

typedef struct wino_lower {
  ir_lower *L;
  const wino_tables *t;
  const conv_geom *cg;
  int64_t n, c, k, th, tw; /* images (of this chunk), channels in and out, tiles down and across */
  int64_t n0;              /* the chunk's first image */
} wino_lower;

static ir_expr *idx_times(ir_lower *L, int k, int64_t f, int64_t plus)
{
  ir_expr *e = graph_ex_bin(L, IR_MUL, graph_ex_idx(L, k), graph_ex_int(L, f));
  return graph_ex_bin(L, IR_ADD, e, graph_ex_int(L, plus));
}

/* Index k shifted by off (the chunk's first image), plain when off is 0. */
static ir_expr *idx_plus(ir_lower *L, int k, int64_t off)
{
  return off ? graph_ex_bin(L, IR_ADD, graph_ex_idx(L, k), graph_ex_int(L, off)) : graph_ex_idx(L, k);
}

/* sum + coef * v, sum NULL for the first term. */
static ir_expr *add_term(ir_lower *L, ir_expr *sum, double coef, ir_expr *v)
{
  if (coef == -1 && sum)
    return graph_ex_bin(L, IR_SUB, sum, v);
  ir_expr *term = coef == 1 ? v : graph_ex_bin(L, IR_MUL, graph_ex_flt(L, coef, IR_F32), v);
  return sum ? graph_ex_bin(L, IR_ADD, sum, term) : term;
}

/* One statement over a transform's slices: its indices in loop order
 * (order[d]: the index of the tensor's dimension d), the slice index `sel`
 * (extent a) just outside the innermost loop, and e[v] the slice v's value,
 * chosen by a select on sel. Both backends run that loop as one copy per
 * slice with sel a constant (emit_plan.c, emit_select_loop): each slice's
 * inner loop reads what the one before read while it is in L1, instead of
 * one pass over the operand per slice (ResNet-18's layer1 input transform
 * 0.32 -> 0.22 ms on 1 thread). */
static bool emit_sliced(ir_lower *L, int t, const int *order, int sel, int a, ir_expr **e)
{
  const ir_tensor *T = graph_lw_tensor(L, t);
  int64_t hi[IR_MAX_RANK];
  for (int d = 0; d < T->rank; d++)
    hi[order[d]] = graph_lw_dim(L, t, d);
  ir_stmt *st = graph_st_new(L, t, T->rank, 0, hi);
  if (!st)
    return false;
  for (int d = 0; d < T->rank; d++)
    st->lhs[d] = order[d];
  ir_expr *rhs = e[a - 1];
  for (int v = a - 2; v >= 0; v--)
    rhs = graph_ex_sel(L, graph_ex_bin(L, IR_EQ, graph_ex_idx(L, sel), graph_ex_int(L, v)), e[v], rhs);
  return graph_st_emit(L, st, IR_RED_NONE, false, rhs);
}

/* W(xi, n, c, ty, w) = sum_i BT(xi, i) x(n, c, m ty + i - pad, w - pad),
 * looping over (c, n, ty, xi, w). */
static int input_rows(const wino_lower *W, int x)
{
  ir_lower *L = W->L;
  int64_t shape[5] = {W->t->a, W->n, W->c, W->th, W->tw * W->t->m + 2};
  int t = graph_lw_temp(L, "wino_rows", IR_F32, 5, shape);
  static const int order[5] = {3, 1, 0, 2, 4};
  ir_expr *e[WINO_MAX];
  for (int xi = 0; t >= 0 && xi < W->t->a; xi++) {
    e[xi] = NULL;
    for (int i = 0; i < W->t->a; i++) {
      if (!W->t->bt[xi][i])
        continue;
      ir_expr *ix[4] = {idx_plus(L, 1, W->n0), graph_ex_idx(L, 0), idx_times(L, 2, W->t->m, i - W->cg->pb[0]),
                        idx_times(L, 4, 1, -W->cg->pb[1])};
      e[xi] = add_term(L, e[xi], W->t->bt[xi][i], graph_ex_read(L, x, ix, true));
    }
  }
  return t >= 0 && emit_sliced(L, t, order, 3, W->t->a, e) ? t : -1;
}

/* V(xi, nu, c, n, ty, tx) = sum_j BT(nu, j) W(xi, n, c, ty, m tx + j),
 * looping over (c, xi, n, ty, nu, tx). */
static int input_cols(const wino_lower *W, int rows)
{
  ir_lower *L = W->L;
  int64_t shape[6] = {W->t->a, W->t->a, W->c, W->n, W->th, W->tw};
  int t = graph_lw_temp(L, "wino_in", IR_F32, 6, shape);
  static const int order[6] = {1, 4, 0, 2, 3, 5};
  ir_expr *e[WINO_MAX];
  for (int nu = 0; t >= 0 && nu < W->t->a; nu++) {
    e[nu] = NULL;
    for (int j = 0; j < W->t->a; j++) {
      if (!W->t->bt[nu][j])
        continue;
      ir_expr *ix[5] = {graph_ex_idx(L, 1), graph_ex_idx(L, 2), graph_ex_idx(L, 0), graph_ex_idx(L, 3),
                        idx_times(L, 5, W->t->m, j)};
      e[nu] = add_term(L, e[nu], W->t->bt[nu][j], graph_ex_read(L, rows, ix, false));
    }
  }
  return t >= 0 && emit_sliced(L, t, order, 4, W->t->a, e) ? t : -1;
}

/* P(xi, nu, k, n, ty, tx) +=! U(xi, nu, k, c) * V(xi, nu, c, n, ty, tx). */
static int product(const wino_lower *W, int u, int v)
{
  ir_lower *L = W->L;
  int64_t a = W->t->a, shape[6] = {a, a, W->k, W->n, W->th, W->tw};
  int64_t hi[7] = {a, a, W->k, W->n, W->th, W->tw, W->c};
  int t = graph_lw_temp(L, "wino_prod", IR_F32, 6, shape);
  ir_expr *iu[4] = {graph_ex_idx(L, 0), graph_ex_idx(L, 1), graph_ex_idx(L, 2), graph_ex_idx(L, 6)};
  ir_expr *iv[6] = {graph_ex_idx(L, 0), graph_ex_idx(L, 1), graph_ex_idx(L, 6),
                    graph_ex_idx(L, 3), graph_ex_idx(L, 4), graph_ex_idx(L, 5)};
  ir_expr *rhs = graph_ex_bin(L, IR_MUL, graph_ex_read(L, u, iu, false), graph_ex_read(L, v, iv, false));
  return t >= 0 && graph_st_emit(L, graph_st_new(L, t, 6, 1, hi), IR_RED_ADD, true, rhs) ? t : -1;
}

/* Q(xi, k, n, ty, tx, q) = sum_nu AT(q, nu) P(xi, nu, k, n, ty, tx): the
 * columns first, one statement per column q of the output tile (a slice of
 * Q's last dimension), unit-stride reads and no select. Q's elements are in
 * the order of y's columns: Q(.., ty, tx, q) is column m tx + q. */
static bool output_cols(const wino_lower *W, int prod, int t)
{
  ir_lower *L = W->L;
  ir_expr *e = NULL;
  for (int q = W->t->m - 1; t >= 0 && q >= 0; q--) {
    ir_expr *sum = NULL;
    for (int nu = 0; nu < W->t->a; nu++) {
      if (!W->t->at[q][nu])
        continue;
      ir_expr *ix[6] = {graph_ex_idx(L, 0), graph_ex_int(L, nu), graph_ex_idx(L, 1),
                        idx_plus(L, 2, -W->n0), graph_ex_idx(L, 3), graph_ex_idx(L, 4)};
      sum = add_term(L, sum, W->t->at[q][nu], graph_ex_read(L, prod, ix, false));
    }
    e = !e ? sum : graph_ex_sel(L, graph_ex_bin(L, IR_EQ, graph_ex_idx(L, 5), graph_ex_int(L, q)), sum, e);
  }
  const ir_tensor *T = graph_lw_tensor(L, t);
  int64_t hi[6];
  for (int d = 0; d < 6; d++)
    hi[d] = graph_lw_dim(L, t, d);
  ir_stmt *st = graph_st_new(L, t, T->rank, 0, hi);
  graph_st_range(st, L, 2, W->n0, W->n0 + W->n);
  return graph_st_emit(L, st, IR_RED_NONE, false, e);
}

/* Q as R(xi, k, n, ty, w), its tile columns merged (a reshape the memory
 * plan makes a view), so that y's statement reads it at its own column. */
static int merge_cols(const wino_lower *W, int cols)
{
  ir_lower *L = W->L;
  int64_t shape[5] = {W->t->a, W->k, graph_lw_dim(L, cols, 2), W->th, W->tw * W->t->m};
  ir_expr *ix[6];
  int t = graph_lw_temp(L, "wino_out_merged", IR_F32, 5, shape);
  if (t < 0)
    return -1;
  graph_reshape_index(L, cols, t, ix);
  return graph_st_map(L, t, graph_ex_read(L, cols, ix, false)) ? t : -1;
}

/* y(n, k, oh, ow) = sum_xi AT(oh % m, xi) R(xi, k, n, oh / m, ow) (+ b(k)):
 * the row of AT read from a constant table at the row's remainder, which
 * the inner loop (over ow) does not change: unit-stride, no select. */
static bool output_rows(const wino_lower *W, const ir_node *n, int merged, int y)
{
  ir_lower *L = W->L;
  float *at = IR_NEW_ARRAY(L->ctx, float, (size_t)(W->t->m * W->t->a));
  int64_t shape[2] = {W->t->m, W->t->a};
  if (!at)
    return false;
  for (int r = 0; r < W->t->m; r++)
    for (int j = 0; j < W->t->a; j++)
      at[r * W->t->a + j] = (float)W->t->at[r][j];
  int tab = graph_lw_const(L, "wino_at", IR_F32, 2, shape, at);
  if (tab < 0)
    return false;
  ir_expr *sum = NULL, *mm = graph_ex_int(L, W->t->m);
  for (int xi = 0; xi < W->t->a; xi++) {
    ir_expr *ia[2] = {graph_ex_bin(L, IR_MOD, graph_ex_idx(L, 2), mm), graph_ex_int(L, xi)};
    ir_expr *ir[5] = {graph_ex_int(L, xi), graph_ex_idx(L, 1), graph_ex_idx(L, 0),
                      graph_ex_bin(L, IR_DIV, graph_ex_idx(L, 2), mm), graph_ex_idx(L, 3)};
    ir_expr *term = graph_ex_bin(L, IR_MUL, graph_ex_read(L, tab, ia, false), graph_ex_read(L, merged, ir, false));
    sum = sum ? graph_ex_bin(L, IR_ADD, sum, term) : term;
  }
  return graph_conv_store_biased(L, n, sum, y);
}

/* Images per chunk: AOTC_WINOGRAD_CHUNK when set (tests), else as many as
 * WINO_CHUNK_BYTES holds (at least one). */
static int64_t chunk_images(int64_t images, int64_t per_image)
{
  const char *env = getenv("AOTC_WINOGRAD_CHUNK");
  int64_t chunk = env && atoi(env) > 0 ? atoi(env) : per_image > 0 ? WINO_CHUNK_BYTES / per_image : images;
  return chunk < 1 ? 1 : chunk > images ? images : chunk;
}

bool graph_lower_conv_winograd(ir_lower *L, ir_node *n, int x, int y, const conv_geom *cg)
{
  const wino_tables *t = tables_of(n->p.conv.winograd);
  int u = graph_lw_in(L, n->in[3]);
  int64_t images = graph_lw_dim(L, x, 0);
  wino_lower W = {L, t, cg, images, graph_lw_dim(L, x, 1), graph_lw_dim(L, y, 1),
                  (cg->out[0] + t->m - 1) / t->m, (cg->out[1] + t->m - 1) / t->m, 0};
  int64_t shape[6] = {t->a, W.k, images, W.th, W.tw, t->m};
  int cols = u < 0 ? -1 : graph_lw_temp(L, "wino_out_cols", IR_F32, 6, shape);
  int64_t chunk = chunk_images(images, t->a * t->a * (W.c + W.k) * W.th * W.tw * 4);
  for (int64_t n0 = 0; cols >= 0 && n0 < images; n0 += chunk) {
    W.n0 = n0;
    W.n = images - n0 < chunk ? images - n0 : chunk;
    int rows = input_rows(&W, x), in = rows < 0 ? -1 : input_cols(&W, rows);
    int prod = in < 0 ? -1 : product(&W, u, in);
    if (prod < 0 || !output_cols(&W, prod, cols))
      cols = -1;
  }
  int merged = cols < 0 ? -1 : merge_cols(&W, cols);
  return merged >= 0 && output_rows(&W, n, merged, y);
}
