/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fat.c — mounting (boot sector and BPB), the FAT and cluster chains,
 * statvfs, stat and file reads for the read-only FAT reader (fat.h).
 * Directories, names and lookup are in fat_dir.c.
 *
 * On-disk layout (our reading of Microsoft's FAT specification, fatgen103):
 * the boot sector holds the BPB at byte 11 (bytes per sector, sectors per
 * cluster, reserved sectors, number of FATs, root entries, 16-bit total
 * sectors, media, 16-bit FAT size), then the 32-bit total at 32; FAT12/16
 * have the extended boot signature at 38 (serial 39, label 43), FAT32 its
 * FAT size at 36, flags at 40, version at 42, root cluster at 44 and the
 * extended signature at 66 (serial 67, label 71). Then come the reserved
 * sectors, the FATs, the fixed root directory (FAT12/16) and the data
 * clusters, numbered from 2.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fat_internal.h"

/* The specification's rule: the count of data clusters decides the type. */
#define FAT12_MAX_CLUSTERS 4084
#define FAT16_MAX_CLUSTERS 65524
#define FAT32_MAX_CLUSTERS 0x0FFFFFF5u /* entries 0x0FFFFFF7.. are bad/EOC */

#define FAT_WINDOW 4096 /* bytes of FAT kept from the last read */
#define SCAN_CHUNK_ENTRIES 32768

int fat__fail(struct fat_fs *fs, int rc, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(fs->err, sizeof(fs->err), "%s: ", fs->name);
    if (n < 0 || (size_t)n >= sizeof(fs->err))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(fs->err + n, sizeof(fs->err) - (size_t)n, fmt, ap);
    va_end(ap);
    return rc;
}

const char *fat_error(const struct fat_fs *fs)
{
    return fs ? fs->err : "";
}

/* ---- names for messages -------------------------------------------------- */

static struct fat_name *name_slot(struct fat_fs *fs, uint64_t ino)
{
    return &fs->names[(ino * UINT64_C(0x9E3779B97F4A7C15)) >> 58];
}

void fat__remember(struct fat_fs *fs, uint64_t ino, uint64_t parent, const char *name,
                   size_t len)
{
    struct fat_name *n = name_slot(fs, ino);
    if (len >= sizeof(n->name))
        len = sizeof(n->name) - 1;
    n->ino = ino;
    n->parent = parent;
    memcpy(n->name, name, len);
    n->name[len] = 0;
}

const char *fat__describe(struct fat_fs *fs, uint64_t ino, char *buf, size_t len)
{
    if (ino == FAT_ROOT_INO) {
        snprintf(buf, len, "the root directory");
        return buf;
    }
    const struct fat_name *chain[16];
    int depth = 0;
    uint64_t at = ino;
    while (at != FAT_ROOT_INO && depth < 16) {
        const struct fat_name *n = name_slot(fs, at);
        if (n->ino != at || at == 0)
            break;
        chain[depth++] = n;
        at = n->parent;
    }
    if (depth == 0) {
        snprintf(buf, len, "the entry at byte %llu", (unsigned long long)ino);
        return buf;
    }
    size_t used = 0;
    buf[0] = 0;
    if (at != FAT_ROOT_INO)
        used = (size_t)snprintf(buf, len, "...");
    for (int i = depth - 1; i >= 0 && used < len; i--)
        used += (size_t)snprintf(buf + used, len - used, "/%s", chain[i]->name);
    return buf;
}

/* ---- the FAT --------------------------------------------------------------- */

/* @len bytes of the FAT at byte @off (inside the FAT: checked at mount). */
static int fat_bytes(struct fat_fs *fs, uint64_t off, uint32_t len, const uint8_t **out)
{
    if (fs->fat_cache_off == UINT64_MAX || off < fs->fat_cache_off ||
        off + len > fs->fat_cache_off + fs->fat_cache_len) {
        uint64_t start = off - off % fs->bytes_per_sector;
        if (off + len > start + FAT_WINDOW)
            start = off; /* a FAT12 entry straddling the window's end */
        uint64_t n = fs->fat_bytes - start < FAT_WINDOW ? fs->fat_bytes - start : FAT_WINDOW;
        int rc = gf_dev_pread(fs->dev, fs->fat_cache, (size_t)n, fs->fat_offset + start);
        if (rc < 0) {
            fs->fat_cache_off = UINT64_MAX;
            return fat__fail(fs, rc, "FAT: cannot read %llu bytes at byte %llu",
                             (unsigned long long)n, (unsigned long long)(fs->fat_offset + start));
        }
        fs->fat_cache_off = start;
        fs->fat_cache_len = (uint32_t)n;
    }
    *out = fs->fat_cache + (off - fs->fat_cache_off);
    return 0;
}

/* Decode entry @n from a buffer holding the FAT from entry @base on (for
 * FAT12 @base is even, so the buffer starts on a whole byte). */
static uint32_t decode_entry(enum fat_type type, const uint8_t *buf, uint32_t base, uint32_t n)
{
    switch (type) {
    case FAT12: {
        uint32_t i = n - base, at = i + i / 2;
        uint16_t v = le16(buf + at);
        return (i & 1) ? v >> 4 : v & 0xFFF;
    }
    case FAT16:
        return le16(buf + 2 * (size_t)(n - base));
    case FAT32:
        break;
    }
    return le32(buf + 4 * (size_t)(n - base)) & 0x0FFFFFFF;
}

int fat__get_entry(struct fat_fs *fs, uint32_t cluster, uint32_t *value)
{
    uint64_t off;
    uint32_t len = fs->type == FAT32 ? 4 : 2;
    if (fs->type == FAT12)
        off = (uint64_t)cluster + cluster / 2;
    else
        off = (uint64_t)cluster * (fs->type == FAT16 ? 2 : 4);
    const uint8_t *p = NULL;
    int rc = fat_bytes(fs, off, len, &p);
    if (rc < 0)
        return rc;
    if (fs->type == FAT12)
        *value = (cluster & 1) ? le16(p) >> 4 : le16(p) & 0xFFF;
    else
        *value = fs->type == FAT16 ? le16(p) : le32(p) & 0x0FFFFFFF;
    return 0;
}

static uint32_t eoc_min(enum fat_type type)
{
    return type == FAT12 ? 0xFF8 : type == FAT16 ? 0xFFF8 : 0x0FFFFFF8;
}

int fat__next_cluster(struct fat_fs *fs, uint32_t cluster, uint32_t *next, const char *what)
{
    uint32_t v;
    int rc = fat__get_entry(fs, cluster, &v);
    if (rc < 0)
        return rc;
    uint32_t eoc = eoc_min(fs->type);
    if (v >= eoc) {
        *next = 0;
        return 0;
    }
    if (v == eoc - 1)
        return fat__fail(fs, -EUCLEAN, "FAT: cluster chain of %s: cluster %u is followed by a "
                         "cluster marked bad", what, cluster);
    if (v == CLUSTER_FREE || v == CLUSTER_RESERVED)
        return fat__fail(fs, -EUCLEAN, "FAT: cluster chain of %s: cluster %u is followed by %s "
                         "(%u)", what, cluster, v ? "the reserved value" : "a free entry", v);
    if (!fat__cluster_ok(fs, v))
        return fat__fail(fs, -EUCLEAN, "FAT: cluster chain of %s: cluster %u points to cluster "
                         "%u, past the end (%u clusters)", what, cluster, v, fs->clusters);
    *next = v;
    return 0;
}

void fat__walk_start(struct fat_chain_walk *w, uint32_t start)
{
    w->cluster = start;
    w->saved = start;
    w->power = w->lambda = 1;
    w->steps = 0;
}

int fat__walk_step(struct fat_fs *fs, struct fat_chain_walk *w, const char *what)
{
    uint32_t next;
    int rc = fat__next_cluster(fs, w->cluster, &next, what);
    if (rc < 0)
        return rc;
    w->cluster = next;
    if (!next)
        return 0;
    w->steps++;
    if (next == w->saved || w->steps >= fs->clusters)
        return fat__fail(fs, -EUCLEAN, "FAT: cluster chain of %s loops at cluster %u", what, next);
    if (w->power == w->lambda) {
        w->saved = next;
        w->power *= 2;
        w->lambda = 0;
    }
    w->lambda++;
    return 0;
}

int fat__chain_length(struct fat_fs *fs, uint32_t start, const char *what, uint32_t *count)
{
    if (!fat__cluster_ok(fs, start))
        return fat__fail(fs, -EUCLEAN, "%s: start cluster %u out of range (2..%u)", what, start,
                         fs->clusters + 1);
    struct fat_chain_walk w;
    fat__walk_start(&w, start);
    uint32_t n = 1;
    for (;;) {
        int rc = fat__walk_step(fs, &w, what);
        if (rc < 0)
            return rc;
        if (!w.cluster)
            break;
        n++;
    }
    *count = n;
    return 0;
}

/* ---- mount ----------------------------------------------------------------- */

static bool power_of_two(uint32_t n)
{
    return n && !(n & (n - 1));
}

static void label_from(char out[12], const uint8_t *src)
{
    int n = 11;
    for (int i = 0; i < 11; i++) {
        uint8_t ch = src[i];
        out[i] = (ch < 0x20 || ch >= 0x7F) ? '?' : (char)ch;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = 0;
    if (strcmp(out, "NO NAME") == 0)
        out[0] = 0;
}

static int parse_boot(struct fat_fs *fs, const uint8_t *bs)
{
    uint64_t dev_size = gf_dev_size(fs->dev);
    if (le16(bs + 510) != 0xAA55)
        return fat__fail(fs, -EINVAL, "boot sector: signature 0x%04x, expected 0xaa55 (not a FAT "
                         "filesystem)", le16(bs + 510));
    uint32_t bps = le16(bs + 11), spc = bs[13], reserved = le16(bs + 14), fats = bs[16];
    uint32_t root_entries = le16(bs + 17), media = bs[21];
    uint32_t fat_size16 = le16(bs + 22);
    if (bps < 512 || bps > 4096 || !power_of_two(bps))
        return fat__fail(fs, -EUCLEAN, "boot sector: bytes per sector %u not a power of two "
                         "512..4096", bps);
    if (!power_of_two(spc))
        return fat__fail(fs, -EUCLEAN, "boot sector: sectors per cluster %u not a power of two "
                         "1..128", spc);
    if (reserved == 0)
        return fat__fail(fs, -EUCLEAN, "boot sector: 0 reserved sectors (the boot sector is one)");
    if (fats == 0)
        return fat__fail(fs, -EUCLEAN, "boot sector: number of FATs is 0");
    if (media != 0xF0 && media < 0xF8)
        return fat__fail(fs, -EUCLEAN, "boot sector: media descriptor 0x%02x not 0xf0 or "
                         "0xf8..0xff", media);
    uint64_t total = le16(bs + 19) ? le16(bs + 19) : le32(bs + 32);
    if (total == 0)
        return fat__fail(fs, -EUCLEAN, "boot sector: total sector count is 0");
    /* A zero 16-bit FAT size and no fixed root directory make a FAT32 BPB. */
    bool fat32_bpb = fat_size16 == 0;
    uint64_t fat_size = fat32_bpb ? le32(bs + 36) : fat_size16;
    if (fat_size == 0)
        return fat__fail(fs, -EUCLEAN, "boot sector: FAT size is 0 sectors");
    if (fat32_bpb && root_entries != 0)
        return fat__fail(fs, -EUCLEAN, "boot sector: FAT32 BPB (16-bit FAT size 0) with %u root "
                         "directory entries (must be 0)", root_entries);
    if (!fat32_bpb && root_entries == 0)
        return fat__fail(fs, -EUCLEAN, "boot sector: FAT12/16 BPB with 0 root directory entries");
    if ((root_entries * DIRENT_SIZE) % bps)
        return fat__fail(fs, -EUCLEAN, "boot sector: %u root directory entries do not fill whole "
                         "%u-byte sectors", root_entries, bps);
    uint64_t root_sectors = (uint64_t)root_entries * DIRENT_SIZE / bps;
    uint64_t data_start = reserved + fats * fat_size + root_sectors;
    if (data_start >= total)
        return fat__fail(fs, -EUCLEAN, "boot sector: %u reserved + %u FATs x %llu + %llu root "
                         "directory sectors leave no data area in %llu sectors",
                         reserved, fats, (unsigned long long)fat_size,
                         (unsigned long long)root_sectors, (unsigned long long)total);
    uint64_t clusters = (total - data_start) / spc;
    if (clusters == 0)
        return fat__fail(fs, -EUCLEAN, "boot sector: no whole cluster in the data area");
    /*
     * The type follows from the cluster count. A FAT32 BPB with fewer than
     * 65,525 clusters is accepted as FAT32, as Linux and mtools do and as
     * mkfs.fat -F 32 makes small filesystems; a FAT12/16 BPB cannot
     * address 65,525 clusters or more.
     */
    if (fat32_bpb) {
        fs->type = FAT32;
        if (clusters > FAT32_MAX_CLUSTERS)
            return fat__fail(fs, -EUCLEAN, "boot sector: %llu clusters, more than FAT32 can "
                             "address (%u)", (unsigned long long)clusters, FAT32_MAX_CLUSTERS);
    } else if (clusters <= FAT12_MAX_CLUSTERS) {
        fs->type = FAT12;
    } else if (clusters <= FAT16_MAX_CLUSTERS) {
        fs->type = FAT16;
    } else {
        return fat__fail(fs, -EUCLEAN, "boot sector: %llu clusters make a FAT32 filesystem, but "
                         "the BPB is FAT12/16's (16-bit FAT size %u, %u root entries)",
                         (unsigned long long)clusters, fat_size16, root_entries);
    }
    unsigned bits = fs->type;
    uint64_t capacity = fat_size * bps * 8 / bits;
    if (capacity < clusters + 2)
        return fat__fail(fs, -EUCLEAN, "boot sector: a FAT of %llu sectors holds %llu %u-bit "
                         "entries, fewer than the %llu clusters + 2",
                         (unsigned long long)fat_size, (unsigned long long)capacity, bits,
                         (unsigned long long)clusters);
    if (total * bps > dev_size)
        return fat__fail(fs, -EUCLEAN, "boot sector: the filesystem has %llu sectors of %u bytes "
                         "but the device holds only %llu (truncated image?)",
                         (unsigned long long)total, bps, (unsigned long long)(dev_size / bps));
    unsigned active = 0;
    const uint8_t *ext = bs + 36;
    if (fs->type == FAT32) {
        uint16_t flags = le16(bs + 40), version = le16(bs + 42);
        if (version != 0)
            return fat__fail(fs, -EOPNOTSUPP, "boot sector: FAT32 version %u.%u (only 0.0 is "
                             "known)", version >> 8, version & 0xFF);
        if (flags & 0x80) { /* mirroring off: one FAT is active */
            active = flags & 0xF;
            if (active >= fats)
                return fat__fail(fs, -EUCLEAN, "boot sector: active FAT %u of %u FATs", active,
                                 fats);
        }
        fs->root_cluster = le32(bs + 44);
        if (fs->root_cluster < 2 || fs->root_cluster - 2 >= clusters)
            return fat__fail(fs, -EUCLEAN, "boot sector: root cluster %u out of range (2..%llu)",
                             fs->root_cluster, (unsigned long long)clusters + 1);
        ext = bs + 64;
    }
    fs->bytes_per_sector = bps;
    fs->sectors_per_cluster = spc;
    fs->cluster_size = bps * spc;
    fs->fat_bytes = fat_size * bps;
    fs->fat_offset = (uint64_t)reserved * bps + active * fs->fat_bytes;
    fs->root_offset = (reserved + fats * fat_size) * bps;
    fs->root_bytes = (uint32_t)(root_sectors * bps);
    fs->data_offset = data_start * bps;
    fs->total_bytes = total * bps;
    fs->clusters = (uint32_t)clusters;
    /* Extended boot signature 0x29: serial and label; 0x28: serial only. */
    if (ext[2] == 0x29 || ext[2] == 0x28) {
        fs->has_serial = true;
        fs->serial = le32(ext + 3);
    }
    if (ext[2] == 0x29)
        label_from(fs->boot_label, ext + 7);
    return 0;
}

int fat_mount(struct gf_dev *dev, struct fat_fs **out, char *err, size_t errlen)
{
    if (!dev || !out)
        return -EINVAL;
    *out = NULL;
    struct fat_fs *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return -ENOMEM;
    fs->dev = dev;
    fs->name = gf_dev_name(dev);
    fs->fat_cache_off = UINT64_MAX;
    uint8_t bs[512];
    int rc = gf_dev_pread(dev, bs, sizeof(bs), 0);
    if (rc < 0)
        rc = fat__fail(fs, rc, "boot sector: cannot read bytes 0-511 (device of %llu bytes)",
                       (unsigned long long)gf_dev_size(dev));
    if (rc == 0)
        rc = parse_boot(fs, bs);
    if (rc == 0) {
        fs->fat_cache = malloc(FAT_WINDOW);
        if (!fs->fat_cache)
            rc = fat__fail(fs, -ENOMEM, "out of memory");
    }
    if (rc == 0 && fs->type == FAT32) {
        uint32_t n;
        rc = fat__chain_length(fs, fs->root_cluster, "the root directory", &n);
    }
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s", fs->err);
        fat_umount(fs);
        return rc;
    }
    fs->err[0] = 0;
    *out = fs;
    return 0;
}

void fat_umount(struct fat_fs *fs)
{
    if (!fs)
        return;
    free(fs->fat_cache);
    free(fs);
}

/* ---- statvfs --------------------------------------------------------------- */

static int count_free(struct fat_fs *fs, uint64_t *free_out)
{
    unsigned bits = fs->type;
    size_t chunk_bytes = (size_t)SCAN_CHUNK_ENTRIES * bits / 8 + 2;
    uint8_t *buf = malloc(chunk_bytes);
    if (!buf)
        return fat__fail(fs, -ENOMEM, "out of memory");
    uint64_t free_count = 0;
    uint32_t end = fs->clusters + 2;
    for (uint32_t base = 0; base < end; base += SCAN_CHUNK_ENTRIES) {
        uint32_t n = end - base < SCAN_CHUNK_ENTRIES ? end - base : SCAN_CHUNK_ENTRIES;
        uint64_t off = (uint64_t)base * bits / 8;
        /* Whole bytes: a FAT12 pair of entries is 3 bytes and @base is even. */
        uint64_t len = ((uint64_t)(base + n) * bits + 7) / 8 - off;
        int rc = gf_dev_pread(fs->dev, buf, (size_t)len, fs->fat_offset + off);
        if (rc < 0) {
            free(buf);
            return fat__fail(fs, rc, "FAT: cannot read %llu bytes at byte %llu",
                             (unsigned long long)len, (unsigned long long)(fs->fat_offset + off));
        }
        for (uint32_t i = base < 2 ? 2 : base; i < base + n; i++)
            free_count += decode_entry(fs->type, buf, base, i) == CLUSTER_FREE;
    }
    free(buf);
    *free_out = free_count;
    return 0;
}

int fat_statvfs(struct fat_fs *fs, struct fat_statvfs *out)
{
    if (!fs || !out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->cluster_size = fs->cluster_size;
    out->clusters = fs->clusters;
    out->type = fs->type;
    out->serial = fs->serial;
    out->name_max = 255 * 6;
    int rc = count_free(fs, &out->free_clusters);
    if (rc < 0)
        return rc;
    /* The root directory's label entry wins over the BPB's, as in blkid. */
    rc = fat__root_label(fs, out->label, sizeof(out->label));
    if (rc < 0)
        return rc;
    if (!out->label[0])
        snprintf(out->label, sizeof(out->label), "%s", fs->boot_label);
    return 0;
}

/* ---- entries, stat --------------------------------------------------------- */

int fat__read_entry(struct fat_fs *fs, uint64_t ino, struct fat_entry *e)
{
    bool in_root = fs->type != FAT32 && ino >= fs->root_offset &&
                   ino - fs->root_offset < fs->root_bytes;
    bool in_data = ino >= fs->data_offset &&
                   ino - fs->data_offset < (uint64_t)fs->clusters * fs->cluster_size;
    if (ino % DIRENT_SIZE || (!in_root && !in_data))
        return fat__fail(fs, -EINVAL, "inode %llu: not the place of a directory entry",
                         (unsigned long long)ino);
    uint8_t raw[DIRENT_SIZE];
    int rc = gf_dev_pread(fs->dev, raw, sizeof(raw), ino);
    if (rc < 0)
        return fat__fail(fs, rc, "inode %llu: cannot read its directory entry",
                         (unsigned long long)ino);
    fat__decode_short(fs, raw, ino, e);
    if (raw[0] == 0 || raw[0] == ENTRY_DELETED || e->attr == ATTR_LONG_NAME ||
        (e->attr & FAT_ATTR_VOLUME_ID) || e->is_dot)
        return fat__fail(fs, -EINVAL, "inode %llu: not a file or directory entry",
                         (unsigned long long)ino);
    return 0;
}

/*
 * FAT date and time (local time, read as UTC) to seconds since the epoch,
 * as Linux converts them: a zero month or day counts as 1, months 13-15
 * add no days, hours, minutes and seconds are used as they are.
 */
static int64_t fat_time(uint16_t date, uint16_t time, uint8_t centis, uint32_t *nsec)
{
    static const uint16_t days_before_month[16] = {0,   0,   31,  59,  90,  120, 151, 181,
                                                   212, 243, 273, 304, 334, 0,   0,   0};
    uint32_t year = 1980 + (date >> 9), month = (date >> 5) & 0xF, day = date & 0x1F;
    if (month == 0)
        month = 1;
    if (day == 0)
        day = 1;
    bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    /* Days from 1970-01-01 to January 1st of @year (1980..2107). */
    uint32_t y = year - 1;
    int64_t days = (int64_t)(year - 1970) * 365 + (y / 4 - y / 100 + y / 400) -
                   (1969 / 4 - 1969 / 100 + 1969 / 400);
    days += days_before_month[month] + (leap && month > 2) + (day - 1);
    int64_t sec = days * 86400 + (time >> 11) * 3600 + ((time >> 5) & 0x3F) * 60 + (time & 0x1F) * 2;
    sec += centis / 100;
    if (nsec)
        *nsec = (uint32_t)(centis % 100) * 10000000u;
    return sec;
}

int fat_stat(struct fat_fs *fs, uint64_t ino, struct fat_stat *st)
{
    if (!fs || !st)
        return -EINVAL;
    memset(st, 0, sizeof(*st));
    st->ino = ino;
    char what[256];
    if (ino == FAT_ROOT_INO) {
        uint32_t subdirs, n = 0;
        int rc = fat__count_subdirs(fs, NULL, &subdirs);
        if (rc == 0 && fs->type == FAT32)
            rc = fat__chain_length(fs, fs->root_cluster, "the root directory", &n);
        if (rc < 0)
            return rc;
        st->mode = S_IFDIR | 0755;
        st->nlink = 2 + subdirs;
        st->size = fs->type == FAT32 ? (uint64_t)n * fs->cluster_size : fs->root_bytes;
        st->blocks = (st->size + fs->cluster_size - 1) / fs->cluster_size * fs->cluster_size / 512;
        st->attr = FAT_ATTR_DIRECTORY;
        return 0; /* the root has no entry, so no times: 0, as Linux shows them */
    }
    struct fat_entry e;
    int rc = fat__read_entry(fs, ino, &e);
    if (rc < 0)
        return rc;
    fat__describe(fs, ino, what, sizeof(what));
    st->attr = e.attr;
    if (e.is_dir) {
        uint32_t n, subdirs;
        rc = fat__chain_length(fs, e.start, what, &n);
        if (rc == 0)
            rc = fat__count_subdirs(fs, &e, &subdirs);
        if (rc < 0)
            return rc;
        /* Linux counts the "." and ".." entries among the subdirectories. */
        st->mode = S_IFDIR | 0755;
        st->nlink = subdirs;
        st->size = (uint64_t)n * fs->cluster_size;
    } else {
        if (e.start != 0 && !fat__cluster_ok(fs, e.start))
            return fat__fail(fs, -EUCLEAN, "%s: start cluster %u out of range (2..%u)", what,
                             e.start, fs->clusters + 1);
        if (e.start == 0 && e.size != 0)
            return fat__fail(fs, -EUCLEAN, "%s: size %u but no start cluster", what, e.size);
        st->mode = S_IFREG | ((e.attr & FAT_ATTR_READ_ONLY) ? 0555 : 0755);
        st->nlink = 1;
        st->size = e.size;
    }
    st->blocks = (st->size + fs->cluster_size - 1) / fs->cluster_size * fs->cluster_size / 512;
    const uint8_t *r = e.raw;
    st->mtime = fat_time(le16(r + 24), le16(r + 22), 0, &st->mtime_nsec);
    st->atime = fat_time(le16(r + 18), 0, 0, NULL);
    st->ctime = fat_time(le16(r + 16), le16(r + 14), r[13], &st->ctime_nsec);
    return 0;
}

/* ---- file data ------------------------------------------------------------- */

int64_t fat_read(struct fat_fs *fs, uint64_t ino, uint64_t off, void *buf, size_t len)
{
    if (!fs || (!buf && len))
        return -EINVAL;
    if (ino == FAT_ROOT_INO)
        return fat__fail(fs, -EISDIR, "the root directory: is a directory");
    struct fat_entry e;
    int rc = fat__read_entry(fs, ino, &e);
    if (rc < 0)
        return rc;
    char what[256];
    fat__describe(fs, ino, what, sizeof(what));
    if (e.is_dir)
        return fat__fail(fs, -EISDIR, "%s: is a directory", what);
    if (off >= e.size || len == 0)
        return 0;
    if (len > e.size - off)
        len = (size_t)(e.size - off);
    uint32_t cs = fs->cluster_size;
    uint32_t needed = (uint32_t)(((uint64_t)e.size + cs - 1) / cs);
    if (fs->cursor_ino != ino || fs->cursor_start != e.start) {
        /* First read of this file: the whole chain must be sound and long
         * enough for the size (a longer chain is tolerated, as Linux does). */
        fs->cursor_ino = 0;
        uint32_t n;
        if (e.start == 0)
            return fat__fail(fs, -EUCLEAN, "%s: size %u but no start cluster", what, e.size);
        rc = fat__chain_length(fs, e.start, what, &n);
        if (rc < 0)
            return rc;
        if (n < needed)
            return fat__fail(fs, -EUCLEAN, "FAT: cluster chain of %s ends after %u clusters, its "
                             "size %u needs %u", what, n, e.size, needed);
        fs->cursor_ino = ino;
        fs->cursor_start = e.start;
        fs->cursor_index = 0;
        fs->cursor_cluster = e.start;
    }
    uint8_t *out = buf;
    size_t done = 0;
    while (done < len) {
        uint64_t pos = off + done;
        uint32_t index = (uint32_t)(pos / cs), in = (uint32_t)(pos % cs);
        if (index < fs->cursor_index) {
            fs->cursor_index = 0;
            fs->cursor_cluster = e.start;
        }
        while (fs->cursor_index < index) {
            uint32_t next;
            rc = fat__next_cluster(fs, fs->cursor_cluster, &next, what);
            if (rc == 0 && !next)
                rc = fat__fail(fs, -EUCLEAN, "FAT: cluster chain of %s ends early", what);
            if (rc < 0) {
                fs->cursor_ino = 0;
                return rc;
            }
            fs->cursor_cluster = next;
            fs->cursor_index++;
        }
        /* Consecutive clusters are read in one go. */
        uint32_t first = fs->cursor_cluster;
        uint64_t run = cs - in;
        while (done + run < len) {
            uint32_t next;
            rc = fat__next_cluster(fs, fs->cursor_cluster, &next, what);
            if (rc < 0) {
                fs->cursor_ino = 0;
                return rc;
            }
            if (next != fs->cursor_cluster + 1)
                break;
            fs->cursor_cluster = next;
            fs->cursor_index++;
            run += cs;
        }
        if (run > len - done)
            run = len - done;
        uint64_t at = fat__cluster_offset(fs, first) + in;
        rc = gf_dev_pread(fs->dev, out + done, (size_t)run, at);
        if (rc < 0)
            return fat__fail(fs, rc, "%s: cannot read %llu bytes at byte %llu (cluster %u)", what,
                             (unsigned long long)run, (unsigned long long)at, first);
        done += (size_t)run;
    }
    return (int64_t)done;
}
