/* onnx_testdata.c: one ONNX backend test through the reference interpreter. */
#include "onnx_testdata.h"

#include "ir.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OT_MAX_IO 64

typedef struct ot_tensor {
  ir_type type;
  int rank;
  int64_t shape[16];
  void *data;
} ot_tensor;

typedef struct ot_case {
  aotc_ctx *ctx;
  unsigned char *model;
  size_t model_len;
  ot_tensor in[OT_MAX_IO], out[OT_MAX_IO];
  int n_in, n_out;
  void *results[OT_MAX_IO];
} ot_case;

unsigned char *onnx_testdata_slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = n > 0 ? (size_t)n : 0;
  return buf;
}

static ot_result say(ot_result r, char *msg, size_t msg_len, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, msg_len, fmt, ap);
  va_end(ap);
  return r;
}

/* Loads kind_k.pb for k = 0, 1, ... until one is missing. */
static bool load_tensors(ot_case *c, const char *dir, const char *kind, ot_tensor *ts, int *n)
{
  char path[4096];
  for (*n = 0; *n < OT_MAX_IO; (*n)++) {
    size_t len;
    snprintf(path, sizeof(path), "%s/test_data_set_0/%s_%d.pb", dir, kind, *n);
    unsigned char *buf = onnx_testdata_slurp(path, &len);
    if (!buf)
      return true;
    ot_tensor *t = &ts[*n];
    bool ok = onnx_read_tensor(c->ctx, path, buf, len, &t->type, &t->rank, t->shape, &t->data);
    free(buf);
    if (!ok)
      return false;
  }
  return true;
}

static int64_t numel(const ot_tensor *t)
{
  int64_t n = 1;
  for (int d = 0; d < t->rank; d++)
    n *= t->shape[d];
  return n;
}

static bool first_error(const aotc_ctx *ctx, char *msg, size_t msg_len)
{
  for (int k = 0; k < ctx->n_diags; k++)
    if (ctx->diags[k].severity == AOTC_ERROR) {
      snprintf(msg, msg_len, "%s", ctx->diags[k].msg);
      return true;
    }
  snprintf(msg, msg_len, "unknown error");
  return false;
}

static bool is_unsupported(const char *msg)
{
  return strstr(msg, "not supported") != NULL || strstr(msg, "must be a constant") != NULL;
}

bool onnx_testdata_close(int type, const void *a, const void *b, long long n, long long *bad)
{
  for (long long k = 0; k < n; k++) {
    double x, y;
    switch ((ir_type)type) {
    case IR_F32: x = ((const float *)a)[k]; y = ((const float *)b)[k]; break;
    case IR_F64: x = ((const double *)a)[k]; y = ((const double *)b)[k]; break;
    default: {
      size_t w = (size_t)ir_types[type].bytes;
      if (memcmp((const char *)a + k * w, (const char *)b + k * w, w)) {
        *bad = k;
        return false;
      }
      continue;
    }
    }
    if ((isnan(x) && isnan(y)) || x == y)
      continue;
    if (!(fabs(x - y) <= 1e-5 + 1e-4 * fabs(y))) {
      *bad = k;
      return false;
    }
  }
  return true;
}

static ot_result compare(ot_case *c, const ir_func *f, char *msg, size_t msg_len)
{
  if (f->n_outputs != c->n_out)
    return say(OT_FAIL, msg, msg_len, "%d outputs, the test data has %d", f->n_outputs, c->n_out);
  for (int k = 0; k < c->n_out; k++) {
    const ir_tensor *t = f->tensors[f->outputs[k]];
    const ot_tensor *e = &c->out[k];
    int64_t shape[16];
    long long bad = 0;
    ir_tensor_shape(f, f->outputs[k], NULL, shape);
    if (t->type != e->type || t->rank != e->rank || memcmp(shape, e->shape, sizeof(int64_t) * (size_t)e->rank))
      return say(OT_FAIL, msg, msg_len, "output %d ('%s'): %s rank %d (first dimension %lld), expected %s rank %d (%lld)",
                 k, t->name, ir_types[t->type].name, t->rank, t->rank ? (long long)shape[0] : 0LL,
                 ir_types[e->type].name, e->rank, e->rank ? (long long)e->shape[0] : 0LL);
    if (!onnx_testdata_close(t->type, c->results[k], e->data, numel(e), &bad))
      return say(OT_FAIL, msg, msg_len, "output %d ('%s'): element %lld differs", k, t->name, bad);
  }
  return say(OT_PASS, msg, msg_len, "ok");
}

