/* parser.c: recursive-descent parser for TC, one function per grammar rule,
 * and tc_compile, the entry point of the frontend. Every rule takes the
 * parser state, the cursor to advance (`rest`) and the current token; it
 * returns NULL (or false) after reporting the first syntax error. */
#include "tc_internal.h"

#include <string.h>

typedef struct parser {
  aotc_ctx *ctx;
  int nesting;
} parser;

typedef struct reduction_op {
  const char *spelling;
  ir_reduction red;
  bool init;
} reduction_op;

static const reduction_op reduction_ops[] = {
    {"=", IR_RED_NONE, false},   {"+=", IR_RED_ADD, false},  {"*=", IR_RED_MUL, false},
    {"min=", IR_RED_MIN, false}, {"max=", IR_RED_MAX, false}, {"+=!", IR_RED_ADD, true},
    {"*=!", IR_RED_MUL, true},   {"min=!", IR_RED_MIN, true}, {"max=!", IR_RED_MAX, true},
};

typedef struct binary_level {
  const char *spelling[4];
  ir_op op[4];
} binary_level;

enum { LEVEL_OR, LEVEL_AND, LEVEL_EQUALITY, LEVEL_RELATIONAL, LEVEL_ADDITIVE, LEVEL_TERM, LEVEL_COUNT };

static const binary_level levels[LEVEL_COUNT] = {
    [LEVEL_OR] = {{"||"}, {IR_OR}},
    [LEVEL_AND] = {{"&&"}, {IR_AND}},
    [LEVEL_EQUALITY] = {{"==", "!="}, {IR_EQ, IR_NE}},
    [LEVEL_RELATIONAL] = {{"<", "<=", ">", ">="}, {IR_LT, IR_LE, IR_GT, IR_GE}},
    [LEVEL_ADDITIVE] = {{"+", "-"}, {IR_ADD, IR_SUB}},
    [LEVEL_TERM] = {{"*", "/", "%"}, {IR_MUL, IR_DIV, IR_MOD}},
};

static tc_node *expr(parser *P, tc_token **rest, tc_token *tok);
static tc_node *unary(parser *P, tc_token **rest, tc_token *tok);

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static void *syntax_error(parser *P, const tc_token *tok, const char *expected)
{
  if (tok->kind == TC_TK_EOF)
    aotc_error(P->ctx, tok->loc, "expected %s, found end of file", expected);
  else
    aotc_error(P->ctx, tok->loc, "expected %s, found '%.*s'", expected, tok->len > 40 ? 40 : tok->len,
               tok->text);
  return NULL;
}

static tc_token *next(tc_token *tok)
{
  return tok->kind == TC_TK_EOF ? tok : tok + 1;
}

/* Consumes the punctuator or keyword s, or reports that it was expected. */
static bool skip(parser *P, tc_token **rest, tc_token *tok, const char *s)
{
  if (tok->kind == TC_TK_IDENT || !tc_equal(tok, s)) {
    aotc_error(P->ctx, tok->loc, "expected '%s', found %s%.*s%s", s, tok->kind == TC_TK_EOF ? "end of file" : "'",
               tok->len > 40 ? 40 : tok->len, tok->text, tok->kind == TC_TK_EOF ? "" : "'");
    return false;
  }
  *rest = next(tok);
  return true;
}

/* Consumes s when it is the current token. */
static bool consume(tc_token **rest, tc_token *tok, const char *s)
{
  if (tok->kind == TC_TK_IDENT || !tc_equal(tok, s))
    return false;
  *rest = next(tok);
  return true;
}

static const char *ident(parser *P, tc_token **rest, tc_token *tok, const char *what)
{
  if (tok->kind != TC_TK_IDENT)
    return syntax_error(P, tok, what);
  *rest = next(tok);
  return ir_strndup(P->ctx, tok->text, (size_t)tok->len);
}

static bool is_type_name(const tc_token *tok)
{
  ir_type t;
  return tok->kind == TC_TK_IDENT && ir_type_from_name(tok->text, (size_t)tok->len, &t);
}

/* Copies a vector of pointers to structs into an array of structs. */
static void *vec_to_array(parser *P, const ir_vec *v, size_t elem)
{
  char *arr = ir_alloc(P->ctx, elem * (size_t)(v->n > 0 ? v->n : 1));
  if (!arr)
    return NULL;
  for (int i = 0; i < v->n; i++)
    memcpy(arr + elem * (size_t)i, v->items[i], elem);
  return arr;
}

