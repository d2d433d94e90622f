/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virt_ls.c — `kvmkit virt-ls`: list files in a disk image, like
 * libguestfs's virt-ls (guestfs-tools 1.48) and with its output formats:
 *
 *   (no -l/-R)  the names in each directory, sorted (guestfs_ls)
 *   -l          `ls -la` of the directory as the appliance runs it
 *   -R          every path below the directory, relative to it, sorted as
 *               one list (guestfs_find)
 *   -lR         one line per file, parents first, each directory's entries
 *               sorted: type, mode (%04o), size (%10), then with --uids,
 *               --times/--time-t/--time-relative/--time-days, --extra-stats
 *               and --checksum their columns, the path, "-> target" for a
 *               symlink; --csv for comma-separated fields.
 *
 * As in virt-ls, --csv, -h, --uids, --time*, --extra-stats and --checksum
 * need -lR ("used a flag which can only be combined with -lR mode", exit
 * 1), and -h cannot go with --csv. Without -m the guest is inspected and
 * mounted as its fstab says.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gfs_opts.h"
#include "gfs_tool.h"
#include "guestfs_cli.h"

#define PROG "virt-ls"

struct ls {
    struct gfs_handle *h;
    bool csv, human, uids, times, time_t_out, extra;
    int time_relative; /* 0, 1 = seconds, 2 = days */
    const char *checksum;
    time_t now;
    int field;
};

void virt_ls_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit virt-ls [OPTIONS] -a IMAGE [-a IMAGE ...] DIRECTORY [DIRECTORY ...]\n"
            "\n"
            "List files in a disk image (raw or qcow2), like libguestfs's virt-ls, read\n"
            "in-process without booting anything. Without -m the guest's operating system is\n"
            "inspected and its filesystems mounted as its /etc/fstab says.\n"
            "\n"
            "Options:\n"
            "  -a, --add IMAGE        a disk image (repeat for more disks)\n"
            "  --format FMT           format of the following -a images: raw, qcow2, auto\n"
            "  -m, --mount DEV[:MOUNTPOINT[:OPTS[:FSTYPE]]]\n"
            "                         mount DEV on MOUNTPOINT (default /)\n"
            "  -l, --long             long listing (ls -la); with -R one line per file\n"
            "  -R, --recursive        recursive listing\n"
            "  --checksum[=TYPE]      (-lR) checksums of regular files: crc, md5 (default),\n"
            "                         sha1, sha224, sha256, sha384, sha512\n"
            "  -h, --human-readable   (-lR) sizes like 1.0M\n"
            "  --times                (-lR) atime, mtime, ctime as dates\n"
            "  --time-t               (-lR) times as seconds since the epoch\n"
            "  --time-relative        (-lR) times as seconds before now\n"
            "  --time-days            (-lR) times as days before now\n"
            "  --uids                 (-lR) owner and group ids\n"
            "  --extra-stats          (-lR) device, inode, links, rdev, blocks\n"
            "  --csv                  (-lR) comma-separated values\n"
            "  -v, --verbose          print warnings from reading the images\n"
            "  --help                 show this help\n"
            "\n"
            "Exit status: 0; 1 when an image or a directory cannot be read; 2 on a usage\n"
            "error.\n");
}

/* ---- -lR output fields, as virt-ls prints them ------------------------- */

static void next_field(struct ls *l)
{
    if (l->field++ > 0)
        putchar(l->csv ? ',' : ' ');
}

static void out_string(struct ls *l, const char *s)
{
    next_field(l);
    if (l->csv)
        tool_csv_field(stdout, s);
    else
        fputs(s, stdout);
}

static void out_size(struct ls *l, uint64_t size)
{
    char buf[TOOL_HUMAN_MAX];
    next_field(l);
    if (l->human)
        printf(l->csv ? "%s" : "%10s", tool_human_size(size, buf));
    else
        printf(l->csv ? "%" PRIu64 : "%10" PRIu64, size);
}

