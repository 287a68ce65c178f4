/* evaluate.c: one candidate of the autotuner from options to a time. The
 * entry is emitted for the tuning sizes with the candidate's options and
 * built into a shared object by the driver's build helper (build.h: the
 * same compiler and flags as `aotc run`), two compilers at a time. Each built
 * candidate then runs alone in a child process with OMP_NUM_THREADS set:
 * once on the inputs of the reference, whose outputs are checked
 * (reference.c: the inputs, the reference outputs and the check), then a
 * warm-up and timed repeats rotating over several buffer sets, stopped
 * early once the candidate is clearly slower than the best (time_runs). A
 * candidate that crashes or hangs takes only its child down. With
 * --backend llvm (eval_llvm.h) candidates are planned once and compiled
 * in-process, two at a time, instead of written out and built by cc. With
 * --target cuda or cuda-sim (tune_eval_config.cuda) candidates are emitted
 * as CUDA and built with the runner of `aotc run` (src/driver/run_cuda.c,
 * the runtime's objects compiled once), one at a time; the runner checks
 * nothing itself: it runs the entry on the inputs written once, its outputs
 * are checked here, and it times further calls (measure_cuda). */
#define _GNU_SOURCE
#include "eval_priv.h"
#include "../driver/build.h"
#include "../driver/driver.h"
#include "emit_plan.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EVAL_JOBS 2                 /* compilers at a time on this 2-core machine */
#define EVAL_CUDA_REPEATS 20        /* timed calls of a CUDA candidate on a GPU (median) */
#define EVAL_CUDA_SIM_REPEATS 1     /* on the simulator: the loop exercised, not a speed */
#define EVAL_CUDA_SIM_RUN_LIMIT 300 /* seconds for a candidate on the simulator */

static const ir_loc noloc;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CUDA candidates on the simulator rather than a GPU. */
static bool tune_cuda_sim(const tune_eval *ev)
{
  return ev->cfg.cuda && strcmp(ev->cfg.cuda, "cuda") != 0;
}

/* ------------------------------------------------------------------------
 * Running a built candidate (in a child process)
 * ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Mean time of one call over `calls` calls, rotating over the buffer sets
 * from set `first`. */
static double time_calls(const tune_eval *ev, packed_fn fn, void *ws, int first, int calls, int *rc)
{
  double t0 = now();
  for (int i = 0; i < calls && !*rc; i++)
    *rc = fn(ev->cfg.sizes, ev->sets[(first + i) % ev->n_sets], ws);
  return (now() - t0) / calls;
}

/* Calls per sample so that a sample lasts at least EVAL_MIN_SAMPLE. */
static int calls_per_sample(double one)
{
  double n = one > 0 ? EVAL_MIN_SAMPLE / one : 1000;
  return n < 1 ? 1 : n > 1000 ? 1000 : (int)n;
}

/* Warm-up, then samples on rotating buffer sets until the budget is spent.
 * The same rules in both paths stop early a candidate that cannot be the
 * best: one sample when the warm-up took more than twice the best time so
 * far, and no more samples once its fastest sample is EVAL_CLEARLY_SLOWER
 * times the best (its median, the time reported, is at least that). */
static void time_runs(const tune_eval *ev, packed_fn fn, void *ws, run_report *rep)
{
  double times[EVAL_MAX_REPEATS], start = now(), fastest = 0;
  int rc = 0, n = 0;
  double warm = time_calls(ev, fn, ws, 1, 1, &rc);
  int calls = calls_per_sample(warm);
  bool hopeless = ev->best > 0 && warm > 2 * ev->best;
  while (!rc && n < EVAL_MAX_REPEATS && (n < EVAL_MIN_REPEATS || now() - start < ev->cfg.time_per_candidate)) {
    times[n] = time_calls(ev, fn, ws, 2 + n * calls, calls, &rc);
    fastest = n == 0 || times[n] < fastest ? times[n] : fastest;
    if (++n == 1 && hopeless)
      break;
    if (ev->best > 0 && fastest > EVAL_CLEARLY_SLOWER * ev->best)
      break;
  }
  if (rc) {
    rep->status = TUNE_CRASHED;
    snprintf(rep->message, sizeof rep->message, "returned %d while timed", rc);
    return;
  }
  qsort(times, (size_t)n, sizeof times[0], cmp_double);
  rep->seconds = times[n / 2];
}

