/* Arm PrimeCell PL011 UART (RP2040 UART0/1, Ambiq Apollo3 UART0/1).
 * DR +0x000, FR +0x018 (bit4 RXFE, bit5 TXFF), IBRD +0x024, FBRD +0x028, LCR_H +0x02C,
 * CR +0x030 (bit0 UARTEN, bit8 TXE, bit9 RXE). Peripheral reset/clock/pin bring-up is board
 * specific: see board_<family>.c (edgeq_board_init). */
#include "cortexm.h"
#include "edgeq_port.h"

#define UART_DR REG32(EDGEQ_UART_BASE + 0x000u)
#define UART_FR REG32(EDGEQ_UART_BASE + 0x018u)
#define UART_IBRD REG32(EDGEQ_UART_BASE + 0x024u)
#define UART_FBRD REG32(EDGEQ_UART_BASE + 0x028u)
#define UART_LCRH REG32(EDGEQ_UART_BASE + 0x02Cu)
#define UART_CR REG32(EDGEQ_UART_BASE + 0x030u)

void edgeq_uart_init(void)
{
    /* divisor = clk / (16 baud) as 16.6 fixed point */
    uint32_t div64 = (uint32_t)(((uint64_t)EDGEQ_UART_CLOCK_HZ * 4u + EDGEQ_UART_BAUD / 2u) /
                                EDGEQ_UART_BAUD);
    UART_CR = 0;
    UART_IBRD = div64 >> 6;
    UART_FBRD = div64 & 0x3Fu;
    UART_LCRH = (3u << 5) | (1u << 4); /* 8 bits, FIFOs on (the write also latches the divisor) */
    UART_CR = (1u << 9) | (1u << 8) | 1u;
}

void edgeq_uart_putc(uint8_t c)
{
    while (UART_FR & (1u << 5)) {
    }
    UART_DR = c;
}

uint8_t edgeq_uart_getc(void)
{
    while (UART_FR & (1u << 4)) {
    }
    return (uint8_t)UART_DR;
}
