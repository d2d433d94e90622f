/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2_snapshot.c — internal snapshots: the snapshot table, and create /
 * apply / delete.
 *
 * Crash safety: an operation changes refcounts of whole L1 trees and bit 63
 * ("copied") of active L1 and L2 entries, which live in many clusters. So it
 * never changes them in place: it builds the complete next metadata state —
 * refcount table and blocks computed from scratch, snapshot table, active
 * L1 table, copies of the active L2 tables whose bit 63 would be wrong —
 * in clusters the live state does not use, syncs, switches to it with one
 * write of header bytes 24..71, and syncs again. A process killed (or a
 * power loss) before the switch leaves the old state intact, the new
 * clusters unreferenced; after it the new state is complete. Clusters only
 * the old state used are then punched, and free clusters at the end of the
 * file cut off.
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

int (*qcow2__switch_hook)(struct qcow2 *q, int stage);

/* The table for @snaps, zero-padded to whole clusters (*bytes). */
static uint8_t *encode_table(const struct qcow2 *q, const struct qcow2_snap *snaps, uint32_t n,
                             uint64_t *bytes)
{
    uint64_t clusters = (qcow2__snapshot_table_size(snaps, n) + q->cluster_size - 1) >>
                        q->cluster_bits;
    *bytes = clusters << q->cluster_bits;
    uint8_t *buf = img__alloc_aligned(*bytes);
    if (!buf)
        return NULL;
    size_t pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct qcow2_snap *s = &snaps[i];
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
    return buf;
}

/* ---- the switch from one complete metadata state to the next ---------------- */

/* The state a snapshot operation asks for. */
struct next_state {
    uint64_t size;    /* virtual size */
    uint32_t l1_size; /* active L1 table: L2 offsets (bit 63 is computed) */
    uint64_t *l1;
    uint32_t nb_snapshots;
    struct qcow2_snap *snaps; /* their L1 tables are on disk, but created's */
    int64_t created;          /* index of a new snapshot, or -1 */
    uint64_t *created_l1;     /* its L1 table: a copy of the active one */
};

struct commit {
    struct qcow2 *q;
    struct next_state *ns;
    uint64_t old_file_size;
    uint64_t *old_refs; /* references of the live state, refcount structure included */
    uint64_t old_n;
    struct qcow2_layout l; /* taken: 1 used by the live state, 2 written for the next one */
    uint64_t *refs;        /* references of the next state */
    uint64_t n;
    uint64_t l1_offset, table_offset;
    uint8_t *buf; /* one cluster */
    struct qcow2_rtab rt;
};

static uint64_t bytes_to_clusters(const struct qcow2 *q, uint64_t bytes)
{
    return (bytes + q->cluster_size - 1) >> q->cluster_bits;
}

/* Clusters for the next state, none of which the live state uses. */
static int take(struct commit *c, uint64_t clusters, uint64_t *offset)
{
    uint64_t first;
    int rc = qcow2__layout_take(&c->l, clusters, 2, &first);
    if (rc == 0 && (first + clusters) << c->q->cluster_bits > QCOW2_MAX_HOST_OFFSET)
        rc = img__error(-EFBIG, "%s: image file would exceed 64 PiB", c->q->img->filename);
    if (rc == 0)
        rc = qcow2__refs_reserve(&c->refs, &c->n, first + clusters);
    *offset = first << c->q->cluster_bits;
    return rc;
}

/* What the live state uses: every cluster it references, every cluster with
 * a refcount on disk (leaks too), every cluster the overlap guard knows. */
static int mark_live(struct commit *c)
{
    struct qcow2 *q = c->q;
    int rc = img__file_size(q->file, &c->old_file_size);
    if (rc < 0)
        return rc;
    c->old_n = kk_align_up(KK_MAX(c->old_file_size, q->end), q->cluster_size) >> q->cluster_bits;
    if (c->old_n > (1ull << 27))
        return img__error(-EFBIG, "%s: too many clusters for a snapshot operation",
                          q->img->filename);
    c->old_refs = calloc(c->old_n ? c->old_n : 1, 8);
    c->l.taken = calloc(c->old_n ? c->old_n : 1, 1);
    if (!c->old_refs || !c->l.taken)
        return -ENOMEM;
    c->l.n = c->l.cap = c->old_n;
    struct qcow2_state live;
    qcow2__live_state(q, &live);
    struct img_check_result res = {0};
    rc = qcow2__count_refs(q, &live, c->old_refs, c->old_n, &res);
    if (rc < 0)
        return rc;
    if (res.corruptions || res.check_errors)
        return img__error(-EIO, "%s: the image has errors; repair it with 'check -r all' first",
                          q->img->filename);
    for (uint64_t i = 0; i < q->rt_clusters; i++) {
        uint64_t cl = (q->rt_offset >> q->cluster_bits) + i;
        if (cl < c->old_n)
            c->old_refs[cl]++;
    }
    for (uint64_t i = 0; i < q->rt_entries; i++) {
        if (q->rt[i] && (q->rt[i] >> q->cluster_bits) < c->old_n)
            c->old_refs[q->rt[i] >> q->cluster_bits]++;
    }
    for (uint64_t cl = 0; cl < c->old_n; cl++) {
        uint64_t disk = 0;
        if (!c->old_refs[cl] && (rc = qcow2__get_refcount(q, cl, &disk)) < 0)
            return rc;
        if (c->old_refs[cl] || disk || cl == 0 || qcow2__meta_kind(q, cl) != QCOW2_META_NONE)
            c->l.taken[cl] = 1;
    }
    return 0;
}

