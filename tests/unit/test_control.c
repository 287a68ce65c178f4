/* test_control.c: control flow built through the graph builders alone
 * (graph_if, graph_loop), lowered to regions, partitioned, memory-planned,
 * then run through the reference interpreter and through emitted C and
 * compared with closed forms: both branches of a data-dependent if, a loop
 * whose trip count and condition are run-time values (stopped by the trip
 * count, by the condition, and never run), and a loop with a stacked scan
 * output. ONNX models from tests/unit/onnx_models/make_control.py: a Loop
 * with run-time trip count and condition and an If inside its body, and
 * branches of different shapes, refused. */
#define _GNU_SOURCE
#include "graph.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static aotc_ctx *ctx;

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
}

static void teardown(void)
{
  aotc_ctx_free(ctx);
}

TestSuite(control, .init = setup, .fini = teardown);

enum { N = 4 };
static const int64_t vec[1] = {N};

/* ------------------------------------------------------------------------
 * Lowering through the pipeline's IR passes, and running
 * ------------------------------------------------------------------------ */

static ir_func *lower(ir_graph *g, const char *name)
{
  bool ok = ir_graph_infer(g) && ir_graph_fold(g);
  if (ok)
    ir_graph_dce(g);
  ir_func *f = ok ? ir_graph_lower(g, name) : NULL;
  int64_t bound;
  ok = f && ir_partition(ctx, f, f->stmt_origin) && ir_memplan(ctx, f, &bound) && ir_verify(ctx, f);
  if (!ok)
    aotc_print_diags(ctx, stderr);
  cr_assert(ok, "%s lowers, partitions, plans and verifies", name);
  cr_assert_not_null(f->body, "%s has regions", name);
  return f;
}

typedef int (*call_fn)(const int64_t *sizes, void *const *args, void *workspace);
typedef size_t (*ws_fn)(const int64_t *sizes);

typedef struct built {
  char dir[64];
  void *so;
  call_fn call;
  ws_fn ws;
} built;

static void build(ir_func *f, built *b)
{
  char path[256], cmd[512];
  strcpy(b->dir, "/tmp/aotc_control_XXXXXX");
  cr_assert(mkdtemp(b->dir));
  snprintf(path, sizeof(path), "%s/k.c", b->dir);
  FILE *c = fopen(path, "w");
  snprintf(path, sizeof(path), "%s/k.h", b->dir);
  FILE *h = fopen(path, "w");
  ir_module m = {1, &f};
  emit_options o = {.fuse = true, .header_name = "k.h"};
  bool ok = emit_c_module(ctx, &m, &f, 1, &o, c, h);
  fclose(c);
  fclose(h);
  cr_assert(ok, "emit failed");
  snprintf(cmd, sizeof(cmd), "cd %s && cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -fPIC -shared -o k.so k.c -lm",
           b->dir);
  cr_assert_eq(system(cmd), 0, "the emitted C does not compile (in %s)", b->dir);
  snprintf(path, sizeof(path), "%s/k.so", b->dir);
  b->so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  cr_assert(b->so, "dlopen: %s", dlerror());
  snprintf(path, sizeof(path), "%s_call", f->name);
  b->call = (call_fn)dlsym(b->so, path);
  snprintf(path, sizeof(path), "%s_call_workspace_bytes", f->name);
  b->ws = (ws_fn)dlsym(b->so, path);
  cr_assert(b->call && b->ws);
}

static void unbuild(built *b)
{
  char cmd[128];
  dlclose(b->so);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", b->dir);
  cr_expect_eq(system(cmd), 0);
}

static void run_c(built *b, void *const *args)
{
  void *work = malloc(b->ws(NULL) + 1);
  cr_expect_eq(b->call(NULL, args, work), 0);
  free(work);
}

