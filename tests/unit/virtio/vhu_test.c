/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user end to end in one process: kvmkit's frontend drives the
 * responder device on kvmkit's backend (running on its own reactor thread)
 * through a real Unix socket and shared memfd memory. Then hostile
 * frontends: every refused message must make the backend hang up on that
 * frontend and keep serving the next one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_reactor.h"
#include "kk_test.h"
#include "vhu.h"
#include "vhu_frontend.h"
#include "vhu_responder.h"

struct world {
    char *dir;
    char path[256];
    struct kk_reactor *r;
    struct vhu_responder *resp;
};

static const uint8_t our_mac[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t guest_mac[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};

static int setup_world(struct world *w, uint16_t pairs)
{
    w->dir = kk_test_mkdtemp();
    snprintf(w->path, sizeof(w->path), "%s/vhu.sock", w->dir);
    assert_int_equal(kk_reactor_create(NULL, &w->r), 0);
    struct vhu_responder_opts o = {.path = w->path, .queue_pairs = pairs,
                                   .mode = VHU_RESPONDER_REFLECT};
    memcpy(o.mac, our_mac, 6);
    inet_pton(AF_INET, "10.0.0.1", &o.ip);
    assert_int_equal(vhu_responder_create(w->r, &o, &w->resp), 0);
    assert_int_equal(kk_reactor_spawn(w->r, -1), 0);
    return 0;
}

static void destroy_resp(void *arg)
{
    struct world *w = arg;
    vhu_responder_destroy(w->resp);
    w->resp = NULL;
}

static void teardown_world(struct world *w)
{
    kk_reactor_send(w->r, destroy_resp, w);
    kk_reactor_join(w->r);
    kk_reactor_destroy(w->r);
    kk_test_rmdir(w->dir);
}

static struct vhu_responder_stats stats(struct world *w)
{
    struct vhu_responder_stats s;
    vhu_responder_get_stats(w->resp, &s); /* counters: a racy but fine snapshot */
    return s;
}

/* ---- frames ---- */

static size_t arp_request(uint8_t *f)
{
    memset(f, 0xff, 6);
    memcpy(f + 6, guest_mac, 6);
    f[12] = 0x08;
    f[13] = 0x06;
    static const uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1};
    memcpy(f + 14, hdr, 8);
    memcpy(f + 22, guest_mac, 6);
    inet_pton(AF_INET, "10.0.0.2", f + 28);
    memset(f + 32, 0, 6);
    inet_pton(AF_INET, "10.0.0.1", f + 38);
    return 42;
}

