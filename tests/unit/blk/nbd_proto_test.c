/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nbd_proto: option and request parsing with every field validated
 * (negative cases first), request checks as a table of (request,
 * negotiated limits) -> verdict and wire error, and the encoders checked
 * byte for byte against hand-written wire images.
 */
#include <errno.h>

#include "kk_test.h"

#include "kk_common.h"
#include "nbd_proto.h"

static char why[256];

/* ---- handshake ------------------------------------------------------------------ */

static void test_client_flags(void **state)
{
    (void)state;
    bool nz = true;
    uint16_t offered = NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES;
    assert_int_equal(nbd_parse_client_flags(0x4, offered, &nz, why, sizeof(why)), -EPROTO);
    assert_int_equal(nbd_parse_client_flags(0x80000001u, offered, &nz, why, sizeof(why)),
                     -EPROTO);
    assert_int_equal(nbd_parse_client_flags(NBD_FLAG_C_NO_ZEROES, NBD_FLAG_FIXED_NEWSTYLE, &nz,
                                            why, sizeof(why)),
                     -EPROTO);
    assert_non_null(strstr(why, "NO_ZEROES"));
    assert_int_equal(nbd_parse_client_flags(3, offered, &nz, why, sizeof(why)), 0);
    assert_true(nz);
    assert_int_equal(nbd_parse_client_flags(1, offered, &nz, why, sizeof(why)), 0);
    assert_false(nz);
    assert_int_equal(nbd_parse_client_flags(0, offered, &nz, why, sizeof(why)), 0);
}

static void test_opt_header(void **state)
{
    (void)state;
    uint8_t b[16];
    struct nbd_opt_header h;
    nbd_put64(b, NBD_OPTS_MAGIC ^ 1);
    nbd_put32(b + 8, 7);
    nbd_put32(b + 12, 99);
    assert_int_equal(nbd_parse_opt_header(b, &h, why, sizeof(why)), -EPROTO);
    nbd_put64(b, NBD_OPTS_MAGIC);
    assert_int_equal(nbd_parse_opt_header(b, &h, why, sizeof(why)), 0);
    assert_int_equal(h.opt, 7);
    assert_int_equal(h.len, 99);
}

static void test_strings(void **state)
{
    (void)state;
    uint8_t big[NBD_MAX_STRING + 1];
    memset(big, 'a', sizeof(big));
    assert_int_equal(nbd_check_string(big, NBD_MAX_STRING + 1), -EINVAL);
    assert_int_equal(nbd_check_string(big, NBD_MAX_STRING), 0);
    assert_int_equal(nbd_check_string((const uint8_t *)"a\0b", 3), -EINVAL);
    assert_int_equal(nbd_check_string(NULL, 0), 0);
}

/* Build INFO/GO data: name, then the info types. */
static uint32_t info_data(uint8_t *b, const char *name, int n, const uint16_t *types)
{
    uint32_t nl = (uint32_t)strlen(name);
    nbd_put32(b, nl);
    memcpy(b + 4, name, nl);
    nbd_put16(b + 4 + nl, (uint16_t)n);
    for (int i = 0; i < n; i++)
        nbd_put16(b + 6 + nl + 2 * i, types[i]);
    return 6 + nl + 2u * (uint32_t)n;
}

static void test_info_request(void **state)
{
    (void)state;
    uint8_t b[256] = {0};
    struct nbd_info_request ir;
    /* negative: too short, name past the end, count disagreeing, NUL in name */
    assert_int_equal(nbd_parse_info_request(b, 5, &ir, why, sizeof(why)), -EINVAL);
    uint16_t t[3] = {NBD_INFO_BLOCK_SIZE, NBD_INFO_NAME, 77};
    uint32_t len = info_data(b, "disk", 3, t);
    assert_int_equal(nbd_parse_info_request(b, len - 1, &ir, why, sizeof(why)), -EINVAL);
    assert_int_equal(nbd_parse_info_request(b, len + 2, &ir, why, sizeof(why)), -EINVAL);
    nbd_put32(b, 1000);
    assert_int_equal(nbd_parse_info_request(b, len, &ir, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "runs past"));
    nbd_put32(b, 4);
    b[5] = 0;
    assert_int_equal(nbd_parse_info_request(b, len, &ir, why, sizeof(why)), -EINVAL);
    /* positive */
    len = info_data(b, "disk", 3, t);
    assert_int_equal(nbd_parse_info_request(b, len, &ir, why, sizeof(why)), 0);
    assert_int_equal(ir.name_len, 4);
    assert_memory_equal(ir.name, "disk", 4);
    assert_int_equal(ir.n_info, 3);
    assert_true(ir.want_block_size);
    assert_true(ir.want_name);
    assert_false(ir.want_description);
    len = info_data(b, "", 0, NULL);
    assert_int_equal(len, 6);
    assert_int_equal(nbd_parse_info_request(b, len, &ir, why, sizeof(why)), 0);
    assert_int_equal(ir.name_len, 0);
}

