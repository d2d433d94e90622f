/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gfs_tool.h — what the one-shot libguestfs-like tools (virt-ls, virt-cat,
 * virt-copy-out, virt-tar-out, virt-df, virt-filesystems) share:
 *
 *   - gnulib's human_readable() as libguestfs's tools call it (-h sizes:
 *     autoscale, base 1024, round to nearest, "1.0K", "100M");
 *   - CSV fields quoted as libguestfs quotes them (a field holding a space,
 *     '"', ',' or a newline is put in double quotes, '"' doubled);
 *   - a tree walk over a handle's guest tree: entries of a directory in
 *     strcmp order (as guestfsd's ls and find sort them), mount points
 *     crossed, symlinks never followed below the top, each entry lstat'ed;
 *   - file checksums as guestfs_checksum computes them (crc = cksum(1),
 *     md5, sha1, sha224, sha256, sha384, sha512);
 *   - streaming a guest file to a file descriptor in 1 MiB chunks.
 *
 * Everything here is single-threaded, like the handle.
 */
#ifndef KK_GFS_TOOL_H
#define KK_GFS_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "guestfs.h"

/* Longest output of tool_human_size() plus its NUL. */
#define TOOL_HUMAN_MAX 32

/*
 * @amt as gnulib's human_readable(amt, buf, human_round_to_nearest |
 * human_autoscale | human_base_1024 | human_SI, 1, 1) prints it: "512",
 * "1.0K", "9.9M", "10M", "1.0G". Returns @buf.
 */
char *tool_human_size(uint64_t amt, char *buf);

/* One CSV field to @out, quoted when libguestfs's tools quote it. */
void tool_csv_field(FILE *out, const char *field);

/* One entry of a walk. */
struct tool_entry {
    const char *path; /* the guest path ("/", "/data/1m.bin") */
    const char *rel;  /* path relative to the walk's top ("" for the top) */
    struct gfs_node node;
    struct gfs_stat st; /* lstat */
    unsigned depth;     /* 0 for the top */
};

/*
 * Called for each entry, parents before their children; return nonzero to
 * stop the walk (that value is returned by tool_walk). @e and its strings
 * are valid only during the call.
 */
typedef int (*tool_visit_fn)(void *arg, const struct tool_entry *e);

/*
 * Walk the tree below guest directory @top (resolved like gfs_stat: a
 * symlink at the top is followed for the listing, but the top entry itself
 * is lstat'ed). @visit_top: call @fn for the top too. Entries in each
 * directory are visited in strcmp order of their names. Errors: -errno with
 * gfs_last_error() set ("PATH: message"); -ENOTDIR when @top is not a
 * directory.
 */
int tool_walk(struct gfs_handle *h, const char *top, bool visit_top, tool_visit_fn fn, void *arg);

/*
 * The names in directory @dir (a node), sorted with strcmp, as a malloc'd
 * array of malloc'd strings plus their inode numbers; mount points are not
 * applied here (callers check them by path). Returns the count or -errno.
 */
struct tool_dirent {
    char *name;
    uint64_t ino;
};
int tool_list_dir(struct gfs_handle *h, const struct gfs_node *dir, const char *path,
                  struct tool_dirent **out);
void tool_free_dir(struct tool_dirent *d, int n);

/*
 * The node of @child_path, whose directory entry gave @ino on @parent_fs:
 * the root of a filesystem mounted there, if one is.
 */
struct gfs_node tool_child_node(struct gfs_handle *h, struct gfs_fs *parent_fs, uint64_t ino,
                                const char *child_path);

/* Join a directory path and a name ("/" + "a" = "/a"). -ENAMETOOLONG. */
int tool_join(char *buf, size_t len, const char *dir, const char *name);

/* Checksum types guestfs_checksum knows; NULL for an unknown one. */
const char *tool_checksum_canonical(const char *type);

/*
 * Checksum of regular file @node of @size bytes, in lowercase hex (crc:
 * the decimal POSIX cksum CRC) into @out (at least 129 bytes). -errno, with
 * gfs_last_error() set, naming @path.
 */
int tool_checksum(struct gfs_handle *h, const struct gfs_node *node, uint64_t size,
                  const char *type, const char *path, char *out, size_t outlen);

/*
 * Copy @size bytes of file @node to @fd in 1 MiB chunks. -errno: a read
 * error (gfs_last_error() set, naming @path) or a write error (errno of
 * write(2), *write_failed set).
 */
int tool_copy_to_fd(struct gfs_handle *h, const struct gfs_node *node, uint64_t size,
                    const char *path, int fd, bool *write_failed);

/* tool_copy_to_fd() through the caller's buffer @buf of @buflen (> 0)
 * bytes, for callers that copy many files (no allocation per file). */
int tool_copy_with_buffer(struct gfs_handle *h, const struct gfs_node *node, uint64_t size,
                          const char *path, int fd, void *buf, size_t buflen,
                          bool *write_failed);

/* Write all of @buf to @fd (EINTR retried). 0 or -errno. */
int tool_write_all(int fd, const void *buf, size_t len);

/* The type letter virt-ls shows: - d l c b p s, or u. */
char tool_type_char(uint32_t mode);

/* The device number libguestfs's appliance gives @device (8:0 for /dev/sda,
 * 8:1 for /dev/sda1, 8:16 for /dev/sdb; minors past 15 in 259:N like Linux
 * extended minors). */
void tool_device_number(const struct gfs_device *device, unsigned *major, unsigned *minor);

/* Unless @verbose, only errors from kvmkit's logging (lib/image warns about
 * what the tools already report as their error). */
void tool_quiet_logs(bool verbose);

/* The device holding @fs in the handle (NULL if none). */
const struct gfs_device *tool_fs_device(struct gfs_handle *h, const struct gfs_fs *fs);

#endif
