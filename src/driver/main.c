/* main.c: the `aotc` command line. The only place that prints usage and
 * decides the exit status; everything else reports on the context. */
#include "driver.h"
#include "../autotune/tune.h"
#include "emit_model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: aotc [compile] FILE [-o OUT.c] [options]   compile to C (OUT.h is written beside OUT.c)\n"
    "       aotc run FILE --input NAME=PATH ... [--output-dir DIR] [options]\n"
    "                                                  build and run the code, write DIR/<output>.npy\n"
    "       aotc check FILE [--size NAME=V,...]        parse, infer ranges, print them\n"
    "                                                  (with --size: evaluated at those sizes)\n"
    "       aotc tune FILE --entry NAME --size NAME=V,... [--trials N] [--time S] [--cache FILE]\n"
    "                                                  search schedule options, record the best\n"
    "\n"
    "options:\n"
    "  -o, --output FILE      output C file (default: the input's stem with .c)\n"
    "  --entry NAME           compile or run this def only (repeatable for compile)\n"
    "  --name NAME            a model's function name (default: the file's stem)\n"
    "  --weights FILE         a model's weights go to the blob FILE, handed to the code at\n"
    "                         run time by NAME_set_weights, instead of into the C file\n"
    "  --size NAME=V,...      specialise size parameters (repeatable)\n"
    "  --no-fuse              keep statements in separate loop nests\n"
    "  --schedule TEXT        schedule options instead of the heuristics or the cache, e.g.\n"
    "                         'tile=96,4096,384 reg=12,32 vec=1 pack=1 sr=1 mk=1'; 'none':\n"
    "                         untransformed loops (format: src/schedule/schedule.h)\n"
    "  --dump=schedule        print the schedule tree and AST of each kernel on stderr\n"
    "  --dump=ir              print the IR after range inference on stderr\n"
    "  --target c             code to emit (only c for now)\n"
    "  --input NAME=PATH      run: an input as .npy (float32, float64, int32, int64, ...)\n"
    "                         or as a serialized ONNX TensorProto (.pb)\n"
    "  --output-dir DIR       run: where the outputs are written (default: .)\n"
    "  --interpret            run: execute the reference interpreter instead of compiled code\n"
    "  --keep-temps           run: keep the temporary build directory\n"
    "  --max-memory BYTES     memory budget for what is read: a tensor, a file (default 2G;\n"
    "                         suffixes K, M, G, T: powers of 1024)\n"
    "  --threads N            threads the code is scheduled (and tuned) for (default 1)\n"
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
    "(.tc) or an ONNX model (.onnx). TorchScript archives are recognised but not\n"
    "supported yet.\n"
    "run uses $CC (default cc) to build the emitted code.\n";

typedef enum { CMD_COMPILE, CMD_RUN, CMD_CHECK, CMD_TUNE } command;

typedef struct options {
  command cmd;
  const char *file;
  const char *output;
  const char *output_dir;
  const char *name; /* --name: the model's function name */
  const char *schedule; /* --schedule: options text (sched_options_parse) */
  const char *weights; /* --weights: a model's weights blob */
  const char **model_inputs; /* an ONNX model's input names */
  npy_array *loaded;         /* run of a model: the --input arrays, read once, one per input */
  int n_model_inputs;
  const char **entries;
  int n_entries;
  const char **sizes; /* NAME=V,... strings */
  int n_sizes;
  run_input *inputs;
  int n_inputs;
  bool fuse, dump_schedule, dump_ir, interpret, keep_temps, verbose;
  const char *cache; /* --cache */
  int threads;       /* --threads; 0: not given */
  int trials;        /* tune --trials; 0: default */
  double time_s;     /* tune --time; 0: none */
  uint64_t seed;     /* tune --seed */
} options;

static const ir_loc noloc;

