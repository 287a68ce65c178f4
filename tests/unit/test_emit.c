/* test_emit.c: the C backend. Functions are built as IR by hand, emitted,
 * compiled with the system compiler into a shared object, loaded, run on
 * small inputs and compared with loops written here. */
#define _GNU_SOURCE
#include "ir.h"
#include "../../src/schedule/schedule.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

TestSuite(emit, .init = setup, .fini = teardown);

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

static int tensor(ir_func *f, const char *name, ir_type type, ir_role role, int rank, ir_size *d0, ir_size *d1)
{
  ir_tensor *t = IR_NEW(ctx, ir_tensor);
  t->name = name;
  t->type = type;
  t->role = role;
  t->rank = rank;
  t->shape = IR_NEW_ARRAY(ctx, ir_size *, rank);
  if (rank > 0)
    t->shape[0] = d0;
  if (rank > 1)
    t->shape[1] = d1;
  int n = f->n_tensors++;
  f->tensors[n] = t;
  if (role == IR_INPUT)
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

static ir_expr *iconst(int64_t v, ir_type t)
{
  ir_expr *e = ir_expr_new(ctx, IR_CONST_INT, t, noloc, 0);
  e->ival = v;
  return e;
}

static ir_expr *fconst_f32(double v)
{
  ir_expr *e = ir_expr_new(ctx, IR_CONST_FLOAT, IR_F32, noloc, 0);
  e->fval = v;
  return e;
}

static ir_expr *acc(const ir_func *f, int t, int n, ir_expr *a, ir_expr *b)
{
  ir_expr *e = ir_expr_new(ctx, IR_ACCESS, f->tensors[t]->type, noloc, n);
  e->tensor = t;
  if (n > 0)
    e->args[0] = a;
  if (n > 1)
    e->args[1] = b;
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

static ir_expr *call(ir_builtin fn, ir_type t, ir_expr *a, ir_expr *b)
{
  ir_expr *e = ir_expr_new(ctx, IR_CALL, t, noloc, ir_builtins[fn].arity);
  e->fn = fn;
  e->args[0] = a;
  if (b)
    e->args[1] = b;
  return e;
}

/* A statement with n_index indices named i, j, k..., the first n_lhs of them
 * on the left; ranges[2*x], ranges[2*x+1] give lo and hi of index x. */
static ir_stmt *stmt(ir_func *f, int t, int n_index, int n_lhs, ir_size **ranges, ir_reduction red, bool init,
                     ir_expr *rhs)
{
  static const char *const names[] = {"i", "j", "k", "l"};
  ir_stmt *s = IR_NEW(ctx, ir_stmt);
  s->tensor = t;
  s->n_index = n_index;
  s->index = IR_NEW_ARRAY(ctx, ir_index, n_index);
  for (int x = 0; x < n_index; x++)
    s->index[x] = (ir_index){.name = names[x], .lo = ranges[2 * x], .hi = ranges[2 * x + 1], .reduction = x >= n_lhs};
  s->n_lhs = n_lhs;
  s->lhs = IR_NEW_ARRAY(ctx, int, n_lhs);
  for (int x = 0; x < n_lhs; x++)
    s->lhs[x] = x;
  s->red = red;
  s->init = init;
  s->rhs = rhs;
  f->stmts[f->n_stmts++] = s;
  return s;
}

/* ------------------------------------------------------------------------
 * Emit, compile, load
 * ------------------------------------------------------------------------ */

typedef int (*call_fn)(const int64_t *sizes, void *const *args, void *workspace);
typedef size_t (*ws_fn)(const int64_t *sizes);

typedef struct built {
  void *so;
  call_fn call;
  ws_fn ws;
  char dir[64];
  char *source;
} built;

static char *read_text(const char *path)
{
  FILE *in = fopen(path, "rb");
  cr_assert(in, "cannot open %s", path);
  fseek(in, 0, SEEK_END);
  long n = ftell(in);
  fseek(in, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  cr_assert(fread(s, 1, (size_t)n, in) == (size_t)n);
  s[n] = 0;
  fclose(in);
  return s;
}

static bool emit_files(ir_func *f, const emit_options *opt, const char *dir)
{
  char cpath[128], hpath[128];
  snprintf(cpath, sizeof(cpath), "%s/k.c", dir);
  snprintf(hpath, sizeof(hpath), "%s/k.h", dir);
  FILE *c = fopen(cpath, "w"), *h = fopen(hpath, "w");
  ir_module m = {1, &f};
  emit_options o = *opt;
  o.header_name = "k.h";
  bool ok = emit_c_module(ctx, &m, &f, 1, &o, c, h);
  fclose(c);
  fclose(h);
  if (!ok)
    aotc_print_diags(ctx, stderr);
  return ok;
}

static built build(ir_func *f, const emit_options *opt)
{
  built b = {0};
  strcpy(b.dir, "/tmp/aotc_emit_XXXXXX");
  cr_assert(mkdtemp(b.dir));
  cr_assert(emit_files(f, opt, b.dir), "emit failed");
  char cmd[512], path[128];
  snprintf(cmd, sizeof(cmd),
           "cd %s && cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -fPIC -shared -o k.so k.c -lm", b.dir);
  snprintf(path, sizeof(path), "%s/k.c", b.dir);
  b.source = read_text(path);
  cr_assert_eq(system(cmd), 0, "compile failed:\n%s", b.source);
  snprintf(path, sizeof(path), "%s/k.so", b.dir);
  b.so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  cr_assert(b.so, "dlopen: %s", dlerror());
  snprintf(cmd, sizeof(cmd), "%s_call", f->name);
  b.call = (call_fn)dlsym(b.so, cmd);
  snprintf(cmd, sizeof(cmd), "%s_call_workspace_bytes", f->name);
  b.ws = (ws_fn)dlsym(b.so, cmd);
  cr_assert(b.call && b.ws);
  return b;
}

static void unload(built *b)
{
  char cmd[128];
  dlclose(b->so);
  free(b->source);
  if (getenv("AOTC_TEST_KEEP"))
    return;
  snprintf(cmd, sizeof(cmd), "rm -rf %s", b->dir);
  cr_assert_eq(system(cmd), 0);
}

static const emit_options generic = {.fuse = true};

static void fill(float *x, int n, int seed)
{
  for (int i = 0; i < n; i++)
    x[i] = (float)((i * 7 + seed * 13) % 11) - 5.0f + 0.25f * (float)seed;
}

static void assert_close(const float *got, const float *want, int n)
{
  for (int i = 0; i < n; i++)
    cr_assert(fabsf(got[i] - want[i]) <= 1e-4f * (1.0f + fabsf(want[i])), "element %d: got %g, want %g", i,
              got[i], want[i]);
}

/* ------------------------------------------------------------------------
 * Kernels
 * ------------------------------------------------------------------------ */

static const char *mnk[] = {"M", "K", "N"};

/* def mm(float(M, K) A, float(K, N) B) -> (C) { C(i, j) +=! A(i, k) * B(k, j) } */
static ir_func *matmul(void)
{
  ir_func *f = func("mm", 3, mnk);
  int A = tensor(f, "A", IR_F32, IR_INPUT, 2, P(0), P(1));
  int B = tensor(f, "B", IR_F32, IR_INPUT, 2, P(1), P(2));
  int C = tensor(f, "C", IR_F32, IR_OUTPUT, 2, P(0), P(2));
  ir_size *r[] = {K(0), P(0), K(0), P(2), K(0), P(1)};
  stmt(f, C, 3, 2, r, IR_RED_ADD, true,
       bin(IR_MUL, IR_F32, acc(f, A, 2, idx(0), idx(2)), acc(f, B, 2, idx(2), idx(1))));
  return f;
}

static void ref_matmul(const float *A, const float *B, float *C, int M, int Kd, int N)
{
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float s = 0;
      for (int k = 0; k < Kd; k++)
        s += A[i * Kd + k] * B[k * N + j];
      C[i * N + j] = s;
    }
}

static void check_matmul(built *b, int M, int Kd, int N)
{
  float A[64], B[64], C[64], W[64];
  fill(A, M * Kd, 1);
  fill(B, Kd * N, 2);
  fill(C, M * N, 3);
  ref_matmul(A, B, W, M, Kd, N);
  int64_t sizes[] = {M, Kd, N};
  void *args[] = {A, B, C};
  size_t wsb = b->ws(sizes);
  void *ws = wsb ? malloc(wsb) : NULL;
  cr_assert_eq(b->call(sizes, args, ws), 0);
  free(ws);
  assert_close(C, W, M * N);
}

Test(emit, matmul)
{
  sched_options none;
  sched_options_default(&none);
  emit_options o = {.fuse = true, .sched = &none};
  built b = build(matmul(), &o);
  check_matmul(&b, 3, 4, 5);
  check_matmul(&b, 1, 7, 2);
  check_matmul(&b, 6, 1, 6);
  cr_assert_eq(b.ws((int64_t[]){3, 4, 5}), 0);
  int64_t bad[] = {-1, 4, 5};
  cr_assert_neq(b.call(bad, (void *[]){NULL, NULL, NULL}, NULL), 0);
  cr_assert(strstr(b.source, "int mm(int64_t M, int64_t K, int64_t N, const float *A, const float *B, float *C, void *workspace)"));
  unload(&b);
}

Test(emit, matmul_unfused)
{
  emit_options o = {.fuse = false};
  built b = build(matmul(), &o);
  check_matmul(&b, 3, 4, 5);
  unload(&b);
}

Test(emit, specialised_sizes)
{
  int64_t fixed[] = {3, 4, 5};
  emit_options o = {.fuse = true, .fixed_sizes = fixed};
  built b = build(matmul(), &o);
  check_matmul(&b, 3, 4, 5);
  float A[64], B[64], C[64];
  static unsigned char ws[1 << 16];
  cr_assert_neq(b.call((int64_t[]){3, 4, 6}, (void *[]){A, B, C}, ws), 0);
  cr_assert_neq(b.call((int64_t[]){2, 4, 5}, (void *[]){A, B, C}, ws), 0);
  cr_assert_null(strstr(b.source, "< M"), "loops should use constants:\n%s", b.source);
  unload(&b);
}

/* def rowsum(float(M, N) A, float alpha) -> (S, T) {
 *   S(i) +=! alpha * A(i, j);  T +=! A(i, j) } */
Test(emit, sum_reduction_and_scalars)
{
  const char *mn[] = {"M", "N"};
  ir_func *f = func("rowsum", 2, mn);
  int A = tensor(f, "A", IR_F32, IR_INPUT, 2, P(0), P(1));
  int al = tensor(f, "alpha", IR_F32, IR_INPUT, 0, NULL, NULL);
  int S = tensor(f, "S", IR_F32, IR_OUTPUT, 1, P(0), NULL);
  int T = tensor(f, "T", IR_F32, IR_OUTPUT, 0, NULL, NULL);
  ir_size *r[] = {K(0), P(0), K(0), P(1)};
  stmt(f, S, 2, 1, r, IR_RED_ADD, true, bin(IR_MUL, IR_F32, acc(f, al, 0, NULL, NULL), acc(f, A, 2, idx(0), idx(1))));
  stmt(f, T, 2, 0, r, IR_RED_ADD, true, acc(f, A, 2, idx(0), idx(1)));
  built b = build(f, &generic);
  float a[12], alpha = 0.5f, s[3], t = 99, ws[3] = {0}, wt = 0;
  fill(a, 12, 4);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++) {
      ws[i] += alpha * a[i * 4 + j];
      wt += a[i * 4 + j];
    }
  cr_assert_eq(b.call((int64_t[]){3, 4}, (void *[]){a, &alpha, s, &t}, NULL), 0);
  assert_close(s, ws, 3);
  assert_close(&t, &wt, 1);
  unload(&b);
}

/* def colmax(float(M, N) A) -> (O) { O(j) max=! A(i, j); P(i) min=! A(i, j) } */
Test(emit, max_min_reductions)
{
  const char *mn[] = {"M", "N"};
  ir_func *f = func("colmax", 2, mn);
  int A = tensor(f, "A", IR_F32, IR_INPUT, 2, P(0), P(1));
  int O = tensor(f, "O", IR_F32, IR_OUTPUT, 1, P(1), NULL);
  int Pm = tensor(f, "P", IR_F32, IR_OUTPUT, 1, P(0), NULL);
  ir_size *r[] = {K(0), P(1), K(0), P(0)};
  stmt(f, O, 2, 1, r, IR_RED_MAX, true, acc(f, A, 2, idx(1), idx(0)));
  ir_size *r2[] = {K(0), P(0), K(0), P(1)};
  stmt(f, Pm, 2, 1, r2, IR_RED_MIN, true, acc(f, A, 2, idx(0), idx(1)));
  built b = build(f, &generic);
  float a[20], o[5], p[4], wo[5], wp[4];
  fill(a, 20, 5);
  for (int j = 0; j < 5; j++) {
    wo[j] = -INFINITY;
    for (int i = 0; i < 4; i++)
      wo[j] = fmaxf(wo[j], a[i * 5 + j]);
  }
  for (int i = 0; i < 4; i++) {
    wp[i] = INFINITY;
    for (int j = 0; j < 5; j++)
      wp[i] = fminf(wp[i], a[i * 5 + j]);
  }
  cr_assert_eq(b.call((int64_t[]){4, 5}, (void *[]){a, o, p}, NULL), 0);
  assert_close(o, wo, 5);
  assert_close(p, wp, 4);
  float e[1];
  cr_assert_eq(b.call((int64_t[]){0, 1}, (void *[]){a, e, p}, NULL), 0);
  cr_assert(isinf(e[0]) && e[0] < 0, "max over nothing is -inf");
  unload(&b);
}

/* def tmp(float(N) A) -> (O) { T(i) = exp(A(i)); O(i) = T(N - 1 - i) + T(i) } */
Test(emit, temporary_in_workspace)
{
  const char *n[] = {"N"};
  ir_func *f = func("tmp", 1, n);
  int A = tensor(f, "A", IR_F32, IR_INPUT, 1, P(0), NULL);
  int O = tensor(f, "O", IR_F32, IR_OUTPUT, 1, P(0), NULL);
  int T = tensor(f, "T", IR_F32, IR_TEMP, 1, P(0), NULL);
  ir_size *r[] = {K(0), P(0)};
  stmt(f, T, 1, 1, r, IR_RED_NONE, false, call(IR_FN_EXP, IR_F32, acc(f, A, 1, idx(0), NULL), NULL));
  ir_expr *size = ir_expr_new(ctx, IR_SIZE, IR_I64, noloc, 0);
  size->size = ir_size_bin(ctx, IR_SZ_SUB, P(0), K(1));
  ir_expr *rev = bin(IR_SUB, IR_I64, size, idx(0));
  stmt(f, O, 1, 1, r, IR_RED_NONE, false, bin(IR_ADD, IR_F32, acc(f, T, 1, rev, NULL), acc(f, T, 1, idx(0), NULL)));
  built b = build(f, &generic);
  size_t ws = b.ws((int64_t[]){7});
  cr_assert_geq(ws, 7 * sizeof(float));
  void *work = aligned_alloc(64, ws);
  float a[7], o[7], w[7];
  fill(a, 7, 6);
  for (int i = 0; i < 7; i++)
    w[i] = expf(a[6 - i]) + expf(a[i]);
  cr_assert_neq(b.call((int64_t[]){7}, (void *[]){a, o}, NULL), 0, "NULL workspace must be refused");
  cr_assert_eq(b.call((int64_t[]){7}, (void *[]){a, o}, work), 0);
  assert_close(o, w, 7);
  free(work);
  unload(&b);
}

/* def conv1d(float(N) I, float(3) W) -> (O) {
 *   O(i) +=! padded(I(i + k - 1)) * W(k) where i in 0:N } */
Test(emit, padded_read)
{
  const char *n[] = {"N"};
  ir_func *f = func("conv1d", 1, n);
  int I = tensor(f, "I", IR_F32, IR_INPUT, 1, P(0), NULL);
  int W = tensor(f, "W", IR_F32, IR_INPUT, 1, K(3), NULL);
  int O = tensor(f, "O", IR_F32, IR_OUTPUT, 1, P(0), NULL);
  ir_size *r[] = {K(0), P(0), K(0), K(3)};
  ir_expr *pos = bin(IR_SUB, IR_I64, bin(IR_ADD, IR_I64, idx(0), idx(1)), iconst(1, IR_I64));
  ir_expr *in = acc(f, I, 1, pos, NULL);
  in->padded = true;
  stmt(f, O, 2, 1, r, IR_RED_ADD, true, bin(IR_MUL, IR_F32, in, acc(f, W, 1, idx(1), NULL)));
  built b = build(f, &generic);
  float x[6], w[3] = {1, 2, 3}, o[6], want[6];
  fill(x, 6, 7);
  for (int i = 0; i < 6; i++) {
    want[i] = 0;
    for (int k = 0; k < 3; k++)
      want[i] += (i + k - 1 >= 0 && i + k - 1 < 6 ? x[i + k - 1] : 0) * w[k];
  }
  cr_assert_eq(b.call((int64_t[]){6}, (void *[]){x, w, o}, NULL), 0);
  assert_close(o, want, 6);
  unload(&b);
}

/* An untyped output of computed shape min(M, N); integer max and abs;
 * names that clash with C. def int(int32(M) for, int32(N) B) -> (O) {
 *   O(i) = abs(max(for(i), B(i)) - 2) } */
Test(emit, computed_shape_ints_and_keywords)
{
  const char *mn[] = {"M", "c0"};
  ir_func *f = func("ints", 2, mn);
  int A = tensor(f, "for", IR_I32, IR_INPUT, 1, P(0), NULL);
  int B = tensor(f, "B", IR_I32, IR_INPUT, 1, P(1), NULL);
  ir_size *d = ir_size_bin(ctx, IR_SZ_MIN, P(0), P(1));
  int O = tensor(f, "int", IR_I32, IR_OUTPUT, 1, d, NULL);
  ir_size *r[] = {K(0), d};
  ir_expr *mx = call(IR_FN_MAX, IR_I32, acc(f, A, 1, idx(0), NULL), acc(f, B, 1, idx(0), NULL));
  stmt(f, O, 1, 1, r, IR_RED_NONE, false, call(IR_FN_ABS, IR_I32, bin(IR_SUB, IR_I32, mx, iconst(2, IR_I32)), NULL));
  built b = build(f, &generic);
  int32_t a[5] = {5, -3, 1, 0, 9}, bb[4] = {-7, -8, 4, 2}, o[4] = {0}, want[4] = {3, 5, 2, 0};
  cr_assert_eq(b.call((int64_t[]){5, 4}, (void *[]){a, bb, o}, NULL), 0);
  cr_assert_arr_eq(o, want, sizeof(want));
  cr_assert(strstr(b.source, "int_"), "keyword tensor renamed:\n%s", b.source);
  unload(&b);
}

/* The emitted C builds for a Cortex-M4 with the hard-float ABI. */
Test(emit, cross_compiles_for_cortex_m4)
{
  if (system("command -v arm-none-eabi-gcc >/dev/null 2>&1") != 0)
    cr_skip_test("arm-none-eabi-gcc not installed");
  char dir[] = "/tmp/aotc_arm_XXXXXX", cmd[512];
  cr_assert(mkdtemp(dir));
  cr_assert(emit_files(matmul(), &generic, dir));
  snprintf(cmd, sizeof(cmd),
           "cd %s && arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -std=c99 "
           "-Wall -Wextra -Werror -c k.c -o k.o && rm -rf %s",
           dir, dir);
  cr_assert_eq(system(cmd), 0);
}

/* When isl runs out of operations the program order is used. */
Test(emit, operation_bound_falls_back_to_program_order)
{
  ctx->isl_max_ops = 1;
  built b = build(matmul(), &generic);
  check_matmul(&b, 3, 4, 5);
  unload(&b);
}

/* A model-like function: no size parameters, a constant tensor, two
 * kernels, and a memory plan in which T3 reuses T1's bytes, so the second
 * kernel must keep the program order:
 *   T1(i) = A(i) * W(i)            kernel 0
 *   T2(i) = T1(3 - i) + 1          kernel 1
 *   T3(i) = T2(i) * 3              kernel 1 (T3 at T1's offset)
 *   O(i) = T3(i) + T2(i)           kernel 1 */
Test(emit, kernels_memory_plan_and_constants)
{
  static const float wdata[4] = {1, 2, 3, 4};
  ir_func *f = func("planned", 0, NULL);
  int A = tensor(f, "A", IR_F32, IR_INPUT, 1, K(4), NULL);
  int O = tensor(f, "O", IR_F32, IR_OUTPUT, 1, K(4), NULL);
  int W = tensor(f, "W", IR_F32, IR_CONSTANT, 1, K(4), NULL);
  int T1 = tensor(f, "T1", IR_F32, IR_TEMP, 1, K(4), NULL);
  int T2 = tensor(f, "T2", IR_F32, IR_TEMP, 1, K(4), NULL);
  int T3 = tensor(f, "T3", IR_F32, IR_TEMP, 1, K(4), NULL);
  f->tensors[W]->data = wdata;
  f->tensors[T2]->ws_offset = 64;
  f->memory_planned = true;
  f->workspace_bytes = 128;
  ir_size *r[] = {K(0), K(4)};
  stmt(f, T1, 1, 1, r, IR_RED_NONE, false, bin(IR_MUL, IR_F32, acc(f, A, 1, idx(0), NULL), acc(f, W, 1, idx(0), NULL)));
  ir_expr *rev = bin(IR_SUB, IR_I64, iconst(3, IR_I64), idx(0));
  stmt(f, T2, 1, 1, r, IR_RED_NONE, false, bin(IR_ADD, IR_F32, acc(f, T1, 1, rev, NULL), fconst_f32(1)));
  stmt(f, T3, 1, 1, r, IR_RED_NONE, false, bin(IR_MUL, IR_F32, acc(f, T2, 1, idx(0), NULL), fconst_f32(3)));
  stmt(f, O, 1, 1, r, IR_RED_NONE, false,
       bin(IR_ADD, IR_F32, acc(f, T3, 1, idx(0), NULL), acc(f, T2, 1, idx(0), NULL)));
  static int kernel_of[] = {0, 1, 1, 1};
  f->stmt_kernel = kernel_of;
  built b = build(f, &generic);
  cr_assert_eq(b.ws(NULL), 128);
  float a[4] = {1, -2, 0.5f, 3}, o[4], want[4];
  for (int i = 0; i < 4; i++)
    want[i] = 4 * (a[3 - i] * wdata[3 - i] + 1);
  _Alignas(64) unsigned char work[128];
  cr_assert_eq(b.call(NULL, (void *[]){a, o}, work), 0);
  assert_close(o, want, 4);
  cr_assert(strstr(b.source, "static const float aotc_k_planned_W[4]"), "%s", b.source);
  char path[128];
  snprintf(path, sizeof(path), "%s/k.h", b.dir);
  char *h = read_text(path);
  cr_assert(strstr(h, "#define planned_WORKSPACE_BYTES ((size_t)128)"), "%s", h);
  free(h);
  unload(&b);
}
