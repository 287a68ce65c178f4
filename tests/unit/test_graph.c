/* test_graph.c: the model graph and op library with no frontend. A small
 * CNN (conv + bias, batchnorm, relu, maxpool, flatten, gemm, softmax) is
 * built through the graph builders alone, lowered, run through the
 * reference interpreter and through emitted C, and compared with a naive
 * implementation written here, also with its first layers in chunks of
 * images (batch chunks). Then shape inference's checks: overflowing
 * sizes, the memory budget, slices at the int64 limits, a repeated slice
 * axis, a kernel shape that disagrees with the weights. */
#define _GNU_SOURCE
#include "graph.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
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

TestSuite(graph, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------------
 * The CNN: x (N, 3, 8, 8) -> conv 3x3 (4 channels, pad 1, bias) ->
 * batchnorm -> relu -> maxpool 2x2 stride 2 -> flatten -> gemm (10, bias)
 * -> softmax
 * ------------------------------------------------------------------------ */

enum { C_IN = 3, C_OUT = 4, HW = 8, K = 3, POOLED = 4, FEATURES = C_OUT * POOLED * POOLED, CLASSES = 10 };

typedef struct cnn_weights {
  float w1[C_OUT * C_IN * K * K], b1[C_OUT];
  float scale[C_OUT], bias[C_OUT], mean[C_OUT], var[C_OUT];
  float w2[CLASSES * FEATURES], b2[CLASSES];
} cnn_weights;

/* Deterministic values in [lo, lo + span). */
static void fill(float *v, int n, unsigned seed, float lo, float span)
{
  for (int i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    v[i] = lo + span * (float)((seed >> 8) & 0xffff) / 65536.0f;
  }
}

static void make_weights(cnn_weights *w)
{
  fill(w->w1, C_OUT * C_IN * K * K, 1, -0.5f, 1.0f);
  fill(w->b1, C_OUT, 2, -0.2f, 0.4f);
  fill(w->scale, C_OUT, 3, 0.5f, 1.0f);
  fill(w->bias, C_OUT, 4, -0.3f, 0.6f);
  fill(w->mean, C_OUT, 5, -0.2f, 0.4f);
  fill(w->var, C_OUT, 6, 0.5f, 1.0f);
  fill(w->w2, CLASSES * FEATURES, 7, -0.3f, 0.6f);
  fill(w->b2, CLASSES, 8, -0.1f, 0.2f);
}

static int constant(ir_graph *g, const char *name, int rank, const int64_t *shape, const float *data)
{
  int v = graph_constant(g, name, IR_F32, rank, shape, data);
  cr_assert(v >= 0);
  return v;
}

static graph_window window_2d(int64_t k, int64_t stride, int64_t pad)
{
  graph_window w = {.n_spatial = 2, .auto_pad = GRAPH_AUTO_PAD_NONE};
  for (int i = 0; i < 2; i++) {
    w.kernel[i] = k;
    w.strides[i] = stride;
    w.dilations[i] = 1;
    w.pads[i] = w.pads[2 + i] = pad;
  }
  return w;
}

/* The CNN through the builders; the graph's one output is the softmax. */
static ir_graph *build_cnn(const cnn_weights *w, int64_t batch)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0});
  int64_t xs[4] = {batch, C_IN, HW, HW}, ws[4] = {C_OUT, C_IN, K, K}, cs[1] = {C_OUT};
  int64_t w2s[2] = {CLASSES, FEATURES}, b2s[1] = {CLASSES};
  int x = graph_input(g, "x", IR_F32, 4, xs);
  graph_conv_params conv = {.window = window_2d(0, 1, 1), .groups = 1};
  int y = graph_conv(g, x, constant(g, "w1", 4, ws, w->w1), constant(g, "b1", 1, cs, w->b1), &conv);
  y = graph_batchnorm(g, y, constant(g, "scale", 1, cs, w->scale), constant(g, "bias", 1, cs, w->bias),
                      constant(g, "mean", 1, cs, w->mean), constant(g, "var", 1, cs, w->var), 1e-5);
  y = graph_relu(g, y);
  graph_pool_params pool = {.window = window_2d(2, 2, 0)};
  y = graph_maxpool(g, y, &pool);
  y = graph_flatten(g, y, 1);
  graph_gemm_params gemm = {.trans_b = true, .alpha = 1, .beta = 1};
  y = graph_gemm(g, y, constant(g, "w2", 2, w2s, w->w2), constant(g, "b2", 1, b2s, w->b2), &gemm);
  y = graph_softmax(g, y, 1);
  cr_assert(x >= 0 && y >= 0 && graph_output(g, y));
  g->values[y].name = "probs";
  return g;
}

