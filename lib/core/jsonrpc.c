/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "jsonrpc_internal.h"
#include "kk_err.h"
#include "kk_jsonrpc.h"
#include "kk_log.h"

KK_LOG_COMPONENT(jsonrpc_log, "jsonrpc");

/* ---- framer ------------------------------------------------------------- */

void kk__json_framer_init(struct kk__json_framer *f, uint32_t max_depth)
{
    memset(f, 0, sizeof(*f));
    f->max_depth = max_depth;
}

int kk__json_framer_next(struct kk__json_framer *f, const char *buf, size_t len, size_t *begin,
                         size_t *end)
{
    while (f->scan < len) {
        char c = buf[f->scan];
        if (f->depth == 0) {
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                f->start = ++f->scan;
                continue;
            }
            if (c != '{' && c != '[')
                return -EPROTO;
            f->start = f->scan++;
            f->depth = 1;
            continue;
        }
        f->scan++;
        if (f->in_string) {
            if (f->escape)
                f->escape = false;
            else if (c == '\\')
                f->escape = true;
            else if (c == '"')
                f->in_string = false;
            continue;
        }
        if (c == '"') {
            f->in_string = true;
        } else if (c == '{' || c == '[') {
            if (++f->depth > f->max_depth)
                return -E2BIG;
        } else if (c == '}' || c == ']') {
            if (--f->depth == 0) {
                *begin = f->start;
                *end = f->scan;
                f->start = f->scan;
                return 1;
            }
        }
    }
    return 0;
}

void kk__json_framer_consume(struct kk__json_framer *f, size_t n)
{
    f->scan -= n;
    f->start = f->start >= n ? f->start - n : 0;
}

/* ---- server structures -------------------------------------------------- */

struct method {
    char *name;
    char *description;
    kk_jsonrpc_method_fn fn;
    void *arg;
    struct method *next;
};

struct conn;

/* Replies to one batch, collected until every member is answered. */
struct batch {
    json_t *replies;  /* array, one slot per member (null for notifications) */
    uint32_t pending; /* members not yet answered */
};

struct kk_jsonrpc_request {
    struct conn *conn;
    struct batch *batch;
    size_t batch_idx;
    json_t *id; /* NULL for a notification */
    char *method;
};

struct conn {
    struct kk_jsonrpc_server *server; /* NULL once the server is gone */
    int fd;                           /* -1 when closed (or detached) */
    struct kk_fd_watch *watch;
    uint32_t refs;                    /* 1 for the open socket + 1 per request */
    uint32_t inflight;
    bool closed;
    unsigned watch_events;            /* what the watch currently asks for */
    char *in;
    size_t in_len, in_cap;
    struct kk__json_framer framer;
    char *out;
    size_t out_len, out_cap, out_off;
    struct conn *prev, *next;
};

struct kk_jsonrpc_server {
    struct kk_reactor *reactor;
    struct kk_jsonrpc_server_opts opts;
    int listen_fd;
    struct kk_fd_watch *listen_watch;
    char *path;
    struct method *methods;
    struct conn *conns;
    uint32_t n_conns;
    /* Detached mode. */
    struct conn *detached;
    kk_jsonrpc_output_fn out_fn;
    void *out_arg;
    bool detached_broken;
};

void kk_jsonrpc_server_opts_init(struct kk_jsonrpc_server_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_message = 16u << 20;
    o->max_depth = 64;
    o->max_inflight = 256;
    o->max_connections = 64;
    o->max_output = 64u << 20;
    o->socket_mode = 0600;
}

static void conn_close(struct conn *c, const char *why);
static void conn_update_watch(struct conn *c);

static void conn_put(struct conn *c)
{
    if (--c->refs > 0)
        return;
    free(c->in);
    free(c->out);
    free(c);
}

/* ---- output ------------------------------------------------------------- */

static int conn_flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            return kk_neg_errno();
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    return 0;
}