static void out_time(struct ls *l, int64_t secs)
{
    next_field(l);
    if (l->time_t_out) {
        if (l->time_relative == 0)
            printf("%10" PRId64, secs);
        else if (l->time_relative == 1)
            printf("%8" PRId64, (int64_t)l->now - secs);
        else
            printf("%3" PRId64, ((int64_t)l->now - secs) / 86400);
        return;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    char buf[64];
    if (!localtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%F %T", &tm))
        snprintf(buf, sizeof(buf), "%" PRId64, secs);
    fputs(buf, stdout);
}

static int show_file(void *arg, const struct tool_entry *e)
{
    struct ls *l = arg;
    const struct gfs_stat *st = &e->st;
    char type[2] = {tool_type_char(st->mode), 0};
    l->field = 0;
    out_string(l, type);
    next_field(l);
    printf("%04o", st->mode & 07777);
    out_size(l, st->size);
    if (l->uids) {
        next_field(l);
        printf("%4" PRIu32, st->uid);
        next_field(l);
        printf("%4" PRIu32, st->gid);
    }
    if (l->times) {
        out_time(l, st->atime.sec);
        out_time(l, st->mtime.sec);
        out_time(l, st->ctime.sec);
    }
    if (l->extra) {
        unsigned ma = 0, mi = 0;
        const struct gfs_device *d = tool_fs_device(l->h, e->node.fs);
        if (d)
            tool_device_number(d, &ma, &mi);
        next_field(l);
        printf("%u:%u", ma, mi);
        next_field(l);
        printf("%" PRIu64, st->ino);
        next_field(l);
        printf("%" PRIu32, st->nlink);
        next_field(l);
        printf("%" PRIu32 ":%" PRIu32, st->rdev_major, st->rdev_minor);
        next_field(l);
        printf("%" PRIu64, st->blocks);
    }
    if (l->checksum) {
        if (S_ISREG(st->mode)) {
            char sum[160];
            int rc = tool_checksum(l->h, &e->node, st->size, l->checksum, e->path, sum,
                                   sizeof(sum));
            if (rc < 0) {
                fflush(stdout);
                return rc;
            }
            out_string(l, sum);
        } else if (l->csv) {
            out_string(l, "");
        }
    }
    out_string(l, e->path);
    if (S_ISLNK(st->mode)) {
        char target[GFS_PATH_MAX];
        int rc = gfs_fs_readlink(e->node.fs, e->node.ino, target, sizeof(target));
        if (rc >= 0) {
            if (l->csv) {
                out_string(l, target);
            } else {
                next_field(l);
                printf("-> %s", target);
            }
        }
    }
    putchar('\n');
    return 0;
}

/* ---- -R: relative paths, sorted as one list ----------------------------- */

struct found {
    char **v;
    size_t n, cap;
};

static int find_cb(void *arg, const struct tool_entry *e)
{
    struct found *f = arg;
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 256;
        char **nv = realloc(f->v, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        f->v = nv;
        f->cap = ncap;
    }
    if (!(f->v[f->n] = strdup(e->rel)))
        return -ENOMEM;
    f->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_ls_R(struct ls *l, const char *dir)
{
    struct found f = {0};
    int rc = tool_walk(l->h, dir, false, find_cb, &f);
    if (rc == 0) {
        qsort(f.v, f.n, sizeof(*f.v), cmp_str);
        for (size_t i = 0; i < f.n; i++)
            puts(f.v[i]);
    }
    for (size_t i = 0; i < f.n; i++)
        free(f.v[i]);
    free(f.v);
    return rc;
}

/* ---- plain: the sorted names of one directory --------------------------- */

static int resolve_dir(struct ls *l, const char *dir, struct gfs_node *n)
{
    struct gfs_stat st;
    int rc = gfs_stat(l->h, dir, &st);
    if (rc < 0)
        return rc;
    if (!S_ISDIR(st.mode))
        return gfs_set_error(l->h, -ENOTDIR, "%s: Not a directory", dir);
    return gfs_resolve(l->h, dir, 0, n);
}

static int do_ls(struct ls *l, const char *dir)
{
    struct gfs_node n;
    int rc = resolve_dir(l, dir, &n);
    if (rc < 0)
        return rc;
    struct tool_dirent *d;
    int cnt = tool_list_dir(l->h, &n, dir, &d);
    if (cnt < 0)
        return cnt;
    for (int i = 0; i < cnt; i++)
        puts(d[i].name);
    tool_free_dir(d, cnt);
    return 0;
}

/* ---- -l: `ls -la DIR` as guestfsd runs it (C locale, UTC) ----------------- */

struct ll_row {
    char mode[11];
    char nlink[16], owner[16], group[16], size[32], date[32];
    char *name; /* with " -> target" for a symlink */
};

static void mode_string(uint32_t mode, char *s)
{
    char t = tool_type_char(mode);
    s[0] = t == '-' ? '-' : t == 'u' ? '?' : t;
    const char *rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++)
        s[1 + i] = mode & (0400u >> i) ? rwx[i] : '-';
    if (mode & S_ISUID)
        s[3] = mode & 0100 ? 's' : 'S';
    if (mode & S_ISGID)
        s[6] = mode & 0010 ? 's' : 'S';
    if (mode & S_ISVTX)
        s[9] = mode & 0001 ? 't' : 'T';
    s[10] = 0;
}

static void ll_date(time_t now, int64_t secs, char *buf, size_t len)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, len, "%" PRId64, secs);
        return;
    }
    /* GNU ls: a time within the last six months (and not in the future)
     * shows the hour, others the year. */
    int64_t six_months = 31556952 / 2;
    if (secs > (int64_t)now - six_months && secs <= (int64_t)now)
        snprintf(buf, len, "%s %2d %02d:%02d", months[tm.tm_mon], tm.tm_mday, tm.tm_hour,
                 tm.tm_min);
    else
        snprintf(buf, len, "%s %2d  %d", months[tm.tm_mon], tm.tm_mday, tm.tm_year + 1900);
}