/* The given value feeding function input t (matched by C identifier). */
static const ot_tensor *input_for(ot_case *c, const char **names, const ir_tensor *t)
{
  for (int k = 0; k < c->n_in; k++)
    if (!strcmp(ir_c_identifier(c->ctx, names[k]), t->name))
      return &c->in[k];
  return NULL;
}

static ot_result execute(ot_case *c, const ir_func *f, const char **names, char *msg, size_t msg_len)
{
  void *args[2 * OT_MAX_IO];
  if (f->n_inputs > OT_MAX_IO || f->n_outputs > OT_MAX_IO)
    return say(OT_FAIL, msg, msg_len, "too many inputs or outputs");
  for (int k = 0; k < f->n_inputs; k++) {
    const ot_tensor *in = input_for(c, names, f->tensors[f->inputs[k]]);
    if (!in)
      return say(OT_FAIL, msg, msg_len, "no data for input '%s'", f->tensors[f->inputs[k]]->name);
    args[k] = in->data;
  }
  for (int k = 0; k < f->n_outputs; k++) {
    int64_t n = ir_tensor_numel(f, f->outputs[k], NULL);
    c->results[k] = calloc((size_t)(n > 0 ? n : 1), (size_t)ir_types[f->tensors[f->outputs[k]]->type].bytes);
    args[f->n_inputs + k] = c->results[k];
  }
  if (ir_interpret(c->ctx, f, NULL, args)) {
    first_error(c->ctx, msg, msg_len);
    return OT_FAIL;
  }
  return compare(c, f, msg, msg_len);
}

/* Test data that cannot be read (sequences, strings, float16): unsupported
 * when the model is refused for that reason too. */
static ot_result data_error(ot_case *c, const char *path, char *msg, size_t msg_len)
{
  char first[512];
  first_error(c->ctx, first, sizeof(first));
  aotc_clear_diags(c->ctx);
  if (onnx_compile(c->ctx, path, c->model, c->model_len, "model") || !first_error(c->ctx, msg, msg_len))
    return say(is_unsupported(first) ? OT_UNSUPPORTED : OT_FAIL, msg, msg_len, "%s", first);
  return is_unsupported(msg) || is_unsupported(first) ? OT_UNSUPPORTED : OT_FAIL;
}

static ot_result run_case(ot_case *c, const char *dir, char *msg, size_t msg_len)
{
  char path[4096];
  onnx_given given[OT_MAX_IO];
  int n_names = 0;
  snprintf(path, sizeof(path), "%s/model.onnx", dir);
  if (!(c->model = onnx_testdata_slurp(path, &c->model_len)))
    return say(OT_FAIL, msg, msg_len, "cannot read %s", path);
  const char **names = onnx_model_inputs(c->ctx, c->model, c->model_len, &n_names);
  if (!names || !load_tensors(c, dir, "input", c->in, &c->n_in) || !load_tensors(c, dir, "output", c->out, &c->n_out))
    return data_error(c, path, msg, msg_len);
  if (n_names != c->n_in)
    return say(OT_FAIL, msg, msg_len, "the model has %d inputs, the test data %d", n_names, c->n_in);
  for (int k = 0; k < c->n_in; k++)
    given[k] = (onnx_given){names[k], c->in[k].type, c->in[k].rank, c->in[k].shape, c->in[k].data, false};
  ir_module *m = onnx_compile_given(c->ctx, path, c->model, c->model_len, "model", given, c->n_in);
  if (!m) {
    first_error(c->ctx, msg, msg_len);
    return is_unsupported(msg) ? OT_UNSUPPORTED : OT_FAIL;
  }
  return execute(c, m->funcs[0], names, msg, msg_len);
}

ot_result onnx_testdata_run(const char *dir, char *msg, size_t msg_len)
{
  ot_case c;
  memset(&c, 0, sizeof(c));
  c.ctx = aotc_ctx_new(NULL, NULL);
  if (!c.ctx)
    return say(OT_FAIL, msg, msg_len, "out of memory");
  ot_result r = run_case(&c, dir, msg, msg_len);
  for (int k = 0; k < OT_MAX_IO; k++) {
    free(c.in[k].data);
    free(c.out[k].data);
    free(c.results[k]);
  }
  free(c.model);
  aotc_ctx_free(c.ctx);
  return r;
}
