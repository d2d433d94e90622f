/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image.c — the generic layer: opening by name with probing, backing
 * chains (loop-checked), argument checks, and reads that fall through to
 * the backing chain.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_internal.h"

KK_LOG_COMPONENT(img_log, "image");

static const struct img_driver *const drivers[] = {&img__qcow2_driver, &img__raw_driver};

static __thread char last_error[512];

int img__error(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    KK_LOGW(img_log, "%s", last_error);
    return err;
}

const char *img_last_error(void)
{
    return last_error;
}

/* ---- iovec helpers ---------------------------------------------------- */

size_t img__iov_size(const struct iovec *iov, int iovcnt)
{
    size_t n = 0;
    for (int i = 0; i < iovcnt; i++)
        n += iov[i].iov_len;
    return n;
}

static void iov_copy(const struct iovec *iov, int iovcnt, size_t pos, void *buf, size_t len,
                     bool to_buf, int fill)
{
    uint8_t *b = buf;
    for (int i = 0; i < iovcnt && len; i++) {
        if (pos >= iov[i].iov_len) {
            pos -= iov[i].iov_len;
            continue;
        }
        size_t n = KK_MIN(iov[i].iov_len - pos, len);
        uint8_t *p = (uint8_t *)iov[i].iov_base + pos;
        if (fill >= 0)
            memset(p, fill, n);
        else if (to_buf)
            memcpy(b, p, n);
        else
            memcpy(p, b, n);
        if (b)
            b += n;
        len -= n;
        pos = 0;
    }
}

void img__iov_memset(const struct iovec *iov, int iovcnt, size_t pos, int c, size_t len)
{
    iov_copy(iov, iovcnt, pos, NULL, len, false, c & 0xff);
}

void img__iov_to_buf(const struct iovec *iov, int iovcnt, size_t pos, void *buf, size_t len)
{
    iov_copy(iov, iovcnt, pos, buf, len, true, -1);
}

void img__iov_from_buf(const struct iovec *iov, int iovcnt, size_t pos, const void *buf,
                       size_t len)
{
    iov_copy(iov, iovcnt, pos, (void *)(uintptr_t)buf, len, false, -1);
}

int img__iov_slice(const struct iovec *iov, int iovcnt, size_t pos, size_t len,
                   struct iovec *out, int max)
{
    int n = 0;
    for (int i = 0; i < iovcnt && len; i++) {
        if (pos >= iov[i].iov_len) {
            pos -= iov[i].iov_len;
            continue;
        }
        if (n == max)
            return -E2BIG;
        size_t take = KK_MIN(iov[i].iov_len - pos, len);
        out[n].iov_base = (uint8_t *)iov[i].iov_base + pos;
        out[n].iov_len = take;
        n++;
        len -= take;
        pos = 0;
    }
    return n;
}

/* ---- opening ------------------------------------------------------------ */

static const struct img_driver *driver_by_name(const char *name)
{
    for (size_t i = 0; i < KK_ARRAY_SIZE(drivers); i++) {
        if (strcmp(drivers[i]->name, name) == 0)
            return drivers[i];
    }
    return NULL;
}

static const struct img_driver *probe_fd(int fd)
{
    uint8_t buf[512];
    ssize_t n = pread(fd, buf, sizeof(buf), 0);
    if (n < 0)
        n = 0;
    const struct img_driver *best = &img__raw_driver;
    int best_score = 0;
    for (size_t i = 0; i < KK_ARRAY_SIZE(drivers); i++) {
        int s = drivers[i]->probe(buf, (size_t)n);
        if (s > best_score) {
            best_score = s;
            best = drivers[i];
        }
    }
    return best;
}

const char *img_probe(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    const struct img_driver *d = probe_fd(fd);
    close(fd);
    return d->name;
}

struct chain_id {
    dev_t dev;
    ino_t ino;
};

/* Resolve a backing file name relative to the directory of @image. */
static char *backing_path(const char *image, const char *backing)
{
    if (backing[0] == '/' || strchr(image, '/') == NULL)
        return strdup(backing);
    char *copy = strdup(image);
    if (!copy)
        return NULL;
    char *dir = dirname(copy);
    char *out = NULL;
    if (asprintf(&out, "%s/%s", dir, backing) < 0)
        out = NULL;
    free(copy);
    return out;
}

static int open_one(const char *path, const char *format, unsigned flags,
                    struct chain_id *ids, int depth, struct img **out);

