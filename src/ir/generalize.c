/* generalize.c: size-generic functions from size-specific ones. A frontend
 * that only knows concrete shapes (ONNX shape inference folds Shape, Gather,
 * Concat and Reshape chains to numbers) lowers the same program at a few
 * probe values of its named sizes; this pass checks that the results are
 * the same program and rebuilds it with every number that varies replaced
 * by an affine expression of the size parameters, fitted on the probes and
 * verified on one more. A program whose structure or constants change with
 * the sizes in any other way is refused with the statement that differs.
 * The memory plan comes later (plan-memory): with sizes that depend on the
 * parameters it is made at each call of the emitted code (memplan.c). */
#include "ir.h"

#include <string.h>

typedef struct gen {
  aotc_ctx *ctx;
  ir_func *const *fs; /* one function per probe */
  const ir_probes *p;
  ir_func *out;
  const char *what; /* what is being compared, for messages */
  ir_loc loc;
  bool failed;
} gen;

static bool gen_fail(gen *G, const char *why)
{
  if (!G->failed)
    aotc_error(G->ctx, G->loc, "'%s': %s %s at different sizes; give fixed sizes (--shape or --size)",
               G->fs[0]->name, G->what, why);
  G->failed = true;
  return false;
}

/* ------------------------------------------------------------------------
 * Probe values and the affine fit
 * ------------------------------------------------------------------------ */

static int64_t probe_value(int probe, int param, int n_params)
{
  int64_t base = 11 + 2 * param;
  if (probe == 1 + param)
    return base + 1;
  if (probe == n_params + 1)
    return base + 6 + param;
  return base;
}

void ir_probe_sizes(int n_params, int probe, int64_t *sizes)
{
  for (int i = 0; i < n_params; i++)
    sizes[i] = probe_value(probe, i, n_params);
}

static const int64_t *probe_at(const ir_probes *p, int k)
{
  return p->values + (size_t)k * (size_t)p->n_params;
}

/* The coefficients c (c[0] the constant, c[1 + i] of parameter i) of the
 * affine function taking the value v[k] at probe k; false when none does. */
static bool fit_affine(const ir_probes *p, const int64_t *v, int64_t *c)
{
  const int64_t *base = probe_at(p, 0);
  c[0] = v[0];
  for (int i = 0; i < p->n_params; i++) {
    int64_t step = probe_at(p, 1 + i)[i] - base[i], dv = v[1 + i] - v[0];
    if (step <= 0 || dv % step)
      return false;
    c[1 + i] = dv / step;
    c[0] -= c[1 + i] * base[i];
  }
  for (int k = 0; k < p->n; k++) {
    int64_t x = c[0];
    for (int i = 0; i < p->n_params; i++)
      x += c[1 + i] * probe_at(p, k)[i];
    if (x != v[k])
      return false;
  }
  return true;
}

static ir_size *affine_size(aotc_ctx *ctx, const int64_t *c, int n_params)
{
  ir_size *s = ir_size_const(ctx, c[0]);
  for (int i = 0; i < n_params; i++)
    if (c[1 + i])
      s = ir_size_bin(ctx, IR_SZ_ADD, s,
                      ir_size_bin(ctx, IR_SZ_MUL, ir_size_const(ctx, c[1 + i]), ir_size_param(ctx, i)));
  return s;
}

/* The size taking value v[k] at probe k (a constant when all agree). */
static ir_size *fit_size(gen *G, const int64_t *v)
{
  int64_t c[1 + IR_PROBES_MAX];
  if (!fit_affine(G->p, v, c)) {
    gen_fail(G, "has a size that is not affine in the named sizes");
    return NULL;
  }
  return affine_size(G->ctx, c, G->p->n_params);
}

/* ------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------ */

static bool const_size(gen *G, const ir_size *s, int64_t *v)
{
  if (!s || !ir_size_is_const(s, v))
    return gen_fail(G, "has a size that is not a number");
  return true;
}

