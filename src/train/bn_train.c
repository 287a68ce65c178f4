/* bn_train.c: the training-mode copy of a model function for the training
 * step (train.h). A batch normalisation lowers (src/graph/ops_nn.c) to
 *
 *   y(n, c, ...) = (x(n, c, ...) - mean(c)) / sqrt(var(c) + eps) * scale(c) + bias(c)
 *
 * over its running statistics. In training mode (PyTorch's model.train())
 * it normalises by the batch's statistics instead,
 *
 *   bm(c) +=! x(n, c, ...) / count            count: the elements per channel
 *   bv(c) +=! (x(n, c, ...) - bm(c))^2 / count (biased, as PyTorch normalises)
 *   y(n, c, ...) = (x - bm(c)) / sqrt(bv(c) + eps) * scale(c) + bias(c)
 *
 * statements the backward pass differentiates like any other, so the
 * gradient flows through the batch statistics. After the backward pass the
 * running statistics, in-out buffers of the step, are updated with
 * PyTorch's momentum m (0.1 by default; ONNX's momentum attribute is 1 - m):
 *
 *   mean = (1 - m) mean + m bm;   var = (1 - m) var + m bv count / (count - 1)
 *
 * The dropouts of the step are rewritten here too (dropout.c). */
#include "train.h"

#define TRAIN_MAX_RANK 16

#include <string.h>

static const ir_loc noloc;

int train_new_tensor(aotc_ctx *ctx, ir_func *f, const char *name, ir_type type, int rank, ir_size *const *shape)
{
  ir_tensor *x = IR_NEW(ctx, ir_tensor);
  ir_size **sh = IR_NEW_ARRAY(ctx, ir_size *, rank ? rank : 1);
  while (x && sh && name && ir_func_find_tensor(f, name) >= 0)
    name = ir_sprintf(ctx, "%s_", name);
  if (!x || !sh || !name)
    return -1;
  memcpy(sh, shape, sizeof(ir_size *) * (size_t)rank);
  *x = (ir_tensor){.name = name, .type = type, .role = IR_TEMP, .rank = rank, .shape = sh, .loc = noloc};
  f->tensors[f->n_tensors] = x;
  return f->n_tensors++;
}

void train_push_stmt(ir_func *f, ir_stmt *s, int origin)
{
  if (f->stmt_origin)
    f->stmt_origin[f->n_stmts] = origin;
  f->stmts[f->n_stmts++] = s;
}

bool train_is_buffer(const train_options *opt, const char *name)
{
  for (int k = 0; k < opt->n_bns; k++)
    if (!strcmp(opt->bns[k].mean, name) || !strcmp(opt->bns[k].var, name))
      return true;
  return false;
}

/* ------------------------------------------------------------------------
 * The batch statistics
 * ------------------------------------------------------------------------ */

/* The read of the normalised input in e: the access of rank rank that is
 * not a running statistic. */
static const ir_expr *input_read(const ir_expr *e, int rank, int mean, int var)
{
  if (!e)
    return NULL;
  if (e->kind == IR_ACCESS && e->n_args == rank && e->tensor != mean && e->tensor != var)
    return e;
  for (int k = 0; k < e->n_args; k++) {
    const ir_expr *r = input_read(e->args[k], rank, mean, var);
    if (r)
      return r;
  }
  return NULL;
}

/* s's statement over its indices with the channel (index 1) first and the
 * others reduced: t(c) +=! ... */
static ir_stmt *channel_reduction(aotc_ctx *ctx, const ir_stmt *s, int t)
{
  ir_stmt *r = IR_NEW(ctx, ir_stmt);
  if (!r || !(r->index = IR_NEW_ARRAY(ctx, ir_index, s->n_index)) || !(r->lhs = IR_NEW_ARRAY(ctx, int, 1)))
    return NULL;
  r->loc = s->loc;
  r->tensor = t;
  r->n_index = s->n_index;
  r->n_lhs = 1;
  r->red = IR_RED_ADD;
  r->init = true;
  r->index[0] = s->index[1];
  r->index[1] = s->index[0];
  for (int d = 2; d < s->n_index; d++)
    r->index[d] = s->index[d];
  for (int d = 1; d < s->n_index; d++)
    r->index[d].reduction = true;
  r->index[0].reduction = false;
  return r;
}

/* The elements per channel of s's box, as a value of type type. */
static ir_expr *per_channel(aotc_ctx *ctx, const ir_stmt *s, ir_type type)
{
  ir_size *c = ir_size_const(ctx, 1);
  for (int d = 0; d < s->n_index; d++)
    if (d != 1)
      c = ir_size_bin(ctx, IR_SZ_MUL, c, ir_size_bin(ctx, IR_SZ_SUB, s->index[d].hi, s->index[d].lo));
  return train_size_value(ctx, c, type);
}

static ir_expr *channel_read(aotc_ctx *ctx, const ir_func *f, int t)
{
  ir_expr *c = grad_index(ctx, 0, noloc);
  return grad_access(ctx, f, t, &c, noloc);
}

