/* onnx_ops.c: ONNX nodes to graph nodes. The table maps each ONNX op type
 * to the graph op it builds and a decoder that reads the node's attributes
 * (checking their types) and resolves opset differences into the op's typed
 * parameters (graph_params) and canonical inputs: lists that older opsets
 * give as attributes become constant inputs, Resize's roi is dropped,
 * Upsample is a resize. This file and onnx_attr.c are the only places that
 * know ONNX attribute names and opsets. */
#include "onnx_attr.h"

#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Elementwise operators
 * ------------------------------------------------------------------------ */

/* Before opset 7, binary operators broadcast the second operand only with
 * broadcast=1, lined up at dimension `axis` of the first (by default at its
 * end, which numpy broadcasting gives too). */
static bool decode_binary(onnx_decoder *d)
{
  graph_binary_params *p = &d->n->p.binary;
  int64_t broadcast, axis;
  if (d->opset >= 7)
    return true;
  if (!onnx_attr_int(d, "broadcast", 0, &broadcast) || !onnx_attr_int(d, "axis", -1, &axis))
    return false;
  if (broadcast && onnx_attr_find(d, "axis")) {
    if (axis < 0 || axis >= IR_MAX_RANK)
      return onnx_attr_fail(d, "axis", "must be between 0 and %d", IR_MAX_RANK - 1);
    p->aligned = true;
    p->axis = (int)axis;
  }
  return true;
}

static bool decode_prelu(onnx_decoder *d)
{
  d->n->p.binary.channel_slope = d->opset < 7;
  return true;
}

static bool decode_mod(onnx_decoder *d)
{
  return onnx_attr_bool(d, "fmod", false, &d->n->p.binary.fmod);
}

static double default_alpha(graph_op op)
{
  switch (op) {
  case GRAPH_OP_LEAKY_RELU: return 0.01;
  case GRAPH_OP_HARD_SIGMOID: return 0.2;
  case GRAPH_OP_SELU: return 1.67326319217681884765625;
  default: return 1.0;
  }
}

static bool decode_activation(onnx_decoder *d)
{
  graph_activation_params *p = &d->n->p.act;
  return onnx_attr_float(d, "alpha", default_alpha(d->n->op), &p->alpha) && onnx_attr_float(d, "beta", 0.5, &p->beta) &&
         onnx_attr_float(d, "gamma", 1.05070102214813232421875, &p->gamma);
}

static bool decode_shrink(onnx_decoder *d)
{
  return onnx_attr_float(d, "lambd", 0.5, &d->n->p.shrink.lambd) && onnx_attr_float(d, "bias", 0, &d->n->p.shrink.bias);
}

static bool decode_isinf(onnx_decoder *d)
{
  graph_isinf_params *p = &d->n->p.isinf;
  return onnx_attr_bool(d, "detect_positive", true, &p->detect_positive) &&
         onnx_attr_bool(d, "detect_negative", true, &p->detect_negative);
}

/* Before opset 11 the bounds are attributes: constant inputs 1 and 2. */
static bool decode_clip(onnx_decoder *d)
{
  static const char *const names[2] = {"min", "max"};
  if (d->opset >= 11)
    return true;
  for (int k = 0; k < 2; k++) {
    double v;
    if (!onnx_attr_float(d, names[k], 0, &v))
      return false;
    if (onnx_attr_find(d, names[k]) && !onnx_input_float(d, 1 + k, names[k], v))
      return false;
  }
  return true;
}

static bool decode_cast(onnx_decoder *d)
{
  return onnx_attr_type(d, "to", true, &d->n->p.cast.to, NULL);
}

/* ------------------------------------------------------------------------
 * Shapes and data movement
 * ------------------------------------------------------------------------ */

static bool decode_axis_0(onnx_decoder *d)
{
  return onnx_attr_int(d, "axis", 0, &d->n->p.axis.axis);
}

static bool decode_axis_1(onnx_decoder *d)
{
  return onnx_attr_int(d, "axis", 1, &d->n->p.axis.axis);
}

static bool decode_axis_last(onnx_decoder *d)
{
  return onnx_attr_int(d, "axis", -1, &d->n->p.axis.axis);
}

