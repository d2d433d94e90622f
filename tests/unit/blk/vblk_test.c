/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vblk_parse_request(): the virtio-blk request parser of the
 * vhost-user-blk target. A table of hostile and malformed chains first
 * (each with the status it must get), then well-formed requests with
 * headers, data and status split across buffers in every way, checked
 * byte for byte against the buffers they came from, and random chains
 * against a naive reference parser.
 */
#include <errno.h>

#include "kk_common.h"
#include "kk_test.h"

#include "vblk_internal.h"

#define CAP 2048 /* sectors: 1 MiB */

static struct vblk_limits limits(void)
{
    return (struct vblk_limits){.capacity = CAP, .block_size = 512, .max_transfer = 64 * 1024,
                                .max_iov = 16, .max_discard_sectors = 256,
                                .max_write_zeroes_sectors = 256, .max_discard_seg = 4,
                                .max_write_zeroes_seg = 4, .discard = true,
                                .write_zeroes = true};
}

/* A chain built from pieces of one flat buffer: @rd bytes readable split
 * at @rsplit, @wr bytes writable split at @wsplit (0: no split). */
struct built {
    uint8_t mem[80 * 1024];
    struct iovec iov[8];
    struct vq_chain c;
};

static void build(struct built *b, const void *readable, uint32_t rd, uint32_t rsplit, uint32_t wr,
                  uint32_t wsplit)
{
    memset(b->mem, 0xee, sizeof(b->mem));
    memcpy(b->mem, readable, rd);
    unsigned n = 0;
    if (rsplit && rsplit < rd) {
        b->iov[n++] = (struct iovec){b->mem, rsplit};
        b->iov[n++] = (struct iovec){b->mem + rsplit, rd - rsplit};
    } else if (rd) {
        b->iov[n++] = (struct iovec){b->mem, rd};
    }
    unsigned nr = n;
    uint8_t *w = b->mem + rd + 32;
    if (wsplit && wsplit < wr) {
        b->iov[n++] = (struct iovec){w, wsplit};
        b->iov[n++] = (struct iovec){w + wsplit, wr - wsplit};
    } else if (wr) {
        b->iov[n++] = (struct iovec){w, wr};
    }
    b->c = (struct vq_chain){.id = 3, .desc_count = (uint16_t)n, .n_readable = (uint16_t)nr,
                             .n_writable = (uint16_t)(n - nr), .readable_len = rd,
                             .writable_len = wr, .iov = b->iov};
}

struct hdr_and_ranges {
    struct virtio_blk_outhdr h;
    struct virtio_blk_discard_write_zeroes r[12];
};

struct bad_case {
    const char *name;
    uint32_t type;
    uint64_t sector;
    uint32_t rd_extra;     /* readable bytes after the header (OUT data, ranges) */
    uint32_t wr;           /* writable bytes, status included */
    int n_ranges;
    struct virtio_blk_discard_write_zeroes range;
    bool read_only;
    bool no_discard;
    uint8_t want;
};

