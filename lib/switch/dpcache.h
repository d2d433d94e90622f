/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dpcache.h — the datapath flow caches: a shared megaflow cache (sw_mfc)
 * and a per-PMD-thread exact-match cache (sw_emc) in front of it.
 *
 * Path of a packet
 * ----------------
 *   key = sw_flow_extract(frame)
 *   flow = sw_emc_lookup(emc, key, hash)           exact match, per thread
 *   else flow = sw_mfc_lookup(mfc, key)            wildcarded, shared
 *        and sw_emc_insert(emc, key, hash, flow)
 *   else slow path: sw_cls_lookup(table, v, key, &wc) decides, then
 *        sw_mfc_insert(mfc, key, &wc, actions, ...) installs a megaflow
 *        matching exactly the bits the decision consulted.
 *
 * Megaflow cache design
 * ---------------------
 * Megaflows are stored in a sw_cls classifier used with a single priority:
 * its tuple space (one hash table per distinct mask, lock-free lookups,
 * versions, RCU) is exactly what a megaflow cache needs, and lookups
 * without wildcards never touch its prefix tries. Megaflows installed from
 * correct wildcards never disagree where they overlap, so priority does
 * not matter; the first installed wins. Each insert or remove is its own
 * classifier version, published at once.
 *
 * A flow (struct sw_mfc_flow) holds its match, an owner cookie (@user,
 * fixed), its actions (an immutable byte block copied by the cache and
 * replaced whole by revalidation, published by pointer, old block freed
 * after a grace period) and statistics.
 *
 * Statistics are sharded by writer: a cache created with N shards gives
 * each flow N sets of counters, set 0 in the flow's first cache line (with
 * the dead flag and the actions pointer: an EMC hit touches one line) and
 * the others on lines of their own. A PMD thread accounts to its own shard
 * with plain adds published by relaxed stores (one writer, no atomic
 * read-modify-write, no cache line shared with other writers); readers sum
 * the shards. Callers without a shard use sw_mfc_flow_account(), which adds
 * to a shared set with relaxed atomics. Account once per run of packets of
 * one flow, not per packet.
 *
 * Lifetime: a flow is reference counted. The cache holds one reference
 * while the flow is installed; each EMC entry pointing to it holds one.
 * Removal marks the flow dead (EMC hits check this and drop their entry),
 * unpublishes it, and drops the cache's reference after an RCU grace
 * period; the last reference frees the flow. So a pointer returned by
 * sw_mfc_lookup() is valid until the calling thread's next quiescent
 * state, and one held in an EMC until the EMC lets it go.
 *
 * Threads: lookups and sw_mfc_flow_account() from any number of registered
 * RCU reader threads, lock-free and allocation-free. Insert, remove,
 * expire, revalidate: any thread, serialized by an internal mutex (the
 * calling thread must not hold flow pointers across these calls if it is
 * a reader). create/destroy: one thread, no lookup running.
 *
 * EMC design
 * ----------
 * One per PMD thread, never shared: a power-of-two number of slots
 * (SW_EMC_ENTRIES by default: 16384 slots of 128 bytes, 2 MiB, so that
 * 10,000 active microflows still fit; OVS has 8192), each key may
 * sit in one of two slots chosen by two independent slices of its hash
 * (replace the emptier or the one holding a dead flow, else the second).
 * A slot (two cache lines) holds the full key and a counted reference to
 * the megaflow; a hit compares the whole key, then checks the flow is not
 * dead (the flow's first line, which the statistics update touches
 * anyway). A miss always takes a free (or dead) slot of its two; evicting
 * a live entry can be made probabilistic (one in N such misses, like OVS's
 * emc-insert-inv-prob, which applies it to every miss) so that more
 * microflows than slots do not thrash the cache, while an EMC with room
 * fills at once.
 */
#ifndef SW_DPCACHE_H
#define SW_DPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

struct sw_mfc;
struct sw_mfc_flow;
struct sw_emc;

/* ---- megaflow cache ---- */

#define SW_MFC_MAX_SHARDS 64

/* Create an empty cache. Returns 0 and *out, or -EINVAL (@out NULL) or -ENOMEM. */
int sw_mfc_create(struct sw_mfc **out);

/*
 * Create an empty cache whose flows carry @n_shards single-writer
 * statistics shards (for sw_mfc_flow_account_shard(); at most
 * SW_MFC_MAX_SHARDS, else -EINVAL). sw_mfc_create() is this with 0.
 */
int sw_mfc_create_sharded(unsigned n_shards, struct sw_mfc **out);

/*
 * Remove every flow and free the cache (waits for RCU callbacks: not from
 * an RCU callback). Flows still referenced by an EMC stay allocated until
 * that EMC is destroyed or drops them. Accepts NULL.
 */
void sw_mfc_destroy(struct sw_mfc *mfc);

