/* test_interp_fast.c: the reference interpreter's compiled statements
 * (src/ir/interp_fast.c) against its plain walk (ir_interpret_walk), bit for
 * bit: every kernel of tests/kernels/random.txt at several random sizes and
 * inputs drawn from that file's ranges, the same return code and the same
 * first error; and the speed-up on a 128^3 matmul (the tuner's reference). */
#define _GNU_SOURCE
#include "ir.h"
#include "../../src/ir/interp_priv.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef KERNELS_DIR
#define KERNELS_DIR "tests/kernels"
#endif
#define DRAWS 4

static aotc_ctx *ctx;

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
}

static void teardown(void)
{
  aotc_ctx_free(ctx);
}

TestSuite(interp_fast, .init = setup, .fini = teardown);

static uint64_t rng = 0x1234567;

static double uniform(void)
{
  rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(rng >> 11) * 0x1.0p-53;
}

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  int c;
  while ((c = fgetc(f)) != EOF)
    fputc(c, m);
  fclose(f);
  fclose(m);
  return buf;
}

static int param_index(const ir_func *f, const char *name, size_t len)
{
  for (int p = 0; p < f->n_params; p++)
    if (strlen(f->param_names[p]) == len && !strncmp(f->param_names[p], name, len))
      return p;
  return -1;
}

/* A bound of a range: a number or a size's name. */
static double bound(const ir_func *f, const int64_t *sizes, const char *text)
{
  size_t len = strcspn(text, ",)");
  int p = param_index(f, text, len);
  return p >= 0 ? (double)sizes[p] : strtod(text, NULL);
}

/* Sizes from the SIZE=LO:HI words of a random.txt line. */
static void draw_sizes(const ir_func *f, const char *line, int64_t *sizes)
{
  for (int p = 0; p < f->n_params; p++) {
    char key[64];
    snprintf(key, sizeof key, " %s=", f->param_names[p]);
    const char *at = strstr(line, key);
    long lo = 1, hi = 4;
    if (at)
      sscanf(at + strlen(key), "%ld:%ld", &lo, &hi);
    sizes[p] = lo + (int64_t)(uniform() * (double)(hi - lo + 1));
  }
}

static void store(void *data, ir_type t, int64_t i, double v)
{
  switch (t) {
  case IR_F32: ((float *)data)[i] = (float)v; break;
  case IR_F64: ((double *)data)[i] = v; break;
  case IR_BOOL: ((bool *)data)[i] = v != 0; break;
  case IR_I8: ((int8_t *)data)[i] = (int8_t)v; break;
  case IR_U8: ((uint8_t *)data)[i] = (uint8_t)v; break;
  case IR_I16: ((int16_t *)data)[i] = (int16_t)v; break;
  case IR_U16: ((uint16_t *)data)[i] = (uint16_t)v; break;
  case IR_I32: ((int32_t *)data)[i] = (int32_t)v; break;
  case IR_U32: ((uint32_t *)data)[i] = (uint32_t)v; break;
  case IR_I64: ((int64_t *)data)[i] = (int64_t)v; break;
  default: ((uint64_t *)data)[i] = (uint64_t)v; break;
  }
}

/* Input t filled from its NAME=TYPE[DIMS](LO,HI[,pm]) word. */
static void fill(const ir_func *f, int t, const int64_t *sizes, const char *line, void *data, int64_t n)
{
  char key[80];
  double lo = -1, hi = 1;
  bool pm = false, is_int = !ir_types[f->tensors[t]->type].is_float;
  snprintf(key, sizeof key, " %s=", f->tensors[t]->name);
  const char *at = strstr(line, key), *paren = at ? strchr(at, '(') : NULL, *space = at ? strchr(at + 1, ' ') : NULL;
  if (paren && (!space || paren < space)) {
    lo = bound(f, sizes, paren + 1);
    hi = bound(f, sizes, strchr(paren, ',') + 1);
    pm = strstr(paren, ",pm") && strstr(paren, ",pm") < (space ? space : paren + strlen(paren));
  } else if (is_int) {
    lo = 0, hi = 4;
  }
  for (int64_t i = 0; i < n; i++) {
    double v = lo + uniform() * (hi - lo);
    v = is_int ? floor(v) : v;
    store(data, f->tensors[t]->type, i, pm && uniform() < 0.5 ? -v : v);
  }
}

typedef struct run {
  int rc;
  char msg[512];
  void *out[16];
} run;

static void interpret(const ir_func *f, const int64_t *sizes, void **in, const size_t *bytes, bool walk, run *r)
{
  void *args[32];
  int n_in = f->n_inputs;
  for (int a = 0; a < n_in; a++)
    args[a] = in[a];
  for (int o = 0; o < f->n_outputs; o++)
    args[n_in + o] = r->out[o] = calloc(1, bytes[n_in + o]);
  int before = ctx->n_diags;
  r->rc = walk ? ir_interpret_walk(ctx, f, sizes, args) : ir_interpret(ctx, f, sizes, args);
  snprintf(r->msg, sizeof r->msg, "%s", ctx->n_diags > before ? ctx->diags[before].msg : "");
  ctx->n_diags = before;
  ctx->n_errors = 0;
}

