/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Actions (1.0 and 1.3) and instructions (1.3): wire <-> struct
 * ofp_action / struct ofp_instruction, with the checks listed in
 * ofp_actions.h. One table gives, per kind, the wire type and exact
 * length in each version (0 length: not in that version).
 */
#include <string.h>

#include "kk_common.h"
#include "ofp_actions.h"
#include "ofp_internal.h"
#include "ofp_match.h"
#include "ofp_msg.h"

#define V10 0x01

struct kind_info {
    const char *name;
    uint16_t type10, len10;
    uint16_t type13, len13;
};

/* Experimenter actions have a variable length (0 here). */
static const struct kind_info kinds[OFPACT_N_KINDS] = {
    [OFPACT_OUTPUT] = {"output", 0, 8, 0, 16},
    [OFPACT_SET_VLAN_VID] = {"mod_vlan_vid", 1, 8, 0, 0},
    [OFPACT_SET_VLAN_PCP] = {"mod_vlan_pcp", 2, 8, 0, 0},
    [OFPACT_SET_DL_SRC] = {"mod_dl_src", 4, 16, 0, 0},
    [OFPACT_SET_DL_DST] = {"mod_dl_dst", 5, 16, 0, 0},
    [OFPACT_SET_NW_SRC] = {"mod_nw_src", 6, 8, 0, 0},
    [OFPACT_SET_NW_DST] = {"mod_nw_dst", 7, 8, 0, 0},
    [OFPACT_SET_NW_TOS] = {"mod_nw_tos", 8, 8, 0, 0},
    [OFPACT_SET_TP_SRC] = {"mod_tp_src", 9, 8, 0, 0},
    [OFPACT_SET_TP_DST] = {"mod_tp_dst", 10, 8, 0, 0},
    [OFPACT_ENQUEUE] = {"enqueue", 11, 16, 0, 0},
    [OFPACT_COPY_TTL_OUT] = {"copy_ttl_out", 0, 0, 11, 8},
    [OFPACT_COPY_TTL_IN] = {"copy_ttl_in", 0, 0, 12, 8},
    [OFPACT_SET_MPLS_TTL] = {"set_mpls_ttl", 0, 0, 15, 8},
    [OFPACT_DEC_MPLS_TTL] = {"dec_mpls_ttl", 0, 0, 16, 8},
    [OFPACT_PUSH_VLAN] = {"push_vlan", 0, 0, 17, 8},
    [OFPACT_POP_VLAN] = {"pop_vlan", 3, 8, 18, 8},
    [OFPACT_PUSH_MPLS] = {"push_mpls", 0, 0, 19, 8},
    [OFPACT_POP_MPLS] = {"pop_mpls", 0, 0, 20, 8},
    [OFPACT_SET_QUEUE] = {"set_queue", 0, 0, 21, 8},
    [OFPACT_GROUP] = {"group", 0, 0, 22, 8},
    [OFPACT_SET_NW_TTL] = {"mod_nw_ttl", 0, 0, 23, 8},
    [OFPACT_DEC_NW_TTL] = {"dec_ttl", 0, 0, 24, 8},
    [OFPACT_SET_FIELD] = {"set_field", 0, 0, 25, 0},
    [OFPACT_PUSH_PBB] = {"push_pbb", 0, 0, 26, 8},
    [OFPACT_POP_PBB] = {"pop_pbb", 0, 0, 27, 8},
    [OFPACT_EXPERIMENTER] = {"experimenter", 0xffff, 0, 0xffff, 0},
};

#define TYPE_EXPERIMENTER 0xffff

const char *ofp_action_kind_name(enum ofp_action_kind kind)
{
    return (unsigned)kind < OFPACT_N_KINDS ? kinds[kind].name : NULL;
}

bool ofp_action_kind_in_version(enum ofp_action_kind kind, uint8_t version)
{
    if ((unsigned)kind >= OFPACT_N_KINDS)
        return false;
    if (kind == OFPACT_EXPERIMENTER || kind == OFPACT_SET_FIELD)
        return kind == OFPACT_EXPERIMENTER || version != V10;
    return version == V10 ? kinds[kind].len10 != 0 : kinds[kind].len13 != 0;
}

