/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenFlow channels: connect/accept, TLS, HELLO, framing, echo, keepalive,
 * output queue and backoff (see conn.h for the contract).
 *
 * Each channel has two timers: `tick` for deadlines (next connect attempt,
 * handshake timeout, keepalive, stalled output, a close after a final
 * error message), re-armed to the earliest one; and `soon`, a zero-delay
 * timer for work that must not run inside an API call or that epoll cannot
 * signal: reporting a disconnection or congestion change, flushing queued
 * output in one write per turn, and reading input TLS has buffered.
 *
 * Lifetime: handlers hold `busy` while they run callbacks; a channel
 * destroyed meanwhile is only marked and freed when the handler unwinds.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn_internal.h"
#include "kk_err.h"
#include "kk_reactor.h"

KK_LOG_COMPONENT(ofconn_log, "ofconn");

/* The header and the message types this layer handles itself (the same in
 * every OpenFlow version). */
#define HDR_LEN 8
#define MSG_HELLO 0
#define MSG_ERROR 1
#define MSG_ECHO_REQUEST 2
#define MSG_ECHO_REPLY 3
#define ERRTYPE_HELLO_FAILED 0
#define ERRCODE_INCOMPATIBLE 0

#define IN_INITIAL (16u * 1024)          /* input buffer; grows to one message */
#define READ_BUDGET (256u * 1024)        /* bytes per read event before yielding */
#define CLOSE_FLUSH_US (1000u * 1000)    /* time to flush a final error message */
#define ERROR_TEXT_MAX 256

struct ofp_conn {
    struct kk_reactor *reactor;
    struct ofp_conn_opts opts;
    struct ofp_conn_callbacks cb;
    void *arg;
    struct ofp_target target;
    char name[OFP_CONN_NAME_MAX]; /* target (active) or listener (passive) */
    char peer[OFP_CONN_NAME_MAX];
    struct ofp_listener *listener; /* passive: NULL once forgotten */
    bool passive;

    enum ofp_conn_state state;
    int fd;
    struct kk_fd_watch *watch;
    unsigned watch_events;
    struct ofp__tls *tls;
    bool tls_read_wants_write;
    struct kk_timer *tick;
    struct kk_timer *soon;
    bool soon_armed;

    uint8_t *in;
    size_t in_len, in_cap;
    uint8_t *out;
    size_t out_off, out_len, out_cap;

    uint8_t version;
    uint32_t xid;
    struct ofp__role_member role;

    /* Deadlines and their bookkeeping (µs, kk_reactor_now_us()). */
    uint64_t state_since_us;
    uint64_t attempt_start_us; /* connect or accept: the handshake timeout counts from it */
    uint64_t closing_since_us;
    uint64_t up_since_us;
    uint64_t next_attempt_us;
    uint32_t backoff_ms;
    bool probing;
    uint32_t probe_xid;
    uint64_t probe_sent_us;
    bool congested, congestion_reported;
    uint64_t congested_since_us;
    bool closing; /* flushing a final message, then down */
    char closing_reason[OFP_CONN_NAME_MAX];

    /* A disconnection to report from `soon`. */
    bool down_pending;
    bool down_was_connected;
    char last_error[OFP_CONN_NAME_MAX];

    uint32_t busy;
    bool destroyed;

    struct ofp_conn_stats stats; /* counters and times; the rest is filled on demand */
};

static void conn_down(struct ofp_conn *c, const char *fmt, ...) KK_PRINTF(2, 3);
static void schedule(struct ofp_conn *c);
static void flush_output(struct ofp_conn *c);
static void read_input(struct ofp_conn *c);

/* ---- helpers ------------------------------------------------------------ */

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_header(uint8_t *p, uint8_t version, uint8_t type, uint16_t len, uint32_t xid)
{
    p[0] = version;
    p[1] = type;
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    p[4] = (uint8_t)(xid >> 24);
    p[5] = (uint8_t)(xid >> 16);
    p[6] = (uint8_t)(xid >> 8);
    p[7] = (uint8_t)xid;
}

static uint64_t now_us(const struct ofp_conn *c)
{
    return kk_reactor_now_us(c->reactor);
}

static void set_state(struct ofp_conn *c, enum ofp_conn_state s)
{
    c->state = s;
    c->state_since_us = now_us(c);
}

static size_t queued(const struct ofp_conn *c)
{
    return c->out_len - c->out_off;
}

static void arm_soon(struct ofp_conn *c)
{
    if (c->soon_armed || c->destroyed)
        return;
    if (kk_timer_arm(c->soon, 0, 0) == 0)
        c->soon_armed = true;
}

static bool transport_open(const struct ofp_conn *c)
{
    return c->fd >= 0;
}

