/* test_emit.c: the C backend. Functions are built as IR by hand, emitted,
 * compiled with the system compiler into a shared object, loaded, run on
 * small inputs and compared with loops written here. */
#define _GNU_SOURCE
#include "ir.h"
#include "npy.h"
#include "../../src/schedule/schedule.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ------------------------------------------------------------------------
 * Schedule options: text form, heuristics, and random legal option sets on
 * the kernel corpus (tests/kernels) against the numpy expectations
 * ------------------------------------------------------------------------ */

TestSuite(sched, .init = setup, .fini = teardown);

Test(sched, text_round_trip)
{
  sched_options o, p;
  char buf[512], err[128];
  cr_assert(sched_options_parse("tile=64,256,128 reg=6,32,1 order=0,2,1 fuse=keep unroll=8 vec=1 threads=2 pack=1 "
                                "sr=1 mk=1 vbytes=32", &o, err, sizeof(err)), "%s", err);
  cr_assert_eq(o.tile[1], 256);
  cr_assert_eq(o.reg_tile[0], 6);
  cr_assert_eq(o.order[1], 2);
  cr_assert_eq(o.order[3], 3);
  cr_assert_eq(o.fusion, SCHED_FUSE_KEEP_PARALLEL);
  cr_assert_eq(o.threads, 2);
  cr_assert_eq(o.vector_bytes, 32);
  cr_assert(o.microkernel && o.pack && o.scalar_replace && o.vectorize);
  int n = sched_options_print(buf, sizeof(buf), &o);
  cr_assert_eq(n, (int)strlen(buf));
  cr_assert(sched_options_parse(buf, &p, err, sizeof(err)), "%s: %s", buf, err);
  cr_assert_eq(memcmp(&o, &p, sizeof(o)), 0, "%s", buf);
  cr_assert_eq(sched_options_print(NULL, 0, &o), n);
  cr_assert(sched_options_parse("", &p, err, sizeof(err)));
  sched_options_default(&o);
  cr_assert_eq(memcmp(&o, &p, sizeof(o)), 0);
  cr_assert(sched_options_parse("none", &p, err, sizeof(err)));
  cr_assert_eq(memcmp(&o, &p, sizeof(o)), 0);
}

Test(sched, parse_rejects_bad_text)
{
  static const char *const bad[] = {
      "tile", "tile=", "tile=a", "tile=1,,2", "tile=-1", "tile=1,2,3,4,5,6,7,8,9", "order=0,0", "order=1",
      "order=0,2", "fuse=most", "vec=2", "threads=0", "threads=99999", "bogus=1", "tile=99999999999999999999",
      "vbytes=24", "=3", "tile=1 2",
  };
  sched_options o;
  char err[128];
  sched_options_default(&o);
  o.threads = 7;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cr_assert_not(sched_options_parse(bad[i], &o, err, sizeof(err)), "accepted '%s'", bad[i]);
    cr_assert(err[0], "no message for '%s'", bad[i]);
    cr_assert_eq(o.threads, 7, "'%s' changed the options", bad[i]);
  }
}

Test(sched, heuristic_finds_the_contraction)
{
  sched_options o;
  sched_contraction c;
  ir_func *f = matmul();
  cr_assert(sched_find_contraction(f, 0, &c));
  cr_assert(c.i == 0 && c.j == 1 && c.k == 2 && c.n_batch == 0 && c.init);
  sched_options_heuristic(f, 2, sched_cpu_find("x86-64-v4"), &o);
  cr_assert(o.microkernel && o.threads == 2);
  cr_assert(o.reg_tile[1] % 16 == 0 && o.reg_tile[0] > 0 && o.tile[2] > 0);
  sched_blocks b;
  sched_contraction_blocks(&c, &o, &b);
  cr_assert_eq(b.vw, 16);
  cr_assert_eq(b.mc % b.mr, 0);
  cr_assert_eq(b.nc % b.nr, 0);
}

static unsigned next_rand(unsigned *seed)
{
  *seed = *seed * 1103515245u + 12345u;
  return (*seed >> 16) & 0x7fff;
}

static int pick_of(unsigned *seed, const int *v, int n)
{
  return v[next_rand(seed) % (unsigned)n];
}

/* A random legal option set (every option set is legal: the
 * transformations check legality themselves). */
