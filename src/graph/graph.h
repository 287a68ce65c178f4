/* graph.h: the model graph (the table of contents of src/graph) that model
 * frontends (ONNX, later TorchScript) build before lowering: values with a
 * type, a static shape and optional constant data, and nodes (an op named
 * for what it does, its typed parameters, inputs, outputs). No frontend's
 * names, attributes or versions appear here: src/frontend/onnx decodes
 * ONNX's into these ops and parameters. Sections: operators, parameters,
 * values and nodes, builders, passes (shape inference with constant
 * folding, batch-norm folding, dead-node elimination, lowering,
 * partitioning, memory plan), the op library. */
#ifndef AOTC_GRAPH_H
#define AOTC_GRAPH_H

#include "ir.h"

#define IR_MAX_RANK 16

/* ------------------------------------------------------------------------
 * Operators (ggml style: the enum ends in _COUNT, tables are sized by it)
 * ------------------------------------------------------------------------ */

#define GRAPH_OPS(X)                                                                                          \
  X(ABS, "abs") X(ACOS, "acos") X(ACOSH, "acosh") X(ADD, "add") X(AND, "and") X(ARGMAX, "argmax")             \
  X(ARGMIN, "argmin") X(ASIN, "asin") X(ASINH, "asinh") X(ATAN, "atan") X(ATANH, "atanh")                     \
  X(AVGPOOL, "avgpool") X(BATCHNORM, "batchnorm") X(CAST, "cast") X(CAST_LIKE, "cast_like") X(CEIL, "ceil")   \
  X(CELU, "celu") X(CLIP, "clip") X(CONCAT, "concat") X(FILL, "fill") X(CONV, "conv") \
  X(CONV_TRANSPOSE, "conv_transpose") X(COS, "cos") X(COSH, "cosh") X(CUMSUM, "cumsum")                       \
  X(DEPTH_TO_SPACE, "depth_to_space") X(DEQUANTIZE, "dequantize") X(DIV, "div") X(DROPOUT, "dropout")         \
  X(EINSUM, "einsum") X(ELU, "elu") X(EQUAL, "equal") X(ERF, "erf") X(EXP, "exp") X(EXPAND, "expand")         \
  X(EYE, "eye") X(FLATTEN, "flatten") X(FLOOR, "floor") X(GATHER, "gather")                                   \
  X(GATHER_ELEMENTS, "gather_elements") X(GATHER_ND, "gather_nd") X(GEMM, "gemm")                             \
  X(GLOBAL_AVGPOOL, "global_avgpool") X(GLOBAL_MAXPOOL, "global_maxpool") X(GREATER, "greater")               \
  X(GREATER_EQUAL, "greater_equal") X(HARDMAX, "hardmax") X(HARD_SIGMOID, "hard_sigmoid")                     \
  X(HARD_SWISH, "hard_swish") X(IDENTITY, "identity") X(IF, "if") X(INSTANCENORM, "instancenorm") X(ISINF, "isinf")       \
  X(ISNAN, "isnan") X(LAYERNORM, "layernorm") X(LEAKY_RELU, "leaky_relu") X(LESS, "less")                     \
  X(LESS_EQUAL, "less_equal") X(LOG, "log") X(LOG_SOFTMAX, "log_softmax") X(LOOP, "loop") X(LRN, "lrn") X(MATMUL, "matmul")   \
  X(MAX, "max") X(MAXPOOL, "maxpool") X(MEAN, "mean") X(MIN, "min") X(MISH, "mish") X(MOD, "mod")             \
  X(MUL, "mul") X(NEG, "neg") X(NLL_LOSS, "nll_loss") X(NOT, "not") X(ONE_HOT, "one_hot") X(OR, "or")         \
  X(PAD, "pad") X(POW, "pow") X(PRELU, "prelu") X(QUANTIZE, "quantize") X(RANGE, "range")                     \
  X(RECIPROCAL, "reciprocal") X(REDUCE_L1, "reduce_l1") X(REDUCE_L2, "reduce_l2")                             \
  X(REDUCE_LOG_SUM, "reduce_log_sum") X(REDUCE_LOG_SUM_EXP, "reduce_log_sum_exp") X(REDUCE_MAX, "reduce_max") \
  X(REDUCE_MEAN, "reduce_mean") X(REDUCE_MIN, "reduce_min") X(REDUCE_PROD, "reduce_prod")                     \
  X(REDUCE_SUM, "reduce_sum") X(REDUCE_SUM_SQUARE, "reduce_sum_square") X(RELU, "relu") X(RESHAPE, "reshape") \
  X(RESIZE, "resize") X(REVERSE_SEQUENCE, "reverse_sequence") X(ROUND, "round") X(SELU, "selu")               \
  X(SHAPE, "shape") X(SHRINK, "shrink") X(SIGMOID, "sigmoid") X(SIGN, "sign") X(SIN, "sin") X(SINH, "sinh")   \
  X(SIZE, "size") X(SLICE, "slice") X(SOFTMAX, "softmax") X(SOFTMAX_CROSS_ENTROPY, "softmax_cross_entropy")   \
  X(SOFTPLUS, "softplus") X(SOFTSIGN, "softsign") X(SPACE_TO_DEPTH, "space_to_depth") X(SPLIT, "split")       \
  X(SQRT, "sqrt") X(SQUEEZE, "squeeze") X(SUB, "sub") X(SUM, "sum") X(TAN, "tan") X(TANH, "tanh")             \
  X(THRESHOLDED_RELU, "thresholded_relu") X(TILE, "tile") X(TRANSPOSE, "transpose") X(TRILU, "trilu")         \
  X(UNSQUEEZE, "unsqueeze") X(WHERE, "where") X(XOR, "xor")

