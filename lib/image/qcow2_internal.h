/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2_internal.h — the qcow2 driver's state, shared by qcow2.c (header,
 * open, create), qcow2_cache.c, qcow2_refcount.c (allocation, check,
 * rebuild), qcow2_map.c (guest I/O), qcow2_snapshot.c and
 * qcow2_compress.c. Field names follow docs/interop/qcow2.txt.
 *
 * Locking: `lock` protects all metadata (tables, caches, allocation).
 * `io_lock` is held shared by guest reads and writes for their whole
 * duration (data I/O runs outside `lock`) and exclusively by operations
 * that free clusters a reader may be reading (discard, zero writes,
 * snapshots, resize, check), so a cluster is never reused under a reader.
 * Order: io_lock, then lock.
 */
#ifndef IMG_QCOW2_INTERNAL_H
#define IMG_QCOW2_INTERNAL_H

#include <pthread.h>

#include "image_internal.h"

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */
#define QCOW2_V2_HEADER 72
#define QCOW2_V3_HEADER 104
#define QCOW2_OUR_HEADER 112 /* up to compression_type, padded to 8 */

#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN 0x1full
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)
#define QCOW2_AUTOCLEAR_BITMAPS (1ull << 0)
#define QCOW2_AUTOCLEAR_DATA_RAW (1ull << 1)

#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_DATA_FILE 0x44415441u

#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO (1ull << 0)
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull /* bits 9..55 */
#define QCOW2_L1_RESERVED 0x7f000000000001ffull
#define QCOW2_L2_RESERVED 0x3f000000000001feull
#define QCOW2_RT_RESERVED 0x1ffull

/* Our limits, beyond which an image is refused (-EFBIG). */
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_RT_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_SNAPSHOT_TABLE (64u << 20)
#define QCOW2_MAX_BACKING_NAME 1023
#define QCOW2_MAX_HOST_OFFSET (1ull << 56)

/* A table cache: cluster-sized tables keyed by host offset. */
struct qcow2_cache_entry {
    uint64_t offset; /* 0: empty slot */
    uint8_t *data;
    uint64_t lru;
    bool dirty;
};

struct qcow2_cache {
    struct qcow2_cache_entry *e;
    unsigned n;
    uint64_t tick;
    unsigned last; /* index of the last hit */
};

struct qcow2_snap {
    uint64_t l1_offset;
    uint32_t l1_size;
    char *id;
    char *name;
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t vm_state_size;
    uint64_t disk_size;
    uint64_t icount;
    uint8_t *extra; /* raw extra data (kept for rewriting) */
    uint32_t extra_size;
};

/* A decoded L2 entry; standard entries are one "subcluster" wide. */
enum qcow2_ctype { QCOW2_UNALLOC, QCOW2_NORMAL, QCOW2_COMPRESSED };
struct qcow2_l2e {
    enum qcow2_ctype type;
    uint64_t host;       /* cluster offset (NORMAL) or byte offset (COMPRESSED), 0 if none */
    uint64_t csize;      /* compressed: bytes to read from host */
    uint32_t alloc_mask; /* subclusters read from host */
    uint32_t zero_mask;  /* subclusters that read as zeros */
    bool copied;         /* refcount is exactly one (bit 63) */
};

/* Kinds of metadata cluster, for the overlap guard (qcow2_meta.c). */
enum {
    QCOW2_META_NONE = 0,
    QCOW2_META_HEADER,
    QCOW2_META_L1,
    QCOW2_META_L2,
    QCOW2_META_RT,
    QCOW2_META_RB,
    QCOW2_META_SNAPTAB,
    QCOW2_META_SNAP_L1,
    QCOW2_META_BITMAP,
};

struct qcow2_meta {
    uint64_t *keys; /* cluster index + 1; 0 empty, UINT64_MAX deleted */
    uint8_t *kinds;
    unsigned bits;
    size_t n, used;
};

struct qcow2_free {
    uint64_t offset;
    uint64_t len;
};

/*
 * One complete metadata state, as qcow2__count_refs() walks it: the live
 * one (qcow2__live_state()), or the one a snapshot operation is about to
 * switch to. L2 tables and existing snapshot L1 tables are read from disk.
 */
