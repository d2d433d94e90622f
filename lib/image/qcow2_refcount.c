/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2_refcount.c — refcounts: reading and writing entries of any width
 * (1..64 bits), cluster and byte allocation, refcount block and table
 * growth, deferred frees, and the consistency check with leak repair and
 * a full refcount rebuild.
 */
#include <stdlib.h>
#include <string.h>

#include "qcow2_internal.h"

int qcow2__load_refcount_table(struct qcow2 *q)
{
    q->rt_entries = ((uint64_t)q->rt_clusters << q->cluster_bits) / 8;
    q->rt = calloc(q->rt_entries, 8);
    if (!q->rt)
        return -ENOMEM;
    int rc = img__file_pread(q->file, q->rt, q->rt_entries * 8, q->rt_offset);
    if (rc < 0)
        return img__error(rc, "%s: cannot read the refcount table: %s", q->img->filename,
                          kk_strerror(rc));
    for (uint64_t i = 0; i < q->rt_entries; i++) {
        q->rt[i] = __builtin_bswap64(q->rt[i]);
        uint64_t off = q->rt[i];
        if (!off)
            continue;
        if ((off & QCOW2_RT_RESERVED) || (off & (q->cluster_size - 1)))
            return img__error(-EINVAL, "%s: refcount table entry %" PRIu64 " (%#" PRIx64 ") is not cluster aligned",
                              q->img->filename, i, off);
        if (off >= q->end)
            return img__error(-EINVAL, "%s: refcount block %" PRIu64 " at %#" PRIx64 " is past the end of the file",
                              q->img->filename, i, off);
    }
    return 0;
}