static bool load_candidate(const tune_eval *ev, const char *so, void **dl, packed_fn *fn, void **ws, run_report *rep)
{
  char name[512];
  *dl = ev->jit_call ? NULL : dlopen(so, RTLD_NOW | RTLD_LOCAL);
  snprintf(name, sizeof name, "%s_call", ev->cfg.func->name);
  *fn = ev->jit_call ? (packed_fn)ev->jit_call : *dl ? (packed_fn)dlsym(*dl, name) : NULL;
  snprintf(name, sizeof name, "%s_call_workspace_bytes", ev->cfg.func->name);
  packed_ws_fn wsf = ev->jit_ws ? (packed_ws_fn)ev->jit_ws : *dl ? (packed_ws_fn)dlsym(*dl, name) : NULL;
  if (!*fn || !wsf) {
    snprintf(rep->message, sizeof rep->message, "cannot load: %s", dlerror());
    return false;
  }
  size_t bytes = wsf(ev->cfg.sizes);
  *ws = bytes ? tune_ref_alloc(ev, bytes) : NULL;
  if (bytes && !*ws)
    snprintf(rep->message, sizeof rep->message, "no memory for a workspace of %zu bytes", bytes);
  return !bytes || *ws;
}

static void run_candidate(const tune_eval *ev, const char *so, run_report *rep)
{
  void *dl, *ws;
  packed_fn fn;
  rep->status = TUNE_CRASHED;
  if (!load_candidate(ev, so, &dl, &fn, &ws, rep))
    return;
  void **args = ev->sets[0];
  tune_ref_zero_outputs(ev, args);
  double t0 = now();
  int rc = fn(ev->cfg.sizes, args, ws);
  double first = now() - t0;
  if (rc) {
    snprintf(rep->message, sizeof rep->message, "returned %d: the code does not fit the sizes", rc);
    return;
  }
  rep->status = TUNE_OK;
  tune_ref_check(ev, args, rep);
  if (rep->status == TUNE_OK && ev->best > 0 && first > 4 * ev->best)
    rep->seconds = first;
  else if (rep->status == TUNE_OK)
    time_runs(ev, fn, ws, rep);
}

static void write_all(int fd, const void *p, size_t n)
{
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return;
    p = (const char *)p + k;
    n -= (size_t)k;
  }
}

/* Seconds a candidate may run: generous, but a candidate many times slower
 * than the best so far is not worth waiting for. */
static unsigned run_limit(const tune_eval *ev)
{
  double limit = ev->best > 0 ? 2 + 40 * ev->best : EVAL_RUN_LIMIT;
  return limit < EVAL_RUN_LIMIT ? (unsigned)limit : EVAL_RUN_LIMIT;
}

static void child_run(const tune_eval *ev, const char *so, int fd)
{
  char threads[16];
  run_report rep = {0};
  snprintf(threads, sizeof threads, "%d", ev->cfg.threads);
  setenv("OMP_NUM_THREADS", threads, 1);
  alarm(run_limit(ev));
  run_candidate(ev, so, &rep);
  write_all(fd, &rep, sizeof rep);
  _exit(0);
}

static bool read_report(int fd, run_report *rep)
{
  size_t got = 0;
  while (got < sizeof *rep) {
    ssize_t k = read(fd, (char *)rep + got, sizeof *rep - got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return false;
    got += (size_t)k;
  }
  return true;
}

static void describe_death(const tune_eval *ev, int status, run_report *rep)
{
  rep->status = TUNE_CRASHED;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    rep->status = TUNE_SLOW;
    snprintf(rep->message, sizeof rep->message, "took longer than %u s", run_limit(ev));
  } else if (WIFSIGNALED(status))
    snprintf(rep->message, sizeof rep->message, "killed by signal %d", WTERMSIG(status));
  else
    snprintf(rep->message, sizeof rep->message, "exited with status %d", WEXITSTATUS(status));
}

static void measure(tune_eval *ev, const char *so, run_report *rep)
{
  int fds[2], status;
  fflush(NULL);
  if (pipe(fds)) {
    rep->status = TUNE_CRASHED;
    snprintf(rep->message, sizeof rep->message, "pipe: %s", strerror(errno));
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child_run(ev, so, fds[1]);
  }
  close(fds[1]);
  bool got = pid > 0 && read_report(fds[0], rep);
  close(fds[0]);
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (pid < 0 || !got)
    describe_death(ev, pid < 0 ? 0 : status, rep);
}

