/* gpu_map.c: the mapping of a kernel's schedule tree to a CUDA grid, in the
 * manner of PPCG and Tensor Comprehensions. The leading coincident members
 * (at most three) of every outermost band are split off and tiled; the tile
 * band is marked SCHED_MARK_GRID (its loops go to blockIdx), the point band
 * SCHED_MARK_BLOCK (its loops go to threadIdx), and the rest of the band and
 * everything below it SCHED_MARK_SEQ (sequential in each thread: per-thread
 * reductions). The printer spreads a marked loop over the blocks or threads
 * with a stride loop, so sizes not divisible by the tiles and grids smaller
 * than the number of tiles stay correct. The grid mark's id carries a
 * sched_gpu_band: block sizes and the number of tiles of every member as a
 * function of the size parameters, for the host's launch. */
#include "schedule.h"

#include <isl/aff.h>
#include <isl/id.h>
#include <isl/ilp.h>
#include <isl/schedule_node.h>
#include <isl/set.h>
#include <isl/union_map.h>
#include <isl/union_set.h>
#include <isl/val.h>

/* ------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------ */

/* Threads per block along x, y, z for n mapped members: given, else 256
 * threads with 32 along x (a warp over the innermost member). */
void sched_gpu_block_sizes(const sched_options *o, int n, int block[3])
{
  static const int heuristic[4][3] = {{1, 1, 1}, {256, 1, 1}, {32, 8, 1}, {32, 4, 2}};
  for (int d = 0; d < 3; d++)
    block[d] = d < n ? (o->gpu_block[d] > 0 ? o->gpu_block[d] : heuristic[n][d]) : 1;
  long threads = (long)block[0] * block[1] * block[2];
  for (int d = 2; threads > SCHED_GPU_MAX_THREADS && d >= 0; d--)
    while (threads > SCHED_GPU_MAX_THREADS && block[d] > 1) {
      block[d] = (block[d] + 1) / 2;
      threads = (long)block[0] * block[1] * block[2];
    }
}

void sched_gpu_options_heuristic(sched_options *o)
{
  sched_options_default(o);
  o->fusion = SCHED_FUSE_KEEP_PARALLEL;
  o->scalar_replace = true;
  o->vectorize = false;
  o->microkernel = false;
  o->pack = false;
  o->vector_bytes = 4;
  o->gpu_promote = true;
  o->gpu_promote_reads = true;
}

/* ------------------------------------------------------------------------
 * The number of tiles of a band member
 * ------------------------------------------------------------------------ */

/* The values member d of band takes on its domain, as a 1-d set. */
static __isl_give isl_set *member_values(__isl_keep isl_schedule_node *band, int d)
{
  isl_multi_union_pw_aff *mupa = isl_schedule_node_band_get_partial_schedule(band);
  isl_union_pw_aff *upa = isl_multi_union_pw_aff_get_union_pw_aff(mupa, d);
  isl_multi_union_pw_aff_free(mupa);
  isl_union_set *dom = isl_schedule_node_get_domain(band);
  isl_union_set *values = isl_union_set_apply(dom, isl_union_map_from_union_pw_aff(upa));
  return isl_set_from_union_set(values);
}

/* floor(v / tile) */
static __isl_give isl_pw_aff *tile_of(__isl_take isl_pw_aff *v, int tile)
{
  isl_val *t = isl_val_int_from_si(isl_pw_aff_get_ctx(v), tile);
  return isl_pw_aff_floor(isl_pw_aff_scale_down_val(v, t));
}

/* floor(max / tile) - floor(min / tile) + 1 over the member's values. */
static __isl_give isl_pw_aff *count_tiles(__isl_keep isl_schedule_node *band, int d, int tile)
{
  isl_set *values = member_values(band, d);
  if (!values)
    return NULL;
  isl_pw_aff *max = tile_of(isl_set_dim_max(isl_set_copy(values), 0), tile);
  isl_pw_aff *min = tile_of(isl_set_dim_min(values, 0), tile);
  isl_pw_aff *n = isl_pw_aff_sub(max, min);
  isl_val *one = isl_val_one(isl_pw_aff_get_ctx(n));
  return isl_pw_aff_coalesce(isl_pw_aff_add_constant_val(n, one));
}

