/* test_ir.c: Criterion unit tests of the IR utilities: the reference
 * interpreter against closed forms, size binding, the verifier and the
 * `aotc check` printer. Functions are built by hand, without the parser. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* ------------------------------------------------------------------------
 * Builders
 * ------------------------------------------------------------------------ */

static const ir_loc noloc = {NULL, 0, 0};

static ir_func *func_new(aotc_ctx *ctx, const char *name, int n_params, const char *const *params)
{
  ir_func *f = IR_NEW(ctx, ir_func);
  f->name = name;
  f->n_params = n_params;
  f->param_names = IR_NEW_ARRAY(ctx, const char *, n_params);
  for (int p = 0; p < n_params; p++)
    f->param_names[p] = params[p];
  f->tensors = IR_NEW_ARRAY(ctx, ir_tensor *, 16);
  f->inputs = IR_NEW_ARRAY(ctx, int, 16);
  f->outputs = IR_NEW_ARRAY(ctx, int, 16);
  f->stmts = IR_NEW_ARRAY(ctx, ir_stmt *, 16);
  return f;
}

/* Adds a tensor; shape[d] >= 0 is a constant, < 0 is parameter -shape[d]-1. */
static int add_tensor(aotc_ctx *ctx, ir_func *f, const char *name, ir_type type, ir_role role, int rank,
                      const int *shape)
{
  ir_tensor *t = IR_NEW(ctx, ir_tensor);
  t->name = name;
  t->type = type;
  t->role = role;
  t->rank = rank;
  t->shape = IR_NEW_ARRAY(ctx, ir_size *, rank);
  for (int d = 0; d < rank; d++)
    t->shape[d] = shape[d] >= 0 ? ir_size_const(ctx, shape[d]) : ir_size_param(ctx, -shape[d] - 1);
  int n = f->n_tensors++;
  f->tensors[n] = t;
  if (role == IR_INPUT)
    f->inputs[f->n_inputs++] = n;
  if (role == IR_OUTPUT)
    f->outputs[f->n_outputs++] = n;
  return n;
}

#define P(k) (-(k)-1)

static ir_expr *ex_index(aotc_ctx *ctx, int i)
{
  ir_expr *e = ir_expr_new(ctx, IR_INDEX, IR_I64, noloc, 0);
  e->index = i;
  return e;
}

static ir_expr *ex_int(aotc_ctx *ctx, ir_type type, int64_t v)
{
  ir_expr *e = ir_expr_new(ctx, IR_CONST_INT, type, noloc, 0);
  e->ival = v;
  return e;
}

static ir_expr *ex_float(aotc_ctx *ctx, ir_type type, double v)
{
  ir_expr *e = ir_expr_new(ctx, IR_CONST_FLOAT, type, noloc, 0);
  e->fval = v;
  return e;
}

static ir_expr *ex_bin(aotc_ctx *ctx, ir_op op, ir_type type, ir_expr *a, ir_expr *b)
{
  ir_expr *e = ir_expr_new(ctx, IR_BINARY, type, noloc, 2);
  e->op = op;
  e->args[0] = a;
  e->args[1] = b;
  return e;
}

static ir_expr *ex_cast(aotc_ctx *ctx, ir_type type, ir_expr *a)
{
  ir_expr *e = ir_expr_new(ctx, IR_CAST, type, noloc, 1);
  e->args[0] = a;
  return e;
}

static ir_expr *ex_call(aotc_ctx *ctx, ir_builtin fn, ir_type type, ir_expr *a, ir_expr *b)
{
  ir_expr *e = ir_expr_new(ctx, IR_CALL, type, noloc, b ? 2 : 1);
  e->fn = fn;
  e->args[0] = a;
  if (b)
    e->args[1] = b;
  return e;
}

/* Access to tensor t with n index expressions. */
static ir_expr *ex_acc(aotc_ctx *ctx, const ir_func *f, int t, int n, ...)
{
  ir_expr *e = ir_expr_new(ctx, IR_ACCESS, f->tensors[t]->type, noloc, n);
  va_list ap;
  va_start(ap, n);
  e->tensor = t;
  for (int k = 0; k < n; k++)
    e->args[k] = va_arg(ap, ir_expr *);
  va_end(ap);
  return e;
}

/* Access to tensor t indexed by plain index variables. */
static ir_expr *ex_acc_ix(aotc_ctx *ctx, const ir_func *f, int t, const int *ix)
{
  ir_expr *e = ir_expr_new(ctx, IR_ACCESS, f->tensors[t]->type, noloc, f->tensors[t]->rank);
  e->tensor = t;
  for (int k = 0; k < f->tensors[t]->rank; k++)
    e->args[k] = ex_index(ctx, ix[k]);
  return e;
}

typedef struct ix_spec {
  const char *name;
  int lo, hi; /* >= 0 constant, < 0 parameter P(k) */
} ix_spec;

static ir_size *spec_size(aotc_ctx *ctx, int v)
{
  return v >= 0 ? ir_size_const(ctx, v) : ir_size_param(ctx, -v - 1);
}

