/* ts_lex.c: the lexer of TorchScript code files (the Python subset that
 * torch.jit.save writes under code/). It turns a registered source into a
 * list of tokens with file:line:col, producing NEWLINE, INDENT and DEDENT
 * as Python does: newlines inside brackets and after a backslash continue
 * the line, blank and comment lines are skipped. The first error is
 * reported on the context and unwinds with longjmp (everything lives in
 * the arena, so there is nothing to free). */
#include "ts.h"

#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INDENT 100
#define MAX_BRACKETS 200

typedef struct lexer {
  aotc_ctx *ctx;
  const aotc_source *src;
  const char *p, *end;
  const char *line_start;
  int line;
  int indents[MAX_INDENT];
  int n_indents;
  const char *brackets[MAX_BRACKETS]; /* open brackets, innermost last */
  ir_loc bracket_locs[MAX_BRACKETS];
  int n_brackets;
  ts_token head, *tail;
  jmp_buf fail;
} lexer;

static ir_loc loc_at(const lexer *l, const char *p)
{
  return (ir_loc){l->src, l->line, (int)(p - l->line_start) + 1};
}

static _Noreturn void error_at(lexer *l, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static _Noreturn void error_at(lexer *l, ir_loc loc, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  aotc_vdiag(l->ctx, AOTC_ERROR, loc, fmt, ap);
  va_end(ap);
  longjmp(l->fail, 1);
}

static ts_token *add_token(lexer *l, ts_token_kind kind, const char *start, const char *end, ir_loc loc)
{
  ts_token *t = IR_NEW(l->ctx, ts_token);
  if (!t)
    longjmp(l->fail, 1);
  t->kind = kind;
  t->text = start;
  t->len = (int)(end - start);
  t->loc = loc;
  l->tail = l->tail->next = t;
  return t;
}

bool ts_token_is(const ts_token *t, const char *s)
{
  return (t->kind == TS_T_OP || t->kind == TS_T_NAME) && (size_t)t->len == strlen(s) && !memcmp(t->text, s, (size_t)t->len);
}

/* ------------------------------------------------------------------------
 * Indentation
 * ------------------------------------------------------------------------ */

/* The width of the indentation at p (tabs to the next multiple of 8); moves p past it. */
static int measure_indent(lexer *l)
{
  int width = 0;
  for (; l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\f'); l->p++)
    width = *l->p == '\t' ? (width / 8 + 1) * 8 : *l->p == '\f' ? 0 : width + 1;
  return width;
}

static bool blank_line(const lexer *l)
{
  return l->p >= l->end || *l->p == '\n' || *l->p == '\r' || *l->p == '#';
}

static void indent_to(lexer *l, int width)
{
  ir_loc loc = loc_at(l, l->p);
  int top = l->indents[l->n_indents - 1];
  if (width > top) {
    if (l->n_indents == MAX_INDENT)
      error_at(l, loc, "blocks are nested too deeply (limit %d)", MAX_INDENT);
    l->indents[l->n_indents++] = width;
    add_token(l, TS_T_INDENT, l->p, l->p, loc);
    return;
  }
  while (width < l->indents[l->n_indents - 1]) {
    l->n_indents--;
    add_token(l, TS_T_DEDENT, l->p, l->p, loc);
  }
  if (width != l->indents[l->n_indents - 1])
    error_at(l, loc, "unindent does not match any outer indentation level");
}

/* At the start of a physical line outside brackets: INDENT/DEDENT tokens. */
static void start_line(lexer *l)
{
  int width = measure_indent(l);
  if (!blank_line(l))
    indent_to(l, width);
}

/* ------------------------------------------------------------------------
 * Numbers
 * ------------------------------------------------------------------------ */

static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_ident_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_ident(int c) { return is_ident_start(c) || is_digit(c); }

static const char *scan_digits(const char *p, const char *end)
{
  while (p < end && (is_digit(*p) || *p == '_'))
    p++;
  return p;
}

/* The end of a decimal number starting at p; *is_float when it has a dot or exponent. */
static const char *scan_number(const char *p, const char *end, bool *is_float)
{
  p = scan_digits(p, end);
  *is_float = false;
  if (p < end && *p == '.') {
    *is_float = true;
    p = scan_digits(p + 1, end);
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    const char *q = p + 1;
    if (q < end && (*q == '+' || *q == '-'))
      q++;
    if (q < end && is_digit(*q)) {
      *is_float = true;
      p = scan_digits(q, end);
    }
  }
  return p;
}

static void number_value(lexer *l, ts_token *t, bool is_float)
{
  char buf[128];
  int n = 0;
  if (t->len >= (int)sizeof(buf))
    error_at(l, t->loc, "number is too long");
  for (int i = 0; i < t->len; i++)
    if (t->text[i] != '_')
      buf[n++] = t->text[i];
  buf[n] = 0;
  errno = 0;
  char *end;
  if (is_float)
    t->f = strtod(buf, &end);
  else
    t->i = strtoll(buf, &end, !strncmp(buf, "0x", 2) || !strncmp(buf, "0X", 2) ? 16 : 10);
  if (errno == ERANGE)
    error_at(l, t->loc, "%s constant '%s' is out of range", is_float ? "float" : "integer", buf);
  if (*end)
    error_at(l, t->loc, "invalid number '%s'", buf);
}

static void read_number(lexer *l)
{
  const char *start = l->p, *p = l->p;
  bool is_float = false;
  bool hex = l->end - l->p > 2 && l->p[0] == '0' && (l->p[1] == 'x' || l->p[1] == 'X');
  if (!hex)
    p = scan_number(l->p, l->end, &is_float);
  while (p < l->end && is_ident(*p))
    p++;
  ts_token *t = add_token(l, is_float ? TS_T_FLOAT : TS_T_INT, start, p, loc_at(l, start));
  l->p = p;
  number_value(l, t, is_float);
}

/* ------------------------------------------------------------------------
 * Strings
 * ------------------------------------------------------------------------ */

static int hex_value(int c)
{
  return is_digit(c) ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1;
}

/* Writes code point cp as UTF-8; returns the bytes written. */
static size_t put_utf8(char *out, uint32_t cp)
{
  static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
  int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  for (int i = n - 1; i > 0; i--, cp >>= 6)
    out[i] = (char)(0x80 | (cp & 0x3f));
  out[0] = (char)(n == 1 ? cp : (lead[n] | cp));
  return (size_t)n;
}

/* Decodes \xhh, \uhhhh, \Uhhhhhhhh at p (after the letter); returns the code point. */
static uint32_t hex_escape(lexer *l, const char **p, int digits)
{
  uint32_t cp = 0;
  for (int i = 0; i < digits; i++, (*p)++) {
    int h = *p < l->end ? hex_value(**p) : -1;
    if (h < 0)
      error_at(l, loc_at(l, *p), "bad hexadecimal escape in a string");
    cp = cp << 4 | (uint32_t)h;
  }
  if (cp > 0x10ffff)
    error_at(l, loc_at(l, *p), "escape names no Unicode character");
  return cp;
}

static const char simple_escapes[][2] = {{'n', '\n'}, {'t', '\t'}, {'r', '\r'}, {'\\', '\\'}, {'\'', '\''},
                                         {'"', '"'},  {'a', '\a'}, {'b', '\b'}, {'f', '\f'},  {'v', '\v'},
                                         {'0', '\0'}};

/* Decodes the escape after a backslash at *p into out; returns the bytes written. */
static size_t escape(lexer *l, const char **p, char *out)
{
  char c = *(*p)++;
  for (size_t i = 0; i < sizeof(simple_escapes) / sizeof(simple_escapes[0]); i++)
    if (c == simple_escapes[i][0]) {
      out[0] = simple_escapes[i][1];
      return 1;
    }
  if (c == '\n')
    return 0;
  if (c == 'x')
    return put_utf8(out, hex_escape(l, p, 2));
  if (c == 'u' || c == 'U')
    return put_utf8(out, hex_escape(l, p, c == 'u' ? 4 : 8));
  out[0] = '\\';
  out[1] = c;
  return 2;
}

/* The end of a string literal starting at its quote(s); the decoded text
 * in out (when not NULL) and its length in *n. */
static const char *scan_string(lexer *l, const char *p, char *out, size_t *n)
{
  char scratch[8];
  char q = *p;
  bool triple = l->end - p >= 3 && p[1] == q && p[2] == q;
  ir_loc start = loc_at(l, p);
  p += triple ? 3 : 1;
  *n = 0;
  for (;;) {
    if (p >= l->end || (!triple && (*p == '\n' || *p == '\r')))
      error_at(l, start, "unterminated string");
    if (*p == 0)
      error_at(l, loc_at(l, p), "NUL byte in a string");
    if (*p == q && (!triple || (l->end - p >= 3 && p[1] == q && p[2] == q)))
      return p + (triple ? 3 : 1);
    if (*p == '\n')
      l->line++, l->line_start = p + 1;
    char *dst = out ? out + *n : scratch;
    if (*p == '\\' && p + 1 < l->end) {
      p++;
      *n += escape(l, &p, dst);
    } else {
      *dst = *p++;
      (*n)++;
    }
  }
}

/* Scans a string once to size it, then again to decode it. */
static void read_string(lexer *l)
{
  ir_loc loc = loc_at(l, l->p);
  const char *start = l->p, *line_start = l->line_start;
  int line = l->line;
  size_t n;
  scan_string(l, start, NULL, &n);
  char *buf = ir_alloc(l->ctx, n + 1);
  if (!buf)
    longjmp(l->fail, 1);
  l->line = line;
  l->line_start = line_start;
  l->p = scan_string(l, start, buf, &n);
  ts_token *t = add_token(l, TS_T_STR, start, l->p, loc);
  buf[n] = 0;
  t->str = buf;
  t->str_len = n;
}

/* ------------------------------------------------------------------------
 * Punctuation and brackets
 * ------------------------------------------------------------------------ */

static const char *const operators[] = {
    "**=", "//=", ">>=", "<<=", "->", "**", "//", "==", "!=", "<=", ">=", "<<", ">>", "+=", "-=", "*=", "/=",
    "%=",  "&=",  "|=",  "^=",  "@=", ":=", "+",  "-",  "*",  "/",  "%",  "@",  "&",  "|",  "^",  "~",  "<",
    ">",   "(",   ")",   "[",   "]",  "{",  "}",  ",",  ":",  ".",  ";",  "=",
};

static void open_bracket(lexer *l, const char *p)
{
  if (l->n_brackets == MAX_BRACKETS)
    error_at(l, loc_at(l, p), "brackets are nested too deeply (limit %d)", MAX_BRACKETS);
  l->bracket_locs[l->n_brackets] = loc_at(l, p);
  l->brackets[l->n_brackets++] = p;
}

static void close_bracket(lexer *l, const char *p)
{
  static const char pairs[] = "()[]{}";
  if (!l->n_brackets)
    error_at(l, loc_at(l, p), "unmatched '%c'", *p);
  char open = *l->brackets[l->n_brackets - 1];
  if (strchr(pairs, open)[1] != *p)
    error_at(l, loc_at(l, p), "'%c' does not match '%c' at line %d", *p, open, l->bracket_locs[l->n_brackets - 1].line);
  l->n_brackets--;
}

static void read_operator(lexer *l)
{
  for (size_t i = 0; i < sizeof(operators) / sizeof(operators[0]); i++) {
    size_t n = strlen(operators[i]);
    if ((size_t)(l->end - l->p) >= n && !memcmp(l->p, operators[i], n)) {
      if (strchr("([{", *l->p))
        open_bracket(l, l->p);
      else if (strchr(")]}", *l->p))
        close_bracket(l, l->p);
      add_token(l, TS_T_OP, l->p, l->p + n, loc_at(l, l->p));
      l->p += n;
      return;
    }
  }
  unsigned char c = (unsigned char)*l->p;
  if (c >= 0x20 && c < 0x7f)
    error_at(l, loc_at(l, l->p), "unexpected character '%c'", c);
  error_at(l, loc_at(l, l->p), "unexpected byte 0x%02x", c);
}

/* ------------------------------------------------------------------------
 * The main loop
 * ------------------------------------------------------------------------ */

static void newline(lexer *l)
{
  if (!l->n_brackets && l->tail != &l->head && l->tail->kind != TS_T_NEWLINE && l->tail->kind != TS_T_INDENT &&
      l->tail->kind != TS_T_DEDENT)
    add_token(l, TS_T_NEWLINE, l->p, l->p, loc_at(l, l->p));
  l->p++;
  l->line++;
  l->line_start = l->p;
  if (!l->n_brackets)
    start_line(l);
}

static void skip_comment(lexer *l)
{
  while (l->p < l->end && *l->p != '\n')
    l->p++;
}

static void read_token(lexer *l)
{
  char c = *l->p;
  if (c == '\n')
    newline(l);
  else if (c == ' ' || c == '\t' || c == '\r' || c == '\f')
    l->p++;
  else if (c == '#')
    skip_comment(l);
  else if (c == '\\' && l->p + 1 < l->end && l->p[1] == '\n')
    l->p += 2, l->line++, l->line_start = l->p;
  else if (c == 0)
    error_at(l, loc_at(l, l->p), "NUL byte in code");
  else if (is_ident_start(c)) {
    const char *s = l->p;
    while (l->p < l->end && is_ident(*l->p))
      l->p++;
    add_token(l, TS_T_NAME, s, l->p, loc_at(l, s));
  } else if (is_digit(c) || (c == '.' && l->p + 1 < l->end && is_digit(l->p[1])))
    read_number(l);
  else if (c == '"' || c == '\'')
    read_string(l);
  else
    read_operator(l);
}

static void finish(lexer *l)
{
  if (l->n_brackets)
    error_at(l, l->bracket_locs[l->n_brackets - 1], "'%c' is never closed", *l->brackets[l->n_brackets - 1]);
  if (l->tail != &l->head && l->tail->kind != TS_T_NEWLINE && l->tail->kind != TS_T_DEDENT)
    add_token(l, TS_T_NEWLINE, l->p, l->p, loc_at(l, l->p));
  while (l->n_indents > 1) {
    l->n_indents--;
    add_token(l, TS_T_DEDENT, l->p, l->p, loc_at(l, l->p));
  }
  add_token(l, TS_T_EOF, l->p, l->p, loc_at(l, l->p));
}

ts_token *ts_tokenize(aotc_ctx *ctx, const aotc_source *src)
{
  lexer *l = IR_NEW(ctx, lexer);
  if (!l)
    return NULL;
  l->ctx = ctx;
  l->src = src;
  l->p = l->line_start = src->text;
  l->end = src->text + src->len;
  l->line = 1;
  l->n_indents = 1;
  l->tail = &l->head;
  if (setjmp(l->fail))
    return NULL;
  start_line(l);
  while (l->p < l->end)
    read_token(l);
  finish(l);
  return l->head.next;
}
