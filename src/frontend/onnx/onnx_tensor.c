/* onnx_tensor.c: decoding ONNX TensorProto messages (initializers, tensor
 * attributes, the .pb files of the ONNX test data) into dense arrays: raw
 * data, the typed repeated fields, or external data files next to the model.
 * Nothing is trusted: the size the dimensions give is checked against the
 * memory budget (aotc_max_bytes) and against the bytes actually present
 * before anything is allocated; external data must be a regular file whose
 * real path stays inside the model's folder, opened without following a
 * final symbolic link and without blocking (a FIFO or a device is refused,
 * never read). */
#define _GNU_SOURCE
#include "onnx_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *onnx_type_name(int64_t code)
{
  static const char *const names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
                                      "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
                                      "COMPLEX128", "BFLOAT16"};
  return code >= 0 && code < (int64_t)(sizeof(names) / sizeof(names[0])) ? names[code] : "unknown";
}

bool onnx_ir_type(int64_t code, ir_type *out)
{
  static const int map[] = {-1, IR_F32, IR_U8, IR_I8, IR_U16, IR_I16, IR_I32, IR_I64, -1, IR_BOOL, -1, IR_F64,
                            IR_U32, IR_U64};
  if (code < 0 || code >= (int64_t)(sizeof(map) / sizeof(map[0])) || map[code] < 0)
    return false;
  *out = (ir_type)map[code];
  return true;
}

static bool shape_of(aotc_ctx *ctx, ir_loc loc, const char *what, const Onnx__TensorProto *tp, int *rank,
                     int64_t *shape, size_t *numel)
{
  if (tp->n_dims > IR_MAX_RANK) {
    aotc_error(ctx, loc, "%s: rank %zu is larger than %d", what, tp->n_dims, IR_MAX_RANK);
    return false;
  }
  *rank = (int)tp->n_dims;
  *numel = 1;
  for (size_t d = 0; d < tp->n_dims; d++) {
    shape[d] = tp->dims[d];
    if (shape[d] < 0 || __builtin_mul_overflow(*numel, (size_t)shape[d], numel)) {
      aotc_error(ctx, loc, "%s: dimension %zu is negative or too large (%lld)", what, d, (long long)shape[d]);
      return false;
    }
  }
  return true;
}

/* Copies count typed elements into dst, converting to type t. */
static void copy_typed(ir_type t, void *dst, const void *src, ir_type src_type, size_t count)
{
  for (size_t k = 0; k < count; k++) {
    int64_t iv = src_type == IR_I32 ? ((const int32_t *)src)[k] : ((const int64_t *)src)[k];
    uint64_t uv = (uint64_t)iv;
    switch (t) {
    case IR_BOOL: ((bool *)dst)[k] = iv != 0; break;
    case IR_I8: ((int8_t *)dst)[k] = (int8_t)iv; break;
    case IR_U8: ((uint8_t *)dst)[k] = (uint8_t)iv; break;
    case IR_I16: ((int16_t *)dst)[k] = (int16_t)iv; break;
    case IR_U16: ((uint16_t *)dst)[k] = (uint16_t)iv; break;
    case IR_I32: ((int32_t *)dst)[k] = (int32_t)iv; break;
    case IR_I64: ((int64_t *)dst)[k] = iv; break;
    case IR_U32: ((uint32_t *)dst)[k] = (uint32_t)uv; break;
    default: ((uint64_t *)dst)[k] = uv; break;
    }
  }
}

/* The typed repeated field holding t's elements and its length. */
static const void *typed_field(const Onnx__TensorProto *tp, ir_type t, size_t *n, ir_type *src_type)
{
  switch (t) {
  case IR_F32: *n = tp->n_float_data; *src_type = IR_F32; return tp->float_data;
  case IR_F64: *n = tp->n_double_data; *src_type = IR_F64; return tp->double_data;
  case IR_I64: *n = tp->n_int64_data; *src_type = IR_I64; return tp->int64_data;
  case IR_U32: case IR_U64: *n = tp->n_uint64_data; *src_type = IR_U64; return tp->uint64_data;
  default: *n = tp->n_int32_data; *src_type = IR_I32; return tp->int32_data;
  }
}

