/* ts_ops_shape.c: TorchScript operators that move data: view and reshape
 * (with -1), flatten, transpose, permute, (un)squeeze, select, slice,
 * chunk, split, unbind, cat, stack, expand, casts (to), clamp, and the
 * reductions (sum, mean, amax, max with indices, argmax). Every input
 * shape is static, so the target shapes are computed here and become
 * constants of reshape, slice and expand nodes. */
#include "ts_graph.h"

#include <string.h>

static const ir_value *tensor_arg(ts_interp *I, const ts_call *c, int k, const char *name, int *v)
{
  *v = ts_arg_tensor(I, c, k, name);
  return *v >= 0 ? ts_value_of(I, *v) : NULL;
}

static ts_x *tensor_result(ts_interp *I, int v)
{
  return v >= 0 ? ts_tensor_x(I, v) : NULL;
}

/* ------------------------------------------------------------------------
 * Reshapes
 * ------------------------------------------------------------------------ */

/* The shape with its -1 inferred from the element count. */
/* The shape with its -1 inferred from the element count. */
static bool infer_minus_one(ts_interp *I, const ts_call *c, const ir_value *x, int64_t *shape, int n)
{
  int64_t known = 1, numel = ir_value_numel(x), total = 1;
  int hole = -1;
  bool overflow = false;
  for (int d = 0; d < n; d++) {
    if (shape[d] == -1 && hole < 0)
      hole = d;
    else if (shape[d] < 0)
      return ts_fail(I, c->node, "%s: dimension %lld is not valid", c->op, (long long)shape[d]) != NULL;
    else
      overflow |= __builtin_mul_overflow(known, shape[d], &known);
  }
  if (hole >= 0 && known > 0 && !overflow && numel % known == 0)
    shape[hole] = numel / known;
  for (int d = 0; d < n; d++)
    overflow |= __builtin_mul_overflow(total, shape[d], &total);
  if (overflow || total != numel)
    return ts_fail(I, c->node, "%s: %lld elements do not fit the shape asked for", c->op, (long long)numel) != NULL;
  return true;
}

ts_x *ts_op_view(ts_interp *I, const ts_call *c)
{
  int x, n = IR_MAX_RANK;
  int64_t shape[IR_MAX_RANK];
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  if (!v || !ts_arg_ints(I, c, 1, "size", shape, &n) || !infer_minus_one(I, c, v, shape, n))
    return NULL;
  return tensor_result(I, ts_reshape(I, c, x, n, shape));
}

ts_x *ts_op_flatten(ts_interp *I, const ts_call *c)
{
  int x, s, e;
  int64_t start, end, shape[IR_MAX_RANK];
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  if (!v || !ts_arg_int(I, c, 1, "start_dim", 0, &start) || !ts_arg_int(I, c, 2, "end_dim", -1, &end) ||
      !ts_dim(I, c, start, v->rank, &s) || !ts_dim(I, c, end, v->rank, &e))
    return NULL;
  if (v->rank == 0)
    return tensor_result(I, ts_reshape(I, c, x, 1, (int64_t[]){1}));
  int n = 0;
  for (int d = 0; d < v->rank; d++) {
    if (d <= s || d > e)
      shape[n++] = v->shape[d];
    else
      shape[n - 1] *= v->shape[d];
  }
  return tensor_result(I, ts_reshape(I, c, x, n, shape));
}

ts_x *ts_op_unsqueeze(ts_interp *I, const ts_call *c)
{
  int x, d;
  int64_t dim, shape[IR_MAX_RANK];
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  if (!v || !ts_arg_int(I, c, 1, "dim", 0, &dim) || !ts_dim(I, c, dim, v->rank + 1, &d))
    return NULL;
  if (v->rank + 1 > IR_MAX_RANK)
    return ts_fail(I, c->node, "%s: rank too large", c->op);
  for (int k = 0, n = 0; k <= v->rank; k++)
    shape[k] = k == d ? 1 : v->shape[n++];
  return tensor_result(I, ts_reshape(I, c, x, v->rank + 1, shape));
}

