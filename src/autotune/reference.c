/* reference.c: what a candidate's outputs are checked against. Random
 * inputs (several buffer sets, the timing runs rotate over them), the
 * outputs of the reference interpreter (ir_interpret) on set 0, whole or,
 * past a budget of points, on windows of rows at both ends of each output,
 * and the check of a candidate's outputs against them (a scaled error per
 * element, the tolerance growing with the reduction's length). */
#include "eval_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_REF_POINTS 2e7         /* interpreter points affordable for the reference */
#define EVAL_SET_BYTES (256L << 20) /* memory for all buffer sets together */
#define EVAL_MAX_SETS 4
#define EVAL_RTOL 1e-3

static const ir_loc noloc;

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

void *tune_ref_alloc(const tune_eval *ev, size_t bytes)
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
      if (!(ev->sets[s][a] = tune_ref_alloc(ev, ev->bytes[a]))) {
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

void tune_ref_zero_outputs(const tune_eval *ev, void **args)
{
  for (int a = ev->cfg.func->n_inputs; a < ev->n_args; a++)
    memset(args[a], 0, ev->bytes[a]);
}

/* ------------------------------------------------------------------------
 * Reference: the interpreter on set 0, whole or on a window of rows
 * ------------------------------------------------------------------------ */

/* An output can be checked on a window of rows when no statement reads it:
 * each row then depends only on the statements' points of that row. */
static bool output_sliceable(const ir_func *f, int t)
{
  if (f->tensors[t]->rank < 1)
    return false;
  for (int i = 0; i < f->n_stmts; i++)
    if (ir_expr_reads(f->stmts[i]->rhs, t))
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
  if (2 * c->window >= c->extent) /* the two windows cover every row */
    return true;
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
    if (!(ev->ref[o] = tune_ref_alloc(ev, ev->bytes[f->n_inputs + o])))
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
  tune_ref_zero_outputs(ev, args);
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
  double scale = c->scale, worst = 0;
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

/* The element the debug hook spoils: AOTC_TUNE_CORRUPT=1, the first of
 * every candidate's first output; =half, the middle one of the candidates
 * whose code's hash is odd (wrong code among right code, the same code
 * wrong every time it is measured); -1: none. */
static int64_t corrupt_at(const tune_eval *ev, const char *env)
{
  int64_t numel = ev->check[0].numel;
  if (!env || !numel)
    return -1;
  if (!strcmp(env, "1"))
    return 0;
  return !strcmp(env, "half") && (ev->measuring & 1) ? numel / 2 : -1;
}

/* AOTC_TUNE_CORRUPT (builds without NDEBUG): wrong candidates made on
 * purpose, so the path that discards them can be tested. */
static void maybe_corrupt(const tune_eval *ev, void *const *args)
{
#ifndef NDEBUG
  const ir_func *f = ev->cfg.func;
  int64_t i = f->n_outputs ? corrupt_at(ev, getenv("AOTC_TUNE_CORRUPT")) : -1;
  if (i < 0)
    return;
  ir_type t = f->tensors[f->outputs[0]]->type;
  void *p = args[f->n_inputs];
  if (t == IR_F32)
    ((float *)p)[i] = ((float *)p)[i] * 2 + 1;
  else if (t == IR_F64)
    ((double *)p)[i] = ((double *)p)[i] * 2 + 1;
  else
    ((unsigned char *)p)[i * ir_types[t].bytes] ^= 1;
#else
  (void)ev, (void)args;
#endif
}

void tune_ref_check(const tune_eval *ev, void *const *args, run_report *rep)
{
  maybe_corrupt(ev, args);
  check_outputs(ev, args, rep);
}

/* The scale of each float output's errors, once: the RMS of its checked
 * reference elements. */
static void set_scales(tune_eval *ev)
{
  const ir_func *f = ev->cfg.func;
  for (int o = 0; o < f->n_outputs; o++) {
    ir_type t = f->tensors[f->outputs[o]]->type;
    ev->check[o].scale = t == IR_F32 || t == IR_F64 ? rms(ev->ref[o], t, &ev->check[o]) + 1e-30 : 0;
  }
}

bool tune_ref_prepare(tune_eval *ev)
{
  if (!(size_args(ev) && alloc_sets(ev) && setup_checks(ev) && reference(ev)))
    return false;
  set_scales(ev);
  return true;
}

