/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virt_copy.c — `kvmkit virt-copy-out` and `kvmkit virt-tar-out`, like
 * libguestfs's (shell wrappers around `guestfish --ro -i copy-out` and
 * `tar-out`), with the same arguments and results:
 *
 * virt-tar-out -a IMAGE DIR TARBALL|-   writes DIR's tree as `tar -C DIR -cf
 *   - .` does in the appliance: "./", "./file", ... in GNU format (tar.h),
 *   owners by number with "root" as the name of id 0, hard links as links,
 *   devices, FIFOs, symlinks; each directory's entries in name order.
 *   guestfish's optional arguments "compress:gzip" and "numericowner:true"
 *   are accepted after TARBALL.
 *
 * virt-copy-out -a IMAGE REMOTE... LOCALDIR   a regular file is written as
 *   LOCALDIR/NAME like guestfs_download (its content only: mode 0666 less
 *   the umask, the current time); a directory is recreated as
 *   LOCALDIR/NAME the way `tar -xf` unpacks tar-out's stream: modes
 *   (less the umask unless run as root, which also restores owners),
 *   mtimes, symlinks, hard links, FIFOs, devices (root only; an error
 *   otherwise, and the copy goes on). Anything else (a symlink, a missing
 *   path) is "'PATH' is not a file or directory". Regular files are
 *   created relative to their directory's descriptor, with their final
 *   mode where the directory keeps create modes (no default ACL; set-id
 *   and sticky bits still go through fchmod), and fchown'ed only when the
 *   guest's owner is not the one a new file gets there (as tar -x skips
 *   what would change nothing).
 *
 * Both stream file data in 1 MiB chunks and never hold a whole file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/types.h>
#include <unistd.h>

#include "gfs_opts.h"
#include "gfs_tool.h"
#include "guestfs_cli.h"
#include "tar.h"

#define CHUNK (1u << 20)

/* (filesystem, inode) -> the first name it was written under. */
struct links {
    struct link {
        const struct gfs_fs *fs;
        uint64_t ino;
        char *name;
    } *v;
    size_t n, cap;
};

static const char *links_find(const struct links *l, const struct gfs_fs *fs, uint64_t ino)
{
    if (!l->cap)
        return NULL;
    size_t mask = l->cap - 1;
    for (size_t i = (ino * 0x9E3779B97F4A7C15ull >> 17) & mask;; i = (i + 1) & mask) {
        if (!l->v[i].name)
            return NULL;
        if (l->v[i].fs == fs && l->v[i].ino == ino)
            return l->v[i].name;
    }
}

static int links_add(struct links *l, const struct gfs_fs *fs, uint64_t ino, const char *name)
{
    if (2 * (l->n + 1) > l->cap) {
        struct links g = {.cap = l->cap ? l->cap * 2 : 256};
        if (!(g.v = calloc(g.cap, sizeof(*g.v))))
            return -ENOMEM;
        for (size_t i = 0; i < l->cap; i++) {
            if (!l->v[i].name)
                continue;
            size_t k = (l->v[i].ino * 0x9E3779B97F4A7C15ull >> 17) & (g.cap - 1);
            while (g.v[k].name)
                k = (k + 1) & (g.cap - 1);
            g.v[k] = l->v[i];
        }
        free(l->v);
        l->v = g.v;
        l->cap = g.cap;
    }
    size_t k = (ino * 0x9E3779B97F4A7C15ull >> 17) & (l->cap - 1);
    while (l->v[k].name)
        k = (k + 1) & (l->cap - 1);
    if (!(l->v[k].name = strdup(name)))
        return -ENOMEM;
    l->v[k].fs = fs;
    l->v[k].ino = ino;
    l->n++;
    return 0;
}

static void links_free(struct links *l)
{
    for (size_t i = 0; i < l->cap; i++)
        free(l->v[i].name);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* ---- shared option parsing (guestfish's, as the wrappers pass them) ----- */

struct copy_args {
    struct gfs_opts o;
    char **pos; /* positional arguments */
    int npos;
};

/* 0 ok, 1 --help printed, 2 usage error, -ENOMEM. */
static int parse(const char *prog, void (*help)(FILE *), int argc, char **argv,
                 struct copy_args *a)
{
    enum { OPT_FORMAT = 256, OPT_HELP, OPT_RO };
    static const struct option opts[] = {
        {"add", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, OPT_HELP},
        {"inspector", no_argument, NULL, 'i'},
        {"mount", required_argument, NULL, 'm'},
        {"ro", no_argument, NULL, 'r'},
        {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    int c;
    gfs_opts_init(&a->o, prog);
    optind = 1;
    while ((c = getopt_long(argc, argv, "a:im:rvx", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (gfs_opts_add_drive(&a->o, optarg) < 0)
                return -ENOMEM;
            break;
        case OPT_FORMAT:
            if (gfs_opts_set_format(&a->o, optarg[0] ? optarg : NULL) < 0)
                return 2;
            break;
        case 'm':
            if (gfs_opts_add_mount(&a->o, optarg) < 0)
                return 2;
            break;
        case 'i': /* the wrappers always pass -i */
        case 'r':
            break;
        case 'v':
        case 'x':
            a->o.verbose = true;
            break;
        case OPT_HELP:
            help(stdout);
            return 1;
        default:
            return 2;
        }
    }
    tool_quiet_logs(a->o.verbose);
    a->pos = argv + optind;
    a->npos = argc - optind;
    if (!a->o.ndrives) {
        fprintf(stderr, "%s: error: you must specify at least one -a option.\n", prog);
        return 2;
    }
    return 0;
}

static int report(struct gfs_handle *h, const char *prog, int rc)
{
    if (rc == -ENOMEM)
        fprintf(stderr, "%s: error: out of memory\n", prog);
    else
        fprintf(stderr, "%s: error: %s\n", prog, gfs_last_error(h));
    return 1;
}

/* ---- virt-tar-out ------------------------------------------------------- */

struct tar_out {
    struct gfs_handle *h;
    struct tar_writer *t;
    struct links links;
    bool numeric_owner;
    unsigned char *buf;
    int write_rc; /* a failed write (tar_writer) */
};

static int tar_file_data(struct tar_out *x, const struct gfs_node *n, uint64_t size,
                         const char *path)
{
    uint64_t off = 0;
    while (off < size) {
        size_t want = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        int64_t got = gfs_fs_read(n->fs, n->ino, off, x->buf, want);
        if (got <= 0)
            return got < 0 ? gfs_set_error(x->h, (int)got, "%s: %s", path, gfs_fs_error(n->fs))
                           : gfs_set_error(x->h, -EIO, "%s: file ends early", path);
        int rc = tar_write_data(x->t, x->buf, (size_t)got);
        if (rc < 0)
            return x->write_rc = rc;
        off += (uint64_t)got;
    }
    return 0;
}

static int tar_cb(void *arg, const struct tool_entry *e)
{
    struct tar_out *x = arg;
    const struct gfs_stat *st = &e->st;
    size_t rl = strlen(e->rel);
    char *name = malloc(rl + 3);
    char target[GFS_PATH_MAX];
    if (!name)
        return -ENOMEM;
    snprintf(name, rl + 3, "./%s", e->rel);
    struct tar_entry te = {
        .name = name,
        .mode = st->mode & 07777,
        .uid = st->uid,
        .gid = st->gid,
        .mtime = st->mtime.sec,
        .uname = !x->numeric_owner && st->uid == 0 ? "root" : "",
        .gname = !x->numeric_owner && st->gid == 0 ? "root" : "",
    };
    int rc = 0;
    switch (st->mode & S_IFMT) {
    case S_IFREG: {
        const char *first = st->nlink > 1 ? links_find(&x->links, e->node.fs, e->node.ino) : NULL;
        if (first) {
            te.type = TAR_HARDLINK;
            te.linkname = first;
        } else {
            te.type = TAR_REG;
            te.size = st->size;
            if (st->nlink > 1)
                rc = links_add(&x->links, e->node.fs, e->node.ino, name);
        }
        break;
    }
    case S_IFDIR:
        te.type = TAR_DIR;
        break;
    case S_IFLNK:
        te.type = TAR_SYMLINK;
        rc = gfs_fs_readlink(e->node.fs, e->node.ino, target, sizeof(target));
        if (rc < 0)
            rc = gfs_set_error(x->h, rc, "%s: %s", e->path, gfs_fs_error(e->node.fs));
        else
            rc = 0;
        te.linkname = target;
        break;
    case S_IFCHR:
    case S_IFBLK:
        te.type = S_ISCHR(st->mode) ? TAR_CHR : TAR_BLK;
        te.devmajor = st->rdev_major;
        te.devminor = st->rdev_minor;
        break;
    case S_IFIFO:
        te.type = TAR_FIFO;
        break;
    default: /* sockets: GNU tar says "socket ignored" */
        fprintf(stderr, "virt-tar-out: warning: %s: socket ignored\n", e->path);
        free(name);
        return 0;
    }
    if (rc == 0 && (rc = tar_write_header(x->t, &te)) < 0)
        x->write_rc = rc;
    if (rc == 0 && te.type == TAR_REG)
        rc = tar_file_data(x, &e->node, st->size, e->path);
    free(name);
    return rc;
}

static int tar_out(struct tar_out *x, const char *dir)
{
    struct gfs_stat st;
    int rc = gfs_stat(x->h, dir, &st);
    if (rc < 0)
        return rc;
    if (!S_ISDIR(st.mode))
        return gfs_set_error(x->h, -ENOTDIR, "tar-out: %s: Not a directory", dir);
    struct tar_entry top = {
        .name = "./",
        .type = TAR_DIR,
        .mode = st.mode & 07777,
        .uid = st.uid,
        .gid = st.gid,
        .mtime = st.mtime.sec,
        .uname = !x->numeric_owner && st.uid == 0 ? "root" : "",
        .gname = !x->numeric_owner && st.gid == 0 ? "root" : "",
    };
    if ((rc = tar_write_header(x->t, &top)) < 0)
        return x->write_rc = rc;
    rc = tool_walk(x->h, dir, false, tar_cb, x);
    if (rc == 0 && (rc = tar_writer_finish(x->t)) < 0)
        x->write_rc = rc;
    return rc;
}

void virt_tar_out_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit virt-tar-out -a IMAGE [-a IMAGE ...] [-m DEV[:MP]] DIR TARBALL|-\n"
            "                          [compress:gzip] [numericowner:true]\n"
            "\n"
            "Pack directory DIR of a disk image into a tarball (GNU tar format), like\n"
            "libguestfs's virt-tar-out; \"-\" writes it to standard output. Without -m the\n"
            "guest is inspected and its filesystems mounted as its /etc/fstab says.\n"
            "\n"
            "Options:\n"
            "  -a, --add IMAGE        a disk image (repeat for more disks)\n"
            "  --format FMT           format of the following -a images: raw, qcow2, auto\n"
            "  -m, --mount DEV[:MOUNTPOINT]  mount DEV on MOUNTPOINT (default /)\n"
            "  -v, --verbose          print warnings from reading the images\n"
            "  --help                 show this help\n"
            "  compress:gzip          gzip the tarball\n"
            "  numericowner:true      no owner names (by default id 0 is \"root\")\n"
            "\n"
            "Exit status: 0; 1 on an error; 2 on a usage error.\n");
}

int virt_tar_out_main(int argc, char **argv)
{
    const char *prog = "virt-tar-out";
    struct copy_args a;
    struct tar_out x = {0};
    bool gzip = false;
    int status = 1, fd = -1;
    int rc = parse(prog, virt_tar_out_help, argc, argv, &a);
    if (rc == 1) {
        gfs_opts_free(&a.o);
        return 0;
    }
    if (rc == 0 && a.npos < 2) {
        fprintf(stderr, "%s: error: use 'tar-out DIR TARBALL|-' (two arguments)\n", prog);
        rc = 2;
    }
    for (int i = 2; rc == 0 && i < a.npos; i++) {
        if (strcmp(a.pos[i], "compress:gzip") == 0) {
            gzip = true;
        } else if (strcmp(a.pos[i], "numericowner:true") == 0) {
            x.numeric_owner = true;
        } else if (strcmp(a.pos[i], "numericowner:false") == 0) {
            x.numeric_owner = false;
        } else {
            fprintf(stderr, "%s: error: %s: unsupported argument (compress:gzip and "
                            "numericowner:true are)\n", prog, a.pos[i]);
            rc = 2;
        }
    }
    if (rc != 0) {
        if (rc == 2)
            fprintf(stderr, "Try `kvmkit %s --help' for more information.\n", prog);
        else
            fprintf(stderr, "%s: error: out of memory\n", prog);
        gfs_opts_free(&a.o);
        return rc == 2 ? 2 : 1;
    }
    const char *dir = a.pos[0], *tarball = a.pos[1];
    if (gfs_opts_open(&a.o, true, &x.h, NULL) < 0) {
        gfs_opts_free(&a.o);
        return 1;
    }
    if (strcmp(tarball, "-") == 0) {
        fd = STDOUT_FILENO;
    } else if ((fd = open(tarball, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0) {
        fprintf(stderr, "%s: error: %s: %s\n", prog, tarball, strerror(errno));
        goto out;
    }
    if (!(x.buf = malloc(CHUNK)) || tar_writer_new(fd, gzip, &x.t) < 0) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        goto out;
    }
    rc = tar_out(&x, dir);
    if (rc < 0 && x.write_rc)
        fprintf(stderr, "%s: error: %s: %s\n", prog, fd == STDOUT_FILENO ? "standard output" : tarball,
                strerror(-x.write_rc));
    else if (rc < 0)
        report(x.h, prog, rc);
    else
        status = 0;
out:
    if (fd > STDOUT_FILENO && close(fd) < 0 && status == 0) {
        fprintf(stderr, "%s: error: %s: %s\n", prog, tarball, strerror(errno));
        status = 1;
    }
    tar_writer_free(x.t);
    links_free(&x.links);
    free(x.buf);
    gfs_handle_free(x.h);
    gfs_opts_free(&a.o);
    return status;
}

