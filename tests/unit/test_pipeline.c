/* test_pipeline.c: the pass list (its order, `aotc --dump=passes`), what
 * `--dump-after=PASS` shows after each pass of a TC file and of a small
 * ONNX model (fixtures/passes.onnx, made by fixtures/make_passes.py: every
 * graph pass has something to do in it), and out-of-memory injection into
 * the ONNX reader, the graph passes and the tuner's cache reader: the k-th
 * allocation fails, for every k until the run succeeds; each failing run
 * reports an error and leaks nothing (checked under ASan). */
#define _GNU_SOURCE
#include "ir.h"
#include "npy.h"
#include "pipeline.h"
#include "../../src/autotune/tune.h"

#include <criterion/criterion.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static aotc_ctx *ctx;

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
}

static void teardown(void)
{
  aotc_ctx_free(ctx);
}

TestSuite(pipeline, .init = setup, .fini = teardown);

/* A file beside this source (tests/unit/NAME). */
static const char *here(const char *name)
{
  const char *slash = strrchr(__FILE__, '/');
  const char *p = slash ? ir_sprintf(ctx, "%.*s/%s", (int)(slash - __FILE__), __FILE__, name) : name;
  if (access(p, R_OK))
    p = ir_sprintf(ctx, "tests/unit/%s", name);
  return p;
}

static unsigned char *slurp(const char *path, size_t *len)
{
  unsigned char *buf = driver_read_file(ctx, path, len);
  cr_assert_not_null(buf, "cannot read %s", path);
  return buf;
}

/* build/aotc, beside the directory of this test binary (build/tests). */
static const char *aotc_binary(void)
{
  static char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 16);
  if (n <= 0)
    return NULL;
  exe[n] = 0;
  char *path = ir_sprintf(ctx, "%s/aotc", dirname(dirname(exe)));
  return access(path, X_OK) ? NULL : path;
}

static const char *require_aotc(void)
{
  const char *aotc = aotc_binary();
  if (!aotc)
    cr_skip_test("build/aotc not found");
  return aotc;
}

/* stdout and stderr of a shell command, and its exit status in *rc. */
static char *run_capture(const char *cmd, int *rc)
{
  FILE *p = popen(ir_sprintf(ctx, "%s 2>&1", cmd), "r");
  cr_assert_not_null(p);
  char *out = NULL;
  size_t cap = 0, len = 0, n;
  char buf[4096];
  FILE *mem = open_memstream(&out, &cap);
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    fwrite(buf, 1, n, mem), len += n;
  fclose(mem);
  int status = pclose(p);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  char *copy = ir_strdup(ctx, out ? out : "");
  free(out);
  return copy;
}

/* ------------------------------------------------------------------------
 * The list
 * ------------------------------------------------------------------------ */

/* The passes the pipeline must hold, in this relative order. */
static const char *const required[] = {"read", "infer-shapes", "fold-constants", "fold-batchnorm", "dce", "lower",
                                        "partition", "plan-memory", "verify", "select"};
#define N_REQUIRED (int)(sizeof required / sizeof required[0])

Test(pipeline, passes_in_order)
{
  int last = -1;
  for (int i = 0; i < N_REQUIRED; i++) {
    int k = driver_pass_index(required[i]);
    cr_assert_gt(k, last, "pass '%s' missing or out of order", required[i]);
    last = k;
  }
  cr_expect_eq(driver_passes[driver_n_passes - 1].kind, DRIVER_PASS_BACKEND, "the list ends with the backend");
  for (int i = 0; i < driver_n_passes; i++) {
    cr_expect_eq(driver_pass_index(driver_passes[i].name), i, "two passes named '%s'", driver_passes[i].name);
    cr_expect(driver_passes[i].summary && strlen(driver_passes[i].summary) > 10);
  }
  cr_expect_lt(driver_pass_index("partition"), driver_pass_index("plan-memory"));
  cr_expect_gt(driver_pass_index("partition"), driver_pass_index("lower"), "partitioning is a late pass");
  cr_expect_eq(driver_pass_index("no-such-pass"), -1);
}

