/* tune.h: the autotuner. Candidate schedule options are searched by an
 * evolutionary strategy (search.c), each one emitted, built into a shared
 * object, checked against the reference interpreter and timed
 * (evaluate.c); the best is kept in a tuning cache, a text file keyed by the
 * kernel, sizes, threads, CPU and compiler (cache.c, docs/tuning-cache.md).
 * CUDA candidates (--target cuda, cuda-sim) search the mapping's options,
 * run through the runner of `aotc run` and are keyed by the device
 * (docs/cuda.md). */
#ifndef AOTC_TUNE_H
#define AOTC_TUNE_H

#include "ir.h"
#include "../schedule/schedule.h"

/* ------------------------------------------------------------------------
 * Tuning cache
 * ------------------------------------------------------------------------ */

#define TUNE_FIELD 256 /* bytes of every text field of a key or entry */

/* What a measurement depends on. Text fields hold no tab or newline. */
typedef struct tune_key {
  char kernel[TUNE_FIELD];   /* "HASH:entry", HASH the FNV-1a 64 of ir_print_func's text, 16 hex digits */
  char sizes[TUNE_FIELD];    /* "M=1024,N=1024,K=1024" in parameter order ("-" when none) */
  int threads;
  char cpu[TUNE_FIELD];      /* /proc/cpuinfo "model name" */
  char isa[TUNE_FIELD];      /* "avx2,avx512f", the vector ISA flags that matter ("-" when none);
                                "avx2,avx512f@x86-64-v3" when tuned for --cpu x86-64-v3 */
  char compiler[TUNE_FIELD]; /* first line of `$CC --version` */
} tune_key;

typedef struct tune_entry {
  tune_key key;
  double seconds;                 /* median time of one call */
  char options[2 * TUNE_FIELD];   /* sched_options_print text */
} tune_entry;

typedef struct tune_cache {
  tune_entry *entries; /* arena-allocated on the context given to the calls */
  int n, cap;
} tune_cache;

/* FNV-1a, 64 bits: stable across runs and machines. */
uint64_t tune_hash(const void *data, size_t len);
/* The key of f at the given sizes (one per size parameter, all >= 0) on this
 * machine with compiler cc (NULL: $CC, else "cc"). */
bool tune_key_make(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes, int threads, const char *cc, tune_key *key);
/* The key of code written for cpu (--cpu) rather than for this machine;
 * cpu NULL (native): key unchanged. */
void tune_key_for_cpu(tune_key *key, const sched_cpu *cpu);
/* The key of CUDA code: cpu holds the GPU's name, isa its SM version
 * ("sm_90"; "cuda-sim" for the simulator) and compiler the CUDA runtime and
 * driver versions, so that no entry of one GPU serves another (nor a CPU). */
void tune_key_for_gpu(tune_key *key, const char *name, int sm_major, int sm_minor, int runtime_version,
                      int driver_version);
bool tune_key_equal(const tune_key *a, const tune_key *b);
/* Reads a cache file; a missing file is an empty cache. Malformed lines are
 * skipped with a warning on ctx. False only when the file cannot be read. */
bool tune_cache_load(aotc_ctx *ctx, const char *path, tune_cache *cache);
const tune_entry *tune_cache_lookup(const tune_cache *cache, const tune_key *key);
/* Adds e, or replaces the entry of the same key when e is faster. */
bool tune_cache_record(aotc_ctx *ctx, tune_cache *cache, const tune_entry *e);
/* Writes the whole cache to a temporary file and renames it over path. */
bool tune_cache_save(aotc_ctx *ctx, const char *path, const tune_cache *cache);
/* Re-reads path, records e and saves: what `aotc tune` does at the end. */
bool tune_cache_update(aotc_ctx *ctx, const char *path, const tune_entry *e);
/* The options recorded for f at sizes on this machine for cpu (NULL:
 * native); false (and *o untouched) when the file has no usable entry. */
bool tune_cache_find(aotc_ctx *ctx, const char *path, const ir_func *f, const int64_t *sizes, int threads,
                     const char *cc, const sched_cpu *cpu, sched_options *o);

/* The options recorded under exactly key; false (and *o untouched) when
 * none (what tune_cache_find does once it has made its key). */
bool tune_cache_find_key(aotc_ctx *ctx, const char *path, const tune_key *key, sched_options *o);

/* ------------------------------------------------------------------------
 * Search space helpers (search.c)
 * ------------------------------------------------------------------------ */

/* Dimensions of the search space that matter for f: its deepest statement. */
int tune_dims(const ir_func *f);
/* Whether o is a legal point of the search space for dims dimensions. */
bool tune_options_legal(const sched_options *o, int dims);

typedef struct tune_rng {
  uint64_t state;
} tune_rng;

uint32_t tune_rng_next(tune_rng *r);

typedef struct tune_space {
  int dims;
  int threads;
  int vector_bytes;             /* SIMD width the candidates are written for */
  int vector_elems;             /* elements of the widest element type per vector */
  int64_t extent[SCHED_MAX_DIMS]; /* loop extent per dimension at the tuning sizes */
  unsigned active;              /* bit d: dimension d is tiled by the heuristic options (mutated more often) */
  bool gpu;                     /* CUDA candidates: the genes are the mapping's (blocks, grid, promotion) */
} tune_space;

