/* train_ddp.h: the gradient-synchronisation calls of a data-parallel
 * training step (aotc train --ddp, docs/ddp.md). After the backward pass
 * the parameters are ordered by when their gradients become final (the
 * last statement writing each adjoint: reverse layer order); the updates
 * are appended in that order, and the step gets, as ir_sync entries,
 *
 *   aotc_ddp_grad_ready(slot, d_p, n)   right after d_p's last write
 *   aotc_ddp_grad_wait(slot, d_p, n)    right before p's update
 *
 * so that a runtime (runtime/aotc_ddp.c) can start reducing a bucket of
 * gradients while the backward pass goes on, and each update waits only
 * for its own bucket. */
#ifndef AOTC_TRAIN_DDP_H
#define AOTC_TRAIN_DDP_H

#include "grad.h"

typedef struct train_ddp train_ddp;

/* After grad_backward: params[0..n-1] (b's numbering) in the order their
 * gradients become final. NULL on error (reported: a gradient that is not
 * float32 or has no constant shape). */
train_ddp *train_ddp_begin(grad_builder *b, const int *params, int n);
/* The parameter (an index into params) whose update comes k-th. */
int train_ddp_param(const train_ddp *d, int k);
/* Marks where the k-th update starts: call before appending it. */
void train_ddp_update_starts(train_ddp *d, int k);
/* The step's sync calls (g->syncs), after grad_finish. */
bool train_ddp_finish(train_ddp *d, ir_func *g);

#endif
