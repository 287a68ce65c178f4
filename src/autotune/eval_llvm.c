/* eval_llvm.c: the tuner's --backend llvm candidates (eval_llvm.h). */
#define _POSIX_C_SOURCE 200809L
#include "eval_llvm.h"
#include "tune.h"
#include "emit_plan.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* The hash of the plan's C text and header (emit_candidate's in evaluate.c). */
static bool text_hash(emit_plan *p, uint64_t *hash)
{
  char *c = NULL, *h = NULL;
  size_t clen = 0, hlen = 0;
  FILE *cf = open_memstream(&c, &clen), *hf = open_memstream(&h, &hlen);
  bool ok = cf && hf && emit_plan_print(p, cf, hf);
  if (cf && fclose(cf))
    ok = false;
  if (hf && fclose(hf))
    ok = false;
  if (ok)
    *hash = tune_hash(c, clen) ^ (tune_hash(h, hlen) * 31);
  free(c);
  free(h);
  return ok;
}

static void failure(const tune_llvm_cand *lc, char *msg, size_t cap)
{
  snprintf(msg, cap, "emission failed: %s",
           lc->scratch && lc->scratch->n_diags ? lc->scratch->diags[0].msg : "out of memory");
}

bool tune_llvm_plan(aotc_ctx *ctx, const ir_func *f, const emit_options *opt, int id, tune_llvm_cand *lc,
                    uint64_t *hash, char *msg, size_t cap)
{
  lc->id = id;
  lc->scratch = aotc_ctx_new(ctx->alloc, ctx->alloc_ud);
  lc->opt = *opt;
  lc->fn = (ir_func *)f;
  if (lc->scratch) {
    lc->scratch->isl_max_ops = ctx->isl_max_ops;
    lc->plan = emit_plan_new(lc->scratch, &lc->fn, 1, &lc->opt, &emit_target_c);
  }
  bool ok = lc->plan && emit_plan_build(lc->plan) && emit_plan_schedule(lc->plan) && emit_plan_ast(lc->plan) &&
            text_hash(lc->plan, hash);
  if (!ok) {
    failure(lc, msg, cap);
    tune_llvm_cand_free(lc);
  }
  return ok;
}

typedef struct compile_job {
  emit_llvm_session *J;
  tune_llvm_cand *lcs;
  const bool *build;
  int n, next;
} compile_job;

static void *compile_worker(void *data)
{
  compile_job *job = data;
  int i;
  while ((i = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED)) < job->n)
    if (job->build[i] && job->lcs[i].plan && job->lcs[i].loaded < 0)
      job->lcs[i].obj = emit_llvm_session_compile(job->J, job->lcs[i].plan, job->lcs[i].id);
  return NULL;
}

void tune_llvm_compile_all(emit_llvm_session *J, tune_llvm_cand *lcs, const bool *build, int n)
{
  compile_job job = {J, lcs, build, n, 0};
  pthread_t th[TUNE_LLVM_JOBS - 1];
  int started = 0;
  for (int t = 0; t < TUNE_LLVM_JOBS - 1 && t < n - 1; t++)
    started += !pthread_create(&th[started], NULL, compile_worker, &job);
  compile_worker(&job);
  for (int t = 0; t < started; t++)
    pthread_join(th[t], NULL);
}

int tune_llvm_load(emit_llvm_session *J, tune_llvm_cand *lc, void **call, void **call_ws, char *msg, size_t cap)
{
  *call = *call_ws = NULL;
  if (!lc->obj) {
    snprintf(msg, cap, "LLVM: %s", lc->scratch && lc->scratch->n_diags ? lc->scratch->diags[0].msg : "not compiled");
    return -1;
  }
  return emit_llvm_session_load(J, lc->obj, call, call_ws, msg, cap);
}

void tune_llvm_cand_free(tune_llvm_cand *lc)
{
  emit_llvm_object_free(lc->obj);
  lc->obj = NULL;
  if (lc->plan)
    emit_plan_free(lc->plan);
  aotc_ctx_free(lc->scratch);
  lc->plan = NULL;
  lc->scratch = NULL;
}
