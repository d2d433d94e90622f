/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2.c — qcow2 header and extensions: probe, open (every field checked
 * before use), create, header rewrite, resize, backing file changes, info.
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2_internal.h"

/* Names of the features we know, written into every v3 header we write. */
static const struct {
    uint8_t type;
    uint8_t bit;
    const char *name;
} known_features[] = {
    {0, 0, "dirty bit"},
    {0, 1, "corrupt bit"},
    {0, 2, "external data file"},
    {0, 3, "compression type"},
    {0, 4, "extended L2 entries"},
    {1, 0, "lazy refcounts"},
    {2, 0, "bitmaps"},
    {2, 1, "raw external data"},
};

int qcow2__corrupt(struct qcow2 *q, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Like QEMU: a writable image found corrupt is marked so, and no more
     * writes go to it until `check -r all`. */
    if (q->writable && q->version >= 3 && !(q->incompat & QCOW2_INCOMPAT_CORRUPT)) {
        q->incompat |= QCOW2_INCOMPAT_CORRUPT;
        if (qcow2__write_header(q) == 0)
            qcow2__sync(q);
    }
    return img__error(-EIO, "%s: corrupt qcow2 image: %s", q->img->filename, msg);
}

int qcow2__writable_check(struct qcow2 *q)
{
    if (q->incompat & QCOW2_INCOMPAT_CORRUPT)
        return img__error(-EIO, "%s: image is marked corrupt; repair it with 'check -r all'",
                          q->img->filename);
    return 0;
}

static int qcow2_probe(const uint8_t *buf, size_t len)
{
    /* The magic alone: an unsupported version then gets a clear error. */
    if (len >= 4 && be32_get(buf) == QCOW2_MAGIC)
        return 100;
    return 0;
}

