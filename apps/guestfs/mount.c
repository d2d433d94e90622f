/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mount.c — `kvmkit mount`: a disk image's filesystems mounted read-only on
 * the host with FUSE (libfuse3), like `guestmount --ro`, but read in-process
 * by lib/guestfs: no appliance, no root needed beyond /dev/fuse and
 * fusermount3.
 *
 * The FUSE loop is single-threaded (fuse_loop, not fuse_loop_mt): a
 * lib/guestfs handle belongs to one thread. Every operation is read-only;
 * the mount has the "ro" option, so the kernel answers most writes with
 * EROFS itself, and the write operations here return -EROFS too. Inode
 * numbers are the filesystem's (use_ino); those of a filesystem mounted
 * below "/" have the mount's index in their top byte so that two
 * filesystems' numbers never collide (find and diff detect loops by them).
 * SIGTERM, SIGINT and SIGHUP end the loop and unmount (libfuse's handlers);
 * so does `fusermount3 -u MOUNTPOINT`.
 */
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "gfs_opts.h"
#include "guestfs_cli.h"

#define PROG "kvmkit mount"
#define XATTR_MAX_LIST 65536

void mount_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit mount -a IMAGE [-a IMAGE ...] (-m DEV[:MOUNTPOINT] ... | -i)\n"
            "                    [--format FMT] [-o FUSE-OPTION] [-f] MOUNTPOINT\n"
            "\n"
            "Mount the filesystems of disk images (raw or qcow2) read-only on MOUNTPOINT\n"
            "with FUSE, like guestmount --ro. The images are read in-process (ext2/3/4,\n"
            "vfat); nothing is booted. Unmount with 'fusermount3 -u MOUNTPOINT' or by\n"
            "sending SIGTERM or SIGINT to the process.\n"
            "\n"
            "Options:\n"
            "  -a, --add IMAGE        a disk image (repeat for more disks: /dev/sda, sdb, ...)\n"
            "  --format FMT           format of the following -a images: raw, qcow2, auto\n"
            "  -m, --mount DEV[:MP]   mount DEV (e.g. /dev/sda1) at MP of the guest tree\n"
            "                         (default /); repeatable\n"
            "  -i, --inspector        find the operating system and mount its filesystems\n"
            "                         as its /etc/fstab says\n"
            "  -o, --option OPT       a FUSE mount option (allow_other, ...); repeatable\n"
            "  -f, --foreground       stay in the foreground (default: detach once mounted)\n"
            "  -r, --ro               accepted: the mount is always read-only\n"
            "  -v, --verbose          print warnings about the images\n"
            "  --help                 show this help\n"
            "\n"
            "Exit status: 0 after a clean unmount, 1 if an image, device or the mount\n"
            "fails, 2 on a usage error.\n");
}

struct mount_state {
    struct gfs_handle *h;
};

/* An open file: its filesystem and inode. */
struct open_file {
    struct gfs_fs *fs;
    uint64_t ino;
};

static struct gfs_handle *handle(void)
{
    return ((struct mount_state *)fuse_get_context()->private_data)->h;
}

/* The filesystem's inode number, made unique across the mounts. */
static ino_t unique_ino(struct gfs_handle *h, const struct gfs_fs *fs, uint64_t ino)
{
    size_t n = gfs_nmounts(h);
    for (size_t i = 0; i < n; i++)
        if (gfs_mount_at(h, i)->fs == fs)
            return (ino_t)(i == 0 ? ino : ((uint64_t)i << 56) ^ ino);
    return (ino_t)ino;
}