/* ------------------------------------------------------------------------
 * Marks
 * ------------------------------------------------------------------------ */

static void free_band(void *user)
{
  sched_gpu_band *b = user;
  for (int d = 0; d < 3; d++)
    b->tiles[d] = isl_pw_aff_free(b->tiles[d]);
}

/* A mark named name above node; owner: the id frees b's isl objects. */
static __isl_give isl_schedule_node *mark(__isl_take isl_schedule_node *node, const char *name, sched_gpu_band *b,
                                          bool owner)
{
  isl_id *id = isl_id_alloc(isl_schedule_node_get_ctx(node), name, b);
  if (owner)
    id = isl_id_set_free_user(id, free_band);
  return isl_schedule_node_insert_mark(node, id);
}

static int leading_coincident(__isl_keep isl_schedule_node *band)
{
  isl_size n = isl_schedule_node_band_n_member(band);
  int c = 0;
  while (c < n && isl_schedule_node_band_member_get_coincident(band, c) == isl_bool_true)
    c++;
  return c;
}

static __isl_give isl_multi_val *tile_sizes(__isl_keep isl_schedule_node *band, const sched_gpu_band *b)
{
  isl_multi_val *mv = isl_multi_val_zero(isl_schedule_node_band_get_space(band));
  for (int i = 0; i < b->n; i++)
    mv = isl_multi_val_set_val(mv, i, isl_val_int_from_si(isl_schedule_node_get_ctx(band), b->tile[i]));
  return mv;
}

/* The band's mapping: members outermost first; block[] of the options is
 * x (innermost member), y, z. */
static void describe(__isl_keep isl_schedule_node *band, int c, const sched_options *o, sched_gpu_band *b)
{
  int block[3];
  sched_gpu_block_sizes(o, c, block);
  b->n = c;
  for (int i = 0; i < c; i++) {
    int d = c - 1 - i;
    b->block[i] = block[d];
    b->tile[i] = block[d];
    b->grid_cap[i] = o->gpu_grid[d];
    b->tiles[i] = count_tiles(band, i, b->tile[i]);
  }
}

/* ------------------------------------------------------------------------
 * Reduction kernels: few outputs, long reductions
 * ------------------------------------------------------------------------ */

static isl_bool find_reduction(__isl_keep isl_schedule_node *node, void *user)
{
  bool *found = user;
  if (isl_schedule_node_get_type(node) == isl_schedule_node_band) {
    isl_size n = isl_schedule_node_band_n_member(node);
    for (int i = 0; i < n && !*found; i++)
      *found = isl_schedule_node_band_member_get_coincident(node, i) != isl_bool_true;
  }
  return *found ? isl_bool_false : isl_bool_true;
}

/* Does a member of band from its member c on, or a band below it, carry a
 * dependence (a reduction, for the statements the printer splits)? */
static bool has_reduction(__isl_keep isl_schedule_node *band, int c)
{
  if (isl_schedule_node_band_n_member(band) > c)
    return true;
  bool found = false;
  isl_schedule_node_foreach_descendant_top_down(band, find_reduction, &found);
  return found;
}

/* The most values member d of band takes for any sizes; -1: unbounded. */
static long long member_extent(__isl_keep isl_schedule_node *band, int d)
{
  isl_set *values = member_values(band, d);
  isl_val *max = values ? isl_set_dim_max_val(isl_set_copy(values), 0) : NULL;
  isl_val *min = values ? isl_set_dim_min_val(values, 0) : NULL;
  long long n = -1;
  if (max && min && isl_val_is_int(max) == isl_bool_true && isl_val_is_int(min) == isl_bool_true)
    n = isl_val_get_num_si(max) - isl_val_get_num_si(min) + 1;
  isl_val_free(max);
  isl_val_free(min);
  return n;
}

/* The most points members first..end-1 of band take together for any
 * sizes, counted up to cap + 1; -1: unbounded. */
static long long band_points(__isl_keep isl_schedule_node *band, int first, int end, long long cap)
{
  long long points = 1;
  for (int d = first; d < end && points <= cap; d++) {
    long long n = member_extent(band, d);
    if (n < 0)
      return -1;
    points *= n;
  }
  return points > cap ? cap + 1 : points;
}

