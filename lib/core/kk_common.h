/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_common.h — compiler helpers shared by every kvmkit library.
 *
 * Small, dependency-free macros: branch hints, cache-line alignment,
 * container_of, array sizes, power-of-two arithmetic and a CPU pause hint.
 * Nothing here allocates or has side effects.
 */
#ifndef KK_COMMON_H
#define KK_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define KK_CACHE_LINE 64

#define kk_likely(x)   __builtin_expect(!!(x), 1)
#define kk_unlikely(x) __builtin_expect(!!(x), 0)

#define KK_ALIGNED(n)       __attribute__((aligned(n)))
#define KK_CACHE_ALIGNED    KK_ALIGNED(KK_CACHE_LINE)
#define KK_ALWAYS_INLINE    inline __attribute__((always_inline))
#define KK_PRINTF(fmt, arg) __attribute__((format(printf, fmt, arg)))
#define KK_UNUSED           __attribute__((unused))
#define KK_WARN_UNUSED      __attribute__((warn_unused_result))

#define KK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define KK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define KK_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Pointer to the structure that embeds @ptr as its member @member. */
#define kk_container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline bool kk_is_power_of_2(uint64_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

/* Smallest power of two >= @x; 0 for x == 0 or when it would overflow. */
static inline uint64_t kk_align_pow2_u64(uint64_t x)
{
    if (x <= 1)
        return x;
    if (x > (UINT64_C(1) << 63))
        return 0;
    return UINT64_C(1) << (64 - __builtin_clzll(x - 1));
}

static inline uint64_t kk_align_up(uint64_t x, uint64_t align)
{
    return (x + align - 1) & ~(align - 1);
}

/* Tell the CPU we are spinning (saves power, yields to the sibling thread). */
static inline void kk_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield" ::: "memory");
#else
    __asm__ volatile("" ::: "memory");
#endif
}

/* Cycle counter for benchmarks and fine-grained timing (TSC on x86). */
static inline uint64_t kk_rdtsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    return 0;
#endif
}

#endif /* KK_COMMON_H */
