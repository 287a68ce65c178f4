/* pipeline.c: the whole compiler in one list. Every pass takes the module
 * (pipeline.h) and does one job; the table below is the order they run in,
 * what `aotc --dump=passes` prints and what `--dump-after=PASS` names. In
 * test builds (no NDEBUG, or AOTC_VERIFY=1) the IR is verified after every
 * pass that changes it. driver_compile_onnx (behind onnx_compile) is this
 * pipeline from read to verify. */
#include "pipeline.h"
#include "graph.h"
#include "../schedule/schedule.h"
#include "emit_plan.h"
#include "emit_llvm.h"
#include "ts.h"
#include "driver.h"

#include <stdlib.h>
#include <string.h>

static const ir_loc noloc;

/* ------------------------------------------------------------------------
 * Frontends
 * ------------------------------------------------------------------------ */

static ir_module *module_of(aotc_ctx *ctx, ir_func *f)
{
  ir_module *mod = IR_NEW(ctx, ir_module);
  ir_func **funcs = IR_NEW_ARRAY(ctx, ir_func *, 1);
  if (!mod || !funcs || !f)
    return NULL;
  funcs[0] = f;
  mod->funcs = funcs;
  mod->n_funcs = 1;
  return mod;
}

static bool read_tc(driver_module *m)
{
  const aotc_source *src = aotc_add_source(m->ctx, m->path, (const char *)m->source, m->source_len);
  m->ir = src ? tc_compile(m->ctx, src) : NULL;
  return m->ir != NULL;
}

/* Diagnostics of the probes after the first repeat the first's: dropped
 * unless an error is among them. */
static void drop_repeats(driver_module *m, int k, int before, int errors)
{
  if (k > 0 && m->ctx->n_errors == errors)
    m->ctx->n_diags = before;
}

/* The graph of probe k: the inputs' shapes at the probe's sizes. */
static ir_graph *read_probe(driver_module *m, int k, onnx_options *opt)
{
  int64_t sizes[IR_PROBES_MAX];
  int n = m->sizes ? onnx_sizes_count(m->sizes) : 0, before = m->ctx->n_diags, errors = m->ctx->n_errors;
  ir_probe_sizes(n, k, sizes);
  if (m->sizes)
    opt->given = onnx_sizes_given(m->sizes, sizes, &opt->n_given);
  ir_graph *g = onnx_read_graph(m->ctx, m->path, m->source, m->source_len, opt);
  drop_repeats(m, k, before, errors);
  return g;
}

/* An ONNX model becomes one graph, or one per probe when it has named sizes
 * (aotc run compiles for the shapes of its inputs instead). */
static bool read_onnx(driver_module *m)
{
  onnx_options opt = {.given = m->given, .n_given = m->n_given, .weights_as_params = m->weights_as_params};
  if (!m->given && !(m->sizes = onnx_sizes_read(m->ctx, m->path, m->source, m->source_len, m->shapes, m->n_shapes)))
    return false;
  int n = m->sizes ? onnx_sizes_count(m->sizes) : 0;
  m->n_graphs = n ? n + 2 : 1;
  m->graphs = IR_NEW_ARRAY(m->ctx, ir_graph *, m->n_graphs);
  for (int k = 0; m->graphs && k < m->n_graphs; k++)
    if (!(m->graphs[k] = read_probe(m, k, &opt)))
      return false;
  m->graph = m->graphs ? m->graphs[0] : NULL;
  return m->graph != NULL;
}

/* A TorchScript archive's forward, run at compile time, becomes one graph,
 * or one per probe when --shape names dimensions
 * (src/frontend/torchscript/ts_graph.c). */
