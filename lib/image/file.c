/* SPDX-License-Identifier: Apache-2.0 */
/*
 * file.c — the file under an image: whole transfers, optional O_DIRECT for
 * aligned requests, block devices as well as regular files.
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_internal.h"

/*
 * QEMU's image locking (block/file-posix.c's scheme, which the qemu-img and
 * QEMU we run beside use): for each permission bit P we take, a read lock
 * on byte 100 + P; for each one we refuse to share, on byte 200 + P.
 * Opening conflicts when someone refuses to share a permission we take, or
 * takes one we refuse to share. Permissions: consistent read (bit 0),
 * write (1), write-unchanged (2), resize (3).
 */
#define LOCK_PERM_BASE 100
#define LOCK_SHARED_BASE 200
#define PERM_CONSISTENT_READ 0x1u
#define PERM_WRITE 0x2u
#define PERM_WRITE_UNCHANGED 0x4u
#define PERM_RESIZE 0x8u
#define PERM_ALL 0xfu

static bool held_by_others(int fd, off_t byte)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
        return false;
    return fl.l_type != F_UNLCK;
}

static const char *const perm_names[] = {"consistent read", "write", "write unchanged", "resize"};

static int lock_image(struct img_file *f, unsigned flags)
{
    unsigned perm = PERM_CONSISTENT_READ, shared = PERM_CONSISTENT_READ | PERM_WRITE_UNCHANGED;
    if (flags & IMG_O_RDWR)
        perm |= PERM_WRITE | PERM_WRITE_UNCHANGED | PERM_RESIZE;
    for (unsigned b = 0; b < 4; b++) {
        if ((perm & (1u << b)) && held_by_others(f->fd, LOCK_SHARED_BASE + b))
            return img__error(-EBUSY, "%s: failed to get a \"%s\" lock: another process has the image open and does not share it (use -U to read anyway)",
                              f->path, perm_names[b]);
        if (!(shared & (1u << b)) && held_by_others(f->fd, LOCK_PERM_BASE + b))
            return img__error(-EBUSY, "%s: failed to get a shared \"%s\" lock: another process has the image open for %s (use -U to read anyway)",
                              f->path, perm_names[b], perm_names[b]);
    }
    for (unsigned b = 0; b < 4; b++) {
        off_t bytes[2] = {(perm & (1u << b)) ? (off_t)(LOCK_PERM_BASE + b) : -1,
                          !(shared & (1u << b)) ? (off_t)(LOCK_SHARED_BASE + b) : -1};
        for (int i = 0; i < 2; i++) {
            if (bytes[i] < 0)
                continue;
            struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = bytes[i],
                               .l_len = 1};
            if (fcntl(f->fd, F_OFD_SETLK, &fl) < 0 && errno != EINVAL && errno != ENOTSUP)
                return img__error(-EBUSY, "%s: cannot lock the image: %s", f->path,
                                  kk_strerror(-errno));
        }
    }
    return 0;
}

int img__file_open(struct img_file *f, const char *path, unsigned flags)
{
    int mode = (flags & IMG_O_RDWR) ? O_RDWR : O_RDONLY;
    f->fd = -1;
    f->direct_fd = -1;
    f->block_device = false;
    f->unsafe = flags & IMG_O_UNSAFE;
    f->path = strdup(path);
    if (!f->path)
        return -ENOMEM;
    f->fd = open(path, mode | O_CLOEXEC);
    if (f->fd < 0) {
        int rc = kk_neg_errno();
        free(f->path);
        f->path = NULL;
        return img__error(rc, "%s: cannot open: %s", path, kk_strerror(rc));
    }
    struct stat st;
    if (fstat(f->fd, &st) < 0) {
        int rc = kk_neg_errno();
        img__file_close(f);
        return rc;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        img__file_close(f);
        return img__error(-EINVAL, "%s: not a regular file or block device", path);
    }
    f->block_device = S_ISBLK(st.st_mode);
    /* Block devices keep old contents anywhere: nothing is known zero. */
    f->high_water = f->block_device ? UINT64_MAX : (uint64_t)st.st_size;
    if (!(flags & IMG_O_FORCE_SHARE)) {
        int rc = lock_image(f, flags);
        if (rc < 0) {
            img__file_close(f);
            return rc;
        }
    }
    if (flags & IMG_O_DIRECT) {
        f->direct_fd = open(path, mode | O_CLOEXEC | O_DIRECT);
        if (f->direct_fd < 0) {
            int rc = kk_neg_errno();
            img__file_close(f);
            return img__error(rc, "%s: O_DIRECT not supported here: %s", path, kk_strerror(rc));
        }
    }
    return 0;
}

void img__file_close(struct img_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->direct_fd >= 0)
        close(f->direct_fd);
    f->fd = f->direct_fd = -1;
    free(f->path);
    f->path = NULL;
}

static bool iov_aligned(const struct iovec *iov, int iovcnt, uint64_t off)
{
    if (off % IMG_DIRECT_ALIGN)
        return false;
    for (int i = 0; i < iovcnt; i++) {
        if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) % IMG_DIRECT_ALIGN)
            return false;
    }
    return true;
}

