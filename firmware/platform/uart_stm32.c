/* STM32 USART, "v1" register layout (F1/F2/F4: SR +0x0, DR +0x4, BRR +0x8, CR1 +0xC).
 * SR bit7 TXE, bit5 RXNE; CR1 bit13 UE, bit3 TE, bit2 RE. Runs from the reset clock (the
 * board's uart clock): the clock tree is left as the boot ROM set it. The peripheral clock
 * enable and pin mux for real boards: stm32_bringup.h. */
#include "cortexm.h"
#include "edgeq_port.h"
#include "stm32_bringup.h"

#define USART_SR REG32(EDGEQ_UART_BASE + 0x0u)
#define USART_DR REG32(EDGEQ_UART_BASE + 0x4u)
#define USART_BRR REG32(EDGEQ_UART_BASE + 0x8u)
#define USART_CR1 REG32(EDGEQ_UART_BASE + 0xCu)

void edgeq_uart_init(void)
{
    stm32_clock_and_pins();
    USART_CR1 = 0;
    /* oversampling by 16: BRR = mantissa << 4 | fraction == round(clk / baud) */
    USART_BRR = (EDGEQ_UART_CLOCK_HZ + EDGEQ_UART_BAUD / 2u) / EDGEQ_UART_BAUD;
    USART_CR1 = (1u << 13) | (1u << 3) | (1u << 2);
}

void edgeq_uart_putc(uint8_t c)
{
    while (!(USART_SR & (1u << 7))) {
    }
    USART_DR = c;
}

uint8_t edgeq_uart_getc(void)
{
    for (;;) {
        uint32_t sr = USART_SR;
        if (sr & (1u << 5))
            return (uint8_t)USART_DR;
        if (sr & 0xFu) /* PE/FE/NE/ORE: reading DR clears them */
            (void)USART_DR;
    }
}