/* cpu: what the code is written for (--cpu); NULL: native. */
void tune_space_init(tune_space *sp, const ir_func *f, const int64_t *sizes, int threads, const sched_cpu *cpu);
/* Changes one to three genes of o; the result is legal. */
void tune_mutate(const tune_space *sp, tune_rng *r, sched_options *o);
/* A child taking each gene from a or b; the result is legal. */
void tune_crossover(const tune_space *sp, tune_rng *r, const sched_options *a, const sched_options *b,
                    sched_options *child);

/* ------------------------------------------------------------------------
 * Evaluation of candidates (evaluate.c)
 * ------------------------------------------------------------------------ */

typedef enum {
  TUNE_OK,         /* checked and timed */
  TUNE_NO_BUILD,   /* emission or the C compiler failed */
  TUNE_WRONG,      /* outputs differ from the reference */
  TUNE_CRASHED,    /* the candidate died or returned non-zero */
  TUNE_SLOW,       /* stopped: far slower than the best so far */
} tune_status;

typedef struct tune_eval tune_eval;

typedef struct tune_eval_config {
  const ir_func *func;
  const int64_t *sizes;
  int threads;
  bool fuse;
  const char *cc;        /* NULL: $CC, else "cc" */
  double time_per_candidate; /* seconds of timing runs per candidate */
  double ref_points;     /* interpreter points the reference may cost before it
                            is computed on row windows; 0: 2e7 */
  bool verbose;
  bool keep_temps;
  bool llvm;             /* candidates compiled in-process by the LLVM backend (ORC LLJIT), not by cc */
  const char *llvm_cache; /* --llvm-cache: the directory of compiled shared functions; NULL: none */
  const char *cuda;      /* "cuda" or "cuda-sim": candidates emitted as CUDA, built with the runner
                            (src/driver/run_cuda.c) and run on the GPU or the simulator; NULL: C */
} tune_eval_config;

typedef struct tune_result {
  tune_status status;
  double seconds;   /* median time of one call, TUNE_OK only */
  double max_error; /* largest scaled error seen by the check */
  char message[TUNE_FIELD];
  bool same_code;   /* the code of a candidate measured before: result copied */
} tune_result;

/* Random inputs, the reference outputs from ir_interpret and a temporary
 * build directory. NULL (reported on ctx) on failure. */
tune_eval *tune_eval_new(aotc_ctx *ctx, const tune_eval_config *cfg);
void tune_eval_free(tune_eval *ev);
/* Builds n candidates (two compilers at a time), then checks and times each
 * one alone. */
void tune_eval_batch(tune_eval *ev, const sched_options *cands, int n, tune_result *results);
/* The same, measuring again code that was measured before. */
void tune_eval_again(tune_eval *ev, const sched_options *cands, int n, tune_result *results);
/* Where a search's time went (wall seconds): the reference outputs,
 * emitting (scheduling and printing or planning) the candidates, building
 * them (compilers, or the LLVM backend's in-process compilation), and
 * loading, checking and timing them. */
typedef struct tune_times {
  double reference, emit, build, runs;
  int shared_kernels, shared_packs; /* --backend llvm: emit_llvm_session_shared */
  int cache_read, cache_written;    /* of those, read from and written to --llvm-cache */
} tune_times;
const tune_times *tune_eval_times(tune_eval *ev);
/* Arithmetic operations of one call: per statement, domain points times the
 * operators of its right-hand side, plus one for a reduction. */
double tune_flops(const ir_func *f, const int64_t *sizes);

/* ------------------------------------------------------------------------
 * `aotc tune` (search.c)
 * ------------------------------------------------------------------------ */

typedef struct tune_request {
  const ir_func *func;
  const int64_t *sizes; /* one per size parameter, all given */
  int threads;          /* >= 1 */
  int trials;           /* 0: 60, or unbounded when time_s is set */
  double time_s;        /* 0: no time budget */
  uint64_t seed;
  bool fuse;
  const char *cache_path; /* NULL: no cache */
  const char *cc;         /* NULL: $CC, else "cc" */
  const sched_cpu *cpu;   /* --cpu: what the code is written for; NULL: native */
  bool verbose;
  bool keep_temps;
  bool quiet; /* no progress lines (rejected candidates are still reported) */
  bool llvm;  /* --backend llvm: candidates JIT-compiled in-process (src/emit_llvm) */
  const char *llvm_cache; /* --llvm-cache DIR: compiled micro-kernels and packing functions kept there */
  const char *cuda; /* --target cuda or cuda-sim: CUDA candidates timed on the GPU or the simulator; NULL: C */
} tune_request;

typedef struct tune_outcome {
  sched_options best;
  double seconds; /* of the best */
  double gflops;
  double heuristic_seconds; /* of the heuristic options, 0 when they failed */
  int trials, rejected, failed, slow;
  int shared_kernels, shared_packs; /* --backend llvm: functions compiled once, shared by the candidates */
  int cache_read, cache_written;    /* of those, read from and written to --llvm-cache */
} tune_outcome;

/* Runs the search; false when no candidate passed the check. Progress goes
 * to stderr. Records the best in req->cache_path when given. */
bool tune_run(aotc_ctx *ctx, const tune_request *req, tune_outcome *out);

#endif