/* Adds `tensor(index 0..n_lhs-1) red rhs` over the given indices; indices
 * from n_lhs on are reduction indices. */
static ir_stmt *add_stmt(aotc_ctx *ctx, ir_func *f, int tensor, ir_reduction red, bool init, int n_index,
                         const ix_spec *ix, int n_lhs, ir_expr *rhs)
{
  ir_stmt *s = IR_NEW(ctx, ir_stmt);
  s->tensor = tensor;
  s->red = red;
  s->init = init;
  s->n_index = n_index;
  s->index = IR_NEW_ARRAY(ctx, ir_index, n_index);
  for (int k = 0; k < n_index; k++) {
    s->index[k].name = ix[k].name;
    s->index[k].lo = spec_size(ctx, ix[k].lo);
    s->index[k].hi = spec_size(ctx, ix[k].hi);
    s->index[k].reduction = k >= n_lhs;
  }
  s->n_lhs = n_lhs;
  s->lhs = IR_NEW_ARRAY(ctx, int, n_lhs);
  for (int d = 0; d < n_lhs; d++)
    s->lhs[d] = d;
  s->rhs = rhs;
  f->stmts[f->n_stmts++] = s;
  return s;
}

/* C(m, n) +=! A(m, r_k) * B(r_k, n) with sizes M, K, N. */
static ir_func *build_matmul(aotc_ctx *ctx)
{
  static const char *const params[] = {"M", "K", "N"};
  ir_func *f = func_new(ctx, "matmul", 3, params);
  int A = add_tensor(ctx, f, "A", IR_F32, IR_INPUT, 2, (int[]){P(0), P(1)});
  int B = add_tensor(ctx, f, "B", IR_F32, IR_INPUT, 2, (int[]){P(1), P(2)});
  int C = add_tensor(ctx, f, "C", IR_F32, IR_OUTPUT, 2, (int[]){P(0), P(2)});
  ir_expr *rhs = ex_bin(ctx, IR_MUL, IR_F32, ex_acc_ix(ctx, f, A, (int[]){0, 2}), ex_acc_ix(ctx, f, B, (int[]){2, 1}));
  add_stmt(ctx, f, C, IR_RED_ADD, true, 3,
           (ix_spec[]){{"m", 0, P(0)}, {"n", 0, P(2)}, {"r_k", 0, P(1)}}, 2, rhs);
  return f;
}

static aotc_ctx *ctx;

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
}

static void teardown(void)
{
  if (ctx->n_diags)
    aotc_print_diags(ctx, stderr);
  aotc_ctx_free(ctx);
}

TestSuite(ir, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------------
 * Interpreter
 * ------------------------------------------------------------------------ */

Test(ir, interp_matmul)
{
  enum { M = 3, K = 4, N = 5 };
  ir_func *f = build_matmul(ctx);
  float a[M * K], b[K * N], c[M * N], want[M * N];
  for (int i = 0; i < M * K; i++)
    a[i] = (float)(i % 7) * 0.5f - 1.25f;
  for (int i = 0; i < K * N; i++)
    b[i] = (float)(i % 5) * 0.75f - 0.5f;
  for (int i = 0; i < M * N; i++)
    c[i] = 1234.0f;
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      float acc = 0;
      for (int k = 0; k < K; k++)
        acc += a[m * K + k] * b[k * N + n];
      want[m * N + n] = acc;
    }
  int64_t sizes[] = {M, K, N};
  cr_assert_eq(ir_interpret(ctx, f, sizes, (void *[]){a, b, c}), 0);
  for (int i = 0; i < M * N; i++)
    cr_expect_eq(c[i], want[i], "C[%d] = %g, want %g", i, c[i], want[i]);
}

Test(ir, interp_sum_into_scalar)
{
  static const char *const params[] = {"N"};
  ir_func *f = func_new(ctx, "sum", 1, params);
  int A = add_tensor(ctx, f, "A", IR_F64, IR_INPUT, 1, (int[]){P(0)});
  int S = add_tensor(ctx, f, "s", IR_F64, IR_OUTPUT, 0, NULL);
  add_stmt(ctx, f, S, IR_RED_ADD, true, 1, (ix_spec[]){{"r_i", 0, P(0)}}, 0, ex_acc_ix(ctx, f, A, (int[]){0}));
  double a[100], s = -1, want = 0;
  for (int i = 0; i < 100; i++) {
    a[i] = i * 0.25;
    want += a[i];
  }
  int64_t sizes[] = {100};
  cr_assert_eq(ir_interpret(ctx, f, sizes, (void *[]){a, &s}), 0);
  cr_expect_eq(s, want);
  cr_expect_eq(s, 0.25 * 99 * 100 / 2);
}