struct qcow2_state {
    uint64_t l1_offset; /* 0: the active L1 table's own clusters are not counted */
    uint32_t l1_size;
    const uint64_t *l1; /* host order */
    uint32_t nb_snapshots;
    const struct qcow2_snap *snaps;
    uint64_t *const *snap_l1;  /* NULL, or per snapshot its L1 table in memory (NULL: on disk) */
    uint64_t snapshots_offset; /* 0: the snapshot table is not counted */
};

/*
 * Where new metadata may go: taken[c] nonzero for each cluster that must not
 * be used; every cluster at or past n is free.
 */
struct qcow2_layout {
    uint8_t *taken;
    uint64_t n, cap;
    uint64_t hint; /* no free cluster below this one */
};

/* A refcount table (host order) with its place in the file. */
struct qcow2_rtab {
    uint64_t offset;
    uint32_t clusters;
    uint64_t entries;
    uint64_t *table;
};

struct qcow2 {
    struct img *img;
    pthread_mutex_t lock;
    pthread_rwlock_t io_lock;
    struct img_file *file; /* metadata (and data unless external) */
    struct img_file *data; /* guest data: file, or the external data file */
    struct img_file ext_data_file;
    bool ext_data;
    bool writable;

    /* Header. */
    uint32_t version;
    uint32_t header_length;
    uint32_t cluster_bits;
    uint64_t cluster_size;
    uint64_t incompat, compat, autoclear;
    uint32_t refcount_order;
    uint32_t refcount_bits;
    uint64_t refcount_max;
    uint32_t rb_bits; /* log2 of refcount entries per block */
    int compression;
    uint8_t *header_tail; /* header bytes we do not interpret, kept */
    uint32_t header_tail_len;

    /* Geometry. */
    bool extl2;
    uint32_t l2_entry_bytes; /* 8 or 16 */
    uint32_t l2_bits;        /* log2 of entries per L2 table */
    uint32_t sc_per_cluster; /* 32 with extended L2, else 1 */
    uint32_t sc_bits;        /* log2 of the subcluster size */

    /* Active L1 (host byte order). */
    uint64_t l1_offset;
    uint32_t l1_size;
    uint64_t *l1;

    /* Refcount table (host byte order). */
    uint64_t rt_offset;
    uint32_t rt_clusters;
    uint64_t rt_entries;
    uint64_t *rt;

    /* Snapshots. */
    uint64_t snapshots_offset;
    uint32_t nb_snapshots;
    struct qcow2_snap *snaps;

    /* Header extensions we keep but do not interpret (bitmaps, unknown). */
    uint8_t *other_ext;
    size_t other_ext_len;
    char *data_file_name;
    uint64_t bitmaps_dir_offset, bitmaps_dir_size;
    uint32_t nb_bitmaps;
    bool has_bitmaps;
    /* Feature name table, for error messages and rewriting. */
    uint8_t *feature_table;
    size_t feature_table_len;

    struct qcow2_cache l2_cache;
    struct qcow2_cache rb_cache;
    struct qcow2_meta meta;

    uint64_t free_hint;       /* first cluster index that may be free */
    uint64_t end;             /* bytes: end of everything allocated (>= file size) */
    uint64_t compress_cursor; /* next byte for compressed data, 0: none */
    bool modified;            /* the first write has marked the header */
    bool dirty_bit_set;       /* we set the dirty bit (lazy refcounts) */
    bool unsynced;            /* writes since the last fdatasync */
    struct qcow2_free *pending; /* decrements deferred until L2 is on disk */
    size_t npending, cap_pending;

    /* Last decompressed cluster (under lock). */
    uint8_t *cbuf;
    uint8_t *cin;
    uint64_t cbuf_key;
};

static inline struct qcow2 *qcow2_of(const struct img *img)
{
    return img->priv;
}

static inline uint64_t qcow2_l2_entries(const struct qcow2 *q)
{
    return 1ull << q->l2_bits;
}

/* qcow2.c */
int qcow2__write_header(struct qcow2 *q);
/*
 * Write header bytes 24..71 (virtual size, L1 table, refcount table,
 * snapshot count and table) from q's fields in one pwrite, within the first
 * sector: the switch of a snapshot operation from one complete metadata
 * state to the next. Not synced.
 */
