/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/guestfs/part.c: hand-built MBR and GPT tables in memory. Malformed
 * fields first (each error must name the structure and field), then valid
 * tables field by field, then random damage (never a crash or a hang).
 */
#include "kk_test.h"

#include <errno.h>

#include "part.h"

#define DISK_SECTORS 4096 /* 2 MiB */

static uint8_t disk[DISK_SECTORS * 512];

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

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void mbr_entry(uint8_t *sector, int slot, uint8_t boot, uint8_t type, uint32_t lba,
                      uint32_t count)
{
    uint8_t *e = sector + 446 + 16 * slot;
    memset(e, 0, 16);
    e[0] = boot;
    e[4] = type;
    put32(e + 8, lba);
    put32(e + 12, count);
    sector[510] = 0x55;
    sector[511] = 0xAA;
}

/* MBR: p1 bootable 83 at 64+256, p2 extended at 512+2048 with EBRs at 512
 * (logical 5 at +8, 100 sectors), 1024 (empty data entry: no number),
 * 1536 (logical 6, type 0x0c). */
static void build_mbr(void)
{
    memset(disk, 0, sizeof(disk));
    put32(disk + 440, 0xdeadbeef);
    mbr_entry(disk, 0, 0x80, 0x83, 64, 256);
    mbr_entry(disk, 1, 0, 0x05, 512, 2048);
    uint8_t *ebr = disk + 512 * 512;
    mbr_entry(ebr, 0, 0, 0x83, 8, 100);
    mbr_entry(ebr, 1, 0, 0x05, 512, 512);
    ebr = disk + 1024 * 512;
    mbr_entry(ebr, 1, 0, 0x05, 1024, 512);
    ebr = disk + 1536 * 512;
    mbr_entry(ebr, 0, 0x80, 0x0c, 16, 200);
}

static int read_table(size_t size, struct gfs_part_table **t, char *err, size_t errlen)
{
    struct gf_dev *d;
    assert_int_equal(gf_dev_from_memory(disk, size, "mem.img", &d), 0);
    int rc = gfs_part_read(d, t, err, errlen);
    gf_dev_close(d);
    return rc;
}

static void expect_error(size_t size, int rc_want, const char *substr)
{
    struct gfs_part_table *t = NULL;
    char err[512];
    int rc = read_table(size, &t, err, sizeof(err));
    if (rc != rc_want || !strstr(err, substr) || strncmp(err, "mem.img: ", 9) != 0)
        fail_msg("rc %d (want %d), error \"%s\" (want \"%s\")", rc, rc_want, err, substr);
    assert_null(t);
}

static void test_mbr_errors(void **state)
{
    (void)state;
    build_mbr();
    disk[446] = 0x12;
    expect_error(sizeof(disk), -EINVAL, "MBR partition 1: boot indicator 0x12");
    build_mbr();
    mbr_entry(disk, 2, 0, 0x83, 4000, 200);
    expect_error(sizeof(disk), -EINVAL, "MBR partition 3: start LBA 4000 + 200 sectors ends past "
                                        "the end of the disk (4096 sectors)");
    build_mbr();
    mbr_entry(disk, 3, 0, 0x83, 0, 10);
    expect_error(sizeof(disk), -EINVAL, "MBR partition 4: start LBA 0");
    /* A truncated image: the table is fine, the disk shorter. */
    build_mbr();
    expect_error(2000 * 512, -EINVAL, "MBR partition 2: start LBA 512 + 2048 sectors ends past");
    /* EBR chain: a loop back to the first EBR. */
    build_mbr();
    mbr_entry(disk + 1536 * 512, 1, 0, 0x05, 0, 512);
    expect_error(sizeof(disk), -EINVAL, "the EBR chain loops back to LBA 512");
    /* A link outside the extended partition. */
    build_mbr();
    mbr_entry(disk + 1536 * 512, 1, 0, 0x05, 3000, 10);
    expect_error(sizeof(disk), -EINVAL, "EBR at LBA 3512 lies outside the extended partition");
    /* An EBR without its signature. */
    build_mbr();
    disk[1024 * 512 + 510] = 0;
    expect_error(sizeof(disk), -EINVAL, "EBR at LBA 1024: signature 0x00aa, expected 0x55aa");
    /* A logical partition past the end of the extended one. */
    build_mbr();
    mbr_entry(disk + 512 * 512, 0, 0, 0x83, 8, 5000);
    expect_error(sizeof(disk), -EINVAL, "logical partition 5: start LBA 520 + 5000 sectors lies "
                                        "outside the extended partition");
    /* A logical entry with an extended type. */
    build_mbr();
    mbr_entry(disk + 512 * 512, 0, 0, 0x05, 8, 10);
    expect_error(sizeof(disk), -EINVAL, "EBR at LBA 512: entry 1: type 0x05 is an extended type");
    build_mbr();
    disk[512 * 512 + 446] = 0x01;
    expect_error(sizeof(disk), -EINVAL, "EBR at LBA 512: entry 1: boot indicator 0x01");
}

