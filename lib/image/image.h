/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image.h — disk images: raw and qcow2 (versions 2 and 3), with backing chains.
 *
 * An image is opened by file name, its format probed or given. Guest data is
 * read and written at any byte offset with iovecs (preadv/pwritev style);
 * the driver maps guest ranges to its file, allocates, copies on write from
 * the backing image and keeps its metadata ordered so that a process killed
 * at any moment leaves at most leaked clusters; qcow2 snapshot operations
 * build their complete new metadata in unused clusters and switch to it with
 * one header write (see docs/image.md).
 *
 * Files are locked the way QEMU locks them (open file description locks on
 * bytes 100+ and 200+ for the permissions taken and not shared), so an image
 * a running QEMU writes is refused (-EBUSY), and QEMU refuses one we write.
 *
 * Backing chains are opened automatically, any depth, any mix of formats;
 * a file that appears twice in a chain is refused (-ELOOP). Backing images
 * are opened read-only.
 *
 * Threads: an image may be used from several threads at once (reads and
 * writes to allocated clusters proceed in parallel; allocation, discards,
 * snapshots and checks are serialised inside the driver). Overlapping
 * concurrent writes give one of the written values per byte, as on a disk.
 * img_close() must not race with anything else on the image.
 *
 * Errors: every call returns 0 (or a count) or a negative errno, and logs
 * the reason on the "image" log component. Metadata that breaks the format's
 * rules is -EINVAL at open (or -EFBIG for sizes beyond our limits, -ENOTSUP
 * for features we refuse) and -EIO when met later by I/O (a writable qcow2
 * is then marked corrupt and takes no more writes), never a crash.
 * img_last_error() gives the last message for the calling thread, for tools
 * to print.
 */
#ifndef IMG_IMAGE_H
#define IMG_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct img;

/* Open flags. */
#define IMG_O_RDWR (1u << 0)       /* read-write (default read-only) */
#define IMG_O_DIRECT (1u << 1)     /* O_DIRECT for aligned data I/O (buffered otherwise) */
#define IMG_O_NO_BACKING (1u << 2) /* do not open the backing file */
#define IMG_O_NO_REPAIR (1u << 3)  /* for `check`: a dirty qcow2 is opened without
                                    * rebuilding its refcounts, and one marked corrupt
                                    * may be opened read-write (to be repaired) */
#define IMG_O_FORCE_SHARE (1u << 5) /* take no locks (qemu-img -U); read-only use */
#define IMG_O_UNSAFE (1u << 4)     /* flushes do nothing (qemu's cache=unsafe): the
                                    * metadata order still survives a killed process,
                                    * not a power loss */

/* Longest backing chain we follow. */
#define IMG_MAX_CHAIN 64

struct img_open_opts {
    const char *format;         /* "raw", "qcow2" or NULL to probe */
    unsigned flags;             /* IMG_O_* */
    const char *backing_format; /* override for the backing file's format (NULL: from image) */
    const char *snapshot;       /* read-only view of this internal snapshot (name or id) */
};

/*
 * Open @path. Returns 0 and *out, or -ENOENT/-EACCES (file), -EINVAL (bad
 * metadata, logged), -ENOTSUP (unknown incompatible feature, encryption),
 * -ELOOP (backing loop or chain deeper than IMG_MAX_CHAIN), -EBUSY (another
 * process holds a conflicting lock), -ENOMEM. The image and its backing
 * chain belong to the caller until img_close().
 */
int img_open(const char *path, const struct img_open_opts *opts, struct img **out);

/* Flush (when writable) and close an image and its backing chain. Accepts NULL. */
void img_close(struct img *img);

/* Probe the format of a file: "qcow2" or "raw", or NULL if unreadable. */
const char *img_probe(const char *path);

enum img_compression { IMG_COMPRESS_ZLIB = 0, IMG_COMPRESS_ZSTD = 1 };
enum img_prealloc { IMG_PREALLOC_OFF, IMG_PREALLOC_METADATA, IMG_PREALLOC_FALLOC,
                    IMG_PREALLOC_FULL };

struct img_create_opts {
    const char *format;          /* "raw" or "qcow2" */
    uint64_t size;               /* virtual size; 0 with a backing file: the backing's size */
    /* qcow2 only */
    int version;                 /* 2 or 3 (0: 3) */
    uint32_t cluster_size;       /* 512..2 MiB, power of two (0: 64 KiB) */
    int refcount_bits;           /* 1..64, power of two (0: 16) */
    bool extended_l2;            /* subclusters (cluster_size >= 16 KiB) */
    bool lazy_refcounts;         /* version 3 only */
    enum img_compression compression;
    const char *backing_file;    /* stored as given (relative to the image's directory) */
    const char *backing_format;  /* NULL: probed */
    enum img_prealloc prealloc;
    const char *data_file;       /* external data file (created; name stored as given) */
    bool data_file_raw;          /* the data file stays a valid raw image */
};

/* Create (or truncate) an image file. Returns 0, -EINVAL (bad option),
 * -EEXIST never (files are overwritten, as qemu-img does), -errno on I/O. */
int img_create(const char *path, const struct img_create_opts *opts);

/* Properties. */
uint64_t img_size(const struct img *img);
const char *img_format(const struct img *img);
const char *img_filename(const struct img *img);
struct img *img_backing(const struct img *img);
const char *img_backing_filename(const struct img *img); /* as stored, or NULL */
const char *img_backing_format(const struct img *img);   /* as stored, or NULL */
bool img_writable(const struct img *img);

