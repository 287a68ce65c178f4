/* test_generalize.c: Criterion tests of ir_generalize (src/ir/generalize.c).
 * The probes are TC programs with fixed shapes written at the probe sizes,
 * so the size-specific functions come from the parser, as a model's come
 * from the ONNX reader; the generic result is run by the interpreter at
 * sizes no probe used and checked against closed forms. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "ir.h"

/* The TC text of fmt with every %lld replaced by the probe's size of N. */
typedef const char *(*probe_text)(char *buf, size_t n, int64_t size);

static ir_func *probe_func(aotc_ctx *ctx, probe_text text, int64_t size)
{
  char buf[1024];
  text(buf, sizeof(buf), size);
  const aotc_source *src = aotc_add_source(ctx, "probe.tc", buf, strlen(buf));
  ir_module *m = tc_compile(ctx, src);
  cr_assert_not_null(m, "probe at %lld does not compile", (long long)size);
  return m->funcs[0];
}

static ir_func *generalize_one(aotc_ctx *ctx, probe_text text)
{
  static const char *const names[] = {"N"};
  ir_func *fs[3];
  int64_t values[3];
  for (int k = 0; k < 3; k++) {
    ir_probe_sizes(1, k, &values[k]);
    fs[k] = probe_func(ctx, text, values[k]);
  }
  ir_probes p = {.n_params = 1, .names = names, .n = 3, .values = values};
  return ir_generalize(ctx, fs, &p);
}

static bool has_error(const aotc_ctx *ctx, const char *needle)
{
  for (int i = 0; i < ctx->n_diags; i++)
    if (ctx->diags[i].severity == AOTC_ERROR && strstr(ctx->diags[i].msg, needle))
      return true;
  return false;
}

static const char *shifted_sum(char *buf, size_t n, int64_t size)
{
  snprintf(buf, n,
           "def f(float(%lld) A, float(%lld, 3) W) -> (B, C) {\n"
           "  B(i) = A(i) * 2 + (i + %lld)\n"
           "  C(i) +=! W(i, k) * A(%lld - 1 - i)\n"
           "}\n",
           (long long)size, (long long)size + 1, (long long)(2 * size), (long long)size);
  return buf;
}

Test(generalize, fits_shapes_ranges_and_constants)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ir_func *f = generalize_one(ctx, shifted_sum);
  cr_assert_not_null(f);
  cr_assert_eq(f->n_params, 1);
  cr_assert_str_eq(f->param_names[0], "N");
  int64_t sizes[1] = {4}, numel = ir_tensor_numel(f, 1, sizes);
  cr_assert_eq(numel, 15, "W is (N + 1) x 3 = 15 elements at N = 4, got %lld", (long long)numel);
  float A[4] = {1, 2, 3, 4}, W[15], B[4], C[4];
  for (int i = 0; i < 15; i++)
    W[i] = (float)(i % 5);
  void *args[] = {A, W, B, C};
  cr_assert_eq(ir_interpret(ctx, f, sizes, args), 0);
  for (int i = 0; i < 4; i++) {
    float c = (W[3 * i] + W[3 * i + 1] + W[3 * i + 2]) * A[3 - i];
    cr_expect_float_eq(B[i], A[i] * 2 + (float)(i + 8), 1e-6, "B(%d)", i);
    cr_expect_float_eq(C[i], c, 1e-6, "C(%d)", i);
  }
  aotc_ctx_free(ctx);
}

static const char *float_of_size(char *buf, size_t n, int64_t size)
{
  snprintf(buf, n, "def f(float(%lld) A) -> (B) {\n  B(i) = A(i) / %lld.0\n}\n", (long long)size,
           (long long)size);
  return buf;
}

Test(generalize, refuses_a_float_constant_that_depends_on_the_size)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_assert_null(generalize_one(ctx, float_of_size));
  cr_assert(has_error(ctx, "is not the same expression at different sizes"));
  aotc_ctx_free(ctx);
}

static const char *square(char *buf, size_t n, int64_t size)
{
  snprintf(buf, n, "def f(float(%lld) A) -> (B) {\n  B(i) = A(i)\n}\n", (long long)(size * size));
  return buf;
}

Test(generalize, refuses_a_size_that_is_not_affine)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_assert_null(generalize_one(ctx, square));
  cr_assert(has_error(ctx, "not affine in the named sizes"));
  aotc_ctx_free(ctx);
}

static const char *structure(char *buf, size_t n, int64_t size)
{
  if (size % 2)
    snprintf(buf, n, "def f(float(%lld) A) -> (B) {\n  B(i) = A(i)\n}\n", (long long)size);
  else
    snprintf(buf, n, "def f(float(%lld) A) -> (B) {\n  B(i) = -A(i)\n}\n", (long long)size);
  return buf;
}

Test(generalize, refuses_programs_that_differ)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_assert_null(generalize_one(ctx, structure));
  cr_assert(has_error(ctx, "at different sizes"));
  aotc_ctx_free(ctx);
}
