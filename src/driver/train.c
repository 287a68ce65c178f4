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

/* The batch normalisations of m (the C names of their running statistics,
 * inputs 3 and 4). */
static train_batchnorm *batchnorms(const driver_module *m, int *n)
{
  const ir_graph *g = m->graph;
  train_batchnorm *bns = IR_NEW_ARRAY(m->ctx, train_batchnorm, g ? g->n_nodes : 1);
  *n = 0;
  for (int k = 0; bns && g && k < g->n_nodes; k++) {
    const ir_node *node = &g->nodes[k];
    if (node->dead || node->op != GRAPH_OP_BATCHNORM || node->n_in < 5 || node->in[3] < 0 || node->in[4] < 0)
      continue;
    bns[*n].mean = ir_c_identifier(m->ctx, g->values[node->in[3]].name);
    bns[(*n)++].var = ir_c_identifier(m->ctx, g->values[node->in[4]].name);
  }
  return bns;
}

int driver_train_buffers(const driver_module *m)
{
  int n = 0;
  if (m->cfg && m->cfg->train && !m->cfg->train->bn_eval)
    batchnorms(m, &n);
  return 2 * n;
}

/* In eval mode (--batchnorm eval) the running statistics stay constants. */
static bool batchnorm_options(driver_module *m, train_options *opt)
{
  int n;
  train_batchnorm *bns = batchnorms(m, &n);
  const char **names = IR_NEW_ARRAY(m->ctx, const char *, 2 * n);
  if (!bns || !names)
    return false;
  for (int k = 0; k < n; k++) {
    names[2 * k] = bns[k].mean;
    names[2 * k + 1] = bns[k].var;
  }
  if (m->cfg->train->bn_eval) {
    opt->frozen = names;
    opt->n_frozen = 2 * n;
  } else {
    opt->bns = bns;
    opt->n_bns = n;
  }
  opt->bn_momentum = m->cfg->train->bn_momentum;
  return true;
}

/* A dropout's ratio: its input 1 (opset 12 and later) or 0.5. */
static double dropout_ratio(const ir_graph *g, const ir_node *node)
{
  const ir_value *r = node->n_in > 1 && node->in[1] >= 0 ? &g->values[node->in[1]] : NULL;
  if (!r || !r->data)
    return 0.5;
  return r->type == IR_F64 ? *(const double *)r->data : r->type == IR_F32 ? *(const float *)r->data : 0.5;
}

static bool dropout_options(driver_module *m, train_options *opt)
{
  const ir_graph *g = m->graph;
  train_dropout *drops = IR_NEW_ARRAY(m->ctx, train_dropout, g ? g->n_nodes : 1);
  for (int k = 0; drops && g && k < g->n_nodes; k++) {
    const ir_node *node = &g->nodes[k];
    if (node->dead || node->op != GRAPH_OP_DROPOUT || node->out[0] < 0)
      continue;
    drops[opt->n_drops].output = ir_c_identifier(m->ctx, g->values[node->out[0]].name);
    drops[opt->n_drops++].ratio = dropout_ratio(g, node);
  }
  opt->drops = drops;
  return drops != NULL;
}

/* The layers (weight, bias names) whose biases --init draws. */
static const char **init_layers(const driver_module *m, int *n)
{
  const ir_graph *g = m->graph;
  const char **names = IR_NEW_ARRAY(m->ctx, const char *, g ? 2 * g->n_nodes : 1);
  *n = 0;
  for (int k = 0; names && g && k < g->n_nodes; k++) {
    const ir_node *node = &g->nodes[k];
    if (node->dead || (node->op != GRAPH_OP_CONV && node->op != GRAPH_OP_GEMM) || node->n_in < 3 || node->in[2] < 0)
      continue;
    names[2 * *n] = ir_c_identifier(m->ctx, g->values[node->in[1]].name);
    names[2 * (*n)++ + 1] = ir_c_identifier(m->ctx, g->values[node->in[2]].name);
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
  if (t->hyper[TRAIN_HYPER_SEED] >= 16777216) {
    aotc_error(m->ctx, noloc, "--seed: training takes a whole number below 2^24 (16777216)");
    return false;
  }
  int n_layers;
  const char **layers = init_layers(m, &n_layers);
  ir_func **funcs = IR_NEW_ARRAY(m->ctx, ir_func *, 3);
  if (!funcs || !layers || !batchnorm_options(m, &opt) || !dropout_options(m, &opt))
    return false;
  if (!train_init_values(m->ctx, m->ir->funcs[0], (train_init)t->init, (uint64_t)t->hyper[TRAIN_HYPER_SEED], layers,
                         n_layers) ||
      !train_build(m->ctx, m->ir->funcs[0], &opt, funcs))
    return false;
  m->ir->funcs = funcs;
  m->ir->n_funcs = 3;
  return true;
}

/* NAME_params_save and _load after the training functions (blob.c). */
bool driver_train_emit_blob(driver_module *m)
{
  const ir_func *init = m->plans[2].func;
  size_t n = strlen(init->name);
  const char *name = n > 5 ? ir_sprintf(m->ctx, "%.*s", (int)(n - 5), init->name) : NULL;
  return name && train_emit_blob(m->ctx, init, name, m->c_out, m->h_out);
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

const char *driver_option_value(aotc_ctx *ctx, int argc, char **argv, int *i, const char *name)
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
               words[0][0] == 'c' ? "cross_entropy, mse" : words[0][0] == 's' ? "sgd, adam, adamw"
               : words[0][0] == 'm' ? "model, kaiming, xavier" : "train, eval");
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
    int rc = number(ctx, name, driver_option_value(ctx, argc, argv, i, name), &t->hyper[slot]);
    t->given[slot] = rc > 0;
    return rc;
  }
  return 0;
}

