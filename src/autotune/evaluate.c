/* evaluate.c: one candidate of the autotuner from options to a time. The
 * entry is emitted for the tuning sizes with the candidate's options and
 * built into a shared object by the driver's build helper (build.h: the
 * same compiler and flags as `aotc run`), two compilers at a time. Each built
 * candidate then runs alone in a child process with OMP_NUM_THREADS set:
 * once on the inputs of the reference, whose outputs are checked, then a
 * warm-up and timed repeats rotating over several buffer sets, stopped
 * early once the candidate is clearly slower than the best (time_runs). A
 * candidate that crashes or hangs takes only its child down. With
 * --backend llvm (eval_llvm.h) candidates are planned once and compiled
 * in-process, two at a time, instead of written out and built by cc. */
#define _GNU_SOURCE
#include "tune.h"
#include "../driver/build.h"
#include "eval_llvm.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EVAL_JOBS 2                 /* compilers at a time on this 2-core machine */
#define EVAL_REF_POINTS 2e7         /* interpreter points affordable for the reference */
#define EVAL_SET_BYTES (256L << 20) /* memory for all buffer sets together */
#define EVAL_MAX_SETS 4
#define EVAL_MIN_REPEATS 3
#define EVAL_MAX_REPEATS 25
#define EVAL_BUILD_LIMIT 120 /* seconds for one compiler run */
#define EVAL_RUN_LIMIT 30    /* seconds for one candidate's runs */
#define EVAL_RTOL 1e-3
#define EVAL_MIN_SAMPLE 2e-4 /* seconds: tiny kernels are timed over several calls */
#define EVAL_CLEARLY_SLOWER 1.5 /* a candidate's fastest sample this many times the best: timing stops */

typedef int (*packed_fn)(const int64_t *sizes, void *const *args, void *workspace);
typedef size_t (*packed_ws_fn)(const int64_t *sizes);

/* Which elements of an output the reference holds: those whose coordinate
 * along dimension dim lies in [0, window) or [extent - window, extent). */
typedef struct out_check {
  int dim;
  int64_t extent, inner, numel; /* inner: elements per step along dim */
  int64_t window;
  double tol;
} out_check;

struct tune_eval {
  aotc_ctx *ctx;
  tune_eval_config cfg;
  int n_args; /* inputs then outputs */
  size_t *bytes;
  int n_sets;
  void ***sets; /* sets[s][a] */
  void **ref;   /* per output */
  out_check *check;
  char dir[256];
  int serial;
  double best; /* fastest time so far, 0 when none */
  struct {
    uint64_t hash; /* of a candidate's C text and header */
    tune_result result;
    int jit;       /* --backend llvm: its code, still loaded (a handle); -1: none */
  } *codes;      /* every code measured */
  int n_codes, cap_codes;
  bool remeasure; /* tune_eval_again: build and time even code measured before */
  tune_times times;
  emit_llvm_session *jit;        /* --backend llvm: the candidates compiled in-process (eval_llvm.h) */
  void *jit_call, *jit_ws;   /* the candidate being measured */
};

typedef struct run_report {
  tune_status status;
  double seconds, max_error;
  char message[TUNE_FIELD];
} run_report;

static const ir_loc noloc;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------
 * Counting: domain points, operations, reduction lengths
 * ------------------------------------------------------------------------ */

static double stmt_points(const ir_stmt *s, const int64_t *sizes, bool reduction_only)
{
  double points = 1;
  for (int i = 0; i < s->n_index; i++) {
    int64_t lo, hi;
    if (reduction_only && !s->index[i].reduction)
      continue;
    if (!ir_size_eval(s->index[i].lo, sizes, &lo) || !ir_size_eval(s->index[i].hi, sizes, &hi))
      return 0;
    points *= hi > lo ? (double)(hi - lo) : 0;
  }
  return points;
}

static int expr_ops(const ir_expr *e)
{
  if (!e)
    return 0;
  int n = e->kind == IR_UNARY || e->kind == IR_BINARY || e->kind == IR_SELECT || e->kind == IR_CALL;
  if (e->kind == IR_ACCESS)
    return 0;
  for (int i = 0; i < e->n_args; i++)
    n += expr_ops(e->args[i]);
  return n;
}

double tune_flops(const ir_func *f, const int64_t *sizes)
{
  double flops = 0;
  for (int i = 0; i < f->n_stmts; i++) {
    const ir_stmt *s = f->stmts[i];
    flops += stmt_points(s, sizes, false) * (expr_ops(s->rhs) + (s->red != IR_RED_NONE));
  }
  return flops;
}

static double total_points(const ir_func *f, const int64_t *sizes)
{
  double points = 0;
  for (int i = 0; i < f->n_stmts; i++)
    points += stmt_points(f->stmts[i], sizes, false);
  return points;
}

/* Points of the statements that write no output: computed whole for each
 * window of rows. */
static double temp_points(const ir_func *f, const int64_t *sizes)
{
  double points = 0;
  for (int i = 0; i < f->n_stmts; i++)
    if (f->tensors[f->stmts[i]->tensor]->role != IR_OUTPUT)
      points += stmt_points(f->stmts[i], sizes, false);
  return points;
}

static double reduction_length(const ir_func *f, const int64_t *sizes, int tensor)
{
  double len = 1;
  for (int i = 0; i < f->n_stmts; i++)
    if (f->stmts[i]->tensor == tensor && f->stmts[i]->red != IR_RED_NONE)
      len = fmax(len, stmt_points(f->stmts[i], sizes, true));
  return len;
}

