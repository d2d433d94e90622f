/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nbd_proto.h — the NBD wire protocol: constants, and pure functions that
 * parse what a client sends and encode what a server answers.
 *
 * Nothing here does I/O or keeps state, so every function can be unit
 * tested and fuzzed on its own; nbd_server.c drives them from its
 * connection state machine and blkperf's NBD engine uses the encoders for
 * its requests. Every parser validates every field of its input and says
 * what was wrong in @why (one line, for the log); buffers are byte arrays
 * in network byte order, never cast to structs.
 *
 * Spec: the NBD protocol (github.com/NetworkBlockDevice/nbd doc/proto.md),
 * fixed newstyle negotiation with the INFO, STRUCTURED_REPLY, BLOCK_STATUS,
 * WRITE_ZEROES (with FAST_ZERO) and CACHE extensions. Extended headers
 * (64-bit lengths) are not implemented: NBD_OPT_EXTENDED_HEADERS gets
 * NBD_REP_ERR_UNSUP, which every client handles.
 *
 * Threads: any; no globals.
 */
#ifndef KK_NBD_PROTO_H
#define KK_NBD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- handshake ------------------------------------------------------------ */

#define NBD_MAGIC              UINT64_C(0x4e42444d41474943) /* "NBDMAGIC" */
#define NBD_OPTS_MAGIC         UINT64_C(0x49484156454f5054) /* "IHAVEOPT" */
#define NBD_OPT_REPLY_MAGIC    UINT64_C(0x0003e889045565a9)

/* Handshake flags (server) and client flags. */
#define NBD_FLAG_FIXED_NEWSTYLE   (1u << 0)
#define NBD_FLAG_NO_ZEROES        (1u << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE (1u << 0)
#define NBD_FLAG_C_NO_ZEROES      (1u << 1)

/* Transmission flags (per export). */
#define NBD_FLAG_HAS_FLAGS         (1u << 0)
#define NBD_FLAG_READ_ONLY         (1u << 1)
#define NBD_FLAG_SEND_FLUSH        (1u << 2)
#define NBD_FLAG_SEND_FUA          (1u << 3)
#define NBD_FLAG_ROTATIONAL        (1u << 4)
#define NBD_FLAG_SEND_TRIM         (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_SEND_DF           (1u << 7)
#define NBD_FLAG_CAN_MULTI_CONN    (1u << 8)
#define NBD_FLAG_SEND_RESIZE       (1u << 9)
#define NBD_FLAG_SEND_CACHE        (1u << 10)
#define NBD_FLAG_SEND_FAST_ZERO    (1u << 11)

/* Options. */
#define NBD_OPT_EXPORT_NAME       1u
#define NBD_OPT_ABORT             2u
#define NBD_OPT_LIST              3u
#define NBD_OPT_STARTTLS          5u
#define NBD_OPT_INFO              6u
#define NBD_OPT_GO                7u
#define NBD_OPT_STRUCTURED_REPLY  8u
#define NBD_OPT_LIST_META_CONTEXT 9u
#define NBD_OPT_SET_META_CONTEXT  10u
#define NBD_OPT_EXTENDED_HEADERS  11u

/* Option replies. */
#define NBD_REP_ACK              1u
#define NBD_REP_SERVER           2u
#define NBD_REP_INFO             3u
#define NBD_REP_META_CONTEXT     4u
#define NBD_REP_ERR(v)           (UINT32_C(0x80000000) | (v))
#define NBD_REP_ERR_UNSUP           NBD_REP_ERR(1u)
#define NBD_REP_ERR_POLICY          NBD_REP_ERR(2u)
#define NBD_REP_ERR_INVALID         NBD_REP_ERR(3u)
#define NBD_REP_ERR_PLATFORM        NBD_REP_ERR(4u)
#define NBD_REP_ERR_TLS_REQD        NBD_REP_ERR(5u)
#define NBD_REP_ERR_UNKNOWN         NBD_REP_ERR(6u)
#define NBD_REP_ERR_SHUTDOWN        NBD_REP_ERR(7u)
#define NBD_REP_ERR_BLOCK_SIZE_REQD NBD_REP_ERR(8u)
#define NBD_REP_ERR_TOO_BIG         NBD_REP_ERR(9u)

/* NBD_REP_INFO item types. */
#define NBD_INFO_EXPORT      0u
#define NBD_INFO_NAME        1u
#define NBD_INFO_DESCRIPTION 2u
#define NBD_INFO_BLOCK_SIZE  3u

