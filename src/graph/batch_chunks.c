/* batch_chunks.c: the first layers of a batch run a few images at a time.
 *
 * A convolutional network's first layers have the largest activations
 * (MobileNetV2: 32 x 112 x 112 floats, 1.6 MB an image), and each layer
 * reads what the one before wrote. At batch 1 that often stays in the
 * second-level cache; at batch 8 a layer writes 12.8 MB before the next one
 * starts, and every layer reads its input from memory. This pass finds the
 * chain of per-image nodes at the start of the graph (convolutions and
 * poolings with constant weights, elementwise ops whose other operands are
 * constants without the batch) up to the last one that reads or writes
 * CHUNK_MIN_IMAGE_BYTES an image, and writes it once per chunk of images:
 * a Slice of each input per chunk, the chain's nodes cloned with the
 * chunk's batch, and a Concat of the chunks' results for every value read
 * after the chain. The views pass then makes the Concat's copies disappear
 * (each chunk writes its band of the concatenation), and the memory plan
 * reuses one chunk's temporaries for the next. Later layers keep the whole
 * batch, where their weights are read once for all images. A chain needs
 * two convolutions or poolings at least (one alone reads nothing another
 * wrote) and little arithmetic per byte (CHUNK_MAX_INTENSITY).
 *
 * Only for a graph of static shapes, with no weights as parameters and no
 * differentiation; AOTC_BATCH_CHUNK=0 turns it off, =N forces N images a
 * chunk over the whole per-image prefix (tests and measurements). */
#include "graph.h"
#include "ops_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A chain ends at the last node that reads or writes this many bytes an
 * image (later layers read each weight once for all the images). */
#define CHUNK_MIN_IMAGE_BYTES ((int64_t)512 << 10)
/* Images per chunk: as many as fit this many bytes of the chain's largest
 * output an image (at least one), times the threads the code runs on: each
 * kernel spreads its chunk over the threads, and a chunk of one image on two
 * threads halves each thread's share again for twice the kernels
 * (MobileNetV2 at batch 8 on 2 threads: 25.4 ms without chunks, 24.3 with
 * one image a chunk, 23.3 with two, 24.2 with four). */
#define CHUNK_BYTES ((int64_t)2 << 20)
/* At most this many chunks (each adds a copy of its input's slice and a
 * call of every chain kernel; the kernels themselves are printed once,
 * src/emit_c/emit_outline.c): a larger batch takes more images a chunk. */
#define CHUNK_MAX_CHUNKS 16
/* Only a chain of at most this many operations per byte its nodes read and
 * write: where the arithmetic hides memory's latency (ResNet-18's first
 * convolutions, about 100), chunks change nothing but the code's size. */
#define CHUNK_MAX_INTENSITY 32

typedef struct chunker {
  ir_graph *g;
  int64_t batch;
  int first, last;   /* the chain: live nodes first..last (node numbers) */
  bool *in_chain;    /* per node */
  bool *made_in;     /* per value: produced by a per-image node from the chain's first on */
  int *map;          /* per value: its version in the current chunk, -1 */
  int *order;        /* the new node order */
  int n_order;
} chunker;

static bool is_const(const ir_graph *g, int v)
{
  return v >= 0 && g->values[v].data != NULL;
}

/* A value with the batch as its first dimension (not a constant). */
static bool batched(const chunker *C, int v)
{
  const ir_value *x = &C->g->values[v];
  return !x->data && x->type == IR_F32 && x->rank >= 2 && x->shape[0] == C->batch;
}

/* A constant that does not vary along the batch: fewer dimensions than
 * out, or a first dimension of 1. */
static bool batch_free_const(const ir_graph *g, int v, int out_rank)
{
  const ir_value *x = &g->values[v];
  return x->data && (x->rank < out_rank || x->shape[0] == 1);
}

static bool elementwise(graph_op op)
{
  switch (op) {
  case GRAPH_OP_RELU: case GRAPH_OP_CLIP: case GRAPH_OP_SIGMOID: case GRAPH_OP_HARD_SWISH:
  case GRAPH_OP_HARD_SIGMOID: case GRAPH_OP_LEAKY_RELU: case GRAPH_OP_TANH: case GRAPH_OP_ADD:
  case GRAPH_OP_MUL: case GRAPH_OP_SUB: case GRAPH_OP_DIV: case GRAPH_OP_ELU: case GRAPH_OP_SELU:
  case GRAPH_OP_PRELU:
    return true;
  default:
    return false;
  }
}

/* Whether node n computes each image of its output from the same image of
 * its inputs alone: a convolution or pooling of a batched input (weights
 * constant), or an elementwise op whose operands are batched values of the
 * output's shape or constants without the batch. */