/* ------------------------------------------------------------------------
 * Buffers: random inputs, zeroed outputs, several sets
 * ------------------------------------------------------------------------ */

static int arg_tensor(const ir_func *f, int a)
{
  return a < f->n_inputs ? f->inputs[a] : f->outputs[a - f->n_inputs];
}

static uint64_t splitmix(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* A small non-negative integer in an element of any width. */
static void store_small(void *data, ir_type t, int64_t i, unsigned v)
{
  unsigned char *p = (unsigned char *)data + i * ir_types[t].bytes;
  memset(p, 0, (size_t)ir_types[t].bytes);
  *p = (unsigned char)v;
}

/* Floats uniform in [-1, 1); integers int_base or int_base + 1 (bools 0 or
 * 1): small enough to be indices, and with int_base 1 never a divisor 0. */
static void fill_random(void *data, ir_type t, int64_t n, uint64_t *seed, unsigned int_base)
{
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = splitmix(seed);
    double u = (double)(r >> 11) * 0x1.0p-53 * 2 - 1;
    if (t == IR_F32)
      ((float *)data)[i] = (float)u;
    else if (t == IR_F64)
      ((double *)data)[i] = u;
    else
      store_small(data, t, i, (t == IR_BOOL ? 0 : int_base) + (unsigned)(r & 1));
  }
}

static bool size_args(tune_eval *ev)
{
  const ir_func *f = ev->cfg.func;
  ev->n_args = f->n_inputs + f->n_outputs;
  ev->bytes = IR_NEW_ARRAY(ev->ctx, size_t, ev->n_args);
  if (!ev->bytes)
    return false;
  for (int a = 0; a < ev->n_args; a++) {
    int t = arg_tensor(f, a);
    int64_t n = ir_tensor_numel(f, t, ev->cfg.sizes);
    if (n < 0) {
      aotc_error(ev->ctx, f->tensors[t]->loc, "tune: '%s' has no valid shape at these sizes", f->tensors[t]->name);
      return false;
    }
    ev->bytes[a] = (size_t)(n ? n : 1) * (size_t)ir_types[f->tensors[t]->type].bytes;
  }
  return true;
}

/* 64-byte aligned and zeroed, from the context's hook. */
static void *alloc_buffer(const tune_eval *ev, size_t bytes)
{
  void *p = aotc_malloc(ev->ctx, bytes);
  if (p)
    memset(p, 0, bytes);
  return p;
}

static bool alloc_sets(tune_eval *ev)
{
  size_t per_set = 0;
  for (int a = 0; a < ev->n_args; a++)
    per_set += ev->bytes[a];
  ev->n_sets = per_set ? (int)(EVAL_SET_BYTES / per_set) : EVAL_MAX_SETS;
  ev->n_sets = ev->n_sets < 1 ? 1 : ev->n_sets > EVAL_MAX_SETS ? EVAL_MAX_SETS : ev->n_sets;
  ev->sets = IR_NEW_ARRAY(ev->ctx, void **, ev->n_sets);
  for (int s = 0; ev->sets && s < ev->n_sets; s++) {
    if (!(ev->sets[s] = IR_NEW_ARRAY(ev->ctx, void *, ev->n_args)))
      return false;
    for (int a = 0; a < ev->n_args; a++)
      if (!(ev->sets[s][a] = alloc_buffer(ev, ev->bytes[a]))) {
        aotc_error(ev->ctx, noloc, "tune: out of memory for the buffers");
        return false;
      }
  }
  return ev->sets != NULL;
}

static void fill_inputs(tune_eval *ev, unsigned int_base)
{
  const ir_func *f = ev->cfg.func;
  uint64_t seed = 0x5eed;
  for (int s = 0; s < ev->n_sets; s++)
    for (int a = 0; a < f->n_inputs; a++) {
      ir_type t = f->tensors[arg_tensor(f, a)]->type;
      fill_random(ev->sets[s][a], t, (int64_t)(ev->bytes[a] / (size_t)ir_types[t].bytes), &seed, int_base);
    }
}

static bool has_integer_input(const ir_func *f)
{
  for (int a = 0; a < f->n_inputs; a++)
    if (!ir_types[f->tensors[f->inputs[a]]->type].is_float && f->tensors[f->inputs[a]]->type != IR_BOOL)
      return true;
  return false;
}

static void zero_outputs(const tune_eval *ev, void **args)
{
  for (int a = ev->cfg.func->n_inputs; a < ev->n_args; a++)
    memset(args[a], 0, ev->bytes[a]);
}

/* ------------------------------------------------------------------------
 * Reference: the interpreter on set 0, whole or on a window of rows
 * ------------------------------------------------------------------------ */

static bool tensor_is_read(const ir_expr *e, int t)
{
  if (!e)
    return false;
  if (e->kind == IR_ACCESS && e->tensor == t)
    return true;
  for (int i = 0; i < e->n_args; i++)
    if (tensor_is_read(e->args[i], t))
      return true;
  return false;
}

/* An output can be checked on a window of rows when no statement reads it:
 * each row then depends only on the statements' points of that row. */
static bool output_sliceable(const ir_func *f, int t)
{
  if (f->tensors[t]->rank < 1)
    return false;
  for (int i = 0; i < f->n_stmts; i++)
    if (tensor_is_read(f->stmts[i]->rhs, t))
      return false;
  return true;
}

/* The dimension the windows cut: the first with 8 or more elements (batch
 * dimensions of 1 are passed over), else the longest. */
