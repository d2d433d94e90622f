/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: lib/switch flow keys from arbitrary frames.
 *
 * The input is one Ethernet frame, extracted in place (libFuzzer's buffer
 * is exactly @size bytes, so ASan catches any read past the end). Then:
 *   - the key agrees with pkt_parse() + sw_flow_from_pkt() on a copy;
 *   - its text under the exact mask, and under a mask drawn from the
 *     input, parses back to the same key and mask;
 *   - hashing under a mask ignores the bits outside it;
 *   - with only a prefix of the frame at hand (sw_flow_extract_frame(), an
 *     exact-size copy), nothing past it is read, and unless the answer is
 *     PKT_TRUNCATED it is the whole frame's status and key (and the simple
 *     reader's words, when it accepts, agree with them).
 * Any broken invariant aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

static void round_trip(const struct sw_flow_key *key, const struct sw_flow_mask *mask)
{
    char text[SW_FLOW_FORMAT_MAX];
    int n = sw_flow_format(key, mask, text, sizeof(text));
    if (n < 0 || n >= (int)sizeof(text))
        abort();
    struct sw_flow_key k2, masked;
    struct sw_flow_mask m2;
    if (sw_flow_parse(text, &k2, &m2, NULL, 0) != 0)
        abort();
    sw_flow_key_mask(&masked, key, mask);
    if (memcmp(&m2, mask, sizeof(m2)) != 0 || memcmp(&k2, &masked, sizeof(k2)) != 0)
        abort();
    if (sw_flow_hash_masked(key, mask, 1) != sw_flow_hash_masked(&masked, mask, 1))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t in_port = size ? data[0] : 0;
    struct sw_flow_key key;
    struct pkt_layout lay;
    enum pkt_status st = sw_flow_extract(data, size, in_port, &key, &lay);
    if (st != lay.status)
        abort();

    /* The same through the two-step path, on a copy. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    struct pkt_flow flow;
    struct pkt_layout lay2;
    flow.in_port = in_port;
    pkt_parse(copy, size, &flow, &lay2);
    free(copy);
    struct sw_flow_key key2;
    sw_flow_from_pkt(&flow, &key2);
    if (memcmp(&key, &key2, sizeof(key)) != 0)
        abort();
    /* The fast path (no layout) gives the same key and status. */
    struct sw_flow_key key3;
    if (sw_flow_extract(data, size, in_port, &key3, NULL) != st ||
        memcmp(&key, &key3, sizeof(key)) != 0)
        abort();

    /* A prefix of the frame. */
    size_t avail = size > 1 ? (size_t)data[1] * 7u % (size + 1) : size;
    uint8_t *part = malloc(avail ? avail : 1);
    if (!part)
        return 0;
    if (avail)
        memcpy(part, data, avail);
    struct sw_flow_key pkey;
    enum pkt_status pst = sw_flow_extract_frame(avail ? part : NULL, avail, size, in_port, &pkey,
                                                NULL);
    struct sw_flow_simple sk;
    bool simple = sw_flow_extract_simple_frame(avail ? part : NULL, avail, size, &sk);
    free(part);
    if (pst != PKT_TRUNCATED && (pst != st || memcmp(&pkey, &key, sizeof(key)) != 0))
        abort();
    if (simple) {
        if (pst == PKT_TRUNCATED || sk.tcp_flags != key.tcp_flags)
            abort();
        struct sw_flow_key sf;
        memset(&sf, 0, sizeof(sf));
        sf.dl_type = sf.vlan_tci = sf.vlan_tpid = sf.vlan_tci2 = sf.vlan_tpid2 = UINT16_MAX;
        sf.nw_proto = sf.nw_frag = UINT8_MAX;
        const uint64_t *kw = sw_flow_key_words(&key), *mw = sw_flow_key_words(&sf);
        for (unsigned i = 0; i < SW_FLOW_SIMPLE_WORDS; i++)
            if ((sk.w[i] ^ kw[sw_flow_simple_word[i]]) & mw[sw_flow_simple_word[i]])
                abort();
    }

    struct sw_flow_mask exact, mask;
    sw_flow_mask_exact(&exact);
    round_trip(&key, &exact);

    /* A mask drawn from the frame's bytes, limited to real fields. */
    uint8_t *mb = (uint8_t *)&mask.masks;
    const uint8_t *eb = (const uint8_t *)&exact.masks;
    for (size_t i = 0; i < sizeof(mask); i++)
        mb[i] = (uint8_t)((size ? data[(i * 7 + 3) % size] : 0) & eb[i]);
    round_trip(&key, &mask);
    return 0;
}
