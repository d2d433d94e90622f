/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk.c — the bdev registry, I/O channels, request validation, completion
 * delivery and statistics (blk.h).
 *
 * A channel owns an array of request slots (struct blk_io) in a free list.
 * Submission takes a slot, checks the request against the bdev and hands
 * it to the backend; the backend finishes it with blk_io_complete(), which
 * only appends it to the channel's done list. The channel's poller (on the
 * channel's reactor) calls the backend's poll(), then delivers the done
 * list: statistics, slot back to the free list, the caller's callback, and
 * finally parked waiters while slots are free. So a callback never runs
 * inside a submission, and a callback may submit again.
 *
 * Statistics are written only by the channel's thread, with relaxed atomic
 * stores, and read by any thread with relaxed loads (blk_bdev_get_stats()),
 * so the I/O path has no locked instructions.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blk_backend.h"
#include "kk_log.h"

KK_LOG_COMPONENT(blk_log, "blk");

struct blk_bdev {
    char name[BLK_NAME_MAX];
    char type[32];
    struct blk_bdev_info info;
    const struct blk_bdev_ops *ops;
    void *ctx;
    json_t *params;
    int open_count;
    bool registered;
    pthread_mutex_t lock;          /* channels, listeners, closed stats */
    struct blk_channel *channels;
    struct blk_stats closed;
    struct blk_listener *listeners;
    struct blk_bdev *next;         /* registry, name order */
};

struct blk_channel {
    struct blk_bdev *b;
    struct kk_reactor *r;
    void *chctx;
    struct kk_poller *poller;
    struct blk_io *slots;
    struct blk_io *free;
    uint32_t depth;
    uint32_t inflight;
    struct blk_io *done_head;
    struct blk_io **done_tail;
    struct blk_io_wait *wait_head;
    struct blk_io_wait **wait_tail;
    struct blk_stats st;
    bool in_poll;                  /* inside channel_poll(): close is deferred */
    bool closed;
    struct blk_channel *next;
    struct blk_channel *prev;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct blk_bdev *registry;

static const struct blk_backend *const backends[] = {
    &blk_backend_malloc, &blk_backend_null, &blk_backend_file,
    &blk_backend_image, &blk_backend_error,
};
#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

/* Relaxed single-writer counters. */
#define ST_ADD(field, v) __atomic_store_n(&(field), (field) + (v), __ATOMIC_RELAXED)
#define ST_SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define ST_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- histogram ------------------------------------------------------------- */

static unsigned hist_index(uint64_t ns)
{
    if (ns < 16)
        return (unsigned)ns;
    unsigned e = 63u - (unsigned)__builtin_clzll(ns); /* >= 4 */
    unsigned idx = (e - 3) * 16 + (unsigned)((ns >> (e - 4)) & 15);
    return idx < BLK_HIST_BUCKETS ? idx : BLK_HIST_BUCKETS - 1;
}

/* The smallest value of bucket @idx. */
static uint64_t hist_value(unsigned idx)
{
    if (idx < 16)
        return idx;
    unsigned e = idx / 16 + 3;
    return (1ull << e) | ((uint64_t)(idx % 16) << (e - 4));
}

void blk_hist_add(struct blk_hist *h, uint64_t ns)
{
    h->count++;
    h->sum_ns += ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
    h->bucket[hist_index(ns)]++;
}

static void hist_add_relaxed(struct blk_hist *h, uint64_t ns)
{
    ST_ADD(h->count, 1);
    ST_ADD(h->sum_ns, ns);
    if (ns > h->max_ns)
        ST_SET(h->max_ns, ns);
    unsigned i = hist_index(ns);
    ST_ADD(h->bucket[i], 1);
}

void blk_hist_merge(struct blk_hist *into, const struct blk_hist *h)
{
    into->count += ST_GET(h->count);
    into->sum_ns += ST_GET(h->sum_ns);
    uint64_t m = ST_GET(h->max_ns);
    if (m > into->max_ns)
        into->max_ns = m;
    for (unsigned i = 0; i < BLK_HIST_BUCKETS; i++)
        into->bucket[i] += ST_GET(h->bucket[i]);
}

uint64_t blk_hist_percentile(const struct blk_hist *h, double pct)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < BLK_HIST_BUCKETS; i++)
        total += h->bucket[i];
    if (total == 0)
        return 0;
    if (pct >= 100.0)
        return h->max_ns;
    double want = pct / 100.0 * (double)total;
    uint64_t seen = 0;
    for (unsigned i = 0; i < BLK_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if ((double)seen >= want && seen > 0) {
            /* middle of the bucket, never above the maximum seen */
            uint64_t lo = hist_value(i);
            uint64_t hi = i + 1 < BLK_HIST_BUCKETS ? hist_value(i + 1) : lo;
            uint64_t v = lo + (hi - lo) / 2;
            return v > h->max_ns && h->max_ns ? h->max_ns : v;
        }
    }
    return h->max_ns;
}