static void expect_close(const float *got, const float *want, int n, const char *what)
{
  for (int i = 0; i < n; i++)
    cr_expect(fabsf(got[i] - want[i]) <= 1e-5f * (1 + fabsf(want[i])), "%s: element %d is %g, expected %g", what, i,
              got[i], want[i]);
}

/* ------------------------------------------------------------------------
 * if: z = (p ? x * x : -x) + 1
 * ------------------------------------------------------------------------ */

static ir_graph *build_if(void)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0}), *then_g = ir_graph_new(ctx, (ir_loc){0});
  ir_graph *else_g = ir_graph_new(ctx, (ir_loc){0});
  float one = 1;
  int p = graph_input(g, "p", IR_BOOL, 0, NULL), x = graph_input(g, "x", IR_F32, 1, vec);
  int a = graph_input(then_g, "a", IR_F32, 1, vec), b = graph_input(else_g, "b", IR_F32, 1, vec), out;
  cr_assert(graph_output(then_g, graph_mul(then_g, a, a)));
  cr_assert(graph_output(else_g, graph_unary(else_g, GRAPH_OP_NEG, b)));
  cr_assert(graph_if(g, p, then_g, &x, else_g, &x, &out) >= 0);
  int z = graph_add(g, out, graph_constant(g, "one", IR_F32, 0, NULL, &one));
  cr_assert(z >= 0 && graph_output(g, z));
  return g;
}

static void check_if(ir_func *f, built *b, bool p)
{
  float x[N] = {1.5f, -2, 0.25f, 3}, want[N], got[N];
  for (int i = 0; i < N; i++)
    want[i] = (p ? x[i] * x[i] : -x[i]) + 1;
  void *args[3] = {&p, x, got};
  memset(got, 0, sizeof(got));
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0);
  expect_close(got, want, N, p ? "interpreter, then" : "interpreter, else");
  memset(got, 0, sizeof(got));
  run_c(b, args);
  expect_close(got, want, N, p ? "emitted C, then" : "emitted C, else");
}

Test(control, if_takes_either_branch_at_run_time)
{
  ir_func *f = lower(build_if(), "ctl_if");
  cr_expect_eq(f->body->n_children >= 1, true);
  built b;
  build(f, &b);
  check_if(f, &b, true);
  check_if(f, &b, false);
  unbuild(&b);
}

/* ------------------------------------------------------------------------
 * loop: at most n iterations while c, then while i + 1 < L; each one
 * s = s * 0.5 + w and cnt = cnt + 1. After k iterations
 * s = 0.5^k x + 2 w (1 - 0.5^k), cnt = k, with
 * k = (c && n > 0) ? max(1, min(n, L)) : 0.
 * ------------------------------------------------------------------------ */

static const float loop_w[N] = {1, -1, 0.5f, 4};

static ir_graph *build_loop_body(void)
{
  ir_graph *body = ir_graph_new(ctx, (ir_loc){0});
  float half = 0.5f;
  int64_t one = 1;
  int it = graph_input(body, "i", IR_I64, 0, NULL);
  cr_assert(graph_input(body, "c", IR_BOOL, 0, NULL) >= 0);
  int s = graph_input(body, "s", IR_F32, 1, vec), cnt = graph_input(body, "cnt", IR_I64, 0, NULL);
  int w = graph_input(body, "w", IR_F32, 1, vec), lim = graph_input(body, "L", IR_I64, 0, NULL);
  int k1 = graph_constant(body, "one", IR_I64, 0, NULL, &one);
  int s2 = graph_add(body, graph_mul(body, s, graph_constant(body, "half", IR_F32, 0, NULL, &half)), w);
  int more = graph_binary(body, GRAPH_OP_LESS, graph_add(body, it, k1), lim);
  cr_assert(graph_output(body, more) && graph_output(body, s2) && graph_output(body, graph_add(body, cnt, k1)));
  return body;
}