static tc_node *new_node(parser *P, tc_node_kind kind, const tc_token *tok, int n_args)
{
  tc_node *n = IR_NEW(P->ctx, tc_node);
  if (!n)
    return NULL;
  n->kind = kind;
  n->loc = tok->loc;
  n->n_args = n_args;
  n->depth = 1;
  if (n_args > 0 && !(n->args = IR_NEW_ARRAY(P->ctx, tc_node *, n_args)))
    return NULL;
  return n;
}

/* Sets the depth of n from its arguments; false when the tree is too deep. */
static bool check_depth(parser *P, tc_node *n)
{
  for (int i = 0; i < n->n_args; i++)
    if (n->args[i]->depth + 1 > n->depth)
      n->depth = n->args[i]->depth + 1;
  if (n->depth <= TC_MAX_TREE_DEPTH)
    return true;
  aotc_error(P->ctx, n->loc, "expression nested too deeply (more than %d levels)", TC_MAX_TREE_DEPTH);
  return false;
}

static tc_node *new_op(parser *P, tc_node_kind kind, const tc_token *tok, ir_op op, tc_node *a, tc_node *b)
{
  if (!a || (kind == TC_N_BINARY && !b))
    return NULL;
  tc_node *n = new_node(P, kind, tok, kind == TC_N_BINARY ? 2 : 1);
  if (!n)
    return NULL;
  n->op = op;
  n->args[0] = a;
  if (b)
    n->args[1] = b;
  return check_depth(P, n) ? n : NULL;
}

static bool enter(parser *P, const tc_token *tok)
{
  if (++P->nesting <= TC_MAX_NESTING)
    return true;
  aotc_error(P->ctx, tok->loc, "expression nested too deeply (more than %d levels)", TC_MAX_NESTING);
  return false;
}

/* ------------------------------------------------------------------------
 * Expressions
 * ------------------------------------------------------------------------ */

/* args = "(" [expr ("," expr)*] ")" */
static bool call_args(parser *P, tc_token **rest, tc_token *tok, tc_node *call)
{
  ir_vec args = {0};
  if (!skip(P, &tok, tok, "("))
    return false;
  while (!consume(&tok, tok, ")")) {
    if (args.n && !skip(P, &tok, tok, ","))
      return false;
    tc_node *a = expr(P, &tok, tok);
    if (!a || !ir_vec_push(P->ctx, &args, a))
      return false;
  }
  call->n_args = args.n;
  call->args = (tc_node **)args.items;
  *rest = tok;
  return check_depth(P, call);
}

/* access = IDENT args */
static tc_node *access(parser *P, tc_token **rest, tc_token *tok)
{
  tc_node *n = new_node(P, TC_N_CALL, tok, 0);
  if (!n || !(n->name = ident(P, &tok, tok, "a tensor name")))
    return NULL;
  return call_args(P, rest, tok, n) ? n : NULL;
}

/* padded = "padded" "(" access ")" */
static tc_node *padded(parser *P, tc_token **rest, tc_token *tok)
{
  tok = next(tok);
  if (!skip(P, &tok, tok, "("))
    return NULL;
  tc_node *n = access(P, &tok, tok);
  if (!n || !skip(P, rest, tok, ")"))
    return NULL;
  n->padded = true;
  return n;
}

/* dim_ref = IDENT "." INT */
static tc_node *dim_ref(parser *P, tc_token **rest, tc_token *tok)
{
  tc_node *n = new_node(P, TC_N_DIM, tok, 0);
  if (!n)
    return NULL;
  n->name = ir_strndup(P->ctx, tok->text, (size_t)tok->len);
  tok = next(next(tok));
  if (tok->kind != TC_TK_INT)
    return syntax_error(P, tok, "a dimension number after '.'");
  n->ival = tok->ival;
  *rest = next(tok);
  return n;
}

static tc_node *literal(parser *P, tc_token **rest, tc_token *tok)
{
  tc_node *n = new_node(P, tok->kind == TC_TK_INT ? TC_N_INT : TC_N_FLOAT, tok, 0);
  if (!n)
    return NULL;
  n->ival = tok->ival;
  n->fval = tok->fval;
  *rest = next(tok);
  return n;
}