/* ---- registry ------------------------------------------------------------- */

const char *const *blk_backend_types(void)
{
    static const char *types[N_BACKENDS + 1];
    for (size_t i = 0; i < N_BACKENDS; i++)
        types[i] = backends[i]->type;
    types[N_BACKENDS] = NULL;
    return types;
}

static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= BLK_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static struct blk_bdev *find_locked(const char *name)
{
    for (struct blk_bdev *b = registry; b; b = b->next) {
        if (strcmp(b->name, name) == 0)
            return b;
    }
    return NULL;
}

struct blk_bdev *blk_bdev_alloc(const char *name, const char *type,
                                const struct blk_bdev_ops *ops, void *ctx)
{
    struct blk_bdev *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    snprintf(b->name, sizeof(b->name), "%s", name);
    snprintf(b->type, sizeof(b->type), "%s", type);
    b->info.name = b->name;
    b->info.type = b->type;
    b->info.block_size = 512;
    b->ops = ops;
    b->ctx = ctx;
    pthread_mutex_init(&b->lock, NULL);
    return b;
}

void blk_bdev_free_unregistered(struct blk_bdev *b)
{
    if (!b)
        return;
    json_decref(b->params);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

struct blk_bdev_info *blk_bdev_info_mut(struct blk_bdev *b)
{
    return &b->info;
}

void *blk_bdev_ctx(const struct blk_bdev *b)
{
    return b->ctx;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int blk_bdev_create(const char *name, const char *type, const json_t *params, char *err,
                    size_t errlen, struct blk_bdev **out)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    if (!name || !valid_name(name)) {
        seterr(err, errlen, "bad bdev name '%s' (1-%d of A-Z a-z 0-9 - _ .)",
               name ? name : "", BLK_NAME_MAX - 1);
        return -EINVAL;
    }
    if (params && !json_is_object(params)) {
        seterr(err, errlen, "params must be a JSON object");
        return -EINVAL;
    }
    const struct blk_backend *be = NULL;
    for (size_t i = 0; i < N_BACKENDS; i++) {
        if (type && strcmp(backends[i]->type, type) == 0)
            be = backends[i];
    }
    if (!be) {
        seterr(err, errlen, "unknown bdev type '%s' (known: malloc, null, file, image, error)",
               type ? type : "");
        return -ENOENT;
    }
    json_t *p = params ? json_deep_copy(params) : json_object();
    if (!p)
        return -ENOMEM;
    bool read_only = false;
    int rc = blk_param_bool(p, "read_only", &read_only, err, errlen);
    if (rc < 0) {
        json_decref(p);
        return rc;
    }

    pthread_mutex_lock(&registry_lock);
    bool taken = find_locked(name) != NULL;
    pthread_mutex_unlock(&registry_lock);
    if (taken) {
        json_decref(p);
        seterr(err, errlen, "bdev '%s' exists", name);
        return -EEXIST;
    }

    struct blk_bdev *b = NULL;
    rc = be->create(name, p, err, errlen, &b);
    if (rc < 0) {
        if (!err[0])
            seterr(err, errlen, "%s", strerror(-rc));
        json_decref(p);
        return rc;
    }
    if (read_only)
        b->info.read_only = true;
    if (b->info.block_size == 0 || (b->info.block_size & (b->info.block_size - 1)) ||
        b->info.size % b->info.block_size) {
        seterr(err, errlen, "size %" PRIu64 " is not a multiple of the block size %u",
               b->info.size, b->info.block_size);
        if (b->ops->destroy)
            b->ops->destroy(b);
        json_decref(p);
        blk_bdev_free_unregistered(b);
        return -EINVAL;
    }
    b->params = p;

    pthread_mutex_lock(&registry_lock);
    if (find_locked(name)) {
        pthread_mutex_unlock(&registry_lock);
        if (b->ops->destroy)
            b->ops->destroy(b);
        blk_bdev_free_unregistered(b);
        seterr(err, errlen, "bdev '%s' exists", name);
        return -EEXIST;
    }
    struct blk_bdev **pp = &registry;
    while (*pp && strcmp((*pp)->name, name) < 0)
        pp = &(*pp)->next;
    b->next = *pp;
    *pp = b;
    b->registered = true;
    pthread_mutex_unlock(&registry_lock);

    KK_LOGI(blk_log, "bdev %s: %s, %" PRIu64 " bytes, block %u%s", name, type, b->info.size,
            b->info.block_size, b->info.read_only ? ", read-only" : "");
    if (out)
        *out = b;
    return 0;
}

int blk_bdev_delete(const char *name)
{
    pthread_mutex_lock(&registry_lock);
    struct blk_bdev **pp = &registry;
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    struct blk_bdev *b = *pp;
    if (!b) {
        pthread_mutex_unlock(&registry_lock);
        return -ENOENT;
    }
    if (b->open_count > 0) {
        pthread_mutex_unlock(&registry_lock);
        return -EBUSY;
    }
    *pp = b->next;
    pthread_mutex_unlock(&registry_lock);
    KK_LOGI(blk_log, "bdev %s deleted", b->name);
    if (b->ops->destroy)
        b->ops->destroy(b);
    blk_bdev_free_unregistered(b);
    return 0;
}

int blk_bdev_open(const char *name, bool write, struct blk_bdev **out)
{
    pthread_mutex_lock(&registry_lock);
    struct blk_bdev *b = find_locked(name);
    int rc = 0;
    if (!b)
        rc = -ENOENT;
    else if (write && b->info.read_only)
        rc = -EROFS;
    else
        b->open_count++;
    pthread_mutex_unlock(&registry_lock);
    if (rc == 0)
        *out = b;
    return rc;
}

void blk_bdev_close(struct blk_bdev *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&registry_lock);
    if (b->open_count > 0)
        b->open_count--;
    pthread_mutex_unlock(&registry_lock);
}

