/* test_tune.c: the autotuner. The tuning cache (round trip, misses, the
 * best of two, hostile files, what the key depends on), the search
 * operators (every child parses and is legal), and small end-to-end tunes:
 * a 32x32 matmul recorded in a cache that `aotc compile --cache` then uses
 * (skipped, not passed, when build/aotc is missing),
 * and deliberately wrong candidates (AOTC_TUNE_CORRUPT=1: all of them;
 * =half: the codes whose hash is odd, among right ones) that are never
 * kept, on both backends. */
#define _GNU_SOURCE
#include "ir.h"
#include "../../src/autotune/tune.h"
#include "emit_llvm.h"

#include <criterion/criterion.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static aotc_ctx *ctx;
static char dir[256];

static void setup(void)
{
  ctx = aotc_ctx_new(NULL, NULL);
  snprintf(dir, sizeof dir, "/tmp/aotc-test-tune-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
  aotc_ctx_free(ctx);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd))
    cr_log_warn("could not remove %s", dir);
}

TestSuite(tune, .init = setup, .fini = teardown);

static const char *path_in_dir(const char *name)
{
  return ir_sprintf(ctx, "%s/%s", dir, name);
}

static ir_func *compile1(const char *text)
{
  ir_module *m = tc_compile(ctx, aotc_add_source(ctx, "t.tc", text, strlen(text)));
  cr_assert_not_null(m, "%s", ctx->n_diags ? ctx->diags[0].msg : "?");
  return m->funcs[0];
}

static const char mm_text[] = "def mm(float(M, K) A, float(K, N) B) -> (C) {\n  C(m, n) +=! A(m, r_k) * B(r_k, n)\n}\n";

static void write_text(const char *path, const char *text, size_t len)
{
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(text, 1, len, f), len);
  fclose(f);
}

static tune_entry entry(const char *kernel, const char *sizes, int threads, double seconds, const char *options)
{
  tune_entry e;
  memset(&e, 0, sizeof e);
  snprintf(e.key.kernel, sizeof e.key.kernel, "%s", kernel);
  snprintf(e.key.sizes, sizeof e.key.sizes, "%s", sizes);
  e.key.threads = threads;
  snprintf(e.key.cpu, sizeof e.key.cpu, "Test CPU @ 3.00GHz");
  snprintf(e.key.isa, sizeof e.key.isa, "avx2,avx512f");
  snprintf(e.key.compiler, sizeof e.key.compiler, "cc (Test) 12.2.0");
  e.seconds = seconds;
  snprintf(e.options, sizeof e.options, "%s", options);
  return e;
}

/* ------------------------------------------------------------------------
 * Cache
 * ------------------------------------------------------------------------ */

Test(tune, hash_is_fnv1a_64)
{
  cr_assert_eq(tune_hash("", 0), 0xcbf29ce484222325ULL);
  cr_assert_eq(tune_hash("a", 1), 0xaf63dc4c8601ec8cULL);
}

Test(tune, cache_round_trip)
{
  const char *path = path_in_dir("cache.txt");
  tune_cache c = {0}, back;
  tune_entry a = entry("0123456789abcdef:mm", "M=64,K=64,N=64", 1, 1.5e-3, "tile=64,64,64 threads=1");
  tune_entry b = entry("0123456789abcdef:mm", "M=64,K=64,N=64", 2, 0.8e-3, "tile=32,64,64 threads=2");
  cr_assert(tune_cache_record(ctx, &c, &a));
  cr_assert(tune_cache_record(ctx, &c, &b));
  cr_assert(tune_cache_save(ctx, path, &c));
  cr_assert(tune_cache_load(ctx, path, &back));
  cr_assert_eq(back.n, 2);
  const tune_entry *e = tune_cache_lookup(&back, &b.key);
  cr_assert_not_null(e);
  cr_assert_str_eq(e->options, b.options);
  cr_assert_float_eq(e->seconds, b.seconds, 1e-12);
  cr_assert_str_eq(e->key.cpu, "Test CPU @ 3.00GHz");
  cr_assert_eq(ctx->n_diags, 0);
}

Test(tune, cache_missing_file_is_empty)
{
  tune_cache c;
  cr_assert(tune_cache_load(ctx, path_in_dir("none.txt"), &c));
  cr_assert_eq(c.n, 0);
  cr_assert_eq(ctx->n_errors, 0);
}

