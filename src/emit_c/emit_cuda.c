/* emit_cuda.c: what only the CUDA target prints around the shared printer:
 * every kernel of a function cut into parts (the loop nests of isl's AST
 * that run one after the other: a kernel boundary is the only grid-wide
 * barrier), each part a __global__ function whose body is the ordinary
 * printer's (emit_print.c, with the marks of sched_gpu_map spreading loops
 * over blocks and threads), and the entry's launches of them in order on
 * the caller's stream, each grid sized from the band's tile counts. A part
 * that is not one mapped band runs on one thread. A reduction kernel the
 * mapping splits over several blocks per output is two kernels: the
 * partial results into the workspace, then the kernel folding them. */
#include "emit_print.h"

#include <isl/aff.h>
#include <isl/ast_build.h>
#include <isl/id.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Parts: the loop nests of a kernel's AST, in order
 * ------------------------------------------------------------------------ */

typedef void (*part_fn)(emit_fn *E, const emit_kernel *k, __isl_keep isl_ast_node *part, int index);

static const sched_gpu_band *part_band(__isl_keep isl_ast_node *node);

/* The blocks sharing the reduction of part (sched_gpu_band.split) when it
 * is cut into two stages (emit_split_ok); 0: one kernel. */
static int part_split(emit_fn *E, const emit_kernel *k, __isl_keep isl_ast_node *part)
{
  const sched_gpu_band *b = part_band(part);
  E->k = k->poly;
  return b && b->reduce && b->split > 1 && emit_split_ok(E, part) ? b->split : 0;
}

/* fn on a part, twice (E->red_stage 1 and 2) for a split reduction. */
static int each_stage(emit_fn *E, const emit_kernel *k, __isl_keep isl_ast_node *part, part_fn fn, int index)
{
  int split = part_split(E, k, part);
  const sched_gpu_band *b = part_band(part);
  E->red_blocks = split;
  E->red_dim = b ? b->n : 0;
  for (int stage = split ? 1 : 0; stage <= (split ? 2 : 0); stage++) {
    E->red_stage = stage;
    fn(E, k, part, index++);
  }
  E->red_stage = E->red_blocks = E->red_dim = 0;
  return index;
}

/* Calls fn on every part of node (a block is cut into its children); a
 * contraction (emit_cuda_contr.c) or a promoted transpose
 * (emit_cuda_transp.c) is one part, given as NULL. */
static int each_part(emit_fn *E, const emit_kernel *k, __isl_keep isl_ast_node *node, part_fn fn, int index)
{
  if (isl_ast_node_get_type(node) != isl_ast_node_block)
    return each_stage(E, k, node, fn, index);
  isl_ast_node_list *list = isl_ast_node_block_get_children(node);
  isl_size n = isl_ast_node_list_n_ast_node(list);
  for (int i = 0; i < n; i++) {
    isl_ast_node *child = isl_ast_node_list_get_at(list, i);
    index = each_part(E, k, child, fn, index);
    isl_ast_node_free(child);
  }
  isl_ast_node_list_free(list);
  return index;
}

static int each_kernel_part(emit_fn *E, part_fn fn)
{
  int index = 0;
  for (int i = 0; i < E->pf->n_kernels; i++) {
    const emit_kernel *k = &E->pf->kernels[i];
    if (k->contraction >= 0 || k->transpose >= 0)
      fn(E, k, NULL, index++);
    else if (k->ast)
      index = each_part(E, k, k->ast, fn, index);
  }
  return index;
}

/* The band a part maps: the part is a grid mark, alone under guards
 * (conditions without else) and loops over outer coincident members (every
 * thread runs them); NULL when it is anything else (it then runs on one
 * thread). */
