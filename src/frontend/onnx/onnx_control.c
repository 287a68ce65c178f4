/* onnx_control.c: ONNX's control flow (If, Loop, Scan) read into the
 * graph's if and loop ops (graph.h, graph_control_params). A subgraph
 * attribute becomes a subgraph whose inputs are its formal inputs, then
 * the values it reads from the graphs around it by name (captured in the
 * order it meets them). Scan (default axes and directions; before opset
 * 9 a batch of one) becomes a loop over its scan inputs' first dimension:
 * the body gathers element i of each scan input. */
#include "onnx_attr.h"

#include <string.h>

#define ONNX_MAX_NESTING 64 /* subgraphs inside subgraphs */

typedef struct onnx_scope {
  onnx_reader *outer; /* the reader of the graph around the subgraph */
  int n_caps, cap;
  int *outer_v;       /* per captured value: its number in outer's graph */
} onnx_scope;

static const char *safe_name(const char *s)
{
  return s ? s : "";
}

bool onnx_is_control(const char *type)
{
  return !strcmp(type, "If") || !strcmp(type, "Loop") || !strcmp(type, "Scan");
}

/* A new input of r's graph standing for value o of the graph around it. */
static int capture(onnx_reader *r, const char *name, int o)
{
  onnx_scope *sc = r->scope;
  if (sc->n_caps == sc->cap) {
    int *grown = IR_NEW_ARRAY(r->ctx, int, sc->cap ? 2 * sc->cap : 8);
    if (!grown)
      return -1;
    if (sc->n_caps)
      memcpy(grown, sc->outer_v, sizeof(int) * (size_t)sc->n_caps);
    sc->outer_v = grown;
    sc->cap = sc->cap ? 2 * sc->cap : 8;
  }
  int v = graph_input(r->g, name, sc->outer->g->values[o].type, 0, NULL);
  if (v < 0)
    return -1;
  r->g->values[v].rank = -1;
  sc->outer_v[sc->n_caps++] = o;
  return v;
}

int onnx_find_value(onnx_reader *r, const char *name)
{
  int v = ir_graph_find_value(r->g, name);
  if (v >= 0 || !r->scope)
    return v;
  int o = onnx_find_value(r->scope->outer, name);
  return o < 0 ? -1 : capture(r, name, o);
}

/* ------------------------------------------------------------------------
 * Subgraphs
 * ------------------------------------------------------------------------ */

/* A formal input of a subgraph: a tensor (its shape comes from what feeds
 * it). */
static int formal_input(onnx_reader *r, const Onnx__ValueInfoProto *vi)
{
  const char *name = safe_name(vi ? vi->name : NULL);
  const Onnx__TypeProto *tp = vi ? vi->type : NULL;
  ir_type t = IR_F32;
  if (tp && (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)) {
    aotc_error(r->ctx, r->loc, "subgraph input '%s': inputs other than tensors (sequences, optionals) are not supported",
               name);
    return -1;
  }
  if (tp && tp->tensor_type->has_elem_type && !onnx_ir_type(tp->tensor_type->elem_type, &t)) {
    aotc_error(r->ctx, r->loc, "subgraph input '%s': element type %s is not supported", name,
               onnx_type_name(tp->tensor_type->elem_type));
    return -1;
  }
  int v = graph_input(r->g, name, t, 0, NULL);
  if (v >= 0)
    r->g->values[v].rank = -1;
  return v;
}

/* Per scan input j, element i of the whole input (a new body input after
 * the states) under the formal input's name. */
static bool scan_slices(onnx_reader *r, const Onnx__GraphProto *gp, int n_states, int iter)
{
  int n_scan = (int)gp->n_input - n_states, *full = IR_NEW_ARRAY(r->ctx, int, n_scan);
  for (int j = 0; full && j < n_scan; j++)
    if ((full[j] = graph_input(r->g, ir_sprintf(r->ctx, "scan_input_%d", j), IR_F32, 0, NULL)) < 0)
      return false;
    else
      r->g->values[full[j]].internal = true;
  for (int j = 0; full && j < n_scan; j++) {
    ir_node *n = ir_graph_add_node(r->g, GRAPH_OP_GATHER, ir_sprintf(r->ctx, "scan_element_%d", j), 2, 1);
    int v = n ? ir_graph_add_value(r->g, ir_strdup(r->ctx, safe_name(gp->input[n_states + j]->name))) : -1;
    if (v < 0)
      return false;
    n->in[0] = full[j];
    n->in[1] = iter;
    n->out[0] = v;
    r->g->values[v].producer = r->g->n_nodes - 1;
  }
  return full != NULL;
}

