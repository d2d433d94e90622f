/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NBD target (see nbd_server.h).
 *
 * The listeners live on the control reactor. An accepted socket becomes a
 * connection handed to a worker reactor (round robin) by message; from
 * then on everything about it — handshake, TLS, requests, replies,
 * teardown — runs on that worker:
 *
 *   input   a level-triggered fd watch reads as much as the input buffer
 *           takes (one read brings many small requests) and a state
 *           machine parses it with nbd_proto.c: client flags, options,
 *           then request headers and WRITE payloads. Large payloads are
 *           read straight into the request's buffer.
 *   I/O     each request is a slot of a fixed per-connection array; it
 *           goes to the connection's bdev channel at once, many in flight;
 *           -ENOMEM parks it on a FIFO behind one blk_io_wait.
 *   output  completions append replies (header + data buffer, no copy) to
 *           a queue; a per-connection poller sends the whole queue with one
 *           writev per reactor turn, so a burst of completions costs one
 *           system call. Replies go out in completion order.
 *   limits  reading stops while every slot is busy or the buffers held by
 *           requests and queued replies pass BUF_LIMIT; it resumes as
 *           replies leave.
 *
 * Lifetime: a connection is torn down only from its own poller, once
 * nothing is in flight (a client that vanishes with 32 reads pending just
 * has their replies dropped). The control thread asks for a teardown
 * (export removal, server destroy) by message and waits for it; the
 * server's lock guards only the export and connection lists, never I/O.
 * A connection holds a reference count: one for being alive, one for each
 * message in flight to it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "blk.h"
#include "kk_err.h"
#include "kk_log.h"
#include "nbd_internal.h"
#include "nbd_proto.h"
#include "nbd_server.h"
#include "nbd_tls.h"

KK_LOG_COMPONENT(nbd_log, "nbd");

#define CONN_SLOTS      128u              /* requests in flight per connection */
#define INBUF_SIZE      (256u * 1024)     /* > NBD_OPT_MAX_LEN + header */
#define BUF_LIMIT       (64u << 20)       /* request buffers held per connection */
#define BUF_KEEP        (256u * 1024)     /* larger request buffers are not cached */
#define BS_MAX_EXTENTS  64u               /* block status descriptors per reply */
#define OUT_IOV         64                /* iovecs per writev */
#define DEFAULT_MAX_CONNS 64u

/* ---- structures ----------------------------------------------------------------- */

struct nbd_export {
    char *name;
    char *description;
    bool read_only;
    struct blk_bdev *bdev;         /* opened while exported */
    unsigned conns;                /* connections in transmission on it (lock) */
    struct nbd_export *next;
};

/* An outgoing message: a reply (inside a request slot) or handshake bytes. */
struct out {
    struct out *next;
    struct iovec iov[2];
    int iovcnt;
    struct req *req;               /* NULL: heap message, freed once sent */
};

enum conn_state {
    ST_FLAGS,                      /* waiting for the 4-byte client flags */
    ST_OPT_HDR,
    ST_OPT_DATA,                   /* option data into the input buffer */
    ST_OPT_SKIP,                   /* dropping oversized option data */
    ST_TLS_WAIT,                   /* STARTTLS acknowledged: flushing the ACK */
    ST_TLS_HANDSHAKE,
    ST_REQ_HDR,
    ST_REQ_PAYLOAD,                /* WRITE payload into the request's buffer */
    ST_REQ_SKIP,                   /* dropping the payload of a refused WRITE */
    ST_DONE,                       /* reading nothing more */
};

struct conn;

struct req {
    struct conn *c;
    struct nbd_request rq;
    uint8_t hdr[NBD_CHUNK_HEADER_SIZE + 8 + 6 + 160]; /* reply header or error chunk */
    uint8_t *buf;
    uint32_t buf_cap;
    uint32_t held;                 /* bytes of buf counted in c->buf_inuse */
    struct iovec iov;
    uint64_t pos, end;             /* TRIM/WRITE_ZEROES progress (split by max_unmap) */
    struct out out;
    struct req *next;              /* free list or parked FIFO */
};

struct conn {
    struct nbd_server *s;
    struct kk_reactor *r;          /* the worker */
    int fd;
    char peer[96];
    int refs;                      /* atomic */
    bool kill_requested;           /* atomic: the control thread wants it gone */
    bool kill_sent;                /* under s->lock */
    struct conn *prev, *next;      /* s->conns, under s->lock */

    struct kk_poller *poller;
    struct kk_fd_watch *watch;
    unsigned watch_events;
    enum conn_state state;
    bool fixed_newstyle, no_zeroes;
    bool structured, meta_base_allocation;
    bool resume_read;              /* reading stopped on a limit that has cleared */
    bool read_blocked;
    bool out_blocked;              /* the socket said EAGAIN: wait for writable */
    bool draining;                 /* close once in-flight work and output are done */
    bool failed;                   /* close as soon as nothing is in flight */
    bool finished;
    const char *close_reason;

    struct nbd_tls *tls;
    bool tls_active;

    uint8_t *inbuf;
    uint32_t in_start, in_end;
    struct nbd_opt_header opt;
    uint32_t skip;                 /* bytes still to drop */
    struct req *cur;               /* request whose payload is being read */
    uint32_t cur_got;

    struct out *out_head, **out_tail;
    size_t out_skip;               /* bytes of out_head already sent */

    /* transmission */
    struct nbd_export *exp;
    struct blk_channel *ch;
    struct nbd_limits lim;
    struct blk_bdev_info info;
    struct req *slots;
    struct req *free_reqs;
    struct req *parked, **parked_tail;
    struct blk_io_wait wait;
    bool waiting;
    uint32_t inflight;             /* submitted to the channel */
    uint32_t busy;                 /* slots in use */
    uint64_t buf_inuse;

    uint64_t n_requests, n_errors, bytes_read, bytes_written;
};

struct listener {
    int fd;
    struct kk_fd_watch *watch;
    struct nbd_server *s;
};

struct nbd_server {
    struct kk_reactor *ctrl;
    struct kk_reactor **workers;
    unsigned n_workers, next_worker;
    struct listener unix_l, tcp_l;
    char *unix_path;
    char *tcp_addr;
    uint16_t tcp_port;
    struct nbd_tls_ctx *tls;
    bool tls_required;
    uint32_t max_conns;

    pthread_mutex_t lock;          /* exports, conns, n_conns */
    struct nbd_export *exports;
    struct conn *conns;
    unsigned n_conns;

    /* counters (atomic, relaxed) */
    uint64_t accepted, refused, protocol_errors, requests, request_errors, tls_sessions;
};

static void conn_unref(struct conn *c);
static void conn_read(struct conn *c);
static void conn_fail(struct conn *c, const char *fmt, ...) KK_PRINTF(2, 3);
static void submit_req(struct req *q);
static void update_watch(struct conn *c);

static inline void count(uint64_t *ctr, uint64_t n)
{
    __atomic_fetch_add(ctr, n, __ATOMIC_RELAXED);
}

/* ---- exports (lookups under s->lock) ------------------------------------------ */

static struct nbd_export *find_export(struct nbd_server *s, const uint8_t *name, uint32_t len)
{
    for (struct nbd_export *e = s->exports; e; e = e->next) {
        if (strlen(e->name) == len && memcmp(e->name, name, len) == 0)
            return e;
    }
    return NULL;
}

static uint16_t tx_flags(const struct blk_bdev_info *in, bool read_only, bool structured)
{
    uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_CAN_MULTI_CONN |
                 NBD_FLAG_SEND_CACHE;
    if (read_only) {
        f |= NBD_FLAG_READ_ONLY;
    } else {
        f |= NBD_FLAG_SEND_FUA;
        if (in->can_unmap)
            f |= NBD_FLAG_SEND_TRIM;
        if (in->can_write_zeroes)
            f |= NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_FAST_ZERO;
    }
    if (structured)
        f |= NBD_FLAG_SEND_DF; /* a READ is always answered with one data chunk */
    return f;
}

