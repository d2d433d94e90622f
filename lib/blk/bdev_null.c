/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bdev_null.c — a device that stores nothing: writes are dropped, reads
 * return zeroes (like QEMU's null-co with read-zeroes=on), block status
 * reports one hole. For measuring the layers above the backend.
 *
 * Parameters: size (required), block_size (default 512).
 */
#include <errno.h>
#include <stdlib.h>

#include "blk_backend.h"
#include "blk_internal.h"


static void null_submit(void *chctx, struct blk_io *io)
{
    (void)chctx;
    switch (io->op) {
    case BLK_OP_READ:
        blk_iov_zero(io->iov, io->iovcnt, 0, io->len);
        break;
    case BLK_OP_BLOCK_STATUS:
        io->ext[0].len = io->len;
        io->ext[0].flags = BLK_EXTENT_HOLE | BLK_EXTENT_ZERO;
        blk_io_complete(io, 1);
        return;
    default:
        break;
    }
    blk_io_complete(io, 0);
}

static int null_resize(struct blk_bdev *b, uint64_t size)
{
    (void)b;
    (void)size;
    return 0;
}

static const struct blk_bdev_ops null_ops = {
    .submit = null_submit,
    .resize = null_resize,
};

static int null_create(const char *name, const json_t *params, char *err, size_t errlen,
                       struct blk_bdev **out)
{
    static const char *const keys[] = {"size", "block_size", NULL};
    uint64_t size;
    uint32_t bs;
    int rc = blk_params_check(params, "null", keys, err, errlen);
    if (rc == 0)
        rc = blk__size_params(params, "null", &size, &bs, true, err, errlen);
    if (rc < 0)
        return rc;
    struct blk_bdev *b = blk_bdev_alloc(name, "null", &null_ops, NULL);
    if (!b)
        return -ENOMEM;
    struct blk_bdev_info *in = blk_bdev_info_mut(b);
    in->size = size;
    in->block_size = bs;
    in->can_unmap = true;
    in->can_write_zeroes = true;
    in->can_block_status = true;
    *out = b;
    return 0;
}

const struct blk_backend blk_backend_null = {
    .type = "null",
    .help = "size=SIZE [block_size=512]: drops writes, reads zeroes",
    .create = null_create,
};
