/* SPDX-License-Identifier: Apache-2.0 */
/* Stand-in for blkperf's NBD engine until it lands (built only while
 * apps/blkperf/engine_nbd.c does not exist). */
#include <errno.h>
#include <stdio.h>

#include "blkperf.h"

static int n_open(const char *target, unsigned thread, uint32_t depth, void **ctx,
                  uint64_t *size, uint32_t *block_size)
{
    fprintf(stderr, "blkperf: the NBD engine is not built in\n");
    return -ENOTSUP;
}

const struct perf_engine_ops perf_engine_nbd = {.name = "nbd", .open = n_open};
