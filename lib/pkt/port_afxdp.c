/* SPDX-License-Identifier: Apache-2.0 */
/*
 * afxdp: one queue of an interface through an AF_XDP socket.
 * "afxdp:iface=veth0[,queue=0][,frames=4096][,mode=copy|zerocopy][,xdp=skb|native]"
 *
 * The port brings its own XDP program (six BPF instructions, no object
 * file): frames arriving on the queue are redirected into the socket's
 * XSKMAP slot, everything else goes on to the kernel (XDP_PASS). The UMEM
 * (frames * 2 KiB of anonymous memory) is split between the fill ring
 * (receive) and a stack of free frames for sending; frames are copied
 * between UMEM and packet buffers. The rings are the kernel's shared
 * producer/consumer rings: acquire loads of the other side's index,
 * release stores of ours. The program is detached when the port closes.
 * Copy mode (the default) works on any interface, veth included.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kk_err.h"
#include "kk_log.h"
#include "port_internal.h"

KK_LOG_COMPONENT_DECLARE(pkt_log);

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define FRAME_SIZE 2048u

struct xring {
    uint32_t *producer;
    uint32_t *consumer;
    uint32_t *flags;
    void *descs;
    uint32_t mask;
    uint32_t size;
    void *map;
    size_t map_len;
};

struct afxdp_port {
    char ifname[IFNAMSIZ];
    int ifindex;
    uint32_t queue;
    uint32_t xdp_flags;
    int fd;
    int map_fd, prog_fd;
    bool attached;
    uint8_t *umem;
    size_t umem_len;
    uint32_t frames;
    struct xring rx, tx, fill, comp;
    uint64_t *free_frames;           /* for sending */
    uint32_t n_free;
};

static int ring_map(int fd, struct xring *r, uint32_t size, const struct xdp_ring_offset *off,
                    off_t pgoff, size_t desc_size)
{
    r->size = size;
    r->mask = size - 1;
    r->map_len = off->desc + (size_t)size * desc_size;
    r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                  pgoff);
    if (r->map == MAP_FAILED) {
        r->map = NULL;
        return kk_neg_errno();
    }
    r->producer = (uint32_t *)(void *)((uint8_t *)r->map + off->producer);
    r->consumer = (uint32_t *)(void *)((uint8_t *)r->map + off->consumer);
    r->flags = (uint32_t *)(void *)((uint8_t *)r->map + off->flags);
    r->descs = (uint8_t *)r->map + off->desc;
    return 0;
}

/* The XDP program: redirect to our socket if the queue has one, else pass.
 *   r2 = ctx->rx_queue_index; r1 = &xsks_map; r3 = XDP_PASS;
 *   return bpf_redirect_map(r1, r2, r3); */
static int load_program(struct afxdp_port *a, char *err, size_t errlen)
{
    a->map_fd = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "kvmkit_xsks", 4, 4, 64, NULL);
    if (a->map_fd < 0) {
        int rc = -errno;
        snprintf(err, errlen, "afxdp: %s: cannot create the XSKMAP: %s%s", a->ifname,
                 kk_strerror(rc), rc == -EPERM ? " (needs CAP_BPF and CAP_NET_ADMIN)" : "");
        return rc;
    }
    struct bpf_insn insns[] = {
        {.code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1,
         .off = (int16_t)offsetof(struct xdp_md, rx_queue_index)},
        {.code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_1,
         .src_reg = BPF_PSEUDO_MAP_FD, .imm = a->map_fd},
        {.code = 0, .imm = 0}, /* second half of the 64-bit immediate */
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .imm = XDP_PASS},
        {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect_map},
        {.code = BPF_JMP | BPF_EXIT},
    };
    char log[1024] = "";
    LIBBPF_OPTS(bpf_prog_load_opts, o, .log_buf = log, .log_size = sizeof(log),
                .log_level = 1);
    a->prog_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "kvmkit_xsk", "GPL", insns,
                               sizeof(insns) / sizeof(insns[0]), &o);
    if (a->prog_fd < 0) {
        int rc = -errno;
        snprintf(err, errlen, "afxdp: %s: the XDP program does not load: %s %.200s", a->ifname,
                 kk_strerror(rc), log);
        return rc;
    }
    /* Never replace a program someone else attached. */
    int rc = bpf_xdp_attach(a->ifindex, a->prog_fd, a->xdp_flags | XDP_FLAGS_UPDATE_IF_NOEXIST,
                            NULL);
    if (rc < 0) {
        snprintf(err, errlen, "afxdp: %s: cannot attach the XDP program: %s%s", a->ifname,
                 kk_strerror(rc),
                 rc == -EBUSY || rc == -EEXIST ? " (another XDP program is attached)" : "");
        return rc;
    }
    a->attached = true;
    return 0;
}

