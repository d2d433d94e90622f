/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kk_err.h"
#include "kk_log.h"
#include "kk_mempool.h"

KK_LOG_COMPONENT(mempool_log, "mempool");

#define HUGEPAGE_SIZE (2u * 1024 * 1024)

/* Free 2 MiB huge pages on this host, from /proc/meminfo; 0 if unknown. */
static uint64_t free_hugepages(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return 0;
    char line[128];
    uint64_t free_pages = 0, page_kb = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long v;
        if (sscanf(line, "HugePages_Free: %llu", &v) == 1)
            free_pages = v;
        else if (sscanf(line, "Hugepagesize: %llu kB", &v) == 1)
            page_kb = v;
    }
    fclose(f);
    return page_kb * 1024 == HUGEPAGE_SIZE ? free_pages : 0;
}

/* memfd of @size bytes mapped shared; returns 0 and fills *fd, *addr. */
static int map_memfd(const char *name, size_t size, bool huge, int *fd_out, void **addr_out)
{
    unsigned mfd_flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
    if (huge)
        mfd_flags = MFD_CLOEXEC | MFD_HUGETLB; /* hugetlbfs has no sealing */
    int fd = memfd_create(name, mfd_flags);
    if (fd < 0)
        return kk_neg_errno();
    if (ftruncate(fd, (off_t)size) < 0) {
        int rc = kk_neg_errno();
        close(fd);
        return rc;
    }
    if (!huge) {
        /* Whoever we share the fd with cannot shrink it under us (which
         * would turn our accesses into SIGBUS). */
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    }
    /* Shared hugetlb mappings reserve their pages at mmap time, so a host
     * short of huge pages fails here with ENOMEM, not later with SIGBUS. */
    void *addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        int rc = kk_neg_errno();
        close(fd);
        return rc;
    }
    *fd_out = fd;
    *addr_out = addr;
    return 0;
}

int kk_mempool_create(const struct kk_mempool_opts *opts, struct kk_mempool **out)
{
    if (!opts || !out || opts->count == 0 || opts->obj_size == 0)
        return -EINVAL;
    uint32_t align = opts->align ? opts->align : KK_CACHE_LINE;
    if (!kk_is_power_of_2(align) || align > 4096)
        return -EINVAL;
    if (opts->cache_size > KK_MEMPOOL_CACHE_MAX || opts->cache_size > opts->count)
        return -EINVAL;
    if (opts->count > KK_RING_MAX_CAPACITY)
        return -EINVAL;
    if ((opts->flags & KK_MEMPOOL_F_NO_HUGEPAGES) && (opts->flags & KK_MEMPOOL_F_REQUIRE_HUGEPAGES))
        return -EINVAL;

    uint64_t stride = kk_align_up(opts->obj_size, align);
    uint64_t bytes = stride * opts->count;
    if (stride > UINT32_MAX || bytes / stride != opts->count || bytes > (UINT64_C(1) << 40))
        return -EINVAL;

    struct kk_mempool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return -ENOMEM;
    snprintf(pool->name, sizeof(pool->name), "%s", opts->name ? opts->name : "mempool");
    pool->fd = -1;
    pool->count = opts->count;
    pool->obj_size = opts->obj_size;
    pool->stride = (uint32_t)stride;
    pool->cache_size = opts->cache_size;

    char memfd_name[64];
    snprintf(memfd_name, sizeof(memfd_name), "kvmkit:%s", pool->name);

    int rc = -ENOMEM;
    bool try_huge = !(opts->flags & KK_MEMPOOL_F_NO_HUGEPAGES);
    if (try_huge) {
        size_t huge_bytes = kk_align_up(bytes, HUGEPAGE_SIZE);
        if (free_hugepages() * HUGEPAGE_SIZE >= huge_bytes) {
            rc = map_memfd(memfd_name, huge_bytes, true, &pool->fd, (void **)&pool->base);
            if (rc == 0) {
                pool->mem_size = huge_bytes;
                pool->hugepages = true;
            }
        }
        if (rc < 0 && (opts->flags & KK_MEMPOOL_F_REQUIRE_HUGEPAGES)) {
            KK_LOGE(mempool_log, "%s: %zu bytes of huge pages required, not available",
                    pool->name, huge_bytes);
            free(pool);
            return -ENOMEM;
        }
    }
    if (!pool->hugepages) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        size_t size = kk_align_up(bytes, page);
        rc = map_memfd(memfd_name, size, false, &pool->fd, (void **)&pool->base);
        if (rc < 0) {
            KK_LOGE(mempool_log, "%s: cannot map %zu bytes: %s", pool->name, size,
                    kk_strerror(rc));
            free(pool);
            return rc;
        }
        pool->mem_size = size;
    }

    rc = kk_ring_create(opts->count, 0, &pool->free_ring);
    if (rc < 0) {
        kk_mempool_destroy(pool);
        return rc;
    }
    for (uint32_t i = 0; i < opts->count; i++) {
        void *obj = kk_mempool_obj_at(pool, i);
        if (opts->obj_init)
            opts->obj_init(opts->obj_init_arg, obj, i);
        kk_ring_sp_enqueue(pool->free_ring, obj);
    }
    KK_LOGD(mempool_log, "%s: %u objects of %u bytes, %zu bytes in %s", pool->name, pool->count,
            pool->obj_size, pool->mem_size, pool->hugepages ? "huge pages" : "a memfd");
    *out = pool;
    return 0;
}

void kk_mempool_destroy(struct kk_mempool *pool)
{
    if (!pool)
        return;
    if (pool->base)
        munmap(pool->base, pool->mem_size);
    if (pool->fd >= 0)
        close(pool->fd);
    kk_ring_destroy(pool->free_ring);
    free(pool);
}

int kk_mempool_cache_create(struct kk_mempool *pool, struct kk_mempool_cache **out)
{
    if (!pool || !out || pool->cache_size == 0)
        return -EINVAL;
    struct kk_mempool_cache *cache = aligned_alloc(KK_CACHE_LINE,
                                                   kk_align_up(sizeof(*cache), KK_CACHE_LINE));
    if (!cache)
        return -ENOMEM;
    cache->pool = pool;
    cache->size = pool->cache_size;
    cache->flush_at = pool->cache_size + pool->cache_size / 2;
    cache->len = 0;
    *out = cache;
    return 0;
}

void kk_mempool_cache_flush(struct kk_mempool_cache *cache)
{
    if (cache->len)
        kk_ring_mp_enqueue_bulk(cache->pool->free_ring, cache->objs, cache->len);
    cache->len = 0;
}

void kk_mempool_cache_destroy(struct kk_mempool_cache *cache)
{
    if (!cache)
        return;
    kk_mempool_cache_flush(cache);
    free(cache);
}
