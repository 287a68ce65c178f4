/* test_torchscript_code.c: Criterion unit tests of the TorchScript code
 * reader: every code file of every fixture parses, a snippet in the style
 * torch writes gives the expected tree with file:line:col on its nodes,
 * and malformed code gives one error at the expected place, printed with
 * the line and a caret. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../torchscript/zipwrite.h"
#include "ts.h"

#ifndef TS_FIXTURE_DIR
#define TS_FIXTURE_DIR "tests/torchscript/fixtures"
#endif

#define CODE_NAME "m.pt:code/__torch__.py"

static char *diags_text(const aotc_ctx *ctx)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  aotc_print_diags(ctx, f);
  fclose(f);
  return buf;
}

static ts_code_file *parse(aotc_ctx *ctx, const char *code)
{
  return ts_parse_code(ctx, CODE_NAME, code, strlen(code));
}

/* ------------------------------------------------------------------------
 * Fixtures
 * ------------------------------------------------------------------------ */

static const char *const fixture_archives[] = {
    "mlp_traced", "mlp_frozen", "cnn_traced", "cnn_frozen", "transformer_traced", "transformer_frozen",
    "loop_scripted", "loop_frozen", "tensors_scripted", "reuse_traced", "attrs_scripted"};

/* Every class has a forward; every top-level statement is a class or a def. */
static void expect_well_formed(const ts_archive *a, const char *what)
{
  for (int c = 0; c < a->n_classes; c++)
    cr_expect(ts_class_method(a->classes[c], "forward"), "%s: %s has no forward", what, a->classes[c]->qualname);
  for (int f = 0; f < a->n_files; f++)
    for (int s = 0; s < a->files[f]->stmts.n; s++) {
      ts_node_kind k = a->files[f]->stmts.items[s]->kind;
      cr_expect(k == TS_N_CLASS || k == TS_N_DEF, "%s: %s holds a top-level %s", what, a->files[f]->path,
                ts_node_kind_names[k]);
    }
}

Test(ts_parse, every_fixture_code_file)
{
  static const char *const versions[] = {"torch-1.13", "torch-2.15"};
  for (int v = 0; v < 2; v++)
    for (size_t k = 0; k < sizeof(fixture_archives) / sizeof(fixture_archives[0]); k++) {
      char path[1024];
      snprintf(path, sizeof(path), "%s/%s/%s.pt", TS_FIXTURE_DIR, versions[v], fixture_archives[k]);
      size_t len;
      unsigned char *b = zw_read_file(path, &len);
      cr_assert(b, "cannot read %s", path);
      aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
      ts_archive *a = ts_archive_open(ctx, fixture_archives[k], b, len);
      cr_assert(a, "%s: %s", path, diags_text(ctx));
      cr_expect_gt(a->n_files, 0);
      expect_well_formed(a, path);
      free(b);
      aotc_ctx_free(ctx);
    }
}

Test(ts_parse, scripted_loop_has_its_control_flow)
{
  char path[1024];
  snprintf(path, sizeof(path), "%s/torch-1.13/loop_scripted.pt", TS_FIXTURE_DIR);
  size_t len;
  unsigned char *b = zw_read_file(path, &len);
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ts_archive *a = ts_archive_open(ctx, "loop_scripted.pt", b, len);
  cr_assert(a, "%s", diags_text(ctx));
  const ts_node *fwd = ts_class_method(a->root->cls, "forward");
  int fors = 0, ifs = 0, whiles = 0;
  for (int i = 0; i < fwd->body.n; i++) {
    fors += fwd->body.items[i]->kind == TS_N_FOR;
    ifs += fwd->body.items[i]->kind == TS_N_IF;
    whiles += fwd->body.items[i]->kind == TS_N_WHILE;
  }
  cr_expect(fors == 1 && ifs == 1 && whiles == 1, "for %d, if %d, while %d", fors, ifs, whiles);
  const ts_node *shift = ts_archive_function(a, "__torch__", "shift");
  cr_assert(shift, "the free function shift");
  cr_expect_eq(shift->items.n, 2);
  cr_expect_str_eq(shift->loc.src->name, "loop_scripted.pt:code/__torch__.py");
  free(b);
  aotc_ctx_free(ctx);
}