Test(pipeline, dump_passes_prints_the_list)
{
  const char *aotc = require_aotc();
  int rc;
  char *out = run_capture(ir_sprintf(ctx, "'%s' --dump=passes", aotc), &rc);
  cr_assert_eq(rc, 0, "%s", out);
  char *line = out;
  for (int i = 0; i < driver_n_passes; i++) {
    char *nl = strchr(line, '\n');
    cr_assert_not_null(nl, "%s", out);
    *nl = 0;
    cr_expect(!strncmp(line, driver_passes[i].name, strlen(driver_passes[i].name)), "line %d: %s", i, line);
    cr_expect_not_null(strstr(line, driver_passes[i].summary), "line %d: %s", i, line);
    line = nl + 1;
  }
  cr_expect_str_eq(line, "");
}

/* ------------------------------------------------------------------------
 * --dump-after, in the library: each pass run alone, the module printed
 * ------------------------------------------------------------------------ */

typedef struct walk {
  driver_module m;
  driver_config cfg;
  char *dumps[32]; /* per pass, what the dump printed */
  char dir[64];
} walk;

static char *dump_of(const driver_module *m, int pass)
{
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  driver_dump_module(mem, m, &driver_passes[pass]);
  fclose(mem);
  char *copy = ir_strdup(ctx, text);
  free(text);
  return copy;
}

/* Runs every pass of the pipeline on path, keeping each one's dump. */
static void walk_file(walk *w, const char *path, const char *const *sizes, int n_sizes)
{
  size_t len;
  unsigned char *buf = slurp(path, &len);
  cr_assert_lt(driver_n_passes, 32);
  w->cfg = (driver_config){.fuse = true, .schedules = true, .sizes = sizes, .n_sizes = n_sizes};
  driver_module_init(&w->m, ctx, &w->cfg, path, buf, len);
  w->m.func_name = "passes";
  strcpy(w->dir, "/tmp/aotc-test-pipeline-XXXXXX");
  cr_assert_not_null(mkdtemp(w->dir));
  w->m.c_path = ir_sprintf(ctx, "%s/k.c", w->dir);
  w->m.h_path = ir_sprintf(ctx, "%s/k.h", w->dir);
  w->m.c_out = fopen(w->m.c_path, "w");
  w->m.h_out = fopen(w->m.h_path, "w");
  w->m.header_name = "k.h";
  for (int i = 0; i < driver_n_passes; i++) {
    cr_assert(driver_run_passes(&w->m, i, i), "pass %s: %s", driver_passes[i].name,
              ctx->n_diags ? ctx->diags[0].msg : "?");
    w->dumps[i] = dump_of(&w->m, i);
  }
  fclose(w->m.c_out);
  fclose(w->m.h_out);
  aotc_free(ctx, buf);
  unlink(w->m.c_path);
  unlink(w->m.h_path);
  rmdir(w->dir);
}

static const char *after(const walk *w, const char *pass)
{
  int k = driver_pass_index(pass);
  cr_assert_geq(k, 0, "no pass %s", pass);
  return w->dumps[k];
}

/* text appears after pass and not after the pass before it. */
static void expect_new(const walk *w, const char *pass, const char *text)
{
  int k = driver_pass_index(pass);
  cr_assert_gt(k, 0);
  cr_expect_not_null(strstr(w->dumps[k], text), "after %s, no '%s' in:\n%s", pass, text, w->dumps[k]);
  cr_expect_null(strstr(w->dumps[k - 1], text), "'%s' already there before %s", text, pass);
}

Test(pipeline, dump_after_every_pass_of_a_model)
{
  walk w;
  walk_file(&w, here("fixtures/passes.onnx"), NULL, 0);
  cr_expect_not_null(strstr(after(&w, "read"), "value %10 conv_out: ?\n"), "%s", after(&w, "read"));
  expect_new(&w, "infer-shapes", "conv_out: float(1, 3, 4, 4)\n");
  expect_new(&w, "infer-shapes", "new_shape: int64(2) constant\n");
  cr_expect_not_null(strstr(after(&w, "infer-shapes"), "product: float(48)\n"), "Mul folded too early");
  expect_new(&w, "fold-constants", "product: float(48) constant\n");
  expect_new(&w, "fold-batchnorm", "W_bn: float(3, 2, 3, 3) constant");
  expect_new(&w, "fold-batchnorm", "'bn' () -> () dead");
  expect_new(&w, "dce", "'unused_sigmoid' (%9) -> (%19) dead");
  expect_new(&w, "dce", "'mul' (%7, %8) -> (%17) dead");
  expect_new(&w, "lower", "def passes(float(1, 2, 4, 4) x) -> (float(1, 48) y)");
  /* the convolution: its padded input's four border bands and interior copy, then the product */
  expect_new(&w, "lower", "operators of 'passes':\n  operator 0: stmt 0..6\n");
  expect_new(&w, "partition", "kernels of 'passes':\n  kernel 0: stmt 0..4\n  kernel 1: stmt 5..7\n  kernel 2: stmt 8..9\n");
  expect_new(&w, "plan-memory", "memory plan: workspace ");
  expect_new(&w, "plan-memory", "relu_out at offset ");
  cr_expect_str_eq(strchr(after(&w, "verify"), '\n'), strchr(after(&w, "plan-memory"), '\n'));
  expect_new(&w, "select", "plan 'passes': schedule: heuristics\n");
  expect_new(&w, driver_passes[driver_n_passes - 1].name, "int passes(const float *x, float *y, void *workspace)");
}

