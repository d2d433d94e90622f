/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by `kvmkit vsctl`, `kvmkit ofctl` and `kvmkit appctl`:
 * one JSON-RPC connection per command, errors printed the same way.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kk_err.h"
#include "switch_cli.h"

/* Generous: loading 100,000 flows or dumping them is one call per batch. */
#define CALL_TIMEOUT_MS 120000

const char *sw_cli_default_socket(void)
{
    const char *s = getenv("KVMKIT_SWITCHD_SOCKET");
    return s && *s ? s : SWITCHD_DEFAULT_SOCKET;
}

int sw_cli_call(struct sw_cli *c, const char *method, json_t *params, json_t **result)
{
    if (!c->client) {
        int rc = kk_jsonrpc_client_connect(c->socket, &c->client);
        if (rc < 0) {
            fprintf(stderr, "kvmkit %s: cannot reach kvmkit-switchd at %s: %s\n", c->tool,
                    c->socket, kk_strerror(rc));
            json_decref(params);
            c->client = NULL;
            return 3;
        }
    }
    json_t *res = NULL, *error = NULL;
    int rc = kk_jsonrpc_client_call(c->client, method, params, CALL_TIMEOUT_MS, &res, &error);
    if (rc == -EREMOTEIO) {
        json_t *msg = json_object_get(error, "message");
        fprintf(stderr, "kvmkit %s: %s\n", c->tool,
                json_is_string(msg) ? json_string_value(msg) : "error without a message");
        json_decref(error);
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr, "kvmkit %s: %s: %s\n", c->tool, method, kk_strerror(rc));
        return 3;
    }
    if (result)
        *result = res;
    else
        json_decref(res);
    return 0;
}

void sw_cli_close(struct sw_cli *c)
{
    kk_jsonrpc_client_close(c->client);
    c->client = NULL;
}

void sw_cli_print_json(const json_t *v)
{
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    printf("%s\n", text ? text : "null");
    free(text);
}

json_t *sw_cli_int_list(const char *tool, const char *what, const char *text)
{
    json_t *a = json_array();
    const char *s = text;
    if (strcmp(s, "[]") == 0)
        return a;
    while (*s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 0 || v > INT_MAX || (*end && *end != ',')) {
            fprintf(stderr, "kvmkit %s: %s takes numbers separated by commas, not '%s'\n", tool,
                    what, text);
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, json_integer(v));
        s = *end ? end + 1 : end;
    }
    return a;
}

json_t *sw_cli_str_list(const char *text)
{
    json_t *a = json_array();
    const char *s = text;
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n)
            json_array_append_new(a, json_stringn(s, n));
        s += n;
        if (*s)
            s++;
    }
    return a;
}
