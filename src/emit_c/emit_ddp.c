/* emit_ddp.c: the gradient-synchronisation calls of a data-parallel
 * training step in the emitted C (emit_ddp.h). Each call is
 *
 *   if (aotc_ddp_grad_ready(SLOT, d_p, COUNT) != 0)
 *     return 5;
 *
 * (aotc_ddp_grad_wait likewise) between two kernels; the hooks are
 * declared in the header, defined by runtime/aotc_ddp.c or the caller. */
#include "emit_ddp.h"

static const char hook_decls[] =
    "#ifndef AOTC_DDP_HOOKS\n"
    "#define AOTC_DDP_HOOKS\n"
    "/* Gradient synchronisation (aotc train --ddp, docs/ddp.md): defined by\n"
    " * runtime/aotc_ddp.c (MPI) or by the caller; 0 on success. */\n"
    "int aotc_ddp_grad_ready(int slot, float *grad, int64_t count);\n"
    "int aotc_ddp_grad_wait(int slot, float *grad, int64_t count);\n"
    "#endif\n";

static bool starts_kernel(const emit_fn *E, int before)
{
  if (before == E->f->n_stmts)
    return true;
  for (int i = 0; i < E->pf->n_kernels; i++)
    if (E->pf->kernels[i].first == before)
      return true;
  return false;
}

bool emit_ddp_check(emit_fn *E)
{
  const ir_func *f = E->f;
  if (!f->n_syncs)
    return true;
  const char *why = emit_target_is_gpu(E->em->tg) ? "a GPU target" : f->body ? "control flow" : NULL;
  for (int k = 0; !why && k < f->n_syncs; k++)
    if (!starts_kernel(E, f->syncs[k].before))
      why = "a synchronisation inside a kernel";
  if (why)
    aotc_error(E->em->plan->ctx, f->loc, "%s: --ddp does not support %s", f->name, why);
  return why == NULL;
}

static int64_t numel(const ir_tensor *x)
{
  int64_t n = 1, d;
  for (int j = 0; j < x->rank; j++)
    n *= ir_size_is_const(x->shape[j], &d) ? d : 0;
  return n;
}

void emit_ddp_print_calls(emit_fn *E, int before)
{
  for (int k = 0; k < E->f->n_syncs; k++) {
    const ir_sync *s = &E->f->syncs[k];
    if (s->before != before)
      continue;
    emit_line(E, "if (aotc_ddp_grad_%s(%d, %s, %lld) != 0)", s->wait ? "wait" : "ready", s->slot,
              E->tensor_c[s->tensor], (long long)numel(E->f->tensors[s->tensor]));
    emit_line(E, "  return %d;", EMIT_DDP_HOOK_FAILED);
  }
}

/* The position of tensor t among f's outputs (a step's parameters come
 * first), -1 when absent. */
static int output_position(const ir_func *f, int t)
{
  for (int i = 0; i < f->n_outputs; i++)
    if (f->outputs[i] == t)
      return i;
  return -1;
}

/* The ready call of a slot. */
static const ir_sync *ready_of(const ir_func *f, int slot)
{
  for (int k = 0; k < f->n_syncs; k++)
    if (!f->syncs[k].wait && f->syncs[k].slot == slot)
      return &f->syncs[k];
  return NULL;
}

void emit_ddp_print_tables(FILE *c, FILE *h, const ir_func *f, const char *name)
{
  int n = f->n_syncs / 2;
  if (!n)
    return;
  fputs(hook_decls, h);
  fprintf(h, "/* The gradients in the order they become final (the hooks' slots): their\n"
             " * elements, and the position of their parameter among the outputs. */\n");
  fprintf(h, "#define %s_DDP_GRADS %d\n", name, n);
  fprintf(h, "extern const int64_t %s_ddp_numel[%d];\nextern const int %s_ddp_param[%d];\n", name, n, name, n);
  fprintf(c, "const int64_t %s_ddp_numel[%d] = {", name, n);
  for (int slot = 0; slot < n; slot++)
    fprintf(c, "%s%lld", slot ? ", " : "", (long long)numel(f->tensors[ready_of(f, slot)->tensor]));
  fprintf(c, "};\nconst int %s_ddp_param[%d] = {", name, n);
  for (int slot = 0; slot < n; slot++)
    fprintf(c, "%s%d", slot ? ", " : "", output_position(f, ready_of(f, slot)->param));
  fputs("};\n\n", c);
}
