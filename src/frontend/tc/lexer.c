/* lexer.c: splits a TC source into tokens, each with its line and column.
 * `A.0` is IDENT DOT INT (a dimension size), never a float; `+=!` and
 * `min=!` are single tokens when written without spaces. */
#include "tc_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct lexer {
  aotc_ctx *ctx;
  const aotc_source *src;
  const char *p, *end;
  int line;
  const char *line_start;
  ir_vec tokens;
  const tc_token *prev;
} lexer;

static const char *const keywords[] = {"def", "where", "in", "exists"};

/* Longest first, so that `+=!` wins over `+=` and `+`. */
static const char *const puncts[] = {
    "+=!", "*=!", "->", "+=", "*=", "==", "!=", "<=", ">=", "&&", "||", "(", ")", ",", "{",
    "}",   ";",   ":",  ".",  "?",  "+",  "-",  "*",  "/",  "%",  "<",  ">",  "!", "=",
};

bool tc_equal(const tc_token *tok, const char *s)
{
  return (tok->kind == TC_TK_PUNCT || tok->kind == TC_TK_KEYWORD || tok->kind == TC_TK_IDENT) &&
         strlen(s) == (size_t)tok->len && !memcmp(tok->text, s, (size_t)tok->len);
}

static ir_loc loc_at(const lexer *L, const char *p)
{
  return (ir_loc){L->src, L->line, (int)(p - L->line_start) + 1};
}

static tc_token *add_token(lexer *L, tc_token_kind kind, const char *start, size_t len)
{
  tc_token *t = IR_NEW(L->ctx, tc_token);
  if (!t || !ir_vec_push(L->ctx, &L->tokens, t))
    return NULL;
  t->kind = kind;
  t->text = start;
  t->len = (int)len;
  t->loc = loc_at(L, start);
  L->prev = t;
  return t;
}

