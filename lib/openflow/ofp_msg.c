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
#include "ofp_schema.h"

#define V10 OFP10_VERSION
#define V13 OFP13_VERSION

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

static int band_tail_decode(const struct ofp__ctx *c, const uint8_t *p, size_t len, void *obj,
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

static int band_tail_encode(const struct ofp__ctx *c, const void *obj, struct ofp_buf *b)
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

static const struct ofp__custom band_tail = {band_tail_decode, band_tail_encode, band_tail_equal};

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

static int prop_decode(const struct ofp__ctx *c, const uint8_t *p, uint16_t len,
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

static int props_decode(const struct ofp__ctx *c, const uint8_t *p, size_t len, void *obj,
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

static int props_encode(const struct ofp__ctx *c, const void *obj, struct ofp_buf *b)
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

static const struct ofp__custom props_hooks = {props_decode, props_encode, props_equal};

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

/* ---- hooks for bodies that are not plain layouts ---- */

#define OFPHET_VERSIONBITMAP 1

static int hello_decode(const struct ofp__ctx *c, const uint8_t *p, size_t len, struct ofp_hello *h)
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

static int error_decode(const struct ofp__ctx *c, const uint8_t *p, size_t len,
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

static int error_encode(const struct ofp__ctx *c, const struct ofp_error_msg *e, struct ofp_buf *b)
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

static int vendor10_decode(const struct ofp__ctx *c, const uint8_t *p, size_t len,
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
    const struct ofp__schema *s10, *s13;
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
    const struct ofp__schema *req10, *rep10, *req13, *rep13;
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

static const struct ofp__schema *mp_schema(uint8_t version, bool request, uint16_t type)
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

static int decode_multipart(const struct ofp__ctx *c, bool request, const uint8_t *p, size_t len,
                            struct ofp_multipart *mp)
{
    size_t hl = mp_header_len(c->version);
    if (len < hl)
        return OFPERR_OFPBRC_BAD_LEN;
    mp->type = ofp__get16(p);
    mp->flags = ofp__get16(p + 2);
    const struct ofp__schema *s = mp_schema(c->version, request, mp->type);
    if (!s)
        return OFPERR_OFPBRC_BAD_MULTIPART;
    size_t used = 0;
    int rc = ofp__schema_decode(c, s, p + hl, len - hl, mp, &used);
    if (rc)
        return rc;
    if (used != len - hl)
        return OFPERR_OFPBRC_BAD_LEN;
    return check_multipart(c->version, request, mp);
}

static int decode_body(const struct ofp__ctx *c, int type, const uint8_t *p, size_t len,
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
    const struct ofp__schema *s = c->version == V10 ? mi->s10 : mi->s13;
    size_t used = 0;
    int rc = ofp__schema_decode(c, s, p, len, &msg->u, &used);
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
    struct ofp__ctx c = {version, &msg->arena};
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

static int encode_body(const struct ofp__ctx *c, const struct ofp_msg *msg, struct ofp_buf *b)
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
        const struct ofp__schema *s = mp_schema(c->version, request, mp->type);
        if (!s)
            return OFPERR_OFPBRC_BAD_MULTIPART;
        enum ofp_err e = check_multipart(c->version, request, mp);
        if (e)
            return e;
        ofp__buf_put16(b, mp->type);
        ofp__buf_put16(b, mp->flags);
        if (c->version != V10)
            ofp__buf_put(b, NULL, 4);
        return ofp__schema_encode(c, s, mp, b);
    }
    default:
        break;
    }
    if (mi->check) {
        enum ofp_err e = mi->check(c->version, &msg->u);
        if (e)
            return e;
    }
    return ofp__schema_encode(c, c->version == V10 ? mi->s10 : mi->s13, &msg->u, b);
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
    struct ofp__ctx c = {msg->version, NULL};
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
        const struct ofp__schema *s =
            mp_schema(a->version, a->type == OFP_MSG_MULTIPART_REQUEST, x->type);
        return s && ofp__schema_equal(s, x, y);
    }
    default:
        return ofp__schema_equal(a->version == V10 ? mi->s10 : mi->s13, &a->u, &b->u);
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