/* The value of an option given as `--opt V` or `--opt=V`; advances *i. */
static const char *option_value(aotc_ctx *ctx, int argc, char **argv, int *i, const char *name)
{
  size_t n = strlen(name);
  if (argv[*i][n] == '=')
    return argv[*i] + n + 1;
  if (*i + 1 >= argc) {
    aotc_error(ctx, noloc, "option '%s' needs a value", name);
    return NULL;
  }
  return argv[++*i];
}

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
  const char *v = option_value(ctx, argc, argv, i, names[k]);
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
    return (o->seed = (uint64_t)x), true;
  if (v && !ctx->n_errors)
    aotc_error(ctx, noloc, "%s expects a whole number, got '%s'", names[k], v);
  return false;
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

static bool parse_option(aotc_ctx *ctx, options *o, int argc, char **argv, int *i)
{
  const char *a = argv[*i], *v;
  if (!strcmp(a, "-o") || is_option(a, "--output"))
    return (o->output = option_value(ctx, argc, argv, i, !strcmp(a, "-o") ? "-o" : "--output")) != NULL;
  if (is_option(a, "--entry"))
    return (v = option_value(ctx, argc, argv, i, "--entry")) && push_str(ctx, &o->entries, &o->n_entries, v);
  if (is_option(a, "--size"))
    return (v = option_value(ctx, argc, argv, i, "--size")) && push_str(ctx, &o->sizes, &o->n_sizes, v);
  if (is_option(a, "--input"))
    return (v = option_value(ctx, argc, argv, i, "--input")) && add_input(ctx, o, v);
  if (is_option(a, "--weights"))
    return (o->weights = option_value(ctx, argc, argv, i, "--weights")) != NULL;
  if (is_option(a, "--schedule"))
    return (o->schedule = option_value(ctx, argc, argv, i, "--schedule")) != NULL;
  if (is_option(a, "--max-memory"))
    return parse_bytes(ctx, option_value(ctx, argc, argv, i, "--max-memory"), &ctx->max_bytes);
  if (is_option(a, "--name"))
    return (o->name = option_value(ctx, argc, argv, i, "--name")) != NULL;
  if (is_option(a, "--output-dir"))
    return (o->output_dir = option_value(ctx, argc, argv, i, "--output-dir")) != NULL;
  if (is_option(a, "--target")) {
    if (!(v = option_value(ctx, argc, argv, i, "--target")))
      return false;
    if (strcmp(v, "c")) {
      aotc_error(ctx, noloc, "--target %s is not supported yet (only c)", v);
      return false;
    }
    return true;
  }
  if (!strcmp(a, "--no-fuse"))
    return !(o->fuse = false);
  if (!strcmp(a, "--interpret"))
    return (o->interpret = true);
  if (!strcmp(a, "--keep-temps"))
    return (o->keep_temps = true);
  if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
    return (o->verbose = true);
  if (!strcmp(a, "--dump=schedule"))
    return (o->dump_schedule = true);
  if (!strcmp(a, "--dump=ir"))
    return (o->dump_ir = true);
  if (is_tune_option(a))
    return parse_tune_option(ctx, o, argc, argv, i);
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

typedef enum { INPUT_TC, INPUT_ONNX, INPUT_TORCHSCRIPT } input_kind;

/* Detects the input kind from the content, as DESIGN.md asks: a zip archive
 * is TorchScript; binary data is ONNX (a ModelProto starts with the tag of
 * ir_version, 0x08, or at least not with the letters, '#' or blanks a TC
 * file starts with); the rest is TC, whose lexer reports stray bytes. */
static input_kind detect_input_kind(const unsigned char *buf, size_t len)
{
  if (len >= 4 && !memcmp(buf, "PK\x03\x04", 4))
    return INPUT_TORCHSCRIPT;
  if (len > 0 && buf[0] == 0x08)
    return INPUT_ONNX;
  size_t i = 0;
  while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
    i++;
  bool tc_start = i == len || buf[i] == '#' || (buf[i] >= 'a' && buf[i] <= 'z') || (buf[i] >= 'A' && buf[i] <= 'Z');
  for (i = 0; !tc_start && i < len && i < 4096; i++)
    if (buf[i] == 0 || (buf[i] < 0x20 && buf[i] != '\n' && buf[i] != '\r' && buf[i] != '\t'))
      return INPUT_ONNX;
  return INPUT_TC;
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
    given[i] = (onnx_given){o->inputs[i].name, arrays[i].type, arrays[i].rank, arrays[i].shape, arrays[i].data};
  }
  return given;
}

