/* cuda_sim_exec.cc: runs a kernel launch on the CPU for the simulator. Blocks run one at a
 * time, in the order the settings ask; before each, every __shared__ variable (the section
 * aotc_shared) and the dynamic shared memory are filled with 0xff bytes (NaN). A block's
 * threads run either as ucontext fibers on this thread, resumed in forward, reverse or
 * seeded random order between barriers, or as one OS thread each (pthreads mode, for
 * ThreadSanitizer). In both, a barrier that not every thread of the block reaches, or that
 * threads reach at different __syncthreads() calls, is reported with its file and line and
 * fails the launch with the sticky cudaErrorLaunchFailure. Warp collectives (shuffles,
 * __syncwarp) are switch points of the lanes their mask names, checked the same way. See
 * docs/cuda-sim.md. */
#include "cuda_sim_internal.h"

#include <pthread.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_ASAN 1
#endif
#endif
#ifdef SIM_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

__thread uint3 threadIdx;
__thread uint3 blockIdx;
__thread uint3 blockDim;
__thread uint3 gridDim;

/* Bounds of the linker section holding every __shared__ variable of this module (null when
 * there is none). */
extern "C" char __start_aotc_shared[] __attribute__((weak, visibility("hidden")));
extern "C" char __stop_aotc_shared[] __attribute__((weak, visibility("hidden")));

