/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The error table: one row per enum ofp_err with its 1.0 and 1.3 wire
 * numbers. 1.0 numbers marked "NX" are Open vSwitch's Nicira extension
 * codes (codes >= 256 inside a standard type), which 1.0 peers that know
 * them print by name and others report as an unknown code of the right
 * type; marked "fb" are fallbacks for errors that a 1.0 message cannot
 * produce (instructions, groups, meters, table features do not exist in
 * 1.0) but that a caller might still ask to map.
 */
#include <errno.h>

#include "kk_common.h"
#include "ofp_errors.h"

#define ONF_DUP_INST_CODE 2600

struct err_row {
    const char *name;
    uint16_t t10, c10;
    uint16_t t13, c13;
};

#define ROW(e, n, a, b, c, d) [OFPERR_##e] = {n, a, b, c, d}

static const struct err_row rows[OFPERR_N_ERRORS] = {
    [OFPERR_NONE] = {"OFPERR_NONE", 0, 0, 0, 0},
    ROW(OFPHFC_INCOMPATIBLE, "OFPHFC_INCOMPATIBLE", 0, 0, 0, 0),
    ROW(OFPHFC_EPERM, "OFPHFC_EPERM", 0, 1, 0, 1),
    ROW(OFPBRC_BAD_VERSION, "OFPBRC_BAD_VERSION", 1, 0, 1, 0),
    ROW(OFPBRC_BAD_TYPE, "OFPBRC_BAD_TYPE", 1, 1, 1, 1),
    ROW(OFPBRC_BAD_MULTIPART, "OFPBRC_BAD_MULTIPART", 1, 2, 1, 2),
    ROW(OFPBRC_BAD_EXPERIMENTER, "OFPBRC_BAD_EXPERIMENTER", 1, 3, 1, 3),
    ROW(OFPBRC_BAD_EXP_TYPE, "OFPBRC_BAD_EXP_TYPE", 1, 4, 1, 4),
    ROW(OFPBRC_EPERM, "OFPBRC_EPERM", 1, 5, 1, 5),
    ROW(OFPBRC_BAD_LEN, "OFPBRC_BAD_LEN", 1, 6, 1, 6),
    ROW(OFPBRC_BUFFER_EMPTY, "OFPBRC_BUFFER_EMPTY", 1, 7, 1, 7),
    ROW(OFPBRC_BUFFER_UNKNOWN, "OFPBRC_BUFFER_UNKNOWN", 1, 8, 1, 8),
    ROW(OFPBRC_BAD_TABLE_ID, "OFPBRC_BAD_TABLE_ID", 1, 512, 1, 9),        /* NX */
    ROW(OFPBRC_IS_SLAVE, "OFPBRC_IS_SLAVE", 1, 5, 1, 10),
    ROW(OFPBRC_BAD_PORT, "OFPBRC_BAD_PORT", 1, 514, 1, 11),              /* NX */
    ROW(OFPBRC_BAD_PACKET, "OFPBRC_BAD_PACKET", 1, 6, 1, 12),            /* fb */
    ROW(OFPBRC_MULTIPART_BUFFER_OVERFLOW, "OFPBRC_MULTIPART_BUFFER_OVERFLOW", 1, 6, 1, 13),
    ROW(OFPBAC_BAD_TYPE, "OFPBAC_BAD_TYPE", 2, 0, 2, 0),
    ROW(OFPBAC_BAD_LEN, "OFPBAC_BAD_LEN", 2, 1, 2, 1),
    ROW(OFPBAC_BAD_EXPERIMENTER, "OFPBAC_BAD_EXPERIMENTER", 2, 2, 2, 2),
    ROW(OFPBAC_BAD_EXP_TYPE, "OFPBAC_BAD_EXP_TYPE", 2, 3, 2, 3),
    ROW(OFPBAC_BAD_OUT_PORT, "OFPBAC_BAD_OUT_PORT", 2, 4, 2, 4),
    ROW(OFPBAC_BAD_ARGUMENT, "OFPBAC_BAD_ARGUMENT", 2, 5, 2, 5),
    ROW(OFPBAC_EPERM, "OFPBAC_EPERM", 2, 6, 2, 6),
    ROW(OFPBAC_TOO_MANY, "OFPBAC_TOO_MANY", 2, 7, 2, 7),
    ROW(OFPBAC_BAD_QUEUE, "OFPBAC_BAD_QUEUE", 2, 8, 2, 8),
    ROW(OFPBAC_BAD_OUT_GROUP, "OFPBAC_BAD_OUT_GROUP", 2, 9, 2, 9),       /* NX */
    ROW(OFPBAC_MATCH_INCONSISTENT, "OFPBAC_MATCH_INCONSISTENT", 1, 522, 2, 10), /* NX */
    ROW(OFPBAC_UNSUPPORTED_ORDER, "OFPBAC_UNSUPPORTED_ORDER", 3, 5, 2, 11),
    ROW(OFPBAC_BAD_TAG, "OFPBAC_BAD_TAG", 2, 5, 2, 12),                  /* fb */
    ROW(OFPBAC_BAD_SET_TYPE, "OFPBAC_BAD_SET_TYPE", 1, 523, 2, 13),      /* NX */
    ROW(OFPBAC_BAD_SET_LEN, "OFPBAC_BAD_SET_LEN", 1, 524, 2, 14),        /* NX */
    ROW(OFPBAC_BAD_SET_ARGUMENT, "OFPBAC_BAD_SET_ARGUMENT", 1, 525, 2, 15), /* NX */
    ROW(OFPBIC_UNKNOWN_INST, "OFPBIC_UNKNOWN_INST", 1, 1, 3, 0),         /* fb */
    ROW(OFPBIC_UNSUP_INST, "OFPBIC_UNSUP_INST", 2, 257, 3, 1),           /* NX */
    ROW(OFPBIC_BAD_TABLE_ID, "OFPBIC_BAD_TABLE_ID", 1, 512, 3, 2),       /* fb */
    ROW(OFPBIC_UNSUP_METADATA, "OFPBIC_UNSUP_METADATA", 1, 1, 3, 3),     /* fb */
    ROW(OFPBIC_UNSUP_METADATA_MASK, "OFPBIC_UNSUP_METADATA_MASK", 1, 1, 3, 4), /* fb */
    ROW(OFPBIC_BAD_EXPERIMENTER, "OFPBIC_BAD_EXPERIMENTER", 1, 3, 3, 5), /* fb */
    ROW(OFPBIC_BAD_EXP_TYPE, "OFPBIC_BAD_EXP_TYPE", 1, 4, 3, 6),         /* fb */
    ROW(OFPBIC_BAD_LEN, "OFPBIC_BAD_LEN", 1, 6, 3, 7),                   /* fb */
    ROW(OFPBIC_EPERM, "OFPBIC_EPERM", 1, 5, 3, 8),                       /* fb */
    ROW(OFPBIC_DUP_INST, "OFPBIC_DUP_INST", 1, 1, OFPET_EXPERIMENTER, ONF_DUP_INST_CODE),
    ROW(OFPBMC_BAD_TYPE, "OFPBMC_BAD_TYPE", 1, 6, 4, 0),                 /* fb */
    ROW(OFPBMC_BAD_LEN, "OFPBMC_BAD_LEN", 1, 6, 4, 1),                   /* fb */
    ROW(OFPBMC_BAD_TAG, "OFPBMC_BAD_TAG", 1, 258, 4, 2),                 /* fb: NX BAD_VALUE */
    ROW(OFPBMC_BAD_DL_ADDR_MASK, "OFPBMC_BAD_DL_ADDR_MASK", 1, 259, 4, 3), /* fb: NX BAD_MASK */
    ROW(OFPBMC_BAD_NW_ADDR_MASK, "OFPBMC_BAD_NW_ADDR_MASK", 1, 259, 4, 4), /* fb: NX BAD_MASK */
    ROW(OFPBMC_BAD_WILDCARDS, "OFPBMC_BAD_WILDCARDS", 1, 262, 4, 5),     /* NX */
    ROW(OFPBMC_BAD_FIELD, "OFPBMC_BAD_FIELD", 0, 263, 4, 6),             /* NX (sic: type 0) */
    ROW(OFPBMC_BAD_VALUE, "OFPBMC_BAD_VALUE", 1, 258, 4, 7),             /* NX */
    ROW(OFPBMC_BAD_MASK, "OFPBMC_BAD_MASK", 1, 259, 4, 8),               /* NX */
    ROW(OFPBMC_BAD_PREREQ, "OFPBMC_BAD_PREREQ", 1, 260, 4, 9),           /* NX */
    ROW(OFPBMC_DUP_FIELD, "OFPBMC_DUP_FIELD", 1, 261, 4, 10),            /* NX */
    ROW(OFPBMC_EPERM, "OFPBMC_EPERM", 1, 5, 4, 11),                      /* fb */
    ROW(OFPFMFC_UNKNOWN, "OFPFMFC_UNKNOWN", 3, 5, 5, 0),                 /* fb */
    ROW(OFPFMFC_TABLE_FULL, "OFPFMFC_TABLE_FULL", 3, 0, 5, 1),
    ROW(OFPFMFC_BAD_TABLE_ID, "OFPFMFC_BAD_TABLE_ID", 1, 512, 5, 2),     /* NX */
    ROW(OFPFMFC_OVERLAP, "OFPFMFC_OVERLAP", 3, 1, 5, 3),
    ROW(OFPFMFC_EPERM, "OFPFMFC_EPERM", 3, 2, 5, 4),
    ROW(OFPFMFC_BAD_TIMEOUT, "OFPFMFC_BAD_TIMEOUT", 3, 3, 5, 5),
    ROW(OFPFMFC_BAD_EMERG_TIMEOUT, "OFPFMFC_BAD_EMERG_TIMEOUT", 3, 3, 5, 5),
    ROW(OFPFMFC_BAD_COMMAND, "OFPFMFC_BAD_COMMAND", 3, 4, 5, 6),
    ROW(OFPFMFC_BAD_FLAGS, "OFPFMFC_BAD_FLAGS", 3, 258, 5, 7),           /* NX */
    ROW(OFPFMFC_UNSUPPORTED, "OFPFMFC_UNSUPPORTED", 3, 5, 5, 0),
    ROW(OFPGMFC_GROUP_EXISTS, "OFPGMFC_GROUP_EXISTS", 6, 0, 6, 0),       /* NX */
    ROW(OFPGMFC_INVALID_GROUP, "OFPGMFC_INVALID_GROUP", 6, 1, 6, 1),
    ROW(OFPGMFC_WEIGHT_UNSUPPORTED, "OFPGMFC_WEIGHT_UNSUPPORTED", 6, 2, 6, 2),
    ROW(OFPGMFC_OUT_OF_GROUPS, "OFPGMFC_OUT_OF_GROUPS", 6, 3, 6, 3),
    ROW(OFPGMFC_OUT_OF_BUCKETS, "OFPGMFC_OUT_OF_BUCKETS", 6, 4, 6, 4),
    ROW(OFPGMFC_CHAINING_UNSUPPORTED, "OFPGMFC_CHAINING_UNSUPPORTED", 6, 5, 6, 5),
    ROW(OFPGMFC_WATCH_UNSUPPORTED, "OFPGMFC_WATCH_UNSUPPORTED", 6, 6, 6, 6),
    ROW(OFPGMFC_LOOP, "OFPGMFC_LOOP", 6, 7, 6, 7),
    ROW(OFPGMFC_UNKNOWN_GROUP, "OFPGMFC_UNKNOWN_GROUP", 6, 8, 6, 8),
    ROW(OFPGMFC_CHAINED_GROUP, "OFPGMFC_CHAINED_GROUP", 6, 9, 6, 9),
    ROW(OFPGMFC_BAD_TYPE, "OFPGMFC_BAD_TYPE", 6, 10, 6, 10),
    ROW(OFPGMFC_BAD_COMMAND, "OFPGMFC_BAD_COMMAND", 6, 11, 6, 11),
    ROW(OFPGMFC_BAD_BUCKET, "OFPGMFC_BAD_BUCKET", 6, 12, 6, 12),
    ROW(OFPGMFC_BAD_WATCH, "OFPGMFC_BAD_WATCH", 6, 13, 6, 13),
    ROW(OFPGMFC_EPERM, "OFPGMFC_EPERM", 6, 14, 6, 14),
    ROW(OFPPMFC_BAD_PORT, "OFPPMFC_BAD_PORT", 4, 0, 7, 0),
    ROW(OFPPMFC_BAD_HW_ADDR, "OFPPMFC_BAD_HW_ADDR", 4, 1, 7, 1),
    ROW(OFPPMFC_BAD_CONFIG, "OFPPMFC_BAD_CONFIG", 4, 0, 7, 2),           /* fb */
    ROW(OFPPMFC_BAD_ADVERTISE, "OFPPMFC_BAD_ADVERTISE", 4, 0, 7, 3),     /* fb */
    ROW(OFPPMFC_EPERM, "OFPPMFC_EPERM", 1, 5, 7, 4),                     /* fb */
    ROW(OFPTMFC_BAD_TABLE, "OFPTMFC_BAD_TABLE", 1, 1, 8, 0),             /* fb */
    ROW(OFPTMFC_BAD_CONFIG, "OFPTMFC_BAD_CONFIG", 1, 1, 8, 1),           /* fb */
    ROW(OFPTMFC_EPERM, "OFPTMFC_EPERM", 1, 5, 8, 2),                     /* fb */
    ROW(OFPQOFC_BAD_PORT, "OFPQOFC_BAD_PORT", 5, 0, 9, 0),
    ROW(OFPQOFC_BAD_QUEUE, "OFPQOFC_BAD_QUEUE", 5, 1, 9, 1),
    ROW(OFPQOFC_EPERM, "OFPQOFC_EPERM", 5, 2, 9, 2),
    ROW(OFPSCFC_BAD_FLAGS, "OFPSCFC_BAD_FLAGS", 1, 6, 10, 0),            /* fb */
    ROW(OFPSCFC_BAD_LEN, "OFPSCFC_BAD_LEN", 1, 6, 10, 1),                /* fb */
    ROW(OFPSCFC_EPERM, "OFPSCFC_EPERM", 1, 5, 10, 2),                    /* fb */
    ROW(OFPRRFC_STALE, "OFPRRFC_STALE", 1, 5, 11, 0),                    /* fb */
    ROW(OFPRRFC_UNSUP, "OFPRRFC_UNSUP", 1, 1, 11, 1),                    /* fb */
    ROW(OFPRRFC_BAD_ROLE, "OFPRRFC_BAD_ROLE", 1, 513, 11, 2),            /* NX */
    ROW(OFPMMFC_UNKNOWN, "OFPMMFC_UNKNOWN", 1, 1, 12, 0),                /* fb */
    ROW(OFPMMFC_METER_EXISTS, "OFPMMFC_METER_EXISTS", 1, 1, 12, 1),
    ROW(OFPMMFC_INVALID_METER, "OFPMMFC_INVALID_METER", 1, 1, 12, 2),
    ROW(OFPMMFC_UNKNOWN_METER, "OFPMMFC_UNKNOWN_METER", 1, 1, 12, 3),
    ROW(OFPMMFC_BAD_COMMAND, "OFPMMFC_BAD_COMMAND", 1, 1, 12, 4),
    ROW(OFPMMFC_BAD_FLAGS, "OFPMMFC_BAD_FLAGS", 1, 1, 12, 5),
    ROW(OFPMMFC_BAD_RATE, "OFPMMFC_BAD_RATE", 1, 1, 12, 6),
    ROW(OFPMMFC_BAD_BURST, "OFPMMFC_BAD_BURST", 1, 1, 12, 7),
    ROW(OFPMMFC_BAD_BAND, "OFPMMFC_BAD_BAND", 1, 1, 12, 8),
    ROW(OFPMMFC_BAD_BAND_VALUE, "OFPMMFC_BAD_BAND_VALUE", 1, 1, 12, 9),
    ROW(OFPMMFC_OUT_OF_METERS, "OFPMMFC_OUT_OF_METERS", 1, 1, 12, 10),
    ROW(OFPMMFC_OUT_OF_BANDS, "OFPMMFC_OUT_OF_BANDS", 1, 1, 12, 11),
    ROW(OFPTFFC_BAD_TABLE, "OFPTFFC_BAD_TABLE", 1, 1, 13, 0),
    ROW(OFPTFFC_BAD_METADATA, "OFPTFFC_BAD_METADATA", 1, 1, 13, 1),
    ROW(OFPTFFC_BAD_TYPE, "OFPTFFC_BAD_TYPE", 1, 1, 13, 2),
    ROW(OFPTFFC_BAD_LEN, "OFPTFFC_BAD_LEN", 1, 6, 13, 3),
    ROW(OFPTFFC_BAD_ARGUMENT, "OFPTFFC_BAD_ARGUMENT", 1, 1, 13, 4),
    ROW(OFPTFFC_EPERM, "OFPTFFC_EPERM", 1, 5, 13, 5),
};