Test(tune, cache_lookup_miss)
{
  tune_cache c = {0};
  tune_entry a = entry("0123456789abcdef:mm", "M=64,K=64,N=64", 1, 1e-3, "tile=64");
  tune_entry other_threads = a, other_sizes = a, other_cpu = a, other_cc = a, other_kernel = a;
  other_threads.key.threads = 2;
  snprintf(other_sizes.key.sizes, sizeof other_sizes.key.sizes, "M=64,K=64,N=128");
  snprintf(other_cpu.key.cpu, sizeof other_cpu.key.cpu, "Other CPU");
  snprintf(other_cc.key.compiler, sizeof other_cc.key.compiler, "clang version 16.0.6");
  snprintf(other_kernel.key.kernel, sizeof other_kernel.key.kernel, "fedcba9876543210:mm");
  cr_assert(tune_cache_record(ctx, &c, &a));
  cr_assert_not_null(tune_cache_lookup(&c, &a.key));
  cr_assert_null(tune_cache_lookup(&c, &other_threads.key));
  cr_assert_null(tune_cache_lookup(&c, &other_sizes.key));
  cr_assert_null(tune_cache_lookup(&c, &other_cpu.key));
  cr_assert_null(tune_cache_lookup(&c, &other_cc.key));
  cr_assert_null(tune_cache_lookup(&c, &other_kernel.key));
}

/* Two GPUs, the simulator and a CPU: an entry recorded for one never
 * serves another, through the file as through memory. */
Test(tune, gpu_keys_keep_devices_apart)
{
  const char *path = path_in_dir("gpu.txt");
  tune_entry h100 = entry("0123456789abcdef:mm", "M=64,K=64,N=64", 1, 1e-3, "block=32,8 shared=1");
  tune_entry a100 = h100, other_driver = h100, sim = h100, cpu = h100;
  tune_key_for_gpu(&h100.key, "NVIDIA H100 80GB HBM3", 9, 0, 12040, 12040);
  tune_key_for_gpu(&a100.key, "NVIDIA A100-SXM4-80GB", 8, 0, 12040, 12040);
  tune_key_for_gpu(&other_driver.key, "NVIDIA H100 80GB HBM3", 9, 0, 12040, 13000);
  tune_key_for_gpu(&sim.key, "cuda-sim", 0, 0, 13000, 13000);
  cr_assert_str_eq(h100.key.isa, "sm_90");
  cr_assert_str_eq(h100.key.compiler, "CUDA runtime 12040, driver 12040");
  cr_assert_str_eq(sim.key.isa, "cuda-sim");
  cr_assert(tune_cache_update(ctx, path, &h100));
  sched_options o;
  sched_options_default(&o);
  cr_assert(tune_cache_find_key(ctx, path, &h100.key, &o));
  cr_assert_eq(o.gpu_block[0], 32);
  cr_assert_eq(o.gpu_block[1], 8);
  cr_assert(o.gpu_promote);
  cr_assert_not(tune_cache_find_key(ctx, path, &a100.key, &o));
  cr_assert_not(tune_cache_find_key(ctx, path, &other_driver.key, &o));
  cr_assert_not(tune_cache_find_key(ctx, path, &sim.key, &o));
  cr_assert_not(tune_cache_find_key(ctx, path, &cpu.key, &o));
  cr_assert(tune_cache_update(ctx, path, &a100));
  tune_cache c;
  cr_assert(tune_cache_load(ctx, path, &c));
  cr_assert_eq(c.n, 2);
  cr_assert_eq(ctx->n_diags, 0);
}

Test(tune, cache_keeps_the_best_of_two)
{
  const char *path = path_in_dir("best.txt");
  tune_entry slow = entry("0123456789abcdef:mm", "M=8,K=8,N=8", 1, 2e-3, "tile=8 threads=1");
  tune_entry fast = entry("0123456789abcdef:mm", "M=8,K=8,N=8", 1, 1e-3, "tile=4 threads=1");
  cr_assert(tune_cache_update(ctx, path, &slow));
  cr_assert(tune_cache_update(ctx, path, &fast));
  cr_assert(tune_cache_update(ctx, path, &slow));
  tune_cache c;
  cr_assert(tune_cache_load(ctx, path, &c));
  cr_assert_eq(c.n, 1);
  cr_assert_str_eq(c.entries[0].options, "tile=4 threads=1");
  cr_assert_float_eq(c.entries[0].seconds, 1e-3, 1e-12);
}

