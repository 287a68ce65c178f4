/* llvm_priv.h: the LLVM backend's state, internal to src/emit_llvm.
 *
 *   llvm_module.c  the module: targets, functions per plan (entry ABI,
 *                  constants, workspace), object files, ORC LLJIT
 *   llvm_expr.c    values: sizes, isl AST expressions, IR expressions
 *   llvm_entry.c   the functions of a plan: entry ABI, workspace, constants
 *   llvm_nest.c    loops, branches, nests over a statement's ranges, index
 *                  checks, a kernel
 *   llvm_ast.c     isl's AST nodes and the statements they call
 *   llvm_ukernel.c the register-tile micro-kernels (emit_ukernel.c's)
 *   llvm_contr.c   contractions: the packed loops around the micro-kernels
 *   llvm_prepack.c constant operands of contractions packed when built
 *   llvm_region.c  regions: branches and loops around kernels
 *   llvm_window.c  small stride-1 windows as masked 16-lane sums
 *   llvm_grouped.c stride-1 grouped convolutions as a direct kernel
 *   llvm_parallel.c loops on OpenMP's team
 *   llvm_iotable.c a model's io tables
 *   llvm_jit.c     the tuner's candidates: objects in memory, one LLJIT
 *   llvm_split.c   micro-kernels optimised apart (shared by the tuner's
 *                  candidates)
 *   llvm_driver.c  the command line's paths (--emit obj, run --backend llvm) */
#ifndef AOTC_LLVM_PRIV_H
#define AOTC_LLVM_PRIV_H

#include "emit_llvm.h"
#include "emit_print.h"

#include <isl/ast.h>
#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#define LW_MAX_VARS 64
/* The packing functions of emit_llvm_options.pack_apart (llvm_contr.c):
 * split apart and shared as the micro-kernels are (llvm_split.c). */
#define LW_PACK_PREFIX "aotc_ukr_pack"
/* The most accumulators (vectors or scalars) of a micro-kernel. */
#define LW_UKR_MAX_ACC 64

struct emit_llvm {
  aotc_ctx *ctx;
  emit_llvm_options opt;
  LLVMOrcThreadSafeContextRef tsc;
  LLVMContextRef c;
  LLVMModuleRef m;
  LLVMTargetMachineRef tm;
  LLVMTargetDataRef td;
  LLVMOrcLLJITRef jit;
  LLVMTypeRef i1, i8, i32, i64, ptr, size_t_ty, f32, f64;
  /* The index type (loops, subscripts, sizes): i64, or i32 on a target
   * with 32-bit pointers where the plan's bounds allow (llvm_entry.c);
   * idx_ir the same as an ir_type. */
  LLVMTypeRef idx;
  ir_type idx_ir;
  bool idx_picked;
  int unroll;  /* innermost loops unrolled this many times (<= 1: as the pipeline
                * likes): 2 with a 32-bit index type, $AOTC_LLVM_UNROLL */
  int n_loops; /* loops built so far (lw_loop: whether one is innermost) */
  int n_packs; /* panels packed by functions of their own (llvm_contr.c) */
  int n_parallel; /* loops' bodies run by OpenMP's team (llvm_parallel.c) */
  int vector_bits; /* x86: every function's prefer-vector-width, the CPU row's vectors; 0: none */
};

