/* Test firmware for `edgeq generate --format ...` packages (tests/test_packages.py): runs the
 * packaged model on the samples the test wrote into package_samples.h and prints every output
 * byte as hex, one line per sample, over the virtual board's UART. Linked with edgeq's startup,
 * UART and exit code for the board (firmware/platform/). */
#include <stdint.h>

#include "edgeq_port.h"
#include "package_samples.h" /* MODEL_HEADER's model, MODEL_INVOKE, MODEL_OUTPUT_BYTES, samples */

static uint8_t output[MODEL_OUTPUT_BYTES];

static void put_str(const char *s)
{
    while (*s)
        edgeq_uart_putc((uint8_t)*s++);
}

static void put_hex(uint8_t b)
{
    static const char digits[] = "0123456789abcdef";
    edgeq_uart_putc((uint8_t)digits[b >> 4]);
    edgeq_uart_putc((uint8_t)digits[b & 15]);
}

int main(void)
{
    edgeq_uart_init();
    for (unsigned s = 0; s < SAMPLE_COUNT; s++) {
        const void *const ins[1] = {samples[s]};
        void *const outs[1] = {output};
        if (MODEL_INVOKE(ins, outs) != 0) {
            put_str("invoke failed\n");
            edgeq_exit(1);
        }
        for (unsigned i = 0; i < MODEL_OUTPUT_BYTES; i++)
            put_hex(output[i]);
        put_str("\n");
    }
    put_str("done\n");
    edgeq_exit(0);
}