/* The formal inputs: all of them, or for a scan the iteration number and
 * condition, the states and the scan inputs' elements. */
static bool formal_inputs(onnx_reader *r, const Onnx__GraphProto *gp, int scan_states)
{
  int iter = -1;
  if (scan_states >= 0) {
    iter = graph_input(r->g, "scan_iteration", IR_I64, 0, NULL);
    int cond = graph_input(r->g, "scan_condition", IR_BOOL, 0, NULL);
    if (iter < 0 || cond < 0)
      return false;
    r->g->values[iter].internal = r->g->values[cond].internal = true;
  }
  int n = scan_states >= 0 ? scan_states : (int)gp->n_input;
  for (int k = 0; k < n; k++)
    if (!gp->input[k] || formal_input(r, gp->input[k]) < 0)
      return false;
  return scan_states < 0 || scan_slices(r, gp, scan_states, iter);
}

static bool body_outputs(onnx_reader *r, const Onnx__GraphProto *gp, bool scan)
{
  if (scan && !graph_output(r->g, r->g->inputs[1]))
    return false;
  for (size_t k = 0; k < gp->n_output; k++) {
    const char *name = safe_name(gp->output[k] ? gp->output[k]->name : NULL);
    int v = onnx_find_value(r, name);
    if (v < 0) {
      aotc_error(r->ctx, r->loc, "subgraph output '%s' is not defined", name);
      return false;
    }
    if (!graph_output(r->g, v))
      return false;
  }
  return true;
}

/* Reads subgraph gp of a node of r's graph (scan_states >= 0: a Scan's
 * body with that many states); its captured values land in sc. */
static ir_graph *read_body(onnx_reader *r, const Onnx__GraphProto *gp, onnx_scope *sc, int scan_states)
{
  int depth = 0;
  for (const onnx_reader *o = r; o->scope; o = o->scope->outer)
    depth++;
  if (depth >= ONNX_MAX_NESTING) {
    aotc_error(r->ctx, r->loc, "subgraphs nested more than %d deep are not supported", ONNX_MAX_NESTING);
    return NULL;
  }
  onnx_reader sub = *r;
  sub.g = ir_graph_new(r->ctx, r->loc);
  sub.scope = sc;
  sub.given = NULL;
  sub.n_given = 0;
  sub.weights_as_params = false;
  sc->outer = r;
  if (!sub.g || gp->n_node > 200000 || gp->n_sparse_initializer)
    return NULL;
  bool ok = true;
  for (size_t k = 0; ok && k < gp->n_initializer; k++)
    ok = gp->initializer[k] && onnx_add_constant(&sub, safe_name(gp->initializer[k]->name), gp->initializer[k]) >= 0;
  ok = ok && formal_inputs(&sub, gp, scan_states);
  for (size_t k = 0; ok && k < gp->n_node; k++)
    ok = gp->node[k] && onnx_read_node(&sub, gp->node[k]);
  return ok && body_outputs(&sub, gp, scan_states >= 0) ? sub.g : NULL;
}

/* ------------------------------------------------------------------------
 * The nodes
 * ------------------------------------------------------------------------ */

/* The node's inputs: fixed ones, then each scope's captured values. */
static int *node_inputs(onnx_reader *r, const int *fixed, int n_fixed, onnx_scope *const *sc, int n_sc, int *n_in)
{
  *n_in = n_fixed;
  for (int k = 0; k < n_sc; k++)
    *n_in += sc[k]->n_caps;
  int *in = IR_NEW_ARRAY(r->ctx, int, *n_in), at = n_fixed;
  if (!in)
    return NULL;
  memcpy(in, fixed, sizeof(int) * (size_t)n_fixed);
  for (int k = 0; k < n_sc; at += sc[k++]->n_caps)
    if (sc[k]->n_caps)
      memcpy(in + at, sc[k]->outer_v, sizeof(int) * (size_t)sc[k]->n_caps);
  return in;
}

/* The value an input names (-1 for ""); false when it names none. */
static bool input_value(onnx_reader *r, const Onnx__NodeProto *np, size_t k, const char *node, int *v)
{
  const char *name = k < np->n_input ? safe_name(np->input[k]) : "";
  *v = *name ? onnx_find_value(r, name) : -1;
  if (*name && *v < 0)
    aotc_error(r->ctx, r->loc, "node '%s' (%s) reads '%s', which no earlier node, input or initializer defines", node,
               safe_name(np->op_type), name);
  return !*name || *v >= 0;
}

