/* SPDX-License-Identifier: Apache-2.0 */
/* vhost-user backend: connection, message handling, queue life cycle. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_err.h"
#include "kk_log.h"
#include "vhu.h"
#include "vhu_internal.h"

KK_LOG_COMPONENT(vhu_log, "vhost-user");

#define LOG_PAGE 4096u

struct vhu_dev {
    struct kk_reactor *reactor;
    struct vhu_dev_opts opts;
    char name[128];
    char path[108];

    int listen_fd;
    struct kk_fd_watch *listen_watch;
    int conn_fd;
    struct kk_fd_watch *conn_watch;
    int backend_req_fd;            /* SET_BACKEND_REQ_FD channel, or -1 */
    struct kk_timer *reconnect_timer;
    struct kk_timer *fail_timer;   /* deferred disconnect after a fault */
    char fail_reason[160];
    bool failing;                  /* given up on this connection: ignore it */

    uint64_t offered_features;
    uint64_t offered_protocol;
    uint64_t features;             /* negotiated */
    uint64_t protocol;             /* negotiated */
    bool features_set;
    uint8_t status;

    struct vq_mem *mem;

    void *inflight_base;           /* inflight area mapping */
    size_t inflight_size;
    size_t inflight_offset;        /* where the regions start in it */
    int inflight_fd;
    uint16_t inflight_queues, inflight_queue_size;

    uint8_t *log_base;             /* dirty log mapping */
    size_t log_map_size;
    uint64_t log_size;             /* bytes of bitmap */
    uint64_t log_offset;
    int log_call_fd;

    struct vhu_dev_stats stats;
    struct vhu_queue queues[];
};

/* Library-provided virtio features (the device adds its own). */
#define LIB_FEATURES                                                                       \
    (VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) |       \
     VIRTIO_BIT(VIRTIO_F_RING_PACKED) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |       \
     VIRTIO_BIT(VHOST_F_LOG_ALL))

