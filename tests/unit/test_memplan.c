/* test_memplan.c: the memory plan (src/graph/memplan.c) and its per-call
 * form in the emitted code (aotc_ws_plan, src/emit_c/emit_abi.c). Random
 * lifetimes and random sizes: temporaries live in one kernel never share a
 * byte (checked pair by pair from the lifetimes the test built, not from the
 * plan's), offsets are 64-byte aligned, the workspace is at least the lower
 * bound; the search after the rounds never grows a plan and reaches the
 * bound on a case from ResNet-18; and the emitted placement, compiled with
 * the system compiler, gives the same offsets and size as the compiler's
 * plan without the search for every case. */
#define _GNU_SOURCE
#include "graph.h"
#include "emit_print.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static aotc_ctx *ctx;

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
}

static void teardown(void)
{
  aotc_ctx_free(ctx);
}

TestSuite(memplan, .init = setup, .fini = teardown);

enum { MAX_TEMPS = 40, MAX_KERNELS = 12 };

/* A random case: temporary i lives in kernels first[i]..last[i] and holds
 * elems[i] floats (sizes drawn from a few values, so that ties happen). */
typedef struct plan_case {
  int n, n_kernels;
  int first[MAX_TEMPS], last[MAX_TEMPS];
  int64_t elems[MAX_TEMPS];
} plan_case;

static unsigned next_rand(unsigned *s)
{
  *s = *s * 1103515245u + 12345u;
  return (*s >> 8) & 0xffffff;
}

static plan_case random_case(unsigned seed)
{
  static const int64_t sizes[] = {1, 16, 17, 100, 1000, 4096, 5000, 65536};
  plan_case c = {.n = 1 + (int)(next_rand(&seed) % MAX_TEMPS), .n_kernels = 1 + (int)(next_rand(&seed) % MAX_KERNELS)};
  for (int i = 0; i < c.n; i++) {
    int a = (int)(next_rand(&seed) % (unsigned)c.n_kernels), b = (int)(next_rand(&seed) % (unsigned)c.n_kernels);
    c.first[i] = a < b ? a : b;
    c.last[i] = a < b ? b : a;
    c.elems[i] = next_rand(&seed) % 3 ? sizes[next_rand(&seed) % 8] : 1 + (int64_t)(next_rand(&seed) % 70000);
  }
  return c;
}

static ir_expr *access(int t)
{
  ir_expr *e = ir_expr_new(ctx, IR_ACCESS, IR_F32, (ir_loc){0}, 0);
  e->tensor = t;
  return e;
}

/* A statement in `kernel` writing tensor t from tensor `from` (-1: a constant). */
static void add_stmt(ir_func *f, int kernel, int t, int from)
{
  ir_stmt *s = IR_NEW(ctx, ir_stmt);
  s->tensor = t;
  s->n_lhs = 1;
  s->lhs = IR_NEW_ARRAY(ctx, int, 1);
  s->rhs = from >= 0 ? access(from) : ir_expr_new(ctx, IR_CONST_FLOAT, IR_F32, (ir_loc){0}, 0);
  f->stmt_kernel[f->n_stmts] = kernel;
  f->stmts[f->n_stmts++] = s;
}

static int add_tensor(ir_func *f, ir_role role, ir_size *size)
{
  ir_tensor *T = IR_NEW(ctx, ir_tensor);
  T->name = ir_sprintf(ctx, "t%d", f->n_tensors);
  T->type = IR_F32;
  T->role = role;
  T->rank = 1;
  T->shape = IR_NEW_ARRAY(ctx, ir_size *, 1);
  T->shape[0] = size;
  f->tensors[f->n_tensors] = T;
  return f->n_tensors++;
}

/* Temporary i written in kernel first[i] and read into the output in kernel
 * last[i]; the statements in kernel order. size_of(i) gives its size. */
