/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inflight I/O tracking (vhost-user INFLIGHT_SHMFD): the backend records
 * every request it takes from a ring in a region of shared memory that the
 * frontend keeps, so a backend that restarts (crash, upgrade) resumes the
 * requests the guest is still waiting for, in submission order, none lost
 * and none completed twice.
 *
 * Split rings: one entry per head; a request is in flight from pop to push.
 * A push records its batch (a list through the entries) before moving the
 * used index, so a backend killed between the two is repaired on restart.
 *
 * Packed rings: completions overwrite ring slots of other buffers still in
 * flight, so the region keeps a copy of every in-flight buffer's
 * descriptors, in entries taken from a free list. Updates follow the
 * specification's two-phase scheme: the live fields (free_head, used_idx,
 * used_wrap_counter) move first, the old_* fields once an update is
 * complete; on restart a half-done update is rolled back, unless the ring
 * shows its completions already reached the guest, in which case it is
 * committed.
 *
 * The region is shared with the frontend and survives us: on start it is
 * read once into private memory and checked entry by entry (indexes in
 * range, lists without loops or shared entries, buffer ids unique); while
 * running, the backend only writes it and works from private copies of
 * its links. A region that does not check out is logged and reinitialised.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kk_common.h"
#include "vhu_internal.h"

#define NONE 0xffffu

struct pending {
    uint64_t counter;
    uint16_t head;
    uint16_t count;  /* packed: descriptors */
    uint32_t first;  /* packed: index of the first in track->descs */
};

struct vhu_inflight_track {
    uint16_t num;
    bool packed;
    struct pending *pending;  /* to resubmit, in submission order */
    uint16_t n_pending;
    uint16_t pending_pos;

    /* packed: private copies of the region's links */
    uint16_t free_head;       /* == num: the free list is empty */
    uint16_t n_free;
    uint16_t used_idx;        /* ring position of the next completion */
    bool used_wrap;
    uint16_t *next;           /* desc[].next */
    uint16_t *last;           /* head entries: desc[].last */
    uint16_t *count;          /* head entries: desc[].num */
    uint16_t *head_of_id;     /* buffer id -> head entry, NONE */
    uint16_t *batch;          /* heads of the push in progress */
    uint16_t n_batch;
    struct virtq_packed_desc *descs; /* copies for resubmission */
};

size_t vhu__inflight_region_size(bool packed, uint16_t queue_size)
{
    size_t s = packed ? sizeof(struct vhu_inflight_packed_region) +
                                (size_t)queue_size * sizeof(struct vhu_inflight_packed_desc)
                      : sizeof(struct vhu_inflight_region) +
                                (size_t)queue_size * sizeof(struct vhu_inflight_desc);
    return kk_align_up(s, 64);
}

_Static_assert(sizeof(struct vhu_inflight_desc) == 16, "split inflight entry layout");
_Static_assert(sizeof(struct vhu_inflight_packed_desc) == 32, "packed inflight entry layout");
_Static_assert(offsetof(struct vhu_inflight_packed_region, desc) == 32,
               "packed inflight region layout");

static void track_free(struct vhu_inflight_track *t)
{
    if (!t)
        return;
    free(t->pending);
    free(t->next);
    free(t->last);
    free(t->count);
    free(t->head_of_id);
    free(t->batch);
    free(t->descs);
    free(t);
}

static struct vhu_inflight_track *track_alloc(uint16_t num, bool packed)
{
    struct vhu_inflight_track *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->num = num;
    t->packed = packed;
    t->pending = calloc(num, sizeof(*t->pending));
    bool ok = t->pending != NULL;
    if (packed) {
        t->next = calloc(num, sizeof(uint16_t));
        t->last = calloc(num, sizeof(uint16_t));
        t->count = calloc(num, sizeof(uint16_t));
        t->head_of_id = malloc(num * sizeof(uint16_t));
        t->batch = calloc(num, sizeof(uint16_t));
        t->descs = calloc(num, sizeof(*t->descs));
        ok = ok && t->next && t->last && t->count && t->head_of_id && t->batch && t->descs;
        if (ok)
            memset(t->head_of_id, 0xff, num * sizeof(uint16_t));
    }
    if (!ok) {
        track_free(t);
        return NULL;
    }
    return t;
}

