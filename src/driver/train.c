/* train.c: the driver's side of training: the grad pass (NAME_grad for
 * every --grad NAME, src/ir/grad.h). */
#include "pipeline.h"
#include "grad.h"

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

bool driver_grad(driver_module *m)
{
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
