/* optim.c: the optimizers of a training step as statements after the
 * backward pass (train.h), with PyTorch's update rules (torch.optim, 1.13):
 *
 *   SGD:   g = dp + wd p;  buf = momentum buf + g;  p -= lr buf
 *          (buf starts at 0, so the first step has buf = g as PyTorch's)
 *   Adam:  g = dp + wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *          p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *   AdamW: as Adam with g = dp, and p first scaled by 1 - lr wd.
 *
 * The hyper-parameters are read from the step's hyper input (train.h). */
#include "train.h"

static const ir_loc noloc;

typedef struct upd {
  grad_builder *b;
  aotc_ctx *ctx;
  ir_type type;
  int p, dp, hyper;
} upd;

int train_state_per_param(train_optimizer opt)
{
  return opt == TRAIN_SGD ? 1 : 2;
}

static ir_expr *hyper(const upd *u, int k)
{
  ir_expr *i = ir_expr_new(u->ctx, IR_CONST_INT, IR_I64, noloc, 0);
  if (!i)
    return NULL;
  i->ival = k;
  return grad_access(u->ctx, grad_func_of(u->b), u->hyper, &i, noloc);
}

/* Tensor t at the update's indices. */
static ir_expr *at(const upd *u, int t)
{
  ir_func *g = grad_func_of(u->b);
  ir_expr *args[64];
  int rank = g->tensors[t]->rank;
  if (rank > 64)
    return NULL;
  for (int d = 0; d < rank; d++)
    args[d] = grad_index(u->ctx, d, noloc);
  return grad_access(u->ctx, g, t, args, noloc);
}

static ir_expr *K(const upd *u, double v)
{
  return grad_fconst(u->ctx, u->type, v, noloc);
}

#define MUL(a, b) grad_bin(u->ctx, IR_MUL, (a), (b))
#define ADD(a, b) grad_bin(u->ctx, IR_ADD, (a), (b))
#define SUB(a, b) grad_bin(u->ctx, IR_SUB, (a), (b))
#define DIV(a, b) grad_bin(u->ctx, IR_DIV, (a), (b))

/* t(i...) = rhs over t's shape. */
static bool assign(const upd *u, int t, ir_expr *rhs)
{
  ir_func *g = grad_func_of(u->b);
  ir_stmt *s = rhs ? grad_stmt_over(u->b, t, g->tensors[t]->rank, NULL, IR_RED_NONE, false) : NULL;
  if (!s)
    return false;
  s->rhs = rhs;
  return grad_add_stmt(u->b, s);
}

static int state(const upd *u, const char *suffix)
{
  const ir_tensor *x = grad_func_of(u->b)->tensors[u->p];
  return grad_add_tensor(u->b, grad_fresh_name(u->b, "", x->name, suffix), x->type, IR_OUTPUT, x->rank, x->shape);
}

/* dp + wd * p (L2 weight decay into the gradient). */
static ir_expr *decayed_grad(const upd *u)
{
  return ADD(at(u, u->dp), MUL(hyper(u, TRAIN_HYPER_WEIGHT_DECAY), at(u, u->p)));
}

static bool sgd(const upd *u, int *st)
{
  int buf = st[0] = state(u, "_momentum");
  return buf >= 0 && assign(u, buf, ADD(MUL(hyper(u, TRAIN_HYPER_BETA1), at(u, buf)), decayed_grad(u))) &&
         assign(u, u->p, SUB(at(u, u->p), MUL(hyper(u, TRAIN_HYPER_LR), at(u, buf))));
}

/* 1 - beta^t */
static ir_expr *correction(const upd *u, int beta)
{
  return SUB(K(u, 1), grad_call(u->ctx, IR_FN_POW, u->type, hyper(u, beta), hyper(u, TRAIN_HYPER_STEP)));
}

static ir_expr *adam_step(const upd *u, int m, int v)
{
  ir_expr *step = DIV(hyper(u, TRAIN_HYPER_LR), correction(u, TRAIN_HYPER_BETA1));
  ir_expr *vhat = DIV(grad_call(u->ctx, IR_FN_SQRT, u->type, at(u, v), NULL),
                      grad_call(u->ctx, IR_FN_SQRT, u->type, correction(u, TRAIN_HYPER_BETA2), NULL));
  return MUL(step, DIV(at(u, m), ADD(vhat, hyper(u, TRAIN_HYPER_EPS))));
}

static bool adam(const upd *u, int *st, bool decoupled)
{
  int m = st[0] = state(u, "_exp_avg"), v = st[1] = state(u, "_exp_avg_sq");
  ir_expr *g1 = decoupled ? at(u, u->dp) : decayed_grad(u);
  ir_expr *g2 = grad_clone(u->ctx, g1, NULL, NULL);
  ir_expr *b1 = hyper(u, TRAIN_HYPER_BETA1), *b2 = hyper(u, TRAIN_HYPER_BETA2);
  if (m < 0 || v < 0 ||
      !assign(u, m, ADD(MUL(b1, at(u, m)), MUL(SUB(K(u, 1), hyper(u, TRAIN_HYPER_BETA1)), g1))) ||
      !assign(u, v, ADD(MUL(b2, at(u, v)), MUL(SUB(K(u, 1), hyper(u, TRAIN_HYPER_BETA2)), MUL(g2, grad_clone(u->ctx, g2, NULL, NULL))))))
    return false;
  ir_expr *p = at(u, u->p);
  if (decoupled)
    p = MUL(p, SUB(K(u, 1), MUL(hyper(u, TRAIN_HYPER_LR), hyper(u, TRAIN_HYPER_WEIGHT_DECAY))));
  return assign(u, u->p, SUB(p, adam_step(u, m, v)));
}

bool train_add_update(grad_builder *b, train_optimizer opt, int p, int dp, int hyper_t, int *st)
{
  upd u = {b, grad_ctx(b), grad_func_of(b)->tensors[p]->type, p, dp, hyper_t};
  if (opt == TRAIN_SGD)
    return sgd(&u, st);
  return adam(&u, st, opt == TRAIN_ADAMW);
}
