/* onnxgen.c: writes synthetic ONNX models with protobuf-c's generated
 * onnx.pb-c.h, so the scaling and hostile-input tests need no Python.
 *
 *   onnxgen chain N OUT.onnx          N elementwise nodes in a chain
 *   onnxgen resnet N OUT.onnx         about N nodes of 3x3 conv residual blocks
 *   onnxgen wide N OUT.onnx           N independent Relu branches summed pairwise
 *   onnxgen names OUT.onnx NAME...    a Relu chain through values NAME0 -> NAME1 -> ...
 *   onnxgen bigdecl OUT.onnx N        one initializer of N floats declared, no data
 *   onnxgen external OUT.onnx PATH    an initializer whose data is external, at PATH
 *   onnxgen opset OUT.onnx V          a one-node model importing opset V
 *   onnxgen rank OUT.onnx R           a Relu on a tensor of rank R (all dims 1)
 *
 * The chain cycles through Relu, Sigmoid, Add(h, x) and Mul(h, c) on a
 * [1, 16] input; the ResNet-like graph is a stem convolution then blocks of
 * Conv 3x3 -> Relu -> Conv 3x3 -> Add(skip) -> Relu on [1, 4, 8, 8]. */
#include "onnx.pb-c.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ memory */

static void **pool;
static size_t n_pool, cap_pool;

static void *gen_alloc(size_t n)
{
  void *p = calloc(1, n ? n : 1);
  if (!p || (n_pool == cap_pool && !(pool = realloc(pool, (cap_pool = cap_pool ? 2 * cap_pool : 1024) * sizeof(void *))))) {
    fprintf(stderr, "onnxgen: out of memory\n");
    exit(2);
  }
  pool[n_pool++] = p;
  return p;
}

static void pool_free(void)
{
  for (size_t i = 0; i < n_pool; i++)
    free(pool[i]);
  free(pool);
}

static char *str(const char *fmt, long v)
{
  char *s = gen_alloc(64 + strlen(fmt));
  snprintf(s, 64 + strlen(fmt), fmt, v);
  return s;
}

static char *dup(const char *s)
{
  return strcpy(gen_alloc(strlen(s) + 1), s);
}

/* ------------------------------------------------------------------ graph */

typedef struct graph {
  Onnx__GraphProto g;
  size_t cap_node, cap_init;
} graph;

static void add_node(graph *G, const char *op, char *in0, char *in1, char *in2, char *out)
{
  Onnx__NodeProto *n = gen_alloc(sizeof(*n));
  onnx__node_proto__init(n);
  n->op_type = dup(op);
  n->name = str("n%ld", (long)G->g.n_node);
  n->input = gen_alloc(3 * sizeof(char *));
  char *ins[3] = {in0, in1, in2};
  for (int i = 0; i < 3 && ins[i]; i++)
    n->input[n->n_input++] = ins[i];
  n->n_output = 1;
  n->output = gen_alloc(sizeof(char *));
  n->output[0] = out;
  if (G->g.n_node == G->cap_node) {
    Onnx__NodeProto **v = gen_alloc((G->cap_node = 2 * G->cap_node + 16) * sizeof(*v));
    if (G->g.n_node)
      memcpy(v, G->g.node, G->g.n_node * sizeof(*v));
    G->g.node = v;
  }
  G->g.node[G->g.n_node++] = n;
}

static Onnx__AttributeProto *ints_attr(const char *name, int n, const int64_t *v)
{
  Onnx__AttributeProto *a = gen_alloc(sizeof(*a));
  onnx__attribute_proto__init(a);
  a->name = dup(name);
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  a->n_ints = (size_t)n;
  a->ints = gen_alloc((size_t)n * sizeof(int64_t));
  memcpy(a->ints, v, (size_t)n * sizeof(int64_t));
  return a;
}

/* Conv 3x3, padding 1, on the last node added. */
static void make_conv(graph *G)
{
  Onnx__NodeProto *n = G->g.node[G->g.n_node - 1];
  static const int64_t k[] = {3, 3}, pads[] = {1, 1, 1, 1};
  n->n_attribute = 2;
  n->attribute = gen_alloc(2 * sizeof(*n->attribute));
  n->attribute[0] = ints_attr("kernel_shape", 2, k);
  n->attribute[1] = ints_attr("pads", 4, pads);
}

static Onnx__TensorProto *tensor(const char *name, int rank, const int64_t *dims)
{
  Onnx__TensorProto *t = gen_alloc(sizeof(*t));
  onnx__tensor_proto__init(t);
  t->name = dup(name);
  t->has_data_type = 1;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->n_dims = (size_t)rank;
  t->dims = gen_alloc((size_t)rank * sizeof(int64_t) + 1);
  if (rank)
    memcpy(t->dims, dims, (size_t)rank * sizeof(int64_t));
  return t;
}

