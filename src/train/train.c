/* train.c: a model function becomes NAME_forward, NAME_train_step and
 * NAME_init (train.h): the step is the gradient builder's forward part,
 * the loss, the backward part seeded with d loss = 1, and one optimizer
 * update per parameter; init copies the initializers into the parameters
 * and zeroes the optimizer state. */
#include "train.h"
#include "train_ddp.h"

#include <string.h>

static const ir_loc noloc;

static bool is_frozen(const train_options *opt, const char *name)
{
  for (int k = 0; k < opt->n_frozen; k++)
    if (!strcmp(opt->frozen[k], name))
      return true;
  return false;
}

/* Whether f's tensor t is trained: a floating-point parameter of rank >= 1
 * that is not frozen. */
static bool trained(const ir_func *f, int t, const train_options *opt)
{
  const ir_tensor *x = f->tensors[t];
  return x->role == IR_PARAMETER && ir_types[x->type].is_float && x->rank >= 1 && !is_frozen(opt, x->name) &&
         !train_is_buffer(opt, x->name);
}

/* Whether f's tensor t is a buffer: a running statistic updated by the
 * step, not by the optimizer. */
static bool buffer(const ir_func *f, int t, const train_options *opt)
{
  const ir_tensor *x = f->tensors[t];
  return x->role == IR_PARAMETER && train_is_buffer(opt, x->name);
}

/* Untrained parameters (rank 0: Clip bounds, ...; frozen) become constants
 * of f. */
static bool freeze_untrained(aotc_ctx *ctx, ir_func *f, const train_options *opt)
{
  int n = 0;
  for (int i = 0; i < f->n_inputs; i++) {
    ir_tensor *x = f->tensors[f->inputs[i]];
    if (x->role == IR_PARAMETER && !trained(f, f->inputs[i], opt) && !buffer(f, f->inputs[i], opt)) {
      if (!x->data) {
        aotc_error(ctx, x->loc, "train: parameter '%s' has no value", x->name);
        return false;
      }
      x->role = IR_CONSTANT;
      continue;
    }
    f->inputs[n++] = f->inputs[i];
  }
  f->n_inputs = n;
  return true;
}

typedef struct step {
  aotc_ctx *ctx;
  ir_func *f;
  grad_builder *b;
  const train_options *opt;
  int loss, target, hyper;
  int n_params, *params, *state; /* f's trained parameters; their state, per parameter */
  int n_buffers;                 /* f's running statistics */
  int n_kept, *kept;             /* both, in f's order: the step's first outputs */
  const ir_func *mode;           /* f's training-mode copy (bn_train.c) */
  train_bn_site *bns;
  train_ddp *ddp;                 /* --ddp: the update order and the sync calls */
} step;

static bool find_params(step *st)
{
  ir_func *f = st->f;
  st->params = IR_NEW_ARRAY(st->ctx, int, f->n_inputs);
  st->state = IR_NEW_ARRAY(st->ctx, int, 2 * f->n_inputs);
  st->kept = IR_NEW_ARRAY(st->ctx, int, f->n_inputs);
  for (int i = 0; st->params && st->kept && i < f->n_inputs; i++)
    if (trained(f, f->inputs[i], st->opt))
      st->params[st->n_params++] = st->kept[st->n_kept++] = f->inputs[i];
    else if (buffer(f, f->inputs[i], st->opt) && ++st->n_buffers)
      st->kept[st->n_kept++] = f->inputs[i];
  if (st->params && !st->n_params)
    aotc_error(st->ctx, f->loc, "train: '%s' has no trainable parameters (floating-point initializers)", f->name);
  return st->params && st->state && st->kept && st->n_params > 0;
}

static bool *active_params(step *st)
{
  bool *active = IR_NEW_ARRAY(st->ctx, bool, st->mode->n_tensors);
  for (int i = 0; active && i < st->n_params; i++)
    active[st->params[i]] = true;
  return active;
}

static bool add_updates(step *st)
{
  int per = train_state_per_param(st->opt->optimizer);
  for (int k = 0; k < st->opt->n_bns; k++)
    if (!train_add_running_update(st->b, st->opt, &st->bns[k]))
      return false;
  for (int k = 0; k < st->n_params; k++) {
    int i = st->ddp ? train_ddp_param(st->ddp, k) : k, p = st->params[i], dp = grad_adjoint(st->b, p);
    if (st->ddp)
      train_ddp_update_starts(st->ddp, k);
    grad_func_of(st->b)->tensors[p]->role = IR_OUTPUT;
    if (dp < 0 || !train_add_update(st->b, st->opt->optimizer, p, dp, st->hyper, st->state + per * i))
      return false;
  }
  return true;
}

/* (data inputs, target, hyper) -> (parameters and buffers in f's order,
 * state, loss). */
static bool step_signature(step *st, ir_func *g)
{
  int first = ir_func_first_parameter(st->f), per = train_state_per_param(st->opt->optimizer);
  g->inputs = IR_NEW_ARRAY(st->ctx, int, first + 2);
  g->outputs = IR_NEW_ARRAY(st->ctx, int, st->n_params * (per + 1) + st->n_buffers + 1);
  if (!g->inputs || !g->outputs)
    return false;
  memcpy(g->inputs, st->f->inputs, sizeof(int) * (size_t)first);
  g->inputs[first] = st->target;
  g->inputs[first + 1] = st->hyper;
  g->n_inputs = first + 2;
  g->n_outputs = 0;
  for (int i = 0; i < st->n_kept; i++)
    g->outputs[g->n_outputs++] = st->kept[i];
  for (int i = 0; i < st->n_params * per; i++)
    g->outputs[g->n_outputs++] = st->state[i];
  g->outputs[g->n_outputs++] = st->loss;
  return true;
}

