/* SPDX-License-Identifier: Apache-2.0 */
/*
 * img_convert.c — `kvmkit img convert`: copy a (chain of) image(s) into a
 * new image of any format, skipping zeros, optionally compressing, with
 * worker threads taking chunks in turn (compression runs in parallel).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "img_cmd.h"
#include "kk_err.h"

struct convert {
    struct img *src, *dst;
    uint64_t size;
    size_t chunk;
    uint32_t cluster;
    bool compress;
    bool dst_zeroed;  /* the target reads as zeros where we do not write */
    bool top_only;    /* -B: copy only what the source's top layer allocates */
    bool progress;
    atomic_uint_fast64_t next;
    atomic_uint_fast64_t done;
    atomic_int error;
    pthread_mutex_t print_lock;
    int last_permille;
    char msg[512]; /* the first worker's error (errors are per thread) */
};

static bool is_zero(const uint8_t *p, size_t n)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        if (w[i / 8])
            return false;
    }
    for (; i < n; i++) {
        if (p[i])
            return false;
    }
    return true;
}

/* Write buf[0, len) at @off: zero clusters skipped (or zeroed), the rest
 * written in runs, or cluster by cluster when compressing. */
static int put_data(struct convert *cv, uint8_t *buf, uint64_t off, size_t len, bool zeroed)
{
    size_t cs = cv->cluster;
    size_t pos = 0;
    while (pos < len) {
        size_t n = KK_MIN(cs - (size_t)((off + pos) % cs), len - pos);
        bool zero = is_zero(buf + pos, n);
        size_t run = n;
        while (pos + run < len) {
            size_t m = KK_MIN(cs, len - pos - run);
            if (is_zero(buf + pos + run, m) != zero || (cv->compress && !zero))
                break;
            run += m;
        }
        if (cv->compress && !zero)
            run = n;
        int rc = 0;
        if (zero) {
            if (!zeroed)
                rc = img_write_zeroes(cv->dst, off + pos, run, IMG_ZERO_MAY_UNMAP);
        } else if (cv->compress && (off + pos) % cs == 0 &&
                   (run == cs || off + pos + run == cv->size)) {
            rc = img_write_compressed(cv->dst, buf + pos, run, off + pos);
        } else {
            rc = img_pwrite(cv->dst, buf + pos, run, off + pos);
        }
        if (rc < 0)
            return rc;
        pos += run;
    }
    return 0;
}

static int convert_chunk(struct convert *cv, uint8_t *buf, uint64_t off, size_t len)
{
    size_t pos = 0;
    if (cv->top_only) {
        /* -B: what the source's top layer does not allocate is left to the
         * new backing file; zeros it does allocate must hide that file. */
        while (pos < len) {
            struct img_status st;
            int rc = img_block_status(cv->src, off + pos, len - pos, &st);
            if (rc < 0)
                return rc;
            size_t n = (size_t)st.length;
            if ((st.flags & IMG_BS_ALLOCATED) && (st.flags & IMG_BS_ZERO)) {
                rc = img_write_zeroes(cv->dst, off + pos, n, 0);
            } else if (st.flags & IMG_BS_ALLOCATED) {
                rc = img_pread(cv->src, buf, n, off + pos);
                if (rc == 0)
                    rc = put_data(cv, buf, off + pos, n, false);
            }
            if (rc < 0)
                return rc;
            pos += n;
        }
        return 0;
    }
    /* Read data, zero-fill what reads as zeros, then write. */
    while (pos < len) {
        struct img_status st;
        int depth = 0;
        int rc = img_block_status_chain(cv->src, off + pos, len - pos, &st, &depth);
        if (rc < 0)
            return rc;
        size_t n = (size_t)st.length;
        if (st.flags & IMG_BS_ZERO || !(st.flags & IMG_BS_ALLOCATED)) {
            memset(buf + pos, 0, n);
        } else {
            rc = img_pread(cv->src, buf + pos, n, off + pos);
            if (rc < 0)
                return rc;
        }
        pos += n;
    }
    return put_data(cv, buf, off, len, cv->dst_zeroed);
}

