/* interp_fast.c: the reference interpreter's compiled statements. A float
 * statement (a plain left-hand side, float arithmetic, builtins and casts,
 * accesses whose subscripts are affine in the indices) is compiled once into
 * a tree of closures: subscripts become affine forms evaluated without
 * walking the IR, values are doubles rounded to their node's type after
 * every operation, exactly as interp.c's tagged values are (float32 rounded
 * from the double result: the same as float arithmetic for + - * / and the
 * same libm calls). Points run in the same order, reductions in the same
 * order, errors with the same messages; anything else stays with interp.c's
 * walk. The two are compared on every corpus kernel (test_ir.c). */
#include "interp_priv.h"

#include <math.h>
#include <string.h>

#define FAST_MAX_TERMS 8
#define FAST_EXACT_INT 9007199254740992.0 /* 2^53: integers a double holds exactly */

typedef struct aff {
  int64_t c0;
  int n;
  int k[FAST_MAX_TERMS];
  int64_t c[FAST_MAX_TERMS];
} aff;

typedef struct fnode fnode;

/* The state of a point: the indices, the first read out of bounds, and
 * in a run along the innermost index the offsets of the accesses. */
typedef struct fenv {
  const int64_t *iv;
  const fnode *bad;
  int bad_dim;
  int64_t bad_idx;
  int64_t *off; /* per access (fnode.slot) */
} fenv;

typedef double (*fnode_fn)(const fnode *n, fenv *env);

struct fnode {
  fnode_fn fn;
  bool f32; /* its value is rounded to float */
  const fnode *a, *b;
  double k;
  int index;
  ir_op op;
  ir_builtin call;
  const ir_interp_fn *im;
  const ir_expr *e; /* accesses */
  const void *data;
  const int64_t *shape;
  const aff *sub;
  fnode_fn point_fn, run_fn; /* an access at any point, or in a run whose points are all inside */
  int slot;
  int64_t step; /* in a run: elements from one point to the next */
};

typedef struct fast {
  aotc_ctx *ctx;
  const ir_func *f;
  const ir_stmt *s;
  const ir_interp_view *v;
  fnode *nodes;
  aff *affs;
  int n_nodes, cap_nodes, n_affs, cap_affs;
  fnode **acc; /* the accesses, by slot */
  int n_acc;
} fast;

/* ------------------------------------------------------------------------
 * Closures
 * ------------------------------------------------------------------------ */

static double rnd(const fnode *n, double x)
{
  return n->f32 ? (double)(float)x : x;
}

static int64_t aff_eval(const aff *a, const int64_t *iv)
{
  uint64_t x = (uint64_t)a->c0;
  for (int t = 0; t < a->n; t++)
    x += (uint64_t)a->c[t] * (uint64_t)iv[a->k[t]];
  return (int64_t)x;
}

/* The element offset of an access, -1 outside the bounds (the first such
 * read of the point remembered unless padded). */
static int64_t access_offset(const fnode *n, fenv *env)
{
  int64_t off = 0;
  for (int d = 0; d < n->e->n_args; d++) {
    int64_t idx = aff_eval(&n->sub[d], env->iv);
    if (idx < 0 || idx >= n->shape[d]) {
      if (!n->e->padded && !env->bad)
        env->bad = n, env->bad_dim = d, env->bad_idx = idx;
      return -1;
    }
    off = off * n->shape[d] + idx;
  }
  return off;
}

static double load_f32(const fnode *n, fenv *env)
{
  int64_t off = access_offset(n, env);
  return off < 0 ? 0 : (double)((const float *)n->data)[off];
}

static double load_f64(const fnode *n, fenv *env)
{
  int64_t off = access_offset(n, env);
  return off < 0 ? 0 : ((const double *)n->data)[off];
}

static double run_f32(const fnode *n, fenv *env)
{
  return (double)((const float *)n->data)[env->off[n->slot]];
}

static double run_f64(const fnode *n, fenv *env)
{
  return ((const double *)n->data)[env->off[n->slot]];
}

static double constant(const fnode *n, fenv *env)
{
  (void)env;
  return n->k;
}

static double index_value(const fnode *n, fenv *env)
{
  return (double)env->iv[n->index];
}

static double negate(const fnode *n, fenv *env)
{
  return -rnd(n, n->a->fn(n->a, env));
}

