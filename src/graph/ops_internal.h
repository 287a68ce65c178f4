/* ops_internal.h: what the files of the op library share: the lowering
 * state, expression and statement builders, and the per-op functions. */
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
};

typedef bool (*ir_infer_fn)(ir_graph *g, ir_node *n);
typedef bool (*ir_lower_fn)(ir_lower *L, ir_node *n);

/* ------------------------------------------------------------------------
 * Helpers for inference
 * ------------------------------------------------------------------------ */

ir_value *op_in(ir_graph *g, const ir_node *n, int k);  /* NULL when absent */
ir_value *op_out(ir_graph *g, const ir_node *n, int k); /* NULL when absent */
bool op_set_out(ir_graph *g, const ir_node *n, int k, ir_type type, int rank, const int64_t *shape);
bool op_fail(ir_graph *g, const ir_node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Normalises a possibly negative axis against rank; false (reported) when out of range. */
bool op_axis(ir_graph *g, const ir_node *n, int64_t axis, int rank, int *out);
/* Element k of a constant integer value, as int64. */
int64_t op_const_int(const ir_value *v, int64_t k);
/* The integer list in attribute name (opset < since) or constant input k
 * (opset >= since); *present false when neither is given. */
bool op_int_list(ir_graph *g, const ir_node *n, const char *name, int k, int since, int64_t *out, int *count,
                 bool *present);
bool op_broadcast(ir_graph *g, const ir_node *n, int rank_a, const int64_t *a, int rank_b, const int64_t *b,
                  int *rank, int64_t *out);

/* ------------------------------------------------------------------------
 * Builders for lowering
 * ------------------------------------------------------------------------ */

int lw_in(ir_lower *L, int v);  /* tensor of an input value */
int lw_out(ir_lower *L, int v); /* tensor of an output value */
int lw_temp(ir_lower *L, const char *suffix, ir_type type, int rank, const int64_t *shape);
int lw_const(ir_lower *L, const char *suffix, ir_type type, int rank, const int64_t *shape, const void *data);
const ir_tensor *lw_tensor(ir_lower *L, int t);
int64_t lw_dim(ir_lower *L, int t, int d);

ir_expr *ex_int(ir_lower *L, int64_t v);
ir_expr *ex_flt(ir_lower *L, double v, ir_type t);
ir_expr *ex_idx(ir_lower *L, int k);
ir_expr *ex_bin(ir_lower *L, ir_op op, ir_expr *a, ir_expr *b);
ir_expr *ex_neg(ir_lower *L, ir_expr *a);
ir_expr *ex_not(ir_lower *L, ir_expr *a);
ir_expr *ex_fn(ir_lower *L, ir_builtin fn, ir_type t, ir_expr *a, ir_expr *b);
ir_expr *ex_sel(ir_lower *L, ir_expr *c, ir_expr *a, ir_expr *b);
ir_expr *ex_cast(ir_lower *L, ir_type t, ir_expr *a);
ir_expr *ex_read(ir_lower *L, int tensor, ir_expr *const *idx, bool padded);
/* Reads tensor t (rank r, aligned right) broadcast to an output of rank
 * out_rank whose index variables are first .. first + out_rank - 1. */
ir_expr *ex_bcast(ir_lower *L, int t, int out_rank, int first);
/* Reads tensor t at index variables first .. first + rank - 1. */
ir_expr *ex_at(ir_lower *L, int t, int first);
/* lo <= e < hi, as a bool expression. */
ir_expr *ex_in_range(ir_lower *L, ir_expr *e, int64_t lo, int64_t hi);
/* The constant v of type t (a float literal, or an integer cast to t). */
ir_expr *ex_const(ir_lower *L, double v, ir_type t);
ir_expr *ex_call(ir_lower *L, ir_builtin fn, ir_expr *a, ir_expr *b); /* typed by its arguments */

/* A statement writing tensor t at its first n_lhs indices (ranges 0:hi[k]),
 * with n_red reduction indices after them. */
ir_stmt *st_new(ir_lower *L, int t, int n_lhs, int n_red, const int64_t *hi);
void st_range(ir_stmt *s, ir_lower *L, int k, int64_t lo, int64_t hi);
bool st_emit(ir_lower *L, ir_stmt *s, ir_reduction red, bool init, ir_expr *rhs);
/* t(i...) = rhs over t's whole shape. */
bool st_map(ir_lower *L, int t, ir_expr *rhs);

/* ------------------------------------------------------------------------
 * Per-op functions of ops_nn.c
 * ------------------------------------------------------------------------ */

bool infer_matmul(ir_graph *g, ir_node *n);
bool lower_matmul(ir_lower *L, ir_node *n);
bool infer_gemm(ir_graph *g, ir_node *n);
bool lower_gemm(ir_lower *L, ir_node *n);
bool infer_conv(ir_graph *g, ir_node *n);
bool lower_conv(ir_lower *L, ir_node *n);
bool infer_convtranspose(ir_graph *g, ir_node *n);
bool lower_convtranspose(ir_lower *L, ir_node *n);
bool infer_pool(ir_graph *g, ir_node *n);
bool lower_pool(ir_lower *L, ir_node *n);
bool infer_global_pool(ir_graph *g, ir_node *n);
bool lower_global_pool(ir_lower *L, ir_node *n);
bool infer_batchnorm(ir_graph *g, ir_node *n);
bool lower_batchnorm(ir_lower *L, ir_node *n);
bool infer_instancenorm(ir_graph *g, ir_node *n);
bool lower_instancenorm(ir_lower *L, ir_node *n);
bool infer_layernorm(ir_graph *g, ir_node *n);
bool lower_layernorm(ir_lower *L, ir_node *n);
bool infer_softmax(ir_graph *g, ir_node *n);
bool lower_softmax(ir_lower *L, ir_node *n);
bool infer_reduce(ir_graph *g, ir_node *n);
bool lower_reduce(ir_lower *L, ir_node *n);
bool infer_argmax(ir_graph *g, ir_node *n);
bool lower_argmax(ir_lower *L, ir_node *n);

/* ops_loss.c */
bool infer_loss(ir_graph *g, ir_node *n);
bool lower_loss(ir_lower *L, ir_node *n);

/* ops_misc.c */
bool infer_einsum(ir_graph *g, ir_node *n);
bool lower_einsum(ir_lower *L, ir_node *n);
bool infer_onehot(ir_graph *g, ir_node *n);
bool lower_onehot(ir_lower *L, ir_node *n);
bool infer_quantize(ir_graph *g, ir_node *n);
bool lower_quantize(ir_lower *L, ir_node *n);
bool infer_lrn(ir_graph *g, ir_node *n);
bool lower_lrn(ir_lower *L, ir_node *n);
bool infer_gathernd(ir_graph *g, ir_node *n);
bool lower_gathernd(ir_lower *L, ir_node *n);
bool infer_reverse_sequence(ir_graph *g, ir_node *n);
bool lower_reverse_sequence(ir_lower *L, ir_node *n);

/* ops_resize.c */
bool infer_resize(ir_graph *g, ir_node *n);
bool lower_resize(ir_lower *L, ir_node *n);

#endif
