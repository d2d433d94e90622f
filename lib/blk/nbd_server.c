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
 *
 * Files: this one owns the server (exports, listeners, accepting, stats);
 * nbd_conn.c a connection's output, life cycle and handshake;
 * nbd_transmission.c input parsing and requests; nbd_server_internal.h
 * holds the structures they share.
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
#include <sys/un.h>
#include <unistd.h>

#include "blk.h"
#include "kk_err.h"
#include "kk_log.h"
#include "nbd_internal.h"
#include "nbd_proto.h"
#include "nbd_server.h"
#include "nbd_server_internal.h"
#include "nbd_tls.h"

KK_LOG_COMPONENT(nbd_log, "nbd");

/* ---- exports (lookups under s->lock) ------------------------------------------ */

struct nbd_export *nbd__find_export(struct nbd_server *s, const uint8_t *name, uint32_t len)
{
    for (struct nbd_export *e = s->exports; e; e = e->next) {
        if (strlen(e->name) == len && memcmp(e->name, name, len) == 0)
            return e;
    }
    return NULL;
}

/* ---- accepting ------------------------------------------------------------------------ */

static int add_conn(struct nbd_server *s, int fd, const char *peer)
{
    pthread_mutex_lock(&s->lock);
    bool full = s->n_conns >= s->max_conns;
    pthread_mutex_unlock(&s->lock);
    if (full) {
        nbd__count(&s->refused, 1);
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
    nbd__count(&s->accepted, 1);
    KK_LOGI(nbd_log, "%s: connected (worker %s)", c->peer, kk_reactor_name(c->r));
    int rc = kk_reactor_send(c->r, nbd__conn_start, c);
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
                    nbd__conn_request_kill(c);
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
    s->handshake_limit_ms = opts->handshake_limit_ms ? opts->handshake_limit_ms : 10000;
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
        nbd__conn_request_kill(c);
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
    bool dup = nbd__find_export(s, (const uint8_t *)name, (uint32_t)strlen(name)) != NULL;
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
                nbd__conn_request_kill(c);
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