namespace {

/* One launch, as every simulated thread of it sees it. */
struct launch {
  const aotc_sim_site *site;
  dim3 grid, block;
  unsigned threads;
  void (*body)(void *);
  void *frame;
  unsigned char *dynamic_shared;
  size_t shmem;
};

const launch *g_launch;

/* ------------------------------------------------------------------ thread indices */

uint3 thread_index(unsigned linear, dim3 b) {
  return uint3{linear % b.x, linear / b.x % b.y, linear / (b.x * b.y)};
}

uint3 block_index(unsigned long long linear, dim3 g) {
  return uint3{(unsigned)(linear % g.x), (unsigned)(linear / g.x % g.y),
               (unsigned)(linear / ((unsigned long long)g.x * g.y))};
}

/* 0..n-1 in the order of the settings; random draws a fresh shuffle each call. */
template <typename T> std::vector<T> run_order(T n) {
  std::vector<T> v(n);
  for (T i = 0; i < n; i++)
    v[i] = i;
  aotc_sim_order order = aotc_sim_settings_get()->order;
  if (order == AOTC_SIM_REVERSE)
    std::reverse(v.begin(), v.end());
  if (order == AOTC_SIM_RANDOM)
    for (T i = n; i > 1; i--)
      std::swap(v[i - 1], v[aotc_sim_random() % i]);
  return v;
}

/* ------------------------------------------------------------------ shared memory poison */

struct byte_range {
  unsigned char *start;
  size_t bytes;
};

/* The bytes of the section that belong to variables: under ASan the redzones between them
 * stay untouched, so an out-of-bounds shared access is still reported. */
std::vector<byte_range> find_shared_ranges(void) {
  std::vector<byte_range> ranges;
  unsigned char *p = (unsigned char *)__start_aotc_shared;
  unsigned char *end = (unsigned char *)__stop_aotc_shared;
  if (!p || !end || end <= p)
    return ranges;
#ifdef SIM_ASAN
  for (; p < end; p++) {
    bool usable = !__asan_address_is_poisoned(p);
    if (usable && (ranges.empty() || ranges.back().start + ranges.back().bytes != p))
      ranges.push_back(byte_range{p, 0});
    if (usable)
      ranges.back().bytes++;
  }
#else
  ranges.push_back(byte_range{p, (size_t)(end - p)});
#endif
  return ranges;
}

void poison_shared(const launch *l) {
  static const std::vector<byte_range> ranges = find_shared_ranges();
  for (const byte_range &r : ranges)
    memset(r.start, 0xff, r.bytes);
  memset(l->dynamic_shared, 0xff, l->shmem);
}

/* ------------------------------------------------------------------ divergence reports */

/* Where one simulated thread is: running, waiting at a barrier (file, line), at a warp
 * collective (file, line), or exited. */
enum stop_kind { STOP_RUNNING, STOP_WAITING, STOP_EXITED, STOP_WARP };

struct stop {
  stop_kind kind;
  const char *file;
  int line;
};

bool same_barrier(stop a, stop b) {
  return a.kind == STOP_WAITING && b.kind == STOP_WAITING && a.line == b.line &&
         strcmp(a.file, b.file) == 0;
}

/* The first thread that is not waiting at stops[first]'s barrier and not still running. */
size_t odd_thread(const std::vector<stop> &stops, size_t first) {
  for (size_t i = 0; i < stops.size(); i++)
    if (stops[i].kind != STOP_RUNNING && !same_barrier(stops[i], stops[first]))
      return i;
  return first;
}

/* Prints FILE:LINE: error: ... for a barrier not every thread reached the same way. */
void report_divergence(const launch *l, const std::vector<stop> &stops) {
  size_t first = 0, arrived = 0;
  while (first + 1 < stops.size() && stops[first].kind != STOP_WAITING)
    first++;
  for (const stop &s : stops)
    arrived += same_barrier(s, stops[first]);
  size_t odd = odd_thread(stops, first);
  uint3 b = blockIdx, t = thread_index((unsigned)odd, l->block);
  fprintf(stderr,
          "%s:%d: error: __syncthreads() reached by %zu of %u threads of block (%u,%u,%u) of "
          "kernel '%s' (launched at %s:%d); thread (%u,%u,%u) ",
          stops[first].file, stops[first].line, arrived, l->threads, b.x, b.y, b.z,
          l->site->kernel, l->site->file, l->site->line, t.x, t.y, t.z);
  if (stops[odd].kind == STOP_WAITING)
    fprintf(stderr, "waits at %s:%d instead\n", stops[odd].file, stops[odd].line);
  else
    fprintf(stderr, "exited without reaching it\n");
}


/* ------------------------------------------------------------------ warps */

const unsigned WARP = 32;

/* What a lane asked at its warp collective, and what it receives. */
struct warp_call {
  aotc_sim_warp_op op;
  unsigned mask;
  uint64_t value, result;
  int arg, width;
};

/* One per thread of the running block. */
std::vector<warp_call> g_calls;

const char *const warp_op_name[] = {"__syncwarp()", "__shfl_sync()", "__shfl_up_sync()",
                                    "__shfl_down_sync()", "__shfl_xor_sync()"};
static_assert(sizeof warp_op_name / sizeof warp_op_name[0] == AOTC_SIM_WARP_OP_COUNT, "names");

/* The lane (of the warp) whose value lane receives: CUDA's rules, in segments of width lanes;
 * lane itself where up or down would leave its segment. */
unsigned source_lane(const warp_call &c, unsigned lane) {
  unsigned w = c.width > 0 && c.width <= (int)WARP ? (unsigned)c.width : WARP;
  unsigned seg = lane & ~(w - 1), in = lane - seg, a = (unsigned)c.arg;
  switch (c.op) {
  case AOTC_SIM_SHFL_IDX: return seg + a % w;
  case AOTC_SIM_SHFL_UP: return in >= a ? lane - a : lane;
  case AOTC_SIM_SHFL_DOWN: return a < w - in ? lane + a : lane;
  case AOTC_SIM_SHFL_XOR: return (in ^ a) < w ? seg + (in ^ a) : lane;
  default: return lane;
  }
}

enum group_state { GROUP_RUNNING, GROUP_READY, GROUP_STUCK };

bool same_warp_call(const std::vector<stop> &stops, unsigned a, unsigned b) {
  return stops[a].kind == STOP_WARP && stops[b].kind == STOP_WARP && stops[a].line == stops[b].line &&
         strcmp(stops[a].file, stops[b].file) == 0 && g_calls[a].mask == g_calls[b].mask;
}

/* The lanes named by the mask of thread first's warp collective: ready when every one waits at
 * that call with that mask, running when one has not stopped yet, else stuck, *odd the first
 * that exited, waits elsewhere or is not in the block (first itself when its mask leaves it
 * out). */
group_state warp_group(const std::vector<stop> &stops, unsigned threads, unsigned first, unsigned *odd) {
  unsigned base = first / WARP * WARP, mask = g_calls[first].mask;
  bool running = false;
  *odd = first;
  if (!(mask >> (first - base) & 1))
    return GROUP_STUCK;
  for (unsigned lane = 0; lane < WARP; lane++) {
    unsigned i = base + lane;
    if (!(mask >> lane & 1))
      continue;
    *odd = i;
    if (i >= threads)
      return GROUP_STUCK;
    running |= stops[i].kind == STOP_RUNNING;
    if (stops[i].kind != STOP_RUNNING && !same_warp_call(stops, i, first))
      return GROUP_STUCK;
  }
  return running ? GROUP_RUNNING : GROUP_READY;
}

/* Each lane of first's ready group receives its source lane's value (0xff bytes, as poisoned
 * shared memory, from a lane outside the group). */
void complete_group(unsigned first) {
  unsigned base = first / WARP * WARP, mask = g_calls[first].mask;
  for (unsigned lane = 0; lane < WARP; lane++)
    if (mask >> lane & 1) {
      unsigned src = source_lane(g_calls[base + lane], lane);
      g_calls[base + lane].result = mask >> src & 1 ? g_calls[base + src].value : ~(uint64_t)0;
    }
}

/* Prints FILE:LINE: error: ... for a warp collective that lane odd keeps from completing. */
void report_warp(const launch *l, const std::vector<stop> &stops, unsigned first, unsigned odd) {
  unsigned base = first / WARP * WARP, mask = g_calls[first].mask, named = 0, arrived = 0;
  for (unsigned lane = 0; lane < WARP; lane++)
    if (mask >> lane & 1) {
      named++;
      arrived += base + lane < l->threads && same_warp_call(stops, base + lane, first);
    }
  uint3 b = blockIdx, t = thread_index(odd, l->block);
  fprintf(stderr,
          "%s:%d: error: %s reached by %u of the %u lanes of its mask 0x%08x in warp %u of block "
          "(%u,%u,%u) of kernel '%s' (launched at %s:%d); lane %u ",
          stops[first].file, stops[first].line, warp_op_name[g_calls[first].op], arrived, named, mask,
          first / WARP, b.x, b.y, b.z, l->site->kernel, l->site->file, l->site->line, odd % WARP);
  if (odd >= l->threads)
    fprintf(stderr, "is not in the block (%u threads)\n", l->threads);
  else if (odd == first)
    fprintf(stderr, "(thread (%u,%u,%u)) is not in its own mask\n", t.x, t.y, t.z);
  else if (stops[odd].kind == STOP_WAITING)
    fprintf(stderr, "(thread (%u,%u,%u)) waits at __syncthreads() at %s:%d instead\n", t.x, t.y, t.z,
            stops[odd].file, stops[odd].line);
  else if (stops[odd].kind == STOP_WARP)
    fprintf(stderr, "(thread (%u,%u,%u)) waits at %s:%d instead\n", t.x, t.y, t.z, stops[odd].file,
            stops[odd].line);
  else
    fprintf(stderr, "(thread (%u,%u,%u)) exited without reaching it\n", t.x, t.y, t.z);
}

/* ------------------------------------------------------------------ fibers */

enum fiber_state { FIBER_READY, FIBER_AT_BARRIER, FIBER_DONE };

__thread unsigned t_linear; /* the running simulated thread's index in its block */

struct fiber {
  ucontext_t context;
  unsigned char *stack;
  size_t stack_bytes;
  bool stack_dirty;
  fiber_state state;
  stop at;
  void *fake_stack;
};

/* The fibers (and their stacks) of the largest block so far, reused by every block. */
struct fiber_pool {
  std::vector<fiber *> fibers;
  fiber *operator[](size_t i) const { return fibers[i]; }
  size_t size() const { return fibers.size(); }
  ~fiber_pool() {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (fiber *f : fibers) {
      munmap(f->stack - page, f->stack_bytes + page);
      delete f;
    }
  }
};

fiber_pool g_fibers;
ucontext_t g_scheduler;
fiber *g_self;
const void *g_main_bottom;
size_t g_main_size;

/* Switching stacks, told to ASan so that it neither reports nor misses anything. */
void before_switch(void **fake_stack, const void *bottom, size_t size) {
#ifdef SIM_ASAN
  __sanitizer_start_switch_fiber(fake_stack, bottom, size);
#else
  (void)fake_stack, (void)bottom, (void)size;
#endif
}

void after_switch(void *fake_stack, const void **old_bottom, size_t *old_size) {
#ifdef SIM_ASAN
  __sanitizer_finish_switch_fiber(fake_stack, old_bottom, old_size);
#else
  (void)fake_stack, (void)old_bottom, (void)old_size;
#endif
}

/* A stack with an inaccessible guard page below it, so an overflow faults. */
fiber *new_fiber(size_t bytes) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  bytes = (bytes + page - 1) / page * page;
  void *m = mmap(nullptr, bytes + page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED)
    return nullptr;
  mprotect(m, page, PROT_NONE);
  fiber *f = new fiber();
  f->stack = (unsigned char *)m + page;
  f->stack_bytes = bytes;
  return f;
}

