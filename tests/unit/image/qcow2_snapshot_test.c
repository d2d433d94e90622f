/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2 snapshot operations as one atomic switch (qcow2_snapshot.c): a
 * process that dies right before the header write leaves the old state, one
 * that dies right after it the new one, each with exact refcounts and bit-63
 * flags (check finds no leak and no error); an operation abandoned at the
 * switch leaves the open image usable; repeated operations keep the image
 * exact and its file from growing. Every case runs on a table of geometries.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "kk_test.h"
#include "qcow2_internal.h"

#define SIZE (2u << 20)

/* Writable without fdatasync: these tests kill processes, they do not cut
 * the power, and the machine's disk is shared. */
static const struct img_open_opts fast = {.flags = IMG_O_RDWR | IMG_O_UNSAFE};

struct geometry {
    const char *name;
    uint32_t cluster_size;
    bool extended_l2;
    int refcount_bits;
    int version;
};

static const struct geometry geometries[] = {
    {"4 KiB clusters", 4096, false, 16, 3},
    {"64 KiB clusters", 65536, false, 16, 3},
    {"32 KiB clusters, extended L2", 32768, true, 16, 3},
    {"512 B clusters, 8-bit refcounts", 512, false, 8, 3},
    {"16 KiB clusters, version 2", 16384, false, 16, 2},
    {"4 KiB clusters, 2-bit refcounts", 4096, false, 2, 3},
};

/* What an image should hold: the active contents and each snapshot's. */
struct expect {
    unsigned n;
    const char *names[4];
    const uint8_t *data[4];
    const uint8_t *active;
};

static char *path_in(const char *dir, const char *name)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static uint64_t file_size(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return (uint64_t)st.st_size;
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed * 37 + i / 512 + (i & 7) + 1);
}

static void expect_contents(const char *p, const char *snapshot, const uint8_t *want)
{
    struct img *img;
    struct img_open_opts o = {.snapshot = snapshot};
    assert_int_equal(img_open(p, &o, &img), 0);
    uint8_t *got = malloc(SIZE);
    assert_int_equal(img_pread(img, got, SIZE, 0), 0);
    assert_memory_equal(got, want, SIZE);
    free(got);
    img_close(img);
}

/* The image holds exactly @e, and check finds neither leaks nor errors
 * (bit 63 included: the check counts a wrong one as an error, as qemu-img). */
static void expect_state(const char *p, const struct expect *e)
{
    struct img *img;
    assert_int_equal(img_open(p, NULL, &img), 0);
    struct img_snapshot *list;
    assert_int_equal(img_snapshot_list(img, &list), (int)e->n);
    for (unsigned i = 0; i < e->n; i++)
        assert_string_equal(list[i].name, e->names[i]);
    free(list);
    struct img_check_result r;
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.corruptions, 0);
    assert_int_equal(r.leaks, 0);
    assert_int_equal(r.check_errors, 0);
    img_close(img);
    expect_contents(p, NULL, e->active);
    for (unsigned i = 0; i < e->n; i++)
        expect_contents(p, e->names[i], e->data[i]);
}

/* Snapshots "one" and "two", the active image differs from both; data,
 * compressed and zero clusters, several L2 tables. */
struct fixture {
    uint8_t *one, *two, *active;
};

