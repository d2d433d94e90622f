/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2_snapshot.c — internal snapshots: the snapshot table, and create /
 * apply / delete, which move refcounts of whole L1 trees.
 *
 * Crash safety: refcounts go up (and bit 63 goes down) and reach the disk
 * before anything new refers to them; references are dropped on disk before
 * refcounts go down. A crash in between leaves leaked clusters only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qcow2_internal.h"

void qcow2__free_snapshots(struct qcow2 *q)
{
    for (uint32_t i = 0; i < q->nb_snapshots && q->snaps; i++) {
        free(q->snaps[i].id);
        free(q->snaps[i].name);
        free(q->snaps[i].extra);
    }
    free(q->snaps);
    q->snaps = NULL;
}

int qcow2__read_snapshots(struct qcow2 *q)
{
    if (q->nb_snapshots == 0)
        return 0;
    const char *fn = q->img->filename;
    if (q->snapshots_offset >= q->end)
        return img__error(-EINVAL, "%s: snapshot table is past the end of the file", fn);
    uint64_t avail = KK_MIN(q->end - q->snapshots_offset, (uint64_t)QCOW2_MAX_SNAPSHOT_TABLE);
    uint8_t *buf = malloc(avail);
    q->snaps = calloc(q->nb_snapshots, sizeof(*q->snaps));
    if (!buf || !q->snaps) {
        free(buf);
        return -ENOMEM;
    }
    int rc = img__file_pread(q->file, buf, avail, q->snapshots_offset);
    uint64_t pos = 0;
    for (uint32_t i = 0; rc == 0 && i < q->nb_snapshots; i++) {
        struct qcow2_snap *s = &q->snaps[i];
        if (pos + 40 > avail) {
            rc = img__error(-EINVAL, "%s: snapshot table truncated at entry %u", fn, i);
            break;
        }
        const uint8_t *e = buf + pos;
        s->l1_offset = be64_get(e);
        s->l1_size = be32_get(e + 8);
        uint32_t id_len = be16_get(e + 12), name_len = be16_get(e + 14);
        s->date_sec = be32_get(e + 16);
        s->date_nsec = be32_get(e + 20);
        s->vm_clock_nsec = be64_get(e + 24);
        s->vm_state_size = be32_get(e + 32);
        s->extra_size = be32_get(e + 36);
        s->disk_size = q->img->size;
        s->icount = UINT64_MAX;
        if (s->extra_size > 1024) {
            rc = img__error(-EINVAL, "%s: snapshot %u: extra data of %u bytes", fn, i, s->extra_size);
            break;
        }
        uint64_t len = 40ull + s->extra_size + id_len + name_len;
        if (pos + len > avail) {
            rc = img__error(-EINVAL, "%s: snapshot table truncated at entry %u", fn, i);
            break;
        }
        s->extra = malloc(s->extra_size ? s->extra_size : 1);
        s->id = strndup((const char *)e + 40 + s->extra_size, id_len);
        s->name = strndup((const char *)e + 40 + s->extra_size + id_len, name_len);
        if (!s->extra || !s->id || !s->name) {
            rc = -ENOMEM;
            break;
        }
        memcpy(s->extra, e + 40, s->extra_size);
        if (s->extra_size >= 8)
            s->vm_state_size = be64_get(s->extra);
        if (s->extra_size >= 16)
            s->disk_size = be64_get(s->extra + 8);
        if (s->extra_size >= 24)
            s->icount = be64_get(s->extra + 16);
        if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
            rc = img__error(-EFBIG, "%s: snapshot %s: L1 table too large", fn, s->id);
            break;
        }
        if (s->disk_size > (1ull << 61)) {
            rc = img__error(-EFBIG, "%s: snapshot %s: disk size too large", fn, s->id);
            break;
        }
        rc = qcow2__check_table(q, "snapshot L1 table", s->l1_offset, (uint64_t)s->l1_size * 8);
        pos += (len + 7) & ~7ull;
    }
    free(buf);
    return rc;
}

static size_t table_size(const struct qcow2 *q)
{
    size_t n = 0;
    for (uint32_t i = 0; i < q->nb_snapshots; i++)
        n += (40 + q->snaps[i].extra_size + strlen(q->snaps[i].id) + strlen(q->snaps[i].name) + 7) &
             ~(size_t)7;
    return n;
}

