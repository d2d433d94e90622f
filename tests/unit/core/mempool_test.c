/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kk_mempool.h"
#include "kk_test.h"

static struct kk_mempool *make_pool(uint32_t count, uint32_t size, uint32_t cache)
{
    struct kk_mempool_opts o = {.name = "test", .count = count, .obj_size = size,
                                .cache_size = cache, .flags = KK_MEMPOOL_F_NO_HUGEPAGES};
    struct kk_mempool *p = NULL;
    assert_int_equal(kk_mempool_create(&o, &p), 0);
    return p;
}

static void test_create_rejects_bad_options(void **state)
{
    struct kk_mempool *p = NULL;
    struct kk_mempool_opts o = {.count = 0, .obj_size = 64};
    assert_int_equal(kk_mempool_create(&o, &p), -EINVAL);
    o = (struct kk_mempool_opts){.count = 8, .obj_size = 0};
    assert_int_equal(kk_mempool_create(&o, &p), -EINVAL);
    o = (struct kk_mempool_opts){.count = 8, .obj_size = 64, .align = 3};
    assert_int_equal(kk_mempool_create(&o, &p), -EINVAL);
    o = (struct kk_mempool_opts){.count = 8, .obj_size = 64, .cache_size = 9};
    assert_int_equal(kk_mempool_create(&o, &p), -EINVAL);
    o = (struct kk_mempool_opts){.count = 1024, .obj_size = 64,
                                 .cache_size = KK_MEMPOOL_CACHE_MAX + 1};
    assert_int_equal(kk_mempool_create(&o, &p), -EINVAL);
    o = (struct kk_mempool_opts){.count = 8, .obj_size = 64,
                                 .flags = KK_MEMPOOL_F_NO_HUGEPAGES |
                                          KK_MEMPOOL_F_REQUIRE_HUGEPAGES};
    assert_int_equal(kk_mempool_create(&o, &p), -EINVAL);
    o = (struct kk_mempool_opts){.count = UINT32_MAX, .obj_size = UINT32_MAX};
    assert_int_equal(kk_mempool_create(&o, &p), -EINVAL);
    assert_int_equal(kk_mempool_create(NULL, &p), -EINVAL);
    assert_null(p);
    kk_mempool_destroy(NULL);
    kk_mempool_cache_destroy(NULL);

    p = make_pool(8, 64, 0);
    struct kk_mempool_cache *c;
    assert_int_equal(kk_mempool_cache_create(p, &c), -EINVAL); /* pool has no cache size */
    kk_mempool_destroy(p);
}

static void test_exhaustion_and_ownership(void **state)
{
    struct kk_mempool *p = make_pool(100, 100, 0);
    void *objs[100];
    assert_int_equal(kk_mempool_get_bulk(p, NULL, objs, 100), 0);
    void *extra;
    assert_int_equal(kk_mempool_get(p, NULL, &extra), -ENOMEM);
    assert_int_equal(kk_mempool_avail_count(p), 0);

    /* Distinct, owned, aligned, writable without overlapping. */
    for (int i = 0; i < 100; i++) {
        assert_true(kk_mempool_owns(p, objs[i]));
        assert_int_equal((uintptr_t)objs[i] % KK_CACHE_LINE, 0);
        memset(objs[i], i, 100);
    }
    for (int i = 0; i < 100; i++) {
        unsigned char *b = objs[i];
        for (int k = 0; k < 100; k++)
            assert_int_equal(b[k], i);
        assert_ptr_equal(kk_mempool_obj_at(p, kk_mempool_obj_index(p, objs[i])), objs[i]);
    }
    assert_false(kk_mempool_owns(p, (char *)objs[0] + 1));
    assert_false(kk_mempool_owns(p, &extra));

    /* Bulk get is all-or-nothing. */
    kk_mempool_put_bulk(p, NULL, objs, 10);
    void *more[11];
    assert_int_equal(kk_mempool_get_bulk(p, NULL, more, 11), -ENOMEM);
    assert_int_equal(kk_mempool_avail_count(p), 10);
    kk_mempool_put_bulk(p, NULL, objs + 10, 90);
    assert_int_equal(kk_mempool_avail_count(p), 100);
    kk_mempool_destroy(p);
}

static void init_obj(void *arg, void *obj, uint32_t index)
{
    uint32_t *calls = arg;
    (*calls)++;
    *(uint32_t *)obj = index * 7 + 1;
}

static void test_object_init_runs_once_per_object(void **state)
{
    uint32_t calls = 0;
    struct kk_mempool_opts o = {.count = 33, .obj_size = 16, .obj_init = init_obj,
                                .obj_init_arg = &calls, .flags = KK_MEMPOOL_F_NO_HUGEPAGES};
    struct kk_mempool *p;
    assert_int_equal(kk_mempool_create(&o, &p), 0);
    assert_int_equal(calls, 33);
    for (uint32_t i = 0; i < 33; i++)
        assert_int_equal(*(uint32_t *)kk_mempool_obj_at(p, i), i * 7 + 1);
    kk_mempool_destroy(p);
}

/* The memory is a memfd another process (QEMU) can map: prove a second
 * mapping of the fd sees the same bytes, and that the fd cannot be shrunk. */
