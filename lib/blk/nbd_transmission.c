/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NBD target: input and transmission (the design is described at the top
 * of nbd_server.c).
 *
 * The input parser runs the connection's state machine over what the
 * input buffer holds: client flags and option headers (handed to the
 * handshake in nbd_conn.c), then request headers and WRITE payloads. Each
 * request takes a slot, goes to the bdev channel (parked behind one
 * blk_io_wait on -ENOMEM) and, on completion, queues its reply, which
 * points into the slot's buffer; the slot returns to the free list once
 * the reply has been sent.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "blk.h"
#include "kk_err.h"
#include "kk_log.h"
#include "nbd_proto.h"
#include "nbd_server_internal.h"
#include "nbd_tls.h"

static void submit_req(struct req *q);

/* ---- transmission: replies ------------------------------------------------------------- */

static void reply_simple(struct req *q, uint32_t error, bool with_data)
{
    struct conn *c = q->c;
    nbd_encode_simple_reply(q->hdr, error, q->rq.handle);
    q->out.iov[0].iov_base = q->hdr;
    q->out.iov[0].iov_len = NBD_SIMPLE_REPLY_SIZE;
    q->out.iovcnt = 1;
    if (with_data) {
        q->out.iov[1].iov_base = q->buf;
        q->out.iov[1].iov_len = q->rq.len;
        q->out.iovcnt = 2;
    }
    q->out.req = q;
    nbd__queue_out(c, &q->out);
}

static void reply_error(struct req *q, uint32_t error, const char *msg)
{
    struct conn *c = q->c;
    c->n_errors++;
    if (!c->structured) {
        /* a simple READ error carries no data */
        reply_simple(q, error, false);
        return;
    }
    size_t n = nbd_encode_error_chunk(q->hdr, sizeof(q->hdr), NBD_REPLY_FLAG_DONE, q->rq.handle,
                                      error, msg, false, 0);
    q->out.iov[0].iov_base = q->hdr;
    q->out.iov[0].iov_len = n;
    q->out.iovcnt = 1;
    q->out.req = q;
    nbd__queue_out(c, &q->out);
}

static void reply_read(struct req *q)
{
    struct conn *c = q->c;
    c->bytes_read += q->rq.len;
    if (!c->structured) {
        reply_simple(q, 0, true);
        return;
    }
    nbd_encode_data_chunk(q->hdr, NBD_REPLY_FLAG_DONE, q->rq.handle, q->rq.offset, q->rq.len);
    q->out.iov[0].iov_base = q->hdr;
    q->out.iov[0].iov_len = NBD_DATA_CHUNK_PREFIX;
    q->out.iov[1].iov_base = q->buf;
    q->out.iov[1].iov_len = q->rq.len;
    q->out.iovcnt = 2;
    q->out.req = q;
    nbd__queue_out(c, &q->out);
}

/* A request that will not be answered (the connection failed). */
static void drop_req(struct req *q)
{
    nbd__put_req(q->c, q);
}

static void finish_req(struct req *q, int result)
{
    struct conn *c = q->c;
    if (c->failed) {
        drop_req(q);
        return;
    }
    if (result < 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s at %" PRIu64 "+%u: %s", nbd_cmd_name(q->rq.type),
                 q->rq.offset, q->rq.len, kk_strerror(result));
        KK_LOGD_RL(nbd_log, "%s: %s", c->peer, msg);
        reply_error(q, nbd_errno_to_wire(result), msg);
        return;
    }
    if (q->rq.type == NBD_CMD_READ)
        reply_read(q);
    else
        reply_simple(q, 0, false);
}

/* ---- transmission: execution ----------------------------------------------------------- */

static int need_buf(struct req *q, uint32_t len)
{
    if (q->buf_cap < len) {
        free(q->buf);
        q->buf = NULL;
        q->buf_cap = 0;
        size_t cap = ((size_t)len + 4095) & ~(size_t)4095;
        void *p;
        if (posix_memalign(&p, 4096, cap) != 0)
            return -ENOMEM;
        q->buf = p;
        q->buf_cap = (uint32_t)cap;
    }
    q->held = len;
    q->c->buf_inuse += len;
    return 0;
}

static void io_done(void *arg, int result);

static void on_wait(void *arg)
{
    struct conn *c = arg;
    c->waiting = false;
    while (c->parked && !c->waiting) {
        struct req *q = c->parked;
        c->parked = q->next;
        if (!c->parked)
            c->parked_tail = &c->parked;
        if (c->failed) {
            drop_req(q);
            continue;
        }
        submit_req(q); /* may park again (and set c->waiting) */
    }
}

