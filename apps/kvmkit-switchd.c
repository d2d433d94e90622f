/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvmkit-switchd — the virtual switch daemon: bridges (lib/switch
 * sw_ofproto: OpenFlow tables, NORMAL learning switch, VLANs, bonds,
 * mirrors) over one userspace datapath (sw_dpif: PMD threads, flow caches)
 * whose ports are lib/pkt ports: kernel interfaces (AF_PACKET, AF_XDP),
 * taps, vhost-user sockets for VMs, pcap files and in-process rings.
 *
 * Threads: the control reactor (this thread) runs the JSON-RPC socket and
 * a 100 ms timer (links, bonds and LACP, MAC aging, revalidation); the
 * dpif's PMD threads forward and call back sd_upcall() on misses.
 *
 * State: every change made over JSON-RPC rewrites the --config file
 * atomically; at start it is read back and everything recreated, so a
 * restarted daemon has the same bridges, ports (same OpenFlow numbers),
 * bonds, mirrors and OpenFlow rules. vhost-user ports listen again on the
 * same sockets, and QEMU (with reconnect) comes back by itself.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_daemon.h"
#include "kk_err.h"
#include "kk_log.h"
#include "kk_version.h"
#include "switchd/switchd.h"

KK_LOG_COMPONENT(switchd_log, "switchd");

#define DEFAULT_RPC "/run/kvmkit/switchd.sock"
#define RUN_PERIOD_US 100000

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit-switchd [options]\n"
            "\n"
            "An OpenFlow virtual switch for VMs and namespaces: bridges of kernel interfaces\n"
            "(AF_PACKET, AF_XDP), taps, vhost-user ports for QEMU, pcap files and rings,\n"
            "forwarded by poll-mode threads with exact-match and megaflow caches. Configure\n"
            "it with `kvmkit vsctl`, `kvmkit ofctl` and `kvmkit appctl`.\n"
            "\n"
            "Options:\n"
            "  -r, --rpc PATH        JSON-RPC control socket (default $KVMKIT_SWITCHD_SOCKET\n"
            "                        or " DEFAULT_RPC ")\n"
            "  -c, --config FILE     keep the configuration here (JSON): restored at start,\n"
            "                        rewritten atomically after every change (default: not\n"
            "                        kept)\n"
            "  -p, --pmd-cpus LIST   one PMD (forwarding) thread pinned to each CPU listed,\n"
            "                        e.g. 1 or 0-1 or 2,4 (default: one unpinned PMD)\n"
            "  -b, --busy-poll       PMD threads never sleep (dedicated cores)\n"
            "  -i, --idle-us N       how long an idle PMD thread polls before it sleeps\n"
            "                        (default 8)\n"
            "  -e, --emc-entries N   exact-match cache slots per PMD thread, a power of two\n"
            "                        from 1024 to 1048576, 128 bytes each (default 16384)\n"
            "      --pmd-auto-lb SECONDS\n"
            "                        every SECONDS, reassign receive queues to PMD threads\n"
            "                        by their load if the busiest thread was busy enough\n"
            "                        and the threads' loads would even out enough\n"
            "                        (default 0: only when ports change or on\n"
            "                        `appctl dpif-netdev/pmd-rxq-rebalance`)\n"
            "      --pmd-auto-lb-load PCT\n"
            "                        busy share of the busiest thread needed (default 95)\n"
            "      --pmd-auto-lb-improvement PCT\n"
            "                        reduction of the load variance needed (default 25)\n"
            "  -C, --copy-rx         copy every frame received from a vhost-user port into\n"
            "                        a packet buffer (default: a large frame's payload\n"
            "                        stays in the sender's buffer and is copied once,\n"
            "                        straight to where it goes)\n"
            "  -l, --log-level SPEC  log levels, e.g. info or info,switchd=debug,dpif=debug\n"
            "  -h, --help            show this help\n"
            "  -V, --version         show the version\n"
            "\n"
            "vhost-user ports (type=vhost-user) listen on options:path, by default\n"
            "<the control socket's directory>/<port>.sock; type=vhost-user-client\n"
            "connects to a QEMU listening on options:path and reconnects.\n"
            "\n"
            "JSON-RPC methods (kvmkit rpc -s PATH METHOD JSON):\n");
    sd_rpc_help(out);
    fprintf(out, "\nExit status: 0 after SIGTERM/SIGINT or daemon.shutdown, 1 on a start-up\n"
                 "failure, 2 on bad options.\n");
}

