/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Traffic source and sink for forwarder benchmarks, on one thread: two
 * vhost-user frontends (kvmkit's lib/virtio frontend, like DPDK's
 * virtio-user) connected to a forwarder's two vhost-user ports. Frames of
 * --size bytes go into port 1's TX ring (kept full); port 2's RX ring is
 * kept full of buffers; frames arriving there are counted. The forwarder
 * (kvmkit testpmd or dpdk-testpmd, io mode) moves them from 1 to 2.
 *
 * Frames: by default one fixed frame (02:00:00:00:00:01 -> :02, ethertype
 * 0x88b5, zero payload). With --flows N (N >= 1, for switches): valid
 * Ethernet/IPv4/UDP frames (IPv4 and UDP checksums correct) of N distinct
 * 5-tuples; frame k sent carries flow k mod N:
 *   flow i: 10.0.0.0 + 1 + i (IPv4 source) -> 10.255.0.1, UDP 10000 + i % 50000
 *           -> 5001, protocol 17, same MACs as above.
 * The IPv4 source alone tells flows apart (N up to 2^24 - 2), so OpenFlow
 * rules can select flows by nw_src (bench/switch/switch.py). In this mode
 * pkt_gen also sends one frame from port 2 (source MAC :02, the sink's)
 * at start and every 500 ms, so a learning switch (OVS's NORMAL action)
 * forwards to port 2 instead of flooding every port.
 *
 * --warmup S runs traffic S seconds (from when both ports are up) before
 * the --seconds that are counted, and prints {"counting": true} when
 * counting starts (a benchmark clears the switch's counters then).
 *
 * --huge backs each port's shared memory ("guest memory") with 2 MiB huge
 * pages, as VMs with vhost-user ports usually are; it needs 16 free.
 *
 * Output: one JSON line {"size":..,"flows":..,"seconds":..,"sent_pps":..,
 * "sink_pps":..}: frames the forwarder took from port 1 and frames that
 * arrived at port 2, per second, over the counted seconds.
 */
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kk_err.h"
#include "kk_reactor.h"
#include "vhu_frontend.h"

#define QSIZE 256
#define BATCH 32
#define HDR 12
#define RXBUF 2048
#define ETH 14
#define IP4 20
#define UDP 8

/* Flow @i's IPv4 source address and UDP source port (host order). */
static uint32_t flow_addr(uint32_t i) { return 0x0a000001u + i; }
static uint16_t flow_port(uint32_t i) { return (uint16_t)(10000 + i % 50000); }

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

/* Ones' complement sum of @len bytes (big-endian 16-bit words) into @sum. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/*
 * The parts of the IPv4 and UDP checksums that do not depend on the flow:
 * every header word but the source address (and, for UDP, the source port),
 * the payload included. A frame's checksums are these plus its flow's words.
 */
struct csum_base {
    uint32_t ip, udp;
};

/* Write the Ethernet/IPv4/UDP headers of a @size-byte frame at @f (zeroed,
 * payload zero) and return its flow-independent checksum sums. */
static struct csum_base build_udp(uint8_t *f, unsigned size)
{
    uint8_t *ip = f + ETH, *udp = ip + IP4;
    f[12] = 0x08;
    f[13] = 0x00;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(size - ETH));
    ip[6] = 0x40; /* don't fragment */
    ip[8] = 64;
    ip[9] = 17;
    put32(ip + 16, 0x0aff0001u);
    put16(udp + 2, 5001);
    put16(udp + 4, (uint16_t)(size - ETH - IP4));
    struct csum_base b;
    b.ip = sum16(ip, IP4, 0); /* source and checksum fields are zero here */
    /* pseudo-header (destination, protocol, UDP length) + header + payload */
    b.udp = sum16(ip + 16, 4, 17u + (size - ETH - IP4));
    b.udp = sum16(udp, size - ETH - IP4, b.udp);
    return b;
}

/* Make the frame at @f (built by build_udp()) carry flow @i. */
static void set_flow(uint8_t *f, const struct csum_base *b, uint32_t i)
{
    uint8_t *ip = f + ETH, *udp = ip + IP4;
    uint32_t a = flow_addr(i);
    uint16_t port = flow_port(i);
    uint32_t s = (a >> 16) + (a & 0xffff);
    put32(ip + 12, a);
    put16(ip + 10, (uint16_t)~fold(b->ip + s));
    put16(udp, port);
    uint16_t c = (uint16_t)~fold(b->udp + s + port);
    put16(udp + 6, c ? c : 0xffff);
}

static int connect_port(const char *path, bool packed, bool huge, struct vhu_front **f)
{
    struct vhu_front_opts o = {.path = path, .num_queues = 2, .queue_size = QSIZE,
                               .packed = packed, .mem_size = 16u << 20, .hugepages = huge};
    int rc = -1;
    for (int t = 0; t < 400 && rc < 0; t++) {
        rc = vhu_front_connect(&o, f);
        if (rc == -ENOMEM && huge)
            break; /* too few free huge pages: waiting will not help */
        if (rc < 0)
            usleep(25000);
    }
    if (rc < 0)
        fprintf(stderr, "pkt_gen: cannot set up %s: %s\n", path, kk_strerror(rc));
    return rc;
}

int main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    unsigned size = 64;
    double seconds = 3, warmup = 0;
    bool packed = false, huge = false;
    int cpu = -1;
    long flows = 0;
    static const struct option opts[] = {
        {"in", required_argument, NULL, 'i'},       {"out", required_argument, NULL, 'o'},
        {"size", required_argument, NULL, 'z'},     {"seconds", required_argument, NULL, 't'},
        {"packed", no_argument, NULL, 'p'},         {"cpu", required_argument, NULL, 'c'},
        {"flows", required_argument, NULL, 'f'},    {"warmup", required_argument, NULL, 'w'},
        {"huge", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "i:o:z:t:pc:f:w:H", opts, NULL)) != -1) {
        switch (c) {
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'z': size = (unsigned)atoi(optarg); break;
        case 't': seconds = atof(optarg); break;
        case 'p': packed = true; break;
        case 'c': cpu = atoi(optarg); break;
        case 'f': flows = atol(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'H': huge = true; break;
        default:
            fprintf(stderr, "usage: pkt_gen --in SOCK --out SOCK [--size N] [--seconds S] "
                            "[--packed] [--cpu N] [--flows N] [--warmup S] [--huge]\n");
            return 2;
        }
    }
    if (!in || !out || size < 60 || size > RXBUF - HDR) {
        fprintf(stderr, "pkt_gen: --in and --out are required; --size 60..%d\n", RXBUF - HDR);
        return 2;
    }
    if (flows < 0 || flows > (1l << 24) - 2) {
        fprintf(stderr, "pkt_gen: --flows 1..%ld, or 0 for the fixed non-IP frame\n",
                (1l << 24) - 2);
        return 2;
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof(set), &set);
    }
    struct vhu_front *fi, *fo;
    if (connect_port(in, packed, huge, &fi) < 0 || connect_port(out, packed, huge, &fo) < 0)
        return 1;
    struct vqd *txq = vhu_front_queue(fi, 1), *rxq = vhu_front_queue(fo, 0);
    struct vqd *learnq = vhu_front_queue(fo, 1);
    vqd_enable_interrupts(txq, false);
    vqd_enable_interrupts(rxq, false);
    vqd_enable_interrupts(learnq, false);
    uint8_t *tx_bufs = vhu_front_alloc(fi, (size_t)QSIZE * (HDR + size), 64);
    uint8_t *rx_bufs = vhu_front_alloc(fo, (size_t)QSIZE * RXBUF, 64);
    uint8_t *learn_buf = vhu_front_alloc(fo, HDR + 60, 64);
    if (!tx_bufs || !rx_bufs || !learn_buf)
        return 1;
    static const uint8_t mac_sink[6] = {2, 0, 0, 0, 0, 2}, mac_source[6] = {2, 0, 0, 0, 0, 1};
    struct csum_base csum = {0, 0};
    for (unsigned i = 0; i < QSIZE; i++) {
        uint8_t *b = tx_bufs + (size_t)i * (HDR + size);
        memset(b, 0, HDR + size);
        memcpy(b + HDR, mac_sink, 6);
        memcpy(b + HDR + 6, mac_source, 6);
        if (flows) {
            csum = build_udp(b + HDR, size);
            set_flow(b + HDR, &csum, 0);
        } else {
            b[HDR + 12] = 0x88; /* local experimental ethertype */
            b[HDR + 13] = 0xb5;
        }
    }
    memset(learn_buf, 0, HDR + 60);
    memcpy(learn_buf + HDR, mac_source, 6);
    memcpy(learn_buf + HDR + 6, mac_sink, 6);
    learn_buf[HDR + 12] = 0x88;
    learn_buf[HDR + 13] = 0xb5;
    uint32_t next_flow = 0;
    bool learn_busy = false;
    uint64_t learn_at = 0;
    uint16_t tx_next = 0, rx_next = 0;
    unsigned tx_free = QSIZE, rx_free = QSIZE;
    uint64_t sent = 0, sunk = 0;
    /* Traffic runs --warmup seconds before the --seconds that are counted. */
    uint64_t start = kk_now_us(), now = start;
    uint64_t counting = start + (uint64_t)(warmup * 1e6);
    uint64_t end = counting + (uint64_t)(seconds * 1e6);
    bool warming = warmup > 0;
    for (unsigned turn = 1; now < end; turn++) {
        void *cookie;
        uint32_t len;
        while (vqd_get_used(txq, &cookie, &len) == 1) {
            sent++;
            tx_free++;
        }
        if (tx_free >= BATCH) {
            for (unsigned i = 0; i < BATCH; i++) {
                uint8_t *frame = tx_bufs + (size_t)tx_next * (HDR + size);
                if (flows > 1) {
                    set_flow(frame + HDR, &csum, next_flow);
                    if (++next_flow == flows)
                        next_flow = 0;
                }
                struct vqd_buf b = {vhu_front_gpa(fi, frame), HDR + size, false};
                if (vqd_add(txq, &b, 1, NULL) < 0)
                    break;
                tx_next = (uint16_t)((tx_next + 1) % QSIZE);
                tx_free--;
            }
            vhu_front_kick(fi, 1);
        }
        while (vqd_get_used(rxq, &cookie, &len) == 1) {
            sunk++;
            rx_free++;
        }
        if (rx_free >= BATCH) {
            for (unsigned i = 0; i < BATCH; i++) {
                struct vqd_buf b = {vhu_front_gpa(fo, rx_bufs + (size_t)rx_next * RXBUF), RXBUF,
                                    true};
                if (vqd_add(rxq, &b, 1, NULL) < 0)
                    break;
                rx_next = (uint16_t)((rx_next + 1) % QSIZE);
                rx_free--;
            }
            vhu_front_kick(fo, 0);
        }
        if (turn % 64 == 0) {
            now = kk_now_us();
            if (warming && now >= counting) {
                warming = false;
                start = now;
                sent = sunk = 0;
                printf("{\"counting\": true}\n");
                fflush(stdout);
            }
            /* The sink's MAC, announced from port 2 for learning switches. */
            if (flows && learn_busy && vqd_get_used(learnq, &cookie, &len) == 1)
                learn_busy = false;
            if (flows && !learn_busy && now >= learn_at) {
                struct vqd_buf b = {vhu_front_gpa(fo, learn_buf), HDR + 60, false};
                if (vqd_add(learnq, &b, 1, NULL) == 0) {
                    vhu_front_kick(fo, 1);
                    learn_busy = true;
                }
                learn_at = now + 500000;
            }
        }
    }
    now = kk_now_us();
    double secs = (double)(now - start) / 1e6;
    printf("{\"size\": %u, \"flows\": %ld, \"seconds\": %.3f, \"sent_pps\": %.0f, "
           "\"sink_pps\": %.0f}\n",
           size, flows, secs, (double)sent / secs, (double)sunk / secs);
    vhu_front_close(fi);
    vhu_front_close(fo);
    return 0;
}