static int kind_of(uint8_t version, uint16_t type)
{
    for (unsigned k = 0; k < OFPACT_N_KINDS; k++) {
        if (!ofp_action_kind_in_version(k, version))
            continue;
        if ((version == V10 ? kinds[k].type10 : kinds[k].type13) == type)
            return (int)k;
    }
    return -1;
}

static bool valid_output_port(uint32_t p)
{
    return (p != 0 && p < OFPP_MAX) || (p >= OFPP_IN_PORT && p <= OFPP_LOCAL);
}

enum ofp_err ofp_action_validate(const struct ofp_action *a, uint8_t version)
{
    if (!ofp_action_kind_in_version(a->kind, version))
        return OFPERR_OFPBAC_BAD_TYPE;
    switch (a->kind) {
    case OFPACT_OUTPUT:
        if (!valid_output_port(a->port))
            return OFPERR_OFPBAC_BAD_OUT_PORT;
        if (version == V10 && a->port >= OFPP_MAX && a->port < OFPP_IN_PORT)
            return OFPERR_OFPBAC_BAD_OUT_PORT;
        break;
    case OFPACT_ENQUEUE:
        if (!(a->port != 0 && a->port < OFPP_MAX) && a->port != OFPP_IN_PORT)
            return OFPERR_OFPBAC_BAD_OUT_PORT;
        if (a->queue_id == OFPQ_ALL)
            return OFPERR_OFPBAC_BAD_QUEUE;
        break;
    case OFPACT_SET_QUEUE:
        if (a->queue_id == OFPQ_ALL)
            return OFPERR_OFPBAC_BAD_QUEUE;
        break;
    case OFPACT_GROUP:
        if (a->group_id > OFPG_MAX)
            return OFPERR_OFPBAC_BAD_OUT_GROUP;
        break;
    case OFPACT_SET_VLAN_VID:
        if (a->vlan_vid > 0xfff)
            return OFPERR_OFPBAC_BAD_ARGUMENT;
        break;
    case OFPACT_SET_VLAN_PCP:
        if (a->vlan_pcp > 7)
            return OFPERR_OFPBAC_BAD_ARGUMENT;
        break;
    case OFPACT_SET_NW_TOS:
        if (a->nw_tos & 3)
            return OFPERR_OFPBAC_BAD_ARGUMENT;
        break;
    case OFPACT_PUSH_VLAN:
        if (a->ethertype != 0x8100 && a->ethertype != 0x88a8)
            return OFPERR_OFPBAC_BAD_ARGUMENT;
        break;
    case OFPACT_PUSH_MPLS:
        if (a->ethertype != 0x8847 && a->ethertype != 0x8848)
            return OFPERR_OFPBAC_BAD_ARGUMENT;
        break;
    case OFPACT_PUSH_PBB:
        if (a->ethertype != 0x88e7)
            return OFPERR_OFPBAC_BAD_ARGUMENT;
        break;
    case OFPACT_SET_FIELD:
        /* in_phy_port is read-only: it is what the hardware saw */
        if (a->field >= OFP_OXM_N_FIELDS || a->field == OFPXMT_IN_PHY_PORT)
            return OFPERR_OFPBAC_BAD_SET_TYPE;
        if (ofp__oxm_check_field(a->field, a->field_value, NULL))
            return OFPERR_OFPBAC_BAD_SET_ARGUMENT;
        break;
    case OFPACT_EXPERIMENTER:
        if (a->data_len % 8 || (a->data_len && !a->data))
            return OFPERR_OFPBAC_BAD_LEN;
        break;
    default:
        break;
    }
    return OFPERR_NONE;
}

/* Experimenter/vendor action: 4-byte header, 4-byte id, then data; the
 * total a multiple of 8, so data_len is a multiple of 8 too. */

