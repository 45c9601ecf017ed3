/* The platform layer under the test harness: one UART, one timer, an exit. Implemented per
 * core family / UART family in firmware/platform/. Board constants come from edgeq_board.h,
 * which `edgeq build` generates from the board's TOML definition. */
#ifndef EDGEQ_PORT_H
#define EDGEQ_PORT_H

#include <stdint.h>

#include "edgeq_board.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EDGEQ_TIMER_NONE 0
#define EDGEQ_TIMER_SYSTICK 1
#define EDGEQ_TIMER_DWT 2

/* UART (uart_<family>.c): 8N1 at EDGEQ_UART_BAUD, polled. */
void edgeq_uart_init(void);
void edgeq_uart_putc(uint8_t c);
uint8_t edgeq_uart_getc(void); /* blocks until a byte arrives */

/* Timer (timer.c): a free-running tick counter for timing one inference. */
void edgeq_timer_init(void);
uint64_t edgeq_timer_now(void);
uint8_t edgeq_timer_kind(void);  /* EDGEQ_TIMER_* actually in use */
uint32_t edgeq_timer_hz(void);   /* ticks per second */

/* Ends the program: semihosting exit on emulated boards, a spin loop on real ones. */
void edgeq_exit(int code) __attribute__((noreturn));

/* Optional per-board clock/pin bring-up before the UART (weak default does nothing). */
void edgeq_board_init(void);

#ifdef __cplusplus
}
#endif

#endif
