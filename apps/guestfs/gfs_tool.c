/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gfs_tool.c — helpers the one-shot guestfs tools share (gfs_tool.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef KK_HAVE_OPENSSL
#include <openssl/evp.h>
#endif

#include "gfs_tool.h"
#include "kk_log.h"

#define CHUNK (1u << 20)

char *tool_human_size(uint64_t amt, char *buf)
{
    /* gnulib human.c's algorithm: exact integer scaling that remembers the
     * tenths and whether the rest was below, at or above one half. */
    static const char letters[] = "KMGTPEZY";
    const unsigned base = 1024;
    unsigned tenths = 0, rounding = 0;
    int exponent = 0;
    char frac[4] = "";
    if (amt >= base) {
        do {
            unsigned r10 = (unsigned)(amt % base) * 10 + tenths;
            unsigned r2 = (r10 % base) * 2 + (rounding >> 1);
            amt /= base;
            tenths = r10 / base;
            rounding = r2 < base ? (r2 + rounding) != 0 : 2 + (base < r2 + rounding);
            exponent++;
        } while (base <= amt && exponent < 8);
        if (amt < 10) {
            if (2 < rounding + (tenths & 1)) {
                tenths++;
                rounding = 0;
                if (tenths == 10) {
                    amt++;
                    tenths = 0;
                }
            }
            if (amt < 10) {
                frac[0] = '.'; /* tenths is a digit here */
                frac[1] = (char)('0' + tenths % 10);
                frac[2] = 0;
                tenths = rounding = 0;
            }
        }
    }
    if (5 < tenths + (0 < rounding + (amt & 1))) {
        amt++;
        if (amt == base && exponent < 8) {
            exponent++;
            strcpy(frac, ".0");
            amt = 1;
        }
    }
    if (exponent)
        snprintf(buf, TOOL_HUMAN_MAX, "%" PRIu64 "%s%c", amt, frac, letters[exponent - 1]);
    else
        snprintf(buf, TOOL_HUMAN_MAX, "%" PRIu64 "%s", amt, frac);
    return buf;
}

void tool_csv_field(FILE *out, const char *f)
{
    if (!strpbrk(f, " \",\n")) {
        fputs(f, out);
        return;
    }
    putc('"', out);
    for (; *f; f++) {
        if (*f == '"')
            putc('"', out);
        putc(*f, out);
    }
    putc('"', out);
}

int tool_join(char *buf, size_t len, const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    int n;
    if (dl == 1 && dir[0] == '/')
        n = snprintf(buf, len, "/%s", name);
    else
        n = snprintf(buf, len, "%.*s/%s", (int)dl, dir, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

struct collect {
    struct tool_dirent *v;
    int n, cap;
};

static int collect_cb(void *arg, const struct gfs_dirent *de)
{
    struct collect *c = arg;
    if (c->n == c->cap) {
        int ncap = c->cap ? c->cap * 2 : 64;
        struct tool_dirent *nv = realloc(c->v, (size_t)ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        c->v = nv;
        c->cap = ncap;
    }
    char *name = strndup(de->name, de->name_len);
    if (!name)
        return -ENOMEM;
    c->v[c->n++] = (struct tool_dirent){name, de->ino};
    return 0;
}

static int cmp_dirent(const void *a, const void *b)
{
    return strcmp(((const struct tool_dirent *)a)->name, ((const struct tool_dirent *)b)->name);
}

void tool_free_dir(struct tool_dirent *d, int n)
{
    for (int i = 0; i < n; i++)
        free(d[i].name);
    free(d);
}

int tool_list_dir(struct gfs_handle *h, const struct gfs_node *dir, const char *path,
                  struct tool_dirent **out)
{
    struct collect c = {0};
    int rc = gfs_fs_readdir(dir->fs, dir->ino, collect_cb, &c);
    if (rc < 0) {
        tool_free_dir(c.v, c.n);
        const char *m = gfs_fs_error(dir->fs);
        if (rc == -ENOMEM)
            return gfs_set_error(h, rc, "%s: %s", path, strerror(-rc));
        return gfs_set_error(h, rc, "%s: %s", path, m && m[0] ? m : strerror(-rc));
    }
    if (c.n > 1)
        qsort(c.v, (size_t)c.n, sizeof(*c.v), cmp_dirent);
    *out = c.v;
    return c.n;
}

struct gfs_node tool_child_node(struct gfs_handle *h, struct gfs_fs *parent_fs, uint64_t ino,
                                const char *child_path)
{
    /* A later mount at the same path covers an earlier one. */
    for (size_t i = gfs_nmounts(h); i-- > 0;) {
        const struct gfs_mount *m = gfs_mount_at(h, i);
        if (strcmp(m->mountpoint, child_path) == 0)
            return (struct gfs_node){m->fs, gfs_fs_root(m->fs)};
    }
    return (struct gfs_node){parent_fs, ino};
}

static int fs_error(struct gfs_handle *h, struct gfs_fs *fs, int rc, const char *path)
{
    const char *m = gfs_fs_error(fs);
    if ((rc == -EUCLEAN || rc == -EIO || rc == -EOPNOTSUPP) && m && m[0])
        return gfs_set_error(h, rc, "%s: %s", path, m);
    return gfs_set_error(h, rc, "%s: %s", path, strerror(-rc));
}

struct walker {
    struct gfs_handle *h;
    tool_visit_fn fn;
    void *arg;
    char path[GFS_PATH_MAX];
    size_t toplen; /* length of the top's path (rel starts after it) */
};

static const char *rel_of(const struct walker *w)
{
    const char *r = w->path + w->toplen;
    return *r == '/' ? r + 1 : r;
}

static int walk_dir(struct walker *w, const struct gfs_node *dir, unsigned depth)
{
    struct tool_dirent *d;
    int n = tool_list_dir(w->h, dir, w->path, &d);
    if (n < 0)
        return n;
    size_t plen = strlen(w->path);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        size_t nl = strlen(d[i].name);
        if (plen + 1 + nl >= sizeof(w->path)) {
            rc = gfs_set_error(w->h, -ENAMETOOLONG, "%s/%s: path too long", w->path, d[i].name);
            break;
        }
        size_t at = plen;
        if (plen > 1)
            w->path[at++] = '/';
        memcpy(w->path + at, d[i].name, nl + 1);
        struct tool_entry e = {.path = w->path, .depth = depth};
        e.node = tool_child_node(w->h, dir->fs, d[i].ino, w->path);
        rc = gfs_fs_stat(e.node.fs, e.node.ino, &e.st);
        if (rc < 0) {
            rc = fs_error(w->h, e.node.fs, rc, w->path);
            break;
        }
        e.rel = rel_of(w);
        rc = w->fn(w->arg, &e);
        if (rc == 0 && S_ISDIR(e.st.mode))
            rc = walk_dir(w, &e.node, depth + 1);
        w->path[plen] = 0;
    }
    tool_free_dir(d, n);
    return rc;
}

int tool_walk(struct gfs_handle *h, const char *top, bool visit_top, tool_visit_fn fn, void *arg)
{
    struct walker *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    *w = (struct walker){.h = h, .fn = fn, .arg = arg};
    int rc = 0;
    /* The top as given (trailing slashes dropped), like virt-ls prints it. */
    size_t tl = strlen(top);
    while (tl > 1 && top[tl - 1] == '/')
        tl--;
    if (tl >= sizeof(w->path)) {
        rc = gfs_set_error(h, -ENAMETOOLONG, "%.64s...: path too long", top);
        goto out;
    }
    memcpy(w->path, top, tl);
    w->path[tl] = 0;
    w->toplen = tl;
    struct tool_entry e = {.path = w->path, .rel = ""};
    if (visit_top) {
        rc = gfs_resolve(h, top, GFS_NOFOLLOW, &e.node);
        if (rc == 0 && (rc = gfs_fs_stat(e.node.fs, e.node.ino, &e.st)) < 0)
            rc = fs_error(h, e.node.fs, rc, top);
        if (rc == 0)
            rc = fn(arg, &e);
        if (rc)
            goto out;
    }
    struct gfs_node dir;
    struct gfs_stat st;
    rc = gfs_resolve(h, top, 0, &dir);
    if (rc == 0 && (rc = gfs_fs_stat(dir.fs, dir.ino, &st)) < 0)
        rc = fs_error(h, dir.fs, rc, top);
    if (rc == 0 && !S_ISDIR(st.mode))
        rc = gfs_set_error(h, -ENOTDIR, "%s: Not a directory", top);
    if (rc == 0)
        rc = walk_dir(w, &dir, 1);
out:
    free(w);
    return rc;
}

/* ---- checksums ---------------------------------------------------------- */

static const char *const checksum_types[] = {"crc",    "md5",    "sha1",  "sha224",
                                             "sha256", "sha384", "sha512"};

const char *tool_checksum_canonical(const char *type)
{
    for (size_t i = 0; i < sizeof(checksum_types) / sizeof(checksum_types[0]); i++)
        if (strcasecmp(type, checksum_types[i]) == 0)
            return checksum_types[i];
    return NULL;
}

/* POSIX cksum: CRC-32 with polynomial 0x04C11DB7, MSB first, the length
 * appended in as few bytes as it needs (least significant first), then
 * inverted. */
static uint32_t crc_table[256];

static void crc_init(void)
{
    if (crc_table[1])
        return;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i << 24;
        for (int k = 0; k < 8; k++)
            c = c & 0x80000000u ? c << 1 ^ 0x04C11DB7u : c << 1;
        crc_table[i] = c;
    }
}

static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n--)
        crc = crc << 8 ^ crc_table[(crc >> 24 ^ *p++) & 0xff];
    return crc;
}