/* ------------------------------------------------------------------------
 * Building candidates: emitted here on a scratch context (options that give
 * the same code as an earlier candidate are not built again), compiled by
 * child processes, two at a time, each in its own directory
 * ------------------------------------------------------------------------ */

static const char *cand_path(const tune_eval *ev, int id, const char *file, char *buf, size_t n)
{
  snprintf(buf, n, "%s/%d%s%s", ev->dir, id, file ? "/" : "", file ? file : "");
  return buf;
}

/* CUDA: the candidate's runner (DIR/ID/runner) on the inputs written once
 * in DIR, its outputs checked, then the entry timed by the runner: CUDA
 * events on a GPU, wall time on the simulator (which exercises the loop
 * but says nothing about speed). */
static void measure_cuda(tune_eval *ev, int id, run_report *rep)
{
  char dir[320], out[320], times[320];
  void **args = ev->sets[0];
  int reps = tune_cuda_sim(ev) ? EVAL_CUDA_SIM_REPEATS : EVAL_CUDA_REPEATS;
  cand_path(ev, id, NULL, dir, sizeof dir);
  driver_tmp_track(cand_path(ev, id, "outputs.bin", out, sizeof out));
  driver_tmp_track(cand_path(ev, id, "times.txt", times, sizeof times));
  tune_ref_zero_outputs(ev, args);
  unsigned limit = tune_cuda_sim(ev) ? EVAL_CUDA_SIM_RUN_LIMIT : EVAL_RUN_LIMIT;
  int rc = driver_cuda_exec(dir, ev->dir, out, reps, times, limit, ev->cfg.verbose);
  rep->status = TUNE_CRASHED;
  if (rc < 0)
    snprintf(rep->message, sizeof rep->message, "the runner died or ran longer than %u s on the %s", limit,
             tune_cuda_sim(ev) ? "simulator" : "GPU");
  else if (rc)
    snprintf(rep->message, sizeof rep->message, "the runner exited with status %d on the %s", rc,
             tune_cuda_sim(ev) ? "simulator" : "GPU");
  if (rc)
    return;
  if (!driver_cuda_read_outputs(out, ev->cfg.func, args, ev->bytes, ev->n_args)) {
    snprintf(rep->message, sizeof rep->message, "cannot read the runner's outputs");
    return;
  }
  rep->status = TUNE_OK;
  tune_ref_check(ev, args, rep);
  FILE *in = rep->status == TUNE_OK ? fopen(times, "r") : NULL;
  if (rep->status == TUNE_OK && (!in || fscanf(in, "%lf", &rep->seconds) != 1 || !(rep->seconds > 0))) {
    rep->status = TUNE_CRASHED;
    snprintf(rep->message, sizeof rep->message, "the runner wrote no time");
  }
  if (in)
    fclose(in);
}

static bool write_text(const char *path, const char *text, size_t len)
{
  driver_tmp_track(path);
  FILE *f = fopen(path, "w");
  bool ok = f && fwrite(text, 1, len, f) == len;
  return f && !fclose(f) && ok;
}

static void emission_failure(aotc_ctx *scratch, tune_result *res)
{
  res->status = TUNE_NO_BUILD;
  snprintf(res->message, sizeof res->message, "emission failed: %s",
           scratch && scratch->n_diags ? scratch->diags[0].msg : "out of memory");
}

static emit_options candidate_options(const tune_eval *ev, const sched_options *o)
{
  return (emit_options){.sched = o, .fixed_sizes = ev->cfg.sizes, .fuse = ev->cfg.fuse, .header_name = "kernel.h",
                        .threads = ev->cfg.threads, .memo = ev->memo};
}

/* n zeroed elements of size bytes from the context's hook. */
static void *zeroed(const tune_eval *ev, int n, size_t size)
{
  void *p = aotc_malloc(ev->ctx, size * (size_t)(n ? n : 1));
  if (p)
    memset(p, 0, size * (size_t)(n ? n : 1));
  return p;
}