static uint64_t rb_get(const struct qcow2 *q, const uint8_t *blk, uint64_t i)
{
    switch (q->refcount_order) {
    case 6:
        return be64_get(blk + i * 8);
    case 5:
        return be32_get(blk + i * 4);
    case 4:
        return be16_get(blk + i * 2);
    case 3:
        return blk[i];
    default: {
        uint32_t bits = q->refcount_bits;
        uint64_t bit = i * bits;
        return (blk[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
    }
    }
}

static void rb_set(const struct qcow2 *q, uint8_t *blk, uint64_t i, uint64_t v)
{
    switch (q->refcount_order) {
    case 6:
        be64_put(blk + i * 8, v);
        break;
    case 5:
        be32_put(blk + i * 4, (uint32_t)v);
        break;
    case 4:
        be16_put(blk + i * 2, (uint16_t)v);
        break;
    case 3:
        blk[i] = (uint8_t)v;
        break;
    default: {
        uint32_t bits = q->refcount_bits;
        uint64_t bit = i * bits;
        uint8_t mask = (uint8_t)(((1u << bits) - 1) << (bit % 8));
        blk[bit / 8] = (uint8_t)((blk[bit / 8] & ~mask) | ((v << (bit % 8)) & mask));
        break;
    }
    }
}

int qcow2__get_refcount(struct qcow2 *q, uint64_t cluster, uint64_t *val)
{
    uint64_t rti = cluster >> q->rb_bits;
    *val = 0;
    if (rti >= q->rt_entries || q->rt[rti] == 0)
        return 0;
    uint8_t *blk;
    int rc = qcow2__cache_get(q, &q->rb_cache, q->rt[rti], false, &blk);
    if (rc < 0)
        return rc;
    *val = rb_get(q, blk, cluster & ((1ull << q->rb_bits) - 1));
    return 0;
}

static int set_refcount(struct qcow2 *q, uint64_t cluster, uint64_t val, int depth);

static int write_rt_entry(struct qcow2 *q, uint64_t rti)
{
    uint64_t be = __builtin_bswap64(q->rt[rti]);
    int rc = img__file_pwrite(q->file, &be, 8, q->rt_offset + rti * 8);
    if (rc < 0)
        return img__error(rc, "%s: cannot write the refcount table: %s", q->img->filename,
                          kk_strerror(rc));
    q->unsynced = true;
    return 0;
}

/* Reserve @n clusters at the end of the file. */
static uint64_t take_end(struct qcow2 *q, uint64_t n)
{
    uint64_t off = kk_align_up(q->end, q->cluster_size);
    q->end = off + (n << q->cluster_bits);
    return off;
}

/*
 * A bigger refcount table at the end of the file, with blocks for every
 * cluster it and they occupy; the header switches to it, then the old one
 * is freed.
 */
static int grow_table(struct qcow2 *q, uint64_t min_entries, int depth)
{
    uint64_t per_cluster = q->cluster_size / 8;
    uint64_t want = KK_MAX(min_entries + 1, q->rt_entries * 2);
    uint64_t clusters = (want + per_cluster - 1) / per_cluster;
    if ((clusters << q->cluster_bits) > QCOW2_MAX_RT_BYTES)
        return img__error(-EFBIG, "%s: the refcount table would exceed %u bytes",
                          q->img->filename, QCOW2_MAX_RT_BYTES);
    uint64_t entries = clusters * per_cluster;
    uint64_t *rt = calloc(entries, 8);
    if (!rt)
        return -ENOMEM;
    memcpy(rt, q->rt, q->rt_entries * 8);
    uint64_t table_off = take_end(q, clusters);
    uint64_t first_new = table_off >> q->cluster_bits;
    int mrc = qcow2__meta_add(q, table_off, clusters << q->cluster_bits, QCOW2_META_RT);
    if (mrc < 0) {
        free(rt);
        return mrc;
    }
    uint64_t *old_rt = q->rt;
    uint64_t old_entries = q->rt_entries, old_off = q->rt_offset, old_clusters = q->rt_clusters;
    q->rt = rt;
    q->rt_entries = entries;
    /* Blocks for the new clusters (the table's and the blocks' own). */
    int rc = 0;
    for (uint64_t c = first_new; rc == 0 && c < (q->end >> q->cluster_bits); c++) {
        uint64_t rti = c >> q->rb_bits;
        if (rti >= entries) {
            rc = img__error(-EFBIG, "%s: refcount table growth does not converge", q->img->filename);
            break;
        }
        if (rt[rti] == 0) {
            uint64_t boff = take_end(q, 1);
            uint8_t *blk;
            rc = qcow2__meta_add(q, boff, q->cluster_size, QCOW2_META_RB);
            if (rc == 0)
                rc = qcow2__cache_get(q, &q->rb_cache, boff, true, &blk);
            if (rc == 0) {
                qcow2__cache_mark_dirty(&q->rb_cache, boff);
                rt[rti] = boff;
            }
        }
    }
    for (uint64_t c = first_new; rc == 0 && c < (q->end >> q->cluster_bits); c++)
        rc = set_refcount(q, c, 1, depth + 1);
    uint64_t *be = NULL;
    if (rc == 0) {
        be = img__alloc_aligned(entries * 8);
        if (!be)
            rc = -ENOMEM;
    }
    if (rc == 0) {
        for (uint64_t i = 0; i < entries; i++)
            be[i] = __builtin_bswap64(rt[i]);
        rc = qcow2__cache_write_dirty(q, &q->rb_cache);
        if (rc == 0)
            rc = img__file_pwrite(q->file, be, entries * 8, table_off);
        if (rc == 0)
            rc = qcow2__sync(q);
    }
    free(be);
    if (rc < 0) {
        q->rt = old_rt;
        q->rt_entries = old_entries;
        free(rt);
        return rc;
    }
    q->rt_offset = table_off;
    q->rt_clusters = (uint32_t)clusters;
    rc = qcow2__write_header(q);
    if (rc == 0)
        rc = qcow2__sync(q);
    if (rc < 0) {
        q->rt = old_rt;
        q->rt_entries = old_entries;
        q->rt_offset = old_off;
        q->rt_clusters = (uint32_t)old_clusters;
        free(rt);
        return rc;
    }
    free(old_rt);
    /* The old table is referenced by nothing on disk any more. */
    return qcow2__update_refcount(q, old_off, old_clusters << q->cluster_bits, -1);
}

/* Give refcount block @rti a cluster (at the end of the file). */
static int new_block(struct qcow2 *q, uint64_t rti, int depth)
{
    if (depth > 8)
        return img__error(-EIO, "%s: refcount block allocation does not converge",
                          q->img->filename);
    if (rti >= q->rt_entries) {
        int rc = grow_table(q, rti, depth);
        if (rc < 0)
            return rc;
        if (q->rt[rti])
            return 0;
    }
    uint64_t off = take_end(q, 1);
    uint64_t cluster = off >> q->cluster_bits;
    uint8_t *blk;
    int rc = qcow2__meta_add(q, off, q->cluster_size, QCOW2_META_RB);
    if (rc == 0)
        rc = qcow2__cache_get(q, &q->rb_cache, off, true, &blk);
    if (rc < 0)
        return rc;
    bool self = (cluster >> q->rb_bits) == rti;
    if (self)
        rb_set(q, blk, cluster & ((1ull << q->rb_bits) - 1), 1);
    /* The block reaches the disk before the table entry that points at it. */
    rc = img__file_pwrite(q->file, blk, q->cluster_size, off);
    if (rc == 0)
        rc = qcow2__sync(q);
    if (rc < 0)
        return rc;
    q->rt[rti] = off;
    rc = write_rt_entry(q, rti);
    if (rc < 0)
        return rc;
    if (!self)
        return set_refcount(q, cluster, 1, depth + 1);
    return 0;
}

static int set_refcount(struct qcow2 *q, uint64_t cluster, uint64_t val, int depth)
{
    uint64_t rti = cluster >> q->rb_bits;
    if (rti >= q->rt_entries || q->rt[rti] == 0) {
        if (val == 0)
            return 0;
        int rc = new_block(q, rti, depth);
        if (rc < 0)
            return rc;
    }
    uint8_t *blk;
    int rc = qcow2__cache_get(q, &q->rb_cache, q->rt[rti], false, &blk);
    if (rc < 0)
        return rc;
    rb_set(q, blk, cluster & ((1ull << q->rb_bits) - 1), val);
    qcow2__cache_mark_dirty(&q->rb_cache, q->rt[rti]);
    return 0;
}

int qcow2__update_refcount(struct qcow2 *q, uint64_t offset, uint64_t len, int64_t delta)
{
    if (len == 0)
        return 0;
    uint64_t first = offset >> q->cluster_bits;
    uint64_t last = (offset + len - 1) >> q->cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        uint64_t v;
        int rc = qcow2__get_refcount(q, c, &v);
        if (rc < 0)
            return rc;
        if (delta < 0 && v < (uint64_t)-delta)
            return qcow2__corrupt(q, "refcount of cluster %#" PRIx64 " would drop below zero",
                                  c << q->cluster_bits);
        if (delta > 0 && q->refcount_max - v < (uint64_t)delta)
            return img__error(-ERANGE, "%s: refcount of cluster %#" PRIx64 " would exceed %" PRIu64
                                       " (refcount_bits=%u)",
                              q->img->filename, c << q->cluster_bits, q->refcount_max,
                              q->refcount_bits);
        uint64_t nv = v + (uint64_t)delta;
        rc = set_refcount(q, c, nv, 0);
        if (rc < 0)
            return rc;
        if (nv == 0) {
            uint64_t off = c << q->cluster_bits;
            qcow2__cache_drop(&q->l2_cache, off);
            qcow2__meta_remove(q, c);
            q->cbuf_key = 0;
            if (c < q->free_hint)
                q->free_hint = c;
            if (q->compress_cursor >> q->cluster_bits == c)
                q->compress_cursor = 0;
            img__file_punch(q->file, off, q->cluster_size);
        }
    }
    return 0;
}

int qcow2__alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *offset)
{
    uint64_t end_cluster = kk_align_up(q->end, q->cluster_size) >> q->cluster_bits;
    uint64_t c = q->free_hint, run = 0, start = c;
    /* First fit below the end of the file, else at the end. */
    while (c < end_cluster && run < n) {
        uint64_t v;
        int rc = qcow2__get_refcount(q, c, &v);
        if (rc < 0)
            return rc;
        if (v) {
            if (start == q->free_hint && run == 0)
                q->free_hint = c + 1;
            run = 0;
            start = c + 1;
        } else {
            run++;
        }
        c++;
    }
    if (run < n) /* the run continues past the end, which is all free */
        c = start + n;
    if ((start + n) << q->cluster_bits > QCOW2_MAX_HOST_OFFSET)
        return img__error(-EFBIG, "%s: image file would exceed 64 PiB", q->img->filename);
    if ((start + n) << q->cluster_bits > q->end)
        q->end = (start + n) << q->cluster_bits;
    for (uint64_t i = 0; i < n; i++) {
        int kind = qcow2__meta_kind(q, start + i);
        if (kind != QCOW2_META_NONE)
            return qcow2__corrupt(q, "cluster %#" PRIx64 " has refcount 0 but holds %s",
                                  (start + i) << q->cluster_bits, qcow2__meta_name(kind));
    }
    for (uint64_t i = 0; i < n; i++) {
        int rc = set_refcount(q, start + i, 1, 0);
        if (rc < 0)
            return rc;
    }
    if (start == q->free_hint)
        q->free_hint = start + n;
    *offset = start << q->cluster_bits;
    return 0;
}

