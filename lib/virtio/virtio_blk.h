/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio_blk.h — virtio-blk wire layouts and constants (virtio 1.2, 5.2):
 * feature bits, the device configuration space, request types and status
 * codes, the request header and the discard / write-zeroes segment. All
 * fields are little-endian (kvmkit runs on little-endian hosts only, see
 * virtio_spec.h). Sectors are always 512 bytes, whatever blk_size says.
 */
#ifndef KK_VIRTIO_BLK_H
#define KK_VIRTIO_BLK_H

#include <stddef.h>
#include <stdint.h>

#include "virtio_spec.h"

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX     1  /* size_max: largest segment */
#define VIRTIO_BLK_F_SEG_MAX      2  /* seg_max: most segments in a request */
#define VIRTIO_BLK_F_GEOMETRY     4
#define VIRTIO_BLK_F_RO           5  /* read-only */
#define VIRTIO_BLK_F_BLK_SIZE     6  /* blk_size: logical block size */
#define VIRTIO_BLK_F_FLUSH        9  /* VIRTIO_BLK_T_FLUSH */
#define VIRTIO_BLK_F_TOPOLOGY     10 /* physical block, min and optimal I/O */
#define VIRTIO_BLK_F_CONFIG_WCE   11 /* writeback is writable */
#define VIRTIO_BLK_F_MQ           12 /* num_queues */
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14
#define VIRTIO_BLK_F_LIFETIME     15
#define VIRTIO_BLK_F_SECURE_ERASE 16

#define VIRTIO_BLK_SECTOR_SIZE  512u
#define VIRTIO_BLK_SECTOR_SHIFT 9
#define VIRTIO_BLK_ID_BYTES     20u  /* GET_ID answer, not NUL-terminated when full */

/* Device configuration space (5.2.4); 72 bytes up to the secure-erase
 * fields. A frontend reads any [offset, offset + len) of it. */
struct __attribute__((packed)) virtio_blk_config {
    uint64_t capacity;                 /* in 512-byte sectors */
    uint32_t size_max;
    uint32_t seg_max;
    uint16_t cylinders;                /* geometry */
    uint8_t heads;
    uint8_t sectors;
    uint32_t blk_size;
    uint8_t physical_block_exp;        /* topology: log2(physical / logical) */
    uint8_t alignment_offset;
    uint16_t min_io_size;              /* in logical blocks */
    uint32_t opt_io_size;              /* in logical blocks */
    uint8_t writeback;                 /* 1: write-back cache, 0: write-through */
    uint8_t unused0;
    uint16_t num_queues;
    uint32_t max_discard_sectors;
    uint32_t max_discard_seg;
    uint32_t discard_sector_alignment;
    uint32_t max_write_zeroes_sectors;
    uint32_t max_write_zeroes_seg;
    uint8_t write_zeroes_may_unmap;
    uint8_t unused1[3];
    uint32_t max_secure_erase_sectors;
    uint32_t max_secure_erase_seg;
    uint32_t secure_erase_sector_alignment;
};

_Static_assert(sizeof(struct virtio_blk_config) == 72, "virtio_blk_config layout");
_Static_assert(offsetof(struct virtio_blk_config, blk_size) == 20, "blk_size offset");
_Static_assert(offsetof(struct virtio_blk_config, writeback) == 32, "writeback offset");
_Static_assert(offsetof(struct virtio_blk_config, num_queues) == 34, "num_queues offset");
_Static_assert(offsetof(struct virtio_blk_config, max_discard_sectors) == 36, "discard offset");
_Static_assert(offsetof(struct virtio_blk_config, write_zeroes_may_unmap) == 56, "wz offset");

/* Request types (5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_GET_LIFETIME 10
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_T_SECURE_ERASE 14

/* Status byte: the last byte of the request's last device-writable buffer. */
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

/* The header at the start of every request (device-readable). */
struct virtio_blk_outhdr {
    uint32_t type;
    uint32_t ioprio;   /* "reserved" in virtio 1.x; ignored */
    uint64_t sector;
};

/* One range of a discard or write-zeroes request (its data is an array). */
#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1u
struct virtio_blk_discard_write_zeroes {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;    /* bit 0: unmap (write zeroes only); others reserved */
};

_Static_assert(sizeof(struct virtio_blk_outhdr) == 16, "outhdr layout");
_Static_assert(sizeof(struct virtio_blk_discard_write_zeroes) == 16, "dwz layout");

#endif /* KK_VIRTIO_BLK_H */
