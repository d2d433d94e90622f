/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <linux/memfd.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_err.h"
#include "kk_log.h"
#include "vhu_frontend.h"

KK_LOG_COMPONENT(front_log, "vhu-frontend");

struct fq {
    struct vqd vqd;
    void *ring;
    int kick_fd;
    int call_fd;
};

struct vhu_front {
    struct vhu_front_opts opts;
    int sock;
    int mem_fd;
    uint8_t *mem;
    size_t mem_size;
    size_t mem_used;
    uint64_t features;
    uint64_t protocol;
    int inflight_fd;           /* -1: none */
    struct vhu_inflight inflight;
    int backend_fd;            /* our end of the backend request channel, or -1 */
    uint16_t n_queues;         /* queues set up */
    struct fq *queues;         /* [VHU_MAX_QUEUES] when the count is the backend's */
};

static int wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc;
    do {
        rc = poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return kk_neg_errno();
    return rc == 0 ? -ETIMEDOUT : 0;
}

int vhu_front_recv(struct vhu_front *f, struct vhu_msg *reply)
{
    int rc = wait_readable(f->sock, f->opts.timeout_ms);
    if (rc < 0)
        return rc;
    /* Replies are parsed like requests, except for the reply flag. A
     * descriptor (GET_INFLIGHT_FD) rides on the first byte: read the
     * header with its control data. */
    uint8_t hdr[VHU_HDR_SIZE];
    union {
        char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec hiov = {.iov_base = hdr, .iov_len = sizeof(hdr)};
    struct msghdr mh = {.msg_iov = &hiov, .msg_iovlen = 1, .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf)};
    memset(reply, 0, sizeof(*reply));
    ssize_t n = recvmsg(f->sock, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
        return -ECONNRESET;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count && reply->n_fds < VHU_MAX_FDS; i++)
            memcpy(&reply->fds[reply->n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
    if (n != (ssize_t)sizeof(hdr)) {
        vhu_msg_close_fds(reply);
        return -EPROTO;
    }
    memcpy(&reply->request, hdr, 4);
    memcpy(&reply->flags, hdr + 4, 4);
    memcpy(&reply->size, hdr + 8, 4);
    if (!(reply->flags & VHU_FLAG_REPLY) || reply->size > VHU_MAX_PAYLOAD) {
        vhu_msg_close_fds(reply);
        return -EPROTO;
    }
    if (reply->size) {
        n = recv(f->sock, reply->p.raw, reply->size, MSG_WAITALL);
        if (n != (ssize_t)reply->size) {
            vhu_msg_close_fds(reply);
            return -EPROTO;
        }
    }
    return 0;
}

int vhu_front_send(struct vhu_front *f, const struct vhu_msg *m, const int *fds, unsigned n_fds)
{
    return vhu_msg_send(f->sock, m, fds, n_fds);
}

bool vhu_front_backend_hung_up(struct vhu_front *f)
{
    if (wait_readable(f->sock, f->opts.timeout_ms) < 0)
        return false;
    char c;
    ssize_t n = recv(f->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) {
        /* A reply first (REPLY_ACK failure, empty GET_CONFIG): skip it. */
        struct vhu_msg r;
        if (vhu_front_recv(f, &r) < 0)
            return true;
        vhu_msg_close_fds(&r);
        return vhu_front_backend_hung_up(f);
    }
    return n == 0;
}

/* Send a request and, when it has one or REPLY_ACK is on, read the reply. */
static int call(struct vhu_front *f, struct vhu_msg *m, const int *fds, unsigned n_fds,
                bool has_reply, struct vhu_msg *reply)
{
    bool ack = !has_reply && (f->protocol & VIRTIO_BIT(VHU_PROTOCOL_F_REPLY_ACK));
    m->flags = VHU_VERSION | (ack ? VHU_FLAG_NEED_REPLY : 0);
    int rc = vhu_front_send(f, m, fds, n_fds);
    if (rc < 0)
        return rc;
    if (!has_reply && !ack)
        return 0;
    struct vhu_msg local;
    struct vhu_msg *r = reply ? reply : &local;
    rc = vhu_front_recv(f, r);
    if (rc < 0)
        return rc;
    if (r->request != m->request) {
        vhu_msg_close_fds(r);
        return -EPROTO;
    }
    if (ack) {
        if (r->size != 8)
            return -EPROTO;
        return r->p.u64 == 0 ? 0 : -EIO;
    }
    if (r == &local)
        vhu_msg_close_fds(r);
    return 0;
}

static int get_u64(struct vhu_front *f, uint32_t request, uint64_t *out)
{
    struct vhu_msg m = {.request = request};
    struct vhu_msg r;
    int rc = call(f, &m, NULL, 0, true, &r);
    if (rc < 0)
        return rc;
    if (r.size != 8)
        return -EPROTO;
    *out = r.p.u64;
    return 0;
}

static int set_u64(struct vhu_front *f, uint32_t request, uint64_t v, const int *fds,
                   unsigned n_fds)
{
    struct vhu_msg m = {.request = request, .size = 8};
    m.p.u64 = v;
    return call(f, &m, fds, n_fds, false, NULL);
}

static int set_state(struct vhu_front *f, uint32_t request, uint32_t index, uint32_t num)
{
    struct vhu_msg m = {.request = request, .size = sizeof(struct vhu_vring_state)};
    m.p.state = (struct vhu_vring_state){index, num};
    return call(f, &m, NULL, 0, false, NULL);
}

void *vhu_front_alloc(struct vhu_front *f, size_t size, size_t align)
{
    size_t at = kk_align_up(f->mem_used, align ? align : 8);
    if (at > f->mem_size || size > f->mem_size - at)
        return NULL;
    f->mem_used = at + size;
    return f->mem + at;
}

uint64_t vhu_front_gpa(const struct vhu_front *f, const void *p)
{
    return (uint64_t)((const uint8_t *)p - f->mem);
}

int vhu_front_mem_fd(const struct vhu_front *f) { return f->mem_fd; }
size_t vhu_front_mem_size(const struct vhu_front *f) { return f->mem_size; }
void *vhu_front_mem_base(const struct vhu_front *f) { return f->mem; }
uint64_t vhu_front_features(const struct vhu_front *f) { return f->features; }
uint16_t vhu_front_num_queues(const struct vhu_front *f) { return f->n_queues; }

int vhu_front_recv_backend_req(struct vhu_front *f, struct vhu_msg *req, int timeout_ms)
{
    if (f->backend_fd < 0)
        return -ENOTSUP;
    int rc = wait_readable(f->backend_fd, timeout_ms);
    if (rc < 0)
        return rc;
    char why[128];
    rc = vhu_msg_recv(f->backend_fd, req, why, sizeof(why));
    if (rc == 0 && (req->flags & VHU_FLAG_NEED_REPLY) &&
        (f->protocol & VIRTIO_BIT(VHU_PROTOCOL_F_REPLY_ACK))) {
        struct vhu_msg ack = {.request = req->request, .flags = VHU_VERSION | VHU_FLAG_REPLY,
                              .size = 8};
        ack.p.u64 = 0;
        vhu_msg_send(f->backend_fd, &ack, NULL, 0);
    }
    return rc;
}
uint64_t vhu_front_protocol_features(const struct vhu_front *f) { return f->protocol; }

struct vqd *vhu_front_queue(struct vhu_front *f, uint16_t index)
{
    return index < f->n_queues ? &f->queues[index].vqd : NULL;
}

int vhu_front_call_fd(const struct vhu_front *f, uint16_t index)
{
    return index < f->n_queues ? f->queues[index].call_fd : -1;
}

void vhu_front_kick(struct vhu_front *f, uint16_t index)
{
    struct fq *q = &f->queues[index];
    if (vqd_publish(&q->vqd)) {
        uint64_t one = 1;
        ssize_t n = write(q->kick_fd, &one, sizeof(one));
        (void)n;
    }
}

int vhu_front_get_vring_base(struct vhu_front *f, uint16_t index, uint32_t *base)
{
    struct vhu_msg m = {.request = VHU_GET_VRING_BASE, .size = sizeof(struct vhu_vring_state)};
    m.p.state = (struct vhu_vring_state){index, 0};
    struct vhu_msg r;
    int rc = call(f, &m, NULL, 0, true, &r);
    if (rc < 0)
        return rc;
    if (r.size != sizeof(struct vhu_vring_state) || r.p.state.index != index)
        return -EPROTO;
    *base = r.p.state.num;
    return 0;
}

static int open_socket(struct vhu_front *f)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(f->opts.path) >= sizeof(addr.sun_path))
        return -EINVAL;
    strcpy(addr.sun_path, f->opts.path);
    f->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->sock < 0)
        return kk_neg_errno();
    if (connect(f->sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return kk_neg_errno();
    return 0;
}

static int alloc_front(const struct vhu_front_opts *o, struct vhu_front **out)
{
    if (!o || !o->path || !out || o->num_queues > VHU_MAX_QUEUES)
        return -EINVAL;
    struct vhu_front *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->opts = *o;
    if (!f->opts.queue_size)
        f->opts.queue_size = 256;
    if (!f->opts.mem_size)
        f->opts.mem_size = 64u << 20;
    if (!f->opts.timeout_ms)
        f->opts.timeout_ms = 5000;
    f->sock = f->mem_fd = f->inflight_fd = f->backend_fd = -1;
    /* Until negotiation says otherwise: what was asked for (or one). */
    f->n_queues = o->num_queues ? o->num_queues : 1;
    unsigned slots = o->num_queues ? o->num_queues : VHU_MAX_QUEUES;
    f->queues = calloc(slots, sizeof(*f->queues));
    if (!f->queues) {
        free(f);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < slots; i++)
        f->queues[i].kick_fd = f->queues[i].call_fd = -1;
    f->mem_size = kk_align_up(f->opts.mem_size, f->opts.hugepages ? 2u << 20 : 4096);
    f->mem_fd = memfd_create("kvmkit-frontend",
                             MFD_CLOEXEC | (f->opts.hugepages ? MFD_HUGETLB | MFD_HUGE_2MB : 0));
    int rc = f->mem_fd < 0 ? kk_neg_errno() : 0;
    if (rc == 0 && ftruncate(f->mem_fd, (off_t)f->mem_size) < 0)
        rc = kk_neg_errno();
    if (rc == 0) {
        f->mem = mmap(NULL, f->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->mem_fd, 0);
        if (f->mem == MAP_FAILED) {
            f->mem = NULL;
            rc = -ENOMEM;
        }
    }
    if (rc == 0)
        rc = open_socket(f);
    if (rc < 0) {
        vhu_front_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

int vhu_front_connect_raw(const struct vhu_front_opts *o, struct vhu_front **out)
{
    return alloc_front(o, out);
}

/* Tell the backend where queue @i is; @log adds used-ring logging. */
static int program_queue(struct vhu_front *f, uint16_t i, uint32_t base, bool log)
{
    struct fq *q = &f->queues[i];
    int rc;
    if ((rc = set_state(f, VHU_SET_VRING_NUM, i, f->opts.queue_size)) < 0 ||
        (rc = set_state(f, VHU_SET_VRING_BASE, i, base)) < 0)
        return rc;
    struct vhu_msg m = {.request = VHU_SET_VRING_ADDR, .size = sizeof(struct vhu_vring_addr)};
    /* Ring addresses are frontend virtual addresses in vhost-user. */
    m.p.addr = (struct vhu_vring_addr){.index = i,
                                       .flags = log ? VHU_VRING_F_LOG : 0,
                                       .desc = (uint64_t)(uintptr_t)q->vqd.desc_hva,
                                       .avail = (uint64_t)(uintptr_t)q->vqd.driver_hva,
                                       .used = (uint64_t)(uintptr_t)q->vqd.device_hva,
                                       .log = q->vqd.device_gpa};
    if ((rc = call(f, &m, NULL, 0, false, NULL)) < 0)
        return rc;
    if ((rc = set_u64(f, VHU_SET_VRING_CALL, i, &q->call_fd, 1)) < 0 ||
        (rc = set_u64(f, VHU_SET_VRING_KICK, i, &q->kick_fd, 1)) < 0)
        return rc;
    if (f->features & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES))
        rc = set_state(f, VHU_SET_VRING_ENABLE, i, 1);
    return rc;
}

static int setup_queue(struct vhu_front *f, uint16_t i)
{
    struct fq *q = &f->queues[i];
    bool packed = f->features & VIRTIO_BIT(VIRTIO_F_RING_PACKED);
    size_t bytes = vqd_ring_bytes(f->opts.queue_size, packed);
    q->ring = vhu_front_alloc(f, bytes, 4096);
    if (!q->ring)
        return -ENOMEM;
    int rc = vqd_init(&q->vqd, q->ring, vhu_front_gpa(f, q->ring), f->opts.queue_size, packed,
                      f->features);
    if (rc < 0)
        return rc;
    q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    q->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (q->kick_fd < 0 || q->call_fd < 0)
        return kk_neg_errno();
    return program_queue(f, i, vqd_initial_base(&q->vqd), false);
}

/* Features, protocol features, owner, memory table: everything before the
 * queues. */
static int negotiate(struct vhu_front *f)
{
    const struct vhu_front_opts *o = &f->opts;
    uint64_t offered = 0;
    int rc = get_u64(f, VHU_GET_FEATURES, &offered);
    uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
                    o->device_features;
    if (o->packed)
        want |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
    if (o->event_idx)
        want |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
    if (o->indirect)
        want |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
    uint64_t ring_bits = want & (VIRTIO_BIT(VIRTIO_F_RING_PACKED) |
                                 VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) |
                                 VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
    if (rc == 0 && (offered & ring_bits) != ring_bits)
        rc = -ENOTSUP;
    f->features = offered & want;
    f->protocol = 0;
    if (rc == 0 && (offered & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES))) {
        uint64_t proto = 0;
        rc = get_u64(f, VHU_GET_PROTOCOL_FEATURES, &proto);
        uint64_t wanted_proto = VIRTIO_BIT(VHU_PROTOCOL_F_MQ) |
                                VIRTIO_BIT(VHU_PROTOCOL_F_REPLY_ACK) |
                                VIRTIO_BIT(VHU_PROTOCOL_F_CONFIG) | o->protocol_features;
        if (o->inflight)
            wanted_proto |= VIRTIO_BIT(VHU_PROTOCOL_F_INFLIGHT_SHMFD);
        if (o->backend_req)
            wanted_proto |= VIRTIO_BIT(VHU_PROTOCOL_F_BACKEND_REQ);
        if (rc == 0)
            rc = set_u64(f, VHU_SET_PROTOCOL_FEATURES, proto & wanted_proto, NULL, 0);
        if (rc == 0)
            f->protocol = proto & wanted_proto;
    }
    if (rc == 0) {
        struct vhu_msg m = {.request = VHU_SET_OWNER, .size = 0};
        rc = call(f, &m, NULL, 0, false, NULL);
    }
    if (rc == 0 && (f->protocol & VIRTIO_BIT(VHU_PROTOCOL_F_MQ))) {
        uint64_t nq = 0;
        rc = get_u64(f, VHU_GET_QUEUE_NUM, &nq);
        KK_LOGD(front_log, "%s: backend has %llu queues (pairs for net)", o->path,
                (unsigned long long)nq);
        /* A count of 0 in the options means the backend's (on reconnection
         * the one chosen the first time stays). */
        if (rc == 0 && o->num_queues == 0 && !f->queues[0].ring)
            f->n_queues = (uint16_t)(nq == 0 ? 1 : nq > VHU_MAX_QUEUES ? VHU_MAX_QUEUES : nq);
    }
    if (rc == 0 && (f->protocol & VIRTIO_BIT(VHU_PROTOCOL_F_BACKEND_REQ))) {
        /* The backend's requests come back to us on a socket pair. */
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
            rc = kk_neg_errno();
        } else {
            struct vhu_msg m = {.request = VHU_SET_BACKEND_REQ_FD, .size = 0};
            rc = call(f, &m, &sv[1], 1, false, NULL);
            close(sv[1]);
            if (f->backend_fd >= 0)
                close(f->backend_fd);
            f->backend_fd = sv[0];
        }
    }
    if (rc == 0)
        rc = set_u64(f, VHU_SET_FEATURES, f->features, NULL, 0);
    if (rc == 0) {
        struct vhu_msg m = {.request = VHU_SET_MEM_TABLE,
                            .size = 8 + sizeof(struct vhu_mem_region)};
        m.p.mem.nregions = 1;
        m.p.mem.regions[0] = (struct vhu_mem_region){.gpa = 0, .size = f->mem_size,
                                                     .uva = (uint64_t)(uintptr_t)f->mem,
                                                     .mmap_offset = 0};
        rc = call(f, &m, &f->mem_fd, 1, false, NULL);
    }
    if (rc == 0 && o->inflight) {
        if (!(f->protocol & VIRTIO_BIT(VHU_PROTOCOL_F_INFLIGHT_SHMFD)))
            return -ENOTSUP;
        if (f->inflight_fd >= 0) {
            /* Reconnection: hand the area back. */
            struct vhu_msg m = {.request = VHU_SET_INFLIGHT_FD, .size = sizeof(f->inflight)};
            m.p.inflight = f->inflight;
            rc = call(f, &m, &f->inflight_fd, 1, false, NULL);
        } else {
            struct vhu_msg m = {.request = VHU_GET_INFLIGHT_FD, .size = sizeof(f->inflight)};
            m.p.inflight = (struct vhu_inflight){.num_queues = f->n_queues,
                                                 .queue_size = f->opts.queue_size};
            struct vhu_msg r;
            rc = call(f, &m, NULL, 0, true, &r);
            if (rc == 0 && (r.size != sizeof(f->inflight) || r.n_fds != 1))
                rc = -EPROTO;
            if (rc == 0) {
                f->inflight = r.p.inflight;
                f->inflight_fd = r.fds[0];
            } else {
                vhu_msg_close_fds(&r);
            }
        }
    }
    return rc;
}