static uint16_t csum(const uint8_t *p, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static size_t icmp_echo(uint8_t *f, uint16_t seq)
{
    memcpy(f, our_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[3] = 20 + 8 + 32; /* total length */
    ip[8] = 64;
    ip[9] = 1;
    inet_pton(AF_INET, "10.0.0.2", ip + 12);
    inet_pton(AF_INET, "10.0.0.1", ip + 16);
    uint16_t c = csum(ip, 20);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    uint8_t *icmp = ip + 20;
    memset(icmp, 0, 8);
    icmp[0] = 8;
    icmp[6] = (uint8_t)(seq >> 8);
    icmp[7] = (uint8_t)seq;
    for (int i = 0; i < 32; i++)
        icmp[8 + i] = (uint8_t)(i * 7 + seq);
    c = csum(icmp, 40);
    icmp[2] = (uint8_t)(c >> 8);
    icmp[3] = (uint8_t)c;
    return 14 + 60;
}

/* ---- frontend helpers ---- */

#define RXBUF 2048
#define HDR 12

struct port {
    struct vhu_front *f;
    bool indirect;
};

static void post_rx(struct port *p, uint16_t pair, unsigned count)
{
    struct vqd *rx = vhu_front_queue(p->f, (uint16_t)(pair * 2));
    for (unsigned i = 0; i < count; i++) {
        uint8_t *buf = vhu_front_alloc(p->f, RXBUF, 64);
        assert_non_null(buf);
        memset(buf, 0xee, RXBUF);
        /* Header and data in two descriptors, exercising chains. */
        struct vqd_buf b[2] = {{vhu_front_gpa(p->f, buf), HDR, true},
                               {vhu_front_gpa(p->f, buf + HDR), RXBUF - HDR, true}};
        int rc;
        if (p->indirect) {
            void *table = vhu_front_alloc(p->f, 32, 16);
            rc = vqd_add_indirect(rx, b, 2, table, vhu_front_gpa(p->f, table), buf);
        } else {
            rc = vqd_add(rx, b, 2, buf);
        }
        assert_int_equal(rc, 0);
    }
    vhu_front_kick(p->f, (uint16_t)(pair * 2));
}

static void send_frame(struct port *p, uint16_t pair, const uint8_t *frame, size_t len)
{
    struct vqd *tx = vhu_front_queue(p->f, (uint16_t)(pair * 2 + 1));
    uint8_t *buf = vhu_front_alloc(p->f, HDR + len, 64);
    assert_non_null(buf);
    memset(buf, 0, HDR);
    memcpy(buf + HDR, frame, len);
    struct vqd_buf b = {vhu_front_gpa(p->f, buf), (uint32_t)(HDR + len), false};
    assert_int_equal(vqd_add(tx, &b, 1, buf), 0);
    vhu_front_kick(p->f, (uint16_t)(pair * 2 + 1));
}

/* Wait for one received frame on @pair; returns its length (without the
 * header) and copies it to @out. */
static size_t recv_frame(struct port *p, uint16_t pair, uint8_t *out)
{
    struct vqd *rx = vhu_front_queue(p->f, (uint16_t)(pair * 2));
    struct vqd *tx = vhu_front_queue(p->f, (uint16_t)(pair * 2 + 1));
    for (int tries = 0; tries < 5000; tries++) {
        void *cookie;
        uint32_t len;
        while (vqd_get_used(tx, &cookie, &len) == 1)
            ; /* reap transmitted buffers */
        if (vqd_get_used(rx, &cookie, &len) == 1) {
            assert_true(len >= HDR && len <= RXBUF);
            memcpy(out, (uint8_t *)cookie + HDR, len - HDR);
            return len - HDR;
        }
        struct pollfd pf = {.fd = vhu_front_call_fd(p->f, (uint16_t)(pair * 2)), .events = POLLIN};
        if (poll(&pf, 1, 1) > 0) {
            uint64_t v;
            ssize_t n = read(pf.fd, &v, sizeof(v));
            (void)n;
        }
    }
    fail_msg("no frame received on pair %u", pair);
    return 0;
}

static void run_variant(bool packed, bool event_idx, bool indirect, uint16_t pairs, bool huge)
{
    struct world w;
    setup_world(&w, pairs);
    struct vhu_front_opts o = {.path = w.path, .num_queues = (uint16_t)(pairs * 2),
                               .queue_size = packed ? 100 : 128, .packed = packed,
                               .event_idx = event_idx, .indirect = indirect,
                               .device_features = VIRTIO_BIT(VIRTIO_NET_F_MAC) |
                                                  VIRTIO_BIT(VIRTIO_NET_F_MQ),
                               .hugepages = huge, .mem_size = huge ? 3u << 20 : 0};
    struct port p = {.indirect = indirect};
    assert_int_equal(vhu_front_connect(&o, &p.f), 0);
    assert_true(vhu_front_features(p.f) & VIRTIO_BIT(VIRTIO_F_VERSION_1));
    assert_int_equal(!!(vhu_front_features(p.f) & VIRTIO_BIT(VIRTIO_F_RING_PACKED)), packed);

    uint8_t frame[2048], got[2048];
    for (uint16_t pair = 0; pair < pairs; pair++) {
        post_rx(&p, pair, 40);
        /* ARP: the responder answers with its MAC. */
        size_t len = arp_request(frame);
        send_frame(&p, pair, frame, len);
        size_t n = recv_frame(&p, pair, got);
        assert_int_equal(n, 60);
        assert_memory_equal(got, guest_mac, 6);
        assert_memory_equal(got + 6, our_mac, 6);
        assert_int_equal(got[21], 2); /* ARP reply */
        assert_memory_equal(got + 22, our_mac, 6);
        /* ICMP echo: a valid echo reply with the same payload. */
        for (uint16_t seq = 1; seq <= 20; seq++) {
            len = icmp_echo(frame, seq);
            send_frame(&p, pair, frame, len);
            n = recv_frame(&p, pair, got);
            assert_int_equal(n, len);
            assert_int_equal(got[14 + 20], 0); /* echo reply */
            assert_memory_equal(got + 14 + 12, frame + 14 + 16, 4); /* addresses swapped */
            assert_int_equal(csum(got + 14, 20), 0);
            assert_int_equal(csum(got + 14 + 20, 40), 0);
            assert_memory_equal(got + 14 + 28, frame + 14 + 28, 32);
        }
        /* Anything else is reflected with MACs swapped. */
        memcpy(frame, our_mac, 6);
        memcpy(frame + 6, guest_mac, 6);
        frame[12] = 0x88;
        frame[13] = 0xb5;
        for (int i = 14; i < 1500; i++)
            frame[i] = (uint8_t)(i ^ pair);
        send_frame(&p, pair, frame, 1500);
        n = recv_frame(&p, pair, got);
        assert_int_equal(n, 1500);
        assert_memory_equal(got, guest_mac, 6);
        assert_memory_equal(got + 6, our_mac, 6);
        assert_memory_equal(got + 12, frame + 12, 1500 - 12);
    }
    /* The device counts after delivering: give the last count a moment. */
    struct vhu_responder_stats s = stats(&w);
    for (int t = 0; t < 200 && s.reflected < pairs; t++) {
        usleep(1000);
        s = stats(&w);
    }
    assert_int_equal(s.arp_replies, pairs);
    assert_int_equal(s.icmp_replies, 20u * pairs);
    assert_int_equal(s.reflected, pairs);
    assert_int_equal(s.queue_faults, 0);
    uint32_t base;
    assert_int_equal(vhu_front_get_vring_base(p.f, 1, &base), 0);
    assert_int_equal(base & 0x7fff, packed ? 22 : 22); /* 22 frames sent on pair 0 */
    vhu_front_close(p.f);
    teardown_world(&w);
}

static void test_split(void **state) { run_variant(false, false, false, 1, false); }
static void test_split_event_idx(void **state) { run_variant(false, true, false, 1, false); }
static void test_split_indirect_event_idx(void **state) { run_variant(false, true, true, 1, false); }
static void test_split_4_pairs(void **state) { run_variant(false, true, false, 4, false); }
static void test_packed(void **state) { run_variant(true, false, false, 1, false); }
static void test_packed_event_idx_indirect(void **state) { run_variant(true, true, true, 1, false); }
static void test_packed_4_pairs(void **state) { run_variant(true, false, true, 4, false); }

static long meminfo(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, kl) && line[kl] == ':')
            v = atol(line + kl + 1);
    if (f)
        fclose(f);
    return v;
}

