/* SPDX-License-Identifier: Apache-2.0 */
/* Common includes and helpers for kvmkit's cmocka unit tests. */
#ifndef KK_TEST_H
#define KK_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Deterministic pseudo-random numbers (xorshift64*), seeded per test. */
static inline uint64_t kk_test_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(2685821657736338717);
}

/* A scratch directory under $TMPDIR (or /tmp), removed by kk_test_rmdir(). */
char *kk_test_mkdtemp(void);
void kk_test_rmdir(char *dir);

#endif
