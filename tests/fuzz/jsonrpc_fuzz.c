/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the JSON-RPC request path (stream framing, JSON parsing,
 * request validation, batches, dispatch, parameter unpacking, replies).
 *
 * The first input byte chooses where the rest is split into two reads, so
 * partial texts across reads are exercised too. Every reply the server
 * writes must itself be valid JSON.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_jsonrpc.h"

static void check_output(void *arg, const char *data, size_t len)
{
    (void)arg;
    if (len == 1 && data[0] == '\n')
        return;
    json_error_t err;
    json_t *v = json_loadb(data, len, 0, &err);
    if (!v) {
        fprintf(stderr, "server wrote invalid JSON: %.*s\n", (int)len, data);
        abort();
    }
    json_decref(v);
}

static void echo(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    kk_jsonrpc_respond(req, params ? json_deep_copy(params) : NULL);
}

static void typed(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    const char *name;
    int n = 0;
    json_t *list = NULL;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s?:i, s?:o !}", "name", &name, "n", &n, "list",
                          &list) < 0)
        return;
    if (n < 0)
        kk_jsonrpc_respond_errno(req, -EINVAL, "n must not be negative: %d", n);
    else
        kk_jsonrpc_respond(req, json_pack("{s:s, s:i}", "name", name, "n", n));
}

static struct kk_jsonrpc_server *server;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!server) {
        struct kk_jsonrpc_server_opts o;
        kk_jsonrpc_server_opts_init(&o);
        o.max_message = 4096;
        o.max_depth = 32;
        if (kk_jsonrpc_server_create_detached(&o, check_output, NULL, &server) < 0)
            abort();
        kk_jsonrpc_register(server, "echo", echo, NULL, "");
        kk_jsonrpc_register(server, "typed", typed, NULL, "");
    }
    kk_jsonrpc_server_reset_input(server);
    if (size == 0)
        return 0;
    size_t split = data[0] % size;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (split > len)
        split = len;
    if (kk_jsonrpc_server_feed(server, text, split) == 0)
        kk_jsonrpc_server_feed(server, text + split, len - split);
    return 0;
}