static int decode_one(uint8_t version, const uint8_t *p, uint16_t len, struct ofp_action *a)
{
    uint16_t type = ofp__get16(p);
    int k = kind_of(version, type);
    if (k < 0)
        return OFPERR_OFPBAC_BAD_TYPE;
    memset(a, 0, sizeof(*a));
    a->kind = (uint16_t)k;
    uint16_t want = version == V10 ? kinds[k].len10 : kinds[k].len13;
    if (want && len != want)
        return OFPERR_OFPBAC_BAD_LEN;
    const uint8_t *b = p + 4;
    switch (k) {
    case OFPACT_OUTPUT:
        if (version == V10) {
            a->port = ofp__port10_to_32(ofp__get16(b));
            a->max_len = ofp__get16(b + 2);
        } else {
            a->port = ofp__get32(b);
            a->max_len = ofp__get16(b + 4);
        }
        break;
    case OFPACT_SET_VLAN_VID:
        a->vlan_vid = ofp__get16(b);
        break;
    case OFPACT_SET_VLAN_PCP:
        a->vlan_pcp = b[0];
        break;
    case OFPACT_SET_DL_SRC:
    case OFPACT_SET_DL_DST:
        memcpy(a->mac, b, 6);
        break;
    case OFPACT_SET_NW_SRC:
    case OFPACT_SET_NW_DST:
        a->ipv4 = ofp__get32(b);
        break;
    case OFPACT_SET_NW_TOS:
        a->nw_tos = b[0];
        break;
    case OFPACT_SET_TP_SRC:
    case OFPACT_SET_TP_DST:
        a->tp_port = ofp__get16(b);
        break;
    case OFPACT_ENQUEUE:
        a->port = ofp__port10_to_32(ofp__get16(b));
        a->queue_id = ofp__get32(b + 8);
        break;
    case OFPACT_SET_MPLS_TTL:
    case OFPACT_SET_NW_TTL:
        a->ttl = b[0];
        break;
    case OFPACT_PUSH_VLAN:
    case OFPACT_PUSH_MPLS:
    case OFPACT_POP_MPLS:
    case OFPACT_PUSH_PBB:
        a->ethertype = ofp__get16(b);
        break;
    case OFPACT_SET_QUEUE:
        a->queue_id = ofp__get32(b);
        break;
    case OFPACT_GROUP:
        a->group_id = ofp__get32(b);
        break;
    case OFPACT_SET_FIELD: {
        if (len < 8 + 4)
            return OFPERR_OFPBAC_BAD_LEN;
        uint16_t cls = ofp__get16(b);
        unsigned f = b[2] >> 1;
        if (cls != OFPXMC_OPENFLOW_BASIC || f >= OFP_OXM_N_FIELDS)
            return OFPERR_OFPBAC_BAD_SET_TYPE;
        if (b[2] & 1)
            return OFPERR_OFPBAC_BAD_SET_ARGUMENT;  /* 1.3 set-field has no mask */
        unsigned flen = ofp_oxm_field_len(f);
        if (b[3] != flen)
            return OFPERR_OFPBAC_BAD_SET_LEN;
        if (len != kk_align_up(4 + 4 + flen, 8))
            return OFPERR_OFPBAC_BAD_LEN;
        a->field = (uint8_t)f;
        memcpy(a->field_value, b + 4, flen);
        break;
    }
    case OFPACT_EXPERIMENTER:
        a->experimenter = ofp__get32(b);
        a->data = p + 8;
        a->data_len = (size_t)len - 8;
        break;
    default:
        break;
    }
    return ofp_action_validate(a, version);
}

int ofp__actions_decode(uint8_t version, const uint8_t *p, size_t len, struct ofp_arena **arena,
                        struct ofp_action_list *out)
{
    out->actions = NULL;
    out->n = 0;
    size_t n = 0;
    for (size_t off = 0; off < len;) {
        if (len - off < 8)
            return OFPERR_OFPBAC_BAD_LEN;
        uint16_t alen = ofp__get16(p + off + 2);
        if (alen < 8 || alen % 8 || alen > len - off)
            return OFPERR_OFPBAC_BAD_LEN;
        off += alen;
        n++;
    }
    if (n == 0)
        return 0;
    struct ofp_action *acts = ofp__alloc(arena, n * sizeof(*acts));
    if (!acts)
        return OFP__NOMEM;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t alen = ofp__get16(p + off + 2);
        int rc = decode_one(version, p + off, alen, &acts[i]);
        if (rc)
            return rc;
        if (acts[i].kind == OFPACT_EXPERIMENTER && acts[i].data_len) {
            acts[i].data = ofp__memdup(arena, acts[i].data, acts[i].data_len);
            if (!acts[i].data)
                return OFP__NOMEM;
        }
        off += alen;
    }
    out->actions = acts;
    out->n = n;
    return 0;
}

