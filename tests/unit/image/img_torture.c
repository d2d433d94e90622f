/* SPDX-License-Identifier: Apache-2.0 */
/*
 * img_torture — drives lib/image with random operations for the
 * integration tests (tests/integration/img_qemu_test.sh), which then judge
 * the result with qemu-img.
 *
 *   img_torture mirror IMAGE REF SEED COUNT [OPS]
 *       Random writes, overwrites, zero writes, discards (whole clusters),
 *       compressed writes and snapshots on IMAGE; the same effect is applied
 *       to the raw file REF (which must exist, with the image's contents).
 *       OPS is a string of letters enabling operations: w (write, always),
 *       z (write zeroes), d (discard), c (compressed), s (snapshot: REF is
 *       copied to REF.<name> when snapshot <name> is taken). Exit 0 on
 *       success.
 *
 *   img_torture crash IMAGE SEED
 *       Endless writes, each to its own slot (slot i: 3 clusters at
 *       i * 4 clusters, pattern i & 0xff, compressed when i % 5 == 0, zeros
 *       when i % 7 == 0), a flush after every few; after each completed flush
 *       it prints "flushed N" (slots 0..N-1 are durable). Meant to be killed.
 *
 *   img_torture verify IMAGE N
 *       Checks slots 0..N-1 hold what `crash` wrote.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"

static uint64_t rng;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * UINT64_C(2685821657736338717);
}

static int die(const char *what, int rc)
{
    fprintf(stderr, "img_torture: %s failed: %d (%s)\n", what, rc, img_last_error());
    return 1;
}

static int ref_write(int fd, const void *buf, size_t len, uint64_t off)
{
    return pwrite(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static int copy_file(const char *from, const char *to)
{
    char *cmd;
    if (asprintf(&cmd, "cp --sparse=always '%s' '%s'", from, to) < 0)
        return -1;
    int rc = system(cmd) == 0 ? 0 : -1;
    free(cmd);
    return rc;
}

static int mirror(const char *path, const char *ref, uint64_t seed, uint64_t count, const char *ops)
{
    rng = seed * 0x9e3779b97f4a7c15ull + 1;
    struct img *img;
    struct img_open_opts o = {.flags = IMG_O_RDWR};
    int rc = img_open(path, &o, &img);
    if (rc < 0)
        return die("open", rc);
    int fd = open(ref, O_RDWR);
    if (fd < 0) {
        perror(ref);
        return 1;
    }
    uint64_t size = img_size(img), cs = img_cluster_size(img);
    size_t maxlen = (size_t)(3 * cs > 65536 ? 3 * cs : 65536);
    uint8_t *buf = malloc(maxlen), *zero = calloc(1, maxlen);
    int snaps = 0;
    for (uint64_t i = 0; i < count; i++) {
        unsigned op = (unsigned)(rnd() % 10);
        char kind = op < 5 ? 'w' : op == 5 ? 'z' : op == 6 ? 'd' : op == 7 ? 'c' : op == 8 ? 's' : 'w';
        if (!strchr(ops, kind))
            kind = 'w';
        if (kind == 's' && rnd() % 4)
            kind = 'w';
        if (kind == 'w' || kind == 'z') {
            uint64_t len = 1 + rnd() % maxlen;
            if (rnd() % 3 == 0)
                len = (len + 4095) & ~4095ull;
            if (len > size)
                len = size;
            uint64_t off = rnd() % (size - len + 1);
            if (rnd() % 3 == 0)
                off &= ~511ull;
            if (kind == 'w') {
                uint8_t p = (uint8_t)rnd();
                for (uint64_t j = 0; j < len; j++)
                    buf[j] = (uint8_t)(p + (j / 512) * 7 + (j & 3));
                rc = img_pwrite(img, buf, len, off);
                if (rc < 0)
                    return die("write", rc);
                ref_write(fd, buf, len, off);
            } else {
                rc = img_write_zeroes(img, off, len, (rnd() & 1) ? IMG_ZERO_MAY_UNMAP : 0);
                if (rc < 0)
                    return die("write_zeroes", rc);
                ref_write(fd, zero, len, off);
            }
        } else if (kind == 'd') {
            uint64_t n = 1 + rnd() % 3;
            uint64_t clusters = size / cs;
            if (clusters < n)
                continue;
            uint64_t off = (rnd() % (clusters - n + 1)) * cs;
            rc = img_discard(img, off, n * cs);
            if (rc < 0)
                return die("discard", rc);
            ref_write(fd, zero, n * cs, off);
        } else if (kind == 'c') {
            uint64_t clusters = size / cs;
            if (clusters < 1 || cs > maxlen)
                continue;
            uint64_t off = (rnd() % clusters) * cs;
            uint8_t p = (uint8_t)rnd();
            for (uint64_t j = 0; j < cs; j++)
                buf[j] = (uint8_t)(p + (j / 1024));
            rc = img_write_compressed(img, buf, cs, off);
            if (rc < 0)
                return die("write_compressed", rc);
            ref_write(fd, buf, cs, off);
        } else if (kind == 's') {
            char name[32], copy[8192];
            snprintf(name, sizeof(name), "s%d", snaps++);
            rc = img_snapshot_create(img, name);
            if (rc < 0)
                return die("snapshot", rc);
            snprintf(copy, sizeof(copy), "%s.%s", ref, name);
            fsync(fd);
            if (copy_file(ref, copy) < 0)
                return die("copy", -1);
        }
        if (rnd() % 16 == 0 && (rc = img_flush(img)) < 0)
            return die("flush", rc);
    }
    img_close(img);
    close(fd);
    free(buf);
    free(zero);
    return 0;
}

static void slot_pattern(uint64_t i, uint8_t *buf, size_t len)
{
    if (i % 7 == 0) {
        memset(buf, 0, len);
        return;
    }
    for (size_t j = 0; j < len; j++)
        buf[j] = (uint8_t)(i + j / 4096);
}

static int crash(const char *path, uint64_t seed)
{
    rng = seed * 0x9e3779b97f4a7c15ull + 1;
    struct img *img;
    struct img_open_opts o = {.flags = IMG_O_RDWR};
    int rc = img_open(path, &o, &img);
    if (rc < 0)
        return die("open", rc);
    uint64_t cs = img_cluster_size(img), slots = img_size(img) / (4 * cs);
    uint8_t *buf = malloc(3 * cs);
    setvbuf(stdout, NULL, _IONBF, 0);
    for (uint64_t i = 0;; i++) {
        if (i == slots) { /* start over: same contents, fresh allocations */
            printf("flushed 0\n");
            rc = img_discard(img, 0, slots * 4 * cs);
            if (rc < 0)
                return die("discard", rc);
            i = 0;
            rc = img_flush(img);
            if (rc < 0)
                return die("flush", rc);
        }
        slot_pattern(i, buf, 3 * cs);
        uint64_t off = i * 4 * cs;
        if (i % 7 == 0)
            rc = img_write_zeroes(img, off, 3 * cs, 0);
        else if (i % 5 == 0)
            rc = img_write_compressed(img, buf, 3 * cs, off);
        else
            rc = img_pwrite(img, buf, 3 * cs, off + 0); /* COW when overwriting */
        if (rc < 0)
            return die("write", rc);
        if (rnd() % 4 == 0) {
            rc = img_flush(img);
            if (rc < 0)
                return die("flush", rc);
            printf("flushed %" PRIu64 "\n", i + 1);
        }
    }
}

