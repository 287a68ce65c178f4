/* ts_parse.c: the recursive-descent parser of TorchScript code files, one
 * function per grammar rule with its EBNF above it and the cursor passed
 * explicitly (rest, tok) as in chibicc. It builds the syntax tree of ts.h,
 * every node carrying file:line:col in the archive's code file. The first
 * error is reported on the context and unwinds with longjmp (the tree
 * lives in the arena). */
#include "ts.h"

#include <setjmp.h>
#include <string.h>

#define MAX_DEPTH 200

typedef struct parser {
  aotc_ctx *ctx;
  int depth;
  jmp_buf fail;
} parser;

const char *const ts_node_kind_names[TS_N_KIND_COUNT] = {
    [TS_N_NAME] = "name",           [TS_N_INT] = "int",           [TS_N_FLOAT] = "float",
    [TS_N_STR] = "str",             [TS_N_TRUE] = "True",         [TS_N_FALSE] = "False",
    [TS_N_NONE] = "None",           [TS_N_ATTR] = "attribute",    [TS_N_CALL] = "call",
    [TS_N_SUBSCRIPT] = "subscript", [TS_N_SLICE] = "slice",       [TS_N_TUPLE] = "tuple",
    [TS_N_LIST] = "list",           [TS_N_DICT] = "dict",         [TS_N_UNARY] = "unary",
    [TS_N_BINARY] = "binary",       [TS_N_AND] = "and",           [TS_N_OR] = "or",
    [TS_N_IFEXP] = "if-expression", [TS_N_KWARG] = "keyword",     [TS_N_EXPR_STMT] = "expression",
    [TS_N_ASSIGN] = "assignment",   [TS_N_AUGASSIGN] = "augmented assignment",
    [TS_N_ANNASSIGN] = "annotated assignment",                    [TS_N_RETURN] = "return",
    [TS_N_IF] = "if",               [TS_N_FOR] = "for",           [TS_N_WHILE] = "while",
    [TS_N_WITH] = "with",           [TS_N_PASS] = "pass",         [TS_N_BREAK] = "break",
    [TS_N_CONTINUE] = "continue",   [TS_N_RAISE] = "raise",       [TS_N_ASSERT] = "assert",
    [TS_N_IMPORT] = "import",       [TS_N_DEF] = "def",           [TS_N_PARAM] = "parameter",
    [TS_N_CLASS] = "class",
};

