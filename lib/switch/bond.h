/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bond.h — a bond: several member ports used as one bridge port.
 *
 * Modes (like OVS):
 *   active-backup  all traffic on one active member; another takes over
 *                  when its link goes down (after updelay/downdelay).
 *   balance-slb    traffic spread over the enabled members by source MAC
 *                  and VLAN (hash buckets assigned to members, rebalanced
 *                  every rebalance_ms by load); needs no switch support.
 *   balance-tcp    by L2-L4 header hash; only with negotiated LACP.
 * LACP (off, active, passive; slow or fast rate) decides which members
 * are enabled when on: only members in sync with the partner carry
 * traffic. With LACP on and no partner, the bond falls back to
 * active-backup on one member when lacp_fallback_ab is set, else it is down.
 *
 * The slow path asks the bond:
 *   - sw_bond_choose_output(): the member a packet leaves on, adding to the
 *     wildcards exactly the fields the choice used (nothing for
 *     active-backup, dl_src and VLAN for balance-slb, the L2-L4 fields of
 *     the hash for balance-tcp);
 *   - sw_bond_check_input(): whether a packet received on a member is
 *     accepted, which keeps flooding loop-free: in active-backup only the
 *     active member receives; in balance-slb broadcast and multicast are
 *     only accepted on the member that floods them (the bond's active
 *     member); members not enabled receive nothing.
 *
 * Threads: an internal read-write lock; choose_output/check_input (readers)
 * run on PMD threads during upcalls, the rest on the control thread. LACP
 * frames may be handed over on any thread.
 */
#ifndef SW_BOND_H
#define SW_BOND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"

#define SW_BOND_NONE UINT32_MAX

enum sw_bond_mode {
    SW_BOND_ACTIVE_BACKUP,
    SW_BOND_BALANCE_SLB,
    SW_BOND_BALANCE_TCP,
};

enum sw_bond_lacp {
    SW_BOND_LACP_OFF,
    SW_BOND_LACP_ACTIVE,
    SW_BOND_LACP_PASSIVE,
};

struct sw_bond_settings {
    const char *name;
    enum sw_bond_mode mode;
    enum sw_bond_lacp lacp;
    bool lacp_fast;
    bool lacp_fallback_ab;
    uint8_t sys_id[6];          /* LACP system id (bridge MAC) */
    uint32_t updelay_ms, downdelay_ms;
    uint32_t rebalance_ms;      /* balance-slb/tcp; default 10000, 0 = never */
};

/* Text names: "active-backup", "balance-slb", "balance-tcp"; "off",
 * "active", "passive". Return 0 or -EINVAL. */
int sw_bond_mode_from_string(const char *s, enum sw_bond_mode *out);
const char *sw_bond_mode_to_string(enum sw_bond_mode m);
int sw_bond_lacp_from_string(const char *s, enum sw_bond_lacp *out);

struct sw_bond;

/* -EINVAL (balance-tcp without LACP, bad values) or -ENOMEM. */
int sw_bond_create(const struct sw_bond_settings *s, struct sw_bond **out);
void sw_bond_destroy(struct sw_bond *bond);
/* Change settings in place (mode, LACP, delays); members stay. */
int sw_bond_reconfigure(struct sw_bond *bond, const struct sw_bond_settings *s);

/* Members are datapath port numbers; @mac is the member's own address.
 * A new member's link is down until sw_bond_member_set_link() says it is
 * up. Returns 0, -EINVAL, -EEXIST or -ENOMEM. */
int sw_bond_member_add(struct sw_bond *bond, uint32_t member, const uint8_t mac[6]);
void sw_bond_member_del(struct sw_bond *bond, uint32_t member);
void sw_bond_member_set_link(struct sw_bond *bond, uint32_t member, bool up, uint64_t now_ms);

/* A frame received on a member that sw_lacp_is_lacp_frame() says is LACP. */
void sw_bond_process_lacp(struct sw_bond *bond, uint32_t member, const void *frame, size_t len,
                          uint64_t now_ms);

/*
 * Timers: up/down delays, LACP, rebalancing. @send transmits an LACPDU on
 * a member; it is called with the bond's read lock held, so it must not
 * call the bond's writers (it may queue the frame or call the readers).
 * Returns true if the enabled members, the active member or the bucket
 * assignment changed since the last call (the owner then revalidates
 * megaflows).
 */
bool sw_bond_run(struct sw_bond *bond, uint64_t now_ms,
                 void (*send)(void *arg, uint32_t member, const void *frame, size_t len),
                 void *arg);

/* Member to send @key on (un-wildcarding what it used in @wc), or
 * SW_BOND_NONE when no member is enabled. */
uint32_t sw_bond_choose_output(struct sw_bond *bond, const struct sw_flow_key *key,
                               struct sw_flow_mask *wc);

/*
 * Load accounting for rebalancing (balance-slb/tcp; a no-op in
 * active-backup): add @bytes sent with @key to the key's hash bucket. The
 * owner calls it from the flow statistics it collects (e.g. the bytes of
 * the megaflows that output to the bond since the last call). Reader: any
 * thread, lock-free apart from the read lock.
 */
void sw_bond_account(struct sw_bond *bond, const struct sw_flow_key *key, uint64_t bytes);

enum sw_bond_verdict { SW_BOND_ACCEPT, SW_BOND_DROP };
enum sw_bond_verdict sw_bond_check_input(struct sw_bond *bond, uint32_t member,
                                         const struct sw_flow_key *key,
                                         struct sw_flow_mask *wc);

/* The active member (active-backup; the flooding member otherwise), or SW_BOND_NONE. */
uint32_t sw_bond_active_member(struct sw_bond *bond);
bool sw_bond_member_enabled(struct sw_bond *bond, uint32_t member);
/* Incremented on every change the slow path must react to. */
uint64_t sw_bond_change_seq(struct sw_bond *bond);

/* `bond/show` and `lacp/show` text for this bond. snprintf semantics. */
int sw_bond_format(struct sw_bond *bond, char *buf, size_t size);
int sw_bond_format_lacp(struct sw_bond *bond, char *buf, size_t size);

#endif /* SW_BOND_H */
