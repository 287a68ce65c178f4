/* fuse_layernorm.c: the graph pass fuse-layernorm. Layer normalisation as
 * exporters decompose it (torch 1.13's ONNX export, opsets below 17):
 *
 *   m = ReduceMean(x, axes)   d = Sub(x, m)   p = Pow(d, 2) (or Mul(d, d))
 *   v = ReduceMean(p, axes)   a = Add(v, eps)   s = Sqrt(a)   n = Div(d, s)
 *   [y = Mul(n, scale)   [z = Add(y, bias)]]
 *
 * with axes the trailing dimensions of x, becomes one LayerNormalization
 * node (the op library's lowering: the mean, the variance and the
 * normalisation, three passes over x instead of nine, no pow). The fused
 * node takes the last node's place in the list, so that the order stays a
 * topological one; the others are marked dead. Anything that does not match
 * exactly (other uses of an intermediate, broadcasting, other types) is
 * left alone. */
#include "ops_internal.h"

/* The pattern's values and nodes, from the Div backwards. */
typedef struct ln_match {
  int x, d, scale, bias, out;
  int axis;
  double eps;
  int nodes[9], n_nodes; /* the nodes replaced (the last one is reused) */
} ln_match;

static int use_count(const ir_graph *g, int v)
{
  int n = 0;
  for (int k = 0; k < g->n_nodes; k++)
    for (int j = 0; !g->nodes[k].dead && j < g->nodes[k].n_in; j++)
      n += g->nodes[k].in[j] == v;
  return n + (g->values[v].is_output ? 1 : 0);
}

/* The live node producing v with op `op` and n_in inputs, or NULL. */
static ir_node *made_by(ir_graph *g, int v, graph_op op, int n_in)
{
  int k = v >= 0 ? g->values[v].producer : -1;
  ir_node *n = k >= 0 ? &g->nodes[k] : NULL;
  if (!n || n->dead || n->op != op || n->n_in != n_in || n->n_out < 1 || n->out[0] != v)
    return NULL;
  for (int j = 1; j < n->n_out; j++)
    if (n->out[j] >= 0)
      return NULL;
  return n;
}

static bool is_scalar_f32(const ir_graph *g, int v, double *value)
{
  const ir_value *val = &g->values[v];
  if (!val->data || val->type != IR_F32 || ir_value_numel(val) != 1)
    return false;
  *value = *(const float *)val->data;
  return true;
}

static bool same_shape(const ir_value *a, const ir_value *b)
{
  if (a->rank != b->rank || a->type != b->type)
    return false;
  for (int d = 0; d < a->rank; d++)
    if (a->shape[d] != b->shape[d])
      return false;
  return true;
}

/* Whether n reduces exactly the dimensions axis.. of its input (kept as 1). */
static bool reduces_tail(const ir_graph *g, const ir_node *n, int *axis)
{
  const ir_value *axes = n->in[1] >= 0 ? &g->values[n->in[1]] : NULL, *x = &g->values[n->in[0]];
  if (!axes || !n->p.reduce.keep_dims || !axes->data || axes->type != IR_I64 || axes->rank != 1)
    return false;
  int64_t count = axes->shape[0], lo = x->rank;
  bool hit[IR_MAX_RANK] = {false};
  for (int64_t k = 0; k < count; k++) {
    int64_t a = ((const int64_t *)axes->data)[k];
    a = a < 0 ? a + x->rank : a;
    if (a < 0 || a >= x->rank || hit[a])
      return false;
    hit[a] = true;
    lo = a < lo ? a : lo;
  }
  *axis = (int)lo;
  return count > 0 && lo + count == x->rank;
}

static bool plain_binary(const ir_node *n)
{
  return !n->p.binary.aligned;
}

/* p = Pow(d, 2) or Mul(d, d). */
static bool is_square_of(ir_graph *g, int p, int d, ln_match *m)
{
  ir_node *n = made_by(g, p, GRAPH_OP_POW, 2);
  double two;
  if (n && n->in[0] == d && is_scalar_f32(g, n->in[1], &two) && two == 2) {
    m->nodes[m->n_nodes++] = (int)(n - g->nodes);
    return true;
  }
  n = made_by(g, p, GRAPH_OP_MUL, 2);
  if (!n || n->in[0] != d || n->in[1] != d || !plain_binary(n))
    return false;
  m->nodes[m->n_nodes++] = (int)(n - g->nodes);
  return true;
}

/* s = Sqrt(Add(ReduceMean(square of d), eps)), each used once. */
static bool is_std_of(ir_graph *g, int s, int d, ln_match *m)
{
  ir_node *sq = made_by(g, s, GRAPH_OP_SQRT, 1);
  ir_node *add = sq ? made_by(g, sq->in[0], GRAPH_OP_ADD, 2) : NULL;
  if (!add || !plain_binary(add) || use_count(g, s) != 1 || use_count(g, sq->in[0]) != 1)
    return false;
  int eps_side = is_scalar_f32(g, add->in[1], &m->eps) ? 1 : is_scalar_f32(g, add->in[0], &m->eps) ? 0 : -1;
  ir_node *var = eps_side >= 0 ? made_by(g, add->in[1 - eps_side], GRAPH_OP_REDUCE_MEAN, 2) : NULL;
  int axis;
  if (!var || use_count(g, var->out[0]) != 1 || !reduces_tail(g, var, &axis) || axis != m->axis ||
      use_count(g, var->in[0]) != 1)
    return false;
  m->nodes[m->n_nodes++] = (int)(var - g->nodes);
  m->nodes[m->n_nodes++] = (int)(add - g->nodes);
  m->nodes[m->n_nodes++] = (int)(sq - g->nodes);
  return is_square_of(g, var->in[0], d, m);
}