void blk_bdev_foreach(void (*fn)(struct blk_bdev *b, void *arg), void *arg)
{
    pthread_mutex_lock(&registry_lock);
    for (struct blk_bdev *b = registry; b; b = b->next)
        fn(b, arg);
    pthread_mutex_unlock(&registry_lock);
}

void blk_bdev_get_info(const struct blk_bdev *b, struct blk_bdev_info *out)
{
    *out = b->info;
    out->size = __atomic_load_n(&b->info.size, __ATOMIC_RELAXED);
}

const char *blk_bdev_name(const struct blk_bdev *b)
{
    return b->name;
}

const char *blk_bdev_type(const struct blk_bdev *b)
{
    return b->type;
}

const json_t *blk_bdev_params(const struct blk_bdev *b)
{
    return b->params;
}

json_t *blk_bdev_to_json(const struct blk_bdev *b)
{
    struct blk_bdev_info in;
    blk_bdev_get_info(b, &in);
    json_t *o = json_pack("{s:s, s:s, s:I, s:i, s:b, s:b, s:b, s:b, s:b, s:I, s:I, s:i}",
                          "name", b->name, "type", b->type, "size", (json_int_t)in.size,
                          "block_size", (int)in.block_size, "read_only", in.read_only,
                          "volatile_cache", in.volatile_cache, "can_unmap", in.can_unmap,
                          "can_write_zeroes", in.can_write_zeroes, "can_block_status",
                          in.can_block_status, "max_transfer", (json_int_t)in.max_transfer,
                          "max_unmap", (json_int_t)in.max_unmap, "open", b->open_count);
    if (!o)
        return NULL;
    json_object_set(o, "params", b->params ? b->params : json_null());
    if (b->ops->to_json)
        b->ops->to_json(b, o);
    return o;
}