/* Emits the C file and header of a candidate into memory. */
static bool emit_text(tune_eval *ev, aotc_ctx *scratch, const sched_options *o, char **c, size_t *clen, char **h,
                      size_t *hlen)
{
  FILE *cf = open_memstream(c, clen), *hf = open_memstream(h, hlen);
  emit_options opt = candidate_options(ev, o);
  ir_func *fn = (ir_func *)ev->cfg.func;
  bool ok = cf && hf && emit_plan_module(scratch, &fn, 1, &opt, ev->cfg.cuda ? &emit_target_cuda : &emit_target_c, cf, hf);
  if (cf && fclose(cf))
    ok = false;
  if (hf && fclose(hf))
    ok = false;
  return ok;
}

/* Writes DIR/ID/kernel.c and kernel.h; *hash identifies the code. */
static bool emit_candidate(tune_eval *ev, const sched_options *o, int id, uint64_t *hash, tune_result *res)
{
  aotc_ctx *scratch = aotc_ctx_new(ev->ctx->alloc, ev->ctx->alloc_ud);
  char *c = NULL, *h = NULL, path[320];
  size_t clen = 0, hlen = 0;
  if (scratch)
    scratch->isl_max_ops = ev->ctx->isl_max_ops;
  bool ok = scratch && emit_text(ev, scratch, o, &c, &clen, &h, &hlen);
  if (ok) {
    *hash = tune_hash(c, clen) ^ (tune_hash(h, hlen) * 31);
    ok = !mkdir(cand_path(ev, id, NULL, path, sizeof path), 0700);
    if (ok)
      driver_tmp_track(path);
    ok = ok && write_text(cand_path(ev, id, ev->cfg.cuda ? "kernel.cu" : "kernel.c", path, sizeof path), c, clen) &&
         write_text(cand_path(ev, id, "kernel.h", path, sizeof path), h, hlen);
    if (!ok)
      snprintf(res->message, sizeof res->message, "cannot write in '%.200s': %s", ev->dir, strerror(errno));
    res->status = ok ? TUNE_OK : TUNE_NO_BUILD;
  } else {
    emission_failure(scratch, res);
  }
  free(c);
  free(h);
  aotc_ctx_free(scratch);
  return ok;
}

/* Starts the compiler on candidate id: DIR/ID/kernel.so, messages in
 * DIR/ID/log. */
static pid_t start_build(const tune_eval *ev, int id)
{
  char c[320], so[320], log[320];
  const char *sources[] = {cand_path(ev, id, "kernel.c", c, sizeof c)};
  driver_build_request r = {.cc = ev->cfg.cc, .kind = DRIVER_BUILD_SHARED, .sources = sources, .n_sources = 1,
                            .output = cand_path(ev, id, "kernel.so", so, sizeof so),
                            .log = cand_path(ev, id, "log", log, sizeof log), .time_limit = EVAL_BUILD_LIMIT,
                            .verbose = ev->cfg.verbose};
  driver_tmp_track(so);
  driver_tmp_track(log);
  return driver_build_start(&r);
}

/* The first line of a failed build's log, for the report. */
static void build_failure(const tune_eval *ev, int id, int status, tune_result *res)
{
  char path[320], line[TUNE_FIELD];
  driver_build_log_line(cand_path(ev, id, "log", path, sizeof path), line, sizeof line);
  res->status = TUNE_NO_BUILD;
  snprintf(res->message, sizeof res->message, "the C compiler failed (status %d)%s%.200s",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1, line[0] ? ": " : "", line);
}

static void wait_build(tune_eval *ev, pid_t *pids, const int *ids, int n, tune_result *results)
{
  int status;
  pid_t pid = driver_build_wait_any(&status);
  for (int i = 0; pid > 0 && i < n; i++)
    if (pids[i] == pid) {
      pids[i] = 0;
      if (!WIFEXITED(status) || WEXITSTATUS(status))
        build_failure(ev, ids[i], status, &results[i]);
    }
}

/* CUDA: the candidates whose build[i] is set built one after the other
 * with the runner (run_cuda.c: g++ and the simulator, or nvcc). */