static void block_sizes(const struct blk_bdev_info *in, uint32_t *min, uint32_t *pref,
                        uint32_t *max)
{
    uint32_t bs = in->block_size ? in->block_size : 1;
    uint32_t p = in->optimal_io >= bs ? in->optimal_io : 4096;
    if (p < bs)
        p = bs;
    if (p & (p - 1)) /* the spec wants a power of two */
        p = 4096 >= bs ? 4096 : bs;
    uint32_t m = NBD_MAX_PAYLOAD;
    if (in->max_transfer && in->max_transfer < m)
        m = in->max_transfer;
    m -= m % bs;
    if (m < bs)
        m = bs;
    if (p > m)
        p = m;
    *min = bs;
    *pref = p;
    *max = m;
}

/* ---- output ---------------------------------------------------------------------- */

static void queue_out(struct conn *c, struct out *o)
{
    o->next = NULL;
    *c->out_tail = o;
    c->out_tail = &o->next;
}

/* Handshake bytes: copied into a heap message. */
static int queue_bytes(struct conn *c, const void *a, size_t alen, const void *b, size_t blen)
{
    struct out *o = malloc(sizeof(*o) + alen + blen);
    if (!o) {
        conn_fail(c, "out of memory for a handshake reply");
        return -ENOMEM;
    }
    uint8_t *d = (uint8_t *)(o + 1);
    memcpy(d, a, alen);
    if (blen)
        memcpy(d + alen, b, blen);
    o->iov[0].iov_base = d;
    o->iov[0].iov_len = alen + blen;
    o->iovcnt = 1;
    o->req = NULL;
    queue_out(c, o);
    return 0;
}

static int opt_reply(struct conn *c, uint32_t opt, uint32_t type, const void *data, uint32_t len)
{
    uint8_t h[NBD_OPT_REPLY_SIZE];
    nbd_encode_opt_reply(h, opt, type, len);
    KK_LOGD(nbd_log, "%s: %s -> %s", c->peer, nbd_opt_name(opt), nbd_rep_name(type));
    return queue_bytes(c, h, sizeof(h), data, len);
}

static int opt_error(struct conn *c, uint32_t opt, uint32_t type, const char *msg)
{
    KK_LOGI_RL(nbd_log, "%s: option %s refused with %s: %s", c->peer, nbd_opt_name(opt),
               nbd_rep_name(type), msg);
    return opt_reply(c, opt, type, msg, (uint32_t)strlen(msg));
}

static void release_buf(struct conn *c, struct req *q)
{
    if (q->held) {
        c->buf_inuse -= q->held;
        q->held = 0;
        if (c->read_blocked)
            c->resume_read = true;
    }
    if (q->buf_cap > BUF_KEEP) {
        free(q->buf);
        q->buf = NULL;
        q->buf_cap = 0;
    }
}

static void put_req(struct conn *c, struct req *q)
{
    release_buf(c, q);
    q->next = c->free_reqs;
    c->free_reqs = q;
    c->busy--;
    if (c->read_blocked)
        c->resume_read = true;
}

static void out_done(struct conn *c, struct out *o)
{
    if (o->req)
        put_req(c, o->req);
    else
        free(o);
}

static void drop_output(struct conn *c)
{
    while (c->out_head) {
        struct out *o = c->out_head;
        c->out_head = o->next;
        out_done(c, o);
    }
    c->out_tail = &c->out_head;
    c->out_skip = 0;
}

static ssize_t send_iov(struct conn *c, struct iovec *iov, int n)
{
    if (c->tls_active) {
        ssize_t total = 0;
        for (int i = 0; i < n; i++) {
            size_t done = 0;
            while (done < iov[i].iov_len) {
                ssize_t w = nbd_tls_write(c->tls, (uint8_t *)iov[i].iov_base + done,
                                          iov[i].iov_len - done);
                if (w < 0)
                    return total > 0 ? total : w;
                done += (size_t)w;
                total += w;
            }
        }
        return total;
    }
    for (;;) {
        ssize_t w = writev(c->fd, iov, n);
        if (w >= 0)
            return w;
        if (errno == EINTR)
            continue;
        return -errno;
    }
}

/* Send as much of the queue as the socket takes. */
static void flush_out(struct conn *c)
{
    while (c->out_head && !c->failed) {
        struct iovec iov[OUT_IOV];
        int n = 0;
        size_t skip = c->out_skip;
        for (struct out *o = c->out_head; o && n < OUT_IOV - 1; o = o->next) {
            for (int i = 0; i < o->iovcnt; i++) {
                size_t len = o->iov[i].iov_len;
                if (skip >= len) {
                    skip -= len;
                    continue;
                }
                iov[n].iov_base = (uint8_t *)o->iov[i].iov_base + skip;
                iov[n].iov_len = len - skip;
                skip = 0;
                n++;
            }
        }
        ssize_t w = send_iov(c, iov, n);
        if (w == -EAGAIN || w == -EWOULDBLOCK) {
            c->out_blocked = true;
            update_watch(c);
            return;
        }
        if (w < 0) {
            conn_fail(c, "send: %s", kk_strerror((int)w));
            return;
        }
        /* retire whole messages */
        size_t left = c->out_skip + (size_t)w;
        while (c->out_head) {
            struct out *o = c->out_head;
            size_t len = 0;
            for (int i = 0; i < o->iovcnt; i++)
                len += o->iov[i].iov_len;
            if (left < len)
                break;
            left -= len;
            c->out_head = o->next;
            if (!c->out_head)
                c->out_tail = &c->out_head;
            out_done(c, o);
        }
        c->out_skip = left;
    }
    if (c->out_blocked) {
        c->out_blocked = false;
        update_watch(c);
    }
}

/* ---- connection life cycle ------------------------------------------------------ */

static void update_watch(struct conn *c)
{
    if (!c->watch)
        return;
    unsigned ev = 0;
    if (c->state == ST_TLS_HANDSHAKE) {
        ev = nbd_tls_want_write(c->tls) ? KK_FD_WRITE : KK_FD_READ;
    } else {
        if (!c->read_blocked && c->state != ST_DONE && c->state != ST_TLS_WAIT)
            ev |= KK_FD_READ;
        if (c->out_blocked)
            ev |= c->tls_active && !nbd_tls_want_write(c->tls) ? KK_FD_READ : KK_FD_WRITE;
    }
    if (ev != c->watch_events) {
        c->watch_events = ev;
        kk_fd_watch_modify(c->watch, ev);
    }
}

static void conn_fail(struct conn *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    KK_LOGI_RL(nbd_log, "%s: closing: %s", c->peer, msg);
    c->failed = true;
    c->state = ST_DONE;
    drop_output(c);
    update_watch(c);
}

/* A protocol violation: counted, then a hard disconnect. */
static void protocol_error(struct conn *c, const char *why)
{
    count(&c->s->protocol_errors, 1);
    KK_LOGW_RL(nbd_log, "%s: protocol error: %s", c->peer, why);
    conn_fail(c, "protocol error");
}

/* Stop reading; close once what is in flight has been answered. */
static void conn_drain(struct conn *c, const char *reason)
{
    if (c->draining)
        return;
    c->draining = true;
    c->close_reason = reason;
    c->state = ST_DONE;
    update_watch(c);
}

static void free_slots(struct conn *c)
{
    if (!c->slots)
        return;
    for (uint32_t i = 0; i < CONN_SLOTS; i++)
        free(c->slots[i].buf);
    free(c->slots);
    c->slots = NULL;
}

/* Tear down (on the worker, from the poller only, with nothing in flight). */
static void conn_finish(struct conn *c)
{
    struct nbd_server *s = c->s;
    c->finished = true;
    drop_output(c);
    if (c->waiting)
        blk_io_wait_cancel(c->ch, &c->wait);
    if (c->ch) {
        int rc = blk_channel_close(c->ch);
        if (rc < 0)
            KK_LOGE(nbd_log, "%s: closing the channel: %s", c->peer, kk_strerror(rc));
    }
    kk_fd_watch_remove(c->watch);
    c->watch = NULL;
    kk_poller_unregister(c->poller);
    c->poller = NULL;
    if (c->tls) {
        if (c->tls_active && !c->failed)
            nbd_tls_shutdown(c->tls);
        nbd_tls_free(c->tls);
        c->tls = NULL;
    }
    close(c->fd);
    c->fd = -1;
    free_slots(c);
    free(c->inbuf);
    c->inbuf = NULL;
    KK_LOGI(nbd_log, "%s: disconnected (%s); %" PRIu64 " requests, %" PRIu64 " errors, %" PRIu64
                     " bytes read, %" PRIu64 " written",
            c->peer, c->close_reason ? c->close_reason : c->failed ? "error" : "closed",
            c->n_requests, c->n_errors, c->bytes_read, c->bytes_written);
    count(&s->requests, c->n_requests);
    count(&s->request_errors, c->n_errors);
    pthread_mutex_lock(&s->lock);
    if (c->exp)
        c->exp->conns--;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    pthread_mutex_unlock(&s->lock);
    /* From here on the server may be gone: touch only @c. */
    conn_unref(c);
}

