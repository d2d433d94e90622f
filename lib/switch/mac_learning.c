/* SPDX-License-Identifier: Apache-2.0 */
/* mac_learning.c — see mac_learning.h. */
#include "mac_learning.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>


struct mac_entry {
    struct mac_entry *hnext;          /* hash chain */
    struct mac_entry *prev, *next;    /* LRU list: head = least recently used */
    uint64_t used_ms;
    uint32_t port;
    uint16_t vlan;
    uint8_t mac[6];
};

struct sw_mac_table {
    pthread_mutex_t mutex;
    struct mac_entry **buckets;
    unsigned n_buckets;               /* power of two */
    unsigned count, max_entries;
    uint64_t aging_ms;
    struct mac_entry lru;             /* sentinel */
    _Atomic uint64_t change_seq;
};

static unsigned bucket_of(const struct sw_mac_table *t, uint16_t vlan, const uint8_t mac[6])
{
    uint64_t k = (uint64_t)vlan << 48;
    for (int i = 0; i < 6; i++)
        k |= (uint64_t)mac[i] << (8 * (5 - i));
    /* splitmix finalizer: cheap and spreads the bits */
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ull;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebull;
    k ^= k >> 31;
    return (unsigned)k & (t->n_buckets - 1);
}

int sw_mac_table_create(unsigned max_entries, uint64_t aging_ms, struct sw_mac_table **out)
{
    if (!out || max_entries == 0 || aging_ms == 0)
        return -EINVAL;
    struct sw_mac_table *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->n_buckets = 64;
    while (t->n_buckets < max_entries && t->n_buckets < (1u << 20))
        t->n_buckets <<= 1;
    t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
    if (!t->buckets) {
        free(t);
        return -ENOMEM;
    }
    pthread_mutex_init(&t->mutex, NULL);
    t->max_entries = max_entries;
    t->aging_ms = aging_ms;
    t->lru.prev = t->lru.next = &t->lru;
    *out = t;
    return 0;
}

void sw_mac_table_destroy(struct sw_mac_table *t)
{
    if (!t)
        return;
    struct mac_entry *e = t->lru.next;
    while (e != &t->lru) {
        struct mac_entry *n = e->next;
        free(e);
        e = n;
    }
    pthread_mutex_destroy(&t->mutex);
    free(t->buckets);
    free(t);
}

static void lru_unlink(struct mac_entry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
}

static void lru_append(struct sw_mac_table *t, struct mac_entry *e)
{
    e->prev = t->lru.prev;
    e->next = &t->lru;
    t->lru.prev->next = e;
    t->lru.prev = e;
}

static struct mac_entry **find_slot(struct sw_mac_table *t, uint16_t vlan, const uint8_t mac[6])
{
    struct mac_entry **p = &t->buckets[bucket_of(t, vlan, mac)];
    while (*p && ((*p)->vlan != vlan || memcmp((*p)->mac, mac, 6) != 0))
        p = &(*p)->hnext;
    return p;
}

static void remove_entry(struct sw_mac_table *t, struct mac_entry *e)
{
    struct mac_entry **p = find_slot(t, e->vlan, e->mac);
    *p = e->hnext;
    lru_unlink(e);
    t->count--;
    free(e);
}

static void bump(struct sw_mac_table *t)
{
    atomic_fetch_add_explicit(&t->change_seq, 1, memory_order_release);
}

static bool expired(const struct sw_mac_table *t, const struct mac_entry *e, uint64_t now_ms)
{
    return now_ms > e->used_ms && now_ms - e->used_ms > t->aging_ms;
}

