/* graph.c: the model graph: building it, shape inference (folding the
 * nodes that shapes depend on), constant folding (a node whose inputs are
 * all constant is run through the reference interpreter), dead-node
 * elimination and lowering to one ir_func. */
#include "graph.h"
#include "ops_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Nodes with larger outputs stay nodes: folding is for shape computations
 * and small constants, not for running whole layers at compile time. */
#define FOLD_MAX_ELEMENTS (1 << 16)

#define GRAPH_OP_NAME(id, name) [GRAPH_OP_##id] = name,
const char *const graph_op_names[GRAPH_OP_COUNT] = {GRAPH_OPS(GRAPH_OP_NAME)};
#undef GRAPH_OP_NAME
_Static_assert(sizeof(graph_op_names) / sizeof(graph_op_names[0]) == GRAPH_OP_COUNT, "op name table");

/* ------------------------------------------------------------------------
 * Building
 * ------------------------------------------------------------------------ */

ir_graph *ir_graph_new(aotc_ctx *ctx, ir_loc loc)
{
  ir_graph *g = IR_NEW(ctx, ir_graph);
  if (g) {
    g->ctx = ctx;
    g->loc = loc;
    g->max_bytes = ctx->max_bytes > 0 ? (size_t)ctx->max_bytes : GRAPH_DEFAULT_MAX_BYTES;
  }
  return g;
}

/* Grows an arena array of n elements of size sz to hold one more. */
static void *grow(aotc_ctx *ctx, void *items, int n, int *cap, size_t sz)
{
  if (n < *cap)
    return items;
  int ncap = *cap ? *cap * 2 : 16;
  void *p = ir_alloc(ctx, sz * (size_t)ncap);
  if (!p)
    return NULL;
  if (n)
    memcpy(p, items, sz * (size_t)n);
  *cap = ncap;
  return p;
}

/* The slot of by_name for name: its value, or an empty slot (-1). */
static int *name_slot(const ir_graph *g, const char *name)
{
  size_t i = ir_hash_str(name) & (size_t)(g->cap_by_name - 1);
  while (g->by_name[i] >= 0 && strcmp(g->values[g->by_name[i]].name, name))
    i = (i + 1) & (size_t)(g->cap_by_name - 1);
  return &g->by_name[i];
}

/* Records value v under its name (a later value of the same name wins, as
 * a backward search would find it); rebuilds the index when half full. */
static bool index_value(ir_graph *g, int v)
{
  if (2 * (g->n_values + 1) > g->cap_by_name) {
    int cap = g->cap_by_name ? 4 * g->cap_by_name : 64;
    int *slots = IR_NEW_ARRAY(g->ctx, int, cap);
    if (!slots)
      return false;
    memset(slots, 0xff, sizeof(int) * (size_t)cap);
    g->by_name = slots;
    g->cap_by_name = cap;
    for (int k = 0; k < v; k++)
      *name_slot(g, g->values[k].name) = k;
  }
  *name_slot(g, g->values[v].name) = v;
  return true;
}

int ir_graph_add_value(ir_graph *g, const char *name)
{
  ir_value *vs = grow(g->ctx, g->values, g->n_values, &g->cap_values, sizeof(ir_value));
  if (!vs)
    return -1;
  g->values = vs;
  ir_value *v = &vs[g->n_values];
  memset(v, 0, sizeof(*v));
  v->name = name ? name : "";
  v->rank = -1;
  v->producer = -1;
  v->loc = g->loc;
  if (!index_value(g, g->n_values))
    return -1;
  return g->n_values++;
}

int ir_graph_find_value(const ir_graph *g, const char *name)
{
  int v = g->cap_by_name ? *name_slot(g, name) : -1;
  if (v < 0 || !g->values[v].internal)
    return v;
  for (int k = v - 1; k >= 0; k--)
    if (!g->values[k].internal && !strcmp(g->values[k].name, name))
      return k;
  return -1;
}

