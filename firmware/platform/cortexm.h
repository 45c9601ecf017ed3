/* The few Cortex-M system registers the platform layer touches (ARMv6-M/v7-M/v8-M ARM). */
#ifndef EDGEQ_CORTEXM_H
#define EDGEQ_CORTEXM_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_CPACR REG32(0xE000ED88u)
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define DEMCR REG32(0xE000EDFCu)
#define DWT_CTRL REG32(0xE0001000u)
#define DWT_CYCCNT REG32(0xE0001004u)
#define DWT_LAR REG32(0xE0001FB0u)

/* Hint inside polling loops. YIELD is a NOP on real cores; QEMU ends the translation block on
 * it, letting its main loop deliver the next UART byte sooner. */
#define EDGEQ_IDLE_HINT() __asm volatile("yield" ::: "memory")

static inline void edgeq_dsb_isb(void) { __asm volatile("dsb 0xF\n isb 0xF" ::: "memory"); }

#endif