int tool_checksum(struct gfs_handle *h, const struct gfs_node *node, uint64_t size,
                  const char *type, const char *path, char *out, size_t outlen)
{
    type = tool_checksum_canonical(type);
    if (!type)
        return gfs_set_error(h, -EINVAL,
                             "checksum: unknown checksum type, expecting "
                             "crc|md5|sha1|sha224|sha256|sha384|sha512");
    bool crc = strcmp(type, "crc") == 0;
#ifdef KK_HAVE_OPENSSL
    EVP_MD_CTX *ctx = NULL;
    if (!crc) {
        const EVP_MD *md = EVP_get_digestbyname(type);
        ctx = EVP_MD_CTX_new();
        if (!md || !ctx || !EVP_DigestInit_ex(ctx, md, NULL)) {
            EVP_MD_CTX_free(ctx);
            return gfs_set_error(h, -ENOSYS, "checksum: %s is not available", type);
        }
    }
#else
    if (!crc)
        return gfs_set_error(h, -ENOSYS,
                             "checksum: %s needs OpenSSL, which this kvmkit was built without",
                             type);
#endif
    crc_init();
    unsigned char *buf = malloc(CHUNK);
    if (!buf) {
#ifdef KK_HAVE_OPENSSL
        EVP_MD_CTX_free(ctx);
#endif
        return -ENOMEM;
    }
    uint32_t c = 0;
    uint64_t off = 0;
    int rc = 0;
    while (off < size) {
        size_t want = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        int64_t got = gfs_fs_read(node->fs, node->ino, off, buf, want);
        if (got <= 0) {
            rc = got < 0 ? fs_error(h, node->fs, (int)got, path)
                         : gfs_set_error(h, -EIO, "%s: file ends early", path);
            break;
        }
        if (crc)
            c = crc_update(c, buf, (size_t)got);
#ifdef KK_HAVE_OPENSSL
        else
            EVP_DigestUpdate(ctx, buf, (size_t)got);
#endif
        off += (uint64_t)got;
    }
    if (rc == 0 && crc) {
        unsigned char lenbytes[8];
        size_t nb = 0;
        for (uint64_t l = size; l; l >>= 8)
            lenbytes[nb++] = (unsigned char)l;
        c = ~crc_update(c, lenbytes, nb);
        snprintf(out, outlen, "%" PRIu32, c);
    }
#ifdef KK_HAVE_OPENSSL
    if (rc == 0 && !crc) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        EVP_DigestFinal_ex(ctx, md, &mdlen);
        if (outlen < 2 * (size_t)mdlen + 1) {
            rc = -ERANGE;
        } else {
            for (unsigned i = 0; i < mdlen; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
        }
    }
    EVP_MD_CTX_free(ctx);
#endif
    free(buf);
    return rc;
}