ir_node *ir_graph_add_node(ir_graph *g, graph_op op, const char *name, int n_in, int n_out)
{
  ir_node *ns = grow(g->ctx, g->nodes, g->n_nodes, &g->cap_nodes, sizeof(ir_node));
  if (!ns)
    return NULL;
  g->nodes = ns;
  ir_node *n = &ns[g->n_nodes++];
  memset(n, 0, sizeof(*n));
  n->op = op;
  n->name = name;
  n->n_in = n_in;
  n->n_out = n_out;
  n->in = IR_NEW_ARRAY(g->ctx, int, n_in);
  n->out = IR_NEW_ARRAY(g->ctx, int, n_out);
  n->loc = g->loc;
  if (!n->in || !n->out)
    return NULL;
  for (int k = 0; k < n_in; k++)
    n->in[k] = -1;
  for (int k = 0; k < n_out; k++)
    n->out[k] = -1;
  return n;
}

const char *graph_node_op_name(const ir_node *n)
{
  return n->source_op ? n->source_op : graph_op_names[n->op];
}

int64_t ir_value_numel(const ir_value *v)
{
  int64_t n = 1;
  if (v->rank < 0)
    return -1;
  for (int d = 0; d < v->rank; d++)
    if (v->shape[d] < 0 || __builtin_mul_overflow(n, v->shape[d], &n))
      return -1;
  return n;
}

bool ir_value_is_weight(const ir_graph *g, int v)
{
  const ir_value *val = &g->values[v];
  return g->weights_as_params && val->data && val->producer < 0 && !val->is_input && !val->given &&
         ir_types[val->type].is_float;
}

size_t ir_value_bytes(const ir_value *v)
{
  int64_t n = ir_value_numel(v);
  size_t bytes;
  if (n < 0 || __builtin_mul_overflow((size_t)n, (size_t)ir_types[v->type].bytes, &bytes))
    return SIZE_MAX;
  return bytes;
}

/* ------------------------------------------------------------------------
 * Shape inference and constant folding
 * ------------------------------------------------------------------------ */

/* An input whose value determines shapes: bound to the caller's value when
 * known, otherwise an error naming the node. */
static bool require_const(ir_graph *g, ir_node *n, int k)
{
  ir_value *v = &g->values[n->in[k]];
  if (v->data)
    return true;
  if (v->is_input && v->given) {
    v->data = v->given;
    v->is_input = false;
    return true;
  }
  aotc_error(g->ctx, n->loc, "node '%s' (%s): input %d ('%s') must be a constant: its value determines a shape",
             n->name, graph_node_op_name(n), k, v->name);
  return false;
}

static bool check_inputs(ir_graph *g, ir_node *n)
{
  for (int k = 0; k < n->n_in; k++) {
    if (n->in[k] < 0)
      continue;
    if (g->values[n->in[k]].rank < 0) {
      aotc_error(g->ctx, n->loc, "node '%s' (%s): input '%s' has no known shape", n->name, graph_node_op_name(n),
                 g->values[n->in[k]].name);
      return false;
    }
    if (graph_op_needs_const(n, k) && !require_const(g, n, k))
      return false;
  }
  return true;
}

static bool foldable(const ir_graph *g, const ir_node *n)
{
  if (!graph_op_lowerable(n->op))
    return false;
  for (int k = 0; k < n->n_in; k++)
    if (n->in[k] >= 0 && (!g->values[n->in[k]].data || ir_value_is_weight(g, n->in[k])))
      return false;
  for (int k = 0; k < n->n_out; k++) {
    const ir_value *v = n->out[k] >= 0 ? &g->values[n->out[k]] : NULL;
    if (v && (v->data || ir_value_numel(v) < 0 || ir_value_numel(v) > FOLD_MAX_ELEMENTS))
      return false;
  }
  return true;
}

/* Runs one node on constant inputs through the reference interpreter. */
static bool fold_node(ir_graph *g, ir_node *n)
{
  ir_lower *L = ir_lower_new(g, "fold");
  void *args[IR_MAX_RANK * 4];
  int n_args = 0;
  if (!L || n->n_out > (int)(sizeof(args) / sizeof(args[0])))
    return false;
  for (int k = 0; k < n->n_out; k++)
    if (n->out[k] >= 0 && ir_lower_tensor(L, n->out[k], IR_OUTPUT) >= 0)
      args[n_args++] = ir_alloc(g->ctx, ir_value_bytes(&g->values[n->out[k]]) + 1);
  if (!ir_lower_node(L, n))
    return false;
  ir_func *f = ir_lower_finish(L);
  if (!f || f->n_inputs != 0 || ir_interpret(g->ctx, f, NULL, args))
    return false;
  for (int k = 0, a = 0; k < n->n_out; k++)
    if (n->out[k] >= 0)
      g->values[n->out[k]].data = args[a++];
  return true;
}