static void to_stat(struct gfs_handle *h, const struct gfs_fs *fs, const struct gfs_stat *g,
                    struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = unique_ino(h, fs, g->ino);
    st->st_mode = g->mode;
    st->st_nlink = g->nlink;
    st->st_uid = g->uid;
    st->st_gid = g->gid;
    st->st_size = (off_t)g->size;
    st->st_blocks = (blkcnt_t)g->blocks;
    st->st_blksize = (blksize_t)g->blksize;
    st->st_rdev = makedev(g->rdev_major, g->rdev_minor);
    st->st_atim = (struct timespec){g->atime.sec, g->atime.nsec};
    st->st_mtim = (struct timespec){g->mtime.sec, g->mtime.nsec};
    st->st_ctim = (struct timespec){g->ctime.sec, g->ctime.nsec};
}

/* The node at @path itself (FUSE hands over resolved paths: no following). */
static int node_of(const char *path, struct gfs_node *node)
{
    return gfs_resolve(handle(), path, GFS_NOFOLLOW, node);
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    (void)conn;
    cfg->use_ino = 1;
    cfg->readdir_ino = 1;
    /* Nothing ever changes underneath: cache names, attributes and data. */
    cfg->kernel_cache = 1;
    cfg->entry_timeout = 3600;
    cfg->attr_timeout = 3600;
    cfg->negative_timeout = 3600;
    return fuse_get_context()->private_data;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct gfs_handle *h = handle();
    struct gfs_node n;
    if (fi && fi->fh) {
        const struct open_file *of = (const struct open_file *)(uintptr_t)fi->fh;
        n = (struct gfs_node){of->fs, of->ino};
    } else {
        int rc = node_of(path, &n);
        if (rc < 0)
            return rc;
    }
    struct gfs_stat g;
    int rc = gfs_fs_stat(n.fs, n.ino, &g);
    if (rc < 0)
        return rc;
    to_stat(h, n.fs, &g, st);
    return 0;
}

static int op_readlink(const char *path, char *buf, size_t size)
{
    struct gfs_node n;
    int rc = node_of(path, &n);
    if (rc < 0)
        return rc;
    /* FUSE wants the target NUL-terminated and cut to @size. */
    char target[GFS_PATH_MAX + 1];
    rc = gfs_fs_readlink(n.fs, n.ino, target, sizeof(target));
    if (rc < 0)
        return rc;
    snprintf(buf, size, "%s", target);
    return 0;
}

struct dir_fill {
    struct gfs_handle *h;
    struct gfs_fs *fs;
    void *buf;
    fuse_fill_dir_t filler;
};

