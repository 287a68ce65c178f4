/* emit_abi.c: the entry ABI of the emitted code (README "Emitted C"): the
 * signature, size checks, computed dimensions, the workspace (its size
 * function, the constant for static allocation, the temporaries' pointers
 * into it, the per-call memory plan) and the packed NAME_call form for FFI. */
#include "emit_print.h"
#include "emit_model.h"

/* memplan.c's placement in the emitted code, run at each call of a function
 * whose temporaries' sizes depend on size parameters. Temporary i < n lives
 * from kernel live[i][0] to live[i][1] and takes p[i] bytes (a multiple of
 * 64); its offset goes to p[n + i]; p[2n..6n) is scratch (trial offsets, the
 * order, the placed temporaries by offset, the best order). Three orders
 * (largest first; earliest first; largest size x lifetime first; ties by
 * size, then first kernel, then number), each placed at the lowest offsets
 * that keep temporaries live in one kernel apart; then up to 16 rounds that
 * move the temporary ending highest to the front of the best order while the
 * workspace shrinks. The smallest workspace wins and is returned. O(n^2)
 * integer operations a placement (usually four), no allocation. */
const char emit_abi_ws_plan_text[] =
    "size_t aotc_ws_plan(int n, const int live[][2], size_t *p)\n"
    "{\n"
    "  size_t *bytes = p, *off = p + n, *at = p + 2 * n, *ord = p + 3 * n, *by_at = p + 4 * n, *keep = p + 5 * n, best = 0;\n"
    "  for (int step = 0; step < 3 + 16 && (step < 3 || n > 0); step++) {\n"
    "    if (step < 3) {\n"
    "      for (int i = 0; i < n; i++) {\n"
    "        double ki = step == 0 ? 0 : step == 1 ? live[i][0] : -(double)bytes[i] * (live[i][1] - live[i][0] + 1);\n"
    "        int j = i;\n"
    "        for (; j > 0; j--) {\n"
    "          size_t y = ord[j - 1];\n"
    "          double ky = step == 0 ? 0 : step == 1 ? live[y][0] : -(double)bytes[y] * (live[y][1] - live[y][0] + 1);\n"
    "          if (ky < ki || (ky == ki && (bytes[y] > bytes[i] || (bytes[y] == bytes[i] && live[y][0] <= live[i][0]))))\n"
    "            break;\n"
    "          ord[j] = y;\n"
    "        }\n"
    "        ord[j] = (size_t)i;\n"
    "      }\n"
    "    } else {\n"
    "      int t = 0;\n"
    "      for (int k = 0; k < n; k++) {\n"
    "        ord[k] = keep[k];\n"
    "        if (off[ord[k]] + bytes[ord[k]] > off[ord[t]] + bytes[ord[t]])\n"
    "          t = k;\n"
    "      }\n"
    "      size_t x = ord[t];\n"
    "      for (; t > 0; t--)\n"
    "        ord[t] = ord[t - 1];\n"
    "      ord[0] = x;\n"
    "    }\n"
    "    size_t top = 0;\n"
    "    for (int k = 0; k < n; k++) {\n"
    "      size_t x = ord[k], o = 0;\n"
    "      int w = 0;\n"
    "      for (; w < k && at[by_at[w]] < o + bytes[x]; w++) {\n"
    "        size_t y = by_at[w];\n"
    "        if (live[y][0] <= live[x][1] && live[x][0] <= live[y][1] && at[y] + bytes[y] > o)\n"
    "          o = at[y] + bytes[y];\n"
    "      }\n"
    "      at[x] = o;\n"
    "      for (w = k; w > 0 && at[by_at[w - 1]] > o; w--)\n"
    "        by_at[w] = by_at[w - 1];\n"
    "      by_at[w] = x;\n"
    "      top = o + bytes[x] > top ? o + bytes[x] : top;\n"
    "    }\n"
    "    if (step == 0 || top < best) {\n"
    "      best = top;\n"
    "      for (int i = 0; i < n; i++) {\n"
    "        off[i] = at[i];\n"
    "        keep[i] = ord[i];\n"
    "      }\n"
    "    } else if (step >= 3) {\n"
    "      break;\n"
    "    }\n"
    "  }\n"
    "  return best;\n"
    "}\n";


