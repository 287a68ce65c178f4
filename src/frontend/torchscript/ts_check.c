/* ts_check.c: `aotc check model.pt` for a TorchScript archive: prints the
 * module tree (each module's class and code file), its parameters, buffers
 * and attributes with their shapes or values, each class's methods (at its
 * first module) and the free functions with their signatures and the
 * operators they call, and a summary of every operator the archive's code
 * uses (`torch._convolution x3, torch.relu_ x2`). */
#include "ts.h"

#include <stdlib.h>
#include <string.h>

#include "npy.h"

#define MAX_OPS 4096

/* Operator names and how many call sites use each. */
typedef struct op_count {
  const char *names[MAX_OPS];
  int counts[MAX_OPS];
  int n;
} op_count;

static const char *const builtins[] = {
    "int",   "float", "bool",  "len",        "str",           "range",          "annotate", "uninitialized",
    "isinstance", "unchecked_cast", "min", "max", "abs", "print", "list", "tuple", "dict",
};

/* ------------------------------------------------------------------------
 * Expressions as text (types and callees)
 * ------------------------------------------------------------------------ */

static void put(char *buf, size_t cap, size_t *n, const char *s)
{
  size_t len = strlen(s);
  if (*n + len < cap) {
    memcpy(buf + *n, s, len + 1);
    *n += len;
  }
}

static void expr_text(char *buf, size_t cap, size_t *n, const ts_node *e, int depth)
{
  if (!e || depth > 16) {
    put(buf, cap, n, "...");
    return;
  }
  char num[32];
  switch (e->kind) {
  case TS_N_NAME:
  case TS_N_STR:
    put(buf, cap, n, e->name);
    break;
  case TS_N_NONE:
    put(buf, cap, n, "None");
    break;
  case TS_N_INT:
    snprintf(num, sizeof(num), "%lld", (long long)e->i);
    put(buf, cap, n, num);
    break;
  case TS_N_ATTR:
    expr_text(buf, cap, n, e->lhs, depth + 1);
    put(buf, cap, n, ".");
    put(buf, cap, n, e->name);
    break;
  case TS_N_SUBSCRIPT:
    expr_text(buf, cap, n, e->lhs, depth + 1);
    put(buf, cap, n, "[");
    expr_text(buf, cap, n, e->rhs, depth + 1);
    put(buf, cap, n, "]");
    break;
  case TS_N_TUPLE:
    for (int i = 0; i < e->items.n; i++) {
      put(buf, cap, n, i ? ", " : "");
      expr_text(buf, cap, n, e->items.items[i], depth + 1);
    }
    break;
  default: put(buf, cap, n, ts_node_kind_names[e->kind]); break;
  }
}

static const char *text_of(aotc_ctx *ctx, const ts_node *e)
{
  char buf[512];
  size_t n = 0;
  buf[0] = 0;
  expr_text(buf, sizeof(buf), &n, e, 0);
  return ir_strdup(ctx, buf);
}

/* The dotted name of a callee made only of names and attributes; NULL otherwise. */
static const char *dotted_name(aotc_ctx *ctx, const ts_node *e)
{
  const ts_node *root = e;
  while (root->kind == TS_N_ATTR)
    root = root->lhs;
  return root->kind == TS_N_NAME ? text_of(ctx, e) : NULL;
}

static bool is_builtin(const char *name)
{
  for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
    if (!strcmp(builtins[i], name))
      return true;
  return false;
}

const char *ts_call_op(aotc_ctx *ctx, const ts_node *call)
{
  if (call->kind != TS_N_CALL)
    return NULL;
  const char *name = dotted_name(ctx, call->lhs);
  if (!name)
    return NULL;
  if (!strncmp(name, "torch.", 6) || !strncmp(name, "ops.", 4) || is_builtin(name))
    return name;
  return NULL;
}

/* ------------------------------------------------------------------------
 * Counting calls
 * ------------------------------------------------------------------------ */

static void count_op(op_count *c, const char *name)
{
  for (int i = 0; i < c->n; i++)
    if (!strcmp(c->names[i], name)) {
      c->counts[i]++;
      return;
    }
  if (c->n < MAX_OPS) {
    c->names[c->n] = name;
    c->counts[c->n++] = 1;
  }
}

