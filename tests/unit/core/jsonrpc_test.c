/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "jsonrpc_internal.h"
#include "kk_jsonrpc.h"
#include "kk_reactor.h"
#include "kk_test.h"

/* ---- framer ---- */

static void test_framer_rejects_garbage_and_deep_nesting(void **state)
{
    struct kk__json_framer f;
    size_t b, e;
    kk__json_framer_init(&f, 4);
    assert_int_equal(kk__json_framer_next(&f, "  42", 4, &b, &e), -EPROTO);
    kk__json_framer_init(&f, 4);
    assert_int_equal(kk__json_framer_next(&f, "\"str\"", 5, &b, &e), -EPROTO);
    kk__json_framer_init(&f, 4);
    assert_int_equal(kk__json_framer_next(&f, "[[[[[", 5, &b, &e), -E2BIG);
    kk__json_framer_init(&f, 4);
    assert_int_equal(kk__json_framer_next(&f, "[[[[]]]]", 8, &b, &e), 1);
}

static void test_framer_splits_stream(void **state)
{
    /* Braces and escaped quotes inside strings do not count. */
    const char *s = " {\"a\":\"}{\\\"\"}\n[1,{\"b\":[2]}] {\"c\":\"\\\\\"}";
    struct kk__json_framer f;
    kk__json_framer_init(&f, 16);
    size_t b, e, len = strlen(s);
    assert_int_equal(kk__json_framer_next(&f, s, len, &b, &e), 1);
    assert_int_equal(e - b, strlen("{\"a\":\"}{\\\"\"}"));
    assert_memory_equal(s + b, "{\"a\":\"}{\\\"\"}", e - b);
    assert_int_equal(kk__json_framer_next(&f, s, len, &b, &e), 1);
    assert_memory_equal(s + b, "[1,{\"b\":[2]}]", e - b);
    assert_int_equal(kk__json_framer_next(&f, s, len, &b, &e), 1);
    assert_memory_equal(s + b, "{\"c\":\"\\\\\"}", e - b);
    assert_int_equal(kk__json_framer_next(&f, s, len, &b, &e), 0);
}

static void test_framer_byte_at_a_time(void **state)
{
    const char *s = "{\"x\":[1,2,{\"y\":\"]\"}]}";
    size_t len = strlen(s);
    struct kk__json_framer f;
    kk__json_framer_init(&f, 16);
    size_t b, e;
    for (size_t i = 1; i < len; i++)
        assert_int_equal(kk__json_framer_next(&f, s, i, &b, &e), 0);
    assert_int_equal(kk__json_framer_next(&f, s, len, &b, &e), 1);
    assert_int_equal(b, 0);
    assert_int_equal(e, len);
}

/* ---- detached server: protocol behaviour ---- */

struct capture {
    char buf[65536];
    size_t len;
};

static void capture_out(void *arg, const char *data, size_t len)
{
    struct capture *c = arg;
    assert_true(c->len + len < sizeof(c->buf));
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    c->buf[c->len] = '\0';
}

/* Parse everything captured so far as a sequence of JSON values. */
static json_t *take_reply(struct capture *c)
{
    json_error_t err;
    json_t *v = json_loadb(c->buf, c->len, JSON_DISABLE_EOF_CHECK, &err);
    if (!v)
        return NULL;
    size_t used = err.position;
    while (used < c->len && (c->buf[used] == '\n' || c->buf[used] == ' '))
        used++;
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    c->buf[c->len] = '\0';
    return v;
}

static void echo(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    (void)arg;
    kk_jsonrpc_respond(req, params ? json_deep_copy(params) : NULL);
}

static void add(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    int a, b;
    if (kk_jsonrpc_unpack(req, params, "{s:i, s:i !}", "a", &a, "b", &b) < 0)
        return;
    kk_jsonrpc_respond(req, json_integer(a + b));
}

static void fail_enoent(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    kk_jsonrpc_respond_errno(req, -ENOENT, "no such bridge: %s", "br9");
}

struct detached {
    struct kk_jsonrpc_server *s;
    struct capture cap;
};

static int setup_detached(void **state)
{
    struct detached *d = calloc(1, sizeof(*d));
    assert_int_equal(kk_jsonrpc_server_create_detached(NULL, capture_out, &d->cap, &d->s), 0);
    assert_int_equal(kk_jsonrpc_register(d->s, "echo", echo, NULL, "echo params"), 0);
    assert_int_equal(kk_jsonrpc_register(d->s, "add", add, NULL, "a + b"), 0);
    assert_int_equal(kk_jsonrpc_register(d->s, "fail", fail_enoent, NULL, "always ENOENT"), 0);
    assert_int_equal(kk_jsonrpc_register(d->s, "echo", echo, NULL, "dup"), -EEXIST);
    *state = d;
    return 0;
}

