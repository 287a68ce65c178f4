/* ts_graph.h: the TorchScript graph builder's internals, shared by
 * ts_graph.c (inputs, outputs, tensors, module and function calls),
 * ts_eval.c (statements and expressions), ts_ops.c (the table from an
 * operator's name to its builder, and the scalar and shape operators) and
 * ts_ops_nn.c (the network operators). The forward method of the root
 * module is run once at compile time: Python values (ints, lists, modules)
 * are computed, tensors become values of the model graph (graph.h) made
 * through the op library's builders. */
#ifndef AOTC_TS_GRAPH_H
#define AOTC_TS_GRAPH_H

#include "ts.h"
#include "graph.h"

/* ------------------------------------------------------------------------
 * Values the interpreter computes
 * ------------------------------------------------------------------------ */

typedef enum {
  TS_X_NONE,   /* None */
  TS_X_BOOL,   /* True, False */
  TS_X_INT,    /* int */
  TS_X_FLOAT,  /* float */
  TS_X_STR,    /* str */
  TS_X_LIST,   /* list */
  TS_X_TUPLE,  /* tuple */
  TS_X_TENSOR, /* a value of the graph (constant data when known) */
  TS_X_MODULE, /* a module of the archive's tree */
  TS_X_FUNC,   /* a free function of the archive's code */
  TS_X_DICT,   /* dict: keys and values interleaved in seq */
  TS_X_OTHER,  /* a value only passed along (a dtype, a device, a dict) */
} ts_x_kind;

/* A tensor's identity: in-place operators (relu_, add_) change the value
 * every alias sees. */
typedef struct ts_slot {
  int v; /* the graph value */
} ts_slot;

typedef struct ts_x ts_x;
struct ts_x {
  ts_x_kind kind;
  union {
    bool b;
    int64_t i;
    double f;
    const char *s;
    struct {
      ts_x **items;
      int n;
    } seq;
    ts_slot *t;
    ts_module *m;
    const ts_node *def;
  } u;
};

/* ------------------------------------------------------------------------
 * The interpreter
 * ------------------------------------------------------------------------ */

typedef struct ts_scope ts_scope;

typedef struct ts_interp {
  aotc_ctx *ctx;
  ts_archive *a;
  ir_graph *g;
  ts_map tensors; /* graph constants of archive tensors, by address */
  int depth;      /* nested calls */
  long steps;     /* statements run (a bound on unrolled loops) */
  ts_scope *scope; /* the branch or loop body being built (NULL: forward's graph) */
} ts_interp;

/* One call of an operator: positional arguments, then keyword ones. */
typedef struct ts_call {
  const ts_node *node; /* the call, for diagnostics */
  const char *op;      /* "torch.linear" */
  ts_x **args;
  int n_args;
  const char **kw_names;
  ts_x **kw_values;
  int n_kw;
} ts_call;

/* An operator: its name as the code spells it and its builder, which
 * returns the result or NULL with an error on the context. */
typedef ts_x *(*ts_op_fn)(ts_interp *I, const ts_call *c);

typedef struct ts_op {
  const char *name;
  ts_op_fn fn;
} ts_op;