Test(tune, cache_skips_malformed_lines)
{
  const char *path = path_in_dir("bad.txt");
  tune_entry good = entry("0123456789abcdef:mm", "M=8", 1, 1e-3, "tile=4");
  tune_cache c = {0};
  cr_assert(tune_cache_record(ctx, &c, &good));
  cr_assert(tune_cache_save(ctx, path, &c));
  FILE *f = fopen(path, "ab");
  cr_assert_not_null(f);
  fputs("garbage\n", f);
  fputs("aotc1\tk:mm\tM=8\t1\tcpu\tisa\tcc\t1e-3\n", f);                    /* a field short */
  fputs("aotc1\tk:mm\tM=8\t1\tcpu\tisa\tcc\t1e-3\topts\textra\n", f);       /* a field too many */
  fputs("aotc1\tk:mm\tM=8\t0\tcpu\tisa\tcc\t1e-3\topts\n", f);              /* no threads */
  fputs("aotc1\tk:mm\tM=8\t1\tcpu\tisa\tcc\t-1\topts\n", f);                /* negative time */
  fputs("aotc1\tk:mm\tM=8\t1\tcpu\tisa\tcc\tnan\topts\n", f);               /* not a time */
  fputs("aotc1\tk:mm\tM=8\tx\tcpu\tisa\tcc\t1e-3\topts\n", f);              /* bad threads */
  fputs("aotc9\tk:mm\tM=8\t1\tcpu\tisa\tcc\t1e-3\topts\n", f);              /* unknown version */
  fputs("aotc1\t\tM=8\t1\tcpu\tisa\tcc\t1e-3\topts\n", f);                  /* empty field */
  static const char nul_line[] = "aotc1\tk:mm\tM=8\t1\tc\0u\tisa\tcc\t1e-3\topts\n"; /* a NUL byte */
  fwrite(nul_line, 1, sizeof nul_line - 1, f);
  for (int i = 0; i < 5000; i++)
    fputc('x', f);
  fputs("\n\n   \n# a comment\n", f);
  fclose(f);
  tune_cache back;
  cr_assert(tune_cache_load(ctx, path, &back));
  cr_assert_eq(back.n, 1);
  cr_assert_str_eq(back.entries[0].options, "tile=4");
  cr_assert_gt(ctx->n_diags, 0);
  cr_assert_eq(ctx->n_errors, 0);
}

Test(tune, cache_survives_random_bytes)
{
  const char *path = path_in_dir("random.txt");
  tune_rng r = {42};
  static char buf[1 << 16];
  for (int round = 0; round < 20; round++) {
    size_t n = 1 + tune_rng_next(&r) % sizeof buf;
    for (size_t i = 0; i < n; i++)
      buf[i] = round % 2 ? "aotc1\t\n0123:=,."[tune_rng_next(&r) % 15] : (char)tune_rng_next(&r);
    write_text(path, buf, n);
    tune_cache c;
    cr_assert(tune_cache_load(ctx, path, &c));
    aotc_clear_diags(ctx);
  }
}

Test(tune, key_depends_on_threads_sizes_and_kernel)
{
  ir_func *mm = compile1(mm_text);
  ir_func *mm2 = compile1("def mm(float(M, K) A, float(K, N) B) -> (C) {\n  C(m, n) +=! A(m, r_k) * B(r_k, n) * 2\n}\n");
  int64_t s1[] = {32, 32, 32}, s2[] = {32, 32, 64};
  tune_key a, a_again, b, c, d;
  cr_assert(tune_key_make(ctx, mm, s1, 1, NULL, &a));
  cr_assert(tune_key_make(ctx, mm, s1, 1, NULL, &a_again));
  cr_assert(tune_key_make(ctx, mm, s1, 2, NULL, &b));
  cr_assert(tune_key_make(ctx, mm, s2, 1, NULL, &c));
  cr_assert(tune_key_make(ctx, mm2, s1, 1, NULL, &d));
  cr_assert(tune_key_equal(&a, &a_again));
  cr_assert_not(tune_key_equal(&a, &b));
  cr_assert_not(tune_key_equal(&a, &c));
  cr_assert_not(tune_key_equal(&a, &d));
  cr_assert_str_eq(a.sizes, "M=32,K=32,N=32");
  cr_assert_not_null(strstr(a.kernel, ":mm"));
  cr_assert_eq(strlen(a.kernel), 16 + 3);
  cr_assert_null(strpbrk(a.cpu, "\t\n"));
  cr_assert_null(strpbrk(a.compiler, "\t\n"));
}

/* ------------------------------------------------------------------------
 * Search operators
 * ------------------------------------------------------------------------ */

static void assert_parses_and_legal(const sched_options *o, int dims)
{
  char text[2 * TUNE_FIELD], again[2 * TUNE_FIELD], err[256];
  sched_options back;
  cr_assert(tune_options_legal(o, dims));
  cr_assert_lt(sched_options_print(text, sizeof text, o), (int)sizeof text);
  cr_assert(sched_options_parse(text, &back, err, sizeof err), "'%s': %s", text, err);
  sched_options_print(again, sizeof again, &back);
  cr_assert_str_eq(text, again);
  cr_assert(tune_options_legal(&back, dims));
}

