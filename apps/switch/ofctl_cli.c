/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `kvmkit ofctl` — an OpenFlow 1.0/1.3 client with ovs-ofctl's commands,
 * flow syntax and output, for any OpenFlow switch (ofctl_of.c), and the
 * older path to kvmkit-switchd's JSON-RPC control socket (this file), used
 * when SWITCH is a bridge name whose OpenFlow management socket
 * (<dir of the control socket>/<bridge>.mgmt) does not exist. On that path
 * the daemon parses the flows (its parser's message comes back on an
 * error) and add-flows sends files in batches so that 100,000 rules load
 * in a few calls.
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

#define ADD_BATCH 10000

void ofctl_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit ofctl [OPTIONS] COMMAND SWITCH [ARGS...]\n"
            "\n"
            "An OpenFlow 1.0/1.3 client in the manner of ovs-ofctl, for any OpenFlow switch.\n"
            "SWITCH is tcp:IP[:PORT] (default port 6653), unix:PATH, or a kvmkit-switchd\n"
            "bridge name: unix:DIR/BRIDGE.mgmt, DIR being the directory of the daemon's\n"
            "control socket. While that socket does not exist, a bridge name is served\n"
            "through the control socket (JSON-RPC) for the commands marked *.\n"
            "\n"
            "Flows:\n"
            "  show SWITCH                 * features, ports (1.3: port descriptions), config\n"
            "  dump-flows SWITCH [FLOW]    * flows with counters (FLOW: match, table=,\n"
            "                              out_port=, out_group=, cookie=V/M filters)\n"
            "  dump-aggregate SWITCH [FLOW]  packet, byte and flow counts\n"
            "  add-flow SWITCH FLOW        * e.g. \"table=0,priority=100,ip,nw_dst=10.0.0.1,\n"
            "                              actions=output:2\"\n"
            "  add-flows SWITCH FILE       * one flow per line (- for stdin; blank lines and\n"
            "                              # comments skipped; a line may start with add,\n"
            "                              modify, modify_strict, delete, delete_strict);\n"
            "                              sent back to back, one barrier at the end\n"
            "  mod-flows SWITCH FLOW       * new actions for the flows FLOW matches\n"
            "  del-flows SWITCH [FLOW]     * delete the flows FLOW matches (all without FLOW)\n"
            "Ports and tables:\n"
            "  dump-ports SWITCH [PORT]    port counters\n"
            "  dump-ports-desc SWITCH      port descriptions (also dump-port-desc)\n"
            "  dump-tables SWITCH          table counters\n"
            "Groups and meters (OpenFlow 1.3):\n"
            "  add-group SWITCH GROUP      * e.g. \"group_id=1,type=select,bucket=weight:10,\n"
            "                              actions=output:1,bucket=output:2\" (types all,\n"
            "                              select, indirect, ff; bucket settings weight:N,\n"
            "                              watch_port:P, watch_group:G before actions)\n"
            "  mod-group SWITCH GROUP      * replace a group's type and buckets\n"
            "  del-groups SWITCH [GROUP]   * delete group_id=N (all without GROUP)\n"
            "  dump-groups SWITCH [ID]     * group descriptions\n"
            "  dump-group-stats SWITCH [ID] * group and bucket counters\n"
            "  add-meter SWITCH METER      * e.g. \"meter=1,kbps,burst,stats,band=type=drop,\n"
            "                              rate=1000,burst_size=100\" (kbps or pktps; drop and\n"
            "                              dscp_remark bands with prec_level=N)\n"
            "  mod-meter SWITCH METER      * replace a meter\n"
            "  del-meters SWITCH [METER]   * delete meter=N (all without METER)\n"
            "  dump-meters SWITCH [ID]     * meter configurations\n"
            "  meter-stats SWITCH [ID]     * meter and band counters\n"
            "Others:\n"
            "  packet-out SWITCH \"in_port=P packet=HEX actions=A\"\n"
            "  packet-out SWITCH IN_PORT ACTIONS PACKET...   the older form\n"
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

