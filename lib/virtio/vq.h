/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vq.h — the device side of a virtqueue (split or packed), zero copy.
 *
 * A device pops descriptor chains the driver (the guest) made available,
 * as iovecs pointing straight into guest memory, works on them, and pushes
 * completions back. Everything the guest wrote is untrusted:
 *
 *  - ring indexes and descriptor indexes are bounds-checked;
 *  - chains are bounded (never longer than the queue or indirect table;
 *    a loop therefore ends as an error);
 *  - every [addr, addr + len) must lie in guest memory; a buffer crossing
 *    regions becomes several iovecs;
 *  - device-readable descriptors must precede device-writable ones;
 *  - indirect tables: length a multiple of 16, not empty, not nested, not
 *    combined with NEXT, and only if VIRTIO_RING_F_INDIRECT_DESC was
 *    negotiated.
 *
 * A violation makes vq_pop() return a negative errno and marks the queue
 * broken (vq_broken_reason() says why); a broken queue pops nothing more.
 * The owner then marks the device broken and disconnects the frontend.
 *
 * Bursts: vq_pop() returns up to N chains per call; vq_push() publishes up
 * to N completions with one index update; vq_notify() signals the driver
 * (call eventfd) only when the driver asked for it (EVENT_IDX or flags).
 *
 * Threads: a queue is used by one thread at a time (its reactor).
 */
#ifndef KK_VQ_H
#define KK_VQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio_spec.h"
#include "vq_mem.h"

/* A popped descriptor chain. */
struct vq_chain {
    uint16_t id;           /* head index (split) or buffer id (packed) */
    uint16_t desc_count;   /* descriptors it used (packed rings advance by it) */
    uint16_t n_readable;   /* iov[0 .. n_readable): device reads (driver's data) */
    uint16_t n_writable;   /* iov[n_readable .. +n_writable): device writes */
    uint32_t readable_len; /* bytes */
    uint32_t writable_len;
    struct iovec *iov;     /* points into the caller's iovec array */
};

/* A completion: the chain's id and the bytes the device wrote into it. */
struct vq_used {
    uint16_t id;
    uint16_t desc_count;   /* copy from the chain (packed rings need it) */
    uint32_t len;
};

/* Where the rings live, as guest addresses already translated to host. */
struct vq_layout {
    uint16_t num;         /* queue size: power of two (split), <= 32768 */
    bool packed;
    void *desc;           /* descriptor table / packed ring */
    void *avail;          /* split: available ring; packed: driver event struct */
    void *used;           /* split: used ring; packed: device event struct */
};

struct vq {
    struct vq_layout l;
    const struct vq_mem *mem;
    bool event_idx;       /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool indirect;        /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    bool broken;
    char why[128];

    /* split */
    uint16_t last_avail_idx;  /* next avail ring entry to read */
    uint16_t used_idx;        /* next used ring entry to write */
    /* packed */
    uint16_t next_avail;      /* next descriptor to look at */
    bool avail_wrap;          /* driver's wrap counter we expect */
    uint16_t next_used;
    bool used_wrap;

    /* EVENT_IDX bookkeeping for interrupts */
    uint16_t signalled_used;
    bool signalled_used_valid;
    uint32_t pushed_since_signal; /* packed: completions since the last decision */

    int call_fd;              /* -1: no interrupts */
    uint64_t stat_pops, stat_pushes, stat_notifies;

    const struct vq_mem_region *hot; /* region of the last buffer (fast path) */
    void *bounce;             /* copy of an indirect table crossing regions */
    uint32_t bounce_len;
};

/*
 * Check a layout against guest memory and initialise @q (not popping yet).
 * @avail_idx / @wrap: where to resume (vhost-user SET_VRING_BASE): for a
 * split ring the next avail index; for a packed ring the next descriptor
 * index with the wrap counter in bit 15. Returns 0 or -EINVAL.
 */
int vq_init(struct vq *q, const struct vq_layout *l, const struct vq_mem *mem, uint64_t features,
            uint32_t base);

/* Free what vq_init() allocated. */
void vq_fini(struct vq *q);

/* Switch to a new memory table (ring pointers given again in @l). */
int vq_set_mem(struct vq *q, const struct vq_layout *l, const struct vq_mem *mem);

/*
 * Pop up to @max_chains chains, their iovecs appended to @iov (room for
 * @max_iov). Stops early, leaving a chain available, when its iovecs would
 * not fit. Returns the number popped (0: none available), or
 *   -ENOBUFS   not even one chain fits in @max_iov iovecs;
 *   -EIO       the queue is broken (now or before): see vq_broken_reason().
 */
int vq_pop(struct vq *q, struct vq_chain *chains, unsigned max_chains, struct iovec *iov,
           unsigned max_iov);

/*
 * Split rings: walk the chain whose head is @head again (for requests an
 * earlier backend popped and never completed). Returns 0 with @c filled,
 * -ENOBUFS, or -EIO (queue broken).
 */
int vq_read_chain(struct vq *q, uint16_t head, struct vq_chain *c, struct iovec *iov,
                  unsigned max_iov);

/*
 * Packed rings: walk a buffer from a copy of its @n ring descriptors (the
 * ring slots may have been reused since; inflight tracking keeps copies).
 * The copy is checked like the ring: it must end exactly at its last
 * descriptor. Returns 0 with @c filled, -ENOBUFS, or -EIO (queue broken).
 */
int vq_read_packed_descs(struct vq *q, const struct virtq_packed_desc *descs, uint16_t n,
                         struct vq_chain *c, struct iovec *iov, unsigned max_iov);

/*
 * Give back the @n chains popped last (the most recent vq_pop() results,
 * not yet pushed): the device will pop them again. For a device that took
 * buffers it turns out it cannot fill (a receive queue running out midway
 * through a packet that needs several). Not with inflight tracking.
 */
void vq_unpop(struct vq *q, const struct vq_chain *chains, unsigned n);

/* Publish @n completions in one update of the used index. */
void vq_push(struct vq *q, const struct vq_used *used, unsigned n);

/*
 * After vq_push(): signal the driver through call_fd if it wants it.
 * Returns true if it was signalled.
 */
bool vq_notify(struct vq *q);

/*
 * Ask the driver to kick (enable) or not (disable) when it adds buffers.
 * When enabling, returns true if buffers are already available (the caller
 * must then poll once more instead of sleeping): the race between the
 * driver's last check and our enabling is closed here.
 */
bool vq_enable_kicks(struct vq *q, bool enable);

/* True if the driver has made buffers available that are not popped. */
bool vq_has_avail(struct vq *q);

/* The resume point for GET_VRING_BASE (same encoding as vq_init's @base). */
uint32_t vq_get_base(const struct vq *q);

static inline bool vq_is_broken(const struct vq *q) { return q->broken; }
static inline const char *vq_broken_reason(const struct vq *q) { return q->why; }

#endif /* KK_VQ_H */