const char *ofp_err_name(enum ofp_err err)
{
    if ((unsigned)err >= OFPERR_N_ERRORS)
        return "OFPERR_?";
    return rows[err].name;
}

int ofp_err_to_wire(enum ofp_err err, uint8_t version, struct ofp_error *out)
{
    if (!out || (unsigned)err >= OFPERR_N_ERRORS)
        return -EINVAL;
    const struct err_row *r = &rows[err];
    out->err = err;
    out->experimenter = 0;
    if (version == 0x01) {
        out->type = r->t10;
        out->code = r->c10;
    } else {
        out->type = r->t13;
        out->code = r->c13;
        if (r->t13 == OFPET_EXPERIMENTER)
            out->experimenter = OFP_ONF_EXPERIMENTER_ID;
    }
    return 0;
}

/* The 1.0 column is not one-to-one (fallbacks share numbers): a pair is
 * the error whose own code it is (own10), else the first row that has it. */
enum ofp_err ofp_err_from_wire(uint8_t version, uint16_t type, uint16_t code,
                               uint32_t experimenter)
{
    /* 1.0 pairs that a fallback row earlier in the table also uses. */
    static const struct {
        uint16_t type, code;
        enum ofp_err err;
    } own10[] = {
        {3, 5, OFPERR_OFPFMFC_UNSUPPORTED},
        {3, 3, OFPERR_OFPFMFC_BAD_EMERG_TIMEOUT},
        {1, 258, OFPERR_OFPBMC_BAD_VALUE},
        {1, 259, OFPERR_OFPBMC_BAD_MASK},
    };
    if (version == 0x01) {
        for (size_t i = 0; i < KK_ARRAY_SIZE(own10); i++)
            if (own10[i].type == type && own10[i].code == code)
                return own10[i].err;
    }
    for (unsigned e = 1; e < OFPERR_N_ERRORS; e++) {
        struct ofp_error w;
        ofp_err_to_wire((enum ofp_err)e, version, &w);
        if (w.type == type && w.code == code &&
            (type != OFPET_EXPERIMENTER || w.experimenter == experimenter))
            return (enum ofp_err)e;
    }
    return OFPERR_NONE;
}

