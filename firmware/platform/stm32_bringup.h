/* STM32 USART/LPUART bring-up shared by uart_stm32.c and uart_stm32v2.c: peripheral clock,
 * GPIO port clocks, alternate-function pin mux, and (STM32L4+ port G) the VDDIO2 supply.
 * Every value comes from edgeq_board.h, which `edgeq build` derives from the board file's MCU,
 * UART instance and pins (edgeq/build.py, _stm32_bringup); QEMU boards define none of them.
 * GPIO: MODER +0x00 (2 bits/pin, 2 = AF), AFRL +0x20 / AFRH +0x24 (4 bits/pin). */
#ifndef EDGEQ_STM32_BRINGUP_H
#define EDGEQ_STM32_BRINGUP_H

#include "cortexm.h"
#include "edgeq_board.h"

static inline void stm32_pin_af(uintptr_t gpio, unsigned pin, unsigned af)
{
    REG32(gpio + 0x00u) = (REG32(gpio + 0x00u) & ~(3u << (2u * pin))) | (2u << (2u * pin));
    uintptr_t afr = gpio + (pin < 8u ? 0x20u : 0x24u);
    unsigned sh = 4u * (pin & 7u);
    REG32(afr) = (REG32(afr) & ~(0xFu << sh)) | (af << sh);
}

static inline void stm32_clock_and_pins(void)
{
#if defined(EDGEQ_STM32_PWR_CLKEN_REG)
    REG32(EDGEQ_STM32_PWR_CLKEN_REG) |= (1u << EDGEQ_STM32_PWR_CLKEN_BIT);
    REG32(EDGEQ_STM32_VDDIO2_REG) |= (1u << EDGEQ_STM32_VDDIO2_BIT);
#endif
#if defined(EDGEQ_UART_CLKEN_REG)
    REG32(EDGEQ_UART_CLKEN_REG) |= (1u << EDGEQ_UART_CLKEN_BIT);
    (void)REG32(EDGEQ_UART_CLKEN_REG); /* read back: the clock is on before the first access */
#endif
#if defined(EDGEQ_GPIO_CLKEN_REG)
    REG32(EDGEQ_GPIO_CLKEN_REG) |= EDGEQ_GPIO_CLKEN_MASK;
    (void)REG32(EDGEQ_GPIO_CLKEN_REG);
#endif
#if defined(EDGEQ_TX_GPIO_BASE)
    stm32_pin_af(EDGEQ_TX_GPIO_BASE, EDGEQ_TX_GPIO_PIN, EDGEQ_UART_AF);
    stm32_pin_af(EDGEQ_RX_GPIO_BASE, EDGEQ_RX_GPIO_PIN, EDGEQ_UART_AF);
#endif
}

#endif
