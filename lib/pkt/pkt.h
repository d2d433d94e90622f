/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkt.h — packet buffers and their pools.
 *
 * A struct pkt_buf is one segment: a header followed, in the same pool
 * object, by PKT_HEADROOM bytes of headroom and the data room. A packet is
 * a chain of segments through ->next (large frames, or frames received in
 * several guest buffers); the first segment carries the packet-wide fields
 * (pkt_len, nb_segs, port, offload flags, hash).
 *
 * Pools are kk_mempool objects in a memfd: shareable with another process
 * (a vhost-user frontend could map them), huge pages when the host has
 * them, never required. Allocation and freeing go through a per-thread
 * cache that the library keeps for each (thread, pool) pair: no atomics on
 * the common path, no setup by the caller.
 *
 * Threads: a buffer belongs to one thread at a time; hand it over through a
 * kk_ring. Pools may be used from any number of threads at once.
 */
#ifndef KK_PKT_H
#define KK_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kk_common.h"
#include "kk_mempool.h"

#define PKT_HEADROOM 128u             /* room for pushed headers (VLAN, tunnels) */
#define PKT_DEFAULT_DATA_ROOM 2048u   /* one standard frame plus slack */

/* Offload flags (pkt_buf.ol_flags), carried between guests, taps and ports. */
#define PKT_OL_CSUM_PARTIAL 0x0001u   /* L4 checksum to finish: csum_start/offset */
#define PKT_OL_CSUM_VALID   0x0002u   /* L4 checksum known good (checked by a device) */
#define PKT_OL_GSO          0x0004u   /* segment on output: gso_type, gso_size */
#define PKT_OL_HASH         0x0008u   /* hash is set */

/* pkt_buf.gso_type (virtio-net's numbering). */
#define PKT_GSO_NONE  0
#define PKT_GSO_TCPV4 1
#define PKT_GSO_UDP   3
#define PKT_GSO_TCPV6 4

struct pkt_pool;

struct pkt_buf {
    uint8_t *base;            /* start of the buffer (headroom included) */
    struct pkt_buf *next;     /* next segment, NULL for the last */
    struct pkt_pool *pool;
    uint32_t buf_size;        /* bytes at base */
    uint32_t data_off;        /* data starts at base + data_off */
    uint32_t data_len;        /* bytes of data in this segment */
    uint32_t pkt_len;         /* first segment: bytes in the whole packet */
    uint16_t nb_segs;         /* first segment: segments in the packet */
    uint16_t port;            /* first segment: input port id */
    uint16_t ol_flags;        /* PKT_OL_* */
    uint16_t csum_start;      /* PKT_OL_CSUM_PARTIAL: where summing starts */
    uint16_t csum_offset;     /* ... and where the sum goes, from csum_start */
    uint16_t gso_size;        /* PKT_OL_GSO: payload bytes per segment */
    uint8_t gso_type;         /* PKT_GSO_* */
    uint8_t flags;            /* this segment's PKT_F_* */
    uint16_t hdr_len;         /* PKT_OL_GSO: bytes of headers before the payload */
    uint32_t hash;            /* PKT_OL_HASH: flow hash */
    uint32_t borrow_tag;      /* PKT_F_BORROWED: who lent the data */
    uint64_t user;            /* for the application */
};

/*
 * A borrowed segment: its data is not in its own buffer but in memory a
 * port lent for the time of one burst (a vhost-user guest's transmit
 * buffer, see pkt_port_set_rx_borrow()). It is read-only: writers call
 * pkt_unborrow() (or pkt_make_writable()) first, which copies the data into
 * the segment's own buffer. Only continuation segments are borrowed; the
 * first segment of a packet always holds its headers in its own buffer.
 */
#define PKT_F_BORROWED 0x01u

/* Bytes of a pool object before its buffer (the header, cache-aligned). */
#define PKT_BUF_HDR_SIZE ((sizeof(struct pkt_buf) + 63u) & ~(size_t)63u)

struct pkt_pool {
    struct kk_mempool *mp;
    uint32_t data_room;       /* bytes after the headroom */
    uint32_t obj_size;
    char name[32];
};

/* Pool options: @count buffers of @data_room bytes (0: default); cache of
 * @cache_size buffers per thread (0: 256, capped by the count). */
int pkt_pool_create(const char *name, uint32_t count, uint32_t data_room, uint32_t cache_size,
                    struct pkt_pool **out);
/* Every buffer must be back (caches of other threads are flushed by them
 * on exit, or with pkt_pool_flush_thread_cache()). Accepts NULL. */
void pkt_pool_destroy(struct pkt_pool *pool);
/* Buffers free in the pool, not counting threads' caches. */
uint32_t pkt_pool_avail(const struct pkt_pool *pool);
/* Give the calling thread's cached buffers back to the pool. */
void pkt_pool_flush_thread_cache(struct pkt_pool *pool);

/* The calling thread's cache for @pool (created on first use; NULL if out
 * of memory, then the pool is used without a cache). */
struct kk_mempool_cache *pkt_pool_thread_cache(struct pkt_pool *pool);

static inline void pkt_reset(struct pkt_buf *b)
{
    b->next = NULL;
    b->data_off = PKT_HEADROOM;
    b->data_len = 0;
    b->pkt_len = 0;
    b->nb_segs = 1;
    b->port = 0;
    b->ol_flags = 0;
    b->gso_type = PKT_GSO_NONE;
    b->hash = 0;
    b->flags = 0;
    b->user = 0;
}

