/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk.h — block devices (bdevs): the storage kit's I/O layer.
 *
 * A bdev is a named array of bytes with a logical block size, served by a
 * backend (malloc, null, file, image, error; blk_backend.h). Targets
 * (vhost-user-blk, NBD) and tools (kvmkit blkperf) do I/O on it through
 * per-thread I/O channels:
 *
 *   - a channel belongs to one reactor thread; every request on it is
 *     submitted and completed on that thread, so nothing on the I/O path
 *     takes a lock;
 *   - submission never calls the completion callback: callbacks run later,
 *     from the channel's poller on the same thread (a backend that finishes
 *     at once, like malloc, is delivered on the next reactor turn);
 *   - a channel has a fixed depth of request slots; when all are in use a
 *     submission returns -ENOMEM and the caller parks a blk_io_wait, called
 *     when a slot frees (back-pressure without allocation on the data path);
 *   - every channel keeps statistics (operations, bytes, errors, latency
 *     histograms), summed per bdev by blk_bdev_get_stats() from any thread.
 *
 * Requests: offsets and lengths in bytes, multiples of the bdev's block
 * size; data as iovecs of any memory alignment and any split (the caller's
 * iovec array and buffers stay untouched and valid until the callback; a
 * vhost-user-blk target passes guest memory straight through). Operations:
 * read, write (optionally FUA: durable before it completes), flush, unmap
 * (discard: the range may read back as anything, usually zeroes), write
 * zeroes (may deallocate unless BLK_IO_NO_UNMAP) and block status (which
 * ranges are holes or read as zeroes, for NBD's base:allocation).
 *
 * Registry: bdevs have unique names (blk_bdev_create()); users take a
 * reference with blk_bdev_open() and drop it with blk_bdev_close();
 * blk_bdev_delete() refuses a bdev that is open. Registry calls take a
 * mutex and belong to the control plane, never to I/O paths.
 *
 * Errors: functions return 0 or a negative errno; callbacks get 0 or a
 * negative errno (-EIO from the device, -ENOSPC when a sparse backing store
 * is full, ...).
 */
#ifndef KK_BLK_H
#define KK_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <jansson.h>

#include "kk_reactor.h"

#define BLK_NAME_MAX 64

struct blk_bdev;
struct blk_channel;

enum blk_op {
    BLK_OP_READ = 0,
    BLK_OP_WRITE,
    BLK_OP_FLUSH,
    BLK_OP_UNMAP,
    BLK_OP_WRITE_ZEROES,
    BLK_OP_BLOCK_STATUS,
    BLK_OP_COUNT
};

/* Request flags. */
#define BLK_IO_FUA      0x1u /* write / write zeroes: durable when it completes */
#define BLK_IO_NO_UNMAP 0x2u /* write zeroes: keep the range allocated */

/* Block status extents (the same bits as NBD's base:allocation). */
#define BLK_EXTENT_HOLE 0x1u /* not allocated in this layer or below */
#define BLK_EXTENT_ZERO 0x2u /* reads as zeroes */

struct blk_extent {
    uint64_t len;
    uint32_t flags;
};

/*
 * What a bdev is. @size is a multiple of @block_size. The can_* flags say
 * which operations do something; a request for one that cannot gets
 * -ENOTSUP (except flush, which completes at once when there is no write
 * cache, and block status, which then reports all data).
 */
struct blk_bdev_info {
    const char *name;
    const char *type;          /* backend: "malloc", "file", ... */
    uint32_t block_size;       /* logical block: 512 or 4096 (1 for byte-addressed) */
    uint64_t size;             /* bytes */
    bool read_only;
    bool volatile_cache;       /* flush is needed for durability */
    bool can_unmap;
    bool can_write_zeroes;
    bool can_block_status;     /* reports holes/zeroes (else: all data) */
    uint32_t max_transfer;     /* bytes per read/write; 0: no limit */
    uint32_t max_unmap;        /* bytes per unmap/write-zeroes; 0: no limit */
    uint32_t optimal_io;       /* preferred I/O granularity in bytes; 0: block_size */
};

/* ---- registry (control plane) -------------------------------------------- */

/*
 * Create bdev @name of backend @type with @params (a JSON object; each
 * backend documents its keys and refuses unknown ones). On failure @err
 * (may be NULL) says why in one line. Returns 0 and *out (not opened: the
 * registry holds it), or -EEXIST (name taken), -EINVAL (bad name or
 * params), -ENOENT (no such backend or file), or the backend's errno.
 */
int blk_bdev_create(const char *name, const char *type, const json_t *params, char *err,
                    size_t errlen, struct blk_bdev **out);

/* Delete an unopened bdev. Returns 0, -ENOENT or -EBUSY (open). */
int blk_bdev_delete(const char *name);

/*
 * Take a reference to bdev @name (for writing too if @write). Returns 0 and
 * *out, -ENOENT, or -EROFS (@write on a read-only bdev).
 */
int blk_bdev_open(const char *name, bool write, struct blk_bdev **out);
void blk_bdev_close(struct blk_bdev *b);

/* Call @fn for every bdev in name order (under the registry lock: @fn must
 * not call registry functions). */
void blk_bdev_foreach(void (*fn)(struct blk_bdev *b, void *arg), void *arg);

void blk_bdev_get_info(const struct blk_bdev *b, struct blk_bdev_info *out);
const char *blk_bdev_name(const struct blk_bdev *b);

/* The type and parameters it was created with (for saving configuration). */
const json_t *blk_bdev_params(const struct blk_bdev *b);
const char *blk_bdev_type(const struct blk_bdev *b);

/* info + backend details as a JSON object (new reference). */
json_t *blk_bdev_to_json(const struct blk_bdev *b);

/*
 * Grow or shrink to @size bytes (a multiple of the block size) where the
 * backend can; listeners hear about it. Returns 0, -ENOTSUP, -EINVAL or the
 * backend's errno. Control plane; in-flight I/O beyond the new end fails.
 */
int blk_bdev_resize(struct blk_bdev *b, uint64_t size);

/* Events for listeners (targets), called on the thread that caused them. */
enum blk_event { BLK_EVENT_RESIZE = 1 };
struct blk_listener {
    void (*fn)(void *arg, struct blk_bdev *b, enum blk_event ev);
    void *arg;
    struct blk_listener *next; /* private */
};
void blk_bdev_add_listener(struct blk_bdev *b, struct blk_listener *l);
void blk_bdev_remove_listener(struct blk_bdev *b, struct blk_listener *l);

/* The backend types compiled in, NULL-terminated. */
const char *const *blk_backend_types(void);

/* ---- channels (one per thread per bdev) ---------------------------------- */

/*
 * Open an I/O channel on reactor @r with @depth request slots (0: 128).
 * Call on @r's thread (or before @r runs). Returns 0 and *out, -ENOMEM, or
 * the backend's errno.
 */
int blk_channel_open(struct blk_bdev *b, struct kk_reactor *r, uint32_t depth,
                     struct blk_channel **out);

/*
 * Close a channel with nothing in flight (-EBUSY otherwise: finish or wait
 * for the callbacks first). Its statistics stay in the bdev's totals. May
 * be called from one of the channel's own callbacks (the last one).
 */
int blk_channel_close(struct blk_channel *ch);

struct blk_bdev *blk_channel_bdev(const struct blk_channel *ch);
uint32_t blk_channel_inflight(const struct blk_channel *ch);
uint32_t blk_channel_depth(const struct blk_channel *ch);

/* Completion: @result is 0 or a negative errno (block status: the number of
 * extents written, > 0, or a negative errno). */
typedef void (*blk_io_cb)(void *arg, int result);

/*
 * Submit. All return 0 (the callback will run exactly once, later, on this
 * thread), or without calling it: -ENOMEM (no free slot: wait with
 * blk_io_wait()), -EINVAL (misaligned, past the end, or too many iovecs),
 * -EROFS (write on a read-only bdev or channel), -ENOTSUP (the backend
 * cannot), -EFBIG (longer than max_transfer). Read/write length is the sum
 * of the iovecs (at most BLK_MAX_IOV of them).
 */
#define BLK_MAX_IOV 1024
int blk_read(struct blk_channel *ch, uint64_t offset, const struct iovec *iov, int iovcnt,
             blk_io_cb cb, void *arg);
int blk_write(struct blk_channel *ch, uint64_t offset, const struct iovec *iov, int iovcnt,
              unsigned flags, blk_io_cb cb, void *arg);
int blk_flush(struct blk_channel *ch, blk_io_cb cb, void *arg);
int blk_unmap(struct blk_channel *ch, uint64_t offset, uint64_t len, blk_io_cb cb, void *arg);
int blk_write_zeroes(struct blk_channel *ch, uint64_t offset, uint64_t len, unsigned flags,
                     blk_io_cb cb, void *arg);
/* Describe [offset, offset + len) in up to @max extents (the first covers
 * @offset; together they may stop short of @len). */
int blk_block_status(struct blk_channel *ch, uint64_t offset, uint64_t len,
                     struct blk_extent *ext, uint32_t max, blk_io_cb cb, void *arg);

/* Back-pressure: after -ENOMEM, park @w; @w->fn(@w->arg) runs once on the
 * channel's thread when a slot frees. @w stays owned by the caller. */
struct blk_io_wait {
    void (*fn)(void *arg);
    void *arg;
    struct blk_io_wait *next; /* private */
};
void blk_io_wait(struct blk_channel *ch, struct blk_io_wait *w);
/* Take back a parked wait that has not run. */
void blk_io_wait_cancel(struct blk_channel *ch, struct blk_io_wait *w);

/* ---- statistics ---------------------------------------------------------- */

/*
 * Latency histogram: log-linear buckets (16 per power of two) of
 * nanoseconds, so percentiles are within about 6%. Shared with blkperf.
 */
#define BLK_HIST_BUCKETS (16 * 40)
struct blk_hist {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t max_ns;
    uint64_t bucket[BLK_HIST_BUCKETS];
};
void blk_hist_add(struct blk_hist *h, uint64_t ns);
void blk_hist_merge(struct blk_hist *into, const struct blk_hist *h);
/* The value below which @pct percent (0..100) of samples fall, in ns. */
uint64_t blk_hist_percentile(const struct blk_hist *h, double pct);

struct blk_stats {
    uint64_t ops[BLK_OP_COUNT];
    uint64_t bytes[BLK_OP_COUNT];  /* read / write / unmap / write-zeroes */
    uint64_t errors;               /* completions with an error */
    uint64_t nomem;                /* submissions refused for lack of a slot */
    uint32_t inflight;             /* now */
    uint32_t channels;             /* open now */
    struct blk_hist read_lat;      /* submit to completion, reads */
    struct blk_hist write_lat;     /* writes (and write zeroes) */
};

/* Sum of the bdev's channels, open and closed. Any thread. */
void blk_bdev_get_stats(struct blk_bdev *b, struct blk_stats *out);

/* Stats as JSON: counters, and latency mean/p50/p99/p999/max per class. */
json_t *blk_stats_to_json(const struct blk_stats *s);

#endif /* KK_BLK_H */
