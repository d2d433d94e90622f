/* SPDX-License-Identifier: Apache-2.0 */
/* Virtqueue device side: common code and the split ring. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kk_err.h"
#include "vq_internal.h"

KK_LOG_COMPONENT(virtio_log, "virtio");

int vq__fail(struct vq *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->why, sizeof(q->why), fmt, ap);
    va_end(ap);
    if (!q->broken)
        KK_LOGW_RL(virtio_log, "virtqueue broken: %s", q->why);
    q->broken = true;
    return -EIO;
}

int vq__walk_add_slow(struct vq *q, struct vq__walk *w, uint64_t addr, uint32_t len,
                      bool writable)
{
    if (writable) {
        w->seen_writable = true;
        w->writable_len += len;
    } else {
        if (w->seen_writable)
            return vq__fail(q, "device-readable descriptor after a device-writable one");
        w->readable_len += len;
    }
    if (w->readable_len > UINT32_MAX || w->writable_len > UINT32_MAX)
        return vq__fail(q, "descriptor chain longer than 4 GiB");
    if (len == 0)
        return 0;
    int n = vq_mem_gpa_to_iov(q->mem, addr, len, w->iov + w->n_iov, w->max_iov - w->n_iov);
    if (n == -ENOBUFS)
        return -ENOBUFS;
    if (n < 0)
        return vq__fail(q, "buffer [0x%llx, +%u) is not guest memory", (unsigned long long)addr,
                        len);
    if (n == 1)
        q->hot = vq_mem_region_of(q->mem, addr);
    w->n_iov += (unsigned)n;
    if (!writable)
        w->n_readable += (unsigned)n;
    if (w->n_iov > UINT16_MAX)
        return vq__fail(q, "descriptor chain needs more than 65535 iovecs");
    return 0;
}

const void *vq__indirect_table(struct vq *q, uint64_t addr, uint32_t len)
{
    const void *t = vq_mem_gpa_to_hva(q->mem, addr, len);
    if (t)
        return t;
    /* Crossing a region boundary is legal but rare: copy it. */
    if (q->bounce_len < len) {
        void *b = realloc(q->bounce, len);
        if (!b) {
            vq__fail(q, "out of memory for an indirect table of %u bytes", len);
            return NULL;
        }
        q->bounce = b;
        q->bounce_len = len;
    }
    if (vq_mem_read(q->mem, addr, q->bounce, len) < 0) {
        vq__fail(q, "indirect table [0x%llx, +%u) is not guest memory", (unsigned long long)addr,
                 len);
        return NULL;
    }
    return q->bounce;
}

void vq__signal(struct vq *q)
{
    if (q->call_fd < 0)
        return;
    uint64_t one = 1;
    ssize_t n = write(q->call_fd, &one, sizeof(one));
    (void)n; /* a full eventfd counter still wakes the reader */
    q->stat_notifies++;
}

/* ---- split ring ---------------------------------------------------------- */

static inline struct virtq_avail *avail_ring(const struct vq *q)
{
    return q->l.avail;
}
static inline struct virtq_used *used_ring(const struct vq *q)
{
    return q->l.used;
}
/* EVENT_IDX fields sit just past each ring. */
static inline uint16_t *used_event(const struct vq *q)
{
    return &avail_ring(q)->ring[q->l.num];
}
static inline uint16_t *avail_event(const struct vq *q)
{
    return (uint16_t *)(void *)&used_ring(q)->ring[q->l.num];
}

int vq_init(struct vq *q, const struct vq_layout *l, const struct vq_mem *mem, uint64_t features,
            uint32_t base)
{
    memset(q, 0, sizeof(*q));
    q->call_fd = -1;
    q->event_idx = features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
    q->indirect = features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
    int rc = vq_set_mem(q, l, mem);
    if (rc < 0)
        return rc;
    if (l->packed)
        return vq__packed_init(q, base);
    if (base > UINT16_MAX)
        return -EINVAL;
    q->last_avail_idx = (uint16_t)base;
    /* The used index lives in guest memory: resume from it (it equals the
     * base on a fresh ring, and stays right when a queue is restarted with
     * requests still in flight). */
    q->used_idx = vq__load16_acquire(&used_ring(q)->idx);
    return 0;
}

