/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Messages: a small table-driven codec. Each body layout of each version is
 * a schema — a list of wire fields mapped onto members of the shared
 * structs of ofp_msg.h — and one interpreter decodes, encodes and compares
 * every schema, so the byte-level rules (bounds, element lengths, padding)
 * live in one place. What a layout cannot say (semantic checks, hello
 * elements, table-feature properties, meter-band tails) is done by small
 * functions next to the tables.
 *
 * Internal convention: 0 is success, a positive value is an enum ofp_err,
 * OFP__NOMEM is an allocation failure.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "kk_common.h"
#include "ofp_internal.h"
#include "ofp_msg.h"

#define V10 OFP10_VERSION
#define V13 OFP13_VERSION

/* ---- schemas ---- */

enum op {
    OP_END,
    OP_INT,     /* w wire bytes <-> s struct bytes (unsigned integer) */
    OP_PORT16,  /* 1.0 port (16 bits) <-> uint32_t (1.3 numbering) */
    OP_PAD,     /* w zero bytes */
    OP_BYTES,   /* w raw bytes <-> array at off */
    OP_LEN16,   /* this element's length (u16) */
    OP_MATCH10, /* struct ofp_match_fields, 40-byte 1.0 match */
    OP_MATCH13, /* struct ofp_match_fields, OXM match padded to 8 */
    OP_ALEN16,  /* u16 length of the OP_ACTIONS that follows */
    OP_ACTIONS, /* struct ofp_action_list; length from OP_ALEN16 or the rest */
    OP_INSTS,   /* struct ofp_instruction_list, the rest */
    OP_DATA,    /* struct ofp_bytes, the rest */
    OP_LIST,    /* elements of `sub` to the end: pointer at off, size_t at off2 */
    OP_STRUCT,  /* embedded struct at off described by `sub` */
    OP_PSTRUCT, /* pointer at off to one struct described by `sub` */
    OP_CUSTOM,  /* hooks; w = fixed wire size, 0 = the rest */
};

struct ctx {
    uint8_t version;
    struct ofp_arena **arena;
};

struct custom {
    int (*decode)(const struct ctx *c, const uint8_t *p, size_t len, void *obj, size_t *used);
    int (*encode)(const struct ctx *c, const void *obj, struct ofp_buf *b);
    bool (*equal)(const void *a, const void *b);
};

struct schema;

struct fld {
    uint8_t op;
    uint16_t w;
    uint8_t s;
    uint16_t off, off2;
    const struct schema *sub;
    const struct custom *custom;
};

struct schema {
    const struct fld *f;
    size_t size;          /* struct size (list elements, PSTRUCT) */
    uint16_t len_err;     /* enum ofp_err for length problems */
};

#define MEMBER_SIZE(T, m) sizeof(((T *)0)->m)
#define INT_(T, m, w) {OP_INT, w, MEMBER_SIZE(T, m), offsetof(T, m), 0, NULL, NULL}
#define PORT16_(T, m) {OP_PORT16, 2, 4, offsetof(T, m), 0, NULL, NULL}
#define PAD_(n) {OP_PAD, n, 0, 0, 0, NULL, NULL}
#define BYTES_(T, m) {OP_BYTES, MEMBER_SIZE(T, m), 0, offsetof(T, m), 0, NULL, NULL}
#define LEN16_ {OP_LEN16, 2, 0, 0, 0, NULL, NULL}
#define OPM_(op, T, m) {op, 0, 0, offsetof(T, m), 0, NULL, NULL}
#define LIST_(T, m, n, sch) {OP_LIST, 0, 0, offsetof(T, m), offsetof(T, n), &sch, NULL}
#define STRUCT_(T, m, sch) {OP_STRUCT, 0, 0, offsetof(T, m), 0, &sch, NULL}
#define PSTRUCT_(T, m, sch) {OP_PSTRUCT, 0, 0, offsetof(T, m), 0, &sch, NULL}
#define CUSTOM_(w, hooks) {OP_CUSTOM, w, 0, 0, 0, NULL, &hooks}
#define END_ {OP_END, 0, 0, 0, 0, NULL, NULL}

#define U8(m) INT_(S, m, 1)
#define U16(m) INT_(S, m, 2)
#define U32(m) INT_(S, m, 4)
#define U64(m) INT_(S, m, 8)
#define PORT16(m) PORT16_(S, m)
#define BYTES(m) BYTES_(S, m)
#define MATCH10(m) OPM_(OP_MATCH10, S, m)
#define MATCH13(m) OPM_(OP_MATCH13, S, m)
#define ALEN16 {OP_ALEN16, 2, 0, 0, 0, NULL, NULL}
#define ACTIONS(m) OPM_(OP_ACTIONS, S, m)
#define INSTS(m) OPM_(OP_INSTS, S, m)
#define DATA(m) OPM_(OP_DATA, S, m)
#define LIST(m, n, sch) LIST_(S, m, n, sch)

