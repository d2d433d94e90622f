/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NBD wire protocol: parsing and encoding (see nbd_proto.h). No I/O, no
 * state: the server's connection state machine and the blkperf client
 * call these on byte buffers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kk_common.h"
#include "nbd_proto.h"

static void say(char *why, size_t whylen, const char *fmt, ...) KK_PRINTF(3, 4);

static void say(char *why, size_t whylen, const char *fmt, ...)
{
    if (!why || whylen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* ---- names ------------------------------------------------------------------ */

const char *nbd_opt_name(uint32_t opt)
{
    switch (opt) {
    case NBD_OPT_EXPORT_NAME: return "EXPORT_NAME";
    case NBD_OPT_ABORT: return "ABORT";
    case NBD_OPT_LIST: return "LIST";
    case NBD_OPT_STARTTLS: return "STARTTLS";
    case NBD_OPT_INFO: return "INFO";
    case NBD_OPT_GO: return "GO";
    case NBD_OPT_STRUCTURED_REPLY: return "STRUCTURED_REPLY";
    case NBD_OPT_LIST_META_CONTEXT: return "LIST_META_CONTEXT";
    case NBD_OPT_SET_META_CONTEXT: return "SET_META_CONTEXT";
    case NBD_OPT_EXTENDED_HEADERS: return "EXTENDED_HEADERS";
    default: return "unknown option";
    }
}

const char *nbd_cmd_name(uint16_t type)
{
    switch (type) {
    case NBD_CMD_READ: return "READ";
    case NBD_CMD_WRITE: return "WRITE";
    case NBD_CMD_DISC: return "DISC";
    case NBD_CMD_FLUSH: return "FLUSH";
    case NBD_CMD_TRIM: return "TRIM";
    case NBD_CMD_CACHE: return "CACHE";
    case NBD_CMD_WRITE_ZEROES: return "WRITE_ZEROES";
    case NBD_CMD_BLOCK_STATUS: return "BLOCK_STATUS";
    default: return "unknown command";
    }
}

const char *nbd_rep_name(uint32_t rep)
{
    switch (rep) {
    case NBD_REP_ACK: return "NBD_REP_ACK";
    case NBD_REP_SERVER: return "NBD_REP_SERVER";
    case NBD_REP_INFO: return "NBD_REP_INFO";
    case NBD_REP_META_CONTEXT: return "NBD_REP_META_CONTEXT";
    case NBD_REP_ERR_UNSUP: return "NBD_REP_ERR_UNSUP";
    case NBD_REP_ERR_POLICY: return "NBD_REP_ERR_POLICY";
    case NBD_REP_ERR_INVALID: return "NBD_REP_ERR_INVALID";
    case NBD_REP_ERR_PLATFORM: return "NBD_REP_ERR_PLATFORM";
    case NBD_REP_ERR_TLS_REQD: return "NBD_REP_ERR_TLS_REQD";
    case NBD_REP_ERR_UNKNOWN: return "NBD_REP_ERR_UNKNOWN";
    case NBD_REP_ERR_SHUTDOWN: return "NBD_REP_ERR_SHUTDOWN";
    case NBD_REP_ERR_BLOCK_SIZE_REQD: return "NBD_REP_ERR_BLOCK_SIZE_REQD";
    case NBD_REP_ERR_TOO_BIG: return "NBD_REP_ERR_TOO_BIG";
    default: return "unknown reply";
    }
}

/* ---- handshake: parsing ---------------------------------------------------- */

int nbd_parse_client_flags(uint32_t flags, uint16_t server_flags, bool *no_zeroes, char *why,
                           size_t whylen)
{
    uint32_t known = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES;
    if (flags & ~known) {
        say(why, whylen, "unknown client flags 0x%x", flags & ~known);
        return -EPROTO;
    }
    if ((flags & NBD_FLAG_C_NO_ZEROES) && !(server_flags & NBD_FLAG_NO_ZEROES)) {
        say(why, whylen, "client set NO_ZEROES, which we did not offer");
        return -EPROTO;
    }
    if ((flags & NBD_FLAG_C_FIXED_NEWSTYLE) && !(server_flags & NBD_FLAG_FIXED_NEWSTYLE)) {
        say(why, whylen, "client set FIXED_NEWSTYLE, which we did not offer");
        return -EPROTO;
    }
    *no_zeroes = (flags & NBD_FLAG_C_NO_ZEROES) != 0;
    return 0;
}

int nbd_parse_opt_header(const uint8_t *buf, struct nbd_opt_header *out, char *why,
                         size_t whylen)
{
    uint64_t magic = nbd_get64(buf);
    if (magic != NBD_OPTS_MAGIC) {
        say(why, whylen, "bad option magic 0x%016llx", (unsigned long long)magic);
        return -EPROTO;
    }
    out->opt = nbd_get32(buf + 8);
    out->len = nbd_get32(buf + 12);
    return 0;
}

int nbd_check_string(const uint8_t *s, uint32_t len)
{
    if (len > NBD_MAX_STRING)
        return -EINVAL;
    if (len && memchr(s, 0, len))
        return -EINVAL;
    return 0;
}

int nbd_parse_info_request(const uint8_t *data, uint32_t len, struct nbd_info_request *out,
                           char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    if (len < 6) {
        say(why, whylen, "option data of %u bytes is too short for a name and info count", len);
        return -EINVAL;
    }
    uint32_t name_len = nbd_get32(data);
    if (name_len > len - 6) {
        say(why, whylen, "export name length %u runs past the option data (%u bytes)", name_len,
            len);
        return -EINVAL;
    }
    if (nbd_check_string(data + 4, name_len) < 0) {
        say(why, whylen, "export name is longer than %u bytes or contains NUL", NBD_MAX_STRING);
        return -EINVAL;
    }
    const uint8_t *p = data + 4 + name_len;
    uint16_t n = nbd_get16(p);
    p += 2;
    if ((uint64_t)len != 6ull + name_len + 2ull * n) {
        say(why, whylen, "%u info requests need %llu bytes of option data, got %u", n,
            6ull + name_len + 2ull * n, len);
        return -EINVAL;
    }
    out->name = data + 4;
    out->name_len = name_len;
    out->n_info = n;
    for (uint16_t i = 0; i < n; i++) {
        switch (nbd_get16(p + 2u * i)) {
        case NBD_INFO_NAME: out->want_name = true; break;
        case NBD_INFO_DESCRIPTION: out->want_description = true; break;
        case NBD_INFO_BLOCK_SIZE: out->want_block_size = true; break;
        default: break; /* NBD_INFO_EXPORT is always sent; unknown ones ignored */
        }
    }
    return 0;
}

int nbd_parse_meta_request(const uint8_t *data, uint32_t len, struct nbd_meta_request *out,
                           char *why, size_t whylen)
{
    out->name = NULL;
    out->name_len = 0;
    out->n_queries = 0;
    if (len < 8) {
        say(why, whylen, "option data of %u bytes is too short for a name and query count", len);
        return -EINVAL;
    }
    uint32_t name_len = nbd_get32(data);
    if (name_len > len - 8) {
        say(why, whylen, "export name length %u runs past the option data (%u bytes)", name_len,
            len);
        return -EINVAL;
    }
    if (nbd_check_string(data + 4, name_len) < 0) {
        say(why, whylen, "export name is longer than %u bytes or contains NUL", NBD_MAX_STRING);
        return -EINVAL;
    }
    out->name = data + 4;
    out->name_len = name_len;
    uint32_t pos = 4 + name_len;
    uint32_t n = nbd_get32(data + pos);
    pos += 4;
    if (n > NBD_MAX_META_QUERIES) {
        say(why, whylen, "%u queries (at most %u)", n, NBD_MAX_META_QUERIES);
        return -E2BIG;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (len - pos < 4) {
            say(why, whylen, "query %u's length runs past the option data", i);
            return -EINVAL;
        }
        uint32_t qlen = nbd_get32(data + pos);
        pos += 4;
        if (qlen > len - pos) {
            say(why, whylen, "query %u (%u bytes) runs past the option data", i, qlen);
            return -EINVAL;
        }
        if (nbd_check_string(data + pos, qlen) < 0) {
            say(why, whylen, "query %u is longer than %u bytes or contains NUL", i,
                NBD_MAX_STRING);
            return -EINVAL;
        }
        out->query[i] = data + pos;
        out->query_len[i] = qlen;
        pos += qlen;
    }
    if (pos != len) {
        say(why, whylen, "%u bytes of option data after the last query", len - pos);
        return -EINVAL;
    }
    out->n_queries = n;
    return 0;
}

bool nbd_meta_query_selects_base_allocation(const uint8_t *q, uint32_t len, bool list)
{
    static const char full[] = "base:allocation";
    if (len == sizeof(full) - 1 && memcmp(q, full, len) == 0)
        return true;
    return list && len == 5 && memcmp(q, "base:", 5) == 0;
}

/* ---- handshake: encoding ----------------------------------------------------- */

void nbd_encode_greeting(uint8_t *buf, uint16_t flags)
{
    nbd_put64(buf, NBD_MAGIC);
    nbd_put64(buf + 8, NBD_OPTS_MAGIC);
    nbd_put16(buf + 16, flags);
}

void nbd_encode_opt_reply(uint8_t *buf, uint32_t opt, uint32_t type, uint32_t len)
{
    nbd_put64(buf, NBD_OPT_REPLY_MAGIC);
    nbd_put32(buf + 8, opt);
    nbd_put32(buf + 12, type);
    nbd_put32(buf + 16, len);
}

size_t nbd_encode_export_name_reply(uint8_t *buf, uint64_t size, uint16_t flags,
                                    bool no_zeroes)
{
    nbd_put64(buf, size);
    nbd_put16(buf + 8, flags);
    if (no_zeroes)
        return 10;
    memset(buf + 10, 0, 124);
    return NBD_EXPORT_NAME_REPLY_SIZE;
}

size_t nbd_encode_info_export(uint8_t *buf, uint64_t size, uint16_t flags)
{
    nbd_put16(buf, NBD_INFO_EXPORT);
    nbd_put64(buf + 2, size);
    nbd_put16(buf + 10, flags);
    return 12;
}

size_t nbd_encode_info_block_size(uint8_t *buf, uint32_t min, uint32_t preferred, uint32_t max)
{
    nbd_put16(buf, NBD_INFO_BLOCK_SIZE);
    nbd_put32(buf + 2, min);
    nbd_put32(buf + 6, preferred);
    nbd_put32(buf + 10, max);
    return 14;
}

size_t nbd_encode_info_string(uint8_t *buf, uint16_t type, const char *s, uint32_t len)
{
    nbd_put16(buf, type);
    if (len)
        memcpy(buf + 2, s, len);
    return 2u + len;
}

/* ---- transmission: requests ----------------------------------------------------- */

int nbd_parse_request(const uint8_t *buf, struct nbd_request *out, char *why, size_t whylen)
{
    uint32_t magic = nbd_get32(buf);
    if (magic != NBD_REQUEST_MAGIC) {
        say(why, whylen, "bad request magic 0x%08x", magic);
        return -EPROTO;
    }
    out->flags = nbd_get16(buf + 4);
    out->type = nbd_get16(buf + 6);
    out->handle = nbd_get64(buf + 8);
    out->offset = nbd_get64(buf + 16);
    out->len = nbd_get32(buf + 24);
    return 0;
}

void nbd_encode_request(uint8_t *buf, const struct nbd_request *r)
{
    nbd_put32(buf, NBD_REQUEST_MAGIC);
    nbd_put16(buf + 4, r->flags);
    nbd_put16(buf + 6, r->type);
    nbd_put64(buf + 8, r->handle);
    nbd_put64(buf + 16, r->offset);
    nbd_put32(buf + 24, r->len);
}

/* Flags a command may carry given what was negotiated. */
static uint16_t allowed_flags(uint16_t type, const struct nbd_limits *lim)
{
    uint16_t fua = (lim->tx_flags & NBD_FLAG_SEND_FUA) ? NBD_CMD_FLAG_FUA : 0;
    switch (type) {
    case NBD_CMD_READ:
        return fua | ((lim->tx_flags & NBD_FLAG_SEND_DF) ? NBD_CMD_FLAG_DF : 0);
    case NBD_CMD_WRITE_ZEROES:
        return fua | NBD_CMD_FLAG_NO_HOLE |
               ((lim->tx_flags & NBD_FLAG_SEND_FAST_ZERO) ? NBD_CMD_FLAG_FAST_ZERO : 0);
    case NBD_CMD_BLOCK_STATUS:
        return fua | NBD_CMD_FLAG_REQ_ONE;
    default:
        /* The spec lets clients set FUA on any command once it was offered. */
        return fua;
    }
}

enum nbd_verdict nbd_check_request(const struct nbd_request *r, const struct nbd_limits *lim,
                                   uint32_t *error, char *why, size_t whylen)
{
    const char *name = nbd_cmd_name(r->type);
    bool writes = r->type == NBD_CMD_WRITE || r->type == NBD_CMD_TRIM ||
                  r->type == NBD_CMD_WRITE_ZEROES;
    /* A WRITE we will not execute still has its payload on the wire: we read
     * and drop it, up to what we accept at all; past that we cannot afford
     * to follow the stream and close instead. */
    enum nbd_verdict fail = NBD_ERROR;
    if (r->type == NBD_CMD_WRITE && r->len > lim->max_payload)
        fail = NBD_ERROR_CLOSE;
    *error = NBD_EINVAL;

    switch (r->type) {
    case NBD_CMD_DISC:
        return NBD_DISCONNECT;
    case NBD_CMD_READ:
    case NBD_CMD_WRITE:
    case NBD_CMD_FLUSH:
        break;
    case NBD_CMD_TRIM:
        if (!(lim->tx_flags & NBD_FLAG_SEND_TRIM) && !(lim->tx_flags & NBD_FLAG_READ_ONLY)) {
            say(why, whylen, "TRIM was not offered");
            return fail;
        }
        break;
    case NBD_CMD_CACHE:
        if (!(lim->tx_flags & NBD_FLAG_SEND_CACHE)) {
            say(why, whylen, "CACHE was not offered");
            return fail;
        }
        break;
    case NBD_CMD_WRITE_ZEROES:
        if (!(lim->tx_flags & NBD_FLAG_SEND_WRITE_ZEROES) &&
            !(lim->tx_flags & NBD_FLAG_READ_ONLY)) {
            say(why, whylen, "WRITE_ZEROES was not offered");
            return fail;
        }
        break;
    case NBD_CMD_BLOCK_STATUS:
        if (!lim->structured || !lim->meta_base_allocation) {
            say(why, whylen, "BLOCK_STATUS without %s negotiated",
                lim->structured ? "a metadata context" : "structured replies");
            return fail;
        }
        break;
    default:
        say(why, whylen, "unknown command type %u", r->type);
        return fail;
    }
    uint16_t bad = (uint16_t)(r->flags & ~allowed_flags(r->type, lim));
    if (bad) {
        say(why, whylen, "%s with flags 0x%x it may not carry", name, bad);
        return fail;
    }
    if (writes && (lim->tx_flags & NBD_FLAG_READ_ONLY)) {
        *error = NBD_EPERM;
        say(why, whylen, "%s on a read-only export", name);
        return fail;
    }
    if (r->type == NBD_CMD_FLUSH) {
        if (r->offset || r->len) {
            say(why, whylen, "FLUSH with offset %llu and length %u (both must be 0)",
                (unsigned long long)r->offset, r->len);
            return fail;
        }
        return NBD_OK;
    }
    if (r->len == 0) {
        say(why, whylen, "%s of length 0", name);
        return fail;
    }
    if ((r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE) && r->len > lim->max_payload) {
        say(why, whylen, "%s of %u bytes (at most %u)", name, r->len, lim->max_payload);
        return fail;
    }
    if (lim->min_block > 1 && (r->offset % lim->min_block || r->len % lim->min_block)) {
        say(why, whylen, "%s at %llu+%u is not aligned to the %u-byte block size", name,
            (unsigned long long)r->offset, r->len, lim->min_block);
        return fail;
    }
    if (r->offset > lim->size || r->len > lim->size - r->offset) {
        *error = (r->type == NBD_CMD_WRITE || r->type == NBD_CMD_WRITE_ZEROES) ? NBD_ENOSPC
                                                                              : NBD_EINVAL;
        say(why, whylen, "%s at %llu+%u is past the end of the export (%llu bytes)", name,
            (unsigned long long)r->offset, r->len, (unsigned long long)lim->size);
        return fail;
    }
    return NBD_OK;
}

uint32_t nbd_errno_to_wire(int err)
{
    switch (err < 0 ? -err : err) {
    case 0: return 0;
    case EPERM:
    case EROFS:
    case EACCES: return NBD_EPERM;
    case ENOMEM: return NBD_ENOMEM;
    case EINVAL: return NBD_EINVAL;
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return NBD_ENOSPC;
    case EOVERFLOW: return NBD_EOVERFLOW;
    case ENOTSUP: return NBD_ENOTSUP;
    case ESHUTDOWN: return NBD_ESHUTDOWN;
    default: return NBD_EIO;
    }
}

/* ---- transmission: replies ---------------------------------------------------------- */

void nbd_encode_simple_reply(uint8_t *buf, uint32_t error, uint64_t handle)
{
    nbd_put32(buf, NBD_SIMPLE_REPLY_MAGIC);
    nbd_put32(buf + 4, error);
    nbd_put64(buf + 8, handle);
}

void nbd_encode_chunk(uint8_t *buf, uint16_t flags, uint16_t type, uint64_t handle,
                      uint32_t len)
{
    nbd_put32(buf, NBD_STRUCTURED_REPLY_MAGIC);
    nbd_put16(buf + 4, flags);
    nbd_put16(buf + 6, type);
    nbd_put64(buf + 8, handle);
    nbd_put32(buf + 16, len);
}

void nbd_encode_data_chunk(uint8_t *buf, uint16_t flags, uint64_t handle, uint64_t offset,
                           uint32_t data_len)
{
    nbd_encode_chunk(buf, flags, NBD_REPLY_TYPE_OFFSET_DATA, handle, data_len + 8u);
    nbd_put64(buf + NBD_CHUNK_HEADER_SIZE, offset);
}

size_t nbd_encode_error_chunk(uint8_t *buf, size_t cap, uint16_t flags, uint64_t handle,
                              uint32_t error, const char *msg, bool with_offset,
                              uint64_t offset)
{
    size_t fixed = NBD_CHUNK_HEADER_SIZE + 6u + (with_offset ? 8u : 0u);
    size_t mlen = msg ? strlen(msg) : 0;
    if (fixed > cap)
        mlen = 0; /* caller broke the contract; write nothing sensible past cap */
    else if (mlen > cap - fixed)
        mlen = cap - fixed;
    if (mlen > 0xffff)
        mlen = 0xffff;
    nbd_encode_chunk(buf, flags,
                     (uint16_t)(with_offset ? NBD_REPLY_TYPE_ERROR_OFFSET : NBD_REPLY_TYPE_ERROR),
                     handle, (uint32_t)(fixed - NBD_CHUNK_HEADER_SIZE + mlen));
    uint8_t *p = buf + NBD_CHUNK_HEADER_SIZE;
    nbd_put32(p, error ? error : NBD_EIO);
    nbd_put16(p + 4, (uint16_t)mlen);
    if (mlen)
        memcpy(p + 6, msg, mlen);
    if (with_offset)
        nbd_put64(p + 6 + mlen, offset);
    return fixed + mlen;
}

size_t nbd_encode_block_status(uint8_t *buf, uint16_t flags, uint64_t handle,
                               uint32_t context_id, const struct nbd_extent *ext, uint32_t n)
{
    nbd_encode_chunk(buf, flags, NBD_REPLY_TYPE_BLOCK_STATUS, handle, 4u + 8u * n);
    uint8_t *p = buf + NBD_CHUNK_HEADER_SIZE;
    nbd_put32(p, context_id);
    p += 4;
    for (uint32_t i = 0; i < n; i++, p += 8) {
        nbd_put32(p, ext[i].len);
        nbd_put32(p + 4, ext[i].flags);
    }
    return NBD_CHUNK_HEADER_SIZE + 4u + 8u * n;
}

/* ---- client side ---------------------------------------------------------------------- */

int nbd_parse_reply(const uint8_t *buf, size_t avail, struct nbd_reply *out)
{
    if (avail < 4)
        return 0;
    uint32_t magic = nbd_get32(buf);
    if (magic == NBD_SIMPLE_REPLY_MAGIC) {
        if (avail < NBD_SIMPLE_REPLY_SIZE)
            return 0;
        out->structured = false;
        out->flags = NBD_REPLY_FLAG_DONE;
        out->type = 0;
        out->error = nbd_get32(buf + 4);
        out->handle = nbd_get64(buf + 8);
        out->len = 0;
        return NBD_SIMPLE_REPLY_SIZE;
    }
    if (magic == NBD_STRUCTURED_REPLY_MAGIC) {
        if (avail < NBD_CHUNK_HEADER_SIZE)
            return 0;
        out->structured = true;
        out->flags = nbd_get16(buf + 4);
        out->type = nbd_get16(buf + 6);
        out->handle = nbd_get64(buf + 8);
        out->len = nbd_get32(buf + 16);
        out->error = 0;
        return NBD_CHUNK_HEADER_SIZE;
    }
    return -EPROTO;
}
