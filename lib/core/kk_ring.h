/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_ring.h — lock-free, fixed-size rings of pointers.
 *
 * A ring is a bounded FIFO of void pointers shared between threads without
 * locks. Each side (producers, consumers) is either single-threaded (SP/SC:
 * plain loads and stores) or multi-threaded (MP/MC: a compare-and-swap
 * reserves slots, then the side's tail is published in reservation order).
 *
 * Design:
 *  - Four free-running 32-bit indexes: prod.head/prod.tail and
 *    cons.head/cons.tail. Heads are reservations, tails are publications.
 *    A producer may fill slots in [prod.head, cons.tail + capacity); a
 *    consumer may take slots in [cons.head, prod.tail). Indexes are masked
 *    only when a slot is addressed, so wraparound of the 32-bit counters is
 *    harmless and every slot of the capacity is usable.
 *  - The producer indexes, the consumer indexes, the read-only geometry and
 *    the slots each start on their own pair of cache lines, so the two sides
 *    do not false-share (not even through the adjacent-line prefetcher).
 *  - Each side keeps a copy of the other side's tail on its own cache line
 *    and reads the real one only when the copy shows too little room (or
 *    too few entries), which halves cross-core traffic when one side runs
 *    ahead of the other.
 *  - Memory order: publishing a tail is a release store; reading the other
 *    side's tail (or its copy, stored with release) is an acquire load. Slot contents written before a producer
 *    publishes are therefore visible to the consumer that sees the tail, and
 *    a slot is never overwritten before the consumer that read it has
 *    published its own tail.
 *
 * Naming (as in DPDK): a *bulk* call moves all n objects or none and returns
 * n or 0; a *burst* call moves as many as it can (0..n) and returns that
 * count. sp_/mp_ and sc_/mc_ name the producer/consumer mode explicitly; the
 * unprefixed calls use the mode chosen at creation (KK_RING_F_SP_ENQ,
 * KK_RING_F_SC_DEQ). Calling an sp_/sc_ function on a side that another
 * thread uses at the same time is a bug of the caller.
 *
 * Thread safety: as above; create/destroy/reset are not thread-safe.
 * All data-path functions are inline, allocation-free and never block,
 * except that an MP/MC call waits (spinning) for earlier reservations of its
 * own side to publish; a thread preempted between reserve and publish stalls
 * its side, as in every ring of this kind.
 */
#ifndef KK_RING_H
#define KK_RING_H

#include <errno.h>
#include <stdint.h>
#include <stddef.h>

#include "kk_common.h"

/* Creation flags. */
#define KK_RING_F_SP_ENQ 0x1u /* default enqueue is single-producer */
#define KK_RING_F_SC_DEQ 0x2u /* default dequeue is single-consumer */

/*
 * Alignment of a ring and distance between its index groups: two cache
 * lines, because x86 prefetchers fetch lines in adjacent pairs, so indexes
 * one line apart would still bounce between the producer's and the
 * consumer's cores.
 */
#define KK_RING_ALIGN (2 * KK_CACHE_LINE)

/* Largest capacity a ring can have. */
#define KK_RING_MAX_CAPACITY (1u << 30)

struct kk_ring_headtail {
    uint32_t head;       /* accessed with __atomic builtins */
    uint32_t tail;
    uint32_t other_tail; /* last seen tail of the other side (never ahead of it) */
};

struct kk_ring {
    /* Read-only after init. */
    uint32_t size;     /* number of slots, a power of two */
    uint32_t mask;     /* size - 1 */
    uint32_t capacity; /* usable slots, <= size */
    uint32_t flags;
    uint32_t copy_step; /* MP/MC: least advance worth updating a tail copy */
    bool allocated;    /* created by kk_ring_create (vs kk_ring_init) */

    struct kk_ring_headtail prod KK_ALIGNED(KK_RING_ALIGN);
    struct kk_ring_headtail cons KK_ALIGNED(KK_RING_ALIGN);

    void *slots[] KK_ALIGNED(KK_RING_ALIGN);
};

/*
 * Bytes needed for a ring holding @count objects (for kk_ring_init()).
 * Returns 0 if @count is 0 or above KK_RING_MAX_CAPACITY.
 */
size_t kk_ring_memsize(uint32_t count);

/*
 * Initialise a ring in caller-provided memory of kk_ring_memsize(count)
 * bytes, aligned to KK_RING_ALIGN (for example inside shared memory).
 * Capacity is exactly @count. Returns 0 or -EINVAL (bad count, flags or
 * misaligned memory).
 */
int kk_ring_init(struct kk_ring *r, uint32_t count, unsigned flags);

/*
 * Allocate and initialise a ring with capacity @count (any value from 1 to
 * KK_RING_MAX_CAPACITY; the slot array is rounded up to a power of two).
 * Returns 0 and *out, or -EINVAL / -ENOMEM.
 */
int kk_ring_create(uint32_t count, unsigned flags, struct kk_ring **out);

/* Free a ring from kk_ring_create(). Accepts NULL. Objects still inside are
 * not touched. */
void kk_ring_destroy(struct kk_ring *r);

/* Empty the ring. Not thread-safe: no other thread may use the ring. */
void kk_ring_reset(struct kk_ring *r);

/* ---- inline implementation ---------------------------------------------- */

enum kk_ring_behavior { KK_RING_BULK, KK_RING_BURST };

/*
 * Reserve up to @n slots on one side. @other_tail is the opposite side's
 * published index; @room_bias is the capacity (producers) or 0 (consumers);
 * @copy_step is how far the other tail must have moved before a multi-
 * threaded side updates its copy of it.
 * Returns the reserved count and the old head in *old_head.
 */
static KK_ALWAYS_INLINE uint32_t kk_ring__reserve(struct kk_ring_headtail *self,
                                                  const uint32_t *other_tail,
                                                  uint32_t room_bias, uint32_t copy_step,
                                                  uint32_t n, enum kk_ring_behavior behavior,
                                                  bool single, uint32_t *old_head)
{
    uint32_t head = __atomic_load_n(&self->head, __ATOMIC_RELAXED);
    for (;;) {
        /* First try the other side's tail as last seen, kept on our own
         * cache line: while it shows enough room (or entries) we need not
         * touch the other side's line at all. A stale copy only
         * underestimates; it may show negative room, hence signed. */
        uint32_t other = __atomic_load_n(&self->other_tail, __ATOMIC_ACQUIRE);
        int32_t avail = (int32_t)(room_bias + other - head);
        if (avail < (int32_t)n) {
            /* Acquire: slot contents (or slot reuse) published by the other
             * side before its tail moved are visible to us; the release
             * store passes that on to whoever reads the copy. */
            uint32_t fresh = __atomic_load_n(other_tail, __ATOMIC_ACQUIRE);
            if (single) {
                __atomic_store_n(&self->other_tail, fresh, __ATOMIC_RELEASE);
            } else if (fresh - other >= copy_step) {
                /* The copy only moves forward: a thread holding an older
                 * value must not overwrite a newer one. That keeps the
                 * copy within one capacity of our head, so the signed
                 * arithmetic above never wraps. Small steps are not worth
                 * an atomic read-modify-write: when the ring runs nearly
                 * empty (or full) the copy cannot spare us a read anyway. */
                while ((int32_t)(fresh - other) > 0 &&
                       !__atomic_compare_exchange_n(&self->other_tail, &other, fresh, true,
                                                    __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
                    ;
            }
            other = fresh;
            avail = (int32_t)(room_bias + other - head);
        }
        uint32_t take = n;
        if (kk_unlikely(avail < (int32_t)n))
            take = behavior == KK_RING_BULK || avail <= 0 ? 0 : (uint32_t)avail;
        if (kk_unlikely(take == 0)) {
            *old_head = head;
            return 0;
        }
        if (single) {
            __atomic_store_n(&self->head, head + take, __ATOMIC_RELAXED);
            *old_head = head;
            return take;
        }
        if (kk_likely(__atomic_compare_exchange_n(&self->head, &head, head + take, true,
                                                  __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))) {
            *old_head = head;
            return take;
        }
        /* head now holds the current value; retry. */
    }
}

/* Publish a reservation: wait for earlier reservations, then move the tail. */
static KK_ALWAYS_INLINE void kk_ring__publish(struct kk_ring_headtail *self, uint32_t old_head,
                                              uint32_t n, bool single)
{
    if (!single) {
        /* Acquire: the earlier reservation's slot writes must happen before
         * our release below, or a consumer that sees only our tail would
         * not be ordered after them (a plain load on x86 all the same). */
        while (kk_unlikely(__atomic_load_n(&self->tail, __ATOMIC_ACQUIRE) != old_head))
            kk_cpu_relax();
    }
    __atomic_store_n(&self->tail, old_head + n, __ATOMIC_RELEASE);
}

static KK_ALWAYS_INLINE void kk_ring__copy_in(struct kk_ring *r, uint32_t head,
                                              void *const *objs, uint32_t n)
{
    uint32_t idx = head & r->mask;
    void **slots = r->slots;
    if (kk_likely(idx + n <= r->size)) {
        __builtin_memcpy(&slots[idx], objs, (size_t)n * sizeof(void *));
    } else {
        uint32_t first = r->size - idx;
        __builtin_memcpy(&slots[idx], objs, (size_t)first * sizeof(void *));
        __builtin_memcpy(&slots[0], objs + first, (size_t)(n - first) * sizeof(void *));
    }
}

static KK_ALWAYS_INLINE void kk_ring__copy_out(const struct kk_ring *r, uint32_t head,
                                               void **objs, uint32_t n)
{
    uint32_t idx = head & r->mask;
    void *const *slots = r->slots;
    if (kk_likely(idx + n <= r->size)) {
        __builtin_memcpy(objs, &slots[idx], (size_t)n * sizeof(void *));
    } else {
        uint32_t first = r->size - idx;
        __builtin_memcpy(objs, &slots[idx], (size_t)first * sizeof(void *));
        __builtin_memcpy(objs + first, &slots[0], (size_t)(n - first) * sizeof(void *));
    }
}

static KK_ALWAYS_INLINE uint32_t kk_ring__enqueue(struct kk_ring *r, void *const *objs,
                                                  uint32_t n, enum kk_ring_behavior behavior,
                                                  bool single)
{
    uint32_t head;
    n = kk_ring__reserve(&r->prod, &r->cons.tail, r->capacity, r->copy_step, n, behavior, single,
                         &head);
    if (n == 0)
        return 0;
    kk_ring__copy_in(r, head, objs, n);
    kk_ring__publish(&r->prod, head, n, single);
    return n;
}

static KK_ALWAYS_INLINE uint32_t kk_ring__dequeue(struct kk_ring *r, void **objs, uint32_t n,
                                                  enum kk_ring_behavior behavior, bool single)
{
    uint32_t head;
    n = kk_ring__reserve(&r->cons, &r->prod.tail, 0, r->copy_step, n, behavior, single, &head);
    if (n == 0)
        return 0;
    kk_ring__copy_out(r, head, objs, n);
    kk_ring__publish(&r->cons, head, n, single);
    return n;
}

/* ---- public data-path API ------------------------------------------------ */

/* Enqueue all @n objects or none. Returns n or 0 (not enough room). */
static inline uint32_t kk_ring_sp_enqueue_bulk(struct kk_ring *r, void *const *objs, uint32_t n)
{
    return kk_ring__enqueue(r, objs, n, KK_RING_BULK, true);
}
static inline uint32_t kk_ring_mp_enqueue_bulk(struct kk_ring *r, void *const *objs, uint32_t n)
{
    return kk_ring__enqueue(r, objs, n, KK_RING_BULK, false);
}
/* Enqueue up to @n objects. Returns how many were enqueued (0..n). */
static inline uint32_t kk_ring_sp_enqueue_burst(struct kk_ring *r, void *const *objs, uint32_t n)
{
    return kk_ring__enqueue(r, objs, n, KK_RING_BURST, true);
}
static inline uint32_t kk_ring_mp_enqueue_burst(struct kk_ring *r, void *const *objs, uint32_t n)
{
    return kk_ring__enqueue(r, objs, n, KK_RING_BURST, false);
}
/* Dequeue exactly @n objects or none. Returns n or 0 (not enough objects). */
static inline uint32_t kk_ring_sc_dequeue_bulk(struct kk_ring *r, void **objs, uint32_t n)
{
    return kk_ring__dequeue(r, objs, n, KK_RING_BULK, true);
}
static inline uint32_t kk_ring_mc_dequeue_bulk(struct kk_ring *r, void **objs, uint32_t n)
{
    return kk_ring__dequeue(r, objs, n, KK_RING_BULK, false);
}
/* Dequeue up to @n objects. Returns how many were dequeued (0..n). */
static inline uint32_t kk_ring_sc_dequeue_burst(struct kk_ring *r, void **objs, uint32_t n)
{
    return kk_ring__dequeue(r, objs, n, KK_RING_BURST, true);
}
static inline uint32_t kk_ring_mc_dequeue_burst(struct kk_ring *r, void **objs, uint32_t n)
{
    return kk_ring__dequeue(r, objs, n, KK_RING_BURST, false);
}

/* Mode from the ring's creation flags. */
static inline uint32_t kk_ring_enqueue_bulk(struct kk_ring *r, void *const *objs, uint32_t n)
{
    return (r->flags & KK_RING_F_SP_ENQ) ? kk_ring_sp_enqueue_bulk(r, objs, n)
                                         : kk_ring_mp_enqueue_bulk(r, objs, n);
}
static inline uint32_t kk_ring_enqueue_burst(struct kk_ring *r, void *const *objs, uint32_t n)
{
    return (r->flags & KK_RING_F_SP_ENQ) ? kk_ring_sp_enqueue_burst(r, objs, n)
                                         : kk_ring_mp_enqueue_burst(r, objs, n);
}
static inline uint32_t kk_ring_dequeue_bulk(struct kk_ring *r, void **objs, uint32_t n)
{
    return (r->flags & KK_RING_F_SC_DEQ) ? kk_ring_sc_dequeue_bulk(r, objs, n)
                                         : kk_ring_mc_dequeue_bulk(r, objs, n);
}
static inline uint32_t kk_ring_dequeue_burst(struct kk_ring *r, void **objs, uint32_t n)
{
    return (r->flags & KK_RING_F_SC_DEQ) ? kk_ring_sc_dequeue_burst(r, objs, n)
                                         : kk_ring_mc_dequeue_burst(r, objs, n);
}

/* Single objects: 0 on success, -ENOBUFS when full / -ENOENT when empty. */
static inline int kk_ring_sp_enqueue(struct kk_ring *r, void *obj)
{
    return kk_ring_sp_enqueue_bulk(r, &obj, 1) ? 0 : -ENOBUFS;
}
static inline int kk_ring_mp_enqueue(struct kk_ring *r, void *obj)
{
    return kk_ring_mp_enqueue_bulk(r, &obj, 1) ? 0 : -ENOBUFS;
}
static inline int kk_ring_enqueue(struct kk_ring *r, void *obj)
{
    return kk_ring_enqueue_bulk(r, &obj, 1) ? 0 : -ENOBUFS;
}
static inline int kk_ring_sc_dequeue(struct kk_ring *r, void **obj)
{
    return kk_ring_sc_dequeue_bulk(r, obj, 1) ? 0 : -ENOENT;
}
static inline int kk_ring_mc_dequeue(struct kk_ring *r, void **obj)
{
    return kk_ring_mc_dequeue_bulk(r, obj, 1) ? 0 : -ENOENT;
}
static inline int kk_ring_dequeue(struct kk_ring *r, void **obj)
{
    return kk_ring_dequeue_bulk(r, obj, 1) ? 0 : -ENOENT;
}

/*
 * Number of objects in the ring. Exact when the ring is quiescent; with
 * concurrent users it is a snapshot that may already be stale.
 */
static inline uint32_t kk_ring_count(const struct kk_ring *r)
{
    /* Consumer first: the producer tail read after it can only be ahead. */
    uint32_t cons_tail = __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE);
    uint32_t prod_tail = __atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE);
    uint32_t count = prod_tail - cons_tail;
    return count > r->capacity ? r->capacity : count;
}
static inline uint32_t kk_ring_free_count(const struct kk_ring *r)
{
    return r->capacity - kk_ring_count(r);
}
static inline bool kk_ring_empty(const struct kk_ring *r)
{
    return kk_ring_count(r) == 0;
}
static inline bool kk_ring_full(const struct kk_ring *r)
{
    return kk_ring_count(r) == r->capacity;
}
static inline uint32_t kk_ring_capacity(const struct kk_ring *r)
{
    return r->capacity;
}

#endif /* KK_RING_H */
