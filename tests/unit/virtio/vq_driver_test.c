/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Driver side of virtqueues (vq_driver.c), driven against the device side
 * (vq.c, vq_packed.c): negative cases first, then notification logic, then
 * device faults, then random traffic through every variant (split/packed,
 * EVENT_IDX on/off, indirect on/off, several queue sizes).
 */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_test.h"
#include "vq.h"
#include "vq_driver.h"

/*
 * Guest memory: region A (1 MiB at GPA 0x40000000) holds the rings and
 * buffers; region B follows it in GPA space but is a separate host
 * allocation, so a buffer crossing A/B reaches the device as two iovecs.
 */
#define GPA_A 0x40000000ull
#define SIZE_A (1u << 20)
#define GPA_B (GPA_A + SIZE_A)
#define SIZE_B (1u << 20)
#define RING_GPA GPA_A
#define DATA_GPA (GPA_A + 0x40000) /* past the largest ring used here */

#define EVENT VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)
#define INDIRECT VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)

struct env {
    uint8_t *a, *b;
    struct vq_mem *mem;
    struct vq dev;
    struct vqd drv;
    int call_fd;
};

static void *hva(struct env *e, uint64_t gpa)
{
    return gpa >= GPA_B ? e->b + (gpa - GPA_B) : e->a + (gpa - GPA_A);
}

static uint64_t gpa_of(struct env *e, const void *p)
{
    const uint8_t *b = p;
    if (b >= e->a && b < e->a + SIZE_A)
        return GPA_A + (uint64_t)(b - e->a);
    assert_true(b >= e->b && b < e->b + SIZE_B);
    return GPA_B + (uint64_t)(b - e->b);
}

/* Write @len bytes at @gpa, possibly across the A/B boundary. */
static void gpa_write(struct env *e, uint64_t gpa, const uint8_t *src, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        *(uint8_t *)hva(e, gpa + i) = src[i];
}

static void gpa_read(struct env *e, uint64_t gpa, uint8_t *dst, uint32_t len)
{
    assert_int_equal(vq_mem_read(e->mem, gpa, dst, len), 0);
}

static void env_open(struct env *e, uint16_t num, bool packed, uint64_t features)
{
    memset(e, 0, sizeof(*e));
    e->a = aligned_alloc(4096, SIZE_A);
    e->b = aligned_alloc(4096, SIZE_B);
    assert_non_null(e->a);
    assert_non_null(e->b);
    memset(e->a, 0xa5, SIZE_A); /* vqd_init must zero the rings */
    memset(e->b, 0xa5, SIZE_B);
    assert_int_equal(vq_mem_create(4, &e->mem), 0);
    struct vq_mem_region_desc da = {.gpa = GPA_A, .size = SIZE_A, .uva = 0x7f0000000000};
    struct vq_mem_region_desc db = {.gpa = GPA_B, .size = SIZE_B, .uva = 0x7f1000000000};
    assert_int_equal(vq_mem_add_mapped(e->mem, &da, e->a), 0);
    assert_int_equal(vq_mem_add_mapped(e->mem, &db, e->b), 0);

    assert_int_equal(vqd_init(&e->drv, e->a, RING_GPA, num, packed, features), 0);
    size_t bytes = vqd_ring_bytes(num, packed);
    assert_true(bytes > 0 && bytes <= DATA_GPA - RING_GPA);
    for (size_t i = 0; i < bytes; i++)
        if (e->a[i] != 0)
            fail_msg("ring byte %zu not zeroed", i);
    assert_int_equal(e->a[bytes], 0xa5); /* and nothing past it */

    /* The device finds the rings where the driver says they are. */
    assert_ptr_equal(hva(e, e->drv.desc_gpa), e->drv.desc_hva);
    assert_ptr_equal(hva(e, e->drv.driver_gpa), e->drv.driver_hva);
    assert_ptr_equal(hva(e, e->drv.device_gpa), e->drv.device_hva);
    struct vq_layout l = {.num = num, .packed = packed, .desc = e->drv.desc_hva,
                          .avail = e->drv.driver_hva, .used = e->drv.device_hva};
    assert_int_equal(vq_init(&e->dev, &l, e->mem, features, vqd_initial_base(&e->drv)), 0);
    e->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(e->call_fd >= 0);
    e->dev.call_fd = e->call_fd;
}

static void env_close(struct env *e)
{
    vqd_fini(&e->drv);
    vq_fini(&e->dev);
    vq_mem_destroy(e->mem);
    close(e->call_fd);
    free(e->a);
    free(e->b);
}

/* Interrupts the device signalled since the last call (eventfd counter). */
static uint64_t calls(struct env *e)
{
    uint64_t v = 0;
    if (read(e->call_fd, &v, sizeof(v)) != sizeof(v))
        return 0;
    return v;
}

/* ---- negative cases --------------------------------------------------------- */

static void test_ring_bytes_and_bad_init(void **state)
{
    (void)state;
    assert_int_equal(vqd_ring_bytes(0, false), 0);
    assert_int_equal(vqd_ring_bytes(0, true), 0);
    assert_int_equal(vqd_ring_bytes(12, false), 0); /* split: power of two only */
    assert_int_equal(vqd_ring_bytes(32769, true), 0);
    assert_int_equal(vqd_ring_bytes(32769, false), 0);
    assert_true(vqd_ring_bytes(12, true) > 0);
    assert_true(vqd_ring_bytes(32768, false) > 0);

    /* Layout: spec alignments (we use 64), areas in order, not overlapping. */
    static const struct {
        uint16_t num;
        bool packed;
    } shapes[] = {{1, false}, {16, false}, {256, false}, {32768, false},
                  {1, true},  {7, true},   {50, true},   {32768, true}};
    uint8_t *mem = aligned_alloc(64, 2u << 20);
    assert_non_null(mem);
    for (size_t i = 0; i < KK_ARRAY_SIZE(shapes); i++) {
        uint16_t num = shapes[i].num;
        bool packed = shapes[i].packed;
        struct vqd q;
        size_t bytes = vqd_ring_bytes(num, packed);
        assert_true(bytes <= 2u << 20);
        assert_int_equal(vqd_init(&q, mem, 0x10000, num, packed, 0), 0);
        assert_int_equal(q.num, num);
        assert_int_equal(q.packed, packed);
        assert_int_equal(q.desc_gpa, 0x10000);
        assert_int_equal(q.driver_gpa % 64, 0);
        assert_int_equal(q.device_gpa % 64, 0);
        assert_true(q.driver_gpa >= q.desc_gpa + 16ull * num);
        if (packed) {
            assert_true(q.device_gpa >= q.driver_gpa + VIRTQ_PACKED_EVENT_SIZE);
            assert_int_equal(q.device_gpa + VIRTQ_PACKED_EVENT_SIZE, 0x10000 + bytes);
            assert_int_equal(vqd_initial_base(&q), 1u << 15 | 1u << 31);
        } else {
            assert_true(q.device_gpa >= q.driver_gpa + virtq_avail_size(num));
            assert_int_equal(q.device_gpa + virtq_used_size(num), 0x10000 + bytes);
            assert_int_equal(vqd_initial_base(&q), 0);
        }
        assert_ptr_equal((uint8_t *)q.driver_hva - mem, q.driver_gpa - 0x10000);
        assert_ptr_equal((uint8_t *)q.device_hva - mem, q.device_gpa - 0x10000);
        assert_int_equal(vqd_free_descs(&q), num);
        assert_int_equal(vqd_inflight(&q), 0);
        vqd_fini(&q);
    }

    struct vqd q;
    assert_int_equal(vqd_init(NULL, mem, 0, 16, false, 0), -EINVAL);
    assert_int_equal(vqd_init(&q, NULL, 0, 16, false, 0), -EINVAL);
    assert_int_equal(vqd_init(&q, mem, 0, 0, false, 0), -EINVAL);
    assert_int_equal(vqd_init(&q, mem, 0, 0, true, 0), -EINVAL);
    assert_int_equal(vqd_init(&q, mem, 0, 12, false, 0), -EINVAL);
    assert_int_equal(vqd_init(&q, mem, 0, 32769, true, 0), -EINVAL);
    assert_int_equal(vqd_init(&q, mem + 8, 0, 16, false, 0), -EINVAL);  /* host misaligned */
    assert_int_equal(vqd_init(&q, mem, 0x1008, 16, true, 0), -EINVAL);  /* guest misaligned */
    assert_int_equal(vqd_init(&q, mem, UINT64_MAX - 0xff, 16, false, 0), -EINVAL); /* wraps */
    vqd_fini(&q); /* harmless after a failed init */
    vqd_fini(NULL);
    free(mem);
}