#define SCHEMA(name, T, err, ...)                                \
    static const struct fld name##_f[] = {__VA_ARGS__, END_};    \
    static const struct schema name = {name##_f, sizeof(T), OFPERR_##err}

/* -- ports -- */
#define S struct ofp_port
SCHEMA(port10, S, OFPBRC_BAD_LEN, PORT16(port_no), BYTES(hw_addr), BYTES(name), U32(config),
       U32(state), U32(curr), U32(advertised), U32(supported), U32(peer));
SCHEMA(port13, S, OFPBRC_BAD_LEN, U32(port_no), PAD_(4), BYTES(hw_addr), PAD_(2), BYTES(name),
       U32(config), U32(state), U32(curr), U32(advertised), U32(supported), U32(peer),
       U32(curr_speed), U32(max_speed));
#undef S

/* -- simple messages -- */
#define S struct ofp_features_reply
SCHEMA(features10, S, OFPBRC_BAD_LEN, U64(datapath_id), U32(n_buffers), U8(n_tables), PAD_(3),
       U32(capabilities), U32(actions), LIST(ports, n_ports, port10));
SCHEMA(features13, S, OFPBRC_BAD_LEN, U64(datapath_id), U32(n_buffers), U8(n_tables),
       U8(auxiliary_id), PAD_(2), U32(capabilities), PAD_(4));
#undef S
#define S struct ofp_switch_config
SCHEMA(config_s, S, OFPBRC_BAD_LEN, U16(flags), U16(miss_send_len));
#undef S
#define S struct ofp_packet_in
SCHEMA(packet_in10, S, OFPBRC_BAD_LEN, U32(buffer_id), U16(total_len), PORT16(in_port),
       U8(reason), PAD_(1), DATA(data));
SCHEMA(packet_in13, S, OFPBRC_BAD_LEN, U32(buffer_id), U16(total_len), U8(reason), U8(table_id),
       U64(cookie), MATCH13(match), PAD_(2), DATA(data));
#undef S
#define S struct ofp_flow_removed
SCHEMA(flow_removed10, S, OFPBRC_BAD_LEN, MATCH10(match), U64(cookie), U16(priority), U8(reason),
       PAD_(1), U32(duration_sec), U32(duration_nsec), U16(idle_timeout), PAD_(2),
       U64(packet_count), U64(byte_count));
SCHEMA(flow_removed13, S, OFPBRC_BAD_LEN, U64(cookie), U16(priority), U8(reason), U8(table_id),
       U32(duration_sec), U32(duration_nsec), U16(idle_timeout), U16(hard_timeout),
       U64(packet_count), U64(byte_count), MATCH13(match));
#undef S
#define S struct ofp_port_status
SCHEMA(port_status10, S, OFPBRC_BAD_LEN, U8(reason), PAD_(7), STRUCT_(S, desc, port10));
SCHEMA(port_status13, S, OFPBRC_BAD_LEN, U8(reason), PAD_(7), STRUCT_(S, desc, port13));
#undef S
#define S struct ofp_packet_out
SCHEMA(packet_out10, S, OFPBRC_BAD_LEN, U32(buffer_id), PORT16(in_port), ALEN16,
       ACTIONS(actions), DATA(data));
SCHEMA(packet_out13, S, OFPBRC_BAD_LEN, U32(buffer_id), U32(in_port), ALEN16, PAD_(6),
       ACTIONS(actions), DATA(data));
#undef S
#define S struct ofp_flow_mod
SCHEMA(flow_mod10, S, OFPBRC_BAD_LEN, MATCH10(match), U64(cookie), U16(command),
       U16(idle_timeout), U16(hard_timeout), U16(priority), U32(buffer_id), PORT16(out_port),
       U16(flags), ACTIONS(actions));
SCHEMA(flow_mod13, S, OFPBRC_BAD_LEN, U64(cookie), U64(cookie_mask), U8(table_id), U8(command),
       U16(idle_timeout), U16(hard_timeout), U16(priority), U32(buffer_id), U32(out_port),
       U32(out_group), U16(flags), PAD_(2), MATCH13(match), INSTS(instructions));
#undef S
#define S struct ofp_bucket
SCHEMA(bucket13, S, OFPGMFC_BAD_BUCKET, LEN16_, U16(weight), U32(watch_port), U32(watch_group),
       PAD_(4), ACTIONS(actions));
#undef S
#define S struct ofp_group_mod
SCHEMA(group_mod13, S, OFPBRC_BAD_LEN, U16(command), U8(type), PAD_(1), U32(group_id),
       LIST(buckets, n_buckets, bucket13));
#undef S
#define S struct ofp_port_mod
SCHEMA(port_mod10, S, OFPBRC_BAD_LEN, PORT16(port_no), BYTES(hw_addr), U32(config), U32(mask),
       U32(advertise), PAD_(4));
SCHEMA(port_mod13, S, OFPBRC_BAD_LEN, U32(port_no), PAD_(4), BYTES(hw_addr), PAD_(2),
       U32(config), U32(mask), U32(advertise), PAD_(4));
#undef S
#define S struct ofp_table_mod
SCHEMA(table_mod13, S, OFPBRC_BAD_LEN, U8(table_id), PAD_(3), U32(config));
#undef S
#define S struct ofp_role
SCHEMA(role13, S, OFPBRC_BAD_LEN, U32(role), PAD_(4), U64(generation_id));
#undef S
#define S struct ofp_async_config
SCHEMA(async13, S, OFPBRC_BAD_LEN, U32(packet_in_mask[0]), U32(packet_in_mask[1]),
       U32(port_status_mask[0]), U32(port_status_mask[1]), U32(flow_removed_mask[0]),
       U32(flow_removed_mask[1]));
#undef S
#define S struct ofp_bytes
SCHEMA(bytes_s, S, OFPBRC_BAD_LEN, DATA(data));
#undef S
#define S struct ofp_experimenter_msg
SCHEMA(experimenter13, S, OFPBRC_BAD_LEN, U32(experimenter), U32(exp_type), DATA(data));
#undef S

/* -- meter bands: a 4-byte tail that depends on the type -- */

static int band_tail_decode(const struct ctx *c, const uint8_t *p, size_t len, void *obj,
                            size_t *used)
{
    struct ofp_meter_band *band = obj;
    (void)c;
    (void)len;  /* w = 4: the interpreter checked it */
    switch (band->type) {
    case OFPMBT_DROP:
        break;
    case OFPMBT_DSCP_REMARK:
        band->prec_level = p[0];
        break;
    case OFPMBT_EXPERIMENTER:
        band->experimenter = ofp__get32(p);
        break;
    default:
        return OFPERR_OFPMMFC_BAD_BAND;
    }
    *used = 4;
    return 0;
}

static int band_tail_encode(const struct ctx *c, const void *obj, struct ofp_buf *b)
{
    const struct ofp_meter_band *band = obj;
    (void)c;
    switch (band->type) {
    case OFPMBT_DROP:
        ofp__buf_put(b, NULL, 4);
        break;
    case OFPMBT_DSCP_REMARK:
        ofp__buf_put8(b, band->prec_level);
        ofp__buf_put(b, NULL, 3);
        break;
    case OFPMBT_EXPERIMENTER:
        ofp__buf_put32(b, band->experimenter);
        break;
    default:
        return OFPERR_OFPMMFC_BAD_BAND;
    }
    return 0;
}

static bool band_tail_equal(const void *a, const void *b)
{
    const struct ofp_meter_band *x = a, *y = b;
    return x->prec_level == y->prec_level && x->experimenter == y->experimenter;
}

static const struct custom band_tail = {band_tail_decode, band_tail_encode, band_tail_equal};

#define S struct ofp_meter_band
SCHEMA(band13, S, OFPBRC_BAD_LEN, U16(type), LEN16_, U32(rate), U32(burst_size),
       CUSTOM_(4, band_tail));
#undef S
#define S struct ofp_meter_mod
SCHEMA(meter_mod13, S, OFPBRC_BAD_LEN, U16(command), U16(flags), U32(meter_id),
       LIST(bands, n_bands, band13));
#undef S

/* -- multipart bodies (obj is struct ofp_multipart) -- */
#define S struct ofp_desc_stats
SCHEMA(desc_s, S, OFPBRC_BAD_LEN, BYTES(mfr_desc), BYTES(hw_desc), BYTES(sw_desc),
       BYTES(serial_num), BYTES(dp_desc));
#undef S
#define S struct ofp_flow_stats
SCHEMA(flow_stats10, S, OFPBRC_BAD_LEN, LEN16_, U8(table_id), PAD_(1), MATCH10(match),
       U32(duration_sec), U32(duration_nsec), U16(priority), U16(idle_timeout),
       U16(hard_timeout), PAD_(6), U64(cookie), U64(packet_count), U64(byte_count),
       ACTIONS(actions));
SCHEMA(flow_stats13, S, OFPBRC_BAD_LEN, LEN16_, U8(table_id), PAD_(1), U32(duration_sec),
       U32(duration_nsec), U16(priority), U16(idle_timeout), U16(hard_timeout), U16(flags),
       PAD_(4), U64(cookie), U64(packet_count), U64(byte_count), MATCH13(match),
       INSTS(instructions));
#undef S
#define S struct ofp_table_stats
SCHEMA(table_stats10, S, OFPBRC_BAD_LEN, U8(table_id), PAD_(3), BYTES(name), U32(wildcards),
       U32(max_entries), U32(active_count), U64(lookup_count), U64(matched_count));
SCHEMA(table_stats13, S, OFPBRC_BAD_LEN, U8(table_id), PAD_(3), U32(active_count),
       U64(lookup_count), U64(matched_count));
#undef S
#define PORT_COUNTERS                                                                     \
    U64(rx_packets), U64(tx_packets), U64(rx_bytes), U64(tx_bytes), U64(rx_dropped),       \
        U64(tx_dropped), U64(rx_errors), U64(tx_errors), U64(rx_frame_err), U64(rx_over_err), \
        U64(rx_crc_err), U64(collisions)
#define S struct ofp_port_stats
SCHEMA(port_stats10, S, OFPBRC_BAD_LEN, PORT16(port_no), PAD_(6), PORT_COUNTERS);
SCHEMA(port_stats13, S, OFPBRC_BAD_LEN, U32(port_no), PAD_(4), PORT_COUNTERS, U32(duration_sec),
       U32(duration_nsec));
#undef S
#define S struct ofp_queue_stats
SCHEMA(queue_stats10, S, OFPBRC_BAD_LEN, PORT16(port_no), PAD_(2), U32(queue_id), U64(tx_bytes),
       U64(tx_packets), U64(tx_errors));
SCHEMA(queue_stats13, S, OFPBRC_BAD_LEN, U32(port_no), U32(queue_id), U64(tx_bytes),
       U64(tx_packets), U64(tx_errors), U32(duration_sec), U32(duration_nsec));
#undef S
#define S struct ofp_bucket_counter
SCHEMA(bucket_counter13, S, OFPBRC_BAD_LEN, U64(packet_count), U64(byte_count));
#undef S
#define S struct ofp_group_stats
SCHEMA(group_stats13, S, OFPBRC_BAD_LEN, LEN16_, PAD_(2), U32(group_id), U32(ref_count), PAD_(4),
       U64(packet_count), U64(byte_count), U32(duration_sec), U32(duration_nsec),
       LIST(buckets, n_buckets, bucket_counter13));
#undef S
#define S struct ofp_group_desc
SCHEMA(group_desc13, S, OFPBRC_BAD_LEN, LEN16_, U8(type), PAD_(1), U32(group_id),
       LIST(buckets, n_buckets, bucket13));
#undef S
#define S struct ofp_meter_band_stats
SCHEMA(band_stats13, S, OFPBRC_BAD_LEN, U64(packet_band_count), U64(byte_band_count));
#undef S
#define S struct ofp_meter_stats
SCHEMA(meter_stats13, S, OFPBRC_BAD_LEN, U32(meter_id), LEN16_, PAD_(6), U32(flow_count),
       U64(packet_in_count), U64(byte_in_count), U32(duration_sec), U32(duration_nsec),
       LIST(bands, n_bands, band_stats13));
#undef S
#define S struct ofp_meter_config
SCHEMA(meter_config13, S, OFPBRC_BAD_LEN, LEN16_, U16(flags), U32(meter_id),
       LIST(bands, n_bands, band13));
#undef S

/* -- table features properties -- */

static bool prop_is_ids16(uint16_t t)
{
    return t == OFPTFPT_INSTRUCTIONS || t == OFPTFPT_INSTRUCTIONS_MISS ||
           (t >= OFPTFPT_WRITE_ACTIONS && t <= OFPTFPT_APPLY_ACTIONS_MISS);
}

static bool prop_is_tables(uint16_t t)
{
    return t == OFPTFPT_NEXT_TABLES || t == OFPTFPT_NEXT_TABLES_MISS;
}

static bool prop_is_oxm(uint16_t t)
{
    return t == OFPTFPT_MATCH || t == OFPTFPT_WILDCARDS ||
           (t >= OFPTFPT_WRITE_SETFIELD && t <= OFPTFPT_APPLY_SETFIELD_MISS);
}

static bool prop_is_exp(uint16_t t)
{
    return t == OFPTFPT_EXPERIMENTER || t == OFPTFPT_EXPERIMENTER_MISS;
}

static int prop_decode(const struct ctx *c, const uint8_t *p, uint16_t len,
                       struct ofp_table_feature_prop *prop)
{
    const uint8_t *body = p + 4;
    size_t blen = (size_t)len - 4;
    prop->type = ofp__get16(p);
    if (prop_is_exp(prop->type)) {
        if (blen < 8)
            return OFPERR_OFPTFFC_BAD_LEN;
        prop->experimenter = ofp__get32(body);
        prop->exp_type = ofp__get32(body + 4);
        prop->data.len = blen - 8;
        if (prop->data.len && !(prop->data.data = ofp__memdup(c->arena, body + 8, blen - 8)))
            return OFP__NOMEM;
        return 0;
    }
    size_t n = 0;
    if (prop_is_ids16(prop->type)) {
        for (size_t off = 0; off < blen; n++) {
            if (blen - off < 4)
                return OFPERR_OFPTFFC_BAD_LEN;
            uint16_t t = ofp__get16(body + off), l = ofp__get16(body + off + 2);
            if (l != (t == 0xffff ? 8 : 4) || l > blen - off)
                return OFPERR_OFPTFFC_BAD_LEN;
            off += l;
        }
    } else if (prop_is_tables(prop->type)) {
        n = blen;
    } else if (prop_is_oxm(prop->type)) {
        if (blen % 4)
            return OFPERR_OFPTFFC_BAD_LEN;
        n = blen / 4;
    } else {
        return OFPERR_OFPTFFC_BAD_TYPE;
    }
    if (n && !(prop->ids = ofp__alloc(c->arena, n * sizeof(*prop->ids))))
        return OFP__NOMEM;
    prop->n_ids = n;
    for (size_t i = 0, off = 0; i < n; i++) {
        if (prop_is_ids16(prop->type)) {
            uint16_t t = ofp__get16(body + off), l = ofp__get16(body + off + 2);
            prop->ids[i] = t;
            if (t == 0xffff)
                prop->ids[i] |= (uint64_t)ofp__get32(body + off + 4) << 32;
            off += l;
        } else if (prop_is_tables(prop->type)) {
            prop->ids[i] = body[i];
        } else {
            prop->ids[i] = ofp__get32(body + 4 * i);
        }
    }
    return 0;
}

static int props_decode(const struct ctx *c, const uint8_t *p, size_t len, void *obj,
                        size_t *used)
{
    struct ofp_table_features *tf = obj;
    size_t n = 0;
    for (size_t off = 0; off < len; n++) {
        if (len - off < 4)
            return OFPERR_OFPTFFC_BAD_LEN;
        uint16_t plen = ofp__get16(p + off + 2);
        if (plen < 4 || kk_align_up(plen, 8) > len - off)
            return OFPERR_OFPTFFC_BAD_LEN;
        off += kk_align_up(plen, 8);
    }
    if (n && !(tf->props = ofp__alloc(c->arena, n * sizeof(*tf->props))))
        return OFP__NOMEM;
    tf->n_props = n;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t plen = ofp__get16(p + off + 2);
        int rc = prop_decode(c, p + off, plen, &tf->props[i]);
        if (rc)
            return rc;
        off += kk_align_up(plen, 8);
    }
    *used = len;
    return 0;
}

