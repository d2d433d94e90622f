/* SPDX-License-Identifier: Apache-2.0 */
/* Stand-in for blkperf's vhost-user-blk engine until it lands (built only
 * while apps/blkperf/engine_vhost.c does not exist). */
#include <errno.h>
#include <stdio.h>

#include "blkperf.h"

static int v_open(const char *target, unsigned thread, uint32_t depth, void **ctx,
                  uint64_t *size, uint32_t *block_size)
{
    (void)target, (void)thread, (void)depth, (void)ctx, (void)size, (void)block_size;
    fprintf(stderr, "blkperf: the vhost-user-blk engine is not built in\n");
    return -ENOTSUP;
}

const struct perf_engine_ops perf_engine_vhost = {.name = "vhost", .open = v_open};
