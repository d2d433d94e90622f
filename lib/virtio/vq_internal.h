/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the split and packed virtqueue code; not public. */
#ifndef KK_VQ_INTERNAL_H
#define KK_VQ_INTERNAL_H

#include "kk_common.h"
#include "kk_log.h"
#include "vq.h"

KK_LOG_COMPONENT_DECLARE(virtio_log);

/* Mark the queue broken with a reason; returns -EIO. */
int vq__fail(struct vq *q, const char *fmt, ...) KK_PRINTF(2, 3);

/* Accumulates one chain's iovecs and lengths while descriptors are walked. */
struct vq__walk {
    struct iovec *iov;
    unsigned max_iov;
    unsigned n_iov;
    unsigned n_readable;
    uint64_t readable_len;
    uint64_t writable_len;
    bool seen_writable;
};

/* The general case of vq__walk_add() (vq.c). */
int vq__walk_add_slow(struct vq *q, struct vq__walk *w, uint64_t addr, uint32_t len,
                      bool writable);

/*
 * Add one descriptor's buffer. Returns 0, -ENOBUFS (out of iovecs: retry
 * later, queue not broken) or -EIO (queue now broken). Inline fast path:
 * a buffer inside the region of the previous one, with order and totals
 * already fine.
 */
static KK_ALWAYS_INLINE int vq__walk_add(struct vq *q, struct vq__walk *w, uint64_t addr,
                                         uint32_t len, bool writable)
{
    const struct vq_mem_region *r = q->hot;
    if (kk_likely(r && len && addr >= r->desc.gpa && addr - r->desc.gpa < r->desc.size &&
                  len <= r->desc.size - (addr - r->desc.gpa) && w->n_iov < w->max_iov &&
                  (writable || !w->seen_writable) && w->readable_len + len <= UINT32_MAX &&
                  w->writable_len + len <= UINT32_MAX)) {
        if (writable) {
            w->seen_writable = true;
            w->writable_len += len;
        } else {
            w->readable_len += len;
            w->n_readable++;
        }
        w->iov[w->n_iov].iov_base = r->hva + (addr - r->desc.gpa);
        w->iov[w->n_iov].iov_len = len;
        w->n_iov++;
        return 0;
    }
    return vq__walk_add_slow(q, w, addr, len, writable);
}

/*
 * Host pointer to an indirect table of @len bytes at @addr: in place when
 * it lies within one region, else copied to the queue's bounce buffer.
 * NULL (queue broken) when it is not guest memory.
 */
const void *vq__indirect_table(struct vq *q, uint64_t addr, uint32_t len);

/* Finish a chain from a walk. */
static inline void vq__walk_finish(const struct vq__walk *w, struct vq_chain *c)
{
    c->iov = w->iov;
    c->n_readable = (uint16_t)w->n_readable;
    c->n_writable = (uint16_t)(w->n_iov - w->n_readable);
    c->readable_len = (uint32_t)w->readable_len;
    c->writable_len = (uint32_t)w->writable_len;
}

/* Signal the driver. */
void vq__signal(struct vq *q);

/* Packed ring entry points (vq_packed.c). */
int vq__packed_init(struct vq *q, uint32_t base);
int vq__packed_pop(struct vq *q, struct vq_chain *chains, unsigned max_chains, struct iovec *iov,
                   unsigned max_iov);
void vq__packed_push(struct vq *q, const struct vq_used *used, unsigned n);
bool vq__packed_need_notify(struct vq *q);
bool vq__packed_enable_kicks(struct vq *q, bool enable);
bool vq__packed_has_avail(struct vq *q);

/* Guest-shared 16-bit fields: single loads and stores, never re-read. */
static inline uint16_t vq__load16(const uint16_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline uint16_t vq__load16_acquire(const uint16_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline void vq__store16(uint16_t *p, uint16_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
static inline void vq__store16_release(uint16_t *p, uint16_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

#endif /* KK_VQ_INTERNAL_H */