/* Per node, whether a shape depends on its outputs' values: they reach,
 * through any chain of nodes, an input that must be constant (Reshape's
 * shape, Slice's starts, ...). Nodes are in topological order. */
static bool *shape_nodes(ir_graph *g)
{
  bool *needed = IR_NEW_ARRAY(g->ctx, bool, g->n_values), *shape = IR_NEW_ARRAY(g->ctx, bool, g->n_nodes);
  if (!needed || !shape)
    return NULL;
  for (int k = g->n_nodes - 1; k >= 0; k--) {
    const ir_node *n = &g->nodes[k];
    for (int j = 0; j < n->n_out; j++)
      shape[k] |= n->out[j] >= 0 && needed[n->out[j]];
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] >= 0 && (shape[k] || graph_op_needs_const(n, j)))
        needed[n->in[j]] = true;
  }
  return shape;
}

/* Every graph output got a type and shape from the node producing it (a
 * node may name more outputs than its operator has). */
static bool outputs_inferred(ir_graph *g)
{
  for (int k = 0; k < g->n_outputs; k++) {
    const ir_value *v = &g->values[g->outputs[k]];
    const ir_node *p = v->producer >= 0 ? &g->nodes[v->producer] : NULL;
    if (v->rank >= 0)
      continue;
    aotc_error(g->ctx, g->loc, "graph output '%s' is not computed%s%s%s", v->name, p ? " by node '" : "",
               p ? p->name : "", p ? "': its operator has fewer outputs" : "");
    return false;
  }
  return true;
}

bool ir_graph_infer(ir_graph *g)
{
  bool *shape = shape_nodes(g);
  if (!shape)
    return false;
  for (int k = 0; k < g->n_nodes; k++) {
    ir_node *n = &g->nodes[k];
    if (!check_inputs(g, n) || !graph_op_infer(g, n))
      return false;
    if (shape[k] && foldable(g, n) && !fold_node(g, n))
      return false;
  }
  return !g->ctx->n_errors && outputs_inferred(g);
}

bool ir_graph_fold(ir_graph *g)
{
  for (int k = 0; k < g->n_nodes; k++)
    if (foldable(g, &g->nodes[k]) && !fold_node(g, &g->nodes[k]))
      return false;
  return !g->ctx->n_errors;
}

/* ------------------------------------------------------------------------
 * Batch normalisation folded into the convolution before it:
 * W'[m] = W[m] * s[m], b'[m] = (b[m] - mean[m]) * s[m] + B[m] with
 * s = scale / sqrt(var + epsilon)
 * ------------------------------------------------------------------------ */

/* Uses of value v by live nodes and as a graph output. */
static int uses(const ir_graph *g, int v)
{
  int n = 0;
  for (int k = 0; k < g->n_nodes; k++)
    for (int j = 0; !g->nodes[k].dead && j < g->nodes[k].n_in; j++)
      n += g->nodes[k].in[j] == v;
  for (int k = 0; k < g->n_outputs; k++)
    n += g->outputs[k] == v;
  return n;
}

static bool is_const_f32(const ir_graph *g, int v, int64_t numel)
{
  return v >= 0 && g->values[v].data && g->values[v].type == IR_F32 && ir_value_numel(&g->values[v]) == numel;
}

/* The convolution whose output batch normalisation node n reads, when it
 * can take n in; NULL otherwise. */
static ir_node *foldable_conv(const ir_graph *g, const ir_node *n)
{
  if (n->dead || n->op != GRAPH_OP_BATCHNORM || n->n_in != 5)
    return NULL;
  for (int k = 1; k < n->n_out; k++)
    if (n->out[k] >= 0)
      return NULL;
  int x = n->in[0];
  const ir_value *xv = &g->values[x];
  if (xv->producer < 0 || xv->data || xv->rank < 2 || uses(g, x) != 1)
    return NULL;
  ir_node *c = &g->nodes[xv->producer];
  int64_t m = xv->shape[1];
  if (c->dead || c->op != GRAPH_OP_CONV || c->out[0] != x || c->n_in < 2 || xv->type != IR_F32)
    return NULL;
  if (!g->values[c->in[1]].data || g->values[c->in[1]].type != IR_F32 || g->values[c->in[1]].shape[0] != m)
    return NULL;
  if (c->n_in > 2 && c->in[2] >= 0 && !is_const_f32(g, c->in[2], m))
    return NULL;
  for (int k = 1; k < 5; k++)
    if (!is_const_f32(g, n->in[k], m))
      return NULL;
  return c;
}