static ir_module *load_onnx(aotc_ctx *ctx, options *o, const unsigned char *buf, size_t len)
{
  const char *name = model_name(ctx, o);
  if (!name || !(o->model_inputs = onnx_model_inputs(ctx, buf, len, &o->n_model_inputs)))
    return NULL;
  if (o->cmd != CMD_RUN)
    return onnx_compile(ctx, o->file, buf, len, name);
  npy_array *arrays = IR_NEW_ARRAY(ctx, npy_array, o->n_inputs);
  onnx_given *given = arrays ? load_given(ctx, o, arrays) : NULL;
  ir_module *m = given ? onnx_compile_given(ctx, o->file, buf, len, name, given, o->n_inputs) : NULL;
  o->loaded = arrays;
  return m;
}

static ir_module *load_module(aotc_ctx *ctx, options *o)
{
  size_t len;
  unsigned char *buf = aotc_read_file(ctx, o->file, &len);
  if (!buf || len == 0) {
    if (buf)
      aotc_error(ctx, noloc, "'%s' is empty: nothing to compile", o->file);
    free(buf);
    return NULL;
  }
  ir_module *m = NULL;
  const aotc_source *src;
  switch (detect_input_kind(buf, len)) {
  case INPUT_TORCHSCRIPT:
    aotc_error(ctx, noloc, "'%s' is a zip archive (TorchScript?): TorchScript input is not supported yet", o->file);
    break;
  case INPUT_ONNX:
    m = load_onnx(ctx, o, buf, len);
    break;
  case INPUT_TC:
    src = aotc_add_source(ctx, o->file, (const char *)buf, len);
    m = src ? tc_compile(ctx, src) : NULL;
    break;
  }
  free(buf);
  for (int i = 0; m && i < m->n_funcs; i++)
    if (!ir_verify(ctx, m->funcs[i]))
      m = NULL;
  return m;
}

/* The defs selected by --entry, in the order given (all when none). */
static ir_func **select_funcs(aotc_ctx *ctx, const ir_module *m, const options *o, int *n)
{
  *n = o->n_entries ? o->n_entries : m->n_funcs;
  ir_func **fs = IR_NEW_ARRAY(ctx, ir_func *, *n);
  if (!fs)
    return NULL;
  for (int i = 0; i < *n; i++) {
    fs[i] = o->n_entries ? ir_module_find(m, o->entries[i]) : m->funcs[i];
    if (!fs[i]) {
      aotc_error(ctx, noloc, "no def named '%s' in '%s'", o->entries[i], o->file);
      return NULL;
    }
  }
  return fs;
}

static bool parse_size_spec(aotc_ctx *ctx, const char *spec, const char **name, size_t *name_len, int64_t *value,
                            const char **next)
{
  const char *eq = strchr(spec, '='), *comma = strchr(spec, ',');
  if (!comma)
    comma = spec + strlen(spec);
  char *end;
  errno = 0;
  long long v = eq && eq < comma ? strtoll(eq + 1, &end, 10) : -1;
  if (!eq || eq > comma || eq == spec || errno || end != comma || v < 0) {
    aotc_error(ctx, noloc, "--size expects NAME=VALUE[,NAME=VALUE...] with VALUE >= 0, got '%s'", spec);
    return false;
  }
  *name = spec;
  *name_len = (size_t)(eq - spec);
  *value = v;
  *next = *comma ? comma + 1 : NULL;
  return true;
}