const char *ofp_conn_state_name(enum ofp_conn_state s)
{
    switch (s) {
    case OFP_CONN_BACKOFF: return "BACKOFF";
    case OFP_CONN_CONNECTING: return "CONNECTING";
    case OFP_CONN_TLS: return "TLS";
    case OFP_CONN_HELLO: return "HELLO";
    case OFP_CONN_UP: return "UP";
    case OFP_CONN_CLOSED: return "CLOSED";
    }
    return "?";
}

const char *ofp_conn_role_name(enum ofp_conn_role r)
{
    switch (r) {
    case OFP_CONN_ROLE_NOCHANGE: return "nochange";
    case OFP_CONN_ROLE_EQUAL: return "equal";
    case OFP_CONN_ROLE_MASTER: return "master";
    case OFP_CONN_ROLE_SLAVE: return "slave";
    }
    return "?";
}

/* ---- options ------------------------------------------------------------ */

void ofp_conn_opts_init(struct ofp_conn_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->versions = OFP_CONN_V10 | OFP_CONN_V13;
    o->probe_interval_ms = 5000;
    o->handshake_timeout_ms = 10000;
    o->backoff_min_ms = 1000;
    o->backoff_max_ms = 8000;
    o->backoff_reset_ms = 10000;
    o->reconnect = true;
    o->queue_limit = 1u << 20;
    o->stall_timeout_ms = 10000;
    o->max_message = 65535;
    o->max_connections = 64;
}

int ofp__opts_check(const struct ofp_conn_opts *opts, struct ofp_conn_opts *out)
{
    if (opts)
        *out = *opts;
    else
        ofp_conn_opts_init(out);
    const struct ofp_conn_opts *o = out;
    const char *bad = NULL;
    if (o->versions == 0 || (o->versions & 1u))
        bad = "versions must name wire versions 1..31";
    else if (o->backoff_min_ms == 0 || o->backoff_max_ms < o->backoff_min_ms)
        bad = "backoff must be 0 < min <= max";
    else if (o->handshake_timeout_ms == 0)
        bad = "handshake timeout must be > 0";
    else if (o->queue_limit == 0 || o->queue_limit > (1u << 30))
        bad = "queue limit must be 1 byte .. 1 GiB";
    else if (o->stall_timeout_ms == 0)
        bad = "stall timeout must be > 0";
    else if (o->max_message < 64 || o->max_message > 65535)
        bad = "max message must be 64..65535";
    else if (o->max_connections == 0)
        bad = "max connections must be > 0";
    if (bad) {
        KK_LOGE(ofconn_log, "bad options: %s", bad);
        return -EINVAL;
    }
    return 0;
}

/* ---- transport ---------------------------------------------------------- */

static void update_watch(struct ofp_conn *c)
{
    if (!c->watch)
        return;
    unsigned ev;
    if (c->state == OFP_CONN_CONNECTING)
        ev = KK_FD_WRITE;
    else if (c->state == OFP_CONN_TLS)
        ev = c->tls && ofp__tls_want_write(c->tls) ? KK_FD_WRITE : KK_FD_READ;
    else
        ev = KK_FD_READ | (queued(c) > 0 || c->tls_read_wants_write ? KK_FD_WRITE : 0);
    if (ev == c->watch_events)
        return;
    int rc = kk_fd_watch_modify(c->watch, ev);
    if (rc < 0)
        conn_down(c, "epoll: %s", kk_strerror(rc));
    else
        c->watch_events = ev;
}

/* Close the socket and the TLS session; buffers stay (a callback may be
 * looking at the input). */
static void close_transport(struct ofp_conn *c)
{
    if (c->tls) {
        ofp__tls_shutdown(c->tls);
        ofp__tls_free(c->tls);
        c->tls = NULL;
    }
    kk_fd_watch_remove(c->watch);
    c->watch = NULL;
    c->watch_events = 0;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->tls_read_wants_write = false;
    c->in_len = 0;
    c->out_off = c->out_len = 0;
    c->closing = false;
    c->probing = false;
    c->version = 0;
    c->peer[0] = '\0';
}

/*
 * Take the connection down now; the disconnected callback runs from
 * `soon`. An active channel moves to BACKOFF with its next attempt due.
 */
