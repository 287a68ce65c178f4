/* ts_graph.c: a TorchScript archive as a model graph (ts_read_graph). The
 * root module's forward runs once at compile time (ts_eval.c): its
 * arguments become the graph's inputs (shapes from --shape or from the
 * inputs of `aotc run`), parameters, buffers and CONSTANTS.cN become graph
 * constants named after their module path ("features.0.weight"),
 * submodule calls (forward, forward1, ___torch_mangle_N classes) and free
 * functions are run in place, and what forward returns becomes the
 * graph's outputs. Operators are built through ts_ops.c's table. */
#include "ts_graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_CALL_DEPTH 200

/* ------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------ */

ts_x *ts_fail(ts_interp *I, const ts_node *at, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  aotc_vdiag(I->ctx, AOTC_ERROR, at ? at->loc : I->g->loc, fmt, ap);
  va_end(ap);
  return NULL;
}

ts_x *ts_new_x(ts_interp *I, ts_x_kind kind)
{
  ts_x *x = IR_NEW(I->ctx, ts_x);
  if (x)
    x->kind = kind;
  return x;
}

ts_x *ts_int_x(ts_interp *I, int64_t i)
{
  ts_x *x = ts_new_x(I, TS_X_INT);
  if (x)
    x->u.i = i;
  return x;
}

ts_x *ts_float_x(ts_interp *I, double f)
{
  ts_x *x = ts_new_x(I, TS_X_FLOAT);
  if (x)
    x->u.f = f;
  return x;
}

ts_x *ts_bool_x(ts_interp *I, bool b)
{
  ts_x *x = ts_new_x(I, TS_X_BOOL);
  if (x)
    x->u.b = b;
  return x;
}

ts_x *ts_none_x(ts_interp *I)
{
  return ts_new_x(I, TS_X_NONE);
}

ts_x *ts_seq_x(ts_interp *I, ts_x_kind kind, int n)
{
  ts_x *x = ts_new_x(I, kind);
  ts_x **items = x ? IR_NEW_ARRAY(I->ctx, ts_x *, n) : NULL;
  if (!items)
    return NULL;
  x->u.seq.items = items;
  x->u.seq.n = n;
  return x;
}

ts_x *ts_tensor_x(ts_interp *I, int v)
{
  ts_x *x = v >= 0 ? ts_new_x(I, TS_X_TENSOR) : NULL;
  ts_slot *s = x ? IR_NEW(I->ctx, ts_slot) : NULL;
  if (!s)
    return NULL;
  s->v = v;
  x->u.t = s;
  return x;
}

/* ------------------------------------------------------------------------
 * Archive tensors and attributes
 * ------------------------------------------------------------------------ */

ts_x *ts_archive_tensor(ts_interp *I, const ts_tensor *t, const char *name, const ts_node *at)
{
  char key[32];
  snprintf(key, sizeof key, "%p", (const void *)t);
  ts_x *x = ts_map_get(&I->tensors, key);
  if (x)
    return x;
  if (I->scope) {
    x = ts_control_archive_tensor(I, t, name, at);
  } else {
    const void *data = ts_tensor_ir_data(I->ctx, t);
    int v = data ? graph_constant(I->g, name, ts_dtypes[t->dtype].ir, t->rank, t->shape, data) : -1;
    if (v < 0)
      return at ? ts_fail(I, at, "cannot use tensor '%s'", name) : NULL;
    x = ts_tensor_x(I, v);
  }
  const char *k = ir_strdup(I->ctx, key);
  return x && k && ts_map_put(I->ctx, &I->tensors, k, x) ? x : NULL;
}

static ts_x *pickled_seq(ts_interp *I, const ts_value *v, const char *name, const ts_node *at)
{
  ts_x_kind kind = v->kind == TS_V_TUPLE ? TS_X_TUPLE : v->kind == TS_V_DICT ? TS_X_DICT : TS_X_LIST;
  ts_x *x = ts_seq_x(I, kind, v->u.seq.n);
  for (int i = 0; x && i < v->u.seq.n; i++)
    if (!(x->u.seq.items[i] = ts_from_pickle(I, v->u.seq.items[i], ir_sprintf(I->ctx, "%s.%d", name, i), at)))
      return NULL;
  return x;
}

ts_x *ts_from_pickle(ts_interp *I, const ts_value *v, const char *name, const ts_node *at)
{
  ts_x *x;
  switch (v->kind) {
  case TS_V_NONE: return ts_none_x(I);
  case TS_V_BOOL: return ts_bool_x(I, v->u.b);
  case TS_V_INT: return ts_int_x(I, v->u.i);
  case TS_V_FLOAT: return ts_float_x(I, v->u.f);
  case TS_V_STR:
    if ((x = ts_new_x(I, TS_X_STR)))
      x->u.s = v->u.str.s;
    return x;
  case TS_V_TUPLE:
  case TS_V_LIST:
  case TS_V_DICT: return pickled_seq(I, v, name ? name : "", at);
  case TS_V_TENSOR: return ts_archive_tensor(I, v->u.tensor, name, at);
  default: return ts_new_x(I, TS_X_OTHER);
  }
}