/* d = Sub(x, ReduceMean(x)): the centred input. */
static bool is_centred(ir_graph *g, int d, ln_match *m)
{
  ir_node *sub = made_by(g, d, GRAPH_OP_SUB, 2);
  ir_node *mean = sub && plain_binary(sub) ? made_by(g, sub->in[1], GRAPH_OP_REDUCE_MEAN, 2) : NULL;
  if (!mean || mean->in[0] != sub->in[0] || use_count(g, mean->out[0]) != 1 || !reduces_tail(g, mean, &m->axis))
    return false;
  m->x = sub->in[0];
  m->nodes[m->n_nodes++] = (int)(mean - g->nodes);
  m->nodes[m->n_nodes++] = (int)(sub - g->nodes);
  return g->values[m->x].type == IR_F32 && same_shape(&g->values[m->x], &g->values[d]);
}

/* Whether p broadcasts to the normalised dimensions axis.. of x. */
static bool fits_tail(const ir_graph *g, int p, const ln_match *m)
{
  const ir_value *pv = &g->values[p], *x = &g->values[m->x];
  if (pv->type != IR_F32 || pv->rank < 1 || pv->rank > x->rank - m->axis)
    return false;
  for (int j = 1; j <= pv->rank; j++)
    if (pv->shape[pv->rank - j] != 1 && pv->shape[pv->rank - j] != x->shape[x->rank - j])
      return false;
  return true;
}

/* The one consumer of v if it is an elementwise op `op` of v and a value
 * fitting the tail, with x's shape; that value in *other. */
static ir_node *affine_step(ir_graph *g, int v, graph_op op, const ln_match *m, int *other)
{
  if (use_count(g, v) != 1)
    return NULL;
  for (int k = 0; k < g->n_nodes; k++) {
    ir_node *n = &g->nodes[k];
    if (n->dead || n->op != op || n->n_in != 2 || n->n_out != 1 || !plain_binary(n) ||
        (n->in[0] != v && n->in[1] != v))
      continue;
    *other = n->in[0] == v ? n->in[1] : n->in[0];
    bool ok = *other != v && fits_tail(g, *other, m) && same_shape(&g->values[n->out[0]], &g->values[m->x]);
    return ok ? n : NULL;
  }
  return NULL;
}

/* The Div node n and what follows it: scale and bias (a bias only after a
 * scale; neither: LayerNormalization without an affine step). */
static bool match_from_div(ir_graph *g, ir_node *div, ln_match *m)
{
  m->n_nodes = 0;
  m->bias = -1;
  m->d = div->in[0];
  if (!plain_binary(div) || !is_centred(g, m->d, m) || !is_std_of(g, div->in[1], m->d, m))
    return false;
  bool mul_square = g->nodes[m->nodes[m->n_nodes - 1]].op == GRAPH_OP_MUL;
  if (use_count(g, m->d) != (mul_square ? 3 : 2))
    return false;
  m->nodes[m->n_nodes++] = (int)(div - g->nodes);
  ir_node *mul = affine_step(g, div->out[0], GRAPH_OP_MUL, m, &m->scale);
  m->out = div->out[0];
  if (!mul) {
    m->scale = -1;
    return true;
  }
  m->nodes[m->n_nodes++] = (int)(mul - g->nodes);
  m->out = mul->out[0];
  ir_node *add = affine_step(g, mul->out[0], GRAPH_OP_ADD, m, &m->bias);
  if (add) {
    m->nodes[m->n_nodes++] = (int)(add - g->nodes);
    m->out = add->out[0];
  } else {
    m->bias = -1;
  }
  return true;
}

/* The last node of the match becomes the LayerNormalization; the others die. */
static bool rewrite(ir_graph *g, const ln_match *m)
{
  int last = m->nodes[m->n_nodes - 1];
  int *in = IR_NEW_ARRAY(g->ctx, int, 3);
  if (!in)
    return false;
  in[0] = m->x;
  in[1] = m->scale;
  in[2] = m->bias;
  for (int k = 0; k < m->n_nodes - 1; k++) {
    ir_node *n = &g->nodes[m->nodes[k]];
    n->n_in = n->n_out = 0;
    n->dead = true;
  }
  ir_node *n = &g->nodes[last];
  n->op = GRAPH_OP_LAYERNORM;
  n->in = in;
  n->n_in = m->bias >= 0 ? 3 : m->scale >= 0 ? 2 : 1;
  n->n_out = 1;
  n->out[0] = m->out;
  n->source_op = NULL;
  n->p = (graph_params){.layernorm = {.axis = m->axis, .epsilon = m->eps, .stash_type = IR_F32}};
  return graph_op_infer(g, n);
}

bool ir_graph_fuse_layernorm(ir_graph *g)
{
  ln_match m;
  for (int k = 0; k < g->n_nodes; k++) {
    ir_node *n = &g->nodes[k];
    if (!n->dead && n->op == GRAPH_OP_DIV && n->n_in == 2 && match_from_div(g, n, &m) && !rewrite(g, &m))
      return false;
  }
  return !g->ctx->oom;
}