static bool decode_shape(onnx_decoder *d)
{
  return onnx_attr_int(d, "start", 0, &d->n->p.shape.start) && onnx_attr_int(d, "end", INT64_MAX, &d->n->p.shape.end);
}

static bool decode_fill(onnx_decoder *d)
{
  graph_fill_params *p = &d->n->p.fill;
  p->type = IR_F32;
  return onnx_attr_scalar(d, "value", &p->type, p->value.bytes);
}

static bool decode_reshape(onnx_decoder *d)
{
  return onnx_attr_bool(d, "allowzero", false, &d->n->p.reshape.allow_zero);
}

/* Before opset 13 (Squeeze, Unsqueeze: axes; Split: split), 10 (Slice) or
 * 18 (Reduce*: axes; ReduceSum: 13) lists are attributes: constant inputs. */
static bool list_to_input(onnx_decoder *d, int since, const char *name, int k)
{
  return d->opset >= since || onnx_attr_list_input(d, name, k);
}

static bool decode_squeeze(onnx_decoder *d)
{
  return list_to_input(d, 13, "axes", 1);
}

static bool decode_split(onnx_decoder *d)
{
  return decode_axis_0(d) && list_to_input(d, 13, "split", 1);
}

static bool decode_slice(onnx_decoder *d)
{
  return list_to_input(d, 10, "starts", 1) && list_to_input(d, 10, "ends", 2) && list_to_input(d, 10, "axes", 3);
}

static bool decode_transpose(onnx_decoder *d)
{
  graph_transpose_params *p = &d->n->p.transpose;
  int64_t perm[IR_MAX_RANK];
  if (!onnx_attr_ints(d, "perm", IR_MAX_RANK, perm, &p->n_perm))
    return false;
  for (int k = 0; k < p->n_perm; k++) {
    if (perm[k] < 0 || perm[k] >= p->n_perm)
      return onnx_attr_fail(d, "perm", "is not a permutation of 0 .. %d", p->n_perm - 1);
    p->perm[k] = (int)perm[k];
  }
  p->n_perm = p->n_perm < 0 ? 0 : p->n_perm;
  return true;
}

/* Before opset 11 pads and the constant value are attributes. */
static bool decode_pad(onnx_decoder *d)
{
  static const char *const modes[] = {"constant", "reflect", "edge"};
  int mode;
  double value;
  if (!onnx_attr_enum(d, "mode", modes, 3, 0, &mode))
    return false;
  d->n->p.pad.mode = (graph_pad_mode)mode;
  if (d->opset >= 11)
    return true;
  if (!onnx_attr_list_input(d, "pads", 1) || !onnx_attr_float(d, "value", 0, &value))
    return false;
  return !onnx_attr_find(d, "value") || onnx_input_float(d, 2, "value", value);
}

static bool decode_eye(onnx_decoder *d)
{
  graph_eye_params *p = &d->n->p.eye;
  bool given;
  if (!onnx_attr_type(d, "dtype", false, &p->type, &given))
    return false;
  p->same_type = !given;
  return onnx_attr_int(d, "k", 0, &p->k);
}

static bool decode_trilu(onnx_decoder *d)
{
  return onnx_attr_bool(d, "upper", true, &d->n->p.trilu.upper);
}

static bool decode_cumsum(onnx_decoder *d)
{
  graph_cumsum_params *p = &d->n->p.cumsum;
  return onnx_attr_bool(d, "exclusive", false, &p->exclusive) && onnx_attr_bool(d, "reverse", false, &p->reverse);
}

static bool decode_block(onnx_decoder *d)
{
  static const char *const modes[] = {"DCR", "CRD"};
  int mode;
  if (!onnx_attr_int(d, "blocksize", 0, &d->n->p.block.block) || !onnx_attr_enum(d, "mode", modes, 2, 0, &mode))
    return false;
  d->n->p.block.crd = mode == 1;
  return true;
}

/* ------------------------------------------------------------------------
 * Neural-network operators
 * ------------------------------------------------------------------------ */

static bool decode_gemm(onnx_decoder *d)
{
  graph_gemm_params *p = &d->n->p.gemm;
  return onnx_attr_bool(d, "transA", false, &p->trans_a) && onnx_attr_bool(d, "transB", false, &p->trans_b) &&
         onnx_attr_float(d, "alpha", 1, &p->alpha) && onnx_attr_float(d, "beta", 1, &p->beta);
}