static ir_graph *build_loop(void)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0});
  int64_t zero = 0;
  int n = graph_input(g, "n", IR_I64, 0, NULL), c = graph_input(g, "c", IR_BOOL, 0, NULL);
  int x = graph_input(g, "x", IR_F32, 1, vec), lim = graph_input(g, "L", IR_I64, 0, NULL);
  int carried[2] = {x, graph_constant(g, "zero", IR_I64, 0, NULL, &zero)};
  int outer[2] = {graph_constant(g, "w", IR_F32, 1, vec, loop_w), lim}, outs[2];
  cr_assert(graph_loop(g, n, c, carried, 2, build_loop_body(), outer, outs) >= 0);
  cr_assert(graph_output(g, outs[0]) && graph_output(g, outs[1]));
  return g;
}

static void check_loop(ir_func *f, built *b, int64_t n, bool c, int64_t lim)
{
  int64_t k = c && n > 0 ? (n < lim ? n : lim) : 0, cnt = -1;
  k = c && n > 0 && k < 1 ? 1 : k;
  float x[N] = {8, -4, 2, 0.5f}, want[N], got[N];
  for (int i = 0; i < N; i++)
    want[i] = (float)(pow(0.5, (double)k) * x[i] + 2 * loop_w[i] * (1 - pow(0.5, (double)k)));
  void *args[6] = {&n, &c, x, &lim, got, &cnt};
  memset(got, 0, sizeof(got));
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0);
  expect_close(got, want, N, "interpreter");
  cr_expect_eq(cnt, k, "interpreter: %lld iterations, expected %lld", (long long)cnt, (long long)k);
  memset(got, 0, sizeof(got));
  cnt = -1;
  run_c(b, args);
  expect_close(got, want, N, "emitted C");
  cr_expect_eq(cnt, k, "emitted C: %lld iterations, expected %lld", (long long)cnt, (long long)k);
}

Test(control, loop_with_run_time_trip_count_and_condition)
{
  ir_func *f = lower(build_loop(), "ctl_loop");
  built b;
  build(f, &b);
  check_loop(f, &b, 5, true, 100);
  check_loop(f, &b, 5, true, 3);
  check_loop(f, &b, 5, false, 100);
  check_loop(f, &b, 0, true, 100);
  check_loop(f, &b, -3, true, 100);
  check_loop(f, &b, 7, true, -2);
  unbuild(&b);
}

/* ------------------------------------------------------------------------
 * A loop with a scan output: 3 iterations of s = s + x, each s stacked:
 * row i is (i + 1) x; the final s is 3 x.
 * ------------------------------------------------------------------------ */

static ir_graph *build_scan(void)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0}), *body = ir_graph_new(ctx, (ir_loc){0});
  int64_t trip = 3;
  float zeros[N] = {0};
  cr_assert(graph_input(body, "i", IR_I64, 0, NULL) >= 0 && graph_input(body, "c", IR_BOOL, 0, NULL) >= 0);
  int s = graph_input(body, "s", IR_F32, 1, vec), xb = graph_input(body, "xb", IR_F32, 1, vec);
  int s2 = graph_add(body, s, xb);
  cr_assert(graph_output(body, body->inputs[1]) && graph_output(body, s2) && graph_output(body, s2));
  int x = graph_input(g, "x", IR_F32, 1, vec), init = graph_constant(g, "s0", IR_F32, 1, vec, zeros), outs[2];
  int t = graph_constant(g, "trip", IR_I64, 0, NULL, &trip);
  cr_assert(graph_loop(g, t, -1, &init, 1, body, &x, outs) >= 0);
  cr_assert(graph_output(g, outs[0]) && graph_output(g, outs[1]));
  return g;
}