/* A submodule called twice: its class has forward and forward1, and the
 * root's forward calls both. */
Test(ts_parse, reused_module_has_forward1)
{
  char path[1024];
  snprintf(path, sizeof(path), "%s/torch-1.13/reuse_traced.pt", TS_FIXTURE_DIR);
  size_t len;
  unsigned char *b = zw_read_file(path, &len);
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ts_archive *a = ts_archive_open(ctx, "reuse_traced.pt", b, len);
  cr_assert(a, "%s", diags_text(ctx));
  const ts_attr *fc = ts_module_attr(a->root, "fc");
  cr_assert(fc && fc->kind == TS_ATTR_MODULE);
  cr_expect(strstr(fc->module->cls->qualname, "___torch_mangle_"), "%s", fc->module->cls->qualname);
  cr_expect(ts_class_method(fc->module->cls, "forward") && ts_class_method(fc->module->cls, "forward1"));
  const ts_node *ret = ts_class_method(a->root->cls, "forward")->body.items[2];
  cr_assert_eq(ret->kind, TS_N_RETURN);
  cr_expect(ret->lhs->kind == TS_N_CALL && !strcmp(ret->lhs->lhs->name, "forward1"));
  cr_expect_str_eq(ret->lhs->lhs->lhs->name, "fc");
  free(b);
  aotc_ctx_free(ctx);
}

/* ------------------------------------------------------------------------
 * The tree of a snippet written the way torch writes code
 * ------------------------------------------------------------------------ */

static const char snippet[] =
    "class Block(Module):\n"                                             /* 1 */
    "  __parameters__ = []\n"                                            /* 2 */
    "  __buffers__ = [\"running_mean\", ]\n"                             /* 3 */
    "  training : bool\n"                                                /* 4 */
    "  __annotations__[\"0\"] = __torch__.torch.nn.modules.conv.Conv2d\n" /* 5 */
    "  def forward(self: __torch__.Block,\n"                             /* 6 */
    "    x: Tensor,\n"                                                   /* 7 */
    "    k: int=2) -> Tuple[Tensor, Tensor]:\n"                          /* 8 */
    "    _0 = getattr(self, \"0\")\n"                                    /* 9 */
    "    q, k0, v, = torch.split(x, 64, 2)\n"                            /* 10 */
    "    y = torch.div(x, 2, rounding_mode=\"trunc\")  # comment\n"      /* 11 */
    "\n"                                                                 /* 12 */
    "    # a comment line\n"                                             /* 13 */
    "    for i in range(k):\n"                                           /* 14 */
    "      y = torch.add(y, CONSTANTS.c0, alpha=1)\n"                    /* 15 */
    "    if bool(torch.gt(torch.sum(y), 0)):\n"                          /* 16 */
    "      z = ops.prim.NumToTensor(torch.size(y, 0))\n"                 /* 17 */
    "    elif torch.eq(k, 3):\n"                                         /* 18 */
    "      z = -y\n"                                                     /* 19 */
    "    else:\n"                                                        /* 20 */
    "      z = y[0:2, :, -1]\n"                                          /* 21 */
    "    while torch.lt(k, 2):\n"                                        /* 22 */
    "      k = k + 1\n"                                                  /* 23 */
    "    return (z, [1, 2.5, \"s\\n\", True,\n"                          /* 24 */
    "      None], {\"a\": 1})\n";                                        /* 25 */

static void expect_loc(const ts_node *n, int line, int col)
{
  cr_expect(n->loc.line == line && n->loc.col == col, "%s at %d:%d, expected %d:%d", ts_node_kind_names[n->kind],
            n->loc.line, n->loc.col, line, col);
  cr_expect_str_eq(n->loc.src->name, CODE_NAME);
}

static const ts_node *class_of(const ts_code_file *f)
{
  cr_assert_eq(f->stmts.n, 1);
  const ts_node *c = f->stmts.items[0];
  cr_assert_eq(c->kind, TS_N_CLASS);
  cr_expect_str_eq(c->name, "Block");
  cr_expect(c->items.n == 1 && !strcmp(c->items.items[0]->name, "Module"));
  cr_assert_eq(c->body.n, 5);
  cr_expect_eq(c->body.items[2]->kind, TS_N_ANNASSIGN);
  cr_expect_str_eq(c->body.items[2]->rhs->name, "bool");
  cr_expect_eq(c->body.items[3]->items.items[0]->kind, TS_N_SUBSCRIPT);
  return c;
}

