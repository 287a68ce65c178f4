/* ops_control.c: control flow in the model graph: the if and loop ops
 * (graph.h, graph_control_params), their builders, shape inference through
 * their subgraphs, and their lowering to regions of the IR (ir.h): a
 * branch becomes an IR_REGION_IF, a loop an IR_REGION_LOOP whose body's
 * statements copy the carried values and count the iterations. A condition
 * or trip count known at compile time is folded here: the taken branch is
 * lowered inline, a loop that never runs becomes copies. */
#include "ops_internal.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * Builders
 * ------------------------------------------------------------------------ */

/* memcpy of n ints, none when n is 0 (src may then be NULL). */
static void copy_ints(int *dst, const int *src, int n)
{
  if (n > 0)
    memcpy(dst, src, sizeof(int) * (size_t)n);
}

static bool valid_values(ir_graph *g, const int *in, int n, bool optional)
{
  for (int k = 0; k < n; k++)
    if (in[k] < (optional ? -1 : 0) || in[k] >= g->n_values)
      return false;
  return true;
}

int graph_control_node(ir_graph *g, graph_op op, const int *in, int n_in, int n_out, const graph_control_params *p,
                       const char *const *out_names, int *outs)
{
  int index = g->n_nodes;
  const char *name = ir_sprintf(g->ctx, "%s_%d", graph_op_names[op], index);
  ir_node *n = name && valid_values(g, in, n_in, true) ? ir_graph_add_node(g, op, name, n_in, n_out) : NULL;
  if (!n) {
    aotc_error(g->ctx, g->loc, "%s: an input is not a value of the graph", graph_op_names[op]);
    return -1;
  }
  copy_ints(n->in, in, n_in);
  n->p.control = *p;
  for (int k = 0; k < n_out; k++) {
    const char *vname = out_names ? out_names[k] : k ? ir_sprintf(g->ctx, "%s_%d", name, k) : name;
    int v = vname ? ir_graph_add_value(g, vname) : -1;
    if (v < 0)
      return -1;
    g->nodes[index].out[k] = v;
    g->values[v].producer = index;
    if (outs)
      outs[k] = v;
  }
  return index;
}

int graph_if(ir_graph *g, int cond, ir_graph *then_g, const int *then_in, ir_graph *else_g, const int *else_in,
             int *outs)
{
  if (!then_g || !else_g || then_g->n_outputs != else_g->n_outputs) {
    aotc_error(g->ctx, g->loc, "if: the branches must have as many outputs");
    return -1;
  }
  int n_in = 1 + then_g->n_inputs + else_g->n_inputs;
  int *in = IR_NEW_ARRAY(g->ctx, int, n_in);
  if (!in || !valid_values(g, then_in, then_g->n_inputs, false) || !valid_values(g, else_in, else_g->n_inputs, false))
    return -1;
  in[0] = cond;
  copy_ints(in + 1, then_in, then_g->n_inputs);
  copy_ints(in + 1 + then_g->n_inputs, else_in, else_g->n_inputs);
  graph_control_params p = {.body = {then_g, else_g}, .n_then = then_g->n_inputs};
  int node = graph_control_node(g, GRAPH_OP_IF, in, n_in, then_g->n_outputs, &p, NULL, outs);
  return node < 0 ? -1 : g->nodes[node].n_out ? g->nodes[node].out[0] : -1;
}

int graph_loop(ir_graph *g, int trip, int cond, const int *carried, int n_carried, ir_graph *body, const int *outer,
               int *outs)
{
  int n_outer = body ? body->n_inputs - 2 - n_carried : -1;
  if (!body || n_carried < 0 || n_outer < 0 || body->n_outputs < 1 + n_carried) {
    aotc_error(g->ctx, g->loc, "loop: the body must read the iteration number, the condition and the carried values "
                               "and return the condition and the carried values");
    return -1;
  }
  int n_in = 2 + n_carried + n_outer;
  int *in = IR_NEW_ARRAY(g->ctx, int, n_in);
  if (!in)
    return -1;
  in[0] = trip;
  in[1] = cond;
  copy_ints(in + 2, carried, n_carried);
  copy_ints(in + 2 + n_carried, outer, n_outer);
  graph_control_params p = {.body = {body, NULL}, .n_carried = n_carried};
  int node = graph_control_node(g, GRAPH_OP_LOOP, in, n_in, body->n_outputs - 1, &p, NULL, outs);
  return node < 0 ? -1 : g->nodes[node].n_out ? g->nodes[node].out[0] : -1;
}

