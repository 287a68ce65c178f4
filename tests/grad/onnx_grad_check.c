/* onnx_grad_check.c: the gradient of every ONNX operator the op library
 * lowers, against finite differences. Each ONNX backend test directory
 * (model.onnx and test_data_set_0/input_k.pb) is lowered with its inputs'
 * shapes, turned into double precision, differentiated (src/ir/grad.c), and
 * the adjoint of up to 16 elements of every floating-point input checked
 * against (L(x + h) - L(x - h)) / 2h, L = sum(d_Y * Y) for a fixed random
 * d_Y, through the reference interpreter (models whose statements run at
 * more than 200,000 points are skipped: too slow to interpret so often). One line per test, then the
 * counts:
 *
 *   onnx_grad_check [-q] DIR...
 *
 * PASS: every checked element agrees; FAIL: one does not, or the gradient
 * could not be built; SKIP: the model is refused, or has no floating-point
 * input or output to differentiate. */
#include "grad.h"
#include "onnx_testdata.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IO 32
#define SAMPLES 16
#define MAX_WORK 200000 /* statement points one interpretation may run */

typedef enum { GC_PASS, GC_FAIL, GC_SKIP } gc_result;

typedef struct gc_case {
  aotc_ctx *ctx;
  unsigned char *model;
  size_t len;
  int n_in;
  ir_type type[MAX_IO];
  int rank[MAX_IO];
  int64_t shape[MAX_IO][16];
  void *data[MAX_IO];
  void *bufs[4 * MAX_IO];
  int n_bufs;
} gc_case;

static gc_result say(gc_result r, char *msg, size_t cap, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, cap, fmt, ap);
  va_end(ap);
  return r;
}

static void *keep(gc_case *c, void *p)
{
  if (p && c->n_bufs < 4 * MAX_IO)
    c->bufs[c->n_bufs++] = p;
  return p;
}

static bool load_inputs(gc_case *c, const char *dir)
{
  for (c->n_in = 0; c->n_in < MAX_IO; c->n_in++) {
    char path[4096];
    size_t len;
    snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, c->n_in);
    unsigned char *buf = onnx_testdata_slurp(path, &len);
    if (!buf)
      return true;
    int k = c->n_in;
    bool ok = onnx_read_tensor(c->ctx, path, buf, len, &c->type[k], &c->rank[k], c->shape[k], &c->data[k]);
    free(buf);
    if (!ok)
      return false;
    keep(c, c->data[k]);
  }
  return true;
}

/* ------------------------------------------------------------------------
 * Double precision
 * ------------------------------------------------------------------------ */

static void expr_to_double(ir_expr *e)
{
  if (e->type == IR_F32)
    e->type = IR_F64;
  for (int k = 0; k < e->n_args; k++)
    expr_to_double(e->args[k]);
}

static void *doubles_of(gc_case *c, const float *src, int64_t n)
{
  double *d = keep(c, malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)));
  for (int64_t i = 0; d && i < n; i++)
    d[i] = src[i];
  return d;
}

static void func_to_double(gc_case *c, ir_func *f)
{
  for (int t = 0; t < f->n_tensors; t++) {
    ir_tensor *x = f->tensors[t];
    if (x->type != IR_F32)
      continue;
    x->type = IR_F64;
    if (x->data)
      x->data = doubles_of(c, x->data, ir_tensor_numel(f, t, NULL));
  }
  for (int k = 0; k < f->n_stmts; k++) {
    expr_to_double(f->stmts[k]->rhs);
    for (int d = 0; f->stmts[k]->lhs_expr && d < f->stmts[k]->n_lhs; d++)
      expr_to_double(f->stmts[k]->lhs_expr[d]);
  }
}

/* ------------------------------------------------------------------------
 * Running
 * ------------------------------------------------------------------------ */

static uint64_t rng;

static double uniform(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0 * 2 - 1;
}

static const char **names;
static int n_names;