static const sched_gpu_band *part_band(__isl_keep isl_ast_node *node)
{
  const sched_gpu_band *b = NULL;
  if (isl_ast_node_get_type(node) == isl_ast_node_mark) {
    isl_id *id = isl_ast_node_mark_get_id(node);
    if (!strcmp(isl_id_get_name(id), SCHED_MARK_GRID))
      b = isl_id_get_user(id);
    isl_id_free(id);
  } else if (isl_ast_node_get_type(node) == isl_ast_node_if && isl_ast_node_if_has_else_node(node) == isl_bool_false) {
    isl_ast_node *then = isl_ast_node_if_get_then_node(node);
    b = part_band(then);
    isl_ast_node_free(then);
  } else if (isl_ast_node_get_type(node) == isl_ast_node_for) {
    isl_ast_node *body = isl_ast_node_for_get_body(node);
    b = part_band(body);
    isl_ast_node_free(body);
  }
  return b;
}

/* Threads per block along x, y, z: a reduction kernel's along x. */
static void part_block(const sched_gpu_band *b, int block[3])
{
  for (int d = 0; d < 3; d++)
    block[d] = 1;
  for (int i = 0; b && !b->reduce && i < b->n; i++)
    block[b->n - 1 - i] = b->block[i];
  if (b && b->reduce)
    block[0] = b->reduce;
}

/* A reduction kernel's shared buffer: its partial results (8 bytes at
 * most each, emit_reduce_shared_slots), when some accumulator loop of the
 * part uses it; 0: none. */
static int part_reduce_shared(const emit_fn *E, const sched_gpu_band *b, __isl_keep isl_ast_node *part)
{
  return b && b->reduce && emit_ast_has_acc(part) ? emit_reduce_shared_slots(E->em->tg, b->reduce) : 0;
}

/* ------------------------------------------------------------------------
 * Arguments: sizes, computed dimensions, tensors (constants are globals)
 * ------------------------------------------------------------------------ */

static bool is_input(const ir_func *f, int t)
{
  for (int i = 0; i < f->n_inputs; i++)
    if (f->inputs[i] == t)
      return true;
  return false;
}

static bool is_output(const ir_func *f, int t)
{
  for (int i = 0; i < f->n_outputs; i++)
    if (f->outputs[i] == t)
      return true;
  return false;
}

static bool is_argument(const ir_func *f, int t)
{
  return is_input(f, t) || is_output(f, t) || f->tensors[t]->role == IR_TEMP;
}

/* A kernel's parameter declaration for tensor t. */
static void print_tensor_param(emit_fn *E, int t)
{
  const ir_tensor *T = E->f->tensors[t];
  if (is_input(E->f, t) && T->rank == 0 && T->role == IR_INPUT)
    fprintf(E->out, "%s %s", emit_type_name(E, T->type), E->tensor_c[t]);
  else
    fprintf(E->out, "%s%s *%s", is_input(E->f, t) ? "const " : "", emit_type_name(E, T->type), E->tensor_c[t]);
}

/* decl: the kernel's parameter list; else the launch's arguments, each
 * after ", ". */
static void print_args(emit_fn *E, bool decl)
{
  const char *sep = decl ? "" : ", ";
  for (int p = 0; p < E->f->n_params; p++) {
    fprintf(E->out, "%s%s%s", sep, decl ? "int64_t " : "", E->param_c[p]);
    sep = ", ";
  }
  for (int t = 0; t < E->f->n_tensors; t++)
    for (int j = 0; j < E->f->tensors[t]->rank; j++)
      if (E->dim[t][j]) {
        fprintf(E->out, "%s%s%s", sep, decl ? "int64_t " : "", E->dim[t][j]);
        sep = ", ";
      }
  for (int t = 0; t < E->f->n_tensors; t++)
    if (is_argument(E->f, t)) {
      fputs(sep, E->out);
      if (decl)
        print_tensor_param(E, t);
      else
        fputs(E->tensor_c[t], E->out);
      sep = ", ";
    }
  if (E->red_stage)
    fprintf(E->out, "%s%s", sep, decl ? "double *aotc_part_mem" : "aotc_part_mem");
  else if (decl && !*sep)
    fputs("void", E->out);
}

