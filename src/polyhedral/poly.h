/* poly.h: the polyhedral model of one IR function: iteration domains, access
 * relations, dependences and a schedule, all as isl objects, and the AST isl
 * generates from that schedule. The C backend walks the AST. */
#ifndef AOTC_POLY_H
#define AOTC_POLY_H

#include "ir.h"

#include <isl/ast.h>
#include <isl/ast_build.h>
#include <isl/ctx.h>
#include <isl/schedule.h>
#include <isl/set.h>
#include <isl/union_map.h>
#include <isl/union_set.h>

#define POLY_DEFAULT_MAX_OPS 2000000L
#ifndef POLY_MAX_KERNEL_STMTS
#define POLY_MAX_KERNEL_STMTS 32 /* a longer kernel is split: isl's work grows faster than its size */
#endif

/* One isl statement: IR statement stmt, or its `!` initialisation. */
typedef struct poly_stmt {
  int stmt;
  bool init;
} poly_stmt;

/* The loops of kernels already seen in one function, by polyhedral model:
 * a kernel whose domains, accesses and context print the same as an earlier
 * one's (statements and tensors are numbered from the kernel's first, so
 * repeated layers look alike) reuses that kernel's schedule and AST instead
 * of running isl's dependence analysis, scheduler and AST generator again.
 * One per function (the schedule options are the function's); free it
 * before the isl_ctx. */
typedef struct poly_cache poly_cache;
poly_cache *poly_cache_new(void);
void poly_cache_free(poly_cache *c);

/* Schedules isl's scheduler computed, as text, shared by plans on other
 * isl contexts and threads (poly_memo.c): keyed by the kernel's model text,
 * its context and isl's scheduling options. Thread safe. */
typedef struct poly_memo poly_memo;
poly_memo *poly_memo_new(void);
void poly_memo_free(poly_memo *m);
/* The schedule recorded under key (malloc'ed), or NULL. */
char *poly_memo_get(poly_memo *m, const char *key);
void poly_memo_put(poly_memo *m, const char *key, const char *schedule);
/* Schedules poly_memo_get found so far. */
long poly_memo_hits(poly_memo *m);

typedef struct poly_kernel {
  aotc_ctx *ctx;
  isl_ctx *isl;
  const ir_func *f;
  const char *const *param_ids; /* isl names of the size parameters */
  const char *const *tensor_ids; /* unused: tensors are named T0, T1, ... in order of appearance */
  const int64_t *fixed_sizes;   /* NULL or per parameter: value, -1 generic */
  int first, end;               /* the IR statements first..end-1 */
  bool shared_storage;          /* memory-planned temporaries overlap: keep the order */
  unsigned long max_ops;        /* bound on isl's work for scheduling and the AST */
  isl_set *context;             /* parameters >= 0, fixed ones equal their value */
  isl_union_set *domain;
  isl_union_map *reads, *writes; /* tensors written in the function only */
  isl_schedule *order;          /* program order */
  isl_union_map *dep_raw, *dep_all;
  isl_schedule *schedule;       /* isl's, or the program order */
  /* Called on every for node the AST gets (isl_ast_build_set_after_each_for),
   * e.g. to annotate it; NULL: none. Set before poly_kernel_ast. */
  __isl_give isl_ast_node *(*after_each_for)(__isl_take isl_ast_node *node, __isl_keep isl_ast_build *build,
                                             void *user);
  void *after_each_for_user;
  bool scheduled;               /* isl's scheduler produced the schedule (not set when cached) */
  poly_cache *cache;            /* NULL, or where to look the kernel's loops up and record them */
  char *key;                    /* the kernel's statements as text, for the cache (malloc'ed) */
  bool from_cache;              /* the schedule (final: options applied) came from the cache */
  poly_memo *memo;              /* NULL, or isl's schedules of earlier plans (needs cache: the key) */
  int n_names;                  /* tensors named so far: tensor names[j] is "T<j>" */
  int names[64];
} poly_kernel;

/* Builds domains, accesses and the program order of the statements
 * first..end-1 of f; NULL on failure (reported on ctx). param_ids and
 * tensor_ids must outlive the kernel. */
poly_kernel *poly_kernel_build(aotc_ctx *ctx, isl_ctx *isl, const ir_func *f, int first, int end,
                               unsigned long max_ops,
                               const char *const *param_ids, const char *const *tensor_ids,
                               const int64_t *fixed_sizes);
/* The end of the kernel (group of statements scheduled together) that
 * starts at statement first: f->stmt_kernel, or the whole function. */
int poly_kernel_end(const ir_func *f, int first);
/* Dependences and a schedule; falls back to the program order when the
 * dependence analysis or the scheduler fails or runs out of operations.
 * fuse false serialises the strongly connected components; otherwise the
 * isl options in force (sched_set_isl_options) decide the fusion. */
void poly_kernel_schedule(poly_kernel *k, bool fuse);
/* The loops of the schedule; those of the program order when isl runs out
 * of operations on the scheduled one. */
__isl_give isl_ast_node *poly_kernel_ast(poly_kernel *k);
/* Records the kernel's schedule, once the schedule options are applied,
 * in its cache (when it has one and the schedule did not come from it). */
void poly_kernel_cache_schedule(poly_kernel *k);
void poly_kernel_free(poly_kernel *k);

/* Decodes an isl statement name ("S_3", "S_3_init": statement 3 of the
 * kernel, counted from its first); false if not ours. */
bool poly_stmt_from_name(const char *name, poly_stmt *out);
/* The same, as a statement number of the function. */
bool poly_kernel_stmt(const poly_kernel *k, const char *name, poly_stmt *out);

#endif
