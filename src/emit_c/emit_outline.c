/* emit_outline.c: kernels printed once. A model's batch chunks
 * (src/graph/batch_chunks.c) repeat the same nodes for each chunk of
 * images, on temporaries of their own and the same weights; printed inline
 * the entry held one copy of each kernel per chunk (MobileNetV2 at batch 8
 * on one thread: 337 kernels for 91 distinct ones). Layers of one shape
 * repeat the kernels that read no weight (Winograd's transforms, paddings,
 * poolings) too. Here every kernel is
 * printed apart first; kernels whose text is the same up to the names of
 * the entry's pointers (its tensors, the workspace, the packing buffers)
 * and to the names of packed arrays holding the same floats become one
 * static function, printed before the entry with the pointers as
 * parameters, and the entry calls it once per copy with that copy's
 * pointers. A kernel that occurs once stays inline, so a model without
 * repeated kernels prints the same text as before. CPU targets, functions
 * of constant sizes without regions or gradient hooks. */
#define _POSIX_C_SOURCE 200809L
#include "emit_print.h"
#include "emit_ddp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* A name the kernels may use that is not theirs: one of the entry's
 * pointers (a parameter or a local) or a packed array's alias. */
typedef struct outer_name {
  const char *name;
  const char *type; /* the parameter's declaration before its name ("const float *"); NULL: an alias */
  const char *alias; /* the name it is spelled as in the key (aliases), else name */
  int local;         /* index among the pointers (type != NULL) */
  int what;          /* a tensor, EMIT_OUTLINE_WORKSPACE or EMIT_OUTLINE_PACK; -3: aotc_part_mem or an alias */
} outer_name;

typedef struct kernel_text {
  char *text;   /* as printed */
  size_t len;
  char *key;    /* the text with the pointers numbered, NULL: stays inline */
  uint64_t hash;
  int *uses;    /* the pointers it uses, in order of first use */
  int n_uses;
  int group;    /* its function, -1: inline */
  int first;    /* the first kernel of its group */
} kernel_text;

typedef struct outliner {
  emit_fn *E;
  outer_name *names; /* sorted by name (room for every one collect_names adds) */
  int n_names, n_locals;
  int *by_local;     /* per pointer: its index in names */
  kernel_text *k;
  int n;
} outliner;

static void add_name(outliner *o, const char *name, const char *type, const char *alias, int what)
{
  o->names[o->n_names++] = (outer_name){name, type, alias ? alias : name, type ? o->n_locals++ : -1, what};
}

static int by_name(const void *a, const void *b)
{
  return strcmp(((const outer_name *)a)->name, ((const outer_name *)b)->name);
}

static const outer_name *find_name(const outliner *o, const char *s, size_t len)
{
  int lo = 0, hi = o->n_names - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    int c = strncmp(o->names[mid].name, s, len);
    if (c == 0 && o->names[mid].name[len])
      c = 1;
    if (c == 0)
      return &o->names[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid - 1;
  }
  return NULL;
}

/* The entry's pointers (emit_abi.c's signature and locals) and the packed
 * arrays stored once under another name (emit_prepack.c's defines). */
static bool collect_names(outliner *o)
{
  emit_fn *E = o->E;
  const ir_func *f = E->f;
  aotc_ctx *ctx = E->em->plan->ctx;
  o->names = IR_NEW_ARRAY(ctx, outer_name, f->n_tensors + 3 + 2 * E->pf->n_contr);
  if (!o->names)
    return false;
  for (int t = 0; t < f->n_tensors; t++) {
    const ir_tensor *T = f->tensors[t];
    const char *ty = emit_type_name(E, T->type);
    bool input = T->role == IR_INPUT, scalar = input && T->rank == 0;
    if (input || T->role == IR_OUTPUT || T->role == IR_TEMP)
      add_name(o, E->tensor_c[t], ir_sprintf(ctx, scalar ? "%s " : input ? "const %s *" : "%s *", ty), NULL, t);
  }
  add_name(o, "workspace", "void *", NULL, EMIT_OUTLINE_WORKSPACE);
  add_name(o, "aotc_pack", "float *", NULL, EMIT_OUTLINE_PACK);
  add_name(o, "aotc_part_mem", "double *", NULL, -3);
  for (int q = 0; E->pack_same && q < 2 * E->pf->n_contr; q++)
    if (E->pack_same[q] >= 0)
      add_name(o, emit_prepack_name(ctx, E->name, q / 2, q % 2), NULL,
               emit_prepack_name(ctx, E->name, E->pack_same[q] / 2, E->pack_same[q] % 2), -3);
  o->by_local = IR_NEW_ARRAY(ctx, int, o->n_locals);
  if (!o->by_local || ctx->oom)
    return false;
  qsort(o->names, (size_t)o->n_names, sizeof *o->names, by_name);
  for (int i = 0; i < o->n_names; i++) {
    if (i > 0 && !strcmp(o->names[i - 1].name, o->names[i].name))
      return false; /* a tensor named like a local: leave the kernels inline */
    if (o->names[i].type)
      o->by_local[o->names[i].local] = i;
  }
  return true;
}