static double cast(const fnode *n, fenv *env)
{
  return rnd(n, n->a->fn(n->a, env));
}

static double float_op(const fnode *n, ir_op op, double x, double y)
{
  switch (op) {
  case IR_ADD: return rnd(n, x + y);
  case IR_SUB: return rnd(n, x - y);
  case IR_MUL: return rnd(n, x * y);
  case IR_DIV: return rnd(n, x / y);
  default: return n->f32 ? (double)fmodf((float)x, (float)y) : fmod(x, y);
  }
}

static double add(const fnode *n, fenv *env)
{
  double x = rnd(n, n->a->fn(n->a, env));
  return rnd(n, x + rnd(n, n->b->fn(n->b, env)));
}

static double mul(const fnode *n, fenv *env)
{
  double x = rnd(n, n->a->fn(n->a, env));
  return rnd(n, x * rnd(n, n->b->fn(n->b, env)));
}

static double binary(const fnode *n, fenv *env)
{
  double x = rnd(n, n->a->fn(n->a, env));
  return float_op(n, n->op, x, rnd(n, n->b->fn(n->b, env)));
}

static double call1(const fnode *n, fenv *env)
{
  double x = rnd(n, n->a->fn(n->a, env));
  return n->f32 ? (double)n->im->f1((float)x) : n->im->d1(x);
}

static double call2(const fnode *n, fenv *env)
{
  double x = rnd(n, n->a->fn(n->a, env));
  double y = rnd(n, n->b->fn(n->b, env));
  return n->f32 ? (double)n->im->f2((float)x, (float)y) : n->im->d2(x, y);
}

static double min_max_abs(const fnode *n, fenv *env)
{
  double x = rnd(n, n->a->fn(n->a, env));
  if (n->call == IR_FN_ABS)
    return fabs(x);
  double y = rnd(n, n->b->fn(n->b, env));
  return rnd(n, n->call == IR_FN_MAX ? fmax(x, y) : fmin(x, y));
}

/* ------------------------------------------------------------------------
 * Compiling: affine subscripts, then the right-hand side
 * ------------------------------------------------------------------------ */

static void aff_add_term(aff *a, int k, int64_t c)
{
  for (int t = 0; t < a->n; t++)
    if (a->k[t] == k) {
      a->c[t] = (int64_t)((uint64_t)a->c[t] + (uint64_t)c);
      return;
    }
  if (a->n < FAST_MAX_TERMS) {
    a->k[a->n] = k;
    a->c[a->n++] = c;
  } else {
    a->n = FAST_MAX_TERMS + 1;
  }
}

/* x + sign * y (sign 1 or -1), modulo 2^64 as interp.c's int64 arithmetic. */
static bool aff_combine(aff *x, const aff *y, int64_t sign)
{
  x->c0 = (int64_t)((uint64_t)x->c0 + (uint64_t)sign * (uint64_t)y->c0);
  for (int t = 0; t < y->n && x->n <= FAST_MAX_TERMS; t++)
    aff_add_term(x, y->k[t], (int64_t)((uint64_t)sign * (uint64_t)y->c[t]));
  return x->n <= FAST_MAX_TERMS;
}

static void aff_scale(aff *x, int64_t by)
{
  x->c0 = (int64_t)((uint64_t)x->c0 * (uint64_t)by);
  for (int t = 0; t < x->n; t++)
    x->c[t] = (int64_t)((uint64_t)x->c[t] * (uint64_t)by);
}

static bool affine(const fast *F, const ir_expr *e, aff *out);

static bool affine_binary(const fast *F, const ir_expr *e, aff *out)
{
  aff y;
  if (!affine(F, e->args[0], out) || !affine(F, e->args[1], &y))
    return false;
  if (e->op == IR_ADD || e->op == IR_SUB)
    return aff_combine(out, &y, e->op == IR_ADD ? 1 : -1);
  if (e->op != IR_MUL || (out->n && y.n))
    return false;
  if (!out->n) {
    int64_t c = out->c0;
    *out = y;
    aff_scale(out, c);
  } else {
    aff_scale(out, y.c0);
  }
  return true;
}