/* ---- transmission --------------------------------------------------------- */

#define NBD_REQUEST_MAGIC          UINT32_C(0x25609513)
#define NBD_SIMPLE_REPLY_MAGIC     UINT32_C(0x67446698)
#define NBD_STRUCTURED_REPLY_MAGIC UINT32_C(0x668e33ef)

#define NBD_CMD_READ         0u
#define NBD_CMD_WRITE        1u
#define NBD_CMD_DISC         2u
#define NBD_CMD_FLUSH        3u
#define NBD_CMD_TRIM         4u
#define NBD_CMD_CACHE        5u
#define NBD_CMD_WRITE_ZEROES 6u
#define NBD_CMD_BLOCK_STATUS 7u

#define NBD_CMD_FLAG_FUA       (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE   (1u << 1)
#define NBD_CMD_FLAG_DF        (1u << 2)
#define NBD_CMD_FLAG_REQ_ONE   (1u << 3)
#define NBD_CMD_FLAG_FAST_ZERO (1u << 4)

#define NBD_REPLY_FLAG_DONE (1u << 0)

#define NBD_REPLY_TYPE_NONE         0u
#define NBD_REPLY_TYPE_OFFSET_DATA  1u
#define NBD_REPLY_TYPE_OFFSET_HOLE  2u
#define NBD_REPLY_TYPE_BLOCK_STATUS 5u
#define NBD_REPLY_TYPE_ERROR        ((1u << 15) | 1u)
#define NBD_REPLY_TYPE_ERROR_OFFSET ((1u << 15) | 2u)

/* base:allocation extent flags. */
#define NBD_STATE_HOLE 0x1u
#define NBD_STATE_ZERO 0x2u

/* Error values on the wire (not the host's errno numbering by contract). */
#define NBD_EPERM     1u
#define NBD_EIO       5u
#define NBD_ENOMEM    12u
#define NBD_EINVAL    22u
#define NBD_ENOSPC    28u
#define NBD_EOVERFLOW 75u
#define NBD_ENOTSUP   95u
#define NBD_ESHUTDOWN 108u

/* ---- sizes and limits ----------------------------------------------------- */

#define NBD_GREETING_SIZE       18u  /* NBDMAGIC, IHAVEOPT, handshake flags */
#define NBD_OPT_HEADER_SIZE     16u
#define NBD_OPT_REPLY_SIZE      20u
#define NBD_REQUEST_SIZE        28u
#define NBD_SIMPLE_REPLY_SIZE   16u
#define NBD_CHUNK_HEADER_SIZE   20u
#define NBD_EXPORT_NAME_REPLY_SIZE 134u /* size, flags, 124 zero bytes */

#define NBD_MAX_STRING     4096u           /* export names, queries, messages */
#define NBD_OPT_MAX_LEN    (64u * 1024)    /* option data we buffer; more: ERR_TOO_BIG */
#define NBD_MAX_META_QUERIES 128u
#define NBD_MAX_INFO_REQUESTS 64u          /* distinct ones are few; duplicates are fine */
#define NBD_MAX_PAYLOAD    (32u << 20)     /* largest READ/WRITE we accept */
#define NBD_META_BASE_ALLOCATION_ID 1u     /* our one context's id */

/* ---- byte order helpers --------------------------------------------------- */

static inline uint16_t nbd_get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t nbd_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t nbd_get64(const uint8_t *p)
{
    return (uint64_t)nbd_get32(p) << 32 | nbd_get32(p + 4);
}
static inline void nbd_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void nbd_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void nbd_put64(uint8_t *p, uint64_t v)
{
    nbd_put32(p, (uint32_t)(v >> 32));
    nbd_put32(p + 4, (uint32_t)v);
}

/* Names for logs ("GO", "READ", "NBD_REP_ERR_UNKNOWN", ...); never NULL. */
const char *nbd_opt_name(uint32_t opt);
const char *nbd_cmd_name(uint16_t type);
const char *nbd_rep_name(uint32_t rep);

/* ---- handshake: parsing --------------------------------------------------- */

/*
 * Check the client flags against the handshake flags @server_flags we
 * sent. Returns 0 and *no_zeroes (skip the 124 zero bytes after
 * NBD_OPT_EXPORT_NAME), or -EPROTO for an unknown flag or one we did not
 * offer (the spec says: drop the connection).
 */
