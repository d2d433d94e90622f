/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The schema interpreter behind ofp_msg.c: a body layout is a list of wire
 * fields mapped onto struct members, and these three functions decode,
 * encode and compare any of them. Private to lib/openflow.
 *
 * Convention: 0 is success, a positive value is an enum ofp_err,
 * OFP__NOMEM an allocation failure.
 */
#ifndef OFP_SCHEMA_H
#define OFP_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ofp_internal.h"

enum ofp__op {
    OP_END,
    OP_INT,     /* w wire bytes <-> s struct bytes (unsigned integer) */
    OP_PORT16,  /* 1.0 port (16 bits) <-> uint32_t (1.3 numbering) */
    OP_PAD,     /* w zero bytes */
    OP_BYTES,   /* w raw bytes <-> array at off */
    OP_LEN16,   /* this element's length (u16) */
    OP_MATCH10, /* struct ofp_match_fields, 40-byte 1.0 match */
    OP_MATCH13, /* struct ofp_match_fields, OXM match padded to 8 */
    OP_ALEN16,  /* u16 length of the OP_ACTIONS that follows */
    OP_ACTIONS, /* struct ofp_action_list; length from OP_ALEN16 or the rest */
    OP_INSTS,   /* struct ofp_instruction_list, the rest */
    OP_DATA,    /* struct ofp_bytes, the rest */
    OP_LIST,    /* elements of `sub` to the end: pointer at off, size_t at off2 */
    OP_STRUCT,  /* embedded struct at off described by `sub` */
    OP_PSTRUCT, /* pointer at off to one struct described by `sub` */
    OP_CUSTOM,  /* hooks; w = fixed wire size, 0 = the rest */
};

struct ofp__ctx {
    uint8_t version;
    struct ofp_arena **arena;
};

struct ofp__custom {
    int (*decode)(const struct ofp__ctx *c, const uint8_t *p, size_t len, void *obj, size_t *used);
    int (*encode)(const struct ofp__ctx *c, const void *obj, struct ofp_buf *b);
    bool (*equal)(const void *a, const void *b);
};

struct ofp__schema;

struct ofp__fld {
    uint8_t op;
    uint16_t w;
    uint8_t s;
    uint16_t off, off2;
    const struct ofp__schema *sub;
    const struct ofp__custom *custom;
};

struct ofp__schema {
    const struct ofp__fld *f;
    size_t size;          /* struct size (list elements, PSTRUCT) */
    uint16_t len_err;     /* enum ofp_err for length problems */
};

#define MEMBER_SIZE(T, m) sizeof(((T *)0)->m)
#define INT_(T, m, w) {OP_INT, w, MEMBER_SIZE(T, m), offsetof(T, m), 0, NULL, NULL}
#define PORT16_(T, m) {OP_PORT16, 2, 4, offsetof(T, m), 0, NULL, NULL}
#define PAD_(n) {OP_PAD, n, 0, 0, 0, NULL, NULL}
#define BYTES_(T, m) {OP_BYTES, MEMBER_SIZE(T, m), 0, offsetof(T, m), 0, NULL, NULL}
#define LEN16_ {OP_LEN16, 2, 0, 0, 0, NULL, NULL}
#define OPM_(op, T, m) {op, 0, 0, offsetof(T, m), 0, NULL, NULL}
#define LIST_(T, m, n, sch) {OP_LIST, 0, 0, offsetof(T, m), offsetof(T, n), &sch, NULL}
#define STRUCT_(T, m, sch) {OP_STRUCT, 0, 0, offsetof(T, m), 0, &sch, NULL}
#define PSTRUCT_(T, m, sch) {OP_PSTRUCT, 0, 0, offsetof(T, m), 0, &sch, NULL}
#define CUSTOM_(w, hooks) {OP_CUSTOM, w, 0, 0, 0, NULL, &hooks}
#define END_ {OP_END, 0, 0, 0, 0, NULL, NULL}

#define U8(m) INT_(S, m, 1)
#define U16(m) INT_(S, m, 2)
#define U32(m) INT_(S, m, 4)
#define U64(m) INT_(S, m, 8)
#define PORT16(m) PORT16_(S, m)
#define BYTES(m) BYTES_(S, m)
#define MATCH10(m) OPM_(OP_MATCH10, S, m)
#define MATCH13(m) OPM_(OP_MATCH13, S, m)
#define ALEN16 {OP_ALEN16, 2, 0, 0, 0, NULL, NULL}
#define ACTIONS(m) OPM_(OP_ACTIONS, S, m)
#define INSTS(m) OPM_(OP_INSTS, S, m)
#define DATA(m) OPM_(OP_DATA, S, m)
#define LIST(m, n, sch) LIST_(S, m, n, sch)

#define SCHEMA(name, T, err, ...)                                \
    static const struct ofp__fld name##_f[] = {__VA_ARGS__, END_};    \
    static const struct ofp__schema name = {name##_f, sizeof(T), OFPERR_##err}

/*
 * Decode one element of @s from at most @avail bytes at @p into @obj
 * (zeroed by the caller); *used receives the bytes it spans: its LEN16
 * length, its fixed size, or all of @avail when it ends with a variable
 * part.
 */
int ofp__schema_decode(const struct ofp__ctx *c, const struct ofp__schema *s, const uint8_t *p,
                       size_t avail, void *obj, size_t *used);
/* Append the wire form of @obj; lengths are computed. */
int ofp__schema_encode(const struct ofp__ctx *c, const struct ofp__schema *s, const void *obj,
                       struct ofp_buf *b);
/* Deep equality of two structs described by @s. */
bool ofp__schema_equal(const struct ofp__schema *s, const void *a, const void *b);

#endif