/*
 * Install the megaflow (@key & @mask) with a copy of the @actions_len
 * bytes at @actions (may be NULL if 0) and the owner cookie @user. If a
 * flow with the same masked key and mask is installed already, nothing
 * changes and -EEXIST is returned (with *out set to it if @out). @out, if
 * not NULL, receives the flow (valid under the rules above). @now_ms is
 * its initial last-use time. The calling thread must be a registered RCU
 * reader (it looks the cache up). Returns 0,
 * -EINVAL (NULL mfc/key/mask, or actions NULL with a length), -EEXIST, or
 * -ENOMEM. Writer side.
 */
int sw_mfc_insert(struct sw_mfc *mfc, const struct sw_flow_key *key,
                  const struct sw_flow_mask *mask, const void *actions, size_t actions_len,
                  void *user, uint64_t now_ms, struct sw_mfc_flow **out);

/*
 * Remove @flow (it becomes dead at once; freed when its last reference
 * goes). Returns 0 or -EINVAL (NULL, or already removed). Writer side.
 */
int sw_mfc_remove(struct sw_mfc *mfc, struct sw_mfc_flow *flow);

/* The installed flow matching @key, or NULL. Lock-free; RCU reader threads. */
struct sw_mfc_flow *sw_mfc_lookup(const struct sw_mfc *mfc, const struct sw_flow_key *key);

/*
 * sw_mfc_lookup() for @n keys: flows[i] (NULL on a miss). Returns the
 * number of hits. Same threads as sw_mfc_lookup().
 */
unsigned sw_mfc_lookup_burst(const struct sw_mfc *mfc, const struct sw_flow_key *const *keys,
                             unsigned n, struct sw_mfc_flow **flows);

/*
 * Account @packets packets of @bytes bytes in total to @flow, used at
 * @now_ms, with @tcp_flags seen (ORed in). Relaxed atomics, no lock.
 * Any thread that may use the flow.
 */
void sw_mfc_flow_account(struct sw_mfc_flow *flow, uint64_t now_ms, uint32_t packets,
                         uint64_t bytes, uint16_t tcp_flags);

/*
 * The same into shard @shard, whose only writer must be the calling thread
 * (e.g. PMD thread i uses shard i): no atomic read-modify-write. A shard
 * the cache does not have falls back to sw_mfc_flow_account().
 */
void sw_mfc_flow_account_shard(struct sw_mfc_flow *flow, unsigned shard, uint64_t now_ms,
                               uint32_t packets, uint64_t bytes, uint16_t tcp_flags);

struct sw_mfc_flow_stats {
    uint64_t packets;
    uint64_t bytes;
    uint64_t used_ms;  /* last use (insertion time until used) */
    uint16_t tcp_flags;
};

/*
 * The packets and bytes accounted to @flow since the previous call (its
 * whole statistics the first time), with its current last use and TCP
 * flags, and remember them as taken: for pushing datapath statistics up to
 * the OpenFlow rules that made the megaflow. Writer side: from a
 * sw_mfc_foreach() callback.
 */
void sw_mfc_flow_take_delta(struct sw_mfc_flow *flow, struct sw_mfc_flow_stats *delta);

/* Accessors: any thread that may use the flow. */
void sw_mfc_flow_get_stats(const struct sw_mfc_flow *flow, struct sw_mfc_flow_stats *out);
void *sw_mfc_flow_user(const struct sw_mfc_flow *flow);
void sw_mfc_flow_match(const struct sw_mfc_flow *flow, struct sw_flow_key *key,
                       struct sw_flow_mask *mask);
/* The current actions; valid until the caller's next quiescent state. */
const void *sw_mfc_flow_actions(const struct sw_mfc_flow *flow, size_t *len);
/* True once the flow was removed. */
bool sw_mfc_flow_dead(const struct sw_mfc_flow *flow);

/*
 * Take a counted reference to @flow, which the calling thread found by a
 * lookup (or holds a reference to already) before its next quiescent
 * state: the flow then stays allocated, dead or not, until the matching
 * sw_mfc_flow_unref() — as an EMC entry keeps it (the datapath's per-port
 * simple matches do the same). Any thread, lock-free.
 */
void sw_mfc_flow_ref(struct sw_mfc_flow *flow);

/* Drop a reference taken with sw_mfc_flow_ref(); the last one frees the flow. Any thread. */
void sw_mfc_flow_unref(struct sw_mfc_flow *flow);

/* Number of installed flows. Any thread. */
unsigned sw_mfc_count(struct sw_mfc *mfc);

/*
 * Remove every flow whose last use (or insertion, if never used) is older
 * than @now_ms - @idle_ms. Returns the number removed. Writer side.
 */
unsigned sw_mfc_expire(struct sw_mfc *mfc, uint64_t now_ms, uint64_t idle_ms);

