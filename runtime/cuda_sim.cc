/* cuda_sim.cc: the host half of the CPU simulator for CUDA: device memory (malloc'd, NaN
 * filled, every copy checked for direction), streams and events (all work is synchronous,
 * events are host timestamps), errors (last and sticky), the simulated device's properties,
 * and the settings read from AOTC_SIM_ORDER / AOTC_SIM_SEED / AOTC_SIM_MODE /
 * AOTC_SIM_STACK_KB. Launches run in cuda_sim_exec.cc. Single host thread. */
#include "cuda_sim_internal.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>

struct CUstream_st {
  unsigned flags;
};

struct CUevent_st {
  unsigned flags;
  bool recorded;
  double ms;
};

namespace {

struct sim_state {
  bool configured = false;
  aotc_sim_settings settings{};
  uint64_t rng = 0;
  cudaError_t last = cudaSuccess;
  cudaError_t sticky = cudaSuccess;
  std::map<uintptr_t, size_t> device;
  std::set<void *> host;
  std::set<cudaStream_t> streams;
  std::set<cudaEvent_t> events;
  std::map<const void *, size_t> max_dynamic_shared;
};

sim_state g;

/* ------------------------------------------------------------------ settings */

bool parse_order(const char *s, aotc_sim_order *order) {
  static const char *const names[] = {"forward", "reverse", "random"};
  for (int i = 0; i < 3; i++)
    if (strcmp(s, names[i]) == 0) {
      *order = (aotc_sim_order)i;
      return true;
    }
  return false;
}

bool parse_mode(const char *s, aotc_sim_mode *mode) {
  if (strcmp(s, "fibers") == 0)
    *mode = AOTC_SIM_FIBERS;
  else if (strcmp(s, "pthreads") == 0)
    *mode = AOTC_SIM_PTHREADS;
  else
    return false;
  return true;
}

/* A wrong setting must not quietly test something else: it fails every later call. */
void bad_setting(const char *name, const char *value) {
  fprintf(stderr, "cuda-sim: error: %s=%s is not a valid setting (see docs/cuda-sim.md)\n", name,
          value);
  g.sticky = cudaErrorInitializationError;
}

aotc_sim_mode default_mode(void) {
#if defined(__SANITIZE_THREAD__)
  return AOTC_SIM_PTHREADS;
#else
  return AOTC_SIM_FIBERS;
#endif
}

void read_environment(aotc_sim_settings *s) {
  const char *v;
  if ((v = getenv("AOTC_SIM_ORDER")) && *v && !parse_order(v, &s->order))
    bad_setting("AOTC_SIM_ORDER", v);
  if ((v = getenv("AOTC_SIM_MODE")) && *v && !parse_mode(v, &s->mode))
    bad_setting("AOTC_SIM_MODE", v);
  if ((v = getenv("AOTC_SIM_SEED")) && *v)
    s->seed = strtoull(v, nullptr, 0);
  if ((v = getenv("AOTC_SIM_STACK_KB")) && *v) {
    s->stack_bytes = (size_t)strtoull(v, nullptr, 0) * 1024;
    if (s->stack_bytes < 16 * 1024)
      bad_setting("AOTC_SIM_STACK_KB", v);
  }
}

void configure(void) {
  if (g.configured)
    return;
  g.configured = true;
  g.settings = aotc_sim_settings{AOTC_SIM_FORWARD, default_mode(), 1, 256 * 1024};
  read_environment(&g.settings);
  g.rng = g.settings.seed;
}

/* ------------------------------------------------------------------ memory bookkeeping */

/* The device allocation holding [p, p + bytes), or end(). */
std::map<uintptr_t, size_t>::iterator device_block(const void *p, size_t bytes) {
  uintptr_t a = (uintptr_t)p;
  auto it = g.device.upper_bound(a);
  if (it == g.device.begin())
    return g.device.end();
  --it;
  if (a + bytes < a || a + bytes > it->first + it->second)
    return g.device.end();
  return it;
}

bool is_device(const void *p, size_t bytes) { return device_block(p, bytes) != g.device.end(); }

bool touches_device(const void *p, size_t bytes) {
  uintptr_t a = (uintptr_t)p;
  auto it = g.device.lower_bound(a);
  if (it != g.device.end() && it->first < a + bytes)
    return true;
  if (it == g.device.begin())
    return false;
  --it;
  return a < it->first + it->second;
}

const char *const kind_names[] = {"HostToHost", "HostToDevice", "DeviceToHost", "DeviceToDevice",
                                  "Default"};

cudaError_t copy_error(const char *what, cudaMemcpyKind kind, const char *which, const void *p,
                       bool want_device) {
  fprintf(stderr, "cuda-sim: error: %s %s: the %s %p %s\n", what, kind_names[kind], which, p,
          want_device ? "is not (wholly) inside one device allocation"
                      : "is device memory where host memory was expected");
  return cudaErrorInvalidValue;
}

/* The direction rules of cudaMemcpy, strictly: a host pointer where the kind says device
 * (or the reverse) is an error here even where unified addressing would forgive it. */
cudaError_t check_copy(const char *what, void *dst, const void *src, size_t n, cudaMemcpyKind k) {
  bool dst_dev = k == cudaMemcpyHostToDevice || k == cudaMemcpyDeviceToDevice;
  bool src_dev = k == cudaMemcpyDeviceToHost || k == cudaMemcpyDeviceToDevice;
  if ((unsigned)k > cudaMemcpyDefault)
    return cudaErrorInvalidMemcpyDirection;
  if (k == cudaMemcpyDefault || n == 0)
    return cudaSuccess;
  if (dst_dev ? !is_device(dst, n) : touches_device(dst, n))
    return copy_error(what, k, "destination", dst, dst_dev);
  if (src_dev ? !is_device(src, n) : touches_device(src, n))
    return copy_error(what, k, "source", src, src_dev);
  return cudaSuccess;
}

/* Every entry point starts here: settings, then a sticky error wins over the call. */
cudaError_t enter(void) {
  configure();
  return g.sticky;
}

cudaError_t fail(cudaError_t e) {
  if (e != cudaSuccess)
    g.last = e;
  return e;
}

double now_ms(void) {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::milli>(clock::now().time_since_epoch()).count();
}

} // namespace