ts_x *ts_op_squeeze(ts_interp *I, const ts_call *c)
{
  int x, n_dims = IR_MAX_RANK, n = 0, d;
  int64_t dims[IR_MAX_RANK], shape[IR_MAX_RANK];
  bool drop[IR_MAX_RANK] = {false};
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  if (!v || !ts_arg_ints(I, c, 1, "dim", dims, &n_dims))
    return NULL;
  for (int k = 0; k < n_dims; k++) {
    if (!ts_dim(I, c, dims[k], v->rank, &d))
      return NULL;
    drop[d] = true;
  }
  for (int k = 0; k < v->rank; k++)
    if (!(v->shape[k] == 1 && (drop[k] || !ts_arg(c, 1, "dim"))))
      shape[n++] = v->shape[k];
  return tensor_result(I, ts_reshape(I, c, x, n, shape));
}

/* ------------------------------------------------------------------------
 * Permutations
 * ------------------------------------------------------------------------ */

static ts_x *permuted(ts_interp *I, const ts_call *c, int x, int rank, const int *perm)
{
  return ts_made(I, c, graph_transpose(I->g, x, rank, perm));
}

ts_x *ts_op_transpose(ts_interp *I, const ts_call *c)
{
  int x, a, b, perm[IR_MAX_RANK];
  int64_t d0, d1;
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  if (!v || !ts_arg_int(I, c, 1, "dim0", 0, &d0) || !ts_arg_int(I, c, 2, "dim1", 1, &d1) ||
      !ts_dim(I, c, d0, v->rank, &a) || !ts_dim(I, c, d1, v->rank, &b))
    return NULL;
  if (v->rank < 2 || a == b)
    return ts_tensor_x(I, x);
  for (int d = 0; d < v->rank; d++)
    perm[d] = d == a ? b : d == b ? a : d;
  return permuted(I, c, x, v->rank, perm);
}

ts_x *ts_op_t(ts_interp *I, const ts_call *c)
{
  int x;
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  if (!v)
    return NULL;
  return v->rank < 2 ? ts_tensor_x(I, x) : permuted(I, c, x, 2, (int[]){1, 0});
}

ts_x *ts_op_permute(ts_interp *I, const ts_call *c)
{
  int x, n = IR_MAX_RANK, perm[IR_MAX_RANK];
  int64_t dims[IR_MAX_RANK];
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  if (!v || !ts_arg_ints(I, c, 1, "dims", dims, &n))
    return NULL;
  if (n != v->rank)
    return ts_fail(I, c->node, "%s: %d dimensions for a tensor of rank %d", c->op, n, v->rank);
  for (int d = 0; d < n; d++)
    if (!ts_dim(I, c, dims[d], v->rank, &perm[d]))
      return NULL;
  return permuted(I, c, x, n, perm);
}

/* ------------------------------------------------------------------------
 * Slices
 * ------------------------------------------------------------------------ */

static int64_t clamp_index(int64_t i, int64_t size)
{
  i = i < 0 ? i + size : i;
  return i < 0 ? 0 : i > size ? size : i;
}

int ts_slice(ts_interp *I, const ts_call *c, int x, int dim, int64_t start, int64_t end, int64_t step)
{
  int64_t size = ts_value_of(I, x)->shape[dim], axis = dim;
  start = clamp_index(start, size);
  end = clamp_index(end, size);
  end = end < start ? start : end;
  if (start == 0 && end == size && step == 1)
    return x;
  int in[5] = {x, ts_i64_const(I, 1, &start), ts_i64_const(I, 1, &end), ts_i64_const(I, 1, &axis),
               ts_i64_const(I, 1, &step)};
  for (int k = 1; k < 5; k++)
    if (in[k] < 0)
      return -1;
  ts_x *r = ts_made(I, c, graph_node(I->g, GRAPH_OP_SLICE, in, 5, NULL));
  return r ? r->u.t->v : -1;
}