/*
 * Is bit 63 of a data entry of the L2 table in c->buf wrong under the next
 * state's refcounts (set iff the cluster has one reference)? With @fix,
 * make every entry right: compressed and unallocated entries never carry it.
 */
static bool l2_flags(struct commit *c, bool fix)
{
    struct qcow2 *q = c->q;
    bool wrong = false;
    for (uint64_t j = 0; j < qcow2_l2_entries(q); j++) {
        uint8_t *p = c->buf + j * q->l2_entry_bytes;
        uint64_t raw = be64_get(p);
        struct qcow2_l2e e;
        bool want = false;
        if (qcow2__decode_l2e(q, c->buf, j, &e) < 0)
            continue; /* counted as an error already */
        if (e.type == QCOW2_NORMAL && e.host)
            want = c->refs[e.host >> q->cluster_bits] == 1;
        if (!!(raw & QCOW2_OFLAG_COPIED) == want)
            continue;
        if (e.type == QCOW2_NORMAL)
            wrong = true;
        if (fix)
            be64_put(p, raw ^ QCOW2_OFLAG_COPIED);
    }
    return wrong;
}

/* Copies of the active L2 tables whose bit 63 is wrong for the next state
 * (a created snapshot shares them). The originals lose those references. */
static int copy_l2_tables(struct commit *c)
{
    struct qcow2 *q = c->q;
    struct next_state *ns = c->ns;
    uint32_t shared_size = ns->created >= 0 ? ns->snaps[ns->created].l1_size : 0;
    for (uint32_t i = 0; i < ns->l1_size; i++) {
        uint64_t l2 = ns->l1[i] & QCOW2_OFFSET_MASK;
        if (!l2)
            continue;
        int rc = img__file_pread(q->file, c->buf, q->cluster_size, l2);
        if (rc < 0)
            return rc;
        if (!l2_flags(c, false))
            continue;
        l2_flags(c, true);
        uint64_t copy;
        rc = take(c, 1, &copy);
        if (rc == 0)
            rc = img__file_pwrite(q->file, c->buf, q->cluster_size, copy);
        if (rc < 0)
            return rc;
        ns->l1[i] = copy;
        c->refs[l2 >> q->cluster_bits]--;
        c->refs[copy >> q->cluster_bits]++;
        if (i < shared_size && (ns->created_l1[i] & QCOW2_OFFSET_MASK) == l2) {
            ns->created_l1[i] = copy;
            c->refs[l2 >> q->cluster_bits]--;
            c->refs[copy >> q->cluster_bits]++;
        }
    }
    return 0;
}

/* An L1 table; the active one gets bit 63 where its L2 table has one reference. */
static int write_l1(struct commit *c, const uint64_t *l1, uint32_t n, uint64_t offset, bool active)
{
    struct qcow2 *q = c->q;
    uint64_t bytes = bytes_to_clusters(q, (uint64_t)n * 8) << q->cluster_bits;
    uint64_t *be = img__alloc_aligned(bytes);
    if (!be)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t l2 = l1[i] & QCOW2_OFFSET_MASK;
        bool copied = active && l2 && c->refs[l2 >> q->cluster_bits] == 1;
        be[i] = __builtin_bswap64(l2 | (copied ? QCOW2_OFLAG_COPIED : 0));
    }
    int rc = img__file_pwrite(q->file, be, bytes, offset);
    free(be);
    return rc;
}