/* The data for f's input t, converted to double when it is float. */
static void *input_data(gc_case *c, const ir_func *f, int t)
{
  for (int k = 0; k < c->n_in && k < n_names; k++) {
    if (strcmp(ir_c_identifier(c->ctx, names[k]), f->tensors[t]->name))
      continue;
    int64_t n = ir_tensor_numel(f, t, NULL);
    return c->type[k] == IR_F32 ? doubles_of(c, c->data[k], n) : c->data[k];
  }
  return NULL;
}

static void *zeros(gc_case *c, const ir_func *f, int t)
{
  int64_t n = ir_tensor_numel(f, t, NULL);
  return keep(c, calloc((size_t)(n > 0 ? n : 1), (size_t)ir_types[f->tensors[t]->type].bytes));
}

static double objective(gc_case *c, const ir_func *f, void **args, void *const *dys)
{
  if (ir_interpret(c->ctx, f, NULL, args))
    return NAN;
  double l = 0;
  for (int o = 0; o < f->n_outputs; o++) {
    if (f->tensors[f->outputs[o]]->type != IR_F64)
      continue;
    const double *y = args[f->n_inputs + o], *dy = dys[o];
    for (int64_t j = 0; j < ir_tensor_numel(f, f->outputs[o], NULL); j++)
      l += dy[j] * y[j];
  }
  return l;
}

static double finite_difference(gc_case *c, const ir_func *f, void **args, void *const *dys, double *x)
{
  double x0 = *x, h = 1e-6 * (fabs(x0) > 1 ? fabs(x0) : 1);
  *x = x0 + h;
  double lp = objective(c, f, args, dys);
  *x = x0 - h;
  double lm = objective(c, f, args, dys);
  *x = x0;
  return (lp - lm) / (2 * h);
}

/* Input i of f (float) against g's adjoint an: up to SAMPLES elements. */
static gc_result check_input(gc_case *c, const ir_func *f, void **args, void *const *dys, int i, const double *an,
                             char *msg, size_t cap)
{
  int64_t n = ir_tensor_numel(f, f->inputs[i], NULL), step = n > SAMPLES ? n / SAMPLES : 1;
  for (int64_t j = 0; j < n; j += step) {
    double want = finite_difference(c, f, args, dys, (double *)args[i] + j);
    if (!(fabs(an[j] - want) <= 1e-5 + 1e-4 * fabs(want)))
      return say(GC_FAIL, msg, cap, "d_%s[%lld] = %.9g, finite differences %.9g", f->tensors[f->inputs[i]]->name,
                 (long long)j, an[j], want);
  }
  return GC_PASS;
}

static bool has_float(const ir_func *f, const int *list, int n)
{
  for (int k = 0; k < n; k++)
    if (f->tensors[list[k]]->type == IR_F64)
      return true;
  return false;
}

/* The points the statements of f run at: what one interpretation costs. */
static int64_t work_of(const ir_func *f)
{
  int64_t total = 0;
  for (int k = 0; k < f->n_stmts; k++) {
    int64_t n = 1;
    for (int i = 0; i < f->stmts[k]->n_index; i++) {
      int64_t lo, hi;
      if (!ir_size_eval(f->stmts[k]->index[i].lo, NULL, &lo) || !ir_size_eval(f->stmts[k]->index[i].hi, NULL, &hi))
        return INT64_MAX;
      n *= hi > lo ? hi - lo : 0;
      if (n > MAX_WORK)
        return INT64_MAX;
    }
    total += n;
  }
  return total;
}

