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

typedef struct sched_options {
  int tile[SCHED_MAX_DIMS];     /* cache tile size per member of the outermost permutable band; 0: untiled */
  int reg_tile[SCHED_MAX_DIMS]; /* register tile size per member inside the cache tiles; 0: none */
  int order[SCHED_MAX_DIMS];    /* order of the point loops inside the tiles (a permutation of 0..n-1) */
  sched_fusion fusion;
  int unroll;          /* unroll register tiles of up to this many iterations; 0: off */
  bool vectorize;      /* innermost stride-1 loop in a form gcc and clang vectorise */
  int threads;         /* threads the code is scheduled for; > 1: OpenMP over outer coincident loops */
  bool pack;           /* copy reused tiles into contiguous workspace buffers */
  bool scalar_replace; /* keep reduction accumulators in locals */
} sched_options;

/* No transformation: program-order-like loops, one thread. */
void sched_options_default(sched_options *o);
/* Good options without tuning: cache and register tiles from the loop
 * nest's footprint and the vector width (bytes) of this machine. */
void sched_options_heuristic(const ir_func *f, int threads, int vector_bytes, sched_options *o);
/* Text form, one line, `key=value` separated by spaces, e.g.
 *   tile=64,256,128 reg=6,32,1 order=0,2,1 fuse=max unroll=8 vec=1 threads=2 pack=1 sr=1
 * Returns the length snprintf would need. */
int sched_options_print(char *buf, size_t n, const sched_options *o);
/* Parses the text form; unknown keys or bad values: false, with a message. */
bool sched_options_parse(const char *s, sched_options *o, char *err, size_t err_len);

#endif