/* The snapshot img_open() was asked for; applies to the top image only. */
static __thread const char *open_snapshot;

static int open_backing(struct img *img, unsigned flags, const char *fmt_override,
                        struct chain_id *ids, int depth)
{
    if (!img->backing_file)
        return 0;
    if (depth + 1 >= IMG_MAX_CHAIN)
        return img__error(-ELOOP, "%s: backing chain deeper than %d", img->filename,
                          IMG_MAX_CHAIN);
    char *path = backing_path(img->filename, img->backing_file);
    if (!path)
        return -ENOMEM;
    const char *fmt = fmt_override ? fmt_override : img->backing_format;
    unsigned bflags = (flags & ~(IMG_O_RDWR | IMG_O_NO_BACKING)) | IMG_O_NO_REPAIR;
    int rc = open_one(path, fmt, bflags, ids, depth + 1, &img->backing);
    if (rc < 0 && rc != -ELOOP)
        img__error(rc, "%s: cannot open backing file %s: %s", img->filename, path,
                   img_last_error());
    free(path);
    return rc;
}

static int open_one(const char *path, const char *format, unsigned flags,
                    struct chain_id *ids, int depth, struct img **out)
{
    struct img *img = calloc(1, sizeof(*img));
    if (!img)
        return -ENOMEM;
    img->filename = strdup(path);
    if (!img->filename) {
        free(img);
        return -ENOMEM;
    }
    img->flags = flags;
    int rc = img__file_open(&img->file, path, flags);
    if (rc < 0) {
        free(img->filename);
        free(img);
        return rc;
    }
    struct stat st;
    if (fstat(img->file.fd, &st) == 0) {
        for (int i = 0; i < depth; i++) {
            if (ids[i].dev == st.st_dev && ids[i].ino == st.st_ino) {
                img__file_close(&img->file);
                free(img->filename);
                free(img);
                return img__error(-ELOOP, "%s: backing chain loops back to this file", path);
            }
        }
        ids[depth].dev = st.st_dev;
        ids[depth].ino = st.st_ino;
    }
    if (format) {
        img->drv = driver_by_name(format);
        if (!img->drv) {
            img__file_close(&img->file);
            free(img->filename);
            free(img);
            return img__error(-EINVAL, "unknown image format '%s'", format);
        }
    } else {
        img->drv = probe_fd(img->file.fd);
    }
    img->open_snapshot = depth == 0 ? open_snapshot : NULL;
    if (img->open_snapshot && img->drv != &img__qcow2_driver)
        rc = img__error(-ENOTSUP, "%s: %s images have no internal snapshots", path, img->drv->name);
    else
        rc = img->drv->open(img, flags);
    img->open_snapshot = NULL;
    if (rc < 0) {
        img__file_close(&img->file);
        free(img->filename);
        free(img->backing_file);
        free(img->backing_format);
        free(img);
        return rc;
    }
    if (!(flags & IMG_O_NO_BACKING)) {
        rc = open_backing(img, flags, NULL, ids, depth);
        if (rc < 0) {
            img_close(img);
            return rc;
        }
    }
    *out = img;
    return 0;
}

int img_open(const char *path, const struct img_open_opts *opts, struct img **out)
{
    struct img_open_opts none = {0};
    if (!opts)
        opts = &none;
    if (!path || !out)
        return -EINVAL;
    struct chain_id ids[IMG_MAX_CHAIN];
    unsigned flags = opts->flags;
    if (opts->backing_format)
        flags |= IMG_O_NO_BACKING;
    if (opts->snapshot && (flags & IMG_O_RDWR))
        return img__error(-EINVAL, "%s: a snapshot can only be opened read-only", path);
    open_snapshot = opts->snapshot;
    struct img *img = NULL; /* set by open_one() on success; -O3 cannot tell */
    int rc = open_one(path, opts->format, flags, ids, 0, &img);
    open_snapshot = NULL;
    if (rc < 0)
        return rc;
    if (opts->backing_format && !(opts->flags & IMG_O_NO_BACKING)) {
        rc = open_backing(img, opts->flags, opts->backing_format, ids, 0);
        if (rc < 0) {
            img_close(img);
            return rc;
        }
    }
    *out = img;
    return 0;
}

void img_close(struct img *img)
{
    if (!img)
        return;
    img->drv->close(img);
    img_close(img->backing);
    img__file_close(&img->file);
    free(img->filename);
    free(img->backing_file);
    free(img->backing_format);
    free(img);
}

