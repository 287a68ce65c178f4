/* test_revmode.c: the IR's reverse-mode forms. General left-hand sides
 * (affine `G(2*i + k)` and indirect `H(Idx(n))` subscripts, scatter-adds)
 * through the interpreter, the verifier, the printer, the TC frontend, the
 * isl model and emitted C, against closed forms computed here; weights as parameters
 * (IR_PARAMETER arguments) of an ONNX model against its embedded-weights
 * form. */
#define _GNU_SOURCE
#include "ir.h"
#include "npy.h"
#include "../../src/polyhedral/poly.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static aotc_ctx *ctx;
static const ir_loc noloc = {0};

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
}

static void teardown(void)
{
  aotc_ctx_free(ctx);
}

TestSuite(revmode, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------------
 * IR builders
 * ------------------------------------------------------------------------ */

static ir_size *P(int p) { return ir_size_param(ctx, p); }
static ir_size *K(int64_t v) { return ir_size_const(ctx, v); }

static ir_func *func(const char *name, int n_params, const char **params)
{
  ir_func *f = IR_NEW(ctx, ir_func);
  f->name = name;
  f->n_params = n_params;
  f->param_names = params;
  f->tensors = IR_NEW_ARRAY(ctx, ir_tensor *, 16);
  f->inputs = IR_NEW_ARRAY(ctx, int, 16);
  f->outputs = IR_NEW_ARRAY(ctx, int, 16);
  f->stmts = IR_NEW_ARRAY(ctx, ir_stmt *, 16);
  return f;
}

/* A rank-1 tensor of size d0. */
static int tensor(ir_func *f, const char *name, ir_type type, ir_role role, ir_size *d0)
{
  ir_tensor *t = IR_NEW(ctx, ir_tensor);
  t->name = name;
  t->type = type;
  t->role = role;
  t->rank = 1;
  t->shape = IR_NEW_ARRAY(ctx, ir_size *, 1);
  t->shape[0] = d0;
  int n = f->n_tensors++;
  f->tensors[n] = t;
  if (role == IR_INPUT || role == IR_PARAMETER)
    f->inputs[f->n_inputs++] = n;
  if (role == IR_OUTPUT)
    f->outputs[f->n_outputs++] = n;
  return n;
}

static ir_expr *idx(int i)
{
  ir_expr *e = ir_expr_new(ctx, IR_INDEX, IR_I64, noloc, 0);
  e->index = i;
  return e;
}

static ir_expr *iconst(int64_t v)
{
  ir_expr *e = ir_expr_new(ctx, IR_CONST_INT, IR_I64, noloc, 0);
  e->ival = v;
  return e;
}

static ir_expr *bin(ir_op op, ir_type t, ir_expr *a, ir_expr *b)
{
  ir_expr *e = ir_expr_new(ctx, IR_BINARY, t, noloc, 2);
  e->op = op;
  e->args[0] = a;
  e->args[1] = b;
  return e;
}

static ir_expr *read1(const ir_func *f, int t, ir_expr *i)
{
  ir_expr *e = ir_expr_new(ctx, IR_ACCESS, f->tensors[t]->type, noloc, 1);
  e->tensor = t;
  e->args[0] = i;
  return e;
}

/* t(subs...) red rhs over indices names[k] in 0:hi[k]; an index no
 * subscript mentions is a reduction index. subs NULL: the plain form
 * t(index 0). */
static ir_stmt *stmt(ir_func *f, int t, ir_reduction red, bool init, int n_index, const char *const *names,
                     ir_size *const *hi, ir_expr *sub, ir_expr *rhs)
{
  ir_stmt *s = IR_NEW(ctx, ir_stmt);
  s->tensor = t;
  s->red = red;
  s->init = init;
  s->n_index = n_index;
  s->index = IR_NEW_ARRAY(ctx, ir_index, n_index);
  s->n_lhs = 1;
  if (sub) {
    s->lhs_expr = IR_NEW_ARRAY(ctx, ir_expr *, 1);
    s->lhs_expr[0] = sub;
  } else {
    s->lhs = IR_NEW_ARRAY(ctx, int, 1);
  }
  for (int k = 0; k < n_index; k++)
    s->index[k] = (ir_index){.name = names[k], .lo = K(0), .hi = hi[k],
                             .reduction = sub ? !ir_expr_uses_index(sub, k) : k > 0};
  s->rhs = rhs;
  f->stmts[f->n_stmts++] = s;
  return s;
}

static const char *ik[] = {"I", "K"};
static const char *nb[] = {"N", "B"};

/* G(2*i + k) +=! dY(i) * W(k): the input gradient of a stride-2 1-D
 * convolution; G has 2*I + K - 2 elements. */
static ir_func *build_strided(void)
{
  ir_func *f = func("strided", 2, ik);
  int dY = tensor(f, "dY", IR_F32, IR_INPUT, P(0));
  int W = tensor(f, "W", IR_F32, IR_INPUT, P(1));
  ir_size *g = ir_size_bin(ctx, IR_SZ_SUB, ir_size_bin(ctx, IR_SZ_ADD, ir_size_bin(ctx, IR_SZ_MUL, K(2), P(0)), P(1)),
                           K(2));
  int G = tensor(f, "G", IR_F32, IR_OUTPUT, g);
  ir_expr *sub = bin(IR_ADD, IR_I64, bin(IR_MUL, IR_I64, iconst(2), idx(0)), idx(1));
  stmt(f, G, IR_RED_ADD, true, 2, (const char *[]){"i", "k"}, (ir_size *[]){P(0), P(1)}, sub,
       bin(IR_MUL, IR_F32, read1(f, dY, idx(0)), read1(f, W, idx(1))));
  return f;
}

/* H(b) = H0(b); H(Idx(n)) += X(n): a histogram added to existing counts. */
static ir_func *build_histogram(void)
{
  ir_func *f = func("histogram", 2, nb);
  int H0 = tensor(f, "H0", IR_F32, IR_INPUT, P(1));
  int Idx = tensor(f, "Idx", IR_I32, IR_INPUT, P(0));
  int X = tensor(f, "X", IR_F32, IR_INPUT, P(0));
  int H = tensor(f, "H", IR_F32, IR_OUTPUT, P(1));
  stmt(f, H, IR_RED_NONE, false, 1, (const char *[]){"b"}, (ir_size *[]){P(1)}, NULL, read1(f, H0, idx(0)));
  stmt(f, H, IR_RED_ADD, false, 1, (const char *[]){"n"}, (ir_size *[]){P(0)}, read1(f, Idx, idx(0)),
       read1(f, X, idx(0)));
  return f;
}

/* M(Seg(n)) max=! X(n): segments nothing falls in keep the identity. */
static ir_func *build_segmax(void)
{
  ir_func *f = func("segmax", 2, nb);
  int Seg = tensor(f, "Seg", IR_I32, IR_INPUT, P(0));
  int X = tensor(f, "X", IR_F32, IR_INPUT, P(0));
  int Proto = tensor(f, "Proto", IR_F32, IR_INPUT, P(1));
  int M = tensor(f, "M", IR_F32, IR_OUTPUT, P(1));
  (void)Proto;
  stmt(f, M, IR_RED_MAX, true, 1, (const char *[]){"n"}, (ir_size *[]){P(0)}, read1(f, Seg, idx(0)),
       read1(f, X, idx(0)));
  return f;
}

/* ------------------------------------------------------------------------
 * Data and closed forms
 * ------------------------------------------------------------------------ */

enum { NI = 5, NK = 3, NG = 2 * NI + NK - 2, NN = 9, NB = 4 };

static const float dY_data[NI] = {1.5f, -2.0f, 0.25f, 3.0f, -1.0f};
static const float W_data[NK] = {0.5f, -1.0f, 2.0f};
static const float H0_data[NB] = {10, 20, 30, 40};
static const int32_t idx_data[NN] = {1, 3, 1, 0, 1, 3, 3, 0, 1}; /* bin 2 stays empty */
static const float X_data[NN] = {1, 2, 3, 4, 5, 6, 7, -8, 9};

static void strided_ref(float *G)
{
  for (int o = 0; o < NG; o++) {
    double acc = 0;
    for (int i = 0; i < NI; i++)
      for (int k = 0; k < NK; k++)
        acc += 2 * i + k == o ? (double)dY_data[i] * W_data[k] : 0.0;
    G[o] = (float)acc;
  }
}

static void histogram_ref(float *H)
{
  for (int b = 0; b < NB; b++) {
    H[b] = H0_data[b];
    for (int n = 0; n < NN; n++)
      H[b] += idx_data[n] == b ? X_data[n] : 0.0f;
  }
}

static void segmax_ref(float *M)
{
  for (int b = 0; b < NB; b++) {
    M[b] = -INFINITY;
    for (int n = 0; n < NN; n++)
      M[b] = idx_data[n] == b && X_data[n] > M[b] ? X_data[n] : M[b];
  }
}

static void expect_close(const float *got, const float *want, int n, const char *what)
{
  for (int i = 0; i < n; i++)
    cr_expect(got[i] == want[i] || fabsf(got[i] - want[i]) <= 1e-5f * (1.0f + fabsf(want[i])),
              "%s element %d: got %g, want %g", what, i, got[i], want[i]);
}

/* Runs the three functions through `run` (the interpreter or emitted code)
 * and checks them against the closed forms. */
typedef int (*runner)(void *env, ir_func *f, const int64_t *sizes, void **args);

static void check_all(runner run, void *env)
{
  float G[NG], G_ref[NG], H[NB], H_ref[NB], M[NB], M_ref[NB], proto[NB] = {0};
  memset(G, 0x7f, sizeof G);
  strided_ref(G_ref);
  histogram_ref(H_ref);
  segmax_ref(M_ref);
  cr_assert_eq(run(env, build_strided(), (int64_t[]){NI, NK}, (void *[]){(void *)dY_data, (void *)W_data, G}), 0);
  expect_close(G, G_ref, NG, "strided");
  cr_assert_eq(run(env, build_histogram(), (int64_t[]){NN, NB},
                   (void *[]){(void *)H0_data, (void *)idx_data, (void *)X_data, H}), 0);
  expect_close(H, H_ref, NB, "histogram");
  cr_assert_eq(run(env, build_segmax(), (int64_t[]){NN, NB}, (void *[]){(void *)idx_data, (void *)X_data, proto, M}),
               0);
  expect_close(M, M_ref, NB, "segmax");
}

/* ------------------------------------------------------------------------
 * Interpreter, verifier, printer
 * ------------------------------------------------------------------------ */

static int interpret(void *env, ir_func *f, const int64_t *sizes, void **args)
{
  (void)env;
  cr_assert(ir_verify(ctx, f), "%s does not verify", f->name);
  return ir_interpret(ctx, f, sizes, args);
}

Test(revmode, interpreter_scatter_adds_match_closed_forms)
{
  check_all(interpret, NULL);
}

Test(revmode, interpreter_reports_out_of_bounds_writes)
{
  ir_func *f = build_histogram();
  int32_t bad[NN] = {1, 3, 1, 0, 4, 3, 3, 0, 1};
  float H[NB];
  f->stmts[1]->loc = (ir_loc){NULL, 7, 3};
  cr_assert_neq(ir_interpret(ctx, f, (int64_t[]){NN, NB}, (void *[]){(void *)H0_data, bad, (void *)X_data, H}), 0);
  cr_assert_eq(ctx->n_errors, 1);
  cr_expect_eq(ctx->diags[0].loc.line, 7);
  cr_expect(strstr(ctx->diags[0].msg, "write to 'H' out of bounds: index 4 in dimension 0 of size 4"), "%s",
            ctx->diags[0].msg);
}

/* Verifies f with one defect; the message must contain want. */
static void expect_rejected(ir_func *f, const char *want)
{
  aotc_clear_diags(ctx);
  cr_expect_not(ir_verify(ctx, f), "accepted: %s", want);
  bool found = false;
  for (int i = 0; i < ctx->n_diags; i++)
    found |= strstr(ctx->diags[i].msg, want) != NULL;
  cr_expect(found, "no '%s' among %d diagnostics (first: %s)", want, ctx->n_diags,
            ctx->n_diags ? ctx->diags[0].msg : "none");
}

Test(revmode, verifier_rejects_malformed_left_hand_sides)
{
  ir_func *f = build_histogram();
  cr_assert(ir_verify(ctx, f));
  ir_stmt *s = f->stmts[1];
  ir_expr *sub = s->lhs_expr[0];
  s->lhs_expr[0] = read1(f, 2, idx(0));
  expect_rejected(f, "subscript 0 of 'H' is not an integer");
  s->lhs_expr[0] = read1(f, 3, idx(0));
  s->lhs_expr[0]->type = IR_F32;
  expect_rejected(f, "reads 'H', the tensor written");
  s->lhs_expr[0] = NULL;
  expect_rejected(f, "subscript 0 of 'H' is missing");
  s->lhs_expr[0] = sub;
  s->lhs = IR_NEW_ARRAY(ctx, int, 1);
  expect_rejected(f, "both a plain and a general left-hand side");
  s->lhs = NULL;
  s->index[0].reduction = true;
  expect_rejected(f, "index 'n' is marked reduction");
  s->index[0].reduction = false;
  s->lhs_expr[0] = idx(3);
  expect_rejected(f, "index variable 3 of a statement with 1");
  s->lhs_expr[0] = sub;
  f->tensors[f->inputs[0]]->role = IR_PARAMETER;
  expect_rejected(f, "follows a parameter");
  f->tensors[f->inputs[0]]->role = IR_INPUT;
  aotc_clear_diags(ctx);
  cr_expect(ir_verify(ctx, f));
}

static char *print_to_string(const ir_func *f)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  ir_print_func(out, f);
  fclose(out);
  return buf;
}