static const char **output_names(onnx_reader *r, const Onnx__NodeProto *np, const char *node)
{
  const char **names = IR_NEW_ARRAY(r->ctx, const char *, np->n_output);
  for (size_t k = 0; names && k < np->n_output; k++) {
    const char *name = safe_name(np->output[k]);
    names[k] = *name ? ir_strdup(r->ctx, name) : ir_sprintf(r->ctx, "%s_unused_%zu", node, k);
    if (*name && ir_graph_find_value(r->g, name) >= 0) {
      aotc_error(r->ctx, r->loc, "node '%s' (%s): output '%s' is already defined", node, safe_name(np->op_type), name);
      return NULL;
    }
  }
  return names;
}

/* The node, its outputs named by np's (internal: named after the node,
 * returned in outs for the caller to finish). */
static bool add_node(onnx_reader *r, const Onnx__NodeProto *np, const char *name, graph_op op, const int *in, int n_in,
                     const graph_control_params *p, int *internal)
{
  const char **names = output_names(r, np, name);
  for (size_t j = 0; internal && names && j < np->n_output; j++)
    names[j] = ir_sprintf(r->ctx, "%s_batch_%zu", name, j);
  int k = names ? graph_control_node(r->g, op, in, n_in, (int)np->n_output, p, names, internal) : -1;
  if (k < 0)
    return false;
  ir_node *n = &r->g->nodes[k];
  n->name = name;
  n->source_op = ir_strdup(r->ctx, safe_name(np->op_type));
  n->loc = r->loc;
  for (int j = 0; j < n->n_out; j++)
    r->g->values[n->out[j]].internal = internal || !*safe_name(np->output[j]);
  return true;
}

static bool read_if(onnx_decoder *d, const char *name)
{
  onnx_reader *r = d->r;
  onnx_scope st = {0}, se = {0}, *sc[2] = {&st, &se};
  const Onnx__GraphProto *tg = onnx_attr_graph(d, "then_branch"), *eg = onnx_attr_graph(d, "else_branch");
  int cond, n_in;
  if (d->np->n_input != 1) {
    aotc_error(r->ctx, r->loc, "node '%s' (If): one input (the condition) expected", name);
    return false;
  }
  if (!tg || !eg || !input_value(r, d->np, 0, name, &cond))
    return false;
  graph_control_params p = {.body = {read_body(r, tg, &st, -1), read_body(r, eg, &se, -1)}, .n_then = st.n_caps};
  int *in = p.body[0] && p.body[1] ? node_inputs(r, &cond, 1, sc, 2, &n_in) : NULL;
  return in && add_node(r, d->np, name, GRAPH_OP_IF, in, n_in, &p, NULL);
}

static bool read_loop(onnx_decoder *d, const char *name)
{
  onnx_reader *r = d->r;
  onnx_scope sb = {0}, *sc[1] = {&sb};
  const Onnx__GraphProto *bg = onnx_attr_graph(d, "body");
  int n_fixed = (int)d->np->n_input, n_in;
  int *fixed = IR_NEW_ARRAY(r->ctx, int, n_fixed);
  if (n_fixed < 2) {
    aotc_error(r->ctx, r->loc, "node '%s' (Loop): a trip count and a condition (either may be empty) expected", name);
    return false;
  }
  for (int k = 0; fixed && k < n_fixed; k++)
    if (!input_value(r, d->np, (size_t)k, name, &fixed[k]))
      return false;
  graph_control_params p = {.body = {bg && fixed ? read_body(r, bg, &sb, -1) : NULL}, .n_carried = n_fixed - 2};
  int *in = p.body[0] ? node_inputs(r, fixed, n_fixed, sc, 1, &n_in) : NULL;
  return in && add_node(r, d->np, name, GRAPH_OP_LOOP, in, n_in, &p, NULL);
}

/* Scan's axes and directions other than the defaults are refused. */
static bool scan_defaults(onnx_decoder *d)
{
  static const char *const lists[] = {"scan_input_axes", "scan_input_directions", "scan_output_axes",
                                      "scan_output_directions"};
  for (int k = 0; k < 4; k++) {
    int64_t v[64];
    int n;
    if (!onnx_attr_ints(d, lists[k], 64, v, &n))
      return false;
    for (int j = 0; j < n; j++)
      if (v[j] != 0)
        return onnx_attr_fail(d, lists[k], "other than 0 is not supported");
  }
  return true;
}

/* The trip count of a scan: the first dimension of its first scan input. */
static int scan_length(onnx_reader *r, int x)
{
  graph_params p = {.shape = {.start = 0, .end = 1}};
  int v = graph_node(r->g, GRAPH_OP_SHAPE, &x, 1, &p);
  if (v >= 0)
    r->g->values[v].internal = true;
  return v;
}

