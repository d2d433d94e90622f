/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bdev_image.c — disk images (raw, qcow2 with backing chains) through
 * lib/image.
 *
 * lib/image's calls are synchronous, so each image bdev has a pool of
 * worker threads. A channel hands a request to the pool through a
 * lock-free ring (multi-producer, multi-consumer) and a semaphore; a worker
 * runs the lib/image call and sends the completion back to the channel's
 * reactor as a message, where it is delivered like any other. lib/image
 * serialises what must be serialised (cluster allocation, metadata) and
 * lets independent reads and writes run in parallel.
 *
 * Parameters: path (required), format ("raw" or "qcow2"; default: probe —
 * give it for images from untrusted sources), backing_format, direct
 * (O_DIRECT for aligned data I/O), threads (workers, 1..64, default 4),
 * block_size (512 or 4096, default 512).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_backend.h"
#include "image.h"
#include "kk_log.h"
#include "kk_ring.h"

KK_LOG_COMPONENT_DECLARE(blk_log);

#define QUEUE_SIZE 4096

struct idisk {
    struct img *img;
    struct kk_ring *queue;       /* struct blk_io *, MP/MC */
    sem_t sem;                   /* queued requests (+ one per worker at exit) */
    pthread_t *threads;
    unsigned n_threads;
    bool stopping;
    char *path;
};

struct ichan {
    struct idisk *d;
    struct kk_reactor *r;
    /* workers inside kk_reactor_send() for this channel: its last
     * completion may run (and the channel and reactor go away) before the
     * send call returns, so closing waits for zero */
    uint32_t sending;
};

static void complete_msg(void *arg)
{
    struct blk_io *io = arg;
    blk_io_complete(io, io->result);
}

static int do_status(struct idisk *d, struct blk_io *io)
{
    uint64_t pos = io->offset, end = io->offset + io->len;
    uint32_t n = 0;
    while (pos < end && n < io->max_ext) {
        struct img_status st;
        int depth = 0;
        int rc = img_block_status_chain(d->img, pos, end - pos, &st, &depth);
        if (rc < 0)
            return n ? (int)n : rc;
        if (st.length == 0)
            break;
        uint32_t flags;
        if (!(st.flags & IMG_BS_ALLOCATED) && !(st.flags & IMG_BS_DATA))
            flags = BLK_EXTENT_HOLE | BLK_EXTENT_ZERO; /* nothing in the chain allocates */
        else
            flags = ((st.flags & IMG_BS_DATA) ? 0 : BLK_EXTENT_HOLE) |
                    ((st.flags & IMG_BS_ZERO) ? BLK_EXTENT_ZERO : 0);
        uint64_t len = st.length < end - pos ? st.length : end - pos;
        if (n > 0 && io->ext[n - 1].flags == flags) {
            io->ext[n - 1].len += len;
        } else {
            io->ext[n].len = len;
            io->ext[n].flags = flags;
            n++;
        }
        pos += len;
    }
    return (int)n;
}

static int run(struct idisk *d, struct blk_io *io)
{
    int rc;
    switch (io->op) {
    case BLK_OP_READ:
        return img_preadv(d->img, io->iov, io->iovcnt, io->offset);
    case BLK_OP_WRITE:
        rc = img_pwritev(d->img, io->iov, io->iovcnt, io->offset);
        if (rc == 0 && (io->flags & BLK_IO_FUA))
            rc = img_flush(d->img);
        return rc;
    case BLK_OP_FLUSH:
        return img_flush(d->img);
    case BLK_OP_UNMAP:
        /* zeroes rather than img_discard(): partial clusters read back as
         * zeroes too, and a backing file never shows through */
        return img_write_zeroes(d->img, io->offset, io->len, IMG_ZERO_MAY_UNMAP);
    case BLK_OP_WRITE_ZEROES:
        rc = img_write_zeroes(d->img, io->offset, io->len,
                              (io->flags & BLK_IO_NO_UNMAP) ? 0 : IMG_ZERO_MAY_UNMAP);
        if (rc == 0 && (io->flags & BLK_IO_FUA))
            rc = img_flush(d->img);
        return rc;
    case BLK_OP_BLOCK_STATUS:
        return do_status(d, io);
    default:
        return -ENOTSUP;
    }
}

