/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn.h — OpenFlow channels on a kk_reactor.
 *
 * This layer moves whole OpenFlow messages between the switch (or a tool)
 * and its peers. It knows the 8-byte header (version, type, length, xid)
 * and four message types — HELLO, ERROR, ECHO_REQUEST, ECHO_REPLY — and
 * nothing else: decoding is the codec's job (ofp_msg.h).
 *
 * Targets (ofp_target_parse()), as in Open vSwitch:
 *   active   tcp:IP[:PORT]   ssl:IP[:PORT]   unix:PATH
 *   passive  ptcp:[PORT][:IP]   pssl:[PORT][:IP]   punix:PATH
 * IP is IPv4 dotted quad or an IPv6 address in brackets ("[::1]"); host
 * names are not resolved (no blocking DNS on a reactor). PORT defaults to
 * 6653; a passive PORT of 0 asks the kernel for a free one.
 *
 * An active channel (ofp_conn_create()) connects, and after a failure or a
 * disconnection connects again after a backoff (opts.backoff_min_ms
 * doubling to opts.backoff_max_ms; a connection that stayed up for
 * opts.backoff_reset_ms resets it and is retried at once). A listener
 * (ofp_listener_create()) accepts up to opts.max_connections channels;
 * those are passive: they never reconnect and are freed by the layer once
 * their disconnected callback returns.
 *
 * Per channel, the layer does the HELLO exchange (OpenFlow 1.3.1+ version
 * bitmap element; highest common version, or min(ours, theirs) when the
 * peer sends no bitmap; OFPET_HELLO_FAILED/OFPHFC_INCOMPATIBLE and close
 * when there is none), answers ECHO_REQUEST, sends ECHO_REQUEST after
 * opts.probe_interval_ms without input and drops the channel when another
 * interval passes without input, and hands every other complete message to
 * the message callback.
 *
 * State machine of a channel:
 *
 *     BACKOFF --timer--> CONNECTING --connected--> [TLS] --> HELLO --> UP
 *        ^                   |                       |          |       |
 *        +----- failure or disconnection (active; passive: CLOSED) -----+
 *
 * Limits (peers are untrusted): a message is at most opts.max_message
 * bytes (default and maximum 65535) and at least 8; the input buffer of a
 * channel never exceeds one message plus one read; a read event reads at
 * most 256 KiB before yielding to other work; the output queue is bounded
 * (see ofp_conn_send()); a channel must finish TCP/TLS/HELLO within
 * opts.handshake_timeout_ms; a listener holds at most opts.max_connections
 * channels.
 *
 * Threads: every function here runs on the reactor's thread (or, before
 * it runs, on the thread that created the reactor). Callbacks run on the
 * reactor, never inside a call of this API (an error found while sending
 * is reported on a later turn). Callbacks may call anything here,
 * including ofp_conn_destroy() on their own channel and
 * ofp_listener_destroy().
 */
#ifndef OFP_CONN_H
#define OFP_CONN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

struct kk_reactor;
struct ofp_conn;
struct ofp_listener;
struct ofp_ssl_ctx;
struct ofp_role_group;

/* OpenFlow's IANA port. */
#define OFP_CONN_DEFAULT_PORT 6653

/* Version bitmaps: bit v stands for wire version v. */
#define OFP_CONN_V10 (1u << 0x01)
#define OFP_CONN_V13 (1u << 0x04)

/* Room for a formatted target or peer address, with the terminating NUL. */
#define OFP_CONN_NAME_MAX 128

/* ---- targets ------------------------------------------------------------ */

enum ofp_target_kind {
    OFP_TARGET_TCP,
    OFP_TARGET_SSL,
    OFP_TARGET_UNIX,
    OFP_TARGET_PTCP,
    OFP_TARGET_PSSL,
    OFP_TARGET_PUNIX,
};

struct ofp_target {
    enum ofp_target_kind kind;
    /* tcp/ssl/ptcp/pssl: the address (AF_INET or AF_INET6; for a passive
     * target without IP, 0.0.0.0) and port in it. unix/punix: the path. */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    uint16_t port;
};

