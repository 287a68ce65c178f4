/* test_tc.c: unit tests of the TC frontend: lexer, parser, semantic
 * analysis and range inference (inferred bounds are evaluated on sample
 * sizes and compared with hand-computed closed forms). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "tc_internal.h"

static aotc_ctx *ctx;

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
}

static void teardown(void)
{
  aotc_ctx_free(ctx);
  ctx = NULL;
}

static const aotc_source *source(const char *text)
{
  return aotc_add_source(ctx, "t.tc", text, strlen(text));
}

static ir_module *compile(const char *text)
{
  ir_module *m = tc_compile(ctx, source(text));
  if (!m && ctx->n_diags)
    cr_log_error("%d:%d: %s", ctx->diags[0].loc.line, ctx->diags[0].loc.col, ctx->diags[0].msg);
  return m;
}

static ir_func *compile1(const char *text)
{
  ir_module *m = compile(text);
  cr_assert_not_null(m);
  cr_assert_eq(m->n_funcs, 1);
  return m->funcs[0];
}

/* Expects one error at line:col whose message contains sub. */
static void expect_error(const char *text, int line, int col, const char *sub)
{
  ir_module *m = tc_compile(ctx, source(text));
  cr_assert_null(m);
  cr_assert_geq(ctx->n_errors, 1);
  const aotc_diag *d = &ctx->diags[0];
  cr_expect_eq(d->loc.line, line, "line %d, expected %d (%s)", d->loc.line, line, d->msg);
  cr_expect_eq(d->loc.col, col, "col %d, expected %d (%s)", d->loc.col, col, d->msg);
  cr_expect_not_null(strstr(d->msg, sub), "message '%s' lacks '%s'", d->msg, sub);
}

static int64_t eval(const ir_size *s, const int64_t *params)
{
  int64_t v = 0;
  cr_assert(ir_size_eval(s, params, &v), "size does not evaluate");
  return v;
}

static const ir_index *find_index(const ir_stmt *s, const char *name)
{
  for (int i = 0; i < s->n_index; i++)
    if (!strcmp(s->index[i].name, name))
      return &s->index[i];
  cr_assert_fail("no index %s", name);
  return NULL;
}

static void expect_range(const ir_stmt *s, const char *name, const int64_t *params, int64_t lo, int64_t hi)
{
  const ir_index *x = find_index(s, name);
  cr_expect_eq(eval(x->lo, params), lo, "%s: lo %lld, expected %lld", name, (long long)eval(x->lo, params),
               (long long)lo);
  cr_expect_eq(eval(x->hi, params), hi, "%s: hi %lld, expected %lld", name, (long long)eval(x->hi, params),
               (long long)hi);
}

static const ir_tensor *tensor(const ir_func *f, const char *name)
{
  int t = ir_func_find_tensor(f, name);
  cr_assert_geq(t, 0, "no tensor %s", name);
  return f->tensors[t];
}

