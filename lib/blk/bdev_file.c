/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bdev_file.c — regular files and block devices through io_uring.
 *
 * One io_uring per reactor, shared by every file channel on it: requests
 * queue SQEs as they are submitted and the ring is entered once per loop
 * turn (batched submission) from the channels' poller, which also reaps
 * completions. Before the reactor sleeps the ring's eventfd is switched
 * on (and a watch on it wakes the reactor); while it polls, it is off, so
 * a busy reactor takes no eventfd writes. Each bdev's descriptor is
 * registered in the ring's fixed-file table where the kernel allows it.
 *
 * direct=true opens with O_DIRECT: requests whose buffers, lengths and
 * offset meet the device's direct-I/O alignment go straight to the device;
 * others go through an aligned bounce buffer (a copy, never a buffered
 * access of the same file, so the page cache never holds stale data).
 * FUA writes carry RWF_DSYNC; flush is fdatasync; unmap punches holes in
 * files (BLKDISCARD on block devices); write zeroes uses fallocate
 * (ZERO_RANGE, or PUNCH_HOLE when unmapping is allowed; BLKZEROOUT on
 * block devices). Block status reports holes of sparse files
 * (SEEK_DATA/SEEK_HOLE).
 *
 * Parameters: path (required), direct (default false), create (default
 * false: create the file if missing), size (create or grow the file to
 * this size), block_size (default: the device's logical block size, or
 * 512).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_backend.h"
#include "blk_internal.h"
#include "kk_log.h"

KK_LOG_COMPONENT_DECLARE(blk_log);

#define RING_ENTRIES 256
#define RING_CQ_ENTRIES 4096
#define FIXED_SLOTS 64

/* One io_uring per reactor. */
struct uring {
    struct kk_reactor *r;
    struct io_uring ring;
    int refs;
    unsigned pending;            /* SQEs not yet submitted */
    int efd;
    struct kk_fd_watch *watch;
    bool efd_on;
    bool fixed_ok;
    bool slot_used[FIXED_SLOTS];
    struct uring *next;
};

static pthread_mutex_t rings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uring *rings;

struct fdisk {
    int fd;
    bool blockdev;
    bool direct;
    uint32_t dio_align;          /* memory/offset alignment for O_DIRECT */
    char *path;
};

struct fchan {
    struct fdisk *d;
    struct uring *u;
    int slot;                    /* fixed-file index, or -1 */
};

/* io->driver[] use */
#define DRV_BOUNCE 0             /* aligned bounce buffer, or 0 */

static void efd_ready(void *arg, int fd, unsigned events)
{
    (void)arg;
    (void)events;
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof(v));
    (void)n;
}

static struct uring *uring_get(struct kk_reactor *r)
{
    pthread_mutex_lock(&rings_lock);
    for (struct uring *u = rings; u; u = u->next) {
        if (u->r == r) {
            u->refs++;
            pthread_mutex_unlock(&rings_lock);
            return u;
        }
    }
    struct uring *u = calloc(1, sizeof(*u));
    if (!u)
        goto fail;
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = RING_CQ_ENTRIES;
    int rc = io_uring_queue_init_params(RING_ENTRIES, &u->ring, &p);
    if (rc < 0) {
        KK_LOGE(blk_log, "io_uring_queue_init: %s", strerror(-rc));
        free(u);
        u = NULL;
        goto fail;
    }
    u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (u->efd < 0 || io_uring_register_eventfd(&u->ring, u->efd) < 0 ||
        kk_fd_watch_add(r, u->efd, KK_FD_READ, efd_ready, u, &u->watch) < 0) {
        KK_LOGE(blk_log, "io_uring eventfd setup failed");
        if (u->efd >= 0)
            close(u->efd);
        io_uring_queue_exit(&u->ring);
        free(u);
        u = NULL;
        goto fail;
    }
    io_uring_cq_eventfd_toggle(&u->ring, false);
    u->fixed_ok = io_uring_register_files_sparse(&u->ring, FIXED_SLOTS) == 0;
    u->r = r;
    u->refs = 1;
    u->next = rings;
    rings = u;
fail:
    pthread_mutex_unlock(&rings_lock);
    return u;
}