int driver_parse_train_option(aotc_ctx *ctx, driver_train *t, int argc, char **argv, int *i)
{
  static const char *const losses[] = {"cross_entropy", "mse"};
  static const char *const optimizers[] = {"sgd", "adam", "adamw"};
  static const char *const inits[] = {"model", "kaiming", "xavier"};
  static const char *const bn_modes[] = {"train", "eval"};
  const char *a = argv[*i];
  double steps;
  if (!strcmp(a, "--train"))
    return (t->on = true), 1;
  if (!strcmp(a, "--ddp"))
    return (t->ddp = true), 1;
  if (is_opt(a, "--loss"))
    return choose(ctx, "--loss", driver_option_value(ctx, argc, argv, i, "--loss"), losses, 2, &t->loss);
  if (is_opt(a, "--optimizer"))
    return choose(ctx, "--optimizer", driver_option_value(ctx, argc, argv, i, "--optimizer"), optimizers, 3, &t->optimizer);
  if (is_opt(a, "--init"))
    return choose(ctx, "--init", driver_option_value(ctx, argc, argv, i, "--init"), inits, 3, &t->init);
  if (is_opt(a, "--batchnorm")) {
    int mode = 0, rc = choose(ctx, "--batchnorm", driver_option_value(ctx, argc, argv, i, "--batchnorm"), bn_modes, 2, &mode);
    t->bn_eval = mode == 1;
    return rc;
  }
  if (is_opt(a, "--bn-momentum")) {
    int rc = number(ctx, "--bn-momentum", driver_option_value(ctx, argc, argv, i, "--bn-momentum"), &t->bn_momentum);
    if (rc > 0 && t->bn_momentum > 1) {
      aotc_error(ctx, noloc, "--bn-momentum expects a number from 0 to 1");
      return -1;
    }
    t->bn_momentum_given = rc > 0;
    return rc;
  }
  if (is_opt(a, "--steps")) {
    int rc = number(ctx, "--steps", driver_option_value(ctx, argc, argv, i, "--steps"), &steps);
    if (rc > 0 && (steps < 1 || steps > 1e7 || steps != (int)steps)) {
      aotc_error(ctx, noloc, "--steps expects a whole number from 1 to 10000000");
      return -1;
    }
    t->steps = rc > 0 ? (int)steps : 0;
    return rc;
  }
  return hyper_option(ctx, t, argc, argv, i);
}

void driver_train_seed(driver_train *t, double seed)
{
  t->hyper[TRAIN_HYPER_SEED] = seed;
  t->given[TRAIN_HYPER_SEED] = true;
}

void driver_train_defaults(driver_train *t)
{
  bool adam = t->optimizer != TRAIN_SGD;
  double defaults[TRAIN_HYPER_COUNT] = {adam ? 1e-3 : 1e-2, adam ? 0.9 : 0, 0.999, 1e-8,
                                        t->optimizer == TRAIN_ADAMW ? 1e-2 : 0, 1, 0};
  for (int k = 0; k < TRAIN_HYPER_COUNT; k++)
    if (!t->given[k])
      t->hyper[k] = defaults[k];
  if (!t->steps)
    t->steps = 1;
  if (!t->bn_momentum_given)
    t->bn_momentum = 0.1;
}