static bool decode_conv(onnx_decoder *d)
{
  graph_conv_params *p = &d->n->p.conv;
  return onnx_attr_window(d, &p->window, NULL) && onnx_attr_int(d, "group", 1, &p->groups);
}

static bool decode_conv_transpose(onnx_decoder *d)
{
  graph_conv_transpose_params *p = &d->n->p.conv_transpose;
  if (!onnx_attr_window(d, &p->window, p->output_padding) || !onnx_attr_int(d, "group", 1, &p->groups) ||
      !onnx_attr_ints(d, "output_shape", IR_MAX_RANK, p->output_shape, &p->n_output_shape))
    return false;
  p->n_output_shape = p->n_output_shape < 0 ? 0 : p->n_output_shape;
  return true;
}

static bool decode_pool(onnx_decoder *d)
{
  graph_pool_params *p = &d->n->p.pool;
  int64_t order;
  if (!onnx_attr_window(d, &p->window, NULL) || !onnx_attr_bool(d, "ceil_mode", false, &p->ceil_mode) ||
      !onnx_attr_bool(d, "count_include_pad", false, &p->count_include_pad) ||
      !onnx_attr_int(d, "storage_order", 0, &order))
    return false;
  if (!onnx_attr_find(d, "kernel_shape"))
    return onnx_attr_fail(d, "kernel_shape", "is required");
  return order == 0 || onnx_attr_fail(d, "storage_order", "other than 0 is not supported");
}

static bool decode_batchnorm(onnx_decoder *d)
{
  int64_t training, spatial;
  if (!onnx_attr_float(d, "epsilon", 1e-5, &d->n->p.norm.epsilon) || !onnx_attr_int(d, "training_mode", 0, &training) ||
      !onnx_attr_int(d, "spatial", 1, &spatial))
    return false;
  if (training)
    return onnx_attr_fail(d, "training_mode", "other than 0 is not supported");
  return spatial == 1 || onnx_attr_fail(d, "spatial", "other than 1 is not supported");
}

static bool decode_instancenorm(onnx_decoder *d)
{
  return onnx_attr_float(d, "epsilon", 1e-5, &d->n->p.norm.epsilon);
}

static bool decode_layernorm(onnx_decoder *d)
{
  graph_layernorm_params *p = &d->n->p.layernorm;
  p->stash_type = IR_F32;
  return onnx_attr_int(d, "axis", -1, &p->axis) && onnx_attr_float(d, "epsilon", 1e-5, &p->epsilon) &&
         onnx_attr_type(d, "stash_type", false, &p->stash_type, NULL);
}

/* Before opset 13 the input is seen as a matrix: dimensions from axis on
 * (default 1) form its rows. */
static bool decode_softmax(onnx_decoder *d)
{
  graph_softmax_params *p = &d->n->p.softmax;
  p->from_axis = d->opset < 13;
  return onnx_attr_int(d, "axis", p->from_axis ? 1 : -1, &p->axis);
}

static bool decode_reduce(onnx_decoder *d)
{
  graph_reduce_params *p = &d->n->p.reduce;
  int since = d->n->op == GRAPH_OP_REDUCE_SUM ? 13 : 18;
  return onnx_attr_bool(d, "keepdims", true, &p->keep_dims) &&
         onnx_attr_bool(d, "noop_with_empty_axes", false, &p->empty_is_noop) && list_to_input(d, since, "axes", 1);
}

static bool decode_arg(onnx_decoder *d)
{
  graph_arg_params *p = &d->n->p.arg;
  return onnx_attr_int(d, "axis", 0, &p->axis) && onnx_attr_bool(d, "keepdims", true, &p->keep_dims) &&
         onnx_attr_bool(d, "select_last_index", false, &p->select_last);
}

static bool decode_loss(onnx_decoder *d)
{
  static const char *const reductions[] = {"none", "sum", "mean"};
  graph_loss_params *p = &d->n->p.loss;
  int r;
  if (!onnx_attr_enum(d, "reduction", reductions, 3, 2, &r) || !onnx_attr_int(d, "ignore_index", 0, &p->ignore_index))
    return false;
  p->reduction = (graph_loss_reduction)r;
  p->has_ignore_index = onnx_attr_find(d, "ignore_index") != NULL;
  return true;
}