/* One function being built. */
typedef struct lw_fn {
  emit_llvm *L;
  const emit_plan *p;
  const emit_plan_fn *pf;
  const ir_func *f;
  LLVMBuilderRef b;
  LLVMValueRef fn;
  LLVMValueRef *param;   /* per size parameter: its value (a constant when fixed) */
  LLVMValueRef *tensor;  /* per tensor: its pointer (a scalar input: its value) */
  LLVMValueRef **dim;    /* per tensor, per dimension: the index type */
  int n_vars;            /* isl's loop iterators in scope */
  const char *var_name[LW_MAX_VARS];
  LLVMValueRef var_val[LW_MAX_VARS];
  const poly_kernel *k;  /* the kernel being built */
  const ir_stmt *stmt;   /* the statement being built */
  LLVMValueRef *iter;    /* its index values (the index type), NULL when unbound */
  int n_iter;            /* iter's length */
  LLVMValueRef pack;     /* the packing buffers in the workspace; NULL: none */
  LLVMValueRef *scope_md;   /* per tensor: !alias.scope, the list of its one scope
                             * (a temporary of a memory-planned function); NULL: none */
  LLVMValueRef *noalias_md; /* per tensor: !noalias, the scopes of the temporaries whose
                             * bytes it never shares (llvm_entry.c's temp_scopes) */
  LLVMValueRef acc;      /* the local a loop annotated EMIT_PLAN_ACC reduces into; NULL: none */
  bool acc_keyed;        /* acc holds a float max or min as an ordered integer key
                          * (llvm_ast.c's float_key): a vectorisable reduction */
  int trip_next;         /* the next loop's trip count when isl's bounds are
                          * constants (plain_for), else 0 */
  bool simd_next;        /* the next loop lw_loop builds is under an aotc_simd mark
                          * (the C path's omp simd): llvm.loop.vectorize.enable */
  bool fold_tail_next;   /* and its few iterations (a panel's run of lanes) run as
                          * masked vectors, no scalar remainder:
                          * llvm.loop.vectorize.predicate.enable */
  LLVMMetadataRef par_loop; /* while the body of such a loop is built: a stand-in for
                             * its loop node, which the body's loads and stores of
                             * tensors name as llvm.mem.parallel_loop_access (the
                             * iterations are independent, as omp simd asserts) */
  bool *prepack_ok;      /* [2 * contraction + operand]: packed when built (llvm_prepack.c) */
  LLVMValueRef *prepack; /* the same: the packed constant, once made */
  int *prepack_same;     /* the same: an earlier operand packed into the same floats
                          * (emit_pack_same), whose global it reads; -1: none */
  LLVMBasicBlockRef fail_index; /* returns AOTC_RC_INDEX; NULL until needed */
  /* A read of a tensor: read_hook's value when it gives one (NULL: the
   * ordinary read); llvm_window.c's elements read the kernel's values so. */
  LLVMValueRef (*read_hook)(struct lw_fn *F, const ir_expr *e, void *data);
  void *read_data;
  bool epi_on;           /* building a fused epilogue (llvm_epilogue.c): reads of */
  int epi_tensor;        /* epi_tensor at the point are epi_v, of tensors of its */
  LLVMValueRef epi_v;    /* shape loads at offset epi_eo */
  LLVMValueRef epi_eo;
  bool failed;
  const char *why;       /* what failed, for the message */
} lw_fn;

/* ---- llvm_module.c */

LLVMTargetMachineRef lw_target_machine(aotc_ctx *ctx, const emit_llvm_options *o);
/* An LLJIT for o's machine that resolves the process's symbols. */
LLVMOrcLLJITRef lw_lljit(aotc_ctx *ctx, const emit_llvm_options *o);
/* Verifies L's module, then runs the pipeline of its opt_level on it and,
 * apart, on each micro-kernel (llvm_split.c), linked back after. */
bool lw_optimise(emit_llvm *L);
/* The module verified (reported on L's ctx when not). */
bool lw_verify(emit_llvm *L);
/* default<On> of L's opt_level on m (a module of L's context). */
bool lw_run_pipeline(emit_llvm *L, LLVMModuleRef m);
/* What lw_run_pipeline runs and the LLVM options it runs under, as text
 * (the tuner's cache keys, llvm_jit.c). */
void lw_pipeline_name(const emit_llvm *L, char *out, size_t cap);

/* ---- llvm_split.c */

#define LW_MAX_UKR 64

