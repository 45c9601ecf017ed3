/* tests/test_packages.py: what an Arduino core's main() does for a sketch, once: setup(), then
 * one loop(), then leave QEMU (semihosting exit). */
#include "Arduino.h"

SerialShim Serial;

int main()
{
    setup();
    loop();
    edgeq_exit(0);
}
