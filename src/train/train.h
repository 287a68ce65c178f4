/* train.h: a training step as IR (src/train): a model function f (weights
 * as IR_PARAMETER tensors) becomes
 *
 *   NAME_forward  f itself: inference on the same parameters
 *   NAME_train_step(<data inputs>, target, hyper,
 *                   <parameters and buffers, in-out>, <optimizer state, in-out>, loss)
 *   NAME_init(<parameters and buffers, out>, <optimizer state, out>)
 *
 * (each with f's size parameters first and a workspace last, as every
 * entry). The step runs the forward pass, the loss (loss.c), the backward
 * pass (src/ir/grad.c) and the optimizer (optim.c), updating the
 * parameters and the state in place and writing the mean loss of the batch;
 * batch normalisations use batch statistics and update their running
 * statistics, the buffers (bn_train.c), and dropouts drop (dropout.c).
 * NAME_init writes the model's initial values (its initializers) and zeroes
 * the state. The parameters are f's floating-point IR_PARAMETER tensors of
 * rank >= 1 in order; rank-0 ones (Clip bounds and the like) and the
 * frozen ones (train_options) become constants. See docs/training.md for the exact signatures. */
#ifndef AOTC_TRAIN_H
#define AOTC_TRAIN_H

#include "grad.h"

#include <stdint.h>
#include <stdio.h>

typedef enum {
  TRAIN_LOSS_CROSS_ENTROPY, /* logits (B, C), target int64 class indices (B): mean of -log softmax */
  TRAIN_LOSS_MSE,           /* prediction and target of one shape: mean of the squared difference */
} train_loss;

typedef enum {
  TRAIN_SGD,   /* momentum, weight decay (L2 into the gradient) */
  TRAIN_ADAM,  /* L2 weight decay into the gradient */
  TRAIN_ADAMW, /* decoupled weight decay */
} train_optimizer;

/* hyper[]: the step's float hyper-parameters, in this order. */
enum {
  TRAIN_HYPER_LR,           /* learning rate */
  TRAIN_HYPER_BETA1,        /* SGD: momentum (0: none); Adam: beta1 */
  TRAIN_HYPER_BETA2,        /* Adam: beta2 */
  TRAIN_HYPER_EPS,          /* Adam: eps */
  TRAIN_HYPER_WEIGHT_DECAY, /* weight decay */
  TRAIN_HYPER_STEP,         /* the step number, 1 for the first (Adam's bias correction, dropout) */
  TRAIN_HYPER_SEED,         /* dropout: the seed, a whole number below 2^24 (dropout.c) */
  TRAIN_HYPER_COUNT
};

/* A batch normalisation trained in training mode (bn_train.c): the C names
 * of its running mean and variance (the model's inputs 3 and 4). */
typedef struct train_batchnorm {
  const char *mean, *var;
} train_batchnorm;

/* A dropout (dropout.c): the C name of its output and its ratio. */
typedef struct train_dropout {
  const char *output;
  double ratio;
} train_dropout;

typedef struct train_options {
  train_loss loss;
  train_optimizer optimizer;
  const char *const *frozen; /* parameters that stay constants (batch norm's */
  int n_frozen;              /* running statistics in eval mode): their tensor names */
  const train_batchnorm *bns; /* batch normalisations in training mode; their */
  int n_bns;                  /* running statistics are buffers */
  double bn_momentum;         /* PyTorch's convention: new = (1 - m) old + m batch */
  const train_dropout *drops;
  int n_drops;
  bool ddp;                  /* data-parallel: gradient-synchronisation calls (train_ddp.h) */
} train_options;

/* bn_train.c: a batch normalisation of the step's training-mode copy:
 * its running statistics (buffers) and batch statistics (temporaries of the
 * copy), and the elements per channel (a float expression). */
typedef struct train_bn_site {
  int mean, var, bm, bv;
  ir_expr *count;
} train_bn_site;

/* f's training-mode copy for the step: every batch normalisation of opt
 * normalises by its batch statistics (sites[k] for opt->bns[k]) and every
 * dropout drops (dropout.c); *hyper is a new input tensor of the copy, the
 * step's hyper-parameters. NULL on error (reported). */
ir_func *train_mode_func(aotc_ctx *ctx, const ir_func *f, const train_options *opt, train_bn_site *sites,
                         int *hyper);
/* After the backward pass: running = (1 - m) running + m batch, the
 * variance unbiased (n / (n - 1)). */
bool train_add_running_update(grad_builder *b, const train_options *opt, const train_bn_site *site);
/* Whether tensor name is a running statistic of opt's batch normalisations. */
bool train_is_buffer(const train_options *opt, const char *name);
/* A new temporary of f (f->tensors has room), its name made unique. */
int train_new_tensor(aotc_ctx *ctx, ir_func *f, const char *name, ir_type type, int rank, ir_size *const *shape);
/* Appends s to f's statements (f->stmts has room) with its operator origin. */
void train_push_stmt(ir_func *f, ir_stmt *s, int origin);

/* dropout.c: statement s of f (y(i...) = x(i...), the identity a dropout
 * lowers to) becomes y = x * mask / (1 - ratio), the mask drawn per element
 * from the seed, the step and the element's index (in hyper, a tensor of
 * c), appended to c with the generator's temporaries and statements (4
 * statements, 3 tensors); layer numbers the dropouts (below 64). */
bool train_dropout_rewrite(aotc_ctx *ctx, ir_func *c, const ir_stmt *s, int origin, double ratio, int layer,
                           int hyper);
/* The generator on the host: 32 random bits of (seed, counter). */
uint32_t train_random_bits(uint64_t seed, uint64_t counter);

/* init.c: --init kaiming|xavier: new initial values (x->data) for f's
 * parameters of rank >= 2 (weights; fans from the shape as PyTorch's
 * _calculate_fan_in_and_fan_out) and for the biases of layers[] (pairs
 * weight name, bias name). Returns false on OOM. */
typedef enum { TRAIN_INIT_MODEL, TRAIN_INIT_KAIMING, TRAIN_INIT_XAVIER } train_init;
bool train_init_values(aotc_ctx *ctx, ir_func *f, train_init kind, uint64_t seed, const char *const *layers,
                       int n_layers);

/* blob.c: NAME_params_save / NAME_params_load (docs/training.md) for the
 * tensors init writes (its outputs, in order), printed into c and h. */
bool train_emit_blob(aotc_ctx *ctx, const ir_func *init, const char *name, FILE *c, FILE *h);

/* The three functions, in the order above, in out[3]. False on error
 * (reported: a model without parameters, a loss the output's shape does not
 * fit, a parameter without an initial value). */
bool train_build(aotc_ctx *ctx, ir_func *f, const train_options *opt, ir_func **out);

/* The number of state tensors per parameter of an optimizer. */
int train_state_per_param(train_optimizer opt);

/* loss.c: appends the loss of prediction y (g's numbering) to b: a new
 * input "target" and a rank-0 output "loss"; *loss_t is the loss tensor,
 * *target_t the target. */
bool train_add_loss(grad_builder *b, train_loss loss, int y, int *loss_t, int *target_t);
/* optim.c: appends the update of parameter p from its adjoint dp (g's
 * numbering), reading hyper; its state tensors (new outputs) in state[]. */
bool train_add_update(grad_builder *b, train_optimizer opt, int p, int dp, int hyper, int *state);

/* The size n as a value of type (loss.c; batch norm's counts use it too). */
ir_expr *train_size_value(aotc_ctx *ctx, ir_size *n, ir_type type);

#endif
