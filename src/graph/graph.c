/* graph.c: the model graph: building it, shape inference with constant
 * folding (a node whose inputs are all constant is run through the reference
 * interpreter), dead-node elimination and lowering to one ir_func. */
#include "graph.h"
#include "ops_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Nodes with larger outputs stay nodes: folding is for shape computations
 * and small constants, not for running whole layers at compile time. */
#define FOLD_MAX_ELEMENTS (1 << 16)

#define IR_NODE_NAME(id, name) [IR_NODE_##id] = name,
const char *const ir_node_op_names[IR_NODE_COUNT] = {IR_NODE_OPS(IR_NODE_NAME)};
#undef IR_NODE_NAME
_Static_assert(sizeof(ir_node_op_names) / sizeof(ir_node_op_names[0]) == IR_NODE_COUNT, "op name table");

bool ir_node_op_from_name(const char *name, ir_node_op *out)
{
  for (int k = 0; k < IR_NODE_COUNT; k++)
    if (!strcmp(ir_node_op_names[k], name)) {
      *out = (ir_node_op)k;
      return true;
    }
  return false;
}

/* ------------------------------------------------------------------------
 * Building
 * ------------------------------------------------------------------------ */

ir_graph *ir_graph_new(aotc_ctx *ctx, ir_loc loc)
{
  ir_graph *g = IR_NEW(ctx, ir_graph);
  if (g) {
    g->ctx = ctx;
    g->loc = loc;
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

static size_t name_hash(const char *s)
{
  size_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* The slot of by_name for name: its value, or an empty slot (-1). */
static int *name_slot(const ir_graph *g, const char *name)
{
  size_t i = name_hash(name) & (size_t)(g->cap_by_name - 1);
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
  return g->cap_by_name ? *name_slot(g, name) : -1;
}

ir_node *ir_graph_add_node(ir_graph *g, ir_node_op op, const char *name, int n_in, int n_out)
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

const ir_attr *ir_node_attr(const ir_node *n, const char *name)
{
  for (int k = 0; k < n->n_attrs; k++)
    if (!strcmp(n->attrs[k].name, name))
      return &n->attrs[k];
  return NULL;
}

int64_t ir_attr_int(const ir_node *n, const char *name, int64_t dflt)
{
  const ir_attr *a = ir_node_attr(n, name);
  return a && a->kind == IR_ATTR_INT ? a->i : dflt;
}

double ir_attr_float(const ir_node *n, const char *name, double dflt)
{
  const ir_attr *a = ir_node_attr(n, name);
  if (a && a->kind == IR_ATTR_FLOAT)
    return a->f;
  return a && a->kind == IR_ATTR_INT ? (double)a->i : dflt;
}

const char *ir_attr_string(const ir_node *n, const char *name, const char *dflt)
{
  const ir_attr *a = ir_node_attr(n, name);
  return a && a->kind == IR_ATTR_STRING ? a->s : dflt;
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
             n->name, ir_node_op_names[n->op], k, v->name);
  return false;
}

static bool check_inputs(ir_graph *g, ir_node *n)
{
  for (int k = 0; k < n->n_in; k++) {
    if (n->in[k] < 0)
      continue;
    if (g->values[n->in[k]].rank < 0) {
      aotc_error(g->ctx, n->loc, "node '%s' (%s): input '%s' has no known shape", n->name,
                 ir_node_op_names[n->op], g->values[n->in[k]].name);
      return false;
    }
    if (ir_op_needs_const(n, k) && !require_const(g, n, k))
      return false;
  }
  return true;
}

static bool foldable(const ir_graph *g, const ir_node *n)
{
  if (!ir_op_lowerable(n->op))
    return false;
  for (int k = 0; k < n->n_in; k++)
    if (n->in[k] >= 0 && !g->values[n->in[k]].data)
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

bool ir_graph_infer(ir_graph *g)
{
  for (int k = 0; k < g->n_nodes; k++) {
    ir_node *n = &g->nodes[k];
    if (!check_inputs(g, n) || !ir_op_infer(g, n))
      return false;
    if (foldable(g, n) && !fold_node(g, n))
      return false;
  }
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
  if (n->dead || n->op != IR_NODE_BATCHNORM || n->n_in != 5 || ir_attr_int(n, "training_mode", 0) ||
      ir_attr_int(n, "spatial", 1) != 1)
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
  if (c->dead || c->op != IR_NODE_CONV || c->out[0] != x || c->n_in < 2 || xv->type != IR_F32)
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
  double eps = ir_attr_float(n, "epsilon", 1e-5);
  float *w2 = IR_NEW_ARRAY(g->ctx, float, m * per), *b2 = IR_NEW_ARRAY(g->ctx, float, m);
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

bool ir_graph_fold_batchnorm(ir_graph *g)
{
  for (int k = 0; k < g->n_nodes; k++) {
    ir_node *n = &g->nodes[k], *c = foldable_conv(g, n);
    if (c && !fold_batchnorm(g, n, c))
      return false;
  }
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
 * output copy), filled as the statements are appended. */
static void mark_stmts(ir_lower *L, int **stmt_node, int *n_marked, int node)
{
  int n = L->stmts.n;
  if (n <= *n_marked)
    return;
  int *grown = realloc(*stmt_node, sizeof(int) * (size_t)n);
  if (!grown) {
    L->ctx->oom = true;
    return;
  }
  for (int i = *n_marked; i < n; i++)
    grown[i] = node;
  *stmt_node = grown;
  *n_marked = n;
}

/* Kernels and the memory plan of the lowered function. */
static bool plan(aotc_ctx *ctx, ir_func *f, const int *stmt_node)
{
  return ir_partition(ctx, f, stmt_node) && ir_memplan(ctx, f, &f->workspace_lower_bound);
}

ir_func *ir_graph_lower(ir_graph *g, const char *func_name)
{
  ir_lower *L = ir_lower_new(g, func_name);
  bool *deferred = IR_NEW_ARRAY(g->ctx, bool, g->n_outputs);
  if (!L || !deferred)
    return NULL;
  for (int k = 0; k < g->n_inputs; k++)
    if (g->values[g->inputs[k]].is_input)
      ir_lower_tensor(L, g->inputs[k], IR_INPUT);
  int *out = output_tensors(g, L, deferred);
  int *stmt_node = NULL, n_marked = 0;
  bool ok = out != NULL;
  for (int k = 0; ok && k < g->n_nodes; k++) {
    ok = g->nodes[k].dead || ir_lower_node(L, &g->nodes[k]);
    mark_stmts(L, &stmt_node, &n_marked, k);
  }
  for (int k = 0; ok && k < g->n_outputs; k++)
    if (deferred[k]) {
      out[k] = ir_lower_copy_output(L, g->outputs[k]);
      mark_stmts(L, &stmt_node, &n_marked, g->n_nodes + k);
    }
  ir_func *f = ok ? ir_lower_finish(L) : NULL;
  if (f) {
    f->outputs = out;
    f->n_outputs = g->n_outputs;
  }
  if (f && !plan(g->ctx, f, stmt_node))
    f = NULL;
  free(stmt_node);
  return f;
}