static void conn_unref(struct conn *c)
{
    if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(c);
}

static bool conn_can_finish(const struct conn *c)
{
    if (c->inflight)
        return false;
    if (c->failed)
        return true;
    return c->draining && !c->out_head && !c->parked;
}

static int conn_poll(void *arg)
{
    struct conn *c = arg;
    int work = 0;
    if (__atomic_load_n(&c->kill_requested, __ATOMIC_ACQUIRE) && !c->failed) {
        c->close_reason = "export removed or server shutting down";
        conn_fail(c, "%s", c->close_reason);
    }
    if (c->resume_read && !c->failed) {
        c->resume_read = false;
        if (c->read_blocked) {
            c->read_blocked = false;
            update_watch(c);
            conn_read(c);
        }
        work++;
    }
    if (c->out_head && !c->out_blocked && !c->failed) {
        flush_out(c);
        work++;
    }
    if (c->state == ST_TLS_WAIT && !c->out_head && !c->failed) {
        int rc = nbd_tls_new(c->s->tls, c->fd, &c->tls);
        if (rc < 0) {
            conn_fail(c, "TLS session: %s", kk_strerror(rc));
        } else {
            c->state = ST_TLS_HANDSHAKE;
            update_watch(c);
        }
        work++;
    }
    if ((c->failed || c->draining) && conn_can_finish(c)) {
        conn_finish(c);
        return 1;
    }
    return work;
}

static bool conn_arm(void *arg, bool enable)
{
    struct conn *c = arg;
    if (!enable)
        return false;
    return __atomic_load_n(&c->kill_requested, __ATOMIC_ACQUIRE) || c->resume_read ||
           (c->out_head && !c->out_blocked && !c->failed) ||
           (c->state == ST_TLS_WAIT && !c->out_head) ||
           ((c->failed || c->draining) && conn_can_finish(c));
}

/* ---- handshake --------------------------------------------------------------------- */

static void tls_step(struct conn *c)
{
    char err[256] = "";
    int rc = nbd_tls_handshake(c->tls, err, sizeof(err));
    if (rc == -EAGAIN) {
        update_watch(c);
        return;
    }
    if (rc < 0) {
        count(&c->s->protocol_errors, 1);
        KK_LOGW_RL(nbd_log, "%s: TLS handshake failed: %s", c->peer, err);
        conn_fail(c, "TLS handshake failed");
        return;
    }
    char d[96];
    KK_LOGI(nbd_log, "%s: TLS established (%s)", c->peer, nbd_tls_describe(c->tls, d, sizeof(d)));
    count(&c->s->tls_sessions, 1);
    c->tls_active = true;
    c->state = ST_OPT_HDR;
    update_watch(c);
    /* the client may already have sent its next option */
    conn_read(c);
}

/* Attach to export @name and open a channel; fills c->exp/info/lim. */
static int enter_transmission_prepare(struct conn *c, const uint8_t *name, uint32_t len,
                                      char *err, size_t errlen)
{
    struct nbd_server *s = c->s;
    pthread_mutex_lock(&s->lock);
    struct nbd_export *e = find_export(s, name, len);
    if (e)
        e->conns++;
    pthread_mutex_unlock(&s->lock);
    if (!e) {
        snprintf(err, errlen, "no export named '%.*s'", (int)(len > 256 ? 256 : len), name);
        return -ENOENT;
    }
    blk_bdev_get_info(e->bdev, &c->info);
    struct blk_channel *ch;
    int rc = blk_channel_open(e->bdev, c->r, CONN_SLOTS, &ch);
    if (rc == 0) {
        c->slots = calloc(CONN_SLOTS, sizeof(*c->slots));
        if (!c->slots) {
            blk_channel_close(ch);
            rc = -ENOMEM;
        }
    }
    if (rc < 0) {
        pthread_mutex_lock(&s->lock);
        e->conns--;
        pthread_mutex_unlock(&s->lock);
        snprintf(err, errlen, "cannot open bdev %s: %s", blk_bdev_name(e->bdev), kk_strerror(rc));
        return rc;
    }
    c->exp = e;
    c->ch = ch;
    for (uint32_t i = CONN_SLOTS; i-- > 0;) {
        c->slots[i].c = c;
        c->slots[i].next = c->free_reqs;
        c->free_reqs = &c->slots[i];
    }
    uint32_t pref, max;
    c->lim.size = c->info.size;
    block_sizes(&c->info, &c->lim.min_block, &pref, &max);
    c->lim.max_payload = max;
    c->lim.tx_flags = tx_flags(&c->info, e->read_only || c->info.read_only, c->structured);
    c->lim.structured = c->structured;
    c->lim.meta_base_allocation = c->meta_base_allocation;
    return 0;
}

static void enter_transmission(struct conn *c)
{
    c->state = ST_REQ_HDR;
    KK_LOGI(nbd_log, "%s: export '%s' (bdev %s, %" PRIu64 " bytes%s%s%s%s)", c->peer,
            c->exp->name, blk_bdev_name(c->exp->bdev), c->lim.size,
            (c->lim.tx_flags & NBD_FLAG_READ_ONLY) ? ", read-only" : "",
            c->structured ? ", structured replies" : "",
            c->meta_base_allocation ? ", base:allocation" : "", c->tls_active ? ", TLS" : "");
}

static void do_export_name(struct conn *c, const uint8_t *data, uint32_t len)
{
    char err[300];
    if (nbd_check_string(data, len) < 0) {
        protocol_error(c, "EXPORT_NAME with an invalid name");
        return;
    }
    if (c->s->tls && c->s->tls_required && !c->tls_active) {
        protocol_error(c, "EXPORT_NAME before STARTTLS on a TLS-only server");
        return;
    }
    if (enter_transmission_prepare(c, data, len, err, sizeof(err)) < 0) {
        /* EXPORT_NAME cannot fail politely: the spec says close */
        KK_LOGW_RL(nbd_log, "%s: EXPORT_NAME: %s", c->peer, err);
        conn_fail(c, "EXPORT_NAME refused");
        return;
    }
    uint8_t buf[NBD_EXPORT_NAME_REPLY_SIZE];
    size_t n = nbd_encode_export_name_reply(buf, c->lim.size, c->lim.tx_flags, c->no_zeroes);
    if (queue_bytes(c, buf, n, NULL, 0) == 0)
        enter_transmission(c);
}

