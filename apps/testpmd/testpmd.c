/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvmkit testpmd — forward, generate or sink packets on lib/pkt ports, like
 * DPDK's testpmd: the traffic generator and sink of kvmkit's benchmarks,
 * and a quick way to join two interfaces.
 *
 * Ports are paired in order (0<->1, 2<->3, ...; a last odd port forwards to
 * itself); every pair gives two streams (rx of one, tx of the other).
 * Streams are spread over the worker threads, each pinned to one of
 * --cores. Workers poll in bursts; a worker that finds nothing for 200 us
 * arms its ports' wake-ups and sleeps on their file descriptors (or naps
 * 50 us when a port has none), so idle ports cost no CPU; --busy-poll keeps
 * it spinning, as DPDK's testpmd does.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_daemon.h"
#include "kk_err.h"
#include "kk_log.h"
#include "kk_reactor.h"
#include "pkt.h"
#include "port.h"
#include "testpmd.h"

#define MAX_PORTS 16
#define MAX_WORKERS 16
#define MAX_BURST 256
#define IDLE_US 200      /* a worker idle this long sleeps (unless --busy-poll) */

enum fwd_mode { FWD_IO, FWD_MAC, FWD_RXONLY, FWD_TXONLY };

static const char *const mode_names[] = {"io", "mac", "rxonly", "txonly"};

struct stream {
    struct pkt_port *rx, *tx;
    uint16_t rxq, txq;   /* queue of each port this stream drives */
    uint16_t txq_flows;  /* txonly: flow counter */
};

struct worker {
    unsigned index;
    int cpu;                      /* -1: not pinned */
    struct stream streams[MAX_PORTS * PKT_PORT_MAX_QUEUES];
    unsigned n_streams;
    pthread_t thread;
    uint64_t busy_tsc;            /* cycles in iterations that moved packets */
    uint64_t packets;             /* packets received (or sent, txonly) */
    uint64_t sleeps;
};

struct cfg {
    enum fwd_mode mode;
    unsigned burst;
    unsigned pool_size;
    double duration;              /* 0: until a signal */
    double stats_period;          /* 0: only at exit */
    unsigned tx_size;             /* txonly frame size (no FCS) */
    unsigned tx_flows;
    double tx_rate;               /* txonly packets per second per stream, 0: max */
    bool json;
    bool busy_poll;               /* never sleep (benchmarks, like DPDK) */
    bool copy_rx;                 /* no borrowed payloads (pkt_port_set_rx_borrow) */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void list_type(void *arg, const char *type, const char *help)
{
    fprintf(arg, "  %-9s %s\n", type, help);
}

void testpmd_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit testpmd --port SPEC [--port SPEC ...] [options]\n"
            "\n"
            "Forward, generate or sink packets between lib/pkt ports (like DPDK's\n"
            "testpmd). Ports pair up in order (0<->1, 2<->3; a last odd port sends back\n"
            "out of itself).\n"
            "\n"
            "Options:\n"
            "  -p, --port SPEC        a port, e.g. tap:name=tap0, afpacket:iface=veth0,\n"
            "                         pcap:rx=in.pcap,tx=out.pcap, ring:name=a,peer=b\n"
            "  -f, --forward MODE     io (default), mac (swap MAC addresses), rxonly,\n"
            "                         txonly (generate UDP/IPv4 frames)\n"
            "  -c, --cores LIST       worker threads pinned to these CPUs, e.g. 1 or 0,1\n"
            "                         (default: one unpinned worker)\n"
            "  -b, --burst N          packets per burst (default 32, at most 256)\n"
            "  -t, --duration S       stop after S seconds (default: at SIGINT/SIGTERM)\n"
            "  -s, --stats-period S   print statistics every S seconds (default 1; 0: off)\n"
            "      --tx-size N        txonly: frame size in bytes, 60..9000 (default 64)\n"
            "      --tx-flows N       txonly: distinct UDP source ports (default 1)\n"
            "      --tx-rate PPS      txonly: packets per second per stream (default: max)\n"
            "      --pool N           packet buffers (default 16384)\n"
            "      --json             final statistics as JSON on stdout\n"
            "      --busy-poll        never sleep when idle (by default a worker idle for\n"
            "                         200 us sleeps until one of its ports has input)\n"
            "      --copy-rx          copy every frame received from a vhost-user port into\n"
            "                         a packet buffer (default: a large frame's payload\n"
            "                         stays in the sender's buffer until it is sent on)\n"
            "  -h, --help             this help\n"
            "\n"
            "Port types:\n");
    pkt_port_list_types(list_type, out);
}

