/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fat_dir.c — directories for the read-only FAT reader (fat.h): walking
 * directory entries (the fixed FAT12/16 root or a cluster chain), short
 * names (8.3, NT case flags, codepage 437), VFAT long names (UTF-16 in
 * 13-unit slots, sequence numbers, the checksum of the short name), lookup
 * (with "." and ".."), readdir and the volume label.
 *
 * Directory entries (32 bytes): name 0-10, attributes 11, NT flags 12,
 * creation centiseconds 13, time 14 and date 16, access date 18, first
 * cluster high word 20 (FAT32), write time 22 and date 24, first cluster
 * low word 26, size 28. A long-name slot: ordinal 0 (0x40 marks the last
 * slot, stored first), units 1-10, attributes 0x0F at 11, checksum 13,
 * units 14-25, 0 at 26, units 28-31.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "fat_internal.h"

/* Codepage 437's upper half (0x80-0xFF) in Unicode, as Linux's default
 * codepage shows bytes >= 0x80 of short names. */
static const uint16_t cp437_high[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, /* 0x80 */
    0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,
    0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9, /* 0x90 */
    0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192,
    0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA, /* 0xA0 */
    0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556, /* 0xB0 */
    0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F, /* 0xC0 */
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
    0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B, /* 0xD0 */
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
    0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4, /* 0xE0 */
    0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,
    0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248, /* 0xF0 */
    0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
};

