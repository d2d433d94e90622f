/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fish_copy.c — kvmkit fish: getting files out of the guest: download
 * (a file or a whole device to a local file or "-"), tar-out (a POSIX
 * ustar archive with pax headers for long names, optionally gzip'd) and
 * copy-out (a file or a directory tree into a local directory, modes and
 * times kept, symlinks recreated; device nodes, FIFOs and sockets are
 * skipped as an unprivileged tar would fail on them).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <zlib.h>

#include "fish.h"

#define CMD(n) static int n(struct fish *f, const struct fish_cmd *c, int argc, char **argv)

static int write_fp(void *arg, const void *buf, size_t len)
{
    return fwrite(buf, 1, len, arg) == len ? 0 : -1;
}

CMD(cmd_download)
{
    (void)argc;
    const char *remote = argv[0], *local = argv[1];
    const struct gfs_device *d = NULL;
    if (strncmp(remote, "/dev/", 5) == 0) {
        if (!(d = fish_device_arg(f, c, remote)))
            return -1;
    } else if (fish_check_path(f, c, remote) < 0)
        return -1;
    FILE *fp = fish_file_out(f, local);
    if (!fp)
        return -1;
    int rc = 0;
    if (d) {
        static char buf[1 << 20];
        for (uint64_t off = 0; rc == 0 && off < d->size;) {
            size_t n = d->size - off < sizeof(buf) ? (size_t)(d->size - off) : sizeof(buf);
            if (gf_dev_pread(d->dev, buf, n, off) < 0)
                rc = fish_daemon_error(f, c, "%s: read error", remote);
            else if (write_fp(fp, buf, n) < 0)
                rc = fish_error(f, "%s: %s", local, strerror(errno));
            off += n;
        }
    } else
        rc = fish_stream_file(f, c, remote, write_fp, fp);
    if (fish_file_out_close(f, fp, local) < 0)
        rc = -1;
    return rc;
}

/* ---- tar ------------------------------------------------------------------- */

struct tar {
    FILE *fp;
    gzFile gz;
    int err;
};

static int tar_write(struct tar *t, const void *buf, size_t len)
{
    if (t->err)
        return -1;
    if (t->gz ? gzwrite(t->gz, buf, (unsigned)len) != (int)len : fwrite(buf, 1, len, t->fp) != len)
        t->err = -1;
    return t->err;
}

static int tar_cb(void *arg, const void *buf, size_t len)
{
    return tar_write(arg, buf, len);
}

/* A NUL-terminated octal field of @len bytes (the largest value when it
 * does not fit). */
static void octal(char *field, size_t len, uint64_t v)
{
    field[len - 1] = '\0';
    for (size_t i = len - 1; i > 0; i--) {
        field[i - 1] = (char)('0' + (v & 7));
        v >>= 3;
    }
    if (v)
        memset(field, '7', len - 1);
}

static void header(struct tar *t, const char *name, const char *link, char type, uint64_t size,
                   const struct gfs_stat *st)
{
    char h[512] = {0};
    snprintf(h, 100, "%s", name);
    octal(h + 100, 8, st->mode & 07777);
    octal(h + 108, 8, st->uid > 07777777 ? 0 : st->uid);
    octal(h + 116, 8, st->gid > 07777777 ? 0 : st->gid);
    octal(h + 124, 12, size);
    octal(h + 136, 12, st->mtime.sec < 0 ? 0 : (uint64_t)st->mtime.sec);
    memset(h + 148, ' ', 8);
    h[156] = type;
    if (link)
        snprintf(h + 157, 100, "%s", link);
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    if (type == '3' || type == '4') {
        octal(h + 329, 8, st->rdev_major);
        octal(h + 337, 8, st->rdev_minor);
    }
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
    tar_write(t, h, 512);
}

static void pad(struct tar *t, uint64_t size)
{
    static const char zero[512];
    if (size % 512)
        tar_write(t, zero, 512 - size % 512);
}

/* A pax "x" header carrying path= and linkpath= when they do not fit. */
static void pax(struct tar *t, const char *name, const char *link, const struct gfs_stat *st)
{
    char rec[2 * GFS_PATH_MAX + 64];
    size_t len = 0;
    const char *keys[2] = {"path", "linkpath"};
    const char *vals[2] = {strlen(name) >= 100 ? name : NULL,
                           link && strlen(link) >= 100 ? link : NULL};
    for (int k = 0; k < 2; k++) {
        if (!vals[k])
            continue;
        size_t body = strlen(keys[k]) + strlen(vals[k]) + 3; /* ' ' '=' '\n' */
        size_t n = body + 1;
        while (snprintf(NULL, 0, "%zu", n) + body != n)
            n++;
        len += (size_t)snprintf(rec + len, sizeof(rec) - len, "%zu %s=%s\n", n, keys[k], vals[k]);
    }
    if (!len)
        return;
    header(t, "././@PaxHeader", NULL, 'x', len, st);
    tar_write(t, rec, len);
    pad(t, len);
}

static int tar_tree(struct fish *f, const struct fish_cmd *c, struct tar *t, const char *path,
                    const char *name, unsigned depth);

struct dir_list {
    char **v;
    size_t n;
};

static int collect(void *arg, const struct gfs_dirent *de)
{
    struct dir_list *l = arg;
    if (l->n % 64 == 0) {
        char **v = realloc(l->v, (l->n + 64) * sizeof(*v));
        if (!v)
            return -ENOMEM;
        l->v = v;
    }
    if (!(l->v[l->n] = strndup(de->name, de->name_len)))
        return -ENOMEM;
    l->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Byte order, as the appliance's C locale sorts; v may be NULL when n is 0. */
static void sort_strings(char **v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof(v[0]), cmp_str);
}

static void free_list(struct dir_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static void join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name);
    if (n < 0 || (size_t)n >= len) /* too long: a path that cannot exist */
        snprintf(out, len, "/\x01");
}