int qcow2__alloc_bytes(struct qcow2 *q, uint64_t len, uint64_t *offset)
{
    uint64_t cur = q->compress_cursor;
    uint64_t in = cur & (q->cluster_size - 1);
    if (cur && in && in + len <= q->cluster_size) {
        uint64_t v;
        int rc = qcow2__get_refcount(q, cur >> q->cluster_bits, &v);
        if (rc < 0)
            return rc;
        if (v > 0 && v < q->refcount_max) {
            rc = qcow2__update_refcount(q, cur, 1, 1);
            if (rc < 0)
                return rc;
            *offset = cur;
            q->compress_cursor = (in + len == q->cluster_size) ? 0 : cur + len;
            return 0;
        }
    }
    uint64_t off;
    int rc = qcow2__alloc_clusters(q, 1, &off);
    if (rc < 0)
        return rc;
    *offset = off;
    q->compress_cursor = len < q->cluster_size ? off + len : 0;
    return 0;
}

int qcow2__defer_free(struct qcow2 *q, uint64_t offset, uint64_t len)
{
    if (q->ext_data && len == 0)
        return 0;
    if (q->npending == q->cap_pending) {
        size_t cap = q->cap_pending ? q->cap_pending * 2 : 64;
        struct qcow2_free *p = realloc(q->pending, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        q->pending = p;
        q->cap_pending = cap;
    }
    q->pending[q->npending++] = (struct qcow2_free){offset, len};
    if (q->npending >= 4096)
        return qcow2__flush_metadata(q, false);
    return 0;
}

int qcow2__apply_deferred(struct qcow2 *q)
{
    int rc = 0;
    size_t i;
    for (i = 0; i < q->npending && rc == 0; i++)
        rc = qcow2__update_refcount(q, q->pending[i].offset, q->pending[i].len, -1);
    if (rc < 0) {
        memmove(q->pending, q->pending + i, (q->npending - i) * sizeof(*q->pending));
        q->npending -= i;
        return rc;
    }
    q->npending = 0;
    return 0;
}

/* ---- counting references ---------------------------------------------------- */

struct check {
    struct qcow2 *q;
    struct img_check_result *res;
    uint64_t *refs;
    uint64_t nclusters;
    uint64_t last_data; /* for fragmentation */
    uint8_t *buf;       /* one cluster */
};

static void account(struct check *ck, uint64_t offset, uint64_t len, const char *what)
{
    if (len == 0)
        return;
    uint64_t first = offset >> ck->q->cluster_bits;
    uint64_t last = (offset + len - 1) >> ck->q->cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        if (c >= ck->nclusters) {
            KK_LOGW(img_log, "%s: %s at %#" PRIx64 " is past the end of the file",
                    ck->q->img->filename, what, offset);
            ck->res->corruptions++;
            return;
        }
        ck->refs[c]++;
    }
}

