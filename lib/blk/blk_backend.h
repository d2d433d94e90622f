/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk_backend.h — what a bdev backend implements (one file per backend:
 * bdev_malloc.c, bdev_null.c, bdev_file.c, bdev_image.c, bdev_error.c).
 *
 * A backend creates bdevs from JSON parameters and serves requests on
 * per-thread channel contexts. submit() starts one request and finishes it
 * with blk_io_complete() — at once, or later from poll(), a fd watch or a
 * message on the channel's reactor. The core checks ranges, alignment,
 * read-only and capability before submit(), so a backend sees only
 * requests it can serve. Requests on one channel arrive and must complete
 * on that channel's reactor thread.
 */
#ifndef KK_BLK_BACKEND_H
#define KK_BLK_BACKEND_H

#include "blk.h"

/* A request as the backend sees it. */
struct blk_io {
    enum blk_op op;
    unsigned flags;              /* BLK_IO_* */
    uint64_t offset;
    uint64_t len;                /* bytes (read/write: sum of iov) */
    const struct iovec *iov;     /* read/write */
    int iovcnt;
    struct blk_extent *ext;      /* block status: room for max_ext */
    uint32_t max_ext;
    void *chctx;                 /* the backend's channel context */
    uint64_t driver[6];          /* scratch for the backend */
    /* private to the core */
    struct blk_channel *ch;
    struct blk_io *next;
    blk_io_cb cb;
    void *cb_arg;
    uint64_t start_ns;
    int result;
};

/* Finish @io with 0, a negative errno, or (block status) the extent count.
 * On the channel's thread; may be called inside submit(). */
void blk_io_complete(struct blk_io *io, int result);

struct blk_bdev_ops {
    /* Per-channel state for a channel on reactor @r (called on @r's
     * thread). *chctx may stay NULL. */
    int (*channel_create)(struct blk_bdev *b, struct kk_reactor *r, void **chctx);
    void (*channel_destroy)(struct blk_bdev *b, void *chctx);
    void (*submit)(void *chctx, struct blk_io *io);
    /* Optional: reap completions; returns how many (> 0 means work). */
    int (*poll)(void *chctx);
    /* Optional: see kk_poller_arm_fn. Return true if completions are
     * already pending. A backend whose completions arrive by fd watch or
     * message needs none. */
    bool (*arm)(void *chctx, bool enable);
    /* Optional: new size (control plane). */
    int (*resize)(struct blk_bdev *b, uint64_t size);
    /* Optional: add backend details to @obj. */
    void (*to_json)(const struct blk_bdev *b, json_t *obj);
    /* Free the backend's state (no channels are open). */
    void (*destroy)(struct blk_bdev *b);
};

/*
 * Allocate a bdev for a backend's create function: info filled in by the
 * caller afterwards (block_size, size, flags), ops and ctx set. The name
 * and type are copied. Returns NULL on allocation failure.
 */
struct blk_bdev *blk_bdev_alloc(const char *name, const char *type,
                                const struct blk_bdev_ops *ops, void *ctx);
/* Free a bdev that was never registered (create failed after alloc). */
void blk_bdev_free_unregistered(struct blk_bdev *b);

/* Settable fields of a bdev under construction (and for resize). */
struct blk_bdev_info *blk_bdev_info_mut(struct blk_bdev *b);
void *blk_bdev_ctx(const struct blk_bdev *b);

struct blk_backend {
    const char *type;
    const char *help;            /* one line: parameters */
    /* Build a bdev named @name from @params (validated: unknown keys are an
     * error, written to @err). Returns 0 and *out (allocated with
     * blk_bdev_alloc, not yet registered). */
    int (*create)(const char *name, const json_t *params, char *err, size_t errlen,
                  struct blk_bdev **out);
};

extern const struct blk_backend blk_backend_malloc;
extern const struct blk_backend blk_backend_null;
extern const struct blk_backend blk_backend_file;
extern const struct blk_backend blk_backend_image;
extern const struct blk_backend blk_backend_error;

/* ---- helpers for backends ------------------------------------------------ */

/*
 * Check @params: every key must be in @allowed (NULL-terminated); on an
 * unknown key write "unknown parameter 'k' for TYPE (known: ...)" to @err
 * and return -EINVAL.
 */
int blk_params_check(const json_t *params, const char *type, const char *const *allowed,
                     char *err, size_t errlen);
/*
 * Read an optional size (a JSON integer, or a string with a K/M/G/T suffix,
 * powers of 1024) / boolean / string / integer parameter; leaves *out alone
 * when absent. -EINVAL with @err set when it has the wrong type.
 */
int blk_param_size(const json_t *params, const char *key, uint64_t *out, char *err, size_t errlen);
int blk_param_bool(const json_t *params, const char *key, bool *out, char *err, size_t errlen);
int blk_param_str(const json_t *params, const char *key, const char **out, char *err,
                  size_t errlen);
int blk_param_u64(const json_t *params, const char *key, uint64_t *out, char *err,
                  size_t errlen);

/* Copy @len bytes between a flat buffer and an iovec array, starting at
 * byte @skip of the iovecs. */
void blk_iov_to_buf(void *buf, const struct iovec *iov, int iovcnt, size_t skip, size_t len);
void blk_buf_to_iov(const struct iovec *iov, int iovcnt, size_t skip, const void *buf,
                    size_t len);
void blk_iov_zero(const struct iovec *iov, int iovcnt, size_t skip, size_t len);

#endif /* KK_BLK_BACKEND_H */
