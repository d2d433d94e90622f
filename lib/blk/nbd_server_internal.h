/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nbd_server_internal.h — what the NBD target's source files share, private
 * to them (tests and the fuzz target use nbd_internal.h instead):
 *
 *   nbd_server.c        the server: exports, listeners, accepting, stats
 *   nbd_conn.c          a connection: output queue, life cycle, handshake
 *                       (options, STARTTLS, entering transmission), events
 *   nbd_transmission.c  input parsing, requests, their execution, replies
 *
 * The design is described at the top of nbd_server.c. Every function here
 * runs on the connection's worker unless it says otherwise.
 */
#ifndef KK_NBD_SERVER_INTERNAL_H
#define KK_NBD_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "blk.h"
#include "kk_log.h"
#include "nbd_proto.h"
#include "nbd_server.h"

KK_LOG_COMPONENT_DECLARE(nbd_log);

#define CONN_SLOTS      128u              /* requests in flight per connection */
#define INBUF_SIZE      (256u * 1024)     /* > NBD_OPT_MAX_LEN + header */
#define BUF_LIMIT       (64u << 20)       /* request buffers held per connection */
#define BUF_KEEP        (256u * 1024)     /* larger request buffers are not cached */
#define BS_MAX_EXTENTS  64u               /* block status descriptors per reply */
#define OUT_IOV         64                /* iovecs per writev */
#define DEFAULT_MAX_CONNS 64u

/* ---- structures ----------------------------------------------------------------- */

struct nbd_export {
    char *name;
    char *description;
    bool read_only;
    struct blk_bdev *bdev;         /* opened while exported */
    unsigned conns;                /* connections in transmission on it (lock) */
    struct nbd_export *next;
};

/* An outgoing message: a reply (inside a request slot) or handshake bytes. */
struct out {
    struct out *next;
    struct iovec iov[2];
    int iovcnt;
    struct req *req;               /* NULL: heap message, freed once sent */
};

enum conn_state {
    ST_FLAGS,                      /* waiting for the 4-byte client flags */
    ST_OPT_HDR,
    ST_OPT_DATA,                   /* option data into the input buffer */
    ST_OPT_SKIP,                   /* dropping oversized option data */
    ST_TLS_WAIT,                   /* STARTTLS acknowledged: flushing the ACK */
    ST_TLS_HANDSHAKE,
    ST_REQ_HDR,
    ST_REQ_PAYLOAD,                /* WRITE payload into the request's buffer */
    ST_REQ_SKIP,                   /* dropping the payload of a refused WRITE */
    ST_DONE,                       /* reading nothing more */
};

struct conn;

struct req {
    struct conn *c;
    struct nbd_request rq;
    uint8_t hdr[NBD_CHUNK_HEADER_SIZE + 8 + 6 + 160]; /* reply header or error chunk */
    uint8_t *buf;
    uint32_t buf_cap;
    uint32_t held;                 /* bytes of buf counted in c->buf_inuse */
    struct iovec iov;
    uint64_t pos, end;             /* TRIM/WRITE_ZEROES progress (split by max_unmap) */
    struct out out;
    struct req *next;              /* free list or parked FIFO */
};

struct conn {
    struct nbd_server *s;
    struct kk_reactor *r;          /* the worker */
    int fd;
    char peer[96];
    int refs;                      /* atomic */
    bool kill_requested;           /* atomic: the control thread wants it gone */
    bool kill_sent;                /* under s->lock */
    struct conn *prev, *next;      /* s->conns, under s->lock */

    struct kk_poller *poller;
    struct kk_fd_watch *watch;
    struct kk_timer *hs_timer;     /* the handshake limit; NULL once past it */
    unsigned watch_events;
    enum conn_state state;
    bool fixed_newstyle, no_zeroes;
    bool structured, meta_base_allocation;
    bool resume_read;              /* reading stopped on a limit that has cleared */
    bool read_blocked;
    bool out_blocked;              /* the socket said EAGAIN: wait for writable */
    bool draining;                 /* close once in-flight work and output are done */
    bool failed;                   /* close as soon as nothing is in flight */
    bool finished;
    const char *close_reason;