/* A table [offset, offset+bytes) must be cluster aligned and inside the file. */
int qcow2__check_table(struct qcow2 *q, const char *what, uint64_t offset, uint64_t bytes)
{
    if (offset & (q->cluster_size - 1))
        return img__error(-EINVAL, "%s: %s offset %#" PRIx64 " is not cluster aligned",
                          q->img->filename, what, offset);
    if (offset == 0 && bytes)
        return img__error(-EINVAL, "%s: %s overlaps the header", q->img->filename, what);
    if (offset > q->end || bytes > q->end - offset)
        return img__error(-EINVAL, "%s: %s (%#" PRIx64 "+%" PRIu64 ") is past the end of the file (%" PRIu64 ")",
                          q->img->filename, what, offset, bytes, q->end);
    return 0;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

/* The name of a feature bit: from the image's table, else ours, else "". */
static void feature_name(const struct qcow2 *q, int type, int bit, char *out, size_t outlen)
{
    for (size_t i = 0; i + 48 <= q->feature_table_len; i += 48) {
        const uint8_t *e = q->feature_table + i;
        if (e[0] == type && e[1] == bit) {
            size_t n = strnlen((const char *)e + 2, 46);
            snprintf(out, outlen, "%.*s", (int)n, (const char *)e + 2);
            return;
        }
    }
    for (size_t i = 0; i < KK_ARRAY_SIZE(known_features); i++) {
        if (known_features[i].type == type && known_features[i].bit == bit) {
            snprintf(out, outlen, "%s", known_features[i].name);
            return;
        }
    }
    snprintf(out, outlen, "unnamed");
}

static int keep_string(char **dst, const uint8_t *src, uint32_t len, uint32_t max)
{
    if (len > max)
        return -EINVAL;
    free(*dst);
    *dst = strndup((const char *)src, len);
    if (!*dst)
        return -ENOMEM;
    if (strlen(*dst) != len) /* embedded NUL */
        return -EINVAL;
    return 0;
}

static int append_other_ext(struct qcow2 *q, const uint8_t *ext, size_t len)
{
    uint8_t *p = realloc(q->other_ext, q->other_ext_len + len);
    if (!p)
        return -ENOMEM;
    memcpy(p + q->other_ext_len, ext, len);
    q->other_ext = p;
    q->other_ext_len += len;
    return 0;
}

static int parse_extensions(struct qcow2 *q, const uint8_t *hdr, uint64_t limit)
{
    uint64_t off = q->header_length;
    uint32_t seen = 0;
    const char *fn = q->img->filename;
    for (;;) {
        if (off + 8 > limit)
            return img__error(-EINVAL, "%s: header extensions run past the first cluster", fn);
        uint32_t type = be32_get(hdr + off);
        uint32_t len = be32_get(hdr + off + 4);
        if (type == QCOW2_EXT_END)
            return 0;
        uint64_t padded = (len + 7ull) & ~7ull;
        if (off + 8 + padded > limit)
            return img__error(-EINVAL, "%s: header extension %#x (%u bytes) runs past the first cluster",
                              fn, type, len);
        const uint8_t *data = hdr + off + 8;
        uint32_t bit = 0;
        int rc = 0;
        switch (type) {
        case QCOW2_EXT_BACKING_FORMAT:
            bit = 1;
            rc = keep_string(&q->img->backing_format, data, len, 32);
            if (rc < 0)
                return img__error(-EINVAL, "%s: bad backing format extension", fn);
            break;
        case QCOW2_EXT_FEATURE_TABLE:
            bit = 2;
            if (len % 48)
                return img__error(-EINVAL, "%s: feature name table of %u bytes is not a multiple of 48",
                                  fn, len);
            q->feature_table = malloc(len ? len : 1);
            if (!q->feature_table)
                return -ENOMEM;
            memcpy(q->feature_table, data, len);
            q->feature_table_len = len;
            break;
        case QCOW2_EXT_BITMAPS:
            bit = 4;
            if (len < 24)
                return img__error(-EINVAL, "%s: bitmaps extension too short (%u bytes)", fn, len);
            q->nb_bitmaps = be32_get(data);
            q->bitmaps_dir_size = be64_get(data + 8);
            q->bitmaps_dir_offset = be64_get(data + 16);
            q->has_bitmaps = true;
            if (q->nb_bitmaps == 0 || q->nb_bitmaps > 65535 || be32_get(data + 4) != 0)
                return img__error(-EINVAL, "%s: bitmaps extension: bad bitmap count %u", fn,
                                  q->nb_bitmaps);
            rc = qcow2__check_table(q, "bitmap directory", q->bitmaps_dir_offset,
                                    q->bitmaps_dir_size);
            if (rc < 0)
                return rc;
            if (q->bitmaps_dir_size > (64u << 20))
                return img__error(-EFBIG, "%s: bitmap directory too large", fn);
            rc = append_other_ext(q, hdr + off, 8 + padded);
            break;
        case QCOW2_EXT_CRYPTO:
            return img__error(-ENOTSUP, "%s: encrypted qcow2 images are not supported", fn);
        case QCOW2_EXT_DATA_FILE:
            bit = 8;
            rc = keep_string(&q->data_file_name, data, len, 4095);
            if (rc < 0)
                return img__error(-EINVAL, "%s: bad external data file name", fn);
            break;
        default:
            /* Unknown: ignored and kept as it is. */
            rc = append_other_ext(q, hdr + off, 8 + padded);
            break;
        }
        if (rc < 0)
            return rc;
        if (bit && (seen & bit))
            return img__error(-EINVAL, "%s: header extension %#x appears twice", fn, type);
        seen |= bit;
        off += 8 + padded;
    }
}

static int open_data_file(struct qcow2 *q, unsigned flags)
{
    if (!(q->incompat & QCOW2_INCOMPAT_DATA_FILE)) {
        if (q->data_file_name)
            KK_LOGW(img_log, "%s: data file name without the data file bit is ignored",
                    q->img->filename);
        if (q->autoclear & QCOW2_AUTOCLEAR_DATA_RAW)
            return img__error(-EINVAL, "%s: raw external data bit without an external data file",
                              q->img->filename);
        return 0;
    }
    if (!q->data_file_name)
        return img__error(-EINVAL, "%s: external data file bit set but no file name given",
                          q->img->filename);
    char *path = NULL;
    if (q->data_file_name[0] == '/' || !strchr(q->img->filename, '/')) {
        path = strdup(q->data_file_name);
    } else {
        char *copy = strdup(q->img->filename);
        if (copy && asprintf(&path, "%s/%s", dirname(copy), q->data_file_name) < 0)
            path = NULL;
        free(copy);
    }
    if (!path)
        return -ENOMEM;
    int rc = img__file_open(&q->ext_data_file, path, flags);
    free(path);
    if (rc < 0)
        return rc;
    q->data = &q->ext_data_file;
    q->ext_data = true;
    return 0;
}

static void qcow2_free_state(struct qcow2 *q)
{
    if (!q)
        return;
    qcow2__cache_free(&q->l2_cache);
    qcow2__cache_free(&q->rb_cache);
    qcow2__free_snapshots(q);
    qcow2__meta_free(q);
    if (q->ext_data)
        img__file_close(&q->ext_data_file);
    free(q->l1);
    free(q->rt);
    free(q->header_tail);
    free(q->other_ext);
    free(q->data_file_name);
    free(q->feature_table);
    free(q->pending);
    free(q->cbuf);
    free(q->cin);
    pthread_mutex_destroy(&q->lock);
    pthread_rwlock_destroy(&q->io_lock);
    free(q);
}

static int read_l1(struct qcow2 *q)
{
    free(q->l1);
    q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8);
    if (!q->l1)
        return -ENOMEM;
    if (!q->l1_size)
        return 0;
    int rc = img__file_pread(q->file, q->l1, (size_t)q->l1_size * 8, q->l1_offset);
    if (rc < 0)
        return img__error(rc, "%s: cannot read the L1 table: %s", q->img->filename, kk_strerror(rc));
    for (uint32_t i = 0; i < q->l1_size; i++) {
        q->l1[i] = __builtin_bswap64(q->l1[i]);
        uint64_t l2 = q->l1[i] & QCOW2_OFFSET_MASK;
        if (q->l1[i] & QCOW2_L1_RESERVED)
            return img__error(-EINVAL, "%s: L1 entry %u has reserved bits set (%#" PRIx64 ")",
                              q->img->filename, i, q->l1[i]);
        if (l2 && (l2 & (q->cluster_size - 1)))
            return img__error(-EINVAL, "%s: L1 entry %u: L2 table offset %#" PRIx64 " is not cluster aligned",
                              q->img->filename, i, l2);
        if (l2 && l2 >= q->end)
            return img__error(-EINVAL, "%s: L1 entry %u: L2 table at %#" PRIx64 " is past the end of the file",
                              q->img->filename, i, l2);
    }
    return 0;
}

static uint64_t l1_entries_for(const struct qcow2 *q, uint64_t size)
{
    uint64_t per_l1 = q->cluster_size << q->l2_bits; /* bytes an L2 table maps */
    return (size + per_l1 - 1) / per_l1;
}

