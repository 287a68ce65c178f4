/* npyrand.c: draws random sizes and inputs for one case of
 * tests/kernels/random.txt and writes them as .npy files (tests/e2e).
 *
 *   npyrand SEED ENTRY OUTDIR SIZE=LO:HI ... : NAME=TYPE[DIMS](LO,HI[,pm]) ...
 *
 * Sizes are drawn in order, LO <= v <= HI, both expressions over integers and
 * earlier sizes (+ - * and parentheses). TYPE is f4 f8 i4 i8; DIMS are
 * comma-separated expressions (empty: a scalar, written as a 0-d array).
 * Floats are uniform in [LO, HI] (default -1, 1), integers uniform in
 * [LO, HI) with LO and HI expressions (default -10, 10); pm flips the sign of
 * each element with probability 1/2. The draw depends only on SEED and ENTRY.
 * Writes OUTDIR/NAME.npy for every input and prints the sizes on stdout
 * (`M=3 K=7 N=1`). Exit status 2 on a bad spec.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIZES 32
#define MAX_RANK 8

static uint64_t state;

static uint64_t next(void)
{
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double uniform(void) { return (double)(next() >> 11) * (1.0 / 9007199254740992.0); }

static char size_names[MAX_SIZES][32];
static int64_t size_values[MAX_SIZES];
static int n_sizes;

static void die(const char *what, const char *text)
{
  fprintf(stderr, "npyrand: %s: '%s'\n", what, text);
  exit(2);
}

/* expr = term (("+" | "-") term)*; term = factor ("*" factor)*;
 * factor = INT | NAME | "(" expr ")" | "-" factor */
static const char *cur, *whole;
static int64_t expr(void);

static int64_t factor(void)
{
  if (*cur == '-') {
    cur++;
    return -factor();
  }
  if (*cur == '(') {
    cur++;
    int64_t v = expr();
    if (*cur++ != ')')
      die("expected ')' in", whole);
    return v;
  }
  if (isdigit((unsigned char)*cur)) {
    char *end;
    int64_t v = strtoll(cur, &end, 10);
    cur = end;
    return v;
  }
  if (isalpha((unsigned char)*cur) || *cur == '_') {
    const char *s = cur;
    while (isalnum((unsigned char)*cur) || *cur == '_')
      cur++;
    for (int i = 0; i < n_sizes; i++)
      if (strlen(size_names[i]) == (size_t)(cur - s) && !strncmp(size_names[i], s, (size_t)(cur - s)))
        return size_values[i];
    die("unknown size in", whole);
  }
  die("bad expression", whole);
  return 0;
}

static int64_t term(void)
{
  int64_t v = factor();
  while (*cur == '*') {
    cur++;
    v *= factor();
  }
  return v;
}

static int64_t expr(void)
{
  int64_t v = term();
  for (;;) {
    if (*cur == '+') {
      cur++;
      v += term();
    } else if (*cur == '-') {
      cur++;
      v -= term();
    } else {
      return v;
    }
  }
}

/* Evaluates text[0..len). */
static int64_t eval(const char *text, size_t len)
{
  char buf[128];
  if (len >= sizeof buf)
    die("expression too long", text);
  memcpy(buf, text, len);
  buf[len] = 0;
  cur = whole = buf;
  int64_t v = expr();
  if (*cur)
    die("trailing text in expression", buf);
  return v;
}

static void write_npy(const char *path, const char *descr, int rank, const int64_t *shape, const void *data,
                      size_t bytes)
{
  char hdr[256];
  int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < rank; i++)
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%lld%s", (long long)shape[i], rank == 1 ? "," : i + 1 < rank ? ", " : "");
  n += snprintf(hdr + n, sizeof hdr - (size_t)n, "), }");
  int total = 10 + n + 1;
  int pad = (64 - total % 64) % 64;
  FILE *f = fopen(path, "wb");
  if (!f)
    die("cannot write", path);
  unsigned short hlen = (unsigned short)(n + pad + 1);
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
  fwrite(pre, 1, 10, f);
  fwrite(hdr, 1, (size_t)n, f);
  for (int i = 0; i < pad; i++)
    fputc(' ', f);
  fputc('\n', f);
  if (bytes)
    fwrite(data, 1, bytes, f);
  if (fclose(f) != 0)
    die("cannot write", path);
}

