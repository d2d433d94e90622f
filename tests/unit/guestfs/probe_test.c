/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/guestfs/probe.c: hand-built superblocks and labels in memory, each
 * field as blkid reads it; devices too small or damaged are "unrecognised".
 */
#include "kk_test.h"

#include <errno.h>

#include "probe.h"

static uint8_t dev[1 << 20];

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

static struct gfs_probe_result probe_n(size_t size)
{
    struct gf_dev *d;
    struct gfs_probe_result r;
    char err[256];
    assert_int_equal(gf_dev_from_memory(dev, size, "mem", &d), 0);
    assert_int_equal(gfs_probe(d, &r, err, sizeof(err)), 0);
    gf_dev_close(d);
    return r;
}

static struct gfs_probe_result probe(void)
{
    return probe_n(sizeof(dev));
}

static void test_unrecognised(void **state)
{
    (void)state;
    memset(dev, 0, sizeof(dev));
    size_t sizes[] = {0, 1, 511, 2047, sizeof(dev)};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct gfs_probe_result r = probe_n(sizes[i]);
        assert_string_equal(r.type, "");
        assert_string_equal(r.uuid, "");
    }
    struct gfs_probe_result r;
    assert_int_equal(gfs_probe(NULL, &r, NULL, 0), -EINVAL);
}

static void ext_sb(uint32_t compat, uint32_t incompat, uint32_t ro)
{
    memset(dev, 0, sizeof(dev));
    uint8_t *sb = dev + 1024;
    put16(sb + 56, 0xEF53);
    put32(sb + 76, 1);
    put32(sb + 92, compat);
    put32(sb + 96, incompat);
    put32(sb + 100, ro);
    for (int i = 0; i < 16; i++)
        sb[104 + i] = (uint8_t)(0x10 * i + i);
    memcpy(sb + 120, "sixteen-byte-lab", 16); /* no NUL: all 16 bytes */
}

static void test_ext(void **state)
{
    (void)state;
    static const struct {
        uint32_t compat, incompat, ro;
        const char *type;
    } cases[] = {
        {0x38, 0x2, 0x3, "ext2"},            /* Debian mkfs.ext2 */
        {0x3c, 0x2, 0x3, "ext3"},            /* has_journal */
        {0x3c, 0x6, 0x3, "ext3"},            /* needs_recovery is still ext3 */
        {0x3c, 0x2c2, 0x46b, "ext4"},        /* extent, 64bit, flex_bg, metadata_csum */
        {0x38, 0x42, 0x3, "ext4"},           /* extents without a journal */
        {0x3c, 0x2, 0x403, "ext4"},          /* metadata_csum alone */
        {0x38, 0x2, 0x8, "ext4"},            /* huge_file */
        {0x0, 0xa, 0x0, "jbd"},              /* an external journal */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ext_sb(cases[i].compat, cases[i].incompat, cases[i].ro);
        struct gfs_probe_result r = probe();
        assert_string_equal(r.type, cases[i].type);
        assert_string_equal(r.version, "1.0");
        assert_string_equal(r.uuid, "00112233-4455-6677-8899-aabbccddeeff");
        assert_string_equal(r.label, "sixteen-byte-lab");
    }
    ext_sb(0x3c, 0x2, 0x3);
    memcpy(dev + 1024 + 120, "root\0garbage", 12);
    assert_string_equal(probe().label, "root");
    dev[1024 + 56] = 0x54; /* magic */
    assert_string_equal(probe().type, "");
    ext_sb(0x3c, 0x2, 0x3);
    put32(dev + 1024 + 24, 40); /* log block size: not ext */
    assert_string_equal(probe().type, "");
    ext_sb(0x3c, 0x2, 0x3);
    assert_string_equal(probe_n(2047).type, ""); /* superblock cut off */
}

