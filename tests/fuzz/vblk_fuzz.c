/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the vhost-user-blk request parser (vblk_parse_request)
 * on whatever a hostile guest puts in a descriptor chain.
 *
 * Input: byte 0 picks the device (bit 0 read-only, bit 1 discard, bit 2
 * write zeroes, bit 3 4 KiB blocks, bits 4-5 max ranges 1/2/4/8); byte 1
 * the number of device-readable (low nibble, 0..8) and device-writable
 * (high nibble, 0..8) buffers; bytes 2-3 and 4-5 the readable and writable
 * totals (little-endian, at most 64 KiB each); then the readable bytes.
 * Each buffer is its own allocation of exactly its size, so a read or
 * write past it is caught by AddressSanitizer. After parsing, every data
 * iovec and the status byte are written and checked to lie in the chain's
 * buffers, and accepted ranges to lie inside the device.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vblk_internal.h"

#define CAPACITY 8192 /* sectors */

static bool inside(const struct iovec *bufs, unsigned n, const void *p, size_t len)
{
    const uint8_t *b = p;
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *s = bufs[i].iov_base;
        if (b >= s && b + len <= s + bufs[i].iov_len)
            return true;
    }
    return len == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6)
        return 0;
    struct vblk_limits lim = {.capacity = CAPACITY, .block_size = (data[0] & 8) ? 4096 : 512,
                              .max_transfer = 32768, .max_iov = 6,
                              .max_discard_sectors = 1024, .max_write_zeroes_sectors = 2048,
                              .max_discard_seg = 1u << ((data[0] >> 4) & 3),
                              .max_write_zeroes_seg = 1u << ((data[0] >> 4) & 3),
                              .read_only = data[0] & 1, .discard = data[0] & 2,
                              .write_zeroes = data[0] & 4};
    unsigned nr = data[1] & 15, nw = data[1] >> 4;
    if (nr > 8 || nw > 8 || nr + nw == 0)
        return 0;
    uint32_t rd = (uint32_t)(data[2] | data[3] << 8), wr = (uint32_t)(data[4] | data[5] << 8);
    const uint8_t *content = data + 6;
    size_t content_len = size - 6;
    if (nr == 0)
        rd = 0;
    if (nw == 0)
        wr = 0;

    struct iovec bufs[16], iov[16];
    unsigned n = 0;
    uint32_t left = rd;
    size_t used = 0;
    for (unsigned i = 0; i < nr; i++) {
        uint32_t len = i + 1 == nr ? left : left / (nr - i) + (i & 1);
        if (len > left)
            len = left;
        left -= len;
        uint8_t *p = malloc(len ? len : 1);
        for (uint32_t k = 0; k < len; k++)
            p[k] = used + k < content_len ? content[used + k] : 0;
        used += len;
        bufs[n] = (struct iovec){p, len};
        n++;
    }
    left = wr;
    for (unsigned i = 0; i < nw; i++) {
        uint32_t len = i + 1 == nw ? left : left / (nw - i) + (i & 1);
        if (len > left)
            len = left;
        left -= len;
        uint8_t *p = malloc(len ? len : 1);
        memset(p, 0xaa, len);
        bufs[n] = (struct iovec){p, len};
        n++;
    }
    memcpy(iov, bufs, n * sizeof(iov[0]));
    struct vq_chain c = {.id = 0, .desc_count = (uint16_t)n, .n_readable = (uint16_t)nr,
                         .n_writable = (uint16_t)nw, .readable_len = rd, .writable_len = wr,
                         .iov = iov};
    struct vblk_request r;
    int rc = vblk_parse_request(&c, &lim, &r);
    if (rc == 0) {
        if (!inside(bufs + nr, nw, r.status_ptr, 1))
            abort();
        *r.status_ptr = r.status;
        if (r.status == VIRTIO_BLK_S_OK) {
            uint64_t total = 0;
            for (unsigned i = 0; i < r.iovcnt; i++) {
                if (!inside(bufs, n, r.iov[i].iov_base, r.iov[i].iov_len))
                    abort();
                if (r.iov[i].iov_len && r.type != VIRTIO_BLK_T_OUT)
                    memset(r.iov[i].iov_base, 0x55, r.iov[i].iov_len);
                total += r.iov[i].iov_len;
            }
            if (r.type == VIRTIO_BLK_T_IN || r.type == VIRTIO_BLK_T_OUT) {
                if (total != r.len || r.len % lim.block_size ||
                    r.offset + r.len > (uint64_t)CAPACITY * 512 || r.iovcnt > lim.max_iov ||
                    r.len > lim.max_transfer || (r.type == VIRTIO_BLK_T_OUT && lim.read_only))
                    abort();
                /* The status byte is never part of the data. */
                for (unsigned i = 0; i < r.iovcnt; i++) {
                    const uint8_t *b = r.iov[i].iov_base;
                    if (r.status_ptr >= b && r.status_ptr < b + r.iov[i].iov_len)
                        abort();
                }
            }
            if (r.type == VIRTIO_BLK_T_GET_ID && (r.len == 0 || r.len > VIRTIO_BLK_ID_BYTES))
                abort();
            if (r.type == VIRTIO_BLK_T_DISCARD || r.type == VIRTIO_BLK_T_WRITE_ZEROES) {
                if (r.n_ranges == 0 || r.n_ranges > lim.max_discard_seg || lim.read_only)
                    abort();
                for (unsigned i = 0; i < r.n_ranges; i++) {
                    if (r.ranges[i].len == 0 || r.ranges[i].offset % lim.block_size ||
                        r.ranges[i].offset + r.ranges[i].len > (uint64_t)CAPACITY * 512)
                        abort();
                }
            }
        }
    } else if (wr != 0) {
        abort(); /* only a chain with no writable byte has no status */
    }
    for (unsigned i = 0; i < n; i++)
        free(bufs[i].iov_base);
    return 0;
}