static void uring_put(struct uring *u)
{
    pthread_mutex_lock(&rings_lock);
    if (--u->refs > 0) {
        pthread_mutex_unlock(&rings_lock);
        return;
    }
    for (struct uring **pp = &rings; *pp; pp = &(*pp)->next) {
        if (*pp == u) {
            *pp = u->next;
            break;
        }
    }
    pthread_mutex_unlock(&rings_lock);
    kk_fd_watch_remove(u->watch);
    io_uring_queue_exit(&u->ring);
    close(u->efd);
    free(u);
}

static struct io_uring_sqe *get_sqe(struct uring *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {
        io_uring_submit(&u->ring);
        u->pending = 0;
        sqe = io_uring_get_sqe(&u->ring);
    }
    if (sqe)
        u->pending++;
    return sqe;
}

static void set_file(struct fchan *c, struct io_uring_sqe *sqe)
{
    if (c->slot >= 0) {
        sqe->fd = c->slot;
        sqe->flags |= IOSQE_FIXED_FILE;
    }
}

static bool aligned(const struct fdisk *d, const struct blk_io *io)
{
    uint64_t mask = d->dio_align - 1;
    if (io->offset & mask)
        return false;
    for (int i = 0; i < io->iovcnt; i++) {
        if (((uintptr_t)io->iov[i].iov_base | io->iov[i].iov_len) & mask)
            return false;
    }
    return true;
}

/* Synchronous completion of what io_uring left undone (short transfers,
 * fallbacks). Returns 0 or a negative errno. */
static int sync_rw(struct fdisk *d, struct blk_io *io, uint64_t done)
{
    uint8_t *buf = (uint8_t *)(uintptr_t)io->driver[DRV_BOUNCE];
    while (done < io->len) {
        uint64_t want = io->len - done;
        uint8_t tmp[4096] __attribute__((aligned(4096)));
        ssize_t n;
        if (buf) {
            n = io->op == BLK_OP_READ ? pread(d->fd, buf + done, want, (off_t)(io->offset + done))
                                      : pwrite(d->fd, buf + done, want,
                                               (off_t)(io->offset + done));
        } else {
            size_t chunk = want < sizeof(tmp) ? want : sizeof(tmp);
            if (io->op == BLK_OP_READ) {
                n = pread(d->fd, tmp, chunk, (off_t)(io->offset + done));
                if (n > 0)
                    blk_buf_to_iov(io->iov, io->iovcnt, done, tmp, (size_t)n);
            } else {
                blk_iov_to_buf(tmp, io->iov, io->iovcnt, done, chunk);
                n = pwrite(d->fd, tmp, chunk, (off_t)(io->offset + done));
            }
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0) {
            if (io->op != BLK_OP_READ)
                return -EIO;
            /* past the end of a file that shrank: zeroes */
            if (buf)
                memset(buf + done, 0, want);
            else
                blk_iov_zero(io->iov, io->iovcnt, done, want);
            break;
        }
        done += (uint64_t)n;
    }
    if (io->op == BLK_OP_WRITE && (io->flags & BLK_IO_FUA) && fdatasync(d->fd) < 0)
        return -errno;
    return 0;
}