/* Append code point @cp as UTF-8 (at most 4 bytes; @cap must allow it). */
static size_t put_utf8(char *out, size_t at, uint32_t cp)
{
    if (cp < 0x80) {
        out[at++] = (char)cp;
    } else if (cp < 0x800) {
        out[at++] = (char)(0xC0 | cp >> 6);
        out[at++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[at++] = (char)(0xE0 | cp >> 12);
        out[at++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[at++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[at++] = (char)(0xF0 | cp >> 18);
        out[at++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[at++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[at++] = (char)(0x80 | (cp & 0x3F));
    }
    return at;
}

/* One byte of a short name as shown: '/' and control bytes (which cannot
 * be in a valid name and would break paths) become '_'. */
static size_t put_short_char(char *out, size_t at, uint8_t ch, bool lower)
{
    if (ch < 0x20 || ch == '/')
        ch = '_';
    if (lower && ch >= 'A' && ch <= 'Z')
        ch = (uint8_t)(ch + 'a' - 'A');
    return put_utf8(out, at, ch < 0x80 ? ch : cp437_high[ch - 0x80]);
}

void fat__decode_short(const struct fat_fs *fs, const uint8_t *raw, uint64_t ino,
                       struct fat_entry *e)
{
    memset(e, 0, offsetof(struct fat_entry, name));
    e->name[0] = 0;
    e->name_len = 0;
    memcpy(e->raw, raw, DIRENT_SIZE);
    e->ino = ino;
    e->attr = raw[11];
    e->start = le16(raw + 26);
    if (fs->type == FAT32)
        e->start |= (uint32_t)le16(raw + 20) << 16;
    e->size = le32(raw + 28);
    e->is_dir = (e->attr & FAT_ATTR_DIRECTORY) != 0;
    e->is_dot = memcmp(raw, ".          ", 11) == 0 || memcmp(raw, "..         ", 11) == 0;
    int base = 8, ext = 3;
    while (base > 0 && raw[base - 1] == ' ')
        base--;
    while (ext > 0 && raw[8 + ext - 1] == ' ')
        ext--;
    size_t at = 0;
    for (int i = 0; i < base; i++) {
        uint8_t ch = raw[i];
        if (i == 0 && ch == ENTRY_KANJI_E5)
            ch = ENTRY_DELETED;
        at = put_short_char(e->short_name, at, ch, raw[12] & NT_LOWER_BASE);
    }
    if (base == 0)
        e->short_name[at++] = '_'; /* no name at all: still something to show */
    if (ext > 0) {
        e->short_name[at++] = '.';
        for (int i = 0; i < ext; i++)
            at = put_short_char(e->short_name, at, raw[8 + i], raw[12] & NT_LOWER_EXT);
    }
    e->short_name[at] = 0;
    e->short_len = (uint16_t)at;
}

static uint8_t short_checksum(const uint8_t *name)
{
    uint8_t sum = 0;
    for (int i = 0; i < 11; i++)
        sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + name[i]);
    return sum;
}

/* ---- walking a directory --------------------------------------------------- */

struct dir_iter {
    struct fat_fs *fs;
    const char *what;       /* the directory, for messages */
    bool fixed;             /* the FAT12/16 root region */
    bool started;
    struct fat_chain_walk walk;
    uint8_t *buf;
    uint32_t buf_len, at;
    uint64_t buf_off;       /* device offset of buf */
    uint64_t consumed;      /* directory bytes loaded so far */
    /* The long name being assembled (slots are stored last first). */
    uint16_t units[LFN_MAX_SLOTS * 13];
    int lfn_slots;          /* slots in the name; 0 when none is pending */
    int lfn_next;           /* the ordinal expected next */
    uint8_t lfn_sum;
};

/* Open directory @start (a cluster; 0 for the root). */
static int dir_open(struct fat_fs *fs, struct dir_iter *it, uint32_t start, const char *what)
{
    memset(it, 0, offsetof(struct dir_iter, units));
    it->fs = fs;
    it->what = what;
    if (start == 0 && fs->type != FAT32) {
        it->fixed = true;
    } else {
        if (start == 0)
            start = fs->root_cluster;
        if (!fat__cluster_ok(fs, start))
            return fat__fail(fs, -EUCLEAN, "%s: start cluster %u out of range (2..%u)", what,
                             start, fs->clusters + 1);
        fat__walk_start(&it->walk, start);
    }
    it->buf = malloc(fs->cluster_size);
    if (!it->buf)
        return fat__fail(fs, -ENOMEM, "out of memory");
    return 0;
}

static void dir_close(struct dir_iter *it)
{
    free(it->buf);
    it->buf = NULL;
}

/* The next raw 32-byte entry: 1 and *raw, *off; 0 at the end; -errno. */
/* What a caller's entry pointer holds before dir_raw() sets it (gcc -O3
 * cannot see that it always does when it returns 1). */
static const uint8_t no_entry[32];

static int dir_raw(struct dir_iter *it, const uint8_t **raw, uint64_t *off)
{
    struct fat_fs *fs = it->fs;
    if (it->at >= it->buf_len) {
        uint32_t len = fs->cluster_size;
        if (it->fixed) {
            if (it->consumed >= fs->root_bytes)
                return 0;
            if (len > fs->root_bytes - it->consumed)
                len = (uint32_t)(fs->root_bytes - it->consumed);
            it->buf_off = fs->root_offset + it->consumed;
        } else {
            if (it->started) {
                int rc = fat__walk_step(fs, &it->walk, it->what);
                if (rc < 0)
                    return rc;
            }
            it->started = true;
            if (!it->walk.cluster)
                return 0;
            if (it->consumed >= DIR_MAX_BYTES)
                return fat__fail(fs, -EUCLEAN, "%s: directory larger than %u bytes (65,536 "
                                 "entries)", it->what, DIR_MAX_BYTES);
            it->buf_off = fat__cluster_offset(fs, it->walk.cluster);
        }
        int rc = gf_dev_pread(fs->dev, it->buf, len, it->buf_off);
        if (rc < 0)
            return fat__fail(fs, rc, "%s: cannot read %u bytes of the directory at byte %llu",
                             it->what, len, (unsigned long long)it->buf_off);
        it->consumed += len;
        it->buf_len = len;
        it->at = 0;
    }
    *raw = it->buf + it->at;
    *off = it->buf_off + it->at;
    it->at += DIRENT_SIZE;
    return 1;
}

/* A long-name slot: start, continue, or (out of order) drop the pending name. */
static void lfn_slot(struct dir_iter *it, const uint8_t *raw)
{
    uint8_t ord = raw[0];
    int seq = ord & ~LFN_LAST;
    if (ord & LFN_LAST) {
        it->lfn_slots = 0;
        if (seq == 0 || seq > LFN_MAX_SLOTS)
            return; /* not a valid start: ignored, as Linux does */
        it->lfn_slots = seq;
        it->lfn_sum = raw[13];
    } else if (!it->lfn_slots || seq != it->lfn_next || raw[13] != it->lfn_sum) {
        it->lfn_slots = 0; /* an orphan or out of sequence: ignored */
        return;
    }
    it->lfn_next = seq - 1;
    uint16_t *u = it->units + (seq - 1) * 13;
    static const uint8_t at[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
    for (int i = 0; i < 13; i++)
        u[i] = le16(raw + at[i]);
}

/* The pending long name as UTF-8 into @e, if it is complete and valid. */
static bool lfn_take(struct dir_iter *it, struct fat_entry *e)
{
    if (!it->lfn_slots || it->lfn_next != 0 || short_checksum(e->raw) != it->lfn_sum)
        return false;
    int n = 0, max = it->lfn_slots * 13;
    while (n < max && it->units[n] != 0)
        n++;
    if (n == 0 || n > LFN_MAX_UNITS)
        return false;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        uint32_t cp = it->units[i];
        if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < n && it->units[i + 1] >= 0xDC00 &&
            it->units[i + 1] < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (it->units[i + 1] - 0xDC00);
            i++;
        } else if (cp >= 0xD800 && cp < 0xE000) {
            cp = 0xFFFD; /* an unpaired surrogate */
        }
        if (cp == '/')
            return false; /* a name that cannot be a path component */
        at = put_utf8(e->name, at, cp);
    }
    if ((at == 1 && e->name[0] == '.') || (at == 2 && e->name[0] == '.' && e->name[1] == '.'))
        return false;
    e->name[at] = 0;
    e->name_len = (uint16_t)at;
    return true;
}

/*
 * The next file, directory, "." or ".." entry with its name: 1, 0 at the
 * end (the end of the chain or a first byte 0x00, which the specification
 * says ends a directory), -errno. Deleted entries, volume labels and long
 * names that do not belong to the entry after them are skipped.
 */
static int dir_next(struct dir_iter *it, struct fat_entry *e)
{
    for (;;) {
        const uint8_t *raw = no_entry; /* dir_raw() sets both when it returns 1 */
        uint64_t off = 0;
        int rc = dir_raw(it, &raw, &off);
        if (rc <= 0)
            return rc;
        if (raw[0] == 0)
            return 0;
        if (raw[0] == ENTRY_DELETED) {
            it->lfn_slots = 0;
            continue;
        }
        if ((raw[11] & 0x3F) == ATTR_LONG_NAME) {
            lfn_slot(it, raw);
            continue;
        }
        if (raw[11] & FAT_ATTR_VOLUME_ID) {
            it->lfn_slots = 0;
            continue;
        }
        fat__decode_short(it->fs, raw, off, e);
        if (e->is_dot || !lfn_take(it, e)) {
            memcpy(e->name, e->short_name, (size_t)e->short_len + 1);
            e->name_len = e->short_len;
        }
        it->lfn_slots = 0;
        return 1;
    }
}

/* The directory @dir as a start cluster (0: the root) and its description. */
static int dir_start(struct fat_fs *fs, uint64_t dir, uint32_t *start, char *what, size_t len)
{
    fat__describe(fs, dir, what, len);
    if (dir == FAT_ROOT_INO) {
        *start = 0;
        return 0;
    }
    struct fat_entry e;
    int rc = fat__read_entry(fs, dir, &e);
    if (rc < 0)
        return rc;
    if (!e.is_dir)
        return fat__fail(fs, -ENOTDIR, "%s: not a directory", what);
    if (!fat__cluster_ok(fs, e.start))
        return fat__fail(fs, -EUCLEAN, "%s: start cluster %u out of range (2..%u)", what, e.start,
                         fs->clusters + 1);
    *start = e.start;
    return 0;
}

int fat__count_subdirs(struct fat_fs *fs, const struct fat_entry *d, uint32_t *count)
{
    char what[256];
    fat__describe(fs, d ? d->ino : FAT_ROOT_INO, what, sizeof(what));
    struct dir_iter it;
    int rc = dir_open(fs, &it, d ? d->start : 0, what);
    struct fat_entry *e = malloc(sizeof(*e));
    if (rc == 0 && !e)
        rc = fat__fail(fs, -ENOMEM, "out of memory");
    uint32_t n = 0;
    while (rc == 0 && (rc = dir_next(&it, e)) == 1) {
        n += e->is_dir;
        rc = 0;
    }
    free(e);
    dir_close(&it);
    *count = n;
    return rc;
}

int fat__root_label(struct fat_fs *fs, char *out, size_t cap)
{
    struct dir_iter it;
    out[0] = 0;
    int rc = dir_open(fs, &it, 0, "the root directory");
    const uint8_t *raw = no_entry;
    uint64_t off = 0;
    while (rc == 0 && (rc = dir_raw(&it, &raw, &off)) == 1) {
        rc = 0;
        if (raw[0] == 0)
            break;
        if (raw[0] == ENTRY_DELETED || (raw[11] & 0x3F) == ATTR_LONG_NAME ||
            (raw[11] & (FAT_ATTR_VOLUME_ID | FAT_ATTR_DIRECTORY)) != FAT_ATTR_VOLUME_ID)
            continue;
        char label[12];
        int n = 11;
        for (int i = 0; i < 11; i++) {
            uint8_t ch = raw[i];
            if (i == 0 && ch == ENTRY_KANJI_E5)
                ch = ENTRY_DELETED;
            label[i] = (ch < 0x20 || ch >= 0x7F) ? '?' : (char)ch;
        }
        while (n > 0 && label[n - 1] == ' ')
            n--;
        label[n] = 0;
        if (strcmp(label, "NO NAME") != 0)
            snprintf(out, cap, "%s", label);
        break;
    }
    dir_close(&it);
    return rc < 0 ? rc : 0;
}

/* ---- readdir --------------------------------------------------------------- */

int fat_readdir(struct fat_fs *fs, uint64_t ino,
                int (*cb)(void *arg, const struct fat_dirent *de), void *arg)
{
    if (!fs || !cb)
        return -EINVAL;
    char what[256];
    uint32_t start;
    int rc = dir_start(fs, ino, &start, what, sizeof(what));
    if (rc < 0)
        return rc;
    struct dir_iter it;
    rc = dir_open(fs, &it, start, what);
    struct fat_entry *e = malloc(sizeof(*e));
    if (rc == 0 && !e)
        rc = fat__fail(fs, -ENOMEM, "out of memory");
    while (rc == 0 && (rc = dir_next(&it, e)) == 1) {
        rc = 0;
        if (e->is_dot)
            continue;
        fat__remember(fs, e->ino, ino, e->name, e->name_len);
        struct fat_dirent de = {
            .ino = e->ino,
            .type = e->is_dir ? DT_DIR : DT_REG,
            .name_len = e->name_len,
            .name = e->name,
        };
        rc = cb(arg, &de);
    }
    free(e);
    dir_close(&it);
    return rc;
}

/* ---- lookup ---------------------------------------------------------------- */

static bool same_name(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 'a' - 'A');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 'a' - 'A');
        if (x != y)
            return false;
    }
    return true;
}