static ir_func *case_func(const plan_case *c, ir_size *(*size_of)(const plan_case *, int))
{
  ir_func *f = IR_NEW(ctx, ir_func);
  f->name = "plan";
  f->tensors = IR_NEW_ARRAY(ctx, ir_tensor *, MAX_TEMPS + 1);
  f->stmts = IR_NEW_ARRAY(ctx, ir_stmt *, 2 * MAX_TEMPS);
  f->stmt_kernel = IR_NEW_ARRAY(ctx, int, 2 * MAX_TEMPS);
  int out = add_tensor(f, IR_OUTPUT, ir_size_const(ctx, 1));
  for (int i = 0; i < c->n; i++)
    add_tensor(f, IR_TEMP, size_of(c, i));
  for (int k = 0; k < c->n_kernels; k++)
    for (int i = 0; i < c->n; i++) {
      if (c->first[i] == k)
        add_stmt(f, k, 1 + i, -1);
      if (c->last[i] == k)
        add_stmt(f, k, out, 1 + i);
    }
  return f;
}

static ir_size *const_size(const plan_case *c, int i)
{
  return ir_size_const(ctx, c->elems[i]);
}

static ir_size *param_size(const plan_case *c, int i)
{
  return ir_size_bin(ctx, IR_SZ_MUL, ir_size_const(ctx, c->elems[i]), ir_size_param(ctx, 0));
}

static int64_t bytes_of(const plan_case *c, int i)
{
  return (c->elems[i] * 4 + 63) / 64 * 64;
}

/* No two temporaries live in one kernel share a byte; offsets aligned and
 * inside the workspace. */
static void check_disjoint(const plan_case *c, const int64_t *off, int64_t total, unsigned seed)
{
  for (int i = 0; i < c->n; i++) {
    cr_assert_eq(off[i] % 64, 0, "seed %u: temporary %d at %lld", seed, i, (long long)off[i]);
    cr_assert_leq(off[i] + bytes_of(c, i), total, "seed %u: temporary %d leaves the workspace", seed, i);
    for (int j = 0; j < i; j++) {
      bool live_together = c->first[i] <= c->last[j] && c->first[j] <= c->last[i];
      bool share = off[i] < off[j] + bytes_of(c, j) && off[j] < off[i] + bytes_of(c, i);
      cr_assert(!(live_together && share), "seed %u: temporaries %d and %d overlap", seed, i, j);
    }
  }
}

/* The compiler's plan of case c with at most `passes` passes of its search:
 * offsets, workspace bytes, lower bound. */
static int64_t search_plan(const plan_case *c, int passes, int64_t *off, int64_t *bound)
{
  ir_func *f = case_func(c, const_size);
  cr_assert(passes < 0 ? ir_memplan(ctx, f, bound) : ir_memplan_search(ctx, f, bound, passes));
  cr_assert(f->memory_planned);
  for (int i = 0; i < c->n; i++)
    off[i] = f->tensors[1 + i]->ws_offset;
  return f->workspace_bytes;
}

/* The plan a compilation makes (ir_memplan, its search included). */
static int64_t compile_plan(const plan_case *c, int64_t *off, int64_t *bound)
{
  return search_plan(c, -1, off, bound);
}

Test(memplan, random_lifetimes_never_share_bytes)
{
  for (unsigned seed = 1; seed <= 300; seed++) {
    plan_case c = random_case(seed);
    int64_t off[MAX_TEMPS], bound, most_live = 0;
    int64_t total = compile_plan(&c, off, &bound);
    check_disjoint(&c, off, total, seed);
    for (int k = 0; k < c.n_kernels; k++) {
      int64_t live = 0;
      for (int i = 0; i < c.n; i++)
        live += c.first[i] <= k && k <= c.last[i] ? bytes_of(&c, i) : 0;
      most_live = live > most_live ? live : most_live;
    }
    cr_assert_eq(bound, most_live, "seed %u: lower bound", seed);
    cr_assert_geq(total, bound, "seed %u", seed);
  }
}

