/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stand-in for lib/blk's vhost-user-blk target until it lands (built only
 * while lib/blk/vhost_blk.c does not exist): vhost-user-blk exports are
 * refused with -ENOTSUP, everything else in kvmkit-blkd works.
 */
#include <errno.h>

#include "vhost_blk.h"

int vblk_target_create(struct kk_reactor *ctrl, struct kk_reactor *const *workers,
                       unsigned n_workers, const struct vblk_opts *opts,
                       struct vblk_target **out)
{
    (void)ctrl, (void)workers, (void)n_workers, (void)opts, (void)out;
    return -ENOTSUP;
}

void vblk_target_destroy(struct vblk_target *t) { (void)t; }
json_t *vblk_target_to_json(const struct vblk_target *t) { (void)t; return json_object(); }
