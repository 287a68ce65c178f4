/* test_ts_graph.c: the TorchScript graph builder (ts_read_graph) on
 * archives made here: a module M with one buffer w = [1, 2, 3, 4] and a
 * forward written per test. Each graph is inferred, lowered and run by the
 * reference interpreter on x = [10, 20, 30, 40], and its output compared
 * with the value worked out by hand; the error tests check the message
 * and the code file:line:col it names. */
#include "ts.h"
#include "graph.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../torchscript/zipwrite.h"

static aotc_ctx *ctx;

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
}

static void teardown(void)
{
  aotc_ctx_free(ctx);
}

TestSuite(ts_graph, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------------
 * Archives: data.pkl of M with buffer w (4 floats), code/__torch__.py
 * ------------------------------------------------------------------------ */

static const char pickle[] = "\x80\x02" "c__torch__\nM\n" ")\x81}(X\x01\x00\x00\x00w"
                             "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
                             "ctorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpu"
                             "J\x04\x00\x00\x00tQJ\x00\x00\x00\x00(J\x04\x00\x00\x00t(J\x01\x00\x00\x00t"
                             "\x89" "ccollections\nOrderedDict\n)RtRub.";
static const float w_values[] = {1, 2, 3, 4};

static const char header[] = "class M(Module):\n"
                             "  __parameters__ = []\n"
                             "  __buffers__ = [\"w\", ]\n"
                             "  w : Tensor\n"
                             "  steps : Final[int] = 3\n"
                             "  def forward(self: __torch__.M,\n";
static const char signature[] = "    x: Tensor) -> Tensor:\n";

/* The graph of M whose forward's arguments and body are `rest`, x of shape
 * (4,) unless no_shape; NULL with errors on ctx. */
static ir_graph *graph_of_code(const char *rest, bool no_shape)
{
  char *code = malloc(strlen(header) + strlen(rest) + 1);
  strcpy(code, header);
  strcat(code, rest);
  zw_entry e[] = {{"m/data.pkl", 0, pickle, sizeof(pickle) - 1, false},
                  {"m/data/0", 0, w_values, sizeof(w_values), false},
                  {"m/code/__torch__.py", 0, code, strlen(code), true},
                  {"m/version", 0, "3\n", 2, false}};
  size_t len;
  unsigned char *b = zw_build(e, 4, false, &len, NULL);
  int64_t dims[1] = {4};
  onnx_shape_spec spec = {"x", 1, dims, NULL};
  ts_graph_options opt = {.shapes = &spec, .n_shapes = no_shape ? 0 : 1};
  ir_graph *g = ts_read_graph(ctx, "m.pt", b, len, &opt);
  free(b);
  free(code);
  return g;
}

/* The graph of M whose forward(x) has the body `body` (lines indented by 4). */
static ir_graph *graph_of(const char *body, bool no_shape)
{
  char *code = malloc(strlen(signature) + strlen(body) + 1);
  strcpy(code, signature);
  strcat(code, body);
  ir_graph *g = graph_of_code(code, no_shape);
  free(code);
  return g;
}

/* Runs the graph on x = [10, 20, 30, 40] into out (n floats). */
static void run_graph(ir_graph *g, float *out, int n)
{
  float x[4] = {10, 20, 30, 40};
  bool ok = g && ir_graph_infer(g) && ir_graph_fold(g);
  if (ok)
    ir_graph_dce(g);
  ir_func *f = ok ? ir_graph_lower(g, "m") : NULL;
  if (!f)
    aotc_print_diags(ctx, stderr);
  cr_assert_not_null(f);
  cr_assert_eq(ir_value_numel(&g->values[g->outputs[0]]), n);
  void *args[2] = {x, out};
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0);
}

static void expect_output(const char *body, const float *want, int n)
{
  float out[16];
  run_graph(graph_of(body, false), out, n);
  for (int i = 0; i < n; i++)
    cr_expect_float_eq(out[i], want[i], 1e-5, "element %d: %g, not %g", i, out[i], want[i]);
}

/* The one error after reading: its text and where. */
static void expect_diag(const char *text, int line, int col)
{
  cr_assert_eq(ctx->n_errors, 1, "one error");
  const aotc_diag *d = &ctx->diags[ctx->n_diags - 1];
  cr_expect(strstr(d->msg, text), "'%s' does not say '%s'", d->msg, text);
  if (line) {
    cr_assert_not_null(d->loc.src);
    cr_expect_str_eq(d->loc.src->name, "m.pt:code/__torch__.py");
    cr_expect_eq(d->loc.line, line);
    cr_expect_eq(d->loc.col, col, "column %d, not %d", d->loc.col, col);
  }
}