int64_t emit_abi_const_numel(const ir_tensor *T)
{
  int64_t n = 1, d;
  for (int j = 0; j < T->rank; j++) {
    const ir_size *s = T->shape[j];
    if (!s || !ir_size_is_const(s, &d) || d < 0 || __builtin_mul_overflow(n, d, &n))
      return -1;
  }
  return n;
}


/* Does the entry pack contractions into workspace buffers (the CPU's
 * micro-kernel path; CUDA's contractions tile in shared memory)? */
static bool packs(const emit_fn *E)
{
  return E->pf->n_contr > 0 && !emit_target_is_gpu(E->em->tg);
}

/* Does the workspace hold more than the temporaries: the CPU's packing
 * buffers or the split reductions' partial results (CUDA), after them? */
static bool has_scratch(const emit_fn *E)
{
  return packs(E) || E->part_bytes > 0;
}

static bool is_scalar_input(const ir_func *f, int t)
{
  return f->tensors[t]->rank == 0 && f->tensors[t]->role == IR_INPUT;
}

static void print_size_params(emit_fn *E)
{
  for (int p = 0; p < E->f->n_params; p++)
    fprintf(E->out, "%sint64_t %s", p ? ", " : "", E->param_c[p]);
  if (E->f->n_params == 0)
    fputs("void", E->out);
}

/* `int NAME(int64_t M, ..., const float *A, ..., float *C, ..., void *workspace)` */
static void print_signature(emit_fn *E)
{
  const ir_func *f = E->f;
  const char *q = E->em->tg->fn_qualifier[EMIT_FN_ENTRY], *rp = E->em->tg->restrict_ptr;
  fprintf(E->out, "%s%sint %s(", q, *q ? " " : "", E->name);
  for (int p = 0; p < f->n_params; p++)
    fprintf(E->out, "int64_t %s, ", E->param_c[p]);
  for (int i = 0; i < f->n_inputs; i++) {
    int t = f->inputs[i];
    if (is_scalar_input(f, t))
      fprintf(E->out, "%s %s, ", emit_type_name(E, f->tensors[t]->type), E->tensor_c[t]);
    else
      fprintf(E->out, "const %s *%s%s, ", emit_type_name(E, f->tensors[t]->type), rp, E->tensor_c[t]);
  }
  for (int i = 0; i < f->n_outputs; i++)
    fprintf(E->out, "%s *%s%s, ", emit_type_name(E, f->tensors[f->outputs[i]]->type), rp, E->tensor_c[f->outputs[i]]);
  fprintf(E->out, "void *workspace%s)", E->em->tg->entry_extra_param);
}

static int64_t ws_size(int64_t bytes)
{
  return bytes == 0 ? 64 : (bytes + 63) / 64 * 64;
}

/* The workspace size of an entry without size parameters; -1 if unknown. */
static int64_t static_temp_bytes(const ir_func *f)
{
  int64_t total = 0;
  if (f->n_params > 0)
    return -1;
  if (f->memory_planned)
    return f->workspace_bytes;
  for (int t = 0; t < f->n_tensors; t++) {
    int64_t n = emit_abi_const_numel(f->tensors[t]);
    if (f->tensors[t]->role != IR_TEMP)
      continue;
    if (n < 0 || n > INT64_MAX / 16)
      return -1;
    total += ws_size(n * ir_types[f->tensors[t]->type].bytes);
  }
  return total;
}

static bool has_temps(const ir_func *f);

/* The workspace of an entry without size parameters; -1 if unknown. */
static int64_t static_workspace_bytes(const emit_fn *E)
{
  if (E->f->n_params > 0)
    return -1;
  int64_t temps = static_temp_bytes(E->f), pack = emit_ukernel_static_pack_bytes(E);
  if (temps < 0 || pack < 0)
    return -1;
  if (!has_scratch(E))
    return temps;
  return (has_temps(E->f) ? ws_size(temps) : 0) + (packs(E) ? pack : 0) + E->part_bytes;
}

/* #define NAME_WORKSPACE_BYTES for static allocation. */
static void print_workspace_constant(emit_fn *E)
{
  int64_t n = static_workspace_bytes(E);
  if (n >= 0)
    fprintf(E->out, "#define %s_WORKSPACE_BYTES ((size_t)%lld)\n", E->name, (long long)n);
}

