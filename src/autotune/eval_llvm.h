/* eval_llvm.h: the tuner's --backend llvm candidates (eval_llvm.c): each
 * planned once (isl's schedule and AST), its C text hashed to find code
 * measured before, the same plan then compiled to an object in memory
 * (two candidates at a time, on threads) and loaded into the LLVM backend's
 * LLJIT (emit_llvm.h) when measured. */
#ifndef AOTC_EVAL_LLVM_H
#define AOTC_EVAL_LLVM_H

#include "emit_llvm.h"
#include "ir.h"
#include "tune.h"

#include <pthread.h>

struct emit_plan;

/* Candidates compiled at a time (threads), as the cc path runs compilers. */
#define TUNE_LLVM_JOBS 2

typedef struct tune_llvm_cand {
  aotc_ctx *scratch;       /* the plan's diagnostics */
  emit_options opt;        /* the plan's options (they must outlive it) */
  ir_func *fn;
  struct emit_plan *plan;  /* NULL: not planned, or freed */
  emit_llvm_object *obj;   /* compiled, not loaded yet */
  int id;
  int loaded;              /* the handle of its code loaded before (the same code measured again); -1: none */
} tune_llvm_cand;

/* Plans f under opt on a scratch context; *hash identifies the code (its C
 * text and header, as the cc path's). False with the reason in msg. */
bool tune_llvm_plan(aotc_ctx *ctx, const ir_func *f, const emit_options *opt, int id, tune_llvm_cand *lc,
                    uint64_t *hash, char *msg, size_t cap);
/* A batch of candidates planned and compiled on TUNE_LLVM_JOBS threads,
 * each thread taking the next candidate, planning it (its own scratch
 * context and isl_ctx) and compiling it unless wanted() says its code is
 * not needed (measured before; *loaded: the handle of that code, or -1) or
 * another candidate of the batch with the same hash compiles it. A
 * candidate whose options were planned before (the confirm rounds measure
 * the best again) and whose code is still loaded is not planned again. */
typedef struct tune_llvm_batch {
  aotc_ctx *ctx;
  const ir_func *f;
  emit_llvm_session *J;
  const emit_options *opts; /* per candidate; they must outlive the plans */
  const int *ids;
  int n;
  bool (*wanted)(void *user, uint64_t hash, int *loaded);
  /* The hash of the code these options gave in an earlier batch, if any:
   * when that code needs no compiling, the candidate is not planned. */
  bool (*planned_before)(void *user, const sched_options *o, uint64_t *hash);
  void *user;
  tune_llvm_cand *lcs;       /* out: per candidate */
  uint64_t *hashes;          /* out */
  bool *planned;             /* out */
  char (*msgs)[TUNE_FIELD];  /* out: why planning failed */
  bool *claimed;             /* zeroed by the caller */
  double plan_s, compile_s;  /* out: thread-seconds of each phase */
  int next;
  pthread_mutex_t lock;
} tune_llvm_batch;

void tune_llvm_plan_compile_all(tune_llvm_batch *b);
/* Once the caller has decided which candidates build (build[i]: the first
 * of the batch with its code), gives each the object compiled for its code
 * by another candidate of the batch. */
void tune_llvm_share_objects(tune_llvm_batch *b, const bool *build);
/* Loads a compiled candidate into J: the handle for emit_llvm_session_drop,
 * -1 with the reason in msg. */
int tune_llvm_load(emit_llvm_session *J, tune_llvm_cand *lc, void **call, void **call_ws, char *msg, size_t cap);
void tune_llvm_cand_free(tune_llvm_cand *lc);

#endif