#define LIB_PROTOCOL                                                                       \
    (VIRTIO_BIT(VHU_PROTOCOL_F_MQ) | VIRTIO_BIT(VHU_PROTOCOL_F_REPLY_ACK) |                \
     VIRTIO_BIT(VHU_PROTOCOL_F_LOG_SHMFD) | VIRTIO_BIT(VHU_PROTOCOL_F_INFLIGHT_SHMFD) |    \
     VIRTIO_BIT(VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | VIRTIO_BIT(VHU_PROTOCOL_F_STATUS) |  \
     VIRTIO_BIT(VHU_PROTOCOL_F_RESET_DEVICE))

static void conn_close(struct vhu_dev *d, const char *why);
static int start_listening(struct vhu_dev *d);
static void try_connect(void *arg);

const char *vhu_dev_name(const struct vhu_dev *d) { return d->name; }
bool vhu_dev_connected(const struct vhu_dev *d) { return d->conn_fd >= 0; }
uint64_t vhu_dev_features(const struct vhu_dev *d) { return d->features; }
struct kk_reactor *vhu_dev_reactor(const struct vhu_dev *d) { return d->reactor; }
const struct vq_mem *vhu_dev_mem(const struct vhu_dev *d) { return d->mem; }

struct vhu_queue *vhu_dev_queue(struct vhu_dev *d, uint16_t index)
{
    return index < d->opts.num_queues ? &d->queues[index] : NULL;
}

void vhu_dev_get_stats(const struct vhu_dev *d, struct vhu_dev_stats *out)
{
    *out = d->stats;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static bool any_started(const struct vhu_dev *d)
{
    for (uint16_t i = 0; i < d->opts.num_queues; i++) {
        if (d->queues[i].started)
            return true;
    }
    return false;
}

static bool has_protocol(const struct vhu_dev *d, unsigned bit)
{
    return d->protocol & VIRTIO_BIT(bit);
}

/* ---- dirty log ----------------------------------------------------------- */

static void log_pages(struct vhu_dev *d, uint64_t gpa, uint64_t len)
{
    if (!d->log_base || !(d->features & VIRTIO_BIT(VHOST_F_LOG_ALL)) || len == 0)
        return;
    uint64_t first = gpa / LOG_PAGE, last = (gpa + len - 1) / LOG_PAGE;
    for (uint64_t page = first; page <= last; page++) {
        if (page / 8 >= d->log_size)
            break; /* outside the log the frontend gave us */
        __atomic_fetch_or(&d->log_base[d->log_offset + page / 8], (uint8_t)(1u << (page % 8)),
                          __ATOMIC_RELAXED);
    }
}

void vhu_queue_log_write(struct vhu_queue *q, const struct iovec *iov, unsigned n_iov,
                         uint32_t len)
{
    struct vhu_dev *d = q->dev;
    if (!d->log_base || !(d->features & VIRTIO_BIT(VHOST_F_LOG_ALL)))
        return;
    for (unsigned i = 0; i < n_iov && len > 0; i++) {
        uint64_t gpa;
        uint32_t chunk = (uint32_t)KK_MIN((uint64_t)len, iov[i].iov_len);
        if (vq_mem_hva_to_gpa(d->mem, iov[i].iov_base, &gpa))
            log_pages(d, gpa, chunk);
        len -= chunk;
    }
}

static void log_used_ring(struct vhu_queue *q)
{
    if (!(q->addr.flags & VHU_VRING_F_LOG))
        return;
    uint64_t size = q->vq.l.packed ? virtq_packed_desc_size(q->num) : virtq_used_size(q->num) + 2;
    log_pages(q->dev, q->addr.log, size);
}

/* ---- inflight ------------------------------------------------------------ */

static void inflight_unmap(struct vhu_dev *d)
{
    if (d->inflight_base)
        munmap(d->inflight_base, d->inflight_size);
    d->inflight_base = NULL;
    d->inflight_size = 0;
    d->inflight_offset = 0;
    close_fd(&d->inflight_fd);
}

/* This queue's region in the inflight area, if the area has room for it in
 * the ring layout the queue uses (the layouts differ in size). */
static void *inflight_region(struct vhu_dev *d, struct vhu_queue *q)
{
    if (!d->inflight_base || q->index >= d->inflight_queues)
        return NULL;
    bool packed = q->vq.l.packed;
    size_t stride = vhu__inflight_region_size(packed, d->inflight_queue_size);
    if (q->num > d->inflight_queue_size ||
        d->inflight_offset + (size_t)d->inflight_queues * stride > d->inflight_size) {
        /* Tracking would run past the area: go without (a restart then
         * loses in-flight requests). */
        KK_LOGW(vhu_log, "%s: queue %u: %s ring of %u entries does not fit the inflight area "
                         "(%u queues of %u entries in %zu bytes); not tracking",
                d->name, q->index, packed ? "packed" : "split", q->num, d->inflight_queues,
                d->inflight_queue_size, d->inflight_size - d->inflight_offset);
        return NULL;
    }
    return (uint8_t *)d->inflight_base + d->inflight_offset + q->index * stride;
}

int vhu_queue_pop(struct vhu_queue *q, struct vq_chain *chains, unsigned max_chains,
                  struct iovec *iov, unsigned max_iov)
{
    uint16_t first_pos = q->vq.next_avail;
    int n = vq_pop(&q->vq, chains, max_chains, iov, max_iov);
    if (n > 0 && q->inflight_track)
        vhu__inflight_popped(q, chains, (unsigned)n, first_pos);
    if (n == -EIO)
        q->dev->stats.queue_faults++;
    return n;
}

void vhu_queue_push(struct vhu_queue *q, const struct vq_used *used, unsigned n)
{
    if (q->inflight_track)
        vhu__inflight_push_begin(q, used, n);
    vq_push(&q->vq, used, n);
    if (q->inflight_track)
        vhu__inflight_push_end(q, used, n);
    log_used_ring(q);
}

void vhu_queue_notify(struct vhu_queue *q)
{
    vq_notify(&q->vq);
}

/* ---- queues -------------------------------------------------------------- */

static void queue_stop(struct vhu_queue *q)
{
    struct vhu_dev *d = q->dev;
    if (q->started) {
        q->started = false;
        if (d->opts.ops->queue_stop)
            d->opts.ops->queue_stop(d->opts.ctx, q);
        q->base = vq_get_base(&q->vq);
        vhu__inflight_stop(q);
        vq_fini(&q->vq);
    }
}

static void queue_reset(struct vhu_queue *q)
{
    queue_stop(q);
    close_fd(&q->kick_fd);
    close_fd(&q->call_fd);
    close_fd(&q->err_fd);
    q->kick_polling = false;
    q->addr_set = false;
    q->num = 0;
    q->base = 0;
    q->enabled = false;
    memset(&q->addr, 0, sizeof(q->addr));
}

/* Translate the ring addresses against the current memory table. */
static int queue_layout(struct vhu_queue *q, struct vq_layout *l)
{
    struct vhu_dev *d = q->dev;
    bool packed = d->features & VIRTIO_BIT(VIRTIO_F_RING_PACKED);
    if (!d->mem)
        return -EINVAL;
    uint64_t desc_size = packed ? virtq_packed_desc_size(q->num) : virtq_desc_size(q->num);
    uint64_t avail_size = packed ? VIRTQ_PACKED_EVENT_SIZE : virtq_avail_size(q->num) + 2;
    uint64_t used_size = packed ? VIRTQ_PACKED_EVENT_SIZE : virtq_used_size(q->num) + 2;
    l->num = q->num;
    l->packed = packed;
    l->desc = vq_mem_uva_to_hva(d->mem, q->addr.desc, desc_size);
    l->avail = vq_mem_uva_to_hva(d->mem, q->addr.avail, avail_size);
    l->used = vq_mem_uva_to_hva(d->mem, q->addr.used, used_size);
    if (!l->desc || !l->avail || !l->used) {
        KK_LOGW(vhu_log, "%s: queue %u: rings at 0x%llx/0x%llx/0x%llx (size %u) are not all in "
                         "shared memory",
                d->name, q->index, (unsigned long long)q->addr.desc,
                (unsigned long long)q->addr.avail, (unsigned long long)q->addr.used, q->num);
        return -EFAULT;
    }
    return 0;
}

/* Start the queue if everything it needs is there. */
static int queue_try_start(struct vhu_queue *q)
{
    struct vhu_dev *d = q->dev;
    if (d->failing)
        return 0;
    if (q->started || !q->enabled || !q->addr_set || q->num == 0 || !d->mem ||
        (q->kick_fd < 0 && !q->kick_polling))
        return 0;
    struct vq_layout l;
    int rc = queue_layout(q, &l);
    if (rc == 0)
        rc = vq_init(&q->vq, &l, d->mem, d->features, q->base);
    if (rc < 0) {
        KK_LOGW(vhu_log, "%s: queue %u cannot start: %s", d->name, q->index, kk_strerror(rc));
        return rc;
    }
    q->vq.call_fd = q->call_fd;
    q->inflight = inflight_region(d, q);
    if (vhu__inflight_start(q, d->name) < 0)
        KK_LOGW(vhu_log, "%s: queue %u: no memory for inflight tracking", d->name, q->index);
    q->started = true;
    KK_LOGD(vhu_log, "%s: queue %u started (%s, %u entries)", d->name, q->index,
            l.packed ? "packed" : "split", q->num);
    if (d->opts.ops->queue_start)
        d->opts.ops->queue_start(d->opts.ctx, q);
    return 0;
}

/*
 * Every change to a running queue's rings, memory or call descriptor goes
 * through the device's queue_stop and queue_start: the device may serve the
 * queue from another thread (lib/blk's vhost-user-blk target, lib/pkt's
 * vhost port), so nothing here touches a started queue's state.
 */
static void queues_pause(struct vhu_dev *d, bool *was_started)
{
    for (uint16_t i = 0; i < d->opts.num_queues; i++) {
        was_started[i] = d->queues[i].started;
        queue_stop(&d->queues[i]);
    }
}

static int queues_resume(struct vhu_dev *d, const bool *was_started, char *why, size_t len)
{
    for (uint16_t i = 0; i < d->opts.num_queues; i++) {
        int rc;
        if (was_started[i] && (rc = queue_try_start(&d->queues[i])) < 0) {
            snprintf(why, len, "queue %u: rings are not in shared memory any more", i);
            return rc;
        }
    }
    return 0;
}

/* ---- message handlers ---------------------------------------------------- */

struct reply {
    bool has_reply;   /* the request has a reply of its own */
    struct vhu_msg msg;
    int fd;           /* descriptor to send with it, or -1 */
};

static void reply_u64(struct reply *r, uint64_t v)
{
    r->has_reply = true;
    r->msg.size = 8;
    r->msg.p.u64 = v;
}

static struct vhu_queue *queue_of(struct vhu_dev *d, uint32_t index, char *why, size_t len)
{
    if (index >= d->opts.num_queues) {
        snprintf(why, len, "vring index %u, the device has %u queues", index,
                 d->opts.num_queues);
        return NULL;
    }
    return &d->queues[index];
}

static int set_mem_table(struct vhu_dev *d, struct vhu_msg *m, char *why, size_t len)
{
    struct vq_mem *mem;
    uint32_t max = has_protocol(d, VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS) ? VQ_MEM_MAX_REGIONS
                                                                       : VHU_MEM_TABLE_MAX;
    int rc = vq_mem_create(max, &mem);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < m->p.mem.nregions; i++) {
        const struct vhu_mem_region *r = &m->p.mem.regions[i];
        struct vq_mem_region_desc desc = {r->gpa, r->size, r->uva, r->mmap_offset};
        rc = vq_mem_add_region(mem, &desc, vhu_msg_take_fd(m, i));
        if (rc < 0) {
            snprintf(why, len, "memory region %u (gpa 0x%llx, size 0x%llx): %s", i,
                     (unsigned long long)r->gpa, (unsigned long long)r->size, kk_strerror(rc));
            vq_mem_destroy(mem);
            return rc;
        }
    }
    /* Buffers in flight may point into the old mappings: stop the queues
     * (their devices finish with them), swap, then start them again. */
    bool was_started[VHU_MAX_QUEUES] = {false};
    queues_pause(d, was_started);
    struct vq_mem *old = d->mem;
    d->mem = mem;
    vq_mem_destroy(old);
    if ((rc = queues_resume(d, was_started, why, len)) < 0)
        return rc;
    KK_LOGI(vhu_log, "%s: memory table with %u regions", d->name, m->p.mem.nregions);
    return 0;
}

static int add_mem_reg(struct vhu_dev *d, struct vhu_msg *m, char *why, size_t len)
{
    int rc;
    if (!d->mem) {
        rc = vq_mem_create(VQ_MEM_MAX_REGIONS, &d->mem);
        if (rc < 0)
            return rc;
    }
    const struct vhu_mem_region *r = &m->p.mem_reg.region;
    struct vq_mem_region_desc desc = {r->gpa, r->size, r->uva, r->mmap_offset};
    /* With multiqueue, QEMU's per-queue-pair vhost devices share this
     * connection and each adds the same regions: count, do not refuse. */
    struct vq_mem_region *same = vq_mem_find_region(d->mem, &desc);
    if (same && same->desc.mmap_offset == desc.mmap_offset) {
        same->refs++;
        return 0;
    }
    /* The table is edited in place: no queue may be walking it meanwhile. */
    bool was_started[VHU_MAX_QUEUES] = {false};
    queues_pause(d, was_started);
    rc = vq_mem_add_region(d->mem, &desc, vhu_msg_take_fd(m, 0));
    if (rc < 0) {
        snprintf(why, len, "ADD_MEM_REG gpa 0x%llx size 0x%llx: %s", (unsigned long long)r->gpa,
                 (unsigned long long)r->size, kk_strerror(rc));
        return rc;
    }
    return queues_resume(d, was_started, why, len);
}

static int rem_mem_reg(struct vhu_dev *d, struct vhu_msg *m, char *why, size_t len)
{
    vhu_msg_close_fds(m); /* tolerated, never used */
    const struct vhu_mem_region *r = &m->p.mem_reg.region;
    struct vq_mem_region_desc desc = {r->gpa, r->size, r->uva, r->mmap_offset};
    /* A running ring in that region would be left dangling: refuse. */
    for (uint16_t i = 0; i < d->opts.num_queues; i++) {
        struct vhu_queue *q = &d->queues[i];
        if (q->started && (q->addr.desc - r->uva < r->size || q->addr.used - r->uva < r->size ||
                           q->addr.avail - r->uva < r->size)) {
            snprintf(why, len, "REM_MEM_REG would unmap the rings of queue %u", i);
            return -EBUSY;
        }
    }
    struct vq_mem_region *same = d->mem ? vq_mem_find_region(d->mem, &desc) : NULL;
    if (same && same->refs > 1) {
        same->refs--;
        return 0;
    }
    if (!same) {
        snprintf(why, len, "REM_MEM_REG: no region gpa 0x%llx size 0x%llx",
                 (unsigned long long)r->gpa, (unsigned long long)r->size);
        return -ENOENT;
    }
    /* As for SET_MEM_TABLE: buffers in flight may be in that region. */
    bool was_started[VHU_MAX_QUEUES] = {false};
    queues_pause(d, was_started);
    int rc = vq_mem_remove_region(d->mem, &desc);
    if (rc == 0)
        rc = queues_resume(d, was_started, why, len);
    return rc;
}

static int set_log_base(struct vhu_dev *d, struct vhu_msg *m, struct reply *rep, char *why,
                        size_t len)
{
    int fd = vhu_msg_take_fd(m, 0);
    uint64_t size = m->p.log.size, offset = m->p.log.offset, end;
    struct stat st;
    if (__builtin_add_overflow(size, offset, &end) || size == 0 || end > (1ull << 40) ||
        fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < end) {
        close(fd);
        snprintf(why, len, "SET_LOG_BASE: log of %llu bytes at offset %llu does not fit its file",
                 (unsigned long long)size, (unsigned long long)offset);
        return -EINVAL;
    }
    void *base = mmap(NULL, (size_t)end, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (base == MAP_FAILED) {
        snprintf(why, len, "SET_LOG_BASE: mmap: %s", kk_strerror(errno));
        return -EINVAL;
    }
    if (d->log_base)
        munmap(d->log_base, d->log_map_size);
    d->log_base = base;
    d->log_map_size = (size_t)end;
    d->log_size = size;
    d->log_offset = offset;
    reply_u64(rep, 0);
    return 0;
}

static int set_backend_req_fd(struct vhu_dev *d, struct vhu_msg *m, char *why, size_t len)
{
    int fd = vhu_msg_take_fd(m, 0);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        close(fd);
        snprintf(why, len, "SET_BACKEND_REQ_FD: the descriptor is not a socket");
        return -EINVAL;
    }
    /* A frontend that stops reading cannot hold the reactor. */
    struct timeval stv = {.tv_usec = 200000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &stv, sizeof(stv));
    close_fd(&d->backend_req_fd);
    d->backend_req_fd = fd;
    return 0;
}

int vhu_dev_config_changed(struct vhu_dev *d)
{
    if (d->conn_fd < 0)
        return -ENOTCONN;
    if (!has_protocol(d, VHU_PROTOCOL_F_BACKEND_REQ) || !has_protocol(d, VHU_PROTOCOL_F_CONFIG) ||
        d->backend_req_fd < 0)
        return -ENOTSUP;
    struct vhu_msg m = {.request = VHU_BACKEND_CONFIG_CHANGE_MSG, .flags = VHU_VERSION,
                        .size = 0};
    int rc = vhu_msg_send(d->backend_req_fd, &m, NULL, 0);
    if (rc < 0) {
        KK_LOGW(vhu_log, "%s: cannot send CONFIG_CHANGE_MSG: %s; backend channel closed", d->name,
                kk_strerror(rc));
        close_fd(&d->backend_req_fd);
        return rc;
    }
    KK_LOGD(vhu_log, "%s: config change announced", d->name);
    return 0;
}

static int get_inflight_fd(struct vhu_dev *d, struct vhu_msg *m, struct reply *rep, char *why,
                           size_t len)
{
    uint16_t nq = m->p.inflight.num_queues, qs = m->p.inflight.queue_size;
    if (any_started(d)) {
        snprintf(why, len, "GET_INFLIGHT_FD while queues run");
        return -EBUSY;
    }
    if (nq == 0 || nq > d->opts.num_queues || qs == 0 || qs > VIRTQ_MAX_SIZE) {
        snprintf(why, len, "GET_INFLIGHT_FD for %u queues of %u entries", nq, qs);
        return -EINVAL;
    }
    inflight_unmap(d);
    /* Features come first (QEMU sets them before asking): size the
     * regions for the ring layout the queues will use. */
    bool packed = d->features & VIRTIO_BIT(VIRTIO_F_RING_PACKED);
    size_t size = (size_t)nq * vhu__inflight_region_size(packed, qs);
    int fd = memfd_create("kvmkit-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
        int rc = kk_neg_errno();
        if (fd >= 0)
            close(fd);
        return rc;
    }
    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        close(fd);
        return -ENOMEM;
    }
    d->inflight_base = base;
    d->inflight_size = size;
    d->inflight_fd = fd;
    d->inflight_queues = nq;
    d->inflight_queue_size = qs;
    rep->has_reply = true;
    rep->msg.size = sizeof(struct vhu_inflight);
    rep->msg.p.inflight = (struct vhu_inflight){.mmap_size = size, .mmap_offset = 0,
                                                .num_queues = nq, .queue_size = qs};
    rep->fd = fd;
    return 0;
}