static int props_encode(const struct ctx *c, const void *obj, struct ofp_buf *b)
{
    const struct ofp_table_features *tf = obj;
    (void)c;
    if (tf->n_props && !tf->props)
        return OFPERR_OFPTFFC_BAD_LEN;
    for (size_t i = 0; i < tf->n_props; i++) {
        const struct ofp_table_feature_prop *prop = &tf->props[i];
        size_t start = b->len;
        ofp__buf_put16(b, prop->type);
        ofp__buf_put16(b, 0);
        if (prop->n_ids && !prop->ids)
            return OFPERR_OFPTFFC_BAD_LEN;
        if (prop_is_exp(prop->type)) {
            ofp__buf_put32(b, prop->experimenter);
            ofp__buf_put32(b, prop->exp_type);
            ofp__buf_put(b, prop->data.data, prop->data.len);
        } else if (prop_is_ids16(prop->type)) {
            for (size_t k = 0; k < prop->n_ids; k++) {
                uint16_t t = (uint16_t)prop->ids[k];
                if (t != 0xffff && prop->ids[k] >> 16)
                    return OFPERR_OFPTFFC_BAD_ARGUMENT;
                ofp__buf_put16(b, t);
                ofp__buf_put16(b, t == 0xffff ? 8 : 4);
                if (t == 0xffff)
                    ofp__buf_put32(b, (uint32_t)(prop->ids[k] >> 32));
            }
        } else if (prop_is_tables(prop->type)) {
            for (size_t k = 0; k < prop->n_ids; k++) {
                if (prop->ids[k] > 0xff)
                    return OFPERR_OFPTFFC_BAD_ARGUMENT;
                ofp__buf_put8(b, (uint8_t)prop->ids[k]);
            }
        } else if (prop_is_oxm(prop->type)) {
            for (size_t k = 0; k < prop->n_ids; k++) {
                if (prop->ids[k] > UINT32_MAX)
                    return OFPERR_OFPTFFC_BAD_ARGUMENT;
                ofp__buf_put32(b, (uint32_t)prop->ids[k]);
            }
        } else {
            return OFPERR_OFPTFFC_BAD_TYPE;
        }
        size_t len = b->len - start;
        if (len > 0xfff0)
            return OFPERR_OFPTFFC_BAD_LEN;
        ofp__buf_patch16(b, start + 2, (uint16_t)len);
        ofp__buf_pad8(b, start);
    }
    return 0;
}

static bool props_equal(const void *a, const void *b)
{
    const struct ofp_table_features *x = a, *y = b;
    if (x->n_props != y->n_props)
        return false;
    for (size_t i = 0; i < x->n_props; i++) {
        const struct ofp_table_feature_prop *p = &x->props[i], *q = &y->props[i];
        if (p->type != q->type || p->n_ids != q->n_ids || p->experimenter != q->experimenter ||
            p->exp_type != q->exp_type || p->data.len != q->data.len ||
            (p->n_ids && memcmp(p->ids, q->ids, p->n_ids * sizeof(*p->ids)) != 0) ||
            (p->data.len && memcmp(p->data.data, q->data.data, p->data.len) != 0))
            return false;
    }
    return true;
}

static const struct custom props_hooks = {props_decode, props_encode, props_equal};

#define S struct ofp_table_features
SCHEMA(table_features13, S, OFPTFFC_BAD_LEN, LEN16_, U8(table_id), PAD_(5), BYTES(name),
       U64(metadata_match), U64(metadata_write), U32(config), U32(max_entries),
       CUSTOM_(0, props_hooks));
#undef S

#define S struct ofp_multipart
/* requests */
SCHEMA(mp_empty, S, OFPBRC_BAD_LEN, PAD_(0));
SCHEMA(mp_flow_req10, S, OFPBRC_BAD_LEN, MATCH10(u.flow_req.match), U8(u.flow_req.table_id),
       PAD_(1), PORT16(u.flow_req.out_port));
SCHEMA(mp_flow_req13, S, OFPBRC_BAD_LEN, U8(u.flow_req.table_id), PAD_(3),
       U32(u.flow_req.out_port), U32(u.flow_req.out_group), PAD_(4), U64(u.flow_req.cookie),
       U64(u.flow_req.cookie_mask), MATCH13(u.flow_req.match));
SCHEMA(mp_port_req10, S, OFPBRC_BAD_LEN, PORT16(u.port_no), PAD_(6));
SCHEMA(mp_port_req13, S, OFPBRC_BAD_LEN, U32(u.port_no), PAD_(4));
SCHEMA(mp_queue_req10, S, OFPBRC_BAD_LEN, PORT16(u.queue_req.port_no), PAD_(2),
       U32(u.queue_req.queue_id));
SCHEMA(mp_queue_req13, S, OFPBRC_BAD_LEN, U32(u.queue_req.port_no), U32(u.queue_req.queue_id));
SCHEMA(mp_group_req13, S, OFPBRC_BAD_LEN, U32(u.group_id), PAD_(4));
SCHEMA(mp_meter_req13, S, OFPBRC_BAD_LEN, U32(u.meter_id), PAD_(4));
SCHEMA(mp_exp10, S, OFPBRC_BAD_LEN, U32(u.experimenter.experimenter), DATA(u.experimenter.data));
SCHEMA(mp_exp13, S, OFPBRC_BAD_LEN, U32(u.experimenter.experimenter),
       U32(u.experimenter.exp_type), DATA(u.experimenter.data));
/* replies */
SCHEMA(mp_desc, S, OFPBRC_BAD_LEN, PSTRUCT_(S, u.desc, desc_s));
SCHEMA(mp_aggregate, S, OFPBRC_BAD_LEN, U64(u.aggregate.packet_count),
       U64(u.aggregate.byte_count), U32(u.aggregate.flow_count), PAD_(4));
SCHEMA(mp_flow10, S, OFPBRC_BAD_LEN, LIST(list.flow, n, flow_stats10));
SCHEMA(mp_flow13, S, OFPBRC_BAD_LEN, LIST(list.flow, n, flow_stats13));
SCHEMA(mp_table10, S, OFPBRC_BAD_LEN, LIST(list.table, n, table_stats10));
SCHEMA(mp_table13, S, OFPBRC_BAD_LEN, LIST(list.table, n, table_stats13));
SCHEMA(mp_port10, S, OFPBRC_BAD_LEN, LIST(list.port, n, port_stats10));
SCHEMA(mp_port13, S, OFPBRC_BAD_LEN, LIST(list.port, n, port_stats13));
SCHEMA(mp_queue10, S, OFPBRC_BAD_LEN, LIST(list.queue, n, queue_stats10));
SCHEMA(mp_queue13, S, OFPBRC_BAD_LEN, LIST(list.queue, n, queue_stats13));
SCHEMA(mp_group13, S, OFPBRC_BAD_LEN, LIST(list.group, n, group_stats13));
SCHEMA(mp_group_desc13, S, OFPBRC_BAD_LEN, LIST(list.group_desc, n, group_desc13));
SCHEMA(mp_group_features13, S, OFPBRC_BAD_LEN, U32(u.group_features.types),
       U32(u.group_features.capabilities), U32(u.group_features.max_groups[0]),
       U32(u.group_features.max_groups[1]), U32(u.group_features.max_groups[2]),
       U32(u.group_features.max_groups[3]), U32(u.group_features.actions[0]),
       U32(u.group_features.actions[1]), U32(u.group_features.actions[2]),
       U32(u.group_features.actions[3]));
SCHEMA(mp_meter13, S, OFPBRC_BAD_LEN, LIST(list.meter, n, meter_stats13));
SCHEMA(mp_meter_config13, S, OFPBRC_BAD_LEN, LIST(list.meter_config, n, meter_config13));
SCHEMA(mp_meter_features13, S, OFPBRC_BAD_LEN, U32(u.meter_features.max_meter),
       U32(u.meter_features.band_types), U32(u.meter_features.capabilities),
       U8(u.meter_features.max_bands), U8(u.meter_features.max_color), PAD_(2));
SCHEMA(mp_table_features13, S, OFPBRC_BAD_LEN, LIST(list.table_features, n, table_features13));
SCHEMA(mp_port_desc13, S, OFPBRC_BAD_LEN, LIST(list.port_desc, n, port13));
#undef S

/* ---- the interpreter ---- */

static bool is_variable(const struct fld *f)
{
    return f->op == OP_ACTIONS || f->op == OP_INSTS || f->op == OP_DATA || f->op == OP_LIST ||
           (f->op == OP_CUSTOM && f->w == 0);
}

