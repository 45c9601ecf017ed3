/* Arm CMSDK APB UART (MPS2 / MPS3 FPGA images, QEMU mps2-* and mps3-an547).
 * DATA +0x0, STATE +0x4 (bit0 TX full, bit1 RX full), CTRL +0x8 (bit0 TX en, bit1 RX en),
 * BAUDDIV +0x10 (>= 16). */
#include "cortexm.h"
#include "edgeq_port.h"

#define UART_DATA REG32(EDGEQ_UART_BASE + 0x0u)
#define UART_STATE REG32(EDGEQ_UART_BASE + 0x4u)
#define UART_CTRL REG32(EDGEQ_UART_BASE + 0x8u)
#define UART_BAUDDIV REG32(EDGEQ_UART_BASE + 0x10u)

void edgeq_uart_init(void)
{
    uint32_t div = EDGEQ_UART_CLOCK_HZ / EDGEQ_UART_BAUD;
    UART_BAUDDIV = div < 16u ? 16u : div;
    UART_CTRL = 0x3u;
}

void edgeq_uart_putc(uint8_t c)
{
    while (UART_STATE & 0x1u) {
    }
    UART_DATA = c;
}

uint8_t edgeq_uart_getc(void)
{
    while (!(UART_STATE & 0x2u)) {
        EDGEQ_IDLE_HINT();
    }
    return (uint8_t)UART_DATA;
}
