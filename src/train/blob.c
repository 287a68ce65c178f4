/* blob.c: save and load of a training state as one blob, emitted beside
 * the training functions (docs/training.md):
 *
 *   size_t NAME_params_blob_bytes(void);
 *   int NAME_params_save(const void *const *tensors, void *blob, size_t capacity);
 *   int NAME_params_load(void *const *tensors, const void *blob, size_t size);
 *
 * tensors are NAME_init's outputs in order (parameters, buffers, optimizer
 * state). The blob: "AOTC" (4 bytes), the format version, the model's
 * identity (FNV-1a of its name and every tensor's name, type and byte
 * size), the tensor count (each a little-endian uint32), one little-endian
 * uint64 byte size per tensor, the tensors' bytes (in the machine's float
 * format), and an FNV-1a checksum of everything before it (uint32). Load
 * checks everything before it writes a byte and never reads past size. */
#include "train.h"

#include <string.h>

#define BLOB_VERSION 1u

static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 16777619u;
  return h;
}

static int64_t tensor_bytes(const ir_tensor *x)
{
  int64_t n = ir_types[x->type].bytes, v;
  for (int d = 0; d < x->rank; d++)
    n = ir_size_is_const(x->shape[d], &v) ? n * v : -1;
  return n < 0 ? -1 : n;
}

/* The model's identity: its name, then each tensor's name, type, size. */
static uint32_t identity(const ir_func *init, const char *name, const int64_t *bytes)
{
  uint32_t h = fnv1a(2166136261u, name, strlen(name) + 1);
  for (int k = 0; k < init->n_outputs; k++) {
    const ir_tensor *x = init->tensors[init->outputs[k]];
    h = fnv1a(h, x->name, strlen(x->name) + 1);
    h = fnv1a(h, ir_types[x->type].name, strlen(ir_types[x->type].name) + 1);
    h = fnv1a(h, &bytes[k], sizeof bytes[k]);
  }
  return h;
}

/* The code, @ standing for NAME. */
static const char *const blob_code[] = {
    "static void @_blob_put(unsigned char *p, uint64_t v, int n)",
    "{",
    "  for (int i = 0; i < n; i++)",
    "    p[i] = (unsigned char)(v >> (8 * i));",
    "}",
    "",
    "static uint64_t @_blob_get(const unsigned char *p, int n)",
    "{",
    "  uint64_t v = 0;",
    "  for (int i = 0; i < n; i++)",
    "    v |= (uint64_t)p[i] << (8 * i);",
    "  return v;",
    "}",
    "",
    "static uint32_t @_blob_fnv1a(const unsigned char *p, size_t n)",
    "{",
    "  uint32_t h = 2166136261u;",
    "  for (size_t i = 0; i < n; i++)",
    "    h = (h ^ p[i]) * 16777619u;",
    "  return h;",
    "}",
    "",
    "size_t @_params_blob_bytes(void)",
    "{",
    "  return @_PARAMS_BLOB_BYTES;",
    "}",
    "",
    "int @_params_save(const void *const *tensors, void *blob, size_t capacity)",
    "{",
    "  unsigned char *p = (unsigned char *)blob;",
    "  size_t at = @_BLOB_HEADER;",
    "  if (!tensors || !blob || capacity < @_PARAMS_BLOB_BYTES)",
    "    return @_BLOB_SHORT;",
    "  memcpy(p, \"AOTC\", 4);",
    "  @_blob_put(p + 4, @_BLOB_VERSION, 4);",
    "  @_blob_put(p + 8, @_BLOB_MODEL, 4);",
    "  @_blob_put(p + 12, @_PARAMS_COUNT, 4);",
    "  for (int k = 0; k < @_PARAMS_COUNT; k++) {",
    "    @_blob_put(p + 16 + 8 * k, @_blob_sizes[k], 8);",
    "    memcpy(p + at, tensors[k], (size_t)@_blob_sizes[k]);",
    "    at += (size_t)@_blob_sizes[k];",
    "  }",
    "  @_blob_put(p + at, @_blob_fnv1a(p, at), 4);",
    "  return @_BLOB_OK;",
    "}",
    "",
    "/* What is wrong with the blob's header, @_BLOB_OK when nothing. */",
    "static int @_blob_check_header(const unsigned char *p, size_t size)",
    "{",
    "  if (size < 16)",
    "    return @_BLOB_SHORT;",
    "  if (memcmp(p, \"AOTC\", 4) || @_blob_get(p + 4, 4) != @_BLOB_VERSION)",
    "    return @_BLOB_NOT_A_BLOB;",
    "  if (@_blob_get(p + 8, 4) != @_BLOB_MODEL || @_blob_get(p + 12, 4) != @_PARAMS_COUNT)",
    "    return @_BLOB_OTHER_MODEL;",
    "  if (size < @_BLOB_HEADER)",
    "    return @_BLOB_SHORT;",
    "  for (int k = 0; k < @_PARAMS_COUNT; k++)",
    "    if (@_blob_get(p + 16 + 8 * k, 8) != @_blob_sizes[k])",
    "      return @_BLOB_OTHER_MODEL;",
    "  return size < @_PARAMS_BLOB_BYTES ? @_BLOB_SHORT : @_BLOB_OK;",
    "}",
    "",
    "int @_params_load(void *const *tensors, const void *blob, size_t size)",
    "{",
    "  const unsigned char *p = (const unsigned char *)blob;",
    "  size_t at = @_BLOB_HEADER, end = @_PARAMS_BLOB_BYTES - 4;",
    "  if (!tensors || !blob)",
    "    return @_BLOB_SHORT;",
    "  int rc = @_blob_check_header(p, size);",
    "  if (rc != @_BLOB_OK)",
    "    return rc;",
    "  if (@_blob_get(p + end, 4) != @_blob_fnv1a(p, end))",
    "    return @_BLOB_CORRUPT;",
    "  for (int k = 0; k < @_PARAMS_COUNT; k++) {",
    "    memcpy(tensors[k], p + at, (size_t)@_blob_sizes[k]);",
    "    at += (size_t)@_blob_sizes[k];",
    "  }",
    "  return @_BLOB_OK;",
    "}",
};

