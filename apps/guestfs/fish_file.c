/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fish_file.c — kvmkit fish: reading files (cat, read-file, read-lines,
 * head, head-n, tail, tail-n, wc-*, filesize, checksum, file,
 * file-architecture, is-zero) and extended attributes (getxattrs,
 * lgetxattrs, getxattr, lgetxattr).
 *
 * Files are read through lib/guestfs (symlinks followed inside the guest).
 * Whole-file commands are bounded like libguestfs's protocol (cat and
 * read-file return at most FISH_READ_MAX bytes); checksum and download
 * stream the file in chunks, so they work on any size.
 *
 * `file` is not libmagic: it names what the appliance's file(1) names for
 * the common cases (directory, links and devices, empty, ELF, text, data);
 * docs/guestfs-fish.md lists the differences.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fish.h"
#include "gfs_tool.h"

#define CMD(n) static int n(struct fish *f, const struct fish_cmd *c, int argc, char **argv)

/* libguestfs's message limit is 4 MB; we allow more but stay bounded. */
#define FISH_READ_MAX (256u << 20)

int fish_read_file(struct fish *f, const struct fish_cmd *c, const char *path, char **data,
                   size_t *len)
{
    if (fish_check_path(f, c, path) < 0)
        return -1;
    int rc = gfs_read_file(f->h, path, FISH_READ_MAX, data, len);
    if (rc == -EISDIR && c->api && strcmp(c->api, "download") == 0)
        return fish_daemon_error(f, c, "%s: is a directory", path);
    if (rc < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    return 0;
}

/* The program the appliance runs for the current checksum (messages). */
static const char *cksum_program = "cksum";

int fish_stream_file(struct fish *f, const struct fish_cmd *c, const char *path,
                     int (*cb)(void *arg, const void *buf, size_t len), void *arg)
{
    struct gfs_node n;
    struct gfs_stat st;
    int rc = gfs_resolve(f->h, path, 0, &n);
    if (rc < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    if ((rc = gfs_fs_stat(n.fs, n.ino, &st)) < 0)
        return fish_daemon_error(f, c, "%s: %s", path, gfs_fs_error(n.fs));
    if (S_ISDIR(st.mode)) {
        /* cat and download say it their way; the checksum programs theirs */
        if (c->api && strcmp(c->api, "download") == 0)
            return fish_daemon_error(f, c, "%s: is a directory", path);
        if (strcmp(c->name, "checksum") == 0)
            return fish_daemon_error(f, c, "%s: %s: -: Is a directory", cksum_program,
                                     cksum_program);
        return fish_daemon_error(f, c, "%s: Is a directory", path);
    }
    static char buf[1 << 20];
    for (uint64_t off = 0;;) {
        int64_t r = gfs_fs_read(n.fs, n.ino, off, buf, sizeof(buf));
        if (r < 0)
            return fish_daemon_error(f, c, "%s: %s", path, gfs_fs_error(n.fs));
        if (r == 0)
            break;
        if (cb(arg, buf, (size_t)r) < 0)
            return -1;
        off += (uint64_t)r;
    }
    return 0;
}

CMD(cmd_cat)
{
    (void)argc;
    char *data;
    size_t len;
    if (fish_read_file(f, c, argv[0], &data, &len) < 0)
        return -1;
    /* cat returns a C string: it stops at the first NUL, as libguestfs's */
    if (strcmp(c->name, "read-file") == 0)
        fwrite(data, 1, len, stdout);
    else
        printf("%s\n", data);
    free(data);
    return 0;
}

/* Split @data into lines as the daemon's split_lines: on '\n', the last
 * line without its newline, no last empty line. Returns the count. */
static size_t split_lines(char *data, size_t len, char ***out)
{
    size_t n = 0, cap = 0;
    char **v = NULL;
    char *p = data, *end = data + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, cap * sizeof(*v));
            if (!nv)
                break;
            v = nv;
        }
        v[n++] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    *out = v;
    return n;
}

