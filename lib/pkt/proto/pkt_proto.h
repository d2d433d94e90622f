/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkt_proto.h — packet parsing: wire formats and flow extraction.
 *
 * Design note
 * -----------
 * pkt_parse() walks one Ethernet frame held in (data, len) and fills two
 * structures: a struct pkt_layout (where each header starts, which header
 * sits at L3 and L4, why parsing stopped) and a struct pkt_flow (the fields
 * an OpenFlow 1.3 / OVS switch matches on, in host byte order). Like OVS's
 * flow extraction it never fails as a call: a short or malformed frame is
 * parsed as far as it is valid and the rest of the flow stays zero.
 *
 * Parsed: Ethernet II and 802.3 LLC/SNAP (a non-SNAP 802.3 frame gets
 * dl_type PKT_DL_TYPE_NONE); up to two VLAN tags (TPID 0x8100 or 0x88a8, in
 * any order — a third tag's TPID becomes dl_type and parsing stops there, as
 * in OVS); ARP for Ethernet/IPv4 (other hardware or protocol types leave the
 * ARP fields zero); IPv4 with options (whose TLV structure is checked) and
 * fragments; IPv6 with at most PKT_IPV6_MAX_EXT extension headers among
 * hop-by-hop (first only), routing, fragment (once), destination options and
 * AH, whose option TLVs are checked; TCP (data offset), UDP (length field),
 * SCTP (common header), ICMP, ICMPv6 and, for Neighbor Solicitation and
 * Advertisement with code 0, the target address and the source (NS) or
 * target (NA) link-layer address option. A later fragment (offset != 0) has
 * no L4 header; the first fragment of an IPv4 or IPv6 datagram must hold the
 * whole L4 header (RFC 1858, RFC 7112).
 *
 * Refused (status PKT_MALFORMED, parsing stops at that layer): IPv4 with
 * version != 4, IHL < 5, total length < IHL, bad option TLVs, or fragments
 * reaching past 65535 bytes; IPv6 with version != 6, hop-by-hop after the
 * first position, two fragment headers, a non-final fragment whose length
 * is not a multiple of 8 or any fragment reaching past 65535 bytes, AH
 * shorter than 12 bytes, or bad option TLVs; a header that its IP
 * datagram (by its length field) is too short to hold; TCP data offset
 * < 5; UDP length < 8 or (but for a first fragment) longer than its
 * datagram; ND options of length 0 or running past the message, or a
 * duplicate SLL/TLL option.
 * PKT_UNSUPPORTED: IPv6 jumbograms and extension header chains longer than
 * PKT_IPV6_MAX_EXT.
 *
 * Truncation: the parser never reads data[len] or beyond. When the buffer
 * ends inside a header the status is PKT_TRUNCATED and err_layer names that
 * header; when every header is complete but the IP datagram is shorter than
 * its length field says, err_layer is PKT_LAYER_PAYLOAD. Bytes after the IP
 * datagram (Ethernet padding) are allowed and ignored. Fields of headers
 * that were complete and valid before the stop point stay filled; bits of
 * pkt_flow.layers say which.
 *
 * Not parsed (the frame is still OK, the flow simply stops there): MPLS,
 * tunnels (GRE, VXLAN, Geneve: their UDP/IP header is parsed), ESP and the
 * IPv6 mobility/HIP/shim6 headers (reported as nw_proto), the headers
 * quoted inside ICMP errors, ARP other than Ethernet/IPv4, 0x9100 tags.
 *
 * Byte order: wire structs below are raw network byte order; every integer
 * in struct pkt_flow is host byte order; MAC and IPv6 addresses are byte
 * arrays as on the wire.
 *
 * Threads: every function here is pure (no global state) and may be called
 * from any thread; none allocates.
 *
 * Checksums are in pkt_csum.h, header rewriting and VLAN push/pop in
 * pkt_edit.h.
 */
#ifndef PKT_PROTO_H
#define PKT_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* ---- Wire formats (network byte order, no alignment assumed: copy a
 * header out with memcpy or use the pkt_get16/32 helpers) ---- */

#define PKT_ETH_ADDR_LEN 6
#define PKT_ETH_HDR_LEN  14
#define PKT_VLAN_HDR_LEN 4
#define PKT_LLC_SNAP_LEN 8