static void check_operators(const char *text, const int64_t *sizes, int threads)
{
  ir_func *f = compile1(text);
  tune_space sp;
  tune_rng r = {7};
  sched_options h, pop[8];
  tune_space_init(&sp, f, sizes, threads, NULL);
  sched_options_heuristic(f, threads, NULL, &h);
  for (int i = 0; i < 8; i++) {
    pop[i] = h;
    tune_mutate(&sp, &r, &pop[i]);
    assert_parses_and_legal(&pop[i], sp.dims);
  }
  for (int i = 0; i < 2000; i++) {
    sched_options child;
    if (i % 2)
      tune_crossover(&sp, &r, &pop[tune_rng_next(&r) % 8], &pop[tune_rng_next(&r) % 8], &child);
    else
      child = pop[tune_rng_next(&r) % 8], tune_mutate(&sp, &r, &child);
    assert_parses_and_legal(&child, sp.dims);
    cr_assert_eq(child.threads, threads);
    pop[tune_rng_next(&r) % 8] = child;
  }
}

/* CUDA candidates: the operators move the mapping's genes, keep blocks
 * within SCHED_GPU_MAX_THREADS threads and print and parse like C options. */
Test(tune, gpu_operators_on_matmul)
{
  int64_t sizes[] = {256, 256, 256};
  ir_func *f = compile1(mm_text);
  tune_space sp;
  tune_rng r = {11};
  sched_options pop[8];
  bool blocks_moved = false, promotion_moved = false;
  tune_space_init(&sp, f, sizes, 1, NULL);
  sp.gpu = true;
  for (int i = 0; i < 8; i++) {
    sched_gpu_options_heuristic(&pop[i]);
    tune_mutate(&sp, &r, &pop[i]);
  }
  for (int i = 0; i < 2000; i++) {
    sched_options child;
    if (i % 2)
      tune_crossover(&sp, &r, &pop[tune_rng_next(&r) % 8], &pop[tune_rng_next(&r) % 8], &child);
    else
      child = pop[tune_rng_next(&r) % 8], tune_mutate(&sp, &r, &child);
    assert_parses_and_legal(&child, sp.dims);
    long threads = 1;
    for (int d = 0; d < 3; d++)
      threads *= child.gpu_block[d] ? child.gpu_block[d] : 1;
    cr_assert_leq(threads, SCHED_GPU_MAX_THREADS);
    cr_assert_not(child.microkernel || child.pack || child.vectorize);
    blocks_moved |= child.gpu_block[0] > 0 && child.gpu_block[1] > 0;
    promotion_moved |= !child.gpu_promote;
    pop[tune_rng_next(&r) % 8] = child;
  }
  cr_assert(blocks_moved && promotion_moved);
}

Test(tune, operators_on_matmul)
{
  int64_t sizes[] = {1024, 1024, 1024};
  check_operators(mm_text, sizes, 2);
}

Test(tune, operators_on_elementwise)
{
  int64_t sizes[] = {7};
  check_operators("def relu(float(N) X) -> (Y) {\n  Y(i) = fmax(X(i), 0)\n}\n", sizes, 1);
}

Test(tune, operators_on_conv)
{
  int64_t sizes[] = {2, 3, 9, 9, 4, 3, 3};
  check_operators("def conv(float(B, C, H, W) I, float(F, C, KH, KW) Wt) -> (O) {\n"
                  "  O(b, f, h, w) +=! I(b, r_c, h + r_kh, w + r_kw) * Wt(f, r_c, r_kh, r_kw)\n}\n",
                  sizes, 2);
}

Test(tune, flops_of_matmul)
{
  ir_func *mm = compile1(mm_text);
  int64_t sizes[] = {4, 5, 6};
  cr_assert_float_eq(tune_flops(mm, sizes), 2.0 * 4 * 5 * 6, 1e-9);
}

/* ------------------------------------------------------------------------
 * End to end
 * ------------------------------------------------------------------------ */

/* build/aotc, beside the directory of this test binary (build/tests). */
static const char *aotc_binary(void)
{
  static char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 16);
  if (n <= 0)
    return NULL;
  exe[n] = 0;
  char *d = dirname(dirname(exe));
  char *path = ir_sprintf(ctx, "%s/aotc", d);
  return access(path, X_OK) ? NULL : path;
}

static char *run_capture(const char *cmd)
{
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  static char out[1 << 16];
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = 0;
  pclose(p);
  return out;
}

