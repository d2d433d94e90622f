/* SPDX-License-Identifier: Apache-2.0 */
/* The decode arena and the encode buffer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ofp_internal.h"
#include "ofp_msg.h"

struct ofp_arena {
    struct ofp_arena *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK 4096

void *ofp__alloc(struct ofp_arena **a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    struct ofp_arena *cur = *a;
    if (!cur || cur->size - cur->used < size) {
        size_t cap = size > ARENA_CHUNK / 2 ? size : ARENA_CHUNK;
        struct ofp_arena *n = malloc(sizeof(*n) + cap);
        if (!n)
            return NULL;
        n->used = 0;
        n->size = cap;
        if (cur && size > ARENA_CHUNK / 2) {
            /* a big block gets its own chunk behind the current one */
            n->next = cur->next;
            cur->next = n;
        } else {
            n->next = cur;
            *a = n;
        }
        cur = n;
    }
    void *p = cur->data + cur->used;
    cur->used += size;
    memset(p, 0, size);
    return p;
}

void *ofp__memdup(struct ofp_arena **a, const void *src, size_t size)
{
    void *p = ofp__alloc(a, size);
    if (p && size)
        memcpy(p, src, size);
    return p;
}

void ofp__arena_free(struct ofp_arena *a)
{
    while (a) {
        struct ofp_arena *next = a->next;
        free(a);
        a = next;
    }
}

void ofp_buf_init(struct ofp_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void ofp_buf_free(struct ofp_buf *b)
{
    if (!b)
        return;
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void ofp_buf_clear(struct ofp_buf *b)
{
    b->len = 0;
    b->failed = false;
}

size_t ofp__buf_put(struct ofp_buf *b, const void *src, size_t len)
{
    size_t off = b->len;
    if (b->failed)
        goto out;
    if (b->cap - b->len < len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < len) {
            if (cap > SIZE_MAX / 2) {
                b->failed = true;
                goto out;
            }
            cap *= 2;
        }
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            goto out;
        }
        b->data = d;
        b->cap = cap;
    }
    if (src && len)
        memcpy(b->data + off, src, len);
    else if (len)
        memset(b->data + off, 0, len);
out:
    b->len = off + len;
    return off;
}

uint8_t *ofp__buf_at(struct ofp_buf *b, size_t off, size_t len)
{
    if (b->failed || off > b->len || b->len - off < len)
        return NULL;
    return b->data + off;
}

void ofp__buf_put8(struct ofp_buf *b, uint8_t v)
{
    ofp__buf_put(b, &v, 1);
}

void ofp__buf_put16(struct ofp_buf *b, uint16_t v)
{
    uint8_t p[2];
    ofp__put16(p, v);
    ofp__buf_put(b, p, 2);
}

void ofp__buf_put32(struct ofp_buf *b, uint32_t v)
{
    uint8_t p[4];
    ofp__put32(p, v);
    ofp__buf_put(b, p, 4);
}

void ofp__buf_put64(struct ofp_buf *b, uint64_t v)
{
    uint8_t p[8];
    ofp__put64(p, v);
    ofp__buf_put(b, p, 8);
}

void ofp__buf_patch16(struct ofp_buf *b, size_t off, uint16_t v)
{
    uint8_t *p = ofp__buf_at(b, off, 2);
    if (p)
        ofp__put16(p, v);
}

void ofp__buf_pad8(struct ofp_buf *b, size_t start)
{
    size_t n = (b->len - start) % 8;
    if (n)
        ofp__buf_put(b, NULL, 8 - n);
}