/* Smallest wire size of an element; the match header counts 8. */
static size_t min_len(const struct schema *s)
{
    size_t n = 0;
    for (const struct fld *f = s->f; f->op != OP_END; f++) {
        switch (f->op) {
        case OP_INT:
        case OP_PORT16:
        case OP_PAD:
        case OP_BYTES:
        case OP_LEN16:
        case OP_ALEN16:
        case OP_CUSTOM:
            n += f->w;
            break;
        case OP_MATCH10:
            n += OFP10_MATCH_LEN;
            break;
        case OP_MATCH13:
            n += 8;
            break;
        case OP_STRUCT:
        case OP_PSTRUCT:
            n += min_len(f->sub);
            break;
        default:
            break;
        }
    }
    return n;
}

/* Offset of the LEN16 field in an element, -1 when it has none. */
static long len16_offset(const struct schema *s)
{
    size_t n = 0;
    for (const struct fld *f = s->f; f->op != OP_END; f++) {
        if (f->op == OP_LEN16)
            return (long)n;
        if (f->op == OP_MATCH13 || is_variable(f))
            return -1;
        n += f->op == OP_MATCH10 ? OFP10_MATCH_LEN : f->w;
    }
    return -1;
}

static bool has_variable(const struct schema *s)
{
    for (const struct fld *f = s->f; f->op != OP_END; f++)
        if (is_variable(f) || f->op == OP_MATCH13)
            return true;
    return false;
}

static uint64_t load_int(const void *p, unsigned s)
{
    switch (s) {
    case 1:
        return *(const uint8_t *)p;
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

static void store_int(void *p, unsigned s, uint64_t v)
{
    switch (s) {
    case 1:
        *(uint8_t *)p = (uint8_t)v;
        break;
    case 2: {
        uint16_t x = (uint16_t)v;
        memcpy(p, &x, 2);
        break;
    }
    case 4: {
        uint32_t x = (uint32_t)v;
        memcpy(p, &x, 4);
        break;
    }
    default:
        memcpy(p, &v, 8);
        break;
    }
}

static uint64_t get_be(const uint8_t *p, unsigned w)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < w; i++)
        v = v << 8 | p[i];
    return v;
}

static int decode_schema(const struct ctx *c, const struct schema *s, const uint8_t *p,
                         size_t avail, void *obj, size_t *used);

/* Elements of @sub filling [p, p + len) exactly. */
static int decode_list(const struct ctx *c, const struct schema *sub, const uint8_t *p,
                       size_t len, void **items, size_t *count)
{
    size_t min = min_len(sub), n = 0;
    long lo = len16_offset(sub);
    for (size_t off = 0; off < len; n++) {
        if (len - off < min || (lo < 0 && min == 0))
            return sub->len_err;
        size_t el = min;
        if (lo >= 0) {
            el = ofp__get16(p + off + (size_t)lo);
            if (el < min || el > len - off)
                return sub->len_err;
        } else if (has_variable(sub)) {
            el = len - off;  /* a self-sized element without a length: last one */
        }
        off += el;
    }
    *items = NULL;
    *count = 0;
    if (n == 0)
        return 0;
    uint8_t *arr = ofp__alloc(c->arena, n * sub->size);
    if (!arr)
        return OFP__NOMEM;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t u = 0;
        int rc = decode_schema(c, sub, p + off, len - off, arr + i * sub->size, &u);
        if (rc)
            return rc;
        off += u;
    }
    if (off != len)
        return sub->len_err;
    *items = arr;
    *count = n;
    return 0;
}

static int decode_schema(const struct ctx *c, const struct schema *s, const uint8_t *p,
                         size_t avail, void *obj, size_t *used)
{
    uint8_t *o = obj;
    size_t extent = avail, off = 0;
    long pending_alen = -1;
    if (avail < min_len(s))
        return s->len_err;
    if (!has_variable(s))
        extent = min_len(s);
    for (const struct fld *f = s->f; f->op != OP_END; f++) {
        size_t rest = extent - off;
        switch (f->op) {
        case OP_INT:
        case OP_PORT16:
        case OP_PAD:
        case OP_BYTES:
        case OP_LEN16:
        case OP_ALEN16:
            if (rest < f->w)
                return s->len_err;
            if (f->op == OP_INT) {
                store_int(o + f->off, f->s, get_be(p + off, f->w));
            } else if (f->op == OP_PORT16) {
                store_int(o + f->off, 4, ofp__port10_to_32(ofp__get16(p + off)));
            } else if (f->op == OP_BYTES) {
                memcpy(o + f->off, p + off, f->w);
            } else if (f->op == OP_LEN16) {
                size_t l = ofp__get16(p + off);
                if (l < min_len(s) || l > avail)
                    return s->len_err;
                extent = l;
            } else if (f->op == OP_ALEN16) {
                pending_alen = ofp__get16(p + off);
            }
            off += f->w;
            break;
        case OP_MATCH10: {
            if (rest < OFP10_MATCH_LEN)
                return s->len_err;
            int rc = ofp_match10_decode(p + off, OFP10_MATCH_LEN,
                                        (struct ofp_match_fields *)(o + f->off));
            if (rc)
                return rc;
            off += OFP10_MATCH_LEN;
            break;
        }
        case OP_MATCH13: {
            if (rest < 4)
                return s->len_err;
            uint16_t type = ofp__get16(p + off), mlen = ofp__get16(p + off + 2);
            if (type != 1) /* OFPMT_OXM; OFPMT_STANDARD is 1.1's */
                return OFPERR_OFPBMC_BAD_TYPE;
            if (mlen < 4 || kk_align_up(mlen, 8) > rest)
                return OFPERR_OFPBMC_BAD_LEN;
            int rc = ofp_oxm_decode(p + off + 4, mlen - 4u,
                                    (struct ofp_match_fields *)(o + f->off));
            if (rc)
                return rc;
            off += kk_align_up(mlen, 8);
            break;
        }
        case OP_ACTIONS: {
            size_t n = rest;
            if (pending_alen >= 0) {
                if ((size_t)pending_alen > rest)
                    return s->len_err;
                n = (size_t)pending_alen;
            }
            int rc = ofp__actions_decode(c->version, p + off, n, c->arena,
                                         (struct ofp_action_list *)(o + f->off));
            if (rc)
                return rc;
            off += n;
            break;
        }
        case OP_INSTS: {
            int rc = ofp__instructions_decode(p + off, rest, c->arena,
                                              (struct ofp_instruction_list *)(o + f->off));
            if (rc)
                return rc;
            off += rest;
            break;
        }
        case OP_DATA: {
            struct ofp_bytes *bytes = (struct ofp_bytes *)(o + f->off);
            bytes->len = rest;
            bytes->data = NULL;
            if (rest && !(bytes->data = ofp__memdup(c->arena, p + off, rest)))
                return OFP__NOMEM;
            off += rest;
            break;
        }
        case OP_LIST: {
            void *items;
            size_t count;
            int rc = decode_list(c, f->sub, p + off, rest, &items, &count);
            if (rc)
                return rc;
            memcpy(o + f->off, &items, sizeof(items));
            memcpy(o + f->off2, &count, sizeof(count));
            off += rest;
            break;
        }
        case OP_STRUCT:
        case OP_PSTRUCT: {
            void *target = o + f->off;
            if (f->op == OP_PSTRUCT) {
                target = ofp__alloc(c->arena, f->sub->size);
                if (!target)
                    return OFP__NOMEM;
                memcpy(o + f->off, &target, sizeof(target));
            }
            size_t u = 0;
            int rc = decode_schema(c, f->sub, p + off, rest, target, &u);
            if (rc)
                return rc;
            off += u;
            break;
        }
        case OP_CUSTOM: {
            size_t n = f->w ? f->w : rest, u = 0;
            if (rest < n)
                return s->len_err;
            int rc = f->custom->decode(c, p + off, n, obj, &u);
            if (rc)
                return rc;
            off += u;
            break;
        }
        default:
            break;
        }
    }
    if (off != extent)
        return s->len_err;
    *used = extent;
    return 0;
}

static int encode_schema(const struct ctx *c, const struct schema *s, const void *obj,
                         struct ofp_buf *b);

static int encode_list(const struct ctx *c, const struct schema *sub, const void *items,
                       size_t n, struct ofp_buf *b)
{
    if (n && !items)
        return sub->len_err;
    for (size_t i = 0; i < n; i++) {
        int rc = encode_schema(c, sub, (const uint8_t *)items + i * sub->size, b);
        if (rc)
            return rc;
    }
    return 0;
}

