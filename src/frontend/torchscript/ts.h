/* ts.h: the TorchScript frontend's table of contents. An archive written by
 * torch.jit.save is a zip (ts_zip.c) holding pickles (ts_pickle.c, tensors
 * in ts_tensor.c) and Python-like code (ts_lex.c, ts_parse.c); ts_module.c
 * resolves them into a module tree that the graph builder walks, and
 * ts_check.c prints that tree for `aotc check`. Everything lives in the
 * context's arena; every reader reports one clear error on the context and
 * returns NULL (or false) on hostile input. */
#ifndef AOTC_TS_H
#define AOTC_TS_H

#include "ir.h"

/* ------------------------------------------------------------------------
 * String maps (ts_map.c)
 * ------------------------------------------------------------------------ */

typedef struct ts_map {
  const char **keys; /* NULL: an empty slot */
  void **values;
  int n, cap;        /* cap: 0 or a power of two */
} ts_map;

void *ts_map_get(const ts_map *m, const char *key);
/* Sets key (kept, not copied) to value; false when out of memory. */
bool ts_map_put(aotc_ctx *ctx, ts_map *m, const char *key, void *value);

/* ------------------------------------------------------------------------
 * Zip archives (ts_zip.c)
 * ------------------------------------------------------------------------ */

/* Bounds a hostile archive cannot push the reader past. */
typedef struct ts_zip_limits {
  int max_entries;             /* entries in the central directory */
  int max_name_len;            /* bytes in one entry name */
  uint64_t max_entry_bytes;    /* one entry, uncompressed */
  uint64_t max_total_bytes;    /* every entry together, uncompressed */
  uint32_t max_ratio;          /* uncompressed / compressed for DEFLATE entries */
  uint64_t ratio_slack;        /* bytes a DEFLATE entry may hold beyond the ratio */
} ts_zip_limits;

extern const ts_zip_limits ts_zip_default_limits;

typedef struct ts_zip_entry {
  const char *name;      /* as stored: "model/data/0" */
  const char *path;      /* below the top folder: "data/0" */
  uint64_t header;       /* offset of the local header */
  uint64_t data;         /* offset of the (compressed) bytes */
  uint64_t comp_size;    /* compressed bytes */
  uint64_t size;         /* uncompressed bytes */
  uint32_t crc;          /* CRC-32 of the uncompressed bytes */
  int method;            /* 0 stored, 8 DEFLATE */
} ts_zip_entry;

typedef struct ts_zip {
  aotc_ctx *ctx;
  ir_loc loc;                /* the archive's name, for diagnostics */
  const char *name;
  const unsigned char *bytes;
  size_t len;
  ts_zip_limits limits;
  ts_zip_entry *entries;     /* sorted by name */
  int n_entries;
  const char *top;           /* the top folder with its '/', or "" */
  uint64_t read_bytes;       /* uncompressed bytes handed out so far */
} ts_zip;

/* Reads the central directory of the archive bytes[0..len) (kept, not
 * copied). NULL with one error on ctx when the archive is malformed or
 * breaks a limit. */
ts_zip *ts_zip_open(aotc_ctx *ctx, const char *name, const unsigned char *bytes, size_t len);
ts_zip *ts_zip_open_limited(aotc_ctx *ctx, const char *name, const unsigned char *bytes, size_t len,
                            const ts_zip_limits *limits);
/* The entry at `path` below the top folder (or a full name); NULL if none. */
const ts_zip_entry *ts_zip_find(const ts_zip *z, const char *path);
/* The entry's uncompressed bytes, CRC checked, and their count in *len:
 * for a stored entry they point into the archive, for a DEFLATE one into
 * the arena (not NUL-terminated either way); NULL with an error on ctx. */
const unsigned char *ts_zip_read(ts_zip *z, const ts_zip_entry *e, size_t *len);
/* True when bytes look like a zip archive (a local header first). */
bool ts_is_archive(const unsigned char *bytes, size_t len);

/* ------------------------------------------------------------------------
 * Tensors (ts_tensor.c)
 * ------------------------------------------------------------------------ */