enum sw_mac_learn_result sw_mac_learn(struct sw_mac_table *t, uint16_t vlan, const uint8_t mac[6],
                                      uint32_t port, uint64_t now_ms)
{
    if (!t || !mac || (mac[0] & 1) || port == SW_MAC_PORT_NONE)
        return SW_MAC_REFUSED;
    enum sw_mac_learn_result r;
    pthread_mutex_lock(&t->mutex);
    struct mac_entry *e = *find_slot(t, vlan, mac);
    if (e) {
        /* An aged entry that comes back counts as new: lookups said "unknown". */
        bool was_expired = expired(t, e, now_ms);
        r = was_expired ? SW_MAC_NEW : e->port == port ? SW_MAC_UNCHANGED : SW_MAC_MOVED;
        e->port = port;
        e->used_ms = now_ms;
        lru_unlink(e);
        lru_append(t, e);
    } else {
        e = calloc(1, sizeof(*e));
        if (!e) {
            pthread_mutex_unlock(&t->mutex);
            return SW_MAC_REFUSED;
        }
        while (t->count >= t->max_entries)
            remove_entry(t, t->lru.next);
        e->vlan = vlan;
        memcpy(e->mac, mac, 6);
        e->port = port;
        e->used_ms = now_ms;
        struct mac_entry **b = &t->buckets[bucket_of(t, vlan, mac)];
        e->hnext = *b;
        *b = e;
        lru_append(t, e);
        t->count++;
        r = SW_MAC_NEW;
    }
    if (r != SW_MAC_UNCHANGED)
        bump(t);
    pthread_mutex_unlock(&t->mutex);
    return r;
}

uint32_t sw_mac_lookup(struct sw_mac_table *t, uint16_t vlan, const uint8_t mac[6],
                       uint64_t now_ms)
{
    if (!t || !mac)
        return SW_MAC_PORT_NONE;
    pthread_mutex_lock(&t->mutex);
    struct mac_entry *e = *find_slot(t, vlan, mac);
    uint32_t port = e && !expired(t, e, now_ms) ? e->port : SW_MAC_PORT_NONE;
    pthread_mutex_unlock(&t->mutex);
    return port;
}

unsigned sw_mac_expire(struct sw_mac_table *t, uint64_t now_ms)
{
    if (!t)
        return 0;
    unsigned n = 0;
    pthread_mutex_lock(&t->mutex);
    /* The LRU list is in last-use order: stop at the first live entry. */
    while (t->lru.next != &t->lru && expired(t, t->lru.next, now_ms)) {
        remove_entry(t, t->lru.next);
        n++;
    }
    if (n)
        bump(t);
    pthread_mutex_unlock(&t->mutex);
    return n;
}

static unsigned flush_if(struct sw_mac_table *t, bool all, uint32_t port)
{
    if (!t)
        return 0;
    unsigned n = 0;
    pthread_mutex_lock(&t->mutex);
    struct mac_entry *e = t->lru.next;
    while (e != &t->lru) {
        struct mac_entry *next = e->next;
        if (all || e->port == port) {
            remove_entry(t, e);
            n++;
        }
        e = next;
    }
    if (n)
        bump(t);
    pthread_mutex_unlock(&t->mutex);
    return n;
}

unsigned sw_mac_flush(struct sw_mac_table *t)
{
    return flush_if(t, true, 0);
}

unsigned sw_mac_flush_port(struct sw_mac_table *t, uint32_t port)
{
    return flush_if(t, false, port);
}

void sw_mac_foreach(struct sw_mac_table *t, uint64_t now_ms,
                    void (*fn)(void *arg, uint16_t vlan, const uint8_t mac[6], uint32_t port,
                               uint64_t age_ms),
                    void *arg)
{
    if (!t || !fn)
        return;
    pthread_mutex_lock(&t->mutex);
    for (struct mac_entry *e = t->lru.next; e != &t->lru; e = e->next)
        if (!expired(t, e, now_ms))
            fn(arg, e->vlan, e->mac, e->port, now_ms > e->used_ms ? now_ms - e->used_ms : 0);
    pthread_mutex_unlock(&t->mutex);
}

unsigned sw_mac_count(struct sw_mac_table *t)
{
    if (!t)
        return 0;
    pthread_mutex_lock(&t->mutex);
    unsigned n = t->count;
    pthread_mutex_unlock(&t->mutex);
    return n;
}

uint64_t sw_mac_change_seq(struct sw_mac_table *t)
{
    return t ? atomic_load_explicit(&t->change_seq, memory_order_acquire) : 0;
}

void sw_mac_set_limits(struct sw_mac_table *t, unsigned max_entries, uint64_t aging_ms,
                       uint64_t now_ms)
{
    if (!t || max_entries == 0 || aging_ms == 0)
        return;
    pthread_mutex_lock(&t->mutex);
    t->max_entries = max_entries;
    t->aging_ms = aging_ms;
    bool changed = false;
    while (t->count > t->max_entries) {
        remove_entry(t, t->lru.next);
        changed = true;
    }
    if (changed)
        bump(t);
    pthread_mutex_unlock(&t->mutex);
    sw_mac_expire(t, now_ms);
}