static void test_mbr_chain_bounded(void **state)
{
    (void)state;
    /* 200 EBRs each linking to the next: more than GFS_PART_MAX_LOGICAL. */
    memset(disk, 0, sizeof(disk));
    mbr_entry(disk, 0, 0, 0x0f, 8, 4000);
    for (int i = 0; i < 200; i++) {
        uint8_t *ebr = disk + (8 + 4 * i) * 512;
        mbr_entry(ebr, 0, 0, 0x83, 1, 2);
        mbr_entry(ebr, 1, 0, 0x05, 4 * (i + 1), 4);
    }
    expect_error(sizeof(disk), -EINVAL, "more than 128 EBRs in the chain");
}

static void test_mbr_fields(void **state)
{
    (void)state;
    build_mbr();
    mbr_entry(disk, 2, 0, 0x82, 2600, 100);
    struct gfs_part_table *t;
    char err[256];
    assert_int_equal(read_table(sizeof(disk), &t, err, sizeof(err)), 0);
    assert_int_equal(t->type, GFS_TABLE_MBR);
    assert_int_equal(t->sector_size, 512);
    assert_int_equal(t->mbr_signature, 0xdeadbeef);
    assert_int_equal(t->count, 5);
    assert_int_equal(t->nwarnings, 0);
    static const struct {
        unsigned number;
        uint64_t first, count;
        uint8_t type;
        bool boot, ext, logical;
    } want[] = {
        {1, 64, 256, 0x83, true, false, false},   {2, 512, 2048, 0x05, false, true, false},
        {3, 2600, 100, 0x82, false, false, false}, {5, 520, 100, 0x83, false, false, true},
        {6, 1552, 200, 0x0c, true, false, true},
    };
    for (size_t i = 0; i < 5; i++) {
        const struct gfs_partition *p = &t->parts[i];
        assert_int_equal(p->number, want[i].number);
        assert_int_equal(p->first_lba, want[i].first);
        assert_int_equal(p->last_lba, want[i].first + want[i].count - 1);
        assert_int_equal(p->start, want[i].first * 512);
        assert_int_equal(p->size, want[i].count * 512);
        assert_int_equal(p->mbr_type, want[i].type);
        assert_int_equal(p->bootable, want[i].boot);
        assert_int_equal(p->extended, want[i].ext);
        assert_int_equal(p->logical, want[i].logical);
    }
    /* Partition 6 opens as a slice named IMAGE:p6 over its sectors. */
    struct gf_dev *d, *s;
    assert_int_equal(gf_dev_from_memory(disk, sizeof(disk), "mem.img", &d), 0);
    disk[1552 * 512 + 7] = 0x5a;
    assert_int_equal(gfs_part_open(d, t, 4, &s), 0);
    assert_string_equal(gf_dev_name(s), "mem.img:p6");
    assert_int_equal(gf_dev_size(s), 200 * 512);
    uint8_t b[8];
    assert_int_equal(gf_dev_pread(s, b, 8, 0), 0);
    assert_int_equal(b[7], 0x5a);
    assert_int_equal(gf_dev_pread(s, b, 8, 200 * 512 - 4), -EIO);
    assert_int_equal(gfs_part_open(d, t, 5, &s), -EINVAL);
    gf_dev_close(s);
    gf_dev_close(d);
    gfs_part_free(t);

    /* Overlapping primaries are listed and reported. */
    build_mbr();
    mbr_entry(disk, 2, 0, 0x83, 300, 100);
    assert_int_equal(read_table(sizeof(disk), &t, err, sizeof(err)), 0);
    assert_int_equal(t->nwarnings, 1);
    assert_string_equal(t->warnings[0], "mem.img: MBR: partitions 1 and 3 overlap");
    gfs_part_free(t);
}