#define PKT_ETH_TYPE_MIN   0x0600 /* smaller values are 802.3 lengths */
#define PKT_ETH_TYPE_IPV4  0x0800
#define PKT_ETH_TYPE_ARP   0x0806
#define PKT_ETH_TYPE_VLAN  0x8100 /* 802.1Q C-tag */
#define PKT_ETH_TYPE_QINQ  0x88a8 /* 802.1ad S-tag */
#define PKT_ETH_TYPE_IPV6  0x86dd
/* dl_type of an 802.3 frame without a SNAP header (OVS's FLOW_DL_TYPE_NONE). */
#define PKT_DL_TYPE_NONE   0x05ff

#define PKT_VLAN_VID_MASK  0x0fff
#define PKT_VLAN_DEI       0x1000
#define PKT_VLAN_PCP_SHIFT 13

struct pkt_eth_hdr {
    uint8_t dst[PKT_ETH_ADDR_LEN];
    uint8_t src[PKT_ETH_ADDR_LEN];
    uint16_t type;
} __attribute__((packed));

/* The 4 bytes a VLAN tag inserts before the inner EtherType. */
struct pkt_vlan_hdr {
    uint16_t tpid;
    uint16_t tci; /* PCP(3) DEI(1) VID(12) */
} __attribute__((packed));

/* 802.2 LLC + SNAP, after an 802.3 length field. */
struct pkt_llc_snap_hdr {
    uint8_t dsap, ssap, ctrl; /* 0xaa 0xaa 0x03 for SNAP */
    uint8_t oui[3];
    uint16_t type;
} __attribute__((packed));

#define PKT_ARP_HRD_ETHER 1
#define PKT_ARP_OP_REQUEST 1
#define PKT_ARP_OP_REPLY   2
#define PKT_ARP_ETH_IPV4_LEN 28

/* ARP for Ethernet and IPv4 (the only kind whose addresses are parsed). */
struct pkt_arp_hdr {
    uint16_t hrd, pro;
    uint8_t hln, pln;
    uint16_t op;
    uint8_t sha[PKT_ETH_ADDR_LEN];
    uint8_t spa[4];
    uint8_t tha[PKT_ETH_ADDR_LEN];
    uint8_t tpa[4];
} __attribute__((packed));

#define PKT_IPPROTO_HOPOPTS  0
#define PKT_IPPROTO_ICMP     1
#define PKT_IPPROTO_TCP      6
#define PKT_IPPROTO_UDP      17
#define PKT_IPPROTO_ROUTING  43
#define PKT_IPPROTO_FRAGMENT 44
#define PKT_IPPROTO_ESP      50
#define PKT_IPPROTO_AH       51
#define PKT_IPPROTO_ICMPV6   58
#define PKT_IPPROTO_NONE     59
#define PKT_IPPROTO_DSTOPTS  60
#define PKT_IPPROTO_SCTP     132

#define PKT_IPV4_HDR_LEN     20
#define PKT_IPV4_HDR_MAX     60
#define PKT_IPV4_RF          0x8000 /* reserved flag */
#define PKT_IPV4_DF          0x4000
#define PKT_IPV4_MF          0x2000
#define PKT_IPV4_OFFSET_MASK 0x1fff /* in 8-byte units */
#define PKT_IPV4_OPT_EOL     0
#define PKT_IPV4_OPT_NOP     1

struct pkt_ipv4_hdr {
    uint8_t ver_ihl; /* version(4) IHL(4), IHL in 32-bit words */
    uint8_t tos;     /* DSCP(6) ECN(2) */
    uint16_t tot_len;
    uint16_t id;
    uint16_t frag_off; /* RF DF MF offset(13) */
    uint8_t ttl;
    uint8_t proto;
    uint16_t csum;
    uint32_t src, dst;
} __attribute__((packed));

#define PKT_IPV6_HDR_LEN      40
#define PKT_IPV6_MAX_EXT      8 /* extension headers walked before giving up */
#define PKT_IPV6_FRAG_OFF_MASK 0xfff8
#define PKT_IPV6_FRAG_MORE     0x0001
#define PKT_IPV6_OPT_PAD1      0

struct pkt_ipv6_hdr {
    uint32_t ver_tc_flow; /* version(4) traffic class(8) flow label(20) */
    uint16_t payload_len;
    uint8_t next;
    uint8_t hop_limit;
    uint8_t src[16];
    uint8_t dst[16];
} __attribute__((packed));

/* Hop-by-hop, routing and destination options: length in 8-octet units,
 * not counting the first 8. AH uses the same first two bytes, with its
 * length in 4-octet units minus 2. */