static const ts_node *forward_of(const ts_node *cls)
{
  const ts_node *d = cls->body.items[4];
  cr_assert_eq(d->kind, TS_N_DEF);
  expect_loc(d, 6, 3);
  cr_assert_eq(d->items.n, 3);
  cr_expect_str_eq(d->items.items[1]->name, "x");
  cr_expect_str_eq(d->items.items[1]->rhs->name, "Tensor");
  cr_expect(d->items.items[2]->extra->kind == TS_N_INT && d->items.items[2]->extra->i == 2);
  expect_loc(d->items.items[2], 8, 5);
  cr_expect(d->rhs->kind == TS_N_SUBSCRIPT && d->rhs->rhs->kind == TS_N_TUPLE);
  cr_assert_eq(d->body.n, 7);
  return d;
}

static void expect_assignments(const ts_node *const *s)
{
  const ts_node *unpack = s[1]->items.items[0];
  cr_expect(unpack->kind == TS_N_TUPLE && unpack->items.n == 3, "q, k0, v, = ...");
  cr_expect_str_eq(unpack->items.items[2]->name, "v");
  const ts_node *div = s[2]->lhs;
  cr_assert_eq(div->kind, TS_N_CALL);
  cr_expect(div->lhs->kind == TS_N_ATTR && !strcmp(div->lhs->name, "div"));
  const ts_node *kw = div->items.items[2];
  cr_expect(kw->kind == TS_N_KWARG && !strcmp(kw->name, "rounding_mode") && !strcmp(kw->lhs->name, "trunc"));
  expect_loc(kw, 11, 25);
  expect_loc(s[3], 14, 5);
}

static void expect_control_flow(const ts_node *const *s)
{
  const ts_node *loop = s[3], *branch = s[4];
  cr_expect(loop->kind == TS_N_FOR && !strcmp(loop->lhs->name, "i") && loop->rhs->kind == TS_N_CALL);
  const ts_node *add = loop->body.items[0]->lhs;
  expect_loc(add->items.items[1], 15, 34);
  cr_expect_str_eq(add->items.items[1]->name, "c0");
  cr_assert(branch->kind == TS_N_IF && branch->orelse.n == 1);
  const ts_node *elif = branch->orelse.items[0];
  cr_assert(elif->kind == TS_N_IF && elif->orelse.n == 1);
  expect_loc(elif, 18, 5);
  const ts_node *neg = elif->body.items[0]->lhs;
  cr_expect(neg->kind == TS_N_UNARY && !strcmp(neg->op, "-"));
  const ts_node *index = elif->orelse.items[0]->lhs->rhs;
  cr_assert(index->kind == TS_N_TUPLE && index->items.n == 3);
  cr_expect(index->items.items[0]->kind == TS_N_SLICE && index->items.items[0]->rhs->i == 2);
  cr_expect(index->items.items[1]->kind == TS_N_SLICE && !index->items.items[1]->lhs);
  cr_expect(index->items.items[2]->kind == TS_N_UNARY);
  cr_expect(s[5]->kind == TS_N_WHILE && s[5]->body.items[0]->lhs->kind == TS_N_BINARY);
}

static void expect_return(const ts_node *r)
{
  cr_assert(r->kind == TS_N_RETURN && r->lhs->kind == TS_N_TUPLE && r->lhs->items.n == 3);
  const ts_node *list = r->lhs->items.items[1], *dict = r->lhs->items.items[2];
  cr_assert(list->kind == TS_N_LIST && list->items.n == 5);
  cr_expect(list->items.items[1]->kind == TS_N_FLOAT && list->items.items[1]->f == 2.5);
  cr_expect(list->items.items[2]->str_len == 2 && !strcmp(list->items.items[2]->name, "s\n"));
  cr_expect(list->items.items[3]->kind == TS_N_TRUE && list->items.items[4]->kind == TS_N_NONE);
  expect_loc(list->items.items[4], 25, 7);
  cr_expect(dict->kind == TS_N_DICT && dict->items.n == 2);
}