static int encode_one(uint8_t version, const struct ofp_action *a, struct ofp_buf *b)
{
    enum ofp_err e = ofp_action_validate(a, version);
    if (e)
        return e;
    const struct kind_info *ki = &kinds[a->kind];
    size_t start = b->len;
    ofp__buf_put16(b, version == V10 ? ki->type10 : ki->type13);
    ofp__buf_put16(b, 0); /* length, patched below */
    switch (a->kind) {
    case OFPACT_OUTPUT:
        if (version == V10) {
            uint16_t p10;
            if (ofp__port32_to_10(a->port, &p10))
                return OFPERR_OFPBAC_BAD_OUT_PORT;
            ofp__buf_put16(b, p10);
            ofp__buf_put16(b, a->max_len);
        } else {
            ofp__buf_put32(b, a->port);
            ofp__buf_put16(b, a->max_len);
            ofp__buf_put(b, NULL, 6);
        }
        break;
    case OFPACT_SET_VLAN_VID:
        ofp__buf_put16(b, a->vlan_vid);
        ofp__buf_put(b, NULL, 2);
        break;
    case OFPACT_SET_VLAN_PCP:
        ofp__buf_put8(b, a->vlan_pcp);
        ofp__buf_put(b, NULL, 3);
        break;
    case OFPACT_SET_DL_SRC:
    case OFPACT_SET_DL_DST:
        ofp__buf_put(b, a->mac, 6);
        ofp__buf_put(b, NULL, 6);
        break;
    case OFPACT_SET_NW_SRC:
    case OFPACT_SET_NW_DST:
        ofp__buf_put32(b, a->ipv4);
        break;
    case OFPACT_SET_NW_TOS:
        ofp__buf_put8(b, a->nw_tos);
        ofp__buf_put(b, NULL, 3);
        break;
    case OFPACT_SET_TP_SRC:
    case OFPACT_SET_TP_DST:
        ofp__buf_put16(b, a->tp_port);
        ofp__buf_put(b, NULL, 2);
        break;
    case OFPACT_ENQUEUE: {
        uint16_t p10;
        if (ofp__port32_to_10(a->port, &p10))
            return OFPERR_OFPBAC_BAD_OUT_PORT;
        ofp__buf_put16(b, p10);
        ofp__buf_put(b, NULL, 6);
        ofp__buf_put32(b, a->queue_id);
        break;
    }
    case OFPACT_SET_MPLS_TTL:
    case OFPACT_SET_NW_TTL:
        ofp__buf_put8(b, a->ttl);
        ofp__buf_put(b, NULL, 3);
        break;
    case OFPACT_PUSH_VLAN:
    case OFPACT_PUSH_MPLS:
    case OFPACT_POP_MPLS:
    case OFPACT_PUSH_PBB:
        ofp__buf_put16(b, a->ethertype);
        ofp__buf_put(b, NULL, 2);
        break;
    case OFPACT_SET_QUEUE:
        ofp__buf_put32(b, a->queue_id);
        break;
    case OFPACT_GROUP:
        ofp__buf_put32(b, a->group_id);
        break;
    case OFPACT_SET_FIELD: {
        unsigned flen = ofp_oxm_field_len(a->field);
        ofp__buf_put16(b, OFPXMC_OPENFLOW_BASIC);
        ofp__buf_put8(b, (uint8_t)(a->field << 1));
        ofp__buf_put8(b, (uint8_t)flen);
        ofp__buf_put(b, a->field_value, flen);
        ofp__buf_pad8(b, start);
        break;
    }
    case OFPACT_EXPERIMENTER:
        ofp__buf_put32(b, a->experimenter);
        ofp__buf_put(b, a->data, a->data_len);
        break;
    default: /* COPY_TTL_*, DEC_*, POP_*: a 4-byte pad */
        ofp__buf_put(b, NULL, 4);
        break;
    }
    size_t len = b->len - start;
    if (len > 0xfff8)
        return OFPERR_OFPBAC_BAD_LEN;
    ofp__buf_patch16(b, start + 2, (uint16_t)len);
    return 0;
}