static const struct bad_case bad[] = {
    {"read past the end", VIRTIO_BLK_T_IN, CAP - 1, 0, 1024 + 1, 0, {0}, false, false,
     VIRTIO_BLK_S_IOERR},
    {"read at a sector that wraps", VIRTIO_BLK_T_IN, UINT64_MAX - 1, 0, 512 + 1, 0, {0}, false,
     false, VIRTIO_BLK_S_IOERR},
    {"read at sector 2^55", VIRTIO_BLK_T_IN, 1ull << 55, 0, 512 + 1, 0, {0}, false, false,
     VIRTIO_BLK_S_IOERR},
    {"read of a partial sector", VIRTIO_BLK_T_IN, 0, 0, 100 + 1, 0, {0}, false, false,
     VIRTIO_BLK_S_IOERR},
    {"write past the end", VIRTIO_BLK_T_OUT, CAP, 512, 1, 0, {0}, false, false,
     VIRTIO_BLK_S_IOERR},
    {"write of a partial sector", VIRTIO_BLK_T_OUT, 0, 513, 1, 0, {0}, false, false,
     VIRTIO_BLK_S_IOERR},
    {"write on a read-only disk", VIRTIO_BLK_T_OUT, 0, 512, 1, 0, {0}, true, false,
     VIRTIO_BLK_S_IOERR},
    {"read over max_transfer", VIRTIO_BLK_T_IN, 0, 0, 65 * 1024 + 1, 0, {0}, false, false,
     VIRTIO_BLK_S_IOERR},
    {"get-id without room", VIRTIO_BLK_T_GET_ID, 0, 0, 1, 0, {0}, false, false,
     VIRTIO_BLK_S_IOERR},
    {"discard not negotiated", VIRTIO_BLK_T_DISCARD, 0, 0, 1, 1, {0, 8, 0}, false, true,
     VIRTIO_BLK_S_UNSUPP},
    {"discard on a read-only disk", VIRTIO_BLK_T_DISCARD, 0, 0, 1, 1, {0, 8, 0}, true, false,
     VIRTIO_BLK_S_IOERR},
    {"discard without ranges", VIRTIO_BLK_T_DISCARD, 0, 0, 1, 0, {0}, false, false,
     VIRTIO_BLK_S_IOERR},
    {"discard data not a multiple of 16", VIRTIO_BLK_T_DISCARD, 0, 20, 1, 0, {0}, false, false,
     VIRTIO_BLK_S_IOERR},
    {"discard with five ranges (max 4)", VIRTIO_BLK_T_DISCARD, 0, 0, 1, 5, {0, 8, 0}, false,
     false, VIRTIO_BLK_S_IOERR},
    {"discard with the unmap flag", VIRTIO_BLK_T_DISCARD, 0, 0, 1, 1, {0, 8, 1}, false, false,
     VIRTIO_BLK_S_UNSUPP},
    {"write zeroes with reserved flags", VIRTIO_BLK_T_WRITE_ZEROES, 0, 0, 1, 1, {0, 8, 0x2},
     false, false, VIRTIO_BLK_S_UNSUPP},
    {"write zeroes of 0 sectors", VIRTIO_BLK_T_WRITE_ZEROES, 0, 0, 1, 1, {0, 0, 0}, false, false,
     VIRTIO_BLK_S_IOERR},
    {"write zeroes over max sectors", VIRTIO_BLK_T_WRITE_ZEROES, 0, 0, 1, 1, {0, 257, 0}, false,
     false, VIRTIO_BLK_S_IOERR},
    {"write zeroes past the end", VIRTIO_BLK_T_WRITE_ZEROES, 0, 0, 1, 1, {CAP - 4, 8, 0}, false,
     false, VIRTIO_BLK_S_IOERR},
    {"write zeroes wrapping", VIRTIO_BLK_T_WRITE_ZEROES, 0, 0, 1, 1, {UINT64_MAX - 3, 8, 0},
     false, false, VIRTIO_BLK_S_IOERR},
    {"get lifetime", VIRTIO_BLK_T_GET_LIFETIME, 0, 0, 16 + 1, 0, {0}, false, false,
     VIRTIO_BLK_S_UNSUPP},
    {"secure erase", VIRTIO_BLK_T_SECURE_ERASE, 0, 0, 1, 1, {0, 8, 0}, false, false,
     VIRTIO_BLK_S_UNSUPP},
    {"unknown type", 0x12345, 0, 0, 1, 0, {0}, false, false, VIRTIO_BLK_S_UNSUPP},
    {"legacy barrier bit", 0x80000001u, 0, 512, 1, 0, {0}, false, false, VIRTIO_BLK_S_UNSUPP},
};

static void test_malformed_requests_get_an_error_status(void **state)
{
    for (size_t i = 0; i < KK_ARRAY_SIZE(bad); i++) {
        const struct bad_case *t = &bad[i];
        struct vblk_limits lim = limits();
        lim.read_only = t->read_only;
        lim.discard = !t->no_discard;
        struct hdr_and_ranges in = {.h = {.type = t->type, .sector = t->sector}};
        uint32_t rd = sizeof(in.h) + t->rd_extra;
        for (int k = 0; k < t->n_ranges; k++)
            in.r[k] = t->range;
        rd += (uint32_t)t->n_ranges * 16;
        uint8_t flat[4096] = {0};
        memcpy(flat, &in, sizeof(in));
        struct built *b = calloc(1, sizeof(*b));
        build(b, flat, rd, 0, t->wr, 0);
        uint8_t *status_at = (uint8_t *)b->iov[b->c.n_readable].iov_base + t->wr - 1;
        struct vblk_request r;
        int rc = vblk_parse_request(&b->c, &lim, &r);
        if (rc != 0 || r.status != t->want || r.status_ptr != status_at)
            fail_msg("%s: rc %d status %u (want %u), status at %p (want %p)", t->name, rc,
                     r.status, t->want, (void *)r.status_ptr, (void *)status_at);
        free(b);
    }
}

static void test_chain_without_status_is_a_guest_fault(void **state)
{
    struct vblk_limits lim = limits();
    struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_IN};
    struct built b;
    struct vblk_request r;
    build(&b, &h, sizeof(h), 0, 0, 0); /* nothing writable */
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), -EPROTO);
    /* Writable buffers of zero length only. */
    build(&b, &h, sizeof(h), 0, 0, 0);
    b.iov[1] = (struct iovec){b.mem + 100, 0};
    b.c.n_writable = 1;
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), -EPROTO);
    /* No readable bytes at all: no header, but a status to fail with. */
    build(&b, &h, 0, 0, 1, 0);
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
    /* A header cut short. */
    build(&b, &h, 15, 7, 1, 0);
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
}