/* True when `name` (len bytes) names a size parameter of f; sets it in fixed. */
static bool apply_one_size(const ir_func *f, int64_t *fixed, const char *name, size_t len, int64_t v)
{
  bool used = false;
  for (int p = 0; p < f->n_params; p++)
    if (strlen(f->param_names[p]) == len && !strncmp(f->param_names[p], name, len)) {
      if (fixed)
        fixed[p] = v;
      used = true;
    }
  return used;
}

/* One entry per size parameter of fs[which]: the --size value, or -1. A
 * name that is no size parameter of any selected def is an error. */
static int64_t *fixed_sizes(aotc_ctx *ctx, const options *o, ir_func *const *fs, int n, int which)
{
  const ir_func *f = fs[which];
  int64_t *fixed = IR_NEW_ARRAY(ctx, int64_t, f->n_params);
  if (!fixed)
    return NULL;
  for (int p = 0; p < f->n_params; p++)
    fixed[p] = -1;
  for (int s = 0; s < o->n_sizes; s++)
    for (const char *spec = o->sizes[s]; spec;) {
      const char *name;
      size_t len;
      int64_t v;
      if (!parse_size_spec(ctx, spec, &name, &len, &v, &spec))
        return NULL;
      bool anywhere = apply_one_size(f, fixed, name, len, v);
      for (int k = 0; k < n; k++)
        anywhere |= apply_one_size(fs[k], NULL, name, len, v);
      if (!anywhere) {
        aotc_error(ctx, noloc, "--size names '%.*s', which is no size parameter of the selected defs", (int)len, name);
        return NULL;
      }
    }
  return fixed;
}

static const char *default_output(aotc_ctx *ctx, const char *file)
{
  const char *stem = file_stem(ctx, file);
  return stem ? ir_sprintf(ctx, "%s.c", stem) : NULL;
}

/* OUT.c -> OUT.h (appends .h when OUT has no .c extension). */
static const char *header_path(aotc_ctx *ctx, const char *out)
{
  size_t n = strlen(out);
  if (n > 2 && !strcmp(out + n - 2, ".c"))
    return ir_sprintf(ctx, "%.*s.h", (int)(n - 2), out);
  return ir_sprintf(ctx, "%s.h", out);
}

/* Writes both files under temporary names and renames them only when
 * everything succeeded, so bad input never leaves a partial output. */
static bool write_outputs(aotc_ctx *ctx, const ir_module *m, ir_func *const *fs, int n, const emit_options *base,
                          int64_t *const *fixed, const sched_options *const *scheds, const char *out)
{
  const char *hout = header_path(ctx, out);
  char *ctmp = ir_sprintf(ctx, "%s.tmp%ld", out, (long)getpid());
  char *htmp = ir_sprintf(ctx, "%s.tmp%ld", hout, (long)getpid());
  if (!hout || !ctmp || !htmp)
    return false;
  FILE *c = fopen(ctmp, "w"), *h = c ? fopen(htmp, "w") : NULL;
  bool ok = c && h;
  if (!ok)
    aotc_error(ctx, noloc, "cannot write '%s': %s", out, strerror(errno));
  emit_options opt = *base;
  opt.header_name = base_name(hout);
  for (int i = 0; ok && i < n; i++) {
    opt.fixed_sizes = fixed[i];
    opt.sched = scheds[i];
    ok = emit_c_module(ctx, m, &fs[i], 1, &opt, c, h);
  }
  if (c && fclose(c))
    ok = false;
  if (h && fclose(h))
    ok = false;
  if (ok && (rename(ctmp, out) || rename(htmp, hout))) {
    aotc_error(ctx, noloc, "cannot write '%s': %s", out, strerror(errno));
    remove(out);
    ok = false;
  }
  remove(ctmp);
  remove(htmp);
  return ok;
}

/* ------------------------------------------------------------------------
 * Tuning: `aotc tune`, and the cache lookup of compile and run
 * ------------------------------------------------------------------------ */

static bool all_sizes_fixed(const ir_func *f, const int64_t *fixed)
{
  for (int p = 0; p < f->n_params; p++)
    if (!fixed || fixed[p] < 0)
      return false;
  return true;
}