static int parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* ---- txonly frames ---------------------------------------------------------- */

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* An Ethernet/IPv4/UDP frame of @size bytes from UDP port 1024 + @flow. */
static void build_frame(uint8_t *f, unsigned size, unsigned flow)
{
    static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
    memset(f, 0, size);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t *ip = f + 14;
    unsigned ip_len = size - 14;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(ip_len >> 8);
    ip[3] = (uint8_t)ip_len;
    ip[8] = 64;
    ip[9] = 17;
    ip[12] = 198, ip[13] = 18, ip[14] = 0, ip[15] = 1;  /* 198.18.0.1 (benchmarking) */
    ip[16] = 198, ip[17] = 18, ip[18] = 0, ip[19] = 2;
    uint16_t c = ip_csum(ip, 20);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    uint8_t *udp = ip + 20;
    unsigned sport = 1024 + flow;
    udp[0] = (uint8_t)(sport >> 8);
    udp[1] = (uint8_t)sport;
    udp[2] = 0x04; /* 1234 */
    udp[3] = 0xd2;
    udp[4] = (uint8_t)((ip_len - 20) >> 8);
    udp[5] = (uint8_t)(ip_len - 20);
    /* checksum 0: none (allowed for UDP over IPv4) */
}

/* ---- workers ---------------------------------------------------------------- */

static struct cfg cfg;
static uint8_t tx_template[9000];

static unsigned do_stream(struct stream *s, struct pkt_pool *pool, uint64_t *tx_budget)
{
    struct pkt_buf *bufs[MAX_BURST];
    unsigned n;
    if (cfg.mode == FWD_TXONLY) {
        n = cfg.burst;
        if (tx_budget) {
            if (*tx_budget == 0)
                return 0;
            n = (unsigned)KK_MIN((uint64_t)n, *tx_budget);
        }
        if (pkt_alloc_bulk(pool, bufs, n) < 0)
            return 0;
        for (unsigned i = 0; i < n; i++) {
            uint8_t *d = pkt_append(bufs[i], cfg.tx_size);
            memcpy(d, tx_template, cfg.tx_size);
            if (cfg.tx_flows > 1) {
                unsigned sport = 1024 + s->txq_flows++ % cfg.tx_flows;
                d[34] = (uint8_t)(sport >> 8);
                d[35] = (uint8_t)sport;
            }
        }
        unsigned sent = pkt_port_tx_burst(s->tx, s->txq, bufs, (uint16_t)n);
        if (sent < n)
            pkt_free_bulk(bufs + sent, n - sent);
        if (tx_budget)
            *tx_budget -= sent;
        return sent;
    }
    n = pkt_port_rx_burst(s->rx, s->rxq, bufs, (uint16_t)cfg.burst);
    if (n == 0)
        return 0;
    if (cfg.mode == FWD_RXONLY) {
        pkt_free_bulk(bufs, n);
        pkt_port_rx_done(s->rx, s->rxq);
        return n;
    }
    if (cfg.mode == FWD_MAC) {
        for (unsigned i = 0; i < n; i++) {
            uint8_t tmp[6], *d = pkt_data(bufs[i]);
            if (bufs[i]->data_len < 12)
                continue;
            memcpy(tmp, d, 6);
            memcpy(d, d + 6, 6);
            memcpy(d + 6, tmp, 6);
        }
    }
    unsigned sent = pkt_port_tx_burst(s->tx, s->txq, bufs, (uint16_t)n);
    if (sent < n) {
        pkt_stats_drop(&s->tx->tx[s->txq], n - sent);
        pkt_free_bulk(bufs + sent, n - sent);
    }
    /* Sent or freed: lent payloads (vhost-user) go back to the sender. */
    pkt_port_rx_done(s->rx, s->rxq);
    return n;
}

/* Wait for input on the worker's rx ports: arm their wake-ups, sleep
 * unless something came meanwhile, disarm. */
