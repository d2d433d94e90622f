/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flow extraction: one pass over a frame, each header checked against both
 * the captured length (truncation) and, inside IP, the datagram length its
 * header claims (malformation). See the design note in pkt_proto.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kk_common.h"
#include "pkt_proto.h"

struct parser {
    const uint8_t *data;
    uint32_t len; /* captured bytes, clamped below PKT_OFS_NONE */
    uint32_t frame_len; /* the frame's bytes (>= len), the same clamp */
    struct pkt_flow *flow;
    struct pkt_layout *lay;
};

static enum pkt_status stop(struct parser *p, enum pkt_status status, enum pkt_layer layer)
{
    p->lay->status = (uint8_t)status;
    p->lay->err_layer = (uint8_t)(status == PKT_OK ? PKT_LAYER_NONE : layer);
    return status;
}

/*
 * Is [ofs, ofs + n) inside both the datagram (which ends at @end by its
 * length field) and the buffer? Outside the datagram the packet is
 * malformed whatever was captured; inside it but past the buffer it is
 * truncated.
 */
/* The @end for headers outside any IP datagram: only the buffer bounds them. */
#define NO_DATAGRAM UINT32_MAX

static enum pkt_status need(const struct parser *p, uint32_t ofs, uint32_t n, uint32_t end)
{
    uint64_t last = (uint64_t)ofs + n;
    if (last > end)
        return PKT_MALFORMED;
    if (last > p->len)
        return PKT_TRUNCATED;
    return PKT_OK;
}

/* IPv4 options (RFC 791): EOL ends the list, NOP is one byte, every other
 * option has a length byte >= 2 that stays inside the header. */
static bool ipv4_options_ok(const uint8_t *opt, uint32_t len)
{
    uint32_t i = 0;
    while (i < len) {
        uint8_t type = opt[i];
        if (type == PKT_IPV4_OPT_EOL)
            return true;
        if (type == PKT_IPV4_OPT_NOP) {
            i++;
            continue;
        }
        if (len - i < 2 || opt[i + 1] < 2 || opt[i + 1] > len - i)
            return false;
        i += opt[i + 1];
    }
    return true;
}

/* IPv6 hop-by-hop / destination options (RFC 8200 4.2): Pad1 is one byte,
 * every other option is type, data length, data; all inside the header. */
static bool ipv6_options_ok(const uint8_t *opt, uint32_t len)
{
    uint32_t i = 0;
    while (i < len) {
        if (opt[i] == PKT_IPV6_OPT_PAD1) {
            i++;
            continue;
        }
        if (len - i < 2 || (uint32_t)opt[i + 1] + 2 > len - i)
            return false;
        i += (uint32_t)opt[i + 1] + 2;
    }
    return true;
}

/* Every header is complete: the only thing left to report is a datagram
 * shorter than its length field. */
static enum pkt_status finish_ip(struct parser *p, uint32_t end)
{
    if (end > p->frame_len)
        return stop(p, PKT_TRUNCATED, PKT_LAYER_PAYLOAD);
    return stop(p, PKT_OK, PKT_LAYER_NONE);
}

/* NS/NA body at @ofs (the ICMPv6 header) up to @end. */
static enum pkt_status parse_nd(struct parser *p, uint32_t ofs, uint32_t end, uint8_t type)
{
    enum pkt_status st = need(p, ofs, PKT_ND_MSG_LEN, end);
    if (st != PKT_OK)
        return stop(p, st, PKT_LAYER_ND);
    const uint8_t *d = p->data;
    uint8_t sll[PKT_ETH_ADDR_LEN] = {0}, tll[PKT_ETH_ADDR_LEN] = {0};
    bool have_sll = false, have_tll = false;
    uint32_t opt = ofs + PKT_ND_MSG_LEN;
    while (opt < end) {
        st = need(p, opt, 2, end);
        if (st != PKT_OK)
            return stop(p, st, PKT_LAYER_ND);
        uint32_t olen = (uint32_t)d[opt + 1] * 8;
        if (olen == 0)
            return stop(p, PKT_MALFORMED, PKT_LAYER_ND);
        st = need(p, opt, olen, end);
        if (st != PKT_OK)
            return stop(p, st, PKT_LAYER_ND);
        /* Ethernet link-layer address options are exactly 8 bytes; other
         * sizes belong to other link layers and are skipped, as are the
         * options that do not belong to this message (RFC 4861 4.3, 4.4). */
        if (olen == 8 && d[opt] == PKT_ND_OPT_SLL && type == PKT_ICMP6_ND_NS) {
            if (have_sll)
                return stop(p, PKT_MALFORMED, PKT_LAYER_ND);
            memcpy(sll, d + opt + 2, PKT_ETH_ADDR_LEN);
            have_sll = true;
        } else if (olen == 8 && d[opt] == PKT_ND_OPT_TLL && type == PKT_ICMP6_ND_NA) {
            if (have_tll)
                return stop(p, PKT_MALFORMED, PKT_LAYER_ND);
            memcpy(tll, d + opt + 2, PKT_ETH_ADDR_LEN);
            have_tll = true;
        }
        opt += olen;
    }
    memcpy(p->flow->nd_target, d + ofs + 8, 16);
    memcpy(p->flow->nd_sll, sll, sizeof(sll));
    memcpy(p->flow->nd_tll, tll, sizeof(tll));
    p->flow->layers |= PKT_HAS_ND;
    p->lay->payload_ofs = end;
    return finish_ip(p, end);
}