int blk_bdev_resize(struct blk_bdev *b, uint64_t size)
{
    if (!b->ops->resize)
        return -ENOTSUP;
    if (size == 0 || size % b->info.block_size)
        return -EINVAL;
    int rc = b->ops->resize(b, size);
    if (rc < 0)
        return rc;
    __atomic_store_n(&b->info.size, size, __ATOMIC_RELAXED);
    KK_LOGI(blk_log, "bdev %s resized to %" PRIu64 " bytes", b->name, size);
    pthread_mutex_lock(&b->lock);
    struct blk_listener *ls = b->listeners;
    pthread_mutex_unlock(&b->lock);
    for (struct blk_listener *l = ls; l; l = l->next)
        l->fn(l->arg, b, BLK_EVENT_RESIZE);
    return 0;
}

void blk_bdev_add_listener(struct blk_bdev *b, struct blk_listener *l)
{
    pthread_mutex_lock(&b->lock);
    l->next = b->listeners;
    b->listeners = l;
    pthread_mutex_unlock(&b->lock);
}

void blk_bdev_remove_listener(struct blk_bdev *b, struct blk_listener *l)
{
    pthread_mutex_lock(&b->lock);
    for (struct blk_listener **pp = &b->listeners; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    pthread_mutex_unlock(&b->lock);
}

/* ---- channels ----------------------------------------------------------------- */

static void deliver(struct blk_channel *ch);
static void run_waiters(struct blk_channel *ch);

static void channel_free(struct blk_channel *ch);

static int channel_poll(void *arg)
{
    struct blk_channel *ch = arg;
    int work = 0;
    ch->in_poll = true;
    if (ch->b->ops->poll)
        work += ch->b->ops->poll(ch->chctx);
    if (ch->done_head) {
        deliver(ch);
        work++;
    }
    if (ch->wait_head && ch->free && !ch->closed) {
        run_waiters(ch);
        work++;
    }
    ch->in_poll = false;
    if (ch->closed)
        channel_free(ch); /* closed by a callback */
    return work;
}

static bool channel_arm(void *arg, bool enable)
{
    struct blk_channel *ch = arg;
    bool pending = ch->done_head != NULL || (ch->wait_head && ch->free);
    if (ch->b->ops->arm)
        pending |= ch->b->ops->arm(ch->chctx, enable);
    return pending;
}

int blk_channel_open(struct blk_bdev *b, struct kk_reactor *r, uint32_t depth,
                     struct blk_channel **out)
{
    if (!b || !r)
        return -EINVAL;
    if (depth == 0)
        depth = 128;
    if (depth > 65536)
        return -EINVAL;
    struct blk_channel *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return -ENOMEM;
    ch->slots = calloc(depth, sizeof(*ch->slots));
    if (!ch->slots) {
        free(ch);
        return -ENOMEM;
    }
    ch->b = b;
    ch->r = r;
    ch->depth = depth;
    for (uint32_t i = depth; i-- > 0;) {
        ch->slots[i].ch = ch;
        ch->slots[i].next = ch->free;
        ch->free = &ch->slots[i];
    }
    ch->done_tail = &ch->done_head;
    ch->wait_tail = &ch->wait_head;
    int rc = 0;
    if (b->ops->channel_create)
        rc = b->ops->channel_create(b, r, &ch->chctx);
    if (rc == 0)
        rc = kk_poller_register(r, channel_poll, ch, 0, &ch->poller);
    if (rc < 0) {
        if (ch->chctx && b->ops->channel_destroy)
            b->ops->channel_destroy(b, ch->chctx);
        free(ch->slots);
        free(ch);
        return rc;
    }
    /* A backend that polls for completions but cannot arm a wake-up keeps
     * the reactor awake while the channel exists. */
    if (!b->ops->poll || b->ops->arm)
        kk_poller_set_arm(ch->poller, channel_arm);
    pthread_mutex_lock(&b->lock);
    ch->next = b->channels;
    if (b->channels)
        b->channels->prev = ch;
    b->channels = ch;
    pthread_mutex_unlock(&b->lock);
    *out = ch;
    return 0;
}

static void stats_add(struct blk_stats *into, const struct blk_stats *s)
{
    for (int i = 0; i < BLK_OP_COUNT; i++) {
        into->ops[i] += ST_GET(s->ops[i]);
        into->bytes[i] += ST_GET(s->bytes[i]);
    }
    into->errors += ST_GET(s->errors);
    into->nomem += ST_GET(s->nomem);
    blk_hist_merge(&into->read_lat, &s->read_lat);
    blk_hist_merge(&into->write_lat, &s->write_lat);
}

int blk_channel_close(struct blk_channel *ch)
{
    if (!ch)
        return 0;
    if (ch->inflight > 0 || ch->closed)
        return -EBUSY;
    ch->closed = true;
    if (!ch->in_poll)
        channel_free(ch);
    return 0;
}

static void channel_free(struct blk_channel *ch)
{
    struct blk_bdev *b = ch->b;
    kk_poller_unregister(ch->poller);
    if (b->ops->channel_destroy)
        b->ops->channel_destroy(b, ch->chctx);
    pthread_mutex_lock(&b->lock);
    if (ch->prev)
        ch->prev->next = ch->next;
    else
        b->channels = ch->next;
    if (ch->next)
        ch->next->prev = ch->prev;
    stats_add(&b->closed, &ch->st);
    pthread_mutex_unlock(&b->lock);
    free(ch->slots);
    free(ch);
}

struct blk_bdev *blk_channel_bdev(const struct blk_channel *ch)
{
    return ch->b;
}

uint32_t blk_channel_inflight(const struct blk_channel *ch)
{
    return ch->inflight;
}

uint32_t blk_channel_depth(const struct blk_channel *ch)
{
    return ch->depth;
}

void blk_io_complete(struct blk_io *io, int result)
{
    struct blk_channel *ch = io->ch;
    io->result = result;
    io->next = NULL;
    *ch->done_tail = io;
    ch->done_tail = &io->next;
}

static void deliver(struct blk_channel *ch)
{
    struct blk_io *list = ch->done_head;
    ch->done_head = NULL;
    ch->done_tail = &ch->done_head;
    uint64_t t = now_ns();
    while (list) {
        struct blk_io *io = list;
        list = io->next;
        blk_io_cb cb = io->cb;
        void *arg = io->cb_arg;
        int result = io->result;
        uint64_t lat = t > io->start_ns ? t - io->start_ns : 0;
        if (result < 0) {
            ST_ADD(ch->st.errors, 1);
        } else {
            enum blk_op op = io->op;
            ST_ADD(ch->st.ops[op], 1);
            if (op != BLK_OP_FLUSH && op != BLK_OP_BLOCK_STATUS)
                ST_ADD(ch->st.bytes[op], io->len);
            if (op == BLK_OP_READ)
                hist_add_relaxed(&ch->st.read_lat, lat);
            else if (op == BLK_OP_WRITE || op == BLK_OP_WRITE_ZEROES)
                hist_add_relaxed(&ch->st.write_lat, lat);
        }
        io->next = ch->free;
        ch->free = io;
        ch->inflight--;
        cb(arg, result);
    }
}

static void run_waiters(struct blk_channel *ch)
{
    while (ch->free && ch->wait_head) {
        struct blk_io_wait *w = ch->wait_head;
        ch->wait_head = w->next;
        if (!ch->wait_head)
            ch->wait_tail = &ch->wait_head;
        w->next = NULL;
        w->fn(w->arg);
    }
}

void blk_io_wait(struct blk_channel *ch, struct blk_io_wait *w)
{
    w->next = NULL;
    *ch->wait_tail = w;
    ch->wait_tail = &w->next;
    /* If a slot is already free, the next poll runs it (never from here). */
}

void blk_io_wait_cancel(struct blk_channel *ch, struct blk_io_wait *w)
{
    struct blk_io_wait **pp = &ch->wait_head;
    while (*pp && *pp != w)
        pp = &(*pp)->next;
    if (!*pp)
        return;
    *pp = w->next;
    if (ch->wait_tail == &w->next)
        ch->wait_tail = pp;
    w->next = NULL;
}

static struct blk_io *take_slot(struct blk_channel *ch)
{
    struct blk_io *io = ch->free;
    if (!io) {
        ST_ADD(ch->st.nomem, 1);
        return NULL;
    }
    ch->free = io->next;
    ch->inflight++;
    return io;
}

static int check_range(const struct blk_bdev *b, uint64_t offset, uint64_t len)
{
    uint64_t size = __atomic_load_n(&b->info.size, __ATOMIC_RELAXED);
    uint32_t bs = b->info.block_size;
    if (len == 0 || (offset | len) % bs)
        return -EINVAL;
    if (offset > size || len > size - offset)
        return -EINVAL;
    return 0;
}

static void start(struct blk_channel *ch, struct blk_io *io, enum blk_op op, unsigned flags,
                  uint64_t offset, uint64_t len, blk_io_cb cb, void *arg)
{
    io->op = op;
    io->flags = flags;
    io->offset = offset;
    io->len = len;
    io->chctx = ch->chctx;
    io->cb = cb;
    io->cb_arg = arg;
    io->result = 0;
    io->start_ns = now_ns();
}

static int submit_rw(struct blk_channel *ch, enum blk_op op, uint64_t offset,
                     const struct iovec *iov, int iovcnt, unsigned flags, blk_io_cb cb,
                     void *arg)
{
    const struct blk_bdev *b = ch->b;
    if (!cb || iovcnt <= 0 || iovcnt > BLK_MAX_IOV || !iov)
        return -EINVAL;
    if (op == BLK_OP_WRITE && b->info.read_only)
        return -EROFS;
    if (flags & ~(BLK_IO_FUA))
        return -EINVAL;
    uint64_t len = 0;
    for (int i = 0; i < iovcnt; i++)
        len += iov[i].iov_len;
    int rc = check_range(b, offset, len);
    if (rc < 0)
        return rc;
    if (b->info.max_transfer && len > b->info.max_transfer)
        return -EFBIG;
    struct blk_io *io = take_slot(ch);
    if (!io)
        return -ENOMEM;
    start(ch, io, op, flags, offset, len, cb, arg);
    io->iov = iov;
    io->iovcnt = iovcnt;
    b->ops->submit(ch->chctx, io);
    return 0;
}

int blk_read(struct blk_channel *ch, uint64_t offset, const struct iovec *iov, int iovcnt,
             blk_io_cb cb, void *arg)
{
    return submit_rw(ch, BLK_OP_READ, offset, iov, iovcnt, 0, cb, arg);
}

int blk_write(struct blk_channel *ch, uint64_t offset, const struct iovec *iov, int iovcnt,
              unsigned flags, blk_io_cb cb, void *arg)
{
    return submit_rw(ch, BLK_OP_WRITE, offset, iov, iovcnt, flags, cb, arg);
}

int blk_flush(struct blk_channel *ch, blk_io_cb cb, void *arg)
{
    if (!cb)
        return -EINVAL;
    struct blk_io *io = take_slot(ch);
    if (!io)
        return -ENOMEM;
    start(ch, io, BLK_OP_FLUSH, 0, 0, 0, cb, arg);
    if (!ch->b->info.volatile_cache || ch->b->info.read_only)
        blk_io_complete(io, 0);
    else
        ch->b->ops->submit(ch->chctx, io);
    return 0;
}

/* Unmap and write zeroes: a range, no data. */
static int submit_range(struct blk_channel *ch, enum blk_op op, uint64_t offset, uint64_t len,
                        unsigned flags, bool supported, blk_io_cb cb, void *arg)
{
    const struct blk_bdev *b = ch->b;
    if (!cb)
        return -EINVAL;
    if (b->info.read_only)
        return -EROFS;
    if (!supported)
        return -ENOTSUP;
    int rc = check_range(b, offset, len);
    if (rc < 0)
        return rc;
    if (b->info.max_unmap && len > b->info.max_unmap)
        return -EFBIG;
    struct blk_io *io = take_slot(ch);
    if (!io)
        return -ENOMEM;
    start(ch, io, op, flags, offset, len, cb, arg);
    b->ops->submit(ch->chctx, io);
    return 0;
}

int blk_unmap(struct blk_channel *ch, uint64_t offset, uint64_t len, blk_io_cb cb, void *arg)
{
    return submit_range(ch, BLK_OP_UNMAP, offset, len, 0, ch->b->info.can_unmap, cb, arg);
}

int blk_write_zeroes(struct blk_channel *ch, uint64_t offset, uint64_t len, unsigned flags,
                     blk_io_cb cb, void *arg)
{
    if (flags & ~(BLK_IO_FUA | BLK_IO_NO_UNMAP))
        return -EINVAL;
    return submit_range(ch, BLK_OP_WRITE_ZEROES, offset, len, flags,
                        ch->b->info.can_write_zeroes, cb, arg);
}

int blk_block_status(struct blk_channel *ch, uint64_t offset, uint64_t len,
                     struct blk_extent *ext, uint32_t max, blk_io_cb cb, void *arg)
{
    const struct blk_bdev *b = ch->b;
    if (!cb || !ext || max == 0)
        return -EINVAL;
    int rc = check_range(b, offset, len);
    if (rc < 0)
        return rc;
    struct blk_io *io = take_slot(ch);
    if (!io)
        return -ENOMEM;
    start(ch, io, BLK_OP_BLOCK_STATUS, 0, offset, len, cb, arg);
    io->ext = ext;
    io->max_ext = max;
    if (!b->info.can_block_status) {
        ext[0].len = len;
        ext[0].flags = 0;
        blk_io_complete(io, 1);
    } else {
        b->ops->submit(ch->chctx, io);
    }
    return 0;
}

/* ---- statistics ------------------------------------------------------------------ */

void blk_bdev_get_stats(struct blk_bdev *b, struct blk_stats *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&b->lock);
    stats_add(out, &b->closed);
    for (struct blk_channel *ch = b->channels; ch; ch = ch->next) {
        stats_add(out, &ch->st);
        out->inflight += __atomic_load_n(&ch->inflight, __ATOMIC_RELAXED);
        out->channels++;
    }
    pthread_mutex_unlock(&b->lock);
}

