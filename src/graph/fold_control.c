/* fold_control.c: the fold-control pass. An if whose condition shape
 * inference or constant folding made known becomes the nodes of its taken
 * branch, spliced into the graph where the if was; a loop that never runs
 * (trip count 0 or condition false, known; no scan outputs) becomes
 * identities of its initial values. The passes after it (folding, dead
 * nodes, lowering) see plain nodes. Subgraphs are folded first. */
#include "ops_internal.h"

#include <string.h>

typedef struct splice {
  ir_graph *g;
  ir_node *nodes; /* the new node list */
  int n, cap;
} splice;

static ir_node *push_node(splice *s, const ir_node *n, int n_in, int n_out)
{
  if (s->n == s->cap) {
    int cap = s->cap ? 2 * s->cap : 64;
    ir_node *grown = IR_NEW_ARRAY(s->g->ctx, ir_node, cap);
    if (!grown)
      return NULL;
    if (s->n)
      memcpy(grown, s->nodes, sizeof(ir_node) * (size_t)s->n);
    s->nodes = grown;
    s->cap = cap;
  }
  ir_node *d = &s->nodes[s->n++];
  *d = *n;
  d->n_in = n_in;
  d->n_out = n_out;
  d->in = IR_NEW_ARRAY(s->g->ctx, int, n_in);
  d->out = IR_NEW_ARRAY(s->g->ctx, int, n_out);
  return d->in && d->out ? d : NULL;
}

static bool push_identity(splice *s, const ir_node *like, int from, int to)
{
  ir_node id = {.op = GRAPH_OP_IDENTITY, .name = like->name, .source_op = like->source_op, .loc = like->loc};
  ir_node *d = push_node(s, &id, 1, 1);
  if (!d)
    return false;
  d->in[0] = from;
  d->out[0] = to;
  return true;
}

/* The branch's value v in g: a new internal value like it. */
static int new_value(ir_graph *g, const ir_graph *body, int v)
{
  int nv = ir_graph_add_value(g, body->values[v].name);
  if (nv < 0)
    return -1;
  const ir_value *src = &body->values[v];
  ir_value *dst = &g->values[nv];
  dst->type = src->type;
  dst->rank = src->rank;
  memcpy(dst->shape, src->shape, sizeof(dst->shape));
  dst->data = src->data;
  dst->loc = src->loc;
  dst->internal = true;
  return nv;
}

/* Per value of the branch, its value in g: inputs the if's inputs, outputs
 * a node makes the if's outputs, the rest new values. */
static int *map_values(ir_graph *g, const ir_node *n, const ir_graph *body, int first)
{
  int *map = IR_NEW_ARRAY(g->ctx, int, body->n_values);
  for (int v = 0; map && v < body->n_values; v++)
    map[v] = -1;
  for (int k = 0; map && k < body->n_inputs; k++)
    map[body->inputs[k]] = n->in[first + k];
  for (int k = 0; map && k < body->n_outputs; k++) {
    int v = body->outputs[k];
    const ir_value *val = &body->values[v];
    if (map[v] < 0 && val->producer >= 0 && !body->nodes[val->producer].dead && !val->data)
      map[v] = n->out[k];
  }
  for (int v = 0; map && v < body->n_values; v++)
    if (map[v] < 0 && (map[v] = new_value(g, body, v)) < 0)
      return NULL;
  return map;
}

static bool inline_branch(splice *s, const ir_node *n, int b)
{
  ir_graph *body = n->p.control.body[b];
  int first = b ? 1 + n->p.control.n_then : 1;
  ir_graph_dce(body);
  int *map = map_values(s->g, n, body, first);
  for (int k = 0; map && k < body->n_nodes; k++) {
    const ir_node *bn = &body->nodes[k];
    ir_node *d = bn->dead ? NULL : push_node(s, bn, bn->n_in, bn->n_out);
    if (!bn->dead && !d)
      return false;
    for (int j = 0; d && j < bn->n_in; j++)
      d->in[j] = bn->in[j] >= 0 ? map[bn->in[j]] : -1;
    for (int j = 0; d && j < bn->n_out; j++)
      d->out[j] = bn->out[j] >= 0 ? map[bn->out[j]] : -1;
  }
  for (int k = 0; map && k < body->n_outputs; k++)
    if (map[body->outputs[k]] != n->out[k] && !push_identity(s, n, map[body->outputs[k]], n->out[k]))
      return false;
  return map != NULL;
}

/* The branch an if takes (0 then, 1 else), or -1 when not known. */
static int known_branch(const ir_graph *g, const ir_node *n)
{
  const ir_value *c = n->op == GRAPH_OP_IF && !n->dead ? &g->values[n->in[0]] : NULL;
  return c && c->data ? (graph_const_int(c, 0) ? 0 : 1) : -1;
}

/* A loop without scan outputs that never runs. */
static bool never_runs(const ir_graph *g, const ir_node *n)
{
  if (n->op != GRAPH_OP_LOOP || n->dead || n->n_out != n->p.control.n_carried)
    return false;
  const ir_value *trip = n->in[0] >= 0 ? &g->values[n->in[0]] : NULL;
  const ir_value *cond = n->in[1] >= 0 ? &g->values[n->in[1]] : NULL;
  return (trip && trip->data && graph_const_int(trip, 0) <= 0) || (cond && cond->data && !graph_const_int(cond, 0));
}

static bool fold_node(splice *s, const ir_node *n)
{
  int b = known_branch(s->g, n);
  if (b >= 0)
    return inline_branch(s, n, b);
  for (int k = 0; never_runs(s->g, n) && k < n->n_out; k++)
    if (!push_identity(s, n, n->in[2 + k], n->out[k]))
      return false;
  if (never_runs(s->g, n))
    return true;
  ir_node *d = push_node(s, n, n->n_in, n->n_out);
  if (d) {
    memcpy(d->in, n->in, sizeof(int) * (size_t)n->n_in);
    memcpy(d->out, n->out, sizeof(int) * (size_t)n->n_out);
  }
  return d != NULL;
}

static bool has_foldable(ir_graph *g)
{
  bool any = false;
  for (int k = 0; k < g->n_nodes; k++) {
    const ir_node *n = &g->nodes[k];
    for (int b = 0; b < 2 && (n->op == GRAPH_OP_IF || n->op == GRAPH_OP_LOOP); b++)
      if (n->p.control.body[b] && n->p.control.body[b]->n_values && !ir_graph_fold_control(n->p.control.body[b]))
        return false;
    any |= known_branch(g, n) >= 0 || never_runs(g, n);
  }
  return any;
}

/* The spliced list replaces the graph's; producers follow. */
static void install(splice *s)
{
  ir_graph *g = s->g;
  for (int v = 0; v < g->n_values; v++)
    if (g->values[v].producer >= 0)
      g->values[v].producer = -1;
  g->nodes = s->nodes;
  g->n_nodes = g->cap_nodes = s->n;
  if (s->cap > s->n)
    g->cap_nodes = s->cap;
  for (int k = 0; k < g->n_nodes; k++)
    for (int j = 0; j < g->nodes[k].n_out; j++)
      if (g->nodes[k].out[j] >= 0)
        g->values[g->nodes[k].out[j]].producer = k;
}

bool ir_graph_fold_control(ir_graph *g)
{
  if (!has_foldable(g))
    return !g->ctx->n_errors && !g->ctx->oom;
  splice s = {.g = g};
  int n_nodes = g->n_nodes;
  for (int k = 0; k < n_nodes; k++)
    if (!fold_node(&s, &g->nodes[k]))
      return false;
  install(&s);
  return ir_graph_fold(g);
}
