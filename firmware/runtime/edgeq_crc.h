/* CRCs of the serial test protocol (see PROTOCOL.md). */
#ifndef EDGEQ_CRC_H
#define EDGEQ_CRC_H

#include <stddef.h>
#include <stdint.h>

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor. */
uint16_t edgeq_crc16(uint16_t crc, const uint8_t *p, size_t n);
#define EDGEQ_CRC16_INIT 0xFFFFu

/* CRC-32/IEEE (zlib's crc32). Start with 0; chainable: crc32(crc32(0,a),b) == crc32(0,a+b). */
uint32_t edgeq_crc32(uint32_t crc, const uint8_t *p, size_t n);

#endif
