/* ts_ops_attn.c: attention as TorchScript writes it: unflatten,
 * scaled_dot_product_attention (softmax(q k^T * scale + mask) v, causal
 * or with a boolean or additive mask), and nn.TransformerEncoderLayer's
 * fused inference operator _transformer_encoder_layer_fwd, lowered to
 * linear, attention, layer_norm and relu or gelu through the other
 * operators of this frontend. */
#include "ts_graph.h"

#include <math.h>
#include <string.h>

/* Calls operator fn on the given arguments at c's location. */
static ts_x *apply(ts_interp *I, const ts_call *c, ts_op_fn fn, const char *op, int n, ts_x **args)
{
  ts_call sub = {.node = c->node, .op = op, .args = args, .n_args = n};
  for (int k = 0; k < n; k++)
    if (!args[k])
      return NULL;
  return fn(I, &sub);
}

static ts_x *tensor_at(const ts_call *c, int k)
{
  ts_x *x = ts_arg(c, k, NULL);
  return x && x->kind == TS_X_TENSOR ? x : NULL;
}

static ts_x *ints_x(ts_interp *I, int n, const int64_t *v)
{
  ts_x *l = ts_seq_x(I, TS_X_LIST, n);
  for (int k = 0; l && k < n; k++)
    if (!(l->u.seq.items[k] = ts_int_x(I, v[k])))
      return NULL;
  return l;
}

/* unflatten(x, dim, sizes): dimension dim split into sizes (one may be -1). */
ts_x *ts_op_unflatten(ts_interp *I, const ts_call *c)
{
  int x = ts_arg_tensor(I, c, 0, "self"), d, n = IR_MAX_RANK;
  int64_t dim, sizes[IR_MAX_RANK], shape[IR_MAX_RANK], known = 1;
  if (x < 0 || !ts_arg_int(I, c, 1, "dim", 0, &dim) || !ts_arg_ints(I, c, 2, "sizes", sizes, &n))
    return NULL;
  const ir_value *v = ts_value_of(I, x);
  if (!ts_dim(I, c, dim, v->rank, &d) || v->rank - 1 + n > IR_MAX_RANK)
    return NULL;
  for (int k = 0; k < n; k++)
    if ((sizes[k] < 0 && sizes[k] != -1) || __builtin_mul_overflow(known, sizes[k] == -1 ? 1 : sizes[k], &known))
      return ts_fail(I, c->node, "%s: sizes that do not fit", c->op);
  for (int k = 0; k < n; k++)
    sizes[k] = sizes[k] == -1 && known ? v->shape[d] / known : sizes[k];
  int r = 0;
  for (int k = 0; k < v->rank; k++) {
    if (k != d) {
      shape[r++] = v->shape[k];
      continue;
    }
    memcpy(shape + r, sizes, sizeof(int64_t) * (size_t)n);
    r += n;
  }
  int y = ts_reshape(I, c, x, r, shape);
  return y >= 0 ? ts_tensor_x(I, y) : NULL;
}

/* ------------------------------------------------------------------------
 * Scaled dot-product attention
 * ------------------------------------------------------------------------ */

/* The (L, S) additive causal mask: 0 on and below the diagonal, -inf above. */
static ts_x *causal_mask(ts_interp *I, int64_t l, int64_t s)
{
  float *m = IR_NEW_ARRAY(I->ctx, float, l * s);
  for (int64_t i = 0; m && i < l; i++)
    for (int64_t j = 0; j < s; j++)
      m[i * s + j] = j > i ? -INFINITY : 0.0f;
  int v = m ? graph_constant(I->g, "causal_mask", IR_F32, 2, (int64_t[]){l, s}, m) : -1;
  return ts_tensor_x(I, v);
}

/* scores where the boolean mask is false set to -inf. */
static ts_x *masked(ts_interp *I, const ts_call *c, ts_x *scores, ts_x *mask)
{
  const ir_value *m = ts_value_of(I, mask->u.t->v);
  if (m->type != IR_BOOL)
    return ts_binary(I, c, GRAPH_OP_ADD, scores, mask);
  int in[3] = {mask->u.t->v, scores->u.t->v, ts_scalar_const(I, IR_F32, -INFINITY)};
  return in[2] >= 0 ? ts_made(I, c, graph_node(I->g, GRAPH_OP_WHERE, in, 3, NULL)) : NULL;
}