static bool read_torchscript(driver_module *m)
{
  ts_graph_options opt = {.given = m->given, .n_given = m->n_given, .shapes = m->shapes, .n_shapes = m->n_shapes,
                          .weights_as_params = m->weights_as_params};
  int64_t values[IR_PROBES_MAX];
  int n = m->given ? 0 : ts_size_names(m->ctx, m->path, m->source, m->source_len, m->shapes, m->n_shapes, &m->size_names);
  if (n < 0)
    return false;
  m->n_size_names = opt.n_sizes = n;
  opt.size_names = m->size_names;
  opt.size_values = values;
  m->n_graphs = n ? n + 2 : 1;
  m->graphs = IR_NEW_ARRAY(m->ctx, ir_graph *, m->n_graphs);
  for (int k = 0; m->graphs && k < m->n_graphs; k++) {
    int before = m->ctx->n_diags, errors = m->ctx->n_errors;
    ir_probe_sizes(n, k, values);
    if (!(m->graphs[k] = ts_read_graph(m->ctx, m->path, m->source, m->source_len, &opt)))
      return false;
    drop_repeats(m, k, before, errors);
  }
  m->graph = m->graphs ? m->graphs[0] : NULL;
  return m->graph != NULL;
}

/* read: TC text is parsed, checked and its ranges inferred (IR); an ONNX
 * model or a TorchScript archive becomes the model graph. */
static bool pass_read(driver_module *m)
{
  switch (m->kind) {
  case DRIVER_INPUT_TC:
    return read_tc(m);
  case DRIVER_INPUT_ONNX:
    return read_onnx(m);
  default:
    return read_torchscript(m);
  }
}

/* ------------------------------------------------------------------------
 * Graph passes (a TC input has no graph: they do nothing)
 * ------------------------------------------------------------------------ */

/* Runs fn on every graph (one per probe of a model with named sizes). */
static bool each_graph(driver_module *m, bool (*fn)(ir_graph *g))
{
  for (int k = 0; k < m->n_graphs; k++) {
    int before = m->ctx->n_diags, errors = m->ctx->n_errors;
    if (!fn(m->graphs[k]))
      return false;
    drop_repeats(m, k, before, errors);
  }
  return true;
}

static bool pass_infer_shapes(driver_module *m)
{
  return each_graph(m, ir_graph_infer);
}

static bool pass_fold_constants(driver_module *m)
{
  return each_graph(m, ir_graph_fold);
}

static bool pass_fold_control(driver_module *m)
{
  return each_graph(m, ir_graph_fold_control);
}

static bool pass_fold_batchnorm(driver_module *m)
{
  return each_graph(m, ir_graph_fold_batchnorm);
}

/* winograd: only for a model of static shapes (one graph): the probes of
 * named sizes must lower alike. */
static bool pass_winograd(driver_module *m)
{
  return m->n_graphs != 1 || each_graph(m, graph_winograd_rewrite);
}

static bool pass_fuse_layernorm(driver_module *m)
{
  return each_graph(m, ir_graph_fuse_layernorm);
}

static bool dce(ir_graph *g)
{
  ir_graph_dce(g);
  return !g->ctx->oom;
}

static bool pass_dce(driver_module *m)
{
  return each_graph(m, dce);
}

/* Whether the lowered function is for grad: onnx_compile's library IR,
 * --grad, aotc train. */
static bool will_differentiate(const driver_module *m)
{
  return m->library_ir || (m->cfg && (m->cfg->n_grads > 0 || m->cfg->train));
}

/* batch-chunks: static shapes only (one graph), not for a function that
 * will be differentiated (the chunks' slices and concatenations would stay
 * in its adjoint), and for CPU code (the chunks are sized for its caches;
 * --target cuda keeps the batch whole). */
static bool pass_batch_chunks(driver_module *m)
{
  graph_chunk_report r;
  if (m->n_graphs != 1 || will_differentiate(m) || (m->cfg && m->cfg->target_name))
    return true;
  if (!graph_batch_chunks(m->graphs[0], m->cfg ? m->cfg->threads : 0, &r))
    return false;
  if (r.nodes && m->cfg && m->cfg->verbose)
    aotc_note(m->ctx, noloc, "batch chunks: %d nodes ('%s' .. '%s') run %lld image%s at a time in %d chunks "
              "(%.1f operations per byte)", r.nodes, r.first, r.last, (long long)r.images, r.images == 1 ? "" : "s",
              r.chunks, r.intensity);
  return true;
}

