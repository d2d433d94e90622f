/* SPDX-License-Identifier: Apache-2.0 */
/* gfs_internal.h — helpers shared by lib/guestfs's sources (not installed). */
#ifndef GFS_INTERNAL_H
#define GFS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* The raw reflected CRC-32 (polynomial 0xEDB88320) register update, with no
 * initial or final inversion: gfs_crc32() inverts around it; LVM2's label
 * checksum starts from 0xf597a6cf and does not invert. */
uint32_t gfs__crc32_update(uint32_t crc, const void *buf, size_t len);

#endif
