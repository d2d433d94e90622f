/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_mempool.h — fixed-size object pools in shareable memory.
 *
 * A pool preallocates @count objects of @obj_size bytes in one memory
 * region and hands them out without locks. The region is a memfd (sealed
 * against shrinking), so its file descriptor can be passed to another
 * process — QEMU over vhost-user, for instance — which maps the same pages.
 * When the host has enough free huge pages the region is a hugetlb memfd;
 * nothing requires huge pages.
 *
 * Free objects live in an MP/MC kk_ring. On top of it, a thread keeps a
 * kk_mempool_cache: a small LIFO stack it alone touches, so that most
 * get/put calls are a few loads and stores with no atomic operation. A
 * cache refills from and flushes to the ring in bulk.
 *
 * Ownership and threads:
 *  - kk_mempool_create/destroy: any thread, not concurrently with other
 *    calls on the same pool. Destroy frees the memory: every object and
 *    every cache must be out of use.
 *  - get/put with cache == NULL: any thread, concurrently.
 *  - get/put with a cache: only the thread that owns the cache (a cache may
 *    be handed to another thread with proper synchronisation, never shared).
 */
#ifndef KK_MEMPOOL_H
#define KK_MEMPOOL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "kk_common.h"
#include "kk_ring.h"

/* Flags for kk_mempool_opts.flags. */
#define KK_MEMPOOL_F_NO_HUGEPAGES      0x1u /* never use huge pages */
#define KK_MEMPOOL_F_REQUIRE_HUGEPAGES 0x2u /* fail with -ENOMEM without them */

#define KK_MEMPOOL_CACHE_MAX 512 /* largest per-thread cache */

struct kk_mempool;

typedef void (*kk_mempool_obj_init_fn)(void *arg, void *obj, uint32_t index);

struct kk_mempool_opts {
    const char *name;      /* shown in /proc/<pid>/fd and logs; may be NULL */
    uint32_t count;        /* number of objects, >= 1 */
    uint32_t obj_size;     /* bytes per object, >= 1 */
    uint32_t align;        /* object alignment, power of two; 0 = cache line */
    uint32_t cache_size;   /* objects per thread cache, <= KK_MEMPOOL_CACHE_MAX */
    unsigned flags;
    kk_mempool_obj_init_fn obj_init; /* called once per object; may be NULL */
    void *obj_init_arg;
};

struct kk_mempool_cache {
    struct kk_mempool *pool;
    uint32_t size;      /* target fill after a refill or flush */
    uint32_t flush_at;  /* flush when len exceeds this */
    uint32_t len;
    void *objs[KK_MEMPOOL_CACHE_MAX * 3]; /* len <= flush_at + size */
};

struct kk_mempool {
    struct kk_ring *free_ring;
    char *base;          /* first object */
    size_t mem_size;     /* bytes mapped */
    uint32_t count;
    uint32_t obj_size;
    uint32_t stride;     /* bytes between consecutive objects */
    uint32_t cache_size;
    int fd;              /* memfd backing the objects */
    bool hugepages;
    char name[32];
};

/*
 * Create a pool. Returns 0 and *out, or
 *   -EINVAL  bad options (zero count/size, alignment not a power of two,
 *            cache larger than KK_MEMPOOL_CACHE_MAX or than count);
 *   -ENOMEM  memory could not be had (or huge pages were required and
 *            missing); other negative errnos from memfd_create/mmap.
 */
int kk_mempool_create(const struct kk_mempool_opts *opts, struct kk_mempool **out);

/* Unmap and free the pool. Accepts NULL. */
void kk_mempool_destroy(struct kk_mempool *pool);

/*
 * A cache for the calling thread (size from the pool's opts.cache_size).
 * Returns 0 and *out, or -ENOMEM / -EINVAL (pool has cache_size 0).
 */
int kk_mempool_cache_create(struct kk_mempool *pool, struct kk_mempool_cache **out);