static bool choose_slice_dim(const ir_func *f, int t, const int64_t *sizes, out_check *c)
{
  int rank = f->tensors[t]->rank;
  int64_t shape[64];
  memset(c, 0, sizeof *c);
  c->numel = ir_tensor_numel(f, t, sizes);
  c->extent = c->inner = 1;
  if (rank < 1)
    return c->numel >= 0;
  if (rank > 64 || !ir_tensor_shape(f, t, sizes, shape))
    return false;
  for (int d = 0; d < rank; d++)
    if (shape[d] > shape[c->dim] && shape[c->dim] < 8)
      c->dim = d;
  c->extent = shape[c->dim];
  for (int d = c->dim + 1; d < rank; d++)
    c->inner *= shape[d];
  return c->numel >= 0;
}

static bool setup_checks(tune_eval *ev)
{
  const ir_func *f = ev->cfg.func;
  double budget = ev->cfg.ref_points > 0 ? ev->cfg.ref_points : EVAL_REF_POINTS;
  double points = total_points(f, ev->cfg.sizes), frac = points > budget ? budget / (2 * points) : 1;
  bool slice = frac < 1 && 2 * temp_points(f, ev->cfg.sizes) < points;
  for (int o = 0; o < f->n_outputs; o++)
    slice &= output_sliceable(f, f->outputs[o]);
  ev->check = IR_NEW_ARRAY(ev->ctx, out_check, f->n_outputs);
  for (int o = 0; ev->check && o < f->n_outputs; o++) {
    int t = f->outputs[o];
    out_check *c = &ev->check[o];
    if (!choose_slice_dim(f, t, ev->cfg.sizes, c))
      return false;
    c->window = slice ? (int64_t)ceil((double)c->extent * frac) : c->extent;
    c->window = c->window < 1 ? 1 : c->window > c->extent ? c->extent : c->window;
    c->tol = EVAL_RTOL * sqrt(fmax(1, reduction_length(f, ev->cfg.sizes, t) / 256));
  }
  return ev->check != NULL;
}

static bool checked(const out_check *c, int64_t i)
{
  int64_t x = c->inner ? i / c->inner % c->extent : 0;
  return x < c->window || x >= c->extent - c->window;
}

/* s with the left-hand index of the output's dimension c->dim narrowed to
 * the first (or last) window. */
static ir_stmt *window_stmt(tune_eval *ev, const ir_stmt *s, const out_check *c, bool last)
{
  aotc_ctx *ctx = ev->ctx;
  ir_stmt *w = IR_NEW(ctx, ir_stmt);
  ir_index *index = IR_NEW_ARRAY(ctx, ir_index, s->n_index);
  int64_t lo, hi, wlo = last ? c->extent - c->window : 0, whi = last ? c->extent : c->window;
  if (!ir_stmt_is_plain(s))
    return (ir_stmt *)s;
  if (!w || !index || s->n_lhs <= c->dim)
    return NULL;
  *w = *s;
  memcpy(index, s->index, sizeof *index * (size_t)s->n_index);
  ir_index *x = &index[s->lhs[c->dim]];
  if (!ir_size_eval(x->lo, ev->cfg.sizes, &lo) || !ir_size_eval(x->hi, ev->cfg.sizes, &hi))
    return NULL;
  lo = lo > wlo ? lo : wlo;
  hi = hi < whi ? hi : whi;
  x->lo = ir_size_const(ctx, lo);
  x->hi = ir_size_const(ctx, hi > lo ? hi : lo);
  w->index = index;
  return x->lo && x->hi ? w : NULL;
}

/* A copy of f whose statements writing an output only touch the first (or
 * the last) window of its rows. */
static ir_func *window_func(tune_eval *ev, bool last)
{
  aotc_ctx *ctx = ev->ctx;
  const ir_func *f = ev->cfg.func;
  ir_func *g = IR_NEW(ctx, ir_func);
  ir_stmt **stmts = IR_NEW_ARRAY(ctx, ir_stmt *, f->n_stmts);
  if (!g || !stmts)
    return NULL;
  *g = *f;
  g->stmts = stmts;
  for (int i = 0; i < f->n_stmts; i++) {
    stmts[i] = f->stmts[i];
    for (int o = 0; o < f->n_outputs; o++)
      if (f->stmts[i]->tensor == f->outputs[o] && !(stmts[i] = window_stmt(ev, f->stmts[i], &ev->check[o], last)))
        return NULL;
  }
  return g;
}

static bool windowed(const tune_eval *ev)
{
  for (int o = 0; o < ev->cfg.func->n_outputs; o++)
    if (ev->check[o].window < ev->check[o].extent)
      return true;
  return false;
}

static bool interpret_into(tune_eval *ev, const ir_func *f, void **args)
{
  if (!f || ir_interpret(ev->ctx, f, ev->cfg.sizes, args)) {
    aotc_error(ev->ctx, ev->cfg.func->loc, "tune: the reference interpreter failed on '%s'", ev->cfg.func->name);
    return false;
  }
  return true;
}

static bool alloc_reference(tune_eval *ev)
{
  const ir_func *f = ev->cfg.func;
  ev->ref = IR_NEW_ARRAY(ev->ctx, void *, f->n_outputs);
  for (int o = 0; ev->ref && o < f->n_outputs; o++)
    if (!(ev->ref[o] = alloc_buffer(ev, ev->bytes[f->n_inputs + o])))
      return false;
  return ev->ref != NULL;
}

