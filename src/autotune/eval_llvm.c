/* eval_llvm.c: the tuner's --backend llvm candidates (eval_llvm.h). */
#define _POSIX_C_SOURCE 200809L
#include "eval_llvm.h"
#include "tune.h"
#include "emit_plan.h"

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

bool tune_llvm_plan(aotc_ctx *ctx, const ir_func *f, const emit_options *opt, tune_llvm_cand *lc, uint64_t *hash,
                    char *msg, size_t cap)
{
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

int tune_llvm_compile(emit_llvm_session *J, tune_llvm_cand *lc, void **call, void **call_ws, char *msg, size_t cap)
{
  if (!lc->plan) {
    snprintf(msg, cap, "LLVM: the candidate was not planned");
    return -1;
  }
  return emit_llvm_session_add(J, lc->plan, call, call_ws, msg, cap);
}

void tune_llvm_cand_free(tune_llvm_cand *lc)
{
  if (lc->plan)
    emit_plan_free(lc->plan);
  aotc_ctx_free(lc->scratch);
  lc->plan = NULL;
  lc->scratch = NULL;
}