int ofp__actions_encode(uint8_t version, const struct ofp_action_list *l, struct ofp_buf *b)
{
    if (l->n && !l->actions)
        return OFPERR_OFPBAC_BAD_LEN;
    for (size_t i = 0; i < l->n; i++) {
        int rc = encode_one(version, &l->actions[i], b);
        if (rc)
            return rc;
    }
    return 0;
}

static bool action_equal(const struct ofp_action *a, const struct ofp_action *b)
{
    if (a->kind != b->kind || a->max_len != b->max_len || a->port != b->port ||
        a->queue_id != b->queue_id || a->group_id != b->group_id || a->ipv4 != b->ipv4 ||
        a->ethertype != b->ethertype || a->vlan_vid != b->vlan_vid ||
        a->tp_port != b->tp_port || a->vlan_pcp != b->vlan_pcp || a->nw_tos != b->nw_tos ||
        a->ttl != b->ttl || memcmp(a->mac, b->mac, 6) != 0 || a->field != b->field ||
        memcmp(a->field_value, b->field_value, sizeof(a->field_value)) != 0 ||
        a->experimenter != b->experimenter || a->data_len != b->data_len)
        return false;
    return a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0;
}

bool ofp_action_list_equal(const struct ofp_action_list *a, const struct ofp_action_list *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!action_equal(&a->actions[i], &b->actions[i]))
            return false;
    return true;
}

/* ---- instructions ---- */

static const char *const inst_names[] = {
    [OFPIT_GOTO_TABLE] = "goto_table",       [OFPIT_WRITE_METADATA] = "write_metadata",
    [OFPIT_WRITE_ACTIONS] = "write_actions", [OFPIT_APPLY_ACTIONS] = "apply_actions",
    [OFPIT_CLEAR_ACTIONS] = "clear_actions", [OFPIT_METER] = "meter",
};

const char *ofp_instruction_type_name(uint16_t type)
{
    if (type == OFPIT_EXPERIMENTER)
        return "experimenter";
    return type < KK_ARRAY_SIZE(inst_names) ? inst_names[type] : NULL;
}

/* Bit of @type in the duplicate check (experimenter instructions may
 * repeat: they are told apart by id and content). */
static unsigned inst_bit(uint16_t type)
{
    return type == OFPIT_EXPERIMENTER ? 0 : 1u << type;
}

static int decode_inst(const uint8_t *p, uint16_t len, struct ofp_arena **arena,
                       struct ofp_instruction *in)
{
    memset(in, 0, sizeof(*in));
    in->type = ofp__get16(p);
    switch (in->type) {
    case OFPIT_GOTO_TABLE:
        if (len != 8)
            return OFPERR_OFPBIC_BAD_LEN;
        in->table_id = p[4];
        break;
    case OFPIT_WRITE_METADATA:
        if (len != 24)
            return OFPERR_OFPBIC_BAD_LEN;
        in->metadata = ofp__get64(p + 8);
        in->metadata_mask = ofp__get64(p + 16);
        break;
    case OFPIT_WRITE_ACTIONS:
    case OFPIT_APPLY_ACTIONS:
        return ofp__actions_decode(0x04, p + 8, (size_t)len - 8, arena, &in->actions);
    case OFPIT_CLEAR_ACTIONS:
        if (len != 8)
            return OFPERR_OFPBIC_BAD_LEN;
        break;
    case OFPIT_METER:
        if (len != 8)
            return OFPERR_OFPBIC_BAD_LEN;
        in->meter_id = ofp__get32(p + 4);
        break;
    case OFPIT_EXPERIMENTER:
        in->experimenter = ofp__get32(p + 4);
        in->data_len = (size_t)len - 8;
        if (in->data_len) {
            in->data = ofp__memdup(arena, p + 8, in->data_len);
            if (!in->data)
                return OFP__NOMEM;
        }
        break;
    default:
        return OFPERR_OFPBIC_UNKNOWN_INST;
    }
    return 0;
}

static enum ofp_err check_inst(const struct ofp_instruction *in)
{
    switch (in->type) {
    case OFPIT_GOTO_TABLE:
        if (in->table_id == OFPTT_ALL)
            return OFPERR_OFPBIC_BAD_TABLE_ID;
        break;
    case OFPIT_WRITE_METADATA:
    case OFPIT_WRITE_ACTIONS:
    case OFPIT_APPLY_ACTIONS:
    case OFPIT_CLEAR_ACTIONS:
    case OFPIT_METER:
        break;
    case OFPIT_EXPERIMENTER:
        if (in->data_len % 8 || (in->data_len && !in->data))
            return OFPERR_OFPBIC_BAD_LEN;
        break;
    default:
        return OFPERR_OFPBIC_UNKNOWN_INST;
    }
    return OFPERR_NONE;
}

