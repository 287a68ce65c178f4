/* emit_model.c: large constants as string literals and the input/output
 * table of a model (see emit_model.h and docs/models.md). */
#include "emit_model.h"

#include <stdlib.h>
#include <string.h>

#define LINE_BYTES 40 /* bytes of data per source line (at most 160 characters) */

static const char *const endian_check =
    "#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__\n"
    "#error \"the weights in this file are little-endian\"\n"
    "#endif\n";

/* One source line: the bytes p[0..n-1] as a string literal. */
static void print_string_line(FILE *out, const unsigned char *p, int n)
{
  char line[4 * LINE_BYTES + 8];
  int len = 0;
  line[len++] = ' ';
  line[len++] = ' ';
  line[len++] = '"';
  for (int i = 0; i < n; i++) {
    unsigned char b = p[i];
    if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\' && b != '?') {
      line[len++] = (char)b;
    } else {
      line[len++] = '\\';
      line[len++] = (char)('0' + (b >> 6));
      line[len++] = (char)('0' + ((b >> 3) & 7));
      line[len++] = (char)('0' + (b & 7));
    }
  }
  line[len++] = '"';
  line[len++] = '\n';
  fwrite(line, 1, (size_t)len, out);
}

static int64_t const_bytes(const ir_tensor *T)
{
  int64_t n = 1, d;
  for (int j = 0; j < T->rank; j++)
    if (!T->shape[j] || !ir_size_is_const(T->shape[j], &d) || d < 0 || __builtin_mul_overflow(n, d, &n))
      return -1;
  return n * ir_types[T->type].bytes;
}

static bool in_blob(const ir_tensor *T)
{
  return T->role == IR_CONSTANT && T->data && const_bytes(T) >= EMIT_MODEL_BLOB_BYTES;
}

static bool in_external(const ir_func *f, const emit_blob *x, int t)
{
  return in_blob(f->tensors[t]) && !(x && x->left_out && x->left_out[t]);
}

static int64_t round64(int64_t n)
{
  return (n + 63) / 64 * 64;
}

/* Offset of constant `end` in the weights blob; with end == n_tensors, the
 * end of the constants. */
static int64_t blob_offset(const ir_func *f, const emit_blob *x, int end)
{
  int64_t offset = 64;
  for (int t = 0; t < end; t++)
    if (in_external(f, x, t))
      offset += round64(const_bytes(f->tensors[t]));
  return offset;
}

int64_t emit_model_blob_constants_end(const ir_func *f, const emit_blob *external)
{
  return blob_offset(f, external, f->n_tensors);
}

static int64_t blob_total(const ir_func *f, const emit_blob *x)
{
  return blob_offset(f, x, f->n_tensors) + (x ? x->extra_bytes : 0);
}

static bool has_blob(const ir_func *f, const emit_blob *x)
{
  return blob_total(f, x) > 64;
}

void emit_model_declare_blob(FILE *out, const ir_func *f, const char *fname, const emit_blob *external)
{
  if (external && has_blob(f, external))
    fprintf(out, "static const unsigned char *aotc_weights_%s;\n\n", fname);
}

static void print_external(FILE *out, const ir_func *f, const emit_blob *x, int t, const char *name,
                           const char *fname)
{
  const ir_tensor *T = f->tensors[t];
  int64_t offset = blob_offset(f, x, t);
  fprintf(out, "#define %s ((const %s *)(const void *)(aotc_weights_%s + %lld))\n", name, ir_types[T->type].c_name,
          fname, (long long)offset);
}

