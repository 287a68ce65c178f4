/* npy.c: NumPy .npy reader and writer for the `aotc run` inputs and outputs.
 * The reader is defensive: every length is checked against the buffer. */
#include "npy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
  if (!f) {
    aotc_error(ctx, (ir_loc){0}, "cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = aotc_malloc(ctx, cap + 1);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap)
      break;
    cap *= 2;
    unsigned char *nb = aotc_realloc(ctx, buf, cap + 1);
    if (!nb)
      aotc_free(ctx, buf);
    buf = nb;
  }
  bool err = ferror(f);
  fclose(f);
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

static bool parse_shape(const char *hdr, npy_array *a)
{
  const char *p = dict_value(hdr, "'shape'");
  if (!p || *p != '(')
    return false;
  p++;
  a->rank = 0;
  a->numel = 1;
  for (;;) {
    while (*p == ' ' || *p == ',')
      p++;
    if (*p == ')')
      return true;
    if (*p < '0' || *p > '9' || a->rank == NPY_MAX_RANK)
      return false;
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (errno || v < 0 || __builtin_mul_overflow(a->numel, (int64_t)v, &a->numel))
      return false;
    a->shape[a->rank++] = v;
    p = end;
    while (*p == 'L')
      p++;
    if (*p != ',' && *p != ')' && *p != ' ')
      return false;
  }
}

bool driver_npy_parse(aotc_ctx *ctx, const char *name, const unsigned char *buf, size_t len, npy_array *out)
{
  memset(out, 0, sizeof(*out));
  if (len < 10 || memcmp(buf, "\x93NUMPY", 6)) {
    aotc_error(ctx, (ir_loc){0}, "'%s' is not a .npy file", name);
    return false;
  }
  int major = buf[6];
  size_t hlen, off;
  if (major == 1) {
    hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    off = 10;
  } else if ((major == 2 || major == 3) && len >= 12) {
    hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    off = 12;
  } else {
    aotc_error(ctx, (ir_loc){0}, "'%s': unsupported .npy version %d", name, major);
    return false;
  }
  if (hlen > len - off) {
    aotc_error(ctx, (ir_loc){0}, "'%s': truncated .npy header", name);
    return false;
  }
  char *hdr = ir_strndup(ctx, (const char *)buf + off, hlen);
  if (!hdr)
    return false;
  const char *fo = dict_value(hdr, "'fortran_order'");
  if (!fo || strncmp(fo, "False", 5)) {
    aotc_error(ctx, (ir_loc){0}, "'%s': only C-order .npy arrays are supported", name);
    return false;
  }
  if (!parse_descr(hdr, &out->type)) {
    aotc_error(ctx, (ir_loc){0}, "'%s': unsupported element type (supported: float32, float64, int8-64, uint8-64, bool, little-endian)", name);
    return false;
  }
  if (!parse_shape(hdr, out)) {
    aotc_error(ctx, (ir_loc){0}, "'%s': malformed shape in .npy header", name);
    return false;
  }
  size_t bytes = (size_t)out->numel * (size_t)ir_types[out->type].bytes;
  if (out->numel > (int64_t)(SIZE_MAX / 16) || bytes > len - off - hlen) {
    aotc_error(ctx, (ir_loc){0}, "'%s': data shorter than its shape says", name);
    return false;
  }
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
  int64_t v = ir_types[st].is_float ? (int64_t)d : load_i(src, st, si);
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
