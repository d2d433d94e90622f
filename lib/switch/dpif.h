/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dpif.h — the userspace datapath: ports, PMD threads, flow caches, upcalls.
 *
 * Design note
 * -----------
 * One datapath per daemon serves every bridge (like OVS's netdev
 * datapath): it owns the lib/pkt ports, numbered by datapath port number,
 * and a set of PMD threads (kk_reactor pollers, pinned to the configured
 * CPUs) that poll the ports' receive queues in bursts of up to
 * SW_DPIF_BURST packets. Receive queues are spread over the PMD threads
 * round-robin (the busiest first once there are measurements) and
 * reassigned whenever a port comes or goes; a PMD picks up its new poll
 * list at the start of a turn, so no packet is lost in a move.
 *
 * Per received burst a PMD thread:
 *   1. extracts each packet's flow key (sw_flow_extract, in_port = the
 *      datapath port number);
 *   2. looks it up in its exact-match cache, then the shared megaflow
 *      cache (sw_mfc) for the misses;
 *   3. for what still misses, calls the upcall handler (the slow path,
 *      ofproto's translation) on this same thread, which returns the
 *      actions and the wildcards its decision consulted; the datapath
 *      installs the megaflow (key & wildcards) unless told not to, and
 *      executes the actions on the packet;
 *   4. groups packets by megaflow, executes each group's actions once
 *      (sw_odp_execute) and accounts the group's statistics to the flow;
 *   5. sends what the actions output in per-port transmit bursts at the
 *      end of the turn.
 * Simple match (after OVS's): when a burst from a port resolves to one
 * megaflow whose mask has bits only in the simple fields (in_port,
 * dl_type, VLAN tags, nw_proto, nw_frag: sw_flow_mask_is_simple()), the
 * PMD remembers it for that port (a counted reference). Later bursts from
 * the port read just those fields (sw_flow_extract_simple()) and, when
 * every packet of the burst agrees with the megaflow's match, go to its
 * actions at once: no key, no EMC, one accounting. Any packet that does
 * not agree (or that the simple reader cannot read) sends the whole burst
 * down the normal path. The megaflow is re-checked every burst: once
 * revalidation or expiry removes it (a new rule whose wildcards it does
 * not cover, a flush), the port's entry is dropped and the normal path
 * decides; replaced actions are read afresh each burst. Statistics are
 * credited to the megaflow and counted as simple_hits.
 *
 * Transmit queues: each PMD thread has its own transmit queue on each
 * port when the port has enough, otherwise PMDs share queue (pmd index mod
 * n_txq) under a spinlock. The control thread (sw_dpif_execute) counts as
 * one more sender.
 *
 * Megaflows expire after flow_idle_ms without traffic (checked once a
 * second) and are capped at max_flows (new ones are then not installed:
 * the packet is executed from the slow path only). When the OpenFlow
 * tables or the bridge configuration change, the owner calls
 * sw_dpif_revalidate(), which re-runs its callback on every megaflow.
 *
 * Threads: the control functions (everything but the upcall callback,
 * which runs on PMD threads) are called from one control thread at a time
 * (the daemon's main reactor). Every PMD thread and the control thread are
 * RCU readers.
 */
#ifndef SW_DPIF_H
#define SW_DPIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpcache.h"
#include "flow.h"
#include "odp.h"

struct pkt_buf;
struct pkt_port;
struct sw_dpif;

#define SW_DPIF_BURST 32
#define SW_DPIF_MAX_PMDS 64
#define SW_DPIF_MAX_PORTS 1024
#define SW_DPIF_PORT_NONE UINT32_MAX

/* What the upcall handler decided for a missed packet. */
enum sw_upcall_result {
    SW_UPCALL_INSTALL = 0,   /* install key & wc with the actions, and execute them */
    SW_UPCALL_NO_INSTALL,    /* execute the actions on this packet only (e.g. slow-path
                                packets such as LACP, or a full table) */
    SW_UPCALL_CONSUMED,      /* the handler took the packet (protocol frame): nothing to do */
};

struct sw_upcall {
    const struct sw_flow_key *key;  /* in_port = datapath port */
    const struct pkt_buf *pkt;      /* read-only; the handler may copy it */
    /* Filled by the handler: */
    struct sw_odp_buf actions;      /* initialized empty (drop) */
    struct sw_flow_mask wc;         /* initialized to in_port + the fields
                                       extraction itself depends on (dl_type,
                                       nw_proto, nw_frag): the handler ORs in
                                       what its decision consulted */
    void *flow_user;                /* stored with the megaflow (e.g. bridge) */
};

/* Runs on the PMD thread that missed. Must be thread-safe (several PMDs
 * may upcall at once) and must not call dpif control functions. */
typedef enum sw_upcall_result (*sw_upcall_fn)(void *arg, struct sw_upcall *up);

/* Called on PMD threads for SW_ODP_USERSPACE actions (controller hook). */
typedef void (*sw_userspace_fn)(void *arg, const struct sw_odp_userspace *u,
                                const struct pkt_buf *pkt, uint32_t in_port);

struct sw_dpif_opts {
    unsigned n_pmds;             /* PMD threads (default 1) */
    const int *pmd_cpus;         /* CPU for each PMD thread, or NULL: unpinned */
    bool busy_poll;              /* never sleep (default: sleep when idle, adaptively) */
    uint32_t idle_us;            /* spin this long before sleeping (default 8) */
    uint32_t emc_insert_inv_prob;/* an EMC miss evicts a live entry one time in N (default
                                  * 100, 1 = always; free slots are always taken);
                                  * UINT32_MAX: no EMC insertion at all */
    unsigned emc_entries;        /* EMC slots per PMD (default SW_EMC_ENTRIES; a power of 2) */
    bool no_simple_match;        /* turn the per-port simple-match path off (tests) */
    bool copy_rx;                /* copy received frames whole: no borrowed payloads
                                  * (pkt_port_set_rx_borrow(); tests, comparisons) */
    uint64_t flow_idle_ms;       /* megaflow idle timeout (default 10000) */
    unsigned max_flows;          /* megaflow cap (default 200000) */
    uint32_t pool_buffers;       /* packet buffers in the datapath's pool (default 16384) */
    sw_upcall_fn upcall;
    sw_userspace_fn userspace;
    void *upcall_arg;
};

/* Create the datapath and start its PMD threads (idle until ports come). */
int sw_dpif_create(const struct sw_dpif_opts *opts, struct sw_dpif **out);
/* Stop PMD threads, close every port, free everything. Accepts NULL. */
void sw_dpif_destroy(struct sw_dpif *dp);

/*
 * Open a port from a lib/pkt spec ("vhost-user:path=...", "tap:name=..",
 * "afpacket:iface=..", "ring:name=..", ...) as datapath port *port_no
 * (SW_DPIF_PORT_NONE on input: the lowest free number is chosen and
 * returned). @name must be unique. Its receive queues are assigned to PMD
 * threads at once. Returns 0, -EEXIST (name or number in use), -ENOSPC,
 * or the port's open error with @err filled.
 */
int sw_dpif_port_add(struct sw_dpif *dp, const char *name, const char *spec, uint32_t *port_no,
                     char *err, size_t errlen);
/* Remove a port: PMDs stop polling it first; megaflows are not touched
 * (the owner revalidates). Returns 0 or -ENOENT. */
int sw_dpif_port_del(struct sw_dpif *dp, uint32_t port_no);

struct sw_dpif_port_info {
    uint32_t port_no;
    char name[64];
    char type[32];
    bool link_up;
    uint16_t n_rxq, n_txq;
    uint64_t rx_packets, rx_bytes, rx_drops, rx_errors;
    uint64_t tx_packets, tx_bytes, tx_drops, tx_errors;
};
/* Returns 0 or -ENOENT. */
int sw_dpif_port_query(struct sw_dpif *dp, uint32_t port_no, struct sw_dpif_port_info *out);
/* Looks a port up by name: 0 and *port_no, or -ENOENT. */
int sw_dpif_port_by_name(struct sw_dpif *dp, const char *name, uint32_t *port_no);
/* Call @fn for every port in number order. */
void sw_dpif_port_foreach(struct sw_dpif *dp,
                          void (*fn)(void *arg, const struct sw_dpif_port_info *info), void *arg);

/*
 * Execute @actions on a copy of @pkt from the control thread (packet-out,
 * protocol frames such as LACPDUs), as if it came in on @in_port (may be
 * SW_DPIF_PORT_NONE). Returns 0, -EINVAL (bad actions) or -ENOMEM.
 */
int sw_dpif_execute(struct sw_dpif *dp, const struct pkt_buf *pkt, uint32_t in_port,
                    const void *actions, size_t actions_len);
/* The same for raw frame bytes. */
int sw_dpif_execute_bytes(struct sw_dpif *dp, const void *frame, size_t len, uint32_t in_port,
                          const void *actions, size_t actions_len);

/* Megaflows: revalidate (see sw_mfc_revalidate), delete all, dump. */
unsigned sw_dpif_revalidate(struct sw_dpif *dp, sw_mfc_reval_fn fn, void *arg);
void sw_dpif_flow_flush(struct sw_dpif *dp);
unsigned sw_dpif_flow_count(struct sw_dpif *dp);
struct sw_dpif_flow_info {
    struct sw_flow_key key;
    struct sw_flow_mask mask;
    const void *actions;   /* valid during the callback */
    size_t actions_len;
    struct sw_mfc_flow_stats stats;
    void *user;
};
void sw_dpif_flow_dump(struct sw_dpif *dp,
                       void (*fn)(void *arg, const struct sw_dpif_flow_info *info), void *arg);

/*
 * Statistics push: for every megaflow used since the previous push, @fn
 * gets its (masked) key, its owner cookie and what it counted since then
 * (packets, bytes; last use and TCP flags as of now), so the slow path can
 * credit the OpenFlow rules the megaflow stands for. @fn runs on the
 * calling thread after the megaflow cache's lock is released (it may
 * translate; it must not assume the megaflow still exists). Returns the
 * number of megaflows reported. Control thread, an RCU reader if @fn
 * needs one.
 */
typedef void (*sw_dpif_push_fn)(void *arg, const struct sw_flow_key *key, void *user,
                                const struct sw_mfc_flow_stats *delta);
unsigned sw_dpif_flow_push(struct sw_dpif *dp, sw_dpif_push_fn fn, void *arg);

/*
 * Meters: rate limiters that SW_ODP_METER actions name, shared by every PMD
 * (one lock per meter, taken once per batch). Each band is a token bucket
 * filled at its rate up to its burst; a packet uses tokens of every band
 * that has them, and exceeds the bands that do not; the exceeded band with
 * the highest rate applies. Drop bands only (DSCP remarking is refused).
 * Units: kilobits per second (burst in kilobits) or, with @pktps, packets
 * per second (burst in packets); a burst of 0 means 100 ms at the rate (at
 * least one 1500-byte frame or one packet).
 */
#define SW_DPIF_MAX_METERS 4096   /* meter numbers 0..4095 */
#define SW_METER_MAX_BANDS 8

struct sw_meter_band {
    uint32_t rate;               /* kbit/s or packets/s, > 0 */
    uint32_t burst;              /* kbit or packets; 0: 100 ms at the rate */
};

struct sw_meter_config {
    bool pktps;                  /* rates in packets per second, else kbit/s */
    unsigned n_bands;            /* 1..SW_METER_MAX_BANDS (all drop bands) */
    struct sw_meter_band bands[SW_METER_MAX_BANDS];
};

struct sw_meter_stats {
    uint64_t packets, bytes;     /* that reached the meter */
    unsigned n_bands;
    uint64_t band_packets[SW_METER_MAX_BANDS], band_bytes[SW_METER_MAX_BANDS]; /* dropped */
};

/* Create meter @id or replace its configuration (its counters stay).
 * Returns 0, -EINVAL (id out of range, no band, a zero rate), -ENOMEM.
 * Control thread. */
int sw_dpif_meter_set(struct sw_dpif *dp, uint32_t id, const struct sw_meter_config *c);
/* Delete meter @id: SW_ODP_METER actions naming it pass everything until
 * the megaflows are revalidated. 0 or -ENOENT. Control thread. */
int sw_dpif_meter_del(struct sw_dpif *dp, uint32_t id);
/* 0 or -ENOENT. A registered RCU reader thread (the control thread). */
int sw_dpif_meter_stats(struct sw_dpif *dp, uint32_t id, struct sw_meter_stats *out);

struct sw_dpif_pmd_stats {
    int cpu;                     /* pinned CPU or -1 */
    unsigned n_rxq;              /* queues it polls */
    uint64_t packets;            /* received and processed */
    uint64_t simple_hits;        /* decided by their port's simple match (no key, no EMC) */
    uint64_t emc_hits;
    uint64_t mfc_hits;
    uint64_t upcalls;            /* misses sent to the slow path */
    uint64_t upcall_fails;       /* slow path dropped or could not install */
    uint64_t lost;               /* dropped for lack of buffers or tx room */
    uint64_t busy_cycles;        /* TSC cycles of turns that processed packets */
    uint64_t idle_cycles;        /* TSC cycles of turns that did not */
};
unsigned sw_dpif_n_pmds(struct sw_dpif *dp);
/* Returns 0 or -ENOENT (no such PMD). */
int sw_dpif_pmd_stats(struct sw_dpif *dp, unsigned pmd, struct sw_dpif_pmd_stats *out);
void sw_dpif_pmd_stats_clear(struct sw_dpif *dp);
/* Which PMD polls port @port_no's receive queue @q, or -1. */
int sw_dpif_rxq_pmd(struct sw_dpif *dp, uint32_t port_no, uint16_t q);

/*
 * Receive queues are assigned to PMDs by load whenever ports come or go,
 * and on sw_dpif_rebalance(): heaviest first, each to the least loaded PMD
 * (then the one with the fewest queues). A queue's load is the busy cycles
 * its bursts took since the last assignment (receive and processing, plus
 * its share of the transmit flush), so queues without traffic yet are
 * spread round-robin. Control thread. Returns 0 or -ENOMEM.
 */
int sw_dpif_rebalance(struct sw_dpif *dp);

/*
 * Automatic rebalancing (as OVS's pmd-auto-lb), called by its owner every
 * interval: from each queue's busy cycles since the previous call (or the
 * last assignment), if the busiest PMD was at least @load_pct busy and the
 * assignment sw_dpif_rebalance() would make now lowers the variance of the
 * PMDs' loads by at least @improve_pct percent (and by something), makes
 * it. Returns 1 (reassigned), 0 (not; the window restarts) or -EINVAL /
 * -ENOMEM; @out says why. Control thread.
 */
struct sw_dpif_auto_lb {
    unsigned busiest_pct;        /* the busiest PMD's busy share of the window */
    unsigned improvement_pct;    /* how much a reassignment lowers the load variance */
    bool moved;
};
int sw_dpif_auto_lb(struct sw_dpif *dp, unsigned load_pct, unsigned improve_pct,
                    struct sw_dpif_auto_lb *out);

struct sw_dpif_rxq_load {
    int pmd;                     /* polled by, or -1 */
    uint64_t cycles;             /* busy TSC cycles since the last assignment */
    uint64_t window_cycles;      /* TSC cycles since the last assignment */
};
/* 0 or -ENOENT (no such port or queue). Control thread. */
int sw_dpif_rxq_load(struct sw_dpif *dp, uint32_t port_no, uint16_t q,
                     struct sw_dpif_rxq_load *out);

#endif /* SW_DPIF_H */