/* (void)x; for every parameter: a part uses some of them. */
static void print_unused(emit_fn *E)
{
  for (int p = 0; p < E->f->n_params; p++)
    fprintf(E->out, "  (void)%s;\n", E->param_c[p]);
  for (int t = 0; t < E->f->n_tensors; t++)
    for (int j = 0; j < E->f->tensors[t]->rank; j++)
      if (E->dim[t][j])
        fprintf(E->out, "  (void)%s;\n", E->dim[t][j]);
  for (int t = 0; t < E->f->n_tensors; t++)
    if (is_argument(E->f, t))
      fprintf(E->out, "  (void)%s;\n", E->tensor_c[t]);
  if (E->red_stage)
    fputs("  (void)aotc_part_mem;\n", E->out);
}

/* ------------------------------------------------------------------------
 * Kernels
 * ------------------------------------------------------------------------ */

static void print_kernel_name(emit_fn *E, int index)
{
  fprintf(E->out, "aotc_%s_kernel%d", E->name, index);
}

/* Threads per block of a kernel: its part's band, or the contraction's or
 * transpose's tile. */
static const sched_gpu_band *kernel_block(const emit_kernel *k, __isl_keep isl_ast_node *part, int block[3])
{
  const sched_gpu_band *b = part ? part_band(part) : NULL;
  if (part)
    part_block(b, block);
  else if (k->contraction >= 0)
    emit_cuda_contraction_block(block);
  else
    emit_cuda_transpose_block(block);
  return b;
}

/* Shared bytes of a kernel without a part. */
static int tiled_shared_bytes(const emit_kernel *k)
{
  return k->contraction >= 0 ? emit_cuda_contraction_shared_bytes() : emit_cuda_transpose_shared_bytes();
}

static void print_kernel(emit_fn *E, const emit_kernel *k, __isl_keep isl_ast_node *part, int index)
{
  int block[3];
  const sched_gpu_band *b = kernel_block(k, part, block);
  int red = part ? part_reduce_shared(E, b, part) : 0;
  static const char *const stage[] = {"", "; stage 1 of a split reduction: partial results",
                                      "; stage 2 of a split reduction: their fold"};
  fprintf(E->out, "/* aotc: kernel aotc_%s_kernel%d: block %dx%dx%d, shared %d bytes%s */\n", E->name, index,
          block[0], block[1], block[2], part ? red * 8 : tiled_shared_bytes(k), stage[E->red_stage]);
  fprintf(E->out, "%s __launch_bounds__(%d, 1) ", E->em->tg->fn_qualifier[EMIT_FN_KERNEL],
          block[0] * block[1] * block[2]);
  print_kernel_name(E, index);
  fputc('(', E->out);
  print_args(E, true);
  fputs(")\n{\n", E->out);
  print_unused(E);
  if (red)
    fprintf(E->out, "  %s double aotc_red_mem[%d];\n", E->em->tg->shared_data, red);
  E->k = k->poly;
  E->indent = 1;
  E->map_on = b != NULL;
  E->red_threads = b ? b->reduce : 0;
  if (part)
    emit_print_node(E, part);
  else if (k->contraction >= 0)
    emit_cuda_print_contraction_body(E, k->contraction);
  else
    emit_cuda_print_transpose_body(E, k->transpose);
  E->map_on = false;
  E->red_threads = 0;
  fputs("}\n\n", E->out);
}

void emit_cuda_print_kernels(emit_fn *E)
{
  each_kernel_part(E, print_kernel);
}

/* ------------------------------------------------------------------------
 * Launches
 * ------------------------------------------------------------------------ */

static isl_stat piece_constant(__isl_take isl_set *set, __isl_take isl_aff *aff, void *user)
{
  isl_val *v = isl_aff_is_cst(aff) == isl_bool_true ? isl_aff_get_constant_val(aff) : NULL;
  long long *out = user;
  if (v && isl_val_is_int(v) == isl_bool_true)
    *out = isl_val_get_num_si(v);
  isl_val_free(v);
  isl_set_free(set);
  isl_aff_free(aff);
  return isl_stat_ok;
}