static uint32_t meta_data(uint8_t *b, const char *name, int n, const char *const *q)
{
    uint32_t nl = (uint32_t)strlen(name), pos = 0;
    nbd_put32(b, nl);
    memcpy(b + 4, name, nl);
    pos = 4 + nl;
    nbd_put32(b + pos, (uint32_t)n);
    pos += 4;
    for (int i = 0; i < n; i++) {
        uint32_t ql = (uint32_t)strlen(q[i]);
        nbd_put32(b + pos, ql);
        memcpy(b + pos + 4, q[i], ql);
        pos += 4 + ql;
    }
    return pos;
}

static void test_meta_request(void **state)
{
    (void)state;
    static uint8_t b[8192];
    static struct nbd_meta_request mr;
    const char *q[] = {"base:allocation", "qemu:dirty-bitmap:x", "base:"};
    uint32_t len = meta_data(b, "d0", 3, q);
    /* negative: short, truncated query, trailing bytes, too many queries */
    assert_int_equal(nbd_parse_meta_request(b, 7, &mr, why, sizeof(why)), -EINVAL);
    assert_int_equal(nbd_parse_meta_request(b, len - 1, &mr, why, sizeof(why)), -EINVAL);
    b[len] = 0;
    assert_int_equal(nbd_parse_meta_request(b, len + 1, &mr, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "after the last query"));
    nbd_put32(b + 6, NBD_MAX_META_QUERIES + 1);
    assert_int_equal(nbd_parse_meta_request(b, len, &mr, why, sizeof(why)), -E2BIG);
    nbd_put32(b + 6, 3);
    nbd_put32(b + 10, 0xffffffffu); /* first query's length */
    assert_int_equal(nbd_parse_meta_request(b, len, &mr, why, sizeof(why)), -EINVAL);
    /* positive */
    len = meta_data(b, "d0", 3, q);
    assert_int_equal(nbd_parse_meta_request(b, len, &mr, why, sizeof(why)), 0);
    assert_int_equal(mr.n_queries, 3);
    assert_int_equal(mr.query_len[1], strlen(q[1]));
    assert_true(nbd_meta_query_selects_base_allocation(mr.query[0], mr.query_len[0], false));
    assert_false(nbd_meta_query_selects_base_allocation(mr.query[1], mr.query_len[1], true));
    assert_false(nbd_meta_query_selects_base_allocation(mr.query[2], mr.query_len[2], false));
    assert_true(nbd_meta_query_selects_base_allocation(mr.query[2], mr.query_len[2], true));
    assert_false(nbd_meta_query_selects_base_allocation((const uint8_t *)"base:allocationX", 16,
                                                        true));
    len = meta_data(b, "", 0, NULL);
    assert_int_equal(nbd_parse_meta_request(b, len, &mr, why, sizeof(why)), 0);
    assert_int_equal(mr.n_queries, 0);
}

/* ---- requests ----------------------------------------------------------------------- */

#define SIZE (1u << 20)
#define RW_FLAGS (NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | \
                  NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_FAST_ZERO | \
                  NBD_FLAG_SEND_CACHE | NBD_FLAG_SEND_DF)

static const struct nbd_limits lim_rw = {SIZE, 512, 65536, RW_FLAGS, true, true};
static const struct nbd_limits lim_ro = {SIZE, 512, 65536,
                                         NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY |
                                             NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_CACHE,
                                         false, false};
static const struct nbd_limits lim_plain = {SIZE, 512, 65536,
                                            NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH, false,
                                            false};

