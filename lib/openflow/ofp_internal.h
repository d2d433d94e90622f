/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private helpers shared by the files of lib/openflow: big-endian loads
 * and stores, 1.0 <-> 1.3 port numbers, the arena decoded messages live
 * in, and the growable output buffer's internals.
 */
#ifndef OFP_INTERNAL_H
#define OFP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ofp_errors.h"

struct ofp_buf;
struct ofp_arena;

static inline uint16_t ofp__get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t ofp__get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t ofp__get64(const uint8_t *p)
{
    return (uint64_t)ofp__get32(p) << 32 | ofp__get32(p + 4);
}

static inline void ofp__put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void ofp__put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void ofp__put64(uint8_t *p, uint64_t v)
{
    ofp__put32(p, (uint32_t)(v >> 32));
    ofp__put32(p + 4, (uint32_t)v);
}

/* 1.0 ports are 16 bits; its reserved range 0xff00.. maps to 0xffffff00.. */
static inline uint32_t ofp__port10_to_32(uint16_t p)
{
    return p >= 0xff00 ? 0xffff0000u | p : p;
}

static inline int ofp__port32_to_10(uint32_t p, uint16_t *out)
{
    if (p < 0xff00) {
        *out = (uint16_t)p;
        return 0;
    }
    if (p >= 0xffffff00u) {
        *out = (uint16_t)p;
        return 0;
    }
    return -1;
}

/* Zeroed memory from the arena @*a (created on first use); NULL when out
 * of memory. Everything goes with ofp__arena_free(). */
void *ofp__alloc(struct ofp_arena **a, size_t size);
void *ofp__memdup(struct ofp_arena **a, const void *src, size_t size);
void ofp__arena_free(struct ofp_arena *a);

/* Output: append bytes (zeros when @src is NULL); returns the offset of
 * the appended bytes. On allocation failure the buffer is marked failed
 * and later writes are dropped (offsets stay consistent). */
size_t ofp__buf_put(struct ofp_buf *b, const void *src, size_t len);
/* Pointer to @len bytes at @off, or NULL if the buffer failed. */
uint8_t *ofp__buf_at(struct ofp_buf *b, size_t off, size_t len);
void ofp__buf_put8(struct ofp_buf *b, uint8_t v);
void ofp__buf_put16(struct ofp_buf *b, uint16_t v);
void ofp__buf_put32(struct ofp_buf *b, uint32_t v);
void ofp__buf_put64(struct ofp_buf *b, uint64_t v);
void ofp__buf_patch16(struct ofp_buf *b, size_t off, uint16_t v);
/* Zeros up to the next multiple of 8 counted from @start. */
void ofp__buf_pad8(struct ofp_buf *b, size_t start);

struct ofp_action_list;
struct ofp_instruction_list;

/* One OXM value (and mask or NULL) checked on its own: maskable, no value
 * bits outside the mask, within the field's width. @f must be < 40. */
enum ofp_err ofp__oxm_check_field(unsigned f, const uint8_t *value, const uint8_t *mask);

/* Action lists and instruction lists of @version from @len bytes at @p
 * (the whole extent must be actions/instructions). Return 0, an enum
 * ofp_err (> 0), or OFP__NOMEM. */
int ofp__actions_decode(uint8_t version, const uint8_t *p, size_t len, struct ofp_arena **a,
                        struct ofp_action_list *out);
int ofp__instructions_decode(const uint8_t *p, size_t len, struct ofp_arena **a,
                             struct ofp_instruction_list *out);
/* Append the wire form; 0 or an enum ofp_err (nothing sensible written). */
int ofp__actions_encode(uint8_t version, const struct ofp_action_list *l, struct ofp_buf *b);
int ofp__instructions_encode(const struct ofp_instruction_list *l, struct ofp_buf *b);

/* Decode errors bubble up as positive enum ofp_err values, allocation
 * failures as -ENOMEM: 0 is success. */
#define OFP__NOMEM (-12)

#endif