/*
 * Search directory @start (0: the root) for an entry: by name (@name) or,
 * with @name NULL, the subdirectory starting at @cluster (not "." or "..").
 * With @dotdot, the ".." entry's cluster into *cluster_out instead.
 */
struct search {
    const char *name;
    size_t len;
    uint32_t cluster;
    bool dotdot;
    uint64_t ino;          /* found */
    uint32_t cluster_out;  /* found (dotdot) */
};

static int dir_search(struct fat_fs *fs, uint32_t start, const char *what, struct search *s)
{
    struct dir_iter it;
    int rc = dir_open(fs, &it, start, what);
    struct fat_entry *e = malloc(sizeof(*e));
    if (rc == 0 && !e)
        rc = fat__fail(fs, -ENOMEM, "out of memory");
    int found = 0;
    while (rc == 0 && (rc = dir_next(&it, e)) == 1) {
        rc = 0;
        if (s->dotdot) {
            if (e->is_dot && e->name_len == 2) {
                s->cluster_out = e->start;
                found = 1;
                break;
            }
        } else if (e->is_dot) {
            continue;
        } else if (s->name) {
            if (same_name(s->name, s->len, e->name, e->name_len) ||
                same_name(s->name, s->len, e->short_name, e->short_len)) {
                s->ino = e->ino;
                found = 1;
                break;
            }
        } else if (e->is_dir && e->start == s->cluster) {
            s->ino = e->ino;
            found = 1;
            break;
        }
    }
    free(e);
    dir_close(&it);
    return rc < 0 ? rc : found;
}