/* The calls of some code: operators, and the rest (submodule forwards,
 * functions, methods) by their dotted name. */
typedef struct calls {
  op_count ops, others;
} calls;

static void count_node(aotc_ctx *ctx, calls *c, const ts_node *n, int depth);

static void count_list(aotc_ctx *ctx, calls *c, const ts_node_list *l, int depth)
{
  for (int i = 0; i < l->n; i++)
    count_node(ctx, c, l->items[i], depth);
}

static void count_node(aotc_ctx *ctx, calls *c, const ts_node *n, int depth)
{
  if (!n || depth > 400)
    return;
  if (n->kind == TS_N_CALL) {
    const char *op = ts_call_op(ctx, n), *other = op ? NULL : dotted_name(ctx, n->lhs);
    if (op)
      count_op(&c->ops, op);
    else if (other)
      count_op(&c->others, other);
  }
  count_node(ctx, c, n->lhs, depth + 1);
  count_node(ctx, c, n->rhs, depth + 1);
  count_node(ctx, c, n->extra, depth + 1);
  count_list(ctx, c, &n->items, depth + 1);
  count_list(ctx, c, &n->body, depth + 1);
  count_list(ctx, c, &n->orelse, depth + 1);
}

static void swap_ops(op_count *c, int a, int b)
{
  const char *s = c->names[a];
  int k = c->counts[a];
  c->names[a] = c->names[b];
  c->counts[a] = c->counts[b];
  c->names[b] = s;
  c->counts[b] = k;
}

static void sort_ops(op_count *c)
{
  for (int i = 1; i < c->n; i++)
    for (int j = i; j > 0 && strcmp(c->names[j - 1], c->names[j]) > 0; j--)
      swap_ops(c, j, j - 1);
}

static void print_ops(FILE *out, op_count *c)
{
  sort_ops(c);
  for (int i = 0; i < c->n; i++)
    fprintf(out, "%s%s x%d", i ? ", " : "", c->names[i], c->counts[i]);
}

/* ------------------------------------------------------------------------
 * The tree
 * ------------------------------------------------------------------------ */

/* "method forward(x: Tensor) -> Tensor: torch.relu x1; calls fc.forward x1"
 * (a method's self is left out; a function is named with its module). */
static void print_def(FILE *out, aotc_ctx *ctx, const ts_node *def, const char *module, int indent)
{
  fprintf(out, "%*s%s %s%s%s(", indent, "", module ? "function" : "method", module ? module : "", module ? "." : "",
          def->name);
  for (int i = module ? 0 : 1; i < def->items.n; i++) {
    const ts_node *p = def->items.items[i];
    fprintf(out, "%s%s%s%s", i > !module ? ", " : "", p->name, p->rhs ? ": " : "", p->rhs ? text_of(ctx, p->rhs) : "");
  }
  fprintf(out, ")%s%s: ", def->rhs ? " -> " : "", def->rhs ? text_of(ctx, def->rhs) : "");
  calls *c = IR_NEW(ctx, calls);
  if (c) {
    count_list(ctx, c, &def->body, 0);
    print_ops(out, &c->ops);
    fputs(c->ops.n && c->others.n ? "; calls " : c->others.n ? "calls " : "", out);
    print_ops(out, &c->others);
  }
  fputc('\n', out);
}

static void print_functions(FILE *out, const ts_archive *a)
{
  for (int f = 0; f < a->n_files; f++)
    for (int i = 0; i < a->files[f]->stmts.n; i++)
      if (a->files[f]->stmts.items[i]->kind == TS_N_DEF)
        print_def(out, a->ctx, a->files[f]->stmts.items[i], a->files[f]->module, 0);
}

static const char *value_text(aotc_ctx *ctx, const ts_value *v)
{
  switch (v->kind) {
  case TS_V_NONE: return "None";
  case TS_V_BOOL: return v->u.b ? "True" : "False";
  case TS_V_INT: return ir_sprintf(ctx, "%lld", (long long)v->u.i);
  case TS_V_FLOAT: return ir_sprintf(ctx, "%g", v->u.f);
  case TS_V_STR: return ir_sprintf(ctx, "\"%.60s\"", v->u.str.s);
  case TS_V_TENSOR: return ts_tensor_describe(ctx, v->u.tensor);
  case TS_V_TUPLE:
  case TS_V_LIST: return ir_sprintf(ctx, "%s of %d", ts_value_kind_names[v->kind], v->u.seq.n);
  case TS_V_DICT: return ir_sprintf(ctx, "dict of %d", v->u.seq.n / 2);
  default: return ts_value_kind_names[v->kind];
  }
}

