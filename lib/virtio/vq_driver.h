/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vq_driver.h — the driver side of a virtqueue (split or packed): what a
 * guest driver, or a vhost-user frontend such as DPDK's virtio-user, does.
 *
 * The caller owns the memory holding the rings (host pointer @ring_hva,
 * seen by the device at guest-physical address @ring_gpa) and the memory
 * of every buffer (given as guest-physical addresses). The queue keeps its
 * own bookkeeping (free descriptors, buffer ids, cookies) in private memory
 * and never trusts what the device writes into the shared rings.
 *
 * Life of a buffer:
 *
 *     vqd_add()        descriptors written, NOT yet visible to the device
 *     vqd_publish()    everything added becomes visible at once (one
 *                      release store); says whether to kick the device
 *     ... the device pops it, works, pushes a completion ...
 *     vqd_get_used()   returns the buffer's cookie and the bytes written
 *
 * Split ring: descriptors come from a free list; the head index goes into
 * the available ring; avail->idx is stored with release by vqd_publish().
 * Packed ring: a buffer occupies consecutive ring slots from the driver's
 * position, each carrying its buffer id and AVAIL = wrap counter,
 * USED = !wrap counter. The head flags of the first buffer added since the
 * last publish are held back and stored (with release) by vqd_publish(),
 * so the device, which walks the ring in order, sees the whole batch at
 * once. The device returns a buffer by writing one used descriptor (id,
 * len) at its own used position and moving that position by the number of
 * slots the buffer had; the queue remembers that number per buffer id.
 *
 * Notifications:
 *  - kicks (driver -> device): vqd_publish() returns true when the device
 *    asked for one, from used->flags NO_NOTIFY or avail_event (EVENT_IDX)
 *    for a split ring, from the device event suppression structure for a
 *    packed ring. The caller then writes the kick eventfd (or doorbell).
 *  - interrupts (device -> driver): vqd_enable_interrupts(). Interrupts
 *    start enabled (zeroed rings mean "notify me"). The sleep pattern is:
 *
 *        while (vqd_get_used(q, &c, &len) == 1) handle(c, len);
 *        if (vqd_enable_interrupts(q, true)) continue;   // raced: poll again
 *        wait for the call eventfd;
 *
 *    With EVENT_IDX, vqd_get_used() refreshes the "interrupt me after"
 *    index (with a full fence) when it finds the ring empty, so a caller
 *    that keeps interrupts enabled and drains to empty is never left
 *    without its interrupt.
 *
 * A device that writes something impossible (an id out of range, an id not
 * in flight or not yet published, a used index moving past what is in
 * flight) marks the queue broken: every later call fails with -EIO (or
 * returns false) and vqd_broken_reason() says why. The owner resets the
 * device.
 *
 * Threads: a queue is used by one thread at a time (the one that owns it);
 * nothing here locks. The device may run concurrently in another thread or
 * process: the memory ordering on the shared rings is done here.
 */
#ifndef KK_VQ_DRIVER_H
#define KK_VQ_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_spec.h"

/* One descriptor of a buffer: guest-physical address, length, direction. */
struct vqd_buf {
    uint64_t gpa;
    uint32_t len;
    bool writable; /* device writes (else reads); readable ones come first */
};

/* Private per-descriptor (split) or per-buffer-id (packed) bookkeeping. */
struct vqd_slot;

struct vqd {
    /* Public, read-only after vqd_init(). */
    uint16_t num;          /* queue size */
    bool packed;           /* packed ring (else split) */
    bool event_idx;        /* VIRTIO_RING_F_EVENT_IDX honoured */
    bool indirect;         /* VIRTIO_RING_F_INDIRECT_DESC honoured */
    bool broken;           /* the device wrote something impossible */
    /* split: descriptor table, available ring, used ring;
     * packed: descriptor ring, driver event, device event. */
    uint64_t desc_gpa, driver_gpa, device_gpa;
    void *desc_hva, *driver_hva, *device_hva;

