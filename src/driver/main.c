/* main.c: the `aotc` command line. The only place that prints usage and
 * decides the exit status; everything else reports on the context. */
#include "driver.h"
#include "build.h"
#include "pipeline.h"
#include "../autotune/tune.h"
#include "emit_model.h"
#include "emit_target.h"
#include "ts.h"
#include "llvm_driver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: aotc [compile] FILE [-o OUT.c] [options]   compile to C (OUT.h is written beside OUT.c)\n"
    "       aotc run FILE --input NAME=PATH ... [--output-dir DIR] [options]\n"
    "                                                  build and run the code, write DIR/<output>.npy\n"
    "       aotc check FILE [--size NAME=V,...]        parse, infer ranges, print them\n"
    "                                                  (with --size: evaluated at those sizes)\n"
    "       aotc train MODEL --loss cross_entropy|mse --optimizer sgd|adam|adamw [--lr X] -o OUT.c\n"
    "                                                  emit NAME_train_step, NAME_forward, NAME_init\n"
    "       aotc tune FILE --entry NAME --size NAME=V,... [--trials N] [--time S] [--cache FILE]\n"
    "                                                  search schedule options, record the best\n"
    "                                                  (--target cuda|cuda-sim: CUDA on the GPU|simulator)\n"
    "\n"
    "options:\n"
    "  -o, --output FILE      output C file (default: the input's stem with .c)\n"
    "  --entry NAME           compile or run this def only (repeatable for compile)\n"
    "  --name NAME            a model's function name (default: the file's stem)\n"
    "  --weights FILE         a model's weights go to the blob FILE, handed to the code at\n"
    "                         run time by NAME_set_weights, instead of into the C file\n"
    "  --weights-as-inputs    a model's floating-point weights become arguments after its\n"
    "                         inputs (initializer order) instead of embedded constants;\n"
    "                         run passes the model's values unless --input gives others\n"
    "  --grad NAME           also emit NAME_grad: the inputs and the outputs' adjoints in,\n"
    "                         the inputs' adjoints out (docs/training.md; repeatable)\n"
    "  --loss L, --optimizer O  train: cross_entropy or mse; sgd, adam or adamw\n"
    "  --lr X, --momentum X, --beta1 X, --beta2 X, --eps X, --weight-decay X\n"
    "                         train: hyper-parameters (PyTorch's defaults; docs/training.md)\n"
    "  --init kaiming|xavier, --seed S  train: initial values drawn with seed S (also dropout's)\n"
    "  --batchnorm train|eval, --bn-momentum X  train: batch statistics (default) or frozen\n"
    "  --ddp                  train: data-parallel; the step calls gradient-synchronisation\n"
    "                         hooks (runtime/aotc_ddp.c over MPI; docs/ddp.md)\n"
    "  --train, --steps N     run: take N training steps (default 1) on --input x=.. target=..,\n"
    "                         write DIR/loss.npy and DIR/<parameter>.npy\n"
    "  --size NAME=V,...      specialise size parameters (repeatable)\n"
    "  --size-hint NAME=V,... a model with named sizes gets a fast path for these sizes\n"
    "                         (code compiled for them) beside its size-generic code\n"
    "  --shape NAME=D0,D1,... a model input's dimensions, each a number or a name (a size\n"
    "                         parameter of the emitted code: --shape x=N,3,224,224); the\n"
    "                         model's own dimension names are used otherwise; required for\n"
    "                         each input of a TorchScript archive (repeatable)\n"
    "  --no-fuse              keep statements in separate loop nests\n"
    "  --unchecked-indices    no run-time checks of indices read from data (Gather, LUT(I(n))):\n"
    "                         by default the entry returns 4 when one lies outside its tensor\n"
    "  --abi halide           also emit NAME_halide(halide_buffer_t *...), its argv form and\n"
    "                         Halide's filter metadata (docs/halide.md); default: --abi c\n"
    "  --schedule TEXT        schedule options instead of the heuristics or the cache, e.g.\n"
    "                         'tile=96,4096,384 reg=12,32 vec=1 pack=1 sr=1 mk=1'; 'none':\n"
    "                         untransformed loops (format: src/schedule/schedule.h)\n"
    "  --dump=schedule        print the schedule tree and AST of each kernel on stderr\n"
    "  --dump=ir              print the IR after verification on stderr\n"
    "  --dump=passes          list the passes of the pipeline, in order\n"
    "  --dump-after=PASS      print the module (graph, IR, plans or output) after PASS on stderr\n"
    "  --target c|cuda        code to emit: C (default) or CUDA (-o k.cu writes k.cu and k.h);\n"
    "                         run: cuda-sim runs the CUDA on the CPU simulator (g++), cuda on a GPU;\n"
    "                         tune: candidates timed on the GPU (cuda) or run on the simulator (cuda-sim);\n"
    "                         compile with --cache: the entry tuned on this GPU (cuda) or the simulator\n"
    "  --backend c|llvm       run, tune: build with cc (default) or compile in-process with LLVM (docs/llvm.md)\n"
    "  --emit c|obj           compile: C (default) or an object file through LLVM, header beside it\n"
    "  --triple T             --emit obj: the target triple (default: this machine's); --cpu names the CPU\n"
    "  --llvm-cache DIR       tune --backend llvm: keep the compiled micro-kernels and packing functions\n"
    "                         in DIR (made when missing) and read them from there in later searches\n"
    "  --input NAME=PATH      run: an input as .npy (float32, float64, int32, int64, ...)\n"
    "                         or as a serialized ONNX TensorProto (.pb)\n"
    "  --output-dir DIR       run: where the outputs are written (default: .)\n"
    "  --interpret            run: execute the reference interpreter instead of compiled code\n"
    "  --keep-temps           run: keep the temporary build directory\n"
    "  --max-memory BYTES     memory budget for what is read: a tensor, a file (default 2G;\n"
    "                         suffixes K, M, G, T: powers of 1024)\n"
    "  --threads N            threads the code is scheduled (and tuned) for (default 1); N > 1:\n"
    "                         build the C with -fopenmp, link an --emit obj object with -fopenmp\n"
    "  --cpu NAME             the CPU the code is scheduled (and tuned) for: native (default),\n"
    "                         x86-64-v4, x86-64-v3, x86-64-v2, generic, cortex-m4; with a\n"
    "                         name other than native the code does not depend on this machine\n"
    "  --cache FILE           tuning cache: tune records the best options there, compile\n"
    "                         and run use them (the heuristics when it has no entry)\n"
    "  --trials N             tune: candidates to evaluate (default 60)\n"
    "  --time S               tune: stop after S seconds\n"
    "  --seed N               tune: seed of the search (default 1)\n"
    "  -v, --verbose          show the commands run\n"
    "  -h, --help             this help\n"
    "  --version              print the version\n"
    "\n"
    "The input kind is detected from the content: Tensor Comprehensions text\n"
    "(.tc), an ONNX model (.onnx) or a TorchScript archive (torch.jit.save's zip;\n"
    "its inputs' shapes come from --shape: an archive records none).\n"
    "run and tune build the emitted code with $CC (default cc):\n"
    "  $CC -O2 -march=native -std=gnu11 -fopenmp -fPIC -shared -Wl,-Bsymbolic ... -lm\n"
    "(-fopenmp at any thread count: it turns on the omp simd pragmas).\n";