bool emit_model_constant(FILE *out, const ir_func *f, int t, const char *name, const char *fname, int64_t numel,
                         const emit_blob *external)
{
  const ir_tensor *T = f->tensors[t];
  int64_t bytes = numel * ir_types[T->type].bytes;
  if (numel <= 0 || !in_blob(T))
    return false;
  if (external) {
    print_external(out, f, external, t, name, fname);
    return true;
  }
  const unsigned char *p = T->data;
  fputs(endian_check, out);
  fprintf(out, "static const union {\n  unsigned char b[%lld];\n  %s v[%lld];\n} %s_u = {\n", (long long)bytes + 1,
          ir_types[T->type].c_name, (long long)numel, name);
  for (int64_t i = 0; i < bytes; i += LINE_BYTES)
    print_string_line(out, p + i, bytes - i < LINE_BYTES ? (int)(bytes - i) : LINE_BYTES);
  fprintf(out, "};\n#define %s (%s_u.v)\n\n", name, name);
  return true;
}

void emit_model_float_array(FILE *out, const char *name, const float *v, int64_t n)
{
  int64_t bytes = n * (int64_t)sizeof(float);
  const unsigned char *p = (const unsigned char *)v;
  fputs(endian_check, out);
  fprintf(out, "static const union {\n  unsigned char b[%lld];\n  float v[%lld];\n} %s_u = {\n", (long long)bytes + 1,
          (long long)n, name);
  for (int64_t i = 0; i < bytes; i += LINE_BYTES)
    print_string_line(out, p + i, bytes - i < LINE_BYTES ? (int)(bytes - i) : LINE_BYTES);
  fprintf(out, "};\n#define %s (%s_u.v)\n\n", name, name);
}

void emit_model_entry_check(FILE *out, const ir_func *f, const char *name, const emit_blob *external)
{
  if (external && has_blob(f, external))
    fprintf(out, "  if (aotc_weights_%s == NULL)\n    return 3;\n", name);
}

/* int NAME_set_weights(const void *blob, size_t bytes): 0 when the blob is
 * this model's (magic, size, 8-byte alignment). */
static void print_set_weights(FILE *c, FILE *h, const ir_func *f, const char *name, const emit_blob *x)
{
  long long total = (long long)blob_total(f, x);
  fprintf(h, "#define %s_WEIGHTS_BYTES ((size_t)%lld)\nint %s_set_weights(const void *blob, size_t bytes);\n", name,
          total, name);
  fprintf(c, "\n%sint %s_set_weights(const void *blob, size_t bytes)\n{\n", endian_check, name);
  fputs("  static const char magic[9] = \"AOTCWTS1\";\n", c);
  fputs("  const unsigned char *p = (const unsigned char *)blob;\n  uint64_t size = 0;\n", c);
  fputs("  if (p == NULL || ((uintptr_t)p & 7) != 0 || bytes < 64)\n    return 1;\n", c);
  fputs("  for (int i = 0; i < 8; i++)\n    if (p[i] != (unsigned char)magic[i])\n      return 1;\n", c);
  fputs("  for (int i = 0; i < 8; i++)\n    size |= (uint64_t)p[8 + i] << (8 * i);\n", c);
  fprintf(c, "  if (size != %lldu || bytes != %lldu)\n    return 2;\n", total, total);
  fprintf(c, "  aotc_weights_%s = p;\n  return 0;\n}\n", name);
}

bool emit_model_write_weights(aotc_ctx *ctx, const ir_func *f, const emit_blob *external, const char *path,
                              bool (*extra)(FILE *out, void *arg), void *arg)
{
  static const unsigned char zeros[64];
  unsigned char header[64] = "AOTCWTS1";
  uint64_t total = (uint64_t)blob_total(f, external);
  for (int i = 0; i < 8; i++)
    header[8 + i] = (unsigned char)(total >> (8 * i));
  FILE *out = fopen(path, "wb");
  bool ok = out && fwrite(header, 1, 64, out) == 64;
  for (int t = 0; ok && t < f->n_tensors; t++) {
    const ir_tensor *T = f->tensors[t];
    if (!in_external(f, external, t))
      continue;
    size_t bytes = (size_t)const_bytes(T), pad = (size_t)(round64((int64_t)bytes) - (int64_t)bytes);
    ok = fwrite(T->data, 1, bytes, out) == bytes && fwrite(zeros, 1, pad, out) == pad;
  }
  if (ok && extra)
    ok = extra(out, arg);
  if (out && fclose(out))
    ok = false;
  if (!ok) {
    aotc_error(ctx, f->loc, "cannot write the weights to '%s'", path);
    remove(path);
  }
  return ok;
}

