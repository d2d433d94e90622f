/* SPDX-License-Identifier: Apache-2.0 */
/* Packet buffers: pools, per-thread caches, chains. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_log.h"
#include "pkt.h"

KK_LOG_COMPONENT(pkt_log, "pkt");

#define MAX_THREAD_CACHES 8   /* pools a thread keeps a cache for at once */
#define MAX_POOL_CACHES 128   /* threads with a cache of one pool */

/* Private part of a pool (the public struct is its first member). */
struct pool_impl {
    struct pkt_pool pub;
    uint64_t id;                          /* never reused, unlike addresses */
    struct kk_mempool_cache *caches[MAX_POOL_CACHES];
    unsigned n_caches;
    struct pool_impl *next_live;
};

/* Live pools and their caches; guarded by registry_lock. Touched only when
 * a thread first uses a pool, evicts a cache, exits, or a pool goes. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pool_impl *live_pools;
static uint64_t next_pool_id = 1;

struct thread_cache {
    uint64_t pool_id;
    struct pool_impl *pool;
    struct kk_mempool_cache *cache;
};
static __thread struct thread_cache thread_caches[MAX_THREAD_CACHES];
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static bool pool_live(const struct pool_impl *p, uint64_t id)
{
    for (const struct pool_impl *q = live_pools; q; q = q->next_live) {
        if (q == p && q->id == id)
            return true;
    }
    return false;
}

/* Return a thread's cache to its pool, if the pool still exists. Called
 * with registry_lock held. */
static void release_cache(struct thread_cache *tc)
{
    if (!tc->cache)
        return;
    struct pool_impl *p = tc->pool;
    if (pool_live(p, tc->pool_id)) {
        for (unsigned i = 0; i < p->n_caches; i++) {
            if (p->caches[i] == tc->cache) {
                p->caches[i] = p->caches[--p->n_caches];
                break;
            }
        }
        kk_mempool_cache_destroy(tc->cache);
    }
    /* else: the pool's destroy already freed it */
    *tc = (struct thread_cache){0};
}

static void thread_exit(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&registry_lock);
    for (unsigned i = 0; i < MAX_THREAD_CACHES; i++)
        release_cache(&thread_caches[i]);
    pthread_mutex_unlock(&registry_lock);
}

static void make_exit_key(void)
{
    pthread_key_create(&exit_key, thread_exit);
}

/* The last pool this thread used, for the common single-pool case. */
static __thread struct thread_cache *last_used;

struct kk_mempool_cache *pkt_pool_thread_cache(struct pkt_pool *pub)
{
    struct pool_impl *p = (struct pool_impl *)pub;
    struct thread_cache *tc = last_used;
    if (kk_likely(tc && tc->pool == p && tc->pool_id == p->id))
        return tc->cache;
    for (unsigned i = 0; i < MAX_THREAD_CACHES; i++) {
        if (thread_caches[i].pool == p && thread_caches[i].pool_id == p->id) {
            last_used = &thread_caches[i];
            return thread_caches[i].cache;
        }
    }
    for (unsigned i = 0; i < MAX_THREAD_CACHES; i++) {
        if (thread_caches[i].pool == p && thread_caches[i].pool_id == p->id)
            return thread_caches[i].cache;
    }
    if (p->pub.mp->cache_size == 0)
        return NULL;
    /* First use on this thread: take a free slot, or evict one. */
    pthread_once(&exit_key_once, make_exit_key);
    pthread_setspecific(exit_key, thread_caches);
    pthread_mutex_lock(&registry_lock);
    unsigned slot = MAX_THREAD_CACHES;
    for (unsigned i = 0; i < MAX_THREAD_CACHES; i++) {
        if (!thread_caches[i].cache || !pool_live(thread_caches[i].pool,
                                                  thread_caches[i].pool_id)) {
            slot = i;
            break;
        }
    }
    if (slot == MAX_THREAD_CACHES)
        slot = (unsigned)(p->id % MAX_THREAD_CACHES);
    release_cache(&thread_caches[slot]);
    struct kk_mempool_cache *c = NULL;
    if (p->n_caches < MAX_POOL_CACHES && kk_mempool_cache_create(p->pub.mp, &c) == 0) {
        p->caches[p->n_caches++] = c;
        thread_caches[slot] = (struct thread_cache){.pool_id = p->id, .pool = p, .cache = c};
    }
    pthread_mutex_unlock(&registry_lock);
    return c;
}