/* A micro-kernel in a module of its own. */
typedef struct lw_ukr {
  char name[256];
  uint64_t hash; /* of its IR before the pipeline */
  LLVMModuleRef m;
} lw_ukr;

/* Moves every micro-kernel defined in L->m into a module of its own (L's
 * context), L->m keeping a declaration; suffix_hash: both renamed
 * NAME__HASH. The count, -1 on failure (nothing moved). */
int lw_split_ukernels(emit_llvm *L, bool suffix_hash, lw_ukr *out, int cap);
/* Links the modules (consumed) back into L->m, their functions internal. */
bool lw_link_ukernels(emit_llvm *L, lw_ukr *u, int n);
/* Reports an LLVM error (consumed) on ctx; false. */
bool lw_llvm_failed(aotc_ctx *ctx, LLVMErrorRef err, const char *what);

/* ---- llvm_expr.c */

LLVMTypeRef lw_type(emit_llvm *L, ir_type t);     /* register type (bool: i1) */
LLVMTypeRef lw_mem_type(emit_llvm *L, ir_type t); /* memory type (bool: i8) */
/* v as a constant of the index type. */
LLVMValueRef lw_idx(emit_llvm *L, int64_t v);
/* An integer value of type from as a value of the index type (C's rules). */
LLVMValueRef lw_to_idx(lw_fn *F, LLVMValueRef v, ir_type from);
LLVMValueRef lw_size(lw_fn *F, const ir_size *s);
LLVMValueRef lw_ast_expr(lw_fn *F, __isl_keep isl_ast_expr *e);
/* e converted to type t. */
LLVMValueRef lw_expr_as(lw_fn *F, const ir_expr *e, ir_type t);
/* v of type from converted to type to, C's rules. */
LLVMValueRef lw_convert(lw_fn *F, LLVMValueRef v, ir_type from, ir_type to);
/* The address of element (subs) of tensor t; index(j) gives subscript j. */
typedef LLVMValueRef (*lw_index_fn)(lw_fn *F, const void *data, int j);
LLVMValueRef lw_address(lw_fn *F, int t, int rank, lw_index_fn index, const void *data);
/* The row-major linear index lw_address takes. */
LLVMValueRef lw_linear(lw_fn *F, int t, int rank, lw_index_fn index, const void *data);
LLVMValueRef lw_load(lw_fn *F, int t, LLVMValueRef addr);
void lw_store(lw_fn *F, int t, LLVMValueRef addr, LLVMValueRef v);
/* A load or store of the body of a loop under an aotc_simd mark (or one the
 * C path marks omp simd): llvm.mem.parallel_loop_access of that loop (none
 * outside one). lw_load and lw_store do so themselves. */
void lw_parallel_access(lw_fn *F, LLVMValueRef access);
/* The address a read e (not padded) loads from. */
LLVMValueRef lw_access_address(lw_fn *F, const ir_expr *e);
/* A subscript as a value of the index type. */
LLVMValueRef lw_subscript(lw_fn *F, const ir_expr *e);
/* min/max of a reduction: (b < a) ? b : a, (b > a) ? b : a in type t. */
LLVMValueRef lw_minmax(lw_fn *F, bool is_min, LLVMValueRef a, LLVMValueRef b, ir_type t);
/* a * b + c (scalars or vectors of type t), fused where the target has
 * FMA (C's default contraction, -ffp-contract=fast in gcc's GNU modes). */
LLVMValueRef lw_fmuladd(lw_fn *F, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c, ir_type t);
LLVMValueRef lw_identity(lw_fn *F, ir_reduction red, ir_type t);
void lw_fail(lw_fn *F, const char *why);
/* A new block in the function. */
LLVMBasicBlockRef lw_block(lw_fn *F, const char *name);
void lw_push_var(lw_fn *F, const char *name, LLVMValueRef v);
void lw_pop_var(lw_fn *F);

/* ---- llvm_vmath.c */

