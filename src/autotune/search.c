/* search.c: the search space of the autotuner (genes of sched_options and
 * the operators that change them) and the evolutionary search of `aotc
 * tune`: a population seeded with the heuristic options and mutations of
 * them, children from crossover and mutation of tournament-chosen parents,
 * the best kept across generations, under a trial and a time budget. */
#define _GNU_SOURCE
#include "tune.h"
#include "../driver/driver.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POPULATION 16
#define BATCH 4            /* candidates built together (two compilers at a time) */
#define DEFAULT_TRIALS 60
#define NOVELTY_TRIES 32   /* attempts at a child not evaluated before */
#define TIME_PER_CANDIDATE 0.3
#define MAX_TILE 4096
#define MAX_REG 256
#define MAX_UNROLL 1024
#define MAX_TRIALS 100000
#define CONFIRM 4        /* best candidates measured again at the end, with the heuristic */
#define CONFIRM_ROUNDS 2
#define MAX_SAME_IN_A_ROW 500 /* the search space looks exhausted */

static const ir_loc noloc;

/* ------------------------------------------------------------------------
 * Machine and space
 * ------------------------------------------------------------------------ */

/* The statement with the most indices: its loops are the band tuned. */
static const ir_stmt *deepest_stmt(const ir_func *f)
{
  const ir_stmt *best = NULL;
  for (int i = 0; i < f->n_stmts; i++)
    if (!best || f->stmts[i]->n_index > best->n_index)
      best = f->stmts[i];
  return best;
}

int tune_dims(const ir_func *f)
{
  const ir_stmt *s = deepest_stmt(f);
  int n = s ? s->n_index : 1;
  return n < 1 ? 1 : n > SCHED_MAX_DIMS ? SCHED_MAX_DIMS : n;
}

static int widest_element(const ir_func *f)
{
  int bytes = 1;
  for (int t = 0; t < f->n_tensors; t++)
    bytes = ir_types[f->tensors[t]->type].bytes > bytes ? ir_types[f->tensors[t]->type].bytes : bytes;
  return bytes;
}

void tune_space_init(tune_space *sp, const ir_func *f, const int64_t *sizes, int threads, const sched_cpu *cpu)
{
  const ir_stmt *s = deepest_stmt(f);
  memset(sp, 0, sizeof *sp);
  sp->dims = tune_dims(f);
  sp->threads = threads < 1 ? 1 : threads;
  sp->vector_bytes = (cpu ? cpu : sched_cpu_native())->vector_bytes;
  sp->vector_elems = sp->vector_bytes / widest_element(f);
  sp->vector_elems = sp->vector_elems < 1 ? 1 : sp->vector_elems;
  for (int d = 0; d < sp->dims; d++) {
    int64_t lo = 0, hi = 1 << 20;
    if (s && d < s->n_index && sizes && ir_size_eval(s->index[d].lo, sizes, &lo) &&
        ir_size_eval(s->index[d].hi, sizes, &hi) && hi < lo)
      hi = lo;
    sp->extent[d] = hi - lo > 0 ? hi - lo : 1;
  }
}

static bool order_is_permutation(const int *order, int dims)
{
  bool seen[SCHED_MAX_DIMS] = {0};
  for (int d = 0; d < dims; d++) {
    if (order[d] < 0 || order[d] >= dims || seen[order[d]])
      return false;
    seen[order[d]] = true;
  }
  for (int d = dims; d < SCHED_MAX_DIMS; d++)
    if (order[d] != d)
      return false;
  return true;
}

