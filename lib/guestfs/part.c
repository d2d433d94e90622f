/* SPDX-License-Identifier: Apache-2.0 */
/*
 * part.c — MBR and GPT partition tables (part.h).
 *
 * Layouts (our reading of the specifications):
 *  MBR: 446-byte boot code, four 16-byte entries at 446 (boot indicator,
 *       CHS first, type, CHS last, LBA start, sector count; little-endian),
 *       signature 0x55 0xAA at 510. An extended partition (type 05, 0f or
 *       85) holds a chain of EBRs: entry 0 is a logical partition relative
 *       to its EBR, entry 1 links to the next EBR relative to the start of
 *       the extended partition.
 *  GPT (UEFI spec, chapter "GUID Partition Table Disk Layout"): a
 *       protective MBR (type 0xEE), the header at LBA 1 ("EFI PART",
 *       revision, header size, header CRC32, my LBA, alternate LBA, first
 *       and last usable LBA, disk GUID, entry array LBA, number and size of
 *       entries, array CRC32), the entry array, and a backup header at the
 *       last LBA with its array before it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_internal.h"
#include "part.h"

#define MBR_SIG_OFF 510
#define MBR_ENTRIES_OFF 446
#define GPT_HEADER_MIN 92

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Half-byte table of the reflected polynomial 0xEDB88320: small, constant,
 * so no initialisation race between threads. */
static const uint32_t crc_nibble[16] = {
    0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4,
    0x4DB26158, 0x5005713C, 0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
    0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C,
};

uint32_t gfs__crc32_update(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return crc;
}

uint32_t gfs_crc32(uint32_t crc, const void *buf, size_t len)
{
    return ~gfs__crc32_update(~crc, buf, len);
}