/* The transport header at @ofs of a datagram ending at @end. */
static enum pkt_status parse_l4(struct parser *p, uint8_t proto, uint32_t ofs, uint32_t end,
                                enum pkt_frag frag, bool ipv6)
{
    struct pkt_flow *f = p->flow;
    struct pkt_layout *lay = p->lay;
    const uint8_t *d = p->data;
    enum pkt_status st;

    f->nw_proto = proto;
    f->nw_frag = (uint8_t)frag;
    lay->nw_frag = (uint8_t)frag;
    lay->l4_proto = proto;
    lay->l4_ofs = ofs;
    lay->payload_ofs = ofs;
    if (frag == PKT_FRAG_LATER)
        return finish_ip(p, end);

    switch (proto) {
    case PKT_IPPROTO_TCP: {
        st = need(p, ofs, PKT_TCP_HDR_LEN, end);
        if (st != PKT_OK)
            return stop(p, st, PKT_LAYER_TCP);
        uint32_t hlen = (uint32_t)(d[ofs + 12] >> 4) * 4;
        if (hlen < PKT_TCP_HDR_LEN)
            return stop(p, PKT_MALFORMED, PKT_LAYER_TCP);
        st = need(p, ofs, hlen, end);
        if (st != PKT_OK)
            return stop(p, st, PKT_LAYER_TCP);
        f->tp_src = pkt_get16(d + ofs);
        f->tp_dst = pkt_get16(d + ofs + 2);
        f->tcp_flags = pkt_get16(d + ofs + 12) & PKT_TCP_FLAGS_MASK;
        f->layers |= PKT_HAS_TCP;
        lay->l4 = PKT_LAYER_TCP;
        lay->payload_ofs = ofs + hlen;
        break;
    }
    case PKT_IPPROTO_UDP: {
        st = need(p, ofs, PKT_UDP_HDR_LEN, end);
        if (st != PKT_OK)
            return stop(p, st, PKT_LAYER_UDP);
        uint32_t ulen = pkt_get16(d + ofs + 4);
        /* A first fragment carries the length of the whole datagram. */
        if (ulen < PKT_UDP_HDR_LEN || (frag == PKT_FRAG_NONE && ulen > end - ofs))
            return stop(p, PKT_MALFORMED, PKT_LAYER_UDP);
        f->tp_src = pkt_get16(d + ofs);
        f->tp_dst = pkt_get16(d + ofs + 2);
        f->layers |= PKT_HAS_UDP;
        lay->l4 = PKT_LAYER_UDP;
        lay->payload_ofs = ofs + PKT_UDP_HDR_LEN;
        break;
    }
    case PKT_IPPROTO_SCTP:
        st = need(p, ofs, PKT_SCTP_HDR_LEN, end);
        if (st != PKT_OK)
            return stop(p, st, PKT_LAYER_SCTP);
        f->tp_src = pkt_get16(d + ofs);
        f->tp_dst = pkt_get16(d + ofs + 2);
        f->layers |= PKT_HAS_SCTP;
        lay->l4 = PKT_LAYER_SCTP;
        lay->payload_ofs = ofs + PKT_SCTP_HDR_LEN;
        break;
    case PKT_IPPROTO_ICMP:
    case PKT_IPPROTO_ICMPV6: {
        /* ICMP inside IPv6 or ICMPv6 inside IPv4 is just an unknown protocol. */
        bool v6 = proto == PKT_IPPROTO_ICMPV6;
        if (v6 != ipv6)
            break;
        enum pkt_layer layer = v6 ? PKT_LAYER_ICMPV6 : PKT_LAYER_ICMP;
        st = need(p, ofs, PKT_ICMP_HDR_LEN, end);
        if (st != PKT_OK)
            return stop(p, st, layer);
        f->icmp_type = d[ofs];
        f->icmp_code = d[ofs + 1];
        f->layers |= v6 ? PKT_HAS_ICMPV6 : PKT_HAS_ICMP;
        lay->l4 = (uint8_t)layer;
        lay->payload_ofs = ofs + PKT_ICMP_HDR_LEN;
        /* ND must not be fragmented (RFC 6980); a fragment's options are
         * not all here, so only whole messages are looked into. */
        if (v6 && frag == PKT_FRAG_NONE && f->icmp_code == 0 &&
            (f->icmp_type == PKT_ICMP6_ND_NS || f->icmp_type == PKT_ICMP6_ND_NA))
            return parse_nd(p, ofs, end, f->icmp_type);
        break;
    }
    default:
        break;
    }
    return finish_ip(p, end);
}