bool tune_options_legal(const sched_options *o, int dims)
{
  if (dims < 1 || dims > SCHED_MAX_DIMS || !order_is_permutation(o->order, dims))
    return false;
  for (int d = 0; d < SCHED_MAX_DIMS; d++) {
    if (o->tile[d] < 0 || o->tile[d] > MAX_TILE || o->reg_tile[d] < 0 || o->reg_tile[d] > MAX_REG)
      return false;
    if (d >= dims && (o->tile[d] || o->reg_tile[d]))
      return false;
    if (o->tile[d] && o->reg_tile[d] > o->tile[d])
      return false;
  }
  return o->fusion >= 0 && o->fusion < SCHED_FUSE_COUNT && o->unroll >= 0 && o->unroll <= MAX_UNROLL &&
         o->threads >= 1;
}

/* ------------------------------------------------------------------------
 * Random numbers (xorshift64*)
 * ------------------------------------------------------------------------ */

uint32_t tune_rng_next(tune_rng *r)
{
  if (!r->state)
    r->state = 0x9e3779b97f4a7c15ULL;
  r->state ^= r->state >> 12;
  r->state ^= r->state << 25;
  r->state ^= r->state >> 27;
  return (uint32_t)((r->state * 2685821657736338717ULL) >> 32);
}

static int pick(tune_rng *r, int n)
{
  return n > 0 ? (int)(tune_rng_next(r) % (uint32_t)n) : 0;
}

static bool coin(tune_rng *r, int percent)
{
  return pick(r, 100) < percent;
}

/* ------------------------------------------------------------------------
 * Genes
 * ------------------------------------------------------------------------ */

/* A cache tile size: a power of two or a multiple of the vector width,
 * no larger than needed for the loop's extent; sometimes untiled. */
static int random_tile(const tune_space *sp, tune_rng *r, int d)
{
  int64_t cap = sp->extent[d] < MAX_TILE ? sp->extent[d] : MAX_TILE;
  if (coin(r, 8) || cap < 4)
    return 0;
  for (int tries = 0; tries < 16; tries++) {
    int v = coin(r, 50) ? 4 << pick(r, 9) : sp->vector_elems * (1 + pick(r, 16));
    if (v <= cap)
      return v;
  }
  return (int)cap;
}

/* A register tile size: small, or a multiple of the vector width. */
static int random_reg(const tune_space *sp, tune_rng *r)
{
  static const int small[] = {0, 1, 2, 3, 4, 5, 6, 8, 12, 16};
  if (coin(r, 35))
    return sp->vector_elems * (1 + pick(r, 4)) <= MAX_REG ? sp->vector_elems * (1 + pick(r, 4)) : MAX_REG;
  return small[pick(r, (int)(sizeof small / sizeof small[0]))];
}

static int random_unroll(tune_rng *r)
{
  static const int values[] = {0, 2, 4, 8, 16, 32, 64, 128};
  return values[pick(r, (int)(sizeof values / sizeof values[0]))];
}

/* CUDA: blocks of at most SCHED_GPU_MAX_THREADS threads (the largest
 * dimension halved until they fit), no CPU micro-kernels. */
static void make_legal_gpu(sched_options *o)
{
  for (int d = 0; d < 3; d++) {
    o->gpu_block[d] = o->gpu_block[d] < 0 ? 0 : o->gpu_block[d] > SCHED_GPU_MAX_THREADS ? SCHED_GPU_MAX_THREADS
                                                                                         : o->gpu_block[d];
    o->gpu_grid[d] = o->gpu_grid[d] < 0 ? 0 : o->gpu_grid[d];
  }
  for (;;) {
    long threads = 1;
    int big = 0;
    for (int d = 0; d < 3; d++) {
      threads *= o->gpu_block[d] ? o->gpu_block[d] : 1;
      big = o->gpu_block[d] > o->gpu_block[big] ? d : big;
    }
    if (threads <= SCHED_GPU_MAX_THREADS)
      break;
    o->gpu_block[big] /= 2;
  }
  o->microkernel = o->pack = o->vectorize = false;
}