int vhu_front_get_config(struct vhu_front *f, uint32_t offset, void *buf, uint32_t len)
{
    if (!(f->protocol & VIRTIO_BIT(VHU_PROTOCOL_F_CONFIG)))
        return -ENOTSUP;
    if (len > VHU_CONFIG_MAX || offset > VHU_CONFIG_MAX - len)
        return -EINVAL;
    struct vhu_msg m = {.request = VHU_GET_CONFIG, .size = 12 + len};
    m.p.config = (struct vhu_config){.offset = offset, .size = len};
    struct vhu_msg r;
    int rc = call(f, &m, NULL, 0, true, &r);
    if (rc < 0)
        return rc;
    if (r.size == 0)
        return -EIO;
    if (r.size != 12 + len)
        return -EPROTO;
    memcpy(buf, r.p.config.data, len);
    return 0;
}

int vhu_front_reconnect(struct vhu_front *f)
{
    if (f->sock >= 0)
        close(f->sock);
    f->sock = -1;
    int rc = -ECONNREFUSED;
    for (int t = 0; t * 20 < f->opts.timeout_ms && rc < 0; t++) {
        rc = open_socket(f);
        if (rc < 0) {
            if (f->sock >= 0)
                close(f->sock);
            f->sock = -1;
            usleep(20000);
        }
    }
    if (rc == 0)
        rc = negotiate(f);
    for (uint16_t i = 0; rc == 0 && i < f->n_queues; i++) {
        /* A split ring resumes where the used ring says (with an inflight
         * area the backend adds what it had popped). A packed ring has no
         * such index in memory: a backend with an inflight area takes the
         * positions from it, one without starts the ring afresh. */
        struct vqd *q = &f->queues[i].vqd;
        uint32_t base = q->packed ? vqd_initial_base(q) : q->last_used_idx;
        rc = program_queue(f, i, base, false);
    }
    return rc;
}