/* A case from a table of {first kernel, last kernel, size in units of
 * `unit` floats}. */
static plan_case spans_case(const int (*spans)[3], int n, int n_kernels, int64_t unit)
{
  plan_case c = {.n = n, .n_kernels = n_kernels};
  for (int i = 0; i < n; i++) {
    c.first[i] = spans[i][0];
    c.last[i] = spans[i][1];
    c.elems[i] = spans[i][2] * unit;
  }
  return c;
}

/* ConvNeXt-T's first stage (kernels 0-25 of the model, unit 96x56x56
 * floats): a residual that lives from one block into the next, and each
 * block's 4x wide MLP hidden tensor. Every one of the three orders puts the
 * hidden tensors at offset 0, which pushes the residual above two others:
 * 7 units where 6 are live at most. */
static plan_case residual_case(void)
{
  static const int spans[][3] = {
      {0, 2, 1},   {2, 2, 1},   {2, 3, 1},   {3, 10, 1},  {4, 5, 1},   {5, 5, 1},   {5, 6, 1},
      {6, 8, 4},   {8, 10, 1},  {10, 10, 1}, {10, 10, 1}, {10, 17, 1}, {11, 12, 1}, {12, 12, 1},
      {12, 13, 1}, {13, 15, 4}, {15, 17, 1}, {17, 17, 1}, {17, 17, 1}, {17, 24, 1}, {18, 19, 1},
      {19, 19, 1}, {19, 20, 1}, {20, 22, 4}, {22, 24, 1}, {24, 24, 1}, {24, 24, 1}, {24, 25, 1}};
  return spans_case(spans, (int)(sizeof spans / sizeof spans[0]), 26, 96 * 56 * 56);
}

Test(memplan, residual_across_blocks_reaches_the_lower_bound)
{
  plan_case c = residual_case();
  int64_t off[MAX_TEMPS], bound;
  int64_t total = compile_plan(&c, off, &bound);
  check_disjoint(&c, off, total, 0);
  cr_assert_eq(bound, 6 * bytes_of(&c, 0));
  cr_assert_eq(total, bound, "workspace %lld, lower bound %lld", (long long)total, (long long)bound);
}

/* ResNet-18's first 14 kernels with F(4x4) Winograd in layer1 (sizes in
 * floats): conv1's padded input and output, the max pool's output (the
 * residual, live to the first block's add), then per 3x3 convolution the
 * padded input, the transformed input and the product (36 x 196 tiles x
 * 64), the product's row transform and the output. By size every order
 * leaves the residual above a pair of products: 1.18x the bound. */
static plan_case winograd_residual_case(void)
{
  static const int spans[][3] = {{0, 1, 157328},  {1, 3, 802816},   {3, 13, 200704},  {4, 5, 311808},  {5, 6, 451584},
                                 {6, 7, 451584},  {7, 8, 301056},   {8, 9, 200704},   {9, 10, 311808}, {10, 11, 451584},
                                 {11, 12, 451584}, {12, 13, 301056}, {13, 13, 200704}};
  return spans_case(spans, (int)(sizeof spans / sizeof spans[0]), 14, 1);
}

Test(memplan, search_reaches_the_lower_bound_the_rounds_miss)
{
  plan_case c = winograd_residual_case();
  int64_t off[MAX_TEMPS], bound;
  int64_t rounds = search_plan(&c, 0, off, &bound);
  cr_assert_gt(rounds * 100, bound * 115, "without the search: workspace %lld, lower bound %lld", (long long)rounds,
               (long long)bound);
  int64_t total = compile_plan(&c, off, &bound);
  check_disjoint(&c, off, total, 0);
  cr_assert_eq(bound, bytes_of(&c, 2) + 2 * bytes_of(&c, 4));
  cr_assert_eq(total, bound, "workspace %lld, lower bound %lld", (long long)total, (long long)bound);
}

