/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "jsonrpc_internal.h"
#include "kk_err.h"
#include "kk_jsonrpc.h"
#include "kk_reactor.h"

#define CLIENT_MAX_MESSAGE (256u << 20)

struct kk_jsonrpc_client {
    int fd;
    int64_t next_id;
    char *in;
    size_t in_len, in_cap;
    struct kk__json_framer framer;
};

int kk_jsonrpc_client_connect(const char *path, struct kk_jsonrpc_client **out)
{
    if (!path || !out)
        return -EINVAL;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path))
        return -EINVAL;
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return kk_neg_errno();
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int rc = kk_neg_errno();
        close(fd);
        return rc;
    }
    struct kk_jsonrpc_client *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    c->fd = fd;
    c->next_id = 1;
    kk__json_framer_init(&c->framer, 1024);
    *out = c;
    return 0;
}

void kk_jsonrpc_client_close(struct kk_jsonrpc_client *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c->in);
    free(c);
}

int kk_jsonrpc_client_send_raw(struct kk_jsonrpc_client *c, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return kk_neg_errno();
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int kk_jsonrpc_client_recv(struct kk_jsonrpc_client *c, int timeout_ms, json_t **value)
{
    uint64_t deadline = timeout_ms < 0 ? 0 : kk_now_us() + (uint64_t)timeout_ms * 1000;
    for (;;) {
        size_t begin, end;
        int r = kk__json_framer_next(&c->framer, c->in, c->in_len, &begin, &end);
        if (r < 0)
            return -EPROTO;
        if (r > 0) {
            json_error_t err;
            json_t *v = json_loadb(c->in + begin, end - begin, 0, &err);
            memmove(c->in, c->in + end, c->in_len - end);
            c->in_len -= end;
            kk__json_framer_consume(&c->framer, end);
            if (!v)
                return -EPROTO;
            *value = v;
            return 0;
        }
        if (c->in_len > CLIENT_MAX_MESSAGE)
            return -EPROTO;
        int wait_ms = -1;
        if (timeout_ms >= 0) {
            uint64_t now = kk_now_us();
            if (now >= deadline)
                return -ETIMEDOUT;
            wait_ms = (int)((deadline - now + 999) / 1000);
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait_ms);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            return kk_neg_errno();
        }
        if (pr == 0)
            return -ETIMEDOUT;
        if (c->in_len + 65536 > c->in_cap) {
            size_t cap = KK_MAX(c->in_cap * 2, c->in_len + 65536);
            char *p = realloc(c->in, cap);
            if (!p)
                return -ENOMEM;
            c->in = p;
            c->in_cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return kk_neg_errno();
        }
        if (n == 0)
            return -ECONNRESET;
        c->in_len += (size_t)n;
    }
}

int kk_jsonrpc_client_call(struct kk_jsonrpc_client *c, const char *method, json_t *params,
                           int timeout_ms, json_t **result, json_t **error)
{
    if (error)
        *error = NULL;
    *result = NULL;
    int64_t id = c->next_id++;
    json_t *req = json_pack("{s:s, s:s, s:I}", "jsonrpc", "2.0", "method", method, "id",
                            (json_int_t)id);
    if (!req) {
        json_decref(params);
        return -ENOMEM;
    }
    if (params)
        json_object_set_new(req, "params", params);
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text)
        return -ENOMEM;
    int rc = kk_jsonrpc_client_send_raw(c, text, strlen(text));
    if (rc == 0)
        rc = kk_jsonrpc_client_send_raw(c, "\n", 1);
    free(text);
    if (rc < 0)
        return rc;

    for (;;) {
        json_t *reply;
        rc = kk_jsonrpc_client_recv(c, timeout_ms, &reply);
        if (rc < 0)
            return rc;
        json_t *rid = json_object_get(reply, "id");
        /* Skip replies to other (raw) requests on the same connection. */
        if (!json_is_integer(rid) || json_integer_value(rid) != id) {
            json_decref(reply);
            continue;
        }
        json_t *err = json_object_get(reply, "error");
        if (err) {
            if (error)
                *error = json_incref(err);
            json_decref(reply);
            return -EREMOTEIO;
        }
        json_t *res = json_object_get(reply, "result");
        if (!res) {
            json_decref(reply);
            return -EPROTO;
        }
        *result = json_incref(res);
        json_decref(reply);
        return 0;
    }
}
