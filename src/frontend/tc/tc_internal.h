/* tc_internal.h: what the three parts of the TC frontend share: tokens
 * (lexer.c), the syntax tree (parser.c) and the entry point of semantic
 * analysis (sema.c). Nothing here is visible outside src/frontend/tc. */
#ifndef AOTC_TC_INTERNAL_H
#define AOTC_TC_INTERNAL_H

#include "ir.h"

/* Limits that keep hostile input from exhausting the stack or the arena. */
#define TC_MAX_NESTING 200      /* parser recursion (parentheses, unary chains) */
#define TC_MAX_TREE_DEPTH 256   /* depth of one expression tree as written */
#define TC_MAX_IR_DEPTH 1024    /* depth after substituting bindings */
#define TC_MAX_IR_NODES 200000  /* nodes of one statement after substituting bindings */
#define TC_MAX_NUMBER_LEN 64    /* characters of one numeric literal */
/* Limits that keep isl's work (which grows fast with these) bounded. */
#define TC_MAX_RANK 16          /* dimensions of a tensor */
#define TC_MAX_INDICES 16       /* index variables of one statement */
#define TC_MAX_PARAMS 64        /* size parameters of one def */
#define TC_MAX_TENSORS 1024     /* tensors of one def */
#define TC_MAX_STMTS 1024       /* statements of one def */
#define TC_MAX_DEFS 1024        /* defs of one file */

/* ------------------------------------------------------------------------
 * Tokens
 * ------------------------------------------------------------------------ */

typedef enum {
  TC_TK_IDENT,   /* name */
  TC_TK_KEYWORD, /* def where in exists */
  TC_TK_INT,     /* 42 */
  TC_TK_FLOAT,   /* 1.5, 1e-5 */
  TC_TK_PUNCT,   /* ( ) , -> += min=! ... */
  TC_TK_EOF,     /* end of input */
} tc_token_kind;

typedef struct tc_token {
  tc_token_kind kind;
  const char *text; /* points into the source */
  int len;
  ir_loc loc;
  int64_t ival; /* TC_TK_INT */
  double fval;  /* TC_TK_FLOAT */
} tc_token;

/* Splits src into tokens ending with TC_TK_EOF; NULL after reporting an
 * error on ctx. */
tc_token *tc_tokenize(aotc_ctx *ctx, const aotc_source *src);
bool tc_equal(const tc_token *tok, const char *s);

/* ------------------------------------------------------------------------
 * Syntax tree
 * ------------------------------------------------------------------------ */

typedef enum {
  TC_N_INT,    /* ival */
  TC_N_FLOAT,  /* fval */
  TC_N_IDENT,  /* name: index, size, scalar or binding */
  TC_N_DIM,    /* name.ival: size of a dimension */
  TC_N_CALL,   /* name(args): tensor read, cast or builtin; padded(T(...)) sets padded */
  TC_N_UNARY,  /* op args[0] */
  TC_N_BINARY, /* args[0] op args[1] */
  TC_N_SELECT, /* args[0] ? args[1] : args[2] */
} tc_node_kind;

typedef struct tc_node {
  tc_node_kind kind;
  ir_loc loc; /* the name, the literal or the operator */
  const char *name;
  int64_t ival;
  double fval;
  ir_op op;
  bool padded;
  int depth;
  int n_args;
  struct tc_node **args;
} tc_node;

typedef struct tc_dim {
  const char *name; /* size name, or NULL for the constant value */
  int64_t value;
  ir_loc loc;
} tc_dim;

typedef struct tc_param {
  const char *name;
  ir_loc loc;
  bool typed; /* false for an untyped output */
  ir_type type;
  int rank;
  tc_dim *dims;
} tc_param;

typedef enum {
  TC_W_RANGE,  /* name in lo:hi */
  TC_W_EXISTS, /* exists e */
  TC_W_BIND,   /* name = e */
} tc_where_kind;

typedef struct tc_where {
  tc_where_kind kind;
  const char *name;
  ir_loc loc;
  tc_node *lo, *hi, *e;
} tc_where;

typedef struct tc_stmt {
  ir_loc loc; /* the tensor written */
  const char *lhs;
  int n_idx;       /* subscripts on the left */
  tc_node **sub;   /* the subscripts as written */
  bool general;    /* some subscript is not a bare name: `G(2*i + k)`, `H(Idx(n))` */
  const char **idx; /* plain form: the index names */
  ir_loc *idx_loc;
  ir_reduction red;
  bool init;
  ir_loc op_loc;
  tc_node *rhs;
  int n_where;
  tc_where *where;
} tc_stmt;

typedef struct tc_def {
  const char *name;
  ir_loc loc;
  int n_in, n_out, n_stmts;
  tc_param *in, *out;
  tc_stmt *stmts;
} tc_def;

typedef struct tc_program {
  int n_defs;
  tc_def *defs;
} tc_program;

/* Parses the tokens into a program; NULL after reporting an error on ctx. */
tc_program *tc_parse(aotc_ctx *ctx, tc_token *tokens);

/* ------------------------------------------------------------------------
 * Semantic analysis
 * ------------------------------------------------------------------------ */

/* Resolves names, types and ranges of one def; NULL after reporting. */
ir_func *tc_sema_def(aotc_ctx *ctx, const tc_def *def);
/* Checks that every read of f stays inside its tensor (bounds.c): an error
 * when a read leaves it for every size, a run-time check (f->checks) when
 * only for some; false after reporting. */
bool tc_check_reads(aotc_ctx *ctx, ir_func *f);
/* Simplifies a size expression: affine parts are collected into one sum. */
ir_size *tc_size_simplify(aotc_ctx *ctx, ir_size *s);

/* ------------------------------------------------------------------------
 * Linear size expressions and affine index expressions (affine.c)
 * ------------------------------------------------------------------------ */

/* a <= b for every value of the (non-negative) size parameters, as far as
 * linear forms and min/max can show it. */
bool tc_size_le(const ir_size *a, const ir_size *b);

#define TC_AFFINE_TERMS 16

/* sum of coef[k] * index[idx[k]] + rest */
typedef struct tc_affine {
  int n;
  int idx[TC_AFFINE_TERMS];
  int64_t coef[TC_AFFINE_TERMS];
  ir_size *rest; /* NULL: 0 */
} tc_affine;

/* The affine form of an index expression over the statement's indices and
 * the sizes; false when it has another form. */
bool tc_affine_of(aotc_ctx *ctx, const ir_expr *e, tc_affine *out);

#endif