/* Keeps register tiles inside cache tiles and unused dimensions empty. */
static void make_legal(const tune_space *sp, sched_options *o)
{
  for (int d = 0; d < SCHED_MAX_DIMS; d++) {
    if (d >= sp->dims)
      o->tile[d] = o->reg_tile[d] = 0, o->order[d] = d;
    o->tile[d] = o->tile[d] < 0 ? 0 : o->tile[d] > MAX_TILE ? MAX_TILE : o->tile[d];
    o->reg_tile[d] = o->reg_tile[d] < 0 ? 0 : o->reg_tile[d] > MAX_REG ? MAX_REG : o->reg_tile[d];
    if (o->tile[d] && o->reg_tile[d] > o->tile[d])
      o->reg_tile[d] = o->tile[d];
  }
  if (!order_is_permutation(o->order, sp->dims))
    for (int d = 0; d < SCHED_MAX_DIMS; d++)
      o->order[d] = d;
  o->unroll = o->unroll < 0 ? 0 : o->unroll > MAX_UNROLL ? MAX_UNROLL : o->unroll;
  o->fusion = o->fusion >= 0 && o->fusion < SCHED_FUSE_COUNT ? o->fusion : SCHED_FUSE_MAX;
  o->threads = sp->threads;
  o->vector_bytes = sp->vector_bytes;
  if (sp->gpu)
    make_legal_gpu(o);
}

static void swap_order(const tune_space *sp, tune_rng *r, sched_options *o)
{
  int a = pick(r, sp->dims), b = pick(r, sp->dims), t = o->order[a];
  o->order[a] = o->order[b];
  o->order[b] = t;
}

/* A band is tiled only when every member has a size: zero sizes are filled
 * in together. */
static void fill_tiles(const tune_space *sp, tune_rng *r, int *v, bool reg)
{
  for (int d = 0; d < sp->dims; d++)
    while (!v[d])
      v[d] = reg ? random_reg(sp, r) : random_tile(sp, r, d) + (sp->extent[d] < 4);
}

static bool has_zero(const int *v, int dims)
{
  for (int d = 0; d < dims; d++)
    if (!v[d])
      return true;
  return false;
}

/* A dimension to mutate: mostly one the heuristics tile, when there are. */
static int pick_dim(const tune_space *sp, tune_rng *r)
{
  int d = pick(r, sp->dims);
  unsigned active = sp->active & ((1u << sp->dims) - 1);
  if (!active || coin(r, 25))
    return d;
  while (!(active >> d & 1))
    d = pick(r, sp->dims);
  return d;
}

static void mutate_tiles(const tune_space *sp, tune_rng *r, int *v, bool reg)
{
  int d = pick_dim(sp, r);
  if (has_zero(v, sp->dims) && coin(r, 40))
    fill_tiles(sp, r, v, reg);
  else
    v[d] = reg ? random_reg(sp, r) : random_tile(sp, r, d);
}

static void mutate_gene(const tune_space *sp, tune_rng *r, sched_options *o)
{
  switch (pick(r, 10)) {
  case 0: case 1: case 2: mutate_tiles(sp, r, o->tile, false); break;
  case 3: case 4: mutate_tiles(sp, r, o->reg_tile, true); break;
  case 5: swap_order(sp, r, o); break;
  case 6: o->unroll = random_unroll(r); break;
  case 7: o->fusion = (sched_fusion)pick(r, SCHED_FUSE_COUNT); break;
  case 8:
    if (coin(r, 50))
      o->pack = !o->pack;
    else
      o->microkernel = !o->microkernel;
    break;
  default:
    if (coin(r, 50))
      o->vectorize = !o->vectorize;
    else
      o->scalar_replace = !o->scalar_replace;
  }
}

/* CUDA genes: threads per block along x, y, z (the mapping's tile sizes),
 * a cap on the blocks per dimension, shared-memory promotion, the threads
 * sharing a reduction (0: heuristic, 1: none, else a power of two), the
 * blocks sharing one (split=: 0 heuristic, 1 none),
 * unrolling, scalar replacement and fusion. */