void pkt_pool_flush_thread_cache(struct pkt_pool *pub)
{
    struct pool_impl *p = (struct pool_impl *)pub;
    for (unsigned i = 0; i < MAX_THREAD_CACHES; i++) {
        if (thread_caches[i].pool == p && thread_caches[i].pool_id == p->id)
            kk_mempool_cache_flush(thread_caches[i].cache);
    }
}

struct obj_init_ctx {
    struct pkt_pool *pool;
    uint32_t hdr;
};

static void init_buf(void *arg, void *obj, uint32_t index)
{
    (void)index;
    const struct obj_init_ctx *ctx = arg;
    struct pkt_buf *b = obj;
    memset(b, 0, sizeof(*b));
    b->base = (uint8_t *)obj + ctx->hdr;
    b->pool = ctx->pool;
    b->buf_size = ctx->pool->obj_size - ctx->hdr;
    pkt_reset(b);
}

int pkt_pool_create(const char *name, uint32_t count, uint32_t data_room, uint32_t cache_size,
                    struct pkt_pool **out)
{
    if (data_room == 0)
        data_room = PKT_DEFAULT_DATA_ROOM;
    if (count == 0 || data_room > (1u << 20))
        return -EINVAL;
    if (cache_size == 0)
        cache_size = 256;
    cache_size = KK_MIN(cache_size, KK_MIN(count / 4, (uint32_t)KK_MEMPOOL_CACHE_MAX));
    struct pool_impl *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    snprintf(p->pub.name, sizeof(p->pub.name), "%s", name ? name : "pkt");
    uint32_t hdr = (uint32_t)kk_align_up(sizeof(struct pkt_buf), 64);
    p->pub.data_room = data_room;
    p->pub.obj_size = hdr + PKT_HEADROOM + data_room;
    struct obj_init_ctx ctx = {.pool = &p->pub, .hdr = hdr};
    struct kk_mempool_opts o = {.name = p->pub.name, .count = count,
                                .obj_size = p->pub.obj_size, .align = 64,
                                .cache_size = cache_size, .obj_init = init_buf,
                                .obj_init_arg = &ctx};
    int rc = kk_mempool_create(&o, &p->pub.mp);
    if (rc < 0) {
        free(p);
        return rc;
    }
    pthread_mutex_lock(&registry_lock);
    p->id = next_pool_id++;
    p->next_live = live_pools;
    live_pools = p;
    pthread_mutex_unlock(&registry_lock);
    KK_LOGD(pkt_log, "pool %s: %u buffers of %u bytes (%s)", p->pub.name, count, data_room,
            kk_mempool_uses_hugepages(p->pub.mp) ? "huge pages" : "4 KiB pages");
    *out = &p->pub;
    return 0;
}

void pkt_pool_destroy(struct pkt_pool *pub)
{
    if (!pub)
        return;
    struct pool_impl *p = (struct pool_impl *)pub;
    pthread_mutex_lock(&registry_lock);
    for (struct pool_impl **q = &live_pools; *q; q = &(*q)->next_live) {
        if (*q == p) {
            *q = p->next_live;
            break;
        }
    }
    for (unsigned i = 0; i < p->n_caches; i++)
        kk_mempool_cache_destroy(p->caches[i]);
    pthread_mutex_unlock(&registry_lock);
    /* Entries of this thread pointing at it are dead now; clear ours. */
    for (unsigned i = 0; i < MAX_THREAD_CACHES; i++) {
        if (thread_caches[i].pool == p)
            thread_caches[i] = (struct thread_cache){0};
    }
    kk_mempool_destroy(p->pub.mp);
    free(p);
}

uint32_t pkt_pool_avail(const struct pkt_pool *pool)
{
    return kk_mempool_avail_count(pool->mp);
}

/* A borrowed segment points at its own buffer again (its data is lost). */
static void return_borrowed(struct pkt_buf *seg)
{
    seg->base = (uint8_t *)seg + PKT_BUF_HDR_SIZE;
    seg->buf_size = seg->pool->obj_size - (uint32_t)PKT_BUF_HDR_SIZE;
    seg->data_off = 0;
    seg->flags &= (uint8_t)~PKT_F_BORROWED;
}