bool ensure_fibers(unsigned n) {
  size_t bytes = aotc_sim_settings_get()->stack_bytes;
  while (g_fibers.size() < n) {
    fiber *f = new_fiber(bytes);
    if (!f)
      return false;
    g_fibers.fibers.push_back(f);
  }
  return true;
}

void fiber_main(void) {
  fiber *f = g_self;
  after_switch(nullptr, &g_main_bottom, &g_main_size);
  g_launch->body(g_launch->frame);
  f->state = FIBER_DONE;
  before_switch(nullptr, g_main_bottom, g_main_size);
  swapcontext(&f->context, &g_scheduler);
}

/* Makes f start the kernel afresh. uc_stack is cleared after makecontext so that ASan's
 * swapcontext interceptor does not wipe the shadow of a suspended fiber's live frames. */
void start_fiber(fiber *f) {
#ifdef SIM_ASAN
  if (f->stack_dirty)
    __asan_unpoison_memory_region(f->stack, f->stack_bytes);
#endif
  f->stack_dirty = false;
  f->state = FIBER_READY;
  f->at = stop{STOP_RUNNING, nullptr, 0};
  f->fake_stack = nullptr;
  getcontext(&f->context);
  f->context.uc_stack.ss_sp = f->stack;
  f->context.uc_stack.ss_size = f->stack_bytes;
  f->context.uc_link = nullptr;
  makecontext(&f->context, fiber_main, 0);
  f->context.uc_stack.ss_sp = nullptr;
  f->context.uc_stack.ss_size = 0;
}