static void *worker(void *arg)
{
    struct idisk *d = arg;
    for (;;) {
        while (sem_wait(&d->sem) < 0 && errno == EINTR)
            ;
        void *obj;
        if (kk_ring_mc_dequeue(d->queue, &obj) != 0) {
            if (__atomic_load_n(&d->stopping, __ATOMIC_ACQUIRE))
                return NULL;
            continue;
        }
        struct blk_io *io = obj;
        struct ichan *c = io->chctx;
        io->result = run(d, io);
        if (io->result < 0 && io->op != BLK_OP_BLOCK_STATUS)
            KK_LOG_RL(blk_log, KK_LOG_WARN, "image %s: op %d at %" PRIu64 "+%" PRIu64 ": %s",
                      d->path, (int)io->op, io->offset, io->len, strerror(-io->result));
        __atomic_add_fetch(&c->sending, 1, __ATOMIC_ACQ_REL);
        while (kk_reactor_send(c->r, complete_msg, io) < 0)
            sched_yield();
        __atomic_sub_fetch(&c->sending, 1, __ATOMIC_ACQ_REL);
    }
}

static void image_submit(void *chctx, struct blk_io *io)
{
    struct ichan *c = chctx;
    if (kk_ring_mp_enqueue(c->d->queue, io) != 0) {
        blk_io_complete(io, -EAGAIN); /* more in flight than the queue holds */
        return;
    }
    sem_post(&c->d->sem);
}

static int image_channel_create(struct blk_bdev *b, struct kk_reactor *r, void **chctx)
{
    struct ichan *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->d = blk_bdev_ctx(b);
    c->r = r;
    *chctx = c;
    return 0;
}

static void image_channel_destroy(struct blk_bdev *b, void *chctx)
{
    (void)b;
    struct ichan *c = chctx;
    while (__atomic_load_n(&c->sending, __ATOMIC_ACQUIRE))
        sched_yield();
    free(c);
}

static int image_resize(struct blk_bdev *b, uint64_t size)
{
    struct idisk *d = blk_bdev_ctx(b);
    return img_resize(d->img, size);
}

static void image_to_json(const struct blk_bdev *b, json_t *obj)
{
    struct idisk *d = blk_bdev_ctx(b);
    json_object_set_new(obj, "path", json_string(d->path));
    json_object_set_new(obj, "format", json_string(img_format(d->img)));
    json_object_set_new(obj, "cluster_size", json_integer(img_cluster_size(d->img)));
    json_object_set_new(obj, "threads", json_integer(d->n_threads));
    const char *bf = img_backing_filename(d->img);
    if (bf)
        json_object_set_new(obj, "backing_file", json_string(bf));
}

static void stop_workers(struct idisk *d, unsigned n)
{
    __atomic_store_n(&d->stopping, true, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < n; i++)
        sem_post(&d->sem);
    for (unsigned i = 0; i < n; i++)
        pthread_join(d->threads[i], NULL);
}

static void free_disk(struct idisk *d)
{
    if (d->img)
        img_close(d->img);
    kk_ring_destroy(d->queue);
    sem_destroy(&d->sem);
    free(d->threads);
    free(d->path);
    free(d);
}

static void image_destroy(struct blk_bdev *b)
{
    struct idisk *d = blk_bdev_ctx(b);
    stop_workers(d, d->n_threads);
    img_flush(d->img);
    free_disk(d);
}

static const struct blk_bdev_ops image_ops = {
    .channel_create = image_channel_create,
    .channel_destroy = image_channel_destroy,
    .submit = image_submit,
    .resize = image_resize,
    .to_json = image_to_json,
    .destroy = image_destroy,
};