static void conn_send_text(struct conn *c, const char *text, size_t len)
{
    if (c->closed)
        return;
    struct kk_jsonrpc_server *s = c->server;
    if (s && s->detached == c) {
        s->out_fn(s->out_arg, text, len);
        s->out_fn(s->out_arg, "\n", 1);
        return;
    }
    if (c->out_len + len + 1 > (s ? s->opts.max_output : (64u << 20))) {
        conn_close(c, "client does not read its replies");
        return;
    }
    if (c->out_len + len + 1 > c->out_cap) {
        size_t cap = KK_MAX(c->out_cap * 2, c->out_len + len + 1);
        char *p = realloc(c->out, cap);
        if (!p) {
            conn_close(c, "out of memory for replies");
            return;
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, text, len);
    c->out[c->out_len + len] = '\n';
    c->out_len += len + 1;
    int rc = conn_flush(c);
    if (rc < 0) {
        conn_close(c, kk_strerror(rc));
        return;
    }
    conn_update_watch(c);
}

static void conn_send_json(struct conn *c, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    if (text) {
        conn_send_text(c, text, strlen(text));
        free(text);
    } else {
        KK_LOGE(jsonrpc_log, "cannot encode a reply: out of memory");
    }
}

static json_t *error_object(int code, const char *message, json_t *data)
{
    json_t *e = json_pack("{s:i, s:s}", "code", code, "message", message);
    if (e && data)
        json_object_set_new(e, "data", data);
    else
        json_decref(data);
    return e;
}

static json_t *reply_with(json_t *id, const char *key, json_t *value)
{
    json_t *r = json_object();
    json_object_set_new(r, "jsonrpc", json_string("2.0"));
    json_object_set_new(r, key, value ? value : json_null());
    json_object_set(r, "id", id ? id : json_null());
    return r;
}

/* ---- requests ----------------------------------------------------------- */

static void request_free(struct kk_jsonrpc_request *req)
{
    json_decref(req->id);
    free(req->method);
    free(req);
}

/* One member of @b is answered (or the dispatch hold is dropped): when none
 * is left, send the batch's replies. */
static void batch_release(struct conn *c, struct batch *b)
{
    if (--b->pending > 0)
        return;
    /* Notifications left null slots: drop them. */
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(b->replies, i, v) {
        if (!json_is_null(v))
            json_array_append(out, v);
    }
    if (json_array_size(out) > 0)
        conn_send_json(c, out);
    json_decref(out);
    json_decref(b->replies);
    free(b);
}

/* Deliver @reply (stolen; NULL for notifications) and retire @req. */
static void request_finish(struct kk_jsonrpc_request *req, json_t *reply)
{
    struct conn *c = req->conn;
    struct batch *b = req->batch;
    if (b) {
        if (reply)
            json_array_set_new(b->replies, req->batch_idx, reply);
        batch_release(c, b);
    } else if (reply) {
        conn_send_json(c, reply);
        json_decref(reply);
    }
    c->inflight--;
    request_free(req);
    if (!c->closed)
        conn_update_watch(c);
    conn_put(c);
}

void kk_jsonrpc_respond(struct kk_jsonrpc_request *req, json_t *result)
{
    json_t *reply = NULL;
    if (req->id)
        reply = reply_with(req->id, "result", result ? result : json_null());
    else
        json_decref(result);
    request_finish(req, reply);
}

static void respond_verror(struct kk_jsonrpc_request *req, int code, json_t *data,
                           const char *fmt, va_list ap) KK_PRINTF(4, 0);
static void respond_verror(struct kk_jsonrpc_request *req, int code, json_t *data,
                           const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    KK_LOGD(jsonrpc_log, "%s: error %d: %s", req->method ? req->method : "?", code, msg);
    json_t *reply = NULL;
    if (req->id)
        reply = reply_with(req->id, "error", error_object(code, msg, data));
    else
        json_decref(data);
    request_finish(req, reply);
}

void kk_jsonrpc_respond_error(struct kk_jsonrpc_request *req, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    respond_verror(req, code, NULL, fmt, ap);
    va_end(ap);
}

void kk_jsonrpc_respond_errno(struct kk_jsonrpc_request *req, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    respond_verror(req, KK_JSONRPC_SERVER_ERROR, json_pack("{s:s}", "errno", kk_errname(err)),
                   fmt, ap);
    va_end(ap);
}

int kk_jsonrpc_unpack(struct kk_jsonrpc_request *req, const json_t *params, const char *fmt, ...)
{
    json_t *empty = NULL;
    if (!params)
        params = empty = json_object();
    json_error_t err;
    va_list ap;
    va_start(ap, fmt);
    int rc = json_vunpack_ex((json_t *)(uintptr_t)params, &err, 0, fmt, ap);
    va_end(ap);
    json_decref(empty);
    if (rc == 0)
        return 0;
    kk_jsonrpc_respond_error(req, KK_JSONRPC_INVALID_PARAMS, "Invalid params: %s", err.text);
    return -EINVAL;
}

const char *kk_jsonrpc_request_method(const struct kk_jsonrpc_request *req)
{
    return req->method;
}

bool kk_jsonrpc_request_is_notification(const struct kk_jsonrpc_request *req)
{
    return req->id == NULL;
}

static struct method *find_method(struct kk_jsonrpc_server *s, const char *name)
{
    for (struct method *m = s->methods; m; m = m->next) {
        if (strcmp(m->name, name) == 0)
            return m;
    }
    return NULL;
}

/*
 * An error answer given without dispatching: into the batch slot @idx, or
 * straight to the client. @id may be NULL (answered with id null).
 */
static void refuse(struct conn *c, struct batch *b, size_t idx, json_t *id, int code,
                   const char *why)
{
    json_t *reply = reply_with(id, "error", error_object(code, why, NULL));
    if (b) {
        json_array_set_new(b->replies, idx, reply);
    } else {
        conn_send_json(c, reply);
        json_decref(reply);
    }
}

/*
 * Validate one request object and dispatch it. For a batch member, @b and
 * @idx say where its reply goes; returns true if a request is now in flight
 * (it will decrement b->pending when answered).
 */
static bool dispatch_one(struct conn *c, struct batch *b, size_t idx, json_t *msg)
{
    struct kk_jsonrpc_server *s = c->server;
    if (!json_is_object(msg)) {
        refuse(c, b, idx, NULL, KK_JSONRPC_INVALID_REQUEST, "Invalid Request: not an object");
        return false;
    }
    json_t *version = json_object_get(msg, "jsonrpc");
    json_t *method = json_object_get(msg, "method");
    json_t *params = json_object_get(msg, "params");
    json_t *id = json_object_get(msg, "id");

    if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_real(id) &&
        !json_is_null(id)) {
        refuse(c, b, idx, NULL, KK_JSONRPC_INVALID_REQUEST,
               "Invalid Request: id must be a string, number or null");
        return false;
    }
    const char *problem = NULL;
    if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0)
        problem = "Invalid Request: \"jsonrpc\" must be \"2.0\"";
    else if (!json_is_string(method))
        problem = "Invalid Request: \"method\" must be a string";
    else if (params && !json_is_object(params) && !json_is_array(params))
        problem = "Invalid Request: \"params\" must be an object or an array";
    if (problem) {
        /* The id, when valid, is echoed so the client can match the error. */
        refuse(c, b, idx, id, KK_JSONRPC_INVALID_REQUEST, problem);
        return false;
    }

    struct kk_jsonrpc_request *req = calloc(1, sizeof(*req));
    char *name = strdup(json_string_value(method));
    if (!req || !name) {
        free(req);
        free(name);
        refuse(c, b, idx, id, KK_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
        return false;
    }
    req->conn = c;
    req->batch = b;
    req->batch_idx = idx;
    req->id = json_incref(id);
    req->method = name;
    c->refs++;
    c->inflight++;
    if (b)
        b->pending++;

    struct method *m = s ? find_method(s, name) : NULL;
    if (!m) {
        kk_jsonrpc_respond_error(req, KK_JSONRPC_METHOD_NOT_FOUND, "Method not found: %s", name);
        return true;
    }
    KK_LOGT(jsonrpc_log, "call %s", name);
    m->fn(m->arg, req, params);
    return true;
}