/* Builtin fn of x (of type t) as the C path's inline polynomial, built in
 * place, where emit_vmath_pick picks one for F's plan (call: the IR call,
 * or NULL; it picks only for float); NULL where it picks libm. */
LLVMValueRef lw_vmath(lw_fn *F, const ir_expr *call, ir_builtin fn, ir_type t, LLVMValueRef x);

/* ---- llvm_nest.c */

typedef void (*lw_body_fn)(lw_fn *F, LLVMValueRef i, void *data);
typedef LLVMValueRef (*lw_cond_fn)(lw_fn *F, LLVMValueRef i, void *data);
typedef LLVMValueRef (*lw_inc_fn)(lw_fn *F, void *data);
typedef void (*lw_then_fn)(lw_fn *F, void *data);
/* !{self, ops...}, a distinct metadata node (loop properties, alias scopes
 * and domains); at most LW_SELF_NODE_OPS ops. */
#define LW_SELF_NODE_OPS 4
LLVMMetadataRef lw_self_node(LLVMContextRef c, LLVMMetadataRef *ops, int n);
/* for (i = init; cond(i); i += inc()) body(F, i, data); inc is built at
 * the end of the body. */
void lw_loop(lw_fn *F, LLVMValueRef init, lw_cond_fn cond, lw_inc_fn inc, lw_body_fn body, void *data);
/* for (i = lo; i < hi; i++) body(F, i, data) */
void lw_counted_loop(lw_fn *F, LLVMValueRef lo, LLVMValueRef hi, lw_body_fn body, void *data);
/* for (i = lo; i < hi; i += step) body(F, i, data) */
void lw_stepped_loop(lw_fn *F, LLVMValueRef lo, LLVMValueRef hi, int64_t step, lw_body_fn body, void *data);
/* if (cond) then(F, data) else other(F, data) (other may be NULL) */
void lw_if_else(lw_fn *F, LLVMValueRef cond, lw_then_fn then, lw_then_fn other, void *data);
/* A variable of type ty in the function's entry block. */
LLVMValueRef lw_entry_alloca(lw_fn *F, LLVMTypeRef ty, const char *name);
/* The smaller of two values of the index type. */
LLVMValueRef lw_min(lw_fn *F, LLVMValueRef a, LLVMValueRef b);
/* llvm.masked.load of vector type vt at addr (alignment 4): the lanes of
 * mask, the others from passthru. */
LLVMValueRef lw_masked_load(lw_fn *F, LLVMTypeRef vt, LLVMValueRef addr, LLVMValueRef mask, LLVMValueRef passthru);
/* llvm.masked.store of vector v at addr (alignment 4), the lanes of mask;
 * the call. */
LLVMValueRef lw_masked_store(lw_fn *F, LLVMValueRef v, LLVMValueRef addr, LLVMValueRef mask);
/* The mask of lanes 0..w-1 (w <= 128) below n, a value of the index type. */
LLVMValueRef lw_lanes_below(lw_fn *F, unsigned w, LLVMValueRef n);
/* v (a scalar) in w lanes. */
LLVMValueRef lw_splat(lw_fn *F, LLVMValueRef v, unsigned w);
/* &base[i] of floats. */
LLVMValueRef lw_f32_at(lw_fn *F, LLVMValueRef base, LLVMValueRef i);
/* The branch to the block returning AOTC_RC_INDEX when bad is true. */
void lw_fail_if(lw_fn *F, LLVMValueRef bad);

/* Loops over indices order[0..n-1] of statement s (outermost first), each
 * over its range, inner(F, nest) inside. */
typedef struct lw_nest {
  const ir_stmt *s;
  const int *order;
  int n, depth;
  void (*inner)(lw_fn *F, struct lw_nest *n);
  const void *data;
} lw_nest;
void lw_run_nest(lw_fn *F, lw_nest *n);
/* Kernel i of the function: its index checks, then its loops. */
void lw_kernel(lw_fn *F, int i);