static void do_info_go(struct conn *c, uint32_t opt, const uint8_t *data, uint32_t len)
{
    struct nbd_info_request ir;
    char why[200];
    if (nbd_parse_info_request(data, len, &ir, why, sizeof(why)) < 0) {
        opt_error(c, opt, NBD_REP_ERR_INVALID, why);
        return;
    }
    struct blk_bdev_info info;
    struct nbd_export *e = NULL;
    char name[NBD_MAX_STRING + 1], desc[NBD_MAX_STRING + 1];
    bool ro = false;
    if (opt == NBD_OPT_GO) {
        int rc = enter_transmission_prepare(c, ir.name, ir.name_len, why, sizeof(why));
        if (rc < 0) {
            opt_error(c, opt, rc == -ENOENT ? NBD_REP_ERR_UNKNOWN : NBD_REP_ERR_SHUTDOWN, why);
            return;
        }
        e = c->exp;
        info = c->info;
        ro = (c->lim.tx_flags & NBD_FLAG_READ_ONLY) != 0;
        snprintf(name, sizeof(name), "%s", e->name);
        snprintf(desc, sizeof(desc), "%s", e->description ? e->description : "");
    } else {
        pthread_mutex_lock(&c->s->lock);
        e = find_export(c->s, ir.name, ir.name_len);
        if (e) {
            blk_bdev_get_info(e->bdev, &info);
            ro = e->read_only || info.read_only;
            snprintf(name, sizeof(name), "%s", e->name);
            snprintf(desc, sizeof(desc), "%s", e->description ? e->description : "");
        }
        pthread_mutex_unlock(&c->s->lock);
        if (!e) {
            snprintf(why, sizeof(why), "no export named '%.*s'",
                     (int)(ir.name_len > 256 ? 256 : ir.name_len), ir.name);
            opt_error(c, opt, NBD_REP_ERR_UNKNOWN, why);
            return;
        }
    }
    uint8_t buf[2 + NBD_MAX_STRING];
    uint16_t flags = tx_flags(&info, ro, c->structured);
    size_t n = nbd_encode_info_export(buf, info.size, flags);
    opt_reply(c, opt, NBD_REP_INFO, buf, (uint32_t)n);
    if (ir.want_name) {
        n = nbd_encode_info_string(buf, NBD_INFO_NAME, name, (uint32_t)strlen(name));
        opt_reply(c, opt, NBD_REP_INFO, buf, (uint32_t)n);
    }
    if (ir.want_description && desc[0]) {
        n = nbd_encode_info_string(buf, NBD_INFO_DESCRIPTION, desc, (uint32_t)strlen(desc));
        opt_reply(c, opt, NBD_REP_INFO, buf, (uint32_t)n);
    }
    /* always sent: clients that did not ask must still respect it, and
     * every client we know asks */
    uint32_t min, pref, max;
    block_sizes(&info, &min, &pref, &max);
    n = nbd_encode_info_block_size(buf, min, pref, max);
    opt_reply(c, opt, NBD_REP_INFO, buf, (uint32_t)n);
    opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
    if (opt == NBD_OPT_GO && !c->failed)
        enter_transmission(c);
}

static void do_meta(struct conn *c, uint32_t opt, const uint8_t *data, uint32_t len)
{
    bool list = opt == NBD_OPT_LIST_META_CONTEXT;
    char why[200];
    if (!c->structured) {
        opt_error(c, opt, NBD_REP_ERR_INVALID, "negotiate STRUCTURED_REPLY first");
        return;
    }
    struct nbd_meta_request *mr = malloc(sizeof(*mr));
    if (!mr) {
        conn_fail(c, "out of memory");
        return;
    }
    int rc = nbd_parse_meta_request(data, len, mr, why, sizeof(why));
    if (rc < 0) {
        opt_error(c, opt, rc == -E2BIG ? NBD_REP_ERR_TOO_BIG : NBD_REP_ERR_INVALID, why);
        free(mr);
        return;
    }
    pthread_mutex_lock(&c->s->lock);
    bool found = find_export(c->s, mr->name, mr->name_len) != NULL;
    pthread_mutex_unlock(&c->s->lock);
    if (!found) {
        snprintf(why, sizeof(why), "no export named '%.*s'",
                 (int)(mr->name_len > 256 ? 256 : mr->name_len), mr->name);
        opt_error(c, opt, NBD_REP_ERR_UNKNOWN, why);
        free(mr);
        return;
    }
    bool sel = list && mr->n_queries == 0;
    for (uint32_t i = 0; i < mr->n_queries; i++) {
        if (nbd_meta_query_selects_base_allocation(mr->query[i], mr->query_len[i], list))
            sel = true;
    }
    free(mr);
    if (!list)
        c->meta_base_allocation = sel;
    if (sel) {
        static const char ctx[] = "base:allocation";
        uint8_t buf[4 + sizeof(ctx)];
        nbd_put32(buf, list ? 0 : NBD_META_BASE_ALLOCATION_ID);
        memcpy(buf + 4, ctx, sizeof(ctx) - 1);
        opt_reply(c, opt, NBD_REP_META_CONTEXT, buf, (uint32_t)(4 + sizeof(ctx) - 1));
    }
    opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
}

static void do_list(struct conn *c, uint32_t opt)
{
    pthread_mutex_lock(&c->s->lock);
    for (struct nbd_export *e = c->s->exports; e; e = e->next) {
        size_t nl = strlen(e->name);
        uint8_t *buf = malloc(4 + nl);
        if (!buf)
            break;
        nbd_put32(buf, (uint32_t)nl);
        memcpy(buf + 4, e->name, nl);
        opt_reply(c, opt, NBD_REP_SERVER, buf, (uint32_t)(4 + nl));
        free(buf);
    }
    pthread_mutex_unlock(&c->s->lock);
    opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
}

static void handle_option(struct conn *c, const uint8_t *data)
{
    uint32_t opt = c->opt.opt, len = c->opt.len;
    struct nbd_server *s = c->s;
    if (opt == NBD_OPT_EXPORT_NAME) {
        do_export_name(c, data, len);
        return;
    }
    if (!c->fixed_newstyle) {
        /* a plain newstyle client knows only EXPORT_NAME */
        protocol_error(c, "option other than EXPORT_NAME from a non-fixed-newstyle client");
        return;
    }
    if (s->tls && s->tls_required && !c->tls_active && opt != NBD_OPT_STARTTLS &&
        opt != NBD_OPT_ABORT) {
        opt_error(c, opt, NBD_REP_ERR_TLS_REQD, "this server requires TLS: send STARTTLS");
        return;
    }
    switch (opt) {
    case NBD_OPT_ABORT:
        opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
        conn_drain(c, "client aborted the handshake");
        return;
    case NBD_OPT_LIST:
        if (len)
            opt_error(c, opt, NBD_REP_ERR_INVALID, "LIST takes no data");
        else
            do_list(c, opt);
        return;
    case NBD_OPT_STARTTLS:
        if (len) {
            opt_error(c, opt, NBD_REP_ERR_INVALID, "STARTTLS takes no data");
        } else if (!s->tls) {
            opt_error(c, opt, NBD_REP_ERR_POLICY, "TLS is not configured on this server");
        } else if (c->tls_active) {
            opt_error(c, opt, NBD_REP_ERR_INVALID, "TLS is already active");
        } else if (c->in_end != c->in_start) {
            /* bytes after STARTTLS would be read in plain text: an injection */
            protocol_error(c, "data after STARTTLS before the TLS handshake");
        } else {
            opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
            c->state = ST_TLS_WAIT; /* the poller starts TLS once the ACK is out */
            update_watch(c);
        }
        return;
    case NBD_OPT_INFO:
    case NBD_OPT_GO:
        do_info_go(c, opt, data, len);
        return;
    case NBD_OPT_STRUCTURED_REPLY:
        if (len)
            opt_error(c, opt, NBD_REP_ERR_INVALID, "STRUCTURED_REPLY takes no data");
        else if (c->structured)
            opt_error(c, opt, NBD_REP_ERR_INVALID, "structured replies are already on");
        else {
            c->structured = true;
            opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
        }
        return;
    case NBD_OPT_LIST_META_CONTEXT:
    case NBD_OPT_SET_META_CONTEXT:
        do_meta(c, opt, data, len);
        return;
    default: {
        char msg[64];
        snprintf(msg, sizeof(msg), "option %u is not supported", opt);
        opt_error(c, opt, NBD_REP_ERR_UNSUP, msg);
        return;
    }
    }
}

/* ---- transmission: replies ------------------------------------------------------------- */

static void reply_simple(struct req *q, uint32_t error, bool with_data)
{
    struct conn *c = q->c;
    nbd_encode_simple_reply(q->hdr, error, q->rq.handle);
    q->out.iov[0].iov_base = q->hdr;
    q->out.iov[0].iov_len = NBD_SIMPLE_REPLY_SIZE;
    q->out.iovcnt = 1;
    if (with_data) {
        q->out.iov[1].iov_base = q->buf;
        q->out.iov[1].iov_len = q->rq.len;
        q->out.iovcnt = 2;
    }
    q->out.req = q;
    queue_out(c, &q->out);
}

static void reply_error(struct req *q, uint32_t error, const char *msg)
{
    struct conn *c = q->c;
    c->n_errors++;
    if (!c->structured) {
        /* a simple READ error carries no data */
        reply_simple(q, error, false);
        return;
    }
    size_t n = nbd_encode_error_chunk(q->hdr, sizeof(q->hdr), NBD_REPLY_FLAG_DONE, q->rq.handle,
                                      error, msg, false, 0);
    q->out.iov[0].iov_base = q->hdr;
    q->out.iov[0].iov_len = n;
    q->out.iovcnt = 1;
    q->out.req = q;
    queue_out(c, &q->out);
}