/* Write everything of the next state but the header. */
static int build(struct commit *c)
{
    struct qcow2 *q = c->q;
    struct next_state *ns = c->ns;
    int rc = mark_live(c);
    if (rc < 0)
        return rc;
    c->n = c->l.n;
    c->refs = calloc(c->n ? c->n : 1, 8);
    c->buf = img__alloc_aligned(q->cluster_size);
    if (!c->refs || !c->buf)
        return -ENOMEM;
    /* Places for the tables, whose sizes are known; the snapshot table is
     * encoded once the created snapshot's L1 table has its place. */
    uint64_t l1_clusters = bytes_to_clusters(q, (uint64_t)ns->l1_size * 8);
    if (l1_clusters && (rc = take(c, l1_clusters, &c->l1_offset)) < 0)
        return rc;
    if (ns->created >= 0) {
        struct qcow2_snap *s = &ns->snaps[ns->created];
        uint64_t clusters = bytes_to_clusters(q, (uint64_t)s->l1_size * 8);
        s->l1_offset = 0;
        if (clusters && (rc = take(c, clusters, &s->l1_offset)) < 0)
            return rc;
    }
    uint64_t table_bytes = 0;
    uint8_t *table = NULL;
    if (ns->nb_snapshots) {
        table = encode_table(q, ns->snaps, ns->nb_snapshots, &table_bytes);
        if (!table)
            return -ENOMEM;
        rc = take(c, table_bytes >> q->cluster_bits, &c->table_offset);
    }
    /* References of the next state, its L2 tables as they are now. */
    uint64_t **l1s = NULL;
    if (rc == 0 && ns->created >= 0) {
        l1s = calloc(ns->nb_snapshots, sizeof(*l1s));
        if (l1s)
            l1s[ns->created] = ns->created_l1;
        else
            rc = -ENOMEM;
    }
    struct qcow2_state next = {
        .l1_offset = c->l1_offset,
        .l1_size = ns->l1_size,
        .l1 = ns->l1,
        .nb_snapshots = ns->nb_snapshots,
        .snaps = ns->snaps,
        .snap_l1 = l1s,
        .snapshots_offset = c->table_offset,
    };
    struct img_check_result res = {0};
    if (rc == 0)
        rc = qcow2__count_refs(q, &next, c->refs, c->n, &res);
    free(l1s);
    if (rc == 0 && (res.corruptions || res.check_errors))
        rc = img__error(-EIO, "%s: the image has errors; repair it with 'check -r all' first",
                        q->img->filename);
    /* Bit 63 of the active tables follows the next state's refcounts. */
    if (rc == 0)
        rc = copy_l2_tables(c);
    if (rc == 0 && l1_clusters)
        rc = write_l1(c, ns->l1, ns->l1_size, c->l1_offset, true);
    if (rc == 0 && ns->created >= 0 && ns->snaps[ns->created].l1_size) {
        const struct qcow2_snap *s = &ns->snaps[ns->created];
        rc = write_l1(c, ns->created_l1, s->l1_size, s->l1_offset, false);
    }
    if (rc == 0 && table)
        rc = img__file_pwrite(q->file, table, table_bytes, c->table_offset);
    free(table);
    if (rc == 0)
        rc = qcow2__write_refcounts(q, &c->l, &c->refs, &c->n, &c->rt);
    return rc;
}

/* The next state is on disk: make it q's. */
static int adopt(struct commit *c)
{
    struct qcow2 *q = c->q;
    struct next_state *ns = c->ns;
    free(q->l1);
    q->l1 = ns->l1;
    ns->l1 = NULL;
    q->l1_offset = c->l1_offset;
    q->l1_size = ns->l1_size;
    for (uint32_t i = 0; i < q->l1_size; i++) {
        uint64_t l2 = q->l1[i] & QCOW2_OFFSET_MASK;
        if (l2 && c->refs[l2 >> q->cluster_bits] == 1)
            q->l1[i] |= QCOW2_OFLAG_COPIED;
    }
    free(q->rt);
    q->rt = c->rt.table;
    c->rt.table = NULL;
    q->rt_offset = c->rt.offset;
    q->rt_clusters = c->rt.clusters;
    q->rt_entries = c->rt.entries;
    free(q->snaps); /* the strings moved to ns->snaps */
    q->snaps = ns->snaps;
    q->nb_snapshots = ns->nb_snapshots;
    ns->snaps = NULL;
    q->snapshots_offset = c->table_offset;
    q->img->size = ns->size;
    qcow2__cache_clear(&q->l2_cache);
    qcow2__cache_clear(&q->rb_cache);
    q->end = KK_MAX(q->end, c->l.n << q->cluster_bits);
    q->free_hint = 0;
    q->compress_cursor = 0;
    q->cbuf_key = 0;
    return qcow2__meta_build(q);
}

