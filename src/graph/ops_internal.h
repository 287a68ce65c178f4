/* ops_internal.h: what the files of the op library share: helpers of shape
 * inference (outputs and the memory budget, axes, constant inputs,
 * broadcasting, overflow-checked size arithmetic), the lowering state with
 * its tensor, expression and statement builders, and the per-op functions
 * the op table (ops.c) points to. */
#ifndef AOTC_OPS_INTERNAL_H
#define AOTC_OPS_INTERNAL_H

#include "graph.h"

struct ir_lower {
  aotc_ctx *ctx;
  ir_graph *g;
  const char *name;
  int *tensor_of; /* per value: its tensor, or -1 */
  ir_vec tensors;
  ir_name_set names; /* the tensors' names */
  ir_vec stmts;
  const ir_node *node; /* the node being lowered */
  struct graph_blocks *blocks; /* control flow (ops_control.c): the function's regions
                                  under construction; NULL while it has none */
};
typedef struct graph_blocks graph_blocks;

typedef bool (*graph_infer_fn)(ir_graph *g, ir_node *n);
typedef bool (*graph_lower_fn)(ir_lower *L, ir_node *n);

/* ------------------------------------------------------------------------
 * Helpers for inference
 * ------------------------------------------------------------------------ */

ir_value *graph_in(ir_graph *g, const ir_node *n, int k);  /* NULL when absent */
ir_value *graph_out(ir_graph *g, const ir_node *n, int k); /* NULL when absent */
/* Sets the type and shape of output k (when present); false (reported)
 * when the rank is too large, a dimension negative or the output larger than
 * the memory budget (g->max_bytes). */