/* A class-level constant (`in_features : Final[int] = 8`). */
static const ts_node *class_constant(const ts_class *c, const char *name)
{
  for (int i = 0; i < c->def->body.n; i++) {
    const ts_node *s = c->def->body.items[i];
    if (s->kind == TS_N_ANNASSIGN && s->extra && s->items.n == 1 && s->items.items[0]->kind == TS_N_NAME &&
        !strcmp(s->items.items[0]->name, name))
      return s->extra;
  }
  return NULL;
}

static const char *attr_path(ts_interp *I, const ts_module *m, const char *name)
{
  return *m->path ? ir_sprintf(I->ctx, "%s.%s", m->path, name) : name;
}

ts_x *ts_module_get(ts_interp *I, ts_module *m, const char *name, const ts_node *at)
{
  const ts_attr *a = ts_module_attr(m, name);
  if (!a) {
    const ts_node *k = class_constant(m->cls, name);
    ts_frame *f = k ? ts_frame_new(I) : NULL;
    if (f)
      return ts_eval(I, f, k);
    return ts_fail(I, at, "module '%s' (%s) has no attribute '%s'", *m->path ? m->path : "<root>", m->cls->name,
                   name);
  }
  if (a->kind == TS_ATTR_MODULE) {
    ts_x *x = ts_new_x(I, TS_X_MODULE);
    if (x)
      x->u.m = a->module;
    return x;
  }
  return ts_from_pickle(I, a->value, attr_path(I, m, name), at);
}

/* ------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------ */

static bool inputs_known(ts_interp *I, const ir_node *n)
{
  for (int k = 0; k < n->n_in; k++)
    if (n->in[k] >= 0 && I->g->values[n->in[k]].rank < 0)
      return false;
  return true;
}

ts_x *ts_made(ts_interp *I, const ts_call *c, int v)
{
  if (v < 0)
    return NULL;
  int p = I->g->values[v].producer;
  if (p >= 0) {
    ir_node *n = &I->g->nodes[p];
    n->loc = c->node->loc;
    n->source_op = c->op;
    if (!inputs_known(I, n))
      return ts_fail(I, c->node, "%s: an input has no known shape", c->op);
    if (!graph_op_infer(I->g, n))
      return NULL;
  }
  return ts_tensor_x(I, v);
}

/* ------------------------------------------------------------------------
 * Calls
 * ------------------------------------------------------------------------ */

static const ts_node *param_default(const ts_node *def, int k)
{
  return k < def->items.n ? def->items.items[k]->extra : NULL;
}

/* The value of parameter k from the call: positional, keyword, default. */
static ts_x *param_value(ts_interp *I, const ts_node *def, int k, int first, const ts_call *c)
{
  const char *name = def->items.items[k]->name;
  if (k - first < c->n_args)
    return c->args[k - first];
  for (int i = 0; i < c->n_kw; i++)
    if (!strcmp(c->kw_names[i], name))
      return c->kw_values[i];
  const ts_node *d = param_default(def, k);
  ts_frame *f = d ? ts_frame_new(I) : NULL;
  if (f)
    return ts_eval(I, f, d);
  return ts_fail(I, c->node, "missing argument '%s' of '%s'", name, def->name);
}

static bool bind_params(ts_interp *I, ts_frame *f, const ts_node *def, const ts_call *c, ts_x *self)
{
  int first = self ? 1 : 0;
  if (self && def->items.n && !ts_frame_set(I, f, def->items.items[0]->name, self))
    return false;
  if (c->n_args > def->items.n - first) {
    ts_fail(I, c->node, "'%s' takes %d arguments, not %d", def->name, def->items.n - first, c->n_args);
    return false;
  }
  for (int k = first; k < def->items.n; k++) {
    ts_x *x = param_value(I, def, k, first, c);
    if (!x || !ts_frame_set(I, f, def->items.items[k]->name, x))
      return false;
  }
  return true;
}

ts_x *ts_call_function(ts_interp *I, const ts_node *def, const ts_call *c, ts_x *self)
{
  if (I->depth >= MAX_CALL_DEPTH)
    return ts_fail(I, c->node, "calls nest deeper than %d (recursion?)", MAX_CALL_DEPTH);
  ts_frame *f = ts_frame_new(I);
  if (!f || !bind_params(I, f, def, c, self))
    return NULL;
  I->depth++;
  ts_x *r = ts_run_body(I, f, &def->body);
  I->depth--;
  return r;
}

