/* sema_internal.h: what the parts of TC semantic analysis share: the state
 * of one def being analysed (sema.c: names, types, statements) and the range
 * and shape inference working on it (ranges.c). Nothing here leaves src/frontend/tc. */
#ifndef AOTC_SEMA_INTERNAL_H
#define AOTC_SEMA_INTERNAL_H

#include "tc_internal.h"

typedef struct tinfo {
  ir_tensor *t;
  ir_loc loc;
  bool written;     /* an earlier statement wrote it */
  bool rank_known;  /* declared, or written once */
  bool type_known;
  bool shape_fixed; /* declared shape: writes must stay inside it */
  bool shape_known;
} tinfo;

typedef struct sidx {
  const char *name;
  ir_loc loc; /* first occurrence */
  ir_loc range_loc; /* the where clause of an explicit range */
  bool lhs;
  bool known, explicit_range;
  ir_size *lo, *hi;
} sidx;

typedef struct texpr {
  ir_expr *e; /* NULL after an error */
  bool weak;  /* a literal, or arithmetic on literals only */
  int depth;
} texpr;

typedef struct binding {
  const tc_where *w;
  texpr value;
  bool done;
} binding;

typedef struct sema {
  aotc_ctx *ctx;
  const tc_def *def;
  ir_vec tensors; /* tinfo* */
  ir_vec params;  /* const char* */
  ir_vec stmts;   /* ir_stmt* */
  ir_vec idx;     /* sidx*, of the current statement */
  ir_vec binds;   /* binding*, of the current statement */
  int visible_binds;
  long nodes;
} sema;

/* Helpers of sema.c that ranges.c uses. */
tinfo *tc_sema_tensor(sema *s, int t);
sidx *tc_sema_index(sema *s, int i);
int tc_sema_find_param(sema *s, const char *name);
int tc_sema_find_index(sema *s, const char *name);
/* Size k of tensor `name` (T.k); NULL after reporting. */
ir_size *tc_sema_dim_of(sema *s, const char *name, int64_t k, ir_loc loc);
/* The size as C text, for messages (truncated when long). */
const char *tc_sema_size_text(sema *s, const ir_size *e);
/* Reports an error and returns false. */
bool tc_sema_report(sema *s, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ranges.c: the `where i in LO:HI` clauses of statement st; false after
 * reporting. */
bool tc_explicit_ranges(sema *s, const tc_stmt *st);
/* ranges.c: the ranges of the statement's other indices, in rounds over the
 * reads of rhs and the `exists` accesses, then the left-hand shape of lhs,
 * then the padded reads; false after reporting an index left unknown. */
bool tc_infer_ranges(sema *s, const tinfo *lhs, const ir_expr *rhs, const ir_vec *exists);
/* ranges.c: the shape of ti written with the statement's left-hand indices
 * (plain form): inside a declared shape, or extending an inferred one. */
bool tc_update_shape(sema *s, tinfo *ti);
/* ranges.c: the same for a tensor written through general subscripts:
 * affine ones bound it as index ranges do; another needs it known. */
bool tc_general_shape(sema *s, tinfo *ti, ir_expr **subs);

#endif