static bool pass_lower(driver_module *m)
{
  if (!m->graph)
    return true;
  m->lowered = IR_NEW_ARRAY(m->ctx, ir_func *, m->n_graphs);
  for (int k = 0; m->lowered && k < m->n_graphs; k++) {
    int before = m->ctx->n_diags, errors = m->ctx->n_errors;
    m->graphs[k]->differentiable = will_differentiate(m);
    if (!(m->lowered[k] = ir_graph_lower(m->graphs[k], m->func_name ? m->func_name : "model")))
      return false;
    drop_repeats(m, k, before, errors);
  }
  m->ir = m->lowered && !m->ctx->n_errors ? module_of(m->ctx, m->lowered[0]) : NULL;
  return m->ir != NULL;
}

/* generalize: a model lowered at several probes of its named sizes becomes
 * one size-generic function (src/ir/generalize.c). */
static bool pass_generalize(driver_module *m)
{
  if (m->n_graphs < 2)
    return true;
  int n = m->sizes ? onnx_sizes_count(m->sizes) : m->n_size_names;
  int64_t *values = IR_NEW_ARRAY(m->ctx, int64_t, m->n_graphs * n);
  for (int k = 0; values && k < m->n_graphs; k++)
    ir_probe_sizes(n, k, values + (size_t)k * (size_t)n);
  const char *const *names = m->sizes ? onnx_sizes_names(m->sizes) : m->size_names;
  ir_probes p = {.n_params = n, .names = names, .n = m->n_graphs, .values = values};
  m->ir = values ? module_of(m->ctx, ir_generalize(m->ctx, m->lowered, &p)) : NULL;
  return m->ir != NULL;
}

/* ------------------------------------------------------------------------
 * IR passes
 * ------------------------------------------------------------------------ */

/* Functions lowered from operators (models) get kernels; a TC def stays
 * one kernel. */
static bool pass_partition(driver_module *m)
{
  for (int i = 0; i < m->ir->n_funcs; i++) {
    ir_func *f = m->ir->funcs[i];
    if (f->stmt_origin ? !ir_partition(m->ctx, f, f->stmt_origin) : !ir_partition_contractions(m->ctx, f))
      return false;
  }
  return true;
}

/* views: copies removed where a temporary can live inside another
 * (src/graph/views.c); AOTC_VIEWS=0 keeps them. */
static bool pass_views(driver_module *m)
{
  const char *env = getenv("AOTC_VIEWS");
  if (m->library_ir)
    return true;
  for (int i = 0, removed; !(env && !strcmp(env, "0")) && i < m->ir->n_funcs; i++) {
    if (!ir_views(m->ctx, m->ir->funcs[i], &removed))
      return false;
    if (removed && m->cfg && m->cfg->verbose)
      aotc_note(m->ctx, noloc, "'%s': %d copies removed (views)", m->ir->funcs[i]->name, removed);
  }
  return true;
}

/* epilogue: the elementwise chain after each contraction rewritten in place
 * (src/graph/epilogue.c), for the backend to apply in the contraction's
 * store; AOTC_EPILOGUE=0 keeps the chains as they are. */
static bool pass_epilogue(driver_module *m)
{
  const char *env = getenv("AOTC_EPILOGUE");
  if (m->library_ir || (env && !strcmp(env, "0")))
    return true;
  for (int i = 0, fused; i < m->ir->n_funcs; i++) {
    if (!ir_epilogue(m->ctx, m->ir->funcs[i], &fused))
      return false;
    if (fused && m->cfg && m->cfg->verbose)
      aotc_note(m->ctx, noloc, "'%s': %d statements rewritten in place after contractions (epilogue)",
                m->ir->funcs[i]->name, fused);
  }
  return true;
}

/* -v: a model's memory plan (workspace size against its lower bound). */
static void note_memory_plan(aotc_ctx *ctx, const ir_func *f)
{
  int kernels = f->stmt_kernel && f->n_stmts ? f->stmt_kernel[f->n_stmts - 1] + 1 : 1;
  if (f->memory_planned)
    aotc_note(ctx, noloc, "'%s': %d kernels, workspace %lld bytes, lower bound %lld bytes", f->name, kernels,
              (long long)f->workspace_bytes, (long long)f->workspace_lower_bound);
  else if (f->memory_planned_per_call)
    aotc_note(ctx, noloc, "'%s': %d kernels, workspace planned at each call (its sizes depend on %s)", f->name,
              kernels, f->n_params ? f->param_names[0] : "the sizes");
}