    /* Private below: use the functions. */
    struct vqd_slot *slots;     /* [num] */
    uint32_t inflight;          /* buffers added and not yet returned */
    uint16_t free_count;        /* free descriptors (split) / ring slots (packed) */
    uint16_t free_head;         /* split: first free descriptor; packed: first free id */
    uint64_t add_serial;        /* buffers ever added */
    uint64_t published_serial;  /* add_serial at the last publish */
    uint8_t irq_mode;           /* VQD__IRQ_* */
    uint16_t irq_event;         /* last used_event / off_wrap written */

    /* split */
    uint16_t avail_idx;         /* next available ring entry (added) */
    uint16_t published_idx;     /* avail->idx as last stored */
    uint16_t last_used_idx;     /* next used ring entry to read */
    uint16_t used_idx_seen;     /* used->idx as last loaded */

    /* packed */
    uint16_t next_avail;        /* next ring slot to fill */
    bool avail_wrap;            /* its wrap counter */
    uint16_t next_used;         /* next ring slot to read a completion at */
    bool used_wrap;
    uint16_t batch_head;        /* slot whose flags vqd_publish() stores */
    uint16_t batch_head_flags;
    uint16_t batch_descs;       /* slots filled since the last publish */

    char why[96];               /* reason the queue is broken */
};

/*
 * Bytes of ring memory for a queue of @num entries: the three areas laid
 * out contiguously from a 16-byte aligned start, each at a 64-byte aligned
 * offset (split: descriptor table 16 * num, available ring 6 + 2 * num,
 * used ring 6 + 8 * num; packed: descriptor ring 16 * num, two 4-byte
 * event structures). Returns 0 when @num is invalid: 0, above 32768, or
 * (split) not a power of two.
 * Any thread.
 */
size_t vqd_ring_bytes(uint16_t num, bool packed);

/*
 * Initialise @q over vqd_ring_bytes(@num, @packed) bytes of caller memory
 * at @ring_hva (the device sees them at @ring_gpa), and zero that memory.
 * @features: the negotiated feature bits; VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)
 * and VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) are honoured, others ignored
 * (the caller decides @packed from VIRTIO_F_RING_PACKED).
 * The ring memory must outlive the queue; it is not freed by vqd_fini().
 * Returns 0, or
 *   -EINVAL  @q or @ring_hva NULL, @num invalid (see vqd_ring_bytes()),
 *            @ring_hva or @ring_gpa not 16-byte aligned, or the ring's
 *            guest-physical range wraps around 2^64;
 *   -ENOMEM  no memory for the bookkeeping.
 * On failure @q is left so that vqd_fini() is harmless.
 * Thread: the queue's owner.
 */
int vqd_init(struct vqd *q, void *ring_hva, uint64_t ring_gpa, uint16_t num, bool packed,
             uint64_t features);

/*
 * Free the bookkeeping. Buffers still in flight are forgotten (their
 * cookies are not returned). Accepts NULL and a queue whose vqd_init()
 * failed. Thread: the queue's owner.
 */
void vqd_fini(struct vqd *q);

/*
 * The value for vhost-user SET_VRING_BASE for a freshly initialised queue:
 * split 0; packed: next avail index 0 with wrap counter 1 in bits 0-15
 * (1 << 15) and next used index 0 with wrap counter 1 in bits 16-31
 * (1 << 31). Any thread.
 */
uint32_t vqd_initial_base(const struct vqd *q);

/*
 * Add one buffer made of @n descriptors @bufs[0..n) (device-readable ones
 * first), occupying @n descriptors of the queue. @cookie (any value, NULL
 * included) is given back by vqd_get_used() when the device returns the
 * buffer. The device does not see the buffer before vqd_publish().
 * The buffers' memory must stay valid until the buffer is returned.
 * Returns 0, or
 *   -EINVAL  @n is 0 or larger than the queue, @bufs NULL, a readable
 *            descriptor follows a writable one, an [gpa, gpa + len) range
 *            wraps around 2^64, or the readable or the writable bytes add
 *            up to more than 4 GiB - 1;
 *   -ENOSPC  fewer than @n descriptors are free (see vqd_free_descs()):
 *            collect used buffers and retry; nothing was changed;
 *   -EIO     the queue is broken.
 * Thread: the queue's owner.
 */
