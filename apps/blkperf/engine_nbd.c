/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blkperf's NBD engine: a small NBD client, one connection per thread.
 *
 * Target: an NBD URI, nbd+unix:///EXPORT?socket=PATH or
 * nbd://HOST[:PORT]/EXPORT (port 10809 by default). The handshake (fixed
 * newstyle, STRUCTURED_REPLY, OPT_GO asking for the block size) is done
 * with blocking I/O; then the socket turns non-blocking: submit() appends
 * request headers (and WRITE payloads) to an output buffer, flush() sends
 * it, poll() reads replies — simple or structured (data, hole, error
 * chunks) — and completes requests by handle, in whatever order they come.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "blkperf.h"
#include "nbd_proto.h"

struct nctx {
    int fd;
    bool structured;
    uint16_t tx_flags;
    uint64_t size;
    uint32_t min_block;
    uint8_t *out;
    size_t out_len, out_sent, out_cap;
    uint8_t *in;
    size_t in_start, in_end, in_cap;
    void **bufs;
    uint32_t n_bufs;
};

/* ---- target parsing ----------------------------------------------------------- */

struct target {
    bool is_unix;
    char path[108];
    char host[256];
    char port[16];
    char name[NBD_MAX_STRING + 1];
};

static int unescape(char *dst, size_t cap, const char *src, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = src[i];
        if (ch == '%') {
            if (i + 2 >= len)
                return -EINVAL;
            char hex[3] = {src[i + 1], src[i + 2], 0};
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end || v <= 0)
                return -EINVAL;
            ch = (char)v;
            i += 2;
        }
        if (o + 1 >= cap)
            return -ENAMETOOLONG;
        dst[o++] = ch;
    }
    dst[o] = '\0';
    return 0;
}

static int parse_target(const char *uri, struct target *t)
{
    memset(t, 0, sizeof(*t));
    const char *rest;
    if (strncmp(uri, "nbd+unix://", 11) == 0) {
        t->is_unix = true;
        rest = uri + 11;
    } else if (strncmp(uri, "nbd://", 6) == 0) {
        rest = uri + 6;
    } else {
        return -EINVAL;
    }
    /* authority up to '/' or '?' */
    size_t alen = strcspn(rest, "/?");
    if (!t->is_unix) {
        const char *a = rest;
        const char *colon = NULL;
        if (a[0] == '[') {
            const char *rb = memchr(a, ']', alen);
            if (!rb)
                return -EINVAL;
            snprintf(t->host, sizeof(t->host), "%.*s", (int)(rb - a - 1), a + 1);
            if (rb + 1 < a + alen && rb[1] == ':')
                colon = rb + 1;
        } else {
            colon = memchr(a, ':', alen);
            size_t hl = colon ? (size_t)(colon - a) : alen;
            snprintf(t->host, sizeof(t->host), "%.*s", (int)hl, a);
        }
        if (colon)
            snprintf(t->port, sizeof(t->port), "%.*s", (int)(a + alen - colon - 1), colon + 1);
        else
            snprintf(t->port, sizeof(t->port), "10809");
        if (!t->host[0])
            snprintf(t->host, sizeof(t->host), "localhost");
    } else if (alen) {
        return -EINVAL; /* nbd+unix has no host */
    }
    rest += alen;
    const char *q = strchr(rest, '?');
    size_t plen = q ? (size_t)(q - rest) : strlen(rest);
    if (plen > 0 && rest[0] == '/') {
        if (unescape(t->name, sizeof(t->name), rest + 1, plen - 1) < 0)
            return -EINVAL;
    }
    if (t->is_unix) {
        const char *s = q ? strstr(q, "socket=") : NULL;
        if (!s)
            return -EINVAL;
        s += 7;
        size_t sl = strcspn(s, "&");
        if (unescape(t->path, sizeof(t->path), s, sl) < 0 || !t->path[0])
            return -EINVAL;
    }
    return 0;
}

/* ---- blocking handshake ---------------------------------------------------------- */

static int read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? -ECONNRESET : -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_option(int fd, uint32_t opt, const void *data, uint32_t len)
{
    uint8_t h[NBD_OPT_HEADER_SIZE];
    nbd_put64(h, NBD_OPTS_MAGIC);
    nbd_put32(h + 8, opt);
    nbd_put32(h + 12, len);
    int rc = write_full(fd, h, sizeof(h));
    return rc == 0 && len ? write_full(fd, data, len) : rc;
}

