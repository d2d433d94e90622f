/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_daemon.h — what every kvmkit daemon does the same way: a control
 * reactor, a JSON-RPC control socket, graceful shutdown on SIGTERM/SIGINT
 * (through a signalfd, so handlers run on the reactor like everything
 * else), and common RPC methods:
 *
 *   rpc.methods             list the methods (from the JSON-RPC server)
 *   daemon.shutdown         stop the daemon gracefully
 *   daemon.info             name, version, pid, uptime
 *   log.set_levels {"spec": "info,virtio=debug"}
 *
 * Threads: call everything from the thread that runs kk_daemon_run().
 */
#ifndef KK_DAEMON_H
#define KK_DAEMON_H

#include "kk_jsonrpc.h"
#include "kk_reactor.h"

struct kk_daemon {
    const char *name;
    struct kk_reactor *reactor;
    struct kk_jsonrpc_server *rpc; /* NULL without a control socket */
    int signal_fd;
    struct kk_fd_watch *signal_watch;
    uint64_t started_us;
    int stop_signal;               /* the signal that stopped it, or 0 */
};

/*
 * Set up: block SIGTERM/SIGINT/SIGHUP (delivered through a signalfd),
 * ignore SIGPIPE, create the control reactor, and serve JSON-RPC on
 * @rpc_path if it is not NULL. Returns 0 or a negative errno (logged).
 */
int kk_daemon_init(struct kk_daemon *d, const char *name, const char *rpc_path);

/* Run until a signal or daemon.shutdown. Returns 0. */
int kk_daemon_run(struct kk_daemon *d);

/* Close the control socket (removing its file) and free everything. */
void kk_daemon_fini(struct kk_daemon *d);

/*
 * Parse a CPU list such as "1", "0-3" or "0,2-3" (numbers 0..4095) into
 * @cpus (room for @max). Returns 0 with *n set, -E2BIG for more than @max
 * CPUs, or -EINVAL (empty, malformed, descending range).
 */
int kk_parse_cpu_list(const char *s, int *cpus, unsigned max, unsigned *n);

#endif /* KK_DAEMON_H */
