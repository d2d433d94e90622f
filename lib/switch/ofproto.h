/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofproto.h — a bridge's slow path: ports (single datapath ports or bonds,
 * with VLAN modes), mirrors, 255 OpenFlow tables, translation of a flow
 * key into datapath actions plus megaflow wildcards, the NORMAL action
 * (MAC learning switch with VLANs), ofproto/trace, and revalidation of
 * installed megaflows.
 *
 * Design note
 * -----------
 * This is a pure library: it knows nothing of dpif.c. The daemon creates
 * one sw_ofproto per bridge, adds the bridge's ports (naming the datapath
 * port numbers the dpif gave them), and wires the datapath to it:
 *
 *   upcall handler    -> sw_ofproto_upcall()       (PMD threads, concurrent)
 *   megaflow reval    -> sw_ofproto_mfc_reval()    (a sw_mfc_reval_fn)
 *   periodic timers   -> sw_ofproto_run()          (control thread)
 *   change polling    -> sw_ofproto_change_seq()   (revalidate when it moves)
 *
 * Translation (sw_ofproto_xlate) runs the OpenFlow tables on a working
 * copy of the flow key at one rule version (a snapshot: a flow-mod batch
 * is seen whole or not at all), applies the rules' actions to it, and
 * emits datapath actions (odp.h). Modified headers are *committed* before
 * every output (and before a controller action): one masked set action
 * per header with only the bits that changed, VLAN pops before pushes.
 * Every key bit the decision consulted — classifier wildcards, fields an
 * action read or rewrote, NORMAL's in_port/dl_src/dl_dst/VLAN, the bond's
 * choice — is ORed into the caller's wildcards, so the megaflow
 * (key & wc) only covers packets that get the same actions.
 *
 * OpenFlow port numbers (ofport, 1..0xfeff) are this bridge's; datapath
 * port numbers are the dpif's. Rules match OpenFlow in_port: translation
 * maps the key's datapath in_port to the ofport (a bond member to its
 * bond's port) and back for outputs, bonds choosing the member.
 *
 * NORMAL (like OVS's, see docs/switch.md "OpenFlow tables and NORMAL"):
 * input VLAN from the port's mode (frames the mode refuses are dropped),
 * bond input check, learning (VLAN, dl_src) -> port, reserved multicast
 * 01:80:c2:00:00:0x dropped, known unicast to its port, otherwise flooding
 * within the VLAN; egress tagging per output port mode; never back out of
 * the input port. Learning a new MAC or a moved one bumps the change
 * sequence: the owner then revalidates, so a flood megaflow for a now
 * known destination is replaced by a unicast one.
 *
 * Mirrors: a packet is selected on input (select_src_port, or select_all)
 * and on each output (select_dst_port), subject to select_vlan; at the end
 * of translation each selected mirror gets one copy, in the state the
 * packet had when first selected, on its output port — not if that port
 * is the input port, already got the packet, or got a copy for another
 * mirror.
 *
 * Threads and locking
 * -------------------
 * - sw_ofproto_xlate(), _upcall(), _trace(), _mfc_reval(): any thread,
 *   concurrently; the caller must be a registered kk_rcu reader (PMD and
 *   reactor threads are). Rules are read lock-free from the classifiers;
 *   port and mirror configuration under a read lock; the MAC table under
 *   its own mutex.
 * - Everything else (create/destroy, ports, mirrors, flow-mods, run,
 *   dumps): the control thread, or any thread one at a time (an internal
 *   mutex serializes them). destroy: no translation running.
 *
 * Errors: 0 or -errno. Text parsers fill @err (a NUL-terminated one-line
 * message naming the field or action at fault) when it is not NULL.
 */
#ifndef SW_OFPROTO_H
#define SW_OFPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bond.h"
#include "dpcache.h"
#include "dpif.h"
#include "flow.h"
#include "odp.h"

struct sw_ofproto;

#define SW_OFP_TABLES        255       /* tables 0..254 */
#define SW_OFPORT_MAX        0xfeffu   /* highest ordinary OpenFlow port number */
#define SW_OFPORT_NONE       0u
#define SW_OFP_MAX_PORTS     1024
#define SW_OFP_MAX_MIRRORS   32
#define SW_OFP_DEFAULT_AGING_S      300
#define SW_OFP_DEFAULT_MAC_ENTRIES  8192
#define SW_OFP_MAX_RESUBMIT  64        /* resubmit/goto depth */

/* Reason code of the SW_ODP_USERSPACE record the "controller" action (and a
 * table miss sent to the controllers) emits; its cookie is
 * (max_len << 32) | (table_id << 16) | packet-in reason (SW_OFPR_*), its
 * cookie2 the rule's cookie (all ones for a table miss). */
#define SW_OFP_USERSPACE_CONTROLLER 1
#define SW_OFPR_NO_MATCH 0   /* a table miss, or a table-miss entry's controller action */
#define SW_OFPR_ACTION   1   /* a rule's controller action */

/* ---- bridge ------------------------------------------------------------ */

struct sw_rule_info;
struct sw_meter_config;
struct sw_meter_stats;

/*
 * Where a bridge's OpenFlow meters are enforced: the datapath's meter
 * table, shared by bridges, so the provider numbers the datapath meters.
 * @set creates (*dp_id == UINT32_MAX on input: allocate one) or replaces;
 * returns 0 or a negative errno. Called under the bridge's lock.
 */
struct sw_meter_provider {
    int (*set)(void *arg, uint32_t *dp_id, const struct sw_meter_config *c);
    void (*del)(void *arg, uint32_t dp_id);
    int (*stats)(void *arg, uint32_t dp_id, struct sw_meter_stats *out);
    void *arg;
};

struct sw_ofproto_settings {
    const char *name;             /* required, < 64 bytes */
    uint8_t mac[6];               /* bridge MAC (LACP system id of its bonds) */
    unsigned mac_aging_s;         /* MAC learning aging; 0: 300 */
    unsigned mac_max_entries;     /* MAC table size (LRU eviction); 0: 8192 */
    bool no_default_flow;         /* don't install "priority=0,actions=normal" */
    /* Monotonic clock in ms for learning, aging and rule timeouts; NULL:
     * CLOCK_MONOTONIC. Tests pass their own. */
    uint64_t (*now_ms)(void *arg);
    void *now_arg;
    /* Called for each removed rule that has SW_OFP_FLAG_SEND_FLOW_REM, with
     * its last statistics and why (SW_RR_*), on the thread that removed it,
     * under the bridge's lock: it must not call sw_ofproto functions that
     * change rules, groups or ports. NULL: none. */
    void (*flow_removed)(void *arg, const struct sw_rule_info *rule, int reason);
    void *flow_removed_arg;
    /* Meters (copied); NULL: meter-mods are refused (-ENOTSUP). */
    const struct sw_meter_provider *meters;
};

/* Flow-removed reasons (OpenFlow 1.3's numbers). */
#define SW_RR_IDLE_TIMEOUT 0
#define SW_RR_HARD_TIMEOUT 1
#define SW_RR_DELETE       2
#define SW_RR_GROUP_DELETE 3

/*
 * Create a bridge with no ports. Unless @s->no_default_flow, table 0 gets
 * "priority=0,actions=normal" (OVS's fail-mode standalone). Returns 0 and
 * *out, -EINVAL (missing or too long name) or -ENOMEM. Control thread.
 */
int sw_ofproto_create(const struct sw_ofproto_settings *s, struct sw_ofproto **out);

/* Free the bridge, its rules, ports, bonds, mirrors, MAC table. No
 * translation may be running. Waits for RCU callbacks. Accepts NULL. */
void sw_ofproto_destroy(struct sw_ofproto *ofp);

const char *sw_ofproto_name(const struct sw_ofproto *ofp);

/* The bridge's clock (ms; the settings' now_ms or CLOCK_MONOTONIC): rules'
 * created_ms and used_ms are on it. */
uint64_t sw_ofproto_now_ms(const struct sw_ofproto *ofp);
/* Whether the bridge has a meter provider (meter-mods can succeed). */
bool sw_ofproto_has_meters(const struct sw_ofproto *ofp);

/*
 * Timers: rule idle/hard timeouts, MAC aging, bond and LACP state machines
 * (@send transmits an LACPDU on a datapath port; may be NULL in tests).
 * Call every 100 ms or so. Control thread.
 */
void sw_ofproto_run(struct sw_ofproto *ofp,
                    void (*send)(void *arg, uint32_t dp_port, const void *frame, size_t len),
                    void *arg);

/*
 * A number that changes whenever translation results may have changed:
 * flow-mods, port/mirror configuration, link state, MAC learning (new,
 * moved, expired, flushed), bond state. The owner polls it and, when it
 * moved, revalidates the megaflows (sw_dpif_revalidate with
 * sw_ofproto_mfc_reval). Any thread.
 */
uint64_t sw_ofproto_change_seq(struct sw_ofproto *ofp);

/*
 * Fail-open (OpenFlow's fail mode standalone while no controller is
 * reachable): every packet goes through NORMAL, the tables are ignored
 * (like Open vSwitch's fail-open flow above every priority). Bumps the
 * change sequence when it changes. Any thread.
 */
void sw_ofproto_set_fail_open(struct sw_ofproto *ofp, bool on);
bool sw_ofproto_fail_open(struct sw_ofproto *ofp);

/*
 * What a table miss does: @to_controller false drops (OpenFlow 1.3), true
 * sends the packet's first @max_len bytes to the controllers with reason
 * no_match (OpenFlow 1.0 switches do, while a 1.0 controller is
 * connected). Bumps the change sequence when it changes.
 */
void sw_ofproto_set_miss(struct sw_ofproto *ofp, bool to_controller, uint16_t max_len);

/* ---- ports ------------------------------------------------------------- */

enum sw_vlan_mode {
    SW_VLAN_MODE_TRUNK = 0,       /* tagged frames of @trunks (all if empty);
                                     untagged = VLAN 0 */
    SW_VLAN_MODE_ACCESS,          /* untagged (or priority-tagged / tagged @tag)
                                     in VLAN @tag; sent untagged */
    SW_VLAN_MODE_NATIVE_TAGGED,   /* trunk, untagged in = VLAN @tag; all sent tagged */
    SW_VLAN_MODE_NATIVE_UNTAGGED, /* trunk, untagged in = VLAN @tag; @tag sent untagged */
};

/* "trunk", "access", "native-tagged", "native-untagged". 0 or -EINVAL. */
int sw_vlan_mode_from_string(const char *s, enum sw_vlan_mode *out);
const char *sw_vlan_mode_to_string(enum sw_vlan_mode m);

struct sw_port_settings {
    const char *name;             /* required, unique in the bridge, < 64 bytes */
    uint32_t ofport;              /* requested OpenFlow number; 0: lowest free from 1 */
    enum sw_vlan_mode vlan_mode;
    uint16_t tag;                 /* access / native VLAN (0..4095) */
    const uint16_t *trunks;       /* VLANs a trunk carries; n_trunks 0: all */
    size_t n_trunks;
    /* One datapath port ... */
    uint32_t dp_port;
    /* ... or a bond (when @bond is not NULL): the bridge creates and owns a
     * sw_bond with these settings (sys_id defaults to the bridge MAC) over
     * @members (datapath ports; @member_macs may be NULL: the bridge MAC). */
    const struct sw_bond_settings *bond;
    const uint32_t *members;
    const uint8_t (*member_macs)[6];
    size_t n_members;
};

/*
 * Add a port. Links start up for single ports; bond members start down
 * (sw_bond semantics) until sw_ofproto_set_link() says otherwise. *ofport
 * (if not NULL) receives the OpenFlow number. Returns 0, -EINVAL (bad
 * settings: name, VLAN > 4095, ofport out of range, bond without members),
 * -EEXIST (name, ofport or a datapath port already in the bridge),
 * -ENOSPC, -ENOMEM, or the bond's error. Control thread.
 */
int sw_ofproto_port_add(struct sw_ofproto *ofp, const struct sw_port_settings *s,
                        uint32_t *ofport);

/*
 * Reconfigure port @s->name in place (VLAN mode, tag, trunks; bond settings
 * and member set; the datapath port of a single port). The ofport stays
 * (@s->ofport is ignored); a single port cannot become a bond or back.
 * Returns 0, -ENOENT, -EINVAL, -EEXIST, -ENOMEM.
 */
int sw_ofproto_port_reconfigure(struct sw_ofproto *ofp, const struct sw_port_settings *s);

/* Remove a port (its MAC entries are flushed; mirrors forget it). 0 or -ENOENT. */
int sw_ofproto_port_del(struct sw_ofproto *ofp, const char *name);

/* OpenFlow port configuration bits (the OpenFlow 1.0 numbering; 1.3 has
 * the same bits but for NO_FLOOD): what a port-mod can change. */
#define SW_PC_PORT_DOWN    (1u << 0)   /* administratively down: no output */
#define SW_PC_NO_RECV      (1u << 2)   /* drop what it receives */
#define SW_PC_NO_FLOOD     (1u << 4)   /* left out of FLOOD (not ALL) */
#define SW_PC_NO_FWD       (1u << 5)   /* no output to it */
#define SW_PC_NO_PACKET_IN (1u << 6)   /* no packet-in for what it receives */
#define SW_PC_ALL (SW_PC_PORT_DOWN | SW_PC_NO_RECV | SW_PC_NO_FLOOD | SW_PC_NO_FWD | \
                   SW_PC_NO_PACKET_IN)