int nbd_parse_client_flags(uint32_t flags, uint16_t server_flags, bool *no_zeroes,
                           char *why, size_t whylen);

struct nbd_opt_header {
    uint32_t opt;
    uint32_t len;      /* option data that follows */
};

/* Parse NBD_OPT_HEADER_SIZE bytes. Returns 0 or -EPROTO (bad magic: the
 * client does not speak fixed newstyle; drop it). */
int nbd_parse_opt_header(const uint8_t *buf, struct nbd_opt_header *out, char *why,
                         size_t whylen);

/*
 * Validate a string from a client: at most NBD_MAX_STRING bytes, no NUL.
 * (UTF-8 is the client's business: names are compared bytewise.) Returns 0
 * or -EINVAL.
 */
int nbd_check_string(const uint8_t *s, uint32_t len);

/* NBD_OPT_INFO / NBD_OPT_GO data: export name and info requests. */
struct nbd_info_request {
    const uint8_t *name;   /* points into the option data (not NUL-terminated) */
    uint32_t name_len;
    uint16_t n_info;
    bool want_name;        /* NBD_INFO_NAME requested */
    bool want_description; /* NBD_INFO_DESCRIPTION requested */
    bool want_block_size;  /* NBD_INFO_BLOCK_SIZE requested */
};

/*
 * Parse INFO/GO option data of @len bytes. Unknown info types are allowed
 * (and ignored, as the spec asks). Returns 0, or -EINVAL when the lengths
 * disagree or the name is not a valid string (answer NBD_REP_ERR_INVALID).
 */
int nbd_parse_info_request(const uint8_t *data, uint32_t len, struct nbd_info_request *out,
                           char *why, size_t whylen);

/* LIST/SET_META_CONTEXT data: export name and queries. */
struct nbd_meta_request {
    const uint8_t *name;
    uint32_t name_len;
    uint32_t n_queries;
    const uint8_t *query[NBD_MAX_META_QUERIES];
    uint32_t query_len[NBD_MAX_META_QUERIES];
};

/*
 * Parse LIST/SET_META_CONTEXT data. Returns 0, -EINVAL (inconsistent
 * lengths, bad strings: NBD_REP_ERR_INVALID) or -E2BIG (more than
 * NBD_MAX_META_QUERIES queries: NBD_REP_ERR_TOO_BIG).
 */
int nbd_parse_meta_request(const uint8_t *data, uint32_t len, struct nbd_meta_request *out,
                           char *why, size_t whylen);

/*
 * Does query @q select "base:allocation"? For SET (@list false) only the
 * exact name does; for LIST also the namespace alone ("base:"). A query
 * for another namespace selects nothing (not an error).
 */
bool nbd_meta_query_selects_base_allocation(const uint8_t *q, uint32_t len, bool list);

/* ---- handshake: encoding -------------------------------------------------- */

/* NBDMAGIC, IHAVEOPT, @flags into NBD_GREETING_SIZE bytes. */
void nbd_encode_greeting(uint8_t *buf, uint16_t flags);

/* An option reply header (NBD_OPT_REPLY_SIZE bytes) for @len bytes of data. */
void nbd_encode_opt_reply(uint8_t *buf, uint32_t opt, uint32_t type, uint32_t len);

/* NBD_OPT_EXPORT_NAME's answer: size, flags and (unless @no_zeroes) 124
 * zero bytes. Returns the bytes written (10 or NBD_EXPORT_NAME_REPLY_SIZE). */
size_t nbd_encode_export_name_reply(uint8_t *buf, uint64_t size, uint16_t flags,
                                    bool no_zeroes);

/* NBD_REP_INFO payloads. Return the bytes written. */
size_t nbd_encode_info_export(uint8_t *buf, uint64_t size, uint16_t flags);      /* 12 */
size_t nbd_encode_info_block_size(uint8_t *buf, uint32_t min, uint32_t preferred,
                                  uint32_t max);                                   /* 14 */
/* NBD_INFO_NAME / NBD_INFO_DESCRIPTION: type then @len bytes of @s. */
size_t nbd_encode_info_string(uint8_t *buf, uint16_t type, const char *s, uint32_t len);

/* ---- transmission: requests ----------------------------------------------- */

struct nbd_request {
    uint16_t flags;
    uint16_t type;
    uint64_t handle;
    uint64_t offset;
    uint32_t len;
};

