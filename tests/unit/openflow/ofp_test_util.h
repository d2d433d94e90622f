/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the openflow unit tests (header-only). */
#ifndef OFP_TEST_UTIL_H
#define OFP_TEST_UTIL_H

#include <errno.h>

#include "kk_test.h"
#include "ofp_msg.h"

/* "01 0e 00 50 ..." -> bytes; returns the count. */
static inline size_t hex(const char *text, uint8_t *out, size_t max)
{
    size_t n = 0;
    unsigned v;
    int used;
    while (n < max && sscanf(text, " %2x%n", &v, &used) == 1) {
        out[n++] = (uint8_t)v;
        text += used;
    }
    return n;
}

/* Decode from an exact-size heap copy so that ASan sees any overread. */
static inline int decode_copy(const uint8_t *data, size_t len, struct ofp_msg *m,
                              struct ofp_error *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, data, len);
    int rc = ofp_decode(copy, len, m, err);
    free(copy);
    return rc;
}

/* Decode must fail with @want (checked as the wire pair of the version). */
static inline void expect_error(const uint8_t *data, size_t len, enum ofp_err want,
                                const char *what)
{
    struct ofp_msg m;
    struct ofp_error err;
    int rc = decode_copy(data, len, &m, &err);
    if (rc != -EBADMSG || err.err != want) {
        if (rc == 0)
            ofp_msg_free(&m);
        fail_msg("%s: rc %d, got %s, want %s", what, rc, ofp_err_name(err.err),
                 ofp_err_name(want));
    }
    struct ofp_error w;
    assert_int_equal(ofp_err_to_wire(want, len ? data[0] : 4, &w), 0);
    assert_int_equal(err.type, w.type);
    assert_int_equal(err.code, w.code);
}

static inline void set16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void set32(uint8_t *p, uint32_t v)
{
    set16(p, (uint16_t)(v >> 16));
    set16(p + 2, (uint16_t)v);
}

#endif
