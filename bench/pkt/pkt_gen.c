/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Traffic source and sink for forwarder benchmarks, on one thread: two
 * vhost-user frontends (kvmkit's lib/virtio frontend, like DPDK's
 * virtio-user) connected to a forwarder's two vhost-user ports. Frames of
 * --size bytes go into port 1's TX ring (kept full); port 2's RX ring is
 * kept full of buffers; frames arriving there are counted. The forwarder
 * (kvmkit testpmd or dpdk-testpmd, io mode) moves them from 1 to 2.
 *
 * Output: one JSON line {"size":..,"seconds":..,"sent_pps":..,"sink_pps":..}
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

static int connect_port(const char *path, bool packed, struct vhu_front **f)
{
    struct vhu_front_opts o = {.path = path, .num_queues = 2, .queue_size = QSIZE,
                               .packed = packed, .mem_size = 16u << 20};
    int rc = -1;
    for (int t = 0; t < 400 && rc < 0; t++) {
        rc = vhu_front_connect(&o, f);
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
    double seconds = 3;
    bool packed = false;
    int cpu = -1;
    static const struct option opts[] = {
        {"in", required_argument, NULL, 'i'},       {"out", required_argument, NULL, 'o'},
        {"size", required_argument, NULL, 'z'},     {"seconds", required_argument, NULL, 't'},
        {"packed", no_argument, NULL, 'p'},         {"cpu", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "i:o:z:t:pc:", opts, NULL)) != -1) {
        switch (c) {
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'z': size = (unsigned)atoi(optarg); break;
        case 't': seconds = atof(optarg); break;
        case 'p': packed = true; break;
        case 'c': cpu = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: pkt_gen --in SOCK --out SOCK [--size N] [--seconds S] "
                            "[--packed] [--cpu N]\n");
            return 2;
        }
    }
    if (!in || !out || size < 60 || size > RXBUF - HDR) {
        fprintf(stderr, "pkt_gen: --in and --out are required; --size 60..%d\n", RXBUF - HDR);
        return 2;
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof(set), &set);
    }
    struct vhu_front *fi, *fo;
    if (connect_port(in, packed, &fi) < 0 || connect_port(out, packed, &fo) < 0)
        return 1;
    struct vqd *txq = vhu_front_queue(fi, 1), *rxq = vhu_front_queue(fo, 0);
    vqd_enable_interrupts(txq, false);
    vqd_enable_interrupts(rxq, false);
    uint8_t *tx_bufs = vhu_front_alloc(fi, (size_t)QSIZE * (HDR + size), 64);
    uint8_t *rx_bufs = vhu_front_alloc(fo, (size_t)QSIZE * RXBUF, 64);
    if (!tx_bufs || !rx_bufs)
        return 1;
    for (unsigned i = 0; i < QSIZE; i++) {
        uint8_t *b = tx_bufs + (size_t)i * (HDR + size);
        memset(b, 0, HDR + size);
        static const uint8_t dst[6] = {2, 0, 0, 0, 0, 2}, src[6] = {2, 0, 0, 0, 0, 1};
        memcpy(b + HDR, dst, 6);
        memcpy(b + HDR + 6, src, 6);
        b[HDR + 12] = 0x88; /* local experimental ethertype */
        b[HDR + 13] = 0xb5;
    }
    uint16_t tx_next = 0, rx_next = 0;
    unsigned tx_free = QSIZE, rx_free = QSIZE;
    uint64_t sent = 0, sunk = 0;
    uint64_t start = kk_now_us(), end = start + (uint64_t)(seconds * 1e6), now = start;
    for (unsigned turn = 1; now < end; turn++) {
        void *cookie;
        uint32_t len;
        while (vqd_get_used(txq, &cookie, &len) == 1) {
            sent++;
            tx_free++;
        }
        if (tx_free >= BATCH) {
            for (unsigned i = 0; i < BATCH; i++) {
                struct vqd_buf b = {vhu_front_gpa(fi, tx_bufs + (size_t)tx_next * (HDR + size)),
                                    HDR + size, false};
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
        if (turn % 64 == 0)
            now = kk_now_us();
    }
    now = kk_now_us();
    double secs = (double)(now - start) / 1e6;
    printf("{\"size\": %u, \"seconds\": %.3f, \"sent_pps\": %.0f, \"sink_pps\": %.0f}\n", size,
           secs, (double)sent / secs, (double)sunk / secs);
    vhu_front_close(fi);
    vhu_front_close(fo);
    return 0;
}
