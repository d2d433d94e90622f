/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenFlow channels (lib/openflow/conn*.c): targets, HELLO, framing, echo,
 * keepalive, backoff, listeners and limits, TLS, output queue, roles, and
 * Open vSwitch's ovs-ofctl as a real peer.
 *
 * Everything runs on one reactor driven by this thread (pump()); "raw"
 * peers are plain non-blocking sockets the tests read and write byte by
 * byte. Timing is never asserted exactly: waits have generous upper
 * bounds, and spacing is checked with lower bounds only (a timer never
 * fires early), so a slow machine cannot fail them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "conn_internal.h"
#include "kk_reactor.h"
#include "kk_test.h"

extern char **environ;

#define WAIT_MS 5000 /* upper bound for anything that should happen "soon" */

#define T_HELLO 0
#define T_ERROR 1
#define T_ECHO_REQUEST 2
#define T_ECHO_REPLY 3
#define T_FEATURES_REQUEST 5

/* ---- fixture ------------------------------------------------------------ */

#define MAX_MSGS 512

struct events {
    int connected;
    uint8_t version;
    struct ofp_conn *conn; /* the last one connected */
    int disconnected, disconnected_up;
    char reason[256];
    uint64_t down_us[64]; /* when each went down (stats.state_since_us) */
    uint32_t down_backoff[64];
    int congested_on, congested_off;
    int messages;
    uint8_t types[MAX_MSGS];
    uint16_t lens[MAX_MSGS];
    uint8_t *data; /* concatenated message bytes */
    size_t data_len, data_cap;
    /* behaviours */
    bool destroy_on_message;
    bool destroy_on_disconnect;
    struct ofp_listener **destroy_listener_on_connect;
    bool echo_features; /* answer type 5 with type 6 */
};

static struct kk_reactor *reactor;
static char *tmpdir;

static int setup(void **state)
{
    (void)state;
    assert_int_equal(kk_reactor_create(NULL, &reactor), 0);
    tmpdir = kk_test_mkdtemp();
    assert_non_null(tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kk_reactor_destroy(reactor);
    reactor = NULL;
    kk_test_rmdir(tmpdir);
    tmpdir = NULL;
    return 0;
}

static void pump(void)
{
    kk_reactor_poll_once(reactor);
    usleep(200);
}

static void pump_ms(unsigned ms)
{
    uint64_t end = kk_now_us() + (uint64_t)ms * 1000;
    while (kk_now_us() < end)
        pump();
}

#define WAIT_FOR(cond)                                                       \
    do {                                                                     \
        uint64_t wait_end_ = kk_now_us() + (uint64_t)WAIT_MS * 1000;         \
        while (!(cond) && kk_now_us() < wait_end_)                           \
            pump();                                                          \
        assert_true(cond);                                                   \
    } while (0)

static void on_connected(void *arg, struct ofp_conn *c, uint8_t version)
{
    struct events *e = arg;
    e->connected++;
    e->version = version;
    e->conn = c;
    assert_int_equal(ofp_conn_state(c), OFP_CONN_UP);
    if (e->destroy_listener_on_connect && *e->destroy_listener_on_connect) {
        ofp_listener_destroy(*e->destroy_listener_on_connect);
        *e->destroy_listener_on_connect = NULL;
    }
}

static void on_message(void *arg, struct ofp_conn *c, uint8_t version, const void *msg,
                       size_t len)
{
    struct events *e = arg;
    const uint8_t *m = msg;
    assert_true(len >= 8);
    assert_int_equal(m[2] << 8 | m[3], len);
    assert_int_equal(version, ofp_conn_version(c));
    if (e->messages < MAX_MSGS) {
        e->types[e->messages] = m[1];
        e->lens[e->messages] = (uint16_t)len;
    }
    e->messages++;
    if (e->data_len + len > e->data_cap) {
        e->data_cap = (e->data_len + len) * 2;
        e->data = realloc(e->data, e->data_cap);
        assert_non_null(e->data);
    }
    memcpy(e->data + e->data_len, msg, len);
    e->data_len += len;
    if (e->echo_features && m[1] == T_FEATURES_REQUEST) {
        uint8_t reply[8];
        memcpy(reply, msg, 8);
        reply[1] = 6;
        assert_int_equal(ofp_conn_send(c, reply, 8), 0);
    }
    if (e->destroy_on_message)
        ofp_conn_destroy(c);
}

static void on_disconnected(void *arg, struct ofp_conn *c, bool was_connected,
                            const char *reason)
{
    struct events *e = arg;
    struct ofp_conn_stats st;
    ofp_conn_get_stats(c, &st);
    if (e->disconnected < 64) {
        e->down_us[e->disconnected] = st.state_since_us;
        e->down_backoff[e->disconnected] = st.backoff_ms;
    }
    e->disconnected++;
    if (was_connected)
        e->disconnected_up++;
    snprintf(e->reason, sizeof(e->reason), "%s", reason);
    assert_string_equal(st.last_error, reason);
    if (e->conn == c && st.passive)
        e->conn = NULL; /* freed after we return */
    if (e->destroy_on_disconnect) {
        if (e->conn == c)
            e->conn = NULL;
        ofp_conn_destroy(c);
    }
}

static void on_congestion(void *arg, struct ofp_conn *c, bool congested)
{
    struct events *e = arg;
    assert_int_equal(ofp_conn_is_congested(c), congested);
    if (congested)
        e->congested_on++;
    else
        e->congested_off++;
}

static const struct ofp_conn_callbacks callbacks = {
    .connected = on_connected,
    .message = on_message,
    .disconnected = on_disconnected,
    .congestion = on_congestion,
};

static void events_free(struct events *e)
{
    free(e->data);
    e->data = NULL;
}

/* Options with short intervals for tests. */
static struct ofp_conn_opts test_opts(void)
{
    struct ofp_conn_opts o;
    ofp_conn_opts_init(&o);
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 80;
    o.probe_interval_ms = 0;
    return o;
}

static void sock_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* ---- raw peers ---------------------------------------------------------- */

static int raw_connect_addr(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    int rc = connect(fd, sa, len);
    assert_true(rc == 0 || errno == EINPROGRESS);
    return fd;
}

static int raw_connect_unix(const char *path)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof(un.sun_path));
    memcpy(un.sun_path, path, strlen(path) + 1);
    return raw_connect_addr((struct sockaddr *)&un, sizeof(un));
}

static int raw_connect_tcp4(uint16_t port)
{
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port)};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return raw_connect_addr((struct sockaddr *)&in, sizeof(in));
}

static void raw_send(int fd, const void *buf, size_t len)
{
    size_t off = 0;
    uint64_t end = kk_now_us() + (uint64_t)WAIT_MS * 1000;
    while (off < len) {
        ssize_t n = send(fd, (const uint8_t *)buf + off, len - off, MSG_NOSIGNAL);
        if (n < 0) {
            assert_true(errno == EAGAIN || errno == EINPROGRESS || errno == ENOTCONN);
            assert_true(kk_now_us() < end);
            pump();
            continue;
        }
        off += (size_t)n;
    }
}

/* Read exactly @len bytes (pumping the reactor). Returns @len, 0 at EOF,
 * -ETIMEDOUT. */
static ssize_t raw_read_exact(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    uint64_t end = kk_now_us() + (uint64_t)WAIT_MS * 1000;
    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, 0);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == ECONNRESET)
                return 0;
            assert_true(errno == EAGAIN || errno == ENOTCONN);
            if (kk_now_us() >= end)
                return -ETIMEDOUT;
            pump();
            continue;
        }
        got += (size_t)n;
    }
    return (ssize_t)len;
}

/* One whole message into @buf (65535 bytes). Returns its length, 0 at EOF,
 * -ETIMEDOUT. */
static ssize_t raw_recv_msg(int fd, uint8_t *buf)
{
    ssize_t n = raw_read_exact(fd, buf, 8);
    if (n <= 0)
        return n;
    size_t len = (size_t)(buf[2] << 8 | buf[3]);
    assert_true(len >= 8);
    if (len > 8) {
        n = raw_read_exact(fd, buf + 8, len - 8);
        if (n <= 0)
            return n;
    }
    return (ssize_t)len;
}

static void raw_expect_eof(int fd)
{
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = raw_recv_msg(fd, buf);
        assert_true(n != -ETIMEDOUT);
        if (n == 0)
            return;
    }
}

static size_t mk_msg(uint8_t *buf, uint8_t version, uint8_t type, uint16_t len, uint32_t xid)
{
    buf[0] = version;
    buf[1] = type;
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    buf[4] = (uint8_t)(xid >> 24);
    buf[5] = (uint8_t)(xid >> 16);
    buf[6] = (uint8_t)(xid >> 8);
    buf[7] = (uint8_t)xid;
    for (size_t i = 8; i < len; i++)
        buf[i] = (uint8_t)(i * 7 + xid);
    return len;
}

/* A HELLO with header @version and, if @bitmap, a version bitmap element. */
static size_t mk_hello(uint8_t *buf, uint8_t version, uint32_t bitmap)
{
    size_t len = bitmap ? 16 : 8;
    mk_msg(buf, version, T_HELLO, (uint16_t)len, 77);
    if (bitmap) {
        const uint8_t elem[8] = {0, 1, 0, 8, (uint8_t)(bitmap >> 24), (uint8_t)(bitmap >> 16),
                                 (uint8_t)(bitmap >> 8), (uint8_t)bitmap};
        memcpy(buf + 8, elem, 8);
    }
    return len;
}