static const char *const attr_kinds[] = {"parameter", "buffer", "module", "attribute"};

/* Prints a module, its attributes and submodules; a class's methods are
 * listed at its first module only (shown: the classes listed so far). */
static void print_module(FILE *out, aotc_ctx *ctx, ts_map *shown, const ts_module *m, const char *name, int indent)
{
  fprintf(out, "%*smodule %s: %s (%s)\n", indent, "", name, m->cls->qualname, m->cls->file->path);
  for (int i = 0; i < m->n_attrs; i++) {
    const ts_attr *at = &m->attrs[i];
    if (at->kind == TS_ATTR_MODULE)
      print_module(out, ctx, shown, at->module, at->name, indent + 2);
    else
      fprintf(out, "%*s%s %s: %s\n", indent + 2, "", attr_kinds[at->kind], at->name, value_text(ctx, at->value));
  }
  if (ts_map_get(shown, m->cls->qualname)) {
    fprintf(out, "%*smethods: as above\n", indent + 2, "");
    return;
  }
  ts_map_put(ctx, shown, m->cls->qualname, m->cls);
  for (int i = 0; i < m->cls->methods.n; i++)
    print_def(out, ctx, m->cls->methods.items[i], NULL, indent + 2);
}

/* Parameters and buffers: count and elements, over the whole tree. */
static void count_tensors(const ts_module *m, int64_t *n, int64_t *elems)
{
  for (int i = 0; i < m->n_attrs; i++) {
    const ts_attr *at = &m->attrs[i];
    if (at->kind == TS_ATTR_MODULE)
      count_tensors(at->module, n, elems);
    else if (at->value->kind == TS_V_TENSOR) {
      (*n)++;
      *elems += at->value->u.tensor->numel;
    }
  }
}

static void print_constants(FILE *out, aotc_ctx *ctx, const ts_archive *a)
{
  int n = a->constants ? a->constants->u.seq.n : 0;
  fprintf(out, "constants: %d", n);
  for (int i = 0; i < n; i++)
    fprintf(out, "%s c%d %s", i ? "," : "", i, value_text(ctx, a->constants->u.seq.items[i]));
  fputc('\n', out);
}

void ts_print_archive(FILE *out, const ts_archive *a)
{
  aotc_ctx *ctx = a->ctx;
  fprintf(out, "archive %s: TorchScript version %s, folder '%s', %d entries, %d code files\n", a->name, a->version,
          a->zip->top, a->zip->n_entries, a->n_files);
  ts_map shown = {0};
  print_module(out, ctx, &shown, a->root, "<root>", 0);
  print_functions(out, a);
  int64_t n = 0, elems = 0;
  count_tensors(a->root, &n, &elems);
  fprintf(out, "tensors: %lld (%lld elements)\n", (long long)n, (long long)elems);
  print_constants(out, ctx, a);
  calls *c = IR_NEW(ctx, calls);
  for (int i = 0; c && i < a->n_files; i++)
    count_list(ctx, c, &a->files[i]->stmts, 0);
  fputs("operators: ", out);
  if (c)
    print_ops(out, &c->ops);
  fputc('\n', out);
}

/* ------------------------------------------------------------------------
 * The driver's entry
 * ------------------------------------------------------------------------ */

bool ts_file_is_archive(const char *path)
{
  unsigned char head[4];
  FILE *f = fopen(path, "rb");
  bool zip = f && fread(head, 1, 4, f) == 4 && ts_is_archive(head, 4);
  if (f)
    fclose(f);
  return zip;
}

int ts_check_file(aotc_ctx *ctx, const char *path, FILE *out)
{
  size_t len;
  unsigned char *bytes = driver_read_file(ctx, path, &len);
  if (!bytes)
    return 1;
  ts_archive *a = ts_archive_open(ctx, path, bytes, len);
  if (a)
    ts_print_archive(out, a);
  aotc_free(ctx, bytes);
  return a ? 0 : 1;
}