static ts_x *attention(ts_interp *I, const ts_call *c, ts_x *q, ts_x *k, ts_x *v, ts_x *mask, bool causal,
                       double scale)
{
  const ir_value *qv = ts_value_of(I, q->u.t->v), *kv = ts_value_of(I, k->u.t->v);
  ts_x *kt = apply(I, c, ts_op_transpose, "torch.transpose", 3, (ts_x *[]){k, ts_int_x(I, -2), ts_int_x(I, -1)});
  ts_x *s = apply(I, c, ts_op_matmul, "torch.matmul", 2, (ts_x *[]){q, kt});
  s = s ? ts_binary(I, c, GRAPH_OP_MUL, s, ts_float_x(I, scale)) : NULL;
  if (s && causal)
    s = masked(I, c, s, causal_mask(I, qv->shape[qv->rank - 2], kv->shape[kv->rank - 2]));
  if (s && mask)
    s = masked(I, c, s, mask);
  ts_x *p = apply(I, c, ts_op_softmax, "torch.softmax", 2, (ts_x *[]){s, ts_int_x(I, -1)});
  return apply(I, c, ts_op_matmul, "torch.matmul", 2, (ts_x *[]){p, v});
}

/* scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0,
 * is_causal=False, scale=None) */
ts_x *ts_op_sdpa(ts_interp *I, const ts_call *c)
{
  ts_x *q = tensor_at(c, 0), *k = tensor_at(c, 1), *v = tensor_at(c, 2), *mask = ts_arg(c, 3, "attn_mask");
  bool causal;
  double scale;
  if (!q || !k || !v)
    return ts_fail(I, c->node, "%s: query, key and value tensors expected", c->op);
  const ir_value *qv = ts_value_of(I, q->u.t->v);
  if (qv->rank < 2 || !ts_arg_bool(I, c, 5, "is_causal", false, &causal) ||
      !ts_arg_float(I, c, 6, "scale", 1.0 / sqrt((double)qv->shape[qv->rank - 1]), &scale))
    return NULL;
  return attention(I, c, q, k, v, mask && mask->kind == TS_X_TENSOR ? mask : NULL, causal, scale);
}

/* ------------------------------------------------------------------------
 * The fused encoder layer
 * ------------------------------------------------------------------------ */

typedef struct encoder {
  ts_x *qkv_w, *qkv_b, *proj_w, *proj_b, *n1_w, *n1_b, *n2_w, *n2_b, *f1_w, *f1_b, *f2_w, *f2_b;
  int64_t heads, dim;
  bool gelu, norm_first;
  double eps;
} encoder;

static ts_x *linear(ts_interp *I, const ts_call *c, ts_x *x, ts_x *w, ts_x *b)
{
  return apply(I, c, ts_op_linear, "torch.linear", 3, (ts_x *[]){x, w, b});
}

static ts_x *norm(ts_interp *I, const ts_call *c, const encoder *e, ts_x *x, ts_x *w, ts_x *b)
{
  ts_x *shape = ints_x(I, 1, &e->dim);
  return apply(I, c, ts_op_layer_norm, "torch.layer_norm", 5, (ts_x *[]){x, shape, w, b, ts_float_x(I, e->eps)});
}

/* (B, T, E) -> (B, H, T, E / H) */
static ts_x *heads_of(ts_interp *I, const ts_call *c, const encoder *e, ts_x *x, int64_t b, int64_t t)
{
  int64_t shape[4] = {b, t, e->heads, e->dim / e->heads};
  ts_x *r = apply(I, c, ts_op_view, "torch.view", 2, (ts_x *[]){x, ints_x(I, 4, shape)});
  return apply(I, c, ts_op_transpose, "torch.transpose", 3, (ts_x *[]){r, ts_int_x(I, 1), ts_int_x(I, 2)});
}

static ts_x *self_attention(ts_interp *I, const ts_call *c, const encoder *e, ts_x *x)
{
  const ir_value *xv = ts_value_of(I, x->u.t->v);
  int64_t b = xv->shape[0], t = xv->shape[1], shape[3] = {b, t, e->dim};
  ts_x *qkv = linear(I, c, x, e->qkv_w, e->qkv_b);
  ts_x *parts = apply(I, c, ts_op_chunk, "torch.chunk", 3, (ts_x *[]){qkv, ts_int_x(I, 3), ts_int_x(I, -1)});
  if (!parts)
    return NULL;
  ts_x *q = heads_of(I, c, e, parts->u.seq.items[0], b, t), *k = heads_of(I, c, e, parts->u.seq.items[1], b, t);
  ts_x *v = heads_of(I, c, e, parts->u.seq.items[2], b, t);
  ts_x *a = q && k && v ? attention(I, c, q, k, v, NULL, false, 1.0 / sqrt((double)(e->dim / e->heads))) : NULL;
  a = apply(I, c, ts_op_transpose, "torch.transpose", 3, (ts_x *[]){a, ts_int_x(I, 1), ts_int_x(I, 2)});
  a = apply(I, c, ts_op_view, "torch.reshape", 2, (ts_x *[]){a, ints_x(I, 3, shape)});
  return a ? linear(I, c, a, e->proj_w, e->proj_b) : NULL;
}