/* ------------------------------------------------------------------ shared with exec */

const aotc_sim_settings *aotc_sim_settings_get(void) {
  configure();
  return &g.settings;
}

uint64_t aotc_sim_random(void) {
  uint64_t z = (g.rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void aotc_sim_set_last_error(cudaError_t error) { g.last = error; }
void aotc_sim_set_sticky_error(cudaError_t error) { g.sticky = g.last = error; }
cudaError_t aotc_sim_sticky_error(void) { return enter(); }

int aotc_sim_stream_valid(cudaStream_t stream) {
  return stream == nullptr || g.streams.count(stream) != 0;
}

size_t aotc_sim_max_dynamic_shared(const void *kernel) {
  auto it = g.max_dynamic_shared.find(kernel);
  return it == g.max_dynamic_shared.end() ? 48 * 1024 : it->second;
}

/* ------------------------------------------------------------------ the C API */

extern "C" {

void aotc_sim_set_order(aotc_sim_order order, uint64_t seed) {
  configure();
  g.settings.order = order;
  g.settings.seed = g.rng = seed;
}

void aotc_sim_set_mode(aotc_sim_mode mode) {
  configure();
  if (default_mode() == AOTC_SIM_PTHREADS && mode == AOTC_SIM_FIBERS)
    return;
  g.settings.mode = mode;
}

aotc_sim_order aotc_sim_get_order(void) { return aotc_sim_settings_get()->order; }
aotc_sim_mode aotc_sim_get_mode(void) { return aotc_sim_settings_get()->mode; }

cudaError_t aotc_sim_func_set_attribute(const void *kernel, cudaFuncAttribute attr, int value) {
  if (cudaError_t e = enter())
    return e;
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize)
    return cudaSuccess;
  if (value < 0 || value > 227 * 1024)
    return fail(cudaErrorInvalidValue);
  g.max_dynamic_shared[kernel] = (size_t)value;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void **ptr, size_t bytes) {
  void *p = nullptr;
  if (cudaError_t e = enter())
    return e;
  if (!ptr)
    return fail(cudaErrorInvalidValue);
  if (posix_memalign(&p, 256, bytes ? bytes : 1) != 0)
    return fail(cudaErrorMemoryAllocation);
  memset(p, 0xff, bytes);
  g.device[(uintptr_t)p] = bytes;
  *ptr = p;
  return cudaSuccess;
}

/* Frees even after a sticky error (which it still returns), so leak checkers stay quiet. */
cudaError_t cudaFree(void *ptr) {
  cudaError_t sticky = enter();
  auto it = g.device.find((uintptr_t)ptr);
  if (ptr && it == g.device.end())
    return sticky ? sticky : fail(cudaErrorInvalidDevicePointer);
  if (ptr)
    g.device.erase(it);
  free(ptr);
  return sticky;
}

cudaError_t cudaMallocHost(void **ptr, size_t bytes) {
  if (cudaError_t e = enter())
    return e;
  if (!ptr || !(*ptr = malloc(bytes ? bytes : 1)))
    return fail(ptr ? cudaErrorMemoryAllocation : cudaErrorInvalidValue);
  g.host.insert(*ptr);
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void *ptr) {
  if (cudaError_t e = enter())
    return e;
  if (ptr && g.host.erase(ptr) == 0)
    return fail(cudaErrorInvalidValue);
  free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
  if (cudaError_t e = enter())
    return e;
  if (cudaError_t e = check_copy("cudaMemcpy", dst, src, bytes, kind))
    return fail(e);
  if (bytes)
    memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  if (cudaError_t e = enter())
    return e;
  if (!aotc_sim_stream_valid(stream))
    return fail(cudaErrorInvalidResourceHandle);
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void *ptr, int value, size_t bytes) {
  if (cudaError_t e = enter())
    return e;
  if (bytes && !is_device(ptr, bytes)) {
    fprintf(stderr, "cuda-sim: error: cudaMemset: %p + %zu is not device memory\n", ptr, bytes);
    return fail(cudaErrorInvalidValue);
  }
  if (bytes)
    memset(ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *ptr, int value, size_t bytes, cudaStream_t stream) {
  if (cudaError_t e = enter())
    return e;
  if (!aotc_sim_stream_valid(stream))
    return fail(cudaErrorInvalidResourceHandle);
  return cudaMemset(ptr, value, bytes);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags) {
  if (cudaError_t e = enter())
    return e;
  if (!stream)
    return fail(cudaErrorInvalidValue);
  *stream = new CUstream_st{flags};
  g.streams.insert(*stream);
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  cudaError_t sticky = enter();
  if (!stream || g.streams.erase(stream) == 0)
    return sticky ? sticky : fail(cudaErrorInvalidResourceHandle);
  delete stream;
  return sticky;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (cudaError_t e = enter())
    return e;
  return aotc_sim_stream_valid(stream) ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags) {
  if (cudaError_t e = enter())
    return e;
  if (!event)
    return fail(cudaErrorInvalidValue);
  *event = new CUevent_st{flags, false, 0.0};
  g.events.insert(*event);
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  cudaError_t sticky = enter();
  if (!event || g.events.erase(event) == 0)
    return sticky ? sticky : fail(cudaErrorInvalidResourceHandle);
  delete event;
  return sticky;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (cudaError_t e = enter())
    return e;
  if (!g.events.count(event) || !aotc_sim_stream_valid(stream))
    return fail(cudaErrorInvalidResourceHandle);
  event->recorded = true;
  event->ms = now_ms();
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (cudaError_t e = enter())
    return e;
  return g.events.count(event) ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end) {
  if (cudaError_t e = enter())
    return e;
  if (!ms)
    return fail(cudaErrorInvalidValue);
  if (!g.events.count(start) || !g.events.count(end) ||
      ((start->flags | end->flags) & cudaEventDisableTiming))
    return fail(cudaErrorInvalidResourceHandle);
  if (!start->recorded || !end->recorded)
    return fail(cudaErrorNotReady);
  *ms = (float)(end->ms - start->ms);
  return cudaSuccess;
}

cudaError_t cudaGetLastError(void) {
  cudaError_t e = (configure(), g.last);
  g.last = g.sticky;
  return e;
}

cudaError_t cudaPeekAtLastError(void) { return (configure(), g.last); }
cudaError_t cudaDeviceSynchronize(void) { return enter(); }

cudaError_t cudaDeviceReset(void) {
  configure();
  for (auto &a : g.device)
    free((void *)a.first);
  g.device.clear();
  g.max_dynamic_shared.clear();
  g.last = g.sticky = cudaSuccess;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int *count) {
  if (!count)
    return fail(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device) {
  if (!device)
    return fail(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  return device == 0 ? enter() : fail(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device) {
  if (!prop || device != 0)
    return fail(prop ? cudaErrorInvalidDevice : cudaErrorInvalidValue);
  *prop = cudaDeviceProp{};
  snprintf(prop->name, sizeof prop->name, "aotc cuda-sim (CPU)");
  prop->totalGlobalMem = (size_t)16 << 30;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->sharedMemPerBlockOptin = 227 * 1024;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7fffffff;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 1;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *version) {
  if (!version)
    return fail(cudaErrorInvalidValue);
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int *version) { return cudaRuntimeGetVersion(version); }

static const struct {
  cudaError_t code;
  const char *name, *text;
} error_table[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInitializationError, "cudaErrorInitializationError", "initialization error"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration",
     "invalid configuration argument"},
    {cudaErrorInvalidSymbol, "cudaErrorInvalidSymbol", "invalid device symbol"},
    {cudaErrorInvalidDevicePointer, "cudaErrorInvalidDevicePointer", "invalid device pointer"},
    {cudaErrorInvalidMemcpyDirection, "cudaErrorInvalidMemcpyDirection",
     "invalid copy direction for memcpy"},
    {cudaErrorNoDevice, "cudaErrorNoDevice", "no CUDA-capable device is detected"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle", "invalid resource handle"},
    {cudaErrorNotReady, "cudaErrorNotReady", "device not ready"},
    {cudaErrorIllegalAddress, "cudaErrorIllegalAddress", "an illegal memory access was encountered"},
    {cudaErrorLaunchOutOfResources, "cudaErrorLaunchOutOfResources",
     "too many resources requested for launch"},
    {cudaErrorLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure"},
};

const char *cudaGetErrorName(cudaError_t error) {
  for (const auto &e : error_table)
    if (e.code == error)
      return e.name;
  return "cudaErrorUnknown";
}

const char *cudaGetErrorString(cudaError_t error) {
  for (const auto &e : error_table)
    if (e.code == error)
      return e.text;
  return "unknown error";
}

} /* extern "C" */