/* ------------------------------------------------------------------------
 * The naive reference
 * ------------------------------------------------------------------------ */

static void ref_conv_bn_relu(const cnn_weights *w, const float *x, float *y)
{
  for (int m = 0; m < C_OUT; m++) {
    float s = w->scale[m] / sqrtf(w->var[m] + 1e-5f);
    for (int i = 0; i < HW; i++)
      for (int j = 0; j < HW; j++) {
        float acc = w->b1[m];
        for (int c = 0; c < C_IN; c++)
          for (int ki = 0; ki < K; ki++)
            for (int kj = 0; kj < K; kj++) {
              int r = i + ki - 1, q = j + kj - 1;
              if (r >= 0 && r < HW && q >= 0 && q < HW)
                acc += w->w1[((m * C_IN + c) * K + ki) * K + kj] * x[(c * HW + r) * HW + q];
            }
        float v = (acc - w->mean[m]) * s + w->bias[m];
        y[(m * HW + i) * HW + j] = v > 0 ? v : 0;
      }
  }
}

static void ref_pool(const float *a, float *feat)
{
  for (int m = 0; m < C_OUT; m++)
    for (int i = 0; i < POOLED; i++)
      for (int j = 0; j < POOLED; j++) {
        float v = -INFINITY;
        for (int di = 0; di < 2; di++)
          for (int dj = 0; dj < 2; dj++)
            v = fmaxf(v, a[(m * HW + 2 * i + di) * HW + 2 * j + dj]);
        feat[(m * POOLED + i) * POOLED + j] = v;
      }
}

static void ref_dense_softmax(const cnn_weights *w, const float *feat, float *out)
{
  double logits[CLASSES], top = -INFINITY, sum = 0;
  for (int k = 0; k < CLASSES; k++) {
    logits[k] = w->b2[k];
    for (int f = 0; f < FEATURES; f++)
      logits[k] += (double)w->w2[k * FEATURES + f] * feat[f];
    top = fmax(top, logits[k]);
  }
  for (int k = 0; k < CLASSES; k++)
    sum += exp(logits[k] - top);
  for (int k = 0; k < CLASSES; k++)
    out[k] = (float)(exp(logits[k] - top) / sum);
}

static void reference(const cnn_weights *w, const float *x, int64_t batch, float *out)
{
  float act[C_OUT * HW * HW], feat[FEATURES];
  for (int64_t b = 0; b < batch; b++) {
    ref_conv_bn_relu(w, x + b * C_IN * HW * HW, act);
    ref_pool(act, feat);
    ref_dense_softmax(w, feat, out + b * CLASSES);
  }
}

/* ------------------------------------------------------------------------
 * Running the lowered function
 * ------------------------------------------------------------------------ */

static ir_func *lower(ir_graph *g, bool fold)
{
  bool ok = ir_graph_infer(g) && (!fold || ir_graph_fold_batchnorm(g));
  if (ok)
    ir_graph_dce(g);
  ir_func *f = ok ? ir_graph_lower(g, "cnn") : NULL;
  if (!f)
    aotc_print_diags(ctx, stderr);
  cr_assert_not_null(f, "the CNN lowers");
  cr_assert_eq(f->n_inputs, 1);
  cr_assert_eq(f->n_outputs, 1);
  return f;
}