static void run_timer(void *arg)
{
    sd_run(arg);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rpc", required_argument, NULL, 'r'},      {"config", required_argument, NULL, 'c'},
        {"pmd-cpus", required_argument, NULL, 'p'}, {"busy-poll", no_argument, NULL, 'b'},
        {"idle-us", required_argument, NULL, 'i'},  {"log-level", required_argument, NULL, 'l'},
        {"log", required_argument, NULL, 'l'},      {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},        {"emc-entries", required_argument, NULL, 'e'},
        {"copy-rx", no_argument, NULL, 'C'},        {"pmd-auto-lb", required_argument, NULL, 1},
        {"pmd-auto-lb-load", required_argument, NULL, 2},
        {"pmd-auto-lb-improvement", required_argument, NULL, 3},
        {NULL, 0, NULL, 0},
    };
    static struct switchd sd;
    const char *rpc = getenv("KVMKIT_SWITCHD_SOCKET");
    int cpus[SW_DPIF_MAX_PMDS];
    unsigned n_cpus = 0;
    bool busy = false, copy_rx = false;
    uint32_t idle_us = 0;
    unsigned emc_entries = 0;
    sd.auto_lb_load_pct = 95;
    sd.auto_lb_improve_pct = 25;
    int c;
    while ((c = getopt_long(argc, argv, "r:c:p:bi:e:Cl:hV", opts, NULL)) != -1) {
        switch (c) {
        case 1:
        case 2:
        case 3: {
            static const char *const name[] = {"", "pmd-auto-lb", "pmd-auto-lb-load",
                                               "pmd-auto-lb-improvement"};
            char *end;
            long max = c == 1 ? 86400 : 100;
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 0 || v > max) {
                fprintf(stderr, "kvmkit-switchd: --%s must be 0..%ld, not '%s'\n", name[c],
                        max, optarg);
                return 2;
            }
            *(c == 1 ? &sd.auto_lb_s : c == 2 ? &sd.auto_lb_load_pct
                                              : &sd.auto_lb_improve_pct) = (unsigned)v;
            break;
        }
        case 'r':
            rpc = optarg;
            break;
        case 'c':
            sd.config_path = optarg;
            break;
        case 'p':
            if (kk_parse_cpu_list(optarg, cpus, SW_DPIF_MAX_PMDS, &n_cpus) < 0) {
                fprintf(stderr, "kvmkit-switchd: --pmd-cpus takes CPU numbers and ranges, "
                                "e.g. 1 or 0-1 or 2,4 (at most %d), not '%s'\n",
                        SW_DPIF_MAX_PMDS, optarg);
                return 2;
            }
            break;
        case 'b':
            busy = true;
            break;
        case 'C':
            copy_rx = true;
            break;
        case 'i': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 0 || v > 1000000) {
                fprintf(stderr, "kvmkit-switchd: --idle-us must be 0..1000000, not '%s'\n",
                        optarg);
                return 2;
            }
            idle_us = (uint32_t)v;
            break;
        }
        case 'e': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < SW_EMC_MIN_ENTRIES || v > SW_EMC_MAX_ENTRIES ||
                (v & (v - 1))) {
                fprintf(stderr, "kvmkit-switchd: --emc-entries must be a power of two from "
                                "%u to %u, not '%s'\n", SW_EMC_MIN_ENTRIES, SW_EMC_MAX_ENTRIES,
                        optarg);
                return 2;
            }
            emc_entries = (unsigned)v;
            break;
        }
        case 'l':
            if (kk_log_set_levels(optarg) < 0) {
                fprintf(stderr, "kvmkit-switchd: invalid --log-level '%s' (e.g. info or "
                                "info,switchd=debug)\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("kvmkit-switchd %s\n", KK_VERSION);
            return 0;
        default:
            fprintf(stderr, "Run 'kvmkit-switchd --help' for the options.\n");
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "kvmkit-switchd: unexpected argument '%s'\n"
                        "Run 'kvmkit-switchd --help' for the options.\n", argv[optind]);
        return 2;
    }
    if (!rpc || !*rpc)
        rpc = DEFAULT_RPC;
    sd.rpc_path = rpc;
    char *tmp = strdup(rpc);
    sd.vhost_dir = tmp ? strdup(dirname(tmp)) : NULL;
    free(tmp);

    if (kk_daemon_init(&sd.d, "kvmkit-switchd", rpc) < 0)
        return 1;
    struct sw_dpif_opts o = {
        .n_pmds = n_cpus ? n_cpus : 1,
        .pmd_cpus = n_cpus ? cpus : NULL,
        .busy_poll = busy,
        .idle_us = idle_us,
        .emc_entries = emc_entries,
        .copy_rx = copy_rx,
        .upcall = sd_upcall,
        .userspace = sd_userspace,
        .upcall_arg = &sd,
    };
    int rc = sw_dpif_create(&o, &sd.dpif);
    if (rc < 0) {
        KK_LOGE(switchd_log, "cannot start the datapath (%u PMD thread%s%s): %s", o.n_pmds,
                o.n_pmds == 1 ? "" : "s", n_cpus ? ", are the CPUs online?" : "",
                kk_strerror(rc));
        kk_daemon_fini(&sd.d);
        return 1;
    }
    sd_rpc_register(&sd);
    if (sd.config_path)
        sd_restore(&sd);
    else
        KK_LOGI(switchd_log, "no --config: the configuration is not kept across restarts");
    if (kk_timer_create(sd.d.reactor, run_timer, &sd, &sd.timer) == 0)
        kk_timer_arm(sd.timer, RUN_PERIOD_US, RUN_PERIOD_US);
    KK_LOGI(switchd_log, "kvmkit-switchd %s: %u PMD thread%s%s, control socket %s", KK_VERSION,
            o.n_pmds, o.n_pmds == 1 ? "" : "s", busy ? " (busy-poll)" : "", rpc);
    if (sd.auto_lb_s)
        KK_LOGI(switchd_log, "pmd auto-lb every %u s (busiest thread %u%% busy, load variance "
                "down %u%%)", sd.auto_lb_s, sd.auto_lb_load_pct, sd.auto_lb_improve_pct);

    kk_daemon_run(&sd.d);

    KK_LOGI(switchd_log, "shutting down%s%s", sd.d.stop_signal ? " on signal " : "",
            sd.d.stop_signal ? strsignal(sd.d.stop_signal) : "");
    kk_timer_destroy(sd.timer);
    sd_shutdown(&sd);
    sw_dpif_destroy(sd.dpif);
    kk_daemon_fini(&sd.d);
    free(sd.map);
    free(sd.vhost_dir);
    return 0;
}
