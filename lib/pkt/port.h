/* SPDX-License-Identifier: Apache-2.0 */
/*
 * port.h — poll-mode ports: one interface over vhost-user devices, taps,
 * AF_PACKET sockets, pcap files and in-process rings.
 *
 * A port is opened from a spec string "TYPE:key=value,key=value":
 *
 *   ring:name=a[,peer=b][,size=1024]     in-process; frames sent on port a
 *                                        are received on the port named b
 *   tap:name=tap0[,vnet_hdr=1]           a Linux tap device (created if absent)
 *   afpacket:iface=veth0[,blocks=N]      AF_PACKET with TPACKET_V3 rings
 *   pcap:rx=in.pcap[,tx=out.pcap][,loop=0]  read frames from / write to captures
 *
 * Bursts: rx_burst() fills up to @n buffers and returns how many; tx_burst()
 * takes ownership of the buffers it returns as sent (the caller still owns
 * the rest, to retry or free). Each queue is driven by one thread at a time;
 * different queues may run on different threads. Nothing blocks.
 *
 * Adaptive polling: pkt_port_rx_fd() gives a file descriptor that becomes
 * readable when a queue has input (or -1: poll it), and pkt_port_rx_arm()
 * switches the port's wake-ups on before a worker sleeps, so an idle port
 * costs nothing.
 *
 * Statistics are per queue, updated by the queue's thread, read by anyone
 * (relaxed 64-bit loads).
 */
#ifndef KK_PKT_PORT_H
#define KK_PKT_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

#define PKT_PORT_MAX_QUEUES 16
#define PKT_PORT_NAME_MAX 64

/* Capabilities (pkt_port.caps). */
#define PKT_PORT_CAP_CSUM_OFFLOAD 0x1u /* carries PKT_OL_CSUM_PARTIAL frames */
#define PKT_PORT_CAP_GSO          0x2u /* carries PKT_OL_GSO frames */
#define PKT_PORT_CAP_MULTI_SEG    0x4u /* accepts chained buffers on tx */
#define PKT_PORT_CAP_RX_FD        0x8u /* rx queues have wake-up descriptors */

struct pkt_queue_stats {
    uint64_t packets;
    uint64_t bytes;
    uint64_t drops;   /* rx: frames lost (no buffer, ring full); tx: refused */
    uint64_t errors;  /* malformed frames, I/O errors */
};

struct pkt_port;

/* A parsed spec: "type" and up to 16 key=value pairs. */
struct pkt_spec {
    char type[32];
    unsigned n;
    struct {
        char key[32];
        char value[224];
    } kv[16];
};

struct pkt_port_ops {
    const char *type;
    const char *help;  /* one line: keys it takes */
    /* Set up from the spec; fill err (one line) on failure. */
    int (*open)(struct pkt_port *p, const struct pkt_spec *spec, char *err, size_t errlen);
    uint16_t (*rx_burst)(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs, uint16_t n);
    uint16_t (*tx_burst)(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs, uint16_t n);
    bool (*link_up)(struct pkt_port *p);
    int (*rx_fd)(struct pkt_port *p, uint16_t q);  /* may be NULL: always -1 */
    /* Before sleeping on rx_fd (enable) and after (disable): returns true if
     * input is already waiting. May be NULL (the descriptor alone says). */
    bool (*rx_arm)(struct pkt_port *p, uint16_t q, bool enable);
    void (*close)(struct pkt_port *p);
    /* Borrowing ports (see pkt_port_set_rx_borrow()); may be NULL. */
    void (*rx_done)(struct pkt_port *p, uint16_t q);
};

struct pkt_port {
    const struct pkt_port_ops *ops;
    char name[PKT_PORT_NAME_MAX];
    uint16_t id;              /* stamped into received buffers' port field */
    uint16_t n_rxq, n_txq;
    uint32_t caps;
    struct pkt_pool *pool;    /* rx buffers come from here */
    bool rx_borrow;           /* pkt_port_set_rx_borrow() */
    void *priv;
    struct pkt_queue_stats rx[PKT_PORT_MAX_QUEUES];
    struct pkt_queue_stats tx[PKT_PORT_MAX_QUEUES];
};

/*
 * Parse "type:k=v,k=v". Values may not contain ',' (use '\,'). Returns 0,
 * or -EINVAL with err filled.
 */