/* Change the SW_PC_* bits of port @ofport under @mask. Returns 0, -ENOENT,
 * or -EINVAL (bits outside SW_PC_ALL). Bumps the change sequence. */
int sw_ofproto_port_set_config(struct sw_ofproto *ofp, uint32_t ofport, uint32_t config,
                               uint32_t mask);

/* Carrier state of datapath port @dp_port (a single port or a bond member).
 * Down single ports are skipped by every output. 0 or -ENOENT. */
int sw_ofproto_set_link(struct sw_ofproto *ofp, uint32_t dp_port, bool up);

/* Name <-> ofport. 0 or -ENOENT. */
int sw_ofproto_port_by_name(struct sw_ofproto *ofp, const char *name, uint32_t *ofport);

struct sw_port_info {
    char name[64];
    uint32_t ofport;
    enum sw_vlan_mode vlan_mode;
    uint16_t tag;
    uint16_t n_trunks;            /* entries in trunks[] (capped at 64 shown) */
    uint16_t trunks[64];
    bool is_bond;
    uint32_t dp_port;             /* single port */
    uint32_t n_members;           /* bond */
    uint32_t members[16];
    bool link_up;                 /* single port: carrier; bond: any member enabled */
    uint32_t config;              /* SW_PC_* */
};
/* Call @fn for every port in ofport order. Control thread. */
void sw_ofproto_port_foreach(struct sw_ofproto *ofp,
                             void (*fn)(void *arg, const struct sw_port_info *info), void *arg);

