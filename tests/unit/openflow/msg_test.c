/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenFlow messages: malformed input first (framing, lengths, versions,
 * types, per-message semantic checks with their exact (type, code), every
 * truncation of every sample), then hand-written byte arrays laid out from
 * the specifications (so byte order and offsets are checked independently
 * of our encoder), then encode -> decode -> equal round trips of a sample
 * of every message type in both versions, the error reply builder and
 * version negotiation.
 */
#include "kk_common.h"
#include "ofp_print.h"
#include "ofp_samples.h"
#include "ofp_test_util.h"

/* ---- framing ---- */

static void test_frame_len(void **state)
{
    (void)state;
    uint8_t b[16];
    hex("04 00 00 10 00 00 00 01 00 01 00 08 00 00 00 10", b, sizeof(b));
    for (size_t len = 0; len < 8; len++)
        assert_int_equal(ofp_frame_len(b, len), 0);
    assert_int_equal(ofp_frame_len(b, 8), 16);
    assert_int_equal(ofp_frame_len(b, 16), 16);
    assert_int_equal(ofp_frame_len(NULL, 16), 0);
    b[2] = 0;
    b[3] = 7;
    assert_int_equal(ofp_frame_len(b, 8), -EBADMSG);
    b[3] = 0;
    assert_int_equal(ofp_frame_len(b, 8), -EBADMSG);
    /* any version gets through framing */
    hex("63 05 00 08 00 00 00 01", b, sizeof(b));
    assert_int_equal(ofp_frame_len(b, 8), 8);

    uint8_t v, t;
    uint16_t l;
    uint32_t x;
    struct ofp_error err;
    hex("01 0e 00 08 12 34 56 78", b, sizeof(b));
    assert_int_equal(ofp_header_parse(b, 8, &v, &t, &l, &x, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(t, 14);
    assert_int_equal(l, 8);
    assert_int_equal(x, 0x12345678);
    assert_int_equal(ofp_header_parse(b, 9, &v, &t, &l, &x, &err), -EBADMSG);
    assert_int_equal(err.err, OFPERR_OFPBRC_BAD_LEN);
    assert_int_equal(ofp_header_parse(b, 7, &v, &t, &l, &x, &err), -EBADMSG);
}

/* ---- malformed messages ---- */

static void test_decode_bad_header(void **state)
{
    (void)state;
    uint8_t b[64];
    struct ofp_msg m;
    assert_int_equal(ofp_decode(NULL, 8, &m, NULL), -EINVAL);
    hex("01 02 00 08 00 00 00 01", b, sizeof(b));
    assert_int_equal(ofp_decode(b, 8, NULL, NULL), -EINVAL);
    for (size_t len = 0; len < 8; len++)
        expect_error(b, len, OFPERR_OFPBRC_BAD_LEN, "short header");
    hex("01 02 00 09 00 00 00 01", b, sizeof(b));
    expect_error(b, 8, OFPERR_OFPBRC_BAD_LEN, "length > buffer");
    hex("01 02 00 08 00 00 00 01 00", b, sizeof(b));
    expect_error(b, 9, OFPERR_OFPBRC_BAD_LEN, "length < buffer");
    hex("03 02 00 08 00 00 00 01", b, sizeof(b));
    expect_error(b, 8, OFPERR_OFPBRC_BAD_VERSION, "version 3");
    hex("05 02 00 08 00 00 00 01", b, sizeof(b));
    expect_error(b, 8, OFPERR_OFPBRC_BAD_VERSION, "version 5");
    hex("01 14 00 08 00 00 00 01", b, sizeof(b));
    expect_error(b, 8, OFPERR_OFPBRC_BAD_TYPE, "1.0 queue get config (unsupported)");
    hex("01 18 00 08 00 00 00 01", b, sizeof(b));
    expect_error(b, 8, OFPERR_OFPBRC_BAD_TYPE, "1.0 type 24 (1.3 role request)");
    hex("04 1e 00 08 00 00 00 01", b, sizeof(b));
    expect_error(b, 8, OFPERR_OFPBRC_BAD_TYPE, "1.3 type 30");
    hex("04 ff 00 08 00 00 00 01", b, sizeof(b));
    expect_error(b, 8, OFPERR_OFPBRC_BAD_TYPE, "1.3 type 255");
    /* a hello of an unknown version decodes (negotiation needs it) */
    hex("06 00 00 10 00 00 00 01 00 01 00 08 00 00 00 50", b, sizeof(b));
    assert_int_equal(decode_copy(b, 16, &m, NULL), 0);
    assert_int_equal(m.version, 6);
    assert_true(m.u.hello.has_bitmap);
    assert_int_equal(m.u.hello.bitmap, 0x50);
    ofp_msg_free(&m);
}

struct bad_case {
    const char *hex;
    enum ofp_err err;
    const char *what;
};

static const struct bad_case bad_cases[] = {
    /* lengths of simple messages */
    {"04 05 00 0c 00 00 00 01 00 00 00 00", OFPERR_OFPBRC_BAD_LEN, "features request + body"},
    {"01 12 00 09 00 00 00 01 00", OFPERR_OFPBRC_BAD_LEN, "1.0 barrier + body"},
    {"04 09 00 0b 00 00 00 01 00 00 00", OFPERR_OFPBRC_BAD_LEN, "set_config short"},
    {"04 09 00 0d 00 00 00 01 00 00 00 80 00", OFPERR_OFPBRC_BAD_LEN, "set_config long"},
    {"04 09 00 0c 00 00 00 01 00 08 00 80", OFPERR_OFPSCFC_BAD_FLAGS, "set_config flags"},
    {"04 01 00 0b 00 00 00 01 00 01 00", OFPERR_OFPBRC_BAD_LEN, "error short"},
    {"04 01 00 0e 00 00 00 01 ff ff 0a 28 4f 4e", OFPERR_OFPBRC_BAD_LEN,
     "experimenter error short"},
    {"04 04 00 0f 00 00 00 01 00 00 23 20 00 00 00", OFPERR_OFPBRC_BAD_LEN,
     "1.3 experimenter short"},
    {"01 04 00 0b 00 00 00 01 00 00 23", OFPERR_OFPBRC_BAD_LEN, "1.0 vendor short"},
    {"04 18 00 10 00 00 00 01 00 00 00 02 00 00 00 00", OFPERR_OFPBRC_BAD_LEN, "role short"},
    {"04 18 00 18 00 00 00 01 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 01",
     OFPERR_OFPRRFC_BAD_ROLE, "role 4"},
    {"04 11 00 10 00 00 00 01 00 00 00 00 00 00 00 04", OFPERR_OFPTMFC_BAD_CONFIG,
     "table mod config"},
    {"04 10 00 28 00 00 00 01 00 00 00 00 00 00 00 00 02 00 00 00 00 01 00 00"
     " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
     OFPERR_OFPPMFC_BAD_PORT, "1.3 port mod port 0"},
    {"01 0f 00 20 00 00 00 01 ff 00 02 00 00 00 00 01 00 00 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00",
     OFPERR_OFPPMFC_BAD_PORT, "1.0 port mod port OFPP_MAX"},
    /* hello */
    {"04 00 00 0c 00 00 00 01 00 01 00 02", OFPERR_OFPBRC_BAD_LEN, "hello element len 2"},
    {"04 00 00 10 00 00 00 01 00 01 00 10 00 00 00 12", OFPERR_OFPBRC_BAD_LEN,
     "hello element past the end"},
    /* multipart */
    {"04 12 00 0f 00 00 00 01 00 00 00 00 00 00 00", OFPERR_OFPBRC_BAD_LEN, "mp header short"},
    {"04 12 00 10 00 00 00 01 00 0e 00 00 00 00 00 00", OFPERR_OFPBRC_BAD_MULTIPART,
     "1.3 mp type 14"},
    {"01 10 00 0c 00 00 00 01 00 06 00 00", OFPERR_OFPBRC_BAD_MULTIPART, "1.0 stats type 6"},
    {"01 10 00 0c 00 00 00 01 00 0d 00 00", OFPERR_OFPBRC_BAD_MULTIPART,
     "1.0 stats port-desc (1.3 only)"},
    {"04 12 00 14 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00", OFPERR_OFPBRC_BAD_LEN,
     "desc request with body"},
    {"04 12 00 14 00 00 00 01 00 04 00 00 00 00 00 00 00 00 00 01", OFPERR_OFPBRC_BAD_LEN,
     "port stats request short"},
    {"04 13 00 18 00 00 00 01 00 01 00 00 00 00 00 00 00 04 00 00 00 00 00 00",
     OFPERR_OFPBRC_BAD_LEN, "flow stats entry length 4"},
    {"04 13 00 18 00 00 00 01 00 07 00 00 00 00 00 00 00 10 04 00 00 00 00 01",
     OFPERR_OFPBRC_BAD_LEN, "group desc entry past the end"},
    /* table features: one table (64 bytes) plus one property */
    {"04 13 00 58 00 00 00 01 00 0c 00 00 00 00 00 00 00 48 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00 00 09 00 04 00 00 00 00",
     OFPERR_OFPTFFC_BAD_TYPE, "table feature property type 9"},
    {"04 13 00 58 00 00 00 01 00 0c 00 00 00 00 00 00 00 48 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00 00 08 00 02 00 00 00 00",
     OFPERR_OFPTFFC_BAD_LEN, "table feature property length 2"},
    {"04 13 00 58 00 00 00 01 00 0c 00 00 00 00 00 00 00 48 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00 00 08 00 07 80 00 00 00",
     OFPERR_OFPTFFC_BAD_LEN, "table feature oxm ids not a multiple of 4"},
    {"04 13 00 50 00 00 00 01 00 0c 00 00 00 00 00 00 00 44 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00",
     OFPERR_OFPTFFC_BAD_LEN, "table features length > body"},
    /* packet-out */
    {"01 0d 00 18 00 00 00 01 ff ff ff ff ff fd 00 10 00 00 00 08 00 01 00 00",
     OFPERR_OFPBRC_BAD_LEN, "1.0 actions_len past the end"},
    {"04 0d 00 18 00 00 00 01 ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00",
     OFPERR_OFPBRC_BAD_PORT, "1.3 packet-out in_port 0"},
    {"01 0d 00 10 00 00 00 01 ff ff ff ff ff 00 00 00", OFPERR_OFPBRC_BAD_PORT,
     "1.0 packet-out in_port 0xff00"},
    /* group mod */
    {"04 0f 00 10 00 00 00 01 00 03 00 00 00 00 00 01", OFPERR_OFPGMFC_BAD_COMMAND,
     "group command 3"},
    {"04 0f 00 10 00 00 00 01 00 00 04 00 00 00 00 01", OFPERR_OFPGMFC_BAD_TYPE,
     "group type 4"},
    {"04 0f 00 10 00 00 00 01 00 00 00 00 ff ff ff 01", OFPERR_OFPGMFC_INVALID_GROUP,
     "group id > OFPG_MAX"},
    {"04 0f 00 10 00 00 00 01 00 00 02 00 00 00 00 01", OFPERR_OFPGMFC_INVALID_GROUP,
     "indirect group without bucket"},
    {"04 0f 00 20 00 00 00 01 00 00 00 00 00 00 00 01 00 10 00 01 ff ff ff ff ff ff ff ff"
     " 00 00 00 00",
     OFPERR_OFPGMFC_WEIGHT_UNSUPPORTED, "weight in an all group"},
    {"04 0f 00 20 00 00 00 01 00 00 03 00 00 00 00 01 00 10 00 00 ff ff ff ff ff ff ff ff"
     " 00 00 00 00",
     OFPERR_OFPGMFC_BAD_WATCH, "ff bucket watching nothing"},
    {"04 0f 00 20 00 00 00 01 00 00 00 00 00 00 00 01 00 08 00 00 ff ff ff ff ff ff ff ff"
     " 00 00 00 00",
     OFPERR_OFPGMFC_BAD_BUCKET, "bucket length 8"},
    {"04 0f 00 1c 00 00 00 01 00 00 00 00 00 00 00 01 00 10 00 00 ff ff ff ff ff ff ff ff",
     OFPERR_OFPGMFC_BAD_BUCKET, "bucket truncated"},
    /* meter mod */
    {"04 1d 00 10 00 00 00 01 00 03 00 01 00 00 00 01", OFPERR_OFPMMFC_BAD_COMMAND,
     "meter command 3"},
    {"04 1d 00 10 00 00 00 01 00 00 00 03 00 00 00 01", OFPERR_OFPMMFC_BAD_FLAGS,
     "meter kbps|pktps"},
    {"04 1d 00 10 00 00 00 01 00 00 00 10 00 00 00 01", OFPERR_OFPMMFC_BAD_FLAGS,
     "meter flag 0x10"},
    {"04 1d 00 10 00 00 00 01 00 00 00 01 00 00 00 00", OFPERR_OFPMMFC_INVALID_METER,
     "meter id 0"},
    {"04 1d 00 10 00 00 00 01 00 00 00 01 ff ff 00 01", OFPERR_OFPMMFC_INVALID_METER,
     "meter id > OFPM_MAX"},
    {"04 1d 00 20 00 00 00 01 00 00 00 01 00 00 00 01 00 03 00 10 00 00 00 01 00 00 00 00"
     " 00 00 00 00",
     OFPERR_OFPMMFC_BAD_BAND, "band type 3"},
    {"04 1d 00 20 00 00 00 01 00 00 00 01 00 00 00 01 00 01 00 10 00 00 00 00 00 00 00 00"
     " 00 00 00 00",
     OFPERR_OFPMMFC_BAD_RATE, "band rate 0"},
    {"04 1d 00 28 00 00 00 01 00 00 00 01 00 00 00 01 00 01 00 18 00 00 00 01 00 00 00 00"
     " 00 00 00 00 00 00 00 00 00 00 00 00",
     OFPERR_OFPBRC_BAD_LEN, "band length 24"},
    {"04 1d 00 20 00 00 00 01 00 00 00 01 00 00 00 01 00 02 00 10 00 00 00 01 00 00 00 00"
     " 40 00 00 00",
     OFPERR_OFPMMFC_BAD_BAND_VALUE, "dscp remark prec_level 64"},
};

static void test_decode_bad_messages(void **state)
{
    (void)state;
    for (size_t i = 0; i < KK_ARRAY_SIZE(bad_cases); i++) {
        uint8_t b[512];
        size_t n = hex(bad_cases[i].hex, b, sizeof(b));
        expect_error(b, n, bad_cases[i].err, bad_cases[i].what);
    }
}

/* The 1.3 flow-mod of test_hand_flow_mod13, patched to break one rule. */
static const char *FLOW_MOD13 =
    "04 0e 00 70 00 00 00 2b"
    " 00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 00" /* cookie, cookie_mask */
    " 00 00 00 00 00 00 00 64  ff ff ff ff ff ff ff ff" /* table cmd idle hard prio buffer port */
    " ff ff ff ff 00 00 00 00"                          /* out_group flags pad */
    " 00 01 00 21 80 00 0a 02 08 00 80 00 14 01 06 80 00 17 08 0a 00 00 00 ff 00 00 00"
    " 80 00 1c 02 00 50 00 00 00 00 00 00 00"           /* match + 7 pad */
    " 00 04 00 18 00 00 00 00 00 00 00 10 00 00 00 02 ff ff 00 00 00 00 00 00";

static void test_flow_mod_errors(void **state)
{
    (void)state;
    uint8_t good[112], b[112];
    assert_int_equal(hex(FLOW_MOD13, good, sizeof(good)), 112);
    struct ofp_msg m;
    assert_int_equal(decode_copy(good, sizeof(good), &m, NULL), 0);
    ofp_msg_free(&m);
    static const struct {
        size_t off;
        uint8_t value;
        enum ofp_err err;
        const char *what;
    } cases[] = {
        {25, 5, OFPERR_OFPFMFC_BAD_COMMAND, "command 5"},
        {45, 0x20, OFPERR_OFPFMFC_BAD_FLAGS, "flags 0x20"},
        {24, 0xff, OFPERR_OFPFMFC_BAD_TABLE_ID, "add to OFPTT_ALL"},
        {49, 0, OFPERR_OFPBMC_BAD_TYPE, "match type 0 (1.1 standard)"},
        {51, 0x61, OFPERR_OFPBMC_BAD_LEN, "match length past the end"},
        {51, 3, OFPERR_OFPBMC_BAD_LEN, "match length 3"},
        {52, 0x00, OFPERR_OFPBMC_BAD_FIELD, "OXM class NXM_0"},
        {52, 0xff, OFPERR_OFPBMC_BAD_FIELD, "OXM class experimenter"},
        {54, 0x50, OFPERR_OFPBMC_BAD_FIELD, "OXM field 40"},
        {55, 3, OFPERR_OFPBMC_BAD_LEN, "eth_type length 3"},
        {54, 0x0b, OFPERR_OFPBMC_BAD_MASK, "eth_type with a mask bit"},
        {77, 0x0a, OFPERR_OFPBMC_DUP_FIELD, "tcp_dst -> eth_type twice"},
        {60, 0x0a, OFPERR_OFPBMC_BAD_LEN, "ip_proto -> eth_type (1 byte)"},
        {56, 0x86, OFPERR_OFPBMC_BAD_PREREQ, "eth_type 0x8600 with ip fields"},
        {62, 17, OFPERR_OFPBMC_BAD_PREREQ, "tcp_dst with ip_proto 17"},
        {71, 0x01, OFPERR_OFPBMC_BAD_WILDCARDS, "ipv4_src value outside mask"},
        {89, 0x00, OFPERR_OFPBIC_UNKNOWN_INST, "instruction type 0"},
        {89, 0x07, OFPERR_OFPBIC_UNKNOWN_INST, "instruction type 7"},
        {91, 0x14, OFPERR_OFPBIC_BAD_LEN, "instruction length 20"},
        {91, 0x20, OFPERR_OFPBIC_BAD_LEN, "instruction length past the end"},
        {97, 0x01, OFPERR_OFPBAC_BAD_TYPE, "action type 1 (1.1 set_vlan_vid)"},
        {97, 0x1c, OFPERR_OFPBAC_BAD_TYPE, "action type 28"},
        {99, 0x08, OFPERR_OFPBAC_BAD_LEN, "output length 8"},
        {99, 0x0c, OFPERR_OFPBAC_BAD_LEN, "action length 12"},
        {103, 0x00, OFPERR_OFPBAC_BAD_OUT_PORT, "output to port 0"},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        memcpy(b, good, sizeof(b));
        b[cases[i].off] = cases[i].value;
        expect_error(b, sizeof(b), cases[i].err, cases[i].what);
    }
    /* output to ANY and to an unused reserved number */
    memcpy(b, good, sizeof(b));
    set32(b + 100, 0xffffffff);
    expect_error(b, sizeof(b), OFPERR_OFPBAC_BAD_OUT_PORT, "output to OFPP_ANY");
    set32(b + 100, 0xffffff01);
    expect_error(b, sizeof(b), OFPERR_OFPBAC_BAD_OUT_PORT, "output to 0xffffff01");
    /* goto_table backwards: table 5 -> replace apply_actions by goto_table 3 */
    memcpy(b, good, sizeof(b));
    b[24] = 5;
    hex("00 01 00 08 03 00 00 00 00 01 00 08 06 00 00 00 00 06 00 08 00 00 00 01", b + 88, 24);
    expect_error(b, sizeof(b), OFPERR_OFPBIC_DUP_INST, "goto_table twice");
    hex("00 01 00 08 03 00 00 00 00 05 00 08 00 00 00 00 00 05 00 08 00 00 00 00", b + 88, 24);
    expect_error(b, sizeof(b), OFPERR_OFPBIC_DUP_INST, "clear_actions twice");
    hex("00 01 00 08 03 00 00 00 00 05 00 08 00 00 00 00 00 06 00 08 00 00 00 01", b + 88, 24);
    expect_error(b, sizeof(b), OFPERR_OFPBIC_BAD_TABLE_ID, "goto_table 3 from table 5");
    b[92] = 0xff;
    b[24] = 0;
    expect_error(b, sizeof(b), OFPERR_OFPBIC_BAD_TABLE_ID, "goto_table OFPTT_ALL");
    hex("00 05 00 10 00 00 00 00 00 00 00 00 00 00 00 00 00 06 00 08 00 00 00 01", b + 88, 24);
    expect_error(b, sizeof(b), OFPERR_OFPBIC_BAD_LEN, "clear_actions with a body");
    /* DUP_INST in 1.3 is the ONF extension error */
    struct ofp_error w;
    ofp_err_to_wire(OFPERR_OFPBIC_DUP_INST, OFP13_VERSION, &w);
    assert_int_equal(w.type, 0xffff);
    assert_int_equal(w.code, 2600);
    assert_int_equal(w.experimenter, OFP_ONF_EXPERIMENTER_ID);
}

/* 1.0 flow-mod: 40-byte match, 24 bytes of fields, an output action. */
static const char *FLOW_MOD10 =
    "01 0e 00 50 00 00 00 2a"
    " 00 3f c8 4e 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 08 00"
    " 00 06 00 00 0a 01 02 00 00 00 00 00 00 00 00 50"  /* match */
    " 00 00 00 00 00 00 00 01 00 00 00 0a 00 00 80 00 ff ff ff ff ff ff 00 01"
    " 00 00 00 08 00 02 00 00";

static void test_flow_mod10_errors(void **state)
{
    (void)state;
    uint8_t good[80], b[80];
    assert_int_equal(hex(FLOW_MOD10, good, sizeof(good)), 80);
    struct {
        size_t off;
        const char *bytes;
        enum ofp_err err;
        const char *what;
    } patches[] = {
        {57, "05", OFPERR_OFPFMFC_BAD_COMMAND, "command 5"},
        {70, "00 08", OFPERR_OFPFMFC_BAD_FLAGS, "flags 0x8"},
        {72, "00 0c 00 08 00 00 00 00", OFPERR_OFPBAC_BAD_TYPE, "1.0 action type 12"},
        {72, "00 00 00 10 00 02 00 00", OFPERR_OFPBAC_BAD_LEN, "output length 16"},
        {72, "00 00 00 00 00 02 00 00", OFPERR_OFPBAC_BAD_LEN, "action length 0"},
        {72, "00 00 00 08 00 00 00 00", OFPERR_OFPBAC_BAD_OUT_PORT, "output to 0"},
        {72, "00 00 00 08 ff 00 00 00", OFPERR_OFPBAC_BAD_OUT_PORT, "output to 0xff00"},
        {72, "00 00 00 08 ff ff 00 00", OFPERR_OFPBAC_BAD_OUT_PORT, "output to OFPP_NONE"},
        {72, "00 01 00 08 10 00 00 00", OFPERR_OFPBAC_BAD_ARGUMENT, "vlan vid 4096"},
        {72, "00 02 00 08 08 00 00 00", OFPERR_OFPBAC_BAD_ARGUMENT, "vlan pcp 8"},
        {72, "00 08 00 08 03 00 00 00", OFPERR_OFPBAC_BAD_ARGUMENT, "tos with ECN bits"},
        {72, "00 0b 00 08 00 01 00 00", OFPERR_OFPBAC_BAD_LEN, "enqueue length 8"},
        {72, "00 04 00 08 00 00 00 00", OFPERR_OFPBAC_BAD_LEN, "set_dl_src length 8"},
        {72, "ff ff 00 08 00 00 23 20", OFPERR_NONE, "vendor action decodes"},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(patches); i++) {
        memcpy(b, good, sizeof(b));
        hex(patches[i].bytes, b + patches[i].off, sizeof(b) - patches[i].off);
        if (patches[i].err == OFPERR_NONE) {
            struct ofp_msg m;
            assert_int_equal(decode_copy(b, sizeof(b), &m, NULL), 0);
            assert_int_equal(m.u.flow_mod.actions.actions[0].kind, OFPACT_EXPERIMENTER);
            assert_int_equal(m.u.flow_mod.actions.actions[0].experimenter, 0x2320);
            ofp_msg_free(&m);
        } else {
            expect_error(b, sizeof(b), patches[i].err, patches[i].what);
        }
    }
    /* the 1.0 numbers of those errors */
    struct ofp_error w;
    ofp_err_to_wire(OFPERR_OFPFMFC_BAD_COMMAND, OFP10_VERSION, &w);
    assert_int_equal(w.type, 3);
    assert_int_equal(w.code, 4);
    ofp_err_to_wire(OFPERR_OFPBRC_BAD_MULTIPART, OFP10_VERSION, &w);
    assert_int_equal(w.type, 1);
    assert_int_equal(w.code, 2);
    assert_string_equal(ofp_error_code_name(1, 1, 2), "OFPBRC_BAD_STAT");
    assert_string_equal(ofp_error_code_name(1, 1, 3), "OFPBRC_BAD_VENDOR");
    assert_string_equal(ofp_error_code_name(4, 4, 9), "OFPBMC_BAD_PREREQ");
    assert_string_equal(ofp_error_type_name(4, 12), "OFPET_METER_MOD_FAILED");
    assert_null(ofp_error_type_name(1, 6));
    assert_int_equal(ofp_err_from_wire(1, 3, 5, 0), OFPERR_OFPFMFC_UNSUPPORTED);
    assert_int_equal(ofp_err_from_wire(4, 5, 6, 0), OFPERR_OFPFMFC_BAD_COMMAND);
}

/* Every prefix of every sample's encoding is refused, from exact-size copies. */
static void test_truncations(void **state)
{
    (void)state;
    static const uint8_t versions[] = {OFP10_VERSION, OFP13_VERSION};
    for (size_t vi = 0; vi < 2; vi++) {
        struct ofp_msg samples[OFP_SAMPLES_MAX];
        size_t n = ofp_samples(versions[vi], samples, OFP_SAMPLES_MAX);
        for (size_t i = 0; i < n; i++) {
            struct ofp_buf b;
            ofp_buf_init(&b);
            assert_int_equal(ofp_encode(&samples[i], &b, NULL), 0);
            for (size_t len = 8; len < b.len; len++) {
                uint8_t *copy = malloc(len);
                memcpy(copy, b.data, len);
                set16(copy + 2, (uint16_t)len);  /* consistent header, short body */
                struct ofp_msg m;
                struct ofp_error err;
                int rc = ofp_decode(copy, len, &m, &err);
                /* a shorter body may still be a valid message (lists, data) */
                if (rc == 0)
                    ofp_msg_free(&m);
                else
                    assert_int_equal(rc, -EBADMSG);
                free(copy);
            }
            ofp_buf_free(&b);
        }
    }
}

/* ---- hand-written layouts ---- */

static void assert_reencodes(const struct ofp_msg *m, const uint8_t *bytes, size_t len)
{
    struct ofp_buf b;
    ofp_buf_init(&b);
    struct ofp_error err;
    int rc = ofp_encode(m, &b, &err);
    if (rc != 0)
        fail_msg("encode: %d %s", rc, ofp_err_name(err.err));
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, bytes, len);
    ofp_buf_free(&b);
}

static void test_hand_flow_mod10(void **state)
{
    (void)state;
    uint8_t b[80];
    hex(FLOW_MOD10, b, sizeof(b));
    struct ofp_msg m;
    assert_int_equal(decode_copy(b, sizeof(b), &m, NULL), 0);
    assert_int_equal(m.type, OFP_MSG_FLOW_MOD);
    assert_int_equal(m.xid, 0x2a);
    const struct ofp_flow_mod *fm = &m.u.flow_mod;
    assert_int_equal(fm->cookie, 1);
    assert_int_equal(fm->idle_timeout, 10);
    assert_int_equal(fm->priority, 0x8000);
    assert_int_equal(fm->buffer_id, 0xffffffff);
    assert_int_equal(fm->out_port, OFPP_ANY);
    assert_int_equal(fm->flags, OFPFF_SEND_FLOW_REM);
    assert_int_equal(ofp_match_get_uint(&fm->match, OFPXMT_IN_PORT), 1);
    assert_int_equal(ofp_match_get_uint(&fm->match, OFPXMT_ETH_TYPE), 0x0800);
    assert_int_equal(ofp_match_get_uint(&fm->match, OFPXMT_IP_PROTO), 6);
    assert_int_equal(ofp_match_get_uint(&fm->match, OFPXMT_IPV4_SRC), 0x0a010200);
    assert_int_equal(ofp_match_get_uint_mask(&fm->match, OFPXMT_IPV4_SRC), 0xffffff00);
    assert_int_equal(ofp_match_get_uint(&fm->match, OFPXMT_TCP_DST), 80);
    assert_false(fm->match.present >> OFPXMT_IPV4_DST & 1);
    assert_int_equal(fm->actions.n, 1);
    assert_int_equal(fm->actions.actions[0].kind, OFPACT_OUTPUT);
    assert_int_equal(fm->actions.actions[0].port, 2);
    char text[256];
    ofp_format_flow_mod(fm, m.version, text, sizeof(text));
    assert_string_equal(text, "cookie=0x1,idle_timeout=10,priority=32768,tcp,in_port=1,"
                              "nw_src=10.1.2.0/24,tp_dst=80 actions=output:2");
    assert_reencodes(&m, b, sizeof(b));
    ofp_msg_free(&m);
}

static void test_hand_flow_mod13(void **state)
{
    (void)state;
    uint8_t b[112];
    hex(FLOW_MOD13, b, sizeof(b));
    struct ofp_msg m;
    assert_int_equal(decode_copy(b, sizeof(b), &m, NULL), 0);
    const struct ofp_flow_mod *fm = &m.u.flow_mod;
    assert_int_equal(fm->cookie, 1);
    assert_int_equal(fm->priority, 100);
    assert_int_equal(fm->out_group, OFPG_ANY);
    assert_int_equal(fm->match.present,
                     1u << OFPXMT_ETH_TYPE | 1u << OFPXMT_IP_PROTO | 1u << OFPXMT_IPV4_SRC |
                         1u << OFPXMT_TCP_DST);
    assert_int_equal(fm->match.masked, 1u << OFPXMT_IPV4_SRC);
    assert_int_equal(ofp_match_get_uint_mask(&fm->match, OFPXMT_IPV4_SRC), 0xff000000);
    assert_int_equal(fm->instructions.n, 1);
    assert_int_equal(fm->instructions.insts[0].type, OFPIT_APPLY_ACTIONS);
    assert_int_equal(fm->instructions.insts[0].actions.n, 1);
    assert_int_equal(fm->instructions.insts[0].actions.actions[0].port, 2);
    assert_int_equal(fm->instructions.insts[0].actions.actions[0].max_len, 0xffff);
    char text[256];
    ofp_format_flow_mod(fm, m.version, text, sizeof(text));
    assert_string_equal(text, "cookie=0x1,priority=100,tcp,nw_src=10.0.0.0/8,tp_dst=80 "
                              "actions=output:2");
    assert_reencodes(&m, b, sizeof(b));
    ofp_msg_free(&m);
}

static void check_hand(const char *text, enum ofp_msg_type type, void (*check)(const struct ofp_msg *))
{
    uint8_t b[256];
    size_t n = hex(text, b, sizeof(b));
    struct ofp_msg m;
    struct ofp_error err;
    int rc = decode_copy(b, n, &m, &err);
    if (rc != 0)
        fail_msg("decode %s: %d %s", ofp_msg_type_name(type, b[0]), rc, ofp_err_name(err.err));
    assert_int_equal(m.type, type);
    check(&m);
    assert_reencodes(&m, b, n);
    ofp_msg_free(&m);
}

static void chk_hello(const struct ofp_msg *m)
{
    assert_true(m->u.hello.has_bitmap);
    assert_int_equal(m->u.hello.bitmap, 0x12);
}

static void chk_features10(const struct ofp_msg *m)
{
    const struct ofp_features_reply *f = &m->u.features;
    assert_int_equal(f->datapath_id, 1);
    assert_int_equal(f->n_buffers, 256);
    assert_int_equal(f->n_tables, 1);
    assert_int_equal(f->capabilities, 0xc7);
    assert_int_equal(f->actions, 0xfff);
    assert_int_equal(f->n_ports, 1);
    assert_int_equal(f->ports[0].port_no, 1);
    assert_string_equal(f->ports[0].name, "eth1");
    assert_int_equal(f->ports[0].hw_addr[5], 1);
    assert_int_equal(f->ports[0].curr, 0x82);
}

static void chk_group_mod(const struct ofp_msg *m)
{
    const struct ofp_group_mod *g = &m->u.group_mod;
    assert_int_equal(g->type, OFPGT_SELECT);
    assert_int_equal(g->group_id, 1);
    assert_int_equal(g->n_buckets, 1);
    assert_int_equal(g->buckets[0].weight, 3);
    assert_int_equal(g->buckets[0].watch_port, OFPP_ANY);
    assert_int_equal(g->buckets[0].actions.n, 1);
    assert_int_equal(g->buckets[0].actions.actions[0].port, 1);
}

static void chk_meter_mod(const struct ofp_msg *m)
{
    const struct ofp_meter_mod *mm = &m->u.meter_mod;
    assert_int_equal(mm->flags, OFPMF_KBPS | OFPMF_BURST);
    assert_int_equal(mm->meter_id, 1);
    assert_int_equal(mm->n_bands, 2);
    assert_int_equal(mm->bands[0].type, OFPMBT_DROP);
    assert_int_equal(mm->bands[0].rate, 1000);
    assert_int_equal(mm->bands[0].burst_size, 100);
    assert_int_equal(mm->bands[1].type, OFPMBT_DSCP_REMARK);
    assert_int_equal(mm->bands[1].rate, 500);
    assert_int_equal(mm->bands[1].prec_level, 2);
}

static void chk_port_desc(const struct ofp_msg *m)
{
    const struct ofp_multipart *mp = &m->u.multipart;
    assert_int_equal(mp->type, OFPMP_PORT_DESC);
    assert_int_equal(mp->flags, OFPMPF_MORE);
    assert_int_equal(mp->n, 1);
    assert_int_equal(mp->list.port_desc[0].port_no, 7);
    assert_int_equal(mp->list.port_desc[0].hw_addr[0], 2);
    assert_string_equal(mp->list.port_desc[0].name, "p7");
    assert_int_equal(mp->list.port_desc[0].state, 4);
    assert_int_equal(mp->list.port_desc[0].curr_speed, 10000000);
    assert_int_equal(mp->list.port_desc[0].max_speed, 0x01020304);
}

static void chk_packet_out10(const struct ofp_msg *m)
{
    const struct ofp_packet_out *po = &m->u.packet_out;
    assert_int_equal(po->buffer_id, OFP_NO_BUFFER);
    assert_int_equal(po->in_port, OFPP_CONTROLLER);
    assert_int_equal(po->actions.n, 1);
    assert_int_equal(po->actions.actions[0].port, 1);
    assert_int_equal(po->data.len, 8);
    assert_int_equal(po->data.data[7], 8);
}

static void chk_packet_in13(const struct ofp_msg *m)
{
    const struct ofp_packet_in *pi = &m->u.packet_in;
    assert_int_equal(pi->buffer_id, 0x100);
    assert_int_equal(pi->total_len, 64);
    assert_int_equal(pi->reason, 1);
    assert_int_equal(pi->table_id, 2);
    assert_int_equal(pi->cookie, 0x0102030405060708ull);
    assert_int_equal(ofp_match_get_uint(&pi->match, OFPXMT_IN_PORT), 3);
    assert_int_equal(pi->data.len, 4);
}

static void chk_error13(const struct ofp_msg *m)
{
    assert_int_equal(m->u.error.type, OFPET_EXPERIMENTER);
    assert_int_equal(m->u.error.code, 2600);
    assert_int_equal(m->u.error.experimenter, OFP_ONF_EXPERIMENTER_ID);
    assert_int_equal(m->u.error.data.len, 8);
}

static void chk_nicira10(const struct ofp_msg *m)
{
    uint32_t subtype = 0;
    assert_true(ofp_is_nicira(m, &subtype));
    assert_int_equal(subtype, 11);
    struct ofp_error err;
    ofp_experimenter_error(m, false, &err);
    assert_int_equal(err.type, 1);
    assert_int_equal(err.code, 3);  /* OFPBRC_BAD_VENDOR */
    ofp_experimenter_error(m, true, &err);
    assert_int_equal(err.code, 4);  /* OFPBRC_BAD_SUBTYPE */
}

static void test_hand_layouts(void **state)
{
    (void)state;
    check_hand("04 00 00 10 00 00 00 01 00 01 00 08 00 00 00 12", OFP_MSG_HELLO, chk_hello);
    check_hand("01 06 00 50 00 00 00 02 00 00 00 00 00 00 00 01 00 00 01 00 01 00 00 00"
               " 00 00 00 c7 00 00 0f ff"
               " 00 01 02 00 00 00 00 01 65 74 68 31 00 00 00 00 00 00 00 00 00 00 00 00"
               " 00 00 00 00 00 00 00 00 00 00 00 82 00 00 00 00 00 00 00 00 00 00 00 00",
               OFP_MSG_FEATURES_REPLY, chk_features10);
    check_hand("04 0f 00 30 00 00 00 03 00 00 01 00 00 00 00 01"
               " 00 20 00 03 ff ff ff ff ff ff ff ff 00 00 00 00"
               " 00 00 00 10 00 00 00 01 00 00 00 00 00 00 00 00",
               OFP_MSG_GROUP_MOD, chk_group_mod);
    check_hand("04 1d 00 30 00 00 00 04 00 00 00 05 00 00 00 01"
               " 00 01 00 10 00 00 03 e8 00 00 00 64 00 00 00 00"
               " 00 02 00 10 00 00 01 f4 00 00 00 32 02 00 00 00",
               OFP_MSG_METER_MOD, chk_meter_mod);
    check_hand("04 13 00 50 00 00 00 05 00 0d 00 01 00 00 00 00"
               " 00 00 00 07 00 00 00 00 02 00 00 00 00 07 00 00"
               " 70 37 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
               " 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00 00"
               " 00 00 00 00 00 00 00 00 00 98 96 80 01 02 03 04",
               OFP_MSG_MULTIPART_REPLY, chk_port_desc);
    check_hand("01 0d 00 20 00 00 00 06 ff ff ff ff ff fd 00 08"
               " 00 00 00 08 00 01 00 00 01 02 03 04 05 06 07 08",
               OFP_MSG_PACKET_OUT, chk_packet_out10);
    check_hand("04 0a 00 2e 00 00 00 07 00 00 01 00 00 40 01 02 01 02 03 04 05 06 07 08"
               " 00 01 00 0c 80 00 00 04 00 00 00 03 00 00 00 00 00 00 aa bb cc dd",
               OFP_MSG_PACKET_IN, chk_packet_in13);
    check_hand("04 01 00 18 00 00 00 08 ff ff 0a 28 4f 4e 46 00 01 02 03 04 05 06 07 08",
               OFP_MSG_ERROR, chk_error13);
    check_hand("01 04 00 14 00 00 00 09 00 00 23 20 00 00 00 0b aa bb cc dd",
               OFP_MSG_EXPERIMENTER, chk_nicira10);
}

/* ---- round trips ---- */

static void round_trip_version(uint8_t version)
{
    struct ofp_msg samples[OFP_SAMPLES_MAX];
    size_t n = ofp_samples(version, samples, OFP_SAMPLES_MAX);
    assert_true(n <= OFP_SAMPLES_MAX);
    unsigned types_seen = 0;
    for (size_t i = 0; i < n; i++) {
        char name[64];
        ofp_sample_name(&samples[i], name, sizeof(name));
        struct ofp_buf b, b2;
        ofp_buf_init(&b);
        ofp_buf_init(&b2);
        struct ofp_error err;
        int rc = ofp_encode(&samples[i], &b, &err);
        if (rc != 0)
            fail_msg("encode %s v%u: %d %s", name, version, rc, ofp_err_name(err.err));
        struct ofp_msg m;
        rc = decode_copy(b.data, b.len, &m, &err);
        if (rc != 0)
            fail_msg("decode %s v%u: %d %s", name, version, rc, ofp_err_name(err.err));
        if (!ofp_msg_equal(&samples[i], &m))
            fail_msg("%s v%u: decoded message differs", name, version);
        assert_true(ofp_msg_equal(&m, &samples[i]));
        assert_int_equal(ofp_encode(&m, &b2, NULL), 0);
        assert_int_equal(b2.len, b.len);
        assert_memory_equal(b2.data, b.data, b.len);
        char text[1024];
        size_t tl = ofp_msg_summary(&m, text, sizeof(text));
        assert_true(tl > 10 && tl < sizeof(text));
        assert_non_null(strstr(text, "OFPT_"));
        types_seen |= 1u << m.type;
        ofp_msg_free(&m);
        ofp_buf_free(&b);
        ofp_buf_free(&b2);
    }
    /* every message type of the version has a sample */
    for (int t = 0; t < OFP_MSG_N_TYPES; t++)
        if (ofp_msg_type_to_wire(t, version) >= 0 && !(types_seen >> t & 1))
            fail_msg("no sample of %s in v%u", ofp_msg_type_name(t, version), version);
}

static void test_round_trip10(void **state)
{
    (void)state;
    round_trip_version(OFP10_VERSION);
}

static void test_round_trip13(void **state)
{
    (void)state;
    round_trip_version(OFP13_VERSION);
}

static void test_encode_refuses(void **state)
{
    (void)state;
    struct ofp_buf b;
    ofp_buf_init(&b);
    struct ofp_error err;
    struct ofp_msg m = {.version = OFP10_VERSION, .type = OFP_MSG_GROUP_MOD};
    assert_int_equal(ofp_encode(&m, &b, &err), -EINVAL);
    assert_int_equal(err.err, OFPERR_OFPBRC_BAD_TYPE);
    assert_int_equal(b.len, 0);
    m = (struct ofp_msg){.version = 3, .type = OFP_MSG_ECHO_REQUEST};
    assert_int_equal(ofp_encode(&m, &b, &err), -EINVAL);
    assert_int_equal(err.err, OFPERR_OFPBRC_BAD_VERSION);
    /* 1.3-only match field in a 1.0 flow-mod */
    m = (struct ofp_msg){.version = OFP10_VERSION, .type = OFP_MSG_FLOW_MOD};
    m.u.flow_mod.out_port = OFPP_ANY;
    ofp_match_set_uint(&m.u.flow_mod.match, OFPXMT_TUNNEL_ID, 5, false, 0);
    assert_int_equal(ofp_encode(&m, &b, &err), -EINVAL);
    assert_int_equal(err.err, OFPERR_OFPBMC_BAD_FIELD);
    assert_int_equal(err.type, 0);    /* NX1.0 (0,263) */
    assert_int_equal(err.code, 263);
    /* 1.3-only action in 1.0, 1.0-only action in 1.3 */
    ofp_match_init(&m.u.flow_mod.match);
    struct ofp_action a = {.kind = OFPACT_GROUP, .group_id = 1};
    m.u.flow_mod.actions = (struct ofp_action_list){&a, 1};
    assert_int_equal(ofp_encode(&m, &b, &err), -EINVAL);
    assert_int_equal(err.err, OFPERR_OFPBAC_BAD_TYPE);
    struct ofp_action a10 = {.kind = OFPACT_SET_DL_SRC};
    struct ofp_instruction in = {.type = OFPIT_APPLY_ACTIONS, .actions = {&a10, 1}};
    m.version = OFP13_VERSION;
    m.u.flow_mod.instructions = (struct ofp_instruction_list){&in, 1};
    assert_int_equal(ofp_encode(&m, &b, &err), -EINVAL);
    assert_int_equal(err.err, OFPERR_OFPBAC_BAD_TYPE);
    /* a port that 1.0 cannot carry */
    m = (struct ofp_msg){.version = OFP10_VERSION, .type = OFP_MSG_PORT_MOD};
    m.u.port_mod.port_no = 0x10000;
    assert_int_equal(ofp_encode(&m, &b, &err), -EINVAL);
    assert_int_equal(err.err, OFPERR_OFPBRC_BAD_PORT);
    /* too long for the 16-bit length */
    static uint8_t big[70000];
    m = (struct ofp_msg){.version = OFP13_VERSION, .type = OFP_MSG_ECHO_REQUEST};
    m.u.echo = (struct ofp_bytes){big, sizeof(big)};
    assert_int_equal(ofp_encode(&m, &b, &err), -EINVAL);
    assert_int_equal(err.err, OFPERR_OFPBRC_BAD_LEN);
    assert_int_equal(b.len, 0);
    assert_int_equal(ofp_encode(NULL, &b, &err), -EINVAL);
    ofp_buf_free(&b);
    ofp_buf_free(NULL);
}

/* ---- helpers ---- */

static void test_error_reply(void **state)
{
    (void)state;
    uint8_t req[100];
    for (size_t i = 0; i < sizeof(req); i++)
        req[i] = (uint8_t)i;
    struct ofp_buf b;
    ofp_buf_init(&b);
    struct ofp_error e = {.err = OFPERR_OFPBMC_BAD_PREREQ};
    assert_int_equal(ofp_encode_error_reply(OFP13_VERSION, 77, &e, req, sizeof(req), &b), 0);
    assert_int_equal(b.len, 8 + 4 + 64);
    uint8_t head[12];
    hex("04 01 00 4c 00 00 00 4d 00 04 00 09", head, sizeof(head));
    assert_memory_equal(b.data, head, sizeof(head));
    assert_memory_equal(b.data + 12, req, 64);
    ofp_buf_clear(&b);
    assert_int_equal(ofp_encode_error_reply(OFP10_VERSION, 1, &e, req, 10, &b), 0);
    hex("01 01 00 16 00 00 00 01 00 01 01 04", head, sizeof(head));
    assert_memory_equal(b.data, head, sizeof(head));
    ofp_buf_clear(&b);
    e = (struct ofp_error){.err = OFPERR_OFPBIC_DUP_INST};
    assert_int_equal(ofp_encode_error_reply(OFP13_VERSION, 2, &e, req, 8, &b), 0);
    uint8_t exp[24];
    hex("04 01 00 18 00 00 00 02 ff ff 0a 28 4f 4e 46 00 00 01 02 03 04 05 06 07", exp,
        sizeof(exp));
    assert_int_equal(b.len, sizeof(exp));
    assert_memory_equal(b.data, exp, sizeof(exp));
    assert_int_equal(ofp_encode_error_reply(OFP13_VERSION, 2, NULL, req, 8, &b), -EINVAL);
    assert_int_equal(ofp_encode_error_reply(OFP13_VERSION, 2, &e, NULL, 8, &b), -EINVAL);
    ofp_buf_free(&b);
}

static void test_negotiate(void **state)
{
    (void)state;
    uint8_t v = 0;
    const uint32_t ours = 1u << 1 | 1u << 4;
    struct ofp_hello peer = {.has_bitmap = true, .bitmap = 1u << 1 | 1u << 4 | 1u << 5};
    assert_int_equal(ofp_negotiate_version(ours, 5, &peer, &v), 0);
    assert_int_equal(v, 4);
    peer.bitmap = 1u << 1 | 1u << 3;
    assert_int_equal(ofp_negotiate_version(ours, 3, &peer, &v), 0);
    assert_int_equal(v, 1);
    peer.bitmap = 1u << 2 | 1u << 3;
    assert_int_equal(ofp_negotiate_version(ours, 3, &peer, &v), -EPROTO);
    /* no bitmap: min(our highest, theirs), which we must support */
    assert_int_equal(ofp_negotiate_version(ours, 1, NULL, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ofp_negotiate_version(ours, 6, NULL, &v), 0);
    assert_int_equal(v, 4);
    assert_int_equal(ofp_negotiate_version(ours, 3, NULL, &v), -EPROTO);
    struct ofp_hello none = {.has_bitmap = false};
    assert_int_equal(ofp_negotiate_version(ours, 4, &none, &v), 0);
    assert_int_equal(v, 4);
    assert_int_equal(ofp_negotiate_version(1u << 4, 1, NULL, &v), -EPROTO);
    assert_int_equal(ofp_negotiate_version(0, 1, NULL, &v), -EINVAL);
    /* a 1.0 hello body is ignored even if garbage */
    uint8_t b[16];
    hex("01 00 00 0b 00 00 00 01 ff ff ff", b, sizeof(b));
    struct ofp_msg m;
    assert_int_equal(decode_copy(b, 11, &m, NULL), 0);
    assert_false(m.u.hello.has_bitmap);
    ofp_msg_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_len),
        cmocka_unit_test(test_decode_bad_header),
        cmocka_unit_test(test_decode_bad_messages),
        cmocka_unit_test(test_flow_mod_errors),
        cmocka_unit_test(test_flow_mod10_errors),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_hand_flow_mod10),
        cmocka_unit_test(test_hand_flow_mod13),
        cmocka_unit_test(test_hand_layouts),
        cmocka_unit_test(test_round_trip10),
        cmocka_unit_test(test_round_trip13),
        cmocka_unit_test(test_error_reply),
        cmocka_unit_test(test_negotiate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