static void random_options(unsigned *seed, sched_options *o)
{
  static const int tiles[] = {0, 1, 2, 3, 5, 8, 16, 64}, regs[] = {0, 1, 2, 3, 4};
  static const int mrs[] = {1, 2, 3, 4, 6, 8}, nrs[] = {1, 3, 4, 8, 16, 32, 48, 64}, vbs[] = {16, 32, 64};
  sched_options_default(o);
  bool tiled = next_rand(seed) % 4 != 0;
  int n = 1 + (int)(next_rand(seed) % 3);
  for (int i = 0; i < 3; i++) {
    o->tile[i] = tiled ? pick_of(seed, tiles + 1, 7) : 0;
    o->reg_tile[i] = pick_of(seed, regs, 5);
  }
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(next_rand(seed) % (unsigned)(i + 1)), t = o->order[i];
    o->order[i] = o->order[j];
    o->order[j] = t;
  }
  o->fusion = (sched_fusion)(next_rand(seed) % SCHED_FUSE_COUNT);
  o->unroll = pick_of(seed, (const int[]){0, 4, 16}, 3);
  o->vectorize = next_rand(seed) % 2;
  o->vector_bytes = pick_of(seed, vbs, 3);
  o->threads = 1 + (int)(next_rand(seed) % 3);
  o->scalar_replace = next_rand(seed) % 2;
  o->microkernel = next_rand(seed) % 3 != 0;
  o->pack = o->microkernel;
  if (o->microkernel) {
    o->reg_tile[0] = pick_of(seed, mrs, 6);
    o->reg_tile[1] = pick_of(seed, nrs, 8);
  }
}

typedef struct corpus_case {
  char file[64], name[64], entry[64];
  char inputs[8][32], outputs[4][32];
  int n_in, n_out;
} corpus_case;

/* The directory of tests/kernels: $AOTC_KERNELS, beside this file, or
 * from the working directory (the source root or a build directory). */
static const char *kernels_dir(void)
{
  static char dir[4096];
  char probe[4200];
  const char *slash = strrchr(__FILE__, '/');
  const char *env = getenv("AOTC_KERNELS");
  for (int i = 0; i < 4; i++) {
    if (i == 0 && env)
      snprintf(dir, sizeof(dir), "%s", env);
    else if (i == 1 && slash)
      snprintf(dir, sizeof(dir), "%.*s/../kernels", (int)(slash - __FILE__), __FILE__);
    else
      snprintf(dir, sizeof(dir), "%s", i == 2 ? "tests/kernels" : "../tests/kernels");
    snprintf(probe, sizeof(probe), "%s/manifest.txt", dir);
    FILE *f = fopen(probe, "r");
    if (f) {
      fclose(f);
      return dir;
    }
  }
  return "tests/kernels";
}

static int read_manifest(corpus_case *cases, int max)
{
  char path[4200], line[512];
  snprintf(path, sizeof(path), "%s/manifest.txt", kernels_dir());
  FILE *in = fopen(path, "r");
  cr_assert(in, "cannot open %s", path);
  int n = 0;
  while (n < max && fgets(line, sizeof(line), in)) {
    if (line[0] == '#' || line[0] == '\n')
      continue;
    corpus_case *c = &cases[n];
    memset(c, 0, sizeof(*c));
    char *tok = strtok(line, " \t\n");
    snprintf(c->file, sizeof(c->file), "%s", tok);
    tok = strtok(NULL, " \t\n");
    snprintf(c->name, sizeof(c->name), "%s", tok);
    snprintf(c->entry, sizeof(c->entry), "%.*s", (int)strcspn(tok, "@"), tok);
    bool out = false;
    while ((tok = strtok(NULL, " \t\n"))) {
      if (!strcmp(tok, "->"))
        out = true;
      else if (out && c->n_out < 4)
        snprintf(c->outputs[c->n_out++], 32, "%s", tok);
      else if (!out && c->n_in < 8)
        snprintf(c->inputs[c->n_in++], 32, "%s", tok);
    }
    n++;
  }
  fclose(in);
  return n;
}

static ir_module *compile_tc(const char *file)
{
  char path[4200];
  size_t len;
  snprintf(path, sizeof(path), "%.4000s/%.100s", kernels_dir(), file);
  unsigned char *text = driver_read_file(ctx, path, &len);
  cr_assert(text, "cannot read %s", path);
  const aotc_source *src = aotc_add_source(ctx, path, (const char *)text, len);
  aotc_free(ctx, text);
  ir_module *m = tc_compile(ctx, src);
  cr_assert(m, "%s does not compile", path);
  return m;
}