static json_t *hist_json(const struct blk_hist *h)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "count", (json_int_t)h->count,
                     "mean_ns", (json_int_t)(h->count ? h->sum_ns / h->count : 0), "p50_ns",
                     (json_int_t)blk_hist_percentile(h, 50), "p99_ns",
                     (json_int_t)blk_hist_percentile(h, 99), "p999_ns",
                     (json_int_t)blk_hist_percentile(h, 99.9), "max_ns", (json_int_t)h->max_ns);
}

json_t *blk_stats_to_json(const struct blk_stats *s)
{
    static const char *const names[BLK_OP_COUNT] = {"read", "write", "flush", "unmap",
                                                    "write_zeroes", "block_status"};
    json_t *ops = json_object();
    json_t *bytes = json_object();
    for (int i = 0; i < BLK_OP_COUNT; i++) {
        json_object_set_new(ops, names[i], json_integer((json_int_t)s->ops[i]));
        if (i != BLK_OP_FLUSH && i != BLK_OP_BLOCK_STATUS)
            json_object_set_new(bytes, names[i], json_integer((json_int_t)s->bytes[i]));
    }
    return json_pack("{s:o, s:o, s:I, s:I, s:i, s:i, s:o, s:o}", "ops", ops, "bytes", bytes,
                     "errors", (json_int_t)s->errors, "nomem", (json_int_t)s->nomem,
                     "inflight", (int)s->inflight, "channels", (int)s->channels,
                     "read_latency", hist_json(&s->read_lat), "write_latency",
                     hist_json(&s->write_lat));
}