static void add_init(graph *G, Onnx__TensorProto *t)
{
  if (G->g.n_initializer == G->cap_init) {
    Onnx__TensorProto **v = gen_alloc((G->cap_init = 2 * G->cap_init + 16) * sizeof(*v));
    if (G->g.n_initializer)
      memcpy(v, G->g.initializer, G->g.n_initializer * sizeof(*v));
    G->g.initializer = v;
  }
  G->g.initializer[G->g.n_initializer++] = t;
}

/* An initializer of small deterministic values. */
static char *weights(graph *G, const char *name, int rank, const int64_t *dims)
{
  Onnx__TensorProto *t = tensor(name, rank, dims);
  size_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= (size_t)dims[i];
  t->n_float_data = n;
  t->float_data = gen_alloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++)
    t->float_data[i] = (float)((long)((i * 7 + G->g.n_initializer * 13) % 17) - 8) / 64.0f;
  add_init(G, t);
  return t->name;
}

static Onnx__ValueInfoProto *value_info(const char *name, int rank, const int64_t *dims)
{
  Onnx__ValueInfoProto *v = gen_alloc(sizeof(*v));
  Onnx__TypeProto *tp = gen_alloc(sizeof(*tp));
  Onnx__TypeProto__Tensor *tt = gen_alloc(sizeof(*tt));
  Onnx__TensorShapeProto *sh = gen_alloc(sizeof(*sh));
  onnx__value_info_proto__init(v);
  onnx__type_proto__init(tp);
  onnx__type_proto__tensor__init(tt);
  onnx__tensor_shape_proto__init(sh);
  sh->n_dim = (size_t)rank;
  sh->dim = gen_alloc((size_t)rank * sizeof(*sh->dim) + 1);
  for (int i = 0; i < rank; i++) {
    sh->dim[i] = gen_alloc(sizeof(**sh->dim));
    onnx__tensor_shape_proto__dimension__init(sh->dim[i]);
    sh->dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    sh->dim[i]->dim_value = dims[i];
  }
  tt->has_elem_type = 1;
  tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tt->shape = sh;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  v->name = dup(name);
  v->type = tp;
  return v;
}

static void set_io(graph *G, const char *in, const char *out, int rank, const int64_t *dims)
{
  G->g.n_input = 1;
  G->g.input = gen_alloc(sizeof(*G->g.input));
  G->g.input[0] = value_info(in, rank, dims);
  G->g.n_output = 1;
  G->g.output = gen_alloc(sizeof(*G->g.output));
  G->g.output[0] = value_info(out, rank, dims);
}

static int write_model(graph *G, const char *path, long opset)
{
  Onnx__ModelProto m;
  Onnx__OperatorSetIdProto op;
  Onnx__OperatorSetIdProto *ops[1] = {&op};
  onnx__model_proto__init(&m);
  onnx__operator_set_id_proto__init(&op);
  op.domain = dup("");
  op.has_version = 1;
  op.version = opset;
  m.has_ir_version = 1;
  m.ir_version = 8;
  m.n_opset_import = 1;
  m.opset_import = ops;
  m.producer_name = dup("onnxgen");
  G->g.name = dup("g");
  m.graph = &G->g;
  size_t n = onnx__model_proto__get_packed_size(&m);
  uint8_t *buf = gen_alloc(n);
  onnx__model_proto__pack(&m, buf);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "onnxgen: cannot write %s\n", path);
    return 2;
  }
  return 0;
}

static graph *new_graph(void)
{
  graph *G = gen_alloc(sizeof(*G));
  onnx__graph_proto__init(&G->g);
  return G;
}

/* ------------------------------------------------------------------ models */

static int chain(long n, const char *path)
{
  static const int64_t dims[] = {1, 16};
  graph *G = new_graph();
  char *c = weights(G, "c", 2, dims), *h = dup("x");
  static const char *const ops[] = {"Relu", "Sigmoid", "Add", "Mul"};
  for (long i = 0; i < n; i++) {
    char *out = i == n - 1 ? dup("y") : str("h%ld", i);
    const char *op = ops[i % 4];
    add_node(G, op, h, i % 4 == 2 ? dup("x") : i % 4 == 3 ? c : NULL, NULL, out);
    h = out;
  }
  set_io(G, "x", "y", 2, dims);
  return write_model(G, path, 13);
}

static char *conv(graph *G, char *in, long i)
{
  static const int64_t w[] = {4, 4, 3, 3}, b[] = {4};
  char *out = str("conv%ld", i);
  add_node(G, "Conv", in, weights(G, str("w%ld", i), 4, w), weights(G, str("b%ld", i), 1, b), out);
  make_conv(G);
  return out;
}

