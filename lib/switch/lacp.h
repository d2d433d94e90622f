/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lacp.h — IEEE 802.1AX (802.3ad) Link Aggregation Control Protocol for
 * one bond: LACPDU encoding and validation, the per-member receive,
 * periodic-transmit and mux logic, and the answer the bond needs: which
 * members may carry traffic.
 *
 * Frames: LACPDUs are slow-protocol frames (destination 01:80:c2:00:00:02,
 * ethertype 0x8809, subtype 1, version 1): 110 bytes of PDU (TLVs, the
 * terminator and 50 reserved bytes) after the 14-byte Ethernet header, so
 * the frame is 124 bytes, 128 on the wire with the FCS (802.1AX 6.4.2). Received frames are untrusted: sw_lacp_pdu_parse()
 * checks every field it relies on and says what was wrong.
 *
 * Time is given by the caller in milliseconds (monotonic), so tests can
 * drive the state machines without sleeping.
 *
 * Threads: an internal mutex serializes every call, so PDUs may be
 * processed on PMD threads while the control thread runs timers.
 */
#ifndef SW_LACP_H
#define SW_LACP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SW_LACP_PDU_LEN 110    /* LACPDU after the Ethernet header */
#define SW_LACP_FRAME_LEN 124  /* Ethernet header (14) + LACPDU (110), no FCS */

/* Actor/partner state bits. */
#define SW_LACP_STATE_ACTIVITY     0x01
#define SW_LACP_STATE_TIMEOUT      0x02  /* short (fast) timeout */
#define SW_LACP_STATE_AGGREGATION  0x04
#define SW_LACP_STATE_SYNC         0x08
#define SW_LACP_STATE_COLLECTING   0x10
#define SW_LACP_STATE_DISTRIBUTING 0x20
#define SW_LACP_STATE_DEFAULTED    0x40
#define SW_LACP_STATE_EXPIRED      0x80

struct sw_lacp_info {           /* one side's view in a PDU, host order */
    uint16_t sys_priority;
    uint8_t sys_id[6];
    uint16_t key;
    uint16_t port_priority;
    uint16_t port_id;
    uint8_t state;
};

struct sw_lacp_pdu {
    struct sw_lacp_info actor;
    struct sw_lacp_info partner;
    uint16_t collector_max_delay;
};

/* True if the frame is a slow-protocol LACP frame (addresses and type only). */
bool sw_lacp_is_lacp_frame(const void *frame, size_t len);

/*
 * Validate and decode an LACPDU frame (Ethernet header included). Returns
 * 0 with every byte of *pdu written (padding zeroed), or -EINVAL with a
 * one-line reason in @err (wrong type/subtype/version, TLV type or length
 * wrong, short frame). Compare decoded infos field by field all the same:
 * structs filled otherwise may have undefined padding.
 */
int sw_lacp_pdu_parse(const void *frame, size_t len, struct sw_lacp_pdu *pdu, char *err,
                      size_t errlen);
/* Encode a frame from @src_mac; returns SW_LACP_FRAME_LEN. @buf >= that. */
size_t sw_lacp_pdu_build(const struct sw_lacp_pdu *pdu, const uint8_t src_mac[6], void *buf);

struct sw_lacp_settings {
    const char *name;           /* for logs */
    uint8_t sys_id[6];          /* usually the bridge MAC */
    uint16_t sys_priority;      /* default 65534 when 0 */
    bool active;                /* active (send even without a partner) or passive */
    bool fast;                  /* 1 s periodic / 3 s timeout, else 30 s / 90 s */
    uint16_t key;               /* aggregation key (0: derived from the first member) */
};

struct sw_lacp;

int sw_lacp_create(const struct sw_lacp_settings *s, struct sw_lacp **out);
void sw_lacp_destroy(struct sw_lacp *lacp);

/* Members are named by the caller's id (e.g. datapath port number). */
int sw_lacp_member_add(struct sw_lacp *lacp, uint32_t member, uint16_t port_id,
                       uint16_t port_priority, const uint8_t mac[6]);
void sw_lacp_member_del(struct sw_lacp *lacp, uint32_t member);
/* Carrier state of the member's link: a down link is never enabled. */
void sw_lacp_member_set_link(struct sw_lacp *lacp, uint32_t member, bool up);

/* A received LACPDU frame on @member. Returns 0, -EINVAL (logged, counted)
 * or -ENOENT (no such member). */
int sw_lacp_process_frame(struct sw_lacp *lacp, uint32_t member, const void *frame, size_t len,
                          uint64_t now_ms);

/*
 * Run timers (partner timeout, periodic transmission) and call @send for
 * every LACPDU due now (frame bytes valid during the call). Call at least
 * every 100 ms. Returns the time (ms) at which it wants to run next.
 */
uint64_t sw_lacp_run(struct sw_lacp *lacp, uint64_t now_ms,
                     void (*send)(void *arg, uint32_t member, const void *frame, size_t len),
                     void *arg);

enum sw_lacp_status {
    SW_LACP_NEGOTIATED,     /* a partner answered: members in sync may carry traffic */
    SW_LACP_CONFIGURED,     /* no partner yet (or it timed out) */
};
enum sw_lacp_status sw_lacp_status(struct sw_lacp *lacp);

/* True if the member is up, selected and in sync with the partner (so the
 * bond may send and receive on it). */
bool sw_lacp_member_may_enable(struct sw_lacp *lacp, uint32_t member);

/* Incremented whenever any member's may_enable answer changes, so the
 * owner knows when to recompute bond membership and revalidate flows. */
uint64_t sw_lacp_change_seq(struct sw_lacp *lacp);

/* Human-readable state like `ovs-appctl lacp/show`: status, actor and
 * partner info per member, counters. snprintf semantics. */
int sw_lacp_format(struct sw_lacp *lacp, char *buf, size_t size);

struct sw_lacp_member_stats {
    uint64_t rx_pdus, rx_errors, tx_pdus;
    uint8_t actor_state, partner_state;
    bool may_enable;
};
int sw_lacp_member_stats(struct sw_lacp *lacp, uint32_t member, struct sw_lacp_member_stats *out);

#endif /* SW_LACP_H */