Test(revmode, printer_prints_subscripts_and_every_range)
{
  char *a = print_to_string(build_strided()), *b = print_to_string(build_histogram());
  cr_expect(strstr(a, "  G(2 * i + k) +=! dY(i) * W(k) where i in 0:I, k in 0:K\n"), "%s", a);
  cr_expect(strstr(b, "  H(b) = H0(b)\n  H(Idx(n)) += X(n) where n in 0:N\n"), "%s", b);
  free(a);
  free(b);
}

/* ------------------------------------------------------------------------
 * The polyhedral model
 * ------------------------------------------------------------------------ */

/* Whether the relation `want` (isl syntax) is a subset of `have`, or equal
 * to its part on want's domain when exact. */
static bool relation_holds(isl_ctx *isl, __isl_keep isl_union_map *have, const char *want, bool exact)
{
  isl_union_map *w = isl_union_map_read_from_str(isl, want);
  isl_union_set *dom = isl_union_map_domain(isl_union_map_copy(w));
  isl_union_map *part = isl_union_map_intersect_domain(isl_union_map_copy(have), dom);
  isl_bool ok = exact ? isl_union_map_is_equal(w, part) : isl_union_map_is_subset(w, have);
  isl_union_map_free(w);
  isl_union_map_free(part);
  return ok == isl_bool_true;
}