int vqd_add(struct vqd *q, const struct vqd_buf *bufs, unsigned n, void *cookie);

/*
 * The same through an indirect descriptor table: the @n descriptors are
 * written into @table_hva (n * 16 bytes of caller memory, 16-byte aligned,
 * seen by the device at @table_gpa), and the buffer takes one descriptor
 * of the queue. The table must stay untouched until the buffer is
 * returned. Split tables are chained with NEXT; packed tables are not
 * (the device reads all n entries).
 * Returns 0, or
 *   -ENOTSUP VIRTIO_RING_F_INDIRECT_DESC was not negotiated;
 *   -EINVAL  as vqd_add(), or @table_hva NULL or misaligned, @table_gpa
 *            range wraps, @n above 32768 (the largest table devices take;
 *            real devices may accept fewer);
 *   -ENOSPC  no descriptor is free;
 *   -EIO     the queue is broken.
 * Thread: the queue's owner.
 */
int vqd_add_indirect(struct vqd *q, const struct vqd_buf *bufs, unsigned n, void *table_hva,
                     uint64_t table_gpa, void *cookie);

/*
 * Make every buffer added since the last call visible to the device, with
 * release ordering (buffer contents and descriptors before the index or
 * head flags). Returns true if the device asked to be kicked for what was
 * just published: the caller then notifies it (kick eventfd). Returns
 * false when nothing was added since the last call, when the device
 * suppressed kicks, or when the queue is broken.
 * Thread: the queue's owner.
 */
bool vqd_publish(struct vqd *q);

/*
 * Collect the next buffer the device returned, in the order the device
 * completed them (not necessarily the order they were added).
 * Returns 1 with *@cookie (the value given to vqd_add) and *@len (bytes
 * the device says it wrote, clamped to the buffer's writable length so a
 * faulty device cannot make the caller read past it), 0 when none is
 * pending, or -EIO when the queue is broken (now: the device returned an
 * id that is out of range, not in flight or not yet published, or moved
 * the used index past what is in flight; or before). Acquire ordering:
 * the device's writes into the buffer are visible on return.
 * @cookie and @len may be NULL.
 * Thread: the queue's owner.
 */
int vqd_get_used(struct vqd *q, void **cookie, uint32_t *len);

/*
 * Ask the device to interrupt (call eventfd) when it returns buffers
 * (@enable) or not. Disabling is a request: an interrupt the device had
 * already decided on may still arrive. (A split ring with EVENT_IDX has no
 * "off" flag the device honours: the "interrupt me after" index is parked
 * just behind what was collected and kept there by vqd_get_used(), where
 * the device's used index does not reach it.) With EVENT_IDX, enabling asks
 * for one interrupt at the next completion; vqd_get_used() moves that
 * request forward each time it finds the ring empty.
 * Returns, when enabling, true if used buffers are already
 * pending (the caller must poll again rather than sleep: the race with a
 * device that completed before seeing the request is closed with a full
 * fence); false otherwise, always false when disabling or broken.
 * Thread: the queue's owner.
 */
bool vqd_enable_interrupts(struct vqd *q, bool enable);

/*
 * Descriptors free for vqd_add() (split: table entries; packed: ring
 * slots). An indirect buffer takes one. Thread: the queue's owner.
 */
unsigned vqd_free_descs(const struct vqd *q);

/* Buffers added (published or not) and not yet collected. */
static inline unsigned vqd_inflight(const struct vqd *q) { return q->inflight; }

static inline bool vqd_is_broken(const struct vqd *q) { return q->broken; }
static inline const char *vqd_broken_reason(const struct vqd *q) { return q->why; }

#endif /* KK_VQ_DRIVER_H */
