/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vhost-user-blk target driven through kvmkit's own vhost-user frontend
 * (the driver side a guest would be), over a real socket and shared memfd
 * memory: the target on a control reactor with two worker reactors, bdevs
 * from lib/blk. Hostile frontends and guests first, then the config space,
 * data read back byte for byte, flush, discard, write zeroes, get-id,
 * read-only, multiqueue under load, channel back-pressure, a queue stopped
 * with requests in flight, resize announcements, and a target killed with
 * requests in flight whose successor completes them (inflight area).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_test.h"

#include "blk.h"
#include "kk_reactor.h"
#include "vhost_blk.h"
#include "vhu_frontend.h"
#include "virtio_blk.h"

#define DISK_MB 8
#define WANT_FEATURES                                                                      \
    (VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |                \
     VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_MQ) |                        \
     VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) |            \
     VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_CONFIG_WCE) |                   \
     VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) | VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX))

struct env {
    char *dir;
    char sock[256];
    struct kk_reactor *ctrl, *w[2];
    struct vblk_target *t;
    struct vblk_opts o;
    int rc;
};

/* ---- running things on the control thread ---- */

struct call {
    void (*fn)(struct env *e);
    struct env *e;
    sem_t done;
};

static void call_cb(void *arg)
{
    struct call *c = arg;
    c->fn(c->e);
    sem_post(&c->done);
}

static void on_ctrl(struct env *e, void (*fn)(struct env *e))
{
    struct call c = {.fn = fn, .e = e};
    sem_init(&c.done, 0, 0);
    assert_int_equal(kk_reactor_send(e->ctrl, call_cb, &c), 0);
    sem_wait(&c.done);
    sem_destroy(&c.done);
}

static void create_target(struct env *e) { e->rc = vblk_target_create(e->ctrl, e->w, 2, &e->o, &e->t); }
static void destroy_target(struct env *e)
{
    vblk_target_destroy(e->t);
    e->t = NULL;
}

/* The target's JSON, taken on the control thread (where it lives). */
static json_t *json_out;
static void take_json(struct env *e) { json_out = vblk_target_to_json(e->t); }
static json_t *target_json(struct env *e)
{
    on_ctrl(e, take_json);
    return json_out;
}

static void make_bdev(const char *name, const char *type, json_t *params)
{
    char err[256] = "";
    int rc = blk_bdev_create(name, type, params, err, sizeof(err), NULL);
    json_decref(params);
    if (rc < 0)
        fail_msg("bdev %s (%s): %s", name, type, err);
}

static void env_up(struct env *e, const char *bdev, bool read_only, uint16_t queues)
{
    memset(e, 0, sizeof(*e));
    e->dir = kk_test_mkdtemp();
    snprintf(e->sock, sizeof(e->sock), "%s/vblk.sock", e->dir);
    struct kk_reactor_opts ro;
    kk_reactor_opts_init(&ro);
    ro.name = "ctrl";
    assert_int_equal(kk_reactor_create(&ro, &e->ctrl), 0);
    for (int i = 0; i < 2; i++) {
        ro.name = i ? "worker1" : "worker0";
        assert_int_equal(kk_reactor_create(&ro, &e->w[i]), 0);
        assert_int_equal(kk_reactor_spawn(e->w[i], -1), 0);
    }
    assert_int_equal(kk_reactor_spawn(e->ctrl, -1), 0);
    e->o = (struct vblk_opts){.path = e->sock, .bdev = bdev, .num_queues = queues,
                              .read_only = read_only, .serial = "kvmkit-serial-0123456789"};
    on_ctrl(e, create_target);
    assert_int_equal(e->rc, 0);
}

static void env_down(struct env *e)
{
    on_ctrl(e, destroy_target);
    kk_reactor_destroy(e->ctrl);
    kk_reactor_destroy(e->w[0]);
    kk_reactor_destroy(e->w[1]);
    kk_test_rmdir(e->dir);
}

/* ---- the driver side ---- */

static bool packed_rings; /* the ring layout the frontend asks for */

static struct vhu_front *front(const char *sock, uint16_t queues, bool inflight)
{
    struct vhu_front_opts o = {.path = sock, .num_queues = queues, .queue_size = 256,
                               .packed = packed_rings, .event_idx = true, .indirect = true,
                               .device_features = WANT_FEATURES, .mem_size = 80u << 20,
                               .inflight = inflight, .backend_req = true};
    struct vhu_front *f = NULL;
    int rc = -1;
    for (int t = 0; t < 200 && rc < 0; t++) {
        rc = vhu_front_connect(&o, &f);
        if (rc < 0)
            usleep(10000); /* a previous connection may still be closing */
    }
    assert_int_equal(rc, 0);
    return f;
}

struct req {
    struct virtio_blk_outhdr *h;
    uint8_t *status;
    uint8_t *data;
    uint32_t len;
};

/* Queue one request (not kicked): header, @len bytes of data (device-written
 * for IN and GET_ID), status; data split in two buffers when @split. */
static struct req *add(struct vhu_front *f, uint16_t qi, uint32_t type, uint64_t sector,
                       uint8_t *data, uint32_t len, bool split)
{
    struct req *r = vhu_front_alloc(f, sizeof(*r), 8);
    assert_non_null(r);
    r->h = vhu_front_alloc(f, sizeof(*r->h), 16);
    r->status = vhu_front_alloc(f, 1, 1);
    assert_non_null(r->status);
    *r->h = (struct virtio_blk_outhdr){.type = type, .sector = sector};
    *r->status = 0xff;
    r->data = data;
    r->len = len;
    bool wr = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    struct vqd_buf b[4];
    unsigned n = 0;
    b[n++] = (struct vqd_buf){vhu_front_gpa(f, r->h), sizeof(*r->h), false};
    if (len && split && len > 512) {
        b[n++] = (struct vqd_buf){vhu_front_gpa(f, data), 512, wr};
        b[n++] = (struct vqd_buf){vhu_front_gpa(f, data + 512), len - 512, wr};
    } else if (len) {
        b[n++] = (struct vqd_buf){vhu_front_gpa(f, data), len, wr};
    }
    b[n++] = (struct vqd_buf){vhu_front_gpa(f, r->status), 1, true};
    assert_int_equal(vqd_add(vhu_front_queue(f, qi), b, n, r), 0);
    return r;
}