/* name_ref = IDENT | IDENT args | IDENT "." INT | "padded" "(" access ")" */
static tc_node *name_ref(parser *P, tc_token **rest, tc_token *tok)
{
  tc_token *after = next(tok);
  if (tc_equal(tok, "padded") && tc_equal(after, "("))
    return padded(P, rest, tok);
  if (tc_equal(after, "("))
    return access(P, rest, tok);
  if (tc_equal(after, "."))
    return dim_ref(P, rest, tok);
  tc_node *n = new_node(P, TC_N_IDENT, tok, 0);
  if (!n || !(n->name = ident(P, rest, tok, "a name")))
    return NULL;
  return n;
}

/* primary = INT | FLOAT | "(" expr ")" | name_ref */
static tc_node *primary(parser *P, tc_token **rest, tc_token *tok)
{
  if (tok->kind == TC_TK_INT || tok->kind == TC_TK_FLOAT)
    return literal(P, rest, tok);
  if (tok->kind == TC_TK_IDENT)
    return name_ref(P, rest, tok);
  if (!consume(&tok, tok, "("))
    return syntax_error(P, tok, "an expression");
  tc_node *n = expr(P, &tok, tok);
  if (!n || !skip(P, rest, tok, ")"))
    return NULL;
  return n;
}

/* unary = ("-" | "!") unary | primary */
static tc_node *unary(parser *P, tc_token **rest, tc_token *tok)
{
  if (!tc_equal(tok, "-") && !tc_equal(tok, "!"))
    return primary(P, rest, tok);
  if (!enter(P, tok))
    return NULL;
  tc_token *op = tok;
  tc_node *a = unary(P, rest, next(tok));
  P->nesting--;
  return new_op(P, TC_N_UNARY, op, tc_equal(op, "-") ? IR_NEG : IR_NOT, a, NULL);
}

/* The operator of the given level at tok, or -1. */
static int level_op(int level, const tc_token *tok)
{
  for (int i = 0; i < 4 && levels[level].spelling[i]; i++)
    if (tok->kind == TC_TK_PUNCT && tc_equal(tok, levels[level].spelling[i]))
      return i;
  return -1;
}

/* binary(L) = binary(L+1) (OP(L) binary(L+1))*, binary(LEVEL_COUNT) = unary
 * with OP(L) from the table `levels`, loosest first:
 * || , && , == != , < <= > >= , + - , * / % */
static tc_node *binary(parser *P, tc_token **rest, tc_token *tok, int level)
{
  if (level == LEVEL_COUNT)
    return unary(P, rest, tok);
  tc_node *n = binary(P, &tok, tok, level + 1);
  for (int i; n && (i = level_op(level, tok)) >= 0;) {
    tc_token *op = tok;
    n = new_op(P, TC_N_BINARY, op, levels[level].op[i], n, binary(P, &tok, next(tok), level + 1));
  }
  *rest = tok;
  return n;
}

static tc_node *new_select(parser *P, const tc_token *q, tc_node *c, tc_node *a, tc_node *b)
{
  if (!c || !a || !b)
    return NULL;
  tc_node *n = new_node(P, TC_N_SELECT, q, 3);
  if (!n)
    return NULL;
  n->args[0] = c;
  n->args[1] = a;
  n->args[2] = b;
  return check_depth(P, n) ? n : NULL;
}

/* ternary = binary(LEVEL_OR) ["?" expr ":" ternary] */
static tc_node *ternary(parser *P, tc_token **rest, tc_token *tok)
{
  tc_node *c = binary(P, &tok, tok, LEVEL_OR);
  if (!c || !tc_equal(tok, "?")) {
    *rest = tok;
    return c;
  }
  tc_token *q = tok;
  tc_node *a = expr(P, &tok, next(tok));
  if (!a || !skip(P, &tok, tok, ":"))
    return NULL;
  if (!enter(P, tok))
    return NULL;
  tc_node *b = ternary(P, rest, tok);
  P->nesting--;
  return new_select(P, q, c, a, b);
}

