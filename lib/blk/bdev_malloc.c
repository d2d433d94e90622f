/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bdev_malloc.c — a RAM disk. The memory is an anonymous mapping reserved
 * at creation and committed as it is written (MAP_NORESERVE), so a large
 * malloc bdev costs nothing until used. Unmap and write-zeroes give whole
 * pages back to the kernel (they read as zeroes afterwards) and clear the
 * partial pages at the edges. Requests complete at once (delivered on the
 * channel's next poll); contents are lost with the process.
 *
 * Parameters: size (required), block_size (512..65536, power of two;
 * default 512).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blk_backend.h"
#include "blk_internal.h"

/* Address space reserved so the disk can grow in place (channels on other
 * threads keep using the same address). Nothing is committed by it. */
#define RESERVE_MIN (64ull << 30)

struct mdisk {
    uint8_t *mem;
    uint64_t map_len;            /* accessible */
    uint64_t reserved;           /* mapped, PROT_NONE past map_len */
};

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

/* Zero [off, off + len): whole pages go back to the kernel. */
static void zero_range(struct mdisk *m, uint64_t off, uint64_t len)
{
    uint64_t ps = page_size();
    uint64_t a = (off + ps - 1) & ~(ps - 1);
    uint64_t e = (off + len) & ~(ps - 1);
    if (a < e && madvise(m->mem + a, e - a, MADV_DONTNEED) == 0) {
        memset(m->mem + off, 0, a - off);
        memset(m->mem + e, 0, off + len - e);
    } else {
        memset(m->mem + off, 0, len);
    }
}

static void malloc_submit(void *chctx, struct blk_io *io)
{
    struct mdisk *m = chctx;
    switch (io->op) {
    case BLK_OP_READ:
        blk_buf_to_iov(io->iov, io->iovcnt, 0, m->mem + io->offset, io->len);
        break;
    case BLK_OP_WRITE:
        blk_iov_to_buf(m->mem + io->offset, io->iov, io->iovcnt, 0, io->len);
        break;
    case BLK_OP_UNMAP:
        zero_range(m, io->offset, io->len);
        break;
    case BLK_OP_WRITE_ZEROES:
        if (io->flags & BLK_IO_NO_UNMAP)
            memset(m->mem + io->offset, 0, io->len);
        else
            zero_range(m, io->offset, io->len);
        break;
    case BLK_OP_FLUSH:
        break;
    default:
        blk_io_complete(io, -ENOTSUP);
        return;
    }
    blk_io_complete(io, 0);
}

static int malloc_channel_create(struct blk_bdev *b, struct kk_reactor *r, void **chctx)
{
    (void)r;
    *chctx = blk_bdev_ctx(b);
    return 0;
}

static int malloc_resize(struct blk_bdev *b, uint64_t size)
{
    struct mdisk *m = blk_bdev_ctx(b);
    uint64_t ps = page_size();
    uint64_t len = (size + ps - 1) & ~(ps - 1);
    uint64_t old = blk_bdev_info_mut(b)->size;
    if (len > m->map_len) {
        if (len > m->reserved ||
            mprotect(m->mem + m->map_len, len - m->map_len, PROT_READ | PROT_WRITE) < 0)
            return -ENOSPC;
        m->map_len = len;
    }
    if (size < old)
        zero_range(m, size, old - size); /* growing again reads zeroes */
    return 0;
}

static void malloc_to_json(const struct blk_bdev *b, json_t *obj)
{
    struct mdisk *m = blk_bdev_ctx(b);
    json_object_set_new(obj, "mapped_bytes", json_integer((json_int_t)m->map_len));
    json_object_set_new(obj, "max_size", json_integer((json_int_t)m->reserved));
}

static void malloc_destroy(struct blk_bdev *b)
{
    struct mdisk *m = blk_bdev_ctx(b);
    munmap(m->mem, m->reserved);
    free(m);
}

static const struct blk_bdev_ops malloc_ops = {
    .channel_create = malloc_channel_create,
    .submit = malloc_submit,
    .resize = malloc_resize,
    .to_json = malloc_to_json,
    .destroy = malloc_destroy,
};

/* Shared by malloc and null: size and block_size. */
int blk__size_params(const json_t *params, const char *type, uint64_t *size, uint32_t *bs,
                     bool need_size, char *err, size_t errlen)
{
    uint64_t s = 0, b = 512;
    int rc = blk_param_size(params, "size", &s, err, errlen);
    if (rc == 0)
        rc = blk_param_u64(params, "block_size", &b, err, errlen);
    if (rc < 0)
        return rc;
    if (b < 512 || b > 65536 || (b & (b - 1))) {
        snprintf(err, errlen, "%s: block_size must be a power of two from 512 to 65536", type);
        return -EINVAL;
    }
    if (need_size && (s == 0 || s % b)) {
        snprintf(err, errlen, "%s: size must be a non-zero multiple of the block size %" PRIu64,
                 type, b);
        return -EINVAL;
    }
    *size = s;
    *bs = (uint32_t)b;
    return 0;
}

static int malloc_create(const char *name, const json_t *params, char *err, size_t errlen,
                         struct blk_bdev **out)
{
    static const char *const keys[] = {"size", "block_size", NULL};
    uint64_t size;
    uint32_t bs;
    int rc = blk_params_check(params, "malloc", keys, err, errlen);
    if (rc == 0)
        rc = blk__size_params(params, "malloc", &size, &bs, true, err, errlen);
    if (rc < 0)
        return rc;
    struct mdisk *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    uint64_t ps = page_size();
    m->map_len = (size + ps - 1) & ~(ps - 1);
    m->reserved = m->map_len > RESERVE_MIN ? m->map_len : RESERVE_MIN;
    void *p = mmap(NULL, m->reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p != MAP_FAILED && mprotect(p, m->map_len, PROT_READ | PROT_WRITE) < 0) {
        munmap(p, m->reserved);
        p = MAP_FAILED;
    }
    if (p == MAP_FAILED) {
        rc = -errno;
        snprintf(err, errlen, "malloc: cannot map %" PRIu64 " bytes: %s", size, strerror(errno));
        free(m);
        return rc;
    }
    m->mem = p;
    struct blk_bdev *b = blk_bdev_alloc(name, "malloc", &malloc_ops, m);
    if (!b) {
        munmap(p, m->reserved);
        free(m);
        return -ENOMEM;
    }
    struct blk_bdev_info *in = blk_bdev_info_mut(b);
    in->size = size;
    in->block_size = bs;
    in->can_unmap = true;
    in->can_write_zeroes = true;
    *out = b;
    return 0;
}

const struct blk_backend blk_backend_malloc = {
    .type = "malloc",
    .help = "size=SIZE [block_size=512]: RAM disk (lost on exit)",
    .create = malloc_create,
};