/* Collect @n completions on queue @qi (kicking first); returns them in
 * completion order in @out (may be NULL). */
static void wait_done(struct vhu_front *f, uint16_t qi, unsigned n, struct req **out)
{
    vhu_front_kick(f, qi);
    struct vqd *q = vhu_front_queue(f, qi);
    unsigned got = 0;
    for (int t = 0; got < n; t++) {
        void *cookie;
        uint32_t len;
        int rc = vqd_get_used(q, &cookie, &len);
        assert_true(rc >= 0);
        if (rc == 1) {
            if (out)
                out[got] = cookie;
            got++;
            continue;
        }
        if (t > 20000)
            fail_msg("queue %u: %u of %u requests completed", qi, got, n);
        struct pollfd p = {.fd = vhu_front_call_fd(f, qi), .events = POLLIN};
        if (poll(&p, 1, 1) > 0) {
            uint64_t v;
            ssize_t k = read(p.fd, &v, sizeof(v));
            (void)k;
        }
    }
}

/* One request, synchronously; returns its status. */
static uint8_t do_io(struct vhu_front *f, uint16_t qi, uint32_t type, uint64_t sector,
                     uint8_t *data, uint32_t len)
{
    struct req *r = add(f, qi, type, sector, data, len, true);
    struct req *done;
    wait_done(f, qi, 1, &done);
    assert_ptr_equal(done, r);
    return *r->status;
}

static uint8_t do_ranges(struct vhu_front *f, uint32_t type,
                         const struct virtio_blk_discard_write_zeroes *rg, unsigned n)
{
    struct virtio_blk_discard_write_zeroes *d = vhu_front_alloc(f, n * sizeof(*d), 16);
    memcpy(d, rg, n * sizeof(*d));
    /* The ranges ride as device-readable data: build by hand. */
    struct virtio_blk_outhdr *h = vhu_front_alloc(f, sizeof(*h), 16);
    uint8_t *status = vhu_front_alloc(f, 1, 1);
    *h = (struct virtio_blk_outhdr){.type = type};
    *status = 0xff;
    struct vqd_buf b[3] = {{vhu_front_gpa(f, h), sizeof(*h), false},
                           {vhu_front_gpa(f, d), (uint32_t)(n * sizeof(*d)), false},
                           {vhu_front_gpa(f, status), 1, true}};
    assert_int_equal(vqd_add(vhu_front_queue(f, 0), b, 3, status), 0);
    wait_done(f, 0, 1, NULL);
    return *status;
}

static void fill(uint8_t *p, uint32_t len, uint32_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

static bool all_zero(const uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        if (p[i])
            return false;
    }
    return true;
}

/* ---- hostile ---- */

static void send_raw(struct vhu_front *f, uint32_t req, const void *payload, uint32_t size,
                     const int *fds, unsigned n_fds)
{
    struct vhu_msg m = {.request = req, .flags = VHU_VERSION, .size = size};
    if (size)
        memcpy(m.p.raw, payload, size);
    assert_int_equal(vhu_front_send(f, &m, fds, n_fds), 0);
}

static void negotiate_protocol(struct vhu_front *f, uint64_t proto)
{
    uint64_t features = VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
    send_raw(f, VHU_SET_FEATURES, &features, 8, NULL, 0);
    send_raw(f, VHU_SET_PROTOCOL_FEATURES, &proto, 8, NULL, 0);
}

static void queue_index_out_of_range(struct vhu_front *f)
{
    struct vhu_vring_state st = {.index = 2, .num = 128}; /* the export has 2 queues */
    send_raw(f, VHU_SET_VRING_NUM, &st, sizeof(st), NULL, 0);
}

static void ring_larger_than_the_export_allows(struct vhu_front *f)
{
    struct vhu_vring_state st = {.index = 0, .num = 1024}; /* queue_size is 256 */
    send_raw(f, VHU_SET_VRING_NUM, &st, sizeof(st), NULL, 0);
}

static void write_read_only_config(struct vhu_front *f)
{
    negotiate_protocol(f, VIRTIO_BIT(VHU_PROTOCOL_F_CONFIG));
    struct vhu_config c = {.offset = 0, .size = 8}; /* capacity */
    send_raw(f, VHU_SET_CONFIG, &c, 12 + 8, NULL, 0);
}

static void writeback_without_config_wce(struct vhu_front *f)
{
    negotiate_protocol(f, VIRTIO_BIT(VHU_PROTOCOL_F_CONFIG));
    struct vhu_config c = {.offset = 32, .size = 1};
    send_raw(f, VHU_SET_CONFIG, &c, 12 + 1, NULL, 0);
}

static void config_past_the_space(struct vhu_front *f)
{
    negotiate_protocol(f, VIRTIO_BIT(VHU_PROTOCOL_F_CONFIG));
    struct vhu_config c = {.offset = 200, .size = 100};
    send_raw(f, VHU_GET_CONFIG, &c, 12 + 100, NULL, 0);
}

static void backend_channel_not_a_socket(struct vhu_front *f)
{
    negotiate_protocol(f, VIRTIO_BIT(VHU_PROTOCOL_F_BACKEND_REQ));
    int fd = vhu_front_mem_fd(f);
    send_raw(f, VHU_SET_BACKEND_REQ_FD, NULL, 0, &fd, 1);
}