/* ---- virt-copy-out ------------------------------------------------------ */

struct pending_dir {
    char *path;
    uint32_t mode, uid, gid;
    int64_t mtime;
    uint32_t mtime_nsec;
};

/*
 * The local directory regular files are being created in, opened once so
 * that each file is created relative to it, with what was learnt from the
 * first file made there: which owner a new file gets (so that fchown is
 * called only when the guest's owner differs) and whether a file comes out
 * with the mode it was created with (no default ACL, a filesystem that
 * keeps modes), so that fchmod is called only when it would change
 * something, as tar -x does.
 */
struct local_dir {
    int fd;                      /* -1: none open */
    char path[GFS_PATH_MAX * 2]; /* its local path */
    bool exact_modes;            /* create modes come out as asked */
    bool probed;                 /* a file was made here and fstat'ed */
    uid_t new_uid;               /* the owner of a new file (when probed) */
    gid_t new_gid;
};

struct copy_out {
    const char *prog;
    struct gfs_handle *h;
    struct links links; /* guest inode -> local path */
    bool root;
    mode_t umask;             /* the caller's; umask(0) during a walk */
    char local[GFS_PATH_MAX]; /* LOCALDIR/NAME */
    struct pending_dir *dirs;
    size_t ndirs, capdirs;
    struct local_dir dir;
    unsigned char *buf;       /* CHUNK bytes for file data */
    int errors; /* per-file problems (devices without root, ...): reported, not fatal */
};

