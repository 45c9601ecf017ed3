/* Inference timing: DWT CYCCNT where the core has it and it actually counts (real M3/M4/M7/
 * M33/M55), otherwise SysTick on the processor clock extended to 64 bits by its wrap interrupt
 * (QEMU does not emulate CYCCNT: it reads 0, so the probe below falls back to SysTick). */
#include <stdint.h>

#include "cortexm.h"
#include "edgeq_port.h"

static volatile uint32_t systick_wraps;
static uint8_t kind = EDGEQ_TIMER_NONE;

void edgeq_systick_handler(void) { systick_wraps++; }

#if EDGEQ_HAS_DWT
static uint32_t dwt_last, dwt_high;

static int dwt_probe(void)
{
    DEMCR |= (1u << 24); /* TRCENA */
    DWT_LAR = 0xC5ACCE55u; /* unlock where a lock exists (Cortex-M7); ignored elsewhere */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u; /* CYCCNTENA */
    for (volatile int i = 0; i < 64; i++) {
    }
    return DWT_CYCCNT != 0;
}
#endif

void edgeq_timer_init(void)
{
#if EDGEQ_HAS_DWT
    if (dwt_probe()) {
        kind = EDGEQ_TIMER_DWT;
        return;
    }
#endif
    SYST_CSR = 0;
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    systick_wraps = 0;
    SYST_CSR = (1u << 2) | (1u << 1) | 1u; /* processor clock, wrap interrupt, enable */
    __asm volatile("cpsie i" ::: "memory");
    kind = EDGEQ_TIMER_SYSTICK;
}

uint64_t edgeq_timer_now(void)
{
#if EDGEQ_HAS_DWT
    if (kind == EDGEQ_TIMER_DWT) {
        uint32_t c = DWT_CYCCNT;
        if (c < dwt_last)
            dwt_high++;
        dwt_last = c;
        return ((uint64_t)dwt_high << 32) | c;
    }
#endif
    uint32_t hi, val, pending;
    do {
        hi = systick_wraps;
        val = SYST_CVR & 0x00FFFFFFu;
        pending = SCB_ICSR & (1u << 26); /* PENDSTSET: wrapped, handler not run yet */
    } while (hi != systick_wraps);
    if (pending && val > 0x00800000u)
        hi++; /* val was read after a wrap whose interrupt is still pending */
    return ((uint64_t)hi << 24) + (0x00FFFFFFu - val);
}

uint8_t edgeq_timer_kind(void) { return kind; }

uint32_t edgeq_timer_hz(void) { return EDGEQ_CPU_HZ; }