/* ---- helpers for backends ---------------------------------------------------------- */

int blk_params_check(const json_t *params, const char *type, const char *const *allowed,
                     char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)params, key, v) {
        bool ok = strcmp(key, "read_only") == 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok) {
            char known[256] = "";
            size_t n = 0;
            for (const char *const *a = allowed; *a; a++)
                n += (size_t)snprintf(known + n, n < sizeof(known) ? sizeof(known) - n : 0,
                                      "%s, ", *a);
            snprintf(known + (n < sizeof(known) ? n : sizeof(known) - 1),
                     n < sizeof(known) ? sizeof(known) - n : 1, "read_only");
            seterr(err, errlen, "unknown parameter '%s' for %s (known: %s)", key, type, known);
            return -EINVAL;
        }
    }
    return 0;
}

static int parse_size_str(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -EINVAL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -EINVAL;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: return -EINVAL;
    }
    if (*end == 'i' || *end == 'B') /* KiB, MB: accepted, still binary */
        end++;
    if (*end == 'B')
        end++;
    if (*end)
        return -EINVAL;
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

int blk_param_size(const json_t *params, const char *key, uint64_t *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(params, key);
    if (!v)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) && parse_size_str(json_string_value(v), out) == 0)
        return 0;
    seterr(err, errlen, "parameter '%s' must be a size (bytes, or a number with K/M/G/T)", key);
    return -EINVAL;
}