bool graph_set_out(ir_graph *g, const ir_node *n, int k, ir_type type, int rank, const int64_t *shape);
bool graph_fail(ir_graph *g, const ir_node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Normalises a possibly negative axis against rank; false (reported) when out of range. */
bool graph_axis(ir_graph *g, const ir_node *n, int64_t axis, int rank, int *out);
/* Element k of a constant value, as int64 (floats saturated). */
int64_t graph_const_int(const ir_value *v, int64_t k);
/* The integers of constant input k (at most IR_MAX_RANK); *present false
 * when the input is left out. */
bool graph_const_list(ir_graph *g, const ir_node *n, int k, int64_t *out, int *count, bool *present);
bool graph_broadcast(ir_graph *g, const ir_node *n, int rank_a, const int64_t *a, int rank_b, const int64_t *b,
                     int *rank, int64_t *out);

/* Overflow-checked size arithmetic for shape inference: an operation that
 * overflows (or divides by a divisor <= 0) sets the sticky flag and gives
 * 0; graph_dim_ok then reports it on the node. Every size computed from
 * input dimensions, parameters or constant inputs goes through these. */
typedef struct graph_dim_check {
  bool overflow;
} graph_dim_check;

int64_t graph_dim_add(graph_dim_check *c, int64_t a, int64_t b);
int64_t graph_dim_sub(graph_dim_check *c, int64_t a, int64_t b);
int64_t graph_dim_mul(graph_dim_check *c, int64_t a, int64_t b);
/* a / b rounded down (up when ceil), b > 0. */
int64_t graph_dim_div(graph_dim_check *c, int64_t a, int64_t b, bool ceil);
bool graph_dim_ok(ir_graph *g, const ir_node *n, const graph_dim_check *c);

/* ------------------------------------------------------------------------
 * Builders for lowering
 * ------------------------------------------------------------------------ */

int graph_lw_in(ir_lower *L, int v);  /* tensor of an input value */
int graph_lw_out(ir_lower *L, int v); /* tensor of an output value */
int graph_lw_temp(ir_lower *L, const char *suffix, ir_type type, int rank, const int64_t *shape);
int graph_lw_const(ir_lower *L, const char *suffix, ir_type type, int rank, const int64_t *shape, const void *data);
const ir_tensor *graph_lw_tensor(ir_lower *L, int t);
int64_t graph_lw_dim(ir_lower *L, int t, int d);

ir_expr *graph_ex_int(ir_lower *L, int64_t v);
ir_expr *graph_ex_flt(ir_lower *L, double v, ir_type t);
ir_expr *graph_ex_idx(ir_lower *L, int k);
ir_expr *graph_ex_bin(ir_lower *L, ir_op op, ir_expr *a, ir_expr *b);
ir_expr *graph_ex_neg(ir_lower *L, ir_expr *a);
ir_expr *graph_ex_not(ir_lower *L, ir_expr *a);
ir_expr *graph_ex_fn(ir_lower *L, ir_builtin fn, ir_type t, ir_expr *a, ir_expr *b);
ir_expr *graph_ex_sel(ir_lower *L, ir_expr *c, ir_expr *a, ir_expr *b);
ir_expr *graph_ex_cast(ir_lower *L, ir_type t, ir_expr *a);
ir_expr *graph_ex_read(ir_lower *L, int tensor, ir_expr *const *idx, bool padded);
/* Reads tensor t (rank r, aligned right) broadcast to an output of rank
 * out_rank whose index variables are first .. first + out_rank - 1. */
ir_expr *graph_ex_bcast(ir_lower *L, int t, int out_rank, int first);
/* Reads tensor t at index variables first .. first + rank - 1. */
ir_expr *graph_ex_at(ir_lower *L, int t, int first);
/* The subscripts of x (idx, x's rank) that read, at y's index variables,
 * the element of x at the same row-major flat position (a Reshape). */
void graph_reshape_index(ir_lower *L, int x, int y, ir_expr **idx);
/* lo <= e < hi, as a bool expression. */
ir_expr *graph_ex_in_range(ir_lower *L, ir_expr *e, int64_t lo, int64_t hi);
/* The constant v of type t (a float literal, or an integer cast to t). */
ir_expr *graph_ex_const(ir_lower *L, double v, ir_type t);
ir_expr *graph_ex_call(ir_lower *L, ir_builtin fn, ir_expr *a, ir_expr *b); /* typed by its arguments */

/* A statement writing tensor t at its first n_lhs indices (ranges 0:hi[k]),
 * with n_red reduction indices after them. */
ir_stmt *graph_st_new(ir_lower *L, int t, int n_lhs, int n_red, const int64_t *hi);
void graph_st_range(ir_stmt *s, ir_lower *L, int k, int64_t lo, int64_t hi);
bool graph_st_emit(ir_lower *L, ir_stmt *s, ir_reduction red, bool init, ir_expr *rhs);
/* t(i...) = rhs over t's whole shape. */
bool graph_st_map(ir_lower *L, int t, ir_expr *rhs);

/* ------------------------------------------------------------------------
 * Per-op functions
 * ------------------------------------------------------------------------ */

/* ops_eltwise.c */
bool graph_infer_same(ir_graph *g, ir_node *n);
bool graph_infer_float_unary(ir_graph *g, ir_node *n);
bool graph_lower_unary(ir_lower *L, ir_node *n);
bool graph_infer_isx(ir_graph *g, ir_node *n);
bool graph_infer_bool_unary(ir_graph *g, ir_node *n);
bool graph_lower_identity(ir_lower *L, ir_node *n);
bool graph_infer_dropout(ir_graph *g, ir_node *n);
bool graph_infer_nary(ir_graph *g, ir_node *n);
bool graph_lower_nary(ir_lower *L, ir_node *n);
bool graph_lower_where(ir_lower *L, ir_node *n);
bool graph_infer_clip(ir_graph *g, ir_node *n);
bool graph_lower_clip(ir_lower *L, ir_node *n);
bool graph_infer_cast(ir_graph *g, ir_node *n);
bool graph_lower_cast(ir_lower *L, ir_node *n);
/* ops_shape.c */
bool graph_infer_shape(ir_graph *g, ir_node *n);
bool graph_infer_fill(ir_graph *g, ir_node *n);
bool graph_infer_range(ir_graph *g, ir_node *n);
bool graph_infer_reshape(ir_graph *g, ir_node *n);
bool graph_infer_flatten(ir_graph *g, ir_node *n);
bool graph_infer_squeeze(ir_graph *g, ir_node *n);
bool graph_infer_unsqueeze(ir_graph *g, ir_node *n);
bool graph_lower_reshape(ir_lower *L, ir_node *n);
bool graph_infer_transpose(ir_graph *g, ir_node *n);
bool graph_lower_transpose(ir_lower *L, ir_node *n);
bool graph_infer_concat(ir_graph *g, ir_node *n);
bool graph_lower_concat(ir_lower *L, ir_node *n);
bool graph_infer_split(ir_graph *g, ir_node *n);
bool graph_lower_split(ir_lower *L, ir_node *n);
bool graph_infer_slice(ir_graph *g, ir_node *n);
bool graph_lower_slice(ir_lower *L, ir_node *n);
/* ops_data.c */
bool graph_infer_gather(ir_graph *g, ir_node *n);
bool graph_lower_gather(ir_lower *L, ir_node *n);
bool graph_infer_expand(ir_graph *g, ir_node *n);
bool graph_lower_expand(ir_lower *L, ir_node *n);
bool graph_infer_tile(ir_graph *g, ir_node *n);
bool graph_lower_tile(ir_lower *L, ir_node *n);
bool graph_infer_pad(ir_graph *g, ir_node *n);
bool graph_lower_pad(ir_lower *L, ir_node *n);
bool graph_infer_eyelike(ir_graph *g, ir_node *n);
bool graph_lower_eyelike(ir_lower *L, ir_node *n);
bool graph_lower_trilu(ir_lower *L, ir_node *n);
bool graph_infer_trilu(ir_graph *g, ir_node *n);
bool graph_lower_cumsum(ir_lower *L, ir_node *n);
bool graph_infer_cumsum(ir_graph *g, ir_node *n);
bool graph_infer_depth_space(ir_graph *g, ir_node *n);
bool graph_lower_depth_space(ir_lower *L, ir_node *n);

/* ops_nn.c and ops_conv.c */

bool graph_infer_matmul(ir_graph *g, ir_node *n);
bool graph_lower_matmul(ir_lower *L, ir_node *n);
bool graph_infer_gemm(ir_graph *g, ir_node *n);
bool graph_lower_gemm(ir_lower *L, ir_node *n);
bool graph_infer_conv(ir_graph *g, ir_node *n);
bool graph_lower_conv(ir_lower *L, ir_node *n);
bool graph_infer_convtranspose(ir_graph *g, ir_node *n);
bool graph_lower_convtranspose(ir_lower *L, ir_node *n);
bool graph_infer_pool(ir_graph *g, ir_node *n);
bool graph_lower_pool(ir_lower *L, ir_node *n);
bool graph_infer_global_pool(ir_graph *g, ir_node *n);
bool graph_lower_global_pool(ir_lower *L, ir_node *n);
bool graph_infer_batchnorm(ir_graph *g, ir_node *n);
bool graph_lower_batchnorm(ir_lower *L, ir_node *n);
bool graph_infer_instancenorm(ir_graph *g, ir_node *n);
bool graph_lower_instancenorm(ir_lower *L, ir_node *n);
bool graph_infer_layernorm(ir_graph *g, ir_node *n);
bool graph_lower_layernorm(ir_lower *L, ir_node *n);
bool graph_infer_softmax(ir_graph *g, ir_node *n);
bool graph_lower_softmax(ir_lower *L, ir_node *n);
bool graph_infer_reduce(ir_graph *g, ir_node *n);
bool graph_lower_reduce(ir_lower *L, ir_node *n);
bool graph_infer_argmax(ir_graph *g, ir_node *n);
bool graph_lower_argmax(ir_lower *L, ir_node *n);

/* ops_loss.c */
bool graph_infer_loss(ir_graph *g, ir_node *n);
bool graph_lower_loss(ir_lower *L, ir_node *n);

/* ops_misc.c */
bool graph_infer_einsum(ir_graph *g, ir_node *n);
bool graph_lower_einsum(ir_lower *L, ir_node *n);
bool graph_infer_onehot(ir_graph *g, ir_node *n);
bool graph_lower_onehot(ir_lower *L, ir_node *n);
bool graph_infer_quantize(ir_graph *g, ir_node *n);
bool graph_lower_quantize(ir_lower *L, ir_node *n);
bool graph_infer_lrn(ir_graph *g, ir_node *n);
bool graph_lower_lrn(ir_lower *L, ir_node *n);
bool graph_infer_gathernd(ir_graph *g, ir_node *n);
bool graph_lower_gathernd(ir_lower *L, ir_node *n);
bool graph_infer_reverse_sequence(ir_graph *g, ir_node *n);
bool graph_lower_reverse_sequence(ir_lower *L, ir_node *n);

/* ops_control.c */
bool graph_infer_if(ir_graph *g, ir_node *n);
bool graph_lower_if(ir_lower *L, ir_node *n);
bool graph_infer_loop(ir_graph *g, ir_node *n);
bool graph_lower_loop(ir_lower *L, ir_node *n);
bool graph_control_needs_const(const ir_node *n, int k);
/* The region tree lowered so far (NULL when no control node was met). */
ir_region *graph_blocks_finish(ir_lower *L);

/* ops_resize.c */
bool graph_infer_resize(ir_graph *g, ir_node *n);
bool graph_lower_resize(ir_lower *L, ir_node *n);

#endif
