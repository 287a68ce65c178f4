/* plan.c: the select pass: which functions go on (--entry), the sizes
 * they are specialised to (--size) and the schedule options each one is
 * emitted with (--schedule, a tuned entry of --cache, else the heuristics). */
#include "pipeline.h"
#include "driver.h"
#include "../autotune/tune.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const ir_loc noloc;

/* The defs selected by --entry, in the order given (all when none). */
static ir_func **select_funcs(driver_module *m, int *n)
{
  const driver_config *cfg = m->cfg;
  *n = cfg->n_entries ? cfg->n_entries : m->ir->n_funcs;
  ir_func **fs = IR_NEW_ARRAY(m->ctx, ir_func *, *n);
  if (!fs)
    return NULL;
  for (int i = 0; i < *n; i++) {
    fs[i] = cfg->n_entries ? ir_module_find(m->ir, cfg->entries[i]) : m->ir->funcs[i];
    if (!fs[i]) {
      aotc_error(m->ctx, noloc, "no def named '%s' in '%s'", cfg->entries[i], m->path);
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
static int64_t *fixed_sizes(aotc_ctx *ctx, const driver_config *cfg, ir_func *const *fs, int n, int which)
{
  const ir_func *f = fs[which];
  int64_t *fixed = IR_NEW_ARRAY(ctx, int64_t, f->n_params);
  if (!fixed)
    return NULL;
  for (int p = 0; p < f->n_params; p++)
    fixed[p] = -1;
  for (int s = 0; s < cfg->n_sizes; s++)
    for (const char *spec = cfg->sizes[s]; spec;) {
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

static bool all_sizes_fixed(const ir_func *f, const int64_t *fixed)
{
  for (int p = 0; p < f->n_params; p++)
    if (!fixed || fixed[p] < 0)
      return false;
  return true;
}

/* --schedule TEXT: the options given on the command line; --threads, when
 * given too, overrides their thread count. NULL with an error when the text
 * does not parse. */
static const sched_options *given_schedule(aotc_ctx *ctx, const driver_config *cfg)
{
  sched_options *s = IR_NEW(ctx, sched_options);
  char err[256];
  if (!s)
    return NULL;
  if (!sched_options_parse(cfg->schedule, s, err, sizeof err)) {
    aotc_error(ctx, noloc, "--schedule: %s", err);
    return NULL;
  }
  if (cfg->threads)
    s->threads = cfg->threads;
  return s;
}

/* --target cuda or cuda-sim: the entry tuned on this machine's GPU or on
 * the simulator (the device's name, SM and CUDA versions in the key). */
static bool gpu_cache_find(aotc_ctx *ctx, const driver_config *cfg, const ir_func *f, const int64_t *fixed,
                           int threads, sched_options *s)
{
  bool sim = strcmp(cfg->target_name, "cuda") != 0;
  driver_cuda_device dev;
  tune_key key;
  if (!sim && !driver_gpu_present()) {
    if (cfg->verbose)
      aotc_note(ctx, noloc, "--cache with --target cuda: this machine has no GPU to key the entry on");
    return false;
  }
  if (!driver_cuda_device_get(ctx, sim, cfg->verbose, &dev) || !tune_key_make(ctx, f, fixed, threads, NULL, &key))
    return false;
  tune_key_for_gpu(&key, dev.name, dev.sm_major, dev.sm_minor, dev.runtime_version, dev.driver_version);
  return tune_cache_find_key(ctx, cfg->cache, &key, s);
}

/* The schedule options for f: --schedule, else a tuned entry of --cache,
 * else NULL (the heuristics for --threads; a note with -v). */
static const sched_options *schedule_of(aotc_ctx *ctx, const driver_config *cfg, const ir_func *f,
                                        const int64_t *fixed)
{
  if (cfg->schedule)
    return given_schedule(ctx, cfg);
  sched_options *s = cfg->cache ? IR_NEW(ctx, sched_options) : NULL;
  int threads = cfg->threads ? cfg->threads : 1;
  if (!s)
    return NULL;
  if (all_sizes_fixed(f, fixed) && (cfg->target_name ? gpu_cache_find(ctx, cfg, f, fixed, threads, s)
                                                       : tune_cache_find(ctx, cfg->cache, f, fixed, threads, NULL,
                                                                         cfg->cpu, s))) {
    if (cfg->verbose)
      aotc_note(ctx, noloc, "'%s': tuned schedule from '%s'", f->name, cfg->cache);
    return s;
  }
  if (cfg->verbose)
    aotc_note(ctx, noloc, "'%s': no entry in '%s' for these sizes, threads, CPU and compiler: heuristics", f->name,
              cfg->cache);
  return NULL;
}

bool driver_select(driver_module *m)
{
  int n;
  ir_func **fs = select_funcs(m, &n);
  m->plans = fs ? IR_NEW_ARRAY(m->ctx, driver_plan, n) : NULL;
  if (!m->plans)
    return false;
  for (int i = 0; i < n; i++) {
    m->plans[i].func = fs[i];
    if (!(m->plans[i].fixed = fixed_sizes(m->ctx, m->cfg, fs, n, i)))
      return false;
  }
  for (int i = 0; m->cfg->schedules && i < n; i++)
    m->plans[i].sched = schedule_of(m->ctx, m->cfg, fs[i], m->plans[i].fixed);
  m->n_plans = n;
  return !m->ctx->n_errors;
}
