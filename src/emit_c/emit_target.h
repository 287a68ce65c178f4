/* emit_target.h: everything the printer writes that depends on the target
 * language, as one row of a table: type and function names, loop marks,
 * qualifiers, vector types, the parallel runtime, file preambles. The
 * printer core (emit_print.c), the micro-kernels (emit_ukernel.c) and the
 * entry ABI (emit_abi.c) read the row they are given and spell nothing of
 * the target themselves. C is the first row (emit_target.c); a CUDA row
 * fills the entries marked "CUDA" and overrides a few others. */
#ifndef AOTC_EMIT_TARGET_H
#define AOTC_EMIT_TARGET_H

#include "ir.h"

/* What a generated micro-kernel or helper is: its qualifiers differ per
 * target ("static inline" helpers, "__device__" on CUDA). */
typedef enum {
  EMIT_FN_HELPER,  /* small inline helpers: aotc_min, aotc_floordiv, ... */
  EMIT_FN_UKERNEL, /* micro-kernels called by the packed contraction loops */
  EMIT_FN_ENTRY,   /* the entry points of the emitted API */
  EMIT_FN_KERNEL,  /* CUDA: a kernel launched by an entry (unused in C) */
  EMIT_FN_COUNT
} emit_fn_kind;

typedef struct emit_target {
  const char *name; /* --target NAME */

  /* Types and functions */
  const char *const *type_name; /* per ir_type: "float", "int32_t", "bool" */
  const char *const *type_max;  /* per ir_type: the largest value (identity of min=) */
  const char *const *type_min;  /* per ir_type: the smallest value (identity of max=) */
  const char *const (*libm)[2]; /* per ir_builtin: name for float, for double; NULL: printed otherwise */
  const char *const *fn_qualifier; /* per emit_fn_kind: "static inline", "static", "" */

  /* Memory qualifiers */
  const char *restrict_ptr; /* after the '*' of a tensor parameter ("" or "restrict ") */
  const char *const_data;   /* storage of a constant tensor: "static const" */
  const char *shared_data;  /* CUDA: block-shared storage ("__shared__"); NULL: none */

  /* Loop marks and the parallel runtime; %d is a thread count, %s a
   * reduction operator (+, *, min, max) */
  const char *parallel_for;       /* before a loop whose iterations are spread over %d threads */
  const char *parallel_region;    /* before a block run by %d threads */
  const char *for_static;         /* in a region: a loop split evenly among the threads */
  const char *for_static_nowait;  /* the same, with no barrier after it */
  const char *for_dynamic;        /* in a region: a loop whose iterations go to the next free thread */
  const char *simd_for;           /* before a loop to vectorise */
  const char *simd_reduction;     /* before a vector loop reducing into aotc_acc with %s */
  const char *unroll_for;         /* before an innermost sequential loop to unroll %d times (unroll=); NULL: none */
  const char *thread_num;         /* definition of aotc_thread(): this thread's number */
  const char *barrier;            /* CUDA: statement waiting for the block ("__syncthreads();"); NULL: none */
  const char *const *thread_index; /* CUDA: 3 spellings ("threadIdx.x", ...); NULL: none */
  const char *const *block_index;  /* CUDA: 3 spellings ("blockIdx.x", ...); NULL: none */
  const char *const *block_dim;    /* CUDA: 3 spellings ("blockDim.x", ...); NULL: none */
  const char *const *grid_dim;     /* CUDA: 3 spellings ("gridDim.x", ...); NULL: none */
  const char *shuffle_down;       /* CUDA: a warp shuffle with its (mask, value, delta) ("__shfl_down_sync"); NULL: none */
  int warp_lanes;                 /* CUDA: threads of a warp (32) */

  /* Vectors (micro-kernels) */
  const char *vector_guard; /* #if line under which vector types exist */
  const char *vector_type;  /* typedef of aotc_vf%d: %d lanes of float, %d bytes */
  const char *fp_contract;  /* before a vector micro-kernel: multiply-adds may fuse */

  /* Files */
  const char *source_prologue; /* first in the source, before every #include */
  const char *source_includes; /* after the header's #include in the source */
  const char *header_includes; /* in the header, before the prototypes */
  const char *header_open;     /* around the prototypes (extern "C") */
  const char *header_close;
  const char *const *reserved; /* words a user name must not take, NULL-terminated */

  /* Entries (CUDA: the host function launching the kernels) */
  const char *entry_extra_param; /* after `void *workspace` in an entry's parameters (", cudaStream_t stream"); "" */
  const char *entry_extra_arg;   /* the same as an argument (", stream"); "" */
} emit_target;

/* Standalone C99 with libm; OpenMP pragmas (guarded by _OPENMP) and GCC
 * vector types (guarded by __GNUC__) where the options ask for them. */
extern const emit_target emit_target_c;
/* CUDA C++ for nvcc and for the CPU simulator (runtime/aotc_cuda.h): each
 * kernel a __global__ function, the entry launching them on a stream. */
extern const emit_target emit_target_cuda;

/* The row named name ("c", "cuda"); NULL if none. */
const emit_target *emit_target_find(const char *name);
/* Does the target launch kernels on a grid (CUDA)? */
static inline bool emit_target_is_gpu(const emit_target *tg)
{
  return tg->block_index != NULL;
}

#endif