/* Read one option reply; its data (up to @cap bytes kept) into @data. */
static int read_opt_reply(int fd, uint32_t *type, uint8_t *data, uint32_t cap, uint32_t *len)
{
    uint8_t h[NBD_OPT_REPLY_SIZE];
    int rc = read_full(fd, h, sizeof(h));
    if (rc < 0)
        return rc;
    if (nbd_get64(h) != NBD_OPT_REPLY_MAGIC)
        return -EPROTO;
    *type = nbd_get32(h + 12);
    *len = nbd_get32(h + 16);
    uint8_t skip[512];
    for (uint32_t got = 0; got < *len;) {
        uint32_t n = *len - got;
        uint8_t *dst;
        if (got < cap) {
            dst = data + got;
            if (n > cap - got)
                n = cap - got;
        } else {
            dst = skip;
            if (n > sizeof(skip))
                n = sizeof(skip);
        }
        rc = read_full(fd, dst, n);
        if (rc < 0)
            return rc;
        got += n;
    }
    return 0;
}

static int connect_target(const struct target *t)
{
    if (t->is_unix) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", t->path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        return fd;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    if (getaddrinfo(t->host, t->port, &hints, &res) != 0)
        return -EHOSTUNREACH;
    int fd = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (s < 0)
            continue;
        if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
            int one = 1;
            setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            fd = s;
            break;
        }
        fd = -errno;
        close(s);
    }
    freeaddrinfo(res);
    return fd;
}

static int handshake(struct nctx *x, const struct target *t)
{
    uint8_t g[NBD_GREETING_SIZE];
    int rc = read_full(x->fd, g, sizeof(g));
    if (rc < 0)
        return rc;
    if (nbd_get64(g) != NBD_MAGIC || nbd_get64(g + 8) != NBD_OPTS_MAGIC) {
        fprintf(stderr, "blkperf: nbd: not a newstyle NBD server\n");
        return -EPROTO;
    }
    uint16_t hf = nbd_get16(g + 16);
    if (!(hf & NBD_FLAG_FIXED_NEWSTYLE)) {
        fprintf(stderr, "blkperf: nbd: the server does not speak fixed newstyle\n");
        return -EPROTO;
    }
    uint8_t cf[4];
    nbd_put32(cf, NBD_FLAG_C_FIXED_NEWSTYLE | (hf & NBD_FLAG_NO_ZEROES ? NBD_FLAG_C_NO_ZEROES : 0));
    if ((rc = write_full(x->fd, cf, 4)) < 0)
        return rc;

    uint8_t data[1024];
    uint32_t type, len;
    if ((rc = send_option(x->fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0)) < 0 ||
        (rc = read_opt_reply(x->fd, &type, data, sizeof(data), &len)) < 0)
        return rc;
    x->structured = type == NBD_REP_ACK;

    size_t nl = strlen(t->name);
    uint8_t *go = malloc(4 + nl + 2 + 2);
    if (!go)
        return -ENOMEM;
    nbd_put32(go, (uint32_t)nl);
    memcpy(go + 4, t->name, nl);
    nbd_put16(go + 4 + nl, 1);
    nbd_put16(go + 6 + nl, NBD_INFO_BLOCK_SIZE);
    rc = send_option(x->fd, NBD_OPT_GO, go, (uint32_t)(nl + 8));
    free(go);
    if (rc < 0)
        return rc;
    x->min_block = 512;
    bool have_export = false;
    for (;;) {
        if ((rc = read_opt_reply(x->fd, &type, data, sizeof(data), &len)) < 0)
            return rc;
        if (type == NBD_REP_ACK)
            break;
        if (type & NBD_REP_ERR(0)) {
            fprintf(stderr, "blkperf: nbd: export '%s' refused: %s %.*s\n", t->name,
                    nbd_rep_name(type), (int)(len < sizeof(data) ? len : sizeof(data)), data);
            return -ENOENT;
        }
        if (type != NBD_REP_INFO || len < 2)
            continue;
        uint16_t it = nbd_get16(data);
        if (it == NBD_INFO_EXPORT && len >= 12) {
            x->size = nbd_get64(data + 2);
            x->tx_flags = nbd_get16(data + 10);
            have_export = true;
        } else if (it == NBD_INFO_BLOCK_SIZE && len >= 14) {
            x->min_block = nbd_get32(data + 2);
        }
    }
    if (!have_export)
        return -EPROTO;
    if (x->min_block == 0 || x->min_block > 65536)
        x->min_block = 512;
    return 0;
}

/* ---- engine ops --------------------------------------------------------------------- */

static void n_close(void *ctx);