/* Read the layer's HELLO and answer with ours; returns the HELLO's version. */
static uint8_t raw_hello(int fd, uint8_t version, uint32_t bitmap)
{
    uint8_t buf[65536];
    ssize_t n = raw_recv_msg(fd, buf);
    assert_true(n >= 8);
    assert_int_equal(buf[1], T_HELLO);
    uint8_t hello[16];
    raw_send(fd, hello, mk_hello(hello, version, bitmap));
    return buf[0];
}

/* A punix: listener at tmpdir/NAME with @o. */
static struct ofp_listener *listen_unix(const char *name, const struct ofp_conn_opts *o,
                                        struct events *e, char *path, size_t pathlen)
{
    char target[sizeof("punix:") + 256];
    sock_path(path, pathlen, name);
    snprintf(target, sizeof(target), "punix:%s", path);
    struct ofp_listener *l;
    assert_int_equal(ofp_listener_create(reactor, target, o, &callbacks, e, &l), 0);
    return l;
}

/* ---- targets ------------------------------------------------------------ */

static void test_target_parse_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *why; /* a part of the reason */
    } bad[] = {
        {"", "unknown kind"},
        {"tcp", "unknown kind"},
        {"udp:1.2.3.4:5", "unknown kind"},
        {"tcp:", "missing IP"},
        {"tcp::6653", "missing IP"},
        {"tcp:1.2.3", "not an IPv4"},
        {"tcp:1.2.3.256:6653", "not an IPv4"},
        {"tcp:1.2.3.4:0", "out of range"},
        {"tcp:1.2.3.4:65536", "out of range"},
        {"tcp:1.2.3.4:99999999", "not a number"},
        {"tcp:1.2.3.4:-1", "not a number"},
        {"tcp:1.2.3.4:12a", "not a number"},
        {"tcp:1.2.3.4:", "not a number"},
        {"tcp:::1", "brackets"},
        {"tcp:fe80::1:6653", "brackets"},
        {"tcp:[::1", "missing ']'"},
        {"tcp:[::1]6653", "expected ':PORT'"},
        {"tcp:[::g]:6653", "not an IPv4"},
        {"tcp:[1.2.3.4]:6653", "not an IPv4"},
        {"ssl:controller.example:6653", "host names"},
        {"unix:", "missing socket path"},
        {"punix:", "missing socket path"},
        {"ptcp:65536", "out of range"},
        {"ptcp:x", "not a number"},
        {"ptcp:6653:", "missing IP"},
        {"ptcp:6653:::1", "brackets"},
        {"pssl:6653:1.2.3.4.5", "not an IPv4"},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(bad); i++) {
        struct ofp_target t;
        char err[256];
        int rc = ofp_target_parse(bad[i].text, &t, err, sizeof(err));
        if (rc != -EINVAL || !strstr(err, bad[i].why))
            fail_msg("'%s': rc %d, reason '%s', expected '%s'", bad[i].text, rc, err,
                     bad[i].why);
    }
    char longpath[300] = "unix:/";
    memset(longpath + 6, 'a', 200);
    longpath[206] = '\0';
    struct ofp_target t;
    char err[256];
    assert_int_equal(ofp_target_parse(longpath, &t, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "longer than"));
    assert_int_equal(ofp_target_parse(NULL, &t, err, sizeof(err)), -EINVAL);
}

static void test_target_parse_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *canonical;
        uint16_t port;
        int family;
        bool passive, ssl;
    } good[] = {
        {"tcp:127.0.0.1", "tcp:127.0.0.1:6653", 6653, AF_INET, false, false},
        {"tcp:10.1.2.3:6633", "tcp:10.1.2.3:6633", 6633, AF_INET, false, false},
        {"tcp:1.2.3.4:65535", "tcp:1.2.3.4:65535", 65535, AF_INET, false, false},
        {"tcp:[::1]:1", "tcp:[::1]:1", 1, AF_INET6, false, false},
        {"tcp:[::1]", "tcp:[::1]:6653", 6653, AF_INET6, false, false},
        {"ssl:[2001:db8::7]:6654", "ssl:[2001:db8::7]:6654", 6654, AF_INET6, false, true},
        {"ptcp:", "ptcp:6653:0.0.0.0", 6653, AF_INET, true, false},
        {"ptcp:6633", "ptcp:6633:0.0.0.0", 6633, AF_INET, true, false},
        {"ptcp:0:127.0.0.1", "ptcp:0:127.0.0.1", 0, AF_INET, true, false},
        {"ptcp:6653:[::1]", "ptcp:6653:[::1]", 6653, AF_INET6, true, false},
        {"pssl::10.0.0.1", "pssl:6653:10.0.0.1", 6653, AF_INET, true, true},
        {"unix:/run/x.sock", "unix:/run/x.sock", 0, AF_UNIX, false, false},
        {"punix:rel/path", "punix:rel/path", 0, AF_UNIX, true, false},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(good); i++) {
        struct ofp_target t;
        char err[256], buf[OFP_CONN_NAME_MAX];
        int rc = ofp_target_parse(good[i].text, &t, err, sizeof(err));
        if (rc != 0)
            fail_msg("'%s': %s", good[i].text, err);
        assert_string_equal(ofp_target_format(&t, buf, sizeof(buf)), good[i].canonical);
        assert_int_equal(t.port, good[i].port);
        assert_int_equal(t.addr.ss_family, good[i].family);
        assert_int_equal(ofp_target_is_passive(&t), good[i].passive);
        assert_int_equal(ofp_target_is_ssl(&t), good[i].ssl);
        if (good[i].family == AF_INET)
            assert_int_equal(ntohs(((struct sockaddr_in *)&t.addr)->sin_port), good[i].port);
        if (good[i].family == AF_INET6)
            assert_int_equal(ntohs(((struct sockaddr_in6 *)&t.addr)->sin6_port), good[i].port);
        /* The canonical text parses to the same target. */
        struct ofp_target again;
        assert_int_equal(ofp_target_parse(buf, &again, err, sizeof(err)), 0);
        assert_int_equal(again.addr_len, t.addr_len);
        assert_memory_equal(&again.addr, &t.addr, t.addr_len);
    }
}

/* ---- options ------------------------------------------------------------ */

static void test_bad_options_and_targets_refused(void **state)
{
    (void)state;
    struct events e = {0};
    struct ofp_conn *c = NULL;
    struct ofp_listener *l = NULL;
    struct ofp_conn_opts o;
    static const struct {
        int field;
        uint32_t value;
    } bad[] = {
        {0, 0}, {0, 1u | OFP_CONN_V10}, {1, 0}, {2, 10}, {3, 0}, {4, 63}, {4, 65536}, {5, 0},
        {6, 0}, {7, 0},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(bad); i++) {
        o = test_opts();
        switch (bad[i].field) {
        case 0: o.versions = bad[i].value; break;
        case 1: o.backoff_min_ms = bad[i].value; break;
        case 2: o.backoff_max_ms = bad[i].value; break; /* < min 20 */
        case 3: o.queue_limit = bad[i].value; break;
        case 4: o.max_message = bad[i].value; break;
        case 5: o.max_connections = bad[i].value; break;
        case 6: o.handshake_timeout_ms = bad[i].value; break;
        default: o.stall_timeout_ms = bad[i].value; break;
        }
        assert_int_equal(ofp_conn_create(reactor, "tcp:127.0.0.1", &o, &callbacks, &e, &c),
                         -EINVAL);
        assert_int_equal(ofp_listener_create(reactor, "ptcp:0", &o, &callbacks, &e, &l),
                         -EINVAL);
    }
    o = test_opts();
    assert_int_equal(ofp_conn_create(reactor, "ptcp:6653", &o, &callbacks, &e, &c), -EINVAL);
    assert_int_equal(ofp_conn_create(reactor, "tcp:nowhere", &o, &callbacks, &e, &c), -EINVAL);
    assert_int_equal(ofp_conn_create(reactor, "ssl:127.0.0.1", &o, &callbacks, &e, &c),
                     -EINVAL);
    assert_int_equal(ofp_listener_create(reactor, "tcp:127.0.0.1", &o, &callbacks, &e, &l),
                     -EINVAL);
    assert_int_equal(ofp_listener_create(reactor, "pssl:0", &o, &callbacks, &e, &l), -EINVAL);
    struct ofp_conn_callbacks no_msg = {.connected = on_connected};
    assert_int_equal(ofp_conn_create(reactor, "tcp:127.0.0.1", &o, &no_msg, &e, &c), -EINVAL);
    assert_null(c);
    assert_null(l);
    /* A punix: path that is a regular file is not replaced. */
    char path[256], target[300];
    sock_path(path, sizeof(path), "file");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(target, sizeof(target), "punix:%s", path);
    assert_int_equal(ofp_listener_create(reactor, target, &o, &callbacks, &e, &l), -EEXIST);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    ofp_conn_destroy(NULL);
    ofp_listener_destroy(NULL);
    ofp_ssl_ctx_destroy(NULL);
    ofp_role_group_destroy(NULL);
}

/* ---- HELLO -------------------------------------------------------------- */