/* The one error of a forward body. */
static void expect_error(const char *body, bool no_shape, const char *text, int line, int col)
{
  cr_assert_null(graph_of(body, no_shape));
  expect_diag(text, line, col);
}

/* ------------------------------------------------------------------------
 * Values computed at compile time
 * ------------------------------------------------------------------------ */

Test(ts_graph, buffers_and_operators)
{
  const float want[] = {11, 22, 33, 44};
  expect_output("    return torch.add(x, self.w)\n", want, 4);
}

Test(ts_graph, loops_unrolled_and_conditions_folded)
{
  const float want[] = {10 + 3 * 1 + 2, 20 + 3 * 2 + 2, 30 + 3 * 3 + 2, 40 + 3 * 4 + 2};
  expect_output("    y = x\n"
                "    for i in range(self.steps):\n"
                "      y = torch.add(y, self.w)\n"
                "    n = torch.size(y, 0)\n"
                "    if torch.eq(n, 4):\n"
                "      k = 0\n"
                "    else:\n"
                "      k = 100\n"
                "    while k < 2:\n"
                "      y = torch.add(y, 1.)\n"
                "      k += 1\n"
                "    return y\n",
                want, 4);
}

Test(ts_graph, sizes_through_num_to_tensor)
{
  const float want[] = {10, 20};
  expect_output("    d = ops.prim.NumToTensor(torch.size(x, 0))\n"
                "    h = int(torch.div(d, 3, rounding_mode=\"trunc\"))\n"
                "    q = int(torch.floor_divide(torch.neg(d), 3))\n"
                "    a, b, = torch.chunk(x, h + 1, 0)\n"
                "    return torch.mul(a, torch.add(q, 3))\n",
                want, 2);
}

Test(ts_graph, lists_dicts_slices_in_place)
{
  const float want[] = {0, 0, 33, 44};
  expect_output("    t = {\"a\": [1, 2, 3][1:]}\n"
                "    y = torch.add(x, self.w)\n"
                "    s = torch.slice(y, 0, t[\"a\"][0], None)\n"
                "    _0 = torch.relu_(torch.neg(y))\n"
                "    z = torch.cat([torch.mul(torch.slice(y, 0, 0, 2), 0.), s], 0)\n"
                "    return z\n",
                want, 4);
}

Test(ts_graph, free_functions_and_function_values)
{
  const float want[] = {9, 19, 29, 39};
  expect_output("    f = __torch__.less\n"
                "    return f(x, 1, )\n"
                "def less(x: Tensor, by: int=2) -> Tensor:\n"
                "  return torch.sub(x, by)\n",
                want, 4);
}

/* ------------------------------------------------------------------------
 * Errors: the text and the code's file:line:col
 * ------------------------------------------------------------------------ */

Test(ts_graph, data_dependent_if_takes_either_branch)
{
  const float else_side[] = {-13, -23, -33, -43};
  const float want_then[] = {18, 38, 58, 78};
  expect_output("    if bool(torch.gt(torch.sum(x), 0)):\n"
                "      y, k = torch.mul(x, 2), 2\n"
                "    else:\n"
                "      y, k = torch.neg(x), 3\n"
                "    return torch.sub(y, k)\n",
                want_then, 4);
  expect_output("    if bool(torch.lt(torch.sum(x), 0)):\n"
                "      y, k = torch.mul(x, 2), 2\n"
                "    else:\n"
                "      y, k = torch.neg(x), 3\n"
                "    return torch.sub(y, k)\n",
                else_side, 4);
}

Test(ts_graph, data_dependent_checks_are_taken_to_pass)
{
  const float want[] = {20, 40, 60, 80};
  expect_output("    _0 = bool(torch.gt(torch.sum(x), 0))\n"
                "    if _0:\n"
                "      pass\n"
                "    else:\n"
                "      ops.prim.RaiseException(\"AssertionError: sum\")\n"
                "    if bool(torch.lt(torch.sum(x), -5)):\n"
                "      raise ValueError(\"negative\")\n"
                "    return torch.mul(x, 2)\n",
                want, 4);
}

