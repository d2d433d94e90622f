/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tar.c — the streaming GNU-format tar writer of tar.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "tar.h"

#define BLOCK 512
#define RECORD (20 * BLOCK)
#define BUFSZ (1u << 20)

struct tar_writer {
    int fd;
    bool gzip;
    z_stream z;
    unsigned char *buf; /* pending output (compressed when gzip) */
    size_t used;
    uint64_t written; /* uncompressed archive bytes so far */
    uint64_t remaining; /* data still due for the current entry */
    int err;
};

static int raw_write(struct tar_writer *t, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(t->fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return t->err = -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int flush_buf(struct tar_writer *t)
{
    int rc = t->used ? raw_write(t, t->buf, t->used) : 0;
    t->used = 0;
    return rc;
}

static int deflate_some(struct tar_writer *t, const void *p, size_t n, int flush)
{
    t->z.next_in = (Bytef *)(uintptr_t)p;
    t->z.avail_in = (uInt)n;
    for (;;) {
        t->z.next_out = t->buf + t->used;
        t->z.avail_out = (uInt)(BUFSZ - t->used);
        int zr = deflate(&t->z, flush);
        if (zr == Z_STREAM_ERROR)
            return t->err = -EIO;
        t->used = BUFSZ - t->z.avail_out;
        if (t->z.avail_out == 0) {
            int rc = flush_buf(t);
            if (rc)
                return rc;
            continue;
        }
        if (flush == Z_FINISH ? zr == Z_STREAM_END : t->z.avail_in == 0)
            return 0;
    }
}

/* Archive bytes out (through gzip when asked). */
static int emit(struct tar_writer *t, const void *p, size_t n)
{
    if (t->err)
        return t->err;
    t->written += n;
    if (t->gzip) {
        /* zlib takes at most 4 GiB per call */
        const char *c = p;
        while (n) {
            size_t k = n > (1u << 30) ? (1u << 30) : n;
            int rc = deflate_some(t, c, k, Z_NO_FLUSH);
            if (rc)
                return rc;
            c += k;
            n -= k;
        }
        return 0;
    }
    if (n >= BUFSZ - t->used) {
        int rc = flush_buf(t);
        if (rc)
            return rc;
        if (n >= BUFSZ)
            return raw_write(t, p, n);
    }
    memcpy(t->buf + t->used, p, n);
    t->used += n;
    return 0;
}

static int emit_zeros(struct tar_writer *t, size_t n)
{
    static const char zeros[BLOCK];
    while (n) {
        size_t k = n < BLOCK ? n : BLOCK;
        int rc = emit(t, zeros, k);
        if (rc)
            return rc;
        n -= k;
    }
    return 0;
}

int tar_writer_new(int fd, bool gzip, struct tar_writer **out)
{
    struct tar_writer *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->fd = fd;
    t->gzip = gzip;
    t->buf = malloc(BUFSZ);
    if (!t->buf) {
        free(t);
        return -ENOMEM;
    }
    /* windowBits 15 + 16: a gzip wrapper, as gzip(1) writes */
    if (gzip && deflateInit2(&t->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                             Z_DEFAULT_STRATEGY) != Z_OK) {
        free(t->buf);
        free(t);
        return -ENOMEM;
    }
    *out = t;
    return 0;
}

void tar_writer_free(struct tar_writer *t)
{
    if (!t)
        return;
    if (t->gzip)
        deflateEnd(&t->z);
    free(t->buf);
    free(t);
}

void tar_number(char *field, size_t width, int64_t v)
{
    /* Octal with width-1 digits and a NUL, when it fits. */
    bool fits = v >= 0 && ((width - 1) * 3 >= 64 || (uint64_t)v < (uint64_t)1 << ((width - 1) * 3));
    if (fits) {
        snprintf(field, width, "%0*llo", (int)(width - 1), (unsigned long long)v);
        return;
    }
    /* GNU base-256: big-endian two's complement, first byte's top bit set
     * (0x80 positive, 0xff negative). */
    uint64_t u = (uint64_t)v;
    for (size_t i = width; i-- > 1;) {
        field[i] = (char)(u & 0xff);
        u = v < 0 ? (u >> 8) | ((uint64_t)0xff << 56) : u >> 8;
    }
    field[0] = (char)(v < 0 ? 0xff : 0x80);
}

struct header {
    char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], typeflag,
        linkname[100], magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8],
        rest[167];
};
_Static_assert(sizeof(struct header) == BLOCK, "tar header is one block");

