/* platform.h: what the firmware harness (main.c) needs from the board:
 * a cycle counter and a stack high-water measurement. platform.c implements
 * them for a Cortex-M (DWT, or QEMU's MPS2 timer under -icount) and as
 * stubs for the host build of the same harness. */
#ifndef FW_PLATFORM_H
#define FW_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* How fw_cycles() counts: "dwt" (real cycles), "icount" (QEMU instructions,
 * an estimate of cycles) or "none" (host build). */
const char *fw_cycle_source(void);
void fw_platform_init(void);
uint64_t fw_cycles(void);

/* Paints the free stack below the caller's frame; fw_stack_used(mark)
 * then gives how far below `mark` the stack reached since the paint. */
void fw_stack_paint(void);
uintptr_t fw_stack_pointer(void);
size_t fw_stack_used(uintptr_t mark);
size_t fw_stack_used_total(void);

#endif