/* Punch what only the old state used; cut free clusters off the end. */
static void give_back(struct commit *c)
{
    struct qcow2 *q = c->q;
    uint64_t run = 0;
    for (uint64_t cl = 1; cl <= c->old_n; cl++) {
        bool freed = cl < c->old_n && c->l.taken[cl] == 1 && (cl >= c->n || c->refs[cl] == 0);
        if (freed) {
            run++;
            continue;
        }
        if (run)
            img__file_punch(q->file, (cl - run) << q->cluster_bits, run << q->cluster_bits);
        run = 0;
    }
    uint64_t last = 1;
    for (uint64_t cl = c->n; cl > 0; cl--) {
        if (c->refs[cl - 1]) {
            last = cl;
            break;
        }
    }
    uint64_t end = last << q->cluster_bits, size;
    if (img__file_size(q->file, &size) == 0 && size > end && !q->file->block_device &&
        img__file_truncate(q->file, end) == 0) {
        q->end = end;
        uint64_t hw = img__file_high_water(q->file);
        if (hw > end)
            __atomic_store_n(&q->file->high_water, end, __ATOMIC_RELEASE);
    }
}

static void commit_free(struct commit *c)
{
    free(c->old_refs);
    free(c->l.taken);
    free(c->refs);
    free(c->buf);
    qcow2__rtab_free(&c->rt);
}

/*
 * Switch to @ns: build it in clusters the live state does not use, sync,
 * write the header fields that select it, sync. On success q describes @ns
 * (which gives up its L1 table and snapshot array); on failure before the
 * switch the live state is untouched and what was written is cut off again.
 */