/* Advance an iovec copy past @n bytes. */
static void iov_advance(struct iovec **iov, int *iovcnt, size_t n)
{
    while (n && *iovcnt) {
        if (n >= (*iov)->iov_len) {
            n -= (*iov)->iov_len;
            (*iov)++;
            (*iovcnt)--;
        } else {
            (*iov)->iov_base = (char *)(*iov)->iov_base + n;
            (*iov)->iov_len -= n;
            n = 0;
        }
    }
    while (*iovcnt && (*iov)->iov_len == 0) {
        (*iov)++;
        (*iovcnt)--;
    }
}

static int transfer(struct img_file *f, const struct iovec *iov_in, int iovcnt, uint64_t off,
                    bool write)
{
    if (iovcnt <= 0)
        return 0;
    int fd = (f->direct_fd >= 0 && iov_aligned(iov_in, iovcnt, off)) ? f->direct_fd : f->fd;
    if (write) {
        /* Raise the high-water mark before the data lands. */
        uint64_t end = off + img__iov_size(iov_in, iovcnt);
        uint64_t cur = __atomic_load_n(&f->high_water, __ATOMIC_RELAXED);
        while (cur < end &&
               !__atomic_compare_exchange_n(&f->high_water, &cur, end, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED))
            ;
    }
    struct iovec small[16];
    struct iovec *copy = iovcnt <= 16 ? small : malloc(sizeof(*copy) * (size_t)iovcnt);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, iov_in, sizeof(*copy) * (size_t)iovcnt);
    struct iovec *iov = copy;
    int rc = 0;
    iov_advance(&iov, &iovcnt, 0);
    while (iovcnt > 0) {
        int n = iovcnt > 1024 ? 1024 : iovcnt;
        ssize_t r = write ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = kk_neg_errno();
            break;
        }
        if (r == 0) {
            if (write) {
                rc = -EIO;
                break;
            }
            /* End of file: the rest reads as zeros. */
            for (int i = 0; i < iovcnt; i++)
                memset(iov[i].iov_base, 0, iov[i].iov_len);
            break;
        }
        off += (uint64_t)r;
        iov_advance(&iov, &iovcnt, (size_t)r);
        /* A short transfer on the direct descriptor continues buffered. */
        fd = f->fd;
    }
    if (copy != small)
        free(copy);
    return rc;
}

int img__file_preadv(struct img_file *f, const struct iovec *iov, int iovcnt, uint64_t off)
{
    return transfer(f, iov, iovcnt, off, false);
}

int img__file_pwritev(struct img_file *f, const struct iovec *iov, int iovcnt, uint64_t off)
{
    return transfer(f, iov, iovcnt, off, true);
}

int img__file_pread(struct img_file *f, void *buf, size_t len, uint64_t off)
{
    struct iovec iov = {buf, len};
    return transfer(f, &iov, 1, off, false);
}

int img__file_pwrite(struct img_file *f, const void *buf, size_t len, uint64_t off)
{
    struct iovec iov = {(void *)(uintptr_t)buf, len};
    return transfer(f, &iov, 1, off, true);
}

int img__file_sync(struct img_file *f)
{
    if (f->unsafe)
        return 0;
    if (fdatasync(f->fd) < 0)
        return kk_neg_errno();
    return 0;
}

int img__file_size(struct img_file *f, uint64_t *size)
{
    if (f->block_device) {
        uint64_t s;
        if (ioctl(f->fd, BLKGETSIZE64, &s) < 0)
            return kk_neg_errno();
        *size = s;
        return 0;
    }
    struct stat st;
    if (fstat(f->fd, &st) < 0)
        return kk_neg_errno();
    *size = (uint64_t)st.st_size;
    return 0;
}

int img__file_punch(struct img_file *f, uint64_t off, uint64_t len)
{
    if (len == 0)
        return 0;
    if (f->block_device) {
        uint64_t range[2] = {off, len};
        return ioctl(f->fd, BLKDISCARD, range) < 0 ? kk_neg_errno() : 0;
    }
    if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
        return kk_neg_errno();
    return 0;
}

int img__file_truncate(struct img_file *f, uint64_t size)
{
    if (f->block_device) {
        uint64_t cur;
        int rc = img__file_size(f, &cur);
        if (rc < 0)
            return rc;
        return size <= cur ? 0 : -ENOSPC;
    }
    if (ftruncate(f->fd, (off_t)size) < 0)
        return kk_neg_errno();
    return 0;
}

void *img__alloc_aligned(size_t size)
{
    void *p = NULL;
    size_t rounded = (size + IMG_DIRECT_ALIGN - 1) / IMG_DIRECT_ALIGN * IMG_DIRECT_ALIGN;
    if (rounded == 0)
        rounded = IMG_DIRECT_ALIGN;
    if (posix_memalign(&p, IMG_DIRECT_ALIGN, rounded))
        return NULL;
    memset(p, 0, rounded);
    return p;
}