/* expr = ternary */
static tc_node *expr(parser *P, tc_token **rest, tc_token *tok)
{
  if (!enter(P, tok))
    return NULL;
  tc_node *n = ternary(P, rest, tok);
  P->nesting--;
  return n;
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

/* range = binary(LEVEL_ADDITIVE) ":" binary(LEVEL_ADDITIVE) */
static bool where_range(parser *P, tc_token **rest, tc_token *tok, tc_where *w)
{
  w->kind = TC_W_RANGE;
  if (!(w->lo = binary(P, &tok, tok, LEVEL_ADDITIVE)) || !skip(P, &tok, tok, ":"))
    return false;
  return (w->hi = binary(P, rest, tok, LEVEL_ADDITIVE)) != NULL;
}

/* clause = IDENT "in" range | "exists" access | IDENT "=" expr */
static tc_where *where_clause(parser *P, tc_token **rest, tc_token *tok)
{
  tc_where *w = IR_NEW(P->ctx, tc_where);
  if (!w)
    return NULL;
  w->loc = tok->loc;
  if (consume(&tok, tok, "exists")) {
    w->kind = TC_W_EXISTS;
    return (w->e = access(P, rest, tok)) ? w : NULL;
  }
  if (!(w->name = ident(P, &tok, tok, "'exists' or an index name in a where clause")))
    return NULL;
  if (consume(&tok, tok, "in"))
    return where_range(P, rest, tok, w) ? w : NULL;
  if (!tc_equal(tok, "="))
    return syntax_error(P, tok, "'in' or '=' in a where clause");
  w->kind = TC_W_BIND;
  return (w->e = expr(P, rest, next(tok))) ? w : NULL;
}

/* where = "where" clause ("," clause)* */
static bool where_clauses(parser *P, tc_token **rest, tc_token *tok, tc_stmt *s)
{
  ir_vec v = {0};
  if (!consume(&tok, tok, "where")) {
    *rest = tok;
    return true;
  }
  do {
    tc_where *w = where_clause(P, &tok, tok);
    if (!w || !ir_vec_push(P->ctx, &v, w))
      return false;
  } while (consume(&tok, tok, ","));
  s->n_where = v.n;
  s->where = vec_to_array(P, &v, sizeof(tc_where));
  *rest = tok;
  return s->where != NULL;
}

/* The index names of a plain left-hand side, whose subscripts are all bare
 * names; the others have the general form. */
static bool plain_names(parser *P, tc_stmt *s)
{
  for (int k = 0; k < s->n_idx; k++)
    s->general |= s->sub[k]->kind != TC_N_IDENT;
  if (s->general)
    return true;
  s->idx = IR_NEW_ARRAY(P->ctx, const char *, s->n_idx);
  s->idx_loc = IR_NEW_ARRAY(P->ctx, ir_loc, s->n_idx);
  if (!s->idx || !s->idx_loc)
    return false;
  for (int k = 0; k < s->n_idx; k++) {
    s->idx[k] = s->sub[k]->name;
    s->idx_loc[k] = s->sub[k]->loc;
  }
  return true;
}

/* lhs_subscripts = "(" [expr ("," expr)*] ")"
 * Index names (`C(m, n)`) or integer expressions of the indices
 * (`G(2*i + k)`, `H(Idx(n))`). */
static bool lhs_subscripts(parser *P, tc_token **rest, tc_token *tok, tc_stmt *s)
{
  ir_vec subs = {0};
  tok = next(tok);
  while (!consume(&tok, tok, ")")) {
    if (subs.n && !skip(P, &tok, tok, ","))
      return false;
    tc_node *e = expr(P, &tok, tok);
    if (!e || !ir_vec_push(P->ctx, &subs, e))
      return false;
  }
  s->n_idx = subs.n;
  s->sub = (tc_node **)subs.items;
  *rest = tok;
  return plain_names(P, s);
}

/* redop = "=" | "+=" | "*=" | "min=" | "max=" | "+=!" | "*=!" | "min=!" | "max=!" */
static bool reduction(parser *P, tc_token **rest, tc_token *tok, tc_stmt *s)
{
  for (size_t i = 0; i < sizeof(reduction_ops) / sizeof(reduction_ops[0]); i++)
    if (tok->kind == TC_TK_PUNCT && tc_equal(tok, reduction_ops[i].spelling)) {
      s->red = reduction_ops[i].red;
      s->init = reduction_ops[i].init;
      s->op_loc = tok->loc;
      *rest = next(tok);
      return true;
    }
  syntax_error(P, tok, "'=', '+=', '*=', 'min=', 'max=' or their '!' forms");
  return false;
}

/* stmt = IDENT [lhs_subscripts] redop expr [where] [";"] */
static tc_stmt *statement(parser *P, tc_token **rest, tc_token *tok)
{
  tc_stmt *s = IR_NEW(P->ctx, tc_stmt);
  if (!s)
    return NULL;
  s->loc = tok->loc;
  if (!(s->lhs = ident(P, &tok, tok, "a statement")))
    return NULL;
  if (tc_equal(tok, "(") && !lhs_subscripts(P, &tok, tok, s))
    return NULL;
  if (!reduction(P, &tok, tok, s) || !(s->rhs = expr(P, &tok, tok)) || !where_clauses(P, &tok, tok, s))
    return NULL;
  consume(&tok, tok, ";");
  *rest = tok;
  return s;
}

/* ------------------------------------------------------------------------
 * Definitions
 * ------------------------------------------------------------------------ */

/* dim = IDENT | INT */
static bool dim(parser *P, tc_token **rest, tc_token *tok, tc_dim *d)
{
  d->loc = tok->loc;
  if (tok->kind == TC_TK_INT) {
    d->value = tok->ival;
    *rest = next(tok);
    return true;
  }
  return (d->name = ident(P, rest, tok, "a size name or an integer")) != NULL;
}

/* dims = "(" [dim ("," dim)*] ")" */
static bool dims(parser *P, tc_token **rest, tc_token *tok, tc_param *p)
{
  ir_vec v = {0};
  tok = next(tok);
  while (!consume(&tok, tok, ")")) {
    tc_dim *d = IR_NEW(P->ctx, tc_dim);
    if ((v.n && !skip(P, &tok, tok, ",")) || !d || !dim(P, &tok, tok, d) || !ir_vec_push(P->ctx, &v, d))
      return false;
    if (v.n > TC_MAX_RANK) {
      aotc_error(P->ctx, d->loc, "too many dimensions (a tensor has at most %d)", TC_MAX_RANK);
      return false;
    }
  }
  p->rank = v.n;
  p->dims = vec_to_array(P, &v, sizeof(tc_dim));
  *rest = tok;
  return p->dims != NULL;
}

/* param = TYPE [dims] IDENT;  output = param | IDENT */
static tc_param *param(parser *P, tc_token **rest, tc_token *tok, bool output)
{
  tc_param *p = IR_NEW(P->ctx, tc_param);
  if (!p)
    return NULL;
  if (!output || tok->kind != TC_TK_IDENT || is_type_name(tok)) {
    if (!is_type_name(tok))
      return syntax_error(P, tok, "a type (float, int32, ...)");
    ir_type_from_name(tok->text, (size_t)tok->len, &p->type);
    p->typed = true;
    tok = next(tok);
    if (tc_equal(tok, "(") && !dims(P, &tok, tok, p))
      return NULL;
  }
  p->loc = tok->loc;
  return (p->name = ident(P, rest, tok, "an argument name")) ? p : NULL;
}

/* params = "(" [param ("," param)*] ")" */
static tc_param *params(parser *P, tc_token **rest, tc_token *tok, bool output, int *n)
{
  ir_vec v = {0};
  if (!skip(P, &tok, tok, "("))
    return NULL;
  while (!consume(&tok, tok, ")")) {
    tc_param *p;
    if ((v.n && !skip(P, &tok, tok, ",")) || !(p = param(P, &tok, tok, output)) || !ir_vec_push(P->ctx, &v, p))
      return NULL;
  }
  *n = v.n;
  *rest = tok;
  return vec_to_array(P, &v, sizeof(tc_param));
}

/* body = "{" stmt* "}" */
static bool body(parser *P, tc_token **rest, tc_token *tok, tc_def *d)
{
  ir_vec v = {0};
  if (!skip(P, &tok, tok, "{"))
    return false;
  while (!consume(&tok, tok, "}")) {
    if (consume(&tok, tok, ";"))
      continue;
    if (tok->kind == TC_TK_EOF)
      return syntax_error(P, tok, "'}'");
    if (v.n == TC_MAX_STMTS) {
      aotc_error(P->ctx, tok->loc, "too many statements (a def has at most %d)", TC_MAX_STMTS);
      return false;
    }
    tc_stmt *s = statement(P, &tok, tok);
    if (!s || !ir_vec_push(P->ctx, &v, s))
      return false;
  }
  d->n_stmts = v.n;
  d->stmts = vec_to_array(P, &v, sizeof(tc_stmt));
  *rest = tok;
  return d->stmts != NULL;
}

/* def = "def" IDENT params "->" params body */
static tc_def *definition(parser *P, tc_token **rest, tc_token *tok)
{
  tc_def *d = IR_NEW(P->ctx, tc_def);
  if (!d || !skip(P, &tok, tok, "def"))
    return NULL;
  d->loc = tok->loc;
  if (!(d->name = ident(P, &tok, tok, "a def name")))
    return NULL;
  if (!(d->in = params(P, &tok, tok, false, &d->n_in)) || !skip(P, &tok, tok, "->"))
    return NULL;
  if (!(d->out = params(P, &tok, tok, true, &d->n_out)))
    return NULL;
  return body(P, rest, tok, d) ? d : NULL;
}

/* program = def* EOF */
tc_program *tc_parse(aotc_ctx *ctx, tc_token *tok)
{
  parser P = {ctx, 0};
  ir_vec v = {0};
  tc_program *prog = IR_NEW(ctx, tc_program);
  if (!prog)
    return NULL;
  while (tok->kind != TC_TK_EOF) {
    if (v.n == TC_MAX_DEFS) {
      aotc_error(ctx, tok->loc, "too many defs (a file has at most %d)", TC_MAX_DEFS);
      return NULL;
    }
    tc_def *d = definition(&P, &tok, tok);
    if (!d || !ir_vec_push(ctx, &v, d))
      return NULL;
  }
  prog->n_defs = v.n;
  prog->defs = vec_to_array(&P, &v, sizeof(tc_def));
  return prog->defs ? prog : NULL;
}

/* ------------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------------ */

/* Distinct defs, also in C: no two declare the same C function. */
static bool check_duplicate_defs(aotc_ctx *ctx, const tc_program *prog)
{
  const char **names = IR_NEW_ARRAY(ctx, const char *, prog->n_defs);
  const char *c_name = NULL;
  int j = -1;
  for (int i = 0; names && i < prog->n_defs; i++)
    names[i] = prog->defs[i].name;
  int i = names ? ir_c_entry_clash(ctx, names, prog->n_defs, &j, &c_name) : -1;
  if (i < 0)
    return names != NULL;
  if (!strcmp(names[i], names[j]))
    aotc_error(ctx, prog->defs[i].loc, "duplicate def '%s'", names[i]);
  else
    aotc_error(ctx, prog->defs[i].loc, "def '%s' and def '%s' both declare '%s' in the emitted C; rename one",
               names[i], names[j], c_name);
  aotc_note(ctx, prog->defs[j].loc, "'%s' first defined here", names[j]);
  return false;
}

static ir_module *analyze(aotc_ctx *ctx, const tc_program *prog)
{
  ir_module *m = IR_NEW(ctx, ir_module);
  ir_func **funcs = IR_NEW_ARRAY(ctx, ir_func *, prog->n_defs);
  if (!m || !funcs)
    return NULL;
  bool ok = check_duplicate_defs(ctx, prog);
  for (int i = 0; i < prog->n_defs; i++)
    ok = (funcs[i] = tc_sema_def(ctx, &prog->defs[i])) != NULL && ok;
  m->n_funcs = prog->n_defs;
  m->funcs = funcs;
  return ok ? m : NULL;
}

ir_module *tc_compile(aotc_ctx *ctx, const aotc_source *src)
{
  if (!ctx || !src)
    return NULL;
  int errors = ctx->n_errors;
  tc_token *tokens = tc_tokenize(ctx, src);
  tc_program *prog = tokens ? tc_parse(ctx, tokens) : NULL;
  if (prog && prog->n_defs == 0) {
    aotc_error(ctx, (ir_loc){src, 1, 1}, "no def in this file: nothing to compile");
    return NULL;
  }
  ir_module *m = prog ? analyze(ctx, prog) : NULL;
  if (!m && ctx->n_errors == errors && !ctx->oom)
    aotc_error(ctx, (ir_loc){src, 1, 1}, "could not compile this TC source");
  if (ctx->n_errors != errors || ctx->oom)
    return NULL;
  return m;
}
