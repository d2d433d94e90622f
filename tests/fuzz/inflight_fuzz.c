/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: a restarted backend reading the inflight region an
 * earlier one (or a hostile frontend) left, for split and packed rings.
 *
 * Input: byte 0 chooses the ring format and features; byte 1 the queue
 * size (1..64); then the queue's inflight region (its full size for that
 * layout; zero-padded if short); the rest is copied over 64 KiB of guest
 * memory holding the rings at fixed offsets. The target starts tracking
 * (validation, roll-back or commit, resubmission list), resubmits what it
 * finds, then pops and pushes through the tracking. Every iovec must lie
 * inside guest memory and nothing may touch memory outside the region.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "kk_log.h"
#include "vhu.h"
#include "vhu_internal.h"

#define MEM_SIZE 0x10000u

static uint8_t *guest;
static struct vq_mem *mem;

static void check_chains(const struct vq_chain *c, int n)
{
    for (int i = 0; i < n; i++) {
        for (unsigned k = 0; k < (unsigned)c[i].n_readable + c[i].n_writable; k++) {
            const uint8_t *b = c[i].iov[k].iov_base;
            if (b < guest || b + c[i].iov[k].iov_len > guest + MEM_SIZE)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!mem) {
        kk_log_set_level(KK_LOG_ERR); /* refusals are expected; keep them short */
        guest = aligned_alloc(4096, MEM_SIZE);
        vq_mem_create(4, &mem);
        struct vq_mem_region_desc a = {.gpa = 0, .size = MEM_SIZE, .uva = 0x100000};
        vq_mem_add_mapped(mem, &a, guest);
    }
    if (size < 2)
        return 0;
    bool packed = data[0] & 1;
    uint64_t features = 0;
    if (data[0] & 2)
        features |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
    uint16_t num = (uint16_t)(1u << (data[1] % 7)); /* 1..64 */
    if (packed && (data[1] & 0x80))
        num = (uint16_t)(num - (num > 2 ? 1 : 0));
    data += 2;
    size -= 2;

    /* The region, exactly its size: ASan reports any access beyond. */
    size_t region_size = vhu__inflight_region_size(packed, num);
    uint8_t *region = calloc(1, region_size);
    size_t n = size < region_size ? size : region_size;
    memcpy(region, data, n);
    data += n;
    size -= n;
    memset(guest, 0, MEM_SIZE);
    memcpy(guest, data, size < MEM_SIZE ? size : MEM_SIZE);

    struct vq_layout l = {.num = num, .packed = packed, .desc = guest, .avail = guest + 0x800,
                          .used = guest + 0x1000};
    struct vhu_queue q = {.index = 0, .num = num, .inflight = region};
    uint32_t base = packed ? (1u << 15 | 1u << 31) : 0;
    if (vq_init(&q.vq, &l, mem, features, base) < 0)
        abort(); /* the layout itself is valid */
    if (vhu__inflight_start(&q, "fuzz") == 0) {
        struct vq_chain chains[8];
        struct iovec iov[64];
        for (int round = 0; round < 4; round++) {
            int got = vhu_queue_resubmit(&q, chains, 8, iov, 64);
            if (got <= 0)
                break;
            check_chains(chains, got);
        }
        for (int round = 0; round < 4 && q.inflight_track; round++) {
            uint16_t pos = q.vq.next_avail;
            int got = vq_pop(&q.vq, chains, 8, iov, 64);
            if (got <= 0)
                break;
            check_chains(chains, got);
            vhu__inflight_popped(&q, chains, (unsigned)got, pos);
            /* Complete them in reverse: out of order. */
            struct vq_used used[8];
            for (int i = 0; i < got; i++)
                used[i] = (struct vq_used){.id = chains[got - 1 - i].id,
                                           .desc_count = chains[got - 1 - i].desc_count};
            vhu__inflight_push_begin(&q, used, (unsigned)got);
            vq_push(&q.vq, used, (unsigned)got);
            vhu__inflight_push_end(&q, used, (unsigned)got);
        }
    }
    vhu__inflight_stop(&q);
    vq_fini(&q.vq);
    free(region);
    return 0;
}
