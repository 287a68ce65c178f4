/* graph.h: the model graph (the table of contents of src/graph) that model frontends (ONNX, later TorchScript)
 * build before lowering: values with a type, a static shape and optional
 * constant data, and nodes (an operator, attributes, inputs, outputs).
 * Passes: shape inference with constant folding, dead-node elimination,
 * and lowering of every node to IR statements through the op library. */
#ifndef AOTC_GRAPH_H
#define AOTC_GRAPH_H

#include "ir.h"

#define IR_MAX_RANK 16

/* ------------------------------------------------------------------------
 * Operators (ggml style: the enum ends in _COUNT, tables are sized by it)
 * ------------------------------------------------------------------------ */

#define IR_NODE_OPS(X)                                                                              \
  X(ABS, "Abs") X(ACOS, "Acos") X(ACOSH, "Acosh") X(ADD, "Add") X(AND, "And") X(ARGMAX, "ArgMax")   \
  X(ARGMIN, "ArgMin") X(ASIN, "Asin") X(ASINH, "Asinh") X(ATAN, "Atan") X(ATANH, "Atanh")           \
  X(AVERAGEPOOL, "AveragePool") X(BATCHNORM, "BatchNormalization") X(CAST, "Cast")                  \
  X(CASTLIKE, "CastLike") X(CEIL, "Ceil") X(CELU, "Celu") X(CLIP, "Clip") X(CONCAT, "Concat")       \
  X(CONSTANT, "Constant") X(CONSTANTOFSHAPE, "ConstantOfShape") X(CONV, "Conv")                     \
  X(CONVTRANSPOSE, "ConvTranspose") X(COS, "Cos") X(COSH, "Cosh") X(CUMSUM, "CumSum")               \
  X(DEPTHTOSPACE, "DepthToSpace") X(DEQUANTIZELINEAR, "DequantizeLinear") X(DIV, "Div")             \
  X(DROPOUT, "Dropout") X(EINSUM, "Einsum") X(ELU, "Elu") X(EQUAL, "Equal") X(ERF, "Erf")           \
  X(EXP, "Exp") X(EXPAND, "Expand") X(EYELIKE, "EyeLike") X(FLATTEN, "Flatten") X(FLOOR, "Floor")   \
  X(GATHER, "Gather") X(GATHERELEMENTS, "GatherElements") X(GATHERND, "GatherND") X(GEMM, "Gemm")   \
  X(GLOBALAVERAGEPOOL, "GlobalAveragePool") X(GLOBALMAXPOOL, "GlobalMaxPool") X(GREATER, "Greater") \
  X(GREATEROREQUAL, "GreaterOrEqual") X(HARDMAX, "Hardmax") X(HARDSIGMOID, "HardSigmoid")           \
  X(HARDSWISH, "HardSwish") X(IDENTITY, "Identity") X(INSTANCENORM, "InstanceNormalization")        \
  X(ISINF, "IsInf") X(ISNAN, "IsNaN") X(LAYERNORM, "LayerNormalization") X(LEAKYRELU, "LeakyRelu")  \
  X(LESS, "Less") X(LESSOREQUAL, "LessOrEqual") X(LOG, "Log") X(LOGSOFTMAX, "LogSoftmax")           \
  X(LRN, "LRN") X(MATMUL, "MatMul") X(MAX, "Max") X(MAXPOOL, "MaxPool") X(MEAN, "Mean")             \
  X(MIN, "Min") X(MISH, "Mish") X(MOD, "Mod") X(MUL, "Mul") X(NEG, "Neg")                           \
  X(NEGATIVELOGLIKELIHOODLOSS, "NegativeLogLikelihoodLoss") X(NOT, "Not") X(ONEHOT, "OneHot")       \
  X(OR, "Or") X(PAD, "Pad") X(POW, "Pow") X(PRELU, "PRelu") X(QUANTIZELINEAR, "QuantizeLinear")     \
  X(RANGE, "Range") X(RECIPROCAL, "Reciprocal") X(REDUCEL1, "ReduceL1") X(REDUCEL2, "ReduceL2")     \
  X(REDUCELOGSUM, "ReduceLogSum") X(REDUCELOGSUMEXP, "ReduceLogSumExp") X(REDUCEMAX, "ReduceMax")   \
  X(REDUCEMEAN, "ReduceMean") X(REDUCEMIN, "ReduceMin") X(REDUCEPROD, "ReduceProd")                 \
  X(REDUCESUM, "ReduceSum") X(REDUCESUMSQUARE, "ReduceSumSquare") X(RELU, "Relu")                   \
  X(RESHAPE, "Reshape") X(RESIZE, "Resize") X(REVERSESEQUENCE, "ReverseSequence") X(ROUND, "Round") \
  X(SELU, "Selu") X(SHAPE, "Shape") X(SHRINK, "Shrink") X(SIGMOID, "Sigmoid") X(SIGN, "Sign")       \
  X(SIN, "Sin") X(SINH, "Sinh") X(SIZE, "Size") X(SLICE, "Slice") X(SOFTMAX, "Softmax")             \
  X(SOFTMAXCROSSENTROPYLOSS, "SoftmaxCrossEntropyLoss") X(SOFTPLUS, "Softplus")                     \
  X(SOFTSIGN, "Softsign") X(SPACETODEPTH, "SpaceToDepth") X(SPLIT, "Split") X(SQRT, "Sqrt")         \
  X(SQUEEZE, "Squeeze") X(SUB, "Sub") X(SUM, "Sum") X(TAN, "Tan") X(TANH, "Tanh")                   \
  X(THRESHOLDEDRELU, "ThresholdedRelu") X(TILE, "Tile") X(TRANSPOSE, "Transpose") X(TRILU, "Trilu") \
  X(UNSQUEEZE, "Unsqueeze") X(UPSAMPLE, "Upsample") X(WHERE, "Where") X(XOR, "Xor")

