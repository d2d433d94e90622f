/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bdev_error.c — a bdev stacked on another that injects errors and
 * latency, for tests: the targets' error paths (a guest seeing an I/O
 * error, an NBD client getting EIO) and slow devices (requests in flight
 * when a client disconnects or a target restarts).
 *
 * Each channel opens a channel on the base bdev on the same reactor and
 * passes requests through. A request matching the rule (its operation is
 * in `ops`, it overlaps [offset, offset + length) if a length is given,
 * it is the every-th match if `every` is given, and fewer than `count`
 * have failed if `count` is given) completes with -errno instead, without
 * reaching the base. With delay_us every completion (failed or not) is
 * held back that long.
 *
 * Parameters: base (required), ops (list or comma-separated: read, write,
 * flush, unmap, write_zeroes, block_status; default read,write), errno
 * (name or number, default EIO), every, offset, length, count,
 * delay_us. With no rule parameter (every/length/count) no request fails:
 * only delay_us applies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blk_backend.h"

struct edisk {
    struct blk_bdev *base;
    unsigned ops_mask;
    int err;
    uint64_t every, offset, length, count, delay_us;
    bool has_rule;
    uint64_t matches;            /* shared by channels: relaxed atomics */
    uint64_t failed;
};

struct echan {
    struct edisk *d;
    struct kk_reactor *r;
    struct blk_channel *base;
    struct kk_timer *timer;
    struct blk_io *delayed_head, *delayed_tail; /* FIFO, due in order */
    struct blk_io *pending_head, *pending_tail; /* waiting for a base slot */
    struct blk_io_wait wait;
    bool waiting;
};

/* io->driver[] use */
#define DRV_DUE 0
#define DRV_RESULT 1
#define DRV_NEXT 2

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

static void push(struct blk_io **head, struct blk_io **tail, struct blk_io *io)
{
    io->driver[DRV_NEXT] = 0;
    if (*tail)
        (*tail)->driver[DRV_NEXT] = (uintptr_t)io;
    else
        *head = io;
    *tail = io;
}

static struct blk_io *pop(struct blk_io **head, struct blk_io **tail)
{
    struct blk_io *io = *head;
    if (io) {
        *head = (struct blk_io *)(uintptr_t)io->driver[DRV_NEXT];
        if (!*head)
            *tail = NULL;
    }
    return io;
}

static void finish(struct echan *c, struct blk_io *io, int result)
{
    if (!c->d->delay_us) {
        blk_io_complete(io, result);
        return;
    }
    io->driver[DRV_DUE] = mono_us() + c->d->delay_us;
    io->driver[DRV_RESULT] = (uint64_t)(int64_t)result;
    bool was_empty = c->delayed_head == NULL;
    push(&c->delayed_head, &c->delayed_tail, io);
    if (was_empty)
        kk_timer_arm(c->timer, c->d->delay_us, 0);
}

static void timer_fire(void *arg)
{
    struct echan *c = arg;
    uint64_t now = mono_us();
    while (c->delayed_head && c->delayed_head->driver[DRV_DUE] <= now) {
        struct blk_io *io = pop(&c->delayed_head, &c->delayed_tail);
        blk_io_complete(io, (int)(int64_t)io->driver[DRV_RESULT]);
    }
    if (c->delayed_head)
        kk_timer_arm(c->timer, c->delayed_head->driver[DRV_DUE] - now, 0);
}

static void base_done(void *arg, int result)
{
    struct blk_io *io = arg;
    finish(io->chctx, io, result);
}

static int forward(struct echan *c, struct blk_io *io)
{
    switch (io->op) {
    case BLK_OP_READ:
        return blk_read(c->base, io->offset, io->iov, io->iovcnt, base_done, io);
    case BLK_OP_WRITE:
        return blk_write(c->base, io->offset, io->iov, io->iovcnt, io->flags, base_done, io);
    case BLK_OP_FLUSH:
        return blk_flush(c->base, base_done, io);
    case BLK_OP_UNMAP:
        return blk_unmap(c->base, io->offset, io->len, base_done, io);
    case BLK_OP_WRITE_ZEROES:
        return blk_write_zeroes(c->base, io->offset, io->len, io->flags, base_done, io);
    case BLK_OP_BLOCK_STATUS:
        return blk_block_status(c->base, io->offset, io->len, io->ext, io->max_ext, base_done,
                                io);
    default:
        return -ENOTSUP;
    }
}