void emit_abi_print_prototypes(emit_fn *E)
{
  emit_checks_print_note(E);
  print_signature(E);
  fprintf(E->out, ";\nsize_t %s_workspace_bytes(", E->name);
  print_size_params(E);
  fprintf(E->out, ");\nint %s_call(const int64_t *sizes, void *const *args, void *workspace%s);\n", E->name,
          E->em->tg->entry_extra_param);
  fprintf(E->out, "size_t %s_call_workspace_bytes(const int64_t *sizes);\n", E->name);
  print_workspace_constant(E);
}

static int first_temp(const ir_func *f)
{
  for (int t = 0; t < f->n_tensors; t++)
    if (f->tensors[t]->role == IR_TEMP)
      return t;
  return -1;
}

static bool has_temps(const ir_func *f)
{
  return first_temp(f) >= 0;
}

/* if (M < 0 || N != 64) return FAIL; */
static void print_param_check(emit_fn *E, const char *fail)
{
  const int64_t *fixed = E->em->plan->opt->fixed_sizes;
  if (E->f->n_params == 0)
    return;
  fputs("  if (", E->out);
  for (int p = 0; p < E->f->n_params; p++) {
    fputs(p ? " || " : "", E->out);
    if (fixed && fixed[p] >= 0)
      fprintf(E->out, "%s != %lld", E->param_c[p], (long long)fixed[p]);
    else
      fprintf(E->out, "%s < 0", E->param_c[p]);
  }
  for (int c = 0; c < E->f->n_checks; c++) {
    fputs(" || ", E->out);
    emit_print_size(E, E->f->checks[c]);
    fputs(" < 0", E->out);
  }
  fprintf(E->out, ")\n    return %s;\n", fail);
}

/* Computed dimensions (untyped outputs, temporaries) as checked locals. */
static void print_dim_locals(emit_fn *E, const char *fail)
{
  bool any = false;
  for (int t = 0; t < E->f->n_tensors; t++)
    for (int j = 0; j < E->f->tensors[t]->rank; j++)
      if (E->dim[t][j]) {
        fprintf(E->out, "  const int64_t %s = ", E->dim[t][j]);
        emit_print_size(E, E->f->tensors[t]->shape[j]);
        fputs(";\n", E->out);
        any = true;
      }
  if (!any)
    return;
  fputs("  if (", E->out);
  const char *sep = "";
  for (int t = 0; t < E->f->n_tensors; t++)
    for (int j = 0; j < E->f->tensors[t]->rank; j++)
      if (E->dim[t][j]) {
        fprintf(E->out, "%s%s < 0", sep, E->dim[t][j]);
        sep = " || ";
      }
  fprintf(E->out, ")\n    return %s;\n", fail);
}

/* aotc_ws_size(bytes of temporary t) */
static void print_temp_bytes(emit_fn *E, int t)
{
  const ir_tensor *T = E->f->tensors[t];
  E->em->helper[EMIT_H_WS_SIZE] = true;
  fputs("aotc_ws_size(", E->out);
  for (int j = 0; j < T->rank; j++) {
    fputs("(size_t)", E->out);
    emit_print_dim(E, t, j);
    fputs(" * ", E->out);
  }
  fprintf(E->out, "sizeof(%s))", emit_type_name(E, T->type));
}

/* Sum of the workspace sizes of the temporaries before temporary `before`. */
static void print_temp_offset(emit_fn *E, int before)
{
  bool any = false;
  for (int t = 0; t < before; t++)
    if (E->f->tensors[t]->role == IR_TEMP) {
      fputs(any ? " + " : "", E->out);
      print_temp_bytes(E, t);
      any = true;
    }
  if (!any)
    fputc('0', E->out);
}

static int count_temps(const ir_func *f)
{
  int n = 0;
  for (int t = 0; t < f->n_tensors; t++)
    n += f->tensors[t]->role == IR_TEMP;
  return n;
}

static bool planned_per_call(const ir_func *f)
{
  return !f->memory_planned && f->memory_planned_per_call && count_temps(f) > 0;
}

/* static const int aotc_live_NAME[n][2] = {{first, last}, ...}; the
 * temporaries' lifetimes in kernels, in tensor order. */
