/* SPDX-License-Identifier: Apache-2.0 */
/*
 * raw.c — the raw format: guest offset == file offset. Holes (SEEK_HOLE)
 * are reported as zeros by block status; discards punch holes.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image_internal.h"

static int raw_probe(const uint8_t *buf, size_t len)
{
    (void)buf;
    (void)len;
    return 1; /* anything is a raw image, the weakest match */
}

static int raw_open(struct img *img, unsigned flags)
{
    (void)flags;
    return img__file_size(&img->file, &img->size);
}

static void raw_close(struct img *img)
{
    (void)img;
}

static int raw_create(const char *path, const struct img_create_opts *o)
{
    if (o->backing_file)
        return img__error(-EINVAL, "raw images cannot have a backing file");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return img__error(kk_neg_errno(), "%s: cannot create: %s", path, kk_strerror(-errno));
    int rc = 0;
    if (ftruncate(fd, (off_t)o->size) < 0)
        rc = kk_neg_errno();
    if (!rc && (o->prealloc == IMG_PREALLOC_FALLOC || o->prealloc == IMG_PREALLOC_FULL) &&
        o->size) {
        int e = posix_fallocate(fd, 0, (off_t)o->size);
        if (e)
            rc = -e;
    }
    if (!rc && fdatasync(fd) < 0)
        rc = kk_neg_errno();
    close(fd);
    if (rc < 0)
        return img__error(rc, "%s: cannot create: %s", path, kk_strerror(rc));
    return 0;
}

static int raw_preadv(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
    return img__file_preadv(&img->file, iov, iovcnt, off);
}

static int raw_pwritev(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
    return img__file_pwritev(&img->file, iov, iovcnt, off);
}

static int raw_flush(struct img *img)
{
    return img__file_sync(&img->file);
}

static int raw_discard(struct img *img, uint64_t off, uint64_t len)
{
    int rc = img__file_punch(&img->file, off, len);
    return rc == -EOPNOTSUPP ? 0 : rc;
}

static int raw_write_zeroes(struct img *img, uint64_t off, uint64_t len, unsigned flags)
{
    if (!img->file.block_device) {
        int mode = (flags & IMG_ZERO_MAY_UNMAP) ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
                                                : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
        if (fallocate(img->file.fd, mode, (off_t)off, (off_t)len) == 0)
            return 0;
    }
    /* Fall back to writing zeros. */
    size_t chunk = (size_t)KK_MIN(len, (uint64_t)1 << 20);
    void *z = img__alloc_aligned(chunk);
    if (!z)
        return -ENOMEM;
    int rc = 0;
    while (len && rc == 0) {
        size_t n = (size_t)KK_MIN(len, chunk);
        rc = img__file_pwrite(&img->file, z, n, off);
        off += n;
        len -= n;
    }
    free(z);
    return rc;
}

static int raw_block_status(struct img *img, uint64_t off, uint64_t len, struct img_status *st)
{
    st->flags = IMG_BS_ALLOCATED | IMG_BS_DATA | IMG_BS_OFFSET_VALID;
    st->length = len;
    st->host_offset = off;
    if (img->file.block_device)
        return 0;
    off_t data = lseek(img->file.fd, (off_t)off, SEEK_DATA);
    if (data < 0) {
        if (errno == ENXIO) { /* a hole up to the end of the file */
            st->flags = IMG_BS_ALLOCATED | IMG_BS_ZERO | IMG_BS_OFFSET_VALID;
        }
        return 0;
    }
    if ((uint64_t)data > off) {
        st->flags = IMG_BS_ALLOCATED | IMG_BS_ZERO | IMG_BS_OFFSET_VALID;
        st->length = KK_MIN(len, (uint64_t)data - off);
        return 0;
    }
    off_t hole = lseek(img->file.fd, (off_t)off, SEEK_HOLE);
    if (hole > (off_t)off)
        st->length = KK_MIN(len, (uint64_t)hole - off);
    return 0;
}

static int raw_resize(struct img *img, uint64_t size)
{
    int rc = img__file_truncate(&img->file, size);
    if (rc < 0)
        return img__error(rc, "%s: cannot resize: %s", img->filename, kk_strerror(rc));
    if (img->file.block_device)
        return img__file_size(&img->file, &img->size);
    img->size = size;
    return 0;
}

const struct img_driver img__raw_driver = {
    .name = "raw",
    .probe = raw_probe,
    .open = raw_open,
    .close = raw_close,
    .create = raw_create,
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .flush = raw_flush,
    .discard = raw_discard,
    .write_zeroes = raw_write_zeroes,
    .block_status = raw_block_status,
    .resize = raw_resize,
};