ts_x *ts_op_slice(ts_interp *I, const ts_call *c)
{
  int x, d;
  int64_t dim, start, end, step;
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  if (!v || !ts_arg_int(I, c, 1, "dim", 0, &dim) || !ts_dim(I, c, dim, v->rank, &d) ||
      !ts_arg_int(I, c, 2, "start", 0, &start) || !ts_arg_int(I, c, 3, "end", INT64_MAX, &end) ||
      !ts_arg_int(I, c, 4, "step", 1, &step))
    return NULL;
  if (step < 1)
    return ts_fail(I, c->node, "%s: step %lld must be positive", c->op, (long long)step);
  return tensor_result(I, ts_slice(I, c, x, d, start, end, step));
}

/* x[..., i, ...] along dim, the dimension removed. */
static int select_one(ts_interp *I, const ts_call *c, int x, int dim, int64_t index)
{
  const ir_value *v = ts_value_of(I, x);
  int64_t shape[IR_MAX_RANK], size = v->shape[dim], rank = v->rank;
  if (index < -size || index >= size) {
    ts_fail(I, c->node, "%s: index %lld is out of range for size %lld", c->op, (long long)index, (long long)size);
    return -1;
  }
  index = index < 0 ? index + size : index;
  for (int d = 0, n = 0; d < rank; d++)
    if (d != dim)
      shape[n++] = v->shape[d];
  int s = ts_slice(I, c, x, dim, index, index + 1, 1);
  return s >= 0 ? ts_reshape(I, c, s, (int)rank - 1, shape) : -1;
}

ts_x *ts_op_select(ts_interp *I, const ts_call *c)
{
  int x, d;
  int64_t dim, index;
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  if (!v || !ts_arg_int(I, c, 1, "dim", 0, &dim) || !ts_dim(I, c, dim, v->rank, &d) ||
      !ts_arg_int(I, c, 2, "index", 0, &index))
    return NULL;
  return tensor_result(I, select_one(I, c, x, d, index));
}

/* Pieces of the given sizes along dim, as a list. */
static ts_x *pieces(ts_interp *I, const ts_call *c, int x, int dim, const int64_t *sizes, int n)
{
  ts_x *r = ts_seq_x(I, TS_X_LIST, n);
  int64_t at = 0;
  for (int k = 0; r && k < n; at += sizes[k++])
    if (!(r->u.seq.items[k] = tensor_result(I, ts_slice(I, c, x, dim, at, at + sizes[k], 1))))
      return NULL;
  return r;
}

#define MAX_PIECES 4096

/* Even pieces of `each` elements, the last one smaller. */
static ts_x *even_pieces(ts_interp *I, const ts_call *c, int x, int dim, int64_t each)
{
  int64_t size = ts_value_of(I, x)->shape[dim];
  int64_t n = each > 0 ? size / each + (size % each != 0) : 0, sizes[MAX_PIECES];
  if (each <= 0 || n > MAX_PIECES)
    return ts_fail(I, c->node, "%s: pieces of %lld elements are not supported", c->op, (long long)each);
  for (int64_t k = 0; k < n; k++)
    sizes[k] = k + 1 < n ? each : size - each * (n - 1);
  return pieces(I, c, x, dim, sizes, (int)n);
}

ts_x *ts_op_chunk(ts_interp *I, const ts_call *c)
{
  int x, d;
  int64_t chunks, dim;
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  if (!v || !ts_arg_int(I, c, 1, "chunks", 1, &chunks) || !ts_arg_int(I, c, 2, "dim", 0, &dim) ||
      !ts_dim(I, c, dim, v->rank, &d))
    return NULL;
  if (chunks < 1)
    return ts_fail(I, c->node, "%s: %lld chunks", c->op, (long long)chunks);
  return even_pieces(I, c, x, d, v->shape[d] / chunks + (v->shape[d] % chunks != 0));
}

