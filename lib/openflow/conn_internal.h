/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn_internal.h — shared between conn*.c and their unit test. Not
 * installed.
 */
#ifndef OFP_CONN_INTERNAL_H
#define OFP_CONN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conn.h"
#include "kk_log.h"

KK_LOG_COMPONENT_DECLARE(ofconn_log);

/* ---- HELLO (conn_hello.c) ----------------------------------------------- */

/* Our HELLO is at most this long (header + one bitmap element). */
#define OFP__HELLO_MAX 16

/*
 * Encode our HELLO for the allowed @versions (bit v = wire version v,
 * bits 1..31) with @xid: header version = the highest allowed, and a
 * version bitmap element when that is 1.3 (0x04) or later. Returns the
 * length written into @buf (8 or 16).
 */
size_t ofp__hello_encode(uint32_t versions, uint32_t xid, uint8_t buf[OFP__HELLO_MAX]);

/*
 * Negotiate from the peer's HELLO (@msg, @len bytes, header included and
 * already length-checked). Returns the version, or 0 when there is no
 * common one; then @why receives the text for the error message.
 * Malformed elements are ignored (as Open vSwitch does) after a debug log.
 */
uint8_t ofp__hello_negotiate(uint32_t versions, const uint8_t *msg, size_t len, char *why,
                             size_t whylen);

/* "0x01, 0x04" for a bitmap. */
const char *ofp__versions_format(uint32_t versions, char *buf, size_t len);

/* ---- TLS (conn_ssl.c) --------------------------------------------------- */

struct ofp__tls;

/* A TLS session on connected socket @fd (not owned), as a server or a
 * client. Returns 0 and *out, -ENOMEM or -ENOTSUP. */
int ofp__tls_new(struct ofp_ssl_ctx *ctx, int fd, bool server, struct ofp__tls **out);
void ofp__tls_free(struct ofp__tls *t);

/* 0 when done, -EAGAIN to call again when the socket is ready (see
 * ofp__tls_want_write()), or -EPROTO with the reason in @err. */
int ofp__tls_handshake(struct ofp__tls *t, char *err, size_t errlen);

/* Bytes read or written, 0 at the peer's close (read), -EAGAIN, or another
 * negative errno (-EPROTO: a TLS error, reason in @err). */
ssize_t ofp__tls_read(struct ofp__tls *t, void *buf, size_t len, char *err, size_t errlen);
ssize_t ofp__tls_write(struct ofp__tls *t, const void *buf, size_t len, char *err,
                       size_t errlen);

/* After -EAGAIN: true if the session waits for the socket to be writable. */
bool ofp__tls_want_write(const struct ofp__tls *t);

/* True if decrypted input is buffered inside the session (epoll cannot
 * tell). */
bool ofp__tls_pending(const struct ofp__tls *t);

/* Send close_notify if the handshake finished (best effort). */
void ofp__tls_shutdown(struct ofp__tls *t);

/* ---- channels and listeners (conn.c, conn_listener.c) ------------------- */

/* Validate @opts (NULL: defaults) into *out. Returns 0 or -EINVAL. */
int ofp__opts_check(const struct ofp_conn_opts *opts, struct ofp_conn_opts *out);

/*
 * Make a passive channel on accepted socket @fd (taken over: closed on
 * failure too) for @l. Returns 0 and *out, or a negative errno.
 */
int ofp__conn_accept(struct ofp_listener *l, struct kk_reactor *r, int fd,
                     const struct ofp_target *lt, const char *listener_name,
                     const struct ofp_conn_opts *opts, const struct ofp_conn_callbacks *cb,
                     void *arg, struct ofp_conn **out);

/* A passive channel leaves its listener (it is being freed). */
void ofp__listener_forget(struct ofp_listener *l, struct ofp_conn *c);

/* Describe the peer of socket @fd ("tcp:1.2.3.4:5", "unix:PATH"). */
void ofp__peer_name(int fd, const struct ofp_target *t, char *buf, size_t len);

/* ---- roles (conn_role.c) ------------------------------------------------ */

struct ofp__role_member {
    struct ofp_role_group *group;
    struct ofp__role_member *prev, *next;
    enum ofp_conn_role role;
    bool has_generation; /* the channel's own, when it has no group */
    uint64_t generation;
};

void ofp__role_init(struct ofp__role_member *m);
/* Join @g, leaving any other group first; NULL: just leave. */
void ofp__role_join(struct ofp__role_member *m, struct ofp_role_group *g);
/* Leave the group, if in one (on destroy). */
void ofp__role_leave(struct ofp__role_member *m);
/* A new connection starts as EQUAL. */
void ofp__role_reset(struct ofp__role_member *m);
/* See ofp_conn_request_role(). */
int ofp__role_request(struct ofp__role_member *m, enum ofp_conn_role role, uint64_t generation_id,
                      enum ofp_conn_role *role_out);

#endif /* OFP_CONN_INTERNAL_H */