static int walk_l2(struct check *ck, uint64_t l2_off, bool active)
{
    struct qcow2 *q = ck->q;
    int rc = img__file_pread(q->file, ck->buf, q->cluster_size, l2_off);
    if (rc < 0) {
        ck->res->check_errors++;
        return 0;
    }
    for (uint64_t i = 0; i < qcow2_l2_entries(q); i++) {
        struct qcow2_l2e e;
        if (qcow2__decode_l2e(q, ck->buf, i, &e) < 0) {
            KK_LOGW(img_log, "%s: bad L2 entry %" PRIu64 " in the table at %#" PRIx64,
                    q->img->filename, i, l2_off);
            ck->res->corruptions++;
            continue;
        }
        if (e.type == QCOW2_COMPRESSED) {
            if (q->ext_data) {
                ck->res->corruptions++;
                continue;
            }
            account(ck, e.host, e.csize, "compressed cluster");
            if (active) {
                ck->res->allocated_clusters++;
                ck->res->compressed_clusters++;
            }
        } else if (e.type == QCOW2_NORMAL && e.host) {
            if (!q->ext_data)
                account(ck, e.host, q->cluster_size, "data cluster");
            if (active && e.alloc_mask) {
                ck->res->allocated_clusters++;
                if (ck->last_data && e.host != ck->last_data + q->cluster_size)
                    ck->res->fragmented_clusters++;
                ck->last_data = e.host;
            }
        }
    }
    return 0;
}

static int walk_l1(struct check *ck, const uint64_t *l1, uint32_t l1_size, bool active)
{
    struct qcow2 *q = ck->q;
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t l2 = l1[i] & QCOW2_OFFSET_MASK;
        if (!l2)
            continue;
        if ((l1[i] & QCOW2_L1_RESERVED) || (l2 & (q->cluster_size - 1)) ||
            (l2 >> q->cluster_bits) >= ck->nclusters) {
            KK_LOGW(img_log, "%s: bad L1 entry %u (%#" PRIx64 ")", q->img->filename, i, l1[i]);
            ck->res->corruptions++;
            continue;
        }
        account(ck, l2, q->cluster_size, "L2 table");
        walk_l2(ck, l2, active);
    }
    return 0;
}

int qcow2__read_table(struct qcow2 *q, uint64_t off, uint32_t n, uint64_t **out)
{
    uint64_t *t = calloc(n ? n : 1, 8);
    if (!t)
        return -ENOMEM;
    int rc = n ? img__file_pread(q->file, t, (size_t)n * 8, off) : 0;
    if (rc < 0) {
        free(t);
        return rc;
    }
    for (uint32_t i = 0; i < n; i++)
        t[i] = __builtin_bswap64(t[i]);
    *out = t;
    return 0;
}

