/* schedule.h: the schedule options (one struct: the search space of the
 * autotuner, printable and parseable) and the transformations that apply
 * them to a kernel's isl schedule tree before the AST is built. */
#ifndef AOTC_SCHEDULE_H
#define AOTC_SCHEDULE_H

#include "ir.h"

#include <isl/schedule.h>

#define SCHED_MAX_DIMS 8

typedef enum {
  SCHED_FUSE_MAX,          /* fuse as much as isl can */
  SCHED_FUSE_KEEP_PARALLEL, /* fuse unless it costs an outer parallel loop */
  SCHED_FUSE_MIN,          /* every statement in its own loop nest */
  SCHED_FUSE_COUNT
} sched_fusion;

/* Text form (sched_options_print, sched_options_parse): one line of
 * `key=value` separated by spaces; a missing key keeps its default
 * (sched_options_default), "none" or "" is the default itself:
 *
 *   tile=64,256,128 reg=6,32,1 order=0,2,1 fuse=max unroll=8 vec=1 vbytes=64
 *   threads=2 pack=1 sr=1 mk=1
 *
 * Lists are per member of the outermost permutable band, missing members
 * are 0 (order: in place). For a contraction handled by the micro-kernel
 * (mk=1, see sched_contraction) the lists are indexed by the statement's
 * index variables and read at its last row, column and depth index: tile=
 * gives the cache blocks (rows of A, columns of B, depth), reg= the register
 * tile (rows, columns; columns a multiple of the vector width for the vector
 * path), threads= the threads; order= and unroll= do not apply there (the
 * micro-kernel is always fully unrolled). 0 or a missing entry: the
 * heuristic value. */
typedef struct sched_options {
  int tile[SCHED_MAX_DIMS];     /* tile=: cache tile size per band member; 0: untiled */
  int reg_tile[SCHED_MAX_DIMS]; /* reg=: register tile size per member inside the cache tiles; 0: none */
  int order[SCHED_MAX_DIMS];    /* order=: order of the point loops inside the tiles (a permutation of 0..n-1) */
  sched_fusion fusion;          /* fuse=max|keep|min */
  int unroll;          /* unroll=: unroll register tiles of up to this many iterations; 0: off */
  bool vectorize;      /* vec=: innermost stride-1 loop in a form gcc and clang vectorise */
  int threads;         /* threads=: threads the code is scheduled for; > 1: OpenMP over outer coincident loops */
  bool pack;           /* pack=: copy reused tiles into contiguous workspace buffers */
  bool scalar_replace; /* sr=: keep reduction accumulators in locals */
  bool microkernel;    /* mk=: contractions (C(i,j) +=! A(.i.k.) * B(.k.j.)) become packed
                          BLIS-like loops around a register-tile micro-kernel: tile= gives the
                          cache blocks (rows, columns, depth), reg= the register tile */
  int vector_bytes;    /* vbytes=: bytes of a SIMD vector the code is written for (16, 32, 64) */
  /* CUDA (gpu_map.c); printed only when set */
  int gpu_block[3];    /* block=: threads per block along x, y, z (x: innermost mapped loop); 0: heuristic */
  int gpu_grid[3];     /* grid=: at most this many blocks along x, y, z; 0: one block per tile */
  bool gpu_promote;    /* shared=: contractions as tiled kernels with their operands' tiles in shared memory */
  int gpu_reduce;      /* reduce=: threads of a block that share each reduction of a kernel with few outputs
                          (a power of two); 0: heuristic (SCHED_GPU_REDUCE_THREADS when the outputs are at
                          most SCHED_GPU_REDUCE_OUTPUTS for every size); 1: off (a thread per output) */
  int gpu_split;       /* split=: blocks sharing each reduction of a reduction kernel (a grid-level two-stage
                          reduction: partial results in the workspace, a second kernel folds them); 0:
                          heuristic (SCHED_GPU_FILL_BLOCKS / outputs when that is 2 or more and the
                          reduction may be long); 1: off (a block per output) */
  bool gpu_promote_reads; /* promote=: a statement reading a tensor transposed (its fastest subscript the
                          loop mapped to threadIdx.y) as a tiled transpose through shared memory
                          (emit_cuda_transp.c): coalesced reads and writes */
} sched_options;

