/* mutate.c: mutation smoke test of the TC frontend.
 *
 *   mutate [N] [--seed S] [--only K] [--print] [--emit] [DIR | FILE.tc ...]
 *
 * Reads every *.tc file of DIR (default: tests/kernels, or the KERNEL_DIR
 * macro), makes N (default 3000) mutants of them, each with one to four
 * seeded random edits (delete, insert, duplicate or swap characters and
 * tokens, random punctuation, digits, keywords and huge numbers, truncation,
 * splices of two files), and runs tc_compile on each in a fresh context.
 *
 * A mutant passes when nothing crashes (build with -fsanitize=address,undefined
 * so memory errors abort) and the frontend keeps its contract:
 *   - tc_compile returns NULL exactly when an error was reported;
 *   - every function of a module it returns passes ir_verify;
 *   - printing the diagnostics (aotc_print_diags) works;
 *   - with --emit, emit_c_module on what compiled does not crash and returns
 *     false exactly when it reported an error.
 * Mutant K depends only on (S, K): `mutate --only K --print` reproduces it and
 * prints its text. Ends with the line `N passed, N failed`; exit status 1 when
 * any mutant failed.
 *
 * Uses only the public API of src/ir/ir.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "ir.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef KERNEL_DIR
#define KERNEL_DIR "tests/kernels"
#endif

/* ------------------------------------------------------------------ rng */

static uint64_t rng_state;