/* Scan before opset 9 has a batch dimension first: a batch of one is
 * squeezed away before the loop (unsqueeze: put back after it, naming the
 * value). */
static int batch_axis(onnx_reader *r, graph_op op, int v, const char *value_name)
{
  int64_t zero = 0, one = 1;
  int axes = graph_constant(r->g, "batch_axis", IR_I64, 1, &one, &zero);
  ir_node *n = axes >= 0 ? ir_graph_add_node(r->g, op, ir_sprintf(r->ctx, "%s_batch", value_name), 2, 1) : NULL;
  int out = n ? ir_graph_add_value(r->g, ir_strdup(r->ctx, value_name)) : -1;
  if (out < 0)
    return -1;
  r->g->values[axes].internal = true;
  r->g->values[out].internal = op == GRAPH_OP_SQUEEZE;
  r->g->values[out].producer = r->g->n_nodes - 1;
  n->in[0] = v;
  n->in[1] = axes;
  n->out[0] = out;
  return out;
}

/* The scan's inputs after the trip count and condition; Scan-8's
 * sequence lengths (input 0) must be left out. */
static int *scan_inputs(onnx_decoder *d, const char *name, int first)
{
  onnx_reader *r = d->r;
  int *fixed = IR_NEW_ARRAY(r->ctx, int, d->np->n_input + 2);
  if (!fixed)
    return NULL;
  if (first && *safe_name(d->np->input[0])) {
    aotc_error(r->ctx, r->loc, "node '%s' (Scan): sequence_lens is not supported", name);
    return NULL;
  }
  fixed[1] = -1;
  for (size_t k = (size_t)first; k < d->np->n_input; k++) {
    int *v = &fixed[2 + k - (size_t)first];
    if (!input_value(r, d->np, k, name, v) || *v < 0)
      return NULL;
    if (first && (*v = batch_axis(r, GRAPH_OP_SQUEEZE, *v, ir_sprintf(r->ctx, "%s_in_%zu", name, k))) < 0)
      return NULL;
  }
  return fixed;
}

static bool unbatch_outputs(onnx_decoder *d, const int *outs)
{
  for (size_t k = 0; k < d->np->n_output; k++)
    if (*safe_name(d->np->output[k]) && batch_axis(d->r, GRAPH_OP_UNSQUEEZE, outs[k], d->np->output[k]) < 0)
      return false;
  return true;
}

static bool read_scan(onnx_decoder *d, const char *name)
{
  onnx_reader *r = d->r;
  onnx_scope sb = {0}, *sc[1] = {&sb};
  const Onnx__GraphProto *bg = onnx_attr_graph(d, "body");
  int64_t n_scan;
  int first = d->opset < 9, n_states = (int)d->np->n_input - first, n_in;
  if (!bg || !onnx_attr_int(d, "num_scan_inputs", -1, &n_scan) || !scan_defaults(d))
    return false;
  if (n_scan < 1 || n_scan > n_states)
    return onnx_attr_fail(d, "num_scan_inputs", "must be between 1 and the inputs");
  n_states -= (int)n_scan;
  if (bg->n_input != d->np->n_input - (size_t)first) {
    aotc_error(r->ctx, r->loc, "node '%s' (Scan): the body must have one input per input of the node", name);
    return false;
  }
  int *fixed = scan_inputs(d, name, first), *outs = IR_NEW_ARRAY(r->ctx, int, d->np->n_output);
  if (!fixed || !outs || (fixed[0] = scan_length(r, fixed[2 + n_states])) < 0)
    return false;
  graph_control_params p = {.body = {read_body(r, bg, &sb, n_states)}, .n_carried = n_states};
  int *in = p.body[0] ? node_inputs(r, fixed, (int)bg->n_input + 2, sc, 1, &n_in) : NULL;
  return in && add_node(r, d->np, name, GRAPH_OP_LOOP, in, n_in, &p, first ? outs : NULL) &&
         (!first || unbatch_outputs(d, outs));
}

bool onnx_read_control(onnx_reader *r, const Onnx__NodeProto *np, const char *name, const char *type)
{
  ir_node shell = {.name = name, .source_op = type, .loc = r->loc};
  onnx_decoder d = {.r = r, .np = np, .n = &shell, .opset = r->opset};
  if (!strcmp(type, "If"))
    return read_if(&d, name);
  if (!strcmp(type, "Loop"))
    return read_loop(&d, name);
  return read_scan(&d, name);
}