int img_create(const char *path, const struct img_create_opts *opts)
{
    if (!path || !opts || !opts->format)
        return img__error(-EINVAL, "create: a file name and a format are required");
    const struct img_driver *d = driver_by_name(opts->format);
    if (!d)
        return img__error(-EINVAL, "create: unknown format '%s'", opts->format);
    return d->create(path, opts);
}

/* ---- properties --------------------------------------------------------- */

uint64_t img_size(const struct img *img) { return img->size; }
const char *img_format(const struct img *img) { return img->drv->name; }
const char *img_filename(const struct img *img) { return img->filename; }
struct img *img_backing(const struct img *img) { return img->backing; }
const char *img_backing_filename(const struct img *img) { return img->backing_file; }
const char *img_backing_format(const struct img *img) { return img->backing_format; }
bool img_writable(const struct img *img) { return img->flags & IMG_O_RDWR; }

uint32_t img_cluster_size(const struct img *img)
{
    return img->drv->cluster_size ? img->drv->cluster_size(img) : 65536;
}

/* ---- data --------------------------------------------------------------- */

static int check_range(const struct img *img, uint64_t off, uint64_t len)
{
    if (off > img->size || len > img->size - off)
        return img__error(-EINVAL, "%s: range %" PRIu64 "+%" PRIu64 " beyond the end (%" PRIu64 ")",
                          img->filename, off, len, img->size);
    return 0;
}

static int check_write(const struct img *img, uint64_t off, uint64_t len)
{
    if (!(img->flags & IMG_O_RDWR))
        return -EBADF;
    return check_range(img, off, len);
}

int img_preadv(struct img *img, const struct iovec *iov, int iovcnt, uint64_t offset)
{
    if (iovcnt < 0 || (iovcnt && !iov))
        return -EINVAL;
    int rc = check_range(img, offset, img__iov_size(iov, iovcnt));
    if (rc < 0)
        return rc;
    return img->drv->preadv(img, iov, iovcnt, offset);
}

int img_pwritev(struct img *img, const struct iovec *iov, int iovcnt, uint64_t offset)
{
    if (iovcnt < 0 || (iovcnt && !iov))
        return -EINVAL;
    int rc = check_write(img, offset, img__iov_size(iov, iovcnt));
    if (rc < 0)
        return rc;
    return img->drv->pwritev(img, iov, iovcnt, offset);
}

int img_pread(struct img *img, void *buf, size_t len, uint64_t offset)
{
    struct iovec iov = {buf, len};
    return img_preadv(img, &iov, 1, offset);
}

int img_pwrite(struct img *img, const void *buf, size_t len, uint64_t offset)
{
    struct iovec iov = {(void *)(uintptr_t)buf, len};
    return img_pwritev(img, &iov, 1, offset);
}

int img_flush(struct img *img)
{
    if (!(img->flags & IMG_O_RDWR))
        return 0;
    return img->drv->flush(img);
}

int img_discard(struct img *img, uint64_t offset, uint64_t len)
{
    int rc = check_write(img, offset, len);
    if (rc < 0 || len == 0)
        return rc;
    return img->drv->discard(img, offset, len);
}

int img_unmap(struct img *img, uint64_t offset, uint64_t len)
{
    int rc = check_write(img, offset, len);
    if (rc < 0 || len == 0)
        return rc;
    if (!img->drv->unmap)
        return img->drv->discard(img, offset, len);
    return img->drv->unmap(img, offset, len);
}

int img_write_zeroes(struct img *img, uint64_t offset, uint64_t len, unsigned flags)
{
    int rc = check_write(img, offset, len);
    if (rc < 0 || len == 0)
        return rc;
    return img->drv->write_zeroes(img, offset, len, flags);
}

int img_write_compressed(struct img *img, const void *buf, size_t len, uint64_t offset)
{
    int rc = check_write(img, offset, len);
    if (rc < 0 || len == 0)
        return rc;
    if (!img->drv->write_compressed)
        return img_pwrite(img, buf, len, offset);
    return img->drv->write_compressed(img, buf, len, offset);
}

int img_block_status(struct img *img, uint64_t offset, uint64_t len, struct img_status *st)
{
    if (len == 0 || check_range(img, offset, len) < 0)
        return -EINVAL;
    memset(st, 0, sizeof(*st));
    return img->drv->block_status(img, offset, len, st);
}