#define GRAPH_OP_ENUM(id, name) GRAPH_OP_##id,
typedef enum { GRAPH_OPS(GRAPH_OP_ENUM) GRAPH_OP_COUNT } graph_op;
#undef GRAPH_OP_ENUM

extern const char *const graph_op_names[GRAPH_OP_COUNT];

/* ------------------------------------------------------------------------
 * Typed parameters: one struct per op family, held by the node in a union
 * (graph_params) and given to the builders by pointer. Every field means
 * what it holds (a gemm's alpha 0 is 0) except where its comment gives a
 * zero another meaning (conv groups 0: 1, transpose n_perm 0: reversed).
 * Lists that ONNX and TorchScript both compute at run time in some models
 * (reshape's shape, slice's starts, pad's pads, reduce's axes, clip's
 * bounds, ...) are not parameters but inputs, constant for shape inference.
 * ------------------------------------------------------------------------ */

/* Unary activations. leaky_relu: alpha (slope below 0); elu, celu: alpha;
 * selu: alpha, gamma; hard_sigmoid: max(0, min(1, alpha * x + beta));
 * thresholded_relu: alpha (the threshold). */
typedef struct graph_activation_params {
  double alpha, beta, gamma;
} graph_activation_params;

/* shrink: x - bias above lambd, x + bias below -lambd, 0 between. */
typedef struct graph_shrink_params {
  double lambd, bias;
} graph_shrink_params;

/* isinf: which infinities count. */
typedef struct graph_isinf_params {
  bool detect_positive, detect_negative;
} graph_isinf_params;

/* Broadcasting binary and variadic operators (add, sub, ..., max, sum). */
typedef struct graph_binary_params {
  bool aligned;       /* the second operand lines up with dimension `axis` of the first, instead of numpy broadcasting */
  int axis;
  bool channel_slope; /* prelu: a slope vector of C elements applies along dimension 1 */
  bool fmod;          /* mod: the remainder takes the dividend's sign (C's fmod), else the divisor's */
} graph_binary_params;

/* cast: the element type of the output. */
typedef struct graph_cast_params {
  ir_type to;
} graph_cast_params;

