/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HELLO encoding and version negotiation (OpenFlow 1.3.1+, 7.5.1 "Hello"
 * and "Hello elements"; 6.3.1 "Connection Setup").
 *
 * A HELLO's body is a list of elements, each (type be16, length be16,
 * data) padded to a multiple of 8 bytes; length counts the 4-byte element
 * header and the data, not the padding. Element type 1 (VERSIONBITMAP)
 * holds be32 bitmaps: bit b of bitmap i stands for version 32*i + b.
 */
#include <stdio.h>
#include <string.h>

#include "conn_internal.h"

#define HELLO_ELEM_VERSIONBITMAP 1
#define MSG_HELLO 0

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t highest(uint32_t versions)
{
    return versions ? (uint8_t)(31 - __builtin_clz(versions)) : 0;
}

size_t ofp__hello_encode(uint32_t versions, uint32_t xid, uint8_t buf[OFP__HELLO_MAX])
{
    uint8_t top = highest(versions);
    size_t len = top >= 0x04 ? 16 : 8;
    buf[0] = top;
    buf[1] = MSG_HELLO;
    put_be16(buf + 2, (uint16_t)len);
    put_be32(buf + 4, xid);
    if (len == 16) {
        put_be16(buf + 8, HELLO_ELEM_VERSIONBITMAP);
        put_be16(buf + 10, 8); /* header + one bitmap: no padding */
        put_be32(buf + 12, versions);
    }
    return len;
}

const char *ofp__versions_format(uint32_t versions, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned v = 0; v < 32 && used < len; v++) {
        if (!(versions & (1u << v)))
            continue;
        int n = snprintf(buf + used, len - used, "%s0x%02x", used ? ", " : "", v);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

/*
 * Find the peer's version bitmap among the elements (first 32 versions:
 * those are all that exist). Returns true and *out if there is one.
 */
static bool find_bitmap(const uint8_t *msg, size_t len, uint32_t *out)
{
    size_t off = 8;
    while (off + 4 <= len) {
        uint16_t type = get_be16(msg + off);
        uint16_t elen = get_be16(msg + off + 2);
        if (elen < 4 || elen > len - off) {
            KK_LOGD(ofconn_log, "HELLO: malformed element (type %u, length %u at offset %zu): "
                    "ignored", type, elen, off);
            return false;
        }
        if (type == HELLO_ELEM_VERSIONBITMAP) {
            if ((elen - 4) % 4 != 0 || elen == 4) {
                KK_LOGD(ofconn_log, "HELLO: version bitmap of length %u ignored", elen);
                return false;
            }
            *out = get_be32(msg + off + 4);
            return true;
        }
        /* Unknown element types are skipped, as the specification asks. */
        size_t step = ((size_t)elen + 7) & ~(size_t)7;
        if (step > len - off)
            break;
        off += step;
    }
    return false;
}

uint8_t ofp__hello_negotiate(uint32_t versions, const uint8_t *msg, size_t len, char *why,
                             size_t whylen)
{
    char ours[96], theirs[96];
    uint32_t peer;
    if (find_bitmap(msg, len, &peer)) {
        uint32_t common = versions & peer;
        if (common)
            return highest(common);
        snprintf(why, whylen, "We support versions %s; you support %s, no common version",
                 ofp__versions_format(versions, ours, sizeof(ours)),
                 peer ? ofp__versions_format(peer, theirs, sizeof(theirs)) : "none");
        return 0;
    }
    uint8_t v = KK_MIN(highest(versions), msg[0]);
    if (v < 32 && (versions & (1u << v)))
        return v;
    snprintf(why, whylen, "We support versions %s; you support 0x%02x and earlier, "
             "no common version", ofp__versions_format(versions, ours, sizeof(ours)), msg[0]);
    return 0;
}