/* The typed field holds exactly the elements the dimensions need. */
static bool check_typed(aotc_ctx *ctx, ir_loc loc, const char *what, const Onnx__TensorProto *tp, ir_type t,
                        size_t numel)
{
  size_t n;
  ir_type src_type;
  typed_field(tp, t, &n, &src_type);
  if (n == numel)
    return true;
  aotc_error(ctx, loc, "%s: %zu elements stored, the dimensions need %zu", what, n, numel);
  return false;
}

static void decode_typed(const Onnx__TensorProto *tp, ir_type t, size_t numel, void *out)
{
  size_t n;
  ir_type src_type;
  const void *src = typed_field(tp, t, &n, &src_type);
  if (numel && (t == IR_F32 || t == IR_F64))
    memcpy(out, src, numel * (size_t)ir_types[t].bytes);
  else if (numel)
    copy_typed(t, out, src, src_type, numel);
}

/* ------------------------------------------------------------------------
 * External data
 * ------------------------------------------------------------------------ */

/* A relative path that stays inside the model's folder. */
static bool safe_relative_path(const char *p)
{
  if (!p || !*p || p[0] == '/' || strchr(p, '\\'))
    return false;
  for (const char *s = p; *s;) {
    size_t len = strcspn(s, "/");
    if (len == 2 && s[0] == '.' && s[1] == '.')
      return false;
    s += len;
    s += *s == '/';
  }
  return true;
}

static bool parse_size(const char *s, int64_t *out)
{
  char *end;
  if (!s || !*s)
    return false;
  long long v = strtoll(s, &end, 10);
  *out = v;
  return !*end && v >= 0;
}

typedef struct ext_ref {
  const char *location;
  int64_t offset, length; /* length -1: to the end of the file */
} ext_ref;

static bool ext_ref_of(aotc_ctx *ctx, ir_loc loc, const char *what, const Onnx__TensorProto *tp, ext_ref *r)
{
  r->location = NULL;
  r->offset = 0;
  r->length = -1;
  for (size_t k = 0; k < tp->n_external_data; k++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[k];
    const char *key = e && e->key ? e->key : "";
    bool ok = true;
    if (!strcmp(key, "location"))
      r->location = e->value;
    else if (!strcmp(key, "offset"))
      ok = parse_size(e->value, &r->offset);
    else if (!strcmp(key, "length"))
      ok = parse_size(e->value, &r->length);
    if (!ok) {
      aotc_error(ctx, loc, "%s: external data '%s' is not a valid size", what, key);
      return false;
    }
  }
  if (!safe_relative_path(r->location)) {
    aotc_error(ctx, loc, "%s: external data location '%s' must be a relative path inside the model's folder", what,
               r->location ? r->location : "");
    return false;
  }
  return true;
}

/* The real path of the model's folder, or NULL (reported). */
static char *real_dir(aotc_ctx *ctx, ir_loc loc, const char *what, const char *dir)
{
  char *real = realpath(dir, NULL);
  char *out = real ? ir_strdup(ctx, real) : NULL;
  free(real);
  if (!real)
    aotc_error(ctx, loc, "%s: cannot resolve the model's folder '%s': %s", what, dir, strerror(errno));
  return out;
}

/* Whether the file named path (open, of status st) has a real path inside
 * folder `inside` (a real path), and is still the file at that path. */
static bool inside_folder(const char *path, const char *inside, const struct stat *st)
{
  struct stat again;
  char *real = realpath(path, NULL);
  size_t n = strlen(inside);
  bool ok = real && !strncmp(real, inside, n) && (real[n] == '/' || (n == 1 && inside[0] == '/')) &&
            stat(real, &again) == 0 && again.st_dev == st->st_dev && again.st_ino == st->st_ino;
  free(real);
  return ok;
}

/* Opens external data file r->location of folder dir for reading: a regular
 * file inside the folder; -1 (reported) otherwise. *size: its size. */
