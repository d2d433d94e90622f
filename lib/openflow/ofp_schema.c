/* SPDX-License-Identifier: Apache-2.0 */
/* The schema interpreter: see ofp_schema.h. */
#include <string.h>

#include "kk_common.h"
#include "ofp_msg.h"
#include "ofp_schema.h"

static bool is_variable(const struct ofp__fld *f)
{
    return f->op == OP_ACTIONS || f->op == OP_INSTS || f->op == OP_DATA || f->op == OP_LIST ||
           (f->op == OP_CUSTOM && f->w == 0);
}

/* Smallest wire size of an element; the match header counts 8. */
static size_t min_len(const struct ofp__schema *s)
{
    size_t n = 0;
    for (const struct ofp__fld *f = s->f; f->op != OP_END; f++) {
        switch (f->op) {
        case OP_INT:
        case OP_PORT16:
        case OP_PAD:
        case OP_BYTES:
        case OP_LEN16:
        case OP_ALEN16:
        case OP_CUSTOM:
            n += f->w;
            break;
        case OP_MATCH10:
            n += OFP10_MATCH_LEN;
            break;
        case OP_MATCH13:
            n += 8;
            break;
        case OP_STRUCT:
        case OP_PSTRUCT:
            n += min_len(f->sub);
            break;
        default:
            break;
        }
    }
    return n;
}

/* Offset of the LEN16 field in an element, -1 when it has none. */
static long len16_offset(const struct ofp__schema *s)
{
    size_t n = 0;
    for (const struct ofp__fld *f = s->f; f->op != OP_END; f++) {
        if (f->op == OP_LEN16)
            return (long)n;
        if (f->op == OP_MATCH13 || is_variable(f))
            return -1;
        n += f->op == OP_MATCH10 ? OFP10_MATCH_LEN : f->w;
    }
    return -1;
}

static bool has_variable(const struct ofp__schema *s)
{
    for (const struct ofp__fld *f = s->f; f->op != OP_END; f++)
        if (is_variable(f) || f->op == OP_MATCH13)
            return true;
    return false;
}

static uint64_t load_int(const void *p, unsigned s)
{
    switch (s) {
    case 1:
        return *(const uint8_t *)p;
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

static void store_int(void *p, unsigned s, uint64_t v)
{
    switch (s) {
    case 1:
        *(uint8_t *)p = (uint8_t)v;
        break;
    case 2: {
        uint16_t x = (uint16_t)v;
        memcpy(p, &x, 2);
        break;
    }
    case 4: {
        uint32_t x = (uint32_t)v;
        memcpy(p, &x, 4);
        break;
    }
    default:
        memcpy(p, &v, 8);
        break;
    }
}

static uint64_t get_be(const uint8_t *p, unsigned w)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < w; i++)
        v = v << 8 | p[i];
    return v;
}


/* Elements of @sub filling [p, p + len) exactly. */
static int decode_list(const struct ofp__ctx *c, const struct ofp__schema *sub, const uint8_t *p,
                       size_t len, void **items, size_t *count)
{
    size_t min = min_len(sub), n = 0;
    long lo = len16_offset(sub);
    for (size_t off = 0; off < len; n++) {
        if (len - off < min || (lo < 0 && min == 0))
            return sub->len_err;
        size_t el = min;
        if (lo >= 0) {
            el = ofp__get16(p + off + (size_t)lo);
            if (el < min || el > len - off)
                return sub->len_err;
        } else if (has_variable(sub)) {
            el = len - off;  /* a self-sized element without a length: last one */
        }
        off += el;
    }
    *items = NULL;
    *count = 0;
    if (n == 0)
        return 0;
    uint8_t *arr = ofp__alloc(c->arena, n * sub->size);
    if (!arr)
        return OFP__NOMEM;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t u = 0;
        int rc = ofp__schema_decode(c, sub, p + off, len - off, arr + i * sub->size, &u);
        if (rc)
            return rc;
        off += u;
    }
    if (off != len)
        return sub->len_err;
    *items = arr;
    *count = n;
    return 0;
}