static int teardown_detached(void **state)
{
    struct detached *d = *state;
    kk_jsonrpc_server_destroy(d->s);
    free(d);
    return 0;
}

static json_t *roundtrip(struct detached *d, const char *text)
{
    assert_int_equal(kk_jsonrpc_server_feed(d->s, text, strlen(text)), 0);
    return take_reply(&d->cap);
}

static void assert_error(json_t *reply, int code, const char *id_or_null)
{
    assert_non_null(reply);
    assert_string_equal(json_string_value(json_object_get(reply, "jsonrpc")), "2.0");
    json_t *e = json_object_get(reply, "error");
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "code")), code);
    assert_true(json_is_string(json_object_get(e, "message")));
    json_t *id = json_object_get(reply, "id");
    assert_non_null(id);
    if (id_or_null)
        assert_string_equal(json_string_value(id), id_or_null);
    else
        assert_true(json_is_null(id));
    assert_null(json_object_get(reply, "result"));
}

static void test_malformed_json_is_parse_error_and_stream_continues(void **state)
{
    struct detached *d = *state;
    json_t *r = roundtrip(d, "{\"jsonrpc\":\"2.0\",\"method\":}");
    assert_error(r, KK_JSONRPC_PARSE_ERROR, NULL);
    json_decref(r);
    r = roundtrip(d, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":\"x\",\"id\":\"y\"}");
    assert_error(r, KK_JSONRPC_PARSE_ERROR, NULL); /* duplicate keys */
    json_decref(r);
    r = roundtrip(d, "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":{\"a\":2,\"b\":3},\"id\":7}");
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "result")), 5);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
    json_decref(r);
}

static void test_invalid_requests(void **state)
{
    struct detached *d = *state;
    static const struct {
        const char *text;
        const char *id;
    } cases[] = {
        {"{\"method\":\"echo\",\"id\":\"a\"}", "a"},                         /* no jsonrpc */
        {"{\"jsonrpc\":\"1.0\",\"method\":\"echo\",\"id\":\"b\"}", "b"},     /* wrong version */
        {"{\"jsonrpc\":\"2.0\",\"id\":\"c\"}", "c"},                         /* no method */
        {"{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":\"d\"}", "d"},            /* method not string */
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":3,\"id\":\"e\"}", "e"},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":{}}", NULL},       /* bad id type */
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":true}", NULL},
        {"[]", NULL},                                                        /* empty batch */
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        json_t *r = roundtrip(d, cases[i].text);
        assert_error(r, KK_JSONRPC_INVALID_REQUEST, cases[i].id);
        json_decref(r);
    }
}

static void test_method_errors(void **state)
{
    struct detached *d = *state;
    json_t *r = roundtrip(d, "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":\"m\"}");
    assert_error(r, KK_JSONRPC_METHOD_NOT_FOUND, "m");
    json_decref(r);

    r = roundtrip(d, "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":{\"a\":1},\"id\":\"p\"}");
    assert_error(r, KK_JSONRPC_INVALID_PARAMS, "p");
    json_decref(r);
    r = roundtrip(d, "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":{\"a\":1,\"b\":2,\"c\":3},\"id\":\"q\"}");
    assert_error(r, KK_JSONRPC_INVALID_PARAMS, "q"); /* unknown member rejected */
    json_decref(r);
    r = roundtrip(d, "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":{\"a\":\"1\",\"b\":2},\"id\":\"t\"}");
    assert_error(r, KK_JSONRPC_INVALID_PARAMS, "t");
    json_decref(r);

    r = roundtrip(d, "{\"jsonrpc\":\"2.0\",\"method\":\"fail\",\"id\":\"f\"}");
    assert_error(r, KK_JSONRPC_SERVER_ERROR, "f");
    json_t *e = json_object_get(r, "error");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "data"), "errno")),
                        "ENOENT");
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "br9"));
    json_decref(r);
}