int blk_param_bool(const json_t *params, const char *key, bool *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(params, key);
    if (!v)
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = json_integer_value(v) == 1;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) {
            *out = true;
            return 0;
        }
        if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) {
            *out = false;
            return 0;
        }
    }
    seterr(err, errlen, "parameter '%s' must be true or false", key);
    return -EINVAL;
}

int blk_param_str(const json_t *params, const char *key, const char **out, char *err,
                  size_t errlen)
{
    json_t *v = json_object_get(params, key);
    if (!v)
        return 0;
    if (json_is_string(v)) {
        *out = json_string_value(v);
        return 0;
    }
    seterr(err, errlen, "parameter '%s' must be a string", key);
    return -EINVAL;
}

int blk_param_u64(const json_t *params, const char *key, uint64_t *out, char *err,
                  size_t errlen)
{
    json_t *v = json_object_get(params, key);
    if (!v)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        char *end;
        errno = 0;
        const char *s = json_string_value(v);
        unsigned long long x = strtoull(s, &end, 0);
        if (!errno && end != s && !*end && *s != '-') {
            *out = x;
            return 0;
        }
    }
    seterr(err, errlen, "parameter '%s' must be a non-negative integer", key);
    return -EINVAL;
}

void blk_iov_to_buf(void *buf, const struct iovec *iov, int iovcnt, size_t skip, size_t len)
{
    uint8_t *p = buf;
    for (int i = 0; i < iovcnt && len; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        size_t n = l - skip < len ? l - skip : len;
        memcpy(p, (const uint8_t *)iov[i].iov_base + skip, n);
        p += n;
        len -= n;
        skip = 0;
    }
}

void blk_buf_to_iov(const struct iovec *iov, int iovcnt, size_t skip, const void *buf,
                    size_t len)
{
    const uint8_t *p = buf;
    for (int i = 0; i < iovcnt && len; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        size_t n = l - skip < len ? l - skip : len;
        memcpy((uint8_t *)iov[i].iov_base + skip, p, n);
        p += n;
        len -= n;
        skip = 0;
    }
}

void blk_iov_zero(const struct iovec *iov, int iovcnt, size_t skip, size_t len)
{
    for (int i = 0; i < iovcnt && len; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        size_t n = l - skip < len ? l - skip : len;
        memset((uint8_t *)iov[i].iov_base + skip, 0, n);
        len -= n;
        skip = 0;
    }
}