static void mutate_gpu_gene(const tune_space *sp, tune_rng *r, sched_options *o)
{
  static const int grid[] = {0, 0, 16, 64, 256};
  int mapped = sp->dims < 3 ? sp->dims : 3, d = pick(r, mapped);
  static const int reduce[] = {0, 1, 64, 128, 256, 512, 1024};
  static const int split[] = {0, 1, 16, 64, 256};
  switch (pick(r, 10)) {
  case 0: case 1: case 2: o->gpu_block[d] = coin(r, 10) ? 0 : 1 << pick(r, 10); break;
  case 3: o->gpu_grid[d] = grid[pick(r, (int)(sizeof grid / sizeof grid[0]))]; break;
  case 4: { /* shared= and promote= as a two-bit counter: the four pairs, no extra draw */
    int v = (o->gpu_promote * 2 + o->gpu_promote_reads + 1) % 4;
    o->gpu_promote = v >= 2;
    o->gpu_promote_reads = v % 2;
    break;
  }
  case 8: o->gpu_reduce = reduce[pick(r, (int)(sizeof reduce / sizeof reduce[0]))]; break;
  case 9: o->gpu_split = split[pick(r, (int)(sizeof split / sizeof split[0]))]; break;
  case 5: o->unroll = random_unroll(r); break;
  case 6: o->scalar_replace = !o->scalar_replace; break;
  default: o->fusion = (sched_fusion)pick(r, SCHED_FUSE_COUNT);
  }
}

void tune_mutate(const tune_space *sp, tune_rng *r, sched_options *o)
{
  int n = 1 + pick(r, 3);
  for (int i = 0; i < n; i++)
    if (sp->gpu)
      mutate_gpu_gene(sp, r, o);
    else
      mutate_gene(sp, r, o);
  make_legal(sp, o);
}

void tune_crossover(const tune_space *sp, tune_rng *r, const sched_options *a, const sched_options *b,
                    sched_options *child)
{
  *child = *a;
  for (int d = 0; d < sp->dims; d++)
    if (coin(r, 50)) {
      child->tile[d] = b->tile[d];
      child->reg_tile[d] = b->reg_tile[d];
    }
  if (coin(r, 50))
    memcpy(child->order, b->order, sizeof child->order);
  child->fusion = coin(r, 50) ? a->fusion : b->fusion;
  child->unroll = coin(r, 50) ? a->unroll : b->unroll;
  child->vectorize = coin(r, 50) ? a->vectorize : b->vectorize;
  child->pack = coin(r, 50) ? a->pack : b->pack;
  child->scalar_replace = coin(r, 50) ? a->scalar_replace : b->scalar_replace;
  child->microkernel = coin(r, 50) ? a->microkernel : b->microkernel;
  if (coin(r, 50))
    memcpy(child->gpu_block, b->gpu_block, sizeof child->gpu_block);
  if (coin(r, 50))
    memcpy(child->gpu_grid, b->gpu_grid, sizeof child->gpu_grid);
  const sched_options *promoter = coin(r, 50) ? a : b; /* shared= and promote= from one parent */
  child->gpu_promote = promoter->gpu_promote;
  child->gpu_promote_reads = promoter->gpu_promote_reads;
  child->gpu_reduce = coin(r, 50) ? a->gpu_reduce : b->gpu_reduce;
  child->gpu_split = coin(r, 50) ? a->gpu_split : b->gpu_split;
  make_legal(sp, child);
}

/* ------------------------------------------------------------------------
 * The search
 * ------------------------------------------------------------------------ */

typedef struct member {
  sched_options o;
  double seconds;
} member;