int qcow2__write_header_switch(struct qcow2 *q);
int qcow2__mark_modified(struct qcow2 *q);
/* -EIO once the image is marked corrupt. */
int qcow2__writable_check(struct qcow2 *q);
int qcow2__grow_l1(struct qcow2 *q, uint64_t min_size);
int qcow2__corrupt(struct qcow2 *q, const char *fmt, ...) KK_PRINTF(2, 3);
int qcow2__check_table(struct qcow2 *q, const char *what, uint64_t offset, uint64_t bytes);

/* qcow2_meta.c */
int qcow2__meta_build(struct qcow2 *q);
void qcow2__meta_free(struct qcow2 *q);
int qcow2__meta_add(struct qcow2 *q, uint64_t offset, uint64_t len, int kind);
void qcow2__meta_remove(struct qcow2 *q, uint64_t cluster);
int qcow2__meta_kind(const struct qcow2 *q, uint64_t cluster);
const char *qcow2__meta_name(int kind);
/* -EIO (and the image marked corrupt) unless every cluster of the range is
 * of kind @allowed (QCOW2_META_NONE: guest data). */
int qcow2__meta_check_write(struct qcow2 *q, uint64_t offset, uint64_t len, int allowed);

/* qcow2_cache.c */
int qcow2__cache_init(struct qcow2_cache *c, unsigned n, size_t size);
void qcow2__cache_free(struct qcow2_cache *c);
/* Get a table (read from disk unless @fresh); the pointer is valid until the
 * next cache call. */
int qcow2__cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t offset, bool fresh,
                     uint8_t **data);
void qcow2__cache_mark_dirty(struct qcow2_cache *c, uint64_t offset);
void qcow2__cache_drop(struct qcow2_cache *c, uint64_t offset);
int qcow2__cache_write_dirty(struct qcow2 *q, struct qcow2_cache *c);
void qcow2__cache_clear(struct qcow2_cache *c);
/* Write everything back in order: refcounts, sync, L2 tables, sync, then
 * apply deferred refcount decrements. */
int qcow2__flush_metadata(struct qcow2 *q, bool sync);
int qcow2__sync(struct qcow2 *q);

/* qcow2_refcount.c */
int qcow2__load_refcount_table(struct qcow2 *q);
int qcow2__get_refcount(struct qcow2 *q, uint64_t cluster, uint64_t *val);
int qcow2__update_refcount(struct qcow2 *q, uint64_t offset, uint64_t len, int64_t delta);

/* Read @n big-endian 64-bit entries at @off (an L1 or refcount table) into a
 * new host-order array (*out, at least one entry; caller frees). */
int qcow2__read_table(struct qcow2 *q, uint64_t off, uint32_t n, uint64_t **out);
int qcow2__alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *offset);
int qcow2__alloc_bytes(struct qcow2 *q, uint64_t len, uint64_t *offset);
/* Queue a decrement until the L2 tables that dropped the reference are on disk. */
int qcow2__defer_free(struct qcow2 *q, uint64_t offset, uint64_t len);
int qcow2__apply_deferred(struct qcow2 *q);
int qcow2__check(struct img *img, unsigned fix, struct img_check_result *res);

/* The live state, from q's fields. */
void qcow2__live_state(const struct qcow2 *q, struct qcow2_state *st);
/* Bytes of a snapshot table holding @snaps. */
uint64_t qcow2__snapshot_table_size(const struct qcow2_snap *snaps, uint32_t n);
/*
 * Add to refs[0..n) one for each reference @st makes to a cluster: the
 * header, L1 tables, L2 tables (once per L1 entry naming them), data and
 * compressed clusters (once per L2 entry), the snapshot table, bitmaps — all
 * but the refcount structure. References at or past cluster @n and bad
 * entries are counted in res->corruptions, unreadable tables in
 * res->check_errors; res's allocation statistics are filled from the active
 * table. 0 or -ENOMEM.
 */
int qcow2__count_refs(struct qcow2 *q, const struct qcow2_state *st, uint64_t *refs, uint64_t n,
                      struct img_check_result *res);
