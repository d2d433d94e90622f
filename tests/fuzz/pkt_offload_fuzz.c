/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what a guest (or a tap) hands lib/pkt with a frame — a
 * virtio-net header asking for checksum and segmentation offloads — and
 * the software that finishes those offloads for ports that cannot.
 *
 * Input: 12 bytes of virtio-net header, then the frame. The header is
 * checked (pkt_vnet_hdr_apply); if accepted, pkt_offload_finish() runs on
 * the packet. Every segment it makes must parse with lib/pkt/proto, carry
 * valid IP and L4 checksums when it came from segmentation, and fit a
 * buffer; nothing may leak (the pool is checked full at the end).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kk_log.h"
#include "pkt.h"
#include "pkt_csum.h"
#include "pkt_proto.h"
#include "port_internal.h"

#define POOL 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pkt_pool *pool;
    if (!pool) {
        kk_log_set_level(KK_LOG_ERR);
        if (pkt_pool_create("fuzz", POOL, 0, 0, &pool) < 0)
            abort();
    }
    struct virtio_net_hdr h;
    if (size < sizeof(h) + 14 || size - sizeof(h) > PKT_OFFLOAD_MAX_FRAME)
        return 0;
    memcpy(&h, data, sizeof(h));
    struct pkt_buf *b = pkt_from_bytes(pool, data + sizeof(h), (uint32_t)(size - sizeof(h)));
    if (!b)
        abort(); /* the pool is large enough for any frame we accept */
    if (pkt_vnet_hdr_apply(b, &h) < 0) {
        pkt_free(b);
    } else {
        bool gso = b->ol_flags & PKT_OL_GSO;
        struct pkt_buf *out[PKT_GSO_MAX_SEGS];
        int n = pkt_offload_finish(b, pool, out, PKT_GSO_MAX_SEGS);
        if (n > (int)PKT_GSO_MAX_SEGS)
            abort();
        for (int i = 0; i < n; i++) {
            if (out[i]->ol_flags & (PKT_OL_GSO | PKT_OL_CSUM_PARTIAL))
                abort(); /* nothing left to offload */
            if (gso) {
                static uint8_t seg[PKT_DEFAULT_DATA_ROOM + PKT_HEADROOM];
                uint32_t len = out[i]->pkt_len;
                if (len > sizeof(seg) || out[i]->next)
                    abort(); /* segments fit one buffer */
                pkt_read(out[i], 0, seg, len);
                struct pkt_flow flow;
                struct pkt_layout lay;
                if (pkt_parse(seg, len, &flow, &lay) != PKT_OK || lay.l4 != PKT_LAYER_TCP)
                    abort();
                if (pkt_l4_csum_verify(seg, len, &lay) != 0)
                    abort();
                if (lay.l3 == PKT_LAYER_IPV4 && pkt_ipv4_csum_verify(seg, len, &lay) != 0)
                    abort();
            }
        }
        pkt_free_bulk(out, n > 0 ? (uint32_t)n : 0);
    }
    pkt_pool_flush_thread_cache(pool);
    if (pkt_pool_avail(pool) != POOL)
        abort(); /* a buffer leaked */
    return 0;
}
