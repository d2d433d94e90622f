/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofproto_internal.h — structures shared by ofproto.c (bridge, ports,
 * mirrors, rules), ofpact.c (action lists) and xlate.c (translation).
 * Not a public header.
 */
#ifndef SW_OFPROTO_INTERNAL_H
#define SW_OFPROTO_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "classifier.h"
#include "mac_learning.h"
#include "ofproto.h"

/* ---- action lists (ofpact.c) ---- */

enum ofpact_type {
    SWACT_OUTPUT = 1,   /* port */
    SWACT_IN_PORT,
    SWACT_FLOOD,
    SWACT_ALL,
    SWACT_NORMAL,
    SWACT_CONTROLLER,   /* u16 = max_len */
    SWACT_MOD_VLAN_VID, /* u16 = vid; flavor 1: set_field (no push when untagged) */
    SWACT_MOD_VLAN_PCP, /* u16 = pcp; flavor 1: set_field */
    SWACT_POP_VLAN,     /* flavor 0: strip_vlan, 1: pop_vlan */
    SWACT_PUSH_VLAN,    /* u16 = tpid */
    SWACT_SET_FIELD,    /* field, value, mask; flavor 0: mod_*, 1: set_field */
    SWACT_DEC_TTL,
    SWACT_RESUBMIT,     /* port (0: current in_port), table (SWACT_TABLE_CURRENT) */
    SWACT_GOTO_TABLE,   /* table */
    SWACT_CLEAR_ACTIONS,   /* empty the action set */
    SWACT_WRITE_ACTIONS,   /* u16 = count: the next u16 entries go into the action set */
    SWACT_WRITE_METADATA,  /* value.metadata under mask.masks.metadata */
    SWACT_GROUP,           /* port = group id */
    SWACT_METER,           /* port = meter id (the first instruction) */
};

#define SWACT_TABLE_CURRENT 255

struct ofpact {
    uint8_t type;
    uint8_t flavor;
    uint8_t field;       /* index into sw__ofp_fields */
    uint8_t table;       /* RESUBMIT, GOTO_TABLE; SET_FIELD: IP protocol its name
                            implied (udp_dst: 17), 0 none */
    uint16_t u16;
    uint32_t port;
    struct sw_flow_key value;   /* SWACT_SET_FIELD: value & mask */
    struct sw_flow_mask mask;
};

struct sw_ofpacts {
    unsigned n;
    struct ofpact a[];
};

/* Settable fields. */
enum ofp_field_type { FT_MAC, FT_IPV4, FT_IPV6, FT_INT };
enum ofp_field_group { FG_ETH, FG_IPV4, FG_IP, FG_IPV6, FG_L4 };
struct ofp_field {
    const char *name;       /* set_field name */
    const char *mod_name;   /* mod_* action name, or NULL */
    const char *flow_name;  /* sw_flow_parse() field the value is parsed as */
    enum ofp_field_group group;
};
extern const struct ofp_field sw__ofp_fields[];
extern const unsigned sw__ofp_n_fields;

/* Largest ofport an action can name (also OFPP_* aliases are parsed to actions). */
int sw__ofpacts_dup(const struct sw_ofpacts *a, struct sw_ofpacts **out);
/* True if the list outputs to @ofport (del-flows out_port filter). */
bool sw__ofpacts_output_to(const struct sw_ofpacts *a, uint32_t ofport);

/* Text written into a caller's buffer with snprintf semantics: @len counts
 * what the whole text needs, even past @size. */