/* ------------------------------------------------------------------------
 * The input and output table
 * ------------------------------------------------------------------------ */

static const char *const io_info_type =
    "#ifndef AOTC_IO_INFO_DEFINED\n"
    "#define AOTC_IO_INFO_DEFINED\n"
    "/* One input or output of a model: its name, element type (\"float\",\n"
    " * \"int64\", ...), element size in bytes, rank and shape. */\n"
    "typedef struct aotc_io_info {\n"
    "  const char *name;\n"
    "  const char *type;\n"
    "  int element_bytes;\n"
    "  int rank;\n"
    "  const int64_t *shape;\n"
    "} aotc_io_info;\n"
    "#endif\n";

static void print_shapes(FILE *c, const ir_func *f, const char *name, const char *kind, const int *ts, int n)
{
  for (int i = 0; i < n; i++) {
    const ir_tensor *T = f->tensors[ts[i]];
    int64_t d;
    fprintf(c, "static const int64_t aotc_shape_%s_%s%d[%d] = {", name, kind, i, T->rank ? T->rank : 1);
    for (int j = 0; j < T->rank; j++)
      fprintf(c, "%s%lld", j ? ", " : "", T->shape[j] && ir_size_is_const(T->shape[j], &d) ? (long long)d : -1LL);
    fputs(T->rank ? "};\n" : "0};\n", c);
  }
}

static void print_table(FILE *c, const ir_func *f, const char *name, const char *kind, const int *ts, int n)
{
  fprintf(c, "const aotc_io_info %s_%ss[%d] = {\n", name, kind, n ? n : 1);
  for (int i = 0; i < n; i++) {
    const ir_tensor *T = f->tensors[ts[i]];
    fprintf(c, "  {\"%s\", \"%s\", %d, %d, aotc_shape_%s_%s%d},\n", T->name, ir_types[T->type].name,
            ir_types[T->type].bytes, T->rank, name, kind, i);
  }
  if (n == 0)
    fputs("  {0, 0, 0, 0, 0},\n", c);
  fputs("};\n", c);
}

void emit_model_io_table(FILE *c, FILE *h, const ir_func *f, const char *name, const emit_blob *external)
{
  if (external && has_blob(f, external))
    print_set_weights(c, h, f, name, external);
  if (!ir_func_is_model(f))
    return;
  int n_in = ir_func_first_parameter(f), n_par = f->n_inputs - n_in;
  fputs(io_info_type, h);
  fprintf(h, "#define %s_NUM_INPUTS %d\n#define %s_NUM_PARAMS %d\n#define %s_NUM_OUTPUTS %d\n", name, n_in, name,
          n_par, name, f->n_outputs);
  fprintf(h, "extern const aotc_io_info %s_inputs[%d];\nextern const aotc_io_info %s_params[%d];\n", name,
          n_in ? n_in : 1, name, n_par ? n_par : 1);
  fprintf(h, "extern const aotc_io_info %s_outputs[%d];\n", name, f->n_outputs ? f->n_outputs : 1);
  fputs("\n", c);
  print_shapes(c, f, name, "input", f->inputs, n_in);
  print_shapes(c, f, name, "param", f->inputs + n_in, n_par);
  print_shapes(c, f, name, "output", f->outputs, f->n_outputs);
  print_table(c, f, name, "input", f->inputs, n_in);
  print_table(c, f, name, "param", f->inputs + n_in, n_par);
  print_table(c, f, name, "output", f->outputs, f->n_outputs);
}