static gc_result check_func(gc_case *c, ir_func *f, char *msg, size_t cap)
{
  func_to_double(c, f);
  if (!has_float(f, f->inputs, f->n_inputs) || !has_float(f, f->outputs, f->n_outputs) || f->n_inputs > MAX_IO)
    return say(GC_SKIP, msg, cap, "nothing to differentiate");
  if (work_of(f) > MAX_WORK)
    return say(GC_SKIP, msg, cap, "too large for finite differences (%lld points)", (long long)work_of(f));
  ir_func *g = grad_func(c->ctx, f);
  if (!g || !ir_verify(c->ctx, g))
    return say(GC_FAIL, msg, cap, "%s", c->ctx->n_diags ? c->ctx->diags[0].msg : "no gradient");
  void *args[2 * MAX_IO], *gargs[4 * MAX_IO];
  for (int k = 0; k < f->n_inputs; k++)
    if (!(gargs[k] = args[k] = input_data(c, f, f->inputs[k])))
      return say(GC_SKIP, msg, cap, "no data for input '%s'", f->tensors[f->inputs[k]]->name);
  for (int k = 0; k < f->n_outputs; k++)
    args[f->n_inputs + k] = zeros(c, f, f->outputs[k]);
  for (int k = f->n_inputs; k < g->n_inputs; k++) {
    double *dy = zeros(c, g, g->inputs[k]);
    for (int64_t j = 0; j < ir_tensor_numel(g, g->inputs[k], NULL); j++)
      dy[j] = uniform();
    gargs[k] = dy;
  }
  for (int k = 0; k < g->n_outputs; k++)
    gargs[g->n_inputs + k] = zeros(c, g, g->outputs[k]);
  if (ir_interpret(c->ctx, g, NULL, gargs))
    return say(GC_FAIL, msg, cap, "interpreting the gradient: %s", c->ctx->diags[0].msg);
  void *dys[MAX_IO] = {0};
  for (int k = 0, o = 0; k < f->n_outputs; k++)
    dys[k] = f->tensors[f->outputs[k]]->type == IR_F64 ? gargs[f->n_inputs + o++] : NULL;
  for (int i = 0, out = g->n_inputs; i < f->n_inputs; i++) {
    if (f->tensors[f->inputs[i]]->type != IR_F64)
      continue;
    if (check_input(c, f, args, dys, i, gargs[out++], msg, cap) != GC_PASS)
      return GC_FAIL;
  }
  return say(GC_PASS, msg, cap, "ok");
}

static gc_result run_dir(gc_case *c, const char *dir, char *msg, size_t cap)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  if (!(c->model = onnx_testdata_slurp(path, &c->len)))
    return say(GC_SKIP, msg, cap, "cannot read %s", path);
  names = onnx_model_inputs(c->ctx, c->model, c->len, &n_names);
  if (!names || !load_inputs(c, dir) || c->n_in != n_names)
    return say(GC_SKIP, msg, cap, "test data not readable");
  onnx_given given[MAX_IO];
  for (int k = 0; k < c->n_in; k++)
    given[k] = (onnx_given){names[k], c->type[k], c->rank[k], c->shape[k], c->data[k], false};
  ir_module *m = onnx_compile_given(c->ctx, path, c->model, c->len, "model", given, c->n_in);
  if (!m)
    return say(GC_SKIP, msg, cap, "refused");
  return check_func(c, m->funcs[0], msg, cap);
}

int main(int argc, char **argv)
{
  static const char *const label[] = {"PASS", "FAIL", "SKIP"};
  int counts[3] = {0, 0, 0};
  bool quiet = argc > 1 && !strcmp(argv[1], "-q");
  for (int k = quiet ? 2 : 1; k < argc; k++) {
    gc_case c = {.ctx = aotc_ctx_new(NULL, NULL)};
    char msg[512];
    rng = 88172645463325252ull;
    gc_result r = c.ctx ? run_dir(&c, argv[k], msg, sizeof msg) : say(GC_FAIL, msg, sizeof msg, "out of memory");
    counts[r]++;
    if (!quiet || r == GC_FAIL)
      printf("%s %s: %s\n", label[r], argv[k], msg);
    fflush(stdout);
    for (int b = 0; b < c.n_bufs; b++)
      free(c.bufs[b]);
    free(c.model);
    aotc_ctx_free(c.ctx);
  }
  printf("grad of onnx ops: %d passed, %d failed, %d skipped\n", counts[0], counts[1], counts[2]);
  return counts[1] ? 1 : 0;
}