typedef struct search {
  aotc_ctx *ctx;
  const tune_request *req;
  tune_eval *ev;
  tune_space sp;
  tune_rng rng;
  member pop[POPULATION];
  int n_pop;
  uint64_t *seen; /* hashes of the option texts evaluated */
  int n_seen, cap_seen, max_trials;
  int same_in_a_row; /* candidates in a row whose code was measured before */
  uint64_t heuristic_hash;
  double start, flops;
  bool tty;
  tune_outcome *out;
  driver_cuda_device gpu; /* --target cuda, cuda-sim: the device of the cache key */
} search;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t options_hash(const sched_options *o)
{
  char text[2 * TUNE_FIELD];
  int n = sched_options_print(text, sizeof text, o);
  return tune_hash(text, n > 0 && (size_t)n < sizeof text ? (size_t)n : 0);
}

static bool seen_before(const search *s, const sched_options *o)
{
  uint64_t h = options_hash(o);
  for (int i = 0; i < s->n_seen; i++)
    if (s->seen[i] == h)
      return true;
  return false;
}

static bool budget_left(const search *s)
{
  return s->out->trials < s->max_trials && s->same_in_a_row < MAX_SAME_IN_A_ROW &&
         (s->req->time_s <= 0 || now() - s->start < s->req->time_s);
}

/* Tournament of two among the population. */
static const sched_options *choose_parent(search *s)
{
  int a = pick(&s->rng, s->n_pop), b = pick(&s->rng, s->n_pop);
  return &s->pop[a < b ? a : b].o;
}

static void new_child(search *s, sched_options *child)
{
  if (s->n_pop >= 2 && coin(&s->rng, 60)) {
    tune_crossover(&s->sp, &s->rng, choose_parent(s), choose_parent(s), child);
    if (coin(&s->rng, 50))
      tune_mutate(&s->sp, &s->rng, child);
  } else {
    *child = *choose_parent(s);
    tune_mutate(&s->sp, &s->rng, child);
  }
}

/* A child not evaluated before (nor earlier in this batch), when one is found. */
static bool novel_child(search *s, const sched_options *batch, int n, sched_options *child)
{
  for (int tries = 0; tries < NOVELTY_TRIES; tries++) {
    new_child(s, child);
    bool dup = seen_before(s, child);
    for (int i = 0; !dup && i < n; i++)
      dup = options_hash(&batch[i]) == options_hash(child);
    if (!dup)
      return true;
  }
  return false;
}

/* Keeps the population sorted by time; the slowest leaves when it is full. */
static void insert_member(search *s, const sched_options *o, double seconds)
{
  if (s->n_pop == POPULATION && s->pop[POPULATION - 1].seconds <= seconds)
    return;
  int at = s->n_pop < POPULATION ? s->n_pop++ : POPULATION - 1;
  s->pop[at] = (member){*o, seconds};
  for (; at > 0 && s->pop[at - 1].seconds > s->pop[at].seconds; at--) {
    member t = s->pop[at - 1];
    s->pop[at - 1] = s->pop[at];
    s->pop[at] = t;
  }
}

static const char *status_name(tune_status st)
{
  switch (st) {
  case TUNE_WRONG: return "wrong result, discarded";
  case TUNE_NO_BUILD: return "did not build";
  case TUNE_CRASHED: return "failed to run";
  case TUNE_SLOW: return "too slow, stopped";
  default: return "ok";
  }
}

static void report_rejected(search *s, const sched_options *o, const tune_result *res)
{
  char text[2 * TUNE_FIELD];
  sched_options_print(text, sizeof text, o);
  fprintf(stderr, "%saotc: tune: candidate %d %s: %s\n  options: %s\n", s->tty ? "\r\033[K" : "",
          s->out->trials, status_name(res->status), res->message, text);
}

/* A time with a unit that keeps three digits or so. */
static const char *format_time(double seconds, char *buf, size_t n)
{
  if (seconds < 1e-3)
    snprintf(buf, n, "%.2f us", seconds * 1e6);
  else if (seconds < 1)
    snprintf(buf, n, "%.3f ms", seconds * 1e3);
  else
    snprintf(buf, n, "%.3f s", seconds);
  return buf;
}