/* e (int64 throughout) as c0 + sum of c * index, else false. */
static bool affine(const fast *F, const ir_expr *e, aff *out)
{
  memset(out, 0, sizeof *out);
  if (e->type != IR_I64)
    return false;
  switch (e->kind) {
  case IR_INDEX: out->n = 1, out->k[0] = e->index, out->c[0] = 1; return true;
  case IR_CONST_INT: out->c0 = e->ival; return true;
  case IR_SIZE: return ir_size_eval(e->size, F->v->sizes, &out->c0);
  case IR_CAST: return affine(F, e->args[0], out);
  case IR_UNARY:
    if (e->op != IR_NEG || !affine(F, e->args[0], out))
      return false;
    aff_scale(out, -1);
    return true;
  case IR_BINARY: return affine_binary(F, e, out);
  default: return false;
  }
}

static fnode *new_node(fast *F, const ir_expr *e, fnode_fn fn)
{
  if (F->n_nodes == F->cap_nodes)
    return NULL;
  fnode *n = &F->nodes[F->n_nodes++];
  memset(n, 0, sizeof *n);
  n->fn = fn;
  n->f32 = e->type == IR_F32;
  n->e = e;
  return n;
}

static bool is_float_type(ir_type t)
{
  return t == IR_F32 || t == IR_F64;
}

static fnode *compile(fast *F, const ir_expr *e);

/* A leaf whose value is an integer of int64 (a double holds it exactly, as
 * its float parent converts it) or a constant of a float type. */
static fnode *compile_leaf(fast *F, const ir_expr *e)
{
  int64_t v = e->ival;
  if (e->type != IR_I64 && !is_float_type(e->type))
    return NULL;
  if (e->kind == IR_CONST_FLOAT && !is_float_type(e->type))
    return NULL;
  if (e->kind == IR_INDEX) {
    fnode *n = e->type == IR_I64 ? new_node(F, e, index_value) : NULL;
    if (n)
      n->index = e->index;
    return n;
  }
  if (e->kind == IR_SIZE && !ir_size_eval(e->size, F->v->sizes, &v))
    return NULL;
  if (e->kind != IR_CONST_FLOAT && fabs((double)v) > FAST_EXACT_INT)
    return NULL;
  fnode *n = new_node(F, e, constant);
  if (n)
    n->k = rnd(n, e->kind == IR_CONST_FLOAT ? e->fval : (double)v);
  return n;
}

static fnode *compile_access(fast *F, const ir_expr *e)
{
  ir_type t = F->f->tensors[e->tensor]->type;
  if (!is_float_type(t) || t != e->type || F->n_affs + e->n_args > F->cap_affs)
    return NULL;
  aff *sub = &F->affs[F->n_affs];
  for (int d = 0; d < e->n_args; d++)
    if (!affine(F, e->args[d], &sub[d]))
      return NULL;
  F->n_affs += e->n_args;
  fnode *n = new_node(F, e, t == IR_F32 ? load_f32 : load_f64);
  if (n) {
    n->data = F->v->data[e->tensor];
    n->shape = F->v->shape[e->tensor];
    n->sub = sub;
    n->point_fn = n->fn;
    n->run_fn = t == IR_F32 ? run_f32 : run_f64;
    n->slot = F->n_acc;
    F->acc[F->n_acc++] = n;
  }
  return n;
}

static fnode_fn binary_fn(ir_op op)
{
  switch (op) {
  case IR_ADD: return add;
  case IR_MUL: return mul;
  case IR_SUB:
  case IR_DIV:
  case IR_MOD: return binary;
  default: return NULL;
  }
}

static fnode_fn call_fn(ir_builtin fn, const ir_interp_fn *im)
{
  if (fn == IR_FN_MIN || fn == IR_FN_MAX || fn == IR_FN_ABS)
    return min_max_abs;
  if (ir_builtins[fn].arity == 1)
    return im->f1 && im->d1 ? call1 : NULL;
  return im->f2 && im->d2 ? call2 : NULL;
}