/* "bond/show" and "lacp/show" text of bond port @name (snprintf semantics),
 * or -ENOENT (no such port) / -EINVAL (not a bond). */
int sw_ofproto_bond_show(struct sw_ofproto *ofp, const char *name, char *buf, size_t size);
int sw_ofproto_lacp_show(struct sw_ofproto *ofp, const char *name, char *buf, size_t size);

/* ---- mirrors ----------------------------------------------------------- */

struct sw_mirror_settings {
    const char *name;             /* required, unique */
    bool select_all;              /* every packet */
    const char *const *select_src;  /* port names: packets received on them */
    size_t n_select_src;
    const char *const *select_dst;  /* port names: packets sent to them */
    size_t n_select_dst;
    const uint16_t *select_vlan;  /* only these VLANs (n 0: any VLAN) */
    size_t n_select_vlan;
    const char *output;           /* output port name (required) */
};

/* Add (or replace, same name) a mirror. 0, -EINVAL (unknown port name,
 * missing output, VLAN > 4095), -ENOSPC (32 mirrors), -ENOMEM. */
int sw_ofproto_mirror_set(struct sw_ofproto *ofp, const struct sw_mirror_settings *s);
/* 0 or -ENOENT. */
int sw_ofproto_mirror_del(struct sw_ofproto *ofp, const char *name);
/* One line per mirror ("name: src=[..] dst=[..] vlans=[..] output=port"),
 * snprintf semantics. */