/* Guest memory on huge pages (as VMs with vhost-user ports have): 3 MiB
 * asked, two 2 MiB pages taken. With too few free pages the frontend says
 * so instead of failing later on a page fault. */
static void test_split_hugepages(void **state)
{
    (void)state;
    if (meminfo("HugePages_Free") >= 2 && meminfo("Hugepagesize") == 2048) {
        run_variant(false, true, false, 1, true);
        return;
    }
    struct world w;
    setup_world(&w, 1);
    struct vhu_front_opts o = {.path = w.path, .num_queues = 2, .hugepages = true,
                               .mem_size = 3u << 20};
    struct vhu_front *f = NULL;
    assert_int_equal(vhu_front_connect(&o, &f), -ENOMEM);
    assert_null(f);
    teardown_world(&w);
}

/* ---- hostile frontends ---- */

struct hostile {
    const char *name;
    void (*attack)(struct world *w, struct vhu_front *f);
};

static void send_msg(struct vhu_front *f, uint32_t req, const void *payload, uint32_t size,
                     const int *fds, unsigned n_fds)
{
    struct vhu_msg m = {.request = req, .flags = VHU_VERSION, .size = size};
    if (size)
        memcpy(m.p.raw, payload, size);
    assert_int_equal(vhu_front_send(f, &m, fds, n_fds), 0);
}