static void park(struct req *q)
{
    struct conn *c = q->c;
    q->next = NULL;
    *c->parked_tail = q;
    c->parked_tail = &q->next;
    if (!c->waiting) {
        c->waiting = true;
        c->wait.fn = on_wait;
        c->wait.arg = c;
        blk_io_wait(c->ch, &c->wait);
    }
}

static uint32_t chunk_len(const struct conn *c, uint64_t left)
{
    uint64_t m = c->info.max_unmap ? c->info.max_unmap : left;
    return (uint32_t)(left < m ? left : m);
}

static int submit_block_status(struct req *q)
{
    struct conn *c = q->c;
    uint32_t max = (q->rq.flags & NBD_CMD_FLAG_REQ_ONE) ? 1 : BS_MAX_EXTENTS;
    return blk_block_status(c->ch, q->rq.offset, q->rq.len, (struct blk_extent *)(void *)q->buf,
                            max, io_done, q);
}

/* Submit (or resubmit after a wait) request @q to the channel. */
static void submit_req(struct req *q)
{
    struct conn *c = q->c;
    unsigned fua = (q->rq.flags & NBD_CMD_FLAG_FUA) ? BLK_IO_FUA : 0;
    int rc;
    switch (q->rq.type) {
    case NBD_CMD_READ:
        rc = blk_read(c->ch, q->rq.offset, &q->iov, 1, io_done, q);
        break;
    case NBD_CMD_WRITE:
        rc = blk_write(c->ch, q->rq.offset, &q->iov, 1, fua, io_done, q);
        break;
    case NBD_CMD_FLUSH:
        rc = blk_flush(c->ch, io_done, q);
        break;
    case NBD_CMD_TRIM:
        rc = blk_unmap(c->ch, q->pos, chunk_len(c, q->end - q->pos), io_done, q);
        break;
    case NBD_CMD_WRITE_ZEROES: {
        unsigned f = fua | ((q->rq.flags & NBD_CMD_FLAG_NO_HOLE) ? BLK_IO_NO_UNMAP : 0);
        rc = blk_write_zeroes(c->ch, q->pos, chunk_len(c, q->end - q->pos), f, io_done, q);
        break;
    }
    case NBD_CMD_BLOCK_STATUS:
        rc = submit_block_status(q);
        break;
    default:
        rc = -EINVAL;
        break;
    }
    if (rc == 0) {
        c->inflight++;
        return;
    }
    if (rc == -ENOMEM) {
        park(q);
        return;
    }
    finish_req(q, rc);
}

static void reply_block_status(struct req *q, int n)
{
    struct conn *c = q->c;
    const struct blk_extent *ext = (const struct blk_extent *)(void *)q->buf;
    struct nbd_extent out[BS_MAX_EXTENTS];
    uint32_t k = 0;
    uint64_t covered = 0;
    uint32_t max = (q->rq.flags & NBD_CMD_FLAG_REQ_ONE) ? 1 : BS_MAX_EXTENTS;
    for (int i = 0; i < n && i < (int)max && covered < q->rq.len; i++) {
        uint64_t len = ext[i].len;
        if (len == 0)
            break;
        if (len > q->rq.len - covered)
            len = q->rq.len - covered;
        uint32_t fl = 0;
        if (ext[i].flags & BLK_EXTENT_HOLE)
            fl |= NBD_STATE_HOLE;
        if (ext[i].flags & BLK_EXTENT_ZERO)
            fl |= NBD_STATE_ZERO;
        if (k > 0 && out[k - 1].flags == fl) {
            out[k - 1].len += (uint32_t)len;
        } else {
            out[k].len = (uint32_t)len;
            out[k].flags = fl;
            k++;
        }
        covered += len;
    }
    if (k == 0) {
        out[0].len = q->rq.len;
        out[0].flags = 0;
        k = 1;
    }
    /* the encoded reply goes after the extent array in the same buffer */
    uint8_t *enc = q->buf + BS_MAX_EXTENTS * sizeof(struct blk_extent);
    size_t len = nbd_encode_block_status(enc, NBD_REPLY_FLAG_DONE, q->rq.handle,
                                         NBD_META_BASE_ALLOCATION_ID, out, k);
    q->out.iov[0].iov_base = enc;
    q->out.iov[0].iov_len = len;
    q->out.iovcnt = 1;
    q->out.req = q;
    nbd__queue_out(c, &q->out);
}

static void io_done(void *arg, int result)
{
    struct req *q = arg;
    struct conn *c = q->c;
    c->inflight--;
    if (result >= 0 && !c->failed) {
        switch (q->rq.type) {
        case NBD_CMD_TRIM:
        case NBD_CMD_WRITE_ZEROES:
            q->pos += chunk_len(c, q->end - q->pos);
            if (q->pos < q->end) {
                submit_req(q);
                return;
            }
            break;
        case NBD_CMD_BLOCK_STATUS:
            reply_block_status(q, result);
            return;
        case NBD_CMD_WRITE:
            c->bytes_written += q->rq.len;
            break;
        default:
            break;
        }
    }
    finish_req(q, result < 0 ? result : 0);
}