static enum pkt_status parse_ipv4(struct parser *p, uint32_t ofs)
{
    const uint8_t *d = p->data;
    struct pkt_flow *f = p->flow;
    p->lay->l3 = PKT_LAYER_IPV4;
    enum pkt_status st = need(p, ofs, PKT_IPV4_HDR_LEN, NO_DATAGRAM);
    if (st != PKT_OK)
        return stop(p, st, PKT_LAYER_IPV4);
    if (d[ofs] >> 4 != 4)
        return stop(p, PKT_MALFORMED, PKT_LAYER_IPV4);
    uint32_t hlen = (uint32_t)(d[ofs] & 0xf) * 4;
    uint32_t tot_len = pkt_get16(d + ofs + 2);
    if (hlen < PKT_IPV4_HDR_LEN || tot_len < hlen)
        return stop(p, PKT_MALFORMED, PKT_LAYER_IPV4);
    st = need(p, ofs, hlen, NO_DATAGRAM);
    if (st != PKT_OK)
        return stop(p, st, PKT_LAYER_IPV4);
    if (!ipv4_options_ok(d + ofs + PKT_IPV4_HDR_LEN, hlen - PKT_IPV4_HDR_LEN))
        return stop(p, PKT_MALFORMED, PKT_LAYER_IPV4);
    uint16_t frag_off = pkt_get16(d + ofs + 6);
    uint32_t offset = (uint32_t)(frag_off & PKT_IPV4_OFFSET_MASK) * 8;
    /* Reassembly would go past the largest datagram (ping of death). */
    if (offset + (tot_len - hlen) > 65535)
        return stop(p, PKT_MALFORMED, PKT_LAYER_IPV4);
    enum pkt_frag frag = offset ? PKT_FRAG_LATER
                         : (frag_off & PKT_IPV4_MF) ? PKT_FRAG_FIRST
                                                    : PKT_FRAG_NONE;

    f->nw_tos = d[ofs + 1];
    f->nw_dscp = f->nw_tos >> 2;
    f->nw_ecn = f->nw_tos & 3;
    f->nw_ttl = d[ofs + 8];
    f->nw_src = pkt_get32(d + ofs + 12);
    f->nw_dst = pkt_get32(d + ofs + 16);
    f->layers |= PKT_HAS_IPV4;
    if (hlen > PKT_IPV4_HDR_LEN)
        f->layers |= PKT_HAS_IP_OPTIONS;
    p->lay->ip_end = ofs + tot_len;
    return parse_l4(p, d[ofs + 9], ofs + hlen, ofs + tot_len, frag, false);
}