int ofp__schema_decode(const struct ofp__ctx *c, const struct ofp__schema *s, const uint8_t *p,
                         size_t avail, void *obj, size_t *used)
{
    uint8_t *o = obj;
    size_t extent = avail, off = 0;
    long pending_alen = -1;
    if (avail < min_len(s))
        return s->len_err;
    if (!has_variable(s))
        extent = min_len(s);
    for (const struct ofp__fld *f = s->f; f->op != OP_END; f++) {
        size_t rest = extent - off;
        switch (f->op) {
        case OP_INT:
        case OP_PORT16:
        case OP_PAD:
        case OP_BYTES:
        case OP_LEN16:
        case OP_ALEN16:
            if (rest < f->w)
                return s->len_err;
            if (f->op == OP_INT) {
                store_int(o + f->off, f->s, get_be(p + off, f->w));
            } else if (f->op == OP_PORT16) {
                store_int(o + f->off, 4, ofp__port10_to_32(ofp__get16(p + off)));
            } else if (f->op == OP_BYTES) {
                memcpy(o + f->off, p + off, f->w);
            } else if (f->op == OP_LEN16) {
                size_t l = ofp__get16(p + off);
                if (l < min_len(s) || l > avail)
                    return s->len_err;
                extent = l;
            } else if (f->op == OP_ALEN16) {
                pending_alen = ofp__get16(p + off);
            }
            off += f->w;
            break;
        case OP_MATCH10: {
            if (rest < OFP10_MATCH_LEN)
                return s->len_err;
            int rc = ofp_match10_decode(p + off, OFP10_MATCH_LEN,
                                        (struct ofp_match_fields *)(o + f->off));
            if (rc)
                return rc;
            off += OFP10_MATCH_LEN;
            break;
        }
        case OP_MATCH13: {
            if (rest < 4)
                return s->len_err;
            uint16_t type = ofp__get16(p + off), mlen = ofp__get16(p + off + 2);
            if (type != 1) /* OFPMT_OXM; OFPMT_STANDARD is 1.1's */
                return OFPERR_OFPBMC_BAD_TYPE;
            if (mlen < 4 || kk_align_up(mlen, 8) > rest)
                return OFPERR_OFPBMC_BAD_LEN;
            int rc = ofp_oxm_decode(p + off + 4, mlen - 4u,
                                    (struct ofp_match_fields *)(o + f->off));
            if (rc)
                return rc;
            off += kk_align_up(mlen, 8);
            break;
        }
        case OP_ACTIONS: {
            size_t n = rest;
            if (pending_alen >= 0) {
                if ((size_t)pending_alen > rest)
                    return s->len_err;
                n = (size_t)pending_alen;
            }
            int rc = ofp__actions_decode(c->version, p + off, n, c->arena,
                                         (struct ofp_action_list *)(o + f->off));
            if (rc)
                return rc;
            off += n;
            break;
        }
        case OP_INSTS: {
            int rc = ofp__instructions_decode(p + off, rest, c->arena,
                                              (struct ofp_instruction_list *)(o + f->off));
            if (rc)
                return rc;
            off += rest;
            break;
        }
        case OP_DATA: {
            struct ofp_bytes *bytes = (struct ofp_bytes *)(o + f->off);
            bytes->len = rest;
            bytes->data = NULL;
            if (rest && !(bytes->data = ofp__memdup(c->arena, p + off, rest)))
                return OFP__NOMEM;
            off += rest;
            break;
        }
        case OP_LIST: {
            void *items;
            size_t count;
            int rc = decode_list(c, f->sub, p + off, rest, &items, &count);
            if (rc)
                return rc;
            memcpy(o + f->off, &items, sizeof(items));
            memcpy(o + f->off2, &count, sizeof(count));
            off += rest;
            break;
        }
        case OP_STRUCT:
        case OP_PSTRUCT: {
            void *target = o + f->off;
            if (f->op == OP_PSTRUCT) {
                target = ofp__alloc(c->arena, f->sub->size);
                if (!target)
                    return OFP__NOMEM;
                memcpy(o + f->off, &target, sizeof(target));
            }
            size_t u = 0;
            int rc = ofp__schema_decode(c, f->sub, p + off, rest, target, &u);
            if (rc)
                return rc;
            off += u;
            break;
        }
        case OP_CUSTOM: {
            size_t n = f->w ? f->w : rest, u = 0;
            if (rest < n)
                return s->len_err;
            int rc = f->custom->decode(c, p + off, n, obj, &u);
            if (rc)
                return rc;
            off += u;
            break;
        }
        default:
            break;
        }
    }
    if (off != extent)
        return s->len_err;
    *used = extent;
    return 0;
}