static void inflight_area_larger_than_its_file(struct vhu_front *f)
{
    negotiate_protocol(f, VIRTIO_BIT(VHU_PROTOCOL_F_INFLIGHT_SHMFD));
    struct vhu_inflight in = {.mmap_size = 1ull << 36, .num_queues = 2, .queue_size = 256};
    int fd = vhu_front_mem_fd(f);
    send_raw(f, VHU_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1);
}

static void inflight_for_more_queues_than_the_export(struct vhu_front *f)
{
    negotiate_protocol(f, VIRTIO_BIT(VHU_PROTOCOL_F_INFLIGHT_SHMFD));
    struct vhu_inflight in = {.num_queues = 3, .queue_size = 256};
    send_raw(f, VHU_GET_INFLIGHT_FD, &in, sizeof(in), NULL, 0);
}

static void rings_outside_memory(struct vhu_front *f)
{
    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
    send_raw(f, VHU_SET_FEATURES, &features, 8, NULL, 0);
    struct vhu_mem_table t = {.nregions = 1};
    t.regions[0] = (struct vhu_mem_region){.gpa = 0, .size = vhu_front_mem_size(f),
                                           .uva = (uint64_t)(uintptr_t)vhu_front_mem_base(f)};
    int fd = vhu_front_mem_fd(f);
    send_raw(f, VHU_SET_MEM_TABLE, &t, 8 + 32, &fd, 1);
    struct vhu_vring_state st = {.index = 0, .num = 128};
    send_raw(f, VHU_SET_VRING_NUM, &st, sizeof(st), NULL, 0);
    uint64_t end = (uint64_t)(uintptr_t)vhu_front_mem_base(f) + vhu_front_mem_size(f);
    struct vhu_vring_addr a = {.index = 0, .desc = end - 512, .avail = end + 4096,
                               .used = end + 8192};
    send_raw(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
    int efd = eventfd(0, EFD_CLOEXEC);
    uint64_t v = 0;
    send_raw(f, VHU_SET_VRING_KICK, &v, 8, &efd, 1);
    close(efd);
}

static void nine_memory_regions(struct vhu_front *f)
{
    struct vhu_mem_table t = {.nregions = 9};
    send_raw(f, VHU_SET_MEM_TABLE, &t, 8 + 8 * 32, NULL, 0);
}

static void region_larger_than_its_file(struct vhu_front *f)
{
    struct vhu_mem_table t = {.nregions = 1};
    t.regions[0] = (struct vhu_mem_region){.gpa = 0, .size = vhu_front_mem_size(f) * 64,
                                           .uva = 0x7f0000000000};
    int fd = vhu_front_mem_fd(f);
    send_raw(f, VHU_SET_MEM_TABLE, &t, 8 + 32, &fd, 1);
}

static const struct {
    const char *name;
    void (*attack)(struct vhu_front *f);
} attacks[] = {
    {"nine memory regions", nine_memory_regions},
    {"a memory region larger than its file", region_larger_than_its_file},
    {"queue index out of range", queue_index_out_of_range},
    {"ring larger than the export allows", ring_larger_than_the_export_allows},
    {"SET_CONFIG of the capacity", write_read_only_config},
    {"SET_CONFIG of writeback without CONFIG_WCE", writeback_without_config_wce},
    {"GET_CONFIG past the config space", config_past_the_space},
    {"backend channel that is not a socket", backend_channel_not_a_socket},
    {"inflight area larger than its file", inflight_area_larger_than_its_file},
    {"inflight for more queues than the export has", inflight_for_more_queues_than_the_export},
    {"rings outside guest memory", rings_outside_memory},
};

/* Hostile guests (chains) and frontends (messages): each drops only its own
 * connection; the export then serves a well-behaved frontend. */
static void test_hostile_guests_drop_only_their_frontend(void **state)
{
    struct env e;
    make_bdev("h0", "malloc", json_pack("{s:s}", "size", "8M"));
    env_up(&e, "h0", false, 2);

    /* 1: a request with no device-writable byte for the status. */
    struct vhu_front *f = front(e.sock, 2, false);
    struct virtio_blk_outhdr *h = vhu_front_alloc(f, 16, 16);
    *h = (struct virtio_blk_outhdr){.type = VIRTIO_BLK_T_IN};
    struct vqd_buf b1 = {vhu_front_gpa(f, h), 16, false};
    assert_int_equal(vqd_add(vhu_front_queue(f, 0), &b1, 1, NULL), 0);
    vhu_front_kick(f, 0);
    assert_true(vhu_front_backend_hung_up(f));
    vhu_front_close(f);

    /* 2: a data buffer outside guest memory. */
    f = front(e.sock, 2, false);
    h = vhu_front_alloc(f, 16, 16);
    uint8_t *st = vhu_front_alloc(f, 1, 1);
    *h = (struct virtio_blk_outhdr){.type = VIRTIO_BLK_T_IN};
    struct vqd_buf b2[3] = {{vhu_front_gpa(f, h), 16, false},
                            {(128u << 20) - 512, 4096, true}, /* past the 80 MiB */
                            {vhu_front_gpa(f, st), 1, true}};
    assert_int_equal(vqd_add(vhu_front_queue(f, 1), b2, 3, NULL), 0);
    vhu_front_kick(f, 1);
    assert_true(vhu_front_backend_hung_up(f));
    vhu_front_close(f);

    /* 3: a long chain (127 descriptors) is served; an indirect table of
     * 302 descriptors is more than a request may have (seg_max is 126). */
    f = front(e.sock, 2, false);
    h = vhu_front_alloc(f, 16, 16);
    st = vhu_front_alloc(f, 1, 1);
    uint8_t *data = vhu_front_alloc(f, 300 * 512, 4096);
    *h = (struct virtio_blk_outhdr){.type = VIRTIO_BLK_T_IN};
    struct vqd_buf *many = calloc(302, sizeof(*many));
    many[0] = (struct vqd_buf){vhu_front_gpa(f, h), 16, false};
    for (int i = 0; i < 300; i++)
        many[1 + i] = (struct vqd_buf){vhu_front_gpa(f, data + i * 512), 512, true};
    many[301] = (struct vqd_buf){vhu_front_gpa(f, st), 1, true};
    struct vqd_buf saved = many[126];
    many[126] = many[301];
    *st = 0xff;
    assert_int_equal(vqd_add(vhu_front_queue(f, 0), many, 127, NULL), 0);
    wait_done(f, 0, 1, NULL);
    assert_int_equal(*st, VIRTIO_BLK_S_OK);
    many[126] = saved;
    void *table = vhu_front_alloc(f, 302 * 16, 16);
    assert_int_equal(vqd_add_indirect(vhu_front_queue(f, 0), many, 302, table,
                                      vhu_front_gpa(f, table), NULL),
                     0);
    vhu_front_kick(f, 0);
    assert_true(vhu_front_backend_hung_up(f));
    free(many);
    vhu_front_close(f);

    /* Hostile vhost-user messages, each on a fresh connection. */
    for (size_t i = 0; i < KK_ARRAY_SIZE(attacks); i++) {
        struct vhu_front_opts o = {.path = e.sock, .num_queues = 1, .mem_size = 1 << 20};
        int rc = -1;
        for (int t = 0; t < 100 && rc < 0; t++) {
            rc = vhu_front_connect_raw(&o, &f);
            if (rc < 0)
                usleep(10000);
        }
        assert_int_equal(rc, 0);
        attacks[i].attack(f);
        if (!vhu_front_backend_hung_up(f))
            fail_msg("attack '%s': the target did not drop the frontend", attacks[i].name);
        vhu_front_close(f);
    }

    /* Still serving. */
    f = front(e.sock, 2, false);
    uint8_t *buf = vhu_front_alloc(f, 4096, 4096);
    assert_int_equal(do_io(f, 1, VIRTIO_BLK_T_IN, 0, buf, 4096), VIRTIO_BLK_S_OK);
    vhu_front_close(f);
    json_t *j = target_json(&e);
    assert_true(json_integer_value(json_object_get(j, "queue_faults")) >= 1);
    json_decref(j);
    env_down(&e);
    assert_int_equal(blk_bdev_delete("h0"), 0);
}

/* ---- config space ---- */

static void test_config_space(void **state)
{
    struct env e;
    make_bdev("c0", "malloc", json_pack("{s:s, s:i}", "size", "8M", "block_size", 4096));
    env_up(&e, "c0", false, 2);
    struct vhu_front *f = front(e.sock, 2, false);
    uint64_t feat = vhu_front_features(f);
    assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
    assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
    assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE));
    assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX));
    assert_false(feat & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    /* RAM has no transfer limit: no segment limit either. */
    assert_false(feat & VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX));
    struct virtio_blk_config c;
    assert_int_equal(vhu_front_get_config(f, 0, &c, sizeof(c)), 0);
    assert_int_equal(c.capacity, DISK_MB * 2048);
    assert_int_equal(c.blk_size, 4096);
    assert_int_equal(c.seg_max, 126);
    assert_int_equal(c.num_queues, 2);
    assert_int_equal(c.writeback, 1);
    if (feat & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)) {
        assert_true(c.max_discard_sectors > 0);
        assert_int_equal(c.max_discard_seg, 8);
        assert_int_equal(c.discard_sector_alignment, 8);
    }
    /* Any window of the 256 bytes; past the structure reads as zero. */
    uint8_t tail[64];
    assert_int_equal(vhu_front_get_config(f, 192, tail, 64), 0);
    assert_true(all_zero(tail, 64));
    uint16_t nq;
    assert_int_equal(vhu_front_get_config(f, 34, &nq, 2), 0);
    assert_int_equal(nq, 2);
    /* Write-through chosen by the guest. */
    struct vhu_msg m = {.request = VHU_SET_CONFIG, .flags = VHU_VERSION, .size = 12 + 1};
    m.p.config = (struct vhu_config){.offset = 32, .size = 1};
    m.p.config.data[0] = 0;
    assert_int_equal(vhu_front_send(f, &m, NULL, 0), 0);
    uint8_t wb = 9;
    assert_int_equal(vhu_front_get_config(f, 32, &wb, 1), 0);
    assert_int_equal(wb, 0);
    /* Requests still work (writes are now FUA). */
    uint8_t *buf = vhu_front_alloc(f, 8192, 4096);
    fill(buf, 8192, 3);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_OUT, 16, buf, 8192), VIRTIO_BLK_S_OK);
    /* 512-byte I/O on a 4 KiB-block disk fails. */
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_IN, 1, buf, 4096), VIRTIO_BLK_S_IOERR);
    vhu_front_close(f);
    env_down(&e);
    assert_int_equal(blk_bdev_delete("c0"), 0);
}

