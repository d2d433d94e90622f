/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Virtqueue driver side (split and packed rings): the counterpart of vq.c
 * and vq_packed.c. See vq_driver.h for the contract.
 *
 * Bookkeeping lives in q->slots, never in the shared rings, so a device
 * that scribbles over descriptors cannot corrupt the free lists:
 *  - split: one slot per descriptor index. Free descriptors form a list
 *    through slot.next; a chain is simply the first n entries of that list
 *    (their links double as the chain's NEXT links), and is given back by
 *    splicing it in front of the list again (head and last known).
 *  - packed: one slot per buffer id; free ids form a list through
 *    slot.next; slot.count remembers how many ring slots the buffer took.
 * slot.count != 0 marks a buffer in flight (on the head, for split), and
 * slot.serial tells whether it was published yet.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vq_driver.h"
#include "vq_internal.h"

struct vqd_slot {
    void *cookie;
    uint64_t serial;       /* q->add_serial when added */
    uint32_t writable_len; /* bytes the device may write (clamps used len) */
    uint16_t next;         /* free list link; split: also the chain's NEXT */
    uint16_t count;        /* descriptors or ring slots taken; 0: not in flight */
    uint16_t last;         /* split: last descriptor of the chain */
};

/* What the driver asked of the device about interrupts. */
enum {
    VQD__IRQ_ALL,   /* notify on every completion (flags) */
    VQD__IRQ_EVENT, /* EVENT_IDX: notify once past irq_event */
    VQD__IRQ_OFF,   /* suppressed */
};

#define AREA_ALIGN 64

static int fail(struct vqd *q, const char *fmt, ...) KK_PRINTF(2, 3);
static int fail(struct vqd *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->why, sizeof(q->why), fmt, ap);
    va_end(ap);
    if (!q->broken)
        KK_LOGW_RL(virtio_log, "virtqueue driver: device fault: %s", q->why);
    q->broken = true;
    return -EIO;
}

/* Area offsets within the ring memory. */
struct layout {
    size_t driver_off, device_off, total;
};

static bool num_valid(uint16_t num, bool packed)
{
    if (num == 0 || num > VIRTQ_MAX_SIZE)
        return false;
    return packed || kk_is_power_of_2(num);
}

static struct layout layout_of(uint16_t num, bool packed)
{
    struct layout l;
    l.driver_off = kk_align_up(virtq_desc_size(num), AREA_ALIGN);
    if (packed) {
        l.device_off = l.driver_off + AREA_ALIGN;
        l.total = l.device_off + VIRTQ_PACKED_EVENT_SIZE;
    } else {
        l.device_off = kk_align_up(l.driver_off + virtq_avail_size(num), AREA_ALIGN);
        l.total = l.device_off + virtq_used_size(num);
    }
    return l;
}

size_t vqd_ring_bytes(uint16_t num, bool packed)
{
    if (!num_valid(num, packed))
        return 0;
    return layout_of(num, packed).total;
}

int vqd_init(struct vqd *q, void *ring_hva, uint64_t ring_gpa, uint16_t num, bool packed,
             uint64_t features)
{
    if (!q)
        return -EINVAL;
    memset(q, 0, sizeof(*q));
    if (!ring_hva || !num_valid(num, packed) || (uintptr_t)ring_hva % VIRTQ_DESC_ALIGN ||
        ring_gpa % VIRTQ_DESC_ALIGN)
        return -EINVAL;
    struct layout l = layout_of(num, packed);
    if (ring_gpa > UINT64_MAX - l.total)
        return -EINVAL;
    q->slots = calloc(num, sizeof(*q->slots));
    if (!q->slots)
        return -ENOMEM;

    q->num = num;
    q->packed = packed;
    q->event_idx = features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
    q->indirect = features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
    q->desc_gpa = ring_gpa;
    q->driver_gpa = ring_gpa + l.driver_off;
    q->device_gpa = ring_gpa + l.device_off;
    q->desc_hva = ring_hva;
    q->driver_hva = (uint8_t *)ring_hva + l.driver_off;
    q->device_hva = (uint8_t *)ring_hva + l.device_off;
    memset(ring_hva, 0, l.total);

    for (uint32_t i = 0; i < num; i++)
        q->slots[i].next = (uint16_t)(i + 1); /* the last link (num) is never followed */
    q->free_head = 0;
    q->free_count = num;
    /* Zeroed rings ask for every interrupt, except a split ring with
     * EVENT_IDX: there used_event 0 asks for one after the first entry. */
    q->irq_mode = (!packed && q->event_idx) ? VQD__IRQ_EVENT : VQD__IRQ_ALL;
    q->irq_event = 0;
    q->avail_wrap = true;
    q->used_wrap = true;
    return 0;
}