static void retry_pending(void *arg);

static void send_or_park(struct echan *c, struct blk_io *io)
{
    int rc = forward(c, io);
    if (rc == -ENOMEM) {
        push(&c->pending_head, &c->pending_tail, io);
        if (!c->waiting) {
            c->waiting = true;
            blk_io_wait(c->base, &c->wait);
        }
    } else if (rc < 0) {
        finish(c, io, rc);
    }
}

static void retry_pending(void *arg)
{
    struct echan *c = arg;
    c->waiting = false;
    struct blk_io *io;
    while (!c->waiting && (io = pop(&c->pending_head, &c->pending_tail)))
        send_or_park(c, io);
}

static bool matches(struct edisk *d, const struct blk_io *io)
{
    if (!d->has_rule || !(d->ops_mask & (1u << io->op)))
        return false;
    if (d->length && (io->offset >= d->offset + d->length ||
                      io->offset + (io->len ? io->len : 1) <= d->offset))
        return false;
    uint64_t m = __atomic_add_fetch(&d->matches, 1, __ATOMIC_RELAXED);
    if (d->every && m % d->every)
        return false;
    if (d->count && __atomic_add_fetch(&d->failed, 1, __ATOMIC_RELAXED) > d->count)
        return false;
    if (!d->count)
        __atomic_add_fetch(&d->failed, 1, __ATOMIC_RELAXED);
    return true;
}

static void error_submit(void *chctx, struct blk_io *io)
{
    struct echan *c = chctx;
    if (matches(c->d, io)) {
        finish(c, io, -c->d->err);
        return;
    }
    if (c->pending_head)
        push(&c->pending_head, &c->pending_tail, io); /* keep the order */
    else
        send_or_park(c, io);
}

static int error_channel_create(struct blk_bdev *b, struct kk_reactor *r, void **chctx)
{
    struct edisk *d = blk_bdev_ctx(b);
    struct echan *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->d = d;
    c->r = r;
    c->wait.fn = retry_pending;
    c->wait.arg = c;
    int rc = blk_channel_open(d->base, r, 256, &c->base);
    if (rc == 0)
        rc = kk_timer_create(r, timer_fire, c, &c->timer);
    if (rc < 0) {
        blk_channel_close(c->base);
        free(c);
        return rc;
    }
    *chctx = c;
    return 0;
}

static void error_channel_destroy(struct blk_bdev *b, void *chctx)
{
    (void)b;
    struct echan *c = chctx;
    if (c->waiting)
        blk_io_wait_cancel(c->base, &c->wait);
    kk_timer_destroy(c->timer);
    blk_channel_close(c->base);
    free(c);
}

static void error_to_json(const struct blk_bdev *b, json_t *obj)
{
    struct edisk *d = blk_bdev_ctx(b);
    json_object_set_new(obj, "base", json_string(blk_bdev_name(d->base)));
    json_object_set_new(obj, "injected",
                        json_integer((json_int_t)__atomic_load_n(&d->failed, __ATOMIC_RELAXED)));
}

static void error_destroy(struct blk_bdev *b)
{
    struct edisk *d = blk_bdev_ctx(b);
    blk_bdev_close(d->base);
    free(d);
}

static const struct blk_bdev_ops error_ops = {
    .channel_create = error_channel_create,
    .channel_destroy = error_channel_destroy,
    .submit = error_submit,
    .to_json = error_to_json,
    .destroy = error_destroy,
};

static const char *const op_names[BLK_OP_COUNT] = {"read", "write", "flush", "unmap",
                                                   "write_zeroes", "block_status"};

