/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenFlow listeners: ptcp:, pssl:, punix:. Each accepted socket becomes a
 * passive channel (conn.c); at most opts.max_connections at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn_internal.h"
#include "kk_err.h"
#include "kk_reactor.h"

#define ACCEPT_BURST 16

struct ofp_listener {
    struct kk_reactor *reactor;
    struct ofp_target target;
    char name[OFP_CONN_NAME_MAX];
    struct ofp_conn_opts opts;
    struct ofp_conn_callbacks cb;
    void *arg;
    int fd;
    struct kk_fd_watch *watch;
    bool unlink_path;
    struct ofp_conn **conns; /* opts.max_connections slots */
    uint32_t n_conns;
    uint64_t accepted, refused;
};

void ofp__listener_forget(struct ofp_listener *l, struct ofp_conn *c)
{
    for (uint32_t i = 0; i < l->n_conns; i++) {
        if (l->conns[i] == c) {
            l->conns[i] = l->conns[--l->n_conns];
            return;
        }
    }
}

static void accept_cb(void *arg, int fd, unsigned events)
{
    struct ofp_listener *l = arg;
    (void)events;
    /* A burst, then other work: a connection flood cannot starve the loop. */
    for (int i = 0; i < ACCEPT_BURST; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                KK_LOGW_RL(ofconn_log, "%s: accept: %s", l->name, kk_strerror(errno));
            return;
        }
        if (l->n_conns >= l->opts.max_connections) {
            l->refused++;
            KK_LOGW_RL(ofconn_log, "%s: refusing a connection: %u already open", l->name,
                       l->n_conns);
            close(cfd);
            continue;
        }
        struct ofp_conn *c;
        int rc = ofp__conn_accept(l, l->reactor, cfd, &l->target, l->name, &l->opts, &l->cb,
                                  l->arg, &c);
        if (rc < 0) {
            KK_LOGE(ofconn_log, "%s: cannot take a connection: %s", l->name, kk_strerror(rc));
            continue;
        }
        l->conns[l->n_conns++] = c;
        l->accepted++;
    }
}

/* Is a server listening on this Unix socket? (A stale file refuses.) */
static bool unix_socket_is_live(const struct ofp_target *t)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool live = connect(fd, (const struct sockaddr *)&t->addr, t->addr_len) == 0;
    close(fd);
    return live;
}

static int open_socket(struct ofp_listener *l)
{
    const struct ofp_target *t = &l->target;
    const char *path = ((const struct sockaddr_un *)&t->addr)->sun_path;
    if (t->kind == OFP_TARGET_PUNIX) {
        struct stat st;
        if (lstat(path, &st) == 0) {
            if (!S_ISSOCK(st.st_mode)) {
                KK_LOGE(ofconn_log, "%s: exists and is not a socket", path);
                return -EEXIST;
            }
            if (unix_socket_is_live(t)) {
                KK_LOGE(ofconn_log, "%s: another server is listening there", path);
                return -EADDRINUSE;
            }
            unlink(path); /* stale: left by a process that died */
        }
    }
    l->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0)
        return kk_neg_errno();
    int one = 1;
    if (t->kind != OFP_TARGET_PUNIX)
        setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (t->addr.ss_family == AF_INET6)
        setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(l->fd, (const struct sockaddr *)&t->addr, t->addr_len) < 0) {
        int rc = kk_neg_errno();
        KK_LOGE(ofconn_log, "%s: bind: %s", l->name, kk_strerror(rc));
        return rc;
    }
    if (t->kind == OFP_TARGET_PUNIX)
        l->unlink_path = true;
    if (listen(l->fd, 64) < 0)
        return kk_neg_errno();
    if (t->kind != OFP_TARGET_PUNIX) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) == 0) {
            l->target.port = ss.ss_family == AF_INET6
                                 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                 : ntohs(((struct sockaddr_in *)&ss)->sin_port);
            ofp_target_format(&l->target, l->name, sizeof(l->name));
        }
    }
    return 0;
}

int ofp_listener_create(struct kk_reactor *r, const char *target,
                        const struct ofp_conn_opts *opts, const struct ofp_conn_callbacks *cb,
                        void *arg, struct ofp_listener **out)
{
    if (!r || !target || !cb || !cb->message || !out)
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
    if (!ofp_target_is_passive(&t)) {
        KK_LOGE(ofconn_log, "%s: an active target cannot listen", target);
        return -EINVAL;
    }
    if (ofp_target_is_ssl(&t) && !o.ssl) {
        KK_LOGE(ofconn_log, "%s: SSL keys are needed (opts.ssl)", target);
        return -EINVAL;
    }
    struct ofp_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->conns = calloc(o.max_connections, sizeof(*l->conns));
    if (!l->conns) {
        free(l);
        return -ENOMEM;
    }
    l->reactor = r;
    l->target = t;
    l->opts = o;
    l->cb = *cb;
    l->arg = arg;
    l->fd = -1;
    ofp_target_format(&t, l->name, sizeof(l->name));
    rc = open_socket(l);
    if (rc == 0)
        rc = kk_fd_watch_add(r, l->fd, KK_FD_READ, accept_cb, l, &l->watch);
    if (rc < 0) {
        ofp_listener_destroy(l);
        return rc;
    }
    KK_LOGI(ofconn_log, "listening on %s", l->name);
    *out = l;
    return 0;
}

void ofp_listener_destroy(struct ofp_listener *l)
{
    if (!l)
        return;
    while (l->n_conns > 0)
        ofp_conn_destroy(l->conns[l->n_conns - 1]); /* forgets itself */
    kk_fd_watch_remove(l->watch);
    if (l->fd >= 0)
        close(l->fd);
    if (l->unlink_path)
        unlink(((const struct sockaddr_un *)&l->target.addr)->sun_path);
    free(l->conns);
    free(l);
}

void ofp_listener_get_stats(const struct ofp_listener *l, struct ofp_listener_stats *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->target, sizeof(out->target), "%s", l->name);
    out->port = l->target.port;
    out->n_conns = l->n_conns;
    out->accepted = l->accepted;
    out->refused = l->refused;
}

void ofp_listener_foreach(struct ofp_listener *l, void (*fn)(void *arg, struct ofp_conn *c),
                          void *arg)
{
    for (uint32_t i = 0; i < l->n_conns; i++)
        fn(arg, l->conns[i]);
}