void pkt_unborrow(struct pkt_buf *seg)
{
    if (!(seg->flags & PKT_F_BORROWED))
        return;
    const uint8_t *src = pkt_data(seg);
    uint32_t len = seg->data_len;
    return_borrowed(seg);
    memcpy(seg->base, src, len);
}

void pkt_make_writable(struct pkt_buf *b)
{
    for (; b; b = b->next)
        pkt_unborrow(b);
}

uint32_t pkt_pullup(struct pkt_buf *b, uint32_t len)
{
    while (b->data_len < len && b->next && pkt_tailroom(b) > 0) {
        struct pkt_buf *n = b->next;
        uint32_t k = KK_MIN(KK_MIN(len - b->data_len, pkt_tailroom(b)), n->data_len);
        memcpy(pkt_data(b) + b->data_len, pkt_data(n), k);
        b->data_len += k;
        n->data_off += k;
        n->data_len -= k;
        if (n->data_len == 0) {
            b->next = n->next;
            b->nb_segs--;
            n->next = NULL;
            pkt_free(n);
        }
    }
    return b->data_len;
}

void pkt_free(struct pkt_buf *b)
{
    while (b) {
        struct pkt_buf *next = b->next;
        if (kk_unlikely(b->flags & PKT_F_BORROWED))
            return_borrowed(b);
        kk_mempool_put(b->pool->mp, pkt_pool_thread_cache(b->pool), b);
        b = next;
    }
}

void pkt_free_bulk(struct pkt_buf **bufs, uint32_t n)
{
    /* Every segment, gathered into runs from one pool that go back in bulk. */
    void *run[64];
    unsigned k = 0;
    struct pkt_pool *pool = NULL;
    for (uint32_t i = 0; i < n; i++) {
        for (struct pkt_buf *b = bufs[i]; b;) {
            struct pkt_buf *next = b->next;
            if (kk_unlikely(b->flags & PKT_F_BORROWED))
                return_borrowed(b);
            if (k == KK_ARRAY_SIZE(run) || (k && b->pool != pool)) {
                kk_mempool_put_bulk(pool->mp, pkt_pool_thread_cache(pool), run, k);
                k = 0;
            }
            pool = b->pool;
            run[k++] = b;
            b = next;
        }
    }
    if (k)
        kk_mempool_put_bulk(pool->mp, pkt_pool_thread_cache(pool), run, k);
}

void pkt_chain(struct pkt_buf *head, struct pkt_buf *tail)
{
    struct pkt_buf *last = head;
    while (last->next)
        last = last->next;
    last->next = tail;
    for (struct pkt_buf *s = tail; s; s = s->next) {
        head->pkt_len += s->data_len;
        head->nb_segs++;
    }
}

struct pkt_buf *pkt_from_bytes(struct pkt_pool *pool, const void *src, uint32_t len)
{
    const uint8_t *p = src;
    struct pkt_buf *head = pkt_alloc(pool);
    if (!head)
        return NULL;
    struct pkt_buf *seg = head;
    uint32_t room = pkt_tailroom(seg);
    for (;;) {
        uint32_t k = KK_MIN(len, room);
        memcpy(pkt_data(seg) + seg->data_len, p, k);
        seg->data_len += k;
        head->pkt_len += k;
        p += k;
        len -= k;
        if (len == 0)
            return head;
        struct pkt_buf *n = pkt_alloc(pool);
        if (!n) {
            pkt_free(head);
            return NULL;
        }
        n->data_off = 0; /* continuation segments need no headroom */
        seg->next = n;
        seg = n;
        head->nb_segs++;
        room = pkt_tailroom(seg);
    }
}

uint32_t pkt_read(const struct pkt_buf *b, uint32_t off, void *dst, uint32_t len)
{
    uint8_t *d = dst;
    uint32_t done = 0;
    for (const struct pkt_buf *s = b; s && done < len; s = s->next) {
        if (off >= s->data_len) {
            off -= s->data_len;
            continue;
        }
        uint32_t k = KK_MIN(s->data_len - off, len - done);
        memcpy(d + done, pkt_data(s) + off, k);
        done += k;
        off = 0;
    }
    return done;
}

const uint8_t *pkt_peek(const struct pkt_buf *b, uint32_t off, uint32_t len, void *tmp)
{
    if (off <= b->data_len && len <= b->data_len - off)
        return pkt_data(b) + off;
    return pkt_read(b, off, tmp, len) == len ? tmp : NULL;
}