static void test_add_rejects_bad_buffers(void **state)
{
    (void)state;
    for (int packed = 0; packed < 2; packed++) {
        struct env e;
        env_open(&e, 8, packed, INDIRECT);
        struct vqd *q = &e.drv;
        uint8_t *table = hva(&e, DATA_GPA + 0x1000);
        struct vqd_buf ok[2] = {{DATA_GPA, 16, false}, {DATA_GPA + 16, 16, true}};
        struct vqd_buf order[2] = {{DATA_GPA, 16, true}, {DATA_GPA + 16, 16, false}};
        struct vqd_buf wraps[1] = {{UINT64_MAX - 7, 16, false}};
        struct vqd_buf huge_r[2] = {{DATA_GPA, 0x80000000u, false}, {DATA_GPA, 0x80000000u, false}};
        struct vqd_buf huge_w[2] = {{DATA_GPA, 0x80000000u, true}, {DATA_GPA, 0x80000000u, true}};
        struct vqd_buf many[9];
        for (int i = 0; i < 9; i++)
            many[i] = (struct vqd_buf){DATA_GPA + 16u * (unsigned)i, 16, false};

        assert_int_equal(vqd_add(q, ok, 0, NULL), -EINVAL);
        assert_int_equal(vqd_add(q, NULL, 1, NULL), -EINVAL);
        assert_int_equal(vqd_add(q, order, 2, NULL), -EINVAL);
        assert_int_equal(vqd_add(q, wraps, 1, NULL), -EINVAL);
        assert_int_equal(vqd_add(q, huge_r, 2, NULL), -EINVAL);
        assert_int_equal(vqd_add(q, huge_w, 2, NULL), -EINVAL);
        assert_int_equal(vqd_add(q, many, 9, NULL), -EINVAL); /* longer than the queue */

        assert_int_equal(vqd_add_indirect(q, order, 2, table, DATA_GPA + 0x1000, NULL), -EINVAL);
        assert_int_equal(vqd_add_indirect(q, ok, 0, table, DATA_GPA + 0x1000, NULL), -EINVAL);
        assert_int_equal(vqd_add_indirect(q, ok, 2, NULL, DATA_GPA + 0x1000, NULL), -EINVAL);
        assert_int_equal(vqd_add_indirect(q, ok, 2, table + 8, DATA_GPA + 0x1008, NULL), -EINVAL);
        assert_int_equal(vqd_add_indirect(q, ok, 2, table, UINT64_MAX - 16, NULL), -EINVAL);
        assert_int_equal(vqd_add_indirect(q, ok, VIRTQ_MAX_SIZE + 1, table, DATA_GPA, NULL),
                         -EINVAL);

        /* Nothing was taken, nothing is published. */
        assert_int_equal(vqd_free_descs(q), 8);
        assert_int_equal(vqd_inflight(q), 0);
        assert_false(vqd_publish(q));
        assert_false(vq_has_avail(&e.dev));
        env_close(&e);

        /* Indirect without the feature. */
        env_open(&e, 8, packed, EVENT);
        table = hva(&e, DATA_GPA + 0x1000);
        assert_int_equal(vqd_add_indirect(&e.drv, ok, 2, table, DATA_GPA + 0x1000, NULL),
                         -ENOTSUP);
        assert_int_equal(vqd_free_descs(&e.drv), 8);
        env_close(&e);
    }
}

static void test_full_ring_enospc(void **state)
{
    (void)state;
    for (int packed = 0; packed < 2; packed++) {
        struct env e;
        env_open(&e, 8, packed, INDIRECT);
        struct vqd *q = &e.drv;
        int cookies[4];
        struct vqd_buf three[3] = {{DATA_GPA, 8, false}, {DATA_GPA + 8, 8, true},
                                   {DATA_GPA + 16, 8, true}};
        assert_int_equal(vqd_add(q, three, 3, &cookies[0]), 0);
        assert_int_equal(vqd_add(q, three, 3, &cookies[1]), 0);
        assert_int_equal(vqd_free_descs(q), 2);
        assert_int_equal(vqd_add(q, three, 3, &cookies[2]), -ENOSPC);
        assert_int_equal(vqd_free_descs(q), 2); /* unchanged */
        assert_int_equal(vqd_inflight(q), 2);
        assert_int_equal(vqd_add(q, three, 2, &cookies[2]), 0);
        assert_int_equal(vqd_free_descs(q), 0);
        assert_int_equal(vqd_add(q, three, 1, &cookies[3]), -ENOSPC);
        assert_int_equal(vqd_add_indirect(q, three, 3, hva(&e, DATA_GPA + 0x1000),
                                          DATA_GPA + 0x1000, &cookies[3]),
                         -ENOSPC);
        assert_true(vqd_publish(q));

        /* The device completes the middle buffer first. */
        struct vq_chain c[4];
        struct iovec iov[16];
        assert_int_equal(vq_pop(&e.dev, c, 4, iov, 16), 3);
        assert_int_equal(c[1].writable_len, 16);
        struct vq_used u = {.id = c[1].id, .desc_count = c[1].desc_count, .len = 16};
        vq_push(&e.dev, &u, 1);
        void *cookie;
        uint32_t len;
        assert_int_equal(vqd_get_used(q, &cookie, &len), 1);
        assert_ptr_equal(cookie, &cookies[1]);
        assert_int_equal(len, 16);
        assert_int_equal(vqd_get_used(q, &cookie, &len), 0);
        assert_int_equal(vqd_free_descs(q), 3);
        assert_int_equal(vqd_inflight(q), 2);
        /* An indirect buffer takes one descriptor whatever its length. */
        assert_int_equal(vqd_add_indirect(q, three, 3, hva(&e, DATA_GPA + 0x1000),
                                          DATA_GPA + 0x1000, &cookies[3]),
                         0);
        assert_int_equal(vqd_free_descs(q), 2);
        assert_int_equal(vqd_add(q, three, 3, &cookies[1]), -ENOSPC);
        assert_int_equal(vqd_add(q, three, 2, &cookies[1]), 0);
        assert_int_equal(vqd_free_descs(q), 0);
        env_close(&e);
    }
}