static bool compute_reference(tune_eval *ev)
{
  const ir_func *f = ev->cfg.func;
  void **args = IR_NEW_ARRAY(ev->ctx, void *, ev->n_args);
  if (!args)
    return false;
  for (int a = 0; a < ev->n_args; a++)
    args[a] = a < f->n_inputs ? ev->sets[0][a] : ev->ref[a - f->n_inputs];
  zero_outputs(ev, args);
  if (!windowed(ev))
    return interpret_into(ev, f, args);
  return interpret_into(ev, window_func(ev, false), args) && interpret_into(ev, window_func(ev, true), args);
}

/* Integer inputs of 0 and 1 first; when the interpreter fails on them (a
 * division by zero), 1 and 2 instead, with the first attempt's errors
 * forgotten. */
static bool reference(tune_eval *ev)
{
  int n_diags = ev->ctx->n_diags, n_errors = ev->ctx->n_errors;
  fill_inputs(ev, 0);
  if (!alloc_reference(ev))
    return false;
  if (compute_reference(ev) || !has_integer_input(ev->cfg.func) || ev->ctx->oom)
    return ev->ctx->n_errors == n_errors;
  ev->ctx->n_diags = n_diags;
  ev->ctx->n_errors = n_errors;
  fill_inputs(ev, 1);
  return compute_reference(ev);
}

/* ------------------------------------------------------------------------
 * Checking a candidate's outputs against the reference
 * ------------------------------------------------------------------------ */

static double load_float(const void *p, ir_type t, int64_t i)
{
  return t == IR_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static double rms(const void *p, ir_type t, const out_check *c)
{
  double sum = 0, n = 0;
  for (int64_t i = 0; i < c->numel; i++)
    if (checked(c, i)) {
      double v = load_float(p, t, i);
      sum += isfinite(v) ? v * v : 0;
      n++;
    }
  return n ? sqrt(sum / n) : 0;
}

/* Scaled error of one float element: 0 when equal (NaN matching NaN). */
static double float_error(double got, double want, double scale)
{
  if (isnan(want) || isnan(got))
    return isnan(want) && isnan(got) ? 0 : INFINITY;
  if (got == want)
    return 0;
  return fabs(got - want) / (fabs(want) + scale);
}

/* Largest error over the checked rows of output o, relative to its tolerance
 * (> 1: wrong); *bad is the first element beyond it. */
static double output_error(const tune_eval *ev, int o, const void *got, int64_t *bad)
{
  const ir_func *f = ev->cfg.func;
  ir_type t = f->tensors[f->outputs[o]]->type;
  const out_check *c = &ev->check[o];
  bool fl = t == IR_F32 || t == IR_F64;
  size_t eb = (size_t)ir_types[t].bytes;
  double scale = fl ? rms(ev->ref[o], t, c) + 1e-30 : 0, worst = 0;
  for (int64_t i = 0; i < c->numel; i++)
    if (checked(c, i)) {
      double e = fl ? float_error(load_float(got, t, i), load_float(ev->ref[o], t, i), scale) / c->tol
                    : (memcmp((const char *)got + i * eb, (const char *)ev->ref[o] + i * eb, eb) ? INFINITY : 0);
      if (e > 1 && worst <= 1)
        *bad = i;
      worst = e > worst ? e : worst;
    }
  return worst;
}

static void check_outputs(const tune_eval *ev, void *const *args, run_report *rep)
{
  const ir_func *f = ev->cfg.func;
  for (int o = 0; o < f->n_outputs; o++) {
    int64_t bad = -1;
    double e = output_error(ev, o, args[f->n_inputs + o], &bad);
    rep->max_error = e > rep->max_error ? e : rep->max_error;
    if (e > 1 && rep->status == TUNE_OK) {
      rep->status = TUNE_WRONG;
      snprintf(rep->message, sizeof rep->message, "output '%s' differs from the reference at element %lld",
               f->tensors[f->outputs[o]]->name, (long long)bad);
    }
  }
}

/* The debug hook AOTC_TUNE_CORRUPT=1 spoils the first output element, so the
 * path that discards wrong candidates can be tested. */
static void maybe_corrupt(const tune_eval *ev, void *const *args)
{
#ifndef NDEBUG
  const ir_func *f = ev->cfg.func;
  const char *env = getenv("AOTC_TUNE_CORRUPT");
  if (!env || strcmp(env, "1") || !f->n_outputs)
    return;
  ir_type t = f->tensors[f->outputs[0]]->type;
  void *p = args[f->n_inputs];
  if (t == IR_F32)
    *(float *)p = *(float *)p * 2 + 1;
  else if (t == IR_F64)
    *(double *)p = *(double *)p * 2 + 1;
  else
    *(unsigned char *)p ^= 1;
#else
  (void)ev, (void)args;
#endif
}

/* ------------------------------------------------------------------------
 * Running a built candidate (in a child process)
 * ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Mean time of one call over `calls` calls, rotating over the buffer sets
 * from set `first`. */
static double time_calls(const tune_eval *ev, packed_fn fn, void *ws, int first, int calls, int *rc)
{
  double t0 = now();
  for (int i = 0; i < calls && !*rc; i++)
    *rc = fn(ev->cfg.sizes, ev->sets[(first + i) % ev->n_sets], ws);
  return (now() - t0) / calls;
}

/* Calls per sample so that a sample lasts at least EVAL_MIN_SAMPLE. */
static int calls_per_sample(double one)
{
  double n = one > 0 ? EVAL_MIN_SAMPLE / one : 1000;
  return n < 1 ? 1 : n > 1000 ? 1000 : (int)n;
}

/* Warm-up, then samples on rotating buffer sets until the budget is spent.
 * The same rules in both paths stop early a candidate that cannot be the
 * best: one sample when the warm-up took more than twice the best time so
 * far, and no more samples once its fastest sample is EVAL_CLEARLY_SLOWER
 * times the best (its median, the time reported, is at least that). */
static void time_runs(const tune_eval *ev, packed_fn fn, void *ws, run_report *rep)
{
  double times[EVAL_MAX_REPEATS], start = now(), fastest = 0;
  int rc = 0, n = 0;
  double warm = time_calls(ev, fn, ws, 1, 1, &rc);
  int calls = calls_per_sample(warm);
  bool hopeless = ev->best > 0 && warm > 2 * ev->best;
  while (!rc && n < EVAL_MAX_REPEATS && (n < EVAL_MIN_REPEATS || now() - start < ev->cfg.time_per_candidate)) {
    times[n] = time_calls(ev, fn, ws, 2 + n * calls, calls, &rc);
    fastest = n == 0 || times[n] < fastest ? times[n] : fastest;
    if (++n == 1 && hopeless)
      break;
    if (ev->best > 0 && fastest > EVAL_CLEARLY_SLOWER * ev->best)
      break;
  }
  if (rc) {
    rep->status = TUNE_CRASHED;
    snprintf(rep->message, sizeof rep->message, "returned %d while timed", rc);
    return;
  }
  qsort(times, (size_t)n, sizeof times[0], cmp_double);
  rep->seconds = times[n / 2];
}

static bool load_candidate(const tune_eval *ev, const char *so, void **dl, packed_fn *fn, void **ws, run_report *rep)
{
  char name[512];
  *dl = ev->jit_call ? NULL : dlopen(so, RTLD_NOW | RTLD_LOCAL);
  snprintf(name, sizeof name, "%s_call", ev->cfg.func->name);
  *fn = ev->jit_call ? (packed_fn)ev->jit_call : *dl ? (packed_fn)dlsym(*dl, name) : NULL;
  snprintf(name, sizeof name, "%s_call_workspace_bytes", ev->cfg.func->name);
  packed_ws_fn wsf = ev->jit_ws ? (packed_ws_fn)ev->jit_ws : *dl ? (packed_ws_fn)dlsym(*dl, name) : NULL;
  if (!*fn || !wsf) {
    snprintf(rep->message, sizeof rep->message, "cannot load: %s", dlerror());
    return false;
  }
  size_t bytes = wsf(ev->cfg.sizes);
  *ws = bytes ? alloc_buffer(ev, bytes) : NULL;
  if (bytes && !*ws)
    snprintf(rep->message, sizeof rep->message, "no memory for a workspace of %zu bytes", bytes);
  return !bytes || *ws;
}

static void run_candidate(const tune_eval *ev, const char *so, run_report *rep)
{
  void *dl, *ws;
  packed_fn fn;
  rep->status = TUNE_CRASHED;
  if (!load_candidate(ev, so, &dl, &fn, &ws, rep))
    return;
  void **args = ev->sets[0];
  zero_outputs(ev, args);
  double t0 = now();
  int rc = fn(ev->cfg.sizes, args, ws);
  double first = now() - t0;
  if (rc) {
    snprintf(rep->message, sizeof rep->message, "returned %d: the code does not fit the sizes", rc);
    return;
  }
  rep->status = TUNE_OK;
  maybe_corrupt(ev, args);
  check_outputs(ev, args, rep);
  if (rep->status == TUNE_OK && ev->best > 0 && first > 4 * ev->best)
    rep->seconds = first;
  else if (rep->status == TUNE_OK)
    time_runs(ev, fn, ws, rep);
}

static void write_all(int fd, const void *p, size_t n)
{
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return;
    p = (const char *)p + k;
    n -= (size_t)k;
  }
}

