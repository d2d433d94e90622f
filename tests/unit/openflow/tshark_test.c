/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interoperability with Wireshark's OpenFlow dissectors: the samples of
 * each version are encoded, written as the payloads of one TCP connection
 * to port 6653 (handshake, one message per segment, correct lengths,
 * checksums and sequence numbers) into a pcap file that this test writes
 * itself, and `tshark -V` must recognise every message type and report no
 * malformed packet and no error-level expert info. Skipped when tshark is
 * not installed.
 */
#include <unistd.h>

#include "kk_common.h"
#include "ofp_samples.h"
#include "ofp_test_util.h"

struct pcap {
    FILE *f;
    uint32_t seq_client, seq_server;
    uint32_t usec;
};

static void put_le32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fwrite(b, 1, 4, f);
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

enum { TCP_FIN = 1, TCP_SYN = 2, TCP_PSH = 8, TCP_ACK = 16 };

/* One Ethernet/IPv4/TCP frame. */
static void write_segment(struct pcap *pc, bool from_client, uint8_t flags, const uint8_t *data,
                          size_t len)
{
    uint8_t f[14 + 20 + 20 + 65536];
    static const uint8_t mac_c[6] = {2, 0, 0, 0, 0, 1}, mac_s[6] = {2, 0, 0, 0, 0, 2};
    memcpy(f, from_client ? mac_s : mac_c, 6);
    memcpy(f + 6, from_client ? mac_c : mac_s, 6);
    set16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *tcp = ip + 20;
    memset(ip, 0, 40);
    ip[0] = 0x45;
    set16(ip + 2, (uint16_t)(40 + len));
    set16(ip + 4, (uint16_t)(pc->usec & 0xffff));
    ip[6] = 0x40; /* DF */
    ip[8] = 64;
    ip[9] = 6;
    uint8_t c_ip[4] = {10, 0, 0, 1}, s_ip[4] = {10, 0, 0, 2};
    memcpy(ip + 12, from_client ? c_ip : s_ip, 4);
    memcpy(ip + 16, from_client ? s_ip : c_ip, 4);
    set16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    set16(tcp, from_client ? 40000 : OFP_TCP_PORT);
    set16(tcp + 2, from_client ? OFP_TCP_PORT : 40000);
    set32(tcp + 4, from_client ? pc->seq_client : pc->seq_server);
    set32(tcp + 8, (flags & TCP_ACK) ? (from_client ? pc->seq_server : pc->seq_client) : 0);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    set16(tcp + 14, 65535);
    if (len)
        memcpy(tcp + 20, data, len);
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    set16(pseudo + 10, (uint16_t)(20 + len));
    set16(tcp + 16, csum_fold(csum_add(csum_add(0, pseudo, 12), tcp, 20 + len)));
    size_t total = 54 + len;
    put_le32(pc->f, 1700000000);
    put_le32(pc->f, pc->usec);
    put_le32(pc->f, (uint32_t)total);
    put_le32(pc->f, (uint32_t)total);
    fwrite(f, 1, total, pc->f);
    pc->usec += 10;
    uint32_t adv = (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
    if (from_client)
        pc->seq_client += adv;
    else
        pc->seq_server += adv;
}

/* Wireshark 4.0 raises an exception after a (correct, 16-byte)
 * experimenter meter band: its dissector reads past the band. Those
 * samples stay out of the capture (they round-trip in msg_test). */
static bool dissector_can_read(const struct ofp_msg *m)
{
    if (m->type != OFP_MSG_METER_MOD)
        return true;
    for (size_t i = 0; i < m->u.meter_mod.n_bands; i++)
        if (m->u.meter_mod.bands[i].type == OFPMBT_EXPERIMENTER)
            return false;
    return true;
}

static bool have_tshark(void)
{
    return system("command -v tshark >/dev/null 2>&1") == 0;
}

/* Write the samples of @version, run tshark, check its output. */
static void check_version(uint8_t version, const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/openflow-v%u.pcap", dir, version);
    struct pcap pc = {fopen(path, "wb"), 1000, 50000, 0};
    assert_non_null(pc.f);
    put_le32(pc.f, 0xa1b2c3d4);
    uint8_t vh[4] = {2, 0, 4, 0};
    fwrite(vh, 1, 4, pc.f);
    put_le32(pc.f, 0);
    put_le32(pc.f, 0);
    put_le32(pc.f, 65535);
    put_le32(pc.f, 1); /* Ethernet */
    write_segment(&pc, true, TCP_SYN, NULL, 0);
    write_segment(&pc, false, TCP_SYN | TCP_ACK, NULL, 0);
    write_segment(&pc, true, TCP_ACK, NULL, 0);

    struct ofp_msg all[OFP_SAMPLES_MAX], s[OFP_SAMPLES_MAX];
    size_t total = ofp_samples(version, all, OFP_SAMPLES_MAX), n = 0;
    for (size_t i = 0; i < total; i++)
        if (dissector_can_read(&all[i]))
            s[n++] = all[i];
    assert_true(n + 1 >= total);
    for (size_t i = 0; i < n; i++) {
        struct ofp_buf b;
        ofp_buf_init(&b);
        assert_int_equal(ofp_encode(&s[i], &b, NULL), 0);
        write_segment(&pc, true, TCP_PSH | TCP_ACK, b.data, b.len);
        ofp_buf_free(&b);
    }
    fclose(pc.f);

    char cmd[2048], out_path[600];
    snprintf(out_path, sizeof(out_path), "%s/tshark-v%u.txt", dir, version);
    snprintf(cmd, sizeof(cmd), "tshark -n -r '%s' -V -d tcp.port==%d,openflow >'%s' 2>&1", path,
             OFP_TCP_PORT, out_path);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(out_path, "r");
    assert_non_null(f);
    static char text[4 << 20];
    size_t len = fread(text, 1, sizeof(text) - 1, f);
    text[len] = '\0';
    fclose(f);

    /* every message type, under the name this version's dissector uses */
    for (size_t i = 0; i < n; i++) {
        const char *name = ofp_msg_type_name(s[i].type, version);
        if (!strstr(text, name))
            fail_msg("v%u: tshark did not decode %s (output in %s)", version, name, out_path);
        if (s[i].type == OFP_MSG_MULTIPART_REQUEST || s[i].type == OFP_MSG_MULTIPART_REPLY) {
            const char *mp = ofp_mp_type_name(s[i].u.multipart.type, version);
            if (!strstr(text, mp))
                fail_msg("v%u: tshark did not decode %s (output in %s)", version, mp, out_path);
        }
    }
    /* and one OpenFlow PDU per sample */
    size_t pdus = 0;
    /* top-level protocol lines only (an error's data is dissected too) */
    const char *tag = version == OFP10_VERSION ? "\nOpenFlow 1.0\n" : "\nOpenFlow 1.3\n";
    for (const char *p = text; (p = strstr(p, tag)); p++)
        pdus++;
    if (pdus != n)
        fail_msg("v%u: %zu OpenFlow PDUs in tshark's output, %zu samples (%s)", version, pdus,
                 n, out_path);
    const char *bad[] = {"Malformed", "Expert Info (Error"};
    for (size_t i = 0; i < KK_ARRAY_SIZE(bad); i++) {
        const char *hit = strstr(text, bad[i]);
        if (hit) {
            /* show the message it belongs to */
            const char *start = hit;
            for (int back = 0; start > text && back < 40; back++)
                start = memrchr(text, '\n', (size_t)(start - text)) ?: text;
            fail_msg("v%u: tshark reports '%s' (%s): ...%.400s", version, bad[i], out_path,
                     start);
        }
    }
}

static int setup(void **state)
{
    *state = kk_test_mkdtemp();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    if (getenv("OFP_KEEP_PCAP"))
        fprintf(stderr, "# pcap kept in %s\n", (char *)*state);
    else
        kk_test_rmdir(*state);
    return 0;
}

static void test_tshark10(void **state)
{
    if (!have_tshark())
        skip();
    check_version(OFP10_VERSION, *state);
}

static void test_tshark13(void **state)
{
    if (!have_tshark())
        skip();
    check_version(OFP13_VERSION, *state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tshark10),
        cmocka_unit_test(test_tshark13),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