static bool is_ident_start(char c)
{
  return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident_char(char c)
{
  return isalnum((unsigned char)c) || c == '_';
}

static bool at(const lexer *L, const char *p, char c)
{
  return p < L->end && *p == c;
}

/* Skips blanks, newlines and `#` comments, counting lines. */
static void skip_space(lexer *L)
{
  while (L->p < L->end) {
    char c = *L->p;
    if (c == '\n') {
      L->p++;
      L->line++;
      L->line_start = L->p;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      L->p++;
    } else if (c == '#') {
      while (L->p < L->end && *L->p != '\n')
        L->p++;
    } else {
      return;
    }
  }
}

/* `min=` and `max=` (optionally followed by `!`) directly after the name. */
static size_t reduction_word_len(const lexer *L, const char *start, size_t len)
{
  const char *q = start + len;
  if (len != 3 || (memcmp(start, "min", 3) && memcmp(start, "max", 3)))
    return 0;
  if (!at(L, q, '=') || at(L, q + 1, '='))
    return 0;
  if (at(L, q + 1, '!') && !at(L, q + 2, '='))
    return len + 2;
  return len + 1;
}

static bool lex_word(lexer *L)
{
  const char *start = L->p;
  while (L->p < L->end && is_ident_char(*L->p))
    L->p++;
  size_t len = (size_t)(L->p - start);
  size_t red = reduction_word_len(L, start, len);
  if (red) {
    L->p = start + red;
    return add_token(L, TC_TK_PUNCT, start, red) != NULL;
  }
  tc_token_kind kind = TC_TK_IDENT;
  for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
    if (strlen(keywords[i]) == len && !memcmp(keywords[i], start, len))
      kind = TC_TK_KEYWORD;
  return add_token(L, kind, start, len) != NULL;
}

static const char *skip_digits(const lexer *L, const char *p)
{
  while (p < L->end && isdigit((unsigned char)*p))
    p++;
  return p;
}

/* The end of a float's exponent starting at p ('e' or 'E'), or p itself. */
static const char *skip_exponent(const lexer *L, const char *p)
{
  if (!at(L, p, 'e') && !at(L, p, 'E'))
    return p;
  const char *q = p + 1;
  if (at(L, q, '+') || at(L, q, '-'))
    q++;
  if (q >= L->end || !isdigit((unsigned char)*q))
    return p;
  return skip_digits(L, q);
}

static bool after_dot(const lexer *L)
{
  return L->prev && L->prev->kind == TC_TK_PUNCT && tc_equal(L->prev, ".");
}

/* The end of the number at L->p and whether it is a float. After a `.`
 * token only digits are read, so `A.0` stays a dimension reference. */
static const char *number_end(const lexer *L, bool *is_float)
{
  const char *p = skip_digits(L, L->p);
  *is_float = false;
  if (after_dot(L))
    return p;
  if (at(L, p, '.') && p + 1 <= L->end) {
    *is_float = true;
    p = skip_digits(L, p + 1);
  }
  const char *q = skip_exponent(L, p);
  if (q != p)
    *is_float = true;
  return q;
}

static bool number_error(lexer *L, const char *start, const char *what)
{
  aotc_error(L->ctx, loc_at(L, start), "%s", what);
  return false;
}

static bool convert_number(lexer *L, tc_token *t, const char *buf)
{
  errno = 0;
  if (t->kind == TC_TK_FLOAT) {
    t->fval = strtod(buf, NULL);
    if (errno == ERANGE && isinf(t->fval))
      return number_error(L, t->text, "floating-point literal too large");
    return true;
  }
  unsigned long long v = strtoull(buf, NULL, 10);
  if (errno == ERANGE || v > (unsigned long long)INT64_MAX)
    return number_error(L, t->text, "integer literal too large");
  t->ival = (int64_t)v;
  return true;
}

static bool lex_number(lexer *L)
{
  const char *start = L->p;
  bool is_float;
  const char *end = number_end(L, &is_float);
  size_t len = (size_t)(end - start);
  if (len > TC_MAX_NUMBER_LEN)
    return number_error(L, start, "numeric literal too long");
  if (end < L->end && is_ident_start(*end))
    return number_error(L, end, "invalid suffix on numeric literal");
  char buf[TC_MAX_NUMBER_LEN + 1];
  memcpy(buf, start, len);
  buf[len] = 0;
  L->p = end;
  tc_token *t = add_token(L, is_float ? TC_TK_FLOAT : TC_TK_INT, start, len);
  return t && convert_number(L, t, buf);
}

static size_t punct_len(const lexer *L)
{
  size_t left = (size_t)(L->end - L->p);
  for (size_t i = 0; i < sizeof(puncts) / sizeof(puncts[0]); i++) {
    size_t n = strlen(puncts[i]);
    if (n <= left && !memcmp(L->p, puncts[i], n) && !(n == 3 && at(L, L->p + 3, '=')))
      return n;
  }
  return 0;
}

static bool bad_char(lexer *L)
{
  unsigned char c = (unsigned char)*L->p;
  if (isprint(c))
    aotc_error(L->ctx, loc_at(L, L->p), "unexpected character '%c'", c);
  else
    aotc_error(L->ctx, loc_at(L, L->p), "unexpected character '\\x%02x'", c);
  return false;
}

static bool lex_punct(lexer *L)
{
  size_t n = punct_len(L);
  if (!n)
    return bad_char(L);
  const char *start = L->p;
  L->p += n;
  return add_token(L, TC_TK_PUNCT, start, n) != NULL;
}

static bool lex_one(lexer *L)
{
  char c = *L->p;
  if (is_ident_start(c))
    return lex_word(L);
  if (isdigit((unsigned char)c))
    return lex_number(L);
  return lex_punct(L);
}

static tc_token *token_array(lexer *L)
{
  tc_token *arr = IR_NEW_ARRAY(L->ctx, tc_token, L->tokens.n);
  if (!arr)
    return NULL;
  for (int i = 0; i < L->tokens.n; i++)
    arr[i] = *(tc_token *)L->tokens.items[i];
  return arr;
}

tc_token *tc_tokenize(aotc_ctx *ctx, const aotc_source *src)
{
  lexer L = {ctx, src, src->text, src->text + src->len, 1, src->text, {0}, NULL};
  for (;;) {
    skip_space(&L);
    if (L.p >= L.end)
      break;
    if (!lex_one(&L))
      return NULL;
  }
  if (!add_token(&L, TC_TK_EOF, L.p, 0))
    return NULL;
  return token_array(&L);
}
