/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio_spec.h — wire layouts and constants from the virtio 1.2
 * specification (split and packed virtqueues, feature bits). All fields are
 * little-endian; kvmkit runs on little-endian hosts only (checked below).
 */
#ifndef KK_VIRTIO_SPEC_H
#define KK_VIRTIO_SPEC_H

#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lib/virtio assumes a little-endian host"
#endif

/* Feature bits (device-independent). */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_F_ACCESS_PLATFORM    33
#define VIRTIO_F_RING_PACKED        34
#define VIRTIO_F_IN_ORDER           35
#define VIRTIO_F_NOTIFICATION_DATA  38
#define VIRTIO_F_RING_RESET         40
/* Legacy / transport bits seen in vhost-user negotiation. */
#define VIRTIO_F_NOTIFY_ON_EMPTY    24
#define VIRTIO_F_ANY_LAYOUT         27

#define VIRTIO_BIT(b) (UINT64_C(1) << (b))

/* Largest queue size the specification allows. */
#define VIRTQ_MAX_SIZE 32768

/* ---- split virtqueue ---- */

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[]; /* [num], then uint16_t used_event (EVENT_IDX) */
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

#define VIRTQ_USED_F_NO_NOTIFY 1
struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[]; /* [num], then uint16_t avail_event */
};

/* Bytes of each split-ring area for a queue of @num entries. */
static inline uint64_t virtq_desc_size(uint32_t num) { return 16ull * num; }
static inline uint64_t virtq_avail_size(uint32_t num) { return 6ull + 2ull * num; }
static inline uint64_t virtq_used_size(uint32_t num) { return 6ull + 8ull * num; }

/* Alignment the spec requires of each area (virtio 1.x). */
#define VIRTQ_DESC_ALIGN  16
#define VIRTQ_AVAIL_ALIGN 2
#define VIRTQ_USED_ALIGN  4

/*
 * EVENT_IDX: should the other side be notified, given it asked to be told
 * when index @event is passed, and the index moved from @old to @new?
 */
static inline int virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* ---- packed virtqueue ---- */

#define VIRTQ_PACKED_F_AVAIL (1u << 7)
#define VIRTQ_PACKED_F_USED  (1u << 15)

struct virtq_packed_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t id;
    uint16_t flags;
};

/* Event suppression structure (one written by each side). */
#define VIRTQ_EVENT_F_ENABLE  0
#define VIRTQ_EVENT_F_DISABLE 1
#define VIRTQ_EVENT_F_DESC    2
struct virtq_packed_event {
    uint16_t off_wrap; /* descriptor index | wrap counter << 15 */
    uint16_t flags;
};

static inline uint64_t virtq_packed_desc_size(uint32_t num) { return 16ull * num; }
#define VIRTQ_PACKED_EVENT_SIZE 4

/* ---- virtio-net (5.1) ---------------------------------------------------- */

#define VIRTIO_NET_F_CSUM 0          /* device takes partial checksums */
#define VIRTIO_NET_F_GUEST_CSUM 1    /* driver takes partial checksums */
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_MQ 22

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1 /* checksum from csum_start, stored at +csum_offset */
#define VIRTIO_NET_HDR_F_DATA_VALID 2 /* checksum already checked */

#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN 0x80

/* virtio-net header with VERSION_1 or MRG_RXBUF (12 bytes); also what a
 * tap with IFF_VNET_HDR and TUNSETVNETHDRSZ 12 uses. */
struct virtio_net_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
};

#endif /* KK_VIRTIO_SPEC_H */