static void walk_bitmaps(struct check *ck)
{
    struct qcow2 *q = ck->q;
    if (!q->has_bitmaps || !(q->autoclear & QCOW2_AUTOCLEAR_BITMAPS))
        return;
    account(ck, q->bitmaps_dir_offset, q->bitmaps_dir_size, "bitmap directory");
    uint8_t *dir = malloc(q->bitmaps_dir_size ? q->bitmaps_dir_size : 1);
    if (!dir || img__file_pread(q->file, dir, q->bitmaps_dir_size, q->bitmaps_dir_offset) < 0) {
        free(dir);
        ck->res->check_errors++;
        return;
    }
    uint64_t pos = 0;
    for (uint32_t b = 0; b < q->nb_bitmaps; b++) {
        if (pos + 24 > q->bitmaps_dir_size) {
            ck->res->corruptions++;
            break;
        }
        uint64_t toff = be64_get(dir + pos);
        uint32_t tsize = be32_get(dir + pos + 8);
        uint32_t name = be16_get(dir + pos + 18);
        uint32_t extra = be32_get(dir + pos + 20);
        pos += (24 + (uint64_t)name + extra + 7) & ~7ull;
        if ((toff & (q->cluster_size - 1)) || tsize > (1u << 24)) {
            ck->res->corruptions++;
            continue;
        }
        account(ck, toff, (uint64_t)tsize * 8, "bitmap table");
        uint64_t *t;
        if (qcow2__read_table(q, toff, tsize, &t) < 0) {
            ck->res->check_errors++;
            continue;
        }
        for (uint32_t i = 0; i < tsize; i++) {
            uint64_t off = t[i] & QCOW2_OFFSET_MASK;
            if (off)
                account(ck, off, q->cluster_size, "bitmap data");
        }
        free(t);
    }
    free(dir);
}

uint64_t qcow2__snapshot_table_size(const struct qcow2_snap *snaps, uint32_t n)
{
    uint64_t size = 0;
    for (uint32_t i = 0; i < n; i++)
        size += (40 + snaps[i].extra_size + strlen(snaps[i].id) + strlen(snaps[i].name) + 7) &
                ~7ull;
    return size;
}

static void count_state(struct check *ck, const struct qcow2_state *st)
{
    struct qcow2 *q = ck->q;
    account(ck, 0, q->cluster_size, "header");
    if (st->l1_offset)
        account(ck, st->l1_offset, (uint64_t)st->l1_size * 8, "L1 table");
    walk_l1(ck, st->l1, st->l1_size, true);
    for (uint32_t s = 0; s < st->nb_snapshots; s++) {
        const struct qcow2_snap *sn = &st->snaps[s];
        account(ck, sn->l1_offset, (uint64_t)sn->l1_size * 8, "snapshot L1 table");
        if (st->snap_l1 && st->snap_l1[s]) {
            walk_l1(ck, st->snap_l1[s], sn->l1_size, false);
            continue;
        }
        uint64_t *l1;
        if (qcow2__read_table(q, sn->l1_offset, sn->l1_size, &l1) < 0) {
            ck->res->check_errors++;
            continue;
        }
        walk_l1(ck, l1, sn->l1_size, false);
        free(l1);
    }
    if (st->nb_snapshots && st->snapshots_offset)
        account(ck, st->snapshots_offset, qcow2__snapshot_table_size(st->snaps, st->nb_snapshots),
                "snapshot table");
    walk_bitmaps(ck);
}

void qcow2__live_state(const struct qcow2 *q, struct qcow2_state *st)
{
    *st = (struct qcow2_state){
        .l1_offset = q->l1_offset,
        .l1_size = q->l1_size,
        .l1 = q->l1,
        .nb_snapshots = q->nb_snapshots,
        .snaps = q->snaps,
        .snapshots_offset = q->snapshots_offset,
    };
}

int qcow2__count_refs(struct qcow2 *q, const struct qcow2_state *st, uint64_t *refs, uint64_t n,
                      struct img_check_result *res)
{
    struct check ck = {.q = q, .res = res, .refs = refs, .nclusters = n};
    ck.buf = img__alloc_aligned(q->cluster_size);
    if (!ck.buf)
        return -ENOMEM;
    count_state(&ck, st);
    free(ck.buf);
    return 0;
}

/* ---- a new refcount structure ---------------------------------------------- */

int qcow2__layout_take(struct qcow2_layout *l, uint64_t count, uint8_t mark, uint64_t *cluster)
{
    uint64_t c = l->hint, run = 0, start = c;
    while (c < l->n && run < count) {
        if (l->taken[c]) {
            run = 0;
            start = c + 1;
        } else {
            run++;
        }
        c++;
    }
    /* Past n everything is free: the run continues there. */
    uint64_t end = start + count;
    if (end > l->n) {
        uint64_t cap = l->cap;
        while (cap < end)
            cap = cap ? cap * 2 : 1024;
        if (cap != l->cap) {
            uint8_t *t = realloc(l->taken, cap);
            if (!t)
                return -ENOMEM;
            memset(t + l->cap, 0, cap - l->cap);
            l->taken = t;
            l->cap = cap;
        }
        l->n = end;
    }
    memset(l->taken + start, mark, count);
    if (start == l->hint)
        l->hint = end;
    *cluster = start;
    return 0;
}

static void layout_release(struct qcow2_layout *l, uint64_t cluster, uint64_t count)
{
    memset(l->taken + cluster, 0, count);
    if (cluster < l->hint)
        l->hint = cluster;
}

