/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Offloads finished in software, for ports (or guests) that cannot take
 * them: a partial checksum is computed; a TCP segmentation-offload frame is
 * cut into MSS-sized segments with their own IP lengths and identifiers,
 * TCP sequence numbers, flags and checksums — what a NIC's TSO does.
 */
#include <errno.h>
#include <string.h>

#include "pkt.h"
#include "pkt_csum.h"
#include "pkt_proto.h"

/* Write @len bytes at byte @off of a (possibly chained) packet. */
static void write_at(struct pkt_buf *b, uint32_t off, const void *src, uint32_t len)
{
    const uint8_t *s = src;
    for (struct pkt_buf *seg = b; seg && len; seg = seg->next) {
        if (off >= seg->data_len) {
            off -= seg->data_len;
            continue;
        }
        uint32_t k = KK_MIN(len, seg->data_len - off);
        memcpy(pkt_data(seg) + off, s, k);
        s += k;
        len -= k;
        off = 0;
    }
}

int pkt_offload_finish(struct pkt_buf *b, struct pkt_pool *pool, struct pkt_buf **out,
                       unsigned max_out)
{
    static __thread uint8_t lin[PKT_OFFLOAD_MAX_FRAME];
    if (!(b->ol_flags & (PKT_OL_CSUM_PARTIAL | PKT_OL_GSO))) {
        out[0] = b;
        return 1;
    }
    int rc = -EINVAL;
    uint32_t len = b->pkt_len;
    if (len > sizeof(lin) || max_out == 0)
        goto drop;
    pkt_read(b, 0, lin, len);
    struct pkt_flow flow;
    struct pkt_layout lay;
    pkt_parse(lin, len, &flow, &lay);

    if (!(b->ol_flags & PKT_OL_GSO)) {
        /* The field holds the pseudo-header sum: sum from csum_start on. */
        uint32_t at = (uint32_t)b->csum_start + b->csum_offset;
        if (at + 2 > len)
            goto drop;
        uint16_t c = pkt_csum_finish(pkt_csum_add(0, lin + b->csum_start, len - b->csum_start));
        if (c == 0 && lay.l4 == PKT_LAYER_UDP && b->csum_start == lay.l4_ofs)
            c = 0xffff; /* UDP sends a computed zero as all ones */
        uint8_t be[2] = {(uint8_t)(c >> 8), (uint8_t)c};
        write_at(b, at, be, 2);
        b->ol_flags &= (uint16_t)~PKT_OL_CSUM_PARTIAL;
        out[0] = b;
        return 1;
    }

    /* TCP segmentation. */
    rc = -ENOTSUP;
    if (lay.l4 != PKT_LAYER_TCP || (lay.l3 != PKT_LAYER_IPV4 && lay.l3 != PKT_LAYER_IPV6) ||
        lay.payload_ofs > len || b->gso_size == 0)
        goto drop;
    uint32_t hdr = lay.payload_ofs, payload = len - hdr, mss = b->gso_size;
    uint32_t n = payload ? (payload + mss - 1) / mss : 1;
    if (n > max_out || hdr + KK_MIN(mss, payload) > pool->data_room) {
        rc = n > max_out ? -ENOSPC : -ENOTSUP;
        goto drop;
    }
    uint32_t l3 = lay.l3_ofs, l4 = lay.l4_ofs;
    uint32_t seq0 = pkt_get32(lin + l4 + 4);
    uint16_t id0 = lay.l3 == PKT_LAYER_IPV4 ? pkt_get16(lin + l3 + 4) : 0;
    uint8_t flags0 = lin[l4 + 13];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t part = KK_MIN(mss, payload - i * mss);
        struct pkt_buf *s = pkt_alloc(pool);
        uint8_t *d = s ? pkt_append(s, hdr + part) : NULL;
        if (!d) {
            pkt_free(s);
            pkt_free_bulk(out, i);
            rc = -ENOMEM;
            goto drop;
        }
        memcpy(d, lin, hdr);
        memcpy(d + hdr, lin + hdr + i * mss, part);
        if (lay.l3 == PKT_LAYER_IPV4) {
            pkt_put16(d + l3 + 2, (uint16_t)(hdr - l3 + part));
            pkt_put16(d + l3 + 4, (uint16_t)(id0 + i));
        } else {
            pkt_put16(d + l3 + 4, (uint16_t)(hdr - l3 - 40 + part));
        }
        pkt_put32(d + l4 + 4, seq0 + i * mss);
        uint8_t f = flags0;
        if (i + 1 < n)
            f &= (uint8_t)~0x09; /* FIN and PSH only on the last */
        if (i > 0)
            f &= (uint8_t)~0x80; /* CWR only on the first */
        d[l4 + 13] = f;
        struct pkt_layout sl;
        pkt_parse(d, hdr + part, &flow, &sl);
        if (sl.status != PKT_OK ||
            (lay.l3 == PKT_LAYER_IPV4 && pkt_ipv4_csum_set(d, hdr + part, &sl) < 0) ||
            pkt_l4_csum_set(d, hdr + part, &sl) < 0) {
            pkt_free(s);
            pkt_free_bulk(out, i);
            rc = -EINVAL;
            goto drop;
        }
        s->port = b->port;
        s->hash = b->hash;
        s->ol_flags = (uint16_t)(b->ol_flags & PKT_OL_HASH);
        out[i] = s;
    }
    pkt_free(b);
    return (int)n;
drop:
    pkt_free(b);
    return rc;
}

int pkt_offload_for_caps(struct pkt_buf *b, bool csum_ok, bool gso_ok, struct pkt_pool *pool,
                         struct pkt_buf **out, unsigned max_out)
{
    bool gso = b->ol_flags & PKT_OL_GSO, partial = b->ol_flags & PKT_OL_CSUM_PARTIAL;
    /* A device that segments also computes the checksums of the segments. */
    bool need = gso ? !gso_ok : (partial && !csum_ok);
    if (!need) {
        out[0] = b;
        return 1;
    }
    return pkt_offload_finish(b, pool, out, max_out);
}