static int parse_header(struct qcow2 *q, const uint8_t *h, uint64_t file_size, unsigned flags)
{
    const char *fn = q->img->filename;
    if (be32_get(h) != QCOW2_MAGIC)
        return img__error(-EINVAL, "%s: not a qcow2 image (bad magic)", fn);
    q->version = be32_get(h + 4);
    if (q->version != 2 && q->version != 3)
        return img__error(-ENOTSUP, "%s: qcow2 version %u is not supported (only 2 and 3)", fn,
                          q->version);
    q->cluster_bits = be32_get(h + 20);
    if (q->cluster_bits < 9 || q->cluster_bits > 21)
        return img__error(-EINVAL, "%s: cluster_bits %u out of range (9..21)", fn, q->cluster_bits);
    q->cluster_size = 1ull << q->cluster_bits;
    if (q->version == 2) {
        q->header_length = QCOW2_V2_HEADER;
        q->refcount_order = 4;
    } else {
        q->incompat = be64_get(h + 72);
        q->compat = be64_get(h + 80);
        q->autoclear = be64_get(h + 88);
        q->refcount_order = be32_get(h + 96);
        q->header_length = be32_get(h + 100);
        if (q->header_length < QCOW2_V3_HEADER || q->header_length % 8 ||
            q->header_length > q->cluster_size)
            return img__error(-EINVAL, "%s: bad header_length %u", fn, q->header_length);
        if (q->refcount_order > 6)
            return img__error(-EINVAL, "%s: refcount_order %u is above 6", fn, q->refcount_order);
    }
    q->refcount_bits = 1u << q->refcount_order;
    q->refcount_max = q->refcount_bits == 64 ? UINT64_MAX : (1ull << q->refcount_bits) - 1;
    q->rb_bits = q->cluster_bits + 3 - q->refcount_order;
    if (be32_get(h + 32) != 0)
        return img__error(-ENOTSUP, "%s: encrypted qcow2 images are not supported (crypt_method %u)",
                          fn, be32_get(h + 32));
    q->end = KK_MAX(file_size, q->cluster_size);

    if (q->header_length > QCOW2_OUR_HEADER) {
        q->header_tail_len = q->header_length - QCOW2_OUR_HEADER;
        q->header_tail = malloc(q->header_tail_len);
        if (!q->header_tail)
            return -ENOMEM;
        memcpy(q->header_tail, h + QCOW2_OUR_HEADER, q->header_tail_len);
    }
    int rc = parse_extensions(q, h, q->cluster_size);
    if (rc < 0)
        return rc;

    uint64_t unknown = q->incompat & ~QCOW2_INCOMPAT_KNOWN;
    if (unknown) {
        int bit = __builtin_ctzll(unknown);
        char name[64];
        feature_name(q, 0, bit, name, sizeof(name));
        return img__error(-ENOTSUP, "%s: unsupported incompatible feature bit %d (%s)", fn, bit, name);
    }
    if ((q->incompat & QCOW2_INCOMPAT_CORRUPT) && (flags & IMG_O_RDWR) && !(flags & IMG_O_NO_REPAIR))
        return img__error(-EINVAL, "%s: image is marked corrupt; open it read-only or repair it with 'check -r all'",
                          fn);
    q->extl2 = q->incompat & QCOW2_INCOMPAT_EXTL2;
    if (q->extl2 && q->cluster_bits < 14)
        return img__error(-EINVAL, "%s: extended L2 entries need clusters of 16 KiB or more", fn);
    q->l2_entry_bytes = q->extl2 ? 16 : 8;
    q->l2_bits = q->cluster_bits - (q->extl2 ? 4 : 3);
    q->sc_per_cluster = q->extl2 ? 32 : 1;
    q->sc_bits = q->cluster_bits - (q->extl2 ? 5 : 0);

    q->compression = 0;
    uint8_t ctype = q->header_length > 104 ? h[104] : 0;
    if (q->incompat & QCOW2_INCOMPAT_COMPRESSION) {
        if (ctype != 1)
            return img__error(-ENOTSUP, "%s: unsupported compression type %u", fn, ctype);
        q->compression = 1;
    } else if (ctype != 0) {
        return img__error(-EINVAL, "%s: compression type %u set without its feature bit", fn, ctype);
    }

    uint64_t size = be64_get(h + 24);
    if (size > (1ull << 61))
        return img__error(-EFBIG, "%s: virtual size %" PRIu64 " is too large", fn, size);
    q->img->size = size;

    uint64_t bf_off = be64_get(h + 8);
    uint32_t bf_len = be32_get(h + 16);
    if (bf_off) {
        if (bf_len == 0 || bf_len > QCOW2_MAX_BACKING_NAME || bf_off > q->cluster_size ||
            bf_len > q->cluster_size - bf_off)
            return img__error(-EINVAL, "%s: bad backing file name location (%#" PRIx64 ", %u bytes)",
                              fn, bf_off, bf_len);
        rc = keep_string(&q->img->backing_file, h + bf_off, bf_len, QCOW2_MAX_BACKING_NAME);
        if (rc < 0)
            return img__error(-EINVAL, "%s: bad backing file name", fn);
    }

    q->l1_size = be32_get(h + 36);
    q->l1_offset = be64_get(h + 40);
    q->rt_offset = be64_get(h + 48);
    q->rt_clusters = be32_get(h + 56);
    q->nb_snapshots = be32_get(h + 60);
    q->snapshots_offset = be64_get(h + 64);

    if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES)
        return img__error(-EFBIG, "%s: L1 table of %u entries is too large", fn, q->l1_size);
    if (l1_entries_for(q, size) > q->l1_size)
        return img__error(-EINVAL, "%s: L1 table (%u entries) too small for the virtual size %" PRIu64,
                          fn, q->l1_size, size);
    if (q->rt_clusters == 0 || (uint64_t)q->rt_clusters * q->cluster_size > QCOW2_MAX_RT_BYTES)
        return img__error(q->rt_clusters ? -EFBIG : -EINVAL,
                          "%s: refcount table of %u clusters is not allowed", fn, q->rt_clusters);
    if (q->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
        return img__error(-EFBIG, "%s: too many snapshots (%u)", fn, q->nb_snapshots);
    uint64_t l1_bytes = (uint64_t)q->l1_size * 8;
    uint64_t rt_bytes = (uint64_t)q->rt_clusters * q->cluster_size;
    if (q->l1_size && (rc = qcow2__check_table(q, "L1 table", q->l1_offset, l1_bytes)) < 0)
        return rc;
    if ((rc = qcow2__check_table(q, "refcount table", q->rt_offset, rt_bytes)) < 0)
        return rc;
    if (q->nb_snapshots && (q->snapshots_offset & (q->cluster_size - 1)))
        return img__error(-EINVAL, "%s: snapshot table offset is not cluster aligned", fn);
    if (ranges_overlap(q->l1_offset, l1_bytes, q->rt_offset, rt_bytes))
        return img__error(-EINVAL, "%s: the L1 table overlaps the refcount table", fn);
    if ((q->incompat & QCOW2_INCOMPAT_DATA_FILE) && q->nb_snapshots)
        return img__error(-EINVAL, "%s: internal snapshots with an external data file", fn);
    return 0;
}