/* ------------------------------------------------------------------------
 * Shape inference through the subgraphs
 * ------------------------------------------------------------------------ */

/* Body input k takes the type and shape of outer value v, and its data
 * when keep_data (a value read from outside, not one that changes). */
static void bind_input(ir_graph *body, int k, const ir_value *v, bool keep_data)
{
  ir_value *b = &body->values[body->inputs[k]];
  b->type = v->type;
  b->rank = v->rank;
  memcpy(b->shape, v->shape, sizeof(b->shape));
  b->data = keep_data ? v->data : NULL;
  b->is_input = true;
}

static void bind_scalar(ir_graph *body, int k, ir_type t)
{
  ir_value v = {.type = t, .rank = 0};
  bind_input(body, k, &v, false);
}

static bool infer_body(ir_graph *g, ir_node *n, ir_graph *body)
{
  if (!ir_graph_infer(body) || !ir_graph_fold(body)) {
    if (!g->ctx->n_errors)
      graph_fail(g, n, "the subgraph cannot be inferred");
    return false;
  }
  return true;
}

static bool same_type_shape(const ir_value *a, const ir_value *b)
{
  return a->type == b->type && a->rank == b->rank && !memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->rank);
}

static const char *shape_text(ir_graph *g, const ir_value *v)
{
  char buf[16 * 24] = "";
  size_t at = 0;
  for (int d = 0; d < v->rank && at < sizeof(buf) - 24; d++)
    at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%lld", d ? "," : "", (long long)v->shape[d]);
  return ir_sprintf(g->ctx, "%s[%s]", ir_types[v->type].name, buf);
}

/* A one-element condition or trip count; its value when constant. */
static bool control_input(ir_graph *g, ir_node *n, int k, const char *what, bool *known, int64_t *value)
{
  const ir_value *v = graph_in(g, n, k);
  *known = false;
  if (!v)
    return true;
  if (ir_value_numel(v) != 1 || ir_types[v->type].is_float)
    return graph_fail(g, n, "the %s must be one integer or bool element", what);
  *known = v->data != NULL;
  *value = *known ? graph_const_int(v, 0) : 0;
  return true;
}

/* Every input from first on is present. */
static bool inputs_present(ir_graph *g, ir_node *n, int first)
{
  for (int k = first; k < n->n_in; k++)
    if (n->in[k] < 0)
      return graph_fail(g, n, "input %d is missing", k);
  return true;
}

/* The outputs are the taken branch's when the condition is known, else
 * the branches' (which must agree). */
bool graph_infer_if(ir_graph *g, ir_node *n)
{
  const graph_control_params *p = &n->p.control;
  bool known;
  int64_t cond;
  if (!control_input(g, n, 0, "condition", &known, &cond) || !inputs_present(g, n, 0))
    return false;
  for (int b = 0; b < 2; b++) {
    ir_graph *body = p->body[b];
    int first = b ? 1 + p->n_then : 1, count = b ? n->n_in - 1 - p->n_then : p->n_then;
    if (!body || body->n_inputs != count || body->n_outputs != n->n_out)
      return graph_fail(g, n, "the %s branch does not match the node", b ? "else" : "then");
    for (int k = 0; k < count; k++)
      bind_input(body, k, graph_in(g, n, first + k), true);
    if ((!known || (cond != 0) == (b == 0)) && !infer_body(g, n, body))
      return false;
  }
  for (int k = 0; k < n->n_out; k++) {
    const ir_value *t = &p->body[0]->values[p->body[0]->outputs[k]];
    const ir_value *e = &p->body[1]->values[p->body[1]->outputs[k]];
    const ir_value *o = known ? (cond ? t : e) : t;
    if (!known && !same_type_shape(t, e))
      return graph_fail(g, n, "output %d is %s in the then branch and %s in the else branch: the branches must agree "
                        "unless the condition is known at compile time", k, shape_text(g, t), shape_text(g, e));
    if (!graph_set_out(g, n, k, o->type, o->rank, o->shape))
      return false;
    if (known && n->out[k] >= 0)
      g->values[n->out[k]].data = o->data;
  }
  return true;
}

