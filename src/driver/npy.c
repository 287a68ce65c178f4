/* npy.c: NumPy .npy reader and writer for the `aotc run` inputs and outputs.
 * The reader is defensive: every length is checked against the buffer. */
#include "npy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
  const char *descr;
  ir_type type;
} npy_types[] = {
    {"<f4", IR_F32}, {"<f8", IR_F64}, {"<i4", IR_I32}, {"<i8", IR_I64}, {"|i1", IR_I8},
    {"|u1", IR_U8},  {"<i2", IR_I16}, {"<u2", IR_U16}, {"<u4", IR_U32}, {"<u8", IR_U64},
    {"|b1", IR_BOOL},
};
#define N_NPY_TYPES (sizeof(npy_types) / sizeof(npy_types[0]))

unsigned char *driver_read_file(aotc_ctx *ctx, const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  struct stat st;
  if (!f) {
    aotc_error(ctx, (ir_loc){0}, "cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  if (fstat(fileno(f), &st) == 0 && (S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
    fclose(f);
    aotc_error(ctx, (ir_loc){0}, "cannot read '%s': it is a %s, not a file", path,
               S_ISDIR(st.st_mode) ? "folder" : "device");
    return NULL;
  }
  size_t cap = 1 << 16, n = 0, budget = (size_t)aotc_max_bytes(ctx);
  unsigned char *buf = aotc_malloc(ctx, cap + 1);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap || n > budget)
      break;
    cap = cap > budget / 2 ? budget + 1 : cap * 2;
    unsigned char *nb = aotc_realloc(ctx, buf, cap + 1);
    if (!nb)
      aotc_free(ctx, buf);
    buf = nb;
  }
  bool err = ferror(f);
  fclose(f);
  if (buf && n > budget) {
    aotc_free(ctx, buf);
    aotc_error(ctx, (ir_loc){0}, "'%s' is larger than the memory budget of %zu bytes (--max-memory)", path, budget);
    return NULL;
  }
  if (!buf || err) {
    aotc_free(ctx, buf);
    aotc_error(ctx, (ir_loc){0}, "cannot read '%s'", path);
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

/* Value of `'key':` in the header dictionary, or NULL. */
static const char *dict_value(const char *hdr, const char *key)
{
  const char *p = strstr(hdr, key);
  if (!p)
    return NULL;
  p += strlen(key);
  while (*p == ' ' || *p == ':')
    p++;
  return p;
}

static bool parse_descr(const char *hdr, ir_type *type)
{
  const char *p = dict_value(hdr, "'descr'");
  if (!p || *p != '\'')
    return false;
  p++;
  for (size_t i = 0; i < N_NPY_TYPES; i++) {
    size_t n = strlen(npy_types[i].descr);
    if (!strncmp(p, npy_types[i].descr, n) && p[n] == '\'') {
      *type = npy_types[i].type;
      return true;
    }
    if (npy_types[i].descr[0] == '|' && (p[0] == '<' || p[0] == '=') && !strncmp(p + 1, npy_types[i].descr + 1, n - 1) &&
        p[n] == '\'') {
      *type = npy_types[i].type;
      return true;
    }
  }
  return false;
}

/* Parses 'shape': (d0, d1, ...); NULL, or what is wrong with it. */
static const char *parse_shape(const char *hdr, npy_array *a)
{
  const char *p = dict_value(hdr, "'shape'");
  if (!p || *p != '(')
    return "no 'shape' tuple in the header";
  p++;
  a->rank = 0;
  a->numel = 1;
  for (;;) {
    while (*p == ' ' || *p == ',')
      p++;
    if (*p == ')')
      return NULL;
    if (*p == '-')
      return "a negative dimension";
    if (*p < '0' || *p > '9')
      return "a dimension that is not a number";
    if (a->rank == NPY_MAX_RANK)
      return "more than 16 dimensions";
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (errno || __builtin_mul_overflow(a->numel, (int64_t)v, &a->numel))
      return "more elements than 64 bits can count";
    a->shape[a->rank++] = v;
    p = end;
    while (*p == 'L')
      p++;
    if (*p != ',' && *p != ')' && *p != ' ')
      return "a dimension that is not a number";
  }
}

bool driver_npy_looks_like(const char *path, const unsigned char *buf, size_t len)
{
  size_t n = strlen(path);
  return (len >= 6 && !memcmp(buf, "\x93NUMPY", 6)) || (n >= 4 && !strcmp(path + n - 4, ".npy"));
}

/* The header's length and where it starts, for format versions 1 to 3. */
static bool parse_preamble(aotc_ctx *ctx, const char *name, const unsigned char *buf, size_t len, size_t *hlen,
                           size_t *off)
{
  if (len == 0) {
    aotc_error(ctx, (ir_loc){0}, "'%s' is empty, not a .npy file", name);
    return false;
  }
  if (memcmp(buf, "\x93NUMPY", len < 6 ? len : 6)) {
    aotc_error(ctx, (ir_loc){0}, "'%s' is not a .npy file (it does not start with \\x93NUMPY)", name);
    return false;
  }
  int major = len > 6 ? buf[6] : 1;
  *off = major == 1 ? 10 : 12;
  if (major < 1 || major > 3) {
    aotc_error(ctx, (ir_loc){0}, "'%s': unsupported .npy version %d", name, major);
    return false;
  }
  if (len < *off) {
    aotc_error(ctx, (ir_loc){0}, "'%s': truncated .npy file: %zu bytes, the preamble alone takes %zu", name, len,
               *off);
    return false;
  }
  *hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
  if (major > 1)
    *hlen |= (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
  if (*hlen > len - *off) {
    aotc_error(ctx, (ir_loc){0}, "'%s': truncated .npy header: it declares %zu bytes, the file holds %zu after the preamble",
               name, *hlen, len - *off);
    return false;
  }
  return true;
}

static bool parse_header(aotc_ctx *ctx, const char *name, const char *hdr, npy_array *out)
{
  const char *fo = dict_value(hdr, "'fortran_order'");
  if (!fo || strncmp(fo, "False", 5)) {
    aotc_error(ctx, (ir_loc){0}, "'%s': only C-order .npy arrays are supported", name);
    return false;
  }
  if (!parse_descr(hdr, &out->type)) {
    aotc_error(ctx, (ir_loc){0}, "'%s': unsupported element type (supported: float32, float64, int8-64, uint8-64, bool, little-endian)", name);
    return false;
  }
  const char *wrong = parse_shape(hdr, out);
  if (wrong) {
    aotc_error(ctx, (ir_loc){0}, "'%s': malformed shape in the .npy header: %s", name, wrong);
    return false;
  }
  return true;
}

/* The data's size in bytes, checked against the bytes present and the
 * memory budget. */
static bool check_data(aotc_ctx *ctx, const char *name, const npy_array *a, size_t present, size_t *bytes)
{
  int64_t b;
  if (__builtin_mul_overflow(a->numel, (int64_t)ir_types[a->type].bytes, &b) || b > aotc_max_bytes(ctx)) {
    aotc_error(ctx, (ir_loc){0}, "'%s': %lld elements of %s exceed the memory budget of %lld bytes (--max-memory)", name,
               (long long)a->numel, ir_types[a->type].name, (long long)aotc_max_bytes(ctx));
    return false;
  }
  if ((uint64_t)b > present) {
    aotc_error(ctx, (ir_loc){0}, "'%s': truncated .npy data: its shape needs %lld bytes of %s, the file holds %zu", name,
               (long long)b, ir_types[a->type].name, present);
    return false;
  }
  *bytes = (size_t)b;
  return true;
}

bool driver_npy_parse(aotc_ctx *ctx, const char *name, const unsigned char *buf, size_t len, npy_array *out)
{
  size_t hlen, off, bytes;
  memset(out, 0, sizeof(*out));
  if (!parse_preamble(ctx, name, buf, len, &hlen, &off))
    return false;
  char *hdr = ir_strndup(ctx, (const char *)buf + off, hlen);
  if (!hdr || !parse_header(ctx, name, hdr, out) || !check_data(ctx, name, out, len - off - hlen, &bytes))
    return false;
  out->ctx = ctx;
  out->data = aotc_malloc(ctx, bytes ? bytes : 1);
  if (!out->data) {
    aotc_error(ctx, (ir_loc){0}, "'%s': out of memory", name);
    return false;
  }
  memcpy(out->data, buf + off + hlen, bytes);
  return true;
}

bool driver_npy_load(aotc_ctx *ctx, const char *path, npy_array *out)
{
  size_t len;
  unsigned char *buf = driver_read_file(ctx, path, &len);
  if (!buf)
    return false;
  bool ok = driver_npy_parse(ctx, path, buf, len, out);
  aotc_free(ctx, buf);
  return ok;
}

static const char *descr_of(ir_type t)
{
  for (size_t i = 0; i < N_NPY_TYPES; i++)
    if (npy_types[i].type == t)
      return npy_types[i].descr;
  return NULL;
}

bool driver_npy_save(aotc_ctx *ctx, const char *path, const npy_array *a)
{
  char dict[512];
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr_of(a->type));
  for (int i = 0; i < a->rank; i++)
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%lld%s", (long long)a->shape[i],
                  a->rank == 1 ? "," : (i + 1 < a->rank ? ", " : ""));
  n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
  int total = 10 + n + 1;
  int pad = (64 - total % 64) % 64;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
  int hlen = n + pad + 1;
  pre[8] = (unsigned char)(hlen & 0xff);
  pre[9] = (unsigned char)(hlen >> 8);
  FILE *f = fopen(path, "wb");
  if (!f) {
    aotc_error(ctx, (ir_loc){0}, "cannot write '%s': %s", path, strerror(errno));
    return false;
  }
  size_t bytes = (size_t)a->numel * (size_t)ir_types[a->type].bytes;
  bool ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
  for (int i = 0; ok && i < pad; i++)
    ok = fputc(' ', f) != EOF;
  ok = ok && fputc('\n', f) != EOF && fwrite(a->data, 1, bytes, f) == bytes;
  ok = (fclose(f) == 0) && ok;
  if (!ok) {
    remove(path);
    aotc_error(ctx, (ir_loc){0}, "cannot write '%s'", path);
  }
  return ok;
}

