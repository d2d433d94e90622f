/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the device side of split and packed virtqueues walking
 * whatever a hostile guest put in its memory.
 *
 * Input: byte 0 chooses the ring format and negotiated features; byte 1
 * the queue size (1..64, a power of two for split rings); the rest is
 * copied over 64 KiB of "guest memory" at GPA 0x0 (a second 4 KiB region
 * sits at 0x10000 so buffers can cross regions). The rings live at fixed
 * offsets. The target pops and pushes until the queue breaks or empties;
 * every iovec it is given must lie inside guest memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "vq.h"

#define MEM_A 0x10000u
#define MEM_B 0x1000u

static uint8_t *mem_a, *mem_b;
static struct vq_mem *mem;

static int inside(const void *p, size_t len)
{
    const uint8_t *b = p;
    return (b >= mem_a && b + len <= mem_a + MEM_A) || (b >= mem_b && b + len <= mem_b + MEM_B);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!mem) {
        mem_a = aligned_alloc(4096, MEM_A);
        mem_b = aligned_alloc(4096, MEM_B);
        vq_mem_create(4, &mem);
        struct vq_mem_region_desc a = {.gpa = 0, .size = MEM_A, .uva = 0x100000};
        struct vq_mem_region_desc b = {.gpa = MEM_A, .size = MEM_B, .uva = 0x200000};
        vq_mem_add_mapped(mem, &a, mem_a);
        vq_mem_add_mapped(mem, &b, mem_b);
    }
    if (size < 2)
        return 0;
    bool packed = data[0] & 1;
    uint64_t features = 0;
    if (data[0] & 2)
        features |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
    if (data[0] & 4)
        features |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
    uint16_t num = (uint16_t)(1u << (data[1] % 7)); /* 1..64 */
    if (packed && (data[1] & 0x80))
        num = (uint16_t)(num - (num > 2 ? 1 : 0)); /* packed rings need no power of 2 */
    memset(mem_a, 0, MEM_A);
    memset(mem_b, 0, MEM_B);
    size_t n = size - 2 < MEM_A ? size - 2 : MEM_A;
    memcpy(mem_a, data + 2, n);

    struct vq_layout l = {.num = num, .packed = packed, .desc = mem_a, .avail = mem_a + 0x800,
                          .used = mem_a + 0x1000};
    struct vq q;
    uint32_t base = packed ? (1u << 15 | 1u << 31) : 0;
    if (vq_init(&q, &l, mem, features, base) < 0)
        abort(); /* the layout itself is valid */
    for (int round = 0; round < 4; round++) {
        struct vq_chain chains[8];
        struct iovec iov[32];
        vq_enable_kicks(&q, round & 1);
        int got = vq_pop(&q, chains, 8, iov, 32);
        if (got <= 0)
            break;
        struct vq_used used[8];
        for (int i = 0; i < got; i++) {
            unsigned total = chains[i].n_readable + chains[i].n_writable;
            for (unsigned k = 0; k < total; k++) {
                if (!inside(chains[i].iov[k].iov_base, chains[i].iov[k].iov_len))
                    abort();
                /* Touch every byte: ASan would catch an escape too. */
                volatile uint8_t sink = 0;
                for (size_t b = 0; b < chains[i].iov[k].iov_len; b += 512)
                    sink ^= ((uint8_t *)chains[i].iov[k].iov_base)[b];
                (void)sink;
            }
            used[i] = (struct vq_used){.id = chains[i].id, .desc_count = chains[i].desc_count,
                                       .len = chains[i].writable_len};
        }
        vq_push(&q, used, (unsigned)got);
        vq_notify(&q);
    }
    vq_get_base(&q);
    vq_fini(&q);
    return 0;
}
