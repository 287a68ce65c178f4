/* train.c: the driver's side of training: the grad pass (NAME_grad for
 * every --grad NAME, src/ir/grad.h; the training functions of
 * src/train/train.h for aotc train) and the training options of the
 * command line. aotc run --train is train_run.c. */
#include "driver.h"
#include "train.h"
#include "graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const ir_loc noloc;

static bool add_func(aotc_ctx *ctx, ir_module *mod, ir_func *g)
{
  ir_func **funcs = IR_NEW_ARRAY(ctx, ir_func *, mod->n_funcs + 1);
  if (!funcs || !g)
    return false;
  memcpy(funcs, mod->funcs, sizeof(ir_func *) * (size_t)mod->n_funcs);
  funcs[mod->n_funcs++] = g;
  mod->funcs = funcs;
  return true;
}

/* The running statistics of batch normalisations (inputs 3 and 4) are
 * not trained: their C names. */
static const char **batchnorm_stats(driver_module *m, int *n)
{
  const ir_graph *g = m->graph;
  const char **names = g ? IR_NEW_ARRAY(m->ctx, const char *, 2 * g->n_nodes) : NULL;
  *n = 0;
  for (int k = 0; names && k < g->n_nodes; k++) {
    const ir_node *node = &g->nodes[k];
    if (node->dead || node->op != GRAPH_OP_BATCHNORM || node->n_in < 5)
      continue;
    for (int i = 3; i < 5; i++)
      if (node->in[i] >= 0)
        names[(*n)++] = ir_c_identifier(m->ctx, g->values[node->in[i]].name);
  }
  return names;
}

/* The model function becomes the three training functions. */
static bool build_training(driver_module *m)
{
  const driver_train *t = m->cfg->train;
  if (m->ir->n_funcs != 1) {
    aotc_error(m->ctx, noloc, "train: '%s' must hold one model function, not %d", m->path, m->ir->n_funcs);
    return false;
  }
  train_options opt = {.loss = (train_loss)t->loss, .optimizer = (train_optimizer)t->optimizer, .ddp = t->ddp};
  opt.frozen = batchnorm_stats(m, &opt.n_frozen);
  ir_func **funcs = IR_NEW_ARRAY(m->ctx, ir_func *, 3);
  if (!funcs || !train_build(m->ctx, m->ir->funcs[0], &opt, funcs))
    return false;
  m->ir->funcs = funcs;
  m->ir->n_funcs = 3;
  return true;
}

bool driver_grad(driver_module *m)
{
  if (m->cfg && m->cfg->train)
    return build_training(m);
  for (int i = 0; m->cfg && i < m->cfg->n_grads; i++) {
    const char *name = m->cfg->grads[i];
    ir_func *f = ir_module_find(m->ir, name);
    if (!f) {
      aotc_error(m->ctx, noloc, "--grad %s: '%s' has no function of that name", name, m->path);
      return false;
    }
    if (!add_func(m->ctx, m->ir, grad_func(m->ctx, f)))
      return false;
  }
  return true;
}

/* ------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------ */

/* The hyper-parameter options and their TRAIN_HYPER_* slots. */
static const struct {
  const char *name;
  int slot;
} hyper_options[] = {
    {"--lr", TRAIN_HYPER_LR},   {"--momentum", TRAIN_HYPER_BETA1}, {"--beta1", TRAIN_HYPER_BETA1},
    {"--beta2", TRAIN_HYPER_BETA2}, {"--eps", TRAIN_HYPER_EPS},   {"--weight-decay", TRAIN_HYPER_WEIGHT_DECAY},
};

static bool is_opt(const char *arg, const char *name)
{
  size_t n = strlen(name);
  return !strncmp(arg, name, n) && (arg[n] == 0 || arg[n] == '=');
}

static const char *value_of(aotc_ctx *ctx, int argc, char **argv, int *i, const char *name)
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

static int choose(aotc_ctx *ctx, const char *name, const char *v, const char *const *words, int n, int *out)
{
  for (int k = 0; v && k < n; k++)
    if (!strcmp(v, words[k]))
      return (*out = k), 1;
  if (v)
    aotc_error(ctx, noloc, "%s: unknown '%s' (one of: %s)", name, v,
               n == 2 ? "cross_entropy, mse" : "sgd, adam, adamw");
  return -1;
}

static int number(aotc_ctx *ctx, const char *name, const char *v, double *out)
{
  char *end;
  errno = 0;
  *out = v ? strtod(v, &end) : 0;
  if (!v || !*v || *end || errno || !(*out >= 0 && *out < 1e30)) {
    if (v)
      aotc_error(ctx, noloc, "%s expects a non-negative number, got '%s'", name, v);
    return -1;
  }
  return 1;
}

static int hyper_option(aotc_ctx *ctx, driver_train *t, int argc, char **argv, int *i)
{
  for (size_t k = 0; k < sizeof hyper_options / sizeof hyper_options[0]; k++) {
    const char *name = hyper_options[k].name;
    if (!is_opt(argv[*i], name))
      continue;
    int slot = hyper_options[k].slot;
    int rc = number(ctx, name, value_of(ctx, argc, argv, i, name), &t->hyper[slot]);
    t->given[slot] = rc > 0;
    return rc;
  }
  return 0;
}

int driver_parse_train_option(aotc_ctx *ctx, driver_train *t, int argc, char **argv, int *i)
{
  static const char *const losses[] = {"cross_entropy", "mse"};
  static const char *const optimizers[] = {"sgd", "adam", "adamw"};
  const char *a = argv[*i];
  double steps;
  if (!strcmp(a, "--train"))
    return (t->on = true), 1;
  if (!strcmp(a, "--ddp"))
    return (t->ddp = true), 1;
  if (is_opt(a, "--loss"))
    return choose(ctx, "--loss", value_of(ctx, argc, argv, i, "--loss"), losses, 2, &t->loss);
  if (is_opt(a, "--optimizer"))
    return choose(ctx, "--optimizer", value_of(ctx, argc, argv, i, "--optimizer"), optimizers, 3, &t->optimizer);
  if (is_opt(a, "--steps")) {
    int rc = number(ctx, "--steps", value_of(ctx, argc, argv, i, "--steps"), &steps);
    if (rc > 0 && (steps < 1 || steps > 1e7 || steps != (int)steps)) {
      aotc_error(ctx, noloc, "--steps expects a whole number from 1 to 10000000");
      return -1;
    }
    t->steps = rc > 0 ? (int)steps : 0;
    return rc;
  }
  return hyper_option(ctx, t, argc, argv, i);
}

void driver_train_defaults(driver_train *t)
{
  bool adam = t->optimizer != TRAIN_SGD;
  double defaults[TRAIN_HYPER_COUNT] = {adam ? 1e-3 : 1e-2, adam ? 0.9 : 0, 0.999, 1e-8,
                                        t->optimizer == TRAIN_ADAMW ? 1e-2 : 0, 1};
  for (int k = 0; k < TRAIN_HYPER_COUNT; k++)
    if (!t->given[k])
      t->hyper[k] = defaults[k];
  if (!t->steps)
    t->steps = 1;
}