typedef enum { CMD_COMPILE, CMD_RUN, CMD_CHECK, CMD_TUNE } command;

typedef struct options {
  command cmd;
  const char *file;
  const char *output;
  const char *output_dir;
  const char *name; /* --name: the model's function name */
  const char *schedule; /* --schedule: options text (sched_options_parse) */
  const char *weights; /* --weights: a model's weights blob */
  const char *dump_after; /* --dump-after: a pass's name */
  const char **model_inputs; /* an ONNX model's input names */
  npy_array *loaded;         /* run of a model: the --input arrays, read once, one per input */
  int n_model_inputs;
  const char **entries;
  int n_entries;
  const char **grads; /* --grad NAME */
  int n_grads;
  const char **sizes; /* NAME=V,... strings */
  int n_sizes;
  const char **size_hints; /* --size-hint: NAME=V,... strings */
  int n_size_hints;
  onnx_shape_spec *shapes; /* --shape */
  int n_shapes;
  run_input *inputs;
  int n_inputs;
  bool fuse, dump_schedule, dump_ir, interpret, keep_temps, verbose, weights_as_inputs;
  bool unchecked_indices;
  bool abi_halide; /* --abi halide */
  const char *cache; /* --cache */
  int threads;       /* --threads; 0: not given */
  const sched_cpu *cpu; /* --cpu; NULL: native */
  driver_train train; /* aotc train, run --train (train.c) */
  int trials;        /* tune --trials; 0: default */
  double time_s;     /* tune --time; 0: none */
  uint64_t seed;     /* tune --seed */
  const char *target; /* --target: c, cuda, cuda-sim; NULL: c */
  bool llvm;          /* --backend llvm */
  bool emit_obj;      /* --emit obj */
  const char *triple; /* --triple */
  const char *llvm_cache; /* --llvm-cache */
} options;

static const ir_loc noloc;

static bool is_option(const char *arg, const char *name)
{
  size_t n = strlen(name);
  return !strncmp(arg, name, n) && (arg[n] == 0 || arg[n] == '=');
}

static bool add_input(aotc_ctx *ctx, options *o, const char *spec)
{
  const char *eq = strchr(spec, '=');
  if (!eq || eq == spec || !eq[1]) {
    aotc_error(ctx, noloc, "--input expects NAME=PATH, got '%s'", spec);
    return false;
  }
  run_input *in = IR_NEW_ARRAY(ctx, run_input, o->n_inputs + 1);
  if (!in)
    return false;
  if (o->n_inputs)
    memcpy(in, o->inputs, sizeof(*in) * (size_t)o->n_inputs);
  in[o->n_inputs].name = ir_strndup(ctx, spec, (size_t)(eq - spec));
  in[o->n_inputs].path = eq + 1;
  o->inputs = in;
  o->n_inputs++;
  return true;
}