#define IR_NODE_ENUM(id, name) IR_NODE_##id,
typedef enum { IR_NODE_OPS(IR_NODE_ENUM) IR_NODE_COUNT } ir_node_op;
#undef IR_NODE_ENUM

extern const char *const ir_node_op_names[IR_NODE_COUNT];
bool ir_node_op_from_name(const char *name, ir_node_op *out);

/* ------------------------------------------------------------------------
 * Attributes
 * ------------------------------------------------------------------------ */

typedef enum {
  IR_ATTR_INT,    /* i */
  IR_ATTR_FLOAT,  /* f */
  IR_ATTR_STRING, /* s */
  IR_ATTR_INTS,   /* ints[n] */
  IR_ATTR_FLOATS, /* floats[n] */
  IR_ATTR_TENSOR, /* value */
  IR_ATTR_OTHER,  /* graphs, sparse tensors, types: kept by name only */
} ir_attr_kind;

typedef struct ir_attr {
  const char *name;
  ir_attr_kind kind;
  int64_t i;
  double f;
  const char *s;
  int n;
  int64_t *ints;
  double *floats;
  int value; /* IR_ATTR_TENSOR: a constant value of the graph */
} ir_attr;

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
  ir_loc loc;
} ir_value;

typedef struct ir_node {
  ir_node_op op;
  const char *name;    /* the node's name, or its first output's */
  int n_in, n_out;
  int *in, *out;       /* value numbers; -1: an optional input or output left out */
  int n_attrs;
  ir_attr *attrs;
  int opset;           /* of the default domain */
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
  int *by_name, cap_by_name; /* hash index: the last value of each name */
} ir_graph;

ir_graph *ir_graph_new(aotc_ctx *ctx, ir_loc loc);
/* A new value (no shape yet); -1 on out of memory. */
int ir_graph_add_value(ir_graph *g, const char *name);
/* The value named name, -1 when absent. */
int ir_graph_find_value(const ir_graph *g, const char *name);
ir_node *ir_graph_add_node(ir_graph *g, ir_node_op op, const char *name, int n_in, int n_out);
const ir_attr *ir_node_attr(const ir_node *n, const char *name);
int64_t ir_attr_int(const ir_node *n, const char *name, int64_t dflt);
double ir_attr_float(const ir_node *n, const char *name, double dflt);
const char *ir_attr_string(const ir_node *n, const char *name, const char *dflt);

int64_t ir_value_numel(const ir_value *v); /* -1 on overflow or unknown shape */
size_t ir_value_bytes(const ir_value *v);

/* ------------------------------------------------------------------------
 * Passes
 * ------------------------------------------------------------------------ */

/* Shapes and types of every value, in node order; nodes whose inputs are all
 * constant (and small) are folded into constants. Reports unsupported
 * operators and attributes naming the node. */
bool ir_graph_infer(ir_graph *g);
/* Folds inference-mode BatchNormalization into the Conv before it when the
 * convolution's weights and the normalisation's parameters are constants and
 * nothing else reads the convolution's output. */
bool ir_graph_fold_batchnorm(ir_graph *g);
/* Marks nodes whose outputs nobody needs (or that were folded) dead. */
void ir_graph_dce(ir_graph *g);
/* Lowers the live nodes to one function: inputs, outputs, constants and
 * temporaries as tensors, every node through the op library. */
ir_func *ir_graph_lower(ir_graph *g, const char *func_name);
/* Kernel partitioning (partition.c): sets f->stmt_kernel from the node each
 * statement came from (stmt_node, non-decreasing): one kernel per node,
 * elementwise consumers joined to their producer's kernel, contractions
 * alone. */
bool ir_partition(aotc_ctx *ctx, ir_func *f, const int *stmt_node);
/* Static memory plan (memplan.c): ws_offset of every temporary by liveness
 * over the kernels, f->workspace_bytes and f->memory_planned; *lower_bound
 * is the largest total size of temporaries live at once. Leaves f unplanned
 * (and returns true) when a temporary has no constant size. */
bool ir_memplan(aotc_ctx *ctx, ir_func *f, int64_t *lower_bound);

/* ------------------------------------------------------------------------
 * The op library (ops.c), shared by the model frontends
 * ------------------------------------------------------------------------ */

typedef struct ir_lower ir_lower;

/* Sets the types and shapes of n's outputs (and their data where the op
 * computes it from shapes or attributes alone). */
bool ir_op_infer(ir_graph *g, ir_node *n);
/* Whether input k of op must be constant data for shape inference. */
bool ir_op_needs_const(const ir_node *n, int k);
/* Whether the op has a lowering (folding relies on it). */
bool ir_op_lowerable(ir_node_op op);

ir_lower *ir_lower_new(ir_graph *g, const char *func_name);
/* The tensor holding value v, created on first use with the given role. */
int ir_lower_tensor(ir_lower *L, int v, ir_role role);
bool ir_lower_node(ir_lower *L, ir_node *n);
/* A fresh output tensor for value v (a graph output that no live node
 * writes: an input, a constant, or a repeated output) and a copy into it. */
int ir_lower_copy_output(ir_lower *L, int v);
ir_func *ir_lower_finish(ir_lower *L);

/* ONNX TensorProto.DataType codes (also used by Cast's `to` attribute);
 * false for types the IR does not have (strings, float16, complex). */
bool ir_type_from_onnx(int64_t code, ir_type *out);

#endif
