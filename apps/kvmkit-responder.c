/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvmkit-responder — a vhost-user virtio-net device that answers ARP and
 * ICMP echo for one IPv4 address and reflects or drops everything else.
 * For testing vhost-user frontends (QEMU guests, DPDK virtio-user, kvmkit's
 * own frontend) and as a minimal example of a kvmkit device daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_daemon.h"
#include "kk_err.h"
#include "kk_log.h"
#include "kk_version.h"
#include "vhu_responder.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit-responder --socket PATH [options]\n"
            "\n"
            "Serve a virtio-net device over vhost-user that answers ARP and ICMP echo\n"
            "requests for one IPv4 address and reflects (or drops) all other frames.\n"
            "\n"
            "Options:\n"
            "  -s, --socket PATH     vhost-user socket (required)\n"
            "  -c, --client          connect to PATH (and reconnect) instead of listening\n"
            "  -i, --ip ADDR         IPv4 address to answer for (default 10.0.0.1)\n"
            "  -m, --mac MAC         our MAC address (default 02:00:00:00:00:01)\n"
            "  -q, --queues N        queue pairs (default 1)\n"
            "      --mode MODE       reflect or drop other frames (default reflect)\n"
            "  -r, --rpc PATH        JSON-RPC control socket (methods: responder.stats,\n"
            "                        daemon.shutdown, daemon.info, log.set_levels)\n"
            "  -l, --log SPEC        log levels, e.g. info,vhost-user=debug\n"
            "  -h, --help            show this help\n"
            "  -V, --version         show the version\n"
            "\n"
            "Stops cleanly on SIGTERM or SIGINT.\n");
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char extra;
    if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &extra) != 6)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        if (v[i] > 255)
            return -EINVAL;
        mac[i] = (uint8_t)v[i];
    }
    return 0;
}

static void rpc_stats(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct vhu_responder *resp = arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    struct vhu_responder_stats s;
    vhu_responder_get_stats(resp, &s);
    kk_jsonrpc_respond(req, json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                                      "connected", vhu_responder_connected(resp), "frames_in",
                                      (json_int_t)s.frames_in, "arp_replies",
                                      (json_int_t)s.arp_replies, "icmp_replies",
                                      (json_int_t)s.icmp_replies, "reflected",
                                      (json_int_t)s.reflected, "dropped", (json_int_t)s.dropped,
                                      "no_rx_buffer", (json_int_t)s.no_rx_buffer, "connections",
                                      (json_int_t)s.connections, "queue_faults",
                                      (json_int_t)s.queue_faults));
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'}, {"client", no_argument, NULL, 'c'},
        {"ip", required_argument, NULL, 'i'},     {"mac", required_argument, NULL, 'm'},
        {"queues", required_argument, NULL, 'q'}, {"mode", required_argument, NULL, 'M'},
        {"rpc", required_argument, NULL, 'r'},    {"log", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct vhu_responder_opts o = {.queue_pairs = 1, .mac = {2, 0, 0, 0, 0, 1},
                                   .mode = VHU_RESPONDER_REFLECT};
    inet_pton(AF_INET, "10.0.0.1", &o.ip);
    const char *rpc = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "s:ci:m:q:r:l:hV", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.path = optarg;
            break;
        case 'c':
            o.client = true;
            break;
        case 'i':
            if (inet_pton(AF_INET, optarg, &o.ip) != 1) {
                fprintf(stderr, "kvmkit-responder: invalid IPv4 address '%s'\n", optarg);
                return 2;
            }
            break;
        case 'm':
            if (parse_mac(optarg, o.mac) < 0) {
                fprintf(stderr, "kvmkit-responder: invalid MAC address '%s'\n", optarg);
                return 2;
            }
            break;
        case 'q': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 128) {
                fprintf(stderr, "kvmkit-responder: --queues must be 1..128\n");
                return 2;
            }
            o.queue_pairs = (uint16_t)v;
            break;
        }
        case 'M':
            if (strcmp(optarg, "reflect") == 0)
                o.mode = VHU_RESPONDER_REFLECT;
            else if (strcmp(optarg, "drop") == 0)
                o.mode = VHU_RESPONDER_DROP;
            else {
                fprintf(stderr, "kvmkit-responder: --mode is reflect or drop\n");
                return 2;
            }
            break;
        case 'r':
            rpc = optarg;
            break;
        case 'l':
            if (kk_log_set_levels(optarg) < 0) {
                fprintf(stderr, "kvmkit-responder: invalid log spec '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("kvmkit-responder %s\n", KK_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!o.path || optind != argc) {
        usage(stderr);
        return 2;
    }
    struct kk_daemon d;
    if (kk_daemon_init(&d, "kvmkit-responder", rpc) < 0)
        return 1;
    struct vhu_responder *resp;
    int rc = vhu_responder_create(d.reactor, &o, &resp);
    if (rc < 0) {
        fprintf(stderr, "kvmkit-responder: %s: %s\n", o.path, kk_strerror(rc));
        kk_daemon_fini(&d);
        return 1;
    }
    if (d.rpc)
        kk_jsonrpc_register(d.rpc, "responder.stats", rpc_stats, resp,
                            "frames seen and answered, connection state");
    kk_daemon_run(&d);
    vhu_responder_destroy(resp);
    kk_daemon_fini(&d);
    return 0;
}