/* A new constant value like `like` (type, shape) holding data. */
static int new_constant(ir_graph *g, int like, const char *suffix, const void *data)
{
  const char *name = ir_sprintf(g->ctx, "%s_%s", g->values[like].name, suffix);
  int v = name ? ir_graph_add_value(g, name) : -1;
  if (v < 0)
    return -1;
  ir_value *val = &g->values[v], *src = &g->values[like];
  val->type = src->type;
  val->rank = src->rank;
  memcpy(val->shape, src->shape, sizeof(val->shape));
  val->data = data;
  val->loc = src->loc;
  return v;
}

static bool fold_batchnorm(ir_graph *g, ir_node *n, ir_node *c)
{
  int64_t m = g->values[n->in[0]].shape[1], per = ir_value_numel(&g->values[c->in[1]]) / m;
  const float *w = g->values[c->in[1]].data, *scale = g->values[n->in[1]].data, *beta = g->values[n->in[2]].data;
  const float *mean = g->values[n->in[3]].data, *var = g->values[n->in[4]].data;
  const float *bias = c->n_in > 2 && c->in[2] >= 0 ? g->values[c->in[2]].data : NULL;
  double eps = n->p.norm.epsilon;
  float *w2 = IR_NEW_ARRAY(g->ctx, float, m *per), *b2 = IR_NEW_ARRAY(g->ctx, float, m);
  int *in = IR_NEW_ARRAY(g->ctx, int, 3);
  if (!w2 || !b2 || !in)
    return false;
  for (int64_t o = 0; o < m; o++) {
    double sc = scale[o] / sqrt((double)var[o] + eps);
    for (int64_t j = 0; j < per; j++)
      w2[o * per + j] = (float)(w[o * per + j] * sc);
    b2[o] = (float)(((bias ? bias[o] : 0.0) - mean[o]) * sc + beta[o]);
  }
  in[0] = c->in[0];
  in[1] = new_constant(g, c->in[1], "bn", w2);
  in[2] = new_constant(g, n->in[1], "conv_bias", b2);
  if (in[1] < 0 || in[2] < 0)
    return false;
  c = &g->nodes[g->values[n->in[0]].producer];
  c->in = in;
  c->n_in = 3;
  c->out[0] = n->out[0];
  g->values[n->out[0]].producer = (int)(c - g->nodes);
  n->n_in = n->n_out = 0;
  n->dead = true;
  return true;
}

/* A batch normalisation with constant statistics that no convolution
 * takes (DenseNet's, after a concatenation) as a per-channel scale and
 * shift: one multiply-add per element instead of a subtraction, a square
 * root and a division. */
static bool to_scale_shift(ir_graph *g, ir_node *n)
{
  if (n->dead || n->op != GRAPH_OP_BATCHNORM || n->n_in != 5 || n->p.norm.scale_shift)
    return true;
  const ir_value *xv = &g->values[n->in[0]];
  int64_t m = xv->rank >= 2 ? xv->shape[1] : -1;
  if (xv->type != IR_F32 || m < 0)
    return true;
  for (int k = 1; k < 5; k++)
    if (!is_const_f32(g, n->in[k], m))
      return true;
  const float *w = g->values[n->in[1]].data, *b = g->values[n->in[2]].data;
  const float *mean = g->values[n->in[3]].data, *var = g->values[n->in[4]].data;
  float *scale = IR_NEW_ARRAY(g->ctx, float, m ? m : 1), *shift = IR_NEW_ARRAY(g->ctx, float, m ? m : 1);
  if (!scale || !shift)
    return false;
  for (int64_t c = 0; c < m; c++) {
    double sc = w[c] / sqrt((double)var[c] + n->p.norm.epsilon);
    scale[c] = (float)sc;
    shift[c] = (float)(b[c] - mean[c] * sc);
  }
  int s = new_constant(g, n->in[1], "bn_scale", scale), t = new_constant(g, n->in[2], "bn_shift", shift);
  if (s < 0 || t < 0)
    return false;
  n->in[1] = s;
  n->in[2] = t;
  n->p.norm.scale_shift = true;
  return true;
}

