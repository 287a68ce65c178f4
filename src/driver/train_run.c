/* train_run.c: `aotc run MODEL --train`: the model is compiled into its
 * training functions (src/train/train.h) for the shapes of the --input
 * arrays, built as a shared object (build.h) or interpreted
 * (--interpret), initialised from the initializers by NAME_init, and
 * NAME_train_step is called --steps times on the same batch. Writes
 * DIR/loss.npy (float32, one loss per step) and DIR/<parameter>.npy for
 * every trained parameter, all or none. */
#include "driver.h"
#include "build.h"
#include "train.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*packed_fn)(const int64_t *sizes, void *const *args, void *workspace);
typedef size_t (*packed_ws_fn)(const int64_t *sizes);

static const ir_loc noloc;

typedef struct trainer {
  aotc_ctx *ctx;
  driver_module *m;
  const driver_train *t;
  const run_input *inputs;
  int n_inputs;
  const ir_func *step, *init;
  npy_array *arrays; /* the step's inputs then outputs */
  npy_array *given;  /* the model inputs' arrays read for their shapes */
  int n_given;
  int64_t sizes[IR_PROBES_MAX];
  void **args;
  bool interpret, verbose;
  char tmpdir[256];
  void *dl;
} trainer;

/* ------------------------------------------------------------------------
 * Inputs
 * ------------------------------------------------------------------------ */

static const run_input *find_input(trainer *tr, const char *name)
{
  for (int i = 0; i < tr->n_inputs; i++) {
    const char *id = ir_c_identifier(tr->ctx, tr->inputs[i].name);
    if (!strcmp(tr->inputs[i].name, name) || (id && !strcmp(id, name)))
      return &tr->inputs[i];
  }
  return NULL;
}

/* The model's inputs among the --input arrays fix its shapes (target is
 * not one of them). */
static bool prepare_given(trainer *tr)
{
  int n_model;
  const char **names = onnx_model_inputs(tr->ctx, tr->m->source, tr->m->source_len, &n_model);
  onnx_given *given = IR_NEW_ARRAY(tr->ctx, onnx_given, tr->n_inputs);
  npy_array *arrays = IR_NEW_ARRAY(tr->ctx, npy_array, tr->n_inputs);
  if (!names || !given || !arrays)
    return false;
  int n = 0;
  for (int i = 0; i < tr->n_inputs; i++)
    for (int k = 0; k < n_model; k++) {
      if (strcmp(names[k], tr->inputs[i].name))
        continue;
      if (!driver_load_array(tr->ctx, tr->inputs[i].path, &arrays[n]))
        return false;
      given[n] = (onnx_given){names[k], arrays[n].type, arrays[n].rank, arrays[n].shape, NULL, false};
      n++;
    }
  tr->m->given = given;
  tr->m->n_given = n;
  tr->given = arrays;
  tr->n_given = n;
  return true;
}

static bool load_one(trainer *tr, int k)
{
  const ir_tensor *x = tr->step->tensors[tr->step->inputs[k]];
  const run_input *in = find_input(tr, x->name);
  npy_array *a = &tr->arrays[k];
  if (!in) {
    aotc_error(tr->ctx, noloc, "missing --input %s=PATH for '%s'", x->name, tr->step->name);
    return false;
  }
  if (!driver_load_array(tr->ctx, in->path, a))
    return false;
  if (a->rank != x->rank) {
    aotc_error(tr->ctx, noloc, "input '%s' has rank %d but '%s' has rank %d", in->path, a->rank, x->name, x->rank);
    return false;
  }
  return driver_npy_convert(a, x->type);
}

/* The data inputs and target from files, hyper from the options. */
static bool load_inputs(trainer *tr)
{
  int n = tr->step->n_inputs;
  for (int k = 0; k < n - 1; k++)
    if (!load_one(tr, k))
      return false;
  npy_array *h = &tr->arrays[n - 1];
  *h = (npy_array){.type = IR_F32, .rank = 1, .shape = {TRAIN_HYPER_COUNT}, .numel = TRAIN_HYPER_COUNT};
  float *v = malloc(sizeof(float) * TRAIN_HYPER_COUNT);
  for (int k = 0; v && k < TRAIN_HYPER_COUNT; k++)
    v[k] = (float)tr->t->hyper[k];
  h->data = v;
  return v != NULL;
}