/* Return the cache's objects to the pool and free it. Accepts NULL. */
void kk_mempool_cache_destroy(struct kk_mempool_cache *cache);

/* Return every cached object to the pool's ring. */
void kk_mempool_cache_flush(struct kk_mempool_cache *cache);

/* Memory region, for sharing: fd stays owned by the pool. */
static inline int kk_mempool_fd(const struct kk_mempool *pool) { return pool->fd; }
static inline void *kk_mempool_base(const struct kk_mempool *pool) { return pool->base; }
static inline size_t kk_mempool_mem_size(const struct kk_mempool *pool) { return pool->mem_size; }
static inline bool kk_mempool_uses_hugepages(const struct kk_mempool *pool) { return pool->hugepages; }
static inline uint32_t kk_mempool_count(const struct kk_mempool *pool) { return pool->count; }

/* True if @obj is the start of one of the pool's objects. */
static inline bool kk_mempool_owns(const struct kk_mempool *pool, const void *obj)
{
    const char *p = (const char *)obj;
    if (p < pool->base || p >= pool->base + (size_t)pool->count * pool->stride)
        return false;
    return (size_t)(p - pool->base) % pool->stride == 0;
}

/* Index of an object (0..count-1) and back. */
static inline uint32_t kk_mempool_obj_index(const struct kk_mempool *pool, const void *obj)
{
    return (uint32_t)(((const char *)obj - pool->base) / pool->stride);
}
static inline void *kk_mempool_obj_at(const struct kk_mempool *pool, uint32_t index)
{
    return pool->base + (size_t)index * pool->stride;
}

/* Objects currently in the ring (not counting caches); a snapshot. */
static inline uint32_t kk_mempool_avail_count(const struct kk_mempool *pool)
{
    return kk_ring_count(pool->free_ring);
}

/*
 * Take @n objects: all of them (returns 0) or none (-ENOMEM).
 * @cache may be NULL.
 */
static inline int kk_mempool_get_bulk(struct kk_mempool *pool, struct kk_mempool_cache *cache,
                                      void **objs, uint32_t n)
{
    if (!cache || n > cache->size) {
        return kk_ring_mc_dequeue_bulk(pool->free_ring, objs, n) == n || n == 0 ? 0 : -ENOMEM;
    }
    if (cache->len < n) {
        /* Refill to the target fill plus what this call needs. */
        uint32_t want = cache->size + n - cache->len;
        uint32_t got = kk_ring_mc_dequeue_burst(pool->free_ring, &cache->objs[cache->len], want);
        cache->len += got;
        if (cache->len < n)
            return -ENOMEM;
    }
    /* LIFO: the most recently freed objects are the warmest in cache. */
    for (uint32_t i = 0; i < n; i++)
        objs[i] = cache->objs[--cache->len];
    return 0;
}

static inline int kk_mempool_get(struct kk_mempool *pool, struct kk_mempool_cache *cache,
                                 void **obj)
{
    return kk_mempool_get_bulk(pool, cache, obj, 1);
}

/*
 * Give back @n objects taken from this pool. Never fails: the ring has room
 * for every object of the pool. @cache may be NULL.
 */
static inline void kk_mempool_put_bulk(struct kk_mempool *pool, struct kk_mempool_cache *cache,
                                       void *const *objs, uint32_t n)
{
    if (!cache || n > cache->size) {
        kk_ring_mp_enqueue_bulk(pool->free_ring, objs, n);
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        cache->objs[cache->len++] = objs[i];
    if (cache->len > cache->flush_at) {
        uint32_t extra = cache->len - cache->size;
        kk_ring_mp_enqueue_bulk(pool->free_ring, &cache->objs[cache->size], extra);
        cache->len = cache->size;
    }
}

static inline void kk_mempool_put(struct kk_mempool *pool, struct kk_mempool_cache *cache,
                                  void *obj)
{
    kk_mempool_put_bulk(pool, cache, &obj, 1);
}

#endif /* KK_MEMPOOL_H */
