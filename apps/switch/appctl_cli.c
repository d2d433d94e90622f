/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `kvmkit appctl` — look inside a running kvmkit-switchd, with ovs-appctl's
 * command names: MAC tables, megaflows, PMD statistics, traces, bonds.
 * --json prints the daemon's answer as it is (for scripts).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "switch_cli.h"

void appctl_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit appctl [-s SOCKET] [--json] COMMAND [ARGS...]\n"
            "\n"
            "Inspect a running kvmkit-switchd (ovs-appctl's command names).\n"
            "\n"
            "Commands:\n"
            "  fdb/show BR                    learned MACs: port, VLAN, MAC, age (s)\n"
            "  fdb/flush [BR]                 forget learned MACs (of every bridge)\n"
            "  dpif/dump-flows [BR]           megaflows: match, packets, bytes, used, actions\n"
            "  dpif-netdev/pmd-stats-show     per PMD thread: packets, EMC and megaflow hits,\n"
            "                                 upcalls, lost, cycles per packet, busy %%\n"
            "  dpif-netdev/pmd-stats-clear    start the PMD counters from zero\n"
            "  dpif-netdev/pmd-rxq-show       which PMD thread polls which port queue, and\n"
            "                                 each queue's share of a CPU since the last\n"
            "                                 assignment\n"
            "  dpif-netdev/pmd-rxq-rebalance  reassign queues to PMD threads by that load\n"
            "  ofproto/trace BR FLOW          what the bridge does with a packet, e.g.\n"
            "                                 \"in_port=eth1,icmp,nw_dst=10.0.0.2\"\n"
            "  bond/show [BOND]               bond mode, members, the active member\n"
            "  lacp/show [BOND]               LACP actor and partner state per member\n"
            "\n"
            "Options:\n"
            "  -s, --socket PATH   kvmkit-switchd's control socket (default\n"
            "                      $KVMKIT_SWITCHD_SOCKET or " SWITCHD_DEFAULT_SOCKET ")\n"
            "  -j, --json          print the answer as JSON\n"
            "  -h, --help          show this help\n"
            "\n"
            "Exit status: 0 done, 1 the daemon refused (its message is printed),\n"
            "2 usage error, 3 the daemon could not be reached.\n");
}

static long long ival(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static const char *sval(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void print_fdb(const json_t *r)
{
    printf(" port             VLAN  MAC                Age\n");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r, "entries"), i, e)
        printf(" %-16s %4lld  %s  %3lld\n", sval(e, "port"), ival(e, "vlan"), sval(e, "mac"),
               ival(e, "age"));
}

static void print_dp_flows(const json_t *r)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(r, "flows"), i, f) {
        double used = json_number_value(json_object_get(f, "used"));
        char u[32];
        if (used < 0)
            snprintf(u, sizeof(u), "never");
        else
            snprintf(u, sizeof(u), "%.3fs", used);
        printf("%s, packets:%lld, bytes:%lld, used:%s, actions:%s\n", sval(f, "match"),
               ival(f, "packets"), ival(f, "bytes"), u, sval(f, "actions"));
    }
}

static void print_pmd_stats(const json_t *r)
{
    size_t i;
    json_t *s;
    json_array_foreach(r, i, s) {
        long long cpu = ival(s, "cpu");
        if (cpu >= 0)
            printf("pmd thread %lld core_id %lld:\n", ival(s, "pmd"), cpu);
        else
            printf("pmd thread %lld (unpinned):\n", ival(s, "pmd"));
        printf("  packets received: %lld\n", ival(s, "packets"));
        printf("  simple match hits: %lld\n", ival(s, "simple_hits"));
        printf("  emc hits: %lld\n", ival(s, "emc_hits"));
        printf("  megaflow hits: %lld\n", ival(s, "mfc_hits"));
        printf("  upcalls: %lld\n", ival(s, "upcalls"));
        printf("  failed upcalls: %lld\n", ival(s, "upcall_fails"));
        printf("  lost: %lld\n", ival(s, "lost"));
        printf("  rx queues: %lld\n", ival(s, "n_rxq"));
        printf("  avg cycles per packet: %.1f\n",
               json_number_value(json_object_get(s, "cycles_per_packet")));
        printf("  busy cycles: %lld (%.1f%%)\n", ival(s, "busy_cycles"),
               json_number_value(json_object_get(s, "busy_pct")));
        printf("  idle cycles: %lld\n", ival(s, "idle_cycles"));
    }
}