static void *array_alloc(aotc_ctx *ctx, size_t bytes)
{
  return ctx ? aotc_malloc(ctx, bytes) : malloc(bytes);
}

void driver_npy_free(npy_array *a)
{
  if (a->ctx)
    aotc_free(a->ctx, a->data);
  else
    free(a->data);
  a->data = NULL;
}

static double load_f(const void *p, ir_type t, int64_t i)
{
  switch (t) {
  case IR_F32: return ((const float *)p)[i];
  case IR_F64: return ((const double *)p)[i];
  default: return 0;
  }
}

static int64_t load_i(const void *p, ir_type t, int64_t i)
{
  switch (t) {
  case IR_BOOL: return ((const unsigned char *)p)[i] != 0;
  case IR_I8: return ((const int8_t *)p)[i];
  case IR_U8: return ((const uint8_t *)p)[i];
  case IR_I16: return ((const int16_t *)p)[i];
  case IR_U16: return ((const uint16_t *)p)[i];
  case IR_I32: return ((const int32_t *)p)[i];
  case IR_U32: return ((const uint32_t *)p)[i];
  case IR_I64: return ((const int64_t *)p)[i];
  case IR_U64: return (int64_t)((const uint64_t *)p)[i];
  default: return (int64_t)load_f(p, t, i);
  }
}