/* The end of the comment, string or number at s, or s when none starts there. */
static const char *skip_other(const char *s)
{
  if (s[0] == '/' && s[1] == '*') {
    const char *e = strstr(s + 2, "*/");
    return e ? e + 2 : s + strlen(s);
  }
  if (s[0] == '/' && s[1] == '/')
    return s + strcspn(s, "\n");
  if (*s == '"' || *s == '\'') {
    const char *p = s + 1;
    while (*p && *p != *s)
      p += p[0] == '\\' && p[1] ? 2 : 1;
    return *p ? p + 1 : p;
  }
  if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
    const char *p = s + 1;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' ||
           ((*p == '+' || *p == '-') && strchr("eEpP", p[-1])))
      p++;
    return p;
  }
  return s;
}

/* k's key: its text without comments, each pointer spelled as its number
 * among the pointers k uses; NULL when k cannot be a function of its own
 * (it returns from the entry, its braces do not balance or it holds
 * nothing but comments). */
static bool make_key(outliner *o, kernel_text *k)
{
  char *key = NULL;
  size_t klen = 0;
  FILE *out = open_memstream(&key, &klen);
  int *uses = calloc((size_t)o->n_locals + 1, sizeof *uses), *pos = malloc(sizeof *pos * ((size_t)o->n_locals + 1));
  bool ok = out && uses && pos;
  int depth = 0;
  for (int i = 0; ok && i < o->n_locals; i++)
    pos[i] = -1;
  for (const char *s = k->text; ok && *s;) {
    const char *e = skip_other(s);
    if (e != s) {
      if (*s != '/')
        fwrite(s, 1, (size_t)(e - s), out);
      s = e;
      continue;
    }
    if (isalpha((unsigned char)*s) || *s == '_') {
      size_t len = 1;
      while (isalnum((unsigned char)s[len]) || s[len] == '_')
        len++;
      const outer_name *nm = find_name(o, s, len);
      if ((len == 6 && !strncmp(s, "return", 6)) || (len == 4 && !strncmp(s, "goto", 4)))
        ok = false;
      else if (nm && nm->type) {
        if (pos[nm->local] < 0) {
          pos[nm->local] = k->n_uses;
          uses[k->n_uses++] = nm->local;
        }
        fprintf(out, "\001%d\002", pos[nm->local]);
      } else if (nm)
        fputs(nm->alias, out);
      else
        fwrite(s, 1, len, out);
      s += len;
      continue;
    }
    depth += *s == '{' ? 1 : *s == '}' ? -1 : 0;
    ok = depth >= 0;
    fputc(*s++, out);
  }
  if (out && fclose(out))
    ok = false;
  free(pos);
  if (ok && key && !key[strspn(key, " \n")])
    ok = false; /* comments only: nothing to call */
  if (!ok || depth != 0) {
    free(key);
    free(uses);
    k->n_uses = 0;
    return out != NULL && uses != NULL;
  }
  k->key = key;
  k->hash = ir_hash_str(key);
  k->uses = uses;
  return true;
}

static const outer_name *local_name(const outliner *o, int local)
{
  return &o->names[o->by_local[local]];
}

/* Groups of kernels with the same key; a group of two or more is a function. */
static int make_groups(outliner *o)
{
  int groups = 0;
  for (int i = 0; i < o->n; i++) {
    kernel_text *k = &o->k[i];
    k->group = -1;
    k->first = i;
    for (int j = 0; k->key && j < i && k->first == i; j++)
      if (o->k[j].key && o->k[j].first == j && o->k[j].hash == k->hash && !strcmp(o->k[j].key, k->key))
        k->first = j;
  }
  for (int i = 0; i < o->n; i++)
    if (o->k[i].first != i && o->k[o->k[i].first].group < 0)
      o->k[o->k[i].first].group = groups++;
  for (int i = 0; i < o->n; i++)
    o->k[i].group = o->k[o->k[i].first].group;
  return groups;
}

static void print_function(outliner *o, FILE *out, const kernel_text *k)
{
  fprintf(out, "static void %s_aotc_k%d(", o->E->name, k->group);
  for (int u = 0; u < k->n_uses; u++) {
    const outer_name *nm = local_name(o, k->uses[u]);
    fprintf(out, "%s%s%s", u ? ", " : "", nm->type, nm->name);
  }
  fputs(k->n_uses ? ")\n{\n" : "void)\n{\n", out);
  for (int u = 0; u < k->n_uses; u++)
    fprintf(out, "  (void)%s;\n", local_name(o, k->uses[u])->name);
  fwrite(k->text, 1, k->len, out);
  fputs("}\n\n", out);
}

