/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe.c — blkid-like identification of a device's contents (probe.h).
 *
 * On-disk places used (our reading of each format's documentation):
 *  ext2/3/4  superblock at 1024: magic 0xEF53 at +56, rev at +76/+62,
 *            compat/incompat/ro_compat features at +92/+96/+100,
 *            UUID at +104, volume name (16) at +120.
 *  vfat      boot sector: BPB at 11; FAT12/16 serial at 39, label at 43;
 *            FAT32 serial at 67, label at 71; a root-directory entry with
 *            the volume-id attribute holds the label too (blkid prefers it).
 *  xfs       "XFSB" at 0, block size (BE) at 4, UUID at 32, name (12) at 108.
 *  btrfs     superblock at 64 KiB: fsid at +32, "_BHRfS_M" at +64,
 *            label (256) at +299.
 *  swap      "SWAPSPACE2" in the last 10 bytes of the first page; version at
 *            1024, UUID at 1036, label (16) at 1052.
 *  LVM2      a label in one of sectors 0-3: "LABELONE", its sector number,
 *            a CRC of bytes 20-511, the PV header offset, "LVM2 001"; the PV
 *            UUID (32 characters) starts the PV header.
 *  LUKS      "LUKS\xba\xbe", version (BE) at 6, UUID (40) at 168, LUKS2
 *            label (48) at 24.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_internal.h"
#include "probe.h"

struct probe {
    struct gf_dev *dev;
    uint64_t size;
    int rc; /* first read error */
};

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

/* Read @len bytes at @off if the device has them: true on success; false
 * when too small (no match) or on a read error (remembered in p->rc). */
static bool get(struct probe *p, void *buf, size_t len, uint64_t off)
{
    if (off > p->size || len > p->size - off)
        return false;
    int rc = gf_dev_pread(p->dev, buf, len, off);
    if (rc < 0) {
        if (!p->rc)
            p->rc = rc;
        return false;
    }
    return true;
}

static void set(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

static void uuid_format(const uint8_t u[16], char *out, size_t cap)
{
    snprintf(out, cap, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
             u[13], u[14], u[15]);
}

/* A NUL-padded label of at most @n bytes. */
static void label_copy(char *dst, size_t cap, const uint8_t *src, size_t n)
{
    size_t len = 0;
    while (len < n && src[len])
        len++;
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = 0;
}

/* ---- ext2/3/4 ------------------------------------------------------------ */

#define EXT_COMPAT_HAS_JOURNAL 0x0004
#define EXT_INCOMPAT_RECOVER 0x0004
#define EXT_INCOMPAT_JOURNAL_DEV 0x0008
/* Feature sets that ext2 and ext3 drivers support; anything else is ext4. */
#define EXT2_INCOMPAT_SUPP 0x0012 /* filetype, meta_bg */
#define EXT3_INCOMPAT_SUPP 0x0016 /* filetype, recover, meta_bg */
#define EXT23_RO_COMPAT_SUPP 0x0007 /* sparse_super, large_file, btree_dir */

static bool probe_ext(struct probe *p, struct gfs_probe_result *r)
{
    uint8_t sb[1024];
    if (!get(p, sb, sizeof(sb), 1024) || le16(sb + 56) != 0xEF53)
        return false;
    uint32_t log_block = le32(sb + 24);
    if (log_block > 6) /* 1 KiB << 6 = 64 KiB is the largest block size */
        return false;
    uint32_t compat = le32(sb + 92), incompat = le32(sb + 96), ro = le32(sb + 100);
    const char *type;
    if (incompat & EXT_INCOMPAT_JOURNAL_DEV) {
        type = "jbd";
    } else if ((incompat & ~EXT3_INCOMPAT_SUPP) || (ro & ~EXT23_RO_COMPAT_SUPP)) {
        type = "ext4";
    } else if (compat & EXT_COMPAT_HAS_JOURNAL) {
        type = "ext3";
    } else {
        type = (incompat & ~EXT2_INCOMPAT_SUPP) ? "ext4" : "ext2";
    }
    set(r->type, sizeof(r->type), type);
    set(r->usage, sizeof(r->usage), strcmp(type, "jbd") ? "filesystem" : "other");
    snprintf(r->version, sizeof(r->version), "%u.%u", le32(sb + 76), le16(sb + 62));
    uuid_format(sb + 104, r->uuid, sizeof(r->uuid));
    label_copy(r->label, sizeof(r->label), sb + 120, 16);
    r->readable = strcmp(type, "jbd") != 0;
    return true;
}

/* ---- vfat ---------------------------------------------------------------- */

#define FAT12_MAX_CLUSTERS 0xFF4
#define FAT_MAX_ROOT_CLUSTERS 4096 /* bound on the FAT32 root directory walk */

static void fat_label(char *dst, size_t cap, const uint8_t *src)
{
    char tmp[12];
    for (int i = 0; i < 11; i++) {
        uint8_t ch = src[i];
        if (i == 0 && ch == 0x05) /* 0xE5 stored as 0x05 in directory entries */
            ch = 0xE5;
        tmp[i] = (ch < 0x20 || ch >= 0x80) ? '?' : (char)ch;
    }
    int n = 11;
    while (n > 0 && (tmp[n - 1] == ' ' || tmp[n - 1] == 0))
        n--;
    tmp[n] = 0;
    set(dst, cap, tmp);
}

/* The volume label entry of a directory buffer: 1 found, 0 not here, -1 end. */
static int fat_dir_label(const uint8_t *buf, size_t len, char *out, size_t cap)
{
    for (size_t off = 0; off + 32 <= len; off += 32) {
        const uint8_t *e = buf + off;
        if (e[0] == 0)
            return -1;
        if (e[0] == 0xE5 || (e[11] & 0x3F) == 0x0F)
            continue;
        if ((e[11] & (0x08 | 0x10)) == 0x08) {
            fat_label(out, cap, e);
            return 1;
        }
    }
    return 0;
}

static bool probe_vfat(struct probe *p, struct gfs_probe_result *r)
{
    uint8_t bs[512];
    if (!get(p, bs, sizeof(bs), 0))
        return false;
    if (bs[510] != 0x55 || bs[511] != 0xAA)
        return false;
    if (!((bs[0] == 0xEB && bs[2] == 0x90) || bs[0] == 0xE9))
        return false;
    uint32_t bps = le16(bs + 11), spc = bs[13], reserved = le16(bs + 14), fats = bs[16];
    uint32_t root_entries = le16(bs + 17), media = bs[21];
    if (bps < 512 || bps > 4096 || (bps & (bps - 1)) || !spc || (spc & (spc - 1)) ||
        !reserved || !fats || (media < 0xF8 && media != 0xF0))
        return false;
    uint32_t fat_len16 = le16(bs + 22), fat_len32 = le32(bs + 36);
    uint32_t fat_len = fat_len16 ? fat_len16 : fat_len32;
    uint64_t total = le16(bs + 19) ? le16(bs + 19) : le32(bs + 32);
    if (!fat_len || !total)
        return false;
    uint64_t root_sectors = ((uint64_t)root_entries * 32 + bps - 1) / bps;
    uint64_t fat_start = reserved, root_start = fat_start + (uint64_t)fats * fat_len;
    uint64_t data_start = root_start + root_sectors;
    if (data_start >= total)
        return false;
    uint64_t clusters = (total - data_start) / spc;
    bool fat32 = fat_len16 == 0;
    const char *version = fat32 ? "FAT32" : clusters > FAT12_MAX_CLUSTERS ? "FAT16" : "FAT12";
    const uint8_t *ext = bs + (fat32 ? 64 : 36); /* drive number, -, boot signature, ... */
    set(r->type, sizeof(r->type), "vfat");
    set(r->usage, sizeof(r->usage), "filesystem");
    set(r->version, sizeof(r->version), version);
    r->readable = true;
    if (ext[2] == 0x29 || ext[2] == 0x28) {
        const uint8_t *sn = ext + 3;
        snprintf(r->uuid, sizeof(r->uuid), "%02X%02X-%02X%02X", sn[3], sn[2], sn[1], sn[0]);
    }
    char boot_label[16] = "";
    if (ext[2] == 0x29)
        fat_label(boot_label, sizeof(boot_label), ext + 7);
    /* The root directory's volume label entry wins, as in blkid. */
    char dir_label[16] = "";
    int found = 0;
    if (!fat32) {
        size_t len = (size_t)root_sectors * bps;
        uint8_t *buf = len ? malloc(len) : NULL;
        if (buf && get(p, buf, len, root_start * bps))
            found = fat_dir_label(buf, len, dir_label, sizeof(dir_label));
        free(buf);
    } else {
        size_t csize = (size_t)spc * bps;
        uint8_t *buf = malloc(csize);
        uint32_t cl = le32(bs + 44) & 0x0FFFFFFF;
        for (int n = 0; buf && n < FAT_MAX_ROOT_CLUSTERS && found == 0; n++) {
            if (cl < 2 || cl >= clusters + 2)
                break;
            if (!get(p, buf, csize, (data_start + (uint64_t)(cl - 2) * spc) * bps))
                break;
            found = fat_dir_label(buf, csize, dir_label, sizeof(dir_label));
            uint8_t next[4];
            if (!get(p, next, 4, fat_start * bps + (uint64_t)cl * 4))
                break;
            cl = le32(next) & 0x0FFFFFFF;
        }
        free(buf);
    }
    if (found == 1 && strcmp(dir_label, "NO NAME") != 0)
        set(r->label, sizeof(r->label), dir_label);
    else if (boot_label[0] && strcmp(boot_label, "NO NAME") != 0)
        set(r->label, sizeof(r->label), boot_label);
    return true;
}

/* ---- identified only ----------------------------------------------------- */

static bool probe_xfs(struct probe *p, struct gfs_probe_result *r)
{
    uint8_t sb[120];
    if (!get(p, sb, sizeof(sb), 0) || memcmp(sb, "XFSB", 4) != 0)
        return false;
    uint32_t bs = be32(sb + 4);
    if (bs < 512 || bs > 65536 || (bs & (bs - 1)))
        return false;
    set(r->type, sizeof(r->type), "xfs");
    set(r->usage, sizeof(r->usage), "filesystem");
    uuid_format(sb + 32, r->uuid, sizeof(r->uuid));
    label_copy(r->label, sizeof(r->label), sb + 108, 12);
    return true;
}

static bool probe_btrfs(struct probe *p, struct gfs_probe_result *r)
{
    uint8_t sb[560];
    if (!get(p, sb, sizeof(sb), 65536) || memcmp(sb + 64, "_BHRfS_M", 8) != 0)
        return false;
    set(r->type, sizeof(r->type), "btrfs");
    set(r->usage, sizeof(r->usage), "filesystem");
    uuid_format(sb + 32, r->uuid, sizeof(r->uuid));
    label_copy(r->label, sizeof(r->label), sb + 299, 256);
    return true;
}

static bool probe_swap(struct probe *p, struct gfs_probe_result *r)
{
    static const uint32_t pages[] = {4096, 8192, 16384, 65536};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        uint8_t magic[10];
        if (!get(p, magic, 10, pages[i] - 10))
            return false;
        if (memcmp(magic, "SWAP-SPACE", 10) == 0) {
            set(r->type, sizeof(r->type), "swap");
            set(r->usage, sizeof(r->usage), "other");
            set(r->version, sizeof(r->version), "0");
            return true;
        }
        if (memcmp(magic, "SWAPSPACE2", 10) != 0)
            continue;
        uint8_t h[44];
        if (!get(p, h, sizeof(h), 1024))
            return false;
        uint32_t version = le32(h);
        if (version != 1 && be32(h) != 1)
            return false;
        set(r->type, sizeof(r->type), "swap");
        set(r->usage, sizeof(r->usage), "other");
        set(r->version, sizeof(r->version), "1");
        static const uint8_t zero[16];
        if (memcmp(h + 12, zero, 16) != 0)
            uuid_format(h + 12, r->uuid, sizeof(r->uuid));
        label_copy(r->label, sizeof(r->label), h + 28, 16);
        return true;
    }
    return false;
}

#define LVM2_LABEL_CRC_INIT 0xf597a6cfu

static bool probe_lvm2(struct probe *p, struct gfs_probe_result *r)
{
    uint8_t s[512];
    for (uint64_t sector = 0; sector < 4; sector++) {
        if (!get(p, s, sizeof(s), sector * 512))
            return false;
        if (memcmp(s, "LABELONE", 8) != 0 || memcmp(s + 24, "LVM2 001", 8) != 0)
            continue;
        uint64_t sector_xl = (uint64_t)le32(s + 8) | (uint64_t)le32(s + 12) << 32;
        uint32_t offset = le32(s + 20);
        if (sector_xl != sector || offset < 32 || offset > 512 - 32)
            continue;
        if (gfs__crc32_update(LVM2_LABEL_CRC_INIT, s + 20, 512 - 20) != le32(s + 16))
            continue;
        const uint8_t *u = s + offset;
        set(r->type, sizeof(r->type), "LVM2_member");
        set(r->usage, sizeof(r->usage), "raid");
        set(r->version, sizeof(r->version), "LVM2 001");
        snprintf(r->uuid, sizeof(r->uuid), "%.6s-%.4s-%.4s-%.4s-%.4s-%.4s-%.6s", u, u + 6,
                 u + 10, u + 14, u + 18, u + 22, u + 26);
        return true;
    }
    return false;
}

static bool probe_luks(struct probe *p, struct gfs_probe_result *r)
{
    uint8_t h[208];
    if (!get(p, h, sizeof(h), 0) || memcmp(h, "LUKS\xba\xbe", 6) != 0)
        return false;
    unsigned version = (unsigned)(h[6] << 8 | h[7]);
    if (version != 1 && version != 2)
        return false;
    set(r->type, sizeof(r->type), "crypto_LUKS");
    set(r->usage, sizeof(r->usage), "crypto");
    snprintf(r->version, sizeof(r->version), "%u", version);
    label_copy(r->uuid, sizeof(r->uuid), h + 168, 40);
    if (version == 2)
        label_copy(r->label, sizeof(r->label), h + 24, 48);
    return true;
}

int gfs_probe(struct gf_dev *dev, struct gfs_probe_result *r, char *err, size_t errlen)
{
    if (!dev || !r)
        return -EINVAL;
    static bool (*const probers[])(struct probe *, struct gfs_probe_result *) = {
        probe_luks, probe_lvm2, probe_xfs, probe_btrfs, probe_ext, probe_vfat, probe_swap,
    };
    struct probe p = {.dev = dev, .size = gf_dev_size(dev)};
    for (size_t i = 0; i < sizeof(probers) / sizeof(probers[0]); i++) {
        memset(r, 0, sizeof(*r));
        if (probers[i](&p, r))
            return 0;
        if (p.rc < 0)
            break;
    }
    memset(r, 0, sizeof(*r));
    if (p.rc < 0 && err && errlen)
        snprintf(err, errlen, "%s: probing the contents: read failed", gf_dev_name(dev));
    return p.rc;
}