/* Emits every def of m with options o and builds a shared object. */
static void *build_module(ir_module *m, const sched_options *o, bool openmp, char *dir)
{
  char cpath[128], hpath[128], cmd[512];
  strcpy(dir, "/tmp/aotc_sched_XXXXXX");
  cr_assert(mkdtemp(dir));
  snprintf(cpath, sizeof(cpath), "%s/k.c", dir);
  snprintf(hpath, sizeof(hpath), "%s/k.h", dir);
  FILE *c = fopen(cpath, "w"), *h = fopen(hpath, "w");
  emit_options eo = {.fuse = true, .sched = o, .header_name = "k.h"};
  bool ok = emit_c_module(ctx, m, m->funcs, m->n_funcs, &eo, c, h);
  fclose(c);
  fclose(h);
  if (!ok)
    aotc_print_diags(ctx, stderr);
  cr_assert(ok, "emit failed");
  snprintf(cmd, sizeof(cmd), "cd %s && cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 %s -fPIC -shared -o k.so k.c -lm",
           dir, openmp ? "-fopenmp" : "");
  cr_assert_eq(system(cmd), 0, "compile failed in %s", dir);
  snprintf(cpath, sizeof(cpath), "%s/k.so", dir);
  void *so = dlopen(cpath, RTLD_NOW | RTLD_LOCAL);
  cr_assert(so, "dlopen: %s", dlerror());
  return so;
}

static double element(const npy_array *a, int64_t i)
{
  switch (a->type) {
  case IR_F32: return ((const float *)a->data)[i];
  case IR_F64: return ((const double *)a->data)[i];
  case IR_I32: return ((const int32_t *)a->data)[i];
  case IR_I64: return (double)((const int64_t *)a->data)[i];
  case IR_BOOL: return ((const bool *)a->data)[i];
  default: return NAN;
  }
}

/* Runs one manifest case through the shared object; false when skipped. */
static bool run_case(void *so, ir_module *m, const corpus_case *c, const char *what)
{
  ir_func *f = ir_module_find(m, c->entry);
  char path[4400], sym[128];
  if (!f || f->n_inputs != c->n_in || f->n_outputs != c->n_out)
    return false;
  snprintf(sym, sizeof(sym), "%s_call", c->entry);
  call_fn call = (call_fn)dlsym(so, sym);
  snprintf(sym, sizeof(sym), "%s_call_workspace_bytes", c->entry);
  ws_fn ws = (ws_fn)dlsym(so, sym);
  if (!call || !ws)
    return false;
  npy_array in[8] = {0}, want[4] = {0};
  const int64_t *shapes[8];
  int ranks[8];
  void *args[12];
  for (int i = 0; i < c->n_in; i++) {
    snprintf(path, sizeof(path), "%s/fixtures/%s/%s.npy", kernels_dir(), c->name, c->inputs[i]);
    cr_assert(driver_npy_load(ctx, path, &in[i]), "%s", path);
    cr_assert(driver_npy_convert(&in[i], f->tensors[f->inputs[i]]->type));
    if (f->tensors[f->inputs[i]]->rank == 0 && in[i].numel == 1)
      in[i].rank = 0;
    shapes[i] = in[i].shape;
    ranks[i] = in[i].rank;
    args[i] = in[i].data;
  }
  int64_t sizes[32];
  bool bound = ir_bind_sizes(ctx, f, shapes, ranks, sizes);
  if (!bound)
    aotc_print_diags(ctx, stderr);
  cr_assert(bound, "%s: sizes", c->name);
  for (int k = 0; k < c->n_out; k++) {
    int t = f->outputs[k];
    snprintf(path, sizeof(path), "%s/fixtures/%s/expected_%s.npy", kernels_dir(), c->name, c->outputs[k]);
    cr_assert(driver_npy_load(ctx, path, &want[k]), "%s", path);
    int64_t n = ir_tensor_numel(f, t, sizes);
    cr_assert_eq(n, want[k].numel, "%s: output %s size", c->name, c->outputs[k]);
    args[c->n_in + k] = calloc((size_t)(n ? n : 1), (size_t)ir_types[f->tensors[t]->type].bytes);
  }
  size_t wsb = ws(sizes);
  void *work = wsb ? malloc(wsb) : NULL;
  cr_assert_eq(call(sizes, args, work), 0, "%s [%s]: rejected", c->name, what);
  for (int k = 0; k < c->n_out; k++) {
    npy_array got = {.type = f->tensors[f->outputs[k]]->type, .numel = want[k].numel, .data = args[c->n_in + k]};
    for (int64_t i = 0; i < want[k].numel; i++) {
      double g = element(&got, i), e = element(&want[k], i);
      cr_assert(fabs(g - e) <= 1e-4 * (1 + fabs(e)) || (isnan(g) && isnan(e)),
                "%s [%s]: %s[%lld] = %g, want %g", c->name, what, c->outputs[k], (long long)i, g, e);
    }
    free(args[c->n_in + k]);
    driver_npy_free(&want[k]);
  }
  for (int i = 0; i < c->n_in; i++)
    driver_npy_free(&in[i]);
  free(work);
  return true;
}