/* Whether body output v is the body's condition input passed on (through
 * identities) or a constant true: the loop then never stops early. */
static bool condition_stays(const ir_graph *body, int v)
{
  int cond_in = body->inputs[1];
  while (v != cond_in && body->values[v].producer >= 0 && body->nodes[body->values[v].producer].op == GRAPH_OP_IDENTITY)
    v = body->nodes[body->values[v].producer].in[0];
  return v == cond_in || (body->values[v].data && graph_const_int(&body->values[v], 0) != 0);
}

/* The iterations of a loop with scan outputs, which must be known. */
static bool scan_iterations(ir_graph *g, ir_node *n, int64_t *count)
{
  ir_graph *body = n->p.control.body[0];
  bool trip_known, cond_known;
  int64_t trip = 0, cond = 1;
  if (!control_input(g, n, 0, "trip count", &trip_known, &trip) ||
      !control_input(g, n, 1, "condition", &cond_known, &cond))
    return false;
  bool stays = cond_known ? !cond || condition_stays(body, body->outputs[0]) : !graph_in(g, n, 1);
  if (!trip_known || (graph_in(g, n, 1) && !cond_known) || !stays)
    return graph_fail(g, n, "scan outputs need a loop whose number of iterations is known at compile time "
                      "(a constant trip count and a condition that stays true)");
  *count = cond ? (trip > 0 ? trip : 0) : 0;
  return true;
}

static bool check_loop_body(ir_graph *g, ir_node *n)
{
  ir_graph *body = n->p.control.body[0];
  int nc = n->p.control.n_carried;
  const ir_value *c = &body->values[body->outputs[0]];
  if (ir_value_numel(c) != 1 || ir_types[c->type].is_float)
    return graph_fail(g, n, "the body's condition must be one integer or bool element");
  for (int k = 0; k < nc; k++) {
    const ir_value *in = &body->values[body->inputs[2 + k]], *out = &body->values[body->outputs[1 + k]];
    if (!same_type_shape(in, out))
      return graph_fail(g, n, "loop-carried value %d enters the body as %s and leaves it as %s: it must keep its "
                        "type and shape", k, shape_text(g, in), shape_text(g, out));
  }
  return true;
}

/* The one-element integer constant v, when it is one. */
static bool small_constant(const ir_graph *body, int v, int64_t *c)
{
  const ir_value *val = v >= 0 ? &body->values[v] : NULL;
  if (!val || !val->data || ir_value_numel(val) != 1 || ir_types[val->type].is_float)
    return false;
  *c = graph_const_int(val, 0);
  return true;
}

/* Whether one-element value v is the iteration number plus *off: through
 * unsqueeze, reshape, identity, integer casts and additions of one-element
 * constants (x[i:i+1] spelled with Unsqueeze, Add and Slice). */
static bool iteration_offset(const ir_graph *body, int v, int64_t *off)
{
  int64_t c;
  *off = 0;
  for (int depth = 0; depth < 64 && v >= 0; depth++) {
    const ir_node *n = body->values[v].producer >= 0 ? &body->nodes[body->values[v].producer] : NULL;
    if (v == body->inputs[0])
      return true;
    if (!n || n->n_in < 1)
      return false;
    if (n->op == GRAPH_OP_UNSQUEEZE || n->op == GRAPH_OP_RESHAPE || n->op == GRAPH_OP_IDENTITY ||
        (n->op == GRAPH_OP_CAST && !ir_types[n->p.cast.to].is_float))
      v = n->in[0];
    else if ((n->op == GRAPH_OP_ADD || n->op == GRAPH_OP_SUB) && n->n_in == 2 && small_constant(body, n->in[1], &c))
      *off += n->op == GRAPH_OP_ADD ? c : -c, v = n->in[0];
    else if (n->op == GRAPH_OP_ADD && n->n_in == 2 && small_constant(body, n->in[0], &c))
      *off += c, v = n->in[1];
    else
      return false;
  }
  return false;
}

/* Slice(x, i + a, i + a + 1, [axis]) with i the iteration number: a
 * gather of element i + a along axis (its shape does not depend on i). */
