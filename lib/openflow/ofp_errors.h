/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofp_errors.h — OpenFlow error codes for the 1.0 and 1.3 codec.
 *
 * The codec reports every problem as a version-independent `enum ofp_err`
 * value. ofp_err_to_wire() turns it into the (type, code) pair that the
 * specification of the message's version names for the case:
 *
 *   - most errors exist in both versions, often with different numbers
 *     (OFPFMFC_BAD_COMMAND is (3,4) in 1.0 and (5,6) in 1.3; OFPBRC_BAD_STAT
 *     of 1.0 is OFPBRC_BAD_MULTIPART of 1.3);
 *   - where 1.0 has no code (bad match fields, bad flow-mod flags, set-field
 *     problems) we use the Nicira extension codes that Open vSwitch sends in
 *     1.0 (e.g. OFPBMC_BAD_PREREQ is (1,260)), so OVS tools print them by
 *     name; what has no code in 1.0 at all maps to OFPBRC_BAD_LEN or
 *     OFPBRC_BAD_TYPE as documented in the table in ofp_errors.c;
 *   - OFPBIC_DUP_INST has no standard code before 1.4: 1.3 sends the ONF
 *     extension error (OFPET_EXPERIMENTER, exp_code 2600, ONF id).
 *
 * Everything here is constant data and pure functions: any thread.
 */
#ifndef OFP_ERRORS_H
#define OFP_ERRORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wire error types (ofp_error_msg.type) of OpenFlow 1.0 ... */
enum ofp10_error_type {
    OFPET10_HELLO_FAILED = 0,
    OFPET10_BAD_REQUEST = 1,
    OFPET10_BAD_ACTION = 2,
    OFPET10_FLOW_MOD_FAILED = 3,
    OFPET10_PORT_MOD_FAILED = 4,
    OFPET10_QUEUE_OP_FAILED = 5,
};

/* ... and of OpenFlow 1.3. */
enum ofp13_error_type {
    OFPET13_HELLO_FAILED = 0,
    OFPET13_BAD_REQUEST = 1,
    OFPET13_BAD_ACTION = 2,
    OFPET13_BAD_INSTRUCTION = 3,
    OFPET13_BAD_MATCH = 4,
    OFPET13_FLOW_MOD_FAILED = 5,
    OFPET13_GROUP_MOD_FAILED = 6,
    OFPET13_PORT_MOD_FAILED = 7,
    OFPET13_TABLE_MOD_FAILED = 8,
    OFPET13_QUEUE_OP_FAILED = 9,
    OFPET13_SWITCH_CONFIG_FAILED = 10,
    OFPET13_ROLE_REQUEST_FAILED = 11,
    OFPET13_METER_MOD_FAILED = 12,
    OFPET13_TABLE_FEATURES_FAILED = 13,
    OFPET_EXPERIMENTER = 0xffff,
};

#define OFP_ONF_EXPERIMENTER_ID 0x4f4e4600u

/*
 * Version-independent error identities. The names follow the 1.3
 * specification (OFPBRC_BAD_MULTIPART is 1.0's OFPBRC_BAD_STAT,
 * OFPBRC_BAD_EXPERIMENTER is 1.0's OFPBRC_BAD_VENDOR, ...). 0 is "no error".
 */