Test(ir, interp_max_reduction_init)
{
  static const char *const params[] = {"M", "N"};
  ir_func *f = func_new(ctx, "rowmax", 2, params);
  int A = add_tensor(ctx, f, "A", IR_F32, IR_INPUT, 2, (int[]){P(0), P(1)});
  int O = add_tensor(ctx, f, "O", IR_F32, IR_OUTPUT, 1, (int[]){P(0)});
  int Oi = add_tensor(ctx, f, "Oi", IR_I32, IR_OUTPUT, 1, (int[]){P(0)});
  ix_spec ix[] = {{"i", 0, P(0)}, {"r_j", 0, P(1)}};
  add_stmt(ctx, f, O, IR_RED_MAX, true, 2, ix, 1, ex_acc_ix(ctx, f, A, (int[]){0, 1}));
  add_stmt(ctx, f, Oi, IR_RED_MIN, true, 2, ix, 1, ex_cast(ctx, IR_I32, ex_acc_ix(ctx, f, A, (int[]){0, 1})));
  float a[] = {-3, -1.5f, -7, /**/ 2, 9, -4};
  float o[2] = {100, 100};
  int32_t oi[2] = {-100, -100};
  int64_t sizes[] = {2, 3};
  cr_assert_eq(ir_interpret(ctx, f, sizes, (void *[]){a, o, oi}), 0);
  cr_expect_eq(o[0], -1.5f);
  cr_expect_eq(o[1], 9.0f);
  cr_expect_eq(oi[0], -7);
  cr_expect_eq(oi[1], -4);
}

Test(ir, interp_max_reduction_empty_range_gives_identity)
{
  static const char *const params[] = {"M", "N"};
  ir_func *f = func_new(ctx, "rowmax", 2, params);
  int A = add_tensor(ctx, f, "A", IR_F32, IR_INPUT, 2, (int[]){P(0), P(1)});
  int O = add_tensor(ctx, f, "O", IR_F32, IR_OUTPUT, 1, (int[]){P(0)});
  int Oi = add_tensor(ctx, f, "Oi", IR_I16, IR_OUTPUT, 1, (int[]){P(0)});
  ix_spec ix[] = {{"i", 0, P(0)}, {"r_j", 0, P(1)}};
  add_stmt(ctx, f, O, IR_RED_MAX, true, 2, ix, 1, ex_acc_ix(ctx, f, A, (int[]){0, 1}));
  add_stmt(ctx, f, Oi, IR_RED_MIN, true, 2, ix, 1, ex_cast(ctx, IR_I16, ex_acc_ix(ctx, f, A, (int[]){0, 1})));
  float a[1], o[2] = {0, 0};
  int16_t oi[2] = {0, 0};
  int64_t sizes[] = {2, 0};
  cr_assert_eq(ir_interpret(ctx, f, sizes, (void *[]){a, o, oi}), 0);
  cr_expect(isinf(o[0]) && o[0] < 0);
  cr_expect_eq(oi[1], INT16_MAX);
}

/* O(i) = padded(A(i - 1)) + padded(A(i + 1)) */
Test(ir, interp_padded_read)
{
  static const char *const params[] = {"N"};
  ir_func *f = func_new(ctx, "blur", 1, params);
  int A = add_tensor(ctx, f, "A", IR_F32, IR_INPUT, 1, (int[]){P(0)});
  int O = add_tensor(ctx, f, "O", IR_F32, IR_OUTPUT, 1, (int[]){P(0)});
  ir_expr *l = ex_acc(ctx, f, A, 1, ex_bin(ctx, IR_SUB, IR_I64, ex_index(ctx, 0), ex_int(ctx, IR_I64, 1)));
  ir_expr *r = ex_acc(ctx, f, A, 1, ex_bin(ctx, IR_ADD, IR_I64, ex_index(ctx, 0), ex_int(ctx, IR_I64, 1)));
  l->padded = r->padded = true;
  add_stmt(ctx, f, O, IR_RED_NONE, false, 1, (ix_spec[]){{"i", 0, P(0)}}, 1, ex_bin(ctx, IR_ADD, IR_F32, l, r));
  float a[] = {1, 2, 3, 4}, o[4];
  int64_t sizes[] = {4};
  cr_assert_eq(ir_interpret(ctx, f, sizes, (void *[]){a, o}), 0);
  cr_expect_eq(o[0], 2);
  cr_expect_eq(o[1], 4);
  cr_expect_eq(o[2], 6);
  cr_expect_eq(o[3], 3);
}

Test(ir, interp_out_of_bounds_read_is_an_error)
{
  static const char *const params[] = {"N"};
  ir_func *f = func_new(ctx, "shift", 1, params);
  int A = add_tensor(ctx, f, "A", IR_F32, IR_INPUT, 1, (int[]){P(0)});
  int O = add_tensor(ctx, f, "O", IR_F32, IR_OUTPUT, 1, (int[]){P(0)});
  ir_expr *r = ex_acc(ctx, f, A, 1, ex_bin(ctx, IR_ADD, IR_I64, ex_index(ctx, 0), ex_int(ctx, IR_I64, 1)));
  r->loc = (ir_loc){NULL, 3, 7};
  add_stmt(ctx, f, O, IR_RED_NONE, false, 1, (ix_spec[]){{"i", 0, P(0)}}, 1, r);
  float a[] = {1, 2, 3, 4}, o[4] = {0};
  int64_t sizes[] = {4};
  cr_assert_neq(ir_interpret(ctx, f, sizes, (void *[]){a, o}), 0);
  cr_assert_eq(ctx->n_errors, 1);
  cr_expect_eq(ctx->diags[0].loc.line, 3);
  cr_expect(strstr(ctx->diags[0].msg, "'A'") != NULL, "%s", ctx->diags[0].msg);
  cr_expect_eq(o[2], 4);
  aotc_clear_diags(ctx);
}