static void print_rxq(const json_t *r)
{
    size_t i, j;
    json_t *s, *q;
    json_array_foreach(r, i, s) {
        long long cpu = ival(s, "cpu");
        if (cpu >= 0)
            printf("pmd thread %lld core_id %lld:\n", ival(s, "pmd"), cpu);
        else
            printf("pmd thread %lld (unpinned):\n", ival(s, "pmd"));
        json_array_foreach(json_object_get(s, "rxqs"), j, q)
            printf("  port: %-16s queue-id: %2lld  pmd usage: %3.0f %%\n", sval(q, "port"),
                   ival(q, "queue"), json_number_value(json_object_get(q, "usage")));
    }
}

static void print_text(const json_t *r)
{
    const char *t = sval(r, "text");
    fputs(t, stdout);
    if (*t && t[strlen(t) - 1] != '\n')
        putchar('\n');
}

int appctl_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sw_cli c = {.tool = "appctl", .socket = sw_cli_default_socket()};
    bool as_json = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "+s:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            c.socket = optarg;
            break;
        case 'j':
            as_json = true;
            break;
        case 'h':
            appctl_help(stdout);
            return 0;
        default:
            appctl_help(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        appctl_help(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    int n = argc - optind - 1;
    char **a = argv + optind + 1;
    static const struct {
        const char *cmd, *method;
        int min_args, max_args;
        const char *arg0, *arg1;     /* names of the parameters */
        void (*print)(const json_t *r);
    } table[] = {
        {"fdb/show", "fdb.show", 1, 1, "bridge", NULL, print_fdb},
        {"fdb/flush", "fdb.flush", 0, 1, "bridge", NULL, NULL},
        {"dpif/dump-flows", "dpif.dump_flows", 0, 1, "bridge", NULL, print_dp_flows},
        {"dpif-netdev/pmd-stats-show", "pmd.stats", 0, 0, NULL, NULL, print_pmd_stats},
        {"dpif-netdev/pmd-stats-clear", "pmd.stats_clear", 0, 0, NULL, NULL, NULL},
        {"dpif-netdev/pmd-rxq-show", "pmd.rxq_show", 0, 0, NULL, NULL, print_rxq},
        {"dpif-netdev/pmd-rxq-rebalance", "pmd.rxq_rebalance", 0, 0, NULL, NULL, NULL},
        {"ofproto/trace", "ofproto.trace", 2, 2, "bridge", "flow", print_text},
        {"bond/show", "bond.show", 0, 1, "name", NULL, print_text},
        {"lacp/show", "lacp.show", 0, 1, "name", NULL, print_text},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(cmd, table[i].cmd) != 0)
            continue;
        if (n < table[i].min_args || n > table[i].max_args) {
            fprintf(stderr, "kvmkit appctl: %s: wrong number of arguments\n"
                            "Run 'kvmkit appctl --help' for the commands.\n", cmd);
            return 2;
        }
        json_t *p = json_object();
        if (n >= 1)
            json_object_set_new(p, table[i].arg0, json_string(a[0]));
        if (n >= 2)
            json_object_set_new(p, table[i].arg1, json_string(a[1]));
        json_t *r = NULL;
        int rc = sw_cli_call(&c, table[i].method, p, &r);
        sw_cli_close(&c);
        if (rc)
            return rc;
        if (as_json)
            sw_cli_print_json(r);
        else if (table[i].print)
            table[i].print(r);
        json_decref(r);
        return 0;
    }
    fprintf(stderr, "kvmkit appctl: unknown command: %s\n"
                    "Run 'kvmkit appctl --help' for the commands.\n", cmd);
    return 2;
}