typedef enum {
  TS_F32,  /* torch.float */
  TS_F64,  /* torch.double */
  TS_F16,  /* torch.half */
  TS_BF16, /* torch.bfloat16 */
  TS_I8,   /* torch.int8 */
  TS_I16,  /* torch.int16 */
  TS_I32,  /* torch.int32 */
  TS_I64,  /* torch.int64 */
  TS_U8,   /* torch.uint8 */
  TS_BOOL, /* torch.bool */
  TS_DTYPE_COUNT
} ts_dtype;

typedef struct ts_dtype_info {
  const char *name;    /* "float32", as numpy spells it */
  const char *storage; /* the storage class torch pickles: "FloatStorage" */
  const char *scalar;  /* the dtype torch 2.x pickles: "float" (torch.float) */
  int bytes;
  ir_type ir;          /* the IR type it reads as (half and bfloat16: float) */
} ts_dtype_info;

extern const ts_dtype_info ts_dtypes[TS_DTYPE_COUNT];

#define TS_MAX_RANK 16

/* One storage (data/N or constants/N), read once and shared by its views. */
typedef struct ts_storage {
  const char *key;            /* "0" */
  ts_dtype dtype;
  int64_t numel;
  const unsigned char *bytes; /* numel elements, little-endian */
} ts_storage;

/* A tensor made dense: row-major elements of dtype, little-endian. */
typedef struct ts_tensor {
  ts_dtype dtype;
  int rank;
  int64_t shape[TS_MAX_RANK];
  int64_t numel;
  void *data;                 /* numel elements, 16-byte aligned (arena) */
  const ts_storage *storage;  /* where it was read from */
  int64_t offset;             /* in elements of the storage */
  int64_t stride[TS_MAX_RANK];
} ts_tensor;

/* The dense tensor of `shape`, `stride` and `offset` (elements) into
 * storage; NULL with an error at loc when the view leaves the storage. */
ts_tensor *ts_tensor_view(aotc_ctx *ctx, ir_loc loc, const ts_storage *s, int64_t offset, int rank,
                          const int64_t *shape, const int64_t *stride);
/* Element i (row-major) as a double (half and bfloat16 widened exactly). */
double ts_tensor_get(const ts_tensor *t, int64_t i);
/* The elements as ts_dtypes[t->dtype].ir: t->data, or half and bfloat16
 * widened to float in a new arena array. */
const void *ts_tensor_ir_data(aotc_ctx *ctx, const ts_tensor *t);
/* The tensor's dtype for a storage class name ("FloatStorage") or a torch
 * scalar type name ("float", "BFloat16"); -1 when unknown. */
int ts_dtype_from_storage(const char *storage_class);
int ts_dtype_from_scalar(const char *scalar);
/* "float32 (3, 4)" */
const char *ts_tensor_describe(aotc_ctx *ctx, const ts_tensor *t);

/* ------------------------------------------------------------------------
 * Pickles (ts_pickle.c): the value tree
 * ------------------------------------------------------------------------ */

typedef enum {
  TS_V_NONE,    /* None */
  TS_V_BOOL,    /* True, False */
  TS_V_INT,     /* int (64-bit) */
  TS_V_FLOAT,   /* float */
  TS_V_STR,     /* str or bytes */
  TS_V_TUPLE,   /* tuple */
  TS_V_LIST,    /* list */
  TS_V_DICT,    /* dict, OrderedDict */
  TS_V_OBJECT,  /* an instance of a __torch__ class with its state */
  TS_V_TENSOR,  /* a tensor rebuilt from a storage */
  TS_V_GLOBAL,  /* a whitelisted global (a class or a rebuild function) */
  TS_V_STORAGE, /* a storage named by a persistent id */
  TS_V_KIND_COUNT
} ts_value_kind;

typedef struct ts_value ts_value;
struct ts_value {
  ts_value_kind kind;
  union {
    bool b;
    int64_t i;
    double f;
    struct {
      const char *s; /* NUL-terminated (bytes may hold NULs: use len) */
      size_t len;
    } str;
    struct {
      ts_value **items; /* tuple, list; dict: keys and values interleaved */
      int n, cap;
    } seq;
    struct {
      const char *module, *name; /* GLOBAL module name; object: its class */
      int builtin;               /* what the global does (ts_pickle.c) */
      ts_value *state;           /* object: what BUILD gave (a dict) */
    } obj;
    ts_tensor *tensor;
    ts_storage *storage;
  } u;
};