static int n_open(const char *target, unsigned thread, uint32_t depth, void **ctxp,
                  uint64_t *size, uint32_t *block)
{
    (void)thread;
    struct target t;
    if (parse_target(target, &t) < 0) {
        fprintf(stderr, "blkperf: --nbd wants nbd+unix:///EXPORT?socket=PATH or "
                        "nbd://HOST[:PORT]/EXPORT, got '%s'\n", target);
        return -EINVAL;
    }
    struct nctx *x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    x->fd = connect_target(&t);
    if (x->fd < 0) {
        int rc = x->fd;
        fprintf(stderr, "blkperf: nbd: cannot connect to %s: %s\n", target, strerror(-rc));
        free(x);
        return rc;
    }
    int rc = handshake(x, &t);
    if (rc < 0) {
        fprintf(stderr, "blkperf: nbd: handshake with %s failed: %s\n", target, strerror(-rc));
        n_close(x);
        return rc;
    }
    x->in_cap = 1u << 20;
    x->out_cap = (size_t)depth * (NBD_REQUEST_SIZE + 4096) + 4096;
    x->in = malloc(x->in_cap);
    x->out = malloc(x->out_cap);
    if (!x->in || !x->out) {
        n_close(x);
        return -ENOMEM;
    }
    fcntl(x->fd, F_SETFL, fcntl(x->fd, F_GETFL) | O_NONBLOCK);
    *ctxp = x;
    *size = x->size;
    *block = x->min_block;
    return 0;
}

static void *n_alloc(void *ctx, size_t size)
{
    struct nctx *x = ctx;
    /* the input buffer must hold a whole data chunk */
    if (x->in_cap < 2 * size + 64) {
        uint8_t *in = realloc(x->in, 2 * size + 64);
        if (!in)
            return NULL;
        x->in = in;
        x->in_cap = 2 * size + 64;
    }
    void **b = realloc(x->bufs, (x->n_bufs + 1) * sizeof(*b));
    if (!b)
        return NULL;
    x->bufs = b;
    void *p;
    if (posix_memalign(&p, 4096, size ? size : 1) != 0)
        return NULL;
    x->bufs[x->n_bufs++] = p;
    return p;
}

static int out_reserve(struct nctx *x, size_t n)
{
    if (x->out_sent == x->out_len)
        x->out_sent = x->out_len = 0;
    if (x->out_len + n <= x->out_cap)
        return 0;
    if (x->out_sent) {
        memmove(x->out, x->out + x->out_sent, x->out_len - x->out_sent);
        x->out_len -= x->out_sent;
        x->out_sent = 0;
        if (x->out_len + n <= x->out_cap)
            return 0;
    }
    size_t cap = (x->out_len + n) * 2;
    uint8_t *o = realloc(x->out, cap);
    if (!o)
        return -ENOMEM;
    x->out = o;
    x->out_cap = cap;
    return 0;
}

static int n_submit(void *ctx, struct perf_req *r)
{
    struct nctx *x = ctx;
    struct nbd_request rq = {
        .handle = (uint64_t)(uintptr_t)r,
        .offset = r->offset,
        .len = r->len,
    };
    switch (r->op) {
    case PERF_READ: rq.type = NBD_CMD_READ; break;
    case PERF_WRITE: rq.type = NBD_CMD_WRITE; break;
    case PERF_FLUSH: rq.type = NBD_CMD_FLUSH; rq.offset = 0; rq.len = 0; break;
    default: return -EINVAL;
    }
    size_t payload = rq.type == NBD_CMD_WRITE ? r->len : 0;
    if (out_reserve(x, NBD_REQUEST_SIZE + payload) < 0)
        return -ENOMEM;
    nbd_encode_request(x->out + x->out_len, &rq);
    x->out_len += NBD_REQUEST_SIZE;
    if (payload) {
        memcpy(x->out + x->out_len, r->buf, payload);
        x->out_len += payload;
    }
    r->priv[0] = 0; /* error seen in a structured reply */
    return 0;
}

static int send_pending(struct nctx *x)
{
    while (x->out_sent < x->out_len) {
        ssize_t n = send(x->fd, x->out + x->out_sent, x->out_len - x->out_sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -errno;
        }
        x->out_sent += (size_t)n;
    }
    return 0;
}

static void n_flush(void *ctx)
{
    send_pending(ctx);
}

static int wire_errno(uint32_t e)
{
    return e ? -(int)e : 0;
}