struct sw__out {
    char *buf;
    size_t size, len;
};
void sw__put(struct sw__out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True if the list (action sets included) uses group @id / meter @id. */
bool sw__ofpacts_uses_group(const struct sw_ofpacts *a, uint32_t id);
bool sw__ofpacts_uses_meter(const struct sw_ofpacts *a, uint32_t id);

/* ---- groups (group.c) ---- */

/* A decimal or 0x number in 0..@max, the whole of @s (group and meter
 * text): 0 or -EINVAL. */
int sw__parse_u32(const char *s, uint32_t max, uint32_t *out);

struct group_bucket {
    uint16_t weight;            /* select: share of the traffic */
    uint32_t watch_port;        /* ofport whose liveness decides, or SW_GROUP_WATCH_NONE */
    uint32_t watch_group;       /* group whose liveness decides, or SW_GROUP_WATCH_NONE */
    struct sw_ofpacts *actions;
    _Atomic uint64_t n_packets, n_bytes;
};

/* Immutable but for its counters; replaced whole by a modify (the old
 * one's counters carry over). Read under cfg_lock. */
struct group {
    uint32_t id;
    enum sw_group_type type;
    uint64_t created_ms;
    _Atomic uint64_t n_packets, n_bytes;
    unsigned n_buckets;
    struct group_bucket buckets[];
};

/* Under cfg_lock (either mode): the group, or NULL. */
struct group *sw__group_find(const struct sw_ofproto *ofp, uint32_t id);
/* Takes cfg_lock: whether group @id exists. */
bool sw__group_exists(struct sw_ofproto *ofp, uint32_t id);
void sw__groups_free(struct sw_ofproto *ofp);
/* ofproto.c, under ofp->mutex: delete every rule that uses group @id /
 * meter @id. */
unsigned sw__ofproto_del_rules_with_group(struct sw_ofproto *ofp, uint32_t id);
unsigned sw__ofproto_del_rules_with_meter(struct sw_ofproto *ofp, uint32_t id);
/* Takes ofp->mutex: the rules that use meter (@meter) or group @id. */
unsigned sw__ofproto_count_rules_using(struct sw_ofproto *ofp, bool meter, uint32_t id);

/* ---- meters (meter.c) ---- */

struct meter_entry {
    uint32_t id;
    uint32_t dp_id;             /* the provider's number */
    bool burst;                 /* OFPMF_BURST: the bands' burst sizes count */
    uint64_t created_ms;
    struct sw_meter_config cfg;
};

/* Under cfg_lock: the meter's datapath number, or UINT32_MAX. */
uint32_t sw__meter_dp_id(const struct sw_ofproto *ofp, uint32_t id);
/* Takes cfg_lock: whether meter @id exists. */
bool sw__meter_exists(struct sw_ofproto *ofp, uint32_t id);
void sw__meters_free(struct sw_ofproto *ofp);
void sw__ofproto_bump(struct sw_ofproto *ofp);

/* ---- bridge ---- */

struct ofport {
    char name[64];
    uint32_t ofport;
    enum sw_vlan_mode vlan_mode;
    uint16_t tag;
    bool all_trunks;
    uint16_t n_trunks;
    uint8_t trunks[4096 / 8];   /* bitmap */
    bool is_bond;
    uint32_t dp_port;           /* single port */
    bool link_up;
    struct sw_bond *bond;
    uint32_t *members;
    size_t n_members;
    uint32_t config;            /* SW_PC_* (OpenFlow port-mod) */
    uint32_t mirror_src;        /* mirrors selecting packets received here */
    uint32_t mirror_dst;        /* ... and sent here */
};

struct mirror {
    char name[64];
    bool select_all;
    bool any_vlan;
    uint8_t vlans[4096 / 8];
    uint32_t out_ofport;
};

/* Control-thread bookkeeping of a rule (under the bridge mutex): the
 * bridge's list (insertion order: dumps break priority ties with it), its
 * table's list (non-strict flow-mods scan only the tables they name) and
 * the bridge's index by (table, priority, match, mask) (strict flow-mods
 * and add's replacement of an identical rule). */
struct rule {
    struct rule *prev, *next;   /* bridge's rule list */
    struct rule *table_prev, *table_next;   /* its table's list, NULL-terminated */
    struct rule *hash_next;     /* index bucket chain */
    uint64_t hash;              /* rule_hash() of table, priority, match, mask */
    uint8_t table_id;
    int32_t priority;
    struct sw_flow_key match;
    struct sw_flow_mask mask;
    uint64_t cookie;
    uint16_t idle_timeout, hard_timeout, flags;
    uint64_t created_ms;
    _Atomic uint64_t used_ms;
    _Atomic uint64_t n_packets, n_bytes;
    struct sw_ofpacts *_Atomic actions;
    struct sw_cls_rule *cr;
};

/* A table's rules (struct rule's table_prev/table_next). */
struct rule_list {
    struct rule *head, *tail;
    unsigned n;
};

struct sw_ofproto {
    char name[64];
    uint8_t mac[6];
    uint64_t (*now_fn)(void *arg);
    void *now_arg;

    pthread_mutex_t mutex;        /* control operations, one at a time */
    pthread_rwlock_t cfg_lock;    /* ports and mirrors: xlate reads, control writes */
    struct ofport *ports[SW_OFP_MAX_PORTS]; /* sorted by ofport */
    unsigned n_ports;
    struct mirror *mirrors[SW_OFP_MAX_MIRRORS];

    struct sw_cls *_Atomic tables[SW_OFP_TABLES];
    _Atomic uint64_t version;     /* rule version translations use */
    struct rule rules;            /* list sentinel */
    unsigned n_rules;
    unsigned n_timed_rules;       /* with an idle or hard timeout */
    struct rule_list table_rules[SW_OFP_TABLES]; /* each table's, insertion order */
    struct rule **index;          /* hash buckets (chains), a power of two */
    size_t index_buckets;

    struct sw_mac_table *macs;
    _Atomic uint64_t seq;         /* configuration and rule changes */

    struct group **groups;        /* sorted by id; under cfg_lock (xlate reads) */
    unsigned n_groups, cap_groups;

    struct meter_entry *meters;   /* sorted by id; under cfg_lock (xlate reads) */
    unsigned n_meters;
    struct sw_meter_provider meter_provider;
    bool has_meter_provider;

    _Atomic uint64_t tbl_lookups[SW_OFP_TABLES], tbl_matched[SW_OFP_TABLES];
    _Atomic bool fail_open;           /* NORMAL for every packet (sw_ofproto_set_fail_open) */
    _Atomic unsigned miss_send_len;   /* table miss: 0 drop, else max_len + 1 to controller */
    void (*flow_removed)(void *arg, const struct sw_rule_info *rule, int reason);
    void *flow_removed_arg;
};

uint64_t sw__ofproto_now(const struct sw_ofproto *ofp);
/* Under cfg_lock (either mode). */
struct ofport *sw__port_by_ofport(const struct sw_ofproto *ofp, uint32_t ofport);
struct ofport *sw__port_by_dp(const struct sw_ofproto *ofp, uint32_t dp_port);
struct ofport *sw__port_by_name(const struct sw_ofproto *ofp, const char *name);
/* Port name -> ofport for parsers (takes cfg_lock). 0 or -ENOENT. */
int sw__ofport_from_text(struct sw_ofproto *ofp, const char *text, uint32_t *ofport);

/* xlate.c: sw_ofproto_xlate() with the bytes to count per rule hit (one
 * packet, used now). */
int sw__ofproto_xlate(struct sw_ofproto *ofp, const struct sw_flow_key *key,
                      struct sw_odp_buf *actions, struct sw_flow_mask *wc, unsigned flags,
                      struct sw_xlate_trace *trace, uint64_t bytes);
/* The same crediting @packets packets of @bytes bytes last used at
 * @used_ms (0: now) to every rule hit. */
int sw__ofproto_xlate_credit(struct sw_ofproto *ofp, const struct sw_flow_key *key,
                             struct sw_odp_buf *actions, struct sw_flow_mask *wc, unsigned flags,
                             struct sw_xlate_trace *trace, uint64_t packets, uint64_t bytes,
                             uint64_t used_ms);

static inline bool sw__vlan_bit(const uint8_t *bitmap, uint16_t vlan)
{
    return bitmap[vlan >> 3] & (1u << (vlan & 7));
}

static inline int sw__fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
static inline int sw__fail(char *err, size_t err_size, const char *fmt, ...)
{
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

#endif /* SW_OFPROTO_INTERNAL_H */