static int resnet(long n, const char *path)
{
  static const int64_t dims[] = {1, 4, 8, 8};
  graph *G = new_graph();
  char *h = conv(G, dup("x"), 0);
  long blocks = (n - 1) / 5 > 0 ? (n - 1) / 5 : 1;
  for (long k = 0; k < blocks; k++) {
    char *a = conv(G, h, 2 * k + 1), *r = str("r%ld", k);
    add_node(G, "Relu", a, NULL, NULL, r);
    char *b = conv(G, r, 2 * k + 2), *s = str("s%ld", k);
    add_node(G, "Add", b, h, NULL, s);
    char *out = k == blocks - 1 ? dup("y") : str("h%ld", k);
    add_node(G, "Relu", s, NULL, NULL, out);
    h = out;
  }
  set_io(G, "x", "y", 4, dims);
  return write_model(G, path, 13);
}

/* n Relu branches of x, summed as a balanced tree: wide, not deep. */
static int wide(long n, const char *path)
{
  static const int64_t dims[] = {1, 16};
  graph *G = new_graph();
  char **level = gen_alloc((size_t)n * sizeof(char *));
  for (long i = 0; i < n; i++)
    add_node(G, "Relu", dup("x"), NULL, NULL, level[i] = str("b%ld", i));
  long m = n, id = 0;
  while (m > 1) {
    for (long i = 0; i + 1 < m; i += 2)
      add_node(G, "Add", level[i], level[i + 1], NULL, level[i / 2] = str("s%ld", id++));
    if (m % 2)
      level[m / 2] = level[m - 1];
    m = (m + 1) / 2;
  }
  add_node(G, "Relu", level[0], NULL, NULL, dup("y"));
  set_io(G, "x", "y", 2, dims);
  return write_model(G, path, 13);
}

static int names(int n, char **v, const char *path)
{
  static const int64_t dims[] = {1, 4};
  graph *G = new_graph();
  for (int i = 0; i + 1 < n; i++)
    add_node(G, "Relu", v[i], NULL, NULL, v[i + 1]);
  set_io(G, v[0], v[n - 1], 2, dims);
  return write_model(G, path, 13);
}

/* y = x + w, where w is declared with n elements but holds no data
 * (or, with `location`, holds them in an external file). */
static int declared(long n, const char *location, const char *path)
{
  int64_t dims[] = {1, n};
  graph *G = new_graph();
  Onnx__TensorProto *t = tensor("w", 2, dims);
  if (location) {
    Onnx__StringStringEntryProto *e = gen_alloc(sizeof(*e));
    onnx__string_string_entry_proto__init(e);
    e->key = dup("location");
    e->value = dup(location);
    t->n_external_data = 1;
    t->external_data = gen_alloc(sizeof(*t->external_data));
    t->external_data[0] = e;
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  }
  add_init(G, t);
  add_node(G, "Add", dup("x"), dup("w"), NULL, dup("y"));
  set_io(G, "x", "y", 2, dims);
  return write_model(G, path, 13);
}

static int opset(long v, const char *path)
{
  static const int64_t dims[] = {1, 4};
  graph *G = new_graph();
  add_node(G, "Relu", dup("x"), NULL, NULL, dup("y"));
  set_io(G, "x", "y", 2, dims);
  return write_model(G, path, v);
}

static int rank(long r, const char *path)
{
  int64_t *dims = gen_alloc((size_t)(r > 0 ? r : 1) * sizeof(int64_t));
  graph *G = new_graph();
  for (long i = 0; i < r; i++)
    dims[i] = 1;
  add_node(G, "Relu", dup("x"), NULL, NULL, dup("y"));
  set_io(G, "x", "y", (int)r, dims);
  return write_model(G, path, 13);
}

static int usage(void)
{
  fprintf(stderr, "usage: onnxgen chain|resnet|wide N OUT | names OUT NAME... | bigdecl|opset|rank OUT N | "
                  "external OUT PATH\n");
  return 2;
}

static int run(int argc, char **argv)
{
  if (argc < 4)
    return usage();
  const char *mode = argv[1];
  if (!strcmp(mode, "chain"))
    return chain(atol(argv[2]), argv[3]);
  if (!strcmp(mode, "resnet"))
    return resnet(atol(argv[2]), argv[3]);
  if (!strcmp(mode, "wide"))
    return wide(atol(argv[2]), argv[3]);
  if (!strcmp(mode, "names"))
    return argc < 5 ? usage() : names(argc - 3, argv + 3, argv[2]);
  if (!strcmp(mode, "bigdecl"))
    return declared(atol(argv[3]), NULL, argv[2]);
  if (!strcmp(mode, "external"))
    return declared(4, argv[3], argv[2]);
  if (!strcmp(mode, "opset"))
    return opset(atol(argv[3]), argv[2]);
  if (!strcmp(mode, "rank"))
    return rank(atol(argv[3]), argv[2]);
  return usage();
}

int main(int argc, char **argv)
{
  int rc = run(argc, argv);
  pool_free();
  return rc;
}