/* The generic form of a size given at every probe (sz[k] of function k). */
static ir_size *gen_size(gen *G, ir_size *const *sz)
{
  int64_t v[IR_PROBES_MAX + 2];
  for (int k = 0; k < G->p->n; k++)
    if (!const_size(G, sz[k], &v[k]))
      return NULL;
  return fit_size(G, v);
}

static bool same_tensor_kind(const ir_tensor *a, const ir_tensor *b)
{
  return !strcmp(a->name, b->name) && a->type == b->type && a->role == b->role && a->rank == b->rank;
}

static bool same_data(gen *G, int t)
{
  const ir_tensor *T0 = G->fs[0]->tensors[t];
  int64_t numel = ir_tensor_numel(G->fs[0], t, NULL);
  if (numel < 0)
    return gen_fail(G, "has a constant whose size");
  for (int k = 1; k < G->p->n; k++) {
    const ir_tensor *Tk = G->fs[k]->tensors[t];
    if (ir_tensor_numel(G->fs[k], t, NULL) != numel ||
        (T0->data != Tk->data && memcmp(T0->data, Tk->data, (size_t)numel * (size_t)ir_types[T0->type].bytes)))
      return gen_fail(G, "has a constant that differs");
  }
  return true;
}

static ir_tensor *gen_tensor(gen *G, int t)
{
  const ir_tensor *T0 = G->fs[0]->tensors[t];
  G->what = ir_sprintf(G->ctx, "tensor '%s'", T0->name);
  G->loc = T0->loc;
  for (int k = 1; k < G->p->n; k++)
    if (t >= G->fs[k]->n_tensors || !same_tensor_kind(T0, G->fs[k]->tensors[t]))
      return gen_fail(G, "is not the same tensor"), NULL;
  if (T0->role == IR_CONSTANT && !same_data(G, t))
    return NULL;
  ir_tensor *T = IR_NEW(G->ctx, ir_tensor);
  ir_size **shape = IR_NEW_ARRAY(G->ctx, ir_size *, T0->rank);
  if (!T || !shape)
    return NULL;
  *T = *T0;
  T->shape = shape;
  T->ws_offset = 0;
  for (int j = 0; j < T0->rank; j++) {
    ir_size *sz[IR_PROBES_MAX + 2];
    for (int k = 0; k < G->p->n; k++)
      sz[k] = G->fs[k]->tensors[t]->shape[j];
    if (!(shape[j] = gen_size(G, sz)))
      return NULL;
  }
  return T;
}

/* ------------------------------------------------------------------------
 * Expressions
 * ------------------------------------------------------------------------ */

static bool same_node(const ir_expr *a, const ir_expr *b)
{
  if (a->kind != b->kind || a->type != b->type || a->n_args != b->n_args || a->tensor != b->tensor ||
      a->padded != b->padded)
    return false;
  switch (a->kind) {
  case IR_CONST_FLOAT:
    return !memcmp(&a->fval, &b->fval, sizeof(double));
  case IR_INDEX:
    return a->index == b->index;
  case IR_UNARY:
  case IR_BINARY:
    return a->op == b->op;
  case IR_CALL:
    return a->fn == b->fn;
  default:
    return true;
  }
}

static ir_expr *gen_expr(gen *G, const ir_expr *const *es);

/* An integer constant that varies becomes a size expression, cast back to
 * the constant's type. */