enum ofp_err {
    OFPERR_NONE = 0,
    /* OFPET_HELLO_FAILED */
    OFPERR_OFPHFC_INCOMPATIBLE,
    OFPERR_OFPHFC_EPERM,
    /* OFPET_BAD_REQUEST */
    OFPERR_OFPBRC_BAD_VERSION,
    OFPERR_OFPBRC_BAD_TYPE,
    OFPERR_OFPBRC_BAD_MULTIPART,
    OFPERR_OFPBRC_BAD_EXPERIMENTER,
    OFPERR_OFPBRC_BAD_EXP_TYPE,
    OFPERR_OFPBRC_EPERM,
    OFPERR_OFPBRC_BAD_LEN,
    OFPERR_OFPBRC_BUFFER_EMPTY,
    OFPERR_OFPBRC_BUFFER_UNKNOWN,
    OFPERR_OFPBRC_BAD_TABLE_ID,
    OFPERR_OFPBRC_IS_SLAVE,
    OFPERR_OFPBRC_BAD_PORT,
    OFPERR_OFPBRC_BAD_PACKET,
    OFPERR_OFPBRC_MULTIPART_BUFFER_OVERFLOW,
    /* OFPET_BAD_ACTION */
    OFPERR_OFPBAC_BAD_TYPE,
    OFPERR_OFPBAC_BAD_LEN,
    OFPERR_OFPBAC_BAD_EXPERIMENTER,
    OFPERR_OFPBAC_BAD_EXP_TYPE,
    OFPERR_OFPBAC_BAD_OUT_PORT,
    OFPERR_OFPBAC_BAD_ARGUMENT,
    OFPERR_OFPBAC_EPERM,
    OFPERR_OFPBAC_TOO_MANY,
    OFPERR_OFPBAC_BAD_QUEUE,
    OFPERR_OFPBAC_BAD_OUT_GROUP,
    OFPERR_OFPBAC_MATCH_INCONSISTENT,
    OFPERR_OFPBAC_UNSUPPORTED_ORDER,
    OFPERR_OFPBAC_BAD_TAG,
    OFPERR_OFPBAC_BAD_SET_TYPE,
    OFPERR_OFPBAC_BAD_SET_LEN,
    OFPERR_OFPBAC_BAD_SET_ARGUMENT,
    /* OFPET_BAD_INSTRUCTION */
    OFPERR_OFPBIC_UNKNOWN_INST,
    OFPERR_OFPBIC_UNSUP_INST,
    OFPERR_OFPBIC_BAD_TABLE_ID,
    OFPERR_OFPBIC_UNSUP_METADATA,
    OFPERR_OFPBIC_UNSUP_METADATA_MASK,
    OFPERR_OFPBIC_BAD_EXPERIMENTER,
    OFPERR_OFPBIC_BAD_EXP_TYPE,
    OFPERR_OFPBIC_BAD_LEN,
    OFPERR_OFPBIC_EPERM,
    OFPERR_OFPBIC_DUP_INST,
    /* OFPET_BAD_MATCH */
    OFPERR_OFPBMC_BAD_TYPE,
    OFPERR_OFPBMC_BAD_LEN,
    OFPERR_OFPBMC_BAD_TAG,
    OFPERR_OFPBMC_BAD_DL_ADDR_MASK,
    OFPERR_OFPBMC_BAD_NW_ADDR_MASK,
    OFPERR_OFPBMC_BAD_WILDCARDS,
    OFPERR_OFPBMC_BAD_FIELD,
    OFPERR_OFPBMC_BAD_VALUE,
    OFPERR_OFPBMC_BAD_MASK,
    OFPERR_OFPBMC_BAD_PREREQ,
    OFPERR_OFPBMC_DUP_FIELD,
    OFPERR_OFPBMC_EPERM,
    /* OFPET_FLOW_MOD_FAILED */
    OFPERR_OFPFMFC_UNKNOWN,
    OFPERR_OFPFMFC_TABLE_FULL,
    OFPERR_OFPFMFC_BAD_TABLE_ID,
    OFPERR_OFPFMFC_OVERLAP,
    OFPERR_OFPFMFC_EPERM,
    OFPERR_OFPFMFC_BAD_TIMEOUT,
    OFPERR_OFPFMFC_BAD_EMERG_TIMEOUT,  /* 1.0 only */
    OFPERR_OFPFMFC_BAD_COMMAND,
    OFPERR_OFPFMFC_BAD_FLAGS,
    OFPERR_OFPFMFC_UNSUPPORTED,        /* 1.0 only */
    /* OFPET_GROUP_MOD_FAILED */
    OFPERR_OFPGMFC_GROUP_EXISTS,
    OFPERR_OFPGMFC_INVALID_GROUP,
    OFPERR_OFPGMFC_WEIGHT_UNSUPPORTED,
    OFPERR_OFPGMFC_OUT_OF_GROUPS,
    OFPERR_OFPGMFC_OUT_OF_BUCKETS,
    OFPERR_OFPGMFC_CHAINING_UNSUPPORTED,
    OFPERR_OFPGMFC_WATCH_UNSUPPORTED,
    OFPERR_OFPGMFC_LOOP,
    OFPERR_OFPGMFC_UNKNOWN_GROUP,
    OFPERR_OFPGMFC_CHAINED_GROUP,
    OFPERR_OFPGMFC_BAD_TYPE,
    OFPERR_OFPGMFC_BAD_COMMAND,
    OFPERR_OFPGMFC_BAD_BUCKET,
    OFPERR_OFPGMFC_BAD_WATCH,
    OFPERR_OFPGMFC_EPERM,
    /* OFPET_PORT_MOD_FAILED */
    OFPERR_OFPPMFC_BAD_PORT,
    OFPERR_OFPPMFC_BAD_HW_ADDR,
    OFPERR_OFPPMFC_BAD_CONFIG,
    OFPERR_OFPPMFC_BAD_ADVERTISE,
    OFPERR_OFPPMFC_EPERM,
    /* OFPET_TABLE_MOD_FAILED */
    OFPERR_OFPTMFC_BAD_TABLE,
    OFPERR_OFPTMFC_BAD_CONFIG,
    OFPERR_OFPTMFC_EPERM,
    /* OFPET_QUEUE_OP_FAILED */
    OFPERR_OFPQOFC_BAD_PORT,
    OFPERR_OFPQOFC_BAD_QUEUE,
    OFPERR_OFPQOFC_EPERM,
    /* OFPET_SWITCH_CONFIG_FAILED */
    OFPERR_OFPSCFC_BAD_FLAGS,
    OFPERR_OFPSCFC_BAD_LEN,
    OFPERR_OFPSCFC_EPERM,
    /* OFPET_ROLE_REQUEST_FAILED */
    OFPERR_OFPRRFC_STALE,
    OFPERR_OFPRRFC_UNSUP,
    OFPERR_OFPRRFC_BAD_ROLE,
    /* OFPET_METER_MOD_FAILED */
    OFPERR_OFPMMFC_UNKNOWN,
    OFPERR_OFPMMFC_METER_EXISTS,
    OFPERR_OFPMMFC_INVALID_METER,
    OFPERR_OFPMMFC_UNKNOWN_METER,
    OFPERR_OFPMMFC_BAD_COMMAND,
    OFPERR_OFPMMFC_BAD_FLAGS,
    OFPERR_OFPMMFC_BAD_RATE,
    OFPERR_OFPMMFC_BAD_BURST,
    OFPERR_OFPMMFC_BAD_BAND,
    OFPERR_OFPMMFC_BAD_BAND_VALUE,
    OFPERR_OFPMMFC_OUT_OF_METERS,
    OFPERR_OFPMMFC_OUT_OF_BANDS,
    /* OFPET_TABLE_FEATURES_FAILED */
    OFPERR_OFPTFFC_BAD_TABLE,
    OFPERR_OFPTFFC_BAD_METADATA,
    OFPERR_OFPTFFC_BAD_TYPE,
    OFPERR_OFPTFFC_BAD_LEN,
    OFPERR_OFPTFFC_BAD_ARGUMENT,
    OFPERR_OFPTFFC_EPERM,