static void gather_iteration_slice(ir_graph *body, ir_node *n)
{
  int64_t start, end, axis = 0, step = 1;
  if (n->op != GRAPH_OP_SLICE || n->n_in < 3 || n->in[1] < 0 || n->in[2] < 0 || body->values[n->in[1]].data ||
      !iteration_offset(body, n->in[1], &start) || !iteration_offset(body, n->in[2], &end) || start < 0 ||
      end != start + 1)
    return;
  if ((n->n_in > 3 && n->in[3] >= 0 && !small_constant(body, n->in[3], &axis)) ||
      (n->n_in > 4 && n->in[4] >= 0 && (!small_constant(body, n->in[4], &step) || step != 1)))
    return;
  n->op = GRAPH_OP_GATHER;
  n->n_in = 2;
  n->p.axis.axis = axis;
}

bool graph_infer_loop(ir_graph *g, ir_node *n)
{
  for (int k = 0; n->p.control.body[0] && k < n->p.control.body[0]->n_nodes; k++)
    gather_iteration_slice(n->p.control.body[0], &n->p.control.body[0]->nodes[k]);
  const graph_control_params *p = &n->p.control;
  ir_graph *body = p->body[0];
  int nc = p->n_carried;
  if (!body || n->n_in < 2 + nc || body->n_inputs != n->n_in || body->n_outputs != n->n_out + 1 || n->n_out < nc)
    return graph_fail(g, n, "the body does not match the node");
  if (!inputs_present(g, n, 2))
    return false;
  bind_scalar(body, 0, IR_I64);
  bind_scalar(body, 1, IR_BOOL);
  for (int k = 2; k < n->n_in; k++)
    bind_input(body, k, graph_in(g, n, k), k >= 2 + nc);
  if (!infer_body(g, n, body) || !check_loop_body(g, n))
    return false;
  int64_t iterations = 0;
  if (n->n_out > nc && !scan_iterations(g, n, &iterations))
    return false;
  for (int k = 0; k < n->n_out; k++) {
    const ir_value *o = &body->values[body->outputs[1 + k]];
    int64_t shape[IR_MAX_RANK + 1] = {iterations};
    if (o->rank >= IR_MAX_RANK && k >= nc)
      return graph_fail(g, n, "scan output %d has too many dimensions", k - nc);
    memcpy(shape + (k >= nc), o->shape, sizeof(int64_t) * (size_t)o->rank);
    if (!graph_set_out(g, n, k, o->type, o->rank + (k >= nc), shape))
      return false;
  }
  return true;
}

/* A loop's trip count and condition (inputs 0 and 1) must be constants
 * when it has scan outputs: their shapes depend on the iterations. */
bool graph_control_needs_const(const ir_node *n, int k)
{
  return n->op == GRAPH_OP_LOOP && k < 2 && n->n_out > n->p.control.n_carried;
}

/* ------------------------------------------------------------------------
 * Lowering: the region tree under construction
 * ------------------------------------------------------------------------ */

struct graph_blocks {
  ir_region *top; /* the function's body */
  ir_region *seq; /* the sequence statements go to now */
  int pending;    /* the first statement not yet in a region of seq */
};

static graph_blocks *blocks_of(ir_lower *L)
{
  if (!L->blocks && (L->blocks = IR_NEW(L->ctx, graph_blocks)))
    L->blocks->top = L->blocks->seq = ir_region_new(L->ctx, IR_REGION_SEQ, 0);
  return L->blocks && L->blocks->top ? L->blocks : NULL;
}

/* The statements lowered since the last region go into one of their own. */
static bool flush(ir_lower *L)
{
  graph_blocks *b = L->blocks;
  if (!b || L->stmts.n == b->pending)
    return true;
  ir_region *r = ir_region_new(L->ctx, IR_REGION_STMTS, b->pending);
  if (!r)
    return false;
  r->end = b->pending = L->stmts.n;
  return ir_region_add(L->ctx, b->seq, r);
}

/* Opens a new sequence (a branch or a loop's body); returns the one it
 * replaces, for close_seq. */
static ir_region *open_seq(ir_lower *L, ir_region **seq)
{
  ir_region *saved = L->blocks->seq;
  *seq = ir_region_new(L->ctx, IR_REGION_SEQ, L->stmts.n);
  L->blocks->seq = *seq ? *seq : saved;
  L->blocks->pending = L->stmts.n;
  return saved;
}