static int commit(struct qcow2 *q, struct next_state *ns)
{
    /* Everything of the live state on disk first: caches, deferred frees. */
    int rc = qcow2__flush_metadata(q, true);
    if (rc < 0)
        return rc;
    struct commit c = {.q = q, .ns = ns};
    rc = build(&c);
    if (rc == 0)
        rc = qcow2__sync(q);
    if (rc == 0 && qcow2__switch_hook)
        rc = qcow2__switch_hook(q, 0);
    if (rc < 0) {
        /* Nothing refers to what was written; past the old end it goes. */
        uint64_t size;
        if (c.old_file_size && img__file_size(q->file, &size) == 0 && size > c.old_file_size &&
            !q->file->block_device)
            img__file_truncate(q->file, c.old_file_size);
        commit_free(&c);
        return rc;
    }
    struct qcow2 old = {.l1_size = q->l1_size,
                        .l1_offset = q->l1_offset,
                        .rt_offset = q->rt_offset,
                        .rt_clusters = q->rt_clusters,
                        .nb_snapshots = q->nb_snapshots,
                        .snapshots_offset = q->snapshots_offset};
    uint64_t old_size = q->img->size;
    q->img->size = ns->size;
    q->l1_size = ns->l1_size;
    q->l1_offset = c.l1_offset;
    q->rt_offset = c.rt.offset;
    q->rt_clusters = c.rt.clusters;
    q->nb_snapshots = ns->nb_snapshots;
    q->snapshots_offset = c.table_offset;
    rc = qcow2__write_header_switch(q);
    if (rc == 0)
        rc = qcow2__sync(q);
    if (rc < 0) {
        /* Which state the disk holds is unknown: keep the live one in
         * memory, and keep its clusters and the new ones too. */
        q->img->size = old_size;
        q->l1_size = old.l1_size;
        q->l1_offset = old.l1_offset;
        q->rt_offset = old.rt_offset;
        q->rt_clusters = old.rt_clusters;
        q->nb_snapshots = old.nb_snapshots;
        q->snapshots_offset = old.snapshots_offset;
        commit_free(&c);
        return rc;
    }
    if (qcow2__switch_hook)
        qcow2__switch_hook(q, 1);
    rc = adopt(&c);
    if (rc == 0)
        give_back(&c);
    commit_free(&c);
    return rc;
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

/* The active L1 table's L2 offsets, in a table of @n entries. */
static uint64_t *l2_offsets(const uint64_t *l1, uint32_t l1_size, uint32_t n)
{
    uint64_t *t = calloc(n ? n : 1, 8);
    for (uint32_t i = 0; t && i < n && i < l1_size; i++)
        t[i] = l1[i] & QCOW2_OFFSET_MASK;
    return t;
}

static void free_next(struct next_state *ns)
{
    free(ns->l1);
    free(ns->created_l1);
    free(ns->snaps); /* shallow: the strings belong to q->snaps */
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
    if (rc < 0)
        return rc;
    uint32_t nb = q->nb_snapshots;
    struct next_state ns = {
        .size = q->img->size,
        .l1_size = q->l1_size,
        .l1 = l2_offsets(q->l1, q->l1_size, q->l1_size),
        .nb_snapshots = nb + 1,
        .snaps = calloc(nb + 1, sizeof(*ns.snaps)),
        .created = nb,
        .created_l1 = l2_offsets(q->l1, q->l1_size, q->l1_size),
    };
    if (!ns.l1 || !ns.snaps || !ns.created_l1) {
        free_next(&ns);
        return -ENOMEM;
    }
    if (nb)
        memcpy(ns.snaps, q->snaps, nb * sizeof(*ns.snaps));
    unsigned long next = 0;
    for (uint32_t i = 0; i < nb; i++) {
        unsigned long v = strtoul(q->snaps[i].id, NULL, 10);
        if (v > next)
            next = v;
    }
    struct qcow2_snap *s = &ns.snaps[nb];
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
        free_next(&ns);
        return -ENOMEM;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->date_sec = (uint32_t)ts.tv_sec;
    s->date_nsec = (uint32_t)ts.tv_nsec;
    s->l1_size = q->l1_size;
    s->disk_size = q->img->size;
    s->icount = UINT64_MAX;
    be64_put(s->extra + 8, s->disk_size);
    be64_put(s->extra + 16, s->icount);
    rc = commit(q, &ns);
    if (rc < 0 && ns.snaps) {
        free(s->id);
        free(s->name);
        free(s->extra);
    }
    free_next(&ns);
    return rc;
}

static int do_apply(struct qcow2 *q, const char *name)
{
    struct qcow2_snap *s = find(q, name);
    if (!s)
        return img__error(-ENOENT, "%s: no snapshot '%s'", q->img->filename, name);
    int rc = qcow2__mark_modified(q);
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
    /* The active table keeps its size when larger, and covers the
     * snapshot's disk size in any case. */
    uint64_t per_l1 = q->cluster_size << q->l2_bits;
    uint64_t n = KK_MAX((uint64_t)KK_MAX(q->l1_size, s->l1_size),
                        (s->disk_size + per_l1 - 1) / per_l1);
    if (n * 8 > QCOW2_MAX_L1_BYTES) {
        free(snap_l1);
        return img__error(-EFBIG, "%s: L1 table would exceed %u bytes", q->img->filename,
                          QCOW2_MAX_L1_BYTES);
    }
    struct next_state ns = {
        .size = s->disk_size,
        .l1_size = (uint32_t)n,
        .l1 = l2_offsets(snap_l1, s->l1_size, (uint32_t)n),
        .nb_snapshots = q->nb_snapshots,
        .snaps = calloc(q->nb_snapshots, sizeof(*ns.snaps)),
        .created = -1,
    };
    free(snap_l1);
    if (!ns.l1 || !ns.snaps) {
        free_next(&ns);
        return -ENOMEM;
    }
    memcpy(ns.snaps, q->snaps, q->nb_snapshots * sizeof(*ns.snaps));
    rc = commit(q, &ns);
    free_next(&ns);
    return rc;
}

static int do_delete(struct qcow2 *q, const char *name)
{
    struct qcow2_snap *s = find(q, name);
    if (!s)
        return img__error(-ENOENT, "%s: no snapshot '%s'", q->img->filename, name);
    int rc = qcow2__mark_modified(q);
    if (rc < 0)
        return rc;
    struct qcow2_snap gone = *s;
    size_t idx = (size_t)(s - q->snaps);
    uint32_t nb = q->nb_snapshots - 1;
    struct next_state ns = {
        .size = q->img->size,
        .l1_size = q->l1_size,
        .l1 = l2_offsets(q->l1, q->l1_size, q->l1_size),
        .nb_snapshots = nb,
        .snaps = calloc(nb ? nb : 1, sizeof(*ns.snaps)),
        .created = -1,
    };
    if (!ns.l1 || !ns.snaps) {
        free_next(&ns);
        return -ENOMEM;
    }
    memcpy(ns.snaps, q->snaps, idx * sizeof(*ns.snaps));
    memcpy(ns.snaps + idx, q->snaps + idx + 1, (nb - idx) * sizeof(*ns.snaps));
    rc = commit(q, &ns);
    free_next(&ns);
    if (rc == 0) {
        free(gone.id);
        free(gone.name);
        free(gone.extra);
    }
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