/* One axis (negative: counted from the end): concat, flatten (the output's
 * first dimension is the product of the dimensions before it), gather,
 * gather_elements, split, one_hot, quantize, dequantize. */
typedef struct graph_axis_params {
  int64_t axis;
} graph_axis_params;

/* shape: dimensions start .. end - 1 of the input (negative: from the end;
 * clamped to the rank). */
typedef struct graph_shape_params {
  int64_t start, end;
} graph_shape_params;

/* fill: an output of the shape given by input 0, every element `value`. */
typedef struct graph_fill_params {
  ir_type type;
  union {
    double f;
    int64_t i;
    unsigned char bytes[8];
  } value; /* the element's bytes, in `type` */
} graph_fill_params;

/* reshape: a 0 in the target shape copies the input's dimension unless
 * allow_zero (then it is a dimension of size 0). */
typedef struct graph_reshape_params {
  bool allow_zero;
} graph_reshape_params;

/* transpose: output dimension d is input dimension perm[d]; n_perm 0:
 * reversed. */
typedef struct graph_transpose_params {
  int n_perm;
  int perm[IR_MAX_RANK];
} graph_transpose_params;

typedef enum { GRAPH_PAD_CONSTANT, GRAPH_PAD_REFLECT, GRAPH_PAD_EDGE } graph_pad_mode;

/* pad: inputs x, pads (begin values then end values), constant value,
 * axes. */
typedef struct graph_pad_params {
  graph_pad_mode mode;
} graph_pad_params;

/* eye: ones on diagonal k (above the main one when positive), in `type`
 * (same_type: the input's). */
typedef struct graph_eye_params {
  bool same_type;
  ir_type type;
  int64_t k;
} graph_eye_params;

/* trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle; k is
 * input 1. */
typedef struct graph_trilu_params {
  bool upper;
} graph_trilu_params;

/* cumsum: the axis is input 1. */
typedef struct graph_cumsum_params {
  bool exclusive, reverse;
} graph_cumsum_params;

/* depth_to_space, space_to_depth: block size; column-row-depth order
 * (crd) instead of depth-column-row. */
typedef struct graph_block_params {
  int64_t block;
  bool crd;
} graph_block_params;

/* gemm: y = alpha * op(a) op(b) + beta * c, op transposing when asked. */
typedef struct graph_gemm_params {
  bool trans_a, trans_b;
  double alpha, beta;
} graph_gemm_params;

typedef enum {
  GRAPH_AUTO_PAD_NONE,       /* the pads given */
  GRAPH_AUTO_PAD_VALID,      /* no padding */
  GRAPH_AUTO_PAD_SAME_UPPER, /* output = ceil(input / stride), the odd pad at the end */
  GRAPH_AUTO_PAD_SAME_LOWER, /* the same, the odd pad at the beginning */
} graph_auto_pad;

/* The window of a convolution or pooling over the spatial dimensions (all
 * but the first two): n_spatial 0 when no list is given (stride 1, dilation
 * 1, no padding over any number of dimensions); otherwise every list holds
 * n_spatial values (pads: the beginnings, then the ends). kernel: the
 * window's extent, 0 where the convolution's weights give it. */
typedef struct graph_window {
  int n_spatial;
  int64_t kernel[IR_MAX_RANK];
  int64_t strides[IR_MAX_RANK];
  int64_t dilations[IR_MAX_RANK];
  int64_t pads[2 * IR_MAX_RANK];
  graph_auto_pad auto_pad;
} graph_window;

/* conv: x (N, C, ...), weights (M, C / groups, k...), optional bias (M). */
typedef struct graph_conv_params {
  graph_window window;
  int64_t groups; /* 0 taken as 1 */
  int winograd;   /* graph pass winograd: 0, or the output tile m of F(m x m, 3 x 3) (src/graph/winograd.c) */
} graph_conv_params;

/* conv_transpose: weights (C, M / groups, k...); output_padding adds to the
 * end of each spatial dimension; output_shape (n_output_shape values, the
 * spatial sizes) fixes the output and derives the pads. */
