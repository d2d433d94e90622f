/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/guestfs FAT reader against real filesystems: a generated tree (long,
 * unicode and mixed-case names, 8 nested directories, a 1,000-file
 * directory, empty files, a 3 MiB random file, sizes around cluster
 * boundaries, set mtimes) is copied by mtools (mcopy -s -m) into images
 * made by mkfs.vfat -F 12, 16 and 32, and every file and directory is
 * compared with the source: name, type, size, bytes, mtime; statvfs with
 * fsck.fat's cluster counts. The FAT16 image is also read through an MBR
 * partition and the FAT32 one through qcow2. Then each structure broken
 * on purpose must give the expected errno and message, and 300 rounds of
 * random bit flips and truncations must neither crash nor hang.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fat.h"
#include "gf_dev.h"
#include "kk_test.h"
#include "part.h"

static char *tmp;      /* the scratch directory */
static char *src;      /* the source tree */
static bool have_tools; /* mkfs.vfat, mcopy, fsck.fat */

#define BIG_DIR_FILES 1000
#define DEEP_LEVELS 8
#define RANDOM_SIZE (3u << 20)

static char *cat(const char *a, const char *b)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

/* Run @cmd with its output discarded (the test's stdout is TAP). */
static int run(const char *cmd)
{
    char *quiet;
    assert_true(asprintf(&quiet, "{ %s; } >/dev/null 2>&1", cmd) > 0);
    int rc = system(quiet);
    free(quiet);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void fill(uint8_t *buf, size_t len, uint64_t seed)
{
    uint64_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(kk_test_rand(&s) >> 56);
}

/* A file of @size random bytes with mtime @mtime (0: leave it). */
static void write_file(const char *dir, const char *name, size_t size, uint64_t seed, time_t mtime)
{
    char *p = cat(dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    uint8_t *buf = malloc(size + 1);
    fill(buf, size, seed);
    assert_int_equal(write(fd, buf, size), (ssize_t)size);
    if (mtime) {
        struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
        assert_int_equal(futimens(fd, ts), 0);
    }
    close(fd);
    free(buf);
    free(p);
}

static char *make_dir(const char *dir, const char *name)
{
    char *p = cat(dir, name);
    assert_int_equal(mkdir(p, 0755), 0);
    return p;
}

static void build_tree(void)
{
    assert_int_equal(mkdir(src, 0755), 0);
    /* Around the cluster sizes used (512 B .. 4 KiB). */
    static const size_t sizes[] = {1,    511,  512,  513,  1023, 1024,  1025,  2047,  2048,
                                   2049, 4095, 4096, 4097, 8191, 8192,  8193,  16385, 65537};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "size_%zu.bin", sizes[i]);
        write_file(src, name, sizes[i], i, 0);
    }
    write_file(src, "random.bin", RANDOM_SIZE, 99, 1234567890); /* 2009-02-13 */
    write_file(src, "empty.txt", 0, 0, 0);
    write_file(src, "Grüße.txt", 10, 1, 0);
    /* mtools stores one UTF-16 unit per character (U+1F600 becomes U+F600),
     * so surrogate pairs are tested on a patched image instead. */
    write_file(src, "日本語 файл.txt", 20, 2, 0);
    write_file(src, "A fairly long file name with spaces.text", 300, 3, 0);
    write_file(src, "UPPER.TXT", 5, 4, 946684801); /* 2000-01-01 00:00:01: odd seconds */
    write_file(src, "noext", 6, 5, 2000000000);   /* 2033 */
    write_file(src, "old.txt", 7, 6, 315532800);  /* 1980-01-01, FAT's first day */
    /* Each case variant in its own directory (FAT names are case-insensitive). */
    static const char *const cases[] = {"readme.txt", "README.TXT", "ReadMe.Txt", "lower.TXT",
                                        "UP.txt"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[16];
        snprintf(name, sizeof(name), "case%zu", i);
        char *d = make_dir(src, name);
        write_file(d, cases[i], 3 + i, 10 + i, 0);
        free(d);
    }
    char *empty = make_dir(src, "emptydir");
    free(empty);
    /* 8 nested directories with a file in the last. */
    char *d = strdup(src);
    for (int i = 1; i <= DEEP_LEVELS; i++) {
        char name[24];
        snprintf(name, sizeof(name), "level%d", i);
        char *n = make_dir(d, name);
        free(d);
        d = n;
    }
    write_file(d, "leaf.txt", 100, 7, 0);
    free(d);
    /* Long names take 3 slots each: the directory spans many clusters.
     * Every 100th file has data. */
    char *big = make_dir(src, "big directory");
    for (int i = 0; i < BIG_DIR_FILES; i++) {
        char name[64];
        /* Distinct first letters keep mtools' short-name generation linear. */
        snprintf(name, sizeof(name), "%04d entry with a longer name.data", i);
        write_file(big, name, i % 100 == 0 ? (size_t)i + 1 : 0, (uint64_t)i, 0);
    }
    free(big);
    /* Directories get their mtimes last (creating files changed them). */
    struct timespec ts[2] = {{1600000000, 0}, {1600000000, 0}};
    char *c0 = cat(src, "case0");
    assert_int_equal(utimensat(AT_FDCWD, c0, ts, 0), 0);
    free(c0);
}

struct variant {
    const char *name;
    const char *mkfs;
    const char *size;
    enum fat_type type;
    uint32_t cluster_size;
};

static const struct variant variants[] = {
    {"fat12", "-F 12 -s 8", "8M", FAT12, 4096},
    {"fat16", "-F 16 -s 4", "16M", FAT16, 2048},
    {"fat32", "-F 32 -s 1", "40M", FAT32, 512},
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static char *image_path(const char *name, const char *ext)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s.%s", tmp, name, ext) > 0);
    return p;
}

static void make_image(const struct variant *v)
{
    char *img = image_path(v->name, "img");
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "set -e; cd '%s'; truncate -s %s '%s'; mkfs.vfat %s -n TESTLABEL -i 0BADCAFE '%s' "
             ">/dev/null; export LC_ALL=C.UTF-8 TZ=UTC MTOOLS_SKIP_CHECK=1; "
             "mcopy -s -m -i '%s' src/* ::/; mattrib -i '%s' +r ::/UPPER.TXT; "
             "mattrib -i '%s' +h ::/noext",
             tmp, v->size, img, v->mkfs, img, img, img, img);
    if (run(cmd) != 0)
        fail_msg("making %s failed: %s", v->name, cmd);
    free(img);
}