static int open_external(aotc_ctx *ctx, ir_loc loc, const char *what, const char *dir, const ext_ref *r,
                         int64_t *size)
{
  char *real = real_dir(ctx, loc, what, dir), *path = ir_sprintf(ctx, "%s/%s", dir, r->location);
  if (!real || !path)
    return -1;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    aotc_error(ctx, loc, "%s: cannot open external data '%s': %s", what, path,
               errno == ELOOP ? "it is a symbolic link" : strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    aotc_error(ctx, loc, "%s: external data '%s' is not a regular file", what, path);
  } else if (!inside_folder(path, real, &st)) {
    aotc_error(ctx, loc, "%s: external data '%s' leads outside the model's folder", what, path);
  } else {
    *size = (int64_t)st.st_size;
    return fd;
  }
  if (fd >= 0)
    close(fd);
  return -1;
}

/* Checks that r's bytes are present in the file: offset + bytes <= size. */
static bool check_extent(aotc_ctx *ctx, ir_loc loc, const char *what, const ext_ref *r, size_t bytes,
                         int64_t size)
{
  if (r->length >= 0 && (uint64_t)r->length != bytes) {
    aotc_error(ctx, loc, "%s: external data length %lld, the dimensions need %zu bytes", what, (long long)r->length,
               bytes);
    return false;
  }
  if (r->offset > size || (uint64_t)(size - r->offset) < bytes) {
    aotc_error(ctx, loc, "%s: external data '%s' holds %lld bytes, the dimensions need %zu at offset %lld", what,
               r->location, (long long)size, bytes, (long long)r->offset);
    return false;
  }
  return true;
}

static bool read_all(int fd, void *out, size_t bytes, int64_t offset)
{
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = pread(fd, (char *)out + done, bytes - done, (off_t)offset + (off_t)done);
    if (n <= 0 && !(n < 0 && errno == EINTR))
      return false;
    done += n > 0 ? (size_t)n : 0;
  }
  return true;
}

/* An open external data file, checked: where to read bytes from. */
typedef struct ext_file {
  int fd;
  int64_t offset;
} ext_file;

static bool prepare_external(aotc_ctx *ctx, ir_loc loc, const char *what, const Onnx__TensorProto *tp,
                             const char *dir, size_t bytes, ext_file *out)
{
  ext_ref r;
  int64_t size = 0;
  if (!dir) {
    aotc_error(ctx, loc, "%s: external data is not allowed here", what);
    return false;
  }
  if (!ext_ref_of(ctx, loc, what, tp, &r) || (out->fd = open_external(ctx, loc, what, dir, &r, &size)) < 0)
    return false;
  out->offset = r.offset;
  if (check_extent(ctx, loc, what, &r, bytes, size))
    return true;
  close(out->fd);
  out->fd = -1;
  return false;
}

/* ------------------------------------------------------------------------
 * Decoding
 * ------------------------------------------------------------------------ */

static bool is_external(const Onnx__TensorProto *tp)
{
  return tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}

/* Checks that the payload holds the bytes the dimensions need (opening
 * external data into *ext), before anything is allocated. */
static bool check_payload(aotc_ctx *ctx, ir_loc loc, const char *what, const Onnx__TensorProto *tp, const char *dir,
                          ir_type t, size_t numel, ext_file *ext)
{
  size_t bytes = numel * (size_t)ir_types[t].bytes;
  if (is_external(tp))
    return prepare_external(ctx, loc, what, tp, dir, bytes, ext);
  if (tp->has_raw_data && tp->raw_data.len != bytes) {
    aotc_error(ctx, loc, "%s: raw data has %zu bytes, the dimensions need %zu", what, tp->raw_data.len, bytes);
    return false;
  }
  return tp->has_raw_data || check_typed(ctx, loc, what, tp, t, numel);
}

static bool copy_payload(aotc_ctx *ctx, ir_loc loc, const char *what, const Onnx__TensorProto *tp, ir_type t,
                         size_t numel, const ext_file *ext, void *out)
{
  size_t bytes = numel * (size_t)ir_types[t].bytes;
  if (ext->fd >= 0 && !read_all(ext->fd, out, bytes, ext->offset)) {
    aotc_error(ctx, loc, "%s: cannot read %zu bytes of external data", what, bytes);
    return false;
  }
  if (ext->fd < 0 && tp->has_raw_data && bytes)
    memcpy(out, tp->raw_data.data, bytes);
  else if (ext->fd < 0 && !tp->has_raw_data)
    decode_typed(tp, t, numel, out);
  return true;
}

