/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: qcow2 header, extension, L1/L2, refcount and snapshot
 * table parsing over an image held in memory (a memfd).
 *
 * Input: the image file itself (the corpus holds small images made by
 * qemu-img). The target opens it read-only, reads a few ranges, walks the
 * block status, lists snapshots and runs the consistency check; then opens
 * a copy read-write and writes, discards and checks again. Whatever the
 * input, nothing may crash, and every call returns 0 or a negative errno.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image.h"
#include "kk_log.h"

static int image_fd(const uint8_t *data, size_t size, char *path, size_t len)
{
    int fd = memfd_create("qcow2-fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}

static void exercise(struct img *img, bool writable)
{
    static uint8_t buf[65536];
    uint64_t size = img_size(img);
    uint64_t offs[] = {0, size / 3, size / 2, size > 70000 ? size - 70000 : 0};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        uint64_t n = size - offs[i] < sizeof(buf) ? size - offs[i] : sizeof(buf);
        if (img_pread(img, buf, n, offs[i]) > 0)
            abort();
        if (writable) {
            memset(buf, (int)i, n);
            if (img_pwrite(img, buf, n > 3000 ? 3000 : n, offs[i]) > 0)
                abort();
        }
    }
    uint64_t off = 0;
    for (int i = 0; i < 64 && off < size; i++) {
        struct img_status st;
        if (img_block_status(img, off, size - off, &st) < 0)
            break;
        if (st.length == 0 || st.length > size - off)
            abort(); /* the contract: a non-empty prefix of the range */
        off += st.length;
    }
    if (writable) {
        img_discard(img, 0, size < 131072 ? size : 131072);
        img_write_zeroes(img, size / 2, size - size / 2 < 4096 ? size - size / 2 : 4096, 0);
    }
    struct img_snapshot *snaps = NULL;
    int n = img_snapshot_list(img, &snaps);
    free(snaps);
    if (writable && n > 0)
        img_snapshot_create(img, "fuzz");
    struct img_check_result r;
    img_check(img, 0, &r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        kk_log_set_level(KK_LOG_ERR);
        kk_log_set_fd(-1);
        quiet = true;
    }
    if (size > (1u << 20))
        return 0;
    char path[64];
    int fd = image_fd(data, size, path, sizeof(path));
    if (fd < 0)
        return 0;
    struct img_open_opts o = {.format = "qcow2", .flags = IMG_O_NO_BACKING};
    struct img *img;
    if (img_open(path, &o, &img) == 0) {
        exercise(img, false);
        img_close(img);
    }
    close(fd);
    fd = image_fd(data, size, path, sizeof(path));
    if (fd < 0)
        return 0;
    o.flags |= IMG_O_RDWR;
    if (img_open(path, &o, &img) == 0) {
        exercise(img, true);
        img_close(img);
    }
    close(fd);
    return 0;
}
