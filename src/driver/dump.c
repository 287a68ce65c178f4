/* dump.c: `--dump-after=PASS`: the module as it stands after a pass, on
 * stderr. The model graph as a listing of values and nodes while there is
 * no IR yet; then the IR (ir_print_func) with each statement's operator,
 * the kernels and the memory plan where those passes ran; the selected
 * functions with their sizes and schedule options after select; the
 * written C file and header after emit. */
#include "pipeline.h"
#include "graph.h"
#include "emit_plan.h"
#include "../schedule/schedule.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * The model graph
 * ------------------------------------------------------------------------ */

static void print_value_type(FILE *out, const ir_value *v)
{
  if (v->rank < 0) {
    fputs("?", out);
    return;
  }
  fprintf(out, "%s(", ir_types[v->type].name);
  for (int d = 0; d < v->rank; d++)
    fprintf(out, "%s%lld", d ? ", " : "", (long long)v->shape[d]);
  fputc(')', out);
}

static void print_value(FILE *out, const ir_graph *g, int k)
{
  const ir_value *v = &g->values[k];
  fprintf(out, "  value %%%d %s: ", k, v->name);
  print_value_type(out, v);
  if (v->data)
    fputs(" constant", out);
  if (v->is_input)
    fputs(" input", out);
  if (v->is_output)
    fputs(" output", out);
  fputc('\n', out);
}

static void print_operands(FILE *out, const int *vals, int n)
{
  fputc('(', out);
  for (int j = 0; j < n; j++)
    fprintf(out, j ? ", %%%d" : "%%%d", vals[j]);
  fputc(')', out);
}

static void print_node(FILE *out, const ir_graph *g, int k)
{
  const ir_node *n = &g->nodes[k];
  fprintf(out, "  node %d %s '%s' ", k, graph_node_op_name(n), n->name);
  print_operands(out, n->in, n->n_in);
  fputs(" -> ", out);
  print_operands(out, n->out, n->n_out);
  fputs(n->dead ? " dead\n" : "\n", out);
}

static void print_graph(FILE *out, const ir_graph *g)
{
  fprintf(out, "graph: %d values, %d nodes\n", g->n_values, g->n_nodes);
  for (int k = 0; k < g->n_values; k++)
    print_value(out, g, k);
  for (int k = 0; k < g->n_nodes; k++)
    print_node(out, g, k);
}

/* ------------------------------------------------------------------------
 * The IR with its kernels and memory plan
 * ------------------------------------------------------------------------ */

static void print_groups(FILE *out, const char *what, const int *group, int n)
{
  for (int i = 0, end; i < n; i = end) {
    for (end = i + 1; end < n && group[end] == group[i]; end++)
      ;
    fprintf(out, "  %s %d: stmt %d", what, group[i], i);
    if (end - i > 1)
      fprintf(out, "..%d", end - 1);
    fputc('\n', out);
  }
}

static bool has_views(const ir_func *f)
{
  for (int t = 0; t < f->n_tensors; t++)
    if (f->tensors[t]->role == IR_TEMP && f->tensors[t]->view)
      return true;
  return false;
}

/* `, view of Y at byte K` for a temporary stored inside another (views.c). */
static void print_view(FILE *out, const ir_func *f, int t)
{
  const ir_tensor *T = f->tensors[t];
  if (T->role == IR_TEMP && T->view)
    fprintf(out, ", view of %s at byte %lld", f->tensors[T->view_of]->name, (long long)T->view_offset);
  fputc('\n', out);
}

static void print_views(FILE *out, const ir_func *f)
{
  for (int t = 0; t < f->n_tensors; t++)
    if (f->tensors[t]->role == IR_TEMP && f->tensors[t]->view) {
      fprintf(out, "  %s", f->tensors[t]->name);
      print_view(out, f, t);
    }
}

static void print_memory_plan(FILE *out, const ir_func *f)
{
  fprintf(out, "memory plan: workspace %lld bytes, lower bound %lld bytes\n", (long long)f->workspace_bytes,
          (long long)f->workspace_lower_bound);
  for (int t = 0; t < f->n_tensors; t++)
    if (f->tensors[t]->role == IR_TEMP) {
      fprintf(out, "  %s at offset %lld", f->tensors[t]->name, (long long)f->tensors[t]->ws_offset);
      print_view(out, f, t);
    }
}

static void print_func(FILE *out, const ir_func *f)
{
  ir_print_func(out, f);
  ir_region_print(out, f);
  if (f->stmt_origin) {
    fprintf(out, "operators of '%s':\n", f->name);
    print_groups(out, "operator", f->stmt_origin, f->n_stmts);
  }
  if (f->stmt_kernel) {
    fprintf(out, "kernels of '%s':\n", f->name);
    print_groups(out, "kernel", f->stmt_kernel, f->n_stmts);
  }
  if (f->memory_planned)
    print_memory_plan(out, f);
  else if (has_views(f)) {
    fprintf(out, "views of '%s' (their copies removed):\n", f->name);
    print_views(out, f);
  }
}

/* ------------------------------------------------------------------------
 * Plans and output files
 * ------------------------------------------------------------------------ */

static void print_plan(FILE *out, const driver_plan *p)
{
  char text[512];
  fprintf(out, "plan '%s':", p->func->name);
  for (int k = 0; k < p->func->n_params; k++)
    if (p->fixed[k] >= 0)
      fprintf(out, " %s=%lld", p->func->param_names[k], (long long)p->fixed[k]);
  if (p->sched)
    sched_options_print(text, sizeof text, p->sched);
  fprintf(out, " schedule: %s\n", p->sched ? text : "heuristics");
}

static void copy_file(FILE *out, const char *path)
{
  FILE *in = path ? fopen(path, "r") : NULL;
  char buf[1 << 14];
  size_t n;
  if (!in)
    return;
  fprintf(out, "/* ---- %s ---- */\n", path);
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    fwrite(buf, 1, n, out);
  fclose(in);
}

static void print_outputs(FILE *out, const driver_module *m)
{
  if (m->c_out)
    fflush(m->c_out);
  if (m->h_out)
    fflush(m->h_out);
  copy_file(out, m->h_path);
  copy_file(out, m->c_path);
}

void driver_dump_module(FILE *out, const driver_module *m, const driver_pass *after)
{
  fprintf(out, "=== after %s ===\n", after->name);
  if (after->kind == DRIVER_PASS_BACKEND && !strcmp(after->name, "print")) {
    print_outputs(out, m);
    return;
  }
  if (after->kind == DRIVER_PASS_BACKEND) {
    for (int i = 0; m->emit_plans && i < m->n_plans; i++)
      emit_plan_dump(m->emit_plans[i], out);
    return;
  }
  if (m->n_plans)
    for (int i = 0; i < m->n_plans; i++)
      print_plan(out, &m->plans[i]);
  else if (m->ir)
    for (int i = 0; i < m->ir->n_funcs; i++)
      print_func(out, m->ir->funcs[i]);
  else if (m->graph)
    print_graph(out, m->graph);
}