/* ------------------------------------------------------------------------
 * Other operators
 * ------------------------------------------------------------------------ */

static bool decode_einsum(onnx_decoder *d)
{
  if (!onnx_attr_string(d, "equation", NULL, &d->n->p.einsum.equation))
    return false;
  return d->n->p.einsum.equation || onnx_attr_fail(d, "equation", "is required");
}

static bool decode_lrn(onnx_decoder *d)
{
  graph_lrn_params *p = &d->n->p.lrn;
  return onnx_attr_int(d, "size", 0, &p->size) && onnx_attr_float(d, "alpha", 1e-4, &p->alpha) &&
         onnx_attr_float(d, "beta", 0.75, &p->beta) && onnx_attr_float(d, "bias", 1.0, &p->bias);
}

static bool decode_gather_nd(onnx_decoder *d)
{
  return onnx_attr_int(d, "batch_dims", 0, &d->n->p.gather_nd.batch_dims);
}

static bool decode_reverse(onnx_decoder *d)
{
  graph_reverse_params *p = &d->n->p.reverse;
  return onnx_attr_int(d, "time_axis", 0, &p->time_axis) && onnx_attr_int(d, "batch_axis", 1, &p->batch_axis);
}

/* ------------------------------------------------------------------------
 * Resize and Upsample: modes as enums; inputs x, scales, sizes
 * ------------------------------------------------------------------------ */

static bool resize_modes(onnx_decoder *d, bool legacy, graph_resize_params *p)
{
  static const char *const modes[] = {"nearest", "linear", "cubic", "bilinear"};
  static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                       "tf_half_pixel_for_nn"};
  static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  int mode, coord = GRAPH_COORD_ASYMMETRIC, near = GRAPH_NEAREST_FLOOR;
  if (!onnx_attr_enum(d, "mode", modes, 4, 0, &mode))
    return false;
  if (legacy ? mode == 2 : mode == 3)
    return onnx_attr_fail(d, "mode", "'%s' is not supported in this opset", modes[mode]);
  if (!legacy && (!onnx_attr_enum(d, "coordinate_transformation_mode", coords, 5, 0, &coord) ||
                  !onnx_attr_enum(d, "nearest_mode", nearest, 4, 0, &near)))
    return false;
  p->mode = mode == 3 ? GRAPH_RESIZE_LINEAR : (graph_resize_mode)mode;
  p->coord = (graph_resize_coord)coord;
  p->nearest = (graph_resize_nearest)near;
  return onnx_attr_float(d, "cubic_coeff_a", -0.75, &p->cubic_a) &&
         onnx_attr_bool(d, "exclude_outside", false, &p->exclude_outside);
}

static bool resize_unsupported(onnx_decoder *d)
{
  static const char *const policies[] = {"stretch"};
  int64_t antialias;
  int policy;
  if (!onnx_attr_int(d, "antialias", 0, &antialias) ||
      !onnx_attr_enum(d, "keep_aspect_ratio_policy", policies, 1, 0, &policy))
    return false;
  if (antialias)
    return onnx_attr_fail(d, "antialias", "other than 0 is not supported");
  return !onnx_attr_find(d, "axes") || onnx_attr_fail(d, "axes", "is not supported");
}

/* Resize-11 and later: x, roi, scales, sizes; roi (used only by the
 * tf_crop_and_resize mode) is dropped. */
static bool decode_resize(onnx_decoder *d)
{
  bool legacy = d->opset < 11;
  ir_node *n = d->n;
  if (!resize_modes(d, legacy, &n->p.resize) || !resize_unsupported(d))
    return false;
  if (legacy || n->n_in < 2)
    return true;
  n->in[1] = n->in[2];
  n->in[2] = n->n_in > 3 ? n->in[3] : -1;
  n->n_in = 3;
  return true;
}

/* Upsample-7 gives the scales as an attribute, Upsample-9 as input 1. */
static bool decode_upsample(onnx_decoder *d)
{
  if (!resize_modes(d, true, &d->n->p.resize))
    return false;
  return d->opset >= 9 || onnx_attr_floats_input(d, "scales", 1);
}

/* ------------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------------ */

typedef bool (*decode_fn)(onnx_decoder *d);

