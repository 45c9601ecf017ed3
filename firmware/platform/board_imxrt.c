/* i.MX RT10xx bring-up for an LPUART: ungate its clock in CCM (CCGR5 bit fields for LPUART1,
 * CCGR3 for LPUART6 ...) — the LPUART clock root defaults to PLL3/6 = 80 MHz, so boards should
 * set uart.defines.EDGEQ_UART_CLOCK_HZ accordingly. Pin muxing is left to the boot ROM/debugger
 * settings. Compile-tested only; a flashable image also needs the FlexSPI boot header (FCB +
 * IVT) that vendor SDKs place at the start of flash. */
#include "cortexm.h"
#include "edgeq_port.h"

#define CCM_BASE 0x400FC000u
#define CCM_CCGR3 (CCM_BASE + 0x74u)
#define CCM_CCGR5 (CCM_BASE + 0x7Cu)

void edgeq_board_init(void)
{
    switch (EDGEQ_UART_BASE) {
    case 0x40184000u: /* LPUART1: CCGR5 CG12 */
        REG32(CCM_CCGR5) |= 3u << 24;
        break;
    case 0x40198000u: /* LPUART6: CCGR3 CG3 */
        REG32(CCM_CCGR3) |= 3u << 6;
        break;
    default:
        break;
    }
}
