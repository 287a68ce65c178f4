/* builders.c: the graph builders every frontend uses: inputs, constants,
 * outputs and one constructor per common op. They only record values and
 * nodes with typed parameters; shape inference checks them later and
 * reports errors naming the node. */
#include "graph.h"

#include <string.h>

/* A new value with a type and a static shape. */
static int typed_value(ir_graph *g, const char *name, ir_type type, int rank, const int64_t *shape)
{
  if (rank < 0 || rank > IR_MAX_RANK) {
    aotc_error(g->ctx, g->loc, "value '%s': rank %d is not supported", name ? name : "", rank);
    return -1;
  }
  int v = ir_graph_add_value(g, name ? ir_strdup(g->ctx, name) : NULL);
  if (v < 0)
    return -1;
  ir_value *val = &g->values[v];
  val->type = type;
  val->rank = rank;
  if (rank)
    memcpy(val->shape, shape, sizeof(int64_t) * (size_t)rank);
  return v;
}

int graph_input(ir_graph *g, const char *name, ir_type type, int rank, const int64_t *shape)
{
  int v = typed_value(g, name, type, rank, shape);
  int *inputs = v >= 0 ? IR_NEW_ARRAY(g->ctx, int, g->n_inputs + 1) : NULL;
  if (!inputs)
    return -1;
  if (g->n_inputs)
    memcpy(inputs, g->inputs, sizeof(int) * (size_t)g->n_inputs);
  inputs[g->n_inputs++] = v;
  g->inputs = inputs;
  g->values[v].is_input = true;
  return v;
}

int graph_constant(ir_graph *g, const char *name, ir_type type, int rank, const int64_t *shape, const void *data)
{
  int v = typed_value(g, name, type, rank, shape);
  if (v < 0)
    return -1;
  size_t bytes = ir_value_bytes(&g->values[v]);
  if (bytes > g->max_bytes) {
    aotc_error(g->ctx, g->loc, "constant '%s' is too large", g->values[v].name);
    return -1;
  }
  void *copy = ir_alloc(g->ctx, bytes + 1);
  if (!copy)
    return -1;
  if (bytes)
    memcpy(copy, data, bytes);
  g->values[v].data = copy;
  return v;
}

bool graph_output(ir_graph *g, int v)
{
  int *outputs = v >= 0 && v < g->n_values ? IR_NEW_ARRAY(g->ctx, int, g->n_outputs + 1) : NULL;
  if (!outputs)
    return false;
  if (g->n_outputs)
    memcpy(outputs, g->outputs, sizeof(int) * (size_t)g->n_outputs);
  outputs[g->n_outputs++] = v;
  g->outputs = outputs;
  g->values[v].is_output = true;
  return true;
}

int graph_node(ir_graph *g, graph_op op, const int *in, int n_in, const graph_params *p)
{
  for (int k = 0; k < n_in; k++)
    if (in[k] < -1 || in[k] >= g->n_values) {
      aotc_error(g->ctx, g->loc, "%s: input %d is not a value of the graph", graph_op_names[op], k);
      return -1;
    }
  int index = g->n_nodes;
  const char *name = ir_sprintf(g->ctx, "%s_%d", graph_op_names[op], index);
  ir_node *n = name ? ir_graph_add_node(g, op, name, n_in, 1) : NULL;
  if (!n)
    return -1;
  if (n_in)
    memcpy(n->in, in, sizeof(int) * (size_t)n_in);
  if (p)
    n->p = *p;
  int v = ir_graph_add_value(g, name);
  if (v < 0)
    return -1;
  g->nodes[index].out[0] = v;
  g->values[v].producer = index;
  return v;
}

/* ------------------------------------------------------------------------
 * Constructors
 * ------------------------------------------------------------------------ */

int graph_unary(ir_graph *g, graph_op op, int x)
{
  return graph_node(g, op, &x, 1, NULL);
}

int graph_binary(ir_graph *g, graph_op op, int a, int b)
{
  int in[2] = {a, b};
  return graph_node(g, op, in, 2, NULL);
}

int graph_relu(ir_graph *g, int x)
{
  return graph_unary(g, GRAPH_OP_RELU, x);
}

