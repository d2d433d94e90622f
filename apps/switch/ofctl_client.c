/* SPDX-License-Identifier: Apache-2.0 */
/* The blocking OpenFlow client of `kvmkit ofctl` (see ofctl_client.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kk_err.h"
#include "ofctl_client.h"
#include "ofp_print.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

/* "IP[:PORT]", IPv6 as "[addr]:port" or a bare address. */
static int connect_tcp(const char *spec)
{
    char host[256];
    const char *port = "6653";
    char portbuf[16];
    if (spec[0] == '[') {
        const char *close_br = strchr(spec, ']');
        if (!close_br || (size_t)(close_br - spec - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, spec + 1, (size_t)(close_br - spec - 1));
        host[close_br - spec - 1] = '\0';
        if (close_br[1] == ':')
            port = close_br + 2;
    } else {
        snprintf(host, sizeof(host), "%s", spec);
        char *colon = strrchr(host, ':');
        if (colon && strchr(host, ':') == colon) {
            *colon = '\0';
            snprintf(portbuf, sizeof(portbuf), "%s", colon + 1);
            port = portbuf;
        }
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc)
        return -EHOSTUNREACH;
    int fd = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            fd = -errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        int e = -errno;
        close(fd);
        fd = e;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
    }
    return fd;
}

const char *ofc_version_tag(uint8_t version)
{
    return version == OFP10_VERSION ? "" : version == OFP13_VERSION ? " (OF1.3)" : " (OF?)";
}

uint32_t ofc_xid(struct ofc *c)
{
    return c->next_xid++;
}

int ofc_queue(struct ofc *c, struct ofp_msg *msg, struct ofp_error *err)
{
    msg->version = c->version;
    if (!msg->xid)
        msg->xid = ofc_xid(c);
    struct ofp_error local;
    int rc = ofp_encode(msg, &c->out, err ? err : &local);
    if (rc == 0 && c->out.failed)
        rc = -ENOMEM;
    return rc;
}

/* Read what is available into c->in. 0, -EPIPE on EOF, -errno. */
static int read_some(struct ofc *c)
{
    if (c->in_cap - c->in_len < 65536) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 131072;
        uint8_t *p = realloc(c->in, cap);
        if (!p)
            return -ENOMEM;
        c->in = p;
        c->in_cap = cap;
    }
    ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (n == 0) {
        c->closed = true;
        return -EPIPE;
    }
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    c->in_len += (size_t)n;
    return 0;
}

/* Take one complete message out of c->in: 1 and @msg, 0 when none is
 * complete, -EBADMSG for a stream that cannot be framed. Messages that do
 * not decode are reported and skipped. Echo requests are answered. */
static int take(struct ofc *c, struct ofp_msg *msg)
{
    for (;;) {
        long len = ofp_frame_len(c->in, c->in_len);
        if (len < 0)
            return -EBADMSG;
        if (len == 0 || (size_t)len > c->in_len)
            return 0;
        struct ofp_error err;
        int rc = ofp_decode(c->in, (size_t)len, msg, &err);
        uint32_t xid = c->in_len >= 8 ? (uint32_t)c->in[4] << 24 | (uint32_t)c->in[5] << 16 |
                                            (uint32_t)c->in[6] << 8 | c->in[7]
                                      : 0;
        uint8_t wire_type = c->in[1];
        memmove(c->in, c->in + len, c->in_len - (size_t)len);
        c->in_len -= (size_t)len;
        if (rc) {
            fprintf(stderr, "kvmkit ofctl: %s: a message (type %u, xid=0x%x) did not decode: %s\n",
                    c->target, wire_type, xid, ofp_err_name(err.err));
            continue;
        }
        if (msg->type == OFP_MSG_ECHO_REQUEST) {
            struct ofp_msg reply = {.version = c->version, .type = OFP_MSG_ECHO_REPLY,
                                    .xid = msg->xid};
            reply.u.echo = msg->u.echo;
            ofp_encode(&reply, &c->out, &err);
            ofp_msg_free(msg);
            continue;
        }
        return 1;
    }
}

