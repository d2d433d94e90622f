/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the NBD target's connection state machine.
 *
 * Input: the bytes a client sends, from the first (client flags) to the
 * last. They go through a socketpair into a real connection of a real
 * server (one reactor, driven here) exporting a 1 MiB malloc bdev as ""
 * and read-only as "ro": option parsing, export selection, request
 * validation, I/O on the bdev, reply encoding and teardown all run. The
 * client side drains whatever the server answers. After each input the
 * connection must be gone (no leak of connections or channels); the
 * sanitizers catch the rest. The option and request parsers are also fed
 * the raw input directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "blk.h"
#include "kk_log.h"
#include "kk_reactor.h"
#include "nbd_internal.h"
#include "nbd_proto.h"
#include "nbd_server.h"

static struct kk_reactor *reactor;
static struct nbd_server *server;
static char sock_path[108];

static void teardown(void)
{
    if (getenv("NBD_FUZZ_VERBOSE")) {
        json_t *j = nbd_server_to_json(server);
        char *t = json_dumps(json_object_get(j, "counters"), 0);
        fprintf(stderr, "nbd_fuzz: %s\n", t);
        free(t);
        json_decref(j);
    }
    nbd_server_destroy(server);
    blk_bdev_delete("nbdfuzz");
    kk_reactor_destroy(reactor);
}

static void setup(void)
{
    kk_log_set_level(KK_LOG_ERR);
    if (kk_reactor_create(NULL, &reactor) < 0)
        abort();
    json_t *p = json_pack("{s:s}", "size", "1M");
    char err[128];
    if (blk_bdev_create("nbdfuzz", "malloc", p, err, sizeof(err), NULL) < 0)
        abort();
    json_decref(p);
    snprintf(sock_path, sizeof(sock_path), "/tmp/kvmkit-nbd-fuzz-%d.sock", (int)getpid());
    struct nbd_server_opts so = {.unix_path = sock_path};
    if (nbd_server_create(reactor, &reactor, 1, &so, &server) < 0)
        abort();
    struct nbd_export_opts a = {.name = "", .bdev = "nbdfuzz", .description = "fuzz"};
    struct nbd_export_opts b = {.name = "ro", .bdev = "nbdfuzz", .read_only = true};
    if (nbd_server_add_export(server, &a) < 0 || nbd_server_add_export(server, &b) < 0)
        abort();
    atexit(teardown);
}

static void drain(int fd)
{
    static uint8_t sink[1 << 16];
    while (read(fd, sink, sizeof(sink)) > 0)
        ;
}

/* The pure parsers on the raw input, for coverage of their corners. */
static void parsers(const uint8_t *data, size_t size)
{
    char why[128];
    uint32_t len = size > NBD_OPT_MAX_LEN ? NBD_OPT_MAX_LEN : (uint32_t)size;
    struct nbd_info_request ir;
    if (nbd_parse_info_request(data, len, &ir, why, sizeof(why)) == 0 &&
        (uint64_t)ir.name_len + 6 + 2ull * ir.n_info != len)
        abort();
    static struct nbd_meta_request mr;
    if (nbd_parse_meta_request(data, len, &mr, why, sizeof(why)) == 0) {
        for (uint32_t i = 0; i < mr.n_queries; i++) {
            if (mr.query[i] < data || mr.query[i] + mr.query_len[i] > data + len)
                abort();
            nbd_meta_query_selects_base_allocation(mr.query[i], mr.query_len[i], i & 1);
        }
    }
    if (size >= NBD_REQUEST_SIZE) {
        struct nbd_request rq;
        nbd_parse_request(data, &rq, why, sizeof(why));
        rq = (struct nbd_request){
            .flags = nbd_get16(data + 4), .type = nbd_get16(data + 6),
            .offset = nbd_get64(data + 16), .len = nbd_get32(data + 24)};
        struct nbd_limits lim = {1 << 20, 512, 65536, (uint16_t)nbd_get16(data), true, true};
        uint32_t e;
        if (nbd_check_request(&rq, &lim, &e, why, sizeof(why)) == NBD_OK &&
            rq.type != NBD_CMD_FLUSH &&
            (rq.offset > lim.size || rq.len > lim.size - rq.offset || rq.len == 0))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!server)
        setup();
    if (size > (1u << 20))
        return 0;
    parsers(data, size);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    if (nbd__server_attach_fd(server, sv[0], "fuzz") < 0)
        abort();
    size_t sent = 0;
    bool shut = false;
    for (int turn = 0; turn < 200000; turn++) {
        if (sent < size) {
            ssize_t n = write(sv[1], data + sent, size - sent);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN)
                sent = size; /* the server closed: stop sending */
        } else if (!shut) {
            shutdown(sv[1], SHUT_WR);
            shut = true;
        }
        kk_reactor_poll_once(reactor);
        drain(sv[1]);
        if (shut && nbd__server_conn_count(server) == 0)
            break;
    }
    /* a connection still up (it waits for us to read a huge reply, say):
     * hang up like a vanished client */
    close(sv[1]);
    for (int turn = 0; nbd__server_conn_count(server) != 0; turn++) {
        kk_reactor_poll_once(reactor);
        if (turn > 1000000) {
            fprintf(stderr, "nbd_fuzz: the connection was never torn down\n");
            abort();
        }
    }
    return 0;
}