static int encode_list(const struct ofp__ctx *c, const struct ofp__schema *sub, const void *items,
                       size_t n, struct ofp_buf *b)
{
    if (n && !items)
        return sub->len_err;
    for (size_t i = 0; i < n; i++) {
        int rc = ofp__schema_encode(c, sub, (const uint8_t *)items + i * sub->size, b);
        if (rc)
            return rc;
    }
    return 0;
}

int ofp__schema_encode(const struct ofp__ctx *c, const struct ofp__schema *s, const void *obj,
                         struct ofp_buf *b)
{
    const uint8_t *o = obj;
    size_t start = b->len;
    long len_pos = -1, alen_pos = -1;
    for (const struct ofp__fld *f = s->f; f->op != OP_END; f++) {
        switch (f->op) {
        case OP_INT: {
            uint64_t v = load_int(o + f->off, f->s);
            if (f->w < 8 && (v >> (8 * f->w)))
                return OFPERR_OFPBRC_BAD_LEN;  /* wider than the version's field */
            uint8_t tmp[8];
            for (unsigned i = 0; i < f->w; i++)
                tmp[i] = (uint8_t)(v >> (8 * (f->w - 1 - i)));
            ofp__buf_put(b, tmp, f->w);
            break;
        }
        case OP_PORT16: {
            uint16_t p10;
            if (ofp__port32_to_10((uint32_t)load_int(o + f->off, 4), &p10))
                return OFPERR_OFPBRC_BAD_PORT;
            ofp__buf_put16(b, p10);
            break;
        }
        case OP_PAD:
            ofp__buf_put(b, NULL, f->w);
            break;
        case OP_BYTES:
            ofp__buf_put(b, o + f->off, f->w);
            break;
        case OP_LEN16:
            len_pos = (long)b->len;
            ofp__buf_put16(b, 0);
            break;
        case OP_ALEN16:
            alen_pos = (long)b->len;
            ofp__buf_put16(b, 0);
            break;
        case OP_MATCH10: {
            uint8_t m[OFP10_MATCH_LEN];
            int rc = ofp_match10_encode((const struct ofp_match_fields *)(o + f->off), m);
            if (rc)
                return rc;
            ofp__buf_put(b, m, sizeof(m));
            break;
        }
        case OP_MATCH13: {
            const struct ofp_match_fields *m = (const struct ofp_match_fields *)(o + f->off);
            int rc = ofp_match_validate(m);
            if (rc)
                return rc;
            size_t n = ofp_oxm_encoded_len(m), mstart = b->len;
            ofp__buf_put16(b, 1);
            ofp__buf_put16(b, (uint16_t)(4 + n));
            size_t at = ofp__buf_put(b, NULL, n);
            uint8_t *dst = ofp__buf_at(b, at, n);
            if (dst)
                ofp_oxm_encode(m, dst);
            ofp__buf_pad8(b, mstart);
            break;
        }
        case OP_ACTIONS: {
            size_t astart = b->len;
            int rc = ofp__actions_encode(c->version, (const struct ofp_action_list *)(o + f->off),
                                         b);
            if (rc)
                return rc;
            if (alen_pos >= 0) {
                if (b->len - astart > 0xffff)
                    return s->len_err;
                ofp__buf_patch16(b, (size_t)alen_pos, (uint16_t)(b->len - astart));
            }
            break;
        }
        case OP_INSTS: {
            int rc = ofp__instructions_encode(
                (const struct ofp_instruction_list *)(o + f->off), b);
            if (rc)
                return rc;
            break;
        }
        case OP_DATA: {
            const struct ofp_bytes *bytes = (const struct ofp_bytes *)(o + f->off);
            if (bytes->len && !bytes->data)
                return s->len_err;
            ofp__buf_put(b, bytes->data, bytes->len);
            break;
        }
        case OP_LIST: {
            void *items;
            size_t n;
            memcpy(&items, o + f->off, sizeof(items));
            memcpy(&n, o + f->off2, sizeof(n));
            int rc = encode_list(c, f->sub, items, n, b);
            if (rc)
                return rc;
            break;
        }
        case OP_STRUCT: {
            int rc = ofp__schema_encode(c, f->sub, o + f->off, b);
            if (rc)
                return rc;
            break;
        }
        case OP_PSTRUCT: {
            const void *target;
            memcpy(&target, o + f->off, sizeof(target));
            if (!target)
                return s->len_err;
            int rc = ofp__schema_encode(c, f->sub, target, b);
            if (rc)
                return rc;
            break;
        }
        case OP_CUSTOM: {
            int rc = f->custom->encode(c, obj, b);
            if (rc)
                return rc;
            break;
        }
        default:
            break;
        }
    }
    if (len_pos >= 0) {
        if (b->len - start > 0xffff)
            return s->len_err;
        ofp__buf_patch16(b, (size_t)len_pos, (uint16_t)(b->len - start));
    }
    return 0;
}