/* ---- streaming ---------------------------------------------------------- */

int tool_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int tool_copy_to_fd(struct gfs_handle *h, const struct gfs_node *node, uint64_t size,
                    const char *path, int fd, bool *write_failed)
{
    *write_failed = false;
    unsigned char *buf = malloc(CHUNK);
    if (!buf)
        return -ENOMEM;
    int rc = tool_copy_with_buffer(h, node, size, path, fd, buf, CHUNK, write_failed);
    free(buf);
    return rc;
}

int tool_copy_with_buffer(struct gfs_handle *h, const struct gfs_node *node, uint64_t size,
                          const char *path, int fd, void *buf, size_t buflen,
                          bool *write_failed)
{
    *write_failed = false;
    uint64_t off = 0;
    int rc = 0;
    while (off < size) {
        size_t want = size - off < buflen ? (size_t)(size - off) : buflen;
        int64_t got = gfs_fs_read(node->fs, node->ino, off, buf, want);
        if (got <= 0) {
            rc = got < 0 ? fs_error(h, node->fs, (int)got, path)
                         : gfs_set_error(h, -EIO, "%s: file ends early", path);
            break;
        }
        rc = tool_write_all(fd, buf, (size_t)got);
        if (rc < 0) {
            *write_failed = true;
            break;
        }
        off += (uint64_t)got;
    }
    return rc;
}