void vhu__inflight_stop(struct vhu_queue *q)
{
    track_free(q->inflight_track);
    q->inflight_track = NULL;
}

/* Give up tracking this queue (the guest broke a rule the tracking relies
 * on). The region is marked uninitialised so no later backend trusts it. */
static void tracking_off(struct vhu_queue *q, const char *why, unsigned value)
{
    KK_LOGW(vhu_log, "queue %u: inflight tracking off: %s (%u); a backend restart now loses "
                     "requests in flight",
            q->index, why, value);
    if (q->inflight) {
        struct vhu_inflight_region *r = q->inflight; /* version sits alike in both layouts */
        __atomic_store_n(&r->version, 0, __ATOMIC_RELEASE);
    }
    vhu__inflight_stop(q);
}

static int cmp_pending(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    return x->counter < y->counter ? -1 : x->counter > y->counter;
}

/* ---- split ---------------------------------------------------------------- */

static int split_start(struct vhu_queue *q, const char *name)
{
    struct vhu_inflight_region *r = q->inflight;
    struct vhu_inflight_track *t = q->inflight_track;
    uint16_t num = q->num;
    const struct virtq_used *used = q->vq.l.used;
    uint16_t used_idx = __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE);
    if (r->version != VHU_INFLIGHT_VERSION || r->desc_num != num) {
        /* A fresh area from GET_INFLIGHT_FD (or one we gave up on). */
        memset(r, 0, vhu__inflight_region_size(false, num));
        r->desc_num = num;
        r->used_idx = used_idx;
        __atomic_store_n(&r->version, VHU_INFLIGHT_VERSION, __ATOMIC_RELEASE);
        q->inflight_counter = 0;
        return 0;
    }
    /* A batch interrupted between the used index update and clearing its
     * entries: finish it. Every index read from the area is range-checked. */
    if (r->used_idx != used_idx) {
        uint16_t batch = (uint16_t)(used_idx - r->used_idx);
        uint16_t head = r->last_batch_head;
        for (uint16_t i = 0; i < batch && i < num && head < num; i++) {
            r->desc[head].inflight = 0;
            head = r->desc[head].next;
        }
        r->used_idx = used_idx;
    }
    uint64_t max_counter = 0;
    for (uint16_t i = 0; i < num; i++) {
        if (__atomic_load_n(&r->desc[i].inflight, __ATOMIC_ACQUIRE) != 1)
            continue;
        uint64_t counter = r->desc[i].counter;
        t->pending[t->n_pending++] = (struct pending){.counter = counter, .head = i};
        max_counter = KK_MAX(max_counter, counter);
    }
    qsort(t->pending, t->n_pending, sizeof(*t->pending), cmp_pending);
    q->inflight_counter = max_counter;
    /* Everything up to the used index plus what is in flight was popped. */
    q->vq.last_avail_idx = (uint16_t)(used_idx + t->n_pending);
    q->vq.used_idx = used_idx;
    KK_LOGI(vhu_log, "%s: queue %u resumes with %u requests in flight", name, q->index,
            t->n_pending);
    return 0;
}

static void split_popped(struct vhu_queue *q, const struct vq_chain *chains, unsigned n)
{
    struct vhu_inflight_region *r = q->inflight;
    for (unsigned i = 0; i < n; i++) {
        /* Split heads are < num: vq_pop checked them. */
        struct vhu_inflight_desc *e = &r->desc[chains[i].id];
        e->counter = ++q->inflight_counter;
        __atomic_store_n(&e->inflight, 1, __ATOMIC_RELEASE);
    }
}

