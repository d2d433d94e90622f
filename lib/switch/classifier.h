/* SPDX-License-Identifier: Apache-2.0 */
/*
 * classifier.h — priority-ordered wildcard rules over struct sw_flow_key,
 * for OpenFlow tables and the megaflow cache.
 *
 * Goals
 * -----
 * - A rule is (key, mask, priority, user pointer). A lookup returns the
 *   highest-priority rule whose (key & mask) equals (packet & mask), and
 *   reports which key bits it consulted, so the caller can install a
 *   megaflow that covers every packet that would get the same answer.
 * - Per-packet cost proportional to the number of distinct masks, not to
 *   the number of rules: 100,000 rules cost what their masks cost.
 * - Lookups never block and never take a lock, on any number of threads,
 *   while one writer changes the rules; a batch of changes becomes visible
 *   at once, at a version.
 *
 * Design: tuple-space search
 * --------------------------
 * Rules with the same mask share a *subtable*: a hash table keyed by the
 * masked key (open addressing, 16-bit hash tags next to the pointers so
 * that a miss rarely touches a node). A lookup visits the subtables in
 * decreasing order of their highest priority and stops as soon as the
 * next subtable cannot beat the best rule found so far.
 *
 * Staged lookup: a subtable hashes the packet one segment at a time
 * (metadata, L2, L3, L4: see flow.h). After each segment but the last it
 * checks a set of the partial hashes of its rules; a miss there ends the
 * search in that subtable, and only the segments hashed so far are
 * reported as consulted. So a packet from a port no rule mentions leaves
 * the subtable's L3/L4 fields wildcarded in its megaflow.
 *
 * Prefix tries: for IPv4 nw_dst and nw_src, a binary trie holds the
 * prefix of every rule whose subtable masks the field with a prefix. When
 * a subtable misses at or after its address stage, the lookup walks the
 * trie once along the packet's address (then reuses the answer for other
 * subtables): if no rule prefix of the subtable's length matches, the
 * subtable could not have matched any packet sharing the leading bits the
 * walk examined, and only those bits are reported. So a /24 rule does not
 * pin 24 bits of every other destination's megaflow. Hits, and lookups
 * without @wc, never walk the tries.
 *
 * Wildcards: the lookup ORs into *wc: for each subtable visited, the mask
 * bits of the segments it hashed (all of them on a hash-table probe), or
 * just the trie bits as above. The result is sound: every packet equal to
 * the looked-up one on the bits set in wc gets the same rule (or none) at
 * that version.
 *
 * Ties: among matching rules of equal priority, the one inserted first
 * wins (deterministic, unlike OVS where it is unspecified).
 *
 * Versions and RCU
 * ----------------
 * A rule is visible at versions [add_version, remove_version). Lookups pass
 * the version they want (normally sw_cls_version() read at the start of
 * the packet batch). A writer makes a batch of changes at version V
 * (insertions with add_version V, removals with remove_version V) while
 * lookups still use V - 1, then calls sw_cls_publish(V): from then on
 * lookups see the whole batch, never part of it.
 *
 * Memory is reclaimed with kk_rcu (lib/core/kk_rcu.h): reader threads must
 * be registered RCU readers (reactor threads are) and may use a rule
 * returned by a lookup until their next quiescent state. A removed rule
 * stays linked until its removal version is published and a grace period
 * has passed (so lookups at older versions that are still running find
 * it), is then unlinked, and freed after another grace period.
 *
 * Threads: sw_cls_lookup(), sw_cls_version() and the rule accessors may be
 * called from any number of threads at once, each a registered RCU reader
 * (the writer thread too, if it looks up: unlinking runs on the reclaimer
 * thread). Writers (insert, remove,
 * publish) are serialized by an internal mutex: any thread, but typically
 * one control thread. create/destroy: one thread, with no lookup running.
 *
 * Complexity: lookup O(subtables visited × mask words), plus up to 2 × 33
 * trie steps per lookup that wants wildcards and misses at L3; insert and
 * remove O(1) amortized (plus the prefix length in trie steps), and
 * O(subtables log subtables) when a subtable appears, disappears or
 * changes its highest priority.
 */
#ifndef SW_CLASSIFIER_H
#define SW_CLASSIFIER_H

#include <stdint.h>

#include "flow.h"

struct sw_cls;
struct sw_cls_rule;

/* remove_version of a rule that was never removed. */
#define SW_CLS_VERSION_NEVER UINT64_MAX