/* Where BINPERSID storages come from: the archive and the folder of the
 * storages ("data/" for data.pkl, "constants/" for constants.pkl). */
typedef struct ts_storage_source {
  ts_zip *zip;
  const char *folder;
  ts_map cache;       /* storages read so far, by key */
} ts_storage_source;

/* Unpickles bytes[0..len) (the entry `name`, for diagnostics). Storages are
 * read through `storages` (NULL: a persistent id is an error). NULL with
 * one error on ctx when the pickle is malformed or names a global outside
 * the whitelist. */
ts_value *ts_unpickle(aotc_ctx *ctx, const char *name, const unsigned char *bytes, size_t len,
                      ts_storage_source *storages);
/* Grows an arena array of elem-sized items to hold need (the old storage
 * is abandoned); false when out of memory. */
bool ts_grow(aotc_ctx *ctx, void **items, int *cap, int need, size_t elem);
/* A dict's value for a string key, an object's state entry; NULL if none. */
ts_value *ts_value_get(const ts_value *v, const char *key);
/* The qualified class name of an object: "__torch__.torch.nn.modules.linear.Linear". */
const char *ts_value_class(aotc_ctx *ctx, const ts_value *v);
extern const char *const ts_value_kind_names[TS_V_KIND_COUNT];

/* ------------------------------------------------------------------------
 * Code: tokens (ts_lex.c)
 * ------------------------------------------------------------------------ */

typedef enum {
  TS_T_NAME,    /* identifier or keyword */
  TS_T_INT,     /* 42 */
  TS_T_FLOAT,   /* 1.5, 1e-05, 2. */
  TS_T_STR,     /* "text" (escapes decoded into str) */
  TS_T_OP,      /* punctuation: ( ) [ ] , : . -> = == += ... */
  TS_T_NEWLINE, /* end of a logical line */
  TS_T_INDENT,  /* a deeper block starts */
  TS_T_DEDENT,  /* a block ends */
  TS_T_EOF,     /* end of the file */
} ts_token_kind;

typedef struct ts_token ts_token;
struct ts_token {
  ts_token_kind kind;
  ts_token *next;
  const char *text; /* the token's characters in the source */
  int len;
  int64_t i;        /* TS_T_INT */
  double f;         /* TS_T_FLOAT */
  const char *str;  /* TS_T_STR: decoded, NUL-terminated */
  size_t str_len;
  ir_loc loc;
};

/* Tokenises a registered source; NULL with an error at file:line:col. */
ts_token *ts_tokenize(aotc_ctx *ctx, const aotc_source *src);
bool ts_token_is(const ts_token *t, const char *s);

/* ------------------------------------------------------------------------
 * Code: the syntax tree (ts_parse.c)
 * ------------------------------------------------------------------------ */

typedef enum {
  TS_N_NAME,      /* x */
  TS_N_INT,       /* 1 */
  TS_N_FLOAT,     /* 1.5 */
  TS_N_STR,       /* "s" */
  TS_N_TRUE,      /* True */
  TS_N_FALSE,     /* False */
  TS_N_NONE,      /* None */
  TS_N_ATTR,      /* lhs.name */
  TS_N_CALL,      /* lhs(args, name=value) */
  TS_N_SUBSCRIPT, /* lhs[index] */
  TS_N_SLICE,     /* a:b:c inside [] (absent parts NULL) */
  TS_N_TUPLE,     /* (a, b) */
  TS_N_LIST,      /* [a, b] */
  TS_N_DICT,      /* {k: v} (items: keys and values interleaved) */
  TS_N_UNARY,     /* -x, not x, ~x, +x (op) */
  TS_N_BINARY,    /* a + b, a == b, a is not b, ... (op) */
  TS_N_AND,       /* a and b */
  TS_N_OR,        /* a or b */
  TS_N_IFEXP,     /* a if cond else b: lhs if cond else rhs */
  TS_N_KWARG,     /* name=value inside a call (name, lhs) */
  TS_N_EXPR_STMT, /* expression as a statement */
  TS_N_ASSIGN,    /* targets = value (items: targets; lhs: value) */
  TS_N_AUGASSIGN, /* target op= value */
  TS_N_ANNASSIGN, /* target : type [= value] */
  TS_N_RETURN,    /* return [value] */
  TS_N_IF,        /* if cond: body else: orelse (elif nests) */
  TS_N_FOR,       /* for target in iter: body */
  TS_N_WHILE,     /* while cond: body */
  TS_N_WITH,      /* with expr [as target]: body */
  TS_N_PASS,      /* pass */
  TS_N_BREAK,     /* break */
  TS_N_CONTINUE,  /* continue */
  TS_N_RAISE,     /* raise [value] */
  TS_N_ASSERT,    /* assert cond[, msg] */
  TS_N_IMPORT,    /* import a.b / from a import b (ignored) */
  TS_N_DEF,       /* def name(params) -> type: body */
  TS_N_PARAM,     /* name[: type][= default] */
  TS_N_CLASS,     /* class name(bases): body */
  TS_N_KIND_COUNT
} ts_node_kind;