void resume(fiber *f, unsigned linear) {
  void *fake_stack = nullptr;
  t_linear = linear;
  threadIdx = thread_index(linear, g_launch->block);
  g_self = f;
  before_switch(&fake_stack, f->stack, f->stack_bytes);
  swapcontext(&g_scheduler, &f->context);
  after_switch(fake_stack, nullptr, nullptr);
  g_self = nullptr;
}

/* Stops the fiber at a barrier (STOP_WAITING) or a warp collective (STOP_WARP). */
void fiber_barrier(const char *file, int line, stop_kind kind) {
  fiber *f = g_self;
  f->state = FIBER_AT_BARRIER;
  f->at = stop{kind, file, line};
  before_switch(&f->fake_stack, g_main_bottom, g_main_size);
  swapcontext(&f->context, &g_scheduler);
  after_switch(f->fake_stack, &g_main_bottom, &g_main_size);
}

/* True when every thread waits at one barrier; false when the block is done. Reports and
 * abandons the block (its fibers' stacks to be cleaned before reuse) when neither. */
std::vector<stop> fiber_stops(const launch *l) {
  std::vector<stop> stops(l->threads);
  for (unsigned i = 0; i < l->threads; i++) {
    stops[i] = g_fibers[i]->at;
    if (g_fibers[i]->state == FIBER_DONE)
      stops[i] = stop{STOP_EXITED, nullptr, 0};
  }
  return stops;
}

/* A failed block's fibers: their stacks to be cleaned before reuse. */
void abandon_block(const launch *l) {
  for (unsigned i = 0; i < l->threads; i++)
    g_fibers[i]->stack_dirty = g_fibers[i]->state != FIBER_DONE;
}

/* After every fiber stopped: releases each warp group whose lanes all wait at its collective
 * (true if any); when none can go on, one that cannot complete is reported and fails the
 * block. */
bool release_warps(const launch *l, bool *failed) {
  std::vector<stop> stops = fiber_stops(l);
  bool released = false;
  unsigned stuck = UINT_MAX, odd = 0, o;
  for (unsigned i = 0; i < l->threads; i++) {
    if (stops[i].kind != STOP_WARP)
      continue;
    group_state g = warp_group(stops, l->threads, i, &o);
    if (g == GROUP_STUCK && stuck == UINT_MAX)
      stuck = i, odd = o;
    if (g != GROUP_READY)
      continue;
    complete_group(i);
    for (unsigned lane = 0, base = i / WARP * WARP; lane < WARP; lane++)
      if (g_calls[i].mask >> lane & 1) {
        g_fibers[base + lane]->state = FIBER_READY;
        g_fibers[base + lane]->at = stops[base + lane] = stop{STOP_RUNNING, nullptr, 0};
      }
    released = true;
  }
  if (!released && stuck != UINT_MAX) {
    report_warp(l, stops, stuck, odd);
    abandon_block(l);
    *failed = true;
  }
  return released;
}

