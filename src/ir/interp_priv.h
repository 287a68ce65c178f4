/* interp_priv.h: what the reference interpreter (interp.c) shares with its
 * compiled statements (interp_fast.c). */
#ifndef AOTC_INTERP_PRIV_H
#define AOTC_INTERP_PRIV_H

#include "ir.h"

/* A builtin's float and double libm function (the other pair NULL). */
typedef struct ir_interp_fn {
  float (*f1)(float);
  double (*d1)(double);
  float (*f2)(float, float);
  double (*d2)(double, double);
} ir_interp_fn;

const ir_interp_fn *ir_interp_builtin(ir_builtin fn);

/* Every tensor's storage and shape during a call. */
typedef struct ir_interp_view {
  void *const *data;
  int64_t *const *shape;
  const int64_t *sizes;
} ir_interp_view;

/* Runs the points of s (index k over [lo[k], hi[k]), in index order) as
 * interp.c's update_point would, when s is a float statement that compiles
 * (affine subscripts, float arithmetic): 0, or 1 after an error on ctx.
 * -1, having done nothing: not compiled, interp.c walks it. */
int ir_interp_fast_stmt(aotc_ctx *ctx, const ir_func *f, const ir_stmt *s, const ir_interp_view *v,
                        const int64_t *lo, const int64_t *hi);

/* ir_interpret without compiled statements: interp.c's walk alone (the
 * tests compare the two). */
int ir_interpret_walk(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes, void *const *args);

#endif
