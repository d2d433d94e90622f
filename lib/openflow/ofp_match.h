/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofp_match.h — OpenFlow matches, version-independent.
 *
 * struct ofp_match_fields holds what a flow matches on as the set of
 * OpenFlow 1.3 OXM basic fields (OFPXMC_OPENFLOW_BASIC, fields 0..39):
 *
 *   - `present` has bit f set when field f is matched; `masked` has bit f
 *     set when the field carries a mask (a subset of `present`);
 *   - each field's value and mask live at a fixed offset in `value[]` and
 *     `mask[]`, in NETWORK byte order and exactly as long as the field's
 *     OXM payload (ofp_oxm_field_len(): 2 for eth_type, 6 for MACs, 3 for
 *     pbb_isid, 16 for IPv6 addresses...). Bytes of absent fields and masks
 *     of unmasked fields are zero, so two structs built through this API
 *     compare equal with ofp_match_equal() (and with memcmp()).
 *   - vlan_vid uses the 1.3 encoding: OFPVID_PRESENT (0x1000) | VID for a
 *     tagged frame, OFPVID_NONE (0) for no tag; 0x1000/0x1000 is "any tag".
 *
 * A 1.0 `struct ofp_match` (40 bytes with wildcard bits) decodes into the
 * same representation: fields the 1.0 wildcards leave exact or prefix-
 * masked become present; fields whose prerequisites the 1.0 match does not
 * establish (nw_src without dl_type=0x0800/0x0806, tp_dst without an exact
 * nw_proto...) are dropped, as 1.0 switches ignore them; 1.0 reserved port
 * numbers (0xff00..0xffff) become their 1.3 values (0xffffff00..). Encoding
 * to 1.0 fails with OFPBMC_BAD_FIELD for a field 1.0 cannot express (ipv6,
 * mpls, metadata, ...) and OFPBMC_BAD_WILDCARDS/BAD_MASK for a mask it
 * cannot express (only nw_src/nw_dst take prefix masks).
 *
 * Validation (done by the OXM decoder, and by ofp_match_validate() for a
 * struct built by hand): exact length per field, masks only on maskable
 * fields (OFPBMC_BAD_MASK), no value bits outside the mask
 * (OFPBMC_BAD_WILDCARDS), values within the field's bit width
 * (OFPBMC_BAD_VALUE), no field twice (OFPBMC_DUP_FIELD), and the
 * prerequisites of the 1.3 specification's OXM table, matched exactly
 * (OFPBMC_BAD_PREREQ).
 *
 * Pure functions on caller memory: any thread.
 */
#ifndef OFP_MATCH_H
#define OFP_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ofp_errors.h"

/* OXM class of the basic fields and the other classes we recognise. */
#define OFPXMC_NXM_0 0x0000
#define OFPXMC_NXM_1 0x0001
#define OFPXMC_OPENFLOW_BASIC 0x8000
#define OFPXMC_EXPERIMENTER 0xffff

enum ofp_oxm_field {
    OFPXMT_IN_PORT = 0,
    OFPXMT_IN_PHY_PORT = 1,
    OFPXMT_METADATA = 2,
    OFPXMT_ETH_DST = 3,
    OFPXMT_ETH_SRC = 4,
    OFPXMT_ETH_TYPE = 5,
    OFPXMT_VLAN_VID = 6,
    OFPXMT_VLAN_PCP = 7,
    OFPXMT_IP_DSCP = 8,
    OFPXMT_IP_ECN = 9,
    OFPXMT_IP_PROTO = 10,
    OFPXMT_IPV4_SRC = 11,
    OFPXMT_IPV4_DST = 12,
    OFPXMT_TCP_SRC = 13,
    OFPXMT_TCP_DST = 14,
    OFPXMT_UDP_SRC = 15,
    OFPXMT_UDP_DST = 16,
    OFPXMT_SCTP_SRC = 17,
    OFPXMT_SCTP_DST = 18,
    OFPXMT_ICMPV4_TYPE = 19,
    OFPXMT_ICMPV4_CODE = 20,
    OFPXMT_ARP_OP = 21,
    OFPXMT_ARP_SPA = 22,
    OFPXMT_ARP_TPA = 23,
    OFPXMT_ARP_SHA = 24,
    OFPXMT_ARP_THA = 25,
    OFPXMT_IPV6_SRC = 26,
    OFPXMT_IPV6_DST = 27,
    OFPXMT_IPV6_FLABEL = 28,
    OFPXMT_ICMPV6_TYPE = 29,
    OFPXMT_ICMPV6_CODE = 30,
    OFPXMT_IPV6_ND_TARGET = 31,
    OFPXMT_IPV6_ND_SLL = 32,
    OFPXMT_IPV6_ND_TLL = 33,
    OFPXMT_MPLS_LABEL = 34,
    OFPXMT_MPLS_TC = 35,
    OFPXMT_MPLS_BOS = 36,
    OFPXMT_PBB_ISID = 37,
    OFPXMT_TUNNEL_ID = 38,
    OFPXMT_IPV6_EXTHDR = 39,
    OFP_OXM_N_FIELDS = 40
};

