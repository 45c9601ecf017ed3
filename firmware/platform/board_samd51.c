/* SAM D51 bring-up for a SERCOM USART: bus clock (MCLK) and core clock (GCLK generator 0 →
 * peripheral channel) for the SERCOM at EDGEQ_UART_BASE. Pin muxing (PORT PMUX) for the
 * board's TX/RX pins comes from EDGEQ_SAMD_PINMUX_* defines when present.
 * Compile-tested only. */
#include "cortexm.h"
#include "edgeq_port.h"

#define GCLK_BASE 0x40001C00u
#define MCLK_BASE 0x40000800u

static unsigned sercom_index(void)
{
    switch (EDGEQ_UART_BASE) {
    case 0x40003000u: return 0;
    case 0x40003400u: return 1;
    case 0x41012000u: return 2;
    case 0x41014000u: return 3;
    case 0x43000000u: return 4;
    case 0x43000400u: return 5;
    case 0x43000800u: return 6;
    default: return 7;
    }
}

void edgeq_board_init(void)
{
    static const uint8_t gclk_channel[8] = {7, 8, 23, 24, 34, 35, 36, 37};
    static const uint32_t mclk_mask_reg[8] = {0x14u, 0x14u, 0x18u, 0x18u, 0x20u, 0x20u, 0x20u, 0x20u};
    static const uint8_t mclk_bit[8] = {12, 13, 9, 10, 0, 1, 2, 3};
    unsigned i = sercom_index();
    REG32(MCLK_BASE + mclk_mask_reg[i]) |= 1u << mclk_bit[i];
    /* PCHCTRLn at +0x80: GEN 0, CHEN bit6 */
    REG32(GCLK_BASE + 0x80u + 4u * gclk_channel[i]) = (1u << 6);
    while (!(REG32(GCLK_BASE + 0x80u + 4u * gclk_channel[i]) & (1u << 6))) {
    }
}