/* With --cache: the options recorded for f at the --size values, or NULL:
 * emission then uses the heuristics for --threads (a note with -v). */
/* --schedule TEXT: the options given on the command line; --threads, when
 * given too, overrides their thread count. NULL with an error when the text
 * does not parse. */
static const sched_options *given_schedule(aotc_ctx *ctx, const options *o)
{
  sched_options *s = IR_NEW(ctx, sched_options);
  char err[256];
  if (!s)
    return NULL;
  if (!sched_options_parse(o->schedule, s, err, sizeof err)) {
    aotc_error(ctx, noloc, "--schedule: %s", err);
    return NULL;
  }
  if (o->threads)
    s->threads = o->threads;
  return s;
}

/* The schedule options for f: --schedule, else a tuned entry of --cache,
 * else NULL (the heuristics). */
static const sched_options *cached_schedule(aotc_ctx *ctx, const options *o, const ir_func *f,
                                            const int64_t *fixed)
{
  if (o->schedule)
    return given_schedule(ctx, o);
  sched_options *s = o->cache ? IR_NEW(ctx, sched_options) : NULL;
  int threads = o->threads ? o->threads : 1;
  if (!s)
    return NULL;
  if (all_sizes_fixed(f, fixed) && tune_cache_find(ctx, o->cache, f, fixed, threads, NULL, s)) {
    if (o->verbose)
      aotc_note(ctx, noloc, "'%s': tuned schedule from '%s'", f->name, o->cache);
    return s;
  }
  if (o->verbose)
    aotc_note(ctx, noloc, "'%s': no entry in '%s' for these sizes, threads, CPU and compiler: heuristics", f->name,
              o->cache);
  return NULL;
}

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

static int do_tune(aotc_ctx *ctx, const options *o, const ir_module *m)
{
  if (o->n_entries != 1 && m->n_funcs != 1) {
    aotc_error(ctx, noloc, "tune: choose one def of '%s' with --entry", o->file);
    return 1;
  }
  int n;
  ir_func **fs = select_funcs(ctx, m, o, &n);
  int64_t *fixed = fs ? fixed_sizes(ctx, o, fs, 1, 0) : NULL;
  if (!fixed)
    return 1;
  tune_request req = {.func = fs[0], .sizes = fixed, .threads = o->threads ? o->threads : 1, .trials = o->trials,
                      .time_s = o->time_s, .seed = o->seed ? o->seed : 1, .fuse = o->fuse, .cache_path = o->cache,
                      .verbose = o->verbose, .keep_temps = o->keep_temps};
  tune_outcome r;
  bool ok = tune_run(ctx, &req, &r);
  if (r.seconds > 0)
    print_tune_outcome(fs[0], &r);
  if (ok && o->cache)
    aotc_note(ctx, noloc, "recorded in the tuning cache '%s'", o->cache);
  return ok ? 0 : 1;
}

/* -v: a model's memory plan (workspace size against its lower bound). */
static void note_memory_plan(aotc_ctx *ctx, const ir_func *f)
{
  int kernels = f->stmt_kernel && f->n_stmts ? f->stmt_kernel[f->n_stmts - 1] + 1 : 1;
  if (f->memory_planned)
    aotc_note(ctx, noloc, "'%s': %d kernels, workspace %lld bytes, lower bound %lld bytes", f->name, kernels,
              (long long)f->workspace_bytes, (long long)f->workspace_lower_bound);
}