static void afxdp_free(struct afxdp_port *a)
{
    if (a->attached)
        bpf_xdp_detach(a->ifindex, a->xdp_flags, NULL);
    struct xring *rings[] = {&a->rx, &a->tx, &a->fill, &a->comp};
    for (unsigned i = 0; i < 4; i++) {
        if (rings[i]->map)
            munmap(rings[i]->map, rings[i]->map_len);
    }
    if (a->fd >= 0)
        close(a->fd);
    if (a->prog_fd >= 0)
        close(a->prog_fd);
    if (a->map_fd >= 0)
        close(a->map_fd);
    if (a->umem)
        munmap(a->umem, a->umem_len);
    free(a->free_frames);
    free(a);
}

static int afxdp_open(struct pkt_port *p, const struct pkt_spec *spec, char *err,
                      size_t errlen)
{
    static const char *const keys[] = {"iface", "queue", "frames", "mode", "xdp", NULL};
    uint64_t queue, frames;
    int rc = pkt_spec_check_keys(spec, keys, err, errlen);
    if (rc == 0)
        rc = pkt_spec_get_uint(spec, "queue", 0, 0, 63, &queue, err, errlen);
    if (rc == 0)
        rc = pkt_spec_get_uint(spec, "frames", 4096, 64, 1u << 18, &frames, err, errlen);
    if (rc < 0)
        return rc;
    const char *iface = pkt_spec_get(spec, "iface");
    const char *mode = pkt_spec_get(spec, "mode");
    const char *xdp = pkt_spec_get(spec, "xdp");
    if (!iface || !iface[0] || strlen(iface) >= IFNAMSIZ) {
        snprintf(err, errlen, "afxdp: iface=IFNAME is required");
        return -EINVAL;
    }
    if ((frames & (frames - 1)) || (mode && strcmp(mode, "copy") && strcmp(mode, "zerocopy")) ||
        (xdp && strcmp(xdp, "skb") && strcmp(xdp, "native"))) {
        snprintf(err, errlen, "afxdp: frames must be a power of two; mode=copy|zerocopy; "
                              "xdp=skb|native");
        return -EINVAL;
    }
    struct afxdp_port *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->fd = a->map_fd = a->prog_fd = -1;
    snprintf(a->ifname, sizeof(a->ifname), "%s", iface);
    a->queue = (uint32_t)queue;
    a->frames = (uint32_t)frames;
    a->xdp_flags = (xdp && strcmp(xdp, "native") == 0) ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
    a->ifindex = (int)if_nametoindex(iface);
    if (a->ifindex == 0) {
        rc = kk_neg_errno();
        snprintf(err, errlen, "afxdp: %s: no such interface", iface);
        goto fail;
    }
    a->umem_len = (size_t)a->frames * FRAME_SIZE;
    a->umem = mmap(NULL, a->umem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                   0);
    a->free_frames = calloc(a->frames, sizeof(uint64_t));
    if (a->umem == MAP_FAILED || !a->free_frames) {
        a->umem = NULL;
        rc = -ENOMEM;
        goto fail;
    }
    a->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (a->fd < 0) {
        rc = kk_neg_errno();
        snprintf(err, errlen, "afxdp: socket: %s%s", kk_strerror(rc),
                 rc == -EAFNOSUPPORT ? " (kernel without AF_XDP)" : "");
        goto fail;
    }
    struct xdp_umem_reg reg = {.addr = (uint64_t)(uintptr_t)a->umem, .len = a->umem_len,
                               .chunk_size = FRAME_SIZE, .headroom = 0};
    uint32_t half = a->frames / 2;
    struct xdp_mmap_offsets off;
    socklen_t optlen = sizeof(off);
    if (setsockopt(a->fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg)) < 0 ||
        setsockopt(a->fd, SOL_XDP, XDP_UMEM_FILL_RING, &half, sizeof(half)) < 0 ||
        setsockopt(a->fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &half, sizeof(half)) < 0 ||
        setsockopt(a->fd, SOL_XDP, XDP_RX_RING, &half, sizeof(half)) < 0 ||
        setsockopt(a->fd, SOL_XDP, XDP_TX_RING, &half, sizeof(half)) < 0 ||
        getsockopt(a->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen) < 0) {
        rc = kk_neg_errno();
        snprintf(err, errlen, "afxdp: %s: setting up the UMEM and rings: %s", iface,
                 kk_strerror(rc));
        goto fail;
    }
    if ((rc = ring_map(a->fd, &a->rx, half, &off.rx, XDP_PGOFF_RX_RING,
                       sizeof(struct xdp_desc))) < 0 ||
        (rc = ring_map(a->fd, &a->tx, half, &off.tx, XDP_PGOFF_TX_RING,
                       sizeof(struct xdp_desc))) < 0 ||
        (rc = ring_map(a->fd, &a->fill, half, &off.fr, XDP_UMEM_PGOFF_FILL_RING,
                       sizeof(uint64_t))) < 0 ||
        (rc = ring_map(a->fd, &a->comp, half, &off.cr, XDP_UMEM_PGOFF_COMPLETION_RING,
                       sizeof(uint64_t))) < 0) {
        snprintf(err, errlen, "afxdp: %s: mapping the rings: %s", iface, kk_strerror(rc));
        goto fail;
    }
    /* First half of the frames to the kernel for receiving, the rest for
     * sending. */
    uint64_t *fill = a->fill.descs;
    for (uint32_t i = 0; i < half; i++)
        fill[i] = (uint64_t)i * FRAME_SIZE;
    __atomic_store_n(a->fill.producer, half, __ATOMIC_RELEASE);
    for (uint32_t i = half; i < a->frames; i++)
        a->free_frames[a->n_free++] = (uint64_t)i * FRAME_SIZE;

    struct sockaddr_xdp sxdp = {.sxdp_family = AF_XDP, .sxdp_ifindex = (uint32_t)a->ifindex,
                                .sxdp_queue_id = a->queue,
                                .sxdp_flags = (uint16_t)((mode && strcmp(mode, "zerocopy") == 0
                                                              ? XDP_ZEROCOPY
                                                              : XDP_COPY) |
                                                         XDP_USE_NEED_WAKEUP)};
    if (bind(a->fd, (struct sockaddr *)&sxdp, sizeof(sxdp)) < 0) {
        rc = kk_neg_errno();
        snprintf(err, errlen, "afxdp: %s queue %u: bind: %s", iface, a->queue, kk_strerror(rc));
        goto fail;
    }
    if ((rc = load_program(a, err, errlen)) < 0)
        goto fail;
    uint32_t key = a->queue;
    if (bpf_map_update_elem(a->map_fd, &key, &a->fd, 0) < 0) {
        rc = -errno;
        snprintf(err, errlen, "afxdp: %s: registering the socket: %s", iface, kk_strerror(rc));
        goto fail;
    }
    p->caps = PKT_PORT_CAP_MULTI_SEG | PKT_PORT_CAP_RX_FD;
    p->priv = a;
    return 0;