Test(control, loop_stacks_a_scan_output)
{
  ir_func *f = lower(build_scan(), "ctl_scan");
  float x[N] = {1, -2, 0.5f, 3}, final[N], rows[3 * N], want_final[N], want_rows[3 * N];
  for (int i = 0; i < N; i++) {
    want_final[i] = 3 * x[i];
    for (int r = 0; r < 3; r++)
      want_rows[r * N + i] = (float)(r + 1) * x[i];
  }
  void *args[3] = {x, final, rows};
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0);
  expect_close(final, want_final, N, "interpreter, final");
  expect_close(rows, want_rows, 3 * N, "interpreter, rows");
  built b;
  build(f, &b);
  memset(rows, 0, sizeof(rows));
  run_c(&b, args);
  expect_close(final, want_final, N, "emitted C, final");
  expect_close(rows, want_rows, 3 * N, "emitted C, rows");
  unbuild(&b);
}

/* ------------------------------------------------------------------------
 * fold-control: a known condition leaves the taken branch's nodes; a loop
 * that never runs leaves identities
 * ------------------------------------------------------------------------ */

static int count_ops(const ir_graph *g, graph_op op)
{
  int n = 0;
  for (int k = 0; k < g->n_nodes; k++)
    n += g->nodes[k].op == op;
  return n;
}

static ir_graph *build_known_if(bool p)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0}), *then_g = ir_graph_new(ctx, (ir_loc){0});
  ir_graph *else_g = ir_graph_new(ctx, (ir_loc){0});
  int x = graph_input(g, "x", IR_F32, 1, vec), cond = graph_constant(g, "p", IR_BOOL, 0, NULL, &p), out;
  int a = graph_input(then_g, "a", IR_F32, 1, vec), b = graph_input(else_g, "b", IR_F32, 1, vec);
  cr_assert(graph_output(then_g, graph_mul(then_g, a, a)));
  cr_assert(graph_output(else_g, graph_unary(else_g, GRAPH_OP_NEG, b)));
  cr_assert(graph_if(g, cond, then_g, &x, else_g, &x, &out) >= 0 && graph_output(g, out));
  return g;
}

static void check_known_if(bool p)
{
  ir_graph *g = build_known_if(p);
  cr_assert(ir_graph_infer(g) && ir_graph_fold(g) && ir_graph_fold_control(g));
  cr_expect_eq(count_ops(g, GRAPH_OP_IF), 0, "the if is gone");
  cr_expect_eq(count_ops(g, p ? GRAPH_OP_MUL : GRAPH_OP_NEG), 1, "the taken branch's node is in the graph");
  ir_graph_dce(g);
  ir_func *f = ir_graph_lower(g, "known");
  cr_assert_not_null(f);
  cr_expect_null(f->body, "no regions");
  float x[N] = {1.5f, -2, 0.25f, 3}, want[N], got[N];
  for (int i = 0; i < N; i++)
    want[i] = p ? x[i] * x[i] : -x[i];
  void *args[2] = {x, got};
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0);
  expect_close(got, want, N, "interpreter");
}

Test(control, fold_control_inlines_the_taken_branch)
{
  check_known_if(true);
  check_known_if(false);
}

Test(control, fold_control_turns_a_loop_that_never_runs_into_copies)
{
  ir_graph *g = build_loop();
  int64_t zero = 0;
  g->nodes[g->n_nodes - 1].in[0] = graph_constant(g, "never", IR_I64, 0, NULL, &zero);
  cr_assert(ir_graph_infer(g) && ir_graph_fold(g) && ir_graph_fold_control(g));
  cr_expect_eq(count_ops(g, GRAPH_OP_LOOP), 0, "the loop is gone");
  cr_expect_eq(count_ops(g, GRAPH_OP_IDENTITY), 2, "its outputs are its initial values");
}

/* ------------------------------------------------------------------------
 * Refused: branches of different shapes under a run-time condition
 * ------------------------------------------------------------------------ */