/* Q(i) = A(i) / B(i), R(i) = A(i) % B(i) in int32: C's truncation. */
static ir_func *build_divmod(aotc_ctx *c, ir_type type)
{
  static const char *const params[] = {"N"};
  ir_func *f = func_new(c, "divmod", 1, params);
  int A = add_tensor(c, f, "A", type, IR_INPUT, 1, (int[]){P(0)});
  int B = add_tensor(c, f, "B", type, IR_INPUT, 1, (int[]){P(0)});
  int Q = add_tensor(c, f, "Q", type, IR_OUTPUT, 1, (int[]){P(0)});
  int R = add_tensor(c, f, "R", type, IR_OUTPUT, 1, (int[]){P(0)});
  ix_spec ix[] = {{"i", 0, P(0)}};
  for (int k = 0; k < 2; k++)
    add_stmt(c, f, k ? R : Q, IR_RED_NONE, false, 1, ix, 1,
             ex_bin(c, k ? IR_MOD : IR_DIV, type, ex_acc_ix(c, f, A, (int[]){0}), ex_acc_ix(c, f, B, (int[]){0})));
  return f;
}

Test(ir, interp_int_division_truncates)
{
  ir_func *f = build_divmod(ctx, IR_I32);
  int32_t a[] = {-7, 7, -7, 7, INT32_MIN}, b[] = {2, -2, -2, 2, -1}, q[5], r[5];
  int64_t sizes[] = {5};
  cr_assert_eq(ir_interpret(ctx, f, sizes, (void *[]){a, b, q, r}), 0);
  for (int i = 0; i < 4; i++) {
    cr_expect_eq(q[i], a[i] / b[i], "q[%d] = %d", i, q[i]);
    cr_expect_eq(r[i], a[i] % b[i], "r[%d] = %d", i, r[i]);
  }
  cr_expect_eq(q[4], INT32_MIN);
  cr_expect_eq(r[4], 0);
}

Test(ir, interp_int_division_by_zero_is_an_error)
{
  ir_func *f = build_divmod(ctx, IR_I64);
  int64_t a[] = {1, 2}, b[] = {1, 0}, q[2], r[2];
  int64_t sizes[] = {2};
  cr_assert_neq(ir_interpret(ctx, f, sizes, (void *[]){a, b, q, r}), 0);
  cr_assert_eq(ctx->n_errors, 1);
  cr_expect(strstr(ctx->diags[0].msg, "division by zero") != NULL);
  aotc_clear_diags(ctx);
}

Test(ir, interp_uint8_wraps)
{
  ir_func *f = build_divmod(ctx, IR_U8);
  f->stmts[0]->rhs->op = IR_ADD;
  f->stmts[1]->rhs->op = IR_SUB;
  uint8_t a[] = {200, 3}, b[] = {100, 5}, q[2], r[2];
  int64_t sizes[] = {2};
  cr_assert_eq(ir_interpret(ctx, f, sizes, (void *[]){a, b, q, r}), 0);
  cr_expect_eq(q[0], 44);
  cr_expect_eq(r[1], 254);
}

/* O(i) = int32(A(i)), W(i) = int8(O-like int32 input) */
Test(ir, interp_casts)
{
  static const char *const params[] = {"N"};
  ir_func *f = func_new(ctx, "casts", 1, params);
  int A = add_tensor(ctx, f, "A", IR_F32, IR_INPUT, 1, (int[]){P(0)});
  int I = add_tensor(ctx, f, "I", IR_I32, IR_INPUT, 1, (int[]){P(0)});
  int O = add_tensor(ctx, f, "O", IR_I32, IR_OUTPUT, 1, (int[]){P(0)});
  int W = add_tensor(ctx, f, "W", IR_I8, IR_OUTPUT, 1, (int[]){P(0)});
  int F = add_tensor(ctx, f, "F", IR_F32, IR_OUTPUT, 1, (int[]){P(0)});
  ix_spec ix[] = {{"i", 0, P(0)}};
  add_stmt(ctx, f, O, IR_RED_NONE, false, 1, ix, 1, ex_cast(ctx, IR_I32, ex_acc_ix(ctx, f, A, (int[]){0})));
  add_stmt(ctx, f, W, IR_RED_NONE, false, 1, ix, 1, ex_cast(ctx, IR_I8, ex_acc_ix(ctx, f, I, (int[]){0})));
  add_stmt(ctx, f, F, IR_RED_NONE, false, 1, ix, 1,
           ex_bin(ctx, IR_DIV, IR_F32, ex_cast(ctx, IR_F32, ex_index(ctx, 0)), ex_float(ctx, IR_F32, 3.0)));
  float a[] = {2.7f, -2.7f, 0.5f}, fo[3];
  int32_t in[] = {200, -129, 5}, o[3];
  int8_t w[3];
  int64_t sizes[] = {3};
  cr_assert_eq(ir_interpret(ctx, f, sizes, (void *[]){a, in, o, w, fo}), 0);
  cr_expect_eq(o[0], 2);
  cr_expect_eq(o[1], -2);
  cr_expect_eq(o[2], 0);
  cr_expect_eq(w[0], -56);
  cr_expect_eq(w[1], 127);
  cr_expect_eq(fo[1], 1.0f / 3.0f);
  cr_expect_eq(fo[2], 2.0f / 3.0f);
}