static bool pass_plan_memory(driver_module *m)
{
  for (int i = 0; i < m->ir->n_funcs; i++) {
    ir_func *f = m->ir->funcs[i];
    if (ir_func_is_model(f) && !ir_memplan(m->ctx, f, &f->workspace_lower_bound))
      return false;
    if (m->cfg && m->cfg->verbose)
      note_memory_plan(m->ctx, f);
  }
  return true;
}

static bool verify_all(driver_module *m)
{
  bool ok = true;
  for (int i = 0; m->ir && i < m->ir->n_funcs; i++)
    ok = ir_verify(m->ctx, m->ir->funcs[i]) && ok;
  return ok;
}

static bool pass_verify(driver_module *m)
{
  return verify_all(m);
}

/* ------------------------------------------------------------------------
 * Backend
 * ------------------------------------------------------------------------ */

/* The backend phases (src/emit_c/emit_plan.h) run on one plan per
 * selected function, each with its own sizes and schedule options. */
static bool each_emit_plan(driver_module *m, bool (*phase)(emit_plan *p))
{
  for (int i = 0; i < m->n_plans; i++)
    if (!m->emit_plans[i] || !phase(m->emit_plans[i]))
      return false;
  return true;
}

static emit_options options_of(const driver_module *m, const driver_plan *p)
{
  const driver_config *cfg = m->cfg;
  return (emit_options){.fuse = cfg->fuse, .dump_schedule = cfg->dump_schedule, .threads = cfg->threads,
                        .weights = cfg->weights, .header_name = m->header_name, .cpu = cfg->cpu,
                        .fixed_sizes = p->fixed, .sched = p->sched, .unchecked_indices = cfg->unchecked_indices,
                        .abi_halide = cfg->abi_halide, .verbose = cfg->verbose};
}

/* build-model: the entries' C names and each kernel's polyhedral model. */
static bool pass_build_model(driver_module *m)
{
  m->emit_opts = IR_NEW_ARRAY(m->ctx, emit_options, m->n_plans);
  m->emit_plans = IR_NEW_ARRAY(m->ctx, emit_plan *, m->n_plans);
  for (int i = 0; m->emit_plans && m->emit_opts && i < m->n_plans; i++) {
    m->emit_opts[i] = options_of(m, &m->plans[i]);
    m->emit_plans[i] = emit_plan_new(m->ctx, &m->plans[i].func, 1, &m->emit_opts[i],
                                     m->cfg->target ? m->cfg->target : &emit_target_c);
  }
  return m->emit_plans && each_emit_plan(m, emit_plan_build);
}

static bool pass_schedule(driver_module *m)
{
  return each_emit_plan(m, emit_plan_schedule);
}

static bool pass_ast(driver_module *m)
{
  bool ok = each_emit_plan(m, emit_plan_ast);
  for (int i = 0; m->cfg->dump_schedule && i < m->n_plans; i++)
    emit_plan_dump(m->emit_plans[i], stderr);
  return ok;
}

/* print: C into m->c_out and the header into m->h_out. */
static bool pass_print(driver_module *m)
{
  for (int i = 0; i < m->n_plans; i++)
    if (!emit_plan_print(m->emit_plans[i], m->llvm ? NULL : m->c_out, m->h_out) ||
        (m->llvm && !emit_llvm_add_plan(m->llvm, m->emit_plans[i])))
      return false;
  if (m->cfg->train && m->cfg->train->on && m->n_plans == 3 && !driver_train_emit_blob(m))
    return false;
  return !m->ctx->n_errors;
}

/* The isl objects of the backend plans, once the backend ran or failed. */
static void free_emit_plans(driver_module *m)
{
  for (int i = 0; m->emit_plans && i < m->n_plans; i++)
    emit_plan_free(m->emit_plans[i]);
  m->emit_plans = NULL;
}

/* ------------------------------------------------------------------------
 * The list
 * ------------------------------------------------------------------------ */