static int local_error(struct copy_out *c, const char *path, const char *what, int err)
{
    fprintf(stderr, "%s: error: %s: %s: %s\n", c->prog, path, what, strerror(err));
    c->errors++;
    return 0;
}

static void set_times(int dirfd_unused, const char *path, int64_t sec, uint32_t nsec, int flags)
{
    (void)dirfd_unused;
    /* tar -x: atime is the extraction time, mtime the archived one */
    struct timespec ts[2] = {{.tv_nsec = UTIME_NOW}, {.tv_sec = (time_t)sec, .tv_nsec = nsec}};
    utimensat(AT_FDCWD, path, ts, flags);
}

static mode_t local_mode(const struct copy_out *c, uint32_t mode)
{
    return c->root ? (mode & 07777) : (mode & 07777 & ~c->umask);
}

static void close_local_dir(struct copy_out *c)
{
    if (c->dir.fd >= 0)
        close(c->dir.fd);
    c->dir.fd = -1;
    c->dir.path[0] = 0;
    c->dir.probed = false;
    c->dir.exact_modes = false;
}

/* Make @parent (the local path of @lpath's directory) the directory files
 * are created in. If it cannot be opened, files go by full path and get
 * fchown and fchmod every time. */
static void use_local_dir(struct copy_out *c, const char *parent)
{
    if (c->dir.fd >= 0 && strcmp(c->dir.path, parent) == 0)
        return;
    close_local_dir(c);
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || strlen(parent) >= sizeof(c->dir.path)) {
        if (fd >= 0)
            close(fd);
        return;
    }
    c->dir.fd = fd;
    snprintf(c->dir.path, sizeof(c->dir.path), "%s", parent);
    /* A default ACL, not the umask, decides a new file's mode there. */
    errno = 0;
    ssize_t n = fgetxattr(fd, "system.posix_acl_default", NULL, 0);
    c->dir.exact_modes = n < 0 && (errno == ENODATA || errno == ENOTSUP);
}

