/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_jsonrpc.h — JSON-RPC 2.0 over a Unix stream socket: the control plane
 * of every kvmkit daemon.
 *
 * Wire format: a stream of JSON texts (objects or arrays), optionally
 * separated by whitespace or newlines; no other framing. Requests, batches
 * and notifications follow the JSON-RPC 2.0 specification; errors use its
 * codes:
 *
 *   -32700 Parse error       the text is not valid JSON (answered with id
 *                            null; a byte that cannot start a JSON text also
 *                            closes the connection, since the stream cannot
 *                            be resynchronised)
 *   -32600 Invalid Request   not a request object, empty batch, bad id
 *   -32601 Method not found
 *   -32602 Invalid params
 *   -32603 Internal error
 *   -32000 Server error      a method failed; "data" holds {"errno": "ENOENT"}
 *
 * Server: runs on one reactor (normally the daemon's control thread); every
 * callback and every kk_jsonrpc_respond*() call happens on that reactor's
 * thread. A method handler receives a request and must answer it exactly
 * once, either before returning or later (after messaging worker threads,
 * say). If the client has gone away by then, the answer is dropped: a
 * disconnect with requests in flight is normal, never a crash. Limits (bytes
 * per message, nesting depth, requests in flight per connection,
 * connections) protect the daemon from hostile or broken clients.
 *
 * Client: blocking calls for command-line tools and tests.
 */
#ifndef KK_JSONRPC_H
#define KK_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kk_common.h"
#include "kk_reactor.h"

#define KK_JSONRPC_PARSE_ERROR      (-32700)
#define KK_JSONRPC_INVALID_REQUEST  (-32600)
#define KK_JSONRPC_METHOD_NOT_FOUND (-32601)
#define KK_JSONRPC_INVALID_PARAMS   (-32602)
#define KK_JSONRPC_INTERNAL_ERROR   (-32603)
#define KK_JSONRPC_SERVER_ERROR     (-32000)

struct kk_jsonrpc_server;
struct kk_jsonrpc_request;

struct kk_jsonrpc_server_opts {
    size_t max_message;      /* bytes in one JSON text; default 16 MiB */
    uint32_t max_depth;      /* nesting of arrays/objects; default 64 */
    uint32_t max_inflight;   /* unanswered requests per connection before
                                the server stops reading it; default 256 */
    uint32_t max_connections; /* default 64 */
    size_t max_output;       /* unsent reply bytes before a slow client is
                                disconnected; default 64 MiB */
    unsigned socket_mode;    /* permissions of the socket file; default 0600 */
};

void kk_jsonrpc_server_opts_init(struct kk_jsonrpc_server_opts *opts);

/*
 * Handle one request. @params is the request's "params" (borrowed; NULL if
 * absent). The handler must call kk_jsonrpc_respond(),
 * kk_jsonrpc_respond_error() or kk_jsonrpc_respond_errno() exactly once for
 * @req, now or later on the server's reactor thread.
 */
typedef void (*kk_jsonrpc_method_fn)(void *arg, struct kk_jsonrpc_request *req,
                                     const json_t *params);

/*
 * Listen on @path. An existing socket file that nobody listens on is
 * replaced; one with a live listener gives -EADDRINUSE. @opts may be NULL.
 * Returns 0 and *out, or -EINVAL (path too long), -EADDRINUSE, -ENOMEM or
 * an errno from socket/bind/listen.
 */
int kk_jsonrpc_server_create(struct kk_reactor *r, const char *path,
                             const struct kk_jsonrpc_server_opts *opts,
                             struct kk_jsonrpc_server **out);

/*
 * A server with no socket, for embedding and fuzzing: feed it bytes with
 * kk_jsonrpc_server_feed(). Replies go to @out_fn.
 */
typedef void (*kk_jsonrpc_output_fn)(void *arg, const char *data, size_t len);
int kk_jsonrpc_server_create_detached(const struct kk_jsonrpc_server_opts *opts,
                                      kk_jsonrpc_output_fn out_fn, void *out_arg,
                                      struct kk_jsonrpc_server **out);

/*
 * Feed bytes to a detached server as if a client had sent them. Returns 0,
 * or -EPROTO when a real connection would have been closed (after the error
 * reply went out); the server then discards further input until
 * kk_jsonrpc_server_reset_input().
 */
int kk_jsonrpc_server_feed(struct kk_jsonrpc_server *s, const char *data, size_t len);
void kk_jsonrpc_server_reset_input(struct kk_jsonrpc_server *s);

/* Close every connection, remove the socket file and free. Requests still
 * unanswered stay valid; their answers are dropped. Accepts NULL. */
void kk_jsonrpc_server_destroy(struct kk_jsonrpc_server *s);

/*
 * Add a method. @description is a one-line help text (copied).
 * Returns 0, -EEXIST or -ENOMEM.
 */
int kk_jsonrpc_register(struct kk_jsonrpc_server *s, const char *method,
                        kk_jsonrpc_method_fn fn, void *arg, const char *description);

/* Number of open connections. */
uint32_t kk_jsonrpc_server_connections(const struct kk_jsonrpc_server *s);

/* ---- answering requests ---------------------------------------------- */

/* Answer with a result; steals the reference to @result (NULL means null). */
void kk_jsonrpc_respond(struct kk_jsonrpc_request *req, json_t *result);

/* Answer with an error object {code, message}. */
void kk_jsonrpc_respond_error(struct kk_jsonrpc_request *req, int code, const char *fmt, ...)
    KK_PRINTF(3, 4);

/* Answer with -32000 Server error, message and data {"errno": "EXXX"}. */
void kk_jsonrpc_respond_errno(struct kk_jsonrpc_request *req, int err, const char *fmt, ...)
    KK_PRINTF(3, 4);

/*
 * Unpack @params with a jansson format (json_unpack syntax; end an object
 * format with '!' to reject unknown members). Absent params unpack as {}.
 * Returns 0, or -EINVAL after answering @req with -32602 Invalid params and
 * a message naming the problem.
 */
int kk_jsonrpc_unpack(struct kk_jsonrpc_request *req, const json_t *params, const char *fmt, ...);

const char *kk_jsonrpc_request_method(const struct kk_jsonrpc_request *req);
bool kk_jsonrpc_request_is_notification(const struct kk_jsonrpc_request *req);

/* ---- client ------------------------------------------------------------ */

struct kk_jsonrpc_client;

/* Connect to @path. Returns 0 and *out, or a negative errno. */
int kk_jsonrpc_client_connect(const char *path, struct kk_jsonrpc_client **out);
void kk_jsonrpc_client_close(struct kk_jsonrpc_client *c);

/*
 * Call @method with @params (stolen; NULL for none) and wait up to
 * @timeout_ms (< 0: forever) for the answer. Returns
 *   0           *result holds a new reference to the result;
 *   -EREMOTEIO  the server answered with an error: *error holds it;
 *   -ETIMEDOUT, -ECONNRESET, -EPROTO (unreadable answer), other errnos.
 * @error may be NULL.
 */
int kk_jsonrpc_client_call(struct kk_jsonrpc_client *c, const char *method, json_t *params,
                           int timeout_ms, json_t **result, json_t **error);

/* Send raw bytes (tests of malformed input). Returns 0 or a negative errno. */
int kk_jsonrpc_client_send_raw(struct kk_jsonrpc_client *c, const void *data, size_t len);

/* Receive the next complete JSON text. Returns 0 and *value, -ETIMEDOUT,
 * -ECONNRESET (peer closed), or -EPROTO. */
int kk_jsonrpc_client_recv(struct kk_jsonrpc_client *c, int timeout_ms, json_t **value);

#endif /* KK_JSONRPC_H */