static bool add_shape(aotc_ctx *ctx, options *o, const char *spec)
{
  onnx_shape_spec *s = IR_NEW_ARRAY(ctx, onnx_shape_spec, o->n_shapes + 1);
  if (!s)
    return false;
  if (o->n_shapes)
    memcpy(s, o->shapes, sizeof(*s) * (size_t)o->n_shapes);
  o->shapes = s;
  return driver_parse_shape(ctx, spec, &s[o->n_shapes++]);
}

static bool push_str(aotc_ctx *ctx, const char ***list, int *n, const char *s)
{
  const char **l = IR_NEW_ARRAY(ctx, const char *, *n + 1);
  if (!l)
    return false;
  if (*n)
    memcpy(l, *list, sizeof(*l) * (size_t)*n);
  l[(*n)++] = s;
  *list = l;
  return true;
}

/* ------------------------------------------------------------------------
 * Tuning options: --cache, --threads (compile, run, tune), --trials, --time,
 * --seed (tune)
 * ------------------------------------------------------------------------ */

static bool is_tune_option(const char *a)
{
  return is_option(a, "--cache") || is_option(a, "--threads") || is_option(a, "--trials") ||
         is_option(a, "--time") || is_option(a, "--seed");
}

/* A number in [lo, hi] for option name. */
static bool number_value(aotc_ctx *ctx, const char *name, const char *v, double lo, double hi, double *out)
{
  char *end;
  errno = 0;
  *out = v ? strtod(v, &end) : 0;
  if (!v || !*v || *end || errno || !(*out >= lo && *out <= hi)) {
    if (v)
      aotc_error(ctx, noloc, "%s expects a number from %g to %g, got '%s'", name, lo, hi, v);
    return false;
  }
  return true;
}

static bool parse_tune_option(aotc_ctx *ctx, options *o, int argc, char **argv, int *i)
{
  static const char *const names[] = {"--cache", "--threads", "--trials", "--time", "--seed"};
  const char *a = argv[*i];
  size_t k = 0;
  while (k < 4 && !is_option(a, names[k]))
    k++;
  const char *v = driver_option_value(ctx, argc, argv, i, names[k]);
  double x;
  if (k == 0)
    return (o->cache = v) != NULL;
  if (k == 1 && number_value(ctx, names[k], v, 1, 1024, &x) && x == (int)x)
    return (o->threads = (int)x), true;
  if (k == 2 && number_value(ctx, names[k], v, 1, 100000, &x) && x == (int)x)
    return (o->trials = (int)x), true;
  if (k == 3 && number_value(ctx, names[k], v, 0.001, 1e6, &x))
    return (o->time_s = x), true;
  if (k == 4 && number_value(ctx, names[k], v, 0, 1e18, &x) && x == (double)(uint64_t)x)
    return (o->seed = (uint64_t)x), driver_train_seed(&o->train, x), true;
  if (v && !ctx->n_errors)
    aotc_error(ctx, noloc, "%s expects a whole number, got '%s'", names[k], v);
  return false;
}

/* --cpu NAME: a row of the CPU table (src/schedule); native stays NULL. */
static bool parse_cpu(aotc_ctx *ctx, options *o, int argc, char **argv, int *i)
{
  const char *v = driver_option_value(ctx, argc, argv, i, "--cpu");
  char names[256];
  if (!v)
    return false;
  o->cpu = strcmp(v, "native") ? sched_cpu_find(v) : NULL;
  if (o->cpu || !strcmp(v, "native"))
    return true;
  sched_cpu_list(names, sizeof names);
  aotc_error(ctx, noloc, "unknown --cpu '%s' (one of: %s)", v, names);
  return false;
}

/* --abi c|halide: halide adds NAME_halide and Halide's metadata. */
static bool parse_abi(aotc_ctx *ctx, const char *v, options *o)
{
  if (!v)
    return false;
  if (strcmp(v, "c") && strcmp(v, "halide")) {
    aotc_error(ctx, (ir_loc){0}, "--abi %s is not supported (c, halide)", v);
    return false;
  }
  o->abi_halide = !strcmp(v, "halide");
  return true;
}

/* --max-memory BYTES: a whole number with an optional K, M, G or T (powers
 * of 1024, optionally followed by "iB" or "B"). */
static bool parse_bytes(aotc_ctx *ctx, const char *v, int64_t *out)
{
  static const char units[] = "KMGT";
  char *end;
  if (!v)
    return false;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  const char *u = n >= 0 && end != v && *end ? strchr(units, *end >= 'a' ? *end - 32 : *end) : NULL;
  int shift = u ? 10 * (int)(u - units + 1) : 0;
  const char *rest = u ? end + 1 : end;
  bool ok = n > 0 && !errno && rest && (!*rest || (u && (!strcmp(rest, "B") || !strcmp(rest, "iB")))) &&
            n <= (INT64_MAX >> shift);
  if (!ok)
    aotc_error(ctx, noloc, "--max-memory expects a positive number of bytes (suffixes K, M, G, T), got '%s'", v);
  else
    *out = (int64_t)n << shift;
  return ok;
}