/* IN: the header split anywhere; data and status in every layout. */
static void test_read_layouts(void **state)
{
    struct vblk_limits lim = limits();
    struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_IN, .sector = 8};
    for (uint32_t rsplit = 0; rsplit < 16; rsplit++) {
        for (uint32_t wsplit = 0; wsplit <= 1025; wsplit += (wsplit < 8 ? 1 : 255)) {
            struct built b;
            build(&b, &h, sizeof(h), rsplit, 1025, wsplit);
            uint8_t *w = (uint8_t *)b.iov[b.c.n_readable].iov_base;
            struct vblk_request r;
            assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
            assert_int_equal(r.status, VIRTIO_BLK_S_OK);
            assert_int_equal(r.type, VIRTIO_BLK_T_IN);
            assert_int_equal(r.offset, 8 * 512);
            assert_int_equal(r.len, 1024);
            assert_ptr_equal(r.status_ptr, w + 1024);
            size_t total = 0;
            for (unsigned i = 0; i < r.iovcnt; i++) {
                assert_ptr_equal(r.iov[i].iov_base, w + total);
                total += r.iov[i].iov_len;
            }
            assert_int_equal(total, 1024);
        }
    }
}

/* OUT: data after the header, in the same buffer or not. */
static void test_write_layouts(void **state)
{
    struct vblk_limits lim = limits();
    uint8_t flat[16 + 2048];
    struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_OUT, .sector = CAP - 4};
    memcpy(flat, &h, 16);
    for (int i = 0; i < 2048; i++)
        flat[16 + i] = (uint8_t)(i * 7);
    for (uint32_t rsplit = 0; rsplit < 40; rsplit += (rsplit < 20 ? 1 : 7)) {
        struct built b;
        build(&b, flat, sizeof(flat), rsplit, 1, 0);
        struct vblk_request r;
        assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
        assert_int_equal(r.status, VIRTIO_BLK_S_OK);
        assert_int_equal(r.offset, (CAP - 4) * 512ull);
        assert_int_equal(r.len, 2048);
        uint8_t got[2048];
        size_t total = 0;
        for (unsigned i = 0; i < r.iovcnt; i++) {
            memcpy(got + total, r.iov[i].iov_base, r.iov[i].iov_len);
            total += r.iov[i].iov_len;
        }
        assert_int_equal(total, 2048);
        assert_memory_equal(got, flat + 16, 2048);
        assert_ptr_equal(r.status_ptr, b.iov[b.c.n_readable].iov_base);
    }
}

static void test_block_size_alignment(void **state)
{
    struct vblk_limits lim = limits();
    lim.block_size = 4096;
    struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_IN, .sector = 8};
    struct built b;
    struct vblk_request r;
    build(&b, &h, sizeof(h), 0, 4096 + 1, 0);
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    h.sector = 9; /* not on a 4 KiB boundary */
    build(&b, &h, sizeof(h), 0, 4096 + 1, 0);
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
    h.sector = 8; /* 512 bytes: less than a block */
    build(&b, &h, sizeof(h), 0, 512 + 1, 0);
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
}

static void test_too_many_data_buffers(void **state)
{
    struct vblk_limits lim = limits();
    lim.max_iov = 1;
    struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_IN, .sector = 0};
    struct built b;
    struct vblk_request r;
    build(&b, &h, sizeof(h), 0, 1025, 512); /* two data buffers */
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
    build(&b, &h, sizeof(h), 0, 1025, 1024); /* one, and the status alone */
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    assert_int_equal(r.iovcnt, 1);
}

static void test_ranges(void **state)
{
    struct vblk_limits lim = limits();
    for (uint32_t type = VIRTIO_BLK_T_DISCARD; type <= VIRTIO_BLK_T_WRITE_ZEROES; type += 2) {
        struct hdr_and_ranges in = {.h = {.type = type, .sector = 12345}};
        for (int k = 0; k < 4; k++)
            in.r[k] = (struct virtio_blk_discard_write_zeroes){
                .sector = (uint64_t)k * 100, .num_sectors = (uint32_t)(k + 1) * 8,
                .flags = type == VIRTIO_BLK_T_WRITE_ZEROES && k % 2 ? 1 : 0};
        for (uint32_t split = 0; split < 80; split += 5) {
            struct built b;
            build(&b, &in, 16 + 4 * 16, split, 1, 0);
            struct vblk_request r;
            assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
            assert_int_equal(r.status, VIRTIO_BLK_S_OK);
            assert_int_equal(r.n_ranges, 4);
            for (int k = 0; k < 4; k++) {
                assert_int_equal(r.ranges[k].offset, (uint64_t)k * 100 * 512);
                assert_int_equal(r.ranges[k].len, (uint64_t)(k + 1) * 8 * 512);
                assert_int_equal(r.ranges[k].unmap, type == VIRTIO_BLK_T_WRITE_ZEROES && k % 2);
            }
        }
    }
}