/* Seconds a candidate may run: generous, but a candidate many times slower
 * than the best so far is not worth waiting for. */
static unsigned run_limit(const tune_eval *ev)
{
  double limit = ev->best > 0 ? 2 + 40 * ev->best : EVAL_RUN_LIMIT;
  return limit < EVAL_RUN_LIMIT ? (unsigned)limit : EVAL_RUN_LIMIT;
}

static void child_run(const tune_eval *ev, const char *so, int fd)
{
  char threads[16];
  run_report rep = {0};
  snprintf(threads, sizeof threads, "%d", ev->cfg.threads);
  setenv("OMP_NUM_THREADS", threads, 1);
  alarm(run_limit(ev));
  run_candidate(ev, so, &rep);
  write_all(fd, &rep, sizeof rep);
  _exit(0);
}

static bool read_report(int fd, run_report *rep)
{
  size_t got = 0;
  while (got < sizeof *rep) {
    ssize_t k = read(fd, (char *)rep + got, sizeof *rep - got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return false;
    got += (size_t)k;
  }
  return true;
}

static void describe_death(const tune_eval *ev, int status, run_report *rep)
{
  rep->status = TUNE_CRASHED;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    rep->status = TUNE_SLOW;
    snprintf(rep->message, sizeof rep->message, "took longer than %u s", run_limit(ev));
  } else if (WIFSIGNALED(status))
    snprintf(rep->message, sizeof rep->message, "killed by signal %d", WTERMSIG(status));
  else
    snprintf(rep->message, sizeof rep->message, "exited with status %d", WEXITSTATUS(status));
}

