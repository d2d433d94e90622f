/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kk_test.h"
#include "vq_mem.h"

static int memfd_of(size_t size)
{
    int fd = memfd_create("guest", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    return fd;
}

static void test_bad_regions_are_refused(void **state)
{
    struct vq_mem *m;
    assert_int_equal(vq_mem_create(0, &m), -EINVAL);
    assert_int_equal(vq_mem_create(VQ_MEM_MAX_REGIONS + 1, &m), -EINVAL);
    assert_int_equal(vq_mem_create(2, &m), 0);

    struct vq_mem_region_desc d = {.gpa = 0, .size = 0, .uva = 0x1000, .mmap_offset = 0};
    assert_int_equal(vq_mem_add_region(m, &d, memfd_of(4096)), -EINVAL); /* empty */
    d = (struct vq_mem_region_desc){.gpa = UINT64_MAX - 10, .size = 4096, .uva = 0};
    assert_int_equal(vq_mem_add_region(m, &d, memfd_of(4096)), -EINVAL); /* gpa overflow */
    d = (struct vq_mem_region_desc){.gpa = 0, .size = 4096, .uva = UINT64_MAX - 1};
    assert_int_equal(vq_mem_add_region(m, &d, memfd_of(4096)), -EINVAL); /* uva overflow */
    d = (struct vq_mem_region_desc){.gpa = 0, .size = 4096, .uva = 0, .mmap_offset = UINT64_MAX};
    assert_int_equal(vq_mem_add_region(m, &d, memfd_of(4096)), -EINVAL); /* offset overflow */
    /* A file too small to back the region would SIGBUS us later. */
    d = (struct vq_mem_region_desc){.gpa = 0, .size = 8192, .uva = 0x10000, .mmap_offset = 0};
    assert_int_equal(vq_mem_add_region(m, &d, memfd_of(4096)), -EINVAL);
    d = (struct vq_mem_region_desc){.gpa = 0, .size = 4096, .uva = 0x10000, .mmap_offset = 4096};
    assert_int_equal(vq_mem_add_region(m, &d, memfd_of(4096)), -EINVAL);
    assert_int_equal(vq_mem_add_region(m, &d, -1), -EBADF);
    /* Not a regular file (a pipe, a device): refused before mapping. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[1]);
    d = (struct vq_mem_region_desc){.gpa = 0, .size = 4096, .uva = 0x10000};
    assert_int_equal(vq_mem_add_region(m, &d, p[0]), -EINVAL);
    int dev = open("/dev/zero", O_RDWR | O_CLOEXEC);
    assert_true(dev >= 0);
    assert_int_equal(vq_mem_add_region(m, &d, dev), -EINVAL);

    d = (struct vq_mem_region_desc){.gpa = 0x10000, .size = 8192, .uva = 0x7f0000, .mmap_offset = 0};
    assert_int_equal(vq_mem_add_region(m, &d, memfd_of(8192)), 0);
    /* Overlaps in guest-physical or frontend-virtual space. */
    struct vq_mem_region_desc o = {.gpa = 0x11000, .size = 4096, .uva = 0x900000};
    assert_int_equal(vq_mem_add_region(m, &o, memfd_of(4096)), -EEXIST);
    o = (struct vq_mem_region_desc){.gpa = 0x90000, .size = 4096, .uva = 0x7f1000};
    assert_int_equal(vq_mem_add_region(m, &o, memfd_of(4096)), -EEXIST);
    o = (struct vq_mem_region_desc){.gpa = 0x90000, .size = 4096, .uva = 0x900000};
    assert_int_equal(vq_mem_add_region(m, &o, memfd_of(4096)), 0);
    o.gpa = 0xa0000;
    o.uva = 0xa00000;
    assert_int_equal(vq_mem_add_region(m, &o, memfd_of(4096)), -ENOSPC); /* table full */
    assert_int_equal(m->n, 2);
    vq_mem_destroy(m);
    vq_mem_destroy(NULL);
}

/* Two regions adjacent in guest-physical space but not in our address
 * space, plus a hole: translations stay inside, split at the boundary and
 * refuse the hole. */
struct layout {
    struct vq_mem *m;
    uint8_t *a, *b; /* our view of the two regions, through separate maps */
};

static int setup_layout(void **state)
{
    struct layout *l = calloc(1, sizeof(*l));
    assert_int_equal(vq_mem_create(8, &l->m), 0);
    int fa = memfd_of(0x11000), fb = memfd_of(0x10000);
    l->a = mmap(NULL, 0x11000, PROT_READ | PROT_WRITE, MAP_SHARED, fa, 0);
    l->b = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, fb, 0);
    /* Region A starts 0x1000 into its file (mmap_offset not at 0). */
    struct vq_mem_region_desc da = {.gpa = 0x100000, .size = 0x10000, .uva = 0x7000000,
                                    .mmap_offset = 0x1000};
    struct vq_mem_region_desc db = {.gpa = 0x110000, .size = 0x10000, .uva = 0x8000000};
    assert_int_equal(vq_mem_add_region(l->m, &db, fb), 0);
    assert_int_equal(vq_mem_add_region(l->m, &da, fa), 0);
    *state = l;
    return 0;
}

static int teardown_layout(void **state)
{
    struct layout *l = *state;
    munmap(l->a, 0x11000);
    munmap(l->b, 0x10000);
    vq_mem_destroy(l->m);
    free(l);
    return 0;
}

