/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: lib/pkt/proto on arbitrary frames.
 *
 * The input is one Ethernet frame, parsed in place (libFuzzer's buffer is
 * exactly @size bytes, so ASan catches any read past the end). Then, on a
 * copy:
 *   - the layout is self-consistent;
 *   - checksum verification runs on the original; after pkt_*_csum_set()
 *     succeeds, verification must succeed;
 *   - rewrites (IPv4/IPv6 addresses, ports, TTL, TOS), with parameters taken
 *     from the input, keep those checksums valid and the layout unchanged,
 *     and run again with the L4 checksum marked as left to offload;
 *   - VLAN push then pop, and pop then push, restore the original bytes.
 * Any broken invariant aborts.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkt_csum.h"
#include "pkt_edit.h"
#include "pkt_proto.h"

#define HEADROOM 8

static uint8_t param(const uint8_t *data, size_t size, size_t i)
{
    return size ? data[(i * 31 + 7) % size] : (uint8_t)i;
}

static void check_layout(const struct pkt_layout *lay, size_t size, enum pkt_status st)
{
    if (lay->status != st || (st == PKT_OK) != (lay->err_layer == PKT_LAYER_NONE))
        abort();
    if (lay->l3_ofs != PKT_OFS_NONE && lay->l3_ofs > size)
        abort();
    if (lay->l4 != PKT_LAYER_NONE && (lay->l4_ofs == PKT_OFS_NONE || lay->l4_ofs > size ||
                                      lay->payload_ofs < lay->l4_ofs || lay->payload_ofs > lay->ip_end))
        abort();
    if (st == PKT_OK && lay->ip_end != PKT_OFS_NONE && lay->ip_end > size)
        abort();
}

static void rewrite(uint8_t *frame, size_t size, const struct pkt_layout *lay,
                    const uint8_t *data, bool ip_ok, bool l4_ok)
{
    uint8_t addr6[16];
    for (size_t i = 0; i < 16; i++)
        addr6[i] = param(data, size, i + 40);
    uint32_t addr4 = (uint32_t)param(data, size, 1) << 24 | param(data, size, 2) << 16 |
                     param(data, size, 3) << 8 | param(data, size, 4);
    uint16_t port = (uint16_t)(param(data, size, 5) << 8 | param(data, size, 6));
    uint8_t which = param(data, size, 0);
    int rc[8];
    rc[0] = pkt_set_ipv4_src(frame, size, lay, addr4);
    rc[1] = pkt_set_ipv4_dst(frame, size, lay, ~addr4);
    rc[2] = which & 1 ? pkt_set_ipv6_src(frame, size, lay, addr6)
                      : pkt_set_ipv6_dst(frame, size, lay, addr6);
    rc[3] = pkt_set_tp_src(frame, size, lay, port);
    rc[4] = pkt_set_tp_dst(frame, size, lay, (uint16_t)~port);
    rc[5] = pkt_set_ip_ttl(frame, size, lay, param(data, size, 8));
    rc[6] = pkt_set_ip_tos(frame, size, lay, param(data, size, 9), param(data, size, 10));
    rc[7] = pkt_set_eth_addrs(frame, size, addr6, addr6 + 6);
    for (int i = 0; i < 8; i++)
        if (rc[i] != 0 && rc[i] != -ENOENT && rc[i] != -EINVAL && rc[i] != -ENOTSUP)
            abort();
    if (ip_ok && pkt_ipv4_csum_verify(frame, size, lay) != 0)
        abort();
    if (l4_ok && pkt_l4_csum_verify(frame, size, lay) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pkt_flow flow = {.in_port = 0x1234};
    struct pkt_layout lay;
    enum pkt_status st = pkt_parse(data, size, &flow, &lay);
    if (flow.in_port != 0x1234)
        abort();
    check_layout(&lay, size, st);
    char desc[32];
    pkt_layout_describe(&lay, desc, sizeof(desc));

    /* Verification never writes; the results are checked below. */
    (void)pkt_ipv4_csum_verify(data, size, &lay);
    (void)pkt_l4_csum_verify(data, size, &lay);

    uint8_t *buf = malloc(size + HEADROOM + 1);
    if (!buf)
        return 0;
    uint8_t *frame = buf + HEADROOM;
    if (size)
        memcpy(frame, data, size);

    /* Checksums, then rewrites that must keep them right. */
    bool ip_ok = pkt_ipv4_csum_set(frame, size, &lay) == 0;
    if (ip_ok && pkt_ipv4_csum_verify(frame, size, &lay) != 0)
        abort();
    bool l4_ok = pkt_l4_csum_set(frame, size, &lay) == 0;
    if (l4_ok && pkt_l4_csum_verify(frame, size, &lay) != 0)
        abort();
    rewrite(frame, size, &lay, data, ip_ok, l4_ok);
    struct pkt_flow flow2 = {.in_port = 0x1234};
    struct pkt_layout lay2;
    pkt_parse(frame, size, &flow2, &lay2);
    /* No rewritten field (checksums, addresses, ports, TTL, TOS) is one
     * the parser validates or walks by, so the layout must not change. */
    if (memcmp(&lay, &lay2, sizeof(lay)) != 0)
        abort();

    /* The same rewrites with the L4 checksum left to offload. */
    if (size)
        memcpy(frame, data, size);
    struct pkt_layout partial = lay;
    partial.l4_csum_partial = 1;
    rewrite(frame, size, &partial, data, false, false);
    int v = pkt_l4_csum_verify(frame, size, &partial);
    if (v >= 0 || (lay.l4 != PKT_LAYER_NONE && lay.l4 != PKT_LAYER_ICMP && v == -EBADMSG))
        abort();

    /* VLAN: push then pop restores the frame byte for byte. */
    if (size)
        memcpy(frame, data, size);
    size_t headroom = HEADROOM, len = size;
    uint16_t tpid = param(data, size, 11) & 1 ? PKT_ETH_TYPE_QINQ : PKT_ETH_TYPE_VLAN;
    uint16_t tci = (uint16_t)(param(data, size, 12) << 8 | param(data, size, 13));
    int rc = pkt_vlan_push(buf, &headroom, &len, tpid, tci);
    if (rc == 0) {
        uint16_t got_tpid, got_tci;
        if (pkt_vlan_pop(buf, &headroom, &len, &got_tpid, &got_tci) != 0 || got_tpid != tpid ||
            got_tci != tci || headroom != HEADROOM || len != size)
            abort();
    } else if (rc != -EINVAL || size >= PKT_ETH_HDR_LEN) {
        abort();
    }
    if (size && memcmp(frame, data, size) != 0)
        abort();

    /* And pop then push, for tagged frames. */
    uint16_t got_tpid, got_tci;
    if (pkt_vlan_pop(buf, &headroom, &len, &got_tpid, &got_tci) == 0) {
        if (flow.n_vlans == 0 || got_tpid != flow.vlans[0].tpid ||
            (got_tci & PKT_VLAN_VID_MASK) != flow.vlans[0].vid)
            abort();
        if (pkt_vlan_push(buf, &headroom, &len, got_tpid, got_tci) != 0 || headroom != HEADROOM ||
            len != size || memcmp(frame, data, size) != 0)
            abort();
    } else if (flow.n_vlans != 0) {
        abort();
    }
    free(buf);
    return 0;
}
