#ifndef FW_CRC16_H
#define FW_CRC16_H
#include <stddef.h>
#include <stdint.h>
/* CRC-16/IBM-3740 (a.k.a. CCITT-FALSE): poly 0x1021, init 0xFFFF, no reflection, xorout 0. Bitwise, no table. */
uint16_t fw_crc16(const uint8_t *data, size_t n);
#endif
