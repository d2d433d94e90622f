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

struct gf_dev {
    enum dev_kind kind;
    unsigned refs;
    char *name;
    uint64_t size;
    uint64_t offset;            /* in the root device */
    struct img *img;            /* DEV_IMAGE */
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
    if (r->kind == DEV_MEMORY) {
        memcpy(buf, r->mem + abs, len);
        return 0;
    }
    int rc = img_pread(r->img, buf, len, abs);
    return rc < 0 ? -EIO : 0;
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
        if (d->kind == DEV_IMAGE)
            img_close(d->img);
        free(d->name);
        free(d);
        d = parent;
    }
}