static void build_all_cuda(tune_eval *ev, const bool *build, int n, const int *ids, tune_result *results)
{
  char dir[320], runner[320];
  for (int i = 0; i < n; i++) {
    if (!build[i])
      continue;
    aotc_ctx *scratch = aotc_ctx_new(ev->ctx->alloc, ev->ctx->alloc_ud);
    driver_tmp_track(cand_path(ev, ids[i], "runner", runner, sizeof runner));
    if (!scratch || !driver_cuda_build(scratch, cand_path(ev, ids[i], NULL, dir, sizeof dir), tune_cuda_sim(ev),
                                       ev->cuda_objs, ev->cfg.verbose)) {
      results[i].status = TUNE_NO_BUILD;
      snprintf(results[i].message, sizeof results[i].message, "%.250s",
               scratch && scratch->n_diags ? scratch->diags[0].msg : "out of memory");
    }
    aotc_ctx_free(scratch);
  }
}

/* Compiles the candidates whose build[i] is set. */
static void build_all(tune_eval *ev, const bool *build, int n, const int *ids, tune_result *results)
{
  pid_t *pids = aotc_malloc(ev->ctx, sizeof *pids * (size_t)(n ? n : 1));
  if (pids)
    memset(pids, 0, sizeof *pids * (size_t)(n ? n : 1));
  int running = 0;
  for (int i = 0; pids && i < n; i++) {
    if (!build[i])
      continue;
    if (running == EVAL_JOBS)
      wait_build(ev, pids, ids, n, results), running--;
    if ((pids[i] = start_build(ev, ids[i])) > 0) {
      running++;
      continue;
    }
    results[i].status = TUNE_NO_BUILD;
    snprintf(results[i].message, sizeof results[i].message, "fork: %s", strerror(errno));
    pids[i] = 0;
  }
  for (; pids && running > 0; running--)
    wait_build(ev, pids, ids, n, results);
  aotc_free(ev->ctx, pids);
}

static void remove_candidate(const tune_eval *ev, int id)
{
  char path[320];
  driver_tmp_remove(cand_path(ev, id, NULL, path, sizeof path));
}

/* ------------------------------------------------------------------------
 * Code already measured
 * ------------------------------------------------------------------------ */

static int code_index(const tune_eval *ev, uint64_t hash)
{
  for (int i = 0; i < ev->n_codes; i++)
    if (ev->codes[i].hash == hash)
      return i;
  return -1;
}

static const tune_result *known_code(const tune_eval *ev, uint64_t hash)
{
  int i = code_index(ev, hash);
  return i >= 0 ? &ev->codes[i].result : NULL;
}

/* jit: the code of a passing --backend llvm candidate, kept loaded for a
 * later measure (tune_eval_again) instead of compiled again. */
static void remember_code(tune_eval *ev, uint64_t hash, const tune_result *res, int jit)
{
  if (known_code(ev, hash)) {
    emit_llvm_session_drop(ev->jit, jit);
    return;
  }
  if (ev->n_codes == ev->cap_codes) {
    int cap = ev->cap_codes ? 2 * ev->cap_codes : 64;
    void *grown = aotc_realloc(ev->ctx, ev->codes, sizeof *ev->codes * (size_t)cap);
    if (!grown) {
      emit_llvm_session_drop(ev->jit, jit);
      return;
    }
    ev->codes = grown;
    ev->cap_codes = cap;
  }
  ev->codes[ev->n_codes].hash = hash;
  ev->codes[ev->n_codes].jit = jit;
  ev->codes[ev->n_codes++].result = *res;
}

/* An emitted candidate i needs no build when its code was measured before
 * (result copied) or an earlier candidate of the batch has its code. */
static void skip_known(tune_eval *ev, int i, const uint64_t *hashes, bool *build, tune_result *results)
{
  const tune_result *known;
  if (build[i] && !ev->remeasure && (known = known_code(ev, hashes[i]))) {
    results[i] = *known;
    results[i].same_code = true;
    build[i] = false;
  }
  for (int j = 0; build[i] && j < i; j++)
    if (build[j] && hashes[j] == hashes[i])
      build[i] = false, results[i].same_code = true;
}

/* The cc path: emits every candidate; build[i] tells which need compiling:
 * not those that failed, nor those whose code was measured before. */
static void emit_all(tune_eval *ev, const sched_options *cands, int n, const int *ids, uint64_t *hashes, bool *build,
                     tune_result *results)
{
  for (int i = 0; i < n; i++) {
    double t0 = now();
    build[i] = emit_candidate(ev, &cands[i], ids[i], &hashes[i], &results[i]);
    ev->times.emit += now() - t0;
    skip_known(ev, i, hashes, build, results);
  }
}