static void owner_name(uint32_t id, char *buf, size_t len)
{
    if (id == 0)
        snprintf(buf, len, "root");
    else
        snprintf(buf, len, "%" PRIu32, id);
}

static int ll_row_of(struct ls *l, const char *name, const struct gfs_node *n, struct ll_row *r,
                     uint64_t *blocks)
{
    struct gfs_stat st;
    int rc = gfs_fs_stat(n->fs, n->ino, &st);
    if (rc < 0)
        return gfs_set_error(l->h, rc, "%s: %s", name, gfs_fs_error(n->fs));
    *blocks += st.blocks;
    mode_string(st.mode, r->mode);
    snprintf(r->nlink, sizeof(r->nlink), "%" PRIu32, st.nlink);
    owner_name(st.uid, r->owner, sizeof(r->owner));
    owner_name(st.gid, r->group, sizeof(r->group));
    if (S_ISCHR(st.mode) || S_ISBLK(st.mode))
        snprintf(r->size, sizeof(r->size), "%" PRIu32 ", %" PRIu32, st.rdev_major,
                 st.rdev_minor);
    else
        snprintf(r->size, sizeof(r->size), "%" PRIu64, st.size);
    ll_date(l->now, st.mtime.sec, r->date, sizeof(r->date));
    char target[GFS_PATH_MAX] = "";
    if (S_ISLNK(st.mode) && gfs_fs_readlink(n->fs, n->ino, target, sizeof(target)) < 0)
        target[0] = 0;
    size_t len = strlen(name) + strlen(target) + 8;
    if (!(r->name = malloc(len)))
        return -ENOMEM;
    snprintf(r->name, len, S_ISLNK(st.mode) ? "%s -> %s" : "%s", name, target);
    return 0;
}

static int do_ls_l(struct ls *l, const char *dir)
{
    struct gfs_node n;
    int rc = resolve_dir(l, dir, &n);
    if (rc < 0)
        return rc;
    struct tool_dirent *d;
    int cnt = tool_list_dir(l->h, &n, dir, &d);
    if (cnt < 0)
        return cnt;
    struct ll_row *rows = calloc((size_t)cnt + 2, sizeof(*rows));
    uint64_t blocks = 0;
    if (!rows) {
        tool_free_dir(d, cnt);
        return -ENOMEM;
    }
    char parent[GFS_PATH_MAX], child[GFS_PATH_MAX];
    struct gfs_node pn = n;
    if (tool_join(parent, sizeof(parent), dir, "..") == 0)
        gfs_resolve(l->h, parent, 0, &pn);
    rc = ll_row_of(l, ".", &n, &rows[0], &blocks);
    if (rc == 0)
        rc = ll_row_of(l, "..", &pn, &rows[1], &blocks);
    for (int i = 0; rc == 0 && i < cnt; i++) {
        if ((rc = tool_join(child, sizeof(child), dir, d[i].name)) < 0)
            break;
        struct gfs_node cn = tool_child_node(l->h, n.fs, d[i].ino, child);
        rc = ll_row_of(l, d[i].name, &cn, &rows[i + 2], &blocks);
    }
    size_t w[4] = {0};
    for (int i = 0; rc == 0 && i < cnt + 2; i++) {
        const char *f[4] = {rows[i].nlink, rows[i].owner, rows[i].group, rows[i].size};
        for (int k = 0; k < 4; k++)
            if (strlen(f[k]) > w[k])
                w[k] = strlen(f[k]);
    }
    if (rc == 0) {
        printf("total %" PRIu64 "\n", (blocks + 1) / 2);
        for (int i = 0; i < cnt + 2; i++)
            printf("%s %*s %-*s %-*s %*s %s %s\n", rows[i].mode, (int)w[0], rows[i].nlink,
                   (int)w[1], rows[i].owner, (int)w[2], rows[i].group, (int)w[3], rows[i].size,
                   rows[i].date, rows[i].name);
    }
    for (int i = 0; i < cnt + 2; i++)
        free(rows[i].name);
    free(rows);
    tool_free_dir(d, cnt);
    return rc;
}

/* ---- options ------------------------------------------------------------ */

