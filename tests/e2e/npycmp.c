/* npycmp.c: compares two .npy files (tests/e2e).
 *
 *   npycmp [--tol T] GOT.npy EXPECTED.npy
 *
 * Reads .npy format versions 1, 2 and 3 (C order, little-endian) with element
 * types <f4 <f8 <i4 <i8 (also |b1 |i1 |u1 <i2 <u2 <u4 <u8). Both files must
 * have the same element type and the same shape. Floating-point elements
 * match when |got - exp| <= T * (1 + |exp|) elementwise (T defaults to 1e-4;
 * NaN matches NaN, an infinity only the same infinity); integer elements
 * must be equal. Exit status: 0 match, 1 mismatch, 2 unreadable input or bad
 * usage. One line on stdout says why when it is not 0.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RANK 32

typedef struct npy {
  char descr[8];  /* normalised: "f4", "i8", ... */
  int itemsize;
  int is_float, is_signed;
  int rank;
  int64_t shape[MAX_RANK];
  int64_t numel;
  unsigned char *buf; /* whole file */
  const unsigned char *data;
} npy;

static unsigned char *read_all(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  unsigned char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap)
      break;
    unsigned char *nb = realloc(buf, cap * 2);
    if (!nb) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  if (ferror(f)) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* Value text after 'key': in the header dict, NULL if absent. */
static const char *dict_value(const char *hdr, const char *key)
{
  char pat[32];
  snprintf(pat, sizeof pat, "'%s'", key);
  const char *p = strstr(hdr, pat);
  if (!p)
    return NULL;
  p += strlen(pat);
  while (*p == ' ')
    p++;
  if (*p != ':')
    return NULL;
  p++;
  while (*p == ' ')
    p++;
  return p;
}

static int fail(const char *path, const char *why)
{
  printf("npycmp: %s: %s\n", path, why);
  return 0;
}

static int load(const char *path, npy *a)
{
  size_t len = 0;
  memset(a, 0, sizeof *a);
  a->buf = read_all(path, &len);
  if (!a->buf) {
    printf("npycmp: %s: cannot read: %s\n", path, strerror(errno));
    return 0;
  }
  const unsigned char *b = a->buf;
  if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
    return fail(path, "not a .npy file");
  size_t hlen, off;
  if (b[6] == 1) {
    hlen = (size_t)b[8] | (size_t)b[9] << 8;
    off = 10;
  } else if (b[6] == 2 || b[6] == 3) {
    if (len < 12)
      return fail(path, "truncated header");
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    off = 12;
  } else {
    return fail(path, "unsupported .npy version");
  }
  if (hlen > len - off)
    return fail(path, "truncated header");
  char *hdr = malloc(hlen + 1);
  if (!hdr)
    return fail(path, "out of memory");
  memcpy(hdr, b + off, hlen);
  hdr[hlen] = 0;
  off += hlen;

  const char *v = dict_value(hdr, "descr");
  if (!v || (*v != '\'' && *v != '"')) {
    free(hdr);
    return fail(path, "no descr in header");
  }
  char q = *v++;
  char d[8] = {0};
  int n = 0;
  while (*v && *v != q && n < 7)
    d[n++] = *v++;
  if (n != 3 || *v != q || (d[0] != '<' && d[0] != '|' && d[0] != '=')) {
    free(hdr);
    return fail(path, "unsupported descr (only little-endian scalars)");
  }
  memcpy(a->descr, d + 1, 3);
  char kind = d[1];
  a->itemsize = d[2] - '0';
  if (!((kind == 'f' && (a->itemsize == 4 || a->itemsize == 8)) ||
        ((kind == 'i' || kind == 'u') && (a->itemsize == 1 || a->itemsize == 2 || a->itemsize == 4 || a->itemsize == 8)) ||
        (kind == 'b' && a->itemsize == 1))) {
    free(hdr);
    return fail(path, "unsupported element type");
  }
  a->is_float = kind == 'f';
  a->is_signed = kind == 'i' || kind == 'f';

  v = dict_value(hdr, "fortran_order");
  if (!v || strncmp(v, "False", 5) != 0) {
    free(hdr);
    return fail(path, "fortran_order is not False");
  }
  v = dict_value(hdr, "shape");
  if (!v || *v != '(') {
    free(hdr);
    return fail(path, "no shape in header");
  }
  v++;
  a->numel = 1;
  for (;;) {
    while (*v == ' ' || *v == ',')
      v++;
    if (*v == ')')
      break;
    if (*v < '0' || *v > '9' || a->rank == MAX_RANK) {
      free(hdr);
      return fail(path, "bad shape");
    }
    char *end;
    long long dim = strtoll(v, &end, 10);
    v = end;
    if (*v == 'L')
      v++;
    a->shape[a->rank++] = dim;
    if (dim != 0 && a->numel > INT64_MAX / 8 / dim) {
      free(hdr);
      return fail(path, "shape too large");
    }
    a->numel *= dim;
  }
  free(hdr);
  if ((uint64_t)a->numel * (uint64_t)a->itemsize > len - off)
    return fail(path, "truncated data");
  a->data = b + off;
  return 1;
}