static void measure(tune_eval *ev, const char *so, run_report *rep)
{
  int fds[2], status;
  fflush(NULL);
  if (pipe(fds)) {
    rep->status = TUNE_CRASHED;
    snprintf(rep->message, sizeof rep->message, "pipe: %s", strerror(errno));
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child_run(ev, so, fds[1]);
  }
  close(fds[1]);
  bool got = pid > 0 && read_report(fds[0], rep);
  close(fds[0]);
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (pid < 0 || !got)
    describe_death(ev, pid < 0 ? 0 : status, rep);
}

/* ------------------------------------------------------------------------
 * Building candidates: emitted here on a scratch context (options that give
 * the same code as an earlier candidate are not built again), compiled by
 * child processes, two at a time, each in its own directory
 * ------------------------------------------------------------------------ */

static const char *cand_path(const tune_eval *ev, int id, const char *file, char *buf, size_t n)
{
  snprintf(buf, n, "%s/%d%s%s", ev->dir, id, file ? "/" : "", file ? file : "");
  return buf;
}

static bool write_text(const char *path, const char *text, size_t len)
{
  driver_tmp_track(path);
  FILE *f = fopen(path, "w");
  bool ok = f && fwrite(text, 1, len, f) == len;
  return f && !fclose(f) && ok;
}

static void emission_failure(aotc_ctx *scratch, tune_result *res)
{
  res->status = TUNE_NO_BUILD;
  snprintf(res->message, sizeof res->message, "emission failed: %s",
           scratch && scratch->n_diags ? scratch->diags[0].msg : "out of memory");
}

/* Emits the C file and header of a candidate into memory. */
static bool emit_text(tune_eval *ev, aotc_ctx *scratch, const sched_options *o, char **c, size_t *clen, char **h,
                      size_t *hlen)
{
  FILE *cf = open_memstream(c, clen), *hf = open_memstream(h, hlen);
  emit_options opt = {.sched = o, .fixed_sizes = ev->cfg.sizes, .fuse = ev->cfg.fuse, .header_name = "kernel.h",
                      .threads = ev->cfg.threads};
  ir_func *fn = (ir_func *)ev->cfg.func;
  bool ok = cf && hf && emit_c_module(scratch, NULL, &fn, 1, &opt, cf, hf);
  if (cf && fclose(cf))
    ok = false;
  if (hf && fclose(hf))
    ok = false;
  return ok;
}

/* Writes DIR/ID/kernel.c and kernel.h; *hash identifies the code. */
static bool emit_candidate(tune_eval *ev, const sched_options *o, int id, uint64_t *hash, tune_result *res)
{
  aotc_ctx *scratch = aotc_ctx_new(ev->ctx->alloc, ev->ctx->alloc_ud);
  char *c = NULL, *h = NULL, path[320];
  size_t clen = 0, hlen = 0;
  if (scratch)
    scratch->isl_max_ops = ev->ctx->isl_max_ops;
  bool ok = scratch && emit_text(ev, scratch, o, &c, &clen, &h, &hlen);
  if (ok) {
    *hash = tune_hash(c, clen) ^ (tune_hash(h, hlen) * 31);
    ok = !mkdir(cand_path(ev, id, NULL, path, sizeof path), 0700);
    if (ok)
      driver_tmp_track(path);
    ok = ok && write_text(cand_path(ev, id, "kernel.c", path, sizeof path), c, clen) &&
         write_text(cand_path(ev, id, "kernel.h", path, sizeof path), h, hlen);
    if (!ok)
      snprintf(res->message, sizeof res->message, "cannot write in '%.200s': %s", ev->dir, strerror(errno));
    res->status = ok ? TUNE_OK : TUNE_NO_BUILD;
  } else {
    emission_failure(scratch, res);
  }
  free(c);
  free(h);
  aotc_ctx_free(scratch);
  return ok;
}

/* Starts the compiler on candidate id: DIR/ID/kernel.so, messages in
 * DIR/ID/log. */
static pid_t start_build(const tune_eval *ev, int id)
{
  char c[320], so[320], log[320];
  const char *sources[] = {cand_path(ev, id, "kernel.c", c, sizeof c)};
  driver_build_request r = {.cc = ev->cfg.cc, .kind = DRIVER_BUILD_SHARED, .sources = sources, .n_sources = 1,
                            .output = cand_path(ev, id, "kernel.so", so, sizeof so), .threads = ev->cfg.threads,
                            .log = cand_path(ev, id, "log", log, sizeof log), .time_limit = EVAL_BUILD_LIMIT,
                            .verbose = ev->cfg.verbose};
  driver_tmp_track(so);
  driver_tmp_track(log);
  return driver_build_start(&r);
}

/* The first line of a failed build's log, for the report. */
static void build_failure(const tune_eval *ev, int id, int status, tune_result *res)
{
  char path[320], line[TUNE_FIELD];
  driver_build_log_line(cand_path(ev, id, "log", path, sizeof path), line, sizeof line);
  res->status = TUNE_NO_BUILD;
  snprintf(res->message, sizeof res->message, "the C compiler failed (status %d)%s%.200s",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1, line[0] ? ": " : "", line);
}

static void wait_build(tune_eval *ev, pid_t *pids, const int *ids, int n, tune_result *results)
{
  int status;
  pid_t pid = driver_build_wait_any(&status);
  for (int i = 0; pid > 0 && i < n; i++)
    if (pids[i] == pid) {
      pids[i] = 0;
      if (!WIFEXITED(status) || WEXITSTATUS(status))
        build_failure(ev, ids[i], status, &results[i]);
    }
}