static void test_notifications_get_no_reply(void **state)
{
    struct detached *d = *state;
    const char *n = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1]}"
                    "{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}";
    assert_int_equal(kk_jsonrpc_server_feed(d->s, n, strlen(n)), 0);
    assert_int_equal(d->cap.len, 0);
    /* A batch of notifications only: no reply at all. */
    const char *b = "[{\"jsonrpc\":\"2.0\",\"method\":\"echo\"},{\"jsonrpc\":\"2.0\",\"method\":\"x\"}]";
    assert_int_equal(kk_jsonrpc_server_feed(d->s, b, strlen(b)), 0);
    assert_int_equal(d->cap.len, 0);
    /* id null is a request, not a notification. */
    json_t *r = roundtrip(d, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[9],\"id\":null}");
    assert_non_null(r);
    assert_true(json_is_null(json_object_get(r, "id")));
    assert_int_equal(json_integer_value(json_array_get(json_object_get(r, "result"), 0)), 9);
    json_decref(r);
}

static void test_batch_replies_in_order_without_notifications(void **state)
{
    struct detached *d = *state;
    json_t *r = roundtrip(d, "[{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":{\"a\":1,\"b\":1},\"id\":1},"
                             " {\"jsonrpc\":\"2.0\",\"method\":\"echo\"},"
                             " 17,"
                             " {\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":\"z\"},"
                             " {\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"k\":\"v\"},\"id\":3}]");
    assert_non_null(r);
    assert_true(json_is_array(r));
    assert_int_equal(json_array_size(r), 4);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 0), "result")), 2);
    assert_error(json_array_get(r, 1), KK_JSONRPC_INVALID_REQUEST, NULL);
    assert_error(json_array_get(r, 2), KK_JSONRPC_METHOD_NOT_FOUND, "z");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(r, 3), "result"), "k")),
                        "v");
    json_decref(r);
}

static void test_garbage_between_texts_breaks_the_stream(void **state)
{
    struct detached *d = *state;
    const char *t = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1} hello";
    assert_int_equal(kk_jsonrpc_server_feed(d->s, t, strlen(t)), -EPROTO);
    json_t *r = take_reply(&d->cap);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
    json_decref(r);
    r = take_reply(&d->cap);
    assert_error(r, KK_JSONRPC_PARSE_ERROR, NULL);
    json_decref(r);
    assert_int_equal(kk_jsonrpc_server_feed(d->s, "{}", 2), -EPROTO);
    kk_jsonrpc_server_reset_input(d->s);
    r = roundtrip(d, "{\"jsonrpc\":\"2.0\",\"method\":\"rpc.methods\",\"id\":2}");
    json_t *list = json_object_get(r, "result");
    assert_int_equal(json_array_size(list), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "method")),
                        "rpc.methods");
    json_decref(r);
}

static void test_partial_input_is_kept(void **state)
{
    struct detached *d = *state;
    const char *t = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[\"a}b\"],\"id\":5}";
    for (size_t i = 0; i < strlen(t); i++) {
        assert_int_equal(kk_jsonrpc_server_feed(d->s, t + i, 1), 0);
        if (i + 1 < strlen(t))
            assert_int_equal(d->cap.len, 0);
    }
    json_t *r = take_reply(&d->cap);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "result"), 0)),
                        "a}b");
    json_decref(r);
}

static void test_oversized_message_is_refused(void **state)
{
    struct kk_jsonrpc_server_opts o;
    kk_jsonrpc_server_opts_init(&o);
    o.max_message = 1024;
    struct capture *cap = calloc(1, sizeof(*cap));
    struct kk_jsonrpc_server *s;
    assert_int_equal(kk_jsonrpc_server_create_detached(&o, capture_out, cap, &s), 0);
    char big[2048];
    big[0] = '[';
    memset(big + 1, ' ', sizeof(big) - 1);
    assert_int_equal(kk_jsonrpc_server_feed(s, big, sizeof(big)), -EPROTO);
    json_t *r = take_reply(cap);
    assert_error(r, KK_JSONRPC_INVALID_REQUEST, NULL);
    json_decref(r);
    kk_jsonrpc_server_destroy(s);
    free(cap);
}

/* ---- real sockets ---- */

struct live {
    char *dir;
    char path[256];
    struct kk_reactor *r;
    struct kk_jsonrpc_server *s;
    struct kk_jsonrpc_request *parked; /* answered later by a timer */
    struct kk_timer *later;
    int late_answers;
};

static void answer_later(void *arg)
{
    struct live *l = arg;
    if (l->parked) {
        kk_jsonrpc_respond(l->parked, json_string("late"));
        l->parked = NULL;
        l->late_answers++;
    }
}