/* --backend llvm: does a planned candidate's code need compiling? *loaded:
 * the handle of the same code kept loaded, or -1. */
static bool llvm_wanted(void *user, uint64_t hash, int *loaded)
{
  tune_eval *ev = user;
  int k = code_index(ev, hash);
  *loaded = k >= 0 ? ev->codes[k].jit : -1;
  return *loaded < 0 && (ev->remeasure || k < 0);
}

/* Every field of o, in order, for comparing options exactly. */
static void options_key(const sched_options *o, int *key)
{
  int n = 0;
  memset(key, 0, sizeof(int) * EVAL_OPTIONS_KEY);
  for (int d = 0; d < SCHED_MAX_DIMS; d++) {
    key[n++] = o->tile[d];
    key[n++] = o->reg_tile[d];
    key[n++] = o->order[d];
  }
  int rest[] = {(int)o->fusion, o->unroll, o->vectorize, o->threads, o->pack, o->scalar_replace, o->microkernel,
                o->vector_bytes, o->gpu_block[0], o->gpu_block[1], o->gpu_block[2], o->gpu_grid[0], o->gpu_grid[1],
                o->gpu_grid[2], o->gpu_promote, o->gpu_reduce, o->gpu_split, o->gpu_promote_reads};
  _Static_assert(3 * SCHED_MAX_DIMS + sizeof rest / sizeof rest[0] <= EVAL_OPTIONS_KEY, "options key");
  memcpy(key + n, rest, sizeof rest);
}

static bool llvm_planned_before(void *user, const sched_options *o, uint64_t *hash)
{
  tune_eval *ev = user;
  int key[EVAL_OPTIONS_KEY];
  options_key(o, key);
  for (int i = 0; i < ev->n_plans; i++)
    if (!memcmp(ev->plans[i].key, key, sizeof key)) {
      *hash = ev->plans[i].hash;
      return true;
    }
  return false;
}

static void remember_plan(tune_eval *ev, const sched_options *o, uint64_t hash)
{
  uint64_t known;
  if (llvm_planned_before(ev, o, &known))
    return;
  if (ev->n_plans == ev->cap_plans) {
    int cap = ev->cap_plans ? 2 * ev->cap_plans : 64;
    void *grown = aotc_realloc(ev->ctx, ev->plans, sizeof *ev->plans * (size_t)cap);
    if (!grown)
      return;
    ev->plans = grown;
    ev->cap_plans = cap;
  }
  options_key(o, ev->plans[ev->n_plans].key);
  ev->plans[ev->n_plans++].hash = hash;
}

/* The wall time of the planning and compiling threads, shared between
 * emitting and building as their thread-seconds are. */
static void add_llvm_times(tune_eval *ev, const tune_llvm_batch *b, double wall)
{
  double all = b->plan_s + b->compile_s;
  double plan = all > 0 ? wall * b->plan_s / all : 0;
  ev->times.emit += plan;
  ev->times.build += wall - plan;
}

/* --backend llvm: every candidate planned and compiled on threads
 * (eval_llvm.h); then, as in emit_all, which ones are measured. */
static void plan_compile_llvm(tune_eval *ev, const sched_options *cands, int n, const int *ids, uint64_t *hashes,
                              bool *build, tune_result *results, tune_llvm_cand *lcs)
{
  emit_options *opts = zeroed(ev, n, sizeof *opts);
  bool *claimed = zeroed(ev, n, sizeof *claimed);
  char(*msgs)[TUNE_FIELD] = zeroed(ev, n, sizeof *msgs);
  for (int i = 0; opts && i < n; i++)
    opts[i] = candidate_options(ev, &cands[i]);
  tune_llvm_batch b = {.ctx = ev->ctx, .f = ev->cfg.func, .J = ev->jit, .opts = opts, .ids = ids, .n = n,
                       .wanted = llvm_wanted, .planned_before = llvm_planned_before, .user = ev, .lcs = lcs, .hashes = hashes, .planned = build,
                       .msgs = msgs, .claimed = claimed};
  double t0 = now();
  if (opts && claimed && msgs)
    tune_llvm_plan_compile_all(&b);
  add_llvm_times(ev, &b, now() - t0);
  for (int i = 0; i < n; i++) {
    results[i].status = build[i] ? TUNE_OK : TUNE_NO_BUILD;
    if (!build[i])
      snprintf(results[i].message, sizeof results[i].message, "%s", msgs ? msgs[i] : "out of memory");
    if (build[i])
      remember_plan(ev, &cands[i], hashes[i]);
    skip_known(ev, i, hashes, build, results);
  }
  tune_llvm_share_objects(&b, build);
  aotc_free(ev->ctx, opts);
  aotc_free(ev->ctx, claimed);
  aotc_free(ev->ctx, msgs);
}

