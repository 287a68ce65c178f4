/* ts_tensor.c: tensors of a TorchScript archive: the dtype table (storage
 * classes as torch pickles them), views of a storage (sizes, strides and
 * an offset) checked against the storage's bytes and made dense, and
 * element access with half and bfloat16 widened. */
#include "ts.h"

#include <math.h>
#include <string.h>

/* A view may repeat storage elements (stride 0) up to this many bytes
 * beyond its storage's own size. */
#define TS_MAX_EXPANSION (16u << 20)

const ts_dtype_info ts_dtypes[TS_DTYPE_COUNT] = {
    [TS_F32] = {"float32", "FloatStorage", "Float", 4, IR_F32},
    [TS_F64] = {"float64", "DoubleStorage", "Double", 8, IR_F64},
    [TS_F16] = {"float16", "HalfStorage", "Half", 2, IR_F32},
    [TS_BF16] = {"bfloat16", "BFloat16Storage", "BFloat16", 2, IR_F32},
    [TS_I8] = {"int8", "CharStorage", "Char", 1, IR_I8},
    [TS_I16] = {"int16", "ShortStorage", "Short", 2, IR_I16},
    [TS_I32] = {"int32", "IntStorage", "Int", 4, IR_I32},
    [TS_I64] = {"int64", "LongStorage", "Long", 8, IR_I64},
    [TS_U8] = {"uint8", "ByteStorage", "Byte", 1, IR_U8},
    [TS_BOOL] = {"bool", "BoolStorage", "Bool", 1, IR_BOOL},
};

int ts_dtype_from_storage(const char *storage_class)
{
  for (int d = 0; d < TS_DTYPE_COUNT; d++)
    if (!strcmp(ts_dtypes[d].storage, storage_class))
      return d;
  return -1;
}

int ts_dtype_from_scalar(const char *scalar)
{
  for (int d = 0; d < TS_DTYPE_COUNT; d++)
    if (!strcmp(ts_dtypes[d].scalar, scalar))
      return d;
  return -1;
}

/* ------------------------------------------------------------------------
 * Views
 * ------------------------------------------------------------------------ */

static bool view_error(aotc_ctx *ctx, ir_loc loc, const ts_storage *s, const char *what)
{
  aotc_error(ctx, loc, "a tensor view of storage '%s' %s", s->key, what);
  return false;
}

/* The element count, and the largest storage index the view reaches. */
static bool view_extent(aotc_ctx *ctx, ir_loc loc, const ts_storage *s, int64_t offset, int rank,
                        const int64_t *shape, const int64_t *stride, int64_t *numel)
{
  if (rank < 0 || rank > TS_MAX_RANK)
    return view_error(ctx, loc, s, "has too many dimensions");
  int64_t n = 1, last = offset;
  for (int d = 0; d < rank; d++) {
    if (shape[d] < 0 || stride[d] < 0)
      return view_error(ctx, loc, s, "has a negative size or stride");
    if (__builtin_mul_overflow(n, shape[d], &n))
      return view_error(ctx, loc, s, "has too many elements");
  }
  for (int d = 0; n && d < rank; d++) {
    int64_t step;
    if (__builtin_mul_overflow(shape[d] - 1, stride[d], &step) || __builtin_add_overflow(last, step, &last))
      return view_error(ctx, loc, s, "reaches past any storage");
  }
  if (offset < 0 || offset > s->numel || (n && last >= s->numel))
    return view_error(ctx, loc, s, "reaches past the storage's elements");
  *numel = n;
  return true;
}

static bool is_contiguous(int rank, const int64_t *shape, const int64_t *stride)
{
  int64_t expect = 1;
  for (int d = rank - 1; d >= 0; d--) {
    if (shape[d] != 1 && stride[d] != expect)
      return false;
    expect *= shape[d];
  }
  return true;
}