static ts_x *feed_forward(ts_interp *I, const ts_call *c, const encoder *e, ts_x *x)
{
  ts_x *h = linear(I, c, x, e->f1_w, e->f1_b);
  if (h && e->gelu)
    h = apply(I, c, ts_op_gelu, "torch.gelu", 1, (ts_x *[]){h});
  else if (h)
    h = ts_made(I, c, graph_relu(I->g, h->u.t->v));
  return h ? linear(I, c, h, e->f2_w, e->f2_b) : NULL;
}

static ts_x *add(ts_interp *I, const ts_call *c, ts_x *a, ts_x *b)
{
  return a && b ? ts_binary(I, c, GRAPH_OP_ADD, a, b) : NULL;
}

static ts_x *encode(ts_interp *I, const ts_call *c, const encoder *e, ts_x *x)
{
  if (e->norm_first) {
    x = add(I, c, x, self_attention(I, c, e, norm(I, c, e, x, e->n1_w, e->n1_b)));
    return x ? add(I, c, x, feed_forward(I, c, e, norm(I, c, e, x, e->n2_w, e->n2_b))) : NULL;
  }
  x = norm(I, c, e, add(I, c, x, self_attention(I, c, e, x)), e->n1_w, e->n1_b);
  return x ? norm(I, c, e, add(I, c, x, feed_forward(I, c, e, x)), e->n2_w, e->n2_b) : NULL;
}

static bool encoder_weights(const ts_call *c, encoder *e)
{
  ts_x **w[] = {&e->qkv_w, &e->qkv_b, &e->proj_w, &e->proj_b};
  ts_x **rest[] = {&e->n1_w, &e->n1_b, &e->n2_w, &e->n2_b, &e->f1_w, &e->f1_b, &e->f2_w, &e->f2_b};
  for (int k = 0; k < 4; k++)
    if (!(*w[k] = tensor_at(c, 3 + k)))
      return false;
  for (int k = 0; k < 8; k++)
    if (!(*rest[k] = tensor_at(c, 10 + k)))
      return false;
  return true;
}

/* _transformer_encoder_layer_fwd(src, embed_dim, num_heads, qkv_weight,
 * qkv_bias, proj_weight, proj_bias, use_gelu, norm_first, eps,
 * norm_weight_1, norm_bias_1, norm_weight_2, norm_bias_2, ffn_weight_1,
 * ffn_bias_1, ffn_weight_2, ffn_bias_2, mask=None, mask_type=None), batch
 * first. */
ts_x *ts_op_encoder_layer(ts_interp *I, const ts_call *c)
{
  encoder e = {0};
  ts_x *src = tensor_at(c, 0), *mask = ts_arg(c, 18, "mask");
  if (!src || !encoder_weights(c, &e))
    return ts_fail(I, c->node, "%s: the source and 12 weight tensors expected", c->op);
  if (mask && mask->kind != TS_X_NONE)
    return ts_fail(I, c->node, "%s with a mask is not supported: trace the model in train mode with dropout 0",
                   c->op);
  if (!ts_arg_int(I, c, 1, "embed_dim", 0, &e.dim) || !ts_arg_int(I, c, 2, "num_heads", 1, &e.heads) ||
      !ts_arg_bool(I, c, 7, "use_gelu", false, &e.gelu) || !ts_arg_bool(I, c, 8, "norm_first", false, &e.norm_first) ||
      !ts_arg_float(I, c, 9, "eps", 1e-5, &e.eps))
    return NULL;
  const ir_value *v = ts_value_of(I, src->u.t->v);
  if (v->rank != 3 || e.heads < 1 || e.dim % e.heads || v->shape[2] != e.dim)
    return ts_fail(I, c->node, "%s: a (batch, sequence, %lld) source and heads dividing it expected", c->op,
                   (long long)e.dim);
  return encode(I, c, &e, src);
}