static bool per_image(const chunker *C, const ir_node *n)
{
  const ir_graph *g = C->g;
  if (n->n_out < 1 || n->out[0] < 0 || !batched(C, n->out[0]) || n->n_in < 1 || n->in[0] < 0)
    return false;
  for (int k = 1; k < n->n_out; k++)
    if (n->out[k] >= 0)
      return false;
  const ir_value *out = &g->values[n->out[0]];
  if (n->op == GRAPH_OP_CONV || n->op == GRAPH_OP_MAXPOOL || n->op == GRAPH_OP_AVGPOOL) {
    if (!batched(C, n->in[0]) || (n->op == GRAPH_OP_CONV && (n->n_in < 2 || n->in[1] < 0)))
      return false;
    for (int k = 1; k < n->n_in; k++)
      if (n->in[k] >= 0 && !is_const(g, n->in[k]))
        return false;
    return true;
  }
  if (!elementwise(n->op))
    return false;
  for (int k = 0; k < n->n_in; k++) {
    int v = n->in[k];
    if (v < 0)
      continue;
    const ir_value *x = &g->values[v];
    bool same = batched(C, v) && x->rank == out->rank && !memcmp(x->shape, out->shape, sizeof(int64_t) * (size_t)x->rank);
    if (!same && !batch_free_const(g, v, out->rank))
      return false;
  }
  return true;
}

/* Arithmetic of node n per image: multiply-adds of a convolution, one
 * operation per window element of a pooling, per element otherwise. */
static double node_flops(const ir_graph *g, const ir_node *n)
{
  const ir_value *out = &g->values[n->out[0]];
  double per = 1;
  if (n->op == GRAPH_OP_CONV) {
    const ir_value *w = &g->values[n->in[1]];
    per = 2;
    for (int d = 1; d < w->rank; d++)
      per *= (double)w->shape[d];
  } else if (n->op == GRAPH_OP_MAXPOOL || n->op == GRAPH_OP_AVGPOOL) {
    for (int d = 0; d < n->p.pool.window.n_spatial; d++)
      per *= (double)n->p.pool.window.kernel[d];
  }
  return per * (double)ir_value_numel(out) / (double)out->shape[0];
}

static int64_t image_bytes(const ir_graph *g, int v)
{
  int64_t n = ir_value_numel(&g->values[v]);
  return n < 0 ? -1 : n / g->values[v].shape[0] * 4;
}

/* The batch: the first dimension of the graph's first float input of rank
 * 4 (images), 0 when there is none or it is 1. */
static int64_t batch_of(const ir_graph *g)
{
  for (int k = 0; k < g->n_inputs; k++) {
    const ir_value *x = &g->values[g->inputs[k]];
    if (x->is_input && !x->data && x->type == IR_F32 && x->rank == 4)
      return x->shape[0] > 1 ? x->shape[0] : 0;
  }
  return 0;
}

/* The chain: from the first live node, while nodes are per image, write no
 * graph output and read batched values only from graph inputs or the chain;
 * it ends at the last such node that reads or writes CHUNK_MIN_IMAGE_BYTES
 * an image, or an elementwise node right after it (the whole prefix when
 * forced). Returns the largest output an image over the chain,
 * 0 when there is no chain or its arithmetic per byte passes
 * CHUNK_MAX_INTENSITY (*intensity: that ratio). */
static int64_t find_chain(chunker *C, bool forced, double *intensity)
{
  ir_graph *g = C->g;
  int64_t largest = 0, big = 0;
  int prev = -1;
  double flops = 0, bytes_moved = 0, chain_flops = 0, chain_bytes = 0;
  C->first = C->last = -1;
  for (int k = 0; k < g->n_nodes; k++) {
    ir_node *n = &g->nodes[k];
    if (n->dead)
      continue;
    if (!per_image(C, n) || g->values[n->out[0]].is_output)
      break; /* an output would be concatenated by a copy: the views pass places temporaries only */
    bool ok = true;
    for (int j = 0; ok && j < n->n_in; j++) {
      int v = n->in[j];
      ok = v < 0 || is_const(g, v) || g->values[v].is_input || C->made_in[v];
    }
    if (!ok)
      break;
    C->made_in[n->out[0]] = true;
    if (C->first < 0)
      C->first = prev = k;
    int64_t bytes = image_bytes(g, n->out[0]), reads = 0;
    bytes_moved += (double)bytes;
    for (int j = 0; j < n->n_in; j++) {
      int64_t b = n->in[j] >= 0 && !is_const(g, n->in[j]) ? image_bytes(g, n->in[j]) : 0;
      reads = b > reads ? b : reads;
      bytes_moved += (double)b;
    }
    flops += node_flops(g, n);
    largest = bytes > largest ? bytes : largest;
    /* an activation right after the chain's last node joins it (it runs in that node's store) */
    if (forced || (reads > bytes ? reads : bytes) >= CHUNK_MIN_IMAGE_BYTES || (elementwise(n->op) && C->last == prev)) {
      C->last = k;
      big = largest;
      chain_flops = flops;
      chain_bytes = bytes_moved;
    }
    prev = k;
  }
  *intensity = chain_bytes > 0 ? chain_flops / chain_bytes : 0;
  int heavy = 0;
  for (int k = C->first; C->last >= 0 && k <= C->last; k++)
    heavy += !g->nodes[k].dead && !elementwise(g->nodes[k].op);
  if (C->last < 0 || (!forced && (*intensity > CHUNK_MAX_INTENSITY || heavy < 2)))
    return 0;
  for (int k = C->first; k <= C->last; k++)
    C->in_chain[k] = !g->nodes[k].dead;
  return big;
}