struct pkt_ipv6_ext_hdr {
    uint8_t next;
    uint8_t len;
} __attribute__((packed));

struct pkt_ipv6_frag_hdr {
    uint8_t next;
    uint8_t reserved;
    uint16_t off_flags; /* offset(13) in 8-byte units, res(2), M(1) */
    uint32_t id;
} __attribute__((packed));

#define PKT_TCP_HDR_LEN 20
#define PKT_TCP_FIN 0x001
#define PKT_TCP_SYN 0x002
#define PKT_TCP_RST 0x004
#define PKT_TCP_PSH 0x008
#define PKT_TCP_ACK 0x010
#define PKT_TCP_URG 0x020
#define PKT_TCP_ECE 0x040
#define PKT_TCP_CWR 0x080
#define PKT_TCP_NS  0x100
#define PKT_TCP_FLAGS_MASK 0x0fff

struct pkt_tcp_hdr {
    uint16_t src, dst;
    uint32_t seq, ack;
    uint16_t off_flags; /* data offset(4) in 32-bit words, reserved(3), flags(9) */
    uint16_t window;
    uint16_t csum;
    uint16_t urg;
} __attribute__((packed));

#define PKT_UDP_HDR_LEN 8
struct pkt_udp_hdr {
    uint16_t src, dst;
    uint16_t len; /* header + payload */
    uint16_t csum;
} __attribute__((packed));

#define PKT_SCTP_HDR_LEN 12
struct pkt_sctp_hdr {
    uint16_t src, dst;
    uint32_t vtag;
    uint32_t csum; /* CRC-32C, stored little-endian (RFC 9260 appendix A) */
} __attribute__((packed));

/* ICMP and ICMPv6 share the first four bytes; the parser needs eight (every
 * message type carries at least a 32-bit field after the checksum). */
#define PKT_ICMP_HDR_LEN 8
struct pkt_icmp_hdr {
    uint8_t type;
    uint8_t code;
    uint16_t csum;
    uint32_t data;
} __attribute__((packed));

#define PKT_ICMP6_ND_NS 135
#define PKT_ICMP6_ND_NA 136
#define PKT_ND_MSG_LEN  24 /* ICMPv6 header, 4 bytes, target address */
#define PKT_ND_OPT_SLL  1
#define PKT_ND_OPT_TLL  2

/* Neighbor Solicitation / Advertisement (RFC 4861 4.3, 4.4). */
struct pkt_nd_msg {
    struct pkt_icmp_hdr icmp; /* data: reserved (NS) or R/S/O flags (NA) */
    uint8_t target[16];
} __attribute__((packed));

_Static_assert(sizeof(struct pkt_eth_hdr) == PKT_ETH_HDR_LEN, "eth");
_Static_assert(sizeof(struct pkt_vlan_hdr) == PKT_VLAN_HDR_LEN, "vlan");
_Static_assert(sizeof(struct pkt_llc_snap_hdr) == PKT_LLC_SNAP_LEN, "snap");
_Static_assert(sizeof(struct pkt_arp_hdr) == PKT_ARP_ETH_IPV4_LEN, "arp");
_Static_assert(sizeof(struct pkt_ipv4_hdr) == PKT_IPV4_HDR_LEN, "ipv4");
_Static_assert(sizeof(struct pkt_ipv6_hdr) == PKT_IPV6_HDR_LEN, "ipv6");
_Static_assert(sizeof(struct pkt_ipv6_frag_hdr) == 8, "ipv6 frag");
_Static_assert(sizeof(struct pkt_tcp_hdr) == PKT_TCP_HDR_LEN, "tcp");
_Static_assert(sizeof(struct pkt_udp_hdr) == PKT_UDP_HDR_LEN, "udp");
_Static_assert(sizeof(struct pkt_sctp_hdr) == PKT_SCTP_HDR_LEN, "sctp");
_Static_assert(sizeof(struct pkt_icmp_hdr) == PKT_ICMP_HDR_LEN, "icmp");
_Static_assert(sizeof(struct pkt_nd_msg) == PKT_ND_MSG_LEN, "nd");

/* Unaligned big-endian loads and stores. */
static inline uint16_t pkt_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t pkt_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void pkt_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void pkt_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- Parse results ---- */

