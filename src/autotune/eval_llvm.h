/* eval_llvm.h: the tuner's --backend llvm candidates (eval_llvm.c): each
 * planned once (isl's schedule and AST), its C text hashed to find code
 * measured before, the same plan then compiled in-process by the LLVM
 * backend's LLJIT (emit_llvm.h). */
#ifndef AOTC_EVAL_LLVM_H
#define AOTC_EVAL_LLVM_H

#include "emit_llvm.h"
#include "ir.h"

struct emit_plan;

typedef struct tune_llvm_cand {
  aotc_ctx *scratch;       /* the plan's diagnostics */
  emit_options opt;        /* the plan's options (they must outlive it) */
  ir_func *fn;
  struct emit_plan *plan;  /* NULL: not planned, or freed */
} tune_llvm_cand;

/* Plans f under opt on a scratch context; *hash identifies the code (its C
 * text and header, as the cc path's). False with the reason in msg. */
bool tune_llvm_plan(aotc_ctx *ctx, const ir_func *f, const emit_options *opt, tune_llvm_cand *lc, uint64_t *hash,
                    char *msg, size_t cap);
/* The planned candidate compiled into J; the handle for
 * emit_llvm_session_drop, -1 with the reason in msg. */
int tune_llvm_compile(emit_llvm_session *J, tune_llvm_cand *lc, void **call, void **call_ws, char *msg, size_t cap);
void tune_llvm_cand_free(tune_llvm_cand *lc);

#endif
