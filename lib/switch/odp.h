/* SPDX-License-Identifier: Apache-2.0 */
/*
 * odp.h — datapath actions: what a megaflow does to the packets it matches.
 *
 * Design note
 * -----------
 * The slow path (ofproto's translation of the OpenFlow tables, NORMAL,
 * mirrors, bonds) turns a flow key into a short list of datapath actions;
 * the megaflow cache stores that list as an immutable byte block and PMD
 * threads execute it on every packet the megaflow matches. So the list is
 * flat, self-contained and cheap to walk: a sequence of records, each
 *
 *     struct sw_odp_attr { uint16_t type; uint16_t len; }  + payload
 *
 * where len counts the 4-byte header and the payload, and every record
 * starts on an 8-byte boundary (len is rounded up when stepping). An empty
 * list means drop. Datapath port numbers (uint32_t) are the dpif's, not
 * OpenFlow's.
 *
 * Set actions are masked (only the bits set in the mask change), like
 * OVS's set_masked: translation emits one per header it rewrites, with the
 * header's fields it touched. Checksums covering a rewritten field are
 * fixed incrementally (lib/pkt/proto/pkt_edit.h). The L4 set applies to
 * whichever of TCP, UDP or SCTP the packet carries (the megaflow matched
 * nw_proto, so that is known when it was installed).
 *
 * Execution (sw_odp_execute) walks the list once per batch of packets that
 * share the megaflow. OUTPUT hands a packet to the output callback; every
 * OUTPUT but the last one of the list sends a copy, the last sends the
 * packet itself, so the common single-output flow never copies. A list
 * whose last action is not OUTPUT frees the packets at the end.
 *
 * Threads: building and validating are pure. Execution runs on the thread
 * that owns the packets.
 */
#ifndef SW_ODP_H
#define SW_ODP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"

struct pkt_buf;
struct pkt_pool;

enum sw_odp_type {
    SW_ODP_OUTPUT = 1,   /* struct sw_odp_output */
    SW_ODP_PUSH_VLAN,    /* struct sw_odp_push_vlan: new outer tag */
    SW_ODP_POP_VLAN,     /* no payload: remove the outer tag */
    SW_ODP_SET_VLAN,     /* struct sw_odp_set_vlan: masked rewrite of the outer TCI */
    SW_ODP_SET_ETH,      /* struct sw_odp_set_eth */
    SW_ODP_SET_IPV4,     /* struct sw_odp_set_ipv4 */
    SW_ODP_SET_IPV6,     /* struct sw_odp_set_ipv6 */
    SW_ODP_SET_L4,       /* struct sw_odp_set_l4: TCP/UDP/SCTP ports */
    SW_ODP_USERSPACE,    /* struct sw_odp_userspace: hand a copy to the slow path */
    SW_ODP_METER,        /* struct sw_odp_meter: packets over the meter's rate are dropped */
    SW_ODP_TYPE_MAX,
};

struct sw_odp_attr {
    uint16_t type;
    uint16_t len;        /* header + payload, bytes (not rounded) */
};

struct sw_odp_output {
    struct sw_odp_attr hdr;
    uint32_t port;
};

struct sw_odp_push_vlan {
    struct sw_odp_attr hdr;
    uint16_t tpid;       /* 0x8100 or 0x88a8 */
    uint16_t tci;        /* PCP << 13 | VID; the SW_VLAN_PRESENT bit is ignored */
};

struct sw_odp_set_vlan {
    struct sw_odp_attr hdr;
    uint16_t tci;
    uint16_t mask;       /* wire TCI bits to change */
};

struct sw_odp_set_eth {
    struct sw_odp_attr hdr;
    uint8_t src[6], src_mask[6];
    uint8_t dst[6], dst_mask[6];
};

struct sw_odp_set_ipv4 {
    struct sw_odp_attr hdr;
    uint32_t src, src_mask;  /* host order */
    uint32_t dst, dst_mask;
    uint8_t tos, tos_mask;
    uint8_t ttl, ttl_mask;
};

struct sw_odp_set_ipv6 {
    struct sw_odp_attr hdr;
    uint8_t src[16], src_mask[16];
    uint8_t dst[16], dst_mask[16];
    uint8_t tclass, tclass_mask;
    uint8_t hlimit, hlimit_mask;
};