int qcow2__refs_reserve(uint64_t **refs, uint64_t *n, uint64_t want)
{
    if (want <= *n)
        return 0;
    uint64_t *r = realloc(*refs, want * 8);
    if (!r)
        return -ENOMEM;
    memset(r + *n, 0, (want - *n) * 8);
    *refs = r;
    *n = want;
    return 0;
}

void qcow2__rtab_free(struct qcow2_rtab *t)
{
    free(t->table);
    t->table = NULL;
}

/*
 * Blocks and a table for clusters 0..total: the structure's own clusters
 * count, so place it, and place it again (bigger) while it does not cover
 * itself.
 */
static int place_refcounts(struct qcow2 *q, struct qcow2_layout *l, uint64_t total,
                           uint64_t *rt_cluster, uint64_t *rtc_out, uint64_t **blocks_out,
                           uint64_t *nblocks_out)
{
    uint64_t per_block = 1ull << q->rb_bits, per_rt = q->cluster_size / 8;
    for (int iter = 0; iter < 64; iter++) {
        uint64_t nblocks = (total + per_block - 1) / per_block;
        uint64_t rtc = (nblocks + per_rt - 1) / per_rt;
        if ((rtc << q->cluster_bits) > QCOW2_MAX_RT_BYTES)
            return img__error(-EFBIG, "%s: the refcount table would exceed %u bytes",
                              q->img->filename, QCOW2_MAX_RT_BYTES);
        uint64_t *blocks = calloc(nblocks, 8);
        if (!blocks)
            return -ENOMEM;
        uint64_t rt, end, taken = 0;
        int rc = qcow2__layout_take(l, rtc, 2, &rt);
        end = rt + rtc;
        while (rc == 0 && taken < nblocks) {
            rc = qcow2__layout_take(l, 1, 2, &blocks[taken]);
            if (rc == 0 && blocks[taken] + 1 > end)
                end = blocks[taken] + 1;
            if (rc == 0)
                taken++;
        }
        if (rc == 0 && end <= nblocks * per_block) {
            *rt_cluster = rt;
            *rtc_out = rtc;
            *blocks_out = blocks;
            *nblocks_out = nblocks;
            return 0;
        }
        /* Undo, then again for the larger total. */
        for (uint64_t i = 0; i < taken; i++)
            layout_release(l, blocks[i], 1);
        if (rc == 0 || taken > 0)
            layout_release(l, rt, rtc);
        free(blocks);
        if (rc < 0)
            return rc;
        total = KK_MAX(total, end);
    }
    return img__error(-EIO, "%s: refcount structure placement does not converge",
                      q->img->filename);
}

int qcow2__write_refcounts(struct qcow2 *q, struct qcow2_layout *l, uint64_t **refs, uint64_t *n,
                           struct qcow2_rtab *out)
{
    uint64_t total = 1;
    for (uint64_t c = *n; c > 0; c--) {
        if ((*refs)[c - 1]) {
            total = c;
            break;
        }
    }
    uint64_t rt_cluster = 0, rtc = 0, *blocks = NULL, nblocks = 0;
    int rc = place_refcounts(q, l, total, &rt_cluster, &rtc, &blocks, &nblocks);
    if (rc < 0)
        return rc;
    uint64_t per_block = 1ull << q->rb_bits, per_rt = q->cluster_size / 8;
    uint64_t entries = rtc * per_rt;
    uint64_t *rt = calloc(entries, 8);
    uint8_t *blk = img__alloc_aligned(q->cluster_size);
    uint64_t *be = img__alloc_aligned(entries * 8);
    rc = rt && blk && be ? 0 : -ENOMEM;
    if (rc == 0)
        rc = qcow2__refs_reserve(refs, n, nblocks * per_block);
    if (rc == 0) {
        for (uint64_t i = 0; i < rtc; i++)
            (*refs)[rt_cluster + i]++;
        for (uint64_t b = 0; b < nblocks; b++)
            (*refs)[blocks[b]]++;
    }
    for (uint64_t b = 0; rc == 0 && b < nblocks; b++) {
        memset(blk, 0, q->cluster_size);
        for (uint64_t i = 0; i < per_block; i++) {
            uint64_t v = (*refs)[b * per_block + i];
            if (v > q->refcount_max) {
                rc = img__error(-ERANGE, "%s: cluster %#" PRIx64 " has %" PRIu64 " references, more than refcount_bits=%u allow",
                                q->img->filename, (b * per_block + i) << q->cluster_bits, v,
                                q->refcount_bits);
                break;
            }
            rb_set(q, blk, i, v);
        }
        rt[b] = blocks[b] << q->cluster_bits;
        if (rc == 0)
            rc = img__file_pwrite(q->file, blk, q->cluster_size, rt[b]);
    }
    if (rc == 0) {
        for (uint64_t i = 0; i < entries; i++)
            be[i] = __builtin_bswap64(rt[i]);
        rc = img__file_pwrite(q->file, be, entries * 8, rt_cluster << q->cluster_bits);
    }
    free(blocks);
    free(blk);
    free(be);
    if (rc < 0) {
        free(rt);
        return rc;
    }
    q->unsynced = true;
    *out = (struct qcow2_rtab){.offset = rt_cluster << q->cluster_bits,
                               .clusters = (uint32_t)rtc,
                               .entries = entries,
                               .table = rt};
    return 0;
}