/* A file bdev moves at most 32 MiB per request: size_max is announced so
 * that seg_max segments stay within it, and a request past it is refused. */
static void test_config_size_max(void **state)
{
    char *dir = kk_test_mkdtemp();
    char path[512];
    snprintf(path, sizeof(path), "%s/disk.raw", dir);
    make_bdev("sz0", "file", json_pack("{s:s, s:b, s:s}", "path", path, "create", 1, "size", "64M"));
    struct env e;
    env_up(&e, "sz0", false, 1);
    struct vhu_front *f = front(e.sock, 1, false);
    assert_true(vhu_front_features(f) & VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX));
    struct virtio_blk_config c;
    assert_int_equal(vhu_front_get_config(f, 0, &c, sizeof(c)), 0);
    assert_true(c.size_max >= 256 * 1024 && c.size_max % 4096 == 0);
    assert_true((uint64_t)c.size_max * c.seg_max <= 32u << 20);
    /* The largest request the guest may build works; one byte block more
     * than the bdev's limit is refused. */
    size_t big = (size_t)c.size_max * c.seg_max;
    uint8_t *buf = vhu_front_alloc(f, (32u << 20) + 4096, 4096);
    fill(buf, (uint32_t)big, 5);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_OUT, 0, buf, (uint32_t)big), VIRTIO_BLK_S_OK);
    uint8_t *back = vhu_front_alloc(f, big, 4096);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_IN, 0, back, (uint32_t)big), VIRTIO_BLK_S_OK);
    assert_memory_equal(back, buf, big);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_OUT, 0, buf, (32u << 20) + 4096),
                     VIRTIO_BLK_S_IOERR);
    vhu_front_close(f);
    env_down(&e);
    assert_int_equal(blk_bdev_delete("sz0"), 0);
    kk_test_rmdir(dir);
    (void)state;
}