/* --backend llvm: the candidate's code loaded (or loaded before); its
 * handle, -1 (res says why) on failure. */
static int load_llvm(tune_eval *ev, tune_llvm_cand *lc, tune_result *res)
{
  if (lc->loaded >= 0 && emit_llvm_session_entry(ev->jit, lc->loaded, &ev->jit_call, &ev->jit_ws))
    return lc->loaded;
  int handle = tune_llvm_load(ev->jit, lc, &ev->jit_call, &ev->jit_ws, res->message, sizeof res->message);
  if (handle < 0)
    res->status = TUNE_NO_BUILD;
  return handle;
}

/* Measures a built candidate; --backend llvm: returns the handle of its
 * code when it passed (kept loaded), else -1. */
static int measure_one(tune_eval *ev, int id, uint64_t hash, tune_llvm_cand *lc, tune_result *res)
{
  char so[320];
  run_report rep = {0};
  int handle = ev->cfg.llvm ? load_llvm(ev, lc, res) : -1;
  if (ev->cfg.llvm && handle < 0)
    return -1;
  ev->measuring = hash;
  if (ev->cfg.cuda)
    measure_cuda(ev, id, &rep);
  else
    measure(ev, cand_path(ev, id, "kernel.so", so, sizeof so), &rep);
  ev->jit_call = ev->jit_ws = NULL;
  res->status = rep.status;
  res->seconds = rep.seconds;
  res->max_error = rep.max_error;
  memcpy(res->message, rep.message, sizeof rep.message);
  if (rep.status == TUNE_OK && (ev->best == 0 || rep.seconds < ev->best))
    ev->best = rep.seconds;
  if (rep.status != TUNE_OK && handle >= 0 && handle != lc->loaded) {
    emit_llvm_session_drop(ev->jit, handle);
    handle = -1;
  }
  return handle == lc->loaded ? -1 : handle;
}

/* Candidates with the code of an earlier one in the same batch share its
 * result. */
static void share_results(tune_eval *ev, int n, const uint64_t *hashes, const bool *emitted, tune_result *results)
{
  for (int i = 0; i < n; i++)
    if (results[i].same_code && emitted[i]) {
      const tune_result *known = known_code(ev, hashes[i]);
      if (known)
        results[i] = *known, results[i].same_code = true;
    }
}

void tune_eval_again(tune_eval *ev, const sched_options *cands, int n, tune_result *results)
{
  ev->remeasure = true;
  tune_eval_batch(ev, cands, n, results);
  ev->remeasure = false;
}

void tune_eval_batch(tune_eval *ev, const sched_options *cands, int n, tune_result *results)
{
  int *ids = zeroed(ev, n, sizeof *ids);
  uint64_t *hashes = zeroed(ev, n, sizeof *hashes);
  bool *build = zeroed(ev, n, sizeof *build), *emitted = zeroed(ev, n, sizeof *emitted);
  tune_llvm_cand *lcs = zeroed(ev, n, sizeof *lcs);
  int *jit = zeroed(ev, n, sizeof *jit);
  memset(results, 0, sizeof *results * (size_t)n);
  for (int i = 0; ids && i < n; i++)
    ids[i] = ev->serial++;
  if (ids && hashes && build && emitted && lcs && jit) {
    if (ev->cfg.llvm)
      plan_compile_llvm(ev, cands, n, ids, hashes, build, results, lcs);
    else
      emit_all(ev, cands, n, ids, hashes, build, results);
    for (int i = 0; i < n; i++)
      emitted[i] = results[i].status != TUNE_NO_BUILD;
    double wb = now();
    if (ev->cfg.cuda)
      build_all_cuda(ev, build, n, ids, results);
    else if (!ev->cfg.llvm)
      build_all(ev, build, n, ids, results);
    ev->times.build += now() - wb;
    double wr = now();
    for (int i = 0; i < n; i++)
      jit[i] = build[i] && results[i].status == TUNE_OK ? measure_one(ev, ids[i], hashes[i], &lcs[i], &results[i]) : -1;
    ev->times.runs += now() - wr;
    for (int i = 0; i < n; i++)
      if (build[i])
        remember_code(ev, hashes[i], &results[i], jit[i]);
    share_results(ev, n, hashes, emitted, results);
  }
  for (int i = 0; lcs && i < n; i++)
    tune_llvm_cand_free(&lcs[i]);
  for (int i = 0; ids && i < n && !ev->cfg.keep_temps && !ev->cfg.llvm; i++)
    remove_candidate(ev, ids[i]);
  aotc_free(ev->ctx, ids);
  aotc_free(ev->ctx, hashes);
  aotc_free(ev->ctx, build);
  aotc_free(ev->ctx, emitted);
  aotc_free(ev->ctx, lcs);
  aotc_free(ev->ctx, jit);
}