typedef struct graph_conv_transpose_params {
  graph_window window;
  int64_t groups;
  int64_t output_padding[IR_MAX_RANK];
  int n_output_shape;
  int64_t output_shape[IR_MAX_RANK];
} graph_conv_transpose_params;

/* maxpool, avgpool: the window's kernel is required. */
typedef struct graph_pool_params {
  graph_window window;
  bool ceil_mode;
  bool count_include_pad; /* avgpool: padding counts towards the divisor */
} graph_pool_params;

/* batchnorm, instancenorm. */
typedef struct graph_norm_params {
  double epsilon;
  bool scale_shift; /* batchnorm: inputs 1 and 2 are a per-channel scale and shift, y = x * scale + shift
                       (fold-batchnorm computed them from constant statistics); 3 and 4 are unused */
} graph_norm_params;

/* layernorm: normalises over dimensions axis .. rank - 1; mean and inverse
 * standard deviation (outputs 1 and 2) in stash_type. */
typedef struct graph_layernorm_params {
  int64_t axis;
  double epsilon;
  ir_type stash_type;
} graph_layernorm_params;

/* softmax, log_softmax, hardmax over `axis`, or over every dimension from
 * axis on when from_axis (the input seen as a matrix). */
typedef struct graph_softmax_params {
  int64_t axis;
  bool from_axis;
} graph_softmax_params;

/* reduce_*: the axes are input 1 (absent or empty: every dimension, or none
 * when empty_is_noop). */
typedef struct graph_reduce_params {
  bool keep_dims;
  bool empty_is_noop;
} graph_reduce_params;

/* argmax, argmin. */
typedef struct graph_arg_params {
  int64_t axis;
  bool keep_dims;
  bool select_last; /* the last index of the extreme value instead of the first */
} graph_arg_params;

typedef enum { GRAPH_LOSS_NONE, GRAPH_LOSS_SUM, GRAPH_LOSS_MEAN } graph_loss_reduction;

/* nll_loss, softmax_cross_entropy. */
typedef struct graph_loss_params {
  graph_loss_reduction reduction;
  bool has_ignore_index;
  int64_t ignore_index;
} graph_loss_params;

/* einsum: the equation, in the numpy notation ("ij,jk->ik", "...ii->...i"). */
typedef struct graph_einsum_params {
  const char *equation;
} graph_einsum_params;

/* lrn: x / (bias + alpha / size * sum of squares over size channels)^beta. */
typedef struct graph_lrn_params {
  int64_t size;
  double alpha, beta, bias;
} graph_lrn_params;

/* gather_nd: the first batch_dims dimensions of data and indices match. */
typedef struct graph_gather_nd_params {
  int64_t batch_dims;
} graph_gather_nd_params;

/* reverse_sequence: time and batch axes (0 and 1, either way). */
typedef struct graph_reverse_params {
  int64_t time_axis, batch_axis;
} graph_reverse_params;

typedef enum { GRAPH_RESIZE_NEAREST, GRAPH_RESIZE_LINEAR, GRAPH_RESIZE_CUBIC } graph_resize_mode;

/* How an output coordinate maps to an input coordinate. */
typedef enum {
  GRAPH_COORD_HALF_PIXEL,         /* (x + 0.5) / scale - 0.5 */
  GRAPH_COORD_PYTORCH_HALF_PIXEL, /* the same, 0 for outputs of length 1 */
  GRAPH_COORD_ALIGN_CORNERS,      /* x * (in - 1) / (out - 1) */
  GRAPH_COORD_ASYMMETRIC,         /* x / scale */
  GRAPH_COORD_TF_HALF_PIXEL_FOR_NN, /* (x + 0.5) / scale */
} graph_resize_coord;

/* Which input index a nearest-neighbour coordinate rounds to. */
typedef enum {
  GRAPH_NEAREST_ROUND_PREFER_FLOOR,
  GRAPH_NEAREST_ROUND_PREFER_CEIL,
  GRAPH_NEAREST_FLOOR,
  GRAPH_NEAREST_CEIL,
} graph_resize_nearest;

