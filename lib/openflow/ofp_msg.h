/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofp_msg.h — OpenFlow 1.0 (wire version 0x01) and 1.3 (0x04) messages:
 * framing, decoding into version-independent structs, validation, encoding.
 *
 * Design
 *   - One struct per message body, shared by both versions: where the
 *     versions differ in width the struct has the wider field (ports are
 *     32-bit, 1.0 reserved ports 0xfff8.. become 0xfffffff8..), and fields
 *     that exist in only one version are zero in the other. Bit fields
 *     whose meaning differs between versions (port config/state/features,
 *     capabilities, config flags) keep their wire values for the
 *     message's version. Matches are struct ofp_match_fields
 *     (ofp_match.h), actions and instructions ofp_actions.h lists.
 *   - ofp_decode() copies everything it keeps (packet data, strings,
 *     lists) into an arena owned by the struct ofp_msg; the input buffer
 *     can go away at once. ofp_msg_free() releases it.
 *   - ofp_encode() takes a struct filled by the caller (pointers to the
 *     caller's memory are fine) or by ofp_decode(), checks it with the same
 *     rules, and appends the wire message to a struct ofp_buf.
 *   - Every failure is an OpenFlow error: struct ofp_error receives the
 *     (type, code) that the message's version uses (see ofp_errors.h), so
 *     a switch can answer with ofp_encode_error_reply(). Decoding never
 *     reads outside [data, data + len).
 *   - Messages the codec does not know for the version (queue config,
 *     1.0 Nicira/vendor *content*) fail with OFPBRC_BAD_TYPE, except
 *     experimenter/vendor messages, which decode to their id and subtype so
 *     that the caller can recognise them and reject them with
 *     ofp_experimenter_error().
 *
 * Thread safety: no global state; a struct ofp_msg or ofp_buf belongs to
 * one thread at a time.
 */
#ifndef OFP_MSG_H
#define OFP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ofp_actions.h"
#include "ofp_errors.h"
#include "ofp_match.h"

#define OFP10_VERSION 0x01
#define OFP13_VERSION 0x04
#define OFP_HEADER_LEN 8
#define OFP_MAX_MSG_LEN 65535
#define OFP_TCP_PORT 6653
#define OFP_NICIRA_VENDOR_ID 0x00002320u

/* Message kinds, version-independent (the wire type differs: see
 * ofp_msg_type_to_wire()). */
enum ofp_msg_type {
    OFP_MSG_HELLO,
    OFP_MSG_ERROR,
    OFP_MSG_ECHO_REQUEST,
    OFP_MSG_ECHO_REPLY,
    OFP_MSG_EXPERIMENTER,       /* 1.0 VENDOR */
    OFP_MSG_FEATURES_REQUEST,
    OFP_MSG_FEATURES_REPLY,
    OFP_MSG_GET_CONFIG_REQUEST,
    OFP_MSG_GET_CONFIG_REPLY,
    OFP_MSG_SET_CONFIG,
    OFP_MSG_PACKET_IN,
    OFP_MSG_FLOW_REMOVED,
    OFP_MSG_PORT_STATUS,
    OFP_MSG_PACKET_OUT,
    OFP_MSG_FLOW_MOD,
    OFP_MSG_GROUP_MOD,          /* 1.3 */
    OFP_MSG_PORT_MOD,
    OFP_MSG_TABLE_MOD,          /* 1.3 */
    OFP_MSG_MULTIPART_REQUEST,  /* 1.0 STATS_REQUEST */
    OFP_MSG_MULTIPART_REPLY,    /* 1.0 STATS_REPLY */
    OFP_MSG_BARRIER_REQUEST,
    OFP_MSG_BARRIER_REPLY,
    OFP_MSG_ROLE_REQUEST,       /* 1.3 */
    OFP_MSG_ROLE_REPLY,         /* 1.3 */
    OFP_MSG_GET_ASYNC_REQUEST,  /* 1.3 */
    OFP_MSG_GET_ASYNC_REPLY,    /* 1.3 */
    OFP_MSG_SET_ASYNC,          /* 1.3 */
    OFP_MSG_METER_MOD,          /* 1.3 */
    OFP_MSG_N_TYPES
};

/* Multipart (1.0: stats) body types; 0..5 are the same in both versions. */
enum ofp_mp_type {
    OFPMP_DESC = 0,
    OFPMP_FLOW = 1,
    OFPMP_AGGREGATE = 2,
    OFPMP_TABLE = 3,
    OFPMP_PORT_STATS = 4,
    OFPMP_QUEUE = 5,
    OFPMP_GROUP = 6,           /* 1.3 from here */
    OFPMP_GROUP_DESC = 7,
    OFPMP_GROUP_FEATURES = 8,
    OFPMP_METER = 9,
    OFPMP_METER_CONFIG = 10,
    OFPMP_METER_FEATURES = 11,
    OFPMP_TABLE_FEATURES = 12,
    OFPMP_PORT_DESC = 13,
    OFPMP_EXPERIMENTER = 0xffff, /* 1.0 OFPST_VENDOR */
};

#define OFPMPF_MORE 1u  /* OFPMPF_REQ_MORE / OFPMPF_REPLY_MORE / OFPSF_REPLY_MORE */

enum ofp_flow_mod_command {
    OFPFC_ADD = 0,
    OFPFC_MODIFY = 1,
    OFPFC_MODIFY_STRICT = 2,
    OFPFC_DELETE = 3,
    OFPFC_DELETE_STRICT = 4,
};

#define OFPFF_SEND_FLOW_REM (1u << 0)
#define OFPFF_CHECK_OVERLAP (1u << 1)
#define OFPFF10_EMERG (1u << 2)
#define OFPFF13_RESET_COUNTS (1u << 2)
#define OFPFF13_NO_PKT_COUNTS (1u << 3)
#define OFPFF13_NO_BYT_COUNTS (1u << 4)

enum ofp_group_mod_command { OFPGC_ADD = 0, OFPGC_MODIFY = 1, OFPGC_DELETE = 2 };
enum ofp_group_type { OFPGT_ALL = 0, OFPGT_SELECT = 1, OFPGT_INDIRECT = 2, OFPGT_FF = 3 };
enum ofp_meter_mod_command { OFPMC_ADD = 0, OFPMC_MODIFY = 1, OFPMC_DELETE = 2 };
#define OFPMF_KBPS (1u << 0)
#define OFPMF_PKTPS (1u << 1)
#define OFPMF_BURST (1u << 2)
#define OFPMF_STATS (1u << 3)
enum ofp_meter_band_type {
    OFPMBT_DROP = 1,
    OFPMBT_DSCP_REMARK = 2,
    OFPMBT_EXPERIMENTER = 0xffff,
};
#define OFPM_MAX 0xffff0000u
#define OFPM_SLOWPATH 0xfffffffdu
#define OFPM_CONTROLLER 0xfffffffeu
#define OFPM_ALL 0xffffffffu
enum ofp_controller_role {
    OFPCR_ROLE_NOCHANGE = 0,
    OFPCR_ROLE_EQUAL = 1,
    OFPCR_ROLE_MASTER = 2,
    OFPCR_ROLE_SLAVE = 3,
};

/* A byte string; decoded ones live in the message's arena. */
struct ofp_bytes {
    const uint8_t *data;
    size_t len;
};

struct ofp_hello {
    /* Versions from the OFPHET_VERSIONBITMAP element: bit v set = version
     * v supported (versions above 31 are not kept). has_bitmap false: the
     * hello had no bitmap element (1.0 peers never send one). */
    bool has_bitmap;
    uint32_t bitmap;
};

struct ofp_error_msg {
    uint16_t type;          /* wire type / code as received */
    uint16_t code;          /* (exp_code when type is OFPET_EXPERIMENTER, 1.3) */
    uint32_t experimenter;  /* type OFPET_EXPERIMENTER only */
    struct ofp_bytes data;  /* usually the start of the offending message */
};

struct ofp_experimenter_msg {
    uint32_t experimenter;  /* vendor id (1.0) / experimenter id (1.3) */
    uint32_t exp_type;      /* 1.3 exp_type; 1.0: the first 4 bytes of the
                               vendor data when present (Nicira subtype) */
    bool has_exp_type;      /* 1.0: at least 4 bytes followed the vendor id
                               (without, data holds the 0-3 bytes there are) */
    struct ofp_bytes data;  /* after the id and exp_type */
};

/* Port description (1.0 ofp_phy_port, 48 bytes; 1.3 ofp_port, 64). */
struct ofp_port {
    uint32_t port_no;
    uint8_t hw_addr[6];
    char name[16];          /* as on the wire: not NUL-terminated when 16 long */
    uint32_t config, state;
    uint32_t curr, advertised, supported, peer;
    uint32_t curr_speed, max_speed;  /* 1.3 only */
};

struct ofp_features_reply {
    uint64_t datapath_id;
    uint32_t n_buffers;
    uint8_t n_tables;
    uint8_t auxiliary_id;   /* 1.3 only */
    uint32_t capabilities;
    uint32_t actions;       /* 1.0 only (1.3: reserved) */
    struct ofp_port *ports; /* 1.0 only */
    size_t n_ports;
};

struct ofp_switch_config {
    uint16_t flags;
    uint16_t miss_send_len;
};

struct ofp_packet_in {
    uint32_t buffer_id;
    uint16_t total_len;
    uint32_t in_port;       /* 1.0 only (1.3 has it in the match) */
    uint8_t reason;
    uint8_t table_id;       /* 1.3 only */
    uint64_t cookie;        /* 1.3 only */
    struct ofp_match_fields match;  /* 1.3 only */
    struct ofp_bytes data;
};

struct ofp_flow_removed {
    struct ofp_match_fields match;
    uint64_t cookie;
    uint16_t priority;
    uint8_t reason;
    uint8_t table_id;       /* 1.3 only */
    uint32_t duration_sec, duration_nsec;
    uint16_t idle_timeout;
    uint16_t hard_timeout;  /* 1.3 only */
    uint64_t packet_count, byte_count;
};

struct ofp_port_status {
    uint8_t reason;
    struct ofp_port desc;
};

struct ofp_packet_out {
    uint32_t buffer_id;
    uint32_t in_port;
    struct ofp_action_list actions;
    struct ofp_bytes data;
};

struct ofp_flow_mod {
    struct ofp_match_fields match;
    uint64_t cookie;
    uint64_t cookie_mask;   /* 1.3 only */
    uint8_t table_id;       /* 1.3 only */
    uint8_t command;        /* enum ofp_flow_mod_command */
    uint16_t idle_timeout, hard_timeout;
    uint16_t priority;
    uint32_t buffer_id;
    uint32_t out_port;
    uint32_t out_group;     /* 1.3 only */
    uint16_t flags;         /* OFPFF_* of the version */
    struct ofp_action_list actions;           /* 1.0 */
    struct ofp_instruction_list instructions; /* 1.3 */
};

struct ofp_bucket {
    uint16_t weight;
    uint32_t watch_port, watch_group;
    struct ofp_action_list actions;
};

struct ofp_group_mod {
    uint16_t command;       /* enum ofp_group_mod_command */
    uint8_t type;           /* enum ofp_group_type */
    uint32_t group_id;
    struct ofp_bucket *buckets;
    size_t n_buckets;
};

struct ofp_port_mod {
    uint32_t port_no;
    uint8_t hw_addr[6];
    uint32_t config, mask, advertise;
};

struct ofp_table_mod {
    uint8_t table_id;
    uint32_t config;
};

struct ofp_meter_band {
    uint16_t type;          /* enum ofp_meter_band_type */
    uint32_t rate, burst_size;
    uint8_t prec_level;     /* DSCP_REMARK */
    uint32_t experimenter;  /* EXPERIMENTER */
};

struct ofp_meter_mod {
    uint16_t command;       /* enum ofp_meter_mod_command */
    uint16_t flags;         /* OFPMF_* */
    uint32_t meter_id;
    struct ofp_meter_band *bands;
    size_t n_bands;
};

struct ofp_role {
    uint32_t role;          /* enum ofp_controller_role */
    uint64_t generation_id;
};

struct ofp_async_config {
    uint32_t packet_in_mask[2];     /* [0] master/equal, [1] slave */
    uint32_t port_status_mask[2];
    uint32_t flow_removed_mask[2];
};

/* ---- multipart bodies ---- */

struct ofp_desc_stats {
    char mfr_desc[256], hw_desc[256], sw_desc[256];
    char serial_num[32];
    char dp_desc[256];
};

/* Flow and aggregate requests. */
struct ofp_flow_stats_request {
    struct ofp_match_fields match;
    uint8_t table_id;
    uint32_t out_port;
    uint32_t out_group;     /* 1.3 only */
    uint64_t cookie, cookie_mask;  /* 1.3 only */
};

struct ofp_flow_stats {
    uint8_t table_id;
    struct ofp_match_fields match;
    uint32_t duration_sec, duration_nsec;
    uint16_t priority, idle_timeout, hard_timeout;
    uint16_t flags;         /* 1.3 only */
    uint64_t cookie, packet_count, byte_count;
    struct ofp_action_list actions;           /* 1.0 */
    struct ofp_instruction_list instructions; /* 1.3 */
};

struct ofp_aggregate_stats {
    uint64_t packet_count, byte_count;
    uint32_t flow_count;
};

struct ofp_table_stats {
    uint8_t table_id;
    char name[32];          /* 1.0 only */
    uint32_t wildcards, max_entries;  /* 1.0 only */
    uint32_t active_count;
    uint64_t lookup_count, matched_count;
};

struct ofp_port_stats {
    uint32_t port_no;
    uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes, rx_dropped, tx_dropped;
    uint64_t rx_errors, tx_errors, rx_frame_err, rx_over_err, rx_crc_err, collisions;
    uint32_t duration_sec, duration_nsec;  /* 1.3 only */
};

struct ofp_queue_stats {
    uint32_t port_no, queue_id;
    uint64_t tx_bytes, tx_packets, tx_errors;
    uint32_t duration_sec, duration_nsec;  /* 1.3 only */
};

struct ofp_bucket_counter {
    uint64_t packet_count, byte_count;
};

struct ofp_group_stats {
    uint32_t group_id, ref_count;
    uint64_t packet_count, byte_count;
    uint32_t duration_sec, duration_nsec;
    struct ofp_bucket_counter *buckets;
    size_t n_buckets;
};

struct ofp_group_desc {
    uint8_t type;
    uint32_t group_id;
    struct ofp_bucket *buckets;
    size_t n_buckets;
};

struct ofp_group_features {
    uint32_t types, capabilities;
    uint32_t max_groups[4];
    uint32_t actions[4];
};

struct ofp_meter_band_stats {
    uint64_t packet_band_count, byte_band_count;
};

struct ofp_meter_stats {
    uint32_t meter_id, flow_count;
    uint64_t packet_in_count, byte_in_count;
    uint32_t duration_sec, duration_nsec;
    struct ofp_meter_band_stats *bands;
    size_t n_bands;
};

struct ofp_meter_config {
    uint16_t flags;
    uint32_t meter_id;
    struct ofp_meter_band *bands;
    size_t n_bands;
};

struct ofp_meter_features {
    uint32_t max_meter, band_types, capabilities;
    uint8_t max_bands, max_color;
};

/* Table feature property types (OFPTFPT_*). */
enum ofp_table_feature_prop_type {
    OFPTFPT_INSTRUCTIONS = 0,
    OFPTFPT_INSTRUCTIONS_MISS = 1,
    OFPTFPT_NEXT_TABLES = 2,
    OFPTFPT_NEXT_TABLES_MISS = 3,
    OFPTFPT_WRITE_ACTIONS = 4,
    OFPTFPT_WRITE_ACTIONS_MISS = 5,
    OFPTFPT_APPLY_ACTIONS = 6,
    OFPTFPT_APPLY_ACTIONS_MISS = 7,
    OFPTFPT_MATCH = 8,
    OFPTFPT_WILDCARDS = 10,
    OFPTFPT_WRITE_SETFIELD = 12,
    OFPTFPT_WRITE_SETFIELD_MISS = 13,
    OFPTFPT_APPLY_SETFIELD = 14,
    OFPTFPT_APPLY_SETFIELD_MISS = 15,
    OFPTFPT_EXPERIMENTER = 0xfffe,
    OFPTFPT_EXPERIMENTER_MISS = 0xffff,
};

/*
 * One property. By type:
 *   INSTRUCTIONS*, WRITE_ACTIONS*, APPLY_ACTIONS*: ids[] holds instruction
 *     or action types (an experimenter id element keeps its experimenter
 *     id in the upper 32 bits: (uint64_t)experimenter << 32 | 0xffff);
 *   NEXT_TABLES*: ids[] holds table ids;
 *   MATCH, WILDCARDS, *SETFIELD*: ids[] holds 32-bit OXM headers;
 *   EXPERIMENTER*: experimenter, exp_type, data.
 */
struct ofp_table_feature_prop {
    uint16_t type;
    uint64_t *ids;
    size_t n_ids;
    uint32_t experimenter, exp_type;
    struct ofp_bytes data;
};

struct ofp_table_features {
    uint8_t table_id;
    char name[32];
    uint64_t metadata_match, metadata_write;
    uint32_t config, max_entries;
    struct ofp_table_feature_prop *props;
    size_t n_props;
};

struct ofp_multipart {
    uint16_t type;          /* enum ofp_mp_type */
    uint16_t flags;         /* OFPMPF_MORE */
    union {
        /* requests */
        struct ofp_flow_stats_request flow_req;    /* FLOW, AGGREGATE */
        uint32_t port_no;                          /* PORT_STATS (OFPP_ANY: all) */
        struct {
            uint32_t port_no, queue_id;
        } queue_req;                               /* QUEUE */
        uint32_t group_id;                         /* GROUP (OFPG_ALL) */
        uint32_t meter_id;                         /* METER, METER_CONFIG (OFPM_ALL) */
        /* replies */
        struct ofp_desc_stats *desc;               /* DESC */
        struct ofp_aggregate_stats aggregate;      /* AGGREGATE */
        struct ofp_group_features group_features;  /* GROUP_FEATURES */
        struct ofp_meter_features meter_features;  /* METER_FEATURES */
        struct {
            uint32_t experimenter, exp_type;
            struct ofp_bytes data;
        } experimenter;                            /* EXPERIMENTER (1.0: no exp_type) */
    } u;
    /* Lists (replies; TABLE_FEATURES also in requests, empty = query). */
    union {
        struct ofp_flow_stats *flow;
        struct ofp_table_stats *table;
        struct ofp_port_stats *port;
        struct ofp_queue_stats *queue;
        struct ofp_group_stats *group;
        struct ofp_group_desc *group_desc;
        struct ofp_meter_stats *meter;
        struct ofp_meter_config *meter_config;
        struct ofp_table_features *table_features;
        struct ofp_port *port_desc;
        void *any;
    } list;
    size_t n;
};

struct ofp_arena;

struct ofp_msg {
    uint8_t version;            /* OFP10_VERSION or OFP13_VERSION */
    uint8_t type;               /* enum ofp_msg_type */
    uint32_t xid;
    union {
        struct ofp_hello hello;
        struct ofp_error_msg error;
        struct ofp_bytes echo;                      /* ECHO_REQUEST/REPLY */
        struct ofp_experimenter_msg experimenter;
        struct ofp_features_reply features;
        struct ofp_switch_config config;            /* GET_CONFIG_REPLY, SET_CONFIG */
        struct ofp_packet_in packet_in;
        struct ofp_flow_removed flow_removed;
        struct ofp_port_status port_status;
        struct ofp_packet_out packet_out;
        struct ofp_flow_mod flow_mod;
        struct ofp_group_mod group_mod;
        struct ofp_port_mod port_mod;
        struct ofp_table_mod table_mod;
        struct ofp_meter_mod meter_mod;
        struct ofp_multipart multipart;
        struct ofp_role role;                       /* ROLE_REQUEST/REPLY */
        struct ofp_async_config async;              /* GET_ASYNC_REPLY, SET_ASYNC */
    } u;
    struct ofp_arena *arena;    /* decoded data; NULL for caller-built messages */
};

/* Growable output buffer. */
struct ofp_buf {
    uint8_t *data;
    size_t len, cap;
    bool failed;    /* an allocation failed: contents incomplete */
};

void ofp_buf_init(struct ofp_buf *b);
void ofp_buf_clear(struct ofp_buf *b);   /* len = 0, keeps the memory */
void ofp_buf_free(struct ofp_buf *b);    /* accepts NULL */

/* ---- framing ---- */

/*
 * Look at the start of a byte stream: returns the total length of the next
 * message (>= 8) when at least its 8-byte header is in @data, 0 when fewer
 * than 8 bytes are available (read more), or -EBADMSG when the header's
 * length field is below 8 (the stream cannot be resynchronised: close it).
 * The version is not checked here (a HELLO of any version must get
 * through); ofp_decode() does that.
 */
long ofp_frame_len(const void *data, size_t len);

/* Header fields of a complete message; -EBADMSG when len < 8 or the length
 * field disagrees with @len (then *err is OFPBRC_BAD_LEN). */
int ofp_header_parse(const void *data, size_t len, uint8_t *version, uint8_t *wire_type,
                     uint16_t *length, uint32_t *xid, struct ofp_error *err);

/* Wire type of @type in @version; -1 when the version has no such message. */
int ofp_msg_type_to_wire(enum ofp_msg_type type, uint8_t version);
/* "OFPT_FLOW_MOD"... (1.0 names for 1.0: "OFPT_STATS_REQUEST", "OFPT_VENDOR"). */
const char *ofp_msg_type_name(enum ofp_msg_type type, uint8_t version);
/* "OFPMP_FLOW" / "OFPST_FLOW"; NULL when unknown. */
const char *ofp_mp_type_name(uint16_t type, uint8_t version);

/* ---- decode / encode ---- */

/*
 * Decode the one complete message in [data, data + len) (len must equal the
 * header's length). On success returns 0 and fills @msg, which the caller
 * releases with ofp_msg_free(). Errors:
 *   -EINVAL   NULL pointers;
 *   -EBADMSG  malformed or unsupported: @err (if not NULL) holds the error
 *             for the message's version (1.3 numbering when the version
 *             itself is bad); @msg holds nothing to free;
 *   -ENOMEM   out of memory.
 * HELLO of any version decodes (negotiation needs it); other messages need
 * version 0x01 or 0x04 (else OFPBRC_BAD_VERSION).
 */
int ofp_decode(const void *data, size_t len, struct ofp_msg *msg, struct ofp_error *err);

/* Release what ofp_decode() allocated; @msg may be NULL or caller-built. */
void ofp_msg_free(struct ofp_msg *msg);

/*
 * Append the wire form of @msg (its version, type, xid; lengths computed)
 * to @out. Returns 0, -EINVAL (NULL, unknown type, or @msg breaks a rule:
 * @err says which, e.g. OFPBMC_BAD_FIELD for a 1.3-only match field in a
 * 1.0 message, OFPBRC_BAD_LEN when it exceeds 65535 bytes), or -ENOMEM.
 * On error @out is restored to its previous length.
 */
int ofp_encode(const struct ofp_msg *msg, struct ofp_buf *out, struct ofp_error *err);

/* Deep equality of two messages (contents, not pointers). */
bool ofp_msg_equal(const struct ofp_msg *a, const struct ofp_msg *b);

/* ---- helpers ---- */

/*
 * Append an OFPT_ERROR of @version with @xid carrying @error (its type/code
 * for that version are computed from error->err unless err is OFPERR_NONE,
 * in which case type/code/experimenter are used as given) and the first
 * min(@len, 64) bytes of @request. Returns 0, -EINVAL or -ENOMEM.
 */
int ofp_encode_error_reply(uint8_t version, uint32_t xid, const struct ofp_error *error,
                           const void *request, size_t len, struct ofp_buf *out);

/*
 * Version negotiation (OpenFlow 1.3.1 section 6.3.1). @ours: bitmap of the
 * versions we support (bit v = version v). @peer_version: the version in
 * the peer's HELLO header, @peer: its decoded body (NULL or without bitmap
 * when it had none). When both sides have bitmaps the result is the highest
 * version in both; otherwise min(our highest, peer_version), which must be
 * one we support. Returns 0 and sets *out, or -EPROTO (answer
 * OFPHFC_INCOMPATIBLE) or -EINVAL.
 */
int ofp_negotiate_version(uint32_t ours, uint8_t peer_version, const struct ofp_hello *peer,
                          uint8_t *out);

/*
 * The error to answer an EXPERIMENTER/VENDOR message (or multipart) with:
 * OFPBRC_BAD_EXPERIMENTER (1.0: OFPBRC_BAD_VENDOR) unless @known_experimenter
 * is true, in which case OFPBRC_BAD_EXP_TYPE (1.0: OFPBRC_BAD_SUBTYPE).
 */
void ofp_experimenter_error(const struct ofp_msg *msg, bool known_experimenter,
                            struct ofp_error *err);

/* Whether @msg is a Nicira vendor/experimenter message; *subtype receives
 * its subtype (exp_type) when known. */
bool ofp_is_nicira(const struct ofp_msg *msg, uint32_t *subtype);

#endif