CMD(cmd_read_lines)
{
    (void)argc;
    char *data;
    size_t len;
    if (fish_read_file(f, c, argv[0], &data, &len) < 0)
        return -1;
    char **lines;
    size_t n = split_lines(data, len, &lines);
    fish_print_strings(lines, n);
    free(lines);
    free(data);
    return 0;
}

CMD(cmd_headtail)
{
    int nl = 10;
    const char *path = argv[argc - 1];
    bool head = strncmp(c->name, "head", 4) == 0;
    if (argc == 2 && fish_parse_int(c, "nrlines", argv[0], &nl) < 0)
        return -1;
    char *data;
    size_t len;
    if (fish_read_file(f, c, path, &data, &len) < 0)
        return -1;
    char **lines;
    size_t n = split_lines(data, len, &lines);
    size_t from = 0, to = n;
    long long k = nl;
    if (head) {
        /* head -n N: the first N; -N: all but the last N */
        if (k >= 0)
            to = (size_t)k < n ? (size_t)k : n;
        else
            to = (size_t)(-k) < n ? n - (size_t)(-k) : 0;
    } else {
        /* tail -n N: the last N; tail-n -N means tail -n +N: from line N */
        if (k > 0)
            from = (size_t)k < n ? n - (size_t)k : 0;
        else if (k == 0)
            from = n;
        else
            from = (size_t)(-k) - 1 < n ? (size_t)(-k) - 1 : n;
    }
    if (from < to)
        fish_print_strings(lines + from, to - from);
    free(lines);
    free(data);
    return 0;
}

CMD(cmd_wc)
{
    (void)argc;
    char *data;
    size_t len;
    if (fish_read_file(f, c, argv[0], &data, &len) < 0)
        return -1;
    long long count = 0;
    if (strcmp(c->name, "wc-c") == 0)
        count = (long long)len;
    else if (strcmp(c->name, "wc-l") == 0) {
        for (size_t i = 0; i < len; i++)
            count += data[i] == '\n';
    } else {
        bool in_word = false;
        for (size_t i = 0; i < len; i++) {
            bool space = data[i] == ' ' || (data[i] >= '\t' && data[i] <= '\r');
            if (!space && !in_word)
                count++;
            in_word = !space;
        }
    }
    printf("%lld\n", count);
    free(data);
    return 0;
}

