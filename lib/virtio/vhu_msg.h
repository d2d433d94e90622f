/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhu_msg.h — vhost-user messages: wire layout, receive with file
 * descriptors, send, and validation of every field a frontend controls.
 *
 * A message is a 12-byte header (request, flags, payload size) and a
 * payload whose layout depends on the request. File descriptors travel as
 * SCM_RIGHTS ancillary data. vhu_msg_recv() reads exactly one message and
 * refuses what cannot be a valid message (bad version bits, payload larger
 * than any request has, more descriptors than any request carries);
 * vhu_msg_check() then checks the payload size and the number of file
 * descriptors against what the request needs. Both return a reason for the
 * log and leave the caller to reply with an error (where the protocol has
 * one) and disconnect.
 *
 * Byte order: host order (the protocol's "machine native" order).
 */
#ifndef KK_VHU_MSG_H
#define KK_VHU_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Front-end requests. */
enum vhu_request {
    VHU_GET_FEATURES = 1,
    VHU_SET_FEATURES = 2,
    VHU_SET_OWNER = 3,
    VHU_RESET_OWNER = 4,
    VHU_SET_MEM_TABLE = 5,
    VHU_SET_LOG_BASE = 6,
    VHU_SET_LOG_FD = 7,
    VHU_SET_VRING_NUM = 8,
    VHU_SET_VRING_ADDR = 9,
    VHU_SET_VRING_BASE = 10,
    VHU_GET_VRING_BASE = 11,
    VHU_SET_VRING_KICK = 12,
    VHU_SET_VRING_CALL = 13,
    VHU_SET_VRING_ERR = 14,
    VHU_GET_PROTOCOL_FEATURES = 15,
    VHU_SET_PROTOCOL_FEATURES = 16,
    VHU_GET_QUEUE_NUM = 17,
    VHU_SET_VRING_ENABLE = 18,
    VHU_SEND_RARP = 19,
    VHU_NET_SET_MTU = 20,
    VHU_SET_BACKEND_REQ_FD = 21,
    VHU_IOTLB_MSG = 22,
    VHU_SET_VRING_ENDIAN = 23,
    VHU_GET_CONFIG = 24,
    VHU_SET_CONFIG = 25,
    VHU_GET_INFLIGHT_FD = 31,
    VHU_SET_INFLIGHT_FD = 32,
    VHU_RESET_DEVICE = 34,
    VHU_VRING_KICK = 35,
    VHU_GET_MAX_MEM_SLOTS = 36,
    VHU_ADD_MEM_REG = 37,
    VHU_REM_MEM_REG = 38,
    VHU_SET_STATUS = 39,
    VHU_GET_STATUS = 40,
    VHU_REQUEST_MAX = 41,
};

/*
 * Back-end requests: sent by the backend on the channel the frontend gave
 * it with SET_BACKEND_REQ_FD (needs VHU_PROTOCOL_F_BACKEND_REQ). A reply
 * comes back only when the request carries VHU_FLAG_NEED_REPLY and
 * REPLY_ACK was negotiated.
 */
enum vhu_backend_request {
    VHU_BACKEND_IOTLB_MSG = 1,
    VHU_BACKEND_CONFIG_CHANGE_MSG = 2,   /* no payload: re-read the config space */
    VHU_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
};

/* Header flags. */
#define VHU_VERSION         0x1u
#define VHU_VERSION_MASK    0x3u
#define VHU_FLAG_REPLY      (1u << 2)
#define VHU_FLAG_NEED_REPLY (1u << 3)

/* Virtio feature bits owned by vhost-user. */
#define VHOST_F_LOG_ALL                26
#define VHOST_USER_F_PROTOCOL_FEATURES 30

/* Protocol feature bits. */
#define VHU_PROTOCOL_F_MQ                  0
#define VHU_PROTOCOL_F_LOG_SHMFD           1
#define VHU_PROTOCOL_F_RARP                2
#define VHU_PROTOCOL_F_REPLY_ACK           3
#define VHU_PROTOCOL_F_MTU                 4
#define VHU_PROTOCOL_F_BACKEND_REQ         5
#define VHU_PROTOCOL_F_CROSS_ENDIAN        6
#define VHU_PROTOCOL_F_CONFIG              9
#define VHU_PROTOCOL_F_BACKEND_SEND_FD     10
#define VHU_PROTOCOL_F_HOST_NOTIFIER       11
#define VHU_PROTOCOL_F_INFLIGHT_SHMFD      12
#define VHU_PROTOCOL_F_RESET_DEVICE        13
#define VHU_PROTOCOL_F_INBAND_NOTIFICATIONS 14
#define VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VHU_PROTOCOL_F_STATUS              16

#define VHU_MAX_FDS 8          /* per message (SET_MEM_TABLE regions) */
#define VHU_MEM_TABLE_MAX 8    /* regions in SET_MEM_TABLE */
#define VHU_CONFIG_MAX 256     /* bytes of device config space */
#define VHU_MAX_QUEUES 256     /* vring index range (8 bits in kick/call payloads) */

/* Payload of SET/GET_VRING_KICK, CALL, ERR: index and "no fd" flag. */
#define VHU_VRING_IDX_MASK 0xffu
#define VHU_VRING_NOFD     (1u << 8)
/* SET_VRING_ADDR flags. */
#define VHU_VRING_F_LOG    1u

struct vhu_vring_state {
    uint32_t index;
    uint32_t num;
};

struct vhu_vring_addr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc;
    uint64_t used;
    uint64_t avail;
    uint64_t log;
};