/* A unary minus, a binary operator, a cast or a call, of a float type. */
static fnode *compile_op(fast *F, const ir_expr *e)
{
  fnode_fn fn = NULL;
  const ir_interp_fn *im = NULL;
  if (e->kind == IR_UNARY)
    fn = e->op == IR_NEG ? negate : NULL;
  else if (e->kind == IR_BINARY)
    fn = binary_fn(e->op);
  else if (e->kind == IR_CAST)
    fn = cast;
  else if (e->kind == IR_CALL && e->n_args <= 2)
    fn = call_fn(e->fn, im = ir_interp_builtin(e->fn));
  fnode *n = fn ? new_node(F, e, fn) : NULL;
  if (!n || (e->n_args > 0 && !(n->a = compile(F, e->args[0]))))
    return NULL;
  if (e->n_args > 1 && !(n->b = compile(F, e->args[1])))
    return NULL;
  n->op = e->op;
  n->call = e->fn;
  n->im = im;
  return n;
}

static fnode *compile(fast *F, const ir_expr *e)
{
  switch (e->kind) {
  case IR_INDEX:
  case IR_SIZE:
  case IR_CONST_INT:
  case IR_CONST_FLOAT: return compile_leaf(F, e);
  case IR_ACCESS: return compile_access(F, e);
  default: return is_float_type(e->type) ? compile_op(F, e) : NULL;
  }
}

/* ------------------------------------------------------------------------
 * Running the points
 * ------------------------------------------------------------------------ */

typedef struct point_ctx {
  fast *F;
  const fnode *rhs;
  void *out;
  const int64_t *out_shape;
  bool out_f32, sum_f32; /* the output's type, and the type the reduction computes in */
  bool dot; /* float32 out += a * b, a and b float32 accesses of other tensors */
} point_ctx;

static int read_error(const fast *F, const fenv *env)
{
  const ir_expr *e = env->bad->e;
  aotc_error(F->ctx, e->loc, "read of '%s' out of bounds: index %lld in dimension %d of size %lld",
             F->f->tensors[e->tensor]->name, (long long)env->bad_idx, env->bad_dim,
             (long long)env->bad->shape[env->bad_dim]);
  return 1;
}

static int write_offset(const point_ctx *P, const int64_t *iv, int64_t *off)
{
  const ir_stmt *s = P->F->s;
  *off = 0;
  for (int d = 0; d < s->n_lhs; d++) {
    int64_t idx = iv[s->lhs[d]];
    if (idx < 0 || idx >= P->out_shape[d]) {
      aotc_error(P->F->ctx, s->loc, "write to '%s' out of bounds: index %lld in dimension %d of size %lld",
                 P->F->f->tensors[s->tensor]->name, (long long)idx, d, (long long)P->out_shape[d]);
      return 1;
    }
    *off = *off * P->out_shape[d] + idx;
  }
  return 0;
}

static double reduce(const point_ctx *P, double old, double x)
{
  fnode t = {.f32 = P->sum_f32};
  old = rnd(&t, old);
  x = rnd(&t, x);
  switch (P->F->s->red) {
  case IR_RED_ADD: return rnd(&t, old + x);
  case IR_RED_MUL: return rnd(&t, old * x);
  case IR_RED_MIN: return rnd(&t, fmin(old, x));
  case IR_RED_MAX: return rnd(&t, fmax(old, x));
  default: return x;
  }
}

static void store_out(const point_ctx *P, int64_t off, double x)
{
  if (P->F->s->red != IR_RED_NONE)
    x = reduce(P, P->out_f32 ? (double)((float *)P->out)[off] : ((double *)P->out)[off], x);
  if (P->out_f32)
    ((float *)P->out)[off] = (float)x;
  else
    ((double *)P->out)[off] = x;
}

static int run_point(const point_ctx *P, fenv *env)
{
  int64_t off;
  env->bad = NULL;
  double x = P->rhs->fn(P->rhs, env);
  if (env->bad)
    return read_error(P->F, env);
  if (write_offset(P, env->iv, &off))
    return 1;
  store_out(P, off, x);
  return 0;
}

/* Element offset and step along index k of an access in a run of index k
 * over [v0, v1]; false when a point of the run falls outside (affine: the
 * ends tell). */
static bool access_run(const fnode *a, int64_t *iv, int k, int64_t v0, int64_t v1, int64_t *off, int64_t *step)
{
  *off = *step = 0;
  for (int d = 0; d < a->e->n_args; d++) {
    const aff *x = &a->sub[d];
    iv[k] = v1;
    int64_t i1 = aff_eval(x, iv), c = 0;
    iv[k] = v0;
    int64_t i0 = aff_eval(x, iv);
    if (i0 < 0 || i0 >= a->shape[d] || i1 < 0 || i1 >= a->shape[d])
      return false;
    for (int t = 0; t < x->n; t++)
      c += x->k[t] == k ? x->c[t] : 0;
    *off = *off * a->shape[d] + i0;
    *step = *step * a->shape[d] + c;
  }
  return true;
}

