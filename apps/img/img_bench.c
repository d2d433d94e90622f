/* SPDX-License-Identifier: Apache-2.0 */
/*
 * img_bench.c — `kvmkit img bench`, with qemu-img bench's options and
 * request pattern: COUNT requests of SIZE bytes from OFFSET, each STEP
 * bytes after the previous one, wrapping to 0 at the end of the image,
 * DEPTH of them in flight (one thread per request in flight, each doing
 * blocking I/O through lib/image, which lets reads and in-place writes run
 * in parallel).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "img_cmd.h"
#include "kk_err.h"

struct bench {
    struct img *img;
    uint64_t count, size, step, offset, image_size, flush_interval;
    bool write;
    int pattern;
    pthread_mutex_t lock;
    atomic_uint_fast64_t issued;
    uint64_t first_pass; /* requests before the first wrap to offset 0 */
    uint64_t period;     /* requests in a pass that starts at 0 */
    int error;
    char msg[512]; /* the first worker's error (errors are per thread) */
};

static void *bench_worker(void *arg)
{
    struct bench *b = arg;
    void *buf = NULL;
    if (posix_memalign(&buf, 4096, b->size ? b->size : 1)) {
        pthread_mutex_lock(&b->lock);
        b->error = -ENOMEM;
        pthread_mutex_unlock(&b->lock);
        return NULL;
    }
    memset(buf, b->pattern, b->size);
    for (;;) {
        uint64_t n = atomic_fetch_add(&b->issued, 1);
        if (n >= b->count || __atomic_load_n(&b->error, __ATOMIC_RELAXED))
            break;
        /* qemu-img bench's sequence: OFFSET, +STEP each, back to 0 when a
         * request would pass the end; computed, so no lock is shared. */
        uint64_t off = n < b->first_pass ? b->offset + n * b->step
                                         : ((n - b->first_pass) % b->period) * b->step;
        int rc = b->write ? img_pwrite(b->img, buf, b->size, off) : img_pread(b->img, buf, b->size, off);
        if (rc == 0 && b->flush_interval && (n + 1) % b->flush_interval == 0)
            rc = img_flush(b->img);
        if (rc < 0) {
            pthread_mutex_lock(&b->lock);
            if (!b->msg[0])
                snprintf(b->msg, sizeof(b->msg), "%s", *img_last_error() ? img_last_error() : kk_strerror(rc));
            __atomic_store_n(&b->error, rc, __ATOMIC_RELAXED);
            pthread_mutex_unlock(&b->lock);
            break;
        }
    }
    free(buf);
    return NULL;
}

int img_cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"flush-interval", required_argument, NULL, 'I'},
        {"pattern", required_argument, NULL, 'P'},
        {"no-drain", no_argument, NULL, 'D'},
        {NULL, 0, NULL, 0},
    };
    struct bench b = {.count = 75000, .size = 4096, .step = 0};
    const char *fmt = NULL, *cache = "writeback";
    int depth = 64, c;
    bool quiet = false;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:d:f:no:qs:S:t:wi:U", opts, NULL)) != -1) {
        uint64_t v;
        switch (c) {
        case 'c':
        case 'd':
        case 'o':
        case 's':
        case 'S':
        case 'I':
            if (img_cmd_parse_size(optarg, &v) < 0) {
                img_cmd_err("bench", "invalid number '%s'", optarg);
                return 2;
            }
            if (c == 'c')
                b.count = v;
            else if (c == 'd')
                depth = (int)KK_MIN(v, (uint64_t)1024);
            else if (c == 'o')
                b.offset = v;
            else if (c == 's')
                b.size = v;
            else if (c == 'S')
                b.step = v;
            else
                b.flush_interval = v;
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'P':
            b.pattern = (int)strtol(optarg, NULL, 0);
            break;
        case 't':
            cache = optarg;
            break;
        case 'w':
            b.write = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'n':
        case 'i':
        case 'D':
        case 'U':
            break;
        default:
            return 2;
        }
    }
    if (optind + 1 != argc || depth < 1 || b.size == 0 || b.size > (64u << 20)) {
        img_cmd_err("bench", "usage: bench [-c COUNT] [-d DEPTH] [-f FMT] [-o OFFSET] [-s SIZE] [-S STEP] [-t CACHE] [-w] FILE");
        return 2;
    }
    if (!b.step)
        b.step = b.size;
    unsigned flags = (b.write ? IMG_O_RDWR : 0) | (!strcmp(cache, "none") ? IMG_O_DIRECT : 0);
    if (img_cmd_open(argv[optind], fmt, flags, &b.img) < 0)
        return 1;
    b.image_size = img_size(b.img);
    if (b.offset + b.size > b.image_size) {
        img_cmd_err("bench", "the requests do not fit in the image");
        img_close(b.img);
        return 1;
    }
    b.first_pass = (b.image_size - b.size - b.offset) / b.step + 1;
    b.period = (b.image_size - b.size) / b.step + 1;
    if (!quiet)
        printf("Sending %" PRIu64 " %s requests, %" PRIu64 " bytes each, %d in parallel "
               "(starting at offset %" PRIu64 ", step size %" PRIu64 ")\n",
               b.count, b.write ? "write" : "read", b.size, depth, b.offset, b.step);
    pthread_mutex_init(&b.lock, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t *tid = calloc((size_t)depth, sizeof(*tid));
    int started = 0;
    for (int i = 0; tid && i < depth; i++) {
        if (pthread_create(&tid[i], NULL, bench_worker, &b) != 0)
            break;
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    free(tid);
    int rc = started ? b.error : -EAGAIN;
    if (rc == 0 && b.write)
        rc = img_flush(b.img);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_destroy(&b.lock);
    img_close(b.img);
    if (rc < 0) {
        img_cmd_err("bench", "%s", b.msg[0] ? b.msg : kk_strerror(rc));
        return 1;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (!quiet)
        printf("Run completed in %.3f seconds.\n", secs);
    return 0;
}
