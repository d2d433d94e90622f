/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Packed virtqueue, device side (virtio 1.2, 2.8).
 *
 * One ring of descriptors. The driver makes a descriptor available by
 * setting its AVAIL flag bit equal to its wrap counter and its USED bit to
 * the opposite; the device marks a buffer used by writing a descriptor at
 * its own position with both bits equal to its wrap counter. Positions
 * advance by the number of descriptors a buffer occupies, and wrap counters
 * flip at the end of the ring. Indirect tables are walked entry by entry
 * (all len/16 entries; NEXT is not used inside them).
 */
#include <errno.h>
#include <string.h>

#include "vq_internal.h"

static inline struct virtq_packed_desc *ring(const struct vq *q)
{
    return q->l.desc;
}
static inline struct virtq_packed_event *driver_event(const struct vq *q)
{
    return q->l.avail;
}
static inline struct virtq_packed_event *device_event(const struct vq *q)
{
    return q->l.used;
}

static inline bool desc_available(uint16_t flags, bool wrap)
{
    bool avail = flags & VIRTQ_PACKED_F_AVAIL;
    bool used = flags & VIRTQ_PACKED_F_USED;
    return avail == wrap && used != wrap;
}

int vq__packed_init(struct vq *q, uint32_t base)
{
    /* Bits 0-15: next avail position and wrap; 16-31: the same for used
     * (the backend expands 16-bit bases from older frontends). */
    uint16_t avail = base & 0xffff, used = base >> 16;
    if ((avail & 0x7fff) >= q->l.num || (used & 0x7fff) >= q->l.num)
        return -EINVAL;
    q->next_avail = avail & 0x7fff;
    q->avail_wrap = avail >> 15;
    q->next_used = used & 0x7fff;
    q->used_wrap = used >> 15;
    q->signalled_used = q->next_used;
    return 0;
}

bool vq__packed_has_avail(struct vq *q)
{
    uint16_t flags = vq__load16_acquire(&ring(q)[q->next_avail].flags);
    return desc_available(flags, q->avail_wrap);
}