typedef struct bn_site {
  const ir_stmt *s;
  int mean, var, bm, bv;
  const ir_expr *x;
} bn_site;

/* bm(c) +=! x / count; bv(c) +=! (x - bm(c))^2 / count. */
static bool push_stats(aotc_ctx *ctx, ir_func *f, const bn_site *b, int origin)
{
  int imap[TRAIN_MAX_RANK + 2];
  ir_type type = f->tensors[b->bm]->type;
  if (b->s->n_index > TRAIN_MAX_RANK)
    return false;
  for (int d = 0; d < b->s->n_index; d++)
    imap[d] = d == 0 ? 1 : d == 1 ? 0 : d;
  ir_stmt *m = channel_reduction(ctx, b->s, b->bm), *v = channel_reduction(ctx, b->s, b->bv);
  if (!m || !v)
    return false;
  m->rhs = grad_bin(ctx, IR_DIV, grad_clone(ctx, b->x, NULL, imap), per_channel(ctx, b->s, type));
  ir_expr *dev = grad_bin(ctx, IR_SUB, grad_clone(ctx, b->x, NULL, imap), channel_read(ctx, f, b->bm));
  v->rhs = grad_bin(ctx, IR_DIV, grad_bin(ctx, IR_MUL, dev, grad_clone(ctx, dev, NULL, NULL)),
                    per_channel(ctx, b->s, type));
  if (!m->rhs || !v->rhs)
    return false;
  train_push_stmt(f, m, origin);
  train_push_stmt(f, v, origin);
  return true;
}

/* The normalisation itself, reading bm and bv for the running statistics. */
static bool push_normalise(aotc_ctx *ctx, ir_func *f, const bn_site *b, int origin)
{
  int *tmap = IR_NEW_ARRAY(ctx, int, f->n_tensors);
  ir_stmt *s = IR_NEW(ctx, ir_stmt);
  if (!tmap || !s)
    return false;
  for (int t = 0; t < f->n_tensors; t++)
    tmap[t] = t == b->mean ? b->bm : t == b->var ? b->bv : t;
  *s = *b->s;
  if (!(s->rhs = grad_clone(ctx, b->s->rhs, tmap, NULL)))
    return false;
  train_push_stmt(f, s, origin);
  return true;
}

static bool bad_site(aotc_ctx *ctx, const ir_func *f, int mean)
{
  aotc_error(ctx, noloc, "train: the batch normalisation over '%s' is not in the expected form",
             f->tensors[mean]->name);
  return false;
}

/* Finds the statement of f normalising by running statistics mean, var. */
static bool find_site(aotc_ctx *ctx, const ir_func *f, bn_site *b)
{
  for (int k = 0; k < f->n_stmts && !b->s; k++)
    if (f->stmts[k]->rhs && ir_expr_reads(f->stmts[k]->rhs, b->mean))
      b->s = f->stmts[k];
  const ir_stmt *s = b->s;
  if (!s || !ir_stmt_is_plain(s) || s->n_index < 2 || s->n_lhs != s->n_index || s->red != IR_RED_NONE)
    return bad_site(ctx, f, b->mean);
  for (int d = 0; d < s->n_lhs; d++)
    if (s->lhs[d] != d)
      return bad_site(ctx, f, b->mean);
  b->x = input_read(s->rhs, s->n_index, b->mean, b->var);
  return b->x ? true : bad_site(ctx, f, b->mean);
}

/* The site of bn in f, its batch statistics new tensors of the copy c. */
static bool new_site(aotc_ctx *ctx, const ir_func *f, ir_func *c, const train_batchnorm *bn, bn_site *b)
{
  *b = (bn_site){.mean = ir_func_find_tensor(f, bn->mean), .var = ir_func_find_tensor(f, bn->var)};
  if (b->mean < 0 || b->var < 0) {
    aotc_error(ctx, noloc, "train: no running statistics '%s', '%s'", bn->mean, bn->var);
    return false;
  }
  if (!find_site(ctx, f, b))
    return false;
  const ir_tensor *y = f->tensors[b->s->tensor];
  b->bm = train_new_tensor(ctx, c, ir_sprintf(ctx, "%s_batch", bn->mean), y->type, 1, &y->shape[1]);
  b->bv = train_new_tensor(ctx, c, ir_sprintf(ctx, "%s_batch", bn->var), y->type, 1, &y->shape[1]);
  return b->bm >= 0 && b->bv >= 0;
}

/* ------------------------------------------------------------------------
 * The copy
 * ------------------------------------------------------------------------ */

/* A copy of f with room for extra tensors and statements, no statements. */
static ir_func *roomy_copy(aotc_ctx *ctx, const ir_func *f, int extra)
{
  ir_func *c = IR_NEW(ctx, ir_func);
  if (!c)
    return NULL;
  *c = *f;
  c->tensors = IR_NEW_ARRAY(ctx, ir_tensor *, f->n_tensors + extra);
  c->stmts = IR_NEW_ARRAY(ctx, ir_stmt *, f->n_stmts + extra);
  c->stmt_origin = f->stmt_origin ? IR_NEW_ARRAY(ctx, int, f->n_stmts + extra) : NULL;
  if (!c->tensors || !c->stmts || (f->stmt_origin && !c->stmt_origin))
    return NULL;
  memcpy(c->tensors, f->tensors, sizeof(ir_tensor *) * (size_t)f->n_tensors);
  c->n_stmts = 0;
  c->body = NULL;
  return c;
}

