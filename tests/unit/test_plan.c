/* test_plan.c: the backend's phases called one by one (emit_plan.h), the
 * CPU table the heuristics read (--cpu) and the C row of the target table.
 * Emitted code is compiled, run and compared with closed forms. */
#define _GNU_SOURCE
#include "emit_plan.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static aotc_ctx *ctx;
static const ir_loc noloc = {0};

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
  unsetenv("AOTC_HOST_CPU");
}

static void teardown(void)
{
  aotc_ctx_free(ctx);
  unsetenv("AOTC_HOST_CPU");
}

TestSuite(plan, .init = setup, .fini = teardown);
TestSuite(cpu, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------------
 * IR: a chain of matrix products, each statement its own kernel
 * ------------------------------------------------------------------------ */

static ir_expr *idx(int i)
{
  ir_expr *e = ir_expr_new(ctx, IR_INDEX, IR_I64, noloc, 0);
  e->index = i;
  return e;
}

static ir_expr *read2(int t, ir_expr *a, ir_expr *b)
{
  ir_expr *e = ir_expr_new(ctx, IR_ACCESS, IR_F32, noloc, 2);
  e->tensor = t;
  e->args[0] = a;
  e->args[1] = b;
  return e;
}

static int add_tensor(ir_func *f, const char *name, ir_role role, int64_t rows, int64_t cols)
{
  ir_tensor *t = IR_NEW(ctx, ir_tensor);
  *t = (ir_tensor){.name = name, .type = IR_F32, .role = role, .rank = 2};
  t->shape = IR_NEW_ARRAY(ctx, ir_size *, 2);
  t->shape[0] = ir_size_const(ctx, rows);
  t->shape[1] = ir_size_const(ctx, cols);
  f->tensors[f->n_tensors] = t;
  if (role == IR_INPUT)
    f->inputs[f->n_inputs++] = f->n_tensors;
  if (role == IR_OUTPUT)
    f->outputs[f->n_outputs++] = f->n_tensors;
  return f->n_tensors++;
}

/* out(i, j) +=! in(i, k) * P(k, j), i < 4, j < 4, k < 4 */
static void add_product(ir_func *f, int out, int in, int P)
{
  static const char *const names[] = {"i", "j", "k"};
  ir_stmt *s = IR_NEW(ctx, ir_stmt);
  s->tensor = out;
  s->n_index = 3;
  s->index = IR_NEW_ARRAY(ctx, ir_index, 3);
  for (int x = 0; x < 3; x++)
    s->index[x] = (ir_index){.name = names[x], .lo = ir_size_const(ctx, 0), .hi = ir_size_const(ctx, 4),
                             .reduction = x == 2};
  s->n_lhs = 2;
  s->lhs = IR_NEW_ARRAY(ctx, int, 2);
  s->lhs[0] = 0;
  s->lhs[1] = 1;
  s->red = IR_RED_ADD;
  s->init = true;
  s->rhs = ir_expr_new(ctx, IR_BINARY, IR_F32, noloc, 2);
  s->rhs->op = IR_MUL;
  s->rhs->args[0] = read2(in, idx(0), idx(2));
  s->rhs->args[1] = read2(P, idx(2), idx(1));
  f->stmt_kernel[f->n_stmts] = f->n_stmts;
  f->stmts[f->n_stmts++] = s;
}

/* chain(X, P) -> (O): T1 = X P, T2 = T1 P, ..., O = T(n-1) P, n products of
 * 4 x 4 matrices, each alone in its kernel (so each is a contraction). */
static ir_func *chain(int n)
{
  ir_func *f = IR_NEW(ctx, ir_func);
  f->name = "chain";
  f->tensors = IR_NEW_ARRAY(ctx, ir_tensor *, n + 2);
  f->inputs = IR_NEW_ARRAY(ctx, int, 2);
  f->outputs = IR_NEW_ARRAY(ctx, int, 1);
  f->stmts = IR_NEW_ARRAY(ctx, ir_stmt *, n);
  f->stmt_kernel = IR_NEW_ARRAY(ctx, int, n);
  int X = add_tensor(f, "X", IR_INPUT, 4, 4), P = add_tensor(f, "P", IR_INPUT, 4, 4);
  int O = add_tensor(f, "O", IR_OUTPUT, 4, 4), prev = X;
  for (int i = 1; i < n; i++) {
    int T = add_tensor(f, ir_sprintf(ctx, "T%d", i), IR_TEMP, 4, 4);
    add_product(f, T, prev, P);
    prev = T;
  }
  add_product(f, O, prev, P);
  return f;
}

/* ------------------------------------------------------------------------
 * Emit through the phases, compile, load
 * ------------------------------------------------------------------------ */

/* The source of funcs[0] with options opt, through the phases one by one. */
static char *emit_by_phases(ir_func *f, const emit_options *opt, emit_plan **keep)
{
  char *text = NULL;
  size_t len = 0;
  FILE *c = open_memstream(&text, &len);
  emit_plan *p = emit_plan_new(ctx, &f, 1, opt, &emit_target_c);
  cr_assert(p);
  cr_assert(emit_plan_build(p) && emit_plan_schedule(p) && emit_plan_ast(p));
  cr_assert(emit_plan_print(p, c, NULL));
  fclose(c);
  if (keep)
    *keep = p;
  else
    emit_plan_free(p);
  return text;
}

typedef int (*call_fn)(const int64_t *sizes, void *const *args, void *workspace);
typedef size_t (*ws_fn)(const int64_t *sizes);

/* Writes source to a temporary directory, builds it into a shared object
 * and returns the handle; the directory (named in dir) is removed once the
 * object is loaded. */
static void *compile_source(const char *source, char *dir)
{
  char path[160], cmd[512];
  strcpy(dir, "/tmp/aotc_plan_XXXXXX");
  cr_assert(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/k.c", dir);
  FILE *out = fopen(path, "w");
  cr_assert(out);
  fputs(source, out);
  fclose(out);
  snprintf(cmd, sizeof(cmd), "cd %s && cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -fPIC -shared -o k.so k.c -lm",
           dir);
  cr_assert_eq(system(cmd), 0, "compile failed");
  snprintf(path, sizeof(path), "%s/k.so", dir);
  void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  cr_assert(so, "dlopen: %s", dlerror());
  /* The loaded object stays mapped: the directory can go now. */
  unlink(path);
  snprintf(path, sizeof(path), "%s/k.c", dir);
  unlink(path);
  rmdir(dir);
  return so;
}

static int count(const char *text, const char *word)
{
  int n = 0;
  for (const char *p = text; (p = strstr(p, word)); p += strlen(word))
    n++;
  return n;
}

/* ------------------------------------------------------------------------
 * Plan
 * ------------------------------------------------------------------------ */

/* 70 products with P a cyclic shift of the columns: O = X P^70 = X P^2,
 * O(i, j) = X(i, (j + 2) % 4). Before the plan sized its arrays from the
 * function, contractions after the 64th silently became plain loops. */
Test(plan, more_than_64_contractions_are_all_packed)
{
  ir_func *f = chain(70);
  emit_options opt = {.fuse = true, .cpu = sched_cpu_find("x86-64-v3")};
  emit_plan *p;
  char *source = emit_by_phases(f, &opt, &p);
  cr_assert_eq(p->funcs[0].n_kernels, 70);
  cr_assert_eq(p->funcs[0].n_contr, 70);
  for (int k = 0; k < 70; k++)
    cr_assert(p->funcs[0].kernels[k].contraction == k && !p->funcs[0].kernels[k].ast);
  emit_plan_free(p);
  cr_assert_eq(count(source, ": packed 4x16 register tiles"), 70);
  char dir[64];
  void *so = compile_source(source, dir);
  call_fn call = (call_fn)dlsym(so, "chain_call");
  ws_fn ws = (ws_fn)dlsym(so, "chain_call_workspace_bytes");
  cr_assert(call && ws);
  float X[16], P[16] = {0}, O[16];
  for (int i = 0; i < 16; i++)
    X[i] = (float)(i * 3 % 7) - 2.5f;
  for (int k = 0; k < 4; k++)
    P[k * 4 + (k + 1) % 4] = 1;
  void *work = aligned_alloc(64, (ws(NULL) + 63) / 64 * 64);
  cr_assert_eq(call(NULL, (void *[]){X, P, O}, work), 0);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      cr_assert_eq(O[i * 4 + j], X[i * 4 + (j + 2) % 4], "O(%d, %d)", i, j);
  free(work);
  dlclose(so);
  free(source);
}

/* Without the micro-kernel the plan holds isl's loops for every kernel. */
Test(plan, kernels_without_the_micro_kernel_get_an_ast)
{
  sched_options none;
  sched_options_default(&none);
  emit_options opt = {.fuse = true, .sched = &none};
  emit_plan *p;
  free(emit_by_phases(chain(3), &opt, &p));
  cr_assert_eq(p->funcs[0].n_contr, 0);
  cr_assert(!p->funcs[0].heuristic);
  for (int k = 0; k < 3; k++)
    cr_assert(p->funcs[0].kernels[k].contraction < 0 && p->funcs[0].kernels[k].ast);
  emit_plan_free(p);
}

/* ------------------------------------------------------------------------
 * CPUs
 * ------------------------------------------------------------------------ */

Test(cpu, table_rows_give_the_documented_heuristics)
{
  static const struct {
    const char *name;
    int vbytes, mr, nr, nc, kc;
  } rows[] = {{"x86-64-v4", 64, 12, 32, 1024, 256}, {"x86-64-v3", 32, 6, 16, 512, 256},
              {"x86-64-v2", 16, 6, 8, 512, 256}, {"generic", 16, 6, 8, 512, 256}};
  ir_func *f = chain(1);
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    sched_options o;
    sched_options_heuristic(f, 1, sched_cpu_find(rows[i].name), &o);
    cr_assert(o.microkernel && o.vectorize, "%s", rows[i].name);
    cr_assert_eq(o.vector_bytes, rows[i].vbytes, "%s", rows[i].name);
    cr_assert(o.reg_tile[0] == rows[i].mr && o.reg_tile[1] == rows[i].nr, "%s", rows[i].name);
    cr_assert_eq(o.tile[1], rows[i].nc, "%s", rows[i].name);
    cr_assert_eq(o.tile[2], rows[i].kc, "%s", rows[i].name);
  }
  sched_options m4;
  sched_options_heuristic(f, 1, sched_cpu_find("cortex-m4"), &m4);
  cr_assert(!m4.microkernel && !m4.pack && !m4.vectorize && m4.scalar_replace);
  cr_assert_null(sched_cpu_find("pentium"));
  cr_assert_null(sched_cpu_find(NULL));
}

Test(cpu, native_follows_the_machine_or_aotc_host_cpu)
{
  setenv("AOTC_HOST_CPU", "x86-64-v3", 1);
  cr_assert_eq(sched_cpu_native(), sched_cpu_find("x86-64-v3"));
  cr_assert_eq(sched_cpu_find("native"), sched_cpu_find("x86-64-v3"));
  setenv("AOTC_HOST_CPU", "cortex-m4", 1);
  cr_assert_eq(sched_cpu_native()->vector_bytes, 4);
  setenv("AOTC_HOST_CPU", "bogus", 1);
  cr_assert_not_null(sched_cpu_native());
  char names[256];
  sched_cpu_list(names, sizeof names);
  cr_assert(strstr(names, "native") && strstr(names, "x86-64-v4") && strstr(names, "cortex-m4"), "%s", names);
}

/* With --cpu the source is the same on every machine; without, it follows
 * the machine (which shows that the emulation is effective). 4x4 matrices:
 * register tiles of 4 rows, 6 with AVX-512 (rows fitted, contr_shape.c). */
Test(cpu, pinned_cpu_output_does_not_depend_on_the_machine)
{
  emit_options pinned = {.fuse = true, .cpu = sched_cpu_find("x86-64-v3")}, native = {.fuse = true};
  setenv("AOTC_HOST_CPU", "x86-64-v2", 1);
  char *a = emit_by_phases(chain(2), &pinned, NULL), *na = emit_by_phases(chain(2), &native, NULL);
  setenv("AOTC_HOST_CPU", "x86-64-v4", 1);
  char *b = emit_by_phases(chain(2), &pinned, NULL), *nb = emit_by_phases(chain(2), &native, NULL);
  cr_assert_str_eq(a, b);
  cr_assert_str_neq(na, nb);
  cr_assert(strstr(a, "aotc_ukr_f32_4x16_v8") && strstr(na, "aotc_ukr_f32_4x8_v4"));
  cr_assert(strstr(nb, "aotc_ukr_f32_6x32_v16"));
  free(a);
  free(b);
  free(na);
  free(nb);
}

/* ------------------------------------------------------------------------
 * The C row of the target table
 * ------------------------------------------------------------------------ */

Test(plan, c_target_row_is_complete)
{
  const emit_target *tg = &emit_target_c;
  for (int t = 0; t < IR_TYPE_COUNT; t++)
    cr_assert(tg->type_name[t] && tg->type_max[t] && tg->type_min[t], "type %d", t);
  for (int fn = 0; fn < IR_FN_COUNT; fn++) {
    bool special = fn == IR_FN_RSQRT || fn == IR_FN_SIGMOID || fn == IR_FN_MIN || fn == IR_FN_MAX || fn == IR_FN_ABS;
    cr_assert(special || (tg->libm[fn][0] && tg->libm[fn][1]), "builtin %s", ir_builtins[fn].name);
  }
  cr_assert(tg->parallel_for && tg->simd_for && tg->simd_reduction && tg->parallel_region && tg->for_static &&
            tg->for_dynamic && tg->thread_num && tg->vector_guard && tg->vector_type && tg->fp_contract);
  cr_assert(tg->fn_qualifier[EMIT_FN_HELPER] && tg->fn_qualifier[EMIT_FN_UKERNEL] && tg->fn_qualifier[EMIT_FN_ENTRY]);
  cr_assert_null(tg->barrier);
  int n = 0;
  while (tg->reserved[n])
    n++;
  cr_assert(n > 50);
}