static void test_hello_encode(void **state)
{
    (void)state;
    uint8_t buf[OFP__HELLO_MAX];
    static const uint8_t both[16] = {0x04, 0, 0, 16, 0, 0, 0, 9, 0, 1, 0, 8, 0, 0, 0, 0x12};
    assert_int_equal(ofp__hello_encode(OFP_CONN_V10 | OFP_CONN_V13, 9, buf), 16);
    assert_memory_equal(buf, both, 16);
    static const uint8_t only10[8] = {0x01, 0, 0, 8, 0x12, 0x34, 0x56, 0x78};
    assert_int_equal(ofp__hello_encode(OFP_CONN_V10, 0x12345678, buf), 8);
    assert_memory_equal(buf, only10, 8);
    static const uint8_t only13[16] = {0x04, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x10};
    assert_int_equal(ofp__hello_encode(OFP_CONN_V13, 1, buf), 16);
    assert_memory_equal(buf, only13, 16);
}

static void test_hello_negotiate_table(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint32_t ours;
        uint8_t hello[40];
        size_t len;
        uint8_t expect;
    } cases[] = {
        {"no common version (bitmap)", OFP_CONN_V10, {4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x10}, 16, 0},
        {"no common version (1.0 peer, 1.3 only)", OFP_CONN_V13, {1, 0, 0, 8, 0, 0, 0, 1}, 8, 0},
        {"peer 1.1 without bitmap, we 1.0+1.3", OFP_CONN_V10 | OFP_CONN_V13, {2, 0, 0, 8, 0, 0, 0, 1}, 8, 0},
        {"peer version 0", OFP_CONN_V10 | OFP_CONN_V13, {0, 0, 0, 8, 0, 0, 0, 1}, 8, 0},
        {"empty bitmap", OFP_CONN_V10 | OFP_CONN_V13, {4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0}, 16, 0},
        {"bitmap 1.0+1.3", OFP_CONN_V10 | OFP_CONN_V13, {4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x12}, 16, 4},
        {"bitmap 1.0 only in a 1.3 header", OFP_CONN_V10 | OFP_CONN_V13, {4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x02}, 16, 1},
        {"bitmap 1.3+1.4+1.5", OFP_CONN_V10 | OFP_CONN_V13, {6, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x70}, 16, 4},
        {"bitmap of two words", OFP_CONN_V10, {6, 0, 0, 16 + 8, 0, 0, 0, 1, 0, 1, 0, 12, 0, 0, 0, 0x42, 0, 0, 0, 1, 0, 0, 0, 0}, 24, 1},
        {"no bitmap, peer 1.3", OFP_CONN_V10 | OFP_CONN_V13, {4, 0, 0, 8, 0, 0, 0, 1}, 8, 4},
        {"no bitmap, peer 1.0", OFP_CONN_V10 | OFP_CONN_V13, {1, 0, 0, 8, 0, 0, 0, 1}, 8, 1},
        {"no bitmap, peer 1.5: min(ours, theirs)", OFP_CONN_V10 | OFP_CONN_V13, {6, 0, 0, 8, 0, 0, 0, 1}, 8, 4},
        {"no bitmap, peer 1.3, we 1.0", OFP_CONN_V10, {4, 0, 0, 8, 0, 0, 0, 1}, 8, 1},
        {"unknown element skipped", OFP_CONN_V10 | OFP_CONN_V13, {4, 0, 0, 24, 0, 0, 0, 1, 0, 9, 0, 5, 1, 0, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0x02}, 24, 1},
        {"malformed element: header rule", OFP_CONN_V10 | OFP_CONN_V13, {4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 40, 0, 0, 0, 0x02}, 16, 4},
        {"element length 2: header rule", OFP_CONN_V10 | OFP_CONN_V13, {4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 2, 0, 0, 0, 0x02}, 16, 4},
        {"truncated element header: header rule", OFP_CONN_V10 | OFP_CONN_V13, {1, 0, 0, 10, 0, 0, 0, 1, 0, 1}, 10, 1},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        char why[256] = "";
        uint8_t v = ofp__hello_negotiate(cases[i].ours, cases[i].hello, cases[i].len, why,
                                         sizeof(why));
        if (v != cases[i].expect)
            fail_msg("%s: got 0x%02x, expected 0x%02x", cases[i].what, v, cases[i].expect);
        if (v == 0)
            assert_non_null(strstr(why, "no common version"));
    }
}

/* The listener speaks @ours; the raw peer sends @hello; expect an ERROR
 * HELLO_FAILED/INCOMPATIBLE in the peer's version, then the close. */
static void check_incompatible(uint32_t ours, const uint8_t *hello, size_t hello_len,
                               uint8_t our_hello_version)
{
    struct events e = {0};
    struct ofp_conn_opts o = test_opts();
    o.versions = ours;
    char path[256];
    struct ofp_listener *l = listen_unix("of.sock", &o, &e, path, sizeof(path));
    int fd = raw_connect_unix(path);
    uint8_t buf[65536];
    ssize_t n = raw_recv_msg(fd, buf);
    assert_true(n >= 8);
    assert_int_equal(buf[1], T_HELLO);
    assert_int_equal(buf[0], our_hello_version);
    raw_send(fd, hello, hello_len);
    n = raw_recv_msg(fd, buf);
    assert_true(n >= 12);
    assert_int_equal(buf[0], hello[0]);       /* the peer's version */
    assert_int_equal(buf[1], T_ERROR);
    assert_memory_equal(buf + 4, hello + 4, 4); /* the HELLO's xid */
    assert_int_equal(buf[8] << 8 | buf[9], 0);   /* OFPET_HELLO_FAILED */
    assert_int_equal(buf[10] << 8 | buf[11], 0); /* OFPHFC_INCOMPATIBLE */
    char text[512];
    snprintf(text, sizeof(text), "%.*s", (int)(n - 12), (const char *)buf + 12);
    assert_non_null(strstr(text, "no common version"));
    raw_expect_eof(fd);
    WAIT_FOR(e.disconnected == 1);
    assert_int_equal(e.connected, 0);
    assert_int_equal(e.disconnected_up, 0);
    assert_non_null(strstr(e.reason, "version negotiation failed"));
    assert_int_equal(e.messages, 0);
    close(fd);
    ofp_listener_destroy(l);
}

static void test_hello_incompatible_versions(void **state)
{
    (void)state;
    uint8_t hello[16];
    /* 1.0 only vs a 1.3-only peer with a bitmap */
    check_incompatible(OFP_CONN_V10, hello, mk_hello(hello, 4, OFP_CONN_V13), 1);
    /* 1.3 only vs a 1.0 peer (no bitmap) */
    check_incompatible(OFP_CONN_V13, hello, mk_hello(hello, 1, 0), 4);
}

static void test_hello_negotiation_over_socket(void **state)
{
    (void)state;
    static const struct {
        uint32_t ours;
        uint8_t peer_version;
        uint32_t peer_bitmap;
        uint8_t expect;
    } cases[] = {
        {OFP_CONN_V10 | OFP_CONN_V13, 4, OFP_CONN_V10 | OFP_CONN_V13, 4},
        {OFP_CONN_V10 | OFP_CONN_V13, 4, OFP_CONN_V10, 1},
        {OFP_CONN_V10 | OFP_CONN_V13, 4, 0, 4},
        {OFP_CONN_V10 | OFP_CONN_V13, 1, 0, 1},
        {OFP_CONN_V10 | OFP_CONN_V13, 6, 0, 4},
        {OFP_CONN_V10, 4, 0, 1},
        {OFP_CONN_V13, 5, (1u << 4) | (1u << 5), 4},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        struct events e = {0};
        struct ofp_conn_opts o = test_opts();
        o.versions = cases[i].ours;
        char path[256];
        struct ofp_listener *l = listen_unix("neg.sock", &o, &e, path, sizeof(path));
        int fd = raw_connect_unix(path);
        raw_hello(fd, cases[i].peer_version, cases[i].peer_bitmap);
        WAIT_FOR(e.connected == 1);
        assert_int_equal(e.version, cases[i].expect);
        struct ofp_conn_stats st;
        ofp_conn_get_stats(e.conn, &st);
        assert_int_equal(st.version, cases[i].expect);
        assert_int_equal(st.state, OFP_CONN_UP);
        assert_true(st.passive);
        assert_string_equal(st.peer, st.target + 1); /* "unix:PATH" vs "punix:PATH" */
        close(fd);
        WAIT_FOR(e.disconnected == 1);
        assert_int_equal(e.disconnected_up, 1);
        assert_non_null(strstr(e.reason, "closed"));
        ofp_listener_destroy(l);
    }
}

/* ---- framing ------------------------------------------------------------ */

/* A listener and a raw peer that finished HELLO (version 1.3). */
struct session {
    struct events e;
    struct ofp_listener *l;
    int fd;
    char path[256];
};

static void session_open(struct session *s, const struct ofp_conn_opts *o)
{
    memset(s, 0, sizeof(*s));
    s->l = listen_unix("s.sock", o, &s->e, s->path, sizeof(s->path));
    s->fd = raw_connect_unix(s->path);
    raw_hello(s->fd, 4, OFP_CONN_V13);
    WAIT_FOR(s->e.connected == 1);
}

static void session_close(struct session *s)
{
    if (s->fd >= 0)
        close(s->fd);
    ofp_listener_destroy(s->l);
    events_free(&s->e);
}