ts_x *ts_call_method(ts_interp *I, ts_module *m, const char *name, const ts_call *c)
{
  const ts_node *def = ts_class_method(m->cls, name);
  ts_x *self = def ? ts_new_x(I, TS_X_MODULE) : NULL;
  if (!def)
    return ts_fail(I, c->node, "module '%s' (%s) has no method '%s'", *m->path ? m->path : "<root>", m->cls->name,
                   name);
  if (!self)
    return NULL;
  self->u.m = m;
  return ts_call_function(I, def, c, self);
}

/* ------------------------------------------------------------------------
 * Inputs and outputs
 * ------------------------------------------------------------------------ */

static const onnx_given *given_for(aotc_ctx *ctx, const ts_graph_options *opt, const char *name)
{
  for (int i = 0; opt && i < opt->n_given; i++) {
    const char *id = ir_c_identifier(ctx, opt->given[i].name);
    if (!strcmp(opt->given[i].name, name) || (id && !strcmp(id, name)))
      return &opt->given[i];
  }
  return NULL;
}

static const onnx_shape_spec *spec_for(const ts_graph_options *opt, const char *name)
{
  for (int i = 0; opt && i < opt->n_shapes; i++)
    if (!strcmp(opt->shapes[i].input, name))
      return &opt->shapes[i];
  return NULL;
}

/* A named dimension's value in this reading. */
static bool size_value(const ts_graph_options *opt, const char *name, int64_t *out)
{
  for (int i = 0; i < opt->n_sizes; i++)
    if (!strcmp(opt->size_names[i], name)) {
      *out = opt->size_values[i];
      return true;
    }
  return false;
}

static int spec_input(ts_interp *I, const ts_node *param, const onnx_shape_spec *s, const ts_graph_options *opt)
{
  int64_t dims[IR_MAX_RANK];
  if (s->rank > IR_MAX_RANK) {
    ts_fail(I, param, "--shape %s: rank %d is not supported", s->input, s->rank);
    return -1;
  }
  for (int d = 0; d < s->rank; d++) {
    dims[d] = s->dims[d];
    if (s->names && s->names[d] && !size_value(opt, s->names[d], &dims[d])) {
      ts_fail(I, param, "--shape %s: no value for the named dimension '%s'", s->input, s->names[d]);
      return -1;
    }
  }
  return graph_input(I->g, param->name, IR_F32, s->rank, dims);
}

/* Forward's argument `param` as a graph input; an argument with a default
 * value that no --shape or input names takes its default. */
static ts_x *make_input(ts_interp *I, const ts_node *param, const ts_graph_options *opt)
{
  const ts_node *type = param->rhs;
  ts_frame *f = param->extra && !given_for(I->ctx, opt, param->name) && !spec_for(opt, param->name)
                    ? ts_frame_new(I) : NULL;
  if (f)
    return ts_eval(I, f, param->extra);
  if (type && !(type->kind == TS_N_NAME && !strcmp(type->name, "Tensor")))
    return ts_fail(I, param, "forward's argument '%s' is not a Tensor: only tensor arguments are supported",
                   param->name);
  const onnx_given *given = given_for(I->ctx, opt, param->name);
  const onnx_shape_spec *spec = spec_for(opt, param->name);
  int v = -1;
  if (given)
    v = graph_input(I->g, param->name, given->type, given->rank, given->shape);
  else if (spec)
    v = spec_input(I, param, spec, opt);
  else if (opt && opt->given)
    return ts_fail(I, NULL, "missing --input %s=PATH (an argument of forward)", param->name);
  else
    return ts_fail(I, NULL, "input '%s' has no shape: pass --shape %s=D0,D1,... (a TorchScript archive records none)",
                   param->name, param->name);
  if (v >= 0 && given)
    I->g->values[v].given = given->data;
  return ts_tensor_x(I, v);
}

static bool check_specs(ts_interp *I, const ts_node *def, const ts_graph_options *opt)
{
  for (int i = 0; opt && i < opt->n_shapes; i++) {
    bool found = false;
    for (int k = 1; k < def->items.n; k++)
      found |= !strcmp(def->items.items[k]->name, opt->shapes[i].input);
    if (!found) {
      ts_fail(I, NULL, "--shape %s: forward has no argument named '%s'", opt->shapes[i].input, opt->shapes[i].input);
      return false;
    }
  }
  return true;
}

static bool make_inputs(ts_interp *I, const ts_node *def, const ts_graph_options *opt, ts_call *c)
{
  c->n_args = def->items.n - 1;
  c->args = IR_NEW_ARRAY(I->ctx, ts_x *, c->n_args);
  if (!c->args || !check_specs(I, def, opt))
    return false;
  for (int k = 1; k < def->items.n; k++)
    if (!(c->args[k - 1] = make_input(I, def->items.items[k], opt)))
      return false;
  return true;
}