static void expect_close(const float *got, const float *want, int n, const char *what)
{
  for (int i = 0; i < n; i++)
    cr_expect(fabsf(got[i] - want[i]) <= 1e-4f * (1 + fabsf(want[i])), "%s: element %d is %g, expected %g", what, i,
              got[i], want[i]);
}

typedef int (*call_fn)(const int64_t *sizes, void *const *args, void *workspace);
typedef size_t (*ws_fn)(const int64_t *sizes);

static void *build_so(ir_func *f, char *dir)
{
  char path[256], cmd[512];
  strcpy(dir, "/tmp/aotc_graph_XXXXXX");
  cr_assert(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/k.c", dir);
  FILE *c = fopen(path, "w");
  snprintf(path, sizeof(path), "%s/k.h", dir);
  FILE *h = fopen(path, "w");
  ir_module m = {1, &f};
  emit_options o = {.fuse = true, .header_name = "k.h"};
  bool ok = emit_c_module(ctx, &m, &f, 1, &o, c, h);
  fclose(c);
  fclose(h);
  cr_assert(ok, "emit failed");
  snprintf(cmd, sizeof(cmd), "cd %s && cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -fPIC -shared -o k.so k.c -lm",
           dir);
  cr_assert_eq(system(cmd), 0, "the emitted C does not compile (in %s)", dir);
  snprintf(path, sizeof(path), "%s/k.so", dir);
  void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  cr_assert(so, "dlopen: %s", dlerror());
  return so;
}

static void run_c(ir_func *f, float *x, float *out)
{
  char dir[64], cmd[128];
  void *so = build_so(f, dir);
  call_fn call = (call_fn)dlsym(so, "cnn_call");
  ws_fn ws = (ws_fn)dlsym(so, "cnn_call_workspace_bytes");
  cr_assert(call && ws);
  void *work = malloc(ws(NULL) + 1), *args[2] = {x, out};
  cr_expect_eq(call(NULL, args, work), 0);
  free(work);
  dlclose(so);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

static void check_cnn(int64_t batch, bool fold)
{
  static cnn_weights w;
  float x[2 * C_IN * HW * HW], want[2 * CLASSES], got[2 * CLASSES];
  make_weights(&w);
  fill(x, (int)batch * C_IN * HW * HW, 9, -1.0f, 2.0f);
  reference(&w, x, batch, want);
  ir_func *f = lower(build_cnn(&w, batch), fold);
  void *args[2] = {x, got};
  memset(got, 0, sizeof(got));
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0, "the interpreter runs the CNN");
  expect_close(got, want, (int)batch * CLASSES, "interpreter");
  memset(got, 0, sizeof(got));
  run_c(f, x, got);
  expect_close(got, want, (int)batch * CLASSES, "emitted C");
}

Test(graph, cnn_through_the_builders_matches_a_naive_reference)
{
  check_cnn(2, false);
}

Test(graph, cnn_with_batchnorm_folded_into_the_convolution)
{
  check_cnn(2, true);
}

Test(graph, cnn_of_one_image_as_a_packed_matrix_product)
{
  check_cnn(1, true);
}

/* ------------------------------------------------------------------------
 * Batch chunks (src/graph/batch_chunks.c)
 * ------------------------------------------------------------------------ */

/* Every node's outputs name it as their producer, and every input of a live
 * node is a graph input, a constant or the output of a live node before it. */
static void expect_ordered(const ir_graph *g)
{
  for (int k = 0; k < g->n_nodes; k++) {
    const ir_node *n = &g->nodes[k];
    for (int j = 0; j < n->n_out; j++)
      cr_expect(n->out[j] < 0 || g->values[n->out[j]].producer == k, "node %d's output %d names another producer",
                k, j);
    for (int j = 0; !n->dead && j < n->n_in; j++) {
      const ir_value *v = n->in[j] >= 0 ? &g->values[n->in[j]] : NULL;
      cr_expect(!v || v->is_input || v->data || (v->producer >= 0 && v->producer < k && !g->nodes[v->producer].dead),
                "node %d (%s) reads '%s' before it is made", k, n->name, v ? v->name : "");
    }
  }
}

/* The CNN at batch 3, batch normalisation folded, its per-image prefix
 * (conv, relu, maxpool) forced into chunks of `per` images: the chunks'
 * slices, clones and concatenation in order, and the interpreter and the
 * emitted C still match the naive reference. */
static void check_chunks(int64_t per, int want_chunks)
{
  static cnn_weights w;
  enum { B = 3 };
  float x[B * C_IN * HW * HW], want[B * CLASSES], got[B * CLASSES];
  char env[8];
  graph_chunk_report r;
  make_weights(&w);
  fill(x, B * C_IN * HW * HW, 10, -1.0f, 2.0f);
  reference(&w, x, B, want);
  ir_graph *g = build_cnn(&w, B);
  cr_assert(ir_graph_infer(g) && ir_graph_fold_batchnorm(g));
  snprintf(env, sizeof env, "%lld", (long long)per);
  setenv("AOTC_BATCH_CHUNK", env, 1);
  bool ok = graph_batch_chunks(g, 1, &r);
  unsetenv("AOTC_BATCH_CHUNK");
  cr_assert(ok);
  cr_expect_eq(r.nodes, 3, "the chain is conv, relu, maxpool (%d nodes)", r.nodes);
  cr_expect_eq(r.chunks, want_chunks);
  cr_expect_eq(r.images, per);
  expect_ordered(g);
  ir_graph_dce(g);
  ir_func *f = ir_graph_lower(g, "cnn");
  cr_assert_not_null(f);
  void *args[2] = {x, got};
  memset(got, 0, sizeof(got));
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0);
  expect_close(got, want, B * CLASSES, "interpreter, chunks");
  memset(got, 0, sizeof(got));
  run_c(f, x, got);
  expect_close(got, want, B * CLASSES, "emitted C, chunks");
}