/* ---- visibility and notifications -------------------------------------------- */

static void test_nothing_visible_before_publish(void **state)
{
    (void)state;
    for (int packed = 0; packed < 2; packed++) {
        struct env e;
        env_open(&e, 16, packed, 0);
        memcpy(hva(&e, DATA_GPA), "first", 5);
        memcpy(hva(&e, DATA_GPA + 0x100), "second", 6);
        struct vqd_buf a = {DATA_GPA, 5, false}, b = {DATA_GPA + 0x100, 6, false};
        int ca, cb;
        assert_int_equal(vqd_add(&e.drv, &a, 1, &ca), 0);
        assert_int_equal(vqd_add(&e.drv, &b, 1, &cb), 0);
        struct vq_chain c[4];
        struct iovec iov[8];
        assert_false(vq_has_avail(&e.dev));
        assert_int_equal(vq_pop(&e.dev, c, 4, iov, 8), 0);
        assert_true(vqd_publish(&e.drv));
        assert_int_equal(vq_pop(&e.dev, c, 4, iov, 8), 2);
        assert_memory_equal(c[0].iov[0].iov_base, "first", 5);
        assert_memory_equal(c[1].iov[0].iov_base, "second", 6);

        /* Added after a publish: waits for the next one. */
        assert_int_equal(vqd_add(&e.drv, &a, 1, &ca), 0);
        assert_int_equal(vq_pop(&e.dev, c, 4, iov, 8), 0);
        assert_true(vqd_publish(&e.drv));
        assert_false(vqd_publish(&e.drv)); /* nothing new */
        assert_int_equal(vq_pop(&e.dev, c, 4, iov, 8), 1);
        assert_memory_equal(c[0].iov[0].iov_base, "first", 5);
        env_close(&e);
    }
}

struct notify_variant {
    const char *name;
    bool packed;
    uint64_t features;
};

static const struct notify_variant notify_variants[] = {
    {"split", false, 0},
    {"split+event_idx", false, EVENT},
    {"packed", true, 0},
    {"packed+event_idx", true, EVENT},
};

/* Add @n one-descriptor buffers (a 3-descriptor one every third), unpublished. */
static void add_some(struct env *e, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct vqd_buf b[3] = {{DATA_GPA, 8, false}, {DATA_GPA + 8, 8, true},
                               {DATA_GPA + 16, 8, true}};
        assert_int_equal(vqd_add(&e->drv, b, i % 3 == 2 ? 3 : 1, NULL), 0);
    }
}

/* The device pops everything and completes it at once. */
static void device_complete_all(struct env *e)
{
    struct vq_chain c[16];
    struct iovec iov[64];
    struct vq_used u[16];
    int n = vq_pop(&e->dev, c, 16, iov, 64);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++)
        u[i] = (struct vq_used){.id = c[i].id, .desc_count = c[i].desc_count};
    vq_push(&e->dev, u, (unsigned)n);
}

static unsigned driver_collect_all(struct env *e)
{
    unsigned n = 0;
    int rc;
    while ((rc = vqd_get_used(&e->drv, NULL, NULL)) == 1)
        n++;
    assert_int_equal(rc, 0);
    return n;
}

static void test_kick_suppression(void **state)
{
    (void)state;
    for (size_t v = 0; v < KK_ARRAY_SIZE(notify_variants); v++) {
        const struct notify_variant *nv = &notify_variants[v];
        bool event = nv->features & EVENT;
        struct env e;
        env_open(&e, 16, nv->packed, nv->features);

        /* Fresh rings ask for kicks. */
        add_some(&e, 1);
        assert_true(vqd_publish(&e.drv));
        /* The device turns them off: no kick (with EVENT_IDX the event it
         * asked for is already behind). */
        vq_enable_kicks(&e.dev, false);
        add_some(&e, 1);
        if (vqd_publish(&e.drv))
            fail_msg("%s: kick while the device disabled kicks", nv->name);
        /* It catches up and asks again: the next publish kicks. */
        device_complete_all(&e);
        assert_int_equal(driver_collect_all(&e), 2);
        assert_false(vq_enable_kicks(&e.dev, true));
        add_some(&e, 1);
        assert_true(vqd_publish(&e.drv));
        /* Without EVENT_IDX every publish kicks; with it, one per request. */
        add_some(&e, 2);
        assert_int_equal(vqd_publish(&e.drv), !event);

        /* Buffers published while kicks were off are found on enabling. */
        device_complete_all(&e);
        assert_int_equal(driver_collect_all(&e), 3);
        vq_enable_kicks(&e.dev, false);
        add_some(&e, 1);
        assert_false(vqd_publish(&e.drv));
        assert_true(vq_enable_kicks(&e.dev, true));
        device_complete_all(&e);
        assert_int_equal(driver_collect_all(&e), 1);

        /* Many laps, batches crossing the ring's end: each batch published
         * after the device asked kicks exactly once. */
        for (unsigned round = 0; round < 300; round++) {
            assert_false(vq_enable_kicks(&e.dev, true));
            add_some(&e, 1 + round % 4);
            if (!vqd_publish(&e.drv))
                fail_msg("%s round %u: no kick after the device asked", nv->name, round);
            add_some(&e, 1);
            assert_int_equal(vqd_publish(&e.drv), !event);
            device_complete_all(&e);
            assert_int_equal(driver_collect_all(&e), 2 + round % 4);
            assert_int_equal(vqd_free_descs(&e.drv), 16);
        }
        env_close(&e);
    }
}

/* The driver adds @n buffers, the device completes them all; did it interrupt? */
static bool one_cycle(struct env *e, unsigned n)
{
    add_some(e, n);
    vqd_publish(&e->drv);
    device_complete_all(e);
    return vq_notify(&e->dev);
}