void gfs_guid_format(const uint8_t g[16], char out[37])
{
    snprintf(out, 37, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", le32(g), le16(g + 4),
             le16(g + 6), g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

static const struct {
    const char *guid;
    const char *name;
} gpt_types[] = {
    {"0fc63daf-8483-4772-8e79-3d69d8477de4", "linux-data"},
    {"c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "esp"},
    {"0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "linux-swap"},
    {"e6d6d379-f507-44c2-a23c-238f2a3df928", "linux-lvm"},
    {"a19d880f-05fc-4d3b-a006-743f0f84911e", "linux-raid"},
    {"21686148-6449-6e6f-744e-656564454649", "bios-boot"},
    {"ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "ms-basic-data"},
    {"de94bba4-06d1-4d40-a16a-bfd50179d6ac", "ms-recovery"},
    {"e3c9e316-0b5c-4db8-817d-f92df00215ae", "ms-reserved"},
    {"4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "linux-root-x86-64"},
    {"bc13c2ff-59e6-4262-a352-b275fd6f7172", "linux-extended-boot"},
    {"933ac7e1-2eb4-4f13-b844-0e14e2aef915", "linux-home"},
};

const char *gfs_gpt_type_name(const uint8_t guid[16])
{
    char s[37];
    gfs_guid_format(guid, s);
    for (size_t i = 0; i < sizeof(gpt_types) / sizeof(gpt_types[0]); i++) {
        if (strcmp(s, gpt_types[i].guid) == 0)
            return gpt_types[i].name;
    }
    return NULL;
}

/* ---- parsing context ---------------------------------------------------- */

struct ctx {
    struct gf_dev *dev;
    const char *name;
    uint64_t size;
    char *err;
    size_t errlen;
    struct gfs_part_table *t;
    size_t cap;
};

__attribute__((format(printf, 3, 4))) static int fail(struct ctx *c, int rc, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        int n = snprintf(c->err, c->errlen, "%s: ", c->name);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

__attribute__((format(printf, 2, 3))) static int warn(struct ctx *c, const char *fmt, ...)
{
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "%s: ", c->name);
    if (n < 0 || (size_t)n >= sizeof(msg))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    char **w = realloc(c->t->warnings, (c->t->nwarnings + 1) * sizeof(*w));
    if (!w)
        return -ENOMEM;
    c->t->warnings = w;
    w[c->t->nwarnings] = strdup(msg);
    if (!w[c->t->nwarnings])
        return -ENOMEM;
    c->t->nwarnings++;
    return 0;
}

static int read_at(struct ctx *c, void *buf, size_t len, uint64_t off, const char *what)
{
    if (off > c->size || len > c->size - off)
        return fail(c, -EIO, "%s at byte %llu (%zu bytes) lies past the end of the disk (%llu bytes)",
                    what, (unsigned long long)off, len, (unsigned long long)c->size);
    int rc = gf_dev_pread(c->dev, buf, len, off);
    if (rc < 0)
        return fail(c, rc, "%s at byte %llu: read failed", what, (unsigned long long)off);
    return 0;
}

static struct gfs_partition *add_part(struct ctx *c)
{
    if (c->t->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        struct gfs_partition *p = realloc(c->t->parts, cap * sizeof(*p));
        if (!p)
            return NULL;
        c->t->parts = p;
        c->cap = cap;
    }
    struct gfs_partition *p = &c->t->parts[c->t->count++];
    memset(p, 0, sizeof(*p));
    return p;
}

static int cmp_start(const void *a, const void *b)
{
    const struct gfs_partition *x = *(const struct gfs_partition *const *)a;
    const struct gfs_partition *y = *(const struct gfs_partition *const *)b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Overlapping partitions are reported, not refused (the list is still
 * usable; sfdisk and gdisk also only warn). Extended containers overlap
 * their logical partitions by design and are left out. */
static int report_overlaps(struct ctx *c, const char *table)
{
    size_t n = 0;
    const struct gfs_partition **v = malloc((c->t->count + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < c->t->count; i++) {
        if (!c->t->parts[i].extended)
            v[n++] = &c->t->parts[i];
    }
    qsort(v, n, sizeof(*v), cmp_start);
    int rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++) {
        if (v[i]->start < v[i - 1]->start + v[i - 1]->size)
            rc = warn(c, "%s: partitions %u and %u overlap", table, v[i - 1]->number,
                      v[i]->number);
    }
    free(v);
    return rc;
}

/* ---- MBR ----------------------------------------------------------------- */

static bool is_extended(uint8_t type)
{
    return type == 0x05 || type == 0x0f || type == 0x85;
}

/* A FAT boot sector also ends in 55 AA: a whole-disk FAT filesystem is not
 * a partition table (blkid and libguestfs see a filesystem there). */
static bool is_fat_boot_sector(const uint8_t *s)
{
    if (!((s[0] == 0xEB && s[2] == 0x90) || s[0] == 0xE9))
        return false;
    uint16_t bps = le16(s + 11);
    uint8_t spc = s[13];
    if (bps < 512 || bps > 4096 || (bps & (bps - 1)) || !spc || (spc & (spc - 1)))
        return false;
    if (!le16(s + 14) || !s[16] || (s[21] < 0xF8 && s[21] != 0xF0))
        return false;
    return memcmp(s + 54, "FAT", 3) == 0 || memcmp(s + 82, "FAT", 3) == 0 ||
           memcmp(s + 3, "MSWIN", 5) == 0 || memcmp(s + 3, "MSDOS", 5) == 0 ||
           memcmp(s + 3, "mkfs.fat", 8) == 0;
}

struct mbr_entry {
    uint8_t boot, type;
    uint32_t lba, count;
};

static void mbr_entry(const uint8_t *sector, int i, struct mbr_entry *e)
{
    const uint8_t *p = sector + MBR_ENTRIES_OFF + 16 * i;
    e->boot = p[0];
    e->type = p[4];
    e->lba = le32(p + 8);
    e->count = le32(p + 12);
}

static int mbr_logicals(struct ctx *c, const struct gfs_partition *ext, unsigned *next_number)
{
    uint64_t ext_start = ext->first_lba, ext_end = ext->last_lba + 1;
    uint64_t visited[GFS_PART_MAX_LOGICAL];
    uint64_t ebr = ext_start;
    uint8_t s[512];
    for (unsigned n = 0;; n++) {
        if (n == GFS_PART_MAX_LOGICAL)
            return fail(c, -EINVAL,
                        "MBR extended partition %u: more than %d EBRs in the chain",
                        ext->number, GFS_PART_MAX_LOGICAL);
        for (unsigned i = 0; i < n; i++) {
            if (visited[i] == ebr)
                return fail(c, -EINVAL,
                            "MBR extended partition %u: the EBR chain loops back to LBA %llu",
                            ext->number, (unsigned long long)ebr);
        }
        visited[n] = ebr;
        if (ebr < ext_start || ebr >= ext_end)
            return fail(c, -EINVAL,
                        "MBR extended partition %u: EBR at LBA %llu lies outside the extended "
                        "partition (LBA %llu-%llu)",
                        ext->number, (unsigned long long)ebr, (unsigned long long)ext_start,
                        (unsigned long long)ext_end - 1);
        char what[64];
        snprintf(what, sizeof(what), "MBR: EBR at LBA %llu", (unsigned long long)ebr);
        int rc = read_at(c, s, sizeof(s), ebr * 512, what);
        if (rc < 0)
            return rc;
        if (s[MBR_SIG_OFF] != 0x55 || s[MBR_SIG_OFF + 1] != 0xAA)
            return fail(c, -EINVAL, "%s: signature 0x%02x%02x, expected 0x55aa", what,
                        s[MBR_SIG_OFF], s[MBR_SIG_OFF + 1]);
        struct mbr_entry e0, e1;
        mbr_entry(s, 0, &e0);
        mbr_entry(s, 1, &e1);
        if (e0.boot != 0 && e0.boot != 0x80)
            return fail(c, -EINVAL, "%s: entry 1: boot indicator 0x%02x (expected 0x00 or 0x80)",
                        what, e0.boot);
        if (e0.type && e0.count) {
            if (is_extended(e0.type))
                return fail(c, -EINVAL,
                            "%s: entry 1: type 0x%02x is an extended type, expected a "
                            "logical partition", what, e0.type);
            uint64_t start = ebr + e0.lba;
            if (e0.lba == 0 || start + e0.count > ext_end)
                return fail(c, -EINVAL,
                            "%s: logical partition %u: start LBA %llu + %u sectors lies outside "
                            "the extended partition (LBA %llu-%llu)",
                            what, *next_number, (unsigned long long)start, e0.count,
                            (unsigned long long)ext_start, (unsigned long long)ext_end - 1);
            struct gfs_partition *p = add_part(c);
            if (!p)
                return -ENOMEM;
            p->number = (*next_number)++;
            p->first_lba = start;
            p->last_lba = start + e0.count - 1;
            p->start = start * 512;
            p->size = (uint64_t)e0.count * 512;
            p->mbr_type = e0.type;
            p->bootable = e0.boot == 0x80;
            p->logical = true;
        }
        if (!e1.type || !e1.count)
            return 0;
        if (!is_extended(e1.type))
            return warn(c, "%s: entry 2: type 0x%02x is not a link to the next EBR; the chain "
                           "ends here", what, e1.type);
        ebr = ext_start + e1.lba;
    }
}

static int read_mbr(struct ctx *c, const uint8_t *s)
{
    struct gfs_part_table *t = c->t;
    t->type = GFS_TABLE_MBR;
    t->sector_size = 512;
    t->mbr_signature = le32(s + 440);
    uint64_t nsect = c->size / 512;
    for (int i = 0; i < 4; i++) {
        struct mbr_entry e;
        mbr_entry(s, i, &e);
        if (e.boot != 0 && e.boot != 0x80)
            return fail(c, -EINVAL,
                        "MBR partition %d: boot indicator 0x%02x (expected 0x00 or 0x80)", i + 1,
                        e.boot);
        if (!e.type || !e.count)
            continue;
        if (e.lba == 0)
            return fail(c, -EINVAL, "MBR partition %d: start LBA 0 overlaps the MBR itself",
                        i + 1);
        if ((uint64_t)e.lba + e.count > nsect)
            return fail(c, -EINVAL,
                        "MBR partition %d: start LBA %u + %u sectors ends past the end of the "
                        "disk (%llu sectors)",
                        i + 1, e.lba, e.count, (unsigned long long)nsect);
        struct gfs_partition *p = add_part(c);
        if (!p)
            return -ENOMEM;
        p->number = (unsigned)i + 1;
        p->first_lba = e.lba;
        p->last_lba = (uint64_t)e.lba + e.count - 1;
        p->start = (uint64_t)e.lba * 512;
        p->size = (uint64_t)e.count * 512;
        p->mbr_type = e.type;
        p->bootable = e.boot == 0x80;
        p->extended = is_extended(e.type);
    }
    unsigned next = 5;
    size_t nprimary = t->count;
    for (size_t i = 0; i < nprimary; i++) {
        if (t->parts[i].extended) {
            struct gfs_partition ext = t->parts[i]; /* add_part may move the array */
            int rc = mbr_logicals(c, &ext, &next);
            if (rc < 0)
                return rc;
        }
    }
    return report_overlaps(c, "MBR");
}

/* ---- GPT ----------------------------------------------------------------- */

struct gpt_header {
    uint64_t my_lba, alternate_lba, first_usable, last_usable, entries_lba;
    uint32_t num_entries, entry_size;
    uint8_t disk_guid[16];
    uint8_t *entries; /* num_entries * entry_size bytes, owned */
};

/* Read and check the header at @lba and its entry array. On failure @why
 * says which field was wrong. */
static int gpt_header_read(struct ctx *c, uint64_t lba, unsigned ss, struct gpt_header *h,
                           char *why, size_t whylen)
{
    memset(h, 0, sizeof(*h));
    uint64_t nsect = c->size / ss;
    if (lba >= nsect) {
        snprintf(why, whylen, "LBA %llu is past the end of the disk (%llu sectors)",
                 (unsigned long long)lba, (unsigned long long)nsect);
        return -EIO;
    }
    uint8_t s[4096];
    if (gf_dev_pread(c->dev, s, ss, lba * ss) < 0) {
        snprintf(why, whylen, "read failed");
        return -EIO;
    }
    if (memcmp(s, "EFI PART", 8) != 0) {
        snprintf(why, whylen, "no \"EFI PART\" signature");
        return -EINVAL;
    }
    uint32_t rev = le32(s + 8), hsize = le32(s + 12), hcrc = le32(s + 16);
    if (rev >> 16 != 1) {
        snprintf(why, whylen, "revision 0x%08x (expected 1.x)", rev);
        return -EINVAL;
    }
    if (hsize < GPT_HEADER_MIN || hsize > ss) {
        snprintf(why, whylen, "header size %u (expected %d-%u)", hsize, GPT_HEADER_MIN, ss);
        return -EINVAL;
    }
    uint8_t copy[4096];
    memcpy(copy, s, hsize);
    memset(copy + 16, 0, 4);
    uint32_t crc = gfs_crc32(0, copy, hsize);
    if (crc != hcrc) {
        snprintf(why, whylen, "header CRC32 0x%08x, computed 0x%08x", hcrc, crc);
        return -EINVAL;
    }
    h->my_lba = le64(s + 24);
    h->alternate_lba = le64(s + 32);
    h->first_usable = le64(s + 40);
    h->last_usable = le64(s + 48);
    memcpy(h->disk_guid, s + 56, 16);
    h->entries_lba = le64(s + 72);
    h->num_entries = le32(s + 80);
    h->entry_size = le32(s + 84);
    uint32_t acrc = le32(s + 88);
    if (h->my_lba != lba) {
        snprintf(why, whylen, "my LBA field %llu, but the header is at LBA %llu",
                 (unsigned long long)h->my_lba, (unsigned long long)lba);
        return -EINVAL;
    }
    if (h->first_usable > h->last_usable || h->last_usable >= nsect) {
        snprintf(why, whylen,
                 "usable LBA range %llu-%llu is empty or past the end of the disk (%llu sectors)",
                 (unsigned long long)h->first_usable, (unsigned long long)h->last_usable,
                 (unsigned long long)nsect);
        return -EINVAL;
    }
    if (lba >= h->first_usable && lba <= h->last_usable) {
        snprintf(why, whylen, "the header lies inside the usable LBA range %llu-%llu",
                 (unsigned long long)h->first_usable, (unsigned long long)h->last_usable);
        return -EINVAL;
    }
    uint32_t es = h->entry_size;
    if (es < 128 || (es & (es - 1))) {
        snprintf(why, whylen, "partition entry size %u (expected 128 * 2^n)", es);
        return -EINVAL;
    }
    uint64_t abytes = (uint64_t)h->num_entries * es;
    if (abytes > GFS_GPT_MAX_ARRAY_BYTES) {
        snprintf(why, whylen, "%u partition entries of %u bytes: array larger than %u bytes",
                 h->num_entries, es, GFS_GPT_MAX_ARRAY_BYTES);
        return -EINVAL;
    }
    uint64_t asect = (abytes + ss - 1) / ss;
    if (h->entries_lba >= nsect || asect > nsect - h->entries_lba) {
        snprintf(why, whylen, "partition entry array at LBA %llu (%llu sectors) lies past the "
                 "end of the disk (%llu sectors)", (unsigned long long)h->entries_lba,
                 (unsigned long long)asect, (unsigned long long)nsect);
        return -EIO;
    }
    uint64_t a_end = h->entries_lba + asect; /* exclusive */
    if (asect && ((h->entries_lba <= h->last_usable && a_end > h->first_usable) ||
                  (lba >= h->entries_lba && lba < a_end))) {
        snprintf(why, whylen, "partition entry array at LBA %llu-%llu overlaps the usable "
                 "range %llu-%llu or the header",
                 (unsigned long long)h->entries_lba, (unsigned long long)a_end - 1,
                 (unsigned long long)h->first_usable, (unsigned long long)h->last_usable);
        return -EINVAL;
    }
    h->entries = malloc(abytes ? abytes : 1);
    if (!h->entries)
        return -ENOMEM;
    if (gf_dev_pread(c->dev, h->entries, abytes, h->entries_lba * ss) < 0) {
        snprintf(why, whylen, "reading the partition entry array failed");
        free(h->entries);
        h->entries = NULL;
        return -EIO;
    }
    crc = gfs_crc32(0, h->entries, abytes);
    if (crc != acrc) {
        snprintf(why, whylen, "partition entry array CRC32 0x%08x, computed 0x%08x", acrc, crc);
        free(h->entries);
        h->entries = NULL;
        return -EINVAL;
    }
    return 0;
}

static void utf16le_to_utf8(const uint8_t *in, size_t units, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < units; i++) {
        uint32_t u = le16(in + 2 * i);
        if (u == 0)
            break;
        if (u >= 0xD800 && u <= 0xDBFF && i + 1 < units) {
            uint32_t lo = le16(in + 2 * (i + 1));
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                i++;
            } else {
                u = 0xFFFD;
            }
        } else if (u >= 0xD800 && u <= 0xDFFF) {
            u = 0xFFFD; /* an unpaired surrogate */
        }
        uint8_t b[4];
        size_t n;
        if (u < 0x80) {
            b[0] = (uint8_t)u;
            n = 1;
        } else if (u < 0x800) {
            b[0] = (uint8_t)(0xC0 | u >> 6);
            b[1] = (uint8_t)(0x80 | (u & 0x3F));
            n = 2;
        } else if (u < 0x10000) {
            b[0] = (uint8_t)(0xE0 | u >> 12);
            b[1] = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
            b[2] = (uint8_t)(0x80 | (u & 0x3F));
            n = 3;
        } else {
            b[0] = (uint8_t)(0xF0 | u >> 18);
            b[1] = (uint8_t)(0x80 | ((u >> 12) & 0x3F));
            b[2] = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
            b[3] = (uint8_t)(0x80 | (u & 0x3F));
            n = 4;
        }
        if (o + n >= outlen)
            break;
        memcpy(out + o, b, n);
        o += n;
    }
    out[o] = 0;
}

static int gpt_entries(struct ctx *c, const struct gpt_header *h, unsigned ss)
{
    static const uint8_t zero[16];
    for (uint32_t i = 0; i < h->num_entries; i++) {
        const uint8_t *e = h->entries + (size_t)i * h->entry_size;
        if (memcmp(e, zero, 16) == 0)
            continue;
        uint64_t first = le64(e + 32), last = le64(e + 40);
        if (first > last)
            return fail(c, -EINVAL, "GPT entry %u: first LBA %llu is after last LBA %llu", i + 1,
                        (unsigned long long)first, (unsigned long long)last);
        if (first < h->first_usable || last > h->last_usable)
            return fail(c, -EINVAL,
                        "GPT entry %u: LBA %llu-%llu lies outside the usable range %llu-%llu",
                        i + 1, (unsigned long long)first, (unsigned long long)last,
                        (unsigned long long)h->first_usable, (unsigned long long)h->last_usable);
        struct gfs_partition *p = add_part(c);
        if (!p)
            return -ENOMEM;
        p->number = i + 1;
        p->first_lba = first;
        p->last_lba = last;
        p->start = first * ss;
        p->size = (last - first + 1) * ss;
        memcpy(p->type_guid, e, 16);
        memcpy(p->unique_guid, e + 16, 16);
        p->attributes = le64(e + 48);
        utf16le_to_utf8(e + 56, 36, p->name, sizeof(p->name));
    }
    return report_overlaps(c, "GPT");
}

static int read_gpt(struct ctx *c, bool pmbr)
{
    struct gfs_part_table *t = c->t;
    static const unsigned sizes[] = {512, 4096};
    char why[2][256] = {"", ""};
    struct gpt_header h;
    unsigned ss = 0;
    int rc = -EINVAL;
    /* The primary header at LBA 1, for 512- then 4096-byte sectors. */
    for (int k = 0; k < 2 && !ss; k++) {
        if (c->size < 2ull * sizes[k])
            continue;
        uint8_t sig[8];
        if (gf_dev_pread(c->dev, sig, 8, sizes[k]) == 0 && memcmp(sig, "EFI PART", 8) == 0) {
            ss = sizes[k];
            rc = gpt_header_read(c, 1, ss, &h, why[0], sizeof(why[0]));
            if (rc == -ENOMEM)
                return rc;
        }
    }
    if (!ss)
        snprintf(why[0], sizeof(why[0]), "no \"EFI PART\" signature at LBA 1");
    if (rc < 0) {
        /* The backup header at the last LBA. */
        for (int k = 0; k < 2 && rc < 0; k++) {
            if (ss && ss != sizes[k])
                continue;
            if (c->size < 2ull * sizes[k])
                continue;
            rc = gpt_header_read(c, c->size / sizes[k] - 1, sizes[k], &h, why[1], sizeof(why[1]));
            if (rc == -ENOMEM)
                return rc;
            if (rc == 0)
                ss = sizes[k];
        }
        if (rc < 0)
            return fail(c, rc == -EIO ? -EIO : -EINVAL,
                        "GPT: no valid header: primary header at LBA 1: %s; backup header at "
                        "the last LBA: %s", why[0], why[1][0] ? why[1] : "not found");
        t->gpt_backup_used = true;
        rc = warn(c, "GPT: primary header at LBA 1 is bad (%s); using the backup header at "
                     "LBA %llu", why[0], (unsigned long long)h.my_lba);
    } else {
        /* The primary is good: say whether the backup is there as well. */
        struct gpt_header b;
        char bwhy[256];
        int brc = gpt_header_read(c, h.alternate_lba, ss, &b, bwhy, sizeof(bwhy));
        free(b.entries);
        if (brc == -ENOMEM)
            rc = brc;
        else if (brc < 0)
            rc = warn(c, "GPT: backup header at LBA %llu is bad: %s",
                      (unsigned long long)h.alternate_lba, bwhy);
    }
    if (rc == 0 && !pmbr)
        rc = warn(c, "GPT: no protective MBR (no partition of type 0xee)");
    t->type = GFS_TABLE_GPT;
    t->sector_size = ss;
    memcpy(t->disk_guid, h.disk_guid, 16);
    t->gpt_first_usable = h.first_usable;
    t->gpt_last_usable = h.last_usable;
    if (rc == 0)
        rc = gpt_entries(c, &h, ss);
    free(h.entries);
    return rc;
}

/* ---- public -------------------------------------------------------------- */

static int cmp_number(const void *a, const void *b)
{
    const struct gfs_partition *x = a, *y = b;
    return x->number < y->number ? -1 : x->number > y->number;
}

int gfs_part_read(struct gf_dev *dev, struct gfs_part_table **out, char *err, size_t errlen)
{
    if (!dev || !out)
        return -EINVAL;
    if (err && errlen)
        err[0] = 0;
    struct gfs_part_table *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    struct ctx c = {.dev = dev, .name = gf_dev_name(dev), .size = gf_dev_size(dev),
                    .err = err, .errlen = errlen, .t = t};
    t->type = GFS_TABLE_NONE;
    t->sector_size = 512;
    int rc = 0;
    uint8_t s[512];
    bool mbr_sig = false, pmbr = false;
    if (c.size >= 512) {
        rc = read_at(&c, s, sizeof(s), 0, "MBR");
        mbr_sig = rc == 0 && s[MBR_SIG_OFF] == 0x55 && s[MBR_SIG_OFF + 1] == 0xAA;
        if (mbr_sig && !is_fat_boot_sector(s)) {
            for (int i = 0; i < 4; i++)
                pmbr |= s[MBR_ENTRIES_OFF + 16 * i + 4] == 0xEE;
        } else {
            mbr_sig = false;
        }
    }
    if (rc == 0) {
        if (pmbr) {
            rc = read_gpt(&c, true);
        } else if (mbr_sig) {
            rc = read_mbr(&c, s);
        } else if (c.size >= 1024) {
            /* No MBR: a GPT header without its protective MBR is still
             * read (with a warning); anything else is no table. */
            uint8_t sig[8];
            if (gf_dev_pread(dev, sig, 8, 512) == 0 && memcmp(sig, "EFI PART", 8) == 0)
                rc = read_gpt(&c, false);
        }
    }
    if (rc < 0) {
        if (rc == -ENOMEM && err && errlen && !err[0])
            snprintf(err, errlen, "%s: out of memory", c.name);
        gfs_part_free(t);
        return rc;
    }
    if (t->count)
        qsort(t->parts, t->count, sizeof(*t->parts), cmp_number);
    *out = t;
    return 0;
}

void gfs_part_free(struct gfs_part_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nwarnings; i++)
        free(t->warnings[i]);
    free(t->warnings);
    free(t->parts);
    free(t);
}

int gfs_part_open(struct gf_dev *dev, const struct gfs_part_table *t, size_t index,
                  struct gf_dev **out)
{
    if (!dev || !t || !out || index >= t->count)
        return -EINVAL;
    const struct gfs_partition *p = &t->parts[index];
    char name[512];
    snprintf(name, sizeof(name), "%s:p%u", gf_dev_name(dev), p->number);
    return gf_dev_slice(dev, p->start, p->size, name, out);
}