/* Parse complete replies in the input buffer. Returns completions or -EPROTO. */
static int parse_replies(struct nctx *x, perf_done_fn done, void *arg)
{
    int n = 0;
    for (;;) {
        size_t avail = x->in_end - x->in_start;
        const uint8_t *p = x->in + x->in_start;
        struct nbd_reply rp;
        int hl = nbd_parse_reply(p, avail, &rp);
        if (hl < 0)
            return -EPROTO;
        if (hl == 0)
            return n;
        struct perf_req *r = (struct perf_req *)(uintptr_t)rp.handle;
        if (!rp.structured) {
            size_t data = (r->op == PERF_READ && rp.error == 0) ? r->len : 0;
            if (avail < (size_t)hl + data)
                return n;
            if (data)
                memcpy(r->buf, p + hl, data);
            x->in_start += (size_t)hl + data;
            done(r, wire_errno(rp.error), arg);
            n++;
            continue;
        }
        if (avail < (size_t)hl + rp.len) {
            if ((size_t)hl + rp.len > x->in_cap)
                return -EPROTO;
            return n;
        }
        const uint8_t *pl = p + hl;
        switch (rp.type) {
        case NBD_REPLY_TYPE_OFFSET_DATA:
            if (rp.len >= 8) {
                uint64_t off = nbd_get64(pl);
                uint64_t dl = rp.len - 8;
                if (off < r->offset || off - r->offset + dl > r->len)
                    return -EPROTO;
                memcpy((uint8_t *)r->buf + (off - r->offset), pl + 8, dl);
            }
            break;
        case NBD_REPLY_TYPE_OFFSET_HOLE:
            if (rp.len == 12) {
                uint64_t off = nbd_get64(pl);
                uint32_t hl2 = nbd_get32(pl + 8);
                if (off < r->offset || off - r->offset + hl2 > r->len)
                    return -EPROTO;
                memset((uint8_t *)r->buf + (off - r->offset), 0, hl2);
            }
            break;
        case NBD_REPLY_TYPE_NONE:
        case NBD_REPLY_TYPE_BLOCK_STATUS:
            break;
        default:
            if (rp.type & 0x8000)
                r->priv[0] = rp.len >= 4 ? nbd_get32(pl) : NBD_EIO;
            break;
        }
        x->in_start += (size_t)hl + rp.len;
        if (rp.flags & NBD_REPLY_FLAG_DONE) {
            done(r, wire_errno((uint32_t)r->priv[0]), arg);
            n++;
        }
    }
}

static int n_poll(void *ctx, uint32_t wait_us, perf_done_fn done, void *arg)
{
    struct nctx *x = ctx;
    int total = 0;
    for (int round = 0;; round++) {
        int rc = send_pending(x);
        if (rc < 0)
            return rc;
        if (x->in_start == x->in_end)
            x->in_start = x->in_end = 0;
        else if (x->in_cap - x->in_end < 65536 && x->in_start) {
            memmove(x->in, x->in + x->in_start, x->in_end - x->in_start);
            x->in_end -= x->in_start;
            x->in_start = 0;
        }
        ssize_t n = recv(x->fd, x->in + x->in_end, x->in_cap - x->in_end, 0);
        if (n == 0)
            return -ECONNRESET;
        if (n > 0) {
            x->in_end += (size_t)n;
            int d = parse_replies(x, done, arg);
            if (d < 0)
                return d;
            total += d;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        if (total > 0 || wait_us == 0 || round > 0)
            return total;
        struct pollfd pf = {.fd = x->fd,
                            .events = POLLIN | (x->out_sent < x->out_len ? POLLOUT : 0)};
        struct timespec ts = {.tv_sec = wait_us / 1000000, .tv_nsec = (long)(wait_us % 1000000) * 1000};
        if (ppoll(&pf, 1, &ts, NULL) <= 0)
            return 0;
    }
}

static void n_close(void *ctx)
{
    struct nctx *x = ctx;
    if (!x)
        return;
    if (x->fd >= 0) {
        struct nbd_request rq = {.type = NBD_CMD_DISC};
        uint8_t b[NBD_REQUEST_SIZE];
        nbd_encode_request(b, &rq);
        int fl = fcntl(x->fd, F_GETFL);
        fcntl(x->fd, F_SETFL, fl & ~O_NONBLOCK);
        send_pending(x);
        (void)!write(x->fd, b, sizeof(b));
        close(x->fd);
    }
    for (uint32_t i = 0; i < x->n_bufs; i++)
        free(x->bufs[i]);
    free(x->bufs);
    free(x->in);
    free(x->out);
    free(x);
}

const struct perf_engine_ops perf_engine_nbd = {
    .name = "nbd",
    .open = n_open,
    .alloc = n_alloc,
    .submit = n_submit,
    .flush = n_flush,
    .poll = n_poll,
    .close = n_close,
};
