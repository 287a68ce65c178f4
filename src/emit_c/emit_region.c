/* emit_region.c: the entry's body of a function with regions (ir.h): its
 * kernels, in order, inside the `if` and `for` statements its branches and
 * loops become. A loop's bound is read once from its trip-count tensor (or
 * is a constant); its condition is read before every iteration. */
#include "emit_print.h"

/* Element 0 of a control tensor: a scalar input is passed by value. */
static const char *control_text(emit_fn *E, int t)
{
  const ir_tensor *T = E->f->tensors[t];
  if (T->rank == 0 && T->role == IR_INPUT)
    return E->tensor_c[t];
  return ir_sprintf(E->em->plan->ctx, "%s[0]", E->tensor_c[t]);
}

static void print_region(emit_fn *E, const ir_region *r, int depth);

static void print_leaf(emit_fn *E, const ir_region *r)
{
  for (int i = 0; i < E->pf->n_kernels; i++)
    if (E->pf->kernels[i].first >= r->first && E->pf->kernels[i].first < r->end)
      emit_print_kernel(E, i);
}

static void print_if(emit_fn *E, const ir_region *r, int depth)
{
  emit_open_block(E, "if (%s != 0)", control_text(E, r->cond));
  print_region(E, r->children[0], depth);
  E->indent--;
  emit_open_block(E, "} else");
  print_region(E, r->children[1], depth);
  emit_close_block(E);
}

/* { const int64_t aotc_tripD = N; for (int64_t aotc_iterD = 0; aotc_iterD < aotc_tripD && cond; aotc_iterD++) { ... } } */
static void print_loop(emit_fn *E, const ir_region *r, int depth)
{
  const char *cond = r->cond >= 0 ? ir_sprintf(E->em->plan->ctx, "%s != 0", control_text(E, r->cond)) : NULL;
  if (r->trip < 0 && r->max_trip < 0) {
    emit_open_block(E, "while (%s)", cond);
  } else {
    emit_line(E, "{");
    E->indent++;
    if (r->trip >= 0)
      emit_line(E, "const int64_t aotc_trip%d = (int64_t)%s;", depth, control_text(E, r->trip));
    else
      emit_line(E, "const int64_t aotc_trip%d = (int64_t)%lld;", depth, (long long)r->max_trip);
    emit_open_block(E, "for (int64_t aotc_iter%d = 0; aotc_iter%d < aotc_trip%d%s%s; aotc_iter%d++)", depth, depth,
                    depth, cond ? " && " : "", cond ? cond : "", depth);
  }
  print_region(E, r->children[0], depth + 1);
  emit_close_block(E);
  if (r->trip >= 0 || r->max_trip >= 0)
    emit_close_block(E);
}

static void print_region(emit_fn *E, const ir_region *r, int depth)
{
  switch (r->kind) {
  case IR_REGION_STMTS:
    print_leaf(E, r);
    return;
  case IR_REGION_SEQ:
    for (int k = 0; k < r->n_children; k++)
      print_region(E, r->children[k], depth);
    return;
  case IR_REGION_IF:
    print_if(E, r, depth);
    return;
  case IR_REGION_LOOP:
    print_loop(E, r, depth);
    return;
  }
}

void emit_region_print(emit_fn *E, const ir_region *r)
{
  print_region(E, r, 0);
}

void emit_region_mark_reads(const ir_region *r, bool *is_read)
{
  if (!r)
    return;
  if (r->cond >= 0)
    is_read[r->cond] = true;
  if (r->trip >= 0)
    is_read[r->trip] = true;
  for (int k = 0; k < r->n_children; k++)
    emit_region_mark_reads(r->children[k], is_read);
}