static void store(void *p, ir_type t, int64_t i, const void *src, ir_type st, int64_t si)
{
  double d = ir_types[st].is_float ? load_f(src, st, si) : (double)load_i(src, st, si);
  int64_t v = ir_types[st].is_float ? ir_saturate_i64(d) : load_i(src, st, si);
  switch (t) {
  case IR_F32: ((float *)p)[i] = (float)d; break;
  case IR_F64: ((double *)p)[i] = d; break;
  case IR_BOOL: ((unsigned char *)p)[i] = ir_types[st].is_float ? d != 0 : v != 0; break;
  case IR_I8: ((int8_t *)p)[i] = (int8_t)v; break;
  case IR_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
  case IR_I16: ((int16_t *)p)[i] = (int16_t)v; break;
  case IR_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
  case IR_I32: ((int32_t *)p)[i] = (int32_t)v; break;
  case IR_U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
  case IR_I64: ((int64_t *)p)[i] = v; break;
  case IR_U64: ((uint64_t *)p)[i] = (uint64_t)v; break;
  default: break;
  }
}

bool driver_npy_convert(npy_array *a, ir_type to)
{
  if (a->type == to)
    return true;
  void *nd = array_alloc(a->ctx, (size_t)(a->numel ? a->numel : 1) * (size_t)ir_types[to].bytes);
  if (!nd)
    return false;
  for (int64_t i = 0; i < a->numel; i++)
    store(nd, to, i, a->data, a->type, i);
  driver_npy_free(a);
  a->data = nd;
  a->type = to;
  return true;
}