Test(graph, batch_chunks_of_one_image)
{
  check_chunks(1, 3);
}

Test(graph, batch_chunks_of_uneven_size)
{
  check_chunks(2, 2);
}

/* Unforced, a chain whose images are small (the CNN's 1 KB) stays whole,
 * and so does one at batch 1. */
Test(graph, batch_chunks_leave_small_images_alone)
{
  static cnn_weights w;
  graph_chunk_report r;
  make_weights(&w);
  for (int64_t batch = 1; batch <= 2; batch++) {
    ir_graph *g = build_cnn(&w, batch);
    cr_assert(ir_graph_infer(g) && ir_graph_fold_batchnorm(g));
    int nodes = g->n_nodes;
    cr_assert(graph_batch_chunks(g, 1, &r));
    cr_expect_eq(r.nodes, 0);
    cr_expect_eq(g->n_nodes, nodes, "the graph changed");
  }
}

/* ------------------------------------------------------------------------
 * Shape inference refuses what it cannot represent
 * ------------------------------------------------------------------------ */

static bool diag_has(const char *a, const char *b)
{
  for (int k = 0; k < ctx->n_diags; k++)
    if (strstr(ctx->diags[k].msg, a) && (!b || strstr(ctx->diags[k].msg, b)))
      return true;
  return false;
}

static void expect_refused(ir_graph *g, const char *a, const char *b)
{
  cr_expect_not(ir_graph_infer(g), "shape inference refuses");
  cr_expect(diag_has(a, b), "an error mentions '%s'%s%s", a, b ? " and " : "", b ? b : "");
  if (!diag_has(a, b))
    aotc_print_diags(ctx, stderr);
}