static int encode_schema(const struct ctx *c, const struct schema *s, const void *obj,
                         struct ofp_buf *b)
{
    const uint8_t *o = obj;
    size_t start = b->len;
    long len_pos = -1, alen_pos = -1;
    for (const struct fld *f = s->f; f->op != OP_END; f++) {
        switch (f->op) {
        case OP_INT: {
            uint64_t v = load_int(o + f->off, f->s);
            if (f->w < 8 && (v >> (8 * f->w)))
                return OFPERR_OFPBRC_BAD_LEN;  /* wider than the version's field */
            uint8_t tmp[8];
            for (unsigned i = 0; i < f->w; i++)
                tmp[i] = (uint8_t)(v >> (8 * (f->w - 1 - i)));
            ofp__buf_put(b, tmp, f->w);
            break;
        }
        case OP_PORT16: {
            uint16_t p10;
            if (ofp__port32_to_10((uint32_t)load_int(o + f->off, 4), &p10))
                return OFPERR_OFPBRC_BAD_PORT;
            ofp__buf_put16(b, p10);
            break;
        }
        case OP_PAD:
            ofp__buf_put(b, NULL, f->w);
            break;
        case OP_BYTES:
            ofp__buf_put(b, o + f->off, f->w);
            break;
        case OP_LEN16:
            len_pos = (long)b->len;
            ofp__buf_put16(b, 0);
            break;
        case OP_ALEN16:
            alen_pos = (long)b->len;
            ofp__buf_put16(b, 0);
            break;
        case OP_MATCH10: {
            uint8_t m[OFP10_MATCH_LEN];
            int rc = ofp_match10_encode((const struct ofp_match_fields *)(o + f->off), m);
            if (rc)
                return rc;
            ofp__buf_put(b, m, sizeof(m));
            break;
        }
        case OP_MATCH13: {
            const struct ofp_match_fields *m = (const struct ofp_match_fields *)(o + f->off);
            int rc = ofp_match_validate(m);
            if (rc)
                return rc;
            size_t n = ofp_oxm_encoded_len(m), mstart = b->len;
            ofp__buf_put16(b, 1);
            ofp__buf_put16(b, (uint16_t)(4 + n));
            size_t at = ofp__buf_put(b, NULL, n);
            uint8_t *dst = ofp__buf_at(b, at, n);
            if (dst)
                ofp_oxm_encode(m, dst);
            ofp__buf_pad8(b, mstart);
            break;
        }
        case OP_ACTIONS: {
            size_t astart = b->len;
            int rc = ofp__actions_encode(c->version, (const struct ofp_action_list *)(o + f->off),
                                         b);
            if (rc)
                return rc;
            if (alen_pos >= 0) {
                if (b->len - astart > 0xffff)
                    return s->len_err;
                ofp__buf_patch16(b, (size_t)alen_pos, (uint16_t)(b->len - astart));
            }
            break;
        }
        case OP_INSTS: {
            int rc = ofp__instructions_encode(
                (const struct ofp_instruction_list *)(o + f->off), b);
            if (rc)
                return rc;
            break;
        }
        case OP_DATA: {
            const struct ofp_bytes *bytes = (const struct ofp_bytes *)(o + f->off);
            if (bytes->len && !bytes->data)
                return s->len_err;
            ofp__buf_put(b, bytes->data, bytes->len);
            break;
        }
        case OP_LIST: {
            void *items;
            size_t n;
            memcpy(&items, o + f->off, sizeof(items));
            memcpy(&n, o + f->off2, sizeof(n));
            int rc = encode_list(c, f->sub, items, n, b);
            if (rc)
                return rc;
            break;
        }
        case OP_STRUCT: {
            int rc = encode_schema(c, f->sub, o + f->off, b);
            if (rc)
                return rc;
            break;
        }
        case OP_PSTRUCT: {
            const void *target;
            memcpy(&target, o + f->off, sizeof(target));
            if (!target)
                return s->len_err;
            int rc = encode_schema(c, f->sub, target, b);
            if (rc)
                return rc;
            break;
        }
        case OP_CUSTOM: {
            int rc = f->custom->encode(c, obj, b);
            if (rc)
                return rc;
            break;
        }
        default:
            break;
        }
    }
    if (len_pos >= 0) {
        if (b->len - start > 0xffff)
            return s->len_err;
        ofp__buf_patch16(b, (size_t)len_pos, (uint16_t)(b->len - start));
    }
    return 0;
}

static bool equal_schema(const struct schema *s, const void *a, const void *b);

static bool equal_list(const struct schema *sub, const void *x, size_t nx, const void *y,
                       size_t ny)
{
    if (nx != ny)
        return false;
    for (size_t i = 0; i < nx; i++)
        if (!equal_schema(sub, (const uint8_t *)x + i * sub->size,
                          (const uint8_t *)y + i * sub->size))
            return false;
    return true;
}

static bool equal_schema(const struct schema *s, const void *a, const void *b)
{
    const uint8_t *x = a, *y = b;
    for (const struct fld *f = s->f; f->op != OP_END; f++) {
        switch (f->op) {
        case OP_INT:
        case OP_PORT16:
            if (load_int(x + f->off, f->op == OP_PORT16 ? 4 : f->s) !=
                load_int(y + f->off, f->op == OP_PORT16 ? 4 : f->s))
                return false;
            break;
        case OP_BYTES:
            if (memcmp(x + f->off, y + f->off, f->w) != 0)
                return false;
            break;
        case OP_MATCH10:
        case OP_MATCH13:
            if (!ofp_match_equal((const struct ofp_match_fields *)(x + f->off),
                                 (const struct ofp_match_fields *)(y + f->off)))
                return false;
            break;
        case OP_ACTIONS:
            if (!ofp_action_list_equal((const struct ofp_action_list *)(x + f->off),
                                       (const struct ofp_action_list *)(y + f->off)))
                return false;
            break;
        case OP_INSTS:
            if (!ofp_instruction_list_equal((const struct ofp_instruction_list *)(x + f->off),
                                            (const struct ofp_instruction_list *)(y + f->off)))
                return false;
            break;
        case OP_DATA: {
            const struct ofp_bytes *p = (const void *)(x + f->off), *q = (const void *)(y + f->off);
            if (p->len != q->len || (p->len && memcmp(p->data, q->data, p->len) != 0))
                return false;
            break;
        }
        case OP_LIST: {
            void *ix, *iy;
            size_t nx, ny;
            memcpy(&ix, x + f->off, sizeof(ix));
            memcpy(&iy, y + f->off, sizeof(iy));
            memcpy(&nx, x + f->off2, sizeof(nx));
            memcpy(&ny, y + f->off2, sizeof(ny));
            if (!equal_list(f->sub, ix, nx, iy, ny))
                return false;
            break;
        }
        case OP_STRUCT:
            if (!equal_schema(f->sub, x + f->off, y + f->off))
                return false;
            break;
        case OP_PSTRUCT: {
            const void *p, *q;
            memcpy(&p, x + f->off, sizeof(p));
            memcpy(&q, y + f->off, sizeof(q));
            if (!p || !q ? p != q : !equal_schema(f->sub, p, q))
                return false;
            break;
        }
        case OP_CUSTOM:
            if (!f->custom->equal(a, b))
                return false;
            break;
        default:
            break;
        }
    }
    return true;
}

/* ---- hooks for bodies that are not plain layouts ---- */

#define OFPHET_VERSIONBITMAP 1

static int hello_decode(const struct ctx *c, const uint8_t *p, size_t len, struct ofp_hello *h)
{
    for (size_t off = 0; off < len;) {
        if (len - off < 4)
            goto bad;
        uint16_t type = ofp__get16(p + off), elen = ofp__get16(p + off + 2);
        if (elen < 4 || elen > len - off)
            goto bad;
        if (type == OFPHET_VERSIONBITMAP && !h->has_bitmap) {
            if (elen < 8 || elen % 4)
                goto bad;
            h->has_bitmap = true;
            h->bitmap = ofp__get32(p + off + 4);
        }
        /* the last element's padding may be cut short by the message end */
        off += KK_MIN(kk_align_up(elen, 8), len - off);
    }
    return 0;
bad:
    /* Before 1.3 a hello body is not defined and must be ignored. */
    if (c->version < V13) {
        h->has_bitmap = false;
        h->bitmap = 0;
        return 0;
    }
    return OFPERR_OFPBRC_BAD_LEN;
}

static void hello_encode(const struct ofp_hello *h, struct ofp_buf *b)
{
    if (!h->has_bitmap)
        return;
    ofp__buf_put16(b, OFPHET_VERSIONBITMAP);
    ofp__buf_put16(b, 8);
    ofp__buf_put32(b, h->bitmap);
}

static int error_decode(const struct ctx *c, const uint8_t *p, size_t len,
                        struct ofp_error_msg *e)
{
    if (len < 4)
        return OFPERR_OFPBRC_BAD_LEN;
    e->type = ofp__get16(p);
    e->code = ofp__get16(p + 2);
    size_t off = 4;
    if (c->version >= V13 && e->type == OFPET_EXPERIMENTER) {
        if (len < 8)
            return OFPERR_OFPBRC_BAD_LEN;
        e->experimenter = ofp__get32(p + 4);
        off = 8;
    }
    e->data.len = len - off;
    if (e->data.len && !(e->data.data = ofp__memdup(c->arena, p + off, e->data.len)))
        return OFP__NOMEM;
    return 0;
}

static int error_encode(const struct ctx *c, const struct ofp_error_msg *e, struct ofp_buf *b)
{
    if (e->data.len && !e->data.data)
        return OFPERR_OFPBRC_BAD_LEN;
    ofp__buf_put16(b, e->type);
    ofp__buf_put16(b, e->code);
    if (c->version >= V13 && e->type == OFPET_EXPERIMENTER)
        ofp__buf_put32(b, e->experimenter);
    ofp__buf_put(b, e->data.data, e->data.len);
    return 0;
}

static int vendor10_decode(const struct ctx *c, const uint8_t *p, size_t len,
                           struct ofp_experimenter_msg *x)
{
    if (len < 4)
        return OFPERR_OFPBRC_BAD_LEN;
    x->experimenter = ofp__get32(p);
    size_t off = 4;
    if (len >= 8) {
        x->has_exp_type = true;
        x->exp_type = ofp__get32(p + 4);
        off = 8;
    }
    x->data.len = len - off;
    if (x->data.len && !(x->data.data = ofp__memdup(c->arena, p + off, x->data.len)))
        return OFP__NOMEM;
    return 0;
}

static int vendor10_encode(const struct ofp_experimenter_msg *x, struct ofp_buf *b)
{
    /* without a subtype, 4 or more data bytes would read back as one */
    if ((x->data.len && !x->data.data) || (!x->has_exp_type && x->data.len >= 4))
        return OFPERR_OFPBRC_BAD_LEN;
    ofp__buf_put32(b, x->experimenter);
    if (x->has_exp_type)
        ofp__buf_put32(b, x->exp_type);
    ofp__buf_put(b, x->data.data, x->data.len);
    return 0;
}

/* ---- semantic checks ---- */

static bool is_port(uint32_t p)
{
    return p != 0 && p < OFPP_MAX;
}

