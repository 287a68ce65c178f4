/* onnx_attr.c: typed readers of an ONNX node's attributes for the decoders
 * of onnx_ops.c. Every reader checks the attribute's declared type and
 * reports a mismatch naming the node and the attribute instead of falling
 * back to the default. */
#include "onnx_attr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef Onnx__AttributeProto__AttributeType attr_type;

const Onnx__AttributeProto *onnx_attr_find(const onnx_decoder *d, const char *name)
{
  for (size_t k = 0; k < d->np->n_attribute; k++) {
    const Onnx__AttributeProto *a = d->np->attribute[k];
    if (a && a->name && !strcmp(a->name, name))
      return a;
  }
  return NULL;
}

bool onnx_attr_fail(onnx_decoder *d, const char *name, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  aotc_error(d->r->ctx, d->n->loc, "node '%s' (%s): attribute '%s' %s", d->n->name, graph_node_op_name(d->n), name,
             msg);
  return false;
}

static const char *type_name(attr_type t)
{
  switch (t) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return "a float";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return "an int";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return "a string";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return "a tensor";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return "a graph";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return "a list of floats";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return "a list of ints";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return "a list of strings";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: return "a list of tensors";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return "a list of graphs";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED: return "untyped";
  default: return "of another kind (sparse tensor or type)";
  }
}

/* The attribute called name when it has type want (or, for a float, also
 * an int); NULL when absent; *ok false (reported) when of another type. */
static const Onnx__AttributeProto *typed(onnx_decoder *d, const char *name, attr_type want, bool *ok)
{
  const Onnx__AttributeProto *a = onnx_attr_find(d, name);
  *ok = true;
  if (!a || a->type == want ||
      (want == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT))
    return a;
  *ok = onnx_attr_fail(d, name, "must be %s, not %s", type_name(want), type_name(a->type));
  return NULL;
}

bool onnx_attr_int(onnx_decoder *d, const char *name, int64_t dflt, int64_t *out)
{
  bool ok;
  const Onnx__AttributeProto *a = typed(d, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, &ok);
  *out = a ? a->i : dflt;
  return ok;
}

bool onnx_attr_bool(onnx_decoder *d, const char *name, bool dflt, bool *out)
{
  int64_t v;
  bool ok = onnx_attr_int(d, name, dflt, &v);
  *out = v != 0;
  return ok;
}

bool onnx_attr_float(onnx_decoder *d, const char *name, double dflt, double *out)
{
  bool ok;
  const Onnx__AttributeProto *a = typed(d, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, &ok);
  *out = !a ? dflt : a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT ? (double)a->i : (double)a->f;
  return ok;
}

bool onnx_attr_string(onnx_decoder *d, const char *name, const char *dflt, const char **out)
{
  bool ok;
  const Onnx__AttributeProto *a = typed(d, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, &ok);
  *out = dflt;
  if (!a)
    return ok;
  *out = ir_strndup(d->r->ctx, a->s.data ? (const char *)a->s.data : "", a->s.len);
  return *out != NULL;
}

bool onnx_attr_enum(onnx_decoder *d, const char *name, const char *const *names, int n, int dflt, int *out)
{
  const char *s;
  char known[256] = "";
  if (!onnx_attr_string(d, name, names[dflt], &s))
    return false;
  for (int k = 0; k < n; k++)
    if (!strcmp(s, names[k])) {
      *out = k;
      return true;
    }
  for (int k = 0; k < n; k++)
    snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", k ? ", " : "", names[k]);
  return onnx_attr_fail(d, name, "'%s' is not supported (supported: %s)", s, known);
}

bool onnx_attr_ints(onnx_decoder *d, const char *name, int max, int64_t *out, int *count)
{
  bool ok;
  const Onnx__AttributeProto *a = typed(d, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, &ok);
  *count = -1;
  if (!a)
    return ok;
  if (a->n_ints > (size_t)max)
    return onnx_attr_fail(d, name, "lists %zu values, more than %d", a->n_ints, max);
  *count = (int)a->n_ints;
  if (a->n_ints)
    memcpy(out, a->ints, sizeof(int64_t) * a->n_ints);
  return true;
}

bool onnx_attr_type(onnx_decoder *d, const char *name, bool required, ir_type *out, bool *given)
{
  int64_t code;
  const Onnx__AttributeProto *a = onnx_attr_find(d, name);
  if (given)
    *given = a != NULL;
  if (!onnx_attr_int(d, name, 0, &code))
    return false;
  if (!a)
    return !required || onnx_attr_fail(d, name, "is required");
  if (!onnx_ir_type(code, out))
    return onnx_attr_fail(d, name, "is element type %s, which is not supported", onnx_type_name(code));
  return true;
}

bool onnx_attr_scalar(onnx_decoder *d, const char *name, ir_type *type, unsigned char *bytes)
{
  bool ok;
  const Onnx__AttributeProto *a = typed(d, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR, &ok);
  int rank;
  int64_t shape[IR_MAX_RANK];
  void *data;
  if (!a || !a->t)
    return ok && (!a || onnx_attr_fail(d, name, "has no tensor"));
  const char *what = ir_sprintf(d->r->ctx, "attribute '%s' of node '%s'", name, d->n->name);
  if (!onnx_tensor_decode(d->r->ctx, d->n->loc, what ? what : name, a->t, NULL, type, &rank, shape, &data))
    return false;
  for (int k = 0; k < rank; k++)
    if (shape[k] != 1)
      return onnx_attr_fail(d, name, "must hold one element");
  memcpy(bytes, data, (size_t)ir_types[*type].bytes);
  return true;
}

