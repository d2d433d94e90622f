/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2_map.c — guest I/O on qcow2: L2 entries (standard and extended),
 * reads that fall through to the backing chain, writes with allocation and
 * copy-on-write (whole clusters, or only the touched subclusters with
 * extended L2 entries), zero clusters, discards, compressed clusters and
 * block status.
 *
 * Every L2 entry is validated when it is decoded; a bad one is -EIO with a
 * message naming it, never a read or write somewhere it does not point.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2_internal.h"

static uint32_t all_sc(const struct qcow2 *q)
{
    return q->sc_per_cluster == 32 ? 0xffffffffu : 1u;
}

static uint32_t sc_range_mask(uint32_t s0, uint32_t s1)
{
    uint64_t m = ((2ull << s1) - 1) & ~((1ull << s0) - 1);
    return (uint32_t)m;
}

static int compressed_shift(const struct qcow2 *q)
{
    return 62 - ((int)q->cluster_bits - 8);
}

int qcow2__decode_l2e(struct qcow2 *q, const uint8_t *table, uint64_t idx, struct qcow2_l2e *e)
{
    uint64_t raw = be64_get(table + idx * q->l2_entry_bytes);
    uint64_t bm = q->extl2 ? be64_get(table + idx * 16 + 8) : 0;
    memset(e, 0, sizeof(*e));
    if (raw & QCOW2_OFLAG_COMPRESSED) {
        int x = compressed_shift(q);
        uint64_t host = raw & ((1ull << x) - 1);
        uint64_t nsect = (raw >> x) & ((1ull << (62 - x)) - 1);
        if (bm || (raw & QCOW2_OFLAG_COPIED) || q->ext_data || host == 0 ||
            host >= QCOW2_MAX_HOST_OFFSET || host >= q->end)
            return -EINVAL;
        e->type = QCOW2_COMPRESSED;
        e->host = host;
        e->csize = (nsect + 1) * 512 - (host & 511);
        return 0;
    }
    if (raw & QCOW2_L2_RESERVED)
        return -EINVAL;
    uint64_t host = raw & QCOW2_OFFSET_MASK;
    e->copied = raw & QCOW2_OFLAG_COPIED;
    bool has_host = host || (q->ext_data && e->copied);
    if (q->extl2) {
        if (raw & QCOW2_OFLAG_ZERO)
            return -EINVAL;
        e->alloc_mask = (uint32_t)bm;
        e->zero_mask = (uint32_t)(bm >> 32);
        if (e->alloc_mask & e->zero_mask)
            return -EINVAL;
        if (!has_host && e->alloc_mask)
            return -EINVAL;
    } else if (raw & QCOW2_OFLAG_ZERO) {
        if (q->version < 3)
            return -EINVAL;
        e->zero_mask = 1;
    } else if (has_host) {
        e->alloc_mask = 1;
    }
    if (has_host) {
        if (host & (q->cluster_size - 1))
            return -EINVAL;
        if (!q->ext_data && host >= q->end)
            return -EINVAL;
        e->type = QCOW2_NORMAL;
        e->host = host;
    } else {
        e->type = QCOW2_UNALLOC;
        e->copied = false;
    }
    return 0;
}

void qcow2__encode_l2e(struct qcow2 *q, uint8_t *table, uint64_t idx, const struct qcow2_l2e *e)
{
    uint64_t raw = 0, bm = 0;
    if (e->type == QCOW2_COMPRESSED) {
        int x = compressed_shift(q);
        uint64_t nsect = ((e->host + e->csize - 1) >> 9) - (e->host >> 9);
        raw = QCOW2_OFLAG_COMPRESSED | (nsect << x) | e->host;
    } else {
        if (e->type == QCOW2_NORMAL)
            raw = e->host | (e->copied ? QCOW2_OFLAG_COPIED : 0);
        if (q->extl2)
            bm = (uint64_t)e->alloc_mask | ((uint64_t)e->zero_mask << 32);
        else if (e->zero_mask && !e->alloc_mask)
            raw |= QCOW2_OFLAG_ZERO;
    }
    be64_put(table + idx * q->l2_entry_bytes, raw);
    if (q->extl2)
        be64_put(table + idx * 16 + 8, bm);
}

int qcow2__load_l2(struct qcow2 *q, uint64_t offset, uint8_t **table)
{
    if ((offset & (q->cluster_size - 1)) || offset >= q->end)
        return qcow2__corrupt(q, "L2 table offset %#" PRIx64 " is invalid", offset);
    return qcow2__cache_get(q, &q->l2_cache, offset, false, table);
}