/* ts_graph.c */
ts_x *ts_fail(ts_interp *I, const ts_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
ts_x *ts_new_x(ts_interp *I, ts_x_kind kind);
ts_x *ts_int_x(ts_interp *I, int64_t i);
ts_x *ts_float_x(ts_interp *I, double f);
ts_x *ts_bool_x(ts_interp *I, bool b);
ts_x *ts_none_x(ts_interp *I);
ts_x *ts_seq_x(ts_interp *I, ts_x_kind kind, int n);
/* A tensor value for graph value v (-1: NULL, the error already reported). */
ts_x *ts_tensor_x(ts_interp *I, int v);
/* The graph constant of an archive tensor (made once per tensor). */
ts_x *ts_archive_tensor(ts_interp *I, const ts_tensor *t, const char *name, const ts_node *at);
/* A pickled attribute value as an interpreter value. */
ts_x *ts_from_pickle(ts_interp *I, const ts_value *v, const char *name, const ts_node *at);
/* Calls method `name` of module m, or a free function, with arguments. */
ts_x *ts_call_method(ts_interp *I, ts_module *m, const char *name, const ts_call *c);
ts_x *ts_call_function(ts_interp *I, const ts_node *def, const ts_call *c, ts_x *self);
/* The attribute `name` of module m (parameter, buffer, submodule, value). */
ts_x *ts_module_get(ts_interp *I, ts_module *m, const char *name, const ts_node *at);
/* Shape inference of the node that made value v, at the call's location
 * and named by its operator; the tensor value, or NULL. */
ts_x *ts_made(ts_interp *I, const ts_call *c, int v);

/* ts_eval.c */
typedef struct ts_frame {
  ts_map vars;
  bool returned, broke, continued;
  ts_x *ret;
} ts_frame;
ts_frame *ts_frame_new(ts_interp *I);
bool ts_frame_set(ts_interp *I, ts_frame *f, const char *name, ts_x *x);
/* Runs a function body; the returned value (None when it falls off). */
ts_x *ts_run_body(ts_interp *I, ts_frame *f, const ts_node_list *body);
ts_x *ts_eval(ts_interp *I, ts_frame *f, const ts_node *e);
/* Runs statements until they end, return, break or continue. */
bool ts_exec_list(ts_interp *I, ts_frame *f, const ts_node_list *body);
/* Whether x is a tensor whose value is not known at compile time. */
bool ts_data_dependent(ts_interp *I, const ts_x *x);

/* ts_control.c: control flow that depends on a tensor's value becomes the
 * graph's if and loop ops (graph_if, graph_loop): each branch or loop body
 * is run once into a subgraph whose inputs are the values it reads from
 * around it. */
/* `if` statement s whose condition cond is a tensor not known at compile time. */
bool ts_control_if(ts_interp *I, ts_frame *f, const ts_node *s, ts_x *cond);
/* `while` statement s whose condition cond is not known at compile time. */
bool ts_control_while(ts_interp *I, ts_frame *f, const ts_node *s, ts_x *cond);
/* `for target in range(n)` statement s, n a tensor not known at compile time. */
bool ts_control_for(ts_interp *I, ts_frame *f, const ts_node *s, ts_x *n);
/* An archive tensor used inside a subgraph: made in the graph around it
 * (recursively) and captured as an input. */
ts_x *ts_control_archive_tensor(ts_interp *I, const ts_tensor *t, const char *name, const ts_node *at);
/* A tensor with one element as a 0-d tensor of type t (int(), float()). */
ts_x *ts_control_scalar(ts_interp *I, const ts_call *c, ts_x *x, ir_type t);

/* ts_ops.c */
const ts_op *ts_find_op(const char *name);
/* Arguments: positional k, else the keyword `name`; NULL when absent. */
ts_x *ts_arg(const ts_call *c, int k, const char *name);
/* A tensor argument's graph value (-1 with an error when absent or not a tensor). */
int ts_arg_tensor(ts_interp *I, const ts_call *c, int k, const char *name);
/* An optional tensor argument: -1 when absent or None (no error). */
int ts_arg_opt_tensor(ts_interp *I, const ts_call *c, int k, const char *name);
bool ts_arg_int(ts_interp *I, const ts_call *c, int k, const char *name, int64_t dflt, int64_t *out);
bool ts_arg_float(ts_interp *I, const ts_call *c, int k, const char *name, double dflt, double *out);
bool ts_arg_bool(ts_interp *I, const ts_call *c, int k, const char *name, bool dflt, bool *out);
/* A list of ints (or one int, repeated `n_repeat` times); *n in, the
 * capacity; out, the count. Absent: the defaults (n_dflt of them). */
bool ts_arg_ints(ts_interp *I, const ts_call *c, int k, const char *name, int64_t *out, int *n);
/* x's static shape; its rank (-1 with an error when unknown). */
const ir_value *ts_value_of(ts_interp *I, int v);
/* A constant int64 vector (a shape, axes). */
int ts_i64_const(ts_interp *I, int n, const int64_t *vals);
/* A scalar constant of a type (0-d). */
int ts_scalar_const(ts_interp *I, ir_type t, double value);
/* x reshaped to rank/shape (a reshape node). */
int ts_reshape(ts_interp *I, const ts_call *c, int x, int rank, const int64_t *shape);
/* A dimension argument normalised against rank (negative: from the end). */
bool ts_dim(ts_interp *I, const ts_call *c, int64_t d, int rank, int *out);
/* Broadcasting binary op on tensors or numbers with torch's promotion. */
ts_x *ts_binary(ts_interp *I, const ts_call *c, graph_op op, ts_x *a, ts_x *b);
/* A double as an int64, saturated (NaN: 0): no undefined conversion. */
int64_t ts_to_int(double d);
/* Scalar value of a number or one-element constant tensor. */
bool ts_scalar_of(ts_interp *I, const ts_x *x, double *out, bool *is_float);
/* x[start:end:step] along dim (clamped as Python does); x itself when whole. */
int ts_slice(ts_interp *I, const ts_call *c, int x, int dim, int64_t start, int64_t end, int64_t step);
/* An in-place operator's (relu_, add_) result written into its first
 * argument's slot, which it returns; r otherwise. */
ts_x *ts_result(const ts_call *c, ts_x *r);
/* range(n), range(a, b), range(a, b, step) as a list (for loops). */
ts_x *ts_range_list(ts_interp *I, const ts_call *c);

/* ts_ops_shape.c: data movement and reductions (registered in ts_ops.c). */
ts_x *ts_op_view(ts_interp *I, const ts_call *c);
ts_x *ts_op_flatten(ts_interp *I, const ts_call *c);
ts_x *ts_op_transpose(ts_interp *I, const ts_call *c);
ts_x *ts_op_t(ts_interp *I, const ts_call *c);
ts_x *ts_op_permute(ts_interp *I, const ts_call *c);
ts_x *ts_op_unsqueeze(ts_interp *I, const ts_call *c);
ts_x *ts_op_squeeze(ts_interp *I, const ts_call *c);
ts_x *ts_op_select(ts_interp *I, const ts_call *c);
ts_x *ts_op_slice(ts_interp *I, const ts_call *c);
ts_x *ts_op_chunk(ts_interp *I, const ts_call *c);
ts_x *ts_op_split(ts_interp *I, const ts_call *c);
ts_x *ts_op_unbind(ts_interp *I, const ts_call *c);
ts_x *ts_op_cat(ts_interp *I, const ts_call *c);
ts_x *ts_op_stack(ts_interp *I, const ts_call *c);
ts_x *ts_op_reduce(ts_interp *I, const ts_call *c);
ts_x *ts_op_max(ts_interp *I, const ts_call *c);
ts_x *ts_op_argmax(ts_interp *I, const ts_call *c);
ts_x *ts_op_to(ts_interp *I, const ts_call *c);
ts_x *ts_op_expand(ts_interp *I, const ts_call *c);
ts_x *ts_op_clamp(ts_interp *I, const ts_call *c);

/* ts_ops_nn.c: the network operators (registered in ts_ops.c's table). */
ts_x *ts_op_linear(ts_interp *I, const ts_call *c);
ts_x *ts_op_convolution(ts_interp *I, const ts_call *c);
ts_x *ts_op_conv2d(ts_interp *I, const ts_call *c);
ts_x *ts_op_batch_norm(ts_interp *I, const ts_call *c);
ts_x *ts_op_layer_norm(ts_interp *I, const ts_call *c);
ts_x *ts_op_max_pool2d(ts_interp *I, const ts_call *c);
ts_x *ts_op_avg_pool2d(ts_interp *I, const ts_call *c);
ts_x *ts_op_adaptive_avg_pool2d(ts_interp *I, const ts_call *c);
ts_x *ts_op_matmul(ts_interp *I, const ts_call *c);
ts_x *ts_op_addmm(ts_interp *I, const ts_call *c);
ts_x *ts_op_softmax(ts_interp *I, const ts_call *c);
ts_x *ts_op_log_softmax(ts_interp *I, const ts_call *c);
ts_x *ts_op_embedding(ts_interp *I, const ts_call *c);
ts_x *ts_op_gelu(ts_interp *I, const ts_call *c);
ts_x *ts_op_silu(ts_interp *I, const ts_call *c);
ts_x *ts_op_hardtanh(ts_interp *I, const ts_call *c);
ts_x *ts_op_relu6(ts_interp *I, const ts_call *c);
ts_x *ts_op_leaky_relu(ts_interp *I, const ts_call *c);

/* ts_ops_attn.c: attention (registered in ts_ops.c's table). */
ts_x *ts_op_unflatten(ts_interp *I, const ts_call *c);
ts_x *ts_op_sdpa(ts_interp *I, const ts_call *c);
ts_x *ts_op_encoder_layer(ts_interp *I, const ts_call *c);

#endif
