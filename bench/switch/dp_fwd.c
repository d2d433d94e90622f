/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dp_fwd — the userspace datapath alone between two vhost-user ports, for
 * measuring its per-packet cost against a plain io forwarder (kvmkit
 * testpmd -f io) under the same traffic (build/bench/pkt_gen on the other
 * CPU). One sw_dpif, one PMD pinned to --cpu, busy polling, two ports, and
 * an upcall handler standing in for the OpenFlow slow path:
 *
 *   --mode one    every packet to the other port; megaflow wildcards =
 *                 in_port (plus what extraction always un-wildcards:
 *                 dl_type, nw_proto, nw_frag)
 *   --mode learn  a learning switch: dl_src learned on in_port, dl_dst
 *                 looked up (unknown, broadcast or multicast: flood to the
 *                 other ports); wildcards in_port, dl_src, dl_dst, VLAN —
 *                 roughly what OVS's NORMAL action leaves in its megaflows.
 *                 A new or moved MAC flushes the megaflows (from the main
 *                 thread), as revalidation would.
 *
 *   dp_fwd --port1 SOCK --port2 SOCK [--mode one|learn] [--cpu N]
 *          [--seconds S] [--clear-after S]
 *
 * Runs until SIGINT/SIGTERM (or --seconds), then prints one JSON line with
 * the PMD's counters: packets, EMC and megaflow hits, upcalls, losses,
 * busy cycles per packet (TSC cycles of PMD turns that moved packets /
 * packets) and the ports' counters. --clear-after S clears the counters S
 * seconds after start (after the caches warmed up).
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpif.h"
#include "kk_reactor.h"

#define MAC_SLOTS 4096 /* learning table: open addressing, never full in a benchmark */

enum mode { MODE_ONE, MODE_LEARN };

struct mac_entry {
    uint8_t mac[6];
    bool used;
    uint32_t port;
};

static struct {
    enum mode mode;
    uint32_t ports[2];
    pthread_mutex_t lock;
    struct mac_entry macs[MAC_SLOTS];
    int changed; /* atomic: megaflows must be flushed */
} sw = {.lock = PTHREAD_MUTEX_INITIALIZER};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static struct mac_entry *mac_slot(const uint8_t *mac)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 6; i++)
        h = (h ^ mac[i]) * 16777619u;
    for (unsigned k = 0; k < MAC_SLOTS; k++) {
        struct mac_entry *e = &sw.macs[(h + k) & (MAC_SLOTS - 1)];
        if (!e->used || memcmp(e->mac, mac, 6) == 0)
            return e;
    }
    return NULL;
}

static void flood(struct sw_upcall *up)
{
    for (int i = 0; i < 2; i++)
        if (sw.ports[i] != up->key->in_port)
            sw_odp_put_output(&up->actions, sw.ports[i]);
}

static enum sw_upcall_result upcall(void *arg, struct sw_upcall *up)
{
    (void)arg;
    const struct sw_flow_key *k = up->key;
    if (sw.mode == MODE_ONE) {
        sw_odp_put_output(&up->actions, k->in_port == sw.ports[0] ? sw.ports[1] : sw.ports[0]);
        return SW_UPCALL_INSTALL;
    }
    memset(up->wc.masks.dl_src, 0xff, 6);
    memset(up->wc.masks.dl_dst, 0xff, 6);
    up->wc.masks.vlan_tci = UINT16_MAX;
    pthread_mutex_lock(&sw.lock);
    if (!(k->dl_src[0] & 1)) {
        struct mac_entry *e = mac_slot(k->dl_src);
        if (e && (!e->used || e->port != k->in_port)) {
            memcpy(e->mac, k->dl_src, 6);
            e->used = true;
            e->port = k->in_port;
            __atomic_store_n(&sw.changed, 1, __ATOMIC_RELEASE);
        }
    }
    struct mac_entry *d = (k->dl_dst[0] & 1) ? NULL : mac_slot(k->dl_dst);
    if (d && d->used) {
        if (d->port != k->in_port)
            sw_odp_put_output(&up->actions, d->port);
        /* else: drop (the destination is behind the input port) */
    } else {
        flood(up);
    }
    pthread_mutex_unlock(&sw.lock);
    return SW_UPCALL_INSTALL;
}

static void print_port(struct sw_dpif *dp, uint32_t no, const char *sep)
{
    struct sw_dpif_port_info pi;
    if (sw_dpif_port_query(dp, no, &pi) != 0)
        return;
    printf("%s{\"port\": %u, \"rx_packets\": %llu, \"rx_drops\": %llu, \"tx_packets\": %llu, "
           "\"tx_drops\": %llu, \"tx_errors\": %llu}",
           sep, no, (unsigned long long)pi.rx_packets, (unsigned long long)pi.rx_drops,
           (unsigned long long)pi.tx_packets, (unsigned long long)pi.tx_drops,
           (unsigned long long)pi.tx_errors);
}