static void bad_queue_index(struct world *w, struct vhu_front *f)
{
    struct vhu_vring_state s = {.index = 7, .num = 256}; /* the device has 2 queues */
    send_msg(f, VHU_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
}

static void bad_queue_index_addr(struct world *w, struct vhu_front *f)
{
    struct vhu_vring_addr a = {.index = 200};
    send_msg(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
}

static void kick_bad_index(struct world *w, struct vhu_front *f)
{
    int efd = eventfd(0, EFD_CLOEXEC);
    uint64_t v = 9;
    send_msg(f, VHU_SET_VRING_KICK, &v, 8, &efd, 1);
    close(efd);
}

static void too_many_regions(struct world *w, struct vhu_front *f)
{
    struct vhu_mem_table t = {.nregions = 9};
    send_msg(f, VHU_SET_MEM_TABLE, &t, 8 + 8 * 32, NULL, 0);
}

static void oversized_region(struct world *w, struct vhu_front *f)
{
    /* A region claiming more than its file holds. */
    struct vhu_mem_table t = {.nregions = 1};
    t.regions[0] = (struct vhu_mem_region){.gpa = 0, .size = vhu_front_mem_size(f) * 16,
                                           .uva = 0x7f0000000000};
    int fd = vhu_front_mem_fd(f);
    send_msg(f, VHU_SET_MEM_TABLE, &t, 8 + 32, &fd, 1);
}

static void wrapping_region(struct world *w, struct vhu_front *f)
{
    struct vhu_mem_table t = {.nregions = 1};
    t.regions[0] = (struct vhu_mem_region){.gpa = UINT64_MAX - 4095, .size = 8192,
                                           .uva = 0x7f0000000000};
    int fd = vhu_front_mem_fd(f);
    send_msg(f, VHU_SET_MEM_TABLE, &t, 8 + 32, &fd, 1);
}

static void fds_without_regions(struct world *w, struct vhu_front *f)
{
    struct vhu_mem_table t = {.nregions = 1};
    t.regions[0] = (struct vhu_mem_region){.gpa = 0, .size = 4096, .uva = 0x7f0000000000};
    send_msg(f, VHU_SET_MEM_TABLE, &t, 8 + 32, NULL, 0); /* no fd */
}

/* Rings outside shared memory: the queue cannot start. */
static void rings_past_memory(struct world *w, struct vhu_front *f)
{
    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
    send_msg(f, VHU_SET_FEATURES, &features, 8, NULL, 0);
    struct vhu_mem_table t = {.nregions = 1};
    t.regions[0] = (struct vhu_mem_region){.gpa = 0, .size = vhu_front_mem_size(f),
                                           .uva = (uint64_t)(uintptr_t)vhu_front_mem_base(f)};
    int fd = vhu_front_mem_fd(f);
    send_msg(f, VHU_SET_MEM_TABLE, &t, 8 + 32, &fd, 1);
    struct vhu_vring_state s = {.index = 1, .num = 256};
    send_msg(f, VHU_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
    uint64_t end = (uint64_t)(uintptr_t)vhu_front_mem_base(f) + vhu_front_mem_size(f);
    struct vhu_vring_addr a = {.index = 1, .desc = end - 1024, .avail = end + 4096,
                               .used = end + 8192};
    send_msg(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
    int efd = eventfd(0, EFD_CLOEXEC);
    uint64_t v = 1;
    send_msg(f, VHU_SET_VRING_KICK, &v, 8, &efd, 1);
    close(efd);
}

static void oversized_inflight(struct world *w, struct vhu_front *f)
{
    uint64_t proto = VIRTIO_BIT(VHU_PROTOCOL_F_INFLIGHT_SHMFD);
    uint64_t features = VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
    send_msg(f, VHU_SET_FEATURES, &features, 8, NULL, 0);
    send_msg(f, VHU_SET_PROTOCOL_FEATURES, &proto, 8, NULL, 0);
    /* Claims 1 TiB of inflight area in a small memfd. */
    struct vhu_inflight in = {.mmap_size = 1ull << 40, .mmap_offset = 0, .num_queues = 2,
                              .queue_size = 256};
    int fd = vhu_front_mem_fd(f);
    send_msg(f, VHU_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1);
}

static void inflight_too_many_queues(struct world *w, struct vhu_front *f)
{
    uint64_t proto = VIRTIO_BIT(VHU_PROTOCOL_F_INFLIGHT_SHMFD);
    uint64_t features = VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
    send_msg(f, VHU_SET_FEATURES, &features, 8, NULL, 0);
    send_msg(f, VHU_SET_PROTOCOL_FEATURES, &proto, 8, NULL, 0);
    struct vhu_inflight in = {.num_queues = 300, .queue_size = 256};
    send_msg(f, VHU_GET_INFLIGHT_FD, &in, sizeof(in), NULL, 0);
}

static void inflight_without_feature(struct world *w, struct vhu_front *f)
{
    struct vhu_inflight in = {.num_queues = 2, .queue_size = 256};
    send_msg(f, VHU_GET_INFLIGHT_FD, &in, sizeof(in), NULL, 0);
}

static void unoffered_features(struct world *w, struct vhu_front *f)
{
    uint64_t features = VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM);
    send_msg(f, VHU_SET_FEATURES, &features, 8, NULL, 0);
}

static void unknown_request(struct world *w, struct vhu_front *f)
{
    send_msg(f, 99, NULL, 0, NULL, 0);
}

static void bad_version(struct world *w, struct vhu_front *f)
{
    struct vhu_msg m = {.request = VHU_GET_FEATURES, .flags = 0x2};
    assert_int_equal(vhu_front_send(f, &m, NULL, 0), 0);
}

static void config_out_of_range(struct world *w, struct vhu_front *f)
{
    struct vhu_config c = {.offset = 250, .size = 16};
    send_msg(f, VHU_GET_CONFIG, &c, 12 + 16, NULL, 0);
}

static void ring_size_not_power_of_two(struct world *w, struct vhu_front *f)
{
    struct vhu_vring_state s = {.index = 0, .num = 100}; /* split ring */
    send_msg(f, VHU_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
}

static const struct hostile attacks[] = {
    {"queue index out of range (SET_VRING_NUM)", bad_queue_index},
    {"queue index out of range (SET_VRING_ADDR)", bad_queue_index_addr},
    {"queue index out of range (SET_VRING_KICK)", kick_bad_index},
    {"nine memory regions", too_many_regions},
    {"region larger than its file", oversized_region},
    {"region wrapping the address space", wrapping_region},
    {"regions without descriptors", fds_without_regions},
    {"rings past guest memory", rings_past_memory},
    {"oversized inflight area", oversized_inflight},
    {"inflight for too many queues", inflight_too_many_queues},
    {"inflight without the feature", inflight_without_feature},
    {"unoffered features", unoffered_features},
    {"unknown request", unknown_request},
    {"bad version", bad_version},
    {"config access out of range", config_out_of_range},
    {"split ring size not a power of two", ring_size_not_power_of_two},
};

/* After a dropped frontend, a well-behaved one connects and gets an ARP
 * answer: the device is still serving. */
static void assert_still_serving(struct world *w)
{
    usleep(20000); /* the backend may still be closing the previous connection */
    struct vhu_front_opts o = {.path = w->path, .num_queues = 2, .mem_size = 1 << 20};
    struct port p = {0};
    assert_int_equal(vhu_front_connect(&o, &p.f), 0);
    post_rx(&p, 0, 4);
    uint8_t frame[128], got[2048];
    send_frame(&p, 0, frame, arp_request(frame));
    assert_int_equal(recv_frame(&p, 0, got), 60);
    vhu_front_close(p.f);
}

static void test_hostile_frontends_are_dropped(void **state)
{
    struct world w;
    setup_world(&w, 1);
    for (size_t i = 0; i < KK_ARRAY_SIZE(attacks); i++) {
        struct vhu_front_opts o = {.path = w.path, .num_queues = 2, .mem_size = 1 << 20,
                                   .timeout_ms = 5000};
        struct vhu_front *f;
        /* The backend may still be tearing down the previous connection. */
        int rc = -1;
        for (int t = 0; t < 100 && rc < 0; t++) {
            rc = vhu_front_connect_raw(&o, &f);
            if (rc < 0)
                usleep(10000);
        }
        assert_int_equal(rc, 0);
        attacks[i].attack(&w, f);
        if (!vhu_front_backend_hung_up(f))
            fail_msg("attack '%s': the backend did not drop the frontend", attacks[i].name);
        vhu_front_close(f);
    }
    assert_still_serving(&w);
    teardown_world(&w);
}

/* A guest writes a descriptor pointing outside its memory: the queue breaks,
 * the device drops the frontend and serves the next one. */
static void test_guest_fault_drops_the_frontend(void **state)
{
    struct world w;
    setup_world(&w, 1);
    struct vhu_front_opts o = {.path = w.path, .num_queues = 2, .mem_size = 1 << 20};
    struct port p = {0};
    assert_int_equal(vhu_front_connect(&o, &p.f), 0);
    struct vqd *tx = vhu_front_queue(p.f, 1);
    struct vqd_buf b = {.gpa = (1 << 20) + 4096, .len = 64, .writable = false};
    assert_int_equal(vqd_add(tx, &b, 1, NULL), 0);
    vhu_front_kick(p.f, 1);
    assert_true(vhu_front_backend_hung_up(p.f));
    vhu_front_close(p.f);
    for (int t = 0; t < 200 && stats(&w).queue_faults == 0; t++)
        usleep(5000);
    assert_int_equal(stats(&w).queue_faults, 1);
    assert_int_equal(stats(&w).frames_in, 0);
    assert_still_serving(&w);
    teardown_world(&w);
}

/* Changes that would pull state from under running queues are refused
 * (found by review): a smaller inflight area, a different ring format. */
static void test_running_queues_are_protected(void **state)
{
    struct world w;
    setup_world(&w, 1);
    struct vhu_front_opts o = {.path = w.path, .num_queues = 2, .queue_size = 256,
                               .mem_size = 1 << 20,
                               .protocol_features = VIRTIO_BIT(VHU_PROTOCOL_F_INFLIGHT_SHMFD)};
    struct port p = {0};
    assert_int_equal(vhu_front_connect(&o, &p.f), 0);
    assert_true(vhu_front_protocol_features(p.f) & VIRTIO_BIT(VHU_PROTOCOL_F_INFLIGHT_SHMFD));
    post_rx(&p, 0, 2); /* the queues are running */
    struct vhu_inflight in = {.num_queues = 1, .queue_size = 1};
    send_msg(p.f, VHU_GET_INFLIGHT_FD, &in, sizeof(in), NULL, 0);
    assert_true(vhu_front_backend_hung_up(p.f));
    vhu_front_close(p.f);

    usleep(20000);
    assert_int_equal(vhu_front_connect(&o, &p.f), 0);
    post_rx(&p, 0, 2);
    uint64_t features = vhu_front_features(p.f) | VIRTIO_BIT(VIRTIO_F_RING_PACKED);
    send_msg(p.f, VHU_SET_FEATURES, &features, 8, NULL, 0);
    assert_true(vhu_front_backend_hung_up(p.f));
    vhu_front_close(p.f);

    /* Switching on logging while running is what migration does: allowed. */
    usleep(20000);
    assert_int_equal(vhu_front_connect(&o, &p.f), 0);
    post_rx(&p, 0, 4);
    int log_fd = memfd_create("log", MFD_CLOEXEC);
    assert_int_equal(ftruncate(log_fd, 4096), 0);
    assert_int_equal(vhu_front_start_logging(p.f, log_fd, 4096), 0);
    uint8_t frame[128], got[2048];
    send_frame(&p, 0, frame, arp_request(frame));
    assert_int_equal(recv_frame(&p, 0, got), 60);
    close(log_fd);
    vhu_front_close(p.f);
    teardown_world(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_frontends_are_dropped),
        cmocka_unit_test(test_guest_fault_drops_the_frontend),
        cmocka_unit_test(test_running_queues_are_protected),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_hugepages),
        cmocka_unit_test(test_split_event_idx),
        cmocka_unit_test(test_split_indirect_event_idx),
        cmocka_unit_test(test_split_4_pairs),
        cmocka_unit_test(test_packed),
        cmocka_unit_test(test_packed_event_idx_indirect),
        cmocka_unit_test(test_packed_4_pairs),
    };
    return cmocka_run_group_tests_name("vhost-user end to end", tests, NULL, NULL);
}
