/* emit_plan.h: the backend's phases, each callable as a pass of its own,
 * and the plan they fill in. Everything the printer needs that is a
 * decision (names, options, which kernels are contractions and their
 * blocks, isl's schedule and AST) lands in the plan before printing; the
 * printer only walks it.
 *
 *   emit_plan_new       an empty plan for some functions of a module
 *   emit_plan_build     the entries' C names and the polyhedral model of
 *                       every kernel (poly.h)
 *   emit_plan_schedule  the options of every function (given, or the
 *                       heuristics for opt->cpu); contractions (mk=1) get
 *                       their micro-kernel blocks, the other kernels isl's
 *                       schedule with the options applied (schedule.h)
 *   emit_plan_ast       isl's AST of every scheduled kernel; with sr=1, the
 *                       loops whose accumulator may live in a local carry
 *                       the annotation EMIT_PLAN_ACC (and, for a GPU, the
 *                       loops around one whose element stays the same for
 *                       their iterations too EMIT_PLAN_ACC_NEST)
 *   emit_plan_print     the source and the header (emit_c.c)
 *   emit_plan_free      isl's objects and context
 *
 * emit_c_module (ir.h) runs them in this order. Each phase returns false
 * (reported on ctx) on failure and stops there; the plan must still be
 * freed. */
#ifndef AOTC_EMIT_PLAN_H
#define AOTC_EMIT_PLAN_H

#include "emit_target.h"
#include "poly.h"
#include "../schedule/schedule.h"

#include <isl/ast.h>
#include <stdio.h>

/* The annotation of a for node whose body is one reduction into an element
 * that does not move with the loop: printed with the element in a local. */
#define EMIT_PLAN_ACC "aotc_acc"
/* GPU: a loop whose body is a loop annotated EMIT_PLAN_ACC or
 * EMIT_PLAN_ACC_NEST, and whose iterations reduce into the same element: a
 * reduction kernel's threads share the whole nest (one tree at its end). */
#define EMIT_PLAN_ACC_NEST "aotc_acc_nest"

/* A kernel: statements scheduled together (poly_kernel_end). */
typedef struct emit_kernel {
  int first, end;     /* the IR statements first..end-1 */
  int contraction;    /* >= 0: printed as packed micro-kernel loops, contr[contraction]; -1: isl's loops */
  poly_kernel *poly;  /* model and schedule; NULL once the kernel is a contraction */
  isl_ast_node *ast;  /* isl's loops (emit_plan_ast); NULL for a contraction */
  int transpose;      /* CUDA, promote=1: >= 0: statement `transpose` (alone in the kernel) printed as a tiled
                         transpose through shared memory (emit_cuda_transp.c); -1: not */
  int epilogue_of;    /* >= 0: applied in the store of contraction contr[epilogue_of] (emit_epilogue.c) and not
                         printed on its own; -1: printed */
} emit_kernel;

/* The read of statement s that the CUDA target promotes through a shared
 * tile (emit_cuda_transp.c): s plain, elementwise (no reduction, every
 * index on the left, rank 2 or more, not reading what it writes), the read
 * fp32, every subscript an index, its last the left-hand side's second
 * last (the loop mapped to threadIdx.y), the last one (threadIdx.x) among
 * them; NULL: none. */
const ir_expr *emit_cuda_transposed_read(const ir_func *f, const ir_stmt *s);

/* One function. */
typedef struct emit_plan_fn {
  const ir_func *f;
  const char *name;         /* the entry's C name */
  const char **param_c;     /* C names of the size parameters: also their isl ids in the AST */
  const char **tensor_c;    /* C names of the tensors */
  bool scheduled;           /* emit_plan_schedule chose sched and the contractions */
  sched_options sched;      /* the options every kernel of the function is scheduled with */
  bool heuristic;           /* sched came from sched_options_heuristic */
  int n_contr;              /* contractions on the micro-kernel path, in statement order */
  sched_contraction *contr; /* [n_contr] */
  sched_blocks *blocks;     /* [n_contr]: their register tiles, cache blocks and threads */
  int n_kernels;
  emit_kernel *kernels;     /* [n_kernels], in statement order */
  poly_cache *cache;        /* schedules and loops of the kernels seen so far (poly.h) */
} emit_plan_fn;

typedef struct emit_plan {
  aotc_ctx *ctx;
  const emit_options *opt;
  const emit_target *target;
  isl_ctx *isl;
  int n_funcs;
  emit_plan_fn *funcs; /* [n_funcs] */
} emit_plan;

/* A plan for funcs printed for target (names avoid its reserved words);
 * opt NULL: fused, heuristics, generic sizes. opt, target and funcs must
 * outlive the plan. NULL (reported on ctx) when out of memory. */
emit_plan *emit_plan_new(aotc_ctx *ctx, ir_func *const *funcs, int n_funcs, const emit_options *opt,
                         const emit_target *target);
/* Whether isl expression e mentions the identifier named name. */
bool emit_ast_mentions(__isl_keep isl_ast_expr *e, const char *name);
/* Whether e is an integer constant, its value in *v. */
bool emit_ast_int(__isl_keep isl_ast_expr *e, long *v);
/* A loop's constant range: *lo (init), *end (exclusive: the bound of
 * `it <= c` plus one, or of `it < c`) and *step (> 0); false when one is
 * not a constant. */
bool emit_ast_loop_range(__isl_keep isl_ast_expr *init, __isl_keep isl_ast_expr *cond, __isl_keep isl_ast_expr *inc,
                         long *lo, long *end, long *step);
/* Whether loop runs from *lo to *hi (constants, at most 8 values, step 1)
 * right around an innermost loop of one statement that selects on the
 * loop's index (a transform's slices in one statement: winograd.c,
 * emit_sliced): both backends run it as one copy per value, the index a
 * constant there. */
bool emit_select_loop(const poly_kernel *k, const ir_func *f, __isl_keep isl_ast_node *loop, long *lo, long *hi);
bool emit_plan_build(emit_plan *p);
bool emit_plan_schedule(emit_plan *p);
bool emit_plan_ast(emit_plan *p);
/* The options, contractions, schedules and ASTs, as --dump=schedule shows
 * them, up to the first kernel that failed. */
void emit_plan_dump(const emit_plan *p, FILE *out);
/* The source into c_out and the header into h_out (either may be NULL). */
bool emit_plan_print(const emit_plan *p, FILE *c_out, FILE *h_out);
void emit_plan_free(emit_plan *p);
/* Every phase for target, then the source and header printed (what
 * emit_c_module does for C; the tuner's CUDA candidates). */
bool emit_plan_module(aotc_ctx *ctx, ir_func *const *funcs, int n_funcs, const emit_options *opt,
                      const emit_target *target, FILE *c_out, FILE *h_out);
/* Subscripts read from constant tensors (emit_checks_const.c): false
 * (reported) when one lies outside its tensor at some point. */
bool emit_checks_constant_indices(aotc_ctx *ctx, const ir_func *f);

/* emit_ukernel.c: a warning for every matrix product of pf left to plain
 * loops when its options ask for the micro-kernel path. */
void emit_ukernel_warn_fallbacks(const emit_plan *p, const emit_plan_fn *pf);
/* emit_epilogue.c: marks the kernels after each packed contraction that its
 * store applies (emit_kernel.epilogue_of); after the contractions are known. */
void emit_epilogue_plan(const emit_plan *p, emit_plan_fn *pf);

#endif