static enum pkt_status parse_ipv6(struct parser *p, uint32_t ofs)
{
    const uint8_t *d = p->data;
    struct pkt_flow *f = p->flow;
    struct pkt_layout *lay = p->lay;
    lay->l3 = PKT_LAYER_IPV6;
    enum pkt_status st = need(p, ofs, PKT_IPV6_HDR_LEN, NO_DATAGRAM);
    if (st != PKT_OK)
        return stop(p, st, PKT_LAYER_IPV6);
    uint32_t vtf = pkt_get32(d + ofs);
    if (vtf >> 28 != 6)
        return stop(p, PKT_MALFORMED, PKT_LAYER_IPV6);
    uint32_t plen = pkt_get16(d + ofs + 4);
    uint8_t next = d[ofs + 6];
    /* Payload length 0 with hop-by-hop options is a jumbogram (RFC 2675). */
    if (plen == 0 && next == PKT_IPPROTO_HOPOPTS)
        return stop(p, PKT_UNSUPPORTED, PKT_LAYER_IPV6);
    uint32_t end = ofs + PKT_IPV6_HDR_LEN + plen;

    f->nw_tos = (uint8_t)(vtf >> 20);
    f->nw_dscp = f->nw_tos >> 2;
    f->nw_ecn = f->nw_tos & 3;
    f->ipv6_label = vtf & 0xfffff;
    f->nw_ttl = d[ofs + 7];
    memcpy(f->ipv6_src, d + ofs + 8, 16);
    memcpy(f->ipv6_dst, d + ofs + 24, 16);
    f->layers |= PKT_HAS_IPV6;
    lay->ip_end = end;

    uint32_t cur = ofs + PKT_IPV6_HDR_LEN;
    enum pkt_frag frag = PKT_FRAG_NONE;
    bool seen_frag = false;
    for (unsigned n_ext = 0;; n_ext++) {
        uint32_t hlen;
        uint8_t following;
        /* What stopped us is named by nw_proto, like a final header would be. */
        f->nw_proto = next;
        switch (next) {
        case PKT_IPPROTO_HOPOPTS:
        case PKT_IPPROTO_ROUTING:
        case PKT_IPPROTO_DSTOPTS:
        case PKT_IPPROTO_AH:
        case PKT_IPPROTO_FRAGMENT:
            break;
        default:
            return parse_l4(p, next, cur, end, frag, true);
        }
        if (n_ext == PKT_IPV6_MAX_EXT)
            return stop(p, PKT_UNSUPPORTED, PKT_LAYER_IPV6_EXT);
        if (next == PKT_IPPROTO_HOPOPTS && n_ext != 0)
            return stop(p, PKT_MALFORMED, PKT_LAYER_IPV6_EXT);
        /* Every extension header is at least 8 bytes. */
        st = need(p, cur, 8, end);
        if (st != PKT_OK)
            return stop(p, st, PKT_LAYER_IPV6_EXT);
        following = d[cur];
        if (next == PKT_IPPROTO_FRAGMENT) {
            if (seen_frag)
                return stop(p, PKT_MALFORMED, PKT_LAYER_IPV6_EXT);
            seen_frag = true;
            uint16_t off_flags = pkt_get16(d + cur + 2);
            uint32_t offset = off_flags & PKT_IPV6_FRAG_OFF_MASK;
            uint32_t frag_len = end - (cur + 8);
            /* RFC 8200 4.5: a non-final fragment is a multiple of 8 bytes,
             * and no fragment reaches past 65535 bytes of payload. */
            if (((off_flags & PKT_IPV6_FRAG_MORE) && frag_len % 8) || offset + frag_len > 65535)
                return stop(p, PKT_MALFORMED, PKT_LAYER_IPV6_EXT);
            lay->ipv6_frag_ofs = cur;
            if (offset) {
                frag = PKT_FRAG_LATER;
            } else if (off_flags & PKT_IPV6_FRAG_MORE) {
                frag = PKT_FRAG_FIRST;
            }
            hlen = 8;
        } else if (next == PKT_IPPROTO_AH) {
            hlen = ((uint32_t)d[cur + 1] + 2) * 4;
            if (hlen < 12) /* next, length, reserved, SPI, sequence */
                return stop(p, PKT_MALFORMED, PKT_LAYER_IPV6_EXT);
        } else {
            hlen = ((uint32_t)d[cur + 1] + 1) * 8;
        }
        st = need(p, cur, hlen, end);
        if (st != PKT_OK)
            return stop(p, st, PKT_LAYER_IPV6_EXT);
        if ((next == PKT_IPPROTO_HOPOPTS || next == PKT_IPPROTO_DSTOPTS) &&
            !ipv6_options_ok(d + cur + 2, hlen - 2))
            return stop(p, PKT_MALFORMED, PKT_LAYER_IPV6_EXT);
        f->layers |= PKT_HAS_IP_OPTIONS;
        cur += hlen;
        next = following;
        /* A later fragment's next header names what the first one carries;
         * nothing after the fragment header is ours to parse. */
        if (frag == PKT_FRAG_LATER)
            return parse_l4(p, next, cur, end, frag, true);
    }
}