/* T(i) = exp(A(i)) * 2 (a temporary); O(i) = T(i) + alpha (a scalar argument) */
Test(ir, interp_temporary_and_scalar_argument)
{
  static const char *const params[] = {"N"};
  ir_func *f = func_new(ctx, "tmp", 1, params);
  int A = add_tensor(ctx, f, "A", IR_F32, IR_INPUT, 1, (int[]){P(0)});
  int al = add_tensor(ctx, f, "alpha", IR_F32, IR_INPUT, 0, NULL);
  int O = add_tensor(ctx, f, "O", IR_F32, IR_OUTPUT, 1, (int[]){P(0)});
  int T = add_tensor(ctx, f, "T", IR_F32, IR_TEMP, 1, (int[]){P(0)});
  ix_spec ix[] = {{"i", 0, P(0)}};
  add_stmt(ctx, f, T, IR_RED_NONE, false, 1, ix, 1,
           ex_bin(ctx, IR_MUL, IR_F32, ex_call(ctx, IR_FN_EXP, IR_F32, ex_acc_ix(ctx, f, A, (int[]){0}), NULL),
                  ex_float(ctx, IR_F32, 2.0)));
  add_stmt(ctx, f, O, IR_RED_NONE, false, 1, ix, 1,
           ex_bin(ctx, IR_ADD, IR_F32, ex_acc_ix(ctx, f, T, (int[]){0}), ex_acc(ctx, f, al, 0)));
  float a[] = {0, 1, -1}, alpha = 0.5f, o[3];
  int64_t sizes[] = {3};
  cr_assert_eq(ir_interpret(ctx, f, sizes, (void *[]){a, &alpha, o}), 0);
  for (int i = 0; i < 3; i++)
    cr_expect_eq(o[i], expf(a[i]) * 2.0f + 0.5f, "o[%d] = %.9g", i, o[i]);
}

/* O(i) = i < 2 && A(i) / 0 > 0 ? max(A(i), 1) : sigmoid(A(i)): short
 * circuit, select, builtins. */
Test(ir, interp_select_short_circuit_builtins)
{
  static const char *const params[] = {"N"};
  ir_func *f = func_new(ctx, "sel", 1, params);
  int A = add_tensor(ctx, f, "A", IR_I32, IR_INPUT, 1, (int[]){P(0)});
  int O = add_tensor(ctx, f, "O", IR_F32, IR_OUTPUT, 1, (int[]){P(0)});
  ir_expr *lt = ex_bin(ctx, IR_LT, IR_BOOL, ex_index(ctx, 0), ex_int(ctx, IR_I64, 2));
  ir_expr *div = ex_bin(ctx, IR_DIV, IR_I32, ex_acc_ix(ctx, f, A, (int[]){0}), ex_int(ctx, IR_I32, 0));
  ir_expr *cond = ex_bin(ctx, IR_AND, IR_BOOL, ex_bin(ctx, IR_GE, IR_BOOL, ex_index(ctx, 0), ex_int(ctx, IR_I64, 2)),
                         ex_bin(ctx, IR_GT, IR_BOOL, div, ex_int(ctx, IR_I32, 0)));
  ir_expr *sel = ir_expr_new(ctx, IR_SELECT, IR_F32, noloc, 3);
  sel->args[0] = ex_bin(ctx, IR_OR, IR_BOOL, lt, cond);
  sel->args[1] = ex_cast(ctx, IR_F32, ex_call(ctx, IR_FN_MAX, IR_I32, ex_acc_ix(ctx, f, A, (int[]){0}), ex_int(ctx, IR_I32, 1)));
  sel->args[2] = ex_call(ctx, IR_FN_SIGMOID, IR_F32, ex_cast(ctx, IR_F32, ex_acc_ix(ctx, f, A, (int[]){0})), NULL);
  add_stmt(ctx, f, O, IR_RED_NONE, false, 1, (ix_spec[]){{"i", 0, P(0)}}, 1, sel);
  int32_t a[] = {-5, 7};
  float o[2];
  int64_t sizes[] = {2};
  cr_assert_eq(ir_interpret(ctx, f, sizes, (void *[]){a, o}), 0);
  cr_expect_eq(o[0], 1.0f);
  cr_expect_eq(o[1], 7.0f);
  int32_t a3[] = {-5, 7, 1};
  float o3[3];
  sizes[0] = 3;
  cr_expect_neq(ir_interpret(ctx, f, sizes, (void *[]){a3, o3}), 0);
  aotc_clear_diags(ctx);
}