static const char *const type_names10[] = {
    "OFPET_HELLO_FAILED", "OFPET_BAD_REQUEST", "OFPET_BAD_ACTION",
    "OFPET_FLOW_MOD_FAILED", "OFPET_PORT_MOD_FAILED", "OFPET_QUEUE_OP_FAILED",
};

static const char *const type_names13[] = {
    "OFPET_HELLO_FAILED", "OFPET_BAD_REQUEST", "OFPET_BAD_ACTION",
    "OFPET_BAD_INSTRUCTION", "OFPET_BAD_MATCH", "OFPET_FLOW_MOD_FAILED",
    "OFPET_GROUP_MOD_FAILED", "OFPET_PORT_MOD_FAILED", "OFPET_TABLE_MOD_FAILED",
    "OFPET_QUEUE_OP_FAILED", "OFPET_SWITCH_CONFIG_FAILED", "OFPET_ROLE_REQUEST_FAILED",
    "OFPET_METER_MOD_FAILED", "OFPET_TABLE_FEATURES_FAILED",
};

const char *ofp_error_type_name(uint8_t version, uint16_t type)
{
    if (type == OFPET_EXPERIMENTER && version != 0x01)
        return "OFPET_EXPERIMENTER";
    if (version == 0x01)
        return type < KK_ARRAY_SIZE(type_names10) ? type_names10[type] : NULL;
    return type < KK_ARRAY_SIZE(type_names13) ? type_names13[type] : NULL;
}

const char *ofp_error_code_name(uint8_t version, uint16_t type, uint16_t code)
{
    /* 1.0 calls two of them differently. */
    if (version == 0x01 && type == 1 && code == 2)
        return "OFPBRC_BAD_STAT";
    if (version == 0x01 && type == 1 && code == 3)
        return "OFPBRC_BAD_VENDOR";
    if (version == 0x01 && type == 1 && code == 4)
        return "OFPBRC_BAD_SUBTYPE";
    enum ofp_err e = ofp_err_from_wire(version, type, code,
                                       type == OFPET_EXPERIMENTER ? OFP_ONF_EXPERIMENTER_ID : 0);
    return e == OFPERR_NONE ? NULL : rows[e].name;
}
