/* emit_model.c: large constants as string literals and the input/output
 * table of a model (see emit_model.h and docs/models.md). */
#include "emit_model.h"

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

bool emit_model_constant(FILE *out, const ir_tensor *T, const char *name, int64_t numel)
{
  int64_t bytes = numel * ir_types[T->type].bytes;
  if (numel <= 0 || !T->data || bytes < EMIT_MODEL_BLOB_BYTES)
    return false;
  const unsigned char *p = T->data;
  fputs(endian_check, out);
  fprintf(out, "static const union {\n  unsigned char b[%lld];\n  %s v[%lld];\n} %s_u = {\n", (long long)bytes + 1,
          ir_types[T->type].c_name, (long long)numel, name);
  for (int64_t i = 0; i < bytes; i += LINE_BYTES)
    print_string_line(out, p + i, bytes - i < LINE_BYTES ? (int)(bytes - i) : LINE_BYTES);
  fprintf(out, "};\n#define %s (%s_u.v)\n\n", name, name);
  return true;
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

void emit_model_io_table(FILE *c, FILE *h, const ir_func *f, const char *name)
{
  if (!f->stmt_kernel)
    return;
  fputs(io_info_type, h);
  fprintf(h, "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n", name, f->n_inputs, name, f->n_outputs);
  fprintf(h, "extern const aotc_io_info %s_inputs[%d];\nextern const aotc_io_info %s_outputs[%d];\n", name,
          f->n_inputs ? f->n_inputs : 1, name, f->n_outputs ? f->n_outputs : 1);
  fputs("\n", c);
  print_shapes(c, f, name, "input", f->inputs, f->n_inputs);
  print_shapes(c, f, name, "output", f->outputs, f->n_outputs);
  print_table(c, f, name, "input", f->inputs, f->n_inputs);
  print_table(c, f, name, "output", f->outputs, f->n_outputs);
}
