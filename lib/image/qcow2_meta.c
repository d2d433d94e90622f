/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2_meta.c — which host clusters hold metadata, so that nothing is ever
 * written over it: the overlap guard.
 *
 * At open every metadata cluster is recorded with its kind (header, L1 and
 * L2 tables, refcount table and blocks, snapshot table and snapshot L1
 * tables, bitmap directory, tables and data). Two kinds claiming one
 * cluster (L2 tables shared between snapshots excepted) refuse the image.
 * Afterwards the set follows allocations and frees, and every write that
 * an L2 entry or an allocation chose is checked against it: a data cluster
 * that is metadata, or a "free" cluster that is metadata, is corruption
 * (the image is marked corrupt and the write refused), never an overwrite.
 *
 * An open-addressing hash set keyed by cluster index; under q->lock.
 */
#include <stdlib.h>
#include <string.h>

#include "qcow2_internal.h"

#define EMPTY 0
#define TOMB UINT64_MAX

static const char *const kind_names[] = {
    [QCOW2_META_NONE] = "nothing",
    [QCOW2_META_HEADER] = "the header",
    [QCOW2_META_L1] = "the L1 table",
    [QCOW2_META_L2] = "an L2 table",
    [QCOW2_META_RT] = "the refcount table",
    [QCOW2_META_RB] = "a refcount block",
    [QCOW2_META_SNAPTAB] = "the snapshot table",
    [QCOW2_META_SNAP_L1] = "a snapshot's L1 table",
    [QCOW2_META_BITMAP] = "bitmap data",
};

const char *qcow2__meta_name(int kind)
{
    return kind >= 0 && kind < (int)KK_ARRAY_SIZE(kind_names) ? kind_names[kind] : "?";
}

static uint64_t slot_of(const struct qcow2_meta *m, uint64_t key)
{
    return (key * 0x9e3779b97f4a7c15ull) >> (64 - m->bits);
}

static int grow(struct qcow2_meta *m)
{
    struct qcow2_meta old = *m;
    m->bits = old.bits ? old.bits + 1 : 10;
    size_t cap = (size_t)1 << m->bits;
    m->keys = calloc(cap, sizeof(*m->keys));
    m->kinds = calloc(cap, 1);
    if (!m->keys || !m->kinds) {
        free(m->keys);
        free(m->kinds);
        *m = old;
        return -ENOMEM;
    }
    m->n = m->used = 0;
    for (size_t i = 0; old.keys && i < ((size_t)1 << old.bits); i++) {
        if (old.keys[i] != EMPTY && old.keys[i] != TOMB) {
            uint64_t s = slot_of(m, old.keys[i]);
            while (m->keys[s] != EMPTY)
                s = (s + 1) & (cap - 1);
            m->keys[s] = old.keys[i];
            m->kinds[s] = old.kinds[i];
            m->n++;
            m->used++;
        }
    }
    free(old.keys);
    free(old.kinds);
    return 0;
}

static int64_t find_slot(const struct qcow2_meta *m, uint64_t key)
{
    if (!m->keys)
        return -1;
    size_t mask = ((size_t)1 << m->bits) - 1;
    for (uint64_t s = slot_of(m, key);; s = (s + 1) & mask) {
        if (m->keys[s] == EMPTY)
            return -1;
        if (m->keys[s] == key)
            return (int64_t)s;
    }
}

int qcow2__meta_kind(const struct qcow2 *q, uint64_t cluster)
{
    int64_t s = find_slot(&q->meta, cluster + 1);
    return s < 0 ? QCOW2_META_NONE : q->meta.kinds[s];
}

void qcow2__meta_remove(struct qcow2 *q, uint64_t cluster)
{
    int64_t s = find_slot(&q->meta, cluster + 1);
    if (s >= 0) {
        q->meta.keys[s] = TOMB;
        q->meta.n--;
    }
}

int qcow2__meta_add(struct qcow2 *q, uint64_t offset, uint64_t len, int kind)
{
    struct qcow2_meta *m = &q->meta;
    if (len == 0)
        return 0;
    uint64_t first = offset >> q->cluster_bits, last = (offset + len - 1) >> q->cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        int have = qcow2__meta_kind(q, c);
        if (have == kind && kind == QCOW2_META_L2)
            continue; /* shared with a snapshot */
        if (have != QCOW2_META_NONE)
            return img__error(-EINVAL, "%s: %s and %s overlap at %#" PRIx64, q->img->filename,
                              qcow2__meta_name(have), qcow2__meta_name(kind),
                              c << q->cluster_bits);
        if (!m->keys || (m->used + 1) * 4 > ((size_t)3 << m->bits)) {
            int rc = grow(m);
            if (rc < 0)
                return rc;
        }
        size_t mask = ((size_t)1 << m->bits) - 1;
        uint64_t s = slot_of(m, c + 1);
        while (m->keys[s] != EMPTY && m->keys[s] != TOMB)
            s = (s + 1) & mask;
        if (m->keys[s] == EMPTY)
            m->used++;
        m->keys[s] = c + 1;
        m->kinds[s] = (uint8_t)kind;
        m->n++;
    }
    return 0;
}

void qcow2__meta_free(struct qcow2 *q)
{
    free(q->meta.keys);
    free(q->meta.kinds);
    memset(&q->meta, 0, sizeof(q->meta));
}

