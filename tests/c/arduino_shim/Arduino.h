/* The smallest Arduino core the generated example sketch needs, for tests/test_packages.py only:
 * Serial prints over edgeq's UART driver of the virtual board. Not a real Arduino core. */
#ifndef EDGEQ_TEST_ARDUINO_H
#define EDGEQ_TEST_ARDUINO_H

#include <stdint.h>
#include <stdio.h>

#include "edgeq_port.h"

class SerialShim {
public:
    void begin(unsigned long) { edgeq_uart_init(); }
    explicit operator bool() const { return true; }
    void print(const char *s)
    {
        while (*s)
            edgeq_uart_putc((uint8_t)*s++);
    }
    void print(char c) { edgeq_uart_putc((uint8_t)c); }
    void print(long v)
    {
        char buf[24];
        snprintf(buf, sizeof buf, "%ld", v);
        print(buf);
    }
    void print(int v) { print((long)v); }
    void print(double v, int digits)
    {
        char buf[48];
        snprintf(buf, sizeof buf, "%.*f", digits, v);
        print(buf);
    }
    void println() { print("\r\n"); }
    template <typename T> void println(T v)
    {
        print(v);
        println();
    }
};

extern SerialShim Serial;

void setup();
void loop();

#endif