static void reply_read(struct req *q)
{
    struct conn *c = q->c;
    c->bytes_read += q->rq.len;
    if (!c->structured) {
        reply_simple(q, 0, true);
        return;
    }
    nbd_encode_data_chunk(q->hdr, NBD_REPLY_FLAG_DONE, q->rq.handle, q->rq.offset, q->rq.len);
    q->out.iov[0].iov_base = q->hdr;
    q->out.iov[0].iov_len = NBD_DATA_CHUNK_PREFIX;
    q->out.iov[1].iov_base = q->buf;
    q->out.iov[1].iov_len = q->rq.len;
    q->out.iovcnt = 2;
    q->out.req = q;
    queue_out(c, &q->out);
}

/* A request that will not be answered (the connection failed). */
static void drop_req(struct req *q)
{
    put_req(q->c, q);
}

static void finish_req(struct req *q, int result)
{
    struct conn *c = q->c;
    if (c->failed) {
        drop_req(q);
        return;
    }
    if (result < 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s at %" PRIu64 "+%u: %s", nbd_cmd_name(q->rq.type),
                 q->rq.offset, q->rq.len, kk_strerror(result));
        KK_LOGD_RL(nbd_log, "%s: %s", c->peer, msg);
        reply_error(q, nbd_errno_to_wire(result), msg);
        return;
    }
    if (q->rq.type == NBD_CMD_READ)
        reply_read(q);
    else
        reply_simple(q, 0, false);
}

/* ---- transmission: execution ----------------------------------------------------------- */

static int need_buf(struct req *q, uint32_t len)
{
    if (q->buf_cap < len) {
        free(q->buf);
        q->buf = NULL;
        q->buf_cap = 0;
        size_t cap = ((size_t)len + 4095) & ~(size_t)4095;
        void *p;
        if (posix_memalign(&p, 4096, cap) != 0)
            return -ENOMEM;
        q->buf = p;
        q->buf_cap = (uint32_t)cap;
    }
    q->held = len;
    q->c->buf_inuse += len;
    return 0;
}

static void io_done(void *arg, int result);

static void on_wait(void *arg)
{
    struct conn *c = arg;
    c->waiting = false;
    while (c->parked && !c->waiting) {
        struct req *q = c->parked;
        c->parked = q->next;
        if (!c->parked)
            c->parked_tail = &c->parked;
        if (c->failed) {
            drop_req(q);
            continue;
        }
        submit_req(q); /* may park again (and set c->waiting) */
    }
}

static void park(struct req *q)
{
    struct conn *c = q->c;
    q->next = NULL;
    *c->parked_tail = q;
    c->parked_tail = &q->next;
    if (!c->waiting) {
        c->waiting = true;
        c->wait.fn = on_wait;
        c->wait.arg = c;
        blk_io_wait(c->ch, &c->wait);
    }
}

static uint32_t chunk_len(const struct conn *c, uint64_t left)
{
    uint64_t m = c->info.max_unmap ? c->info.max_unmap : left;
    return (uint32_t)(left < m ? left : m);
}

static int submit_block_status(struct req *q)
{
    struct conn *c = q->c;
    uint32_t max = (q->rq.flags & NBD_CMD_FLAG_REQ_ONE) ? 1 : BS_MAX_EXTENTS;
    return blk_block_status(c->ch, q->rq.offset, q->rq.len, (struct blk_extent *)(void *)q->buf,
                            max, io_done, q);
}

/* Submit (or resubmit after a wait) request @q to the channel. */
static void submit_req(struct req *q)
{
    struct conn *c = q->c;
    unsigned fua = (q->rq.flags & NBD_CMD_FLAG_FUA) ? BLK_IO_FUA : 0;
    int rc;
    switch (q->rq.type) {
    case NBD_CMD_READ:
        rc = blk_read(c->ch, q->rq.offset, &q->iov, 1, io_done, q);
        break;
    case NBD_CMD_WRITE:
        rc = blk_write(c->ch, q->rq.offset, &q->iov, 1, fua, io_done, q);
        break;
    case NBD_CMD_FLUSH:
        rc = blk_flush(c->ch, io_done, q);
        break;
    case NBD_CMD_TRIM:
        rc = blk_unmap(c->ch, q->pos, chunk_len(c, q->end - q->pos), io_done, q);
        break;
    case NBD_CMD_WRITE_ZEROES: {
        unsigned f = fua | ((q->rq.flags & NBD_CMD_FLAG_NO_HOLE) ? BLK_IO_NO_UNMAP : 0);
        rc = blk_write_zeroes(c->ch, q->pos, chunk_len(c, q->end - q->pos), f, io_done, q);
        break;
    }
    case NBD_CMD_BLOCK_STATUS:
        rc = submit_block_status(q);
        break;
    default:
        rc = -EINVAL;
        break;
    }
    if (rc == 0) {
        c->inflight++;
        return;
    }
    if (rc == -ENOMEM) {
        park(q);
        return;
    }
    finish_req(q, rc);
}

static void reply_block_status(struct req *q, int n)
{
    struct conn *c = q->c;
    const struct blk_extent *ext = (const struct blk_extent *)(void *)q->buf;
    struct nbd_extent out[BS_MAX_EXTENTS];
    uint32_t k = 0;
    uint64_t covered = 0;
    uint32_t max = (q->rq.flags & NBD_CMD_FLAG_REQ_ONE) ? 1 : BS_MAX_EXTENTS;
    for (int i = 0; i < n && i < (int)max && covered < q->rq.len; i++) {
        uint64_t len = ext[i].len;
        if (len == 0)
            break;
        if (len > q->rq.len - covered)
            len = q->rq.len - covered;
        uint32_t fl = 0;
        if (ext[i].flags & BLK_EXTENT_HOLE)
            fl |= NBD_STATE_HOLE;
        if (ext[i].flags & BLK_EXTENT_ZERO)
            fl |= NBD_STATE_ZERO;
        if (k > 0 && out[k - 1].flags == fl) {
            out[k - 1].len += (uint32_t)len;
        } else {
            out[k].len = (uint32_t)len;
            out[k].flags = fl;
            k++;
        }
        covered += len;
    }
    if (k == 0) {
        out[0].len = q->rq.len;
        out[0].flags = 0;
        k = 1;
    }
    /* the encoded reply goes after the extent array in the same buffer */
    uint8_t *enc = q->buf + BS_MAX_EXTENTS * sizeof(struct blk_extent);
    size_t len = nbd_encode_block_status(enc, NBD_REPLY_FLAG_DONE, q->rq.handle,
                                         NBD_META_BASE_ALLOCATION_ID, out, k);
    q->out.iov[0].iov_base = enc;
    q->out.iov[0].iov_len = len;
    q->out.iovcnt = 1;
    q->out.req = q;
    queue_out(c, &q->out);
}

static void io_done(void *arg, int result)
{
    struct req *q = arg;
    struct conn *c = q->c;
    c->inflight--;
    if (result >= 0 && !c->failed) {
        switch (q->rq.type) {
        case NBD_CMD_TRIM:
        case NBD_CMD_WRITE_ZEROES:
            q->pos += chunk_len(c, q->end - q->pos);
            if (q->pos < q->end) {
                submit_req(q);
                return;
            }
            break;
        case NBD_CMD_BLOCK_STATUS:
            reply_block_status(q, result);
            return;
        case NBD_CMD_WRITE:
            c->bytes_written += q->rq.len;
            break;
        default:
            break;
        }
    }
    finish_req(q, result < 0 ? result : 0);
}

/* Start request @q (header parsed and validated, payload in q->buf). */
static void start_req(struct req *q)
{
    struct conn *c = q->c;
    c->n_requests++;
    switch (q->rq.type) {
    case NBD_CMD_CACHE:
        /* advisory: the range was validated; backends have no cache to fill */
        finish_req(q, 0);
        return;
    case NBD_CMD_TRIM:
    case NBD_CMD_WRITE_ZEROES:
        q->pos = q->rq.offset;
        q->end = q->rq.offset + q->rq.len;
        break;
    default:
        break;
    }
    submit_req(q);
}

static struct req *get_req(struct conn *c)
{
    struct req *q = c->free_reqs;
    c->free_reqs = q->next;
    q->next = NULL;
    q->held = 0;
    c->busy++;
    return q;
}