/* Write the table q->snaps[0..nb) to new clusters, switch the header to
 * it and free the old one. */
static int write_table(struct qcow2 *q, uint64_t old_off, size_t old_size)
{
    size_t size = table_size(q);
    uint64_t off = 0;
    int rc = 0;
    if (q->nb_snapshots) {
        uint64_t clusters = (size + q->cluster_size - 1) >> q->cluster_bits;
        uint8_t *buf = img__alloc_aligned(clusters << q->cluster_bits);
        if (!buf)
            return -ENOMEM;
        size_t pos = 0;
        for (uint32_t i = 0; i < q->nb_snapshots; i++) {
            const struct qcow2_snap *s = &q->snaps[i];
            uint8_t *e = buf + pos;
            size_t il = strlen(s->id), nl = strlen(s->name);
            be64_put(e, s->l1_offset);
            be32_put(e + 8, s->l1_size);
            be16_put(e + 12, (uint16_t)il);
            be16_put(e + 14, (uint16_t)nl);
            be32_put(e + 16, s->date_sec);
            be32_put(e + 20, s->date_nsec);
            be64_put(e + 24, s->vm_clock_nsec);
            be32_put(e + 32, (uint32_t)KK_MIN(s->vm_state_size, (uint64_t)UINT32_MAX));
            be32_put(e + 36, s->extra_size);
            memcpy(e + 40, s->extra, s->extra_size);
            memcpy(e + 40 + s->extra_size, s->id, il);
            memcpy(e + 40 + s->extra_size + il, s->name, nl);
            pos += (40 + s->extra_size + il + nl + 7) & ~(size_t)7;
        }
        rc = qcow2__alloc_clusters(q, clusters, &off);
        if (rc == 0)
            rc = qcow2__meta_add(q, off, clusters << q->cluster_bits, QCOW2_META_SNAPTAB);
        if (rc == 0)
            rc = img__file_pwrite(q->file, buf, clusters << q->cluster_bits, off);
        free(buf);
    }
    /* Refcounts (and everything the table refers to) first, durable. */
    if (rc == 0)
        rc = qcow2__flush_metadata(q, true);
    if (rc < 0)
        return rc;
    q->snapshots_offset = off;
    rc = qcow2__write_header(q);
    if (rc == 0)
        rc = qcow2__sync(q);
    if (rc == 0 && old_size)
        rc = qcow2__update_refcount(q, old_off, old_size, -1);
    return rc;
}

/* Add @delta to the refcount of everything an L1 table reaches. */
static int update_tree(struct qcow2 *q, const uint64_t *l1, uint32_t l1_size, int delta)
{
    uint8_t *copy = img__alloc_aligned(q->cluster_size);
    if (!copy)
        return -ENOMEM;
    int rc = 0;
    for (uint32_t i = 0; i < l1_size && rc == 0; i++) {
        uint64_t l2 = l1[i] & QCOW2_OFFSET_MASK;
        if (!l2)
            continue;
        uint8_t *t;
        rc = qcow2__load_l2(q, l2, &t);
        if (rc < 0)
            break;
        memcpy(copy, t, q->cluster_size);
        for (uint64_t j = 0; j < qcow2_l2_entries(q) && rc == 0; j++) {
            struct qcow2_l2e e;
            if (qcow2__decode_l2e(q, copy, j, &e) < 0) {
                rc = qcow2__corrupt(q, "invalid entry %" PRIu64 " in L2 table %#" PRIx64, j, l2);
                break;
            }
            if (e.type == QCOW2_NORMAL && !q->ext_data)
                rc = qcow2__update_refcount(q, e.host, q->cluster_size, delta);
            else if (e.type == QCOW2_COMPRESSED)
                rc = qcow2__update_refcount(q, e.host, e.csize, delta);
        }
        if (rc == 0)
            rc = qcow2__update_refcount(q, l2, q->cluster_size, delta);
    }
    free(copy);
    return rc;
}