CMD(cmd_filesize)
{
    (void)argc;
    struct gfs_stat st;
    if (fish_check_path(f, c, argv[0]) < 0)
        return -1;
    if (gfs_stat(f->h, argv[0], &st) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    printf("%" PRIu64 "\n", st.size);
    return 0;
}

/* ---- checksum ---------------------------------------------------------------- */

/* The same digests as virt-ls --checksum (gfs_tool.c); fish adds guestfish's
 * messages, which name the appliance program that would have run. */
int fish_checksum(struct fish *f, const struct fish_cmd *c, const char *type, const char *path,
                  char *out, size_t outlen)
{
    static const struct {
        const char *type, *program;
    } programs[] = {
        {"crc", "cksum"},       {"md5", "md5sum"},       {"sha1", "sha1sum"},
        {"sha224", "sha224sum"}, {"sha256", "sha256sum"}, {"sha384", "sha384sum"},
        {"sha512", "sha512sum"},
    };
    const char *canon = tool_checksum_canonical(type);
    if (!canon)
        return fish_daemon_error(f, c, "unknown checksum type, expecting "
                                       "crc|md5|sha1|sha224|sha256|sha384|sha512");
    for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
        if (strcmp(programs[i].type, canon) == 0)
            cksum_program = programs[i].program;
    struct gfs_node n;
    struct gfs_stat st;
    if (gfs_resolve(f->h, path, 0, &n) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    if (gfs_fs_stat(n.fs, n.ino, &st) < 0)
        return fish_daemon_error(f, c, "%s: %s", path, gfs_fs_error(n.fs));
    if (S_ISDIR(st.mode))
        return fish_daemon_error(f, c, "%s: %s: -: Is a directory", cksum_program,
                                 cksum_program);
    if (tool_checksum(f->h, &n, st.size, canon, path, out, outlen) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    return 0;
}

CMD(cmd_checksum)
{
    (void)argc;
    char sum[160];
    if (fish_check_path(f, c, argv[1]) < 0 ||
        fish_checksum(f, c, argv[0], argv[1], sum, sizeof(sum)) < 0)
        return -1;
    printf("%s\n", sum);
    return 0;
}

/* ---- file ---------------------------------------------------------------------- */

static const char *elf_machine(unsigned m, bool is64, bool le)
{
    switch (m) {
    case 3: return "Intel 80386";
    case 62: return "x86-64";
    case 183: return "ARM aarch64";
    case 40: return "ARM";
    case 8: return le ? "MIPS, MIPS-I" : "MIPS, MIPS-I";
    case 20: return "PowerPC or cisco 4500";
    case 21: return is64 ? "64-bit PowerPC or cisco 7500" : "PowerPC";
    case 22: return "IBM S/390";
    case 243: return "UCB RISC-V";
    case 2: return "SPARC";
    case 43: return "SPARC V9";
    case 258: return "LoongArch";
    default: return NULL;
    }
}

static const char *elf_arch(unsigned m, bool is64, bool le)
{
    switch (m) {
    case 3: return "i386";
    case 62: return "x86_64";
    case 183: return "aarch64";
    case 40: return "arm";
    case 8: return is64 ? (le ? "mips64el" : "mips64") : (le ? "mipsel" : "mips");
    case 20: return "ppc";
    case 21: return le ? "ppc64le" : "ppc64";
    case 22: return is64 ? "s390x" : "s390";
    case 243: return is64 ? "riscv64" : "riscv32";
    case 2: return "sparc";
    case 43: return "sparc64";
    default: return NULL;
    }
}

static uint16_t rd16(const uint8_t *p, bool le)
{
    return le ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[1] | p[0] << 8);
}

static uint32_t rd32(const uint8_t *p, bool le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

static uint64_t rd64(const uint8_t *p, bool le)
{
    return le ? (uint64_t)rd32(p, le) | (uint64_t)rd32(p + 4, le) << 32
              : (uint64_t)rd32(p + 4, le) | (uint64_t)rd32(p, le) << 32;
}

/* Describe an ELF file from its first @len bytes (at least 20). */
static void describe_elf(const uint8_t *h, size_t len, char *out, size_t outlen)
{
    bool is64 = h[4] == 2, le = h[5] == 1;
    unsigned type = len >= 18 ? rd16(h + 16, le) : 0;
    unsigned machine = len >= 20 ? rd16(h + 18, le) : 0;
    const char *types[] = {"no file type", "relocatable", "executable", "shared object",
                           "core file"};
    const char *t = type < 5 ? types[type] : "processor-specific";
    const char *m = elf_machine(machine, is64, le);
    char mbuf[32];
    if (!m) {
        snprintf(mbuf, sizeof(mbuf), "*unknown arch 0x%x*", machine);
        m = mbuf;
    }
    int w = snprintf(out, outlen, "ELF %s-bit %s %s, %s, version %u (%s)", is64 ? "64" : "32",
                     le ? "LSB" : "MSB", t, m, h[6], h[7] == 3 ? "GNU/Linux" : "SYSV");
    if (w < 0 || (size_t)w >= outlen)
        return;
    /* program headers: PT_INTERP or PT_DYNAMIC means dynamically linked */
    size_t hdr = is64 ? 64 : 52;
    if (len >= hdr && (type == 2 || type == 3)) {
        uint64_t phoff = is64 ? rd64(h + 32, le) : rd32(h + 28, le);
        unsigned phentsize = rd16(h + (is64 ? 54 : 42), le);
        unsigned phnum = rd16(h + (is64 ? 56 : 44), le);
        bool dynamic = false;
        for (unsigned i = 0; i < phnum && phentsize >= 4; i++) {
            uint64_t o = phoff + (uint64_t)i * phentsize;
            if (o + 4 > len)
                break;
            uint32_t pt = rd32(h + o, le);
            if (pt == 2 || pt == 3)
                dynamic = true;
        }
        w += snprintf(out + w, outlen - (size_t)w, ", %s linked",
                      dynamic ? "dynamically" : "statically");
        uint64_t shoff = is64 ? rd64(h + 40, le) : rd32(h + 32, le);
        if (shoff == 0 && (size_t)w < outlen)
            snprintf(out + w, outlen - (size_t)w, ", no section header");
    }
}

static bool is_text(const uint8_t *p, size_t n, bool *utf8)
{
    *utf8 = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (b >= 0x80) {
            /* a valid UTF-8 sequence */
            size_t k = b >= 0xf0 && b < 0xf5 ? 3 : b >= 0xe0 ? 2 : b >= 0xc2 && b < 0xe0 ? 1 : 9;
            if (k == 9 || i + k >= n + (i + k == n ? 1 : 0))
                return false;
            for (size_t j = 1; j <= k; j++)
                if (i + j >= n || (p[i + j] & 0xc0) != 0x80)
                    return false;
            i += k;
            *utf8 = true;
            continue;
        }
        if (b < 0x20 && b != '\n' && b != '\t' && b != '\r' && b != '\f' && b != '\b' &&
            b != 0x1b && b != 0x07)
            return false;
        if (b == 0x7f)
            return false;
    }
    return true;
}

static void describe_text(const uint8_t *p, size_t n, bool utf8, uint32_t mode, char *out,
                          size_t outlen)
{
    bool crlf = false, lf = false, longl = false;
    size_t linelen = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            if (i > 0 && p[i - 1] == '\r')
                crlf = true;
            else
                lf = true;
            linelen = 0;
        } else if (++linelen > 300)
            longl = true;
    }
    const char *kind = utf8 ? "Unicode text, UTF-8 text" : "ASCII text";
    const char *script = NULL;
    if (n > 2 && p[0] == '#' && p[1] == '!') {
        if (memmem(p, n < 64 ? n : 64, "/sh", 3) || memmem(p, n < 64 ? n : 64, "bash", 4))
            script = memmem(p, n < 64 ? n : 64, "bash", 4) ? "Bourne-Again shell script"
                                                           : "POSIX shell script";
        else if (memmem(p, n < 64 ? n : 64, "python", 6))
            script = "Python script";
        else if (memmem(p, n < 64 ? n : 64, "perl", 4))
            script = "Perl script text";
    }
    int w = snprintf(out, outlen, "%s%s%s%s", script ? script : "", script ? ", " : "", kind,
                     script && (mode & 0111) ? " executable" : "");
    if (w < 0 || (size_t)w >= outlen)
        return;
    if (longl)
        w += snprintf(out + w, outlen - (size_t)w, ", with very long lines (%s)", "over 300");
    if (crlf && !lf)
        snprintf(out + w, outlen - (size_t)w, ", with CRLF line terminators");
    else if (!crlf && !lf && n > 0)
        snprintf(out + w, outlen - (size_t)w, ", with no line terminators");
}

