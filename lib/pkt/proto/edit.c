/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Header rewrites with incremental checksum fix-up. Every function checks
 * all the bytes it will touch before it writes the first one.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "pkt_csum.h"
#include "pkt_edit.h"
#include "pkt_proto_internal.h"

static bool is_vlan_tpid(uint16_t type)
{
    return type == PKT_ETH_TYPE_VLAN || type == PKT_ETH_TYPE_QINQ;
}

int pkt_vlan_push(uint8_t *buf, size_t *headroom, size_t *len, uint16_t tpid, uint16_t tci)
{
    if (*len < PKT_ETH_HDR_LEN)
        return -EINVAL;
    if (*headroom < PKT_VLAN_HDR_LEN)
        return -ENOSPC;
    uint8_t *frame = buf + *headroom;
    memmove(frame - PKT_VLAN_HDR_LEN, frame, 2 * PKT_ETH_ADDR_LEN);
    pkt_put16(frame + 8, tpid);
    pkt_put16(frame + 10, tci);
    *headroom -= PKT_VLAN_HDR_LEN;
    *len += PKT_VLAN_HDR_LEN;
    return 0;
}

int pkt_vlan_pop(uint8_t *buf, size_t *headroom, size_t *len, uint16_t *tpid, uint16_t *tci)
{
    uint8_t *frame = buf + *headroom;
    if (*len < PKT_ETH_HDR_LEN + PKT_VLAN_HDR_LEN || !is_vlan_tpid(pkt_get16(frame + 12)))
        return -ENOENT;
    if (tpid)
        *tpid = pkt_get16(frame + 12);
    if (tci)
        *tci = pkt_get16(frame + 14);
    memmove(frame + PKT_VLAN_HDR_LEN, frame, 2 * PKT_ETH_ADDR_LEN);
    *headroom += PKT_VLAN_HDR_LEN;
    *len -= PKT_VLAN_HDR_LEN;
    return 0;
}

int pkt_vlan_outer_tci(const uint8_t *frame, size_t len, uint16_t *tci)
{
    if (len < PKT_ETH_HDR_LEN + PKT_VLAN_HDR_LEN || !is_vlan_tpid(pkt_get16(frame + 12)))
        return -ENOENT;
    *tci = pkt_get16(frame + 14);
    return 0;
}

int pkt_vlan_set_tci(uint8_t *frame, size_t len, uint16_t tci, uint16_t mask)
{
    uint16_t old;
    int rc = pkt_vlan_outer_tci(frame, len, &old);
    if (rc < 0)
        return rc;
    pkt_put16(frame + 14, (uint16_t)((old & ~mask) | (tci & mask)));
    return 0;
}

int pkt_set_eth_addrs(uint8_t *frame, size_t len, const uint8_t *src, const uint8_t *dst)
{
    if (len < PKT_ETH_HDR_LEN)
        return -EINVAL;
    if (dst)
        memcpy(frame, dst, PKT_ETH_ADDR_LEN);
    if (src)
        memcpy(frame + PKT_ETH_ADDR_LEN, src, PKT_ETH_ADDR_LEN);
    return 0;
}

/* The L3 header the layout names, if it is @want and inside the frame. */
static int l3_header(uint8_t *frame, size_t len, const struct pkt_layout *lay,
                     enum pkt_layer want, uint8_t **out)
{
    if (lay->l3 != want)
        return -ENOENT;
    uint32_t need = want == PKT_LAYER_IPV4 ? PKT_IPV4_HDR_LEN : PKT_IPV6_HDR_LEN;
    if (lay->l3_ofs == PKT_OFS_NONE || (uint64_t)lay->l3_ofs + need > len)
        return -EINVAL;
    *out = frame + lay->l3_ofs;
    return 0;
}

/*
 * The L4 checksum field a pseudo-header change must fix: TCP, UDP, and
 * ICMPv6 when @icmpv6. NULL when there is none; -EINVAL (in *rc) when the
 * layout says there is one but it lies outside the frame.
 */
static uint8_t *pseudo_csum_field(uint8_t *frame, size_t len, const struct pkt_layout *lay,
                                  bool icmpv6, bool *udp, int *rc)
{
    uint32_t at;
    *rc = 0;
    *udp = false;
    switch (lay->l4) {
    case PKT_LAYER_TCP:
        at = 16;
        break;
    case PKT_LAYER_UDP:
        at = 6;
        *udp = true;
        break;
    case PKT_LAYER_ICMPV6:
        if (!icmpv6)
            return NULL;
        at = 2;
        break;
    default:
        return NULL;
    }
    if (lay->l4_ofs == PKT_OFS_NONE || (uint64_t)lay->l4_ofs + at + 2 > len) {
        *rc = -EINVAL;
        return NULL;
    }
    return frame + lay->l4_ofs + at;
}