static ir_expr *gen_int(gen *G, const ir_expr *const *es)
{
  int64_t v[IR_PROBES_MAX + 2];
  for (int k = 0; k < G->p->n; k++)
    v[k] = es[k]->kind == IR_CONST_INT ? es[k]->ival : 0;
  for (int k = 0; k < G->p->n && es[0]->kind == IR_SIZE; k++)
    if (!const_size(G, es[k]->size, &v[k]))
      return NULL;
  ir_size *s = fit_size(G, v);
  int64_t c;
  if (!s)
    return NULL;
  if (ir_size_is_const(s, &c) && es[0]->kind == IR_CONST_INT) {
    ir_expr *e = ir_expr_new(G->ctx, IR_CONST_INT, es[0]->type, es[0]->loc, 0);
    if (e)
      e->ival = c;
    return e;
  }
  ir_expr *e = ir_expr_new(G->ctx, IR_SIZE, IR_I64, es[0]->loc, 0);
  if (e)
    e->size = s;
  if (!e || es[0]->type == IR_I64)
    return e;
  ir_expr *cast = ir_expr_new(G->ctx, IR_CAST, es[0]->type, es[0]->loc, 1);
  if (cast)
    cast->args[0] = e;
  return cast;
}

static ir_expr *gen_args(gen *G, const ir_expr *const *es)
{
  const ir_expr *e0 = es[0];
  ir_expr *e = ir_expr_new(G->ctx, e0->kind, e0->type, e0->loc, e0->n_args);
  if (!e)
    return NULL;
  ir_expr **args = e->args;
  *e = *e0;
  e->args = args;
  for (int j = 0; j < e0->n_args; j++) {
    const ir_expr *sub[IR_PROBES_MAX + 2];
    for (int k = 0; k < G->p->n; k++)
      sub[k] = es[k]->args[j];
    if (!(args[j] = gen_expr(G, sub)))
      return NULL;
  }
  return e;
}