void vqd_fini(struct vqd *q)
{
    if (!q)
        return;
    free(q->slots);
    q->slots = NULL;
}

uint32_t vqd_initial_base(const struct vqd *q)
{
    return q->packed ? (UINT32_C(1) << 15 | UINT32_C(1) << 31) : 0;
}

unsigned vqd_free_descs(const struct vqd *q)
{
    return q->free_count;
}

/* ---- adding ---------------------------------------------------------------- */

/*
 * Check a buffer's descriptors; *writable_len gets the device-writable
 * bytes. 0 or -EINVAL.
 */
static int check_bufs(const struct vqd_buf *bufs, unsigned n, uint32_t *writable_len)
{
    if (!bufs || n == 0)
        return -EINVAL;
    uint64_t readable = 0, writable = 0;
    bool seen_writable = false;
    for (unsigned i = 0; i < n; i++) {
        const struct vqd_buf *b = &bufs[i];
        if (b->gpa > UINT64_MAX - b->len)
            return -EINVAL;
        if (b->writable) {
            seen_writable = true;
            writable += b->len;
        } else {
            if (seen_writable)
                return -EINVAL;
            readable += b->len;
        }
    }
    if (readable > UINT32_MAX || writable > UINT32_MAX)
        return -EINVAL;
    *writable_len = (uint32_t)writable;
    return 0;
}

static void remember(struct vqd *q, uint16_t slot, uint16_t count, uint16_t last, void *cookie,
                     uint32_t writable_len)
{
    struct vqd_slot *s = &q->slots[slot];
    s->cookie = cookie;
    s->serial = ++q->add_serial;
    s->writable_len = writable_len;
    s->count = count;
    s->last = last;
    q->free_count = (uint16_t)(q->free_count - count);
    q->inflight++;
}

/* Address and length of the i-th ring descriptor of a buffer: the caller's
 * buffer, or (no @direct) the indirect table. Returns its WRITE/INDIRECT flag. */
static uint16_t buf_at(const struct vqd_buf *direct, uint16_t i, uint64_t table_gpa,
                       uint32_t table_len, uint64_t *addr, uint32_t *len)
{
    if (!direct) {
        *addr = table_gpa;
        *len = table_len;
        return VIRTQ_DESC_F_INDIRECT;
    }
    *addr = direct[i].gpa;
    *len = direct[i].len;
    return direct[i].writable ? VIRTQ_DESC_F_WRITE : 0;
}

/*
 * Split: take @count descriptors off the free list. @direct gives their
 * contents (NULL: one indirect descriptor for @table_gpa, @table_len).
 */
