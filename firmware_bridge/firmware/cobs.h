#ifndef FW_COBS_H
#define FW_COBS_H
#include <stddef.h>
#include <stdint.h>
/* Consistent Overhead Byte Stuffing. Return the output length, or 0 on error (bad input or no room). */
size_t fw_cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);
size_t fw_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);
#endif
