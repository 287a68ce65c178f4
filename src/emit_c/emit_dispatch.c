/* emit_dispatch.c: the entry of a model compiled with --size-hint. The
 * model is emitted twice into one file, as NAME_<hint> specialised to the
 * hinted sizes (fixed shapes: every fast path of fixed-size code) and as
 * NAME_generic; NAME, with the generic signature, calls the first when the
 * call's sizes are the hinted ones and the second otherwise. The same for
 * NAME_workspace_bytes and the packed NAME_call forms. */
#include "emit_dispatch.h"

static bool is_scalar_input(const ir_func *f, int t)
{
  return f->tensors[t]->rank == 0 && f->tensors[t]->role == IR_INPUT;
}

/* int64_t N, ..., const float *a0, ..., float *aK, void *workspace */
static void print_params(const emit_dispatch *d, FILE *out)
{
  const ir_func *f = d->func;
  for (int p = 0; p < f->n_params; p++)
    fprintf(out, "int64_t %s, ", d->size_c[p]);
  for (int i = 0; i < f->n_inputs; i++) {
    int t = f->inputs[i];
    const char *ty = d->tg->type_name[f->tensors[t]->type];
    fprintf(out, is_scalar_input(f, t) ? "%s a%d, " : "const %s *a%d, ", ty, i);
  }
  for (int i = 0; i < f->n_outputs; i++)
    fprintf(out, "%s *a%d, ", d->tg->type_name[f->tensors[f->outputs[i]]->type], f->n_inputs + i);
  fputs("void *workspace", out);
}

/* N, ..., a0, ..., workspace (sizes left out for the fast entry) */
static void print_args(const emit_dispatch *d, FILE *out, bool sizes)
{
  const ir_func *f = d->func;
  for (int p = 0; sizes && p < f->n_params; p++)
    fprintf(out, "%s, ", d->size_c[p]);
  for (int i = 0; i < f->n_inputs + f->n_outputs; i++)
    fprintf(out, "a%d, ", i);
  fputs("workspace", out);
}

static void print_size_params(const emit_dispatch *d, FILE *out)
{
  for (int p = 0; p < d->func->n_params; p++)
    fprintf(out, "%sint64_t %s", p ? ", " : "", d->size_c[p]);
}

static void print_size_args(const emit_dispatch *d, FILE *out)
{
  for (int p = 0; p < d->func->n_params; p++)
    fprintf(out, "%s%s", p ? ", " : "", d->size_c[p]);
}

/* `  if (N == 1 && T == 16)`, or with sizes[p] for the packed form */
static void print_hit(const emit_dispatch *d, FILE *out, bool packed)
{
  fputs("  if (", out);
  for (int p = 0; p < d->func->n_params; p++) {
    fputs(p ? " && " : "", out);
    if (packed)
      fprintf(out, "sizes[%d]", p);
    else
      fputs(d->size_c[p], out);
    fprintf(out, " == %lld", (long long)d->hint[p]);
  }
  fputs(")\n", out);
}

static void print_prototypes(const emit_dispatch *d, FILE *out)
{
  fprintf(out, "int %s(", d->name);
  print_params(d, out);
  fprintf(out, ");\nsize_t %s_workspace_bytes(", d->name);
  print_size_params(d, out);
  fprintf(out, ");\nint %s_call(const int64_t *sizes, void *const *args, void *workspace);\n", d->name);
  fprintf(out, "size_t %s_call_workspace_bytes(const int64_t *sizes);\n", d->name);
}

/* The generic entry's input/output tables under NAME's names. */
static void print_table_aliases(const emit_dispatch *d, FILE *out)
{
  static const char *const what[] = {"NUM_INPUTS", "NUM_PARAMS", "NUM_OUTPUTS", "inputs", "params", "outputs"};
  for (int i = 0; i < 6; i++)
    fprintf(out, "#define %s_%s %s_%s\n", d->name, what[i], d->generic, what[i]);
}

static void print_header_part(const emit_dispatch *d, FILE *h)
{
  fprintf(h, "#ifndef AOTC_DISPATCH_H_%s\n#define AOTC_DISPATCH_H_%s\n\n%s", d->name, d->name, d->tg->header_open);
  print_prototypes(d, h);
  print_table_aliases(d, h);
  fprintf(h, "%s\n#endif\n", d->tg->header_close);
}

static void print_entry(const emit_dispatch *d, FILE *c)
{
  fprintf(c, "int %s(", d->name);
  print_params(d, c);
  fputs(")\n{\n", c);
  print_hit(d, c, false);
  fprintf(c, "    return %s(", d->fast);
  print_args(d, c, false);
  fprintf(c, ");\n  return %s(", d->generic);
  print_args(d, c, true);
  fputs(");\n}\n\n", c);
}

static void print_workspace_bytes(const emit_dispatch *d, FILE *c)
{
  fprintf(c, "size_t %s_workspace_bytes(", d->name);
  print_size_params(d, c);
  fputs(")\n{\n", c);
  print_hit(d, c, false);
  fprintf(c, "    return %s_workspace_bytes();\n  return %s_workspace_bytes(", d->fast, d->generic);
  print_size_args(d, c);
  fputs(");\n}\n\n", c);
}

/* NAME_call and NAME_call_workspace_bytes: the same choice on sizes[]. */
static void print_packed(const emit_dispatch *d, FILE *c)
{
  fprintf(c, "int %s_call(const int64_t *sizes, void *const *args, void *workspace)\n{\n", d->name);
  print_hit(d, c, true);
  fprintf(c, "    return %s_call(sizes, args, workspace);\n", d->fast);
  fprintf(c, "  return %s_call(sizes, args, workspace);\n}\n\n", d->generic);
  fprintf(c, "size_t %s_call_workspace_bytes(const int64_t *sizes)\n{\n", d->name);
  print_hit(d, c, true);
  fprintf(c, "    return %s_call_workspace_bytes(sizes);\n", d->fast);
  fprintf(c, "  return %s_call_workspace_bytes(sizes);\n}\n", d->generic);
}

void emit_dispatch_print(const emit_dispatch *d, FILE *c, FILE *h)
{
  print_header_part(d, h);
  fprintf(c, "\n/* %s: the code for the hinted sizes (%s) when the call has them, else %s. */\n", d->name, d->fast,
          d->generic);
  print_entry(d, c);
  print_workspace_bytes(d, c);
  print_packed(d, c);
}
