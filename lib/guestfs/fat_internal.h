/* SPDX-License-Identifier: Apache-2.0 */
/* fat_internal.h — shared between the FAT reader's files (not installed). */
#ifndef GF_FAT_INTERNAL_H
#define GF_FAT_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fat.h"
#include "gf_dev.h"

#ifndef EUCLEAN
#define EUCLEAN 117
#endif

#define DIRENT_SIZE 32
#define ATTR_LONG_NAME 0x0F /* read-only | hidden | system | volume id */
#define ENTRY_DELETED 0xE5
#define ENTRY_KANJI_E5 0x05 /* a first byte 0xE5 is stored as 0x05 */
#define NT_LOWER_BASE 0x08
#define NT_LOWER_EXT 0x10
#define LFN_LAST 0x40
#define LFN_MAX_SLOTS 20 /* 20 x 13 = 260 units hold the 255 allowed */
#define LFN_MAX_UNITS 255
/* The specification's limit on a directory: 65,536 entries of 32 bytes. */
#define DIR_MAX_BYTES (65536u * DIRENT_SIZE)

/* Classification of a FAT entry's value. */
#define CLUSTER_FREE 0
#define CLUSTER_RESERVED 1

static inline uint16_t le16(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t le32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* A name remembered for messages: ino -> parent and name (see fat__describe). */
struct fat_name {
    uint64_t ino, parent;
    char name[128];
};
#define FAT_NAME_CACHE 64

struct fat_fs {
    struct gf_dev *dev;
    const char *name;            /* gf_dev_name(dev) */
    enum fat_type type;
    uint32_t bytes_per_sector;
    uint32_t sectors_per_cluster;
    uint32_t cluster_size;       /* bytes */
    uint64_t fat_offset;         /* byte offset of the FAT in use */
    uint64_t fat_bytes;          /* one FAT's size */
    uint64_t root_offset;        /* FAT12/16: the fixed root directory */
    uint32_t root_bytes;         /* FAT12/16: its size */
    uint64_t data_offset;        /* byte offset of cluster 2 */
    uint64_t total_bytes;        /* total sectors x bytes per sector */
    uint32_t clusters;           /* data clusters: numbers 2 .. clusters + 1 */
    uint32_t root_cluster;       /* FAT32 */
    uint32_t serial;
    bool has_serial;
    char boot_label[12];         /* from the BPB ("" if none or "NO NAME") */
    /* One FAT sector-sized window (the last read), for chain walks. */
    uint8_t *fat_cache;
    uint64_t fat_cache_off;      /* UINT64_MAX when empty */
    uint32_t fat_cache_len;
    /* The last position in a file's chain, so sequential reads do not
     * walk from the start each time. */
    uint64_t cursor_ino;
    uint32_t cursor_start, cursor_index, cursor_cluster;
    struct fat_name names[FAT_NAME_CACHE];
    char err[512];
};

/* A directory entry decoded from disk: its short entry and its name. */
struct fat_entry {
    uint64_t ino;                /* byte offset of the short entry */
    uint8_t raw[DIRENT_SIZE];    /* the short entry */
    uint8_t attr;
    uint32_t start;              /* first cluster (high word only on FAT32) */
    uint32_t size;
    bool is_dir;
    bool is_dot;                 /* "." or ".." */
    char name[FAT_NAME_MAX_BYTES + 1];   /* the long name if valid, else the short */
    uint16_t name_len;
    char short_name[64];         /* 8.3 as shown, UTF-8 (cp437 can take 3 bytes each) */
    uint16_t short_len;
};

/* Record a message (prefixed with the device name) and return @rc. */
int fat__fail(struct fat_fs *fs, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Describe file @ino for messages: its path when known ("/dir/file"), else
 * "the entry at byte N". Returns @buf. */
const char *fat__describe(struct fat_fs *fs, uint64_t ino, char *buf, size_t len);
/* Remember that @ino is @name in @parent (for fat__describe). */
void fat__remember(struct fat_fs *fs, uint64_t ino, uint64_t parent, const char *name,
                   size_t len);

/* The value of FAT entry @cluster (2 .. clusters + 1). */
int fat__get_entry(struct fat_fs *fs, uint32_t cluster, uint32_t *value);

/*
 * The cluster after @cluster in a chain: *next (0 at the end of the chain).
 * A free, reserved, bad or out-of-range value is -EUCLEAN naming @what
 * (a description such as "/dir/file").
 */
int fat__next_cluster(struct fat_fs *fs, uint32_t cluster, uint32_t *next, const char *what);

/* Whether @cluster is a valid data cluster number. */
static inline bool fat__cluster_ok(const struct fat_fs *fs, uint32_t cluster)
{
    return cluster >= 2 && cluster - 2 < fs->clusters;
}

static inline uint64_t fat__cluster_offset(const struct fat_fs *fs, uint32_t cluster)
{
    return fs->data_offset + (uint64_t)(cluster - 2) * fs->cluster_size;
}

/* Read the short entry @ino and decode it (no name: short_name only). */
int fat__read_entry(struct fat_fs *fs, uint64_t ino, struct fat_entry *e);

/* Decode a raw short entry at @ino into @e (fields and short name). */
void fat__decode_short(const struct fat_fs *fs, const uint8_t *raw, uint64_t ino,
                       struct fat_entry *e);

/*
 * A walk along a cluster chain with Brent's cycle detection: a loop is found
 * within about twice its tail plus its length, and the walk is also capped
 * at the cluster count (no chain without a loop is longer).
 */
struct fat_chain_walk {
    uint32_t cluster;  /* current; 0 after the end */
    uint32_t saved;
    uint64_t power, lambda, steps;
};
void fat__walk_start(struct fat_chain_walk *w, uint32_t start);
/* Move to the next cluster (w->cluster 0 at the end); -EUCLEAN on a loop or
 * a bad link, naming @what. */
int fat__walk_step(struct fat_fs *fs, struct fat_chain_walk *w, const char *what);

/* The number of clusters in the chain from @start (bounded; -EUCLEAN on a
 * loop or a bad link). */
int fat__chain_length(struct fat_fs *fs, uint32_t start, const char *what, uint32_t *count);

/* Count the subdirectory entries (with "." and "..") of directory @e, or
 * the root when @e is NULL, as Linux sets a directory's link count. */
int fat__count_subdirs(struct fat_fs *fs, const struct fat_entry *e, uint32_t *count);

/* The volume label entry of the root directory ("" if none). */
int fat__root_label(struct fat_fs *fs, char *out, size_t cap);

#endif