static int add_tree(struct qcow2 *q, const uint64_t *l1, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint64_t l2 = l1[i] & QCOW2_OFFSET_MASK;
        if (!l2)
            continue;
        if ((l2 & (q->cluster_size - 1)) || l2 >= q->end)
            return img__error(-EINVAL, "%s: L1 entry %u (%#" PRIx64 ") is invalid",
                              q->img->filename, i, l1[i]);
        int rc = qcow2__meta_add(q, l2, q->cluster_size, QCOW2_META_L2);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int add_bitmaps(struct qcow2 *q)
{
    if (!q->has_bitmaps || !(q->autoclear & QCOW2_AUTOCLEAR_BITMAPS))
        return 0;
    int rc = qcow2__meta_add(q, q->bitmaps_dir_offset, q->bitmaps_dir_size, QCOW2_META_BITMAP);
    if (rc < 0)
        return rc;
    uint8_t *dir = malloc(q->bitmaps_dir_size ? q->bitmaps_dir_size : 1);
    if (!dir)
        return -ENOMEM;
    rc = img__file_pread(q->file, dir, q->bitmaps_dir_size, q->bitmaps_dir_offset);
    uint64_t pos = 0;
    for (uint32_t b = 0; rc == 0 && b < q->nb_bitmaps; b++) {
        if (pos + 24 > q->bitmaps_dir_size) {
            rc = img__error(-EINVAL, "%s: bitmap directory truncated", q->img->filename);
            break;
        }
        uint64_t toff = be64_get(dir + pos);
        uint32_t tsize = be32_get(dir + pos + 8);
        pos += (24 + (uint64_t)be16_get(dir + pos + 18) + be32_get(dir + pos + 20) + 7) & ~7ull;
        if ((toff & (q->cluster_size - 1)) || tsize > (1u << 24)) {
            rc = img__error(-EINVAL, "%s: bitmap table %u is invalid", q->img->filename, b);
            break;
        }
        rc = qcow2__check_table(q, "bitmap table", toff, (uint64_t)tsize * 8);
        if (rc == 0)
            rc = qcow2__meta_add(q, toff, (uint64_t)tsize * 8, QCOW2_META_BITMAP);
        uint64_t *t = NULL;
        if (rc == 0 && tsize) {
            t = malloc((size_t)tsize * 8);
            rc = t ? img__file_pread(q->file, t, (size_t)tsize * 8, toff) : -ENOMEM;
        }
        for (uint32_t i = 0; rc == 0 && i < tsize; i++) {
            uint64_t off = __builtin_bswap64(t[i]) & QCOW2_OFFSET_MASK;
            if (off && ((off & (q->cluster_size - 1)) || off >= q->end))
                rc = img__error(-EINVAL, "%s: bitmap data cluster %#" PRIx64 " is invalid",
                                q->img->filename, off);
            else if (off)
                rc = qcow2__meta_add(q, off, q->cluster_size, QCOW2_META_BITMAP);
        }
        free(t);
    }
    free(dir);
    return rc;
}

int qcow2__meta_build(struct qcow2 *q)
{
    qcow2__meta_free(q);
    int rc = qcow2__meta_add(q, 0, q->cluster_size, QCOW2_META_HEADER);
    if (rc == 0)
        rc = qcow2__meta_add(q, q->l1_offset, (uint64_t)q->l1_size * 8, QCOW2_META_L1);
    if (rc == 0)
        rc = qcow2__meta_add(q, q->rt_offset, (uint64_t)q->rt_clusters << q->cluster_bits,
                             QCOW2_META_RT);
    for (uint64_t i = 0; rc == 0 && i < q->rt_entries; i++) {
        if (q->rt[i])
            rc = qcow2__meta_add(q, q->rt[i], q->cluster_size, QCOW2_META_RB);
    }
    if (rc == 0)
        rc = add_tree(q, q->l1, q->l1_size);
    if (rc == 0 && q->nb_snapshots)
        rc = qcow2__meta_add(q, q->snapshots_offset,
                             qcow2__snapshot_table_size(q->snaps, q->nb_snapshots),
                             QCOW2_META_SNAPTAB);
    for (uint32_t s = 0; rc == 0 && s < q->nb_snapshots; s++) {
        const struct qcow2_snap *sn = &q->snaps[s];
        rc = qcow2__meta_add(q, sn->l1_offset, (uint64_t)sn->l1_size * 8, QCOW2_META_SNAP_L1);
        uint64_t *l1 = NULL;
        if (rc == 0 && sn->l1_size)
            rc = qcow2__read_table(q, sn->l1_offset, sn->l1_size, &l1);
        if (rc == 0)
            rc = add_tree(q, l1, sn->l1_size);
        free(l1);
    }
    if (rc == 0)
        rc = add_bitmaps(q);
    return rc;
}

int qcow2__meta_check_write(struct qcow2 *q, uint64_t offset, uint64_t len, int allowed)
{
    if (q->ext_data && allowed == QCOW2_META_NONE)
        return 0; /* guest data lives in the other file */
    if (len == 0)
        return 0;
    uint64_t first = offset >> q->cluster_bits, last = (offset + len - 1) >> q->cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        int kind = qcow2__meta_kind(q, c);
        if (kind != allowed)
            return qcow2__corrupt(q, "a write to %#" PRIx64 " meant for %s would overwrite %s",
                                  c << q->cluster_bits, qcow2__meta_name(allowed),
                                  qcow2__meta_name(kind));
    }
    return 0;
}