static poly_kernel *kernel_of(isl_ctx *isl, const ir_func *f)
{
  const char **tensor_ids = IR_NEW_ARRAY(ctx, const char *, f->n_tensors);
  for (int t = 0; t < f->n_tensors; t++)
    tensor_ids[t] = f->tensors[t]->name;
  poly_kernel *k = poly_kernel_build(ctx, isl, f, 0, f->n_stmts, POLY_DEFAULT_MAX_OPS, f->param_names, tensor_ids,
                                     NULL);
  cr_assert(k);
  poly_kernel_schedule(k, true);
  cr_assert(k->dep_all, "no dependences for %s", f->name);
  return k;
}

Test(revmode, isl_model_of_affine_and_indirect_writes)
{
  isl_ctx *isl = isl_ctx_alloc();
  poly_kernel *k = kernel_of(isl, build_strided());
  cr_expect(relation_holds(isl, k->writes, "[I, K] -> { S_0[i, k] -> T0[2i + k] : 0 <= i < I and 0 <= k < K }", true));
  cr_expect(relation_holds(isl, k->writes,
                           "[I, K] -> { S_0_init[o] -> T0[o] : 0 <= o < 2I + K - 2 and I >= 0 and K >= 0 }", true));
  cr_expect(relation_holds(isl, k->dep_all,
                           "[I, K] -> { S_0[i, k] -> S_0[i + 1, k - 2] : 0 <= i < I - 1 and 2 <= k < K }", false));
  poly_kernel_free(k);
  k = kernel_of(isl, build_histogram());
  cr_expect(relation_holds(isl, k->writes, "[N, B] -> { S_1[n] -> T0[o] : 0 <= n < N and 0 <= o < B }", true));
  cr_expect(relation_holds(isl, k->reads, "[N, B] -> { S_1[n] -> T0[o] : 0 <= n < N and 0 <= o < B }", false));
  cr_expect(relation_holds(isl, k->dep_all, "[N, B] -> { S_1[n] -> S_1[n + 1] : 0 <= n < N - 1 and B > 0 }", false));
  cr_expect(relation_holds(isl, k->dep_all, "[N, B] -> { S_0[b] -> S_1[0] : 0 <= b < B and N > 0 }", false));
  poly_kernel_free(k);
  isl_ctx_free(isl);
}