static bool close_seq(ir_lower *L, ir_region *into, ir_region *seq, ir_region *saved)
{
  bool ok = seq && flush(L) && ir_region_add(L->ctx, into, seq);
  L->blocks->seq = saved;
  return ok;
}

/* Appends a finished control region to the current sequence. */
static bool add_control(ir_lower *L, ir_region *r)
{
  bool ok = ir_region_add(L->ctx, L->blocks->seq, r);
  L->blocks->pending = L->stmts.n;
  return ok;
}

ir_region *graph_blocks_finish(ir_lower *L)
{
  return L->blocks && flush(L) ? L->blocks->top : NULL;
}

/* ------------------------------------------------------------------------
 * Lowering a subgraph into the function being built
 * ------------------------------------------------------------------------ */

static bool copy_tensor(ir_lower *L, int dst, int src)
{
  return dst == src || graph_st_map(L, dst, graph_ex_at(L, src, 0));
}

static bool set_scalar(ir_lower *L, int dst, int64_t v)
{
  return graph_st_map(L, dst, graph_ex_const(L, (double)v, graph_lw_tensor(L, dst)->type));
}

/* Body output k may be written straight into out[k]: a live node of the
 * body makes it, and no earlier output is the same value. */
static bool writes_directly(const ir_graph *body, int k)
{
  int v = body->outputs[k];
  const ir_value *val = &body->values[v];
  for (int j = 0; j < k; j++)
    if (body->outputs[j] == v)
      return false;
  return val->producer >= 0 && !body->nodes[val->producer].dead && !val->data && !val->is_input;
}

static bool lower_nodes(ir_lower *L, ir_graph *body)
{
  for (int k = 0; k < body->n_nodes; k++)
    if (!body->nodes[k].dead && (!ir_lower_node(L, &body->nodes[k]) || !flush(L)))
      return false;
  return true;
}

/* Lowers body with its input k held by tensor in[k]; its output k ends in
 * tensor out[k]. Statements go to the current sequence, one region per
 * node (they may become kernels of their own). */
static bool lower_body(ir_lower *L, ir_graph *body, const int *in, const int *out)
{
  ir_graph *g = L->g;
  int *tensor_of = L->tensor_of;
  const ir_node *node = L->node;
  bool *direct = IR_NEW_ARRAY(L->ctx, bool, body->n_outputs);
  L->g = body;
  L->tensor_of = IR_NEW_ARRAY(L->ctx, int, body->n_values);
  bool ok = L->tensor_of && direct;
  for (int v = 0; ok && v < body->n_values; v++)
    L->tensor_of[v] = -1;
  for (int k = 0; ok && k < body->n_inputs; k++)
    L->tensor_of[body->inputs[k]] = in[k];
  ir_graph_dce(body);
  for (int k = 0; ok && k < body->n_outputs; k++)
    if ((direct[k] = writes_directly(body, k)))
      L->tensor_of[body->outputs[k]] = out[k];
  ok = ok && lower_nodes(L, body);
  L->node = NULL;
  for (int k = 0; ok && k < body->n_outputs; k++)
    ok = direct[k] || copy_tensor(L, out[k], graph_lw_in(L, body->outputs[k]));
  ok = ok && flush(L);
  L->g = g;
  L->tensor_of = tensor_of;
  L->node = node;
  return ok;
}

/* The tensors of a node's outputs first .. first + n - 1 (temporaries for
 * those left out, shaped like the body's values). */
static int *output_tensors(ir_lower *L, ir_node *n, int first, int n_out, const ir_graph *body, int body_first)
{
  int *out = IR_NEW_ARRAY(L->ctx, int, n_out);
  for (int k = 0; out && k < n_out; k++) {
    const ir_value *v = &body->values[body->outputs[body_first + k]];
    out[k] = n->out[first + k] >= 0 ? graph_lw_out(L, n->out[first + k])
                                    : graph_lw_temp(L, "unused", v->type, v->rank, v->shape);
    if (out[k] < 0)
      return NULL;
  }
  return out;
}