static void test_interrupt_suppression(void **state)
{
    (void)state;
    for (size_t v = 0; v < KK_ARRAY_SIZE(notify_variants); v++) {
        const struct notify_variant *nv = &notify_variants[v];
        bool event = nv->features & EVENT;
        struct env e;
        env_open(&e, 16, nv->packed, nv->features);
        uint64_t signalled = 0;

        assert_false(vqd_enable_interrupts(&e.drv, true)); /* nothing pending */
        assert_true(one_cycle(&e, 1));
        signalled++;
        assert_int_equal(driver_collect_all(&e), 1);

        /* Disabled: the device never signals, over many laps and past the
         * 16-bit index wrap (split EVENT_IDX keeps its event behind us). */
        assert_false(vqd_enable_interrupts(&e.drv, false));
        for (unsigned round = 0; round < 70000; round++) {
            if (one_cycle(&e, 1 + round % 3))
                fail_msg("%s round %u: interrupt while disabled", nv->name, round);
            assert_int_equal(driver_collect_all(&e), 1 + round % 3);
        }

        /* Enabling after draining: nothing pending, the next completion
         * interrupts. */
        assert_false(vqd_enable_interrupts(&e.drv, true));
        assert_true(one_cycle(&e, 1));
        signalled++;
        /* Not collected yet: EVENT_IDX asked for one interrupt only. */
        bool again = one_cycle(&e, 1);
        assert_int_equal(again, !event);
        signalled += again;
        /* Draining to empty moves the event: the next one interrupts. */
        assert_int_equal(driver_collect_all(&e), 2);
        for (unsigned round = 0; round < 300; round++) {
            if (!one_cycle(&e, 1 + round % 3))
                fail_msg("%s round %u: no interrupt while enabled", nv->name, round);
            signalled++;
            assert_int_equal(driver_collect_all(&e), 1 + round % 3);
        }

        /* Enabling when completions are already pending says so. */
        vqd_enable_interrupts(&e.drv, false);
        assert_false(one_cycle(&e, 2));
        assert_true(vqd_enable_interrupts(&e.drv, true));
        assert_int_equal(driver_collect_all(&e), 2);
        assert_false(vqd_enable_interrupts(&e.drv, true));

        assert_int_equal(calls(&e), signalled);
        env_close(&e);
    }
}

/* ---- a faulty device ---------------------------------------------------------------- */

static void expect_broken(struct env *e, const char *reason)
{
    void *cookie;
    uint32_t len;
    assert_int_equal(vqd_get_used(&e->drv, &cookie, &len), -EIO);
    assert_true(vqd_is_broken(&e->drv));
    if (!strstr(vqd_broken_reason(&e->drv), reason))
        fail_msg("reason '%s', expected '%s'", vqd_broken_reason(&e->drv), reason);
    /* Broken stays broken. */
    struct vqd_buf b = {DATA_GPA, 8, false};
    assert_int_equal(vqd_add(&e->drv, &b, 1, NULL), -EIO);
    assert_int_equal(vqd_add_indirect(&e->drv, &b, 1, hva(e, DATA_GPA), DATA_GPA, NULL), -EIO);
    assert_false(vqd_publish(&e->drv));
    assert_false(vqd_enable_interrupts(&e->drv, true));
    assert_int_equal(vqd_get_used(&e->drv, &cookie, &len), -EIO);
}

enum fault { BAD_ID, NOT_HEAD, NOT_IN_FLIGHT, UNPUBLISHED, INDEX_JUMP };

static void test_device_faults(void **state)
{
    (void)state;
    static const struct {
        enum fault f;
        bool packed;
        const char *reason;
    } cases[] = {
        {BAD_ID, false, "out of range"},       {NOT_HEAD, false, "not in flight"},
        {NOT_IN_FLIGHT, false, "not in flight"}, {UNPUBLISHED, false, "not published"},
        {INDEX_JUMP, false, "used index moved"}, {BAD_ID, true, "out of range"},
        {NOT_IN_FLIGHT, true, "not in flight"}, {UNPUBLISHED, true, "not published"},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        struct env e;
        env_open(&e, 8, cases[i].packed, INDIRECT);
        /* Two buffers published: a 2-descriptor chain and a single one. */
        struct vqd_buf two[2] = {{DATA_GPA, 8, false}, {DATA_GPA + 8, 8, true}};
        assert_int_equal(vqd_add(&e.drv, two, 2, NULL), 0);
        assert_int_equal(vqd_add(&e.drv, two, 1, NULL), 0);
        assert_true(vqd_publish(&e.drv));
        struct vq_chain c[4];
        struct iovec iov[8];
        assert_int_equal(vq_pop(&e.dev, c, 4, iov, 8), 2);
        /* A third one added, not published. */
        assert_int_equal(vqd_add(&e.drv, two, 1, NULL), 0);
        uint16_t unpublished = cases[i].packed ? 2 : 3; /* its id / head */

        struct vq_used u = {.id = c[0].id, .desc_count = c[0].desc_count, .len = 8};
        switch (cases[i].f) {
        case BAD_ID: u.id = 8; break;
        case NOT_HEAD: u.id = (uint16_t)(c[0].id + 1); break; /* second of the chain */
        case NOT_IN_FLIGHT: u.id = 5; break;
        case UNPUBLISHED: u.id = unpublished; break;
        case INDEX_JUMP: break;
        }
        vq_push(&e.dev, &u, 1);
        if (cases[i].f == INDEX_JUMP) {
            struct virtq_used *used = e.drv.device_hva;
            used->idx = 3; /* two published in flight */
        }
        expect_broken(&e, cases[i].reason);
        env_close(&e);
    }

    /* A completion claimed twice. */
    for (int packed = 0; packed < 2; packed++) {
        struct env e;
        env_open(&e, 8, packed, 0);
        struct vqd_buf b = {DATA_GPA, 8, true};
        assert_int_equal(vqd_add(&e.drv, &b, 1, NULL), 0);
        assert_int_equal(vqd_add(&e.drv, &b, 1, NULL), 0);
        assert_true(vqd_publish(&e.drv));
        struct vq_chain c[2];
        struct iovec iov[2];
        assert_int_equal(vq_pop(&e.dev, c, 2, iov, 2), 2);
        struct vq_used u[2] = {{.id = c[0].id, .desc_count = 1, .len = 4},
                               {.id = c[0].id, .desc_count = 1, .len = 4}};
        vq_push(&e.dev, u, 2);
        assert_int_equal(vqd_get_used(&e.drv, NULL, NULL), 1);
        expect_broken(&e, "not in flight");
        env_close(&e);
    }
}

static void test_used_len_is_clamped(void **state)
{
    (void)state;
    for (int packed = 0; packed < 2; packed++) {
        struct env e;
        env_open(&e, 8, packed, 0);
        struct vqd_buf rw[3] = {{DATA_GPA, 100, false}, {DATA_GPA + 100, 30, true},
                                {DATA_GPA + 200, 20, true}};
        int c1, c2;
        assert_int_equal(vqd_add(&e.drv, rw, 3, &c1), 0);
        assert_int_equal(vqd_add(&e.drv, rw, 1, &c2), 0); /* readable only */
        assert_true(vqd_publish(&e.drv));
        struct vq_chain c[2];
        struct iovec iov[8];
        assert_int_equal(vq_pop(&e.dev, c, 2, iov, 8), 2);
        struct vq_used u[2] = {{.id = c[0].id, .desc_count = c[0].desc_count, .len = 1000},
                               {.id = c[1].id, .desc_count = c[1].desc_count, .len = 7}};
        vq_push(&e.dev, u, 2);
        void *cookie;
        uint32_t len;
        assert_int_equal(vqd_get_used(&e.drv, &cookie, &len), 1);
        assert_ptr_equal(cookie, &c1);
        assert_int_equal(len, 50);
        assert_int_equal(vqd_get_used(&e.drv, &cookie, &len), 1);
        assert_ptr_equal(cookie, &c2);
        assert_int_equal(len, 0);
        assert_false(vqd_is_broken(&e.drv));
        env_close(&e);
    }
}

