/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `kvmkit ofctl` — a bridge's OpenFlow rules through kvmkit-switchd, with
 * ovs-ofctl's command names and flow syntax. The daemon parses the flows
 * (its parser's message comes back on an error). add-flows sends files in
 * batches so that 100,000 rules load in a few calls.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "switch_cli.h"

#define ADD_BATCH 10000

void ofctl_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit ofctl [-s SOCKET] [--strict] COMMAND BRIDGE [ARGS...]\n"
            "\n"
            "Manage the OpenFlow rules of a kvmkit-switchd bridge (ovs-ofctl syntax).\n"
            "Rules added here are saved by the daemon and restored when it restarts.\n"
            "\n"
            "Commands:\n"
            "  add-flow BR FLOW        add a rule, e.g.\n"
            "                          \"table=0,priority=100,ip,nw_dst=10.0.0.1,actions=output:2\"\n"
            "  add-flows BR FILE       add the rules of FILE (- for stdin): one per line,\n"
            "                          blank lines and # comments ignored\n"
            "  mod-flows BR FLOW       change the actions of the rules FLOW matches\n"
            "  del-flows BR [MATCH]    delete the rules MATCH matches (all without MATCH)\n"
            "  dump-flows BR [MATCH]   print rules with their counters\n"
            "  add-group BR GROUP      add a group, e.g.\n"
            "                          \"group_id=1,type=select,bucket=output:1,bucket=output:2\"\n"
            "                          (types all, select, indirect, ff; bucket settings\n"
            "                          weight:N, watch_port:P, watch_group:G before actions)\n"
            "  mod-group BR GROUP      replace a group's type and buckets\n"
            "  del-groups BR [GROUP]   delete group_id=N (all without GROUP) and the rules\n"
            "                          that use it\n"
            "  dump-groups BR [ID]     print groups\n"
            "  dump-group-stats BR [ID] print group and bucket counters\n"
            "  add-meter BR METER      add a meter, e.g.\n"
            "                          \"meter=1,kbps,burst,band=type=drop,rate=1000,burst_size=100\"\n"
            "                          (kbps or pktps; drop bands)\n"
            "  mod-meter BR METER      replace a meter's bands\n"
            "  del-meters BR [METER]   delete meter=N (all without METER) and the rules\n"
            "                          that use it\n"
            "  dump-meters BR [ID]     print meters\n"
            "  meter-stats BR [ID]     print meter and band counters\n"
            "  show BR                 the bridge's ports with their OpenFlow numbers\n"
            "\n"
            "Options:\n"
            "  -s, --socket PATH   kvmkit-switchd's control socket (default\n"
            "                      $KVMKIT_SWITCHD_SOCKET or " SWITCHD_DEFAULT_SOCKET ")\n"
            "      --strict        mod-flows/del-flows: priority and match must be equal\n"
            "  -h, --help          show this help\n"
            "\n"
            "Exit status: 0 done, 1 the daemon refused (its message is printed),\n"
            "2 usage error, 3 the daemon could not be reached.\n");
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

int ofctl_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"strict", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sw_cli c = {.tool = "ofctl", .socket = sw_cli_default_socket()};
    bool strict = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            c.socket = optarg;
            break;
        case 'S':
            strict = true;
            break;
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
    const char *br = argv[optind + 1];
    int n = argc - optind - 2;
    char **a = argv + optind + 2;
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
        fprintf(stderr, "kvmkit ofctl: unknown command or wrong arguments: %s\n"
                        "Run 'kvmkit ofctl --help' for the commands.\n", cmd);
        return 2;
    }
    sw_cli_close(&c);
    return rc;
}