/* Tunes mm at 32x32x32 for `trials` candidates into cache; the outcome. */
static tune_outcome tune_mm32(ir_func *mm, const char *cache, int trials)
{
  static int64_t sizes[] = {32, 32, 32};
  tune_request req = {.func = mm, .sizes = sizes, .threads = 1, .trials = trials, .seed = 3, .fuse = true,
                      .cache_path = cache, .quiet = true};
  tune_outcome out;
  cr_assert(tune_run(ctx, &req, &out), "%s", ctx->n_diags ? ctx->diags[0].msg : "?");
  return out;
}

Test(tune, tiny_tune_is_recorded, .timeout = 120)
{
  ir_func *mm = compile1(mm_text);
  int64_t sizes[] = {32, 32, 32};
  const char *cache = path_in_dir("e2e.txt");
  tune_outcome out = tune_mm32(mm, cache, 6);
  cr_assert_eq(out.trials, 6);
  cr_assert_eq(out.rejected, 0);
  cr_assert_gt(out.seconds, 0);
  cr_assert_gt(out.gflops, 0);
  sched_options found;
  cr_assert(tune_cache_find(ctx, cache, mm, sizes, 1, NULL, NULL, &found));
  char a[2 * TUNE_FIELD], b[2 * TUNE_FIELD];
  sched_options_print(a, sizeof a, &found);
  sched_options_print(b, sizeof b, &out.best);
  cr_assert_str_eq(a, b);
  cr_assert_not(tune_cache_find(ctx, cache, mm, sizes, 2, NULL, NULL, &found));
}

Test(tune, recorded_tune_is_used_by_compile, .timeout = 120)
{
  const char *aotc = aotc_binary();
  if (!aotc)
    cr_skip_test("build/aotc not found");
  const char *cache = path_in_dir("used.txt"), *tc = path_in_dir("mm.tc");
  tune_mm32(compile1(mm_text), cache, 2);
  write_text(tc, mm_text, strlen(mm_text));
  char *cmd = ir_sprintf(ctx, "'%s' compile '%s' --size M=32,N=32,K=32 --cache '%s' -v -o '%s/mm.c' 2>&1", aotc, tc,
                         cache, dir);
  cr_assert_not_null(strstr(run_capture(cmd), "tuned schedule from"));
  cmd = ir_sprintf(ctx, "'%s' compile '%s' --size M=32,N=32,K=16 --cache '%s' -v -o '%s/mm.c' 2>&1", aotc, tc, cache,
                   dir);
  cr_assert_not_null(strstr(run_capture(cmd), "heuristics"));
}

Test(tune, wrong_candidates_are_discarded, .timeout = 120)
{
  ir_func *mm = compile1(mm_text);
  int64_t sizes[] = {16, 16, 16};
  const char *cache = path_in_dir("corrupt.txt");
  tune_request req = {.func = mm, .sizes = sizes, .threads = 1, .trials = 3, .fuse = true, .cache_path = cache, .quiet = true};
  tune_outcome out;
  setenv("AOTC_TUNE_CORRUPT", "1", 1);
  bool ok = tune_run(ctx, &req, &out);
  unsetenv("AOTC_TUNE_CORRUPT");
  cr_assert_not(ok);
  cr_assert_eq(out.trials, 3);
  cr_assert_eq(out.rejected, 3);
  cr_assert_eq(out.seconds, 0);
  struct stat st;
  cr_assert_neq(stat(cache, &st), 0, "no entry may be written from wrong candidates");
}

/* Runs req: every trial made, none wrong, none failed to build or run. */
static void tune_all_pass(const tune_request *req, tune_outcome *out)
{
  cr_assert(tune_run(ctx, req, out), "%s", ctx->n_diags ? ctx->diags[0].msg : "?");
  cr_assert_eq(out->trials, req->trials);
  cr_assert_eq(out->rejected, 0);
  cr_assert_eq(out->failed, 0);
}

/* --backend llvm: candidates compiled in-process, the confirm rounds on the
 * code kept loaded; every candidate checked. */
Test(tune, llvm_tune_is_recorded, .timeout = 120)
{
  if (!emit_llvm_available())
    cr_skip_test("aotc was built without LLVM");
  ir_func *mm = compile1(mm_text);
  int64_t sizes[] = {48, 40, 24};
  const char *cache = path_in_dir("llvm.txt");
  tune_request req = {.func = mm, .sizes = sizes, .threads = 1, .trials = 8, .seed = 5, .fuse = true,
                      .cache_path = cache, .quiet = true, .llvm = true};
  tune_outcome out;
  tune_all_pass(&req, &out);
  cr_assert_gt(out.seconds, 0);
  sched_options found;
  cr_assert(tune_cache_find(ctx, cache, mm, sizes, 1, NULL, NULL, &found));
}

