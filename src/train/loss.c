/* loss.c: the losses of a training step as statements appended to the
 * forward part (train.h): cross-entropy of logits with class indices and
 * the mean squared error, both averaged as PyTorch's defaults
 * (reduction="mean"). The backward pass differentiates them like any
 * other statement. */
#include "train.h"

static const ir_loc noloc;

ir_expr *train_size_value(aotc_ctx *ctx, ir_size *n, ir_type type)
{
  ir_expr *sz = ir_expr_new(ctx, IR_SIZE, IR_I64, noloc, 0);
  ir_expr *cast = ir_expr_new(ctx, IR_CAST, type, noloc, 1);
  if (!sz || !cast || !n)
    return NULL;
  sz->size = n;
  cast->args[0] = sz;
  return cast;
}

/* The number of elements of the box dims[0..n-1], cast to type. */
static ir_expr *count(aotc_ctx *ctx, ir_size *const *dims, int n, ir_type type)
{
  ir_size *c = ir_size_const(ctx, 1);
  for (int d = 0; d < n; d++)
    c = ir_size_bin(ctx, IR_SZ_MUL, c, dims[d]);
  return train_size_value(ctx, c, type);
}

/* Tensor t at the statement's indices first, first+1, ... */
static ir_expr *at(grad_builder *b, int t, int first)
{
  ir_func *g = grad_func_of(b);
  ir_expr *args[IR_PROBES_MAX * 4];
  int rank = g->tensors[t]->rank;
  if (rank > (int)(sizeof args / sizeof args[0]))
    return NULL;
  for (int d = 0; d < rank; d++)
    args[d] = grad_index(grad_ctx(b), first + d, noloc);
  return grad_access(grad_ctx(b), g, t, args, noloc);
}

static int scalar_output(grad_builder *b, ir_type type)
{
  return grad_add_tensor(b, grad_fresh_name(b, "", "loss", ""), type, IR_OUTPUT, 0, NULL);
}

/* loss +=! (Y(i...) - T(i...))^2 / numel. */
static bool add_mse(grad_builder *b, int y, int *loss_t, int *target_t)
{
  aotc_ctx *ctx = grad_ctx(b);
  const ir_tensor *x = grad_func_of(b)->tensors[y];
  *target_t = grad_add_tensor(b, grad_fresh_name(b, "", "target", ""), x->type, IR_INPUT, x->rank, x->shape);
  *loss_t = scalar_output(b, x->type);
  ir_stmt *s = *loss_t >= 0 && *target_t >= 0 ? grad_stmt_over(b, *loss_t, x->rank, x->shape, IR_RED_ADD, true) : NULL;
  if (!s)
    return false;
  ir_expr *diff = grad_bin(ctx, IR_SUB, at(b, y, 0), at(b, *target_t, 0));
  ir_expr *sq = grad_bin(ctx, IR_MUL, diff, grad_clone(ctx, diff, NULL, NULL));
  s->rhs = grad_bin(ctx, IR_DIV, sq, count(ctx, x->shape, x->rank, x->type));
  return s->rhs && grad_add_stmt(b, s);
}

/* A temporary of rank 1 (the batch) named name. */
static int per_row(grad_builder *b, const char *name, const ir_tensor *y)
{
  return grad_add_tensor(b, grad_fresh_name(b, "ce_", name, ""), y->type, IR_TEMP, 1, y->shape);
}

/* mx(b) max=! Y(b, c); se(b) +=! exp(Y(b, c) - mx(b)). */
static bool add_logsumexp_parts(grad_builder *b, int y, int mx, int se)
{
  aotc_ctx *ctx = grad_ctx(b);
  const ir_tensor *x = grad_func_of(b)->tensors[y];
  ir_stmt *s1 = grad_stmt_over(b, mx, 2, x->shape + 1, IR_RED_MAX, true);
  ir_stmt *s2 = grad_stmt_over(b, se, 2, x->shape + 1, IR_RED_ADD, true);
  if (!s1 || !s2)
    return false;
  s1->rhs = at(b, y, 0);
  s2->rhs = grad_call(ctx, IR_FN_EXP, x->type, grad_bin(ctx, IR_SUB, at(b, y, 0), at(b, mx, 0)), NULL);
  return s1->rhs && s2->rhs && grad_add_stmt(b, s1) && grad_add_stmt(b, s2);
}

/* loss +=! (log(se(b)) + mx(b) - Y(b, target(b))) / B. */
static bool add_cross_entropy(grad_builder *b, int y, int *loss_t, int *target_t)
{
  aotc_ctx *ctx = grad_ctx(b);
  const ir_tensor *x = grad_func_of(b)->tensors[y];
  if (x->rank != 2) {
    aotc_error(ctx, noloc, "--loss cross_entropy needs logits of rank 2 (batch, classes); '%s' has rank %d",
               x->name, x->rank);
    return false;
  }
  int mx = per_row(b, "max", x), se = per_row(b, "sumexp", x);
  *target_t = grad_add_tensor(b, grad_fresh_name(b, "", "target", ""), IR_I64, IR_INPUT, 1, x->shape);
  *loss_t = scalar_output(b, x->type);
  if (mx < 0 || se < 0 || *target_t < 0 || *loss_t < 0 || !add_logsumexp_parts(b, y, mx, se))
    return false;
  ir_stmt *s = grad_stmt_over(b, *loss_t, 1, x->shape, IR_RED_ADD, true);
  ir_expr *picked_args[2] = {grad_index(ctx, 0, noloc), at(b, *target_t, 0)};
  ir_expr *picked = s ? grad_access(ctx, grad_func_of(b), y, picked_args, noloc) : NULL;
  ir_expr *lse = grad_bin(ctx, IR_ADD, grad_call(ctx, IR_FN_LOG, x->type, at(b, se, 0), NULL), at(b, mx, 0));
  if (!picked)
    return false;
  s->rhs = grad_bin(ctx, IR_DIV, grad_bin(ctx, IR_SUB, lse, picked), count(ctx, x->shape, 1, x->type));
  return s->rhs && grad_add_stmt(b, s);
}

bool train_add_loss(grad_builder *b, train_loss loss, int y, int *loss_t, int *target_t)
{
  if (loss == TRAIN_LOSS_MSE)
    return add_mse(b, y, loss_t, target_t);
  return add_cross_entropy(b, y, loss_t, target_t);
}