static int setup(void **state)
{
    (void)state;
    tmp = kk_test_mkdtemp();
    assert_non_null(tmp);
    have_tools = run("command -v mkfs.vfat && command -v mcopy && command -v mattrib && "
                     "command -v fsck.fat") == 0;
    if (!have_tools)
        return 0;
    src = cat(tmp, "src");
    build_tree();
    for (size_t i = 0; i < NVARIANTS; i++)
        make_image(&variants[i]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    run(cmd);
    free(tmp);
    free(src);
    return 0;
}

/* ---- images in memory ---- */

struct image {
    uint8_t *data;
    size_t len;
};

static struct image load(const char *path)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    struct image im = {malloc((size_t)st.st_size), (size_t)st.st_size};
    assert_int_equal(pread(fd, im.data, im.len, 0), (ssize_t)im.len);
    close(fd);
    return im;
}

static int mount_mem(const struct image *im, size_t len, struct gf_dev **dev, struct fat_fs **fs,
                     char *err, size_t errlen)
{
    assert_int_equal(gf_dev_from_memory(im->data, len, "mem.img", dev), 0);
    int rc = fat_mount(*dev, fs, err, errlen);
    if (rc < 0) {
        gf_dev_close(*dev);
        *dev = NULL;
    }
    return rc;
}

/* ---- comparing a tree ---- */

struct entry {
    char name[800];
    uint64_t ino;
    uint8_t type;
};

struct entries {
    struct entry *v;
    size_t n, cap;
};

static int collect_cb(void *arg, const struct fat_dirent *de)
{
    struct entries *e = arg;
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->v = realloc(e->v, e->cap * sizeof(*e->v));
    }
    assert_true(de->name_len > 0 && de->name_len < sizeof(e->v[0].name));
    memcpy(e->v[e->n].name, de->name, de->name_len);
    e->v[e->n].name[de->name_len] = 0;
    e->v[e->n].ino = de->ino;
    e->v[e->n].type = de->type;
    e->n++;
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

struct counts {
    size_t files, dirs, bytes;
};

static void compare_file(struct fat_fs *fs, const char *path, uint64_t ino, uint64_t size,
                         struct counts *c)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    size_t chunk = 1 << 20;
    uint8_t *a = malloc(chunk), *b = malloc(chunk);
    uint64_t off = 0;
    /* Odd chunk sizes cross cluster boundaries at many offsets. */
    size_t step = 7777 + (size % 3) * 65536;
    for (;;) {
        size_t want = off + step > size ? (size_t)(size - off) + 10 : step;
        ssize_t an = pread(fd, a, want, (off_t)off);
        int64_t bn = fat_read(fs, ino, off, b, want);
        assert_true(an >= 0);
        if (bn != an)
            fail_msg("%s at %llu: read %lld, want %zd: %s", path, (unsigned long long)off,
                     (long long)bn, an, fat_error(fs));
        assert_memory_equal(a, b, (size_t)an);
        if (an == 0)
            break;
        off += (uint64_t)an;
        c->bytes += (size_t)an;
    }
    assert_int_equal(off, size);
    /* Backwards (the chain cursor restarts) and past the end. */
    if (size > 1) {
        assert_int_equal(fat_read(fs, ino, size - 1, b, 5), 1);
        assert_int_equal(pread(fd, a, 1, (off_t)size - 1), 1);
        assert_int_equal(a[0], b[0]);
        assert_int_equal(fat_read(fs, ino, 0, b, 1), 1);
        assert_int_equal(pread(fd, a, 1, 0), 1);
        assert_int_equal(a[0], b[0]);
    }
    assert_int_equal(fat_read(fs, ino, size + 100, b, 5), 0);
    close(fd);
    free(a);
    free(b);
}

/* Compare directory @dir of the source with @ino, recursively; @path is
 * the image path of @ino ("/" for the root). */
