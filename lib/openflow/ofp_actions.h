/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofp_actions.h — OpenFlow 1.0 actions, 1.3 actions and 1.3 instructions,
 * decoded into one version-independent list.
 *
 * Every action of either version has one kind here. Kinds that exist in
 * both versions with the same meaning share it (OUTPUT; 1.0 STRIP_VLAN is
 * POP_VLAN; 1.0 VENDOR is EXPERIMENTER); the rest are version-specific and
 * encoding one into the other version fails with OFPBAC_BAD_TYPE (we do not
 * translate 1.0 mod_dl_src into a 1.3 set_field: the 1.0 semantics, e.g.
 * mod_vlan_vid pushing a tag when there is none, differ).
 *
 * Decoding checks, with the specification's codes: type known for the
 * version (OFPBAC_BAD_TYPE), length a multiple of 8, at least 8, within the
 * list and exactly the action's size (OFPBAC_BAD_LEN), output ports
 * (OFPBAC_BAD_OUT_PORT: 0, OFPP_ANY/NONE and the unused reserved range),
 * enqueue ports and queues (OFPBAC_BAD_OUT_PORT, OFPBAC_BAD_QUEUE), groups
 * above OFPG_MAX (OFPBAC_BAD_OUT_GROUP), arguments (OFPBAC_BAD_ARGUMENT:
 * VID > 4095, PCP > 7, ToS with ECN bits, push ethertypes), set-field
 * (OFPBAC_BAD_SET_TYPE for a non-basic or unknown or read-only field,
 * OFPBAC_BAD_SET_LEN for an OXM length that is not the field's,
 * OFPBAC_BAD_SET_ARGUMENT for a mask or a value wider than the field).
 * Instructions: known type (OFPBIC_UNKNOWN_INST), length (OFPBIC_BAD_LEN),
 * each type at most once (OFPBIC_DUP_INST), goto_table not to OFPTT_ALL
 * (OFPBIC_BAD_TABLE_ID), and the actions inside as above.
 *
 * Decoded lists live in the arena of the message they came from.
 */
#ifndef OFP_ACTIONS_H
#define OFP_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ofp_errors.h"

enum ofp_action_kind {
    OFPACT_OUTPUT,        /* 1.0, 1.3: port, max_len */
    OFPACT_SET_VLAN_VID,  /* 1.0: vlan_vid */
    OFPACT_SET_VLAN_PCP,  /* 1.0: vlan_pcp */
    OFPACT_SET_DL_SRC,    /* 1.0: mac */
    OFPACT_SET_DL_DST,    /* 1.0: mac */
    OFPACT_SET_NW_SRC,    /* 1.0: ipv4 */
    OFPACT_SET_NW_DST,    /* 1.0: ipv4 */
    OFPACT_SET_NW_TOS,    /* 1.0: nw_tos */
    OFPACT_SET_TP_SRC,    /* 1.0: tp_port */
    OFPACT_SET_TP_DST,    /* 1.0: tp_port */
    OFPACT_ENQUEUE,       /* 1.0: port, queue_id */
    OFPACT_COPY_TTL_OUT,  /* 1.3 */
    OFPACT_COPY_TTL_IN,   /* 1.3 */
    OFPACT_SET_MPLS_TTL,  /* 1.3: ttl */
    OFPACT_DEC_MPLS_TTL,  /* 1.3 */
    OFPACT_PUSH_VLAN,     /* 1.3: ethertype */
    OFPACT_POP_VLAN,      /* 1.3, and 1.0 strip_vlan */
    OFPACT_PUSH_MPLS,     /* 1.3: ethertype */
    OFPACT_POP_MPLS,      /* 1.3: ethertype */
    OFPACT_SET_QUEUE,     /* 1.3: queue_id */
    OFPACT_GROUP,         /* 1.3: group_id */
    OFPACT_SET_NW_TTL,    /* 1.3: ttl */
    OFPACT_DEC_NW_TTL,    /* 1.3 */
    OFPACT_SET_FIELD,     /* 1.3: field, field_value */
    OFPACT_PUSH_PBB,      /* 1.3: ethertype */
    OFPACT_POP_PBB,       /* 1.3 */
    OFPACT_EXPERIMENTER,  /* 1.0 vendor, 1.3 experimenter: experimenter, data */
    OFPACT_N_KINDS
};

