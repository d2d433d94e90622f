/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost_blk.h — vhost-user-blk target: serves a bdev to QEMU as a
 * virtio-blk device (-device vhost-user-blk-pci), on lib/virtio's backend.
 *
 * The vhost-user connection lives on the control reactor; each virtqueue
 * is served by a worker reactor (queue i on worker i % n_workers) with its
 * own bdev channel; request data moves between the bdev and guest memory
 * with no copy. Config space: capacity, blk_size, seg_max, num_queues,
 * discard and write-zeroes limits; requests IN, OUT (with FUA semantics
 * when the guest has no write cache), FLUSH, DISCARD, WRITE_ZEROES,
 * GET_ID; read-only exports. Inflight tracking (GET/SET_INFLIGHT_FD): a
 * target restarted under a running guest completes every request the guest
 * submitted. A bdev resize is announced to the guest (config change).
 *
 * Call every function on @ctrl's thread.
 */
#ifndef KK_VHOST_BLK_H
#define KK_VHOST_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kk_reactor.h"

struct vblk_target;

struct vblk_opts {
    const char *path;          /* vhost-user socket */
    bool client;               /* connect (and reconnect) instead of listening */
    const char *bdev;          /* bdev name (opened while exported) */
    uint16_t num_queues;       /* 1..256; 0: one per worker (at most 64) */
    uint16_t queue_size;       /* largest ring accepted (1..32768); 0: 256 */
    bool read_only;
    const char *serial;        /* GET_ID answer (up to 20 bytes); NULL: the bdev name */
};

/*
 * Open bdev @opts->bdev, open one bdev channel per queue on its worker
 * (waiting for each worker), and listen on (or connect to) the socket.
 * @workers must be running reactors other than @ctrl: the control thread
 * waits on them (queue hand-over, stop, channel open/close), never the
 * reverse. Queue i is served by workers[i % n_workers].
 * Returns 0 and *out, or -EINVAL (options; a worker that is @ctrl; a bdev
 * block size virtio-blk cannot express), -ENOENT (no such bdev), -EROFS
 * (a writable export of a read-only bdev), -EIO (a channel did not open),
 * -ENOMEM, or vhu_dev_create()'s errors (-EADDRINUSE, ...).
 * A resize of the bdev must happen on @ctrl's thread (kvmkit-blkd's RPC).
 */
int vblk_target_create(struct kk_reactor *ctrl, struct kk_reactor *const *workers,
                       unsigned n_workers, const struct vblk_opts *opts,
                       struct vblk_target **out);
/* Disconnect (waiting for in-flight requests), close the channels and the
 * bdev, free. Accepts NULL. */
void vblk_target_destroy(struct vblk_target *t);

/* Connection, queues and counters as JSON (new reference). */
json_t *vblk_target_to_json(const struct vblk_target *t);

#endif /* KK_VHOST_BLK_H */