static int bad_entry(struct qcow2 *q, const uint8_t *table, uint64_t guest)
{
    uint64_t idx = (guest >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
    return qcow2__corrupt(q, "invalid L2 entry %#" PRIx64 " for guest offset %#" PRIx64,
                          be64_get(table + idx * q->l2_entry_bytes), guest);
}

/* ---- mapping ------------------------------------------------------------ */

enum ext_kind { EXT_DATA, EXT_ZERO, EXT_BACKING, EXT_COMPRESSED };

struct extent {
    enum ext_kind kind;
    uint64_t len;
    uint64_t host;          /* host byte offset of the first byte, if has_host */
    bool has_host;          /* inside a cluster with host storage */
    struct qcow2_l2e entry; /* COMPRESSED: the entry */
};

static enum ext_kind sc_kind(const struct qcow2_l2e *e, uint32_t sc)
{
    if (e->type == QCOW2_COMPRESSED)
        return EXT_COMPRESSED;
    if (e->alloc_mask & (1u << sc))
        return EXT_DATA;
    if (e->zero_mask & (1u << sc))
        return EXT_ZERO;
    return EXT_BACKING;
}

/* The longest run from @off (at most @maxlen) with one kind and, for data,
 * contiguous host offsets, within one L2 table. Called under q->lock. */
static int map_extent(struct qcow2 *q, uint64_t off, uint64_t maxlen, struct extent *x)
{
    uint64_t cs = q->cluster_size;
    uint64_t l2_span = cs << q->l2_bits;
    uint64_t l1i = off / l2_span;
    uint64_t to_l2_end = l2_span - (off % l2_span);
    memset(x, 0, sizeof(*x));
    if (l1i >= q->l1_size || !(q->l1[l1i] & QCOW2_OFFSET_MASK)) {
        x->kind = EXT_BACKING;
        x->len = KK_MIN(maxlen, to_l2_end);
        return 0;
    }
    uint8_t *t;
    int rc = qcow2__load_l2(q, q->l1[l1i] & QCOW2_OFFSET_MASK, &t);
    if (rc < 0)
        return rc;
    uint64_t pos = off, limit = off + KK_MIN(maxlen, to_l2_end);
    uint64_t sc_size = 1ull << q->sc_bits;
    bool first = true;
    while (pos < limit) {
        uint64_t idx = (pos >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
        struct qcow2_l2e e;
        if (qcow2__decode_l2e(q, t, idx, &e) < 0)
            return bad_entry(q, t, pos);
        uint64_t cstart = pos & ~(cs - 1);
        if (e.type == QCOW2_COMPRESSED) {
            if (!first)
                break;
            x->kind = EXT_COMPRESSED;
            x->entry = e;
            x->len = KK_MIN(limit, cstart + cs) - pos;
            return 0;
        }
        while (pos < limit && pos < cstart + cs) {
            uint32_t sc = (uint32_t)((pos - cstart) >> q->sc_bits);
            enum ext_kind k = sc_kind(&e, sc);
            uint64_t host = e.host + (pos - cstart);
            bool has_host = e.type == QCOW2_NORMAL;
            if (first) {
                x->kind = k;
                x->host = host;
                x->has_host = has_host;
                first = false;
            } else if (k != x->kind || has_host != x->has_host ||
                       (has_host && host != x->host + x->len)) {
                return 0;
            }
            uint64_t sc_end = cstart + (uint64_t)(sc + 1) * sc_size;
            uint64_t n = KK_MIN(limit, sc_end) - pos;
            x->len += n;
            pos += n;
        }
    }
    return 0;
}

/* Decompress the cluster of @e into q->cbuf (cached by host offset). */
static int load_compressed(struct qcow2 *q, const struct qcow2_l2e *e)
{
    uint64_t key = e->host + 1;
    if (q->cbuf_key == key)
        return 0;
    q->cbuf_key = 0;
    if (e->csize > 2 * q->cluster_size + 512)
        return qcow2__corrupt(q, "compressed cluster at %#" PRIx64 " is too long", e->host);
    int rc = img__file_pread(q->file, q->cin, e->csize, e->host);
    if (rc < 0)
        return rc;
    rc = qcow2__decompress(q->compression, q->cin, e->csize, q->cbuf, q->cluster_size);
    if (rc < 0)
        return qcow2__corrupt(q, "compressed cluster at %#" PRIx64 " cannot be decompressed",
                              e->host);
    q->cbuf_key = key;
    return 0;
}

int qcow2_preadv(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
    struct qcow2 *q = img->priv;
    size_t total = img__iov_size(iov, iovcnt);
    struct iovec small[16];
    struct iovec *part = iovcnt <= 16 ? small : malloc(sizeof(*part) * (size_t)iovcnt);
    if (!part)
        return -ENOMEM;
    int rc = 0;
    size_t pos = 0;
    pthread_rwlock_rdlock(&q->io_lock);
    while (pos < total && rc == 0) {
        struct extent x;
        pthread_mutex_lock(&q->lock);
        rc = map_extent(q, off + pos, total - pos, &x);
        if (rc == 0 && x.kind == EXT_COMPRESSED) {
            rc = load_compressed(q, &x.entry);
            if (rc == 0)
                img__iov_from_buf(iov, iovcnt, pos,
                                  q->cbuf + ((off + pos) & (q->cluster_size - 1)), x.len);
        }
        pthread_mutex_unlock(&q->lock);
        if (rc < 0)
            break;
        switch (x.kind) {
        case EXT_DATA: {
            int n = img__iov_slice(iov, iovcnt, pos, x.len, part, iovcnt);
            rc = n < 0 ? n : img__file_preadv(q->data, part, n, x.host);
            break;
        }
        case EXT_ZERO:
            img__iov_memset(iov, iovcnt, pos, 0, x.len);
            break;
        case EXT_BACKING:
            rc = img__read_backing(img, iov, iovcnt, pos, off + pos, x.len);
            break;
        case EXT_COMPRESSED:
            break;
        }
        pos += x.len;
    }
    pthread_rwlock_unlock(&q->io_lock);
    if (part != small)
        free(part);
    return rc;
}

/* ---- writes ------------------------------------------------------------- */

/*
 * The L2 table for guest index @l1i, ready to be modified: allocated if
 * missing, copied if shared with a snapshot. The new table is on disk before
 * the L1 entry points at it.
 */
static int l2_for_write(struct qcow2 *q, uint64_t l1i, uint64_t *l2off, uint8_t **table)
{
    if (l1i >= q->l1_size) {
        int rc = qcow2__grow_l1(q, l1i + 1);
        if (rc < 0)
            return rc;
    }
    uint64_t e = q->l1[l1i];
    uint64_t old = e & QCOW2_OFFSET_MASK;
    if (old && (e & QCOW2_OFLAG_COPIED)) {
        *l2off = old;
        return qcow2__load_l2(q, old, table);
    }
    uint64_t nw;
    int rc = qcow2__alloc_clusters(q, 1, &nw);
    if (rc == 0)
        rc = qcow2__meta_add(q, nw, q->cluster_size, QCOW2_META_L2);
    if (rc < 0)
        return rc;
    uint8_t *t;
    if (old) {
        rc = qcow2__load_l2(q, old, &t);
        if (rc < 0)
            return rc;
        uint8_t *copy = img__alloc_aligned(q->cluster_size);
        if (!copy)
            return -ENOMEM;
        memcpy(copy, t, q->cluster_size);
        rc = qcow2__cache_get(q, &q->l2_cache, nw, true, &t);
        if (rc == 0) {
            memcpy(t, copy, q->cluster_size);
            /* Every cluster it maps is now shared by two tables. */
            for (uint64_t i = 0; i < qcow2_l2_entries(q); i++) {
                uint64_t raw = be64_get(t + i * q->l2_entry_bytes);
                be64_put(t + i * q->l2_entry_bytes, raw & ~QCOW2_OFLAG_COPIED);
            }
        }
        free(copy);
    } else {
        rc = qcow2__cache_get(q, &q->l2_cache, nw, true, &t);
    }
    if (rc < 0)
        return rc;
    /* Refcounts, then the table, then the L1 entry, each durable. */
    rc = qcow2__cache_write_dirty(q, &q->rb_cache);
    if (rc == 0 && q->unsynced)
        rc = qcow2__sync(q);
    if (rc == 0)
        rc = img__file_pwrite(q->file, t, q->cluster_size, nw);
    if (rc == 0)
        rc = qcow2__sync(q);
    if (rc < 0)
        return rc;
    q->l1[l1i] = nw | QCOW2_OFLAG_COPIED;
    uint64_t be = __builtin_bswap64(q->l1[l1i]);
    rc = img__file_pwrite(q->file, &be, 8, q->l1_offset + l1i * 8);
    if (rc < 0)
        return img__error(rc, "%s: cannot write the L1 table: %s", q->img->filename, kk_strerror(rc));
    q->unsynced = true;
    if (old) {
        rc = qcow2__defer_free(q, old, q->cluster_size);
        if (rc < 0)
            return rc;
        /* A flush may have evicted the new table: look it up again. */
    }
    *l2off = nw;
    return qcow2__load_l2(q, nw, table);
}

static void l2_position(const struct qcow2 *q, uint64_t guest, uint64_t *l1i, uint64_t *idx)
{
    *l1i = guest >> (q->cluster_bits + q->l2_bits);
    *idx = (guest >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
}

/* Fill buf[0, len) with what guest bytes [guest, guest+len) of subcluster
 * state @k read as (zeros or the backing chain). */
static int fill_from(struct img *img, enum ext_kind k, uint8_t *buf, uint64_t guest, uint64_t len)
{
    if (k == EXT_ZERO) {
        memset(buf, 0, len);
        return 0;
    }
    struct iovec v = {buf, len};
    return img__read_backing(img, &v, 1, 0, guest, len);
}

/*
 * Write [cur, cur+len) inside one guest cluster through the allocating path
 * (new cluster, copy-on-write, or filling subclusters). Under q->lock.
 */
static int write_cluster(struct qcow2 *q, uint64_t cur, uint64_t len, const struct iovec *iov,
                         int iovcnt, size_t pos)
{
    struct img *img = q->img;
    uint64_t cs = q->cluster_size;
    uint64_t cstart = cur & ~(cs - 1), in = cur - cstart;
    uint64_t l1i, idx, l2off;
    l2_position(q, cur, &l1i, &idx);
    uint8_t *t;
    int rc = l2_for_write(q, l1i, &l2off, &t);
    if (rc < 0)
        return rc;
    struct qcow2_l2e old;
    if (qcow2__decode_l2e(q, t, idx, &old) < 0)
        return bad_entry(q, t, cur);
    uint64_t sc_size = 1ull << q->sc_bits;
    uint32_t s0 = (uint32_t)(in >> q->sc_bits), s1 = (uint32_t)((in + len - 1) >> q->sc_bits);
    uint32_t touched = sc_range_mask(s0, s1);
    bool inplace = old.type == QCOW2_NORMAL && (old.copied || q->ext_data);
    uint32_t copy_old = 0; /* subclusters copied from the old storage */
    if (old.type == QCOW2_COMPRESSED) {
        copy_old = all_sc(q);
        rc = load_compressed(q, &old);
        if (rc < 0)
            return rc;
    } else if (old.type == QCOW2_NORMAL && !inplace) {
        copy_old = old.alloc_mask;
    }
    uint64_t h;
    if (inplace) {
        h = old.host;
        rc = qcow2__meta_check_write(q, h, cs, QCOW2_META_NONE);
        if (rc < 0)
            return rc;
    } else if (q->ext_data) {
        h = cstart;
    } else {
        rc = qcow2__alloc_clusters(q, 1, &h);
        if (rc < 0)
            return rc;
    }
    /* Which subclusters need content besides the new data. */
    /*
     * The region to write: the new data, plus whole subclusters copied from
     * the old storage, plus the rest of partially written subclusters -
     * except where that rest reads as zeros and the new cluster has never
     * been written (past the file's high-water mark: it reads as zeros).
     */
    bool fresh = !inplace && !q->ext_data && h >= img__file_high_water(q->file);
    struct img *b = img->backing;
    uint64_t reg_start = in, reg_end = in + len;
    for (uint32_t sc = 0; sc < q->sc_per_cluster; sc++) {
        uint64_t a = (uint64_t)sc * sc_size, z = a + sc_size;
        bool copy = copy_old & (1u << sc);
        bool partial = (touched & (1u << sc)) && !(a >= in && z <= in + len);
        if (!copy && !partial)
            continue;
        if (!copy && fresh) {
            enum ext_kind k = sc_kind(&old, sc);
            if (k == EXT_ZERO || (k == EXT_BACKING && (!b || cstart + a >= b->size)))
                continue;
        }
        reg_start = KK_MIN(reg_start, a);
        reg_end = KK_MAX(reg_end, z);
    }
    uint32_t lo = (uint32_t)(reg_start >> q->sc_bits), hi = (uint32_t)((reg_end - 1) >> q->sc_bits);
    uint32_t need = touched | copy_old;
    if (reg_start == in && reg_end == in + len) {
        /* The data covers exactly what we write: no buffer. */
        struct iovec small[16];
        struct iovec *part = iovcnt <= 16 ? small : malloc(sizeof(*part) * (size_t)iovcnt);
        if (!part)
            return -ENOMEM;
        int n = img__iov_slice(iov, iovcnt, pos, len, part, iovcnt);
        rc = n < 0 ? n : img__file_pwritev(q->data, part, n, h + in);
        if (part != small)
            free(part);
    } else {
        uint8_t *b_buf = img__alloc_aligned(cs);
        if (!b_buf)
            return -ENOMEM;
        for (uint32_t sc = lo; sc <= hi && rc == 0; sc++) {
            uint64_t a = (uint64_t)sc * sc_size, z = a + sc_size;
            if (!(need & (1u << sc)))
                continue;
            if (a >= in && z <= in + len)
                continue; /* fully overwritten */
            if (a < reg_start || z > reg_end) {
                /* Outside the region: reads as zeros already; fill only
                 * the part of this subcluster the region covers. */
                uint64_t fa = KK_MAX(a, reg_start), fz = KK_MIN(z, reg_end);
                if (fa < fz)
                    memset(b_buf + fa, 0, fz - fa);
                continue;
            }
            if (copy_old & (1u << sc)) {
                if (old.type == QCOW2_COMPRESSED)
                    memcpy(b_buf + a, q->cbuf + a, sc_size);
                else
                    rc = img__file_pread(q->data, b_buf + a, sc_size, old.host + a);
            } else if (inplace && (old.alloc_mask & (1u << sc))) {
                rc = img__file_pread(q->data, b_buf + a, sc_size, h + a);
            } else {
                rc = fill_from(img, sc_kind(&old, sc), b_buf + a, cstart + a, sc_size);
            }
        }
        if (rc == 0) {
            img__iov_to_buf(iov, iovcnt, pos, b_buf + in, len);
            rc = img__file_pwrite(q->data, b_buf + reg_start, reg_end - reg_start, h + reg_start);
        }
        free(b_buf);
    }
    if (rc < 0)
        return rc;
    q->unsynced = true;
    /* The table may have been evicted while we read the backing file. */
    rc = qcow2__load_l2(q, l2off, &t);
    if (rc < 0)
        return rc;
    struct qcow2_l2e ne = {.type = QCOW2_NORMAL, .host = h, .copied = true};
    ne.alloc_mask = (inplace ? old.alloc_mask : copy_old) | touched;
    ne.zero_mask = old.zero_mask & ~ne.alloc_mask;
    if (!q->extl2) {
        ne.alloc_mask = 1;
        ne.zero_mask = 0;
    }
    qcow2__encode_l2e(q, t, idx, &ne);
    qcow2__cache_mark_dirty(&q->l2_cache, l2off);
    if (!inplace && !q->ext_data) {
        if (old.type == QCOW2_NORMAL)
            rc = qcow2__defer_free(q, old.host, cs);
        else if (old.type == QCOW2_COMPRESSED)
            rc = qcow2__defer_free(q, old.host, old.csize);
    }
    return rc;
}

/*
 * Whole unallocated clusters from @cur (cluster aligned) in one L2 table:
 * one contiguous allocation and one write. Returns bytes written (0 when
 * the fast case does not apply). Under q->lock.
 */
static int64_t write_new_clusters(struct qcow2 *q, uint64_t cur, uint64_t len,
                                  const struct iovec *iov, int iovcnt, size_t pos)
{
    uint64_t cs = q->cluster_size;
    uint64_t l1i, idx, l2off;
    l2_position(q, cur, &l1i, &idx);
    uint64_t max = KK_MIN(len / cs, qcow2_l2_entries(q) - idx);
    if (max < 2)
        return 0;
    uint8_t *t;
    int rc = l2_for_write(q, l1i, &l2off, &t);
    if (rc < 0)
        return rc;
    uint64_t k = 0;
    for (; k < max; k++) {
        struct qcow2_l2e e;
        if (qcow2__decode_l2e(q, t, idx + k, &e) < 0)
            return bad_entry(q, t, cur + k * cs);
        if (e.type != QCOW2_UNALLOC)
            break;
    }
    if (k < 2)
        return 0;
    uint64_t h;
    if (q->ext_data) {
        h = cur;
    } else {
        rc = qcow2__alloc_clusters(q, k, &h);
        if (rc < 0)
            return rc;
    }
    struct iovec small[16];
    struct iovec *part = iovcnt <= 16 ? small : malloc(sizeof(*part) * (size_t)iovcnt);
    if (!part)
        return -ENOMEM;
    int n = img__iov_slice(iov, iovcnt, pos, k * cs, part, iovcnt);
    rc = n < 0 ? n : img__file_pwritev(q->data, part, n, h);
    if (part != small)
        free(part);
    if (rc < 0)
        return rc;
    q->unsynced = true;
    rc = qcow2__load_l2(q, l2off, &t);
    if (rc < 0)
        return rc;
    for (uint64_t i = 0; i < k; i++) {
        struct qcow2_l2e ne = {.type = QCOW2_NORMAL, .host = h + i * cs, .copied = true,
                               .alloc_mask = all_sc(q)};
        qcow2__encode_l2e(q, t, idx + i, &ne);
    }
    qcow2__cache_mark_dirty(&q->l2_cache, l2off);
    return (int64_t)(k * cs);
}

/*
 * In-place run from @cur: clusters with refcount 1 whose touched
 * subclusters are all allocated, contiguous on the host. Under q->lock;
 * the write itself happens after unlocking. Returns the length (0: none).
 */
static int inplace_run(struct qcow2 *q, uint64_t cur, uint64_t len, uint64_t *host)
{
    uint64_t cs = q->cluster_size;
    uint64_t l1i, idx;
    l2_position(q, cur, &l1i, &idx);
    if (l1i >= q->l1_size)
        return 0;
    uint64_t l1e = q->l1[l1i];
    if (!(l1e & QCOW2_OFLAG_COPIED) || !(l1e & QCOW2_OFFSET_MASK))
        return 0;
    uint8_t *t;
    int rc = qcow2__load_l2(q, l1e & QCOW2_OFFSET_MASK, &t);
    if (rc < 0)
        return rc;
    uint64_t done = 0;
    while (done < len && idx < qcow2_l2_entries(q)) {
        uint64_t g = cur + done;
        uint64_t in = g & (cs - 1);
        uint64_t n = KK_MIN(len - done, cs - in);
        struct qcow2_l2e e;
        if (qcow2__decode_l2e(q, t, idx, &e) < 0)
            return bad_entry(q, t, g);
        if (e.type != QCOW2_NORMAL || !(e.copied || q->ext_data))
            break;
        uint32_t s0 = (uint32_t)(in >> q->sc_bits), s1 = (uint32_t)((in + n - 1) >> q->sc_bits);
        uint32_t m = sc_range_mask(s0, s1);
        if ((e.alloc_mask & m) != m)
            break;
        if (done == 0)
            *host = e.host + in;
        else if (e.host + in != *host + done)
            break;
        rc = qcow2__meta_check_write(q, e.host, cs, QCOW2_META_NONE);
        if (rc < 0)
            return rc;
        done += n;
        idx++;
    }
    return (int)KK_MIN(done, (uint64_t)INT32_MAX & ~(cs - 1));
}

int qcow2_pwritev(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
    struct qcow2 *q = img->priv;
    size_t total = img__iov_size(iov, iovcnt);
    struct iovec small[16];
    struct iovec *part = iovcnt <= 16 ? small : malloc(sizeof(*part) * (size_t)iovcnt);
    if (!part)
        return -ENOMEM;
    pthread_rwlock_rdlock(&q->io_lock);
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    rc = qcow2__mark_modified(q);
    pthread_mutex_unlock(&q->lock);
    size_t pos = 0;
    while (pos < total && rc == 0) {
        uint64_t cur = off + pos;
        uint64_t host = 0;
        pthread_mutex_lock(&q->lock);
        int run = inplace_run(q, cur, total - pos, &host);
        if (run > 0) {
            pthread_mutex_unlock(&q->lock);
            int n = img__iov_slice(iov, iovcnt, pos, (size_t)run, part, iovcnt);
            rc = n < 0 ? n : img__file_pwritev(q->data, part, n, host);
            pos += (size_t)run;
            continue;
        }
        if (run < 0) {
            rc = run;
            pthread_mutex_unlock(&q->lock);
            break;
        }
        int64_t done = 0;
        if ((cur & (q->cluster_size - 1)) == 0)
            done = write_new_clusters(q, cur, total - pos, iov, iovcnt, pos);
        if (done == 0) {
            uint64_t n = KK_MIN(total - pos, q->cluster_size - (cur & (q->cluster_size - 1)));
            done = write_cluster(q, cur, n, iov, iovcnt, pos);
            if (done == 0)
                done = (int64_t)n;
        }
        pthread_mutex_unlock(&q->lock);
        if (done < 0)
            rc = (int)done;
        else
            pos += (size_t)done;
    }
    pthread_rwlock_unlock(&q->io_lock);
    if (part != small)
        free(part);
    return rc;
}

/* ---- zeroes and discards ------------------------------------------------ */

struct span {
    uint64_t off, len;
};

#define ZERO_DISCARD 1u
#define ZERO_UNMAP 2u
#define ZERO_FALLTHROUGH 4u /* with ZERO_DISCARD: read from the backing file again */

/*
 * Metadata part of discard/write-zeroes over [off, off+len): clusters (or
 * subclusters) wholly inside the range change their L2 entries; whatever
 * needs zeros written as data is returned in @todo (at most 2 + 1 spans
 * per cluster are merged). Under both locks.
 */
static int zero_meta(struct qcow2 *q, uint64_t off, uint64_t len, unsigned mode,
                     struct span **todo, size_t *ntodo)
{
    uint64_t cs = q->cluster_size, sc_size = 1ull << q->sc_bits;
    bool has_backing = q->img->backing_file != NULL;
    uint64_t end = off + len;
    size_t cap = 0;
    *todo = NULL;
    *ntodo = 0;
    bool data_raw = q->ext_data && (q->autoclear & QCOW2_AUTOCLEAR_DATA_RAW);
    for (uint64_t cur = off; cur < end;) {
        uint64_t cstart = cur & ~(cs - 1);
        uint64_t cend = KK_MIN(cstart + cs, end);
        uint64_t a = kk_align_up(cur, sc_size), z = cend & ~(sc_size - 1);
        if (cend == end && end == q->img->size)
            z = kk_align_up(end, sc_size); /* the image's last partial subcluster */
        bool need_data = (mode & ZERO_DISCARD) ? false : true;
        uint32_t mask = 0;
        if (a < z)
            mask = sc_range_mask((uint32_t)((a - cstart) >> q->sc_bits),
                                 (uint32_t)((z - 1 - cstart) >> q->sc_bits));
        if (data_raw || (q->version < 3 && has_backing && !(mode & ZERO_DISCARD)))
            mask = 0;
        if (mask) {
            uint64_t l1i, idx, l2off;
            l2_position(q, cur, &l1i, &idx);
            uint8_t *t;
            bool l2_missing = l1i >= q->l1_size || !(q->l1[l1i] & QCOW2_OFFSET_MASK);
            bool skip = l2_missing && (!has_backing || (mode & ZERO_FALLTHROUGH) ||
                                       ((mode & ZERO_DISCARD) && q->version < 3));
            if (!skip) {
                int rc = l2_for_write(q, l1i, &l2off, &t);
                if (rc < 0)
                    return rc;
                struct qcow2_l2e e;
                if (qcow2__decode_l2e(q, t, idx, &e) < 0)
                    return bad_entry(q, t, cur);
                struct qcow2_l2e ne = e;
                bool whole = mask == all_sc(q);
                bool drop = false;
                if (whole) {
                    bool keep = e.type == QCOW2_NORMAL && e.copied && !(mode & ZERO_UNMAP) &&
                                !(mode & ZERO_DISCARD) && q->version >= 3;
                    if (keep) {
                        ne.alloc_mask = 0;
                        ne.zero_mask = all_sc(q);
                    } else {
                        drop = e.type != QCOW2_UNALLOC;
                        ne = (struct qcow2_l2e){.type = QCOW2_UNALLOC};
                        if (q->version >= 3 && (has_backing || !(mode & ZERO_DISCARD) || q->extl2) &&
                            !(mode & ZERO_FALLTHROUGH))
                            ne.zero_mask = all_sc(q);
                    }
                } else if (e.type == QCOW2_COMPRESSED || (e.type == QCOW2_NORMAL && !e.copied &&
                                                          !q->ext_data)) {
                    /* Shared or compressed: partial changes go through the
                     * data path (discards just skip them). */
                    mask = 0;
                } else {
                    ne.alloc_mask &= ~mask;
                    if (mode & ZERO_FALLTHROUGH)
                        ne.zero_mask &= ~mask;
                    else
                        ne.zero_mask |= mask;
                }
                if (mask) {
                    if (drop && e.type == QCOW2_NORMAL && q->ext_data) {
                        ne.type = QCOW2_NORMAL; /* the host mapping is fixed */
                        ne.host = e.host;
                        ne.copied = true;
                        ne.alloc_mask = 0;
                        ne.zero_mask = (mode & ZERO_FALLTHROUGH) ? 0 : all_sc(q);
                        drop = false;
                    }
                    qcow2__encode_l2e(q, t, idx, &ne);
                    qcow2__cache_mark_dirty(&q->l2_cache, l2off);
                    if (drop && !q->ext_data) {
                        rc = qcow2__defer_free(q, e.host, e.type == QCOW2_COMPRESSED ? e.csize : cs);
                        if (rc < 0)
                            return rc;
                    }
                }
            }
        }
        /* Bytes not covered by the mask need zeros written (write-zeroes only). */
        if (need_data) {
            uint64_t ma = mask ? cstart + (uint64_t)__builtin_ctz(mask) * sc_size : cend;
            uint64_t mz = mask ? KK_MIN(cstart + (uint64_t)(32 - __builtin_clz(mask)) * sc_size, cend) : cend;
            struct span pieces[2] = {{cur, (mask ? ma : cend) - cur}, {mz, cend - mz}};
            for (int i = 0; i < 2; i++) {
                if (pieces[i].len == 0 || pieces[i].off >= cend)
                    continue;
                if (*ntodo && (*todo)[*ntodo - 1].off + (*todo)[*ntodo - 1].len == pieces[i].off) {
                    (*todo)[*ntodo - 1].len += pieces[i].len;
                    continue;
                }
                if (*ntodo == cap) {
                    cap = cap ? cap * 2 : 16;
                    struct span *p = realloc(*todo, cap * sizeof(*p));
                    if (!p)
                        return -ENOMEM;
                    *todo = p;
                }
                (*todo)[(*ntodo)++] = pieces[i];
            }
        }
        cur = cend;
    }
    return 0;
}

static int zero_or_discard(struct img *img, uint64_t off, uint64_t len, unsigned mode)
{
    struct qcow2 *q = img->priv;
    struct span *todo = NULL;
    size_t ntodo = 0;
    pthread_rwlock_wrlock(&q->io_lock);
    pthread_mutex_lock(&q->lock);
    int rc = qcow2__mark_modified(q);
    if (rc == 0)
        rc = zero_meta(q, off, len, mode, &todo, &ntodo);
    pthread_mutex_unlock(&q->lock);
    pthread_rwlock_unlock(&q->io_lock);
    if (rc == 0 && ntodo) {
        size_t chunk = 1u << 20;
        uint8_t *z = img__alloc_aligned(chunk);
        if (!z)
            rc = -ENOMEM;
        for (size_t i = 0; i < ntodo && rc == 0; i++) {
            for (uint64_t p = 0; p < todo[i].len && rc == 0; p += chunk) {
                size_t n = (size_t)KK_MIN((uint64_t)chunk, todo[i].len - p);
                struct iovec v = {z, n};
                rc = qcow2_pwritev(img, &v, 1, todo[i].off + p);
            }
        }
        free(z);
    }
    free(todo);
    return rc;
}

int qcow2_discard(struct img *img, uint64_t off, uint64_t len)
{
    /* A raw data file must keep reading like the image: write the zeros. */
    if (qcow2_of(img)->ext_data && (qcow2_of(img)->autoclear & QCOW2_AUTOCLEAR_DATA_RAW))
        return zero_or_discard(img, off, len, 0);
    return zero_or_discard(img, off, len, ZERO_DISCARD);
}

int qcow2_unmap(struct img *img, uint64_t off, uint64_t len)
{
    if (qcow2_of(img)->ext_data && (qcow2_of(img)->autoclear & QCOW2_AUTOCLEAR_DATA_RAW))
        return img__error(-ENOTSUP, "%s: a raw external data file cannot be unmapped",
                          img->filename);
    return zero_or_discard(img, off, len, ZERO_DISCARD | ZERO_FALLTHROUGH);
}

int qcow2_write_zeroes(struct img *img, uint64_t off, uint64_t len, unsigned flags)
{
    return zero_or_discard(img, off, len, (flags & IMG_ZERO_MAY_UNMAP) ? ZERO_UNMAP : 0);
}

/* ---- compressed writes -------------------------------------------------- */

int qcow2_write_compressed(struct img *img, const void *buf, size_t len, uint64_t off)
{
    struct qcow2 *q = img->priv;
    uint64_t cs = q->cluster_size;
    if (off & (cs - 1))
        return img__error(-EINVAL, "%s: compressed writes must start on a cluster boundary",
                          img->filename);
    if ((len & (cs - 1)) && off + len != img->size)
        return img__error(-EINVAL, "%s: compressed writes must cover whole clusters",
                          img->filename);
    if (q->ext_data)
        return img__error(-ENOTSUP, "%s: no compressed clusters with an external data file",
                          img->filename);
    uint8_t *in = malloc(cs), *out = malloc(cs);
    if (!in || !out) {
        free(in);
        free(out);
        return -ENOMEM;
    }
    int rc = 0;
    for (uint64_t p = 0; p < len && rc == 0; p += cs) {
        uint64_t n = KK_MIN(cs, len - p);
        memcpy(in, (const uint8_t *)buf + p, n);
        memset(in + n, 0, cs - n);
        ssize_t clen = qcow2__compress(q->compression, in, cs, out, cs - 1);
        if (clen == -ENOSPC) {
            struct iovec v = {in, n};
            rc = qcow2_pwritev(img, &v, 1, off + p);
            continue;
        }
        if (clen < 0) {
            rc = (int)clen;
            break;
        }
        /* Exclusive: the old cluster may be freed, and an in-place writer
         * must not be writing into it meanwhile. */
        pthread_rwlock_wrlock(&q->io_lock);
        pthread_mutex_lock(&q->lock);
        rc = qcow2__mark_modified(q);
        uint64_t l1i, idx, l2off, h = 0;
        uint8_t *t;
        l2_position(q, off + p, &l1i, &idx);
        if (rc == 0)
            rc = l2_for_write(q, l1i, &l2off, &t);
        struct qcow2_l2e old;
        if (rc == 0 && qcow2__decode_l2e(q, t, idx, &old) < 0)
            rc = bad_entry(q, t, off + p);
        if (rc == 0)
            rc = qcow2__alloc_bytes(q, (uint64_t)clen, &h);
        if (rc == 0)
            rc = img__file_pwrite(q->file, out, (size_t)clen, h);
        if (rc == 0)
            rc = qcow2__load_l2(q, l2off, &t);
        if (rc == 0) {
            q->unsynced = true;
            struct qcow2_l2e ne = {.type = QCOW2_COMPRESSED, .host = h, .csize = (uint64_t)clen};
            qcow2__encode_l2e(q, t, idx, &ne);
            qcow2__cache_mark_dirty(&q->l2_cache, l2off);
            if (old.type == QCOW2_NORMAL)
                rc = qcow2__defer_free(q, old.host, cs);
            else if (old.type == QCOW2_COMPRESSED)
                rc = qcow2__defer_free(q, old.host, old.csize);
        }
        pthread_mutex_unlock(&q->lock);
        pthread_rwlock_unlock(&q->io_lock);
    }
    free(in);
    free(out);
    return rc;
}

/* ---- preallocation ------------------------------------------------------ */

int qcow2__preallocate(struct qcow2 *q, enum img_prealloc mode)
{
    uint64_t cs = q->cluster_size;
    uint64_t clusters = (q->img->size + cs - 1) >> q->cluster_bits;
    for (uint64_t c = 0; c < clusters;) {
        uint64_t l1i, idx, l2off;
        l2_position(q, c << q->cluster_bits, &l1i, &idx);
        uint64_t k = KK_MIN(clusters - c, qcow2_l2_entries(q) - idx);
        uint8_t *t;
        int rc = l2_for_write(q, l1i, &l2off, &t);
        uint64_t h = c << q->cluster_bits;
        if (rc == 0 && !q->ext_data)
            rc = qcow2__alloc_clusters(q, k, &h);
        if (rc == 0)
            rc = qcow2__load_l2(q, l2off, &t);
        if (rc < 0)
            return rc;
        for (uint64_t i = 0; i < k; i++) {
            struct qcow2_l2e ne = {.type = QCOW2_NORMAL, .host = h + i * cs, .copied = true,
                                   .alloc_mask = all_sc(q)};
            qcow2__encode_l2e(q, t, idx + i, &ne);
        }
        qcow2__cache_mark_dirty(&q->l2_cache, l2off);
        if (mode == IMG_PREALLOC_FALLOC || mode == IMG_PREALLOC_FULL) {
            if (fallocate(q->data->fd, 0, (off_t)h, (off_t)(k * cs)) < 0 && mode == IMG_PREALLOC_FALLOC)
                return img__error(kk_neg_errno(), "%s: fallocate: %s", q->img->filename,
                                  kk_strerror(-errno));
        }
        if (mode == IMG_PREALLOC_FULL) {
            uint8_t *z = img__alloc_aligned(cs);
            if (!z)
                return -ENOMEM;
            for (uint64_t i = 0; i < k && rc == 0; i++)
                rc = img__file_pwrite(q->data, z, cs, h + i * cs);
            free(z);
            if (rc < 0)
                return rc;
        }
        c += k;
    }
    /* The file covers every cluster the tables point at. */
    uint64_t size;
    int rc = img__file_size(q->file, &size);
    if (rc == 0 && size < q->end)
        rc = img__file_truncate(q->file, q->end);
    return rc;
}

/* ---- block status ------------------------------------------------------- */

int qcow2_block_status(struct img *img, uint64_t off, uint64_t len, struct img_status *st)
{
    struct qcow2 *q = img->priv;
    struct extent x;
    pthread_mutex_lock(&q->lock);
    int rc = map_extent(q, off, len, &x);
    pthread_mutex_unlock(&q->lock);
    if (rc < 0)
        return rc;
    st->length = x.len;
    switch (x.kind) {
    case EXT_DATA:
        st->flags = IMG_BS_DATA | IMG_BS_ALLOCATED | IMG_BS_OFFSET_VALID;
        st->host_offset = x.host;
        break;
    case EXT_ZERO:
        st->flags = IMG_BS_ZERO | IMG_BS_ALLOCATED;
        break;
    case EXT_COMPRESSED:
        st->flags = IMG_BS_DATA | IMG_BS_ALLOCATED | IMG_BS_COMPRESSED;
        st->host_offset = x.entry.host;
        break;
    case EXT_BACKING:
        st->flags = 0;
        break;
    }
    /* Like qemu, name the host cluster of zero or unallocated subclusters. */
    if (x.has_host && x.kind != EXT_COMPRESSED) {
        st->flags |= IMG_BS_OFFSET_VALID;
        st->host_offset = x.host;
    }
    return 0;
}