bool release_barrier(const launch *l, bool *failed) {
  std::vector<stop> stops = fiber_stops(l);
  bool any_waiting = false, divergent = false;
  for (unsigned i = 0; i < l->threads; i++)
    any_waiting |= stops[i].kind == STOP_WAITING;
  for (unsigned i = 0; any_waiting && i < l->threads; i++)
    divergent |= !same_barrier(stops[i], stops[0]);
  if (divergent) {
    report_divergence(l, stops);
    abandon_block(l);
    *failed = true;
  }
  for (unsigned i = 0; any_waiting && !divergent && i < l->threads; i++)
    g_fibers[i]->state = FIBER_READY;
  return any_waiting && !divergent;
}

bool run_block_fibers(const launch *l) {
  bool failed = false;
  if (!ensure_fibers(l->threads)) {
    fprintf(stderr, "cuda-sim: error: cannot map %u fiber stacks\n", l->threads);
    return false;
  }
  for (unsigned i = 0; i < l->threads; i++)
    start_fiber(g_fibers[i]);
  do {
    do {
      for (unsigned i : run_order(l->threads))
        if (g_fibers[i]->state == FIBER_READY)
          resume(g_fibers[i], i);
    } while (release_warps(l, &failed));
  } while (!failed && release_barrier(l, &failed));
  return !failed;
}

/* ------------------------------------------------------------------ pthreads */

/* A barrier that knows which threads have exited, so that divergence is an error instead of
 * a hang; its mutex also gives ThreadSanitizer the barrier's happens-before edges. */
struct thread_barrier {
  pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
  unsigned waiting = 0, generation = 0;
  bool failed = false;
  std::vector<stop> stops;
  std::vector<char> at_warp; /* per thread: waiting for its warp collective to complete */
};

thread_barrier *g_barrier;

/* Called with the mutex held when the barrier cannot complete. */
void fail_barrier(thread_barrier *b) {
  if (!b->failed)
    report_divergence(g_launch, b->stops);
  b->failed = true;
  pthread_cond_broadcast(&b->cond);
}

/* Called with the mutex held when lane first's warp collective cannot complete. */
void fail_warp(thread_barrier *b, unsigned first, unsigned odd) {
  if (!b->failed)
    report_warp(g_launch, b->stops, first, odd);
  b->failed = true;
  pthread_cond_broadcast(&b->cond);
}

/* After thread me stopped (at a barrier, a collective or its end): fails the block when a
 * warp collective of me's warp can no longer complete. */
void check_warp(thread_barrier *b, unsigned me) {
  unsigned base = me / WARP * WARP, odd;
  for (unsigned i = base; i < base + WARP && i < g_launch->threads && !b->failed; i++)
    if (b->stops[i].kind == STOP_WARP && warp_group(b->stops, g_launch->threads, i, &odd) == GROUP_STUCK)
      fail_warp(b, i, odd);
}

bool barrier_divergent(thread_barrier *b, stop here) {
  for (const stop &s : b->stops)
    if (s.kind == STOP_EXITED || (s.kind == STOP_WAITING && !same_barrier(s, here)))
      return true;
  return false;
}

void leave_failed(thread_barrier *b) {
  pthread_mutex_unlock(&b->mutex);
  pthread_exit(nullptr);
}

void wait_generation(thread_barrier *b) {
  unsigned generation = b->generation;
  while (b->generation == generation && !b->failed)
    pthread_cond_wait(&b->cond, &b->mutex);
}

void release_generation(thread_barrier *b) {
  b->waiting = 0;
  b->generation++;
  for (stop &s : b->stops)
    s = stop{STOP_RUNNING, nullptr, 0};
  pthread_cond_broadcast(&b->cond);
}

void thread_barrier_wait(const char *file, int line) {
  thread_barrier *b = g_barrier;
  stop here{STOP_WAITING, file, line};
  pthread_mutex_lock(&b->mutex);
  b->stops[t_linear] = here;
  check_warp(b, t_linear);
  if (b->failed || barrier_divergent(b, here))
    fail_barrier(b);
  if (b->failed)
    leave_failed(b);
  if (++b->waiting == g_launch->threads)
    release_generation(b);
  else
    wait_generation(b);
  if (b->failed)
    leave_failed(b);
  pthread_mutex_unlock(&b->mutex);
}

