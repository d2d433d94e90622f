/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small JSON-RPC server on lib/core for the CLI integration test: it
 * serves "sum" (adds the numbers of an array), "fail" (ENOENT) and
 * "shutdown", on the socket given as its only argument, and exits 0 when
 * told to shut down or on SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "kk_err.h"
#include "kk_jsonrpc.h"
#include "kk_reactor.h"

static void sum(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    if (!json_is_array(params)) {
        kk_jsonrpc_respond_error(req, KK_JSONRPC_INVALID_PARAMS, "params must be an array");
        return;
    }
    json_int_t total = 0;
    size_t i;
    json_t *v;
    json_array_foreach(params, i, v) {
        if (!json_is_integer(v)) {
            kk_jsonrpc_respond_error(req, KK_JSONRPC_INVALID_PARAMS, "item %zu is not an integer",
                                     i);
            return;
        }
        total += json_integer_value(v);
    }
    kk_jsonrpc_respond(req, json_integer(total));
}

static void fail(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    kk_jsonrpc_respond_errno(req, -ENOENT, "no such thing");
}

static void shutdown_method(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    kk_jsonrpc_respond(req, json_true());
    kk_reactor_stop(arg);
}

static void on_signal(void *arg, int fd, unsigned events)
{
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) == sizeof(si))
        kk_reactor_stop(arg);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

    struct kk_reactor *r;
    struct kk_jsonrpc_server *s;
    struct kk_fd_watch *w;
    int rc = kk_reactor_create(NULL, &r);
    if (rc == 0)
        rc = kk_jsonrpc_server_create(r, argv[1], NULL, &s);
    if (rc < 0) {
        fprintf(stderr, "rpc_test_server: %s\n", kk_strerror(rc));
        return 1;
    }
    kk_fd_watch_add(r, sfd, KK_FD_READ, on_signal, r, &w);
    kk_jsonrpc_register(s, "sum", sum, NULL, "add the integers of an array");
    kk_jsonrpc_register(s, "fail", fail, NULL, "always fails with ENOENT");
    kk_jsonrpc_register(s, "shutdown", shutdown_method, r, "stop the server");
    kk_reactor_run(r);
    kk_jsonrpc_server_destroy(s);
    kk_fd_watch_remove(w);
    kk_reactor_destroy(r);
    close(sfd);
    return 0;
}