static bool equal_list(const struct ofp__schema *sub, const void *x, size_t nx, const void *y,
                       size_t ny)
{
    if (nx != ny)
        return false;
    for (size_t i = 0; i < nx; i++)
        if (!ofp__schema_equal(sub, (const uint8_t *)x + i * sub->size,
                          (const uint8_t *)y + i * sub->size))
            return false;
    return true;
}

bool ofp__schema_equal(const struct ofp__schema *s, const void *a, const void *b)
{
    const uint8_t *x = a, *y = b;
    for (const struct ofp__fld *f = s->f; f->op != OP_END; f++) {
        switch (f->op) {
        case OP_INT:
        case OP_PORT16:
            if (load_int(x + f->off, f->op == OP_PORT16 ? 4 : f->s) !=
                load_int(y + f->off, f->op == OP_PORT16 ? 4 : f->s))
                return false;
            break;
        case OP_BYTES:
            if (memcmp(x + f->off, y + f->off, f->w) != 0)
                return false;
            break;
        case OP_MATCH10:
        case OP_MATCH13:
            if (!ofp_match_equal((const struct ofp_match_fields *)(x + f->off),
                                 (const struct ofp_match_fields *)(y + f->off)))
                return false;
            break;
        case OP_ACTIONS:
            if (!ofp_action_list_equal((const struct ofp_action_list *)(x + f->off),
                                       (const struct ofp_action_list *)(y + f->off)))
                return false;
            break;
        case OP_INSTS:
            if (!ofp_instruction_list_equal((const struct ofp_instruction_list *)(x + f->off),
                                            (const struct ofp_instruction_list *)(y + f->off)))
                return false;
            break;
        case OP_DATA: {
            const struct ofp_bytes *p = (const void *)(x + f->off), *q = (const void *)(y + f->off);
            if (p->len != q->len || (p->len && memcmp(p->data, q->data, p->len) != 0))
                return false;
            break;
        }
        case OP_LIST: {
            void *ix, *iy;
            size_t nx, ny;
            memcpy(&ix, x + f->off, sizeof(ix));
            memcpy(&iy, y + f->off, sizeof(iy));
            memcpy(&nx, x + f->off2, sizeof(nx));
            memcpy(&ny, y + f->off2, sizeof(ny));
            if (!equal_list(f->sub, ix, nx, iy, ny))
                return false;
            break;
        }
        case OP_STRUCT:
            if (!ofp__schema_equal(f->sub, x + f->off, y + f->off))
                return false;
            break;
        case OP_PSTRUCT: {
            const void *p, *q;
            memcpy(&p, x + f->off, sizeof(p));
            memcpy(&q, y + f->off, sizeof(q));
            if (!p || !q ? p != q : !ofp__schema_equal(f->sub, p, q))
                return false;
            break;
        }
        case OP_CUSTOM:
            if (!f->custom->equal(a, b))
                return false;
            break;
        default:
            break;
        }
    }
    return true;
}