typedef struct ts_node ts_node;
typedef struct ts_node_list {
  ts_node **items;
  int n, cap;
} ts_node_list;

struct ts_node {
  ts_node_kind kind;
  ir_loc loc;
  const char *name;   /* NAME, ATTR, KWARG, DEF, PARAM, CLASS; STR: the text */
  const char *op;     /* UNARY, BINARY, AUGASSIGN: "+", "not", "is not", ... */
  int64_t i;          /* INT */
  double f;           /* FLOAT */
  size_t str_len;     /* STR */
  ts_node *lhs;       /* operand, callee, subscripted value, value of ASSIGN/RETURN, ... */
  ts_node *rhs;       /* BINARY right, SUBSCRIPT index, IF/WHILE condition, FOR iter, ANNASSIGN type, DEF return type */
  ts_node *extra;     /* SLICE step, IFEXP else, ANNASSIGN value, PARAM default, ASSERT message, WITH target */
  ts_node_list items; /* call args, tuple/list/dict items, ASSIGN targets, DEF params, CLASS bases */
  ts_node_list body;  /* IF/FOR/WHILE/WITH/DEF/CLASS body */
  ts_node_list orelse;/* IF else */
};

typedef struct ts_code_file {
  const char *path;          /* "code/__torch__/torch/nn/modules/linear.py" */
  const char *module;        /* "__torch__.torch.nn.modules.linear" */
  const aotc_source *src;    /* named "archive.pt:code/..." */
  ts_node_list stmts;        /* top-level classes, defs and assignments */
} ts_code_file;

/* Appends n to list (arena-backed); false when out of memory. */
bool ts_list_push(aotc_ctx *ctx, ts_node_list *list, ts_node *n);

/* Parses one code file (registered as a source named `name`). NULL with
 * an error at file:line:col. */
ts_code_file *ts_parse_code(aotc_ctx *ctx, const char *name, const char *text, size_t len);
extern const char *const ts_node_kind_names[TS_N_KIND_COUNT];

/* ------------------------------------------------------------------------
 * The module tree (ts_module.c)
 * ------------------------------------------------------------------------ */

typedef struct ts_class {
  const char *qualname;     /* "__torch__.torch.nn.modules.linear.___torch_mangle_0.Linear" */
  const char *name;         /* "Linear" */
  ts_code_file *file;
  const ts_node *def;       /* TS_N_CLASS */
  ts_node_list methods;     /* TS_N_DEF: forward, forward1, ... */
  const char **parameters;  /* __parameters__ */
  int n_parameters;
  const char **buffers;     /* __buffers__ */
  int n_buffers;
} ts_class;

typedef enum {
  TS_ATTR_PARAMETER, /* listed in __parameters__ */
  TS_ATTR_BUFFER,    /* listed in __buffers__ */
  TS_ATTR_MODULE,    /* a submodule */
  TS_ATTR_VALUE,     /* any other attribute: bool, int, tensor, list, ... */
} ts_attr_kind;

typedef struct ts_module ts_module;
typedef struct ts_attr {
  const char *name;
  ts_attr_kind kind;
  ts_value *value;      /* the pickled value (a tensor for parameters) */
  ts_module *module;    /* TS_ATTR_MODULE */
} ts_attr;

