/* SPDX-License-Identifier: Apache-2.0 */
/*
 * switchd.h — kvmkit-switchd's internal model, shared by its files.
 *
 * The daemon keeps the configuration as an operator gave it (bridges,
 * ports with their settings, bonds, mirrors) and drives the libraries
 * from it: one sw_dpif for every bridge, one sw_ofproto per bridge, one
 * sw_bond per bond port. Everything here runs on the control thread (the
 * daemon's main reactor) except the upcall dispatch, which runs on PMD
 * threads and reads only the RCU-published port map.
 *
 * Files: kvmkit-switchd.c (options, start-up, the periodic run),
 * switchd/model.c (bridges, ports, bonds, mirrors, the port map, the saved
 * configuration), switchd/rpc.c (the JSON-RPC methods).
 */
#ifndef KK_SWITCHD_H
#define KK_SWITCHD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bond.h"
#include "dpif.h"
#include "kk_daemon.h"
#include "ofagent.h"
#include "ofproto.h"

struct sd_bridge;

/* One interface: a datapath port. A plain port has one, a bond several. */
struct sd_iface {
    char *name;
    char *type;              /* "system", "afxdp", "tap", "pcap", "ring",
                                "vhost-user", "vhost-user-client" */
    json_t *options;         /* {key: string} as configured */
    uint32_t dp_port;
    bool link_up;
    uint8_t mac[6];
};

struct sd_port {
    char *name;
    struct sd_bridge *br;
    json_t *settings;        /* every KEY=VALUE it was given, merged (saved) */
    struct sd_iface *ifaces;
    size_t n_ifaces;
    bool is_bond;
    uint32_t ofport;
    /* VLAN */
    int tag;                 /* -1: none */
    uint16_t *trunks;        /* NULL: all VLANs */
    size_t n_trunks;
    char *vlan_mode;         /* NULL: implied (access with tag, else trunk) */
    /* bond (the ofproto owns the sw_bond) */
    struct sw_bond_settings bond_settings;
    uint32_t active_member;  /* last seen, for failover logs */
    bool lacp_negotiated;
    struct sd_port *next;
};

struct sd_mirror {
    char *name;
    json_t *spec;            /* as given (saved and shown) */
    struct sd_mirror *next;
};

struct sd_bridge {
    char *name;
    struct switchd *sd;
    struct sw_ofproto *ofproto;
    uint8_t mac[6];
    struct sd_port *ports;
    struct sd_mirror *mirrors;
    uint64_t seen_seq;       /* ofproto change sequence at the last revalidation */
    json_t *flows;           /* saved rules (add-flow texts), NULL: the default */
    json_t *groups;          /* saved groups (group texts), NULL: none */
    json_t *meters;          /* saved meters (meter texts), NULL: none */
    /* OpenFlow (ofagent.h): controllers, fail mode, versions (all saved) */
    struct sw_ofagent *agent;
    json_t *controllers;     /* target strings, NULL: none */
    bool fail_secure;        /* fail mode secure (else standalone) */
    json_t *protocols;       /* "OpenFlow10"/"OpenFlow13" strings, NULL: both */
    unsigned of_dirty;       /* SW_OFAGENT_* changed through OpenFlow, not saved yet */
    uint64_t of_changed_ms;  /* when (saved after a quiet second) */
    json_t *stale;           /* ports and mirrors that failed to restore (an
                                interface missing at start): kept in the file,
                                retried on the next start */
    struct sd_bridge *next;
};

/* Which bridge a datapath port belongs to, for upcalls: RCU-published,
 * replaced whole by the control thread. */
struct sd_map {
    struct sw_ofproto *ofp[SW_DPIF_MAX_PORTS];
};

struct switchd {
    struct kk_daemon d;
    const char *config_path;
    const char *rpc_path;
    char *vhost_dir;         /* default directory for vhost-user sockets */
    struct sw_dpif *dpif;
    struct sd_bridge *bridges;
    struct sd_map *map;      /* RCU-published; written by the control thread */
    bool used_dp[SW_DPIF_MAX_PORTS];
    struct kk_timer *timer;
    bool restoring;          /* no saving while the configuration is read back */
    bool no_default_flow;    /* bridges being restored get their saved rules */
    uint64_t pushed_ms;      /* last megaflow statistics push */
    /* Automatic receive-queue rebalancing (--pmd-auto-lb; 0 s: off). */
    unsigned auto_lb_s, auto_lb_load_pct, auto_lb_improve_pct;
    uint64_t auto_lb_next_ms, auto_lb_checks, auto_lb_moves;
    struct sw_dpif_auto_lb auto_lb_last;
    bool dp_meter_used[SW_DPIF_MAX_METERS]; /* datapath meter numbers in use (all bridges) */
};

