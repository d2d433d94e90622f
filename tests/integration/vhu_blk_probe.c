/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvmkit's vhost-user frontend against a vhost-user-blk backend (any:
 * qemu-storage-daemon here; kvmkit-blkd later): read the config space,
 * write a pattern to a sector, read it back, read a sector the test wrote
 * into the image beforehand. Prints TAP.
 * Usage: vhu_blk_probe SOCKET EXPECTED_SECTORS PATTERN_SECTOR PATTERN_BYTE
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kk_err.h"
#include "vhu_frontend.h"

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_S_OK 0

struct blk_hdr {
    uint32_t type;
    uint32_t ioprio;
    uint64_t sector;
};

static int n, failed;

static void ok(bool cond, const char *desc)
{
    n++;
    printf("%sok %d - %s\n", cond ? "" : "not ", n, desc);
    if (!cond)
        failed++;
}

/* One request: header, data (readable for OUT, writable for IN), status. */
static int request(struct vhu_front *f, uint32_t type, uint64_t sector, uint8_t *data,
                   uint32_t len)
{
    struct vqd *q = vhu_front_queue(f, 0);
    struct blk_hdr *h = vhu_front_alloc(f, sizeof(*h), 16);
    uint8_t *status = vhu_front_alloc(f, 1, 1);
    *h = (struct blk_hdr){.type = type, .sector = sector};
    *status = 0xff;
    struct vqd_buf b[3] = {{vhu_front_gpa(f, h), sizeof(*h), false},
                           {vhu_front_gpa(f, data), len, type == VIRTIO_BLK_T_IN},
                           {vhu_front_gpa(f, status), 1, true}};
    if (vqd_add(q, b, 3, status) < 0)
        return -ENOSPC;
    vhu_front_kick(f, 0);
    for (int t = 0; t < 5000; t++) {
        void *cookie;
        uint32_t used_len;
        if (vqd_get_used(q, &cookie, &used_len) == 1)
            return *(uint8_t *)cookie == VIRTIO_BLK_S_OK ? 0 : -EIO;
        struct pollfd p = {.fd = vhu_front_call_fd(f, 0), .events = POLLIN};
        if (poll(&p, 1, 1) > 0) {
            uint64_t v;
            ssize_t r = read(p.fd, &v, sizeof(v));
            (void)r;
        }
    }
    return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: vhu_blk_probe SOCKET SECTORS PATTERN_SECTOR PATTERN_BYTE\n");
        return 2;
    }
    uint64_t sectors = strtoull(argv[2], NULL, 0);
    uint64_t pat_sector = strtoull(argv[3], NULL, 0);
    int pat_byte = atoi(argv[4]);
    printf("1..6\n");
    struct vhu_front_opts o = {.path = argv[1], .num_queues = 1, .queue_size = 64,
                               .mem_size = 4 << 20};
    struct vhu_front *f;
    int rc = vhu_front_connect(&o, &f);
    ok(rc == 0, "connects, negotiates and sets up a queue");
    if (rc < 0) {
        fprintf(stderr, "connect: %s\n", kk_strerror(rc));
        return 1;
    }
    uint64_t capacity = 0;
    rc = vhu_front_get_config(f, 0, &capacity, 8);
    ok(rc == 0 && capacity == sectors, "GET_CONFIG reports the disk's capacity");
    if (rc == 0)
        printf("# capacity %llu sectors\n", (unsigned long long)capacity);

    uint8_t *buf = vhu_front_alloc(f, 4096, 4096);
    rc = request(f, VIRTIO_BLK_T_IN, pat_sector, buf, 4096);
    bool match = rc == 0;
    for (int i = 0; i < 512 && match; i++)
        match = buf[i] == pat_byte;
    ok(match, "reads the pattern the test wrote into the image");

    uint8_t *w = vhu_front_alloc(f, 4096, 4096);
    for (int i = 0; i < 4096; i++)
        w[i] = (uint8_t)(i * 13 + 7);
    ok(request(f, VIRTIO_BLK_T_OUT, 64, w, 4096) == 0, "writes 4 KiB at sector 64");
    memset(buf, 0, 4096);
    rc = request(f, VIRTIO_BLK_T_IN, 64, buf, 4096);
    ok(rc == 0 && memcmp(buf, w, 4096) == 0, "reads the same 4 KiB back");
    rc = request(f, VIRTIO_BLK_T_IN, sectors + 100, buf, 512);
    ok(rc == -EIO, "a read past the end fails with an I/O error status");
    vhu_front_close(f);
    return failed ? 1 : 0;
}