static const struct onnx_op {
  const char *name;
  graph_op op;
  decode_fn decode; /* NULL: no attributes */
} onnx_ops[] = {
    {"Abs", GRAPH_OP_ABS, NULL},
    {"Acos", GRAPH_OP_ACOS, NULL},
    {"Acosh", GRAPH_OP_ACOSH, NULL},
    {"Add", GRAPH_OP_ADD, decode_binary},
    {"And", GRAPH_OP_AND, decode_binary},
    {"ArgMax", GRAPH_OP_ARGMAX, decode_arg},
    {"ArgMin", GRAPH_OP_ARGMIN, decode_arg},
    {"Asin", GRAPH_OP_ASIN, NULL},
    {"Asinh", GRAPH_OP_ASINH, NULL},
    {"Atan", GRAPH_OP_ATAN, NULL},
    {"Atanh", GRAPH_OP_ATANH, NULL},
    {"AveragePool", GRAPH_OP_AVGPOOL, decode_pool},
    {"BatchNormalization", GRAPH_OP_BATCHNORM, decode_batchnorm},
    {"Cast", GRAPH_OP_CAST, decode_cast},
    {"CastLike", GRAPH_OP_CAST_LIKE, NULL},
    {"Ceil", GRAPH_OP_CEIL, NULL},
    {"Celu", GRAPH_OP_CELU, decode_activation},
    {"Clip", GRAPH_OP_CLIP, decode_clip},
    {"Concat", GRAPH_OP_CONCAT, decode_axis_0},
    {"ConstantOfShape", GRAPH_OP_FILL, decode_fill},
    {"Conv", GRAPH_OP_CONV, decode_conv},
    {"ConvTranspose", GRAPH_OP_CONV_TRANSPOSE, decode_conv_transpose},
    {"Cos", GRAPH_OP_COS, NULL},
    {"Cosh", GRAPH_OP_COSH, NULL},
    {"CumSum", GRAPH_OP_CUMSUM, decode_cumsum},
    {"DepthToSpace", GRAPH_OP_DEPTH_TO_SPACE, decode_block},
    {"DequantizeLinear", GRAPH_OP_DEQUANTIZE, decode_axis_1},
    {"Div", GRAPH_OP_DIV, decode_binary},
    {"Dropout", GRAPH_OP_DROPOUT, NULL},
    {"Einsum", GRAPH_OP_EINSUM, decode_einsum},
    {"Elu", GRAPH_OP_ELU, decode_activation},
    {"Equal", GRAPH_OP_EQUAL, decode_binary},
    {"Erf", GRAPH_OP_ERF, NULL},
    {"Exp", GRAPH_OP_EXP, NULL},
    {"Expand", GRAPH_OP_EXPAND, NULL},
    {"EyeLike", GRAPH_OP_EYE, decode_eye},
    {"Flatten", GRAPH_OP_FLATTEN, decode_axis_1},
    {"Floor", GRAPH_OP_FLOOR, NULL},
    {"Gather", GRAPH_OP_GATHER, decode_axis_0},
    {"GatherElements", GRAPH_OP_GATHER_ELEMENTS, decode_axis_0},
    {"GatherND", GRAPH_OP_GATHER_ND, decode_gather_nd},
    {"Gemm", GRAPH_OP_GEMM, decode_gemm},
    {"GlobalAveragePool", GRAPH_OP_GLOBAL_AVGPOOL, NULL},
    {"GlobalMaxPool", GRAPH_OP_GLOBAL_MAXPOOL, NULL},
    {"Greater", GRAPH_OP_GREATER, decode_binary},
    {"GreaterOrEqual", GRAPH_OP_GREATER_EQUAL, NULL},
    {"Hardmax", GRAPH_OP_HARDMAX, decode_softmax},
    {"HardSigmoid", GRAPH_OP_HARD_SIGMOID, decode_activation},
    {"HardSwish", GRAPH_OP_HARD_SWISH, NULL},
    {"Identity", GRAPH_OP_IDENTITY, NULL},
    {"InstanceNormalization", GRAPH_OP_INSTANCENORM, decode_instancenorm},
    {"IsInf", GRAPH_OP_ISINF, decode_isinf},
    {"IsNaN", GRAPH_OP_ISNAN, NULL},
    {"LayerNormalization", GRAPH_OP_LAYERNORM, decode_layernorm},
    {"LeakyRelu", GRAPH_OP_LEAKY_RELU, decode_activation},
    {"Less", GRAPH_OP_LESS, decode_binary},
    {"LessOrEqual", GRAPH_OP_LESS_EQUAL, NULL},
    {"Log", GRAPH_OP_LOG, NULL},
    {"LogSoftmax", GRAPH_OP_LOG_SOFTMAX, decode_softmax},
    {"LRN", GRAPH_OP_LRN, decode_lrn},
    {"MatMul", GRAPH_OP_MATMUL, NULL},
    {"Max", GRAPH_OP_MAX, NULL},
    {"MaxPool", GRAPH_OP_MAXPOOL, decode_pool},
    {"Mean", GRAPH_OP_MEAN, NULL},
    {"Min", GRAPH_OP_MIN, NULL},
    {"Mish", GRAPH_OP_MISH, NULL},
    {"Mod", GRAPH_OP_MOD, decode_mod},
    {"Mul", GRAPH_OP_MUL, decode_binary},
    {"Neg", GRAPH_OP_NEG, NULL},
    {"NegativeLogLikelihoodLoss", GRAPH_OP_NLL_LOSS, decode_loss},
    {"Not", GRAPH_OP_NOT, NULL},
    {"OneHot", GRAPH_OP_ONE_HOT, decode_axis_last},
    {"Or", GRAPH_OP_OR, decode_binary},
    {"Pad", GRAPH_OP_PAD, decode_pad},
    {"Pow", GRAPH_OP_POW, decode_binary},
    {"PRelu", GRAPH_OP_PRELU, decode_prelu},
    {"QuantizeLinear", GRAPH_OP_QUANTIZE, decode_axis_1},
    {"Range", GRAPH_OP_RANGE, NULL},
    {"Reciprocal", GRAPH_OP_RECIPROCAL, NULL},
    {"ReduceL1", GRAPH_OP_REDUCE_L1, decode_reduce},
    {"ReduceL2", GRAPH_OP_REDUCE_L2, decode_reduce},
    {"ReduceLogSum", GRAPH_OP_REDUCE_LOG_SUM, decode_reduce},
    {"ReduceLogSumExp", GRAPH_OP_REDUCE_LOG_SUM_EXP, decode_reduce},
    {"ReduceMax", GRAPH_OP_REDUCE_MAX, decode_reduce},
    {"ReduceMean", GRAPH_OP_REDUCE_MEAN, decode_reduce},
    {"ReduceMin", GRAPH_OP_REDUCE_MIN, decode_reduce},
    {"ReduceProd", GRAPH_OP_REDUCE_PROD, decode_reduce},
    {"ReduceSum", GRAPH_OP_REDUCE_SUM, decode_reduce},
    {"ReduceSumSquare", GRAPH_OP_REDUCE_SUM_SQUARE, decode_reduce},
    {"Relu", GRAPH_OP_RELU, NULL},
    {"Reshape", GRAPH_OP_RESHAPE, decode_reshape},
    {"Resize", GRAPH_OP_RESIZE, decode_resize},
    {"ReverseSequence", GRAPH_OP_REVERSE_SEQUENCE, decode_reverse},
    {"Round", GRAPH_OP_ROUND, NULL},
    {"Selu", GRAPH_OP_SELU, decode_activation},
    {"Shape", GRAPH_OP_SHAPE, decode_shape},
    {"Shrink", GRAPH_OP_SHRINK, decode_shrink},
    {"Sigmoid", GRAPH_OP_SIGMOID, NULL},
    {"Sign", GRAPH_OP_SIGN, NULL},
    {"Sin", GRAPH_OP_SIN, NULL},
    {"Sinh", GRAPH_OP_SINH, NULL},
    {"Size", GRAPH_OP_SIZE, NULL},
    {"Slice", GRAPH_OP_SLICE, decode_slice},
    {"Softmax", GRAPH_OP_SOFTMAX, decode_softmax},
    {"SoftmaxCrossEntropyLoss", GRAPH_OP_SOFTMAX_CROSS_ENTROPY, decode_loss},
    {"Softplus", GRAPH_OP_SOFTPLUS, NULL},
    {"Softsign", GRAPH_OP_SOFTSIGN, NULL},
    {"SpaceToDepth", GRAPH_OP_SPACE_TO_DEPTH, decode_block},
    {"Split", GRAPH_OP_SPLIT, decode_split},
    {"Sqrt", GRAPH_OP_SQRT, NULL},
    {"Squeeze", GRAPH_OP_SQUEEZE, decode_squeeze},
    {"Sub", GRAPH_OP_SUB, decode_binary},
    {"Sum", GRAPH_OP_SUM, NULL},
    {"Tan", GRAPH_OP_TAN, NULL},
    {"Tanh", GRAPH_OP_TANH, NULL},
    {"ThresholdedRelu", GRAPH_OP_THRESHOLDED_RELU, decode_activation},
    {"Tile", GRAPH_OP_TILE, NULL},
    {"Transpose", GRAPH_OP_TRANSPOSE, decode_transpose},
    {"Trilu", GRAPH_OP_TRILU, decode_trilu},
    {"Unsqueeze", GRAPH_OP_UNSQUEEZE, decode_squeeze},
    {"Upsample", GRAPH_OP_RESIZE, decode_upsample},
    {"Where", GRAPH_OP_WHERE, NULL},
    {"Xor", GRAPH_OP_XOR, decode_binary},
};

