/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_err.h"
#include "vhu_msg.h"

static const char *const names[VHU_REQUEST_MAX] = {
    [VHU_GET_FEATURES] = "GET_FEATURES",
    [VHU_SET_FEATURES] = "SET_FEATURES",
    [VHU_SET_OWNER] = "SET_OWNER",
    [VHU_RESET_OWNER] = "RESET_OWNER",
    [VHU_SET_MEM_TABLE] = "SET_MEM_TABLE",
    [VHU_SET_LOG_BASE] = "SET_LOG_BASE",
    [VHU_SET_LOG_FD] = "SET_LOG_FD",
    [VHU_SET_VRING_NUM] = "SET_VRING_NUM",
    [VHU_SET_VRING_ADDR] = "SET_VRING_ADDR",
    [VHU_SET_VRING_BASE] = "SET_VRING_BASE",
    [VHU_GET_VRING_BASE] = "GET_VRING_BASE",
    [VHU_SET_VRING_KICK] = "SET_VRING_KICK",
    [VHU_SET_VRING_CALL] = "SET_VRING_CALL",
    [VHU_SET_VRING_ERR] = "SET_VRING_ERR",
    [VHU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
    [VHU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
    [VHU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
    [VHU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
    [VHU_SEND_RARP] = "SEND_RARP",
    [VHU_NET_SET_MTU] = "NET_SET_MTU",
    [VHU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
    [VHU_IOTLB_MSG] = "IOTLB_MSG",
    [VHU_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
    [VHU_GET_CONFIG] = "GET_CONFIG",
    [VHU_SET_CONFIG] = "SET_CONFIG",
    [VHU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
    [VHU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
    [VHU_RESET_DEVICE] = "RESET_DEVICE",
    [VHU_VRING_KICK] = "VRING_KICK",
    [VHU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
    [VHU_ADD_MEM_REG] = "ADD_MEM_REG",
    [VHU_REM_MEM_REG] = "REM_MEM_REG",
    [VHU_SET_STATUS] = "SET_STATUS",
    [VHU_GET_STATUS] = "GET_STATUS",
};

const char *vhu_request_name(uint32_t request)
{
    if (request < VHU_REQUEST_MAX && names[request])
        return names[request];
    return "UNKNOWN";
}

void vhu_msg_close_fds(struct vhu_msg *m)
{
    for (unsigned i = 0; i < m->n_fds; i++) {
        if (m->fds[i] >= 0)
            close(m->fds[i]);
        m->fds[i] = -1;
    }
    m->n_fds = 0;
}

int vhu_msg_take_fd(struct vhu_msg *m, unsigned i)
{
    if (i >= m->n_fds)
        return -1;
    int fd = m->fds[i];
    m->fds[i] = -1;
    return fd;
}

static int reject(char *why, size_t len, int rc, const char *fmt, ...) KK_PRINTF(4, 5);
static int reject(char *why, size_t len, int rc, const char *fmt, ...)
{
    if (why && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Header checks shared by recv and parse. */
static int check_header(const struct vhu_msg *m, char *why, size_t why_len)
{
    if ((m->flags & VHU_VERSION_MASK) != VHU_VERSION)
        return reject(why, why_len, -EPROTO, "version %u, expected %u",
                      m->flags & VHU_VERSION_MASK, VHU_VERSION);
    if (m->flags & VHU_FLAG_REPLY)
        return reject(why, why_len, -EPROTO, "a reply where a request was expected");
    if (m->size > VHU_MAX_PAYLOAD)
        return reject(why, why_len, -EPROTO, "payload of %u bytes", m->size);
    return 0;
}

int vhu_msg_parse(const uint8_t *buf, size_t len, const int *fds, unsigned n_fds,
                  struct vhu_msg *m, char *why, size_t why_len)
{
    memset(m, 0, offsetof(struct vhu_msg, p));
    m->n_fds = 0;
    if (n_fds > VHU_MAX_FDS)
        return reject(why, why_len, -EPROTO, "%u file descriptors", n_fds);
    for (unsigned i = 0; i < n_fds; i++)
        m->fds[m->n_fds++] = fds[i];
    if (len < VHU_HDR_SIZE)
        return reject(why, why_len, -EPROTO, "truncated header (%zu bytes)", len);
    memcpy(&m->request, buf, 4);
    memcpy(&m->flags, buf + 4, 4);
    memcpy(&m->size, buf + 8, 4);
    int rc = check_header(m, why, why_len);
    if (rc < 0)
        return rc;
    if (len - VHU_HDR_SIZE != m->size)
        return reject(why, why_len, -EPROTO, "payload of %zu bytes, header says %u",
                      len - VHU_HDR_SIZE, m->size);
    memset(&m->p, 0, sizeof(m->p));
    memcpy(&m->p, buf + VHU_HDR_SIZE, m->size);
    return 0;
}

int vhu_msg_recv(int sock, struct vhu_msg *m, char *why, size_t why_len)
{
    uint8_t hdr[VHU_HDR_SIZE];
    union {
        char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = hdr, .iov_len = sizeof(hdr)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf)};

    memset(m, 0, offsetof(struct vhu_msg, p));
    m->n_fds = 0;
    ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return kk_neg_errno();
    if (n == 0)
        return -ECONNRESET;

    /* Collect descriptors first so that every error path closes them. */
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (m->n_fds < VHU_MAX_FDS)
                m->fds[m->n_fds++] = fd;
            else
                close(fd);
        }
    }
    if (mh.msg_flags & MSG_CTRUNC) {
        vhu_msg_close_fds(m);
        return reject(why, why_len, -EPROTO, "more than %d file descriptors", VHU_MAX_FDS);
    }
    if ((size_t)n < sizeof(hdr)) {
        /* The rest of a header must follow at once. */
        ssize_t more = recv(sock, hdr + n, sizeof(hdr) - (size_t)n, MSG_WAITALL);
        if (more != (ssize_t)sizeof(hdr) - n) {
            vhu_msg_close_fds(m);
            return reject(why, why_len, -EPROTO, "truncated header");
        }
    }
    memcpy(&m->request, hdr, 4);
    memcpy(&m->flags, hdr + 4, 4);
    memcpy(&m->size, hdr + 8, 4);
    int rc = check_header(m, why, why_len);
    if (rc < 0) {
        vhu_msg_close_fds(m);
        return rc;
    }
    memset(&m->p, 0, sizeof(m->p));
    size_t got = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (got < m->size) {
        /* The socket carries a receive timeout, and the whole payload must
         * arrive within 2 s: a peer trickling bytes cannot hold us. */
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 2) {
            vhu_msg_close_fds(m);
            return reject(why, why_len, -EPROTO, "payload took more than 2 s (%zu of %u bytes)",
                          got, m->size);
        }
        ssize_t r = recv(sock, m->p.raw + got, m->size - got, MSG_WAITALL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            vhu_msg_close_fds(m);
            return reject(why, why_len, -EPROTO, "truncated payload (%zu of %u bytes)", got,
                          m->size);
        }
        got += (size_t)r;
    }
    return 0;
}

static int want(const struct vhu_msg *m, uint32_t size, unsigned fds, char *why, size_t len)
{
    if (m->size != size)
        return reject(why, len, -EINVAL, "%s: payload of %u bytes, expected %u",
                      vhu_request_name(m->request), m->size, size);
    if (m->n_fds != fds)
        return reject(why, len, -EINVAL, "%s: %u file descriptors, expected %u",
                      vhu_request_name(m->request), m->n_fds, fds);
    return 0;
}

int vhu_msg_check(const struct vhu_msg *m, char *why, size_t len)
{
    int rc;
    switch (m->request) {
    case VHU_GET_FEATURES:
    case VHU_SET_OWNER:
    case VHU_RESET_OWNER:
    case VHU_GET_PROTOCOL_FEATURES:
    case VHU_GET_QUEUE_NUM:
    case VHU_GET_MAX_MEM_SLOTS:
    case VHU_GET_STATUS:
    case VHU_RESET_DEVICE:
        return want(m, 0, 0, why, len);
    case VHU_SET_FEATURES:
    case VHU_SET_PROTOCOL_FEATURES:
    case VHU_SEND_RARP:
    case VHU_NET_SET_MTU:
    case VHU_SET_STATUS:
        return want(m, 8, 0, why, len);
    case VHU_SET_VRING_KICK:
    case VHU_SET_VRING_CALL:
    case VHU_SET_VRING_ERR:
        if (m->size == 8 && (m->p.u64 & ~(uint64_t)(VHU_VRING_IDX_MASK | VHU_VRING_NOFD)))
            return reject(why, len, -EINVAL, "%s: unknown bits in 0x%llx",
                          vhu_request_name(m->request), (unsigned long long)m->p.u64);
        return want(m, 8, (m->size == 8 && (m->p.u64 & VHU_VRING_NOFD)) ? 0 : 1, why, len);
    case VHU_SET_VRING_NUM:
    case VHU_SET_VRING_BASE:
    case VHU_GET_VRING_BASE:
    case VHU_SET_VRING_ENABLE:
    case VHU_SET_VRING_ENDIAN:
    case VHU_VRING_KICK:
        rc = want(m, sizeof(struct vhu_vring_state), 0, why, len);
        if (rc == 0 && m->p.state.index >= VHU_MAX_QUEUES)
            return reject(why, len, -EINVAL, "%s: vring index %u", vhu_request_name(m->request),
                          m->p.state.index);
        return rc;
    case VHU_SET_VRING_ADDR:
        rc = want(m, sizeof(struct vhu_vring_addr), 0, why, len);
        if (rc == 0 && m->p.addr.index >= VHU_MAX_QUEUES)
            return reject(why, len, -EINVAL, "SET_VRING_ADDR: vring index %u", m->p.addr.index);
        if (rc == 0 && (m->p.addr.flags & ~VHU_VRING_F_LOG))
            return reject(why, len, -EINVAL, "SET_VRING_ADDR: flags 0x%x", m->p.addr.flags);
        return rc;
    case VHU_SET_MEM_TABLE: {
        if (m->size < 8)
            return reject(why, len, -EINVAL, "SET_MEM_TABLE: payload of %u bytes", m->size);
        uint32_t n = m->p.mem.nregions;
        if (n == 0 || n > VHU_MEM_TABLE_MAX)
            return reject(why, len, -EINVAL, "SET_MEM_TABLE: %u regions", n);
        return want(m, 8 + n * (uint32_t)sizeof(struct vhu_mem_region), n, why, len);
    }
    case VHU_ADD_MEM_REG:
        return want(m, sizeof(struct vhu_mem_single), 1, why, len);
    case VHU_REM_MEM_REG:
        /* Older frontends pass a descriptor here; it is accepted and closed. */
        return want(m, sizeof(struct vhu_mem_single), m->n_fds ? 1 : 0, why, len);
    case VHU_SET_LOG_BASE:
        return want(m, sizeof(struct vhu_log), 1, why, len);
    case VHU_SET_LOG_FD:
        return want(m, m->size == 8 ? 8 : 0, 1, why, len);
    case VHU_GET_CONFIG:
    case VHU_SET_CONFIG: {
        if (m->size < 12)
            return reject(why, len, -EINVAL, "%s: payload of %u bytes",
                          vhu_request_name(m->request), m->size);
        const struct vhu_config *c = &m->p.config;
        if (c->size > VHU_CONFIG_MAX || c->offset > VHU_CONFIG_MAX ||
            c->offset + c->size > VHU_CONFIG_MAX)
            return reject(why, len, -EINVAL, "%s: range [%u, +%u) outside the config space",
                          vhu_request_name(m->request), c->offset, c->size);
        return want(m, 12 + c->size, 0, why, len);
    }
    case VHU_GET_INFLIGHT_FD:
        return want(m, sizeof(struct vhu_inflight), 0, why, len);
    case VHU_SET_INFLIGHT_FD:
        return want(m, sizeof(struct vhu_inflight), 1, why, len);
    case VHU_SET_BACKEND_REQ_FD:
        return want(m, 0, 1, why, len);
    default:
        return reject(why, len, -ENOTSUP, "request %u (%s) is not supported", m->request,
                      vhu_request_name(m->request));
    }
}

int vhu_msg_send(int sock, const struct vhu_msg *m, const int *fds, unsigned n_fds)
{
    if (m->size > VHU_MAX_PAYLOAD || n_fds > VHU_MAX_FDS)
        return -EINVAL;
    uint8_t hdr[VHU_HDR_SIZE];
    memcpy(hdr, &m->request, 4);
    memcpy(hdr + 4, &m->flags, 4);
    memcpy(hdr + 8, &m->size, 4);
    struct iovec iov[2] = {{.iov_base = hdr, .iov_len = sizeof(hdr)},
                           {.iov_base = (void *)(uintptr_t)&m->p, .iov_len = m->size}};
    union {
        char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = m->size ? 2 : 1};
    if (n_fds) {
        memset(control.buf, 0, sizeof(control.buf));
        mh.msg_control = control.buf;
        mh.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
    }
    size_t total = sizeof(hdr) + m->size;
    for (;;) {
        ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return kk_neg_errno();
        if ((size_t)n != total)
            return -EIO; /* messages are small: a short send means a broken peer */
        return 0;
    }
}