    struct nbd_tls *tls;
    bool tls_active;

    uint8_t *inbuf;
    uint32_t in_start, in_end;
    struct nbd_opt_header opt;
    uint32_t skip;                 /* bytes still to drop */
    struct req *cur;               /* request whose payload is being read */
    uint32_t cur_got;

    struct out *out_head, **out_tail;
    size_t out_skip;               /* bytes of out_head already sent */

    /* transmission */
    struct nbd_export *exp;
    struct blk_channel *ch;
    struct nbd_limits lim;
    struct blk_bdev_info info;
    struct req *slots;
    struct req *free_reqs;
    struct req *parked, **parked_tail;
    struct blk_io_wait wait;
    bool waiting;
    uint32_t inflight;             /* submitted to the channel */
    uint32_t busy;                 /* slots in use */
    uint64_t buf_inuse;

    uint64_t n_requests, n_errors, bytes_read, bytes_written;
};

struct listener {
    int fd;
    struct kk_fd_watch *watch;
    struct nbd_server *s;
};

struct nbd_server {
    struct kk_reactor *ctrl;
    struct kk_reactor **workers;
    unsigned n_workers, next_worker;
    struct listener unix_l, tcp_l;
    char *unix_path;
    char *tcp_addr;
    uint16_t tcp_port;
    struct nbd_tls_ctx *tls;
    bool tls_required;
    uint32_t max_conns;
    uint32_t handshake_limit_ms;   /* UINT32_MAX: none */

    pthread_mutex_t lock;          /* exports, conns, n_conns */
    struct nbd_export *exports;
    struct conn *conns;
    unsigned n_conns;

    /* counters (atomic, relaxed) */
    uint64_t accepted, refused, protocol_errors, requests, request_errors, tls_sessions;
};

/* ---- shared helpers -------------------------------------------------------------- */

static inline void nbd__count(uint64_t *ctr, uint64_t n)
{
    __atomic_fetch_add(ctr, n, __ATOMIC_RELAXED);
}

/* nbd_server.c */

/* The export named @name (@len bytes, not NUL-terminated), or NULL. Under s->lock. */
struct nbd_export *nbd__find_export(struct nbd_server *s, const uint8_t *name, uint32_t len);

/* nbd_conn.c */

/* Message handler: starts connection @arg (a struct conn *) on its worker. */
void nbd__conn_start(void *arg);
/* Ask connection @c to close; on the control thread, under s->lock. */
void nbd__conn_request_kill(struct conn *c);
/* Append @o to the output queue (sent by the poller, in order). */
void nbd__queue_out(struct conn *c, struct out *o);
/* Return request slot @q to the free list, releasing the buffer it held. */
void nbd__put_req(struct conn *c, struct req *q);
/* Make the fd watch match what the connection waits for now. */
void nbd__update_watch(struct conn *c);
/* Mark @c failed (reason logged): drop output, stop reading; torn down when idle. */
void nbd__conn_fail(struct conn *c, const char *fmt, ...) KK_PRINTF(2, 3);
/* A protocol violation by the client: counted, then nbd__conn_fail(). */
void nbd__protocol_error(struct conn *c, const char *why);
/* Stop reading; close once what is in flight has been answered. */
void nbd__conn_drain(struct conn *c, const char *reason);
/* Handle the option whose header is in c->opt and whose data is at @data. */
void nbd__handle_option(struct conn *c, const uint8_t *data);
/* Queue an error reply of @type to option @opt with text @msg; 0 or -ENOMEM. */
int nbd__opt_error(struct conn *c, uint32_t opt, uint32_t type, const char *msg);

/* nbd_transmission.c */

/* Read and parse input until the socket is drained or reading must pause. */
void nbd__conn_read(struct conn *c);

#endif /* KK_NBD_SERVER_INTERNAL_H */