int vhu_front_start_logging(struct vhu_front *f, int log_fd, uint64_t size)
{
    struct vhu_msg m = {.request = VHU_SET_LOG_BASE, .size = sizeof(struct vhu_log)};
    m.p.log = (struct vhu_log){.size = size, .offset = 0};
    struct vhu_msg r;
    int rc = call(f, &m, &log_fd, 1, true, &r);
    if (rc < 0)
        return rc;
    rc = set_u64(f, VHU_SET_FEATURES, f->features | VIRTIO_BIT(VHOST_F_LOG_ALL), NULL, 0);
    if (rc < 0)
        return rc;
    f->features |= VIRTIO_BIT(VHOST_F_LOG_ALL);
    for (uint16_t i = 0; rc == 0 && i < f->n_queues; i++) {
        struct vhu_msg a = {.request = VHU_SET_VRING_ADDR, .size = sizeof(struct vhu_vring_addr)};
        struct fq *q = &f->queues[i];
        a.p.addr = (struct vhu_vring_addr){.index = i, .flags = VHU_VRING_F_LOG,
                                           .desc = (uint64_t)(uintptr_t)q->vqd.desc_hva,
                                           .avail = (uint64_t)(uintptr_t)q->vqd.driver_hva,
                                           .used = (uint64_t)(uintptr_t)q->vqd.device_hva,
                                           .log = q->vqd.device_gpa};
        rc = call(f, &a, NULL, 0, false, NULL);
    }
    return rc;
}

