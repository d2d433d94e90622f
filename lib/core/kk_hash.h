/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_hash.h — fast non-cryptographic hashes for hash tables, flow caches
 * and load balancing.
 *
 * kk_hash_bytes() mixes 16 bytes per step with a 64x64->128-bit multiply
 * whose halves are folded together; short keys (flow keys, MAC addresses)
 * take a handful of cycles. Results are stable across runs and machines of
 * the same endianness for the same seed, so they may be used for placement
 * decisions that two processes must agree on. Not for adversarial input
 * where collisions matter to security: pick a random seed per table there.
 */
#ifndef KK_HASH_H
#define KK_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KK_HASH_K0 UINT64_C(0x9E3779B97F4A7C15)
#define KK_HASH_K1 UINT64_C(0xC2B2AE3D27D4EB4F)
#define KK_HASH_K2 UINT64_C(0x165667B19E3779F9)
#define KK_HASH_K3 UINT64_C(0xD6E8FEB86659FD93)

/* Multiply to 128 bits and fold the halves: the core mixing step. */
static inline uint64_t kk_hash_fold(uint64_t a, uint64_t b)
{
    __uint128_t p = (__uint128_t)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
}

/* 64-bit hash of @len bytes at @data with @seed. */
uint64_t kk_hash_bytes(const void *data, size_t len, uint64_t seed);

/* Hash of one 64-bit or 32-bit value (e.g. a port number, a pointer). */
static inline uint64_t kk_hash_u64(uint64_t x, uint64_t seed)
{
    return kk_hash_fold(x ^ KK_HASH_K0, seed ^ KK_HASH_K1);
}
static inline uint32_t kk_hash_u32(uint32_t x, uint32_t seed)
{
    return (uint32_t)kk_hash_u64(x, seed);
}

/* Combine a running hash with another value (order-dependent). */
static inline uint64_t kk_hash_combine(uint64_t h, uint64_t v)
{
    return kk_hash_fold(h ^ KK_HASH_K2, v ^ KK_HASH_K3);
}

#endif /* KK_HASH_H */