const driver_pass driver_passes[] = {
    {"read", "decode the input: TC parsed, checked, ranges inferred (IR); ONNX, TorchScript into the model graph",
     DRIVER_PASS_IR, pass_read},
    {"infer-shapes", "graph: type and shape of every value; the nodes a shape depends on are evaluated",
     DRIVER_PASS_GRAPH, pass_infer_shapes},
    {"fold-constants", "graph: every other node whose inputs are all constant becomes a constant",
     DRIVER_PASS_GRAPH, pass_fold_constants},
    {"fold-control", "graph: an if with a known condition becomes its taken branch; a loop that never runs, copies",
     DRIVER_PASS_GRAPH, pass_fold_control},
    {"fold-batchnorm", "graph: inference BatchNormalization folded into the Conv before it; any other with constant "
                       "statistics as a per-channel scale and shift", DRIVER_PASS_GRAPH, pass_fold_batchnorm},
    {"winograd", "graph: 3x3 stride-1 convolutions where Winograd F(2x2,3x3) wins: weights transformed (src/graph/winograd.c)",
     DRIVER_PASS_GRAPH, pass_winograd},
    {"fuse-layernorm", "graph: decomposed layer normalisation (ReduceMean .. Sqrt, Div, Mul, Add) as one node",
     DRIVER_PASS_GRAPH, pass_fuse_layernorm},
    {"batch-chunks", "graph: the per-image layers at the start of a batch, where each image's activations are large, "
                     "run a chunk of images at a time (src/graph/batch_chunks.c)", DRIVER_PASS_GRAPH, pass_batch_chunks},
    {"dce", "graph: nodes no output needs are marked dead", DRIVER_PASS_GRAPH, pass_dce},
    {"lower", "graph to IR: every live node to statements through the op library", DRIVER_PASS_IR, pass_lower},
    {"generalize", "IR of a model with named sizes: the probes' functions as one size-generic function",
     DRIVER_PASS_IR, pass_generalize},
    {"grad", "IR: NAME_grad for every --grad NAME: reverse-mode adjoint statements (src/ir/grad.c)",
     DRIVER_PASS_IR, driver_grad},
    {"epilogue", "IR of a model: the elementwise chain after each contraction (bias, activation, residual add) "
     "in place on its last value, for the C backend to apply in the contraction's store", DRIVER_PASS_IR,
     pass_epilogue},
    {"partition", "IR of a model: statements grouped into kernels (fused loop nests)", DRIVER_PASS_IR,
     pass_partition},
    {"views", "IR of a model: copies (Concat's bands, Split, Slice, Reshape) removed where one temporary can live "
     "inside another", DRIVER_PASS_IR, pass_views},
    {"plan-memory", "IR of a model: temporaries placed in one workspace by liveness (named sizes: at each call)", DRIVER_PASS_IR,
     pass_plan_memory},
    {"verify", "IR invariants checked (ir_verify)", DRIVER_PASS_CHECK, pass_verify},
    {"select", "the --entry functions, their --size values and schedule options (--schedule, --cache, heuristics)",
     DRIVER_PASS_CHECK, driver_select},
    {"build-model", "backend: C names, and each kernel's polyhedral model (domains, accesses, dependences)",
     DRIVER_PASS_BACKEND, pass_build_model},
    {"schedule", "backend: options per function; packed plans for contractions, isl's schedule for the rest",
     DRIVER_PASS_BACKEND, pass_schedule},
    {"ast", "backend: isl's AST of every scheduled kernel (accumulators annotated)", DRIVER_PASS_BACKEND, pass_ast},
    {"print", "backend: C and header printed from the plan through the target table", DRIVER_PASS_BACKEND,
     pass_print},
};
const int driver_n_passes = (int)(sizeof driver_passes / sizeof driver_passes[0]);

int driver_pass_index(const char *name)
{
  for (int i = 0; i < driver_n_passes; i++)
    if (!strcmp(driver_passes[i].name, name))
      return i;
  return -1;
}

void driver_print_passes(FILE *out)
{
  for (int i = 0; i < driver_n_passes; i++)
    fprintf(out, "%-15s %s\n", driver_passes[i].name, driver_passes[i].summary);
}