static void test_no_table(void **state)
{
    (void)state;
    struct gfs_part_table *t;
    char err[256];
    memset(disk, 0, sizeof(disk));
    size_t sizes[] = {0, 1, 100, 511, 512, 1024, sizeof(disk)};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(read_table(sizes[i], &t, err, sizeof(err)), 0);
        assert_int_equal(t->type, GFS_TABLE_NONE);
        assert_int_equal(t->count, 0);
        gfs_part_free(t);
    }
    /* A FAT boot sector ends in 55 AA but is a filesystem, not an MBR. */
    disk[0] = 0xEB;
    disk[1] = 0x3C;
    disk[2] = 0x90;
    put16(disk + 11, 512);
    disk[13] = 4;
    put16(disk + 14, 1);
    disk[16] = 2;
    disk[21] = 0xF8;
    memcpy(disk + 54, "FAT16   ", 8);
    disk[446] = 0x41; /* boot code where an MBR has its entries */
    disk[510] = 0x55;
    disk[511] = 0xAA;
    assert_int_equal(read_table(sizeof(disk), &t, err, sizeof(err)), 0);
    assert_int_equal(t->type, GFS_TABLE_NONE);
    gfs_part_free(t);
    assert_int_equal(gfs_part_read(NULL, &t, err, sizeof(err)), -EINVAL);
    gfs_part_free(NULL);
}

/* ---- GPT ----------------------------------------------------------------- */

struct gpt_spec {
    unsigned ss;
    uint64_t nsect;
    uint32_t nentries, esize;
};

static const uint8_t linux_data[16] = {0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47,
                                       0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4};

static void gpt_header(const struct gpt_spec *g, uint64_t my, uint64_t alt, uint64_t entries_lba)
{
    uint8_t *h = disk + my * g->ss;
    memset(h, 0, g->ss);
    memcpy(h, "EFI PART", 8);
    put32(h + 8, 0x00010000);
    put32(h + 12, 92);
    put64(h + 24, my);
    put64(h + 32, alt);
    uint64_t array_sectors = ((uint64_t)g->nentries * g->esize + g->ss - 1) / g->ss;
    put64(h + 40, 2 + array_sectors);
    put64(h + 48, g->nsect - 2 - array_sectors);
    for (int i = 0; i < 16; i++)
        h[56 + i] = (uint8_t)(0xA0 + i);
    put64(h + 72, entries_lba);
    put32(h + 80, g->nentries);
    put32(h + 84, g->esize);
    put32(h + 88, gfs_crc32(0, disk + entries_lba * g->ss, (size_t)g->nentries * g->esize));
    put32(h + 16, gfs_crc32(0, h, 92));
}

static void gpt_entry(const struct gpt_spec *g, unsigned i, uint64_t first, uint64_t last,
                      const char *ascii_name)
{
    uint8_t *e = disk + 2 * g->ss + (size_t)i * g->esize;
    memcpy(e, linux_data, 16);
    for (int k = 0; k < 16; k++)
        e[16 + k] = (uint8_t)(i * 16 + k);
    put64(e + 32, first);
    put64(e + 40, last);
    put64(e + 48, 0x8000000000000004ull | i);
    for (size_t k = 0; ascii_name[k] && k < 36; k++)
        put16(e + 56 + 2 * k, (uint8_t)ascii_name[k]);
}

/* Rebuild both headers (and the backup array) after changing entries. */
static void gpt_seal(const struct gpt_spec *g)
{
    uint64_t array_sectors = ((uint64_t)g->nentries * g->esize + g->ss - 1) / g->ss;
    uint64_t backup_array = g->nsect - 1 - array_sectors;
    memcpy(disk + backup_array * g->ss, disk + 2 * g->ss, array_sectors * g->ss);
    gpt_header(g, 1, g->nsect - 1, 2);
    gpt_header(g, g->nsect - 1, 1, backup_array);
}

