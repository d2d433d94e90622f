/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fish_dir.c — kvmkit fish: directories and metadata: ls, ll (the
 * appliance's `ls -la`), find, find0, du, stat/lstat, statns/lstatns,
 * statvfs, exists, is-*, readlink, readlinklist, realpath,
 * case-sensitive-path, df and df-h (the appliance's `df`, for the guest's
 * mounts).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "fish.h"

#define CMD(n) static int n(struct fish *f, const struct fish_cmd *c, int argc, char **argv)

/* ---- listing a directory ------------------------------------------------- */

struct names {
    char **v;
    size_t n, cap;
    int err;
};

static int add_name(struct names *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return l->err = -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    char *d = strndup(s, len);
    if (!d)
        return l->err = -ENOMEM;
    l->v[l->n++] = d;
    return 0;
}

static int collect(void *arg, const struct gfs_dirent *de)
{
    return add_name(arg, de->name, de->name_len);
}

static void free_names(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
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

/* The sorted entries of directory @path, or the error printed. */
static int list_dir(struct fish *f, const struct fish_cmd *c, const char *path, struct names *l)
{
    memset(l, 0, sizeof(*l));
    int rc = gfs_readdir(f->h, path, collect, l);
    if (rc < 0 || l->err < 0) {
        free_names(l);
        if (rc == -ENOENT || rc == -ENOTDIR || rc == -ELOOP || rc == -EACCES)
            return fish_daemon_error(f, c, "opendir: %s: %s", path, fish_strerror(rc));
        return fish_daemon_error(f, c, "%s", rc < 0 ? gfs_last_error(f->h) : strerror(ENOMEM));
    }
    sort_strings(l->v, l->n);
    return 0;
}

static void join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name);
    if (n < 0 || (size_t)n >= len) /* too long: a path that cannot exist */
        snprintf(out, len, "/\x01");
}

CMD(cmd_ls)
{
    (void)argc;
    struct names l;
    if (fish_check_path(f, c, argv[0]) < 0 || list_dir(f, c, argv[0], &l) < 0)
        return -1;
    fish_print_strings(l.v, l.n);
    free_names(&l);
    return 0;
}

/* ---- ll: ls -la as the appliance prints it ---------------------------------- */

/* The appliance has no users but root... and its ls prints every id as a
 * number (guestfish shows "0 0" for root): so do we. */
static void id_name(unsigned id, bool group, char *out, size_t len)
{
    (void)group;
    snprintf(out, len, "%u", id);
}

static void fish_mode_string(uint32_t mode, char out[11])
{
    static const char types[] = "?pc?d?b?-?l?s???";
    out[0] = types[(mode >> 12) & 15];
    const char *rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++)
        out[1 + i] = mode & (0400u >> i) ? rwx[i] : '-';
    if (mode & S_ISUID)
        out[3] = mode & 0100 ? 's' : 'S';
    if (mode & S_ISGID)
        out[6] = mode & 0010 ? 's' : 'S';
    if (mode & S_ISVTX)
        out[9] = mode & 0001 ? 't' : 'T';
    out[10] = '\0';
}

struct ll_row {
    struct gfs_stat st;
    char mode[11], owner[32], group[32], size[48], date[32];
    char *name;   /* as printed (with " -> target") */
};