/* ---- I/O ---- */

static void test_read_back_flush_discard_write_zeroes_get_id(void **state)
{
    struct env e;
    make_bdev("d0", "malloc", json_pack("{s:s}", "size", "8M"));
    env_up(&e, "d0", false, 2);
    struct vhu_front *f = front(e.sock, 2, false);
    uint8_t *w = vhu_front_alloc(f, 65536, 4096), *r = vhu_front_alloc(f, 65536, 4096);
    static const uint32_t sizes[] = {512, 1024, 4096, 12288, 65536};
    for (size_t i = 0; i < KK_ARRAY_SIZE(sizes); i++) {
        uint16_t qi = (uint16_t)(i % 2);
        uint64_t sector = 100 + i * 300;
        fill(w, sizes[i], (uint32_t)i + 1);
        memset(r, 0, sizes[i]);
        assert_int_equal(do_io(f, qi, VIRTIO_BLK_T_OUT, sector, w, sizes[i]), VIRTIO_BLK_S_OK);
        assert_int_equal(do_io(f, (uint16_t)!qi, VIRTIO_BLK_T_IN, sector, r, sizes[i]),
                         VIRTIO_BLK_S_OK);
        assert_memory_equal(r, w, sizes[i]);
    }
    /* The last sector, and one past it. */
    fill(w, 512, 77);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_OUT, DISK_MB * 2048 - 1, w, 512), VIRTIO_BLK_S_OK);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_IN, DISK_MB * 2048 - 1, r, 512), VIRTIO_BLK_S_OK);
    assert_memory_equal(r, w, 512);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_IN, DISK_MB * 2048, r, 512), VIRTIO_BLK_S_IOERR);
    assert_int_equal(do_io(f, 1, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_OK);

    /* Write zeroes over written data (two ranges, one may unmap). */
    fill(w, 65536, 9);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_OUT, 4096, w, 65536), VIRTIO_BLK_S_OK);
    struct virtio_blk_discard_write_zeroes rg[2] = {{4096, 8, 0}, {4096 + 64, 16, 1}};
    assert_int_equal(do_ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, rg, 2), VIRTIO_BLK_S_OK);
    assert_int_equal(do_io(f, 1, VIRTIO_BLK_T_IN, 4096, r, 65536), VIRTIO_BLK_S_OK);
    assert_true(all_zero(r, 4096));
    assert_memory_equal(r + 4096, w + 4096, 64 * 512 - 4096);
    assert_true(all_zero(r + 64 * 512, 16 * 512));
    assert_memory_equal(r + 80 * 512, w + 80 * 512, 65536 - 80 * 512);
    /* Discard: malloc gives the range back; it reads as zeroes. */
    if (vhu_front_features(f) & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)) {
        struct virtio_blk_discard_write_zeroes d = {4096 + 96, 32, 0};
        assert_int_equal(do_ranges(f, VIRTIO_BLK_T_DISCARD, &d, 1), VIRTIO_BLK_S_OK);
        assert_int_equal(do_io(f, 1, VIRTIO_BLK_T_IN, 4096 + 96, r, 32 * 512), VIRTIO_BLK_S_OK);
        assert_true(all_zero(r, 32 * 512));
        d.flags = 1; /* unmap on a discard: reserved */
        assert_int_equal(do_ranges(f, VIRTIO_BLK_T_DISCARD, &d, 1), VIRTIO_BLK_S_UNSUPP);
    }
    /* GET_ID: the serial, cut to 20 bytes. */
    uint8_t *id = vhu_front_alloc(f, 20, 8);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_GET_ID, 0, id, 20), VIRTIO_BLK_S_OK);
    assert_memory_equal(id, "kvmkit-serial-012345", 20);
    assert_int_equal(do_io(f, 0, 99, 0, NULL, 0), VIRTIO_BLK_S_UNSUPP);
    vhu_front_close(f);
    env_down(&e);
    assert_int_equal(blk_bdev_delete("d0"), 0);
}

static void test_read_only(void **state)
{
    struct env e;
    make_bdev("r0", "malloc", json_pack("{s:s}", "size", "8M"));
    env_up(&e, "r0", true, 1);
    struct vhu_front *f = front(e.sock, 1, false);
    assert_true(vhu_front_features(f) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    assert_false(vhu_front_features(f) & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
    assert_false(vhu_front_features(f) & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
    uint8_t *buf = vhu_front_alloc(f, 4096, 4096);
    fill(buf, 4096, 1);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_OUT, 0, buf, 4096), VIRTIO_BLK_S_IOERR);
    struct virtio_blk_discard_write_zeroes d = {0, 8, 0};
    assert_int_equal(do_ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, &d, 1), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_IN, 0, buf, 4096), VIRTIO_BLK_S_OK);
    assert_true(all_zero(buf, 4096)); /* nothing was written */
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_OK);
    vhu_front_close(f);
    env_down(&e);
    assert_int_equal(blk_bdev_delete("r0"), 0);
}