static void test_framing_byte_by_byte(void **state)
{
    (void)state;
    struct ofp_conn_opts o = test_opts();
    struct session s;
    session_open(&s, &o);
    uint8_t stream[2048];
    size_t len = 0;
    len += mk_msg(stream + len, 4, 14, 56, 1);  /* FLOW_MOD-sized */
    len += mk_msg(stream + len, 4, 18, 8, 2);   /* header only */
    len += mk_msg(stream + len, 4, 13, 1500, 3);
    for (size_t i = 0; i < len; i++) {
        raw_send(s.fd, stream + i, 1);
        for (int k = 0; k < 3; k++)
            kk_reactor_poll_once(reactor);
        /* Nothing is delivered before its last byte. */
        size_t done = i + 1;
        int expect = (done >= 56) + (done >= 64) + (done >= 1564);
        if (s.e.messages != expect)
            fail_msg("after %zu bytes: %d messages, expected %d", done, s.e.messages, expect);
    }
    assert_int_equal(s.e.messages, 3);
    assert_int_equal(s.e.data_len, len);
    assert_memory_equal(s.e.data, stream, len);
    assert_int_equal(s.e.types[0], 14);
    assert_int_equal(s.e.types[2], 13);
    struct ofp_conn_stats st;
    ofp_conn_get_stats(s.e.conn, &st);
    assert_int_equal(st.msgs_in, 4); /* and the HELLO */
    assert_int_equal(st.bytes_in, 16 + len);
    session_close(&s);
}

static void test_framing_many_in_one_write(void **state)
{
    (void)state;
    struct ofp_conn_opts o = test_opts();
    struct session s;
    session_open(&s, &o);
    uint64_t seed = 42;
    size_t cap = 400 * 300 + 2 * 65535;
    uint8_t *stream = malloc(cap);
    assert_non_null(stream);
    size_t len = 0;
    for (int i = 0; i < 400; i++)
        len += mk_msg(stream + len, 4, (uint8_t)(10 + i % 20),
                      (uint16_t)(8 + kk_test_rand(&seed) % 292), (uint32_t)i);
    /* Two longest messages: the input buffer grows for them. */
    len += mk_msg(stream + len, 4, 13, 65535, 1000);
    len += mk_msg(stream + len, 4, 13, 65535, 1001);
    raw_send(s.fd, stream, len);
    WAIT_FOR(s.e.messages == 402);
    assert_int_equal(s.e.data_len, len);
    assert_memory_equal(s.e.data, stream, len);
    assert_int_equal(s.e.lens[401], 65535);
    free(stream);
    session_close(&s);
}

static void check_bad_length(uint16_t bad_len, uint32_t max_message, bool before_hello,
                             const char *why)
{
    struct ofp_conn_opts o = test_opts();
    o.max_message = max_message;
    struct session s;
    if (before_hello) {
        memset(&s, 0, sizeof(s));
        s.l = listen_unix("s.sock", &o, &s.e, s.path, sizeof(s.path));
        s.fd = raw_connect_unix(s.path);
    } else {
        session_open(&s, &o);
    }
    uint8_t msg[8];
    mk_msg(msg, 4, 10, 8, 5);
    msg[2] = (uint8_t)(bad_len >> 8);
    msg[3] = (uint8_t)bad_len;
    /* Only the header: the layer must not wait for a body. */
    raw_send(s.fd, msg, sizeof(msg));
    raw_expect_eof(s.fd);
    WAIT_FOR(s.e.disconnected == 1);
    if (!strstr(s.e.reason, why))
        fail_msg("length %u: reason '%s'", bad_len, s.e.reason);
    assert_int_equal(s.e.messages, 0);
    session_close(&s);
}

static void test_bad_lengths_close(void **state)
{
    (void)state;
    check_bad_length(0, 65535, false, "less than 8");
    check_bad_length(7, 65535, false, "less than 8");
    check_bad_length(4, 65535, true, "less than 8");
    check_bad_length(1025, 1024, false, "over the limit of 1024");
    check_bad_length(65535, 1024, true, "over the limit");
}

static void test_non_hello_first_closes(void **state)
{
    (void)state;
    struct ofp_conn_opts o = test_opts();
    struct session s;
    memset(&s, 0, sizeof(s));
    s.l = listen_unix("s.sock", &o, &s.e, s.path, sizeof(s.path));
    s.fd = raw_connect_unix(s.path);
    uint8_t msg[16];
    raw_send(s.fd, msg, mk_msg(msg, 4, T_FEATURES_REQUEST, 8, 1));
    raw_expect_eof(s.fd);
    WAIT_FOR(s.e.disconnected == 1);
    assert_non_null(strstr(s.e.reason, "expected HELLO"));
    assert_int_equal(s.e.connected, 0);
    close(s.fd);

    /* An ERROR instead of HELLO: its type, code and text in the reason. */
    s.fd = raw_connect_unix(s.path);
    uint8_t err[64];
    mk_msg(err, 4, T_ERROR, 12 + 9, 1);
    memcpy(err + 8, "\x00\x00\x00\x01no\x01thanks", 13);
    raw_send(s.fd, err, 12 + 9);
    raw_expect_eof(s.fd);
    WAIT_FOR(s.e.disconnected == 2);
    assert_non_null(strstr(s.e.reason, "refused the connection: ERROR type 0 code 1: no.thanks"));
    assert_int_equal(s.e.connected, 0);
    session_close(&s);
}

/* ---- echo and keepalive ------------------------------------------------- */

static void test_echo_answered(void **state)
{
    (void)state;
    struct ofp_conn_opts o = test_opts();
    struct session s;
    session_open(&s, &o);
    uint8_t req[64], buf[65536];
    mk_msg(req, 4, T_ECHO_REQUEST, 40, 0xabcdef01);
    raw_send(s.fd, req, 40);
    ssize_t n = raw_recv_msg(s.fd, buf);
    assert_int_equal(n, 40);
    assert_int_equal(buf[1], T_ECHO_REPLY);
    assert_int_equal(buf[0], 4);
    assert_memory_equal(buf + 4, req + 4, 36); /* xid and data */
    /* An echo reply we did not ask for is the application's. */
    uint8_t rep[8];
    raw_send(s.fd, rep, mk_msg(rep, 4, T_ECHO_REPLY, 8, 99));
    WAIT_FOR(s.e.messages == 1);
    assert_int_equal(s.e.types[0], T_ECHO_REPLY);
    /* A HELLO after negotiation is ignored. */
    uint8_t hello[16];
    raw_send(s.fd, hello, mk_hello(hello, 4, OFP_CONN_V13));
    raw_send(s.fd, rep, mk_msg(rep, 4, 20, 8, 100));
    WAIT_FOR(s.e.messages == 2);
    assert_int_equal(s.e.types[1], 20);
    session_close(&s);
}

static void test_keepalive_probe_then_timeout(void **state)
{
    (void)state;
    struct ofp_conn_opts o = test_opts();
    o.probe_interval_ms = 100;
    struct session s;
    /* Before the channel is up: the lower bounds below hold on any machine. */
    uint64_t t0 = kk_now_us();
    session_open(&s, &o);
    uint8_t buf[65536];
    ssize_t n = raw_recv_msg(s.fd, buf);
    uint64_t t1 = kk_now_us();
    assert_int_equal(n, 8);
    assert_int_equal(buf[1], T_ECHO_REQUEST);
    assert_int_equal(buf[0], 4);
    assert_true(t1 - t0 >= 100 * 1000);
    /* No answer: dropped after another interval. */
    raw_expect_eof(s.fd);
    uint64_t t2 = kk_now_us();
    assert_true(t2 - t0 >= 200 * 1000);
    WAIT_FOR(s.e.disconnected == 1);
    assert_int_equal(s.e.disconnected_up, 1);
    assert_non_null(strstr(s.e.reason, "inactivity probe"));
    assert_int_equal(s.e.messages, 0); /* our probe's traffic is not delivered */
    session_close(&s);
}

static void test_keepalive_answered_stays_up(void **state)
{
    (void)state;
    struct ofp_conn_opts o = test_opts();
    o.probe_interval_ms = 200; /* the answers must come within it */
    struct session s;
    session_open(&s, &o);
    struct ofp_conn *c = s.e.conn;
    uint8_t buf[65536];
    for (int i = 0; i < 4; i++) {
        ssize_t n = raw_recv_msg(s.fd, buf);
        assert_int_equal(n, 8);
        assert_int_equal(buf[1], T_ECHO_REQUEST);
        buf[1] = T_ECHO_REPLY;
        raw_send(s.fd, buf, 8);
    }
    pump_ms(20);
    assert_int_equal(s.e.disconnected, 0);
    assert_int_equal(s.e.messages, 0); /* replies to our probes are ours */
    struct ofp_conn_stats st;
    ofp_conn_get_stats(c, &st);
    assert_int_equal(st.state, OFP_CONN_UP);
    assert_true(st.echo_requests_sent >= 4);
    assert_true(st.last_rx_us > 0);
    session_close(&s);
}

static void test_handshake_timeout(void **state)
{
    (void)state;
    struct ofp_conn_opts o = test_opts();
    o.handshake_timeout_ms = 100;
    struct events e = {0};
    char path[256];
    struct ofp_listener *l = listen_unix("h.sock", &o, &e, path, sizeof(path));
    uint64_t t0 = kk_now_us();
    int fd = raw_connect_unix(path);
    raw_expect_eof(fd); /* reads our HELLO, never answers */
    assert_true(kk_now_us() - t0 >= 100 * 1000);
    WAIT_FOR(e.disconnected == 1);
    assert_non_null(strstr(e.reason, "no HELLO exchange"));
    struct ofp_listener_stats ls;
    WAIT_FOR((ofp_listener_get_stats(l, &ls), ls.n_conns == 0));
    close(fd);
    ofp_listener_destroy(l);
}

