/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "kk_daemon.h"
#include "kk_err.h"
#include "kk_log.h"
#include "kk_version.h"

KK_LOG_COMPONENT(daemon_log, "daemon");

static void on_signal(void *arg, int fd, unsigned events)
{
    struct kk_daemon *d = arg;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) != sizeof(si))
        return;
    if (si.ssi_signo == SIGHUP) {
        KK_LOGI(daemon_log, "%s: SIGHUP ignored (configuration is changed over JSON-RPC)",
                d->name);
        return;
    }
    KK_LOGI(daemon_log, "%s: %s received, shutting down", d->name, strsignal((int)si.ssi_signo));
    d->stop_signal = (int)si.ssi_signo;
    kk_reactor_stop(d->reactor);
}

static void rpc_shutdown(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct kk_daemon *d = arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    KK_LOGI(daemon_log, "%s: shutdown requested over JSON-RPC", d->name);
    kk_jsonrpc_respond(req, json_true());
    kk_reactor_stop(d->reactor);
}

static void rpc_info(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct kk_daemon *d = arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    struct kk_reactor_stats st;
    kk_reactor_get_stats(d->reactor, &st);
    /* The main reactor's loop: how busy the daemon's core is. */
    json_t *reactor = json_pack("{s:I, s:I, s:I, s:I, s:I}", "turns", (json_int_t)st.turns,
                                "busy_turns", (json_int_t)st.busy_turns, "sleeps",
                                (json_int_t)st.sleeps, "busy_tsc", (json_int_t)st.busy_tsc,
                                "idle_tsc", (json_int_t)st.idle_tsc);
    kk_jsonrpc_respond(req, json_pack("{s:s, s:s, s:i, s:f, s:o}", "name", d->name, "version",
                                      KK_VERSION, "pid", (int)getpid(), "uptime_s",
                                      (double)(kk_now_us() - d->started_us) / 1e6, "reactor",
                                      reactor));
}

static void rpc_log_levels(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    const char *spec;
    if (kk_jsonrpc_unpack(req, params, "{s:s !}", "spec", &spec) < 0)
        return;
    int rc = kk_log_set_levels(spec);
    if (rc < 0)
        kk_jsonrpc_respond_errno(req, rc, "bad log level spec '%s'", spec);
    else
        kk_jsonrpc_respond(req, json_true());
}

int kk_daemon_init(struct kk_daemon *d, const char *name, const char *rpc_path)
{
    memset(d, 0, sizeof(*d));
    d->name = name;
    d->signal_fd = -1;
    d->started_us = kk_now_us();
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    d->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (d->signal_fd < 0)
        return kk_neg_errno();

    struct kk_reactor_opts o;
    kk_reactor_opts_init(&o);
    o.name = name;
    int rc = kk_reactor_create(&o, &d->reactor);
    if (rc == 0)
        rc = kk_fd_watch_add(d->reactor, d->signal_fd, KK_FD_READ, on_signal, d,
                             &d->signal_watch);
    if (rc == 0 && rpc_path) {
        rc = kk_jsonrpc_server_create(d->reactor, rpc_path, NULL, &d->rpc);
        if (rc == 0)
            rc = kk_jsonrpc_register(d->rpc, "daemon.shutdown", rpc_shutdown, d,
                                     "stop the daemon gracefully");
        if (rc == 0)
            rc = kk_jsonrpc_register(d->rpc, "daemon.info", rpc_info, d,
                                     "name, version, pid, uptime and main-reactor counters");
        if (rc == 0)
            rc = kk_jsonrpc_register(d->rpc, "log.set_levels", rpc_log_levels, d,
                                     "set log levels: {\"spec\": \"info,virtio=debug\"}");
    }
    if (rc < 0) {
        KK_LOGE(daemon_log, "%s: cannot start: %s", name, kk_strerror(rc));
        kk_daemon_fini(d);
    }
    return rc;
}

int kk_daemon_run(struct kk_daemon *d)
{
    KK_LOGI(daemon_log, "%s %s running (pid %d)", d->name, KK_VERSION, (int)getpid());
    return kk_reactor_run(d->reactor);
}

void kk_daemon_fini(struct kk_daemon *d)
{
    kk_jsonrpc_server_destroy(d->rpc);
    d->rpc = NULL;
    if (d->signal_watch)
        kk_fd_watch_remove(d->signal_watch);
    d->signal_watch = NULL;
    kk_reactor_destroy(d->reactor);
    d->reactor = NULL;
    if (d->signal_fd >= 0)
        close(d->signal_fd);
    d->signal_fd = -1;
}

int kk_parse_cpu_list(const char *s, int *cpus, unsigned max, unsigned *n)
{
    *n = 0;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s || a < 0 || a > 4095)
            return -EINVAL;
        if (*end == '-') {
            s = end + 1;
            b = strtol(s, &end, 10);
            if (end == s || b < a || b > 4095)
                return -EINVAL;
        }
        for (long c = a; c <= b; c++) {
            if (*n >= max)
                return -E2BIG;
            cpus[(*n)++] = (int)c;
        }
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return -EINVAL;
    }
    return *n ? 0 : -EINVAL;
}
