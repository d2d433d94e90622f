/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS for ssl:/pssl: channels on OpenSSL: TLS 1.2 and later, mutual
 * certificate authentication against one CA file, non-blocking.
 *
 * The sessions do their socket I/O through a small BIO of ours that uses
 * send(MSG_NOSIGNAL)/recv: OpenSSL's socket BIO write()s, and a peer that
 * closes first would raise SIGPIPE in a process that did not ignore it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conn_internal.h"

#ifdef KK_HAVE_OPENSSL

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct ofp_ssl_ctx {
    SSL_CTX *client;
    SSL_CTX *server;
};

struct ofp__tls {
    SSL *ssl;
    bool want_write;
};

/* ---- our socket BIO ----------------------------------------------------- */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_fd(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int bio_write(BIO *b, const char *buf, int len)
{
    BIO_clear_retry_flags(b);
    ssize_t n = send(bio_fd(b), buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        BIO_set_retry_write(b);
    return (int)n;
}

static int bio_read(BIO *b, char *buf, int len)
{
    BIO_clear_retry_flags(b);
    ssize_t n = recv(bio_fd(b), buf, (size_t)len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        BIO_set_retry_read(b);
    return (int)n;
}

static int bio_puts(BIO *b, const char *s)
{
    return bio_write(b, s, (int)strlen(s));
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void bio_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "kvmkit socket");
    if (!m)
        return;
    if (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
        !BIO_meth_set_puts(m, bio_puts) || !BIO_meth_set_ctrl(m, bio_ctrl) ||
        !BIO_meth_set_create(m, bio_create)) {
        BIO_meth_free(m);
        return;
    }
    bio_method = m;
}

/* ---- contexts ----------------------------------------------------------- */

static void last_error(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    if (err && errlen)
        snprintf(err, errlen, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static SSL_CTX *ctx_new(bool server, const struct ofp_ssl_opts *o, char *err, size_t errlen)
{
    SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!c) {
        last_error(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(c, o->certificate) != 1) {
        last_error(err, errlen, "certificate");
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(c, o->private_key, SSL_FILETYPE_PEM) != 1) {
        last_error(err, errlen, "private key");
        goto fail;
    }
    if (SSL_CTX_check_private_key(c) != 1) {
        last_error(err, errlen, "the private key does not match the certificate");
        goto fail;
    }
    if (SSL_CTX_load_verify_locations(c, o->ca_cert, NULL) != 1) {
        last_error(err, errlen, "CA certificate");
        goto fail;
    }
    if (server) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->ca_cert);
        if (names)
            SSL_CTX_set_client_CA_list(c, names);
        ERR_clear_error();
    }
    /* Both ends must show a certificate from the CA. */
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return c;
fail:
    SSL_CTX_free(c);
    return NULL;
}

int ofp_ssl_ctx_create(const struct ofp_ssl_opts *opts, char *err, size_t errlen,
                       struct ofp_ssl_ctx **out)
{
    if (err && errlen)
        err[0] = '\0';
    if (!opts || !opts->private_key || !opts->certificate || !opts->ca_cert || !out) {
        if (err && errlen)
            snprintf(err, errlen, "private key, certificate and CA certificate are required");
        return -EINVAL;
    }
    pthread_once(&bio_once, bio_method_init);
    if (!bio_method)
        return -ENOMEM;
    struct ofp_ssl_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->client = ctx_new(false, opts, err, errlen);
    c->server = c->client ? ctx_new(true, opts, err, errlen) : NULL;
    if (!c->server) {
        SSL_CTX_free(c->client);
        free(c);
        return -EINVAL;
    }
    *out = c;
    return 0;
}

void ofp_ssl_ctx_destroy(struct ofp_ssl_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->client);
    SSL_CTX_free(ctx->server);
    free(ctx);
}

/* ---- sessions ----------------------------------------------------------- */

int ofp__tls_new(struct ofp_ssl_ctx *ctx, int fd, bool server, struct ofp__tls **out)
{
    struct ofp__tls *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->ssl = SSL_new(server ? ctx->server : ctx->client);
    BIO *b = t->ssl ? BIO_new(bio_method) : NULL;
    if (!b) {
        ERR_clear_error();
        SSL_free(t->ssl);
        free(t);
        return -ENOMEM;
    }
    BIO_set_data(b, (void *)(intptr_t)fd);
    SSL_set_bio(t->ssl, b, b);
    if (server)
        SSL_set_accept_state(t->ssl);
    else
        SSL_set_connect_state(t->ssl);
    *out = t;
    return 0;
}

void ofp__tls_free(struct ofp__tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
}

/* Classify a failed SSL call: -EAGAIN (with the direction), 0 at a clean
 * close, or an error with its reason. */
static int classify(struct ofp__tls *t, int ret, char *err, size_t errlen)
{
    int e = SSL_get_error(t->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        t->want_write = false;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        t->want_write = true;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL: {
        int saved = errno;
        if (ERR_peek_error()) {
            last_error(err, errlen, "TLS");
            return -EPROTO;
        }
        if (err && errlen)
            snprintf(err, errlen, "%s", saved ? strerror(saved) : "unexpected end of stream");
        return saved == 0 ? 0 : -saved;
    }
    default: {
        long v = SSL_get_verify_result(t->ssl);
        if (v != X509_V_OK && err && errlen) {
            snprintf(err, errlen, "TLS: peer certificate: %s", X509_verify_cert_error_string(v));
            ERR_clear_error();
        } else {
            last_error(err, errlen, "TLS");
        }
        return -EPROTO;
    }
    }
}

int ofp__tls_handshake(struct ofp__tls *t, char *err, size_t errlen)
{
    errno = 0;
    int r = SSL_do_handshake(t->ssl);
    if (r == 1)
        return 0;
    int rc = classify(t, r, err, errlen);
    if (rc == -EAGAIN)
        return rc;
    if (rc == 0 && err && errlen)
        snprintf(err, errlen, "the peer closed the connection during the TLS handshake");
    return -EPROTO;
}

ssize_t ofp__tls_read(struct ofp__tls *t, void *buf, size_t len, char *err, size_t errlen)
{
    size_t n = 0;
    errno = 0;
    if (SSL_read_ex(t->ssl, buf, len, &n) == 1)
        return (ssize_t)n;
    return classify(t, 0, err, errlen);
}

ssize_t ofp__tls_write(struct ofp__tls *t, const void *buf, size_t len, char *err,
                       size_t errlen)
{
    size_t n = 0;
    errno = 0;
    if (SSL_write_ex(t->ssl, buf, len, &n) == 1)
        return (ssize_t)n;
    int rc = classify(t, 0, err, errlen);
    return rc == 0 ? -EPIPE : rc;
}

bool ofp__tls_want_write(const struct ofp__tls *t)
{
    return t->want_write;
}

bool ofp__tls_pending(const struct ofp__tls *t)
{
    return SSL_pending(t->ssl) > 0;
}

void ofp__tls_shutdown(struct ofp__tls *t)
{
    if (SSL_is_init_finished(t->ssl))
        SSL_shutdown(t->ssl);
    ERR_clear_error();
}

#else /* !KK_HAVE_OPENSSL */

int ofp_ssl_ctx_create(const struct ofp_ssl_opts *opts, char *err, size_t errlen,
                       struct ofp_ssl_ctx **out)
{
    (void)opts;
    (void)out;
    if (err && errlen)
        snprintf(err, errlen, "kvmkit was built without OpenSSL");
    return -ENOTSUP;
}
void ofp_ssl_ctx_destroy(struct ofp_ssl_ctx *ctx) { (void)ctx; }
int ofp__tls_new(struct ofp_ssl_ctx *ctx, int fd, bool server, struct ofp__tls **out)
{
    (void)ctx; (void)fd; (void)server; (void)out;
    return -ENOTSUP;
}
void ofp__tls_free(struct ofp__tls *t) { (void)t; }
int ofp__tls_handshake(struct ofp__tls *t, char *err, size_t errlen)
{
    (void)t;
    if (err && errlen)
        snprintf(err, errlen, "kvmkit was built without OpenSSL");
    return -EPROTO;
}
ssize_t ofp__tls_read(struct ofp__tls *t, void *buf, size_t len, char *err, size_t errlen)
{
    (void)t; (void)buf; (void)len; (void)err; (void)errlen;
    return -ENOTSUP;
}
ssize_t ofp__tls_write(struct ofp__tls *t, const void *buf, size_t len, char *err,
                       size_t errlen)
{
    (void)t; (void)buf; (void)len; (void)err; (void)errlen;
    return -ENOTSUP;
}
bool ofp__tls_want_write(const struct ofp__tls *t) { (void)t; return false; }
bool ofp__tls_pending(const struct ofp__tls *t) { (void)t; return false; }
void ofp__tls_shutdown(struct ofp__tls *t) { (void)t; }

#endif