/* The value of a constant pw_aff of one piece; -1 when it is not one. */
static long long constant_of(__isl_keep isl_pw_aff *pa)
{
  long long v = -1;
  if (pa && isl_pw_aff_n_piece(pa) == 1)
    isl_pw_aff_foreach_piece(pa, piece_constant, &v);
  return v;
}

/* The number of tiles of member i as an expression of the sizes; a grid of
 * 1024 blocks along x, 16 along y and z when isl cannot tell (the kernel
 * loops over its tiles: any grid is correct). */
static void print_tiles(emit_fn *E, const emit_kernel *k, const sched_gpu_band *b, int i, int d)
{
  long long v = constant_of(b->tiles[i]);
  if (v >= 0) {
    fprintf(E->out, "%lld", v);
    return;
  }
  isl_ast_build *build = isl_ast_build_from_context(isl_set_params(isl_set_copy(k->poly->context)));
  isl_ast_expr *e = b->tiles[i] ? isl_ast_build_expr_from_pw_aff(build, isl_pw_aff_copy(b->tiles[i])) : NULL;
  if (e)
    emit_print_ast_expr(E, e);
  else
    fputs(d == 0 ? "1024" : "16", E->out);
  isl_ast_expr_free(e);
  isl_ast_build_free(build);
}

/* Blocks along x, y, z: the tiles of the members, at least 1, at most what
 * the hardware (and grid=) allows. */
static void print_grid(emit_fn *E, const emit_kernel *k, const sched_gpu_band *b)
{
  static const long long hw_cap[3] = {2147483647LL, 65535, 65535};
  for (int d = 0; d < 3; d++) {
    int i = b ? b->n - 1 - d : -1;
    long long cap = i >= 0 && b->grid_cap[i] > 0 && b->grid_cap[i] < hw_cap[d] ? b->grid_cap[i] : hw_cap[d];
    fputs(d ? ", " : "dim3(", E->out);
    if (i < 0) {
      fprintf(E->out, "%d", E->red_stage == 1 && d == E->red_dim ? E->red_blocks : 1);
      continue;
    }
    fputs("aotc_cuda_grid_dim(", E->out);
    print_tiles(E, k, b, i, d);
    fprintf(E->out, ", %lld)", cap);
  }
  fputc(')', E->out);
}

static void print_launch(emit_fn *E, const emit_kernel *k, __isl_keep isl_ast_node *part, int index)
{
  int block[3];
  const sched_gpu_band *b = kernel_block(k, part, block);
  fputs("  AOTC_CUDA_TRY(AOTC_LAUNCH(", E->out);
  print_kernel_name(E, index);
  fputs(", ", E->out);
  E->k = k->poly;
  if (part)
    print_grid(E, k, b);
  else if (k->contraction >= 0)
    emit_cuda_print_contraction_grid(E, k->contraction);
  else
    emit_cuda_print_transpose_grid(E, k->transpose);
  fprintf(E->out, ", dim3(%d, %d, %d), 0, stream", block[0], block[1], block[2]);
  print_args(E, false);
  fputs("));\n", E->out);
}

static void add_partial_bytes(emit_fn *E, const emit_kernel *k, __isl_keep isl_ast_node *part, int index)
{
  const sched_gpu_band *b = part ? part_band(part) : NULL;
  int64_t bytes = E->red_stage == 1 && b ? (int64_t)b->outputs * E->red_blocks * 8 : 0;
  (void)k;
  (void)index;
  E->part_bytes = bytes > E->part_bytes ? bytes : E->part_bytes;
}

int64_t emit_cuda_partial_bytes(emit_fn *E)
{
  E->part_bytes = 0;
  each_kernel_part(E, add_partial_bytes);
  return E->part_bytes;
}

void emit_cuda_print_launches(emit_fn *E)
{
  if (each_kernel_part(E, print_launch) == 0)
    fputs("  (void)stream;\n", E->out);
}