static void make_image(const char *p, const struct geometry *g, struct fixture *f)
{
    struct img_create_opts o = {.format = "qcow2",
                                .size = SIZE,
                                .cluster_size = g->cluster_size,
                                .extended_l2 = g->extended_l2,
                                .refcount_bits = g->refcount_bits,
                                .version = g->version};
    assert_int_equal(img_create(p, &o), 0);
    struct img *img;
    assert_int_equal(img_open(p, &fast, &img), 0);
    f->one = calloc(1, SIZE);
    f->two = malloc(SIZE);
    f->active = malloc(SIZE);
    uint64_t cs = g->cluster_size;
    fill(f->one, 300000, 1);
    fill(f->one + 1200000, 100000, 2);
    assert_int_equal(img_pwrite(img, f->one, SIZE, 0), 0);
    assert_int_equal(img_snapshot_create(img, "one"), 0);
    memcpy(f->two, f->one, SIZE);
    fill(f->two + 100000, 50000, 3);
    assert_int_equal(img_pwrite(img, f->two + 100000, 50000, 100000), 0);
    if (g->refcount_bits >= 8) {
        /* A compressed cluster (2-bit refcounts cannot share packed ones). */
        fill(f->two + 4 * cs, cs, 4);
        assert_int_equal(img_write_compressed(img, f->two + 4 * cs, cs, 4 * cs), 0);
    }
    memset(f->two + 1200000, 0, 20000);
    assert_int_equal(img_write_zeroes(img, 1200000, 20000, 0), 0);
    assert_int_equal(img_snapshot_create(img, "two"), 0);
    memcpy(f->active, f->two, SIZE);
    fill(f->active + 1500000, 200000, 5);
    assert_int_equal(img_pwrite(img, f->active + 1500000, 200000, 1500000), 0);
    fill(f->active, 5000, 6);
    assert_int_equal(img_pwrite(img, f->active, 5000, 0), 0);
    img_close(img);
}

static void free_fixture(struct fixture *f)
{
    free(f->one);
    free(f->two);
    free(f->active);
}

enum op { OP_CREATE, OP_APPLY, OP_DELETE };
static const char *const op_names[] = {"create", "apply", "delete"};

static int run_op(struct img *img, enum op op)
{
    switch (op) {
    case OP_CREATE:
        return img_snapshot_create(img, "three");
    case OP_APPLY:
        return img_snapshot_apply(img, "one");
    case OP_DELETE:
        return img_snapshot_delete(img, "two");
    }
    return -EINVAL;
}

static void state_before(const struct fixture *f, struct expect *e)
{
    *e = (struct expect){.n = 2, .names = {"one", "two"}, .data = {f->one, f->two},
                         .active = f->active};
}

static void state_after(const struct fixture *f, enum op op, struct expect *e)
{
    state_before(f, e);
    if (op == OP_CREATE) {
        e->n = 3;
        e->names[2] = "three";
        e->data[2] = f->active;
    } else if (op == OP_APPLY) {
        e->active = f->one;
    } else {
        e->n = 1;
    }
}

static int crash_stage;

static int die_at_stage(struct qcow2 *q, int stage)
{
    (void)q;
    if (stage == crash_stage)
        _exit(0); /* no close, no flush: as if killed */
    return 0;
}

static int refuse_switch(struct qcow2 *q, int stage)
{
    (void)q;
    return stage == 0 ? -EINTR : 0;
}

/* A child runs @op and dies at @stage; the parent finds the old state
 * (stage 0) or the new one (stage 1), exact, and the image usable. */
static void crash_at(const char *p, const struct geometry *g, enum op op, int stage)
{
    struct fixture f;
    make_image(p, g, &f);
    uint64_t size_before = file_size(p);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct img *img;
        struct img_open_opts rw = {.flags = IMG_O_RDWR};
        if (img_open(p, &rw, &img) < 0)
            _exit(2);
        crash_stage = stage;
        qcow2__switch_hook = die_at_stage;
        run_op(img, op);
        _exit(3); /* the hook should have ended us */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    struct expect e;
    if (stage == 0) {
        state_before(&f, &e);
        /* The next state went to free clusters only: the file may only grow. */
        assert_true(file_size(p) >= size_before);
    } else {
        state_after(&f, op, &e);
    }
    print_message("# %s, %s, killed %s the switch: %s state, check clean\n", g->name,
                  op_names[op], stage ? "after" : "before", stage ? "new" : "old");
    expect_state(p, &e);
    /* The clusters the dead process wrote (or left unpunched) are reused;
     * the whole image is rewritten first so that a snapshot of it adds a
     * second reference only (2-bit refcounts). */
    struct img *img;
    assert_int_equal(img_open(p, &fast, &img), 0);
    uint8_t *buf = malloc(SIZE);
    fill(buf, SIZE, 9);
    assert_int_equal(img_pwrite(img, buf, SIZE, 0), 0);
    assert_int_equal(img_snapshot_create(img, "after-crash"), 0);
    struct img_check_result r;
    assert_int_equal(img_check(img, 0, &r), 0);
    assert_int_equal(r.corruptions + r.leaks, 0);
    img_close(img);
    expect_contents(p, "after-crash", buf);
    free(buf);
    free_fixture(&f);
}