static void report(struct convert *cv)
{
    if (!cv->progress)
        return;
    uint64_t done = atomic_load(&cv->done);
    int permille = cv->size ? (int)(done * 10000 / cv->size) : 10000;
    pthread_mutex_lock(&cv->print_lock);
    if (permille != cv->last_permille) {
        cv->last_permille = permille;
        printf("    (%d.%02d/100%%)\r", permille / 100, permille % 100);
        fflush(stdout);
    }
    pthread_mutex_unlock(&cv->print_lock);
}

static void *worker(void *arg)
{
    struct convert *cv = arg;
    uint8_t *buf = NULL;
    if (posix_memalign((void **)&buf, 4096, cv->chunk)) {
        atomic_store(&cv->error, -ENOMEM);
        return NULL;
    }
    for (;;) {
        if (atomic_load(&cv->error))
            break;
        uint64_t off = atomic_fetch_add(&cv->next, cv->chunk);
        if (off >= cv->size)
            break;
        size_t len = (size_t)KK_MIN((uint64_t)cv->chunk, cv->size - off);
        int rc = convert_chunk(cv, buf, off, len);
        if (rc < 0) {
            pthread_mutex_lock(&cv->print_lock);
            if (!cv->msg[0])
                snprintf(cv->msg, sizeof(cv->msg), "%s", *img_last_error() ? img_last_error() : kk_strerror(rc));
            pthread_mutex_unlock(&cv->print_lock);
            atomic_store(&cv->error, rc);
            break;
        }
        atomic_fetch_add(&cv->done, len);
        report(cv);
    }
    free(buf);
    return NULL;
}

