/* ddp.h: the example's data-parallel glue (main.c, docs/ddp.md). Built
 * with -DAOTC_DDP (run.sh --ddp: mpicc, the step emitted with --ddp and
 * runtime/aotc_ddp.c), `--ddp` on the command line starts MPI and the
 * runtime: every rank trains on rows rank, rank + P, rank + 2P, ... of
 * each global batch, parameters start as rank 0's, and the gradients are
 * averaged over the ranks inside the step. Without -DAOTC_DDP (or without
 * --ddp) every function here is the one-process case. */
#ifndef TRAIN_DIGITS_DDP_H
#define TRAIN_DIGITS_DDP_H

#ifdef AOTC_DDP
#include "aotc_ddp.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ddp_requested, ddp_check_requested;

/* Removes `--ddp`, `--check` and `--bucket-bytes N` from argv; starts MPI and the
 * runtime for the step's gradients when --ddp was given. 0 on success. */
static int ddp_start(int *argc, char **argv, int n_grads, const int64_t *numel)
{
  size_t bucket = 4096;
  int n = 1;
  for (int i = 1; i < *argc; i++) {
    if (!strcmp(argv[i], "--ddp"))
      ddp_requested = 1;
    else if (!strcmp(argv[i], "--check"))
      ddp_check_requested = 1;
    else if (!strcmp(argv[i], "--bucket-bytes") && i + 1 < *argc)
      bucket = (size_t)atol(argv[++i]);
    else
      argv[n++] = argv[i];
  }
  *argc = n;
  (void)n_grads, (void)numel, (void)bucket;
#ifdef AOTC_DDP
  if (ddp_requested) {
    MPI_Init(NULL, NULL);
    return aotc_ddp_init(MPI_COMM_WORLD, n_grads, numel, bucket);
  }
#endif
  if (ddp_requested)
    fprintf(stderr, "--ddp: this program was built without MPI (run.sh --ddp builds it with)\n");
  return ddp_requested;
}

static int ddp_rank(void)
{
#ifdef AOTC_DDP
  return aotc_ddp_rank();
#else
  return 0;
#endif
}

static int ddp_size(void)
{
#ifdef AOTC_DDP
  return aotc_ddp_size();
#else
  return 1;
#endif
}

/* The mean over the ranks (a loss). */
static double ddp_mean(double v)
{
#ifdef AOTC_DDP
  return aotc_ddp_mean(v);
#else
  return v;
#endif
}

/* Rank 0's n buffers on every rank. */
static int ddp_broadcast(void *const *bufs, const size_t *bytes, int n)
{
  (void)bufs, (void)bytes, (void)n;
#ifdef AOTC_DDP
  return aotc_ddp_broadcast(bufs, bytes, n);
#else
  return 0;
#endif
}

/* How many of the n buffers differ from rank 0's on some rank. */
static int ddp_count_different(void *const *bufs, const size_t *bytes, int n)
{
  int differ = 0;
#ifdef AOTC_DDP
  for (int k = 0; k < n; k++)
    differ += aotc_ddp_same_on_all_ranks(bufs[k], bytes[k]) != 1;
#else
  (void)bufs, (void)bytes, (void)n;
#endif
  return differ;
}

/* Stops the runtime: from here on the step's hooks do nothing (the
 * one-process step). */
static void ddp_stop(void)
{
#ifdef AOTC_DDP
  aotc_ddp_finalize();
#endif
}

static void ddp_end(void)
{
#ifdef AOTC_DDP
  if (ddp_requested)
    MPI_Finalize();
#endif
}

#endif