Test(ir, interp_reduce_without_init_accumulates)
{
  ir_func *f = build_matmul(ctx);
  f->stmts[0]->init = false;
  float a[] = {1, 2}, b[] = {3, 4}, c[] = {10};
  int64_t sizes[] = {1, 2, 1};
  cr_assert_eq(ir_interpret(ctx, f, sizes, (void *[]){a, b, c}), 0);
  cr_expect_eq(c[0], 21);
}

/* ------------------------------------------------------------------------
 * Size binding and shapes
 * ------------------------------------------------------------------------ */

Test(ir, bind_sizes_matmul)
{
  ir_func *f = build_matmul(ctx);
  int64_t sa[] = {3, 4}, sb[] = {4, 5}, sizes[3];
  const int64_t *shapes[] = {sa, sb};
  cr_assert(ir_bind_sizes(ctx, f, shapes, (int[]){2, 2}, sizes));
  cr_expect_eq(sizes[0], 3);
  cr_expect_eq(sizes[1], 4);
  cr_expect_eq(sizes[2], 5);
  int64_t shape[2];
  cr_assert(ir_tensor_shape(f, 2, sizes, shape));
  cr_expect_eq(shape[0], 3);
  cr_expect_eq(shape[1], 5);
  cr_expect_eq(ir_tensor_numel(f, 2, sizes), 15);
  int64_t huge[] = {INT64_MAX / 2, 4, 3};
  cr_expect_eq(ir_tensor_numel(f, 0, huge), -1);
  int64_t neg[] = {-1, 4, 3};
  cr_expect_eq(ir_tensor_numel(f, 0, neg), -1);
}

static void expect_bind_error(const ir_func *f, const int64_t *const *shapes, const int *ranks, const char *what)
{
  int64_t sizes[8];
  cr_expect_not(ir_bind_sizes(ctx, f, shapes, ranks, sizes), "%s accepted", what);
  cr_expect_geq(ctx->n_errors, 1, "%s: no error", what);
  cr_expect(ctx->n_errors && strstr(ctx->diags[0].msg, what) != NULL, "'%s' not in: %s", what,
            ctx->n_errors ? ctx->diags[0].msg : "");
  aotc_clear_diags(ctx);
}

Test(ir, bind_sizes_errors)
{
  ir_func *f = build_matmul(ctx);
  int64_t sa[] = {3, 4}, sb[] = {4, 5}, sb_bad[] = {6, 5}, sa3[] = {3, 4, 1};
  expect_bind_error(f, (const int64_t *[]){sa3, sb}, (int[]){3, 2}, "rank");
  expect_bind_error(f, (const int64_t *[]){sa, sb_bad}, (int[]){2, 2}, "'K'");
  int c = add_tensor(ctx, f, "Z", IR_F32, IR_INPUT, 2, (int[]){3, 7});
  (void)c;
  int64_t sz_ok[] = {3, 7}, sz_bad[] = {3, 8};
  int64_t sizes[3];
  cr_expect(ir_bind_sizes(ctx, f, (const int64_t *[]){sa, sb, sz_ok}, (int[]){2, 2, 2}, sizes));
  expect_bind_error(f, (const int64_t *[]){sa, sb, sz_bad}, (int[]){2, 2, 2}, "dimension 1 of input 'Z'");
}

Test(ir, bind_sizes_unbound_parameter)
{
  static const char *const params[] = {"N", "P"};
  ir_func *f = func_new(ctx, "f", 2, params);
  int A = add_tensor(ctx, f, "A", IR_F32, IR_INPUT, 1, (int[]){P(0)});
  int s = add_tensor(ctx, f, "s", IR_F32, IR_INPUT, 0, NULL);
  int O = add_tensor(ctx, f, "O", IR_F32, IR_OUTPUT, 1, (int[]){P(1)});
  (void)A, (void)s, (void)O;
  int64_t sa[] = {4};
  expect_bind_error(f, (const int64_t *[]){sa, NULL}, (int[]){1, 0}, "'P'");
  f->tensors[O]->shape[0] = ir_size_param(ctx, 0);
  f->n_params = 1;
  int64_t sizes[2];
  cr_expect(ir_bind_sizes(ctx, f, (const int64_t *[]){sa, NULL}, (int[]){1, 0}, sizes));
  cr_expect_eq(sizes[0], 4);
}

/* ------------------------------------------------------------------------
 * Verifier
 * ------------------------------------------------------------------------ */