    OFPERR_N_ERRORS
};

/* An error as it goes on the wire for one version. */
struct ofp_error {
    enum ofp_err err;       /* OFPERR_NONE when there was no OpenFlow error */
    uint16_t type;          /* wire error type for the version */
    uint16_t code;          /* wire code (exp_code when type is OFPET_EXPERIMENTER) */
    uint32_t experimenter;  /* experimenter id when type is OFPET_EXPERIMENTER */
};

/* "OFPBRC_BAD_LEN" etc. for @err; "OFPERR_NONE" for 0, "OFPERR_?" when out of range. */
const char *ofp_err_name(enum ofp_err err);

/*
 * Wire (type, code) of @err for @version (0x01 or 0x04; any other version
 * uses the 1.3 numbering). Fills @out (all of it) and returns 0; -EINVAL
 * for an out-of-range @err or NULL @out.
 */
int ofp_err_to_wire(enum ofp_err err, uint8_t version, struct ofp_error *out);

/*
 * The identity of a wire (type, code) of @version: the inverse of
 * ofp_err_to_wire(). OFPERR_NONE when the pair is not one the codec knows
 * (the caller still has the raw numbers).
 */
enum ofp_err ofp_err_from_wire(uint8_t version, uint16_t type, uint16_t code,
                               uint32_t experimenter);

/* Names of wire error types and codes for printing: "OFPET_BAD_MATCH",
 * "OFPBMC_BAD_PREREQ". NULL when unknown for that version. */
const char *ofp_error_type_name(uint8_t version, uint16_t type);
const char *ofp_error_code_name(uint8_t version, uint16_t type, uint16_t code);

#endif