/*
 * Create an empty classifier at version 1. Returns 0 and *out, or -EINVAL
 * (@out NULL) or -ENOMEM.
 */
int sw_cls_create(struct sw_cls **out);

/*
 * Free the classifier and every rule still in it (user pointers are not
 * touched). Waits for pending reclamation (kk_rcu_barrier), so it must not
 * run in an RCU callback. No lookup may be running or start. Accepts NULL.
 */
void sw_cls_destroy(struct sw_cls *cls);

/*
 * Insert a rule matching (@key & @mask) at @priority, visible from
 * @version on (a version <= sw_cls_version() makes it visible at once).
 * Mask bits in the key's padding are ignored. Identical rules may coexist
 * (the first inserted wins; versions let one replace another atomically).
 * @out, if not NULL, receives the rule handle for sw_cls_remove().
 * Returns 0, or -EINVAL (NULL argument, version 0 or SW_CLS_VERSION_NEVER)
 * or -ENOMEM (nothing changed). Writer side: any thread.
 */
int sw_cls_insert(struct sw_cls *cls, const struct sw_flow_key *key,
                  const struct sw_flow_mask *mask, int32_t priority, uint64_t version,
                  void *user, struct sw_cls_rule **out);

/*
 * Make @rule invisible from @version on (>= its add version). It is
 * unlinked after @version is published and a grace period has passed,
 * then freed after another: the caller must not use the handle once
 * @version is published. Returns 0, or -EINVAL (NULL, already removed,
 * @version before the rule's add version). Writer side: any thread.
 */
int sw_cls_remove(struct sw_cls *cls, struct sw_cls_rule *rule, uint64_t version);

/*
 * Make @version the one lookups use (sw_cls_version()). Versions only move
 * forward: returns 0, or -EINVAL if @version is older than the current one
 * or is SW_CLS_VERSION_NEVER. Writer side: any thread.
 */
int sw_cls_publish(struct sw_cls *cls, uint64_t version);

/* The published version (acquire load). Any thread. */
uint64_t sw_cls_version(const struct sw_cls *cls);

/*
 * The highest-priority rule matching @key that is visible at @version, or
 * NULL. If @wc is not NULL, the key bits the lookup consulted are ORed
 * into it (the caller zeroes it first, or accumulates over several
 * lookups). Lock-free, no allocation. Any registered RCU reader thread;
 * the rule stays valid until the thread's next quiescent state.
 */
const struct sw_cls_rule *sw_cls_lookup(const struct sw_cls *cls, uint64_t version,
                                        const struct sw_flow_key *key, struct sw_flow_mask *wc);

/* Lookups per burst step of sw_cls_lookup_burst(). */
#define SW_CLS_BURST 32

/*
 * sw_cls_lookup() for @n keys at once: rules[i] (NULL for no match) and,
 * if @wcs is not NULL, wildcards ORed into wcs[i], exactly as n single
 * lookups would give. Faster for large tables: each subtable is probed for
 * the whole burst (up to SW_CLS_BURST keys) with its hash-table slots
 * prefetched, so cache misses overlap. Returns the number of matches.
 * Same threads and lifetime rules as sw_cls_lookup().
 */
unsigned sw_cls_lookup_burst(const struct sw_cls *cls, uint64_t version,
                             const struct sw_flow_key *const *keys, unsigned n,
                             const struct sw_cls_rule **rules, struct sw_flow_mask *wcs);

/* Accessors: any thread that may use the rule. */
void *sw_cls_rule_user(const struct sw_cls_rule *rule);
int32_t sw_cls_rule_priority(const struct sw_cls_rule *rule);
/* The rule's (masked) key and its mask. */
void sw_cls_rule_match(const struct sw_cls_rule *rule, struct sw_flow_key *key,
                       struct sw_flow_mask *mask);
/* True if @rule is visible at @version. */
bool sw_cls_rule_visible(const struct sw_cls_rule *rule, uint64_t version);

struct sw_cls_stats {
    uint64_t version;
    uint32_t rules;          /* linked, including removed ones awaiting reclamation */
    uint32_t subtables;
    uint32_t pending_removal; /* removed, waiting for their version to be published */
};

/* A snapshot, taken under the writer mutex. Any thread. */
void sw_cls_get_stats(struct sw_cls *cls, struct sw_cls_stats *out);

#endif /* SW_CLASSIFIER_H */
