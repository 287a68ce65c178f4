/* startup.c: start-up code for a Cortex-M4 firmware image (vector table,
 * reset handler, fault handler). The reset handler enables the FPU, copies
 * .data from flash to RAM, zeroes .bss, paints the stack for the high-water
 * measurement in platform.c, opens newlib's semihosting handles, then
 * runs main and exits through semihosting with main's status.
 * Symbols come from an386.ld. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

extern uint32_t __data_start__[], __data_end__[], __data_load__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_top__[];
extern int main(void);
extern void initialise_monitor_handles(void);
void fw_reset_handler(void);
void fw_fault_handler(void);
void fw_stack_paint_all(void);
void _fini(void);

#define CPACR (*(volatile uint32_t *)0xE000ED88u)

/* Grants full access to coprocessors 10 and 11 (the FPU). */
static void enable_fpu(void)
{
    CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

/* Copies the initialised data from its load address in flash to RAM. */
static void copy_data(void)
{
    const uint32_t *src = __data_load__;
    for (uint32_t *dst = __data_start__; dst < __data_end__; dst++)
        *dst = *src++;
}

static void zero_bss(void)
{
    for (uint32_t *p = __bss_start__; p < __bss_end__; p++)
        *p = 0;
}

/* Runs before any floating-point instruction: must not be compiled with FP
 * code, which is why every step is a plain integer loop. */
void fw_reset_handler(void)
{
    enable_fpu();
    copy_data();
    zero_bss();
    fw_stack_paint_all();
    initialise_monitor_handles();
    exit(main());
}

/* newlib's exit() runs the destructors through _fini; there are none. */
void _fini(void)
{
}

/* A fault stops the image with a distinctive status (semihosting exit). */
void fw_fault_handler(void)
{
    _exit(99);
}

__attribute__((section(".vectors"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top__,
    fw_reset_handler,
    fw_fault_handler, /* NMI */
    fw_fault_handler, /* HardFault */
    fw_fault_handler, /* MemManage */
    fw_fault_handler, /* BusFault */
    fw_fault_handler, /* UsageFault */
    0, 0, 0, 0,
    fw_fault_handler, /* SVCall */
    fw_fault_handler, /* DebugMon */
    0,
    fw_fault_handler, /* PendSV */
    fw_fault_handler, /* SysTick */
};