static void test_killed_at_the_switch(void **state)
{
    (void)state;
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "k.qcow2");
    for (size_t g = 0; g < KK_ARRAY_SIZE(geometries); g++) {
        for (int op = OP_CREATE; op <= OP_DELETE; op++) {
            if (op == OP_CREATE && geometries[g].refcount_bits < 8)
                continue; /* a fourth reference: refused before the switch */
            crash_at(p, &geometries[g], (enum op)op, 0);
            crash_at(p, &geometries[g], (enum op)op, 1);
        }
    }
    free(p);
    kk_test_rmdir(dir);
}

/* An operation abandoned at the switch (an error there) leaves the open
 * image in its old state, the file as it was, and the operation can be
 * done afterwards. */
static void test_abandoned_at_the_switch(void **state)
{
    (void)state;
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "a.qcow2");
    for (size_t g = 0; g < KK_ARRAY_SIZE(geometries); g++) {
        for (int op = OP_CREATE; op <= OP_DELETE; op++) {
            if (op == OP_CREATE && geometries[g].refcount_bits < 8)
                continue;
            struct fixture f;
            make_image(p, &geometries[g], &f);
            uint64_t size_before = file_size(p);
            struct img *img;
            struct img_open_opts rw = {.flags = IMG_O_RDWR};
            assert_int_equal(img_open(p, &rw, &img), 0);
            qcow2__switch_hook = refuse_switch;
            assert_int_equal(run_op(img, (enum op)op), -EINTR);
            qcow2__switch_hook = NULL;
            assert_int_equal(file_size(p), size_before);
            struct img_check_result r;
            assert_int_equal(img_check(img, 0, &r), 0);
            assert_int_equal(r.corruptions + r.leaks, 0);
            assert_int_equal(run_op(img, (enum op)op), 0);
            img_close(img);
            struct expect e;
            state_after(&f, (enum op)op, &e);
            expect_state(p, &e);
            free_fixture(&f);
        }
    }
    free(p);
    kk_test_rmdir(dir);
}

/* Refused operations change nothing: a name that exists, a snapshot that
 * does not, 1-bit refcounts, and a refcount that would overflow (2 bits:
 * the active image and three snapshots share a cluster). */
static void test_refused_operations(void **state)
{
    (void)state;
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "r.qcow2");
    struct fixture f;
    make_image(p, &geometries[5], &f); /* 2-bit refcounts: at most 3 */
    struct img *img;
    struct img_open_opts rw = {.flags = IMG_O_RDWR};
    assert_int_equal(img_open(p, &rw, &img), 0);
    assert_int_equal(img_snapshot_create(img, "one"), -EEXIST);
    assert_int_equal(img_snapshot_apply(img, "nosuch"), -ENOENT);
    assert_int_equal(img_snapshot_delete(img, "nosuch"), -ENOENT);
    uint64_t size_before = file_size(p);
    assert_int_equal(img_snapshot_create(img, "three"), -ERANGE);
    assert_true(strstr(img_last_error(), "refcount_bits=2") != NULL);
    assert_int_equal(file_size(p), size_before);
    img_close(img);
    struct expect e;
    state_before(&f, &e);
    expect_state(p, &e);
    free_fixture(&f);
    struct img_create_opts o = {.format = "qcow2", .size = SIZE, .cluster_size = 4096,
                                .refcount_bits = 1};
    assert_int_equal(img_create(p, &o), 0);
    assert_int_equal(img_open(p, &rw, &img), 0);
    assert_int_equal(img_snapshot_create(img, "x"), -ERANGE);
    img_close(img);
    free(p);
    kk_test_rmdir(dir);
}

/* Random create/apply/delete/write sequences against a reference: after
 * every operation the image is exact (no leak, no error), and the file
 * does not grow with the number of operations. */