/* ------------------------------------------------------------------------
 * TC frontend
 * ------------------------------------------------------------------------ */

static ir_module *compile_text(const char *text)
{
  const aotc_source *src = aotc_add_source(ctx, "t.tc", text, strlen(text));
  ir_module *m = tc_compile(ctx, src);
  if (!m)
    aotc_print_diags(ctx, stderr);
  return m;
}

Test(revmode, tc_general_left_hand_sides)
{
  ir_module *m = compile_text("def f(float(I) dY, float(K) W, float(N) X, int32(N) Idx) -> (G, H) {\n"
                              "  G(2*i + k) +=! dY(i) * W(k)\n"
                              "  H(j) = 0.0 where j in 0:4\n"
                              "  H(Idx(n)) += X(n)\n"
                              "}\n");
  cr_assert(m);
  ir_func *f = m->funcs[0];
  const ir_stmt *g = f->stmts[0], *h0 = f->stmts[1], *h = f->stmts[2];
  cr_expect(!ir_stmt_is_plain(g) && !g->lhs && g->n_lhs == 1);
  cr_expect(ir_stmt_is_plain(h0));
  cr_expect(!ir_stmt_is_plain(h) && h->lhs_expr[0]->kind == IR_ACCESS);
  cr_expect_eq(g->lhs_expr[0]->kind, IR_BINARY);
  cr_expect(!g->index[0].reduction && !g->index[1].reduction);
  int64_t v;
  cr_expect(ir_size_is_const(f->tensors[ir_func_find_tensor(f, "H")]->shape[0], &v) && v == 4);
  int64_t sizes[] = {3, 2, 0};
  int64_t shape[1];
  cr_assert(ir_tensor_shape(f, ir_func_find_tensor(f, "G"), sizes, shape));
  cr_expect_eq(shape[0], 2 * 3 + 2 - 2);
}