/* A band whose first member has one iteration (rowsum over 2 rows, the
 * rows register-tiled by 6) prints no loop for it: the threads must not
 * take the next loop, over the summed columns (every thread added into both
 * sums: a race that AOTC_SCHED_SEED=2 above hit now and then). */
Test(sched, one_iteration_first_member_stays_serial)
{
  ir_module *m = compile_tc("reduce.tc");
  ir_func *f = ir_module_find(m, "rowsum_few");
  cr_assert(f);
  sched_options o;
  char err[128];
  cr_assert(sched_options_parse("tile=0 reg=6,3,2 order=0 fuse=min threads=2", &o, err, sizeof(err)), "%s", err);
  char *text = NULL;
  size_t len = 0;
  FILE *c = open_memstream(&text, &len), *h = fopen("/dev/null", "w");
  emit_options eo = {.fuse = true, .sched = &o, .header_name = "k.h"};
  cr_assert(emit_c_module(ctx, m, &f, 1, &eo, c, h));
  fclose(c);
  fclose(h);
  int spread = 0;
  for (const char *p = strstr(text, "parallel for"); p; p = strstr(p + 1, "parallel for")) {
    const char *loop = strstr(p, "for (");
    cr_assert(loop);
    const char *eol = strchr(loop, '\n');
    cr_assert(!memmem(loop, (size_t)(eol - loop), "< N", 3), "a loop over the summed columns is spread: %.*s",
              (int)(eol - loop), loop);
    spread++;
  }
  cr_assert_geq(spread, 1, "nothing spread over the threads:\n%s", text);
  free(text);
}

/* Every .tc file of the corpus under AOTC_SCHED_SETS (default 3) random
 * option sets plus the heuristics for 2 threads, built with and without
 * OpenMP; every manifest case of the file checked. AOTC_SCHED_SEED picks
 * the seed (default from the clock, printed on failure). */
Test(sched, random_options_on_kernel_corpus, .timeout = 900)
{
  static corpus_case cases[256];
  int n = read_manifest(cases, 256);
  void *gomp = dlopen("libgomp.so.1", RTLD_NOW | RTLD_GLOBAL);
  const char *env = getenv("AOTC_SCHED_SETS");
  int sets = env ? atoi(env) : 3;
  env = getenv("AOTC_SCHED_SEED");
  unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
  unsigned seed0 = seed;
  int checked = 0;
  for (int i = 0; i < n; i++) {
    bool first = true;
    for (int j = 0; j < i; j++)
      first = first && strcmp(cases[j].file, cases[i].file);
    if (!first)
      continue;
    ir_module *m = compile_tc(cases[i].file);
    for (int set = 0; set <= sets; set++) {
      sched_options o;
      if (set == sets)
        sched_options_heuristic(m->funcs[0], 2, sched_cpu_find("x86-64-v4"), &o);
      else
        random_options(&seed, &o);
      char what[600], dir[64];
      int len = snprintf(what, sizeof(what), "seed %u, %s: ", seed0, cases[i].file);
      sched_options_print(what + len, sizeof(what) - (size_t)len, &o);
      void *so = build_module(m, &o, set % 2 == 0 && !getenv("AOTC_SCHED_NO_OPENMP"), dir);
      for (int j = i; j < n; j++)
        if (!strcmp(cases[j].file, cases[i].file)) {
          if (getenv("AOTC_SCHED_VERBOSE"))
            fprintf(stderr, "%s [%s]\n", cases[j].name, what);
          checked += run_case(so, m, &cases[j], what);
        }
      dlclose(so);
      char cmd[128];
      snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
      cr_assert_eq(system(cmd), 0);
    }
  }
  cr_assert_gt(checked, 100, "only %d cases ran", checked);
  (void)gomp; /* stays loaded: OpenMP's threads outlive the kernels */
}