/* ------------------------------------------------------------------------
 * Convolution and pooling windows
 * ------------------------------------------------------------------------ */

/* The number of spatial dimensions list k describes (-1: absent), checked
 * against the lists before it. */
static bool window_list(onnx_decoder *d, const char *name, int per, int64_t *dst, int *n, const char **first)
{
  int count;
  if (!dst)
    return true;
  if (!onnx_attr_ints(d, name, per * IR_MAX_RANK, dst, &count))
    return false;
  if (count < 0)
    return true;
  if (count % per)
    return onnx_attr_fail(d, name, "must list an even number of values (the beginnings, then the ends)");
  if (*n >= 0 && count / per != *n)
    return onnx_attr_fail(d, name, "lists %d spatial dimensions, '%s' %d", count / per, *first, *n);
  *n = count / per;
  *first = name;
  return true;
}

static void window_defaults(onnx_decoder *d, graph_window *w, int64_t *output_padding)
{
  for (int i = 0; i < w->n_spatial; i++) {
    if (!onnx_attr_find(d, "kernel_shape"))
      w->kernel[i] = 0;
    if (!onnx_attr_find(d, "strides"))
      w->strides[i] = 1;
    if (!onnx_attr_find(d, "dilations"))
      w->dilations[i] = 1;
    if (!onnx_attr_find(d, "pads"))
      w->pads[i] = w->pads[i + w->n_spatial] = 0;
    if (output_padding && !onnx_attr_find(d, "output_padding"))
      output_padding[i] = 0;
  }
}

bool onnx_attr_window(onnx_decoder *d, graph_window *w, int64_t *output_padding)
{
  static const char *const modes[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
  const char *first = NULL;
  int n = -1, mode;
  if (!window_list(d, "kernel_shape", 1, w->kernel, &n, &first) ||
      !window_list(d, "strides", 1, w->strides, &n, &first) ||
      !window_list(d, "dilations", 1, w->dilations, &n, &first) || !window_list(d, "pads", 2, w->pads, &n, &first) ||
      !window_list(d, "output_padding", 1, output_padding, &n, &first))
    return false;
  w->n_spatial = n < 0 ? 0 : n;
  window_defaults(d, w, output_padding);
  if (!onnx_attr_enum(d, "auto_pad", modes, 4, 0, &mode))
    return false;
  w->auto_pad = (graph_auto_pad)mode;
  return true;
}

/* ------------------------------------------------------------------------
 * Attributes that later opsets made inputs
 * ------------------------------------------------------------------------ */

/* Makes v input k of the node (growing its input list). */
static bool set_input(onnx_decoder *d, int k, int v)
{
  ir_node *n = d->n;
  if (v < 0)
    return false;
  if (k >= n->n_in) {
    int *in = IR_NEW_ARRAY(d->r->ctx, int, k + 1);
    if (!in)
      return false;
    for (int j = 0; j <= k; j++)
      in[j] = j < n->n_in ? n->in[j] : -1;
    n->in = in;
    n->n_in = k + 1;
  }
  n->in[k] = v;
  return true;
}

static int add_constant(onnx_decoder *d, const char *what, ir_type t, int rank, const int64_t *shape, const void *data)
{
  const char *name = ir_sprintf(d->r->ctx, "%s_%s", d->n->name, what);
  int v = name ? graph_constant(d->r->g, name, t, rank, shape, data) : -1;
  if (v >= 0)
    d->r->g->values[v].internal = true;
  return v;
}

bool onnx_attr_list_input(onnx_decoder *d, const char *name, int k)
{
  bool ok;
  const Onnx__AttributeProto *a = typed(d, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, &ok);
  int64_t count = a ? (int64_t)a->n_ints : 0;
  if (!a)
    return ok;
  if (count > (1 << 20))
    return onnx_attr_fail(d, name, "lists %lld values, too many", (long long)count);
  return set_input(d, k, add_constant(d, name, IR_I64, 1, &count, a->ints));
}

bool onnx_attr_floats_input(onnx_decoder *d, const char *name, int k)
{
  bool ok;
  const Onnx__AttributeProto *a = typed(d, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS, &ok);
  int64_t count = a ? (int64_t)a->n_floats : 0;
  if (!a)
    return ok && onnx_attr_fail(d, name, "is required");
  if (count > (1 << 20))
    return onnx_attr_fail(d, name, "lists %lld values, too many", (long long)count);
  return set_input(d, k, add_constant(d, name, IR_F32, 1, &count, a->floats));
}

bool onnx_input_float(onnx_decoder *d, int k, const char *what, double v)
{
  float f = (float)v;
  return set_input(d, k, add_constant(d, what, IR_F32, 0, NULL, &f));
}

const Onnx__GraphProto *onnx_attr_graph(onnx_decoder *d, const char *name)
{
  const Onnx__AttributeProto *a = onnx_attr_find(d, name);
  if (!a)
    onnx_attr_fail(d, name, "is required");
  else if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH || !a->g)
    onnx_attr_fail(d, name, "must be a graph");
  return a && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH ? a->g : NULL;
}
