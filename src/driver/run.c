/* run.c: `aotc run`: emit C for one entry, build it into a shared object
 * with the system compiler, load it, call its packed entry point on .npy
 * inputs and write the outputs as .npy files. */
#include "driver.h"
#include "../schedule/schedule.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*packed_fn)(const int64_t *sizes, void *const *args, void *workspace);
typedef size_t (*packed_ws_fn)(const int64_t *sizes);

typedef struct run_state {
  npy_array *arrays; /* inputs then outputs */
  int n_arrays;
  int64_t *sizes;
  char tmpdir[256];
  void *dl;
  void *workspace;
} run_state;

static const ir_loc noloc;

bool driver_load_array(aotc_ctx *ctx, const char *path, npy_array *out)
{
  size_t len;
  unsigned char *buf = aotc_read_file(ctx, path, &len);
  if (!buf)
    return false;
  bool ok;
  memset(out, 0, sizeof(*out));
  if (npy_looks_like(path, buf, len)) {
    ok = npy_parse(ctx, path, buf, len, out);
  } else {
    ok = onnx_read_tensor(ctx, path, buf, len, &out->type, &out->rank, out->shape, &out->data);
    out->numel = 1;
    for (int d = 0; ok && d < out->rank; d++)
      out->numel *= out->shape[d];
  }
  free(buf);
  return ok;
}

/* The --input for tensor `name`: given by that name or by a model name
 * whose C identifier it is. */
static const run_input *find_input(aotc_ctx *ctx, const run_request *req, const char *name)
{
  for (int i = 0; i < req->n_inputs; i++)
    if (!strcmp(req->inputs[i].name, name))
      return &req->inputs[i];
  for (int i = 0; i < req->n_inputs; i++) {
    const char *id = ir_c_identifier(ctx, req->inputs[i].name);
    if (id && !strcmp(id, name))
      return &req->inputs[i];
  }
  return NULL;
}

static bool is_func_input(const ir_func *f, int t)
{
  for (int k = 0; t >= 0 && k < f->n_inputs; k++)
    if (f->inputs[k] == t)
      return true;
  return false;
}

/* A model input that the frontend folded into a constant (a Reshape shape,
 * say) is no longer an argument, yet naming it is right. */
static bool is_model_input(aotc_ctx *ctx, const run_request *req, const char *name)
{
  for (int i = 0; i < req->n_model_inputs; i++) {
    const char *id = ir_c_identifier(ctx, req->model_inputs[i]);
    if (!strcmp(req->model_inputs[i], name) || (id && !strcmp(id, name)))
      return true;
  }
  return false;
}

static bool check_input_names(aotc_ctx *ctx, const run_request *req)
{
  const ir_func *f = req->func;
  bool ok = true;
  for (int i = 0; i < req->n_inputs; i++) {
    const char *id = ir_c_identifier(ctx, req->inputs[i].name);
    int t = ir_func_find_tensor(f, req->inputs[i].name);
    if (t < 0 && id)
      t = ir_func_find_tensor(f, id);
    if (!is_func_input(f, t) && !is_model_input(ctx, req, req->inputs[i].name)) {
      aotc_error(ctx, noloc, "'%s' has no input named '%s'", f->name, req->inputs[i].name);
      ok = false;
    }
  }
  for (int k = 0; k < f->n_inputs; k++)
    if (!find_input(ctx, req, f->tensors[f->inputs[k]]->name)) {
      aotc_error(ctx, noloc, "missing --input %s=PATH for '%s'", f->tensors[f->inputs[k]]->name, f->name);
      ok = false;
    }
  return ok;
}

/* Loads every input, converted to its declared element type. */
static bool load_inputs(aotc_ctx *ctx, const run_request *req, run_state *st)
{
  const ir_func *f = req->func;
  for (int k = 0; k < f->n_inputs; k++) {
    const ir_tensor *t = f->tensors[f->inputs[k]];
    const run_input *in = find_input(ctx, req, t->name);
    npy_array *a = &st->arrays[k];
    npy_array *pre = req->loaded ? &req->loaded[in - req->inputs] : NULL;
    if (pre && pre->data) {
      *a = *pre;
      pre->data = NULL;
    } else if (!driver_load_array(ctx, in->path, a)) {
      return false;
    }
    if (a->rank != t->rank && !(t->rank == 0 && a->numel == 1)) {
      aotc_error(ctx, t->loc, "input '%s' has rank %d but '%s' declares rank %d", in->path, a->rank, t->name, t->rank);
      return false;
    }
    if (t->rank == 0)
      a->rank = 0;
    if (!npy_convert(a, t->type)) {
      aotc_error(ctx, noloc, "out of memory converting '%s'", in->path);
      return false;
    }
  }
  return true;
}