Test(pipeline, dump_after_every_pass_of_a_tc_file)
{
  static const char *const sizes[] = {"M=8"};
  walk w;
  walk_file(&w, here("../golden/matmul.tc"), sizes, 1);
  const char *read = after(&w, "read");
  cr_expect_not_null(strstr(read, "def matmul("), "%s", read);
  for (int i = 1; i <= driver_pass_index("verify"); i++)
    cr_expect_str_eq(strchr(w.dumps[i], '\n'), strchr(read, '\n'), "a TC def is unchanged by %s",
                     driver_passes[i].name);
  cr_expect_null(strstr(after(&w, "verify"), "kernels of"), "a TC def stays one kernel");
  expect_new(&w, "select", "plan 'matmul': M=8 schedule: heuristics\n");
  cr_expect_not_null(strstr(w.dumps[driver_n_passes - 1], "int matmul("));
}

/* ------------------------------------------------------------------------
 * --dump-after on the command line
 * ------------------------------------------------------------------------ */

Test(pipeline, dump_after_on_the_command_line)
{
  const char *aotc = require_aotc();
  const char *model = here("fixtures/passes.onnx");
  int rc;
  for (int i = 0; i < driver_n_passes; i++) {
    const char *name = driver_passes[i].name;
    char *out = run_capture(ir_sprintf(ctx, "'%s' '%s' -o /dev/null --dump-after=%s", aotc, model, name), &rc);
    cr_expect_eq(rc, 0, "%s: %s", name, out);
    cr_expect_not_null(strstr(out, ir_sprintf(ctx, "=== after %s ===\n", name)), "%s: %s", name, out);
  }
  char *out = run_capture(ir_sprintf(ctx, "'%s' '%s' -o /dev/null --dump-after plan-memory", aotc, model), &rc);
  cr_expect_not_null(strstr(out, "memory plan: workspace"), "%s", out);
  struct stat st;
  cr_expect(!stat("/dev/null", &st) && S_ISCHR(st.st_mode), "-o /dev/null replaced the device with a file");
  out = run_capture(ir_sprintf(ctx, "'%s' '%s' -o /dev/null --dump-after=fold", aotc, model), &rc);
  cr_expect_eq(rc, 1);
  cr_expect_not_null(strstr(out, "no pass named 'fold'"), "%s", out);
  out = run_capture(ir_sprintf(ctx, "'%s' check '%s' --dump-after=%s", aotc, here("../golden/matmul.tc"),
                               driver_passes[driver_n_passes - 1].name), &rc);
  cr_expect_eq(rc, 1);
  cr_expect_not_null(strstr(out, "does not run"), "%s", out);
}

/* ------------------------------------------------------------------------
 * Out-of-memory injection
 * ------------------------------------------------------------------------ */

typedef struct injector {
  long count;   /* allocations so far */
  long fail_at; /* the one to refuse; -1: none */
  bool failed;  /* it was refused */
  long live;    /* blocks allocated and not freed */
} injector;

