/* emit_ddp.h: the gradient-synchronisation calls of a data-parallel
 * training step (ir_sync, aotc train --ddp, docs/ddp.md) in the emitted C:
 * the hook calls between kernels, their prototypes and the table of
 * gradients. The emitted code calls only the hooks; it knows nothing of
 * MPI. */
#ifndef AOTC_EMIT_DDP_H
#define AOTC_EMIT_DDP_H

#include "emit_print.h"

/* The status a step returns when a hook fails. */
#define EMIT_DDP_HOOK_FAILED 5

/* False (reported) when E's sync calls cannot be printed: a GPU target,
 * control flow, or a call that does not fall between two kernels. */
bool emit_ddp_check(emit_fn *E);
/* The calls that come before statement `before` (n_stmts: the end). */
void emit_ddp_print_calls(emit_fn *E, int before);
/* The hooks' prototypes and NAME_DDP_GRADS, NAME_ddp_numel[] and
 * NAME_ddp_param[] (h: declarations, c: definitions); nothing without
 * sync calls. */
void emit_ddp_print_tables(FILE *c, FILE *h, const ir_func *f, const char *name);

#endif