static void test_memory_is_shareable_memfd(void **state)
{
    struct kk_mempool *p = make_pool(16, 256, 0);
    int fd = kk_mempool_fd(p);
    assert_true(fd >= 0);
    assert_false(kk_mempool_uses_hugepages(p));
    void *other = mmap(NULL, kk_mempool_mem_size(p), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(other != MAP_FAILED);
    void *obj;
    assert_int_equal(kk_mempool_get(p, NULL, &obj), 0);
    size_t off = (size_t)((char *)obj - (char *)kk_mempool_base(p));
    strcpy(obj, "written by the pool");
    assert_string_equal((char *)other + off, "written by the pool");
    strcpy((char *)other + off, "written by the peer");
    assert_string_equal(obj, "written by the peer");
    assert_int_equal(ftruncate(fd, 0), -1);
    assert_int_equal(errno, EPERM);
    munmap(other, kk_mempool_mem_size(p));
    kk_mempool_put(p, NULL, obj);
    kk_mempool_destroy(p);
}

static void test_required_hugepages_fail_cleanly_or_work(void **state)
{
    struct kk_mempool_opts o = {.count = 4, .obj_size = 64,
                                .flags = KK_MEMPOOL_F_REQUIRE_HUGEPAGES};
    struct kk_mempool *p = NULL;
    int rc = kk_mempool_create(&o, &p);
    if (rc == 0) {
        assert_true(kk_mempool_uses_hugepages(p));
        kk_mempool_destroy(p);
    } else {
        assert_int_equal(rc, -ENOMEM);
        assert_null(p);
    }
}

static void test_cache_refill_and_flush(void **state)
{
    struct kk_mempool *p = make_pool(256, 64, 32);
    struct kk_mempool_cache *c;
    assert_int_equal(kk_mempool_cache_create(p, &c), 0);
    void *objs[256];
    /* One get refills the cache beyond what it hands out. */
    assert_int_equal(kk_mempool_get(p, c, &objs[0]), 0);
    assert_int_equal(c->len, 32);
    assert_int_equal(kk_mempool_avail_count(p), 256 - 33);
    /* Drain the pool through the cache: every object exactly once. */
    for (int i = 1; i < 256; i++)
        assert_int_equal(kk_mempool_get(p, c, &objs[i]), 0);
    void *none;
    assert_int_equal(kk_mempool_get(p, c, &none), -ENOMEM);
    for (int i = 0; i < 256; i++) {
        for (int k = i + 1; k < 256; k++)
            assert_ptr_not_equal(objs[i], objs[k]);
    }
    /* Putting back flushes past the threshold, keeping the target fill. */
    for (int i = 0; i < 256; i++) {
        kk_mempool_put(p, c, objs[i]);
        assert_true(c->len <= c->flush_at);
    }
    assert_int_equal(kk_mempool_avail_count(p) + c->len, 256);
    kk_mempool_cache_destroy(c);
    assert_int_equal(kk_mempool_avail_count(p), 256);
    kk_mempool_destroy(p);
}

static void test_bulk_larger_than_cache_bypasses_it(void **state)
{
    struct kk_mempool *p = make_pool(128, 64, 8);
    struct kk_mempool_cache *c;
    assert_int_equal(kk_mempool_cache_create(p, &c), 0);
    void *objs[64];
    assert_int_equal(kk_mempool_get_bulk(p, c, objs, 64), 0);
    assert_int_equal(c->len, 0);
    kk_mempool_put_bulk(p, c, objs, 64);
    assert_int_equal(c->len, 0);
    assert_int_equal(kk_mempool_avail_count(p), 128);
    kk_mempool_cache_destroy(c);
    kk_mempool_destroy(p);
}

/* Threads with their own caches: no object is ever held by two at once. */
struct mt {
    struct kk_mempool *pool;
    unsigned id;
    bool ok;
};

static void *mt_worker(void *arg)
{
    struct mt *m = arg;
    struct kk_mempool_cache *c;
    if (kk_mempool_cache_create(m->pool, &c) < 0)
        return NULL;
    uint64_t rng = 99 + m->id;
    void *held[64];
    for (int iter = 0; iter < 50000; iter++) {
        uint32_t n = (uint32_t)(kk_test_rand(&rng) % 16) + 1;
        if (kk_mempool_get_bulk(m->pool, c, held, n) < 0)
            continue;
        for (uint32_t i = 0; i < n; i++)
            *(volatile uint64_t *)held[i] = ((uint64_t)m->id << 32) | (uint32_t)iter;
        for (uint32_t i = 0; i < n; i++) {
            if (*(volatile uint64_t *)held[i] != (((uint64_t)m->id << 32) | (uint32_t)iter))
                m->ok = false;
        }
        kk_mempool_put_bulk(m->pool, c, held, n);
    }
    kk_mempool_cache_destroy(c);
    return NULL;
}

static void test_threads_with_caches(void **state)
{
    struct kk_mempool *p = make_pool(512, 64, 32);
    pthread_t t[4];
    struct mt m[4];
    for (unsigned i = 0; i < 4; i++) {
        m[i] = (struct mt){.pool = p, .id = i, .ok = true};
        assert_int_equal(pthread_create(&t[i], NULL, mt_worker, &m[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_true(m[i].ok);
    }
    assert_int_equal(kk_mempool_avail_count(p), 512);
    kk_mempool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_bad_options),
        cmocka_unit_test(test_exhaustion_and_ownership),
        cmocka_unit_test(test_object_init_runs_once_per_object),
        cmocka_unit_test(test_memory_is_shareable_memfd),
        cmocka_unit_test(test_required_hugepages_fail_cleanly_or_work),
        cmocka_unit_test(test_cache_refill_and_flush),
        cmocka_unit_test(test_bulk_larger_than_cache_bypasses_it),
        cmocka_unit_test(test_threads_with_caches),
    };
    return cmocka_run_group_tests_name("mempool", tests, NULL, NULL);
}