static void handle_text(struct conn *c, const char *text, size_t len)
{
    json_error_t err;
    json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!msg) {
        char what[256];
        snprintf(what, sizeof(what), "Parse error: %s", err.text);
        json_t *reply = reply_with(NULL, "error", error_object(KK_JSONRPC_PARSE_ERROR, what, NULL));
        conn_send_json(c, reply);
        json_decref(reply);
        return;
    }
    if (json_is_array(msg)) {
        size_t n = json_array_size(msg);
        if (n == 0) {
            refuse(c, NULL, 0, NULL, KK_JSONRPC_INVALID_REQUEST, "Invalid Request: empty batch");
            json_decref(msg);
            return;
        }
        struct batch *b = calloc(1, sizeof(*b));
        json_t *replies = json_array();
        if (!b || !replies) {
            free(b);
            json_decref(replies);
            json_decref(msg);
            conn_close(c, "out of memory");
            return;
        }
        for (size_t i = 0; i < n; i++)
            json_array_append_new(replies, json_null());
        b->replies = replies;
        /* Hold the batch open while dispatching, so members answered at
         * once do not complete it before the others are dispatched. */
        b->pending = 1;
        for (size_t i = 0; i < n && !c->closed; i++)
            dispatch_one(c, b, i, json_array_get(msg, i));
        json_decref(msg);
        /* Drop the hold: complete the batch if everything was answered. */
        batch_release(c, b);
        return;
    }
    dispatch_one(c, NULL, 0, msg);
    json_decref(msg);
}