static void conn_down(struct ofp_conn *c, const char *fmt, ...)
{
    if (c->destroyed || c->state == OFP_CONN_BACKOFF || c->state == OFP_CONN_CLOSED)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
    va_end(ap);
    bool was_up = c->state == OFP_CONN_UP;
    uint64_t now = now_us(c);
    if (c->passive || was_up)
        KK_LOGI(ofconn_log, "%s: %s: disconnected: %s", c->name, c->peer[0] ? c->peer : "-",
                c->last_error);
    else
        KK_LOGI(ofconn_log, "%s: connection failed (%s): %s", c->name,
                ofp_conn_state_name(c->state), c->last_error);
    close_transport(c);
    c->down_pending = true;
    c->down_was_connected = was_up;
    if (c->congested) {
        c->congested = false; /* reported as false too if it had been true */
    }
    if (c->passive || !c->opts.reconnect) {
        set_state(c, OFP_CONN_CLOSED);
    } else {
        if (was_up && now - c->up_since_us >= (uint64_t)c->opts.backoff_reset_ms * 1000)
            c->backoff_ms = 0; /* it was stable: retry at once */
        else if (c->backoff_ms == 0)
            c->backoff_ms = c->opts.backoff_min_ms;
        else
            c->backoff_ms = KK_MIN(c->backoff_ms * 2, c->opts.backoff_max_ms);
        c->next_attempt_us = now + (uint64_t)c->backoff_ms * 1000;
        set_state(c, OFP_CONN_BACKOFF);
        if (c->backoff_ms)
            KK_LOGI(ofconn_log, "%s: waiting %u ms before reconnecting", c->name, c->backoff_ms);
    }
    arm_soon(c);
    schedule(c);
}

static int enqueue(struct ofp_conn *c, const void *msg, size_t len)
{
    size_t hard = (size_t)c->opts.queue_limit * 2;
    if (queued(c) > 0 && queued(c) + len > hard)
        return -ENOBUFS;
    if (c->out_len + len > c->out_cap) {
        if (c->out_off > 0) {
            memmove(c->out, c->out + c->out_off, queued(c));
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        if (c->out_len + len > c->out_cap) {
            size_t cap = KK_MAX(c->out_cap * 2, c->out_len + len);
            cap = KK_MIN(cap, KK_MAX(hard, c->out_len + len));
            uint8_t *p = realloc(c->out, cap);
            if (!p)
                return -ENOMEM;
            c->out = p;
            c->out_cap = cap;
        }
    }
    memcpy(c->out + c->out_len, msg, len);
    c->out_len += len;
    c->stats.msgs_out++;
    if (!c->congested && queued(c) > c->opts.queue_limit) {
        c->congested = true;
        c->congested_since_us = now_us(c);
        schedule(c);
    }
    /* One write per turn for everything queued in it. */
    arm_soon(c);
    return 0;
}

static void flush_output(struct ofp_conn *c)
{
    char err[OFP_CONN_NAME_MAX] = "";
    while (transport_open(c) && queued(c) > 0) {
        ssize_t n;
        if (c->tls) {
            n = ofp__tls_write(c->tls, c->out + c->out_off, queued(c), err, sizeof(err));
        } else {
            n = send(c->fd, c->out + c->out_off, queued(c), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0)
                n = errno == EAGAIN || errno == EINTR ? -EAGAIN : kk_neg_errno();
        }
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            conn_down(c, "write: %s", err[0] ? err : kk_strerror((int)n));
            return;
        }
        c->out_off += (size_t)n;
        c->stats.bytes_out += (uint64_t)n;
        c->stats.last_tx_us = now_us(c);
    }
    if (!transport_open(c))
        return;
    if (queued(c) == 0)
        c->out_off = c->out_len = 0;
    if (c->congested && queued(c) <= c->opts.queue_limit / 2) {
        c->congested = false;
        arm_soon(c);
    }
    if (c->closing && queued(c) == 0) {
        conn_down(c, "%s", c->closing_reason);
        return;
    }
    update_watch(c);
}

/* Send a final message, then close once it is out (or after a second). */
static void close_after(struct ofp_conn *c, const void *msg, size_t len, const char *reason)
{
    snprintf(c->closing_reason, sizeof(c->closing_reason), "%s", reason);
    if (enqueue(c, msg, len) < 0) {
        conn_down(c, "%s", reason);
        return;
    }
    c->closing = true;
    c->closing_since_us = now_us(c);
    schedule(c);
}

/* ---- HELLO and the messages we handle ----------------------------------- */

static void start_hello(struct ofp_conn *c)
{
    uint8_t hello[OFP__HELLO_MAX];
    size_t len = ofp__hello_encode(c->opts.versions, ofp_conn_next_xid(c), hello);
    set_state(c, OFP_CONN_HELLO);
    if (!c->in) {
        c->in = malloc(IN_INITIAL);
        if (!c->in) {
            conn_down(c, "out of memory");
            return;
        }
        c->in_cap = IN_INITIAL;
    }
    if (enqueue(c, hello, len) < 0)
        conn_down(c, "out of memory");
    update_watch(c);
}