/* Copies a strided view element by element (an odometer over the index). */
static void gather(ts_tensor *t, const ts_storage *s)
{
  size_t esize = (size_t)ts_dtypes[t->dtype].bytes;
  int64_t index[TS_MAX_RANK] = {0}, at = t->offset;
  unsigned char *out = t->data;
  for (int64_t i = 0; i < t->numel; i++) {
    memcpy(out + (size_t)i * esize, s->bytes + (size_t)at * esize, esize);
    for (int d = t->rank - 1; d >= 0; d--) {
      at += t->stride[d];
      if (++index[d] < t->shape[d])
        break;
      at -= t->stride[d] * t->shape[d];
      index[d] = 0;
    }
  }
}

ts_tensor *ts_tensor_view(aotc_ctx *ctx, ir_loc loc, const ts_storage *s, int64_t offset, int rank,
                          const int64_t *shape, const int64_t *stride)
{
  int64_t numel;
  if (!view_extent(ctx, loc, s, offset, rank, shape, stride, &numel))
    return NULL;
  size_t esize = (size_t)ts_dtypes[s->dtype].bytes;
  if ((uint64_t)numel > ((uint64_t)s->numel * esize + TS_MAX_EXPANSION) / esize)
    return view_error(ctx, loc, s, "repeats its elements past the expansion limit"), NULL;
  ts_tensor *t = IR_NEW(ctx, ts_tensor);
  void *data = ir_alloc(ctx, (size_t)numel * esize);
  if (!t || !data)
    return NULL;
  *t = (ts_tensor){.dtype = s->dtype, .rank = rank, .numel = numel, .data = data, .storage = s, .offset = offset};
  memcpy(t->shape, shape, sizeof(int64_t) * (size_t)rank);
  memcpy(t->stride, stride, sizeof(int64_t) * (size_t)rank);
  if (numel && is_contiguous(rank, shape, stride))
    memcpy(data, s->bytes + (size_t)offset * esize, (size_t)numel * esize);
  else
    gather(t, s);
  return t;
}

/* ------------------------------------------------------------------------
 * Elements
 * ------------------------------------------------------------------------ */

static double half_to_double(uint16_t h)
{
  int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v = exp == 0 ? ldexp(mant, -24) : exp == 31 ? (mant ? NAN : INFINITY) : ldexp(mant + 1024, exp - 25);
  return h >> 15 ? -v : v;
}

static double bf16_to_double(uint16_t h)
{
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, sizeof(f));
  return f;
}

#define LOAD(T, p)       \
  ({                     \
    T v_;                \
    memcpy(&v_, p, sizeof(v_)); \
    v_;                  \
  })

double ts_tensor_get(const ts_tensor *t, int64_t i)
{
  const unsigned char *p = (const unsigned char *)t->data + (size_t)i * (size_t)ts_dtypes[t->dtype].bytes;
  switch (t->dtype) {
  case TS_F32: return LOAD(float, p);
  case TS_F64: return LOAD(double, p);
  case TS_F16: return half_to_double(LOAD(uint16_t, p));
  case TS_BF16: return bf16_to_double(LOAD(uint16_t, p));
  case TS_I8: return LOAD(int8_t, p);
  case TS_I16: return LOAD(int16_t, p);
  case TS_I32: return LOAD(int32_t, p);
  case TS_I64: return (double)LOAD(int64_t, p);
  case TS_U8: return LOAD(uint8_t, p);
  case TS_BOOL: return *p != 0;
  default: return 0;
  }
}

const void *ts_tensor_ir_data(aotc_ctx *ctx, const ts_tensor *t)
{
  if (t->dtype != TS_F16 && t->dtype != TS_BF16)
    return t->data;
  float *out = IR_NEW_ARRAY(ctx, float, t->numel);
  for (int64_t i = 0; out && i < t->numel; i++)
    out[i] = (float)ts_tensor_get(t, i);
  return out;
}

const char *ts_tensor_describe(aotc_ctx *ctx, const ts_tensor *t)
{
  char buf[TS_MAX_RANK * 24 + 32];
  size_t n = (size_t)snprintf(buf, sizeof(buf), "%s (", ts_dtypes[t->dtype].name);
  for (int d = 0; d < t->rank; d++)
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
  snprintf(buf + n, sizeof(buf) - n, ")");
  return ir_strdup(ctx, buf);
}