/* resize: inputs x, scales (one per dimension) and sizes (one per
 * dimension), one of them given. */
typedef struct graph_resize_params {
  graph_resize_mode mode;
  graph_resize_coord coord;
  graph_resize_nearest nearest;
  double cubic_a;       /* the cubic kernel's coefficient (-0.75 in ONNX, -0.5 in TensorFlow) */
  bool exclude_outside; /* cubic taps outside the input get weight 0 (the rest renormalised) */
} graph_resize_params;

/* if and loop (ops_control.c): subgraphs on the same context whose inputs
 * are what they read from the graph around them.
 *
 * if: input 0 is the condition (one element); inputs 1 .. n_then feed
 * body[0]'s inputs (the then branch) in order, the rest body[1]'s (else).
 * The outputs are the taken branch's outputs (both branches' outputs have
 * the same types and shapes unless the condition is constant).
 *
 * loop: inputs trip count (one integer; -1: none), condition (one bool;
 * -1: none), the n_carried initial values, then values the body reads from
 * outside. body[0]'s inputs: the iteration number (int64, rank 0), the
 * condition (bool, rank 0), the carried values, the values from outside;
 * its outputs: the next condition, the carried values, then scan outputs.
 * The node's outputs: the carried values after the last iteration, then
 * each scan output stacked over the iterations (a new first dimension:
 * the loop must run a number of times known at compile time). */
typedef struct graph_control_params {
  struct ir_graph *body[2];
  int n_then;
  int n_carried;
} graph_control_params;

typedef union graph_params {
  graph_activation_params act;
  graph_shrink_params shrink;
  graph_isinf_params isinf;
  graph_binary_params binary;
  graph_cast_params cast;
  graph_axis_params axis;
  graph_shape_params shape;
  graph_fill_params fill;
  graph_reshape_params reshape;
  graph_transpose_params transpose;
  graph_pad_params pad;
  graph_eye_params eye;
  graph_trilu_params trilu;
  graph_cumsum_params cumsum;
  graph_block_params block;
  graph_gemm_params gemm;
  graph_conv_params conv;
  graph_conv_transpose_params conv_transpose;
  graph_pool_params pool;
  graph_norm_params norm;
  graph_layernorm_params layernorm;
  graph_softmax_params softmax;
  graph_reduce_params reduce;
  graph_arg_params arg;
  graph_loss_params loss;
  graph_einsum_params einsum;
  graph_lrn_params lrn;
  graph_gather_nd_params gather_nd;
  graph_reverse_params reverse;
  graph_resize_params resize;
  graph_control_params control;
} graph_params;

/* ------------------------------------------------------------------------
 * Values and nodes
 * ------------------------------------------------------------------------ */

typedef struct ir_value {
  const char *name;
  ir_type type;
  int rank;                     /* -1: not known yet */
  int64_t shape[IR_MAX_RANK];
  const void *data;             /* constant data (dense, row-major), or NULL */
  int producer;                 /* node number, -1 for inputs and constants */
  bool is_input, is_output;
  const void *given;            /* a graph input's value, when the caller knows it */
  bool internal;                /* made by a frontend or pass, not named by the model: never found by name */
  ir_loc loc;
} ir_value;

typedef struct ir_node {
  graph_op op;
  const char *name;      /* the node's name, or its first output's */
  int n_in, n_out;
  int *in, *out;         /* value numbers; -1: an optional input or output left out */
  graph_params p;        /* the op's parameters (graph_params' member for its family) */
  const char *source_op; /* the frontend's name of the operator, for messages (NULL: graph_op_names) */
  bool dead;
  ir_loc loc;
} ir_node;