ts_x *ts_op_split(ts_interp *I, const ts_call *c)
{
  int x, d, n = MAX_PIECES;
  int64_t dim, sizes[MAX_PIECES];
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  ts_x *s = ts_arg(c, 1, "split_size");
  if (!s)
    s = ts_arg(c, 1, "split_sizes");
  if (!v || !ts_arg_int(I, c, 2, "dim", 0, &dim) || !ts_dim(I, c, dim, v->rank, &d))
    return NULL;
  if (s && s->kind == TS_X_INT)
    return even_pieces(I, c, x, d, s->u.i);
  if (!ts_arg_ints(I, c, 1, ts_arg(c, 1, "split_size") ? "split_size" : "split_sizes", sizes, &n))
    return NULL;
  int64_t total = 0;
  for (int k = 0; k < n; k++)
    total += sizes[k];
  if (total != v->shape[d])
    return ts_fail(I, c->node, "%s: sizes add up to %lld, not %lld", c->op, (long long)total, (long long)v->shape[d]);
  return pieces(I, c, x, d, sizes, n);
}

ts_x *ts_op_unbind(ts_interp *I, const ts_call *c)
{
  int x, d;
  int64_t dim;
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  if (!v || !ts_arg_int(I, c, 1, "dim", 0, &dim) || !ts_dim(I, c, dim, v->rank, &d))
    return NULL;
  if (v->shape[d] > MAX_PIECES)
    return ts_fail(I, c->node, "%s: too many pieces", c->op);
  ts_x *r = ts_seq_x(I, TS_X_LIST, (int)v->shape[d]);
  for (int64_t k = 0; r && k < v->shape[d]; k++)
    if (!(r->u.seq.items[k] = tensor_result(I, select_one(I, c, x, d, k))))
      return NULL;
  return r;
}

/* ------------------------------------------------------------------------
 * Joining
 * ------------------------------------------------------------------------ */

static int *tensor_list(ts_interp *I, const ts_call *c, int *n)
{
  ts_x *l = ts_arg(c, 0, "tensors");
  if (!l || (l->kind != TS_X_LIST && l->kind != TS_X_TUPLE) || !l->u.seq.n) {
    ts_fail(I, c->node, "%s: a non-empty list of tensors expected", c->op);
    return NULL;
  }
  int *vs = IR_NEW_ARRAY(I->ctx, int, l->u.seq.n);
  for (int k = 0; vs && k < l->u.seq.n; k++) {
    if (l->u.seq.items[k]->kind != TS_X_TENSOR) {
      ts_fail(I, c->node, "%s: item %d is not a tensor", c->op, k);
      return NULL;
    }
    vs[k] = l->u.seq.items[k]->u.t->v;
  }
  *n = l->u.seq.n;
  return vs;
}

ts_x *ts_op_cat(ts_interp *I, const ts_call *c)
{
  int n, d;
  int64_t dim;
  int *vs = tensor_list(I, c, &n);
  if (!vs || !ts_arg_int(I, c, 1, "dim", 0, &dim) || !ts_dim(I, c, dim, ts_value_of(I, vs[0])->rank, &d))
    return NULL;
  return n == 1 ? ts_tensor_x(I, vs[0]) : ts_made(I, c, graph_concat(I->g, vs, n, d));
}

ts_x *ts_op_stack(ts_interp *I, const ts_call *c)
{
  int n, d;
  int64_t dim, shape[IR_MAX_RANK];
  int *vs = tensor_list(I, c, &n);
  if (!vs || !ts_arg_int(I, c, 1, "dim", 0, &dim))
    return NULL;
  const ir_value *v = ts_value_of(I, vs[0]);
  if (!ts_dim(I, c, dim, v->rank + 1, &d) || v->rank + 1 > IR_MAX_RANK)
    return NULL;
  for (int k = 0, j = 0; k <= v->rank; k++)
    shape[k] = k == d ? 1 : v->shape[j++];
  for (int k = 0; k < n; k++)
    if ((vs[k] = ts_reshape(I, c, vs[k], v->rank + 1, shape)) < 0)
      return NULL;
  return n == 1 ? ts_tensor_x(I, vs[0]) : ts_made(I, c, graph_concat(I->g, vs, n, d));
}