static void hello_failed(struct ofp_conn *c, const uint8_t *hello, const char *why)
{
    uint8_t msg[HDR_LEN + 4 + ERROR_TEXT_MAX];
    size_t text = strnlen(why, ERROR_TEXT_MAX);
    size_t len = HDR_LEN + 4 + text;
    /* In the peer's version, so that it can read it. */
    put_header(msg, hello[0], MSG_ERROR, (uint16_t)len, get_be32(hello + 4));
    msg[8] = 0;
    msg[9] = ERRTYPE_HELLO_FAILED;
    msg[10] = 0;
    msg[11] = ERRCODE_INCOMPATIBLE;
    memcpy(msg + 12, why, text);
    KK_LOGW(ofconn_log, "%s: %s: version negotiation failed: %s", c->name, c->peer, why);
    char reason[OFP_CONN_NAME_MAX];
    snprintf(reason, sizeof(reason), "version negotiation failed: %.90s", why);
    close_after(c, msg, len, reason);
}

/* The reason an ERROR message gives, for logs. */
static void describe_error(const uint8_t *msg, size_t len, char *buf, size_t buflen)
{
    if (len < HDR_LEN + 4) {
        snprintf(buf, buflen, "a short ERROR message");
        return;
    }
    char text[96];
    size_t n = 0;
    /* HELLO_FAILED and some others carry ASCII text; show printable bytes. */
    for (size_t i = HDR_LEN + 4; i < len && n + 1 < sizeof(text); i++)
        text[n++] = msg[i] >= 0x20 && msg[i] < 0x7f ? (char)msg[i] : '.';
    text[n] = '\0';
    snprintf(buf, buflen, "ERROR type %u code %u%s%s", get_be16(msg + 8), get_be16(msg + 10),
             n ? ": " : "", text);
}

static void handle_hello_state(struct ofp_conn *c, const uint8_t *msg, size_t len)
{
    char why[ERROR_TEXT_MAX];
    if (msg[1] == MSG_ERROR) {
        describe_error(msg, len, why, sizeof(why));
        conn_down(c, "the peer refused the connection: %s", why);
        return;
    }
    if (msg[1] != MSG_HELLO) {
        conn_down(c, "expected HELLO, got message type %u", msg[1]);
        return;
    }
    uint8_t v = ofp__hello_negotiate(c->opts.versions, msg, len, why, sizeof(why));
    if (v == 0) {
        hello_failed(c, msg, why);
        return;
    }
    c->version = v;
    c->up_since_us = now_us(c);
    c->probing = false;
    c->stats.connections++;
    ofp__role_reset(&c->role);
    set_state(c, OFP_CONN_UP);
    schedule(c);
    KK_LOGI(ofconn_log, "%s: %s: connected, OpenFlow version 0x%02x", c->name, c->peer, v);
    if (c->cb.connected)
        c->cb.connected(c->arg, c, v);
}

static void handle_message(struct ofp_conn *c, const uint8_t *msg, size_t len)
{
    c->stats.msgs_in++;
    if (c->closing)
        return;
    if (c->state == OFP_CONN_HELLO) {
        handle_hello_state(c, msg, len);
        return;
    }
    switch (msg[1]) {
    case MSG_ECHO_REQUEST:
        /* The reply is the request with another type: same xid and data. */
        if (enqueue(c, msg, len) == 0)
            c->out[c->out_len - len + 1] = MSG_ECHO_REPLY;
        else
            KK_LOGW_RL(ofconn_log, "%s: %s: echo reply dropped: output queue full", c->name,
                       c->peer);
        return;
    case MSG_ECHO_REPLY:
        if (c->probe_xid != 0 && get_be32(msg + 4) == c->probe_xid) {
            c->probe_xid = 0;
            return;
        }
        break;
    case MSG_HELLO:
        KK_LOGD(ofconn_log, "%s: %s: HELLO after negotiation ignored", c->name, c->peer);
        return;
    default:
        break;
    }
    c->cb.message(c->arg, c, c->version, msg, len);
}

/* ---- input -------------------------------------------------------------- */

/* Deliver the complete messages buffered; keep the rest. Returns false if
 * the channel went down or was destroyed (stop touching it). */
