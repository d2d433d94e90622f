/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gf_dev.c — read-only byte sources (gf_dev.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gf_dev.h"
#include "image.h"
#include "kk_err.h"

enum dev_kind { DEV_IMAGE, DEV_MEMORY, DEV_SLICE };

/* Aligned windows of an image: slot i holds bytes [window[i] *
 * GF_DEV_CACHE_WINDOW, + valid[i]) at mem + i * GF_DEV_CACHE_WINDOW. */
struct dev_cache {
    uint8_t *mem;               /* allocated with the first small read */
    uint64_t window[GF_DEV_CACHE_SLOTS];
    uint32_t valid[GF_DEV_CACHE_SLOTS]; /* 0: empty slot */
    uint64_t used[GF_DEV_CACHE_SLOTS];  /* tick of the last use (LRU) */
    uint64_t tick;
    struct gf_dev_stats stats;
};

struct gf_dev {
    enum dev_kind kind;
    unsigned refs;
    char *name;
    uint64_t size;
    uint64_t offset;            /* in the root device */
    struct img *img;            /* DEV_IMAGE */
    struct dev_cache cache;     /* DEV_IMAGE */
    const uint8_t *mem;         /* DEV_MEMORY */
    struct gf_dev *parent;      /* DEV_SLICE */
};

static struct gf_dev *dev_new(enum dev_kind kind, const char *name, uint64_t size)
{
    struct gf_dev *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->name = strdup(name ? name : "?");
    if (!d->name) {
        free(d);
        return NULL;
    }
    d->kind = kind;
    d->refs = 1;
    d->size = size;
    return d;
}

int gf_dev_open_image(const char *path, const char *format, struct gf_dev **out, char *err,
                      size_t errlen)
{
    if (!path || !out)
        return -EINVAL;
    struct img_open_opts o = {.format = format, .flags = IMG_O_FORCE_SHARE};
    struct img *img;
    int rc = img_open(path, &o, &img);
    if (rc < 0) {
        if (err && errlen) {
            /* lib/image's message names the structure ("qcow2: cluster_bits 0
             * out of range"); the errno alone does not. */
            const char *why = img_last_error();
            size_t plen = strlen(path);
            if (why && strncmp(why, path, plen) == 0 && why[plen] == ':')
                snprintf(err, errlen, "%s", why);
            else
                snprintf(err, errlen, "%s: cannot open the image: %s", path,
                         why && why[0] ? why : kk_strerror(rc));
        }
        return rc;
    }
    struct gf_dev *d = dev_new(DEV_IMAGE, path, img_size(img));
    if (!d) {
        img_close(img);
        return -ENOMEM;
    }
    d->img = img;
    *out = d;
    return 0;
}

int gf_dev_from_memory(const void *buf, size_t len, const char *name, struct gf_dev **out)
{
    if ((!buf && len) || !out)
        return -EINVAL;
    struct gf_dev *d = dev_new(DEV_MEMORY, name ? name : "memory", len);
    if (!d)
        return -ENOMEM;
    d->mem = buf;
    *out = d;
    return 0;
}

int gf_dev_slice(struct gf_dev *parent, uint64_t offset, uint64_t len, const char *name,
                 struct gf_dev **out)
{
    if (!parent || !out || offset > parent->size || len > parent->size - offset)
        return -EINVAL;
    struct gf_dev *d = dev_new(DEV_SLICE, name, len);
    if (!d)
        return -ENOMEM;
    d->parent = parent;
    d->offset = parent->offset + offset;
    parent->refs++;
    /* reads go straight to the root with the absolute offset */
    *out = d;
    return 0;
}

static struct gf_dev *root_of(struct gf_dev *d)
{
    while (d->kind == DEV_SLICE)
        d = d->parent;
    return d;
}

/* The slot holding window @w of image device @r, reading it on a miss;
 * -1 when it cannot be cached (no memory, or the window's read failed). */
static int cache_slot(struct gf_dev *r, uint64_t w)
{
    struct dev_cache *c = &r->cache;
    int victim = 0;
    for (int i = 0; i < GF_DEV_CACHE_SLOTS; i++) {
        if (c->valid[i] && c->window[i] == w) {
            c->used[i] = ++c->tick;
            return i;
        }
        if (c->used[i] < c->used[victim])
            victim = i;
    }
    if (!c->mem && !(c->mem = malloc((size_t)GF_DEV_CACHE_SLOTS * GF_DEV_CACHE_WINDOW)))
        return -1;
    uint64_t start = w * GF_DEV_CACHE_WINDOW;
    /* callers only ask for windows that start inside the image */
    uint64_t left = r->size - start;
    uint32_t n = left < GF_DEV_CACHE_WINDOW ? (uint32_t)left : GF_DEV_CACHE_WINDOW;
    uint8_t *dst = c->mem + (size_t)victim * GF_DEV_CACHE_WINDOW;
    c->valid[victim] = 0;
    c->stats.image_reads++;
    if (img_pread(r->img, dst, n, start) < 0)
        return -1;
    c->window[victim] = w;
    c->valid[victim] = n;
    c->used[victim] = ++c->tick;
    return victim;
}

/* Bytes [@abs, @abs + @len) of image device @r (inside it) from the cache:
 * 0, or -1 when some window could not be cached (then @buf is undefined). */
static int cache_read(struct gf_dev *r, uint8_t *buf, size_t len, uint64_t abs)
{
    struct dev_cache *c = &r->cache;
    uint64_t reads = c->stats.image_reads;
    while (len) {
        uint64_t w = abs / GF_DEV_CACHE_WINDOW;
        uint32_t at = (uint32_t)(abs % GF_DEV_CACHE_WINDOW);
        int slot = cache_slot(r, w);
        if (slot < 0 || c->valid[slot] <= at)
            return -1;
        size_t n = c->valid[slot] - at < len ? c->valid[slot] - at : len;
        memcpy(buf, c->mem + (size_t)slot * GF_DEV_CACHE_WINDOW + at, n);
        buf += n;
        abs += n;
        len -= n;
    }
    if (c->stats.image_reads == reads)
        c->stats.cache_hits++;
    return 0;
}

int gf_dev_pread(struct gf_dev *d, void *buf, size_t len, uint64_t offset)
{
    if (!d || (!buf && len))
        return -EINVAL;
    if (offset > d->size || len > d->size - offset)
        return -EIO;
    if (!len)
        return 0;
    struct gf_dev *r = root_of(d);
    uint64_t abs = d->offset + offset;
    /* A slice lies inside its parent, so this holds; checked all the same
     * as every access to the image is. */
    if (abs > r->size || len > r->size - abs)
        return -EIO;
    if (r->kind == DEV_MEMORY) {
        memcpy(buf, r->mem + abs, len);
        return 0;
    }
    if (len <= GF_DEV_CACHE_MAX && cache_read(r, buf, len, abs) == 0)
        return 0;
    r->cache.stats.image_reads++;
    int rc = img_pread(r->img, buf, len, abs);
    return rc < 0 ? -EIO : 0;
}

void gf_dev_get_stats(const struct gf_dev *d, struct gf_dev_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!d)
        return;
    while (d->kind == DEV_SLICE)
        d = d->parent;
    if (d->kind == DEV_IMAGE)
        *out = d->cache.stats;
}

uint64_t gf_dev_size(const struct gf_dev *d)
{
    return d ? d->size : 0;
}

const char *gf_dev_name(const struct gf_dev *d)
{
    return d ? d->name : "?";
}

uint64_t gf_dev_offset(const struct gf_dev *d)
{
    return d ? d->offset : 0;
}

void gf_dev_close(struct gf_dev *d)
{
    while (d && --d->refs == 0) {
        struct gf_dev *parent = d->parent;
        if (d->kind == DEV_IMAGE) {
            img_close(d->img);
            free(d->cache.mem);
        }
        free(d->name);
        free(d);
        d = parent;
    }
}