int vq_set_mem(struct vq *q, const struct vq_layout *l, const struct vq_mem *mem)
{
    if (!l || !mem || !l->desc || !l->avail || !l->used || l->num == 0 ||
        l->num > VIRTQ_MAX_SIZE)
        return -EINVAL;
    if (!l->packed && !kk_is_power_of_2(l->num))
        return -EINVAL;
    /* Host alignment: misaligned atomics on guest memory could split across
     * cache lines (slow, or fatal with split-lock detection). */
    if ((uintptr_t)l->desc % 16 || (uintptr_t)l->avail % (l->packed ? 4 : 2) ||
        (uintptr_t)l->used % 4)
        return -EINVAL;
    q->l = *l;
    q->mem = mem;
    q->hot = NULL; /* the table may have changed */
    return 0;
}

void vq_fini(struct vq *q)
{
    free(q->bounce);
    q->bounce = NULL;
    q->bounce_len = 0;
    /* A stopped queue neither pops nor pushes, even if a device tries. */
    if (!q->broken)
        snprintf(q->why, sizeof(q->why), "queue stopped");
    q->broken = true;
    q->hot = NULL;
}

/* Walk the chain starting at @head into @w. */
static int walk_split(struct vq *q, uint16_t head, struct vq__walk *w)
{
    const struct virtq_desc *table = q->l.desc;
    uint32_t table_size = q->l.num;
    bool in_indirect = false;
    uint32_t idx = head, count = 0;

    for (;;) {
        if (count >= table_size)
            return vq__fail(q, "descriptor chain from head %u longer than its table (%u)", head,
                            table_size);
        count++;
        struct virtq_desc d;
        memcpy(&d, &table[idx], sizeof(d)); /* one read of guest memory */
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (!q->indirect)
                return vq__fail(q, "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
            if (in_indirect)
                return vq__fail(q, "indirect descriptor inside an indirect table");
            if (d.flags & VIRTQ_DESC_F_NEXT)
                return vq__fail(q, "indirect descriptor with the NEXT flag");
            if (d.len == 0 || d.len % sizeof(struct virtq_desc) ||
                d.len / sizeof(struct virtq_desc) > VIRTQ_MAX_SIZE)
                return vq__fail(q, "indirect table of %u bytes", d.len);
            table = vq__indirect_table(q, d.addr, d.len);
            if (!table)
                return -EIO;
            table_size = d.len / sizeof(struct virtq_desc);
            in_indirect = true;
            idx = 0;
            count = 0;
            continue;
        }
        int rc = vq__walk_add(q, w, d.addr, d.len, d.flags & VIRTQ_DESC_F_WRITE);
        if (rc < 0)
            return rc;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        idx = d.next;
        if (idx >= table_size)
            return vq__fail(q, "descriptor next index %u out of range (%u)", idx, table_size);
    }
}

static int pop_split(struct vq *q, struct vq_chain *chains, unsigned max_chains,
                     struct iovec *iov, unsigned max_iov)
{
    uint16_t avail_idx = vq__load16_acquire(&avail_ring(q)->idx);
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail_idx);
    if (pending > q->l.num)
        return vq__fail(q, "available index moved by %u, more than the queue size %u", pending,
                        q->l.num);
    /* The driver just wrote the descriptors on another CPU: start loading
     * those of the heads ahead so that their transfers overlap. Only a
     * hint: each head is read and checked again below. */
    unsigned ahead = KK_MIN((unsigned)pending, max_chains);
    for (unsigned i = 0; i < ahead; i++) {
        uint16_t h = vq__load16(
            &avail_ring(q)->ring[(uint16_t)(q->last_avail_idx + i) & (q->l.num - 1)]);
        if (h < q->l.num)
            __builtin_prefetch((const struct virtq_desc *)q->l.desc + h);
    }
    unsigned n = 0, used_iov = 0;
    while (n < max_chains && pending > 0) {
        uint16_t head = vq__load16(&avail_ring(q)->ring[q->last_avail_idx & (q->l.num - 1)]);
        if (head >= q->l.num)
            return vq__fail(q, "available ring entry %u out of range (%u)", head, q->l.num);
        struct vq__walk w = {.iov = iov + used_iov, .max_iov = max_iov - used_iov};
        int rc = walk_split(q, head, &w);
        if (rc == -ENOBUFS)
            break;
        if (rc < 0)
            return rc;
        vq__walk_finish(&w, &chains[n]);
        chains[n].id = head;
        chains[n].desc_count = 1;
        used_iov += w.n_iov;
        q->last_avail_idx++;
        pending--;
        n++;
    }
    if (n == 0 && pending > 0)
        return -ENOBUFS;
    q->stat_pops += n;
    return (int)n;
}