typedef struct ir_graph {
  aotc_ctx *ctx;
  ir_loc loc;
  int n_values, cap_values;
  ir_value *values;
  int n_nodes, cap_nodes;
  ir_node *nodes;
  int n_inputs, n_outputs;
  int *inputs, *outputs; /* value numbers, signature order */
  bool weights_as_params; /* weights (ir_value_is_weight) lower to IR_PARAMETER
                             tensors, arguments after the inputs in value
                             order, and no pass folds them into constants */
  size_t max_bytes;      /* the memory budget: the largest output a node may create */
  bool differentiable;   /* its function will be differentiated (grad, training): lowerings
                            keep the forms src/ir/grad.c takes (no window per tap) */
  int *by_name, cap_by_name; /* hash index: the last value of each name */
} ir_graph;

/* The memory budget of a new graph (4 GiB). */
#define GRAPH_DEFAULT_MAX_BYTES ((size_t)4 << 30)

ir_graph *ir_graph_new(aotc_ctx *ctx, ir_loc loc);
/* A new value (no shape yet); -1 on out of memory. */
int ir_graph_add_value(ir_graph *g, const char *name);
/* The value named name, -1 when absent. */
int ir_graph_find_value(const ir_graph *g, const char *name);
ir_node *ir_graph_add_node(ir_graph *g, graph_op op, const char *name, int n_in, int n_out);
/* The operator's name for messages: the frontend's, else the graph op's. */
const char *graph_node_op_name(const ir_node *n);

int64_t ir_value_numel(const ir_value *v); /* -1 on overflow or unknown shape */
/* With g->weights_as_params: whether value v is a weight, a floating-point
 * initializer (constant data no node produced and no caller gave). */
bool ir_value_is_weight(const ir_graph *g, int v);
size_t ir_value_bytes(const ir_value *v);

/* ------------------------------------------------------------------------
 * Builders (builders.c), for every frontend: each records values or one
 * node (shape inference and lowering are passes) and returns the number of
 * the value it makes, the node's output, or -1 (reported on g->ctx). An
 * output is named after its op and node number ("conv_3"); a frontend may
 * rename it (g->values[v].name).
 * ------------------------------------------------------------------------ */

/* A graph input of the given type and static shape. */
int graph_input(ir_graph *g, const char *name, ir_type type, int rank, const int64_t *shape);
/* A constant holding a copy of data (dense, row-major). */
int graph_constant(ir_graph *g, const char *name, ir_type type, int rank, const int64_t *shape, const void *data);
/* Makes value v the next output of the graph. */
bool graph_output(ir_graph *g, int v);
/* A node of op reading in[0 .. n_in-1] (-1: an optional input left out)
 * with parameters p (NULL: all zero) and one output. */
int graph_node(ir_graph *g, graph_op op, const int *in, int n_in, const graph_params *p);

/* Unary elementwise ops without parameters (relu, sigmoid, exp, neg, ...). */
int graph_unary(ir_graph *g, graph_op op, int x);
/* Broadcasting binary ops (add, sub, mul, div, pow, max, equal, ...). */
int graph_binary(ir_graph *g, graph_op op, int a, int b);
int graph_relu(ir_graph *g, int x);
int graph_add(ir_graph *g, int a, int b);
int graph_mul(ir_graph *g, int a, int b);
/* Matrix product with numpy's batching and broadcasting. */
int graph_matmul(ir_graph *g, int a, int b);
/* alpha * a b + beta * c (c may be -1), a and b transposed when asked. */
int graph_gemm(ir_graph *g, int a, int b, int c, const graph_gemm_params *p);
/* Convolution of x (N, C, ...) with weights w, plus bias b (may be -1). */
int graph_conv(ir_graph *g, int x, int w, int b, const graph_conv_params *p);
int graph_maxpool(ir_graph *g, int x, const graph_pool_params *p);
int graph_avgpool(ir_graph *g, int x, const graph_pool_params *p);
int graph_global_avgpool(ir_graph *g, int x);
/* Inference batch normalisation over dimension 1 with per-channel scale,
 * bias, running mean and variance. */