/* Make bit 63 of the active L1 and of L2 tables it owns match the refcounts. */
static int sync_copied(struct qcow2 *q)
{
    for (uint32_t i = 0; i < q->l1_size; i++) {
        uint64_t l2 = q->l1[i] & QCOW2_OFFSET_MASK;
        if (!l2)
            continue;
        uint64_t rc_l2;
        int rc = qcow2__get_refcount(q, l2 >> q->cluster_bits, &rc_l2);
        if (rc < 0)
            return rc;
        uint64_t want = l2 | (rc_l2 == 1 ? QCOW2_OFLAG_COPIED : 0);
        if (want != q->l1[i]) {
            q->l1[i] = want;
            uint64_t be = __builtin_bswap64(want);
            rc = img__file_pwrite(q->file, &be, 8, q->l1_offset + i * 8ull);
            if (rc < 0)
                return rc;
            q->unsynced = true;
        }
        uint8_t *t;
        rc = qcow2__load_l2(q, l2, &t);
        if (rc < 0)
            return rc;
        bool changed = false;
        for (uint64_t j = 0; j < qcow2_l2_entries(q); j++) {
            struct qcow2_l2e e;
            if (qcow2__decode_l2e(q, t, j, &e) < 0)
                return qcow2__corrupt(q, "invalid entry %" PRIu64 " in L2 table %#" PRIx64, j, l2);
            if (e.type != QCOW2_NORMAL)
                continue;
            uint64_t r = 1;
            if (!q->ext_data && (rc = qcow2__get_refcount(q, e.host >> q->cluster_bits, &r)) < 0)
                return rc;
            /* Refcount lookups may evict: reload before editing. */
            if ((rc = qcow2__load_l2(q, l2, &t)) < 0)
                return rc;
            bool w = rc_l2 == 1 && r == 1;
            if (w != e.copied) {
                e.copied = w;
                qcow2__encode_l2e(q, t, j, &e);
                changed = true;
            }
        }
        if (changed)
            qcow2__cache_mark_dirty(&q->l2_cache, l2);
    }
    return 0;
}

static struct qcow2_snap *find(struct qcow2 *q, const char *name)
{
    for (uint32_t i = 0; i < q->nb_snapshots; i++) {
        if (strcmp(q->snaps[i].id, name) == 0)
            return &q->snaps[i];
    }
    for (uint32_t i = 0; i < q->nb_snapshots; i++) {
        if (strcmp(q->snaps[i].name, name) == 0)
            return &q->snaps[i];
    }
    return NULL;
}

int qcow2_snapshot_list(struct img *img, struct img_snapshot **out)
{
    struct qcow2 *q = img->priv;
    pthread_mutex_lock(&q->lock);
    struct img_snapshot *v = calloc(q->nb_snapshots ? q->nb_snapshots : 1, sizeof(*v));
    if (!v) {
        pthread_mutex_unlock(&q->lock);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < q->nb_snapshots; i++) {
        const struct qcow2_snap *s = &q->snaps[i];
        snprintf(v[i].id, sizeof(v[i].id), "%s", s->id);
        snprintf(v[i].name, sizeof(v[i].name), "%s", s->name);
        v[i].vm_state_size = s->vm_state_size;
        v[i].disk_size = s->disk_size;
        v[i].date_sec = s->date_sec;
        v[i].date_nsec = s->date_nsec;
        v[i].vm_clock_nsec = s->vm_clock_nsec;
        v[i].icount = s->icount;
    }
    int n = (int)q->nb_snapshots;
    pthread_mutex_unlock(&q->lock);
    *out = v;
    return n;
}