static ir_func *build_step(step *st)
{
  const char *name = ir_sprintf(st->ctx, "%s_train_step", st->f->name);
  st->bns = IR_NEW_ARRAY(st->ctx, train_bn_site, st->opt->n_bns + 1);
  st->mode = st->bns ? train_mode_func(st->ctx, st->f, st->opt, st->bns, &st->hyper) : NULL;
  bool *active = st->mode ? active_params(st) : NULL;
  st->b = name && active ? grad_begin(st->ctx, st->mode, name, active) : NULL;
  if (!st->b)
    return NULL;
  int y = grad_final(st->b, st->f->outputs[0]);
  if (!train_add_loss(st->b, st->opt->loss, y, &st->loss, &st->target))
    return NULL;
  int minus_one = -1;
  if (!grad_backward(st->b, &st->loss, &minus_one, 1, false))
    return NULL;
  if (st->opt->ddp && !(st->ddp = train_ddp_begin(st->b, st->params, st->n_params)))
    return NULL;
  if (!add_updates(st))
    return NULL;
  ir_func *g = grad_finish(st->b);
  return g && step_signature(st, g) && (!st->ddp || train_ddp_finish(st->ddp, g)) ? g : NULL;
}

/* ------------------------------------------------------------------------
 * NAME_init: parameters from the initializers, state zeroed
 * ------------------------------------------------------------------------ */

static int add_copy(ir_func *h, const ir_tensor *x, const char *name, ir_role role)
{
  ir_tensor *c = h->tensors[h->n_tensors];
  *c = *x;
  c->name = name;
  c->role = role;
  if (role == IR_OUTPUT) {
    c->data = NULL;
    h->outputs[h->n_outputs++] = h->n_tensors;
  }
  return h->n_tensors++;
}

/* t(i...) = value: the constant's element, or 0 when src < 0. */
static bool init_stmt(aotc_ctx *ctx, ir_func *h, int t, int src)
{
  const ir_tensor *x = h->tensors[t];
  ir_stmt *s = IR_NEW(ctx, ir_stmt);
  ir_expr **args = IR_NEW_ARRAY(ctx, ir_expr *, x->rank);
  if (!s || !args || !(s->index = IR_NEW_ARRAY(ctx, ir_index, x->rank)) || !(s->lhs = IR_NEW_ARRAY(ctx, int, x->rank)))
    return false;
  s->tensor = t;
  s->n_index = s->n_lhs = x->rank;
  for (int d = 0; d < x->rank; d++) {
    s->index[d] = (ir_index){.name = ir_sprintf(ctx, "i%d", d), .lo = ir_size_const(ctx, 0), .hi = x->shape[d]};
    s->lhs[d] = d;
    args[d] = grad_index(ctx, d, noloc);
  }
  s->rhs = src >= 0 ? grad_access(ctx, h, src, args, noloc) : grad_fconst(ctx, x->type, 0, noloc);
  h->stmts[h->n_stmts++] = s;
  return s->rhs != NULL;
}

static bool init_param(step *st, ir_func *h, int p)
{
  const ir_tensor *x = st->f->tensors[p];
  if (!x->data) {
    aotc_error(st->ctx, x->loc, "train: parameter '%s' has no initial value", x->name);
    return false;
  }
  int out = add_copy(h, x, x->name, IR_OUTPUT);
  int init = add_copy(h, x, ir_sprintf(st->ctx, "%s_initial", x->name), IR_CONSTANT);
  return init_stmt(st->ctx, h, out, init);
}

static ir_func *build_init(step *st, const ir_func *g)
{
  int per = train_state_per_param(st->opt->optimizer), n = st->n_params * (per + 2) + 2 * st->n_buffers;
  ir_func *h = IR_NEW(st->ctx, ir_func);
  if (!h)
    return NULL;
  *h = (ir_func){.name = ir_sprintf(st->ctx, "%s_init", st->f->name), .loc = st->f->loc,
                 .n_params = st->f->n_params, .param_names = st->f->param_names};
  h->tensors = IR_NEW_ARRAY(st->ctx, ir_tensor *, n);
  h->outputs = IR_NEW_ARRAY(st->ctx, int, n);
  h->stmts = IR_NEW_ARRAY(st->ctx, ir_stmt *, n);
  for (int t = 0; h->tensors && t < n; t++)
    if (!(h->tensors[t] = IR_NEW(st->ctx, ir_tensor)))
      return NULL;
  if (!h->name || !h->tensors || !h->outputs || !h->stmts)
    return NULL;
  for (int i = 0; i < st->n_kept; i++)
    if (!init_param(st, h, st->kept[i]))
      return NULL;
  for (int i = 0; i < st->n_params * per; i++) {
    const ir_tensor *x = g->tensors[st->state[i]];
    if (!init_stmt(st->ctx, h, add_copy(h, x, x->name, IR_OUTPUT), -1))
      return NULL;
  }
  return h;
}

bool train_build(aotc_ctx *ctx, ir_func *f, const train_options *opt, ir_func **out)
{
  step st = {.ctx = ctx, .f = f, .opt = opt};
  if (!f->n_outputs || !freeze_untrained(ctx, f, opt) || !find_params(&st))
    return false;
  ir_func *g = build_step(&st);
  ir_func *h = g ? build_init(&st, g) : NULL;
  if (!h)
    return false;
  out[1] = g;
  out[2] = h;
  out[0] = f;
  f->name = ir_sprintf(ctx, "%s_forward", f->name);
  return f->name != NULL;
}