static int ints(ir_graph *g, int n, const int64_t *v)
{
  int64_t len = n;
  return graph_constant(g, NULL, IR_I64, 1, &len, v);
}

Test(graph, tile_beyond_the_memory_budget_names_the_node_and_size)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0});
  int64_t xs[2] = {32, 32}, reps[2] = {1 << 12, 1 << 13};
  int x = graph_input(g, "x", IR_F32, 2, xs);
  int y = graph_binary(g, GRAPH_OP_TILE, x, ints(g, 2, reps));
  g->nodes[0].name = "big_tile";
  graph_output(g, y);
  expect_refused(g, "node 'big_tile' (tile)", "needs 137438953472 bytes (34359738368 elements of float)");
  cr_expect(diag_has("memory budget of 4294967296 bytes", NULL));
}

Test(graph, the_memory_budget_is_a_graph_field)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0});
  int64_t xs[1] = {1024}, reps[1] = {4};
  int x = graph_input(g, "x", IR_F32, 1, xs);
  graph_output(g, graph_binary(g, GRAPH_OP_TILE, x, ints(g, 1, reps)));
  g->max_bytes = 8192;
  expect_refused(g, "needs 16384 bytes", "memory budget of 8192 bytes");
}

Test(graph, overflowing_products_are_errors)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0});
  int64_t xs[2] = {(int64_t)1 << 40, (int64_t)1 << 30}, reps[2] = {1 << 30, 1};
  int x = graph_input(g, "x", IR_U8, 2, xs);
  graph_output(g, graph_binary(g, GRAPH_OP_TILE, x, ints(g, 2, reps)));
  expect_refused(g, "size arithmetic overflows", NULL);
}

Test(graph, reshape_to_an_overflowing_shape_is_an_error)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0});
  int64_t xs[1] = {8}, shape[3] = {(int64_t)1 << 40, (int64_t)1 << 40, 8};
  int x = graph_input(g, "x", IR_F32, 1, xs);
  graph_output(g, graph_reshape(g, x, ints(g, 3, shape)));
  expect_refused(g, "size arithmetic overflows", NULL);
}

Test(graph, conv_on_a_huge_input_is_an_error)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0});
  int64_t xs[4] = {1, 1, INT64_MAX, 1}, ws[4] = {1, 1, 3, 1};
  float w[3] = {1, 2, 3};
  int x = graph_input(g, "x", IR_F32, 4, xs);
  graph_conv_params p = {.window = window_2d(0, 1, 1)};
  graph_output(g, graph_conv(g, x, graph_constant(g, "w", IR_F32, 4, ws, w), -1, &p));
  expect_refused(g, "size arithmetic overflows", NULL);
}

Test(graph, conv_kernel_shape_must_match_the_weights)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0});
  int64_t xs[4] = {1, 1, 8, 8}, ws[4] = {1, 1, 3, 3};
  float w[9] = {0};
  int x = graph_input(g, "x", IR_F32, 4, xs);
  graph_conv_params p = {.window = window_2d(5, 1, 0)};
  graph_output(g, graph_conv(g, x, graph_constant(g, "w", IR_F32, 4, ws, w), -1, &p));
  expect_refused(g, "kernel shape 5x5 does not match the weights' spatial sizes 3x3", NULL);
}

/* A slice of x = 0 .. 4 (int64) along axis 0; the output's values. */
static int slice_values(int64_t start, int64_t end, int64_t step, int64_t *out)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0});
  int64_t xs[1] = {5}, data[5] = {0, 1, 2, 3, 4};
  int x = graph_input(g, "x", IR_I64, 1, xs);
  int in[5] = {x, ints(g, 1, &start), ints(g, 1, &end), ints(g, 1, (int64_t[]){0}), ints(g, 1, &step)};
  int y = graph_node(g, GRAPH_OP_SLICE, in, 5, NULL);
  graph_output(g, y);
  bool ok = ir_graph_infer(g);
  if (ok)
    ir_graph_dce(g);
  ir_func *f = ok ? ir_graph_lower(g, "slice") : NULL;
  if (!f)
    aotc_print_diags(ctx, stderr);
  cr_assert_not_null(f);
  void *args[2] = {data, out};
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0);
  return (int)g->values[y].shape[0];
}