/* One draw of one kernel: both runs, the same outcome bit for bit. */
static void compare_once(const ir_func *f, const char *line)
{
  int64_t sizes[32] = {0};
  size_t bytes[32];
  void *in[32];
  draw_sizes(f, line, sizes);
  for (int a = 0; a < f->n_inputs + f->n_outputs; a++) {
    int t = a < f->n_inputs ? f->inputs[a] : f->outputs[a - f->n_inputs];
    int64_t n = ir_tensor_numel(f, t, sizes);
    bytes[a] = (size_t)(n > 0 ? n : 1) * (size_t)ir_types[f->tensors[t]->type].bytes;
    if (a < f->n_inputs) {
      in[a] = calloc(1, bytes[a]);
      fill(f, t, sizes, line, in[a], n);
    }
  }
  run fast, walk;
  interpret(f, sizes, in, bytes, false, &fast);
  interpret(f, sizes, in, bytes, true, &walk);
  cr_assert_eq(fast.rc, walk.rc, "%s: rc %d (compiled) against %d (walk): %s%s", f->name, fast.rc, walk.rc,
               fast.msg, walk.msg);
  cr_assert_str_eq(fast.msg, walk.msg, "%s", f->name);
  for (int o = 0; !fast.rc && o < f->n_outputs; o++)
    cr_assert_eq(memcmp(fast.out[o], walk.out[o], bytes[f->n_inputs + o]), 0, "%s: output %d differs", f->name, o);
  for (int o = 0; o < f->n_outputs; o++)
    free(fast.out[o]), free(walk.out[o]);
  for (int a = 0; a < f->n_inputs; a++)
    free(in[a]);
}

static ir_module *compile_file(const char *file)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", KERNELS_DIR, file);
  char *text = slurp(path);
  ir_module *m = tc_compile(ctx, aotc_add_source(ctx, file, text, strlen(text)));
  free(text);
  cr_assert_not_null(m, "%s: %s", file, ctx->n_diags ? ctx->diags[0].msg : "?");
  return m;
}

Test(interp_fast, same_as_the_walk_on_the_random_corpus, .timeout = 120)
{
  char *all = slurp(KERNELS_DIR "/random.txt"), *save = NULL;
  int kernels = 0;
  for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char file[128], entry[128];
    if (line[0] == '#' || sscanf(line, "%127s %127s", file, entry) != 2)
      continue;
    entry[strcspn(entry, "@")] = 0;
    ir_func *f = ir_module_find(compile_file(file), entry);
    cr_assert_not_null(f, "%s in %s", entry, file);
    for (int d = 0; d < DRAWS; d++)
      compare_once(f, line);
    kernels++;
  }
  free(all);
  cr_assert_gt(kernels, 100);
}

Test(interp_fast, out_of_bounds_read_reported_alike)
{
  const char *text = "def shift(float(N) A) -> (O) {\n  O(i) = A(i + 1)\n}\n";
  ir_module *m = tc_compile(ctx, aotc_add_source(ctx, "t.tc", text, strlen(text)));
  cr_assert_not_null(m);
  compare_once(m->funcs[0], "t.tc shift N=3:6 : -> O");
}

static double seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The compiled statements are what makes the tuner's reference cheap: at
 * least 3 times faster than the walk on a matmul (about 6 measured). */
Test(interp_fast, faster_than_the_walk_on_a_matmul, .timeout = 60)
{
  const char *text = "def mm(float(M, K) A, float(K, N) B) -> (C) {\n  C(m, n) +=! A(m, r_k) * B(r_k, n)\n}\n";
  ir_module *m = tc_compile(ctx, aotc_add_source(ctx, "t.tc", text, strlen(text)));
  cr_assert_not_null(m);
  int64_t sizes[] = {128, 128, 128};
  size_t bytes[] = {128 * 128 * 4, 128 * 128 * 4, 128 * 128 * 4};
  void *in[] = {calloc(1, bytes[0]), calloc(1, bytes[1])};
  fill(m->funcs[0], m->funcs[0]->inputs[0], sizes, "", in[0], 128 * 128);
  fill(m->funcs[0], m->funcs[0]->inputs[1], sizes, "", in[1], 128 * 128);
  run r[2];
  double t0 = seconds();
  interpret(m->funcs[0], sizes, in, bytes, false, &r[0]);
  double t1 = seconds();
  interpret(m->funcs[0], sizes, in, bytes, true, &r[1]);
  double t2 = seconds();
  cr_assert_eq(memcmp(r[0].out[0], r[1].out[0], bytes[2]), 0);
  cr_log_info("matmul 128^3: compiled %.3f s, walk %.3f s", t1 - t0, t2 - t1);
  cr_assert_lt(3 * (t1 - t0), t2 - t1, "compiled %.3f s, walk %.3f s", t1 - t0, t2 - t1);
  free(r[0].out[0]), free(r[1].out[0]), free(in[0]), free(in[1]);
}