int vq_read_chain(struct vq *q, uint16_t head, struct vq_chain *c, struct iovec *iov,
                  unsigned max_iov)
{
    if (q->broken)
        return -EIO;
    if (q->l.packed)
        return -ENOTSUP;
    if (head >= q->l.num)
        return vq__fail(q, "inflight head %u out of range (%u)", head, q->l.num);
    struct vq__walk w = {.iov = iov, .max_iov = max_iov};
    int rc = walk_split(q, head, &w);
    if (rc < 0)
        return rc;
    vq__walk_finish(&w, c);
    c->id = head;
    c->desc_count = 1;
    return 0;
}

int vq_pop(struct vq *q, struct vq_chain *chains, unsigned max_chains, struct iovec *iov,
           unsigned max_iov)
{
    if (q->broken)
        return -EIO;
    if (q->l.packed)
        return vq__packed_pop(q, chains, max_chains, iov, max_iov);
    return pop_split(q, chains, max_chains, iov, max_iov);
}

void vq_unpop(struct vq *q, const struct vq_chain *chains, unsigned n)
{
    if (q->broken || n == 0)
        return;
    if (!q->l.packed) {
        q->last_avail_idx = (uint16_t)(q->last_avail_idx - n);
    } else {
        for (unsigned i = 0; i < n; i++) {
            uint16_t back = chains[i].desc_count;
            if (q->next_avail >= back) {
                q->next_avail = (uint16_t)(q->next_avail - back);
            } else {
                q->next_avail = (uint16_t)(q->next_avail + q->l.num - back);
                q->avail_wrap = !q->avail_wrap;
            }
        }
    }
    q->stat_pops -= n;
}

void vq_push(struct vq *q, const struct vq_used *used, unsigned n)
{
    if (n == 0 || q->broken)
        return;
    if (q->l.packed) {
        vq__packed_push(q, used, n);
        return;
    }
    struct virtq_used *u = used_ring(q);
    for (unsigned i = 0; i < n; i++) {
        struct virtq_used_elem *e = &u->ring[(uint16_t)(q->used_idx + i) & (q->l.num - 1)];
        __atomic_store_n(&e->id, used[i].id, __ATOMIC_RELAXED);
        __atomic_store_n(&e->len, used[i].len, __ATOMIC_RELAXED);
    }
    q->used_idx = (uint16_t)(q->used_idx + n);
    /* Release: the entries (and the data written into the buffers) are
     * visible before the driver sees the new index. */
    vq__store16_release(&u->idx, q->used_idx);
    q->stat_pushes += n;
}

static bool split_need_notify(struct vq *q)
{
    /* The used index store must be visible before we read what the driver
     * asked for, or we could miss a request made in between. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!q->event_idx)
        return !(vq__load16(&avail_ring(q)->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    uint16_t old = q->signalled_used, new_idx = q->used_idx;
    bool valid = q->signalled_used_valid;
    q->signalled_used = new_idx;
    q->signalled_used_valid = true;
    if (!valid)
        return true;
    return virtq_need_event(vq__load16(used_event(q)), new_idx, old);
}

bool vq_notify(struct vq *q)
{
    if (q->broken)
        return false;
    bool need = q->l.packed ? vq__packed_need_notify(q) : split_need_notify(q);
    if (need)
        vq__signal(q);
    return need;
}

bool vq_has_avail(struct vq *q)
{
    if (q->broken)
        return false;
    if (q->l.packed)
        return vq__packed_has_avail(q);
    return vq__load16_acquire(&avail_ring(q)->idx) != q->last_avail_idx;
}

bool vq_enable_kicks(struct vq *q, bool enable)
{
    if (q->broken)
        return false;
    if (q->l.packed)
        return vq__packed_enable_kicks(q, enable);
    if (q->event_idx) {
        /* Kick me once you publish past what I have consumed. There is no
         * way to disable with EVENT_IDX: leaving the event index behind
         * makes kicks rare. */
        if (enable)
            vq__store16(avail_event(q), q->last_avail_idx);
    } else {
        vq__store16(&used_ring(q)->flags, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
    }
    if (!enable)
        return false;
    /* Our store must be visible before we look for buffers the driver added
     * without kicking (it read the old flags). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return vq__load16_acquire(&avail_ring(q)->idx) != q->last_avail_idx;
}

uint32_t vq_get_base(const struct vq *q)
{
    if (q->l.packed)
        return (uint32_t)q->next_avail | (uint32_t)q->avail_wrap << 15 |
               (uint32_t)q->next_used << 16 | (uint32_t)q->used_wrap << 31;
    return q->last_avail_idx;
}