/*
 * Split buffered input into texts and handle each. Returns 0, or -EPROTO
 * if the connection must be closed (the error reply was sent).
 */
static int conn_process(struct conn *c)
{
    struct kk_jsonrpc_server *s = c->server;
    size_t consumed = 0;
    int rc = 0;
    c->refs++; /* handlers may close the connection under us */
    while (!c->closed) {
        size_t begin, end;
        int r = kk__json_framer_next(&c->framer, c->in + consumed, c->in_len - consumed, &begin,
                                     &end);
        if (r == 0)
            break;
        if (r < 0) {
            const char *why = r == -E2BIG ? "Parse error: nesting too deep"
                                          : "Parse error: not a JSON object or array";
            json_t *reply = reply_with(NULL, "error",
                                       error_object(KK_JSONRPC_PARSE_ERROR, why, NULL));
            conn_send_json(c, reply);
            json_decref(reply);
            rc = -EPROTO;
            break;
        }
        handle_text(c, c->in + consumed + begin, end - begin);
        consumed += end;
        kk__json_framer_consume(&c->framer, end);
    }
    if (rc == 0 && !c->closed) {
        /* Keep only the unfinished text. */
        size_t skip = consumed + c->framer.start;
        if (skip > 0 && c->in_len > skip)
            memmove(c->in, c->in + skip, c->in_len - skip);
        c->in_len -= skip;
        kk__json_framer_consume(&c->framer, c->framer.start);
        size_t max = s ? s->opts.max_message : (16u << 20);
        if (c->in_len > max) {
            json_t *reply = reply_with(NULL, "error",
                                       error_object(KK_JSONRPC_INVALID_REQUEST,
                                                    "Invalid Request: message too large", NULL));
            conn_send_json(c, reply);
            json_decref(reply);
            rc = -EPROTO;
        }
    }
    conn_put(c);
    return rc;
}

/* ---- connections -------------------------------------------------------- */

static void conn_unlink(struct conn *c)
{
    struct kk_jsonrpc_server *s = c->server;
    if (!s || s->detached == c)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
}

static void conn_close(struct conn *c, const char *why)
{
    if (c->closed)
        return;
    c->closed = true;
    if (c->fd >= 0) {
        KK_LOGD(jsonrpc_log, "connection %d closed: %s", c->fd, why);
        kk_fd_watch_remove(c->watch);
        c->watch = NULL;
        close(c->fd);
        c->fd = -1;
    }
    conn_unlink(c);
    c->server = NULL;
    conn_put(c); /* the socket's reference */
}

static void conn_update_watch(struct conn *c)
{
    if (c->closed || !c->watch)
        return;
    struct kk_jsonrpc_server *s = c->server;
    /* Back-pressure: a client with too many requests in flight is not read
     * until some are answered. */
    bool want_read = !s || c->inflight < s->opts.max_inflight;
    unsigned ev = (want_read ? KK_FD_READ : 0) | (c->out_len > c->out_off ? KK_FD_WRITE : 0);
    if (ev == c->watch_events)
        return;
    int rc = kk_fd_watch_modify(c->watch, ev);
    if (rc < 0)
        conn_close(c, kk_strerror(rc));
    else
        c->watch_events = ev;
}

static int conn_reserve_input(struct conn *c, size_t more)
{
    if (c->in_len + more <= c->in_cap)
        return 0;
    size_t cap = KK_MAX(c->in_cap * 2, c->in_len + more);
    char *p = realloc(c->in, cap);
    if (!p)
        return -ENOMEM;
    c->in = p;
    c->in_cap = cap;
    return 0;
}