static double get_f(const npy *a, int64_t i)
{
  if (a->itemsize == 4) {
    float f;
    memcpy(&f, a->data + i * 4, 4);
    return f;
  }
  double d;
  memcpy(&d, a->data + i * 8, 8);
  return d;
}

/* Integer element i as int64 (uint64 above INT64_MAX wraps; both files
 * have the same type, so equality is still exact). */
static int64_t get_i(const npy *a, int64_t i)
{
  const unsigned char *p = a->data + i * a->itemsize;
  switch (a->itemsize) {
  case 1:
    return a->is_signed ? (int64_t)(int8_t)p[0] : (int64_t)p[0];
  case 2: {
    uint16_t u;
    memcpy(&u, p, 2);
    return a->is_signed ? (int64_t)(int16_t)u : (int64_t)u;
  }
  case 4: {
    uint32_t u;
    memcpy(&u, p, 4);
    return a->is_signed ? (int64_t)(int32_t)u : (int64_t)u;
  }
  default: {
    int64_t s;
    memcpy(&s, p, 8);
    return s;
  }
  }
}

static void print_shape(const npy *a)
{
  printf("(");
  for (int i = 0; i < a->rank; i++)
    printf("%s%" PRId64, i ? ", " : "", a->shape[i]);
  printf(a->rank == 1 ? ",)" : ")");
}

static void print_index(const npy *a, int64_t flat)
{
  int64_t idx[MAX_RANK];
  for (int d = a->rank - 1; d >= 0; d--) {
    idx[d] = a->shape[d] ? flat % a->shape[d] : 0;
    flat = a->shape[d] ? flat / a->shape[d] : 0;
  }
  printf("[");
  for (int d = 0; d < a->rank; d++)
    printf("%s%" PRId64, d ? ", " : "", idx[d]);
  printf("]");
}

int main(int argc, char **argv)
{
  double tol = 1e-4;
  int i = 1;
  if (i + 1 < argc && !strcmp(argv[i], "--tol")) {
    char *end;
    tol = strtod(argv[i + 1], &end);
    if (*end || !(tol >= 0)) {
      fprintf(stderr, "npycmp: bad tolerance '%s'\n", argv[i + 1]);
      return 2;
    }
    i += 2;
  }
  if (argc - i != 2) {
    fprintf(stderr, "usage: npycmp [--tol T] GOT.npy EXPECTED.npy\n");
    return 2;
  }
  const char *gp = argv[i], *ep = argv[i + 1];
  npy g, e;
  if (!load(gp, &g)) {
    free(g.buf);
    return 2;
  }
  if (!load(ep, &e)) {
    free(g.buf);
    free(e.buf);
    return 2;
  }
  int rc = 0;
  if (strcmp(g.descr, e.descr) != 0) {
    printf("npycmp: element type %s, expected %s\n", g.descr, e.descr);
    rc = 1;
  } else if (g.rank != e.rank || memcmp(g.shape, e.shape, sizeof(int64_t) * (size_t)g.rank) != 0) {
    printf("npycmp: shape ");
    print_shape(&g);
    printf(", expected ");
    print_shape(&e);
    printf("\n");
    rc = 1;
  } else {
    int64_t bad = 0, first = -1, worst = -1;
    double worst_err = 0;
    for (int64_t k = 0; k < e.numel; k++) {
      int ok;
      double err = 0;
      if (e.is_float) {
        double a = get_f(&g, k), b = get_f(&e, k);
        if (isnan(b) || isnan(a))
          ok = isnan(a) && isnan(b), err = ok ? 0 : INFINITY;
        else if (isinf(b) || isinf(a))
          ok = a == b, err = ok ? 0 : INFINITY;
        else
          err = fabs(a - b) / (1.0 + fabs(b)), ok = err <= tol;
      } else {
        int64_t a = get_i(&g, k), b = get_i(&e, k);
        ok = a == b;
        err = ok ? 0 : 1;
      }
      if (!ok) {
        bad++;
        if (first < 0)
          first = k;
      }
      if (err > worst_err || worst < 0) {
        worst_err = err;
        worst = k;
      }
    }
    if (bad) {
      printf("npycmp: %" PRId64 " of %" PRId64 " elements differ; first at ", bad, e.numel);
      print_index(&e, first);
      if (e.is_float)
        printf(": got %.9g, expected %.9g; worst ", get_f(&g, first), get_f(&e, first));
      else
        printf(": got %" PRId64 ", expected %" PRId64 "; worst ", get_i(&g, first), get_i(&e, first));
      print_index(&e, worst);
      if (e.is_float)
        printf(": got %.9g, expected %.9g (relative error %.3g)\n", get_f(&g, worst), get_f(&e, worst), worst_err);
      else
        printf(": got %" PRId64 ", expected %" PRId64 "\n", get_i(&g, worst), get_i(&e, worst));
      rc = 1;
    }
  }
  free(g.buf);
  free(e.buf);
  return rc;
}
