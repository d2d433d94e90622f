/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NBD target: one connection's plumbing and its handshake (the design is
 * described at the top of nbd_server.c).
 *
 * Output is a queue of messages (handshake bytes copied to the heap, or
 * replies pointing into their request slot) that the connection's poller
 * sends with one writev per turn. The poller also owns the life cycle: it
 * starts TLS once the STARTTLS ACK has left, honours kill requests from
 * the control thread and tears the connection down once nothing is in
 * flight. The handshake answers options one at a time as the input parser
 * (nbd_transmission.c) delivers them, and ends by attaching an export and
 * opening a bdev channel.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "blk.h"
#include "kk_err.h"
#include "kk_log.h"
#include "nbd_proto.h"
#include "nbd_server_internal.h"
#include "nbd_tls.h"

static void conn_unref(struct conn *c);

/* ---- output ---------------------------------------------------------------------- */

void nbd__queue_out(struct conn *c, struct out *o)
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
        nbd__conn_fail(c, "out of memory for a handshake reply");
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
    nbd__queue_out(c, o);
    return 0;
}

static int opt_reply(struct conn *c, uint32_t opt, uint32_t type, const void *data, uint32_t len)
{
    uint8_t h[NBD_OPT_REPLY_SIZE];
    nbd_encode_opt_reply(h, opt, type, len);
    KK_LOGD(nbd_log, "%s: %s -> %s", c->peer, nbd_opt_name(opt), nbd_rep_name(type));
    return queue_bytes(c, h, sizeof(h), data, len);
}

int nbd__opt_error(struct conn *c, uint32_t opt, uint32_t type, const char *msg)
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

void nbd__put_req(struct conn *c, struct req *q)
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
        nbd__put_req(c, o->req);
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
            nbd__update_watch(c);
            return;
        }
        if (w < 0) {
            nbd__conn_fail(c, "send: %s", kk_strerror((int)w));
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
        nbd__update_watch(c);
    }
}

/* ---- connection life cycle ------------------------------------------------------ */

void nbd__update_watch(struct conn *c)
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

void nbd__conn_fail(struct conn *c, const char *fmt, ...)
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
    nbd__update_watch(c);
}

/* A protocol violation: counted, then a hard disconnect. */
void nbd__protocol_error(struct conn *c, const char *why)
{
    nbd__count(&c->s->protocol_errors, 1);
    KK_LOGW_RL(nbd_log, "%s: protocol error: %s", c->peer, why);
    nbd__conn_fail(c, "protocol error");
}