static void print_live_table(emit_fn *E)
{
  const ir_func *f = E->f;
  fprintf(E->out, "static const int aotc_live_%s[%d][2] = {", E->name, count_temps(f));
  for (int t = 0, i = 0; t < f->n_tensors; t++)
    if (f->tensors[t]->role == IR_TEMP)
      fprintf(E->out, "%s{%d, %d}", i++ ? ", " : "", f->tensors[t]->live_first, f->tensors[t]->live_last);
  fputs("};\n\n", E->out);
}

/* The temporaries' sizes of this call into aotc_plan, and their placement:
 * aotc_plan[n + i] is the offset of temporary i, aotc_temps their bytes. */
static void print_per_call_plan(emit_fn *E)
{
  int n = count_temps(E->f);
  E->em->helper[EMIT_H_WS_PLAN] = true;
  fprintf(E->out, "  size_t aotc_plan[6 * %d];\n", n);
  for (int t = 0, i = 0; t < E->f->n_tensors; t++)
    if (E->f->tensors[t]->role == IR_TEMP) {
      fprintf(E->out, "  aotc_plan[%d] = ", i++);
      print_temp_bytes(E, t);
      fputs(";\n", E->out);
    }
  fprintf(E->out, "  const size_t aotc_temps = aotc_ws_plan(%d, aotc_live_%s, aotc_plan);\n", n, E->name);
  fputs("  (void)aotc_temps;\n", E->out);
}

/* Bytes of the temporaries: where the packing buffers start. */
static void print_temps_total(emit_fn *E)
{
  if (!has_temps(E->f))
    fputc('0', E->out);
  else if (planned_per_call(E->f))
    fputs("aotc_temps", E->out);
  else if (E->f->memory_planned)
    fprintf(E->out, "%lld", (long long)ws_size(E->f->workspace_bytes));
  else
    print_temp_offset(E, E->f->n_tensors);
}

void emit_abi_print_workspace_bytes(emit_fn *E)
{
  if (planned_per_call(E->f))
    print_live_table(E);
  fprintf(E->out, "size_t %s_workspace_bytes(", E->name);
  print_size_params(E);
  fputs(")\n{\n", E->out);
  if (!has_temps(E->f) && !has_scratch(E)) {
    for (int p = 0; p < E->f->n_params; p++)
      fprintf(E->out, "  (void)%s;\n", E->param_c[p]);
    fputs("  return 0;\n}\n\n", E->out);
    return;
  }
  print_param_check(E, "0");
  if (E->f->memory_planned && !has_scratch(E)) {
    fprintf(E->out, "  return %lld;\n}\n\n", (long long)E->f->workspace_bytes);
    return;
  }
  if (!E->f->memory_planned)
    print_dim_locals(E, "0");
  if (planned_per_call(E->f))
    print_per_call_plan(E);
  fputs("  return ", E->out);
  print_temps_total(E);
  if (packs(E)) {
    fputs(" + ", E->out);
    emit_ukernel_print_pack_bytes(E);
  }
  if (E->part_bytes > 0)
    fprintf(E->out, " + %lld", (long long)E->part_bytes);
  fputs(";\n}\n\n", E->out);
}

/* T *X = (T *)(void *)((unsigned char *)workspace + offset); for temporary
 * t, the i-th of the function. */
static void print_temp_pointer(emit_fn *E, int t, int i)
{
  const char *ty = emit_type_name(E, E->f->tensors[t]->type);
  fprintf(E->out, "  %s *%s = (%s *)", ty, E->tensor_c[t], ty);
  if (planned_per_call(E->f))
    fprintf(E->out, "(void *)((unsigned char *)workspace + aotc_plan[%d]);\n", count_temps(E->f) + i);
  else if (E->f->memory_planned)
    fprintf(E->out, "(void *)((unsigned char *)workspace + %lld);\n", (long long)E->f->tensors[t]->ws_offset);
  else if (first_temp(E->f) == t)
    fputs("workspace;\n", E->out);
  else {
    fputs("(void *)((unsigned char *)workspace + ", E->out);
    print_temp_offset(E, t);
    fputs(");\n", E->out);
  }
}

/* The temporaries that are views or hold one (src/graph/views.c): their
 * copies are gone, so their pointers may have no use left. NULL: none or
 * out of memory (the (void)s are then left out). */