Test(ts_parse, snippet_tree_and_locations)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ts_code_file *f = parse(ctx, snippet);
  cr_assert(f, "%s", diags_text(ctx));
  const ts_node *fwd = forward_of(class_of(f));
  const ts_node *const *s = (const ts_node *const *)fwd->body.items;
  expect_assignments(s);
  expect_control_flow(s);
  expect_return(s[6]);
  aotc_ctx_free(ctx);
}

Test(ts_parse, operators_by_precedence)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ts_code_file *f = parse(ctx, "x = a or not b and c == d + e * -f ** g\ny = a if b else c\nz = a is not None\n");
  cr_assert(f, "%s", diags_text(ctx));
  const ts_node *e = f->stmts.items[0]->lhs;
  cr_assert_eq(e->kind, TS_N_OR);
  const ts_node *and = e->rhs;
  cr_assert(and->kind == TS_N_AND && and->lhs->kind == TS_N_UNARY && !strcmp(and->lhs->op, "not"));
  const ts_node *eq = and->rhs;
  cr_assert(eq->kind == TS_N_BINARY && !strcmp(eq->op, "=="));
  const ts_node *sum = eq->rhs;
  cr_assert(!strcmp(sum->op, "+") && !strcmp(sum->rhs->op, "*"));
  const ts_node *neg = sum->rhs->rhs;
  cr_assert(neg->kind == TS_N_UNARY && !strcmp(neg->lhs->op, "**"));
  cr_expect_eq(f->stmts.items[1]->lhs->kind, TS_N_IFEXP);
  cr_expect_str_eq(f->stmts.items[2]->lhs->op, "is not");
  aotc_ctx_free(ctx);
}

/* A backslash continues a line; so does an open bracket; a semicolon
 * separates statements; tabs indent to multiples of 8; CRLF ends lines. */
Test(ts_parse, continuations_and_blanks)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  ts_code_file *f = parse(ctx, "x = a + \\\n  b; y = [1,\n\n 2]\r\nif x:\r\n\ty = 1\n        z = 2\n# end");
  cr_assert(f, "%s", diags_text(ctx));
  cr_assert_eq(f->stmts.n, 3);
  cr_expect_str_eq(f->stmts.items[0]->lhs->rhs->name, "b");
  expect_loc(f->stmts.items[0]->lhs->rhs, 2, 3);
  cr_expect_eq(f->stmts.items[1]->lhs->items.n, 2);
  cr_expect_eq(f->stmts.items[2]->body.n, 2);
  expect_loc(f->stmts.items[2]->body.items[1], 7, 9);
  aotc_ctx_free(ctx);
}

/* ------------------------------------------------------------------------
 * Malformed code: one error at file:line:col
 * ------------------------------------------------------------------------ */

typedef struct bad_code {
  const char *code;
  int line, col;
  const char *message;
} bad_code;

static const bad_code bad[] = {
    {"def f(x):\n  return x +\n", 2, 13, "expected an expression, found end of line"},
    {"x = 'abc\n", 1, 5, "unterminated string"},
    {"x = '''abc\n\n", 1, 5, "unterminated string"},
    {"if x:\n    y = 1\n  z = 2\n", 3, 3, "unindent does not match any outer indentation level"},
    {"x = 1\n  y = 2\n", 2, 3, "unexpected indentation"},
    {"x = f(1,\n  2\n", 1, 6, "'(' is never closed"},
    {"x = [1, 2)\n", 1, 10, "')' does not match '[' at line 1"},
    {"x = 1)\n", 1, 6, "unmatched ')'"},
    {"x = 1 $ 2\n", 1, 7, "unexpected character '$'"},
    {"x = 1 \x80 2\n", 1, 7, "unexpected byte 0x80"},
    {"x = 99999999999999999999\n", 1, 5, "integer constant '99999999999999999999' is out of range"},
    {"x = 1e999\n", 1, 5, "float constant '1e999' is out of range"},
    {"x = 12abc\n", 1, 5, "invalid number '12abc'"},
    {"x = '\\x4g'\n", 1, 9, "bad hexadecimal escape in a string"},
    {"def if(x):\n  return x\n", 1, 5, "expected a name, found 'if'"},
    {"f(a=1, 2)\n", 1, 8, "a positional argument follows a keyword argument"},
    {"f() = 1\n", 1, 2, "cannot assign to a call"},
    {"1 += 2\n", 1, 1, "cannot assign to a int"},
    {"def f(x)\n  return x\n", 1, 9, "expected ':', found end of line"},
    {"class A:\n", 2, 1, "expected an indented block, found end of file"},
    {"x = y.\n", 1, 7, "expected a name, found end of line"},
    {"for 1 in x:\n  pass\n", 1, 5, "cannot assign to a int"},
    {"else:\n  pass\n", 1, 1, "unexpected keyword 'else'"},
    {"x = (1 if 2)\n", 1, 12, "expected 'else', found ')'"},
    {"x = {1: 2, 3}\n", 1, 13, "expected ':', found '}'"},
};