/* OpenFlow versions of a bridge without `protocols`: 1.0 and 1.3. */
#define OFP_VERSIONS_DEFAULT ((1u << 1) | (1u << 4))

/* Megaflow statistics are pushed to the rules this often (and before every
 * revalidation and rule dump). */
#define SD_PUSH_PERIOD_MS 1000

/* ---- model.c -------------------------------------------------------------- */

struct sd_bridge *sd_bridge_find(struct switchd *sd, const char *name);
/* Finds a port by name in every bridge (names are unique in the switch). */
struct sd_port *sd_port_find(struct switchd *sd, const char *name);
/* Finds a port, bond or bond member interface by name; *iface set for a member. */
struct sd_port *sd_iface_find(struct switchd *sd, const char *name, struct sd_iface **iface);

int sd_bridge_add(struct switchd *sd, const char *name, char *err, size_t errlen);
int sd_bridge_del(struct switchd *sd, struct sd_bridge *br);

/* @settings: {KEY: string} (type, options:K, tag, trunks, vlan_mode,
 * ofport_request, bond_mode, lacp, other_config:K). @members: NULL for a
 * plain port, else an array of interface names (a bond). @ofport: the
 * number to restore, 0 for none. */
int sd_port_add(struct sd_bridge *br, const char *name, const json_t *members,
                const json_t *settings, uint32_t ofport, char *err, size_t errlen);
int sd_port_del(struct sd_port *port);
int sd_port_set(struct sd_port *port, const json_t *settings, char *err, size_t errlen);

/* Drop a port (@mirror false) or mirror that failed to restore from the
 * saved configuration. Returns true if there was one. */
bool sd_forget_stale(struct switchd *sd, const char *name, bool mirror);

int sd_mirror_add(struct sd_bridge *br, const char *name, const json_t *spec, char *err,
                  size_t errlen);
int sd_mirror_del(struct sd_bridge *br, const char *name);

/* Name of a datapath port (an interface), or NULL. */
const char *sd_dp_port_name(struct switchd *sd, uint32_t dp_port);

/* The dpif's callbacks. */
enum sw_upcall_result sd_upcall(void *arg, struct sw_upcall *up);
/* SW_ODP_USERSPACE on a PMD thread: packet-ins, handed to the control thread. */
void sd_userspace(void *arg, const struct sw_odp_userspace *u, const struct pkt_buf *pkt,
                  uint32_t in_port);

/* OpenFlow controllers (vsctl set-controller / del-controller), fail mode
 * and versions of a bridge: applied and saved. 0 or -EINVAL with @err. */
int sd_bridge_set_controllers(struct sd_bridge *br, const json_t *targets, char *err,
                              size_t errlen);
void sd_bridge_set_fail_mode(struct sd_bridge *br, bool secure);
int sd_bridge_set_protocols(struct sd_bridge *br, const json_t *protocols, char *err,
                            size_t errlen);

/* Keep the bridge's rules (as add-flow texts), groups or meters in the
 * configuration (rpc.c; model.c calls them after OpenFlow changes). */
void sd_save_flows(struct sd_bridge *br);
void sd_save_groups(struct sd_bridge *br);
void sd_save_meters(struct sd_bridge *br);

/* Credit every megaflow's traffic since the last push to its rules. */
void sd_push_stats(struct switchd *sd);
/* Revalidate the megaflows of every bridge whose change sequence moved
 * (statistics pushed first). */
void sd_revalidate(struct switchd *sd);
/* The periodic run: links, bonds, MAC aging, revalidation. */
void sd_run(struct switchd *sd);

/* Configuration file: mark changed (saved at once unless restoring), the
 * current configuration, restore at start. */
void sd_config_changed(struct switchd *sd);
json_t *sd_config_json(struct switchd *sd);
int sd_restore(struct switchd *sd);
void sd_shutdown(struct switchd *sd);

/* ---- rpc.c ---------------------------------------------------------------- */

void sd_rpc_register(struct switchd *sd);
/* The methods with their one-line descriptions, for --help. */
void sd_rpc_help(FILE *out);

#endif