/* Start request @q (header parsed and validated, payload in q->buf). */
static void start_req(struct req *q)
{
    struct conn *c = q->c;
    c->n_requests++;
    switch (q->rq.type) {
    case NBD_CMD_CACHE:
        /* advisory: the range was validated; backends have no cache to fill */
        finish_req(q, 0);
        return;
    case NBD_CMD_TRIM:
    case NBD_CMD_WRITE_ZEROES:
        q->pos = q->rq.offset;
        q->end = q->rq.offset + q->rq.len;
        break;
    default:
        break;
    }
    submit_req(q);
}

static struct req *get_req(struct conn *c)
{
    struct req *q = c->free_reqs;
    c->free_reqs = q->next;
    q->next = NULL;
    q->held = 0;
    c->busy++;
    return q;
}

/*
 * Handle the request header at @p. Returns 1 when consumed, 0 when reading
 * must stop for now (limits).
 */
static int handle_request(struct conn *c, const uint8_t *p)
{
    struct nbd_request rq;
    char why[200];
    if (nbd_parse_request(p, &rq, why, sizeof(why)) < 0) {
        nbd__protocol_error(c, why);
        return 1;
    }
    uint32_t error = 0;
    enum nbd_verdict v = nbd_check_request(&rq, &c->lim, &error, why, sizeof(why));
    if (v == NBD_DISCONNECT) {
        KK_LOGD(nbd_log, "%s: DISC", c->peer);
        nbd__conn_drain(c, "client disconnected (NBD_CMD_DISC)");
        return 1;
    }
    uint32_t need = 0;
    if (v == NBD_OK && (rq.type == NBD_CMD_READ || rq.type == NBD_CMD_WRITE))
        need = rq.len;
    else if (v == NBD_OK && rq.type == NBD_CMD_BLOCK_STATUS)
        need = BS_MAX_EXTENTS * (uint32_t)sizeof(struct blk_extent) + NBD_CHUNK_HEADER_SIZE + 4 +
               BS_MAX_EXTENTS * 8;
    if (!c->free_reqs || (c->buf_inuse && c->buf_inuse + need > BUF_LIMIT)) {
        c->read_blocked = true;
        nbd__update_watch(c);
        return 0;
    }
    struct req *q = get_req(c);
    q->rq = rq;
    if (v != NBD_OK) {
        c->n_requests++;
        KK_LOGI_RL(nbd_log, "%s: %s refused: %s", c->peer, nbd_cmd_name(rq.type), why);
        reply_error(q, error, why);
        if (v == NBD_ERROR_CLOSE) {
            nbd__conn_drain(c, "request too large to follow");
            return 1;
        }
        if (rq.type == NBD_CMD_WRITE && rq.len) {
            c->skip = rq.len;
            c->state = ST_REQ_SKIP;
        }
        return 1;
    }
    if (need && need_buf(q, need) < 0) {
        q->rq.type = NBD_CMD_READ; /* whatever it was: answer without data */
        reply_error(q, NBD_ENOMEM, "out of memory");
        if (rq.type == NBD_CMD_WRITE) {
            c->skip = rq.len;
            c->state = ST_REQ_SKIP;
        }
        return 1;
    }
    q->iov.iov_base = q->buf;
    q->iov.iov_len = rq.len;
    if (rq.type == NBD_CMD_WRITE) {
        c->cur = q;
        c->cur_got = 0;
        c->state = ST_REQ_PAYLOAD;
        return 1;
    }
    start_req(q);
    return 1;
}

/* ---- input ---------------------------------------------------------------------------- */

static ssize_t recv_some(struct conn *c, void *buf, size_t len)
{
    if (c->tls_active)
        return nbd_tls_read(c->tls, buf, len);
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return -errno;
    }
}

/* Consume what the input buffer holds. Returns false when reading must
 * pause (blocked or closing). */