static int do_compile(aotc_ctx *ctx, const options *o, const ir_module *m)
{
  int n;
  ir_func **fs = select_funcs(ctx, m, o, &n);
  if (!fs)
    return 1;
  int64_t **fixed = IR_NEW_ARRAY(ctx, int64_t *, n);
  for (int i = 0; fixed && i < n; i++)
    if (!(fixed[i] = fixed_sizes(ctx, o, fs, n, i)))
      return 1;
  const sched_options **scheds = IR_NEW_ARRAY(ctx, const sched_options *, n);
  for (int i = 0; fixed && scheds && i < n; i++)
    scheds[i] = cached_schedule(ctx, o, fs[i], fixed[i]);
  for (int i = 0; o->verbose && i < n; i++)
    note_memory_plan(ctx, fs[i]);
  emit_options opt = {.fuse = o->fuse, .dump_schedule = o->dump_schedule, .threads = o->threads,
                      .weights = o->weights};
  const char *out = o->output ? o->output : default_output(ctx, o->file);
  bool ok = fixed && scheds && out && !ctx->n_errors && write_outputs(ctx, m, fs, n, &opt, fixed, scheds, out);
  if (ok && o->weights && n != 1) {
    aotc_error(ctx, noloc, "--weights takes one model function, not %d", n);
    ok = false;
  }
  if (ok && o->weights)
    ok = emit_model_write_weights(ctx, fs[0], o->weights);
  return ok ? 0 : 1;
}

static int do_run(aotc_ctx *ctx, const options *o, const ir_module *m)
{
  if (o->n_entries > 1 || (!o->n_entries && m->n_funcs > 1)) {
    aotc_error(ctx, noloc, "'%s' holds %d defs: choose one with --entry", o->file, m->n_funcs);
    return 1;
  }
  int n;
  ir_func **fs = select_funcs(ctx, m, o, &n);
  int64_t *fixed = fs ? fixed_sizes(ctx, o, fs, 1, 0) : NULL;
  if (!fixed)
    return 1;
  emit_options opt = {.fuse = o->fuse, .dump_schedule = o->dump_schedule, .fixed_sizes = fixed,
                      .threads = o->threads, .sched = cached_schedule(ctx, o, fs[0], fixed)};
  if (ctx->n_errors)
    return 1;
  run_request req = {.func = fs[0], .emit = &opt, .n_inputs = o->n_inputs, .inputs = o->inputs,
                     .output_dir = o->output_dir ? o->output_dir : ".", .interpret = o->interpret,
                     .model_inputs = o->model_inputs, .n_model_inputs = o->n_model_inputs,
                     .loaded = o->loaded,
                     .keep_temps = o->keep_temps, .verbose = o->verbose};
  return driver_run(ctx, m, &req);
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

static int do_check(aotc_ctx *ctx, const options *o, const ir_module *m)
{
  int n;
  ir_func **fs = select_funcs(ctx, m, o, &n);
  if (!fs)
    return 1;
  for (int i = 0; i < n; i++) {
    if (!o->n_sizes) {
      ir_print_ranges(stdout, fs[i]);
      continue;
    }
    int64_t *fixed = fixed_sizes(ctx, o, fs, n, i);
    if (!fixed || !print_ranges_at(ctx, stdout, fs[i], fixed))
      return 1;
  }
  return 0;
}

static int dispatch(aotc_ctx *ctx, options *o)
{
  ir_module *m = load_module(ctx, o);
  if (!m)
    return 1;
  if (o->dump_ir)
    for (int i = 0; i < m->n_funcs; i++)
      ir_print_func(stderr, m->funcs[i]);
  switch (o->cmd) {
  case CMD_RUN:
    return do_run(ctx, o, m);
  case CMD_CHECK:
    return do_check(ctx, o, m);
  case CMD_TUNE:
    return do_tune(ctx, o, m);
  default:
    return do_compile(ctx, o, m);
  }
}

int main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") || (i == 1 && !strcmp(argv[i], "help"))) {
      fputs(usage, stdout);
      return 0;
    }
    if (!strcmp(argv[i], "--version")) {
      printf("aotc %s\n", AOTC_VERSION);
      return 0;
    }
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
    npy_free(&o.loaded[i]);
  if (ctx->n_errors || ctx->oom)
    rc = rc ? rc : 1;
  aotc_print_diags(ctx, stderr);
  aotc_ctx_free(ctx);
  return rc;
}
