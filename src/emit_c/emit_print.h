/* emit_print.h: the printer's state and the functions its files share,
 * internal to src/emit_c. The printer walks a plan (emit_plan.h) and
 * decides nothing; every spelling of the target comes from the plan's
 * emit_target row.
 *
 *   emit_print.c    the core: isl AST nodes, statements and IR expressions
 *   emit_ukernel.c  contractions: packed loops around register-tile micro-kernels
 *   emit_abi.c      the entry ABI: signatures, size checks, workspace, packed form
 *   emit_c.c        functions, constants, helpers, files; emit_plan_print
 */
#ifndef AOTC_EMIT_PRINT_H
#define AOTC_EMIT_PRINT_H

#include "emit_plan.h"

#include <stdio.h>

/* Integer helpers the emitted code may call. */
typedef enum {
  EMIT_H_FLOORDIV, /* aotc_floordiv */
  EMIT_H_CEILDIV,  /* aotc_ceildiv */
  EMIT_H_MIN,      /* aotc_min */
  EMIT_H_MAX,      /* aotc_max */
  EMIT_H_WS_SIZE,  /* aotc_ws_size */
  EMIT_H_WS_PLAN,  /* aotc_ws_plan: the per-call memory plan (emit_abi.c) */
  EMIT_H_COUNT
} emit_helper;

/* Float math printed as inline polynomials (emit_vmath.c). */
typedef enum {
  EMIT_VM_PICK,  /* aotc_pickf: a select on the bits (the others use it) */
  EMIT_VM_EXP,   /* aotc_expf */
  EMIT_VM_EXP_NEG, /* aotc_expf_neg: exp of an argument at most 0 */
  EMIT_VM_ERF,   /* aotc_erff */
  EMIT_VM_TANH,  /* aotc_tanhf */
  EMIT_VM_POW2F, /* aotc_pow2f: x * x */
  EMIT_VM_POW3F, /* aotc_pow3f */
  EMIT_VM_POW2,  /* aotc_pow2: double */
  EMIT_VM_POW3,  /* aotc_pow3 */
  EMIT_VM_COUNT
} emit_vmath_fn;

/* The module being printed: which helpers its code needs. */
typedef struct emit_module {
  const emit_plan *plan;
  const emit_target *tg;
  bool helper[EMIT_H_COUNT];
  bool min_of[IR_TYPE_COUNT], max_of[IR_TYPE_COUNT], abs_of[IR_TYPE_COUNT]; /* typed helpers */
  bool need_thread;  /* aotc_thread(): the thread's number */
  bool need_align;   /* AOTC_ALIGN(n) on local arrays (emit_ukernel.c) */
  bool need_copy_run; /* aotc_copy_run: masked 16-lane copies of a packed panel's runs (emit_ukernel.c) */
  bool need_immintrin; /* AVX-512 intrinsics in the code under EMIT_AVX512_GUARD (emit_window.c) */
  bool vmath[EMIT_VM_COUNT]; /* inline float math the code calls (emit_vmath.c) */
  bool vmath_vec[EMIT_VM_COUNT]; /* and their 16-lane AVX-512 forms (emit_vmath_vec_print) */
  int n_ukr;         /* micro-kernels the code calls (distinct register tile, vector width, B's reading) */
  sched_blocks *ukr; /* room for every contraction of the plan */
  bool *ukr_strided; /* ukr[i] is the variant for B read in place (emit_ukernel.c) */
} emit_module;

