/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nbd_server.h — NBD target: serves bdevs to NBD clients (qemu-img/qemu-io
 * nbd:// URLs, nbdinfo, nbdcopy, fio's nbd engine, the kernel's nbd-client).
 *
 * Fixed newstyle handshake; options GO, INFO, LIST, EXPORT_NAME, ABORT,
 * STRUCTURED_REPLY, SET_META_CONTEXT/LIST_META_CONTEXT (base:allocation),
 * STARTTLS (when TLS is configured); commands READ, WRITE, DISC, FLUSH,
 * TRIM, CACHE, WRITE_ZEROES, BLOCK_STATUS with FUA where it applies;
 * multi-conn. Listens on a Unix socket and/or TCP.
 *
 * Threads: created on the control reactor @ctrl (the listener lives there);
 * each accepted connection is handed to one of the worker reactors (round
 * robin) and lives on it, with its own bdev channel. Everything a client
 * sends is validated (nbd_proto.h); malformed or out-of-range requests get
 * the protocol's error, and the connection is closed where the protocol
 * says so. A client vanishing with replies pending never takes the server
 * down. Call every function on @ctrl's thread.
 */
#ifndef KK_NBD_SERVER_H
#define KK_NBD_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kk_reactor.h"

struct nbd_server;

struct nbd_server_opts {
    const char *unix_path;     /* listen here (a stale socket file is replaced); or NULL */
    const char *tcp_addr;      /* listen on host:port (port 0 picks one); or NULL */
    const char *tls_cert;      /* PEM certificate and key: offer TLS; NULL: no TLS */
    const char *tls_key;
    bool tls_required;         /* refuse everything but STARTTLS before TLS */
    uint32_t max_connections;  /* 0: 64 */
    /* Close a connection that has not chosen an export (TLS included) this
     * long after it connected, so idle clients cannot hold connection slots.
     * 0: 10 s (qemu-nbd's default); UINT32_MAX: no limit. */
    uint32_t handshake_limit_ms;
};

int nbd_server_create(struct kk_reactor *ctrl, struct kk_reactor *const *workers,
                      unsigned n_workers, const struct nbd_server_opts *opts,
                      struct nbd_server **out);
/* Close the listeners and every connection, then free. */
void nbd_server_destroy(struct nbd_server *s);

struct nbd_export_opts {
    const char *name;          /* export name ("" is the default export) */
    const char *bdev;          /* bdev name (opened while exported) */
    const char *description;   /* optional */
    bool read_only;
};
/* Returns 0, -EEXIST, -ENOENT (no such bdev), -EROFS (read-write export of a read-only bdev). */
int nbd_server_add_export(struct nbd_server *s, const struct nbd_export_opts *opts);
/* Remove an export, closing its connections. Returns 0 or -ENOENT. */
int nbd_server_remove_export(struct nbd_server *s, const char *name);
unsigned nbd_server_export_count(const struct nbd_server *s);

/* The TCP port actually bound (after port 0), or 0. */
uint16_t nbd_server_tcp_port(const struct nbd_server *s);

/* Listeners, exports, connections and counters as JSON (new reference). */
json_t *nbd_server_to_json(const struct nbd_server *s);

#endif /* KK_NBD_SERVER_H */