/* The same for the element written. */
static bool write_run(const point_ctx *P, int64_t *iv, int k, int64_t v0, int64_t v1, int64_t *off, int64_t *step)
{
  const ir_stmt *s = P->F->s;
  *off = *step = 0;
  for (int d = 0; d < s->n_lhs; d++) {
    int64_t i0 = s->lhs[d] == k ? v0 : iv[s->lhs[d]], i1 = s->lhs[d] == k ? v1 : i0;
    if (i0 < 0 || i0 >= P->out_shape[d] || i1 < 0 || i1 >= P->out_shape[d])
      return false;
    *off = *off * P->out_shape[d] + i0;
    *step = *step * P->out_shape[d] + (s->lhs[d] == k);
  }
  return true;
}

/* Sets the accesses up for a run of the innermost index from lo to hi - 1
 * (offsets in env, steps in the nodes); false, each access evaluated point
 * by point, when some point of the run is outside a bound. */
static bool start_run(const point_ctx *P, fenv *env, int64_t *iv, int64_t lo, int64_t hi, int64_t *out_step)
{
  int k = P->F->s->n_index - 1;
  bool inside = write_run(P, iv, k, lo, hi - 1, &env->off[P->F->n_acc], out_step);
  for (int a = 0; inside && a < P->F->n_acc; a++)
    inside = access_run(P->F->acc[a], iv, k, lo, hi - 1, &env->off[a], &P->F->acc[a]->step);
  iv[k] = lo;
  for (int a = 0; a < P->F->n_acc; a++)
    P->F->acc[a]->fn = inside ? P->F->acc[a]->run_fn : P->F->acc[a]->point_fn;
  return inside;
}

/* The same as fast_run for a dot product along the run: the sum kept in a
 * float between points (rounded as each store would round it). */
static void dot_run(const point_ctx *P, fenv *env, int64_t *iv, int64_t hi)
{
  int k = P->F->s->n_index - 1;
  const fnode *a = P->rhs->a, *b = P->rhs->b;
  const float *x = (const float *)a->data + env->off[a->slot], *y = (const float *)b->data + env->off[b->slot];
  float *out = (float *)P->out + env->off[P->F->n_acc], sum = *out;
  int64_t n = hi - iv[k];
  for (int64_t i = 0; i < n; i++) {
    float prod = (float)((double)x[i * a->step] * (double)y[i * b->step]);
    sum = (float)((double)sum + (double)prod);
  }
  *out = sum;
  iv[k] = hi;
}

static int64_t elements(const int64_t *shape, int rank)
{
  int64_t n = 1;
  for (int d = 0; d < rank; d++)
    n *= shape[d];
  return n;
}

/* Whether the storage an access reads overlaps the output's (the same
 * tensor, or a view: src/graph/views.c). */
static bool overlaps(const point_ctx *P, const fnode *a)
{
  const ir_func *f = P->F->f;
  const char *x = a->data, *out = P->out;
  int64_t xn = elements(a->shape, f->tensors[a->e->tensor]->rank) * 4;
  int64_t on = elements(P->out_shape, f->tensors[P->F->s->tensor]->rank) * 4;
  return a->e->tensor == P->F->s->tensor || (x < out + on && out < x + xn);
}

/* Whether P's statement is a dot product dot_run can take. */
static bool is_dot(const point_ctx *P)
{
  const fnode *r = P->rhs;
  const ir_stmt *s = P->F->s;
  if (s->red != IR_RED_ADD || !P->out_f32 || !P->sum_f32 || r->fn != mul || !r->f32)
    return false;
  if (r->a->point_fn != load_f32 || r->b->point_fn != load_f32)
    return false;
  return !overlaps(P, r->a) && !overlaps(P, r->b);
}

