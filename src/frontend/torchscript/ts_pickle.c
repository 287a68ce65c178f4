/* ts_pickle.c: the pickle reader of the TorchScript frontend. It runs the
 * protocol 2 opcodes torch writes (and the few of protocols 3-4 that are
 * harmless) into a value tree. Globals come from a whitelist and each maps
 * to a C function here: tensors rebuilt from storages, storage classes,
 * OrderedDict, __torch__ module classes and torch.jit._pickle helpers. A
 * pickle is never a way to run anything: any other global is refused by
 * name, and malformed input gives one error with the byte offset. */
#include "ts.h"

#include <string.h>

#define MAX_MEMO (1 << 20)
#define MAX_STACK (1 << 24)
#define MAX_GLOBAL_NAME 1024

/* What a whitelisted global does when called (REDUCE) or instantiated (NEWOBJ). */
typedef enum {
  G_REBUILD_TENSOR,    /* torch._utils._rebuild_tensor_v2 */
  G_REBUILD_PARAMETER, /* torch._utils._rebuild_parameter */
  G_STORAGE,           /* torch.FloatStorage, ... */
  G_ORDERED_DICT,      /* collections.OrderedDict */
  G_MODULE_CLASS,      /* __torch__.* */
  G_RESTORE_TYPE_TAG,  /* torch.jit._pickle.restore_type_tag */
  G_BUILD_LIST,        /* torch.jit._pickle.build_intlist, ... */
  G_DEVICE,            /* torch.device */
} global_builtin;

typedef struct whitelisted {
  const char *module, *name;
  global_builtin builtin;
} whitelisted;

static const whitelisted whitelist[] = {
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR},
    {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAMETER},
    {"collections", "OrderedDict", G_ORDERED_DICT},
    {"torch.jit._pickle", "restore_type_tag", G_RESTORE_TYPE_TAG},
    {"torch.jit._pickle", "build_intlist", G_BUILD_LIST},
    {"torch.jit._pickle", "build_doublelist", G_BUILD_LIST},
    {"torch.jit._pickle", "build_boollist", G_BUILD_LIST},
    {"torch.jit._pickle", "build_tensorlist", G_BUILD_LIST},
    {"torch.jit._pickle", "build_genericlist", G_BUILD_LIST},
    {"torch", "device", G_DEVICE},
};

const char *const ts_value_kind_names[TS_V_KIND_COUNT] = {
    [TS_V_NONE] = "None",     [TS_V_BOOL] = "bool",       [TS_V_INT] = "int",         [TS_V_FLOAT] = "float",
    [TS_V_STR] = "str",       [TS_V_TUPLE] = "tuple",     [TS_V_LIST] = "list",       [TS_V_DICT] = "dict",
    [TS_V_OBJECT] = "object", [TS_V_TENSOR] = "tensor",   [TS_V_GLOBAL] = "global",   [TS_V_STORAGE] = "storage",
};

typedef struct unpickler {
  aotc_ctx *ctx;
  ir_loc loc;
  const unsigned char *start, *p, *end;
  size_t op_at; /* where the current opcode starts */
  ts_value **stack;
  int n_stack, cap_stack;
  int *marks;
  int n_marks, cap_marks;
  ts_value **memo;
  int cap_memo;
  int next_memo; /* MEMOIZE's next index */
  ts_storage_source *storages;
  ts_value *result;
} unpickler;

static void vfail(unpickler *u, const char *fmt, va_list ap)
{
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  aotc_error(u->ctx, u->loc, "%s (pickle byte %zu)", msg, u->op_at);
}