/*
 * Regular file @e to @lpath (in directory c->dir when open, there named
 * @name). The file is created with its final mode when that mode has no
 * set-id or sticky bit and the directory keeps create modes as they are
 * asked (the walk runs with umask 0, so the mode asked is local_mode());
 * otherwise it is created 0600 and fchmod'ed after the data, as before.
 */
static int write_local_file(struct copy_out *c, const struct tool_entry *e, const char *lpath,
                            const char *name)
{
    int dfd = c->dir.fd >= 0 ? c->dir.fd : AT_FDCWD;
    const char *at = c->dir.fd >= 0 ? name : lpath;
    mode_t want = local_mode(c, e->st.mode);
    bool exact = c->dir.fd >= 0 && c->dir.exact_modes && !(want & 07000);
    mode_t create = exact ? want : 0600;
    /* A fresh file, never through a link already there: O_EXCL, and only
     * when something is in the way is it removed (as tar -x does). */
    int fd = openat(dfd, at, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, create);
    if (fd < 0 && errno == EEXIST) {
        unlinkat(dfd, at, 0);
        fd = openat(dfd, at, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, create);
    }
    if (fd < 0)
        return local_error(c, lpath, "cannot open", errno);
    bool write_failed;
    int rc = tool_copy_with_buffer(c->h, &e->node, e->st.size, e->path, fd, c->buf, CHUNK,
                                   &write_failed);
    if (rc < 0) {
        close(fd);
        if (write_failed)
            return gfs_set_error(c->h, rc, "%s: %s", lpath, strerror(-rc));
        return rc; /* a guest read error: stop, as tar-out's stream would */
    }
    if (c->dir.fd >= 0 && !c->dir.probed) {
        /* The first file here: who owns a new file, and did its mode come
         * out as asked (a filesystem may impose its own)? */
        struct stat ls;
        if (fstat(fd, &ls) == 0) {
            c->dir.probed = true;
            c->dir.new_uid = ls.st_uid;
            c->dir.new_gid = ls.st_gid;
            if ((ls.st_mode & 07777) != create)
                c->dir.exact_modes = exact = false;
        } else {
            c->dir.exact_modes = exact = false;
        }
    }
    if (c->root && (!c->dir.probed || e->st.uid != c->dir.new_uid ||
                    e->st.gid != c->dir.new_gid) &&
        fchown(fd, e->st.uid, e->st.gid) < 0)
        local_error(c, lpath, "cannot change ownership", errno);
    if (!exact && fchmod(fd, want) < 0)
        local_error(c, lpath, "cannot change mode", errno);
    struct timespec ts[2] = {{.tv_nsec = UTIME_NOW},
                             {.tv_sec = (time_t)e->st.mtime.sec, .tv_nsec = e->st.mtime.nsec}};
    futimens(fd, ts);
    if (close(fd) < 0)
        return gfs_set_error(c->h, -errno, "%s: %s", lpath, strerror(errno));
    return 0;
}