/* ---- check and repair ---------------------------------------------------- */

/* Fix bit 63 of the active L1 and L2 entries from the computed refcounts. */
static int fix_copied(struct check *ck, bool fix)
{
    struct qcow2 *q = ck->q;
    for (uint32_t i = 0; i < q->l1_size; i++) {
        uint64_t l2 = q->l1[i] & QCOW2_OFFSET_MASK;
        if (!l2 || (l2 & (q->cluster_size - 1)) || (l2 >> q->cluster_bits) >= ck->nclusters ||
            (q->l1[i] & QCOW2_L1_RESERVED))
            continue;
        bool want = ck->refs[l2 >> q->cluster_bits] == 1;
        if (want != !!(q->l1[i] & QCOW2_OFLAG_COPIED)) {
            ck->res->corruptions++;
            if (fix) {
                q->l1[i] ^= QCOW2_OFLAG_COPIED;
                uint64_t be = __builtin_bswap64(q->l1[i]);
                if (img__file_pwrite(q->file, &be, 8, q->l1_offset + i * 8ull) == 0)
                    ck->res->corruptions_fixed++;
            }
        }
        uint8_t *t;
        if (qcow2__cache_get(q, &q->l2_cache, l2, false, &t) < 0) {
            ck->res->check_errors++;
            continue;
        }
        for (uint64_t j = 0; j < qcow2_l2_entries(q); j++) {
            struct qcow2_l2e e;
            if (qcow2__decode_l2e(q, t, j, &e) < 0 || e.type != QCOW2_NORMAL || !e.host)
                continue;
            bool w = q->ext_data || ck->refs[e.host >> q->cluster_bits] == 1;
            if (w != e.copied) {
                ck->res->corruptions++;
                if (fix) {
                    e.copied = w;
                    qcow2__encode_l2e(q, t, j, &e);
                    qcow2__cache_mark_dirty(&q->l2_cache, l2);
                    ck->res->corruptions_fixed++;
                }
            }
        }
    }
    return 0;
}

/* Write a whole new refcount structure after everything in use, then
 * switch the header to it. The old table and blocks become free. */
static int rebuild(struct check *ck)
{
    struct qcow2 *q = ck->q;
    uint64_t first = ck->nclusters;
    /* Nothing below the end of the file is taken for it. */
    struct qcow2_layout l = {.taken = malloc(first ? first : 1), .n = first, .cap = first,
                             .hint = first};
    if (!l.taken)
        return -ENOMEM;
    memset(l.taken, 1, first);
    int rc = qcow2__cache_write_dirty(q, &q->l2_cache);
    struct qcow2_rtab t = {0};
    uint64_t n = ck->nclusters;
    if (rc == 0)
        rc = qcow2__write_refcounts(q, &l, &ck->refs, &n, &t);
    free(l.taken);
    if (rc == 0)
        rc = qcow2__sync(q);
    if (rc < 0) {
        qcow2__rtab_free(&t);
        return rc;
    }
    ck->nclusters = n;
    qcow2__cache_clear(&q->rb_cache);
    free(q->rt);
    q->rt = t.table;
    q->rt_entries = t.entries;
    q->rt_offset = t.offset;
    q->rt_clusters = t.clusters;
    q->end = KK_MAX(q->end, l.n << q->cluster_bits);
    q->free_hint = 0;
    q->compress_cursor = 0;
    rc = qcow2__write_header(q);
    if (rc == 0)
        rc = qcow2__sync(q);
    if (rc == 0)
        rc = qcow2__meta_build(q);
    return rc;
}