CMD(cmd_file)
{
    (void)argc;
    const char *path = argv[0];
    char desc[256];
    if (strncmp(path, "/dev/", 5) == 0) {
        const struct gfs_device *d = fish_device_arg(f, c, path);
        if (!d)
            return -1;
        const char *t = d->probe.type;
        if (!t[0])
            printf("data\n");
        else if (strncmp(t, "ext", 3) == 0)
            printf("Linux rev 1.0 %s filesystem data, UUID=%s%s%s\n", t, d->probe.uuid,
                   d->probe.label[0] ? ", volume name \"" : "", d->probe.label[0] ? "\"" : "");
        else
            printf("%s filesystem data\n", t);
        return 0;
    }
    if (fish_check_path(f, c, path) < 0)
        return -1;
    struct gfs_stat st;
    if (gfs_lstat(f->h, path, &st) < 0)
        return fish_daemon_error(f, c, "file: %s: %s", path,
                                 strchr(gfs_last_error(f->h), ':')
                                     ? strchr(gfs_last_error(f->h), ':') + 2
                                     : gfs_last_error(f->h));
    switch (st.mode & S_IFMT) {
    case S_IFDIR: printf("directory\n"); return 0;
    case S_IFCHR: printf("character device\n"); return 0;
    case S_IFBLK: printf("block device\n"); return 0;
    case S_IFIFO: printf("FIFO\n"); return 0;
    case S_IFLNK: printf("symbolic link\n"); return 0;
    case S_IFSOCK: printf("socket\n"); return 0;
    default: break;
    }
    struct gfs_node n;
    uint8_t buf[65536];
    int64_t got = 0;
    if (gfs_resolve(f->h, path, GFS_NOFOLLOW, &n) < 0 ||
        (got = gfs_fs_read(n.fs, n.ino, 0, buf, sizeof(buf))) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    size_t len = (size_t)got;
    bool utf8;
    if (len == 0)
        snprintf(desc, sizeof(desc), "empty");
    else if (len >= 20 && memcmp(buf, "\177ELF", 4) == 0) {
        /* file(1) names the special mode bits first */
        int w = snprintf(desc, sizeof(desc), "%s%s%s", st.mode & S_ISUID ? "setuid " : "",
                         st.mode & S_ISGID ? "setgid " : "", st.mode & S_ISVTX ? "sticky " : "");
        describe_elf(buf, len, desc + w, sizeof(desc) - (size_t)w);
    }
    else if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
        snprintf(desc, sizeof(desc), "gzip compressed data");
    else if (is_text(buf, len, &utf8))
        describe_text(buf, len, utf8, st.mode, desc, sizeof(desc));
    else
        snprintf(desc, sizeof(desc), "data");
    printf("%s\n", desc);
    return 0;
}

CMD(cmd_file_architecture)
{
    (void)argc;
    const char *path = argv[0];
    if (fish_check_path(f, c, path) < 0)
        return -1;
    struct gfs_node n;
    uint8_t h[20];
    int64_t got;
    if (gfs_resolve(f->h, path, 0, &n) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    if ((got = gfs_fs_read(n.fs, n.ino, 0, h, sizeof(h))) < 0)
        return fish_daemon_error(f, c, "%s: %s", path, gfs_fs_error(n.fs));
    const char *arch = NULL;
    if (got == 20 && memcmp(h, "\177ELF", 4) == 0)
        arch = elf_arch(rd16(h + 18, h[5] == 1), h[4] == 2, h[5] == 1);
    if (!arch)
        return fish_daemon_error(f, c, "file_architecture: unknown architecture: %s", path);
    printf("%s\n", arch);
    return 0;
}

CMD(cmd_is_zero)
{
    (void)argc;
    char *data;
    size_t len;
    if (fish_read_file(f, c, argv[0], &data, &len) < 0)
        return -1;
    size_t i = 0;
    while (i < len && data[i] == 0)
        i++;
    printf("%s\n", i == len ? "true" : "false");
    free(data);
    return 0;
}

/* ---- extended attributes ---------------------------------------------------- */

static void print_buffer(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch >= 0x20 && ch < 0x7f)
            putchar(ch);
        else
            printf("\\x%02x", ch);
    }
}