int img_block_status_chain(struct img *img, uint64_t offset, uint64_t len,
                           struct img_status *st, int *depth)
{
    int d = 0;
    uint64_t limit = len;
    struct img_status last = {0};
    for (struct img *layer = img; layer; layer = layer->backing, d++) {
        if (offset >= layer->size) {
            /* Past the end of a shorter backing file: zeros. */
            *st = (struct img_status){.flags = IMG_BS_ZERO | IMG_BS_ALLOCATED, .length = limit};
            *depth = d;
            return 0;
        }
        int rc = img_block_status(layer, offset, KK_MIN(limit, layer->size - offset), st);
        if (rc < 0)
            return rc;
        limit = KK_MIN(limit, st->length);
        if (st->flags & IMG_BS_ALLOCATED) {
            st->length = limit;
            *depth = d;
            return 0;
        }
        last = *st;
    }
    /* Nothing allocates it: zeros; the last layer's host offset, if any, stays. */
    *st = (struct img_status){.flags = IMG_BS_ZERO | (last.flags & IMG_BS_OFFSET_VALID),
                              .length = limit, .host_offset = last.host_offset};
    *depth = d;
    return 0;
}

int img__read_backing(struct img *img, const struct iovec *iov, int iovcnt, size_t iov_pos,
                      uint64_t off, uint64_t len)
{
    struct img *b = img->backing;
    uint64_t from_backing = 0;
    if (b && off < b->size)
        from_backing = KK_MIN(len, b->size - off);
    if (from_backing) {
        struct iovec small[16];
        struct iovec *part = iovcnt <= 16 ? small : malloc(sizeof(*part) * (size_t)iovcnt);
        if (!part)
            return -ENOMEM;
        int n = img__iov_slice(iov, iovcnt, iov_pos, from_backing, part, iovcnt);
        int rc = n < 0 ? n : b->drv->preadv(b, part, n, off);
        if (part != small)
            free(part);
        if (rc < 0)
            return rc;
    }
    if (len > from_backing)
        img__iov_memset(iov, iovcnt, iov_pos + from_backing, 0, len - from_backing);
    return 0;
}

/* ---- everything else dispatches ---------------------------------------- */

int img_resize(struct img *img, uint64_t size)
{
    if (!(img->flags & IMG_O_RDWR))
        return -EBADF;
    return img->drv->resize(img, size);
}

int img_set_backing(struct img *img, const char *backing, const char *format)
{
    if (!(img->flags & IMG_O_RDWR))
        return -EBADF;
    if (!img->drv->set_backing)
        return img__error(-ENOTSUP, "%s: %s images have no backing file", img->filename,
                          img->drv->name);
    return img->drv->set_backing(img, backing, format);
}

int img_check(struct img *img, unsigned fix, struct img_check_result *res)
{
    memset(res, 0, sizeof(*res));
    if (fix && !(img->flags & IMG_O_RDWR))
        return -EBADF;
    if (!img->drv->check)
        return 0;
    return img->drv->check(img, fix, res);
}

#define SNAPSHOT_OP(op, ...)                                                           \
    do {                                                                               \
        if (!img->drv->snapshot_##op)                                                  \
            return img__error(-ENOTSUP, "%s: %s images have no internal snapshots",    \
                              img->filename, img->drv->name);                          \
        return img->drv->snapshot_##op(__VA_ARGS__);                                   \
    } while (0)

int img_snapshot_list(struct img *img, struct img_snapshot **out)
{
    if (!img->drv->snapshot_list) {
        *out = NULL;
        return 0;
    }
    return img->drv->snapshot_list(img, out);
}

int img_snapshot_create(struct img *img, const char *name)
{
    if (!(img->flags & IMG_O_RDWR))
        return -EBADF;
    SNAPSHOT_OP(create, img, name);
}

int img_snapshot_apply(struct img *img, const char *name)
{
    if (!(img->flags & IMG_O_RDWR))
        return -EBADF;
    SNAPSHOT_OP(apply, img, name);
}

int img_snapshot_delete(struct img *img, const char *name)
{
    if (!(img->flags & IMG_O_RDWR))
        return -EBADF;
    SNAPSHOT_OP(delete, img, name);
}

int img_get_info(struct img *img, struct img_info *info)
{
    memset(info, 0, sizeof(*info));
    info->virtual_size = img->size;
    info->cluster_size = img_cluster_size(img);
    struct stat st;
    if (fstat(img->file.fd, &st) == 0)
        info->actual_size = (uint64_t)st.st_blocks * 512;
    if (img->drv->get_info)
        return img->drv->get_info(img, info);
    return 0;
}
