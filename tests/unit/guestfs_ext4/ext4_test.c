/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/guestfs ext4 reader against real filesystems: a generated tree is
 * written into images by Debian's mke2fs -d in several variants (ext2,
 * ext3, ext4 defaults, 4 KiB blocks, inline_data, no 64bit, block maps,
 * meta_bg) and every file is compared with what the reader returns. Then
 * corrupted images (superblock, group descriptor, inode, extent block,
 * directory block, truncation, random bit flips) must fail cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <dirent.h>

#include "ext4.h"
#include "gf_dev.h"
#include "kk_crc32c.h"
#include "kk_test.h"

static char *tmp;       /* the scratch directory */
static char *src_tree;  /* the source tree */
static char *src_huge;  /* the same plus a 10,000-file directory */
static bool have_xattr; /* setxattr works in the scratch directory */
static bool have_tools; /* mke2fs and debugfs present */

#define BIG_DIR_FILES 300   /* several blocks: e2fsck -D hashes it */
#define HUGE_DIR_FILES 10000

static char *cat(const char *a, const char *b)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

/* Paths built while making the trees, freed at teardown. */
static char *paths[256];
static size_t npaths;

static char *tcat(const char *a, const char *b)
{
    char *p = cat(a, b);
    assert_true(npaths < sizeof(paths) / sizeof(paths[0]));
    paths[npaths++] = p;
    return p;
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void fill(uint8_t *buf, size_t len, uint64_t seed)
{
    uint64_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(kk_test_rand(&s) >> 56);
}

static void write_file(const char *dir, const char *name, size_t size, uint64_t seed)
{
    char *p = cat(dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    uint8_t *buf = malloc(size + 1);
    fill(buf, size, seed);
    assert_int_equal(write(fd, buf, size), (ssize_t)size);
    close(fd);
    free(buf);
    free(p);
}

/* A file with @n data pieces of @piece bytes every @stride bytes, of @size. */
static void write_sparse(const char *dir, const char *name, int n, size_t piece, off_t stride,
                         off_t first, off_t size)
{
    char *p = cat(dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    uint8_t *buf = malloc(piece);
    for (int i = 0; i < n; i++) {
        fill(buf, piece, (uint64_t)i + 77);
        assert_int_equal(pwrite(fd, buf, piece, first + stride * i), (ssize_t)piece);
    }
    assert_int_equal(ftruncate(fd, size), 0);
    close(fd);
    free(buf);
    free(p);
}

static void set_xattr(const char *dir, const char *name, const char *key, size_t vlen)
{
    if (!have_xattr)
        return;
    char *p = cat(dir, name);
    char *v = malloc(vlen + 1);
    for (size_t i = 0; i < vlen; i++)
        v[i] = (char)('a' + i % 26);
    assert_int_equal(lsetxattr(p, key, v, vlen, 0), 0);
    free(v);
    free(p);
}

static void build_tree(const char *src)
{
    assert_int_equal(mkdir(src, 0755), 0);
    static const size_t sizes[] = {0,    1,    59,   60,    61,    100,    1023,   1024,
                                   1025, 4095, 4096, 4097,  12288, 13319,  70000,  300001,
                                   1100000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "file_%zu", sizes[i]);
        write_file(src, name, sizes[i], i);
    }
    /* Sparse: holes at the start, between pieces and at the end; many extents. */
    write_sparse(src, "sparse_start", 1, 5000, 0, 1 << 20, 2 << 20);
    write_sparse(src, "sparse_many", 24, 3000, 40000, 0, 24 * 40000 + 12345);
    write_sparse(src, "sparse_empty", 0, 1, 0, 0, 5 << 20);
    write_sparse(src, "sparse_far", 2, 4096, 100 << 20, 8192, (100 << 20) + 16384);

    char *d = tcat(src, "dir");
    assert_int_equal(mkdir(d, 0750), 0);
    write_file(d, "inner", 5000, 99);
    assert_int_equal(symlink("inner", tcat(d, "rel_link")) , 0);
    char *deep = tcat(d, "a");
    assert_int_equal(mkdir(deep, 0700), 0);
    char *deeper = tcat(deep, "b");
    assert_int_equal(mkdir(deeper, 0777), 0);
    write_file(deeper, "leaf", 10, 5);

    /* Symlinks: fast (< 60 bytes), slow, dangling, absolute, to a dir, a loop. */
    assert_int_equal(symlink("file_100", tcat(src, "fast_link")), 0);
    char longt[300];
    memset(longt, 'x', sizeof(longt) - 1);
    longt[sizeof(longt) - 1] = 0;
    memcpy(longt, "dir/", 4);
    assert_int_equal(symlink(longt, tcat(src, "slow_link")), 0);
    assert_int_equal(symlink("/dir/a/b/leaf", tcat(src, "abs_link")), 0);
    assert_int_equal(symlink("dir/a", tcat(src, "dir_link")), 0);
    assert_int_equal(symlink("nowhere", tcat(src, "dangling")), 0);
    assert_int_equal(symlink("loop2", tcat(src, "loop1")), 0);
    assert_int_equal(symlink("loop1", tcat(src, "loop2")), 0);
    char t60[61];
    memset(t60, 'y', 60);
    t60[60] = 0;
    assert_int_equal(symlink(t60, tcat(src, "link_60")), 0);

    /* Hard links, modes, owners (with high 16 bits), special files. */
    assert_int_equal(link(tcat(src, "file_1024"), tcat(src, "hard_1024")), 0);
    assert_int_equal(chmod(tcat(src, "file_1"), 04755), 0);
    assert_int_equal(chmod(tcat(src, "file_59"), 0600), 0);
    assert_int_equal(lchown(tcat(src, "file_61"), 1000, 1000), 0);
    assert_int_equal(lchown(tcat(src, "file_100"), 70000, 70001), 0);
    assert_int_equal(lchown(tcat(src, "fast_link"), 1234, 5678), 0);
    assert_int_equal(mkfifo(tcat(src, "fifo"), 0640), 0);
    assert_int_equal(mknod(tcat(src, "null"), S_IFCHR | 0666, makedev(1, 3)), 0);

    /* Extended attributes: small (in-inode) and large (xattr block). */
    set_xattr(src, "file_4096", "user.small", 10);
    set_xattr(src, "file_4096", "user.other", 30);
    set_xattr(src, "file_0", "user.big", 700);
    set_xattr(src, "file_0", "trusted.t", 5);
    set_xattr(src, "dir", "user.on_dir", 3);
    set_xattr(src, "file_60", "user.empty", 0);

    /* A directory big enough to be hashed (htree). */
    char *big = tcat(src, "big");
    assert_int_equal(mkdir(big, 0755), 0);
    for (int i = 0; i < BIG_DIR_FILES; i++) {
        char name[64];
        snprintf(name, sizeof(name), "entry_with_a_longish_name_%05d", i);
        char *p = cat(big, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        if (i % 1000 == 0)
            assert_int_equal(write(fd, name, strlen(name)), (ssize_t)strlen(name));
        close(fd);
        free(p);
    }
    char *small = tcat(src, "smalldir");
    assert_int_equal(mkdir(small, 0755), 0);
    write_file(small, "s1", 10, 1);
    write_file(small, "s2", 20, 2);
}

/* mke2fs -d adds entries one by one with a linear search: short names keep it fast. */
static void build_huge_dir(const char *tree)
{
    char *huge = tcat(tree, "huge");
    assert_int_equal(mkdir(huge, 0755), 0);
    for (int i = 0; i < HUGE_DIR_FILES; i++) {
        char name[16];
        snprintf(name, sizeof(name), "h%d", i);
        char *p = cat(huge, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        close(fd);
        free(p);
    }
}

struct variant {
    const char *name;
    const char *mkfs; /* options for mke2fs */
    bool huge;        /* with the 10,000-file directory; also read through qcow2 */
    bool short_tail_holes;
};

static const struct variant variants[] = {
    {"ext2-128", "-t ext2 -I 128", false, false},
    {"ext3", "-t ext3", false, false},
    {"ext4", "-t ext4", false, false},
    {"ext4-4k", "-t ext4 -b 4096", true, false},
    {"ext4-inline", "-t ext4 -O inline_data", false, true},
    {"ext4-32bit", "-t ext4 -O ^64bit", false, false},
    {"ext4-blockmap", "-t ext4 -O ^extent,^64bit", false, false},
    {"ext4-meta_bg", "-t ext4 -O meta_bg,^resize_inode -b 1024", false, false},
    {"ext4-64k", "-t ext4 -b 65536", false, false},
};

static char *huge_image;
static char *make_image_cmd(const struct variant *v, bool background);
#define HUGE_VARIANT 3

static int setup(void **state)
{
    tmp = kk_test_mkdtemp();
    assert_non_null(tmp);
    char *probe = cat(tmp, "probe");
    close(open(probe, O_WRONLY | O_CREAT, 0644));
    have_xattr = lsetxattr(probe, "user.x", "1", 1, 0) == 0;
    unlink(probe);
    free(probe);
    have_tools = run("command -v mke2fs >/dev/null && command -v debugfs >/dev/null") == 0;
    if (have_tools) {
        src_tree = cat(tmp, "src");
        build_tree(src_tree);
        src_huge = cat(tmp, "src_huge");
        build_tree(src_huge);
        build_huge_dir(src_huge);
        huge_image = make_image_cmd(&variants[HUGE_VARIANT], true);
    }
    return 0;
}

static int teardown(void **state)
{
    if (huge_image) { /* its test did not run: let mke2fs finish before removing */
        char *done = NULL;
        if (asprintf(&done, "%s.done", huge_image) > 0) {
            struct stat st;
            for (int i = 0; i < 1200 && stat(done, &st) != 0; i++)
                usleep(100000);
        }
        free(done);
        free(huge_image);
    }
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    run(cmd);
    free(tmp);
    free(src_tree);
    free(src_huge);
    for (size_t i = 0; i < npaths; i++)
        free(paths[i]);
    return 0;
}

/* ---- comparing a tree ---- */

struct entry {
    char name[256];
    uint32_t ino;
    uint8_t type;
};

struct entries {
    struct entry *v;
    size_t n, cap;
};

static int collect_cb(void *arg, const struct ext4_dirent *de)
{
    struct entries *e = arg;
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->v = realloc(e->v, e->cap * sizeof(*e->v));
    }
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint8_t ftype_of(mode_t m)
{
    return S_ISREG(m) ? EXT4_FT_REG : S_ISDIR(m) ? EXT4_FT_DIR : S_ISLNK(m) ? EXT4_FT_LNK
         : S_ISCHR(m) ? EXT4_FT_CHR : S_ISBLK(m) ? EXT4_FT_BLK : S_ISFIFO(m) ? EXT4_FT_FIFO
                                                                             : EXT4_FT_SOCK;
}

struct counts {
    size_t files, dirs, links, bytes, xattrs;
    bool short_tail_holes; /* mke2fs -O inline_data drops a sparse file's final hole */
};

static void compare_xattrs(struct ext4_fs *fs, const char *path, uint32_t ino, struct counts *c)
{
    char slist[4096], ilist[4096];
    ssize_t sn = llistxattr(path, slist, sizeof(slist));
    if (sn < 0)
        sn = 0;
    int in = ext4_listxattr(fs, ino, ilist, sizeof(ilist));
    assert_true(in >= 0);
    assert_int_equal(ext4_listxattr(fs, ino, NULL, 0), in);
    /* Same names, in any order. */
    char *sv[64], *iv[64];
    int sc = 0, ic = 0;
    for (ssize_t i = 0; i < sn; i += (ssize_t)strlen(slist + i) + 1)
        sv[sc++] = slist + i;
    for (int i = 0; i < in; i += (int)strlen(ilist + i) + 1)
        iv[ic++] = ilist + i;
    assert_int_equal(sc, ic);
    qsort(sv, (size_t)sc, sizeof(char *), cmp_str);
    qsort(iv, (size_t)ic, sizeof(char *), cmp_str);
    for (int i = 0; i < sc; i++) {
        assert_string_equal(sv[i], iv[i]);
        char a[70000], b[70000];
        ssize_t al = lgetxattr(path, sv[i], a, sizeof(a));
        int bl = ext4_getxattr(fs, ino, iv[i], b, sizeof(b));
        assert_int_equal(bl, al);
        assert_memory_equal(a, b, (size_t)al);
        if (al > 0)
            assert_int_equal(ext4_getxattr(fs, ino, iv[i], b, (size_t)al - 1), -ERANGE);
        c->xattrs++;
    }
    assert_int_equal(ext4_getxattr(fs, ino, "user.no_such", NULL, 0), -ENODATA);
}

static void compare_file(struct ext4_fs *fs, const char *path, uint32_t ino, uint64_t size,
                         struct counts *c)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    size_t chunk = 1 << 20;
    uint8_t *a = malloc(chunk), *b = malloc(chunk);
    uint64_t off = 0;
    /* Odd chunk sizes cross block and extent boundaries at many offsets. */
    size_t step = 7777 + (size % 3) * 65536;
    for (;;) {
        size_t want = off + step > size ? (size_t)(size - off) : step;
        ssize_t an = pread(fd, a, want, (off_t)off);
        int64_t bn = ext4_read(fs, ino, off, b, want);
        assert_true(an >= 0);
        if (bn != an)
            fail_msg("%s at %llu: read %lld, want %zd: %s", path, (unsigned long long)off,
                     (long long)bn, an, ext4_error(fs));
        assert_memory_equal(a, b, (size_t)an);
        if (an == 0)
            break;
        off += (uint64_t)an;
        c->bytes += (size_t)an;
        if (size > (50u << 20) && off > (1u << 20) && off < size - (1u << 20))
            off = size - (1u << 20) + 1; /* a big sparse file: its head and tail */
    }
    assert_true(off >= size);
    close(fd);
    free(a);
    free(b);
}

static void compare_dir(struct ext4_fs *fs, const char *dir, uint32_t ino, struct counts *c)
{
    struct entries e = {0};
    if (ext4_readdir(fs, ino, collect_cb, &e) != 0)
        fail_msg("%s: readdir: %s", dir, ext4_error(fs));
    qsort(e.v, e.n, sizeof(*e.v), cmp_entry);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    size_t n = 0;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        n++;
        struct entry key;
        snprintf(key.name, sizeof(key.name), "%s", de->d_name);
        struct entry *m = bsearch(&key, e.v, e.n, sizeof(*e.v), cmp_entry);
        if (!m)
            fail_msg("%s/%s: not in the image", dir, de->d_name);
        char *p = cat(dir, de->d_name);
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        struct ext4_stat es;
        if (ext4_stat(fs, m->ino, &es) != 0)
            fail_msg("%s: %s", p, ext4_error(fs));
        assert_int_equal(es.ino, m->ino);
        assert_int_equal(es.mode, st.st_mode);
        assert_int_equal(es.uid, st.st_uid);
        assert_int_equal(es.gid, st.st_gid);
        assert_int_equal(es.mtime.sec, st.st_mtim.tv_sec);
        if (m->type != EXT4_FT_UNKNOWN)
            assert_int_equal(m->type, ftype_of(st.st_mode));
        if (c->short_tail_holes && S_ISREG(st.st_mode) && es.size < (uint64_t)st.st_size) {
            /* Only a hole may be missing: no data after the image's end of file. */
            int fd = open(p, O_RDONLY);
            assert_true(fd >= 0);
            off_t next = ((off_t)es.size + 65535) & ~(off_t)65535;
            uint8_t z[65536];
            ssize_t zn = pread(fd, z, (size_t)(next - (off_t)es.size), (off_t)es.size);
            for (ssize_t k = 0; k < zn; k++)
                assert_int_equal(z[k], 0);
            assert_int_equal(lseek(fd, next, SEEK_DATA), -1);
            close(fd);
            st.st_size = (off_t)es.size;
        }
        if (!S_ISDIR(st.st_mode)) {
            assert_int_equal(es.size, st.st_size);
            assert_int_equal(es.nlink, st.st_nlink);
        }
        if (S_ISREG(st.st_mode)) {
            compare_file(fs, p, m->ino, (uint64_t)st.st_size, c);
            c->files++;
        } else if (S_ISLNK(st.st_mode)) {
            char a[4096], b[4096];
            ssize_t al = readlink(p, a, sizeof(a));
            assert_int_equal(ext4_readlink(fs, m->ino, b, sizeof(b)), al);
            assert_memory_equal(a, b, (size_t)al);
            assert_int_equal(ext4_readlink(fs, m->ino, b, (size_t)al), -ERANGE);
            c->links++;
        } else if (S_ISDIR(st.st_mode)) {
            c->dirs++;
            compare_dir(fs, p, m->ino, c);
        } else if (S_ISCHR(st.st_mode)) {
            assert_int_equal(es.rdev_major, major(st.st_rdev));
            assert_int_equal(es.rdev_minor, minor(st.st_rdev));
        }
        compare_xattrs(fs, p, m->ino, c);
        free(p);
    }
    closedir(d);
    /* The image holds exactly the source's entries (plus lost+found at the root). */
    size_t extra = ino == EXT4_ROOT_INO ? 1 : 0;
    assert_int_equal(e.n, n + extra);
    free(e.v);
}

static void check_lookups(struct ext4_fs *fs)
{
    uint32_t ino, ino2;
    struct ext4_stat st;
    assert_int_equal(ext4_lookup(fs, "/", 0, &ino), 0);
    assert_int_equal(ino, EXT4_ROOT_INO);
    assert_int_equal(ext4_lookup(fs, "dir/a/b/leaf", 0, &ino), 0);
    assert_int_equal(ext4_lookup(fs, "/abs_link", 0, &ino2), 0);
    assert_int_equal(ino, ino2);
    assert_int_equal(ext4_lookup(fs, "/dir_link/b/../b/./leaf", 0, &ino2), 0);
    assert_int_equal(ino, ino2);
    assert_int_equal(ext4_lookup(fs, "//dir//rel_link", 0, &ino), 0);
    assert_int_equal(ext4_lookup(fs, "/dir/inner", 0, &ino2), 0);
    assert_int_equal(ino, ino2);
    assert_int_equal(ext4_lookup(fs, "/dir/rel_link", EXT4_LOOKUP_NOFOLLOW, &ino), 0);
    assert_int_equal(ext4_stat(fs, ino, &st), 0);
    assert_true(S_ISLNK(st.mode));
    assert_int_equal(ext4_lookup(fs, "/fast_link", 0, &ino), 0);
    assert_int_equal(ext4_lookup(fs, "/file_100", 0, &ino2), 0);
    assert_int_equal(ino, ino2);
    assert_int_equal(ext4_lookup(fs, "/big/entry_with_a_longish_name_00299", 0, &ino), 0);
    assert_int_equal(ext4_stat(fs, ino, &st), 0);
    assert_true(S_ISREG(st.mode));
    assert_int_equal(ext4_lookup(fs, "/big/entry_with_a_longish_name_00300", 0, &ino), -ENOENT);
    assert_true(strstr(ext4_error(fs), "entry_with_a_longish_name_00300") != NULL);
    assert_int_equal(ext4_lookup(fs, "/loop1", 0, &ino), -ELOOP);
    assert_int_equal(ext4_lookup(fs, "/loop1", EXT4_LOOKUP_NOFOLLOW, &ino), 0);
    assert_int_equal(ext4_lookup(fs, "/dangling", 0, &ino), -ENOENT);
    assert_int_equal(ext4_lookup(fs, "/file_100/x", 0, &ino), -ENOTDIR);
    assert_int_equal(ext4_lookup(fs, "/file_100/", 0, &ino), -ENOTDIR);
    assert_int_equal(ext4_readdir(fs, ino2, collect_cb, NULL), -ENOTDIR);
    char buf[8];
    assert_int_equal(ext4_readlink(fs, ino2, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(ext4_stat(fs, 0, &st), -EINVAL);
    assert_int_equal(ext4_read(fs, ino2, 1000, buf, sizeof(buf)), 0); /* past EOF */
    /* The root's ".." is the root. */
    assert_int_equal(ext4_lookup(fs, "/../dir/..", 0, &ino), 0);
    assert_int_equal(ino, EXT4_ROOT_INO);
}


#define IMAGE_MIB 128

/*
 * mke2fs -d writes linear directories: e2fsck -D then hashes the multi-block
 * ones. With @background the command runs in the background (mke2fs takes
 * seconds for the 10,000-file directory) and writes "<img>.done";
 * wait_image() waits for it.
 */
static char *make_image_cmd(const struct variant *v, bool background)
{
    char *img = cat(tmp, v->name);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "(mke2fs -q -F %s -N 12000 -E root_owner=0:0 -d '%s' '%s' %dM >/dev/null 2>&1 && "
             "e2fsck -fyD '%s' >/dev/null 2>&1; [ $? -le 1 ] && echo ok > '%s.tmp'; "
             "mv '%s.tmp' '%s.done' 2>/dev/null || touch '%s.done')%s",
             v->mkfs, v->huge ? src_huge : src_tree, img, IMAGE_MIB, img, img, img, img, img,
             background ? " </dev/null >/dev/null 2>&1 &" : "");
    assert_int_equal(run(cmd), 0);
    return img;
}

/* Wait (at most two minutes) for a background image; fails if mke2fs failed. */
static void wait_image(const char *img)
{
    char *done = NULL;
    assert_true(asprintf(&done, "%s.done", img) > 0);
    struct stat st;
    for (int i = 0; i < 1200 && stat(done, &st) != 0; i++)
        usleep(100000);
    if (stat(done, &st) != 0 || st.st_size == 0)
        fail_msg("mke2fs failed for %s", img);
    unlink(done);
    free(done);
}

static char *make_image(const struct variant *v)
{
    char *img = make_image_cmd(v, false);
    wait_image(img);
    return img;
}

/* The same tree through a qcow2 made by qemu-img. */
static void check_qcow2(const char *img, const char *tree)
{
    char *q = cat(tmp, "img.qcow2");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "qemu-img convert -O qcow2 '%s' '%s'", img, q);
    assert_int_equal(run(cmd), 0);
    struct gf_dev *dev;
    char err[256];
    assert_int_equal(gf_dev_open_image(q, NULL, &dev, err, sizeof(err)), 0);
    struct ext4_fs *fs;
    if (ext4_mount(dev, &fs, err, sizeof(err)) != 0)
        fail_msg("qcow2 mount: %s", err);
    struct counts c = {0};
    compare_dir(fs, tree, EXT4_ROOT_INO, &c);
    assert_true(c.files > 10000);
    print_message("# via qcow2: %zu files\n", c.files);
    ext4_umount(fs);
    gf_dev_close(dev);
    unlink(q);
    free(q);
}

static uint32_t vfs_block_size(struct ext4_fs *fs)
{
    struct ext4_statvfs vfs;
    assert_int_equal(ext4_statvfs(fs, &vfs), 0);
    return vfs.block_size;
}


static void check_variant(const struct variant *v)
{
    char *img;
    if (v->huge) {
        img = huge_image;
        huge_image = NULL;
        wait_image(img);
    } else {
        img = make_image(v);
    }
    struct gf_dev *dev;
    char err[256];
    assert_int_equal(gf_dev_open_image(img, "raw", &dev, err, sizeof(err)), 0);
    struct ext4_fs *fs;
    if (ext4_mount(dev, &fs, err, sizeof(err)) != 0)
        fail_msg("%s: mount: %s", v->name, err);
    struct counts c = {.short_tail_holes = v->short_tail_holes};
    compare_dir(fs, v->huge ? src_huge : src_tree, EXT4_ROOT_INO, &c);
    check_lookups(fs);
    uint32_t ino;
    struct ext4_stat st;
    assert_int_equal(ext4_lookup(fs, v->huge ? "/huge" : "/big", 0, &ino), 0);
    assert_int_equal(ext4_stat(fs, ino, &st), 0);
    if (st.size > vfs_block_size(fs))
        assert_true(st.flags & 0x1000); /* hashed */
    if (v->huge)
        assert_int_equal(ext4_lookup(fs, "/huge/h9999", 0, &ino), 0);
    struct ext4_statvfs vfs;
    assert_int_equal(ext4_statvfs(fs, &vfs), 0);
    assert_int_equal(vfs.blocks * vfs.block_size, (uint64_t)IMAGE_MIB << 20);
    assert_int_equal(vfs.needs_recovery, 0);
    assert_true(vfs.free_blocks < vfs.blocks && vfs.free_inodes < vfs.inodes);
    assert_true(c.files > (v->huge ? 10300u : 300u) && c.links == 9 &&
                c.dirs == (v->huge ? 6u : 5u));
    if (have_xattr)
        assert_true(c.xattrs >= 6);
    print_message("# %s: %zu files (%zu bytes), %zu dirs, %zu symlinks, %zu xattrs\n", v->name,
                  c.files, c.bytes, c.dirs, c.links, c.xattrs);
    ext4_umount(fs);
    gf_dev_close(dev);
    if (v->huge && run("command -v qemu-img >/dev/null") == 0)
        check_qcow2(img, src_huge);
    unlink(img);
    free(img);
}

#define VARIANT_TEST(i)                                                                       \
    static void test_variant_##i(void **state)                                                \
    {                                                                                         \
        if (!have_tools)                                                                      \
            skip();                                                                           \
        check_variant(&variants[i]);                                                          \
    }
VARIANT_TEST(0)
VARIANT_TEST(1)
VARIANT_TEST(2)
VARIANT_TEST(3)
VARIANT_TEST(4)
VARIANT_TEST(5)
VARIANT_TEST(6)
VARIANT_TEST(7)
VARIANT_TEST(8)

/* ---- corruption ---- */

struct image {
    uint8_t *data;
    size_t len;
};

static struct image load(const char *path)
{
    struct image im = {0};
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    im.len = (size_t)st.st_size;
    im.data = malloc(im.len);
    assert_int_equal(pread(fd, im.data, im.len, 0), (ssize_t)im.len);
    close(fd);
    return im;
}

/* Mount @im (of @len bytes); returns the mount's rc, the fs in *out if 0. */
static int mount_mem(const struct image *im, size_t len, struct gf_dev **dev,
                     struct ext4_fs **out, char *err, size_t errlen)
{
    assert_int_equal(gf_dev_from_memory(im->data, len, "corrupt.img", dev), 0);
    int rc = ext4_mount(*dev, out, err, errlen);
    if (rc < 0) {
        gf_dev_close(*dev);
        *dev = NULL;
    }
    return rc;
}

static void expect_mount_error(const struct image *im, size_t len, int want, const char *msg)
{
    struct gf_dev *dev;
    struct ext4_fs *fs;
    char err[256] = "";
    int rc = mount_mem(im, len, &dev, &fs, err, sizeof(err));
    if (rc != want || !strstr(err, msg) || !strstr(err, "corrupt.img"))
        fail_msg("mount: rc %d (want %d), \"%s\" (want \"%s\")", rc, want, err, msg);
}

static void fix_sb_csum(struct image *im)
{
    uint8_t *sb = im->data + 1024;
    uint32_t c = ~kk_crc32c(0, sb, 0x3FC);
    sb[0x3FC] = (uint8_t)c;
    sb[0x3FD] = (uint8_t)(c >> 8);
    sb[0x3FE] = (uint8_t)(c >> 16);
    sb[0x3FF] = (uint8_t)(c >> 24);
}

/* A number from debugfs's output: the text after @key in `debugfs -R cmd`. */
static uint64_t debugfs_num(const char *img, const char *cmd, const char *key)
{
    char line[4096], full[1024];
    snprintf(full, sizeof(full), "debugfs -R '%s' '%s' 2>/dev/null", cmd, img);
    FILE *f = popen(full, "r");
    assert_non_null(f);
    uint64_t v = UINT64_MAX;
    while (fgets(line, sizeof(line), f)) {
        char *p = strstr(line, key);
        if (p && v == UINT64_MAX)
            v = strtoull(p + strlen(key), NULL, 0);
    }
    pclose(f);
    if (v == UINT64_MAX)
        fail_msg("debugfs %s: no %s", cmd, key);
    return v;
}

static void expect_op_error(const struct image *im, const char *path, int want, const char *msg)
{
    struct gf_dev *dev;
    struct ext4_fs *fs;
    char err[256];
    if (mount_mem(im, im->len, &dev, &fs, err, sizeof(err)) != 0)
        fail_msg("mount: %s", err);
    uint32_t ino;
    int rc = ext4_lookup(fs, path, 0, &ino);
    if (rc == 0) {
        struct ext4_stat st;
        rc = ext4_stat(fs, ino, &st);
        uint8_t buf[4096];
        for (uint64_t off = 0; rc == 0 && off < st.size && S_ISREG(st.mode); off += sizeof(buf))
            rc = ext4_read(fs, ino, off, buf, sizeof(buf)) < 0 ? -EUCLEAN : 0;
        if (rc == 0 && S_ISDIR(st.mode)) {
            struct entries e = {0};
            rc = ext4_readdir(fs, ino, collect_cb, &e);
            free(e.v);
        }
    }
    if (rc != want || !strstr(ext4_error(fs), msg) || !strstr(ext4_error(fs), "corrupt.img"))
        fail_msg("%s: rc %d (want %d), \"%s\" (want \"%s\")", path, rc, want, ext4_error(fs),
                 msg);
    ext4_umount(fs);
    gf_dev_close(dev);
}

static void test_corruption(void **state)
{
    if (!have_tools)
        skip();
    const struct variant v = {"corrupt", "-t ext4", true};
    char *img = make_image(&v);
    struct image im = load(img);

    /* Intact, then a dirty journal: mounts and says so. */
    struct gf_dev *dev;
    struct ext4_fs *fs;
    char err[256];
    im.data[1024 + 0x60] |= 0x4;
    fix_sb_csum(&im);
    assert_int_equal(mount_mem(&im, im.len, &dev, &fs, err, sizeof(err)), 0);
    struct ext4_statvfs vfs;
    assert_int_equal(ext4_statvfs(fs, &vfs), 0);
    assert_int_equal(vfs.needs_recovery, 1);
    assert_int_equal(vfs.csum, 2);
    ext4_umount(fs);
    gf_dev_close(dev);
    im.data[1024 + 0x60] &= (uint8_t)~0x4;
    fix_sb_csum(&im);

    /* Superblock: a flipped bit, a bad magic, an unknown INCOMPAT feature. */
    im.data[1024 + 0x30] ^= 0x10;
    expect_mount_error(&im, im.len, -EUCLEAN, "superblock: checksum mismatch");
    im.data[1024 + 0x30] ^= 0x10;
    im.data[1024 + 0x38] ^= 1;
    expect_mount_error(&im, im.len, -EINVAL, "bad magic");
    im.data[1024 + 0x38] ^= 1;
    im.data[1024 + 0x62] |= 0x01; /* 0x10000: encrypt */
    fix_sb_csum(&im);
    expect_mount_error(&im, im.len, -EOPNOTSUPP, "unsupported INCOMPAT features 0x10000");
    im.data[1024 + 0x62] &= (uint8_t)~0x01;
    im.data[1024 + 0x18] = 9; /* 512 KiB blocks */
    fix_sb_csum(&im);
    expect_mount_error(&im, im.len, -EUCLEAN, "s_log_block_size");
    im.data[1024 + 0x18] = 0;
    fix_sb_csum(&im);

    /* Truncated image. */
    expect_mount_error(&im, im.len / 2, -EUCLEAN, "truncated");
    expect_mount_error(&im, 1500, -EIO, "superblock");

    /* Group descriptor 1 (1 KiB blocks: the table is block 2). */
    im.data[2048 + 64 + 8] ^= 0x40;
    expect_mount_error(&im, im.len, -EUCLEAN, "group descriptor 1: checksum mismatch");
    im.data[2048 + 64 + 8] ^= 0x40;

    /* An inode in the inode table. */
    uint64_t ino = debugfs_num(img, "stat /file_4096", "Inode: ");
    uint64_t iblock = debugfs_num(img, "imap /file_4096", "located at block ");
    uint64_t ioff = debugfs_num(img, "imap /file_4096", "offset ");
    im.data[iblock * 1024 + ioff + 0x10] ^= 1; /* mtime */
    char want[64];
    snprintf(want, sizeof(want), "inode %llu: checksum mismatch", (unsigned long long)ino);
    expect_op_error(&im, "/file_4096", -EUCLEAN, want);
    im.data[iblock * 1024 + ioff + 0x10] ^= 1;

    /* An extent tree block (sparse_many has more extents than fit in the inode). */
    uint64_t etb = debugfs_num(img, "stat /sparse_many", "(ETB0):");
    im.data[etb * 1024 + 20] ^= 0x02;
    expect_op_error(&im, "/sparse_many", -EUCLEAN, "checksum mismatch");
    assert_true(strstr(err, "") != NULL);
    im.data[etb * 1024 + 20] ^= 0x02;
    im.data[etb * 1024] ^= 0xFF; /* the magic */
    expect_op_error(&im, "/sparse_many", -EUCLEAN, "extent header");
    im.data[etb * 1024] ^= 0xFF;

    /* A directory block. */
    uint64_t dblock = debugfs_num(img, "blocks /smalldir", "");
    im.data[dblock * 1024 + 30] ^= 0x08;
    expect_op_error(&im, "/smalldir", -EUCLEAN, "directory block 0: checksum mismatch");
    im.data[dblock * 1024 + 30] ^= 0x08;

    /* Everything intact again: the whole tree compares. */
    assert_int_equal(mount_mem(&im, im.len, &dev, &fs, err, sizeof(err)), 0);
    uint32_t i2;
    assert_int_equal(ext4_lookup(fs, "/sparse_many", 0, &i2), 0);
    ext4_umount(fs);
    gf_dev_close(dev);
    free(im.data);
    unlink(img);
    free(img);
}

/* Without checksums (ext2), a bad rec_len is caught by the entry checks. */
static void test_corrupt_dirent_ext2(void **state)
{
    if (!have_tools)
        skip();
    const struct variant v = {"corrupt2", "-t ext2", true};
    char *img = make_image(&v);
    struct image im = load(img);
    uint64_t dblock = debugfs_num(img, "blocks /smalldir", "");
    im.data[dblock * 1024 + 4] = 3; /* "."'s rec_len: 12 -> 3 */
    expect_op_error(&im, "/smalldir", -EUCLEAN, "bad rec_len 3");
    im.data[dblock * 1024 + 4] = 12;
    free(im.data);
    unlink(img);
    free(img);
}

/* Random bit flips in the metadata: every call returns, nothing crashes. */
static int walk_cb(void *arg, const struct ext4_dirent *de)
{
    struct entries *e = arg;
    if (e->n < 4096)
        collect_cb(arg, de);
    return 0;
}

static void walk_all(struct ext4_fs *fs, uint32_t ino, int depth)
{
    struct entries e = {0};
    ext4_readdir(fs, ino, walk_cb, &e);
    for (size_t i = 0; i < e.n && i < 64; i++) {
        struct ext4_stat st;
        if (ext4_stat(fs, e.v[i].ino, &st) != 0)
            continue;
        uint8_t buf[8192];
        if (S_ISREG(st.mode))
            ext4_read(fs, e.v[i].ino, 0, buf, sizeof(buf));
        if (S_ISLNK(st.mode))
            ext4_readlink(fs, e.v[i].ino, (char *)buf, sizeof(buf));
        ext4_listxattr(fs, e.v[i].ino, (char *)buf, sizeof(buf));
        if (S_ISDIR(st.mode) && depth < 4)
            walk_all(fs, e.v[i].ino, depth + 1);
    }
    free(e.v);
}

static void test_random_flips(void **state)
{
    if (!have_tools)
        skip();
    char *small = cat(tmp, "small_src");
    assert_int_equal(mkdir(small, 0755), 0);
    write_file(small, "a", 3000, 1);
    write_sparse(small, "s", 10, 100, 3000, 0, 40000);
    char *img = cat(tmp, "small.img");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "mke2fs -q -F -t ext4 -d '%s' '%s' 256k >/dev/null 2>&1", small,
             img);
    assert_int_equal(run(cmd), 0);
    struct image orig = load(img);
    struct image im = {malloc(orig.len), orig.len};
    uint64_t seed = 12345;
    int mounted = 0;
    for (int round = 0; round < 300; round++) {
        memcpy(im.data, orig.data, orig.len);
        int flips = 1 + (int)(kk_test_rand(&seed) % 8);
        for (int f = 0; f < flips; f++) {
            /* Mostly the first 64 KiB, where the metadata lives. */
            size_t at = (size_t)(kk_test_rand(&seed) % (round % 2 ? im.len : 65536));
            im.data[at] ^= (uint8_t)(1u << (kk_test_rand(&seed) % 8));
        }
        /* Every other round without checksum protection: clear metadata_csum. */
        if (round % 3 == 0) {
            im.data[1024 + 0x65] &= (uint8_t)~0x04;
        }
        struct gf_dev *dev;
        struct ext4_fs *fs;
        char err[256];
        if (mount_mem(&im, im.len, &dev, &fs, err, sizeof(err)) != 0) {
            assert_true(strlen(err) > 0);
            continue;
        }
        mounted++;
        walk_all(fs, EXT4_ROOT_INO, 0);
        ext4_umount(fs);
        gf_dev_close(dev);
    }
    assert_true(mounted > 10);
    free(im.data);
    free(orig.data);
    free(img);
    free(small);
}

static void test_not_ext4(void **state)
{
    static uint8_t zeros[8192];
    struct gf_dev *dev;
    assert_int_equal(gf_dev_from_memory(zeros, sizeof(zeros), "zeros", &dev), 0);
    struct ext4_fs *fs = (struct ext4_fs *)1;
    char err[128];
    assert_int_equal(ext4_mount(dev, &fs, err, sizeof(err)), -EINVAL);
    assert_null(fs);
    assert_non_null(strstr(err, "zeros: superblock: bad magic"));
    assert_int_equal(ext4_mount(NULL, &fs, err, sizeof(err)), -EINVAL);
    ext4_umount(NULL);
    gf_dev_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_ext4),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_corrupt_dirent_ext2),
        cmocka_unit_test(test_random_flips),
        cmocka_unit_test(test_variant_0),
        cmocka_unit_test(test_variant_1),
        cmocka_unit_test(test_variant_2),
        cmocka_unit_test(test_variant_3),
        cmocka_unit_test(test_variant_4),
        cmocka_unit_test(test_variant_5),
        cmocka_unit_test(test_variant_6),
        cmocka_unit_test(test_variant_7),
        cmocka_unit_test(test_variant_8),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