/* ---- random traffic against the device ------------------------------------------------ */

#define MAX_DESCS 4
#define SEG 512                                  /* bytes reserved per descriptor */
#define REC_STRIDE (MAX_DESCS * SEG + 64)        /* + an indirect table */
#define MAX_NUM 256
#define TARGET_BUFFERS 70000u                    /* past the 16-bit index wrap */

struct traffic_variant {
    const char *name;
    uint16_t num;
    bool packed;
    uint64_t features;
};

static const struct traffic_variant traffic_variants[] = {
    {"split 64", 64, false, 0},
    {"split 64 event_idx", 64, false, EVENT},
    {"split 64 indirect", 64, false, INDIRECT},
    {"split 8 event_idx indirect", 8, false, EVENT | INDIRECT},
    {"split 256 event_idx indirect", 256, false, EVENT | INDIRECT},
    {"packed 64", 64, true, 0},
    {"packed 50 event_idx", 50, true, EVENT},
    {"packed 64 indirect", 64, true, INDIRECT},
    {"packed 8 event_idx indirect", 8, true, EVENT | INDIRECT},
    {"packed 7 event_idx indirect", 7, true, EVENT | INDIRECT},
    {"packed 256 indirect", 256, true, INDIRECT},
};

/* A buffer the driver owns: where its descriptors are and what it expects. */
struct rec {
    bool busy, popped, pushed;
    bool indirect;
    uint32_t seq;
    unsigned n, n_readable;
    struct vqd_buf bufs[MAX_DESCS];
    uint32_t readable_len, writable_len;
    uint32_t reply_len;
};

struct traffic {
    struct env e;
    const struct traffic_variant *v;
    bool event;
    uint64_t rng;
    uint64_t base; /* GPA of rec 0 */
    struct rec recs[MAX_NUM];
    uint32_t seq;
    unsigned unpublished;
    /* completions the device holds, not yet pushed */
    struct vq_used pend[MAX_NUM];
    struct rec *pend_rec[MAX_NUM];
    unsigned n_pend;
    unsigned pushed_uncollected;
    /* who is waiting for whom */
    bool dev_sleeping, dev_kicks_on;
    bool drv_sleeping, drv_irq_on;
    unsigned completed;
    uint64_t kicks, interrupts;
};

static unsigned rnd(struct traffic *t, unsigned n)
{
    return (unsigned)(kk_test_rand(&t->rng) % n);
}

static uint8_t payload_byte(uint32_t seq, uint32_t off)
{
    return (uint8_t)(seq * 131u + off * 7u + (off >> 8));
}

static uint8_t reply_byte(uint32_t seq, uint32_t off)
{
    return (uint8_t)~(seq * 29u + off * 3u);
}

static uint64_t rec_gpa(const struct traffic *t, const struct rec *r)
{
    return t->base + (uint64_t)(r - t->recs) * REC_STRIDE;
}

static unsigned rec_descs(const struct rec *r)
{
    return r->indirect ? 1 : r->n;
}

/* Free descriptors and buffers in flight match what we hold. */
static void check_accounting(struct traffic *t)
{
    unsigned used = 0, busy = 0;
    for (unsigned i = 0; i < t->v->num; i++)
        if (t->recs[i].busy) {
            used += rec_descs(&t->recs[i]);
            busy++;
        }
    assert_int_equal(vqd_free_descs(&t->e.drv), t->v->num - used);
    assert_int_equal(vqd_inflight(&t->e.drv), busy);
}

/* Driver: add one random buffer. Returns false when the ring is full. */
static bool traffic_add(struct traffic *t)
{
    struct rec *r = NULL;
    unsigned start = rnd(t, t->v->num);
    for (unsigned i = 0; i < t->v->num && !r; i++)
        if (!t->recs[(start + i) % t->v->num].busy)
            r = &t->recs[(start + i) % t->v->num];
    if (!r)
        return false;
    uint64_t gpa = rec_gpa(t, r);
    r->n = 1 + rnd(t, MAX_DESCS);
    r->n_readable = rnd(t, r->n + 1);
    r->indirect = (t->v->features & INDIRECT) && rnd(t, 2);
    r->readable_len = r->writable_len = 0;
    r->seq = t->seq;
    uint8_t bytes[SEG];
    uint8_t garbage[SEG];
    memset(garbage, 0xee, sizeof(garbage));
    for (unsigned i = 0; i < r->n; i++) {
        /* The first descriptor is never empty: the device's first iovec
         * tells us which buffer it is. */
        uint32_t len = (i > 0 && rnd(t, 8) == 0) ? 0 : 1 + rnd(t, SEG);
        struct vqd_buf *b = &r->bufs[i];
        *b = (struct vqd_buf){.gpa = gpa + i * SEG, .len = len, .writable = i >= r->n_readable};
        if (b->writable) {
            gpa_write(&t->e, b->gpa, garbage, len);
            r->writable_len += len;
        } else {
            for (uint32_t k = 0; k < len; k++)
                bytes[k] = payload_byte(r->seq, r->readable_len + k);
            gpa_write(&t->e, b->gpa, bytes, len);
            r->readable_len += len;
        }
    }
    unsigned free_before = vqd_free_descs(&t->e.drv);
    int rc;
    if (r->indirect) {
        uint64_t table = gpa + MAX_DESCS * SEG;
        rc = vqd_add_indirect(&t->e.drv, r->bufs, r->n, hva(&t->e, table), table, r);
    } else {
        rc = vqd_add(&t->e.drv, r->bufs, r->n, r);
    }
    if (free_before < rec_descs(r)) {
        assert_int_equal(rc, -ENOSPC);
        return false;
    }
    assert_int_equal(rc, 0);
    r->busy = true;
    r->popped = r->pushed = false;
    t->seq++;
    t->unpublished++;
    return true;
}

static void traffic_publish(struct traffic *t)
{
    bool had_new = t->unpublished > 0;
    bool kick = vqd_publish(&t->e.drv);
    t->unpublished = 0;
    if (!had_new)
        assert_false(kick);
    if (t->dev_sleeping && had_new && !kick)
        fail_msg("%s: no kick for a sleeping device", t->v->name);
    /* Exact suppression, except split EVENT_IDX (the device cannot switch
     * kicks off there: its last request stays). */
    if (!t->dev_kicks_on && (t->v->packed || !t->event) && kick)
        fail_msg("%s: kick while the device disabled kicks", t->v->name);
    if (kick) {
        t->kicks++;
        t->dev_sleeping = false;
    }
}