static void add_split(struct vqd *q, const struct vqd_buf *direct, uint16_t count,
                      uint64_t table_gpa, uint32_t table_len, void *cookie,
                      uint32_t writable_len)
{
    struct virtq_desc *table = q->desc_hva;
    uint16_t head = q->free_head, idx = head, last = head;
    for (uint16_t i = 0; i < count; i++) {
        struct virtq_desc *d = &table[idx];
        bool more = i + 1 < count;
        uint16_t flags = (uint16_t)((more ? VIRTQ_DESC_F_NEXT : 0) |
                                    buf_at(direct, i, table_gpa, table_len, &d->addr, &d->len));
        d->flags = flags;
        d->next = more ? q->slots[idx].next : 0;
        last = idx;
        if (more)
            idx = q->slots[idx].next;
    }
    q->free_head = q->slots[last].next;
    struct virtq_avail *avail = q->driver_hva;
    /* Entries past avail->idx are not read by the device until published. */
    vq__store16(&avail->ring[q->avail_idx & (q->num - 1)], head);
    q->avail_idx++;
    remember(q, head, count, last, cookie, writable_len);
}

/* Packed: fill @count ring slots from next_avail with buffer id from the free list. */
static void add_packed(struct vqd *q, const struct vqd_buf *direct, uint16_t count,
                       uint64_t table_gpa, uint32_t table_len, void *cookie,
                       uint32_t writable_len)
{
    struct virtq_packed_desc *ring = q->desc_hva;
    uint16_t id = q->free_head;
    q->free_head = q->slots[id].next;
    uint16_t pos = q->next_avail, head = pos, head_flags = 0;
    bool wrap = q->avail_wrap;
    for (uint16_t i = 0; i < count; i++) {
        struct virtq_packed_desc *d = &ring[pos];
        uint16_t flags = wrap ? VIRTQ_PACKED_F_AVAIL : VIRTQ_PACKED_F_USED;
        if (i + 1 < count)
            flags |= VIRTQ_DESC_F_NEXT;
        flags |= buf_at(direct, i, table_gpa, table_len, &d->addr, &d->len);
        d->id = id; /* the device takes it from the last one; every one carries it */
        if (i == 0)
            head_flags = flags;
        else
            vq__store16(&d->flags, flags);
        if (++pos == q->num) {
            pos = 0;
            wrap = !wrap;
        }
    }
    /* The device walks the ring in order from a published position, so only
     * the first head of a batch has to be held back until vqd_publish();
     * later heads are stored now, and become visible with it. */
    if (q->batch_descs == 0) {
        q->batch_head = head;
        q->batch_head_flags = head_flags;
    } else {
        vq__store16(&ring[head].flags, head_flags);
    }
    q->batch_descs = (uint16_t)(q->batch_descs + count);
    q->next_avail = pos;
    q->avail_wrap = wrap;
    remember(q, id, count, 0, cookie, writable_len);
}

int vqd_add(struct vqd *q, const struct vqd_buf *bufs, unsigned n, void *cookie)
{
    if (q->broken)
        return -EIO;
    uint32_t writable_len;
    if (n > q->num || check_bufs(bufs, n, &writable_len) < 0)
        return -EINVAL;
    if (q->free_count < n)
        return -ENOSPC;
    if (q->packed)
        add_packed(q, bufs, (uint16_t)n, 0, 0, cookie, writable_len);
    else
        add_split(q, bufs, (uint16_t)n, 0, 0, cookie, writable_len);
    return 0;
}

