/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nbd_tls.h — the NBD target's TLS layer (OpenSSL), private to lib/blk.
 *
 * A context holds the server certificate and key (PEM files); a session
 * wraps one non-blocking socket after NBD_OPT_STARTTLS. Every call returns
 * at once: -EAGAIN means "call again when the socket is ready", and
 * nbd_tls_want_write() says which readiness to wait for. Without OpenSSL
 * at build time, nbd_tls_ctx_create() returns -ENOTSUP.
 *
 * Threads: a context is read-only after creation and may be shared by
 * sessions on any thread; a session belongs to one thread at a time.
 */
#ifndef KK_NBD_TLS_H
#define KK_NBD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct nbd_tls_ctx;
struct nbd_tls;

/* Load @cert and @key. Returns 0, -ENOTSUP (no TLS support built in), or
 * -EINVAL with a reason in @err. */
int nbd_tls_ctx_create(const char *cert, const char *key, char *err, size_t errlen,
                       struct nbd_tls_ctx **out);
void nbd_tls_ctx_destroy(struct nbd_tls_ctx *ctx);

/* A server-side session on @fd (not taken over: the caller closes it). */
int nbd_tls_new(struct nbd_tls_ctx *ctx, int fd, struct nbd_tls **out);
void nbd_tls_free(struct nbd_tls *t);

/* Drive the handshake: 0 when done, -EAGAIN, or -EPROTO (failed; reason in
 * @err). */
int nbd_tls_handshake(struct nbd_tls *t, char *err, size_t errlen);

/* Read up to @len bytes: count, 0 at a clean end, -EAGAIN, or -EPROTO/-EIO. */
ssize_t nbd_tls_read(struct nbd_tls *t, void *buf, size_t len);
/* Write up to @len bytes: count (> 0), -EAGAIN, or -EPIPE/-EIO. */
ssize_t nbd_tls_write(struct nbd_tls *t, const void *buf, size_t len);
/* After -EAGAIN: does the session wait for the socket to become writable? */
bool nbd_tls_want_write(const struct nbd_tls *t);
/* Decrypted bytes buffered inside the session (read them before waiting). */
bool nbd_tls_pending(const struct nbd_tls *t);
/* Send close_notify (best effort, non-blocking). */
void nbd_tls_shutdown(struct nbd_tls *t);

/* Protocol version and cipher, for logs. */
const char *nbd_tls_describe(const struct nbd_tls *t, char *buf, size_t len);

#endif /* KK_NBD_TLS_H */
