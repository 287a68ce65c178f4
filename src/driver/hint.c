/* hint.c: --size-hint NAME=V,...: a size-generic model with a fast path for
 * the sizes it is called with most. The backend then writes the model twice
 * into one file: read again with the named sizes at the hinted values
 * (fixed shapes, so every choice fixed-size code makes, such as the packed
 * convolutions of one image, is made for them) as NAME_<NAME><V>..., and
 * the size-generic function as NAME_generic; NAME, with the generic
 * signature, calls the first when a call's sizes are the hinted ones and the
 * second otherwise (src/emit_c/emit_dispatch.c). */
#include "pipeline.h"
#include "emit_dispatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const ir_loc noloc;

static int param_index(const ir_func *f, const char *name, size_t len)
{
  for (int p = 0; p < f->n_params; p++)
    if (strlen(f->param_names[p]) == len && !strncmp(f->param_names[p], name, len))
      return p;
  return -1;
}

/* One NAME=V of a --size-hint spec into hint[]; the rest of the spec, or
 * NULL at its end; *ok false (reported) when it is malformed. */
static const char *parse_one(aotc_ctx *ctx, const ir_func *f, const char *spec, int64_t *hint, bool *ok)
{
  const char *eq = strchr(spec, '='), *comma = strchr(spec, ',');
  if (!comma)
    comma = spec + strlen(spec);
  char *end = NULL;
  errno = 0;
  long long v = eq && eq < comma ? strtoll(eq + 1, &end, 10) : -1;
  int p = eq && eq < comma ? param_index(f, spec, (size_t)(eq - spec)) : -1;
  if (!eq || eq > comma || errno || end != comma || v < 0) {
    aotc_error(ctx, noloc, "--size-hint expects NAME=VALUE[,NAME=VALUE...] with VALUE >= 0, got '%s'", spec);
    *ok = false;
  } else if (p < 0) {
    aotc_error(ctx, noloc, "--size-hint: '%.*s' is no named size of '%s'", (int)(eq - spec), spec, f->name);
    *ok = false;
  } else
    hint[p] = v;
  return *comma ? comma + 1 : NULL;
}

/* The hinted value of every size parameter of f; NULL (reported) unless
 * each has one. */
static int64_t *parse_hint(aotc_ctx *ctx, const driver_config *cfg, const ir_func *f)
{
  int64_t *hint = IR_NEW_ARRAY(ctx, int64_t, f->n_params ? f->n_params : 1);
  bool ok = hint != NULL;
  for (int p = 0; ok && p < f->n_params; p++)
    hint[p] = -1;
  for (int s = 0; ok && s < cfg->n_size_hints; s++)
    for (const char *spec = cfg->size_hints[s]; ok && spec;)
      spec = parse_one(ctx, f, spec, hint, &ok);
  for (int p = 0; ok && p < f->n_params; p++)
    if (hint[p] < 0) {
      aotc_error(ctx, noloc, "--size-hint gives no value for the named size '%s' of '%s'", f->param_names[p],
                 f->name);
      ok = false;
    }
  return ok ? hint : NULL;
}

/* NAME_N1_T16: the fast entry's name. */
static const char *fast_name(aotc_ctx *ctx, const char *name, const ir_func *f, const int64_t *hint)
{
  const char *s = name;
  for (int p = 0; s && p < f->n_params; p++)
    s = ir_sprintf(ctx, "%s_%s%lld", s, f->param_names[p], (long long)hint[p]);
  return s;
}

/* The model read again with its named sizes at hint[], through the whole
 * pipeline, as `name`, into m's files. */
static bool emit_fast(driver_module *m, const char *name, const int64_t *hint)
{
  driver_module fm;
  driver_module_init(&fm, m->ctx, m->cfg, m->path, m->source, m->source_len);
  fm.func_name = name;
  fm.weights_as_params = m->weights_as_params;
  fm.given = onnx_sizes_given(m->sizes, hint, &fm.n_given);
  fm.c_out = m->c_out;
  fm.h_out = m->h_out;
  fm.c_path = m->c_path;
  fm.h_path = m->h_path;
  fm.header_name = m->header_name;
  fm.dump_after = m->dump_after;
  if (!fm.given || !driver_run_until(&fm, "select"))
    return false;
  if (fm.n_plans != 1 || fm.plans[0].func->n_params) {
    aotc_error(m->ctx, noloc, "--size-hint: '%s' at the hinted sizes still has named sizes", name);
    return false;
  }
  return driver_run_after(&fm, "select");
}

static bool hint_applies(driver_module *m)
{
  if (m->kind != DRIVER_INPUT_ONNX || m->n_plans != 1 || !m->sizes || !m->plans[0].func->n_params) {
    aotc_error(m->ctx, noloc, "--size-hint applies to one model with named sizes (dim_param or --shape with names)");
    return false;
  }
  if (m->cfg->weights || m->cfg->n_sizes) {
    aotc_error(m->ctx, noloc, "--size-hint cannot be combined with %s", m->cfg->weights ? "--weights" : "--size");
    return false;
  }
  return true;
}

bool driver_emit_hinted(driver_module *m)
{
  if (!hint_applies(m))
    return false;
  ir_func *f = m->plans[0].func;
  const char *name = f->name;
  int64_t *hint = parse_hint(m->ctx, m->cfg, f);
  const char *fast = hint ? fast_name(m->ctx, name, f, hint) : NULL;
  const char *generic = ir_sprintf(m->ctx, "%s_generic", name);
  if (!fast || !generic || !emit_fast(m, fast, hint))
    return false;
  f->name = generic;
  if (!driver_run_after(m, "select"))
    return false;
  const char **size_c = IR_NEW_ARRAY(m->ctx, const char *, f->n_params);
  for (int p = 0; size_c && p < f->n_params; p++)
    if (!(size_c[p] = ir_c_name(m->ctx, f->param_names[p], NULL, 0)))
      return false;
  if (!size_c)
    return false;
  emit_dispatch d = {.name = name, .fast = fast, .generic = generic, .func = f, .hint = hint, .size_c = size_c,
                     .tg = &emit_target_c};
  emit_dispatch_print(&d, m->c_out, m->h_out);
  return true;
}