static bool bind_and_alloc(trainer *tr)
{
  const ir_func *f = tr->step;
  const int64_t *shapes[64];
  int ranks[64];
  if (f->n_inputs > 64 || f->n_params > IR_PROBES_MAX)
    return false;
  for (int k = 0; k < f->n_inputs; k++) {
    shapes[k] = tr->arrays[k].shape;
    ranks[k] = tr->arrays[k].rank;
  }
  if (!ir_bind_sizes(tr->ctx, f, shapes, ranks, tr->sizes))
    return false;
  for (int k = 0; k < f->n_outputs; k++) {
    npy_array *a = &tr->arrays[f->n_inputs + k];
    int t = f->outputs[k];
    *a = (npy_array){.type = f->tensors[t]->type, .rank = f->tensors[t]->rank};
    a->numel = ir_tensor_numel(f, t, tr->sizes);
    if (a->numel < 0 || a->rank > NPY_MAX_RANK || !ir_tensor_shape(f, t, tr->sizes, a->shape))
      return false;
    if (!(a->data = calloc((size_t)(a->numel ? a->numel : 1), (size_t)ir_types[a->type].bytes)))
      return false;
  }
  return true;
}

/* ------------------------------------------------------------------------
 * Building and calling
 * ------------------------------------------------------------------------ */

static bool build_and_load(trainer *tr)
{
  aotc_ctx *ctx = tr->ctx;
  if (!driver_tmpdir_new(ctx, "train", tr->tmpdir, sizeof tr->tmpdir))
    return false;
  char *cpath = ir_sprintf(ctx, "%s/train.c", tr->tmpdir), *hpath = ir_sprintf(ctx, "%s/train.h", tr->tmpdir);
  char *sopath = ir_sprintf(ctx, "%s/train.so", tr->tmpdir);
  if (!cpath || !hpath || !sopath || !driver_emit_files(tr->ctx, tr->m, cpath, hpath, "train.h"))
    return false;
  const char *sources[] = {cpath};
  driver_build_request b = {.kind = DRIVER_BUILD_SHARED, .sources = sources, .n_sources = 1, .output = sopath,
                            .verbose = tr->verbose};
  driver_tmp_track(sopath);
  if (!driver_build(ctx, &b))
    return false;
  if (!(tr->dl = dlopen(sopath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)))
    aotc_error(ctx, noloc, "cannot load the built training step: %s", dlerror());
  return tr->dl != NULL;
}

/* Runs f (compiled, or interpreted) on args. */
static bool call(trainer *tr, const ir_func *f, void **args)
{
  if (tr->interpret)
    return !ir_interpret(tr->ctx, f, tr->sizes, args);
  packed_fn fn = (packed_fn)dlsym(tr->dl, ir_sprintf(tr->ctx, "%s_call", f->name));
  packed_ws_fn ws = (packed_ws_fn)dlsym(tr->dl, ir_sprintf(tr->ctx, "%s_call_workspace_bytes", f->name));
  if (!fn || !ws) {
    aotc_error(tr->ctx, noloc, "the built code lacks %s_call", f->name);
    return false;
  }
  size_t bytes = ws(tr->sizes);
  void *work = bytes ? aotc_malloc(tr->ctx, bytes) : NULL;
  int rc = bytes && !work ? -1 : fn(tr->sizes, args, work);
  aotc_free(tr->ctx, work);
  if (rc)
    aotc_error(tr->ctx, noloc, "'%s' returned %d", f->name, rc);
  return rc == 0;
}

/* NAME_init, then the steps; the loss of each step into losses. */
static bool take_steps(trainer *tr, float *losses)
{
  const ir_func *f = tr->step;
  int n = f->n_inputs + f->n_outputs;
  if (!(tr->args = IR_NEW_ARRAY(tr->ctx, void *, n)))
    return false;
  for (int k = 0; k < n; k++)
    tr->args[k] = tr->arrays[k].data;
  if (!call(tr, tr->init, tr->args + f->n_inputs))
    return false;
  float *hyper = tr->arrays[f->n_inputs - 1].data;
  const float *loss = tr->arrays[n - 1].data;
  for (int s = 0; s < tr->t->steps; s++) {
    hyper[TRAIN_HYPER_STEP] = (float)(s + 1);
    if (!call(tr, f, tr->args))
      return false;
    losses[s] = *loss;
  }
  return true;
}

/* ------------------------------------------------------------------------
 * Outputs
 * ------------------------------------------------------------------------ */