static void conn_event(void *arg, int fd, unsigned events)
{
    struct conn *c = arg;
    if (events & KK_FD_WRITE) {
        int rc = conn_flush(c);
        if (rc < 0) {
            conn_close(c, kk_strerror(rc));
            return;
        }
        conn_update_watch(c);
    }
    if (!(events & KK_FD_READ) || c->closed)
        return;
    if (conn_reserve_input(c, 65536) < 0) {
        conn_close(c, "out of memory");
        return;
    }
    ssize_t n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        conn_close(c, kk_strerror(errno));
        return;
    }
    if (n == 0) {
        conn_close(c, "client closed the connection");
        return;
    }
    c->in_len += (size_t)n;
    if (conn_process(c) < 0)
        conn_close(c, "unrecoverable input");
}

static struct conn *conn_new(struct kk_jsonrpc_server *s, int fd)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->server = s;
    c->fd = fd;
    c->refs = 1;
    kk__json_framer_init(&c->framer, s->opts.max_depth);
    return c;
}

static void accept_cb(void *arg, int fd, unsigned events)
{
    struct kk_jsonrpc_server *s = arg;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0) {
        if (errno != EAGAIN && errno != EINTR)
            KK_LOGW_RL(jsonrpc_log, "%s: accept: %s", s->path, kk_strerror(errno));
        return;
    }
    if (s->n_conns >= s->opts.max_connections) {
        KK_LOGW_RL(jsonrpc_log, "%s: refusing a connection: %u already open", s->path,
                   s->n_conns);
        close(cfd);
        return;
    }
    struct conn *c = conn_new(s, cfd);
    if (!c) {
        close(cfd);
        return;
    }
    int rc = kk_fd_watch_add(s->reactor, cfd, KK_FD_READ, conn_event, c, &c->watch);
    if (rc < 0) {
        KK_LOGE(jsonrpc_log, "%s: cannot watch a connection: %s", s->path, kk_strerror(rc));
        close(cfd);
        free(c);
        return;
    }
    c->watch_events = KK_FD_READ;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    KK_LOGD(jsonrpc_log, "%s: connection %d accepted", s->path, cfd);
}

/* ---- built-in methods ---------------------------------------------------- */

static void rpc_methods(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct kk_jsonrpc_server *s = arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    json_t *list = json_array();
    for (struct method *m = s->methods; m; m = m->next)
        json_array_append_new(list, json_pack("{s:s, s:s}", "method", m->name, "description",
                                              m->description));
    kk_jsonrpc_respond(req, list);
}

/* ---- server life cycle -------------------------------------------------- */

static int server_alloc(const struct kk_jsonrpc_server_opts *opts, struct kk_jsonrpc_server **out)
{
    struct kk_jsonrpc_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    if (opts)
        s->opts = *opts;
    else
        kk_jsonrpc_server_opts_init(&s->opts);
    if (s->opts.max_message == 0 || s->opts.max_depth == 0 || s->opts.max_inflight == 0 ||
        s->opts.max_connections == 0 || s->opts.max_output == 0) {
        free(s);
        return -EINVAL;
    }
    s->listen_fd = -1;
    int rc = kk_jsonrpc_register(s, "rpc.methods", rpc_methods, s,
                                 "list the methods this server offers");
    if (rc < 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Is a server listening on @path? (A stale socket file refuses.) */
static bool socket_is_live(const struct sockaddr_un *addr)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
    close(fd);
    return live;
}

int kk_jsonrpc_server_create(struct kk_reactor *r, const char *path,
                             const struct kk_jsonrpc_server_opts *opts,
                             struct kk_jsonrpc_server **out)
{
    if (!r || !path || !out)
        return -EINVAL;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        KK_LOGE(jsonrpc_log, "%s: socket path longer than %zu bytes", path,
                sizeof(addr.sun_path) - 1);
        return -EINVAL;
    }
    strcpy(addr.sun_path, path);

    struct kk_jsonrpc_server *s;
    int rc = server_alloc(opts, &s);
    if (rc < 0)
        return rc;
    s->reactor = r;
    s->path = strdup(path);
    if (!s->path) {
        rc = -ENOMEM;
        goto fail;
    }

    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            KK_LOGE(jsonrpc_log, "%s: exists and is not a socket", path);
            rc = -EEXIST;
            goto fail;
        }
        if (socket_is_live(&addr)) {
            KK_LOGE(jsonrpc_log, "%s: another server is listening there", path);
            rc = -EADDRINUSE;
            goto fail;
        }
        unlink(path); /* stale: left by a server that died */
    }

    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listen_fd < 0) {
        rc = kk_neg_errno();
        goto fail;
    }
    if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        rc = kk_neg_errno();
        KK_LOGE(jsonrpc_log, "%s: bind: %s", path, kk_strerror(rc));
        goto fail;
    }
    chmod(path, s->opts.socket_mode);
    if (listen(s->listen_fd, 64) < 0) {
        rc = kk_neg_errno();
        unlink(path);
        goto fail;
    }
    rc = kk_fd_watch_add(r, s->listen_fd, KK_FD_READ, accept_cb, s, &s->listen_watch);
    if (rc < 0) {
        unlink(path);
        goto fail;
    }
    KK_LOGI(jsonrpc_log, "listening on %s", path);
    *out = s;
    return 0;

