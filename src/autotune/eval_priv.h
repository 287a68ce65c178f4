/* eval_priv.h: what the two halves of a candidate's evaluation share: the
 * evaluator's state, the inputs, the reference outputs and the check of a
 * candidate's outputs (reference.c), and building, running and timing
 * candidates (evaluate.c). */
#ifndef AOTC_EVAL_PRIV_H
#define AOTC_EVAL_PRIV_H

#include "tune.h"
#include "eval_llvm.h"
#include "poly.h"

#define EVAL_MIN_REPEATS 3
#define EVAL_MAX_REPEATS 25
#define EVAL_BUILD_LIMIT 120 /* seconds for one compiler run */
#define EVAL_RUN_LIMIT 30    /* seconds for one candidate's runs */
#define EVAL_MIN_SAMPLE 2e-4 /* seconds: tiny kernels are timed over several calls */
#define EVAL_CLEARLY_SLOWER 1.5 /* a candidate's fastest sample this many times the best: timing stops */

#define EVAL_OPTIONS_KEY (3 * SCHED_MAX_DIMS + 18) /* ints: every field of sched_options */

typedef int (*packed_fn)(const int64_t *sizes, void *const *args, void *workspace);
typedef size_t (*packed_ws_fn)(const int64_t *sizes);

/* Which elements of an output the reference holds: those whose coordinate
 * along dimension dim lies in [0, window) or [extent - window, extent). */
typedef struct out_check {
  int dim;
  int64_t extent, inner, numel; /* inner: elements per step along dim */
  int64_t window;
  double tol;
  double scale; /* floats: the RMS of the reference's checked elements (tune_ref_prepare) */
} out_check;

struct tune_eval {
  aotc_ctx *ctx;
  tune_eval_config cfg;
  int n_args; /* inputs then outputs */
  size_t *bytes;
  int n_sets;
  void ***sets; /* sets[s][a] */
  void **ref;   /* per output */
  out_check *check;
  char dir[256];
  int serial;
  double best; /* fastest time so far, 0 when none */
  struct {
    uint64_t hash; /* of a candidate's C text and header */
    tune_result result;
    int jit;       /* --backend llvm: its code, still loaded (a handle); -1: none */
  } *codes;      /* every code measured */
  int n_codes, cap_codes;
  bool remeasure; /* tune_eval_again: build and time even code measured before */
  uint64_t measuring; /* the hash of the code being measured (the debug hook AOTC_TUNE_CORRUPT) */
  tune_times times;
  emit_llvm_session *jit;        /* --backend llvm: the candidates compiled in-process (eval_llvm.h) */
  void *jit_call, *jit_ws;   /* the candidate being measured */
  struct {
    int key[EVAL_OPTIONS_KEY];
    uint64_t hash;
  } *plans;                  /* --backend llvm: options planned before and the hash of their code */
  int n_plans, cap_plans;
  poly_memo *memo;           /* isl's schedules, shared by every candidate's plan (poly.h) */
  const char *cuda_objs;     /* CUDA: the runner's (and simulator's) objects, built once (run_cuda.c) */
};

typedef struct run_report {
  tune_status status;
  double seconds, max_error;
  char message[TUNE_FIELD];
} run_report;


/* The buffers of every argument (random inputs, several sets), the
 * reference outputs of set 0 and which of their elements are checked. */
bool tune_ref_prepare(tune_eval *ev);
/* bytes zeroed and 64-byte aligned, from the context's hook. */
void *tune_ref_alloc(const tune_eval *ev, size_t bytes);
void tune_ref_zero_outputs(const tune_eval *ev, void **args);
/* Compares the outputs in args (set 0's inputs) with the reference; a
 * difference makes rep TUNE_WRONG. */
void tune_ref_check(const tune_eval *ev, void *const *args, run_report *rep);

#endif
