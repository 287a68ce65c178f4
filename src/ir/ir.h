/* ir.h: the one IR of aotc. Every pass includes this header; it reads as the
 * table of contents of the compiler: context and diagnostics, arena, element
 * types, size expressions, tensors, expressions, statements, functions, and
 * the entry points of each stage. */
#ifndef AOTC_IR_H
#define AOTC_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AOTC_VERSION "0.1.0"

/* ------------------------------------------------------------------------
 * Context, allocation and diagnostics
 * ------------------------------------------------------------------------ */

/* One allocation hook (lua_Alloc style): nsize == 0 frees, otherwise
 * (re)allocates. Tests install a failing hook to inject out-of-memory. */
typedef void *(*aotc_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);

typedef struct aotc_source {
  const char *name; /* file name as given on the command line */
  const char *text; /* whole file, NUL-terminated (owned by the context) */
  size_t len;
} aotc_source;

typedef struct ir_loc {
  const aotc_source *src; /* NULL when the location is unknown */
  int line, col;          /* 1-based */
} ir_loc;

typedef enum {
  AOTC_ERROR,   /* error */
  AOTC_WARNING, /* warning */
  AOTC_NOTE,    /* note */
} aotc_severity;

typedef struct aotc_diag {
  aotc_severity severity;
  ir_loc loc;
  char *msg;
} aotc_diag;

typedef struct ir_arena ir_arena;

typedef struct aotc_ctx {
  aotc_alloc_fn alloc;
  void *alloc_ud;
  ir_arena *arena; /* everything the IR holds lives here, freed in one go */
  aotc_diag *diags;
  int n_diags, cap_diags;
  int n_errors;
  bool oom; /* an allocation failed; results are unusable */
  aotc_source **sources;
  int n_sources;
  long isl_max_ops; /* bound on isl's work per kernel (0: default) */
  int64_t max_bytes; /* memory budget for what a reader allocates (0: AOTC_DEFAULT_MAX_BYTES) */
} aotc_ctx;

#define AOTC_DEFAULT_MAX_BYTES ((int64_t)2 << 30)