/* A FAT boot sector: @fat_len16 0 makes FAT32. */
static void fat_bs(uint16_t total16, uint32_t total32, uint8_t spc, uint16_t root_entries,
                   uint16_t fat_len16, uint32_t fat_len32)
{
    memset(dev, 0, sizeof(dev));
    dev[0] = 0xEB;
    dev[1] = 0x3C;
    dev[2] = 0x90;
    memcpy(dev + 3, "mkfs.fat", 8);
    put16(dev + 11, 512);
    dev[13] = spc;
    put16(dev + 14, fat_len16 ? 1 : 32);
    dev[16] = 2;
    put16(dev + 17, root_entries);
    put16(dev + 19, total16);
    dev[21] = 0xF8;
    put16(dev + 22, fat_len16);
    put32(dev + 32, total32);
    uint8_t *ext = dev + 36;
    if (!fat_len16) {
        put32(dev + 36, fat_len32);
        put32(dev + 44, 2); /* root cluster */
        ext = dev + 64;
    }
    ext[2] = 0x29;
    put32(ext + 3, 0x1234ABCD);
    memcpy(ext + 7, "BOOTLABEL  ", 11);
    memcpy(ext + 18, fat_len16 ? "FAT16   " : "FAT32   ", 8);
    dev[510] = 0x55;
    dev[511] = 0xAA;
}

static void test_vfat(void **state)
{
    (void)state;
    /* FAT12: 2048 sectors, 4 per cluster -> ~500 clusters. */
    fat_bs(2048, 0, 4, 512, 2, 0);
    struct gfs_probe_result r = probe();
    assert_string_equal(r.type, "vfat");
    assert_string_equal(r.version, "FAT12");
    assert_string_equal(r.uuid, "1234-ABCD");
    assert_string_equal(r.label, "BOOTLABEL");
    assert_true(r.readable);
    /* The root directory's volume label wins (root dir at sector 1+2*2). */
    uint8_t *root = dev + 5 * 512;
    memcpy(root, "DELETED    ", 11);
    root[0] = 0xE5;
    root[11] = 0x08;
    memcpy(root + 32, "LFNENTRY   ", 11);
    root[32 + 11] = 0x0F;
    memcpy(root + 64, "\x05VOL LAB   ", 11); /* 0x05 stands for 0xE5 */
    root[64 + 11] = 0x08;
    assert_string_equal(probe().label, "?VOL LAB");
    memcpy(root + 64, "MYDISK     ", 11);
    assert_string_equal(probe().label, "MYDISK");
    /* "NO NAME" is no label. */
    memset(root, 0, 96);
    memcpy(dev + 43, "NO NAME    ", 11);
    assert_string_equal(probe().label, "");
    /* FAT16 by cluster count. */
    fat_bs(0, 65536, 4, 512, 64, 0);
    assert_string_equal(probe().version, "FAT16");
    /* FAT32: the root directory is a cluster chain: 2 -> 3 -> end. */
    fat_bs(0, 2048, 1, 0, 0, 8);
    uint8_t *fat = dev + 32 * 512;
    put32(fat + 2 * 4, 3);
    put32(fat + 3 * 4, 0x0FFFFFFF);
    uint8_t *data = dev + (32 + 16) * 512;
    memset(data, 'x', 512); /* cluster 2: 16 used entries */
    for (int i = 0; i < 16; i++)
        data[i * 32 + 11] = 0x20;
    memcpy(data + 512, "EFI        ", 11); /* cluster 3 */
    data[512 + 11] = 0x08;
    r = probe();
    assert_string_equal(r.version, "FAT32");
    assert_string_equal(r.label, "EFI");
    /* A FAT chain that loops stops (bounded), and the boot label is used. */
    put32(fat + 3 * 4, 2);
    memset(data + 512, 0x20, 32);
    data[512 + 11] = 0x20;
    assert_string_equal(probe().label, "BOOTLABEL");
    /* Broken BPB fields are not vfat. */
    fat_bs(2048, 0, 3, 512, 2, 0);
    assert_string_equal(probe().type, "");
    fat_bs(2048, 0, 4, 512, 2, 0);
    put16(dev + 11, 100);
    assert_string_equal(probe().type, "");
    fat_bs(2048, 0, 4, 512, 2, 0);
    dev[16] = 0;
    assert_string_equal(probe().type, "");
    fat_bs(10, 0, 4, 512, 2, 0); /* no data area */
    assert_string_equal(probe().type, "");
}

static void test_swap(void **state)
{
    (void)state;
    memset(dev, 0, sizeof(dev));
    memcpy(dev + 4096 - 10, "SWAPSPACE2", 10);
    put32(dev + 1024, 1);
    for (int i = 0; i < 16; i++)
        dev[1036 + i] = (uint8_t)i;
    memcpy(dev + 1052, "swaplabel", 9);
    struct gfs_probe_result r = probe();
    assert_string_equal(r.type, "swap");
    assert_string_equal(r.usage, "other");
    assert_string_equal(r.version, "1");
    assert_string_equal(r.uuid, "00010203-0405-0607-0809-0a0b0c0d0e0f");
    assert_string_equal(r.label, "swaplabel");
    assert_false(r.readable);
    assert_string_equal(probe_n(4095).type, "");
    put32(dev + 1024, 7); /* bad version */
    assert_string_equal(probe().type, "");
    /* 64 KiB pages. */
    memset(dev, 0, sizeof(dev));
    memcpy(dev + 65536 - 10, "SWAPSPACE2", 10);
    put32(dev + 1024, 1);
    assert_string_equal(probe().type, "swap");
    assert_string_equal(probe().uuid, "");
}