static bool process_input(struct ofp_conn *c)
{
    size_t off = 0;
    while (c->in_len - off >= HDR_LEN) {
        const uint8_t *m = c->in + off;
        uint16_t len = get_be16(m + 2);
        if (len < HDR_LEN) {
            KK_LOGW_RL(ofconn_log, "%s: %s: message length %u is less than 8", c->name, c->peer,
                       len);
            conn_down(c, "bad message length %u (less than 8)", len);
            return false;
        }
        if (len > c->opts.max_message) {
            KK_LOGW_RL(ofconn_log, "%s: %s: message of %u bytes over the limit of %u", c->name,
                       c->peer, len, c->opts.max_message);
            conn_down(c, "message of %u bytes over the limit of %u", len, c->opts.max_message);
            return false;
        }
        if (c->in_len - off < len)
            break;
        handle_message(c, m, len);
        if (c->destroyed || !transport_open(c))
            return false;
        off += len;
    }
    if (off > 0) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    /* Room for the whole of a long message that has started. */
    if (c->in_len >= HDR_LEN) {
        size_t need = get_be16(c->in + 2);
        if (need > c->in_cap) {
            uint8_t *p = realloc(c->in, need);
            if (!p) {
                conn_down(c, "out of memory");
                return false;
            }
            c->in = p;
            c->in_cap = need;
        }
    }
    return true;
}

/* The input is drained: the replies to it go out now, in one write, rather
 * than on the next turn (a request/reply peer waits for them). */
static void drained(struct ofp_conn *c)
{
    if (queued(c) > 0 && c->state >= OFP_CONN_HELLO && !c->tls_read_wants_write)
        flush_output(c);   /* updates the watch */
    else
        update_watch(c);
}

static void read_input(struct ofp_conn *c)
{
    char err[OFP_CONN_NAME_MAX] = "";
    size_t budget = READ_BUDGET;
    c->tls_read_wants_write = false;
    while (transport_open(c) && budget > 0) {
        size_t room = c->in_cap - c->in_len;
        if (room == 0)
            break; /* cannot happen: process_input() makes room for a message */
        ssize_t n;
        if (c->tls) {
            n = ofp__tls_read(c->tls, c->in + c->in_len, room, err, sizeof(err));
        } else {
            n = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
            if (n < 0)
                n = errno == EAGAIN || errno == EINTR ? -EAGAIN : kk_neg_errno();
        }
        if (n == -EAGAIN) {
            /* TLS may need to write before it can read on; and once it
             * no longer does, stop asking for writability. */
            c->tls_read_wants_write = c->tls && ofp__tls_want_write(c->tls);
            drained(c);
            return;
        }
        if (n == 0) {
            conn_down(c, "the peer closed the connection");
            return;
        }
        if (n < 0) {
            conn_down(c, "read: %s", err[0] ? err : kk_strerror((int)n));
            return;
        }
        c->in_len += (size_t)n;
        c->stats.bytes_in += (uint64_t)n;
        c->stats.last_rx_us = now_us(c);
        c->probing = false;
        if (!process_input(c))
            return;
        budget -= KK_MIN(budget, (size_t)n);
        if (!c->tls && (size_t)n < room) {
            /* a short read drained the socket (epoll is level-triggered:
             * more data wakes us again) — no recv() just to see EAGAIN */
            if (transport_open(c) && !c->destroyed)
                drained(c);
            return;
        }
    }
    /* Out of budget: epoll will tell us about the socket, but not about
     * what TLS holds already decrypted. */
    if (!transport_open(c) || c->destroyed)
        return;
    update_watch(c);
    if (c->tls && ofp__tls_pending(c->tls))
        arm_soon(c);
}

/* ---- connection setup --------------------------------------------------- */

static void drive_tls(struct ofp_conn *c)
{
    char err[OFP_CONN_NAME_MAX] = "";
    int rc = ofp__tls_handshake(c->tls, err, sizeof(err));
    if (rc == 0) {
        start_hello(c);
        return;
    }
    if (rc == -EAGAIN) {
        update_watch(c);
        return;
    }
    conn_down(c, "%s", err[0] ? err : "TLS handshake failed");
}

/* TCP or Unix connected (or accepted): TLS, then HELLO. */
static void transport_ready(struct ofp_conn *c)
{
    ofp__peer_name(c->fd, &c->target, c->peer, sizeof(c->peer));
    if (c->target.kind != OFP_TARGET_UNIX && c->target.kind != OFP_TARGET_PUNIX) {
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (ofp_target_is_ssl(&c->target)) {
        int rc = ofp__tls_new(c->opts.ssl, c->fd, c->passive, &c->tls);
        if (rc < 0) {
            conn_down(c, "TLS: %s", kk_strerror(rc));
            return;
        }
        set_state(c, OFP_CONN_TLS);
        drive_tls(c);
        return;
    }
    start_hello(c);
}

static void conn_event(void *arg, int fd, unsigned events);

static void start_connect(struct ofp_conn *c)
{
    c->stats.connect_attempts++;
    set_state(c, OFP_CONN_CONNECTING);
    c->attempt_start_us = now_us(c);
    int fd = socket(c->target.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        conn_down(c, "socket: %s", kk_strerror(errno));
        return;
    }
    c->fd = fd;
    int rc = kk_fd_watch_add(c->reactor, fd, KK_FD_WRITE, conn_event, c, &c->watch);
    if (rc < 0) {
        conn_down(c, "epoll: %s", kk_strerror(rc));
        return;
    }
    c->watch_events = KK_FD_WRITE;
    if (connect(fd, (const struct sockaddr *)&c->target.addr, c->target.addr_len) == 0) {
        transport_ready(c);
    } else if (errno == EINPROGRESS) {
        /* wait for writability */
    } else {
        /* Unix sockets: EAGAIN is a full backlog, and nothing started. */
        conn_down(c, "connect: %s", kk_strerror(errno));
        return;
    }
    schedule(c);
}

static void finish_connect(struct ofp_conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        conn_down(c, "connect: %s", kk_strerror(err));
        return;
    }
    transport_ready(c);
}