TestSuite(tc_lexer, .init = setup, .fini = teardown);
TestSuite(tc_parser, .init = setup, .fini = teardown);
TestSuite(tc_sema, .init = setup, .fini = teardown);
TestSuite(tc_ranges, .init = setup, .fini = teardown);
TestSuite(tc_errors, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------------
 * Lexer
 * ------------------------------------------------------------------------ */

static tc_token *lex(const char *text)
{
  tc_token *t = tc_tokenize(ctx, source(text));
  cr_assert_not_null(t);
  return t;
}

static void expect_token(const tc_token *t, tc_token_kind kind, const char *text, int line, int col)
{
  cr_expect_eq(t->kind, kind, "kind of '%.*s'", t->len, t->text);
  cr_expect_eq((size_t)t->len, strlen(text), "'%.*s' vs '%s'", t->len, t->text, text);
  cr_expect(!strncmp(t->text, text, strlen(text)), "'%.*s' vs '%s'", t->len, t->text, text);
  cr_expect_eq(t->loc.line, line, "line of '%s'", text);
  cr_expect_eq(t->loc.col, col, "col of '%s'", text);
}

Test(tc_lexer, locations_and_kinds)
{
  tc_token *t = lex("def f # comment\n  C(m) +=! 1e-5\n");
  expect_token(&t[0], TC_TK_KEYWORD, "def", 1, 1);
  expect_token(&t[1], TC_TK_IDENT, "f", 1, 5);
  expect_token(&t[2], TC_TK_IDENT, "C", 2, 3);
  expect_token(&t[3], TC_TK_PUNCT, "(", 2, 4);
  expect_token(&t[5], TC_TK_PUNCT, ")", 2, 6);
  expect_token(&t[6], TC_TK_PUNCT, "+=!", 2, 8);
  expect_token(&t[7], TC_TK_FLOAT, "1e-5", 2, 12);
  cr_expect_float_eq(t[7].fval, 1e-5, 1e-12);
  cr_expect_eq(t[8].kind, TC_TK_EOF);
}

Test(tc_lexer, dimension_is_not_a_float)
{
  tc_token *t = lex("A.0 + B.12 * 1.5");
  expect_token(&t[0], TC_TK_IDENT, "A", 1, 1);
  expect_token(&t[1], TC_TK_PUNCT, ".", 1, 2);
  expect_token(&t[2], TC_TK_INT, "0", 1, 3);
  expect_token(&t[4], TC_TK_IDENT, "B", 1, 7);
  expect_token(&t[6], TC_TK_INT, "12", 1, 9);
  cr_expect_eq(t[6].ival, 12);
  expect_token(&t[8], TC_TK_FLOAT, "1.5", 1, 14);
}

Test(tc_lexer, reduction_operators)
{
  tc_token *t = lex("min=! max= *=! += min(a) x != y");
  expect_token(&t[0], TC_TK_PUNCT, "min=!", 1, 1);
  expect_token(&t[1], TC_TK_PUNCT, "max=", 1, 7);
  expect_token(&t[2], TC_TK_PUNCT, "*=!", 1, 12);
  expect_token(&t[3], TC_TK_PUNCT, "+=", 1, 16);
  expect_token(&t[4], TC_TK_IDENT, "min", 1, 19);
  expect_token(&t[9], TC_TK_PUNCT, "!=", 1, 28);
}

Test(tc_lexer, numbers)
{
  tc_token *t = lex("42 3.25 2e3 7.");
  cr_expect_eq(t[0].kind, TC_TK_INT);
  cr_expect_eq(t[0].ival, 42);
  cr_expect_float_eq(t[1].fval, 3.25, 1e-12);
  cr_expect_eq(t[2].kind, TC_TK_FLOAT);
  cr_expect_float_eq(t[2].fval, 2000.0, 1e-9);
  cr_expect_eq(t[3].kind, TC_TK_FLOAT);
  cr_expect_float_eq(t[3].fval, 7.0, 1e-12);
}

Test(tc_lexer, errors)
{
  cr_expect_null(tc_tokenize(ctx, aotc_add_source(ctx, "t.tc", "a\n b \0 c", 8)));
  cr_expect_eq(ctx->diags[0].loc.line, 2);
  cr_expect_eq(ctx->diags[0].loc.col, 4);
  cr_expect_null(tc_tokenize(ctx, source("x = 9223372036854775808")));
  cr_expect_not_null(strstr(ctx->diags[1].msg, "too large"));
  cr_expect_not_null(tc_tokenize(ctx, source("x = 9223372036854775807")));
}

/* ------------------------------------------------------------------------
 * Parser
 * ------------------------------------------------------------------------ */

static tc_program *parse(const char *text)
{
  tc_program *p = tc_parse(ctx, lex(text));
  cr_assert_not_null(p);
  return p;
}

Test(tc_parser, signature_and_statements)
{
  tc_program *p = parse("def f(float(M, 3) A, int32 s) -> (C, double(M) D) {\n"
                        "  C(i) max=! A(i, j) where j in 0:3;\n"
                        "  D(i) = x where x = C(i), exists A(i, 0)\n"
                        "}\n"
                        "def g(float(N) A) -> (B) { B(i) = A(i) }\n");
  cr_assert_eq(p->n_defs, 2);
  tc_def *d = &p->defs[0];
  cr_expect_str_eq(d->name, "f");
  cr_assert_eq(d->n_in, 2);
  cr_expect_eq(d->in[0].rank, 2);
  cr_expect_str_eq(d->in[0].dims[0].name, "M");
  cr_expect_null(d->in[0].dims[1].name);
  cr_expect_eq(d->in[0].dims[1].value, 3);
  cr_expect_eq(d->in[1].rank, 0);
  cr_expect_eq(d->in[1].type, IR_I32);
  cr_assert_eq(d->n_out, 2);
  cr_expect(!d->out[0].typed);
  cr_expect(d->out[1].typed);
  cr_expect_eq(d->out[1].type, IR_F64);
  cr_assert_eq(d->n_stmts, 2);
  cr_expect_eq(d->stmts[0].red, IR_RED_MAX);
  cr_expect(d->stmts[0].init);
  cr_expect_eq(d->stmts[0].n_where, 1);
  cr_expect_eq(d->stmts[0].where[0].kind, TC_W_RANGE);
  cr_expect_eq(d->stmts[1].n_where, 2);
  cr_expect_eq(d->stmts[1].where[0].kind, TC_W_BIND);
  cr_expect_eq(d->stmts[1].where[1].kind, TC_W_EXISTS);
}

Test(tc_parser, precedence)
{
  tc_program *p = parse("def f(float(N) A) -> (B) { B(i) = a || b && c == d < e + f * -g ? 1 : 2 }");
  tc_node *n = p->defs[0].stmts[0].rhs;
  cr_assert_eq(n->kind, TC_N_SELECT);
  n = n->args[0];
  cr_assert_eq(n->op, IR_OR);
  n = n->args[1];
  cr_assert_eq(n->op, IR_AND);
  n = n->args[1];
  cr_assert_eq(n->op, IR_EQ);
  n = n->args[1];
  cr_assert_eq(n->op, IR_LT);
  n = n->args[1];
  cr_assert_eq(n->op, IR_ADD);
  n = n->args[1];
  cr_assert_eq(n->op, IR_MUL);
  cr_assert_eq(n->args[1]->kind, TC_N_UNARY);
}

Test(tc_parser, left_associative_and_padded)
{
  tc_program *p = parse("def f(float(N) A) -> (B) { B(i) = A(i) - A.0 - padded(A(i - 1)) }");
  tc_node *n = p->defs[0].stmts[0].rhs;
  cr_assert_eq(n->op, IR_SUB);
  cr_expect(n->args[1]->padded);
  cr_expect_eq(n->args[0]->op, IR_SUB);
  cr_expect_eq(n->args[0]->args[1]->kind, TC_N_DIM);
  cr_expect_eq(n->args[0]->args[1]->ival, 0);
}

/* ------------------------------------------------------------------------
 * Semantic analysis
 * ------------------------------------------------------------------------ */

Test(tc_sema, matmul_roles_params_types)
{
  ir_func *f = compile1("def matmul(float(M, K) A, float(K, N) B, float alpha) -> (C) {\n"
                        "  C(m, n) +=! alpha * A(m, r_k) * B(r_k, n)\n"
                        "}\n");
  cr_assert_eq(f->n_params, 3);
  cr_expect_str_eq(f->param_names[0], "M");
  cr_expect_str_eq(f->param_names[1], "K");
  cr_expect_str_eq(f->param_names[2], "N");
  cr_assert_eq(f->n_inputs, 3);
  cr_expect_eq(tensor(f, "alpha")->rank, 0);
  cr_expect_eq(tensor(f, "alpha")->role, IR_INPUT);
  cr_assert_eq(f->n_outputs, 1);
  const ir_tensor *c = tensor(f, "C");
  cr_expect_eq(c->role, IR_OUTPUT);
  cr_expect_eq(c->type, IR_F32);
  cr_assert_eq(c->rank, 2);
  int64_t p[] = {5, 7, 9};
  cr_expect_eq(eval(c->shape[0], p), 5);
  cr_expect_eq(eval(c->shape[1], p), 9);
  ir_stmt *s = f->stmts[0];
  cr_expect_eq(s->red, IR_RED_ADD);
  cr_expect(s->init);
  cr_assert_eq(s->n_index, 3);
  cr_assert_eq(s->n_lhs, 2);
  cr_expect_str_eq(s->index[s->lhs[0]].name, "m");
  cr_expect_str_eq(s->index[s->lhs[1]].name, "n");
  cr_expect_str_eq(s->index[2].name, "r_k");
  cr_expect(s->index[2].reduction);
  cr_expect(!s->index[0].reduction);
  expect_range(s, "m", p, 0, 5);
  expect_range(s, "n", p, 0, 9);
  expect_range(s, "r_k", p, 0, 7);
  cr_expect_eq(s->rhs->type, IR_F32);
}

Test(tc_sema, param_order_across_outputs)
{
  ir_func *f = compile1("def f(float(M, K) A, float(K, N) B) -> (float(M, P) C) {\n"
                        "  C(i, j) = A(i, 0) where j in 0:P\n"
                        "}\n");
  cr_assert_eq(f->n_params, 4);
  cr_expect_str_eq(f->param_names[3], "P");
}

Test(tc_sema, weak_literals)
{
  ir_func *f = compile1("def f(double(N) X, int32(N) I) -> (A, B, C, D) {\n"
                        "  A(i) = X(i) * 2\n"
                        "  B(i) = I(i) * 2\n"
                        "  C(i) = I(i) * 1.5\n"
                        "  D(i) = X(i) + 1.5\n"
                        "}\n");
  cr_expect_eq(tensor(f, "A")->type, IR_F64);
  cr_expect_eq(tensor(f, "B")->type, IR_I32);
  cr_expect_eq(tensor(f, "C")->type, IR_F32);
  cr_expect_eq(tensor(f, "D")->type, IR_F64);
  ir_expr *lit = f->stmts[0]->rhs->args[1];
  cr_expect_eq(lit->kind, IR_CONST_FLOAT);
  cr_expect_eq(lit->type, IR_F64);
  cr_expect_float_eq(lit->fval, 2.0, 1e-12);
  lit = f->stmts[1]->rhs->args[1];
  cr_expect_eq(lit->kind, IR_CONST_INT);
  cr_expect_eq(lit->type, IR_I32);
  cr_expect_eq(f->stmts[2]->rhs->args[0]->kind, IR_CAST);
  cr_expect_eq(f->stmts[3]->rhs->args[1]->type, IR_F64);
}

Test(tc_sema, promotion_and_stored_conversion)
{
  ir_func *f = compile1("def f(int8(N) A, uint16(N) B, float(N) F) -> (int32(N) O, P) {\n"
                        "  O(i) = F(i) + A(i)\n"
                        "  P(i) = A(i) + B(i) > 3\n"
                        "}\n");
  ir_expr *rhs = f->stmts[0]->rhs;
  cr_expect_eq(rhs->kind, IR_CAST);
  cr_expect_eq(rhs->type, IR_I32);
  cr_expect_eq(rhs->args[0]->type, IR_F32);
  cr_expect_eq(rhs->args[0]->args[1]->kind, IR_CAST);
  cr_expect_eq(tensor(f, "P")->type, IR_BOOL);
  ir_expr *sum = f->stmts[1]->rhs->args[0];
  cr_expect_eq(sum->type, IR_U16);
}

Test(tc_sema, casts_sizes_builtins)
{
  ir_func *f = compile1("def f(float(M, N) A, int32(N) I) -> (O) {\n"
                        "  O(i, j) = A(i, j) / float(A.1) + exp(I(j)) + max(i, j) + sigmoid(1)\n"
                        "}\n");
  ir_expr *e = f->stmts[0]->rhs;
  cr_expect_eq(e->type, IR_F32);
  ir_expr *call = e->args[1];
  cr_expect_eq(call->kind, IR_CALL);
  cr_expect_eq(call->fn, IR_FN_SIGMOID);
  cr_expect_eq(call->type, IR_F32);
  ir_expr *div = e->args[0]->args[0]->args[0];
  cr_expect_eq(div->op, IR_DIV);
  cr_expect_eq(div->args[1]->kind, IR_CAST);
  cr_expect_eq(div->args[1]->args[0]->kind, IR_SIZE);
  cr_expect_eq(div->args[1]->args[0]->type, IR_I64);
  int64_t p[] = {4, 6};
  cr_expect_eq(eval(div->args[1]->args[0]->size, p), 6);
  ir_expr *ex = e->args[0]->args[0]->args[1];
  cr_expect_eq(ex->fn, IR_FN_EXP);
  cr_expect_eq(ex->type, IR_F32);
  cr_expect_eq(ex->args[0]->kind, IR_CAST);
}

Test(tc_sema, bindings_are_substituted)
{
  ir_func *f = compile1("def f(float(N) A) -> (O) {\n"
                        "  O(i) = y where x = A(i) * 2, y = x * x\n"
                        "}\n");
  ir_expr *e = f->stmts[0]->rhs;
  cr_assert_eq(e->kind, IR_BINARY);
  cr_expect_eq(e->op, IR_MUL);
  cr_expect_eq(e->args[0]->op, IR_MUL);
  cr_expect_eq(e->args[0]->args[0]->kind, IR_ACCESS);
  cr_expect_neq(e->args[0], e->args[1]);
  cr_expect_eq(f->stmts[0]->n_index, 1);
}

Test(tc_sema, temporaries_and_scalar_outputs)
{
  ir_func *f = compile1("def f(float(N) A) -> (O, s) {\n"
                        "  T(i) = A(i) * 2\n"
                        "  O(i) = T(i) + T(i + 1)\n"
                        "  s +=! A(k)\n"
                        "}\n");
  const ir_tensor *t = tensor(f, "T");
  cr_expect_eq(t->role, IR_TEMP);
  cr_expect_eq(f->n_tensors, 4);
  cr_expect_eq(f->tensors[3], t);
  int64_t p[] = {10};
  cr_expect_eq(eval(t->shape[0], p), 10);
  cr_expect_eq(eval(tensor(f, "O")->shape[0], p), 9);
  cr_expect_eq(tensor(f, "s")->rank, 0);
  cr_expect_eq(f->stmts[2]->n_lhs, 0);
  expect_range(f->stmts[2], "k", p, 0, 10);
}

Test(tc_sema, several_defs_indirect_indexing)
{
  ir_module *m = compile("def a(float(N) A) -> (B) { B(i) = A(i) }\n"
                         "def gather(float(N, R) LUT, int32(B, L) I) -> (O) {\n"
                         "  O(b, l, r) = LUT(I(b, l), r)\n"
                         "}\n");
  cr_assert_not_null(m);
  cr_assert_eq(m->n_funcs, 2);
  ir_func *f = ir_module_find(m, "gather");
  cr_assert_not_null(f);
  int64_t p[] = {100, 4, 3, 5};
  ir_stmt *s = f->stmts[0];
  expect_range(s, "b", p, 0, 3);
  expect_range(s, "l", p, 0, 5);
  expect_range(s, "r", p, 0, 4);
  cr_expect_eq(s->rhs->args[0]->kind, IR_ACCESS);
}

Test(tc_sema, module_is_null_on_error_in_any_def)
{
  cr_expect_null(tc_compile(ctx, source("def a(float(N) A) -> (B) { B(i) = A(i) }\n"
                                        "def b(float(N) A) -> (B) { B(i) = Q(i) }\n")));
  cr_expect_eq(ctx->n_errors, 1);
}

/* ------------------------------------------------------------------------
 * Range inference
 * ------------------------------------------------------------------------ */

Test(tc_ranges, convolution_two_rounds)
{
  ir_func *f = compile1("def conv1d(float(N) I, float(K) W) -> (O) {\n"
                        "  O(i) +=! I(i + k) * W(k)\n"
                        "}\n");
  for (int64_t n = 3; n < 12; n++)
    for (int64_t k = 1; k <= n; k++) {
      int64_t p[] = {n, k};
      expect_range(f->stmts[0], "k", p, 0, k);
      expect_range(f->stmts[0], "i", p, 0, n - k + 1);
      cr_expect_eq(eval(tensor(f, "O")->shape[0], p), n - k + 1);
    }
}

Test(tc_ranges, strides_offsets_and_negative_coefficients)
{
  ir_func *f = compile1("def f(float(N) I) -> (A, B, C, D) {\n"
                        "  A(i) = I(2 * i)\n"
                        "  B(i) = I(3 * i + 2)\n"
                        "  C(i) = I(N - 1 - i)\n"
                        "  D(i) = I(i - 1)\n"
                        "}\n");
  for (int64_t n = 3; n < 20; n++) {
    int64_t p[] = {n};
    expect_range(f->stmts[0], "i", p, 0, (n + 1) / 2);
    expect_range(f->stmts[1], "i", p, 0, (n - 3) / 3 + 1);
    expect_range(f->stmts[2], "i", p, 0, n);
    expect_range(f->stmts[3], "i", p, 1, n + 1);
    cr_expect_eq(eval(tensor(f, "D")->shape[0], p), n + 1);
  }
}

Test(tc_ranges, known_index_with_negative_coefficient)
{
  ir_func *f = compile1("def f(float(N) I, float(K) W) -> (O) {\n"
                        "  O(i) +=! I(i - k) * W(k)\n"
                        "}\n");
  for (int64_t n = 4; n < 12; n++)
    for (int64_t k = 1; k < n; k++) {
      int64_t p[] = {n, k};
      expect_range(f->stmts[0], "i", p, k - 1, n);
    }
}

Test(tc_ranges, intersection_of_reads)
{
  ir_func *f = compile1("def f(float(N) A, float(M) B) -> (O) {\n"
                        "  O(i) = A(i) + B(i + 1)\n"
                        "}\n");
  for (int64_t n = 1; n < 8; n++)
    for (int64_t m = 1; m < 8; m++) {
      int64_t p[] = {n, m};
      expect_range(f->stmts[0], "i", p, 0, n < m - 1 ? n : m - 1);
    }
}

Test(tc_ranges, explicit_where_exists_and_lhs_fallback)
{
  ir_func *f = compile1("def f(float(N, M) A) -> (float(N) O, P, Q) {\n"
                        "  O(i) = 1.0\n"
                        "  P(i, j) = 0 where exists A(i, j + 1)\n"
                        "  Q(i) = A(i, 0) where i in 1:A.0 - 1\n"
                        "}\n");
  int64_t p[] = {6, 9};
  expect_range(f->stmts[0], "i", p, 0, 6);
  expect_range(f->stmts[1], "i", p, 0, 6);
  expect_range(f->stmts[1], "j", p, 0, 8);
  expect_range(f->stmts[2], "i", p, 1, 5);
  cr_expect(find_index(f->stmts[2], "i")->explicit_range);
  cr_expect(!find_index(f->stmts[1], "j")->explicit_range);
  cr_expect_eq(tensor(f, "P")->type, IR_I32);
}

Test(tc_ranges, padded_reads_come_last)
{
  ir_func *f = compile1("def conv_pad1(float(N, C, H, W) I, float(F, C, 3, 3) Wt) -> (O) {\n"
                        "  O(n, f, h, w) +=! padded(I(n, c, h + kh - 1, w + kw - 1)) * Wt(f, c, kh, kw)\n"
                        "    where h in 0:H, w in 0:W\n"
                        "}\n");
  int64_t p[] = {2, 3, 8, 7, 5};
  ir_stmt *s = f->stmts[0];
  expect_range(s, "n", p, 0, 2);
  expect_range(s, "f", p, 0, 5);
  expect_range(s, "h", p, 0, 8);
  expect_range(s, "w", p, 0, 7);
  expect_range(s, "c", p, 0, 3);
  expect_range(s, "kh", p, 0, 3);
  cr_expect(s->rhs->args[0]->padded);
  cr_expect_eq(eval(tensor(f, "O")->shape[3], p), 7);
}

Test(tc_ranges, writes_start_at_zero)
{
  ir_func *f = compile1("def f(float(N) A) -> (O) {\n"
                        "  O(i) = A(i + 2)\n"
                        "}\n");
  for (int64_t n = 2; n < 8; n++) {
    int64_t p[] = {n};
    expect_range(f->stmts[0], "i", p, 0, n - 2);
  }
}

Test(tc_ranges, output_shape_is_max_over_writes)
{
  ir_func *f = compile1("def f(float(N) A, float(M) B) -> (O) {\n"
                        "  O(i) = A(i)\n"
                        "  O(i) += B(i)\n"
                        "}\n");
  int64_t p1[] = {3, 8}, p2[] = {9, 2};
  cr_expect_eq(eval(tensor(f, "O")->shape[0], p1), 8);
  cr_expect_eq(eval(tensor(f, "O")->shape[0], p2), 9);
}

Test(tc_ranges, simplified_bounds_are_affine_sums)
{
  ir_func *f = compile1("def f(float(N) I, float(K) W) -> (O) { O(i) +=! I(i + k) * W(k) }");
  ir_size *hi = f->stmts[0]->index[0].hi;
  ir_size expect_n = {IR_SZ_PARAM, 0, NULL, NULL}, expect_k = {IR_SZ_PARAM, 1, NULL, NULL};
  ir_size diff = {IR_SZ_SUB, 0, &expect_n, &expect_k}, one = {IR_SZ_CONST, 1, NULL, NULL};
  ir_size sum = {IR_SZ_ADD, 0, &diff, &one};
  cr_expect(ir_size_equal(hi, &sum));
}

/* ------------------------------------------------------------------------
 * Errors and robustness
 * ------------------------------------------------------------------------ */

Test(tc_errors, locations)
{
  expect_error("def f(float(N) A) -> (B) {\n  B(i) = A(i, j)\n}\n", 2, 10, "has rank 1 but is accessed with 2");
}

Test(tc_errors, reduction_needs_operator)
{
  expect_error("def f(float(N, M) A) -> (B) {\n  B(i) = A(i, j)\n}\n", 2, 15, "reduction operator");
}

Test(tc_errors, write_to_input)
{
  expect_error("def f(float(N) A) -> (B) {\n  B(i) = A(i)\n  A(i) = 0\n}\n", 3, 3, "cannot write to input 'A'");
}

Test(tc_errors, cannot_infer)
{
  expect_error("def f(float(N) A) -> (B) {\n  B(i) +=! A(i + k)\n}\n", 2, 5, "add a 'where i in LO:HI' clause");
}

Test(tc_errors, size_conflict)
{
  expect_error("def f(float(N) A) -> (float(M) B) {\n  B(i) = A(i)\n}\n", 2, 5, "size conflict");
}

Test(tc_errors, type_error_on_index)
{
  expect_error("def f(float(N) A) -> (B) {\n  B(i) = A(A(i))\n}\n", 2, 12, "must be an integer, not float");
}

Test(tc_errors, output_never_written)
{
  expect_error("def f(float(N) A) -> (B, C) {\n  B(i) = A(i)\n}\n", 1, 26, "output 'C' is never written");
}

Test(tc_errors, deep_nesting_is_an_error_not_a_crash)
{
  size_t n = 100000;
  char *text = malloc(3 * n + 64);
  strcpy(text, "def f(float(N) A) -> (B) { B(i) = ");
  size_t len = strlen(text);
  memset(text + len, '(', n);
  strcpy(text + len + n, "A(i)");
  memset(text + len + n + 4, ')', n);
  strcpy(text + len + 2 * n + 4, " }");
  cr_expect_null(tc_compile(ctx, source(text)));
  cr_expect_not_null(strstr(ctx->diags[0].msg, "nested too deeply"));
  free(text);
}

Test(tc_errors, binding_blowup_is_bounded)
{
  char text[4096] = "def f(float(N) A) -> (B) { B(i) = x40 where x0 = A(i)";
  for (int i = 1; i <= 40; i++)
    sprintf(text + strlen(text), ", x%d = x%d + x%d", i, i - 1, i - 1);
  strcat(text, " }");
  cr_expect_null(tc_compile(ctx, source(text)));
  cr_expect_not_null(strstr(ctx->diags[0].msg, "too large"));
}

typedef struct failing {
  long left;
} failing;

static void *failing_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
  failing *f = ud;
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (f->left-- <= 0)
    return NULL;
  return realloc(ptr, nsize);
}

