/* test_grad.c: reverse-mode autodiff (src/ir/grad.c) against finite
 * differences. Every def of tests/grad/corpus.tc is turned into double
 * precision, differentiated with grad_func, and both the function and its
 * gradient run in the reference interpreter: the adjoint of every input
 * element must match (L(x + h) - L(x - h)) / 2h for L = sum(d_Y * Y). */
#include "fd.h"

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

TestSuite(grad, .init = setup, .fini = teardown);

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  cr_assert(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  rewind(f);
  char *buf = malloc(*len + 1);
  cr_assert(fread(buf, 1, *len, f) == *len);
  buf[*len] = 0;
  fclose(f);
  return buf;
}

static ir_module *corpus(void)
{
  size_t len;
  char *text = slurp(GRAD_DIR "/corpus.tc", &len);
  const aotc_source *src = aotc_add_source(ctx, "corpus.tc", text, len);
  free(text);
  ir_module *m = tc_compile(ctx, src);
  if (!m)
    aotc_print_diags(ctx, stderr);
  cr_assert(m);
  return m;
}

static uint64_t rng = 88172645463325252ull;

static double uniform(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0 * 2 - 1;
}

/* Buffers for every input and output of f at the given sizes. */
static void **alloc_args(const ir_func *f, const int64_t *sizes, int64_t *numel)
{
  int n = f->n_inputs + f->n_outputs;
  void **args = calloc((size_t)n, sizeof(void *));
  for (int i = 0; i < n; i++) {
    int t = i < f->n_inputs ? f->inputs[i] : f->outputs[i - f->n_inputs];
    numel[i] = ir_tensor_numel(f, t, sizes);
    args[i] = calloc((size_t)(numel[i] > 0 ? numel[i] : 1), 8);
    for (int64_t j = 0; i < f->n_inputs && j < numel[i]; j++) {
      if (f->tensors[t]->type == IR_F64)
        ((double *)args[i])[j] = uniform();
      else
        ((int32_t *)args[i])[j] = (int32_t)((uniform() + 1) * 1.5);
    }
  }
  return args;
}

static void free_args(void **args, int n)
{
  for (int i = 0; i < n; i++)
    free(args[i]);
  free(args);
}

/* sum(dY * Y) over the outputs of f. */
/* The analytic gradient of every float input element against the finite
 * difference. */
static void check_def(const char *name, const int64_t *sizes)
{
  ir_module *m = corpus();
  ir_func *f = ir_module_find(m, name);
  cr_assert(f, "no def %s", name);
  test_func_to_double(f);
  ir_func *g = grad_func(ctx, f);
  if (!g)
    aotc_print_diags(ctx, stderr);
  cr_assert(g && ir_verify(ctx, g), "grad of %s", name);
  int64_t numel[32], gnumel[64];
  void **args = alloc_args(f, sizes, numel);
  void **gargs = alloc_args(g, sizes, gnumel);
  for (int i = 0; i < f->n_inputs; i++)
    memcpy(gargs[i], args[i], (size_t)numel[i] * 8);
  void **dys = gargs + f->n_inputs;
  cr_assert_eq(ir_interpret(ctx, g, sizes, gargs), 0);
  int out = g->n_inputs;
  int checked = 0;
  for (int i = 0; i < f->n_inputs; i++) {
    if (f->tensors[f->inputs[i]]->type != IR_F64)
      continue;
    double *an = gargs[out++];
    for (int64_t j = 0; j < numel[i]; j++, checked++) {
      double want = test_central_difference(ctx, f, sizes, args, dys, numel, (double *)args[i] + j);
      cr_assert(fabs(an[j] - want) <= 1e-6 + 1e-6 * fabs(want), "%s: d_%s[%lld] = %.12g, finite differences %.12g",
                name, f->tensors[f->inputs[i]]->name, (long long)j, an[j], want);
    }
  }
  cr_assert(checked > 0);
  free_args(args, f->n_inputs + f->n_outputs);
  free_args(gargs, g->n_inputs + g->n_outputs);
}

#define GRAD_TEST(def, ...)                                                                                        \
  Test(grad, def)                                                                                                  \
  {                                                                                                                \
    static const int64_t sizes[] = {__VA_ARGS__};                                                                  \
    check_def(#def, sizes);                                                                                        \
  }

GRAD_TEST(matmul, 3, 4, 5)
GRAD_TEST(tanh_bias, 3, 4)
GRAD_TEST(softmax, 3, 5)
GRAD_TEST(conv2d, 2, 2, 5, 4, 3, 3, 2)
GRAD_TEST(conv1d_s2_pad, 2, 2, 7, 3, 3)
GRAD_TEST(maxpool2, 2, 2, 4, 6)
GRAD_TEST(gather, 4, 3, 5)
GRAD_TEST(layernorm, 3, 5)
GRAD_TEST(eltwise, 7)
GRAD_TEST(relu_mlp, 3, 4, 5, 2)
GRAD_TEST(bias_inplace, 3, 4)
GRAD_TEST(histogram, 4, 6)
GRAD_TEST(minmax_select, 9)

/* A statement that reads what it updates in place (not a full overwrite,
 * which gets a version) is refused with a message at the statement. */
Test(grad, in_place_update_is_refused)
{
  static const char text[] = "def f(float(N) X) -> (Y) {\n  Y(i) = X(i)\n  Y(i) += Y(i) * X(i)\n}\n";
  const aotc_source *src = aotc_add_source(ctx, "inplace.tc", text, sizeof text - 1);
  ir_module *m = tc_compile(ctx, src);
  cr_assert(m);
  cr_assert_null(grad_func(ctx, m->funcs[0]));
  cr_assert_eq(ctx->n_errors, 1);
  cr_expect_str_eq(ctx->diags[0].msg, "cannot differentiate: this statement reads 'Y', which it updates in place");
  cr_expect_eq(ctx->diags[0].loc.line, 3);
}
GRAD_TEST(overwrite, 5)