fail:
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
    free(s->path);
    s->path = NULL;
    kk_jsonrpc_server_destroy(s);
    return rc;
}

int kk_jsonrpc_server_create_detached(const struct kk_jsonrpc_server_opts *opts,
                                      kk_jsonrpc_output_fn out_fn, void *out_arg,
                                      struct kk_jsonrpc_server **out)
{
    if (!out_fn || !out)
        return -EINVAL;
    struct kk_jsonrpc_server *s;
    int rc = server_alloc(opts, &s);
    if (rc < 0)
        return rc;
    s->out_fn = out_fn;
    s->out_arg = out_arg;
    s->detached = conn_new(s, -1);
    if (!s->detached) {
        kk_jsonrpc_server_destroy(s);
        return -ENOMEM;
    }
    *out = s;
    return 0;
}

int kk_jsonrpc_server_feed(struct kk_jsonrpc_server *s, const char *data, size_t len)
{
    struct conn *c = s->detached;
    if (!c)
        return -EINVAL;
    if (s->detached_broken)
        return -EPROTO;
    if (conn_reserve_input(c, len) < 0)
        return -ENOMEM;
    if (len == 0)
        return 0;
    memcpy(c->in + c->in_len, data, len);
    c->in_len += len;
    int rc = conn_process(c);
    if (rc < 0)
        s->detached_broken = true;
    return rc;
}

void kk_jsonrpc_server_reset_input(struct kk_jsonrpc_server *s)
{
    struct conn *c = s->detached;
    if (!c)
        return;
    c->in_len = 0;
    kk__json_framer_init(&c->framer, s->opts.max_depth);
    s->detached_broken = false;
}

void kk_jsonrpc_server_destroy(struct kk_jsonrpc_server *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_close(s->conns, "server shutting down");
    if (s->detached) {
        struct conn *c = s->detached;
        c->closed = true;
        c->server = NULL;
        s->detached = NULL;
        conn_put(c);
    }
    if (s->listen_watch)
        kk_fd_watch_remove(s->listen_watch);
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        if (s->path)
            unlink(s->path);
    }
    while (s->methods) {
        struct method *m = s->methods;
        s->methods = m->next;
        free(m->name);
        free(m->description);
        free(m);
    }
    free(s->path);
    free(s);
}

int kk_jsonrpc_register(struct kk_jsonrpc_server *s, const char *name, kk_jsonrpc_method_fn fn,
                        void *arg, const char *description)
{
    if (!s || !name || !fn)
        return -EINVAL;
    if (find_method(s, name))
        return -EEXIST;
    struct method *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->name = strdup(name);
    m->description = strdup(description ? description : "");
    if (!m->name || !m->description) {
        free(m->name);
        free(m->description);
        free(m);
        return -ENOMEM;
    }
    m->fn = fn;
    m->arg = arg;
    /* Keep registration order for rpc.methods: append. */
    struct method **tail = &s->methods;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    return 0;
}

uint32_t kk_jsonrpc_server_connections(const struct kk_jsonrpc_server *s)
{
    return s->n_conns;
}