static void compare_dir(struct fat_fs *fs, const struct variant *v, const char *dir,
                        const char *path, uint64_t ino, struct counts *c)
{
    struct entries e = {0};
    if (fat_readdir(fs, ino, collect_cb, &e) != 0)
        fail_msg("%s: readdir: %s", dir, fat_error(fs));
    if (e.n)
        qsort(e.v, e.n, sizeof(*e.v), cmp_entry);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    size_t n = 0, subdirs = 0;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        n++;
        struct entry key;
        snprintf(key.name, sizeof(key.name), "%s", de->d_name);
        struct entry *m = e.n ? bsearch(&key, e.v, e.n, sizeof(*e.v), cmp_entry) : NULL;
        if (!m)
            fail_msg("%s/%s: not in the image", dir, de->d_name);
        char *p = cat(dir, de->d_name);
        char *ipath = cat(strcmp(path, "/") ? path : "", de->d_name);
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        struct fat_stat fst;
        if (fat_stat(fs, m->ino, &fst) != 0)
            fail_msg("%s: %s", p, fat_error(fs));
        assert_int_equal(fst.ino, m->ino);
        /* mtools writes the local (here UTC) time, to the 2 seconds below. */
        if (fst.mtime != (st.st_mtim.tv_sec & ~(time_t)1))
            fail_msg("%s: mtime %lld, want %lld", p, (long long)fst.mtime,
                     (long long)st.st_mtim.tv_sec);
        assert_int_equal(fst.mtime_nsec, 0);
        /* The path lookup finds the same entry, in any letter case. */
        uint64_t found;
        if (fat_lookup(fs, ipath, &found) != 0)
            fail_msg("lookup %s: %s", ipath, fat_error(fs));
        assert_int_equal(found, m->ino);
        char *upper = strdup(ipath);
        for (char *u = upper; *u; u++)
            if (*u >= 'a' && *u <= 'z')
                *u = (char)(*u - 'a' + 'A');
        assert_int_equal(fat_lookup(fs, upper, &found), 0);
        assert_int_equal(found, m->ino);
        free(upper);
        if (S_ISDIR(st.st_mode)) {
            subdirs++;
            c->dirs++;
            assert_int_equal(m->type, DT_DIR);
            assert_int_equal(fst.mode, S_IFDIR | 0755);
            assert_true(fst.size > 0 && fst.size % v->cluster_size == 0);
            assert_int_equal(fst.blocks, fst.size / 512);
            /* ".." found on disk is where we came from. */
            assert_int_equal(fat_lookup_child(fs, m->ino, "..", 2, &found), 0);
            assert_int_equal(found, ino);
            assert_int_equal(fat_lookup_child(fs, m->ino, ".", 1, &found), 0);
            assert_int_equal(found, m->ino);
            char buf[4];
            assert_int_equal(fat_read(fs, m->ino, 0, buf, sizeof(buf)), -EISDIR);
            compare_dir(fs, v, p, ipath, m->ino, c);
            /* Its link count: 2 + its subdirectories. */
            assert_int_equal(fat_stat(fs, m->ino, &fst), 0);
            DIR *sd = opendir(p);
            uint32_t nsub = 0;
            struct dirent *sde;
            while ((sde = readdir(sd)))
                nsub += sde->d_type == DT_DIR;
            closedir(sd);
            assert_int_equal(fst.nlink, nsub); /* with . and .. */
        } else {
            c->files++;
            assert_int_equal(m->type, DT_REG);
            assert_int_equal(fst.nlink, 1);
            bool ro = strcmp(de->d_name, "UPPER.TXT") == 0;
            assert_int_equal(fst.mode, S_IFREG | (ro ? 0555u : 0755u));
            assert_int_equal(!!(fst.attr & FAT_ATTR_READ_ONLY), ro);
            assert_int_equal(!!(fst.attr & FAT_ATTR_HIDDEN), strcmp(de->d_name, "noext") == 0);
            assert_int_equal(fst.size, (uint64_t)st.st_size);
            uint64_t clusters = (fst.size + v->cluster_size - 1) / v->cluster_size;
            assert_int_equal(fst.blocks, clusters * v->cluster_size / 512);
            compare_file(fs, p, m->ino, fst.size, c);
            struct entries none = {0};
            assert_int_equal(fat_readdir(fs, m->ino, collect_cb, &none), -ENOTDIR);
            assert_int_equal(fat_lookup_child(fs, m->ino, "x", 1, &found), -ENOTDIR);
            assert_true(strstr(fat_error(fs), "not a directory") != NULL);
        }
        free(ipath);
        free(p);
    }
    closedir(d);
    assert_int_equal(e.n, n);
    if (ino == FAT_ROOT_INO) {
        struct fat_stat rst;
        assert_int_equal(fat_stat(fs, FAT_ROOT_INO, &rst), 0);
        assert_int_equal(rst.mode, S_IFDIR | 0755);
        assert_int_equal(rst.nlink, 2 + subdirs);
        assert_int_equal(rst.mtime, 0);
    }
    free(e.v);
}

/* fsck.fat -n -v's "N files, U/T clusters": used and total. */
static void fsck_counts(const char *img, uint64_t *used, uint64_t *total)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "fsck.fat -n -v '%s' 2>&1", img);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[1024];
    bool found = false;
    while (fgets(line, sizeof(line), f)) {
        char *s = strstr(line, " files, ");
        unsigned long long u, t;
        if (s && sscanf(s, " files, %llu/%llu clusters", &u, &t) == 2) {
            *used = u;
            *total = t;
            found = true;
        }
    }
    assert_int_equal(pclose(f), 0);
    assert_true(found);
}

static void check_fs(struct fat_fs *fs, const struct variant *v, const char *img)
{
    struct fat_statvfs vfs;
    if (fat_statvfs(fs, &vfs) != 0)
        fail_msg("statvfs: %s", fat_error(fs));
    assert_int_equal(vfs.type, v->type);
    assert_int_equal(vfs.cluster_size, v->cluster_size);
    assert_int_equal(vfs.serial, 0x0BADCAFE);
    assert_string_equal(vfs.label, "TESTLABEL");
    assert_int_equal(vfs.name_max, 1530);
    uint64_t used = 0, total = 0;
    fsck_counts(img, &used, &total);
    assert_int_equal(vfs.clusters, total);
    assert_int_equal(vfs.free_clusters, total - used);

    struct counts c = {0};
    compare_dir(fs, v, src, "/", FAT_ROOT_INO, &c);
    assert_int_equal(c.dirs, 5 + 1 + DEEP_LEVELS + 1);
    assert_int_equal(c.files, 18 + 8 + 5 + 1 + BIG_DIR_FILES);
    assert_true(c.bytes > RANDOM_SIZE);

    /* Paths with ".", "..", repeated and trailing slashes; short names. */
    uint64_t a, b;
    assert_int_equal(fat_lookup(fs, "/level1/level2/level3", &a), 0);
    assert_int_equal(fat_lookup(fs, "//level1/./level2/../level2/level3/", &b), 0);
    assert_int_equal(a, b);
    assert_int_equal(fat_lookup(fs, "/level1/..", &b), 0);
    assert_int_equal(b, FAT_ROOT_INO);
    assert_int_equal(fat_lookup(fs, "/..", &b), 0);
    assert_int_equal(b, FAT_ROOT_INO);
    assert_int_equal(fat_lookup(fs, "/", &b), 0);
    assert_int_equal(b, FAT_ROOT_INO);
    assert_int_equal(fat_lookup(fs, "/level1/level2/level3/level4/level5/level6/level7/level8/"
                                    "leaf.txt", &a), 0);
    assert_int_equal(fat_lookup(fs, "/LEVEL1/Level2/level3/level4/level5/level6/level7/level8/"
                                    "../level8/LEAF.TXT", &b), 0);
    assert_int_equal(a, b);
    assert_int_equal(fat_lookup(fs, "/grüße.txt", &a), 0); /* ASCII letters fold, ü is as is */
    assert_int_equal(fat_lookup(fs, "/GRÜSSE.TXT", &b), -ENOENT);
    assert_true(strstr(fat_error(fs), "no entry \"GRÜSSE.TXT\"") != NULL);
    assert_int_equal(fat_lookup(fs, "/AFAIRL~1.TEX", &b), 0); /* the short name */
    assert_int_equal(fat_lookup(fs, "/A fairly long file name with spaces.text", &a), 0);
    assert_int_equal(a, b);
    assert_int_equal(fat_lookup(fs, "/size_1.bin/", &a), -ENOTDIR);
    assert_int_equal(fat_lookup(fs, "/size_1.bin/x", &a), -ENOTDIR);
    assert_int_equal(fat_lookup(fs, "/nope/x", &a), -ENOENT);
    assert_int_equal(fat_lookup(fs, "relative", &a), -EINVAL);
    /* Short names shown with the NT lower-case flags, as Linux shows them. */
    struct entries e = {0};
    uint64_t dir;
    assert_int_equal(fat_lookup(fs, "/case3", &dir), 0);
    assert_int_equal(fat_readdir(fs, dir, collect_cb, &e), 0);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.v[0].name, "lower.TXT");
    free(e.v);
    /* Inode numbers that are no entry. */
    struct fat_stat st;
    assert_int_equal(fat_stat(fs, 3, &st), -EINVAL);
    assert_int_equal(fat_stat(fs, 0, &st), -EINVAL);
    assert_int_equal(fat_stat(fs, UINT64_MAX - 31, &st), -EINVAL);
    assert_true(strstr(fat_error(fs), "not the place of a directory entry") != NULL);
}