/* ---- reactor callbacks -------------------------------------------------- */

static void conn_free(struct ofp_conn *c)
{
    kk_timer_destroy(c->tick);
    kk_timer_destroy(c->soon);
    free(c->in);
    free(c->out);
    free(c);
}

static void hold(struct ofp_conn *c)
{
    c->busy++;
}

static void release(struct ofp_conn *c)
{
    if (--c->busy == 0 && c->destroyed)
        conn_free(c);
}

static void conn_event(void *arg, int fd, unsigned events)
{
    struct ofp_conn *c = arg;
    (void)fd;
    hold(c);
    switch (c->state) {
    case OFP_CONN_CONNECTING:
        finish_connect(c);
        break;
    case OFP_CONN_TLS:
        drive_tls(c);
        break;
    case OFP_CONN_HELLO:
    case OFP_CONN_UP:
        if (events & KK_FD_WRITE) {
            flush_output(c);
            if (c->tls_read_wants_write && transport_open(c) && !c->destroyed)
                read_input(c);
        }
        if ((events & (KK_FD_READ | KK_FD_ERROR)) && transport_open(c) && !c->destroyed)
            read_input(c);
        break;
    default:
        break;
    }
    release(c);
}

/* Deadlines: act on what is due, re-arm for the next one. */
static void tick(void *arg)
{
    struct ofp_conn *c = arg;
    uint64_t now = now_us(c);
    hold(c);
    if (c->state == OFP_CONN_BACKOFF && now >= c->next_attempt_us) {
        /* The last disconnection is reported first (`soon` was armed before). */
        if (!c->down_pending)
            start_connect(c);
    } else if (transport_open(c) && c->closing &&
               now - c->closing_since_us >= CLOSE_FLUSH_US) {
        conn_down(c, "%s", c->closing_reason);
    } else if (transport_open(c) && c->state != OFP_CONN_UP &&
               now - c->attempt_start_us >= (uint64_t)c->opts.handshake_timeout_ms * 1000) {
        conn_down(c, "no HELLO exchange within %u ms (%s)", c->opts.handshake_timeout_ms,
                  ofp_conn_state_name(c->state));
    } else if (c->state == OFP_CONN_UP && c->congested &&
               now - c->congested_since_us >= (uint64_t)c->opts.stall_timeout_ms * 1000) {
        conn_down(c, "the peer does not read: output queue over %u bytes for %u ms",
                  c->opts.queue_limit, c->opts.stall_timeout_ms);
    } else if (c->state == OFP_CONN_UP && c->opts.probe_interval_ms) {
        uint64_t interval = (uint64_t)c->opts.probe_interval_ms * 1000;
        uint64_t last = KK_MAX(c->stats.last_rx_us, c->up_since_us);
        if (c->probing && now - c->probe_sent_us >= interval) {
            conn_down(c, "inactivity probe: no input for %u ms after an echo request",
                      c->opts.probe_interval_ms);
        } else if (!c->probing && now - last >= interval) {
            uint8_t echo[HDR_LEN];
            uint32_t xid = ofp_conn_next_xid(c);
            put_header(echo, c->version, MSG_ECHO_REQUEST, HDR_LEN, xid);
            if (enqueue(c, echo, sizeof(echo)) == 0) {
                c->probing = true;
                c->probe_xid = xid;
                c->probe_sent_us = now;
                c->stats.echo_requests_sent++;
                KK_LOGD(ofconn_log, "%s: %s: idle for %u ms: echo request sent", c->name,
                        c->peer, c->opts.probe_interval_ms);
            }
        }
    }
    if (!c->destroyed)
        schedule(c);
    release(c);
}