enum sw_mfc_reval {
    SW_MFC_KEEP,
    SW_MFC_DELETE,
    SW_MFC_REPLACE, /* install *new_actions / *new_len as the flow's actions */
};

/*
 * Revalidation callback for one flow: @key/@mask its match, @actions its
 * current actions. For SW_MFC_REPLACE set *new_actions and *new_len (the
 * bytes are copied before the next callback). Runs on the calling thread
 * with the cache's writer mutex held: it must not call sw_mfc_* writers.
 */
typedef enum sw_mfc_reval (*sw_mfc_reval_fn)(void *arg, const struct sw_flow_key *key,
                                              const struct sw_flow_mask *mask,
                                              const void *actions, size_t actions_len,
                                              void *user, const void **new_actions,
                                              size_t *new_len);

/*
 * Call @fn for every installed flow and apply its verdict (a failed
 * replacement allocation deletes the flow, so no stale actions survive).
 * Readers see a replaced flow's old or new actions, never a mix. Returns
 * the number of flows deleted. Writer side.
 */
unsigned sw_mfc_revalidate(struct sw_mfc *mfc, sw_mfc_reval_fn fn, void *arg);

/*
 * Call @fn for every installed flow, in no particular order, with the
 * writer mutex held: the flow and its actions (sw_mfc_flow_actions) stay
 * valid and unchanged during the callback, whose thread need not be an RCU
 * reader. @fn may read the flow (match, statistics, actions, user) but
 * must not call sw_mfc_* writers. Returns the number of flows visited (0
 * for a NULL @mfc or @fn). Writer side (dumps, e.g. sw_dpif_flow_dump).
 */
unsigned sw_mfc_foreach(struct sw_mfc *mfc, void (*fn)(void *arg, struct sw_mfc_flow *flow),
                        void *arg);

/* ---- exact-match cache ---- */

#define SW_EMC_ENTRIES 16384
#define SW_EMC_MIN_ENTRIES 1024
#define SW_EMC_MAX_ENTRIES (1u << 20)

/*
 * Create an EMC for one thread with SW_EMC_ENTRIES slots. @insert_inv_prob:
 * a miss whose two slots hold live flows replaces one in N times (0 or 1:
 * always); UINT32_MAX disables insertion altogether. Returns 0 and *out,
 * -EINVAL or -ENOMEM.
 */
int sw_emc_create(uint32_t insert_inv_prob, struct sw_emc **out);

/* The same with @entries slots: a power of two in [SW_EMC_MIN_ENTRIES, SW_EMC_MAX_ENTRIES]. */
int sw_emc_create_sized(unsigned entries, uint32_t insert_inv_prob, struct sw_emc **out);

/* Number of slots. */
unsigned sw_emc_size(const struct sw_emc *emc);

/* Drop every reference and free. The owning thread, or once it stopped. Accepts NULL. */
void sw_emc_destroy(struct sw_emc *emc);

/* The hash the EMC uses for @key. Pure. */
uint64_t sw_emc_hash(const struct sw_flow_key *key);

/*
 * Start loading the EMC slot @hash selects first (a hint, no effect on
 * contents), so that a burst can hash every packet, prefetch, and look up
 * afterwards. Owning thread only.
 */
void sw_emc_prefetch(const struct sw_emc *emc, uint64_t hash);

/*
 * The live flow cached for @key (@hash = sw_emc_hash(key)), or NULL. A
 * dead flow's entry is dropped. Owning thread only, as an RCU reader.
 */
struct sw_mfc_flow *sw_emc_lookup(struct sw_emc *emc, const struct sw_flow_key *key,
                                  uint64_t hash);

#define SW_EMC_BURST 32

/*
 * sw_emc_hash() and sw_emc_lookup() for the @n keys of the array @keys, in
 * passes so that slot misses overlap (hash and prefetch every slot, then
 * compare): hashes[i] and flows[i] (NULL on a miss) for each. A key equal
 * to the one before it takes that key's answer without a lookup (runs of
 * one microflow). Returns the number of hits. Owning thread only, as an
 * RCU reader.
 */
unsigned sw_emc_lookup_burst(struct sw_emc *emc, const struct sw_flow_key *keys, unsigned n,
                             uint64_t *hashes, struct sw_mfc_flow **flows);

/*
 * Cache @flow (just returned by sw_mfc_lookup() or sw_mfc_insert(), and
 * not dead) for @key, subject to the replacement probability. Owning
 * thread only, as an RCU reader.
 */
void sw_emc_insert(struct sw_emc *emc, const struct sw_flow_key *key, uint64_t hash,
                   struct sw_mfc_flow *flow);

/* Number of occupied slots (tests). */
unsigned sw_emc_count(const struct sw_emc *emc);

#endif /* SW_DPCACHE_H */