/* Take the first run of @count free clusters, marking them @mark (nonzero);
 * the layout grows past n as needed. 0 or -ENOMEM. */
int qcow2__layout_take(struct qcow2_layout *l, uint64_t count, uint8_t mark, uint64_t *cluster);
/* Grow a refs array (zero-filled) to at least @want entries. */
int qcow2__refs_reserve(uint64_t **refs, uint64_t *n, uint64_t want);
/*
 * Place a refcount table and blocks in clusters @l has free (marking them
 * taken) and write them, holding refs[0..*n) plus one reference for each of
 * their own clusters (added to *refs, which grows as needed). Not synced; the
 * header is not touched. -ERANGE when a count exceeds refcount_bits, -EFBIG
 * when the table would be too large. On success *out owns its table.
 */
int qcow2__write_refcounts(struct qcow2 *q, struct qcow2_layout *l, uint64_t **refs, uint64_t *n,
                           struct qcow2_rtab *out);
void qcow2__rtab_free(struct qcow2_rtab *t);

/* qcow2_map.c */
int qcow2__decode_l2e(struct qcow2 *q, const uint8_t *table, uint64_t idx, struct qcow2_l2e *e);
void qcow2__encode_l2e(struct qcow2 *q, uint8_t *table, uint64_t idx, const struct qcow2_l2e *e);
int qcow2__load_l2(struct qcow2 *q, uint64_t offset, uint8_t **table);
int qcow2_preadv(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off);
int qcow2_pwritev(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off);
int qcow2_discard(struct img *img, uint64_t off, uint64_t len);
int qcow2_unmap(struct img *img, uint64_t off, uint64_t len);
int qcow2_write_zeroes(struct img *img, uint64_t off, uint64_t len, unsigned flags);
int qcow2_write_compressed(struct img *img, const void *buf, size_t len, uint64_t off);
int qcow2_block_status(struct img *img, uint64_t off, uint64_t len, struct img_status *st);
/* Allocate every cluster of the image (create's preallocation modes). */
int qcow2__preallocate(struct qcow2 *q, enum img_prealloc mode);

/* qcow2_compress.c: returns the compressed length, or -ENOSPC when the data
 * does not fit in @out_len, or -errno. */
ssize_t qcow2__compress(int type, const void *in, size_t in_len, void *out, size_t out_len);
/* Fills exactly @out_len bytes or fails with -EINVAL. */
int qcow2__decompress(int type, const void *in, size_t in_len, void *out, size_t out_len);

/* qcow2_snapshot.c */
int qcow2__read_snapshots(struct qcow2 *q);
void qcow2__free_snapshots(struct qcow2 *q);
int qcow2_snapshot_list(struct img *img, struct img_snapshot **out);
int qcow2_snapshot_create(struct img *img, const char *name);
int qcow2_snapshot_apply(struct img *img, const char *name);
int qcow2_snapshot_delete(struct img *img, const char *name);
/* Read-only open: make snapshot @name (or id) the visible L1 table and size. */
int qcow2__show_snapshot(struct qcow2 *q, const char *name);
/*
 * Test hook (NULL in normal use): a snapshot operation calls it with stage 0
 * when the next state is on disk and synced, right before the header write
 * that switches to it (a nonzero return abandons the operation there, with
 * that error), and with stage 1 right after that write is synced, before the
 * in-memory state follows (the return value is ignored). Unit tests simulate
 * crashes with it.
 */
extern int (*qcow2__switch_hook)(struct qcow2 *q, int stage);

/* Big-endian helpers. */
static inline uint64_t be64_get(const void *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}
static inline uint32_t be32_get(const void *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}
static inline uint16_t be16_get(const void *p)
{
    uint16_t v;
    __builtin_memcpy(&v, p, 2);
    return __builtin_bswap16(v);
}
static inline void be64_put(void *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    __builtin_memcpy(p, &v, 8);
}
static inline void be32_put(void *p, uint32_t v)
{
    v = __builtin_bswap32(v);
    __builtin_memcpy(p, &v, 4);
}
static inline void be16_put(void *p, uint16_t v)
{
    v = __builtin_bswap16(v);
    __builtin_memcpy(p, &v, 2);
}

#endif /* IMG_QCOW2_INTERNAL_H */