/* The search never leaves a plan larger than the rounds' (random cases). */
Test(memplan, search_never_grows_the_plan)
{
  for (unsigned seed = 1; seed <= 300; seed++) {
    plan_case c = random_case(seed);
    int64_t off[MAX_TEMPS], bound;
    int64_t rounds = search_plan(&c, 0, off, &bound), total = compile_plan(&c, off, &bound);
    check_disjoint(&c, off, total, seed);
    cr_assert_leq(total, rounds, "seed %u: searched %lld, rounds %lld", seed, (long long)total, (long long)rounds);
    cr_assert_geq(total, bound, "seed %u", seed);
  }
}

Test(memplan, sizes_with_parameters_planned_per_call)
{
  plan_case c = random_case(7);
  ir_func *f = case_func(&c, param_size);
  int64_t bound = 0;
  cr_assert(ir_memplan(ctx, f, &bound));
  cr_assert(!f->memory_planned && f->memory_planned_per_call);
  for (int i = 0; i < c.n; i++) {
    cr_assert_eq(f->tensors[1 + i]->live_first, c.first[i]);
    cr_assert_eq(f->tensors[1 + i]->live_last, c.last[i]);
  }
}

typedef size_t (*ws_plan_fn)(int n, const int live[][2], size_t *p);

/* aotc_ws_plan as the emitted code has it, built into a shared object. */
static ws_plan_fn load_ws_plan(char *dir, void **so)
{
  char path[256], cmd[512];
  strcpy(dir, "/tmp/aotc_memplan_XXXXXX");
  cr_assert(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/plan.c", dir);
  FILE *out = fopen(path, "w");
  cr_assert(out);
  fprintf(out, "#include <stddef.h>\nsize_t aotc_ws_plan(int n, const int live[][2], size_t *p);\n%s",
          emit_abi_ws_plan_text);
  fclose(out);
  snprintf(cmd, sizeof(cmd), "cd %s && cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -fPIC -shared -o plan.so plan.c",
           dir);
  if (system(cmd) != 0)
    return NULL;
  snprintf(path, sizeof(path), "%s/plan.so", dir);
  *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  cr_assert(*so, "dlopen: %s", dlerror());
  return (ws_plan_fn)dlsym(*so, "aotc_ws_plan");
}

/* The emitted placement of case c: offsets, returned workspace bytes. */
static int64_t emitted_plan(ws_plan_fn plan, const plan_case *c, int64_t *off)
{
  int live[MAX_TEMPS][2];
  size_t p[6 * MAX_TEMPS];
  for (int i = 0; i < c->n; i++) {
    live[i][0] = c->first[i];
    live[i][1] = c->last[i];
    p[i] = (size_t)bytes_of(c, i);
  }
  int64_t total = (int64_t)plan(c->n, (const int(*)[2])live, p);
  for (int i = 0; i < c->n; i++)
    off[i] = (int64_t)p[c->n + i];
  return total;
}

Test(memplan, emitted_placement_matches_the_compilers)
{
  char dir[64], cmd[128];
  void *so = NULL;
  ws_plan_fn plan = load_ws_plan(dir, &so);
  if (!plan)
    cr_skip_test("no C compiler (cc) to build the emitted placement");
  for (unsigned seed = 0; seed <= 300; seed++) {
    plan_case c = seed ? random_case(seed) : residual_case();
    int64_t want[MAX_TEMPS], got[MAX_TEMPS], bound;
    int64_t want_total = search_plan(&c, 0, want, &bound), got_total = emitted_plan(plan, &c, got);
    check_disjoint(&c, got, got_total, seed);
    cr_assert_eq(got_total, want_total, "seed %u: workspace %lld, the compiler's plan %lld", seed,
                 (long long)got_total, (long long)want_total);
    for (int i = 0; i < c.n; i++)
      cr_assert_eq(got[i], want[i], "seed %u: temporary %d", seed, i);
  }
  dlclose(so);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  cr_assert_eq(system(cmd), 0);
}