/* One poll round: write pending output, read input. -errno on failure,
 * -ETIMEDOUT when nothing happened within @timeout_ms. */
static int pump(struct ofc *c, int timeout_ms)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    bool pending = c->out_off < c->out.len;
    if (pending)
        p.events |= POLLOUT;
    int n = poll(&p, 1, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    if (n == 0)
        return -ETIMEDOUT;
    if (p.revents & POLLOUT) {
        ssize_t w = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        if (w > 0)
            c->out_off += (size_t)w;
        if (c->out_off == c->out.len) {
            ofp_buf_clear(&c->out);
            c->out_off = 0;
        }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
        int rc = read_some(c);
        if (rc)
            return rc;
    }
    return 0;
}

static void dispatch_others(struct ofc *c)
{
    struct ofp_msg m;
    while (take(c, &m) == 1) {
        if (c->on_other)
            c->on_other(c, &m, c->other_aux);
        ofp_msg_free(&m);
    }
}

int ofc_flush(struct ofc *c, bool all, size_t keep)
{
    int64_t deadline = c->timeout_ms >= 0 ? now_ms() + c->timeout_ms : 0;
    while (c->out.len - c->out_off > (all ? 0 : keep)) {
        int wait = c->timeout_ms >= 0 ? (int)(deadline - now_ms()) : -1;
        if (c->timeout_ms >= 0 && wait <= 0)
            return -ETIMEDOUT;
        size_t before = c->out_off;
        int rc = pump(c, wait);
        if (rc)
            return rc;
        dispatch_others(c);
        if (c->out_off != before && c->timeout_ms >= 0)
            deadline = now_ms() + c->timeout_ms;  /* progress: the timeout is per wait */
    }
    return 0;
}

int ofc_recv(struct ofc *c, struct ofp_msg *msg, int timeout_ms)
{
    int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
    for (;;) {
        int rc = take(c, msg);
        if (rc)
            return rc;
        int wait = timeout_ms >= 0 ? (int)(deadline - now_ms()) : -1;
        if (timeout_ms >= 0 && wait <= 0)
            return 0;
        rc = pump(c, wait);
        if (rc == -ETIMEDOUT)
            return 0;
        if (rc)
            return rc;
    }
}

int ofc_transact(struct ofc *c, struct ofp_msg *req,
                 void (*on_reply)(const struct ofp_msg *reply, void *aux), void *aux)
{
    struct ofp_error err;
    int rc = ofc_queue(c, req, &err);
    if (rc) {
        fprintf(stderr, "kvmkit ofctl: cannot encode %s: %s\n",
                ofp_msg_type_name(req->type, c->version), ofp_err_name(err.err));
        return rc;
    }
    uint32_t xid = req->xid;
    for (;;) {
        struct ofp_msg m;
        rc = ofc_recv(c, &m, c->timeout_ms);
        if (rc == 0)
            rc = -ETIMEDOUT;
        if (rc < 0) {
            fprintf(stderr, "kvmkit ofctl: %s: %s\n", c->target,
                    rc == -EPIPE ? "connection closed by the switch" : kk_strerror(rc));
            return rc;
        }
        if (m.xid != xid) {
            if (c->on_other)
                c->on_other(c, &m, c->other_aux);
            ofp_msg_free(&m);
            continue;
        }
        bool more = m.type == OFP_MSG_MULTIPART_REPLY && (m.u.multipart.flags & OFPMPF_MORE);
        on_reply(&m, aux);
        ofp_msg_free(&m);
        if (!more)
            return 0;
    }
}

