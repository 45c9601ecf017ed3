/* STM32 USART, "v1" register layout (F1/F2/F4: SR +0x0, DR +0x4, BRR +0x8, CR1 +0xC).
 * SR bit7 TXE, bit5 RXNE; CR1 bit13 UE, bit3 TE, bit2 RE. Runs from the reset clock (the
 * board's uart clock): the clock tree is left as the boot ROM set it. The peripheral clock
 * enable and pin mux for real boards come from EDGEQ_STM32_* defines (see edgeq_board.h). */
#include "cortexm.h"
#include "edgeq_port.h"

#define USART_SR REG32(EDGEQ_UART_BASE + 0x0u)
#define USART_DR REG32(EDGEQ_UART_BASE + 0x4u)
#define USART_BRR REG32(EDGEQ_UART_BASE + 0x8u)
#define USART_CR1 REG32(EDGEQ_UART_BASE + 0xCu)

static void clock_and_pins(void)
{
#if defined(EDGEQ_UART_CLKEN_REG) && defined(EDGEQ_UART_CLKEN_BIT)
    REG32(EDGEQ_UART_CLKEN_REG) |= (1u << EDGEQ_UART_CLKEN_BIT);
#endif
#if defined(EDGEQ_GPIO_CLKEN_REG) && defined(EDGEQ_GPIO_CLKEN_BIT)
    REG32(EDGEQ_GPIO_CLKEN_REG) |= (1u << EDGEQ_GPIO_CLKEN_BIT);
#endif
#if defined(EDGEQ_GPIO_BASE) && defined(EDGEQ_UART_TX_PIN) && defined(EDGEQ_UART_RX_PIN) && \
    defined(EDGEQ_UART_AF)
    /* MODER +0x00 (2 bits/pin, 2 = alternate function), AFRL +0x20 / AFRH +0x24 (4 bits/pin) */
    const unsigned pins[2] = {EDGEQ_UART_TX_PIN, EDGEQ_UART_RX_PIN};
    for (int i = 0; i < 2; i++) {
        unsigned p = pins[i];
        REG32(EDGEQ_GPIO_BASE + 0x00u) = (REG32(EDGEQ_GPIO_BASE + 0x00u) & ~(3u << (2 * p))) |
                                         (2u << (2 * p));
        uintptr_t afr = EDGEQ_GPIO_BASE + (p < 8 ? 0x20u : 0x24u);
        unsigned sh = 4u * (p & 7u);
        REG32(afr) = (REG32(afr) & ~(0xFu << sh)) | ((unsigned)EDGEQ_UART_AF << sh);
    }
#endif
}

void edgeq_uart_init(void)
{
    clock_and_pins();
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