int vqd_add_indirect(struct vqd *q, const struct vqd_buf *bufs, unsigned n, void *table_hva,
                     uint64_t table_gpa, void *cookie)
{
    if (q->broken)
        return -EIO;
    if (!q->indirect)
        return -ENOTSUP;
    uint32_t writable_len;
    if (n > VIRTQ_MAX_SIZE || check_bufs(bufs, n, &writable_len) < 0)
        return -EINVAL;
    uint32_t table_len = n * (uint32_t)sizeof(struct virtq_desc);
    if (!table_hva || (uintptr_t)table_hva % VIRTQ_DESC_ALIGN ||
        table_gpa > UINT64_MAX - table_len)
        return -EINVAL;
    if (q->free_count < 1)
        return -ENOSPC;

    /* The device reads the table only after it is published, and it is
     * caller memory nobody else writes: plain stores. */
    if (q->packed) {
        struct virtq_packed_desc *t = table_hva;
        for (unsigned i = 0; i < n; i++)
            t[i] = (struct virtq_packed_desc){
                .addr = bufs[i].gpa,
                .len = bufs[i].len,
                .flags = bufs[i].writable ? VIRTQ_DESC_F_WRITE : 0,
            };
        add_packed(q, NULL, 1, table_gpa, table_len, cookie, writable_len);
    } else {
        struct virtq_desc *t = table_hva;
        for (unsigned i = 0; i < n; i++) {
            bool more = i + 1 < n;
            t[i] = (struct virtq_desc){
                .addr = bufs[i].gpa,
                .len = bufs[i].len,
                .flags = (uint16_t)((bufs[i].writable ? VIRTQ_DESC_F_WRITE : 0) |
                                    (more ? VIRTQ_DESC_F_NEXT : 0)),
                .next = more ? (uint16_t)(i + 1) : 0,
            };
        }
        add_split(q, NULL, 1, table_gpa, table_len, cookie, writable_len);
    }
    return 0;
}

/* ---- publishing ---------------------------------------------------------- */

static bool publish_split(struct vqd *q)
{
    if (q->avail_idx == q->published_idx)
        return false;
    struct virtq_avail *avail = q->driver_hva;
    struct virtq_used *used = q->device_hva;
    uint16_t old = q->published_idx, new_idx = q->avail_idx;
    /* Release: descriptors, ring entries and buffer contents first. */
    vq__store16_release(&avail->idx, new_idx);
    q->published_idx = new_idx;
    q->published_serial = q->add_serial;
    /* The index store must be visible before we read what the device asked
     * for; otherwise a device enabling kicks in between could be missed. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (q->event_idx) {
        uint16_t *avail_event = (uint16_t *)(void *)&used->ring[q->num];
        return virtq_need_event(vq__load16(avail_event), new_idx, old);
    }
    return !(vq__load16(&used->flags) & VIRTQ_USED_F_NO_NOTIFY);
}

static bool publish_packed(struct vqd *q)
{
    if (q->batch_descs == 0)
        return false;
    struct virtq_packed_desc *ring = q->desc_hva;
    struct virtq_packed_event *dev = q->device_hva;
    vq__store16_release(&ring[q->batch_head].flags, q->batch_head_flags);
    /* Positions in one linear frame: old may be "negative" (last lap). */
    uint16_t new_idx = q->next_avail;
    uint16_t old = (uint16_t)(new_idx - q->batch_descs);
    q->batch_descs = 0;
    q->published_serial = q->add_serial;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t flags = vq__load16(&dev->flags);
    if (flags == VIRTQ_EVENT_F_DESC && q->event_idx) {
        uint16_t off_wrap = vq__load16(&dev->off_wrap);
        uint16_t event = off_wrap & 0x7fff;
        /* An event in the other lap than ours is in the previous one. */
        if ((bool)(off_wrap >> 15) != q->avail_wrap)
            event = (uint16_t)(event - q->num);
        return virtq_need_event(event, new_idx, old);
    }
    return flags != VIRTQ_EVENT_F_DISABLE;
}

bool vqd_publish(struct vqd *q)
{
    if (q->broken)
        return false;
    return q->packed ? publish_packed(q) : publish_split(q);
}

/* ---- collecting ------------------------------------------------------------ */

/* Validate a completion for @id (split head / packed buffer id). */
static int check_used_id(struct vqd *q, uint32_t id)
{
    if (id >= q->num)
        return fail(q, "used id %u out of range (%u)", id, q->num);
    const struct vqd_slot *s = &q->slots[id];
    if (s->count == 0)
        return fail(q, "used id %u is not in flight", id);
    if (s->serial > q->published_serial)
        return fail(q, "used id %u was not published", id);
    return 0;
}