/* Stop reading; close once what is in flight has been answered. */
void nbd__conn_drain(struct conn *c, const char *reason)
{
    if (c->draining)
        return;
    c->draining = true;
    c->close_reason = reason;
    c->state = ST_DONE;
    nbd__update_watch(c);
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
    kk_timer_destroy(c->hs_timer);
    c->hs_timer = NULL;
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
    nbd__count(&s->requests, c->n_requests);
    nbd__count(&s->request_errors, c->n_errors);
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
        nbd__conn_fail(c, "%s", c->close_reason);
    }
    if (c->resume_read && !c->failed) {
        c->resume_read = false;
        if (c->read_blocked) {
            c->read_blocked = false;
            nbd__update_watch(c);
            nbd__conn_read(c);
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
            nbd__conn_fail(c, "TLS session: %s", kk_strerror(rc));
        } else {
            c->state = ST_TLS_HANDSHAKE;
            nbd__update_watch(c);
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

static void tls_step(struct conn *c)
{
    char err[256] = "";
    int rc = nbd_tls_handshake(c->tls, err, sizeof(err));
    if (rc == -EAGAIN) {
        nbd__update_watch(c);
        return;
    }
    if (rc < 0) {
        nbd__count(&c->s->protocol_errors, 1);
        KK_LOGW_RL(nbd_log, "%s: TLS handshake failed: %s", c->peer, err);
        nbd__conn_fail(c, "TLS handshake failed");
        return;
    }
    char d[96];
    KK_LOGI(nbd_log, "%s: TLS established (%s)", c->peer, nbd_tls_describe(c->tls, d, sizeof(d)));
    nbd__count(&c->s->tls_sessions, 1);
    c->tls_active = true;
    c->state = ST_OPT_HDR;
    nbd__update_watch(c);
    /* the client may already have sent its next option */
    nbd__conn_read(c);
}

/* Attach to export @name and open a channel; fills c->exp/info/lim. */
static int enter_transmission_prepare(struct conn *c, const uint8_t *name, uint32_t len,
                                      char *err, size_t errlen)
{
    struct nbd_server *s = c->s;
    pthread_mutex_lock(&s->lock);
    struct nbd_export *e = nbd__find_export(s, name, len);
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
    kk_timer_destroy(c->hs_timer); /* past the handshake: no limit on idle clients */
    c->hs_timer = NULL;
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
        nbd__protocol_error(c, "EXPORT_NAME with an invalid name");
        return;
    }
    if (c->s->tls && c->s->tls_required && !c->tls_active) {
        nbd__protocol_error(c, "EXPORT_NAME before STARTTLS on a TLS-only server");
        return;
    }
    if (enter_transmission_prepare(c, data, len, err, sizeof(err)) < 0) {
        /* EXPORT_NAME cannot fail politely: the spec says close */
        KK_LOGW_RL(nbd_log, "%s: EXPORT_NAME: %s", c->peer, err);
        nbd__conn_fail(c, "EXPORT_NAME refused");
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
        nbd__opt_error(c, opt, NBD_REP_ERR_INVALID, why);
        return;
    }
    struct blk_bdev_info info;
    struct nbd_export *e = NULL;
    char name[NBD_MAX_STRING + 1], desc[NBD_MAX_STRING + 1];
    bool ro = false;
    if (opt == NBD_OPT_GO) {
        int rc = enter_transmission_prepare(c, ir.name, ir.name_len, why, sizeof(why));
        if (rc < 0) {
            nbd__opt_error(c, opt, rc == -ENOENT ? NBD_REP_ERR_UNKNOWN : NBD_REP_ERR_SHUTDOWN, why);
            return;
        }
        e = c->exp;
        info = c->info;
        ro = (c->lim.tx_flags & NBD_FLAG_READ_ONLY) != 0;
        snprintf(name, sizeof(name), "%s", e->name);
        snprintf(desc, sizeof(desc), "%s", e->description ? e->description : "");
    } else {
        pthread_mutex_lock(&c->s->lock);
        e = nbd__find_export(c->s, ir.name, ir.name_len);
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
            nbd__opt_error(c, opt, NBD_REP_ERR_UNKNOWN, why);
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
        nbd__opt_error(c, opt, NBD_REP_ERR_INVALID, "negotiate STRUCTURED_REPLY first");
        return;
    }
    struct nbd_meta_request *mr = malloc(sizeof(*mr));
    if (!mr) {
        nbd__conn_fail(c, "out of memory");
        return;
    }
    int rc = nbd_parse_meta_request(data, len, mr, why, sizeof(why));
    if (rc < 0) {
        nbd__opt_error(c, opt, rc == -E2BIG ? NBD_REP_ERR_TOO_BIG : NBD_REP_ERR_INVALID, why);
        free(mr);
        return;
    }
    pthread_mutex_lock(&c->s->lock);
    bool found = nbd__find_export(c->s, mr->name, mr->name_len) != NULL;
    pthread_mutex_unlock(&c->s->lock);
    if (!found) {
        snprintf(why, sizeof(why), "no export named '%.*s'",
                 (int)(mr->name_len > 256 ? 256 : mr->name_len), mr->name);
        nbd__opt_error(c, opt, NBD_REP_ERR_UNKNOWN, why);
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

void nbd__handle_option(struct conn *c, const uint8_t *data)
{
    uint32_t opt = c->opt.opt, len = c->opt.len;
    struct nbd_server *s = c->s;
    if (opt == NBD_OPT_EXPORT_NAME) {
        do_export_name(c, data, len);
        return;
    }
    if (!c->fixed_newstyle) {
        /* a plain newstyle client knows only EXPORT_NAME */
        nbd__protocol_error(c, "option other than EXPORT_NAME from a non-fixed-newstyle client");
        return;
    }
    if (s->tls && s->tls_required && !c->tls_active && opt != NBD_OPT_STARTTLS &&
        opt != NBD_OPT_ABORT) {
        nbd__opt_error(c, opt, NBD_REP_ERR_TLS_REQD, "this server requires TLS: send STARTTLS");
        return;
    }
    switch (opt) {
    case NBD_OPT_ABORT:
        opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
        nbd__conn_drain(c, "client aborted the handshake");
        return;
    case NBD_OPT_LIST:
        if (len)
            nbd__opt_error(c, opt, NBD_REP_ERR_INVALID, "LIST takes no data");
        else
            do_list(c, opt);
        return;
    case NBD_OPT_STARTTLS:
        if (len) {
            nbd__opt_error(c, opt, NBD_REP_ERR_INVALID, "STARTTLS takes no data");
        } else if (!s->tls) {
            nbd__opt_error(c, opt, NBD_REP_ERR_POLICY, "TLS is not configured on this server");
        } else if (c->tls_active) {
            nbd__opt_error(c, opt, NBD_REP_ERR_INVALID, "TLS is already active");
        } else if (c->in_end != c->in_start) {
            /* bytes after STARTTLS would be read in plain text: an injection */
            nbd__protocol_error(c, "data after STARTTLS before the TLS handshake");
        } else {
            opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
            c->state = ST_TLS_WAIT; /* the poller starts TLS once the ACK is out */
            nbd__update_watch(c);
        }
        return;
    case NBD_OPT_INFO:
    case NBD_OPT_GO:
        do_info_go(c, opt, data, len);
        return;
    case NBD_OPT_STRUCTURED_REPLY:
        if (len)
            nbd__opt_error(c, opt, NBD_REP_ERR_INVALID, "STRUCTURED_REPLY takes no data");
        else if (c->structured)
            nbd__opt_error(c, opt, NBD_REP_ERR_INVALID, "structured replies are already on");
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
        nbd__opt_error(c, opt, NBD_REP_ERR_UNSUP, msg);
        return;
    }
    }
}

/* ---- events, start and kill ---------------------------------------------------------- */

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
        nbd__update_watch(c);
    }
    if ((events & (KK_FD_READ | KK_FD_ERROR)) && !c->read_blocked && c->state != ST_DONE &&
        !c->failed)
        nbd__conn_read(c);
    else if ((events & KK_FD_ERROR) && c->state == ST_DONE && !c->failed)
        nbd__conn_fail(c, "socket error or hang-up");
}

