/* ts_module.c: opens a TorchScript archive as a whole: the zip, the
 * version, every code file (parsed), constants.pkl (tensors in
 * constants/), data.pkl (tensors in data/), and resolves the pickled root
 * object into a module tree: each module's class (its code), submodules,
 * parameters, buffers and other attributes. The graph builder walks this
 * tree; nothing here builds graphs or knows operators. */
#include "ts.h"

#include <stdlib.h>
#include <string.h>

#define MAX_MODULE_DEPTH 64
#define MAX_MODULES 100000

typedef struct loader {
  aotc_ctx *ctx;
  ts_archive *a;
  ir_loc loc;               /* the archive, for errors without a line */
  ir_loc data_loc;          /* data.pkl */
  int n_modules;
  const ts_value *ancestors[MAX_MODULE_DEPTH];
  int depth;
} loader;

static bool fail(loader *l, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(loader *l, ir_loc loc, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  aotc_vdiag(l->ctx, AOTC_ERROR, loc, fmt, ap);
  va_end(ap);
  return false;
}

static bool ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

static bool starts_with(const char *s, const char *prefix)
{
  return !strncmp(s, prefix, strlen(prefix));
}

/* ------------------------------------------------------------------------
 * Small entries: version, byteorder
 * ------------------------------------------------------------------------ */

/* An entry's text without surrounding blanks; NULL (no error) when absent. */
static const char *read_text(loader *l, const char *path, bool *failed)
{
  const ts_zip_entry *e = ts_zip_find(l->a->zip, path);
  size_t len;
  const unsigned char *b = e ? ts_zip_read(l->a->zip, e, &len) : NULL;
  *failed = e && !b;
  if (!b)
    return NULL;
  while (len && (b[len - 1] == '\n' || b[len - 1] == '\r' || b[len - 1] == ' '))
    len--;
  return ir_strndup(l->ctx, (const char *)b, len);
}

static bool read_version(loader *l)
{
  bool failed;
  const char *v = read_text(l, "version", &failed);
  if (!v && !failed)
    v = read_text(l, ".data/version", &failed);
  if (failed)
    return false;
  if (!v)
    return fail(l, l->loc, "the archive has no 'version' entry: it is not a TorchScript archive");
  l->a->version = v;
  const char *order = read_text(l, "byteorder", &failed);
  if (failed)
    return false;
  if (order && strcmp(order, "little"))
    return fail(l, l->loc, "the archive's byte order is '%s'; only little-endian archives are supported", order);
  return true;
}

/* ------------------------------------------------------------------------
 * Code files and classes
 * ------------------------------------------------------------------------ */

/* "code/__torch__/torch/nn/modules/linear.py" -> "__torch__.torch.nn.modules.linear" */
static const char *code_module(loader *l, const char *path)
{
  char *m = ir_strndup(l->ctx, path + 5, strlen(path) - 8);
  for (char *c = m; c && *c; c++)
    if (*c == '/')
      *c = '.';
  return m;
}

/* The names of a class attribute such as __parameters__ = ["weight", "bias", ]. */
static bool name_list(loader *l, const ts_node *value, const char ***names, int *n)
{
  if (value->kind != TS_N_LIST)
    return fail(l, value->loc, "expected a list of names");
  *names = IR_NEW_ARRAY(l->ctx, const char *, value->items.n);
  if (!*names)
    return false;
  for (int i = 0; i < value->items.n; i++) {
    const ts_node *s = value->items.items[i];
    if (s->kind != TS_N_STR)
      return fail(l, s->loc, "expected a string");
    (*names)[i] = s->name;
  }
  *n = value->items.n;
  return true;
}

static bool is_assign_to(const ts_node *s, const char *name)
{
  return s->kind == TS_N_ASSIGN && s->items.n == 1 && s->items.items[0]->kind == TS_N_NAME &&
         !strcmp(s->items.items[0]->name, name);
}

static bool class_member(loader *l, ts_class *c, ts_node *s)
{
  if (s->kind == TS_N_DEF)
    return ts_list_push(l->ctx, &c->methods, s);
  if (is_assign_to(s, "__parameters__"))
    return name_list(l, s->lhs, &c->parameters, &c->n_parameters);
  if (is_assign_to(s, "__buffers__"))
    return name_list(l, s->lhs, &c->buffers, &c->n_buffers);
  return true;
}

static bool add_class(loader *l, ts_code_file *f, const ts_node *def)
{
  ts_archive *a = l->a;
  const char *qualname = ir_sprintf(l->ctx, "%s.%s", f->module, def->name);
  if (!qualname)
    return false;
  if (ts_archive_class(a, qualname))
    return fail(l, def->loc, "class '%s' is defined twice", qualname);
  ts_class *c = IR_NEW(l->ctx, ts_class);
  if (!c)
    return false;
  *c = (ts_class){.qualname = qualname, .name = def->name, .file = f, .def = def};
  for (int i = 0; i < def->body.n; i++)
    if (!class_member(l, c, def->body.items[i]))
      return false;
  if (!ts_grow(l->ctx, (void **)&a->classes, &a->cap_classes, a->n_classes + 1, sizeof(ts_class *)))
    return false;
  a->classes[a->n_classes++] = c;
  return ts_map_put(l->ctx, &a->class_map, qualname, c);
}

static bool read_code_file(loader *l, const ts_zip_entry *e)
{
  size_t len;
  const unsigned char *text = ts_zip_read(l->a->zip, e, &len);
  const char *name = ir_sprintf(l->ctx, "%s:%s", l->a->name, e->path);
  ts_code_file *f = text && name ? ts_parse_code(l->ctx, name, (const char *)text, len) : NULL;
  if (!f)
    return false;
  f->path = e->path;
  f->module = code_module(l, e->path);
  for (int i = 0; f->module && i < f->stmts.n; i++)
    if (f->stmts.items[i]->kind == TS_N_CLASS && !add_class(l, f, f->stmts.items[i]))
      return false;
  ts_archive *a = l->a;
  if (!f->module || !ts_grow(l->ctx, (void **)&a->files, &a->cap_files, a->n_files + 1, sizeof(ts_code_file *)))
    return false;
  a->files[a->n_files++] = f;
  return true;
}

static bool read_code(loader *l)
{
  ts_zip *z = l->a->zip;
  for (int i = 0; i < z->n_entries; i++) {
    const ts_zip_entry *e = &z->entries[i];
    if (starts_with(e->path, "code/") && ends_with(e->path, ".py") && strlen(e->path) > 8 && !read_code_file(l, e))
      return false;
  }
  if (!l->a->n_files)
    return fail(l, l->loc, "the archive has no code/ folder: it was written by torch.save, not torch.jit.save");
  return true;
}

/* ------------------------------------------------------------------------
 * Pickles
 * ------------------------------------------------------------------------ */

static ts_value *read_pickle(loader *l, const char *path, const char *folder, bool required)
{
  const ts_zip_entry *e = ts_zip_find(l->a->zip, path);
  if (!e) {
    if (required)
      fail(l, l->loc, "the archive has no '%s' entry", path);
    return NULL;
  }
  size_t len;
  const unsigned char *bytes = ts_zip_read(l->a->zip, e, &len);
  ts_storage_source *src = IR_NEW(l->ctx, ts_storage_source);
  const char *name = ir_sprintf(l->ctx, "%s:%s", l->a->name, path);
  if (!bytes || !src || !name)
    return NULL;
  src->zip = l->a->zip;
  src->folder = folder;
  return ts_unpickle(l->ctx, name, bytes, len, src);
}

static bool read_constants(loader *l)
{
  ts_value *c = read_pickle(l, "constants.pkl", "constants/", false);
  if (!c && l->ctx->n_errors)
    return false;
  if (c && c->kind != TS_V_TUPLE)
    return fail(l, l->loc, "constants.pkl holds a %s, not a tuple", ts_value_kind_names[c->kind]);
  l->a->constants = c;
  return true;
}

/* ------------------------------------------------------------------------
 * The module tree
 * ------------------------------------------------------------------------ */

static bool in_list(const char *name, const char *const *list, int n)
{
  for (int i = 0; i < n; i++)
    if (!strcmp(list[i], name))
      return true;
  return false;
}

static bool is_module_object(const ts_value *v)
{
  return v->kind == TS_V_OBJECT && starts_with(v->u.obj.module, "__torch__");
}

static ts_module *build_module(loader *l, const ts_value *obj, const char *path);

static bool add_attr(loader *l, ts_module *m, const ts_value *key, ts_value *value)
{
  if (key->kind != TS_V_STR || strlen(key->u.str.s) != key->u.str.len)
    return fail(l, l->data_loc, "module '%s' has an attribute whose name is not a string", m->path);
  ts_attr *at = &m->attrs[m->n_attrs++];
  const ts_class *c = m->cls;
  *at = (ts_attr){.name = key->u.str.s, .value = value, .kind = TS_ATTR_VALUE};
  if (in_list(at->name, c->parameters, c->n_parameters))
    at->kind = TS_ATTR_PARAMETER;
  else if (in_list(at->name, c->buffers, c->n_buffers))
    at->kind = TS_ATTR_BUFFER;
  else if (is_module_object(value))
    at->kind = TS_ATTR_MODULE;
  if ((at->kind == TS_ATTR_PARAMETER || at->kind == TS_ATTR_BUFFER) && value->kind != TS_V_TENSOR &&
      value->kind != TS_V_NONE)
    return fail(l, l->data_loc, "%s '%s' of module '%s' is a %s, not a tensor",
                at->kind == TS_ATTR_PARAMETER ? "parameter" : "buffer", at->name, m->path,
                ts_value_kind_names[value->kind]);
  if (at->kind != TS_ATTR_MODULE)
    return true;
  const char *sub = *m->path ? ir_sprintf(l->ctx, "%s.%s", m->path, at->name) : at->name;
  at->module = sub ? build_module(l, value, sub) : NULL;
  return at->module != NULL;
}

static bool check_visit(loader *l, const ts_value *obj, const char *path)
{
  if (++l->n_modules > MAX_MODULES)
    return fail(l, l->data_loc, "the archive has more than %d modules", MAX_MODULES);
  if (l->depth == MAX_MODULE_DEPTH)
    return fail(l, l->data_loc, "module '%s' is nested too deeply (limit %d)", path, MAX_MODULE_DEPTH);
  for (int i = 0; i < l->depth; i++)
    if (l->ancestors[i] == obj)
      return fail(l, l->data_loc, "module '%s' contains itself", path);
  return true;
}

static bool fill_attrs(loader *l, ts_module *m, const ts_value *state)
{
  if (!state || state->kind != TS_V_DICT)
    return fail(l, l->data_loc, "module '%s' (%s) has a state that is a %s, not a dict", *m->path ? m->path : "<root>",
                m->cls->qualname, state ? ts_value_kind_names[state->kind] : "nothing");
  m->attrs = IR_NEW_ARRAY(l->ctx, ts_attr, state->u.seq.n / 2);
  for (int i = 0; m->attrs && i + 1 < state->u.seq.n; i += 2)
    if (!add_attr(l, m, state->u.seq.items[i], state->u.seq.items[i + 1]))
      return false;
  return m->attrs != NULL;
}

static ts_module *build_module(loader *l, const ts_value *obj, const char *path)
{
  if (!check_visit(l, obj, path))
    return NULL;
  const char *qualname = ts_value_class(l->ctx, obj);
  ts_module *m = IR_NEW(l->ctx, ts_module);
  if (!qualname || !m)
    return NULL;
  m->path = path;
  m->object = (ts_value *)obj;
  m->cls = ts_archive_class(l->a, qualname);
  if (!m->cls) {
    fail(l, l->data_loc, "module '%s' is of class '%s', which no code file defines", *path ? path : "<root>",
         qualname);
    return NULL;
  }
  l->ancestors[l->depth++] = obj;
  bool ok = fill_attrs(l, m, obj->u.obj.state);
  l->depth--;
  return ok ? m : NULL;
}

static bool read_modules(loader *l)
{
  ts_value *data = read_pickle(l, "data.pkl", "data/", true);
  const char *name = ir_sprintf(l->ctx, "%s:data.pkl", l->a->name);
  const aotc_source *src = name ? aotc_add_source(l->ctx, name, "", 0) : NULL;
  if (!data || !src)
    return false;
  l->data_loc = (ir_loc){src, 0, 0};
  l->a->data = data;
  if (!is_module_object(data))
    return fail(l, l->data_loc, "data.pkl holds a %s, not a module", ts_value_kind_names[data->kind]);
  l->a->root = build_module(l, data, "");
  return l->a->root != NULL;
}

/* ------------------------------------------------------------------------
 * Opening and lookups
 * ------------------------------------------------------------------------ */

ts_archive *ts_archive_open(aotc_ctx *ctx, const char *name, const unsigned char *bytes, size_t len)
{
  ts_archive *a = IR_NEW(ctx, ts_archive);
  loader *l = IR_NEW(ctx, loader);
  if (!a || !l)
    return NULL;
  a->ctx = ctx;
  a->name = ir_strdup(ctx, name);
  a->zip = a->name ? ts_zip_open(ctx, name, bytes, len) : NULL;
  if (!a->zip)
    return NULL;
  *l = (loader){.ctx = ctx, .a = a, .loc = a->zip->loc, .data_loc = a->zip->loc};
  if (!read_version(l) || !read_code(l) || !read_constants(l) || !read_modules(l))
    return NULL;
  return ctx->oom ? NULL : a;
}

ts_class *ts_archive_class(const ts_archive *a, const char *qualname)
{
  return ts_map_get(&a->class_map, qualname);
}

const ts_attr *ts_module_attr(const ts_module *m, const char *name)
{
  for (int i = m->n_attrs - 1; i >= 0; i--)
    if (!strcmp(m->attrs[i].name, name))
      return &m->attrs[i];
  return NULL;
}

const ts_node *ts_class_method(const ts_class *c, const char *name)
{
  for (int i = 0; i < c->methods.n; i++)
    if (!strcmp(c->methods.items[i]->name, name))
      return c->methods.items[i];
  return NULL;
}

ts_value *ts_archive_constant(const ts_archive *a, const char *name)
{
  char *end;
  if (name[0] != 'c' || name[1] < '0' || name[1] > '9' || !a->constants)
    return NULL;
  long i = strtol(name + 1, &end, 10);
  return *end || i >= a->constants->u.seq.n ? NULL : a->constants->u.seq.items[i];
}

const ts_node *ts_archive_function(const ts_archive *a, const char *module, const char *name)
{
  for (int i = 0; i < a->n_files; i++) {
    const ts_code_file *f = a->files[i];
    for (int k = 0; !strcmp(f->module, module) && k < f->stmts.n; k++)
      if (f->stmts.items[k]->kind == TS_N_DEF && !strcmp(f->stmts.items[k]->name, name))
        return f->stmts.items[k];
  }
  return NULL;
}
