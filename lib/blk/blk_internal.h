/* SPDX-License-Identifier: Apache-2.0 */
/* blk_internal.h — shared between lib/blk's own files; not installed. */
#ifndef KK_BLK_INTERNAL_H
#define KK_BLK_INTERNAL_H

#include "blk_backend.h"

/* size (required if @need_size) and block_size (512..65536, default 512). */
int blk__size_params(const json_t *params, const char *type, uint64_t *size, uint32_t *bs,
                     bool need_size, char *err, size_t errlen);

#endif