static uint64_t splitmix(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t rnd(void) { return splitmix(&rng_state); }
static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

/* ------------------------------------------------------------------ buffers */

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static void reserve(buf *b, size_t need)
{
  if (need + 1 <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need + 1)
    cap *= 2;
  b->p = realloc(b->p, cap);
  if (!b->p) {
    fprintf(stderr, "mutate: out of memory\n");
    exit(2);
  }
  b->cap = cap;
}

static void set(buf *b, const char *s, size_t n)
{
  reserve(b, n);
  memcpy(b->p, s, n);
  b->len = n;
  b->p[n] = 0;
}

/* Replaces len bytes at pos with s[0..n). */
static void splice(buf *b, size_t pos, size_t len, const char *s, size_t n)
{
  if (pos > b->len)
    pos = b->len;
  if (len > b->len - pos)
    len = b->len - pos;
  reserve(b, b->len - len + n);
  memmove(b->p + pos + n, b->p + pos + len, b->len - pos - len);
  memcpy(b->p + pos, s, n);
  b->len = b->len - len + n;
  b->p[b->len] = 0;
}

/* ------------------------------------------------------------------ tokens */

typedef struct tok {
  size_t pos, len;
} tok;

static int is_id(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9'); }

/* Splits into identifiers/numbers, runs of operator characters and single
 * other characters; whitespace is skipped. Returns the count. */
static size_t tokenize(const buf *b, tok **out)
{
  static tok *toks;
  static size_t cap;
  size_t n = 0, i = 0;
  while (i < b->len) {
    unsigned char c = (unsigned char)b->p[i];
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      i++;
      continue;
    }
    size_t j = i + 1;
    if (is_id(c) || c == '.') {
      while (j < b->len && (is_id((unsigned char)b->p[j]) || b->p[j] == '.'))
        j++;
    } else if (c && strchr("+-*/%=!<>&|", c)) {
      while (j < b->len && b->p[j] && strchr("+-*/%=!<>&|", b->p[j]))
        j++;
    }
    if (n == cap) {
      cap = cap ? cap * 2 : 256;
      toks = realloc(toks, cap * sizeof *toks);
      if (!toks) {
        fprintf(stderr, "mutate: out of memory\n");
        exit(2);
      }
    }
    toks[n].pos = i;
    toks[n].len = j - i;
    n++;
    i = j;
  }
  *out = toks;
  return n;
}

/* ------------------------------------------------------------------ mutations */

static const char *const words[] = {
  "def", "where", "exists", "in", "padded", "->", "(", ")", ",", ":", ";", ".",
  "?", "#", "{", "}", "=", "+=", "+=!", "*=!", "min=!", "max=!", "min=", "max=",
  "*=", "!", "&&", "||", "==", "!=", "<=", ">=", "<", ">", "-", "+", "*", "/", "%",
  "float", "double", "int8", "int32", "int64", "uint8", "uint64", "bool", "float32",
  "float64", "exp", "log", "tanh", "fmax", "pow", "min", "max", "abs", "erf",
  "sigmoid", "atan2", "fmod", "rsqrt", "0", "1", "-1", "2", "3", "1.5", "1e-5",
  "1e999", "0x10", "99999999999999999999", "9223372036854775807",
  "-9223372036854775808", "4294967296", "0.0", ".5", "1.", "1e", "A.0", "A.1",
  "X.7", "I.-1", "N", "M", "K", "i", "j", "r_k", "A", "B", "O", "C", "I",
  "A(i)", "A(i, j)", "A(A(i))", "where i in 0:N", "where exists A(i + 1)",
  "where x = 1.0", "i in N:0", "0:0", "N - 1", "N / 0", "N * N", "(N + 1) / 2",
  "padded(A(i - 1))", "->()", "()", "(,)", "def f() -> () {}",
  "def f(float(N) A) -> (B) { B(i) = A(i) }", "float(N, N, N, N, N, N, N, N, N) T",
  "\"", "'", "\\", "@", "$", "`", "~", "^", "[", "]", "\t", "\n", "\r", "\xff",
  "\xc3\xa9", "#comment\n",
};
#define N_WORDS (sizeof words / sizeof words[0])

static const char punct[] = "()[]{},;:.?!=+-*/%<>&|#'\"\\@$^~` \n\t0123456789_eE";

static const char *edit_name[] = {
  "delete-char", "insert-char", "delete-range", "duplicate-range", "swap-chars",
  "delete-token", "duplicate-token", "swap-tokens", "replace-token", "insert-word",
  "truncate", "change-digit", "move-range", "nul-byte",
};
#define N_EDITS (sizeof edit_name / sizeof edit_name[0])

static void mutate_once(buf *b, int *kind_out)
{
  int kind = (int)below(N_EDITS);
  if (kind == 13 && below(4))
    kind = (int)below(13); /* NUL bytes rarely */
  *kind_out = kind;
  tok *t;
  size_t nt = tokenize(b, &t);
  size_t pos = below(b->len + 1);
  switch (kind) {
  case 0: /* delete one char */
    if (b->len)
      splice(b, below(b->len), 1, "", 0);
    break;
  case 1: { /* insert one char */
    char c = punct[below(sizeof punct - 1)];
    splice(b, pos, 0, &c, 1);
    break;
  }
  case 2: /* delete a range */
    splice(b, pos, 1 + below(16), "", 0);
    break;
  case 3: { /* duplicate a range */
    size_t len = 1 + below(32);
    if (pos + len > b->len)
      len = b->len - pos;
    char *copy = malloc(len + 1);
    memcpy(copy, b->p + pos, len);
    splice(b, pos, 0, copy, len);
    free(copy);
    break;
  }
  case 4: /* swap two chars */
    if (b->len >= 2) {
      size_t i = below(b->len), j = below(b->len);
      char c = b->p[i];
      b->p[i] = b->p[j];
      b->p[j] = c;
    }
    break;
  case 5: /* delete a token */
    if (nt) {
      tok k = t[below(nt)];
      splice(b, k.pos, k.len, "", 0);
    }
    break;
  case 6: /* duplicate a token somewhere else */
    if (nt) {
      tok k = t[below(nt)];
      char *copy = malloc(k.len + 2);
      memcpy(copy, b->p + k.pos, k.len);
      copy[k.len] = ' ';
      splice(b, t[below(nt)].pos, 0, copy, k.len + 1);
      free(copy);
    }
    break;
  case 7: /* swap two tokens */
    if (nt >= 2) {
      size_t i = below(nt), j = below(nt);
      if (i > j) {
        size_t s = i;
        i = j;
        j = s;
      }
      if (i != j) {
        tok a = t[i], c = t[j];
        char *ta = malloc(a.len + 1), *tc = malloc(c.len + 1);
        memcpy(ta, b->p + a.pos, a.len);
        memcpy(tc, b->p + c.pos, c.len);
        splice(b, c.pos, c.len, ta, a.len); /* later one first */
        splice(b, a.pos, a.len, tc, c.len);
        free(ta);
        free(tc);
      }
    }
    break;
  case 8: /* replace a token by a word */
    if (nt) {
      tok k = t[below(nt)];
      const char *w = words[below(N_WORDS)];
      splice(b, k.pos, k.len, w, strlen(w));
    }
    break;
  case 9: { /* insert a word */
    const char *w = words[below(N_WORDS)];
    size_t at = nt ? t[below(nt)].pos : pos;
    if (below(2))
      at = pos;
    splice(b, at, 0, w, strlen(w));
    break;
  }
  case 10: /* truncate */
    b->len = pos;
    b->p[pos] = 0;
    break;
  case 11: { /* change a digit (or grow a number) */
    size_t start = below(b->len + 1);
    for (size_t i = 0; i < b->len; i++) {
      size_t k = (start + i) % b->len;
      if (b->p[k] >= '0' && b->p[k] <= '9') {
        if (below(3)) {
          b->p[k] = (char)('0' + below(10));
        } else {
          const char *big = below(2) ? "0000000000000000000" : "999999999";
          splice(b, k, 0, big, strlen(big));
        }
        break;
      }
    }
    break;
  }
  case 12: { /* move a range */
    size_t len = 1 + below(24);
    if (pos + len > b->len)
      len = b->len - pos;
    char *copy = malloc(len + 1);
    memcpy(copy, b->p + pos, len);
    splice(b, pos, len, "", 0);
    splice(b, below(b->len + 1), 0, copy, len);
    free(copy);
    break;
  }
  case 13: /* an embedded NUL byte */
    splice(b, pos, 0, "\0", 1);
    break;
  }
}

/* ------------------------------------------------------------------ sources */

typedef struct src {
  char *name;
  buf text;
} src;

static src *srcs;
static int n_srcs;

static void add_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "mutate: cannot open %s\n", path);
    exit(2);
  }
  buf b = {0};
  char chunk[4096];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
    splice(&b, b.len, 0, chunk, got);
  fclose(f);
  if (!b.p)
    set(&b, "", 0);
  srcs = realloc(srcs, (size_t)(n_srcs + 1) * sizeof *srcs);
  srcs[n_srcs].name = strdup(path);
  srcs[n_srcs].text = b;
  n_srcs++;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void add_dir(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "mutate: cannot open directory %s\n", dir);
    exit(2);
  }
  char **names = NULL;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len > 3 && !strcmp(e->d_name + len - 3, ".tc")) {
      names = realloc(names, (size_t)(n + 1) * sizeof *names);
      names[n] = malloc(strlen(dir) + len + 2);
      sprintf(names[n], "%s/%s", dir, e->d_name);
      n++;
    }
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str); /* readdir order is not stable */
  for (int i = 0; i < n; i++) {
    add_file(names[i]);
    free(names[i]);
  }
  free(names);
}