static void show_progress(search *s, const tune_result *res)
{
  FILE *out = stderr;
  char total[32] = "";
  if (s->req->trials > 0 || s->req->time_s <= 0)
    snprintf(total, sizeof total, "/%d", s->max_trials);
  fprintf(out, "%stune %s: trial %d%s  this %s", s->tty ? "\r\033[K" : "", s->req->func->name, s->out->trials, total,
          res->status == TUNE_OK ? "" : "-");
  char t[32];
  if (res->status == TUNE_OK)
    fputs(format_time(res->seconds, t, sizeof t), out);
  if (s->out->seconds > 0)
    fprintf(out, "  best %s  %.1f GFLOP/s", format_time(s->out->seconds, t, sizeof t),
            s->flops / s->out->seconds * 1e-9);
  fputs(s->tty ? "" : "\n", out);
  fflush(out);
}

static void record_result(search *s, const sched_options *o, const tune_result *res)
{
  if (s->n_seen < s->cap_seen)
    s->seen[s->n_seen++] = options_hash(o);
  s->same_in_a_row = res->same_code ? s->same_in_a_row + 1 : 0;
  if (res->same_code)
    return;
  s->out->trials++;
  if (res->status == TUNE_WRONG)
    s->out->rejected++;
  else if (res->status == TUNE_SLOW)
    s->out->slow++;
  else if (res->status != TUNE_OK)
    s->out->failed++;
  if (res->status != TUNE_OK && (res->status != TUNE_SLOW || s->req->verbose))
    report_rejected(s, o, res);
  if (res->status == TUNE_OK && options_hash(o) == s->heuristic_hash)
    s->out->heuristic_seconds = res->seconds;
  if (res->status == TUNE_OK) {
    insert_member(s, o, res->seconds);
    if (s->out->seconds == 0 || res->seconds < s->out->seconds) {
      s->out->best = *o;
      s->out->seconds = res->seconds;
    }
  }
  if (!s->req->quiet)
    show_progress(s, res);
}

static void evaluate(search *s, const sched_options *batch, int n)
{
  tune_result results[BATCH];
  tune_eval_batch(s->ev, batch, n, results);
  for (int i = 0; i < n; i++)
    record_result(s, &batch[i], &results[i]);
}

static int batch_room(const search *s)
{
  int left = s->max_trials - s->out->trials;
  return left < BATCH ? left : BATCH;
}

/* The heuristic options first, then mutations of them. */
static void first_generation(search *s, const sched_options *heuristic)
{
  sched_options batch[BATCH];
  int made = 0;
  while (made < POPULATION && budget_left(s)) {
    int n = 0, room = batch_room(s);
    if (made == 0)
      batch[n++] = *heuristic;
    for (; n < room && made + n < POPULATION; n++) {
      batch[n] = *heuristic;
      tune_mutate(&s->sp, &s->rng, &batch[n]);
    }
    evaluate(s, batch, n);
    made += n;
  }
}

static void later_generations(search *s)
{
  sched_options batch[BATCH];
  while (budget_left(s) && s->n_pop > 0) {
    int n = 0, room = batch_room(s);
    while (n < room && novel_child(s, batch, n, &batch[n]))
      n++;
    if (!n)
      return;
    evaluate(s, batch, n);
  }
}

/* The final contenders: the fastest few and the heuristic options. */
static int contenders(const search *s, const sched_options *heuristic, member *c)
{
  int n = s->n_pop < CONFIRM ? s->n_pop : CONFIRM;
  bool has_heuristic = false;
  memcpy(c, s->pop, sizeof *c * (size_t)n);
  for (int i = 0; i < n; i++)
    has_heuristic |= options_hash(&c[i].o) == s->heuristic_hash;
  if (!has_heuristic && s->out->heuristic_seconds > 0)
    c[n++] = (member){*heuristic, s->out->heuristic_seconds};
  return n;
}