static const struct gpt_spec g512 = {512, DISK_SECTORS, 128, 128};

static void build_gpt(const struct gpt_spec *g)
{
    memset(disk, 0, sizeof(disk));
    mbr_entry(disk, 0, 0, 0xEE, 1, (uint32_t)g->nsect - 1);
    gpt_entry(g, 0, 40, 99, "boot");
    gpt_entry(g, 2, 100, 199, "root");
    gpt_seal(g);
}

static void reseal_primary(const struct gpt_spec *g)
{
    uint8_t *h = disk + g->ss;
    put32(h + 16, 0);
    put32(h + 16, gfs_crc32(0, h, 92));
}

static void expect_backup_used(const char *why)
{
    struct gfs_part_table *t;
    char err[256];
    int rc = read_table(sizeof(disk), &t, err, sizeof(err));
    if (rc)
        fail_msg("rc %d: %s", rc, err);
    assert_true(t->gpt_backup_used);
    assert_int_equal(t->count, 2);
    assert_int_equal(t->parts[1].number, 3);
    assert_true(t->nwarnings >= 1);
    if (!strstr(t->warnings[0], why) || !strstr(t->warnings[0], "using the backup header at LBA 4095"))
        fail_msg("warning \"%s\" (want \"%s\")", t->warnings[0], why);
    gfs_part_free(t);
}

static void test_gpt_bad_primary_uses_backup(void **state)
{
    (void)state;
    build_gpt(&g512);
    disk[512 + 16] ^= 1;
    expect_backup_used("header CRC32 0x");
    build_gpt(&g512);
    memcpy(disk + 512, "EFI PARX", 8);
    expect_backup_used("no \"EFI PART\" signature");
    build_gpt(&g512);
    disk[2 * 512 + 60] ^= 0xff; /* an entry byte: array CRC */
    expect_backup_used("partition entry array CRC32");
    build_gpt(&g512);
    put32(disk + 512 + 8, 0x00020000);
    reseal_primary(&g512);
    expect_backup_used("revision 0x00020000");
    build_gpt(&g512);
    put32(disk + 512 + 12, 600);
    reseal_primary(&g512);
    expect_backup_used("header size 600");
    build_gpt(&g512);
    put64(disk + 512 + 24, 7);
    reseal_primary(&g512);
    expect_backup_used("my LBA field 7");
    build_gpt(&g512);
    put32(disk + 512 + 84, 192);
    reseal_primary(&g512);
    expect_backup_used("partition entry size 192");
    build_gpt(&g512);
    put32(disk + 512 + 80, 1u << 30);
    reseal_primary(&g512);
    expect_backup_used("array larger than");
    build_gpt(&g512);
    put64(disk + 512 + 72, 4090);
    reseal_primary(&g512);
    expect_backup_used("lies past the end of the disk");
    build_gpt(&g512);
    put64(disk + 512 + 48, 5000);
    reseal_primary(&g512);
    expect_backup_used("usable LBA range 34-5000");
    build_gpt(&g512);
    put64(disk + 512 + 72, 40);
    reseal_primary(&g512);
    expect_backup_used("overlaps the usable range");
}

static void test_gpt_errors(void **state)
{
    (void)state;
    /* Both headers bad: one error with both reasons. */
    build_gpt(&g512);
    disk[512 + 16] ^= 1;
    disk[4095 * 512 + 16] ^= 1;
    expect_error(sizeof(disk), -EINVAL, "GPT: no valid header: primary header at LBA 1: header "
                                        "CRC32");
    expect_error(sizeof(disk), -EINVAL, "; backup header at the last LBA: header CRC32");
    /* Entries outside the usable range, or reversed. */
    build_gpt(&g512);
    gpt_entry(&g512, 5, 30, 50, "x");
    gpt_seal(&g512);
    expect_error(sizeof(disk), -EINVAL, "GPT entry 6: LBA 30-50 lies outside the usable range "
                                        "34-4062");
    build_gpt(&g512);
    gpt_entry(&g512, 5, 4000, 4090, "x");
    gpt_seal(&g512);
    expect_error(sizeof(disk), -EINVAL, "GPT entry 6: LBA 4000-4090 lies outside");
    build_gpt(&g512);
    gpt_entry(&g512, 5, 300, 200, "x");
    gpt_seal(&g512);
    expect_error(sizeof(disk), -EINVAL, "GPT entry 6: first LBA 300 is after last LBA 200");
    /* Truncated so that neither header is there. */
    build_gpt(&g512);
    expect_error(1024, -EINVAL, "GPT: no valid header");
}