Test(tc_errors, out_of_memory_never_crashes)
{
  static const char text[] = "def matmul(float(M, K) A, float(K, N) B) -> (C) {\n"
                             "  C(m, n) +=! A(m, r_k) * B(r_k, n)\n"
                             "}\n";
  for (long n = 2; n < 12; n++) {
    failing fa = {n};
    aotc_ctx *c = aotc_ctx_new(failing_alloc, &fa);
    if (!c)
      continue;
    const aotc_source *src = aotc_add_source(c, "t.tc", text, sizeof text - 1);
    ir_module *m = src ? tc_compile(c, src) : NULL;
    cr_expect(m == NULL || !c->oom);
    aotc_ctx_free(c);
  }
}

Test(tc_errors, unused_binding_is_a_warning)
{
  cr_expect_not_null(compile("def f(float(N) A) -> (B) { B(i) = A(i) where x = A(i + 1) }"));
  cr_assert_eq(ctx->n_diags, 1);
  cr_expect_eq(ctx->diags[0].severity, AOTC_WARNING);
  cr_expect_eq(ctx->diags[0].loc.col, 46);
  cr_expect_not_null(strstr(ctx->diags[0].msg, "never used"));
}

Test(tc_errors, binding_used_before_definition)
{
  expect_error("def f(float(N) A) -> (B) {\n  B(i) = x where x = y + 1, y = A(i)\n}\n", 2, 22,
               "binding 'y' is used in its own definition or before it");
}

Test(tc_sema, small_forms)
{
  ir_func *f = compile1("def f(float(N) A, int64 k) -> (s, int64(N) O) {\n"
                        "  s +=! A(r);; O(i) = 5 + k # trailing comment\n"
                        "  O(i) += 1 where exists A(i + 1)\n"
                        "}");
  int64_t p[] = {6};
  cr_expect_eq(f->stmts[1]->rhs->args[0]->type, IR_I64);
  expect_range(f->stmts[1], "i", p, 0, 6);
  expect_range(f->stmts[2], "i", p, 0, 5);
}