/*
 * Parse @text into *out. On error, writes a reason ("ssl:1.2.3.4:99999:
 * port out of range (1-65535)") into @err (when @errlen > 0).
 * Returns 0, or -EINVAL. Any thread.
 */
int ofp_target_parse(const char *text, struct ofp_target *out, char *err, size_t errlen);

/* True for ptcp/pssl/punix. */
bool ofp_target_is_passive(const struct ofp_target *t);

/* True for ssl/pssl. */
bool ofp_target_is_ssl(const struct ofp_target *t);

/* Write the canonical text of @t ("tcp:[::1]:6653", "ptcp:6653:0.0.0.0",
 * "unix:/run/x") into @buf and return @buf. Any thread. */
const char *ofp_target_format(const struct ofp_target *t, char *buf, size_t len);

/* ---- TLS ---------------------------------------------------------------- */

struct ofp_ssl_opts {
    const char *private_key; /* PEM file */
    const char *certificate; /* PEM file (chain allowed) */
    const char *ca_cert;     /* PEM file: the CA(s) a peer's certificate must chain to */
};

/*
 * Load the keys for ssl:/pssl: channels: TLS 1.2 or later, and both sides
 * present a certificate that must chain to @opts->ca_cert (mutual
 * authentication, as in Open vSwitch; host names are not checked). On
 * error, writes the reason into @err. Returns 0 and *out, or -EINVAL (a
 * missing file or key, a key that does not match the certificate),
 * -ENOMEM, or -ENOTSUP (built without OpenSSL). The context must outlive
 * every channel and listener that uses it. Any thread.
 */
int ofp_ssl_ctx_create(const struct ofp_ssl_opts *opts, char *err, size_t errlen,
                       struct ofp_ssl_ctx **out);

/* Free a context no channel uses any more. Accepts NULL. */
void ofp_ssl_ctx_destroy(struct ofp_ssl_ctx *ctx);

/* ---- options and callbacks ---------------------------------------------- */

struct ofp_conn_opts {
    uint32_t versions;           /* allowed versions (OFP_CONN_V*); default 1.0 and 1.3 */
    uint32_t probe_interval_ms;  /* echo after this long without input, drop after
                                    twice; 0: never; default 5000 */
    uint32_t handshake_timeout_ms; /* connect + TLS + HELLO; default 10000 */
    uint32_t backoff_min_ms;     /* first wait before reconnecting; default 1000 */
    uint32_t backoff_max_ms;     /* the wait doubles up to this; default 8000 */
    uint32_t backoff_reset_ms;   /* up this long: backoff starts over; default 10000 */
    bool reconnect;              /* active channels: retry (default true); false:
                                    after the first failure the channel stays CLOSED */
    uint32_t queue_limit;        /* output bytes queued beyond which the channel is
                                    congested; it takes at most twice this (or one
                                    message when empty); default 1 MiB */
    uint32_t stall_timeout_ms;   /* congested this long: disconnected; default 10000 */
    uint32_t max_message;        /* longest message accepted, 8..65535; default 65535 */
    uint32_t max_connections;    /* listeners: channels at once; default 64 */
    struct ofp_ssl_ctx *ssl;     /* ssl:/pssl: targets: required; not owned */
    struct ofp_role_group *role_group; /* channels join it (roles); not owned; may be NULL */
};

/* Set every field of @opts to its default. */
void ofp_conn_opts_init(struct ofp_conn_opts *opts);

/*
 * Callbacks, all run on the reactor. @arg is the one given at creation.
 * Any may be NULL except message.
 */
struct ofp_conn_callbacks {
    /* The HELLO exchange is done: messages flow in @version. */
    void (*connected)(void *arg, struct ofp_conn *c, uint8_t version);
    /*
     * One complete message (header included, @len == its length field) in
     * the negotiated @version — the header's own version byte may differ,
     * the codec decides. HELLO, ECHO_REQUEST and the ECHO_REPLY to our
     * own probe never come here. @msg is valid until the callback returns.
     */
    void (*message)(void *arg, struct ofp_conn *c, uint8_t version, const void *msg,
                    size_t len);
    /*
     * The channel went down, or a connection attempt failed
     * (@was_connected false: connected was never called for it). Active
     * channels then wait their backoff and connect again; a passive channel
     * is freed when this returns (unless destroyed in it).
     */
    void (*disconnected)(void *arg, struct ofp_conn *c, bool was_connected,
                         const char *reason);
    /* The output queue went over opts.queue_limit (@congested true), or
     * drained to half of it (false). Stop and resume packet-ins here. A
     * disconnection ends congestion without this callback. */
    void (*congestion)(void *arg, struct ofp_conn *c, bool congested);
};