static int set_inflight_fd(struct vhu_dev *d, struct vhu_msg *m, char *why, size_t len)
{
    int fd = vhu_msg_take_fd(m, 0);
    const struct vhu_inflight *in = &m->p.inflight;
    if (any_started(d)) {
        close(fd);
        snprintf(why, len, "SET_INFLIGHT_FD while queues run");
        return -EBUSY;
    }
    /* At least the smaller (split) layout; whether the queues' layout fits
     * is checked when they start. */
    uint64_t need = (uint64_t)in->num_queues * vhu__inflight_region_size(false, in->queue_size);
    uint64_t end;
    struct stat st;
    if (in->num_queues == 0 || in->num_queues > d->opts.num_queues || in->queue_size == 0 ||
        in->queue_size > VIRTQ_MAX_SIZE || in->mmap_size < need ||
        __builtin_add_overflow(in->mmap_size, in->mmap_offset, &end) || end > (1ull << 34) ||
        fstat(fd, &st) < 0 || (uint64_t)st.st_size < end) {
        close(fd);
        snprintf(why, len, "SET_INFLIGHT_FD: %u queues of %u entries in %llu bytes at %llu",
                 in->num_queues, in->queue_size, (unsigned long long)in->mmap_size,
                 (unsigned long long)in->mmap_offset);
        return -EINVAL;
    }
    void *base = mmap(NULL, (size_t)end, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        close(fd);
        return -ENOMEM;
    }
    inflight_unmap(d);
    d->inflight_base = base;
    d->inflight_size = (size_t)end;
    d->inflight_fd = fd;
    d->inflight_queues = in->num_queues;
    d->inflight_queue_size = in->queue_size;
    d->inflight_offset = (size_t)in->mmap_offset;
    return 0;
}