static void test_get_id_and_flush(void **state)
{
    struct vblk_limits lim = limits();
    struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_GET_ID};
    struct built b;
    struct vblk_request r;
    build(&b, &h, sizeof(h), 0, 20 + 1, 10);
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    assert_int_equal(r.len, 20);
    assert_int_equal(vblk_iov_from_buf(r.iov, r.iovcnt, "0123456789abcdefghij", r.len), 20);
    assert_memory_equal(b.iov[1].iov_base, "0123456789", 10);
    assert_memory_equal(b.iov[2].iov_base, "abcdefghij", 10);
    assert_ptr_equal(r.status_ptr, (uint8_t *)b.iov[2].iov_base + 10);
    /* A larger buffer still gets 20 bytes; a smaller one what fits. */
    build(&b, &h, sizeof(h), 0, 512 + 1, 0);
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
    assert_int_equal(r.len, 20);
    build(&b, &h, sizeof(h), 0, 5 + 1, 0);
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
    assert_int_equal(r.len, 5);
    h.type = VIRTIO_BLK_T_FLUSH;
    build(&b, &h, sizeof(h), 0, 1, 0);
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    assert_int_equal(r.type, VIRTIO_BLK_T_FLUSH);
    /* Flush is allowed on a read-only disk (it changes nothing). */
    lim.read_only = true;
    build(&b, &h, sizeof(h), 0, 1, 0);
    assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
}

/* Random headers against a naive reference of the range and type rules. */
static void test_random_headers_against_reference(void **state)
{
    uint64_t seed = 0x1234567;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        struct vblk_limits lim = limits();
        lim.read_only = seed >> 63;
        uint32_t types[] = {VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, 7};
        struct virtio_blk_outhdr h = {.type = types[(seed >> 20) % 4]};
        uint64_t pick = (seed >> 8) % 3;
        h.sector = pick == 0 ? (seed >> 30) % (CAP + 64) : pick == 1 ? seed : CAP - (seed % 9);
        uint32_t len = (uint32_t)((seed >> 40) % 5) * 512 + ((seed >> 50) % 4 == 0 ? 7 : 0);
        struct built b;
        uint8_t flat[16 + 4096] = {0};
        memcpy(flat, &h, 16);
        if (h.type == VIRTIO_BLK_T_OUT)
            build(&b, flat, 16 + len, (uint32_t)(seed % 24), 1, 0);
        else
            build(&b, flat, 16, (uint32_t)(seed % 16), len + 1, (uint32_t)((seed >> 4) % 600));
        /* Reference. */
        uint8_t want;
        if (h.type == 7)
            want = VIRTIO_BLK_S_UNSUPP;
        else if (h.type == VIRTIO_BLK_T_FLUSH)
            want = VIRTIO_BLK_S_OK;
        else if (h.type == VIRTIO_BLK_T_OUT && lim.read_only)
            want = VIRTIO_BLK_S_IOERR;
        else if (len % 512 || h.sector > CAP || len / 512 > CAP - h.sector)
            want = VIRTIO_BLK_S_IOERR;
        else
            want = VIRTIO_BLK_S_OK;
        struct vblk_request r;
        assert_int_equal(vblk_parse_request(&b.c, &lim, &r), 0);
        if (r.status != want)
            fail_msg("type %u sector %llu len %u ro %d: status %u, reference %u", h.type,
                     (unsigned long long)h.sector, len, lim.read_only, r.status, want);
        if (want == VIRTIO_BLK_S_OK && h.type != VIRTIO_BLK_T_FLUSH) {
            assert_int_equal(r.len, len);
            assert_int_equal(r.offset, h.sector * 512);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_requests_get_an_error_status),
        cmocka_unit_test(test_chain_without_status_is_a_guest_fault),
        cmocka_unit_test(test_read_layouts),
        cmocka_unit_test(test_write_layouts),
        cmocka_unit_test(test_block_size_alignment),
        cmocka_unit_test(test_too_many_data_buffers),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_get_id_and_flush),
        cmocka_unit_test(test_random_headers_against_reference),
    };
    return cmocka_run_group_tests_name("vhost-user-blk request parser", tests, NULL, NULL);
}