struct sw_odp_set_l4 {
    struct sw_odp_attr hdr;
    uint16_t src, src_mask;  /* host order */
    uint16_t dst, dst_mask;
};

struct sw_odp_userspace {
    struct sw_odp_attr hdr;
    uint32_t reason;     /* the slow path's own code (e.g. "to controller") */
    uint32_t pad;
    uint64_t cookie;     /* passed back to the slow path as is */
    uint64_t cookie2;    /* a second word for it (the controller hook: the rule's cookie) */
};

struct sw_odp_meter {
    struct sw_odp_attr hdr;
    uint32_t meter_id;   /* the datapath's meter number */
};

#define SW_ODP_ALIGN 8
#define SW_ODP_MAX_LEN 2048   /* longest action list a megaflow may carry */

/* A list being built: fixed storage, no allocation. */
struct sw_odp_buf {
    size_t len;
    bool overflow;       /* an append did not fit: the list is unusable */
    uint8_t data[SW_ODP_MAX_LEN] __attribute__((aligned(8)));
};

static inline void sw_odp_buf_init(struct sw_odp_buf *b)
{
    b->len = 0;
    b->overflow = false;
}

/* Append a record of @type with @payload_len bytes at @payload (zeroed
 * padding). Returns a pointer to the record (header included) or NULL on
 * overflow (which sets b->overflow). */
void *sw_odp_put(struct sw_odp_buf *b, uint16_t type, const void *payload, size_t payload_len);

/* Convenience builders over sw_odp_put(). */
void sw_odp_put_output(struct sw_odp_buf *b, uint32_t port);
void sw_odp_put_push_vlan(struct sw_odp_buf *b, uint16_t tpid, uint16_t tci);
void sw_odp_put_pop_vlan(struct sw_odp_buf *b);
void sw_odp_put_meter(struct sw_odp_buf *b, uint32_t meter_id);

/* Iterate over a list that passed sw_odp_validate(). */
#define SW_ODP_FOR_EACH(a, actions, actions_len)                                              \
    for (const struct sw_odp_attr *a = (const void *)(actions);                              \
         (const uint8_t *)a < (const uint8_t *)(actions) + (actions_len);                    \
         a = (const void *)((const uint8_t *)a + (((size_t)a->len + SW_ODP_ALIGN - 1) &       \
                                                  ~(size_t)(SW_ODP_ALIGN - 1))))

/*
 * Check a list: every record known, its length the one its type has,
 * inside the list, aligned. Returns 0 or -EINVAL.
 */
int sw_odp_validate(const void *actions, size_t len);

/*
 * Format a list like "push_vlan(vid=10,pcp=0),2,set(ipv4(ttl=63)),3" (ports
 * as numbers, or as names when @port_name is not NULL and returns one),
 * "drop" for an empty list. snprintf semantics.
 */
int sw_odp_format(const void *actions, size_t len, char *buf, size_t size,
                  const char *(*port_name)(void *arg, uint32_t port), void *arg);

/*
 * What execution needs from the datapath. @output takes ownership of
 * @pkt (sends or frees it). @userspace gets a read-only view of the packet
 * (the datapath frees or forwards it afterwards). @pool supplies copies.
 */
struct sw_odp_exec_ctx {
    void (*output)(void *arg, uint32_t port, struct pkt_buf *pkt);
    void (*userspace)(void *arg, const struct sw_odp_userspace *u, const struct pkt_buf *pkt);
    /* SW_ODP_METER: set keep[i] for each of the @n packets (false: over
     * the rate, dropped by execution). NULL: meters pass everything. */
    void (*meter)(void *arg, uint32_t meter_id, struct pkt_buf *const *pkts, unsigned n,
                  bool *keep);
    void *arg;
    struct pkt_pool *pool;
    uint64_t copy_failures; /* copies that could not be allocated (counted here) */
};

/*
 * Run @actions on each of the @n packets (ownership passes to the
 * execution: every packet is output or freed). A packet whose headers a
 * set action cannot rewrite (too short, not the expected protocol) keeps
 * them unchanged and goes on. Actions must have passed sw_odp_validate().
 */
void sw_odp_execute(struct sw_odp_exec_ctx *ctx, struct pkt_buf **pkts, unsigned n,
                    const void *actions, size_t actions_len);

#endif /* SW_ODP_H */