static const struct check_case {
    const char *what;
    const struct nbd_limits *lim;
    uint16_t type, flags;
    uint64_t offset;
    uint32_t len;
    enum nbd_verdict verdict;
    uint32_t error;
} checks[] = {
    /* negative cases first */
    {"unknown command", &lim_rw, 9, 0, 0, 512, NBD_ERROR, NBD_EINVAL},
    {"unknown flag", &lim_rw, NBD_CMD_READ, 0x40, 0, 512, NBD_ERROR, NBD_EINVAL},
    {"REQ_ONE on READ", &lim_rw, NBD_CMD_READ, NBD_CMD_FLAG_REQ_ONE, 0, 512, NBD_ERROR, NBD_EINVAL},
    {"NO_HOLE on WRITE", &lim_rw, NBD_CMD_WRITE, NBD_CMD_FLAG_NO_HOLE, 0, 512, NBD_ERROR, NBD_EINVAL},
    {"FUA not offered", &lim_plain, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 0, 512, NBD_ERROR, NBD_EINVAL},
    {"DF not offered", &lim_plain, NBD_CMD_READ, NBD_CMD_FLAG_DF, 0, 512, NBD_ERROR, NBD_EINVAL},
    {"read past end", &lim_rw, NBD_CMD_READ, 0, SIZE - 512, 1024, NBD_ERROR, NBD_EINVAL},
    {"read at end", &lim_rw, NBD_CMD_READ, 0, SIZE, 512, NBD_ERROR, NBD_EINVAL},
    {"offset overflow", &lim_rw, NBD_CMD_READ, 0, UINT64_MAX - 511, 1024, NBD_ERROR, NBD_EINVAL},
    {"write past end", &lim_rw, NBD_CMD_WRITE, 0, SIZE, 512, NBD_ERROR, NBD_ENOSPC},
    {"zeroes past end", &lim_rw, NBD_CMD_WRITE_ZEROES, 0, SIZE - 512, 4096, NBD_ERROR, NBD_ENOSPC},
    {"trim past end", &lim_rw, NBD_CMD_TRIM, 0, SIZE, 512, NBD_ERROR, NBD_EINVAL},
    {"unaligned offset", &lim_rw, NBD_CMD_READ, 0, 1, 512, NBD_ERROR, NBD_EINVAL},
    {"unaligned length", &lim_rw, NBD_CMD_WRITE, 0, 0, 513, NBD_ERROR, NBD_EINVAL},
    {"zero length read", &lim_rw, NBD_CMD_READ, 0, 0, 0, NBD_ERROR, NBD_EINVAL},
    {"read too large", &lim_rw, NBD_CMD_READ, 0, 0, 65536 + 512, NBD_ERROR, NBD_EINVAL},
    {"write too large to skip", &lim_rw, NBD_CMD_WRITE, 0, 0, 65536 + 512, NBD_ERROR_CLOSE,
     NBD_EINVAL},
    {"bad write too large", &lim_rw, NBD_CMD_WRITE, 0x80, 0, 1u << 31, NBD_ERROR_CLOSE, NBD_EINVAL},
    {"flush with offset", &lim_rw, NBD_CMD_FLUSH, 0, 512, 0, NBD_ERROR, NBD_EINVAL},
    {"flush with length", &lim_rw, NBD_CMD_FLUSH, 0, 0, 512, NBD_ERROR, NBD_EINVAL},
    {"write on read-only", &lim_ro, NBD_CMD_WRITE, 0, 0, 512, NBD_ERROR, NBD_EPERM},
    {"trim on read-only", &lim_ro, NBD_CMD_TRIM, 0, 0, 512, NBD_ERROR, NBD_EPERM},
    {"zeroes on read-only", &lim_ro, NBD_CMD_WRITE_ZEROES, 0, 0, 512, NBD_ERROR, NBD_EPERM},
    {"trim not offered", &lim_plain, NBD_CMD_TRIM, 0, 0, 512, NBD_ERROR, NBD_EINVAL},
    {"zeroes not offered", &lim_plain, NBD_CMD_WRITE_ZEROES, 0, 0, 512, NBD_ERROR, NBD_EINVAL},
    {"cache not offered", &lim_plain, NBD_CMD_CACHE, 0, 0, 512, NBD_ERROR, NBD_EINVAL},
    {"fast zero not offered", &lim_ro, NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_FAST_ZERO, 0, 512,
     NBD_ERROR, NBD_EINVAL},
    {"block status unnegotiated", &lim_ro, NBD_CMD_BLOCK_STATUS, 0, 0, 512, NBD_ERROR, NBD_EINVAL},
    /* positive */
    {"disc", &lim_rw, NBD_CMD_DISC, 0, 0, 0, NBD_DISCONNECT, 0},
    {"read", &lim_rw, NBD_CMD_READ, 0, SIZE - 512, 512, NBD_OK, 0},
    {"read DF FUA", &lim_rw, NBD_CMD_READ, NBD_CMD_FLAG_DF | NBD_CMD_FLAG_FUA, 0, 65536, NBD_OK, 0},
    {"write FUA", &lim_rw, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 4096, 4096, NBD_OK, 0},
    {"flush", &lim_rw, NBD_CMD_FLUSH, NBD_CMD_FLAG_FUA, 0, 0, NBD_OK, 0},
    {"flush read-only", &lim_ro, NBD_CMD_FLUSH, 0, 0, 0, NBD_OK, 0},
    {"trim whole disk", &lim_rw, NBD_CMD_TRIM, 0, 0, SIZE, NBD_OK, 0},
    {"zeroes no-hole fast", &lim_rw, NBD_CMD_WRITE_ZEROES,
     NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_FAST_ZERO | NBD_CMD_FLAG_FUA, 0, SIZE, NBD_OK, 0},
    {"cache", &lim_ro, NBD_CMD_CACHE, 0, 0, SIZE, NBD_OK, 0},
    {"block status req-one", &lim_rw, NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 0, SIZE, NBD_OK,
     0},
};

