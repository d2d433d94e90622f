/* SPDX-License-Identifier: Apache-2.0 */
/*
 * part.h — partition tables of a disk (a gf_dev): MBR (primary, extended
 * and logical partitions), GPT (primary header, backup header when the
 * primary is bad) or none (a whole-disk filesystem).
 *
 * A disk image is untrusted input. Every field that a partition list
 * depends on is checked; a malformed one makes gfs_part_read() fail with a
 * message that names the image, the structure and the field, e.g.
 *   "disk.img: GPT header at LBA 1: header CRC32 0x1234abcd, computed 0x..."
 * Anomalies that still leave a usable list (the primary GPT header is bad
 * but the backup is good, the backup is missing, two partitions overlap)
 * are reported as warnings in the table. Reads go through gf_dev_pread(),
 * which never reads outside the device; the EBR chain is bounded (a loop
 * or more than GFS_PART_MAX_LOGICAL logical partitions is an error).
 *
 * Partition numbers are Linux's: MBR primaries 1-4 by slot, logical
 * partitions from 5 in chain order; GPT entry index + 1 (gaps possible).
 *
 * Threads: a table is plain data; it and its device belong to one thread.
 */
#ifndef GFS_PART_H
#define GFS_PART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gf_dev.h"

#define GFS_PART_MAX_LOGICAL 128
/* GPT entry arrays larger than this are refused (the spec's minimum is
 * 16 KiB; tools write 128 entries of 128 bytes). */
#define GFS_GPT_MAX_ARRAY_BYTES (1u << 20)

enum gfs_table_type {
    GFS_TABLE_NONE, /* no partition table: the disk may hold a filesystem */
    GFS_TABLE_MBR,
    GFS_TABLE_GPT,
};

struct gfs_partition {
    unsigned number;     /* Linux's: /dev/sdaN */
    uint64_t start;      /* bytes from the start of the disk */
    uint64_t size;       /* bytes */
    uint64_t first_lba;  /* in table sectors */
    uint64_t last_lba;   /* inclusive */
    /* MBR */
    uint8_t mbr_type;    /* partition type byte (0 for GPT) */
    bool bootable;       /* boot indicator 0x80 */
    bool extended;       /* the extended container (types 05, 0f, 85) */
    bool logical;        /* a logical partition inside the extended one */
    /* GPT */
    uint8_t type_guid[16];   /* on-disk byte order (mixed-endian) */
    uint8_t unique_guid[16];
    uint64_t attributes;
    char name[148];          /* UTF-8 (36 UTF-16 units, up to 4 bytes each) */
};

struct gfs_part_table {
    enum gfs_table_type type;
    unsigned sector_size;          /* 512, or 4096 for a GPT found at 4096 */
    uint32_t mbr_signature;        /* MBR disk signature (offset 440) */
    uint8_t disk_guid[16];         /* GPT */
    uint64_t gpt_first_usable, gpt_last_usable;
    bool gpt_backup_used;          /* the primary header was bad */
    size_t count;
    struct gfs_partition *parts;   /* sorted by number */
    size_t nwarnings;
    char **warnings;               /* "disk.img: GPT: ..." */
};

/*
 * Read the partition table of @dev. Returns 0 and *out (free with
 * gfs_part_free()), or -EINVAL (malformed table: @err says which image,
 * structure and field), -EIO (a read failed or a structure lies past the
 * end of the device), -ENOMEM. @err may be NULL.
 */
int gfs_part_read(struct gf_dev *dev, struct gfs_part_table **out, char *err, size_t errlen);

void gfs_part_free(struct gfs_part_table *t);

/*
 * Open partition @index (0 .. t->count-1) of @dev as a slice named
 * "NAME:pN" (N the Linux number). Returns 0 or -EINVAL / -ENOMEM.
 * The slice holds a reference to @dev (gf_dev_slice()).
 */
int gfs_part_open(struct gf_dev *dev, const struct gfs_part_table *t, size_t index,
                  struct gf_dev **out);

/* Format a GPT GUID (on-disk mixed-endian bytes) as lower-case
 * "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
void gfs_guid_format(const uint8_t guid[16], char out[37]);

/* A short name for well-known GPT partition types ("linux-data", "esp",
 * "linux-swap", "linux-lvm", "bios-boot", "ms-basic-data", ...), or NULL. */
const char *gfs_gpt_type_name(const uint8_t guid[16]);

/* CRC-32 (IEEE 802.3, as GPT uses it) of @len bytes continuing @crc
 * (start with 0). */
uint32_t gfs_crc32(uint32_t crc, const void *buf, size_t len);

#endif