static bool *view_shared(emit_fn *E)
{
  const ir_func *f = E->f;
  bool *shared = IR_NEW_ARRAY(E->em->plan->ctx, bool, f->n_tensors);
  for (int u = 0; shared && u < f->n_tensors; u++)
    if (f->tensors[u]->role == IR_TEMP && f->tensors[u]->view) {
      shared[u] = true;
      if (f->tensors[u]->view_of >= 0 && f->tensors[u]->view_of < f->n_tensors)
        shared[f->tensors[u]->view_of] = true;
    }
  return shared;
}

static void print_temp_pointers(emit_fn *E)
{
  if (!has_temps(E->f) && !has_scratch(E)) {
    fputs("  (void)workspace;\n", E->out);
    return;
  }
  fputs("  if (workspace == NULL)\n    return 2;\n", E->out);
  if (planned_per_call(E->f))
    print_per_call_plan(E);
  if (packs(E)) {
    fputs("  float *aotc_pack = (float *)(void *)((unsigned char *)workspace + ", E->out);
    print_temps_total(E);
    fputs(");\n", E->out);
  }
  if (E->part_bytes > 0) {
    fputs("  double *aotc_part_mem = (double *)(void *)((unsigned char *)workspace + ", E->out);
    print_temps_total(E);
    fputs(");\n", E->out);
  }
  bool *shared = view_shared(E);
  for (int t = 0, i = 0; t < E->f->n_tensors; t++)
    if (E->f->tensors[t]->role == IR_TEMP) {
      print_temp_pointer(E, t, i++);
      if (shared && shared[t])
        fprintf(E->out, "  (void)%s; /* views share its bytes: it may have no use left */\n", E->tensor_c[t]);
    }
}

static void print_unused_inputs(emit_fn *E)
{
  for (int i = 0; i < E->f->n_inputs; i++)
    if (!E->is_read[E->f->inputs[i]])
      fprintf(E->out, "  (void)%s;\n", E->tensor_c[E->f->inputs[i]]);
}

void emit_abi_print_entry_open(emit_fn *E)
{
  print_signature(E);
  fputs("\n{\n", E->out);
  print_unused_inputs(E);
  emit_model_entry_check(E->out, E->f, E->name, E->blob);
  print_param_check(E, "1");
  print_dim_locals(E, "1");
  print_temp_pointers(E);
}

/* (const float *)args[i], or *(const float *)args[i] for a scalar. */
static void print_packed_arg(emit_fn *E, int t, int i, bool is_input)
{
  const char *ty = emit_type_name(E, E->f->tensors[t]->type);
  if (is_input && is_scalar_input(E->f, t))
    fprintf(E->out, "*(const %s *)args[%d]", ty, i);
  else
    fprintf(E->out, is_input ? "(const %s *)args[%d]" : "(%s *)args[%d]", ty, i);
}

static void print_packed_sizes(emit_fn *E)
{
  for (int p = 0; p < E->f->n_params; p++)
    fprintf(E->out, "%ssizes[%d]", p ? ", " : "", p);
}

void emit_abi_print_packed(emit_fn *E)
{
  const ir_func *f = E->f;
  fprintf(E->out, "int %s_call(const int64_t *sizes, void *const *args, void *workspace%s)\n{\n", E->name,
          E->em->tg->entry_extra_param);
  if (f->n_params == 0)
    fputs("  (void)sizes;\n", E->out);
  fprintf(E->out, "  return %s(", E->name);
  print_packed_sizes(E);
  for (int i = 0; i < f->n_inputs; i++) {
    fputs(f->n_params || i ? ", " : "", E->out);
    print_packed_arg(E, f->inputs[i], i, true);
  }
  for (int i = 0; i < f->n_outputs; i++) {
    fputs(f->n_params || f->n_inputs || i ? ", " : "", E->out);
    print_packed_arg(E, f->outputs[i], f->n_inputs + i, false);
  }
  fprintf(E->out, "%sworkspace%s);\n}\n\n", f->n_params || f->n_inputs || f->n_outputs ? ", " : "",
          E->em->tg->entry_extra_arg);
  fprintf(E->out, "size_t %s_call_workspace_bytes(const int64_t *sizes)\n{\n", E->name);
  if (f->n_params == 0)
    fputs("  (void)sizes;\n", E->out);
  fprintf(E->out, "  return %s_workspace_bytes(", E->name);
  print_packed_sizes(E);
  fputs(");\n}\n\n", E->out);
}

