/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ring: in-process ports over lock-free rings, for tests and for chaining
 * programs in one process. Rings are named and shared: "ring:name=a,peer=b"
 * receives from ring a and sends into ring b, so "ring:name=b,peer=a" is
 * its other end. Without a peer a port sends to itself.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_ring.h"
#include "port_internal.h"

struct named_ring {
    char name[64];
    struct kk_ring *ring;
    unsigned refs;
    struct named_ring *next;
};

static pthread_mutex_t rings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct named_ring *rings;

static struct named_ring *ring_get(const char *name, uint32_t size, int *rc)
{
    pthread_mutex_lock(&rings_lock);
    struct named_ring *r = rings;
    while (r && strcmp(r->name, name) != 0)
        r = r->next;
    if (r) {
        r->refs++;
    } else if ((r = calloc(1, sizeof(*r))) != NULL) {
        snprintf(r->name, sizeof(r->name), "%s", name);
        /* Any number of ports may send into a ring (MP); one receives. */
        *rc = kk_ring_create(size, KK_RING_F_SC_DEQ, &r->ring);
        if (*rc < 0) {
            free(r);
            r = NULL;
        } else {
            r->refs = 1;
            r->next = rings;
            rings = r;
        }
    } else {
        *rc = -ENOMEM;
    }
    pthread_mutex_unlock(&rings_lock);
    return r;
}

static void ring_put(struct named_ring *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&rings_lock);
    if (--r->refs == 0) {
        for (struct named_ring **p = &rings; *p; p = &(*p)->next) {
            if (*p == r) {
                *p = r->next;
                break;
            }
        }
        void *obj;
        while (kk_ring_dequeue(r->ring, &obj) == 0)
            pkt_free(obj);
        kk_ring_destroy(r->ring);
        free(r);
    }
    pthread_mutex_unlock(&rings_lock);
}

struct ring_port {
    struct named_ring *rx, *tx;
};

static int ring_open(struct pkt_port *p, const struct pkt_spec *spec, char *err, size_t errlen)
{
    static const char *const keys[] = {"name", "peer", "size", NULL};
    int rc = pkt_spec_check_keys(spec, keys, err, errlen);
    uint64_t size;
    if (rc == 0)
        rc = pkt_spec_get_uint(spec, "size", 1024, 2, 1u << 20, &size, err, errlen);
    if (rc < 0)
        return rc;
    const char *name = pkt_spec_get(spec, "name");
    const char *peer = pkt_spec_get(spec, "peer");
    if (!name || !name[0] || strlen(name) >= 64 || (peer && (!peer[0] || strlen(peer) >= 64))) {
        snprintf(err, errlen, "ring: name=NAME (1 to 63 characters) is required; peer likewise");
        return -EINVAL;
    }
    struct ring_port *rp = calloc(1, sizeof(*rp));
    if (!rp)
        return -ENOMEM;
    rc = 0;
    rp->rx = ring_get(name, (uint32_t)size, &rc);
    if (rp->rx)
        rp->tx = ring_get(peer ? peer : name, (uint32_t)size, &rc);
    if (!rp->rx || !rp->tx) {
        ring_put(rp->rx);
        free(rp);
        snprintf(err, errlen, "ring: cannot create ring of %llu entries",
                 (unsigned long long)size);
        return rc < 0 ? rc : -ENOMEM;
    }
    p->priv = rp;
    p->caps = PKT_PORT_CAP_MULTI_SEG | PKT_PORT_CAP_CSUM_OFFLOAD | PKT_PORT_CAP_GSO;
    return 0;
}

static uint16_t ring_rx(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs, uint16_t n)
{
    struct ring_port *rp = p->priv;
    uint16_t got = (uint16_t)kk_ring_sc_dequeue_burst(rp->rx->ring, (void **)bufs, n);
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < got; i++) {
        bufs[i]->port = p->id;
        bytes += bufs[i]->pkt_len;
    }
    if (got)
        pkt_stats_add(&p->rx[q], got, bytes);
    return got;
}

static uint16_t ring_tx(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs, uint16_t n)
{
    struct ring_port *rp = p->priv;
    uint16_t sent = (uint16_t)kk_ring_mp_enqueue_burst(rp->tx->ring, (void *const *)bufs, n);
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < sent; i++)
        bytes += bufs[i]->pkt_len;
    if (sent)
        pkt_stats_add(&p->tx[q], sent, bytes);
    if (sent < n)
        pkt_stats_drop(&p->tx[q], (uint64_t)(n - sent));
    return sent;
}

static void ring_close(struct pkt_port *p)
{
    struct ring_port *rp = p->priv;
    ring_put(rp->rx);
    ring_put(rp->tx);
    free(rp);
}

const struct pkt_port_ops pkt_port_ring_ops = {
    .type = "ring",
    .help = "name=NAME[,peer=NAME][,size=N]: in-process; sends into the peer's ring",
    .open = ring_open,
    .rx_burst = ring_rx,
    .tx_burst = ring_tx,
    .close = ring_close,
};