static uint32_t lvm_crc(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xf597a6cf;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ ((crc & 1) ? 0xEDB88320u : 0);
    }
    return crc;
}

static void test_lvm2(void **state)
{
    (void)state;
    for (uint32_t sector = 0; sector < 4; sector++) {
        memset(dev, 0, sizeof(dev));
        uint8_t *l = dev + sector * 512;
        memcpy(l, "LABELONE", 8);
        put32(l + 8, sector);
        put32(l + 20, 32);
        memcpy(l + 24, "LVM2 001", 8);
        memcpy(l + 32, "0123456789abcdefghijABCDEFGHIJxy", 32);
        put32(l + 16, lvm_crc(l + 20, 492));
        struct gfs_probe_result r = probe();
        assert_string_equal(r.type, "LVM2_member");
        assert_string_equal(r.usage, "raid");
        assert_string_equal(r.version, "LVM2 001");
        assert_string_equal(r.uuid, "012345-6789-abcd-efgh-ijAB-CDEF-GHIJxy");
        l[40] ^= 1; /* CRC mismatch */
        assert_string_equal(probe().type, "");
        l[40] ^= 1;
        put32(l + 8, sector + 1); /* wrong sector number */
        put32(l + 16, lvm_crc(l + 20, 492));
        assert_string_equal(probe().type, "");
        put32(l + 8, sector);
        put32(l + 20, 500); /* PV header past the sector */
        put32(l + 16, lvm_crc(l + 20, 492));
        assert_string_equal(probe().type, "");
    }
}

static void test_luks_xfs_btrfs(void **state)
{
    (void)state;
    memset(dev, 0, sizeof(dev));
    memcpy(dev, "LUKS\xba\xbe\x00\x02", 8);
    memcpy(dev + 24, "cryptlabel", 10);
    memcpy(dev + 168, "6e4f1f4e-7b63-4d8e-9d2a-0b3b0f8b2a11", 36);
    struct gfs_probe_result r = probe();
    assert_string_equal(r.type, "crypto_LUKS");
    assert_string_equal(r.usage, "crypto");
    assert_string_equal(r.version, "2");
    assert_string_equal(r.uuid, "6e4f1f4e-7b63-4d8e-9d2a-0b3b0f8b2a11");
    assert_string_equal(r.label, "cryptlabel");
    assert_false(r.readable);
    dev[7] = 1;
    r = probe();
    assert_string_equal(r.version, "1");
    assert_string_equal(r.label, ""); /* LUKS1 has no label */
    dev[7] = 3;
    assert_string_equal(probe().type, "");

    memset(dev, 0, sizeof(dev));
    memcpy(dev, "XFSB\x00\x00\x10\x00", 8);
    for (int i = 0; i < 16; i++)
        dev[32 + i] = (uint8_t)(0xf0 + i);
    memcpy(dev + 108, "xfs-label-12", 12);
    r = probe();
    assert_string_equal(r.type, "xfs");
    assert_string_equal(r.uuid, "f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff");
    assert_string_equal(r.label, "xfs-label-12");
    dev[6] = 0x11; /* block size not a power of two */
    assert_string_equal(probe().type, "");

    memset(dev, 0, sizeof(dev));
    memcpy(dev + 65536 + 64, "_BHRfS_M", 8);
    dev[65536 + 32] = 0xab;
    memcpy(dev + 65536 + 299, "btr", 3);
    r = probe();
    assert_string_equal(r.type, "btrfs");
    assert_string_equal(r.uuid, "ab000000-0000-0000-0000-000000000000");
    assert_string_equal(r.label, "btr");
    assert_string_equal(probe_n(65536 + 100).type, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unrecognised),
        cmocka_unit_test(test_ext),
        cmocka_unit_test(test_vfat),
        cmocka_unit_test(test_swap),
        cmocka_unit_test(test_lvm2),
        cmocka_unit_test(test_luks_xfs_btrfs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