/* The tensors of a node's inputs first .. first + count - 1. */
static int *input_tensors(ir_lower *L, ir_node *n, int first, int count, int extra)
{
  int *in = IR_NEW_ARRAY(L->ctx, int, count + extra);
  for (int k = 0; in && k < count; k++)
    if ((in[extra + k] = graph_lw_in(L, n->in[first + k])) < 0)
      return NULL;
  return in;
}

/* ------------------------------------------------------------------------
 * if
 * ------------------------------------------------------------------------ */

static bool lower_branch(ir_lower *L, ir_node *n, int b, const int *out)
{
  const graph_control_params *p = &n->p.control;
  int first = b ? 1 + p->n_then : 1, count = b ? n->n_in - 1 - p->n_then : p->n_then;
  int *in = input_tensors(L, n, first, count, 0);
  return in && lower_body(L, p->body[b], in, out);
}

bool graph_lower_if(ir_lower *L, ir_node *n)
{
  const ir_value *c = &L->g->values[n->in[0]];
  int *out = output_tensors(L, n, 0, n->n_out, n->p.control.body[0], 0);
  if (!out || !blocks_of(L) || !flush(L))
    return false;
  if (c->data)
    return lower_branch(L, n, graph_const_int(c, 0) ? 0 : 1, out);
  ir_region *r = ir_region_new(L->ctx, IR_REGION_IF, L->stmts.n), *seq;
  if (!r || (r->cond = graph_lw_in(L, n->in[0])) < 0)
    return false;
  r->loc = n->loc;
  for (int b = 0; b < 2; b++) {
    ir_region *saved = open_seq(L, &seq);
    if (!lower_branch(L, n, b, out) || !close_seq(L, r, seq, saved))
      return false;
  }
  return add_control(L, r);
}

/* ------------------------------------------------------------------------
 * loop
 * ------------------------------------------------------------------------ */

/* What a loop's lowering holds: the state tensors the body reads (the
 * iteration number, the condition, the carried values) and the ones it
 * writes each iteration (the next condition and values, scan elements). */
typedef struct loop_lowering {
  ir_node *n;
  ir_graph *body;
  int nc, n_scan;
  int *in;   /* per body input */
  int *next; /* per body output */
  int *out;  /* per node output */
} loop_lowering;

static int temp_like(ir_lower *L, const ir_graph *body, int v, const char *suffix)
{
  const ir_value *val = &body->values[v];
  return graph_lw_temp(L, suffix, val->type, val->rank, val->shape);
}

/* Tensors for the state and copies of the initial values into it. */
static bool loop_setup(ir_lower *L, loop_lowering *lw)
{
  ir_node *n = lw->n;
  int cond0 = n->in[1] >= 0 ? graph_lw_in(L, n->in[1]) : -1;
  lw->in = input_tensors(L, n, 2 + lw->nc, n->n_in - 2 - lw->nc, 2 + lw->nc);
  lw->next = IR_NEW_ARRAY(L->ctx, int, lw->body->n_outputs);
  lw->out = output_tensors(L, n, 0, n->n_out, lw->body, 1);
  if (!lw->in || !lw->next || !lw->out || (n->in[1] >= 0 && cond0 < 0))
    return false;
  lw->in[0] = temp_like(L, lw->body, lw->body->inputs[0], "iter");
  lw->in[1] = temp_like(L, lw->body, lw->body->inputs[1], "cond");
  bool ok = lw->in[0] >= 0 && lw->in[1] >= 0 && set_scalar(L, lw->in[0], 0);
  ok = ok && (cond0 >= 0 ? graph_st_map(L, lw->in[1], graph_ex_cast(L, IR_BOOL, graph_ex_at(L, cond0, 0)))
                         : set_scalar(L, lw->in[1], 1));
  for (int k = 0; ok && k < lw->nc; k++) {
    lw->in[2 + k] = lw->out[k];
    ok = copy_tensor(L, lw->out[k], graph_lw_in(L, n->in[2 + k]));
  }
  for (int k = 0; ok && k < lw->body->n_outputs; k++)
    ok = (lw->next[k] = temp_like(L, lw->body, lw->body->outputs[k], k ? "next" : "cond_next")) >= 0;
  return ok;
}

