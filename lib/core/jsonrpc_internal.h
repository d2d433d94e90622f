/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the JSON-RPC server and client; not a public interface. */
#ifndef KK_JSONRPC_INTERNAL_H
#define KK_JSONRPC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Incremental splitter of a byte stream into JSON texts. It tracks string,
 * escape and nesting state only: whether a text is valid JSON is for the
 * parser to say. Top-level texts must be objects or arrays.
 */
struct kk__json_framer {
    size_t scan;      /* next byte to look at */
    size_t start;     /* first byte of the text being scanned */
    uint32_t depth;   /* 0: between texts */
    uint32_t max_depth;
    bool in_string;
    bool escape;
};

void kk__json_framer_init(struct kk__json_framer *f, uint32_t max_depth);

/*
 * Look for the next complete text in buf[0, len). Returns 1 and
 * [*begin, *end) when one is complete; 0 when more bytes are needed
 * (leading whitespace is skipped); -EPROTO when a byte outside any text
 * cannot start one; -E2BIG when nesting passes max_depth.
 */
int kk__json_framer_next(struct kk__json_framer *f, const char *buf, size_t len, size_t *begin,
                         size_t *end);

/* The caller dropped the first @n bytes of its buffer. */
void kk__json_framer_consume(struct kk__json_framer *f, size_t n);

#endif /* KK_JSONRPC_INTERNAL_H */
