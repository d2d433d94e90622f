/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NBD target TLS on OpenSSL (see nbd_tls.h): TLS 1.2 and later, server
 * certificate and key from PEM files, non-blocking reads and writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbd_tls.h"

#ifdef KK_HAVE_OPENSSL

#include <openssl/err.h>
#include <openssl/ssl.h>

struct nbd_tls_ctx {
    SSL_CTX *ssl;
};

struct nbd_tls {
    SSL *ssl;
    bool want_write;
};

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

int nbd_tls_ctx_create(const char *cert, const char *key, char *err, size_t errlen,
                       struct nbd_tls_ctx **out)
{
    struct nbd_tls_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->ssl = SSL_CTX_new(TLS_server_method());
    if (!c->ssl) {
        last_error(err, errlen, "SSL_CTX_new");
        free(c);
        return -ENOMEM;
    }
    SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* no session tickets or cache: every connection does a full handshake */
    SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c->ssl, SSL_OP_NO_TICKET);
    if (SSL_CTX_use_certificate_chain_file(c->ssl, cert) != 1) {
        last_error(err, errlen, "certificate");
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(c->ssl, key, SSL_FILETYPE_PEM) != 1) {
        last_error(err, errlen, "private key");
        goto fail;
    }
    if (SSL_CTX_check_private_key(c->ssl) != 1) {
        last_error(err, errlen, "the key does not match the certificate");
        goto fail;
    }
    *out = c;
    return 0;
fail:
    SSL_CTX_free(c->ssl);
    free(c);
    return -EINVAL;
}

void nbd_tls_ctx_destroy(struct nbd_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

int nbd_tls_new(struct nbd_tls_ctx *ctx, int fd, struct nbd_tls **out)
{
    struct nbd_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->ssl = SSL_new(ctx->ssl);
    if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
        ERR_clear_error();
        SSL_free(t->ssl);
        free(t);
        return -ENOMEM;
    }
    SSL_set_accept_state(t->ssl);
    *out = t;
    return 0;
}

void nbd_tls_free(struct nbd_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
}

/* Classify a failed SSL call: -EAGAIN (with the direction), 0 at EOF, or
 * an error. */
static int classify(struct nbd_tls *t, int ret, char *err, size_t errlen)
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
    case SSL_ERROR_SYSCALL:
        if (err && errlen)
            snprintf(err, errlen, "%s", errno ? strerror(errno) : "unexpected end of stream");
        ERR_clear_error();
        return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -EIO;
    default:
        last_error(err, errlen, "TLS");
        return -EPROTO;
    }
}

int nbd_tls_handshake(struct nbd_tls *t, char *err, size_t errlen)
{
    errno = 0;
    int r = SSL_do_handshake(t->ssl);
    if (r == 1)
        return 0;
    int rc = classify(t, r, err, errlen);
    if (rc == -EAGAIN)
        return rc;
    if (rc == 0 && err && errlen)
        snprintf(err, errlen, "the client closed the connection during the TLS handshake");
    return -EPROTO;
}

ssize_t nbd_tls_read(struct nbd_tls *t, void *buf, size_t len)
{
    size_t n = 0;
    errno = 0;
    if (SSL_read_ex(t->ssl, buf, len, &n) == 1)
        return (ssize_t)n;
    return classify(t, 0, NULL, 0);
}

ssize_t nbd_tls_write(struct nbd_tls *t, const void *buf, size_t len)
{
    size_t n = 0;
    errno = 0;
    if (SSL_write_ex(t->ssl, buf, len, &n) == 1)
        return (ssize_t)n;
    int rc = classify(t, 0, NULL, 0);
    return rc == 0 ? -EPIPE : rc;
}

bool nbd_tls_want_write(const struct nbd_tls *t)
{
    return t->want_write;
}

bool nbd_tls_pending(const struct nbd_tls *t)
{
    return SSL_pending(t->ssl) > 0;
}

void nbd_tls_shutdown(struct nbd_tls *t)
{
    if (SSL_is_init_finished(t->ssl))
        SSL_shutdown(t->ssl);
    ERR_clear_error();
}

const char *nbd_tls_describe(const struct nbd_tls *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
    return buf;
}

#else /* !KK_HAVE_OPENSSL */

int nbd_tls_ctx_create(const char *cert, const char *key, char *err, size_t errlen,
                       struct nbd_tls_ctx **out)
{
    (void)cert;
    (void)key;
    (void)out;
    snprintf(err, errlen, "kvmkit was built without OpenSSL");
    return -ENOTSUP;
}
void nbd_tls_ctx_destroy(struct nbd_tls_ctx *ctx) { (void)ctx; }
int nbd_tls_new(struct nbd_tls_ctx *ctx, int fd, struct nbd_tls **out)
{
    (void)ctx; (void)fd; (void)out;
    return -ENOTSUP;
}
void nbd_tls_free(struct nbd_tls *t) { (void)t; }
int nbd_tls_handshake(struct nbd_tls *t, char *err, size_t errlen)
{
    (void)t; (void)err; (void)errlen;
    return -ENOTSUP;
}
ssize_t nbd_tls_read(struct nbd_tls *t, void *buf, size_t len)
{
    (void)t; (void)buf; (void)len;
    return -ENOTSUP;
}
ssize_t nbd_tls_write(struct nbd_tls *t, const void *buf, size_t len)
{
    (void)t; (void)buf; (void)len;
    return -ENOTSUP;
}
bool nbd_tls_want_write(const struct nbd_tls *t) { (void)t; return false; }
bool nbd_tls_pending(const struct nbd_tls *t) { (void)t; return false; }
void nbd_tls_shutdown(struct nbd_tls *t) { (void)t; }
const char *nbd_tls_describe(const struct nbd_tls *t, char *buf, size_t len)
{
    (void)t;
    snprintf(buf, len, "none");
    return buf;
}

#endif