Test(control, branches_of_different_shapes_are_refused_naming_the_node)
{
  ir_graph *g = ir_graph_new(ctx, (ir_loc){0}), *then_g = ir_graph_new(ctx, (ir_loc){0});
  ir_graph *else_g = ir_graph_new(ctx, (ir_loc){0});
  float v3[3] = {1, 2, 3}, v4[N] = {1, 2, 3, 4};
  int64_t three = 3;
  int out;
  int p = graph_input(g, "p", IR_BOOL, 0, NULL);
  cr_assert(graph_output(then_g, graph_constant(then_g, "a", IR_F32, 1, &three, v3)));
  cr_assert(graph_output(else_g, graph_constant(else_g, "b", IR_F32, 1, vec, v4)));
  int y = graph_if(g, p, then_g, NULL, else_g, NULL, &out);
  cr_assert(y >= 0 && graph_output(g, y));
  cr_assert(!ir_graph_infer(g));
  cr_assert(ctx->n_diags > 0);
  cr_expect(strstr(ctx->diags[0].msg, "if_") && strstr(ctx->diags[0].msg, "must agree"), "message: %s",
            ctx->diags[0].msg);
}

/* ------------------------------------------------------------------------
 * ONNX: Loop with run-time trip count and condition, an If in its body
 * ------------------------------------------------------------------------ */

static unsigned char *read_model(const char *name, size_t *len)
{
  char path[4400];
  const char *slash = strrchr(__FILE__, '/');
  snprintf(path, sizeof(path), "%.*s/onnx_models/%s.onnx", slash ? (int)(slash - __FILE__) : 1,
           slash ? __FILE__ : ".", name);
  if (access(path, R_OK) != 0)
    snprintf(path, sizeof(path), "tests/unit/onnx_models/%s.onnx", name);
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

static ir_module *compile_model(const char *name)
{
  size_t len;
  unsigned char *buf = read_model(name, &len);
  ir_module *m = onnx_compile(ctx, name, buf, len, name);
  free(buf);
  return m;
}

/* The model's loop, run directly. */
static void loop_while_if_reference(int64_t n, bool c, float limit, float *s)
{
  for (int64_t i = 0; i < n && c; i++) {
    float total = 0;
    for (int k = 0; k < 3; k++) {
      s[k] = i % 2 == 0 ? 2 * s[k] : s[k] + 1;
      total += s[k];
    }
    c = total < limit;
  }
}

static void check_loop_while_if(ir_func *f, built *b, int64_t n, bool c, float limit)
{
  float x[3] = {0.5f, -1, 2}, want[3], got[3];
  memcpy(want, x, sizeof(want));
  loop_while_if_reference(n, c, limit, want);
  void *args[5] = {&n, &c, x, &limit, got};
  memset(got, 0, sizeof(got));
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0);
  expect_close(got, want, 3, "interpreter");
  memset(got, 0, sizeof(got));
  run_c(b, args);
  expect_close(got, want, 3, "emitted C");
}

Test(control, onnx_loop_with_an_if_inside_runs_as_long_as_its_inputs_say)
{
  ir_module *m = compile_model("loop_while_if");
  if (!m)
    aotc_print_diags(ctx, stderr);
  cr_assert_not_null(m);
  ir_func *f = m->funcs[0];
  cr_assert_not_null(f->body);
  cr_assert_eq(f->n_inputs, 4, "n, c, x and limit stay inputs");
  built b;
  build(f, &b);
  check_loop_while_if(f, &b, 10, true, 1000);
  check_loop_while_if(f, &b, 10, true, 8);
  check_loop_while_if(f, &b, 3, true, 1000);
  check_loop_while_if(f, &b, 10, false, 1000);
  check_loop_while_if(f, &b, -1, true, 1000);
  unbuild(&b);
}

Test(control, onnx_if_with_branches_of_different_shapes_is_refused)
{
  cr_assert_null(compile_model("if_shapes_differ"));
  bool found = false;
  for (int k = 0; k < ctx->n_diags; k++)
    found |= strstr(ctx->diags[k].msg, "node 'choose' (If)") && strstr(ctx->diags[k].msg, "must agree");
  if (!found)
    aotc_print_diags(ctx, stderr);
  cr_expect(found, "the error names the node");
}
