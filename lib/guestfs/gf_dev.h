/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gf_dev.h — lib/guestfs's read-only byte sources: a disk image (raw or
 * qcow2, with its backing chain, through lib/image), a memory buffer
 * (tests, fuzz targets), or a slice of another device (a partition).
 *
 * Everything lib/guestfs parses (partition tables, filesystems) reads
 * through gf_dev_pread(), which never reads outside the device: a read
 * that would pass its end fails with -EIO (a corrupt structure pointing
 * past the disk is an error, not a short read). Devices carry a name for
 * messages ("disk.qcow2", "disk.qcow2:p2") so that every error can say
 * which image and which partition it concerns.
 *
 * Small reads of an image (up to GF_DEV_CACHE_MAX bytes: superblocks,
 * inodes, directory and extent blocks, small files' data) are served from
 * a few cached GF_DEV_CACHE_WINDOW-byte aligned windows of the image, each
 * filled by one read: walking a directory of small files then costs one
 * image read per window instead of several per file. Larger reads go to
 * the image directly. The image is taken not to change while it is open
 * (a running VM's disk is read as a snapshot would be, with the caveat
 * that different windows may come from different moments, as with any
 * read-only inspection of a live disk). A window that cannot be read
 * whole (a bad qcow2 cluster next to the wanted bytes) is not cached: the
 * read is retried for the wanted bytes alone, so errors stay the ones the
 * bytes asked for would give.
 *
 * Threads: a device and its slices belong to one thread at a time (they
 * share their root's cache).
 */
#ifndef GF_DEV_H
#define GF_DEV_H

#include <stddef.h>
#include <stdint.h>

/* The read cache of image devices: window size and count, largest cached read. */
#define GF_DEV_CACHE_WINDOW (64u * 1024)
#define GF_DEV_CACHE_SLOTS 8
#define GF_DEV_CACHE_MAX (16u * 1024)

struct gf_dev;

/*
 * Open @path read-only (lib/image: @format "raw", "qcow2" or NULL to probe;
 * locks are not taken, like qemu-img -U, so a running VM's disk can be
 * inspected). Returns 0 and *out, or -errno with @err (may be NULL) saying
 * why ("disk.img: no such file", "disk.qcow2: unsupported feature ...").
 */
int gf_dev_open_image(const char *path, const char *format, struct gf_dev **out, char *err,
                      size_t errlen);

/* A device over @len bytes at @buf (not copied: must outlive the device). */
int gf_dev_from_memory(const void *buf, size_t len, const char *name, struct gf_dev **out);

/*
 * The @len bytes of @parent from @offset, named @name (e.g. "disk.img:p1").
 * -EINVAL when the range is not inside @parent. The slice keeps a
 * reference to @parent: close slices first or in any order (the parent is
 * freed with its last user).
 */
int gf_dev_slice(struct gf_dev *parent, uint64_t offset, uint64_t len, const char *name,
                 struct gf_dev **out);

/* Read @len bytes at @offset: 0, -EIO (past the end, or the image's read
 * failed), -EINVAL. */
int gf_dev_pread(struct gf_dev *d, void *buf, size_t len, uint64_t offset);

/* Reads of @d's root image so far: image reads issued (cache fills and
 * direct reads) and small reads served from the cache. For tests and
 * measurements; 0 for memory devices. */
struct gf_dev_stats {
    uint64_t image_reads;
    uint64_t cache_hits;
};
void gf_dev_get_stats(const struct gf_dev *d, struct gf_dev_stats *out);

uint64_t gf_dev_size(const struct gf_dev *d);
const char *gf_dev_name(const struct gf_dev *d);
/* The device's offset in the image it comes from (0 for a whole image). */
uint64_t gf_dev_offset(const struct gf_dev *d);

/* Release a device (and its parent when this was the last user). Accepts NULL. */
void gf_dev_close(struct gf_dev *d);

#endif
