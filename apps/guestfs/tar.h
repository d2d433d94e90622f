/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tar.h — a streaming tar writer in GNU tar's default format ("gnu":
 * ustar headers with the "ustar  " magic), as `tar -cf` writes it and as
 * guestfsd's tar-out produces it:
 *
 *   - regular files, hard links (type 1, to the first name archived),
 *     symlinks, character and block devices, FIFOs, directories ("name/");
 *   - names and link targets of 100 bytes or more in ././@LongLink records
 *     (types L and K);
 *   - numbers too large for their octal field (files of 8 GiB and more,
 *     ids past 2097151, times before 1970 or after 2242) in GNU's base-256
 *     encoding;
 *   - 512-byte blocks, two zero blocks at the end, the archive padded to
 *     a 10240-byte record (blocking factor 20);
 *   - optionally gzip-compressed (zlib) on the way out.
 *
 * Output goes to a file descriptor through a 1 MiB buffer; file data of
 * a whole buffer or more goes straight to the descriptor.
 *
 * Errors: -errno of the failed write(2) (-EPIPE, -ENOSPC, ...), -ENOMEM,
 * -EINVAL for a misuse (data past an entry's size). After an error the
 * writer only accepts tar_writer_free().
 *
 * Threads: a writer belongs to one thread.
 */
#ifndef KK_TAR_H
#define KK_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tar_writer;

enum tar_type {
    TAR_REG = '0',
    TAR_HARDLINK = '1',
    TAR_SYMLINK = '2',
    TAR_CHR = '3',
    TAR_BLK = '4',
    TAR_DIR = '5',
    TAR_FIFO = '6',
};

struct tar_entry {
    const char *name;     /* "./dir/file"; a directory's name gets a '/' added */
    enum tar_type type;
    const char *linkname; /* TAR_HARDLINK and TAR_SYMLINK */
    uint32_t mode;        /* permission bits (07777) */
    uint64_t uid, gid;
    uint64_t size;        /* TAR_REG only: the bytes tar_write_data() must supply */
    int64_t mtime;
    uint32_t devmajor, devminor; /* TAR_CHR, TAR_BLK */
    const char *uname, *gname;   /* "" or NULL: none */
};

/* A writer on @fd (not closed by the writer); @gzip compresses. */
int tar_writer_new(int fd, bool gzip, struct tar_writer **out);

/* Start an entry. For TAR_REG, exactly e->size bytes of data follow. */
int tar_write_header(struct tar_writer *t, const struct tar_entry *e);

/* File data of the current TAR_REG entry; the padding is added when the
 * last byte is written. */
int tar_write_data(struct tar_writer *t, const void *buf, size_t len);

/* The two zero blocks, the record padding, the gzip trailer; flush. */
int tar_writer_finish(struct tar_writer *t);

void tar_writer_free(struct tar_writer *t);

/*
 * Encode @v into a tar numeric field of @width bytes: octal digits and a
 * NUL when they fit, else GNU base-256 (the top bit of the first byte set;
 * big-endian two's complement). Exposed for tests.
 */
void tar_number(char *field, size_t width, int64_t v);

#endif