/* ------------------------------------------------------------------------
 * Running
 * ------------------------------------------------------------------------ */

static bool verify_by_default(void)
{
  const char *env = getenv("AOTC_VERIFY");
  if (env && *env)
    return strcmp(env, "0") != 0;
#ifdef NDEBUG
  return false;
#else
  return true;
#endif
}

driver_input_kind driver_detect_input(const unsigned char *buf, size_t len)
{
  if (len >= 4 && !memcmp(buf, "PK\x03\x04", 4))
    return DRIVER_INPUT_TORCHSCRIPT;
  if (len > 0 && buf[0] == 0x08)
    return DRIVER_INPUT_ONNX;
  size_t i = 0;
  while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
    i++;
  bool tc_start = i == len || buf[i] == '#' || (buf[i] >= 'a' && buf[i] <= 'z') || (buf[i] >= 'A' && buf[i] <= 'Z');
  for (i = 0; !tc_start && i < len && i < 4096; i++)
    if (buf[i] == 0 || (buf[i] < 0x20 && buf[i] != '\n' && buf[i] != '\r' && buf[i] != '\t'))
      return DRIVER_INPUT_ONNX;
  return DRIVER_INPUT_TC;
}

void driver_module_init(driver_module *m, aotc_ctx *ctx, const driver_config *cfg, const char *path,
                        const unsigned char *source, size_t len)
{
  memset(m, 0, sizeof *m);
  m->ctx = ctx;
  m->cfg = cfg;
  m->path = path;
  m->source = source;
  m->source_len = len;
  m->kind = driver_detect_input(source, len);
  if (ts_archive_extension(path))
    m->kind = DRIVER_INPUT_TORCHSCRIPT;
  m->verify_each = verify_by_default();
}

/* A pass that fails must say why: the exit-1-with-an-error-line contract. */
static void name_silent_failure(driver_module *m, const driver_pass *p)
{
  if (!m->ctx->n_errors && !m->ctx->oom)
    aotc_error(m->ctx, noloc, "'%s' could not be compiled (pass '%s' failed without saying why)",
               m->path ? m->path : "<input>", p->name);
}

static bool run_pass(driver_module *m, const driver_pass *p)
{
  bool ok = p->run(m) && !m->ctx->n_errors && !m->ctx->oom;
  if (!ok)
    name_silent_failure(m, p);
  if (ok && m->verify_each && p->kind == DRIVER_PASS_IR)
    ok = verify_all(m);
  if (ok && m->dump_after && !strcmp(m->dump_after, p->name))
    driver_dump_module(stderr, m, p);
  return ok;
}

bool driver_run_passes(driver_module *m, int first, int last)
{
  bool ok = true;
  for (int i = first; ok && i <= last && i < driver_n_passes; i++)
    ok = run_pass(m, &driver_passes[i]);
  if (!ok || last >= driver_n_passes - 1)
    free_emit_plans(m);
  return ok;
}

bool driver_run_until(driver_module *m, const char *last)
{
  int k = driver_pass_index(last);
  return k >= 0 && driver_run_passes(m, 0, k);
}

bool driver_run_after(driver_module *m, const char *first)
{
  int k = driver_pass_index(first);
  return k >= 0 && driver_run_passes(m, k + 1, driver_n_passes - 1);
}

/* ------------------------------------------------------------------------
 * A model from bytes to verified IR (onnx_compile and onnx_compile_given)
 * ------------------------------------------------------------------------ */

ir_module *driver_compile_onnx(aotc_ctx *ctx, const char *path, const unsigned char *data, size_t len,
                               const char *func_name, const onnx_options *opt)
{
  driver_module m;
  driver_module_init(&m, ctx, NULL, path ? path : "<onnx>", data, len);
  m.kind = DRIVER_INPUT_ONNX;
  m.func_name = func_name;
  m.library_ir = true;
  if (opt) {
    m.given = opt->given;
    m.n_given = opt->n_given;
    m.weights_as_params = opt->weights_as_params;
    m.shapes = opt->shapes;
    m.n_shapes = opt->n_shapes;
  }
  return driver_run_until(&m, "verify") ? m.ir : NULL;
}