/*
 * Handle the request header at @p. Returns 1 when consumed, 0 when reading
 * must stop for now (limits).
 */
static int handle_request(struct conn *c, const uint8_t *p)
{
    struct nbd_request rq;
    char why[200];
    if (nbd_parse_request(p, &rq, why, sizeof(why)) < 0) {
        protocol_error(c, why);
        return 1;
    }
    uint32_t error = 0;
    enum nbd_verdict v = nbd_check_request(&rq, &c->lim, &error, why, sizeof(why));
    if (v == NBD_DISCONNECT) {
        KK_LOGD(nbd_log, "%s: DISC", c->peer);
        conn_drain(c, "client disconnected (NBD_CMD_DISC)");
        return 1;
    }
    uint32_t need = 0;
    if (v == NBD_OK && (rq.type == NBD_CMD_READ || rq.type == NBD_CMD_WRITE))
        need = rq.len;
    else if (v == NBD_OK && rq.type == NBD_CMD_BLOCK_STATUS)
        need = BS_MAX_EXTENTS * (uint32_t)sizeof(struct blk_extent) + NBD_CHUNK_HEADER_SIZE + 4 +
               BS_MAX_EXTENTS * 8;
    if (!c->free_reqs || (c->buf_inuse && c->buf_inuse + need > BUF_LIMIT)) {
        c->read_blocked = true;
        update_watch(c);
        return 0;
    }
    struct req *q = get_req(c);
    q->rq = rq;
    if (v != NBD_OK) {
        c->n_requests++;
        KK_LOGI_RL(nbd_log, "%s: %s refused: %s", c->peer, nbd_cmd_name(rq.type), why);
        reply_error(q, error, why);
        if (v == NBD_ERROR_CLOSE) {
            conn_drain(c, "request too large to follow");
            return 1;
        }
        if (rq.type == NBD_CMD_WRITE && rq.len) {
            c->skip = rq.len;
            c->state = ST_REQ_SKIP;
        }
        return 1;
    }
    if (need && need_buf(q, need) < 0) {
        q->rq.type = NBD_CMD_READ; /* whatever it was: answer without data */
        reply_error(q, NBD_ENOMEM, "out of memory");
        if (rq.type == NBD_CMD_WRITE) {
            c->skip = rq.len;
            c->state = ST_REQ_SKIP;
        }
        return 1;
    }
    q->iov.iov_base = q->buf;
    q->iov.iov_len = rq.len;
    if (rq.type == NBD_CMD_WRITE) {
        c->cur = q;
        c->cur_got = 0;
        c->state = ST_REQ_PAYLOAD;
        return 1;
    }
    start_req(q);
    return 1;
}

/* ---- input ---------------------------------------------------------------------------- */

static ssize_t recv_some(struct conn *c, void *buf, size_t len)
{
    if (c->tls_active)
        return nbd_tls_read(c->tls, buf, len);
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return -errno;
    }
}

/* Consume what the input buffer holds. Returns false when reading must
 * pause (blocked or closing). */
static bool parse_input(struct conn *c)
{
    for (;;) {
        uint32_t avail = c->in_end - c->in_start;
        const uint8_t *p = c->inbuf + c->in_start;
        if (c->failed || c->draining || c->read_blocked)
            return false;
        switch (c->state) {
        case ST_FLAGS: {
            if (avail < 4)
                return true;
            char why[128];
            uint32_t flags = nbd_get32(p);
            c->in_start += 4;
            if (nbd_parse_client_flags(flags, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES,
                                       &c->no_zeroes, why, sizeof(why)) < 0) {
                protocol_error(c, why);
                return false;
            }
            c->fixed_newstyle = (flags & NBD_FLAG_C_FIXED_NEWSTYLE) != 0;
            c->state = ST_OPT_HDR;
            break;
        }
        case ST_OPT_HDR: {
            if (avail < NBD_OPT_HEADER_SIZE)
                return true;
            char why[128];
            if (nbd_parse_opt_header(p, &c->opt, why, sizeof(why)) < 0) {
                protocol_error(c, why);
                return false;
            }
            c->in_start += NBD_OPT_HEADER_SIZE;
            if (c->opt.len > NBD_OPT_MAX_LEN) {
                if (c->opt.opt == NBD_OPT_EXPORT_NAME) {
                    protocol_error(c, "EXPORT_NAME longer than any name");
                    return false;
                }
                c->skip = c->opt.len;
                c->state = ST_OPT_SKIP;
            } else {
                c->state = ST_OPT_DATA;
            }
            break;
        }
        case ST_OPT_DATA:
            if (avail < c->opt.len)
                return true;
            c->in_start += c->opt.len;
            c->state = ST_OPT_HDR;
            handle_option(c, p);
            if (c->state == ST_TLS_WAIT)
                return false;
            break;
        case ST_OPT_SKIP:
        case ST_REQ_SKIP: {
            uint32_t n = avail < c->skip ? avail : c->skip;
            c->in_start += n;
            c->skip -= n;
            if (c->skip)
                return true;
            if (c->state == ST_OPT_SKIP) {
                c->state = ST_OPT_HDR;
                opt_error(c, c->opt.opt, NBD_REP_ERR_TOO_BIG, "option data too large");
            } else {
                c->state = ST_REQ_HDR;
            }
            break;
        }
        case ST_REQ_HDR:
            if (avail < NBD_REQUEST_SIZE)
                return true;
            if (!handle_request(c, p))
                return false;
            c->in_start += NBD_REQUEST_SIZE;
            break;
        case ST_REQ_PAYLOAD: {
            struct req *q = c->cur;
            uint32_t n = q->rq.len - c->cur_got;
            if (n > avail)
                n = avail;
            memcpy(q->buf + c->cur_got, p, n);
            c->in_start += n;
            c->cur_got += n;
            if (c->cur_got < q->rq.len)
                return true;
            c->cur = NULL;
            c->state = ST_REQ_HDR;
            start_req(q);
            break;
        }
        case ST_TLS_WAIT:
        case ST_TLS_HANDSHAKE:
        case ST_DONE:
            return false;
        }
    }
}

static void conn_read(struct conn *c)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        if (!parse_input(c))
            return;
        if (c->in_start == c->in_end)
            c->in_start = c->in_end = 0;
        ssize_t n;
        if (c->state == ST_REQ_PAYLOAD && c->in_start == c->in_end &&
            c->cur->rq.len - c->cur_got >= INBUF_SIZE / 2) {
            /* a large payload goes straight into its buffer */
            struct req *q = c->cur;
            n = recv_some(c, q->buf + c->cur_got, q->rq.len - c->cur_got);
            if (n > 0) {
                c->cur_got += (uint32_t)n;
                if (c->cur_got == q->rq.len) {
                    c->cur = NULL;
                    c->state = ST_REQ_HDR;
                    start_req(q);
                }
                continue;
            }
        } else {
            if (c->in_start > 0 && INBUF_SIZE - c->in_end < NBD_REQUEST_SIZE + 4096) {
                memmove(c->inbuf, c->inbuf + c->in_start, c->in_end - c->in_start);
                c->in_end -= c->in_start;
                c->in_start = 0;
            }
            n = recv_some(c, c->inbuf + c->in_end, INBUF_SIZE - c->in_end);
            if (n > 0) {
                c->in_end += (uint32_t)n;
                continue;
            }
        }
        if (n == -EAGAIN || n == -EWOULDBLOCK) {
            if (c->tls_active && nbd_tls_want_write(c->tls)) {
                /* renegotiation-like state: wait for writability */
                c->out_blocked = true;
                update_watch(c);
            }
            return;
        }
        if (n == 0) {
            c->close_reason = c->inflight ? "client went away with requests in flight"
                                          : "client closed the connection";
            conn_fail(c, "%s", c->close_reason);
        } else {
            conn_fail(c, "receive: %s", kk_strerror((int)n));
        }
        return;
    }
    /* still more input: come back next turn so other connections run */
    c->resume_read = true;
    c->read_blocked = true;
}