static const char *const keywords[] = {
    "and",    "as",     "assert", "break", "class", "continue", "def",   "del",  "elif",   "else",  "except",
    "finally", "for",   "from",   "global", "if",   "import",   "in",    "is",   "lambda", "nonlocal", "not",
    "or",     "pass",   "raise",  "return", "try",  "while",    "with",  "yield", "True",  "False", "None",
};

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static _Noreturn void error_at(parser *p, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static _Noreturn void error_at(parser *p, ir_loc loc, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  aotc_vdiag(p->ctx, AOTC_ERROR, loc, fmt, ap);
  va_end(ap);
  longjmp(p->fail, 1);
}

#define error_tok(p, tok, ...) error_at((p), (tok)->loc, __VA_ARGS__)

static const char *describe(parser *p, const ts_token *tok)
{
  switch (tok->kind) {
  case TS_T_NEWLINE: return "end of line";
  case TS_T_INDENT: return "indentation";
  case TS_T_DEDENT: return "end of block";
  case TS_T_EOF: return "end of file";
  default: return ir_sprintf(p->ctx, "'%.*s'", tok->len > 40 ? 40 : tok->len, tok->text);
  }
}

static bool is_keyword(const ts_token *tok)
{
  for (size_t i = 0; tok->kind == TS_T_NAME && i < sizeof(keywords) / sizeof(keywords[0]); i++)
    if (ts_token_is(tok, keywords[i]))
      return true;
  return false;
}

static ts_token *skip(parser *p, ts_token *tok, const char *s)
{
  if (!ts_token_is(tok, s))
    error_tok(p, tok, "expected '%s', found %s", s, describe(p, tok));
  return tok->next;
}

static bool consume(ts_token **rest, ts_token *tok, const char *s)
{
  if (ts_token_is(tok, s)) {
    *rest = tok->next;
    return true;
  }
  *rest = tok;
  return false;
}

static ts_token *skip_kind(parser *p, ts_token *tok, ts_token_kind kind, const char *what)
{
  if (tok->kind != kind)
    error_tok(p, tok, "expected %s, found %s", what, describe(p, tok));
  return tok->next;
}

static const char *ident(parser *p, ts_token *tok)
{
  if (tok->kind != TS_T_NAME || is_keyword(tok))
    error_tok(p, tok, "expected a name, found %s", describe(p, tok));
  const char *s = ir_strndup(p->ctx, tok->text, (size_t)tok->len);
  if (!s)
    longjmp(p->fail, 1);
  return s;
}

static ts_node *new_node(parser *p, ts_node_kind kind, const ts_token *tok)
{
  ts_node *n = IR_NEW(p->ctx, ts_node);
  if (!n)
    longjmp(p->fail, 1);
  n->kind = kind;
  n->loc = tok->loc;
  return n;
}

bool ts_list_push(aotc_ctx *ctx, ts_node_list *list, ts_node *n)
{
  if (!ts_grow(ctx, (void **)&list->items, &list->cap, list->n + 1, sizeof(ts_node *)))
    return false;
  list->items[list->n++] = n;
  return true;
}

static void push(parser *p, ts_node_list *list, ts_node *n)
{
  if (!ts_list_push(p->ctx, list, n))
    longjmp(p->fail, 1);
}

static ts_node *binary(parser *p, const ts_token *tok, const char *op, ts_node *lhs, ts_node *rhs)
{
  ts_node *n = new_node(p, TS_N_BINARY, tok);
  n->op = op;
  n->lhs = lhs;
  n->rhs = rhs;
  return n;
}

/* Counts one level of nesting: of the C stack, and of the tree (a chain
 * such as a.b.c or a + b + c is as deep as it is long), so every walk of
 * the tree is bounded too. */
static void enter(parser *p, const ts_token *tok)
{
  if (++p->depth > MAX_DEPTH)
    error_tok(p, tok, "code is nested too deeply (limit %d)", MAX_DEPTH);
}

/* Leaves the levels a chain entered; returns n for the caller to pass on. */
static ts_node *leave(parser *p, int levels, ts_node *n)
{
  p->depth -= levels;
  return n;
}

/* True when tok can start an expression (after return, raise, ...). */
static bool starts_expr(const ts_token *tok)
{
  if (tok->kind == TS_T_NAME)
    return !is_keyword(tok) || ts_token_is(tok, "not") || ts_token_is(tok, "True") || ts_token_is(tok, "False") ||
           ts_token_is(tok, "None");
  if (tok->kind == TS_T_OP)
    return strchr("([{-+~", tok->text[0]) && tok->len == 1;
  return tok->kind == TS_T_INT || tok->kind == TS_T_FLOAT || tok->kind == TS_T_STR;
}

static ts_node *expr(parser *p, ts_token **rest, ts_token *tok);
static ts_node *exprlist(parser *p, ts_token **rest, ts_token *tok);
static ts_node *factor(parser *p, ts_token **rest, ts_token *tok);
static ts_node *or_test(parser *p, ts_token **rest, ts_token *tok);
static void block(parser *p, ts_token **rest, ts_token *tok, ts_node_list *body);
static ts_node *stmt(parser *p, ts_token **rest, ts_token *tok, ts_node_list *out);

/* ------------------------------------------------------------------------
 * Atoms
 * ------------------------------------------------------------------------ */

/* strings = STR+   (adjacent literals concatenate) */
static ts_node *strings(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = new_node(p, TS_N_STR, tok);
  size_t len = 0;
  for (ts_token *t = tok; t->kind == TS_T_STR; t = t->next)
    len += t->str_len;
  char *s = ir_alloc(p->ctx, len + 1);
  if (!s)
    longjmp(p->fail, 1);
  for (len = 0; tok->kind == TS_T_STR; tok = tok->next) {
    memcpy(s + len, tok->str, tok->str_len);
    len += tok->str_len;
  }
  n->name = s;
  n->str_len = len;
  *rest = tok;
  return n;
}

/* items = [expr ("," expr)* [","]] closing   (into list; *comma when a comma appeared) */
static void items(parser *p, ts_token **rest, ts_token *tok, ts_node_list *list, const char *closing, bool *comma)
{
  *comma = false;
  while (!ts_token_is(tok, closing)) {
    push(p, list, expr(p, &tok, tok));
    if (!consume(&tok, tok, ","))
      break;
    *comma = true;
  }
  *rest = skip(p, tok, closing);
}

/* paren = "(" [expr ("," expr)* [","]] ")"   (a tuple unless one item without a comma) */
static ts_node *paren(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = new_node(p, TS_N_TUPLE, tok);
  bool comma;
  items(p, rest, tok->next, &n->items, ")", &comma);
  return n->items.n == 1 && !comma ? n->items.items[0] : n;
}

/* dict = "{" [expr ":" expr ("," expr ":" expr)* [","]] "}" */
static ts_node *dict(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = new_node(p, TS_N_DICT, tok);
  tok = tok->next;
  while (!ts_token_is(tok, "}")) {
    push(p, &n->items, expr(p, &tok, tok));
    tok = skip(p, tok, ":");
    push(p, &n->items, expr(p, &tok, tok));
    if (!consume(&tok, tok, ","))
      break;
  }
  *rest = skip(p, tok, "}");
  return n;
}

static ts_node *constant(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = new_node(p, tok->kind == TS_T_INT ? TS_N_INT : TS_N_FLOAT, tok);
  n->i = tok->i;
  n->f = tok->f;
  *rest = tok->next;
  return n;
}

static ts_node *name_atom(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node_kind k = ts_token_is(tok, "True") ? TS_N_TRUE : ts_token_is(tok, "False") ? TS_N_FALSE
                   : ts_token_is(tok, "None")                                        ? TS_N_NONE
                                                                                     : TS_N_NAME;
  ts_node *n = new_node(p, k, tok);
  if (k == TS_N_NAME)
    n->name = ident(p, tok);
  *rest = tok->next;
  return n;
}

/* atom = NAME | INT | FLOAT | strings | "True" | "False" | "None" | paren
 *      | "[" [expr ("," expr)* [","]] "]" | dict */
static ts_node *atom(parser *p, ts_token **rest, ts_token *tok)
{
  if (tok->kind == TS_T_NAME)
    return name_atom(p, rest, tok);
  if (tok->kind == TS_T_INT || tok->kind == TS_T_FLOAT)
    return constant(p, rest, tok);
  if (tok->kind == TS_T_STR)
    return strings(p, rest, tok);
  if (ts_token_is(tok, "("))
    return paren(p, rest, tok);
  if (ts_token_is(tok, "{"))
    return dict(p, rest, tok);
  if (ts_token_is(tok, "[")) {
    ts_node *n = new_node(p, TS_N_LIST, tok);
    bool comma;
    items(p, rest, tok->next, &n->items, "]", &comma);
    return n;
  }
  error_tok(p, tok, "expected an expression, found %s", describe(p, tok));
}

/* ------------------------------------------------------------------------
 * Postfix: attributes, calls, subscripts
 * ------------------------------------------------------------------------ */

/* arg = NAME "=" expr | expr */
static ts_node *arg(parser *p, ts_token **rest, ts_token *tok)
{
  if (tok->kind == TS_T_NAME && ts_token_is(tok->next, "=")) {
    ts_node *n = new_node(p, TS_N_KWARG, tok);
    n->name = ident(p, tok);
    n->lhs = expr(p, rest, tok->next->next);
    return n;
  }
  return expr(p, rest, tok);
}

/* call = "(" [arg ("," arg)* [","]] ")" */
static ts_node *call(parser *p, ts_token **rest, ts_token *tok, ts_node *callee)
{
  ts_node *n = new_node(p, TS_N_CALL, tok);
  n->lhs = callee;
  tok = tok->next;
  while (!ts_token_is(tok, ")")) {
    ts_node *a = arg(p, &tok, tok);
    if (a->kind != TS_N_KWARG && n->items.n && n->items.items[n->items.n - 1]->kind == TS_N_KWARG)
      error_at(p, a->loc, "a positional argument follows a keyword argument");
    push(p, &n->items, a);
    if (!consume(&tok, tok, ","))
      break;
  }
  *rest = skip(p, tok, ")");
  return n;
}

/* slice_item = [expr] ":" [expr] [":" [expr]] | expr */
static ts_node *slice_item(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *lo = ts_token_is(tok, ":") ? NULL : expr(p, &tok, tok);
  if (!ts_token_is(tok, ":")) {
    *rest = tok;
    return lo;
  }
  ts_node *n = new_node(p, TS_N_SLICE, tok);
  n->lhs = lo;
  tok = tok->next;
  if (!ts_token_is(tok, ":") && !ts_token_is(tok, "]") && !ts_token_is(tok, ","))
    n->rhs = expr(p, &tok, tok);
  if (consume(&tok, tok, ":") && !ts_token_is(tok, "]") && !ts_token_is(tok, ","))
    n->extra = expr(p, &tok, tok);
  *rest = tok;
  return n;
}

/* subscript = "[" slice_item ("," slice_item)* [","] "]" */
static ts_node *subscript(parser *p, ts_token **rest, ts_token *tok, ts_node *value)
{
  ts_node *n = new_node(p, TS_N_SUBSCRIPT, tok), *index = new_node(p, TS_N_TUPLE, tok->next);
  tok = tok->next;
  bool comma = false;
  do {
    push(p, &index->items, slice_item(p, &tok, tok));
  } while ((comma = consume(&tok, tok, ",")) && !ts_token_is(tok, "]"));
  n->lhs = value;
  n->rhs = index->items.n == 1 && !comma ? index->items.items[0] : index;
  *rest = skip(p, tok, "]");
  return n;
}

/* postfix = atom ("." NAME | call | subscript)* */
static ts_node *postfix(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = atom(p, &tok, tok);
  for (int levels = 0;; levels++) {
    enter(p, tok);
    if (ts_token_is(tok, ".")) {
      ts_node *a = new_node(p, TS_N_ATTR, tok->next);
      a->lhs = n;
      a->name = ident(p, tok->next);
      n = a;
      tok = tok->next->next;
    } else if (ts_token_is(tok, "(")) {
      n = call(p, &tok, tok, n);
    } else if (ts_token_is(tok, "[")) {
      n = subscript(p, &tok, tok, n);
    } else {
      *rest = tok;
      return leave(p, levels + 1, n);
    }
  }
}

/* ------------------------------------------------------------------------
 * Operators, by precedence
 * ------------------------------------------------------------------------ */

/* power = postfix ["**" factor] */
static ts_node *power(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = postfix(p, &tok, tok);
  if (ts_token_is(tok, "**")) {
    ts_token *op = tok;
    return binary(p, op, "**", n, factor(p, rest, tok->next));
  }
  *rest = tok;
  return n;
}

/* factor = ("+" | "-" | "~") factor | power */
static ts_node *factor(parser *p, ts_token **rest, ts_token *tok)
{
  if (!ts_token_is(tok, "+") && !ts_token_is(tok, "-") && !ts_token_is(tok, "~"))
    return power(p, rest, tok);
  enter(p, tok);
  ts_node *n = new_node(p, TS_N_UNARY, tok);
  n->op = ir_strndup(p->ctx, tok->text, 1);
  n->lhs = factor(p, rest, tok->next);
  p->depth--;
  return n;
}

typedef ts_node *(*rule_fn)(parser *, ts_token **, ts_token *);

/* One left-associative level: next (op next)* for the operators in ops. */
static ts_node *left_assoc(parser *p, ts_token **rest, ts_token *tok, rule_fn next, const char *const *ops)
{
  ts_node *n = next(p, &tok, tok);
  for (int levels = 0;; levels++) {
    int k = 0;
    while (ops[k] && !ts_token_is(tok, ops[k]))
      k++;
    if (!ops[k]) {
      *rest = tok;
      return leave(p, levels, n);
    }
    ts_token *op = tok;
    enter(p, op);
    n = binary(p, op, ops[k], n, next(p, &tok, tok->next));
  }
}

/* term = factor (("*" | "/" | "//" | "%" | "@") factor)* */
static ts_node *term(parser *p, ts_token **rest, ts_token *tok)
{
  static const char *const ops[] = {"*", "/", "//", "%", "@", NULL};
  return left_assoc(p, rest, tok, factor, ops);
}

/* arith = term (("+" | "-") term)* */
static ts_node *arith(parser *p, ts_token **rest, ts_token *tok)
{
  static const char *const ops[] = {"+", "-", NULL};
  return left_assoc(p, rest, tok, term, ops);
}

/* shift = arith (("<<" | ">>") arith)* */
static ts_node *shift(parser *p, ts_token **rest, ts_token *tok)
{
  static const char *const ops[] = {"<<", ">>", NULL};
  return left_assoc(p, rest, tok, arith, ops);
}

/* bitand = shift ("&" shift)* */
static ts_node *bitand(parser *p, ts_token **rest, ts_token *tok)
{
  static const char *const ops[] = {"&", NULL};
  return left_assoc(p, rest, tok, shift, ops);
}

/* bitxor = bitand ("^" bitand)* */
static ts_node *bitxor(parser *p, ts_token **rest, ts_token *tok)
{
  static const char *const ops[] = {"^", NULL};
  return left_assoc(p, rest, tok, bitand, ops);
}

/* bitor = bitxor ("|" bitxor)* */
static ts_node *bitor(parser *p, ts_token **rest, ts_token *tok)
{
  static const char *const ops[] = {"|", NULL};
  return left_assoc(p, rest, tok, bitxor, ops);
}

/* The comparison operator at tok ("is not" and "not in" take two tokens); NULL if none. */
static const char *comp_op(ts_token **rest, ts_token *tok)
{
  static const char *const ops[] = {"==", "!=", "<=", ">=", "<", ">", "in", NULL};
  if (ts_token_is(tok, "is")) {
    bool not = ts_token_is(tok->next, "not");
    *rest = not ? tok->next->next : tok->next;
    return not ? "is not" : "is";
  }
  if (ts_token_is(tok, "not") && ts_token_is(tok->next, "in")) {
    *rest = tok->next->next;
    return "not in";
  }
  for (int k = 0; ops[k]; k++)
    if (ts_token_is(tok, ops[k])) {
      *rest = tok->next;
      return ops[k];
    }
  return NULL;
}

/* comparison = bitor (comp_op bitor)* */
static ts_node *comparison(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = bitor(p, &tok, tok);
  const char *op;
  ts_token *at = tok;
  int levels = 0;
  while ((op = comp_op(&tok, tok))) {
    enter(p, at);
    levels++;
    n = binary(p, at, op, n, bitor(p, &tok, tok));
    at = tok;
  }
  *rest = tok;
  return leave(p, levels, n);
}

/* not_test = "not" not_test | comparison */
static ts_node *not_test(parser *p, ts_token **rest, ts_token *tok)
{
  if (!ts_token_is(tok, "not"))
    return comparison(p, rest, tok);
  enter(p, tok);
  ts_node *n = new_node(p, TS_N_UNARY, tok);
  n->op = "not";
  n->lhs = not_test(p, rest, tok->next);
  p->depth--;
  return n;
}

/* and_test = not_test ("and" not_test)* */
static ts_node *and_test(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = not_test(p, &tok, tok);
  int levels = 0;
  for (; ts_token_is(tok, "and"); levels++) {
    enter(p, tok);
    ts_node *a = new_node(p, TS_N_AND, tok);
    a->lhs = n;
    a->rhs = not_test(p, &tok, tok->next);
    n = a;
  }
  *rest = tok;
  return leave(p, levels, n);
}

/* or_test = and_test ("or" and_test)* */
static ts_node *or_test(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = and_test(p, &tok, tok);
  int levels = 0;
  for (; ts_token_is(tok, "or"); levels++) {
    enter(p, tok);
    ts_node *o = new_node(p, TS_N_OR, tok);
    o->lhs = n;
    o->rhs = and_test(p, &tok, tok->next);
    n = o;
  }
  *rest = tok;
  return leave(p, levels, n);
}

/* expr = or_test ["if" or_test "else" expr] */
static ts_node *expr(parser *p, ts_token **rest, ts_token *tok)
{
  enter(p, tok);
  ts_node *n = or_test(p, &tok, tok);
  if (ts_token_is(tok, "if")) {
    ts_node *c = new_node(p, TS_N_IFEXP, tok);
    c->lhs = n;
    c->rhs = or_test(p, &tok, tok->next);
    tok = skip(p, tok, "else");
    c->extra = expr(p, &tok, tok);
    n = c;
  }
  p->depth--;
  *rest = tok;
  return n;
}

/* exprlist = expr ("," expr)* [","]   (a tuple when a comma appears) */
static ts_node *exprlist(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *first = expr(p, &tok, tok);
  if (!ts_token_is(tok, ",")) {
    *rest = tok;
    return first;
  }
  ts_node *t = new_node(p, TS_N_TUPLE, tok);
  push(p, &t->items, first);
  while (consume(&tok, tok, ",") && starts_expr(tok))
    push(p, &t->items, expr(p, &tok, tok));
  *rest = tok;
  return t;
}

/* ------------------------------------------------------------------------
 * Simple statements
 * ------------------------------------------------------------------------ */

static void check_target(parser *p, const ts_node *t)
{
  if (t->kind == TS_N_TUPLE || t->kind == TS_N_LIST) {
    for (int i = 0; i < t->items.n; i++)
      check_target(p, t->items.items[i]);
    return;
  }
  if (t->kind != TS_N_NAME && t->kind != TS_N_ATTR && t->kind != TS_N_SUBSCRIPT)
    error_at(p, t->loc, "cannot assign to a %s", ts_node_kind_names[t->kind]);
}

static const char *const aug_ops[] = {"+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=", "<<=", ">>=", NULL};

/* expr_stmt = exprlist (("=" exprlist)+ | augop expr | ":" expr ["=" exprlist])? */
static ts_node *expr_stmt(parser *p, ts_token **rest, ts_token *tok)
{
  ts_token *start = tok;
  ts_node *e = exprlist(p, &tok, tok);
  for (int k = 0; aug_ops[k]; k++)
    if (ts_token_is(tok, aug_ops[k])) {
      ts_node *n = new_node(p, TS_N_AUGASSIGN, start);
      check_target(p, e);
      n->op = ir_strndup(p->ctx, aug_ops[k], strlen(aug_ops[k]) - 1);
      push(p, &n->items, e);
      n->lhs = expr(p, rest, tok->next);
      return n;
    }
  if (ts_token_is(tok, ":")) {
    ts_node *n = new_node(p, TS_N_ANNASSIGN, start);
    check_target(p, e);
    push(p, &n->items, e);
    n->rhs = expr(p, &tok, tok->next);
    if (consume(&tok, tok, "="))
      n->extra = exprlist(p, &tok, tok);
    *rest = tok;
    return n;
  }
  if (!ts_token_is(tok, "=")) {
    ts_node *n = new_node(p, TS_N_EXPR_STMT, start);
    n->lhs = e;
    *rest = tok;
    return n;
  }
  ts_node *n = new_node(p, TS_N_ASSIGN, start);
  while (consume(&tok, tok, "=")) {
    check_target(p, e);
    push(p, &n->items, e);
    e = exprlist(p, &tok, tok);
  }
  n->lhs = e;
  *rest = tok;
  return n;
}

/* dotted = NAME ("." NAME)* */
static ts_token *dotted(parser *p, ts_token *tok)
{
  ident(p, tok);
  tok = tok->next;
  while (ts_token_is(tok, ".")) {
    ident(p, tok->next);
    tok = tok->next->next;
  }
  return tok;
}

/* import_stmt = "import" dotted ["as" NAME] | "from" dotted "import" NAME ("," NAME)* */
static ts_node *import_stmt(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = new_node(p, TS_N_IMPORT, tok);
  if (ts_token_is(tok, "import")) {
    tok = dotted(p, tok->next);
    if (consume(&tok, tok, "as")) {
      ident(p, tok);
      tok = tok->next;
    }
    *rest = tok;
    return n;
  }
  tok = skip(p, dotted(p, tok->next), "import");
  do {
    ident(p, tok);
    tok = tok->next;
  } while (consume(&tok, tok, ","));
  *rest = tok;
  return n;
}

/* keyword_stmt = "pass" | "break" | "continue" | "return" [exprlist]
 *              | "raise" [expr] | "assert" expr ["," expr] */
static ts_node *keyword_stmt(parser *p, ts_token **rest, ts_token *tok, ts_node_kind kind)
{
  ts_node *n = new_node(p, kind, tok);
  tok = tok->next;
  if ((kind == TS_N_RETURN || kind == TS_N_RAISE) && starts_expr(tok))
    n->lhs = kind == TS_N_RETURN ? exprlist(p, &tok, tok) : expr(p, &tok, tok);
  if (kind == TS_N_ASSERT) {
    n->lhs = expr(p, &tok, tok);
    if (consume(&tok, tok, ","))
      n->extra = expr(p, &tok, tok);
  }
  *rest = tok;
  return n;
}

static const struct {
  const char *word;
  ts_node_kind kind;
} simple_keywords[] = {
    {"pass", TS_N_PASS},     {"break", TS_N_BREAK}, {"continue", TS_N_CONTINUE},
    {"return", TS_N_RETURN}, {"raise", TS_N_RAISE}, {"assert", TS_N_ASSERT},
};

/* small_stmt = keyword_stmt | import_stmt | expr_stmt */
static ts_node *small_stmt(parser *p, ts_token **rest, ts_token *tok)
{
  for (size_t i = 0; i < sizeof(simple_keywords) / sizeof(simple_keywords[0]); i++)
    if (ts_token_is(tok, simple_keywords[i].word))
      return keyword_stmt(p, rest, tok, simple_keywords[i].kind);
  if (ts_token_is(tok, "import") || ts_token_is(tok, "from"))
    return import_stmt(p, rest, tok);
  if (is_keyword(tok) && !starts_expr(tok))
    error_tok(p, tok, "unexpected keyword %s", describe(p, tok));
  return expr_stmt(p, rest, tok);
}

/* simple_stmt = small_stmt (";" small_stmt)* [";"] NEWLINE */
static void simple_stmt(parser *p, ts_token **rest, ts_token *tok, ts_node_list *out)
{
  push(p, out, small_stmt(p, &tok, tok));
  while (consume(&tok, tok, ";") && tok->kind != TS_T_NEWLINE)
    push(p, out, small_stmt(p, &tok, tok));
  *rest = skip_kind(p, tok, TS_T_NEWLINE, "end of line");
}

/* ------------------------------------------------------------------------
 * Compound statements
 * ------------------------------------------------------------------------ */

/* block = simple_stmt | NEWLINE INDENT stmt+ DEDENT */
static void block(parser *p, ts_token **rest, ts_token *tok, ts_node_list *body)
{
  if (tok->kind != TS_T_NEWLINE) {
    simple_stmt(p, rest, tok, body);
    return;
  }
  enter(p, tok);
  tok = skip_kind(p, tok->next, TS_T_INDENT, "an indented block");
  while (tok->kind != TS_T_DEDENT)
    stmt(p, &tok, tok, body);
  p->depth--;
  *rest = tok->next;
}

/* if_stmt = ("if" | "elif") expr ":" block ("elif" ... | "else" ":" block)? */
static ts_node *if_stmt(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = new_node(p, TS_N_IF, tok);
  n->rhs = expr(p, &tok, tok->next);
  block(p, &tok, skip(p, tok, ":"), &n->body);
  if (ts_token_is(tok, "elif"))
    push(p, &n->orelse, if_stmt(p, &tok, tok));
  else if (consume(&tok, tok, "else"))
    block(p, &tok, skip(p, tok, ":"), &n->orelse);
  *rest = tok;
  return n;
}

/* target_list = postfix ("," postfix)* [","] */
static ts_node *target_list(parser *p, ts_token **rest, ts_token *tok)
{
  ts_token *start = tok;
  ts_node *first = postfix(p, &tok, tok);
  if (!ts_token_is(tok, ",")) {
    *rest = tok;
    return first;
  }
  ts_node *t = new_node(p, TS_N_TUPLE, start);
  push(p, &t->items, first);
  while (consume(&tok, tok, ",") && !ts_token_is(tok, "in"))
    push(p, &t->items, postfix(p, &tok, tok));
  *rest = tok;
  return t;
}

/* for_stmt = "for" target_list "in" exprlist ":" block */
static ts_node *for_stmt(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = new_node(p, TS_N_FOR, tok);
  n->lhs = target_list(p, &tok, tok->next);
  check_target(p, n->lhs);
  n->rhs = exprlist(p, &tok, skip(p, tok, "in"));
  block(p, rest, skip(p, tok, ":"), &n->body);
  return n;
}

/* while_stmt = "while" expr ":" block */
static ts_node *while_stmt(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = new_node(p, TS_N_WHILE, tok);
  n->rhs = expr(p, &tok, tok->next);
  block(p, rest, skip(p, tok, ":"), &n->body);
  return n;
}

/* with_stmt = "with" expr ["as" postfix] ":" block */
static ts_node *with_stmt(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = new_node(p, TS_N_WITH, tok);
  n->lhs = expr(p, &tok, tok->next);
  if (consume(&tok, tok, "as")) {
    n->extra = postfix(p, &tok, tok);
    check_target(p, n->extra);
  }
  block(p, rest, skip(p, tok, ":"), &n->body);
  return n;
}

/* param = NAME [":" expr] ["=" expr] */
static ts_node *param(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = new_node(p, TS_N_PARAM, tok);
  n->name = ident(p, tok);
  tok = tok->next;
  if (consume(&tok, tok, ":"))
    n->rhs = expr(p, &tok, tok);
  if (consume(&tok, tok, "="))
    n->extra = expr(p, &tok, tok);
  *rest = tok;
  return n;
}

/* def = "def" NAME "(" [param ("," param)* [","]] ")" ["->" expr] ":" block */
static ts_node *def(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = new_node(p, TS_N_DEF, tok);
  n->name = ident(p, tok->next);
  tok = skip(p, tok->next->next, "(");
  while (!ts_token_is(tok, ")")) {
    push(p, &n->items, param(p, &tok, tok));
    if (!consume(&tok, tok, ","))
      break;
  }
  tok = skip(p, tok, ")");
  if (consume(&tok, tok, "->"))
    n->rhs = expr(p, &tok, tok);
  block(p, rest, skip(p, tok, ":"), &n->body);
  return n;
}

/* class = "class" NAME ["(" [expr ("," expr)* [","]] ")"] ":" block */
static ts_node *class_def(parser *p, ts_token **rest, ts_token *tok)
{
  ts_node *n = new_node(p, TS_N_CLASS, tok);
  n->name = ident(p, tok->next);
  tok = tok->next->next;
  bool comma;
  if (ts_token_is(tok, "("))
    items(p, &tok, tok->next, &n->items, ")", &comma);
  block(p, rest, skip(p, tok, ":"), &n->body);
  return n;
}

/* stmt = if_stmt | for_stmt | while_stmt | with_stmt | def | class | simple_stmt */
static ts_node *stmt(parser *p, ts_token **rest, ts_token *tok, ts_node_list *out)
{
  static const struct {
    const char *word;
    ts_node *(*fn)(parser *, ts_token **, ts_token *);
  } compound[] = {{"if", if_stmt},     {"for", for_stmt}, {"while", while_stmt},
                  {"with", with_stmt}, {"def", def},      {"class", class_def}};
  if (tok->kind == TS_T_INDENT)
    error_tok(p, tok, "unexpected indentation");
  for (size_t i = 0; i < sizeof(compound) / sizeof(compound[0]); i++)
    if (ts_token_is(tok, compound[i].word)) {
      ts_node *n = compound[i].fn(p, rest, tok);
      push(p, out, n);
      return n;
    }
  simple_stmt(p, rest, tok, out);
  return out->items[out->n - 1];
}

/* file = stmt* EOF */
ts_code_file *ts_parse_code(aotc_ctx *ctx, const char *name, const char *text, size_t len)
{
  const aotc_source *src = aotc_add_source(ctx, name, text, len);
  ts_code_file *f = IR_NEW(ctx, ts_code_file);
  parser *p = IR_NEW(ctx, parser);
  ts_token *tok = src && f && p ? ts_tokenize(ctx, src) : NULL;
  if (!tok)
    return NULL;
  p->ctx = ctx;
  f->src = src;
  if (setjmp(p->fail))
    return NULL;
  while (tok->kind != TS_T_EOF)
    stmt(p, &tok, tok, &f->stmts);
  return f;
}
