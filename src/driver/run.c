/* run.c: `aotc run`: the backend passes emit C for one entry into a
 * temporary folder, the build helper (build.h) makes a shared object of it,
 * which is loaded and its packed entry point called on the inputs; the
 * outputs are written as .npy files under temporary names and renamed only
 * when every one was written. */
#include "driver.h"
#include "build.h"
#include "llvm_driver.h"
#include "../schedule/schedule.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*packed_fn)(const int64_t *sizes, void *const *args, void *workspace);
typedef size_t (*packed_ws_fn)(const int64_t *sizes);

typedef struct run_state {
  const ir_func *func;
  const driver_plan *plan;
  npy_array *arrays; /* inputs then outputs */
  int n_arrays;
  int64_t *sizes;
  char tmpdir[256];
  void *dl;
  struct emit_llvm *jit; /* --backend llvm: the compiled module, instead of dl */
  void *workspace;
} run_state;

static const ir_loc noloc;

/* The data of a TensorProto (.pb), copied from malloc into ctx's hook. */
static bool load_tensor_proto(aotc_ctx *ctx, const char *path, const unsigned char *buf, size_t len,
                              npy_array *out)
{
  void *data = NULL;
  bool ok = onnx_read_tensor(ctx, path, buf, len, &out->type, &out->rank, out->shape, &data);
  out->numel = 1;
  for (int d = 0; ok && d < out->rank; d++)
    out->numel *= out->shape[d];
  size_t bytes = ok ? (size_t)(out->numel ? out->numel : 1) * (size_t)ir_types[out->type].bytes : 0;
  out->data = ok ? aotc_malloc(ctx, bytes) : NULL;
  out->ctx = ctx;
  if (out->data)
    memcpy(out->data, data, bytes);
  free(data);
  return out->data != NULL;
}

bool driver_load_array(aotc_ctx *ctx, const char *path, npy_array *out)
{
  size_t len;
  unsigned char *buf = driver_read_file(ctx, path, &len);
  if (!buf)
    return false;
  bool ok;
  memset(out, 0, sizeof(*out));
  if (driver_npy_looks_like(path, buf, len))
    ok = driver_npy_parse(ctx, path, buf, len, out);
  else
    ok = load_tensor_proto(ctx, path, buf, len, out);
  aotc_free(ctx, buf);
  return ok;
}

static const ir_func *run_func(const run_request *req)
{
  return req->module->plans[0].func;
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
  const ir_func *f = run_func(req);
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
    if (!find_input(ctx, req, f->tensors[f->inputs[k]]->name) && !f->tensors[f->inputs[k]]->data) {
      aotc_error(ctx, noloc, "missing --input %s=PATH for '%s'", f->tensors[f->inputs[k]]->name, f->name);
      ok = false;
    }
  return ok;
}

/* A parameter's initial value (a model's initializer), copied. */
static bool initial_value(aotc_ctx *ctx, const ir_func *f, int t, npy_array *a)
{
  const ir_tensor *T = f->tensors[t];
  a->type = T->type;
  a->rank = T->rank;
  a->numel = ir_tensor_numel(f, t, NULL);
  size_t bytes = (size_t)(a->numel > 0 ? a->numel : 0) * (size_t)ir_types[T->type].bytes;
  if (a->rank > NPY_MAX_RANK || a->numel < 0 || !ir_tensor_shape(f, t, NULL, a->shape) ||
      !(a->data = malloc(bytes ? bytes : 1))) {
    aotc_error(ctx, T->loc, "cannot pass the value of parameter '%s'", T->name);
    return false;
  }
  memcpy(a->data, T->data, bytes);
  return true;
}

/* Loads every input, converted to its declared element type; a parameter
 * not given gets its initial value. */
static bool load_inputs(aotc_ctx *ctx, const run_request *req, run_state *st)
{
  const ir_func *f = run_func(req);
  for (int k = 0; k < f->n_inputs; k++) {
    const ir_tensor *t = f->tensors[f->inputs[k]];
    const run_input *in = find_input(ctx, req, t->name);
    npy_array *a = &st->arrays[k];
    if (!in) {
      if (!initial_value(ctx, f, f->inputs[k], a))
        return false;
      continue;
    }
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
    if (!driver_npy_convert(a, t->type)) {
      aotc_error(ctx, noloc, "out of memory converting '%s'", in->path);
      return false;
    }
  }
  return true;
}