ts_x *ts_op_expand(ts_interp *I, const ts_call *c)
{
  int x, n = IR_MAX_RANK;
  int64_t shape[IR_MAX_RANK];
  const ir_value *v = tensor_arg(I, c, 0, "self", &x);
  ts_x *other = ts_arg(c, 1, "other");
  if (!v)
    return NULL;
  if (other && other->kind == TS_X_TENSOR) {
    const ir_value *o = ts_value_of(I, other->u.t->v);
    n = o->rank;
    memcpy(shape, o->shape, sizeof(int64_t) * (size_t)n);
  } else if (!ts_arg_ints(I, c, 1, "size", shape, &n)) {
    return NULL;
  }
  for (int d = 0; d < n; d++)
    if (shape[d] == -1 && d - (n - v->rank) >= 0)
      shape[d] = v->shape[d - (n - v->rank)];
  int s = ts_i64_const(I, n, shape);
  return s >= 0 ? ts_made(I, c, graph_binary(I->g, GRAPH_OP_EXPAND, x, s)) : NULL;
}

/* ------------------------------------------------------------------------
 * Casts and clamps
 * ------------------------------------------------------------------------ */

/* torch's ScalarType numbers, as traced code writes dtypes. */
static bool dtype_of(int64_t code, ir_type *t)
{
  static const int types[] = {IR_U8, IR_I8, IR_I16, IR_I32, IR_I64, IR_F32, IR_F32, IR_F64};
  if (code >= 0 && code < 8) {
    *t = (ir_type)types[code];
    return true;
  }
  if (code == 11 || code == 15) {
    *t = code == 11 ? IR_BOOL : IR_F32;
    return true;
  }
  return false;
}

ts_x *ts_op_to(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  if (x < 0)
    return NULL;
  ir_type t = ts_value_of(I, x)->type;
  for (int k = 1; k < c->n_args; k++) {
    if (c->args[k]->kind == TS_X_TENSOR) {
      t = ts_value_of(I, c->args[k]->u.t->v)->type;
      break;
    }
    if (c->args[k]->kind == TS_X_INT && dtype_of(c->args[k]->u.i, &t))
      break;
  }
  ts_x *dt = ts_arg(c, -1, "dtype");
  if (dt && dt->kind == TS_X_INT && !dtype_of(dt->u.i, &t))
    return ts_fail(I, c->node, "%s: dtype %lld is not supported", c->op, (long long)dt->u.i);
  if (c->n_args < 2 && !dt)
    return ts_tensor_x(I, x);
  return t == ts_value_of(I, x)->type ? ts_tensor_x(I, x) : ts_made(I, c, graph_cast(I->g, x, t));
}

ts_x *ts_op_clamp(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  if (x < 0)
    return NULL;
  ir_type t = ts_value_of(I, x)->type;
  int in[3] = {x, -1, -1};
  for (int k = 1; k <= 2; k++) {
    double d;
    ts_x *b = ts_arg(c, k, k == 1 ? "min" : "max");
    if (b && b->kind != TS_X_NONE && !ts_arg_float(I, c, k, k == 1 ? "min" : "max", 0, &d))
      return NULL;
    if (b && b->kind != TS_X_NONE && (in[k] = ts_scalar_const(I, t, d)) < 0)
      return NULL;
  }
  return ts_result(c, ts_made(I, c, graph_node(I->g, GRAPH_OP_CLIP, in, 3, NULL)));
}

/* ------------------------------------------------------------------------
 * Reductions
 * ------------------------------------------------------------------------ */

static graph_op reduce_of(const char *op)
{
  if (strstr(op, "mean"))
    return GRAPH_OP_REDUCE_MEAN;
  if (strstr(op, "amax") || strstr(op, "max"))
    return GRAPH_OP_REDUCE_MAX;
  if (strstr(op, "amin") || strstr(op, "min"))
    return GRAPH_OP_REDUCE_MIN;
  if (strstr(op, "prod"))
    return GRAPH_OP_REDUCE_PROD;
  return GRAPH_OP_REDUCE_SUM;
}