/*
 * Store the L4 checksum after a pseudo-header change. @full is the field
 * updated as a checksum, @partial as a sum (offload pending, see
 * pkt_edit.h); @old is the field before.
 */
static void store_l4_csum(uint8_t *field, const struct pkt_layout *lay, bool udp, uint16_t old,
                          uint16_t full, uint16_t partial)
{
    if (lay->l4_csum_partial)
        pkt_put16(field, partial);
    else
        pkt_put16(field, udp ? pkt_udp_csum_fixup(old, full) : full);
}

static int set_ipv4_addr(uint8_t *frame, size_t len, const struct pkt_layout *lay,
                         uint32_t at, uint32_t addr)
{
    uint8_t *ip;
    int rc = l3_header(frame, len, lay, PKT_LAYER_IPV4, &ip);
    if (rc < 0)
        return rc;
    bool udp;
    uint8_t *l4c = pseudo_csum_field(frame, len, lay, false, &udp, &rc);
    if (rc < 0)
        return rc;
    uint32_t old = pkt_get32(ip + at);
    pkt_put32(ip + at, addr);
    pkt_put16(ip + 10, pkt_csum_update32(pkt_get16(ip + 10), old, addr));
    if (l4c) {
        uint16_t c = pkt_get16(l4c);
        store_l4_csum(l4c, lay, udp, c, pkt_csum_update32(c, old, addr),
                      pkt_csum_sum_update32(c, old, addr));
    }
    return 0;
}

int pkt_set_ipv4_src(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint32_t addr)
{
    return set_ipv4_addr(frame, len, lay, 12, addr);
}

int pkt_set_ipv4_dst(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint32_t addr)
{
    return set_ipv4_addr(frame, len, lay, 16, addr);
}

/* Walks what pkt_parse() already checked, still bounded by @len. */
bool pkt__ipv6_routing_pending(const uint8_t *frame, size_t len, const struct pkt_layout *lay)
{
    const uint8_t *ip = frame + lay->l3_ofs;
    uint8_t next = ip[6];
    uint64_t cur = (uint64_t)lay->l3_ofs + PKT_IPV6_HDR_LEN;
    uint64_t stop = lay->l4_ofs == PKT_OFS_NONE ? len : (lay->l4_ofs < len ? lay->l4_ofs : len);
    for (int i = 0; i <= PKT_IPV6_MAX_EXT && cur + 8 <= stop; i++) {
        const uint8_t *h = frame + cur;
        uint64_t hlen;
        switch (next) {
        case PKT_IPPROTO_ROUTING:
            if (h[3] != 0)
                return true;
            hlen = ((uint64_t)h[1] + 1) * 8;
            break;
        case PKT_IPPROTO_HOPOPTS:
        case PKT_IPPROTO_DSTOPTS:
            hlen = ((uint64_t)h[1] + 1) * 8;
            break;
        case PKT_IPPROTO_AH:
            hlen = ((uint64_t)h[1] + 2) * 4;
            break;
        case PKT_IPPROTO_FRAGMENT:
            hlen = 8;
            break;
        default:
            return false;
        }
        next = h[0];
        cur += hlen;
    }
    return false;
}

static int set_ipv6_addr(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint32_t at,
                         const uint8_t addr[16])
{
    uint8_t *ip;
    int rc = l3_header(frame, len, lay, PKT_LAYER_IPV6, &ip);
    if (rc < 0)
        return rc;
    bool udp;
    uint8_t *l4c = pseudo_csum_field(frame, len, lay, true, &udp, &rc);
    if (rc < 0)
        return rc;
    if (at == 24 && l4c && pkt__ipv6_routing_pending(frame, len, lay))
        l4c = NULL;
    if (l4c) {
        uint16_t c = pkt_get16(l4c);
        store_l4_csum(l4c, lay, udp, c, pkt_csum_update_bytes(c, ip + at, addr, 16),
                      (uint16_t)~pkt_csum_update_bytes((uint16_t)~c, ip + at, addr, 16));
    }
    memmove(ip + at, addr, 16);
    return 0;
}

int pkt_set_ipv6_src(uint8_t *frame, size_t len, const struct pkt_layout *lay,
                     const uint8_t addr[16])
{
    return set_ipv6_addr(frame, len, lay, 8, addr);
}

