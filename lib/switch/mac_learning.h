/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mac_learning.h — the MAC table behind the NORMAL action: (VLAN, MAC) ->
 * port, with aging and a size cap.
 *
 * Design note
 * -----------
 * Entries live in a chained hash table keyed by (VLAN, MAC) and on an LRU
 * list ordered by last use (a learn of an existing entry refreshes it and
 * moves it to the tail). A learn that would exceed the cap evicts the
 * least recently used entry. An entry older than the aging time counts as
 * absent for lookups and is removed by sw_mac_expire() (or when its slot
 * is needed).
 *
 * The change sequence moves whenever a lookup answer may change: a new
 * entry, a MAC moving to another port, expiry, eviction, flushes. The
 * bridge folds it into its own change sequence, and the datapath owner
 * revalidates megaflows when it moves (a flood megaflow for a destination
 * learned since must become a unicast one; one to a moved MAC must follow
 * it). Refreshing an entry does not move it.
 *
 * Ports are the caller's numbers (the bridge uses OpenFlow ports), never
 * SW_MAC_PORT_NONE. Time is the caller's monotonic milliseconds.
 *
 * Threads: every function may be called from any thread; an internal
 * mutex serializes them (learning runs in upcalls on several PMD threads
 * at once; the slow path is not per packet, so a mutex is cheap enough).
 */
#ifndef SW_MAC_LEARNING_H
#define SW_MAC_LEARNING_H

#include <stdbool.h>
#include <stdint.h>

#define SW_MAC_PORT_NONE UINT32_MAX

struct sw_mac_table;

/* @max_entries >= 1; @aging_ms >= 1. Returns 0 and *out, -EINVAL or -ENOMEM. */
int sw_mac_table_create(unsigned max_entries, uint64_t aging_ms, struct sw_mac_table **out);
/* Accepts NULL. */
void sw_mac_table_destroy(struct sw_mac_table *t);

enum sw_mac_learn_result {
    SW_MAC_UNCHANGED = 0, /* known on this port: refreshed */
    SW_MAC_NEW,           /* a new entry (maybe evicting the LRU one) */
    SW_MAC_MOVED,         /* known on another port: now on @port */
    SW_MAC_REFUSED,       /* multicast source, or no memory */
};

/* Learn that @mac (a unicast source address) on @vlan is behind @port at
 * @now_ms. */
enum sw_mac_learn_result sw_mac_learn(struct sw_mac_table *t, uint16_t vlan, const uint8_t mac[6],
                                      uint32_t port, uint64_t now_ms);

/* The port @mac on @vlan was learned on, or SW_MAC_PORT_NONE (unknown or aged). */
uint32_t sw_mac_lookup(struct sw_mac_table *t, uint16_t vlan, const uint8_t mac[6],
                       uint64_t now_ms);

/* Remove entries older than the aging time. Returns how many. */
unsigned sw_mac_expire(struct sw_mac_table *t, uint64_t now_ms);

/* Forget everything / the entries of one port. Return how many. */
unsigned sw_mac_flush(struct sw_mac_table *t);
unsigned sw_mac_flush_port(struct sw_mac_table *t, uint32_t port);

/* Call @fn for each live entry, least recently used first (@age_ms = now - last use).
 * @fn runs with the table locked: it must not call back into the table. */
void sw_mac_foreach(struct sw_mac_table *t, uint64_t now_ms,
                    void (*fn)(void *arg, uint16_t vlan, const uint8_t mac[6], uint32_t port,
                               uint64_t age_ms),
                    void *arg);

unsigned sw_mac_count(struct sw_mac_table *t);
uint64_t sw_mac_change_seq(struct sw_mac_table *t);
/* Change the limits (evicting / expiring at once as needed). */
void sw_mac_set_limits(struct sw_mac_table *t, unsigned max_entries, uint64_t aging_ms,
                       uint64_t now_ms);

#endif /* SW_MAC_LEARNING_H */