/* Y(iter, i...) = element(i...): scan output k's element of this iteration. */
static bool store_scan(ir_lower *L, loop_lowering *lw, int k)
{
  int y = lw->out[lw->nc + k], e = lw->next[1 + lw->nc + k];
  const ir_tensor *et = graph_lw_tensor(L, e);
  int64_t hi[IR_MAX_RANK];
  for (int d = 0; d < et->rank; d++)
    hi[d] = graph_lw_dim(L, e, d);
  ir_stmt *s = graph_st_new(L, y, et->rank, 0, hi);
  ir_expr **lhs = IR_NEW_ARRAY(L->ctx, ir_expr *, et->rank + 1);
  if (!s || !lhs)
    return false;
  lhs[0] = graph_ex_at(L, lw->in[0], 0);
  for (int d = 0; d < et->rank; d++)
    lhs[1 + d] = graph_ex_idx(L, d);
  s->n_lhs = et->rank + 1;
  s->lhs = NULL;
  s->lhs_expr = lhs;
  return graph_st_emit(L, s, IR_RED_NONE, false, graph_ex_at(L, e, 0));
}

/* The end of every iteration: scan elements stored, the next state copied
 * in, the iteration counted. */
static bool loop_step(ir_lower *L, loop_lowering *lw)
{
  bool ok = true;
  for (int k = 0; ok && k < lw->n_scan; k++)
    ok = store_scan(L, lw, k);
  for (int k = 0; ok && k < lw->nc; k++)
    ok = copy_tensor(L, lw->in[2 + k], lw->next[1 + k]);
  ok = ok && graph_st_map(L, lw->in[1], graph_ex_cast(L, IR_BOOL, graph_ex_at(L, lw->next[0], 0)));
  ok = ok && graph_st_map(L, lw->in[0], graph_ex_bin(L, IR_ADD, graph_ex_at(L, lw->in[0], 0), graph_ex_int(L, 1)));
  return ok && flush(L);
}

/* The loop's bound: a constant, a tensor read at run time, or none. */
static bool loop_bound(ir_lower *L, ir_node *n, ir_region *r)
{
  const ir_value *trip = n->in[0] >= 0 ? &L->g->values[n->in[0]] : NULL;
  if (trip && trip->data)
    r->max_trip = graph_const_int(trip, 0) > 0 ? graph_const_int(trip, 0) : 0;
  else if (trip)
    r->trip = graph_lw_in(L, n->in[0]);
  if (!trip && n->in[1] < 0)
    return graph_fail(L->g, n, "a loop without a trip count or a condition never ends");
  return !trip || trip->data || r->trip >= 0;
}

/* A loop that never runs (trip count 0 or condition false, known):
 * the outputs are the initial values. */
static bool never_runs(const ir_lower *L, const ir_node *n)
{
  const ir_value *trip = n->in[0] >= 0 ? &L->g->values[n->in[0]] : NULL;
  const ir_value *cond = n->in[1] >= 0 ? &L->g->values[n->in[1]] : NULL;
  return (trip && trip->data && graph_const_int(trip, 0) <= 0) || (cond && cond->data && !graph_const_int(cond, 0));
}

static bool lower_never(ir_lower *L, ir_node *n)
{
  for (int k = 0; k < n->p.control.n_carried; k++)
    if (n->out[k] >= 0 && !copy_tensor(L, graph_lw_out(L, n->out[k]), graph_lw_in(L, n->in[2 + k])))
      return false;
  return true;
}

bool graph_lower_loop(ir_lower *L, ir_node *n)
{
  loop_lowering lw = {.n = n, .body = n->p.control.body[0], .nc = n->p.control.n_carried};
  lw.n_scan = n->n_out - lw.nc;
  if (never_runs(L, n))
    return lower_never(L, n);
  ir_region *r = ir_region_new(L->ctx, IR_REGION_LOOP, 0), *seq;
  if (!r || !blocks_of(L) || !loop_bound(L, n, r) || !loop_setup(L, &lw) || !flush(L))
    return false;
  r->first = r->end = L->stmts.n;
  r->cond = n->in[1] >= 0 ? lw.in[1] : -1;
  r->loc = n->loc;
  ir_region *saved = open_seq(L, &seq);
  L->node = n;
  bool ok = lower_body(L, lw.body, lw.in, lw.next) && loop_step(L, &lw);
  return ok && close_seq(L, r, seq, saved) && add_control(L, r);
}