/* One function being printed. */
#define EMIT_MAX_HOIST 4
typedef struct emit_fn {
  emit_module *em;
  const emit_plan_fn *pf;
  FILE *out;
  const ir_func *f;
  const char *name;         /* C name of the entry */
  const char **param_c;     /* declared names of the size parameters */
  const char **param_use;   /* spelling in expressions: name or fixed value */
  const char **tensor_c;    /* C names of the tensors */
  const char ***dim;        /* local holding a computed dimension, or NULL */
  bool *is_read;            /* per tensor: read by some statement */
  const poly_kernel *k;     /* the kernel being printed (its statements are named from its first) */
  const ir_stmt *stmt;      /* the statement being printed */
  isl_ast_expr **iter;      /* current statement: value of each index */
  int indent;
  bool failed;
  const char *acc;          /* scalar replacement: the local that stands for the left-hand side */
  const void *pragma_loop;   /* the loop a pragma was just printed for: not unrolled (emit_print.c) */
  bool epi_on;              /* printing a fused epilogue (emit_epilogue.c): reads of epi_tensor at the */
  int epi_tensor;           /* point are the tile's value aotc_v, of tensors of its shape at aotc_eo */
  bool depth_split;         /* printing a thread's share of a product's depth (emit_ukernel.c) */
  bool *prepack;            /* [2 * contraction + operand]: packed in advance (emit_prepack_setup) */
  bool *replaced;           /* per tensor: a constant read only through packed arrays */
  int *pack_same;           /* [2 * contraction + operand]: an earlier packed array of the same floats, or -1 */
  const struct emit_blob *blob; /* with --weights: the blob's layout, else NULL */
  /* CUDA (emit_cuda.c): the loops of a mapped band (sched_gpu_map) are
   * spread over the blocks or the threads of a block */
  bool map_on;              /* the kernel being printed runs on a grid: its marks map loops */
  int map_kind;             /* EMIT_MAP_NONE, _BLOCKS, _THREADS */
  int map_n, map_depth;     /* mapped loops of the band; how many enclose the loop being printed */
  int map_base;             /* schedule depth of the band's first member (its loop c<map_base>) */
  int red_threads;          /* a reduction kernel (sched_gpu_band.reduce): threads along x sharing each
                             * accumulator loop, whose partial results meet in aotc_red_mem (shared);
                             * the other statements run on thread 0; 0: none */
  bool red_split;           /* the next loop printed is a reduction spread over those threads */
  int red_stage;            /* a reduction kernel cut in two (sched_gpu_band.split, emit_split_ok): 1: its
                             * reduction spread over red_blocks blocks too, their partial results into
                             * aotc_part_mem (nothing else printed); 2: the kernel with the reduction
                             * folding those; 0: neither */
  int red_blocks;           /* stages 1 and 2: blocks sharing the reduction, along grid dimension red_dim */
  int red_dim;              /* (the first after the members': sched_gpu_band.n) */
  int64_t part_bytes;       /* CUDA: the split reductions' partial results in the workspace, after the
                             * temporaries (emit_cuda_partial_bytes); 0: none */
  int n_hoist;              /* emit_hoist.c: reads printed as locals set before the loop */
  const ir_expr *hoist[EMIT_MAX_HOIST];
  isl_ast_node *rows_map, *rows_red; /* emit_hoist.c: an "aotc_map_red_rows" loop's two statements */
  const struct win_kernel *win; /* emit_window.c: the window kernel being printed, or NULL */
  int win_end;                  /* emit_window.c: statements before it printed by a window kernel */
  const ir_expr *tile_read;     /* emit_cuda_transp.c: this read is printed as EMIT_CUDA_TILE_READ */
} emit_fn;

/* ---- emit_hoist.c: a row kernel's vector loop ("aotc_simd_rows") reads
 * the loop-invariant values of other tensors from locals: prints "{" and
 * them before the loop (false: not a loop over one statement, nothing
 * printed); emit_hoist_end closes the block; emit_hoisted prints e's local
 * when e is one of them. */
bool emit_hoist_begin(emit_fn *E, __isl_keep isl_ast_node *loop);
void emit_hoist_end(emit_fn *E);
bool emit_hoisted(emit_fn *E, const ir_expr *e);
/* A row kernel's reduction loop ("aotc_red_rows") over one float sum,
 * maximum or minimum, printed with four accumulators; false: not such a
 * loop, nothing printed. */
