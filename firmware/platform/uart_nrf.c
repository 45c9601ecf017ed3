/* Nordic nRF51 / nRF52 legacy UART (QEMU microbit; nRF52832/nRF52840 UART0 at 0x40002000).
 * STARTRX +0x000, STARTTX +0x008, EVENTS_RXDRDY +0x108, EVENTS_TXDRDY +0x11C, ENABLE +0x500 (4),
 * PSELTXD +0x50C, PSELRXD +0x514, RXD +0x518, TXD +0x51C, BAUDRATE +0x524. */
#include "cortexm.h"
#include "edgeq_port.h"

#define UART_STARTRX REG32(EDGEQ_UART_BASE + 0x000u)
#define UART_STARTTX REG32(EDGEQ_UART_BASE + 0x008u)
#define UART_RXDRDY REG32(EDGEQ_UART_BASE + 0x108u)
#define UART_TXDRDY REG32(EDGEQ_UART_BASE + 0x11Cu)
#define UART_ENABLE REG32(EDGEQ_UART_BASE + 0x500u)
#define UART_PSELTXD REG32(EDGEQ_UART_BASE + 0x50Cu)
#define UART_PSELRXD REG32(EDGEQ_UART_BASE + 0x514u)
#define UART_RXD REG32(EDGEQ_UART_BASE + 0x518u)
#define UART_TXD REG32(EDGEQ_UART_BASE + 0x51Cu)
#define UART_BAUDRATE REG32(EDGEQ_UART_BASE + 0x524u)

static uint32_t baud_reg(uint32_t baud)
{
    /* values from the reference manuals' BAUDRATE table */
    switch (baud) {
    case 9600: return 0x00275000u;
    case 19200: return 0x004EA000u;
    case 38400: return 0x009D5000u;
    case 57600: return 0x00EBF000u;
    case 230400: return 0x03AFB000u;
    case 460800: return 0x075F7000u;
    case 921600: return 0x0EBED000u;
    case 1000000: return 0x10000000u;
    default: return 0x01D7E000u; /* 115200 */
    }
}

void edgeq_uart_init(void)
{
#ifdef EDGEQ_UART_TX_PIN
    UART_PSELTXD = EDGEQ_UART_TX_PIN;
#endif
#ifdef EDGEQ_UART_RX_PIN
    UART_PSELRXD = EDGEQ_UART_RX_PIN;
#endif
    UART_BAUDRATE = baud_reg(EDGEQ_UART_BAUD);
    UART_ENABLE = 4u;
    UART_TXDRDY = 0;
    UART_RXDRDY = 0;
    UART_STARTTX = 1u;
    UART_STARTRX = 1u;
}

void edgeq_uart_putc(uint8_t c)
{
    UART_TXDRDY = 0;
    UART_TXD = c;
    while (!UART_TXDRDY) {
    }
}

uint8_t edgeq_uart_getc(void)
{
    while (!UART_RXDRDY) {
    }
    UART_RXDRDY = 0;
    return (uint8_t)UART_RXD;
}