static void test_gpt_fields(void **state)
{
    (void)state;
    build_gpt(&g512);
    /* A name with non-ASCII: U+00E9, U+2603 and U+1F600 (a surrogate pair),
     * and an unpaired surrogate replaced by U+FFFD. */
    uint8_t *e = disk + 2 * 512 + 2 * 128;
    memset(e + 56, 0, 72);
    uint16_t name[] = {'r', 0xE9, 0x2603, 0xD83D, 0xDE00, 0xDC00, 'z'};
    for (size_t k = 0; k < sizeof(name) / sizeof(name[0]); k++)
        put16(e + 56 + 2 * k, name[k]);
    gpt_entry(&g512, 127, 3000, 3999, "last slot: a name of thirty-six chars");
    gpt_seal(&g512);
    struct gfs_part_table *t;
    char err[256];
    assert_int_equal(read_table(sizeof(disk), &t, err, sizeof(err)), 0);
    assert_int_equal(t->type, GFS_TABLE_GPT);
    assert_int_equal(t->sector_size, 512);
    assert_false(t->gpt_backup_used);
    assert_int_equal(t->nwarnings, 0);
    assert_int_equal(t->gpt_first_usable, 34);
    assert_int_equal(t->gpt_last_usable, 4062);
    char g[37];
    gfs_guid_format(t->disk_guid, g);
    assert_string_equal(g, "a3a2a1a0-a5a4-a7a6-a8a9-aaabacadaeaf");
    assert_int_equal(t->count, 3);
    assert_int_equal(t->parts[0].number, 1);
    assert_int_equal(t->parts[0].first_lba, 40);
    assert_int_equal(t->parts[0].last_lba, 99);
    assert_int_equal(t->parts[0].start, 40 * 512);
    assert_int_equal(t->parts[0].size, 60 * 512);
    assert_string_equal(t->parts[0].name, "boot");
    assert_int_equal(t->parts[0].attributes, 0x8000000000000004ull);
    gfs_guid_format(t->parts[0].type_guid, g);
    assert_string_equal(g, "0fc63daf-8483-4772-8e79-3d69d8477de4");
    assert_string_equal(gfs_gpt_type_name(t->parts[0].type_guid), "linux-data");
    gfs_guid_format(t->parts[1].unique_guid, g);
    assert_string_equal(g, "23222120-2524-2726-2829-2a2b2c2d2e2f");
    assert_int_equal(t->parts[1].number, 3);
    assert_string_equal(t->parts[1].name, "r\xC3\xA9\xE2\x98\x83\xF0\x9F\x98\x80\xEF\xBF\xBDz");
    assert_int_equal(t->parts[2].number, 128);
    assert_string_equal(t->parts[2].name, "last slot: a name of thirty-six char");
    assert_int_equal(t->parts[2].attributes, 0x8000000000000004ull | 127);
    gfs_part_free(t);

    /* Overlapping entries: listed, reported. */
    build_gpt(&g512);
    gpt_entry(&g512, 3, 150, 250, "over");
    gpt_seal(&g512);
    assert_int_equal(read_table(sizeof(disk), &t, err, sizeof(err)), 0);
    assert_int_equal(t->count, 3);
    assert_int_equal(t->nwarnings, 1);
    assert_string_equal(t->warnings[0], "mem.img: GPT: partitions 3 and 4 overlap");
    gfs_part_free(t);

    /* A truncated image: the primary is fine, the backup is missing. */
    build_gpt(&g512);
    assert_int_equal(read_table(3000 * 512, &t, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "usable LBA range 34-4062 is empty or past the end"));
    /* Only the backup header destroyed: a warning. */
    build_gpt(&g512);
    disk[4095 * 512 + 3] = 0;
    assert_int_equal(read_table(sizeof(disk), &t, err, sizeof(err)), 0);
    assert_int_equal(t->nwarnings, 1);
    assert_string_equal(t->warnings[0], "mem.img: GPT: backup header at LBA 4095 is bad: no "
                                        "\"EFI PART\" signature");
    gfs_part_free(t);

    /* No protective MBR: still read, with a warning. */
    build_gpt(&g512);
    memset(disk, 0, 512);
    assert_int_equal(read_table(sizeof(disk), &t, err, sizeof(err)), 0);
    assert_int_equal(t->type, GFS_TABLE_GPT);
    assert_non_null(strstr(t->warnings[0], "no protective MBR"));
    gfs_part_free(t);
}