bool emit_rows_reduction(emit_fn *E, __isl_keep isl_ast_node *loop);
/* The same for a loop ("aotc_map_red_rows", rows.c) whose body is a map
 * and the reduction of the element it just wrote: each step stores the
 * map's element and combines it into the accumulators, the map's row
 * invariants read from locals as emit_hoist_begin prints them. */
bool emit_rows_map_reduction(emit_fn *E, __isl_keep isl_ast_node *loop);
/* The right-hand side of s in its tensor's type. */
void emit_print_rhs(emit_fn *E, const ir_stmt *s);

enum { EMIT_MAP_NONE, EMIT_MAP_BLOCKS, EMIT_MAP_THREADS };
/* Does node hold a loop annotated EMIT_PLAN_ACC (an accumulator loop) that
 * is not below a SCHED_MARK_SPREAD? */
bool emit_ast_has_acc(__isl_keep isl_ast_node *node);
/* A reduction kernel's partial results in shared memory (aotc_red_mem) for
 * a block of threads along x: one per warp with shuffles (none for one
 * warp), else one per thread. */
int emit_reduce_shared_slots(const emit_target *tg, int threads);
/* Can the reduction kernel part (its grid mark or a node above it) be cut
 * into two stages: exactly one accumulator loop (or nest), under no loop
 * of a thread's own (one instance per block), reading no tensor the part
 * writes? */
bool emit_split_ok(emit_fn *E, __isl_keep isl_ast_node *part);

/* ---- emit_prepack.c: constant operands of contractions packed in advance */
/* Whether operand op (0: a, rows; 1: b, columns) of contraction c of f can
 * be packed when the code is built: a float32 constant read with subscripts
 * of its lane and depth indices only, constant extents (both backends). */
bool emit_pack_operand_ok(const ir_func *f, const sched_contraction *c, int op);
/* Floats between the panel arrays of consecutive batches of that operand
 * (it reads the batch indices: one array per batch, batch q at q times
 * this); 0 when one array serves every batch. */
int64_t emit_pack_batch_stride(const ir_func *f, const sched_contraction *c, int op, int width);
/* The panel arrays operand op of c is packed into: its batches when it reads
 * every batch index (Winograd's transformed weights), else 1. */
int64_t emit_pack_batches(const ir_func *f, const sched_contraction *c, int op);
/* That operand packed P[batch][lane panel][depth][lane] for panels of width lanes
 * (lanes past the end zero); *n_out floats, calloc'ed (NULL: out of memory). */
float *emit_pack_operand(const ir_func *f, const sched_contraction *c, int op, int width, int64_t *n_out);

/* same[q] for each operand q = 2 * contraction + op packed in advance
 * (packed[q]): an earlier one whose packed array holds the same floats (one
 * weight packed alike by several contractions), whose array it uses; -1
 * when none (and when not packed). False: out of memory. */
bool emit_pack_same(const ir_func *f, const emit_plan_fn *pf, const bool *packed, int *same);

/* A constant read elsewhere too is packed in advance only up to this size. */
#define EMIT_PREPACK_COPY_BYTES ((int64_t)16 << 20)
/* Past this many bytes of embedded weights, a warning suggests --weights. */
#define EMIT_EMBED_WARN_BYTES ((int64_t)256 << 20)
/* Decides which operands are packed in advance and which constants they
 * replace; with --weights, E->blob. Before anything else is printed. */
bool emit_prepack_setup(emit_fn *E);
/* Whether operand op (0: a, the rows; 1: b, the columns) of contraction ci
 * is a constant packed in advance (constant extents, no batch index). */
bool emit_prepack_usable(const emit_fn *E, int ci, int op);
/* The packed array's C name (also the LLVM backend's global): of operand
 * op of contraction ci of function fn, in ctx's arena. */
const char *emit_prepack_name(aotc_ctx *ctx, const char *fn, int ci, int op);
void emit_prepack_print_name(const emit_fn *E, int ci, int op);
/* The packed arrays of E's function (or, with --weights, their places in
 * the blob), before it. */