aotc_ctx *aotc_ctx_new(aotc_alloc_fn alloc, void *ud); /* alloc NULL: libc */
void aotc_ctx_free(aotc_ctx *ctx);
/* The memory budget in force: ctx->max_bytes, or the default. */
int64_t aotc_max_bytes(const aotc_ctx *ctx);
/* Registers a source text (copied) so locations can show the line. */
const aotc_source *aotc_add_source(aotc_ctx *ctx, const char *name, const char *text, size_t len);
void aotc_error(aotc_ctx *ctx, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void aotc_warning(aotc_ctx *ctx, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void aotc_note(aotc_ctx *ctx, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void aotc_vdiag(aotc_ctx *ctx, aotc_severity sev, ir_loc loc, const char *fmt, va_list ap);
/* Prints every diagnostic as `file:line:col: error: msg`, the source line
 * and a caret under the column. */
void aotc_print_diags(const aotc_ctx *ctx, FILE *out);
void aotc_clear_diags(aotc_ctx *ctx);

/* ------------------------------------------------------------------------
 * Arena: one bump allocator per context
 * ------------------------------------------------------------------------ */

void *ir_alloc(aotc_ctx *ctx, size_t size); /* zeroed, 16-byte aligned; NULL and ctx->oom on failure */
char *ir_strdup(aotc_ctx *ctx, const char *s);
char *ir_strndup(aotc_ctx *ctx, const char *s, size_t n);
char *ir_sprintf(aotc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* FNV-1a (64 bits) of n bytes, and of a string without its NUL: the one
 * hash of names, texts and cache keys (tuning cache entries on disk too). */
uint64_t ir_hash_bytes(const void *p, size_t n);
uint64_t ir_hash_str(const char *s);
#define IR_NEW(ctx, T) ((T *)ir_alloc((ctx), sizeof(T)))
#define IR_NEW_ARRAY(ctx, T, n) ((T *)ir_alloc((ctx), sizeof(T) * (size_t)((n) > 0 ? (n) : 1)))

/* Heap blocks through the same hook, for memory freed before the context:
 * 64-byte aligned, not zeroed; NULL and ctx->oom on failure (aotc_realloc
 * then leaves p as it was). aotc_free(ctx, NULL) does nothing. */
void *aotc_malloc(aotc_ctx *ctx, size_t n);
void *aotc_realloc(aotc_ctx *ctx, void *p, size_t n);
void aotc_free(aotc_ctx *ctx, void *p);

/* A growable array of pointers, arena-backed (old storage is abandoned). */
typedef struct ir_vec {
  void **items;
  int n, cap;
} ir_vec;
bool ir_vec_push(aotc_ctx *ctx, ir_vec *v, void *item);

/* ------------------------------------------------------------------------
 * Element types
 * ------------------------------------------------------------------------ */

typedef enum {
  IR_BOOL, /* bool */
  IR_I8,   /* int8 */
  IR_U8,   /* uint8 */
  IR_I16,  /* int16 */
  IR_U16,  /* uint16 */
  IR_I32,  /* int32 */
  IR_U32,  /* uint32 */
  IR_I64,  /* int64 */
  IR_U64,  /* uint64 */
  IR_F32,  /* float, float32 */
  IR_F64,  /* double, float64 */
  IR_TYPE_COUNT
} ir_type;

typedef struct ir_type_info {
  const char *name;   /* TC spelling: "float", "int32", ... */
  const char *c_name; /* C spelling: "float", "int32_t", "bool" */
  int bytes;
  bool is_float;
  bool is_signed;
  int rank; /* promotion order: the higher rank wins */
} ir_type_info;

extern const ir_type_info ir_types[IR_TYPE_COUNT];
/* TC's promotion: floats beat integers, wider beats narrower. */
ir_type ir_promote(ir_type a, ir_type b);
bool ir_type_from_name(const char *name, size_t len, ir_type *out);

/* ------------------------------------------------------------------------
 * Size expressions: tensor dimensions and index ranges, affine in the size
 * parameters (products with constants, floor/ceil division by constants,
 * min and max).
 * ------------------------------------------------------------------------ */

typedef enum {
  IR_SZ_CONST,    /* value */
  IR_SZ_PARAM,    /* size parameter number value */
  IR_SZ_ADD,      /* a + b */
  IR_SZ_SUB,      /* a - b */
  IR_SZ_MUL,      /* a * b, one side constant */
  IR_SZ_FLOORDIV, /* floor(a / b), b a positive constant */
  IR_SZ_CEILDIV,  /* ceil(a / b), b a positive constant */
  IR_SZ_MIN,      /* min(a, b) */
  IR_SZ_MAX,      /* max(a, b) */
} ir_size_kind;

typedef struct ir_size {
  ir_size_kind kind;
  int64_t value;
  struct ir_size *a, *b;
} ir_size;

ir_size *ir_size_const(aotc_ctx *ctx, int64_t v);
ir_size *ir_size_param(aotc_ctx *ctx, int param);
/* Folds constants: ir_size_bin(ctx, IR_SZ_ADD, const 1, const 2) is const 3. */
ir_size *ir_size_bin(aotc_ctx *ctx, ir_size_kind kind, ir_size *a, ir_size *b);
bool ir_size_is_const(const ir_size *s, int64_t *value);
bool ir_size_equal(const ir_size *a, const ir_size *b); /* structural */
/* Evaluates with params[i] the value of parameter i; false on overflow or
 * division by zero. */
bool ir_size_eval(const ir_size *s, const int64_t *params, int64_t *out);
/* Prints as a C expression; param_names[i] names parameter i. */
void ir_size_print(FILE *out, const ir_size *s, const char *const *param_names);

/* ------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------ */

typedef enum {
  IR_INPUT,     /* read-only argument (a scalar argument is a rank-0 input) */
  IR_OUTPUT,    /* written argument */
  IR_TEMP,      /* written, not an argument: lives in the workspace */
  IR_PARAMETER, /* trainable weight: a read-only argument after the inputs (data: its initial value) */
  IR_CONSTANT,  /* constant data embedded in the output (models) */
} ir_role;

typedef struct ir_tensor {
  const char *name;
  ir_type type;
  ir_role role;
  int rank;
  ir_size **shape; /* rank entries; NULL entries before inference */
  ir_loc loc;
  const void *data; /* IR_CONSTANT: dense row-major elements; IR_PARAMETER: the
                       initial value (a model's initializer) or NULL */
  int64_t ws_offset; /* IR_TEMP: byte offset in the workspace, when the
                        function has a memory plan (memory_planned) */
  int live_first, live_last; /* IR_TEMP of a function planned per call: the
                                first and last kernel that use it */
  bool view;          /* IR_TEMP stored inside temporary view_of (src/graph/views.c) */
  int view_of;        /* view: the temporary that owns the bytes (itself no view) */
  int64_t view_offset; /* view: where its dense row-major elements start in view_of's, in bytes */
} ir_tensor;

/* ------------------------------------------------------------------------
 * Expressions
 * ------------------------------------------------------------------------ */

typedef enum {
  IR_CONST_INT,   /* ival */
  IR_CONST_FLOAT, /* fval */
  IR_INDEX,       /* index variable number index of the statement */
  IR_SIZE,        /* size expression size (type int64) */
  IR_ACCESS,      /* tensor[args...]; padded: 0 outside the bounds */
  IR_UNARY,       /* op a */
  IR_BINARY,      /* a op b */
  IR_SELECT,      /* a ? b : c */
  IR_CAST,        /* (type) a */
  IR_CALL,        /* builtin(args...) */
  IR_EXPR_KIND_COUNT
} ir_expr_kind;

typedef enum {
  IR_NEG, /* -a */
  IR_NOT, /* !a */
  IR_ADD, /* + */
  IR_SUB, /* - */
  IR_MUL, /* * */
  IR_DIV, /* / (C semantics: truncating for integers) */
  IR_MOD, /* % (C semantics) */
  IR_LT,  /* < */
  IR_LE,  /* <= */
  IR_GT,  /* > */
  IR_GE,  /* >= */
  IR_EQ,  /* == */
  IR_NE,  /* != */
  IR_AND, /* && */
  IR_OR,  /* || */
  IR_OP_COUNT
} ir_op;

extern const char *const ir_op_spelling[IR_OP_COUNT];

typedef enum {
  IR_FN_EXP, IR_FN_LOG, IR_FN_TANH, IR_FN_SQRT, IR_FN_RSQRT, IR_FN_FABS,
  IR_FN_FMAX, IR_FN_FMIN, IR_FN_POW, IR_FN_ERF, IR_FN_FLOOR, IR_FN_CEIL,
  IR_FN_ROUND, IR_FN_TRUNC, IR_FN_SIN, IR_FN_COS, IR_FN_TAN, IR_FN_ASIN,
  IR_FN_ACOS, IR_FN_ATAN, IR_FN_SINH, IR_FN_COSH, IR_FN_ASINH, IR_FN_ACOSH,
  IR_FN_ATANH, IR_FN_EXP2, IR_FN_EXPM1, IR_FN_LOG2, IR_FN_LOG10, IR_FN_LOG1P,
  IR_FN_CBRT, IR_FN_ERFC, IR_FN_SIGMOID, IR_FN_FMOD, IR_FN_ATAN2,
  IR_FN_MIN, IR_FN_MAX, /* min/max of any numeric type */
  IR_FN_ABS,            /* abs of any numeric type */
  IR_FN_COUNT
} ir_builtin;

typedef struct ir_builtin_info {
  const char *name; /* TC spelling */
  int arity;
  bool float_only; /* arguments are promoted to a float type */
  const char *c_f32, *c_f64; /* libm names for float and double; NULL: special */
} ir_builtin_info;

extern const ir_builtin_info ir_builtins[IR_FN_COUNT];
bool ir_builtin_from_name(const char *name, size_t len, ir_builtin *out);

typedef struct ir_expr {
  ir_expr_kind kind;
  ir_type type;
  ir_loc loc;
  union {
    int64_t ival;
    double fval;
    int index;
    ir_size *size;
    ir_op op;
    ir_builtin fn;
  };
  int tensor;  /* IR_ACCESS: tensor number in the function */
  bool padded; /* IR_ACCESS: reads outside the bounds yield 0 */
  int n_args;  /* IR_ACCESS (indices), IR_UNARY 1, IR_BINARY 2, IR_SELECT 3, IR_CAST 1, IR_CALL */
  struct ir_expr **args;
} ir_expr;

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

typedef enum {
  IR_RED_NONE, /* = */
  IR_RED_ADD,  /* += */
  IR_RED_MUL,  /* *= */
  IR_RED_MIN,  /* min= */
  IR_RED_MAX,  /* max= */
} ir_reduction;

typedef struct ir_index {
  const char *name;
  ir_size *lo, *hi; /* lo <= i < hi */
  bool reduction;   /* appears on the right only */
  bool explicit_range; /* from a `where i in lo:hi` clause */
  ir_loc loc;          /* the `where` clause of an explicit range, else the index's first use */
} ir_index;

/* A statement runs at every point of the box of its index ranges and
 * combines the right-hand side into one element of the tensor it writes.
 *
 * Plain form (lhs_expr NULL): the subscripts are index variables,
 * tensor(index[lhs[0]], ...), the first n_lhs indices each once; every
 * point writes its own element except along the reduction indices.
 *
 * General form (lhs_expr set, lhs NULL): subscript d is the integer
 * expression lhs_expr[d] of the index variables and sizes: affine
 * (`G(2*i + k)`) or indirect (`H(Idx(b, n))`, a read of an integer tensor
 * other than the one written). Several points may write one element: with
 * a reduction operator they accumulate (a scatter-add), with `=` the last
 * point in index order wins. Index variables are not split: `reduction`
 * marks those no subscript mentions. A write outside the tensor is an error
 * of the interpreter and undefined in emitted code.
 *
 * Without init, a reduction accumulates into the tensor's current values
 * (an argument's caller-provided contents, or an earlier statement's
 * results). With init (the `!` form) it first sets the left-hand box
 * (plain) or the whole tensor (general) to the reduction's identity. */
typedef struct ir_stmt {
  ir_loc loc;
  int tensor;   /* the tensor written */
  int n_index;  /* all index variables (plain form: those of the left-hand side first) */
  ir_index *index;
  int n_lhs;    /* subscripts on the left: the rank of the tensor written */
  int *lhs;     /* plain form: tensor(index[lhs[0]], ...); NULL in the general form */
  ir_expr **lhs_expr; /* general form: tensor(lhs_expr[0], ...); NULL in the plain form */
  ir_reduction red;
  bool init;    /* the `!` form: initialise with the reduction's identity */
  ir_expr *rhs;
} ir_stmt;

/* Whether s has the plain form (index variables on the left). Passes that
 * only know that form (contraction recognisers, partitioning) leave the
 * others alone. */
static inline bool ir_stmt_is_plain(const ir_stmt *s)
{
  return s->lhs_expr == NULL;
}
/* Whether e (NULL: false) reads tensor t anywhere, nested subscripts
 * included. */
bool ir_expr_reads(const ir_expr *e, int t);
/* Whether e mentions index variable k. */
bool ir_expr_uses_index(const ir_expr *e, int k);
/* Whether s reads t: its right-hand side, its left-hand subscripts, or the
 * tensor it accumulates into. */
bool ir_stmt_reads(const ir_stmt *s, int t);

/* ------------------------------------------------------------------------
 * Functions and modules
 * ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------
 * Regions: control flow over the statements (region.c, docs/control-flow.md)
 *
 * A function with a body runs it instead of its statements in order. Every
 * region covers a contiguous range of statements, its children the same
 * range in order. Kernels never cross a region's boundary; control reads
 * tensors holding one element (element 0) and writes none: the statements
 * inside do the rest (copies of loop-carried values, the iteration number).
 * ------------------------------------------------------------------------ */

typedef enum {
  IR_REGION_STMTS, /* statements first .. end-1, in order */
  IR_REGION_SEQ,   /* the children in order */
  IR_REGION_IF,    /* if (cond[0]) children[0] else children[1] */
  IR_REGION_LOOP,  /* n = trip[0] (or max_trip); for (i = 0; i < n && cond[0]; i++) children[0] */
} ir_region_kind;

typedef struct ir_region {
  ir_region_kind kind;
  int first, end;  /* the statements covered */
  int n_children;
  struct ir_region **children;
  int cond;        /* IF: the condition; LOOP: checked before every iteration (-1: none) */
  int trip;        /* LOOP: an integer tensor, the most iterations (-1: max_trip) */
  int64_t max_trip; /* LOOP without trip: the iteration count (-1: unbounded, cond must stop it) */
  ir_loc loc;
} ir_region;

/* Data-parallel training (aotc train --ddp, docs/ddp.md): a call of a
 * gradient-synchronisation hook between two kernels. Partitioning starts a
 * kernel at `before`; the C printer prints the call there. */
typedef struct ir_sync {
  int before;  /* the statement it comes before (n_stmts: after the last) */
  bool wait;   /* false: aotc_ddp_grad_ready (the gradient is final); true: aotc_ddp_grad_wait (before its update) */
  int slot;    /* the gradient's place in the order the gradients become final */
  int tensor;  /* the gradient: a float temporary of constant shape */
  int param;   /* the parameter it is the gradient of */
} ir_sync;

typedef struct ir_func {
  const char *name;
  ir_loc loc;
  int n_params; /* size parameters, in order of first appearance */
  const char **param_names;
  int n_tensors;
  ir_tensor **tensors;
  int n_inputs;  /* signature order, scalar arguments included; the
                    IR_PARAMETER tensors come last (ir_func_first_parameter) */
  int *inputs;   /* tensor numbers */
  int n_outputs;
  int *outputs;
  int n_stmts;
  ir_stmt **stmts;
  int *stmt_kernel; /* per statement, the kernel (one fused loop nest group,
                       scheduled by isl on its own) it belongs to, in
                       non-decreasing order; NULL: the whole function is
                       one kernel */
  int *stmt_origin; /* per statement, the operator it was lowered from (non-
                       decreasing; what partitioning groups); NULL: none */
  bool memory_planned;     /* ws_offset of every temporary is set; otherwise
                              the backend lays temporaries out in order */
  bool memory_planned_per_call; /* temporaries with size parameters: the
                                   emitted code places them at each call by
                                   their lifetimes (live_first, live_last) */
  int64_t workspace_bytes; /* from the memory plan */
  int64_t workspace_lower_bound; /* the plan's lower bound: the most bytes
                                    of temporaries live at once */
  int n_checks;      /* size conditions the entry checks first: when one of */
  ir_size **checks;  /* them is negative, it returns 1 (reads would leave a tensor) */
  ir_region *body;   /* control flow over the statements (an IR_REGION_SEQ over
                        all of them); NULL: the statements run in order */
  int n_syncs;       /* gradient-synchronisation calls, by `before` (ir_sync) */
  ir_sync *syncs;
} ir_func;

typedef struct ir_module {
  int n_funcs;
  ir_func **funcs;
} ir_module;

/* Whether f was lowered from a model's graph and partitioned (an operator
 * per statement, kernels): what gets the io tables, views and the memory
 * plan. A function written in TC has no operators, even when its
 * contractions were given kernels of their own. */
static inline bool ir_func_is_model(const ir_func *f)
{
  return f->stmt_kernel && f->stmt_origin;
}

/* Tensor by name, -1 when absent. */
int ir_func_find_tensor(const ir_func *f, const char *name);
/* The position in f->inputs of the first IR_PARAMETER tensor: the data
 * inputs are inputs[0..k-1], the parameters inputs[k..n_inputs-1]. */
int ir_func_first_parameter(const ir_func *f);
ir_func *ir_module_find(const ir_module *m, const char *name);

/* ------------------------------------------------------------------------
 * IR utilities: builders, verifier, printer
 * ------------------------------------------------------------------------ */

ir_expr *ir_expr_new(aotc_ctx *ctx, ir_expr_kind kind, ir_type type, ir_loc loc, int n_args);
/* A call of builtin fn on a (and b when it takes two); NULL when an
 * argument it needs is NULL or on out-of-memory. */
ir_expr *ir_expr_call(aotc_ctx *ctx, ir_builtin fn, ir_type type, ir_loc loc, ir_expr *a, ir_expr *b);
/* Checks the invariants every pass relies on; reports on ctx. */
bool ir_verify(aotc_ctx *ctx, const ir_func *f);
/* TC-like text of the whole function. */
void ir_print_func(FILE *out, const ir_func *f);
void ir_print_expr(FILE *out, const ir_func *f, const ir_stmt *s, const ir_expr *e);
/* `aotc check` output: each statement with its inferred ranges, and the
 * shape of every tensor. */
void ir_print_ranges(FILE *out, const ir_func *f);

/* Regions (region.c). ir_region_new: a region of kind over no statements
 * yet; ir_region_add appends a child (its range extends the parent's). */
ir_region *ir_region_new(aotc_ctx *ctx, ir_region_kind kind, int first);
bool ir_region_add(aotc_ctx *ctx, ir_region *parent, ir_region *child);
/* Checks f->body (ranges, children, control tensors, kernels inside
 * regions); reports on ctx. */
bool ir_region_verify(aotc_ctx *ctx, const ir_func *f);
/* Whether two trees (NULL: none) are the same: kinds, ranges, control
 * tensors, constant trip counts. */
bool ir_region_same(const ir_region *a, const ir_region *b);
/* The region tree as `--dump-after` shows it. */
void ir_region_print(FILE *out, const ir_func *f);
/* Whether statement i is the first of a region of statements (lowering
 * gives each node inside a branch or loop its own). */
bool ir_region_starts_leaf(const ir_func *f, int i);
/* Memory plans: widens the kernel span [*first, *last] of tensor t so that
 * a tensor used inside a control region (or live across it, or read by its
 * control) stays live over the whole of the outermost such region. */
void ir_region_widen_live(const ir_func *f, int t, int *first, int *last);
/* Whether statement i starts a new block: the first statement of a region,
 * or the first after one ends (kernels start there). */
bool ir_region_starts_block(const ir_func *f, int i);

/* ------------------------------------------------------------------------
 * Calling convention shared by the interpreter and the emitted code
 *
 * sizes: one int64 per size parameter; args: the inputs (data inputs, then
 * parameters) then the outputs, in signature order, each a pointer to dense
 * row-major data (a pointer to the value for a scalar argument).
 * ------------------------------------------------------------------------ */

/* Binds size parameters from the shapes of the inputs (shapes[i] has
 * ranks[i] entries for input i). Reports conflicts on ctx. */
bool ir_bind_sizes(aotc_ctx *ctx, const ir_func *f, const int64_t *const *shapes, const int *ranks,
                   int64_t *sizes);
/* Concrete shape of tensor t under the given sizes. */
bool ir_tensor_shape(const ir_func *f, int t, const int64_t *sizes, int64_t *shape);
/* A double as an int64, truncated and saturated (NaN: 0): the one conversion
 * of untrusted floats to integers, never undefined. */
int64_t ir_saturate_i64(double d);
/* Number of elements (product of the shape); -1 on overflow. */
int64_t ir_tensor_numel(const ir_func *f, int t, const int64_t *sizes);

/* The reference interpreter: executes the statements one by one, directly
 * on the IR. Temporaries are allocated with ctx's allocator. Returns 0 on
 * success; a read out of bounds (not padded) or a write out of bounds is an
 * error on ctx. */
int ir_interpret(aotc_ctx *ctx, const ir_func *f, const int64_t *sizes, void *const *args);

/* ------------------------------------------------------------------------
 * Size-generic functions from size-specific ones (generalize.c)
 *
 * A frontend that infers shapes with numbers lowers its program once per
 * probe (ir_probe_sizes gives the values of the named sizes at probe k:
 * probe 0 the base, probe 1 + i with size i bumped, probe n_params + 1 to
 * verify); ir_generalize checks that the functions are the same program and
 * returns it with every varying number (shapes, ranges, integer constants)
 * an affine expression of the size parameters. Anything else that varies is
 * an error naming the tensor or statement. The result has no memory plan.
 * ------------------------------------------------------------------------ */

#define IR_PROBES_MAX 8 /* named sizes one function may have */

typedef struct ir_probes {
  int n_params;             /* named sizes, 1..IR_PROBES_MAX */
  const char *const *names; /* their names, in order of first appearance */
  int n;                    /* probes: n_params + 2 */
  const int64_t *values;    /* n rows of n_params: the sizes of each probe */
} ir_probes;

void ir_probe_sizes(int n_params, int probe, int64_t *sizes);
ir_func *ir_generalize(aotc_ctx *ctx, ir_func *const *fs, const ir_probes *p);

/* ------------------------------------------------------------------------
 * Frontends
 * ------------------------------------------------------------------------ */

/* Parses, checks and infers ranges for every def of a TC source. NULL when
 * any error was reported on ctx. */
ir_module *tc_compile(aotc_ctx *ctx, const aotc_source *src);

/* Reads an ONNX model (a serialized ModelProto; path names the file, for
 * messages and external data) and lowers it to a module with one function
 * named func_name: inputs and outputs in the model's order (initializers are
 * not inputs), weights as IR_CONSTANT tensors (IR_PARAMETER ones with
 * onnx_compile_opts and weights_as_params), static shapes, no size
 * parameters. Tensor names are the model's, made into C identifiers. NULL
 * when any error was reported on ctx (unsupported operators name the node). */
ir_module *onnx_compile(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                        const char *func_name);

/* A value the caller knows for a model input. Its shape fixes dynamic
 * dimensions; its data (may be NULL) is used where the input determines a
 * shape (Reshape's shape, Slice's starts, ...): the input then becomes a
 * constant and leaves the function's inputs. */
typedef struct onnx_given {
  const char *name; /* the input's name in the model, or its C identifier */
  ir_type type;
  int rank;
  const int64_t *shape;
  const void *data;
  bool overrides; /* the shape replaces the model's declared dimensions (--shape) */
} onnx_given;

ir_module *onnx_compile_given(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                              const char *func_name, const onnx_given *given, int n_given);

typedef struct onnx_options {
  const onnx_given *given; /* values the caller knows (may be NULL) */
  int n_given;
  bool weights_as_params;  /* the floating-point initializers become IR_PARAMETER
                              tensors (arguments after the inputs, in the order
                              of the model's initializers, their values as
                              data) instead of constants; no graph pass folds
                              them (`--weights-as-inputs`) */
  const struct onnx_shape_spec *shapes; /* --shape: named or fixed dimensions */
  int n_shapes;
} onnx_options;

ir_module *onnx_compile_opts(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                             const char *func_name, const onnx_options *opt);

/* An input's dimensions given on the command line (--shape x=N,3,224,224):
 * dims[d], or the named size names[d] when that is not NULL. */
typedef struct onnx_shape_spec {
  const char *input;
  int rank;
  const int64_t *dims;
  const char *const *names;
} onnx_shape_spec;

/* A model's named sizes (onnx_sizes.c): the model's dim_param names, or
 * those of --shape specs, which replace an input's whole shape. Each name
 * becomes a size parameter, in order of first appearance among the inputs;
 * the pipeline reads the model once per probe of ir_probe_sizes with the
 * shapes onnx_sizes_given returns and generalizes the lowered functions.
 * NULL (reported) when a spec names no input or does not fit it. */
struct onnx_sizes;
struct onnx_sizes *onnx_sizes_read(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                                   const onnx_shape_spec *specs, int n_specs);
int onnx_sizes_count(const struct onnx_sizes *s);
const char *const *onnx_sizes_names(const struct onnx_sizes *s);
/* The shapes of the inputs with the named sizes at sizes[] (NULL when there
 * are none): the fixed and --shape dimensions as given; inputs with unknown
 * dimensions are left out (the reader compiles those for 1, warned). */
const onnx_given *onnx_sizes_given(struct onnx_sizes *s, const int64_t *sizes, int *n_given);
/* The ONNX frontend proper: reads the model into a model graph (graph.h)
 * and runs no pass; onnx_compile and onnx_compile_given are the pipeline
 * (src/driver/pipeline.h) from this read through verification. NULL when
 * any error was reported on ctx. */
struct ir_graph *onnx_read_graph(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                                 const onnx_options *opt);

/* The names of an ONNX model's inputs (graph inputs that are not
 * initializers), in order: input_k.pb of the ONNX test data feeds the k-th.
 * Arena-allocated; none (nothing reported: onnx_compile says why) when the
 * model cannot be decoded; NULL only when out of memory. */
const char **onnx_model_inputs(aotc_ctx *ctx, const unsigned char *data, size_t len, int *n);
/* C names (names.c): the one mangling scheme from a user's name to a C
 * identifier, documented at the top of names.c. ir_c_name returns a valid
 * C identifier, clear of C's and the emitted code's reserved names and
 * distinct from taken[0..n_taken-1] (arena-allocated; NULL on OOM).
 * ir_c_identifier is ir_c_name with nothing taken. ir_c_entry_clash: the
 * first entry i among names[0..n-1] whose C name, or a name derived from it
 * (NAME_call, NAME_workspace_bytes, ...), was already declared by an earlier
 * entry (*other; *c_name: that name), or -1 when they are all distinct. */
const char *ir_c_name(aotc_ctx *ctx, const char *raw, const char *const *taken, int n_taken);
const char *ir_c_identifier(aotc_ctx *ctx, const char *name);
bool ir_c_name_reserved(const char *s);
int ir_c_entry_clash(aotc_ctx *ctx, const char *const *names, int n, int *other, const char **c_name);
/* A set of names (open addressing, arena-backed; zero-initialise) for
 * uniqueness among many names in linear time. ir_c_name_unique is ir_c_name
 * with the set as what is taken, and adds the name it returns. */
typedef struct ir_name_set {
  const char **slot;
  long *next; /* per slot: the next suffix to try for that name as a base */
  int n, cap;
} ir_name_set;
bool ir_name_set_add(aotc_ctx *ctx, ir_name_set *set, const char *name); /* false: there already, or OOM */
bool ir_name_set_has(const ir_name_set *set, const char *name);
const char *ir_c_name_unique(aotc_ctx *ctx, ir_name_set *set, const char *raw);

/* Reads a serialized ONNX TensorProto (a .pb file of the ONNX test data):
 * element type, rank, shape (up to 16 dimensions) and the elements, dense
 * row-major, in *data_out (malloc'ed, the caller frees). name is the file,
 * for messages. */
bool onnx_read_tensor(aotc_ctx *ctx, const char *name, const unsigned char *data, size_t len, ir_type *type,
                      int *rank, int64_t *shape /*16*/, void **data_out /*malloc*/);

/* ------------------------------------------------------------------------
 * Backend: polyhedral model, schedule and C
 * ------------------------------------------------------------------------ */

struct sched_options;
struct sched_cpu;

typedef struct emit_options {
  const struct sched_options *sched; /* loop transformations; NULL: sched_options_heuristic */
  int threads;                /* with sched NULL: threads the heuristics schedule for (0: 1) */
  const struct sched_cpu *cpu; /* with sched NULL: the CPU the heuristics assume (--cpu); NULL: native */
  const int64_t *fixed_sizes; /* per size parameter: value, or -1 when generic; NULL: all generic */
  bool fuse;                  /* let isl's scheduler fuse statements */
  const char *header_name;    /* #include line of the C file ("model.h") */
  bool dump_schedule;         /* print schedule trees on stderr */
  const char *weights;        /* models: constants of 1 KiB or more are read from this weights
                                 blob at run time (emit_model.h) instead of being embedded */
  bool unchecked_indices;     /* --unchecked-indices: no run-time checks of indices read from data */
  bool abi_halide;            /* --abi halide: also NAME_halide over halide_buffer_t (emit_halide.c) */
  bool verbose;               /* -v: the printer notes what it printed once (emit_outline.c) */
  struct poly_memo *memo;     /* NULL, or isl's schedules of earlier plans of the same function (the tuner's) */
} emit_options;

/* What an emitted entry returns when an index it reads from data (Gather's
 * indices, TC's `LUT(I(n))`) lies outside its tensor; nothing was written by
 * the kernel that would have used it (src/emit_c/emit_checks.c). */
#define AOTC_RC_INDEX 4
/* The accesses of f whose indices are read from data, for messages:
 * "'X' read at indices read from 'I', ..." ("" when none). */
const char *emit_checks_describe(aotc_ctx *ctx, const ir_func *f);

/* Writes the C source and header for the given functions of a module: the
 * phases of src/emit_c/emit_plan.h (model, schedule, AST) then the printer. */
bool emit_c_module(aotc_ctx *ctx, const ir_module *m, ir_func *const *funcs, int n_funcs,
                   const emit_options *opt, FILE *c_out, FILE *h_out);

#endif