static int parse_op(const char *s, size_t n, unsigned *mask)
{
    for (int i = 0; i < BLK_OP_COUNT; i++) {
        if (strlen(op_names[i]) == n && strncmp(op_names[i], s, n) == 0) {
            *mask |= 1u << i;
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_ops(const json_t *v, unsigned *mask)
{
    *mask = 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        while (*s) {
            size_t n = strcspn(s, ",");
            if (parse_op(s, n, mask) < 0)
                return -EINVAL;
            s += n;
            if (*s == ',')
                s++;
        }
        return *mask ? 0 : -EINVAL;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (!json_is_string(e) ||
                parse_op(json_string_value(e), strlen(json_string_value(e)), mask) < 0)
                return -EINVAL;
        }
        return *mask ? 0 : -EINVAL;
    }
    return -EINVAL;
}

static int parse_errno(const json_t *v, int *out)
{
    static const struct { const char *name; int val; } names[] = {
        {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EPERM", EPERM}, {"EINVAL", EINVAL},
        {"ENOMEM", ENOMEM}, {"EROFS", EROFS}, {"ENOTSUP", ENOTSUP}, {"EOVERFLOW", EOVERFLOW},
        {"ESHUTDOWN", ESHUTDOWN}, {"EAGAIN", EAGAIN},
    };
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 4096) {
        *out = (int)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (strcmp(names[i].name, json_string_value(v)) == 0) {
                *out = names[i].val;
                return 0;
            }
        }
    }
    return -EINVAL;
}

static int error_create(const char *name, const json_t *params, char *err, size_t errlen,
                        struct blk_bdev **out)
{
    static const char *const keys[] = {"base", "ops", "errno", "every", "offset", "length",
                                       "count", "delay_us", NULL};
    const char *base = NULL;
    struct edisk *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->err = EIO;
    d->ops_mask = (1u << BLK_OP_READ) | (1u << BLK_OP_WRITE);
    int rc = blk_params_check(params, "error", keys, err, errlen);
    if (rc == 0)
        rc = blk_param_str(params, "base", &base, err, errlen);
    if (rc == 0)
        rc = blk_param_u64(params, "every", &d->every, err, errlen);
    if (rc == 0)
        rc = blk_param_size(params, "offset", &d->offset, err, errlen);
    if (rc == 0)
        rc = blk_param_size(params, "length", &d->length, err, errlen);
    if (rc == 0)
        rc = blk_param_u64(params, "count", &d->count, err, errlen);
    if (rc == 0)
        rc = blk_param_u64(params, "delay_us", &d->delay_us, err, errlen);
    if (rc == 0 && json_object_get(params, "ops") &&
        parse_ops(json_object_get(params, "ops"), &d->ops_mask) < 0) {
        snprintf(err, errlen, "error: ops must list read, write, flush, unmap, write_zeroes or "
                              "block_status");
        rc = -EINVAL;
    }
    if (rc == 0 && json_object_get(params, "errno") &&
        parse_errno(json_object_get(params, "errno"), &d->err) < 0) {
        snprintf(err, errlen, "error: errno must be a positive number or a name such as EIO");
        rc = -EINVAL;
    }
    if (rc == 0 && !base) {
        snprintf(err, errlen, "error: parameter 'base' is required");
        rc = -EINVAL;
    }
    if (rc == 0 && d->delay_us > 60000000) {
        snprintf(err, errlen, "error: delay_us is at most 60 s");
        rc = -EINVAL;
    }
    if (rc < 0) {
        free(d);
        return rc;
    }
    d->has_rule = d->every || d->length || d->count;
    rc = blk_bdev_open(base, false, &d->base);
    if (rc < 0) {
        snprintf(err, errlen, "error: base bdev '%s' not found", base);
        free(d);
        return rc;
    }
    struct blk_bdev *b = blk_bdev_alloc(name, "error", &error_ops, d);
    if (!b) {
        blk_bdev_close(d->base);
        free(d);
        return -ENOMEM;
    }
    struct blk_bdev_info bi;
    blk_bdev_get_info(d->base, &bi);
    struct blk_bdev_info *in = blk_bdev_info_mut(b);
    const char *n = in->name, *t = in->type;
    *in = bi;
    in->name = n;
    in->type = t;
    /* flushes must reach the rule even when the base has no cache */
    in->volatile_cache = bi.volatile_cache || (d->has_rule && (d->ops_mask & (1u << BLK_OP_FLUSH)));
    *out = b;
    return 0;
}

const struct blk_backend blk_backend_error = {
    .type = "error",
    .help = "base=BDEV [ops=read,write] [errno=EIO] [every=N] [offset=O length=L] [count=N] "
            "[delay_us=N]: injects errors and latency",
    .create = error_create,
};