static uint64_t hash(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static void gen_input(const char *outdir, const char *tok)
{
  /* NAME=TYPE[DIMS](LO,HI[,pm]) */
  const char *eq = strchr(tok, '='), *lb = strchr(tok, '['), *rb = strchr(tok, ']');
  if (!eq || !lb || !rb || lb != eq + 3 || rb < lb)
    die("bad input", tok);
  char name[64], ty[3] = {eq[1], eq[2], 0};
  if ((size_t)(eq - tok) >= sizeof name)
    die("name too long", tok);
  memcpy(name, tok, (size_t)(eq - tok));
  name[eq - tok] = 0;
  int is_float = ty[0] == 'f', bytes = ty[1] - '0';
  if (!((ty[0] == 'f' || ty[0] == 'i') && (bytes == 4 || bytes == 8)))
    die("bad type", tok);

  int rank = 0;
  int64_t shape[MAX_RANK], numel = 1;
  const char *p = lb + 1;
  while (p < rb) {
    const char *c = p;
    while (c < rb && *c != ',')
      c++;
    if (rank == MAX_RANK)
      die("rank too large", tok);
    shape[rank] = eval(p, (size_t)(c - p));
    if (shape[rank] < 0)
      die("negative dimension", tok);
    numel *= shape[rank++];
    p = c < rb ? c + 1 : c;
  }

  double flo = -1, fhi = 1;
  int64_t ilo = -10, ihi = 10;
  int pm = 0;
  if (rb[1] == '(') {
    const char *a = rb + 2, *c1 = strchr(a, ','), *end = strchr(a, ')');
    if (!c1 || !end || c1 > end)
      die("bad range", tok);
    const char *c2 = memchr(c1 + 1, ',', (size_t)(end - c1 - 1));
    const char *hi_end = c2 ? c2 : end;
    if (c2) {
      if (strncmp(c2 + 1, "pm", 2) || c2 + 3 != end)
        die("bad range flag", tok);
      pm = 1;
    }
    if (is_float) {
      flo = strtod(a, NULL);
      fhi = strtod(c1 + 1, NULL);
    } else {
      ilo = eval(a, (size_t)(c1 - a));
      ihi = eval(c1 + 1, (size_t)(hi_end - c1 - 1));
      if (ihi <= ilo && numel > 0)
        die("empty integer range", tok);
    }
  } else if (rb[1]) {
    die("trailing text", tok);
  }

  size_t nbytes = (size_t)numel * (size_t)bytes;
  unsigned char *data = malloc(nbytes ? nbytes : 1);
  if (!data)
    die("out of memory for", tok);
  for (int64_t i = 0; i < numel; i++) {
    int neg = pm && (next() & 1);
    if (is_float) {
      double v = flo + (fhi - flo) * uniform();
      if (neg)
        v = -v;
      if (bytes == 4) {
        float f = (float)v;
        memcpy(data + i * 4, &f, 4);
      } else {
        memcpy(data + i * 8, &v, 8);
      }
    } else {
      int64_t v = ilo + (int64_t)(next() % (uint64_t)(ihi - ilo)); /* numel > 0: ihi > ilo */
      if (neg)
        v = -v;
      if (bytes == 4) {
        int32_t w = (int32_t)v;
        memcpy(data + i * 4, &w, 4);
      } else {
        memcpy(data + i * 8, &v, 8);
      }
    }
  }
  char path[4096], descr[4] = {'<', ty[0], ty[1], 0};
  snprintf(path, sizeof path, "%s/%s.npy", outdir, name);
  write_npy(path, descr, rank, shape, data, nbytes);
  free(data);
}

int main(int argc, char **argv)
{
  if (argc < 5) {
    fprintf(stderr, "usage: npyrand SEED ENTRY OUTDIR SIZE=LO:HI ... : NAME=TYPE[DIMS](LO,HI[,pm]) ...\n");
    return 2;
  }
  state = strtoull(argv[1], NULL, 0) * 0x100000001b3ull ^ hash(argv[2]);
  next();
  const char *outdir = argv[3];
  int i = 4;
  for (; i < argc && strcmp(argv[i], ":"); i++) {
    const char *tok = argv[i], *eq = strchr(tok, '='), *colon = eq ? strchr(eq, ':') : NULL;
    if (!eq || !colon || n_sizes == MAX_SIZES || (size_t)(eq - tok) >= sizeof size_names[0])
      die("bad size", tok);
    int64_t lo = eval(eq + 1, (size_t)(colon - eq - 1)), hi = eval(colon + 1, strlen(colon + 1));
    if (hi < lo)
      die("empty size range", tok);
    memcpy(size_names[n_sizes], tok, (size_t)(eq - tok));
    size_names[n_sizes][eq - tok] = 0;
    size_values[n_sizes] = lo + (int64_t)(next() % (uint64_t)(hi - lo + 1));
    n_sizes++;
  }
  if (i == argc)
    die("missing ':' between sizes and inputs", argv[argc - 1]);
  for (i++; i < argc; i++)
    gen_input(outdir, argv[i]);
  for (int k = 0; k < n_sizes; k++)
    printf("%s%s=%lld", k ? " " : "", size_names[k], (long long)size_values[k]);
  printf("\n");
  return 0;
}