int virt_ls_main(int argc, char **argv)
{
    enum { OPT_CHECKSUM = 256, OPT_CSV, OPT_EXTRA, OPT_HELP, OPT_TIMES, OPT_TIME_T,
           OPT_TIME_REL, OPT_TIME_DAYS, OPT_UIDS, OPT_FORMAT = GFS_OPT_FORMAT };
    static const struct option opts[] = {
        {"add", required_argument, NULL, 'a'},
        {"checksum", optional_argument, NULL, OPT_CHECKSUM},
        {"checksums", optional_argument, NULL, OPT_CHECKSUM},
        {"csv", no_argument, NULL, OPT_CSV},
        {"extra-stat", no_argument, NULL, OPT_EXTRA},
        {"extra-stats", no_argument, NULL, OPT_EXTRA},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, OPT_HELP},
        {"human-readable", no_argument, NULL, 'h'},
        {"long", no_argument, NULL, 'l'},
        {"mount", required_argument, NULL, 'm'},
        {"recursive", no_argument, NULL, 'R'},
        {"time", no_argument, NULL, OPT_TIMES},
        {"times", no_argument, NULL, OPT_TIMES},
        {"time-days", no_argument, NULL, OPT_TIME_DAYS},
        {"time-relative", no_argument, NULL, OPT_TIME_REL},
        {"time-t", no_argument, NULL, OPT_TIME_T},
        {"uid", no_argument, NULL, OPT_UIDS},
        {"uids", no_argument, NULL, OPT_UIDS},
        {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    struct ls l = {.now = time(NULL)};
    struct gfs_opts o;
    bool long_mode = false, recursive = false;
    int c, status = 0;
    gfs_opts_init(&o, PROG);
    optind = 1;
    while ((c = getopt_long(argc, argv, "a:hlm:Rvx", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CHECKSUM:
            l.checksum = optarg && optarg[0] ? optarg : "md5";
            break;
        case OPT_CSV:
            l.csv = true;
            break;
        case OPT_EXTRA:
            l.extra = true;
            break;
        case OPT_TIMES:
            l.times = true;
            break;
        case OPT_TIME_T:
            l.times = l.time_t_out = true;
            l.time_relative = 0;
            break;
        case OPT_TIME_REL:
            l.times = l.time_t_out = true;
            l.time_relative = 1;
            break;
        case OPT_TIME_DAYS:
            l.times = l.time_t_out = true;
            l.time_relative = 2;
            break;
        case OPT_UIDS:
            l.uids = true;
            break;
        case 'h':
            l.human = true;
            break;
        case 'l':
            long_mode = true;
            break;
        case 'R':
            recursive = true;
            break;
        case OPT_HELP:
            virt_ls_help(stdout);
            gfs_opts_free(&o);
            return 0;
        default:
            if (gfs_opts_take(&o, c, optarg) <= 0)
                goto usage;
            break;
        }
    }
    /* virt-ls's own checks, with its messages and exit status 1. */
    if (!(long_mode && recursive) &&
        (l.csv || l.human || l.uids || l.times || l.extra || l.checksum)) {
        fprintf(stderr, PROG ": used a flag which can only be combined with -lR mode\n"
                             "For more information, read the virt-ls(1) man page.\n");
        gfs_opts_free(&o);
        return 1;
    }
    if (l.human && l.csv) {
        fprintf(stderr, PROG ": you cannot use -h and --csv options together.\n");
        gfs_opts_free(&o);
        return 1;
    }
    if (optind >= argc) {
        fprintf(stderr, PROG ": error: no DIRECTORY given\n");
        goto usage;
    }
    if (!o.ndrives) {
        fprintf(stderr, PROG ": error: you must specify at least one -a option.\n");
        goto usage;
    }
    if (l.checksum && !tool_checksum_canonical(l.checksum)) {
        fprintf(stderr, PROG ": error: checksum: unknown checksum type, expecting "
                             "crc|md5|sha1|sha224|sha256|sha384|sha512\n");
        gfs_opts_free(&o);
        return 1;
    }
    tool_quiet_logs(o.verbose);
    if (gfs_opts_open(&o, true, &l.h, NULL) < 0) {
        gfs_opts_free(&o);
        return 1;
    }
    for (; optind < argc; optind++) {
        const char *dir = argv[optind];
        int rc;
        if (long_mode && recursive)
            rc = tool_walk(l.h, dir, true, show_file, &l);
        else if (recursive)
            rc = do_ls_R(&l, dir);
        else if (long_mode)
            rc = do_ls_l(&l, dir);
        else
            rc = do_ls(&l, dir);
        if (rc < 0) {
            fflush(stdout);
            if (rc == -ENOMEM)
                fprintf(stderr, PROG ": error: out of memory\n");
            else
                fprintf(stderr, PROG ": error: %s\n", gfs_last_error(l.h));
            status = 1;
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror(PROG ": error: standard output");
        status = 1;
    }
    gfs_handle_free(l.h);
    gfs_opts_free(&o);
    return status;
usage:
    fprintf(stderr, "Try `kvmkit " PROG " --help' for more information.\n");
    gfs_opts_free(&o);
    return 2;
}