int main(int argc, char **argv)
{
    const char *p1 = NULL, *p2 = NULL;
    int cpu = 1;
    double seconds = 0, clear_after = 0;
    static const struct option opts[] = {
        {"port1", required_argument, NULL, '1'},   {"port2", required_argument, NULL, '2'},
        {"mode", required_argument, NULL, 'm'},    {"cpu", required_argument, NULL, 'c'},
        {"seconds", required_argument, NULL, 't'}, {"clear-after", required_argument, NULL, 'w'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "1:2:m:c:t:w:", opts, NULL)) != -1) {
        switch (c) {
        case '1': p1 = optarg; break;
        case '2': p2 = optarg; break;
        case 'm':
            if (strcmp(optarg, "one") == 0) {
                sw.mode = MODE_ONE;
            } else if (strcmp(optarg, "learn") == 0) {
                sw.mode = MODE_LEARN;
            } else {
                fprintf(stderr, "dp_fwd: --mode one|learn\n");
                return 2;
            }
            break;
        case 'c': cpu = atoi(optarg); break;
        case 't': seconds = atof(optarg); break;
        case 'w': clear_after = atof(optarg); break;
        default:
            fprintf(stderr, "usage: dp_fwd --port1 SOCK --port2 SOCK [--mode one|learn] "
                            "[--cpu N] [--seconds S] [--clear-after S]\n");
            return 2;
        }
    }
    if (!p1 || !p2) {
        fprintf(stderr, "dp_fwd: --port1 and --port2 are required\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct sw_dpif_opts o = {.n_pmds = 1, .pmd_cpus = &cpu, .busy_poll = true,
                             .upcall = upcall};
    struct sw_dpif *dp;
    int rc = sw_dpif_create(&o, &dp);
    if (rc) {
        fprintf(stderr, "dp_fwd: sw_dpif_create: %s\n", strerror(-rc));
        return 1;
    }
    char spec[256], err[256];
    const char *paths[2] = {p1, p2};
    for (int i = 0; i < 2; i++) {
        snprintf(spec, sizeof(spec), "vhost-user:path=%s", paths[i]);
        sw.ports[i] = SW_DPIF_PORT_NONE;
        rc = sw_dpif_port_add(dp, i ? "p2" : "p1", spec, &sw.ports[i], err, sizeof(err));
        if (rc) {
            fprintf(stderr, "dp_fwd: %s: %s\n", spec, err);
            sw_dpif_destroy(dp);
            return 1;
        }
    }
    uint64_t start = kk_now_us(), cleared = start;
    bool did_clear = clear_after <= 0;
    while (!stop) {
        usleep(10000);
        uint64_t now = kk_now_us();
        if (__atomic_exchange_n(&sw.changed, 0, __ATOMIC_ACQ_REL))
            sw_dpif_flow_flush(dp);
        if (!did_clear && now - start >= (uint64_t)(clear_after * 1e6)) {
            sw_dpif_pmd_stats_clear(dp);
            cleared = now;
            did_clear = true;
        }
        if (seconds > 0 && now - start >= (uint64_t)(seconds * 1e6))
            break;
    }
    double secs = (double)(kk_now_us() - cleared) / 1e6;
    struct sw_dpif_pmd_stats st;
    sw_dpif_pmd_stats(dp, 0, &st);
    printf("{\"mode\": \"%s\", \"seconds\": %.3f, \"packets\": %llu, \"pps\": %.0f, "
           "\"emc_hits\": %llu, \"mfc_hits\": %llu, \"upcalls\": %llu, \"upcall_fails\": %llu, "
           "\"lost\": %llu, \"megaflows\": %u, \"busy_cycles_per_packet\": %.1f, "
           "\"busy_fraction\": %.3f, \"ports\": [",
           sw.mode == MODE_ONE ? "one" : "learn", secs, (unsigned long long)st.packets,
           (double)st.packets / secs, (unsigned long long)st.emc_hits,
           (unsigned long long)st.mfc_hits, (unsigned long long)st.upcalls,
           (unsigned long long)st.upcall_fails, (unsigned long long)st.lost,
           sw_dpif_flow_count(dp),
           st.packets ? (double)st.busy_cycles / (double)st.packets : 0.0,
           st.busy_cycles + st.idle_cycles
               ? (double)st.busy_cycles / (double)(st.busy_cycles + st.idle_cycles)
               : 0.0);
    print_port(dp, sw.ports[0], "");
    print_port(dp, sw.ports[1], ", ");
    printf("]}\n");
    fflush(stdout);
    sw_dpif_destroy(dp);
    return 0;
}
