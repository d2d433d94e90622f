/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flow.h — the switch's flow key: what every cache and table matches on.
 *
 * Design note
 * -----------
 * struct sw_flow_key is a fixed 128-byte, 8-byte aligned record of sixteen
 * 64-bit words, so that masking, hashing and comparing are loops over
 * words with no per-field code. A mask (struct sw_flow_mask) has the same
 * layout: a 1 bit means "this key bit matters". Fields are grouped by
 * layer into four segments of whole words, which the classifier uses for
 * staged lookup (it stops at the first segment that cannot match and
 * un-wildcards only the segments it looked at):
 *
 *   word  0      metadata  in_port, recirc_id
 *   words 1-3    L2        dl_dst, dl_src, dl_type, VLAN tags
 *   words 4-9    L3        nw_src/dst (IPv4, ARP spa/tpa), ipv6_src/dst,
 *                          ipv6_label, nw_proto (ARP opcode), nw_tos,
 *                          nw_ttl, nw_frag
 *   words 10-15  L4        tp_src/dst (ICMP type/code), tcp_flags,
 *                          arp_sha/tha (ND sll/tll), nd_target; and the
 *                          OpenFlow pipeline's metadata (word 15)
 *
 * metadata is not a packet field: the OpenFlow pipeline writes it
 * (write_metadata) and later tables match on it. Keys from packets always
 * have it 0, so the datapath's exact-match cache keeps only words 0-14
 * (SW_FLOW_PACKET_WORDS), and translation never puts it in a megaflow's
 * mask. It sits last so that packet fields keep their words; the
 * classifier stages it with L4.
 *
 * Like OVS, some fields carry several protocols' values, so that one mask
 * bit means the same thing whatever the packet: ARP's sender/target
 * protocol addresses are nw_src/nw_dst and its opcode (low 8 bits) is
 * nw_proto; ICMP and ICMPv6 type and code are tp_src and tp_dst; the ND
 * source and target link-layer addresses are arp_sha and arp_tha.
 *
 * Byte order: integers are host order (as in struct pkt_flow); MAC and
 * IPv6 addresses are byte arrays as on the wire. Padding is always zero
 * (extraction and parsing zero the whole key), so keys compare as bytes.
 *
 * VLAN tags use OVS's encoding: vlan_tci = PCP << 13 | SW_VLAN_PRESENT |
 * VID; 0 means "no tag". The DEI bit of the wire tag is not kept (like
 * OVS). vlan_tpid is 0x8100 or 0x88a8. The second tag of a QinQ frame is
 * vlan_tci2/vlan_tpid2.
 *
 * Text form (OVS ovs-ofctl style, comma separated):
 *   in_port=1,dl_vlan=10,ip,nw_src=10.0.0.0/24,tcp,tp_dst=80
 * Fields: in_port recirc_id metadata dl_src dl_dst dl_type vlan_tci dl_vlan
 * dl_vlan_pcp vlan_tpid vlan_tci2 vlan_tpid2 nw_src nw_dst (= arp_spa
 * arp_tpa) ipv6_src ipv6_dst ipv6_label nw_proto (= arp_op) nw_tos ip_dscp
 * nw_ecn nw_ttl ip_frag (no|yes|first|later|not_later) nw_frag tp_src
 * tp_dst (= icmp_type icmp_code icmpv6_type icmpv6_code) tcp_flags (value
 * [/mask] or +syn-ack...) arp_sha arp_tha (= nd_sll nd_tll) nd_target, and
 * the shorthands ip ipv6 arp tcp udp sctp icmp tcp6 udp6 sctp6 icmp6.
 * Integers are decimal or 0x-hex, with an optional /mask; addresses take
 * /prefix-length or /mask. Prerequisites (nw_src needs ip or arp, ...) are
 * not checked here: that is the OpenFlow layer's job.
 *
 * Threads: every function is pure and may be called from any thread; none
 * allocates.
 */
#ifndef SW_FLOW_H
#define SW_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pkt_proto.h"

#define SW_VLAN_PRESENT   0x1000
#define SW_VLAN_VID_MASK  0x0fff
#define SW_VLAN_PCP_SHIFT 13
#define SW_VLAN_PCP_MASK  0xe000

