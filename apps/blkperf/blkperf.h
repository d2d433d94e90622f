/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blkperf.h — `kvmkit blkperf`, a block load generator, and the engines
 * that carry its requests to a target:
 *
 *   bdev    a bdev created in-process (lib/blk), e.g. --bdev malloc:size=1G
 *   vhost   a vhost-user-blk target, driven through lib/virtio's frontend
 *           (the virtio-blk driver side), e.g. --vhost /run/blk.sock
 *   nbd     an NBD server, e.g. --nbd nbd+unix:///export?socket=/run/nbd.sock
 *
 * Each worker thread opens its own engine context (a bdev channel, a
 * virtqueue, an NBD connection) and keeps up to @depth requests in flight.
 * An engine completes requests from poll(), on the worker's thread.
 */
#ifndef KK_BLKPERF_H
#define KK_BLKPERF_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

enum perf_op { PERF_READ = 0, PERF_WRITE = 1, PERF_FLUSH = 2 };

struct perf_req {
    enum perf_op op;
    uint64_t offset;
    uint32_t len;
    void *buf;                 /* from the engine's alloc(), len bytes */
    uint64_t start_ns;         /* blkperf's */
    uint32_t index;            /* blkperf's */
    uint64_t priv[4];          /* the engine's scratch */
};

typedef void (*perf_done_fn)(struct perf_req *r, int result, void *arg);

struct perf_engine_ops {
    const char *name;
    /*
     * Open worker @thread's context on @target (the engine's target string)
     * for up to @depth requests in flight; report the device size and
     * logical block size. Errors: a negative errno, with a message printed
     * to stderr.
     */
    int (*open)(const char *target, unsigned thread, uint32_t depth, void **ctx,
                uint64_t *size, uint32_t *block_size);
    /* Memory for request buffers (the vhost engine's must be shared with the
     * target). Freed by close(). */
    void *(*alloc)(void *ctx, size_t size);
    /* Start @r; 0 or a negative errno (then @r is not in flight). */
    int (*submit)(void *ctx, struct perf_req *r);
    /* Send submitted requests the engine batched (may be NULL). */
    void (*flush)(void *ctx);
    /* Reap completions, calling @done for each; returns how many. May wait
     * up to @wait_us for the first when nothing is ready (0: never wait). */
    int (*poll)(void *ctx, uint32_t wait_us, perf_done_fn done, void *arg);
    void (*close)(void *ctx);
};

extern const struct perf_engine_ops perf_engine_bdev;
extern const struct perf_engine_ops perf_engine_vhost;
extern const struct perf_engine_ops perf_engine_nbd;

int blkperf_main(int argc, char **argv);
void blkperf_help(FILE *out);

#endif /* KK_BLKPERF_H */