/* Arm `tick` for the earliest deadline of the current state. */
static void schedule(struct ofp_conn *c)
{
    if (c->destroyed)
        return;
    uint64_t now = now_us(c);
    uint64_t due = UINT64_MAX;
    if (c->state == OFP_CONN_BACKOFF) {
        due = c->next_attempt_us;
    } else if (transport_open(c)) {
        if (c->closing)
            due = c->closing_since_us + CLOSE_FLUSH_US;
        else if (c->state != OFP_CONN_UP)
            due = c->attempt_start_us + (uint64_t)c->opts.handshake_timeout_ms * 1000;
        if (c->state == OFP_CONN_UP && c->congested)
            due = KK_MIN(due, c->congested_since_us + (uint64_t)c->opts.stall_timeout_ms * 1000);
        if (c->state == OFP_CONN_UP && c->opts.probe_interval_ms) {
            uint64_t interval = (uint64_t)c->opts.probe_interval_ms * 1000;
            uint64_t last = KK_MAX(c->stats.last_rx_us, c->up_since_us);
            due = KK_MIN(due, c->probing ? c->probe_sent_us + interval : last + interval);
        }
    }
    if (due == UINT64_MAX) {
        kk_timer_disarm(c->tick);
        return;
    }
    kk_timer_arm(c->tick, due > now ? due - now : 0, 0);
}

/* Next-turn work: reports, one flush for the turn's output, TLS input. */
static void soon(void *arg)
{
    struct ofp_conn *c = arg;
    c->soon_armed = false;
    hold(c);
    if (c->down_pending) {
        c->down_pending = false;
        c->congestion_reported = false;
        if (c->cb.disconnected)
            c->cb.disconnected(c->arg, c, c->down_was_connected, c->last_error);
        if (!c->destroyed && !transport_open(c)) {
            if (c->passive) {
                ofp_conn_destroy(c);
            } else {
                /* Idle in backoff: give the buffers back. */
                free(c->in);
                free(c->out);
                c->in = c->out = NULL;
                c->in_cap = c->out_cap = 0;
            }
        }
    }
    if (!c->destroyed && transport_open(c) && queued(c) > 0 && c->state >= OFP_CONN_HELLO)
        flush_output(c);
    if (!c->destroyed && transport_open(c) && c->tls && ofp__tls_pending(c->tls) &&
        c->state >= OFP_CONN_HELLO)
        read_input(c);
    if (!c->destroyed && c->congested != c->congestion_reported && transport_open(c)) {
        c->congestion_reported = c->congested;
        if (c->cb.congestion)
            c->cb.congestion(c->arg, c, c->congested);
    }
    release(c);
}

/* ---- life cycle --------------------------------------------------------- */

static int conn_alloc(struct kk_reactor *r, const struct ofp_target *t, const char *name,
                      const struct ofp_conn_opts *opts, const struct ofp_conn_callbacks *cb,
                      void *arg, struct ofp_conn **out)
{
    if (!cb || !cb->message)
        return -EINVAL;
    struct ofp_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->reactor = r;
    c->opts = *opts;
    c->cb = *cb;
    c->arg = arg;
    c->target = *t;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->fd = -1;
    ofp__role_init(&c->role);
    int rc = kk_timer_create(r, tick, c, &c->tick);
    if (rc == 0)
        rc = kk_timer_create(r, soon, c, &c->soon);
    if (rc < 0) {
        kk_timer_destroy(c->tick);
        free(c);
        return rc;
    }
    if (opts->role_group)
        ofp__role_join(&c->role, opts->role_group);
    *out = c;
    return 0;
}

int ofp_conn_create(struct kk_reactor *r, const char *target, const struct ofp_conn_opts *opts,
                    const struct ofp_conn_callbacks *cb, void *arg, struct ofp_conn **out)
{
    if (!r || !target || !out)
        return -EINVAL;
    struct ofp_conn_opts o;
    int rc = ofp__opts_check(opts, &o);
    if (rc < 0)
        return rc;
    struct ofp_target t;
    char err[256];
    if (ofp_target_parse(target, &t, err, sizeof(err)) < 0) {
        KK_LOGE(ofconn_log, "%s", err);
        return -EINVAL;
    }
    if (ofp_target_is_passive(&t)) {
        KK_LOGE(ofconn_log, "%s: a passive target needs a listener", target);
        return -EINVAL;
    }
    if (ofp_target_is_ssl(&t) && !o.ssl) {
        KK_LOGE(ofconn_log, "%s: SSL keys are needed (opts.ssl)", target);
        return -EINVAL;
    }
    char name[OFP_CONN_NAME_MAX];
    struct ofp_conn *c;
    rc = conn_alloc(r, &t, ofp_target_format(&t, name, sizeof(name)), &o, cb, arg, &c);
    if (rc < 0)
        return rc;
    set_state(c, OFP_CONN_BACKOFF);
    c->next_attempt_us = now_us(c);
    kk_timer_arm(c->tick, 0, 0);
    *out = c;
    return 0;
}

