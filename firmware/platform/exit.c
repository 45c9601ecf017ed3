/* Program end. Emulated boards leave QEMU through semihosting SYS_EXIT (needs -semihosting):
 * reason ADP_Stopped_ApplicationExit (0x20026) exits QEMU with status 0, any other reason with
 * status 1. Real boards must not execute BKPT without a debugger (it would HardFault): they
 * spin instead. */
#include "edgeq_port.h"

void edgeq_exit(int code)
{
#if EDGEQ_EMULATED
    register int r0 __asm("r0") = 0x18; /* SYS_EXIT */
    register int r1 __asm("r1") = code == 0 ? 0x20026 : 0x20023;
    __asm volatile("bkpt 0xAB" : : "r"(r0), "r"(r1) : "memory");
#else
    (void)code;
#endif
    for (;;) {
    }
}