Test(graph, slice_at_the_int64_limits)
{
  int64_t out[5];
  cr_expect_eq(slice_values(INT64_MIN, INT64_MAX, 1, out), 5);
  cr_expect(out[0] == 0 && out[4] == 4);
  cr_expect_eq(slice_values(INT64_MAX, INT64_MIN, -1, out), 5);
  cr_expect(out[0] == 4 && out[4] == 0);
  cr_expect_eq(slice_values(0, INT64_MAX, INT64_MAX, out), 1);
  cr_expect_eq(out[0], 0);
  cr_expect_eq(slice_values(INT64_MAX, INT64_MIN, INT64_MIN, out), 1);
  cr_expect_eq(out[0], 4);
  cr_expect_eq(slice_values(INT64_MIN, INT64_MIN, 1, out), 0);
  cr_expect_eq(slice_values(1, -1, 2, out), 2);
  cr_expect(out[0] == 1 && out[1] == 3);
}

Test(graph, slice_with_a_repeated_axis_is_an_error)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0});
  int64_t xs[2] = {4, 4}, starts[2] = {0, 1}, ends[2] = {2, 3}, axes[2] = {1, -1};
  int x = graph_input(g, "x", IR_F32, 2, xs);
  int in[4] = {x, ints(g, 2, starts), ints(g, 2, ends), ints(g, 2, axes)};
  graph_output(g, graph_node(g, GRAPH_OP_SLICE, in, 4, NULL));
  expect_refused(g, "axis 1 is sliced twice", NULL);
}

/* ------------------------------------------------------------------------
 * More builders: transpose, matmul, concat, reduce, cast
 * ------------------------------------------------------------------------ */

/* y = cast<f64>(sum over j of concat(x x^T, 2 x x^T)(i, j)) for x (2, 3). */
Test(graph, builders_for_data_movement_and_reductions)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0});
  int64_t xs[2] = {2, 3}, axis = 1;
  float x[6] = {1, -2, 3, 0.5f, 4, -1};
  double got[4], want[4];
  int xv = graph_input(g, "x", IR_F32, 2, xs);
  int m = graph_matmul(g, xv, graph_transpose(g, xv, 2, (int[]){1, 0}));
  int two = graph_constant(g, "two", IR_F32, 0, NULL, &(float){2});
  int cat = graph_concat(g, (int[]){m, graph_mul(g, m, two)}, 2, 0);
  int y = graph_cast(g, graph_reduce(g, GRAPH_OP_REDUCE_SUM, cat, 1, &axis, false), IR_F64);
  cr_assert(y >= 0 && graph_output(g, y));
  cr_assert(ir_graph_infer(g));
  ir_graph_dce(g);
  ir_func *f = ir_graph_lower(g, "f");
  cr_assert_not_null(f);
  cr_assert_eq(g->values[y].rank, 1);
  cr_assert_eq(g->values[y].shape[0], 4);
  cr_assert_eq(g->values[y].type, IR_F64);
  for (int i = 0; i < 2; i++) {
    double s = 0;
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 3; k++)
        s += (double)x[i * 3 + k] * x[j * 3 + k];
    want[i] = s;
    want[2 + i] = 2 * s;
  }
  void *args[2] = {x, got};
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0);
  for (int i = 0; i < 4; i++)
    cr_expect(fabs(got[i] - want[i]) < 1e-5, "element %d is %g, expected %g", i, got[i], want[i]);
}