static void slow(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct live *l = arg;
    l->parked = req;
    kk_timer_arm(l->later, 50000, 0);
}

static void get_late_answers(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct live *l = arg;
    kk_jsonrpc_respond(req, json_integer(l->late_answers));
}

/* Server objects are created on the test thread before the reactor runs,
 * which the reactor's contract allows. */
static int setup_live(void **state)
{
    struct live *l = calloc(1, sizeof(*l));
    l->dir = kk_test_mkdtemp();
    snprintf(l->path, sizeof(l->path), "%s/ctl.sock", l->dir);
    assert_int_equal(kk_reactor_create(NULL, &l->r), 0);
    struct kk_jsonrpc_server_opts o;
    kk_jsonrpc_server_opts_init(&o);
    o.max_connections = 4;
    assert_int_equal(kk_jsonrpc_server_create(l->r, l->path, &o, &l->s), 0);
    assert_int_equal(kk_timer_create(l->r, answer_later, l, &l->later), 0);
    assert_int_equal(kk_jsonrpc_register(l->s, "echo", echo, NULL, "echo"), 0);
    assert_int_equal(kk_jsonrpc_register(l->s, "add", add, NULL, "add"), 0);
    assert_int_equal(kk_jsonrpc_register(l->s, "slow", slow, l, "answers after 50 ms"), 0);
    assert_int_equal(kk_jsonrpc_register(l->s, "late_answers", get_late_answers, l, ""), 0);
    assert_int_equal(kk_reactor_spawn(l->r, -1), 0);
    *state = l;
    return 0;
}

static void destroy_server(void *arg)
{
    struct live *l = arg;
    kk_jsonrpc_server_destroy(l->s);
    l->s = NULL;
}

static int teardown_live(void **state)
{
    struct live *l = *state;
    /* The server belongs to the reactor thread: destroy it there. */
    kk_reactor_send(l->r, destroy_server, l);
    kk_reactor_join(l->r);
    struct stat st;
    assert_int_equal(stat(l->path, &st), -1); /* socket file removed */
    kk_reactor_destroy(l->r);
    kk_test_rmdir(l->dir);
    free(l);
    return 0;
}

static void test_socket_round_trip(void **state)
{
    struct live *l = *state;
    struct kk_jsonrpc_client *c;
    assert_int_equal(kk_jsonrpc_client_connect(l->path, &c), 0);
    json_t *result, *error;
    assert_int_equal(kk_jsonrpc_client_call(c, "add", json_pack("{s:i,s:i}", "a", 40, "b", 2),
                                            5000, &result, &error),
                     0);
    assert_int_equal(json_integer_value(result), 42);
    json_decref(result);
    assert_int_equal(kk_jsonrpc_client_call(c, "nope", NULL, 5000, &result, &error), -EREMOTEIO);
    assert_int_equal(json_integer_value(json_object_get(error, "code")),
                     KK_JSONRPC_METHOD_NOT_FOUND);
    json_decref(error);
    /* A big payload crosses several reads and writes. */
    json_t *arr = json_array();
    for (int i = 0; i < 50000; i++)
        json_array_append_new(arr, json_integer(i));
    assert_int_equal(kk_jsonrpc_client_call(c, "echo", arr, 10000, &result, NULL), 0);
    assert_int_equal(json_array_size(result), 50000);
    assert_int_equal(json_integer_value(json_array_get(result, 49999)), 49999);
    json_decref(result);
    kk_jsonrpc_client_close(c);
}

static void test_server_survives_garbage_and_disconnects(void **state)
{
    struct live *l = *state;
    struct kk_jsonrpc_client *c;
    assert_int_equal(kk_jsonrpc_client_connect(l->path, &c), 0);
    assert_int_equal(kk_jsonrpc_client_send_raw(c, "\x01\x02 garbage", 10), 0);
    json_t *v;
    assert_int_equal(kk_jsonrpc_client_recv(c, 5000, &v), 0);
    assert_error(v, KK_JSONRPC_PARSE_ERROR, NULL);
    json_decref(v);
    /* Then the server hangs up on this stream. */
    assert_int_equal(kk_jsonrpc_client_recv(c, 5000, &v), -ECONNRESET);
    kk_jsonrpc_client_close(c);

    /* A client that leaves with a request in flight: the answer, given
     * later, is dropped and the server carries on. */
    assert_int_equal(kk_jsonrpc_client_connect(l->path, &c), 0);
    const char *req = "{\"jsonrpc\":\"2.0\",\"method\":\"slow\",\"id\":1}";
    assert_int_equal(kk_jsonrpc_client_send_raw(c, req, strlen(req)), 0);
    usleep(10000);
    kk_jsonrpc_client_close(c);
    usleep(100000);

    assert_int_equal(kk_jsonrpc_client_connect(l->path, &c), 0);
    json_t *result;
    assert_int_equal(kk_jsonrpc_client_call(c, "late_answers", NULL, 5000, &result, NULL), 0);
    assert_int_equal(json_integer_value(result), 1);
    json_decref(result);
    /* And an async answer to a client that waits for it arrives. */
    assert_int_equal(kk_jsonrpc_client_call(c, "slow", NULL, 5000, &result, NULL), 0);
    assert_string_equal(json_string_value(result), "late");
    json_decref(result);
    kk_jsonrpc_client_close(c);
}