static bool bind_sizes(aotc_ctx *ctx, const run_request *req, run_state *st)
{
  const ir_func *f = run_func(req);
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
  const ir_func *f = run_func(req);
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
    size_t bytes = (size_t)(a->numel ? a->numel : 1) * (size_t)ir_types[a->type].bytes;
    a->ctx = ctx;
    a->data = aotc_malloc(ctx, bytes);
    if (a->data)
      memset(a->data, 0, bytes);
    if (!a->data) {
      aotc_error(ctx, noloc, "out of memory for output '%s'", f->tensors[t]->name);
      return false;
    }
  }
  return true;
}

/* Every output under a temporary name first; renamed when all were
 * written, removed otherwise, so a failure leaves no output of this run. */
static bool write_outputs(aotc_ctx *ctx, const run_request *req, run_state *st)
{
  const ir_func *f = run_func(req);
  char **final = IR_NEW_ARRAY(ctx, char *, f->n_outputs), **tmp = IR_NEW_ARRAY(ctx, char *, f->n_outputs);
  bool ok = final && tmp;
  mkdir(req->output_dir, 0777);
  for (int k = 0; ok && k < f->n_outputs; k++) {
    final[k] = ir_sprintf(ctx, "%s/%s.npy", req->output_dir, f->tensors[f->outputs[k]]->name);
    tmp[k] = final[k] ? ir_sprintf(ctx, "%s.tmp%ld", final[k], (long)getpid()) : NULL;
    if (tmp[k])
      driver_tmp_track(tmp[k]);
    ok = tmp[k] && driver_npy_save(ctx, tmp[k], &st->arrays[f->n_inputs + k]);
  }
  for (int k = 0; ok && k < f->n_outputs; k++)
    if (rename(tmp[k], final[k])) {
      aotc_error(ctx, noloc, "cannot write '%s': %s", final[k], strerror(errno));
      for (int j = 0; j < k; j++)
        remove(final[j]);
      ok = false;
    }
  for (int k = 0; tmp && k < f->n_outputs && tmp[k]; k++)
    driver_tmp_remove(tmp[k]);
  return ok;
}

bool driver_emit_files(aotc_ctx *ctx, driver_module *m, const char *cpath, const char *hpath, const char *header_name)
{
  driver_tmp_track(cpath);
  driver_tmp_track(hpath);
  m->c_out = fopen(cpath, "w");
  m->h_out = fopen(hpath, "w");
  m->c_path = cpath;
  m->h_path = hpath;
  m->header_name = header_name;
  bool ok = m->c_out && m->h_out;
  if (!ok)
    aotc_error(ctx, noloc, "cannot create files in '%s'", cpath);
  ok = ok && driver_run_after(m, "select");
  if (m->c_out && fclose(m->c_out))
    ok = false;
  if (m->h_out && fclose(m->h_out))
    ok = false;
  m->c_out = m->h_out = NULL;
  return ok;
}

static bool build_and_load(aotc_ctx *ctx, const run_request *req, run_state *st)
{
  char *cpath = ir_sprintf(ctx, "%s/kernel.c", st->tmpdir);
  char *hpath = ir_sprintf(ctx, "%s/kernel.h", st->tmpdir);
  char *sopath = ir_sprintf(ctx, "%s/kernel.so", st->tmpdir);
  if (!cpath || !hpath || !sopath || !driver_emit_files(ctx, req->module, cpath, hpath, "kernel.h"))
    return false;
  const char *sources[] = {cpath};
  driver_build_request b = {.kind = DRIVER_BUILD_SHARED, .sources = sources, .n_sources = 1, .output = sopath,
                            .verbose = req->verbose};
  driver_tmp_track(sopath);
  if (!driver_build(ctx, &b))
    return false;
  st->dl = dlopen(sopath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!st->dl) {
    aotc_error(ctx, noloc, "cannot load the built kernel: %s", dlerror());
    return false;
  }
  return true;
}

/* A function of the built kernel (dlopen) or of the JIT-compiled module. */
static void *lookup(run_state *st, const char *name)
{
  if (!name)
    return NULL;
  return st->jit ? emit_llvm_lookup(st->jit, name) : dlsym(st->dl, name);
}