int img_cmd_convert(int argc, char **argv)
{
    struct img_create_opts o = {.format = "raw"};
    const char *src_fmt = NULL, *src_cache = NULL, *dst_cache = NULL, *snapshot = NULL;
    char *copies[16] = {0};
    int ncopies = 0, c, status = 1, threads = 0;
    bool no_create = false;
    struct convert cv = {.last_permille = -1};
    optind = 1;
    while ((c = getopt(argc, argv, "+f:O:o:cB:F:pnm:t:T:qWUl:s:")) != -1) {
        switch (c) {
        case 'l': /* snapshot.name=N, snapshot.id=N or N */
            snapshot = optarg;
            if (!strncmp(optarg, "snapshot.name=", 14))
                snapshot = optarg + 14;
            else if (!strncmp(optarg, "snapshot.id=", 12))
                snapshot = optarg + 12;
            break;
        case 's':
            snapshot = optarg;
            break;
        case 'f': src_fmt = optarg; break;
        case 'O': o.format = optarg; break;
        case 'o':
            if (ncopies == 16 || img_cmd_parse_create_opts(optarg, &o, &copies[ncopies++]) < 0)
                goto out;
            break;
        case 'c': cv.compress = true; break;
        case 'B': o.backing_file = optarg; break;
        case 'F': o.backing_format = optarg; break;
        case 'p': cv.progress = true; break;
        case 'n': no_create = true; break;
        case 'm':
            threads = atoi(optarg);
            if (threads < 1 || threads > 64) {
                img_cmd_err("convert", "-m must be 1..64");
                status = 2;
                goto out;
            }
            break;
        case 't': dst_cache = optarg; break;
        case 'T': src_cache = optarg; break;
        case 'q': case 'W': case 'U': break;
        default:
            status = 2;
            goto out;
        }
    }
    if (optind + 2 != argc) {
        img_cmd_err("convert", "usage: convert [-f FMT] [-O FMT] [-o OPTIONS] [-c] [-B BACKING] [-p] SRC DST");
        status = 2;
        goto out;
    }
    const char *src_path = argv[optind], *dst_path = argv[optind + 1];
    unsigned src_flags = (src_cache && !strcmp(src_cache, "none")) ? IMG_O_DIRECT : 0;
    if (snapshot) {
        struct img_open_opts so = {.format = src_fmt, .flags = src_flags, .snapshot = snapshot};
        int rc = img_open(src_path, &so, &cv.src);
        if (rc < 0) {
            img_cmd_err("convert", "%s", *img_last_error() ? img_last_error() : kk_strerror(rc));
            goto out;
        }
    } else if (img_cmd_open(src_path, src_fmt, src_flags, &cv.src) < 0) {
        goto out;
    }
    cv.size = img_size(cv.src);
    if (cv.compress && strcmp(o.format, "qcow2")) {
        img_cmd_err("convert", "compression needs the qcow2 output format");
        goto out;
    }
    if (!no_create) {
        o.size = cv.size;
        int rc = img_create(dst_path, &o);
        if (rc < 0) {
            img_cmd_err("convert", "%s", *img_last_error() ? img_last_error() : kk_strerror(rc));
            goto out;
        }
    }
    /* With -B, partial clusters copy the rest from the new backing file. */
    /* Like qemu-img, the target is written with cache=unsafe unless -t says
     * otherwise: no flushes, so a crash of the machine (not of the process)
     * can lose the copy. */
    if (!dst_cache)
        dst_cache = "unsafe";
    if (strcmp(dst_cache, "unsafe") && strcmp(dst_cache, "writeback") && strcmp(dst_cache, "none") &&
        strcmp(dst_cache, "directsync") && strcmp(dst_cache, "writethrough")) {
        img_cmd_err("convert", "invalid cache mode '%s'", dst_cache);
        goto out;
    }
    unsigned dst_flags = IMG_O_RDWR | (o.backing_file ? 0 : IMG_O_NO_BACKING) |
                         (!strcmp(dst_cache, "none") || !strcmp(dst_cache, "directsync") ? IMG_O_DIRECT : 0) |
                         (!strcmp(dst_cache, "unsafe") ? IMG_O_UNSAFE : 0);
    if (img_cmd_open(dst_path, no_create ? o.format : o.format, dst_flags, &cv.dst) < 0)
        goto out;
    if (img_size(cv.dst) < cv.size) {
        img_cmd_err("convert", "the target is smaller than the source");
        goto out;
    }
    cv.cluster = img_cluster_size(cv.dst);
    cv.chunk = KK_MAX((size_t)2 << 20, (size_t)cv.cluster);
    cv.top_only = o.backing_file != NULL;
    cv.dst_zeroed = !no_create && !o.backing_file &&
                    (o.prealloc == IMG_PREALLOC_OFF || strcmp(o.format, "qcow2"));
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        /* One per CPU; a qcow2 target then holds runs of 2 MiB chunks in
         * the order the workers finished them, which costs nothing to read. */
        threads = (int)KK_MAX(1L, KK_MIN(n, 8L));
    }
    pthread_mutex_init(&cv.print_lock, NULL);
    pthread_t tid[64];
    int started = 0;
    report(&cv);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&tid[i], NULL, worker, &cv) != 0)
            break;
        started++;
    }
    if (!started)
        atomic_store(&cv.error, -EAGAIN);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    pthread_mutex_destroy(&cv.print_lock);
    int rc = atomic_load(&cv.error);
    if (rc == 0)
        rc = img_flush(cv.dst);
    if (cv.progress)
        printf("    (100.00/100%%)\n");
    if (rc < 0) {
        img_cmd_err("convert", "%s", cv.msg[0] ? cv.msg : *img_last_error() ? img_last_error() : kk_strerror(rc));
        goto out;
    }
    status = 0;
out:
    img_close(cv.dst);
    img_close(cv.src);
    for (int i = 0; i < ncopies; i++)
        free(copies[i]);
    return status;
}
