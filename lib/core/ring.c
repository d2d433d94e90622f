/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kk_ring.h"

_Static_assert(offsetof(struct kk_ring, cons) - offsetof(struct kk_ring, prod) >= KK_RING_ALIGN,
               "producer and consumer indexes must not share a pair of cache lines");

static uint32_t slots_for(uint32_t count)
{
    return (uint32_t)kk_align_pow2_u64(count);
}

size_t kk_ring_memsize(uint32_t count)
{
    if (count == 0 || count > KK_RING_MAX_CAPACITY)
        return 0;
    size_t bytes = sizeof(struct kk_ring) + (size_t)slots_for(count) * sizeof(void *);
    return kk_align_up(bytes, KK_RING_ALIGN);
}

int kk_ring_init(struct kk_ring *r, uint32_t count, unsigned flags)
{
    if (!r || count == 0 || count > KK_RING_MAX_CAPACITY)
        return -EINVAL;
    if (flags & ~(KK_RING_F_SP_ENQ | KK_RING_F_SC_DEQ))
        return -EINVAL;
    if ((uintptr_t)r % KK_RING_ALIGN)
        return -EINVAL;
    memset(r, 0, sizeof(*r));
    r->size = slots_for(count);
    r->mask = r->size - 1;
    r->capacity = count;
    r->flags = flags;
    r->copy_step = KK_MAX(count / 8, 1u);
    return 0;
}

int kk_ring_create(uint32_t count, unsigned flags, struct kk_ring **out)
{
    size_t bytes = kk_ring_memsize(count);
    if (bytes == 0 || !out)
        return -EINVAL;
    struct kk_ring *r = aligned_alloc(KK_RING_ALIGN, bytes);
    if (!r)
        return -ENOMEM;
    int rc = kk_ring_init(r, count, flags);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->allocated = true;
    *out = r;
    return 0;
}

void kk_ring_destroy(struct kk_ring *r)
{
    if (r && r->allocated)
        free(r);
}

void kk_ring_reset(struct kk_ring *r)
{
    r->prod.head = r->prod.tail = r->prod.other_tail = 0;
    r->cons.head = r->cons.tail = r->cons.other_tail = 0;
}