#define OFPVID_PRESENT 0x1000
#define OFPVID_NONE 0x0000

/* Sum of all field lengths (165), rounded up. */
#define OFP_MATCH_BYTES 168

struct ofp_match_fields {
    uint64_t present;               /* bit f: field f is matched */
    uint64_t masked;                /* bit f: field f has a mask */
    uint8_t value[OFP_MATCH_BYTES]; /* network byte order, see above */
    uint8_t mask[OFP_MATCH_BYTES];
};

/* 1.0 match wildcard bits (struct ofp_match.wildcards). */
#define OFPFW10_IN_PORT (1u << 0)
#define OFPFW10_DL_VLAN (1u << 1)
#define OFPFW10_DL_SRC (1u << 2)
#define OFPFW10_DL_DST (1u << 3)
#define OFPFW10_DL_TYPE (1u << 4)
#define OFPFW10_NW_PROTO (1u << 5)
#define OFPFW10_TP_SRC (1u << 6)
#define OFPFW10_TP_DST (1u << 7)
#define OFPFW10_NW_SRC_SHIFT 8
#define OFPFW10_NW_DST_SHIFT 14
#define OFPFW10_DL_VLAN_PCP (1u << 20)
#define OFPFW10_NW_TOS (1u << 21)
#define OFPFW10_ALL ((1u << 22) - 1)
#define OFP10_MATCH_LEN 40

/* Static description of a basic field: "eth_type" style name (ovs-ofctl's
 * OXM name), payload length in bytes, whether a mask is allowed. 0/NULL
 * for fields out of range. */
const char *ofp_oxm_field_name(enum ofp_oxm_field field);
unsigned ofp_oxm_field_len(enum ofp_oxm_field field);
bool ofp_oxm_field_maskable(enum ofp_oxm_field field);

/* Empty match (matches everything). */
void ofp_match_init(struct ofp_match_fields *m);

/*
 * Set @field to @value (ofp_oxm_field_len() bytes, network order) with
 * @mask (same length) or exact when @mask is NULL. Replaces a previous
 * setting. No validation here (see ofp_match_validate()). Returns 0, or
 * -EINVAL for an unknown field or NULL pointers.
 */
int ofp_match_set(struct ofp_match_fields *m, enum ofp_oxm_field field, const void *value,
                  const void *mask);
/* The same with host-order integers for fields of at most 8 bytes (the low
 * ofp_oxm_field_len() bytes are used); @has_mask false means exact. */
int ofp_match_set_uint(struct ofp_match_fields *m, enum ofp_oxm_field field, uint64_t value,
                       bool has_mask, uint64_t mask);
/* Remove @field (no-op when absent). */
void ofp_match_clear(struct ofp_match_fields *m, enum ofp_oxm_field field);

/*
 * Whether @field is present; when it is, copies its value and mask (all
 * ones when unmasked) to @value/@mask if not NULL.
 */
bool ofp_match_get(const struct ofp_match_fields *m, enum ofp_oxm_field field, void *value,
                   void *mask);
/* Host-order value (0 when absent or wider than 8 bytes). */
uint64_t ofp_match_get_uint(const struct ofp_match_fields *m, enum ofp_oxm_field field);
uint64_t ofp_match_get_uint_mask(const struct ofp_match_fields *m, enum ofp_oxm_field field);

bool ofp_match_equal(const struct ofp_match_fields *a, const struct ofp_match_fields *b);

/* OFPERR_NONE, or the OFPBMC_* error a 1.3 switch would send for @m. */
enum ofp_err ofp_match_validate(const struct ofp_match_fields *m);

/*
 * Decode an OXM field list (the body of a struct ofp_match after its
 * type/length header, without padding) into @m. OFPERR_NONE or an OFPBMC_*
 * error; @m is left initialised either way.
 */
enum ofp_err ofp_oxm_decode(const uint8_t *data, size_t len, struct ofp_match_fields *m);

/* Decode a 1.0 40-byte struct ofp_match (@len must be 40). */
enum ofp_err ofp_match10_decode(const uint8_t *data, size_t len, struct ofp_match_fields *m);

/*
 * Encode @m as a 1.0 struct ofp_match into @out (OFP10_MATCH_LEN = 40 bytes). Returns
 * OFPERR_NONE or the OFPBMC_* error describing what 1.0 cannot express.
 */
enum ofp_err ofp_match10_encode(const struct ofp_match_fields *m, uint8_t *out);

/* Bytes an OXM list for @m takes (without the match header and padding). */
size_t ofp_oxm_encoded_len(const struct ofp_match_fields *m);
/* Write the OXM list of @m (fields in field order) into @out, which has
 * room for ofp_oxm_encoded_len() bytes. Returns the bytes written. */
size_t ofp_oxm_encode(const struct ofp_match_fields *m, uint8_t *out);

#endif