/* Compiles the candidates whose build[i] is set. */
static void build_all(tune_eval *ev, const bool *build, int n, const int *ids, tune_result *results)
{
  pid_t *pids = aotc_malloc(ev->ctx, sizeof *pids * (size_t)(n ? n : 1));
  if (pids)
    memset(pids, 0, sizeof *pids * (size_t)(n ? n : 1));
  int running = 0;
  for (int i = 0; pids && i < n; i++) {
    if (!build[i])
      continue;
    if (running == EVAL_JOBS)
      wait_build(ev, pids, ids, n, results), running--;
    if ((pids[i] = start_build(ev, ids[i])) > 0) {
      running++;
      continue;
    }
    results[i].status = TUNE_NO_BUILD;
    snprintf(results[i].message, sizeof results[i].message, "fork: %s", strerror(errno));
    pids[i] = 0;
  }
  for (; pids && running > 0; running--)
    wait_build(ev, pids, ids, n, results);
  aotc_free(ev->ctx, pids);
}

static void remove_candidate(const tune_eval *ev, int id)
{
  char path[320];
  driver_tmp_remove(cand_path(ev, id, NULL, path, sizeof path));
}

/* ------------------------------------------------------------------------
 * Code already measured
 * ------------------------------------------------------------------------ */

static int code_index(const tune_eval *ev, uint64_t hash)
{
  for (int i = 0; i < ev->n_codes; i++)
    if (ev->codes[i].hash == hash)
      return i;
  return -1;
}

static const tune_result *known_code(const tune_eval *ev, uint64_t hash)
{
  int i = code_index(ev, hash);
  return i >= 0 ? &ev->codes[i].result : NULL;
}

/* jit: the code of a passing --backend llvm candidate, kept loaded for a
 * later measure (tune_eval_again) instead of compiled again. */
static void remember_code(tune_eval *ev, uint64_t hash, const tune_result *res, int jit)
{
  if (known_code(ev, hash)) {
    emit_llvm_session_drop(ev->jit, jit);
    return;
  }
  if (ev->n_codes == ev->cap_codes) {
    int cap = ev->cap_codes ? 2 * ev->cap_codes : 64;
    void *grown = aotc_realloc(ev->ctx, ev->codes, sizeof *ev->codes * (size_t)cap);
    if (!grown) {
      emit_llvm_session_drop(ev->jit, jit);
      return;
    }
    ev->codes = grown;
    ev->cap_codes = cap;
  }
  ev->codes[ev->n_codes].hash = hash;
  ev->codes[ev->n_codes].jit = jit;
  ev->codes[ev->n_codes++].result = *res;
}

/* Emits (--backend llvm: plans) candidate i; false when it failed. */
static bool emit_one(tune_eval *ev, const sched_options *o, int id, uint64_t *hash, tune_result *res,
                     tune_llvm_cand *lc)
{
  if (!ev->cfg.llvm)
    return emit_candidate(ev, o, id, hash, res);
  emit_options opt = {.sched = o, .fixed_sizes = ev->cfg.sizes, .fuse = ev->cfg.fuse, .header_name = "kernel.h",
                      .threads = ev->cfg.threads};
  bool ok = tune_llvm_plan(ev->ctx, ev->cfg.func, &opt, id, lc, hash, res->message, sizeof res->message);
  res->status = ok ? TUNE_OK : TUNE_NO_BUILD;
  return ok;
}

/* Emits every candidate; build[i] tells which need compiling: not those that
 * failed, nor those whose code was measured before (result copied). */
static void emit_all(tune_eval *ev, const sched_options *cands, int n, const int *ids, uint64_t *hashes, bool *build,
                     tune_result *results, tune_llvm_cand *lcs)
{
  for (int i = 0; i < n; i++) {
    const tune_result *known;
    double t0 = now();
    build[i] = emit_one(ev, &cands[i], ids[i], &hashes[i], &results[i], &lcs[i]);
    int k = build[i] && ev->cfg.llvm ? code_index(ev, hashes[i]) : -1;
    lcs[i].loaded = k >= 0 ? ev->codes[k].jit : -1;
    ev->times.emit += now() - t0;
    if (build[i] && !ev->remeasure && (known = known_code(ev, hashes[i]))) {
      results[i] = *known;
      results[i].same_code = true;
      build[i] = false;
    }
    for (int j = 0; build[i] && j < i; j++)
      if (build[j] && hashes[j] == hashes[i])
        build[i] = false, results[i].same_code = true;
  }
}

/* --backend llvm: the candidate's code loaded (or loaded before); its
 * handle, -1 (res says why) on failure. */
static int load_llvm(tune_eval *ev, tune_llvm_cand *lc, tune_result *res)
{
  if (lc->loaded >= 0 && emit_llvm_session_entry(ev->jit, lc->loaded, &ev->jit_call, &ev->jit_ws))
    return lc->loaded;
  int handle = tune_llvm_load(ev->jit, lc, &ev->jit_call, &ev->jit_ws, res->message, sizeof res->message);
  if (handle < 0)
    res->status = TUNE_NO_BUILD;
  return handle;
}

/* Measures a built candidate; --backend llvm: returns the handle of its
 * code when it passed (kept loaded), else -1. */
static int measure_one(tune_eval *ev, int id, tune_llvm_cand *lc, tune_result *res)
{
  char so[320];
  run_report rep = {0};
  int handle = ev->cfg.llvm ? load_llvm(ev, lc, res) : -1;
  if (ev->cfg.llvm && handle < 0)
    return -1;
  measure(ev, cand_path(ev, id, "kernel.so", so, sizeof so), &rep);
  ev->jit_call = ev->jit_ws = NULL;
  res->status = rep.status;
  res->seconds = rep.seconds;
  res->max_error = rep.max_error;
  memcpy(res->message, rep.message, sizeof rep.message);
  if (rep.status == TUNE_OK && (ev->best == 0 || rep.seconds < ev->best))
    ev->best = rep.seconds;
  if (rep.status != TUNE_OK && handle >= 0 && handle != lc->loaded) {
    emit_llvm_session_drop(ev->jit, handle);
    handle = -1;
  }
  return handle == lc->loaded ? -1 : handle;
}