fail:
    afxdp_free(a);
    return rc;
}

static uint16_t afxdp_rx(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs, uint16_t n)
{
    struct afxdp_port *a = p->priv;
    uint32_t cons = *a->rx.consumer;
    uint32_t avail = __atomic_load_n(a->rx.producer, __ATOMIC_ACQUIRE) - cons;
    uint32_t take = KK_MIN(avail, (uint32_t)n);
    uint16_t got = 0;
    uint64_t bytes = 0;
    const struct xdp_desc *descs = a->rx.descs;
    uint64_t *fill = a->fill.descs;
    uint32_t fprod = *a->fill.producer;
    uint32_t done = 0;
    for (; done < take; done++) {
        struct xdp_desc d = descs[(cons + done) & a->rx.mask];
        /* The kernel's descriptor: still checked against our UMEM. */
        if (d.addr >= a->umem_len || d.len > FRAME_SIZE || d.addr + d.len > a->umem_len ||
            d.len < 14) {
            pkt_stats_error(&p->rx[q], 1);
        } else {
            struct pkt_buf *b = pkt_from_bytes(p->pool, a->umem + d.addr, d.len);
            if (!b)
                break; /* out of buffers: leave the rest in the ring */
            b->port = p->id;
            bytes += d.len;
            bufs[got++] = b;
        }
        /* The frame goes straight back to the fill ring. */
        fill[fprod++ & a->fill.mask] = d.addr - d.addr % FRAME_SIZE;
    }
    if (done) {
        __atomic_store_n(a->fill.producer, fprod, __ATOMIC_RELEASE);
        __atomic_store_n(a->rx.consumer, cons + done, __ATOMIC_RELEASE);
    }
    if (__atomic_load_n(a->fill.flags, __ATOMIC_RELAXED) & XDP_RING_NEED_WAKEUP)
        recvfrom(a->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
    if (got)
        pkt_stats_add(&p->rx[q], got, bytes);
    return got;
}

static uint16_t afxdp_tx(struct pkt_port *p, uint16_t q, struct pkt_buf **bufs, uint16_t n)
{
    struct afxdp_port *a = p->priv;
    /* Frames the kernel has sent come back through the completion ring. */
    uint32_t ccons = *a->comp.consumer;
    uint32_t ndone = __atomic_load_n(a->comp.producer, __ATOMIC_ACQUIRE) - ccons;
    const uint64_t *comp = a->comp.descs;
    for (uint32_t i = 0; i < ndone && a->n_free < a->frames; i++) {
        uint64_t addr = comp[(ccons + i) & a->comp.mask];
        if (addr < a->umem_len)
            a->free_frames[a->n_free++] = addr - addr % FRAME_SIZE;
    }
    __atomic_store_n(a->comp.consumer, ccons + ndone, __ATOMIC_RELEASE);

    uint32_t prod = *a->tx.producer;
    uint32_t room = a->tx.size - (prod - __atomic_load_n(a->tx.consumer, __ATOMIC_ACQUIRE));
    struct xdp_desc *descs = a->tx.descs;
    uint16_t sent = 0, queued = 0;
    uint64_t bytes = 0;
    for (; sent < n; sent++) {
        if (queued == room || a->n_free == 0)
            break; /* the caller keeps the rest */
        /* The socket takes complete frames: finish offloads here. */
        struct pkt_buf *segs[PKT_GSO_MAX_SEGS];
        int ns = pkt_offload_for_caps(bufs[sent], false, false, p->pool, segs,
                                      PKT_GSO_MAX_SEGS);
        if (ns < 0) {
            pkt_stats_error(&p->tx[q], 1);
            continue;
        }
        for (int k = 0; k < ns; k++) {
            struct pkt_buf *b = segs[k];
            if (b->pkt_len > FRAME_SIZE || b->pkt_len < 14) {
                pkt_stats_error(&p->tx[q], 1);
            } else if (queued == room || a->n_free == 0) {
                pkt_stats_drop(&p->tx[q], 1); /* ring filled inside a segmented frame */
            } else {
                uint64_t addr = a->free_frames[--a->n_free];
                pkt_read(b, 0, a->umem + addr, b->pkt_len);
                descs[prod++ & a->tx.mask] = (struct xdp_desc){.addr = addr, .len = b->pkt_len};
                bytes += b->pkt_len;
                queued++;
            }
            pkt_free(b);
        }
    }
    if (queued) {
        __atomic_store_n(a->tx.producer, prod, __ATOMIC_RELEASE);
        /* Copy mode always needs the kick; with need_wakeup, only when asked. */
        if (__atomic_load_n(a->tx.flags, __ATOMIC_RELAXED) & XDP_RING_NEED_WAKEUP ||
            !(a->xdp_flags & XDP_FLAGS_DRV_MODE))
            sendto(a->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
        pkt_stats_add(&p->tx[q], queued, bytes);
    }
    return sent;
}

static int afxdp_rx_fd(struct pkt_port *p, uint16_t q)
{
    return ((struct afxdp_port *)p->priv)->fd;
}

static void afxdp_close(struct pkt_port *p)
{
    afxdp_free(p->priv);
}

const struct pkt_port_ops pkt_port_afxdp_ops = {
    .type = "afxdp",
    .help = "iface=IFNAME[,queue=N][,frames=N][,mode=copy|zerocopy][,xdp=skb|native]: AF_XDP",
    .open = afxdp_open,
    .rx_burst = afxdp_rx,
    .tx_burst = afxdp_tx,
    .rx_fd = afxdp_rx_fd,
    .close = afxdp_close,
};