/* Threads sharing each reduction of a kernel whose outermost band has c
 * leading coincident members: reduce= when set (1: none), else
 * SCHED_GPU_REDUCE_THREADS when there is a reduction and the members take
 * at most SCHED_GPU_REDUCE_OUTPUTS points for every size; 0: none. */
static int reduce_threads(__isl_keep isl_schedule_node *band, int c, const sched_options *o)
{
  if (o->gpu_reduce == 1 || !has_reduction(band, c))
    return 0;
  if (o->gpu_reduce > 1)
    return o->gpu_reduce;
  long long outputs = band_points(band, 0, c, SCHED_GPU_REDUCE_OUTPUTS);
  return outputs >= 0 && outputs <= SCHED_GPU_REDUCE_OUTPUTS ? SCHED_GPU_REDUCE_THREADS : 0;
}

static isl_bool find_band(__isl_keep isl_schedule_node *node, void *user)
{
  bool *found = user;
  *found = *found || isl_schedule_node_get_type(node) == isl_schedule_node_band;
  return *found ? isl_bool_false : isl_bool_true;
}

/* Is the reduction of band (members c on, no band below) shorter than
 * SCHED_GPU_SPLIT_POINTS for every size? */
static bool short_reduction(__isl_keep isl_schedule_node *band, int c)
{
  bool below = false;
  isl_schedule_node *child = isl_schedule_node_get_child(band, 0);
  isl_schedule_node_foreach_descendant_top_down(child, find_band, &below);
  isl_schedule_node_free(child);
  long long n = band_points(band, c, isl_schedule_node_band_n_member(band), SCHED_GPU_SPLIT_POINTS);
  return !below && n >= 0 && n < SCHED_GPU_SPLIT_POINTS;
}

/* Blocks sharing each reduction of a reduction kernel of `outputs` points
 * at most (a grid-level two-stage reduction): split= when set (1: none),
 * else the power of two nearest below SCHED_GPU_FILL_BLOCKS / outputs when
 * that is at least 2 and the reduction may be long; 0: none. A split needs
 * one point per block (no grid= cap) and a free grid dimension. */
static int split_blocks(__isl_keep isl_schedule_node *band, int c, long long outputs, const sched_options *o)
{
  if (o->gpu_split == 1 || c >= 3 || outputs < 1 || outputs > SCHED_GPU_REDUCE_OUTPUTS)
    return 0;
  for (int d = 0; d < 3; d++)
    if (o->gpu_grid[d] > 0)
      return 0;
  if (o->gpu_split > 1)
    return o->gpu_split;
  int blocks = 1;
  while (blocks * 2 * outputs <= SCHED_GPU_FILL_BLOCKS)
    blocks *= 2;
  return blocks >= 2 && !short_reduction(band, c) ? blocks : 0;
}

/* Below a reduction kernel's seq mark: the outermost bands with a leading
 * coincident member, their leading coincident members split off under a
 * spread mark (their loop goes to the threads of the block), found
 * top-down. */
static __isl_give isl_schedule_node *mark_spread(__isl_take isl_schedule_node *node)
{
  if (!node)
    return NULL;
  if (isl_schedule_node_get_type(node) == isl_schedule_node_band) {
    int c = leading_coincident(node);
    if (c > 0) {
      if (isl_schedule_node_band_n_member(node) > c)
        node = isl_schedule_node_band_split(node, c);
      return mark(node, SCHED_MARK_SPREAD, NULL, false);
    }
  }
  isl_size n = isl_schedule_node_n_children(node);
  for (int i = 0; i < n && node; i++) {
    node = isl_schedule_node_child(node, i);
    node = mark_spread(node);
    node = isl_schedule_node_parent(node);
  }
  return node;
}

/* A reduction kernel: the c coincident members (untiled) go to the blocks,
 * one point per block, under a grid mark; the rest below a seq mark, its
 * parallel loops spread over the threads; with few outputs, each reduction
 * also over split_blocks blocks. */