static void split_push_begin(struct vhu_queue *q, const struct vq_used *used, unsigned n)
{
    /* Remember the batch before the used index moves, so a crash in
     * between can be repaired on reconnection. */
    struct vhu_inflight_region *r = q->inflight;
    for (unsigned i = 0; i < n; i++) {
        if (used[i].id >= q->num)
            continue;
        r->desc[used[i].id].next = r->last_batch_head;
        r->last_batch_head = used[i].id;
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void split_push_end(struct vhu_queue *q, const struct vq_used *used, unsigned n)
{
    struct vhu_inflight_region *r = q->inflight;
    for (unsigned i = 0; i < n; i++) {
        if (used[i].id < q->num)
            __atomic_store_n(&r->desc[used[i].id].inflight, 0, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&r->used_idx, q->vq.used_idx, __ATOMIC_RELEASE);
}

/* ---- packed --------------------------------------------------------------- */

static void advance(uint16_t *pos, bool *wrap, uint32_t by, uint16_t num)
{
    uint32_t p = *pos + by;
    if (p >= num) {
        p -= num;
        *wrap = !*wrap;
    }
    *pos = (uint16_t)p;
}

/* Write a fresh region: every entry free, positions from the ring state
 * the frontend gave (SET_VRING_BASE). */
static void packed_init(struct vhu_queue *q)
{
    struct vhu_inflight_packed_region *r = q->inflight;
    struct vhu_inflight_track *t = q->inflight_track;
    uint16_t num = q->num;
    memset(r, 0, vhu__inflight_region_size(true, num));
    for (uint16_t i = 0; i < num; i++) {
        t->next[i] = (uint16_t)(i + 1); /* the last one: num, the end */
        r->desc[i].next = t->next[i];
    }
    t->free_head = 0;
    t->n_free = num;
    t->used_idx = q->vq.next_used;
    t->used_wrap = q->vq.used_wrap;
    r->desc_num = num;
    r->used_idx = r->old_used_idx = t->used_idx;
    r->used_wrap_counter = r->old_used_wrap_counter = t->used_wrap;
    __atomic_store_n(&r->version, VHU_INFLIGHT_VERSION, __ATOMIC_RELEASE);
    q->inflight_counter = 0;
}

/*
 * Rebuild the private state from a snapshot of the region. Returns NULL if
 * it is consistent, else what is wrong.
 */
static const char *packed_recover(struct vhu_queue *q, struct vhu_inflight_packed_region *hdr,
                                  struct vhu_inflight_packed_desc *snap, uint8_t *mark)
{
    struct vhu_inflight_track *t = q->inflight_track;
    uint16_t num = q->num;
    enum { FREE = 1, BUSY = 2 };

    if (hdr->free_head > num || hdr->old_free_head > num || hdr->used_idx >= num ||
        hdr->old_used_idx >= num || hdr->used_wrap_counter > 1 || hdr->old_used_wrap_counter > 1)
        return "header field out of range";
    if (hdr->used_idx != hdr->old_used_idx ||
        hdr->used_wrap_counter != hdr->old_used_wrap_counter) {
        /* Killed inside a push. If the slot it started at no longer reads
         * as available in the old lap, the completions reached the ring:
         * commit the update; otherwise roll it back. */
        bool old_wrap = hdr->old_used_wrap_counter;
        uint16_t avail_bits = (uint16_t)(old_wrap ? VIRTQ_PACKED_F_AVAIL : VIRTQ_PACKED_F_USED);
        struct virtq_packed_desc *ring = q->vq.l.desc;
        uint16_t flags = __atomic_load_n(&ring[hdr->old_used_idx].flags, __ATOMIC_ACQUIRE);
        bool committed = (flags & (VIRTQ_PACKED_F_AVAIL | VIRTQ_PACKED_F_USED)) != avail_bits;
        KK_LOGI(vhu_log, "queue %u: the last backend stopped inside a completion; %s it",
                q->index, committed ? "committing" : "rolling back");
        if (committed) {
            hdr->old_free_head = hdr->free_head;
            hdr->old_used_idx = hdr->used_idx;
            hdr->old_used_wrap_counter = hdr->used_wrap_counter;
        }
    }
    /* The free list as of the last complete update. */
    uint16_t e = hdr->old_free_head;
    while (e != num) {
        if (e > num || mark[e])
            return "free list leaves the region or loops";
        mark[e] = FREE;
        e = snap[e].next;
    }
    /* Buffers in flight: heads outside the free list. */
    for (uint16_t h = 0; h < num; h++) {
        if (mark[h] || snap[h].inflight != 1)
            continue;
        if (t->n_pending >= num)
            return "too many buffers in flight";
        t->pending[t->n_pending++] = (struct pending){.counter = snap[h].counter, .head = h,
                                                      .count = snap[h].num};
    }
    qsort(t->pending, t->n_pending, sizeof(*t->pending), cmp_pending);
    uint32_t in_flight_descs = 0;
    uint64_t max_counter = 0;
    for (uint16_t i = 0; i < t->n_pending; i++) {
        struct pending *p = &t->pending[i];
        uint16_t h = p->head;
        if (p->count == 0 || p->count > num - in_flight_descs)
            return "buffer descriptor count out of range";
        p->first = in_flight_descs;
        uint16_t x = h;
        for (uint16_t k = 0;; k++) {
            if (x >= num || mark[x])
                return "buffer entries leave the region or are shared";
            mark[x] = BUSY;
            struct vhu_inflight_packed_desc *s = &snap[x];
            t->descs[in_flight_descs++] = (struct virtq_packed_desc){
                    .addr = s->addr, .len = s->len, .id = s->id, .flags = s->flags};
            if (k + 1 == p->count)
                break;
            t->next[x] = s->next;
            x = s->next;
        }
        if (x != snap[h].last)
            return "buffer's last entry does not match its count";
        uint16_t id = snap[x].id;
        if (id >= num || t->head_of_id[id] != NONE)
            return "buffer id out of range or in flight twice";
        t->head_of_id[id] = h;
        t->last[h] = x;
        t->count[h] = p->count;
        max_counter = KK_MAX(max_counter, p->counter);
    }
    /* The new free list: every entry not holding a buffer in flight (the
     * old list plus entries in neither, which no buffer can claim). */
    t->free_head = num;
    for (uint16_t i = num; i-- > 0;) {
        if (mark[i] == BUSY)
            continue;
        t->next[i] = t->free_head;
        t->free_head = i;
    }
    t->n_free = (uint16_t)(num - in_flight_descs);
    t->used_idx = hdr->old_used_idx;
    t->used_wrap = hdr->old_used_wrap_counter;
    q->inflight_counter = max_counter;
    return NULL;
}

static int packed_start(struct vhu_queue *q, const char *name)
{
    struct vhu_inflight_packed_region *r = q->inflight;
    struct vhu_inflight_track *t = q->inflight_track;
    uint16_t num = q->num;
    if (__atomic_load_n(&r->version, __ATOMIC_ACQUIRE) != VHU_INFLIGHT_VERSION ||
        r->desc_num != num) {
        packed_init(q);
        return 0;
    }
    /* One read of the shared region into private memory; checked there. */
    struct vhu_inflight_packed_region hdr;
    memcpy(&hdr, r, sizeof(hdr));
    struct vhu_inflight_packed_desc *snap = malloc((size_t)num * sizeof(*snap));
    uint8_t *mark = calloc(num, 1);
    if (!snap || !mark) {
        free(snap);
        free(mark);
        return -ENOMEM;
    }
    memcpy(snap, r->desc, (size_t)num * sizeof(*snap));
    const char *bad = packed_recover(q, &hdr, snap, mark);
    free(snap);
    free(mark);
    if (bad) {
        KK_LOGE(vhu_log, "%s: queue %u: inflight region is inconsistent (%s); requests in "
                         "flight before the restart are lost",
                name, q->index, bad);
        t->n_pending = 0;
        memset(t->head_of_id, 0xff, num * sizeof(uint16_t));
        packed_init(q);
        return 0;
    }
    /* Write the repaired state back: links, free entries, positions. */
    for (uint16_t i = 0; i < num; i++)
        r->desc[i].next = t->next[i];
    for (uint16_t e = t->free_head; e != num; e = t->next[e])
        r->desc[e].inflight = 0;
    r->free_head = r->old_free_head = t->free_head;
    r->used_idx = r->old_used_idx = t->used_idx;
    r->used_wrap_counter = r->old_used_wrap_counter = t->used_wrap;

    /* Resume after everything in flight: those slots were all taken. */
    uint16_t avail = t->used_idx;
    bool avail_wrap = t->used_wrap;
    advance(&avail, &avail_wrap, (uint32_t)(num - t->n_free), num);
    if (avail != q->vq.next_avail || avail_wrap != q->vq.avail_wrap ||
        t->used_idx != q->vq.next_used || t->used_wrap != q->vq.used_wrap)
        KK_LOGI(vhu_log, "%s: queue %u: ring positions from the inflight region: avail %u/%u, "
                         "used %u/%u (frontend said %u/%u, %u/%u)",
                name, q->index, avail, avail_wrap, t->used_idx, t->used_wrap,
                q->vq.next_avail, q->vq.avail_wrap, q->vq.next_used, q->vq.used_wrap);
    q->vq.next_avail = avail;
    q->vq.avail_wrap = avail_wrap;
    q->vq.next_used = t->used_idx;
    q->vq.used_wrap = t->used_wrap;
    q->vq.signalled_used = t->used_idx;
    KK_LOGI(vhu_log, "%s: queue %u resumes with %u requests in flight", name, q->index,
            t->n_pending);
    return 0;
}

static void packed_popped(struct vhu_queue *q, const struct vq_chain *chains, unsigned n,
                          uint16_t pos)
{
    struct vhu_inflight_packed_region *r = q->inflight;
    struct vhu_inflight_track *t = q->inflight_track;
    const struct virtq_packed_desc *ring = q->vq.l.desc;
    uint16_t num = q->num;
    bool wrap = false; /* positions only; the lap does not matter here */
    for (unsigned i = 0; i < n; i++) {
        uint16_t id = chains[i].id, count = chains[i].desc_count;
        if (id >= num || t->head_of_id[id] != NONE) {
            tracking_off(q, id >= num ? "buffer id beyond the queue size"
                                      : "buffer id already in flight", id);
            return;
        }
        if (count == 0 || count > t->n_free) {
            tracking_off(q, "more descriptors in flight than entries", count);
            return;
        }
        /* Copy the buffer's descriptors into free entries; only then
         * publish it (old_free_head), so a crash here rolls back. */
        uint16_t head = t->free_head, e = head, last = head;
        for (uint16_t k = 0; k < count; k++) {
            struct virtq_packed_desc d;
            memcpy(&d, &ring[pos], sizeof(d));
            struct vhu_inflight_packed_desc *s = &r->desc[e];
            s->addr = d.addr;
            s->len = d.len;
            s->flags = d.flags;
            s->id = d.id;
            last = e;
            e = t->next[e];
            advance(&pos, &wrap, 1, num);
        }
        struct vhu_inflight_packed_desc *h = &r->desc[head];
        h->num = count;
        h->last = last;
        h->counter = ++q->inflight_counter;
        h->inflight = 1;
        t->free_head = e;
        t->n_free = (uint16_t)(t->n_free - count);
        t->last[head] = last;
        t->count[head] = count;
        t->head_of_id[id] = head;
        __atomic_store_n(&r->free_head, e, __ATOMIC_RELEASE);
        __atomic_store_n(&r->old_free_head, e, __ATOMIC_RELEASE);
    }
}

static void packed_push_begin(struct vhu_queue *q, const struct vq_used *used, unsigned n)
{
    struct vhu_inflight_packed_region *r = q->inflight;
    struct vhu_inflight_track *t = q->inflight_track;
    uint16_t num = q->num;
    t->n_batch = 0;
    for (unsigned i = 0; i < n; i++) {
        uint16_t id = used[i].id;
        uint16_t h = id < num ? t->head_of_id[id] : NONE;
        if (h == NONE) {
            KK_LOGW_RL(vhu_log, "queue %u: completing buffer %u, which is not in flight",
                       q->index, id);
            continue;
        }
        /* The buffer's entries go back to the head of the free list. */
        uint16_t last = t->last[h];
        t->next[last] = t->free_head;
        r->desc[last].next = t->free_head;
        t->free_head = h;
        t->n_free = (uint16_t)(t->n_free + t->count[h]);
        t->head_of_id[id] = NONE;
        t->batch[t->n_batch++] = h;
        advance(&t->used_idx, &t->used_wrap, used[i].desc_count ? used[i].desc_count : 1, num);
    }
    r->free_head = t->free_head;
    r->used_idx = t->used_idx;
    r->used_wrap_counter = t->used_wrap;
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void packed_push_end(struct vhu_queue *q)
{
    struct vhu_inflight_packed_region *r = q->inflight;
    struct vhu_inflight_track *t = q->inflight_track;
    for (uint16_t i = 0; i < t->n_batch; i++)
        __atomic_store_n(&r->desc[t->batch[i]].inflight, 0, __ATOMIC_RELEASE);
    r->old_free_head = t->free_head;
    r->old_used_idx = t->used_idx;
    __atomic_store_n(&r->old_used_wrap_counter, t->used_wrap, __ATOMIC_RELEASE);
}

/* ---- entry points ----------------------------------------------------------- */

int vhu__inflight_start(struct vhu_queue *q, const char *dev_name)
{
    vhu__inflight_stop(q);
    if (!q->inflight)
        return 0;
    bool packed = q->vq.l.packed;
    q->inflight_track = track_alloc(q->num, packed);
    if (!q->inflight_track) {
        q->inflight = NULL;
        return -ENOMEM;
    }
    return packed ? packed_start(q, dev_name) : split_start(q, dev_name);
}

void vhu__inflight_popped(struct vhu_queue *q, const struct vq_chain *chains, unsigned n,
                          uint16_t first_pos)
{
    if (!q->inflight_track || n == 0)
        return;
    if (q->inflight_track->packed)
        packed_popped(q, chains, n, first_pos);
    else
        split_popped(q, chains, n);
}

void vhu__inflight_push_begin(struct vhu_queue *q, const struct vq_used *used, unsigned n)
{
    if (!q->inflight_track)
        return;
    if (q->inflight_track->packed)
        packed_push_begin(q, used, n);
    else
        split_push_begin(q, used, n);
}

void vhu__inflight_push_end(struct vhu_queue *q, const struct vq_used *used, unsigned n)
{
    if (!q->inflight_track)
        return;
    if (q->inflight_track->packed)
        packed_push_end(q);
    else
        split_push_end(q, used, n);
}

int vhu_queue_resubmit(struct vhu_queue *q, struct vq_chain *chains, unsigned max_chains,
                       struct iovec *iov, unsigned max_iov)
{
    struct vhu_inflight_track *t = q->inflight_track;
    if (!t)
        return 0;
    unsigned n = 0, used_iov = 0;
    int rc = 0;
    while (n < max_chains && t->pending_pos < t->n_pending) {
        const struct pending *p = &t->pending[t->pending_pos];
        if (t->packed)
            rc = vq_read_packed_descs(&q->vq, t->descs + p->first, p->count, &chains[n],
                                      iov + used_iov, max_iov - used_iov);
        else
            rc = vq_read_chain(&q->vq, p->head, &chains[n], iov + used_iov, max_iov - used_iov);
        if (rc < 0)
            break;
        used_iov += chains[n].n_readable + chains[n].n_writable;
        t->pending_pos++;
        n++;
    }
    if (rc == -EIO || (rc == -ENOBUFS && n == 0))
        return rc;
    return (int)n;
}