static void print_call(outliner *o, FILE *out, const kernel_text *k)
{
  fprintf(out, "  %s_aotc_k%d(", o->E->name, k->group);
  for (int u = 0; u < k->n_uses; u++)
    fprintf(out, "%s%s", u ? ", " : "", local_name(o, k->uses[u])->name);
  fputs(");\n", out);
}

/* Kernel i printed into k. */
static bool print_apart(emit_fn *E, int i, kernel_text *k)
{
  emit_text t;
  if (!emit_text_begin(E, &t))
    return false;
  emit_print_kernel(E, i);
  k->text = emit_text_end(E, &t);
  k->len = t.len;
  return k->text != NULL;
}

static void free_outliner(outliner *o)
{
  for (int i = 0; o->k && i < o->n; i++) {
    free(o->k[i].text);
    free(o->k[i].key);
    free(o->k[i].uses);
  }
  free(o->k);
}

bool emit_outline_qualifies(const emit_plan *p, const emit_plan_fn *pf)
{
  const ir_func *f = pf->f;
  return !emit_target_is_gpu(p->target) && !f->body && f->n_syncs == 0 && f->n_params == 0 && f->memory_planned &&
         pf->n_kernels >= 2 && !getenv("AOTC_NO_OUTLINE");
}

static bool qualifies(const emit_fn *E)
{
  return emit_outline_qualifies(E->em->plan, E->pf);
}

/* Prints every kernel apart and groups them; false when nothing could be
 * printed (out of memory before the first); *ok false when the groups are
 * unknown (the texts are there). Returns the number of groups in *groups. */
static bool outline(emit_fn *E, outliner *o, bool *ok, int *groups)
{
  *o = (outliner){.E = E, .n = E->pf->n_kernels};
  o->k = calloc((size_t)o->n, sizeof *o->k);
  if (!o->k || !collect_names(o)) {
    free_outliner(o);
    return false;
  }
  E->indent = 1;
  *ok = true;
  for (int i = 0; i < o->n; i++)
    *ok = print_apart(E, i, &o->k[i]) && *ok && make_key(o, &o->k[i]);
  *groups = *ok ? make_groups(o) : 0;
  return true;
}

bool emit_outline_print_entry(emit_fn *E, void (*open)(emit_fn *))
{
  outliner o;
  bool ok;
  int groups, calls = 0;
  if (!qualifies(E) || !outline(E, &o, &ok, &groups))
    return false; /* nothing printed yet: the caller prints the kernels inline */
  for (int i = 0; groups > 0 && i < o.n; i++) {
    if (o.k[i].group >= 0 && o.k[i].first == i)
      print_function(&o, E->out, &o.k[i]);
    calls += o.k[i].group >= 0;
  }
  if (groups > 0 && E->em->plan->opt->verbose)
    aotc_note(E->em->plan->ctx, (ir_loc){0}, "'%s': %d kernels printed once as functions, called %d times", E->name,
              groups, calls);
  open(E);
  for (int i = 0; i < o.n; i++)
    if (groups > 0 && o.k[i].group >= 0)
      print_call(&o, E->out, &o.k[i]);
    else if (o.k[i].text)
      fwrite(o.k[i].text, 1, o.k[i].len, E->out);
  if (!ok) {
    aotc_error(E->em->plan->ctx, E->f->loc, "%s: out of memory while printing the kernels", E->f->name);
    E->failed = true;
  }
  free_outliner(&o);
  return true;
}

bool emit_outline_kernels(emit_fn *E, emit_outline_groups *g)
{
  outliner o;
  bool ok;
  int groups;
  *g = (emit_outline_groups){0};
  if (!qualifies(E) || !outline(E, &o, &ok, &groups))
    return false;
  g->n = o.n;
  g->group = calloc((size_t)o.n, sizeof *g->group);
  g->n_uses = calloc((size_t)o.n, sizeof *g->n_uses);
  g->uses = calloc((size_t)o.n, sizeof *g->uses);
  ok = ok && groups > 0 && g->group && g->n_uses && g->uses;
  for (int i = 0; ok && i < o.n; i++) {
    g->group[i] = o.k[i].group;
    g->n_uses[i] = o.k[i].n_uses;
    g->uses[i] = calloc((size_t)o.k[i].n_uses + 1, sizeof **g->uses);
    ok = g->uses[i] != NULL;
    for (int u = 0; ok && u < o.k[i].n_uses; u++)
      g->uses[i][u] = local_name(&o, o.k[i].uses[u])->what;
  }
  g->n_groups = ok ? groups : 0;
  free_outliner(&o);
  if (!ok)
    emit_outline_groups_free(g);
  return ok;
}

void emit_outline_groups_free(emit_outline_groups *g)
{
  for (int i = 0; g->uses && i < g->n; i++)
    free(g->uses[i]);
  free(g->uses);
  free(g->group);
  free(g->n_uses);
  *g = (emit_outline_groups){0};
}