static int call_compiled(aotc_ctx *ctx, const run_request *req, run_state *st, void **args)
{
  const char *name = run_func(req)->name;
  packed_fn fn = (packed_fn)lookup(st, ir_sprintf(ctx, "%s_call", name));
  packed_ws_fn ws = (packed_ws_fn)lookup(st, ir_sprintf(ctx, "%s_call_workspace_bytes", name));
  if (!fn || !ws) {
    aotc_error(ctx, noloc, "the built kernel lacks %s_call", name);
    return 1;
  }
  size_t bytes = ws(st->sizes);
  if (bytes && !(st->workspace = aotc_malloc(ctx, bytes))) {
    aotc_error(ctx, noloc, "cannot allocate a workspace of %zu bytes", bytes);
    return 1;
  }
  int rc = fn(st->sizes, args, st->workspace);
  if (rc == AOTC_RC_INDEX)
    aotc_error(ctx, noloc, "'%s' returned %d: an index read from data lies outside its tensor (%s)", name, rc,
               emit_checks_describe(ctx, run_func(req)));
  else if (rc)
    aotc_error(ctx, noloc, "'%s' returned %d: the sizes do not fit the code", name, rc);
  return rc;
}

static bool sizes_match(aotc_ctx *ctx, const run_request *req, const run_state *st)
{
  const ir_func *f = run_func(req);
  const int64_t *fixed = req->module->plans[0].fixed;
  for (int p = 0; fixed && p < f->n_params; p++)
    if (fixed[p] >= 0 && fixed[p] != st->sizes[p]) {
      aotc_error(ctx, noloc, "--size %s=%lld does not match the inputs (%s=%lld)", f->param_names[p],
                 (long long)fixed[p], f->param_names[p], (long long)st->sizes[p]);
      return false;
    }
  return true;
}

/* --target cuda-sim or cuda: kernel.cu built and run by run_cuda.c. */
static bool run_cuda(aotc_ctx *ctx, const run_request *req, run_state *st)
{
  char *cpath = ir_sprintf(ctx, "%s/kernel.cu", st->tmpdir), *hpath = ir_sprintf(ctx, "%s/kernel.h", st->tmpdir);
  return cpath && hpath && driver_emit_files(ctx, req->module, cpath, hpath, "kernel.h") &&
         driver_run_cuda(ctx, req, st->tmpdir, st->sizes, st->arrays, st->n_arrays);
}

static bool compile_and_call(aotc_ctx *ctx, const run_request *req, run_state *st, void **args)
{
  if (!driver_tmpdir_new(ctx, "run", st->tmpdir, sizeof st->tmpdir))
    return false;
  if (req->target && strcmp(req->target, "c"))
    return run_cuda(ctx, req, st);
  if (req->llvm)
    return (st->jit = driver_llvm_jit(ctx, req->module)) && !call_compiled(ctx, req, st, args);
  return build_and_load(ctx, req, st) && !call_compiled(ctx, req, st, args);
}

static int run_with_state(aotc_ctx *ctx, const run_request *req, run_state *st)
{
  const ir_func *f = run_func(req);
  if (!check_input_names(ctx, req) || !load_inputs(ctx, req, st) || !bind_sizes(ctx, req, st) ||
      !sizes_match(ctx, req, st) || !alloc_outputs(ctx, req, st))
    return 1;
  void **args = IR_NEW_ARRAY(ctx, void *, st->n_arrays);
  if (!args)
    return 1;
  for (int i = 0; i < st->n_arrays; i++)
    args[i] = st->arrays[i].data;
  bool ok = req->interpret ? !ir_interpret(ctx, f, st->sizes, args) : compile_and_call(ctx, req, st, args);
  return ok && write_outputs(ctx, req, st) ? 0 : 1;
}

int driver_run(aotc_ctx *ctx, const run_request *req)
{
  const ir_func *f = run_func(req);
  run_state st = {0};
  st.n_arrays = f->n_inputs + f->n_outputs;
  st.arrays = IR_NEW_ARRAY(ctx, npy_array, st.n_arrays);
  st.sizes = IR_NEW_ARRAY(ctx, int64_t, f->n_params);
  if (!st.arrays || !st.sizes)
    return 1;
  int rc = run_with_state(ctx, req, &st);
  if (st.dl)
    dlclose(st.dl);
  emit_llvm_free(st.jit);
  aotc_free(ctx, st.workspace);
  for (int i = 0; i < st.n_arrays; i++)
    driver_npy_free(&st.arrays[i]);
  if (st.tmpdir[0] && req->keep_temps) {
    driver_tmp_keep(st.tmpdir);
    fprintf(stderr, "aotc: kept build files in %s\n", st.tmpdir);
  } else if (st.tmpdir[0]) {
    driver_tmp_remove(st.tmpdir);
  }
  return rc;
}