static bool parse_input(struct conn *c)
{
    for (;;) {
        uint32_t avail = c->in_end - c->in_start;
        const uint8_t *p = c->inbuf + c->in_start;
        if (c->failed || c->draining || c->read_blocked)
            return false;
        switch (c->state) {
        case ST_FLAGS: {
            if (avail < 4)
                return true;
            char why[128];
            uint32_t flags = nbd_get32(p);
            c->in_start += 4;
            if (nbd_parse_client_flags(flags, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES,
                                       &c->no_zeroes, why, sizeof(why)) < 0) {
                nbd__protocol_error(c, why);
                return false;
            }
            c->fixed_newstyle = (flags & NBD_FLAG_C_FIXED_NEWSTYLE) != 0;
            c->state = ST_OPT_HDR;
            break;
        }
        case ST_OPT_HDR: {
            if (avail < NBD_OPT_HEADER_SIZE)
                return true;
            char why[128];
            if (nbd_parse_opt_header(p, &c->opt, why, sizeof(why)) < 0) {
                nbd__protocol_error(c, why);
                return false;
            }
            c->in_start += NBD_OPT_HEADER_SIZE;
            if (c->opt.len > NBD_OPT_MAX_LEN) {
                if (c->opt.opt == NBD_OPT_EXPORT_NAME) {
                    nbd__protocol_error(c, "EXPORT_NAME longer than any name");
                    return false;
                }
                c->skip = c->opt.len;
                c->state = ST_OPT_SKIP;
            } else {
                c->state = ST_OPT_DATA;
            }
            break;
        }
        case ST_OPT_DATA:
            if (avail < c->opt.len)
                return true;
            c->in_start += c->opt.len;
            c->state = ST_OPT_HDR;
            nbd__handle_option(c, p);
            if (c->state == ST_TLS_WAIT)
                return false;
            break;
        case ST_OPT_SKIP:
        case ST_REQ_SKIP: {
            uint32_t n = avail < c->skip ? avail : c->skip;
            c->in_start += n;
            c->skip -= n;
            if (c->skip)
                return true;
            if (c->state == ST_OPT_SKIP) {
                c->state = ST_OPT_HDR;
                nbd__opt_error(c, c->opt.opt, NBD_REP_ERR_TOO_BIG, "option data too large");
            } else {
                c->state = ST_REQ_HDR;
            }
            break;
        }
        case ST_REQ_HDR:
            if (avail < NBD_REQUEST_SIZE)
                return true;
            if (!handle_request(c, p))
                return false;
            c->in_start += NBD_REQUEST_SIZE;
            break;
        case ST_REQ_PAYLOAD: {
            struct req *q = c->cur;
            uint32_t n = q->rq.len - c->cur_got;
            if (n > avail)
                n = avail;
            memcpy(q->buf + c->cur_got, p, n);
            c->in_start += n;
            c->cur_got += n;
            if (c->cur_got < q->rq.len)
                return true;
            c->cur = NULL;
            c->state = ST_REQ_HDR;
            start_req(q);
            break;
        }
        case ST_TLS_WAIT:
        case ST_TLS_HANDSHAKE:
        case ST_DONE:
            return false;
        }
    }
}

void nbd__conn_read(struct conn *c)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        if (!parse_input(c))
            return;
        if (c->in_start == c->in_end)
            c->in_start = c->in_end = 0;
        ssize_t n;
        if (c->state == ST_REQ_PAYLOAD && c->in_start == c->in_end &&
            c->cur->rq.len - c->cur_got >= INBUF_SIZE / 2) {
            /* a large payload goes straight into its buffer */
            struct req *q = c->cur;
            n = recv_some(c, q->buf + c->cur_got, q->rq.len - c->cur_got);
            if (n > 0) {
                c->cur_got += (uint32_t)n;
                if (c->cur_got == q->rq.len) {
                    c->cur = NULL;
                    c->state = ST_REQ_HDR;
                    start_req(q);
                }
                continue;
            }
        } else {
            if (c->in_start > 0 && INBUF_SIZE - c->in_end < NBD_REQUEST_SIZE + 4096) {
                memmove(c->inbuf, c->inbuf + c->in_start, c->in_end - c->in_start);
                c->in_end -= c->in_start;
                c->in_start = 0;
            }
            n = recv_some(c, c->inbuf + c->in_end, INBUF_SIZE - c->in_end);
            if (n > 0) {
                c->in_end += (uint32_t)n;
                continue;
            }
        }
        if (n == -EAGAIN || n == -EWOULDBLOCK) {
            if (c->tls_active && nbd_tls_want_write(c->tls)) {
                /* renegotiation-like state: wait for writability */
                c->out_blocked = true;
                nbd__update_watch(c);
            }
            return;
        }
        if (n == 0) {
            c->close_reason = c->inflight ? "client went away with requests in flight"
                                          : "client closed the connection";
            nbd__conn_fail(c, "%s", c->close_reason);
        } else {
            nbd__conn_fail(c, "receive: %s", kk_strerror((int)n));
        }
        return;
    }
    /* still more input: come back next turn so other connections run */
    c->resume_read = true;
    c->read_blocked = true;
}
