/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pcap: frames from a capture file as input, frames sent written to a
 * capture file (libpcap; Ethernet link type). "pcap:rx=in.pcap,tx=out.pcap"
 * either or both; loop=1 replays the input forever. A malformed or
 * truncated capture ends the input with an error logged and counted.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "kk_log.h"
#include "port_internal.h"

KK_LOG_COMPONENT_DECLARE(pkt_log);

struct pcap_port {
    pcap_t *rx;
    pcap_t *tx_handle;
    pcap_dumper_t *tx;
    char rx_path[224];
    bool loop;
    bool rx_done;
};

static int open_rx(struct pcap_port *c, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    c->rx = pcap_open_offline(c->rx_path, perr);
    if (!c->rx) {
        snprintf(err, errlen, "pcap: %s: %s", c->rx_path, perr);
        return -EINVAL;
    }
    if (pcap_datalink(c->rx) != DLT_EN10MB) {
        snprintf(err, errlen, "pcap: %s: link type %s, only Ethernet captures are supported",
                 c->rx_path, pcap_datalink_val_to_name(pcap_datalink(c->rx)));
        pcap_close(c->rx);
        c->rx = NULL;
        return -EINVAL;
    }
    return 0;
}

static void pcap_port_close(struct pkt_port *p)
{
    struct pcap_port *c = p->priv;
    if (c->rx)
        pcap_close(c->rx);
    if (c->tx) {
        pcap_dump_flush(c->tx);
        pcap_dump_close(c->tx);
    }
    if (c->tx_handle)
        pcap_close(c->tx_handle);
    free(c);
}

static int pcap_port_open(struct pkt_port *p, const struct pkt_spec *spec, char *err,
                          size_t errlen)
{
    static const char *const keys[] = {"rx", "tx", "loop", NULL};
    uint64_t loop;
    int rc = pkt_spec_check_keys(spec, keys, err, errlen);
    if (rc == 0)
        rc = pkt_spec_get_uint(spec, "loop", 0, 0, 1, &loop, err, errlen);
    if (rc < 0)
        return rc;
    const char *rx = pkt_spec_get(spec, "rx"), *tx = pkt_spec_get(spec, "tx");
    if ((!rx || !rx[0]) && (!tx || !tx[0])) {
        snprintf(err, errlen, "pcap: rx=FILE, tx=FILE or both are required");
        return -EINVAL;
    }
    struct pcap_port *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    p->priv = c;
    c->loop = loop;
    if (rx && rx[0]) {
        snprintf(c->rx_path, sizeof(c->rx_path), "%s", rx);
        if ((rc = open_rx(c, err, errlen)) < 0)
            goto fail;
    } else {
        c->rx_done = true;
    }
    if (tx && tx[0]) {
        c->tx_handle = pcap_open_dead(DLT_EN10MB, 65535);
        c->tx = c->tx_handle ? pcap_dump_open(c->tx_handle, tx) : NULL;
        if (!c->tx) {
            snprintf(err, errlen, "pcap: %s: %s", tx,
                     c->tx_handle ? pcap_geterr(c->tx_handle) : "out of memory");
            rc = -EIO;
            goto fail;
        }
    }
    p->caps = PKT_PORT_CAP_MULTI_SEG;
    return 0;
fail:
    pcap_port_close(p);
    return rc;
}

static uint16_t pcap_rx(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs, uint16_t n)
{
    struct pcap_port *c = p->priv;
    uint16_t got = 0;
    uint64_t bytes = 0;
    while (got < n && !c->rx_done) {
        struct pcap_pkthdr *h;
        const u_char *data;
        int r = pcap_next_ex(c->rx, &h, &data);
        if (r == 1) {
            if (h->caplen < 14 || h->caplen > h->len) {
                pkt_stats_error(&p->rx[q], 1);
                continue;
            }
            struct pkt_buf *b = pkt_from_bytes(p->pool, data, h->caplen);
            if (!b) {
                pkt_stats_drop(&p->rx[q], 1);
                break;
            }
            b->port = p->id;
            bytes += h->caplen;
            bufs[got++] = b;
            continue;
        }
        if (r == PCAP_ERROR) {
            KK_LOGE(pkt_log, "pcap %s: %s", c->rx_path, pcap_geterr(c->rx));
            pkt_stats_error(&p->rx[q], 1);
        }
        /* End of the capture (or an error): replay, or stop. */
        pcap_close(c->rx);
        c->rx = NULL;
        char err[256];
        if (!c->loop || r == PCAP_ERROR || open_rx(c, err, sizeof(err)) < 0) {
            c->rx_done = true;
            KK_LOGI(pkt_log, "pcap %s: end of input", c->rx_path);
        }
    }
    if (got)
        pkt_stats_add(&p->rx[q], got, bytes);
    return got;
}

static uint16_t pcap_tx(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs, uint16_t n)
{
    struct pcap_port *c = p->priv;
    uint64_t bytes = 0;
    uint16_t ok = 0;
    static __thread uint8_t flat[65536];
    for (uint16_t i = 0; i < n; i++) {
        struct pkt_buf *b = bufs[i];
        if (!c->tx || b->pkt_len > sizeof(flat)) {
            pkt_stats_drop(&p->tx[q], 1);
            pkt_free(b);
            continue;
        }
        struct pcap_pkthdr h = {.caplen = b->pkt_len, .len = b->pkt_len};
        gettimeofday(&h.ts, NULL);
        const uint8_t *data = pkt_peek(b, 0, b->pkt_len, flat);
        pcap_dump((u_char *)c->tx, &h, data);
        bytes += b->pkt_len;
        ok++;
        pkt_free(b);
    }
    if (ok)
        pkt_stats_add(&p->tx[q], ok, bytes);
    return n;
}

static bool pcap_link_up(struct pkt_port *p)
{
    struct pcap_port *c = p->priv;
    return !c->rx_done || c->tx;
}

const struct pkt_port_ops pkt_port_pcap_ops = {
    .type = "pcap",
    .help = "rx=FILE[,tx=FILE][,loop=0|1]: read frames from / write frames to captures",
    .open = pcap_port_open,
    .rx_burst = pcap_rx,
    .tx_burst = pcap_tx,
    .link_up = pcap_link_up,
    .close = pcap_port_close,
};