/* ------------------------------------------------------------------------
 * CPUs: what the heuristics assume about the machine the code will run on
 * ------------------------------------------------------------------------ */

/* One row per `--cpu NAME` (cpu.c). The heuristics read the vector width and
 * the micro-kernel's blocks from a row, never from the compiling machine;
 * only "native" looks at it, to pick the row it matches. */
typedef struct sched_cpu {
  const char *name;  /* --cpu NAME */
  const char *what;  /* one line: what the row assumes */
  int vector_bytes;  /* SIMD width the code is written for (vbytes=); 4: no vectors */
  bool microkernel;  /* contractions take the packed micro-kernel path (mk=) */
  int mr;            /* micro-kernel: register tile rows */
  int nr_vectors;    /* register tile columns, in vectors */
  int mc_tiles;      /* row block, in register tiles */
  int nc;            /* column block */
  int kc;            /* depth block */
} sched_cpu;

/* The row named name; "native": sched_cpu_native(). NULL if unknown. */
const sched_cpu *sched_cpu_find(const char *name);
/* The row this machine matches: x86-64-v4, -v3 or -v2 by its vector ISA,
 * generic elsewhere. AOTC_HOST_CPU=NAME in the environment pretends to be
 * that machine (tests emulate a machine without AVX-512 with it). */
const sched_cpu *sched_cpu_native(void);
/* "native, x86-64-v4, ...": the names, for messages and --help. */
void sched_cpu_list(char *buf, size_t n);

/* ------------------------------------------------------------------------
 * Options: defaults and heuristics
 * ------------------------------------------------------------------------ */

/* No transformation: program-order-like loops, one thread. */
void sched_options_default(sched_options *o);
/* Good options without tuning for cpu (NULL: sched_cpu_native()): the
 * micro-kernel's blocks for a contraction, else scalar replacement and
 * vector marks. */
void sched_options_heuristic(const ir_func *f, int threads, const sched_cpu *cpu, sched_options *o);
/* Text form, one line, `key=value` separated by spaces, e.g.
 *   tile=64,256,128 reg=6,32,1 order=0,2,1 fuse=max unroll=8 vec=1 threads=2 pack=1 sr=1
 * Returns the length snprintf would need. */
int sched_options_print(char *buf, size_t n, const sched_options *o);
/* Parses the text form; unknown keys or bad values: false, with a message. */
bool sched_options_parse(const char *s, sched_options *o, char *err, size_t err_len);

/* ------------------------------------------------------------------------
 * Contractions: statements the micro-kernel path handles
 * ------------------------------------------------------------------------ */

/* C(b.., I.., J..) (+)=(!) A(.. I .. K ..) * B(.. K .. J ..) in float32:
 * the subscripts of A and B are index arithmetic (affine as in a
 * convolution, padded reads allowed), rows I are the left-hand indices in
 * A only, columns J those in B only, depth K the reduction indices in both,
 * batch indices the other left-hand ones; rows and columns each occupy
 * consecutive positions of C whose inner dimensions equal the index ranges
 * (so that a flattened row or column moves by one stride), every range
 * starts at 0. Flattened, it is a matrix product of M = |I| rows, N = |J|
 * columns and depth K = |K|. */
typedef struct sched_contraction {
  int stmt;            /* the IR statement */
  const ir_expr *a, *b; /* the two accesses: a holds the rows, b the columns */
  int i, j, k;         /* the last row, column and depth index: where tile= and reg= are read */
  int n_rows, rows[SCHED_MAX_DIMS];   /* row indices, outermost first */
  int n_cols, cols[SCHED_MAX_DIMS];   /* column indices, outermost first */
  int n_depth, depth[SCHED_MAX_DIMS]; /* depth indices, outermost first */
  int n_batch;
  int batch[SCHED_MAX_DIMS]; /* the other left-hand indices */
  bool init;           /* `+=!`: C starts at 0 */
} sched_contraction;

/* Is statement stmt of f (alone in its kernel) a contraction? */
bool sched_find_contraction(const ir_func *f, int stmt, sched_contraction *out);
/* The micro-kernel's blocks for a contraction under options o (defaults
 * filled in, register tile multiple of the vector width). */