static void format_date(int64_t t, char *out, size_t len)
{
    static const char mon[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t, now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        snprintf(out, len, "%" PRId64, t);
        return;
    }
    /* coreutils: recent means within the past six months (of a Gregorian year) */
    bool recent = t > (int64_t)now - 31556952 / 2 && t <= (int64_t)now;
    if (recent)
        snprintf(out, len, "%s %2d %02d:%02d", mon[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min);
    else
        snprintf(out, len, "%s %2d  %d", mon[tm.tm_mon], tm.tm_mday, tm.tm_year + 1900);
}

static int ll_row(struct fish *f, const char *path, const char *shown, struct ll_row *r)
{
    if (gfs_lstat(f->h, path, &r->st) < 0)
        return -1;
    fish_mode_string(r->st.mode, r->mode);
    id_name(r->st.uid, false, r->owner, sizeof(r->owner));
    id_name(r->st.gid, true, r->group, sizeof(r->group));
    format_date(r->st.mtime.sec, r->date, sizeof(r->date));
    char target[GFS_PATH_MAX] = "";
    if (S_ISLNK(r->st.mode) && gfs_readlink(f->h, path, target, sizeof(target)) < 0)
        target[0] = '\0';
    size_t len = strlen(shown) + strlen(target) + 8;
    r->name = malloc(len);
    if (!r->name)
        return -1;
    snprintf(r->name, len, "%s%s%s", shown, S_ISLNK(r->st.mode) ? " -> " : "", target);
    return 0;
}

static int width(const char *s)
{
    return (int)strlen(s);
}

static void print_ll(struct ll_row *rows, size_t n, bool total)
{
    int wl = 0, wo = 0, wg = 0, ws = 0, wmaj = 0, wmin = 0;
    uint64_t blocks = 0;
    char buf[32];
    for (size_t i = 0; i < n; i++) {
        struct gfs_stat *st = &rows[i].st;
        blocks += st->blocks;
        wl = wl > snprintf(buf, sizeof(buf), "%u", st->nlink) ? wl : (int)strlen(buf);
        wo = wo > width(rows[i].owner) ? wo : width(rows[i].owner);
        wg = wg > width(rows[i].group) ? wg : width(rows[i].group);
        if (S_ISCHR(st->mode) || S_ISBLK(st->mode)) {
            int a = snprintf(buf, sizeof(buf), "%u", st->rdev_major);
            int b = snprintf(buf, sizeof(buf), "%u", st->rdev_minor);
            wmaj = wmaj > a ? wmaj : a;
            wmin = wmin > b ? wmin : b;
        } else {
            int s = snprintf(buf, sizeof(buf), "%" PRIu64, st->size);
            ws = ws > s ? ws : s;
        }
    }
    if (wmaj && ws < wmaj + 2 + wmin)
        ws = wmaj + 2 + wmin;
    if (total)
        printf("total %" PRIu64 "\n", (blocks + 1) / 2);
    for (size_t i = 0; i < n; i++) {
        struct ll_row *r = &rows[i];
        if (S_ISCHR(r->st.mode) || S_ISBLK(r->st.mode))
            snprintf(r->size, sizeof(r->size), "%*u, %*u", ws - wmin - 2, r->st.rdev_major, wmin,
                     r->st.rdev_minor);
        else
            snprintf(r->size, sizeof(r->size), "%*" PRIu64, ws, r->st.size);
        printf("%s %*u %*s %*s %s %s %s\n", r->mode, wl, r->st.nlink, wo, r->owner, wg,
               r->group, r->size, r->date, r->name);
    }
}

CMD(cmd_ll)
{
    (void)argc;
    const char *path = argv[0];
    char real[GFS_PATH_MAX], full[GFS_PATH_MAX + 16];
    if (fish_check_path(f, c, path) < 0)
        return -1;
    if (gfs_realpath(f->h, path, real, sizeof(real)) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    struct gfs_stat st;
    if (gfs_lstat(f->h, real, &st) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    snprintf(full, sizeof(full), "/sysroot%s", strcmp(real, "/") == 0 ? "/" : real);
    if (!S_ISDIR(st.mode)) {
        struct ll_row r = {0};
        if (ll_row(f, real, full, &r) < 0)
            return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
        print_ll(&r, 1, false);
        free(r.name);
        printf("\n");
        return 0;
    }
    struct names l;
    if (list_dir(f, c, real, &l) < 0)
        return -1;
    if (add_name(&l, ".", 1) < 0 || add_name(&l, "..", 2) < 0) {
        free_names(&l);
        return fish_daemon_error(f, c, "%s", strerror(ENOMEM));
    }
    sort_strings(l.v, l.n);
    struct ll_row *rows = calloc(l.n, sizeof(*rows));
    size_t n = 0;
    int rc = rows ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        char p[GFS_PATH_MAX];
        if (strcmp(l.v[i], ".") == 0)
            snprintf(p, sizeof(p), "%s", real);
        else if (strcmp(l.v[i], "..") == 0) {
            /* the parent of the guest's root is the appliance's / (shown as /) */
            join(p, sizeof(p), real, "..");
        } else
            join(p, sizeof(p), real, l.v[i]);
        if (ll_row(f, p, l.v[i], &rows[n]) == 0)
            n++;
        else
            rc = fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    }
    if (rc == 0) {
        print_ll(rows, n, true);
        printf("\n");
    }
    for (size_t i = 0; i < n; i++)
        free(rows[i].name);
    free(rows);
    free_names(&l);
    return rc;
}

/* ---- find, du ------------------------------------------------------------------ */

static int walk(struct fish *f, const char *dir, const char *rel, struct names *out,
                unsigned depth)
{
    struct names l = {0};
    int rc = gfs_readdir(f->h, dir, collect, &l);
    if (rc < 0 || l.err < 0) {
        free_names(&l);
        return rc < 0 ? rc : l.err;
    }
    sort_strings(l.v, l.n);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        char path[GFS_PATH_MAX], r[GFS_PATH_MAX];
        join(path, sizeof(path), dir, l.v[i]);
        snprintf(r, sizeof(r), "%s%s%s", rel, rel[0] && strcmp(rel, "/") != 0 ? "/" : "",
                 l.v[i]);
        rc = add_name(out, r, strlen(r));
        struct gfs_stat st;
        if (rc == 0 && depth < 256 && gfs_lstat(f->h, path, &st) == 0 && S_ISDIR(st.mode))
            rc = walk(f, path, r, out, depth + 1);
    }
    free_names(&l);
    return rc;
}

static int find_names(struct fish *f, const struct fish_cmd *c, const char *dir,
                      struct names *out)
{
    memset(out, 0, sizeof(*out));
    if (fish_check_path(f, c, dir) < 0)
        return -1;
    struct gfs_stat st;
    if (gfs_stat(f->h, dir, &st) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    if (!S_ISDIR(st.mode))
        return fish_daemon_error(f, c, "%s: not a directory", dir);
    /* find(1) does not follow a starting point that is a symlink */
    if (gfs_lstat(f->h, dir, &st) == 0 && S_ISLNK(st.mode))
        return 0;
    /* the daemon strips "/sysroot" + DIR from find's output: below "/"
     * names are relative, below "/dir" they keep their leading '/' */
    int rc = walk(f, dir, strcmp(dir, "/") == 0 ? "" : "/", out, 0);
    if (rc < 0) {
        free_names(out);
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    }
    sort_strings(out->v, out->n);
    return 0;
}

CMD(cmd_find)
{
    (void)argc;
    struct names l;
    if (find_names(f, c, argv[0], &l) < 0)
        return -1;
    fish_print_strings(l.v, l.n);
    free_names(&l);
    return 0;
}

CMD(cmd_find0)
{
    (void)argc;
    struct names l;
    if (find_names(f, c, argv[0], &l) < 0)
        return -1;
    FILE *fp = fish_file_out(f, argv[1]);
    if (!fp) {
        free_names(&l);
        return -1;
    }
    for (size_t i = 0; i < l.n; i++)
        fwrite(l.v[i], 1, strlen(l.v[i]) + 1, fp);
    free_names(&l);
    return fish_file_out_close(f, fp, argv[1]);
}

struct du_state {
    uint64_t blocks;
    uint64_t *seen; /* (fs pointer hash ^ ino) of hard-linked files counted */
    size_t nseen, cap;
};

static bool du_seen(struct du_state *s, uint64_t key)
{
    for (size_t i = 0; i < s->nseen; i++)
        if (s->seen[i] == key)
            return true;
    if (s->nseen == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint64_t *v = realloc(s->seen, cap * sizeof(*v));
        if (!v)
            return false;
        s->seen = v;
        s->cap = cap;
    }
    s->seen[s->nseen++] = key;
    return false;
}

static int du_walk(struct fish *f, const char *path, struct du_state *s, unsigned depth)
{
    struct gfs_stat st;
    struct gfs_node n;
    int rc = gfs_lstat(f->h, path, &st);
    if (rc < 0 || (rc = gfs_resolve(f->h, path, GFS_NOFOLLOW, &n)) < 0)
        return rc;
    /* du counts a file with several links once */
    if (!S_ISDIR(st.mode) && st.nlink > 1 && du_seen(s, (uint64_t)(uintptr_t)n.fs * 31 ^ st.ino))
        return 0;
    s->blocks += st.blocks;
    if (!S_ISDIR(st.mode) || depth > 256)
        return 0;
    struct names l = {0};
    rc = gfs_readdir(f->h, path, collect, &l);
    for (size_t i = 0; rc >= 0 && l.err == 0 && i < l.n; i++) {
        char p[GFS_PATH_MAX];
        join(p, sizeof(p), path, l.v[i]);
        rc = du_walk(f, p, s, depth + 1);
    }
    free_names(&l);
    return rc < 0 ? rc : 0;
}

CMD(cmd_du)
{
    (void)argc;
    struct du_state s = {0};
    if (fish_check_path(f, c, argv[0]) < 0)
        return -1;
    int rc = du_walk(f, argv[0], &s, 0);
    free(s.seen);
    if (rc < 0)
        return fish_daemon_error(f, c, "%s: du: cannot access '/sysroot%s': %s", argv[0], argv[0],
                                 fish_strerror(rc));
    printf("%" PRIu64 "\n", (s.blocks + 1) / 2);
    return 0;
}

/* ---- stat ------------------------------------------------------------------------ */

static uint64_t dev_number(const struct gfs_device *d)
{
    /* the appliance's /dev/sdX (8:16*disk+partnum), as glibc makedev encodes it */
    uint64_t major = 8, minor = 16 * d->disk + d->partnum;
    return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xffull) << 12);
}