int graph_batchnorm(ir_graph *g, int x, int scale, int bias, int mean, int var, double epsilon);
/* A matrix: dimensions before axis, then the rest, each flattened. */
int graph_flatten(ir_graph *g, int x, int64_t axis);
int graph_softmax(ir_graph *g, int x, int64_t axis);
/* x with the shape held by the int64 vector value `shape` (0: copy the
 * dimension, -1: inferred). */
int graph_reshape(ir_graph *g, int x, int shape);
int graph_transpose(ir_graph *g, int x, int n_perm, const int *perm);
int graph_concat(ir_graph *g, const int *xs, int n, int64_t axis);
/* A reduction (reduce_sum, reduce_mean, reduce_max, ...) over the given axes
 * (none: every axis). */
int graph_reduce(ir_graph *g, graph_op op, int x, int n_axes, const int64_t *axes, bool keep_dims);
int graph_cast(ir_graph *g, int x, ir_type to);
/* Control flow (ops_control.c). A subgraph is an ir_graph on g's context
 * whose inputs (graph_input; shapes are set from what feeds them) and
 * outputs (graph_output) are its interface; it may be shared by no other
 * node. graph_if: then_g reads then_in[k] of g as its input k, else_g
 * else_in[k]; outs receives the node's outputs (then_g->n_outputs of them).
 * graph_loop: trip and cond may be -1; body's inputs are the iteration
 * number, the condition, the n_carried values (carried[k] initially), then
 * outer[k] for its remaining inputs; outs receives body->n_outputs - 1
 * values (the final carried values, then the stacked scan outputs). Both
 * return the node's first output, or -1 (reported). */
/* The general form: a node of op (GRAPH_OP_IF or GRAPH_OP_LOOP) with the
 * inputs and parameters described at graph_control_params, n_out outputs
 * named out_names[k] (NULL: after the node) returned in outs (may be
 * NULL); the node's number, or -1 (reported). */
int graph_control_node(ir_graph *g, graph_op op, const int *in, int n_in, int n_out, const graph_control_params *p,
                       const char *const *out_names, int *outs);
int graph_if(ir_graph *g, int cond, ir_graph *then_g, const int *then_in, ir_graph *else_g, const int *else_in,
             int *outs);
int graph_loop(ir_graph *g, int trip, int cond, const int *carried, int n_carried, ir_graph *body, const int *outer,
               int *outs);

/* ------------------------------------------------------------------------
 * Passes
 * ------------------------------------------------------------------------ */

/* Shapes and types of every value, in node order; the nodes a shape depends
 * on (those whose values reach an input that must be constant, like
 * Reshape's shape) are folded as they are met. Reports unsupported
 * operators and parameters naming the node. */
bool ir_graph_infer(ir_graph *g);
/* Constant folding: every other node whose inputs are all constant (and
 * whose outputs are small) becomes a constant. */
bool ir_graph_fold(ir_graph *g);
/* fold-control (fold_control.c): an if whose condition is known becomes
 * its taken branch's nodes, a loop that never runs (no scan outputs)
 * identities of its initial values; then folds constants again. */
bool ir_graph_fold_control(ir_graph *g);
/* Folds inference-mode BatchNormalization into the Conv before it when the
 * convolution's weights and the normalisation's parameters are constants and
 * nothing else reads the convolution's output. */
bool ir_graph_fold_batchnorm(ir_graph *g);
/* 3x3 stride-1 convolutions where Winograd wins: weights transformed, the
 * node marked (src/graph/winograd.c). */
bool graph_winograd_rewrite(ir_graph *g);
/* Decomposed layer normalisation (ReduceMean, Sub, Pow, ReduceMean, Add,
 * Sqrt, Div, Mul[, Add]) becomes one LayerNormalization node
 * (fuse_layernorm.c). */
bool ir_graph_fuse_layernorm(ir_graph *g);
/* The per-image chain of nodes at the start of a batched graph written once
 * per chunk of images, for code that runs on `threads` threads
 * (src/graph/batch_chunks.c). */