static void test_translation_inside_one_region(void **state)
{
    struct layout *l = *state;
    uint8_t *p = vq_mem_gpa_to_hva(l->m, 0x100010, 16);
    assert_non_null(p);
    strcpy((char *)p, "guest data");
    assert_string_equal((char *)l->a + 0x1000 + 0x10, "guest data");
    assert_ptr_equal(vq_mem_gpa_to_hva(l->m, 0x10ffff, 1), p - 0x10 + 0xffff);
    assert_null(vq_mem_gpa_to_hva(l->m, 0x10ffff, 2)); /* crosses into B */
    assert_null(vq_mem_gpa_to_hva(l->m, 0xfffff, 1));  /* below A */
    assert_null(vq_mem_gpa_to_hva(l->m, 0x120000, 1)); /* past B */
    assert_null(vq_mem_gpa_to_hva(l->m, 0x100000, UINT64_MAX));
    assert_non_null(vq_mem_uva_to_hva(l->m, 0x8000000, 0x10000));
    assert_null(vq_mem_uva_to_hva(l->m, 0x8000000, 0x10001));
    assert_null(vq_mem_uva_to_hva(l->m, 0x6fff000, 1));
}

static void test_iov_split_across_regions(void **state)
{
    struct layout *l = *state;
    struct iovec iov[4];
    int n = vq_mem_gpa_to_iov(l->m, 0x10fff0, 0x20, iov, 4);
    assert_int_equal(n, 2);
    /* The table maps the files itself: check through our own views. */
    assert_int_equal(iov[0].iov_len, 0x10);
    assert_int_equal(iov[1].iov_len, 0x10);
    memset(iov[0].iov_base, 0x11, 0x10);
    memset(iov[1].iov_base, 0x22, 0x10);
    assert_int_equal(l->a[0x1000 + 0xfff0], 0x11);
    assert_int_equal(l->a[0x1000 + 0xffff], 0x11);
    assert_int_equal(l->b[0], 0x22);
    assert_int_equal(l->b[0xf], 0x22);
    assert_int_equal(vq_mem_gpa_to_iov(l->m, 0x10fff0, 0x20, iov, 1), -ENOBUFS);
    assert_int_equal(vq_mem_gpa_to_iov(l->m, 0x11fff0, 0x20, iov, 4), -EFAULT); /* into the hole */
    assert_int_equal(vq_mem_gpa_to_iov(l->m, 0x100000, 0, iov, 4), 0);
    assert_int_equal(vq_mem_gpa_to_iov(l->m, UINT64_MAX, 2, iov, 4), -EFAULT);

    memset(l->a + 0x1000 + 0xfffe, 0xab, 2);
    memset(l->b, 0xcd, 2);
    uint8_t out[4];
    assert_int_equal(vq_mem_read(l->m, 0x10fffe, out, 4), 0);
    assert_int_equal(out[0], 0xab);
    assert_int_equal(out[1], 0xab);
    assert_int_equal(out[2], 0xcd);
    assert_int_equal(out[3], 0xcd);
    assert_int_equal(vq_mem_read(l->m, 0x11fffe, out, 4), -EFAULT);
}

static void test_remove_and_clone(void **state)
{
    struct layout *l = *state;
    struct vq_mem *c;
    assert_int_equal(vq_mem_clone_unowned(l->m, &c), 0);
    struct vq_mem_region_desc db = {.gpa = 0x110000, .size = 0x10000, .uva = 0x8000000};
    struct vq_mem_region_desc wrong = {.gpa = 0x110000, .size = 0x1000, .uva = 0x8000000};
    assert_int_equal(vq_mem_remove_region(c, &wrong), -ENOENT);
    assert_int_equal(vq_mem_remove_region(c, &db), 0); /* unowned: nothing unmapped */
    assert_null(vq_mem_gpa_to_hva(c, 0x110000, 1));
    assert_non_null(vq_mem_gpa_to_hva(l->m, 0x110000, 1)); /* original intact */
    vq_mem_destroy(c);
    assert_int_equal(vq_mem_remove_region(l->m, &db), 0);
    assert_null(vq_mem_gpa_to_hva(l->m, 0x110000, 1));
}

/* Many regions: lookups go through a binary search; check every one. */
static void test_many_regions(void **state)
{
    struct vq_mem *m;
    assert_int_equal(vq_mem_create(VQ_MEM_MAX_REGIONS, &m), 0);
    static uint8_t backing[64][256];
    for (int i = 63; i >= 0; i--) {
        struct vq_mem_region_desc d = {.gpa = (uint64_t)i * 0x1000, .size = 256,
                                       .uva = 0x100000 + (uint64_t)i * 0x1000};
        assert_int_equal(vq_mem_add_mapped(m, &d, backing[i]), 0);
    }
    for (int i = 0; i < 64; i++) {
        assert_ptr_equal(vq_mem_gpa_to_hva(m, (uint64_t)i * 0x1000 + 7, 1), &backing[i][7]);
        assert_null(vq_mem_gpa_to_hva(m, (uint64_t)i * 0x1000 + 256, 1));
    }
    vq_mem_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_regions_are_refused),
        cmocka_unit_test_setup_teardown(test_translation_inside_one_region, setup_layout,
                                        teardown_layout),
        cmocka_unit_test_setup_teardown(test_iov_split_across_regions, setup_layout,
                                        teardown_layout),
        cmocka_unit_test_setup_teardown(test_remove_and_clone, setup_layout, teardown_layout),
        cmocka_unit_test(test_many_regions),
    };
    return cmocka_run_group_tests_name("virtio mem", tests, NULL, NULL);
}