static int walk_indirect(struct vq *q, const struct virtq_packed_desc *d, struct vq__walk *w)
{
    if (!q->indirect)
        return vq__fail(q, "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
    if (d->flags & VIRTQ_DESC_F_NEXT)
        return vq__fail(q, "indirect descriptor with the NEXT flag");
    if (d->len == 0 || d->len % sizeof(struct virtq_packed_desc) ||
        d->len / sizeof(struct virtq_packed_desc) > VIRTQ_MAX_SIZE)
        return vq__fail(q, "indirect table of %u bytes", d->len);
    const struct virtq_packed_desc *table = vq__indirect_table(q, d->addr, d->len);
    if (!table)
        return -EIO;
    uint32_t n = d->len / sizeof(struct virtq_packed_desc);
    for (uint32_t i = 0; i < n; i++) {
        struct virtq_packed_desc e;
        memcpy(&e, &table[i], sizeof(e));
        if (e.flags & VIRTQ_DESC_F_INDIRECT)
            return vq__fail(q, "indirect descriptor inside an indirect table");
        int rc = vq__walk_add(q, w, e.addr, e.len, e.flags & VIRTQ_DESC_F_WRITE);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/*
 * Walk one buffer whose descriptors are @descs[start], @descs[start + 1], ...
 * wrapping at @size: the ring itself (start = next_avail, size = num), or a
 * copy of a buffer's descriptors saved for inflight tracking (start = 0,
 * size = their count). *count gets the descriptors the buffer used.
 */
static KK_ALWAYS_INLINE int walk_packed(struct vq *q, const struct virtq_packed_desc *descs,
                                        uint32_t start, uint32_t size, struct vq__walk *w,
                                        uint16_t *id, uint16_t *count)
{
    uint32_t idx = start;
    uint32_t n = 0;
    for (;;) {
        if (n >= size)
            return vq__fail(q, "packed descriptor chain longer than %s (%u)",
                            descs == ring(q) ? "the queue" : "its saved copy", size);
        struct virtq_packed_desc d;
        memcpy(&d, &descs[idx], sizeof(d));
        n++;
        int rc;
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            rc = walk_indirect(q, &d, w);
        else
            rc = vq__walk_add(q, w, d.addr, d.len, d.flags & VIRTQ_DESC_F_WRITE);
        if (rc < 0)
            return rc;
        if (!(d.flags & VIRTQ_DESC_F_NEXT) || (d.flags & VIRTQ_DESC_F_INDIRECT)) {
            /* The buffer id is carried by the last descriptor. */
            *id = d.id;
            *count = (uint16_t)n;
            return 0;
        }
        if (++idx == size)
            idx = 0;
    }
}

int vq_read_packed_descs(struct vq *q, const struct virtq_packed_desc *descs, uint16_t n,
                         struct vq_chain *c, struct iovec *iov, unsigned max_iov)
{
    if (q->broken)
        return -EIO;
    if (!q->l.packed)
        return -ENOTSUP;
    if (n == 0 || n > q->l.num)
        return vq__fail(q, "saved packed buffer of %u descriptors (queue of %u)", n, q->l.num);
    struct vq__walk w = {.iov = iov, .max_iov = max_iov};
    uint16_t id = 0, count = 0;
    int rc = walk_packed(q, descs, 0, n, &w, &id, &count);
    if (rc < 0)
        return rc;
    if (count != n)
        return vq__fail(q, "saved packed buffer ends after %u of its %u descriptors", count, n);
    vq__walk_finish(&w, c);
    c->id = id;
    c->desc_count = count;
    return 0;
}

/*
 * Fast path (the common case at high rates): four available buffers of one
 * plain descriptor each, filling one 64-byte line of the ring, all inside
 * the guest memory region of the previous buffer. Anything else (chains,
 * indirect tables, a line not yet complete, another region, a wrap inside
 * the line) returns false for the general walk. The checks are the ones
 * vq__walk_add() applies to one descriptor.
 */
static KK_ALWAYS_INLINE bool pop_line(struct vq *q, struct vq_chain *chains, struct iovec *iov)
{
    uint16_t pos = q->next_avail;
    const struct vq_mem_region *r = q->hot;
    if ((pos & 3) || pos + 4u > q->l.num || !r)
        return false;
    struct virtq_packed_desc *d = &ring(q)[pos];
    const uint16_t mask = VIRTQ_PACKED_F_AVAIL | VIRTQ_PACKED_F_USED | VIRTQ_DESC_F_NEXT |
                          VIRTQ_DESC_F_INDIRECT;
    const uint16_t want = q->avail_wrap ? VIRTQ_PACKED_F_AVAIL : VIRTQ_PACKED_F_USED;
    uint16_t flags[4];
    for (unsigned i = 0; i < 4; i++) {
        /* Acquire: each buffer's fields are read after its flags. */
        flags[i] = vq__load16_acquire(&d[i].flags);
        if ((flags[i] & mask) != want)
            return false;
    }
    uint64_t off[4];
    uint32_t len[4];
    for (unsigned i = 0; i < 4; i++) {
        uint64_t addr = __atomic_load_n(&d[i].addr, __ATOMIC_RELAXED);
        len[i] = __atomic_load_n(&d[i].len, __ATOMIC_RELAXED);
        off[i] = addr - r->desc.gpa;
        if (len[i] == 0 || addr < r->desc.gpa || off[i] >= r->desc.size ||
            len[i] > r->desc.size - off[i])
            return false;
    }
    for (unsigned i = 0; i < 4; i++) {
        bool writable = flags[i] & VIRTQ_DESC_F_WRITE;
        iov[i].iov_base = r->hva + off[i];
        iov[i].iov_len = len[i];
        chains[i] = (struct vq_chain){
                .id = __atomic_load_n(&d[i].id, __ATOMIC_RELAXED),
                .desc_count = 1,
                .n_readable = !writable,
                .n_writable = writable,
                .readable_len = writable ? 0 : len[i],
                .writable_len = writable ? len[i] : 0,
                .iov = &iov[i],
        };
    }
    q->next_avail = (uint16_t)(pos + 4);
    if (q->next_avail == q->l.num) {
        q->next_avail = 0;
        q->avail_wrap = !q->avail_wrap;
    }
    return true;
}

int vq__packed_pop(struct vq *q, struct vq_chain *chains, unsigned max_chains, struct iovec *iov,
                   unsigned max_iov)
{
    unsigned n = 0, used_iov = 0;
    while (n < max_chains) {
        if (n + 4 <= max_chains && used_iov + 4 <= max_iov &&
            pop_line(q, chains + n, iov + used_iov)) {
            n += 4;
            used_iov += 4;
            continue;
        }
        /* Acquire: the rest of the buffer's descriptors, written before the
         * head's flags, are visible once we see the head available. */
        uint16_t flags = vq__load16_acquire(&ring(q)[q->next_avail].flags);
        if (!desc_available(flags, q->avail_wrap))
            break;
        struct vq__walk w = {.iov = iov + used_iov, .max_iov = max_iov - used_iov};
        uint16_t id = 0, count = 0;
        int rc = walk_packed(q, ring(q), q->next_avail, q->l.num, &w, &id, &count);
        if (rc == -ENOBUFS) {
            if (n == 0)
                return -ENOBUFS;
            break;
        }
        if (rc < 0)
            return rc;
        vq__walk_finish(&w, &chains[n]);
        chains[n].id = id;
        chains[n].desc_count = count;
        used_iov += w.n_iov;
        q->next_avail = (uint16_t)(q->next_avail + count);
        if (q->next_avail >= q->l.num) {
            q->next_avail = (uint16_t)(q->next_avail - q->l.num);
            q->avail_wrap = !q->avail_wrap;
        }
        n++;
    }
    q->stat_pops += n;
    return (int)n;
}

void vq__packed_push(struct vq *q, const struct vq_used *used, unsigned n)
{
    uint16_t first = q->next_used;
    uint16_t first_flags = 0;
    for (unsigned i = 0; i < n; i++) {
        struct virtq_packed_desc *d = &ring(q)[q->next_used];
        uint16_t flags = q->used_wrap ? (VIRTQ_PACKED_F_AVAIL | VIRTQ_PACKED_F_USED) : 0;
        if (used[i].len)
            flags |= VIRTQ_DESC_F_WRITE;
        __atomic_store_n(&d->id, used[i].id, __ATOMIC_RELAXED);
        __atomic_store_n(&d->len, used[i].len, __ATOMIC_RELAXED);
        /* The first descriptor's flags are written last, with release, so
         * the driver sees the whole batch at once. */
        if (i == 0)
            first_flags = flags;
        else
            vq__store16_release(&d->flags, flags);
        uint16_t adv = used[i].desc_count ? used[i].desc_count : 1;
        q->next_used = (uint16_t)(q->next_used + adv);
        if (q->next_used >= q->l.num) {
            q->next_used = (uint16_t)(q->next_used - q->l.num);
            q->used_wrap = !q->used_wrap;
        }
    }
    vq__store16_release(&ring(q)[first].flags, first_flags);
    q->stat_pushes += n;
    q->pushed_since_signal += n;
}

bool vq__packed_need_notify(struct vq *q)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t old = q->signalled_used, new_idx = q->next_used;
    q->signalled_used = new_idx;
    if (q->pushed_since_signal == 0)
        return false; /* nothing new since the last decision */
    q->pushed_since_signal = 0;
    /* Positions live in [0, num): if ours wrapped since the last decision,
     * bring the old one a lap back so [old, new) is the range we used. */
    if (new_idx <= old)
        old = (uint16_t)(old - q->l.num);
    uint16_t flags = vq__load16(&driver_event(q)->flags);
    if (flags == VIRTQ_EVENT_F_DISABLE)
        return false;
    if (flags != VIRTQ_EVENT_F_DESC || !q->event_idx)
        return true;
    uint16_t off_wrap = vq__load16(&driver_event(q)->off_wrap);
    uint16_t event = off_wrap & 0x7fff;
    bool wrap = off_wrap >> 15;
    /* Bring the event index into the same lap as our used index. */
    if (wrap != q->used_wrap)
        event = (uint16_t)(event - q->l.num);
    return virtq_need_event(event, new_idx, old);
}

bool vq__packed_enable_kicks(struct vq *q, bool enable)
{
    struct virtq_packed_event *e = device_event(q);
    if (!enable) {
        vq__store16(&e->flags, VIRTQ_EVENT_F_DISABLE);
        return false;
    }
    if (q->event_idx) {
        vq__store16(&e->off_wrap, (uint16_t)(q->next_avail | (uint16_t)q->avail_wrap << 15));
        vq__store16(&e->flags, VIRTQ_EVENT_F_DESC);
    } else {
        vq__store16(&e->flags, VIRTQ_EVENT_F_ENABLE);
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return vq__packed_has_avail(q);
}
