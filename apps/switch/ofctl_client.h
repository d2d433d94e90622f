/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofctl_client.h — the blocking OpenFlow client behind `kvmkit ofctl`:
 * one connection to a switch (tcp:IP[:PORT] or unix:PATH), HELLO and
 * version negotiation, request/reply by xid, multipart replies collected
 * until the MORE flag clears, echo requests answered while waiting, and
 * pipelined sending (output is queued and written while replies are read,
 * so a switch answering with errors never deadlocks against us).
 *
 * One thread; the process owns the connection for one command.
 */
#ifndef KK_OFCTL_CLIENT_H
#define KK_OFCTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ofp_msg.h"

struct ofc;

/* Called for each decoded message that is not the reply being waited for
 * (errors of pipelined requests, async messages). The message is freed
 * after the call. */
typedef void ofc_other_fn(struct ofc *c, const struct ofp_msg *msg, void *aux);

struct ofc {
    int fd;
    uint8_t version;            /* negotiated */
    uint32_t next_xid;
    int timeout_ms;             /* per wait; < 0 none */
    const char *target;         /* for messages */
    uint8_t *in;                /* received bytes not yet consumed */
    size_t in_len, in_cap;
    struct ofp_buf out;         /* queued output */
    size_t out_off;             /* bytes of out already written */
    bool closed;
    ofc_other_fn *on_other;
    void *other_aux;
    struct ofp_msg hello;       /* the peer's HELLO (for snoop's printing) */
};

/*
 * Connect to @target ("tcp:IP[:PORT]" (default port 6653), "unix:PATH")
 * and negotiate: our HELLO carries the version bitmap @versions (bit v =
 * wire version v; 1.0 and 1.3 only). Returns 0, or prints why on stderr
 * and returns -errno (-EPROTO: no common version).
 */
int ofc_open(struct ofc *c, const char *target, uint32_t versions, int timeout_ms);
void ofc_close(struct ofc *c);

/* A fresh xid. */
uint32_t ofc_xid(struct ofc *c);

/* Encode @msg (version set to the connection's) and queue it; -EINVAL with
 * @err filled when the codec refuses it, -ENOMEM. Nothing is written until
 * ofc_flush() or a wait. */
int ofc_queue(struct ofc *c, struct ofp_msg *msg, struct ofp_error *err);

/* Write queued output, reading (and dispatching to on_other) whatever
 * arrives meanwhile. @all: until everything is written; otherwise until
 * less than @keep bytes are pending. 0, or -errno (connection lost,
 * timeout). */
int ofc_flush(struct ofc *c, bool all, size_t keep);

/*
 * Send @req (xid assigned when 0) and wait for its replies: @on_reply is
 * called for each reply with the same xid (a multipart reply part, a
 * barrier/echo/features/config reply, or an OFPT_ERROR) until a reply
 * that is not a multipart with MORE arrives. Other messages go to
 * on_other. Returns 0 when the replies came (an OFPT_ERROR among them is
 * the callback's business), or -errno when the connection failed.
 */
int ofc_transact(struct ofc *c, struct ofp_msg *req,
                 void (*on_reply)(const struct ofp_msg *reply, void *aux), void *aux);

/* Wait for one message (any xid) for up to @timeout_ms (< 0: forever):
 * 1 and @msg (free with ofp_msg_free()), 0 on timeout, -errno (-EPIPE
 * when the peer closed). Echo requests are answered and not returned. */
int ofc_recv(struct ofc *c, struct ofp_msg *msg, int timeout_ms);

/* ovs-ofctl's line for an OFPT_ERROR reply:
 * "OFPT_ERROR (OF1.3) (xid=0x2): OFPBAC_BAD_OUT_PORT", then the failed
 * request's summary when its bytes decode. Written to @out. */
void ofc_print_error(const struct ofp_msg *err, FILE *out);

/* " (OF1.3)" or "" (1.0), as ovs-ofctl puts it after a message name. */
const char *ofc_version_tag(uint8_t version);

#endif
