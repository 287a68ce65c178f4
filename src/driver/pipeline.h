/* pipeline.h: the compiler as one flat, ordered list of named passes over
 * one module object (pipeline.c holds the list). `aotc --dump=passes`
 * prints it; `--dump-after=PASS` prints the module after PASS on stderr. */
#ifndef AOTC_PIPELINE_H
#define AOTC_PIPELINE_H

#include "ir.h"

struct ir_graph;
struct sched_options;

typedef enum {
  DRIVER_INPUT_TC,          /* Tensor Comprehensions text */
  DRIVER_INPUT_ONNX,        /* a serialized ONNX ModelProto */
  DRIVER_INPUT_TORCHSCRIPT, /* a zip archive, or a .pt/.pth/.ts file: torch.jit.save's */
} driver_input_kind;

/* What the command line asks of the passes (set once, read by them). */
typedef struct driver_config {
  const char *const *entries; /* --entry: the functions to keep, in order; none: all */
  int n_entries;
  const char *const *sizes; /* --size: NAME=V,... strings */
  int n_sizes;
  const char *const *size_hints; /* --size-hint: NAME=V,... strings (hint.c) */
  int n_size_hints;
  const char *schedule; /* --schedule: options text; NULL: cache, else heuristics */
  const char *cache;    /* --cache: the tuning cache to look options up in */
  int threads;          /* --threads; 0: not given */
  bool fuse;            /* false: --no-fuse */
  bool unchecked_indices; /* --unchecked-indices */
  bool abi_halide;        /* --abi halide */
  bool dump_schedule;   /* --dump=schedule */
  const char *weights;  /* --weights: constants go to this blob */
  bool verbose;
  bool schedules;       /* the command emits code: look up schedule options */
  const struct sched_cpu *cpu; /* --cpu; NULL: native */
  const struct emit_target *target; /* --target; NULL: C */
  const char *target_name; /* "cuda" or "cuda-sim" (whose tuned entries --cache uses); NULL: C */
  const char *const *grads; /* --grad: functions whose NAME_grad is added (src/ir/grad.h) */
  int n_grads;
  const struct driver_train *train; /* aotc train, run --train: the model becomes a training step */
} driver_config;

/* One selected function and the decisions about it. */
typedef struct driver_plan {
  ir_func *func;
  int64_t *fixed; /* per size parameter: the --size value, or -1 (generic) */
  const struct sched_options *sched; /* NULL: the heuristics */
} driver_plan;

/* The module every pass takes. */
typedef struct driver_module {
  aotc_ctx *ctx;
  const driver_config *cfg;
  /* the input */
  const char *path;
  const unsigned char *source;
  size_t source_len;
  driver_input_kind kind;
  const char *func_name;   /* a model's function name */
  const onnx_given *given; /* values known for a model's inputs (aotc run) */
  int n_given;
  bool weights_as_params;        /* --weights-as-inputs */
  bool library_ir;               /* onnx_compile: IR for further passes (grad, the interpreter): no views */
  const onnx_shape_spec *shapes; /* --shape */
  int n_shapes;
  /* what the passes build */
  struct ir_graph *graph; /* read (ONNX) .. lower: graphs[0] */
  struct ir_graph **graphs; /* a model with named sizes: one graph per probe (ir_probe_sizes) */
  int n_graphs;
  struct onnx_sizes *sizes; /* the model's named sizes (onnx_sizes.c); NULL for aotc run */
  const char *const *size_names; /* a TorchScript archive's named sizes (--shape), when no onnx_sizes */
  int n_size_names;
  ir_func **lowered;        /* lower: one function per graph, until generalize */
  ir_module *ir;          /* lower (or read, for TC) onwards */
  driver_plan *plans;     /* select onwards */
  int n_plans;
  /* the backend's plans (build-model .. print) */
  struct emit_plan **emit_plans;
  emit_options *emit_opts;
  /* the output of print */
  FILE *c_out, *h_out;
  const char *c_path, *h_path; /* for --dump-after=emit */
  const char *header_name;     /* the #include line of the C file */
  struct emit_llvm *llvm;      /* set: print builds LLVM IR here and prints only the header (llvm_driver.c) */
  /* debugging */
  const char *dump_after; /* print the module after this pass (stderr) */
  bool verify_each;       /* ir_verify after every pass that changes the IR */
} driver_module;

typedef enum {
  DRIVER_PASS_GRAPH,   /* works on the model graph (no-op for TC) */
  DRIVER_PASS_IR,      /* changes the IR: verified after it in test builds */
  DRIVER_PASS_CHECK,   /* reads the IR, decides, changes nothing */
  DRIVER_PASS_BACKEND, /* writes code */
} driver_pass_kind;

typedef struct driver_pass {
  const char *name;
  const char *summary; /* one line for --dump=passes */
  driver_pass_kind kind;
  bool (*run)(driver_module *m);
} driver_pass;

/* The list, in order, and its length. */
extern const driver_pass driver_passes[];
extern const int driver_n_passes;

/* The index of the pass named name, -1 when there is none. */
int driver_pass_index(const char *name);
/* `aotc --dump=passes`: one line per pass, name and summary. */
void driver_print_passes(FILE *out);
/* A module for ctx over the given input (kind detected from the content). */
void driver_module_init(driver_module *m, aotc_ctx *ctx, const driver_config *cfg, const char *path,
                        const unsigned char *source, size_t len);
/* Detects the input kind from the content: a zip archive is TorchScript,
 * binary data ONNX, the rest TC (whose lexer reports stray bytes). */
driver_input_kind driver_detect_input(const unsigned char *buf, size_t len);
/* Runs passes first..last (indices, inclusive) in order; stops at the first
 * that fails (reported on the context) and returns false. */
bool driver_run_passes(driver_module *m, int first, int last);
/* Runs every pass up to and including the one named last. */
bool driver_run_until(driver_module *m, const char *last);
/* Runs every pass after the one named first (the backend after select). */
bool driver_run_after(driver_module *m, const char *first);

/* An ONNX model's bytes through every pass up to verify: what the ONNX
 * frontend's onnx_compile_opts (ir.h) runs. NULL on any error. */
ir_module *driver_compile_onnx(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                               const char *func_name, const onnx_options *opt);

/* dump.c: what --dump-after prints: the model graph while there is one and
 * no IR, the IR (with kernels and memory plan) after that, the plans after
 * select, the written files after emit. */
void driver_dump_module(FILE *out, const driver_module *m, const driver_pass *after);

/* hint.c: the backend passes for --size-hint: the model specialised to the
 * hinted sizes, the size-generic model and the entry choosing between them,
 * all into m's files. */
bool driver_emit_hinted(driver_module *m);

/* train.c: the grad pass: NAME_grad of every --grad NAME, added to the
 * module after NAME; for aotc train (cfg->train) the model function
 * becomes NAME_forward, NAME_train_step and NAME_init (src/train/train.h). */
bool driver_grad(driver_module *m);

/* plan.c: the select pass: the functions named by --entry (all when none),
 * each with its --size values and schedule options. */
bool driver_select(driver_module *m);

#endif
