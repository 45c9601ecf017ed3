/* Microchip SAM D5x/E5x SERCOM in USART mode (internal clock, async, 16x oversampling).
 * CTRLA +0x00 (bit0 SWRST, bit1 ENABLE, MODE [4:2] = 1, TXPO [17:16], RXPO [21:20], DORD bit30),
 * CTRLB +0x04 (TXEN bit16, RXEN bit17), BAUD +0x0C, INTFLAG +0x18 (DRE bit0, RXC bit2),
 * SYNCBUSY +0x1C, DATA +0x28. The GCLK/MCLK clock enable and pin mux come from
 * edgeq_board_init (board_samd51.c). */
#include "cortexm.h"
#include "edgeq_port.h"

#define SERCOM_CTRLA REG32(EDGEQ_UART_BASE + 0x00u)
#define SERCOM_CTRLB REG32(EDGEQ_UART_BASE + 0x04u)
#define SERCOM_BAUD (*(volatile uint16_t *)(uintptr_t)(EDGEQ_UART_BASE + 0x0Cu))
#define SERCOM_INTFLAG (*(volatile uint8_t *)(uintptr_t)(EDGEQ_UART_BASE + 0x18u))
#define SERCOM_SYNCBUSY REG32(EDGEQ_UART_BASE + 0x1Cu)
#define SERCOM_DATA REG32(EDGEQ_UART_BASE + 0x28u)

#ifndef EDGEQ_SERCOM_RXPO
#define EDGEQ_SERCOM_RXPO 1u
#endif
#ifndef EDGEQ_SERCOM_TXPO
#define EDGEQ_SERCOM_TXPO 0u
#endif

void edgeq_uart_init(void)
{
    SERCOM_CTRLA = 1u; /* SWRST */
    while (SERCOM_SYNCBUSY & 1u) {
    }
    SERCOM_CTRLA = (1u << 30) | ((uint32_t)EDGEQ_SERCOM_RXPO << 20) |
                   ((uint32_t)EDGEQ_SERCOM_TXPO << 16) | (1u << 2);
    SERCOM_CTRLB = (1u << 17) | (1u << 16);
    while (SERCOM_SYNCBUSY & 0x4u) {
    }
    /* arithmetic baud: 65536 * (1 - 16 * baud / f) */
    SERCOM_BAUD = (uint16_t)(65536u - (uint32_t)(((uint64_t)65536u * 16u * EDGEQ_UART_BAUD) /
                                                 EDGEQ_UART_CLOCK_HZ));
    SERCOM_CTRLA |= 2u;
    while (SERCOM_SYNCBUSY & 2u) {
    }
}

void edgeq_uart_putc(uint8_t c)
{
    while (!(SERCOM_INTFLAG & 1u)) {
    }
    SERCOM_DATA = c;
}

uint8_t edgeq_uart_getc(void)
{
    while (!(SERCOM_INTFLAG & 4u)) {
    }
    return (uint8_t)SERCOM_DATA;
}