/* The shape as text, for messages: [2, 3, 4]. */
static const char *shape_text(aotc_ctx *ctx, int rank, const int64_t *shape)
{
  char buf[256];
  size_t n = 0;
  buf[n++] = '[';
  for (int d = 0; d < rank && n < sizeof(buf) - 32; d++)
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%lld", d ? ", " : "", (long long)shape[d]);
  snprintf(buf + n, sizeof(buf) - n, "]");
  return ir_strdup(ctx, buf);
}

/* The tensor's size in bytes, within the memory budget. */
static bool check_budget(aotc_ctx *ctx, ir_loc loc, const char *what, ir_type t, int rank, const int64_t *shape,
                         size_t numel, size_t *bytes)
{
  int64_t budget = aotc_max_bytes(ctx);
  if (!__builtin_mul_overflow(numel, (size_t)ir_types[t].bytes, bytes) && *bytes <= (uint64_t)budget &&
      *bytes < SIZE_MAX - 16)
    return true;
  aotc_error(ctx, loc, "%s: %s of %s is %zu elements, more bytes than the memory budget of %lld (--max-memory)",
             what, shape_text(ctx, rank, shape), ir_types[t].name, numel, (long long)budget);
  return false;
}

bool onnx_tensor_decode(aotc_ctx *ctx, ir_loc loc, const char *what, const Onnx__TensorProto *tp, const char *dir,
                        ir_type *type, int *rank, int64_t *shape, void **data)
{
  size_t numel, bytes;
  ext_file ext = {-1, 0};
  if (!tp->has_data_type || !onnx_ir_type(tp->data_type, type)) {
    aotc_error(ctx, loc, "%s: element type %s is not supported", what,
               onnx_type_name(tp->has_data_type ? tp->data_type : 0));
    return false;
  }
  if (!shape_of(ctx, loc, what, tp, rank, shape, &numel) ||
      !check_budget(ctx, loc, what, *type, *rank, shape, numel, &bytes) ||
      !check_payload(ctx, loc, what, tp, dir, *type, numel, &ext))
    return false;
  *data = ir_alloc(ctx, bytes + 1);
  bool ok = *data && copy_payload(ctx, loc, what, tp, *type, numel, &ext, *data);
  if (!*data)
    aotc_error(ctx, loc, "%s: out of memory", what);
  if (ext.fd >= 0)
    close(ext.fd);
  return ok;
}

/* The folder of a file name ("." when it has none). */
static char *dir_of(aotc_ctx *ctx, const char *path)
{
  const char *slash = path ? strrchr(path, '/') : NULL;
  return slash ? ir_strndup(ctx, path, (size_t)(slash - path)) : ir_strdup(ctx, ".");
}

bool onnx_read_tensor(aotc_ctx *ctx, const char *name, const unsigned char *data, size_t len, ir_type *type,
                      int *rank, int64_t *shape, void **data_out)
{
  ir_loc loc = {0};
  void *arena_data;
  *data_out = NULL;
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, data);
  if (!tp) {
    aotc_error(ctx, loc, "%s: not a valid ONNX TensorProto", name);
    return false;
  }
  bool ok = onnx_tensor_decode(ctx, loc, name, tp, dir_of(ctx, name), type, rank, shape, &arena_data);
  onnx__tensor_proto__free_unpacked(tp, NULL);
  if (!ok)
    return false;
  size_t bytes = (size_t)ir_types[*type].bytes;
  for (int d = 0; d < *rank; d++)
    bytes *= (size_t)shape[d];
  *data_out = malloc(bytes ? bytes : 1);
  if (!*data_out) {
    aotc_error(ctx, loc, "%s: out of memory", name);
    return false;
  }
  memcpy(*data_out, arena_data, bytes);
  return true;
}