/* Both queues at depth 48 at once, every block checked. */
static void test_multiqueue_under_load(void **state)
{
    struct env e;
    make_bdev("m0", "malloc", json_pack("{s:s}", "size", "8M"));
    env_up(&e, "m0", false, 2);
    struct vhu_front *f = front(e.sock, 2, false);
    enum { DEPTH = 48, BS = 4096, ROUNDS = 6 };
    uint8_t *bufs = vhu_front_alloc(f, 2 * DEPTH * BS, 4096);
    uint8_t *rd = vhu_front_alloc(f, 2 * DEPTH * BS, 4096);
    for (int round = 0; round < ROUNDS; round++) {
        for (uint16_t qi = 0; qi < 2; qi++) {
            for (int i = 0; i < DEPTH; i++) {
                uint8_t *p = bufs + (qi * DEPTH + i) * BS;
                uint64_t sector = ((uint64_t)(qi * DEPTH + i) * 8 + (uint64_t)round * 1024) %
                                  (DISK_MB * 2048 - 8);
                fill(p, BS, (uint32_t)(round * 1000 + qi * 100 + i));
                add(f, qi, VIRTIO_BLK_T_OUT, sector, p, BS, i % 2);
            }
            vhu_front_kick(f, qi);
        }
        wait_done(f, 0, DEPTH, NULL);
        wait_done(f, 1, DEPTH, NULL);
        for (uint16_t qi = 0; qi < 2; qi++) {
            for (int i = 0; i < DEPTH; i++) {
                uint64_t sector = ((uint64_t)(qi * DEPTH + i) * 8 + (uint64_t)round * 1024) %
                                  (DISK_MB * 2048 - 8);
                /* Read on the other queue. */
                add(f, (uint16_t)!qi, VIRTIO_BLK_T_IN, sector, rd + (qi * DEPTH + i) * BS, BS,
                    i % 3 == 0);
            }
        }
        struct req *done[DEPTH];
        wait_done(f, 0, DEPTH, done);
        for (int i = 0; i < DEPTH; i++)
            assert_int_equal(*done[i]->status, VIRTIO_BLK_S_OK);
        wait_done(f, 1, DEPTH, done);
        for (int i = 0; i < DEPTH; i++)
            assert_int_equal(*done[i]->status, VIRTIO_BLK_S_OK);
        assert_memory_equal(rd, bufs, 2 * DEPTH * BS);
    }
    json_t *j = target_json(&e);
    json_t *qs = json_object_get(j, "queues");
    for (int qi = 0; qi < 2; qi++) {
        json_t *q = json_array_get(qs, (size_t)qi);
        assert_int_equal(json_integer_value(json_object_get(q, "writes")), DEPTH * ROUNDS);
        assert_int_equal(json_integer_value(json_object_get(q, "reads")), DEPTH * ROUNDS);
        assert_string_equal(json_string_value(json_object_get(q, "worker")),
                            qi ? "worker1" : "worker0");
    }
    json_decref(j);
    vhu_front_close(f);
    env_down(&e);
    assert_int_equal(blk_bdev_delete("m0"), 0);
}

/* 64 write-zeroes requests of 8 ranges each (512 bdev operations) against a
 * slow bdev's channel of 256 slots: requests park and resume; all complete
 * with the right data around them. */
static void test_channel_back_pressure(void **state)
{
    struct env e;
    make_bdev("b0", "malloc", json_pack("{s:s}", "size", "8M"));
    /* Slow completions, so operations pile up in the channel. */
    make_bdev("b1", "error", json_pack("{s:s, s:i}", "base", "b0", "delay_us", 20000));
    env_up(&e, "b1", false, 1);
    struct vhu_front *f = front(e.sock, 1, false);
    uint8_t *w = vhu_front_alloc(f, 1 << 20, 4096);
    fill(w, 1 << 20, 5);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_OUT, 0, w, 1 << 20), VIRTIO_BLK_S_OK);
    enum { N = 64 };
    uint8_t *status[N];
    for (int i = 0; i < N; i++) {
        struct virtio_blk_discard_write_zeroes *d = vhu_front_alloc(f, 8 * sizeof(*d), 16);
        for (int k = 0; k < 8; k++)
            d[k] = (struct virtio_blk_discard_write_zeroes){(uint64_t)(i * 32 + k * 4), 2, 0};
        struct virtio_blk_outhdr *h = vhu_front_alloc(f, 16, 16);
        *h = (struct virtio_blk_outhdr){.type = VIRTIO_BLK_T_WRITE_ZEROES};
        status[i] = vhu_front_alloc(f, 1, 1);
        *status[i] = 0xff;
        struct vqd_buf b[3] = {{vhu_front_gpa(f, h), 16, false},
                               {vhu_front_gpa(f, d), 8 * 16, false},
                               {vhu_front_gpa(f, status[i]), 1, true}};
        assert_int_equal(vqd_add(vhu_front_queue(f, 0), b, 3, status[i]), 0);
    }
    wait_done(f, 0, N, NULL);
    for (int i = 0; i < N; i++)
        assert_int_equal(*status[i], VIRTIO_BLK_S_OK);
    uint8_t *r = vhu_front_alloc(f, 1 << 20, 4096);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_IN, 0, r, 1 << 20), VIRTIO_BLK_S_OK);
    for (int s = 0; s < 2048; s++) {
        bool zeroed = s < N * 32 && s % 4 < 2;
        if (zeroed)
            assert_true(all_zero(r + s * 512, 512));
        else
            assert_memory_equal(r + s * 512, w + s * 512, 512);
    }
    json_t *j = target_json(&e);
    json_t *q = json_array_get(json_object_get(j, "queues"), 0);
    assert_true(json_integer_value(json_object_get(q, "channel_full")) > 0);
    json_decref(j);
    vhu_front_close(f);
    env_down(&e);
    assert_int_equal(blk_bdev_delete("b1"), 0);
    assert_int_equal(blk_bdev_delete("b0"), 0);
}

