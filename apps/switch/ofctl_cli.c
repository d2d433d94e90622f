/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `kvmkit ofctl` — an OpenFlow 1.0/1.3 client with ovs-ofctl's commands,
 * flow syntax and output, for any OpenFlow switch (ofctl_of.c). This file:
 * options, the SWITCH argument (a target, or a kvmkit-switchd bridge name
 * meaning its management socket <dir of the control socket>/<bridge>.mgmt).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ofctl_internal.h"
#include "switch_cli.h"

void ofctl_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit ofctl [OPTIONS] COMMAND SWITCH [ARGS...]\n"
            "\n"
            "An OpenFlow 1.0/1.3 client in the manner of ovs-ofctl, for any OpenFlow switch.\n"
            "SWITCH is tcp:IP[:PORT] (default port 6653), unix:PATH, or a kvmkit-switchd\n"
            "bridge name: unix:DIR/BRIDGE.mgmt, DIR being the directory of the daemon's\n"
            "control socket.\n"
            "\n"
            "Flows:\n"
            "  show SWITCH                 features, ports (1.3: port descriptions), config\n"
            "  dump-flows SWITCH [FLOW]    flows with counters (FLOW: match, table=,\n"
            "                              out_port=, out_group=, cookie=V/M filters)\n"
            "  dump-aggregate SWITCH [FLOW] packet, byte and flow counts\n"
            "  add-flow SWITCH FLOW        e.g. \"table=0,priority=100,ip,nw_dst=10.0.0.1,\n"
            "                              actions=output:2\"\n"
            "  add-flows SWITCH FILE       one flow per line (- for stdin; blank lines and\n"
            "                              # comments skipped; a line may start with add,\n"
            "                              modify, modify_strict, delete, delete_strict);\n"
            "                              sent back to back, one barrier at the end\n"
            "  mod-flows SWITCH FLOW       new actions for the flows FLOW matches\n"
            "  del-flows SWITCH [FLOW]     delete the flows FLOW matches (all without FLOW)\n"
            "Ports and tables:\n"
            "  dump-ports SWITCH [PORT]    port counters\n"
            "  dump-ports-desc SWITCH      port descriptions (also dump-port-desc)\n"
            "  dump-tables SWITCH          table counters\n"
            "Groups and meters (OpenFlow 1.3):\n"
            "  add-group SWITCH GROUP      e.g. \"group_id=1,type=select,bucket=weight:10,\n"
            "                              actions=output:1,bucket=output:2\" (types all,\n"
            "                              select, indirect, ff; bucket settings weight:N,\n"
            "                              watch_port:P, watch_group:G before actions)\n"
            "  mod-group SWITCH GROUP      replace a group's type and buckets\n"
            "  del-groups SWITCH [GROUP]   delete group_id=N (all without GROUP)\n"
            "  dump-groups SWITCH [ID]     group descriptions\n"
            "  dump-group-stats SWITCH [ID] group and bucket counters\n"
            "  add-meter SWITCH METER      e.g. \"meter=1,kbps,burst,stats,band=type=drop,\n"
            "                              rate=1000,burst_size=100\" (kbps or pktps; drop and\n"
            "                              dscp_remark bands with prec_level=N)\n"
            "  mod-meter SWITCH METER      replace a meter\n"
            "  del-meters SWITCH [METER]   delete meter=N (all without METER)\n"
            "  dump-meters SWITCH [ID]     meter configurations\n"
            "  meter-stats SWITCH [ID]     meter and band counters\n"
            "Others:\n"
            "  packet-out SWITCH \"in_port=P packet=HEX actions=A\"\n"
            "  packet-out SWITCH IN_PORT ACTIONS PACKET... the older form\n"
            "  snoop SWITCH                print every message the switch sends on this\n"
            "                              connection (a bridge name: unix:DIR/BRIDGE.snoop)\n"
            "  probe SWITCH                check that the switch answers an echo request\n"
            "\n"
            "Options:\n"
            "  -O, --protocols LIST  OpenFlow10, OpenFlow13 or both, comma-separated\n"
            "                        (default both: the highest the switch speaks;\n"
            "                        ovs-ofctl's default is OpenFlow10)\n"
            "      --strict          mod-flows/del-flows: priority and match must be equal\n"
            "      --no-stats        dump-flows: no duration and counters\n"
            "  -t, --timeout SECS    give up waiting for the switch after SECS (default 60)\n"
            "  -s, --socket PATH     kvmkit-switchd's control socket (default\n"
            "                        $KVMKIT_SWITCHD_SOCKET or " SWITCHD_DEFAULT_SOCKET ")\n"
            "  -h, --help            show this help\n"
            "\n"
            "Exit status: 0 done, 1 refused (an OFPT_ERROR or bad flow text; printed),\n"
            "2 usage error, 3 the switch could not be reached.\n");
}