/* ------------------------------------------------------------------------
 * Emitted C
 * ------------------------------------------------------------------------ */

typedef int (*call_fn)(const int64_t *sizes, void *const *args, void *workspace);

typedef struct built {
  void *so;
  char dir[64];
} built;

static bool emit_files(ir_func **fs, int n, const emit_options *opt, const char *dir)
{
  char cpath[128], hpath[128];
  snprintf(cpath, sizeof(cpath), "%s/k.c", dir);
  snprintf(hpath, sizeof(hpath), "%s/k.h", dir);
  FILE *c = fopen(cpath, "w"), *h = fopen(hpath, "w");
  ir_module m = {n, fs};
  emit_options o = *opt;
  o.header_name = "k.h";
  bool ok = c && h && emit_c_module(ctx, &m, fs, n, &o, c, h);
  fclose(c);
  fclose(h);
  if (!ok)
    aotc_print_diags(ctx, stderr);
  return ok;
}

static built build(ir_func **fs, int n, const emit_options *opt, bool openmp)
{
  built b = {0};
  char cmd[512], path[128];
  strcpy(b.dir, "/tmp/aotc_revmode_XXXXXX");
  cr_assert(mkdtemp(b.dir));
  cr_assert(emit_files(fs, n, opt, b.dir), "emit failed");
  snprintf(cmd, sizeof(cmd), "cd %s && cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 %s -fPIC -shared -o k.so k.c %s",
           b.dir, openmp ? "-fopenmp" : "", "-lm");
  cr_assert_eq(system(cmd), 0, "compile failed in %s", b.dir);
  snprintf(path, sizeof(path), "%s/k.so", b.dir);
  b.so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  cr_assert(b.so, "dlopen: %s", dlerror());
  return b;
}