/* Allocate @n empty single-segment buffers: all (0) or none (-ENOMEM). */
static inline int pkt_alloc_bulk(struct pkt_pool *pool, struct pkt_buf **bufs, uint32_t n)
{
    if (kk_mempool_get_bulk(pool->mp, pkt_pool_thread_cache(pool), (void **)bufs, n) < 0)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        pkt_reset(bufs[i]);
    return 0;
}

static inline struct pkt_buf *pkt_alloc(struct pkt_pool *pool)
{
    struct pkt_buf *b;
    return pkt_alloc_bulk(pool, &b, 1) == 0 ? b : NULL;
}

/* Copy a borrowed segment's data into its own buffer (a no-op for others);
 * afterwards it is an ordinary segment. The lender guarantees the data fits. */
void pkt_unborrow(struct pkt_buf *seg);

/* Make every segment of @b writable (pkt_unborrow() each). */
void pkt_make_writable(struct pkt_buf *b);

/*
 * Move bytes from the following segments into the first until it holds
 * @len bytes (or the whole packet, or its buffer is full); emptied segments
 * are freed. Returns the first segment's data_len afterwards.
 */
uint32_t pkt_pullup(struct pkt_buf *b, uint32_t len);

/* Free a packet: every segment of the chain. Accepts NULL. */
void pkt_free(struct pkt_buf *b);
/* Free @n packets (chains included). */
void pkt_free_bulk(struct pkt_buf **bufs, uint32_t n);

static inline uint8_t *pkt_data(const struct pkt_buf *b)
{
    return b->base + b->data_off;
}

/* Bytes free before the data / after the data in this segment. */
static inline uint32_t pkt_headroom(const struct pkt_buf *b)
{
    return b->data_off;
}
static inline uint32_t pkt_tailroom(const struct pkt_buf *b)
{
    return b->buf_size - b->data_off - b->data_len;
}

/* Grow the data by @n bytes in front (a new header); NULL without room. */
static inline uint8_t *pkt_prepend(struct pkt_buf *b, uint32_t n)
{
    if (n > b->data_off)
        return NULL;
    b->data_off -= n;
    b->data_len += n;
    b->pkt_len += n;
    return pkt_data(b);
}

/* Remove @n bytes from the front of the first segment; false if shorter. */
static inline bool pkt_adj(struct pkt_buf *b, uint32_t n)
{
    if (n > b->data_len)
        return false;
    b->data_off += n;
    b->data_len -= n;
    b->pkt_len -= n;
    return true;
}

/* Append @n bytes at the end of a single-segment packet; NULL without room. */
static inline uint8_t *pkt_append(struct pkt_buf *b, uint32_t n)
{
    if (b->next || n > pkt_tailroom(b))
        return NULL;
    uint8_t *p = pkt_data(b) + b->data_len;
    b->data_len += n;
    b->pkt_len += n;
    return p;
}

/*
 * Copy @len bytes from @src into a fresh packet from @pool, chaining
 * segments as needed. Returns the packet or NULL (out of buffers).
 */
struct pkt_buf *pkt_from_bytes(struct pkt_pool *pool, const void *src, uint32_t len);

/* Copy up to @len bytes of the packet from byte @off to @dst; returns the
 * bytes copied (less if the packet is shorter). */
uint32_t pkt_read(const struct pkt_buf *b, uint32_t off, void *dst, uint32_t len);

/* Pointer to @len contiguous bytes at @off: in place when one segment holds
 * them, else copied to @tmp; NULL if the packet is shorter. */
const uint8_t *pkt_peek(const struct pkt_buf *b, uint32_t off, uint32_t len, void *tmp);

/* Append segment chain @tail to packet @head (updating its totals). */
void pkt_chain(struct pkt_buf *head, struct pkt_buf *tail);

#define PKT_OFFLOAD_MAX_FRAME 65600u  /* largest frame pkt_offload_finish() takes */
#define PKT_GSO_MAX_SEGS 64u           /* segments of a 64 KiB frame at MSS 1024 and up */

/*
 * Finish in software what @b left to offload, for a port that cannot take
 * it (lib/pkt/offload.c): a partial checksum is computed; a TCP
 * segmentation-offload frame (IPv4 or IPv6) becomes gso_size-sized segments
 * from @pool, each with its IP length and identifier, TCP sequence number,
 * flags and checksums set. Consumes @b. Returns the number of packets put
 * in @out (1 for anything with nothing to finish), or -EINVAL (malformed),
 * -ENOTSUP (UDP segmentation, segments larger than a buffer), -ENOSPC
 * (more than @max_out segments), -ENOMEM; on error nothing is left in @out.
 */
int pkt_offload_finish(struct pkt_buf *b, struct pkt_pool *pool, struct pkt_buf **out,
                       unsigned max_out);

/* The same, only for what the destination cannot do itself: partial
 * checksums unless @csum_ok, segmentation unless @gso_ok. */
int pkt_offload_for_caps(struct pkt_buf *b, bool csum_ok, bool gso_ok, struct pkt_pool *pool,
                         struct pkt_buf **out, unsigned max_out);

#endif /* KK_PKT_H */