typedef struct graph_chunk_report {
  int nodes, chunks;          /* nodes of the chain (0: none), chunks of images */
  int64_t images;             /* images a chunk (the last may have fewer) */
  const char *first, *last;   /* the chain's first and last nodes */
  double intensity;           /* the chain's operations per byte read and written */
} graph_chunk_report;
bool graph_batch_chunks(ir_graph *g, int threads, graph_chunk_report *r);
/* Marks nodes whose outputs nobody needs (or that were folded) dead. */
void ir_graph_dce(ir_graph *g);
/* Lowers the live nodes to one function: inputs, outputs, constants and
 * temporaries as tensors, every node through the op library; f->stmt_origin
 * numbers the node each statement came from. Kernels and the memory plan
 * are later passes (ir_partition, ir_memplan). */
ir_func *ir_graph_lower(ir_graph *g, const char *func_name);
/* Kernel partitioning (partition.c): sets f->stmt_kernel from the node each
 * statement came from (stmt_node, non-decreasing): one kernel per node,
 * elementwise consumers joined to their producer's kernel, contractions
 * alone. */
bool ir_partition(aotc_ctx *ctx, ir_func *f, const int *stmt_node);
/* The kernels of a function written in TC (no stmt_origin): one, except
 * that each contraction worth the packed path is alone (partition.c). */
bool ir_partition_contractions(aotc_ctx *ctx, ir_func *f);
/* Views (views.c): statements that copy a contiguous range of one
 * temporary into another removed where one can live inside the other
 * (ir_tensor.view); models with constant sizes and no control regions.
 * *removed: how many statements went. */
bool ir_views(aotc_ctx *ctx, ir_func *f, int *removed);
/* Epilogues (epilogue.c): the elementwise chain after each contraction
 * (bias, activations, residual add) rewritten to work in place on its last
 * value, intermediates gone; before partitioning. *fused: statements
 * rewritten. */
bool ir_epilogue(aotc_ctx *ctx, ir_func *f, int *fused);
/* Static memory plan (memplan.c): ws_offset of every temporary by liveness
 * over the kernels, f->workspace_bytes and f->memory_planned; *lower_bound
 * is the largest total size of temporaries live at once. When a temporary
 * has no constant size, records every temporary's lifetime instead
 * (live_first, live_last) and sets f->memory_planned_per_call: the emitted
 * code places them at each call (aotc_ws_plan). */
bool ir_memplan(aotc_ctx *ctx, ir_func *f, int64_t *lower_bound);
/* ir_memplan with at most search_passes passes of its search after the
 * rounds (0: the placement the emitted per-call plan gives, aotc_ws_plan). */
bool ir_memplan_search(aotc_ctx *ctx, ir_func *f, int64_t *lower_bound, int search_passes);
/* The bytes the plan gives temporary T (its size rounded up to 64, at least
 * 64), or -1 when its size is not constant or overflows: a planned
 * temporary's slot is [ws_offset, ws_offset + this). */
int64_t ir_memplan_temp_bytes(const ir_tensor *T);

/* ------------------------------------------------------------------------
 * The op library (ops.c), shared by the model frontends
 * ------------------------------------------------------------------------ */

typedef struct ir_lower ir_lower;

/* Sets the types and shapes of n's outputs (and their data where the op
 * computes it from shapes or parameters alone). */
bool graph_op_infer(ir_graph *g, ir_node *n);
/* Whether input k of op must be constant data for shape inference. */
bool graph_op_needs_const(const ir_node *n, int k);
/* Whether the op has a lowering (folding relies on it). */
bool graph_op_lowerable(graph_op op);

ir_lower *ir_lower_new(ir_graph *g, const char *func_name);
/* The tensor holding value v, created on first use with the given role. */
int ir_lower_tensor(ir_lower *L, int v, ir_role role);
bool ir_lower_node(ir_lower *L, ir_node *n);
/* A fresh output tensor for value v (a graph output that no live node
 * writes: an input, a constant, or a repeated output) and a copy into it. */
int ir_lower_copy_output(ir_lower *L, int v);
ir_func *ir_lower_finish(ir_lower *L);

#endif