char tool_type_char(uint32_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
        return '-';
    case S_IFDIR:
        return 'd';
    case S_IFCHR:
        return 'c';
    case S_IFBLK:
        return 'b';
    case S_IFIFO:
        return 'p';
    case S_IFLNK:
        return 'l';
    case S_IFSOCK:
        return 's';
    default:
        return 'u';
    }
}

void tool_device_number(const struct gfs_device *device, unsigned *major, unsigned *minor)
{
    /* sd: 16 minors per disk, partitions 1-15; further partitions get
     * dynamic numbers (259:N), counted here from 0 in device order. */
    unsigned disk = device->disk, part = device->partnum;
    if (part < 16) {
        unsigned m = disk * 16 + part;
        /* sdq onwards: majors 65-71, then 128-135, 16 disks each */
        unsigned group = m / 256;
        static const unsigned majors[] = {8, 65, 66, 67, 68, 69, 70, 71,
                                          128, 129, 130, 131, 132, 133, 134, 135};
        *major = group < 16 ? majors[group] : 8;
        *minor = m % 256;
        return;
    }
    *major = 259;
    *minor = part - 16;
}

const struct gfs_device *tool_fs_device(struct gfs_handle *h, const struct gfs_fs *fs)
{
    for (size_t i = 0; i < gfs_nmounts(h); i++) {
        const struct gfs_mount *m = gfs_mount_at(h, i);
        if (m->fs == fs)
            return m->device;
    }
    return NULL;
}

void tool_quiet_logs(bool verbose)
{
    if (!verbose)
        kk_log_set_level(KK_LOG_ERR);
}