struct vhu_mem_region {
    uint64_t gpa;
    uint64_t size;
    uint64_t uva;
    uint64_t mmap_offset;
};

struct vhu_mem_table {
    uint32_t nregions;
    uint32_t padding;
    struct vhu_mem_region regions[VHU_MEM_TABLE_MAX];
};

struct vhu_mem_single {
    uint64_t padding;
    struct vhu_mem_region region;
};

struct vhu_log {
    uint64_t size;
    uint64_t offset;
};

struct vhu_config {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    uint8_t data[VHU_CONFIG_MAX];
};

/* Naturally aligned, 24 bytes on the wire (4 of them padding), as QEMU,
 * libvhost-user and DPDK send and expect it. */
struct vhu_inflight {
    uint64_t mmap_size;
    uint64_t mmap_offset;
    uint16_t num_queues;
    uint16_t queue_size;
    uint32_t padding;
};
_Static_assert(sizeof(struct vhu_inflight) == 24, "vhu_inflight wire size");

#define VHU_HDR_SIZE 12
#define VHU_MAX_PAYLOAD 4096

struct vhu_msg {
    uint32_t request;
    uint32_t flags;
    uint32_t size; /* payload bytes */
    union {
        uint64_t u64;
        struct vhu_vring_state state;
        struct vhu_vring_addr addr;
        struct vhu_mem_table mem;
        struct vhu_mem_single mem_reg;
        struct vhu_log log;
        struct vhu_config config;
        struct vhu_inflight inflight;
        uint8_t raw[VHU_MAX_PAYLOAD];
    } p;
    int fds[VHU_MAX_FDS];
    unsigned n_fds;
};

/* The request's name ("SET_MEM_TABLE"), or "UNKNOWN". */
const char *vhu_request_name(uint32_t request);

/*
 * Read one message from @sock (blocking or not: on a non-blocking socket
 * with no data, -EAGAIN). Returns 0, or
 *   -ECONNRESET  the peer closed the connection;
 *   -EPROTO      not a vhost-user message (version, size, fd count, a
 *                truncated payload): @why says which;
 *   other negative errnos from recvmsg.
 * On success the caller owns m->fds[0..n_fds) (vhu_msg_close_fds()).
 */
int vhu_msg_recv(int sock, struct vhu_msg *m, char *why, size_t why_len);

/*
 * Check payload size, field ranges that need no device state, and fd
 * count for the request. Returns 0 or -EINVAL with @why filled.
 * Unknown requests give -ENOTSUP.
 */
int vhu_msg_check(const struct vhu_msg *m, char *why, size_t why_len);

/* Send @m (header + m->size bytes of payload) with @n_fds descriptors. */
int vhu_msg_send(int sock, const struct vhu_msg *m, const int *fds, unsigned n_fds);

/* Close the descriptors a received message carried and forget them. */
void vhu_msg_close_fds(struct vhu_msg *m);

/* Take descriptor @i out of the message (the caller now owns it). */
int vhu_msg_take_fd(struct vhu_msg *m, unsigned i);

/*
 * Parse a message from a byte buffer (header + payload) with @n_fds
 * descriptors already received; for fuzzing and tests. Same returns as
 * vhu_msg_recv().
 */
int vhu_msg_parse(const uint8_t *buf, size_t len, const int *fds, unsigned n_fds,
                  struct vhu_msg *m, char *why, size_t why_len);

#endif /* KK_VHU_MSG_H */