/* nw_frag bits */
#define SW_FRAG_ANY   0x01 /* a fragment (first or later) */
#define SW_FRAG_LATER 0x02 /* not the first fragment: no L4 header */
#define SW_FRAG_MASK  0x03

#define SW_TCP_FLAGS_MASK 0x0fff

struct sw_flow_key {
    /* metadata: word 0 */
    uint32_t in_port;
    uint32_t recirc_id;
    /* L2: words 1-3 */
    uint8_t dl_dst[6];
    uint8_t dl_src[6];
    uint16_t dl_type;
    uint16_t vlan_tci;   /* outer tag: PCP | SW_VLAN_PRESENT | VID; 0 if none */
    uint16_t vlan_tpid;  /* outer tag's TPID; 0 if none */
    uint16_t vlan_tci2;  /* inner tag (QinQ) */
    uint16_t vlan_tpid2;
    uint16_t pad_l2;
    /* L3: words 4-9 */
    uint32_t nw_src;     /* IPv4 source, ARP sender protocol address */
    uint32_t nw_dst;     /* IPv4 destination, ARP target protocol address */
    uint8_t ipv6_src[16];
    uint8_t ipv6_dst[16];
    uint32_t ipv6_label; /* 20 bits */
    uint8_t nw_proto;    /* IP protocol, ARP opcode (low 8 bits) */
    uint8_t nw_tos;      /* DSCP << 2 | ECN */
    uint8_t nw_ttl;      /* TTL or hop limit */
    uint8_t nw_frag;     /* SW_FRAG_* */
    /* L4: words 10-14 */
    uint16_t tp_src;     /* TCP/UDP/SCTP source port, ICMP(v6) type */
    uint16_t tp_dst;     /* TCP/UDP/SCTP destination port, ICMP(v6) code */
    uint16_t tcp_flags;  /* 12 bits, PKT_TCP_* */
    uint16_t pad_l4;
    uint8_t arp_sha[6];  /* ARP sender hardware address, ND source link-layer */
    uint8_t arp_tha[6];  /* ARP target hardware address, ND target link-layer */
    uint32_t pad_nd;
    uint8_t nd_target[16];
    /* pipeline: word 15 */
    uint64_t metadata;   /* OpenFlow metadata; 0 in keys from packets */
} __attribute__((aligned(8)));

#define SW_FLOW_KEY_WORDS 16
#define SW_FLOW_PACKET_WORDS 15 /* words 0-14: what a packet gives */
_Static_assert(offsetof(struct sw_flow_key, metadata) == SW_FLOW_PACKET_WORDS * 8,
               "metadata after the packet fields");
_Static_assert(sizeof(struct sw_flow_key) == SW_FLOW_KEY_WORDS * 8, "flow key size");

/* Segments, as [first word, end word). */
enum sw_flow_segment {
    SW_SEG_META = 0,
    SW_SEG_L2,
    SW_SEG_L3,
    SW_SEG_L4,
    SW_SEG_COUNT,
};
#define SW_SEG_L2_WORD 1
#define SW_SEG_L3_WORD 4
#define SW_SEG_L4_WORD 10

/* First word of segment @seg; SW_FLOW_KEY_WORDS for SW_SEG_COUNT. */
static inline unsigned sw_flow_segment_start(unsigned seg)
{
    static const uint8_t start[SW_SEG_COUNT + 1] = {0, SW_SEG_L2_WORD, SW_SEG_L3_WORD,
                                                    SW_SEG_L4_WORD, SW_FLOW_KEY_WORDS};
    return seg <= SW_SEG_COUNT ? start[seg] : SW_FLOW_KEY_WORDS;
}

/* A mask: 1 bits are the key bits that matter. */
struct sw_flow_mask {
    struct sw_flow_key masks;
};

static inline const uint64_t *sw_flow_key_words(const struct sw_flow_key *key)
{
    return (const uint64_t *)(const void *)key;
}

static inline uint64_t *sw_flow_key_words_rw(struct sw_flow_key *key)
{
    return (uint64_t *)(void *)key;
}

/* True if @a and @b are equal (every word). Per-packet code: unrolled, 16
 * bytes at a time. */
