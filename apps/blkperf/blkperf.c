/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `kvmkit blkperf` — a block load generator: random or sequential reads,
 * writes or a mix, at a given block size and queue depth, from one or more
 * threads, for a time; reports IOPS, bandwidth, latency percentiles and
 * the CPU time it spent itself. The engines (blkperf.h) carry requests to
 * an in-process bdev, a vhost-user-blk target or an NBD server.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <jansson.h>

#include "blk.h"
#include "blkperf.h"

enum pattern { PAT_RAND, PAT_SEQ };

struct perf_opts {
    const struct perf_engine_ops *engine;
    const char *target;
    enum pattern pattern;
    unsigned read_pct;           /* 100: reads only, 0: writes only */
    uint32_t bs;
    uint32_t depth;
    unsigned threads;
    double seconds;
    uint64_t range;              /* bytes of the device to use (0: all) */
    bool json;
    bool verify;
};

struct worker {
    const struct perf_opts *o;
    unsigned index;
    pthread_t thread;
    int rc;
    uint64_t size;
    uint32_t block;
    uint64_t rng;
    uint64_t seq_next, seq_start, seq_end;
    uint64_t reads, writes, bytes, errors, verify_failures;
    struct blk_hist rlat, wlat;
    struct perf_req *reqs;
    bool stopping;
    uint32_t inflight;
    void *ctx;
    uint64_t deadline_ns;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

/* Verification: every 16 bytes written carry their own device offset and a
 * tag; a read checks each 16-byte cell holds its own offset (or is still
 * zero: never written). Cells are checked one by one, so a read that
 * overlaps a write in flight (torn between old and new) is not a failure,
 * but data from the wrong place or garbage is. */
static void fill_block(uint8_t *buf, uint32_t len, uint64_t off, uint64_t gen)
{
    for (uint32_t i = 0; i + 16 <= len; i += 16) {
        uint64_t a = off + i + 1, b = gen ^ (off * 31 + i);
        memcpy(buf + i, &a, 8);
        memcpy(buf + i + 8, &b, 8);
    }
}

static bool check_block(const uint8_t *buf, uint32_t len, uint64_t off)
{
    for (uint32_t i = 0; i + 16 <= len; i += 16) {
        uint64_t x, y;
        memcpy(&x, buf + i, 8);
        memcpy(&y, buf + i + 8, 8);
        if (x == 0 && y == 0)
            continue;
        if (x != off + i + 1)
            return false;
    }
    return true;
}

static void next_req(struct worker *w, struct perf_req *r)
{
    const struct perf_opts *o = w->o;
    uint64_t range = o->range && o->range < w->size ? o->range : w->size;
    uint64_t blocks = range / o->bs;
    if (o->pattern == PAT_RAND) {
        r->offset = (rnd(&w->rng) % blocks) * o->bs;
    } else {
        if (w->seq_next + o->bs > w->seq_end)
            w->seq_next = w->seq_start;
        r->offset = w->seq_next;
        w->seq_next += o->bs;
    }
    bool read = o->read_pct >= 100 ? true
                : o->read_pct == 0 ? false
                                   : rnd(&w->rng) % 100 < o->read_pct;
    r->op = read ? PERF_READ : PERF_WRITE;
    r->len = o->bs;
    if (!read && o->verify)
        fill_block(r->buf, r->len, r->offset, rnd(&w->rng) | 1);
}

static void submit(struct worker *w, struct perf_req *r)
{
    next_req(w, r);
    r->start_ns = now_ns();
    int rc = w->o->engine->submit(w->ctx, r);
    if (rc < 0) {
        w->errors++;
        w->stopping = true;
        fprintf(stderr, "blkperf: thread %u: submit: %s\n", w->index, strerror(-rc));
        return;
    }
    w->inflight++;
}

static void on_done(struct perf_req *r, int result, void *arg)
{
    struct worker *w = arg;
    uint64_t t = now_ns();
    w->inflight--;
    if (result < 0) {
        w->errors++;
        if (w->errors <= 5)
            fprintf(stderr, "blkperf: thread %u: %s at %" PRIu64 ": %s\n", w->index,
                    r->op == PERF_READ ? "read" : "write", r->offset, strerror(-result));
    } else if (r->op == PERF_READ) {
        w->reads++;
        w->bytes += r->len;
        blk_hist_add(&w->rlat, t - r->start_ns);
        if (w->o->verify && !check_block(r->buf, r->len, r->offset)) {
            w->verify_failures++;
            if (w->verify_failures <= 5)
                fprintf(stderr, "blkperf: thread %u: verify failed at %" PRIu64 "\n", w->index,
                        r->offset);
        }
    } else {
        w->writes++;
        w->bytes += r->len;
        blk_hist_add(&w->wlat, t - r->start_ns);
    }
    if (!w->stopping && t < w->deadline_ns)
        submit(w, r);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct perf_opts *o = w->o;
    w->rc = o->engine->open(o->target, w->index, o->depth, &w->ctx, &w->size, &w->block);
    if (w->rc < 0)
        return NULL;
    if (o->bs % w->block || o->bs > w->size) {
        fprintf(stderr, "blkperf: block size %u is not a multiple of the device's %u\n", o->bs,
                w->block);
        w->rc = -EINVAL;
        o->engine->close(w->ctx);
        return NULL;
    }
    uint64_t range = o->range && o->range < w->size ? o->range : w->size;
    uint64_t per = range / o->threads / o->bs * o->bs;
    w->seq_start = per * w->index;
    w->seq_end = per ? w->seq_start + per : range;
    w->seq_next = w->seq_start;
    w->reqs = calloc(o->depth, sizeof(*w->reqs));
    for (uint32_t i = 0; i < o->depth && w->reqs; i++) {
        w->reqs[i].index = i;
        w->reqs[i].buf = o->engine->alloc(w->ctx, o->bs);
        if (!w->reqs[i].buf) {
            w->rc = -ENOMEM;
            break;
        }
        for (uint32_t k = 0; k < o->bs; k += 8) {
            uint64_t v = rnd(&w->rng);
            memcpy((uint8_t *)w->reqs[i].buf + k, &v, o->bs - k < 8 ? o->bs - k : 8);
        }
    }
    if (!w->reqs || w->rc < 0) {
        w->rc = -ENOMEM;
        o->engine->close(w->ctx);
        free(w->reqs);
        return NULL;
    }
    w->deadline_ns = now_ns() + (uint64_t)(o->seconds * 1e9);
    for (uint32_t i = 0; i < o->depth && !w->stopping; i++)
        submit(w, &w->reqs[i]);
    if (o->engine->flush)
        o->engine->flush(w->ctx);
    while (w->inflight > 0) {
        int n = o->engine->poll(w->ctx, 100, on_done, w);
        if (n < 0) {
            fprintf(stderr, "blkperf: thread %u: %s\n", w->index, strerror(-n));
            w->rc = n;
            break;
        }
        if (o->engine->flush)
            o->engine->flush(w->ctx);
    }
    o->engine->close(w->ctx);
    free(w->reqs);
    return NULL;
}

void blkperf_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit blkperf TARGET [options]\n"
            "\n"
            "Drive block I/O at a target and measure it.\n"
            "\n"
            "Targets (one):\n"
            "  --bdev TYPE:KEY=VAL,...   a bdev in this process, e.g. malloc:size=1G,\n"
            "                            file:path=/dev/nvme0n1,direct=true\n"
            "  --vhost SOCKET            a vhost-user-blk target (kvmkit-blkd,\n"
            "                            qemu-storage-daemon, SPDK, ...)\n"
            "  --nbd URI                 an NBD server: nbd+unix:///EXPORT?socket=PATH or\n"
            "                            nbd://HOST[:PORT]/EXPORT\n"
            "\n"
            "Options:\n"
            "  -w, --rw MODE       randread (default), randwrite, randrw, read, write, rw\n"
            "  -M, --mix PCT       reads in randrw/rw, percent (default 70)\n"
            "  -b, --bs SIZE       block size (default 4K)\n"
            "  -q, --depth N       requests in flight per thread (default 32)\n"
            "  -j, --threads N     threads, each with its own queue/connection (default 1)\n"
            "  -t, --time SECS     run time (default 10)\n"
            "  -r, --range SIZE    use only the first SIZE bytes of the device\n"
            "      --verify        write self-describing blocks and check every read\n"
            "      --json          print the result as JSON\n"
            "  -h, --help          show this help\n"
            "\n"
            "Reports IOPS, MiB/s, latency (mean, p50, p99, p99.9, max) and the CPU\n"
            "seconds blkperf itself used per million I/Os.\n");
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -EINVAL;
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    case 't': case 'T': v <<= 40; end++; break;
    default: break;
    }
    if (*end == 'i')
        end++;
    if (*end == 'B')
        end++;
    if (*end)
        return -EINVAL;
    *out = v;
    return 0;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int blkperf_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"bdev", required_argument, NULL, 'B'}, {"vhost", required_argument, NULL, 'v'},
        {"nbd", required_argument, NULL, 'n'},  {"rw", required_argument, NULL, 'w'},
        {"mix", required_argument, NULL, 'M'},  {"bs", required_argument, NULL, 'b'},
        {"depth", required_argument, NULL, 'q'}, {"threads", required_argument, NULL, 'j'},
        {"time", required_argument, NULL, 't'}, {"range", required_argument, NULL, 'r'},
        {"verify", no_argument, NULL, 'V'},     {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    struct perf_opts o = {.pattern = PAT_RAND, .read_pct = 100, .bs = 4096, .depth = 32,
                          .threads = 1, .seconds = 10};
    const char *mode = "randread";
    unsigned mix = 70;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "w:M:b:q:j:t:r:h", opts, NULL)) != -1) {
        uint64_t v;
        char *end;
        switch (c) {
        case 'B': o.engine = &perf_engine_bdev; o.target = optarg; break;
        case 'v': o.engine = &perf_engine_vhost; o.target = optarg; break;
        case 'n': o.engine = &perf_engine_nbd; o.target = optarg; break;
        case 'w': mode = optarg; break;
        case 'M':
            mix = (unsigned)strtoul(optarg, &end, 10);
            if (*end || mix > 100)
                goto bad;
            break;
        case 'b':
            if (parse_size(optarg, &v) < 0 || v < 512 || v > (32u << 20) || v % 512)
                goto bad;
            o.bs = (uint32_t)v;
            break;
        case 'q':
            v = strtoull(optarg, &end, 10);
            if (*end || v < 1 || v > 1024)
                goto bad;
            o.depth = (uint32_t)v;
            break;
        case 'j':
            v = strtoull(optarg, &end, 10);
            if (*end || v < 1 || v > 64)
                goto bad;
            o.threads = (unsigned)v;
            break;
        case 't':
            o.seconds = strtod(optarg, &end);
            if (*end || o.seconds <= 0 || o.seconds > 86400)
                goto bad;
            break;
        case 'r':
            if (parse_size(optarg, &o.range) < 0)
                goto bad;
            break;
        case 'V': o.verify = true; break;
        case 'J': o.json = true; break;
        case 'h': blkperf_help(stdout); return 0;
        default: blkperf_help(stderr); return 2;
        }
        continue;
bad:
        fprintf(stderr, "kvmkit blkperf: bad value '%s' for -%c\n", optarg, c);
        return 2;
    }
    if (!o.engine || optind != argc) {
        fprintf(stderr, "kvmkit blkperf: give one target: --bdev, --vhost or --nbd\n");
        blkperf_help(stderr);
        return 2;
    }
    if (!strcmp(mode, "randread")) { o.read_pct = 100; }
    else if (!strcmp(mode, "randwrite")) { o.read_pct = 0; }
    else if (!strcmp(mode, "randrw")) { o.read_pct = mix; }
    else if (!strcmp(mode, "read")) { o.read_pct = 100; o.pattern = PAT_SEQ; }
    else if (!strcmp(mode, "write")) { o.read_pct = 0; o.pattern = PAT_SEQ; }
    else if (!strcmp(mode, "rw")) { o.read_pct = mix; o.pattern = PAT_SEQ; }
    else {
        fprintf(stderr, "kvmkit blkperf: unknown --rw mode '%s'\n", mode);
        return 2;
    }

    struct worker *w = calloc(o.threads, sizeof(*w));
    if (!w)
        return 1;
    double cpu0 = cpu_seconds();
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < o.threads; i++) {
        w[i].o = &o;
        w[i].index = i;
        w[i].rng = 0x9e3779b97f4a7c15ull * (i + 1) ^ (uint64_t)t0;
        if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
            fprintf(stderr, "kvmkit blkperf: cannot start thread %u\n", i);
            return 1;
        }
    }
    int rc = 0;
    struct blk_hist *rl = calloc(1, sizeof(*rl)), *wl = calloc(1, sizeof(*wl));
    uint64_t reads = 0, writes = 0, bytes = 0, errors = 0, vfail = 0;
    for (unsigned i = 0; i < o.threads; i++) {
        pthread_join(w[i].thread, NULL);
        if (w[i].rc < 0)
            rc = 1;
        reads += w[i].reads;
        writes += w[i].writes;
        bytes += w[i].bytes;
        errors += w[i].errors;
        vfail += w[i].verify_failures;
        blk_hist_merge(rl, &w[i].rlat);
        blk_hist_merge(wl, &w[i].wlat);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    double cpu = cpu_seconds() - cpu0;
    uint64_t ios = reads + writes;
    double iops = (double)ios / secs;
    double mibs = (double)bytes / secs / (1 << 20);
    double cpu_per_m = ios ? cpu / ((double)ios / 1e6) : 0;
    if (errors || vfail)
        rc = 1;
    if (o.json) {
        json_t *j = json_pack(
            "{s:s, s:s, s:s, s:i, s:i, s:i, s:f, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f}",
            "engine", o.engine->name, "target", o.target, "rw", mode, "bs", (int)o.bs, "depth",
            (int)o.depth, "threads", (int)o.threads, "seconds", secs, "reads", (json_int_t)reads,
            "writes", (json_int_t)writes, "errors", (json_int_t)errors, "verify_failures",
            (json_int_t)vfail, "iops", iops, "mib_s", mibs, "cpu_seconds", cpu,
            "cpu_s_per_mio", cpu_per_m);
        struct blk_hist *hs[2] = {rl, wl};
        const char *names[2] = {"read_latency_us", "write_latency_us"};
        for (int k = 0; k < 2; k++) {
            struct blk_hist *h = hs[k];
            if (!h->count)
                continue;
            json_object_set_new(
                j, names[k],
                json_pack("{s:f, s:f, s:f, s:f, s:f}", "mean", (double)h->sum_ns / h->count / 1e3,
                          "p50", blk_hist_percentile(h, 50) / 1e3, "p99",
                          blk_hist_percentile(h, 99) / 1e3, "p999",
                          blk_hist_percentile(h, 99.9) / 1e3, "max", h->max_ns / 1e3));
        }
        char *s = json_dumps(j, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
        json_decref(j);
    } else {
        printf("%s %s bs=%u depth=%u threads=%u: %.0f IOPS, %.1f MiB/s over %.1f s\n",
               o.engine->name, mode, o.bs, o.depth, o.threads, iops, mibs, secs);
        struct blk_hist *hs[2] = {rl, wl};
        const char *names[2] = {"read ", "write"};
        for (int k = 0; k < 2; k++) {
            struct blk_hist *h = hs[k];
            if (!h->count)
                continue;
            printf("  %s latency us: mean %.1f  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
                   names[k], (double)h->sum_ns / h->count / 1e3, blk_hist_percentile(h, 50) / 1e3,
                   blk_hist_percentile(h, 99) / 1e3, blk_hist_percentile(h, 99.9) / 1e3,
                   h->max_ns / 1e3);
        }
        printf("  blkperf CPU: %.2f s (%.2f s per million I/Os)\n", cpu, cpu_per_m);
        if (errors || vfail)
            printf("  errors: %" PRIu64 ", verify failures: %" PRIu64 "\n", errors, vfail);
    }
    free(rl);
    free(wl);
    free(w);
    return rc;
}