static int do_create(struct qcow2 *q, const char *name)
{
    if (!name || !*name || strlen(name) > 255)
        return img__error(-EINVAL, "snapshot names are 1 to 255 bytes");
    if (q->ext_data)
        return img__error(-ENOTSUP, "%s: no internal snapshots with an external data file",
                          q->img->filename);
    if (find(q, name))
        return img__error(-EEXIST, "%s: a snapshot named '%s' exists", q->img->filename, name);
    if (q->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
        return img__error(-ENOSPC, "%s: too many snapshots", q->img->filename);
    if (q->refcount_max < 2)
        return img__error(-ERANGE, "%s: snapshots need refcount_bits of 2 or more",
                          q->img->filename);
    int rc = qcow2__mark_modified(q);
    if (rc == 0)
        rc = qcow2__flush_metadata(q, false);
    if (rc < 0)
        return rc;
    /* A copy of the active L1 table. */
    uint64_t bytes = (uint64_t)q->l1_size * 8, l1_off = 0;
    uint64_t clusters = (bytes + q->cluster_size - 1) >> q->cluster_bits;
    if (clusters) {
        rc = qcow2__alloc_clusters(q, clusters, &l1_off);
        if (rc == 0)
            rc = qcow2__meta_add(q, l1_off, clusters << q->cluster_bits, QCOW2_META_SNAP_L1);
        if (rc < 0)
            return rc;
        uint64_t *be = img__alloc_aligned(clusters << q->cluster_bits);
        if (!be)
            return -ENOMEM;
        for (uint32_t i = 0; i < q->l1_size; i++)
            be[i] = __builtin_bswap64(q->l1[i] & ~QCOW2_OFLAG_COPIED);
        rc = img__file_pwrite(q->file, be, clusters << q->cluster_bits, l1_off);
        free(be);
        if (rc < 0)
            return rc;
    }
    rc = update_tree(q, q->l1, q->l1_size, 1);
    if (rc == 0)
        rc = sync_copied(q);
    if (rc < 0)
        return rc;
    /* The new entry. */
    unsigned long next = 0;
    for (uint32_t i = 0; i < q->nb_snapshots; i++) {
        unsigned long v = strtoul(q->snaps[i].id, NULL, 10);
        if (v > next)
            next = v;
    }
    struct qcow2_snap *v = realloc(q->snaps, (q->nb_snapshots + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    q->snaps = v;
    struct qcow2_snap *s = &q->snaps[q->nb_snapshots];
    memset(s, 0, sizeof(*s));
    char id[32];
    snprintf(id, sizeof(id), "%lu", next + 1);
    s->id = strdup(id);
    s->name = strdup(name);
    s->extra_size = 24;
    s->extra = calloc(1, 24);
    if (!s->id || !s->name || !s->extra) {
        free(s->id);
        free(s->name);
        free(s->extra);
        return -ENOMEM;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->date_sec = (uint32_t)ts.tv_sec;
    s->date_nsec = (uint32_t)ts.tv_nsec;
    s->l1_offset = l1_off;
    s->l1_size = q->l1_size;
    s->disk_size = q->img->size;
    s->icount = UINT64_MAX;
    be64_put(s->extra + 8, s->disk_size);
    be64_put(s->extra + 16, s->icount);
    uint64_t old_off = q->snapshots_offset;
    size_t old_size = table_size(q);
    q->nb_snapshots++;
    rc = write_table(q, old_off, old_size);
    if (rc < 0)
        return rc;
    return qcow2__flush_metadata(q, true);
}

static int do_apply(struct qcow2 *q, const char *name)
{
    struct qcow2_snap *s = find(q, name);
    if (!s)
        return img__error(-ENOENT, "%s: no snapshot '%s'", q->img->filename, name);
    int rc = qcow2__mark_modified(q);
    if (rc == 0)
        rc = qcow2__flush_metadata(q, false);
    if (rc < 0)
        return rc;
    uint64_t *snap_l1;
    rc = qcow2__read_table(q, s->l1_offset, s->l1_size, &snap_l1);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t l2 = snap_l1[i] & QCOW2_OFFSET_MASK;
        if ((snap_l1[i] & QCOW2_L1_RESERVED) || (l2 & (q->cluster_size - 1)) || l2 >= q->end) {
            free(snap_l1);
            return qcow2__corrupt(q, "snapshot %s: bad L1 entry %u", s->id, i);
        }
    }
    uint64_t disk_size = s->disk_size;
    uint32_t snap_size = s->l1_size;
    if (snap_size > q->l1_size && (rc = qcow2__grow_l1(q, snap_size)) < 0) {
        free(snap_l1);
        return rc;
    }
    rc = update_tree(q, snap_l1, snap_size, 1);
    if (rc == 0)
        rc = qcow2__flush_metadata(q, true);
    if (rc < 0) {
        free(snap_l1);
        return rc;
    }
    /* Switch the active table's contents. */
    uint64_t *old = q->l1;
    uint32_t n = q->l1_size;
    uint64_t *nl1 = calloc(n ? n : 1, 8);
    uint64_t *be = img__alloc_aligned((size_t)n * 8);
    if (!nl1 || !be) {
        free(nl1);
        free(be);
        free(snap_l1);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        nl1[i] = i < snap_size ? snap_l1[i] & ~QCOW2_OFLAG_COPIED : 0;
        be[i] = __builtin_bswap64(nl1[i]);
    }
    free(snap_l1);
    qcow2__cache_write_dirty(q, &q->l2_cache);
    rc = img__file_pwrite(q->file, be, (size_t)n * 8, q->l1_offset);
    free(be);
    if (rc == 0)
        rc = qcow2__sync(q);
    if (rc < 0) {
        free(nl1);
        return rc;
    }
    q->l1 = nl1;
    uint64_t old_size = q->img->size;
    q->img->size = disk_size;
    rc = update_tree(q, old, n, -1);
    free(old);
    if (rc == 0)
        rc = sync_copied(q);
    if (rc == 0 && disk_size != old_size)
        rc = qcow2__write_header(q);
    q->cbuf_key = 0;
    if (rc == 0)
        rc = qcow2__flush_metadata(q, true);
    return rc;
}

static int do_delete(struct qcow2 *q, const char *name)
{
    struct qcow2_snap *s = find(q, name);
    if (!s)
        return img__error(-ENOENT, "%s: no snapshot '%s'", q->img->filename, name);
    int rc = qcow2__mark_modified(q);
    if (rc == 0)
        rc = qcow2__flush_metadata(q, false);
    if (rc < 0)
        return rc;
    struct qcow2_snap gone = *s;
    uint64_t *l1;
    rc = qcow2__read_table(q, gone.l1_offset, gone.l1_size, &l1);
    if (rc < 0)
        return rc;
    uint64_t old_off = q->snapshots_offset;
    size_t old_size = table_size(q);
    size_t i = (size_t)(s - q->snaps);
    memmove(&q->snaps[i], &q->snaps[i + 1], (q->nb_snapshots - i - 1) * sizeof(*s));
    q->nb_snapshots--;
    rc = write_table(q, old_off, old_size);
    if (rc == 0)
        rc = update_tree(q, l1, gone.l1_size, -1);
    if (rc == 0 && gone.l1_size)
        rc = qcow2__update_refcount(q, gone.l1_offset, (uint64_t)gone.l1_size * 8, -1);
    if (rc == 0)
        rc = sync_copied(q);
    if (rc == 0)
        rc = qcow2__flush_metadata(q, true);
    free(l1);
    free(gone.id);
    free(gone.name);
    free(gone.extra);
    return rc;
}

int qcow2__show_snapshot(struct qcow2 *q, const char *name)
{
    struct qcow2_snap *s = find(q, name);
    if (!s)
        return img__error(-ENOENT, "%s: no snapshot '%s'", q->img->filename, name);
    uint64_t *l1;
    int rc = qcow2__read_table(q, s->l1_offset, s->l1_size, &l1);
    if (rc < 0)
        return rc;
    uint64_t per_l1 = q->cluster_size << q->l2_bits;
    if ((s->disk_size + per_l1 - 1) / per_l1 > s->l1_size) {
        free(l1);
        return img__error(-EINVAL, "%s: snapshot %s: L1 table too small for its disk size",
                          q->img->filename, s->id);
    }
    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t l2 = l1[i] & QCOW2_OFFSET_MASK;
        if ((l1[i] & QCOW2_L1_RESERVED) || (l2 & (q->cluster_size - 1)) || l2 >= q->end) {
            free(l1);
            return img__error(-EINVAL, "%s: snapshot %s: bad L1 entry %u", q->img->filename,
                              s->id, i);
        }
    }
    /* Like qemu-img convert -l, the image keeps its current size: past the
     * snapshot's L1 table everything reads as zeros. */
    free(q->l1);
    q->l1 = l1;
    q->l1_size = s->l1_size;
    q->l1_offset = s->l1_offset;
    return 0;
}

#define LOCKED(call)                                                                    \
    do {                                                                                \
        struct qcow2 *q_ = img->priv;                                                   \
        pthread_rwlock_wrlock(&q_->io_lock);                                            \
        pthread_mutex_lock(&q_->lock);                                                  \
        int rc_ = call;                                                                 \
        pthread_mutex_unlock(&q_->lock);                                                \
        pthread_rwlock_unlock(&q_->io_lock);                                            \
        return rc_;                                                                     \
    } while (0)

int qcow2_snapshot_create(struct img *img, const char *name)
{
    LOCKED(do_create(q_, name));
}

int qcow2_snapshot_apply(struct img *img, const char *name)
{
    LOCKED(do_apply(q_, name));
}

int qcow2_snapshot_delete(struct img *img, const char *name)
{
    LOCKED(do_delete(q_, name));
}