static int i64_const(ir_graph *g, const char *name, int64_t v)
{
  int64_t one = 1;
  return graph_constant(g, name, IR_I64, 1, &one, &v);
}

/* A new node named name with n_in inputs (-1) and one output: out when
 * out >= 0, else a new internal value named vname. It goes next in the new
 * order; NULL when out of memory (g->nodes may have moved). */
static ir_node *new_node(chunker *C, graph_op op, const char *name, int n_in, int out, const char *vname)
{
  ir_graph *g = C->g;
  int v = out;
  if (!name || !ir_graph_add_node(g, op, name, n_in, 1) || (v < 0 && (!vname || (v = ir_graph_add_value(g, vname)) < 0)))
    return NULL;
  ir_node *n = &g->nodes[g->n_nodes - 1];
  n->out[0] = v;
  if (out < 0)
    g->values[v].internal = true;
  g->values[v].producer = g->n_nodes - 1;
  C->order[C->n_order++] = g->n_nodes - 1;
  return n;
}

/* x's images [lo, hi): a Slice of x along the batch. */
static int slice_of(chunker *C, int x, int64_t lo, int64_t hi, int chunk)
{
  ir_graph *g = C->g;
  const char *base = g->values[x].name;
  int in[4] = {x, i64_const(g, ir_sprintf(g->ctx, "%s_chunk%d_start", base, chunk), lo),
               i64_const(g, ir_sprintf(g->ctx, "%s_chunk%d_end", base, chunk), hi),
               i64_const(g, ir_sprintf(g->ctx, "%s_chunk%d_axis", base, chunk), 0)};
  if (in[1] < 0 || in[2] < 0 || in[3] < 0)
    return -1;
  const char *name = ir_sprintf(g->ctx, "%s_chunk%d", base, chunk);
  ir_node *n = new_node(C, GRAPH_OP_SLICE, name, 4, -1, name);
  if (!n)
    return -1;
  memcpy(n->in, in, sizeof in);
  return graph_op_infer(g, n) ? n->out[0] : -1;
}

/* Node k of the chain for one chunk: inputs through map, a new output. */
static bool clone_node(chunker *C, int k, int chunk)
{
  ir_graph *g = C->g;
  int out = g->nodes[k].out[0];
  ir_node *n = new_node(C, g->nodes[k].op, ir_sprintf(g->ctx, "%s_chunk%d", g->nodes[k].name, chunk),
                        g->nodes[k].n_in, -1, ir_sprintf(g->ctx, "%s_chunk%d", g->values[out].name, chunk));
  if (!n)
    return false;
  const ir_node *src = &g->nodes[k];
  for (int j = 0; j < src->n_in; j++) {
    int x = src->in[j];
    n->in[j] = x >= 0 && C->map[x] >= 0 ? C->map[x] : x;
  }
  n->p = src->p;
  n->source_op = src->source_op;
  n->loc = src->loc;
  g->values[n->out[0]].loc = g->values[out].loc;
  if (!graph_op_infer(g, n))
    return false;
  C->map[out] = n->out[0];
  return true;
}

/* Whether value v of the chain is read after it (or is an output). */
static bool read_after(const chunker *C, int v)
{
  const ir_graph *g = C->g;
  if (g->values[v].is_output)
    return true;
  for (int k = C->last + 1; k < g->n_nodes; k++)
    for (int j = 0; !g->nodes[k].dead && j < g->nodes[k].n_in; j++)
      if (g->nodes[k].in[j] == v)
        return true;
  return false;
}