static int do_check(struct qcow2 *q, unsigned fix, struct img_check_result *res)
{
    struct check ck = {.q = q, .res = res};
    uint64_t file_size;
    int rc = img__file_size(q->file, &file_size);
    if (rc < 0)
        return rc;
    ck.nclusters = kk_align_up(KK_MAX(file_size, q->end), q->cluster_size) >> q->cluster_bits;
    if (ck.nclusters > (1ull << 27))
        return img__error(-EFBIG, "%s: too many clusters to check", q->img->filename);
    ck.refs = calloc(ck.nclusters ? ck.nclusters : 1, 8);
    ck.buf = img__alloc_aligned(q->cluster_size);
    if (!ck.refs || !ck.buf) {
        free(ck.refs);
        free(ck.buf);
        return -ENOMEM;
    }
    res->total_clusters = (q->img->size + q->cluster_size - 1) >> q->cluster_bits;

    struct qcow2_state live;
    qcow2__live_state(q, &live);
    count_state(&ck, &live);
    /* Refcount structures last: a rebuild drops them. */
    uint64_t *meta_refs = NULL;
    meta_refs = calloc(ck.nclusters ? ck.nclusters : 1, 8);
    if (!meta_refs) {
        rc = -ENOMEM;
        goto out;
    }
    memcpy(meta_refs, ck.refs, ck.nclusters * 8);
    account(&ck, q->rt_offset, (uint64_t)q->rt_clusters << q->cluster_bits, "refcount table");
    for (uint64_t i = 0; i < q->rt_entries; i++) {
        if (q->rt[i])
            account(&ck, q->rt[i], q->cluster_size, "refcount block");
    }

    uint64_t too_low = 0, leaks = 0;
    for (uint64_t c = 0; c < ck.nclusters; c++) {
        uint64_t disk;
        if (qcow2__get_refcount(q, c, &disk) < 0) {
            res->check_errors++;
            continue;
        }
        if (disk < ck.refs[c]) {
            KK_LOGW(img_log, "%s: cluster %#" PRIx64 " has refcount %" PRIu64 " but %" PRIu64 " references",
                    q->img->filename, c << q->cluster_bits, disk, ck.refs[c]);
            too_low++;
        } else if (disk > ck.refs[c]) {
            leaks++;
        }
    }
    /* Refcounts for clusters past the end of the file are leaks too. */
    uint64_t per_block = 1ull << q->rb_bits;
    for (uint64_t rti = 0; rti < q->rt_entries; rti++) {
        uint64_t start = rti << q->rb_bits;
        if (!q->rt[rti] || start + per_block <= ck.nclusters)
            continue;
        for (uint64_t c = KK_MAX(start, ck.nclusters); c < start + per_block; c++) {
            uint64_t disk;
            if (qcow2__get_refcount(q, c, &disk) == 0 && disk)
                leaks++;
        }
    }
    res->corruptions += too_low;
    res->leaks = leaks;
    for (uint64_t c = ck.nclusters; c > 0; c--) {
        if (ck.refs[c - 1]) {
            res->image_end_offset = c << q->cluster_bits;
            break;
        }
    }

    if ((too_low && (fix & IMG_CHECK_FIX_ERRORS)) || (leaks && (fix & IMG_CHECK_FIX_LEAKS) && !too_low)) {
        if (too_low || (fix & IMG_CHECK_FIX_ERRORS)) {
            fix_copied(&ck, true);
            memcpy(ck.refs, meta_refs, ck.nclusters * 8);
            rc = rebuild(&ck);
            if (rc < 0)
                goto out;
            res->corruptions_fixed += too_low;
        } else {
            uint64_t limit = q->rt_entries << q->rb_bits;
            for (uint64_t c = 0; c < limit; c++) {
                uint64_t disk, want = c < ck.nclusters ? ck.refs[c] : 0;
                if (c >= ck.nclusters && !q->rt[c >> q->rb_bits]) {
                    c = (((c >> q->rb_bits) + 1) << q->rb_bits) - 1;
                    continue;
                }
                if (qcow2__get_refcount(q, c, &disk) == 0 && disk > want) {
                    rc = set_refcount(q, c, want, 0);
                    if (rc < 0)
                        goto out;
                    if (want == 0 && c < q->free_hint)
                        q->free_hint = c;
                }
            }
        }
        res->leaks_fixed = leaks;
    } else {
        fix_copied(&ck, (fix & IMG_CHECK_FIX_ERRORS) != 0);
    }
    if (fix && q->writable) {
        rc = qcow2__flush_metadata(q, true);
        /* Everything repaired: the corrupt bit (repairing errors) and the
         * dirty bit (refcounts now exact) can go. */
        uint64_t clear = 0;
        if ((fix & IMG_CHECK_FIX_ERRORS) && res->corruptions == res->corruptions_fixed)
            clear |= QCOW2_INCOMPAT_CORRUPT;
        if (res->corruptions == res->corruptions_fixed && res->leaks == res->leaks_fixed)
            clear |= QCOW2_INCOMPAT_DIRTY;
        if (rc == 0 && (q->incompat & clear)) {
            q->incompat &= ~clear;
            q->dirty_bit_set = false;
            rc = qcow2__write_header(q);
            if (rc == 0)
                rc = qcow2__sync(q);
        }
    }
out:
    free(meta_refs);
    free(ck.refs);
    free(ck.buf);
    return rc;
}

int qcow2__check(struct img *img, unsigned fix, struct img_check_result *res)
{
    struct qcow2 *q = img->priv;
    pthread_rwlock_wrlock(&q->io_lock);
    pthread_mutex_lock(&q->lock);
    int rc = 0;
    if (q->writable)
        rc = qcow2__flush_metadata(q, false);
    if (rc == 0)
        rc = do_check(q, fix, res);
    pthread_mutex_unlock(&q->lock);
    pthread_rwlock_unlock(&q->io_lock);
    return rc;
}
