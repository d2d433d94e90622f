/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_test.h"
#include "vq.h"

/*
 * Guest memory for the tests: region A (1 MiB at GPA 0x40000000) holds the
 * rings and buffers; region B follows it directly in GPA space but lives in
 * a separate host allocation, so buffers crossing A/B become two iovecs.
 */
#define GPA_A 0x40000000ull
#define SIZE_A (1u << 20)
#define GPA_B (GPA_A + SIZE_A)
#define SIZE_B (64u << 10)
#define NUM 16
#define RING_GPA GPA_A          /* desc, avail, used at fixed offsets */
#define AVAIL_OFF 0x1000
#define USED_OFF 0x2000
#define DATA_GPA (GPA_A + 0x10000)

struct env {
    uint8_t *a, *b;
    struct vq_mem *mem;
    struct vq q;
    uint16_t avail_idx; /* driver's shadow (split) */
    int call_fd;
    /* packed driver state */
    uint16_t next; bool wrap;
};

static void *hva(struct env *e, uint64_t gpa)
{
    return gpa >= GPA_B ? e->b + (gpa - GPA_B) : e->a + (gpa - GPA_A);
}

static struct virtq_desc *desc(struct env *e) { return hva(e, RING_GPA); }
static struct virtq_avail *avail(struct env *e) { return hva(e, RING_GPA + AVAIL_OFF); }
static struct virtq_used *used(struct env *e) { return hva(e, RING_GPA + USED_OFF); }

static int setup_common(void **state, bool packed, uint64_t features)
{
    struct env *e = calloc(1, sizeof(*e));
    e->a = aligned_alloc(4096, SIZE_A);
    e->b = aligned_alloc(4096, SIZE_B);
    memset(e->a, 0, SIZE_A);
    memset(e->b, 0, SIZE_B);
    assert_int_equal(vq_mem_create(4, &e->mem), 0);
    struct vq_mem_region_desc da = {.gpa = GPA_A, .size = SIZE_A, .uva = 0x7f0000000000};
    struct vq_mem_region_desc db = {.gpa = GPA_B, .size = SIZE_B, .uva = 0x7f1000000000};
    assert_int_equal(vq_mem_add_mapped(e->mem, &da, e->a), 0);
    assert_int_equal(vq_mem_add_mapped(e->mem, &db, e->b), 0);
    struct vq_layout l = {.num = NUM, .packed = packed, .desc = hva(e, RING_GPA),
                          .avail = hva(e, RING_GPA + AVAIL_OFF),
                          .used = hva(e, RING_GPA + USED_OFF)};
    uint32_t base = packed ? (1u << 15 | 1u << 31) : 0; /* wrap counters start at 1 */
    assert_int_equal(vq_init(&e->q, &l, e->mem, features, base), 0);
    e->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    e->q.call_fd = e->call_fd;
    e->next = 0;
    e->wrap = true;
    *state = e;
    return 0;
}