/* GET_VRING_BASE while requests sit in a slow bdev: the answer comes only
 * once they are all in the used ring. */
static void test_stop_waits_for_requests_in_flight(void **state)
{
    struct env e;
    make_bdev("s0", "malloc", json_pack("{s:s}", "size", "8M"));
    make_bdev("s1", "error", json_pack("{s:s, s:i}", "base", "s0", "delay_us", 200000));
    env_up(&e, "s1", false, 1);
    struct vhu_front *f = front(e.sock, 1, false);
    uint8_t *w = vhu_front_alloc(f, 16 * 4096, 4096);
    fill(w, 16 * 4096, 8);
    for (int i = 0; i < 16; i++)
        add(f, 0, VIRTIO_BLK_T_OUT, (uint64_t)i * 8, w + i * 4096, 4096, false);
    vhu_front_kick(f, 0);
    usleep(50000); /* popped and in the bdev */
    uint64_t t0 = kk_now_us();
    uint32_t base = 0;
    assert_int_equal(vhu_front_get_vring_base(f, 0, &base), 0);
    assert_true(kk_now_us() - t0 > 100000); /* it waited */
    assert_int_equal(base, 16);
    struct vqd *q = vhu_front_queue(f, 0);
    int done = 0;
    void *cookie;
    while (vqd_get_used(q, &cookie, NULL) == 1) {
        assert_int_equal(*((struct req *)cookie)->status, VIRTIO_BLK_S_OK);
        done++;
    }
    assert_int_equal(done, 16);
    vhu_front_close(f);
    env_down(&e);
    assert_int_equal(blk_bdev_delete("s1"), 0);
    assert_int_equal(blk_bdev_delete("s0"), 0);
}

/* A frontend that vanishes with requests in a slow bdev, then an export
 * removed under a connected frontend with requests in flight: both wait
 * for the bdev, nothing touches unmapped memory, the process goes on. */
static void test_disconnect_and_destroy_with_requests_in_flight(void **state)
{
    struct env e;
    make_bdev("x0", "malloc", json_pack("{s:s}", "size", "8M"));
    make_bdev("x1", "error", json_pack("{s:s, s:i}", "base", "x0", "delay_us", 100000));
    env_up(&e, "x1", false, 2);
    struct vhu_front *f = front(e.sock, 2, false);
    uint8_t *w = vhu_front_alloc(f, 8 * 4096, 4096);
    for (int i = 0; i < 8; i++)
        add(f, (uint16_t)(i % 2), VIRTIO_BLK_T_IN, (uint64_t)i * 8, w + i * 4096, 4096, false);
    vhu_front_kick(f, 0);
    vhu_front_kick(f, 1);
    usleep(30000);
    vhu_front_close(f); /* memory unmapped on our side; the target still has it */
    f = front(e.sock, 2, false);
    uint8_t *r = vhu_front_alloc(f, 4096, 4096);
    assert_int_equal(do_io(f, 1, VIRTIO_BLK_T_IN, 0, r, 4096), VIRTIO_BLK_S_OK);
    for (int i = 0; i < 8; i++)
        add(f, (uint16_t)(i % 2), VIRTIO_BLK_T_OUT, (uint64_t)i * 8, r, 4096, false);
    vhu_front_kick(f, 0);
    vhu_front_kick(f, 1);
    usleep(30000);
    uint64_t t0 = kk_now_us();
    on_ctrl(&e, destroy_target); /* waits for the 8 writes */
    assert_true(kk_now_us() - t0 > 30000);
    int done = 0;
    for (uint16_t qi = 0; qi < 2; qi++) {
        void *cookie;
        while (vqd_get_used(vhu_front_queue(f, qi), &cookie, NULL) == 1) {
            assert_int_equal(*((struct req *)cookie)->status, VIRTIO_BLK_S_OK);
            done++;
        }
    }
    assert_int_equal(done, 8);
    assert_true(vhu_front_backend_hung_up(f));
    vhu_front_close(f);
    env_down(&e); /* the target is already gone */
    assert_int_equal(blk_bdev_delete("x1"), 0);
    assert_int_equal(blk_bdev_delete("x0"), 0);
}

struct resize_arg {
    struct env *e;
    const char *bdev;
    uint64_t size;
    int rc;
};

static struct resize_arg resize_req;
static void do_resize(struct env *e)
{
    struct blk_bdev *b;
    resize_req.rc = blk_bdev_open(resize_req.bdev, false, &b);
    if (resize_req.rc == 0) {
        resize_req.rc = blk_bdev_resize(b, resize_req.size);
        blk_bdev_close(b);
    }
}

static void test_resize_is_announced(void **state)
{
    struct env e;
    make_bdev("z0", "malloc", json_pack("{s:s}", "size", "8M"));
    env_up(&e, "z0", false, 1);
    struct vhu_front *f = front(e.sock, 1, false);
    assert_true(vhu_front_protocol_features(f) & VIRTIO_BIT(VHU_PROTOCOL_F_BACKEND_REQ));
    uint8_t *buf = vhu_front_alloc(f, 4096, 4096);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_IN, 16 * 2048, buf, 4096), VIRTIO_BLK_S_IOERR);
    resize_req = (struct resize_arg){.bdev = "z0", .size = 32u << 20};
    on_ctrl(&e, do_resize);
    assert_int_equal(resize_req.rc, 0);
    struct vhu_msg m;
    assert_int_equal(vhu_front_recv_backend_req(f, &m, 2000), 0);
    assert_int_equal(m.request, VHU_BACKEND_CONFIG_CHANGE_MSG);
    uint64_t cap = 0;
    assert_int_equal(vhu_front_get_config(f, 0, &cap, 8), 0);
    assert_int_equal(cap, 32 * 2048);
    /* The new space is usable at once, the old end too. */
    fill(buf, 4096, 4);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_OUT, 16 * 2048, buf, 4096), VIRTIO_BLK_S_OK);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_IN, 32 * 2048 - 8, buf, 4096), VIRTIO_BLK_S_OK);
    /* Shrink: reads past the new end fail. */
    resize_req.size = 4u << 20;
    on_ctrl(&e, do_resize);
    assert_int_equal(resize_req.rc, 0);
    assert_int_equal(vhu_front_recv_backend_req(f, &m, 2000), 0);
    assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_IN, 4 * 2048, buf, 4096), VIRTIO_BLK_S_IOERR);
    vhu_front_close(f);
    env_down(&e);
    assert_int_equal(blk_bdev_delete("z0"), 0);
}

