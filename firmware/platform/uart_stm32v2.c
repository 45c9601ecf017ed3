/* STM32 USART, "v2" register layout (F0/F3/F7/L0/L4/G0/G4/H7/WB/U5): CR1 +0x0, BRR +0xC,
 * ISR +0x1C (bit7 TXE, bit5 RXNE, bit3 ORE), ICR +0x20, RDR +0x24, TDR +0x28.
 * CR1 bit0 UE, bit3 TE, bit2 RE. STM32 LPUARTs (EDGEQ_STM32_LPUART) use BRR = 256 f / baud.
 * Peripheral clock enable and pin mux: stm32_bringup.h. */
#include "cortexm.h"
#include "edgeq_port.h"
#include "stm32_bringup.h"

#define USART_CR1 REG32(EDGEQ_UART_BASE + 0x00u)
#define USART_BRR REG32(EDGEQ_UART_BASE + 0x0Cu)
#define USART_ISR REG32(EDGEQ_UART_BASE + 0x1Cu)
#define USART_ICR REG32(EDGEQ_UART_BASE + 0x20u)
#define USART_RDR REG32(EDGEQ_UART_BASE + 0x24u)
#define USART_TDR REG32(EDGEQ_UART_BASE + 0x28u)

void edgeq_uart_init(void)
{
    stm32_clock_and_pins();
    USART_CR1 = 0;
#ifdef EDGEQ_STM32_LPUART
    /* LPUART: BRR = 256 * f / baud */
    USART_BRR = (uint32_t)(((uint64_t)EDGEQ_UART_CLOCK_HZ * 256u + EDGEQ_UART_BAUD / 2u) / EDGEQ_UART_BAUD);
#else
    USART_BRR = (EDGEQ_UART_CLOCK_HZ + EDGEQ_UART_BAUD / 2u) / EDGEQ_UART_BAUD;
#endif
    USART_CR1 = (1u << 3) | (1u << 2) | 1u;
}

void edgeq_uart_putc(uint8_t c)
{
    while (!(USART_ISR & (1u << 7))) {
    }
    USART_TDR = c;
}

uint8_t edgeq_uart_getc(void)
{
    for (;;) {
        uint32_t isr = USART_ISR;
        if (isr & (1u << 5))
            return (uint8_t)USART_RDR;
        if (isr & 0xFu)
            USART_ICR = 0xFu; /* clear PE/FE/NE/ORE */
    }
}
