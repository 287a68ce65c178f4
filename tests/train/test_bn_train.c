/* test_bn_train.c: training-mode batch normalisation (src/train/bn_train.c)
 * in double precision through the reference interpreter. An eval-mode
 * batch normalisation written as the op library lowers it becomes its
 * training-mode copy (train_mode_func); the copy's output must equal the
 * closed form (x - mean_batch) / sqrt(var_biased + eps) * scale + bias
 * computed here, and its gradient (grad_func) the central finite
 * differences of L = sum(dY * Y) for x, scale and bias: the gradient flows
 * through the batch statistics. Also the generator of dropout.c against
 * Widynski's published Squares reference values. */
#include "train.h"
#include "../grad/fd.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static aotc_ctx *ctx;

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
}

static void teardown(void)
{
  aotc_ctx_free(ctx);
}

TestSuite(train, .init = setup, .fini = teardown);

enum { N = 3, C = 2, H = 4, NX = N * C * H };

static const char bn_text[] =
    "def bn(float(N, C, H) X, float(C) scale, float(C) bias, float(C) rm, float(C) rv) -> (Y) {\n"
    "  Y(n, c, h) = (X(n, c, h) - rm(c)) / sqrt(rv(c) + 0.00001) * scale(c) + bias(c)\n"
    "}\n";

/* bn's training-mode copy in double precision. */
static ir_func *train_bn(void)
{
  const aotc_source *src = aotc_add_source(ctx, "bn.tc", bn_text, sizeof bn_text - 1);
  ir_module *m = tc_compile(ctx, src);
  cr_assert(m);
  test_func_to_double(m->funcs[0]);
  train_batchnorm bns[1] = {{"rm", "rv"}};
  train_options opt = {.bns = bns, .n_bns = 1, .bn_momentum = 0.1};
  train_bn_site site;
  int hyper;
  ir_func *f = train_mode_func(ctx, m->funcs[0], &opt, &site, &hyper);
  if (!f)
    aotc_print_diags(ctx, stderr);
  cr_assert(f);
  f->tensors[hyper]->role = IR_TEMP;
  for (int t = 0; t < f->n_tensors; t++)
    if (f->tensors[t]->type == IR_F32)
      f->tensors[t]->type = IR_F64;
  cr_assert(ir_verify(ctx, f));
  return f;
}

static double x[NX], scale[C], bias[C], rm[C], rv[C], y[NX];
static void *args[6] = {x, scale, bias, rm, rv, y};
static const int64_t sizes[3] = {N, C, H};

static void fill(void)
{
  for (int i = 0; i < NX; i++)
    x[i] = sin(1.7 * i) * 2 + 0.3 * i / NX;
  for (int c = 0; c < C; c++) {
    scale[c] = 0.8 + 0.3 * c;
    bias[c] = 0.1 - 0.2 * c;
    rm[c] = 5;
    rv[c] = 9;
  }
}

Test(train, batchnorm_training_mode_forward)
{
  ir_func *f = train_bn();
  fill();
  cr_assert_eq(ir_interpret(ctx, f, sizes, args), 0);
  for (int c = 0; c < C; c++) {
    double mean = 0, var = 0;
    for (int n = 0; n < N; n++)
      for (int h = 0; h < H; h++)
        mean += x[(n * C + c) * H + h] / (N * H);
    for (int n = 0; n < N; n++)
      for (int h = 0; h < H; h++)
        var += pow(x[(n * C + c) * H + h] - mean, 2) / (N * H);
    for (int n = 0; n < N; n++)
      for (int h = 0; h < H; h++) {
        int i = (n * C + c) * H + h;
        double want = (x[i] - mean) / sqrt(var + 1e-5) * scale[c] + bias[c];
        cr_assert(fabs(y[i] - want) < 1e-12, "y[%d] = %.15g, want %.15g", i, y[i], want);
      }
  }
}

/* Central differences of L = sum(dY * Y) for the element *v of an input. */
static double fd(ir_func *f, double *dy, double *v)
{
  static const int64_t numel[6] = {NX, C, C, C, C, NX};
  void *dys[1] = {dy};
  return test_central_difference(ctx, f, sizes, args, dys, numel, v);
}

Test(train, batchnorm_training_mode_gradient)
{
  ir_func *f = train_bn();
  ir_func *g = grad_func(ctx, f);
  if (!g)
    aotc_print_diags(ctx, stderr);
  cr_assert(g && ir_verify(ctx, g));
  fill();
  double dy[NX], dx[NX], dscale[C], dbias[C], drm[C], drv[C];
  for (int i = 0; i < NX; i++)
    dy[i] = cos(0.9 * i);
  void *gargs[] = {x, scale, bias, rm, rv, dy, dx, dscale, dbias, drm, drv};
  cr_assert_eq(g->n_inputs + g->n_outputs, 11);
  cr_assert_eq(ir_interpret(ctx, g, sizes, gargs), 0);
  struct {
    const char *name;
    double *v, *an;
    int n;
  } checks[] = {{"x", x, dx, NX}, {"scale", scale, dscale, C}, {"bias", bias, dbias, C}};
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < checks[k].n; i++) {
      double want = fd(f, dy, &checks[k].v[i]);
      cr_assert(fabs(checks[k].an[i] - want) <= 1e-6 + 1e-6 * fabs(want), "d_%s[%d] = %.12g, finite differences %.12g",
                checks[k].name, i, checks[k].an[i], want);
    }
  for (int c = 0; c < C; c++)
    cr_assert(drm[c] == 0 && drv[c] == 0, "the running statistics are not read in training mode");
}

/* The generator against values computed independently from its
 * definition (Python integers masked to 64 bits), and the spread of 2^16
 * draws. */
Test(train, counter_generator)
{
  cr_assert_eq(train_random_bits(0, 0), 64031129u);
  cr_assert_eq(train_random_bits(0, 1), 1269972172u);
  cr_assert_eq(train_random_bits(1, 12345), 998496658u);
  cr_assert_eq(train_random_bits(16777215, ((uint64_t)(3 * 64 + 2) << 32) + 77), 563710549u);
  cr_assert_eq(train_random_bits(0, 0), train_random_bits(0, 0));
  cr_assert_neq(train_random_bits(0, 1), train_random_bits(0, 2));
  cr_assert_neq(train_random_bits(1, 1), train_random_bits(2, 1));
  int64_t count = 0;
  for (uint64_t i = 0; i < 65536; i++)
    count += train_random_bits(7, i) >= 0x80000000u;
  cr_assert(count > 32768 - 640 && count < 32768 + 640, "%lld of 65536 in the upper half", (long long)count);
}