static void expect_bad(const bad_code *b)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(parse(ctx, b->code), "parsed: %s", b->code);
  char *text = diags_text(ctx), want[256];
  snprintf(want, sizeof(want), CODE_NAME ":%d:%d: error: %s\n", b->line, b->col, b->message);
  cr_expect_eq(ctx->n_errors, 1, "%s", text);
  cr_expect(!strncmp(text, want, strlen(want)), "expected\n%sgot\n%s", want, text);
  free(text);
  aotc_ctx_free(ctx);
}

Test(ts_parse, malformed_code_at_file_line_col)
{
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    expect_bad(&bad[i]);
}

Test(ts_parse, nul_byte_and_caret)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(ts_parse_code(ctx, CODE_NAME, "x = 1\0\n", 7));
  char *text = diags_text(ctx);
  cr_expect_str_eq(text, CODE_NAME ":1:6: error: NUL byte in code\nx = 1\n     ^\n");
  free(text);
  aotc_ctx_free(ctx);
  ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(parse(ctx, "def f(x):\n  return x +\n"));
  text = diags_text(ctx);
  cr_expect_str_eq(text, CODE_NAME ":2:13: error: expected an expression, found end of line\n  return x +\n            ^\n");
  free(text);
  aotc_ctx_free(ctx);
}

static char *repeat(const char *head, char c, int n, const char *tail)
{
  size_t h = strlen(head), t = strlen(tail);
  char *s = malloc(h + (size_t)n + t + 1);
  memcpy(s, head, h);
  memset(s + h, c, (size_t)n);
  memcpy(s + h + n, tail, t + 1);
  return s;
}

Test(ts_parse, deep_nesting_is_an_error_not_a_crash)
{
  char *parens = repeat("x = ", '(', 100000, "1\n");
  char *minus = repeat("x = ", '-', 100000, "1\n");
  char *nots = repeat("x = ", '~', 100000, "1\n");
  char *sums = malloc(400000), *attrs = malloc(400000);
  strcpy(sums, "x = a");
  strcpy(attrs, "x = a");
  for (int i = 0; i < 50000; i++) {
    strcat(sums + 4 * i, " + a");
    strcat(attrs + 2 * i, ".b");
  }
  strcat(sums, "\n");
  strcat(attrs, "\n");
  const char *const inputs[] = {parens, minus, nots, sums, attrs};
  const char *const messages[] = {"brackets are nested too deeply (limit 200)", "code is nested too deeply (limit 200)",
                                  "code is nested too deeply (limit 200)", "code is nested too deeply (limit 200)",
                                  "code is nested too deeply (limit 200)"};
  for (int i = 0; i < 5; i++) {
    aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
    cr_expect_null(parse(ctx, inputs[i]));
    char *text = diags_text(ctx);
    cr_expect(strstr(text, messages[i]), "%s", text);
    free(text);
    aotc_ctx_free(ctx);
  }
  free(parens);
  free(minus);
  free(nots);
  free(sums);
  free(attrs);
}

Test(ts_parse, deep_blocks)
{
  size_t cap = 200000, n = 0;
  char *code = malloc(cap);
  for (int d = 0; d < 150; d++)
    n += (size_t)snprintf(code + n, cap - n, "%*sif x:\n", d, "");
  snprintf(code + n, cap - n, "%*spass\n", 150, "");
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  cr_expect_null(parse(ctx, code));
  char *text = diags_text(ctx);
  cr_expect(strstr(text, "nested too deeply"), "%s", text);
  free(text);
  free(code);
  aotc_ctx_free(ctx);
}