/* A warp collective in pthreads mode: the last lane of the group to arrive completes it and
 * wakes the others. */
void thread_warp_wait(const char *file, int line) {
  thread_barrier *b = g_barrier;
  unsigned me = t_linear, odd;
  pthread_mutex_lock(&b->mutex);
  b->stops[me] = stop{STOP_WARP, file, line};
  b->at_warp[me] = 1;
  group_state g = warp_group(b->stops, g_launch->threads, me, &odd);
  if (g == GROUP_STUCK)
    fail_warp(b, me, odd);
  if (g == GROUP_READY) {
    complete_group(me);
    for (unsigned lane = 0, base = me / WARP * WARP; lane < WARP; lane++)
      if (g_calls[me].mask >> lane & 1) {
        b->stops[base + lane] = stop{STOP_RUNNING, nullptr, 0};
        b->at_warp[base + lane] = 0;
      }
    pthread_cond_broadcast(&b->cond);
  }
  while (b->at_warp[me] && !b->failed)
    pthread_cond_wait(&b->cond, &b->mutex);
  if (b->failed)
    leave_failed(b);
  pthread_mutex_unlock(&b->mutex);
}

struct thread_start {
  unsigned linear;
  uint3 block;
};

void *thread_main(void *arg) {
  thread_start *s = (thread_start *)arg;
  t_linear = s->linear;
  threadIdx = thread_index(s->linear, g_launch->block);
  blockIdx = s->block;
  blockDim = uint3{g_launch->block.x, g_launch->block.y, g_launch->block.z};
  gridDim = uint3{g_launch->grid.x, g_launch->grid.y, g_launch->grid.z};
  g_launch->body(g_launch->frame);
  pthread_mutex_lock(&g_barrier->mutex);
  g_barrier->stops[t_linear] = stop{STOP_EXITED, nullptr, 0};
  check_warp(g_barrier, t_linear);
  if (g_barrier->waiting > 0)
    fail_barrier(g_barrier);
  pthread_mutex_unlock(&g_barrier->mutex);
  return nullptr;
}

/* One OS thread per simulated thread, a fresh barrier per block. */
bool run_block_threads(const launch *l) {
  thread_barrier barrier;
  std::vector<pthread_t> ids(l->threads);
  std::vector<thread_start> starts(l->threads);
  pthread_attr_t attr;
  unsigned made = 0;
  barrier.stops.assign(l->threads, stop{STOP_RUNNING, nullptr, 0});
  barrier.at_warp.assign(l->threads, 0);
  g_barrier = &barrier;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, aotc_sim_settings_get()->stack_bytes * 4);
  for (; made < l->threads; made++) {
    starts[made] = thread_start{made, blockIdx};
    if (pthread_create(&ids[made], &attr, thread_main, &starts[made]) != 0)
      break;
  }
  pthread_attr_destroy(&attr);
  for (unsigned i = 0; i < made; i++)
    pthread_join(ids[i], nullptr);
  g_barrier = nullptr;
  if (made < l->threads)
    fprintf(stderr, "cuda-sim: error: cannot start %u threads\n", l->threads);
  return made == l->threads && !barrier.failed;
}

/* ------------------------------------------------------------------ launches */

bool config_error(const aotc_sim_site *site, const char *what) {
  fprintf(stderr, "%s:%d: error: launch of kernel '%s': %s\n", site->file, site->line,
          site->kernel, what);
  return true;
}

cudaError_t check_config(const aotc_sim_site *site, const void *kernel, dim3 g, dim3 b,
                         size_t shmem, cudaStream_t stream) {
  unsigned long long threads = (unsigned long long)b.x * b.y * b.z;
  if (!aotc_sim_stream_valid(stream))
    return cudaErrorInvalidResourceHandle;
  /* CUDA 13.0 on an H200 (tests/gpu/run.sh, bench/RESULTS.md) answers these two with
   * cudaErrorInvalidValue, not cudaErrorInvalidConfiguration */
  if ((!g.x || !g.y || !g.z || !b.x || !b.y || !b.z) && config_error(site, "a zero dimension"))
    return cudaErrorInvalidValue;
  if ((threads > 1024 || b.z > 64) && config_error(site, "more than 1024 threads per block"))
    return cudaErrorInvalidValue;
  if ((g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535) && config_error(site, "grid too large"))
    return cudaErrorInvalidConfiguration;
  if (shmem > aotc_sim_max_dynamic_shared(kernel) &&
      config_error(site, "dynamic shared memory above the kernel's limit"))
    return cudaErrorInvalidValue;
  return cudaSuccess;
}