struct ts_module {
  const char *path;     /* "" for the root, "features.0" below it */
  ts_class *cls;
  ts_value *object;
  ts_attr *attrs;       /* in the pickle's order */
  int n_attrs;
};

typedef struct ts_archive {
  aotc_ctx *ctx;
  const char *name;
  ts_zip *zip;
  const char *version;      /* the version entry's text: "3" */
  ts_value *data;           /* data.pkl */
  ts_value *constants;      /* constants.pkl: a tuple (CONSTANTS.cN) */
  ts_code_file **files;     /* every code/ file ending in .py */
  int n_files, cap_files;
  ts_class **classes;
  int n_classes, cap_classes;
  ts_map class_map;         /* classes by qualified name */
  ts_module *root;
} ts_archive;

/* Opens an archive written by torch.jit.save: zip, pickles, code files,
 * module tree. NULL with one clear error on ctx. */
ts_archive *ts_archive_open(aotc_ctx *ctx, const char *name, const unsigned char *bytes, size_t len);
ts_class *ts_archive_class(const ts_archive *a, const char *qualname);
const ts_attr *ts_module_attr(const ts_module *m, const char *name);
/* A method of a class (forward, forward1, ...); NULL if none. */
const ts_node *ts_class_method(const ts_class *c, const char *name);
/* CONSTANTS.cN of the code: constants.pkl's item N (name "cN"); NULL if none. */
ts_value *ts_archive_constant(const ts_archive *a, const char *name);
/* A top-level function of a code module ("__torch__", "helper"). */
const ts_node *ts_archive_function(const ts_archive *a, const char *module, const char *name);

/* ------------------------------------------------------------------------
 * The model graph (ts_graph.c, ts_eval.c, ts_ops.c, ts_ops_nn.c)
 * ------------------------------------------------------------------------ */

struct ir_graph;

/* What the caller knows of forward's arguments: the inputs of `aotc run`
 * (shape, type, values) or the --shape specs. */
typedef struct ts_graph_options {
  const onnx_given *given;
  int n_given;
  const onnx_shape_spec *shapes;
  int n_shapes;
  const char *const *size_names; /* named dimensions of the specs (ts_size_names) */
  const int64_t *size_values;    /* their values in this reading (a probe) */
  int n_sizes;
  bool weights_as_params; /* --weights-as-inputs */
} ts_graph_options;

/* Runs the root module's forward at compile time into a model graph
 * (graph.h): forward's arguments are the inputs (every one needs a shape),
 * what it returns the outputs ("output", or "output0", "output1", ... for
 * a tuple). NULL with an error naming the archive's code file:line:col
 * (an unsupported operator, data-dependent control flow). */
struct ir_graph *ts_read_graph(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                               const ts_graph_options *opt);
/* The named dimensions of the --shape specs (--shape x=N,3,224,224), in
 * order of first appearance among forward's arguments: *names (arena) and
 * their count, or -1 with an error (a spec naming no argument, more than
 * IR_PROBES_MAX names). The pipeline reads the archive once per probe of
 * ir_probe_sizes with size_values set, then generalizes. */
int ts_size_names(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                  const onnx_shape_spec *specs, int n_specs, const char *const **names);
/* Whether a path names a TorchScript archive by its extension (.pt, .pth,
 * .ts), so that a file that is not a zip gets the archive reader's error. */
bool ts_archive_extension(const char *path);

/* ------------------------------------------------------------------------
 * Listing (ts_check.c): `aotc check model.pt`
 * ------------------------------------------------------------------------ */

/* "torch.linear", "ops.prim.NumToTensor", or NULL when the call's callee is
 * not an operator (a method, a submodule's forward, a builtin). */
const char *ts_call_op(aotc_ctx *ctx, const ts_node *call);
/* Prints the module tree, the parameters with their shapes and the
 * operators each method calls. */
void ts_print_archive(FILE *out, const ts_archive *a);
/* `aotc check FILE` for a TorchScript archive: 0, or 1 with errors on ctx. */
bool ts_file_is_archive(const char *path);
int ts_check_file(aotc_ctx *ctx, const char *path, FILE *out);

#endif