int pkt_set_ipv6_dst(uint8_t *frame, size_t len, const struct pkt_layout *lay,
                     const uint8_t addr[16])
{
    return set_ipv6_addr(frame, len, lay, 24, addr);
}

int pkt_set_ip_tos(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint8_t tos,
                   uint8_t mask)
{
    uint8_t *ip;
    if (lay->l3 == PKT_LAYER_IPV6) {
        int rc = l3_header(frame, len, lay, PKT_LAYER_IPV6, &ip);
        if (rc < 0)
            return rc;
        uint32_t vtf = pkt_get32(ip);
        uint32_t m = (uint32_t)mask << 20;
        pkt_put32(ip, (vtf & ~m) | (((uint32_t)tos << 20) & m));
        return 0;
    }
    int rc = l3_header(frame, len, lay, PKT_LAYER_IPV4, &ip);
    if (rc < 0)
        return rc;
    uint16_t old = pkt_get16(ip);
    ip[1] = (uint8_t)((ip[1] & ~mask) | (tos & mask));
    pkt_put16(ip + 10, pkt_csum_update16(pkt_get16(ip + 10), old, pkt_get16(ip)));
    return 0;
}

int pkt_set_ip_ttl(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint8_t ttl)
{
    uint8_t *ip;
    if (lay->l3 == PKT_LAYER_IPV6) {
        int rc = l3_header(frame, len, lay, PKT_LAYER_IPV6, &ip);
        if (rc < 0)
            return rc;
        ip[7] = ttl;
        return 0;
    }
    int rc = l3_header(frame, len, lay, PKT_LAYER_IPV4, &ip);
    if (rc < 0)
        return rc;
    uint16_t old = pkt_get16(ip + 8);
    ip[8] = ttl;
    pkt_put16(ip + 10, pkt_csum_update16(pkt_get16(ip + 10), old, pkt_get16(ip + 8)));
    return 0;
}

static int set_port(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint32_t at,
                    uint16_t port)
{
    uint32_t hdr;
    switch (lay->l4) {
    case PKT_LAYER_TCP:
        hdr = PKT_TCP_HDR_LEN;
        break;
    case PKT_LAYER_UDP:
        hdr = PKT_UDP_HDR_LEN;
        break;
    case PKT_LAYER_SCTP:
        hdr = PKT_SCTP_HDR_LEN;
        break;
    default:
        return -ENOENT;
    }
    if (lay->l4_ofs == PKT_OFS_NONE || (uint64_t)lay->l4_ofs + hdr > len)
        return -EINVAL;
    uint8_t *l4 = frame + lay->l4_ofs;
    uint16_t old = pkt_get16(l4 + at);

    if (lay->l4_csum_partial) {
        /* Offload sums the header, ports included, later. */
        pkt_put16(l4 + at, port);
        return 0;
    }
    if (lay->l4 == PKT_LAYER_SCTP) {
        /* The CRC covers the whole SCTP packet: recompute it, keeping
         * whatever error the old one had (as OVS does). */
        if (lay->nw_frag != PKT_FRAG_NONE)
            return -ENOTSUP;
        if (lay->ip_end == PKT_OFS_NONE || lay->ip_end > len || lay->ip_end < lay->l4_ofs + hdr)
            return -EINVAL;
        size_t sctp_len = lay->ip_end - lay->l4_ofs;
        uint32_t stored = pkt_sctp_csum_load(l4);
        uint32_t before = pkt_sctp_csum(l4, sctp_len);
        pkt_put16(l4 + at, port);
        pkt_sctp_csum_store(l4, stored ^ before ^ pkt_sctp_csum(l4, sctp_len));
        return 0;
    }
    pkt_put16(l4 + at, port);
    if (lay->l4 == PKT_LAYER_TCP) {
        pkt_put16(l4 + 16, pkt_csum_update16(pkt_get16(l4 + 16), old, port));
    } else {
        uint16_t c = pkt_get16(l4 + 6);
        pkt_put16(l4 + 6, pkt_udp_csum_fixup(c, pkt_csum_update16(c, old, port)));
    }
    return 0;
}

int pkt_set_tp_src(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint16_t port)
{
    return set_port(frame, len, lay, 0, port);
}

int pkt_set_tp_dst(uint8_t *frame, size_t len, const struct pkt_layout *lay, uint16_t port)
{
    return set_port(frame, len, lay, 2, port);
}
