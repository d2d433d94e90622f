/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhu.h — the vhost-user backend: a virtio device served to QEMU (or any
 * vhost-user frontend) over a Unix socket, with the guest's memory mapped
 * into this process.
 *
 * A vhu_dev listens on (server mode) or connects to (client mode, with
 * reconnection) a socket, negotiates features with the frontend, maps the
 * memory regions it shares, and sets up the virtqueues it describes. The
 * device type (net, blk, the test responder) plugs in through
 * struct vhu_dev_ops: it is told when a queue starts (rings mapped, kick
 * descriptor known, queue enabled) and stops, and serves the config space.
 *
 * Everything a frontend sends is validated (vhu_msg_check(), region
 * geometry in vq_mem, ring placement against the memory table, queue
 * indexes against the device's queue count, sizes against the limits). A
 * bad message gets an error reply where the protocol has one and the
 * connection is closed; a bad descriptor from the guest breaks the queue
 * (vq.h) and the device drops the connection (vhu_dev_fail()). Neither
 * takes down the process or other devices; in server mode the device
 * waits for the next connection, in client mode it reconnects.
 *
 * Supported: split and packed rings, indirect descriptors, EVENT_IDX,
 * multiqueue (GET_QUEUE_NUM), REPLY_ACK, GET/SET_CONFIG, CONFIGURE_MEM_SLOTS
 * (ADD/REM_MEM_REG), GET/SET_INFLIGHT_FD (split and packed rings), SET_STATUS /
 * GET_STATUS, RESET_DEVICE, SET_LOG_BASE/SET_LOG_FD with dirty-page logging,
 * and the backend request channel (BACKEND_REQ, SET_BACKEND_REQ_FD) for
 * config-change notifications when the device offers it.
 *
 * Threads: a device and all its queues live on one reactor; every callback
 * runs there. Create and destroy it on that reactor's thread (or before
 * the reactor runs).
 */
#ifndef KK_VHU_H
#define KK_VHU_H

#include <stdbool.h>
#include <stdint.h>

#include "kk_reactor.h"
#include "vhu_msg.h"
#include "vq.h"

struct vhu_dev;

/*
 * Inflight regions (vhost-user "Inflight I/O tracking"): one per queue in
 * the area the backend hands out with GET_INFLIGHT_FD; the frontend keeps
 * it across backend restarts. The layouts are the ones the specification
 * describes. Everything in them is re-validated when a queue starts.
 */

/* Split rings: one entry per descriptor head. */
struct vhu_inflight_desc {
    uint8_t inflight;
    uint8_t padding[5];
    uint16_t next;
    uint64_t counter;
};

struct vhu_inflight_region {
    uint64_t features;
    uint16_t version;
    uint16_t desc_num;
    uint16_t last_batch_head;
    uint16_t used_idx;
    struct vhu_inflight_desc desc[];
};

/* Packed rings: copies of the ring descriptors of every buffer in flight
 * (ring slots are reused once any buffer completes), kept in a free list. */
struct vhu_inflight_packed_desc {
    uint8_t inflight;   /* head entry: the buffer is in flight */
    uint8_t padding;
    uint16_t next;      /* next entry of the buffer, or of the free list */
    uint16_t last;      /* head entry: the buffer's last entry */
    uint16_t num;       /* head entry: the buffer's descriptor count */
    uint64_t counter;   /* head entry: submission order */
    uint16_t id;        /* copy of the ring descriptor */
    uint16_t flags;
    uint32_t len;
    uint64_t addr;
};

struct vhu_inflight_packed_region {
    uint64_t features;
    uint16_t version;
    uint16_t desc_num;
    uint16_t free_head;
    uint16_t old_free_head;         /* the old_* fields: as of the last */
    uint16_t used_idx;              /* completed update; a crash in the */
    uint16_t old_used_idx;          /* middle of one rolls back to them */
    uint8_t used_wrap_counter;
    uint8_t old_used_wrap_counter;
    uint8_t padding[7];
    struct vhu_inflight_packed_desc desc[];
};

struct vhu_inflight_track;

struct vhu_queue {
    struct vhu_dev *dev;
    uint16_t index;
    struct vq vq;              /* valid while started */
    bool started;              /* the device may process it */
    bool enabled;              /* SET_VRING_ENABLE */
    bool addr_set;
    uint16_t num;              /* SET_VRING_NUM */
    uint32_t base;             /* SET_VRING_BASE */
    struct vhu_vring_addr addr;
    int kick_fd;               /* -1: none yet */
    bool kick_polling;         /* NOFD: the frontend will not kick */
    int call_fd;
    int err_fd;
    void *inflight;            /* this queue's region (split or packed layout), or NULL */
    struct vhu_inflight_track *inflight_track; /* private state while started */
    uint64_t inflight_counter;
    void *priv;                /* for the device type */
};