Test(ir, verify_accepts_matmul)
{
  cr_expect(ir_verify(ctx, build_matmul(ctx)));
  cr_expect_eq(ctx->n_errors, 0);
}

static void expect_verify_error(const ir_func *f, const char *what)
{
  cr_expect_not(ir_verify(ctx, f), "%s accepted", what);
  cr_expect(ctx->n_errors && strstr(ctx->diags[0].msg, what) != NULL, "'%s' not in: %s", what,
            ctx->n_errors ? ctx->diags[0].msg : "");
  aotc_clear_diags(ctx);
}

Test(ir, verify_catches_broken_ir)
{
  ir_func *f = build_matmul(ctx);
  ir_expr *rhs = f->stmts[0]->rhs;
  rhs->args[0]->n_args = 1;
  expect_verify_error(f, "1 operands, expected 2");
  rhs->args[0]->n_args = 2;
  f->stmts[0]->tensor = 0;
  expect_verify_error(f, "read-only");
  f->stmts[0]->tensor = 2;
  rhs->args[1]->args[0]->index = 3;
  expect_verify_error(f, "index variable 3");
  rhs->args[1]->args[0]->index = 2;
  rhs->op = IR_LT;
  expect_verify_error(f, "not bool");
  rhs->op = IR_MUL;
  f->stmts[0]->lhs[1] = 0;
  expect_verify_error(f, "left-hand side entry 1");
  f->stmts[0]->lhs[1] = 1;
  f->stmts[0]->index[2].hi = NULL;
  expect_verify_error(f, "bad range");
  f->stmts[0]->index[2].hi = ir_size_param(ctx, 1);
  f->stmts[0]->red = IR_RED_NONE;
  f->stmts[0]->init = false;
  expect_verify_error(f, "no reduction operator");
  f->stmts[0]->red = IR_RED_ADD;
  cr_expect(ir_verify(ctx, f));
}

Test(ir, interp_refuses_broken_ir)
{
  ir_func *f = build_matmul(ctx);
  f->stmts[0]->rhs->args[0]->n_args = 3;
  float a[1], b[1], c[1];
  int64_t sizes[] = {1, 1, 1};
  cr_expect_neq(ir_interpret(ctx, f, sizes, (void *[]){a, b, c}), 0);
  aotc_clear_diags(ctx);
}

/* ------------------------------------------------------------------------
 * Printer
 * ------------------------------------------------------------------------ */

static char *print_to_string(void (*print)(FILE *, const ir_func *), const ir_func *f)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  print(out, f);
  fclose(out);
  return buf;
}

Test(ir, print_ranges_matmul)
{
  ir_func *f = build_matmul(ctx);
  add_tensor(ctx, f, "alpha", IR_F64, IR_INPUT, 0, NULL);
  char *text = print_to_string(ir_print_ranges, f);
  cr_expect_str_eq(text, "def matmul\n"
                         "  tensor A: input float(M, K)\n"
                         "  tensor B: input float(K, N)\n"
                         "  tensor C: output float(M, N)\n"
                         "  tensor alpha: input double()\n"
                         "  stmt 0: C(m, n) +=! A(m, r_k) * B(r_k, n)\n"
                         "    m in 0:M\n"
                         "    n in 0:N\n"
                         "    r_k in 0:K (reduction)\n");
  free(text);
}

Test(ir, print_func_matmul)
{
  ir_func *f = build_matmul(ctx);
  char *text = print_to_string(ir_print_func, f);
  cr_expect_str_eq(text, "def matmul(float(M, K) A, float(K, N) B) -> (float(M, N) C) {\n"
                         "  C(m, n) +=! A(m, r_k) * B(r_k, n) where r_k in 0:K\n"
                         "}\n");
  free(text);
}

static char *expr_to_string(const ir_func *f, const ir_stmt *s, const ir_expr *e)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  ir_print_expr(out, f, s, e);
  fclose(out);
  return buf;
}

Test(ir, print_expr_parentheses_and_literals)
{
  ir_func *f = build_matmul(ctx);
  ir_stmt *s = f->stmts[0];
  ir_expr *a = ex_acc_ix(ctx, f, 0, (int[]){0, 2});
  ir_expr *sum = ex_bin(ctx, IR_ADD, IR_F32, a, ex_float(ctx, IR_F32, 0.1));
  ir_expr *diff = ex_bin(ctx, IR_SUB, IR_F32, ex_float(ctx, IR_F32, 2.0), sum);
  ir_expr *prod = ex_bin(ctx, IR_MUL, IR_F32, diff, ex_call(ctx, IR_FN_FMAX, IR_F32, a, ex_float(ctx, IR_F32, -1.5)));
  ir_expr *neg = ir_expr_new(ctx, IR_UNARY, IR_F32, noloc, 1);
  neg->op = IR_NEG;
  neg->args[0] = prod;
  ir_expr *sel = ir_expr_new(ctx, IR_SELECT, IR_F32, noloc, 3);
  sel->args[0] = ex_bin(ctx, IR_LT, IR_BOOL, ex_index(ctx, 2), ex_int(ctx, IR_I64, 3));
  sel->args[1] = neg;
  sel->args[2] = ex_cast(ctx, IR_F32, ex_index(ctx, 1));
  a->padded = true;
  char *text = expr_to_string(f, s, sel);
  cr_expect_str_eq(text, "r_k < 3 ? -((2.0 - (padded(A(m, r_k)) + 0.1)) * fmax(padded(A(m, r_k)), -1.5)) : float(n)");
  free(text);
}