static unsigned cache_slots(uint64_t cluster_size, uint64_t budget, unsigned min, unsigned max)
{
    uint64_t n = budget / cluster_size;
    return (unsigned)KK_MAX((uint64_t)min, KK_MIN(n, (uint64_t)max));
}

static int do_open(struct img *img, unsigned flags)
{
    struct qcow2 *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    pthread_mutex_init(&q->lock, NULL);
    pthread_rwlock_init(&q->io_lock, NULL);
    q->img = img;
    img->priv = q;
    q->file = &img->file;
    q->data = &img->file;
    q->writable = flags & IMG_O_RDWR;
    uint64_t file_size;
    int rc = img__file_size(q->file, &file_size);
    if (rc < 0)
        return rc;
    uint8_t first[QCOW2_V3_HEADER];
    if (file_size < QCOW2_V2_HEADER)
        return img__error(-EINVAL, "%s: file too small for a qcow2 header", img->filename);
    rc = img__file_pread(q->file, first, sizeof(first), 0);
    if (rc < 0)
        return rc;
    uint32_t cb = be32_get(first + 20);
    if (cb < 9 || cb > 21)
        return img__error(-EINVAL, "%s: cluster_bits %u out of range (9..21)", img->filename, cb);
    uint8_t *h = img__alloc_aligned(1u << cb);
    if (!h)
        return -ENOMEM;
    rc = img__file_pread(q->file, h, 1u << cb, 0);
    if (rc == 0)
        rc = parse_header(q, h, file_size, flags);
    free(h);
    if (rc < 0)
        return rc;
    rc = open_data_file(q, flags);
    if (rc < 0)
        return rc;
    if (q->ext_data && q->img->backing_file && (q->autoclear & QCOW2_AUTOCLEAR_DATA_RAW))
        return img__error(-EINVAL, "%s: a raw external data file cannot have a backing file",
                          img->filename);
    rc = read_l1(q);
    if (rc < 0)
        return rc;
    rc = qcow2__load_refcount_table(q);
    if (rc < 0)
        return rc;
    rc = qcow2__read_snapshots(q);
    if (rc < 0)
        return rc;
    rc = qcow2__meta_build(q);
    if (rc < 0)
        return rc;
    if (img->open_snapshot) {
        rc = qcow2__show_snapshot(q, img->open_snapshot);
        if (rc < 0)
            return rc;
    }
    rc = qcow2__cache_init(&q->l2_cache, cache_slots(q->cluster_size, 16u << 20, 16, 256),
                           q->cluster_size);
    if (rc == 0)
        rc = qcow2__cache_init(&q->rb_cache, cache_slots(q->cluster_size, 4u << 20, 8, 64),
                               q->cluster_size);
    if (rc < 0)
        return rc;
    q->cbuf = img__alloc_aligned(q->cluster_size);
    q->cin = img__alloc_aligned(2 * q->cluster_size + 512);
    if (!q->cbuf || !q->cin)
        return -ENOMEM;
    q->free_hint = 0;
    if ((q->incompat & QCOW2_INCOMPAT_DIRTY) && q->writable && !(flags & IMG_O_NO_REPAIR)) {
        KK_LOGI(img_log, "%s: image was not closed cleanly; rebuilding refcounts", img->filename);
        struct img_check_result res = {0};
        rc = qcow2__check(img, IMG_CHECK_FIX_LEAKS | IMG_CHECK_FIX_ERRORS, &res);
        if (rc < 0)
            return rc;
        if (res.corruptions > res.corruptions_fixed)
            return img__error(-EIO, "%s: refcount repair left %" PRIu64 " errors", img->filename,
                              res.corruptions - res.corruptions_fixed);
        q->incompat &= ~QCOW2_INCOMPAT_DIRTY;
        rc = qcow2__write_header(q);
        if (rc == 0)
            rc = qcow2__sync(q);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int qcow2_open(struct img *img, unsigned flags)
{
    int rc = do_open(img, flags);
    if (rc < 0) {
        qcow2_free_state(img->priv);
        img->priv = NULL;
    }
    return rc;
}

static void qcow2_close(struct img *img)
{
    struct qcow2 *q = img->priv;
    if (!q)
        return;
    if (q->writable) {
        int rc = qcow2__flush_metadata(q, true);
        if (rc == 0 && q->dirty_bit_set) {
            q->incompat &= ~QCOW2_INCOMPAT_DIRTY;
            rc = qcow2__write_header(q);
            if (rc == 0)
                rc = qcow2__sync(q);
        }
        if (rc < 0)
            KK_LOGE(img_log, "%s: cannot write metadata back on close: %s", img->filename,
                    kk_strerror(rc));
    }
    qcow2_free_state(q);
    img->priv = NULL;
}

/* Append one extension (type, length, data, zero padding) at *off. */
static int put_ext(uint8_t *h, size_t limit, size_t *off, uint32_t type, const void *data,
                   size_t len)
{
    size_t padded = (len + 7) & ~(size_t)7;
    if (*off + 8 + padded > limit)
        return -ENOSPC;
    be32_put(h + *off, type);
    be32_put(h + *off + 4, (uint32_t)len);
    memcpy(h + *off + 8, data, len);
    memset(h + *off + 8 + len, 0, padded - len);
    *off += 8 + padded;
    return 0;
}

/* Build the first cluster (header, extensions, backing name) in @h. */
static int build_header(struct qcow2 *q, uint8_t *h)
{
    size_t cs = q->cluster_size;
    memset(h, 0, cs);
    be32_put(h, QCOW2_MAGIC);
    be32_put(h + 4, q->version);
    be32_put(h + 20, q->cluster_bits);
    be64_put(h + 24, q->img->size);
    be32_put(h + 36, q->l1_size);
    be64_put(h + 40, q->l1_offset);
    be64_put(h + 48, q->rt_offset);
    be32_put(h + 56, q->rt_clusters);
    be32_put(h + 60, q->nb_snapshots);
    be64_put(h + 64, q->snapshots_offset);
    size_t off = QCOW2_V2_HEADER;
    if (q->version >= 3) {
        be64_put(h + 72, q->incompat);
        be64_put(h + 80, q->compat);
        be64_put(h + 88, q->autoclear);
        be32_put(h + 96, q->refcount_order);
        uint32_t hl = KK_MAX(q->header_length, (uint32_t)QCOW2_OUR_HEADER);
        be32_put(h + 100, hl);
        h[104] = (uint8_t)q->compression;
        if (q->header_tail_len)
            memcpy(h + QCOW2_OUR_HEADER, q->header_tail, q->header_tail_len);
        off = hl;
    }
    int rc = 0;
    const char *bf = q->img->backing_format;
    if (bf && q->img->backing_file)
        rc = put_ext(h, cs, &off, QCOW2_EXT_BACKING_FORMAT, bf, strlen(bf));
    if (!rc && q->data_file_name && q->ext_data)
        rc = put_ext(h, cs, &off, QCOW2_EXT_DATA_FILE, q->data_file_name,
                     strlen(q->data_file_name));
    if (!rc && q->version >= 3) {
        uint8_t table[KK_ARRAY_SIZE(known_features) * 48];
        memset(table, 0, sizeof(table));
        for (size_t i = 0; i < KK_ARRAY_SIZE(known_features); i++) {
            table[i * 48] = known_features[i].type;
            table[i * 48 + 1] = known_features[i].bit;
            memcpy(table + i * 48 + 2, known_features[i].name, strlen(known_features[i].name));
        }
        rc = put_ext(h, cs, &off, QCOW2_EXT_FEATURE_TABLE, table, sizeof(table));
    }
    if (!rc && q->other_ext_len) {
        if (off + q->other_ext_len > cs)
            rc = -ENOSPC;
        else {
            memcpy(h + off, q->other_ext, q->other_ext_len);
            off += q->other_ext_len;
        }
    }
    if (!rc && off + 8 > cs)
        rc = -ENOSPC;
    if (rc < 0)
        return img__error(-ENOSPC, "%s: header extensions do not fit in the first cluster",
                          q->img->filename);
    off += 8; /* end-of-extensions marker: already zero */
    if (q->img->backing_file) {
        size_t len = strlen(q->img->backing_file);
        if (off + len > cs)
            return img__error(-ENOSPC, "%s: backing file name does not fit in the first cluster",
                              q->img->filename);
        memcpy(h + off, q->img->backing_file, len);
        be64_put(h + 8, off);
        be32_put(h + 16, (uint32_t)len);
    }
    return 0;
}

int qcow2__write_header(struct qcow2 *q)
{
    uint8_t *h = img__alloc_aligned(q->cluster_size);
    if (!h)
        return -ENOMEM;
    int rc = build_header(q, h);
    if (rc == 0)
        rc = img__file_pwrite(q->file, h, q->cluster_size, 0);
    free(h);
    if (rc < 0)
        return img__error(rc, "%s: cannot write the header: %s", q->img->filename, kk_strerror(rc));
    q->unsynced = true;
    return 0;
}

int qcow2__write_header_switch(struct qcow2 *q)
{
    uint8_t h[QCOW2_V2_HEADER - 24];
    be64_put(h, q->img->size);
    be32_put(h + 8, 0); /* crypt_method: we refuse encrypted images */
    be32_put(h + 12, q->l1_size);
    be64_put(h + 16, q->l1_offset);
    be64_put(h + 24, q->rt_offset);
    be32_put(h + 32, q->rt_clusters);
    be32_put(h + 36, q->nb_snapshots);
    be64_put(h + 40, q->snapshots_offset);
    int rc = img__file_pwrite(q->file, h, sizeof(h), 24);
    if (rc < 0)
        return img__error(rc, "%s: cannot write the header: %s", q->img->filename, kk_strerror(rc));
    q->unsynced = true;
    return 0;
}

/*
 * Bitmaps that track writes ("auto") go stale when we write without
 * updating them: mark them in use (inconsistent) in the directory, which
 * stays valid and referenced, instead of dropping the whole extension.
 */
static int mark_bitmaps_in_use(struct qcow2 *q)
{
    uint64_t size = q->bitmaps_dir_size;
    if (size == 0 || size > (64u << 20))
        return -EINVAL;
    uint8_t *dir = malloc(size);
    if (!dir)
        return -ENOMEM;
    int rc = img__file_pread(q->file, dir, size, q->bitmaps_dir_offset);
    uint64_t pos = 0;
    bool changed = false;
    for (uint32_t i = 0; rc == 0 && i < q->nb_bitmaps; i++) {
        if (pos + 24 > size) {
            rc = -EINVAL;
            break;
        }
        uint32_t flags = be32_get(dir + pos + 12);
        uint64_t len = (24 + (uint64_t)be16_get(dir + pos + 18) + be32_get(dir + pos + 20) + 7) & ~7ull;
        if (pos + len > size) {
            rc = -EINVAL;
            break;
        }
        if ((flags & 2) && !(flags & 1)) {
            be32_put(dir + pos + 12, flags | 1);
            changed = true;
        }
        pos += len;
    }
    if (rc == 0 && changed) {
        rc = img__file_pwrite(q->file, dir, size, q->bitmaps_dir_offset);
        if (rc == 0)
            rc = qcow2__sync(q);
    }
    free(dir);
    return rc;
}

int qcow2__mark_modified(struct qcow2 *q)
{
    int crc = qcow2__writable_check(q);
    if (crc < 0)
        return crc;
    if (q->modified)
        return 0;
    bool rewrite = false;
    uint64_t keep = q->ext_data ? QCOW2_AUTOCLEAR_DATA_RAW : 0;
    if (q->has_bitmaps && (q->autoclear & QCOW2_AUTOCLEAR_BITMAPS)) {
        if (mark_bitmaps_in_use(q) == 0)
            keep |= QCOW2_AUTOCLEAR_BITMAPS;
        else
            KK_LOGW(img_log, "%s: bitmap directory unreadable; bitmaps will be inconsistent",
                    q->img->filename);
    }
    if (q->autoclear & ~keep) {
        /* Bitmaps (and anything unknown) go stale with our writes: say so. */
        q->autoclear &= keep;
        rewrite = true;
    }
    if ((q->compat & QCOW2_COMPAT_LAZY_REFCOUNTS) && q->version >= 3 &&
        !(q->incompat & QCOW2_INCOMPAT_DIRTY)) {
        q->incompat |= QCOW2_INCOMPAT_DIRTY;
        q->dirty_bit_set = true;
        rewrite = true;
    }
    if (rewrite) {
        int rc = qcow2__write_header(q);
        if (rc == 0)
            rc = qcow2__sync(q);
        if (rc < 0)
            return rc;
    }
    q->modified = true;
    return 0;
}

int qcow2__grow_l1(struct qcow2 *q, uint64_t min_size)
{
    if (min_size <= q->l1_size)
        return 0;
    if (min_size * 8 > QCOW2_MAX_L1_BYTES)
        return img__error(-EFBIG, "%s: L1 table would exceed %u bytes", q->img->filename,
                          QCOW2_MAX_L1_BYTES);
    uint64_t bytes = min_size * 8;
    uint64_t clusters = (bytes + q->cluster_size - 1) >> q->cluster_bits;
    uint64_t *l1 = calloc(clusters << q->cluster_bits, 1);
    if (!l1)
        return -ENOMEM;
    uint64_t new_off;
    int rc = qcow2__alloc_clusters(q, clusters, &new_off);
    if (rc < 0) {
        free(l1);
        return rc;
    }
    rc = qcow2__meta_add(q, new_off, clusters << q->cluster_bits, QCOW2_META_L1);
    uint64_t *be = rc == 0 ? img__alloc_aligned(clusters << q->cluster_bits) : NULL;
    if (!be) {
        free(l1);
        return rc < 0 ? rc : -ENOMEM;
    }
    for (uint32_t i = 0; i < q->l1_size; i++) {
        l1[i] = q->l1[i];
        be[i] = __builtin_bswap64(q->l1[i]);
    }
    /* New table on disk (after the refcounts that own it), then the header. */
    rc = qcow2__flush_metadata(q, true);
    if (rc == 0)
        rc = img__file_pwrite(q->file, be, clusters << q->cluster_bits, new_off);
    free(be);
    if (rc == 0)
        rc = qcow2__sync(q);
    if (rc < 0) {
        free(l1);
        return rc;
    }
    uint64_t old_off = q->l1_offset, old_size = q->l1_size;
    q->l1_offset = new_off;
    q->l1_size = (uint32_t)min_size;
    free(q->l1);
    q->l1 = l1;
    rc = qcow2__write_header(q);
    if (rc == 0)
        rc = qcow2__sync(q);
    if (rc < 0)
        return rc;
    if (old_size)
        rc = qcow2__defer_free(q, old_off, kk_align_up(old_size * 8, q->cluster_size));
    return rc;
}

static int validate_create(const struct img_create_opts *o, int *version, uint32_t *cs,
                           int *rbits)
{
    *version = o->version ? o->version : 3;
    *cs = o->cluster_size ? o->cluster_size : 65536;
    *rbits = o->refcount_bits ? o->refcount_bits : 16;
    if (*version != 2 && *version != 3)
        return img__error(-EINVAL, "qcow2: version must be 2 or 3 (compat=0.10 or 1.1)");
    if (!kk_is_power_of_2(*cs) || *cs < 512 || *cs > (2u << 20))
        return img__error(-EINVAL, "qcow2: cluster size must be a power of two between 512 and 2M");
    if (!kk_is_power_of_2((uint64_t)*rbits) || *rbits > 64)
        return img__error(-EINVAL, "qcow2: refcount_bits must be a power of two, 1 to 64");
    if (*version == 2 && (*rbits != 16 || o->lazy_refcounts || o->extended_l2 ||
                          o->compression != IMG_COMPRESS_ZLIB))
        return img__error(-EINVAL, "qcow2: compat=0.10 supports none of refcount_bits other than 16, "
                                   "lazy_refcounts, extended_l2, zstd");
    if (o->extended_l2 && *cs < 16384)
        return img__error(-EINVAL, "qcow2: extended_l2 needs a cluster size of 16K or more");
    if (o->size > (1ull << 61))
        return img__error(-EFBIG, "qcow2: size too large");
    if (o->data_file && (*version < 3 || o->compression == IMG_COMPRESS_ZSTD))
        return img__error(-EINVAL, "qcow2: an external data file needs compat=1.1 and no compression type");
    if (o->data_file_raw && (!o->data_file || o->backing_file))
        return img__error(-EINVAL, "qcow2: data_file_raw needs a data file and no backing file");
    if (o->data_file && strlen(o->data_file) > 4095)
        return img__error(-EINVAL, "qcow2: data file name too long");
    return 0;
}

static int qcow2_create(const char *path, const struct img_create_opts *o)
{
    int version, rbits;
    uint32_t cs;
    int rc = validate_create(o, &version, &cs, &rbits);
    if (rc < 0)
        return rc;
    uint64_t size = o->size;
    const char *bfmt = o->backing_format;
    struct img *backing = NULL;
    if (o->backing_file) {
        if (strlen(o->backing_file) > QCOW2_MAX_BACKING_NAME)
            return img__error(-EINVAL, "qcow2: backing file name too long");
        char *bpath = NULL;
        if (o->backing_file[0] == '/' || !strchr(path, '/')) {
            bpath = strdup(o->backing_file);
        } else {
            char *copy = strdup(path);
            if (copy && asprintf(&bpath, "%s/%s", dirname(copy), o->backing_file) < 0)
                bpath = NULL;
            free(copy);
        }
        if (!bpath)
            return -ENOMEM;
        struct img_open_opts bo = {.format = bfmt};
        rc = img_open(bpath, &bo, &backing);
        free(bpath);
        if (rc < 0) {
            if (size == 0)
                return img__error(rc, "qcow2: cannot open backing file '%s' to learn its size: %s",
                                  o->backing_file, img_last_error());
            KK_LOGW(img_log, "qcow2: backing file '%s' cannot be opened; creating anyway",
                    o->backing_file);
        } else {
            if (size == 0)
                size = img_size(backing);
            if (!bfmt)
                bfmt = img_format(backing);
        }
    }
    size = kk_align_up(size, 512);

    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = kk_neg_errno();
        img_close(backing);
        return img__error(rc, "%s: cannot create: %s", path, kk_strerror(rc));
    }
    /* Header (cluster 0), refcount table (1), refcount block (2). */
    uint8_t *buf = img__alloc_aligned(3 * (size_t)cs);
    if (!buf) {
        close(fd);
        img_close(backing);
        return -ENOMEM;
    }
    struct img dummy = {.filename = (char *)(uintptr_t)path};
    struct qcow2 q = {.img = &dummy};
    q.version = (uint32_t)version;
    q.cluster_bits = (uint32_t)__builtin_ctz(cs);
    q.cluster_size = cs;
    q.refcount_order = (uint32_t)__builtin_ctz((unsigned)rbits);
    q.header_length = version >= 3 ? QCOW2_OUR_HEADER : QCOW2_V2_HEADER;
    q.rt_offset = cs;
    q.rt_clusters = 1;
    q.compression = o->compression == IMG_COMPRESS_ZSTD ? 1 : 0;
    if (o->extended_l2)
        q.incompat |= QCOW2_INCOMPAT_EXTL2;
    if (q.compression)
        q.incompat |= QCOW2_INCOMPAT_COMPRESSION;
    if (o->lazy_refcounts)
        q.compat |= QCOW2_COMPAT_LAZY_REFCOUNTS;
    if (o->data_file) {
        /* The data file, relative to the image's directory like a backing file. */
        char *dpath = NULL;
        if (o->data_file[0] == '/' || !strchr(path, '/')) {
            dpath = strdup(o->data_file);
        } else {
            char *copy = strdup(path);
            if (copy && asprintf(&dpath, "%s/%s", dirname(copy), o->data_file) < 0)
                dpath = NULL;
            free(copy);
        }
        int dfd = dpath ? open(dpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
        int drc = dfd < 0 ? (dpath ? kk_neg_errno() : -ENOMEM) : 0;
        if (drc == 0 && ftruncate(dfd, (off_t)size) < 0)
            drc = kk_neg_errno();
        if (dfd >= 0)
            close(dfd);
        free(dpath);
        if (drc < 0) {
            free(buf);
            close(fd);
            img_close(backing);
            return img__error(drc, "qcow2: cannot create data file '%s': %s", o->data_file,
                              kk_strerror(drc));
        }
        q.incompat |= QCOW2_INCOMPAT_DATA_FILE;
        q.ext_data = true;
        q.data_file_name = (char *)(uintptr_t)o->data_file;
        if (o->data_file_raw)
            q.autoclear |= QCOW2_AUTOCLEAR_DATA_RAW;
    }
    dummy.backing_file = (char *)(uintptr_t)o->backing_file;
    dummy.backing_format = (char *)(uintptr_t)bfmt;
    rc = build_header(&q, buf);
    if (rc == 0) {
        be64_put(buf + cs, 2ull * cs);
        /* Refcount 1 for clusters 0..2, at the entry width. */
        uint8_t *rb = buf + 2 * (size_t)cs;
        for (unsigned i = 0; i < 3; i++) {
            if (rbits >= 8)
                rb[(i + 1) * (unsigned)(rbits / 8) - 1] = 1;
            else
                rb[(i * (unsigned)rbits) / 8] |= (uint8_t)(1u << ((i * (unsigned)rbits) % 8));
        }
        ssize_t w = pwrite(fd, buf, 3 * (size_t)cs, 0);
        rc = w == (ssize_t)(3 * (size_t)cs) ? 0 : (w < 0 ? kk_neg_errno() : -EIO);
    }
    free(buf);
    if (rc == 0 && fdatasync(fd) < 0)
        rc = kk_neg_errno();
    close(fd);
    img_close(backing);
    if (rc < 0)
        return img__error(rc, "%s: cannot create: %s", path, kk_strerror(rc));

    /* Grow to the requested size with the ordinary machinery. */
    /* One flush at the end instead of one per metadata step. */
    struct img_open_opts oo = {.format = "qcow2",
                               .flags = IMG_O_RDWR | IMG_O_NO_BACKING | IMG_O_UNSAFE};
    struct img *img;
    rc = img_open(path, &oo, &img);
    if (rc < 0)
        return rc;
    struct qcow2 *nq = img->priv;
    pthread_mutex_lock(&nq->lock);
    rc = qcow2__grow_l1(nq, l1_entries_for(nq, size));
    if (rc == 0) {
        img->size = size;
        rc = qcow2__write_header(nq);
    }
    if (rc == 0 && o->prealloc != IMG_PREALLOC_OFF)
        rc = qcow2__preallocate(nq, o->prealloc);
    if (rc == 0)
        rc = qcow2__flush_metadata(nq, false);
    nq->file->unsafe = false;
    if (rc == 0)
        rc = qcow2__sync(nq);
    pthread_mutex_unlock(&nq->lock);
    img_close(img);
    return rc;
}

static int qcow2_flush(struct img *img)
{
    struct qcow2 *q = img->priv;
    pthread_mutex_lock(&q->lock);
    /* Always sync: guest data written in place is not tracked. */
    int rc = qcow2__flush_metadata(q, false);
    if (rc == 0)
        rc = qcow2__sync(q);
    pthread_mutex_unlock(&q->lock);
    return rc;
}

static int qcow2_resize(struct img *img, uint64_t size)
{
    struct qcow2 *q = img->priv;
    size = kk_align_up(size, 512);
    if (size < img->size)
        return img__error(-ENOTSUP, "%s: qcow2 images cannot be shrunk", img->filename);
    if (size > (1ull << 61))
        return img__error(-EFBIG, "%s: size too large", img->filename);
    pthread_rwlock_wrlock(&q->io_lock);
    pthread_mutex_lock(&q->lock);
    int rc = qcow2__mark_modified(q);
    if (rc == 0)
        rc = qcow2__grow_l1(q, l1_entries_for(q, size));
    if (rc == 0) {
        uint64_t old = img->size;
        img->size = size;
        rc = qcow2__write_header(q);
        if (rc < 0)
            img->size = old;
    }
    if (rc == 0)
        rc = qcow2__sync(q);
    pthread_mutex_unlock(&q->lock);
    pthread_rwlock_unlock(&q->io_lock);
    return rc;
}

static int qcow2_set_backing(struct img *img, const char *backing, const char *format)
{
    struct qcow2 *q = img->priv;
    if (backing && strlen(backing) > QCOW2_MAX_BACKING_NAME)
        return img__error(-EINVAL, "%s: backing file name too long", img->filename);
    if (backing && q->ext_data && (q->autoclear & QCOW2_AUTOCLEAR_DATA_RAW))
        return img__error(-EINVAL, "%s: a raw external data file cannot have a backing file",
                          img->filename);
    char *nb = backing ? strdup(backing) : NULL;
    char *nf = format ? strdup(format) : NULL;
    if ((backing && !nb) || (format && !nf)) {
        free(nb);
        free(nf);
        return -ENOMEM;
    }
    pthread_mutex_lock(&q->lock);
    char *ob = img->backing_file, *of = img->backing_format;
    img->backing_file = nb;
    img->backing_format = nf;
    int rc = qcow2__write_header(q);
    if (rc == 0)
        rc = qcow2__sync(q);
    if (rc < 0) {
        img->backing_file = ob;
        img->backing_format = of;
        free(nb);
        free(nf);
    } else {
        free(ob);
        free(of);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

static int qcow2_get_info(struct img *img, struct img_info *info)
{
    struct qcow2 *q = img->priv;
    info->cluster_size = (uint32_t)q->cluster_size;
    info->version = (int)q->version;
    info->refcount_bits = (int)q->refcount_bits;
    info->lazy_refcounts = q->compat & QCOW2_COMPAT_LAZY_REFCOUNTS;
    info->corrupt = q->incompat & QCOW2_INCOMPAT_CORRUPT;
    info->dirty = q->incompat & QCOW2_INCOMPAT_DIRTY;
    info->extended_l2 = q->extl2;
    info->has_bitmaps = q->has_bitmaps;
    info->compression = q->compression ? IMG_COMPRESS_ZSTD : IMG_COMPRESS_ZLIB;
    if (q->data_file_name && q->ext_data) {
        snprintf(info->data_file, sizeof(info->data_file), "%s", q->data_file_name);
        info->data_file_raw = q->autoclear & QCOW2_AUTOCLEAR_DATA_RAW;
    }
    return 0;
}

static uint32_t qcow2_cluster_size(const struct img *img)
{
    return (uint32_t)qcow2_of(img)->cluster_size;
}

const struct img_driver img__qcow2_driver = {
    .name = "qcow2",
    .probe = qcow2_probe,
    .open = qcow2_open,
    .close = qcow2_close,
    .create = qcow2_create,
    .preadv = qcow2_preadv,
    .pwritev = qcow2_pwritev,
    .flush = qcow2_flush,
    .discard = qcow2_discard,
    .unmap = qcow2_unmap,
    .write_zeroes = qcow2_write_zeroes,
    .write_compressed = qcow2_write_compressed,
    .block_status = qcow2_block_status,
    .resize = qcow2_resize,
    .set_backing = qcow2_set_backing,
    .check = qcow2__check,
    .snapshot_list = qcow2_snapshot_list,
    .snapshot_create = qcow2_snapshot_create,
    .snapshot_apply = qcow2_snapshot_apply,
    .snapshot_delete = qcow2_snapshot_delete,
    .get_info = qcow2_get_info,
    .cluster_size = qcow2_cluster_size,
};