/* ---- restart under a running guest (forks: runs before any thread) ---- */

/* A target in a child process on a file (slow writes through the error
 * bdev when @slow); it runs until killed. */
static pid_t spawn_target(const char *dir, const char *sock, bool slow)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0)
        return pid;
    char path[512];
    snprintf(path, sizeof(path), "%s/disk.raw", dir);
    char err[256];
    json_t *p = json_pack("{s:s, s:b, s:s}", "path", path, "create", 1, "size", "8M");
    if (blk_bdev_create("f0", "file", p, err, sizeof(err), NULL) < 0)
        _exit(3);
    const char *name = "f0";
    if (slow) {
        p = json_pack("{s:s, s:i}", "base", "f0", "delay_us", 5000000);
        if (blk_bdev_create("f1", "error", p, err, sizeof(err), NULL) < 0)
            _exit(4);
        name = "f1";
    }
    struct env e = {0};
    snprintf(e.sock, sizeof(e.sock), "%s", sock);
    if (kk_reactor_create(NULL, &e.ctrl) < 0 || kk_reactor_create(NULL, &e.w[0]) < 0 ||
        kk_reactor_create(NULL, &e.w[1]) < 0 || kk_reactor_spawn(e.w[0], -1) < 0 ||
        kk_reactor_spawn(e.w[1], -1) < 0)
        _exit(5);
    e.o = (struct vblk_opts){.path = e.sock, .bdev = name, .num_queues = 2};
    if (vblk_target_create(e.ctrl, e.w, 2, &e.o, &e.t) < 0)
        _exit(6);
    kk_reactor_run(e.ctrl);
    _exit(0);
}

static void test_restart_completes_requests_in_flight(void **state)
{
    char *dir = kk_test_mkdtemp();
    char sock[512];
    snprintf(sock, sizeof(sock), "%s/vblk.sock", dir);
    pid_t pid = spawn_target(dir, sock, true);
    struct vhu_front *f = front(sock, 2, true);
    enum { N = 12 };
    uint8_t *w = vhu_front_alloc(f, N * 8192, 4096);
    struct req *reqs[N];
    for (int i = 0; i < N; i++) {
        fill(w + i * 8192, 8192, (uint32_t)i + 40);
        reqs[i] = add(f, (uint16_t)(i % 2), VIRTIO_BLK_T_OUT, (uint64_t)i * 64, w + i * 8192,
                      8192, i % 3 == 0);
    }
    vhu_front_kick(f, 0);
    vhu_front_kick(f, 1);
    usleep(200000); /* popped; the writes sleep in the error bdev */
    for (int i = 0; i < N; i++)
        assert_int_equal(*reqs[i]->status, 0xff);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    /* The successor, on the same file, without the delay. */
    pid = spawn_target(dir, sock, false);
    assert_int_equal(vhu_front_reconnect(f), 0);
    struct req *done[N];
    wait_done(f, 0, N / 2, done);
    wait_done(f, 1, N / 2, done + N / 2);
    for (int i = 0; i < N; i++)
        assert_int_equal(*done[i]->status, VIRTIO_BLK_S_OK);
    /* The data is on the disk, each request exactly where it was sent. */
    uint8_t *r = vhu_front_alloc(f, 8192, 4096);
    for (int i = 0; i < N; i++) {
        assert_int_equal(do_io(f, (uint16_t)(i % 2), VIRTIO_BLK_T_IN, (uint64_t)i * 64, r, 8192),
                         VIRTIO_BLK_S_OK);
        assert_memory_equal(r, w + i * 8192, 8192);
    }
    vhu_front_close(f);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    kk_test_rmdir(dir);
}

/* The same over packed rings. */
static void test_packed_read_back(void **state)
{
    packed_rings = true;
    test_read_back_flush_discard_write_zeroes_get_id(state);
    test_multiqueue_under_load(state);
    packed_rings = false;
}

static void test_packed_restart(void **state)
{
    packed_rings = true;
    test_restart_completes_requests_in_flight(state);
    packed_rings = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First: it forks, and the process has no threads yet. */
        cmocka_unit_test(test_restart_completes_requests_in_flight),
        cmocka_unit_test(test_packed_restart),
        cmocka_unit_test(test_hostile_guests_drop_only_their_frontend),
        cmocka_unit_test(test_config_space),
        cmocka_unit_test(test_config_size_max),
        cmocka_unit_test(test_read_back_flush_discard_write_zeroes_get_id),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_multiqueue_under_load),
        cmocka_unit_test(test_channel_back_pressure),
        cmocka_unit_test(test_stop_waits_for_requests_in_flight),
        cmocka_unit_test(test_disconnect_and_destroy_with_requests_in_flight),
        cmocka_unit_test(test_resize_is_announced),
        cmocka_unit_test(test_packed_read_back),
    };
    return cmocka_run_group_tests_name("vhost-user-blk target", tests, NULL, NULL);
}