int sw_ofproto_mirror_format(struct sw_ofproto *ofp, char *buf, size_t size);

/* ---- OpenFlow rules ---------------------------------------------------- */

/* Compact action list of a rule (ofpact.c); opaque outside the library. */
struct sw_ofpacts;

/* Rule flags (OpenFlow flow-mod flags we keep). */
#define SW_OFP_FLAG_SEND_FLOW_REM 0x1
#define SW_OFP_FLAG_NO_COUNTS     0x2
#define SW_OFP_FLAG_RESET_COUNTS  0x4   /* modify: zero the counters (not kept) */

/* A parsed flow-mod: what add/modify/delete work on. */
struct sw_flow_mod {
    uint8_t table_id;             /* 0..254; with @table_all for deletes/modifies */
    bool table_all;               /* "table" not given on del/mod: every table */
    int32_t priority;             /* default 32768 */
    struct sw_flow_key match;     /* OpenFlow in_port */
    struct sw_flow_mask mask;
    uint64_t cookie;              /* add: the new rule's cookie */
    uint64_t cookie_mask;         /* del/mod: only rules with (cookie & mask) equal */
    uint16_t idle_timeout, hard_timeout;   /* seconds, 0 = none */
    uint16_t flags;               /* SW_OFP_FLAG_* */
    uint32_t out_port;            /* del: only rules that output to it (0 = any) */
    bool has_out_group;           /* del: only rules that use group @out_group */
    uint32_t out_group;
    struct sw_ofpacts *actions;   /* owned by the flow-mod (sw_flow_mod_uninit) */
};