static void unload(built *b)
{
  char cmd[128];
  dlclose(b->so);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", b->dir);
  if (!getenv("AOTC_TEST_KEEP"))
    cr_assert_eq(system(cmd), 0);
}

static int call_built(void *env, ir_func *f, const int64_t *sizes, void **args)
{
  char sym[64];
  snprintf(sym, sizeof(sym), "%s_call", f->name);
  call_fn fn = (call_fn)dlsym(((built *)env)->so, sym);
  cr_assert(fn, "no %s", sym);
  return fn(sizes, args, NULL);
}

static void check_emitted(int threads)
{
  ir_func *fs[] = {build_strided(), build_histogram(), build_segmax()};
  emit_options opt = {.fuse = true, .threads = threads};
  built b = build(fs, 3, &opt, threads > 1);
  check_all(call_built, &b);
  unload(&b);
}

Test(revmode, emitted_scatter_adds_match_closed_forms)
{
  check_emitted(1);
}

Test(revmode, emitted_scatter_adds_with_openmp_threads)
{
  void *gomp = dlopen("libgomp.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (!gomp)
    cr_skip_test("libgomp.so.1 is not available");
  check_emitted(4);
}

/* G(2*i + k) += dY(i) * W(k) without `!` accumulates into the caller's G:
 * two calls on a G of 100s give 100 + 2 * the strided sum, in the
 * interpreter and in emitted code alike. */
static void check_accumulate(runner run, void *env, ir_func *f)
{
  float G[NG], G_ref[NG];
  strided_ref(G_ref);
  for (int o = 0; o < NG; o++)
    G[o] = 100.0f;
  for (int call = 0; call < 2; call++)
    cr_assert_eq(run(env, f, (int64_t[]){NI, NK}, (void *[]){(void *)dY_data, (void *)W_data, G}), 0);
  for (int o = 0; o < NG; o++)
    G_ref[o] = 100.0f + 2.0f * G_ref[o];
  expect_close(G, G_ref, NG, "accumulate");
}

Test(revmode, accumulate_into_caller_buffers)
{
  ir_module *m = compile_text("def acc(float(I) dY, float(K) W) -> (G) {\n  G(2*i + k) += dY(i) * W(k)\n}\n");
  cr_assert(m);
  check_accumulate(interpret, NULL, m->funcs[0]);
  emit_options opt = {.fuse = true};
  built b = build(m->funcs, 1, &opt, false);
  check_accumulate(call_built, &b, m->funcs[0]);
  unload(&b);
}

/* ------------------------------------------------------------------------
 * Weights as parameters (tests/models/mlp.onnx)
 * ------------------------------------------------------------------------ */

/* tests/models/NAME, found beside this file or from the working directory. */
static const char *model_path(const char *name)
{
  static char path[4200];
  const char *slash = strrchr(__FILE__, '/');
  const char *dirs[] = {"tests/models", "../tests/models"};
  if (slash) {
    snprintf(path, sizeof(path), "%.*s/../models/%s", (int)(slash - __FILE__), __FILE__, name);
    if (access(path, R_OK) == 0)
      return path;
  }
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
    if (access(path, R_OK) == 0)
      return path;
  }
  return name;
}

static ir_func *compile_mlp(bool params)
{
  size_t len;
  unsigned char *buf = driver_read_file(ctx, model_path("mlp.onnx"), &len);
  cr_assert(buf, "cannot read mlp.onnx");
  onnx_options opt = {.weights_as_params = params};
  ir_module *m = onnx_compile_opts(ctx, "mlp.onnx", buf, len, "mlp", &opt);
  aotc_free(ctx, buf);
  cr_assert(m, "mlp.onnx does not compile");
  return m->funcs[0];
}