static uint64_t makedev64(uint32_t major, uint32_t minor)
{
    return (minor & 0xffu) | ((uint64_t)(major & 0xfffu) << 8) |
           ((uint64_t)(minor & ~0xffu) << 12) | ((uint64_t)(major & ~0xfffu) << 32);
}

static const struct gfs_device *device_of_fs(struct fish *f, const struct gfs_fs *fs)
{
    for (size_t i = 0; i < gfs_nmounts(f->h); i++)
        if (gfs_mount_at(f->h, i)->fs == fs)
            return gfs_mount_at(f->h, i)->device;
    return NULL;
}

CMD(cmd_stat)
{
    (void)argc;
    const char *path = argv[0];
    bool follow = c->name[0] != 'l';
    bool ns = strstr(c->name, "ns") != NULL;
    if (fish_check_path(f, c, path) < 0)
        return -1;
    struct gfs_stat st;
    struct gfs_node n;
    if ((follow ? gfs_stat(f->h, path, &st) : gfs_lstat(f->h, path, &st)) < 0 ||
        gfs_resolve(f->h, path, follow ? 0 : GFS_NOFOLLOW, &n) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    const struct gfs_device *d = device_of_fs(f, n.fs);
    int64_t dev = d ? (int64_t)dev_number(d) : 0;
    int64_t rdev = (int64_t)makedev64(st.rdev_major, st.rdev_minor);
    const char *p = ns ? "st_" : "";
    printf("%sdev: %" PRId64 "\n%sino: %" PRIu64 "\n%smode: %u\n%snlink: %u\n%suid: %u\n"
           "%sgid: %u\n%srdev: %" PRId64 "\n%ssize: %" PRIu64 "\n%sblksize: %u\n"
           "%sblocks: %" PRIu64 "\n",
           p, dev, p, st.ino, p, st.mode, p, st.nlink, p, st.uid, p, st.gid, p, rdev, p, st.size,
           p, st.blksize, p, st.blocks);
    if (ns) {
        printf("st_atime_sec: %" PRId64 "\nst_atime_nsec: %u\nst_mtime_sec: %" PRId64
               "\nst_mtime_nsec: %u\nst_ctime_sec: %" PRId64 "\nst_ctime_nsec: %u\n",
               st.atime.sec, st.atime.nsec, st.mtime.sec, st.mtime.nsec, st.ctime.sec,
               st.ctime.nsec);
        for (int i = 1; i <= 6; i++)
            printf("st_spare%d: 0\n", i);
    } else
        printf("atime: %" PRId64 "\nmtime: %" PRId64 "\nctime: %" PRId64 "\n", st.atime.sec,
               st.mtime.sec, st.ctime.sec);
    return 0;
}

/* statfs(2)'s f_fsid: lib/guestfs gives ext2/3/4's (from the UUID, as the
 * kernel computes it); other filesystems have the device number in Linux. */
static uint64_t kernel_fsid(const struct gfs_device *d, uint64_t fsid)
{
    return strncmp(d->probe.type, "ext", 3) == 0 ? fsid : dev_number(d);
}

CMD(cmd_statvfs)
{
    (void)argc;
    struct gfs_statvfs v;
    if (fish_check_path(f, c, argv[0]) < 0)
        return -1;
    struct gfs_node n;
    if (gfs_statvfs(f->h, argv[0], &v) < 0 || gfs_resolve(f->h, argv[0], 0, &n) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    const struct gfs_device *d = device_of_fs(f, n.fs);
    if (d)
        v.fsid = kernel_fsid(d, v.fsid);
    printf("bsize: %" PRIu64 "\nfrsize: %" PRIu64 "\nblocks: %" PRIu64 "\nbfree: %" PRIu64
           "\nbavail: %" PRIu64 "\nfiles: %" PRIu64 "\nffree: %" PRIu64 "\nfavail: %" PRIu64
           "\nfsid: %" PRId64 "\nflag: %" PRIu64 "\nnamemax: %" PRIu64 "\n",
           v.bsize, v.frsize, v.blocks, v.bfree, v.bavail, v.files, v.ffree, v.favail,
           (int64_t)v.fsid, v.flag, v.namemax);
    return 0;
}

/* ---- tests ------------------------------------------------------------------------- */

CMD(cmd_exists)
{
    (void)argc;
    struct gfs_stat st;
    if (fish_check_path(f, c, argv[0]) < 0)
        return -1;
    /* libguestfs 1.48 answers from lstat: a dangling symlink exists */
    int rc = gfs_lstat(f->h, argv[0], &st);
    if (rc < 0 && rc != -ENOENT && rc != -ENOTDIR && rc != -ELOOP)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    printf("%s\n", rc == 0 ? "true" : "false");
    return 0;
}

CMD(cmd_is_type)
{
    static const struct { const char *name; uint32_t type; } kinds[] = {
        {"is-file", S_IFREG}, {"is-dir", S_IFDIR}, {"is-symlink", S_IFLNK},
        {"is-blockdev", S_IFBLK}, {"is-chardev", S_IFCHR}, {"is-fifo", S_IFIFO},
        {"is-socket", S_IFSOCK},
    };
    uint32_t type = 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(c->name, kinds[i].name) == 0)
            type = kinds[i].type;
    static const char *const names[] = {"followsymlinks"};
    int follow = 0;
    if (argc > 1 && fish_parse_optbools(c, argc, argv, 1, names, &follow, 1) < 0)
        return -1;
    if (fish_check_path(f, c, argv[0]) < 0)
        return -1;
    struct gfs_stat st;
    int rc = follow ? gfs_stat(f->h, argv[0], &st) : gfs_lstat(f->h, argv[0], &st);
    if (rc == -ENOENT || rc == -ENOTDIR) {
        printf("false\n");
        return 0;
    }
    if (rc < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    printf("%s\n", (st.mode & S_IFMT) == type ? "true" : "false");
    return 0;
}

CMD(cmd_readlink)
{
    (void)argc;
    char buf[GFS_PATH_MAX];
    if (fish_check_path(f, c, argv[0]) < 0)
        return -1;
    int rc = gfs_readlink(f->h, argv[0], buf, sizeof(buf));
    if (rc < 0)
        return fish_daemon_error(f, c, "readlink: %s: %s", argv[0], fish_strerror(rc));
    printf("%s\n", buf);
    return 0;
}

CMD(cmd_readlinklist)
{
    (void)argc;
    if (fish_check_path(f, c, argv[0]) < 0)
        return -1;
    /* the names are a guestfish string list: split at blanks */
    char *list = argv[1];
    for (char *save = NULL, *name = strtok_r(list, " \t", &save); name;
         name = strtok_r(NULL, " \t", &save)) {
        char p[GFS_PATH_MAX], buf[GFS_PATH_MAX];
        join(p, sizeof(p), argv[0], name);
        printf("%s\n", gfs_readlink(f->h, p, buf, sizeof(buf)) < 0 ? "" : buf);
    }
    return 0;
}

CMD(cmd_realpath)
{
    (void)argc;
    char buf[GFS_PATH_MAX];
    if (fish_check_path(f, c, argv[0]) < 0)
        return -1;
    if (gfs_realpath(f->h, argv[0], buf, sizeof(buf)) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    printf("%s\n", buf);
    return 0;
}

CMD(cmd_case_sensitive_path)
{
    (void)argc;
    const char *path = argv[0];
    if (fish_check_path(f, c, path) < 0)
        return -1;
    char out[GFS_PATH_MAX] = "/";
    const char *p = path;
    while (*p == '/')
        p++;
    while (*p) {
        size_t len = strcspn(p, "/");
        char comp[256];
        if (len >= sizeof(comp))
            return fish_daemon_error(f, c, "%s: %s", path, strerror(ENAMETOOLONG));
        memcpy(comp, p, len);
        comp[len] = '\0';
        p += len;
        while (*p == '/')
            p++;
        struct names l;
        const char *match = NULL;
        memset(&l, 0, sizeof(l));
        if (gfs_readdir(f->h, out, collect, &l) == 0)
            for (size_t i = 0; i < l.n && !match; i++)
                if (strcmp(l.v[i], comp) == 0)
                    match = l.v[i];
        for (size_t i = 0; i < l.n && !match; i++)
            if (strcasecmp(l.v[i], comp) == 0)
                match = l.v[i];
        if (!match && *p) {
            free_names(&l);
            return fish_daemon_error(f, c, "%s: %s", path, strerror(ENOENT));
        }
        size_t o = strlen(out);
        snprintf(out + o, sizeof(out) - o, "%s%s", o > 1 ? "/" : "", match ? match : comp);
        free_names(&l);
    }
    printf("%s\n", out);
    return 0;
}

/* ---- df --------------------------------------------------------------------------- */

/* df -h sizes: 1024-based, one decimal below 10 rounded up, as coreutils. */
static void human(uint64_t bytes, char *out, size_t len)
{
    static const char suffix[] = "KMGTPE";
    if (bytes < 1024) {
        snprintf(out, len, "%" PRIu64, bytes);
        return;
    }
    long double x = (long double)bytes;
    int e = -1;
    while (x >= 1024 && e < 5) {
        x /= 1024;
        e++;
    }
    if (x < 10) {
        unsigned long t = (unsigned long)(x * 10);
        if ((long double)t < x * 10)
            t++;
        if (t < 100) {
            snprintf(out, len, "%lu.%lu%c", t / 10, t % 10, suffix[e]);
            return;
        }
    }
    unsigned long w = (unsigned long)x;
    if ((long double)w < x)
        w++;
    if (w >= 1024 && e < 5) {
        snprintf(out, len, "1.0%c", suffix[e + 1]);
        return;
    }
    snprintf(out, len, "%lu%c", w, suffix[e]);
}

CMD(cmd_df)
{
    (void)argc, (void)argv;
    bool h = strcmp(c->name, "df-h") == 0;
    bool root = false;
    for (size_t i = 0; i < gfs_nmounts(f->h); i++)
        root |= strcmp(gfs_mount_at(f->h, i)->mountpoint, "/") == 0;
    /* the check is in the daemon's do_df/do_df_h, not in a stub */
    if (!root)
        return fish_daemon_error(f, c, "do_%s: you must call 'mount' first to mount the root "
                                       "filesystem", h ? "df_h" : "df");
    char rows[64][6][96];
    size_t n = 0;
    snprintf(rows[n][0], 96, "Filesystem");
    snprintf(rows[n][1], 96, "%s", h ? "Size" : "1K-blocks");
    snprintf(rows[n][2], 96, "Used");
    snprintf(rows[n][3], 96, "%s", h ? "Avail" : "Available");
    snprintf(rows[n][4], 96, "Use%%");
    snprintf(rows[n][5], 96, "Mounted on");
    n++;
    for (size_t i = 0; i < gfs_nmounts(f->h) && n < 64; i++, n++) {
        const struct gfs_mount *m = gfs_mount_at(f->h, i);
        struct gfs_statvfs v;
        if (gfs_fs_statvfs(m->fs, &v) < 0)
            memset(&v, 0, sizeof(v));
        uint64_t total = v.blocks * v.frsize, avail = v.bavail * v.frsize;
        uint64_t used = (v.blocks - v.bfree) * v.frsize;
        snprintf(rows[n][0], 96, "%s", m->device->name);
        if (h) {
            human(total, rows[n][1], 96);
            human(used, rows[n][2], 96);
            human(avail, rows[n][3], 96);
        } else {
            snprintf(rows[n][1], 96, "%" PRIu64, (total + 1023) / 1024);
            snprintf(rows[n][2], 96, "%" PRIu64, (used + 1023) / 1024);
            snprintf(rows[n][3], 96, "%" PRIu64, avail / 1024);
        }
        uint64_t denom = used + avail;
        if (denom)
            snprintf(rows[n][4], 96, "%" PRIu64 "%%", (used * 100 + denom - 1) / denom);
        else
            snprintf(rows[n][4], 96, "-");
        if (snprintf(rows[n][5], 96, "/sysroot%s",
                     strcmp(m->mountpoint, "/") == 0 ? "" : m->mountpoint) >= 96)
            rows[n][5][95] = '\0';
    }
    /* columns as coreutils df: the first left-aligned, numbers right-aligned,
     * "Mounted on" last and left-aligned */
    int w[6] = {14, 5, 5, 5, 4, 0}; /* coreutils df's minimum widths */
    for (size_t r = 0; r < n; r++)
        for (int k = 0; k < 5; k++)
            w[k] = w[k] > width(rows[r][k]) ? w[k] : width(rows[r][k]);
    for (size_t r = 0; r < n; r++)
        printf("%-*s %*s %*s %*s %*s %s\n", w[0], rows[r][0], w[1], rows[r][1], w[2], rows[r][2],
               w[3], rows[r][3], w[4], rows[r][4], rows[r][5]);
    printf("\n");
    return 0;
}

#define D FISH_DAEMON
#define IS(n, desc) {n, NULL, D, 1, 2, n " path [followsymlinks:true|false]", desc, cmd_is_type}

const struct fish_cmd fish_dir_cmds[] = {
    {"ls", NULL, D, 1, 1, "ls directory", "list the files in a directory", cmd_ls,
     "ls0"},
    {"ll", NULL, D, 1, 1, "ll directory", "list the files in a directory (long format)", cmd_ll},
    {"find", NULL, D, 1, 1, "find directory", "find all files and directories", cmd_find,
     "find0"},
    {"find0", NULL, D, 2, 2, "find0 directory files",
     "find all files and directories, returning NUL-separated list", cmd_find0},
    {"du", NULL, D, 1, 1, "du path", "estimate file space usage", cmd_du},
    {"stat", NULL, D, 1, 1, "stat path", "get file information", cmd_stat},
    {"lstat", NULL, D, 1, 1, "lstat path", "get file information for a symbolic link",
     cmd_stat},
    {"statns", NULL, D, 1, 1, "statns path", "get file information", cmd_stat},
    {"lstatns", NULL, D, 1, 1, "lstatns path", "get file information for a symbolic link",
     cmd_stat},
    {"statvfs", NULL, D, 1, 1, "statvfs path", "get file system statistics", cmd_statvfs},
    {"exists", NULL, D, 1, 1, "exists path", "test if file or directory exists", cmd_exists},
    IS("is-file", "test if a regular file"),
    IS("is-dir", "test if a directory"),
    {"is-symlink", NULL, D, 1, 1, "is-symlink path", "test if symbolic link", cmd_is_type},
    IS("is-blockdev", "test if block device"),
    IS("is-chardev", "test if character device"),
    IS("is-fifo", "test if FIFO (named pipe)"),
    IS("is-socket", "test if socket"),
    {"readlink", NULL, D, 1, 1, "readlink path", "read the target of a symbolic link",
     cmd_readlink},
    {"readlinklist", NULL, D, 2, 2, "readlinklist path names", "readlink on multiple files",
     cmd_readlinklist},
    {"realpath", NULL, D, 1, 1, "realpath path", "canonicalized absolute pathname",
     cmd_realpath},
    {"case-sensitive-path", NULL, D, 1, 1, "case-sensitive-path path",
     "return true path on case-insensitive filesystem", cmd_case_sensitive_path},
    {"df", NULL, D, 0, 0, "df", "report file system disk space usage", cmd_df},
    {"df-h", NULL, D, 0, 0, "df-h", "report file system disk space usage (human readable)",
     cmd_df},
    {NULL, NULL, 0, 0, 0, NULL, NULL, NULL},
};
