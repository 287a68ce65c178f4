/* cpu.c: the CPUs the heuristics know (`--cpu NAME`): vector width and the
 * micro-kernel's register tile and cache blocks per row. The compiling
 * machine is looked at only to resolve "native". */
#include "schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Blocks of the x86 rows: 24 of 32 accumulator vectors with AVX-512 (12 x 2
 * vectors, so that narrow matrices waste little on padding), 12 of 16
 * otherwise. The register tiles run rows outer (emit_ukernel.c): a panel of
 * A (mr x kc) stays in L1, the block of B (kc x nc) in L2 (1 MiB with
 * AVX-512: Xeons have 1-2 MiB of L2 a core; 512 KiB elsewhere), and kc is
 * short enough that A's panel leaves most of L1 to B's stream. */
static const sched_cpu cpus[] = {
    {"x86-64-v4", "AVX-512: 64-byte vectors, 32 vector registers", 64, true, 12, 2, 16, 1024, 256},
    {"x86-64-v3", "AVX2 and FMA: 32-byte vectors, 16 vector registers", 32, true, 6, 2, 16, 512, 256},
    {"x86-64-v2", "SSE4.2: 16-byte vectors, 16 vector registers", 16, true, 6, 2, 16, 512, 256},
    {"generic", "any 64-bit CPU with 16-byte vectors (aarch64, ...)", 16, true, 6, 2, 16, 512, 256},
    {"cortex-m4", "Cortex-M4F: no vectors, no caches: plain loops, no packing buffers", 4, false, 4, 4, 8, 64,
     64},
};

static const sched_cpu *by_name(const char *name)
{
  for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++)
    if (!strcmp(cpus[i].name, name))
      return &cpus[i];
  return NULL;
}

/* The row of the machine aotc runs on, from its vector ISA. */
static const sched_cpu *detect(void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return by_name("x86-64-v4");
  if (__builtin_cpu_supports("avx2"))
    return by_name("x86-64-v3");
  return by_name("x86-64-v2");
#else
  return by_name("generic");
#endif
}

const sched_cpu *sched_cpu_native(void)
{
  const char *pretend = getenv("AOTC_HOST_CPU");
  const sched_cpu *c = pretend && strcmp(pretend, "native") ? by_name(pretend) : NULL;
  return c ? c : detect();
}

const sched_cpu *sched_cpu_find(const char *name)
{
  if (name && !strcmp(name, "native"))
    return sched_cpu_native();
  return name ? by_name(name) : NULL;
}

void sched_cpu_list(char *buf, size_t n)
{
  size_t len = (size_t)snprintf(buf, n, "native");
  for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]) && len < n; i++)
    len += (size_t)snprintf(buf + len, n - len, ", %s", cpus[i].name);
}