/* ---- active channels: backoff and reconnect ------------------------------ */

static void test_reconnect_with_backoff(void **state)
{
    (void)state;
    struct events ce = {0}, se = {0};
    struct ofp_conn_opts o = test_opts(); /* backoff 20 .. 80 ms */
    char path[256], target[300], ptarget[300];
    sock_path(path, sizeof(path), "ctl.sock");
    snprintf(target, sizeof(target), "unix:%s", path);
    snprintf(ptarget, sizeof(ptarget), "punix:%s", path);
    struct ofp_conn *c;
    assert_int_equal(ofp_conn_create(reactor, target, &o, &callbacks, &ce, &c), 0);
    /* Nothing happens inside create. */
    assert_int_equal(ce.disconnected, 0);
    assert_int_equal(ofp_conn_send(c, "\x04\x00\x00\x08\x00\x00\x00\x01", 8), -ENOTCONN);

    /* No server: attempts fail, spaced by a doubling backoff. A timer never
     * fires early, so each failure comes at least one backoff after the
     * previous one (however slow the machine). */
    WAIT_FOR(ce.disconnected >= 6);
    static const uint32_t expect[] = {20, 40, 80, 80, 80, 80};
    for (int i = 0; i < 6; i++)
        assert_int_equal(ce.down_backoff[i], expect[i]);
    for (int i = 1; i < 6; i++) {
        uint64_t gap = ce.down_us[i] - ce.down_us[i - 1];
        if (gap < (uint64_t)expect[i - 1] * 1000)
            fail_msg("attempt %d came %llu us after the previous one (backoff %u ms)", i,
                     (unsigned long long)gap, expect[i - 1]);
    }
    assert_int_equal(ce.connected, 0);
    assert_int_equal(ce.disconnected_up, 0);
    assert_non_null(strstr(ce.reason, "connect"));
    struct ofp_conn_stats st;
    ofp_conn_get_stats(c, &st);
    assert_true(st.connect_attempts >= 6);
    assert_int_equal(st.connections, 0);
    assert_int_equal(st.state, OFP_CONN_BACKOFF);

    /* The server comes: connected. */
    struct ofp_listener *l;
    assert_int_equal(ofp_listener_create(reactor, ptarget, &o, &callbacks, &se, &l), 0);
    WAIT_FOR(ce.connected == 1 && se.connected == 1);
    assert_int_equal(ce.version, 4);
    ofp_conn_get_stats(c, &st);
    assert_int_equal(st.connections, 1);
    assert_int_equal(st.state, OFP_CONN_UP);
    assert_string_equal(st.target, target);

    /* It goes away: disconnected, attempts resume, then it comes back. */
    int before = ce.disconnected;
    ofp_listener_destroy(l);
    WAIT_FOR(ce.disconnected_up == 1);
    WAIT_FOR(ce.disconnected >= before + 3);
    assert_int_equal(ofp_conn_state(c), OFP_CONN_BACKOFF);
    assert_int_equal(ofp_conn_version(c), 0);
    assert_int_equal(ofp_listener_create(reactor, ptarget, &o, &callbacks, &se, &l), 0);
    WAIT_FOR(ce.connected == 2 && se.connected == 2);
    ofp_conn_get_stats(c, &st);
    assert_int_equal(st.connections, 2);

    /* Up longer than backoff_reset_ms: the backoff starts over (0: at once). */
    ofp_conn_destroy(c);
    memset(&ce, 0, sizeof(ce));
    o.backoff_reset_ms = 30;
    assert_int_equal(ofp_conn_create(reactor, target, &o, &callbacks, &ce, &c), 0);
    WAIT_FOR(ce.connected == 1);
    pump_ms(60);
    ofp_listener_destroy(l);
    WAIT_FOR(ce.disconnected >= 2);
    assert_int_equal(ce.down_backoff[0], 0);  /* stable: retried at once */
    assert_int_equal(ce.down_backoff[1], 20); /* then the minimum */
    ofp_conn_destroy(c);
    events_free(&ce);
    events_free(&se);
}

static void test_reconnect_off(void **state)
{
    (void)state;
    struct events e = {0};
    struct ofp_conn_opts o = test_opts();
    o.reconnect = false;
    char path[256], target[300];
    sock_path(path, sizeof(path), "none.sock");
    snprintf(target, sizeof(target), "unix:%s", path);
    struct ofp_conn *c;
    assert_int_equal(ofp_conn_create(reactor, target, &o, &callbacks, &e, &c), 0);
    WAIT_FOR(e.disconnected == 1);
    pump_ms(100);
    assert_int_equal(e.disconnected, 1);
    assert_int_equal(ofp_conn_state(c), OFP_CONN_CLOSED);
    assert_non_null(strstr(e.reason, "No such file"));
    ofp_conn_destroy(c);
}

/* ---- listeners ---------------------------------------------------------- */

static void test_ptcp_connection_limit(void **state)
{
    (void)state;
    struct events e = {0};
    struct ofp_conn_opts o = test_opts();
    o.max_connections = 3;
    struct ofp_listener *l;
    assert_int_equal(ofp_listener_create(reactor, "ptcp:0:127.0.0.1", &o, &callbacks, &e, &l),
                     0);
    struct ofp_listener_stats ls;
    ofp_listener_get_stats(l, &ls);
    assert_true(ls.port != 0);
    char expect[64];
    snprintf(expect, sizeof(expect), "ptcp:%u:127.0.0.1", ls.port);
    assert_string_equal(ls.target, expect);
    int fds[5];
    for (int i = 0; i < 5; i++)
        fds[i] = raw_connect_tcp4(ls.port);
    WAIT_FOR((ofp_listener_get_stats(l, &ls), ls.accepted + ls.refused == 5));
    assert_int_equal(ls.accepted, 3);
    assert_int_equal(ls.refused, 2);
    assert_int_equal(ls.n_conns, 3);
    /* The accepted ones get a HELLO; the others are closed. */
    int hellos = 0, closed = 0;
    for (int i = 0; i < 5; i++) {
        uint8_t buf[65536];
        ssize_t n = raw_recv_msg(fds[i], buf);
        assert_true(n != -ETIMEDOUT);
        if (n > 0) {
            assert_int_equal(buf[1], T_HELLO);
            hellos++;
        } else {
            closed++;
            close(fds[i]);
            fds[i] = -1;
        }
    }
    assert_int_equal(hellos, 3);
    assert_int_equal(closed, 2);
    /* One leaves: room for another. */
    for (int i = 0; i < 5; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
            break;
        }
    }
    WAIT_FOR((ofp_listener_get_stats(l, &ls), ls.n_conns == 2));
    int fd = raw_connect_tcp4(ls.port);
    assert_int_equal(raw_hello(fd, 4, 0), 4);
    WAIT_FOR(e.connected == 1);
    ofp_listener_get_stats(l, &ls);
    assert_int_equal(ls.n_conns, 3);
    assert_int_equal(ls.accepted, 4);
    close(fd);
    for (int i = 0; i < 5; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    ofp_listener_destroy(l);
}

static void count_conn(void *arg, struct ofp_conn *c)
{
    int *n = arg;
    if (ofp_conn_state(c) == OFP_CONN_UP)
        (*n)++;
}

static void test_punix_many_channels(void **state)
{
    (void)state;
    struct events se = {0}, ce = {0};
    struct ofp_conn_opts o = test_opts();
    char path[256], target[300];
    struct ofp_listener *l = listen_unix("many.sock", &o, &se, path, sizeof(path));
    snprintf(target, sizeof(target), "unix:%s", path);
    struct ofp_conn *cs[20];
    for (int i = 0; i < 20; i++)
        assert_int_equal(ofp_conn_create(reactor, target, &o, &callbacks, &ce, &cs[i]), 0);
    WAIT_FOR(se.connected == 20 && ce.connected == 20);
    int up = 0;
    ofp_listener_foreach(l, count_conn, &up);
    assert_int_equal(up, 20);
    struct ofp_listener_stats ls;
    ofp_listener_get_stats(l, &ls);
    assert_int_equal(ls.n_conns, 20);
    assert_ptr_equal(ofp_conn_listener(se.conn), l);
    assert_null(ofp_conn_listener(cs[0]));
    /* A stale socket file (no server behind it) is replaced; a live one is not. */
    struct ofp_listener *l2;
    char ptarget[300];
    snprintf(ptarget, sizeof(ptarget), "punix:%s", path);
    assert_int_equal(ofp_listener_create(reactor, ptarget, &o, &callbacks, &se, &l2),
                     -EADDRINUSE);
    for (int i = 0; i < 20; i++)
        ofp_conn_destroy(cs[i]);
    WAIT_FOR((ofp_listener_get_stats(l, &ls), ls.n_conns == 0));
    assert_int_equal(se.disconnected_up, 20);
    assert_int_equal(ce.disconnected, 0); /* destroy reports nothing */
    ofp_listener_destroy(l);
    struct stat st;
    assert_int_equal(stat(path, &st), -1); /* the socket file is removed */
}

/* ---- transports: unix, tcp, IPv6 loopback -------------------------------- */

