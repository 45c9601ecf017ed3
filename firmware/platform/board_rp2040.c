/* RP2040 / RP2350 bring-up for UART0 on GP0 (TX) / GP1 (RX): take UART0, IO_BANK0 and
 * PADS_BANK0 out of reset, enable clk_peri (from clk_sys) and route GP0/GP1 to the UART
 * (FUNCSEL 2). Runs on the boot ROM's clocks; EDGEQ_UART_CLOCK_HZ must match clk_sys.
 * Compile-tested only. A flashable RP2040 image also needs the 256-byte boot2 stage at the
 * start of flash, which picotool/UF2 images from the Pico SDK carry and this build does not. */
#include "cortexm.h"
#include "edgeq_port.h"

#if EDGEQ_UART_BASE == 0x40070000u /* RP2350 */
#define RESETS_BASE 0x40020000u
#define CLOCKS_BASE 0x40010000u
#define CLK_PERI_CTRL (CLOCKS_BASE + 0x48u)
#define IO_BANK0_BASE 0x40028000u
#define RST_UART0 (1u << 26)
#define RST_IO_BANK0 (1u << 6)
#define RST_PADS_BANK0 (1u << 9)
#define FUNCSEL_UART 2u
#else /* RP2040 */
#define RESETS_BASE 0x4000C000u
#define CLOCKS_BASE 0x40008000u
#define CLK_PERI_CTRL (CLOCKS_BASE + 0x48u)
#define IO_BANK0_BASE 0x40014000u
#define RST_UART0 (1u << 22)
#define RST_IO_BANK0 (1u << 5)
#define RST_PADS_BANK0 (1u << 8)
#define FUNCSEL_UART 2u
#endif

#define RESETS_RESET REG32(RESETS_BASE + 0x0u)
#define RESETS_DONE REG32(RESETS_BASE + 0x8u)

void edgeq_board_init(void)
{
    REG32(CLK_PERI_CTRL) = (1u << 11); /* ENABLE, AUXSRC 0 = clk_sys */
    uint32_t mask = RST_UART0 | RST_IO_BANK0 | RST_PADS_BANK0;
    RESETS_RESET &= ~mask;
    while ((RESETS_DONE & mask) != mask) {
    }
    REG32(IO_BANK0_BASE + 0x04u) = FUNCSEL_UART; /* GPIO0_CTRL */
    REG32(IO_BANK0_BASE + 0x0Cu) = FUNCSEL_UART; /* GPIO1_CTRL */
}