/* Parse NBD_REQUEST_SIZE bytes. Returns 0 or -EPROTO (bad magic: the stream
 * is out of step; drop the connection). */
int nbd_parse_request(const uint8_t *buf, struct nbd_request *out, char *why, size_t whylen);

/* Encode a request (for clients and tests) into NBD_REQUEST_SIZE bytes. */
void nbd_encode_request(uint8_t *buf, const struct nbd_request *r);

/* What the connection negotiated, for request validation. */
struct nbd_limits {
    uint64_t size;            /* export size */
    uint32_t min_block;       /* offsets and lengths are multiples of this */
    uint32_t max_payload;     /* largest READ/WRITE */
    uint16_t tx_flags;        /* transmission flags we sent */
    bool structured;          /* structured replies negotiated */
    bool meta_base_allocation;/* base:allocation selected */
};

/* How to answer a request. */
enum nbd_verdict {
    NBD_OK = 0,               /* valid: execute it */
    NBD_ERROR,                /* reply with *error (a WRITE's payload is read and dropped) */
    NBD_ERROR_CLOSE,          /* reply with *error, then hard disconnect: a WRITE payload
                                 too large to skip, or a command we cannot resync after */
    NBD_DISCONNECT,           /* NBD_CMD_DISC: finish what is in flight, then close */
};

/*
 * Validate request @r against @lim: type, flags for that type and what
 * was negotiated, offset/length against the export size and block size,
 * payload size. On anything but NBD_OK, *error is the NBD error value to
 * reply with (EINVAL, ENOSPC, EPERM, EOVERFLOW, ENOTSUP) and @why says
 * what was wrong.
 */
enum nbd_verdict nbd_check_request(const struct nbd_request *r, const struct nbd_limits *lim,
                                   uint32_t *error, char *why, size_t whylen);

/* Bytes of payload that follow request @r on the wire (WRITE: len; else 0). */
static inline uint32_t nbd_request_payload(const struct nbd_request *r)
{
    return r->type == NBD_CMD_WRITE ? r->len : 0;
}

/* Map a negative errno from the block layer to an NBD error value. */
uint32_t nbd_errno_to_wire(int err);

/* ---- transmission: replies ------------------------------------------------ */

/* Simple reply header (NBD_SIMPLE_REPLY_SIZE bytes). */
void nbd_encode_simple_reply(uint8_t *buf, uint32_t error, uint64_t handle);

/* Structured reply chunk header (NBD_CHUNK_HEADER_SIZE bytes). */
void nbd_encode_chunk(uint8_t *buf, uint16_t flags, uint16_t type, uint64_t handle,
                      uint32_t len);

/* A data chunk header plus the 8-byte offset: 28 bytes; @data_len follows. */
#define NBD_DATA_CHUNK_PREFIX 28u
void nbd_encode_data_chunk(uint8_t *buf, uint16_t flags, uint64_t handle, uint64_t offset,
                           uint32_t data_len);

/*
 * An error chunk (NBD_REPLY_TYPE_ERROR, or ERROR_OFFSET when @with_offset)
 * with @msg (truncated to fit @cap). Returns the bytes written: 26 or 34
 * plus the message. @cap must be at least 34.
 */
size_t nbd_encode_error_chunk(uint8_t *buf, size_t cap, uint16_t flags, uint64_t handle,
                              uint32_t error, const char *msg, bool with_offset,
                              uint64_t offset);

/* A block status chunk: header, context id, then @n descriptors of
 * (length, flags). Returns 24 + 8 * n. */
struct nbd_extent {
    uint32_t len;
    uint32_t flags;
};
size_t nbd_encode_block_status(uint8_t *buf, uint16_t flags, uint64_t handle,
                               uint32_t context_id, const struct nbd_extent *ext, uint32_t n);

/* ---- client side (blkperf, tests) ------------------------------------------ */

/* A reply header as a client reads it. */
struct nbd_reply {
    bool structured;
    uint16_t flags;       /* structured */
    uint16_t type;        /* structured */
    uint32_t error;       /* simple */
    uint64_t handle;
    uint32_t len;         /* structured payload */
};

/*
 * Parse a reply header from @buf of @avail bytes. Returns the header size
 * (16 simple, 20 structured), 0 if more bytes are needed, or -EPROTO (bad
 * magic).
 */
int nbd_parse_reply(const uint8_t *buf, size_t avail, struct nbd_reply *out);

#endif /* KK_NBD_PROTO_H */