static void conn_event(void *arg, int fd, unsigned events)
{
    (void)fd;
    struct conn *c = arg;
    if (c->failed)
        return;
    if (c->state == ST_TLS_HANDSHAKE) {
        tls_step(c);
        return;
    }
    if (c->out_blocked && (events & (KK_FD_WRITE | KK_FD_READ | KK_FD_ERROR))) {
        c->out_blocked = false;
        flush_out(c);
        update_watch(c);
    }
    if ((events & (KK_FD_READ | KK_FD_ERROR)) && !c->read_blocked && c->state != ST_DONE &&
        !c->failed)
        conn_read(c);
    else if ((events & KK_FD_ERROR) && c->state == ST_DONE && !c->failed)
        conn_fail(c, "socket error or hang-up");
}

/* Runs on the worker: the connection starts here. */
static void conn_start(void *arg)
{
    struct conn *c = arg;
    uint8_t g[NBD_GREETING_SIZE];
    int rc = kk_poller_register(c->r, conn_poll, c, 0, &c->poller);
    if (rc == 0) {
        kk_poller_set_arm(c->poller, conn_arm);
        c->watch_events = KK_FD_READ;
        rc = kk_fd_watch_add(c->r, c->fd, KK_FD_READ, conn_event, c, &c->watch);
    }
    if (rc < 0) {
        KK_LOGE(nbd_log, "%s: cannot start the connection: %s", c->peer, kk_strerror(rc));
        c->failed = true;
        if (!c->poller) {
            /* no poller to finish it: do it here */
            conn_finish(c);
            conn_unref(c); /* the start message's reference */
            return;
        }
    } else {
        nbd_encode_greeting(g, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
        queue_bytes(c, g, sizeof(g), NULL, 0);
    }
    conn_unref(c); /* the start message's reference */
}

static void conn_kill_msg(void *arg)
{
    struct conn *c = arg;
    /* the poller sees kill_requested; this message only wakes the reactor */
    conn_unref(c);
}

/* Under s->lock, on the control thread. */
static void request_kill(struct conn *c)
{
    __atomic_store_n(&c->kill_requested, true, __ATOMIC_RELEASE);
    if (c->kill_sent)
        return;
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
    if (kk_reactor_send(c->r, conn_kill_msg, c) == 0)
        c->kill_sent = true;
    else
        __atomic_sub_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

/* ---- accepting ------------------------------------------------------------------------ */

static int add_conn(struct nbd_server *s, int fd, const char *peer)
{
    pthread_mutex_lock(&s->lock);
    bool full = s->n_conns >= s->max_conns;
    pthread_mutex_unlock(&s->lock);
    if (full) {
        count(&s->refused, 1);
        KK_LOGW_RL(nbd_log, "%s: refused: %u connections already (max_connections)", peer,
                   s->max_conns);
        close(fd);
        return -EBUSY;
    }
    struct conn *c = calloc(1, sizeof(*c));
    uint8_t *in = malloc(INBUF_SIZE);
    if (!c || !in) {
        free(c);
        free(in);
        close(fd);
        return -ENOMEM;
    }
    /* room for several large READ replies: fewer EAGAINs, so fewer
     * write-interest toggles (epoll_ctl) per reply; FORCE needs
     * CAP_NET_ADMIN, the plain call is capped by net.core.wmem_max */
    int sndbuf = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    c->s = s;
    c->fd = fd;
    c->inbuf = in;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    c->out_tail = &c->out_head;
    c->parked_tail = &c->parked;
    c->state = ST_FLAGS;
    c->refs = 2; /* alive + the start message */
    c->r = s->workers[s->next_worker++ % s->n_workers];
    pthread_mutex_lock(&s->lock);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    pthread_mutex_unlock(&s->lock);
    count(&s->accepted, 1);
    KK_LOGI(nbd_log, "%s: connected (worker %s)", c->peer, kk_reactor_name(c->r));
    int rc = kk_reactor_send(c->r, conn_start, c);
    if (rc < 0) {
        KK_LOGE(nbd_log, "%s: cannot hand the connection to a worker: %s", peer,
                kk_strerror(rc));
        pthread_mutex_lock(&s->lock);
        if (c->prev)
            c->prev->next = c->next;
        else
            s->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        s->n_conns--;
        pthread_mutex_unlock(&s->lock);
        close(fd);
        free(c->inbuf);
        free(c);
        return rc;
    }
    return 0;
}

int nbd__server_attach_fd(struct nbd_server *s, int fd, const char *peer)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return add_conn(s, fd, peer ? peer : "fd");
}

unsigned nbd__server_conn_count(struct nbd_server *s)
{
    pthread_mutex_lock(&s->lock);
    unsigned n = s->n_conns;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static void on_accept(void *arg, int fd, unsigned events)
{
    (void)events;
    struct listener *l = arg;
    for (int i = 0; i < 16; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                KK_LOGW_RL(nbd_log, "accept: %s", strerror(errno));
            return;
        }
        char peer[96];
        if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
            char host[INET6_ADDRSTRLEN] = "?";
            unsigned port = 0;
            if (ss.ss_family == AF_INET) {
                struct sockaddr_in *a = (struct sockaddr_in *)&ss;
                inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
                port = ntohs(a->sin_port);
            } else {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
                inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
                port = ntohs(a->sin6_port);
            }
            snprintf(peer, sizeof(peer), "tcp:%s:%u", host, port);
            int one = 1;
            setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        } else {
            struct ucred cr;
            socklen_t cl = sizeof(cr);
            if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0)
                snprintf(peer, sizeof(peer), "unix:pid=%d", (int)cr.pid);
            else
                snprintf(peer, sizeof(peer), "unix");
        }
        add_conn(l->s, cfd, peer);
    }
}

static int listen_unix(struct nbd_server *s, const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path))
        return -ENAMETOOLONG;
    memcpy(a.sun_path, path, strlen(path) + 1);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return -EEXIST; /* never remove something that is not a socket */
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    s->unix_l.fd = fd;
    s->unix_path = strdup(path);
    return s->unix_path ? 0 : -ENOMEM;
}

static int listen_tcp(struct nbd_server *s, const char *addr)
{
    char host[256];
    const char *port;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':' || (size_t)(end - addr - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, addr + 1, (size_t)(end - addr - 1));
        host[end - addr - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= sizeof(host))
            return -EINVAL;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
        port = colon + 1;
    }
    if (!*port)
        return -EINVAL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    if (getaddrinfo(host[0] ? host : NULL, port, &hints, &res) != 0)
        return -EINVAL;
    int rc = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
            rc = -errno;
            close(fd);
            continue;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        s->tcp_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
        s->tcp_l.fd = fd;
        rc = 0;
        break;
    }
    freeaddrinfo(res);
    if (rc == 0)
        s->tcp_addr = strdup(addr);
    return rc;
}

/* ---- server ---------------------------------------------------------------------------- */

/* Wait (on the control thread) until @done(s, arg) holds. */
static void wait_for(struct nbd_server *s, bool (*done)(struct nbd_server *, void *), void *arg)
{
    uint64_t start = kk_now_us(), last_log = start;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        bool ok = done(s, arg);
        if (!ok) {
            /* resend kills that did not fit a full message queue */
            for (struct conn *c = s->conns; c; c = c->next) {
                if (__atomic_load_n(&c->kill_requested, __ATOMIC_RELAXED))
                    request_kill(c);
            }
        }
        pthread_mutex_unlock(&s->lock);
        if (ok)
            return;
        bool polled = false;
        for (unsigned i = 0; i < s->n_workers; i++) {
            if (s->workers[i] == s->ctrl) {
                /* a single-reactor setup (tests): run it here */
                kk_reactor_poll_once(s->ctrl);
                polled = true;
            }
        }
        if (!polled)
            usleep(200);
        uint64_t now = kk_now_us();
        if (now - last_log > 5000000) {
            KK_LOGW(nbd_log, "still waiting for NBD connections to finish their I/O (%" PRIu64
                             " s)",
                    (now - start) / 1000000);
            last_log = now;
        }
    }
}

