/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/guestfs/gf_dev.c: bad arguments and reads past the end first, then
 * the read cache of image devices against a naive reference (the bytes
 * written into the image), on raw and qcow2 images, through slices at odd
 * offsets, with reads that straddle windows, end at the image's short last
 * window and bypass the cache; and the number of image reads it saves.
 */
#include "kk_test.h"

#include <errno.h>

#include "gf_dev.h"
#include "image.h"

/* Three windows and a bit (whole sectors, for qcow2): the last window is short. */
#define IMG_BYTES (3 * GF_DEV_CACHE_WINDOW + 12800)

static uint8_t ref[IMG_BYTES];

/* @path holding ref[] as @format ("raw" or "qcow2"), written by lib/image. */
static void make_image(const char *path, const char *format)
{
    struct img_create_opts co = {.format = format, .size = IMG_BYTES};
    assert_int_equal(img_create(path, &co), 0);
    struct img_open_opts oo = {.format = format, .flags = IMG_O_RDWR};
    struct img *img;
    assert_int_equal(img_open(path, &oo, &img), 0);
    assert_int_equal(img_pwrite(img, ref, sizeof(ref), 0), 0);
    img_close(img);
}

static void fill_ref(uint64_t seed)
{
    for (size_t i = 0; i < sizeof(ref); i += 8) {
        uint64_t r = kk_test_rand(&seed);
        memcpy(ref + i, &r, sizeof(ref) - i < 8 ? sizeof(ref) - i : 8);
    }
}

static void test_errors(void **state)
{
    (void)state;
    uint8_t mem[4096] = {0}, buf[16];
    struct gf_dev *d, *s;
    assert_int_equal(gf_dev_from_memory(NULL, 1, "m", &d), -EINVAL);
    assert_int_equal(gf_dev_from_memory(mem, sizeof(mem), "m", NULL), -EINVAL);
    assert_int_equal(gf_dev_from_memory(mem, sizeof(mem), "m", &d), 0);
    assert_int_equal(gf_dev_pread(NULL, buf, 1, 0), -EINVAL);
    assert_int_equal(gf_dev_pread(d, NULL, 1, 0), -EINVAL);
    assert_int_equal(gf_dev_pread(d, buf, 1, sizeof(mem)), -EIO);
    assert_int_equal(gf_dev_pread(d, buf, 2, sizeof(mem) - 1), -EIO);
    assert_int_equal(gf_dev_pread(d, buf, 1, UINT64_MAX), -EIO);
    assert_int_equal(gf_dev_pread(d, buf, 0, sizeof(mem)), 0);
    assert_int_equal(gf_dev_slice(d, 4000, 97, "s", &s), -EINVAL);
    assert_int_equal(gf_dev_slice(d, 4097, 0, "s", &s), -EINVAL);
    assert_int_equal(gf_dev_slice(d, 4000, 96, "s", &s), 0);
    assert_int_equal(gf_dev_pread(s, buf, 1, 96), -EIO);
    assert_int_equal(gf_dev_pread(s, buf, 16, 80), 0);
    struct gf_dev_stats st = {.image_reads = 7};
    gf_dev_get_stats(s, &st); /* memory: no image reads, no cache */
    assert_int_equal(st.image_reads, 0);
    assert_int_equal(st.cache_hits, 0);
    gf_dev_get_stats(NULL, &st);
    assert_int_equal(st.image_reads, 0);
    gf_dev_close(d);
    gf_dev_close(s);
    gf_dev_close(NULL);
}

/* Random reads of @d (a slice of the image at @base, @len bytes) equal ref[]. */
static void random_reads(struct gf_dev *d, uint64_t base, uint64_t len, uint64_t seed)
{
    static uint8_t buf[3 * GF_DEV_CACHE_MAX];
    for (int i = 0; i < 4000; i++) {
        uint64_t r = kk_test_rand(&seed);
        /* mostly small reads (cached), some larger than GF_DEV_CACHE_MAX */
        size_t n = i % 10 == 9 ? (size_t)(r % sizeof(buf)) : (size_t)(r % 5000);
        if (n > len)
            n = (size_t)len;
        uint64_t off = (r >> 20) % (len - n + 1);
        if (i % 7 == 0) /* the end of the device */
            off = len - n;
        memset(buf, 0xEE, n);
        assert_int_equal(gf_dev_pread(d, buf, n, off), 0);
        if (memcmp(buf, ref + base + off, n) != 0)
            fail_msg("read of %zu at %llu differs", n, (unsigned long long)off);
        /* a read one byte past the end is refused, whatever is cached */
        assert_int_equal(gf_dev_pread(d, buf, n + 1, len - n), -EIO);
    }
}