/* A strided, padded convolution (sizes 2, 5, 9, 11, 7: two images). */
static const char strided_conv_text[] =
    "def conv(float(N, C, H, W) I, float(F, C, 3, 3) Wt) -> (O) {\n"
    "  O(n, f, h, w) +=! padded(I(n, c, 2 * h + kh - 1, 2 * w + kw - 1)) * Wt(f, c, kh, kw)\n"
    "    where n in 0:N, h in 0:(H + 1) / 2, w in 0:(W + 1) / 2\n}\n";

/* --backend llvm on a strided, padded convolution of two images (A and B
 * packed: B's panels read through the batch index and an implicit im2col):
 * every panel's packing is a function of its own, compiled once per way of
 * packing and shared by the candidates, and every candidate still matches
 * the reference interpreter. */
Test(tune, llvm_conv_packing_shared, .timeout = 120)
{
  if (!emit_llvm_available())
    cr_skip_test("aotc was built without LLVM");
  ir_func *conv = compile1(strided_conv_text);
  int64_t sizes[] = {2, 5, 9, 11, 7};
  tune_request req = {.func = conv, .sizes = sizes, .threads = 1, .trials = 16, .seed = 3, .fuse = true,
                      .quiet = true, .llvm = true};
  tune_outcome out;
  tune_all_pass(&req, &out);
  cr_assert_gt(out.shared_kernels, 0);
  cr_assert_gt(out.shared_packs, 0, "no panel was packed by a function of its own");
  cr_assert_lt(out.shared_packs, 2 * out.trials, "packing functions compiled per candidate, not shared");
}

/* The .o files of dir and their bytes' first four (ELF or not). */
static int cache_objects(const char *d, int *elf)
{
  char cmd[PATH_MAX + 64];
  int n = 0;
  *elf = 0;
  snprintf(cmd, sizeof cmd, "ls '%s'", d);
  FILE *ls = popen(cmd, "r");
  cr_assert_not_null(ls);
  char name[256];
  while (fscanf(ls, "%255s", name) == 1) {
    size_t len = strlen(name);
    if (len < 3 || strcmp(name + len - 2, ".o"))
      continue;
    char head[4] = {0};
    FILE *f = fopen(ir_sprintf(ctx, "%s/%s", d, name), "rb");
    cr_assert_not_null(f);
    *elf += fread(head, 1, 4, f) == 4 && !memcmp(head, "\177ELF", 4);
    fclose(f);
    n++;
  }
  pclose(ls);
  return n;
}

/* --llvm-cache: the first search writes every shared function's object;
 * a second search of the same kernel reads them instead of compiling
 * them, and its candidates still all match the reference (an object read
 * under another function's key would make some wrong); objects that are
 * not ELF are compiled again and replaced. */
Test(tune, llvm_cache_reused, .timeout = 180)
{
  if (!emit_llvm_available())
    cr_skip_test("aotc was built without LLVM");
  ir_func *conv = compile1(strided_conv_text);
  int64_t sizes[] = {2, 5, 9, 11, 7};
  const char *cache = path_in_dir("llvm-cache");
  tune_request req = {.func = conv, .sizes = sizes, .threads = 1, .trials = 12, .seed = 7, .fuse = true,
                      .quiet = true, .llvm = true, .llvm_cache = cache};
  tune_outcome first, second, third;
  tune_all_pass(&req, &first);
  int shared = first.shared_kernels + first.shared_packs, elf;
  cr_assert_gt(first.shared_kernels + first.shared_packs, 1, "%d micro-kernels, %d packing functions",
               first.shared_kernels, first.shared_packs);
  cr_assert_eq(first.cache_read, 0);
  cr_assert_eq(first.cache_written, shared);
  cr_assert_eq(cache_objects(cache, &elf), shared);
  cr_assert_eq(elf, shared);
  tune_all_pass(&req, &second);
  cr_assert_gt(second.cache_read, 0, "nothing read from the cache");
  cr_assert_eq(second.cache_read + second.cache_written, second.shared_kernels + second.shared_packs);
  int n = cache_objects(cache, &elf);
  char cmd[PATH_MAX + 64];
  snprintf(cmd, sizeof cmd, "for f in '%s'/*.o; do echo 'not an object' > \"$f\"; done", cache);
  cr_assert_eq(system(cmd), 0);
  tune_all_pass(&req, &third);
  cr_assert_eq(third.cache_read, 0, "a file that is no object was read");
  cr_assert_eq(third.cache_written, third.shared_kernels + third.shared_packs);
  cr_assert_geq(cache_objects(cache, &elf), n);
  cr_assert_eq(elf, third.cache_written);
}