static int add_flows(struct sw_cli *c, const char *bridge, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "kvmkit ofctl: %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0, total = 0;
    unsigned *lines = malloc(sizeof(*lines) * ADD_BATCH);
    json_t *batch = json_array();
    int rc = 0;
    for (;;) {
        len = getline(&line, &cap, f);
        if (len >= 0) {
            lineno++;
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                               line[len - 1] == ' ' || line[len - 1] == '\t'))
                line[--len] = '\0';
            char *s = line + strspn(line, " \t");
            if (*s && *s != '#') {
                lines[json_array_size(batch)] = lineno;
                json_array_append_new(batch, json_string(s));
            }
        }
        if (json_array_size(batch) == ADD_BATCH || (len < 0 && json_array_size(batch))) {
            json_t *p = json_pack("{s:s, s:O}", "bridge", bridge, "flows", batch);
            json_t *r = NULL;
            /* the daemon names the failing entry by index: map it to a line */
            rc = sw_cli_call(c, "flow.add", p, &r);
            if (rc == 0) {
                total += (unsigned)json_array_size(batch);
                json_decref(r);
            } else {
                if (rc == 1)
                    fprintf(stderr, "kvmkit ofctl: %s: rules before line %u were added (%u)\n",
                            path, lines[0], total);
                break;
            }
            json_array_clear(batch);
        }
        if (len < 0)
            break;
    }
    json_decref(batch);
    free(lines);
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

static void print_flow(const json_t *fl)
{
    double dur = json_number_value(json_object_get(fl, "duration"));
    printf(" cookie=0x%" PRIx64 ", duration=%.3fs, table=%lld, n_packets=%lld, n_bytes=%lld, ",
           (uint64_t)json_integer_value(json_object_get(fl, "cookie")), dur,
           (long long)json_integer_value(json_object_get(fl, "table")),
           (long long)json_integer_value(json_object_get(fl, "n_packets")),
           (long long)json_integer_value(json_object_get(fl, "n_bytes")));
    json_int_t t = json_integer_value(json_object_get(fl, "idle_timeout"));
    if (t)
        printf("idle_timeout=%lld, ", (long long)t);
    t = json_integer_value(json_object_get(fl, "hard_timeout"));
    if (t)
        printf("hard_timeout=%lld, ", (long long)t);
    const char *match = json_string_value(json_object_get(fl, "match"));
    printf("%s%sactions=%s\n", match ? match : "", match && *match ? " " : "",
           json_string_value(json_object_get(fl, "actions")));
}

static void print_ports(const json_t *ports)
{
    size_t i;
    json_t *pt;
    json_array_foreach(ports, i, pt) {
        printf(" %lld(%s): type %s, dp port %lld, link %s\n",
               (long long)json_integer_value(json_object_get(pt, "ofport")),
               json_string_value(json_object_get(pt, "name")),
               json_string_value(json_object_get(pt, "type")),
               (long long)json_integer_value(json_object_get(pt, "dp_port")),
               json_is_true(json_object_get(pt, "link_up")) ? "up" : "down");
    }
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

static int jsonrpc_command(struct sw_cli *c, bool strict, const char *cmd, const char *br, int n,
                           char **a);

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
        if (!snoop && stat(target + 5, &st) != 0) {
            int rc = jsonrpc_command(&c, o.strict, cmd, sw, n, a);
            if (rc != -1)
                return rc;
            if (known && of_ok) {
                fprintf(stderr, "kvmkit ofctl: %s: bridge %s has no OpenFlow management socket "
                                "(%s), and kvmkit-switchd's control socket does not offer "
                                "this command\n", cmd, sw, target + 5);
                return 3;
            }
        }
    }
    if (!of_ok) {
        fprintf(stderr, "kvmkit ofctl: %s: %s\nRun 'kvmkit ofctl --help' for the commands.\n",
                cmd, known ? "wrong number of arguments" : "unknown command");
        return 2;
    }
    return ofctl_of_run(target, &o, cmd, n, a);
}

/* The JSON-RPC path: the exit status, or -1 when @cmd with @n arguments is
 * not one it offers. */