/* OpenFlow10,OpenFlow13 -> version bitmap; 0 when not understood. */
static uint32_t parse_protocols(const char *text)
{
    uint32_t bits = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "OpenFlow10") == 0) {
            bits |= 1u << 0x01;
        } else if (strcmp(t, "OpenFlow13") == 0) {
            bits |= 1u << 0x04;
        } else {
            bits = 0;
            break;
        }
    }
    free(copy);
    return bits;
}

/* The directory of the control socket: "/run/kvmkit" for its default. */
static void socket_dir(const char *sock, char *buf, size_t size)
{
    const char *slash = strrchr(sock, '/');
    if (!slash)
        snprintf(buf, size, ".");
    else if (slash == sock)
        snprintf(buf, size, "/");
    else
        snprintf(buf, size, "%.*s", (int)(slash - sock), sock);
}

static bool is_target(const char *s)
{
    return strncmp(s, "tcp:", 4) == 0 || strncmp(s, "unix:", 5) == 0 ||
           strncmp(s, "ssl:", 4) == 0 || s[0] == '/';
}

int ofctl_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"strict", no_argument, NULL, 'S'},
        {"no-stats", no_argument, NULL, 'N'},
        {"protocols", required_argument, NULL, 'O'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sw_cli c = {.tool = "ofctl", .socket = sw_cli_default_socket()};
    struct ofctl_options o = {.timeout_ms = 60000};
    bool versions_given = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "+s:O:t:h", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            c.socket = optarg;
            break;
        case 'S':
            o.strict = true;
            break;
        case 'N':
            o.no_stats = true;
            break;
        case 'O':
            versions_given = true;
            o.versions = parse_protocols(optarg);
            if (!o.versions) {
                fprintf(stderr, "kvmkit ofctl: -O takes OpenFlow10, OpenFlow13 or both "
                                "(comma-separated), not '%s'\n", optarg);
                return 2;
            }
            break;
        case 't': {
            char *end;
            long secs = strtol(optarg, &end, 10);
            if (*end || end == optarg || secs < 0 || secs > 86400) {
                fprintf(stderr, "kvmkit ofctl: -t takes seconds, not '%s'\n", optarg);
                return 2;
            }
            o.timeout_ms = secs ? (int)secs * 1000 : -1;
            break;
        }
        case 'h':
            ofctl_help(stdout);
            return 0;
        default:
            ofctl_help(stderr);
            return 2;
        }
    }
    if (argc - optind < 2) {
        ofctl_help(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    const char *sw = argv[optind + 1];
    /* without -O: 1.0 or 1.3, whichever is the highest the switch has.
     * ovs-ofctl offers only 1.0 and relies on Nicira extensions for the
     * rest; we have none, so 1.3 is what shows groups, meters, metadata. */
    if (!versions_given)
        o.versions = 1u << 0x01 | 1u << 0x04;
    int n = argc - optind - 2;
    char **a = argv + optind + 2;
    bool known;
    bool of_ok = ofctl_of_command_ok(cmd, n, &known);

    /* SWITCH: a target, or a bridge name (its .mgmt / .snoop socket next to
     * the control socket; the JSON-RPC path while .mgmt does not exist) */
    char target[4200];
    if (is_target(sw)) {
        if (strncmp(sw, "ssl:", 4) == 0) {
            fprintf(stderr, "kvmkit ofctl: ssl: targets are not supported (use tcp: or unix:)\n");
            return 2;
        }
        snprintf(target, sizeof(target), "%s%s", sw[0] == '/' ? "unix:" : "", sw);
    } else {
        char dir[4096];
        socket_dir(c.socket, dir, sizeof(dir));
        bool snoop = strcmp(cmd, "snoop") == 0;
        snprintf(target, sizeof(target), "unix:%s/%s.%s", dir, sw, snoop ? "snoop" : "mgmt");
        struct stat st;
        if (stat(target + 5, &st) != 0) {
            /* like ovs-ofctl's "is not a bridge or a socket" */
            fprintf(stderr, "kvmkit ofctl: %s is not a bridge of kvmkit-switchd (no %s) or a "
                            "socket\n", sw, target + 5);
            return 1;
        }
    }
    if (!of_ok) {
        fprintf(stderr, "kvmkit ofctl: %s: %s\nRun 'kvmkit ofctl --help' for the commands.\n",
                cmd, known ? "wrong number of arguments" : "unknown command");
        return 2;
    }
    return ofctl_of_run(target, &o, cmd, n, a);
}