static bool save(trainer *tr, const char *dir, const char *name, const npy_array *a, char **final, char **tmp)
{
  *final = ir_sprintf(tr->ctx, "%s/%s.npy", dir, name);
  *tmp = *final ? ir_sprintf(tr->ctx, "%s.tmp%ld", *final, (long)getpid()) : NULL;
  if (*tmp)
    driver_tmp_track(*tmp);
  return *tmp && driver_npy_save(tr->ctx, *tmp, a);
}

/* loss.npy and one file per parameter, renamed when all were written. */
static bool write_results(trainer *tr, const char *dir, float *losses)
{
  int n_buffers = driver_train_buffers(tr->m), per = train_state_per_param((train_optimizer)tr->t->optimizer);
  int n_params = (tr->step->n_outputs - 1 - n_buffers) / (per + 1) + n_buffers;
  char **final = IR_NEW_ARRAY(tr->ctx, char *, n_params + 1), **tmp = IR_NEW_ARRAY(tr->ctx, char *, n_params + 1);
  npy_array la = {.type = IR_F32, .rank = 1, .shape = {tr->t->steps}, .numel = tr->t->steps, .data = losses};
  mkdir(dir, 0777);
  bool ok = final && tmp && save(tr, dir, "loss", &la, &final[0], &tmp[0]);
  for (int k = 0; ok && k < n_params; k++) {
    const ir_tensor *p = tr->step->tensors[tr->step->outputs[k]];
    ok = save(tr, dir, p->name, &tr->arrays[tr->step->n_inputs + k], &final[k + 1], &tmp[k + 1]);
  }
  for (int k = 0; ok && k <= n_params; k++)
    if (rename(tmp[k], final[k])) {
      aotc_error(tr->ctx, noloc, "cannot write '%s': %s", final[k], strerror(errno));
      ok = false;
    }
  for (int k = 0; tmp && k <= n_params && tmp[k]; k++)
    driver_tmp_remove(tmp[k]);
  return ok;
}

/* ------------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------------ */

static bool run_training(trainer *tr, const char *output_dir)
{
  if (!prepare_given(tr) || !driver_run_until(tr->m, "select"))
    return false;
  driver_module *m = tr->m;
  if (m->n_plans != 3)
    return false;
  tr->step = m->plans[1].func;
  tr->init = m->plans[2].func;
  int n = tr->step->n_inputs + tr->step->n_outputs;
  float *losses = IR_NEW_ARRAY(tr->ctx, float, tr->t->steps);
  if (!losses || !(tr->arrays = IR_NEW_ARRAY(tr->ctx, npy_array, n)))
    return false;
  if (!load_inputs(tr) || !bind_and_alloc(tr))
    return false;
  if (!tr->interpret && !build_and_load(tr))
    return false;
  return take_steps(tr, losses) && write_results(tr, output_dir, losses);
}

static void release(trainer *tr, bool keep_temps)
{
  int n = tr->step ? tr->step->n_inputs + tr->step->n_outputs : 0;
  for (int k = 0; tr->arrays && k < n; k++)
    driver_npy_free(&tr->arrays[k]);
  for (int k = 0; k < tr->n_given; k++)
    driver_npy_free(&tr->given[k]);
  if (tr->dl)
    dlclose(tr->dl);
  if (tr->tmpdir[0] && keep_temps) {
    driver_tmp_keep(tr->tmpdir);
    fprintf(stderr, "aotc: kept build files in %s\n", tr->tmpdir);
  } else if (tr->tmpdir[0]) {
    driver_tmp_remove(tr->tmpdir);
  }
}

int driver_run_train(aotc_ctx *ctx, driver_module *m, const driver_train *t, const run_input *inputs, int n_inputs,
                     const char *output_dir, bool interpret, bool keep_temps, bool verbose)
{
  if (m->kind != DRIVER_INPUT_ONNX) {
    aotc_error(ctx, noloc, "run --train: '%s' is not an ONNX model", m->path);
    return 1;
  }
  if (t->ddp) {
    aotc_error(ctx, noloc, "run --train: --ddp needs MPI (aotc train --ddp and runtime/aotc_ddp.c, docs/ddp.md)");
    return 1;
  }
  trainer tr = {.ctx = ctx, .m = m, .t = t, .inputs = inputs, .n_inputs = n_inputs, .interpret = interpret,
                .verbose = verbose};
  m->weights_as_params = true;
  bool ok = run_training(&tr, output_dir);
  release(&tr, keep_temps);
  return ok ? 0 : 1;
}