static void test_gpt_4k(void **state)
{
    (void)state;
    static const struct gpt_spec g4k = {4096, DISK_SECTORS / 8, 128, 128};
    memset(disk, 0, sizeof(disk));
    mbr_entry(disk, 0, 0, 0xEE, 1, (uint32_t)g4k.nsect - 1);
    gpt_entry(&g4k, 0, 10, 19, "four-k");
    gpt_seal(&g4k);
    struct gfs_part_table *t;
    char err[256];
    assert_int_equal(read_table(sizeof(disk), &t, err, sizeof(err)), 0);
    assert_int_equal(t->type, GFS_TABLE_GPT);
    assert_int_equal(t->sector_size, 4096);
    assert_int_equal(t->count, 1);
    assert_int_equal(t->parts[0].start, 10 * 4096);
    assert_int_equal(t->parts[0].size, 10 * 4096);
    assert_string_equal(t->parts[0].name, "four-k");
    gfs_part_free(t);
}

static void test_crc32(void **state)
{
    (void)state;
    assert_int_equal(gfs_crc32(0, "123456789", 9), 0xCBF43926);
    assert_int_equal(gfs_crc32(gfs_crc32(0, "1234", 4), "56789", 5), 0xCBF43926);
    assert_int_equal(gfs_crc32(0, "", 0), 0);
}

/* Random damage to valid tables: every result is 0 or a negative errno
 * with a message, never a crash (ASan build) or a hang. */
static void test_random_damage(void **state)
{
    (void)state;
    uint64_t rnd = 0x9e3779b97f4a7c15ull;
    unsigned errors = 0, ok = 0;
    for (int round = 0; round < 3000; round++) {
        if (round % 2)
            build_gpt(&g512);
        else
            build_mbr();
        int flips = 1 + (int)(kk_test_rand(&rnd) % 8);
        for (int f = 0; f < flips; f++) {
            /* Mostly in the tables, sometimes anywhere. */
            static const size_t hot[] = {440, 512, 1024, 512 * 512 + 446, 4095 * 512};
            size_t base = hot[kk_test_rand(&rnd) % 5];
            size_t off = (kk_test_rand(&rnd) % 4) == 0 ? kk_test_rand(&rnd) % sizeof(disk)
                                                       : base + kk_test_rand(&rnd) % 128;
            disk[off] ^= (uint8_t)(1u << (kk_test_rand(&rnd) % 8));
        }
        if (round % 3 == 0)
            gpt_seal(&g512); /* valid CRCs over damaged fields */
        size_t size = (kk_test_rand(&rnd) % 5) == 0 ? kk_test_rand(&rnd) % sizeof(disk)
                                                     : sizeof(disk);
        struct gfs_part_table *t = NULL;
        char err[512] = "";
        int rc = read_table(size, &t, err, sizeof(err));
        if (rc < 0) {
            assert_null(t);
            assert_true(strncmp(err, "mem.img: ", 9) == 0);
            errors++;
        } else {
            for (size_t i = 0; i < t->count; i++)
                assert_true(t->parts[i].start + t->parts[i].size <= size);
            gfs_part_free(t);
            ok++;
        }
    }
    assert_true(errors > 100 && ok > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mbr_errors),
        cmocka_unit_test(test_mbr_chain_bounded),
        cmocka_unit_test(test_gpt_errors),
        cmocka_unit_test(test_gpt_bad_primary_uses_backup),
        cmocka_unit_test(test_no_table),
        cmocka_unit_test(test_mbr_fields),
        cmocka_unit_test(test_gpt_fields),
        cmocka_unit_test(test_gpt_4k),
        cmocka_unit_test(test_crc32),
        cmocka_unit_test(test_random_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