static int dropout_of(const ir_func *f, const train_options *opt, const ir_stmt *s)
{
  for (int k = 0; k < opt->n_drops; k++)
    if (!strcmp(f->tensors[s->tensor]->name, opt->drops[k].output))
      return k;
  return -1;
}

static int bn_of(const bn_site *sites, int n, const ir_stmt *s)
{
  for (int k = 0; k < n; k++)
    if (sites[k].s == s)
      return k;
  return -1;
}

static bool copy_stmt(aotc_ctx *ctx, ir_func *c, const train_options *opt, const bn_site *sites,
                      const ir_stmt *s, int origin, int hyper)
{
  int bn = bn_of(sites, opt->n_bns, s), drop = dropout_of(c, opt, s);
  if (bn >= 0)
    return push_stats(ctx, c, &sites[bn], origin) && push_normalise(ctx, c, &sites[bn], origin);
  if (drop >= 0)
    return train_dropout_rewrite(ctx, c, s, origin, opt->drops[drop].ratio, drop, hyper);
  train_push_stmt(c, (ir_stmt *)s, origin);
  return true;
}

static bool find_sites(aotc_ctx *ctx, const ir_func *f, ir_func *c, const train_options *opt, bn_site *sites,
                       train_bn_site *out)
{
  for (int k = 0; k < opt->n_bns; k++) {
    if (!new_site(ctx, f, c, &opt->bns[k], &sites[k]))
      return false;
    out[k] = (train_bn_site){.mean = sites[k].mean, .var = sites[k].var, .bm = sites[k].bm, .bv = sites[k].bv,
                             .count = per_channel(ctx, sites[k].s, c->tensors[sites[k].bm]->type)};
    if (!out[k].count)
      return false;
  }
  return true;
}

ir_func *train_mode_func(aotc_ctx *ctx, const ir_func *f, const train_options *opt, train_bn_site *out,
                         int *hyper)
{
  int extra = 2 * opt->n_bns + 4 * opt->n_drops + 1;
  ir_func *c = roomy_copy(ctx, f, extra);
  bn_site *sites = IR_NEW_ARRAY(ctx, bn_site, opt->n_bns + 1);
  ir_size *count = ir_size_const(ctx, TRAIN_HYPER_COUNT);
  if (!c || !sites || (*hyper = train_new_tensor(ctx, c, "hyper", IR_F32, 1, &count)) < 0)
    return NULL;
  c->tensors[*hyper]->role = IR_INPUT;
  if (!find_sites(ctx, f, c, opt, sites, out))
    return NULL;
  for (int k = 0; k < f->n_stmts; k++)
    if (!copy_stmt(ctx, c, opt, sites, f->stmts[k], f->stmt_origin ? f->stmt_origin[k] : 0, *hyper))
      return NULL;
  return c;
}

/* ------------------------------------------------------------------------
 * The running statistics' update
 * ------------------------------------------------------------------------ */

/* running(c) = (1 - m) running(c) + m factor batch(c). */
static bool running_update(grad_builder *b, double m, int running, int batch, ir_expr *factor)
{
  aotc_ctx *ctx = grad_ctx(b);
  ir_func *g = grad_func_of(b);
  ir_type type = g->tensors[running]->type;
  g->tensors[running]->role = IR_OUTPUT;
  ir_stmt *st = grad_stmt_over(b, running, 1, NULL, IR_RED_NONE, false);
  if (!st)
    return false;
  ir_expr *fresh = grad_bin(ctx, IR_MUL, grad_fconst(ctx, type, m, noloc), channel_read(ctx, g, batch));
  if (factor)
    fresh = grad_bin(ctx, IR_MUL, fresh, factor);
  ir_expr *old = grad_bin(ctx, IR_MUL, grad_fconst(ctx, type, 1 - m, noloc), channel_read(ctx, g, running));
  st->rhs = grad_bin(ctx, IR_ADD, old, fresh);
  return st->rhs && grad_add_stmt(b, st);
}

bool train_add_running_update(grad_builder *b, const train_options *opt, const train_bn_site *site)
{
  aotc_ctx *ctx = grad_ctx(b);
  ir_type type = grad_func_of(b)->tensors[site->var]->type;
  ir_expr *n = grad_clone(ctx, site->count, NULL, NULL);
  ir_expr *unbiased = grad_bin(ctx, IR_DIV, n, grad_bin(ctx, IR_SUB, grad_clone(ctx, n, NULL, NULL),
                                                       grad_fconst(ctx, type, 1, noloc)));
  return unbiased && running_update(b, opt->bn_momentum, site->mean, grad_final(b, site->bm), NULL) &&
         running_update(b, opt->bn_momentum, site->var, grad_final(b, site->bv), unbiased);
}