static int write_block_header(struct tar_writer *t, const char *name, char type,
                              const char *linkname, const struct tar_entry *e, uint64_t size)
{
    struct header hd;
    memset(&hd, 0, sizeof(hd));
    /* fields may be full without a NUL, as tar allows */
    memcpy(hd.name, name, strnlen(name, sizeof(hd.name)));
    tar_number(hd.mode, sizeof(hd.mode), e->mode & 07777);
    tar_number(hd.uid, sizeof(hd.uid), (int64_t)e->uid);
    tar_number(hd.gid, sizeof(hd.gid), (int64_t)e->gid);
    tar_number(hd.size, sizeof(hd.size), (int64_t)size);
    tar_number(hd.mtime, sizeof(hd.mtime), e->mtime);
    hd.typeflag = type;
    if (linkname)
        memcpy(hd.linkname, linkname, strnlen(linkname, sizeof(hd.linkname)));
    memcpy(hd.magic, "ustar ", 6);
    memcpy(hd.version, " ", 2);
    if (e->uname)
        memcpy(hd.uname, e->uname, strnlen(e->uname, sizeof(hd.uname) - 1));
    if (e->gname)
        memcpy(hd.gname, e->gname, strnlen(e->gname, sizeof(hd.gname) - 1));
    if (type == TAR_CHR || type == TAR_BLK) {
        tar_number(hd.devmajor, sizeof(hd.devmajor), e->devmajor);
        tar_number(hd.devminor, sizeof(hd.devminor), e->devminor);
    }
    memset(hd.chksum, ' ', sizeof(hd.chksum));
    unsigned sum = 0;
    const unsigned char *b = (const unsigned char *)&hd;
    for (size_t i = 0; i < sizeof(hd); i++)
        sum += b[i];
    snprintf(hd.chksum, sizeof(hd.chksum), "%06o", sum);
    hd.chksum[7] = ' ';
    return emit(t, &hd, sizeof(hd));
}

/* A ././@LongLink record of @type (L: name, K: link target). */
static int write_long(struct tar_writer *t, char type, const char *s, const struct tar_entry *e)
{
    size_t n = strlen(s) + 1;
    struct tar_entry l = {.mode = 0644, .uname = "root", .gname = "root"};
    (void)e;
    int rc = write_block_header(t, "././@LongLink", type, NULL, &l, n);
    if (!rc)
        rc = emit(t, s, n);
    if (!rc && n % BLOCK)
        rc = emit_zeros(t, BLOCK - n % BLOCK);
    return rc;
}

int tar_write_header(struct tar_writer *t, const struct tar_entry *e)
{
    if (t->err)
        return t->err;
    if (t->remaining)
        return -EINVAL;
    size_t nl = strlen(e->name);
    char *name = malloc(nl + 2);
    if (!name)
        return -ENOMEM;
    memcpy(name, e->name, nl + 1);
    if (e->type == TAR_DIR && (nl == 0 || name[nl - 1] != '/')) {
        name[nl++] = '/';
        name[nl] = 0;
    }
    int rc = 0;
    if (nl >= 100)
        rc = write_long(t, 'L', name, e);
    if (!rc && e->linkname && strlen(e->linkname) >= 100)
        rc = write_long(t, 'K', e->linkname, e);
    uint64_t size = e->type == TAR_REG ? e->size : 0;
    if (!rc)
        rc = write_block_header(t, name, (char)e->type, e->linkname, e, size);
    free(name);
    if (!rc)
        t->remaining = size;
    return rc;
}

int tar_write_data(struct tar_writer *t, const void *buf, size_t len)
{
    if (t->err)
        return t->err;
    if (len > t->remaining)
        return -EINVAL;
    int rc = emit(t, buf, len);
    if (rc)
        return rc;
    t->remaining -= len;
    if (t->remaining == 0 && t->written % BLOCK)
        rc = emit_zeros(t, BLOCK - t->written % BLOCK);
    return rc;
}

int tar_writer_finish(struct tar_writer *t)
{
    if (t->err)
        return t->err;
    if (t->remaining)
        return -EINVAL;
    int rc = emit_zeros(t, 2 * BLOCK);
    if (!rc && t->written % RECORD)
        rc = emit_zeros(t, RECORD - t->written % RECORD);
    if (!rc && t->gzip)
        rc = deflate_some(t, NULL, 0, Z_FINISH);
    if (!rc)
        rc = flush_buf(t);
    return rc;
}