static bool bind_sizes(aotc_ctx *ctx, const run_request *req, run_state *st)
{
  const ir_func *f = req->func;
  const int64_t **shapes = IR_NEW_ARRAY(ctx, const int64_t *, f->n_inputs);
  int *ranks = IR_NEW_ARRAY(ctx, int, f->n_inputs);
  if (!shapes || !ranks)
    return false;
  for (int k = 0; k < f->n_inputs; k++) {
    shapes[k] = st->arrays[k].shape;
    ranks[k] = st->arrays[k].rank;
  }
  return ir_bind_sizes(ctx, f, shapes, ranks, st->sizes);
}

static bool alloc_outputs(aotc_ctx *ctx, const run_request *req, run_state *st)
{
  const ir_func *f = req->func;
  for (int k = 0; k < f->n_outputs; k++) {
    int t = f->outputs[k];
    npy_array *a = &st->arrays[f->n_inputs + k];
    a->type = f->tensors[t]->type;
    a->rank = f->tensors[t]->rank;
    a->numel = ir_tensor_numel(f, t, st->sizes);
    if (a->rank > NPY_MAX_RANK || a->numel < 0 || !ir_tensor_shape(f, t, st->sizes, a->shape)) {
      aotc_error(ctx, f->tensors[t]->loc, "output '%s' has no valid shape for these input sizes", f->tensors[t]->name);
      return false;
    }
    a->data = calloc((size_t)(a->numel ? a->numel : 1), (size_t)ir_types[a->type].bytes);
    if (!a->data) {
      aotc_error(ctx, noloc, "out of memory for output '%s'", f->tensors[t]->name);
      return false;
    }
  }
  return true;
}

static bool write_outputs(aotc_ctx *ctx, const run_request *req, run_state *st)
{
  const ir_func *f = req->func;
  mkdir(req->output_dir, 0777);
  for (int k = 0; k < f->n_outputs; k++) {
    const char *path = ir_sprintf(ctx, "%s/%s.npy", req->output_dir, f->tensors[f->outputs[k]]->name);
    if (!path || !npy_save(ctx, path, &st->arrays[f->n_inputs + k]))
      return false;
  }
  return true;
}

static bool emit_to_file(aotc_ctx *ctx, const run_request *req, const char *cpath, const char *hpath)
{
  FILE *c = fopen(cpath, "w"), *h = fopen(hpath, "w");
  bool ok = c && h;
  if (ok) {
    ir_func *fn = (ir_func *)req->func;
    emit_options opt = *req->emit;
    opt.header_name = "kernel.h";
    ok = emit_c_module(ctx, NULL, &fn, 1, &opt, c, h);
  } else {
    aotc_error(ctx, noloc, "cannot create files in '%s'", cpath);
  }
  if (c && fclose(c))
    ok = false;
  if (h && fclose(h))
    ok = false;
  return ok;
}