static int tar_tree(struct fish *f, const struct fish_cmd *c, struct tar *t, const char *path,
                    const char *name, unsigned depth)
{
    struct gfs_stat st;
    if (gfs_lstat(f->h, path, &st) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    char link[GFS_PATH_MAX] = "";
    if (S_ISLNK(st.mode) && gfs_readlink(f->h, path, link, sizeof(link)) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    char type = S_ISDIR(st.mode) ? '5' : S_ISLNK(st.mode) ? '2' : S_ISCHR(st.mode) ? '3'
              : S_ISBLK(st.mode) ? '4' : S_ISFIFO(st.mode) ? '6' : '0';
    if (S_ISSOCK(st.mode))
        return 0; /* tar skips sockets */
    char full[GFS_PATH_MAX + 2];
    snprintf(full, sizeof(full), "%s%s", name, type == '5' ? "/" : "");
    pax(t, full, type == '2' ? link : NULL, &st);
    uint64_t size = type == '0' ? st.size : 0;
    header(t, full, type == '2' ? link : NULL, type, size, &st);
    if (type == '0') {
        uint64_t before = 0;
        (void)before;
        if (fish_stream_file(f, c, path, tar_cb, t) < 0)
            return -1;
        pad(t, size);
    }
    if (type != '5' || depth > 256)
        return t->err;
    struct dir_list l = {0};
    int rc = gfs_readdir(f->h, path, collect, &l);
    if (rc < 0) {
        free_list(&l);
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    }
    sort_strings(l.v, l.n);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        char p[GFS_PATH_MAX], n[GFS_PATH_MAX];
        join(p, sizeof(p), path, l.v[i]);
        if (snprintf(n, sizeof(n), "%s/%s", name, l.v[i]) >= (int)sizeof(n)) {
            rc = fish_daemon_error(f, c, "%s/%s: name too long", path, l.v[i]);
            break;
        }
        rc = tar_tree(f, c, t, p, n, depth + 1);
    }
    free_list(&l);
    return rc;
}

CMD(cmd_tar_out)
{
    static const char *const bools[] = {"numericowner", "xattrs", "selinux", "acls"};
    const char *compress = NULL;
    int values[4] = {0};
    char *rest[8];
    int nrest = 0;
    for (int i = 2; i < argc && nrest < 8; i++) {
        if (strncmp(argv[i], "compress:", 9) == 0)
            compress = argv[i] + 9;
        else if (strncmp(argv[i], "excludes:", 9) == 0) {
            fprintf(stderr, "tar-out: excludes: not supported by kvmkit fish\n");
            return -1;
        } else
            rest[nrest++] = argv[i];
    }
    if (fish_parse_optbools(c, nrest, rest, 0, bools, values, 4) < 0)
        return -1;
    if (compress && strcmp(compress, "gzip") != 0)
        return fish_daemon_error(f, c, "unknown compression type (kvmkit fish writes gzip only): %s",
                                 compress);
    if (fish_check_path(f, c, argv[0]) < 0)
        return -1;
    struct gfs_stat st;
    if (gfs_stat(f->h, argv[0], &st) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    if (!S_ISDIR(st.mode))
        return fish_daemon_error(f, c, "%s: Not a directory", argv[0]);
    FILE *fp = fish_file_out(f, argv[1]);
    if (!fp)
        return -1;
    struct tar t = {.fp = fp};
    if (compress) {
        fflush(fp);
        t.gz = gzdopen(dup(fileno(fp)), "wb");
        if (!t.gz)
            t.err = -1;
    }
    int rc = t.err ? -1 : tar_tree(f, c, &t, argv[0], ".", 0);
    static const char zero[1024];
    tar_write(&t, zero, sizeof(zero));
    if (t.gz && gzclose(t.gz) != Z_OK)
        t.err = -1;
    if (fish_file_out_close(f, fp, argv[1]) < 0)
        rc = -1;
    else if (rc == 0 && t.err)
        rc = fish_error(f, "tar_out: %s: write error", argv[1]);
    return rc;
}

/* ---- copy-out ---------------------------------------------------------------- */

static void set_times(const char *local, const struct gfs_stat *st, bool link)
{
    struct timespec ts[2] = {{(time_t)st->atime.sec, st->atime.nsec},
                             {(time_t)st->mtime.sec, st->mtime.nsec}};
    utimensat(AT_FDCWD, local, ts, link ? AT_SYMLINK_NOFOLLOW : 0);
}

static int copy_tree(struct fish *f, const struct fish_cmd *c, const char *path,
                     const char *local, unsigned depth)
{
    struct gfs_stat st;
    if (gfs_lstat(f->h, path, &st) < 0)
        return fish_error(f, "%s", gfs_last_error(f->h));
    if (S_ISLNK(st.mode)) {
        char link[GFS_PATH_MAX];
        if (gfs_readlink(f->h, path, link, sizeof(link)) < 0)
            return fish_error(f, "%s", gfs_last_error(f->h));
        if (symlink(link, local) < 0)
            return fish_error(f, "copy_out: %s: %s", local, strerror(errno));
        set_times(local, &st, true);
        return 0;
    }
    if (S_ISREG(st.mode)) {
        FILE *fp = fopen(local, "w");
        if (!fp)
            return fish_error(f, "copy_out: %s: %s", local, strerror(errno));
        int rc = fish_stream_file(f, c, path, write_fp, fp);
        if (fclose(fp) != 0 && rc == 0)
            rc = fish_error(f, "copy_out: %s: %s", local, strerror(errno));
        chmod(local, st.mode & 07777);
        set_times(local, &st, false);
        return rc;
    }
    if (!S_ISDIR(st.mode))
        return 0; /* devices, FIFOs, sockets: not recreated */
    if (mkdir(local, 0700) < 0 && errno != EEXIST)
        return fish_error(f, "copy_out: %s: %s", local, strerror(errno));
    struct dir_list l = {0};
    int rc = depth > 256 ? 0 : gfs_readdir(f->h, path, collect, &l);
    if (rc < 0)
        rc = fish_error(f, "%s", gfs_last_error(f->h));
    sort_strings(l.v, l.n);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        char p[GFS_PATH_MAX], lp[GFS_PATH_MAX * 2];
        join(p, sizeof(p), path, l.v[i]);
        snprintf(lp, sizeof(lp), "%s/%s", local, l.v[i]);
        rc = copy_tree(f, c, p, lp, depth + 1);
    }
    free_list(&l);
    chmod(local, st.mode & 07777);
    set_times(local, &st, false);
    return rc;
}

CMD(cmd_copy_out)
{
    (void)argc;
    const char *remote = argv[0], *localdir = argv[1];
    struct stat ls;
    if (stat(localdir, &ls) < 0 || !S_ISDIR(ls.st_mode))
        return fish_error(f, "copy_out: target '%s' is not a directory", localdir);
    if (fish_check_path(f, c, remote) < 0)
        return -1;
    struct gfs_stat st;
    if (gfs_stat(f->h, remote, &st) < 0)
        return fish_error(f, "%s", gfs_last_error(f->h));
    /* the last component of the path names the copy ("/" copies the contents) */
    const char *base = strrchr(remote, '/');
    base = base ? base + 1 : remote;
    char local[GFS_PATH_MAX * 2];
    if (!*base && S_ISDIR(st.mode))
        snprintf(local, sizeof(local), "%s", localdir);
    else
        snprintf(local, sizeof(local), "%s/%s", localdir, *base ? base : ".");
    if (S_ISDIR(st.mode)) {
        char real[GFS_PATH_MAX];
        if (gfs_realpath(f->h, remote, real, sizeof(real)) < 0)
            return fish_error(f, "%s", gfs_last_error(f->h));
        return copy_tree(f, c, real, local, 0);
    }
    if (!S_ISREG(st.mode))
        return fish_error(f, "copy_out: '%s' is not a file or directory", remote);
    FILE *fp = fopen(local, "w");
    if (!fp)
        return fish_error(f, "copy_out: %s: %s", local, strerror(errno));
    int rc = fish_stream_file(f, c, remote, write_fp, fp);
    if (fclose(fp) != 0 && rc == 0)
        rc = fish_error(f, "copy_out: %s: %s", local, strerror(errno));
    return rc;
}

#define D FISH_DAEMON

const struct fish_cmd fish_copy_cmds[] = {
    {"download", NULL, D, 2, 2, "download remotefilename filename",
     "download a file to the local machine", cmd_download},
    {"tar-out", NULL, D, 2, 8, "tar-out directory tarfile [compress:..] "
     "[numericowner:true|false] [excludes:..] [xattrs:true|false] [selinux:true|false] "
     "[acls:true|false]", "pack directory into tarfile", cmd_tar_out},
    {"copy-out", NULL, D, 2, 2, "copy-out remotepath localdir",
     "copy remote files or directories out of an image", cmd_copy_out},
    {NULL, NULL, 0, 0, 0, NULL, NULL, NULL},
};