enum sw_flow_mod_cmd {
    SW_FM_ADD,                    /* replaces an identical (table, priority, match) rule */
    SW_FM_MODIFY,                 /* non-strict: actions of every rule the match covers */
    SW_FM_MODIFY_STRICT,          /* exact (priority, match) */
    SW_FM_DELETE,                 /* non-strict: every rule the match covers */
    SW_FM_DELETE_STRICT,
};

/*
 * Parse ovs-ofctl flow text, e.g.
 *   "table=0,priority=100,in_port=1,dl_vlan=10,actions=strip_vlan,output:2"
 * Fields: table, priority, cookie (add: value; del/mod: value/mask),
 * idle_timeout, hard_timeout, send_flow_rem, no_counts, out_port (del),
 * any sw_flow_parse() match field (in_port by number or port name), and
 * actions=... (required for add/modify, must be last; see ofpact syntax in
 * docs/switch.md). Match prerequisites are checked (nw_src needs ip or
 * arp, tp_dst tcp/udp/sctp, ...), and actions against the match
 * (set_field prerequisites, goto_table forward and last, output ports in
 * range). @fm is zeroed first; on success the caller calls
 * sw_flow_mod_uninit(). Returns 0, -EINVAL with @err set, or -ENOMEM.
 * Control thread (port names are read).
 */
int sw_flow_mod_parse(struct sw_ofproto *ofp, enum sw_flow_mod_cmd cmd, const char *text,
                      struct sw_flow_mod *fm, char *err, size_t err_size);
void sw_flow_mod_uninit(struct sw_flow_mod *fm);

/*
 * Apply a flow-mod as one version (translations see all of it or none).
 * ADD: takes a copy of the actions; -EINVAL (table, priority out of
 * 0..65535), -ENOMEM. MODIFY*: replaces actions (counters stay; with no
 * match, nothing happens, like OF1.1+). DELETE*: removes. *n_changed (may
 * be NULL) gets the number of rules added, modified or deleted.
 */
int sw_ofproto_flow_mod(struct sw_ofproto *ofp, enum sw_flow_mod_cmd cmd,
                        const struct sw_flow_mod *fm, unsigned *n_changed);

/* Text shortcuts: parse + apply. `add-flow`, `mod-flows [--strict]`,
 * `del-flows [--strict]` ("" deletes every rule). */
int sw_ofproto_add_flow(struct sw_ofproto *ofp, const char *text, char *err, size_t err_size);
int sw_ofproto_mod_flows(struct sw_ofproto *ofp, const char *text, bool strict, char *err,
                         size_t err_size);
int sw_ofproto_del_flows(struct sw_ofproto *ofp, const char *text, bool strict,
                         unsigned *n_deleted, char *err, size_t err_size);

struct sw_rule_info {
    uint8_t table_id;
    int32_t priority;
    struct sw_flow_key match;
    struct sw_flow_mask mask;
    uint64_t cookie;
    uint16_t idle_timeout, hard_timeout, flags;
    uint64_t n_packets, n_bytes;
    uint64_t created_ms, used_ms;
    const struct sw_ofpacts *actions;    /* valid during the callback */
};

/*
 * Call @fn for each rule matching @filter (NULL: all; else sw_flow_mod
 * text like del-flows: "table=1,in_port=2"), ordered by table, then
 * priority (highest first). Returns 0 or the parse error. Control thread.
 */
int sw_ofproto_flow_dump(struct sw_ofproto *ofp, const char *filter,
                         void (*fn)(void *arg, const struct sw_rule_info *rule), void *arg,
                         char *err, size_t err_size);

/*
 * `dump-flows` text: one rule per line like ovs-ofctl
 *   " cookie=0x0, duration=1.5s, table=0, n_packets=3, n_bytes=180,
 *     priority=100,in_port=1 actions=output:2"
 * (@with_stats false leaves out duration/n_packets/n_bytes, for tests and
 * diffs; priority 32768 is still printed). snprintf semantics, or -EINVAL
 * for a bad filter.
 */
int sw_ofproto_dump_flows(struct sw_ofproto *ofp, const char *filter, bool with_stats,
                          char *buf, size_t size);

/* OpenFlow table statistics (OFPMP_TABLE): rules in the table, packets
 * looked up in it and packets that matched a rule, as credited from the
 * datapath (like rule counters). */
struct sw_table_stats {
    uint32_t active;
    uint64_t lookups, matched;
};
/* 0, or -EINVAL (no such table). Control thread. */
int sw_ofproto_table_stats(struct sw_ofproto *ofp, unsigned table, struct sw_table_stats *out);

/* ---- groups ---- */