const tune_times *tune_eval_times(tune_eval *ev)
{
  if (ev->jit) {
    emit_llvm_shared sh;
    emit_llvm_session_shared(ev->jit, &sh);
    ev->times.shared_kernels = sh.kernels;
    ev->times.shared_packs = sh.packs;
    ev->times.cache_read = sh.cache_read;
    ev->times.cache_written = sh.cache_written;
  }
  return &ev->times;
}

/* ------------------------------------------------------------------------
 * Setup and teardown
 * ------------------------------------------------------------------------ */

/* CUDA: the reference's inputs (set 0), the spec and the runtime's objects
 * for every candidate's runner, once, in the tuning directory. */
static bool write_cuda_inputs(tune_eval *ev)
{
  if (!driver_cuda_write_args(ev->dir, ev->cfg.func, ev->cfg.sizes, ev->sets[0], ev->bytes, ev->n_args)) {
    aotc_error(ev->ctx, noloc, "tune: cannot write the inputs in '%s'", ev->dir);
    return false;
  }
  double t0 = now();
  ev->cuda_objs = driver_cuda_build_runtime(ev->ctx, ev->dir, tune_cuda_sim(ev), ev->cfg.verbose);
  ev->times.build += now() - t0;
  return ev->cuda_objs != NULL;
}

tune_eval *tune_eval_new(aotc_ctx *ctx, const tune_eval_config *cfg)
{
  tune_eval *ev = aotc_malloc(ctx, sizeof *ev);
  if (!ev) {
    aotc_error(ctx, noloc, "tune: out of memory");
    return NULL;
  }
  memset(ev, 0, sizeof *ev);
  ev->ctx = ctx;
  ev->cfg = *cfg;
  double t0 = now();
  bool ready = tune_ref_prepare(ev);
  ev->times.reference = now() - t0;
  if (ready && (ev->memo = poly_memo_new()) && driver_tmpdir_new(ctx, "tune", ev->dir, sizeof ev->dir) &&
      (!cfg->llvm || (ev->jit = emit_llvm_session_new(ctx, 3, cfg->llvm_cache))) && (!cfg->cuda || write_cuda_inputs(ev)))
    return ev;
  tune_eval_free(ev);
  return NULL;
}

void tune_eval_free(tune_eval *ev)
{
  if (!ev)
    return;
  aotc_ctx *ctx = ev->ctx;
  for (int s = 0; ev->sets && s < ev->n_sets && ev->sets[s]; s++)
    for (int a = 0; a < ev->n_args; a++)
      aotc_free(ctx, ev->sets[s][a]);
  for (int o = 0; ev->ref && o < ev->cfg.func->n_outputs; o++)
    aotc_free(ctx, ev->ref[o]);
  if (ev->dir[0] && ev->cfg.keep_temps) {
    driver_tmp_keep(ev->dir);
    fprintf(stderr, "aotc: kept tuning files in %s\n", ev->dir);
  } else if (ev->dir[0]) {
    driver_tmp_remove(ev->dir);
  }
  aotc_free(ctx, ev->codes);
  aotc_free(ctx, ev->plans);
  emit_llvm_session_free(ev->jit);
  poly_memo_free(ev->memo);
  aotc_free(ctx, ev);
}