int graph_add(ir_graph *g, int a, int b)
{
  return graph_binary(g, GRAPH_OP_ADD, a, b);
}

int graph_mul(ir_graph *g, int a, int b)
{
  return graph_binary(g, GRAPH_OP_MUL, a, b);
}

int graph_matmul(ir_graph *g, int a, int b)
{
  return graph_binary(g, GRAPH_OP_MATMUL, a, b);
}

int graph_gemm(ir_graph *g, int a, int b, int c, const graph_gemm_params *p)
{
  int in[3] = {a, b, c};
  graph_params gp = {.gemm = *p};
  return graph_node(g, GRAPH_OP_GEMM, in, c >= 0 ? 3 : 2, &gp);
}

int graph_conv(ir_graph *g, int x, int w, int b, const graph_conv_params *p)
{
  int in[3] = {x, w, b};
  graph_params gp = {.conv = *p};
  return graph_node(g, GRAPH_OP_CONV, in, b >= 0 ? 3 : 2, &gp);
}

int graph_maxpool(ir_graph *g, int x, const graph_pool_params *p)
{
  graph_params gp = {.pool = *p};
  return graph_node(g, GRAPH_OP_MAXPOOL, &x, 1, &gp);
}

int graph_avgpool(ir_graph *g, int x, const graph_pool_params *p)
{
  graph_params gp = {.pool = *p};
  return graph_node(g, GRAPH_OP_AVGPOOL, &x, 1, &gp);
}

int graph_global_avgpool(ir_graph *g, int x)
{
  return graph_unary(g, GRAPH_OP_GLOBAL_AVGPOOL, x);
}

int graph_batchnorm(ir_graph *g, int x, int scale, int bias, int mean, int var, double epsilon)
{
  int in[5] = {x, scale, bias, mean, var};
  graph_params gp = {.norm = {.epsilon = epsilon}};
  return graph_node(g, GRAPH_OP_BATCHNORM, in, 5, &gp);
}

int graph_flatten(ir_graph *g, int x, int64_t axis)
{
  graph_params gp = {.axis = {.axis = axis}};
  return graph_node(g, GRAPH_OP_FLATTEN, &x, 1, &gp);
}

int graph_softmax(ir_graph *g, int x, int64_t axis)
{
  graph_params gp = {.softmax = {.axis = axis}};
  return graph_node(g, GRAPH_OP_SOFTMAX, &x, 1, &gp);
}

int graph_reshape(ir_graph *g, int x, int shape)
{
  return graph_binary(g, GRAPH_OP_RESHAPE, x, shape);
}

int graph_transpose(ir_graph *g, int x, int n_perm, const int *perm)
{
  graph_params gp = {.transpose = {.n_perm = n_perm}};
  if (n_perm < 0 || n_perm > IR_MAX_RANK) {
    aotc_error(g->ctx, g->loc, "transpose: %d axes are not supported", n_perm);
    return -1;
  }
  if (n_perm)
    memcpy(gp.transpose.perm, perm, sizeof(int) * (size_t)n_perm);
  return graph_node(g, GRAPH_OP_TRANSPOSE, &x, 1, &gp);
}

int graph_concat(ir_graph *g, const int *xs, int n, int64_t axis)
{
  graph_params gp = {.axis = {.axis = axis}};
  return graph_node(g, GRAPH_OP_CONCAT, xs, n, &gp);
}

int graph_reduce(ir_graph *g, graph_op op, int x, int n_axes, const int64_t *axes, bool keep_dims)
{
  int64_t count = n_axes;
  const char *name = ir_sprintf(g->ctx, "%s_axes", graph_op_names[op]);
  int in[2] = {x, n_axes ? graph_constant(g, name, IR_I64, 1, &count, axes) : -1};
  graph_params gp = {.reduce = {.keep_dims = keep_dims}};
  if (n_axes && in[1] < 0)
    return -1;
  if (in[1] >= 0)
    g->values[in[1]].internal = true;
  return graph_node(g, op, in, in[1] >= 0 ? 2 : 1, &gp);
}

int graph_cast(ir_graph *g, int x, ir_type to)
{
  graph_params gp = {.cast = {.to = to}};
  return graph_node(g, GRAPH_OP_CAST, &x, 1, &gp);
}