static const char *const blob_header[] = {
    "#ifndef AOTC_BLOB_@",
    "#define AOTC_BLOB_@",
    "#ifdef __cplusplus",
    "extern \"C\" {",
    "#endif",
    "/* Save and load of @_init's tensors (parameters, buffers, optimizer",
    " * state, in that order) as one blob of @_PARAMS_BLOB_BYTES bytes",
    " * (docs/training.md). They return one of these: */",
    "enum { @_BLOB_OK, @_BLOB_SHORT, @_BLOB_NOT_A_BLOB, @_BLOB_OTHER_MODEL, @_BLOB_CORRUPT };",
    "size_t @_params_blob_bytes(void);",
    "int @_params_save(const void *const *tensors, void *blob, size_t capacity);",
    "int @_params_load(void *const *tensors, const void *blob, size_t size);",
    "#ifdef __cplusplus",
    "}",
    "#endif",
    "#endif",
};

static void put_lines(FILE *out, const char *const *lines, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++) {
    for (const char *c = lines[i]; *c; c++)
      if (*c == '@')
        fputs(name, out);
      else
        fputc(*c, out);
    fputc('\n', out);
  }
}

/* The counts in the header, the rest in the C file. */
static void put_constants(FILE *c, FILE *h, const char *name, const int64_t *bytes, int n, uint32_t model)
{
  int64_t total = 16 + 8 * (int64_t)n + 4;
  for (int k = 0; k < n; k++)
    total += bytes[k];
  fprintf(h, "\n#ifndef %s_PARAMS_COUNT\n#define %s_PARAMS_COUNT %d\n", name, name, n);
  fprintf(h, "#define %s_PARAMS_BLOB_BYTES ((size_t)%lld)\n#endif\n", name, (long long)total);
  fprintf(c, "\n#include <string.h>\n\n");
  fprintf(c, "#define %s_BLOB_VERSION %uu\n#define %s_BLOB_MODEL %luu\n", name, BLOB_VERSION, name,
          (unsigned long)model);
  fprintf(c, "#define %s_BLOB_HEADER ((size_t)%lld)\n", name, (long long)(16 + 8 * (int64_t)n));
  fprintf(c, "static const uint64_t %s_blob_sizes[%d] = {", name, n);
  for (int k = 0; k < n; k++)
    fprintf(c, "%s%lldu", k ? ", " : "", (long long)bytes[k]);
  fprintf(c, "};\n\n");
}

bool train_emit_blob(aotc_ctx *ctx, const ir_func *init, const char *name, FILE *c, FILE *h)
{
  int64_t *bytes = IR_NEW_ARRAY(ctx, int64_t, init->n_outputs);
  if (!bytes || !c || !h)
    return bytes != NULL;
  for (int k = 0; k < init->n_outputs; k++)
    if ((bytes[k] = tensor_bytes(init->tensors[init->outputs[k]])) < 0)
      return true;
  put_constants(c, h, name, bytes, init->n_outputs, identity(init, name, bytes));
  put_lines(c, blob_code, sizeof blob_code / sizeof blob_code[0], name);
  put_lines(h, blob_header, sizeof blob_header / sizeof blob_header[0], name);
  return true;
}