static enum ofp_err check_flow_mod(uint8_t v, const void *body)
{
    const struct ofp_flow_mod *fm = body;
    if (fm->command > OFPFC_DELETE_STRICT)
        return OFPERR_OFPFMFC_BAD_COMMAND;
    uint16_t allowed = v == V10 ? 0x7 : 0x1f;
    if (fm->flags & ~allowed)
        return OFPERR_OFPFMFC_BAD_FLAGS;
    if (v == V13) {
        bool del = fm->command == OFPFC_DELETE || fm->command == OFPFC_DELETE_STRICT;
        if (!del && fm->table_id == OFPTT_ALL)
            return OFPERR_OFPFMFC_BAD_TABLE_ID;
        for (size_t i = 0; !del && i < fm->instructions.n; i++) {
            const struct ofp_instruction *in = &fm->instructions.insts[i];
            /* the pipeline only goes forward */
            if (in->type == OFPIT_GOTO_TABLE && in->table_id <= fm->table_id)
                return OFPERR_OFPBIC_BAD_TABLE_ID;
        }
    }
    return OFPERR_NONE;
}

static enum ofp_err check_buckets(uint8_t type, const struct ofp_bucket *b, size_t n)
{
    if (type == OFPGT_INDIRECT && n != 1)
        return OFPERR_OFPGMFC_INVALID_GROUP;
    for (size_t i = 0; i < n; i++) {
        if (type != OFPGT_SELECT && b[i].weight != 0)
            return OFPERR_OFPGMFC_WEIGHT_UNSUPPORTED;
        if (type == OFPGT_FF) {
            if (b[i].watch_port == OFPP_ANY && b[i].watch_group == OFPG_ANY)
                return OFPERR_OFPGMFC_BAD_WATCH;
        }
        if (b[i].watch_port != OFPP_ANY && !is_port(b[i].watch_port) &&
            b[i].watch_port != OFPP_LOCAL)
            return OFPERR_OFPGMFC_BAD_WATCH;
        if (b[i].watch_group != OFPG_ANY && b[i].watch_group > OFPG_MAX)
            return OFPERR_OFPGMFC_BAD_WATCH;
    }
    return OFPERR_NONE;
}

static enum ofp_err check_group_mod(uint8_t v, const void *body)
{
    const struct ofp_group_mod *gm = body;
    (void)v;
    if (gm->command > OFPGC_DELETE)
        return OFPERR_OFPGMFC_BAD_COMMAND;
    if (gm->type > OFPGT_FF)
        return OFPERR_OFPGMFC_BAD_TYPE;
    if (gm->command == OFPGC_DELETE) {
        if (gm->group_id > OFPG_MAX && gm->group_id != OFPG_ALL)
            return OFPERR_OFPGMFC_INVALID_GROUP;
        return OFPERR_NONE;
    }
    if (gm->group_id > OFPG_MAX)
        return OFPERR_OFPGMFC_INVALID_GROUP;
    return check_buckets(gm->type, gm->buckets, gm->n_buckets);
}

static enum ofp_err check_bands(const struct ofp_meter_band *bands, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (bands[i].type != OFPMBT_DROP && bands[i].type != OFPMBT_DSCP_REMARK &&
            bands[i].type != OFPMBT_EXPERIMENTER)
            return OFPERR_OFPMMFC_BAD_BAND;
        if (bands[i].rate == 0)
            return OFPERR_OFPMMFC_BAD_RATE;
        if (bands[i].type == OFPMBT_DSCP_REMARK && bands[i].prec_level > 63)
            return OFPERR_OFPMMFC_BAD_BAND_VALUE;
    }
    return OFPERR_NONE;
}

static enum ofp_err check_meter_mod(uint8_t v, const void *body)
{
    const struct ofp_meter_mod *mm = body;
    (void)v;
    if (mm->command > OFPMC_DELETE)
        return OFPERR_OFPMMFC_BAD_COMMAND;
    if (mm->flags & ~0xfu || (mm->flags & OFPMF_KBPS && mm->flags & OFPMF_PKTPS))
        return OFPERR_OFPMMFC_BAD_FLAGS;
    bool virtual_ok = mm->meter_id == OFPM_SLOWPATH || mm->meter_id == OFPM_CONTROLLER ||
                      (mm->command == OFPMC_DELETE && mm->meter_id == OFPM_ALL);
    if ((mm->meter_id == 0 || mm->meter_id > OFPM_MAX) && !virtual_ok)
        return OFPERR_OFPMMFC_INVALID_METER;
    if (mm->command == OFPMC_DELETE)
        return OFPERR_NONE;
    return check_bands(mm->bands, mm->n_bands);
}

static enum ofp_err check_port_mod(uint8_t v, const void *body)
{
    const struct ofp_port_mod *pm = body;
    (void)v;
    if (!is_port(pm->port_no) && pm->port_no != OFPP_LOCAL)
        return OFPERR_OFPPMFC_BAD_PORT;
    return OFPERR_NONE;
}

static enum ofp_err check_table_mod(uint8_t v, const void *body)
{
    const struct ofp_table_mod *tm = body;
    (void)v;
    if (tm->config & ~3u)  /* only the deprecated 1.1 table-miss bits exist */
        return OFPERR_OFPTMFC_BAD_CONFIG;
    return OFPERR_NONE;
}

static enum ofp_err check_set_config(uint8_t v, const void *body)
{
    const struct ofp_switch_config *sc = body;
    (void)v;
    if (sc->flags & ~7u)
        return OFPERR_OFPSCFC_BAD_FLAGS;
    return OFPERR_NONE;
}

static enum ofp_err check_role(uint8_t v, const void *body)
{
    const struct ofp_role *r = body;
    (void)v;
    if (r->role > OFPCR_ROLE_SLAVE)
        return OFPERR_OFPRRFC_BAD_ROLE;
    return OFPERR_NONE;
}

static enum ofp_err check_packet_out(uint8_t v, const void *body)
{
    const struct ofp_packet_out *po = body;
    (void)v;
    if (!is_port(po->in_port) && po->in_port != OFPP_CONTROLLER &&
        po->in_port != OFPP_LOCAL && po->in_port != OFPP_ANY)
        return OFPERR_OFPBRC_BAD_PORT;
    return OFPERR_NONE;
}

/* ---- message and multipart tables ---- */

enum body_kind {
    BODY_EMPTY,
    BODY_SCHEMA,
    BODY_HELLO,
    BODY_ERROR,
    BODY_EXPERIMENTER,
    BODY_MULTIPART,
};

struct msg_info {
    const char *name10, *name13;
    int16_t wire10, wire13;     /* -1: not in the version */
    uint8_t kind;               /* enum body_kind */
    const struct schema *s10, *s13;
    enum ofp_err (*check)(uint8_t version, const void *body);
};

static const struct msg_info msgs[OFP_MSG_N_TYPES] = {
    [OFP_MSG_HELLO] = {"OFPT_HELLO", "OFPT_HELLO", 0, 0, BODY_HELLO, NULL, NULL, NULL},
    [OFP_MSG_ERROR] = {"OFPT_ERROR", "OFPT_ERROR", 1, 1, BODY_ERROR, NULL, NULL, NULL},
    [OFP_MSG_ECHO_REQUEST] = {"OFPT_ECHO_REQUEST", "OFPT_ECHO_REQUEST", 2, 2, BODY_SCHEMA,
                              &bytes_s, &bytes_s, NULL},
    [OFP_MSG_ECHO_REPLY] = {"OFPT_ECHO_REPLY", "OFPT_ECHO_REPLY", 3, 3, BODY_SCHEMA, &bytes_s,
                            &bytes_s, NULL},
    [OFP_MSG_EXPERIMENTER] = {"OFPT_VENDOR", "OFPT_EXPERIMENTER", 4, 4, BODY_EXPERIMENTER, NULL,
                              &experimenter13, NULL},
    [OFP_MSG_FEATURES_REQUEST] = {"OFPT_FEATURES_REQUEST", "OFPT_FEATURES_REQUEST", 5, 5,
                                  BODY_EMPTY, NULL, NULL, NULL},
    [OFP_MSG_FEATURES_REPLY] = {"OFPT_FEATURES_REPLY", "OFPT_FEATURES_REPLY", 6, 6, BODY_SCHEMA,
                                &features10, &features13, NULL},
    [OFP_MSG_GET_CONFIG_REQUEST] = {"OFPT_GET_CONFIG_REQUEST", "OFPT_GET_CONFIG_REQUEST", 7, 7,
                                    BODY_EMPTY, NULL, NULL, NULL},
    [OFP_MSG_GET_CONFIG_REPLY] = {"OFPT_GET_CONFIG_REPLY", "OFPT_GET_CONFIG_REPLY", 8, 8,
                                  BODY_SCHEMA, &config_s, &config_s, NULL},
    [OFP_MSG_SET_CONFIG] = {"OFPT_SET_CONFIG", "OFPT_SET_CONFIG", 9, 9, BODY_SCHEMA, &config_s,
                            &config_s, check_set_config},
    [OFP_MSG_PACKET_IN] = {"OFPT_PACKET_IN", "OFPT_PACKET_IN", 10, 10, BODY_SCHEMA,
                           &packet_in10, &packet_in13, NULL},
    [OFP_MSG_FLOW_REMOVED] = {"OFPT_FLOW_REMOVED", "OFPT_FLOW_REMOVED", 11, 11, BODY_SCHEMA,
                              &flow_removed10, &flow_removed13, NULL},
    [OFP_MSG_PORT_STATUS] = {"OFPT_PORT_STATUS", "OFPT_PORT_STATUS", 12, 12, BODY_SCHEMA,
                             &port_status10, &port_status13, NULL},
    [OFP_MSG_PACKET_OUT] = {"OFPT_PACKET_OUT", "OFPT_PACKET_OUT", 13, 13, BODY_SCHEMA,
                            &packet_out10, &packet_out13, check_packet_out},
    [OFP_MSG_FLOW_MOD] = {"OFPT_FLOW_MOD", "OFPT_FLOW_MOD", 14, 14, BODY_SCHEMA, &flow_mod10,
                          &flow_mod13, check_flow_mod},
    [OFP_MSG_GROUP_MOD] = {NULL, "OFPT_GROUP_MOD", -1, 15, BODY_SCHEMA, NULL, &group_mod13,
                           check_group_mod},
    [OFP_MSG_PORT_MOD] = {"OFPT_PORT_MOD", "OFPT_PORT_MOD", 15, 16, BODY_SCHEMA, &port_mod10,
                          &port_mod13, check_port_mod},
    [OFP_MSG_TABLE_MOD] = {NULL, "OFPT_TABLE_MOD", -1, 17, BODY_SCHEMA, NULL, &table_mod13,
                           check_table_mod},
    [OFP_MSG_MULTIPART_REQUEST] = {"OFPT_STATS_REQUEST", "OFPT_MULTIPART_REQUEST", 16, 18,
                                   BODY_MULTIPART, NULL, NULL, NULL},
    [OFP_MSG_MULTIPART_REPLY] = {"OFPT_STATS_REPLY", "OFPT_MULTIPART_REPLY", 17, 19,
                                 BODY_MULTIPART, NULL, NULL, NULL},
    [OFP_MSG_BARRIER_REQUEST] = {"OFPT_BARRIER_REQUEST", "OFPT_BARRIER_REQUEST", 18, 20,
                                 BODY_EMPTY, NULL, NULL, NULL},
    [OFP_MSG_BARRIER_REPLY] = {"OFPT_BARRIER_REPLY", "OFPT_BARRIER_REPLY", 19, 21, BODY_EMPTY,
                               NULL, NULL, NULL},
    [OFP_MSG_ROLE_REQUEST] = {NULL, "OFPT_ROLE_REQUEST", -1, 24, BODY_SCHEMA, NULL, &role13,
                              check_role},
    [OFP_MSG_ROLE_REPLY] = {NULL, "OFPT_ROLE_REPLY", -1, 25, BODY_SCHEMA, NULL, &role13,
                            check_role},
    [OFP_MSG_GET_ASYNC_REQUEST] = {NULL, "OFPT_GET_ASYNC_REQUEST", -1, 26, BODY_EMPTY, NULL, NULL,
                                   NULL},
    [OFP_MSG_GET_ASYNC_REPLY] = {NULL, "OFPT_GET_ASYNC_REPLY", -1, 27, BODY_SCHEMA, NULL,
                                 &async13, NULL},
    [OFP_MSG_SET_ASYNC] = {NULL, "OFPT_SET_ASYNC", -1, 28, BODY_SCHEMA, NULL, &async13, NULL},
    [OFP_MSG_METER_MOD] = {NULL, "OFPT_METER_MOD", -1, 29, BODY_SCHEMA, NULL, &meter_mod13,
                           check_meter_mod},
};