static struct rec *rec_of_iov(struct traffic *t, const struct iovec *iov)
{
    uint64_t gpa = gpa_of(&t->e, iov->iov_base);
    assert_true(gpa >= t->base);
    uint64_t i = (gpa - t->base) / REC_STRIDE;
    assert_true(i < t->v->num);
    struct rec *r = &t->recs[i];
    assert_int_equal(gpa, r->bufs[0].gpa);
    return r;
}

/* Device: check one popped chain against the buffer, write a reply. */
static void device_serve(struct traffic *t, const struct vq_chain *c)
{
    assert_true(c->n_readable + c->n_writable > 0);
    struct rec *r = rec_of_iov(t, &c->iov[0]);
    assert_true(r->busy && !r->popped);
    r->popped = true;
    assert_int_equal(c->readable_len, r->readable_len);
    assert_int_equal(c->writable_len, r->writable_len);
    assert_int_equal(c->desc_count, t->v->packed ? rec_descs(r) : 1);
    uint32_t off = 0;
    for (unsigned i = 0; i < c->n_readable; i++) {
        const uint8_t *p = c->iov[i].iov_base;
        for (size_t k = 0; k < c->iov[i].iov_len; k++, off++)
            if (p[k] != payload_byte(r->seq, off))
                fail_msg("%s: payload byte %u of buffer %u differs", t->v->name, off, r->seq);
    }
    assert_int_equal(off, r->readable_len);
    r->reply_len = rnd(t, r->writable_len + 1);
    off = 0;
    for (unsigned i = c->n_readable; i < c->n_readable + c->n_writable; i++) {
        uint8_t *p = c->iov[i].iov_base;
        for (size_t k = 0; k < c->iov[i].iov_len; k++, off++) {
            assert_int_equal(p[k], 0xee);
            if (off < r->reply_len)
                p[k] = reply_byte(r->seq, off);
        }
    }
    assert_int_equal(off, r->writable_len);
    t->pend_rec[t->n_pend] = r;
    t->pend[t->n_pend++] = (struct vq_used){.id = c->id, .desc_count = c->desc_count,
                                            .len = r->reply_len};
}

static void traffic_device_pop(struct traffic *t)
{
    if (t->dev_sleeping)
        return;
    struct vq_chain c[8];
    struct iovec iov[8 * (MAX_DESCS + 1)];
    int n = vq_pop(&t->e.dev, c, 1 + rnd(t, 8), iov, KK_ARRAY_SIZE(iov));
    assert_true(n >= 0);
    for (int i = 0; i < n; i++)
        device_serve(t, &c[i]);
    if (n == 0 && rnd(t, 2)) {
        /* Nothing to do: go to sleep, unless buffers arrived meanwhile. */
        t->dev_kicks_on = true;
        bool pending = vq_enable_kicks(&t->e.dev, true);
        assert_int_equal(pending, vq_has_avail(&t->e.dev));
        t->dev_sleeping = !pending;
    } else if (rnd(t, 8) == 0) {
        t->dev_kicks_on = rnd(t, 2);
        vq_enable_kicks(&t->e.dev, t->dev_kicks_on);
    }
}

/*
 * Device: complete a random batch of what it holds, in random order.
 * A batch covers fewer descriptors than the queue holds: vq_packed.c
 * misses an interrupt when a single push advances its used position by
 * exactly the queue size (see the report on vq__packed_need_notify).
 */
static void traffic_device_push(struct traffic *t)
{
    if (t->n_pend == 0)
        return;
    unsigned want = 1 + rnd(t, t->n_pend);
    struct vq_used batch[MAX_NUM];
    struct rec *batch_rec[MAX_NUM];
    unsigned n = 0, descs = 0;
    while (n < want) {
        unsigned i = rnd(t, t->n_pend);
        if (descs + t->pend[i].desc_count >= t->v->num)
            break;
        descs += t->pend[i].desc_count;
        batch_rec[n] = t->pend_rec[i];
        batch[n++] = t->pend[i];
        t->n_pend--;
        t->pend[i] = t->pend[t->n_pend];
        t->pend_rec[i] = t->pend_rec[t->n_pend];
    }
    if (n == 0)
        return;
    for (unsigned i = 0; i < n; i++)
        batch_rec[i]->pushed = true;
    vq_push(&t->e.dev, batch, n);
    t->pushed_uncollected += n;
    bool notified = vq_notify(&t->e.dev);
    if (t->drv_sleeping && !notified)
        fail_msg("%s: no interrupt for a sleeping driver", t->v->name);
    if (!t->drv_irq_on && (t->v->packed || !t->event) && notified)
        fail_msg("%s: interrupt while the driver disabled them", t->v->name);
    if (notified) {
        t->interrupts++;
        t->drv_sleeping = false;
    }
}

/* Driver: check a returned buffer and release it. */
static void driver_check(struct traffic *t, struct rec *r, uint32_t len)
{
    assert_true(r >= t->recs && r < t->recs + t->v->num);
    assert_true(r->busy && r->popped && r->pushed);
    assert_int_equal(len, r->reply_len);
    uint32_t off = 0;
    uint8_t bytes[SEG];
    for (unsigned i = r->n_readable; i < r->n; i++) {
        const struct vqd_buf *b = &r->bufs[i];
        gpa_read(&t->e, b->gpa, bytes, b->len);
        for (uint32_t k = 0; k < b->len; k++, off++) {
            uint8_t want = off < r->reply_len ? reply_byte(r->seq, off) : 0xee;
            if (bytes[k] != want)
                fail_msg("%s: reply byte %u of buffer %u differs", t->v->name, off, r->seq);
        }
    }
    r->busy = false;
    t->completed++;
}

static void traffic_collect(struct traffic *t)
{
    if (t->drv_sleeping)
        return;
    if (rnd(t, 16) == 0) {
        /* Enabling says whether completions are waiting. */
        t->drv_irq_on = true;
        assert_int_equal(vqd_enable_interrupts(&t->e.drv, true), t->pushed_uncollected > 0);
    }
    unsigned budget = 1 + rnd(t, 16);
    int rc = 1;
    while (budget-- > 0) {
        void *cookie;
        uint32_t len;
        rc = vqd_get_used(&t->e.drv, &cookie, &len);
        assert_true(rc == 0 || rc == 1);
        if (rc == 0)
            break;
        assert_true(t->pushed_uncollected > 0);
        t->pushed_uncollected--;
        driver_check(t, cookie, len);
    }
    if (rc == 0) {
        assert_int_equal(t->pushed_uncollected, 0);
        unsigned what = rnd(t, 6);
        if (what < 2) {
            /* Sleep: ask for an interrupt; drained, so nothing pending. */
            t->drv_irq_on = true;
            assert_false(vqd_enable_interrupts(&t->e.drv, true));
            t->drv_sleeping = true;
        } else if (what == 2) {
            t->drv_irq_on = false;
            assert_false(vqd_enable_interrupts(&t->e.drv, false));
        }
    }
}

