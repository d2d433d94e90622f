/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2_cache.c — write-back caches of L2 tables and refcount blocks, and
 * the order in which they reach the disk:
 *
 *   1. guest data is written before the L2 entry that points at it is
 *      updated (in memory);
 *   2. refcount blocks are written, and the file synced, before any L2
 *      table (so an L2 entry never points at a cluster whose refcount on
 *      disk is 0);
 *   3. decrements are deferred until the L2 tables that dropped the
 *      reference are on disk (so a refcount never goes below the number of
 *      references on disk), then applied to the refcount cache.
 *
 * A crash anywhere leaves at most clusters with a refcount too high: leaks.
 * With lazy refcounts the dirty bit is set and step 2's ordering is relaxed.
 */
#include <stdlib.h>
#include <string.h>

#include "qcow2_internal.h"

int qcow2__cache_init(struct qcow2_cache *c, unsigned n, size_t size)
{
    c->e = calloc(n, sizeof(*c->e));
    if (!c->e)
        return -ENOMEM;
    c->n = n;
    for (unsigned i = 0; i < n; i++) {
        c->e[i].data = img__alloc_aligned(size);
        if (!c->e[i].data)
            return -ENOMEM;
    }
    return 0;
}

void qcow2__cache_free(struct qcow2_cache *c)
{
    if (!c->e)
        return;
    for (unsigned i = 0; i < c->n; i++)
        free(c->e[i].data);
    free(c->e);
    c->e = NULL;
}

static int find(struct qcow2_cache *c, uint64_t offset)
{
    if (c->e[c->last].offset == offset)
        return (int)c->last;
    for (unsigned i = 0; i < c->n; i++) {
        if (c->e[i].offset == offset)
            return (int)i;
    }
    return -1;
}

int qcow2__sync(struct qcow2 *q)
{
    int rc = img__file_sync(q->file);
    if (rc == 0 && q->ext_data)
        rc = img__file_sync(q->data);
    if (rc < 0)
        return img__error(rc, "%s: fdatasync: %s", q->img->filename, kk_strerror(rc));
    q->unsynced = false;
    return 0;
}

static bool lazy(const struct qcow2 *q)
{
    return q->incompat & QCOW2_INCOMPAT_DIRTY;
}

static int write_entry(struct qcow2 *q, struct qcow2_cache *c, struct qcow2_cache_entry *e)
{
    if (c == &q->l2_cache && !lazy(q)) {
        /* Refcounts first, and durable, before any L2 table (rule 2). */
        int rc = qcow2__cache_write_dirty(q, &q->rb_cache);
        if (rc == 0 && q->unsynced)
            rc = qcow2__sync(q);
        if (rc < 0)
            return rc;
    }
    int rc = qcow2__meta_check_write(q, e->offset, q->cluster_size,
                                     c == &q->l2_cache ? QCOW2_META_L2 : QCOW2_META_RB);
    if (rc < 0)
        return rc;
    rc = img__file_pwrite(q->file, e->data, q->cluster_size, e->offset);
    if (rc < 0)
        return img__error(rc, "%s: cannot write %s table at %#" PRIx64 ": %s", q->img->filename,
                          c == &q->l2_cache ? "an L2" : "a refcount", e->offset, kk_strerror(rc));
    e->dirty = false;
    q->unsynced = true;
    return 0;
}

int qcow2__cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t offset, bool fresh,
                     uint8_t **data)
{
    int i = find(c, offset);
    if (i >= 0) {
        c->e[i].lru = ++c->tick;
        c->last = (unsigned)i;
        if (fresh)
            memset(c->e[i].data, 0, q->cluster_size);
        *data = c->e[i].data;
        return 0;
    }
    /* Evict the least recently used slot. */
    unsigned victim = 0;
    for (unsigned j = 0; j < c->n; j++) {
        if (c->e[j].offset == 0) {
            victim = j;
            break;
        }
        if (c->e[j].lru < c->e[victim].lru)
            victim = j;
    }
    struct qcow2_cache_entry *e = &c->e[victim];
    if (e->offset && e->dirty) {
        int rc = write_entry(q, c, e);
        if (rc < 0)
            return rc;
    }
    e->offset = 0;
    if (fresh) {
        memset(e->data, 0, q->cluster_size);
    } else {
        int rc = img__file_pread(q->file, e->data, q->cluster_size, offset);
        if (rc < 0)
            return img__error(rc, "%s: cannot read table at %#" PRIx64 ": %s", q->img->filename,
                              offset, kk_strerror(rc));
    }
    e->offset = offset;
    e->dirty = false;
    e->lru = ++c->tick;
    c->last = victim;
    *data = e->data;
    return 0;
}

void qcow2__cache_mark_dirty(struct qcow2_cache *c, uint64_t offset)
{
    int i = find(c, offset);
    if (i >= 0)
        c->e[i].dirty = true;
}

void qcow2__cache_drop(struct qcow2_cache *c, uint64_t offset)
{
    int i = find(c, offset);
    if (i >= 0) {
        c->e[i].offset = 0;
        c->e[i].dirty = false;
    }
}

void qcow2__cache_clear(struct qcow2_cache *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        c->e[i].offset = 0;
        c->e[i].dirty = false;
    }
}

int qcow2__cache_write_dirty(struct qcow2 *q, struct qcow2_cache *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (c->e[i].offset && c->e[i].dirty) {
            int rc = write_entry(q, c, &c->e[i]);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int qcow2__flush_metadata(struct qcow2 *q, bool sync)
{
    int rc = qcow2__cache_write_dirty(q, &q->rb_cache);
    if (rc == 0 && q->unsynced)
        rc = qcow2__sync(q);
    if (rc == 0)
        rc = qcow2__cache_write_dirty(q, &q->l2_cache);
    if (rc == 0 && q->npending) {
        /* Rule 3: the L2 tables that dropped references must be durable. */
        if (q->unsynced)
            rc = qcow2__sync(q);
        if (rc == 0)
            rc = qcow2__apply_deferred(q);
        if (rc == 0)
            rc = qcow2__cache_write_dirty(q, &q->rb_cache);
    }
    if (rc == 0 && sync && q->unsynced)
        rc = qcow2__sync(q);
    return rc;
}
