/* SPDX-License-Identifier: Apache-2.0 */
#include "kk_hash.h"

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Up to 3 bytes: first, middle and last byte, so every byte counts. */
static inline uint64_t load_small(const uint8_t *p, size_t len)
{
    return ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
}

uint64_t kk_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = seed ^ kk_hash_fold(seed ^ KK_HASH_K0, KK_HASH_K1 ^ (uint64_t)len);
    uint64_t a, b;

    if (len <= 16) {
        if (len >= 8) {
            a = load64(p);
            b = load64(p + len - 8);
        } else if (len >= 4) {
            a = load32(p);
            b = load32(p + len - 4);
        } else if (len > 0) {
            a = load_small(p, len);
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t left = len;
        while (left > 16) {
            h = kk_hash_fold(load64(p) ^ KK_HASH_K1, load64(p + 8) ^ h);
            p += 16;
            left -= 16;
        }
        /* The last 16 bytes, overlapping the previous block if needed. */
        a = load64(p + left - 16);
        b = load64(p + left - 8);
    }
    h = kk_hash_fold(a ^ KK_HASH_K1, b ^ h);
    return kk_hash_fold(h ^ KK_HASH_K2, (uint64_t)len ^ KK_HASH_K3);
}