static __isl_give isl_schedule_node *map_reduction(aotc_ctx *ctx, __isl_take isl_schedule_node *band, int c,
                                                   int threads, const sched_options *o)
{
  sched_gpu_band *b = IR_NEW(ctx, sched_gpu_band);
  if (!b)
    return band;
  b->n = c;
  b->reduce = threads;
  b->depth = isl_schedule_node_get_schedule_depth(band);
  b->outputs = (int)band_points(band, 0, c, SCHED_GPU_REDUCE_OUTPUTS);
  b->split = split_blocks(band, c, b->outputs, o);
  if (c == 0)
    return mark(mark(mark_spread(band), SCHED_MARK_SEQ, NULL, false), SCHED_MARK_GRID, b, true);
  if (isl_schedule_node_band_n_member(band) > c)
    band = isl_schedule_node_band_split(band, c);
  for (int i = 0; i < c; i++) {
    b->tile[i] = b->block[i] = 1;
    b->tiles[i] = count_tiles(band, i, 1);
  }
  band = isl_schedule_node_child(band, 0);
  band = isl_schedule_node_parent(mark(mark_spread(band), SCHED_MARK_SEQ, NULL, false));
  return mark(band, SCHED_MARK_GRID, b, true);
}

/* ------------------------------------------------------------------------
 * Bands
 * ------------------------------------------------------------------------ */

/* Splits off, tiles and marks the leading coincident members of band (the
 * innermost three of them when there are more, so that x runs along the
 * innermost, usually contiguous, dimension; the outer ones stay loops that
 * every thread runs); returns the outermost new node. A band over few
 * outputs with reductions is a reduction kernel instead. */
static __isl_give isl_schedule_node *map_band(aotc_ctx *ctx, __isl_take isl_schedule_node *band,
                                              const sched_options *o)
{
  int c = leading_coincident(band);
  if (c > 3) {
    band = isl_schedule_node_child(isl_schedule_node_band_split(band, c - 3), 0);
    return isl_schedule_node_parent(map_band(ctx, band, o));
  }
  int threads = reduce_threads(band, c, o);
  if (threads > 0)
    return map_reduction(ctx, band, c, threads, o);
  sched_gpu_band *b = c > 0 ? IR_NEW(ctx, sched_gpu_band) : NULL;
  if (!b)
    return band;
  if (isl_schedule_node_band_n_member(band) > c)
    band = isl_schedule_node_band_split(band, c);
  describe(band, c, o, b);
  b->depth = isl_schedule_node_get_schedule_depth(band);
  band = isl_schedule_node_band_tile(band, tile_sizes(band, b));
  band = isl_schedule_node_child(isl_schedule_node_child(band, 0), 0);
  band = isl_schedule_node_parent(mark(band, SCHED_MARK_SEQ, NULL, false));
  band = isl_schedule_node_parent(mark(band, SCHED_MARK_BLOCK, b, false));
  return mark(band, SCHED_MARK_GRID, b, true);
}

/* The outermost bands, found top-down: each is mapped once. */
static __isl_give isl_schedule_node *map_outermost(aotc_ctx *ctx, __isl_take isl_schedule_node *node,
                                                   const sched_options *o)
{
  if (!node)
    return NULL;
  if (isl_schedule_node_get_type(node) == isl_schedule_node_band)
    return map_band(ctx, node, o);
  isl_size n = isl_schedule_node_n_children(node);
  for (int i = 0; i < n && node; i++) {
    node = isl_schedule_node_child(node, i);
    node = map_outermost(ctx, node, o);
    node = isl_schedule_node_parent(node);
  }
  return node;
}

__isl_give isl_schedule *sched_gpu_map(aotc_ctx *ctx, __isl_take isl_schedule *schedule, const sched_options *o)
{
  if (!schedule || !o)
    return schedule;
  isl_schedule *copy = isl_schedule_copy(schedule);
  isl_schedule_node *root = map_outermost(ctx, isl_schedule_get_root(schedule), o);
  isl_schedule_free(schedule);
  if (!root)
    return copy;
  isl_schedule_free(copy);
  isl_schedule *result = isl_schedule_node_get_schedule(root);
  isl_schedule_node_free(root);
  return result;
}