enum sw_group_type {
    SW_GROUP_ALL,          /* every bucket (multicast, flooding) */
    SW_GROUP_SELECT,       /* one live bucket by a hash of the 5-tuple, weighted */
    SW_GROUP_INDIRECT,     /* its one bucket */
    SW_GROUP_FF,           /* fast failover: the first live bucket */
};

#define SW_GROUP_WATCH_NONE 0xffffffffu
#define SW_GROUP_MAX_ID     0xffffff00u  /* OpenFlow's OFPG_MAX */
#define SW_GROUP_MAX_BUCKETS 64

enum sw_group_mod_cmd { SW_GM_ADD, SW_GM_MODIFY, SW_GM_ADD_OR_MOD, SW_GM_DELETE };

/*
 * A group-mod in ovs-ofctl syntax:
 *   "group_id=1,type=select,bucket=weight:10,actions=output:1,bucket=output:2"
 *   "group_id=2,type=ff,bucket=watch_port:1,actions=output:1,bucket=watch_port:2,output:2"
 * type all|select|indirect|ff (fast_failover); a bucket's settings
 * (weight:N, watch_port:P, watch_group:G, bucket_id:N ignored) come before
 * its actions ("actions=" optional). DELETE takes "group_id=N", "" or
 * "group_id=all" (every group), and also deletes the rules that use a
 * deleted group (OpenFlow's rule). Errors: -EEXIST (ADD of an existing
 * id), -ENOENT (MODIFY of a missing one), -ELOOP (a chain of groups back
 * to itself), -EINVAL (bad text, unknown group in a bucket, an indirect
 * group without exactly one bucket, a fast-failover bucket that watches
 * nothing), with @err set. Revalidation follows (the change sequence
 * moves). Control thread.
 */
int sw_ofproto_group_mod(struct sw_ofproto *ofp, enum sw_group_mod_cmd cmd, const char *text,
                         char *err, size_t err_size);

struct sw_group_info {
    uint32_t id;
    enum sw_group_type type;
    unsigned n_buckets;
    uint64_t n_packets, n_bytes, created_ms;
    unsigned ref_count;                 /* rules that use it */
};

/*
 * `dump-groups` text, one group per line like ovs-ofctl:
 *   " group_id=1,type=select,bucket=weight:10,actions=output:1,bucket=..."
 * and with @stats `dump-group-stats`:
 *   " group_id=1,duration=2.0s,ref_count=1,packet_count=5,byte_count=300,
 *     bucket0:packet_count=3,byte_count=180,bucket1:..."
 * @id: one group, or SW_GROUP_WATCH_NONE for all (sorted by id).
 * snprintf semantics. Control thread.
 */
int sw_ofproto_dump_groups(struct sw_ofproto *ofp, uint32_t id, bool stats, char *buf,
                           size_t size);
const char *sw_group_type_name(enum sw_group_type t);

/* One group as the OpenFlow group-desc and group-stats replies need it. */
struct sw_group_bucket_desc {
    uint16_t weight;
    uint32_t watch_port, watch_group;   /* SW_GROUP_WATCH_NONE: none */
    const struct sw_ofpacts *actions;
    uint64_t n_packets, n_bytes;
};
struct sw_group_desc {
    uint32_t id;
    enum sw_group_type type;
    uint64_t duration_ms;
    unsigned ref_count;                 /* rules that use it */
    uint64_t n_packets, n_bytes;
    unsigned n_buckets;
    struct sw_group_bucket_desc buckets[SW_GROUP_MAX_BUCKETS];
};
/* Call @fn for group @id, or every group (SW_GROUP_WATCH_NONE) in id
 * order. @fn runs under the bridge's configuration lock: it must not call
 * sw_ofproto functions. 0 or -ENOMEM. Control thread. */
int sw_ofproto_group_foreach(struct sw_ofproto *ofp, uint32_t id,
                             void (*fn)(void *arg, const struct sw_group_desc *g), void *arg);

/* ---- meters ---- */

#define SW_OFP_MAX_METERS 1024   /* per bridge; meter ids 1..0xffff0000 */

/*
 * A meter-mod in ovs-ofctl syntax:
 *   "meter=1,kbps,burst,band=type=drop,rate=1000,burst_size=100"
 *   "meter=2,pktps,bands=type=drop,rate=10"
 * kbps (default) or pktps; `burst` makes the bands' burst_size count
 * (else 100 ms at the rate); drop bands only (type=dscp_remark: -ENOTSUP).
 * DELETE takes "meter=N" or "" / "meter=all" and deletes the rules that
 * use a deleted meter. Errors: -EEXIST, -ENOENT (modify of a missing
 * meter), -ENOTSUP (no provider, or a band type the datapath lacks),
 * -ENOSPC (SW_OFP_MAX_METERS), -EINVAL, with @err set. Control thread.
 */