static void traffic_run(const struct traffic_variant *v, uint64_t seed)
{
    struct traffic *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->v = v;
    t->event = v->features & EVENT;
    t->rng = seed;
    env_open(&t->e, v->num, v->packed, v->features);
    /* Rec num/2 straddles the A/B boundary (256 bytes of it in A). */
    t->base = GPA_B - (uint64_t)(v->num / 2) * REC_STRIDE - 256;
    assert_true(t->base >= DATA_GPA);
    assert_true(GPA_B + (uint64_t)v->num * REC_STRIDE <= GPA_B + SIZE_B);
    t->dev_kicks_on = t->drv_irq_on = true;

    unsigned iterations = 0;
    while (t->completed < TARGET_BUFFERS) {
        iterations++;
        unsigned adds = rnd(t, 4);
        for (unsigned i = 0; i < adds; i++)
            if (!traffic_add(t))
                break;
        if (rnd(t, 4) != 0)
            traffic_publish(t);
        if (rnd(t, 4) != 0)
            traffic_device_pop(t);
        if (rnd(t, 2) != 0)
            traffic_device_push(t);
        traffic_collect(t);
        check_accounting(t);
    }

    /* Drain: everyone awake, everything completed and collected. */
    traffic_publish(t);
    t->dev_sleeping = t->drv_sleeping = false;
    for (int guard = 0; vqd_inflight(&t->e.drv) > 0; guard++) {
        assert_true(guard < 10000);
        traffic_device_pop(t);
        t->dev_sleeping = false;
        traffic_device_push(t);
        traffic_collect(t);
        t->drv_sleeping = false;
    }
    check_accounting(t);
    assert_int_equal(vqd_free_descs(&t->e.drv), v->num);
    assert_false(vq_has_avail(&t->e.dev));
    assert_false(vqd_is_broken(&t->e.drv));
    assert_false(vq_is_broken(&t->e.dev));
    assert_int_equal(calls(&t->e), t->interrupts);
    print_message("# %-30s %6u iterations, %6u buffers, %6llu kicks, %6llu interrupts\n", v->name,
                  iterations, t->completed, (unsigned long long)t->kicks,
                  (unsigned long long)t->interrupts);
    env_close(&t->e);
    free(t);
}

/* A device that popped buffers it cannot use gives them back: they come
 * out of the next pop again, in order, and the driver sees each used once.
 * Across the packed ring's wrap too. */
static void test_unpop_gives_buffers_back(void **state)
{
    (void)state;
    for (int packed = 0; packed < 2; packed++) {
        struct env e;
        env_open(&e, 8, packed, 0);
        int cookies[40];
        unsigned next_cookie = 0, done = 0;
        for (int round = 0; round < 5; round++) {
            /* Two-descriptor buffers on packed rings move positions by 2. */
            for (unsigned i = 0; i < 4; i++) {
                struct vqd_buf b[2] = {{DATA_GPA + 64 * i, 16, false},
                                       {DATA_GPA + 64 * i + 16, 16, true}};
                assert_int_equal(vqd_add(&e.drv, b, 2, &cookies[next_cookie++]), 0);
            }
            vqd_publish(&e.drv);
            struct vq_chain c[8];
            struct iovec iov[32];
            assert_int_equal(vq_pop(&e.dev, c, 3, iov, 32), 3);
            uint16_t first_id = c[0].id;
            vq_unpop(&e.dev, c + 1, 2); /* keep the first, give two back */
            struct vq_chain again[8];
            assert_int_equal(vq_pop(&e.dev, again, 8, iov + 8, 24), 3);
            assert_int_equal(again[0].id, c[1].id);
            assert_int_equal(again[1].id, c[2].id);
            struct vq_used u[4] = {{first_id, c[0].desc_count, 0}};
            for (int k = 0; k < 3; k++)
                u[k + 1] = (struct vq_used){again[k].id, again[k].desc_count, 0};
            vq_push(&e.dev, u, 4);
            void *cookie;
            uint32_t len;
            while (vqd_get_used(&e.drv, &cookie, &len) == 1)
                done++;
        }
        assert_int_equal(done, 20);
        env_close(&e);
    }
}

static void test_random_traffic(void **state)
{
    (void)state;
    for (size_t i = 0; i < KK_ARRAY_SIZE(traffic_variants); i++)
        traffic_run(&traffic_variants[i], 0x9e3779b97f4a7c15ull + i);
}

/* ---- two threads: the device and the driver sleep on eventfds ------------------------- */

/*
 * The device runs in its own thread, the driver in the test's; each
 * sleeps on an eventfd (kick, call) whenever it has nothing to do, after
 * enabling notifications and checking once more. A lost wakeup leaves a
 * side asleep forever: the watchdog (a poll timeout far above anything a
 * working run needs) turns that into a failure instead of a hung test.
 * Data is checked on both sides; every buffer carries its sequence number.
 */
#define MT_NUM 64
#define MT_BUFFERS 100000u
#define MT_SLOT 1024 /* bytes per buffer: 512 readable, 512 writable */
#ifndef MT_WATCHDOG_MS
#define MT_WATCHDOG_MS 60000
#endif

#include <poll.h>
#include <pthread.h>

struct mt {
    struct env e;
    int kick_fd;
    bool stop;             /* atomic: the driver gives up */
    char error[160];       /* the device thread's first failure */
    unsigned served;
    uint64_t device_sleeps;
};

struct mt_header {
    uint32_t seq, readable_len, writable_len;
};

/* Wait for @fd to become readable and drain it; false on watchdog expiry. */
static bool mt_wait(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc;
    do
        rc = poll(&p, 1, MT_WATCHDOG_MS);
    while (rc < 0 && errno == EINTR);
    if (rc <= 0)
        return false;
    uint64_t v;
    return read(fd, &v, sizeof(v)) == sizeof(v);
}

static bool mt_serve(struct mt *m, const struct vq_chain *c, struct vq_used *u)
{
    struct mt_header h;
    if (c->n_readable < 1 || c->iov[0].iov_len < sizeof(h))
        return false;
    memcpy(&h, c->iov[0].iov_base, sizeof(h));
    if (h.readable_len != c->readable_len || h.writable_len != c->writable_len)
        return false;
    const uint8_t *p = c->iov[0].iov_base;
    for (uint32_t k = sizeof(h); k < c->readable_len; k++)
        if (p[k] != payload_byte(h.seq, k))
            return false;
    if (c->n_writable) {
        uint8_t *w = c->iov[c->n_readable].iov_base;
        for (uint32_t k = 0; k < c->writable_len; k++)
            w[k] = reply_byte(h.seq, k);
    }
    *u = (struct vq_used){.id = c->id, .desc_count = c->desc_count, .len = c->writable_len};
    return true;
}