/* A run whose points are all inside: no check, offsets stepped. */
static void fast_run(const point_ctx *P, fenv *env, int64_t *iv, int64_t hi, int64_t out_step)
{
  int k = P->F->s->n_index - 1, n_acc = P->F->n_acc;
  int64_t *off = env->off;
  if (P->dot && out_step == 0) {
    dot_run(P, env, iv, hi);
    return;
  }
  for (; iv[k] < hi; iv[k]++) {
    store_out(P, off[n_acc], P->rhs->fn(P->rhs, env));
    for (int a = 0; a < n_acc; a++)
      off[a] += P->F->acc[a]->step;
    off[n_acc] += out_step;
  }
}

static int checked_run(const point_ctx *P, fenv *env, int64_t *iv, int64_t hi)
{
  int k = P->F->s->n_index - 1;
  for (; iv[k] < hi; iv[k]++)
    if (run_point(P, env))
      return 1;
  return 0;
}

/* Every point, the last index innermost, a run of it at a time. */
static int run_points(const point_ctx *P, const int64_t *lo, const int64_t *hi, int64_t *iv, int64_t *off)
{
  int n = P->F->s->n_index, k;
  int64_t out_step;
  fenv env = {.iv = iv, .off = off};
  for (k = 0; k < n; k++)
    if ((iv[k] = lo[k]) >= hi[k])
      return 0;
  do {
    if (start_run(P, &env, iv, lo[n - 1], hi[n - 1], &out_step))
      fast_run(P, &env, iv, hi[n - 1], out_step);
    else if (checked_run(P, &env, iv, hi[n - 1]))
      return 1;
    iv[n - 1] = lo[n - 1];
    for (k = n - 2; k >= 0 && ++iv[k] == hi[k]; k--)
      iv[k] = lo[k];
  } while (k >= 0);
  return 0;
}

static int expr_nodes(const ir_expr *e)
{
  int n = 1;
  for (int i = 0; i < e->n_args; i++)
    n += expr_nodes(e->args[i]);
  return n;
}

static bool compilable_stmt(const ir_func *f, const ir_stmt *s)
{
  ir_type out = f->tensors[s->tensor]->type;
  return ir_stmt_is_plain(s) && is_float_type(out) && is_float_type(s->rhs->type) && s->n_index > 0;
}

static void *alloc_bytes(aotc_ctx *ctx, size_t n)
{
  return ctx->alloc(ctx->alloc_ud, NULL, 0, n ? n : 1);
}

static void free_bytes(aotc_ctx *ctx, void *p, size_t n)
{
  if (p)
    ctx->alloc(ctx->alloc_ud, p, n ? n : 1, 0);
}

static int compile_and_run(fast *F, const int64_t *lo, const int64_t *hi, int64_t *iv, int64_t *off)
{
  const ir_stmt *s = F->s;
  ir_type out = F->f->tensors[s->tensor]->type;
  point_ctx P = {.F = F, .rhs = compile(F, s->rhs), .out = F->v->data[s->tensor],
                 .out_shape = F->v->shape[s->tensor], .out_f32 = out == IR_F32,
                 .sum_f32 = ir_promote(out, s->rhs->type) == IR_F32};
  P.dot = P.rhs && is_dot(&P);
  return P.rhs ? run_points(&P, lo, hi, iv, off) : -1;
}

int ir_interp_fast_stmt(aotc_ctx *ctx, const ir_func *f, const ir_stmt *s, const ir_interp_view *v,
                        const int64_t *lo, const int64_t *hi)
{
  if (!compilable_stmt(f, s))
    return -1;
  int n = expr_nodes(s->rhs);
  fast F = {.ctx = ctx, .f = f, .s = s, .v = v, .cap_nodes = n, .cap_affs = n};
  size_t bytes = (sizeof(fnode) + sizeof(aff) + sizeof(fnode *) + sizeof(int64_t)) * (size_t)n +
                 sizeof(int64_t) * (size_t)(s->n_index + 1);
  char *block = alloc_bytes(ctx, bytes);
  if (!block) {
    ctx->oom = true;
    aotc_error(ctx, s->loc, "out of memory");
    return 1;
  }
  F.nodes = (fnode *)block;
  F.affs = (aff *)(F.nodes + n);
  F.acc = (fnode **)(F.affs + n);
  int64_t *off = (int64_t *)(F.acc + n), *iv = off + n + 1;
  int rc = compile_and_run(&F, lo, hi, iv, off);
  free_bytes(ctx, block, bytes);
  return rc;
}