/*
 * Data. Reads past the end are -EINVAL (no short reads); reads of unallocated
 * ranges come from the backing chain or are zeros. Returns 0 or -errno.
 */
int img_preadv(struct img *img, const struct iovec *iov, int iovcnt, uint64_t offset);
int img_pwritev(struct img *img, const struct iovec *iov, int iovcnt, uint64_t offset);
int img_pread(struct img *img, void *buf, size_t len, uint64_t offset);
int img_pwrite(struct img *img, const void *buf, size_t len, uint64_t offset);

/* Make every completed write durable (data and metadata). */
int img_flush(struct img *img);

/* Give back a range: afterwards it reads as zeros where the format can say
 * so (qcow2 v3, or no backing file), otherwise from the backing file. */
int img_discard(struct img *img, uint64_t offset, uint64_t len);

/* Deallocate whole clusters (subclusters) in a range so that it reads from
 * the backing file again (zeros without one); partial clusters are left as
 * they are. What `commit` does to the image it committed. */
int img_unmap(struct img *img, uint64_t offset, uint64_t len);

#define IMG_ZERO_MAY_UNMAP (1u << 0) /* whole clusters may be deallocated */
/* Make a range read as zeros, cheaply where the format allows. */
int img_write_zeroes(struct img *img, uint64_t offset, uint64_t len, unsigned flags);

/*
 * Write whole clusters compressed (qcow2; other formats write normally).
 * @offset and @len must be multiples of img_cluster_size(), except that the
 * last cluster of the image may be short. Data that does not shrink is
 * stored uncompressed.
 */
int img_write_compressed(struct img *img, const void *buf, size_t len, uint64_t offset);

/* Allocation unit: the cluster size of qcow2, 64 KiB for raw. */
uint32_t img_cluster_size(const struct img *img);

/* Block status of one extent starting at the requested offset. */
#define IMG_BS_DATA (1u << 0)       /* this layer holds data for the range */
#define IMG_BS_ZERO (1u << 1)       /* the range reads as zeros */
#define IMG_BS_ALLOCATED (1u << 2)  /* this layer decides the content (no fall-through) */
#define IMG_BS_COMPRESSED (1u << 3) /* stored compressed */
#define IMG_BS_OFFSET_VALID (1u << 4)

struct img_status {
    uint32_t flags;       /* IMG_BS_* */
    uint64_t length;      /* bytes from the requested offset with this status (> 0) */
    uint64_t host_offset; /* when IMG_BS_OFFSET_VALID: offset in the image file */
};

/*
 * Status of this layer only (not its backing file) for [offset, offset+len):
 * fills @st for the longest prefix with one status. A range without
 * IMG_BS_ALLOCATED reads from the backing file (or zeros if none).
 */
int img_block_status(struct img *img, uint64_t offset, uint64_t len, struct img_status *st);

/*
 * Status through the chain: the first layer (0 = this image) that
 * allocates the range, in *depth (== chain length when none does), and
 * that layer's status for the longest common prefix.
 */
int img_block_status_chain(struct img *img, uint64_t offset, uint64_t len,
                           struct img_status *st, int *depth);

/* Grow (or, for raw only, shrink) the virtual size. qcow2 refuses to shrink
 * (-ENOTSUP); its snapshots keep their own size. */
int img_resize(struct img *img, uint64_t size);

/* Rewrite the backing file reference (no data is copied: `rebase -u`).
 * @backing may be NULL to remove it. qcow2 only. */
int img_set_backing(struct img *img, const char *backing, const char *format);

/* Consistency check (qcow2; raw has nothing to check). */
#define IMG_CHECK_FIX_LEAKS (1u << 0)
#define IMG_CHECK_FIX_ERRORS (1u << 1)
struct img_check_result {
    uint64_t corruptions;       /* errors found (refcount too low, bad entries) */
    uint64_t leaks;             /* clusters with refcount > references */
    uint64_t corruptions_fixed;
    uint64_t leaks_fixed;
    uint64_t check_errors;      /* internal errors while checking (I/O) */
    uint64_t allocated_clusters;
    uint64_t total_clusters;    /* guest clusters */
    uint64_t fragmented_clusters;
    uint64_t compressed_clusters;
    uint64_t image_end_offset;
};
int img_check(struct img *img, unsigned fix, struct img_check_result *res);

/* Internal snapshots (qcow2). */
struct img_snapshot {
    char id[32];
    char name[256];
    uint64_t vm_state_size;
    uint64_t disk_size;
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount; /* (uint64_t)-1 when absent */
};
/* Returns the count and a malloc'd array in *out (free() it), or -errno. */
int img_snapshot_list(struct img *img, struct img_snapshot **out);
int img_snapshot_create(struct img *img, const char *name);
int img_snapshot_apply(struct img *img, const char *name_or_id);
int img_snapshot_delete(struct img *img, const char *name_or_id);

/* Format details for `info`. */
struct img_info {
    uint64_t virtual_size;
    uint64_t actual_size; /* bytes the file occupies on disk */
    uint32_t cluster_size;
    /* qcow2 */
    int version;
    int refcount_bits;
    bool lazy_refcounts;
    bool corrupt;
    bool dirty;
    bool extended_l2;
    bool has_bitmaps;
    enum img_compression compression;
    char data_file[1024];
    bool data_file_raw;
};
int img_get_info(struct img *img, struct img_info *info);

/* The message of the last failure in this thread ("" if none). */
const char *img_last_error(void);

#endif /* IMG_IMAGE_H */