struct vhu_dev_ops {
    /* The queue is ready: begin processing it (register pollers, ...). */
    void (*queue_start)(void *ctx, struct vhu_queue *q);
    /* Stop touching the queue before returning. */
    void (*queue_stop)(void *ctx, struct vhu_queue *q);
    /* Read or write the device config space; 0 or a negative errno. */
    int (*get_config)(void *ctx, uint8_t *buf, uint32_t offset, uint32_t len);
    int (*set_config)(void *ctx, const uint8_t *buf, uint32_t offset, uint32_t len,
                      uint32_t flags);
    /* Features were negotiated (SET_FEATURES); a negative errno refuses. */
    int (*features_set)(void *ctx, uint64_t features);
    void (*connected)(void *ctx);
    /* The frontend went away; all queues are already stopped. */
    void (*disconnected)(void *ctx);
};

struct vhu_dev_opts {
    const char *path;          /* the vhost-user socket */
    bool client;               /* connect to path (default: listen on it) */
    uint32_t reconnect_ms;     /* client mode: retry interval (default 1000) */
    const char *name;          /* for logs (default: the path) */
    uint64_t features;         /* device-specific virtio features to offer */
    uint64_t protocol_features;/* device-specific protocol features (CONFIG, MTU,
                                  BACKEND_REQ for vhu_dev_config_changed()) */
    uint16_t num_queues;       /* virtqueues (1..VHU_MAX_QUEUES) */
    uint16_t queue_num_reply;  /* GET_QUEUE_NUM answer (default num_queues) */
    uint16_t max_queue_size;   /* default 1024 */
    const struct vhu_dev_ops *ops;
    void *ctx;
};

/*
 * Create a device and start listening (or connecting). Returns 0 and *out,
 * or -EINVAL (options), -EADDRINUSE (a live listener on path), -ENOMEM, or
 * an errno from the socket calls.
 */
int vhu_dev_create(struct kk_reactor *r, const struct vhu_dev_opts *opts, struct vhu_dev **out);

/* Disconnect, stop every queue and free. Accepts NULL. */
void vhu_dev_destroy(struct vhu_dev *d);

/*
 * Give up on the current connection because of a guest or frontend fault
 * (@why is logged). The disconnect happens on the next reactor turn, so it
 * is safe to call from a queue poller.
 */
void vhu_dev_fail(struct vhu_dev *d, const char *why);

/*
 * Tell the frontend the device config space changed (a resized disk): send
 * VHOST_USER_BACKEND_CONFIG_CHANGE_MSG on the backend request channel; the
 * frontend re-reads the config space (GET_CONFIG) and interrupts the guest.
 * Needs VHU_PROTOCOL_F_BACKEND_REQ and VHU_PROTOCOL_F_CONFIG negotiated (the
 * device offers them in opts.protocol_features) and the channel given
 * (SET_BACKEND_REQ_FD). No reply is asked for, so the call never waits on
 * the frontend for more than the socket's 200 ms send timeout.
 * Returns 0, -ENOTCONN (no frontend), -ENOTSUP (not negotiated, or no
 * channel), or the send error (the channel is then closed; the vhost-user
 * connection stays). Call on the device's reactor thread.
 */
int vhu_dev_config_changed(struct vhu_dev *d);

bool vhu_dev_connected(const struct vhu_dev *d);
uint64_t vhu_dev_features(const struct vhu_dev *d);
struct vhu_queue *vhu_dev_queue(struct vhu_dev *d, uint16_t index);
const char *vhu_dev_name(const struct vhu_dev *d);
struct kk_reactor *vhu_dev_reactor(const struct vhu_dev *d);
const struct vq_mem *vhu_dev_mem(const struct vhu_dev *d);

/* Counters for status and tests. */
struct vhu_dev_stats {
    uint64_t connections;
    uint64_t disconnects;
    uint64_t messages;
    uint64_t bad_messages;
    uint64_t queue_faults;
};
void vhu_dev_get_stats(const struct vhu_dev *d, struct vhu_dev_stats *out);

/* ---- queue helpers for device types ---- */

/*
 * Pop / push through the inflight region when the frontend shared one, so
 * a restarted backend can resume every request the guest submitted.
 * Otherwise the same as vq_pop()/vq_push(). After vhu_queue_pop() fails
 * with -EIO the device should call vhu_dev_fail().
 */
int vhu_queue_pop(struct vhu_queue *q, struct vq_chain *chains, unsigned max_chains,
                  struct iovec *iov, unsigned max_iov);
void vhu_queue_push(struct vhu_queue *q, const struct vq_used *used, unsigned n);

/*
 * Chains the previous backend popped but never completed (in the order the
 * guest submitted them): re-read from the descriptor table (split) or from
 * the descriptor copies in the inflight region (packed). Call from
 * queue_start, before the first vhu_queue_pop(); each is handed out once
 * (call again while it returns @max_chains). Returns the number, or a
 * negative errno as vq_pop().
 */
int vhu_queue_resubmit(struct vhu_queue *q, struct vq_chain *chains, unsigned max_chains,
                       struct iovec *iov, unsigned max_iov);

/* Signal the guest if it wants it (and log the used ring when migrating). */
void vhu_queue_notify(struct vhu_queue *q);

/* Mark the guest pages under @len written bytes of @iov dirty (migration). */
void vhu_queue_log_write(struct vhu_queue *q, const struct iovec *iov, unsigned n_iov,
                         uint32_t len);

#endif /* KK_VHU_H */
