/* llvm_priv.h: the LLVM backend's state, internal to src/emit_llvm.
 *
 *   llvm_module.c  the module: targets, functions per plan (entry ABI,
 *                  constants, workspace), object files, ORC LLJIT
 *   llvm_expr.c    values: sizes, isl AST expressions, IR expressions
 *   llvm_entry.c   the functions of a plan: entry ABI, workspace, constants
 *   llvm_loops.c   isl's AST nodes, statements, contractions (cache blocks,
 *                  register tiles over a packed panel of B), index checks
 *   llvm_region.c  regions: branches and loops around kernels
 *   llvm_iotable.c a model's io tables
 *   llvm_plan.c    one function through the phases, JIT-compiled (tune)
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
  LLVMValueRef **dim;    /* per tensor, per dimension: i64 */
  int n_vars;            /* isl's loop iterators in scope */
  const char *var_name[LW_MAX_VARS];
  LLVMValueRef var_val[LW_MAX_VARS];
  const poly_kernel *k;  /* the kernel being built */
  const ir_stmt *stmt;   /* the statement being built */
  LLVMValueRef *iter;    /* its index values (i64), NULL when unbound */
  LLVMBasicBlockRef fail_index; /* returns AOTC_RC_INDEX; NULL until needed */
  bool failed;
  const char *why;       /* what failed, for the message */
} lw_fn;

/* ---- llvm_expr.c */

LLVMTypeRef lw_type(emit_llvm *L, ir_type t);     /* register type (bool: i1) */
LLVMTypeRef lw_mem_type(emit_llvm *L, ir_type t); /* memory type (bool: i8) */
LLVMValueRef lw_i64(emit_llvm *L, int64_t v);
LLVMValueRef lw_size(lw_fn *F, const ir_size *s);
LLVMValueRef lw_ast_expr(lw_fn *F, __isl_keep isl_ast_expr *e);
/* e converted to type t. */
LLVMValueRef lw_expr_as(lw_fn *F, const ir_expr *e, ir_type t);
/* v of type from converted to type to, C's rules. */
LLVMValueRef lw_convert(lw_fn *F, LLVMValueRef v, ir_type from, ir_type to);
/* The address of element (subs) of tensor t; index(j) gives subscript j. */
typedef LLVMValueRef (*lw_index_fn)(lw_fn *F, const void *data, int j);
LLVMValueRef lw_address(lw_fn *F, int t, int rank, lw_index_fn index, const void *data);
LLVMValueRef lw_load(lw_fn *F, int t, LLVMValueRef addr);
void lw_store(lw_fn *F, int t, LLVMValueRef addr, LLVMValueRef v);
/* The address a read e (not padded) loads from. */
LLVMValueRef lw_access_address(lw_fn *F, const ir_expr *e);
/* A subscript as i64. */
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

/* ---- llvm_loops.c */

/* for (i = lo; i < hi; i++) body(F, i, data) */
typedef void (*lw_body_fn)(lw_fn *F, LLVMValueRef i, void *data);
void lw_counted_loop(lw_fn *F, LLVMValueRef lo, LLVMValueRef hi, lw_body_fn body, void *data);
/* Kernel i of the function: its index checks, then its loops. */
void lw_kernel(lw_fn *F, int i);
/* The branch to the block returning AOTC_RC_INDEX when bad is true. */
void lw_fail_if(lw_fn *F, LLVMValueRef bad);

/* ---- llvm_iotable.c */

/* A model's NAME_inputs, NAME_params, NAME_outputs (the header's). */
void lw_io_tables(emit_llvm *L, const ir_func *f, const char *name);

/* ---- llvm_region.c */

void lw_region(lw_fn *F, const ir_region *r);

#endif