static enum pkt_status parse_arp(struct parser *p, uint32_t ofs)
{
    const uint8_t *d = p->data;
    struct pkt_flow *f = p->flow;
    p->lay->l3 = PKT_LAYER_ARP;
    enum pkt_status st = need(p, ofs, 8, NO_DATAGRAM);
    if (st != PKT_OK)
        return stop(p, st, PKT_LAYER_ARP);
    p->lay->payload_ofs = ofs + 8;
    /* Other hardware or protocol types are valid ARP we do not look into. */
    if (pkt_get16(d + ofs) != PKT_ARP_HRD_ETHER || pkt_get16(d + ofs + 2) != PKT_ETH_TYPE_IPV4 ||
        d[ofs + 4] != PKT_ETH_ADDR_LEN || d[ofs + 5] != 4)
        return stop(p, PKT_OK, PKT_LAYER_NONE);
    st = need(p, ofs, PKT_ARP_ETH_IPV4_LEN, NO_DATAGRAM);
    if (st != PKT_OK)
        return stop(p, st, PKT_LAYER_ARP);
    f->arp_op = pkt_get16(d + ofs + 6);
    memcpy(f->arp_sha, d + ofs + 8, PKT_ETH_ADDR_LEN);
    f->arp_spa = pkt_get32(d + ofs + 14);
    memcpy(f->arp_tha, d + ofs + 18, PKT_ETH_ADDR_LEN);
    f->arp_tpa = pkt_get32(d + ofs + 24);
    f->layers |= PKT_HAS_ARP;
    p->lay->payload_ofs = ofs + PKT_ARP_ETH_IPV4_LEN;
    return stop(p, PKT_OK, PKT_LAYER_NONE);
}

enum pkt_status pkt_parse(const uint8_t *data, size_t len, struct pkt_flow *flow,
                          struct pkt_layout *layout)
{
    return pkt_parse_frame(data, len, len, flow, layout);
}

enum pkt_status pkt_parse_frame(const uint8_t *data, size_t len, size_t frame_len,
                                struct pkt_flow *flow, struct pkt_layout *layout)
{
    uint32_t in_port = flow->in_port;
    memset(flow, 0, sizeof(*flow));
    flow->in_port = in_port;
    memset(layout, 0, sizeof(*layout));
    layout->vlan_ofs = PKT_OFS_NONE;
    layout->l3_ofs = PKT_OFS_NONE;
    layout->l4_ofs = PKT_OFS_NONE;
    layout->ipv6_frag_ofs = PKT_OFS_NONE;
    layout->payload_ofs = PKT_OFS_NONE;
    layout->ip_end = PKT_OFS_NONE;

    /* Lengths past the offsets' range are cut to it; the frame is never
     * shorter than the bytes at hand. */
    size_t cap = PKT_OFS_NONE - 1;
    len = KK_MIN(len, cap);
    frame_len = KK_MIN(KK_MAX(frame_len, len), cap);
    struct parser p = {
        .data = data,
        .len = (uint32_t)len,
        .frame_len = (uint32_t)frame_len,
        .flow = flow,
        .lay = layout,
    };
    if (p.len < PKT_ETH_HDR_LEN)
        return stop(&p, PKT_TRUNCATED, PKT_LAYER_ETH);
    memcpy(flow->dl_dst, data, PKT_ETH_ADDR_LEN);
    memcpy(flow->dl_src, data + PKT_ETH_ADDR_LEN, PKT_ETH_ADDR_LEN);
    flow->layers |= PKT_HAS_ETH;
    uint16_t type = pkt_get16(data + 12);
    uint32_t ofs = PKT_ETH_HDR_LEN;