static void test_variant(size_t i)
{
    if (!have_tools)
        skip();
    const struct variant *v = &variants[i];
    char *img = image_path(v->name, "img");
    struct gf_dev *dev;
    char err[256];
    assert_int_equal(gf_dev_open_image(img, "raw", &dev, err, sizeof(err)), 0);
    struct fat_fs *fs;
    if (fat_mount(dev, &fs, err, sizeof(err)) != 0)
        fail_msg("%s: %s", v->name, err);
    check_fs(fs, v, img);
    fat_umount(fs);
    gf_dev_close(dev);
    free(img);
}

static void test_fat12(void **state) { (void)state; test_variant(0); }
static void test_fat16(void **state) { (void)state; test_variant(1); }
static void test_fat32(void **state) { (void)state; test_variant(2); }

/* 6,000 clusters: fewer than the specification's 65,525 for FAT32, but
 * mkfs.fat -F 32 makes such filesystems and Linux reads them as FAT32
 * (mtools cannot write into them: the filesystem stays empty). */
static void test_fat32_small(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    char *img = image_path("fat32-small", "img");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "truncate -s 12M '%s' && mkfs.vfat -F 32 -s 4 -n SMALL32 '%s' "
             ">/dev/null 2>&1", img, img);
    assert_int_equal(run(cmd), 0);
    struct image im = load(img);
    struct gf_dev *dev;
    struct fat_fs *fs;
    char err[256];
    assert_int_equal(mount_mem(&im, im.len, &dev, &fs, err, sizeof(err)), 0);
    struct fat_statvfs vfs;
    assert_int_equal(fat_statvfs(fs, &vfs), 0);
    assert_int_equal(vfs.type, FAT32);
    assert_int_equal(vfs.cluster_size, 2048);
    assert_string_equal(vfs.label, "SMALL32");
    uint64_t used = 0, total = 0;
    fsck_counts(img, &used, &total);
    assert_true(total < 65525);
    assert_int_equal(vfs.clusters, total);
    assert_int_equal(vfs.free_clusters, total - used);
    struct fat_stat st;
    assert_int_equal(fat_stat(fs, FAT_ROOT_INO, &st), 0);
    assert_int_equal(st.size, 2048);
    assert_int_equal(st.nlink, 2);
    struct entries e = {0};
    assert_int_equal(fat_readdir(fs, FAT_ROOT_INO, collect_cb, &e), 0);
    assert_int_equal(e.n, 0);
    fat_umount(fs);
    gf_dev_close(dev);
    free(im.data);
    free(img);
}