int ofp__instructions_decode(const uint8_t *p, size_t len, struct ofp_arena **arena,
                             struct ofp_instruction_list *out)
{
    out->insts = NULL;
    out->n = 0;
    size_t n = 0;
    for (size_t off = 0; off < len;) {
        if (len - off < 8)
            return OFPERR_OFPBIC_BAD_LEN;
        uint16_t ilen = ofp__get16(p + off + 2);
        if (ilen < 8 || ilen % 8 || ilen > len - off)
            return OFPERR_OFPBIC_BAD_LEN;
        off += ilen;
        n++;
    }
    if (n == 0)
        return 0;
    struct ofp_instruction *insts = ofp__alloc(arena, n * sizeof(*insts));
    if (!insts)
        return OFP__NOMEM;
    unsigned seen = 0;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t ilen = ofp__get16(p + off + 2);
        int rc = decode_inst(p + off, ilen, arena, &insts[i]);
        if (rc)
            return rc;
        if ((rc = check_inst(&insts[i])))
            return rc;
        if (seen & inst_bit(insts[i].type))
            return OFPERR_OFPBIC_DUP_INST;
        seen |= inst_bit(insts[i].type);
        off += ilen;
    }
    out->insts = insts;
    out->n = n;
    return 0;
}

int ofp__instructions_encode(const struct ofp_instruction_list *l, struct ofp_buf *b)
{
    if (l->n && !l->insts)
        return OFPERR_OFPBIC_BAD_LEN;
    unsigned seen = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct ofp_instruction *in = &l->insts[i];
        enum ofp_err e = check_inst(in);
        if (e)
            return e;
        if (seen & inst_bit(in->type))
            return OFPERR_OFPBIC_DUP_INST;
        seen |= inst_bit(in->type);
        size_t start = b->len;
        ofp__buf_put16(b, in->type);
        ofp__buf_put16(b, 0);
        switch (in->type) {
        case OFPIT_GOTO_TABLE:
            ofp__buf_put8(b, in->table_id);
            ofp__buf_put(b, NULL, 3);
            break;
        case OFPIT_WRITE_METADATA:
            ofp__buf_put(b, NULL, 4);
            ofp__buf_put64(b, in->metadata);
            ofp__buf_put64(b, in->metadata_mask);
            break;
        case OFPIT_WRITE_ACTIONS:
        case OFPIT_APPLY_ACTIONS: {
            ofp__buf_put(b, NULL, 4);
            int rc = ofp__actions_encode(0x04, &in->actions, b);
            if (rc)
                return rc;
            break;
        }
        case OFPIT_CLEAR_ACTIONS:
            ofp__buf_put(b, NULL, 4);
            break;
        case OFPIT_METER:
            ofp__buf_put32(b, in->meter_id);
            break;
        case OFPIT_EXPERIMENTER:
            ofp__buf_put32(b, in->experimenter);
            ofp__buf_put(b, in->data, in->data_len);
            break;
        default:
            break;
        }
        size_t len = b->len - start;
        if (len > 0xfff8)
            return OFPERR_OFPBIC_BAD_LEN;
        ofp__buf_patch16(b, start + 2, (uint16_t)len);
    }
    return 0;
}

bool ofp_instruction_list_equal(const struct ofp_instruction_list *a,
                                const struct ofp_instruction_list *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct ofp_instruction *x = &a->insts[i], *y = &b->insts[i];
        if (x->type != y->type || x->table_id != y->table_id || x->meter_id != y->meter_id ||
            x->metadata != y->metadata || x->metadata_mask != y->metadata_mask ||
            !ofp_action_list_equal(&x->actions, &y->actions) ||
            x->experimenter != y->experimenter || x->data_len != y->data_len ||
            (x->data_len && memcmp(x->data, y->data, x->data_len) != 0))
            return false;
    }
    return true;
}
