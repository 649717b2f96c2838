#ifndef FW_SHA256_H
#define FW_SHA256_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t used;
} fw_sha256_t;

void fw_sha256_init(fw_sha256_t *s);
void fw_sha256_update(fw_sha256_t *s, const uint8_t *data, size_t n);
void fw_sha256_final(fw_sha256_t *s, uint8_t out[32]);
/* HMAC-SHA256 (RFC 2104); key longer than 64 bytes is hashed first. */
void fw_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t n, uint8_t out[32]);
/* Constant-time comparison: 1 when equal. */
int fw_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);
#endif