typedef struct sched_blocks {
  int mc, nc, kc; /* cache blocks: rows of A, columns of B, depth */
  int mr, nr;     /* register tile */
  int vw;         /* vector width in elements (nr is a multiple); 1: scalar */
  int threads;
} sched_blocks;
void sched_contraction_blocks(const sched_contraction *c, const sched_options *o, sched_blocks *b);
/* Depth steps ahead at which a micro-kernel asks for its panel of A (both
 * backends). A's panels are the prepacked weights, which stream from memory
 * in a model (ResNet-18's layer4: 9.4 MB per convolution): 32 steps ahead
 * (1.5 KiB of a 12-row panel, some 400 cycles) left that stream waiting on
 * DRAM; 128 took layer4's convolutions from 1.35 to 1.18 ms (bench/RESULTS.md). */
#define SCHED_UKR_PREFETCH_STEPS 128
/* The heuristic blocks of one contraction of f for cpu (NULL: native), from
 * its own row, column and depth indices (options o hold the heuristics of a
 * function's first contraction, indexed by that one's index variables), on
 * sched_kernel_threads threads. */
void sched_contraction_heuristic(const ir_func *f, const sched_contraction *c, const sched_options *o,
                                 const sched_cpu *cpu, sched_blocks *b);
/* contr_shape.c: b's register tile fitted to c's constant extents (fewer
 * rows where the last tile of mr would be mostly padding), its row block
 * rounded to it; deeper depth blocks for a product of few columns. */
void sched_contraction_fit_tile(const ir_func *f, const sched_contraction *c, sched_blocks *b);
/* The product of the ranges of s's indices set[0..n-1] (a role of a
 * contraction); -1 when one is not constant. */
int64_t sched_role_extent(const ir_stmt *s, const int *set, int n);

/* Kernels of fewer iterations than this (all statements, reductions
 * included) run on one thread: a parallel region costs more than it saves,
 * and far more on a loaded machine where a barrier waits for a descheduled
 * thread (2^17 points, some 20-40 us of work: the MLP's 256x256 products in
 * parallel took 0.007 ms a call on a quiet machine and 14-16 ms at load 3;
 * at 4096 before). */
#define SCHED_SERIAL_POINTS 131072
/* Products with fewer output elements than this stay plain loops fused
 * with their bias (a batch-1 matrix-vector product); larger ones take the
 * packed micro-kernel path (partition.c gives them their own kernel,
 * emit_ukernel.c warns when one does not). The transformer's 16x192 and
 * 16x64 token products ran 10-30x slower as plain loops (their reduction
 * innermost, over a column of the weights) than packed. */
#define SCHED_PACKED_MIN_OUTPUT 1024
/* The threads for the kernel of statements first..end-1 of f under the
 * heuristics: 1 when it is small (SCHED_SERIAL_POINTS), else threads. */
int sched_kernel_threads(const ir_func *f, int first, int end, int threads);
/* The fusion for the kernel of statements first..end-1 under the
 * heuristics: SCHED_FUSE_MAX when none has a reduction and all but the first
 * run over the same box (a depthwise convolution: its padded copy, then the
 * taps, bias and activation; a chain of elementwise operators): one pass over
 * memory instead of one per statement. Else fusion. */
sched_fusion sched_kernel_fusion(const ir_func *f, int first, int end, sched_fusion fusion);
/* Whether the kernel of statements first..end-1 is a window's taps (each
 * over the box of outputs it reaches, inside the first statement's box)
 * with their pointwise consumers: fused (SCHED_FUSE_MAX) and separated
 * (sched_separate) by the heuristics. */
bool sched_kernel_taps(const ir_func *f, int first, int end);

/* ------------------------------------------------------------------------
 * Schedule tree transformations
 * ------------------------------------------------------------------------ */

/* Applies tiling (cache then register tiles), point-loop order and marks
 * for parallel and vector loops to a kernel's schedule. The outermost
 * permutable band is tiled only when legal (permutable) and every member
 * has a tile size. Returns the new schedule (schedule on failure). */
__isl_give isl_schedule *sched_apply(__isl_take isl_schedule *schedule, const sched_options *o);

/* Row kernels (rows.c): statements first..end-1 of f that reduce over part
 * of a row and map over the same row, touching each other's results only
 * in the same row. The number of leading left-hand dimensions (the rows)
 * they share; 0 when they are not such a group. */