static void exchange(struct events *ce, struct events *se, struct ofp_conn *c)
{
    WAIT_FOR(ce->connected == 1 && se->connected == 1);
    assert_int_equal(ce->version, 4);
    assert_int_equal(se->version, 4);
    uint8_t msg[4096];
    /* bad sends */
    mk_msg(msg, 4, T_FEATURES_REQUEST, 8, ofp_conn_next_xid(c));
    assert_int_equal(ofp_conn_send(c, msg, 7), -EINVAL);
    assert_int_equal(ofp_conn_send(c, msg, 9), -EINVAL); /* != its length field */
    assert_int_equal(ofp_conn_send(c, msg, 8), 0);
    mk_msg(msg, 4, 14, 4000, ofp_conn_next_xid(c));
    assert_int_equal(ofp_conn_send(c, msg, 4000), 0);
    WAIT_FOR(se->messages == 2 && ce->messages == 1);
    assert_int_equal(se->types[0], T_FEATURES_REQUEST);
    assert_int_equal(se->lens[1], 4000);
    assert_memory_equal(se->data + 8, msg, 4000);
    assert_int_equal(ce->types[0], 6); /* the server's answer */
    struct ofp_conn_stats st;
    ofp_conn_get_stats(c, &st);
    assert_int_equal(st.msgs_out, 3); /* HELLO + 2 */
    assert_int_equal(st.bytes_out, 16 + 8 + 4000);
    assert_int_equal(st.msgs_in, 2);   /* HELLO + the answer */
    assert_int_equal(st.bytes_in, 16 + 8);
    assert_int_equal(st.connect_attempts, 1);
    assert_int_equal(st.connections, 1);
    assert_int_equal(st.role, OFP_CONN_ROLE_EQUAL);
    assert_true(st.last_tx_us > 0 && st.last_rx_us > 0);
    assert_int_equal(st.output_queued, 0);
}

static void test_loopback_transports(void **state)
{
    (void)state;
    static const struct {
        const char *listen;  /* NULL: punix: in tmpdir */
        const char *connect; /* + port, or NULL: unix: in tmpdir */
        const char *peer_prefix;
    } cases[] = {
        {NULL, NULL, "unix:"},
        {"ptcp:0:127.0.0.1", "tcp:127.0.0.1:", "tcp:127.0.0.1:"},
        {"ptcp:0:[::1]", "tcp:[::1]:", "tcp:[::1]:"},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        struct events ce = {0}, se = {0};
        se.echo_features = true;
        struct ofp_conn_opts o = test_opts();
        char lt[300], ct[300];
        if (cases[i].listen)
            snprintf(lt, sizeof(lt), "%s", cases[i].listen);
        else
            snprintf(lt, sizeof(lt), "punix:%s/l.sock", tmpdir);
        struct ofp_listener *l;
        int rc = ofp_listener_create(reactor, lt, &o, &callbacks, &se, &l);
        if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT) {
            print_message("# %s: no IPv6 loopback here, skipped\n", lt);
            continue;
        }
        assert_int_equal(rc, 0);
        struct ofp_listener_stats ls;
        ofp_listener_get_stats(l, &ls);
        if (cases[i].connect)
            snprintf(ct, sizeof(ct), "%s%u", cases[i].connect, ls.port);
        else
            snprintf(ct, sizeof(ct), "unix:%s/l.sock", tmpdir);
        struct ofp_conn *c;
        assert_int_equal(ofp_conn_create(reactor, ct, &o, &callbacks, &ce, &c), 0);
        exchange(&ce, &se, c);
        struct ofp_conn_stats st;
        ofp_conn_get_stats(c, &st);
        assert_true(strncmp(st.peer, cases[i].peer_prefix, strlen(cases[i].peer_prefix)) == 0);
        ofp_conn_get_stats(se.conn, &st);
        assert_true(strncmp(st.peer, cases[i].peer_prefix, strlen(cases[i].peer_prefix)) == 0);
        assert_string_equal(st.target, ls.target);
        ofp_conn_destroy(c);
        WAIT_FOR(se.disconnected == 1);
        ofp_listener_destroy(l);
        events_free(&ce);
        events_free(&se);
    }
}

/* ---- TLS ---------------------------------------------------------------- */

static bool sh(const char *fmt, ...) KK_PRINTF(1, 2);
static bool sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

/* A CA and a certificate it signs for @name, in tmpdir: NAME.key, NAME.pem. */
static bool make_ca(const char *ca)
{
    return sh("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
              "-nodes -keyout %s.key -out %s.pem -days 2 -subj /CN=%s >/dev/null 2>&1",
              tmpdir, ca, ca, ca);
}

static bool make_cert(const char *ca, const char *name)
{
    return sh("cd '%s' && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
              "-keyout %s.key -out %s.csr -subj /CN=%s >/dev/null 2>&1 && "
              "openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -set_serial %u "
              "-out %s.pem -days 2 >/dev/null 2>&1",
              tmpdir, name, name, name, name, ca, ca, (unsigned)(rand() % 100000 + 1), name);
}

static struct ofp_ssl_ctx *ssl_ctx(const char *name, const char *ca)
{
    char key[512], cert[512], cacert[512], err[256];
    snprintf(key, sizeof(key), "%s/%s.key", tmpdir, name);
    snprintf(cert, sizeof(cert), "%s/%s.pem", tmpdir, name);
    snprintf(cacert, sizeof(cacert), "%s/%s.pem", tmpdir, ca);
    struct ofp_ssl_opts so = {.private_key = key, .certificate = cert, .ca_cert = cacert};
    struct ofp_ssl_ctx *ctx = NULL;
    int rc = ofp_ssl_ctx_create(&so, err, sizeof(err), &ctx);
    if (rc < 0)
        fail_msg("ssl context %s/%s: %s", name, ca, err);
    return ctx;
}

static bool have_openssl_cli(void)
{
    return sh("command -v openssl >/dev/null 2>&1");
}

