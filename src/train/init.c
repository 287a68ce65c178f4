/* init.c: `aotc train --init kaiming|xavier --seed S`: initial values of
 * the parameters drawn at compile time (NAME_init then writes them), with
 * PyTorch's formulas (torch.nn.init, 1.13):
 *
 *   kaiming  weights: kaiming_uniform_(a = sqrt(5)), i.e. U(-b, b) with
 *            b = 1 / sqrt(fan_in) (nn.Linear's and nn.Conv2d's default);
 *            biases: U(-1 / sqrt(fan_in), 1 / sqrt(fan_in)) of their layer
 *   xavier   weights: xavier_uniform_, b = sqrt(6 / (fan_in + fan_out));
 *            biases: zero
 *
 * fan_in = shape[1] * the receptive field (shape[2] * ...), fan_out =
 * shape[0] * the receptive field, from the weight's own shape as PyTorch
 * computes it (a Gemm with transB = 1 or a Conv, as PyTorch exports them).
 * Parameters of rank 1 that are no layer's bias (batch normalisation's scale
 * and shift) keep the model's values. The uniform numbers come from the
 * generator of dropout.c: element i of the k-th parameter (f's order) is
 * bits(seed, 2^63 + k 2^32 + i) / 2^32, the same on every machine. */
#include "train.h"

#define TRAIN_MAX_RANK 16

#include <math.h>
#include <string.h>

typedef struct fans {
  double in, out;
} fans;

static fans fans_of(const ir_tensor *x)
{
  int64_t dims[TRAIN_MAX_RANK] = {0};
  double field = 1;
  for (int d = 0; d < x->rank && d < TRAIN_MAX_RANK; d++)
    if (!ir_size_is_const(x->shape[d], &dims[d]))
      dims[d] = 1;
  for (int d = 2; d < x->rank; d++)
    field *= (double)dims[d];
  return (fans){(double)dims[1] * field, (double)dims[0] * field};
}

static int64_t numel(const ir_tensor *x)
{
  int64_t n = 1, v;
  for (int d = 0; d < x->rank; d++)
    n *= ir_size_is_const(x->shape[d], &v) ? v : 0;
  return n;
}

/* U(-bound, bound) into x->data (float or double). */
static bool fill_uniform(aotc_ctx *ctx, ir_tensor *x, double bound, uint64_t seed, uint64_t k)
{
  int64_t n = numel(x);
  bool f64 = x->type == IR_F64;
  void *data = IR_NEW_ARRAY(ctx, double, n ? n : 1);
  if (!data)
    return false;
  for (int64_t i = 0; i < n; i++) {
    uint64_t counter = (UINT64_C(1) << 63) + (k << 32) + (uint64_t)i;
    double u = train_random_bits(seed, counter) / 4294967296.0;
    double v = bound > 0 ? bound * (2 * u - 1) : 0;
    if (f64)
      ((double *)data)[i] = v;
    else
      ((float *)data)[i] = (float)v;
  }
  x->data = data;
  return true;
}

/* The weight of the layer whose bias is name, -1 when none. */
static int weight_of(const ir_func *f, const char *name, const char *const *layers, int n_layers)
{
  for (int k = 0; k < n_layers; k++)
    if (layers[2 * k + 1] && !strcmp(layers[2 * k + 1], name))
      return ir_func_find_tensor(f, layers[2 * k]);
  return -1;
}

static double weight_bound(train_init kind, fans fa)
{
  if (kind == TRAIN_INIT_XAVIER)
    return sqrt(6.0 / (fa.in + fa.out));
  return 1.0 / sqrt(fa.in);
}

bool train_init_values(aotc_ctx *ctx, ir_func *f, train_init kind, uint64_t seed, const char *const *layers,
                       int n_layers)
{
  for (int i = 0, k = 0; kind != TRAIN_INIT_MODEL && i < f->n_inputs; i++) {
    ir_tensor *x = f->tensors[f->inputs[i]];
    if (x->role != IR_PARAMETER || !ir_types[x->type].is_float || x->rank < 1)
      continue;
    uint64_t number = (uint64_t)k++;
    int w = x->rank == 1 ? weight_of(f, x->name, layers, n_layers) : -1;
    if (x->rank >= 2 && !fill_uniform(ctx, x, weight_bound(kind, fans_of(x)), seed, number))
      return false;
    if (w >= 0 && !fill_uniform(ctx, x, kind == TRAIN_INIT_XAVIER ? 0 : 1.0 / sqrt(fans_of(f->tensors[w]).in),
                                seed, number))
      return false;
  }
  return true;
}