static void reset_device(struct vhu_dev *d)
{
    for (uint16_t i = 0; i < d->opts.num_queues; i++)
        queue_reset(&d->queues[i]);
    d->features = 0;
    d->features_set = false;
    d->status = 0;
}

/*
 * Handle one checked message. Returns 0 (reply filled if the request has
 * one) or a negative errno with @why: the connection is then closed.
 */
static int handle(struct vhu_dev *d, struct vhu_msg *m, struct reply *rep, char *why, size_t len)
{
    struct vhu_queue *q;
    int rc;

    switch (m->request) {
    case VHU_GET_FEATURES:
        reply_u64(rep, d->offered_features);
        return 0;
    case VHU_SET_FEATURES:
        if (m->p.u64 & ~d->offered_features) {
            snprintf(why, len, "SET_FEATURES 0x%llx includes unoffered bits 0x%llx",
                     (unsigned long long)m->p.u64,
                     (unsigned long long)(m->p.u64 & ~d->offered_features));
            return -EINVAL;
        }
        if (any_started(d) && ((m->p.u64 ^ d->features) & ~VIRTIO_BIT(VHOST_F_LOG_ALL))) {
            /* Only logging may be switched on a running device (migration). */
            snprintf(why, len, "SET_FEATURES changes 0x%llx while queues run",
                     (unsigned long long)((m->p.u64 ^ d->features) &
                                          ~VIRTIO_BIT(VHOST_F_LOG_ALL)));
            return -EBUSY;
        }
        if (d->opts.ops->features_set) {
            rc = d->opts.ops->features_set(d->opts.ctx, m->p.u64);
            if (rc < 0) {
                snprintf(why, len, "the device refuses features 0x%llx",
                         (unsigned long long)m->p.u64);
                return rc;
            }
        }
        d->features = m->p.u64;
        d->features_set = true;
        /* Without protocol features, rings start enabled. */
        if (!(d->features & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES))) {
            for (uint16_t i = 0; i < d->opts.num_queues; i++)
                d->queues[i].enabled = true;
        }
        KK_LOGD(vhu_log, "%s: features 0x%llx", d->name, (unsigned long long)d->features);
        return 0;
    case VHU_GET_PROTOCOL_FEATURES:
        reply_u64(rep, d->offered_protocol);
        return 0;
    case VHU_SET_PROTOCOL_FEATURES:
        if (m->p.u64 & ~d->offered_protocol) {
            snprintf(why, len, "SET_PROTOCOL_FEATURES 0x%llx includes unoffered bits",
                     (unsigned long long)m->p.u64);
            return -EINVAL;
        }
        d->protocol = m->p.u64;
        return 0;
    case VHU_SET_OWNER:
        return 0;
    case VHU_RESET_OWNER:
        for (uint16_t i = 0; i < d->opts.num_queues; i++)
            queue_stop(&d->queues[i]);
        return 0;
    case VHU_RESET_DEVICE:
        reset_device(d);
        return 0;
    case VHU_SET_MEM_TABLE:
        return set_mem_table(d, m, why, len);
    case VHU_ADD_MEM_REG:
        return add_mem_reg(d, m, why, len);
    case VHU_REM_MEM_REG:
        return rem_mem_reg(d, m, why, len);
    case VHU_GET_MAX_MEM_SLOTS:
        reply_u64(rep, VQ_MEM_MAX_REGIONS);
        return 0;
    case VHU_SET_LOG_BASE:
        return set_log_base(d, m, rep, why, len);
    case VHU_SET_LOG_FD:
        close_fd(&d->log_call_fd);
        d->log_call_fd = vhu_msg_take_fd(m, 0);
        return 0;
    case VHU_GET_QUEUE_NUM:
        reply_u64(rep, d->opts.queue_num_reply);
        return 0;
    case VHU_SET_VRING_NUM: {
        if (!(q = queue_of(d, m->p.state.index, why, len)))
            return -EINVAL;
        uint32_t num = m->p.state.num;
        bool packed = d->features & VIRTIO_BIT(VIRTIO_F_RING_PACKED);
        if (num == 0 || num > d->opts.max_queue_size || (!packed && !kk_is_power_of_2(num))) {
            snprintf(why, len, "queue %u: size %u (max %u%s)", q->index, num,
                     d->opts.max_queue_size, packed ? "" : ", power of two");
            return -EINVAL;
        }
        if (q->started) {
            snprintf(why, len, "queue %u: SET_VRING_NUM while running", q->index);
            return -EBUSY;
        }
        q->num = (uint16_t)num;
        return 0;
    }
    case VHU_SET_VRING_ADDR:
        if (!(q = queue_of(d, m->p.addr.index, why, len)))
            return -EINVAL;
    {
        bool was_started = q->started;
        queue_stop(q);
        q->addr = m->p.addr;
        q->addr_set = true;
        if (was_started && (rc = queue_try_start(q)) < 0) {
            snprintf(why, len, "queue %u: new ring addresses are not in shared memory",
                     q->index);
            return rc;
        }
        return 0;
    }
    case VHU_SET_VRING_BASE:
        if (!(q = queue_of(d, m->p.state.index, why, len)))
            return -EINVAL;
        if (q->started) {
            snprintf(why, len, "queue %u: SET_VRING_BASE while running", q->index);
            return -EBUSY;
        }
        q->base = m->p.state.num;
        /* Frontends that predate the used half of a packed ring's base send
         * only the avail half: the used position is the same then. */
        if ((d->features & VIRTIO_BIT(VIRTIO_F_RING_PACKED)) && q->base <= 0xffff)
            q->base |= q->base << 16;
        return 0;
    case VHU_GET_VRING_BASE:
        if (!(q = queue_of(d, m->p.state.index, why, len)))
            return -EINVAL;
        queue_stop(q);
        close_fd(&q->kick_fd);
        q->kick_polling = false;
        rep->has_reply = true;
        rep->msg.size = sizeof(struct vhu_vring_state);
        rep->msg.p.state = (struct vhu_vring_state){.index = q->index, .num = q->base};
        return 0;
    case VHU_SET_VRING_KICK:
    case VHU_SET_VRING_CALL:
    case VHU_SET_VRING_ERR: {
        if (!(q = queue_of(d, (uint32_t)(m->p.u64 & VHU_VRING_IDX_MASK), why, len)))
            return -EINVAL;
        bool nofd = m->p.u64 & VHU_VRING_NOFD;
        int fd = nofd ? -1 : vhu_msg_take_fd(m, 0);
        if (m->request == VHU_SET_VRING_KICK) {
            if (q->started)
                queue_stop(q);
            close_fd(&q->kick_fd);
            q->kick_fd = fd;
            q->kick_polling = nofd;
            return queue_try_start(q);
        }
        if (m->request == VHU_SET_VRING_CALL) {
            /* The device may be signalling the old descriptor right now. */
            bool was_started = q->started;
            queue_stop(q);
            close_fd(&q->call_fd);
            q->call_fd = fd;
            return was_started ? queue_try_start(q) : 0;
        }
        close_fd(&q->err_fd);
        q->err_fd = fd;
        return 0;
    }
    case VHU_SET_VRING_ENABLE:
        if (!(q = queue_of(d, m->p.state.index, why, len)))
            return -EINVAL;
        if (m->p.state.num > 1) {
            snprintf(why, len, "SET_VRING_ENABLE %u", m->p.state.num);
            return -EINVAL;
        }
        q->enabled = m->p.state.num;
        if (!q->enabled) {
            queue_stop(q);
            return 0;
        }
        return queue_try_start(q);
    case VHU_GET_CONFIG:
        rep->has_reply = true;
        rep->msg.p.config = m->p.config;
        rc = d->opts.ops->get_config
                 ? d->opts.ops->get_config(d->opts.ctx, rep->msg.p.config.data,
                                           m->p.config.offset, m->p.config.size)
                 : -ENOTSUP;
        /* The protocol's error answer: an empty payload. */
        rep->msg.size = rc < 0 ? 0 : 12 + m->p.config.size;
        return 0;
    case VHU_SET_CONFIG:
        if (!d->opts.ops->set_config) {
            snprintf(why, len, "SET_CONFIG: config space is read-only");
            return -ENOTSUP;
        }
        return d->opts.ops->set_config(d->opts.ctx, m->p.config.data, m->p.config.offset,
                                       m->p.config.size, m->p.config.flags);
    case VHU_SET_BACKEND_REQ_FD:
        return set_backend_req_fd(d, m, why, len);
    case VHU_GET_INFLIGHT_FD:
        return get_inflight_fd(d, m, rep, why, len);
    case VHU_SET_INFLIGHT_FD:
        return set_inflight_fd(d, m, why, len);
    case VHU_SET_STATUS:
        d->status = (uint8_t)m->p.u64;
        return 0;
    case VHU_GET_STATUS:
        reply_u64(rep, d->status);
        return 0;
    default:
        snprintf(why, len, "%s is not offered by this device", vhu_request_name(m->request));
        return -ENOTSUP;
    }
}