static int add_pending_dir(struct copy_out *c, const char *lpath, const struct gfs_stat *st)
{
    if (c->ndirs == c->capdirs) {
        size_t ncap = c->capdirs ? c->capdirs * 2 : 64;
        struct pending_dir *n = realloc(c->dirs, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        c->dirs = n;
        c->capdirs = ncap;
    }
    char *p = strdup(lpath);
    if (!p)
        return -ENOMEM;
    c->dirs[c->ndirs++] = (struct pending_dir){p, st->mode, st->uid, st->gid, st->mtime.sec,
                                               st->mtime.nsec};
    return 0;
}

static int copy_cb(void *arg, const struct tool_entry *e)
{
    struct copy_out *c = arg;
    char lpath[GFS_PATH_MAX * 2];
    const struct gfs_stat *st = &e->st;
    if (e->rel[0])
        snprintf(lpath, sizeof(lpath), "%s/%s", c->local, e->rel);
    else
        snprintf(lpath, sizeof(lpath), "%s", c->local);
    switch (st->mode & S_IFMT) {
    case S_IFDIR:
        /* writable while we fill it; its mode and times are set at the end */
        if (mkdir(lpath, 0700) < 0) {
            struct stat ls;
            if (errno != EEXIST || stat(lpath, &ls) < 0 || !S_ISDIR(ls.st_mode))
                return local_error(c, lpath, "cannot mkdir", errno);
            chmod(lpath, ls.st_mode | S_IRWXU);
        }
        return add_pending_dir(c, lpath, st);
    case S_IFREG: {
        const char *first = st->nlink > 1 ? links_find(&c->links, e->node.fs, e->node.ino) : NULL;
        if (first) {
            unlink(lpath);
            if (link(first, lpath) < 0)
                return local_error(c, lpath, "cannot hard link", errno);
            return 0;
        }
        char *slash = strrchr(lpath, '/');
        if (slash && slash != lpath) {
            *slash = 0;
            use_local_dir(c, lpath);
            *slash = '/';
        } else {
            close_local_dir(c);
        }
        int rc = write_local_file(c, e, lpath, slash ? slash + 1 : lpath);
        if (rc == 0 && st->nlink > 1)
            rc = links_add(&c->links, e->node.fs, e->node.ino, lpath);
        return rc;
    }
    case S_IFLNK: {
        char target[GFS_PATH_MAX];
        int rc = gfs_fs_readlink(e->node.fs, e->node.ino, target, sizeof(target));
        if (rc < 0)
            return gfs_set_error(c->h, rc, "%s: %s", e->path, gfs_fs_error(e->node.fs));
        unlink(lpath);
        if (symlink(target, lpath) < 0)
            return local_error(c, lpath, "cannot create symlink", errno);
        if (c->root && lchown(lpath, st->uid, st->gid) < 0)
            local_error(c, lpath, "cannot change ownership", errno);
        set_times(0, lpath, st->mtime.sec, st->mtime.nsec, AT_SYMLINK_NOFOLLOW);
        return 0;
    }
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO: {
        unlink(lpath);
        dev_t dev = makedev(st->rdev_major, st->rdev_minor);
        mode_t type = st->mode & S_IFMT;
        if (mknod(lpath, type | 0600, S_ISFIFO(st->mode) ? 0 : dev) < 0)
            return local_error(c, lpath, "cannot mknod", errno);
        if (c->root && chown(lpath, st->uid, st->gid) < 0)
            local_error(c, lpath, "cannot change ownership", errno);
        chmod(lpath, local_mode(c, st->mode));
        set_times(0, lpath, st->mtime.sec, st->mtime.nsec, 0);
        return 0;
    }
    default:
        fprintf(stderr, "%s: warning: %s: socket ignored\n", c->prog, e->path);
        return 0;
    }
}

static void finish_dirs(struct copy_out *c)
{
    /* deepest first, as tar applies its delayed directory attributes */
    for (size_t i = c->ndirs; i-- > 0;) {
        struct pending_dir *d = &c->dirs[i];
        if (c->root && chown(d->path, d->uid, d->gid) < 0)
            local_error(c, d->path, "cannot change ownership", errno);
        if (chmod(d->path, local_mode(c, d->mode)) < 0)
            local_error(c, d->path, "cannot change mode", errno);
        set_times(0, d->path, d->mtime, d->mtime_nsec, 0);
        free(d->path);
    }
    c->ndirs = 0;
}

/* The last component of @path ("/a/b/" -> "b", "/" -> ""), as guestfish's
 * split_path. */
static const char *base_name(const char *path, char *buf, size_t len)
{
    snprintf(buf, len, "%s", path);
    size_t l = strlen(buf);
    if (l >= 2 && buf[l - 1] == '/')
        buf[l - 1] = 0;
    char *p = strrchr(buf, '/');
    return p ? p + 1 : buf;
}

static int copy_one(struct copy_out *c, const char *remote, const char *localdir)
{
    struct gfs_stat st;
    char bbuf[GFS_PATH_MAX];
    int rc = gfs_lstat(c->h, remote, &st);
    if (rc < 0 && rc != -ENOENT && rc != -ENOTDIR)
        return report(c->h, c->prog, rc);
    if (rc < 0 || !(S_ISREG(st.mode) || S_ISDIR(st.mode))) {
        fprintf(stderr, "%s: error: '%s' is not a file or directory\n", c->prog, remote);
        return 1;
    }
    const char *base = base_name(remote, bbuf, sizeof(bbuf));
    if (base[0]) {
        int n = snprintf(c->local, sizeof(c->local), "%s/%s", localdir, base);
        if (n < 0 || (size_t)n >= sizeof(c->local)) {
            fprintf(stderr, "%s: error: %s/%s: path too long\n", c->prog, localdir, base);
            return 1;
        }
    } else
        snprintf(c->local, sizeof(c->local), "%s", localdir); /* "/": into LOCALDIR */
    if (S_ISREG(st.mode)) {
        /* guestfs_download: the content only */
        struct gfs_node n;
        bool write_failed;
        if ((rc = gfs_resolve(c->h, remote, GFS_NOFOLLOW, &n)) < 0)
            return report(c->h, c->prog, rc);
        int fd = open(c->local, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0) {
            fprintf(stderr, "%s: error: %s: %s\n", c->prog, c->local, strerror(errno));
            return 1;
        }
        rc = tool_copy_to_fd(c->h, &n, st.size, remote, fd, &write_failed);
        if (close(fd) < 0 && rc == 0) {
            rc = -errno;
            write_failed = true;
        }
        if (rc < 0 && write_failed) {
            fprintf(stderr, "%s: error: %s: %s\n", c->prog, c->local, strerror(-rc));
            return 1;
        }
        return rc < 0 ? report(c->h, c->prog, rc) : 0;
    }
    /* Modes are computed here (local_mode), so that files can be created
     * with their final mode. */
    umask(0);
    rc = tool_walk(c->h, remote, true, copy_cb, c);
    umask(c->umask);
    close_local_dir(c);
    finish_dirs(c);
    if (rc < 0)
        return report(c->h, c->prog, rc);
    return 0;
}

void virt_copy_out_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit virt-copy-out -a IMAGE [-a IMAGE ...] [-m DEV[:MP]] REMOTE [REMOTE ...]\n"
            "                           LOCALDIR\n"
            "\n"
            "Copy files and directories out of a disk image into LOCALDIR, like libguestfs's\n"
            "virt-copy-out: a file's content; a directory recursively with modes, times,\n"
            "symlinks, hard links, FIFOs (and owners and devices when run as root). Without\n"
            "-m the guest is inspected and its filesystems mounted as its /etc/fstab says.\n"
            "\n"
            "Options:\n"
            "  -a, --add IMAGE        a disk image (repeat for more disks)\n"
            "  --format FMT           format of the following -a images: raw, qcow2, auto\n"
            "  -m, --mount DEV[:MOUNTPOINT]  mount DEV on MOUNTPOINT (default /)\n"
            "  -v, --verbose          print warnings from reading the images\n"
            "  --help                 show this help\n"
            "\n"
            "Exit status: 0; 1 on an error; 2 on a usage error.\n");
}