bool emit_prepack_print(emit_fn *E);
/* Whether constant tensor t is read only through packed arrays (and so
 * not printed). */
bool emit_prepack_replaces(const emit_fn *E, int t);

/* ---- emit_outline.c: the entry of a CPU function of constant sizes with
 * kernels that repeat up to the pointers they use (batch chunks): each
 * such kernel printed once as a static function before the entry, called
 * per copy; open prints the entry's signature and locals. False (nothing
 * printed) when the function does not qualify. */
bool emit_outline_print_entry(emit_fn *E, void (*open)(emit_fn *));
/* The same grouping for another backend (the LLVM one): per kernel its
 * group (-1: built inline) and the entry's pointers it uses, in the order of the function's parameters: a tensor,
 * EMIT_OUTLINE_WORKSPACE or EMIT_OUTLINE_PACK. False (g empty) when the
 * function does not qualify or no kernel repeats. E set up as for printing
 * (emit_outline_plan), with no output. */
#define EMIT_OUTLINE_WORKSPACE (-1)
#define EMIT_OUTLINE_PACK (-2)
typedef struct emit_outline_groups {
  int n, n_groups;
  int *group, *n_uses, **uses;
} emit_outline_groups;
bool emit_outline_kernels(emit_fn *E, emit_outline_groups *g);
/* Whether function pf of p is one whose repeated kernels are printed once. */
bool emit_outline_qualifies(const emit_plan *p, const emit_plan_fn *pf);
/* emit_outline_kernels for function pf of plan p (emit_c.c sets up the printer). */
bool emit_outline_plan(const emit_plan *p, const emit_plan_fn *pf, emit_outline_groups *g);
void emit_outline_groups_free(emit_outline_groups *g);
/* With --weights: the blob (constants, then packed arrays) to path. */
bool emit_prepack_write_blob(emit_fn *E, const char *path);

static inline const char *emit_type_name(const emit_fn *E, ir_type t)
{
  return E->em->tg->type_name[t];
}

/* ---- emit_vmath.c: float math as inline polynomials */

/* The inline helper standing for builtin fn on type t (marked as used), or
 * NULL: libm's name then. call, when given, is the call printed in
 * statement user of f; its argument may allow a cheaper form (exp of
 * x - max x). */
const char *emit_vmath_name(emit_module *em, const ir_func *f, const ir_stmt *user, const ir_expr *call,
                            ir_builtin fn, ir_type t);
/* The same choice for code planned by p for target tg, as an
 * emit_vmath_fn (EMIT_VM_EXP, EMIT_VM_EXP_NEG, EMIT_VM_ERF or
 * EMIT_VM_TANH); -1: libm's. The LLVM backend builds the chosen one
 * inline (llvm_vmath.c). */
int emit_vmath_pick(const emit_plan *p, const emit_target *tg, const ir_func *f, const ir_stmt *user,
                    const ir_expr *call, ir_builtin fn, ir_type t);
/* pow(x, 2) or pow(x, 3) (a constant exponent): the one-argument helper
 * that multiplies (marked as used); NULL otherwise. */
const char *emit_vmath_power(emit_fn *E, const ir_expr *e);
/* The marked helpers' definitions, each guarded to be defined once. */
void emit_vmath_print_defs(FILE *out, const emit_module *em);

/* The guard of code written with AVX-512 intrinsics (GNU C or clang with
 * -mavx512f or -march=native on such a CPU; -DAOTC_NO_VECTORS turns it
 * off); the portable code is beside it in the #else. */
#define EMIT_AVX512_GUARD "#if defined(__AVX512F__) && !defined(AOTC_NO_VECTORS)\n"
/* Whether float expression e of statement s (bound) can be printed 16
 * lanes at a time along its index x with AVX-512 intrinsics: reads whose
 * last subscript is x and no other moves with x (unit stride), values
 * that do not move with x (broadcast), + - * / and negation, and calls of
 * the helpers that have a 16-lane form; *calls counts those calls. */