int pkt_spec_parse(const char *text, struct pkt_spec *spec, char *err, size_t errlen);
/* The value of @key, or NULL. */
const char *pkt_spec_get(const struct pkt_spec *spec, const char *key);
/* Unsigned value of @key in [min, max], default @def when absent. Returns 0
 * or -EINVAL with err filled. */
int pkt_spec_get_uint(const struct pkt_spec *spec, const char *key, uint64_t def, uint64_t min,
                      uint64_t max, uint64_t *out, char *err, size_t errlen);
/* Every key must be one of @allowed (NULL-terminated); else -EINVAL. */
int pkt_spec_check_keys(const struct pkt_spec *spec, const char *const *allowed, char *err,
                        size_t errlen);

/*
 * Open a port. @id is stamped into received packets. Returns 0 and *out,
 * or a negative errno with @err saying why in one line (unknown type, bad
 * key or value, device missing, permission denied, ...).
 */
int pkt_port_open(const char *spec, uint16_t id, struct pkt_pool *pool, struct pkt_port **out,
                  char *err, size_t errlen);
void pkt_port_close(struct pkt_port *p);

/* The port types compiled in, for --help. */
void pkt_port_list_types(void (*fn)(void *arg, const char *type, const char *help), void *arg);

static inline uint16_t pkt_port_rx_burst(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs,
                                         uint16_t n)
{
    return p->ops->rx_burst(p, q, bufs, n);
}

static inline uint16_t pkt_port_tx_burst(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs,
                                         uint16_t n)
{
    return p->ops->tx_burst(p, q, bufs, n);
}

/*
 * Receive without copying frame payloads (ports that can: vhost-user).
 * Large frames then arrive as a first segment holding their headers, in
 * the packet's own buffer, and a borrowed continuation segment
 * (PKT_F_BORROWED) pointing into the peer's memory, e.g. a guest's
 * transmit buffer, which stays lent to us until pkt_port_rx_done(). The
 * caller promises, per queue:
 *   - to call pkt_port_rx_done(p, q) after every rx_burst(), on the same
 *     thread, once it is done with the burst: packets sent, freed or
 *     copied. A queue cannot be stopped (a guest's memory unmapped) before.
 *     rx_done() copies the data of any borrowed segment still held into
 *     its own buffer, so packets kept longer stay valid, only slower;
 *   - not to hand packets with borrowed segments to another thread before
 *     that (pkt_make_writable() first);
 *   - to write into packet data only through pkt_make_writable() /
 *     pkt_unborrow() for anything past the first segment.
 * Set before the queues are polled. Ports without borrowing ignore it.
 */
void pkt_port_set_rx_borrow(struct pkt_port *p, bool on);
bool pkt_port_can_borrow(const struct pkt_port *p);

static inline void pkt_port_rx_done(struct pkt_port *p, uint16_t q)
{
    if (p->rx_borrow)
        p->ops->rx_done(p, q);
}

bool pkt_port_link_up(struct pkt_port *p);
int pkt_port_rx_fd(struct pkt_port *p, uint16_t q);
/*
 * A worker about to sleep on the queue's rx descriptor arms it first
 * (enable = true; if this returns true, input is already waiting: poll
 * instead of sleeping) and disarms it after waking (enable = false). Ports
 * whose descriptor needs no arming return false. Called by the queue's
 * thread.
 */
bool pkt_port_rx_arm(struct pkt_port *p, uint16_t q, bool enable);

/* Sum of the port's per-queue counters. */
void pkt_port_stats(const struct pkt_port *p, struct pkt_queue_stats *rx,
                    struct pkt_queue_stats *tx);

/* For port implementations: count a received / sent packet. */
static inline void pkt_stats_add(struct pkt_queue_stats *s, uint64_t packets, uint64_t bytes)
{
    __atomic_store_n(&s->packets, s->packets + packets, __ATOMIC_RELAXED);
    __atomic_store_n(&s->bytes, s->bytes + bytes, __ATOMIC_RELAXED);
}
static inline void pkt_stats_drop(struct pkt_queue_stats *s, uint64_t n)
{
    __atomic_store_n(&s->drops, s->drops + n, __ATOMIC_RELAXED);
}
static inline void pkt_stats_error(struct pkt_queue_stats *s, uint64_t n)
{
    __atomic_store_n(&s->errors, s->errors + n, __ATOMIC_RELAXED);
}

#endif /* KK_PKT_PORT_H */