static void *mt_device(void *arg)
{
    struct mt *m = arg;
    struct vq *q = &m->e.dev;
    vq_enable_kicks(q, false);
    while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
        struct vq_chain c[16];
        struct iovec iov[32];
        struct vq_used u[16];
        /* At most 16 buffers of 2 descriptors a push: less than a lap. */
        int n = vq_pop(q, c, 16, iov, 32);
        if (n < 0) {
            snprintf(m->error, sizeof(m->error), "vq_pop: %d (%s)", n, vq_broken_reason(q));
            break;
        }
        if (n > 0) {
            for (int i = 0; i < n; i++)
                if (!mt_serve(m, &c[i], &u[i])) {
                    snprintf(m->error, sizeof(m->error), "bad buffer from the driver");
                    goto out;
                }
            vq_push(q, u, (unsigned)n);
            vq_notify(q);
            m->served += (unsigned)n;
            continue;
        }
        if (vq_enable_kicks(q, true))
            continue; /* raced with the driver: poll again */
        m->device_sleeps++;
        if (!mt_wait(m->kick_fd)) {
            snprintf(m->error, sizeof(m->error), "device: no kick (lost wakeup)");
            break;
        }
        vq_enable_kicks(q, false);
    }
out:
    /* Wake the driver if it sleeps, so it sees the error. */
    if (m->error[0]) {
        uint64_t one = 1;
        ssize_t w = write(m->e.call_fd, &one, sizeof(one));
        (void)w;
    }
    return NULL;
}

static void mt_run(const struct notify_variant *nv, bool irq_always_on, uint64_t seed)
{
    struct mt *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    env_open(&m->e, MT_NUM, nv->packed, nv->features);
    m->kick_fd = eventfd(0, EFD_CLOEXEC);
    assert_true(m->kick_fd >= 0);
    struct vqd *q = &m->e.drv;
    uint64_t rng = seed;
    /* Buffer memory per record; records recycled through a free stack. */
    uint32_t free_recs[MT_NUM], n_free = MT_NUM;
    uint32_t rec_seq[MT_NUM];
    struct mt_header rec_hdr[MT_NUM];
    for (uint32_t i = 0; i < MT_NUM; i++)
        free_recs[i] = MT_NUM - 1 - i;

    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, mt_device, m), 0);
    char failure[160] = "";
    unsigned added = 0, completed = 0;
    uint64_t driver_sleeps = 0;
    vqd_enable_interrupts(q, irq_always_on);
    while (completed < MT_BUFFERS && !failure[0]) {
        while (added < MT_BUFFERS && n_free > 0 && vqd_free_descs(q) >= 2) {
            uint32_t r = free_recs[--n_free];
            uint64_t gpa = DATA_GPA + (uint64_t)r * MT_SLOT;
            uint8_t *p = hva(&m->e, gpa);
            struct mt_header h = {.seq = added,
                                  .readable_len = 12 + (uint32_t)(kk_test_rand(&rng) % 500),
                                  .writable_len = (uint32_t)(kk_test_rand(&rng) % 3) * 200};
            memcpy(p, &h, sizeof(h));
            for (uint32_t k = sizeof(h); k < h.readable_len; k++)
                p[k] = payload_byte(h.seq, k);
            memset(p + 512, 0xee, 512);
            struct vqd_buf b[2] = {{gpa, h.readable_len, false}, {gpa + 512, h.writable_len, true}};
            rec_seq[r] = added;
            rec_hdr[r] = h;
            assert_int_equal(vqd_add(q, b, h.writable_len ? 2 : 1, &rec_seq[r]), 0);
            added++;
        }
        if (vqd_publish(q)) {
            uint64_t one = 1;
            assert_int_equal(write(m->kick_fd, &one, sizeof(one)), sizeof(one));
        }
        unsigned got = 0;
        void *cookie;
        uint32_t len;
        int rc;
        while ((rc = vqd_get_used(q, &cookie, &len)) == 1) {
            uint32_t r = (uint32_t)((uint32_t *)cookie - rec_seq);
            if (r >= MT_NUM) {
                snprintf(failure, sizeof(failure), "a cookie we never gave");
                break;
            }
            const struct mt_header *h = &rec_hdr[r];
            const uint8_t *w = hva(&m->e, DATA_GPA + (uint64_t)r * MT_SLOT + 512);
            if (len != h->writable_len) {
                snprintf(failure, sizeof(failure), "buffer %u: len %u", h->seq, len);
                break;
            }
            for (uint32_t k = 0; k < len; k++)
                if (w[k] != reply_byte(h->seq, k)) {
                    snprintf(failure, sizeof(failure), "buffer %u: reply byte %u", h->seq, k);
                    break;
                }
            free_recs[n_free++] = r;
            completed++;
            got++;
        }
        if (rc < 0)
            snprintf(failure, sizeof(failure), "vqd_get_used: %d (%s)", rc,
                     vqd_broken_reason(q));
        if (m->error[0] || failure[0] || got > 0 || completed == MT_BUFFERS)
            continue;
        bool can_add = added < MT_BUFFERS && n_free > 0 && vqd_free_descs(q) >= 2;
        if (can_add)
            continue;
        /* Nothing to collect, nothing to add: sleep until interrupted.
         * Either interrupts stay on (vqd_get_used() just found the ring
         * empty and re-armed them), or they are on only while asleep. */
        if (!irq_always_on && vqd_enable_interrupts(q, true)) {
            vqd_enable_interrupts(q, false);
            continue;
        }
        driver_sleeps++;
        if (!mt_wait(m->e.call_fd))
            snprintf(failure, sizeof(failure), "driver: no interrupt (lost wakeup)");
        if (!irq_always_on)
            vqd_enable_interrupts(q, false);
    }
    __atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
    uint64_t one = 1;
    assert_int_equal(write(m->kick_fd, &one, sizeof(one)), sizeof(one));
    pthread_join(thread, NULL);
    if (m->error[0])
        fail_msg("%s: %s", nv->name, m->error);
    if (failure[0])
        fail_msg("%s: %s", nv->name, failure);
    assert_int_equal(completed, MT_BUFFERS);
    assert_int_equal(m->served, MT_BUFFERS);
    assert_int_equal(vqd_inflight(q), 0);
    assert_int_equal(vqd_free_descs(q), MT_NUM);
    print_message("# threads %-17s %-14s %u buffers, driver slept %llu times, device %llu\n",
                  nv->name, irq_always_on ? "irq always on" : "irq on sleep", completed,
                  (unsigned long long)driver_sleeps, (unsigned long long)m->device_sleeps);
    close(m->kick_fd);
    env_close(&m->e);
    free(m);
}

static void test_two_threads(void **state)
{
    (void)state;
    for (size_t i = 0; i < KK_ARRAY_SIZE(notify_variants); i++) {
        mt_run(&notify_variants[i], false, 0x2545f4914f6cdd1dull + i);
        mt_run(&notify_variants[i], true, 0x2545f4914f6cdd1dull + i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_bytes_and_bad_init),
        cmocka_unit_test(test_add_rejects_bad_buffers),
        cmocka_unit_test(test_full_ring_enospc),
        cmocka_unit_test(test_nothing_visible_before_publish),
        cmocka_unit_test(test_kick_suppression),
        cmocka_unit_test(test_interrupt_suppression),
        cmocka_unit_test(test_device_faults),
        cmocka_unit_test(test_used_len_is_clamped),
        cmocka_unit_test(test_unpop_gives_buffers_back),
        cmocka_unit_test(test_random_traffic),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests_name("virtqueue driver", tests, NULL, NULL);
}