static void hand_back(struct vqd *q, struct vqd_slot *s, uint32_t dev_len, void **cookie,
                      uint32_t *len)
{
    if (cookie)
        *cookie = s->cookie;
    if (len)
        *len = KK_MIN(dev_len, s->writable_len);
    s->cookie = NULL;
    s->count = 0;
    q->inflight--;
}

static uint16_t *used_event(const struct vqd *q)
{
    struct virtq_avail *avail = q->driver_hva;
    return &avail->ring[q->num];
}

/*
 * Load used->idx (acquire) into used_idx_seen and check it. Returns true
 * if entries are pending; false if none, or if the queue just broke.
 */
static bool refresh_split(struct vqd *q)
{
    struct virtq_used *used = q->device_hva;
    uint16_t idx = vq__load16_acquire(&used->idx);
    if (idx == q->last_used_idx && q->irq_mode == VQD__IRQ_EVENT &&
        q->irq_event != q->last_used_idx) {
        /* About to report "empty": ask for an interrupt at the next entry,
         * and look once more after the request is visible, or a completion
         * racing with it would go unsignalled. */
        q->irq_event = q->last_used_idx;
        vq__store16(used_event(q), q->irq_event);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        idx = vq__load16_acquire(&used->idx);
    } else if (q->irq_mode == VQD__IRQ_OFF && q->event_idx &&
               (uint16_t)(q->last_used_idx - 1 - q->irq_event) > 0x4000) {
        /* Keep the "suppressed" event just behind us, far from where the
         * device's used index is going. */
        q->irq_event = (uint16_t)(q->last_used_idx - 1);
        vq__store16(used_event(q), q->irq_event);
    }
    uint16_t pending = (uint16_t)(idx - q->last_used_idx);
    uint32_t published = q->inflight - (uint16_t)(q->avail_idx - q->published_idx);
    if (pending > published) {
        fail(q, "used index moved by %u with %u buffers in flight", pending, published);
        return false;
    }
    q->used_idx_seen = idx;
    return pending != 0;
}

static int get_used_split(struct vqd *q, void **cookie, uint32_t *len)
{
    if (q->last_used_idx == q->used_idx_seen && !refresh_split(q))
        return q->broken ? -EIO : 0;
    struct virtq_used *used = q->device_hva;
    struct virtq_used_elem *e = &used->ring[q->last_used_idx & (q->num - 1)];
    /* One load each: the device may change them under us. */
    uint32_t id = __atomic_load_n(&e->id, __ATOMIC_RELAXED);
    uint32_t dev_len = __atomic_load_n(&e->len, __ATOMIC_RELAXED);
    int rc = check_used_id(q, id);
    if (rc < 0)
        return rc;
    struct vqd_slot *s = &q->slots[id];
    /* Give the chain back in front of the free list. */
    q->slots[s->last].next = q->free_head;
    q->free_head = (uint16_t)id;
    q->free_count = (uint16_t)(q->free_count + s->count);
    q->last_used_idx++;
    hand_back(q, s, dev_len, cookie, len);
    return 1;
}

static bool packed_is_used(uint16_t flags, bool wrap)
{
    bool avail = flags & VIRTQ_PACKED_F_AVAIL;
    bool used = flags & VIRTQ_PACKED_F_USED;
    return avail == used && used == wrap;
}

static uint16_t packed_used_event(const struct vqd *q)
{
    return (uint16_t)(q->next_used | (uint16_t)q->used_wrap << 15);
}