/* Why parsing stopped. */
enum pkt_status {
    PKT_OK = 0,      /* every header present and valid */
    PKT_TRUNCATED,   /* the buffer ends inside err_layer */
    PKT_MALFORMED,   /* err_layer has a field that breaks its protocol's rules */
    PKT_UNSUPPORTED, /* valid, but beyond what we parse (see the design note) */
};

/* Protocol layers, for pkt_layout.err_layer, l3 and l4. */
enum pkt_layer {
    PKT_LAYER_NONE = 0,
    PKT_LAYER_ETH,      /* Ethernet header, or the LLC/SNAP header of 802.3 */
    PKT_LAYER_VLAN,
    PKT_LAYER_ARP,
    PKT_LAYER_IPV4,
    PKT_LAYER_IPV6,
    PKT_LAYER_IPV6_EXT, /* an IPv6 extension header */
    PKT_LAYER_TCP,
    PKT_LAYER_UDP,
    PKT_LAYER_SCTP,
    PKT_LAYER_ICMP,
    PKT_LAYER_ICMPV6,
    PKT_LAYER_ND,       /* the NS/NA body and its options */
    PKT_LAYER_PAYLOAD,  /* the IP datagram ends before its length field says */
};

/* pkt_flow.nw_frag */
enum pkt_frag {
    PKT_FRAG_NONE = 0,  /* not a fragment (includes IPv6 atomic fragments, RFC 6946) */
    PKT_FRAG_FIRST,     /* offset 0, more fragments follow: L4 header present */
    PKT_FRAG_LATER,     /* offset != 0: no L4 header */
};

/* Bits of pkt_flow.layers: which groups of pkt_flow fields were filled. */
#define PKT_HAS_ETH    (1u << 0)  /* dl_dst, dl_src, dl_type */
#define PKT_HAS_VLAN   (1u << 1)  /* n_vlans >= 1 */
#define PKT_HAS_ARP    (1u << 2)  /* arp_* */
#define PKT_HAS_IPV4   (1u << 3)  /* nw_src/dst, nw_proto, tos, ttl, frag */
#define PKT_HAS_IPV6   (1u << 4)  /* ipv6_src/dst, label, nw_proto, tos, ttl, frag */
#define PKT_HAS_TCP    (1u << 5)  /* tp_src/dst, tcp_flags */
#define PKT_HAS_UDP    (1u << 6)  /* tp_src/dst */
#define PKT_HAS_SCTP   (1u << 7)  /* tp_src/dst */
#define PKT_HAS_ICMP   (1u << 8)  /* icmp_type/code */
#define PKT_HAS_ICMPV6 (1u << 9)  /* icmp_type/code */
#define PKT_HAS_ND     (1u << 10) /* nd_target, nd_sll (NS) or nd_tll (NA) */
#define PKT_HAS_IP_OPTIONS (1u << 11) /* IPv4 IHL > 5, or IPv6 extension headers */

#define PKT_MAX_VLANS 2

struct pkt_vlan {
    uint16_t tpid; /* 0x8100 or 0x88a8 */
    uint16_t vid;  /* 12 bits */
    uint8_t pcp;   /* 3 bits */
    uint8_t dei;   /* 1 bit */
};

/*
 * The fields a switch matches on (OpenFlow 1.3 / OVS flow key). Host byte
 * order. pkt_parse() sets every field except in_port, zeroing those of
 * absent layers, so a parsed flow can be hashed and compared as a whole.
 */
struct pkt_flow {
    uint32_t in_port; /* set by the caller, never touched by the parser */
    uint32_t layers;  /* PKT_HAS_* */

    uint8_t dl_dst[PKT_ETH_ADDR_LEN];
    uint8_t dl_src[PKT_ETH_ADDR_LEN];
    uint16_t dl_type; /* after the VLAN tags; PKT_DL_TYPE_NONE for raw 802.3 */
    uint8_t n_vlans;
    struct pkt_vlan vlans[PKT_MAX_VLANS]; /* [0] is the outermost tag */

    uint16_t arp_op;
    uint32_t arp_spa, arp_tpa;
    uint8_t arp_sha[PKT_ETH_ADDR_LEN];
    uint8_t arp_tha[PKT_ETH_ADDR_LEN];