int virt_copy_out_main(int argc, char **argv)
{
    struct copy_args a;
    struct copy_out c = {.prog = "virt-copy-out", .root = geteuid() == 0, .dir.fd = -1};
    int rc = parse(c.prog, virt_copy_out_help, argc, argv, &a);
    if (rc == 1) {
        gfs_opts_free(&a.o);
        return 0;
    }
    if (rc == 0 && a.npos < 2) {
        fprintf(stderr, "%s: error: use 'copy-out REMOTE [REMOTE...] LOCALDIR' to copy files "
                        "out of the image\n", c.prog);
        rc = 2;
    }
    if (rc != 0) {
        if (rc == 2)
            fprintf(stderr, "Try `kvmkit %s --help' for more information.\n", c.prog);
        else
            fprintf(stderr, "%s: error: out of memory\n", c.prog);
        gfs_opts_free(&a.o);
        return rc == 2 ? 2 : 1;
    }
    const char *localdir = a.pos[a.npos - 1];
    struct stat ls;
    if (stat(localdir, &ls) < 0 || !S_ISDIR(ls.st_mode)) {
        fprintf(stderr, "%s: error: target '%s' is not a directory\n", c.prog, localdir);
        gfs_opts_free(&a.o);
        return 1;
    }
    c.umask = umask(0);
    umask(c.umask);
    if (!(c.buf = malloc(CHUNK))) {
        fprintf(stderr, "%s: error: out of memory\n", c.prog);
        gfs_opts_free(&a.o);
        return 1;
    }
    if (gfs_opts_open(&a.o, true, &c.h, NULL) < 0) {
        free(c.buf);
        gfs_opts_free(&a.o);
        return 1;
    }
    int status = 0;
    /* guestfish stops at the first remote that fails */
    for (int i = 0; i < a.npos - 1 && status == 0; i++)
        status = copy_one(&c, a.pos[i], localdir);
    if (c.errors)
        status = 1;
    free(c.dirs);
    free(c.buf);
    links_free(&c.links);
    gfs_handle_free(c.h);
    gfs_opts_free(&a.o);
    return status;
}
