/* eval_llvm.c: the tuner's --backend llvm candidates (eval_llvm.h). */
#define _POSIX_C_SOURCE 200809L
#include "eval_llvm.h"
#include "tune.h"
#include "emit_plan.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Another candidate of the batch with the same code already compiles it. */
static bool claimed_before(tune_llvm_batch *b, int i)
{
  pthread_mutex_lock(&b->lock);
  bool taken = false;
  for (int j = 0; j < b->n && !taken; j++)
    taken = j != i && b->claimed[j] && b->hashes[j] == b->hashes[i];
  b->claimed[i] = !taken;
  pthread_mutex_unlock(&b->lock);
  return taken;
}

static void add_times(tune_llvm_batch *b, double plan, double compile)
{
  pthread_mutex_lock(&b->lock);
  b->plan_s += plan;
  b->compile_s += compile;
  pthread_mutex_unlock(&b->lock);
}

static void plan_and_compile(tune_llvm_batch *b, int i)
{
  tune_llvm_cand *lc = &b->lcs[i];
  double t0 = now();
  lc->loaded = -1;
  lc->id = b->ids[i];
  if (b->planned_before(b->user, b->opts[i].sched, &b->hashes[i]) && !b->wanted(b->user, b->hashes[i], &lc->loaded)) {
    b->planned[i] = true;
    return;
  }
  b->planned[i] = tune_llvm_plan(b->ctx, b->f, &b->opts[i], b->ids[i], lc, &b->hashes[i], b->msgs[i], TUNE_FIELD);
  double t1 = now();
  if (b->planned[i] && b->wanted(b->user, b->hashes[i], &lc->loaded) && !claimed_before(b, i))
    lc->obj = emit_llvm_session_compile(b->J, lc->plan, lc->id);
  add_times(b, t1 - t0, now() - t1);
}

static void *pipeline_worker(void *data)
{
  tune_llvm_batch *b = data;
  int i;
  while ((i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED)) < b->n)
    plan_and_compile(b, i);
  return NULL;
}

/* Candidate i needs code that another candidate of the batch compiled (the
 * same hash): the object moves to i, the first to need it. */
void tune_llvm_share_objects(tune_llvm_batch *b, const bool *build)
{
  for (int i = 0; i < b->n; i++)
    for (int k = 0; build[i] && !b->lcs[i].obj && b->lcs[i].loaded < 0 && k < b->n; k++)
      if (k != i && b->lcs[k].obj && b->hashes[k] == b->hashes[i]) {
        b->lcs[i].obj = b->lcs[k].obj;
        b->lcs[k].obj = NULL;
      }
}

void tune_llvm_plan_compile_all(tune_llvm_batch *b)
{
  pthread_t th[TUNE_LLVM_JOBS - 1];
  int started = 0;
  pthread_mutex_init(&b->lock, NULL);
  b->next = 0;
  for (int t = 0; t < TUNE_LLVM_JOBS - 1 && t < b->n - 1; t++)
    started += !pthread_create(&th[started], NULL, pipeline_worker, b);
  pipeline_worker(b);
  for (int t = 0; t < started; t++)
    pthread_join(th[t], NULL);
  pthread_mutex_destroy(&b->lock);
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