static ir_expr *gen_expr(gen *G, const ir_expr *const *es)
{
  for (int k = 1; k < G->p->n; k++)
    if (!same_node(es[0], es[k]))
      return gen_fail(G, "is not the same expression"), NULL;
  if (es[0]->kind == IR_CONST_INT || es[0]->kind == IR_SIZE)
    return gen_int(G, es);
  return gen_args(G, es);
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static bool same_ints(const int *a, const int *b, int n)
{
  if (!a || !b)
    return !a && !b;
  return !memcmp(a, b, sizeof(int) * (size_t)n);
}

static bool same_stmt_kind(const ir_stmt *a, const ir_stmt *b)
{
  return a->tensor == b->tensor && a->n_index == b->n_index && a->n_lhs == b->n_lhs && a->red == b->red &&
         a->init == b->init && same_ints(a->lhs, b->lhs, a->n_lhs) && !a->lhs_expr == !b->lhs_expr;
}

/* The general form's left-hand side: each subscript generalized. */
static bool gen_lhs(gen *G, int s, ir_stmt *st)
{
  if (!st->lhs_expr)
    return true;
  ir_expr **lhs = IR_NEW_ARRAY(G->ctx, ir_expr *, st->n_lhs);
  if (!lhs)
    return false;
  for (int j = 0; j < st->n_lhs; j++) {
    const ir_expr *sub[IR_PROBES_MAX + 2];
    for (int k = 0; k < G->p->n; k++)
      sub[k] = G->fs[k]->stmts[s]->lhs_expr[j];
    if (!(lhs[j] = gen_expr(G, sub)))
      return false;
  }
  st->lhs_expr = lhs;
  return true;
}

static bool gen_index(gen *G, int s, int i, ir_index *x)
{
  ir_size *lo[IR_PROBES_MAX + 2], *hi[IR_PROBES_MAX + 2];
  for (int k = 0; k < G->p->n; k++) {
    const ir_index *xk = &G->fs[k]->stmts[s]->index[i];
    if (xk->reduction != x->reduction)
      return gen_fail(G, "is not the same statement");
    lo[k] = xk->lo;
    hi[k] = xk->hi;
  }
  return (x->lo = gen_size(G, lo)) && (x->hi = gen_size(G, hi));
}

static ir_stmt *gen_stmt(gen *G, int s)
{
  const ir_stmt *s0 = G->fs[0]->stmts[s];
  G->what = ir_sprintf(G->ctx, "statement %d (writing '%s')", s, G->fs[0]->tensors[s0->tensor]->name);
  G->loc = s0->loc;
  for (int k = 1; k < G->p->n; k++)
    if (s >= G->fs[k]->n_stmts || !same_stmt_kind(s0, G->fs[k]->stmts[s]))
      return gen_fail(G, "is not the same statement"), NULL;
  ir_stmt *st = IR_NEW(G->ctx, ir_stmt);
  ir_index *index = IR_NEW_ARRAY(G->ctx, ir_index, s0->n_index);
  if (!st || !index)
    return NULL;
  *st = *s0;
  st->index = index;
  memcpy(index, s0->index, sizeof(ir_index) * (size_t)s0->n_index);
  for (int i = 0; i < s0->n_index; i++)
    if (!gen_index(G, s, i, &index[i]))
      return NULL;
  if (!gen_lhs(G, s, st))
    return NULL;
  const ir_expr *rhs[IR_PROBES_MAX + 2];
  for (int k = 0; k < G->p->n; k++)
    rhs[k] = G->fs[k]->stmts[s]->rhs;
  st->rhs = gen_expr(G, rhs);
  return st->rhs ? st : NULL;
}

/* ------------------------------------------------------------------------
 * Functions
 * ------------------------------------------------------------------------ */

static bool same_kernels(const ir_func *a, const ir_func *b)
{
  return same_ints(a->stmt_kernel, b->stmt_kernel, a->n_stmts) &&
         same_ints(a->stmt_origin, b->stmt_origin, a->n_stmts);
}

static bool same_signature(const ir_func *a, const ir_func *b)
{
  return a->n_tensors == b->n_tensors && a->n_stmts == b->n_stmts && a->n_inputs == b->n_inputs &&
         a->n_outputs == b->n_outputs && a->n_params == 0 && b->n_params == 0 &&
         !memcmp(a->inputs, b->inputs, sizeof(int) * (size_t)a->n_inputs) &&
         !memcmp(a->outputs, b->outputs, sizeof(int) * (size_t)a->n_outputs) && same_kernels(a, b) &&
         ir_region_same(a->body, b->body);
}

static bool gen_body(gen *G)
{
  ir_func *f = G->out;
  f->tensors = IR_NEW_ARRAY(G->ctx, ir_tensor *, f->n_tensors);
  f->stmts = IR_NEW_ARRAY(G->ctx, ir_stmt *, f->n_stmts);
  if (!f->tensors || !f->stmts)
    return false;
  for (int t = 0; t < f->n_tensors; t++)
    if (!(f->tensors[t] = gen_tensor(G, t)))
      return false;
  for (int s = 0; s < f->n_stmts; s++)
    if (!(f->stmts[s] = gen_stmt(G, s)))
      return false;
  return true;
}

ir_func *ir_generalize(aotc_ctx *ctx, ir_func *const *fs, const ir_probes *p)
{
  gen G = {.ctx = ctx, .fs = fs, .p = p, .what = "the program"};
  if (p->n_params < 1 || p->n_params > IR_PROBES_MAX || p->n != p->n_params + 2)
    return NULL;
  G.loc = fs[0]->loc;
  for (int k = 1; k < p->n; k++)
    if (!same_signature(fs[0], fs[k]))
      return gen_fail(&G, "is not the same program"), NULL;
  ir_func *f = IR_NEW(ctx, ir_func);
  if (!f)
    return NULL;
  *f = *fs[0];
  f->n_params = p->n_params;
  f->param_names = IR_NEW_ARRAY(ctx, const char *, p->n_params);
  if (!f->param_names)
    return NULL;
  memcpy(f->param_names, p->names, sizeof(char *) * (size_t)p->n_params);
  f->memory_planned = false;
  f->memory_planned_per_call = false;
  f->workspace_bytes = 0;
  f->workspace_lower_bound = 0;
  G.out = f;
  return gen_body(&G) ? f : NULL;
}