static void idle_wait(struct worker *w, int epfd)
{
    if (epfd < 0) {
        w->sleeps++;
        usleep(50);
        return;
    }
    bool pending = false;
    for (unsigned i = 0; i < w->n_streams; i++)
        pending |= pkt_port_rx_arm(w->streams[i].rx, w->streams[i].rxq, true);
    if (!pending) {
        /* Every port wakes us when input comes; the timeout only bounds how
         * late a stop request is seen. */
        struct epoll_event ev[8];
        w->sleeps++;
        epoll_wait(epfd, ev, 8, 100);
    }
    for (unsigned i = 0; i < w->n_streams; i++)
        pkt_port_rx_arm(w->streams[i].rx, w->streams[i].rxq, false);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "testpmd-w%u", w->index);
    kk_log_set_thread_name(name);
    if (w->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(w->cpu, &set);
        pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    /* Wake-up descriptors of every rx port (all must have one to sleep on
     * them; otherwise nap briefly). */
    int epfd = cfg.mode == FWD_TXONLY ? -1 : epoll_create1(EPOLL_CLOEXEC);
    for (unsigned i = 0; epfd >= 0 && i < w->n_streams; i++) {
        int fd = pkt_port_rx_fd(w->streams[i].rx, w->streams[i].rxq);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        if (fd < 0 || (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 && errno != EEXIST)) {
            close(epfd);
            epfd = -1;
        }
    }
    struct pkt_pool *pool = w->n_streams ? w->streams[0].tx->pool : NULL;
    unsigned idle = 0;
    uint64_t idle_since = 0;
    /* txonly rate: a token bucket per worker, refilled from the clock. */
    uint64_t budget = 0, *budget_p = cfg.tx_rate > 0 ? &budget : NULL;
    uint64_t last_refill = kk_now_us();
    while (!stop) {
        if (budget_p) {
            uint64_t now = kk_now_us();
            double add = (double)(now - last_refill) * cfg.tx_rate * w->n_streams / 1e6;
            if (add >= 1) {
                budget = KK_MIN(budget + (uint64_t)add, (uint64_t)cfg.burst * 4);
                last_refill = now;
            }
        }
        uint64_t t0 = kk_rdtsc();
        unsigned moved = 0;
        for (unsigned i = 0; i < w->n_streams; i++)
            moved += do_stream(&w->streams[i], pool, budget_p);
        if (moved) {
            w->busy_tsc += kk_rdtsc() - t0;
            __atomic_store_n(&w->packets, w->packets + moved, __ATOMIC_RELAXED);
            idle = 0;
            continue;
        }
        if (budget_p) {
            if (budget == 0)
                usleep(20);
            continue;
        }
        if (cfg.busy_poll)
            continue;
        /* The first empty poll after work starts the idle clock; it is read
         * again every 64 empty polls. Idle for IDLE_US: sleep until input. */
        if (idle++ == 0) {
            idle_since = kk_now_us();
        } else if (idle % 64 == 0 && kk_now_us() - idle_since >= IDLE_US) {
            idle_wait(w, epfd);
            idle = 0;
        }
    }
    if (epfd >= 0)
        close(epfd);
    if (pool)
        pkt_pool_flush_thread_cache(pool);
    return NULL;
}

/* ---- statistics -------------------------------------------------------------- */

struct snapshot {
    struct pkt_queue_stats rx[MAX_PORTS], tx[MAX_PORTS];
    uint64_t us;
};

static void take(struct pkt_port **ports, unsigned n, struct snapshot *s)
{
    s->us = kk_now_us();
    for (unsigned i = 0; i < n; i++)
        pkt_port_stats(ports[i], &s->rx[i], &s->tx[i]);
}

static void print_period(struct pkt_port **ports, unsigned n, const struct snapshot *a,
                         const struct snapshot *b)
{
    double secs = (double)(b->us - a->us) / 1e6;
    if (secs <= 0)
        return;
    for (unsigned i = 0; i < n; i++) {
        double rx_pps = (double)(b->rx[i].packets - a->rx[i].packets) / secs;
        double tx_pps = (double)(b->tx[i].packets - a->tx[i].packets) / secs;
        double rx_bps = (double)(b->rx[i].bytes - a->rx[i].bytes) * 8 / secs;
        double tx_bps = (double)(b->tx[i].bytes - a->tx[i].bytes) * 8 / secs;
        printf("port %u %-28.28s rx %8.3f Mpps %8.3f Gbit/s  tx %8.3f Mpps %8.3f Gbit/s  "
               "drops %llu/%llu\n",
               i, ports[i]->name, rx_pps / 1e6, rx_bps / 1e9, tx_pps / 1e6, tx_bps / 1e9,
               (unsigned long long)(b->rx[i].drops - a->rx[i].drops),
               (unsigned long long)(b->tx[i].drops - a->tx[i].drops));
    }
    fflush(stdout);
}