/* The contenders measured again, CONFIRM_ROUNDS times, each keeping its
 * best time: load on the machine only ever adds time, so a candidate
 * measured while something else ran gets more chances. */
static void confirm_best(search *s, const sched_options *heuristic)
{
  member c[CONFIRM + 1];
  sched_options batch[CONFIRM + 1];
  tune_result results[CONFIRM + 1];
  int n = contenders(s, heuristic, c), best = 0;
  for (int i = 0; i < n; i++)
    batch[i] = c[i].o;
  for (int round = 0; round < CONFIRM_ROUNDS && n > 0; round++) {
    tune_eval_again(s->ev, batch, n, results);
    for (int i = 0; i < n; i++)
      if (results[i].status == TUNE_OK && results[i].seconds < c[i].seconds)
        c[i].seconds = results[i].seconds;
  }
  for (int i = 0; i < n; i++) {
    best = c[i].seconds < c[best].seconds ? i : best;
    if (options_hash(&c[i].o) == s->heuristic_hash)
      s->out->heuristic_seconds = c[i].seconds;
  }
  if (n > 0) {
    s->out->best = c[best].o;
    s->out->seconds = c[best].seconds;
  }
}

/* ------------------------------------------------------------------------
 * `aotc tune`
 * ------------------------------------------------------------------------ */

static bool save_best(search *s)
{
  tune_entry e;
  memset(&e, 0, sizeof e);
  if (!tune_key_make(s->ctx, s->req->func, s->req->sizes, s->req->threads, s->req->cc, &e.key))
    return false;
  if (s->req->cuda)
    tune_key_for_gpu(&e.key, s->gpu.name, s->gpu.sm_major, s->gpu.sm_minor, s->gpu.runtime_version,
                     s->gpu.driver_version);
  else
    tune_key_for_cpu(&e.key, s->req->cpu);
  e.seconds = s->out->seconds;
  sched_options_print(e.options, sizeof e.options, &s->out->best);
  return tune_cache_update(s->ctx, s->req->cache_path, &e);
}

static bool run_search(search *s)
{
  sched_options heuristic;
  if (s->req->cuda)
    sched_gpu_options_heuristic(&heuristic);
  else
    sched_options_heuristic(s->req->func, s->req->threads, s->req->cpu, &heuristic);
  heuristic.threads = s->req->threads;
  make_legal(&s->sp, &heuristic);
  s->heuristic_hash = options_hash(&heuristic);
  for (int d = 0; d < s->sp.dims; d++)
    s->sp.active |= (unsigned)(heuristic.tile[d] || heuristic.reg_tile[d]) << d;
  first_generation(s, &heuristic);
  later_generations(s);
  if (!s->req->cuda || !strcmp(s->req->cuda, "cuda"))
    confirm_best(s, &heuristic); /* not on the simulator: its times say nothing about speed */
  if (s->tty && !s->req->quiet)
    fputc('\n', stderr);
  if (s->out->seconds == 0) {
    aotc_error(s->ctx, noloc, "tune: none of the %d candidates for '%s' passed the check", s->out->trials,
               s->req->func->name);
    return false;
  }
  s->out->gflops = s->flops / s->out->seconds * 1e-9;
  return !s->req->cache_path || save_best(s);
}

static tune_eval *start_eval(aotc_ctx *ctx, const tune_request *req)
{
  tune_eval_config cfg = {.func = req->func, .sizes = req->sizes, .threads = req->threads, .fuse = req->fuse,
                          .cc = req->cc, .time_per_candidate = TIME_PER_CANDIDATE, .verbose = req->verbose,
                          .keep_temps = req->keep_temps, .llvm = req->llvm, .llvm_cache = req->llvm_cache,
                          .cuda = req->cuda};
  return tune_eval_new(ctx, &cfg);
}