/* The parent of directory @dir (not the root), as Linux finds it: the
 * cluster in ".." names the parent, whose own ".." names the grandparent,
 * which holds the parent's entry. */
static int lookup_parent(struct fat_fs *fs, uint64_t dir, uint32_t start, const char *what,
                         uint64_t *ino)
{
    struct search s = {.dotdot = true};
    int rc = dir_search(fs, start, what, &s);
    if (rc == 0)
        rc = fat__fail(fs, -EUCLEAN, "%s: no \"..\" entry", what);
    if (rc < 0)
        return rc;
    uint32_t parent = s.cluster_out;
    /* Some systems write the FAT32 root's cluster instead of 0. */
    if (parent == 0 || (fs->type == FAT32 && parent == fs->root_cluster)) {
        *ino = FAT_ROOT_INO;
        return 0;
    }
    if (parent == start)
        return fat__fail(fs, -EUCLEAN, "%s: \"..\" points to the directory itself (cluster %u)",
                         what, start);
    char pwhat[300];
    snprintf(pwhat, sizeof(pwhat), "the parent of %.200s (cluster %u)", what, parent);
    if (!fat__cluster_ok(fs, parent))
        return fat__fail(fs, -EUCLEAN, "%s: \"..\" cluster %u out of range (2..%u)", what, parent,
                         fs->clusters + 1);
    s = (struct search){.dotdot = true};
    rc = dir_search(fs, parent, pwhat, &s);
    if (rc == 0)
        rc = fat__fail(fs, -EUCLEAN, "%s: no \"..\" entry", pwhat);
    if (rc < 0)
        return rc;
    uint32_t grand = s.cluster_out;
    if (fs->type == FAT32 && grand == fs->root_cluster)
        grand = 0;
    if (grand != 0 && !fat__cluster_ok(fs, grand))
        return fat__fail(fs, -EUCLEAN, "%s: \"..\" cluster %u out of range (2..%u)", pwhat, grand,
                         fs->clusters + 1);
    char gwhat[340];
    snprintf(gwhat, sizeof(gwhat), "the directory at cluster %u", grand);
    s = (struct search){.cluster = parent};
    rc = dir_search(fs, grand, grand ? gwhat : "the root directory", &s);
    if (rc == 0)
        rc = fat__fail(fs, -EUCLEAN, "%s: its entry is not in its \"..\" directory", pwhat);
    if (rc < 0)
        return rc;
    (void)dir;
    *ino = s.ino;
    return 0;
}