static void test_sequences_stay_exact(void **state)
{
    (void)state;
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "s.qcow2");
    for (size_t g = 0; g < KK_ARRAY_SIZE(geometries); g++) {
        const struct geometry *geo = &geometries[g];
        struct img_create_opts o = {.format = "qcow2", .size = SIZE,
                                    .cluster_size = geo->cluster_size,
                                    .extended_l2 = geo->extended_l2,
                                    .refcount_bits = geo->refcount_bits,
                                    .version = geo->version};
        assert_int_equal(img_create(p, &o), 0);
        struct img *img;
        assert_int_equal(img_open(p, &fast, &img), 0);
        uint8_t *active = calloc(1, SIZE), *snap[2] = {calloc(1, SIZE), calloc(1, SIZE)};
        bool have[2] = {false, false};
        uint64_t rng = 77 + g, size_mid = 0;
        unsigned max_snaps = geo->refcount_bits == 2 ? 1 : 2;
        for (int i = 0; i < 120; i++) {
            unsigned what = (unsigned)(kk_test_rand(&rng) % 4), k = (unsigned)(i / 4 % 2);
            char name[8];
            snprintf(name, sizeof(name), "n%u", k);
            if (k >= max_snaps)
                what = 0;
            if (what == 0) {
                uint64_t len = 1 + kk_test_rand(&rng) % 200000;
                uint64_t off = kk_test_rand(&rng) % (SIZE - len);
                fill(active + off, len, (unsigned)i);
                assert_int_equal(img_pwrite(img, active + off, len, off), 0);
                continue;
            }
            if (what == 1 && !have[k]) {
                assert_int_equal(img_snapshot_create(img, name), 0);
                memcpy(snap[k], active, SIZE);
                have[k] = true;
            } else if (what == 2 && have[k]) {
                assert_int_equal(img_snapshot_apply(img, name), 0);
                memcpy(active, snap[k], SIZE);
            } else if (what == 3 && have[k]) {
                assert_int_equal(img_snapshot_delete(img, name), 0);
                have[k] = false;
            } else {
                continue;
            }
            struct img_check_result r;
            assert_int_equal(img_check(img, 0, &r), 0);
            assert_int_equal(r.corruptions, 0);
            assert_int_equal(r.leaks, 0);
        }
        size_mid = file_size(p);
        uint8_t *got = malloc(SIZE);
        assert_int_equal(img_pread(img, got, SIZE, 0), 0);
        assert_memory_equal(got, active, SIZE);
        img_close(img);
        for (unsigned k = 0; k < 2; k++) {
            char name[8];
            snprintf(name, sizeof(name), "n%u", k);
            if (have[k])
                expect_contents(p, name, snap[k]);
        }
        /* Create, apply and delete the same snapshot over and over: the
         * old tables are given back each time. */
        assert_int_equal(img_open(p, &fast, &img), 0);
        uint64_t size_start = 0;
        for (int i = 0; i < 40; i++) {
            assert_int_equal(img_snapshot_create(img, "cycle"), 0);
            assert_int_equal(img_snapshot_apply(img, "cycle"), 0);
            assert_int_equal(img_snapshot_delete(img, "cycle"), 0);
            if (i == 0)
                size_start = file_size(p);
        }
        uint64_t size_end = file_size(p);
        print_message("# %s: file %" PRIu64 " bytes after the sequence, %" PRIu64
                      " after one cycle, %" PRIu64 " after 40\n",
                      geo->name, size_mid, size_start, size_end);
        assert_true(size_end <= size_start + 16 * (uint64_t)geo->cluster_size);
        struct img_check_result r;
        assert_int_equal(img_check(img, 0, &r), 0);
        assert_int_equal(r.corruptions + r.leaks, 0);
        assert_int_equal(img_pread(img, got, SIZE, 0), 0);
        assert_memory_equal(got, active, SIZE);
        img_close(img);
        free(got);
        free(active);
        free(snap[0]);
        free(snap[1]);
    }
    free(p);
    kk_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_operations),
        cmocka_unit_test(test_killed_at_the_switch),
        cmocka_unit_test(test_abandoned_at_the_switch),
        cmocka_unit_test(test_sequences_stay_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