static void print_final(struct pkt_port **ports, unsigned n, const struct snapshot *start,
                        const struct snapshot *end, struct worker *workers,
                        unsigned n_workers)
{
    double secs = (double)(end->us - start->us) / 1e6;
    uint64_t busy = 0, pkts = 0;
    for (unsigned i = 0; i < n_workers; i++) {
        busy += workers[i].busy_tsc;
        pkts += workers[i].packets;
    }
    double cpp = pkts ? (double)busy / (double)pkts : 0;
    if (cfg.json) {
        printf("{\"seconds\": %.3f, \"mode\": \"%s\", \"busy_cycles_per_packet\": %.1f, "
               "\"ports\": [",
               secs, mode_names[cfg.mode], cpp);
        for (unsigned i = 0; i < n; i++) {
            const struct pkt_queue_stats *rx = &end->rx[i], *tx = &end->tx[i];
            printf("%s{\"port\": %u, \"rx_packets\": %llu, \"rx_bytes\": %llu, "
                   "\"rx_drops\": %llu, \"rx_errors\": %llu, \"tx_packets\": %llu, "
                   "\"tx_bytes\": %llu, \"tx_drops\": %llu, \"tx_errors\": %llu, "
                   "\"rx_pps\": %.0f, \"tx_pps\": %.0f",
                   i ? ", " : "", i, (unsigned long long)(rx->packets - start->rx[i].packets),
                   (unsigned long long)(rx->bytes - start->rx[i].bytes),
                   (unsigned long long)(rx->drops - start->rx[i].drops),
                   (unsigned long long)(rx->errors - start->rx[i].errors),
                   (unsigned long long)(tx->packets - start->tx[i].packets),
                   (unsigned long long)(tx->bytes - start->tx[i].bytes),
                   (unsigned long long)(tx->drops - start->tx[i].drops),
                   (unsigned long long)(tx->errors - start->tx[i].errors),
                   secs > 0 ? (double)(rx->packets - start->rx[i].packets) / secs : 0,
                   secs > 0 ? (double)(tx->packets - start->tx[i].packets) / secs : 0);
            /* Per receive queue (totals since the port opened). */
            printf(", \"rx_queue_packets\": [");
            for (uint16_t q = 0; q < ports[i]->n_rxq; q++)
                printf("%s%llu", q ? ", " : "",
                       (unsigned long long)__atomic_load_n(&ports[i]->rx[q].packets,
                                                           __ATOMIC_RELAXED));
            printf("]}");
        }
        printf("]}\n");
        return;
    }
    printf("---- totals over %.1f s (%s mode) ----\n", secs, mode_names[cfg.mode]);
    for (unsigned i = 0; i < n; i++) {
        const struct pkt_queue_stats *rx = &end->rx[i], *tx = &end->tx[i];
        printf("port %u %s: rx %llu packets %llu bytes (%llu dropped, %llu errors), "
               "tx %llu packets %llu bytes (%llu dropped, %llu errors)\n",
               i, ports[i]->name, (unsigned long long)rx->packets,
               (unsigned long long)rx->bytes, (unsigned long long)rx->drops,
               (unsigned long long)rx->errors, (unsigned long long)tx->packets,
               (unsigned long long)tx->bytes, (unsigned long long)tx->drops,
               (unsigned long long)tx->errors);
    }
    printf("workers: %.1f busy cycles per packet\n", cpp);
}

/* ---- main -------------------------------------------------------------------- */

