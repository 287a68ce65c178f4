/* platform.c: the cycle counter and the stack measurement of platform.h.
 * On a Cortex-M it uses the DWT cycle counter when it counts; QEMU (7.2)
 * reads it as 0, so with FW_QEMU_MPS2 it falls back to the MPS2 board's
 * CMSDK timer 0 (25 MHz): under `-icount shift=0` one instruction takes 1 ns
 * of virtual time, so a tick is 40 instructions and the count is QEMU's
 * instruction count (resolution 40), an estimate of cycles. The stack is
 * painted with a pattern and scanned for the lowest overwritten word. On the
 * host every function is a stub. */
#include "platform.h"

#if defined(__arm__)

#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define TIMER0 ((volatile uint32_t *)0x40000000u)
#define TIMER0_NS_PER_TICK 40u
#define STACK_PAINT 0xA5C3A5C3u
#define STACK_MARGIN 8u

extern uint32_t __stack_bottom__[], __stack_top__[];
static int use_dwt;
static uint32_t last_raw;
static uint64_t total;

/* Starts the DWT counter and reports whether it moves. */
static int dwt_counts(void)
{
    DEMCR |= 1u << 24;
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u;
    uint32_t a = DWT_CYCCNT;
    for (volatile int i = 0; i < 16; i++)
        ;
    return DWT_CYCCNT != a;
}

static void timer0_start(void)
{
#ifdef FW_QEMU_MPS2
    TIMER0[2] = 0xFFFFFFFFu;
    TIMER0[1] = 0xFFFFFFFFu;
    TIMER0[0] = 1u;
#endif
}

static uint32_t raw_count(void)
{
    if (use_dwt)
        return DWT_CYCCNT;
#ifdef FW_QEMU_MPS2
    return ~TIMER0[1];
#else
    return 0;
#endif
}

const char *fw_cycle_source(void)
{
    if (use_dwt)
        return "dwt";
#ifdef FW_QEMU_MPS2
    return "icount";
#else
    return "none";
#endif
}

void fw_platform_init(void)
{
    use_dwt = dwt_counts();
    if (!use_dwt)
        timer0_start();
    last_raw = raw_count();
}

/* Extends the 32-bit count to 64 bits (called often enough not to miss a
 * wrap: the timer wraps after 171 s of virtual time). */
uint64_t fw_cycles(void)
{
    uint32_t now = raw_count();
    total += (uint32_t)(now - last_raw);
    last_raw = now;
    return use_dwt ? total : total * TIMER0_NS_PER_TICK;
}

uintptr_t fw_stack_pointer(void)
{
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

static void paint_below(uintptr_t limit)
{
    for (uint32_t *p = __stack_bottom__; (uintptr_t)p < limit; p++)
        *p = STACK_PAINT;
}

/* Called once from the reset handler, before main. */
void fw_stack_paint_all(void)
{
    paint_below(fw_stack_pointer() - STACK_MARGIN);
}

void fw_stack_paint(void)
{
    paint_below(fw_stack_pointer() - STACK_MARGIN);
}

static uintptr_t lowest_touched(void)
{
    const uint32_t *p = __stack_bottom__;
    while (p < __stack_top__ && *p == STACK_PAINT)
        p++;
    return (uintptr_t)p;
}

size_t fw_stack_used(uintptr_t mark)
{
    uintptr_t low = lowest_touched();
    return low < mark ? mark - low : 0;
}

size_t fw_stack_used_total(void)
{
    return (uintptr_t)__stack_top__ - lowest_touched();
}

#else

const char *fw_cycle_source(void)
{
    return "none";
}

void fw_platform_init(void)
{
}

uint64_t fw_cycles(void)
{
    return 0;
}

void fw_stack_paint(void)
{
}

uintptr_t fw_stack_pointer(void)
{
    return 0;
}

size_t fw_stack_used(uintptr_t mark)
{
    (void)mark;
    return 0;
}

size_t fw_stack_used_total(void)
{
    return 0;
}

#endif