static const struct onnx_op *find_op(const char *type)
{
  for (size_t k = 0; k < sizeof(onnx_ops) / sizeof(onnx_ops[0]); k++)
    if (!strcmp(onnx_ops[k].name, type))
      return &onnx_ops[k];
  return NULL;
}

static const char *safe_name(const char *s)
{
  return s ? s : "";
}

/* ------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------ */

static bool is_default_domain(const char *d)
{
  return !d || !*d || !strcmp(d, "ai.onnx");
}

static bool link_inputs(onnx_reader *r, const Onnx__NodeProto *np, ir_node *n)
{
  for (size_t k = 0; k < np->n_input; k++) {
    const char *name = safe_name(np->input[k]);
    if (!*name)
      continue;
    n->in[k] = onnx_find_value(r, name);
    if (n->in[k] < 0) {
      aotc_error(r->ctx, n->loc, "node '%s' (%s) reads '%s', which no earlier node, input or initializer defines",
                 n->name, graph_node_op_name(n), name);
      return false;
    }
  }
  return true;
}

/* Whether no value is called name yet (else reported for an output of
 * node `node`, an op type for messages). */
static bool name_free(onnx_reader *r, const char *node, const char *type, const char *name)
{
  int v = ir_graph_find_value(r->g, name);
  if (v < 0)
    return true;
  const ir_value *old = &r->g->values[v];
  const char *by = old->producer >= 0 ? r->g->nodes[old->producer].name : NULL;
  aotc_error(r->ctx, r->loc, "node '%s' (%s): output '%s' is already defined %s%s%s", node, type, name,
             by          ? "by node '"
             : old->data ? "as an initializer or constant"
                         : "as a graph input",
             by ? by : "", by ? "'" : "");
  return false;
}