Test(ts_graph, data_dependent_loops)
{
  const float sums[] = {-14, -4, 6, 16}, halved[] = {5, 10, 15, 20};
  expect_output("    y = x\n"
                "    for i in range(int(torch.div(torch.select(x, 0, 0), 5))):\n"
                "      y = torch.add(y, torch.mul(torch.select(self.w, 0, 0), i))\n"
                "    y0 = y\n"
                "    for j in range(int(torch.sub(torch.select(x, 0, 0), 10))):\n"
                "      y0 = torch.add(y0, torch.select(x, 0, 3))\n"
                "    return torch.sub(y0, 25)\n",
                sums, 4);
  expect_output("    y = x\n"
                "    _0 = bool(torch.gt(torch.sum(y), 50))\n"
                "    while _0:\n"
                "      y = torch.div(y, 2)\n"
                "      _0 = bool(torch.gt(torch.sum(y), 50))\n"
                "    return y\n",
                halved, 4);
}

Test(ts_graph, data_dependent_refusals_name_their_line)
{
  expect_error("    y = x\n"
               "    while bool(torch.gt(torch.sum(y), 50)):\n"
               "      y = torch.div(y, 2)\n"
               "      break\n"
               "    return y\n",
               false, "`break` inside a data-dependent `while` loop is not supported", 11, 7);
  aotc_ctx_free(ctx);
  ctx = aotc_ctx_new(NULL, NULL);
  expect_error("    if bool(torch.gt(torch.sum(x), 0)):\n"
               "      y = torch.sum(x)\n"
               "    else:\n"
               "      y = x\n"
               "    return y\n",
               false, "variable 'y' is float[] in the then branch and float[4] in the else branch", 8, 5);
  aotc_ctx_free(ctx);
  ctx = aotc_ctx_new(NULL, NULL);
  expect_error("    y = x\n"
               "    for i in range(int(torch.sum(x)), 3):\n"
               "      y = x\n"
               "    return y\n",
               false, "only `for ... in range(n)` (one argument) may depend", 9, 19);
}

Test(ts_graph, unsupported_operator_names_it)
{
  expect_error("    y = torch.add(x, 1)\n"
               "    return torch.erfinv(y)\n",
               false, "operator 'torch.erfinv' is not supported", 9, 24);
}

Test(ts_graph, missing_shape_says_what_to_pass)
{
  expect_error("    return x\n", true, "input 'x' has no shape: pass --shape x=D0,D1,...", 0, 0);
}

Test(ts_graph, int_of_many_elements_is_refused)
{
  expect_error("    n = int(x)\n"
               "    return x\n",
               false, "int() of a tensor of 4 elements", 8, 12);
}

Test(ts_graph, integer_overflow_and_long_ranges)
{
  expect_error("    n = 9223372036854775807 + 1\n"
               "    return x\n",
               false, "integer arithmetic overflows", 8, 29);
  aotc_ctx_free(ctx);
  ctx = aotc_ctx_new(NULL, NULL);
  expect_error("    for i in range(-9223372036854775807, 9223372036854775807, 3):\n"
               "      x = x\n"
               "    return x\n",
               false, "too long to unroll", 8, 19);
}

Test(ts_graph, recursion_is_bounded)
{
  expect_error("    return __torch__.again(x, )\n"
               "def again(x: Tensor) -> Tensor:\n"
               "  return __torch__.again(x, )\n",
               false, "calls nest deeper than", 10, 25);
}

Test(ts_graph, arguments_that_are_not_tensors)
{
  cr_assert_null(graph_of_code("    x: Tensor, n: int) -> Tensor:\n    return x\n", false));
  expect_diag("forward's argument 'n' is not a Tensor", 7, 16);
}

Test(ts_graph, arguments_with_defaults_take_them)
{
  const float want[] = {12, 22, 32, 42};
  float out[4];
  run_graph(graph_of_code("    x: Tensor, mask: Optional[Tensor]=None, k: int=2) -> Tensor:\n"
                          "    if torch.__is__(mask, None):\n"
                          "      y = torch.add(x, k)\n"
                          "    else:\n"
                          "      y = x\n"
                          "    return y\n",
                          false),
            out, 4);
  for (int i = 0; i < 4; i++)
    cr_expect_float_eq(out[i], want[i], 1e-5);
}

Test(ts_graph, shapes_that_do_not_fit)
{
  expect_error("    return torch.view(x, [3, -1])\n", false, "4 elements do not fit the shape", 8, 22);
}