int vhu_front_connect(const struct vhu_front_opts *o, struct vhu_front **out)
{
    struct vhu_front *f;
    int rc = alloc_front(o, &f);
    if (rc < 0)
        return rc;
    rc = negotiate(f);
    for (uint16_t i = 0; rc == 0 && i < f->n_queues; i++)
        rc = setup_queue(f, i);
    if (rc < 0) {
        KK_LOGW(front_log, "%s: setup failed: %s", o->path, kk_strerror(rc));
        vhu_front_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

void vhu_front_close(struct vhu_front *f)
{
    if (!f)
        return;
    if (f->sock >= 0)
        close(f->sock);
    if (f->backend_fd >= 0)
        close(f->backend_fd);
    for (uint16_t i = 0; i < f->n_queues; i++) {
        struct fq *q = &f->queues[i];
        if (q->ring)
            vqd_fini(&q->vqd);
        if (q->kick_fd >= 0)
            close(q->kick_fd);
        if (q->call_fd >= 0)
            close(q->call_fd);
    }
    free(f->queues);
    if (f->mem)
        munmap(f->mem, f->mem_size);
    if (f->mem_fd >= 0)
        close(f->mem_fd);
    if (f->inflight_fd >= 0)
        close(f->inflight_fd);
    free(f);
}