static bool link_outputs(onnx_reader *r, const Onnx__NodeProto *np, ir_node *n, int node_index)
{
  for (size_t k = 0; k < np->n_output; k++) {
    const char *name = safe_name(np->output[k]);
    if (!*name)
      continue;
    n->out[k] =
        name_free(r, n->name, graph_node_op_name(n), name) ? ir_graph_add_value(r->g, ir_strdup(r->ctx, name)) : -1;
    if (n->out[k] < 0)
      return false;
    r->g->values[n->out[k]].producer = node_index;
  }
  return true;
}

static const char *node_name(onnx_reader *r, const Onnx__NodeProto *np)
{
  if (np->name && *np->name)
    return ir_strdup(r->ctx, np->name);
  if (np->n_output && np->output[0] && *np->output[0])
    return ir_strdup(r->ctx, np->output[0]);
  return ir_sprintf(r->ctx, "#%d", r->g->n_nodes);
}

static bool check_node(onnx_reader *r, const Onnx__NodeProto *np, const char *name, const char *type)
{
  if (!is_default_domain(np->domain)) {
    aotc_error(r->ctx, r->loc, "node '%s' (%s): domain '%s' is not supported", name, type, np->domain);
    return false;
  }
  if (np->n_input > 1024 || np->n_output > 1024 || np->n_attribute > 1024) {
    aotc_error(r->ctx, r->loc, "node '%s' (%s): too many inputs, outputs or attributes", name, type);
    return false;
  }
  for (size_t k = 0; k < np->n_attribute; k++)
    for (size_t j = 0; j < k; j++)
      if (np->attribute[k] && np->attribute[j] &&
          !strcmp(safe_name(np->attribute[k]->name), safe_name(np->attribute[j]->name))) {
        aotc_error(r->ctx, r->loc, "node '%s' (%s): attribute '%s' is given twice", name, type,
                   safe_name(np->attribute[k]->name));
        return false;
      }
  return true;
}