static void test_connection_limit(void **state)
{
    struct live *l = *state;
    struct kk_jsonrpc_client *c[5];
    for (int i = 0; i < 5; i++)
        assert_int_equal(kk_jsonrpc_client_connect(l->path, &c[i]), 0);
    /* The fifth is accepted and closed at once; the first four work. */
    json_t *v;
    assert_int_equal(kk_jsonrpc_client_recv(c[4], 5000, &v), -ECONNRESET);
    for (int i = 0; i < 4; i++) {
        json_t *result;
        assert_int_equal(kk_jsonrpc_client_call(c[i], "echo", json_pack("[i]", i), 5000, &result,
                                                NULL),
                         0);
        assert_int_equal(json_integer_value(json_array_get(result, 0)), i);
        json_decref(result);
    }
    for (int i = 0; i < 5; i++)
        kk_jsonrpc_client_close(c[i]);
}

static void test_socket_path_rules(void **state)
{
    struct live *l = *state;
    struct kk_reactor *r;
    assert_int_equal(kk_reactor_create(NULL, &r), 0);
    struct kk_jsonrpc_server *s;
    /* Someone is listening there. */
    assert_int_equal(kk_jsonrpc_server_create(r, l->path, NULL, &s), -EADDRINUSE);
    /* A stale socket file is replaced. */
    char stale[300];
    snprintf(stale, sizeof(stale), "%s/stale.sock", l->dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, stale);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
    assert_int_equal(kk_jsonrpc_server_create(r, stale, NULL, &s), 0);
    kk_jsonrpc_server_destroy(s);
    /* A regular file is never clobbered. */
    char file[300];
    snprintf(file, sizeof(file), "%s/file", l->dir);
    FILE *f = fopen(file, "w");
    fclose(f);
    assert_int_equal(kk_jsonrpc_server_create(r, file, NULL, &s), -EEXIST);
    unlink(file);
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(kk_jsonrpc_server_create(r, longpath, NULL, &s), -EINVAL);
    kk_reactor_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framer_rejects_garbage_and_deep_nesting),
        cmocka_unit_test(test_framer_splits_stream),
        cmocka_unit_test(test_framer_byte_at_a_time),
        cmocka_unit_test_setup_teardown(test_malformed_json_is_parse_error_and_stream_continues,
                                        setup_detached, teardown_detached),
        cmocka_unit_test_setup_teardown(test_invalid_requests, setup_detached, teardown_detached),
        cmocka_unit_test_setup_teardown(test_method_errors, setup_detached, teardown_detached),
        cmocka_unit_test_setup_teardown(test_notifications_get_no_reply, setup_detached,
                                        teardown_detached),
        cmocka_unit_test_setup_teardown(test_batch_replies_in_order_without_notifications,
                                        setup_detached, teardown_detached),
        cmocka_unit_test_setup_teardown(test_garbage_between_texts_breaks_the_stream,
                                        setup_detached, teardown_detached),
        cmocka_unit_test_setup_teardown(test_partial_input_is_kept, setup_detached,
                                        teardown_detached),
        cmocka_unit_test(test_oversized_message_is_refused),
        cmocka_unit_test_setup_teardown(test_socket_round_trip, setup_live, teardown_live),
        cmocka_unit_test_setup_teardown(test_server_survives_garbage_and_disconnects, setup_live,
                                        teardown_live),
        cmocka_unit_test_setup_teardown(test_connection_limit, setup_live, teardown_live),
        cmocka_unit_test_setup_teardown(test_socket_path_rules, setup_live, teardown_live),
    };
    return cmocka_run_group_tests_name("jsonrpc", tests, NULL, NULL);
}