CMD(cmd_getxattrs)
{
    (void)argc;
    const char *path = argv[0];
    bool follow = c->name[0] != 'l';
    if (fish_check_path(f, c, path) < 0)
        return -1;
    struct gfs_node n;
    if (gfs_resolve(f->h, path, follow ? 0 : GFS_NOFOLLOW, &n) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    static char names[65536], value[65536];
    int nl = gfs_fs_listxattr(n.fs, n.ino, names, sizeof(names));
    if (nl < 0)
        return fish_daemon_error(f, c, "%s: %s", follow ? "listxattr" : "llistxattr",
                                 fish_strerror(nl));
    size_t i = 0;
    for (char *p = names; p < names + nl; p += strlen(p) + 1) {
        int vl = gfs_fs_getxattr(n.fs, n.ino, p, value, sizeof(value));
        if (vl < 0)
            return fish_daemon_error(f, c, "getxattr: %s", fish_strerror(vl));
        printf("[%zu] = {\n  attrname: %s\n  attrval: ", i++, p);
        print_buffer(value, (size_t)vl);
        printf("\n}\n");
    }
    return 0;
}

CMD(cmd_getxattr)
{
    (void)argc;
    const char *path = argv[0];
    bool follow = c->name[0] != 'l';
    if (fish_check_path(f, c, path) < 0)
        return -1;
    struct gfs_node n;
    if (gfs_resolve(f->h, path, follow ? 0 : GFS_NOFOLLOW, &n) < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    static char value[65536];
    int vl = gfs_fs_getxattr(n.fs, n.ino, argv[1], value, sizeof(value));
    if (vl < 0)
        return fish_daemon_error(f, c, "%s: %s", follow ? "getxattr" : "lgetxattr",
                                 fish_strerror(vl == -ENODATA ? -ENODATA : vl));
    fwrite(value, 1, (size_t)vl, stdout);
    return 0;
}

#define D FISH_DAEMON

const struct fish_cmd fish_file_cmds[] = {
    {"cat", NULL, D, 1, 1, "cat path", "list the contents of a file", cmd_cat,
     "download"},
    {"read-file", NULL, D, 1, 1, "read-file path", "read a file", cmd_cat, "download"},
    {"read-lines", NULL, D, 1, 1, "read-lines path", "read file as lines", cmd_read_lines},
    {"head", NULL, D, 1, 1, "head path", "return first 10 lines of a file", cmd_headtail},
    {"head-n", NULL, D, 2, 2, "head-n nrlines path", "return first N lines of a file",
     cmd_headtail},
    {"tail", NULL, D, 1, 1, "tail path", "return last 10 lines of a file", cmd_headtail},
    {"tail-n", NULL, D, 2, 2, "tail-n nrlines path", "return last N lines of a file",
     cmd_headtail},
    {"wc-l", NULL, D, 1, 1, "wc-l path", "count lines in a file", cmd_wc},
    {"wc-w", NULL, D, 1, 1, "wc-w path", "count words in a file", cmd_wc},
    {"wc-c", NULL, D, 1, 1, "wc-c path", "count characters in a file", cmd_wc},
    {"filesize", NULL, D, 1, 1, "filesize file", "return the size of the file in bytes",
     cmd_filesize},
    {"checksum", NULL, D, 2, 2, "checksum csumtype path",
     "compute MD5, SHAx or CRC checksum of file", cmd_checksum},
    {"file", NULL, D, 1, 1, "file path", "determine file type", cmd_file},
    {"file-architecture", NULL, D, 1, 1, "file-architecture filename",
     "detect the architecture of a binary file", cmd_file_architecture},
    {"is-zero", NULL, D, 1, 1, "is-zero path", "test if a file contains all zero bytes",
     cmd_is_zero},
    {"getxattrs", NULL, D, 1, 1, "getxattrs path",
     "list extended attributes of a file or directory", cmd_getxattrs},
    {"lgetxattrs", NULL, D, 1, 1, "lgetxattrs path",
     "list extended attributes of a file or directory", cmd_getxattrs},
    {"getxattr", NULL, D, 2, 2, "getxattr path name", "get a single extended attribute",
     cmd_getxattr},
    {"lgetxattr", NULL, D, 2, 2, "lgetxattr path name", "get a single extended attribute",
     cmd_getxattr},
    {NULL, NULL, 0, 0, 0, NULL, NULL, NULL},
};