int nbd_server_create(struct kk_reactor *ctrl, struct kk_reactor *const *workers,
                      unsigned n_workers, const struct nbd_server_opts *opts,
                      struct nbd_server **out)
{
    if (!ctrl || !workers || n_workers == 0 || !opts || !out)
        return -EINVAL;
    if (!opts->unix_path && !opts->tcp_addr)
        return -EINVAL;
    if (!opts->tls_cert != !opts->tls_key || (opts->tls_required && !opts->tls_cert))
        return -EINVAL;
    struct nbd_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->ctrl = ctrl;
    s->workers = malloc(n_workers * sizeof(*s->workers));
    if (!s->workers) {
        free(s);
        return -ENOMEM;
    }
    memcpy(s->workers, workers, n_workers * sizeof(*s->workers));
    s->n_workers = n_workers;
    s->max_conns = opts->max_connections ? opts->max_connections : DEFAULT_MAX_CONNS;
    s->tls_required = opts->tls_required;
    s->unix_l.fd = s->tcp_l.fd = -1;
    s->unix_l.s = s->tcp_l.s = s;
    pthread_mutex_init(&s->lock, NULL);
    int rc = 0;
    if (opts->tls_cert) {
        char err[256] = "";
        rc = nbd_tls_ctx_create(opts->tls_cert, opts->tls_key, err, sizeof(err), &s->tls);
        if (rc < 0)
            KK_LOGE(nbd_log, "TLS with %s and %s: %s", opts->tls_cert, opts->tls_key, err);
    }
    if (rc == 0 && opts->unix_path) {
        rc = listen_unix(s, opts->unix_path);
        if (rc < 0)
            KK_LOGE(nbd_log, "listening on %s: %s", opts->unix_path, kk_strerror(rc));
    }
    if (rc == 0 && opts->tcp_addr) {
        rc = listen_tcp(s, opts->tcp_addr);
        if (rc < 0)
            KK_LOGE(nbd_log, "listening on %s: %s", opts->tcp_addr, kk_strerror(rc));
    }
    if (rc == 0 && s->unix_l.fd >= 0)
        rc = kk_fd_watch_add(ctrl, s->unix_l.fd, KK_FD_READ, on_accept, &s->unix_l,
                             &s->unix_l.watch);
    if (rc == 0 && s->tcp_l.fd >= 0)
        rc = kk_fd_watch_add(ctrl, s->tcp_l.fd, KK_FD_READ, on_accept, &s->tcp_l,
                             &s->tcp_l.watch);
    if (rc < 0) {
        nbd_server_destroy(s);
        return rc;
    }
    KK_LOGI(nbd_log, "NBD server listening on%s%s%s%s (port %u)%s", s->unix_path ? " " : "",
            s->unix_path ? s->unix_path : "", s->tcp_addr ? " tcp " : "",
            s->tcp_addr ? s->tcp_addr : "", s->tcp_port,
            s->tls ? (s->tls_required ? ", TLS required" : ", TLS offered") : "");
    *out = s;
    return 0;
}

static bool no_conns(struct nbd_server *s, void *arg)
{
    (void)arg;
    return s->n_conns == 0;
}

static void free_export(struct nbd_export *e)
{
    if (e->bdev)
        blk_bdev_close(e->bdev);
    free(e->name);
    free(e->description);
    free(e);
}

void nbd_server_destroy(struct nbd_server *s)
{
    if (!s)
        return;
    kk_fd_watch_remove(s->unix_l.watch);
    kk_fd_watch_remove(s->tcp_l.watch);
    if (s->unix_l.fd >= 0) {
        close(s->unix_l.fd);
        unlink(s->unix_path);
    }
    if (s->tcp_l.fd >= 0)
        close(s->tcp_l.fd);
    pthread_mutex_lock(&s->lock);
    for (struct conn *c = s->conns; c; c = c->next)
        request_kill(c);
    pthread_mutex_unlock(&s->lock);
    wait_for(s, no_conns, NULL);
    while (s->exports) {
        struct nbd_export *e = s->exports;
        s->exports = e->next;
        free_export(e);
    }
    nbd_tls_ctx_destroy(s->tls);
    pthread_mutex_destroy(&s->lock);
    free(s->unix_path);
    free(s->tcp_addr);
    free(s->workers);
    free(s);
}

int nbd_server_add_export(struct nbd_server *s, const struct nbd_export_opts *opts)
{
    if (!s || !opts || !opts->bdev)
        return -EINVAL;
    const char *name = opts->name ? opts->name : "";
    if (strlen(name) > NBD_MAX_STRING ||
        (opts->description && strlen(opts->description) > NBD_MAX_STRING))
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    bool dup = find_export(s, (const uint8_t *)name, (uint32_t)strlen(name)) != NULL;
    pthread_mutex_unlock(&s->lock);
    if (dup)
        return -EEXIST;
    struct nbd_export *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->read_only = opts->read_only;
    e->name = strdup(name);
    e->description = opts->description ? strdup(opts->description) : NULL;
    if (!e->name || (opts->description && !e->description)) {
        free_export(e);
        return -ENOMEM;
    }
    int rc = blk_bdev_open(opts->bdev, !opts->read_only, &e->bdev);
    if (rc < 0) {
        free_export(e);
        return rc;
    }
    pthread_mutex_lock(&s->lock);
    e->next = s->exports;
    s->exports = e;
    pthread_mutex_unlock(&s->lock);
    KK_LOGI(nbd_log, "export '%s': bdev %s%s", e->name, opts->bdev,
            e->read_only ? " (read-only)" : "");
    return 0;
}

static bool export_idle(struct nbd_server *s, void *arg)
{
    (void)s;
    return ((struct nbd_export *)arg)->conns == 0;
}

int nbd_server_remove_export(struct nbd_server *s, const char *name)
{
    if (!s || !name)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    struct nbd_export **pp = &s->exports, *e = NULL;
    for (; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->name, name) == 0) {
            e = *pp;
            *pp = e->next;
            break;
        }
    }
    if (e) {
        for (struct conn *c = s->conns; c; c = c->next) {
            if (c->exp == e)
                request_kill(c);
        }
    }
    unsigned n = e ? e->conns : 0;
    pthread_mutex_unlock(&s->lock);
    if (!e)
        return -ENOENT;
    if (n)
        KK_LOGI(nbd_log, "export '%s': closing %u connection%s", name, n, n == 1 ? "" : "s");
    wait_for(s, export_idle, e);
    KK_LOGI(nbd_log, "export '%s' removed", name);
    free_export(e);
    return 0;
}

unsigned nbd_server_export_count(const struct nbd_server *s)
{
    struct nbd_server *m = (struct nbd_server *)(uintptr_t)s;
    unsigned n = 0;
    pthread_mutex_lock(&m->lock);
    for (struct nbd_export *e = m->exports; e; e = e->next)
        n++;
    pthread_mutex_unlock(&m->lock);
    return n;
}

uint16_t nbd_server_tcp_port(const struct nbd_server *s)
{
    return s ? s->tcp_port : 0;
}

static json_int_t ld(const uint64_t *p)
{
    return (json_int_t)__atomic_load_n(p, __ATOMIC_RELAXED);
}

json_t *nbd_server_to_json(const struct nbd_server *s)
{
    struct nbd_server *m = (struct nbd_server *)(uintptr_t)s;
    json_t *j = json_object();
    if (s->unix_path)
        json_object_set_new(j, "unix", json_string(s->unix_path));
    if (s->tcp_addr) {
        json_object_set_new(j, "tcp", json_string(s->tcp_addr));
        json_object_set_new(j, "tcp_port", json_integer(s->tcp_port));
    }
    json_object_set_new(j, "tls", json_string(!s->tls ? "off" : s->tls_required ? "required"
                                                                              : "offered"));
    json_t *ex = json_array(), *cs = json_array();
    pthread_mutex_lock(&m->lock);
    for (struct nbd_export *e = s->exports; e; e = e->next) {
        json_array_append_new(ex, json_pack("{s:s, s:s, s:b, s:i}", "name", e->name, "bdev",
                                             blk_bdev_name(e->bdev), "read_only", e->read_only,
                                             "connections", (json_int_t)e->conns));
    }
    for (struct conn *c = s->conns; c; c = c->next)
        json_array_append_new(cs, json_pack("{s:s, s:s}", "peer", c->peer, "worker",
                                            kk_reactor_name(c->r)));
    json_int_t n_conns = s->n_conns;
    pthread_mutex_unlock(&m->lock);
    json_object_set_new(j, "exports", ex);
    json_object_set_new(j, "connections", cs);
    json_object_set_new(
        j, "counters",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "active", n_conns, "accepted",
                  ld(&s->accepted), "refused", ld(&s->refused), "protocol_errors",
                  ld(&s->protocol_errors), "tls_sessions", ld(&s->tls_sessions),
                  "requests", ld(&s->requests), "request_errors", ld(&s->request_errors)));
    return j;
}