    uint32_t nw_src, nw_dst; /* IPv4 */
    uint8_t ipv6_src[16], ipv6_dst[16];
    uint32_t ipv6_label; /* 20 bits */
    uint8_t nw_proto;    /* IPv4 protocol or the last IPv6 next-header */
    uint8_t nw_tos;      /* whole TOS / traffic class byte */
    uint8_t nw_dscp;     /* nw_tos >> 2 */
    uint8_t nw_ecn;      /* nw_tos & 3 */
    uint8_t nw_ttl;      /* TTL or hop limit */
    uint8_t nw_frag;     /* enum pkt_frag */

    uint16_t tp_src, tp_dst; /* TCP, UDP, SCTP ports */
    uint16_t tcp_flags;      /* 12 bits: PKT_TCP_* */
    uint8_t icmp_type, icmp_code;

    uint8_t nd_target[16];
    uint8_t nd_sll[PKT_ETH_ADDR_LEN];
    uint8_t nd_tll[PKT_ETH_ADDR_LEN];
};

/* Offsets are from the start of the frame; PKT_OFS_NONE when absent. */
#define PKT_OFS_NONE UINT32_MAX

struct pkt_layout {
    uint8_t status;    /* enum pkt_status, as pkt_parse() returned */
    uint8_t err_layer; /* enum pkt_layer where parsing stopped; NONE on PKT_OK */
    uint8_t l3;        /* enum pkt_layer at l3_ofs: ARP, IPV4, IPV6 or NONE */
    uint8_t l4;        /* enum pkt_layer at l4_ofs: TCP, UDP, SCTP, ICMP, ICMPV6 or NONE */
    uint8_t nw_frag;   /* enum pkt_frag, as in the flow */
    uint8_t l4_proto;  /* IP protocol at l4_ofs (also when l4 is NONE) */
    /* Set by the caller, never by pkt_parse() (which writes 0): the L4
     * checksum is left to offload (a buffer's PKT_OL_CSUM_PARTIAL, virtio-net
     * NEEDS_CSUM, Linux CHECKSUM_PARTIAL), so its field holds the folded
     * pseudo-header sum, not a checksum. pkt_edit.h and pkt_csum.h honour it. */
    uint8_t l4_csum_partial;
    uint32_t vlan_ofs; /* first VLAN tag */
    uint32_t l3_ofs;   /* after Ethernet, VLAN tags and LLC/SNAP, whatever dl_type is */
    uint32_t l4_ofs;   /* after IPv4 options / IPv6 extension headers */
    uint32_t ipv6_frag_ofs; /* the IPv6 fragment header */
    uint32_t payload_ofs;   /* after the last parsed header */
    /* End of the IP datagram by its length field (may exceed the buffer when
     * the status is PKT_TRUNCATED); PKT_OFS_NONE without IP. */
    uint32_t ip_end;
};

/*
 * Parse the frame @data[0, @len) into @flow and @layout (both required;
 * @data may be NULL when @len is 0). flow->in_port is left as the caller
 * set it; every other field of both structures is written.
 *
 * Returns the status also stored in layout->status: PKT_OK, or where and
 * why parsing stopped (layout->err_layer). Never reads outside
 * [data, data + len). Frames longer than 4 GiB are parsed up to 4 GiB.
 * Pure function: any thread.
 */
enum pkt_status pkt_parse(const uint8_t *data, size_t len, struct pkt_flow *flow,
                          struct pkt_layout *layout);

/*
 * The same for a frame of @frame_len bytes of which only the first @len
 * are at @data (a packet whose first segment holds its headers and whose
 * payload lies elsewhere): nothing past @len is read; a datagram that fits
 * in @frame_len is complete, and headers running past @len give
 * PKT_TRUNCATED (bring more of the frame in and parse again). @frame_len
 * below @len counts as @len.
 */
enum pkt_status pkt_parse_frame(const uint8_t *data, size_t len, size_t frame_len,
                                struct pkt_flow *flow, struct pkt_layout *layout);

/* "ok", "truncated", "malformed", "unsupported"; "unknown" otherwise. Static. */
const char *pkt_status_name(enum pkt_status status);

/* "eth", "vlan", "arp", "ipv4", "ipv6", "ipv6-ext", "tcp", "udp", "sctp",
 * "icmp", "icmpv6", "nd", "payload", "none"; "unknown" otherwise. Static. */
const char *pkt_layer_name(enum pkt_layer layer);

/*
 * Describe a parse result in @buf (always NUL-terminated when @size > 0),
 * e.g. "ok" or "truncated in tcp". Returns @buf.
 */
char *pkt_layout_describe(const struct pkt_layout *layout, char *buf, size_t size);

#endif /* PKT_PROTO_H */