#define ALL_FEATURES (VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC))
static int setup_split(void **state) { return setup_common(state, false, ALL_FEATURES); }
static int setup_split_plain(void **state) { return setup_common(state, false, 0); }
static int setup_split_event(void **state)
{
    return setup_common(state, false, ALL_FEATURES | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
}
static int setup_packed(void **state) { return setup_common(state, true, ALL_FEATURES); }
static int setup_packed_event(void **state)
{
    return setup_common(state, true, ALL_FEATURES | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
}

static int teardown(void **state)
{
    struct env *e = *state;
    vq_fini(&e->q);
    vq_mem_destroy(e->mem);
    close(e->call_fd);
    free(e->a);
    free(e->b);
    free(e);
    return 0;
}

static void set_desc(struct env *e, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    desc(e)[i] = (struct virtq_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

static void make_avail(struct env *e, uint16_t head)
{
    avail(e)->ring[e->avail_idx % NUM] = head;
    e->avail_idx++;
    __atomic_store_n(&avail(e)->idx, e->avail_idx, __ATOMIC_RELEASE);
}

static uint64_t calls(struct env *e)
{
    uint64_t v = 0;
    if (read(e->call_fd, &v, sizeof(v)) != sizeof(v))
        return 0;
    return v;
}

/* ---- split: negative cases first ---- */

static void test_init_rejects_bad_layouts(void **state)
{
    struct env *e = *state;
    struct vq q;
    struct vq_layout l = {.num = 12, .desc = desc(e), .avail = avail(e), .used = used(e)};
    assert_int_equal(vq_init(&q, &l, e->mem, 0, 0), -EINVAL); /* split: not a power of 2 */
    l.num = 0;
    assert_int_equal(vq_init(&q, &l, e->mem, 0, 0), -EINVAL);
    l.num = 16;
    l.desc = (uint8_t *)desc(e) + 8;
    assert_int_equal(vq_init(&q, &l, e->mem, 0, 0), -EINVAL); /* misaligned */
    l.desc = desc(e);
    l.used = (uint8_t *)used(e) + 2;
    assert_int_equal(vq_init(&q, &l, e->mem, 0, 0), -EINVAL);
    l.used = used(e);
    assert_int_equal(vq_init(&q, &l, e->mem, 0, 70000), -EINVAL);
    l.packed = true;
    assert_int_equal(vq_init(&q, &l, e->mem, 0, 16), -EINVAL); /* index past the ring */
}

struct bad_case {
    const char *name;
    void (*build)(struct env *e);
    const char *reason;
};

static void bad_head(struct env *e) { make_avail(e, NUM); }
static void bad_next(struct env *e)
{
    set_desc(e, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, NUM + 3);
    make_avail(e, 0);
}
static void bad_loop(struct env *e)
{
    set_desc(e, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
    set_desc(e, 1, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
    make_avail(e, 0);
}
static void bad_order(struct env *e)
{
    set_desc(e, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    set_desc(e, 1, DATA_GPA, 8, 0, 0);
    make_avail(e, 0);
}
static void bad_addr(struct env *e)
{
    set_desc(e, 0, 0x1000, 8, 0, 0);
    make_avail(e, 0);
}
static void bad_addr_tail(struct env *e)
{
    set_desc(e, 0, GPA_B + SIZE_B - 4, 8, 0, 0); /* last 4 bytes outside */
    make_avail(e, 0);
}
static void bad_addr_wrap(struct env *e)
{
    set_desc(e, 0, UINT64_MAX - 3, 8, 0, 0);
    make_avail(e, 0);
}
static void bad_avail_jump(struct env *e)
{
    e->avail_idx = NUM + 1;
    __atomic_store_n(&avail(e)->idx, e->avail_idx, __ATOMIC_RELEASE);
}
static void bad_indirect_next(struct env *e)
{
    set_desc(e, 0, DATA_GPA, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    make_avail(e, 0);
}
static void bad_indirect_len(struct env *e)
{
    set_desc(e, 0, DATA_GPA, 24, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(e, 0);
}
static void bad_indirect_empty(struct env *e)
{
    set_desc(e, 0, DATA_GPA, 0, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(e, 0);
}
static void bad_indirect_nested(struct env *e)
{
    struct virtq_desc *t = hva(e, DATA_GPA);
    t[0] = (struct virtq_desc){.addr = DATA_GPA + 0x100, .len = 16,
                               .flags = VIRTQ_DESC_F_INDIRECT};
    set_desc(e, 0, DATA_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(e, 0);
}
static void bad_indirect_outside(struct env *e)
{
    set_desc(e, 0, GPA_B + SIZE_B - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(e, 0);
}
static void bad_indirect_next_index(struct env *e)
{
    struct virtq_desc *t = hva(e, DATA_GPA);
    t[0] = (struct virtq_desc){.addr = DATA_GPA + 0x100, .len = 8, .flags = VIRTQ_DESC_F_NEXT,
                               .next = 2};
    t[1] = (struct virtq_desc){.addr = DATA_GPA + 0x100, .len = 8};
    set_desc(e, 0, DATA_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(e, 0);
}
static void bad_indirect_loop(struct env *e)
{
    struct virtq_desc *t = hva(e, DATA_GPA);
    t[0] = (struct virtq_desc){.addr = DATA_GPA + 0x100, .len = 8, .flags = VIRTQ_DESC_F_NEXT,
                               .next = 1};
    t[1] = (struct virtq_desc){.addr = DATA_GPA + 0x100, .len = 8, .flags = VIRTQ_DESC_F_NEXT,
                               .next = 0};
    set_desc(e, 0, DATA_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(e, 0);
}

static const struct bad_case split_bad_cases[] = {
    {"head out of range", bad_head, "out of range"},
    {"next out of range", bad_next, "next index"},
    {"descriptor loop", bad_loop, "longer than its table"},
    {"readable after writable", bad_order, "after a device-writable"},
    {"buffer outside memory", bad_addr, "not guest memory"},
    {"buffer partly outside memory", bad_addr_tail, "not guest memory"},
    {"buffer address wraps", bad_addr_wrap, "not guest memory"},
    {"avail index jump", bad_avail_jump, "more than the queue size"},
    {"indirect with NEXT", bad_indirect_next, "NEXT"},
    {"indirect length", bad_indirect_len, "indirect table of 24 bytes"},
    {"indirect empty", bad_indirect_empty, "indirect table of 0 bytes"},
    {"nested indirect", bad_indirect_nested, "inside an indirect table"},
    {"indirect outside memory", bad_indirect_outside, "not guest memory"},
    {"indirect next index", bad_indirect_next_index, "next index"},
    {"indirect loop", bad_indirect_loop, "longer than its table"},
};

static void test_split_rejects_every_malformed_chain(void **state)
{
    for (size_t i = 0; i < KK_ARRAY_SIZE(split_bad_cases); i++) {
        struct env *e;
        setup_split(state);
        e = *state;
        split_bad_cases[i].build(e);
        struct vq_chain c[4];
        struct iovec iov[16];
        int rc = vq_pop(&e->q, c, 4, iov, 16);
        if (rc != -EIO || !strstr(vq_broken_reason(&e->q), split_bad_cases[i].reason))
            fail_msg("%s: pop returned %d, reason '%s'", split_bad_cases[i].name, rc,
                     vq_broken_reason(&e->q));
        assert_true(vq_is_broken(&e->q));
        /* Broken stays broken: nothing more is popped or pushed. */
        assert_int_equal(vq_pop(&e->q, c, 4, iov, 16), -EIO);
        assert_false(vq_notify(&e->q));
        teardown(state);
    }
}

static void test_indirect_needs_the_feature(void **state)
{
    struct env *e = *state;
    set_desc(e, 0, DATA_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(e, 0);
    struct vq_chain c[1];
    struct iovec iov[4];
    assert_int_equal(vq_pop(&e->q, c, 1, iov, 4), -EIO);
    assert_non_null(strstr(vq_broken_reason(&e->q), "VIRTIO_RING_F_INDIRECT_DESC"));
}

/* ---- split: data ---- */

static void test_split_pop_push_zero_copy(void **state)
{
    struct env *e = *state;
    uint8_t *data = hva(e, DATA_GPA);
    /* Chain 1: one readable buffer. */
    memcpy(data, "request", 7);
    set_desc(e, 0, DATA_GPA, 7, 0, 0);
    make_avail(e, 0);
    /* Chain 2: readable header + writable buffer crossing A/B. */
    set_desc(e, 1, DATA_GPA + 0x100, 16, VIRTQ_DESC_F_NEXT, 5);
    set_desc(e, 5, GPA_B - 100, 200, VIRTQ_DESC_F_WRITE, 0);
    make_avail(e, 1);
    /* Chain 3: indirect table of three entries. */
    struct virtq_desc *t = hva(e, DATA_GPA + 0x1000);
    t[0] = (struct virtq_desc){DATA_GPA + 0x2000, 10, VIRTQ_DESC_F_NEXT, 1};
    t[1] = (struct virtq_desc){DATA_GPA + 0x3000, 20, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2};
    t[2] = (struct virtq_desc){DATA_GPA + 0x4000, 30, VIRTQ_DESC_F_WRITE, 0};
    set_desc(e, 2, DATA_GPA + 0x1000, 48, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(e, 2);

    struct vq_chain c[8];
    struct iovec iov[16];
    assert_true(vq_has_avail(&e->q));
    assert_int_equal(vq_pop(&e->q, c, 8, iov, 16), 3);
    assert_false(vq_has_avail(&e->q));

    assert_int_equal(c[0].id, 0);
    assert_int_equal(c[0].n_readable, 1);
    assert_int_equal(c[0].n_writable, 0);
    assert_int_equal(c[0].readable_len, 7);
    assert_memory_equal(c[0].iov[0].iov_base, "request", 7); /* points into guest memory */
    assert_ptr_equal(c[0].iov[0].iov_base, data);

    assert_int_equal(c[1].id, 1);
    assert_int_equal(c[1].n_readable, 1);
    assert_int_equal(c[1].n_writable, 2); /* split at the region boundary */
    assert_int_equal(c[1].writable_len, 200);
    assert_ptr_equal(c[1].iov[1].iov_base, e->a + SIZE_A - 100);
    assert_int_equal(c[1].iov[1].iov_len, 100);
    assert_ptr_equal(c[1].iov[2].iov_base, e->b);
    assert_int_equal(c[1].iov[2].iov_len, 100);

    assert_int_equal(c[2].id, 2);
    assert_int_equal(c[2].n_readable, 1);
    assert_int_equal(c[2].n_writable, 2);
    assert_int_equal(c[2].readable_len, 10);
    assert_int_equal(c[2].writable_len, 50);
    assert_ptr_equal(c[2].iov[2].iov_base, hva(e, DATA_GPA + 0x4000));

    /* The device writes into the guest's buffer, then completes. */
    memcpy(c[1].iov[1].iov_base, "reply", 5);
    struct vq_used u[3] = {{.id = 1, .len = 5}, {.id = 0, .len = 0}, {.id = 2, .len = 50}};
    vq_push(&e->q, u, 3);
    assert_int_equal(used(e)->idx, 3);
    assert_int_equal(used(e)->ring[0].id, 1);
    assert_int_equal(used(e)->ring[0].len, 5);
    assert_int_equal(used(e)->ring[2].id, 2);
    assert_memory_equal(hva(e, GPA_B - 100), "reply", 5);
    /* No EVENT_IDX, no NO_INTERRUPT flag: the driver is signalled. */
    assert_true(vq_notify(&e->q));
    assert_int_equal(calls(e), 1);
    avail(e)->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    vq_push(&e->q, u, 1);
    assert_false(vq_notify(&e->q));
    assert_int_equal(calls(e), 0);
    assert_int_equal(vq_get_base(&e->q), 3);
}

static void test_split_bursts_and_iov_limits(void **state)
{
    struct env *e = *state;
    /* 40 chains over time (the ring holds 16): pop in bursts, push back. */
    uint16_t next_id = 0;
    unsigned total = 0;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 8; i++) {
            uint16_t id = next_id++ % NUM;
            set_desc(e, id, DATA_GPA + id * 64, 64, VIRTQ_DESC_F_WRITE, 0);
            make_avail(e, id);
        }
        struct vq_chain c[32];
        struct iovec iov[64];
        int n = vq_pop(&e->q, c, 5, iov, 64);
        assert_int_equal(n, 5);
        n += vq_pop(&e->q, c + 5, 32, iov, 64);
        assert_int_equal(n, 8);
        struct vq_used u[8];
        for (int i = 0; i < 8; i++)
            u[i] = (struct vq_used){.id = c[i].id, .len = 64};
        vq_push(&e->q, u, 8);
        total += 8;
        assert_int_equal(used(e)->idx, total);
    }
    /* A chain of 4 buffers does not fit in 3 iovecs: nothing is consumed. */
    for (int i = 0; i < 4; i++)
        set_desc(e, (uint16_t)i, DATA_GPA, 8, i < 3 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    make_avail(e, 0);
    struct vq_chain c[2];
    struct iovec iov[4];
    assert_int_equal(vq_pop(&e->q, c, 2, iov, 3), -ENOBUFS);
    assert_false(vq_is_broken(&e->q));
    assert_int_equal(vq_pop(&e->q, c, 2, iov, 4), 1);
    assert_int_equal(c[0].n_readable, 4);
}

static void test_split_kick_suppression(void **state)
{
    struct env *e = *state;
    assert_false(vq_enable_kicks(&e->q, false));
    assert_int_equal(used(e)->flags, VIRTQ_USED_F_NO_NOTIFY);
    assert_false(vq_enable_kicks(&e->q, true));
    assert_int_equal(used(e)->flags, 0);
    /* Buffers that arrived while kicks were off are reported on enabling. */
    vq_enable_kicks(&e->q, false);
    set_desc(e, 0, DATA_GPA, 8, 0, 0);
    make_avail(e, 0);
    assert_true(vq_enable_kicks(&e->q, true));
}

static void test_split_event_idx(void **state)
{
    struct env *e = *state;
    uint16_t *used_event = &avail(e)->ring[NUM];
    uint16_t *avail_event = (uint16_t *)(void *)&used(e)->ring[NUM];
    for (int i = 0; i < 6; i++) {
        set_desc(e, (uint16_t)i, DATA_GPA, 8, 0, 0);
        make_avail(e, (uint16_t)i);
    }
    struct vq_chain c[8];
    struct iovec iov[8];
    assert_int_equal(vq_pop(&e->q, c, 8, iov, 8), 6);
    assert_false(vq_enable_kicks(&e->q, true));
    assert_int_equal(*avail_event, 6); /* kick me after entry 6 */

    /* The driver wants an interrupt once used passes 3. */
    *used_event = 3;
    struct vq_used u = {.id = 0, .len = 0}, two[2] = {{.id = 4}, {.id = 5}};
    vq_push(&e->q, &u, 1); /* used 1: first notify always goes out */
    assert_true(vq_notify(&e->q));
    vq_push(&e->q, &u, 1); /* used 2 */
    assert_false(vq_notify(&e->q));
    vq_push(&e->q, &u, 1); /* used 3 */
    assert_false(vq_notify(&e->q));
    vq_push(&e->q, &u, 1); /* used 4: passes event 3 */
    assert_true(vq_notify(&e->q));
    vq_push(&e->q, two, 2); /* used 6: event not moved */
    assert_false(vq_notify(&e->q));
    assert_int_equal(calls(e), 2);
}

/* ---- packed ---- */

static struct virtq_packed_desc *pring(struct env *e) { return hva(e, RING_GPA); }
static struct virtq_packed_event *drv_event(struct env *e) { return hva(e, RING_GPA + AVAIL_OFF); }
static struct virtq_packed_event *dev_event(struct env *e) { return hva(e, RING_GPA + USED_OFF); }

/* Driver side: make a buffer of @n descriptors available (head last). */
static void packed_add(struct env *e, const struct virtq_packed_desc *d, unsigned n, uint16_t id)
{
    uint16_t head = e->next, head_flags = 0;
    for (unsigned i = 0; i < n; i++) {
        uint16_t flags = d[i].flags & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE |
                                       VIRTQ_DESC_F_INDIRECT);
        flags |= e->wrap ? VIRTQ_PACKED_F_AVAIL : VIRTQ_PACKED_F_USED;
        struct virtq_packed_desc *slot = &pring(e)[e->next];
        slot->addr = d[i].addr;
        slot->len = d[i].len;
        slot->id = id;
        if (i == 0)
            head_flags = flags;
        else
            slot->flags = flags;
        if (++e->next == NUM) {
            e->next = 0;
            e->wrap = !e->wrap;
        }
    }
    __atomic_store_n(&pring(e)[head].flags, head_flags, __ATOMIC_RELEASE);
}

static void test_packed_pop_push_and_wrap(void **state)
{
    struct env *e = *state;
    /* Go around the ring several times: 3-descriptor buffers, ring of 16. */
    uint16_t used_pos = 0;
    bool used_wrap = true;
    for (int round = 0; round < 20; round++) {
        struct virtq_packed_desc d[3] = {
            {.addr = DATA_GPA, .len = 12, .flags = VIRTQ_DESC_F_NEXT},
            {.addr = DATA_GPA + 0x100, .len = 100, .flags = VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE},
            {.addr = GPA_B - 50, .len = 100, .flags = VIRTQ_DESC_F_WRITE},
        };
        packed_add(e, d, 3, (uint16_t)(round + 100));
        struct vq_chain c[4];
        struct iovec iov[8];
        assert_int_equal(vq_pop(&e->q, c, 4, iov, 8), 1);
        assert_int_equal(c[0].id, round + 100);
        assert_int_equal(c[0].desc_count, 3);
        assert_int_equal(c[0].n_readable, 1);
        assert_int_equal(c[0].n_writable, 3); /* last buffer crosses A/B */
        assert_int_equal(c[0].writable_len, 200);
        assert_int_equal(vq_pop(&e->q, c, 4, iov, 8), 0);
        struct vq_used u = {.id = c[0].id, .desc_count = c[0].desc_count, .len = 200};
        vq_push(&e->q, &u, 1);
        struct virtq_packed_desc *ud = &pring(e)[used_pos];
        uint16_t expect = used_wrap ? (VIRTQ_PACKED_F_AVAIL | VIRTQ_PACKED_F_USED) : 0;
        assert_int_equal(ud->flags & (VIRTQ_PACKED_F_AVAIL | VIRTQ_PACKED_F_USED), expect);
        assert_int_equal(ud->id, round + 100);
        assert_int_equal(ud->len, 200);
        used_pos = (uint16_t)(used_pos + 3);
        if (used_pos >= NUM) {
            used_pos = (uint16_t)(used_pos - NUM);
            used_wrap = !used_wrap;
        }
    }
    uint32_t base = vq_get_base(&e->q);
    assert_int_equal(base & 0x7fff, e->next);
    assert_int_equal((base >> 15) & 1, e->wrap);
}

static void test_packed_indirect(void **state)
{
    struct env *e = *state;
    struct virtq_packed_desc *t = hva(e, DATA_GPA + 0x1000);
    t[0] = (struct virtq_packed_desc){.addr = DATA_GPA + 0x2000, .len = 10};
    t[1] = (struct virtq_packed_desc){.addr = DATA_GPA + 0x3000, .len = 20,
                                      .flags = VIRTQ_DESC_F_WRITE};
    struct virtq_packed_desc d = {.addr = DATA_GPA + 0x1000, .len = 32,
                                  .flags = VIRTQ_DESC_F_INDIRECT};
    packed_add(e, &d, 1, 7);
    struct vq_chain c[1];
    struct iovec iov[4];
    assert_int_equal(vq_pop(&e->q, c, 1, iov, 4), 1);
    assert_int_equal(c[0].id, 7);
    assert_int_equal(c[0].desc_count, 1);
    assert_int_equal(c[0].readable_len, 10);
    assert_int_equal(c[0].writable_len, 20);
}

static void test_packed_rejects_malformed(void **state)
{
    struct env *e = *state;
    /* Every descriptor says NEXT: the chain never ends within the ring. */
    struct virtq_packed_desc d[NUM];
    for (int i = 0; i < NUM; i++)
        d[i] = (struct virtq_packed_desc){.addr = DATA_GPA, .len = 8, .flags = VIRTQ_DESC_F_NEXT};
    packed_add(e, d, NUM, 1);
    struct vq_chain c[1];
    struct iovec iov[64];
    assert_int_equal(vq_pop(&e->q, c, 1, iov, 64), -EIO);
    assert_non_null(strstr(vq_broken_reason(&e->q), "longer than the queue"));
}

static void test_packed_rejects_bad_indirect_and_addresses(void **state)
{
    static const struct {
        struct virtq_packed_desc d;
        const char *reason;
    } cases[] = {
        {{.addr = DATA_GPA, .len = 32, .flags = VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT}, "NEXT"},
        {{.addr = DATA_GPA, .len = 20, .flags = VIRTQ_DESC_F_INDIRECT}, "20 bytes"},
        {{.addr = 0x10, .len = 8}, "not guest memory"},
        {{.addr = DATA_GPA + 0x5000, .len = 16, .flags = VIRTQ_DESC_F_INDIRECT}, "inside an indirect"},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        setup_packed(state);
        struct env *e = *state;
        struct virtq_packed_desc *nested = hva(e, DATA_GPA + 0x5000);
        nested[0] = (struct virtq_packed_desc){.addr = DATA_GPA, .len = 16,
                                               .flags = VIRTQ_DESC_F_INDIRECT};
        packed_add(e, &cases[i].d, 1, 1);
        struct vq_chain c[1];
        struct iovec iov[8];
        assert_int_equal(vq_pop(&e->q, c, 1, iov, 8), -EIO);
        if (!strstr(vq_broken_reason(&e->q), cases[i].reason))
            fail_msg("case %zu: reason '%s'", i, vq_broken_reason(&e->q));
        teardown(state);
    }
}

static void test_packed_notification(void **state)
{
    struct env *e = *state;
    struct virtq_packed_desc d = {.addr = DATA_GPA, .len = 8};
    for (int i = 0; i < 4; i++)
        packed_add(e, &d, 1, (uint16_t)i);
    struct vq_chain c[4];
    struct iovec iov[4];
    assert_int_equal(vq_pop(&e->q, c, 4, iov, 4), 4);
    struct vq_used u = {.id = 0, .desc_count = 1, .len = 0};

    drv_event(e)->flags = VIRTQ_EVENT_F_DISABLE;
    vq_push(&e->q, &u, 1);
    assert_false(vq_notify(&e->q));
    drv_event(e)->flags = VIRTQ_EVENT_F_ENABLE;
    vq_push(&e->q, &u, 1);
    assert_true(vq_notify(&e->q));
    /* EVENT_IDX: notify when used passes descriptor 3 (wrap 1). */
    drv_event(e)->off_wrap = 3 | 1u << 15;
    drv_event(e)->flags = VIRTQ_EVENT_F_DESC;
    vq_push(&e->q, &u, 1); /* used now 3 */
    assert_false(vq_notify(&e->q));
    vq_push(&e->q, &u, 1); /* used now 4: passed 3 */
    assert_true(vq_notify(&e->q));
    assert_int_equal(calls(e), 2);

    /* Device event suppression for kicks. */
    assert_false(vq_enable_kicks(&e->q, false));
    assert_int_equal(dev_event(e)->flags, VIRTQ_EVENT_F_DISABLE);
    assert_false(vq_enable_kicks(&e->q, true));
    assert_int_equal(dev_event(e)->flags, VIRTQ_EVENT_F_DESC);
    assert_int_equal(dev_event(e)->off_wrap, 4 | 1u << 15);
    packed_add(e, &d, 1, 9);
    assert_true(vq_enable_kicks(&e->q, true));
}

/* A push of exactly a ring's worth between two notify decisions used to
 * look like "nothing used" (found by the driver-side tests). */
static void test_packed_notify_after_full_lap(void **state)
{
    struct env *e = *state;
    drv_event(e)->off_wrap = 0 | 1u << 15;
    drv_event(e)->flags = VIRTQ_EVENT_F_DESC;
    struct virtq_packed_desc d = {.addr = DATA_GPA, .len = 8};
    for (int i = 0; i < NUM; i++)
        packed_add(e, &d, 1, (uint16_t)i);
    struct vq_chain c[NUM];
    struct iovec iov[NUM];
    assert_int_equal(vq_pop(&e->q, c, NUM, iov, NUM), NUM);
    struct vq_used u[NUM];
    for (int i = 0; i < NUM; i++)
        u[i] = (struct vq_used){.id = c[i].id, .desc_count = 1};
    vq_push(&e->q, u, NUM);
    assert_true(vq_notify(&e->q));
    /* An event already passed gives no spurious interrupt after a wrap. */
    for (int i = 0; i < 4; i++)
        packed_add(e, &d, 1, (uint16_t)i);
    assert_int_equal(vq_pop(&e->q, c, 4, iov, 4), 4);
    drv_event(e)->off_wrap = 10 | 0u << 15; /* slot 10 of the current lap */
    vq_push(&e->q, u, 2);                  /* used 0 -> 2 */
    assert_false(vq_notify(&e->q));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_rejects_bad_layouts, setup_split, teardown),
        cmocka_unit_test(test_split_rejects_every_malformed_chain),
        cmocka_unit_test_setup_teardown(test_indirect_needs_the_feature, setup_split_plain,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_split_pop_push_zero_copy, setup_split, teardown),
        cmocka_unit_test_setup_teardown(test_split_bursts_and_iov_limits, setup_split, teardown),
        cmocka_unit_test_setup_teardown(test_split_kick_suppression, setup_split, teardown),
        cmocka_unit_test_setup_teardown(test_split_event_idx, setup_split_event, teardown),
        cmocka_unit_test_setup_teardown(test_packed_pop_push_and_wrap, setup_packed, teardown),
        cmocka_unit_test_setup_teardown(test_packed_indirect, setup_packed, teardown),
        cmocka_unit_test_setup_teardown(test_packed_rejects_malformed, setup_packed, teardown),
        cmocka_unit_test(test_packed_rejects_bad_indirect_and_addresses),
        cmocka_unit_test_setup_teardown(test_packed_notification, setup_packed_event, teardown),
        cmocka_unit_test_setup_teardown(test_packed_notify_after_full_lap, setup_packed_event,
                                        teardown),
    };
    return cmocka_run_group_tests_name("virtqueue", tests, NULL, NULL);
}