static bool add_output(ts_interp *I, const ts_x *x, const char *name, const ts_node *at)
{
  if (x->kind != TS_X_TENSOR) {
    ts_fail(I, at, "forward returns a value that is not a tensor");
    return false;
  }
  int v = x->u.t->v;
  if (I->g->values[v].is_output || I->g->values[v].is_input || I->g->values[v].data) {
    v = graph_unary(I->g, GRAPH_OP_IDENTITY, v);
    if (v < 0 || !graph_op_infer(I->g, &I->g->nodes[I->g->values[v].producer]))
      return false;
  }
  I->g->values[v].name = name;
  return graph_output(I->g, v);
}

/* A tensor, or a tuple or list of tensors: output, output0, output1, ... */
static bool make_outputs(ts_interp *I, const ts_x *r, const ts_node *at)
{
  if (r->kind != TS_X_TUPLE && r->kind != TS_X_LIST)
    return add_output(I, r, "output", at);
  for (int i = 0; i < r->u.seq.n; i++)
    if (!add_output(I, r->u.seq.items[i], ir_sprintf(I->ctx, "output%d", i), at))
      return false;
  return r->u.seq.n > 0 || (ts_fail(I, at, "forward returns nothing"), false);
}

/* ------------------------------------------------------------------------
 * Entry
 * ------------------------------------------------------------------------ */

static ir_graph *run_forward(ts_interp *I, const ts_graph_options *opt)
{
  ts_module *root = I->a->root;
  const ts_node *def = ts_class_method(root->cls, "forward");
  if (!def) {
    ts_fail(I, NULL, "the root module (%s) has no forward method", root->cls->name);
    return NULL;
  }
  ts_call c = {.node = def, .op = "forward"};
  ts_x *self = ts_new_x(I, TS_X_MODULE);
  if (!self || !make_inputs(I, def, opt, &c))
    return NULL;
  self->u.m = root;
  ts_x *r = ts_call_function(I, def, &c, self);
  if (!r || !make_outputs(I, r, def))
    return NULL;
  return I->ctx->n_errors || I->ctx->oom ? NULL : I->g;
}

ir_graph *ts_read_graph(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                        const ts_graph_options *opt)
{
  ts_archive *a = ts_archive_open(ctx, path, data, len);
  ts_interp *I = a ? IR_NEW(ctx, ts_interp) : NULL;
  ir_graph *g = I ? ir_graph_new(ctx, a->zip->loc) : NULL;
  if (!g)
    return NULL;
  *I = (ts_interp){.ctx = ctx, .a = a, .g = g};
  g->weights_as_params = opt && opt->weights_as_params;
  return run_forward(I, opt);
}

static bool add_name(aotc_ctx *ctx, const char **names, int *n, const char *name)
{
  for (int i = 0; i < *n; i++)
    if (!strcmp(names[i], name))
      return true;
  if (*n == IR_PROBES_MAX) {
    aotc_error(ctx, (ir_loc){0}, "--shape: more than %d named dimensions", IR_PROBES_MAX);
    return false;
  }
  names[(*n)++] = name;
  return true;
}

static bool any_named(const onnx_shape_spec *specs, int n_specs)
{
  for (int i = 0; i < n_specs; i++)
    for (int d = 0; specs[i].names && d < specs[i].rank; d++)
      if (specs[i].names[d])
        return true;
  return false;
}

int ts_size_names(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                  const onnx_shape_spec *specs, int n_specs, const char *const **names)
{
  *names = NULL;
  if (!any_named(specs, n_specs))
    return 0;
  ts_archive *a = ts_archive_open(ctx, path, data, len);
  const ts_node *def = a ? ts_class_method(a->root->cls, "forward") : NULL;
  const char **out = IR_NEW_ARRAY(ctx, const char *, IR_PROBES_MAX);
  int n = 0;
  if (!def || !out)
    return a && !def ? (aotc_error(ctx, a->zip->loc, "the root module has no forward method"), -1) : -1;
  for (int k = 1; k < def->items.n; k++)
    for (int i = 0; i < n_specs; i++)
      for (int d = 0; !strcmp(specs[i].input, def->items.items[k]->name) && specs[i].names && d < specs[i].rank; d++)
        if (specs[i].names[d] && !add_name(ctx, out, &n, specs[i].names[d]))
          return -1;
  *names = out;
  return n;
}

bool ts_archive_extension(const char *path)
{
  const char *dot = path ? strrchr(path, '.') : NULL;
  return dot && (!strcmp(dot, ".pt") || !strcmp(dot, ".pth") || !strcmp(dot, ".ts"));
}