enum sw_meter_mod_cmd { SW_MM_ADD, SW_MM_MODIFY, SW_MM_DELETE };
int sw_ofproto_meter_mod(struct sw_ofproto *ofp, enum sw_meter_mod_cmd cmd, const char *text,
                         char *err, size_t err_size);

/*
 * `dump-meters` text, one meter per line like ovs-ofctl:
 *   "meter=1 kbps burst bands=\ntype=drop rate=1000 burst_size=100"
 * flattened to one line per meter: " meter=1,kbps,burst,bands=type=drop,rate=1000,burst_size=100"
 * and with @stats `meter-stats`:
 *   " meter=1,flow_count=1,packet_in_count=10,byte_in_count=600,duration=1.0s,
 *     bands=0:packet_count=2,byte_count=120"
 * @id 0: all (sorted). snprintf semantics. Control thread.
 */
int sw_ofproto_dump_meters(struct sw_ofproto *ofp, uint32_t id, bool stats, char *buf,
                           size_t size);

/* One meter as the OpenFlow meter-config and meter-stats replies need it. */
struct sw_meter_desc {
    uint32_t id;
    bool burst;                         /* OFPMF_BURST */
    struct sw_meter_config cfg;
    struct sw_meter_stats stats;
    unsigned flow_count;
    uint64_t duration_ms;
};
/* Call @fn for meter @id, or every meter (0), in id order. @fn may not call
 * sw_ofproto functions that change meters. 0 or -ENOMEM. Control thread. */
int sw_ofproto_meter_foreach(struct sw_ofproto *ofp, uint32_t id,
                             void (*fn)(void *arg, const struct sw_meter_desc *m), void *arg);

/* Format one rule's match + actions ("priority=100,in_port=1 actions=output:2"). */
int sw_rule_format(const struct sw_rule_info *rule, char *buf, size_t size);

/*
 * Parse an action list ("strip_vlan,output:2", "" or "drop" = drop)
 * against an optional match (prerequisites) for table @table_id. Returns
 * 0 and *out (free with sw_ofpacts_free), -EINVAL with @err, -ENOMEM.
 */
int sw_ofpacts_parse(struct sw_ofproto *ofp, const char *text, const struct sw_flow_key *match,
                     const struct sw_flow_mask *mask, uint8_t table_id, struct sw_ofpacts **out,
                     char *err, size_t err_size);
/* Canonical text ("drop" when empty). snprintf semantics. */
int sw_ofpacts_format(const struct sw_ofpacts *a, char *buf, size_t size);
void sw_ofpacts_free(struct sw_ofpacts *a);

/*
 * OpenFlow's check_overlap: whether a rule in @fm's table with @fm's
 * priority could match a packet that @fm's match also matches (an
 * identical match counts). Control thread.
 */
bool sw_ofproto_flow_overlaps(struct sw_ofproto *ofp, const struct sw_flow_mod *fm);

/* Number of rules in the bridge (all tables). */
unsigned sw_ofproto_rule_count(struct sw_ofproto *ofp);

/* ---- translation ------------------------------------------------------- */

/* A text trace being written (snprintf-like: @len may exceed @size). */
struct sw_xlate_trace {
    char *buf;
    size_t size;
    size_t len;
};

/* Translation flags. */
#define SW_XLATE_NO_LEARN 0x1     /* don't touch the MAC table (revalidation) */
#define SW_XLATE_NO_STATS 0x2     /* don't count rule hits */

/*
 * Translate @key (in_port = datapath port) into datapath actions appended
 * to @actions (the caller initializes it) and OR into @wc (not NULL) every
 * key bit the result depends on. @pkt is the packet or NULL (not read
 * today: everything comes from the key). @trace, if not NULL, receives the
 * trace text. Learns MACs and counts rule hits (one packet of the key's
 * bytes unknown: n_bytes is added by the upcall) unless @flags say not.
 * Returns 0; -ENOENT if the in_port is not a port of this bridge (actions
 * empty = drop, in_port in wc); -E2BIG if the actions overflowed (the list
 * is truncated to drop); -ELOOP when the resubmit depth was exceeded
 * (actions so far kept, like OVS). Any RCU reader thread.
 */
int sw_ofproto_xlate(struct sw_ofproto *ofp, const struct sw_flow_key *key,
                     const struct pkt_buf *pkt, struct sw_odp_buf *actions,
                     struct sw_flow_mask *wc, unsigned flags, struct sw_xlate_trace *trace);