/* The handshake limit passed: a client still negotiating (or idle) goes. */
static void handshake_expired(void *arg)
{
    struct conn *c = arg;
    kk_timer_destroy(c->hs_timer);
    c->hs_timer = NULL;
    if (c->failed || c->finished || c->exp)
        return;
    c->close_reason = "handshake not finished in time";
    nbd__conn_fail(c, "no export chosen within %u ms of connecting (handshake limit)",
                   c->s->handshake_limit_ms);
}

/* Runs on the worker: the connection starts here. */
void nbd__conn_start(void *arg)
{
    struct conn *c = arg;
    uint8_t g[NBD_GREETING_SIZE];
    int rc = kk_poller_register(c->r, conn_poll, c, 0, &c->poller);
    if (rc == 0) {
        kk_poller_set_arm(c->poller, conn_arm);
        c->watch_events = KK_FD_READ;
        rc = kk_fd_watch_add(c->r, c->fd, KK_FD_READ, conn_event, c, &c->watch);
    }
    if (rc == 0 && c->s->handshake_limit_ms != UINT32_MAX) {
        rc = kk_timer_create(c->r, handshake_expired, c, &c->hs_timer);
        if (rc == 0)
            rc = kk_timer_arm(c->hs_timer, (uint64_t)c->s->handshake_limit_ms * 1000, 0);
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
void nbd__conn_request_kill(struct conn *c)
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
