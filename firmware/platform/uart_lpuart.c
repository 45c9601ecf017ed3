/* NXP LPUART (i.MX RT10xx). BAUD +0x10 (OSR [28:24] = osr-1, SBR [12:0]), STAT +0x14
 * (RDRF bit21, TDRE bit23, OR bit19), CTRL +0x18 (RE bit18, TE bit19), DATA +0x1C.
 * Clock gating and pin mux (CCM/IOMUXC) come from edgeq_board_init (board_imxrt.c). */
#include "cortexm.h"
#include "edgeq_port.h"

#define LPUART_BAUD REG32(EDGEQ_UART_BASE + 0x10u)
#define LPUART_STAT REG32(EDGEQ_UART_BASE + 0x14u)
#define LPUART_CTRL REG32(EDGEQ_UART_BASE + 0x18u)
#define LPUART_DATA REG32(EDGEQ_UART_BASE + 0x1Cu)

void edgeq_uart_init(void)
{
    const uint32_t osr = 16u;
    uint32_t sbr = (EDGEQ_UART_CLOCK_HZ + (osr * EDGEQ_UART_BAUD) / 2u) / (osr * EDGEQ_UART_BAUD);
    LPUART_CTRL = 0;
    LPUART_BAUD = ((osr - 1u) << 24) | (sbr & 0x1FFFu);
    LPUART_CTRL = (1u << 19) | (1u << 18);
}

void edgeq_uart_putc(uint8_t c)
{
    while (!(LPUART_STAT & (1u << 23))) {
    }
    LPUART_DATA = c;
}

uint8_t edgeq_uart_getc(void)
{
    for (;;) {
        uint32_t st = LPUART_STAT;
        if (st & (1u << 21))
            return (uint8_t)LPUART_DATA;
        if (st & (1u << 19))
            LPUART_STAT = (1u << 19); /* clear overrun (w1c) */
    }
}