/*
 * Packet-out: translate action list @acts for a packet with @key (in_port
 * ignored) arriving from OpenFlow port @in_ofport (a port of the bridge,
 * or a reserved number such as OFPP_CONTROLLER for none) into datapath
 * actions appended to @actions. No learning, no counting. Returns 0,
 * -E2BIG or -ELOOP as sw_ofproto_xlate(). Any RCU reader thread.
 */
int sw_ofproto_xlate_actions(struct sw_ofproto *ofp, const struct sw_flow_key *key,
                             uint32_t in_ofport, const struct sw_ofpacts *acts,
                             struct sw_odp_buf *actions);

/*
 * ofproto/trace: @flow_text is a sw_flow_parse() flow whose in_port is an
 * OpenFlow port number or port name (unmasked fields are 0). Writes a
 * trace like `ovs-appctl ofproto/trace` — the flow, each table visited
 * with the rule matched and its actions, NORMAL's decisions, the final
 * flow, the megaflow and the datapath actions. Does not learn or count.
 * snprintf semantics, or -EINVAL with the parse error in @buf.
 */
int sw_ofproto_trace(struct sw_ofproto *ofp, const char *flow_text, char *buf, size_t size);

/*
 * The datapath upcall handler (a sw_upcall_fn with @arg = the bridge):
 * LACP frames on bond members go to the bond (CONSUMED); otherwise
 * translate with learning, set up->flow_user = @ofp and return INSTALL
 * (the megaflow's statistics credit the rules later, see
 * sw_ofproto_credit), or NO_INSTALL for a key that is not ours or
 * translations that failed (the packet is credited to the rules it hit at
 * once). Any PMD thread.
 */
enum sw_upcall_result sw_ofproto_upcall(struct sw_ofproto *ofp, struct sw_upcall *up);

/*
 * Credit @packets packets of @bytes bytes, last used at @used_ms (0: now),
 * to every rule a packet with @key goes through (the tables as they are
 * now; the MAC table is not touched). This is how rule counters and idle
 * timeouts follow the datapath: the daemon pushes each megaflow's
 * statistics here (sw_dpif_flow_push, the megaflow's key), since upcalls
 * that install a megaflow count nothing themselves. Any thread that may
 * translate (an RCU reader).
 */
void sw_ofproto_credit(struct sw_ofproto *ofp, const struct sw_flow_key *key, uint64_t packets,
                       uint64_t bytes, uint64_t used_ms);
/* The same with a void * first argument, for struct sw_dpif_opts.upcall. */
enum sw_upcall_result sw_ofproto_upcall_cb(void *ofp, struct sw_upcall *up);

/*
 * Revalidate one megaflow (key & mask, current actions): re-translate the
 * masked key without learning or counting. If the new wildcards are not
 * within @mask the megaflow now covers packets that would be treated
 * differently: SW_MFC_DELETE. Same actions: SW_MFC_KEEP. Otherwise
 * SW_MFC_REPLACE with *new_actions (thread-local storage, valid until the
 * thread's next call). Any RCU reader thread.
 */
enum sw_mfc_reval sw_ofproto_revalidate_flow(struct sw_ofproto *ofp,
                                             const struct sw_flow_key *key,
                                             const struct sw_flow_mask *mask,
                                             const void *actions, size_t actions_len,
                                             const void **new_actions, size_t *new_len);

/* sw_mfc_reval_fn adapter: @arg is the bridge; flows whose @user is
 * another bridge (non-NULL and not @arg) are kept untouched. */
enum sw_mfc_reval sw_ofproto_mfc_reval(void *arg, const struct sw_flow_key *key,
                                       const struct sw_flow_mask *mask, const void *actions,
                                       size_t actions_len, void *user,
                                       const void **new_actions, size_t *new_len);

/* ---- MAC table (fdb) --------------------------------------------------- */

struct sw_fdb_entry {
    uint16_t vlan;
    uint8_t mac[6];
    uint32_t ofport;
    char port_name[64];
    uint32_t age_s;
};
/* Call @fn for every live entry (port, VLAN, MAC order). Any thread. */
void sw_ofproto_fdb_foreach(struct sw_ofproto *ofp,
                            void (*fn)(void *arg, const struct sw_fdb_entry *e), void *arg);
/* `fdb/show` text: " port  VLAN  MAC                Age" lines like OVS. */
int sw_ofproto_fdb_show(struct sw_ofproto *ofp, char *buf, size_t size);
/* `fdb/flush`: forget every entry. Bumps the change sequence. */
void sw_ofproto_fdb_flush(struct sw_ofproto *ofp);

#endif /* SW_OFPROTO_H */