static const char *const mlp_params[] = {"t0_weight", "t0_bias", "t2_weight", "t2_bias", "t4_weight", "t4_bias"};

/* The arguments of the parameter form: the input, each parameter's
 * initial value, the output. */
static void **mlp_args(const ir_func *f, void *input, float *out)
{
  void **args = IR_NEW_ARRAY(ctx, void *, f->n_inputs + 1);
  args[0] = input;
  for (int i = 1; i < f->n_inputs; i++)
    args[i] = (void *)f->tensors[f->inputs[i]]->data;
  args[f->n_inputs] = out;
  return args;
}

Test(revmode, weights_as_parameters_follow_the_inputs_in_initializer_order)
{
  ir_func *f = compile_mlp(true), *e = compile_mlp(false);
  cr_assert_eq(f->n_inputs, 7);
  cr_expect_eq(ir_func_first_parameter(f), 1);
  cr_expect_eq(ir_func_first_parameter(e), e->n_inputs);
  cr_expect_eq(e->n_inputs, 1);
  for (int i = 1; i < 7; i++) {
    const ir_tensor *t = f->tensors[f->inputs[i]];
    cr_expect_str_eq(t->name, mlp_params[i - 1]);
    cr_expect_eq(t->role, IR_PARAMETER);
    cr_expect(t->data != NULL);
  }
  for (int t = 0; t < f->n_tensors; t++)
    cr_expect_neq(f->tensors[t]->role, IR_CONSTANT, "'%s' is still a constant", f->tensors[t]->name);
}

Test(revmode, weights_as_parameters_are_read_from_the_arguments)
{
  ir_func *f = compile_mlp(true), *e = compile_mlp(false);
  npy_array x;
  cr_assert(driver_npy_load(ctx, model_path("mlp.input.npy"), &x));
  float want[10], got[10], shifted[10];
  cr_assert_eq(ir_interpret(ctx, e, NULL, (void *[]){x.data, want}), 0);
  void **args = mlp_args(f, x.data, got);
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0);
  expect_close(got, want, 10, "parameters");
  float bias[10];
  for (int i = 0; i < 10; i++)
    bias[i] = ((const float *)args[6])[i] + 1.0f;
  args[6] = bias;
  args[7] = shifted;
  cr_assert_eq(ir_interpret(ctx, f, NULL, args), 0);
  for (int i = 0; i < 10; i++)
    cr_expect(fabsf(shifted[i] - (want[i] + 1.0f)) <= 1e-5f * (1.0f + fabsf(want[i])), "element %d", i);
  driver_npy_free(&x);
}

Test(revmode, emitted_model_takes_its_weights_as_arguments)
{
  ir_func *f = compile_mlp(true), *e = compile_mlp(false);
  npy_array x;
  cr_assert(driver_npy_load(ctx, model_path("mlp.input.npy"), &x));
  float want[10], got[10];
  cr_assert_eq(ir_interpret(ctx, e, NULL, (void *[]){x.data, want}), 0);
  emit_options opt = {.fuse = true};
  built b = build(&f, 1, &opt, false);
  call_fn fn = (call_fn)dlsym(b.so, "mlp_call");
  size_t (*ws)(const int64_t *) = (size_t (*)(const int64_t *))dlsym(b.so, "mlp_call_workspace_bytes");
  cr_assert(fn && ws);
  void *workspace = aligned_alloc(64, (ws(NULL) + 63) / 64 * 64 + 64);
  cr_assert_eq(fn(NULL, mlp_args(f, x.data, got), workspace), 0);
  expect_close(got, want, 10, "emitted parameters");
  char hpath[128];
  snprintf(hpath, sizeof(hpath), "%s/k.h", b.dir);
  unsigned char *h = driver_read_file(ctx, hpath, &(size_t){0});
  cr_expect(h && strstr((const char *)h, "#define mlp_NUM_PARAMS 6"), "header without the parameter table");
  aotc_free(ctx, h);
  free(workspace);
  driver_npy_free(&x);
  unload(&b);
}