struct mp_info {
    const char *name10, *name13;
    const struct schema *req10, *rep10, *req13, *rep13;
};

#define N_MP 14
static const struct mp_info mps[N_MP] = {
    [OFPMP_DESC] = {"OFPST_DESC", "OFPMP_DESC", &mp_empty, &mp_desc, &mp_empty, &mp_desc},
    [OFPMP_FLOW] = {"OFPST_FLOW", "OFPMP_FLOW", &mp_flow_req10, &mp_flow10, &mp_flow_req13,
                    &mp_flow13},
    [OFPMP_AGGREGATE] = {"OFPST_AGGREGATE", "OFPMP_AGGREGATE", &mp_flow_req10, &mp_aggregate,
                         &mp_flow_req13, &mp_aggregate},
    [OFPMP_TABLE] = {"OFPST_TABLE", "OFPMP_TABLE", &mp_empty, &mp_table10, &mp_empty,
                     &mp_table13},
    [OFPMP_PORT_STATS] = {"OFPST_PORT", "OFPMP_PORT_STATS", &mp_port_req10, &mp_port10,
                          &mp_port_req13, &mp_port13},
    [OFPMP_QUEUE] = {"OFPST_QUEUE", "OFPMP_QUEUE", &mp_queue_req10, &mp_queue10,
                     &mp_queue_req13, &mp_queue13},
    [OFPMP_GROUP] = {NULL, "OFPMP_GROUP", NULL, NULL, &mp_group_req13, &mp_group13},
    [OFPMP_GROUP_DESC] = {NULL, "OFPMP_GROUP_DESC", NULL, NULL, &mp_empty, &mp_group_desc13},
    [OFPMP_GROUP_FEATURES] = {NULL, "OFPMP_GROUP_FEATURES", NULL, NULL, &mp_empty,
                              &mp_group_features13},
    [OFPMP_METER] = {NULL, "OFPMP_METER", NULL, NULL, &mp_meter_req13, &mp_meter13},
    [OFPMP_METER_CONFIG] = {NULL, "OFPMP_METER_CONFIG", NULL, NULL, &mp_meter_req13,
                            &mp_meter_config13},
    [OFPMP_METER_FEATURES] = {NULL, "OFPMP_METER_FEATURES", NULL, NULL, &mp_empty,
                              &mp_meter_features13},
    [OFPMP_TABLE_FEATURES] = {NULL, "OFPMP_TABLE_FEATURES", NULL, NULL, &mp_table_features13,
                              &mp_table_features13},
    [OFPMP_PORT_DESC] = {NULL, "OFPMP_PORT_DESC", NULL, NULL, &mp_empty, &mp_port_desc13},
};

static const struct schema *mp_schema(uint8_t version, bool request, uint16_t type)
{
    if (type == OFPMP_EXPERIMENTER)
        return version == V10 ? &mp_exp10 : &mp_exp13;
    if (type >= N_MP)
        return NULL;
    const struct mp_info *m = &mps[type];
    if (version == V10)
        return request ? m->req10 : m->rep10;
    return request ? m->req13 : m->rep13;
}

static enum ofp_err check_multipart(uint8_t v, bool request, const struct ofp_multipart *mp)
{
    (void)v;
    if (request)
        return OFPERR_NONE;
    if (mp->type == OFPMP_GROUP_DESC) {
        for (size_t i = 0; i < mp->n; i++) {
            const struct ofp_group_desc *g = &mp->list.group_desc[i];
            if (g->type > OFPGT_FF)
                return OFPERR_OFPGMFC_BAD_TYPE;
        }
    }
    return OFPERR_NONE;
}

static size_t mp_header_len(uint8_t version)
{
    return version == V10 ? 4 : 8;
}

/* ---- public API ---- */

int ofp_msg_type_to_wire(enum ofp_msg_type type, uint8_t version)
{
    if ((unsigned)type >= OFP_MSG_N_TYPES)
        return -1;
    return version == V10 ? msgs[type].wire10 : msgs[type].wire13;
}

const char *ofp_msg_type_name(enum ofp_msg_type type, uint8_t version)
{
    if ((unsigned)type >= OFP_MSG_N_TYPES)
        return NULL;
    return version == V10 ? msgs[type].name10 : msgs[type].name13;
}

const char *ofp_mp_type_name(uint16_t type, uint8_t version)
{
    if (type == OFPMP_EXPERIMENTER)
        return version == V10 ? "OFPST_VENDOR" : "OFPMP_EXPERIMENTER";
    if (type >= N_MP)
        return NULL;
    return version == V10 ? mps[type].name10 : mps[type].name13;
}

static int msg_type_from_wire(uint8_t version, uint8_t wire)
{
    for (int t = 0; t < OFP_MSG_N_TYPES; t++)
        if (ofp_msg_type_to_wire(t, version) == wire)
            return t;
    return -1;
}

long ofp_frame_len(const void *data, size_t len)
{
    if (!data || len < OFP_HEADER_LEN)
        return 0;
    uint16_t l = ofp__get16((const uint8_t *)data + 2);
    if (l < OFP_HEADER_LEN)
        return -EBADMSG;
    return l;
}

static void set_error(struct ofp_error *err, enum ofp_err e, uint8_t version)
{
    if (err)
        ofp_err_to_wire(e, version, err);
}

int ofp_header_parse(const void *data, size_t len, uint8_t *version, uint8_t *wire_type,
                     uint16_t *length, uint32_t *xid, struct ofp_error *err)
{
    const uint8_t *p = data;
    if (!data || len < OFP_HEADER_LEN || ofp__get16(p + 2) != len) {
        set_error(err, OFPERR_OFPBRC_BAD_LEN, p && len ? p[0] : V13);
        return -EBADMSG;
    }
    if (version)
        *version = p[0];
    if (wire_type)
        *wire_type = p[1];
    if (length)
        *length = ofp__get16(p + 2);
    if (xid)
        *xid = ofp__get32(p + 4);
    return 0;
}

static int decode_multipart(const struct ctx *c, bool request, const uint8_t *p, size_t len,
                            struct ofp_multipart *mp)
{
    size_t hl = mp_header_len(c->version);
    if (len < hl)
        return OFPERR_OFPBRC_BAD_LEN;
    mp->type = ofp__get16(p);
    mp->flags = ofp__get16(p + 2);
    const struct schema *s = mp_schema(c->version, request, mp->type);
    if (!s)
        return OFPERR_OFPBRC_BAD_MULTIPART;
    size_t used = 0;
    int rc = decode_schema(c, s, p + hl, len - hl, mp, &used);
    if (rc)
        return rc;
    if (used != len - hl)
        return OFPERR_OFPBRC_BAD_LEN;
    return check_multipart(c->version, request, mp);
}

static int decode_body(const struct ctx *c, int type, const uint8_t *p, size_t len,
                       struct ofp_msg *msg)
{
    const struct msg_info *mi = &msgs[type];
    switch (mi->kind) {
    case BODY_EMPTY:
        return len == 0 ? 0 : OFPERR_OFPBRC_BAD_LEN;
    case BODY_HELLO:
        return hello_decode(c, p, len, &msg->u.hello);
    case BODY_ERROR:
        return error_decode(c, p, len, &msg->u.error);
    case BODY_EXPERIMENTER:
        if (c->version == V10)
            return vendor10_decode(c, p, len, &msg->u.experimenter);
        msg->u.experimenter.has_exp_type = true;
        break;
    case BODY_MULTIPART:
        return decode_multipart(c, type == OFP_MSG_MULTIPART_REQUEST, p, len, &msg->u.multipart);
    default:
        break;
    }
    const struct schema *s = c->version == V10 ? mi->s10 : mi->s13;
    size_t used = 0;
    int rc = decode_schema(c, s, p, len, &msg->u, &used);
    if (rc)
        return rc;
    if (used != len)
        return OFPERR_OFPBRC_BAD_LEN;
    return mi->check ? (int)mi->check(c->version, &msg->u) : 0;
}