bool emit_vmath_vec_ok(const emit_fn *E, const ir_stmt *s, const ir_expr *e, int x, int *calls);
/* Prints it, as an __m512 expression: lane k is e at x = (x's value) + k. */
void emit_vmath_vec_print(emit_fn *E, const ir_stmt *s, const ir_expr *e, int x);

/* ---- emit_print.c: text at the current indentation */

void emit_indent(emit_fn *E);
void emit_line(emit_fn *E, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `TEXT {` and one level deeper; emit_close_block ends it. */
void emit_open_block(emit_fn *E, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void emit_close_block(emit_fn *E);
/* Printing into a string: emit_text_begin points E->out at a memory stream
 * (false, E->out unchanged, if none opens); emit_text_end points it back
 * and returns what was printed (malloc'ed). */
typedef struct emit_text {
  FILE *saved;
  char *buf;
  size_t len;
} emit_text;
bool emit_text_begin(emit_fn *E, emit_text *t);
char *emit_text_end(emit_fn *E, emit_text *t);

/* ---- emit_print.c: values, sizes, accesses */

void emit_print_i64(FILE *out, int64_t v);
/* A decimal spelling that C reads back as the same float or double. */
void emit_print_float_literal(const emit_target *tg, FILE *out, double v, ir_type t);
/* A size expression (marks the helpers it calls). */
void emit_print_size(emit_fn *E, const ir_size *s);
/* Dimension j of tensor t: a constant, a parameter or a local. */
void emit_print_dim(emit_fn *E, int t, int j);
/* A subscript of the statement being printed, as an int64_t value. */
void emit_print_subscript(emit_fn *E, const ir_expr *e);
/* A read T[...] of the statement being printed, bounds-checked when padded. */
void emit_print_read(emit_fn *E, const ir_expr *e);
/* Expression e of the statement being printed, as a value of type t. */
void emit_print_value(emit_fn *E, const ir_expr *e, ir_type t);
/* The left-hand side of s: T[...], or the scalar-replacement local. */
void emit_print_lhs(emit_fn *E, const ir_stmt *s);
/* Index values bound for s: its indices, or a general initialisation's
 * coordinates (one per dimension of the tensor written). */
int emit_bound_count(const ir_stmt *s);
/* The update s makes (T[...] = rhs, +=, min/max), without the ";". */
void emit_print_update(emit_fn *E, const ir_stmt *s);
/* Binds index x of the statement being printed to the C variable aotc_x<x>. */
void emit_bind_index(emit_fn *E, int x);
void emit_unbind_indices(emit_fn *E, const ir_stmt *s);

/* ---- emit_print.c: isl's loops */

void emit_print_node(emit_fn *E, __isl_keep isl_ast_node *node);
/* An isl expression (a loop bound, a grid size). */
void emit_print_ast_expr(emit_fn *E, __isl_keep isl_ast_expr *e);

/* ---- emit_cuda.c */

/* The __global__ functions of every kernel of the function. */
void emit_cuda_print_kernels(emit_fn *E);
/* The entry's launches of them, in order, on `stream`. */
void emit_cuda_print_launches(emit_fn *E);
/* The workspace bytes of the split reductions' partial results (8 per
 * output and block, the most any part needs: parts run one after the
 * other), also left in E->part_bytes; 0: none. */
int64_t emit_cuda_partial_bytes(emit_fn *E);

/* ---- emit_cuda_contr.c: contractions with their tiles in shared memory */

int emit_cuda_contraction_shared_bytes(void);
void emit_cuda_contraction_block(int block[3]);
/* The kernel's body for contraction ci of the function (E->pf->contr). */
void emit_cuda_print_contraction_body(emit_fn *E, int ci);
/* Its grid: dim3(...) of the sizes. */
void emit_cuda_print_contraction_grid(emit_fn *E, int ci);

/* ---- emit_cuda_transp.c: a transposed read promoted through a shared tile */

#define EMIT_CUDA_TILE_READ "aotc_t[aotc_tx][aotc_r]"
int emit_cuda_transpose_shared_bytes(void);
void emit_cuda_transpose_block(int block[3]);
/* The kernel's body for statement stmt (emit_kernel.transpose). */
void emit_cuda_print_transpose_body(emit_fn *E, int stmt);
/* Its grid: dim3(...) of the sizes. */
void emit_cuda_print_transpose_grid(emit_fn *E, int stmt);

/* ---- emit_c.c and emit_region.c: kernels and the regions around them */

/* Kernel i of the function: packed loops or isl's. */
void emit_print_kernel(emit_fn *E, int i);
/* The kernels of region r inside its branches and loops. */
void emit_region_print(emit_fn *E, const ir_region *r);
/* Marks the tensors the control of r (NULL: none) reads. */
void emit_region_mark_reads(const ir_region *r, bool *is_read);

/* ---- emit_epilogue.c: epilogues fused into the store of a contraction */

/* After the micro-kernel call of contraction ci: its epilogue kernels on
 * the tile, after the last depth block. */
void emit_epilogue_print_tile(emit_fn *E, int ci);

/* Whether a and b have the same known shape (emit_epilogue.c). */
bool emit_same_shape(const ir_tensor *a, const ir_tensor *b);

/* Whether the lanes set[0..n-1] of s's read are consecutive floats
 * (emit_ukernel.c). */
bool emit_lanes_contiguous(const ir_func *f, const ir_stmt *s, const ir_expr *read, const int *set, int n);
/* Packed products (emit_ukernel.c, llvm_contr.c): with fewer batches than
 * threads, thread t of T takes a slice of the columns or of the rows, whole
 * register tiles each; otherwise whole batches. The slice is along the
 * larger of the two, unless the other leaves the busiest thread
 * EMIT_SPLIT_GAIN_PCT percent less to do, counted as its vector
 * multiply-adds (vectors of columns times rows of its register tiles times
 * the depth) plus the floats it reads (all of the operand not sliced). 196
 * columns of 32 over 2 threads are 128 and 68 (8 and 5 vectors) where 96
 * rows of 12 are 48 and 48: MobileNetV2's 14x14 projections, 0.125 -> 0.104
 * ms on 2 threads by rows. 784 columns and 32 rows of 8: by rows, 6% fewer
 * multiply-adds but each thread reads all of B, which made them 0.053 ->
 * 0.067 ms; the floats keep them by columns (and 196 columns by 64 rows by
 * rows: 0.068 -> 0.057 ms). */
#define EMIT_SPLIT_GAIN_PCT 5
/* Where the full panels of contraction c's B can be read in place, the
 * position of its depth index among B's subscripts, else -1; the caller
 * rules out B packed in advance or shared (emit_ukernel.c). */
int emit_b_in_place_pos(const ir_func *f, const sched_contraction *c, const sched_blocks *b);
/* A read inside an epilogue: true when printed here (the tile's value, a
 * residual at the element's offset). */
bool emit_epilogue_print_read(emit_fn *E, const ir_expr *e);
/* An epilogue kernel: a comment where its loops were; false for others. */
bool emit_epilogue_print_kernel(emit_fn *E, const emit_kernel *k);

/* ---- emit_window.c: small 2-D windows as row kernels */

/* Kernel k printed as a window row kernel; false (nothing printed) when it
 * is not one. */
bool emit_window_print_kernel(emit_fn *E, const emit_kernel *k);
/* A read inside a window's pointwise statements: true when printed here
 * (a value of the row held in a local). */
bool emit_window_print_read(emit_fn *E, const ir_expr *e);

/* ---- emit_grouped.c: stride-1 grouped convolutions as a direct kernel */

/* Kernel k (a contraction) printed as a direct grouped convolution; false
 * (nothing printed) when it is not one. */
bool emit_grouped_print_kernel(emit_fn *E, const emit_kernel *k);

/* ---- emit_ukernel.c */

/* The packed loops of contraction ci of the function (E->pf->contr). */
void emit_ukernel_print_contraction(emit_fn *E, int ci);
/* The definitions of the micro-kernels the module's code calls. */
void emit_ukernel_print_defs(FILE *out, const emit_module *em);
/* #define AOTC_ALIGN(n): an alignment asked of a local array (GCC), once. */
void emit_print_align_macro(FILE *out);
void emit_ukernel_print_copy_run(FILE *out);
/* Workspace bytes of the packing buffers: a constant for a function
 * without parameters (-1 if unknown), else an expression of the sizes. */
int64_t emit_ukernel_static_pack_bytes(const emit_fn *E);
void emit_ukernel_print_pack_bytes(emit_fn *E);
/* Whether contraction ci of pf splits its depth over its threads
 * (emit_ukernel.c's print_depth_split; b_shared: its threads share B's
 * panel instead); the partial products of threads 1..T-1, m x n floats
 * each, follow the T threads' packing buffers. */
bool emit_ukernel_splits_depth(const ir_func *f, const emit_plan_fn *pf, int ci, bool b_shared);
/* AOTC_SHARED_B=1 (emit_ukernel.c's shares_b). */
bool emit_ukernel_shared_b_on(void);

/* ---- emit_checks.c: run-time checks of indices read from data */

/* One access with data-dependent subscripts: tensor t at subs[0..n-1],
 * read by statement s or (write) its general left-hand side. */
typedef struct emit_checked_access {
  const ir_stmt *s;
  int t, n;
  ir_expr *const *subs;
  bool write;
  ir_loc loc;
} emit_checked_access;

typedef void (*emit_access_visitor)(void *data, const emit_checked_access *a);

/* Whether e reads a tensor anywhere (a subscript that does is data-dependent). */
bool emit_checks_reads_data(const ir_expr *e);
/* Calls fn on each access of s with data-dependent subscripts, inner ones
 * first: its reads, then a general left-hand side. Padded reads are not. */
void emit_checks_visit_stmt(const ir_stmt *s, emit_access_visitor fn, void *data);
/* The tensor a's indices are read from (the first its subscripts read). */
int emit_checks_index_source(const emit_checked_access *a);
/* Marks the indices a's data-dependent subscripts mention. */
void emit_checks_mark_used(const emit_checked_access *a, bool *used);

/* The checks of kernel k's data-dependent subscripts, before its loops. */
void emit_checks_print_kernel(emit_fn *E, const emit_kernel *k);
/* Accesses of the function with checked subscripts. */
int emit_checks_count(const emit_fn *E);
/* The header's note of the return code, when the function has checks. */
void emit_checks_print_note(emit_fn *E);

/* ---- emit_abi.c */

/* The text of aotc_ws_plan, the memory plan the emitted code runs at each
 * call when the sizes of temporaries depend on size parameters (memplan.c). */
extern const char emit_abi_ws_plan_text[];

/* Elements of a tensor whose shape holds no parameter; -1 if it does. */
int64_t emit_abi_const_numel(const ir_tensor *T);

/* NAME_workspace_bytes(sizes). */
void emit_abi_print_workspace_bytes(emit_fn *E);
/* The entry's signature and prologue up to its first kernel: unused inputs,
 * size checks, computed dimensions, workspace pointers. */
void emit_abi_print_entry_open(emit_fn *E);
/* NAME_call and NAME_call_workspace_bytes (packed arguments, for FFI). */
void emit_abi_print_packed(emit_fn *E);
/* The header's prototypes and NAME_WORKSPACE_BYTES. */
void emit_abi_print_prototypes(emit_fn *E);

/* ---- emit_halide.c: --abi halide (docs/halide.md) */

/* NAME_halide over halide_buffer_t, NAME_halide_argv, the filter metadata
 * and the workspace functions, after NAME; sets E->failed if unsupported. */
void emit_halide_print(emit_fn *E);
/* Their prototypes and NAME_HALIDE_WORKSPACE_BYTES, for the header. */
void emit_halide_print_prototypes(emit_fn *E);

#endif