static bool rewrite(chunker *C, int64_t per)
{
  ir_graph *g = C->g;
  int n_chunks = (int)((C->batch + per - 1) / per), n_values = g->n_values, n_nodes = g->n_nodes;
  int **parts = IR_NEW_ARRAY(g->ctx, int *, n_values);
  if (!parts)
    return false;
  for (int k = C->first; k <= C->last; k++) {
    int v = C->in_chain[k] ? g->nodes[k].out[0] : -1;
    if (v >= 0 && read_after(C, v) && !(parts[v] = IR_NEW_ARRAY(g->ctx, int, n_chunks)))
      return false;
  }
  for (int k = 0; k < C->first; k++)
    C->order[C->n_order++] = k;
  for (int c = 0; c < n_chunks; c++) {
    int64_t lo = c * per, hi = lo + per < C->batch ? lo + per : C->batch;
    for (int v = 0; v < n_values; v++)
      C->map[v] = -1;
    for (int k = C->first; k <= C->last; k++) {
      if (!C->in_chain[k])
        continue;
      int n_in = g->nodes[k].n_in;
      for (int j = 0; j < n_in; j++) {
        int x = g->nodes[k].in[j];
        if (x < 0 || C->map[x] >= 0 || !batched(C, x) || C->made_in[x])
          continue;
        int s = slice_of(C, x, lo, hi, c);
        if (s < 0)
          return false;
        C->map[x] = s;
      }
      if (!clone_node(C, k, c))
        return false;
    }
    for (int k = C->first; k <= C->last; k++)
      if (C->in_chain[k] && parts[g->nodes[k].out[0]])
        parts[g->nodes[k].out[0]][c] = C->map[g->nodes[k].out[0]];
  }
  for (int k = C->first; k <= C->last; k++) {
    int v = C->in_chain[k] ? g->nodes[k].out[0] : -1;
    if (v < 0 || !parts[v])
      continue;
    ir_node *n = new_node(C, GRAPH_OP_CONCAT, ir_sprintf(g->ctx, "%s_chunks", g->nodes[k].name), n_chunks, v, NULL);
    if (!n)
      return false;
    memcpy(n->in, parts[v], sizeof(int) * (size_t)n_chunks);
    n->p.axis.axis = 0;
    n->loc = g->nodes[k].loc;
  }
  for (int k = C->last + 1; k < n_nodes; k++)
    C->order[C->n_order++] = k;
  for (int k = C->first; k <= C->last; k++)
    if (!C->in_chain[k])
      C->order[C->n_order++] = k; /* dead nodes inside the chain stay (dead) */
  ir_node *nodes = IR_NEW_ARRAY(g->ctx, ir_node, g->cap_nodes);
  if (!nodes)
    return false;
  for (int k = 0; k < C->n_order; k++)
    nodes[k] = g->nodes[C->order[k]];
  memcpy(g->nodes, nodes, sizeof(ir_node) * (size_t)C->n_order);
  g->n_nodes = C->n_order;
  for (int v = 0; v < g->n_values; v++)
    if (g->values[v].producer >= 0)
      g->values[v].producer = -1;
  for (int k = 0; k < g->n_nodes; k++)
    for (int j = 0; j < g->nodes[k].n_out; j++)
      if (g->nodes[k].out[j] >= 0)
        g->values[g->nodes[k].out[j]].producer = k;
  return true;
}

static int64_t forced_chunk(void)
{
  const char *env = getenv("AOTC_BATCH_CHUNK");
  return env && *env ? atoll(env) : -1;
}

bool graph_batch_chunks(ir_graph *g, int threads, graph_chunk_report *r)
{
  int64_t forced = forced_chunk();
  chunker C = {.g = g, .batch = batch_of(g)};
  memset(r, 0, sizeof *r);
  if (g->weights_as_params || g->differentiable || forced == 0 || C.batch < 2)
    return true;
  C.in_chain = IR_NEW_ARRAY(g->ctx, bool, g->n_nodes);
  C.made_in = IR_NEW_ARRAY(g->ctx, bool, g->n_values);
  if (!C.in_chain || !C.made_in)
    return false;
  int64_t largest = find_chain(&C, forced > 0, &r->intensity);
  if (!largest)
    return true;
  int64_t per = forced > 0 ? forced : CHUNK_BYTES / largest;
  per = (per < 1 ? 1 : per) * (forced > 0 || threads < 1 ? 1 : threads);
  if (forced <= 0 && (C.batch + per - 1) / per > CHUNK_MAX_CHUNKS)
    per = (C.batch + CHUNK_MAX_CHUNKS - 1) / CHUNK_MAX_CHUNKS;
  if (per >= C.batch)
    return true;
  int64_t n_chunks = (C.batch + per - 1) / per, chain = C.last - C.first + 1;
  /* per chunk: a slice and three constants per input, a clone per node; the concatenations */
  int64_t room = g->n_nodes + n_chunks * (chain + 2 * (int64_t)g->n_inputs) + chain;
  C.map = IR_NEW_ARRAY(g->ctx, int, g->n_values);
  C.order = IR_NEW_ARRAY(g->ctx, int, room);
  for (int k = C.first; k <= C.last; k++)
    r->nodes += C.in_chain[k];
  r->first = g->nodes[C.first].name;
  r->last = g->nodes[C.last].name;
  r->images = per;
  r->chunks = (int)n_chunks;
  return C.map && C.order && rewrite(&C, per);
}
