/* test_onnx_checks.c: the ONNX frontend's strictness, on the small models
 * of tests/unit/onnx_models (made by make_models.py there): attributes of
 * the wrong type, a Conv kernel_shape that disagrees with the weights, a
 * Slice with a repeated axis, a Tile beyond the memory budget and duplicate
 * names are errors naming the node or value, each with its expected
 * message; Slices at the int64 limits compute numpy's result. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir.h"

/* The folder of the models, found from this file's path or the current
 * folder (the build folder or the repository). */
static const char *models_dir(void)
{
  static char dir[4096];
  const char *slash = strrchr(__FILE__, '/');
  const char *tries[3] = {NULL, "tests/unit/onnx_models", "../tests/unit/onnx_models"};
  char probe[4200];
  for (int i = 0; i < 3; i++) {
    if (i == 0 && !slash)
      continue;
    if (i == 0)
      snprintf(dir, sizeof(dir), "%.*s/onnx_models", (int)(slash - __FILE__), __FILE__);
    else
      snprintf(dir, sizeof(dir), "%s", tries[i]);
    snprintf(probe, sizeof(probe), "%s/make_models.py", dir);
    if (access(probe, R_OK) == 0)
      return dir;
  }
  return "tests/unit/onnx_models";
}

static unsigned char *slurp(const char *name, size_t *len)
{
  char path[4400];
  snprintf(path, sizeof(path), "%s/%s.onnx", models_dir(), name);
  FILE *in = fopen(path, "rb");
  cr_assert(in, "cannot open %s", path);
  fseek(in, 0, SEEK_END);
  long n = ftell(in);
  fseek(in, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)n + 1);
  cr_assert(buf && fread(buf, 1, (size_t)n, in) == (size_t)n);
  fclose(in);
  *len = (size_t)n;
  return buf;
}

static ir_module *compile(aotc_ctx *ctx, const char *name)
{
  size_t len;
  unsigned char *buf = slurp(name, &len);
  ir_module *m = onnx_compile(ctx, name, buf, len, "model");
  free(buf);
  return m;
}

static bool diag_has(const aotc_ctx *ctx, const char *text)
{
  for (int k = 0; k < ctx->n_diags; k++)
    if (strstr(ctx->diags[k].msg, text))
      return true;
  return false;
}

/* Model `name` is refused with an error containing `text`. */
static void expect_error(const char *name, const char *text)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(compile(ctx, name), "%s compiles", name);
  cr_expect(diag_has(ctx, text), "%s: no error says \"%s\"", name, text);
  if (!diag_has(ctx, text))
    aotc_print_diags(ctx, stderr);
  aotc_ctx_free(ctx);
}

Test(onnx_checks, attribute_of_the_wrong_type)
{
  expect_error("attr_wrong_type", "node 'conv' (Conv): attribute 'group' must be an int, not a float");
  expect_error("attr_int_for_ints", "node 'squeeze' (Squeeze): attribute 'axes' must be a list of ints, not an int");
}

Test(onnx_checks, conv_kernel_shape_must_match_the_weights)
{
  expect_error("conv_kernel_mismatch",
               "node 'conv' (Conv): kernel shape 5x5 does not match the weights' spatial sizes 3x3");
}

Test(onnx_checks, slice_with_a_repeated_axis)
{
  expect_error("slice_repeated_axis", "node 'slice' (Slice): axis 1 is sliced twice");
}

Test(onnx_checks, tile_beyond_the_memory_budget)
{
  expect_error("tile_too_large", "node 'tile' (Tile): output 'y' needs 137438953472 bytes (34359738368 elements of "
                                 "float), more than the memory budget of 4294967296 bytes");
}

Test(onnx_checks, duplicate_names)
{
  expect_error("duplicate_node_output", "node 'b' (Neg): output 'y' is already defined by node 'a'");
  expect_error("duplicate_input", "input 'x' is declared twice");
  expect_error("output_named_like_an_input", "node 'relu' (Relu): output 'x' is already defined as a graph input");
}

/* x = 0 .. 4 sliced [INT64_MAX:INT64_MIN:-1], [0:INT64_MAX:INT64_MAX] and
 * [INT64_MAX:INT64_MIN:INT64_MIN]. */
Test(onnx_checks, slices_at_the_int64_limits)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ir_module *m = compile(ctx, "slice_int64_limits");
  if (!m)
    aotc_print_diags(ctx, stderr);
  cr_assert_not_null(m);
  const ir_func *f = m->funcs[0];
  float x[5] = {0, 1, 2, 3, 4}, y0[5] = {0}, y1[1] = {-1}, y2[1] = {-1};
  void *args[4] = {x, y0, y1, y2};
  cr_assert_eq(f->n_inputs, 1);
  cr_assert_eq(f->n_outputs, 3);
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0);
  for (int i = 0; i < 5; i++)
    cr_expect_eq(y0[i], (float)(4 - i));
  cr_expect_eq(y1[0], 0);
  cr_expect_eq(y2[0], 4);
  int64_t shape[1];
  cr_assert(ir_tensor_shape(f, f->outputs[1], NULL, shape));
  cr_expect_eq(shape[0], 1);
  aotc_ctx_free(ctx);
}
