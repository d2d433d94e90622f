/* SPDX-License-Identifier: Apache-2.0 */
/* lib/image generic layer and the raw driver. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "kk_test.h"

static char *path_in(const char *dir, const char *name)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static void test_open_errors(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *missing = path_in(dir, "missing");
    struct img *img;
    assert_int_equal(img_open(missing, NULL, &img), -ENOENT);
    assert_true(strstr(img_last_error(), "missing") != NULL);
    assert_int_equal(img_open(dir, NULL, &img), -EINVAL); /* a directory */
    char *raw = path_in(dir, "a.raw");
    struct img_create_opts o = {.format = "raw", .size = 4096};
    assert_int_equal(img_create(raw, &o), 0);
    struct img_open_opts oo = {.format = "vmdk"};
    assert_int_equal(img_open(raw, &oo, &img), -EINVAL);
    o.format = "nosuch";
    assert_int_equal(img_create(raw, &o), -EINVAL);
    o = (struct img_create_opts){.format = "raw", .size = 4096, .backing_file = "x"};
    assert_int_equal(img_create(raw, &o), -EINVAL); /* raw has no backing file */
    /* A qcow2 header that is too short is not a qcow2 image: refused. */
    int fd = open(raw, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "QFI\xfb\0\0\0\3", 8), 8);
    close(fd);
    oo.format = "qcow2";
    assert_int_equal(img_open(raw, &oo, &img), -EINVAL);
    free(missing);
    free(raw);
    kk_test_rmdir(dir);
}

static void test_probe(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *raw = path_in(dir, "a.raw"), *q = path_in(dir, "a.qcow2");
    struct img_create_opts o = {.format = "raw", .size = 1 << 20};
    assert_int_equal(img_create(raw, &o), 0);
    o.format = "qcow2";
    assert_int_equal(img_create(q, &o), 0);
    assert_string_equal(img_probe(raw), "raw");
    assert_string_equal(img_probe(q), "qcow2");
    assert_null(img_probe("/nonexistent/x"));
    struct img *img;
    assert_int_equal(img_open(q, NULL, &img), 0);
    assert_string_equal(img_format(img), "qcow2");
    assert_int_equal(img_size(img), 1 << 20);
    assert_false(img_writable(img));
    img_close(img);
    img_close(NULL);
    free(raw);
    free(q);
    kk_test_rmdir(dir);
}

static void test_raw_io(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *raw = path_in(dir, "a.raw");
    struct img_create_opts o = {.format = "raw", .size = 1 << 20};
    assert_int_equal(img_create(raw, &o), 0);
    struct img *img;
    assert_int_equal(img_open(raw, NULL, &img), 0);
    uint8_t buf[8192];
    assert_int_equal(img_pwrite(img, buf, 10, 0), -EBADF); /* read-only */
    img_close(img);
    struct img_open_opts oo = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(raw, &oo, &img), 0);
    /* Out of range, both sides of the end. */
    assert_int_equal(img_pread(img, buf, 2, (1 << 20) - 1), -EINVAL);
    assert_int_equal(img_pwrite(img, buf, 1, 1 << 20), -EINVAL);
    assert_int_equal(img_pread(img, buf, 0, 1 << 20), 0);
    /* Scatter-gather at an odd offset. */
    uint8_t a[3] = {1, 2, 3}, b[5] = {4, 5, 6, 7, 8};
    struct iovec iov[2] = {{a, 3}, {b, 5}};
    assert_int_equal(img_pwritev(img, iov, 2, 12345), 0);
    memset(buf, 0, sizeof(buf));
    uint8_t c[4], d[4];
    struct iovec riov[2] = {{c, 4}, {d, 4}};
    assert_int_equal(img_preadv(img, riov, 2, 12345), 0);
    assert_memory_equal(c, "\1\2\3\4", 4);
    assert_memory_equal(d, "\5\6\7\10", 4);
    /* Status: a hole reads as zeros, the written block as data. */
    struct img_status st;
    assert_int_equal(img_block_status(img, 512 * 1024, 4096, &st), 0);
    assert_true(st.flags & IMG_BS_ZERO);
    assert_int_equal(img_block_status(img, 12288, 100, &st), 0);
    assert_true(st.flags & IMG_BS_DATA);
    assert_int_equal(img_block_status(img, 0, 0, &st), -EINVAL);
    /* Zeroing and discarding read back as zeros. */
    memset(buf, 0xab, sizeof(buf));
    assert_int_equal(img_pwrite(img, buf, sizeof(buf), 65536), 0);
    assert_int_equal(img_write_zeroes(img, 65536 + 100, 1000, 0), 0);
    assert_int_equal(img_discard(img, 65536 + 4096, 4096), 0);
    assert_int_equal(img_pread(img, buf, sizeof(buf), 65536), 0);
    for (int i = 0; i < 8192; i++) {
        bool z = (i >= 100 && i < 1100) || i >= 4096;
        assert_int_equal(buf[i], z ? 0 : 0xab);
    }
    assert_int_equal(img_resize(img, 2 << 20), 0);
    assert_int_equal(img_size(img), 2 << 20);
    assert_int_equal(img_flush(img), 0);
    struct img_check_result r;
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.corruptions + r.leaks, 0);
    struct img_snapshot *s;
    assert_int_equal(img_snapshot_list(img, &s), 0);
    assert_int_equal(img_snapshot_create(img, "x"), -ENOTSUP);
    img_close(img);
    free(raw);
    kk_test_rmdir(dir);
}