static int dir_entry(void *arg, const struct gfs_dirent *de)
{
    struct dir_fill *d = arg;
    char name[256];
    if (de->name_len == 0 || de->name_len >= sizeof(name))
        return 0;
    memcpy(name, de->name, de->name_len);
    name[de->name_len] = 0;
    if (memchr(name, '/', de->name_len) || strlen(name) != de->name_len)
        return 0; /* not a name the kernel can take */
    struct stat st = {0};
    st.st_ino = unique_ino(d->h, d->fs, de->ino);
    st.st_mode = de->type == DT_UNKNOWN ? 0 : DTTOIF(de->type);
    return d->filler(d->buf, name, &st, 0, 0) ? 1 : 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)offset;
    (void)fi;
    (void)flags;
    struct gfs_handle *h = handle();
    struct gfs_node n;
    int rc = node_of(path, &n);
    if (rc < 0)
        return rc;
    struct stat st = {.st_ino = unique_ino(h, n.fs, n.ino), .st_mode = S_IFDIR};
    filler(buf, ".", &st, 0, 0);
    st.st_ino = 0;
    filler(buf, "..", &st, 0, 0);
    struct dir_fill d = {h, n.fs, buf, filler};
    rc = gfs_readdir(h, path, dir_entry, &d);
    return rc < 0 ? rc : 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
        return -EROFS;
    struct gfs_node n;
    int rc = node_of(path, &n);
    if (rc < 0)
        return rc;
    struct open_file *of = malloc(sizeof(*of));
    if (!of)
        return -ENOMEM;
    *of = (struct open_file){n.fs, n.ino};
    fi->fh = (uint64_t)(uintptr_t)of;
    fi->keep_cache = 1;
    return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t offset,
                   struct fuse_file_info *fi)
{
    (void)path;
    const struct open_file *of = (const struct open_file *)(uintptr_t)fi->fh;
    if (offset < 0)
        return -EINVAL;
    if (size > INT32_MAX)
        size = INT32_MAX;
    size_t done = 0;
    while (done < size) {
        int64_t r = gfs_fs_read(of->fs, of->ino, (uint64_t)offset + done, buf + done,
                                size - done);
        if (r < 0)
            return done ? (int)done : (int)r;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (int)done;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    free((void *)(uintptr_t)fi->fh);
    fi->fh = 0;
    return 0;
}

static int op_statfs(const char *path, struct statvfs *st)
{
    struct gfs_statvfs g;
    int rc = gfs_statvfs(handle(), path, &g);
    if (rc < 0)
        return rc;
    memset(st, 0, sizeof(*st));
    st->f_bsize = g.bsize;
    st->f_frsize = g.frsize;
    st->f_blocks = g.blocks;
    st->f_bfree = g.bfree;
    st->f_bavail = g.bavail;
    st->f_files = g.files;
    st->f_ffree = g.ffree;
    st->f_favail = g.favail;
    st->f_fsid = g.fsid;
    st->f_flag = g.flag | ST_RDONLY;
    st->f_namemax = g.namemax;
    return 0;
}

static int op_getxattr(const char *path, const char *name, char *value, size_t size)
{
    struct gfs_node n;
    int rc = node_of(path, &n);
    if (rc < 0)
        return rc;
    if (size)
        return gfs_fs_getxattr(n.fs, n.ino, name, value, size);
    /* The size only: read into a scratch buffer. */
    char *tmp = malloc(XATTR_MAX_LIST);
    if (!tmp)
        return -ENOMEM;
    rc = gfs_fs_getxattr(n.fs, n.ino, name, tmp, XATTR_MAX_LIST);
    free(tmp);
    return rc;
}

static int op_listxattr(const char *path, char *list, size_t size)
{
    struct gfs_node n;
    int rc = node_of(path, &n);
    if (rc < 0)
        return rc;
    if (size)
        return gfs_fs_listxattr(n.fs, n.ino, list, size);
    char *tmp = malloc(XATTR_MAX_LIST);
    if (!tmp)
        return -ENOMEM;
    rc = gfs_fs_listxattr(n.fs, n.ino, tmp, XATTR_MAX_LIST);
    free(tmp);
    return rc;
}

static int op_access(const char *path, int mask)
{
    if (mask & W_OK)
        return -EROFS;
    struct gfs_node n;
    int rc = node_of(path, &n);
    if (rc < 0)
        return rc;
    struct gfs_stat g;
    rc = gfs_fs_stat(n.fs, n.ino, &g);
    if (rc < 0 || mask == F_OK)
        return rc;
    const struct fuse_context *ctx = fuse_get_context();
    unsigned bits;
    if (ctx->uid == 0) {
        /* root reads anything, and executes what has an x bit anywhere */
        if ((mask & X_OK) && !S_ISDIR(g.mode) && !(g.mode & 0111))
            return -EACCES;
        return 0;
    }
    if (ctx->uid == g.uid)
        bits = (g.mode >> 6) & 7;
    else if (ctx->gid == g.gid)
        bits = (g.mode >> 3) & 7;
    else
        bits = g.mode & 7;
    if (((mask & R_OK) && !(bits & 4)) || ((mask & X_OK) && !(bits & 1)))
        return -EACCES;
    return 0;
}

/* Writes: the kernel refuses most of them on an "ro" mount; these cover the rest. */
static int op_mknod(const char *p, mode_t m, dev_t d)
{
    (void)p, (void)m, (void)d;
    return -EROFS;
}
static int op_mkdir(const char *p, mode_t m)
{
    (void)p, (void)m;
    return -EROFS;
}
static int op_unlink(const char *p)
{
    (void)p;
    return -EROFS;
}
static int op_symlink(const char *t, const char *p)
{
    (void)t, (void)p;
    return -EROFS;
}
static int op_rename(const char *a, const char *b, unsigned flags)
{
    (void)a, (void)b, (void)flags;
    return -EROFS;
}
static int op_link(const char *a, const char *b)
{
    (void)a, (void)b;
    return -EROFS;
}
static int op_chmod(const char *p, mode_t m, struct fuse_file_info *fi)
{
    (void)p, (void)m, (void)fi;
    return -EROFS;
}
static int op_chown(const char *p, uid_t u, gid_t g, struct fuse_file_info *fi)
{
    (void)p, (void)u, (void)g, (void)fi;
    return -EROFS;
}
static int op_truncate(const char *p, off_t o, struct fuse_file_info *fi)
{
    (void)p, (void)o, (void)fi;
    return -EROFS;
}
static int op_write(const char *p, const char *b, size_t s, off_t o, struct fuse_file_info *fi)
{
    (void)p, (void)b, (void)s, (void)o, (void)fi;
    return -EROFS;
}
static int op_setxattr(const char *p, const char *n, const char *v, size_t s, int f)
{
    (void)p, (void)n, (void)v, (void)s, (void)f;
    return -EROFS;
}
static int op_removexattr(const char *p, const char *n)
{
    (void)p, (void)n;
    return -EROFS;
}
static int op_create(const char *p, mode_t m, struct fuse_file_info *fi)
{
    (void)p, (void)m, (void)fi;
    return -EROFS;
}
static int op_utimens(const char *p, const struct timespec tv[2], struct fuse_file_info *fi)
{
    (void)p, (void)tv, (void)fi;
    return -EROFS;
}

static const struct fuse_operations ops = {
    .init = op_init,
    .getattr = op_getattr,
    .readlink = op_readlink,
    .readdir = op_readdir,
    .open = op_open,
    .read = op_read,
    .release = op_release,
    .statfs = op_statfs,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .access = op_access,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_unlink,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .chmod = op_chmod,
    .chown = op_chown,
    .truncate = op_truncate,
    .write = op_write,
    .setxattr = op_setxattr,
    .removexattr = op_removexattr,
    .create = op_create,
    .utimens = op_utimens,
};

/* The FUSE session: mount, (detach), serve until unmounted or signalled. */
static int serve(struct gfs_opts *go, struct gfs_handle *h, const char *mountpoint,
                 char **fuse_options, size_t nfuse_options, bool foreground)
{
    char fsname[512];
    snprintf(fsname, sizeof(fsname), "ro,fsname=kvmkit:%s,subtype=kvmkit",
             go->drives[0].path);
    /* fsname is a comma-separated option: a comma in the image name would
     * split it. */
    for (char *p = fsname + strlen("ro,fsname=kvmkit:"); *p && p < fsname + sizeof(fsname); p++)
        if (*p == ',' && strncmp(p, ",subtype=kvmkit", 15) != 0)
            *p = '_';
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    int rc = fuse_opt_add_arg(&args, "kvmkit-mount");
    rc = rc ? rc : fuse_opt_add_arg(&args, "-o");
    rc = rc ? rc : fuse_opt_add_arg(&args, fsname);
    for (size_t i = 0; rc == 0 && i < nfuse_options; i++) {
        rc = fuse_opt_add_arg(&args, "-o");
        rc = rc ? rc : fuse_opt_add_arg(&args, fuse_options[i]);
    }
    if (rc) {
        fuse_opt_free_args(&args);
        gfs_opts_error(go, -ENOMEM, "out of memory");
        return 1;
    }
    struct mount_state state = {h};
    struct fuse *f = fuse_new(&args, &ops, sizeof(ops), &state);
    fuse_opt_free_args(&args);
    if (!f) {
        gfs_opts_error(go, -EINVAL, "bad FUSE options (libfuse's message is above)");
        return 1;
    }
    int status = 1;
    if (fuse_mount(f, mountpoint) != 0) {
        gfs_opts_error(go, -EIO, "cannot mount on %s (libfuse's message is above)", mountpoint);
        goto out_destroy;
    }
    struct fuse_session *se = fuse_get_session(f);
    if (fuse_set_signal_handlers(se) != 0) {
        gfs_opts_error(go, -EIO, "cannot install signal handlers");
        goto out_unmount;
    }
    if (fuse_daemonize(foreground ? 1 : 0) != 0) {
        gfs_opts_error(go, -EIO, "cannot detach from the terminal");
        goto out_signals;
    }
    status = fuse_loop(f) < 0 ? 1 : 0;
out_signals:
    fuse_remove_signal_handlers(se);
out_unmount:
    fuse_unmount(f);
out_destroy:
    fuse_destroy(f);
    return status;
}

int mount_main(int argc, char **argv)
{
    enum { OPT_FORMAT = 256, OPT_HELP };
    static const struct option opts[] = {
        {"add", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"mount", required_argument, NULL, 'm'},
        {"inspector", no_argument, NULL, 'i'},
        {"option", required_argument, NULL, 'o'},
        {"foreground", no_argument, NULL, 'f'},
        {"ro", no_argument, NULL, 'r'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct gfs_opts go;
    gfs_opts_init(&go, PROG);
    char **fuse_options = NULL;
    size_t nfuse_options = 0;
    char *mountpoint = NULL;
    bool foreground = false;
    int c, status = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+a:m:io:frvx", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (gfs_opts_add_drive(&go, optarg) < 0)
                goto out;
            break;
        case OPT_FORMAT:
            if (gfs_opts_set_format(&go, optarg) < 0)
                goto out;
            break;
        case 'm':
            if (gfs_opts_add_mount(&go, optarg) < 0)
                goto out;
            break;
        case 'i':
            go.inspect = true;
            break;
        case 'o': {
            char **v = realloc(fuse_options, (nfuse_options + 1) * sizeof(*v));
            if (!v)
                goto out;
            fuse_options = v;
            fuse_options[nfuse_options++] = optarg;
            break;
        }
        case 'f':
            foreground = true;
            break;
        case 'r':
        case 'x':
            break;
        case 'v':
            go.verbose = true;
            break;
        case OPT_HELP:
            mount_help(stdout);
            status = 0;
            goto out;
        default:
            mount_help(stderr);
            goto out;
        }
    }
    if (argc - optind != 1) {
        if (argc == optind)
            gfs_opts_error(&go, -EINVAL, "no mount point given");
        else
            gfs_opts_error(&go, -EINVAL, "extra argument '%s' on the command line",
                           argv[optind + 1]);
        mount_help(stderr);
        goto out;
    }
    if (go.ndrives == 0 || (!go.inspect && go.nmounts == 0)) {
        gfs_opts_error(&go, -EINVAL, go.ndrives == 0 ? "you must specify at least one -a option"
                                                     : "you must give -m DEVICE or -i");
        mount_help(stderr);
        goto out;
    }
    /* Absolute: the detached process works in "/", and the unmount at exit
     * (fusermount3) must find the same directory. */
    mountpoint = realpath(argv[optind], NULL);
    struct stat st;
    status = 1;
    if (!mountpoint || stat(mountpoint, &st) != 0) {
        gfs_opts_error(&go, -errno, "%s: %s", argv[optind], strerror(errno));
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        gfs_opts_error(&go, -ENOTDIR, "%s: not a directory", argv[optind]);
        goto out;
    }
    struct gfs_handle *h;
    if (gfs_opts_open(&go, false, &h, NULL) < 0)
        goto out;
    status = serve(&go, h, mountpoint, fuse_options, nfuse_options, foreground);
    gfs_handle_free(h);
out:
    free(mountpoint);
    free(fuse_options);
    gfs_opts_free(&go);
    return status;
}