static int verify(const char *path, uint64_t n)
{
    struct img *img;
    int rc = img_open(path, NULL, &img);
    if (rc < 0)
        return die("open", rc);
    uint64_t cs = img_cluster_size(img);
    uint8_t *buf = malloc(3 * cs), *want = malloc(3 * cs);
    for (uint64_t i = 0; i < n; i++) {
        rc = img_pread(img, buf, 3 * cs, i * 4 * cs);
        if (rc < 0)
            return die("read", rc);
        slot_pattern(i, want, 3 * cs);
        if (memcmp(buf, want, 3 * cs)) {
            fprintf(stderr, "img_torture: slot %" PRIu64 " lost its flushed data\n", i);
            return 1;
        }
    }
    img_close(img);
    free(buf);
    free(want);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && !strcmp(argv[1], "mirror"))
        return mirror(argv[2], argv[3], strtoull(argv[4], NULL, 0), strtoull(argv[5], NULL, 0),
                      argc > 6 ? argv[6] : "w");
    if (argc == 4 && !strcmp(argv[1], "crash"))
        return crash(argv[2], strtoull(argv[3], NULL, 0));
    if (argc == 4 && !strcmp(argv[1], "verify"))
        return verify(argv[2], strtoull(argv[3], NULL, 0));
    fprintf(stderr, "usage: img_torture mirror IMAGE REF SEED COUNT [OPS] | crash IMAGE SEED | "
                    "verify IMAGE N\n");
    return 2;
}
