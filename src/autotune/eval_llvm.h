/* eval_llvm.h: the tuner's --backend llvm candidates (eval_llvm.c): each
 * planned once (isl's schedule and AST), its C text hashed to find code
 * measured before, the same plan then compiled to an object in memory
 * (two candidates at a time, on threads) and loaded into the LLVM backend's
 * LLJIT (emit_llvm.h) when measured. */
#ifndef AOTC_EVAL_LLVM_H
#define AOTC_EVAL_LLVM_H

#include "emit_llvm.h"
#include "ir.h"

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
/* Compiles the planned candidates whose build[i] is set, TUNE_LLVM_JOBS at
 * a time. */
void tune_llvm_compile_all(emit_llvm_session *J, tune_llvm_cand *lcs, const bool *build, int n);
/* Loads a compiled candidate into J: the handle for emit_llvm_session_drop,
 * -1 with the reason in msg. */
int tune_llvm_load(emit_llvm_session *J, tune_llvm_cand *lc, void **call, void **call_ws, char *msg, size_t cap);
void tune_llvm_cand_free(tune_llvm_cand *lc);

#endif