int sched_row_prefix(const ir_func *f, int first, int end);
/* For such a group: one loop (band) over the rows around each statement's
 * loops in program order, vector marks on independent innermost loops,
 * the rows spread over o->threads; schedule is only used for its domain
 * (returned unchanged when the group does not qualify). */
__isl_give isl_schedule *sched_row_schedule(__isl_take isl_schedule *schedule, const ir_func *f, int first,
                                            int end, const sched_options *o);
/* Every band member generated as separate loops per set of active
 * statements (isl's "separate"): a tap over part of the outputs gets its
 * own loops, not a condition per element. */
__isl_give isl_schedule *sched_separate(__isl_take isl_schedule *schedule);
/* isl options (fusion) to set before the scheduler runs. */
void sched_set_isl_options(isl_ctx *isl, const sched_options *o);

/* ------------------------------------------------------------------------
 * CUDA: the mapping of bands to blocks and threads (gpu_map.c)
 * ------------------------------------------------------------------------ */

#define SCHED_MARK_GRID "aotc_grid"   /* above the tile loops: spread over the blocks */
#define SCHED_MARK_BLOCK "aotc_block" /* above the point loops: spread over a block's threads */
#define SCHED_MARK_SEQ "aotc_seq"     /* below them: sequential in each thread */
#define SCHED_MARK_SPREAD "aotc_spread" /* reduction kernels: a parallel loop over the block's threads */
#define SCHED_GPU_MAX_THREADS 1024
#define SCHED_GPU_REDUCE_THREADS 256 /* reduce=0: threads of a block sharing a reduction */
#define SCHED_GPU_REDUCE_OUTPUTS 64  /* reduce=0: cross-thread reductions for at most this many outputs */
#define SCHED_GPU_FILL_BLOCKS 128    /* split=0: blocks that fill a GPU (an H100 has 132 SMs) */
#define SCHED_GPU_SPLIT_POINTS 65536 /* split=0: reductions known to be shorter stay on one block */
#define SCHED_GPU_MAX_SPLIT 1024     /* split=: at most this many blocks per output */

struct isl_pw_aff;

/* What a grid mark's id carries (isl_id_get_user): the mapped members of a
 * band, outermost first; the innermost goes to x. */
typedef struct sched_gpu_band {
  int n;                        /* mapped members, 1..3 */
  int tile[3];                  /* tile size per member */
  int block[3];                 /* threads per member */
  int grid_cap[3];              /* at most this many blocks per member; 0: no limit */
  struct isl_pw_aff *tiles[3];  /* tiles per member as a function of the sizes; NULL: unknown */
  int depth;                    /* schedule depth of the tile band: its member i is the AST's loop
                                 * c<depth + i>, the point band's c<depth + n + i> (a loop of one
                                 * iteration is left out of the AST, so loops cannot be counted) */
  int reduce;                   /* > 0: a reduction kernel: each block runs one point of the members
                                 * (tile and block 1, no block mark) and its `reduce` threads along x
                                 * share every reduction below (the printer's cross-thread reductions);
                                 * n may then be 0 (one block) */
  int split;                    /* > 1: a reduction kernel whose reduction is also shared by `split` blocks
                                 * along grid dimension n (x, y or z after the members'): the printer
                                 * makes it two kernels, partial results in the workspace */
  int outputs;                  /* a reduction kernel: the most points its members take for any sizes
                                 * (the blocks of the first stage along the members' dimensions) */
} sched_gpu_band;

/* Options for CUDA without tuning: fusion that keeps parallel loops, scalar
 * replacement, no CPU micro-kernels or vectors, the heuristic blocks. */
void sched_gpu_options_heuristic(sched_options *o);
/* Threads per block along x, y, z for n mapped members (at most 1024). */
void sched_gpu_block_sizes(const sched_options *o, int n, int block[3]);
/* Tiles and marks the leading coincident members of every outermost band
 * (SCHED_MARK_GRID, _BLOCK, _SEQ); a band over few outputs (or with reduce=
 * set) with reductions below becomes a reduction kernel (sched_gpu_band). Returns the new schedule (schedule on
 * failure). */
__isl_give isl_schedule *sched_gpu_map(aotc_ctx *ctx, __isl_take isl_schedule *schedule, const sched_options *o);

#endif