/* ------------------------------------------------------------------ checking */

static long current = -1; /* mutant being compiled, for crash reports */
static uint64_t base_seed = 20240601;

static void on_death(void)
{
  char msg[160];
  int n = snprintf(msg, sizeof msg,
                   "mutate: died on mutant %ld (seed %llu); reproduce: mutate --seed %llu --only %ld --print\n",
                   current, (unsigned long long)base_seed, (unsigned long long)base_seed, current);
  if (n > 0 && write(2, msg, (size_t)n) < 0)
    return;
}

/* Present when linked with a sanitizer runtime. */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static FILE *devnull;
static int do_emit;

/* Returns NULL on success, else what went wrong. */
static const char *check(const char *name, const buf *text, int *compiled)
{
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  if (!ctx)
    return "aotc_ctx_new returned NULL";
  const char *why = NULL;
  const aotc_source *s = aotc_add_source(ctx, name, text->p, text->len);
  if (!s) {
    aotc_ctx_free(ctx);
    return "aotc_add_source returned NULL";
  }
  ir_module *m = tc_compile(ctx, s);
  *compiled = m != NULL;
  if (m && ctx->n_errors > 0)
    why = "tc_compile returned a module although errors were reported";
  else if (!m && ctx->n_errors == 0 && !ctx->oom)
    why = "tc_compile returned NULL without reporting an error";
  if (m && !why) {
    for (int i = 0; i < m->n_funcs; i++)
      if (!ir_verify(ctx, m->funcs[i])) {
        why = "ir_verify rejected a function tc_compile returned";
        break;
      }
  }
  if (m && !why && do_emit && m->n_funcs > 0) {
    emit_options opt;
    memset(&opt, 0, sizeof opt);
    opt.fuse = true;
    opt.header_name = "mutant.h";
    int errors = ctx->n_errors;
    bool ok = emit_c_module(ctx, m, m->funcs, m->n_funcs, &opt, devnull, devnull);
    if (ok && ctx->n_errors > errors)
      why = "emit_c_module returned true although errors were reported";
    else if (!ok && ctx->n_errors == errors && !ctx->oom)
      why = "emit_c_module returned false without reporting an error";
  }
  for (int i = 0; i < ctx->n_diags; i++)
    if (!ctx->diags[i].msg || !ctx->diags[i].msg[0]) {
      why = "a diagnostic with an empty message";
      break;
    }
  aotc_print_diags(ctx, devnull);
  if (why)
    aotc_print_diags(ctx, stderr);
  aotc_ctx_free(ctx);
  return why;
}