/* --backend c|llvm, --emit c|obj */
static bool parse_llvm_choice(aotc_ctx *ctx, options *o, int argc, char **argv, int *i)
{
  bool backend = is_option(argv[*i], "--backend");
  const char *v = driver_option_value(ctx, argc, argv, i, backend ? "--backend" : "--emit");
  const char *other = backend ? "llvm" : "obj";
  if (v && strcmp(v, "c") && strcmp(v, other)) {
    aotc_error(ctx, noloc, "%s %s is not supported (c, %s)", backend ? "--backend" : "--emit", v, other);
    return false;
  }
  if (v && backend)
    o->llvm = !strcmp(v, "llvm");
  else if (v)
    o->emit_obj = !strcmp(v, "obj");
  return v != NULL;
}

static bool parse_option(aotc_ctx *ctx, options *o, int argc, char **argv, int *i)
{
  const char *a = argv[*i], *v;
  if (!strcmp(a, "-o") || is_option(a, "--output"))
    return (o->output = driver_option_value(ctx, argc, argv, i, !strcmp(a, "-o") ? "-o" : "--output")) != NULL;
  if (is_option(a, "--entry"))
    return (v = driver_option_value(ctx, argc, argv, i, "--entry")) && push_str(ctx, &o->entries, &o->n_entries, v);
  if (is_option(a, "--grad"))
    return (v = driver_option_value(ctx, argc, argv, i, "--grad")) && push_str(ctx, &o->grads, &o->n_grads, v);
  if (is_option(a, "--size"))
    return (v = driver_option_value(ctx, argc, argv, i, "--size")) && push_str(ctx, &o->sizes, &o->n_sizes, v);
  if (is_option(a, "--size-hint"))
    return (v = driver_option_value(ctx, argc, argv, i, "--size-hint")) &&
           push_str(ctx, &o->size_hints, &o->n_size_hints, v);
  if (is_option(a, "--shape"))
    return (v = driver_option_value(ctx, argc, argv, i, "--shape")) && add_shape(ctx, o, v);
  if (is_option(a, "--input"))
    return (v = driver_option_value(ctx, argc, argv, i, "--input")) && add_input(ctx, o, v);
  if (is_option(a, "--weights"))
    return (o->weights = driver_option_value(ctx, argc, argv, i, "--weights")) != NULL;
  if (is_option(a, "--schedule"))
    return (o->schedule = driver_option_value(ctx, argc, argv, i, "--schedule")) != NULL;
  if (is_option(a, "--max-memory"))
    return parse_bytes(ctx, driver_option_value(ctx, argc, argv, i, "--max-memory"), &ctx->max_bytes);
  if (is_option(a, "--name"))
    return (o->name = driver_option_value(ctx, argc, argv, i, "--name")) != NULL;
  if (is_option(a, "--output-dir"))
    return (o->output_dir = driver_option_value(ctx, argc, argv, i, "--output-dir")) != NULL;
  if (is_option(a, "--target")) {
    if (!(v = driver_option_value(ctx, argc, argv, i, "--target")))
      return false;
    if (strcmp(v, "c") && strcmp(v, "cuda") && strcmp(v, "cuda-sim")) {
      aotc_error(ctx, noloc, "--target %s is not supported (c, cuda, cuda-sim)", v);
      return false;
    }
    o->target = v;
    return true;
  }
  if (is_option(a, "--backend") || is_option(a, "--emit"))
    return parse_llvm_choice(ctx, o, argc, argv, i);
  if (is_option(a, "--triple"))
    return (o->triple = driver_option_value(ctx, argc, argv, i, "--triple")) != NULL;
  if (is_option(a, "--llvm-cache"))
    return (o->llvm_cache = driver_option_value(ctx, argc, argv, i, "--llvm-cache")) != NULL;
  if (!strcmp(a, "--no-fuse"))
    return !(o->fuse = false);
  if (!strcmp(a, "--unchecked-indices"))
    return (o->unchecked_indices = true);
  if (is_option(a, "--abi"))
    return parse_abi(ctx, driver_option_value(ctx, argc, argv, i, "--abi"), o);
  if (!strcmp(a, "--interpret"))
    return (o->interpret = true);
  if (!strcmp(a, "--weights-as-inputs"))
    return (o->weights_as_inputs = true);
  if (!strcmp(a, "--keep-temps"))
    return (o->keep_temps = true);
  if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
    return (o->verbose = true);
  if (!strcmp(a, "--dump=schedule"))
    return (o->dump_schedule = true);
  if (!strcmp(a, "--dump=ir"))
    return (o->dump_ir = true);
  if (is_option(a, "--dump-after"))
    return (o->dump_after = driver_option_value(ctx, argc, argv, i, "--dump-after")) != NULL;
  if (is_tune_option(a))
    return parse_tune_option(ctx, o, argc, argv, i);
  int tr = driver_parse_train_option(ctx, &o->train, argc, argv, i);
  if (tr)
    return tr > 0;
  if (is_option(a, "--cpu"))
    return parse_cpu(ctx, o, argc, argv, i);
  aotc_error(ctx, noloc, "unknown option '%s' (see aotc --help)", a);
  return false;
}