static void test_check_request(void **state)
{
    (void)state;
    for (size_t i = 0; i < KK_ARRAY_SIZE(checks); i++) {
        const struct check_case *t = &checks[i];
        struct nbd_request r = {.flags = t->flags, .type = t->type, .handle = i,
                                .offset = t->offset, .len = t->len};
        uint32_t err = 12345;
        why[0] = '\0';
        enum nbd_verdict v = nbd_check_request(&r, t->lim, &err, why, sizeof(why));
        if (v != t->verdict || (v != NBD_OK && v != NBD_DISCONNECT && err != t->error)) {
            fail_msg("%s: verdict %d error %u (want %d, %u): %s", t->what, v, err, t->verdict,
                     t->error, why);
        }
        if (v == NBD_ERROR || v == NBD_ERROR_CLOSE)
            assert_true(why[0] != '\0'); /* every refusal says why */
    }
}

/* Random requests against a naive reference of the range rules. */
static void test_check_request_random(void **state)
{
    (void)state;
    uint64_t rng = 42;
    for (int i = 0; i < 200000; i++) {
        struct nbd_request r = {
            .type = (uint16_t)(kk_test_rand(&rng) % 9),
            .flags = (uint16_t)(kk_test_rand(&rng) % 4 == 0 ? kk_test_rand(&rng) & 0x3f : 0),
            .offset = kk_test_rand(&rng) % 3 ? (kk_test_rand(&rng) % (SIZE / 512 + 4)) * 512
                                             : kk_test_rand(&rng),
            .len = (uint32_t)(kk_test_rand(&rng) % 3 ? (kk_test_rand(&rng) % 300) * 512
                                                     : kk_test_rand(&rng)),
        };
        uint32_t err;
        enum nbd_verdict v = nbd_check_request(&r, &lim_rw, &err, NULL, 0);
        if (v != NBD_OK)
            continue;
        /* whatever passes is inside the export and aligned */
        assert_true(r.type <= NBD_CMD_BLOCK_STATUS && r.type != NBD_CMD_DISC);
        assert_true(r.offset <= SIZE && r.len <= SIZE - r.offset);
        assert_int_equal(r.offset % 512, 0);
        assert_int_equal(r.len % 512, 0);
        if (r.type == NBD_CMD_READ || r.type == NBD_CMD_WRITE)
            assert_true(r.len > 0 && r.len <= 65536);
    }
}