static int zero_sync(struct fdisk *d, struct blk_io *io)
{
    if (d->blockdev) {
        uint64_t range[2] = {io->offset, io->len};
        if (ioctl(d->fd, BLKZEROOUT, range) == 0)
            return 0;
    } else {
        int mode = FALLOC_FL_KEEP_SIZE |
                   ((io->flags & BLK_IO_NO_UNMAP) ? FALLOC_FL_ZERO_RANGE : FALLOC_FL_PUNCH_HOLE);
        if (fallocate(d->fd, mode, (off_t)io->offset, (off_t)io->len) == 0)
            return 0;
        if (mode & FALLOC_FL_PUNCH_HOLE &&
            fallocate(d->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_ZERO_RANGE, (off_t)io->offset,
                      (off_t)io->len) == 0)
            return 0;
    }
    /* write zeroes the slow way */
    static const uint8_t zero[65536] __attribute__((aligned(4096)));
    for (uint64_t done = 0; done < io->len;) {
        size_t n = io->len - done < sizeof(zero) ? (size_t)(io->len - done) : sizeof(zero);
        ssize_t w = pwrite(d->fd, zero, n, (off_t)(io->offset + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        done += (uint64_t)w;
    }
    return 0;
}

static void finish(struct fchan *c, struct blk_io *io, int res)
{
    struct fdisk *d = c->d;
    uint8_t *bounce = (uint8_t *)(uintptr_t)io->driver[DRV_BOUNCE];
    int result = 0;
    switch (io->op) {
    case BLK_OP_READ:
    case BLK_OP_WRITE:
        if (res < 0)
            result = res;
        else if ((uint64_t)res < io->len)
            result = sync_rw(d, io, (uint64_t)res);
        if (bounce && io->op == BLK_OP_READ && result == 0)
            blk_buf_to_iov(io->iov, io->iovcnt, 0, bounce, io->len);
        break;
    case BLK_OP_WRITE_ZEROES:
        result = res < 0 ? zero_sync(d, io) : 0;
        if (result == 0 && (io->flags & BLK_IO_FUA) && fdatasync(d->fd) < 0)
            result = -errno;
        break;
    default:
        result = res < 0 ? res : 0;
        break;
    }
    if (bounce) {
        free(bounce);
        io->driver[DRV_BOUNCE] = 0;
    }
    if (result < 0)
        KK_LOG_RL(blk_log, KK_LOG_WARN, "file %s: op %d at %" PRIu64 "+%" PRIu64 ": %s", d->path,
                  (int)io->op, io->offset, io->len, strerror(-result));
    blk_io_complete(io, result);
}

static int block_status(struct fdisk *d, struct blk_io *io)
{
    uint64_t pos = io->offset, end = io->offset + io->len;
    uint32_t n = 0;
    while (pos < end && n < io->max_ext) {
        off_t data = lseek(d->fd, (off_t)pos, SEEK_DATA);
        uint64_t len;
        uint32_t flags;
        if (data < 0 && errno == ENXIO) {
            len = end - pos; /* a hole to the end of the file */
            flags = BLK_EXTENT_HOLE | BLK_EXTENT_ZERO;
        } else if (data < 0) {
            if (n == 0) { /* no SEEK_DATA: all data */
                io->ext[0].len = io->len;
                io->ext[0].flags = 0;
                return 1;
            }
            break;
        } else if ((uint64_t)data > pos) {
            len = (uint64_t)data - pos;
            flags = BLK_EXTENT_HOLE | BLK_EXTENT_ZERO;
        } else {
            off_t hole = lseek(d->fd, (off_t)pos, SEEK_HOLE);
            if (hole < 0 || (uint64_t)hole <= pos)
                hole = (off_t)end;
            len = (uint64_t)hole - pos;
            flags = 0;
        }
        if (len > end - pos)
            len = end - pos;
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

static void file_submit(void *chctx, struct blk_io *io)
{
    struct fchan *c = chctx;
    struct fdisk *d = c->d;
    io->driver[DRV_BOUNCE] = 0;
    if (io->op == BLK_OP_BLOCK_STATUS) {
        blk_io_complete(io, block_status(d, io));
        return;
    }
    if (io->op == BLK_OP_UNMAP && d->blockdev) {
        uint64_t range[2] = {io->offset, io->len};
        blk_io_complete(io, ioctl(d->fd, BLKDISCARD, range) == 0 ? 0 : -errno);
        return;
    }
    if (io->op == BLK_OP_WRITE_ZEROES && d->blockdev) {
        int rc = zero_sync(d, io);
        if (rc == 0 && (io->flags & BLK_IO_FUA) && fdatasync(d->fd) < 0)
            rc = -errno;
        blk_io_complete(io, rc);
        return;
    }
    struct io_uring_sqe *sqe = get_sqe(c->u);
    if (!sqe) {
        blk_io_complete(io, -EAGAIN);
        return;
    }
    switch (io->op) {
    case BLK_OP_READ:
    case BLK_OP_WRITE: {
        const struct iovec *iov = io->iov;
        int iovcnt = io->iovcnt;
        struct iovec one;
        if (d->direct && !aligned(d, io)) {
            void *b = NULL;
            if (posix_memalign(&b, d->dio_align < 4096 ? 4096 : d->dio_align, io->len) != 0) {
                io_uring_prep_nop(sqe);
                io_uring_sqe_set_data(sqe, NULL);
                blk_io_complete(io, -ENOMEM);
                return;
            }
            if (io->op == BLK_OP_WRITE)
                blk_iov_to_buf(b, io->iov, io->iovcnt, 0, io->len);
            io->driver[DRV_BOUNCE] = (uintptr_t)b;
            one.iov_base = b;
            one.iov_len = io->len;
            iov = &one;
            iovcnt = 1;
        }
        if (iovcnt == 1) {
            if (io->op == BLK_OP_READ)
                io_uring_prep_read(sqe, d->fd, iov[0].iov_base, (unsigned)iov[0].iov_len,
                                   io->offset);
            else
                io_uring_prep_write(sqe, d->fd, iov[0].iov_base, (unsigned)iov[0].iov_len,
                                    io->offset);
        } else {
            if (io->op == BLK_OP_READ)
                io_uring_prep_readv(sqe, d->fd, iov, (unsigned)iovcnt, io->offset);
            else
                io_uring_prep_writev(sqe, d->fd, iov, (unsigned)iovcnt, io->offset);
        }
        if (io->op == BLK_OP_WRITE && (io->flags & BLK_IO_FUA))
            sqe->rw_flags = RWF_DSYNC;
        break;
    }
    case BLK_OP_FLUSH:
        io_uring_prep_fsync(sqe, d->fd, IORING_FSYNC_DATASYNC);
        break;
    case BLK_OP_UNMAP:
        io_uring_prep_fallocate(sqe, d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                io->offset, io->len);
        break;
    case BLK_OP_WRITE_ZEROES:
        io_uring_prep_fallocate(sqe, d->fd,
                                FALLOC_FL_KEEP_SIZE | ((io->flags & BLK_IO_NO_UNMAP)
                                                           ? FALLOC_FL_ZERO_RANGE
                                                           : FALLOC_FL_PUNCH_HOLE),
                                io->offset, io->len);
        break;
    default:
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data(sqe, NULL);
        blk_io_complete(io, -ENOTSUP);
        return;
    }
    set_file(c, sqe);
    io_uring_sqe_set_data(sqe, io);
}

static int file_poll(void *chctx)
{
    struct fchan *c = chctx;
    struct uring *u = c->u;
    int work = 0;
    if (u->pending) {
        io_uring_submit(&u->ring);
        u->pending = 0;
        work++;
    }
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&u->ring, head, cqe) {
        struct blk_io *io = io_uring_cqe_get_data(cqe);
        if (io)
            finish(io->chctx, io, cqe->res);
        n++;
    }
    if (n)
        io_uring_cq_advance(&u->ring, n);
    return work + (int)n;
}

static bool file_arm(void *chctx, bool enable)
{
    struct fchan *c = chctx;
    struct uring *u = c->u;
    if (enable && u->pending) {
        io_uring_submit(&u->ring);
        u->pending = 0;
    }
    if (u->efd_on != enable) {
        io_uring_cq_eventfd_toggle(&u->ring, enable);
        u->efd_on = enable;
    }
    return enable && io_uring_cq_ready(&u->ring) > 0;
}

static int file_channel_create(struct blk_bdev *b, struct kk_reactor *r, void **chctx)
{
    struct fdisk *d = blk_bdev_ctx(b);
    struct fchan *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->d = d;
    c->slot = -1;
    c->u = uring_get(r);
    if (!c->u) {
        free(c);
        return -ENOMEM;
    }
    if (c->u->fixed_ok) {
        pthread_mutex_lock(&rings_lock);
        for (int i = 0; i < FIXED_SLOTS; i++) {
            if (!c->u->slot_used[i]) {
                if (io_uring_register_files_update(&c->u->ring, (unsigned)i, &d->fd, 1) == 1) {
                    c->u->slot_used[i] = true;
                    c->slot = i;
                }
                break;
            }
        }
        pthread_mutex_unlock(&rings_lock);
    }
    *chctx = c;
    return 0;
}

static void file_channel_destroy(struct blk_bdev *b, void *chctx)
{
    (void)b;
    struct fchan *c = chctx;
    if (c->slot >= 0) {
        int none = -1;
        pthread_mutex_lock(&rings_lock);
        io_uring_register_files_update(&c->u->ring, (unsigned)c->slot, &none, 1);
        c->u->slot_used[c->slot] = false;
        pthread_mutex_unlock(&rings_lock);
    }
    uring_put(c->u);
    free(c);
}

static int file_resize(struct blk_bdev *b, uint64_t size)
{
    struct fdisk *d = blk_bdev_ctx(b);
    if (d->blockdev)
        return -ENOTSUP;
    if (ftruncate(d->fd, (off_t)size) < 0)
        return -errno;
    return 0;
}

static void file_to_json(const struct blk_bdev *b, json_t *obj)
{
    struct fdisk *d = blk_bdev_ctx(b);
    json_object_set_new(obj, "path", json_string(d->path));
    json_object_set_new(obj, "direct", json_boolean(d->direct));
    json_object_set_new(obj, "block_device", json_boolean(d->blockdev));
}

static void file_destroy(struct blk_bdev *b)
{
    struct fdisk *d = blk_bdev_ctx(b);
    close(d->fd);
    free(d->path);
    free(d);
}

static const struct blk_bdev_ops file_ops = {
    .channel_create = file_channel_create,
    .channel_destroy = file_channel_destroy,
    .submit = file_submit,
    .poll = file_poll,
    .arm = file_arm,
    .resize = file_resize,
    .to_json = file_to_json,
    .destroy = file_destroy,
};

static int file_create(const char *name, const json_t *params, char *err, size_t errlen,
                       struct blk_bdev **out)
{
    static const char *const keys[] = {"path", "direct", "create", "size", "block_size", NULL};
    const char *path = NULL;
    bool direct = false, create = false, ro = false;
    uint64_t size = 0, bs = 0;
    int rc = blk_params_check(params, "file", keys, err, errlen);
    if (rc == 0)
        rc = blk_param_str(params, "path", &path, err, errlen);
    if (rc == 0)
        rc = blk_param_bool(params, "direct", &direct, err, errlen);
    if (rc == 0)
        rc = blk_param_bool(params, "create", &create, err, errlen);
    if (rc == 0)
        rc = blk_param_bool(params, "read_only", &ro, err, errlen);
    if (rc == 0)
        rc = blk_param_size(params, "size", &size, err, errlen);
    if (rc == 0)
        rc = blk_param_u64(params, "block_size", &bs, err, errlen);
    if (rc < 0)
        return rc;
    if (!path || !*path) {
        snprintf(err, errlen, "file: parameter 'path' is required");
        return -EINVAL;
    }
    if (bs && (bs < 512 || bs > 65536 || (bs & (bs - 1)))) {
        snprintf(err, errlen, "file: block_size must be a power of two from 512 to 65536");
        return -EINVAL;
    }
    int flags = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0) |
                (create && !ro ? O_CREAT : 0);
    int fd = open(path, flags, 0644);
    if (fd < 0) {
        rc = -errno;
        if (direct && errno == EINVAL)
            snprintf(err, errlen, "file: %s: O_DIRECT is not supported there (use direct=false)",
                     path);
        else
            snprintf(err, errlen, "file: cannot open %s: %s", path, strerror(errno));
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    struct fdisk *d = calloc(1, sizeof(*d));
    if (!d) {
        close(fd);
        return -ENOMEM;
    }
    d->fd = fd;
    d->direct = direct;
    d->blockdev = S_ISBLK(st.st_mode);
    d->dio_align = 512;
    uint64_t cur = (uint64_t)st.st_size;
    uint32_t lbs = 512;
    if (d->blockdev) {
        int sz = 0;
        if (ioctl(fd, BLKGETSIZE64, &cur) < 0)
            cur = 0;
        if (ioctl(fd, BLKSSZGET, &sz) == 0 && sz >= 512)
            lbs = (uint32_t)sz;
        d->dio_align = lbs;
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "file: %s is neither a regular file nor a block device", path);
        rc = -EINVAL;
        goto fail;
    }
#ifdef STATX_DIOALIGN
    struct statx stx;
    if (direct && statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
        (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
        uint32_t a = stx.stx_dio_offset_align > stx.stx_dio_mem_align
                         ? stx.stx_dio_offset_align
                         : stx.stx_dio_mem_align;
        if (a > d->dio_align)
            d->dio_align = a;
    }
#endif
    if (!bs)
        bs = direct && d->dio_align > lbs ? d->dio_align : lbs;
    if (direct && bs < d->dio_align) {
        snprintf(err, errlen, "file: block_size %" PRIu64 " is below the direct I/O alignment %u",
                 bs, d->dio_align);
        rc = -EINVAL;
        goto fail;
    }
    if (size && size != cur) {
        if (d->blockdev || ro || size < cur) {
            snprintf(err, errlen,
                     "file: %s has %" PRIu64 " bytes; size=%" PRIu64 " can only grow a writable file",
                     path, cur, size);
            rc = -EINVAL;
            goto fail;
        }
        if (ftruncate(fd, (off_t)size) < 0) {
            rc = -errno;
            snprintf(err, errlen, "file: cannot grow %s: %s", path, strerror(errno));
            goto fail;
        }
        cur = size;
    }
    cur -= cur % bs;
    if (cur == 0) {
        snprintf(err, errlen, "file: %s is empty (give size= to create it)", path);
        rc = -EINVAL;
        goto fail;
    }
    d->path = strdup(path);
    struct blk_bdev *b = d->path ? blk_bdev_alloc(name, "file", &file_ops, d) : NULL;
    if (!b) {
        rc = -ENOMEM;
        goto fail;
    }
    struct blk_bdev_info *in = blk_bdev_info_mut(b);
    in->size = cur;
    in->block_size = (uint32_t)bs;
    in->read_only = ro;
    in->volatile_cache = true;
    in->can_unmap = true;
    in->can_write_zeroes = true;
    in->can_block_status = !d->blockdev;
    in->optimal_io = 4096 > bs ? 4096 : (uint32_t)bs;
    in->max_transfer = 32u << 20;
    *out = b;
    return 0;
fail:
    free(d->path);
    close(fd);
    free(d);
    return rc;
}

const struct blk_backend blk_backend_file = {
    .type = "file",
    .help = "path=FILE [direct=false] [create=false] [size=SIZE] [block_size=N]: file or block "
            "device through io_uring",
    .create = file_create,
};