/* Runs argv without a shell; true when it exits with status 0. */
static bool run_command(aotc_ctx *ctx, char *const *argv, bool verbose)
{
  if (verbose) {
    for (int i = 0; argv[i]; i++)
      fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
    fputc('\n', stderr);
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    aotc_error(ctx, noloc, "cannot start '%s': %s", argv[0], strerror(errno));
    return false;
  }
  if (pid == 0) {
    execvp(argv[0], argv);
    fprintf(stderr, "aotc: error: cannot run '%s': %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return false;
  if (!WIFEXITED(status) || WEXITSTATUS(status)) {
    aotc_error(ctx, noloc, "'%s' failed on the emitted code", argv[0]);
    return false;
  }
  return true;
}

static bool build_and_load(aotc_ctx *ctx, const run_request *req, run_state *st)
{
  char *cpath = ir_sprintf(ctx, "%s/kernel.c", st->tmpdir);
  char *hpath = ir_sprintf(ctx, "%s/kernel.h", st->tmpdir);
  char *sopath = ir_sprintf(ctx, "%s/kernel.so", st->tmpdir);
  if (!cpath || !hpath || !sopath || !emit_to_file(ctx, req, cpath, hpath))
    return false;
  const char *cc = getenv("CC");
  const emit_options *e = req->emit;
  int threads = e->sched ? e->sched->threads : e->threads;
  char *argv[] = {(char *)(cc && *cc ? cc : "cc"), "-O2", "-std=c99", "-fPIC", "-shared",
                  "-o", sopath, cpath, "-lm", threads > 1 ? "-fopenmp" : NULL, NULL};
  if (!run_command(ctx, argv, req->verbose))
    return false;
  st->dl = dlopen(sopath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!st->dl) {
    aotc_error(ctx, noloc, "cannot load the built kernel: %s", dlerror());
    return false;
  }
  return true;
}

static int call_compiled(aotc_ctx *ctx, const run_request *req, run_state *st, void **args)
{
  const char *name = req->func->name;
  packed_fn fn = (packed_fn)dlsym(st->dl, ir_sprintf(ctx, "%s_call", name));
  packed_ws_fn ws = (packed_ws_fn)dlsym(st->dl, ir_sprintf(ctx, "%s_call_workspace_bytes", name));
  if (!fn || !ws) {
    aotc_error(ctx, noloc, "the built kernel lacks %s_call", name);
    return 1;
  }
  size_t bytes = ws(st->sizes);
  if (bytes) {
    st->workspace = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!st->workspace) {
      aotc_error(ctx, noloc, "cannot allocate a workspace of %zu bytes", bytes);
      return 1;
    }
  }
  int rc = fn(st->sizes, args, st->workspace);
  if (rc)
    aotc_error(ctx, noloc, "'%s' returned %d: the sizes do not fit the code", name, rc);
  return rc;
}

static void remove_tmpdir(const run_state *st)
{
  static const char *const names[] = {"kernel.c", "kernel.h", "kernel.so"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", st->tmpdir, names[i]);
    unlink(path);
  }
  rmdir(st->tmpdir);
}

static int run_with_state(aotc_ctx *ctx, const run_request *req, run_state *st)
{
  const ir_func *f = req->func;
  if (!check_input_names(ctx, req) || !load_inputs(ctx, req, st) || !bind_sizes(ctx, req, st))
    return 1;
  for (int p = 0; req->emit->fixed_sizes && p < f->n_params; p++)
    if (req->emit->fixed_sizes[p] >= 0 && req->emit->fixed_sizes[p] != st->sizes[p]) {
      aotc_error(ctx, noloc, "--size %s=%lld does not match the inputs (%s=%lld)", f->param_names[p],
                 (long long)req->emit->fixed_sizes[p], f->param_names[p], (long long)st->sizes[p]);
      return 1;
    }
  if (!alloc_outputs(ctx, req, st))
    return 1;
  void **args = IR_NEW_ARRAY(ctx, void *, st->n_arrays);
  if (!args)
    return 1;
  for (int i = 0; i < st->n_arrays; i++)
    args[i] = st->arrays[i].data;
  if (req->interpret) {
    if (ir_interpret(ctx, f, st->sizes, args))
      return 1;
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(st->tmpdir, sizeof st->tmpdir, "%s/aotc-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(st->tmpdir)) {
      aotc_error(ctx, noloc, "cannot create a temporary directory: %s", strerror(errno));
      st->tmpdir[0] = 0;
      return 1;
    }
    if (!build_and_load(ctx, req, st) || call_compiled(ctx, req, st, args))
      return 1;
  }
  return write_outputs(ctx, req, st) ? 0 : 1;
}

int driver_run(aotc_ctx *ctx, const ir_module *m, const run_request *req)
{
  (void)m;
  const ir_func *f = req->func;
  run_state st = {0};
  st.n_arrays = f->n_inputs + f->n_outputs;
  st.arrays = IR_NEW_ARRAY(ctx, npy_array, st.n_arrays);
  st.sizes = IR_NEW_ARRAY(ctx, int64_t, f->n_params);
  if (!st.arrays || !st.sizes)
    return 1;
  int rc = run_with_state(ctx, req, &st);
  if (st.dl)
    dlclose(st.dl);
  free(st.workspace);
  for (int i = 0; i < st.n_arrays; i++)
    npy_free(&st.arrays[i]);
  if (st.tmpdir[0] && !req->keep_temps)
    remove_tmpdir(&st);
  else if (st.tmpdir[0])
    fprintf(stderr, "aotc: kept build files in %s\n", st.tmpdir);
  return rc;
}
