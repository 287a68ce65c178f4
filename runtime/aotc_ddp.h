/* aotc_ddp.h: data-parallel training over MPI for a training step emitted
 * by `aotc train --ddp` (docs/ddp.md). The emitted step calls two hooks,
 * defined here:
 *
 *   aotc_ddp_grad_ready(slot, grad, count)  a gradient is final (the
 *       backward pass finishes them in reverse layer order: slot 0 first):
 *       it is copied into its bucket; when the bucket is full its
 *       MPI_Iallreduce starts, while the backward pass goes on.
 *   aotc_ddp_grad_wait(slot, grad, count)   before that parameter's
 *       update: waits for its bucket's reduction (only that bucket), divides
 *       the sums by the number of ranks once, and copies the average back.
 *
 * Buckets hold consecutive slots; a gradient that would take a non-empty
 * bucket past bucket_bytes starts the next one. All memory is allocated
 * by aotc_ddp_init: the hooks never allocate. One process drives one step
 * function at a time (the hooks are free functions with the runtime's
 * state behind them). Before aotc_ddp_init and after aotc_ddp_finalize the
 * hooks do nothing: the step is then the single-process step.
 *
 * Environment: AOTC_DDP_LOG=PREFIX records every hook event and writes
 * PREFIX.<rank> at aotc_ddp_finalize, one line per event:
 *   SEQ STEP ready SLOT MICROSECONDS BUCKET 0
 *   SEQ STEP start BUCKET MICROSECONDS FLOATS 0
 *   SEQ STEP wait BUCKET MICROSECONDS DONE_BEFORE MICROSECONDS_IN_MPI_WAIT
 * (microseconds since init, at the end of the event); AOTC_DDP_FAULT=
 * no-average (sums instead of averages) or no-allreduce (no communication)
 * breaks the synchronisation on purpose, for tests that must fail.
 *
 * Build: mpicc -c aotc_ddp.c (or cc $(pkg-config --cflags ompi-c)). */
#ifndef AOTC_DDP_H
#define AOTC_DDP_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef AOTC_DDP_HOOKS
#define AOTC_DDP_HOOKS
/* Gradient synchronisation (aotc train --ddp, docs/ddp.md): defined by
 * runtime/aotc_ddp.c (MPI) or by the caller; 0 on success. */
int aotc_ddp_grad_ready(int slot, float *grad, int64_t count);
int aotc_ddp_grad_wait(int slot, float *grad, int64_t count);
#endif

#define AOTC_DDP_BUCKET_BYTES ((size_t)1 << 20) /* the default bucket size */

/* Starts the runtime on a duplicate of comm for n_grads gradients of
 * numel[slot] floats (the step's NAME_train_step_ddp_numel[]) with buckets
 * of bucket_bytes (0: the default). 0 on success; non-zero on bad
 * arguments, out of memory or an MPI error. */
int aotc_ddp_init(MPI_Comm comm, int n_grads, const int64_t *numel, size_t bucket_bytes);
/* Frees everything, writes the log (AOTC_DDP_LOG); the hooks do nothing
 * afterwards. */
void aotc_ddp_finalize(void);

int aotc_ddp_rank(void);      /* this process's rank (0 without init) */
int aotc_ddp_size(void);      /* the number of ranks (1 without init) */
int aotc_ddp_n_buckets(void); /* the buckets of the plan */
int aotc_ddp_bucket_of(int slot);

/* Rank 0's contents of bufs[i] (bytes[i] bytes each) on every rank: the
 * parameters (and optimizer state) start identical. 0 on success. */
int aotc_ddp_broadcast(void *const *bufs, const size_t *bytes, int n);
/* The mean of v over the ranks (a loss); v itself without init. */
double aotc_ddp_mean(double v);
/* 1 when bytes bytes at p are the same on every rank (compared with rank
 * 0's), 0 when not, -1 on error. */
int aotc_ddp_same_on_all_ranks(const void *p, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