Test(tune, llvm_wrong_candidates_are_discarded, .timeout = 120)
{
  if (!emit_llvm_available())
    cr_skip_test("aotc was built without LLVM");
  ir_func *mm = compile1(mm_text);
  int64_t sizes[] = {16, 16, 16};
  const char *cache = path_in_dir("llvm_corrupt.txt");
  tune_request req = {.func = mm, .sizes = sizes, .threads = 1, .trials = 3, .fuse = true, .cache_path = cache,
                      .quiet = true, .llvm = true};
  tune_outcome out;
  setenv("AOTC_TUNE_CORRUPT", "1", 1);
  bool ok = tune_run(ctx, &req, &out);
  unsetenv("AOTC_TUNE_CORRUPT");
  cr_assert_not(ok);
  cr_assert_eq(out.trials, 3);
  cr_assert_eq(out.rejected, 3);
  struct stat st;
  cr_assert_neq(stat(cache, &st), 0, "no entry may be written from wrong candidates");
}

/* Wrong code among right code (AOTC_TUNE_CORRUPT=half: the codes whose
 * hash is odd spoiled in the middle of the output, every time they run):
 * each is rejected, and the kept best, measured again with the hook on,
 * passes, so it is none of them. */
static void tune_with_wrong_half(bool llvm)
{
  ir_func *mm = compile1(mm_text);
  int64_t sizes[] = {48, 40, 24};
  const char *cache = path_in_dir(llvm ? "half_llvm.txt" : "half_cc.txt");
  tune_request req = {.func = mm, .sizes = sizes, .threads = 1, .trials = 12, .seed = 7, .fuse = true,
                      .cache_path = cache, .quiet = true, .llvm = llvm};
  tune_outcome out;
  setenv("AOTC_TUNE_CORRUPT", "half", 1);
  bool ok = tune_run(ctx, &req, &out);
  tune_eval_config cfg = {.func = mm, .sizes = sizes, .threads = 1, .fuse = true, .time_per_candidate = 0.01,
                          .llvm = llvm};
  tune_eval *ev = ok ? tune_eval_new(ctx, &cfg) : NULL;
  tune_result again = {.status = TUNE_CRASHED};
  if (ev)
    tune_eval_batch(ev, &out.best, 1, &again);
  tune_eval_free(ev);
  unsetenv("AOTC_TUNE_CORRUPT");
  cr_assert(ok, "%s", ctx->n_diags ? ctx->diags[0].msg : "?");
  cr_assert_eq(out.trials, 12);
  cr_assert_gt(out.rejected, 0, "no candidate was spoiled: the hook did not run");
  cr_assert_lt(out.rejected + out.failed, 12);
  cr_assert_eq(again.status, TUNE_OK, "the kept best is a wrong candidate: %s", again.message);
  sched_options found;
  char a[2 * TUNE_FIELD], b[2 * TUNE_FIELD];
  cr_assert(tune_cache_find(ctx, cache, mm, sizes, 1, NULL, NULL, &found));
  sched_options_print(a, sizeof a, &found);
  sched_options_print(b, sizeof b, &out.best);
  cr_assert_str_eq(a, b);
}

Test(tune, wrong_code_among_right_code_is_never_kept, .timeout = 120)
{
  tune_with_wrong_half(false);
}

Test(tune, llvm_wrong_code_among_right_code_is_never_kept, .timeout = 120)
{
  if (!emit_llvm_available())
    cr_skip_test("aotc was built without LLVM");
  tune_with_wrong_half(true);
}

Test(tune, sizes_are_required)
{
  ir_func *mm = compile1(mm_text);
  int64_t sizes[] = {16, -1, 16};
  tune_request req = {.func = mm, .sizes = sizes, .threads = 1, .trials = 1, .quiet = true};
  tune_outcome out;
  cr_assert_not(tune_run(ctx, &req, &out));
  cr_assert_gt(ctx->n_errors, 0);
}

/* A tune_eval whose reference is computed on row windows (ref_points small). */
static void eval_heuristic(const char *text, const int64_t *sizes, tune_status want)
{
  ir_func *f = compile1(text);
  tune_eval_config cfg = {.func = f, .sizes = sizes, .threads = 1, .fuse = true, .time_per_candidate = 0.01,
                          .ref_points = 500};
  tune_eval *ev = tune_eval_new(ctx, &cfg);
  cr_assert_not_null(ev, "%s", ctx->n_diags ? ctx->diags[0].msg : "?");
  sched_options o[2];
  tune_result res[2];
  sched_options_heuristic(f, 1, NULL, &o[0]);
  sched_options_default(&o[1]);
  tune_eval_batch(ev, o, 2, res);
  for (int i = 0; i < 2; i++)
    cr_assert_eq(res[i].status, want, "candidate %d: %s", i, res[i].message);
  tune_eval_free(ev);
}