/* Candidates with the code of an earlier one in the same batch share its
 * result. */
static void share_results(tune_eval *ev, int n, const uint64_t *hashes, const bool *emitted, tune_result *results)
{
  for (int i = 0; i < n; i++)
    if (results[i].same_code && emitted[i]) {
      const tune_result *known = known_code(ev, hashes[i]);
      if (known)
        results[i] = *known, results[i].same_code = true;
    }
}

void tune_eval_again(tune_eval *ev, const sched_options *cands, int n, tune_result *results)
{
  ev->remeasure = true;
  tune_eval_batch(ev, cands, n, results);
  ev->remeasure = false;
}

/* n zeroed elements of size bytes from the context's hook. */
static void *zeroed(const tune_eval *ev, int n, size_t size)
{
  void *p = aotc_malloc(ev->ctx, size * (size_t)(n ? n : 1));
  if (p)
    memset(p, 0, size * (size_t)(n ? n : 1));
  return p;
}

void tune_eval_batch(tune_eval *ev, const sched_options *cands, int n, tune_result *results)
{
  int *ids = zeroed(ev, n, sizeof *ids);
  uint64_t *hashes = zeroed(ev, n, sizeof *hashes);
  bool *build = zeroed(ev, n, sizeof *build), *emitted = zeroed(ev, n, sizeof *emitted);
  tune_llvm_cand *lcs = zeroed(ev, n, sizeof *lcs);
  int *jit = zeroed(ev, n, sizeof *jit);
  memset(results, 0, sizeof *results * (size_t)n);
  for (int i = 0; ids && i < n; i++)
    ids[i] = ev->serial++;
  if (ids && hashes && build && emitted && lcs && jit) {
    emit_all(ev, cands, n, ids, hashes, build, results, lcs);
    for (int i = 0; i < n; i++)
      emitted[i] = results[i].status != TUNE_NO_BUILD;
    double wb = now();
    if (ev->cfg.llvm)
      tune_llvm_compile_all(ev->jit, lcs, build, n);
    else
      build_all(ev, build, n, ids, results);
    ev->times.build += now() - wb;
    double wr = now();
    for (int i = 0; i < n; i++)
      jit[i] = build[i] && results[i].status == TUNE_OK ? measure_one(ev, ids[i], &lcs[i], &results[i]) : -1;
    ev->times.runs += now() - wr;
    for (int i = 0; i < n; i++)
      if (build[i])
        remember_code(ev, hashes[i], &results[i], jit[i]);
    share_results(ev, n, hashes, emitted, results);
  }
  for (int i = 0; lcs && i < n; i++)
    tune_llvm_cand_free(&lcs[i]);
  for (int i = 0; ids && i < n && !ev->cfg.keep_temps && !ev->cfg.llvm; i++)
    remove_candidate(ev, ids[i]);
  aotc_free(ev->ctx, ids);
  aotc_free(ev->ctx, hashes);
  aotc_free(ev->ctx, build);
  aotc_free(ev->ctx, emitted);
  aotc_free(ev->ctx, lcs);
  aotc_free(ev->ctx, jit);
}

const tune_times *tune_eval_times(const tune_eval *ev)
{
  return &ev->times;
}

/* ------------------------------------------------------------------------
 * Setup and teardown
 * ------------------------------------------------------------------------ */

tune_eval *tune_eval_new(aotc_ctx *ctx, const tune_eval_config *cfg)
{
  tune_eval *ev = aotc_malloc(ctx, sizeof *ev);
  if (!ev) {
    aotc_error(ctx, noloc, "tune: out of memory");
    return NULL;
  }
  memset(ev, 0, sizeof *ev);
  ev->ctx = ctx;
  ev->cfg = *cfg;
  double t0 = now();
  bool ready = size_args(ev) && alloc_sets(ev) && setup_checks(ev) && reference(ev);
  ev->times.reference = now() - t0;
  if (ready && driver_tmpdir_new(ctx, "tune", ev->dir, sizeof ev->dir) &&
      (!cfg->llvm || (ev->jit = emit_llvm_session_new(ctx, 3))))
    return ev;
  tune_eval_free(ev);
  return NULL;
}

void tune_eval_free(tune_eval *ev)
{
  if (!ev)
    return;
  aotc_ctx *ctx = ev->ctx;
  for (int s = 0; ev->sets && s < ev->n_sets && ev->sets[s]; s++)
    for (int a = 0; a < ev->n_args; a++)
      aotc_free(ctx, ev->sets[s][a]);
  for (int o = 0; ev->ref && o < ev->cfg.func->n_outputs; o++)
    aotc_free(ctx, ev->ref[o]);
  if (ev->dir[0] && ev->cfg.keep_temps) {
    driver_tmp_keep(ev->dir);
    fprintf(stderr, "aotc: kept tuning files in %s\n", ev->dir);
  } else if (ev->dir[0]) {
    driver_tmp_remove(ev->dir);
  }
  aotc_free(ctx, ev->codes);
  emit_llvm_session_free(ev->jit);
  aotc_free(ctx, ev);
}
