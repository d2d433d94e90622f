/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Packets per second through one vhost-user queue pair, driven by kvmkit's
 * frontend (lib/virtio/vhu_frontend) against any backend: kvmkit-responder
 * or DPDK testpmd's vhost PMD. The frontend keeps the TX ring full of
 * frames of --size bytes and, with --rx, the RX ring full of buffers; it
 * counts frames the backend consumed (TX completions) and delivered (RX
 * completions) over --seconds, busy-polling, kicking only when the
 * backend asks.
 *
 * Output: one JSON line {"size":..,"seconds":..,"tx_pps":..,"rx_pps":..}
 */
#include <errno.h>
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

static void pin(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    unsigned size = 64;
    double seconds = 3;
    bool rx = false, packed = false;
    int cpu = -1;
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'}, {"size", required_argument, NULL, 'z'},
        {"seconds", required_argument, NULL, 't'}, {"rx", no_argument, NULL, 'r'},
        {"packed", no_argument, NULL, 'p'},        {"cpu", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "s:z:t:rpc:", opts, NULL)) != -1) {
        switch (c) {
        case 's': path = optarg; break;
        case 'z': size = (unsigned)atoi(optarg); break;
        case 't': seconds = atof(optarg); break;
        case 'r': rx = true; break;
        case 'p': packed = true; break;
        case 'c': cpu = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: vhost_pps --socket PATH [--size N] [--seconds S] [--rx] "
                            "[--packed] [--cpu N]\n");
            return 2;
        }
    }
    if (!path || size < 60 || size > RXBUF - HDR) {
        fprintf(stderr, "vhost_pps: --socket is required; --size 60..%d\n", RXBUF - HDR);
        return 2;
    }
    pin(cpu);
    struct vhu_front_opts o = {.path = path, .num_queues = 2, .queue_size = QSIZE,
                               .packed = packed, .mem_size = 16u << 20,
                               .device_features = VIRTIO_BIT(5) /* NET_F_MAC */};
    struct vhu_front *f;
    int rc = -1;
    for (int t = 0; t < 200 && rc < 0; t++) {
        rc = vhu_front_connect(&o, &f);
        if (rc < 0)
            usleep(25000);
    }
    if (rc < 0) {
        fprintf(stderr, "vhost_pps: cannot set up %s: %s\n", path, kk_strerror(rc));
        return 1;
    }
    struct vqd *txq = vhu_front_queue(f, 1), *rxq = vhu_front_queue(f, 0);
    /* A polling frontend, like a DPDK PMD: no interrupts wanted. */
    vqd_enable_interrupts(txq, false);
    vqd_enable_interrupts(rxq, false);

    /* One frame per TX slot, built once: destination = source swapped by
     * reflecting backends, so the RX side sees valid frames. */
    uint8_t *tx_bufs = vhu_front_alloc(f, (size_t)QSIZE * (HDR + size), 64);
    uint8_t *rx_bufs = vhu_front_alloc(f, (size_t)QSIZE * RXBUF, 64);
    if (!tx_bufs || !rx_bufs)
        return 1;
    for (unsigned i = 0; i < QSIZE; i++) {
        uint8_t *b = tx_bufs + (size_t)i * (HDR + size);
        memset(b, 0, HDR + size);
        static const uint8_t dst[6] = {2, 0, 0, 0, 0, 1}, src[6] = {2, 0, 0, 0, 0, 2};
        memcpy(b + HDR, dst, 6);
        memcpy(b + HDR + 6, src, 6);
        b[HDR + 12] = 0x88; /* local experimental ethertype: never ARP or IP */
        b[HDR + 13] = 0xb5;
    }
    uint16_t tx_next = 0, rx_next = 0;
    unsigned tx_free = QSIZE, rx_free = QSIZE;
    uint64_t tx_done = 0, rx_done = 0;

    uint64_t start = kk_now_us(), end = start + (uint64_t)(seconds * 1e6);
    uint64_t now = start;
    /* The clock is read every 64 turns: a read per turn would cost the
     * frontend a third of its time. */
    for (unsigned turn = 1; now < end; turn++) {
        void *cookie;
        uint32_t len;
        while (vqd_get_used(txq, &cookie, &len) == 1) {
            tx_done++;
            tx_free++;
        }
        if (tx_free >= BATCH) {
            for (unsigned i = 0; i < BATCH; i++) {
                struct vqd_buf b = {vhu_front_gpa(f, tx_bufs + (size_t)tx_next * (HDR + size)),
                                    HDR + size, false};
                if (vqd_add(txq, &b, 1, NULL) < 0)
                    break;
                tx_next = (uint16_t)((tx_next + 1) % QSIZE);
                tx_free--;
            }
            vhu_front_kick(f, 1);
        }
        if (rx) {
            while (vqd_get_used(rxq, &cookie, &len) == 1) {
                rx_done++;
                rx_free++;
            }
            if (rx_free >= BATCH) {
                for (unsigned i = 0; i < BATCH; i++) {
                    struct vqd_buf b = {vhu_front_gpa(f, rx_bufs + (size_t)rx_next * RXBUF),
                                        RXBUF, true};
                    if (vqd_add(rxq, &b, 1, NULL) < 0)
                        break;
                    rx_next = (uint16_t)((rx_next + 1) % QSIZE);
                    rx_free--;
                }
                vhu_front_kick(f, 0);
            }
        }
        if (turn % 64 == 0)
            now = kk_now_us();
    }
    now = kk_now_us();
    double secs = (double)(now - start) / 1e6;
    printf("{\"size\": %u, \"seconds\": %.3f, \"tx_pps\": %.0f, \"rx_pps\": %.0f}\n", size, secs,
           (double)tx_done / secs, (double)rx_done / secs);
    vhu_front_close(f);
    return 0;
}
