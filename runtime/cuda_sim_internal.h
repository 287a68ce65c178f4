/* cuda_sim_internal.h: what the simulator's two halves share: cuda_sim.cc (the host API:
 * memory, streams, events, errors, settings) and cuda_sim_exec.cc (running launches).
 * Not for emitted code. */
#ifndef AOTC_CUDA_SIM_INTERNAL_H
#define AOTC_CUDA_SIM_INTERNAL_H

#include "cuda_sim.h"

#define AOTC_SIM_HIDDEN __attribute__((visibility("hidden")))

/* Settings, read from the environment on first use; see docs/cuda-sim.md. */
typedef struct aotc_sim_settings {
  aotc_sim_order order;
  aotc_sim_mode mode;
  uint64_t seed;
  size_t stack_bytes;
} aotc_sim_settings;

AOTC_SIM_HIDDEN const aotc_sim_settings *aotc_sim_settings_get(void);
/* The next number of the seeded sequence behind AOTC_SIM_RANDOM. */
AOTC_SIM_HIDDEN uint64_t aotc_sim_random(void);

/* Records an error for cudaGetLastError; an execution error also becomes sticky (every
 * later call returns it, as a faulted GPU context does) until cudaDeviceReset. */
AOTC_SIM_HIDDEN void aotc_sim_set_last_error(cudaError_t error);
AOTC_SIM_HIDDEN void aotc_sim_set_sticky_error(cudaError_t error);
AOTC_SIM_HIDDEN cudaError_t aotc_sim_sticky_error(void);

AOTC_SIM_HIDDEN int aotc_sim_stream_valid(cudaStream_t stream);
/* The dynamic shared memory a kernel may use (cudaFuncSetAttribute), default 48 KiB. */
AOTC_SIM_HIDDEN size_t aotc_sim_max_dynamic_shared(const void *kernel);

#endif /* AOTC_CUDA_SIM_INTERNAL_H */