static int get_used_packed(struct vqd *q, void **cookie, uint32_t *len)
{
    struct virtq_packed_desc *ring = q->desc_hva;
    struct virtq_packed_desc *d = &ring[q->next_used];
    uint16_t flags = vq__load16_acquire(&d->flags);
    if (!packed_is_used(flags, q->used_wrap)) {
        uint16_t want = packed_used_event(q);
        if (q->irq_mode != VQD__IRQ_EVENT || q->irq_event == want)
            return 0;
        /* As for split: move the event to where we are, then look again. */
        struct virtq_packed_event *drv = q->driver_hva;
        q->irq_event = want;
        vq__store16(&drv->off_wrap, want);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        flags = vq__load16_acquire(&d->flags);
        if (!packed_is_used(flags, q->used_wrap))
            return 0;
    }
    uint16_t id = __atomic_load_n(&d->id, __ATOMIC_RELAXED);
    uint32_t dev_len = __atomic_load_n(&d->len, __ATOMIC_RELAXED);
    int rc = check_used_id(q, id);
    if (rc < 0)
        return rc;
    struct vqd_slot *s = &q->slots[id];
    uint32_t next = (uint32_t)q->next_used + s->count;
    if (next >= q->num) {
        next -= q->num;
        q->used_wrap = !q->used_wrap;
    }
    q->next_used = (uint16_t)next;
    s->next = q->free_head;
    q->free_head = id;
    q->free_count = (uint16_t)(q->free_count + s->count);
    hand_back(q, s, dev_len, cookie, len);
    return 1;
}

int vqd_get_used(struct vqd *q, void **cookie, uint32_t *len)
{
    if (q->broken)
        return -EIO;
    return q->packed ? get_used_packed(q, cookie, len) : get_used_split(q, cookie, len);
}

/* ---- interrupts ------------------------------------------------------------- */

static bool enable_split(struct vqd *q, bool enable)
{
    struct virtq_avail *avail = q->driver_hva;
    if (!enable) {
        if (q->irq_mode == VQD__IRQ_OFF)
            return false;
        q->irq_mode = VQD__IRQ_OFF;
        if (q->event_idx) {
            /* The device ignores flags with EVENT_IDX: put the event just
             * behind what we collected, as far as it can be from the
             * entries the device will write next. */
            q->irq_event = (uint16_t)(q->last_used_idx - 1);
            vq__store16(used_event(q), q->irq_event);
        } else {
            vq__store16(&avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
        }
        return false;
    }
    if (q->event_idx) {
        q->irq_mode = VQD__IRQ_EVENT;
        q->irq_event = q->last_used_idx;
        vq__store16(used_event(q), q->irq_event);
    } else {
        q->irq_mode = VQD__IRQ_ALL;
        vq__store16(&avail->flags, 0);
    }
    /* The request must be visible before we look for entries the device
     * wrote while it still saw the old one. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    struct virtq_used *used = q->device_hva;
    return vq__load16_acquire(&used->idx) != q->last_used_idx;
}

static bool enable_packed(struct vqd *q, bool enable)
{
    struct virtq_packed_event *drv = q->driver_hva;
    if (!enable) {
        if (q->irq_mode != VQD__IRQ_OFF) {
            q->irq_mode = VQD__IRQ_OFF;
            vq__store16(&drv->flags, VIRTQ_EVENT_F_DISABLE);
        }
        return false;
    }
    if (q->event_idx) {
        q->irq_mode = VQD__IRQ_EVENT;
        q->irq_event = packed_used_event(q);
        vq__store16(&drv->off_wrap, q->irq_event);
        /* Release: a device seeing DESC sees the offset with it. */
        vq__store16_release(&drv->flags, VIRTQ_EVENT_F_DESC);
    } else {
        q->irq_mode = VQD__IRQ_ALL;
        vq__store16(&drv->flags, VIRTQ_EVENT_F_ENABLE);
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    const struct virtq_packed_desc *ring = q->desc_hva;
    return packed_is_used(vq__load16_acquire(&ring[q->next_used].flags), q->used_wrap);
}

bool vqd_enable_interrupts(struct vqd *q, bool enable)
{
    if (q->broken)
        return false;
    return q->packed ? enable_packed(q, enable) : enable_split(q, enable);
}