/* Reports an error at the current opcode; false, or NULL from failp. */
static bool fail(unpickler *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(unpickler *u, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vfail(u, fmt, ap);
  va_end(ap);
  return false;
}

static void *failp(unpickler *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void *failp(unpickler *u, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vfail(u, fmt, ap);
  va_end(ap);
  return NULL;
}

/* ------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------ */

static ts_value *new_value(unpickler *u, ts_value_kind kind)
{
  ts_value *v = IR_NEW(u->ctx, ts_value);
  if (v)
    v->kind = kind;
  return v;
}

bool ts_grow(aotc_ctx *ctx, void **items, int *cap, int need, size_t elem)
{
  if (need <= *cap)
    return true;
  int n = *cap ? *cap : 8;
  while (n < need)
    n *= 2;
  void *p = ir_alloc(ctx, elem * (size_t)n);
  if (!p)
    return false;
  if (*cap)
    memcpy(p, *items, elem * (size_t)*cap);
  *items = p;
  *cap = n;
  return true;
}

static bool seq_push(aotc_ctx *ctx, ts_value *seq, ts_value *item)
{
  if (!ts_grow(ctx, (void **)&seq->u.seq.items, &seq->u.seq.cap, seq->u.seq.n + 1, sizeof(ts_value *)))
    return false;
  seq->u.seq.items[seq->u.seq.n++] = item;
  return true;
}

static bool str_equals(const ts_value *v, const char *s)
{
  return v->kind == TS_V_STR && v->u.str.len == strlen(s) && !memcmp(v->u.str.s, s, v->u.str.len);
}

ts_value *ts_value_get(const ts_value *v, const char *key)
{
  if (v && v->kind == TS_V_OBJECT)
    v = v->u.obj.state;
  if (!v || v->kind != TS_V_DICT)
    return NULL;
  for (int i = v->u.seq.n - 2; i >= 0; i -= 2)
    if (str_equals(v->u.seq.items[i], key))
      return v->u.seq.items[i + 1];
  return NULL;
}

const char *ts_value_class(aotc_ctx *ctx, const ts_value *v)
{
  if (!v || (v->kind != TS_V_OBJECT && v->kind != TS_V_GLOBAL))
    return NULL;
  return ir_sprintf(ctx, "%s.%s", v->u.obj.module, v->u.obj.name);
}

/* ------------------------------------------------------------------------
 * The stack, marks and memo
 * ------------------------------------------------------------------------ */

static bool push(unpickler *u, ts_value *v)
{
  if (u->n_stack == MAX_STACK)
    return fail(u, "the pickle's stack grows past %d items", MAX_STACK);
  if (!v || !ts_grow(u->ctx, (void **)&u->stack, &u->cap_stack, u->n_stack + 1, sizeof(ts_value *)))
    return false;
  u->stack[u->n_stack++] = v;
  return true;
}

/* The first stack slot above the innermost mark (n_stack when none). */
static int floor_of(const unpickler *u)
{
  return u->n_marks ? u->marks[u->n_marks - 1] : 0;
}

static ts_value *pop(unpickler *u)
{
  if (u->n_stack <= floor_of(u)) {
    fail(u, "the pickle pops an empty stack");
    return NULL;
  }
  return u->stack[--u->n_stack];
}

static ts_value *top(unpickler *u)
{
  if (u->n_stack <= floor_of(u)) {
    fail(u, "the pickle reads an empty stack");
    return NULL;
  }
  return u->stack[u->n_stack - 1];
}

/* Pops the innermost mark; the items above it are stack[*from .. n_stack). */
static bool pop_mark(unpickler *u, int *from)
{
  if (!u->n_marks)
    return fail(u, "the pickle has no MARK to pop");
  *from = u->marks[--u->n_marks];
  return true;
}

static bool memo_put(unpickler *u, uint64_t index)
{
  ts_value *v = top(u);
  if (!v)
    return false;
  if (index >= MAX_MEMO)
    return fail(u, "memo index %llu is out of range", (unsigned long long)index);
  if (!ts_grow(u->ctx, (void **)&u->memo, &u->cap_memo, (int)index + 1, sizeof(ts_value *)))
    return false;
  u->memo[index] = v;
  return true;
}

static bool memo_get(unpickler *u, uint64_t index)
{
  if (index >= (uint64_t)u->cap_memo || !u->memo[index])
    return fail(u, "memo index %llu was never stored", (unsigned long long)index);
  return push(u, u->memo[index]);
}

/* ------------------------------------------------------------------------
 * Reading operands
 * ------------------------------------------------------------------------ */

static bool take(unpickler *u, size_t n, const unsigned char **out)
{
  if ((size_t)(u->end - u->p) < n)
    return fail(u, "the pickle ends inside an opcode's operand (truncated?)");
  *out = u->p;
  u->p += n;
  return true;
}

static bool take_uint(unpickler *u, int bytes, uint64_t *v)
{
  const unsigned char *b = NULL;
  if (!take(u, (size_t)bytes, &b))
    return false;
  *v = 0;
  for (int i = bytes - 1; i >= 0; i--)
    *v = *v << 8 | b[i];
  return true;
}

/* A line ending in '\n' (GLOBAL's operands). */
static bool take_line(unpickler *u, const char **s, size_t *len)
{
  size_t left = (size_t)(u->end - u->p), max = left < MAX_GLOBAL_NAME ? left : MAX_GLOBAL_NAME;
  const unsigned char *nl = memchr(u->p, '\n', max);
  if (!nl)
    return fail(u, "GLOBAL's name has no end (truncated?)");
  *s = (const char *)u->p;
  *len = (size_t)(nl - u->p);
  u->p = nl + 1;
  return true;
}

/* ------------------------------------------------------------------------
 * Globals
 * ------------------------------------------------------------------------ */

static bool is_module_class(const char *module)
{
  return !strcmp(module, "__torch__") || !strncmp(module, "__torch__.", 10);
}

static bool printable(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return false;
  return true;
}

static int whitelisted_builtin(const char *module, const char *name)
{
  for (size_t i = 0; i < sizeof(whitelist) / sizeof(whitelist[0]); i++)
    if (!strcmp(whitelist[i].module, module) && !strcmp(whitelist[i].name, name))
      return (int)whitelist[i].builtin;
  if (!strcmp(module, "torch") && ts_dtype_from_storage(name) >= 0)
    return G_STORAGE;
  if (is_module_class(module) && *name)
    return G_MODULE_CLASS;
  return -1;
}

static bool push_global(unpickler *u, const char *module, size_t mlen, const char *name, size_t nlen)
{
  ts_value *v = new_value(u, TS_V_GLOBAL);
  const char *m = ir_strndup(u->ctx, module, mlen), *n = ir_strndup(u->ctx, name, nlen);
  if (!v || !m || !n)
    return false;
  bool plain = strlen(m) == mlen && strlen(n) == nlen && printable(m) && printable(n);
  int builtin = plain ? whitelisted_builtin(m, n) : -1;
  if (builtin < 0 && plain)
    return fail(u, "global '%s.%s' is not allowed in a TorchScript pickle (not on the whitelist)", m, n);
  if (builtin < 0)
    return fail(u, "a global with an unprintable name is not allowed in a TorchScript pickle");
  v->u.obj.module = m;
  v->u.obj.name = n;
  v->u.obj.builtin = builtin;
  return push(u, v);
}

/* ------------------------------------------------------------------------
 * Storages (BINPERSID) and tensors
 * ------------------------------------------------------------------------ */

static bool check_persid(unpickler *u, const ts_value *pid)
{
  const ts_value *const *it = pid->kind == TS_V_TUPLE ? (const ts_value *const *)pid->u.seq.items : NULL;
  if (!it || pid->u.seq.n < 5 || !str_equals(it[0], "storage"))
    return fail(u, "a persistent id is not ('storage', type, key, location, size)");
  if (it[1]->kind != TS_V_GLOBAL || it[1]->u.obj.builtin != G_STORAGE || it[2]->kind != TS_V_STR ||
      it[4]->kind != TS_V_INT || it[4]->u.i < 0)
    return fail(u, "a persistent id is not ('storage', type, key, location, size)");
  if (strlen(it[2]->u.str.s) != it[2]->u.str.len || strchr(it[2]->u.str.s, '/') || !it[2]->u.str.len)
    return fail(u, "a storage key is not a plain name");
  return true;
}

static ts_storage *read_storage(unpickler *u, ts_storage_source *src, const char *key, ts_dtype dtype,
                                int64_t numel)
{
  const char *path = ir_sprintf(u->ctx, "%s%s", src->folder, key);
  const ts_zip_entry *e = path ? ts_zip_find(src->zip, path) : NULL;
  if (!e)
    return path ? failp(u, "storage '%s' is not in the archive", path) : NULL;
  size_t esize = (size_t)ts_dtypes[dtype].bytes, len;
  if ((uint64_t)numel > e->size / esize)
    return failp(u, "storage '%s' holds %llu bytes, fewer than its %lld %s elements", path,
                 (unsigned long long)e->size, (long long)numel, ts_dtypes[dtype].name);
  ts_storage *s = IR_NEW(u->ctx, ts_storage);
  const unsigned char *bytes = s ? ts_zip_read(src->zip, e, &len) : NULL;
  if (!bytes)
    return NULL;
  *s = (ts_storage){.key = ir_strdup(u->ctx, key), .dtype = dtype, .numel = numel, .bytes = bytes};
  return s->key ? s : NULL;
}

static ts_storage *find_storage(unpickler *u, const char *key, ts_dtype dtype, int64_t numel)
{
  ts_storage_source *src = u->storages;
  ts_storage *s = ts_map_get(&src->cache, key);
  if (s && s->dtype != dtype)
    return failp(u, "storage '%s' is used as %s and as %s", key, ts_dtypes[s->dtype].name, ts_dtypes[dtype].name);
  if (s && s->numel != numel)
    return failp(u, "storage '%s' is given two sizes", key);
  if (s)
    return s;
  s = read_storage(u, src, key, dtype, numel);
  return s && ts_map_put(u->ctx, &src->cache, s->key, s) ? s : NULL;
}

static bool op_binpersid(unpickler *u)
{
  ts_value *pid = pop(u);
  if (!pid || !check_persid(u, pid))
    return false;
  if (!u->storages)
    return fail(u, "this pickle may not name storages");
  ts_value *const *it = pid->u.seq.items;
  ts_value *v = new_value(u, TS_V_STORAGE);
  if (!v)
    return false;
  v->u.storage = find_storage(u, it[2]->u.str.s, (ts_dtype)ts_dtype_from_storage(it[1]->u.obj.name), it[4]->u.i);
  return v->u.storage && push(u, v);
}

/* A tuple of ints (sizes, strides) into out[]; the count in *n. */
static bool int_tuple(unpickler *u, const ts_value *t, int64_t *out, int *n, const char *what)
{
  if (t->kind != TS_V_TUPLE && t->kind != TS_V_LIST)
    return fail(u, "a tensor's %s is a %s, not a tuple", what, ts_value_kind_names[t->kind]);
  if (t->u.seq.n > TS_MAX_RANK)
    return fail(u, "a tensor has %d dimensions (limit %d)", t->u.seq.n, TS_MAX_RANK);
  for (int i = 0; i < t->u.seq.n; i++) {
    if (t->u.seq.items[i]->kind != TS_V_INT)
      return fail(u, "a tensor's %s holds a %s", what, ts_value_kind_names[t->u.seq.items[i]->kind]);
    out[i] = t->u.seq.items[i]->u.i;
  }
  *n = t->u.seq.n;
  return true;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) */
static ts_value *rebuild_tensor(unpickler *u, const ts_value *args)
{
  ts_value *const *a = args->u.seq.items;
  if (args->u.seq.n < 4 || a[0]->kind != TS_V_STORAGE || a[1]->kind != TS_V_INT)
    return failp(u, "_rebuild_tensor_v2 expects (storage, offset, size, stride, ...)");
  int64_t shape[TS_MAX_RANK], stride[TS_MAX_RANK];
  int rank, n_stride;
  if (!int_tuple(u, a[2], shape, &rank, "size") || !int_tuple(u, a[3], stride, &n_stride, "stride"))
    return NULL;
  if (rank != n_stride)
    return failp(u, "a tensor has %d sizes but %d strides", rank, n_stride);
  ts_value *v = new_value(u, TS_V_TENSOR);
  if (v)
    v->u.tensor = ts_tensor_view(u->ctx, u->loc, a[0]->u.storage, a[1]->u.i, rank, shape, stride);
  return v && v->u.tensor ? v : NULL;
}

/* ------------------------------------------------------------------------
 * Calls: REDUCE, NEWOBJ, BUILD
 * ------------------------------------------------------------------------ */

static ts_value *call_builtin(unpickler *u, const ts_value *fn, const ts_value *args)
{
  int n = args->u.seq.n;
  ts_value *const *a = args->u.seq.items;
  switch ((global_builtin)fn->u.obj.builtin) {
  case G_REBUILD_TENSOR:
    return rebuild_tensor(u, args);
  case G_REBUILD_PARAMETER:
    return n >= 1 && a[0]->kind == TS_V_TENSOR ? a[0] : failp(u, "_rebuild_parameter expects a tensor");
  case G_ORDERED_DICT:
    return n == 0 ? new_value(u, TS_V_DICT) : failp(u, "OrderedDict is called with arguments");
  case G_RESTORE_TYPE_TAG:
  case G_BUILD_LIST:
  case G_DEVICE:
    return n >= 1 ? a[0] : failp(u, "%s.%s expects an argument", fn->u.obj.module, fn->u.obj.name);
  default:
    return failp(u, "'%s.%s' cannot be called", fn->u.obj.module, fn->u.obj.name);
  }
}

static bool op_reduce(unpickler *u)
{
  ts_value *args = pop(u), *fn = args ? pop(u) : NULL;
  if (!fn)
    return false;
  if (fn->kind != TS_V_GLOBAL)
    return fail(u, "REDUCE calls a %s (only whitelisted globals can be called)", ts_value_kind_names[fn->kind]);
  if (args->kind != TS_V_TUPLE)
    return fail(u, "REDUCE's arguments are a %s, not a tuple", ts_value_kind_names[args->kind]);
  ts_value *r = call_builtin(u, fn, args);
  return r && push(u, r);
}

static bool op_newobj(unpickler *u)
{
  ts_value *args = pop(u), *cls = args ? pop(u) : NULL;
  if (!cls)
    return false;
  if (cls->kind != TS_V_GLOBAL || cls->u.obj.builtin != G_MODULE_CLASS)
    return fail(u, "NEWOBJ of something that is not a __torch__ class");
  if (args->kind != TS_V_TUPLE)
    return fail(u, "NEWOBJ's arguments are a %s, not a tuple", ts_value_kind_names[args->kind]);
  ts_value *obj = new_value(u, TS_V_OBJECT);
  if (!obj)
    return false;
  obj->u.obj = cls->u.obj;
  obj->u.obj.state = NULL;
  return push(u, obj);
}

static bool op_build(unpickler *u)
{
  ts_value *state = pop(u), *obj = state ? top(u) : NULL;
  if (!obj)
    return false;
  if (obj->kind != TS_V_OBJECT)
    return fail(u, "BUILD on a %s (only objects of __torch__ classes)", ts_value_kind_names[obj->kind]);
  if (obj->u.obj.state)
    return fail(u, "BUILD on an object that has its state already");
  obj->u.obj.state = state;
  return true;
}

/* ------------------------------------------------------------------------
 * Containers
 * ------------------------------------------------------------------------ */

static bool make_seq(unpickler *u, ts_value_kind kind, int from)
{
  ts_value *v = new_value(u, kind);
  for (int i = from; v && i < u->n_stack; i++)
    if (!seq_push(u->ctx, v, u->stack[i]))
      return false;
  u->n_stack = from;
  return push(u, v);
}

static bool op_tuple(unpickler *u)
{
  int from = 0;
  return pop_mark(u, &from) && make_seq(u, TS_V_TUPLE, from);
}

static bool op_small_tuple(unpickler *u, int n)
{
  if (u->n_stack - floor_of(u) < n)
    return fail(u, "TUPLE%d finds fewer than %d items", n, n);
  return make_seq(u, TS_V_TUPLE, u->n_stack - n);
}

static bool op_tuple1(unpickler *u) { return op_small_tuple(u, 1); }
static bool op_tuple2(unpickler *u) { return op_small_tuple(u, 2); }
static bool op_tuple3(unpickler *u) { return op_small_tuple(u, 3); }
static bool op_empty_tuple(unpickler *u) { return push(u, new_value(u, TS_V_TUPLE)); }
static bool op_empty_list(unpickler *u) { return push(u, new_value(u, TS_V_LIST)); }
static bool op_empty_dict(unpickler *u) { return push(u, new_value(u, TS_V_DICT)); }

static bool op_list(unpickler *u)
{
  int from = 0;
  return pop_mark(u, &from) && make_seq(u, TS_V_LIST, from);
}

/* Appends stack[from..) to the list below them. */
static bool append_items(unpickler *u, int from)
{
  if (from <= floor_of(u) || u->stack[from - 1]->kind != TS_V_LIST)
    return fail(u, "APPEND to something that is not a list");
  ts_value *list = u->stack[from - 1];
  for (int i = from; i < u->n_stack; i++)
    if (!seq_push(u->ctx, list, u->stack[i]))
      return false;
  u->n_stack = from;
  return true;
}

static bool op_append(unpickler *u)
{
  if (u->n_stack - floor_of(u) < 2)
    return fail(u, "APPEND finds fewer than 2 items");
  return append_items(u, u->n_stack - 1);
}

static bool op_appends(unpickler *u)
{
  int from = 0;
  return pop_mark(u, &from) && append_items(u, from);
}

/* Moves the key/value pairs stack[from..) into dict. */
static bool add_pairs(unpickler *u, ts_value *dict, int from)
{
  if ((u->n_stack - from) % 2)
    return fail(u, "a dict's key has no value");
  for (int i = from; i < u->n_stack; i++)
    if (!seq_push(u->ctx, dict, u->stack[i]))
      return false;
  u->n_stack = from;
  return true;
}

/* Sets the key/value pairs stack[from..) in the dict below them. */
static bool set_items(unpickler *u, int from)
{
  if (from <= floor_of(u) || u->stack[from - 1]->kind != TS_V_DICT)
    return fail(u, "SETITEM on something that is not a dict");
  return add_pairs(u, u->stack[from - 1], from);
}

static bool op_setitem(unpickler *u)
{
  if (u->n_stack - floor_of(u) < 3)
    return fail(u, "SETITEM finds fewer than 3 items");
  return set_items(u, u->n_stack - 2);
}

static bool op_setitems(unpickler *u)
{
  int from = 0;
  return pop_mark(u, &from) && set_items(u, from);
}

static bool op_dict(unpickler *u)
{
  int from = 0;
  ts_value *dict = new_value(u, TS_V_DICT);
  return dict && pop_mark(u, &from) && add_pairs(u, dict, from) && push(u, dict);
}

/* ------------------------------------------------------------------------
 * Scalars and strings
 * ------------------------------------------------------------------------ */

static bool push_int(unpickler *u, int64_t i)
{
  ts_value *v = new_value(u, TS_V_INT);
  if (v)
    v->u.i = i;
  return push(u, v);
}

static bool op_binint(unpickler *u)
{
  uint64_t v = 0;
  return take_uint(u, 4, &v) && push_int(u, (int32_t)(uint32_t)v);
}

static bool op_binint1(unpickler *u)
{
  uint64_t v = 0;
  return take_uint(u, 1, &v) && push_int(u, (int64_t)v);
}

static bool op_binint2(unpickler *u)
{
  uint64_t v = 0;
  return take_uint(u, 2, &v) && push_int(u, (int64_t)v);
}

/* LONG1/LONG4: n little-endian two's-complement bytes, at most 8. */
static bool push_long(unpickler *u, uint64_t n)
{
  uint64_t v = 0;
  if (n > 8)
    return fail(u, "an integer of %llu bytes does not fit 64 bits", (unsigned long long)n);
  if (n == 0)
    return push_int(u, 0);
  if (!take_uint(u, (int)n, &v))
    return false;
  if (n < 8 && (v >> (8 * n - 1)) & 1)
    v |= ~(uint64_t)0 << (8 * n);
  return push_int(u, (int64_t)v);
}

static bool op_long1(unpickler *u)
{
  uint64_t n = 0;
  return take_uint(u, 1, &n) && push_long(u, n);
}

static bool op_long4(unpickler *u)
{
  uint64_t n = 0;
  return take_uint(u, 4, &n) && push_long(u, n);
}

static bool op_binfloat(unpickler *u)
{
  const unsigned char *b = NULL;
  if (!take(u, 8, &b))
    return false;
  uint64_t bits = 0;
  for (int i = 0; i < 8; i++)
    bits = bits << 8 | b[i];
  ts_value *v = new_value(u, TS_V_FLOAT);
  if (v)
    memcpy(&v->u.f, &bits, sizeof(double));
  return push(u, v);
}

static bool push_string(unpickler *u, int len_bytes)
{
  uint64_t n = 0;
  const unsigned char *s = NULL;
  if (!take_uint(u, len_bytes, &n))
    return false;
  if (n > (uint64_t)(u->end - u->p))
    return fail(u, "a string of %llu bytes runs past the pickle's end (truncated?)", (unsigned long long)n);
  ts_value *v = take(u, (size_t)n, &s) ? new_value(u, TS_V_STR) : NULL;
  if (!v || !(v->u.str.s = ir_strndup(u->ctx, (const char *)s, (size_t)n)))
    return false;
  v->u.str.len = (size_t)n;
  return push(u, v);
}

static bool op_binunicode(unpickler *u) { return push_string(u, 4); }
static bool op_short_binunicode(unpickler *u) { return push_string(u, 1); }
static bool op_binunicode8(unpickler *u) { return push_string(u, 8); }

static bool op_bool(unpickler *u, bool b)
{
  ts_value *v = new_value(u, TS_V_BOOL);
  if (v)
    v->u.b = b;
  return push(u, v);
}

static bool op_newtrue(unpickler *u) { return op_bool(u, true); }
static bool op_newfalse(unpickler *u) { return op_bool(u, false); }
static bool op_none(unpickler *u) { return push(u, new_value(u, TS_V_NONE)); }

/* ------------------------------------------------------------------------
 * Control: PROTO, MARK, memo, GLOBAL, STOP
 * ------------------------------------------------------------------------ */

static bool op_proto(unpickler *u)
{
  uint64_t v = 0;
  if (!take_uint(u, 1, &v))
    return false;
  return v >= 2 && v <= 5 ? true : fail(u, "pickle protocol %d is not supported (2 to 5)", (int)v);
}

static bool op_frame(unpickler *u)
{
  uint64_t v = 0;
  return take_uint(u, 8, &v);
}

static bool op_mark(unpickler *u)
{
  if (u->n_marks == MAX_STACK)
    return fail(u, "the pickle has more than %d open MARKs", MAX_STACK);
  if (!ts_grow(u->ctx, (void **)&u->marks, &u->cap_marks, u->n_marks + 1, sizeof(int)))
    return false;
  u->marks[u->n_marks++] = u->n_stack;
  return true;
}

static bool op_pop(unpickler *u) { return pop(u) != NULL; }

static bool op_pop_mark(unpickler *u)
{
  int from = 0;
  if (!pop_mark(u, &from))
    return false;
  u->n_stack = from;
  return true;
}

static bool op_dup(unpickler *u)
{
  ts_value *v = top(u);
  return v && push(u, v);
}

static bool op_binput(unpickler *u)
{
  uint64_t i = 0;
  return take_uint(u, 1, &i) && memo_put(u, i);
}

static bool op_long_binput(unpickler *u)
{
  uint64_t i = 0;
  return take_uint(u, 4, &i) && memo_put(u, i);
}

static bool op_memoize(unpickler *u) { return memo_put(u, (uint64_t)u->next_memo++); }

static bool op_binget(unpickler *u)
{
  uint64_t i = 0;
  return take_uint(u, 1, &i) && memo_get(u, i);
}

static bool op_long_binget(unpickler *u)
{
  uint64_t i = 0;
  return take_uint(u, 4, &i) && memo_get(u, i);
}

static bool op_global(unpickler *u)
{
  const char *m = NULL, *n = NULL;
  size_t ml = 0, nl = 0;
  return take_line(u, &m, &ml) && take_line(u, &n, &nl) && push_global(u, m, ml, n, nl);
}

static bool op_stack_global(unpickler *u)
{
  ts_value *name = pop(u), *module = name ? pop(u) : NULL;
  if (!module)
    return false;
  if (module->kind != TS_V_STR || name->kind != TS_V_STR)
    return fail(u, "STACK_GLOBAL's module and name are not strings");
  return push_global(u, module->u.str.s, module->u.str.len, name->u.str.s, name->u.str.len);
}

static bool op_stop(unpickler *u)
{
  u->result = pop(u);
  return u->result != NULL;
}

typedef bool (*opcode_fn)(unpickler *);

static const opcode_fn opcodes[256] = {
    [0x80] = op_proto,           ['.'] = op_stop,         ['c'] = op_global,        [0x93] = op_stack_global,
    ['q'] = op_binput,           ['r'] = op_long_binput,  [0x94] = op_memoize,      ['h'] = op_binget,
    ['j'] = op_long_binget,      ['('] = op_mark,         ['0'] = op_pop,           ['1'] = op_pop_mark,
    ['2'] = op_dup,              ['t'] = op_tuple,        [0x85] = op_tuple1,       [0x86] = op_tuple2,
    [0x87] = op_tuple3,          [')'] = op_empty_tuple,  [']'] = op_empty_list,    ['}'] = op_empty_dict,
    ['l'] = op_list,             ['d'] = op_dict,         ['s'] = op_setitem,       ['u'] = op_setitems,
    ['a'] = op_append,           ['e'] = op_appends,      [0x81] = op_newobj,       ['b'] = op_build,
    ['R'] = op_reduce,           ['Q'] = op_binpersid,    ['J'] = op_binint,        ['K'] = op_binint1,
    ['M'] = op_binint2,          [0x8a] = op_long1,       [0x8b] = op_long4,        ['G'] = op_binfloat,
    ['X'] = op_binunicode,       [0x8c] = op_short_binunicode, [0x8d] = op_binunicode8, ['B'] = op_binunicode,
    ['C'] = op_short_binunicode, ['N'] = op_none,         [0x88] = op_newtrue,      [0x89] = op_newfalse,
    [0x95] = op_frame,
};

static bool run(unpickler *u)
{
  while (!u->result) {
    if (u->p >= u->end)
      return fail(u, "the pickle ends without STOP (truncated?)");
    u->op_at = (size_t)(u->p - u->start);
    unsigned char op = *u->p++;
    if (!opcodes[op] && op >= 0x20 && op < 0x7f)
      return fail(u, "unsupported pickle opcode 0x%02x ('%c')", op, op);
    if (!opcodes[op])
      return fail(u, "unsupported pickle opcode 0x%02x", op);
    if (!opcodes[op](u))
      return false;
  }
  return true;
}

ts_value *ts_unpickle(aotc_ctx *ctx, const char *name, const unsigned char *bytes, size_t len,
                      ts_storage_source *storages)
{
  const aotc_source *src = aotc_add_source(ctx, name, "", 0);
  if (!src)
    return NULL;
  unpickler u = {.ctx = ctx, .loc = {src, 0, 0}, .start = bytes, .p = bytes, .end = bytes + len, .storages = storages};
  if (!run(&u) || ctx->oom)
    return NULL;
  return u.result;
}