int testpmd_main(int argc, char **argv)
{
    enum { OPT_TX_SIZE = 256, OPT_TX_FLOWS, OPT_TX_RATE, OPT_POOL, OPT_JSON, OPT_BUSY, OPT_COPY };
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},      {"forward", required_argument, NULL, 'f'},
        {"cores", required_argument, NULL, 'c'},     {"burst", required_argument, NULL, 'b'},
        {"duration", required_argument, NULL, 't'},  {"stats-period", required_argument, NULL, 's'},
        {"tx-size", required_argument, NULL, OPT_TX_SIZE},
        {"tx-flows", required_argument, NULL, OPT_TX_FLOWS},
        {"tx-rate", required_argument, NULL, OPT_TX_RATE},
        {"pool", required_argument, NULL, OPT_POOL}, {"json", no_argument, NULL, OPT_JSON},
        {"busy-poll", no_argument, NULL, OPT_BUSY}, {"copy-rx", no_argument, NULL, OPT_COPY},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    cfg = (struct cfg){.mode = FWD_IO, .burst = 32, .pool_size = 16384, .stats_period = 1,
                       .tx_size = 64, .tx_flows = 1};
    const char *specs[MAX_PORTS];
    unsigned n_ports = 0, n_cpus = 0;
    int cpus[MAX_WORKERS];
    int c;
    double v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:f:c:b:t:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (n_ports == MAX_PORTS) {
                fprintf(stderr, "testpmd: at most %d ports\n", MAX_PORTS);
                return 2;
            }
            specs[n_ports++] = optarg;
            break;
        case 'f': {
            bool found = false;
            for (unsigned i = 0; i < 4; i++) {
                if (strcmp(optarg, mode_names[i]) == 0) {
                    cfg.mode = (enum fwd_mode)i;
                    found = true;
                }
            }
            if (!found) {
                fprintf(stderr, "testpmd: --forward %s: expected io, mac, rxonly or txonly\n",
                        optarg);
                return 2;
            }
            break;
        }
        case 'c':
            if (kk_parse_cpu_list(optarg, cpus, MAX_WORKERS, &n_cpus) < 0) {
                fprintf(stderr, "testpmd: --cores %s: expected CPU numbers like 0,1\n", optarg);
                return 2;
            }
            break;
        case 'b':
            if (parse_double(optarg, 1, MAX_BURST, &v) < 0) {
                fprintf(stderr, "testpmd: --burst %s: expected 1..%d\n", optarg, MAX_BURST);
                return 2;
            }
            cfg.burst = (unsigned)v;
            break;
        case 't':
            if (parse_double(optarg, 0, 1e9, &cfg.duration) < 0) {
                fprintf(stderr, "testpmd: --duration %s: expected seconds\n", optarg);
                return 2;
            }
            break;
        case 's':
            if (parse_double(optarg, 0, 1e6, &cfg.stats_period) < 0) {
                fprintf(stderr, "testpmd: --stats-period %s: expected seconds\n", optarg);
                return 2;
            }
            break;
        case OPT_TX_SIZE:
            if (parse_double(optarg, 60, 9000, &v) < 0) {
                fprintf(stderr, "testpmd: --tx-size %s: expected 60..9000\n", optarg);
                return 2;
            }
            cfg.tx_size = (unsigned)v;
            break;
        case OPT_TX_FLOWS:
            if (parse_double(optarg, 1, 65535 - 1024, &v) < 0) {
                fprintf(stderr, "testpmd: --tx-flows %s: expected 1..64511\n", optarg);
                return 2;
            }
            cfg.tx_flows = (unsigned)v;
            break;
        case OPT_TX_RATE:
            if (parse_double(optarg, 1, 1e9, &cfg.tx_rate) < 0) {
                fprintf(stderr, "testpmd: --tx-rate %s: expected packets per second\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_POOL:
            if (parse_double(optarg, 1024, 1 << 22, &v) < 0) {
                fprintf(stderr, "testpmd: --pool %s: expected 1024..4194304\n", optarg);
                return 2;
            }
            cfg.pool_size = (unsigned)v;
            break;
        case OPT_JSON:
            cfg.json = true;
            break;
        case OPT_BUSY:
            cfg.busy_poll = true;
            break;
        case OPT_COPY:
            cfg.copy_rx = true;
            break;
        case 'h':
            testpmd_help(stdout);
            return 0;
        default:
            testpmd_help(stderr);
            return 2;
        }
    }
    if (optind < argc || n_ports == 0) {
        fprintf(stderr, "testpmd: %s\n", n_ports ? "unexpected arguments" : "no --port given");
        testpmd_help(stderr);
        return 2;
    }
    if (cfg.tx_size > PKT_DEFAULT_DATA_ROOM && cfg.mode == FWD_TXONLY) {
        fprintf(stderr, "testpmd: --tx-size above %u needs chained buffers (not generated)\n",
                PKT_DEFAULT_DATA_ROOM);
        return 2;
    }

    struct pkt_pool *pool;
    int rc = pkt_pool_create("testpmd", cfg.pool_size, 0, 0, &pool);
    if (rc < 0) {
        fprintf(stderr, "testpmd: packet pool of %u buffers: %s\n", cfg.pool_size,
                kk_strerror(rc));
        return 1;
    }
    struct pkt_port *ports[MAX_PORTS];
    for (unsigned i = 0; i < n_ports; i++) {
        char err[256];
        rc = pkt_port_open(specs[i], (uint16_t)i, pool, &ports[i], err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "testpmd: port %u: %s\n", i, err);
            while (i-- > 0)
                pkt_port_close(ports[i]);
            pkt_pool_destroy(pool);
            return 1;
        }
        /* Every stream frees or sends a burst before its next (do_stream). */
        pkt_port_set_rx_borrow(ports[i], !cfg.copy_rx);
    }
    build_frame(tx_template, cfg.tx_size, 0);

    /* Streams: rx of each port into its partner. */
    unsigned n_workers = n_cpus ? n_cpus : 1;
    struct worker *workers = calloc(n_workers, sizeof(*workers));
    for (unsigned i = 0; i < n_workers; i++) {
        workers[i].index = i;
        workers[i].cpu = n_cpus ? cpus[i] : -1;
    }
    /* A stream per receive queue of every port, into the same-numbered
     * queue of its partner; streams spread over the workers in turn. */
    /* A transmit queue shared by two streams (a partner with fewer queues)
     * stays with one worker. */
    unsigned n_streams = 0;
    int tx_owner[MAX_PORTS][PKT_PORT_MAX_QUEUES];
    memset(tx_owner, 0xff, sizeof(tx_owner));
    for (unsigned i = 0; i < n_ports; i++) {
        unsigned partner = (i % 2 == 0) ? (i + 1 < n_ports ? i + 1 : i) : i - 1;
        for (uint16_t q = 0; q < ports[i]->n_rxq; q++) {
            uint16_t txq = (uint16_t)(q % ports[partner]->n_txq);
            int *owner = &tx_owner[partner][txq];
            if (*owner < 0)
                *owner = (int)(n_streams++ % n_workers);
            struct worker *w = &workers[*owner];
            w->streams[w->n_streams++] = (struct stream){
                    .rx = ports[i], .tx = ports[partner], .rxq = q, .txq = txq};
        }
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    stop = 0;
    struct snapshot start, prev, now;
    take(ports, n_ports, &start);
    prev = start;
    for (unsigned i = 0; i < n_workers; i++)
        pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
    uint64_t end_us = cfg.duration > 0 ? start.us + (uint64_t)(cfg.duration * 1e6) : UINT64_MAX;
    uint64_t next_stats = cfg.stats_period > 0 ? start.us + (uint64_t)(cfg.stats_period * 1e6)
                                               : UINT64_MAX;
    while (!stop) {
        uint64_t t = kk_now_us();
        if (t >= end_us)
            break;
        if (t >= next_stats) {
            take(ports, n_ports, &now);
            if (!cfg.json)
                print_period(ports, n_ports, &prev, &now);
            prev = now;
            next_stats += (uint64_t)(cfg.stats_period * 1e6);
        }
        uint64_t wake = KK_MIN(end_us, next_stats);
        uint64_t wait = wake > t ? wake - t : 0;
        usleep((useconds_t)KK_MIN(wait, (uint64_t)100000));
    }
    stop = 1;
    for (unsigned i = 0; i < n_workers; i++)
        pthread_join(workers[i].thread, NULL);
    take(ports, n_ports, &now);
    print_final(ports, n_ports, &start, &now, workers, n_workers);
    for (unsigned i = 0; i < n_ports; i++)
        pkt_port_close(ports[i]);
    free(workers);
    pkt_pool_destroy(pool);
    return 0;
}