static bool parse_args(aotc_ctx *ctx, options *o, int argc, char **argv)
{
  int i = 1;
  o->fuse = true;
  if (i < argc && !strcmp(argv[i], "compile"))
    i++;
  else if (i < argc && !strcmp(argv[i], "run"))
    o->cmd = CMD_RUN, i++;
  else if (i < argc && !strcmp(argv[i], "check"))
    o->cmd = CMD_CHECK, i++;
  else if (i < argc && !strcmp(argv[i], "tune"))
    o->cmd = CMD_TUNE, i++;
  else if (i < argc && !strcmp(argv[i], "train"))
    o->train.on = o->weights_as_inputs = true, i++;
  for (; i < argc; i++) {
    if (argv[i][0] == '-' && argv[i][1]) {
      if (!parse_option(ctx, o, argc, argv, &i))
        return false;
    } else if (!o->file) {
      o->file = argv[i];
    } else {
      aotc_error(ctx, noloc, "unexpected argument '%s' (one input file at a time)", argv[i]);
      return false;
    }
  }
  if (!o->file) {
    aotc_error(ctx, noloc, "no input file (see aotc --help)");
    return false;
  }
  return true;
}

static const char *base_name(const char *path)
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* The file name without its folder and its last extension. */
static const char *file_stem(aotc_ctx *ctx, const char *path)
{
  const char *base = base_name(path), *dot = strrchr(base, '.');
  return ir_strndup(ctx, base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

/* The model's function name: --name, else the file's stem as a C identifier. */
static const char *model_name(aotc_ctx *ctx, const options *o)
{
  if (o->name)
    return o->name;
  const char *stem = file_stem(ctx, o->file);
  return stem ? ir_c_identifier(ctx, stem) : NULL;
}

/* Loads every --input so a model can be compiled for their shapes (and
 * their values, where an input decides a shape). */
static onnx_given *load_given(aotc_ctx *ctx, const options *o, npy_array *arrays)
{
  onnx_given *given = IR_NEW_ARRAY(ctx, onnx_given, o->n_inputs);
  for (int i = 0; given && i < o->n_inputs; i++) {
    if (!driver_load_array(ctx, o->inputs[i].path, &arrays[i]))
      return NULL;
    given[i] = (onnx_given){o->inputs[i].name, arrays[i].type, arrays[i].rank, arrays[i].shape, arrays[i].data, false};
  }
  return given;
}

/* A model's name and, for run, its input names and the --input values. */
static bool prepare_onnx(aotc_ctx *ctx, options *o, driver_module *m)
{
  if (!(m->func_name = model_name(ctx, o)))
    return false;
  m->weights_as_params = o->weights_as_inputs;
  m->shapes = o->shapes;
  m->n_shapes = o->n_shapes;
  if (o->cmd != CMD_RUN)
    return true;
  if (m->kind == DRIVER_INPUT_ONNX &&
      !(o->model_inputs = onnx_model_inputs(ctx, m->source, m->source_len, &o->n_model_inputs)))
    return false;
  o->loaded = IR_NEW_ARRAY(ctx, npy_array, o->n_inputs);
  onnx_given *given = o->loaded ? load_given(ctx, o, o->loaded) : NULL;
  m->given = given;
  m->n_given = o->n_inputs;
  return given != NULL;
}

static bool is_cuda(const options *o)
{
  return o->target && strcmp(o->target, "c");
}

static const char *default_output(aotc_ctx *ctx, const options *o)
{
  const char *stem = file_stem(ctx, o->file);
  return stem ? ir_sprintf(ctx, is_cuda(o) ? "%s.cu" : "%s.c", stem) : NULL;
}

/* OUT.c or OUT.cu -> OUT.h (appends .h when OUT has neither extension). */
static const char *header_path(aotc_ctx *ctx, const char *out)
{
  size_t n = strlen(out);
  if (n > 2 && !strcmp(out + n - 2, ".c"))
    return ir_sprintf(ctx, "%.*s.h", (int)(n - 2), out);
  if (n > 3 && !strcmp(out + n - 3, ".cu"))
    return ir_sprintf(ctx, "%.*s.h", (int)(n - 3), out);
  return ir_sprintf(ctx, "%s.h", out);
}

static bool close_both(driver_module *m)
{
  bool ok = true;
  if (m->c_out && fclose(m->c_out))
    ok = false;
  if (m->h_out && fclose(m->h_out))
    ok = false;
  m->c_out = m->h_out = NULL;
  return ok;
}

/* Renames both temporary files to their names; false (the first removed
 * again) when either rename fails. */
static bool rename_both(aotc_ctx *ctx, const char *ctmp, const char *htmp, const char *out, const char *hout)
{
  if (!rename(ctmp, out) && !rename(htmp, hout))
    return true;
  aotc_error(ctx, noloc, "cannot write '%s': %s", out, strerror(errno));
  remove(out);
  return false;
}

/* The backend passes, or with --size-hint the hinted fast path, the
 * generic code and the entry choosing between them (hint.c). */
static bool run_backend(driver_module *m)
{
  return m->cfg->n_size_hints ? driver_emit_hinted(m) : driver_run_after(m, "select");
}

/* An output that is not a regular file (driver_is_special_file) is
 * written in place, C then header. */
static bool write_special(aotc_ctx *ctx, driver_module *m, const char *out)
{
  m->c_out = fopen(out, "w");
  m->h_out = m->c_out;
  m->c_path = m->h_path = out;
  m->header_name = NULL;
  if (!m->c_out) {
    aotc_error(ctx, noloc, "cannot write '%s': %s", out, strerror(errno));
    return false;
  }
  bool ok = run_backend(m);
  ok = !fclose(m->c_out) && ok;
  m->c_out = m->h_out = NULL;
  return ok;
}

/* The backend passes write both files under temporary names, renamed only
 * when everything succeeded, so bad input never leaves a partial output. */
static bool write_outputs(aotc_ctx *ctx, driver_module *m, const char *out)
{
  if (driver_is_special_file(out))
    return write_special(ctx, m, out);
  const char *hout = header_path(ctx, out);
  char *ctmp = ir_sprintf(ctx, "%s.tmp%ld", out, (long)getpid());
  char *htmp = ir_sprintf(ctx, "%s.tmp%ld", hout, (long)getpid());
  if (!hout || !ctmp || !htmp)
    return false;
  driver_tmp_track(ctmp);
  driver_tmp_track(htmp);
  m->c_out = fopen(ctmp, "w");
  m->h_out = m->c_out ? fopen(htmp, "w") : NULL;
  m->c_path = ctmp;
  m->h_path = htmp;
  m->header_name = base_name(hout);
  bool ok = m->c_out && m->h_out;
  if (!ok)
    aotc_error(ctx, noloc, "cannot write '%s': %s", out, strerror(errno));
  ok = ok && run_backend(m);
  ok = close_both(m) && ok;
  ok = ok && rename_both(ctx, ctmp, htmp, out, hout);
  driver_tmp_remove(ctmp);
  driver_tmp_remove(htmp);
  return ok;
}

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

static void print_time(double seconds)
{
  if (seconds < 1e-3)
    printf("%.4g us", seconds * 1e6);
  else
    printf("%.4g ms", seconds * 1e3);
}

static void print_tune_outcome(const ir_func *f, const tune_outcome *r)
{
  char text[2 * TUNE_FIELD];
  sched_options_print(text, sizeof text, &r->best);
  printf("best: %s\n%s: ", text, f->name);
  print_time(r->seconds);
  printf(", %.1f GFLOP/s", r->gflops);
  if (r->heuristic_seconds > 0) {
    printf(" (heuristics ");
    print_time(r->heuristic_seconds);
    printf(")");
  }
  printf("; %d trials, %d wrong, %d failed, %d too slow\n", r->trials, r->rejected, r->failed, r->slow);
}

static int do_tune(aotc_ctx *ctx, const options *o, driver_module *m)
{
  if (o->n_entries != 1 && m->ir->n_funcs != 1) {
    aotc_error(ctx, noloc, "tune: choose one def of '%s' with --entry", o->file);
    return 1;
  }
  if (is_cuda(o) && o->llvm) {
    aotc_error(ctx, noloc, "tune: --backend llvm builds C candidates; --target %s builds CUDA with its runner", o->target);
    return 1;
  }
  if (o->llvm_cache && !o->llvm) {
    aotc_error(ctx, noloc, "tune: --llvm-cache keeps what --backend llvm compiles; add --backend llvm");
    return 1;
  }
  const driver_plan *p = &m->plans[0];
  tune_request req = {.func = p->func, .sizes = p->fixed, .threads = o->threads ? o->threads : 1,
                      .trials = o->trials, .time_s = o->time_s, .seed = o->seed ? o->seed : 1, .fuse = o->fuse,
                      .cache_path = o->cache, .verbose = o->verbose, .keep_temps = o->keep_temps, .cpu = o->cpu,
                      .llvm = o->llvm, .llvm_cache = o->llvm_cache, .cuda = is_cuda(o) ? o->target : NULL};
  tune_outcome r;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  bool ok = tune_run(ctx, &req, &r);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (r.seconds > 0)
    print_tune_outcome(p->func, &r);
  double wall = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  printf("%d candidates in %.1f s (%s): %.1f per minute\n", r.trials, wall,
         is_cuda(o) ? o->target : o->llvm ? "llvm" : "cc",
         wall > 0 ? 60.0 * r.trials / wall : 0.0);
  if (ok && o->cache)
    aotc_note(ctx, noloc, "recorded in the tuning cache '%s'", o->cache);
  return ok ? 0 : 1;
}

/* --emit obj: OUT.o (default: the input's stem) and OUT.h through LLVM. */
static int do_compile_object(aotc_ctx *ctx, const options *o, driver_module *m)
{
  const char *stem = o->output ? NULL : file_stem(ctx, o->file);
  const char *out = o->output ? o->output : stem ? ir_sprintf(ctx, "%s.o", stem) : NULL;
  emit_llvm_options opt = {.triple = o->triple, .cpu = o->cpu ? o->cpu->name : NULL, .opt_level = 3};
  if (is_cuda(o) || o->n_size_hints || o->weights) {
    aotc_error(ctx, noloc, "--emit obj takes neither --target cuda, --size-hint nor --weights yet");
    return 1;
  }
  return out && driver_llvm_object(ctx, m, out, &opt) ? 0 : 1;
}

static int do_compile(aotc_ctx *ctx, const options *o, driver_module *m)
{
  if (o->emit_obj)
    return do_compile_object(ctx, o, m);
  const char *out = o->output ? o->output : default_output(ctx, o);
  if (is_cuda(o) && o->weights) {
    aotc_error(ctx, noloc, "--weights is not supported with --target %s (weights are embedded)", o->target);
    return 1;
  }
  if (is_cuda(o) && o->abi_halide) {
    aotc_error(ctx, noloc, "--abi halide is not supported with --target %s (C only)", o->target);
    return 1;
  }
  if (o->weights && m->n_plans != 1) {
    aotc_error(ctx, noloc, "--weights takes one model function, not %d", m->n_plans);
    return 1;
  }
  return out && write_outputs(ctx, m, out) ? 0 : 1;
}

static int do_run(aotc_ctx *ctx, const options *o, driver_module *m)
{
  if (o->n_entries > 1 || (!o->n_entries && m->ir->n_funcs > 1)) {
    aotc_error(ctx, noloc, "'%s' holds %d defs: choose one with --entry", o->file, m->ir->n_funcs);
    return 1;
  }
  if (o->target && !strcmp(o->target, "cuda") && !o->interpret && !driver_gpu_present())
    return driver_cuda_unavailable(ctx, "run", o->target);
  run_request req = {.module = m, .n_inputs = o->n_inputs, .inputs = o->inputs,
                     .output_dir = o->output_dir ? o->output_dir : ".", .interpret = o->interpret,
                     .model_inputs = o->model_inputs, .n_model_inputs = o->n_model_inputs,
                     .loaded = o->loaded, .keep_temps = o->keep_temps, .verbose = o->verbose,
                     .target = o->target, .llvm = o->llvm};
  return driver_run(ctx, &req);
}

static const char *const role_names[] = {"input", "output", "temp", "parameter", "constant"};

/* `aotc check --size ...`: shapes and ranges evaluated at the given sizes. */
static bool print_ranges_at(aotc_ctx *ctx, FILE *out, const ir_func *f, const int64_t *fixed)
{
  for (int p = 0; p < f->n_params; p++)
    if (fixed[p] < 0) {
      aotc_error(ctx, f->loc, "check --size: no value for size '%s' of '%s'", f->param_names[p], f->name);
      return false;
    }
  fprintf(out, "def %s at", f->name);
  for (int p = 0; p < f->n_params; p++)
    fprintf(out, "%s%s=%lld", p ? ", " : " ", f->param_names[p], (long long)fixed[p]);
  fputc('\n', out);
  for (int t = 0; t < f->n_tensors; t++) {
    const ir_tensor *x = f->tensors[t];
    int64_t shape[64];
    if (x->rank > 64 || !ir_tensor_shape(f, t, fixed, shape))
      return false;
    fprintf(out, "  tensor %s: %s %s(", x->name, role_names[x->role], ir_types[x->type].name);
    for (int d = 0; d < x->rank; d++)
      fprintf(out, "%s%lld", d ? ", " : "", (long long)shape[d]);
    fputs(")\n", out);
  }
  for (int k = 0; k < f->n_stmts; k++) {
    const ir_stmt *s = f->stmts[k];
    fprintf(out, "  stmt %d:", k);
    for (int i = 0; i < s->n_index; i++) {
      int64_t lo, hi;
      if (!ir_size_eval(s->index[i].lo, fixed, &lo) || !ir_size_eval(s->index[i].hi, fixed, &hi))
        return false;
      fprintf(out, "%s %s in %lld:%lld%s", i ? "," : "", s->index[i].name, (long long)lo, (long long)hi,
              s->index[i].reduction ? " (reduction)" : "");
    }
    fputc('\n', out);
  }
  return true;
}

static int do_check(aotc_ctx *ctx, const options *o, driver_module *m)
{
  for (int i = 0; i < m->n_plans; i++) {
    if (!o->n_sizes) {
      ir_print_ranges(stdout, m->plans[i].func);
      continue;
    }
    if (!print_ranges_at(ctx, stdout, m->plans[i].func, m->plans[i].fixed))
      return 1;
  }
  return 0;
}

static driver_config config_of(const options *o)
{
  return (driver_config){.entries = o->entries, .n_entries = o->n_entries, .sizes = o->sizes,
                         .n_sizes = o->n_sizes, .size_hints = o->size_hints, .n_size_hints = o->n_size_hints,
                         .schedule = o->schedule, .cache = o->cache,
                         .threads = o->threads, .fuse = o->fuse, .dump_schedule = o->dump_schedule,
                         .weights = o->cmd == CMD_COMPILE ? o->weights : NULL, .verbose = o->verbose,
                         .schedules = o->cmd == CMD_COMPILE || o->cmd == CMD_RUN, .cpu = o->cpu,
                         .unchecked_indices = o->unchecked_indices,
                         .abi_halide = o->cmd == CMD_COMPILE && o->abi_halide, .grads = o->grads, .n_grads = o->n_grads,
                         .train = o->train.on ? &o->train : NULL,
                         .target = is_cuda(o) ? &emit_target_cuda : NULL,
                         .target_name = is_cuda(o) ? o->target : NULL};
}

/* The last pass a command runs: check and tune stop before the backend,
 * and so does run with --interpret. */
static const char *last_pass(const options *o)
{
  bool emits = o->cmd == CMD_COMPILE || (o->cmd == CMD_RUN && !o->interpret);
  return emits ? driver_passes[driver_n_passes - 1].name : "select";
}

static bool check_dump_after(aotc_ctx *ctx, const options *o)
{
  int k = o->dump_after ? driver_pass_index(o->dump_after) : 0;
  if (k < 0) {
    aotc_error(ctx, noloc, "--dump-after: no pass named '%s' (aotc --dump=passes lists them)", o->dump_after);
    return false;
  }
  if (k > driver_pass_index(last_pass(o))) {
    aotc_error(ctx, noloc, "--dump-after=%s: that pass does not run for this command", o->dump_after);
    return false;
  }
  return true;
}

static int run_command(aotc_ctx *ctx, options *o, driver_module *m)
{
  if (o->cmd == CMD_CHECK && m->kind == DRIVER_INPUT_TORCHSCRIPT)
    return ts_check_file(ctx, o->file, stdout);
  if (o->train.on)
    driver_train_defaults(&o->train);
  if (o->train.on && o->cmd == CMD_RUN)
    return (m->func_name = model_name(ctx, o)) ? driver_run_train(ctx, m, &o->train, o->inputs, o->n_inputs,
                                                                  o->output_dir ? o->output_dir : ".", o->interpret,
                                                                  o->keep_temps, o->verbose) : 1;
  if ((m->kind == DRIVER_INPUT_ONNX || m->kind == DRIVER_INPUT_TORCHSCRIPT) && !prepare_onnx(ctx, o, m))
    return 1;
  if (!driver_run_until(m, "select"))
    return 1;
  for (int i = 0; o->dump_ir && i < m->ir->n_funcs; i++)
    ir_print_func(stderr, m->ir->funcs[i]);
  switch (o->cmd) {
  case CMD_RUN:
    return do_run(ctx, o, m);
  case CMD_CHECK:
    return do_check(ctx, o, m);
  case CMD_TUNE:
    return is_cuda(o) && !strcmp(o->target, "cuda") && !driver_gpu_present()
               ? driver_cuda_unavailable(ctx, "tune", o->target)
               : do_tune(ctx, o, m);
  default:
    return do_compile(ctx, o, m);
  }
}

static int dispatch(aotc_ctx *ctx, options *o)
{
  size_t len;
  unsigned char *buf = check_dump_after(ctx, o) ? driver_read_file(ctx, o->file, &len) : NULL;
  if (!buf)
    return 1;
  if (len == 0) {
    aotc_error(ctx, noloc, "'%s' is empty: nothing to compile", o->file);
    aotc_free(ctx, buf);
    return 1;
  }
  driver_config cfg = config_of(o);
  driver_module m;
  driver_module_init(&m, ctx, &cfg, o->file, buf, len);
  m.dump_after = o->dump_after;
  int rc = run_command(ctx, o, &m);
  aotc_free(ctx, buf);
  return rc;
}

static bool asks(int argc, char **argv, const char *what)
{
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], what))
      return true;
  return false;
}

int main(int argc, char **argv)
{
  if (asks(argc, argv, "-h") || asks(argc, argv, "--help") || (argc > 1 && !strcmp(argv[1], "help"))) {
    fputs(usage, stdout);
    return 0;
  }
  if (asks(argc, argv, "--version")) {
    printf("aotc %s\n", AOTC_VERSION);
    return 0;
  }
  if (asks(argc, argv, "--dump=passes")) {
    driver_print_passes(stdout);
    return 0;
  }
  if (argc < 2) {
    fputs(usage, stderr);
    return 1;
  }
  aotc_ctx *ctx = aotc_ctx_new(NULL, NULL);
  if (!ctx) {
    fputs("aotc: error: out of memory\n", stderr);
    return 1;
  }
  options o = {0};
  int rc = parse_args(ctx, &o, argc, argv) ? dispatch(ctx, &o) : 1;
  for (int i = 0; o.loaded && i < o.n_inputs; i++)
    driver_npy_free(&o.loaded[i]);
  if (ctx->n_errors || ctx->oom)
    rc = rc ? rc : 1;
  aotc_print_diags(ctx, stderr);
  aotc_ctx_free(ctx);
  return rc;
}