void ofc_print_error(const struct ofp_msg *m, FILE *out)
{
    const struct ofp_error_msg *e = &m->u.error;
    enum ofp_err id = ofp_err_from_wire(m->version, e->type, e->code, e->experimenter);
    fprintf(out, "OFPT_ERROR%s (xid=0x%x): ", ofc_version_tag(m->version), m->xid);
    if (id != OFPERR_NONE) {
        fprintf(out, "%s\n", ofp_err_name(id));
    } else {
        const char *t = ofp_error_type_name(m->version, e->type);
        const char *code = ofp_error_code_name(m->version, e->type, e->code);
        fprintf(out, "%s(%u)/%s(%u)\n", t ? t : "type", e->type, code ? code : "code",
                e->code);
    }
    /* the request it refers to, when its (possibly cut) bytes decode */
    if (e->data.len >= 8) {
        struct ofp_msg req;
        struct ofp_error derr;
        size_t len = (size_t)e->data.data[2] << 8 | e->data.data[3];
        if (len == e->data.len && ofp_decode(e->data.data, len, &req, &derr) == 0) {
            char text[1024];
            ofp_msg_summary(&req, text, sizeof(text));
            fprintf(out, "%s\n", text);
            ofp_msg_free(&req);
        }
    }
}

int ofc_open(struct ofc *c, const char *target, uint32_t versions, int timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->target = target;
    c->timeout_ms = timeout_ms;
    c->next_xid = 1;
    ofp_buf_init(&c->out);
    int fd;
    if (strncmp(target, "unix:", 5) == 0) {
        fd = connect_unix(target + 5);
    } else if (strncmp(target, "tcp:", 4) == 0) {
        fd = connect_tcp(target + 4);
    } else {
        fprintf(stderr, "kvmkit ofctl: %s: not a target (tcp:IP[:PORT] or unix:PATH)\n",
                target);
        return -EINVAL;
    }
    if (fd < 0) {
        fprintf(stderr, "kvmkit ofctl: cannot connect to %s: %s\n", target, kk_strerror(fd));
        return fd;
    }
    c->fd = fd;
    uint8_t highest = versions & (1u << OFP13_VERSION) ? OFP13_VERSION : OFP10_VERSION;
    /* A 1.0-only hello has no bitmap (1.0 peers may not expect one). */
    struct ofp_msg hello = {.version = highest, .type = OFP_MSG_HELLO, .xid = ofc_xid(c)};
    if (highest != OFP10_VERSION) {
        hello.u.hello.has_bitmap = true;
        hello.u.hello.bitmap = versions;
    }
    struct ofp_error err;
    c->version = highest;
    if (ofp_encode(&hello, &c->out, &err) != 0)
        return -ENOMEM;
    struct ofp_msg peer;
    int rc = ofc_recv(c, &peer, timeout_ms);
    if (rc <= 0) {
        fprintf(stderr, "kvmkit ofctl: %s: no HELLO from the switch: %s\n", target,
                rc == 0 ? "timed out" : rc == -EPIPE ? "connection closed" : kk_strerror(rc));
        ofc_close(c);
        return rc == 0 ? -ETIMEDOUT : rc;
    }
    if (peer.type != OFP_MSG_HELLO) {
        fprintf(stderr, "kvmkit ofctl: %s: expected HELLO, got %s\n", target,
                ofp_msg_type_name(peer.type, peer.version));
        ofp_msg_free(&peer);
        ofc_close(c);
        return -EPROTO;
    }
    uint8_t v;
    if (ofp_negotiate_version(versions, peer.version, &peer.u.hello, &v) != 0) {
        fprintf(stderr, "kvmkit ofctl: %s: no common OpenFlow version (we offer 0x%x, the "
                        "switch sent version 0x%02x%s)\n",
                target, versions, peer.version,
                peer.u.hello.has_bitmap ? " with a bitmap" : "");
        ofp_msg_free(&peer);
        ofc_close(c);
        return -EPROTO;
    }
    c->version = v;
    c->hello = peer;
    return 0;
}

void ofc_close(struct ofc *c)
{
    if (c->fd >= 0) {
        /* let queued output (a last flow-mod) reach the switch */
        if (c->out.len > c->out_off && !c->closed)
            ofc_flush(c, true, 0);
        close(c->fd);
    }
    c->fd = -1;
    free(c->in);
    c->in = NULL;
    ofp_buf_free(&c->out);
    ofp_msg_free(&c->hello);
}