/* ---- llvm_parallel.c */

/* body(F, lo + k * step, data) for k = 0..n-1, the iterations spread over
 * a team of threads as `#pragma omp parallel for schedule(static)
 * num_threads(threads)` spreads them (GOMP_parallel, the body a function
 * of its own); serial where threads < 2 or the body cannot stand alone. */
void lw_parallel_loop(lw_fn *F, int threads, LLVMValueRef lo, LLVMValueRef n, int64_t step, lw_body_fn body,
                      void *data);

/* ---- llvm_grouped.c */

/* Contraction kernel i as emit_grouped.c's direct kernel when it is a
 * stride-1 grouped convolution that kernel takes; false: the packed path. */
bool lw_grouped(lw_fn *F, int kernel);

/* ---- llvm_window.c */

/* Kernel i of the function as a window's masked sums (emit_window_masked)
 * when it is one; false: build it otherwise. */
bool lw_window(lw_fn *F, int kernel);

/* ---- llvm_ast.c */

/* An isl AST node of kernel F->k. */
void lw_ast(lw_fn *F, __isl_keep isl_ast_node *n);
/* Forgets the index values of statement s. */
void lw_unbind(lw_fn *F, const ir_stmt *s);

/* ---- llvm_ukernel.c */

/* The micro-kernel for blocks b (vector width b->vw, b->mr x b->nr tile):
 * void aotc_ukr_f32_MRxNR_vVW[_s](idx kc, ptr a, ptr b, idx ldb, ptr c,
 * idx rs, idx cs, idx mr, idx nr, i32 first) (idx: the index type),
 * emit_ukernel.c's, made once per module; *ty its type. strided: the _s
 * variant, B's rows ldb floats apart (read in place); else B is packed
 * (ldb, nr, is not read). */
#define LW_UKR_ARGS 10
LLVMValueRef lw_ukernel(emit_llvm *L, const sched_blocks *b, bool strided, LLVMTypeRef *ty);

/* ---- llvm_contr.c */

/* The packed loops of contraction ci of the function. */
void lw_contraction(lw_fn *F, int ci);
/* Bytes of the packing buffers (emit_ukernel_print_pack_bytes's). */
LLVMValueRef lw_pack_bytes(lw_fn *F);

/* ---- llvm_epilogue.c */

/* A register tile of contraction ci just stored: last (i1) whether after
 * the last depth block; c its first element, at linear offset off of the
 * tensor; rs, cs its strides; mr x nr its rows and columns (nr_full those
 * of a full tile). */
typedef struct lw_tile {
  int ci;
  LLVMValueRef last, c, off, rs, cs, mr, nr;
  int nr_full;
} lw_tile;

/* Whether kernel i of the function is applied in a contraction's tiles. */
bool lw_epilogue_fused(const lw_fn *F, int kernel);
/* The statements fused into t's contraction applied to the tile, if any. */
void lw_epilogue_tile(lw_fn *F, const lw_tile *t);
/* A read inside a fused epilogue (F->epi_on); NULL: an ordinary read. */
LLVMValueRef lw_epilogue_read(lw_fn *F, const ir_expr *e);

/* ---- llvm_prepack.c */

/* Which contraction operands are constants packed when built. */
bool lw_prepack_setup(lw_fn *F);
/* Whether constant t is read only through a packed array (not emitted). */
bool lw_prepack_replaces(const lw_fn *F, int t);
/* The packed array of operand op (0: A, 1: B) of contraction ci; NULL: none. */
LLVMValueRef lw_prepacked(lw_fn *F, int ci, int op);

/* ---- llvm_iotable.c */

/* A model's NAME_inputs, NAME_params, NAME_outputs (the header's). */
void lw_io_tables(emit_llvm *L, const ir_func *f, const char *name);

/* ---- llvm_region.c */

void lw_region(lw_fn *F, const ir_region *r);

#endif