bool ir_graph_fold_batchnorm(ir_graph *g)
{
  if (g->weights_as_params)
    return true;
  for (int k = 0; k < g->n_nodes; k++) {
    ir_node *n = &g->nodes[k], *c = foldable_conv(g, n);
    if (c && !fold_batchnorm(g, n, c))
      return false;
  }
  for (int k = 0; k < g->n_nodes; k++)
    if (!to_scale_shift(g, &g->nodes[k]))
      return false;
  return true;
}

/* ------------------------------------------------------------------------
 * Dead-node elimination
 * ------------------------------------------------------------------------ */

static bool node_needed(const ir_graph *g, const ir_node *n, const bool *needed)
{
  for (int k = 0; k < n->n_out; k++)
    if (n->out[k] >= 0 && needed[n->out[k]] && !g->values[n->out[k]].data)
      return true;
  return false;
}

void ir_graph_dce(ir_graph *g)
{
  bool *needed = IR_NEW_ARRAY(g->ctx, bool, g->n_values);
  if (!needed)
    return;
  for (int k = 0; k < g->n_outputs; k++)
    needed[g->outputs[k]] = true;
  for (int k = g->n_nodes - 1; k >= 0; k--) {
    ir_node *n = &g->nodes[k];
    n->dead = !node_needed(g, n, needed);
    for (int j = 0; !n->dead && j < n->n_in; j++)
      if (n->in[j] >= 0)
        needed[n->in[j]] = true;
  }
}

/* ------------------------------------------------------------------------
 * Lowering the whole graph
 * ------------------------------------------------------------------------ */

static bool produced_live(const ir_graph *g, int v)
{
  const ir_value *val = &g->values[v];
  return val->producer >= 0 && !g->nodes[val->producer].dead && !val->data;
}

static int *output_tensors(ir_graph *g, ir_lower *L, bool *deferred)
{
  int *out = IR_NEW_ARRAY(g->ctx, int, g->n_outputs);
  if (!out)
    return NULL;
  for (int k = 0; k < g->n_outputs; k++) {
    int v = g->outputs[k];
    bool dup = false;
    for (int j = 0; j < k; j++)
      dup |= g->outputs[j] == v;
    deferred[k] = dup || !produced_live(g, v);
    out[k] = deferred[k] ? -1 : ir_lower_tensor(L, v, IR_OUTPUT);
  }
  return out;
}

/* The node each statement came from (a number per node and per deferred
 * output copy), from the statement count after each of them. */
static int *stmt_origins(aotc_ctx *ctx, const int *ends, int n_units, int n_stmts)
{
  int *origin = IR_NEW_ARRAY(ctx, int, n_stmts);
  for (int u = 0, i = 0; origin && u < n_units; u++)
    for (; i < ends[u]; i++)
      origin[i] = u;
  return origin;
}

ir_func *ir_graph_lower(ir_graph *g, const char *func_name)
{
  ir_lower *L = ir_lower_new(g, func_name);
  bool *deferred = IR_NEW_ARRAY(g->ctx, bool, g->n_outputs);
  int *ends = IR_NEW_ARRAY(g->ctx, int, g->n_nodes + g->n_outputs);
  if (!L || !deferred || !ends)
    return NULL;
  for (int k = 0; k < g->n_inputs; k++)
    if (g->values[g->inputs[k]].is_input)
      ir_lower_tensor(L, g->inputs[k], IR_INPUT);
  int *out = output_tensors(g, L, deferred);
  bool ok = out != NULL;
  for (int k = 0; ok && k < g->n_nodes; k++) {
    ok = g->nodes[k].dead || ir_lower_node(L, &g->nodes[k]);
    ends[k] = L->stmts.n;
  }
  for (int k = 0; ok && k < g->n_outputs; k++) {
    if (deferred[k])
      out[k] = ir_lower_copy_output(L, g->outputs[k]);
    ends[g->n_nodes + k] = L->stmts.n;
  }
  ir_func *f = ok ? ir_lower_finish(L) : NULL;
  if (f) {
    f->outputs = out;
    f->n_outputs = g->n_outputs;
    f->stmt_origin = stmt_origins(g->ctx, ends, g->n_nodes + g->n_outputs, f->n_stmts);
  }
  return f && f->stmt_origin ? f : NULL;
}