static inline bool sw_flow_key_equal(const struct sw_flow_key *a, const struct sw_flow_key *b)
{
    typedef uint64_t pair __attribute__((vector_size(16)));
    const uint64_t *x = sw_flow_key_words(a), *y = sw_flow_key_words(b);
    pair diff = {0, 0};
    _Static_assert(SW_FLOW_KEY_WORDS % 2 == 0, "pairs");
#pragma GCC unroll 8
    for (int i = 0; i < SW_FLOW_KEY_WORDS; i += 2) {
        pair p, q;
        memcpy(&p, x + i, sizeof(p));
        memcpy(&q, y + i, sizeof(q));
        diff |= p ^ q;
    }
    return (diff[0] | diff[1]) == 0;
}

/* True if @a and @b agree on every bit set in @mask. */
static inline bool sw_flow_key_equal_masked(const struct sw_flow_key *a,
                                            const struct sw_flow_key *b,
                                            const struct sw_flow_mask *mask)
{
    const uint64_t *x = sw_flow_key_words(a), *y = sw_flow_key_words(b);
    const uint64_t *m = sw_flow_key_words(&mask->masks);
    uint64_t diff = 0;
    for (int i = 0; i < SW_FLOW_KEY_WORDS; i++)
        diff |= (x[i] ^ y[i]) & m[i];
    return diff == 0;
}

/* @dst = @key & @mask (@dst may be @key). */
static inline void sw_flow_key_mask(struct sw_flow_key *dst, const struct sw_flow_key *key,
                                    const struct sw_flow_mask *mask)
{
    const uint64_t *k = sw_flow_key_words(key), *m = sw_flow_key_words(&mask->masks);
    uint64_t *d = sw_flow_key_words_rw(dst);
    for (int i = 0; i < SW_FLOW_KEY_WORDS; i++)
        d[i] = k[i] & m[i];
}

/* @dst |= @src */
static inline void sw_flow_mask_or(struct sw_flow_mask *dst, const struct sw_flow_mask *src)
{
    uint64_t *d = sw_flow_key_words_rw(&dst->masks);
    const uint64_t *s = sw_flow_key_words(&src->masks);
    for (int i = 0; i < SW_FLOW_KEY_WORDS; i++)
        d[i] |= s[i];
}

/* True if @mask has no bit set (matches every packet). */
static inline bool sw_flow_mask_is_catchall(const struct sw_flow_mask *mask)
{
    const uint64_t *m = sw_flow_key_words(&mask->masks);
    uint64_t any = 0;
    for (int i = 0; i < SW_FLOW_KEY_WORDS; i++)
        any |= m[i];
    return any == 0;
}

/* True if every bit of @inner is also set in @outer. */
static inline bool sw_flow_mask_is_subset(const struct sw_flow_mask *inner,
                                          const struct sw_flow_mask *outer)
{
    const uint64_t *a = sw_flow_key_words(&inner->masks), *b = sw_flow_key_words(&outer->masks);
    uint64_t extra = 0;
    for (int i = 0; i < SW_FLOW_KEY_WORDS; i++)
        extra |= a[i] & ~b[i];
    return extra == 0;
}

/* The mask that matches every field exactly (padding excluded). */
void sw_flow_mask_exact(struct sw_flow_mask *mask);

/*
 * 64-bit hash of (@key & @mask) with @seed. Two keys equal under the mask
 * hash the same. Pure.
 */
uint64_t sw_flow_hash_masked(const struct sw_flow_key *key, const struct sw_flow_mask *mask,
                             uint64_t seed);

/*
 * Fill @key from a parsed flow (@flow from pkt_parse()). Every key byte is
 * written; fields of layers the parser did not fill are zero.
 */
void sw_flow_from_pkt(const struct pkt_flow *flow, struct sw_flow_key *key);

/*
 * Parse the frame [@data, @data + @len) with pkt_parse() and fill @key
 * (in_port = @in_port). @layout, if not NULL, receives the parser's
 * layout (header offsets for actions that rewrite the packet). Returns the
 * parse status: a truncated or malformed frame still gets a key, filled as
 * far as it parsed. Never reads outside the frame. Any thread.
 *
 * Without @layout, common frames (Ethernet, at most one VLAN tag, a
 * non-IP EtherType or IPv4 without options and not fragmented, whole, with
 * a valid TCP/UDP/SCTP/ICMP header or another protocol) take a fast path
 * that fills the key directly; the key and status are exactly the full
 * parser's (the datapath's per-packet extraction).
 */