int main(int argc, char **argv)
{
  long n = 3000, only = -1;
  int print = 0, have_inputs = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc)
      base_seed = strtoull(argv[++i], NULL, 0);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--print"))
      print = 1;
    else if (!strcmp(argv[i], "--emit"))
      do_emit = 1;
    else if (argv[i][0] >= '0' && argv[i][0] <= '9')
      n = strtol(argv[i], NULL, 10);
    else {
      size_t len = strlen(argv[i]);
      if (len > 3 && !strcmp(argv[i] + len - 3, ".tc"))
        add_file(argv[i]);
      else
        add_dir(argv[i]);
      have_inputs = 1;
    }
  }
  if (!have_inputs)
    add_dir(KERNEL_DIR);
  if (n_srcs == 0) {
    fprintf(stderr, "mutate: no .tc files\n");
    return 2;
  }
  devnull = fopen("/dev/null", "w");
  if (!devnull)
    devnull = stderr;
  if (__sanitizer_set_death_callback)
    __sanitizer_set_death_callback(on_death);

  long passed = 0, failed = 0;
  int compiled;

  /* The unmutated sources: a note when one does not compile. */
  if (only < 0) {
    int ok = 0;
    for (int i = 0; i < n_srcs; i++) {
      const char *why = check(srcs[i].name, &srcs[i].text, &compiled);
      if (why) {
        fprintf(stderr, "FAIL %s (unmutated): %s\n", srcs[i].name, why);
        failed++;
      }
      if (!compiled)
        fprintf(stderr, "note: %s does not compile unmutated\n", srcs[i].name);
      ok += compiled;
    }
    printf("%d of %d unmutated sources compile\n", ok, n_srcs);
  }

  buf b = {0};
  long n_compiled = 0;
  for (long k = 0; k < n; k++) {
    if (only >= 0 && k != only)
      continue;
    uint64_t s = base_seed * 0x100000001b3ull ^ (uint64_t)k;
    rng_state = splitmix(&s);
    src *a = &srcs[below((size_t)n_srcs)];
    set(&b, a->text.p, a->text.len);
    char kinds[256] = "";
    if (below(16) == 0) { /* splice with another file */
      src *c = &srcs[below((size_t)n_srcs)];
      size_t cut = below(b.len + 1), from = below(c->text.len + 1);
      b.len = cut;
      splice(&b, cut, 0, c->text.p + from, c->text.len - from);
      strcat(kinds, "crossover ");
    }
    int edits = 1 + (int)below(2) + (below(4) == 0) + (below(8) == 0);
    for (int e = 0; e < edits; e++) {
      int kind;
      mutate_once(&b, &kind);
      strcat(kinds, edit_name[kind]);
      strcat(kinds, " ");
    }
    current = k;
    if (print) {
      printf("--- mutant %ld of %s (%s)\n", k, a->name, kinds);
      fwrite(b.p, 1, b.len, stdout);
      printf("\n---\n");
      fflush(stdout);
    }
    const char *why = check(a->name, &b, &compiled);
    current = -1;
    n_compiled += compiled;
    if (why) {
      failed++;
      fprintf(stderr, "FAIL mutant %ld of %s (%s): %s\n", k, a->name, kinds, why);
      fprintf(stderr, "    reproduce: mutate --seed %llu --only %ld --print\n", (unsigned long long)base_seed, k);
    } else {
      passed++;
    }
  }
  free(b.p);
  printf("%ld mutants still compiled\n", n_compiled);
  printf("%ld passed, %ld failed\n", passed, failed);
  for (int i = 0; i < n_srcs; i++) {
    free(srcs[i].name);
    free(srcs[i].text.p);
  }
  free(srcs);
  if (devnull != stderr)
    fclose(devnull);
  return failed ? 1 : 0;
}