int ofp__conn_accept(struct ofp_listener *l, struct kk_reactor *r, int fd,
                     const struct ofp_target *lt, const char *listener_name,
                     const struct ofp_conn_opts *opts, const struct ofp_conn_callbacks *cb,
                     void *arg, struct ofp_conn **out)
{
    struct ofp_conn *c;
    int rc = conn_alloc(r, lt, listener_name, opts, cb, arg, &c);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    c->passive = true;
    c->listener = l;
    c->fd = fd;
    rc = kk_fd_watch_add(r, fd, KK_FD_READ, conn_event, c, &c->watch);
    if (rc < 0) {
        close(fd);
        c->fd = -1;
        ofp__role_leave(&c->role);
        c->destroyed = true;
        conn_free(c);
        return rc;
    }
    c->watch_events = KK_FD_READ;
    c->stats.connect_attempts = 1;
    set_state(c, OFP_CONN_CONNECTING);
    c->attempt_start_us = now_us(c);
    /* A failure here is reported through `soon`, like any other. */
    transport_ready(c);
    schedule(c);
    *out = c;
    return 0;
}

void ofp_conn_destroy(struct ofp_conn *c)
{
    if (!c || c->destroyed)
        return;
    if (c->listener) {
        ofp__listener_forget(c->listener, c);
        c->listener = NULL;
    }
    close_transport(c);
    ofp__role_leave(&c->role);
    kk_timer_disarm(c->tick);
    kk_timer_disarm(c->soon);
    c->destroyed = true;
    if (c->busy == 0)
        conn_free(c);
}

/* ---- API ---------------------------------------------------------------- */

static int check_send(struct ofp_conn *c, const void *msg, size_t len)
{
    if (!c || !msg || len < HDR_LEN || len > 65535 || get_be16((const uint8_t *)msg + 2) != len)
        return -EINVAL;
    if (c->destroyed || c->state != OFP_CONN_UP || c->closing)
        return -ENOTCONN;
    return 0;
}

int ofp_conn_send(struct ofp_conn *c, const void *msg, size_t len)
{
    int rc = check_send(c, msg, len);
    return rc < 0 ? rc : enqueue(c, msg, len);
}

int ofp_conn_send_droppable(struct ofp_conn *c, const void *msg, size_t len)
{
    int rc = check_send(c, msg, len);
    if (rc < 0)
        return rc;
    if (c->congested) {
        c->stats.dropped++;
        return -ENOBUFS;
    }
    rc = enqueue(c, msg, len);
    if (rc == -ENOBUFS)
        c->stats.dropped++;
    return rc;
}

uint32_t ofp_conn_next_xid(struct ofp_conn *c)
{
    if (++c->xid == 0)
        c->xid = 1;
    return c->xid;
}

uint8_t ofp_conn_version(const struct ofp_conn *c)
{
    return c->state == OFP_CONN_UP ? c->version : 0;
}

enum ofp_conn_state ofp_conn_state(const struct ofp_conn *c)
{
    return c->state;
}

bool ofp_conn_is_congested(const struct ofp_conn *c)
{
    return c->congested;
}

struct ofp_listener *ofp_conn_listener(const struct ofp_conn *c)
{
    return c->listener;
}

void ofp_conn_disconnect(struct ofp_conn *c, const char *reason)
{
    if (c)
        conn_down(c, "%s", reason ? reason : "disconnected by request");
}

void ofp_conn_get_stats(const struct ofp_conn *c, struct ofp_conn_stats *out)
{
    *out = c->stats;
    out->state = c->state;
    out->passive = c->passive;
    out->congested = c->congested;
    out->version = ofp_conn_version(c);
    out->role = c->role.role;
    snprintf(out->target, sizeof(out->target), "%s", c->name);
    snprintf(out->peer, sizeof(out->peer), "%s", c->peer);
    out->state_since_us = c->state_since_us;
    out->backoff_ms = c->backoff_ms;
    out->output_queued = queued(c);
    snprintf(out->last_error, sizeof(out->last_error), "%s", c->last_error);
}

void ofp_conn_set_role_group(struct ofp_conn *c, struct ofp_role_group *g)
{
    ofp__role_join(&c->role, g);
}

int ofp_conn_request_role(struct ofp_conn *c, enum ofp_conn_role role, uint64_t generation_id,
                          enum ofp_conn_role *role_out)
{
    return ofp__role_request(&c->role, role, generation_id, role_out);
}

enum ofp_conn_role ofp_conn_role(const struct ofp_conn *c)
{
    return c->role.role;
}