Test(tune, windowed_reference_matmul, .timeout = 60)
{
  int64_t sizes[] = {40, 24, 36};
  eval_heuristic(mm_text, sizes, TUNE_OK);
}

Test(tune, windowed_reference_with_temporaries, .timeout = 60)
{
  int64_t sizes[] = {20, 4, 16, 40};
  eval_heuristic("def mlp(float(B, IN) X, float(IN, H) W1, float(H) b1, float(H, OUT) W2) -> (Y) {\n"
                 "  T(b, h) +=! X(b, r_i) * W1(r_i, h)\n"
                 "  R(b, h) = fmax(T(b, h) + b1(h), 0)\n"
                 "  Y(b, o) +=! R(b, r_h) * W2(r_h, o)\n}\n",
                 sizes, TUNE_OK);
}

Test(tune, windowed_reference_past_a_batch_of_one, .timeout = 60)
{
  int64_t sizes[] = {1, 4, 10, 10, 16, 3, 3};
  eval_heuristic("def conv(float(N, C, H, W) I, float(F, C, KH, KW) Wt) -> (O) {\n"
                 "  O(n, f, h, w) +=! I(n, r_c, h + r_kh, w + r_kw) * Wt(f, r_c, r_kh, r_kw)\n}\n",
                 sizes, TUNE_OK);
}

Test(tune, windowed_reference_catches_a_wrong_first_row, .timeout = 60)
{
  int64_t sizes[] = {40, 24, 36};
  setenv("AOTC_TUNE_CORRUPT", "1", 1);
  eval_heuristic(mm_text, sizes, TUNE_WRONG);
}

Test(tune, time_budget_stops_the_search, .timeout = 60)
{
  ir_func *mm = compile1(mm_text);
  int64_t sizes[] = {16, 16, 16};
  tune_request req = {.func = mm, .sizes = sizes, .threads = 1, .time_s = 1.5, .fuse = true, .quiet = true};
  tune_outcome out;
  cr_assert(tune_run(ctx, &req, &out));
  cr_assert_geq(out.trials, 1);
  cr_assert_lt(out.trials, 1000);
}

Test(tune, integer_division_gets_nonzero_inputs, .timeout = 60)
{
  ir_func *f = compile1("def idiv(int32(N) A, int32(N) B) -> (Q) {\n  Q(i) = A(i) / B(i)\n}\n");
  int64_t sizes[] = {64};
  tune_request req = {.func = f, .sizes = sizes, .threads = 1, .trials = 2, .fuse = true, .quiet = true};
  tune_outcome out;
  cr_assert(tune_run(ctx, &req, &out), "%s", ctx->n_diags ? ctx->diags[0].msg : "?");
  cr_assert_eq(ctx->n_errors, 0);
}

Test(tune, command_line, .timeout = 120)
{
  const char *aotc = aotc_binary();
  if (!aotc)
    cr_skip_test("build/aotc not found");
  const char *tc = path_in_dir("mm.tc"), *cache = path_in_dir("cli.txt");
  write_text(tc, mm_text, strlen(mm_text));
  char *out = run_capture(ir_sprintf(ctx, "'%s' tune '%s' --entry mm --size M=16,N=16,K=16 --trials 3 --threads 2 "
                                          "--seed 5 --cache '%s' 2>/dev/null; echo rc=$?", aotc, tc, cache));
  cr_assert_not_null(strstr(out, "best: "), "%s", out);
  cr_assert_not_null(strstr(out, "threads=2"), "%s", out);
  cr_assert_not_null(strstr(out, "3 trials, 0 wrong"), "%s", out);
  cr_assert_not_null(strstr(out, "rc=0"), "%s", out);
  sched_options found;
  int64_t sizes[] = {16, 16, 16};
  cr_assert(tune_cache_find(ctx, cache, compile1(mm_text), sizes, 2, NULL, NULL, &found));
  cr_assert_eq(found.threads, 2);
  out = run_capture(ir_sprintf(ctx, "'%s' tune '%s' --size M=16,N=16 --trials 3 2>&1; echo rc=$?", aotc, tc));
  cr_assert_not_null(strstr(out, "no value for size 'K'"), "%s", out);
  cr_assert_not_null(strstr(out, "rc=1"), "%s", out);
  out = run_capture(ir_sprintf(ctx, "'%s' tune '%s' --size M=16,N=16,K=16 --trials 1.5 2>&1; echo rc=$?", aotc, tc));
  cr_assert_not_null(strstr(out, "rc=1"), "%s", out);
}