/* ---- channels ----------------------------------------------------------- */

enum ofp_conn_state {
    OFP_CONN_BACKOFF,    /* active: waiting before the next attempt */
    OFP_CONN_CONNECTING, /* active: TCP/Unix connect in progress */
    OFP_CONN_TLS,        /* TLS handshake */
    OFP_CONN_HELLO,      /* our HELLO sent, waiting for the peer's */
    OFP_CONN_UP,         /* version negotiated: messages flow */
    OFP_CONN_CLOSED,     /* down for good (passive, or reconnect off) */
};

const char *ofp_conn_state_name(enum ofp_conn_state s);

/* Roles (values as on the wire in OpenFlow 1.2+). */
enum ofp_conn_role {
    OFP_CONN_ROLE_NOCHANGE = 0, /* requests only */
    OFP_CONN_ROLE_EQUAL = 1,
    OFP_CONN_ROLE_MASTER = 2,
    OFP_CONN_ROLE_SLAVE = 3,
};

const char *ofp_conn_role_name(enum ofp_conn_role r);

struct ofp_conn_stats {
    enum ofp_conn_state state;
    bool passive;
    bool congested;
    uint8_t version;             /* negotiated; 0 when not UP */
    enum ofp_conn_role role;
    char target[OFP_CONN_NAME_MAX]; /* active: the target; passive: the listener's */
    char peer[OFP_CONN_NAME_MAX];   /* "tcp:10.0.0.1:40312", "unix:/run/x", "" when down */
    uint64_t bytes_in, bytes_out;   /* whole messages, all connections of the channel */
    uint64_t msgs_in, msgs_out;
    uint64_t echo_requests_sent;    /* keepalive probes */
    uint64_t dropped;               /* ofp_conn_send_droppable() refusals */
    uint64_t connect_attempts;      /* active: connects started */
    uint64_t connections;           /* times it reached UP */
    uint64_t state_since_us;        /* kk_now_us() clock */
    uint64_t last_rx_us, last_tx_us; /* last input / output; 0: never */
    uint32_t backoff_ms;            /* active: the current backoff */
    size_t output_queued;           /* bytes waiting to be written */
    char last_error[OFP_CONN_NAME_MAX]; /* why it last went down; "" if never */
};

/*
 * Create an active channel to @target (tcp:, ssl:, unix:) on @r. The first
 * attempt starts on the next reactor turn. @opts may be NULL (defaults);
 * @cb and @arg are kept. Returns 0 and *out, or -EINVAL (a bad target —
 * logged with the reason — a passive one, ssl: without opts->ssl, bad
 * options), -ENOMEM, or an errno from the reactor.
 */
int ofp_conn_create(struct kk_reactor *r, const char *target, const struct ofp_conn_opts *opts,
                    const struct ofp_conn_callbacks *cb, void *arg, struct ofp_conn **out);

/*
 * Close the channel (without a disconnected callback) and free it, active
 * or passive. Queued output is dropped. Accepts NULL. Safe in callbacks,
 * also the channel's own.
 */
void ofp_conn_destroy(struct ofp_conn *c);

/*
 * Queue one complete message: @len must be 8..65535 and equal the
 * header's length field; nothing in it is changed. Returns 0, or
 * -EINVAL (bad length), -ENOTCONN (not UP), -ENOBUFS (the queue holds
 * twice opts.queue_limit; nothing queued). Output goes out on the next
 * reactor turns; a write error is reported through disconnected later.
 */
int ofp_conn_send(struct ofp_conn *c, const void *msg, size_t len);

/*
 * Like ofp_conn_send(), for messages that may be lost (packet-ins): also
 * refused with -ENOBUFS while the channel is congested, and counted in
 * stats.dropped.
 */