static void test_request_roundtrip(void **state)
{
    (void)state;
    uint8_t b[NBD_REQUEST_SIZE];
    struct nbd_request in = {.flags = 0x1234, .type = 7, .handle = 0x0102030405060708ull,
                             .offset = 0x1122334455667788ull, .len = 0xa0b0c0d0u},
                       out;
    nbd_encode_request(b, &in);
    static const uint8_t wire[] = {0x25, 0x60, 0x95, 0x13, 0x12, 0x34, 0x00, 0x07, 1, 2,
                                   3,    4,    5,    6,    7,    8,    0x11, 0x22, 0x33, 0x44,
                                   0x55, 0x66, 0x77, 0x88, 0xa0, 0xb0, 0xc0, 0xd0};
    assert_memory_equal(b, wire, sizeof(wire));
    assert_int_equal(nbd_parse_request(b, &out, why, sizeof(why)), 0);
    assert_int_equal(out.flags, in.flags);
    assert_int_equal(out.type, in.type);
    assert_int_equal(out.handle, in.handle);
    assert_int_equal(out.offset, in.offset);
    assert_int_equal(out.len, in.len);
    b[3] ^= 1;
    assert_int_equal(nbd_parse_request(b, &out, why, sizeof(why)), -EPROTO);
    assert_non_null(strstr(why, "magic"));
}

/* ---- encoders ---------------------------------------------------------------------- */