/* The k-th block to run; only the random order needs a table (huge 1-D grids stay cheap). */
unsigned long long nth_block(const std::vector<unsigned long long> &shuffled,
                             unsigned long long blocks, unsigned long long k) {
  if (!shuffled.empty())
    return shuffled[k];
  return aotc_sim_settings_get()->order == AOTC_SIM_REVERSE ? blocks - 1 - k : k;
}

bool run_grid(const launch *l) {
  unsigned long long blocks = (unsigned long long)l->grid.x * l->grid.y * l->grid.z;
  const aotc_sim_settings *s = aotc_sim_settings_get();
  bool threads = s->mode == AOTC_SIM_PTHREADS;
  std::vector<unsigned long long> shuffled;
  if (s->order == AOTC_SIM_RANDOM)
    shuffled = run_order(blocks);
  blockDim = uint3{l->block.x, l->block.y, l->block.z};
  gridDim = uint3{l->grid.x, l->grid.y, l->grid.z};
  for (unsigned long long k = 0; k < blocks; k++) {
    blockIdx = block_index(nth_block(shuffled, blocks, k), l->grid);
    poison_shared(l);
    if (!(threads ? run_block_threads(l) : run_block_fibers(l)))
      return false;
  }
  return true;
}

} // namespace

extern "C" {

void aotc_sim_launch_body(const aotc_sim_site *site, const void *kernel, dim3 grid, dim3 block,
                          size_t shmem, cudaStream_t stream, void (*body)(void *), void *frame) {
  if (cudaError_t e = aotc_sim_sticky_error())
    return aotc_sim_set_last_error(e);
  if (cudaError_t e = check_config(site, kernel, grid, block, shmem, stream))
    return aotc_sim_set_last_error(e);
  if (g_self || g_barrier) {
    config_error(site, "a launch from device code (dynamic parallelism) is not simulated");
    return aotc_sim_set_sticky_error(cudaErrorLaunchFailure);
  }
  launch l{site, grid, block, block.x * block.y * block.z, body, frame,
           (unsigned char *)malloc(shmem ? shmem : 1), shmem};
  g_calls.assign(l.threads, warp_call{});
  const launch *outer = g_launch;
  g_launch = &l;
  if (!l.dynamic_shared || !run_grid(&l))
    aotc_sim_set_sticky_error(l.dynamic_shared ? cudaErrorLaunchFailure
                                               : cudaErrorMemoryAllocation);
  g_launch = outer;
  free(l.dynamic_shared);
}

void aotc_sim_syncthreads(const char *file, int line) {
  if (aotc_sim_settings_get()->mode == AOTC_SIM_PTHREADS && g_barrier)
    return thread_barrier_wait(file, line);
  if (g_self)
    return fiber_barrier(file, line, STOP_WAITING);
  fprintf(stderr, "%s:%d: error: __syncthreads() outside a kernel launch\n", file, line);
  abort();
}

uint64_t aotc_sim_warp(const char *file, int line, aotc_sim_warp_op op, unsigned mask, uint64_t value,
                       int arg, int width) {
  bool threads = aotc_sim_settings_get()->mode == AOTC_SIM_PTHREADS && g_barrier;
  if (!threads && !g_self) {
    fprintf(stderr, "%s:%d: error: %s outside a kernel launch\n", file, line,
            op < AOTC_SIM_WARP_OP_COUNT ? warp_op_name[op] : "warp collective");
    abort();
  }
  g_calls[t_linear] = warp_call{op, mask, value, 0, arg, width};
  if (threads)
    thread_warp_wait(file, line);
  else
    fiber_barrier(file, line, STOP_WARP);
  return g_calls[t_linear].result;
}

void *aotc_sim_dynamic_shared(void) { return g_launch ? g_launch->dynamic_shared : nullptr; }

/* ThreadSanitizer does not model fences (blocks run one after another, so a fence orders
 * nothing it could check): there, only the compiler is fenced. */
void aotc_sim_fence(void) {
#if defined(__SANITIZE_THREAD__)
  __asm__ __volatile__("" ::: "memory");
#else
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

} /* extern "C" */