int ofp_conn_send_droppable(struct ofp_conn *c, const void *msg, size_t len);

/* The next transaction id of this channel (never 0; wraps). */
uint32_t ofp_conn_next_xid(struct ofp_conn *c);

/* Negotiated version when UP, else 0. */
uint8_t ofp_conn_version(const struct ofp_conn *c);

enum ofp_conn_state ofp_conn_state(const struct ofp_conn *c);

bool ofp_conn_is_congested(const struct ofp_conn *c);

/* The listener that accepted a passive channel, or NULL. */
struct ofp_listener *ofp_conn_listener(const struct ofp_conn *c);

/*
 * Drop the connection (the disconnected callback follows on a later turn
 * with @reason); an active channel then reconnects after its backoff.
 * No-op when not connected.
 */
void ofp_conn_disconnect(struct ofp_conn *c, const char *reason);

void ofp_conn_get_stats(const struct ofp_conn *c, struct ofp_conn_stats *out);

/* ---- roles -------------------------------------------------------------- */

/*
 * A role group is the set of channels of one switch that share master
 * election and the generation id (OpenFlow 1.3, 6.3.5). Not owned by its
 * channels; destroying it detaches them.
 */
int ofp_role_group_create(struct ofp_role_group **out);
void ofp_role_group_destroy(struct ofp_role_group *g);

/* Join @g (NULL: leave the group). A channel is in at most one. */
void ofp_conn_set_role_group(struct ofp_conn *c, struct ofp_role_group *g);

/*
 * Apply a role request decoded by the codec. For MASTER and SLAVE,
 * @generation_id is compared with the largest seen in the group (or on the
 * channel when it has no group), by signed 64-bit distance as the
 * specification says: an older one is refused with -ESTALE and nothing
 * changes; otherwise it becomes the largest. MASTER demotes every other
 * master of the group to SLAVE. EQUAL sets the role without a check;
 * NOCHANGE changes nothing. *role_out (may be NULL) receives the role
 * now held, for the reply. Returns 0, -ESTALE, or -EINVAL (unknown role).
 * A channel starts each connection as EQUAL.
 */
int ofp_conn_request_role(struct ofp_conn *c, enum ofp_conn_role role, uint64_t generation_id,
                          enum ofp_conn_role *role_out);

enum ofp_conn_role ofp_conn_role(const struct ofp_conn *c);

/* The group's generation id; false if none was seen yet. */
bool ofp_role_group_generation(const struct ofp_role_group *g, uint64_t *out);

/* ---- listeners ---------------------------------------------------------- */

struct ofp_listener_stats {
    char target[OFP_CONN_NAME_MAX]; /* as bound: "ptcp:40123:127.0.0.1" */
    uint16_t port;                  /* ptcp/pssl: the bound port */
    uint32_t n_conns;               /* channels open now */
    uint64_t accepted;
    uint64_t refused;               /* over max_connections */
};

/*
 * Listen on @target (ptcp:, pssl:, punix:) on @r; accepted channels use
 * @opts (max_connections limits them), @cb and @arg. A punix: socket file
 * left by a dead process is replaced; a live one is -EADDRINUSE. Returns 0
 * and *out, or -EINVAL (bad target or options, logged), -EADDRINUSE,
 * -ENOMEM, or an errno from socket/bind/listen.
 */
int ofp_listener_create(struct kk_reactor *r, const char *target,
                        const struct ofp_conn_opts *opts, const struct ofp_conn_callbacks *cb,
                        void *arg, struct ofp_listener **out);

/* Stop listening, destroy every channel it accepted (no callbacks), remove
 * a punix: socket file. Accepts NULL. Safe in callbacks. */
void ofp_listener_destroy(struct ofp_listener *l);

void ofp_listener_get_stats(const struct ofp_listener *l, struct ofp_listener_stats *out);

/* Call @fn for each open channel of @l; @fn must not destroy channels. */
void ofp_listener_foreach(struct ofp_listener *l, void (*fn)(void *arg, struct ofp_conn *c),
                          void *arg);

#endif /* OFP_CONN_H */
