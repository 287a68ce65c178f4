/* fd.h: what the gradient unit tests share (tests/grad/test_grad.c,
 * tests/train/test_bn_train.c): a function turned into double precision and
 * central finite differences of L = sum(dY * Y) through the reference
 * interpreter. */
#ifndef TEST_FD_H
#define TEST_FD_H

#include "grad.h"

/* Every float tensor and expression of f in double precision. */
void test_func_to_double(ir_func *f);

/* L = sum over f's outputs of dys[o] . Y_o, after interpreting f on args
 * (inputs then outputs; numel[i]: element counts in that order). */
double test_objective(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes, void **args, void **dys,
                      const int64_t *numel);

/* (L(x + h) - L(x - h)) / 2h for the element *x of one of args' inputs. */
double test_central_difference(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes, void **args, void **dys,
                               const int64_t *numel, double *x);

#endif
