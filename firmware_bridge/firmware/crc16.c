#include "crc16.h"

uint16_t fw_crc16(const uint8_t *data, size_t n) {
    uint16_t crc = 0xFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc = (uint16_t)(crc ^ ((uint16_t)data[i] << 8));
        for (int b = 0; b < 8; b++) {
            unsigned top = crc & 0x8000u;
            crc = (uint16_t)(crc << 1);
            if (top) crc = (uint16_t)(crc ^ 0x1021u);
        }
    }
    return crc;
}