int ofp_decode(const void *data, size_t len, struct ofp_msg *msg, struct ofp_error *err)
{
    if (!data || !msg)
        return -EINVAL;
    memset(msg, 0, sizeof(*msg));
    if (err)
        memset(err, 0, sizeof(*err));
    const uint8_t *p = data;
    uint8_t version = len ? p[0] : V13;
    uint8_t err_version = version == V10 ? V10 : V13;
    if (len < OFP_HEADER_LEN || ofp__get16(p + 2) != len) {
        set_error(err, OFPERR_OFPBRC_BAD_LEN, err_version);
        return -EBADMSG;
    }
    int type;
    if (p[1] == 0) {
        type = OFP_MSG_HELLO;  /* every version's hello is type 0 */
    } else if (version != V10 && version != V13) {
        set_error(err, OFPERR_OFPBRC_BAD_VERSION, err_version);
        return -EBADMSG;
    } else if ((type = msg_type_from_wire(version, p[1])) < 0) {
        set_error(err, OFPERR_OFPBRC_BAD_TYPE, err_version);
        return -EBADMSG;
    }
    msg->version = version;
    msg->type = (uint8_t)type;
    msg->xid = ofp__get32(p + 4);
    struct ctx c = {version, &msg->arena};
    int rc = decode_body(&c, type, p + OFP_HEADER_LEN, len - OFP_HEADER_LEN, msg);
    if (rc == 0)
        return 0;
    ofp_msg_free(msg);
    memset(msg, 0, sizeof(*msg));
    if (rc == OFP__NOMEM)
        return -ENOMEM;
    set_error(err, (enum ofp_err)rc, err_version);
    return -EBADMSG;
}

void ofp_msg_free(struct ofp_msg *msg)
{
    if (!msg)
        return;
    ofp__arena_free(msg->arena);
    msg->arena = NULL;
}

static int encode_body(const struct ctx *c, const struct ofp_msg *msg, struct ofp_buf *b)
{
    const struct msg_info *mi = &msgs[msg->type];
    switch (mi->kind) {
    case BODY_EMPTY:
        return 0;
    case BODY_HELLO:
        hello_encode(&msg->u.hello, b);
        return 0;
    case BODY_ERROR:
        return error_encode(c, &msg->u.error, b);
    case BODY_EXPERIMENTER:
        if (c->version == V10)
            return vendor10_encode(&msg->u.experimenter, b);
        break;
    case BODY_MULTIPART: {
        bool request = msg->type == OFP_MSG_MULTIPART_REQUEST;
        const struct ofp_multipart *mp = &msg->u.multipart;
        const struct schema *s = mp_schema(c->version, request, mp->type);
        if (!s)
            return OFPERR_OFPBRC_BAD_MULTIPART;
        enum ofp_err e = check_multipart(c->version, request, mp);
        if (e)
            return e;
        ofp__buf_put16(b, mp->type);
        ofp__buf_put16(b, mp->flags);
        if (c->version != V10)
            ofp__buf_put(b, NULL, 4);
        return encode_schema(c, s, mp, b);
    }
    default:
        break;
    }
    if (mi->check) {
        enum ofp_err e = mi->check(c->version, &msg->u);
        if (e)
            return e;
    }
    return encode_schema(c, c->version == V10 ? mi->s10 : mi->s13, &msg->u, b);
}

int ofp_encode(const struct ofp_msg *msg, struct ofp_buf *out, struct ofp_error *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
    if (!msg || !out)
        return -EINVAL;
    uint8_t ev = msg->version == V10 ? V10 : V13;
    if (msg->type >= OFP_MSG_N_TYPES ||
        (msg->type != OFP_MSG_HELLO && msg->version != V10 && msg->version != V13)) {
        set_error(err, OFPERR_OFPBRC_BAD_VERSION, ev);
        return -EINVAL;
    }
    int wire = msg->type == OFP_MSG_HELLO ? 0 : ofp_msg_type_to_wire(msg->type, msg->version);
    if (wire < 0) {
        set_error(err, OFPERR_OFPBRC_BAD_TYPE, ev);
        return -EINVAL;
    }
    size_t start = out->len;
    bool was_failed = out->failed;
    ofp__buf_put8(out, msg->version);
    ofp__buf_put8(out, (uint8_t)wire);
    ofp__buf_put16(out, 0);
    ofp__buf_put32(out, msg->xid);
    struct ctx c = {msg->version, NULL};
    int rc = encode_body(&c, msg, out);
    size_t total = out->len - start;
    if (rc == 0 && total > OFP_MAX_MSG_LEN)
        rc = OFPERR_OFPBRC_BAD_LEN;
    if (rc == 0 && out->failed && !was_failed)
        rc = OFP__NOMEM;
    if (rc) {
        out->len = start;
        out->failed = was_failed;
        if (rc == OFP__NOMEM)
            return -ENOMEM;
        set_error(err, (enum ofp_err)rc, ev);
        return -EINVAL;
    }
    ofp__buf_patch16(out, start + 2, (uint16_t)total);
    return 0;
}

static bool bytes_equal(const struct ofp_bytes *a, const struct ofp_bytes *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

bool ofp_msg_equal(const struct ofp_msg *a, const struct ofp_msg *b)
{
    if (a->version != b->version || a->type != b->type || a->xid != b->xid ||
        a->type >= OFP_MSG_N_TYPES)
        return false;
    const struct msg_info *mi = &msgs[a->type];
    switch (mi->kind) {
    case BODY_EMPTY:
        return true;
    case BODY_HELLO:
        return a->u.hello.has_bitmap == b->u.hello.has_bitmap &&
               a->u.hello.bitmap == b->u.hello.bitmap;
    case BODY_ERROR:
        return a->u.error.type == b->u.error.type && a->u.error.code == b->u.error.code &&
               a->u.error.experimenter == b->u.error.experimenter &&
               bytes_equal(&a->u.error.data, &b->u.error.data);
    case BODY_EXPERIMENTER: {
        const struct ofp_experimenter_msg *x = &a->u.experimenter, *y = &b->u.experimenter;
        return x->experimenter == y->experimenter && x->exp_type == y->exp_type &&
               (a->version != V10 || x->has_exp_type == y->has_exp_type) &&
               bytes_equal(&x->data, &y->data);
    }
    case BODY_MULTIPART: {
        const struct ofp_multipart *x = &a->u.multipart, *y = &b->u.multipart;
        if (x->type != y->type || x->flags != y->flags)
            return false;
        const struct schema *s =
            mp_schema(a->version, a->type == OFP_MSG_MULTIPART_REQUEST, x->type);
        return s && equal_schema(s, x, y);
    }
    default:
        return equal_schema(a->version == V10 ? mi->s10 : mi->s13, &a->u, &b->u);
    }
}

#define ERROR_DATA_MAX 64

int ofp_encode_error_reply(uint8_t version, uint32_t xid, const struct ofp_error *error,
                           const void *request, size_t len, struct ofp_buf *out)
{
    if (!error || !out || (len && !request))
        return -EINVAL;
    struct ofp_error w = *error;
    if (error->err != OFPERR_NONE && ofp_err_to_wire(error->err, version, &w) != 0)
        return -EINVAL;
    struct ofp_msg m = {.version = version, .type = OFP_MSG_ERROR, .xid = xid};
    m.u.error.type = w.type;
    m.u.error.code = w.code;
    m.u.error.experimenter = w.experimenter;
    m.u.error.data.data = request;
    m.u.error.data.len = KK_MIN(len, (size_t)ERROR_DATA_MAX);
    return ofp_encode(&m, out, NULL);
}

static int highest_bit(uint32_t x)
{
    return x ? 31 - __builtin_clz(x) : -1;
}

int ofp_negotiate_version(uint32_t ours, uint8_t peer_version, const struct ofp_hello *peer,
                          uint8_t *out)
{
    if (!out || !ours)
        return -EINVAL;
    if (peer && peer->has_bitmap) {
        int v = highest_bit(ours & peer->bitmap);
        if (v < 0)
            return -EPROTO;
        *out = (uint8_t)v;
        return 0;
    }
    int v = KK_MIN(highest_bit(ours), (int)peer_version);
    if (v < 0 || v > 31 || !(ours >> v & 1))
        return -EPROTO;
    *out = (uint8_t)v;
    return 0;
}

void ofp_experimenter_error(const struct ofp_msg *msg, bool known_experimenter,
                            struct ofp_error *err)
{
    if (!msg || !err)
        return;
    ofp_err_to_wire(known_experimenter ? OFPERR_OFPBRC_BAD_EXP_TYPE
                                       : OFPERR_OFPBRC_BAD_EXPERIMENTER,
                    msg->version, err);
}

bool ofp_is_nicira(const struct ofp_msg *msg, uint32_t *subtype)
{
    if (!msg)
        return false;
    uint32_t id, st;
    bool has_st;
    if (msg->type == OFP_MSG_EXPERIMENTER) {
        id = msg->u.experimenter.experimenter;
        st = msg->u.experimenter.exp_type;
        has_st = msg->version != V10 || msg->u.experimenter.has_exp_type;
    } else if ((msg->type == OFP_MSG_MULTIPART_REQUEST || msg->type == OFP_MSG_MULTIPART_REPLY) &&
               msg->u.multipart.type == OFPMP_EXPERIMENTER) {
        id = msg->u.multipart.u.experimenter.experimenter;
        st = msg->u.multipart.u.experimenter.exp_type;
        has_st = msg->version != V10;
    } else {
        return false;
    }
    if (id != OFP_NICIRA_VENDOR_ID)
        return false;
    if (subtype && has_st)
        *subtype = st;
    return true;
}
