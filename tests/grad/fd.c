/* fd.c: double-precision copies of functions and central finite
 * differences for the gradient unit tests (fd.h). */
#include "fd.h"

#include <criterion/criterion.h>

static void expr_to_double(ir_expr *e)
{
  if (!e)
    return;
  if (e->type == IR_F32)
    e->type = IR_F64;
  for (int k = 0; k < e->n_args; k++)
    expr_to_double(e->args[k]);
}

void test_func_to_double(ir_func *f)
{
  for (int t = 0; t < f->n_tensors; t++)
    if (f->tensors[t]->type == IR_F32)
      f->tensors[t]->type = IR_F64;
  for (int k = 0; k < f->n_stmts; k++) {
    ir_stmt *s = f->stmts[k];
    expr_to_double(s->rhs);
    for (int d = 0; s->lhs_expr && d < s->n_lhs; d++)
      expr_to_double(s->lhs_expr[d]);
  }
}

double test_objective(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes, void **args, void **dys,
                      const int64_t *numel)
{
  cr_assert_eq(ir_interpret(ctx, f, sizes, args), 0, "interpreting %s", f->name);
  double l = 0;
  for (int o = 0; o < f->n_outputs; o++)
    for (int64_t j = 0; j < numel[f->n_inputs + o]; j++)
      l += ((double *)dys[o])[j] * ((double *)args[f->n_inputs + o])[j];
  return l;
}

double test_central_difference(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes, void **args, void **dys,
                               const int64_t *numel, double *x)
{
  const double h = 1e-6;
  double x0 = *x;
  *x = x0 + h;
  double lp = test_objective(ctx, f, sizes, args, dys, numel);
  *x = x0 - h;
  double lm = test_objective(ctx, f, sizes, args, dys, numel);
  *x = x0;
  return (lp - lm) / (2 * h);
}
