/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `kvmkit blk` — manage a running kvmkit-blkd: one subcommand per JSON-RPC
 * method, parameters as KEY=VALUE words.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "blk_cli.h"
#include "kk_err.h"
#include "kk_jsonrpc.h"

#define DEFAULT_SOCKET "/run/kvmkit/blkd.sock"

void blk_cli_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit blk [-s SOCKET] COMMAND [ARGS...]\n"
            "\n"
            "Manage kvmkit-blkd: block devices (bdevs) and their exports.\n"
            "\n"
            "Commands:\n"
            "  bdev-create NAME TYPE [KEY=VALUE...]   create a bdev; TYPE and keys:\n"
            "      malloc  size=SIZE [block_size=512]\n"
            "      null    size=SIZE [block_size=512]\n"
            "      file    path=FILE [direct=true] [create=true] [size=SIZE] [block_size=N]\n"
            "      image   path=FILE [format=raw|qcow2] [backing_format=F] [direct=true]\n"
            "              [threads=4]\n"
            "      error   base=BDEV [ops=read,write] [errno=EIO] [every=N] [offset=O]\n"
            "              [length=L] [count=N] [delay_us=N]\n"
            "      every type: [read_only=true]\n"
            "  bdev-delete NAME\n"
            "  bdev-list\n"
            "  bdev-stats [NAME]\n"
            "  bdev-resize NAME SIZE\n"
            "  export-add ID vhost-user-blk bdev=NAME socket=PATH [num_queues=N]\n"
            "             [queue_size=N] [client=true] [read_only=true] [serial=S]\n"
            "  export-add ID nbd bdev=NAME [name=EXPORT] [unix=PATH] [tcp=HOST:PORT]\n"
            "             [read_only=true] [description=TEXT] [tls_cert=PEM tls_key=PEM]\n"
            "             [tls_required=true] [handshake_limit=SECONDS (10; 0: none)]\n"
            "  export-remove ID\n"
            "  export-list\n"
            "\n"
            "Options:\n"
            "  -s, --socket PATH   kvmkit-blkd's control socket (default $KVMKIT_BLKD_SOCKET\n"
            "                      or " DEFAULT_SOCKET ")\n"
            "  -h, --help          show this help\n"
            "\n"
            "Sizes take K, M, G, T suffixes (powers of 1024). Results print as JSON.\n"
            "Exit status: 0 done, 1 the daemon refused (its message is printed),\n"
            "2 usage error, 3 the daemon could not be reached.\n");
}

/* VALUE: true/false -> boolean, digits -> integer, else a string. */
static json_t *value(const char *v)
{
    if (strcmp(v, "true") == 0)
        return json_true();
    if (strcmp(v, "false") == 0)
        return json_false();
    if (*v && strspn(v, "0123456789") == strlen(v) && strlen(v) < 19)
        return json_integer(strtoll(v, NULL, 10));
    return json_string(v);
}

static int kv_into(json_t *obj, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            fprintf(stderr, "kvmkit blk: expected KEY=VALUE, got '%s'\n", argv[i]);
            return -EINVAL;
        }
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i]), argv[i]);
        json_object_set_new(obj, key, value(eq + 1));
    }
    return 0;
}

static int call(const char *sock, const char *method, json_t *params)
{
    struct kk_jsonrpc_client *c;
    int rc = kk_jsonrpc_client_connect(sock, &c);
    if (rc < 0) {
        fprintf(stderr, "kvmkit blk: cannot reach kvmkit-blkd at %s: %s\n", sock,
                kk_strerror(rc));
        json_decref(params);
        return 3;
    }
    json_t *result = NULL, *error = NULL;
    rc = kk_jsonrpc_client_call(c, method, params, 120000, &result, &error);
    kk_jsonrpc_client_close(c);
    if (rc == -EREMOTEIO) {
        json_t *msg = json_object_get(error, "message");
        fprintf(stderr, "kvmkit blk: %s\n",
                json_is_string(msg) ? json_string_value(msg) : "error without a message");
        json_decref(error);
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr, "kvmkit blk: %s: %s\n", method, kk_strerror(rc));
        return 3;
    }
    char *text = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY);
    printf("%s\n", text ? text : "null");
    free(text);
    json_decref(result);
    return 0;
}

int blk_cli_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sock = getenv("KVMKIT_BLKD_SOCKET");
    if (!sock)
        sock = DEFAULT_SOCKET;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            sock = optarg;
            break;
        case 'h':
            blk_cli_help(stdout);
            return 0;
        default:
            blk_cli_help(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        blk_cli_help(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    int n = argc - optind - 1;
    char **a = argv + optind + 1;
    json_t *p = json_object();

    if (strcmp(cmd, "bdev-create") == 0 && n >= 2) {
        json_t *params = json_object();
        if (kv_into(params, n - 2, a + 2) < 0)
            goto usage;
        json_object_set_new(p, "name", json_string(a[0]));
        json_object_set_new(p, "type", json_string(a[1]));
        json_object_set_new(p, "params", params);
        return call(sock, "bdev_create", p);
    }
    if (strcmp(cmd, "bdev-delete") == 0 && n == 1) {
        json_object_set_new(p, "name", json_string(a[0]));
        return call(sock, "bdev_delete", p);
    }
    if (strcmp(cmd, "bdev-list") == 0 && n == 0)
        return call(sock, "bdev_list", p);
    if (strcmp(cmd, "bdev-stats") == 0 && n <= 1) {
        if (n == 1)
            json_object_set_new(p, "name", json_string(a[0]));
        return call(sock, "bdev_stats", p);
    }
    if (strcmp(cmd, "bdev-resize") == 0 && n == 2) {
        json_object_set_new(p, "name", json_string(a[0]));
        json_object_set_new(p, "size", value(a[1]));
        return call(sock, "bdev_resize", p);
    }
    if (strcmp(cmd, "export-add") == 0 && n >= 2) {
        json_object_set_new(p, "id", json_string(a[0]));
        json_object_set_new(p, "type", json_string(a[1]));
        if (kv_into(p, n - 2, a + 2) < 0)
            goto usage;
        return call(sock, "export_add", p);
    }
    if (strcmp(cmd, "export-remove") == 0 && n == 1) {
        json_object_set_new(p, "id", json_string(a[0]));
        return call(sock, "export_remove", p);
    }
    if (strcmp(cmd, "export-list") == 0 && n == 0)
        return call(sock, "export_list", p);
    fprintf(stderr, "kvmkit blk: unknown command or wrong arguments: %s\n", cmd);
usage:
    json_decref(p);
    fprintf(stderr, "Run 'kvmkit blk --help' for the commands.\n");
    return 2;
}
