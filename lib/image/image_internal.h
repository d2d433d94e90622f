/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image_internal.h — what the generic layer (image.c) and the format
 * drivers (raw.c, qcow2*.c) share. Not installed.
 */
#ifndef IMG_IMAGE_INTERNAL_H
#define IMG_IMAGE_INTERNAL_H

#include <inttypes.h>
#include <stdarg.h>

#include "image.h"
#include "kk_common.h"
#include "kk_err.h"
#include "kk_log.h"

KK_LOG_COMPONENT_DECLARE(img_log);

/*
 * A file that holds image data: a buffered descriptor for everything and,
 * with IMG_O_DIRECT, an O_DIRECT one used when a request is aligned to
 * IMG_DIRECT_ALIGN in offset, length and memory.
 */
#define IMG_DIRECT_ALIGN 4096u

struct img_file {
    int fd;
    int direct_fd; /* -1 when not opened O_DIRECT */
    bool block_device;
    bool unsafe;         /* IMG_O_UNSAFE: no fdatasync */
    uint64_t high_water; /* no byte at or past this offset was ever written */
    char *path;
};

int img__file_open(struct img_file *f, const char *path, unsigned flags);
void img__file_close(struct img_file *f);
/* Whole transfers or -errno (-EIO on an unexpected end of file for writes;
 * reads past the end of the file give zeros). */
int img__file_preadv(struct img_file *f, const struct iovec *iov, int iovcnt, uint64_t off);
int img__file_pwritev(struct img_file *f, const struct iovec *iov, int iovcnt, uint64_t off);
int img__file_pread(struct img_file *f, void *buf, size_t len, uint64_t off);
int img__file_pwrite(struct img_file *f, const void *buf, size_t len, uint64_t off);
int img__file_sync(struct img_file *f);
/* Bytes at or past this offset read as zeros (never written, file end at open). */
static inline uint64_t img__file_high_water(struct img_file *f)
{
    return __atomic_load_n(&f->high_water, __ATOMIC_ACQUIRE);
}
int img__file_size(struct img_file *f, uint64_t *size);
/* Deallocate a range (punch a hole); failure is ignored by callers where
 * it only costs space. */
int img__file_punch(struct img_file *f, uint64_t off, uint64_t len);
int img__file_truncate(struct img_file *f, uint64_t size);

struct img_driver {
    const char *name;
    /* Score how well the first bytes match (0: not this format). */
    int (*probe)(const uint8_t *buf, size_t len);
    int (*open)(struct img *img, unsigned flags);
    void (*close)(struct img *img);
    int (*create)(const char *path, const struct img_create_opts *opts);
    /*
     * Reads fill only what this layer allocates; every range that falls
     * through to the backing file is reported with @backing_fn (guest
     * offset, length, position in the iovec) so the generic layer reads it
     * from the chain.
     */
    int (*preadv)(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off);
    int (*pwritev)(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off);
    int (*flush)(struct img *img);
    int (*discard)(struct img *img, uint64_t off, uint64_t len);
    int (*unmap)(struct img *img, uint64_t off, uint64_t len);
    int (*write_zeroes)(struct img *img, uint64_t off, uint64_t len, unsigned flags);
    int (*write_compressed)(struct img *img, const void *buf, size_t len, uint64_t off);
    int (*block_status)(struct img *img, uint64_t off, uint64_t len, struct img_status *st);
    int (*resize)(struct img *img, uint64_t size);
    int (*set_backing)(struct img *img, const char *backing, const char *format);
    int (*check)(struct img *img, unsigned fix, struct img_check_result *res);
    int (*snapshot_list)(struct img *img, struct img_snapshot **out);
    int (*snapshot_create)(struct img *img, const char *name);
    int (*snapshot_apply)(struct img *img, const char *name);
    int (*snapshot_delete)(struct img *img, const char *name);
    int (*get_info)(struct img *img, struct img_info *info);
    uint32_t (*cluster_size)(const struct img *img);
};

struct img {
    const struct img_driver *drv;
    void *priv;
    struct img_file file;
    char *filename;
    uint64_t size;
    unsigned flags;
    struct img *backing;
    char *backing_file;   /* as stored in the image */
    char *backing_format; /* as stored in the image */
    const char *open_snapshot; /* during open only: the snapshot to show, or NULL */
};

extern const struct img_driver img__raw_driver;
extern const struct img_driver img__qcow2_driver;

/* Record a failure for img_last_error() and log it; returns @err. */
int img__error(int err, const char *fmt, ...) KK_PRINTF(2, 3);

/*
 * Read guest data [off, off+len) that falls through this layer, into the
 * iovec at byte position @iov_pos: from the backing chain, zeros beyond its
 * end or when there is none.
 */
int img__read_backing(struct img *img, const struct iovec *iov, int iovcnt, size_t iov_pos,
                      uint64_t off, uint64_t len);

/* Zero @len bytes of an iovec starting at byte position @pos. */
void img__iov_memset(const struct iovec *iov, int iovcnt, size_t pos, int c, size_t len);
/* Copy between an iovec (at byte @pos) and a flat buffer. */
void img__iov_to_buf(const struct iovec *iov, int iovcnt, size_t pos, void *buf, size_t len);
void img__iov_from_buf(const struct iovec *iov, int iovcnt, size_t pos, const void *buf,
                       size_t len);
/*
 * Describe bytes [pos, pos+len) of @iov as a new iovec in @out (at most
 * @max entries). Returns the entry count, or -E2BIG when @max is too small.
 */
int img__iov_slice(const struct iovec *iov, int iovcnt, size_t pos, size_t len,
                   struct iovec *out, int max);
size_t img__iov_size(const struct iovec *iov, int iovcnt);

/* Memory aligned for O_DIRECT, zeroed. */
void *img__alloc_aligned(size_t size);

#endif /* IMG_IMAGE_INTERNAL_H */