/* Reserved ports, 1.3 numbering (1.0's 0xfff8.. are the same low 16 bits). */
#define OFPP_MAX 0xffffff00u
#define OFPP_IN_PORT 0xfffffff8u
#define OFPP_TABLE 0xfffffff9u
#define OFPP_NORMAL 0xfffffffau
#define OFPP_FLOOD 0xfffffffbu
#define OFPP_ALL 0xfffffffcu
#define OFPP_CONTROLLER 0xfffffffdu
#define OFPP_LOCAL 0xfffffffeu
#define OFPP_ANY 0xffffffffu    /* 1.0 OFPP_NONE */
#define OFPG_MAX 0xffffff00u
#define OFPG_ALL 0xfffffffcu
#define OFPG_ANY 0xffffffffu
#define OFPQ_ALL 0xffffffffu
#define OFPTT_ALL 0xff
#define OFP_NO_BUFFER 0xffffffffu

/* One action; only the members its kind names are meaningful (the others
 * are zero after decoding). Integers host order. */
struct ofp_action {
    uint16_t kind;            /* enum ofp_action_kind */
    uint16_t max_len;         /* OUTPUT: bytes to send to the controller */
    uint32_t port;            /* OUTPUT, ENQUEUE (1.3 numbering) */
    uint32_t queue_id;        /* ENQUEUE, SET_QUEUE */
    uint32_t group_id;        /* GROUP */
    uint32_t ipv4;            /* SET_NW_SRC/DST */
    uint16_t ethertype;       /* PUSH_VLAN/MPLS/PBB, POP_MPLS */
    uint16_t vlan_vid;        /* SET_VLAN_VID */
    uint16_t tp_port;         /* SET_TP_SRC/DST */
    uint8_t vlan_pcp;         /* SET_VLAN_PCP */
    uint8_t nw_tos;           /* SET_NW_TOS (DSCP << 2) */
    uint8_t ttl;              /* SET_MPLS_TTL, SET_NW_TTL */
    uint8_t mac[6];           /* SET_DL_SRC/DST */
    uint8_t field;            /* SET_FIELD: enum ofp_oxm_field */
    uint8_t field_value[16];  /* SET_FIELD: ofp_oxm_field_len() bytes, network order */
    uint32_t experimenter;    /* EXPERIMENTER: vendor/experimenter id */
    const uint8_t *data;      /* EXPERIMENTER: bytes after the id */
    size_t data_len;          /*   (a multiple of 8) */
};

struct ofp_action_list {
    struct ofp_action *actions;
    size_t n;
};

enum ofp_instruction_type {
    OFPIT_GOTO_TABLE = 1,
    OFPIT_WRITE_METADATA = 2,
    OFPIT_WRITE_ACTIONS = 3,
    OFPIT_APPLY_ACTIONS = 4,
    OFPIT_CLEAR_ACTIONS = 5,
    OFPIT_METER = 6,
    OFPIT_EXPERIMENTER = 0xffff,
};

struct ofp_instruction {
    uint16_t type;                  /* enum ofp_instruction_type */
    uint8_t table_id;               /* GOTO_TABLE */
    uint32_t meter_id;              /* METER */
    uint64_t metadata;              /* WRITE_METADATA */
    uint64_t metadata_mask;
    struct ofp_action_list actions; /* WRITE_ACTIONS, APPLY_ACTIONS */
    uint32_t experimenter;          /* EXPERIMENTER */
    const uint8_t *data;
    size_t data_len;
};

struct ofp_instruction_list {
    struct ofp_instruction *insts;
    size_t n;
};

/* "output", "mod_vlan_vid", ... ; NULL out of range. */
const char *ofp_action_kind_name(enum ofp_action_kind kind);
/* "apply_actions", ... ; NULL for unknown types. */
const char *ofp_instruction_type_name(uint16_t type);

/* Whether @kind has a wire form in @version (0x01 or 0x04). */
bool ofp_action_kind_in_version(enum ofp_action_kind kind, uint8_t version);

/* OFPERR_NONE or the OFPBAC_* error for one action as @version would
 * carry it (the checks listed above). */
enum ofp_err ofp_action_validate(const struct ofp_action *a, uint8_t version);

bool ofp_action_list_equal(const struct ofp_action_list *a, const struct ofp_action_list *b);
bool ofp_instruction_list_equal(const struct ofp_instruction_list *a,
                                const struct ofp_instruction_list *b);

#endif
