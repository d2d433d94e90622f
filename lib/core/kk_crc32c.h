/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_crc32c.h — CRC-32C (Castagnoli), as used by iSCSI, ext4 metadata_csum,
 * btrfs and many network protocols.
 *
 * Uses the SSE4.2 crc32 instruction (or the ARMv8 CRC extension) when the
 * CPU has it, otherwise a slicing-by-8 table. Both give identical results.
 * Thread-safe; no allocation.
 */
#ifndef KK_CRC32C_H
#define KK_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * CRC-32C of @len bytes, continuing from @crc (use 0 to start). Chaining
 * works: kk_crc32c(kk_crc32c(0, a, n), b, m) == CRC of a followed by b.
 * The check value: kk_crc32c(0, "123456789", 9) == 0xE3069283.
 */
uint32_t kk_crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable table implementation (for tests and comparison). */
uint32_t kk_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* True if kk_crc32c() uses a CPU instruction. */
bool kk_crc32c_hw_available(void);

#endif /* KK_CRC32C_H */