/* Requests the protocol only allows after a protocol feature was agreed. */
static bool allowed(const struct vhu_dev *d, uint32_t request)
{
    switch (request) {
    case VHU_GET_PROTOCOL_FEATURES:
    case VHU_SET_PROTOCOL_FEATURES:
        return d->offered_features & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
    case VHU_GET_CONFIG:
    case VHU_SET_CONFIG:
        return has_protocol(d, VHU_PROTOCOL_F_CONFIG);
    case VHU_SET_BACKEND_REQ_FD:
        return has_protocol(d, VHU_PROTOCOL_F_BACKEND_REQ);
    case VHU_GET_INFLIGHT_FD:
    case VHU_SET_INFLIGHT_FD:
        return has_protocol(d, VHU_PROTOCOL_F_INFLIGHT_SHMFD);
    case VHU_ADD_MEM_REG:
    case VHU_REM_MEM_REG:
    case VHU_GET_MAX_MEM_SLOTS:
        return has_protocol(d, VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
    case VHU_SET_STATUS:
    case VHU_GET_STATUS:
        return has_protocol(d, VHU_PROTOCOL_F_STATUS);
    case VHU_RESET_DEVICE:
        return has_protocol(d, VHU_PROTOCOL_F_RESET_DEVICE);
    case VHU_GET_QUEUE_NUM:
        return has_protocol(d, VHU_PROTOCOL_F_MQ);
    default:
        return true;
    }
}

/* Returns 0, or a negative errno when the frontend does not take replies. */
static int send_reply(struct vhu_dev *d, const struct vhu_msg *req, struct reply *rep)
{
    rep->msg.request = req->request;
    rep->msg.flags = VHU_VERSION | VHU_FLAG_REPLY;
    int rc = vhu_msg_send(d->conn_fd, &rep->msg, rep->fd >= 0 ? &rep->fd : NULL,
                          rep->fd >= 0 ? 1 : 0);
    if (rc < 0)
        KK_LOGW(vhu_log, "%s: cannot reply to %s: %s", d->name, vhu_request_name(req->request),
                kk_strerror(rc));
    return rc;
}

static void conn_readable(void *arg, int fd, unsigned events)
{
    struct vhu_dev *d = arg;
    if (d->failing)
        return; /* being dropped: the disconnect is one turn away */
    struct vhu_msg m;
    char why[192] = "";
    int rc = vhu_msg_recv(fd, &m, why, sizeof(why));
    if (rc == -EAGAIN || rc == -EINTR)
        return;
    if (rc == -ECONNRESET) {
        conn_close(d, "the frontend closed the connection");
        return;
    }
    if (rc < 0) {
        d->stats.bad_messages++;
        char msg[256];
        snprintf(msg, sizeof(msg), "unreadable message: %s", why[0] ? why : kk_strerror(rc));
        conn_close(d, msg);
        return;
    }
    d->stats.messages++;
    KK_LOGT(vhu_log, "%s: %s size %u fds %u", d->name, vhu_request_name(m.request), m.size,
            m.n_fds);

    struct reply rep = {.fd = -1};
    bool ack = (m.flags & VHU_FLAG_NEED_REPLY) && has_protocol(d, VHU_PROTOCOL_F_REPLY_ACK);
    rc = vhu_msg_check(&m, why, sizeof(why));
    if (rc == 0 && !allowed(d, m.request)) {
        snprintf(why, sizeof(why), "%s without the protocol feature that enables it",
                 vhu_request_name(m.request));
        rc = -EPROTO;
    }
    if (rc == 0)
        rc = handle(d, &m, &rep, why, sizeof(why));
    vhu_msg_close_fds(&m); /* whatever a handler did not take */

    int sent = 0;
    if (rep.has_reply) {
        sent = send_reply(d, &m, &rep);
    } else if (ack || (rc < 0 && (m.flags & VHU_FLAG_NEED_REPLY))) {
        reply_u64(&rep, rc < 0 ? 1 : 0);
        sent = send_reply(d, &m, &rep);
    }
    if (sent < 0 && rc == 0) {
        conn_close(d, "the frontend does not take replies");
        return;
    }
    if (rc < 0) {
        d->stats.bad_messages++;
        char msg[256];
        snprintf(msg, sizeof(msg), "%s refused: %s", vhu_request_name(m.request),
                 why[0] ? why : kk_strerror(rc));
        conn_close(d, msg);
    }
}

/* ---- connection life cycle ------------------------------------------------ */

static void conn_close(struct vhu_dev *d, const char *why)
{
    if (d->conn_fd < 0)
        return;
    KK_LOGI(vhu_log, "%s: disconnected: %s", d->name, why);
    kk_timer_disarm(d->fail_timer);
    d->failing = false;
    for (uint16_t i = 0; i < d->opts.num_queues; i++)
        queue_reset(&d->queues[i]);
    kk_fd_watch_remove(d->conn_watch);
    d->conn_watch = NULL;
    close_fd(&d->conn_fd);
    close_fd(&d->backend_req_fd);
    vq_mem_destroy(d->mem);
    d->mem = NULL;
    inflight_unmap(d);
    if (d->log_base)
        munmap(d->log_base, d->log_map_size);
    d->log_base = NULL;
    close_fd(&d->log_call_fd);
    d->features = 0;
    d->features_set = false;
    d->protocol = 0;
    d->status = 0;
    d->stats.disconnects++;
    if (d->opts.ops->disconnected)
        d->opts.ops->disconnected(d->opts.ctx);
    if (d->opts.client && d->reconnect_timer)
        kk_timer_arm(d->reconnect_timer, (uint64_t)d->opts.reconnect_ms * 1000, 0);
    else if (!d->opts.client && d->listen_watch)
        kk_fd_watch_modify(d->listen_watch, KK_FD_READ);
}

static int conn_open(struct vhu_dev *d, int fd)
{
    /* A frontend that stops halfway through a message, or stops reading
     * replies, cannot hold the reactor (and every device on it) for long. */
    struct timeval rtv = {.tv_sec = 1}, stv = {.tv_usec = 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof(rtv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &stv, sizeof(stv));
    int rc = kk_fd_watch_add(d->reactor, fd, KK_FD_READ, conn_readable, d, &d->conn_watch);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    d->conn_fd = fd;
    d->stats.connections++;
    KK_LOGI(vhu_log, "%s: frontend connected", d->name);
    if (d->opts.ops->connected)
        d->opts.ops->connected(d->opts.ctx);
    return 0;
}

static void accept_cb(void *arg, int fd, unsigned events)
{
    struct vhu_dev *d = arg;
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    if (d->conn_fd >= 0) {
        KK_LOGW(vhu_log, "%s: refusing a second frontend while one is connected", d->name);
        close(c);
        return;
    }
    conn_open(d, c);
}

static void try_connect(void *arg)
{
    struct vhu_dev *d = arg;
    if (d->conn_fd >= 0)
        return;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strcpy(addr.sun_path, d->path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
        conn_open(d, fd);
        return;
    }
    if (fd >= 0)
        close(fd);
    KK_LOGD(vhu_log, "%s: cannot connect to %s yet; retrying", d->name, d->path);
    kk_timer_arm(d->reconnect_timer, (uint64_t)d->opts.reconnect_ms * 1000, 0);
}

static int start_listening(struct vhu_dev *d)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strcpy(addr.sun_path, d->path);
    struct stat st;
    if (lstat(d->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return -EEXIST;
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0;
        if (probe >= 0)
            close(probe);
        if (live)
            return -EADDRINUSE;
        unlink(d->path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return kk_neg_errno();
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0) {
        int rc = kk_neg_errno();
        close(fd);
        return rc;
    }
    int rc = kk_fd_watch_add(d->reactor, fd, KK_FD_READ, accept_cb, d, &d->listen_watch);
    if (rc < 0) {
        close(fd);
        unlink(d->path);
        return rc;
    }
    d->listen_fd = fd;
    return 0;
}

static void fail_cb(void *arg)
{
    struct vhu_dev *d = arg;
    conn_close(d, d->fail_reason);
}

void vhu_dev_fail(struct vhu_dev *d, const char *why)
{
    if (d->conn_fd < 0 || d->failing)
        return;
    d->failing = true;
    snprintf(d->fail_reason, sizeof(d->fail_reason), "%s", why);
    /* Stop the queues now so nothing touches them until the disconnect. */
    for (uint16_t i = 0; i < d->opts.num_queues; i++)
        queue_stop(&d->queues[i]);
    kk_timer_arm(d->fail_timer, 0, 0);
}

int vhu_dev_create(struct kk_reactor *r, const struct vhu_dev_opts *o, struct vhu_dev **out)
{
    if (!r || !o || !out || !o->path || !o->ops || o->num_queues == 0 ||
        o->num_queues > VHU_MAX_QUEUES)
        return -EINVAL;
    if (strlen(o->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return -EINVAL;
    struct vhu_dev *d = calloc(1, sizeof(*d) + o->num_queues * sizeof(struct vhu_queue));
    if (!d)
        return -ENOMEM;
    d->reactor = r;
    d->opts = *o;
    if (!d->opts.reconnect_ms)
        d->opts.reconnect_ms = 1000;
    if (!d->opts.queue_num_reply)
        d->opts.queue_num_reply = o->num_queues;
    if (!d->opts.max_queue_size || d->opts.max_queue_size > VIRTQ_MAX_SIZE)
        d->opts.max_queue_size = 1024;
    strcpy(d->path, o->path);
    snprintf(d->name, sizeof(d->name), "%s", o->name ? o->name : o->path);
    d->opts.path = d->path;
    d->opts.name = d->name;
    d->listen_fd = d->conn_fd = d->inflight_fd = d->log_call_fd = d->backend_req_fd = -1;
    d->offered_features = o->features | LIB_FEATURES;
    d->offered_protocol = o->protocol_features | LIB_PROTOCOL;
    for (uint16_t i = 0; i < o->num_queues; i++) {
        struct vhu_queue *q = &d->queues[i];
        q->dev = d;
        q->index = i;
        q->kick_fd = q->call_fd = q->err_fd = -1;
    }
    int rc = kk_timer_create(r, fail_cb, d, &d->fail_timer);
    if (rc == 0 && o->client) {
        rc = kk_timer_create(r, try_connect, d, &d->reconnect_timer);
        if (rc == 0)
            rc = kk_timer_arm(d->reconnect_timer, 0, 0);
    } else if (rc == 0) {
        rc = start_listening(d);
    }
    if (rc < 0) {
        KK_LOGE(vhu_log, "%s: %s", d->name, kk_strerror(rc));
        vhu_dev_destroy(d);
        return rc;
    }
    KK_LOGI(vhu_log, "%s: %s %s (%u queues)", d->name, o->client ? "connecting to" : "listening on",
            d->path, o->num_queues);
    *out = d;
    return 0;
}

void vhu_dev_destroy(struct vhu_dev *d)
{
    if (!d)
        return;
    conn_close(d, "device removed");
    kk_timer_destroy(d->reconnect_timer);
    kk_timer_destroy(d->fail_timer);
    if (d->listen_watch)
        kk_fd_watch_remove(d->listen_watch);
    if (d->listen_fd >= 0) {
        close(d->listen_fd);
        unlink(d->path);
    }
    free(d);
}
