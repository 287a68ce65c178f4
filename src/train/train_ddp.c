/* train_ddp.c: the gradient-synchronisation calls of a data-parallel
 * training step (train_ddp.h, docs/ddp.md): the order in which the
 * parameters' gradients become final, and an ir_sync before the first
 * statement after each gradient's last write (ready) and before each
 * parameter's update (wait). */
#include "train_ddp.h"

#include <stdlib.h>

typedef struct slot {
  int param;      /* an index into the caller's params */
  int tensor;     /* the parameter's tensor (g's numbering) */
  int grad;       /* its adjoint */
  int last_write; /* the last statement writing the adjoint */
  int update;     /* the first statement of the parameter's update */
} slot;

struct train_ddp {
  grad_builder *b;
  int n;
  slot *slots; /* in the order the gradients become final */
};

static int last_writer(const ir_func *g, int t)
{
  for (int i = g->n_stmts - 1; i >= 0; i--)
    if (g->stmts[i]->tensor == t)
      return i;
  return -1;
}

static bool constant_float(const ir_tensor *x)
{
  int64_t d;
  for (int j = 0; j < x->rank; j++)
    if (!x->shape[j] || !ir_size_is_const(x->shape[j], &d))
      return false;
  return x->type == IR_F32;
}

/* Parameter i (tensor p) and its adjoint; false (reported) when the
 * adjoint cannot be synchronised. */
static bool add_slot(train_ddp *d, const ir_func *g, int i, int p)
{
  int dp = grad_adjoint(d->b, p);
  if (dp < 0 || !constant_float(g->tensors[dp])) {
    aotc_error(grad_ctx(d->b), g->tensors[p]->loc,
               "train --ddp: parameter '%s' must be float32 with a constant shape", g->tensors[p]->name);
    return false;
  }
  d->slots[i] = (slot){.param = i, .tensor = p, .grad = dp, .last_write = last_writer(g, dp)};
  return true;
}

static int by_last_write(const void *a, const void *b)
{
  const slot *x = a, *y = b;
  return x->last_write != y->last_write ? (x->last_write < y->last_write ? -1 : 1) : x->param - y->param;
}

train_ddp *train_ddp_begin(grad_builder *b, const int *params, int n)
{
  aotc_ctx *ctx = grad_ctx(b);
  train_ddp *d = IR_NEW(ctx, train_ddp);
  if (!d || !(d->slots = IR_NEW_ARRAY(ctx, slot, n)))
    return NULL;
  d->b = b;
  d->n = n;
  for (int i = 0; i < n; i++)
    if (!add_slot(d, grad_func_of(b), i, params[i]))
      return NULL;
  qsort(d->slots, (size_t)n, sizeof *d->slots, by_last_write);
  return d;
}

int train_ddp_param(const train_ddp *d, int k)
{
  return d->slots[k].param;
}

void train_ddp_update_starts(train_ddp *d, int k)
{
  d->slots[k].update = grad_func_of(d->b)->n_stmts;
}

/* By statement; at one statement the ready calls first, then by slot. */
static int by_place(const void *a, const void *b)
{
  const ir_sync *x = a, *y = b;
  if (x->before != y->before)
    return x->before < y->before ? -1 : 1;
  if (x->wait != y->wait)
    return x->wait ? 1 : -1;
  return x->slot - y->slot;
}

bool train_ddp_finish(train_ddp *d, ir_func *g)
{
  ir_sync *s = IR_NEW_ARRAY(grad_ctx(d->b), ir_sync, 2 * d->n);
  if (!s)
    return false;
  for (int k = 0; k < d->n; k++) {
    const slot *x = &d->slots[k];
    s[2 * k] = (ir_sync){.before = x->last_write + 1, .slot = k, .tensor = x->grad, .param = x->tensor};
    s[2 * k + 1] = (ir_sync){.before = x->update, .wait = true, .slot = k, .tensor = x->grad, .param = x->tensor};
  }
  qsort(s, (size_t)(2 * d->n), sizeof *s, by_place);
  g->syncs = s;
  g->n_syncs = 2 * d->n;
  return true;
}