/* The FAT16 image as partition 1 of an MBR disk (sfdisk), read through it. */
static void test_partition(void **state)
{
    (void)state;
    if (!have_tools || run("command -v sfdisk >/dev/null") != 0)
        skip();
    const struct variant *v = &variants[1];
    char *img = image_path(v->name, "img");
    char *disk = image_path("disk", "img");
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "set -e; truncate -s 20M '%s'; echo 'start=2048, size=32768, type=e' | "
             "sfdisk -q '%s' >/dev/null; dd if='%s' of='%s' bs=1M seek=1 conv=notrunc "
             "status=none",
             disk, disk, img, disk);
    assert_int_equal(run(cmd), 0);
    struct gf_dev *dev, *part;
    char err[256];
    assert_int_equal(gf_dev_open_image(disk, NULL, &dev, err, sizeof(err)), 0);
    struct gfs_part_table *t;
    assert_int_equal(gfs_part_read(dev, &t, err, sizeof(err)), 0);
    assert_int_equal(gfs_part_open(dev, t, 0, &part), 0);
    struct fat_fs *fs;
    if (fat_mount(part, &fs, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    check_fs(fs, v, img);
    /* Errors name the partition. */
    uint64_t ino;
    assert_int_equal(fat_lookup(fs, "/missing", &ino), -ENOENT);
    assert_true(strstr(fat_error(fs), "disk.img:p1: the root directory: no entry \"missing\"") !=
                NULL);
    fat_umount(fs);
    gf_dev_close(part);
    gf_dev_close(dev);
    gfs_part_free(t);
    free(img);
    free(disk);
}

/* The FAT32 image converted to qcow2 and read through lib/image. */
static void test_qcow2(void **state)
{
    (void)state;
    if (!have_tools || run("command -v qemu-img >/dev/null") != 0)
        skip();
    const struct variant *v = &variants[2];
    char *img = image_path(v->name, "img");
    char *qcow = image_path(v->name, "qcow2");
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "qemu-img convert -f raw -O qcow2 '%s' '%s'", img, qcow);
    assert_int_equal(run(cmd), 0);
    struct gf_dev *dev;
    char err[256];
    assert_int_equal(gf_dev_open_image(qcow, NULL, &dev, err, sizeof(err)), 0);
    struct fat_fs *fs;
    if (fat_mount(dev, &fs, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    check_fs(fs, v, img);
    fat_umount(fs);
    gf_dev_close(dev);
    free(img);
    free(qcow);
}

/* ---- corruption ---- */

/* A small FAT12 image (512-byte clusters): /a.txt of 3000 bytes (6
 * clusters), /sub/b.txt, "/A long file name.txt" (two long-name slots). */
static struct image small, small32;
static uint32_t small_reserved, small_fat_sectors;

static void make_small(void)
{
    if (small.data)
        return;
    char *dir = cat(tmp, "small_src");
    assert_int_equal(mkdir(dir, 0755), 0);
    write_file(dir, "a.txt", 3000, 1, 0);
    char *sub = make_dir(dir, "sub");
    write_file(sub, "b.txt", 700, 2, 0);
    write_file(dir, "A long file name.txt", 10, 3, 0);
    char *img = cat(tmp, "small.img");
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "set -e; truncate -s 256K '%s'; mkfs.vfat -F 12 -s 1 -n SMALL '%s' >/dev/null; "
             "LC_ALL=C.UTF-8 TZ=UTC MTOOLS_SKIP_CHECK=1 mcopy -s -m -i '%s' '%s'/* ::/",
             img, img, img, dir);
    assert_int_equal(run(cmd), 0);
    small = load(img);
    /* The same in the smallest FAT32 mtools writes to (65,525 clusters). */
    snprintf(cmd, sizeof(cmd),
             "set -e; truncate -s 34M '%s'.32; mkfs.vfat -F 32 -s 1 -n SMALL '%s'.32 >/dev/null "
             "2>&1; LC_ALL=C.UTF-8 TZ=UTC MTOOLS_SKIP_CHECK=1 mcopy -s -m -i '%s'.32 '%s'/* ::/",
             img, img, img, dir);
    assert_int_equal(run(cmd), 0);
    char *img32 = cat(tmp, "small.img.32");
    small32 = load(img32);
    free(img32);
    small_reserved = small.data[14] | small.data[15] << 8;
    small_fat_sectors = small.data[22] | small.data[23] << 8;
    free(img);
    free(sub);
    free(dir);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Set FAT12 entry @n in both FATs of @im. */
static void set_fat12(struct image *im, uint32_t n, uint16_t value)
{
    for (uint32_t f = 0; f < 2; f++) {
        uint8_t *fat = im->data + (small_reserved + f * small_fat_sectors) * 512;
        uint8_t *p = fat + n + n / 2;
        if (n & 1) {
            p[0] = (uint8_t)((p[0] & 0x0F) | (value << 4));
            p[1] = (uint8_t)(value >> 4);
        } else {
            p[0] = (uint8_t)value;
            p[1] = (uint8_t)((p[1] & 0xF0) | ((value >> 8) & 0x0F));
        }
    }
}

/* Mount a copy of the small image changed by @patch; expect @rc_want and
 * @substr in the message of the first failing step (mount, lookup of
 * @path, then stat and read or readdir). */
static struct image work;

static void reset_work(void)
{
    if (!work.data)
        work.data = malloc(small.len);
    work.len = small.len;
    memcpy(work.data, small.data, small.len);
}

static int readdir_nop(void *arg, const struct fat_dirent *de)
{
    (void)arg;
    (void)de;
    return 0;
}

static void expect(const char *path, int rc_want, const char *substr)
{
    struct gf_dev *dev;
    struct fat_fs *fs = NULL;
    char err[512] = "";
    int rc = mount_mem(&work, work.len, &dev, &fs, err, sizeof(err));
    const char *msg = err;
    if (rc == 0) {
        uint64_t ino;
        rc = fat_lookup(fs, path, &ino);
        struct fat_stat st;
        if (rc == 0)
            rc = fat_stat(fs, ino, &st);
        if (rc == 0 && S_ISDIR(st.mode)) {
            rc = fat_readdir(fs, ino, readdir_nop, NULL);
        } else if (rc == 0) {
            static uint8_t buf[8192];
            int64_t n = fat_read(fs, ino, 0, buf, sizeof(buf));
            rc = n < 0 ? (int)n : 0;
        }
        msg = fat_error(fs);
    }
    if (rc != rc_want || (rc && (!strstr(msg, substr) || strncmp(msg, "mem.img: ", 9) != 0)))
        fail_msg("%s: rc %d (want %d), error \"%s\" (want \"%s\")", path, rc, rc_want, msg,
                 substr);
    if (fs)
        fat_umount(fs);
    gf_dev_close(dev);
}

/* The short entry of @path in the work image (its byte offset). */
static uint64_t entry_of(const char *path)
{
    struct gf_dev *dev;
    struct fat_fs *fs;
    char err[256];
    assert_int_equal(mount_mem(&small, small.len, &dev, &fs, err, sizeof(err)), 0);
    uint64_t ino;
    assert_int_equal(fat_lookup(fs, path, &ino), 0);
    fat_umount(fs);
    gf_dev_close(dev);
    return ino;
}

static void test_boot_sector_errors(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    make_small();
    reset_work();
    expect("/a.txt", 0, "");
    put16(work.data + 11, 300);
    expect("/", -EUCLEAN, "boot sector: bytes per sector 300 not a power of two 512..4096");
    reset_work();
    put16(work.data + 11, 8192);
    expect("/", -EUCLEAN, "boot sector: bytes per sector 8192 not a power of two");
    reset_work();
    work.data[13] = 0;
    expect("/", -EUCLEAN, "boot sector: sectors per cluster 0 not a power of two 1..128");
    reset_work();
    work.data[13] = 3;
    expect("/", -EUCLEAN, "boot sector: sectors per cluster 3 not a power of two");
    reset_work();
    work.data[16] = 0;
    expect("/", -EUCLEAN, "boot sector: number of FATs is 0");
    reset_work();
    put16(work.data + 22, 0);
    put32(work.data + 36, 0);
    expect("/", -EUCLEAN, "boot sector: FAT size is 0 sectors");
    reset_work();
    put16(work.data + 14, 0);
    expect("/", -EUCLEAN, "boot sector: 0 reserved sectors");
    reset_work();
    work.data[21] = 0x12;
    expect("/", -EUCLEAN, "boot sector: media descriptor 0x12");
    reset_work();
    put16(work.data + 19, 0);
    put32(work.data + 32, 0);
    expect("/", -EUCLEAN, "boot sector: total sector count is 0");
    /* 70,000 clusters need FAT32, but this BPB is FAT12/16's. */
    reset_work();
    put16(work.data + 19, 0);
    put32(work.data + 32, 70100);
    expect("/", -EUCLEAN, "clusters make a FAT32 filesystem, but the BPB is FAT12/16's");
    /* 5,000 clusters make FAT16: the FAT12-sized FAT cannot hold them. */
    reset_work();
    put16(work.data + 19, 5100);
    expect("/", -EUCLEAN, "16-bit entries, fewer than the");
    /* A FAT32 BPB keeping the fixed root directory. */
    reset_work();
    put32(work.data + 36, small_fat_sectors);
    put16(work.data + 22, 0);
    expect("/", -EUCLEAN, "FAT32 BPB (16-bit FAT size 0) with 512 root directory entries");
    reset_work();
    put16(work.data + 17, 17);
    expect("/", -EUCLEAN, "17 root directory entries do not fill whole 512-byte sectors");
    reset_work();
    put16(work.data + 19, 600);
    expect("/", -EUCLEAN, "the filesystem has 600 sectors of 512 bytes but the device holds only "
                          "512 (truncated image?)");
    reset_work();
    work.data[510] = 0;
    expect("/", -EINVAL, "boot sector: signature 0xaa00, expected 0xaa55 (not a FAT filesystem)");
    /* Too short for a boot sector. */
    work.len = 100;
    expect("/", -EIO, "boot sector: cannot read bytes 0-511 (device of 100 bytes)");
    work.len = small.len;
}

static void test_fat32_boot_errors(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    make_small();
    struct image im = {malloc(small32.len), small32.len};
    memcpy(im.data, small32.data, small32.len);
    struct gf_dev *dev;
    struct fat_fs *fs;
    char err[256];
    put32(im.data + 44, 999999); /* root cluster */
    assert_int_equal(mount_mem(&im, im.len, &dev, &fs, err, sizeof(err)), -EUCLEAN);
    assert_non_null(strstr(err, "mem.img: boot sector: root cluster 999999 out of range"));
    put32(im.data + 44, 2);
    put16(im.data + 42, 0x0100);
    assert_int_equal(mount_mem(&im, im.len, &dev, &fs, err, sizeof(err)), -EOPNOTSUPP);
    assert_non_null(strstr(err, "FAT32 version 1.0"));
    put16(im.data + 42, 0);
    uint32_t fat_size = (uint32_t)im.data[36] | (uint32_t)im.data[37] << 8 |
                        (uint32_t)im.data[38] << 16 | (uint32_t)im.data[39] << 24;
    put32(im.data + 36, 10);
    assert_int_equal(mount_mem(&im, im.len, &dev, &fs, err, sizeof(err)), -EUCLEAN);
    assert_non_null(strstr(err, "32-bit entries, fewer than the"));
    put32(im.data + 36, fat_size);
    /* The root cluster's chain loops on itself. */
    uint32_t reserved = im.data[14] | im.data[15] << 8;
    put32(im.data + reserved * 512 + 2 * 4, 2);
    assert_int_equal(mount_mem(&im, im.len, &dev, &fs, err, sizeof(err)), -EUCLEAN);
    assert_non_null(strstr(err, "FAT: cluster chain of the root directory loops at cluster 2"));
    free(im.data);
}

static void test_chain_errors(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    make_small();
    uint64_t a = entry_of("/a.txt"), sub = entry_of("/sub"), b = entry_of("/sub/b.txt");
    uint16_t a_start = small.data[a + 26] | small.data[a + 27] << 8;
    uint16_t sub_start = small.data[sub + 26] | small.data[sub + 27] << 8;
    /* mcopy writes files contiguously: a.txt is a_start .. a_start + 5. */
    reset_work();
    set_fat12(&work, a_start + 5, a_start + 2);
    expect("/a.txt", -EUCLEAN, "mem.img: FAT: cluster chain of /a.txt loops at cluster");
    reset_work();
    set_fat12(&work, a_start + 1, 0);
    expect("/a.txt", -EUCLEAN, "cluster chain of /a.txt: cluster ");
    expect("/a.txt", -EUCLEAN, "is followed by a free entry (0)");
    reset_work();
    set_fat12(&work, a_start + 1, 1);
    expect("/a.txt", -EUCLEAN, "is followed by the reserved value (1)");
    reset_work();
    set_fat12(&work, a_start, 0xFF0);
    expect("/a.txt", -EUCLEAN, "points to cluster 4080, past the end");
    reset_work();
    set_fat12(&work, a_start, 0xFF7);
    expect("/a.txt", -EUCLEAN, "is followed by a cluster marked bad");
    reset_work();
    set_fat12(&work, a_start + 2, 0xFFF);
    expect("/a.txt", -EUCLEAN, "FAT: cluster chain of /a.txt ends after 3 clusters, its size "
                               "3000 needs 6");
    /* The largest size (4 GiB - 1) is read as such; its chain is too short. */
    reset_work();
    put32(work.data + a + 28, 0xFFFFFFFF);
    expect("/a.txt", -EUCLEAN, "ends after 6 clusters, its size 4294967295 needs 8388608");
    /* Entries: a start cluster past the end, a size without clusters. */
    reset_work();
    put16(work.data + a + 26, 4000);
    expect("/a.txt", -EUCLEAN, "mem.img: /a.txt: start cluster 4000 out of range");
    reset_work();
    put16(work.data + a + 26, 0);
    expect("/a.txt", -EUCLEAN, "/a.txt: size 3000 but no start cluster");
    reset_work();
    put16(work.data + sub + 26, 4000);
    expect("/sub/b.txt", -EUCLEAN, "/sub: start cluster 4000 out of range");
    /* A directory chain looping on itself. */
    reset_work();
    set_fat12(&work, sub_start, sub_start);
    expect("/sub/", -EUCLEAN, "FAT: cluster chain of /sub loops at cluster");
    /* ".." of /sub pointing to itself. */
    reset_work();
    uint64_t dotdot = (uint64_t)(b - (b % 512)) + 32; /* "." then ".." start the cluster */
    assert_memory_equal(work.data + dotdot, "..         ", 11);
    put16(work.data + dotdot + 26, sub_start);
    expect("/sub/b.txt", 0, "");
    struct gf_dev *dev;
    struct fat_fs *fs;
    char err[256];
    assert_int_equal(mount_mem(&work, work.len, &dev, &fs, err, sizeof(err)), 0);
    uint64_t ino;
    assert_int_equal(fat_lookup_child(fs, sub, "..", 2, &ino), -EUCLEAN);
    assert_non_null(strstr(fat_error(fs), "\"..\" points to the directory itself"));
    /* Its path walk still goes back by the way it came. */
    assert_int_equal(fat_lookup(fs, "/sub/../a.txt", &ino), 0);
    assert_int_equal(ino, a);
    fat_umount(fs);
    gf_dev_close(dev);
}

static int names_cb(void *arg, const struct fat_dirent *de)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%.*s|", de->name_len, de->name);
    return 0;
}

static const char *root_names(void)
{
    static char names[512];
    names[0] = 0;
    struct gf_dev *dev;
    struct fat_fs *fs;
    char err[256];
    assert_int_equal(mount_mem(&work, work.len, &dev, &fs, err, sizeof(err)), 0);
    assert_int_equal(fat_readdir(fs, FAT_ROOT_INO, names_cb, names), 0);
    fat_umount(fs);
    gf_dev_close(dev);
    return names;
}

static void test_long_name_errors(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    make_small();
    uint64_t l = entry_of("/A long file name.txt");
    /* Two slots before the short entry: ordinal 0x42 then 0x01. */
    reset_work();
    assert_int_equal(work.data[l - 64], 0x42);
    assert_int_equal(work.data[l - 32], 0x01);
    assert_string_equal(root_names(), "A long file name.txt|a.txt|sub|");
    /* A bad checksum: the long name is dropped, the short name shown (Linux). */
    work.data[l - 32 + 13] ^= 1;
    work.data[l - 64 + 13] ^= 1;
    assert_string_equal(root_names(), "ALONGF~1.TXT|a.txt|sub|");
    expect("/A long file name.txt", -ENOENT, "the root directory: no entry \"A long file name.txt\"");
    expect("/alongf~1.txt", 0, "");
    /* Out of sequence: the same. */
    reset_work();
    work.data[l - 32] = 0x03;
    assert_string_equal(root_names(), "ALONGF~1.TXT|a.txt|sub|");
    reset_work();
    work.data[l - 64] = 0x40; /* ordinal 0 */
    assert_string_equal(root_names(), "ALONGF~1.TXT|a.txt|sub|");
    reset_work();
    work.data[l - 64] = 0x55; /* 21 slots */
    assert_string_equal(root_names(), "ALONGF~1.TXT|a.txt|sub|");
    /* Surrogate pairs: "A " becomes U+1F600; a lone surrogate U+FFFD. */
    reset_work();
    put16(work.data + l - 32 + 1, 0xD83D);
    put16(work.data + l - 32 + 3, 0xDE00);
    assert_string_equal(root_names(), "\xF0\x9F\x98\x80long file name.txt|a.txt|sub|");
    expect("/\xF0\x9F\x98\x80LONG FILE NAME.TXT", 0, "");
    put16(work.data + l - 32 + 3, 'x');
    assert_string_equal(root_names(), "\xEF\xBF\xBDxlong file name.txt|a.txt|sub|");
    /* A '/' in a long name cannot be a path component: the short name. */
    put16(work.data + l - 32 + 1, '/');
    assert_string_equal(root_names(), "ALONGF~1.TXT|a.txt|sub|");
    /* An orphaned long name (its short entry deleted) is not shown. */
    reset_work();
    work.data[l] = 0xE5;
    assert_string_equal(root_names(), "a.txt|sub|");
    /* A first byte 0x05 stands for 0xE5 (cp437: U+03C3). */
    reset_work();
    uint64_t a = entry_of("/a.txt");
    work.data[a] = 0x05;
    assert_string_equal(root_names(), "A long file name.txt|\xCF\x83.txt|sub|");
    /* A 0x00 first byte ends the directory. */
    reset_work();
    work.data[entry_of("/sub")] = 0;
    assert_string_equal(root_names(), "A long file name.txt|a.txt|");
    /* Volume label: the root directory's entry wins; without it, the BPB's. */
    reset_work();
    memcpy(work.data + 43, "BPBLABEL   ", 11);
    struct gf_dev *dev;
    struct fat_fs *fs;
    char err[256];
    assert_int_equal(mount_mem(&work, work.len, &dev, &fs, err, sizeof(err)), 0);
    struct fat_statvfs vfs;
    assert_int_equal(fat_statvfs(fs, &vfs), 0);
    assert_string_equal(vfs.label, "SMALL");
    assert_int_equal(vfs.type, FAT12);
    uint64_t root_off = (small_reserved + 2 * small_fat_sectors) * 512;
    assert_memory_equal(work.data + root_off, "SMALL      ", 11);
    work.data[root_off] = 0xE5;
    assert_int_equal(fat_statvfs(fs, &vfs), 0);
    assert_string_equal(vfs.label, "BPBLABEL");
    fat_umount(fs);
    gf_dev_close(dev);
}

/* Times: FAT local time read as UTC; ctime from the creation time with
 * its 10 ms field; atime from the access date; zero dates as Linux. */
static void test_times(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    make_small();
    uint64_t a = entry_of("/a.txt");
    reset_work();
    uint8_t *e = work.data + a;
    uint16_t leap_day = (uint16_t)((2024 - 1980) << 9 | 2 << 5 | 29);   /* 2024-02-29 */
    uint16_t late = (uint16_t)(23 << 11 | 59 << 5 | 29);                 /* 23:59:58 */
    put16(e + 24, leap_day);
    put16(e + 22, late);
    e[13] = 199; /* + 1.99 s */
    put16(e + 16, (uint16_t)((2107 - 1980) << 9 | 12 << 5 | 31));      /* the last day */
    put16(e + 14, 0);
    put16(e + 18, (uint16_t)((2000 - 1980) << 9 | 3 << 5 | 1));        /* 2000-03-01 */
    struct gf_dev *dev;
    struct fat_fs *fs;
    char err[256];
    assert_int_equal(mount_mem(&work, work.len, &dev, &fs, err, sizeof(err)), 0);
    struct fat_stat st;
    assert_int_equal(fat_stat(fs, a, &st), 0);
    struct tm tm = {.tm_year = 124, .tm_mon = 1, .tm_mday = 29, .tm_hour = 23, .tm_min = 59,
                    .tm_sec = 58};
    assert_int_equal(st.mtime, timegm(&tm));
    assert_int_equal(st.mtime_nsec, 0);
    tm = (struct tm){.tm_year = 207, .tm_mon = 11, .tm_mday = 31};
    assert_int_equal(st.ctime, timegm(&tm) + 1);
    assert_int_equal(st.ctime_nsec, 990000000);
    tm = (struct tm){.tm_year = 100, .tm_mon = 2, .tm_mday = 1};
    assert_int_equal(st.atime, timegm(&tm));
    /* Zero dates: month and day 0 count as 1, so 1980-01-01. */
    put16(e + 24, 0);
    put16(e + 22, 0);
    assert_int_equal(fat_stat(fs, a, &st), 0);
    assert_int_equal(st.mtime, 315532800);
    /* Size, blocks: 3000 bytes in 512-byte clusters. */
    assert_int_equal(st.size, 3000);
    assert_int_equal(st.blocks, 6);
    fat_umount(fs);
    gf_dev_close(dev);
}

/* ---- random damage ---- */

struct walk {
    struct fat_fs *fs;
    int budget;
};

static int walk_cb(void *arg, const struct fat_dirent *de);

static void walk_ino(struct walk *w, uint64_t ino, int depth)
{
    static uint8_t buf[65536];
    struct fat_stat st;
    if (fat_stat(w->fs, ino, &st) != 0)
        return;
    assert_true(st.mode == (S_IFDIR | 0755) || st.mode == (S_IFREG | 0755) ||
                st.mode == (S_IFREG | 0555));
    if (S_ISREG(st.mode)) {
        for (uint64_t off = 0; off < st.size && off < (1u << 20); off += sizeof(buf)) {
            int64_t n = fat_read(w->fs, ino, off, buf, sizeof(buf));
            assert_true(n <= (int64_t)sizeof(buf));
            if (n <= 0)
                break;
        }
    } else if (depth < 10) {
        uint64_t parent;
        fat_lookup_child(w->fs, ino, "..", 2, &parent);
        struct walk sub = {w->fs, w->budget};
        fat_readdir(w->fs, ino, walk_cb, &sub);
        w->budget = sub.budget;
    }
}

static int walk_cb(void *arg, const struct fat_dirent *de)
{
    struct walk *w = arg;
    if (--w->budget <= 0)
        return 1;
    assert_true(de->name_len > 0 && de->name_len <= FAT_NAME_MAX_BYTES);
    assert_null(memchr(de->name, '/', de->name_len));
    walk_ino(w, de->ino, 1);
    return 0;
}

static void test_random_damage(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    make_small();
    struct image sources[2] = {small, small32};
    uint64_t seed = 4242;
    int mounted = 0, rounds = 300;
    for (int round = 0; round < rounds; round++) {
        /* Flipped in place and flipped back after the round (the FAT32
         * image is 34 MiB: copying it 150 times would dominate). */
        struct image *im = &sources[round % 2];
        size_t at[8];
        uint8_t bit[8];
        int flips = 1 + (int)(kk_test_rand(&seed) % 8);
        for (int f = 0; f < flips; f++) {
            /* Mostly the metadata: boot sector, FATs, root, first clusters
             * (the FAT32 image's FATs end near 1 MiB). */
            size_t span = round % 3 == 0 ? im->len : round % 2 ? (1u << 20) + 65536 : 65536;
            at[f] = (size_t)(kk_test_rand(&seed) % span);
            bit[f] = (uint8_t)(1u << (kk_test_rand(&seed) % 8));
            im->data[at[f]] ^= bit[f];
        }
        size_t len = im->len;
        if (round % 5 == 4)
            len = (size_t)(kk_test_rand(&seed) % im->len);
        struct gf_dev *dev;
        struct fat_fs *fs;
        char err[256] = "";
        if (mount_mem(im, len, &dev, &fs, err, sizeof(err)) == 0) {
            mounted++;
            struct fat_statvfs vfs;
            if (fat_statvfs(fs, &vfs) == 0)
                assert_true(vfs.free_clusters <= vfs.clusters);
            struct walk w = {fs, 3000};
            walk_ino(&w, FAT_ROOT_INO, 0);
            uint64_t ino;
            fat_lookup(fs, "/sub/../a.txt", &ino);
            fat_lookup(fs, "/A LONG FILE NAME.TXT", &ino);
            fat_umount(fs);
            gf_dev_close(dev);
        } else {
            assert_true(strncmp(err, "mem.img: ", 9) == 0);
        }
        for (int f = flips - 1; f >= 0; f--)
            im->data[at[f]] ^= bit[f];
    }
    assert_true(mounted > 100);
}

static void test_not_fat(void **state)
{
    (void)state;
    static uint8_t zeros[8192];
    struct gf_dev *dev;
    assert_int_equal(gf_dev_from_memory(zeros, sizeof(zeros), "zeros", &dev), 0);
    struct fat_fs *fs = (struct fat_fs *)1;
    char err[128];
    assert_int_equal(fat_mount(dev, &fs, err, sizeof(err)), -EINVAL);
    assert_null(fs);
    assert_non_null(strstr(err, "zeros: boot sector: signature 0x0000"));
    assert_int_equal(fat_mount(NULL, &fs, err, sizeof(err)), -EINVAL);
    fat_umount(NULL);
    assert_string_equal(fat_error(NULL), "");
    gf_dev_close(dev);
}

static void test_teardown_small(void **state)
{
    (void)state;
    free(small.data);
    free(small32.data);
    free(work.data);
    small.data = small32.data = work.data = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_fat),
        cmocka_unit_test(test_boot_sector_errors),
        cmocka_unit_test(test_fat32_boot_errors),
        cmocka_unit_test(test_chain_errors),
        cmocka_unit_test(test_long_name_errors),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_random_damage),
        cmocka_unit_test(test_fat12),
        cmocka_unit_test(test_fat16),
        cmocka_unit_test(test_fat32),
        cmocka_unit_test(test_fat32_small),
        cmocka_unit_test(test_partition),
        cmocka_unit_test(test_qcow2),
        cmocka_unit_test(test_teardown_small),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
