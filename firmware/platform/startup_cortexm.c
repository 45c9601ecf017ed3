/* Reset handler + vector table for every Cortex-M core edgeq targets (M0 .. M55).
 * Copies .data from flash, zeroes .bss, enables the FPU/MVE coprocessors when the build uses
 * them, then calls main(). Only SysTick is used; every other exception parks in a loop. */
#include <stdint.h>
#include <string.h>

#include "cortexm.h"
#include "edgeq_board.h"

extern uint32_t __stack_top[];
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];

int main(void);
void edgeq_systick_handler(void);

void edgeq_fault_handler(void)
{
    for (;;) {
    }
}

void edgeq_default_handler(void)
{
    for (;;) {
    }
}

__attribute__((naked, noreturn)) void edgeq_reset_handler(void);

/* Runs before .data/.bss exist: keep it to plain loads and stores (no FP, no library calls
 * that could touch FP registers). */
__attribute__((used, noreturn)) static void edgeq_c_reset(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    SCB_CPACR |= (0xFu << 20); /* CP10 + CP11 full access (FPU, and MVE on v8.1-M) */
    edgeq_dsb_isb();
#endif
    volatile uint32_t *src = __data_load, *dst = __data_start;
    while (dst < __data_end)
        *dst++ = *src++;
    for (dst = __bss_start; dst < __bss_end;)
        *dst++ = 0;
#if EDGEQ_HAS_VTOR
    extern const void *const edgeq_vectors[];
    SCB_VTOR = (uint32_t)(uintptr_t)edgeq_vectors;
    edgeq_dsb_isb();
#endif
    (void)main();
    for (;;) {
    }
}

void edgeq_reset_handler(void)
{
    /* a debugger or bootloader may enter here with any SP: start from the top of RAM */
    __asm volatile("ldr r0, =__stack_top\n"
                   "mov sp, r0\n"
                   "b edgeq_c_reset\n");
}

__attribute__((section(".isr_vector"), used)) const void *const edgeq_vectors[16 + 16] = {
    [0] = __stack_top,
    [1] = (const void *)edgeq_reset_handler,
    [2] = (const void *)edgeq_fault_handler,  /* NMI */
    [3] = (const void *)edgeq_fault_handler,  /* HardFault */
    [4] = (const void *)edgeq_fault_handler,  /* MemManage */
    [5] = (const void *)edgeq_fault_handler,  /* BusFault */
    [6] = (const void *)edgeq_fault_handler,  /* UsageFault */
    [7] = (const void *)edgeq_fault_handler,  /* SecureFault (v8-M) */
    [11] = (const void *)edgeq_default_handler, /* SVCall */
    [12] = (const void *)edgeq_default_handler, /* DebugMonitor */
    [14] = (const void *)edgeq_default_handler, /* PendSV */
    [15] = (const void *)edgeq_systick_handler,
    [16 ... 31] = (const void *)edgeq_default_handler,
};