static void test_direct_io(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *raw = path_in(dir, "a.raw");
    struct img_create_opts o = {.format = "raw", .size = 1 << 20};
    assert_int_equal(img_create(raw, &o), 0);
    struct img *img;
    struct img_open_opts oo = {.flags = IMG_O_RDWR | IMG_O_DIRECT};
    int rc = img_open(raw, &oo, &img);
    if (rc == -EINVAL) { /* the file system has no O_DIRECT (tmpfs) */
        free(raw);
        kk_test_rmdir(dir);
        skip();
    }
    assert_int_equal(rc, 0);
    static uint8_t al[8192] __attribute__((aligned(4096)));
    memset(al, 0x3c, 8192);
    assert_int_equal(img_pwrite(img, al, 8192, 4096), 0); /* aligned: direct */
    assert_int_equal(img_pwrite(img, "xyz", 3, 4097), 0); /* unaligned: buffered */
    memset(al, 0, 8192);
    assert_int_equal(img_pread(img, al, 8192, 4096), 0);
    assert_int_equal(al[0], 0x3c);
    assert_memory_equal(al + 1, "xyz", 3);
    assert_int_equal(al[4], 0x3c);
    assert_int_equal(al[8191], 0x3c);
    img_close(img);
    free(raw);
    kk_test_rmdir(dir);
}

static void test_backing_loops_refused(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *a = path_in(dir, "a.qcow2"), *b = path_in(dir, "b.qcow2");
    struct img_create_opts o = {.format = "qcow2", .size = 1 << 20};
    assert_int_equal(img_create(b, &o), 0);
    o.backing_file = "b.qcow2";
    assert_int_equal(img_create(a, &o), 0);
    struct img *img;
    struct img_open_opts rw = {.flags = IMG_O_RDWR | IMG_O_NO_BACKING};
    /* b -> a -> b */
    assert_int_equal(img_open(b, &rw, &img), 0);
    assert_int_equal(img_set_backing(img, "a.qcow2", "qcow2"), 0);
    img_close(img);
    assert_int_equal(img_open(a, NULL, &img), -ELOOP);
    assert_true(strstr(img_last_error(), "loop") != NULL);
    /* a -> a */
    assert_int_equal(img_open(a, &rw, &img), 0);
    assert_int_equal(img_set_backing(img, "a.qcow2", NULL), 0);
    img_close(img);
    assert_int_equal(img_open(a, NULL, &img), -ELOOP);
    /* Without following the chain the image opens. */
    struct img_open_opts nb = {.flags = IMG_O_NO_BACKING};
    assert_int_equal(img_open(a, &nb, &img), 0);
    assert_string_equal(img_backing_filename(img), "a.qcow2");
    assert_null(img_backing(img));
    img_close(img);
    free(a);
    free(b);
    kk_test_rmdir(dir);
}

/* QEMU-style locks: one writer, or any number of readers; -U reads anyway. */
static void test_locking(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "l.qcow2");
    struct img_create_opts o = {.format = "qcow2", .size = 1 << 20};
    assert_int_equal(img_create(p, &o), 0);
    struct img *w, *r, *r2;
    struct img_open_opts rw = {.flags = IMG_O_RDWR}, ro = {0}, shared = {.flags = IMG_O_FORCE_SHARE};
    assert_int_equal(img_open(p, &rw, &w), 0);
    assert_int_equal(img_open(p, &rw, &r), -EBUSY);
    assert_true(strstr(img_last_error(), "lock") != NULL);
    assert_int_equal(img_open(p, &ro, &r), -EBUSY);
    assert_int_equal(img_open(p, &shared, &r), 0);
    img_close(r);
    img_close(w);
    assert_int_equal(img_open(p, &ro, &r), 0);
    assert_int_equal(img_open(p, &ro, &r2), 0);
    assert_int_equal(img_open(p, &rw, &w), -EBUSY);
    img_close(r);
    img_close(r2);
    assert_int_equal(img_open(p, &rw, &w), 0);
    img_close(w);
    free(p);
    kk_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_backing_loops_refused),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_raw_io),
        cmocka_unit_test(test_direct_io),
        cmocka_unit_test(test_locking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
