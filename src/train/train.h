/* train.h: a training step as IR (src/train): a model function f (weights
 * as IR_PARAMETER tensors) becomes
 *
 *   NAME_forward  f itself: inference on the same parameters
 *   NAME_train_step(<data inputs>, target, hyper,
 *                   <parameters, in-out>, <optimizer state, in-out>, loss)
 *   NAME_init(<parameters, out>, <optimizer state, out>)
 *
 * (each with f's size parameters first and a workspace last, as every
 * entry). The step runs the forward pass, the loss (loss.c), the backward
 * pass (src/ir/grad.c) and the optimizer (optim.c), updating the
 * parameters and the state in place and writing the mean loss of the batch.
 * NAME_init writes the model's initial values (its initializers) and zeroes
 * the state. The parameters are f's floating-point IR_PARAMETER tensors of
 * rank >= 1 in order; rank-0 ones (Clip bounds and the like) and the
 * frozen ones (train_options) become constants. See docs/training.md for the exact signatures. */
#ifndef AOTC_TRAIN_H
#define AOTC_TRAIN_H

#include "grad.h"

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
  TRAIN_HYPER_STEP,         /* Adam: the step number, 1 for the first (bias correction) */
  TRAIN_HYPER_COUNT
};

typedef struct train_options {
  train_loss loss;
  train_optimizer optimizer;
  const char *const *frozen; /* parameters that stay constants (batch norm's */
  int n_frozen;              /* running statistics): their tensor names */
  bool ddp;                  /* data-parallel: gradient-synchronisation calls (train_ddp.h) */
} train_options;

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

#endif