    /* A tag's TCI and the next EtherType follow its TPID. */
    while ((type == PKT_ETH_TYPE_VLAN || type == PKT_ETH_TYPE_QINQ) &&
           flow->n_vlans < PKT_MAX_VLANS) {
        if (p.len - ofs < PKT_VLAN_HDR_LEN) {
            flow->dl_type = type;
            return stop(&p, PKT_TRUNCATED, PKT_LAYER_VLAN);
        }
        uint16_t tci = pkt_get16(data + ofs);
        struct pkt_vlan *v = &flow->vlans[flow->n_vlans++];
        v->tpid = type;
        v->vid = tci & PKT_VLAN_VID_MASK;
        v->pcp = (uint8_t)(tci >> PKT_VLAN_PCP_SHIFT);
        v->dei = !!(tci & PKT_VLAN_DEI);
        if (layout->vlan_ofs == PKT_OFS_NONE)
            layout->vlan_ofs = ofs - 2;
        flow->layers |= PKT_HAS_VLAN;
        type = pkt_get16(data + ofs + 2);
        ofs += PKT_VLAN_HDR_LEN;
    }

    if (type < PKT_ETH_TYPE_MIN) {
        /* 802.3: an LLC header follows the length; only SNAP with the
         * Ethernet OUI carries an EtherType (as in OVS). */
        if (p.len - ofs < 3) {
            flow->dl_type = PKT_DL_TYPE_NONE;
            return stop(&p, PKT_TRUNCATED, PKT_LAYER_ETH);
        }
        type = PKT_DL_TYPE_NONE;
        if (data[ofs] == 0xaa && data[ofs + 1] == 0xaa && data[ofs + 2] == 0x03) {
            if (p.len - ofs < PKT_LLC_SNAP_LEN) {
                flow->dl_type = PKT_DL_TYPE_NONE;
                return stop(&p, PKT_TRUNCATED, PKT_LAYER_ETH);
            }
            uint16_t snap_type = pkt_get16(data + ofs + 6);
            if (data[ofs + 3] == 0 && data[ofs + 4] == 0 && data[ofs + 5] == 0 &&
                snap_type >= PKT_ETH_TYPE_MIN) {
                type = snap_type;
                ofs += PKT_LLC_SNAP_LEN;
            }
        }
    }
    flow->dl_type = type;
    layout->l3_ofs = ofs;
    layout->payload_ofs = ofs;

    switch (type) {
    case PKT_ETH_TYPE_IPV4:
        return parse_ipv4(&p, ofs);
    case PKT_ETH_TYPE_IPV6:
        return parse_ipv6(&p, ofs);
    case PKT_ETH_TYPE_ARP:
        return parse_arp(&p, ofs);
    default:
        return stop(&p, PKT_OK, PKT_LAYER_NONE);
    }
}

const char *pkt_status_name(enum pkt_status status)
{
    switch (status) {
    case PKT_OK:
        return "ok";
    case PKT_TRUNCATED:
        return "truncated";
    case PKT_MALFORMED:
        return "malformed";
    case PKT_UNSUPPORTED:
        return "unsupported";
    }
    return "unknown";
}

const char *pkt_layer_name(enum pkt_layer layer)
{
    static const char *const names[] = {
        [PKT_LAYER_NONE] = "none",     [PKT_LAYER_ETH] = "eth",
        [PKT_LAYER_VLAN] = "vlan",     [PKT_LAYER_ARP] = "arp",
        [PKT_LAYER_IPV4] = "ipv4",     [PKT_LAYER_IPV6] = "ipv6",
        [PKT_LAYER_IPV6_EXT] = "ipv6-ext", [PKT_LAYER_TCP] = "tcp",
        [PKT_LAYER_UDP] = "udp",       [PKT_LAYER_SCTP] = "sctp",
        [PKT_LAYER_ICMP] = "icmp",     [PKT_LAYER_ICMPV6] = "icmpv6",
        [PKT_LAYER_ND] = "nd",         [PKT_LAYER_PAYLOAD] = "payload",
    };
    if ((unsigned)layer < sizeof(names) / sizeof(names[0]) && names[layer])
        return names[layer];
    return "unknown";
}

char *pkt_layout_describe(const struct pkt_layout *layout, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    if (layout->status == PKT_OK)
        snprintf(buf, size, "ok");
    else
        snprintf(buf, size, "%s in %s", pkt_status_name((enum pkt_status)layout->status),
                 pkt_layer_name((enum pkt_layer)layout->err_layer));
    return buf;
}