static void test_encoders(void **state)
{
    (void)state;
    uint8_t b[256];
    nbd_encode_greeting(b, 3);
    assert_memory_equal(b, "NBDMAGICIHAVEOPT\x00\x03", 18);

    nbd_encode_opt_reply(b, 7, NBD_REP_ERR_UNKNOWN, 5);
    static const uint8_t rep[] = {0, 3, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9, 0, 0,
                                  0, 7, 0x80, 0,    0,    6,    0,    0,    0, 5};
    assert_memory_equal(b, rep, sizeof(rep));

    memset(b, 0xff, sizeof(b));
    assert_int_equal(nbd_encode_export_name_reply(b, 0x100000, 0x1ed, false), 134);
    assert_int_equal(nbd_get64(b), 0x100000);
    assert_int_equal(nbd_get16(b + 8), 0x1ed);
    for (int i = 10; i < 134; i++)
        assert_int_equal(b[i], 0);
    assert_int_equal(nbd_encode_export_name_reply(b, 1, 1, true), 10);

    assert_int_equal(nbd_encode_info_export(b, 0x1122334455667788ull, 0x0f0f), 12);
    assert_memory_equal(b, "\x00\x00\x11\x22\x33\x44\x55\x66\x77\x88\x0f\x0f", 12);
    assert_int_equal(nbd_encode_info_block_size(b, 512, 4096, 1u << 25), 14);
    assert_memory_equal(b, "\x00\x03\x00\x00\x02\x00\x00\x00\x10\x00\x02\x00\x00\x00", 14);
    assert_int_equal(nbd_encode_info_string(b, NBD_INFO_NAME, "ab", 2), 4);
    assert_memory_equal(b, "\x00\x01" "ab", 4);

    nbd_encode_simple_reply(b, 22, 9);
    assert_memory_equal(b, "\x67\x44\x66\x98\x00\x00\x00\x16\0\0\0\0\0\0\0\x09", 16);

    nbd_encode_data_chunk(b, NBD_REPLY_FLAG_DONE, 5, 4096, 512);
    assert_memory_equal(b, "\x66\x8e\x33\xef\x00\x01\x00\x01\0\0\0\0\0\0\0\x05\0\0\x02\x08"
                           "\0\0\0\0\0\0\x10\x00", 28);

    size_t n = nbd_encode_error_chunk(b, sizeof(b), NBD_REPLY_FLAG_DONE, 6, NBD_EIO, "bad", false,
                                      0);
    assert_int_equal(n, 29);
    assert_int_equal(nbd_get16(b + 6), NBD_REPLY_TYPE_ERROR);
    assert_int_equal(nbd_get32(b + 16), 9);
    assert_int_equal(nbd_get32(b + 20), NBD_EIO);
    assert_int_equal(nbd_get16(b + 24), 3);
    assert_memory_equal(b + 26, "bad", 3);
    n = nbd_encode_error_chunk(b, sizeof(b), 0, 6, 0, "x", true, 77);
    assert_int_equal(n, 35);
    assert_int_equal(nbd_get16(b + 6), NBD_REPLY_TYPE_ERROR_OFFSET);
    assert_int_equal(nbd_get32(b + 20), NBD_EIO); /* zero is not a valid error */
    assert_int_equal(nbd_get64(b + 27), 77);
    /* a long message is cut to the buffer */
    char longmsg[400];
    memset(longmsg, 'm', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    n = nbd_encode_error_chunk(b, 100, 0, 1, NBD_EINVAL, longmsg, false, 0);
    assert_int_equal(n, 100);
    assert_int_equal(nbd_get32(b + 16), 80);
    assert_int_equal(nbd_get16(b + 24), 74);

    struct nbd_extent ext[2] = {{4096, NBD_STATE_HOLE | NBD_STATE_ZERO}, {512, 0}};
    n = nbd_encode_block_status(b, NBD_REPLY_FLAG_DONE, 3, 1, ext, 2);
    assert_int_equal(n, 40);
    assert_int_equal(nbd_get32(b + 16), 20);
    assert_memory_equal(b + 20, "\0\0\0\x01\0\0\x10\0\0\0\0\x03\0\0\x02\0\0\0\0\0", 20);
}

static void test_parse_reply(void **state)
{
    (void)state;
    uint8_t b[32];
    struct nbd_reply r;
    nbd_encode_simple_reply(b, 5, 77);
    assert_int_equal(nbd_parse_reply(b, 3, &r), 0);
    assert_int_equal(nbd_parse_reply(b, 15, &r), 0);
    assert_int_equal(nbd_parse_reply(b, 16, &r), 16);
    assert_false(r.structured);
    assert_int_equal(r.error, 5);
    assert_int_equal(r.handle, 77);
    nbd_encode_chunk(b, 1, 5, 78, 12);
    assert_int_equal(nbd_parse_reply(b, 19, &r), 0);
    assert_int_equal(nbd_parse_reply(b, 20, &r), 20);
    assert_true(r.structured);
    assert_int_equal(r.type, 5);
    assert_int_equal(r.len, 12);
    b[0] = 0;
    assert_int_equal(nbd_parse_reply(b, 20, &r), -EPROTO);
}

static void test_errno_map(void **state)
{
    (void)state;
    static const struct {
        int err;
        uint32_t wire;
    } map[] = {{-EROFS, NBD_EPERM},     {-EPERM, NBD_EPERM},       {-EIO, NBD_EIO},
               {-ENOMEM, NBD_ENOMEM},   {-EINVAL, NBD_EINVAL},     {-ENOSPC, NBD_ENOSPC},
               {-EDQUOT, NBD_ENOSPC},   {-EFBIG, NBD_ENOSPC},      {-ENOTSUP, NBD_ENOTSUP},
               {-EOVERFLOW, NBD_EOVERFLOW}, {-ESHUTDOWN, NBD_ESHUTDOWN}, {-ENOENT, NBD_EIO},
               {0, 0}};
    for (size_t i = 0; i < KK_ARRAY_SIZE(map); i++)
        assert_int_equal(nbd_errno_to_wire(map[i].err), map[i].wire);
    assert_string_equal(nbd_cmd_name(NBD_CMD_BLOCK_STATUS), "BLOCK_STATUS");
    assert_string_equal(nbd_cmd_name(99), "unknown command");
    assert_string_equal(nbd_opt_name(NBD_OPT_GO), "GO");
    assert_string_equal(nbd_rep_name(NBD_REP_ERR_TOO_BIG), "NBD_REP_ERR_TOO_BIG");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_flags),   cmocka_unit_test(test_opt_header),
        cmocka_unit_test(test_strings),        cmocka_unit_test(test_info_request),
        cmocka_unit_test(test_meta_request),   cmocka_unit_test(test_check_request),
        cmocka_unit_test(test_check_request_random), cmocka_unit_test(test_request_roundtrip),
        cmocka_unit_test(test_encoders),       cmocka_unit_test(test_parse_reply),
        cmocka_unit_test(test_errno_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
