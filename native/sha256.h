/* Minimal SHA-256 (FIPS 180-4); the launcher only hashes short strings. */
#ifndef KRILL_SHA256_H
#define KRILL_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[8];
    uint64_t total; /* bytes hashed so far */
    uint8_t block[64];
    size_t used; /* bytes buffered in block */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t digest[32]);
/* Lowercase hex digest, NUL-terminated. */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