static void *fail_kth(void *ud, void *ptr, size_t osize, size_t nsize)
{
  injector *in = ud;
  (void)osize;
  if (nsize == 0) {
    in->live -= ptr != NULL;
    free(ptr);
    return NULL;
  }
  if (in->count++ == in->fail_at) {
    in->failed = true;
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  in->live += p && !ptr;
  return p;
}

typedef bool (*oom_run)(aotc_ctx *c, void *arg);

/* Runs run with the k-th allocation refused, k = 0, 1, ... until a run
 * meets no refusal: each refused run must fail with an error or the
 * out-of-memory flag; the last must succeed; every block the hook gave out
 * is freed with the context. Returns the allocations of a whole run. */
static long sweep(oom_run run, void *arg)
{
  for (long k = 0; k < 1000000; k++) {
    injector in = {.fail_at = -1};
    aotc_ctx *c = aotc_ctx_new(fail_kth, &in);
    cr_assert_not_null(c);
    in.fail_at = in.count + k;
    bool ok = run(c, arg);
    if (in.failed)
      cr_assert(!ok && (c->oom || c->n_errors), "allocation %ld refused: ok=%d oom=%d errors=%d", k, ok, c->oom,
                c->n_errors);
    bool done = !in.failed;
    if (done)
      cr_assert(ok, "the run fails without any refusal: %s", c->n_diags ? c->diags[0].msg : "?");
    aotc_ctx_free(c);
    cr_assert_eq(in.live, 0, "allocation %ld refused: %ld blocks leaked", k, in.live);
    if (done)
      return k;
  }
  cr_assert_fail("no end");
  return -1;
}

typedef struct bytes {
  const unsigned char *data;
  size_t len;
  const char *path;
} bytes;

static bool compile_model(aotc_ctx *c, void *arg)
{
  const bytes *b = arg;
  return onnx_compile(c, b->path, b->data, b->len, "passes") != NULL;
}

Test(pipeline, onnx_reader_and_graph_passes_out_of_memory, .timeout = 120)
{
  bytes b = {.path = here("fixtures/passes.onnx")};
  unsigned char *buf = slurp(b.path, &b.len);
  b.data = buf;
  long n = sweep(compile_model, &b);
  cr_expect_gt(n, 20, "the protobuf decoder allocates through the hook");
  aotc_free(ctx, buf);
}

static bool inputs_of_model(aotc_ctx *c, void *arg)
{
  const bytes *b = arg;
  int n;
  return onnx_model_inputs(c, b->data, b->len, &n) != NULL;
}

Test(pipeline, onnx_model_inputs_out_of_memory)
{
  bytes b = {.path = here("fixtures/passes.onnx")};
  unsigned char *buf = slurp(b.path, &b.len);
  b.data = buf;
  sweep(inputs_of_model, &b);
  aotc_free(ctx, buf);
}

typedef struct cache_case {
  const char *path;
  const ir_func *f;
  const int64_t *sizes;
} cache_case;

static bool find_in_cache(aotc_ctx *c, void *arg)
{
  const cache_case *cc = arg;
  sched_options o;
  tune_cache cache;
  return tune_cache_load(c, cc->path, &cache) && cache.n == 40 &&
         tune_cache_find(c, cc->path, cc->f, cc->sizes, 1, "cc", NULL, &o) && o.tile[0] == 16;
}

Test(pipeline, tuning_cache_reader_out_of_memory, .timeout = 60)
{
  static const char text[] = "def mm(float(M, K) A, float(K, N) B) -> (C) {\n  C(m, n) +=! A(m, r_k) * B(r_k, n)\n}\n";
  ir_module *mod = tc_compile(ctx, aotc_add_source(ctx, "mm.tc", text, sizeof text - 1));
  cr_assert_not_null(mod);
  int64_t sizes[] = {16, 16, 16};
  tune_cache cache = {0};
  tune_entry e;
  memset(&e, 0, sizeof e);
  cr_assert(tune_key_make(ctx, mod->funcs[0], sizes, 1, "cc", &e.key));
  for (int i = 0; i < 40; i++) {
    e.key.threads = i ? i + 1 : 1;
    e.seconds = 1e-3;
    snprintf(e.options, sizeof e.options, "tile=%d", i ? 8 : 16);
    cr_assert(tune_cache_record(ctx, &cache, &e));
  }
  char dir[] = "/tmp/aotc-test-oom-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  cache_case cc = {ir_sprintf(ctx, "%s/cache.txt", dir), mod->funcs[0], sizes};
  cr_assert(tune_cache_save(ctx, cc.path, &cache));
  sweep(find_in_cache, &cc);
  unlink(cc.path);
  rmdir(dir);
}

static bool load_npy(aotc_ctx *c, void *arg)
{
  npy_array a;
  bool loaded = driver_npy_load(c, arg, &a), ok = loaded && driver_npy_convert(&a, IR_F64) && a.numel == 32;
  if (loaded)
    driver_npy_free(&a);
  return ok;
}

Test(pipeline, npy_reader_out_of_memory)
{
  char dir[] = "/tmp/aotc-test-npy-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  float data[32];
  for (int i = 0; i < 32; i++)
    data[i] = (float)i;
  npy_array a = {.type = IR_F32, .rank = 2, .shape = {4, 8}, .numel = 32, .data = data};
  const char *path = ir_sprintf(ctx, "%s/a.npy", dir);
  cr_assert(driver_npy_save(ctx, path, &a));
  sweep(load_npy, (void *)path);
  unlink(path);
  rmdir(dir);
}

/* ------------------------------------------------------------------------
 * aotc run: outputs all or none, no temporary folder left when killed
 * ------------------------------------------------------------------------ */

/* A private folder with two.tc (two outputs) and a.npy (8 floats). */
static const char *run_fixture(void)
{
  static const char text[] = "def two(float(N) A) -> (C, D) {\n  C(i) = A(i)\n  D(i) = A(i) * 2\n}\n";
  char *dir = ir_strdup(ctx, "/tmp/aotc-test-run-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  FILE *f = fopen(ir_sprintf(ctx, "%s/two.tc", dir), "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
  float data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  npy_array a = {.type = IR_F32, .rank = 1, .shape = {8}, .numel = 8, .data = data};
  cr_assert(driver_npy_save(ctx, ir_sprintf(ctx, "%s/a.npy", dir), &a));
  return dir;
}

static void remove_fixture(const char *dir)
{
  int rc;
  run_capture(ir_sprintf(ctx, "rm -rf '%s'", dir), &rc);
}

Test(pipeline, run_writes_all_outputs_or_none, .timeout = 60)
{
  const char *aotc = require_aotc(), *dir = run_fixture();
  int rc;
  const char *run = ir_sprintf(ctx, "cd '%s' && '%s' run two.tc --input A=a.npy --output-dir out", dir, aotc);
  char *out = run_capture(ir_sprintf(ctx, "mkdir -p '%s/out/D.npy' && %s", dir, run), &rc);
  cr_expect_eq(rc, 1, "%s", out);
  cr_expect_not_null(strstr(out, "cannot write"), "%s", out);
  out = run_capture(ir_sprintf(ctx, "ls -A '%s/out'", dir), &rc);
  cr_expect_str_eq(out, "D.npy\n", "C.npy written although D.npy could not be");
  out = run_capture(ir_sprintf(ctx, "rmdir '%s/out/D.npy' && %s && ls -A '%s/out'", dir, run, dir), &rc);
  cr_expect_str_eq(out, "C.npy\nD.npy\n");
  remove_fixture(dir);
}

Test(pipeline, killed_run_leaves_no_temporary_folder, .timeout = 90)
{
  const char *aotc = require_aotc(), *dir = run_fixture();
  int rc;
  FILE *f = fopen(ir_sprintf(ctx, "%s/slow-cc", dir), "w");
  cr_assert_not_null(f);
  fputs("#!/bin/sh\nsleep 20\nexec cc \"$@\"\n", f);
  fclose(f);
  const char *cmd = ir_sprintf(
      ctx,
      "cd '%s' && chmod +x slow-cc && mkdir tmp && "
      "(TMPDIR=$PWD/tmp CC=$PWD/slow-cc '%s' run two.tc --input A=a.npy --output-dir out >/dev/null 2>&1 & "
      "pid=$!; for i in $(seq 200); do ls tmp | grep -q aotc-run && break; sleep 0.1; done; sleep 0.3; "
      "kill -TERM $pid; wait $pid; echo status=$?; ls -A tmp; ls out 2>/dev/null)",
      dir, aotc);
  char *out = run_capture(cmd, &rc), *status = strstr(out, "status=");
  cr_assert_not_null(status, "%s", out);
  cr_expect_str_eq(status, "status=143\n", "killed by SIGTERM, nothing left in TMPDIR: %s", out);
  remove_fixture(dir);
}
