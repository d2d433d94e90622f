/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhu_frontend.h — a vhost-user frontend (what QEMU, or DPDK's virtio-user,
 * is to a backend): it connects to a backend's socket, shares a memfd of
 * its own memory, negotiates features and sets up the backend's queues,
 * then drives them with the driver side of virtqueues (vq_driver.h).
 *
 * Used by tests (to drive kvmkit's backends and others like DPDK's vhost
 * PMD without a VM, including with deliberately malformed messages) and by
 * benchmarks. Calls block; one thread uses a frontend at a time.
 */
#ifndef KK_VHU_FRONTEND_H
#define KK_VHU_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu_msg.h"
#include "vq_driver.h"

struct vhu_front_opts {
    const char *path;          /* the backend's socket */
    uint16_t num_queues;       /* queues to set up (1..VHU_MAX_QUEUES); 0: as many
                                  as the backend has (GET_QUEUE_NUM; 1 without MQ) */
    uint16_t queue_size;       /* entries per queue (default 256) */
    bool packed;               /* request VIRTIO_F_RING_PACKED */
    bool event_idx;            /* request VIRTIO_RING_F_EVENT_IDX */
    bool indirect;             /* request VIRTIO_RING_F_INDIRECT_DESC */
    uint64_t device_features;  /* device-specific bits to request if offered */
    size_t mem_size;           /* shared memory (default 64 MiB) */
    bool hugepages;            /* back it with 2 MiB huge pages (hugetlb; the
                                  size is rounded up to 2 MiB); -ENOMEM when
                                  too few are free */
    int timeout_ms;            /* per reply (default 5000) */
    uint64_t protocol_features;/* extra protocol features to request if offered */
    bool inflight;             /* ask for an inflight area (GET_INFLIGHT_FD) */
    bool backend_req;          /* open the backend request channel if offered
                                  (BACKEND_REQ, SET_BACKEND_REQ_FD) */
};

struct vhu_front;

/*
 * Connect and bring every queue up (features, memory table, vrings,
 * kick/call eventfds, enable). Returns 0 and *out, or a negative errno:
 * -ECONNREFUSED / -ENOENT (no backend), -ENOTSUP (a requested ring
 * feature not offered), -EPROTO (bad reply), -ETIMEDOUT.
 */
int vhu_front_connect(const struct vhu_front_opts *opts, struct vhu_front **out);

/*
 * Connect and negotiate nothing: for tests that speak the protocol by
 * hand with vhu_front_send()/vhu_front_recv(). The shared memory is
 * allocated (vhu_front_mem_fd()).
 */
int vhu_front_connect_raw(const struct vhu_front_opts *opts, struct vhu_front **out);

/* Disconnect and free. Accepts NULL. */
void vhu_front_close(struct vhu_front *f);

uint64_t vhu_front_features(const struct vhu_front *f);
uint64_t vhu_front_protocol_features(const struct vhu_front *f);
struct vqd *vhu_front_queue(struct vhu_front *f, uint16_t index);
/* Queues set up (the backend's count when opts.num_queues was 0). */
uint16_t vhu_front_num_queues(const struct vhu_front *f);

/*
 * Wait up to @timeout_ms for a request from the backend on the backend
 * request channel (opts.backend_req) and receive it (the caller owns
 * req->fds). A request with NEED_REPLY is acknowledged with 0 when REPLY_ACK
 * was negotiated. Returns 0, -ENOTSUP (no channel), -ETIMEDOUT,
 * -ECONNRESET, or -EPROTO (not a vhost-user request).
 */
int vhu_front_recv_backend_req(struct vhu_front *f, struct vhu_msg *req, int timeout_ms);

/* Shared memory: allocate @size bytes aligned to @align (bump allocator);
 * NULL when full. Guest-physical address of a pointer into it. */
void *vhu_front_alloc(struct vhu_front *f, size_t size, size_t align);
uint64_t vhu_front_gpa(const struct vhu_front *f, const void *p);
int vhu_front_mem_fd(const struct vhu_front *f);
size_t vhu_front_mem_size(const struct vhu_front *f);
void *vhu_front_mem_base(const struct vhu_front *f);

/* Publish queue @index's added buffers and kick the backend if it asks. */
void vhu_front_kick(struct vhu_front *f, uint16_t index);

/* The queue's call eventfd (readable when the backend signalled). */
int vhu_front_call_fd(const struct vhu_front *f, uint16_t index);

/* Stop a queue: GET_VRING_BASE; *base receives the backend's answer. */
int vhu_front_get_vring_base(struct vhu_front *f, uint16_t index, uint32_t *base);

/*
 * The backend went away (restarted): connect again to the same path and set
 * up the same queues over the same memory, handing back the inflight area
 * (SET_INFLIGHT_FD) so the new backend can resume requests in flight.
 * Retries for up to the timeout. 0 or a negative errno.
 */
int vhu_front_reconnect(struct vhu_front *f);

/*
 * Start dirty-page logging as QEMU does for migration: SET_LOG_BASE with
 * @log_fd (a bitmap of @size bytes, one bit per 4 KiB page of guest
 * memory), SET_FEATURES with VHOST_F_LOG_ALL, and the vring addresses
 * again with logging of each used ring. 0 or a negative errno.
 */
int vhu_front_start_logging(struct vhu_front *f, int log_fd, uint64_t size);

/*
 * Read @len bytes of the device's config space at @offset (GET_CONFIG;
 * needs VHOST_USER_PROTOCOL_F_CONFIG). 0, -ENOTSUP, -EIO (the backend
 * answered with an empty payload) or another negative errno.
 */
int vhu_front_get_config(struct vhu_front *f, uint32_t offset, void *buf, uint32_t len);

/* Send a message as is (any request, any flags). 0 or a negative errno. */
int vhu_front_send(struct vhu_front *f, const struct vhu_msg *m, const int *fds, unsigned n_fds);

/*
 * Receive one reply. 0, -ETIMEDOUT, -ECONNRESET (the backend hung up:
 * what a test of a refused message expects), or -EPROTO.
 */
int vhu_front_recv(struct vhu_front *f, struct vhu_msg *reply);

/* True if the backend closed the connection (within the timeout). */
bool vhu_front_backend_hung_up(struct vhu_front *f);

#endif /* KK_VHU_FRONTEND_H */