static void test_ssl_bad_keys_refused(void **state)
{
    (void)state;
    if (!have_openssl_cli())
        skip();
    assert_true(make_ca("ca"));
    assert_true(make_cert("ca", "server"));
    assert_true(make_cert("ca", "other"));
    char key[512], cert[512], ca[512], err[256];
    struct ofp_ssl_ctx *ctx = NULL;
    snprintf(key, sizeof(key), "%s/other.key", tmpdir);
    snprintf(cert, sizeof(cert), "%s/server.pem", tmpdir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", tmpdir);
    struct ofp_ssl_opts so = {.private_key = key, .certificate = cert, .ca_cert = ca};
    assert_int_equal(ofp_ssl_ctx_create(&so, err, sizeof(err), &ctx), -EINVAL);
    /* OpenSSL 3 notices while loading the key, older ones in the check after. */
    if (!strstr(err, "private key") && !strstr(err, "does not match"))
        fail_msg("mismatched key: '%s'", err);
    so.private_key = NULL;
    assert_int_equal(ofp_ssl_ctx_create(&so, err, sizeof(err), &ctx), -EINVAL);
    snprintf(key, sizeof(key), "%s/server.key", tmpdir);
    so.private_key = key;
    so.ca_cert = "/nonexistent/ca.pem";
    assert_int_equal(ofp_ssl_ctx_create(&so, err, sizeof(err), &ctx), -EINVAL);
    assert_non_null(strstr(err, "CA certificate"));
    assert_null(ctx);
}

static void test_ssl_connects_and_refuses(void **state)
{
    (void)state;
    if (!have_openssl_cli())
        skip();
    assert_true(make_ca("ca"));
    assert_true(make_ca("ca2"));
    assert_true(make_cert("ca", "server"));
    assert_true(make_cert("ca", "client"));
    assert_true(make_cert("ca2", "rogue"));
    struct ofp_ssl_ctx *sctx = ssl_ctx("server", "ca");
    struct ofp_ssl_ctx *cctx = ssl_ctx("client", "ca");
    struct ofp_ssl_ctx *rctx = ssl_ctx("rogue", "ca2");

    struct events ce = {0}, se = {0};
    se.echo_features = true;
    struct ofp_conn_opts so = test_opts();
    so.ssl = sctx;
    struct ofp_listener *l;
    assert_int_equal(ofp_listener_create(reactor, "pssl:0:127.0.0.1", &so, &callbacks, &se, &l),
                     0);
    struct ofp_listener_stats ls;
    ofp_listener_get_stats(l, &ls);
    char target[64];
    snprintf(target, sizeof(target), "ssl:127.0.0.1:%u", ls.port);

    /* Good keys: up, messages both ways (a 60000-byte one spans TLS records). */
    struct ofp_conn_opts co = test_opts();
    co.ssl = cctx;
    struct ofp_conn *c;
    assert_int_equal(ofp_conn_create(reactor, target, &co, &callbacks, &ce, &c), 0);
    exchange(&ce, &se, c);
    uint8_t *big = malloc(60000);
    assert_non_null(big);
    mk_msg(big, 4, 14, 60000, 7);
    assert_int_equal(ofp_conn_send(c, big, 60000), 0);
    WAIT_FOR(se.messages == 3);
    assert_int_equal(se.lens[2], 60000);
    assert_memory_equal(se.data + se.data_len - 60000, big, 60000);
    assert_int_equal(ofp_conn_send(se.conn, big, 60000), 0);
    WAIT_FOR(ce.messages == 2);
    assert_memory_equal(ce.data + ce.data_len - 60000, big, 60000);
    struct ofp_conn_stats st;
    ofp_conn_get_stats(se.conn, &st);
    assert_true(strncmp(st.peer, "ssl:127.0.0.1:", 14) == 0);
    free(big);
    ofp_conn_destroy(c);
    WAIT_FOR(se.disconnected == 1);

    /* A certificate from another CA: refused on both sides, never up. */
    struct events re = {0};
    struct ofp_conn_opts ro = test_opts();
    ro.ssl = rctx;
    ro.reconnect = false;
    int server_downs = se.disconnected;
    assert_int_equal(ofp_conn_create(reactor, target, &ro, &callbacks, &re, &c), 0);
    WAIT_FOR(re.disconnected == 1 && se.disconnected == server_downs + 1);
    assert_int_equal(re.connected, 0);
    assert_int_equal(se.connected, 1);
    assert_int_equal(re.disconnected_up, 0);
    assert_non_null(strstr(re.reason, "certificate"));
    ofp_conn_destroy(c);

    /* A client that trusts the right CA but has no CA-signed certificate of its own. */
    struct ofp_ssl_ctx *mixed = ssl_ctx("rogue", "ca");
    struct events me = {0};
    ro.ssl = mixed;
    assert_int_equal(ofp_conn_create(reactor, target, &ro, &callbacks, &me, &c), 0);
    WAIT_FOR(me.disconnected == 1 && se.disconnected == server_downs + 2);
    assert_int_equal(me.connected, 0);
    assert_int_equal(se.connected, 1);
    ofp_conn_destroy(c);

    /* Plain OpenFlow to a pssl: port: closed, never up. */
    int fd = raw_connect_tcp4(ls.port);
    uint8_t hello[16];
    raw_send(fd, hello, mk_hello(hello, 4, OFP_CONN_V13));
    raw_expect_eof(fd);
    close(fd);
    WAIT_FOR(se.disconnected == server_downs + 3);
    assert_int_equal(se.connected, 1);

    ofp_listener_destroy(l);
    ofp_ssl_ctx_destroy(sctx);
    ofp_ssl_ctx_destroy(cctx);
    ofp_ssl_ctx_destroy(rctx);
    ofp_ssl_ctx_destroy(mixed);
    events_free(&ce);
    events_free(&se);
}

/* ---- output queue ------------------------------------------------------- */

static void test_output_queue_limit(void **state)
{
    (void)state;
    struct ofp_conn_opts o = test_opts();
    o.queue_limit = 8192;
    o.stall_timeout_ms = 1000; /* long enough to drain in, even on a slow machine */
    struct session s;
    session_open(&s, &o);
    struct ofp_conn *c = s.e.conn;
    uint8_t msg[1000];
    mk_msg(msg, 4, 10, sizeof(msg), 1); /* PACKET_IN-sized */
    /* The peer does not read: the socket fills, then the queue. */
    int sent = 0, rc = 0;
    for (int i = 0; i < 100000 && rc == 0; i++) {
        rc = ofp_conn_send(c, msg, sizeof(msg));
        if (rc == 0)
            sent++;
        if (i % 8 == 0)
            kk_reactor_poll_once(reactor);
    }
    assert_int_equal(rc, -ENOBUFS);
    struct ofp_conn_stats st;
    ofp_conn_get_stats(c, &st);
    assert_true(st.congested);
    assert_true(st.output_queued > 8192);
    assert_true(st.output_queued <= 2 * 8192);
    assert_int_equal(ofp_conn_send_droppable(c, msg, sizeof(msg)), -ENOBUFS);
    ofp_conn_get_stats(c, &st);
    assert_int_equal(st.dropped, 1);
    WAIT_FOR(s.e.congested_on == 1);
    assert_int_equal(s.e.congested_off, 0);

    /* The peer reads: the queue drains, congestion ends, nothing was lost. */
    uint8_t buf[65536];
    for (int i = 0; i < sent; i++) {
        ssize_t n = raw_recv_msg(s.fd, buf);
        assert_int_equal(n, sizeof(msg));
        assert_memory_equal(buf, msg, sizeof(msg));
    }
    WAIT_FOR(s.e.congested_off == 1);
    assert_false(ofp_conn_is_congested(c));
    assert_int_equal(ofp_conn_send_droppable(c, msg, sizeof(msg)), 0);
    assert_int_equal(raw_recv_msg(s.fd, buf), sizeof(msg));

    /* It stops reading for good: dropped after the stall timeout. */
    rc = 0;
    for (int i = 0; i < 100000 && rc == 0; i++) {
        rc = ofp_conn_send(c, msg, sizeof(msg));
        if (i % 8 == 0)
            kk_reactor_poll_once(reactor);
    }
    assert_int_equal(rc, -ENOBUFS);
    WAIT_FOR(s.e.disconnected == 1);
    assert_non_null(strstr(s.e.reason, "does not read"));
    assert_int_equal(s.e.disconnected_up, 1);
    session_close(&s);
}

static void test_echo_flood_stays_bounded(void **state)
{
    (void)state;
    struct ofp_conn_opts o = test_opts();
    o.queue_limit = 4096;
    o.stall_timeout_ms = 200;
    struct session s;
    session_open(&s, &o);
    /* The peer sends echo requests as fast as it can and reads nothing. */
    uint8_t req[1000];
    mk_msg(req, 4, T_ECHO_REQUEST, sizeof(req), 1);
    size_t max_queued = 0, off = 0;
    uint64_t end = kk_now_us() + (uint64_t)WAIT_MS * 1000;
    while (s.e.disconnected == 0 && kk_now_us() < end) {
        ssize_t n = send(s.fd, req + off, sizeof(req) - off, MSG_NOSIGNAL);
        if (n > 0)
            off = (off + (size_t)n) % sizeof(req);
        kk_reactor_poll_once(reactor);
        if (s.e.conn) {
            struct ofp_conn_stats st;
            ofp_conn_get_stats(s.e.conn, &st);
            max_queued = KK_MAX(max_queued, st.output_queued);
        }
    }
    assert_int_equal(s.e.disconnected, 1);
    assert_non_null(strstr(s.e.reason, "does not read"));
    assert_true(max_queued > 4096);
    assert_true(max_queued <= 2 * 4096);
    assert_int_equal(s.e.messages, 0);
    session_close(&s);
}

static void test_disconnect_reported_later(void **state)
{
    (void)state;
    struct events ce = {0}, se = {0};
    struct ofp_conn_opts o = test_opts();
    char path[256], target[300];
    struct ofp_listener *l = listen_unix("r.sock", &o, &se, path, sizeof(path));
    snprintf(target, sizeof(target), "unix:%s", path);
    struct ofp_conn *c;
    assert_int_equal(ofp_conn_create(reactor, target, &o, &callbacks, &ce, &c), 0);
    WAIT_FOR(ce.connected == 1);
    ofp_conn_disconnect(c, "switching controllers");
    assert_int_equal(ce.disconnected, 0); /* not inside the call */
    assert_int_equal(ofp_conn_state(c), OFP_CONN_BACKOFF);
    ofp_conn_disconnect(c, "again"); /* already down: nothing */
    WAIT_FOR(ce.disconnected == 1);
    assert_string_equal(ce.reason, "switching controllers");
    assert_int_equal(ce.disconnected_up, 1);
    WAIT_FOR(se.disconnected_up == 1);
    /* An active channel comes back after its backoff. */
    WAIT_FOR(ce.connected == 2);
    pump_ms(20);
    assert_int_equal(ce.disconnected, 1);
    ofp_conn_destroy(c);
    ofp_listener_destroy(l);
}

/* ---- callbacks that destroy --------------------------------------------- */

static void test_destroy_inside_callbacks(void **state)
{
    (void)state;
    struct events se = {0}, ce = {0};
    struct ofp_conn_opts o = test_opts();
    char path[256], target[300];
    struct ofp_listener *l = listen_unix("d.sock", &o, &se, path, sizeof(path));
    snprintf(target, sizeof(target), "unix:%s", path);

    /* The server destroys its channel while handling a message (with more
     * messages in the same read behind it). */
    se.destroy_on_message = true;
    struct ofp_conn *c;
    assert_int_equal(ofp_conn_create(reactor, target, &o, &callbacks, &ce, &c), 0);
    WAIT_FOR(ce.connected == 1 && se.connected == 1);
    uint8_t msg[8];
    for (int i = 0; i < 3; i++)
        assert_int_equal(ofp_conn_send(c, msg, mk_msg(msg, 4, 20, 8, (uint32_t)i)), 0);
    WAIT_FOR(ce.disconnected_up == 1);
    assert_int_equal(se.messages, 1);
    assert_int_equal(se.disconnected, 0);

    /* The client destroys itself when disconnected. */
    ce.destroy_on_disconnect = true;
    se.destroy_on_message = false;
    WAIT_FOR(ce.connected == 2);
    ofp_listener_destroy(l);
    WAIT_FOR(ce.disconnected == 2);
    pump_ms(50);
    assert_int_equal(ce.disconnected, 2);

    /* A listener destroyed in its own channel's connected callback. */
    struct events e2 = {0};
    l = listen_unix("d2.sock", &o, &e2, path, sizeof(path));
    e2.destroy_listener_on_connect = &l;
    snprintf(target, sizeof(target), "unix:%s", path);
    struct events ce2 = {0};
    assert_int_equal(ofp_conn_create(reactor, target, &o, &callbacks, &ce2, &c), 0);
    WAIT_FOR(e2.connected == 1 && l == NULL);
    WAIT_FOR(ce2.disconnected_up == 1);
    ofp_conn_destroy(c);
    events_free(&se);
    events_free(&ce);
}

/* ---- roles -------------------------------------------------------------- */

static void test_roles(void **state)
{
    (void)state;
    struct events e = {0};
    struct ofp_conn_opts o = test_opts();
    struct ofp_role_group *g;
    assert_int_equal(ofp_role_group_create(&g), 0);
    o.role_group = g;
    struct ofp_conn *a, *b, *lone;
    assert_int_equal(ofp_conn_create(reactor, "tcp:127.0.0.1:1", &o, &callbacks, &e, &a), 0);
    assert_int_equal(ofp_conn_create(reactor, "tcp:127.0.0.1:2", &o, &callbacks, &e, &b), 0);
    o.role_group = NULL;
    assert_int_equal(ofp_conn_create(reactor, "tcp:127.0.0.1:3", &o, &callbacks, &e, &lone), 0);
    enum ofp_conn_role r;
    uint64_t gen;

    assert_int_equal(ofp_conn_role(a), OFP_CONN_ROLE_EQUAL);
    assert_false(ofp_role_group_generation(g, &gen));
    assert_int_equal(ofp_conn_request_role(a, (enum ofp_conn_role)7, 1, &r), -EINVAL);
    assert_int_equal(ofp_conn_request_role(a, OFP_CONN_ROLE_NOCHANGE, 0, &r), 0);
    assert_int_equal(r, OFP_CONN_ROLE_EQUAL);
    assert_false(ofp_role_group_generation(g, &gen)); /* NOCHANGE sets none */

    assert_int_equal(ofp_conn_request_role(a, OFP_CONN_ROLE_MASTER, 5, &r), 0);
    assert_int_equal(r, OFP_CONN_ROLE_MASTER);
    assert_true(ofp_role_group_generation(g, &gen));
    assert_int_equal(gen, 5);
    /* A newer master demotes the old one. */
    assert_int_equal(ofp_conn_request_role(b, OFP_CONN_ROLE_MASTER, 6, &r), 0);
    assert_int_equal(ofp_conn_role(a), OFP_CONN_ROLE_SLAVE);
    assert_int_equal(ofp_conn_role(b), OFP_CONN_ROLE_MASTER);
    /* Stale: refused, nothing changes. */
    assert_int_equal(ofp_conn_request_role(a, OFP_CONN_ROLE_MASTER, 4, &r), -ESTALE);
    assert_int_equal(r, OFP_CONN_ROLE_SLAVE);
    assert_int_equal(ofp_conn_request_role(a, OFP_CONN_ROLE_SLAVE, 5, &r), -ESTALE);
    assert_int_equal(ofp_conn_role(b), OFP_CONN_ROLE_MASTER);
    assert_true(ofp_role_group_generation(g, &gen));
    assert_int_equal(gen, 6);
    /* The same generation is not stale; EQUAL is never checked. */
    assert_int_equal(ofp_conn_request_role(a, OFP_CONN_ROLE_SLAVE, 6, &r), 0);
    assert_int_equal(ofp_conn_request_role(a, OFP_CONN_ROLE_EQUAL, 0, &r), 0);
    assert_int_equal(r, OFP_CONN_ROLE_EQUAL);
    assert_int_equal(ofp_conn_role(b), OFP_CONN_ROLE_MASTER);
    /* Generation ids wrap: distance, not magnitude. */
    assert_int_equal(ofp_conn_request_role(a, OFP_CONN_ROLE_MASTER, UINT64_MAX - 1, &r), -ESTALE);
    assert_int_equal(ofp_conn_request_role(a, OFP_CONN_ROLE_MASTER, 6 + (1ull << 62), &r), 0);
    assert_int_equal(ofp_conn_request_role(b, OFP_CONN_ROLE_MASTER, 5, &r), -ESTALE);
    assert_int_equal(ofp_conn_request_role(b, OFP_CONN_ROLE_MASTER, 6 + (1ull << 62) + (1ull << 63) - 1, &r), 0);
    assert_int_equal(ofp_conn_role(a), OFP_CONN_ROLE_SLAVE);
    /* A channel outside the group keeps its own generation and masters alone. */
    assert_int_equal(ofp_conn_request_role(lone, OFP_CONN_ROLE_MASTER, 1, &r), 0);
    assert_int_equal(ofp_conn_role(b), OFP_CONN_ROLE_MASTER);
    assert_int_equal(ofp_conn_request_role(lone, OFP_CONN_ROLE_SLAVE, 0, &r), -ESTALE);
    /* Joining later; leaving; the group going away first. */
    ofp_conn_set_role_group(lone, g);
    assert_int_equal(ofp_conn_request_role(lone, OFP_CONN_ROLE_MASTER, 6 + (1ull << 62) + (1ull << 63), &r), 0);
    assert_int_equal(ofp_conn_role(b), OFP_CONN_ROLE_SLAVE);
    ofp_conn_set_role_group(lone, NULL);
    ofp_conn_destroy(a);
    ofp_role_group_destroy(g);
    assert_int_equal(ofp_conn_request_role(b, OFP_CONN_ROLE_MASTER, 0, &r), 0);
    assert_int_equal(ofp_conn_role(lone), OFP_CONN_ROLE_MASTER); /* no group: no demotion */
    ofp_conn_destroy(b);
    ofp_conn_destroy(lone);
    assert_string_equal(ofp_conn_role_name(OFP_CONN_ROLE_SLAVE), "slave");
    assert_string_equal(ofp_conn_state_name(OFP_CONN_BACKOFF), "BACKOFF");
}

/* ---- a real peer: ovs-ofctl --------------------------------------------- */

static const char *find_ovs_ofctl(void)
{
    static const char *paths[] = {"/usr/bin/ovs-ofctl", "/usr/local/bin/ovs-ofctl"};
    for (size_t i = 0; i < KK_ARRAY_SIZE(paths); i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* Run ovs-ofctl on our punix: listener while pumping the reactor; returns
 * its exit status (or -1 if it had to be killed). */
static int run_ofctl(const char *ofctl, const char *version, const char *cmd, const char *path,
                     struct events *e, bool stop_on_features)
{
    char target[300];
    snprintf(target, sizeof(target), "unix:%s", path);
    char *argv[] = {(char *)(uintptr_t)"ovs-ofctl", (char *)(uintptr_t)"-O",
                    (char *)(uintptr_t)version,      (char *)(uintptr_t)"-t",
                    (char *)(uintptr_t)"5",          (char *)(uintptr_t)cmd,
                    target,                          NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, ofctl, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
    int status = 0;
    uint64_t end = kk_now_us() + 10ull * 1000 * 1000;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (stop_on_features && e->conn && e->messages > 0) {
            ofp_conn_destroy(e->conn); /* nothing here answers it */
            e->conn = NULL;
        }
        if (kk_now_us() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        pump();
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_ovs_ofctl_peer(void **state)
{
    (void)state;
    const char *ofctl = find_ovs_ofctl();
    if (!ofctl) {
        print_message("# ovs-ofctl not installed: skipped\n");
        skip();
    }
    static const struct {
        const char *version;
        uint8_t expect;
    } cases[] = {
        {"OpenFlow13", 4},
        {"OpenFlow10", 1},
        {"OpenFlow10,OpenFlow13", 4},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        struct events e = {0};
        struct ofp_conn_opts o = test_opts();
        char path[256];
        struct ofp_listener *l = listen_unix("br0.mgmt", &o, &e, path, sizeof(path));

        /* probe: HELLO, then an echo request that the layer answers. */
        int rc = run_ofctl(ofctl, cases[i].version, "probe", path, &e, false);
        assert_int_equal(rc, 0);
        assert_int_equal(e.connected, 1);
        assert_int_equal(e.version, cases[i].expect);
        assert_int_equal(e.messages, 0); /* the echo never reached us */

        /* show: its next message is a FEATURES_REQUEST; nothing answers it. */
        memset(&e, 0, sizeof(e));
        rc = run_ofctl(ofctl, cases[i].version, "show", path, &e, true);
        assert_int_not_equal(rc, 0);
        assert_int_equal(e.connected, 1);
        assert_int_equal(e.version, cases[i].expect);
        assert_true(e.messages >= 1);
        assert_int_equal(e.types[0], T_FEATURES_REQUEST);
        assert_int_equal(e.data[0], cases[i].expect);
        events_free(&e);
        ofp_listener_destroy(l);
    }
}

int main(void)
{
    srand((unsigned)time(NULL));
    /* KK_LOG=info (or ofconn=debug) shows what the channels do. */
    kk_log_set_levels(getenv("KK_LOG") ? getenv("KK_LOG") : "warn");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target_parse_rejects),
        cmocka_unit_test(test_target_parse_accepts),
        cmocka_unit_test_setup_teardown(test_bad_options_and_targets_refused, setup, teardown),
        cmocka_unit_test(test_hello_encode),
        cmocka_unit_test(test_hello_negotiate_table),
        cmocka_unit_test_setup_teardown(test_hello_incompatible_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello_negotiation_over_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_hello_first_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_lengths_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_framing_byte_by_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_framing_many_in_one_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_probe_then_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_answered_stays_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_with_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ptcp_connection_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_punix_many_channels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loopback_transports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ssl_bad_keys_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ssl_connects_and_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_queue_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo_flood_stays_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_reported_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_inside_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ovs_ofctl_peer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