/* ------------------------------------------------------------------------
 * More interpreter corners: constants, unsigned extremes, compound shapes,
 * allocation failure
 * ------------------------------------------------------------------------ */

/* O(i) max=! W(i) with W a constant; U(i) min=! U64 identity; unsigned compare. */
Test(ir, interp_constant_and_unsigned)
{
  static const char *const params[] = {"N"};
  ir_func *f = func_new(ctx, "cu", 1, params);
  static const uint64_t wdata[] = {5, UINT64_MAX, 7};
  int W = add_tensor(ctx, f, "W", IR_U64, IR_CONSTANT, 1, (int[]){3});
  f->tensors[W]->data = wdata;
  int O = add_tensor(ctx, f, "O", IR_U64, IR_OUTPUT, 1, (int[]){P(0)});
  int B = add_tensor(ctx, f, "B", IR_BOOL, IR_OUTPUT, 1, (int[]){3});
  add_stmt(ctx, f, O, IR_RED_MIN, true, 2, (ix_spec[]){{"i", 0, P(0)}, {"r_j", 0, 3}}, 1,
           ex_acc_ix(ctx, f, W, (int[]){1}));
  add_stmt(ctx, f, B, IR_RED_NONE, false, 1, (ix_spec[]){{"i", 0, 3}}, 1,
           ex_bin(ctx, IR_GT, IR_BOOL, ex_acc_ix(ctx, f, W, (int[]){0}), ex_int(ctx, IR_U64, 6)));
  uint64_t o[2] = {0, 0};
  bool b[3];
  int64_t sizes[] = {2};
  cr_assert_eq(ir_interpret(ctx, f, sizes, (void *[]){o, b}), 0);
  cr_expect_eq(o[0], 5);
  cr_expect_eq(o[1], 5);
  cr_expect(!b[0] && b[1] && b[2]);
}

Test(ir, bind_sizes_compound_dimension)
{
  static const char *const params[] = {"N"};
  ir_func *f = func_new(ctx, "f", 1, params);
  add_tensor(ctx, f, "A", IR_F32, IR_INPUT, 1, (int[]){P(0)});
  int B = add_tensor(ctx, f, "B", IR_F32, IR_INPUT, 1, (int[]){0});
  f->tensors[B]->shape[0] = ir_size_bin(ctx, IR_SZ_ADD, ir_size_param(ctx, 0), ir_size_const(ctx, 2));
  int64_t sa[] = {4}, sb[] = {6}, sbad[] = {5}, sizes[1];
  cr_expect(ir_bind_sizes(ctx, f, (const int64_t *[]){sa, sb}, (int[]){1, 1}, sizes));
  expect_bind_error(f, (const int64_t *[]){sa, sbad}, (int[]){1, 1}, "dimension 0 of input 'B'");
}

static int allocs_left;

static void *failing_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
  (void)ud;
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (allocs_left-- <= 0)
    return NULL;
  return realloc(ptr, nsize);
}

/* Every allocation of a run with a temporary fails in turn: an error, no
 * crash, nothing leaked (under ASan). */
Test(ir, interp_allocation_failure)
{
  for (int budget = 0; budget < 8; budget++) {
    aotc_ctx *c = aotc_ctx_new(NULL, NULL);
    static const char *const params[] = {"N"};
    ir_func *f = func_new(c, "t", 1, params);
    int A = add_tensor(c, f, "A", IR_F32, IR_INPUT, 1, (int[]){P(0)});
    int O = add_tensor(c, f, "O", IR_F32, IR_OUTPUT, 1, (int[]){P(0)});
    int T = add_tensor(c, f, "T", IR_F32, IR_TEMP, 1, (int[]){P(0)});
    ix_spec ix[] = {{"i", 0, P(0)}};
    add_stmt(c, f, T, IR_RED_NONE, false, 1, ix, 1, ex_acc_ix(c, f, A, (int[]){0}));
    add_stmt(c, f, O, IR_RED_NONE, false, 1, ix, 1, ex_acc_ix(c, f, T, (int[]){0}));
    float a[] = {1, 2}, o[2] = {0, 0};
    int64_t sizes[] = {2};
    allocs_left = budget;
    c->alloc = failing_alloc;
    int rc = ir_interpret(c, f, sizes, (void *[]){a, o});
    cr_expect(rc != 0 || (o[0] == 1 && o[1] == 2), "budget %d", budget);
    aotc_ctx_free(c);
  }
}