static ts_x *reduce(ts_interp *I, const ts_call *c, int x, const int64_t *dims, int n, bool keep)
{
  const ir_value *v = ts_value_of(I, x);
  int64_t axes[IR_MAX_RANK];
  for (int k = 0; k < n; k++) {
    int d;
    if (!ts_dim(I, c, dims[k], v->rank, &d))
      return NULL;
    axes[k] = d;
  }
  graph_op op = reduce_of(c->op);
  if (op != GRAPH_OP_REDUCE_MAX && op != GRAPH_OP_REDUCE_MIN && !ir_types[v->type].is_float) {
    ts_x *f = ts_made(I, c, graph_cast(I->g, x, op == GRAPH_OP_REDUCE_MEAN ? IR_F32 : IR_I64));
    if (!f)
      return NULL;
    x = f->u.t->v;
  }
  return ts_made(I, c, graph_reduce(I->g, op, x, n, axes, keep));
}

ts_x *ts_op_reduce(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self"), n = IR_MAX_RANK;
  int64_t dims[IR_MAX_RANK];
  bool keep;
  ts_x *d = ts_arg(c, 1, "dim");
  if (x < 0)
    return NULL;
  if (d && d->kind == TS_X_INT && strstr(c->op, "sum") && c->n_args == 2 && !ts_arg(c, -1, "dim"))
    d = NULL;
  if (d && !ts_arg_ints(I, c, 1, "dim", dims, &n))
    return NULL;
  if (!ts_arg_bool(I, c, 2, "keepdim", false, &keep))
    return NULL;
  return reduce(I, c, x, dims, d ? n : 0, keep);
}

static ts_x *arg_reduce(ts_interp *I, const ts_call *c, int x, int64_t dim, bool keep, bool is_min)
{
  const ir_value *v = ts_value_of(I, x);
  int d;
  if (!ts_dim(I, c, dim, v->rank, &d))
    return NULL;
  graph_params p = {.arg = {.axis = d, .keep_dims = keep}};
  return ts_made(I, c, graph_node(I->g, is_min ? GRAPH_OP_ARGMIN : GRAPH_OP_ARGMAX, &x, 1, &p));
}

/* max(x), max(x, dim, keepdim) -> (values, indices), max(x, other). */
ts_x *ts_op_max(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  ts_x *d = ts_arg(c, 1, "dim");
  bool keep, is_min = strstr(c->op, "min") != NULL;
  if (x < 0)
    return NULL;
  if (d && d->kind == TS_X_TENSOR)
    return ts_binary(I, c, is_min ? GRAPH_OP_MIN : GRAPH_OP_MAX, c->args[0], d);
  if (!d)
    return reduce(I, c, x, NULL, 0, false);
  int64_t dim;
  if (!ts_arg_int(I, c, 1, "dim", 0, &dim) || !ts_arg_bool(I, c, 2, "keepdim", false, &keep))
    return NULL;
  ts_x *r = ts_seq_x(I, TS_X_TUPLE, 2);
  if (!r || !(r->u.seq.items[0] = reduce(I, c, x, &dim, 1, keep)))
    return NULL;
  return (r->u.seq.items[1] = arg_reduce(I, c, x, dim, keep, is_min)) ? r : NULL;
}

ts_x *ts_op_argmax(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self");
  ts_x *d = ts_arg(c, 1, "dim");
  bool keep, is_min = strstr(c->op, "argmin") != NULL;
  int64_t dim;
  if (x < 0 || !ts_arg_bool(I, c, 2, "keepdim", false, &keep))
    return NULL;
  if (d && d->kind != TS_X_NONE)
    return ts_arg_int(I, c, 1, "dim", 0, &dim) ? arg_reduce(I, c, x, dim, keep, is_min) : NULL;
  int64_t n = ir_value_numel(ts_value_of(I, x));
  int flat = ts_reshape(I, c, x, 1, &n);
  return flat >= 0 ? arg_reduce(I, c, flat, 0, false, is_min) : NULL;
}