static int image_create(const char *name, const json_t *params, char *err, size_t errlen,
                        struct blk_bdev **out)
{
    static const char *const keys[] = {"path", "format", "backing_format", "direct",
                                       "threads", "block_size", NULL};
    const char *path = NULL, *format = NULL, *bfmt = NULL;
    bool direct = false, ro = false;
    uint64_t threads = 4, bs = 512;
    int rc = blk_params_check(params, "image", keys, err, errlen);
    if (rc == 0)
        rc = blk_param_str(params, "path", &path, err, errlen);
    if (rc == 0)
        rc = blk_param_str(params, "format", &format, err, errlen);
    if (rc == 0)
        rc = blk_param_str(params, "backing_format", &bfmt, err, errlen);
    if (rc == 0)
        rc = blk_param_bool(params, "direct", &direct, err, errlen);
    if (rc == 0)
        rc = blk_param_bool(params, "read_only", &ro, err, errlen);
    if (rc == 0)
        rc = blk_param_u64(params, "threads", &threads, err, errlen);
    if (rc == 0)
        rc = blk_param_u64(params, "block_size", &bs, err, errlen);
    if (rc < 0)
        return rc;
    if (!path || !*path) {
        snprintf(err, errlen, "image: parameter 'path' is required");
        return -EINVAL;
    }
    if (format && strcmp(format, "raw") != 0 && strcmp(format, "qcow2") != 0) {
        snprintf(err, errlen, "image: format must be raw or qcow2");
        return -EINVAL;
    }
    if (threads < 1 || threads > 64) {
        snprintf(err, errlen, "image: threads must be 1..64");
        return -EINVAL;
    }
    if (bs != 512 && bs != 4096) {
        snprintf(err, errlen, "image: block_size must be 512 or 4096");
        return -EINVAL;
    }
    if (!format)
        KK_LOGW(blk_log, "bdev %s: probing the format of %s; give format= for untrusted images",
                name, path);

    struct idisk *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    sem_init(&d->sem, 0, 0);
    struct img_open_opts o = {
        .format = format,
        .flags = (ro ? 0 : IMG_O_RDWR) | (direct ? IMG_O_DIRECT : 0),
        .backing_format = bfmt,
    };
    rc = img_open(path, &o, &d->img);
    if (rc < 0) {
        snprintf(err, errlen, "image: cannot open %s: %s", path, strerror(-rc));
        free_disk(d);
        return rc;
    }
    uint64_t size = img_size(d->img);
    if (size % bs || size == 0) {
        snprintf(err, errlen, "image: virtual size %" PRIu64 " is not a multiple of %" PRIu64,
                 size, bs);
        free_disk(d);
        return -EINVAL;
    }
    rc = kk_ring_create(QUEUE_SIZE, 0, &d->queue);
    d->path = strdup(path);
    d->threads = calloc(threads, sizeof(*d->threads));
    if (rc < 0 || !d->path || !d->threads) {
        free_disk(d);
        return rc < 0 ? rc : -ENOMEM;
    }
    for (unsigned i = 0; i < threads; i++) {
        rc = pthread_create(&d->threads[i], NULL, worker, d);
        if (rc != 0) {
            stop_workers(d, i);
            free_disk(d);
            return -rc;
        }
        char tname[16];
        snprintf(tname, sizeof(tname), "img-%.8s", name);
        pthread_setname_np(d->threads[i], tname);
        d->n_threads = i + 1;
    }
    struct blk_bdev *b = blk_bdev_alloc(name, "image", &image_ops, d);
    if (!b) {
        stop_workers(d, d->n_threads);
        free_disk(d);
        return -ENOMEM;
    }
    struct blk_bdev_info *in = blk_bdev_info_mut(b);
    in->size = size;
    in->block_size = (uint32_t)bs;
    in->read_only = ro || !img_writable(d->img);
    in->volatile_cache = true;
    in->can_unmap = true;
    in->can_write_zeroes = true;
    in->can_block_status = true;
    in->optimal_io = img_cluster_size(d->img);
    in->max_transfer = 32u << 20;
    *out = b;
    return 0;
}

const struct blk_backend blk_backend_image = {
    .type = "image",
    .help = "path=FILE [format=raw|qcow2] [backing_format=F] [direct=false] [threads=4]: disk "
            "image through lib/image",
    .create = image_create,
};
