/* bind.c: the calling convention's sizes: binding size parameters from the
 * shapes of the actual inputs, and concrete shapes of tensors under given
 * sizes. Shared by the interpreter and by `aotc run`. */
#include "ir.h"

#define UNBOUND INT64_MIN

/* Reports a mismatch between the rank declared for an input and the rank of
 * the value passed. */
static bool check_rank(aotc_ctx *ctx, const ir_tensor *t, int rank)
{
  if (rank == t->rank)
    return true;
  aotc_error(ctx, t->loc, "input '%s' has rank %d, expected rank %d", t->name, rank, t->rank);
  return false;
}

/* Binds parameter p from dimension d of input t, or checks an earlier binding. */
static bool bind_param(aotc_ctx *ctx, const ir_func *f, const ir_tensor *t, int d, int64_t dim,
                       int64_t *sizes)
{
  int64_t p = t->shape[d]->value;
  if (p < 0 || p >= f->n_params) {
    aotc_error(ctx, t->loc, "dimension %d of input '%s' names no size parameter", d, t->name);
    return false;
  }
  if (sizes[p] == UNBOUND) {
    sizes[p] = dim;
    return true;
  }
  if (sizes[p] == dim)
    return true;
  aotc_error(ctx, t->loc, "size '%s' is %lld from dimension %d of input '%s', but %lld from an earlier input",
             f->param_names[p], (long long)dim, d, t->name, (long long)sizes[p]);
  return false;
}

/* Checks a dimension given by a constant. */
static bool check_const_dim(aotc_ctx *ctx, const ir_tensor *t, int d, int64_t dim)
{
  if (t->shape[d]->value == dim)
    return true;
  aotc_error(ctx, t->loc, "dimension %d of input '%s' is %lld, expected %lld", d, t->name, (long long)dim,
             (long long)t->shape[d]->value);
  return false;
}

/* First pass over one input: constants and bare parameters. */
static bool bind_input(aotc_ctx *ctx, const ir_func *f, const ir_tensor *t, const int64_t *shape,
                       int64_t *sizes)
{
  bool ok = true;
  for (int d = 0; d < t->rank; d++) {
    const ir_size *s = t->shape[d];
    if (shape[d] < 0) {
      aotc_error(ctx, t->loc, "dimension %d of input '%s' is negative (%lld)", d, t->name, (long long)shape[d]);
      ok = false;
    } else if (!s) {
      aotc_error(ctx, t->loc, "dimension %d of input '%s' has no declared size", d, t->name);
      ok = false;
    } else if (s->kind == IR_SZ_CONST) {
      ok = check_const_dim(ctx, t, d, shape[d]) && ok;
    } else if (s->kind == IR_SZ_PARAM) {
      ok = bind_param(ctx, f, t, d, shape[d], sizes) && ok;
    }
  }
  return ok;
}

/* Second pass over one input: dimensions given by compound size expressions. */
static bool check_compound_dims(aotc_ctx *ctx, const ir_tensor *t, const int64_t *shape, const int64_t *sizes)
{
  bool ok = true;
  for (int d = 0; d < t->rank; d++) {
    const ir_size *s = t->shape[d];
    int64_t v;
    if (!s || s->kind == IR_SZ_CONST || s->kind == IR_SZ_PARAM)
      continue;
    if (!ir_size_eval(s, sizes, &v) || v != shape[d]) {
      aotc_error(ctx, t->loc, "dimension %d of input '%s' is %lld, which does not match its declared size",
                 d, t->name, (long long)shape[d]);
      ok = false;
    }
  }
  return ok;
}

static bool size_mentions(const ir_size *s, int p)
{
  if (!s)
    return false;
  if (s->kind == IR_SZ_PARAM)
    return s->value == p;
  return size_mentions(s->a, p) || size_mentions(s->b, p);
}

/* Location of the first tensor whose shape mentions parameter p. */
static ir_loc param_loc(const ir_func *f, int p)
{
  for (int t = 0; t < f->n_tensors; t++)
    for (int d = 0; d < f->tensors[t]->rank; d++)
      if (size_mentions(f->tensors[t]->shape[d], p))
        return f->tensors[t]->loc;
  return f->loc;
}

static bool check_all_bound(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes)
{
  bool ok = true;
  for (int p = 0; p < f->n_params; p++)
    if (sizes[p] == UNBOUND) {
      aotc_error(ctx, param_loc(f, p), "size '%s' is not given by the shape of any input", f->param_names[p]);
      ok = false;
    }
  return ok;
}

/* Checks input i's rank and binds the parameters its shape names. */
static bool bind_one(aotc_ctx *ctx, const ir_func *f, int i, const int64_t *shape, int rank, int64_t *sizes)
{
  const ir_tensor *t = f->tensors[f->inputs[i]];
  if (!check_rank(ctx, t, rank))
    return false;
  if (t->rank > 0 && !shape) {
    aotc_error(ctx, t->loc, "input '%s' has no shape", t->name);
    return false;
  }
  return bind_input(ctx, f, t, shape, sizes);
}

bool ir_bind_sizes(aotc_ctx *ctx, const ir_func *f, const int64_t *const *shapes, const int *ranks,
                   int64_t *sizes)
{
  bool ok = true;
  for (int p = 0; p < f->n_params; p++)
    sizes[p] = UNBOUND;
  for (int i = 0; i < f->n_inputs; i++)
    ok = bind_one(ctx, f, i, shapes[i], ranks[i], sizes) && ok;
  if (!ok || !check_all_bound(ctx, f, sizes))
    return false;
  for (int i = 0; ok && i < f->n_inputs; i++)
    ok = check_compound_dims(ctx, f->tensors[f->inputs[i]], shapes[i], sizes);
  return ok;
}

bool ir_tensor_shape(const ir_func *f, int t, const int64_t *sizes, int64_t *shape)
{
  if (t < 0 || t >= f->n_tensors)
    return false;
  const ir_tensor *tensor = f->tensors[t];
  if (tensor->rank > 0 && !tensor->shape)
    return false;
  for (int d = 0; d < tensor->rank; d++)
    if (!ir_size_eval(tensor->shape[d], sizes, &shape[d]))
      return false;
  return true;
}

int64_t ir_saturate_i64(double d)
{
  if (!(d == d))
    return 0;
  return d >= 0x1p63 ? INT64_MAX : d < -0x1p63 ? INT64_MIN : (int64_t)d;
}

int64_t ir_tensor_numel(const ir_func *f, int t, const int64_t *sizes)
{
  if (t < 0 || t >= f->n_tensors)
    return -1;
  const ir_tensor *tensor = f->tensors[t];
  int64_t n = 1;
  if (tensor->rank > 0 && !tensor->shape)
    return -1;
  for (int d = 0; d < tensor->rank; d++) {
    int64_t v;
    if (!ir_size_eval(tensor->shape[d], sizes, &v) || v < 0 || __builtin_mul_overflow(n, v, &n))
      return -1;
  }
  return n;
}
