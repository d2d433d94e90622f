/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk request parsing for the vhost-user-blk target (vblk_internal.h). */
#include <errno.h>
#include <string.h>

#include "kk_common.h"
#include "vblk_internal.h"

size_t vblk_iov_from_buf(const struct iovec *iov, unsigned cnt, const void *src, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < cnt && done < len; i++) {
        size_t k = KK_MIN(iov[i].iov_len, len - done);
        memcpy(iov[i].iov_base, (const uint8_t *)src + done, k);
        done += k;
    }
    return done;
}

/* Copy @len bytes starting @skip bytes into the iovecs; false if short. */
static bool iov_read(const struct iovec *iov, unsigned cnt, size_t skip, void *dst, size_t len)
{
    uint8_t *out = dst;
    for (unsigned i = 0; i < cnt && len > 0; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        size_t k = KK_MIN(l - skip, len);
        memcpy(out, (const uint8_t *)iov[i].iov_base + skip, k);
        out += k;
        len -= k;
        skip = 0;
    }
    return len == 0;
}

/* Drop @skip bytes from the front of iov[0..*cnt): returns the new start. */
static struct iovec *iov_skip(struct iovec *iov, unsigned *cnt, size_t skip)
{
    while (*cnt > 0 && skip >= iov->iov_len) {
        skip -= iov->iov_len;
        iov++;
        (*cnt)--;
    }
    if (*cnt > 0 && skip) {
        iov->iov_base = (uint8_t *)iov->iov_base + skip;
        iov->iov_len -= skip;
    }
    return iov;
}

/* Is [sector, sector + bytes / 512) inside the device and block-aligned? */
static bool range_ok(const struct vblk_limits *lim, uint64_t sector, uint64_t bytes)
{
    uint64_t sectors = bytes >> VIRTIO_BLK_SECTOR_SHIFT;
    uint64_t blk_sectors = lim->block_size >> VIRTIO_BLK_SECTOR_SHIFT;
    if (bytes % lim->block_size || sector % blk_sectors)
        return false;
    return sector <= lim->capacity && sectors <= lim->capacity - sector;
}

static uint8_t parse_ranges(struct vq_chain *c, const struct vblk_limits *lim, uint32_t type,
                            struct vblk_request *out)
{
    bool discard = type == VIRTIO_BLK_T_DISCARD;
    if (discard ? !lim->discard : !lim->write_zeroes)
        return VIRTIO_BLK_S_UNSUPP;
    if (lim->read_only)
        return VIRTIO_BLK_S_IOERR;
    uint32_t data = c->readable_len - (uint32_t)sizeof(struct virtio_blk_outhdr);
    uint32_t max_seg = discard ? lim->max_discard_seg : lim->max_write_zeroes_seg;
    uint32_t max_sectors = discard ? lim->max_discard_sectors : lim->max_write_zeroes_sectors;
    if (max_seg > VBLK_MAX_RANGES)
        max_seg = VBLK_MAX_RANGES;
    uint32_t n = data / sizeof(struct virtio_blk_discard_write_zeroes);
    if (data == 0 || data % sizeof(struct virtio_blk_discard_write_zeroes) || n > max_seg)
        return VIRTIO_BLK_S_IOERR;
    for (uint32_t i = 0; i < n; i++) {
        struct virtio_blk_discard_write_zeroes seg;
        size_t at = sizeof(struct virtio_blk_outhdr) + i * sizeof(seg);
        if (!iov_read(c->iov, c->n_readable, at, &seg, sizeof(seg)))
            return VIRTIO_BLK_S_IOERR;
        uint32_t reserved = discard ? ~0u : ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
        if (seg.flags & reserved)
            return VIRTIO_BLK_S_UNSUPP;
        uint64_t bytes = (uint64_t)seg.num_sectors << VIRTIO_BLK_SECTOR_SHIFT;
        if (seg.num_sectors == 0 || (max_sectors && seg.num_sectors > max_sectors) ||
            !range_ok(lim, seg.sector, bytes))
            return VIRTIO_BLK_S_IOERR;
        out->ranges[i] = (struct vblk_range){.offset = seg.sector << VIRTIO_BLK_SECTOR_SHIFT,
                                             .len = bytes,
                                             .unmap = seg.flags &
                                                      VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP};
    }
    out->n_ranges = n;
    return VIRTIO_BLK_S_OK;
}

int vblk_parse_request(struct vq_chain *c, const struct vblk_limits *lim,
                       struct vblk_request *out)
{
    memset(out, 0, offsetof(struct vblk_request, ranges));
    /* The status byte: the last byte of the last non-empty writable buffer. */
    struct iovec *w = c->iov + c->n_readable;
    unsigned nw = c->n_writable;
    while (nw > 0 && w[nw - 1].iov_len == 0)
        nw--;
    if (nw == 0)
        return -EPROTO;
    struct iovec *last = &w[nw - 1];
    out->status_ptr = (uint8_t *)last->iov_base + last->iov_len - 1;
    last->iov_len--;
    if (last->iov_len == 0)
        nw--;
    uint64_t writable = (uint64_t)c->writable_len - 1;

    struct virtio_blk_outhdr h;
    if (c->readable_len < sizeof(h) || !iov_read(c->iov, c->n_readable, 0, &h, sizeof(h))) {
        out->status = VIRTIO_BLK_S_IOERR;
        return 0;
    }
    out->type = h.type;
    out->status = VIRTIO_BLK_S_OK;
    switch (h.type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT: {
        bool in = h.type == VIRTIO_BLK_T_IN;
        if (in) {
            out->iov = w;
            out->iovcnt = nw;
            out->len = writable;
        } else {
            unsigned cnt = c->n_readable;
            out->iov = iov_skip(c->iov, &cnt, sizeof(h));
            out->iovcnt = cnt;
            out->len = c->readable_len - sizeof(h);
            if (lim->read_only) {
                out->status = VIRTIO_BLK_S_IOERR;
                return 0;
            }
        }
        if (h.sector > UINT64_MAX >> VIRTIO_BLK_SECTOR_SHIFT || !range_ok(lim, h.sector, out->len) ||
            (lim->max_transfer && out->len > lim->max_transfer) || out->iovcnt > lim->max_iov) {
            out->status = VIRTIO_BLK_S_IOERR;
            return 0;
        }
        out->offset = h.sector << VIRTIO_BLK_SECTOR_SHIFT;
        return 0;
    }
    case VIRTIO_BLK_T_FLUSH:
        return 0;
    case VIRTIO_BLK_T_GET_ID:
        if (writable == 0) {
            out->status = VIRTIO_BLK_S_IOERR;
            return 0;
        }
        out->iov = w;
        out->iovcnt = nw;
        out->len = KK_MIN(writable, (uint64_t)VIRTIO_BLK_ID_BYTES);
        return 0;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        out->status = parse_ranges(c, lim, h.type, out);
        return 0;
    default:
        out->status = VIRTIO_BLK_S_UNSUPP;
        return 0;
    }
}