static int jsonrpc_command(struct sw_cli *cp, bool strict, const char *cmd, const char *br, int n,
                           char **a)
{
    struct sw_cli c = *cp;
    int rc;
    json_t *p = json_pack("{s:s}", "bridge", br);
    if (strict)
        json_object_set_new(p, "strict", json_true());

    if (strcmp(cmd, "add-flow") == 0 && n == 1) {
        json_object_set_new(p, "flows", json_pack("[s]", a[0]));
        rc = sw_cli_call(&c, "flow.add", p, NULL);
    } else if (strcmp(cmd, "add-flows") == 0 && n == 1) {
        json_decref(p);
        rc = add_flows(&c, br, a[0]);
    } else if (strcmp(cmd, "mod-flows") == 0 && n == 1) {
        json_object_set_new(p, "flow", json_string(a[0]));
        rc = sw_cli_call(&c, "flow.mod", p, NULL);
    } else if (strcmp(cmd, "del-flows") == 0 && n <= 1) {
        if (n == 1)
            json_object_set_new(p, "match", json_string(a[0]));
        rc = sw_cli_call(&c, "flow.del", p, NULL);
    } else if (strcmp(cmd, "dump-flows") == 0 && n <= 1) {
        if (n == 1)
            json_object_set_new(p, "match", json_string(a[0]));
        json_t *r;
        rc = sw_cli_call(&c, "flow.dump", p, &r);
        if (rc == 0) {
            size_t i;
            json_t *fl;
            json_array_foreach(json_object_get(r, "flows"), i, fl)
                print_flow(fl);
            json_decref(r);
        }
    } else if ((strcmp(cmd, "add-group") == 0 || strcmp(cmd, "mod-group") == 0) && n == 1) {
        json_object_set_new(p, "group", json_string(a[0]));
        rc = sw_cli_call(&c, cmd[0] == 'a' ? "group.add" : "group.mod", p, NULL);
    } else if (strcmp(cmd, "del-groups") == 0 && n <= 1) {
        if (n == 1)
            json_object_set_new(p, "group", json_string(a[0]));
        rc = sw_cli_call(&c, "group.del", p, NULL);
    } else if ((strcmp(cmd, "dump-groups") == 0 || strcmp(cmd, "dump-group-stats") == 0) &&
               n <= 1) {
        bool stats = strcmp(cmd, "dump-group-stats") == 0;
        if (n == 1) {
            /* ID or group_id=ID, like ovs-ofctl */
            const char *v = strncmp(a[0], "group_id=", 9) == 0 ? a[0] + 9 : a[0];
            char *end;
            errno = 0;
            long long id = strtoll(v, &end, 0);
            if (errno || *end || end == v || id < 0) {
                json_decref(p);
                fprintf(stderr, "kvmkit ofctl: %s: bad group id '%s'\n", cmd, a[0]);
                return 2;
            }
            json_object_set_new(p, "group_id", json_integer(id));
        }
        if (stats)
            json_object_set_new(p, "stats", json_true());
        json_t *r;
        rc = sw_cli_call(&c, "group.dump", p, &r);
        if (rc == 0) {
            size_t i;
            json_t *g;
            json_array_foreach(json_object_get(r, "groups"), i, g)
                printf(" %s\n", json_string_value(g));
            json_decref(r);
        }
    } else if ((strcmp(cmd, "add-meter") == 0 || strcmp(cmd, "mod-meter") == 0) && n == 1) {
        json_object_set_new(p, "meter", json_string(a[0]));
        rc = sw_cli_call(&c, cmd[0] == 'a' ? "meter.add" : "meter.mod", p, NULL);
    } else if (strcmp(cmd, "del-meters") == 0 && n <= 1) {
        if (n == 1)
            json_object_set_new(p, "meter", json_string(a[0]));
        rc = sw_cli_call(&c, "meter.del", p, NULL);
    } else if ((strcmp(cmd, "dump-meters") == 0 || strcmp(cmd, "meter-stats") == 0) && n <= 1) {
        if (n == 1) {
            /* ID or meter=ID, like ovs-ofctl */
            const char *v = strncmp(a[0], "meter=", 6) == 0 ? a[0] + 6 : a[0];
            char *end;
            errno = 0;
            long long id = strtoll(v, &end, 0);
            if (errno || *end || end == v || id <= 0) {
                json_decref(p);
                fprintf(stderr, "kvmkit ofctl: %s: bad meter id '%s'\n", cmd, a[0]);
                return 2;
            }
            json_object_set_new(p, "meter_id", json_integer(id));
        }
        if (cmd[0] == 'm')
            json_object_set_new(p, "stats", json_true());
        json_t *r;
        rc = sw_cli_call(&c, "meter.dump", p, &r);
        if (rc == 0) {
            size_t i;
            json_t *m;
            json_array_foreach(json_object_get(r, "meters"), i, m)
                printf(" %s\n", json_string_value(m));
            json_decref(r);
        }
    } else if (strcmp(cmd, "show") == 0 && n == 0) {
        json_t *r;
        json_object_set_new(p, "by", json_string("ofport"));
        rc = sw_cli_call(&c, "port.list", p, &r);
        if (rc == 0) {
            printf("%s:\n", br);
            print_ports(r);
            json_decref(r);
        }
    } else {
        json_decref(p);
        return -1;
    }
    sw_cli_close(&c);
    return rc;
}