enum pkt_status sw_flow_extract(const uint8_t *data, size_t len, uint32_t in_port,
                                struct sw_flow_key *key, struct pkt_layout *layout);

/* The same for a frame of @frame_len bytes of which the first @len are at
 * @data (pkt_parse_frame()): PKT_TRUNCATED when its headers run past @len. */
enum pkt_status sw_flow_extract_frame(const uint8_t *data, size_t len, size_t frame_len,
                                      uint32_t in_port, struct sw_flow_key *key,
                                      struct pkt_layout *layout);

/*
 * Simple matches. A mask that sets bits only in the *simple fields* —
 * in_port, recirc_id, dl_type, the VLAN tags (vlan_tci, vlan_tpid,
 * vlan_tci2, vlan_tpid2), nw_proto and nw_frag — decides a packet on
 * those fields alone, and sw_flow_extract_simple() reads them from a
 * frame for much less than a whole key: the datapath's per-port
 * simple-match path (after OVS's), for ports whose traffic one such
 * megaflow decides (e.g. "in_port=1,actions=output:2", whose megaflow
 * also has dl_type, nw_proto and nw_frag exact).
 *
 * The packet fields of the simple set live in key words 2, 3 and 9;
 * struct sw_flow_simple holds those three words, right in the simple
 * fields' bits (SW_FLOW_SIMPLE_WORD_*; other bits are unspecified), and the
 * packet's tcp_flags (which flow statistics collect).
 */
#define SW_FLOW_SIMPLE_WORDS 3
extern const uint8_t sw_flow_simple_word[SW_FLOW_SIMPLE_WORDS]; /* {2, 3, 9} */

struct sw_flow_simple {
    uint64_t w[SW_FLOW_SIMPLE_WORDS]; /* key words sw_flow_simple_word[i] */
    uint16_t tcp_flags;
};

/* True if @mask has no bit outside the simple fields. Pure. */
bool sw_flow_mask_is_simple(const struct sw_flow_mask *mask);

/*
 * The simple fields of the frame @data of @len bytes: returns true and
 * fills @out so that, in every bit of the simple fields, out->w[i] equals
 * word sw_flow_simple_word[i] of the key sw_flow_extract() makes for the
 * frame, and out->tcp_flags equals its tcp_flags. Returns false (and @out
 * is unspecified) for frames outside sw_flow_extract()'s fast path
 * (IPv6, ARP, IPv4 with options or fragments, QinQ, anything malformed or
 * truncated, big-endian hosts): the caller extracts a whole key instead.
 * Reads nothing outside [@data, @data + @len). Pure.
 */
bool sw_flow_extract_simple(const uint8_t *data, size_t len, struct sw_flow_simple *out);
/* The same for a frame of @frame_len bytes whose first @len are at @data. */
bool sw_flow_extract_simple_frame(const uint8_t *data, size_t len, size_t frame_len,
                                  struct sw_flow_simple *out);

/*
 * Format (@key & @mask) in the text form described above, e.g.
 * "in_port=1,tcp,nw_src=10.0.0.0/24,tp_dst=80"; a catch-all mask gives "".
 * Writes at most @size bytes into @buf, always NUL-terminated when @size >
 * 0. Returns the length of the whole text (excluding the NUL) like
 * snprintf: a result >= @size means it was cut. The text parses back with
 * sw_flow_parse() to the same key and mask.
 */
int sw_flow_format(const struct sw_flow_key *key, const struct sw_flow_mask *mask, char *buf,
                   size_t size);

/* Longest text sw_flow_format() can produce, NUL included. */
#define SW_FLOW_FORMAT_MAX 1024

/*
 * Parse @text (the form above) into @key and @mask, both fully written:
 * key bits outside the mask are zero. A field given twice: the later value
 * wins for the bits its mask covers. Returns 0, or -EINVAL with a message
 * in @err (if not NULL; @err_size bytes, NUL-terminated) naming the
 * offending field.
 */
int sw_flow_parse(const char *text, struct sw_flow_key *key, struct sw_flow_mask *mask,
                  char *err, size_t err_size);

#endif /* SW_FLOW_H */
