/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vblk_internal.h — the vhost-user-blk target's request parser, shared by
 * vhost_blk.c, its unit tests and its fuzz target.
 *
 * vblk_parse_request() turns one descriptor chain the guest made available
 * (iovecs already checked to lie in guest memory by lib/virtio) into a
 * request the target can run, validating every field the guest controls:
 *
 *   - the 16-byte header (struct virtio_blk_outhdr) may be split over
 *     several device-readable buffers; it is copied out, never read twice;
 *   - the status byte is the last byte of the last device-writable buffer
 *     (zero-length buffers at the end are skipped); a chain without one
 *     cannot be answered: a guest fault;
 *   - IN / OUT: data length a multiple of the logical block size (itself a
 *     multiple of 512), the sector aligned to it, [sector, sector + len)
 *     inside the capacity (overflow-safe), at most max_transfer bytes and
 *     max_iov data buffers; OUT on a read-only device fails;
 *   - DISCARD / WRITE_ZEROES: only when negotiated; the data is an array of
 *     struct virtio_blk_discard_write_zeroes, a non-empty multiple of 16
 *     bytes with at most max_*_seg entries, copied out; each range non-empty,
 *     aligned, inside the capacity and at most max_*_sectors; reserved flag
 *     bits (and UNMAP on a discard) are UNSUPP as the spec says;
 *   - GET_ID: a writable buffer of at least one byte besides the status;
 *   - anything else (GET_LIFETIME, SECURE_ERASE, unknown types): UNSUPP.
 *
 * The data iovecs are the chain's own, trimmed in place (header bytes cut
 * from the front of OUT data, the status byte from the end of IN data), so
 * the bdev reads and writes guest memory directly.
 */
#ifndef KK_VBLK_INTERNAL_H
#define KK_VBLK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio_blk.h"
#include "vq.h"

/* Ranges in one discard / write-zeroes request we accept (and advertise). */
#define VBLK_MAX_RANGES 8

/* What the device offers and the guest negotiated: the parser's limits. */
struct vblk_limits {
    uint64_t capacity;             /* 512-byte sectors */
    uint32_t block_size;           /* logical block: a power of two, >= 512 */
    uint32_t max_transfer;         /* bytes per IN/OUT; 0: no limit */
    uint32_t max_iov;              /* data buffers per IN/OUT */
    uint32_t max_discard_sectors;  /* per range */
    uint32_t max_write_zeroes_sectors;
    uint32_t max_discard_seg;      /* 1..VBLK_MAX_RANGES */
    uint32_t max_write_zeroes_seg;
    bool read_only;
    bool discard;                  /* VIRTIO_BLK_F_DISCARD negotiated */
    bool write_zeroes;             /* VIRTIO_BLK_F_WRITE_ZEROES negotiated */
};

struct vblk_range {
    uint64_t offset;               /* bytes */
    uint64_t len;                  /* bytes */
    bool unmap;                    /* write zeroes may deallocate */
};

struct vblk_request {
    uint32_t type;                 /* VIRTIO_BLK_T_* from the header */
    uint8_t status;                /* VIRTIO_BLK_S_OK: run it; else answer this at once */
    uint8_t *status_ptr;           /* in guest memory */
    uint64_t offset;               /* IN/OUT: bytes */
    uint64_t len;                  /* IN/OUT/GET_ID: data bytes */
    struct iovec *iov;             /* IN/OUT/GET_ID data (into the chain's iovecs) */
    unsigned iovcnt;
    unsigned n_ranges;             /* DISCARD/WRITE_ZEROES */
    struct vblk_range ranges[VBLK_MAX_RANGES];
};

/*
 * Parse chain @c (whose iovecs this modifies in place) against @lim.
 * Returns 0 with @out filled: out->status is VIRTIO_BLK_S_OK if the
 * request is to be run, or the status to answer with at once (IOERR,
 * UNSUPP); out->status_ptr is always set. Returns -EPROTO when the chain
 * has no device-writable byte for the status (a guest fault: the request
 * cannot even be failed).
 * Pure: no allocation, no I/O; any thread.
 */
int vblk_parse_request(struct vq_chain *c, const struct vblk_limits *lim,
                       struct vblk_request *out);

/* Copy @len bytes of @src into the iovecs (as far as they reach); returns
 * the bytes copied. */
size_t vblk_iov_from_buf(const struct iovec *iov, unsigned cnt, const void *src, size_t len);

#endif /* KK_VBLK_INTERNAL_H */