/* The cache is read once before the search, so a bad file or a directory
 * that cannot be written is reported before minutes are spent. */
static bool check_cache(aotc_ctx *ctx, const char *path)
{
  tune_cache cache;
  char *dir = ir_strdup(ctx, path), *slash = dir ? strrchr(dir, '/') : NULL;
  if (!dir || !tune_cache_load(ctx, path, &cache))
    return false;
  if (slash)
    slash[slash == dir] = 0;
  if (access(slash ? dir : ".", W_OK)) {
    aotc_error(ctx, noloc, "cannot write the tuning cache '%s': the directory is not writable", path);
    return false;
  }
  return true;
}

static bool check_request(aotc_ctx *ctx, const tune_request *req)
{
  for (int p = 0; p < req->func->n_params; p++)
    if (!req->sizes || req->sizes[p] < 0) {
      aotc_error(ctx, req->func->loc, "tune: no value for size '%s' of '%s' (use --size %s=V)",
                 req->func->param_names[p], req->func->name, req->func->param_names[p]);
      return false;
    }
  if (req->threads < 1) {
    aotc_error(ctx, noloc, "tune: --threads must be at least 1");
    return false;
  }
  return !req->cache_path || check_cache(ctx, req->cache_path);
}

bool tune_run(aotc_ctx *ctx, const tune_request *req, tune_outcome *out)
{
  memset(out, 0, sizeof *out);
  if (!check_request(ctx, req))
    return false;
  search s = {.ctx = ctx, .req = req, .out = out, .rng = {req->seed ? req->seed : 1}, .start = now(),
              .tty = isatty(fileno(stderr))};
  s.max_trials = req->trials > 0 ? req->trials : req->time_s > 0 ? MAX_TRIALS : DEFAULT_TRIALS;
  s.max_trials = s.max_trials < MAX_TRIALS ? s.max_trials : MAX_TRIALS;
  s.flops = tune_flops(req->func, req->sizes);
  tune_space_init(&s.sp, req->func, req->sizes, req->threads, req->cpu);
  if (req->cuda) {
    sched_options gpu;
    sched_gpu_options_heuristic(&gpu);
    s.sp.gpu = true;
    s.sp.vector_bytes = gpu.vector_bytes;
    if (!driver_cuda_device_get(ctx, strcmp(req->cuda, "cuda") != 0, req->verbose, &s.gpu))
      return false;
  }
  s.cap_seen = s.max_trials < MAX_TRIALS / 2 ? 4 * s.max_trials + 1024 : 2 * MAX_TRIALS;
  s.seen = IR_NEW_ARRAY(ctx, uint64_t, s.cap_seen);
  if (!s.seen || !(s.ev = start_eval(ctx, req)))
    return false;
  bool ok = run_search(&s);
  const tune_times *t = tune_eval_times(s.ev);
  out->shared_kernels = t->shared_kernels;
  out->shared_packs = t->shared_packs;
  out->cache_read = t->cache_read;
  out->cache_written = t->cache_written;
  char how[320];
  if (req->llvm) {
    int n = snprintf(how, sizeof how, "LLVM, in-process; %d micro-kernels and %d packing functions compiled once, shared",
                     t->shared_kernels, t->shared_packs);
    if (req->llvm_cache && n > 0 && (size_t)n < sizeof how)
      snprintf(how + n, sizeof how - (size_t)n, "; %d of them read from the cache '%s', %d written to it",
               t->cache_read, req->llvm_cache, t->cache_written);
  } else
    snprintf(how, sizeof how, "%s", req->cuda ? (strcmp(req->cuda, "cuda") ? "g++, simulator" : "nvcc") : "cc");
  if (!req->quiet)
    fprintf(stderr, "tune: %.2f s reference, %.2f s emitting, %.2f s building (%s), %.2f s checking and timing\n",
            t->reference, t->emit, t->build, how, t->runs);
  tune_eval_free(s.ev);
  return ok;
}