int fat_lookup_child(struct fat_fs *fs, uint64_t dir, const char *name, size_t len,
                     uint64_t *ino)
{
    if (!fs || !ino || (!name && len))
        return -EINVAL;
    char what[256];
    uint32_t start = 0; /* dir_start() sets it when it succeeds */
    int rc = dir_start(fs, dir, &start, what, sizeof(what));
    if (rc < 0)
        return rc;
    if (len == 0 || memchr(name, '/', len) || memchr(name, 0, len))
        return fat__fail(fs, -EINVAL, "%s: lookup of an empty name or one with '/' or NUL", what);
    if (len > FAT_NAME_MAX_BYTES)
        return fat__fail(fs, -ENAMETOOLONG, "%s: a name of %zu bytes is too long", what, len);
    if (len == 1 && name[0] == '.') {
        *ino = dir;
        return 0;
    }
    if (len == 2 && name[0] == '.' && name[1] == '.') {
        if (dir == FAT_ROOT_INO) {
            *ino = FAT_ROOT_INO;
            return 0;
        }
        return lookup_parent(fs, dir, start, what, ino);
    }
    struct search s = {.name = name, .len = len};
    rc = dir_search(fs, start, what, &s);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return fat__fail(fs, -ENOENT, "%s: no entry \"%.*s\"", what, (int)(len > 200 ? 200 : len),
                         name);
    fat__remember(fs, s.ino, dir, name, len);
    *ino = s.ino;
    return 0;
}

#define LOOKUP_MAX_DEPTH 128

int fat_lookup(struct fat_fs *fs, const char *path, uint64_t *ino)
{
    if (!fs || !path || !ino)
        return -EINVAL;
    if (path[0] != '/')
        return fat__fail(fs, -EINVAL, "lookup of \"%.200s\": not an absolute path", path);
    /* The directories walked through, so that ".." goes back exactly. */
    uint64_t stack[LOOKUP_MAX_DEPTH];
    int depth = 0;
    uint64_t cur = FAT_ROOT_INO;
    const char *p = path;
    bool want_dir = false;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        want_dir = end != NULL;
        uint64_t next;
        int rc;
        /* ".." beyond the stack (a very deep walk) is found on disk. */
        if (len == 2 && p[0] == '.' && p[1] == '.' && depth > 0) {
            /* Still check that the current one is a directory. */
            uint32_t start;
            char what[256];
            rc = dir_start(fs, cur, &start, what, sizeof(what));
            if (rc < 0)
                return rc;
            next = stack[--depth];
        } else {
            rc = fat_lookup_child(fs, cur, p, len, &next);
            if (rc < 0)
                return rc;
            bool dot = (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.');
            if (!dot) {
                if (depth == LOOKUP_MAX_DEPTH) { /* forget the oldest: ".." then asks the disk */
                    memmove(stack, stack + 1, sizeof(stack) - sizeof(stack[0]));
                    depth--;
                }
                stack[depth++] = cur;
            }
        }
        cur = next;
        p += len;
    }
    if (want_dir && cur != FAT_ROOT_INO) {
        uint32_t start;
        char what[256];
        int rc = dir_start(fs, cur, &start, what, sizeof(what));
        if (rc < 0)
            return rc;
    }
    *ino = cur;
    return 0;
}