static void check_format(const char *format)
{
    char *dir = kk_test_mkdtemp();
    assert_non_null(dir);
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/disk.%s", dir, format);
    fill_ref(0x5eed0000u + (uint64_t)format[0]);
    make_image(path, format);

    struct gf_dev *d, *s;
    assert_int_equal(gf_dev_open_image(path, format, &d, err, sizeof(err)), 0);
    assert_int_equal(gf_dev_size(d), IMG_BYTES);
    random_reads(d, 0, IMG_BYTES, 1);
    /* A slice at an odd offset: windows stay aligned to the image. */
    uint64_t base = GF_DEV_CACHE_WINDOW - 777, len = IMG_BYTES - base - 3;
    assert_int_equal(gf_dev_slice(d, base, len, "disk:p1", &s), 0);
    random_reads(s, base, len, 2);
    struct gf_dev_stats st;
    gf_dev_get_stats(s, &st);
    assert_true(st.cache_hits > 4000);
    gf_dev_close(d); /* the slice keeps the image open */
    random_reads(s, base, len, 3);
    gf_dev_close(s);
    kk_test_rmdir(dir);
}

static void test_raw_against_reference(void **state)
{
    (void)state;
    check_format("raw");
}

static void test_qcow2_against_reference(void **state)
{
    (void)state;
    check_format("qcow2");
}

/* Reading sector after sector costs one image read per window; a read
 * larger than GF_DEV_CACHE_MAX goes to the image each time. */
static void test_reads_saved(void **state)
{
    (void)state;
    char *dir = kk_test_mkdtemp();
    assert_non_null(dir);
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/disk.raw", dir);
    fill_ref(42);
    make_image(path, "raw");
    struct gf_dev *d;
    struct gf_dev_stats st;
    uint8_t buf[GF_DEV_CACHE_MAX + 1];
    assert_int_equal(gf_dev_open_image(path, "raw", &d, err, sizeof(err)), 0);
    for (uint64_t off = 0; off + 512 <= IMG_BYTES; off += 512) {
        assert_int_equal(gf_dev_pread(d, buf, 512, off), 0);
        assert_memory_equal(buf, ref + off, 512);
    }
    gf_dev_get_stats(d, &st);
    assert_int_equal(st.image_reads, 4); /* three whole windows and the short one */
    assert_int_equal(st.cache_hits, IMG_BYTES / 512 - 4);
    /* The same again: all cached (four windows fit). */
    for (uint64_t off = 0; off + 512 <= IMG_BYTES; off += 512)
        assert_int_equal(gf_dev_pread(d, buf, 512, off), 0);
    gf_dev_get_stats(d, &st);
    assert_int_equal(st.image_reads, 4);
    assert_int_equal(gf_dev_pread(d, buf, sizeof(buf), 100), 0);
    assert_memory_equal(buf, ref + 100, sizeof(buf));
    assert_int_equal(gf_dev_pread(d, buf, sizeof(buf), 100), 0);
    gf_dev_get_stats(d, &st);
    assert_int_equal(st.image_reads, 6);
    /* One read straddling two windows, both cached: a hit. */
    uint64_t hits = st.cache_hits;
    assert_int_equal(gf_dev_pread(d, buf, 100, GF_DEV_CACHE_WINDOW - 50), 0);
    assert_memory_equal(buf, ref + GF_DEV_CACHE_WINDOW - 50, 100);
    gf_dev_get_stats(d, &st);
    assert_int_equal(st.image_reads, 6);
    assert_int_equal(st.cache_hits, hits + 1);
    gf_dev_close(d);
    kk_test_rmdir(dir);
}

/* More windows in use than slots: least recently used ones go, and the
 * data stays right. */
static void test_eviction(void **state)
{
    (void)state;
    char *dir = kk_test_mkdtemp();
    assert_non_null(dir);
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/big.raw", dir);
    size_t nwin = GF_DEV_CACHE_SLOTS + 3;
    size_t bytes = nwin * GF_DEV_CACHE_WINDOW;
    uint8_t *big = malloc(bytes);
    assert_non_null(big);
    uint64_t seed = 7;
    for (size_t i = 0; i < bytes; i++)
        big[i] = (uint8_t)kk_test_rand(&seed);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(big, 1, bytes, f), bytes);
    fclose(f);
    struct gf_dev *d;
    struct gf_dev_stats st;
    uint8_t buf[64];
    assert_int_equal(gf_dev_open_image(path, "raw", &d, err, sizeof(err)), 0);
    /* window 0 used between every other window: it is never the victim */
    for (size_t w = 1; w < nwin; w++) {
        assert_int_equal(gf_dev_pread(d, buf, sizeof(buf), 0), 0);
        assert_memory_equal(buf, big, sizeof(buf));
        uint64_t off = w * GF_DEV_CACHE_WINDOW + 99;
        assert_int_equal(gf_dev_pread(d, buf, sizeof(buf), off), 0);
        assert_memory_equal(buf, big + off, sizeof(buf));
    }
    gf_dev_get_stats(d, &st);
    assert_int_equal(st.image_reads, nwin);
    for (int i = 0; i < 2000; i++) {
        uint64_t off = kk_test_rand(&seed) % (bytes - sizeof(buf));
        assert_int_equal(gf_dev_pread(d, buf, sizeof(buf), off), 0);
        assert_memory_equal(buf, big + off, sizeof(buf));
    }
    gf_dev_close(d);
    free(big);
    kk_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_raw_against_reference),
        cmocka_unit_test(test_qcow2_against_reference),
        cmocka_unit_test(test_reads_saved),
        cmocka_unit_test(test_eviction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