/* A Constant node's value from its one attribute (value, value_int,
 * value_ints, value_float or value_floats). */
static int constant_value(onnx_decoder *d, const char *name)
{
  const Onnx__AttributeProto *a = d->np->n_attribute == 1 ? d->np->attribute[0] : NULL;
  const char *kind = a ? safe_name(a->name) : "";
  ir_graph *g = d->r->g;
  int64_t n_ints = a ? (int64_t)a->n_ints : 0, n_floats = a ? (int64_t)a->n_floats : 0;
  switch (a ? a->type : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
    return !strcmp(kind, "value") && a->t ? onnx_add_constant(d->r, name, a->t) : -2;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
    return !strcmp(kind, "value_int") ? graph_constant(g, name, IR_I64, 0, NULL, &a->i) : -2;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
    return !strcmp(kind, "value_float") ? graph_constant(g, name, IR_F32, 0, NULL, &a->f) : -2;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
    return !strcmp(kind, "value_ints") ? graph_constant(g, name, IR_I64, 1, &n_ints, a->ints) : -2;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
    return !strcmp(kind, "value_floats") ? graph_constant(g, name, IR_F32, 1, &n_floats, a->floats) : -2;
  default: return -2;
  }
}

/* A Constant node adds no node: its output is a constant value. */
static bool read_constant(onnx_reader *r, const Onnx__NodeProto *np, const char *name)
{
  ir_node shell = {.name = name, .source_op = "Constant", .loc = r->loc};
  onnx_decoder d = {.r = r, .np = np, .n = &shell, .opset = r->opset};
  const char *out = np->n_output == 1 ? safe_name(np->output[0]) : "";
  if (np->n_input || !*out) {
    aotc_error(r->ctx, r->loc, "node '%s' (Constant): no inputs and one output expected", name);
    return false;
  }
  if (!name_free(r, name, "Constant", out))
    return false;
  int v = constant_value(&d, ir_strdup(r->ctx, out));
  if (v == -2 && (np->n_attribute != 1 || !np->attribute[0]))
    aotc_error(r->ctx, r->loc, "node '%s' (Constant): exactly one attribute expected", name);
  else if (v == -2)
    onnx_attr_fail(&d, safe_name(np->attribute[0]->name),
                   "is not supported (value: a tensor, value_int(s): ints, value_float(s): floats)");
  return v >= 0;
}

static bool decode(onnx_reader *r, const Onnx__NodeProto *np, ir_node *n, decode_fn fn)
{
  onnx_decoder d = {.r = r, .np = np, .n = n, .opset = r->opset};
  return !fn || fn(&d);
}

bool onnx_read_node(onnx_reader *r, const Onnx__NodeProto *np)
{
  const char *name = node_name(r, np), *type = safe_name(np->op_type);
  if (!check_node(r, np, name, type))
    return false;
  if (!strcmp(type, "Constant"))
    return read_constant(r, np, name);
  if (onnx_is_control(type))
    return onnx_read_control(r, np, name, type);
  const struct onnx_op *o = find_op(type);
  if (!o) {
    aotc_error(r->ctx, r->loc, "node '%s' (%s): operator is not supported", name, type);
    return false;
  }
  int index = r->g->n_nodes;
  ir_node *n = ir_graph_add_node(r->g, o->op, name, (int)np->n_input, (int)np->n_output);
  if (!n)
    return false;
  n->source_op = ir_strdup(r->ctx, type);
  return link_inputs(r, np, n) && decode(r, np, n, o->decode) && link_outputs(r, np, n, index);
}
