/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_test.h"
#include "vhu_msg.h"

static int pair[2];

static int setup(void **state)
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    struct timeval tv = {.tv_sec = 1};
    setsockopt(pair[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return 0;
}

static int teardown(void **state)
{
    close(pair[0]);
    close(pair[1]);
    return 0;
}

static void raw_send(const void *buf, size_t len, const int *fds, unsigned n)
{
    struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
    union {
        char b[CMSG_SPACE(16 * sizeof(int))];
        struct cmsghdr a;
    } ctl;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n) {
        mh.msg_control = ctl.b;
        mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(n * sizeof(int));
        memcpy(CMSG_DATA(c), fds, n * sizeof(int));
    }
    assert_int_equal(sendmsg(pair[0], &mh, 0), (ssize_t)len);
}

static void test_recv_rejects_non_messages(void **state)
{
    struct vhu_msg m;
    char why[128];
    uint32_t bad_version[3] = {VHU_GET_FEATURES, 0x2, 0};
    raw_send(bad_version, 12, NULL, 0);
    assert_int_equal(vhu_msg_recv(pair[1], &m, why, sizeof(why)), -EPROTO);
    assert_non_null(strstr(why, "version"));

    uint32_t reply[3] = {VHU_GET_FEATURES, VHU_VERSION | VHU_FLAG_REPLY, 0};
    raw_send(reply, 12, NULL, 0);
    assert_int_equal(vhu_msg_recv(pair[1], &m, why, sizeof(why)), -EPROTO);

    uint32_t huge[3] = {VHU_SET_FEATURES, VHU_VERSION, VHU_MAX_PAYLOAD + 1};
    raw_send(huge, 12, NULL, 0);
    assert_int_equal(vhu_msg_recv(pair[1], &m, why, sizeof(why)), -EPROTO);
    assert_non_null(strstr(why, "payload"));

    /* Header promises 8 bytes, only 4 come: the receive timeout ends it. */
    uint32_t trunc[4] = {VHU_SET_FEATURES, VHU_VERSION, 8, 0};
    raw_send(trunc, 16 - 4, NULL, 0);
    raw_send(&trunc[3], 4, NULL, 0); /* 4 of 8 */
    /* drain: header + 4 bytes of payload arrive, 4 missing */
    assert_int_equal(vhu_msg_recv(pair[1], &m, why, sizeof(why)), -EPROTO);
    assert_non_null(strstr(why, "truncated payload"));

    /* Too many descriptors: all closed, message refused. */
    int fds[12];
    for (int i = 0; i < 12; i++)
        fds[i] = eventfd(0, EFD_CLOEXEC);
    uint32_t ok[3] = {VHU_SET_OWNER, VHU_VERSION, 0};
    raw_send(ok, 12, fds, 12);
    assert_int_equal(vhu_msg_recv(pair[1], &m, why, sizeof(why)), -EPROTO);
    assert_int_equal(m.n_fds, 0);
    for (int i = 0; i < 12; i++)
        close(fds[i]);

    close(pair[0]);
    assert_int_equal(vhu_msg_recv(pair[1], &m, why, sizeof(why)), -ECONNRESET);
    pair[0] = -1;
}

static void test_send_recv_with_fds(void **state)
{
    struct vhu_msg out = {.request = VHU_SET_MEM_TABLE, .flags = VHU_VERSION};
    out.p.mem.nregions = 2;
    out.p.mem.regions[0] = (struct vhu_mem_region){0, 0x1000, 0x7000, 0};
    out.p.mem.regions[1] = (struct vhu_mem_region){0x1000, 0x1000, 0x8000, 0x10};
    out.size = 8 + 2 * sizeof(struct vhu_mem_region);
    int fds[2] = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)};
    assert_int_equal(vhu_msg_send(pair[0], &out, fds, 2), 0);
    struct vhu_msg in;
    char why[128];
    assert_int_equal(vhu_msg_recv(pair[1], &in, why, sizeof(why)), 0);
    assert_int_equal(in.request, VHU_SET_MEM_TABLE);
    assert_int_equal(in.n_fds, 2);
    assert_int_equal(in.p.mem.regions[1].mmap_offset, 0x10);
    assert_int_equal(vhu_msg_check(&in, why, sizeof(why)), 0);
    /* The received descriptors are live copies. */
    uint64_t one = 1, v = 0;
    assert_int_equal(write(fds[1], &one, 8), 8);
    assert_int_equal(read(in.fds[1], &v, 8), 8);
    assert_int_equal(v, 1);
    int taken = vhu_msg_take_fd(&in, 0);
    assert_true(taken >= 0);
    assert_int_equal(vhu_msg_take_fd(&in, 5), -1);
    vhu_msg_close_fds(&in);
    close(taken);
    close(fds[0]);
    close(fds[1]);
    assert_string_equal(vhu_request_name(VHU_GET_VRING_BASE), "GET_VRING_BASE");
    assert_string_equal(vhu_request_name(999), "UNKNOWN");
}

struct check_case {
    uint32_t request;
    uint32_t size;
    unsigned fds;
    uint64_t u64;     /* first payload word */
    uint64_t u64b;    /* second payload word */
    int expect;
};

static void test_check_table(void **state)
{
    static const struct check_case cases[] = {
        {VHU_GET_FEATURES, 0, 0, 0, 0, 0},
        {VHU_GET_FEATURES, 8, 0, 0, 0, -EINVAL},
        {VHU_SET_OWNER, 0, 1, 0, 0, -EINVAL},
        {VHU_SET_FEATURES, 8, 0, 0, 0, 0},
        {VHU_SET_FEATURES, 4, 0, 0, 0, -EINVAL},
        {VHU_SET_VRING_KICK, 8, 1, 3, 0, 0},
        {VHU_SET_VRING_KICK, 8, 0, 3 | VHU_VRING_NOFD, 0, 0},
        {VHU_SET_VRING_KICK, 8, 0, 3, 0, -EINVAL},            /* fd missing */
        {VHU_SET_VRING_CALL, 8, 1, 3 | VHU_VRING_NOFD, 0, -EINVAL}, /* fd and NOFD */
        {VHU_SET_VRING_ERR, 8, 1, 0x10003, 0, -EINVAL},        /* unknown bits */
        {VHU_SET_VRING_NUM, 8, 0, 5 | (256ull << 32), 0, 0},
        {VHU_SET_VRING_NUM, 8, 0, 256, 0, -EINVAL},            /* index 256 */
        {VHU_GET_VRING_BASE, 4, 0, 0, 0, -EINVAL},
        {VHU_SET_VRING_ADDR, 40, 0, 1, 0, 0},
        {VHU_SET_VRING_ADDR, 40, 0, 1 | (2ull << 32), 0, -EINVAL}, /* flags */
        {VHU_SET_VRING_ADDR, 40, 0, 300, 0, -EINVAL},
        {VHU_SET_MEM_TABLE, 8 + 32, 1, 1, 0, 0},
        {VHU_SET_MEM_TABLE, 8 + 32, 2, 1, 0, -EINVAL},          /* fd count */
        {VHU_SET_MEM_TABLE, 8 + 64, 1, 1, 0, -EINVAL},          /* size */
        {VHU_SET_MEM_TABLE, 8, 0, 0, 0, -EINVAL},               /* no regions */
        {VHU_SET_MEM_TABLE, 8 + 9 * 32, 8, 9, 0, -EINVAL},      /* too many */
        {VHU_SET_MEM_TABLE, 4, 0, 0, 0, -EINVAL},
        {VHU_ADD_MEM_REG, 40, 1, 0, 0, 0},
        {VHU_ADD_MEM_REG, 40, 0, 0, 0, -EINVAL},
        {VHU_REM_MEM_REG, 40, 0, 0, 0, 0},
        {VHU_REM_MEM_REG, 40, 1, 0, 0, 0},
        {VHU_GET_CONFIG, 12 + 8, 0, 0 | (8ull << 32), 0, 0},
        {VHU_GET_CONFIG, 12 + 8, 0, 252 | (8ull << 32), 0, -EINVAL}, /* past 256 */
        {VHU_GET_CONFIG, 12 + 4, 0, 0 | (8ull << 32), 0, -EINVAL},   /* size mismatch */
        {VHU_GET_CONFIG, 12, 0, 0 | (0xffffffffull << 32), 0, -EINVAL},
        {VHU_GET_INFLIGHT_FD, 24, 0, 0, 0, 0},
        {VHU_GET_INFLIGHT_FD, 20, 0, 0, 0, -EINVAL}, /* the packed size QEMU never sends */
        {VHU_SET_INFLIGHT_FD, 24, 0, 0, 0, -EINVAL}, /* no fd */
        {VHU_SET_INFLIGHT_FD, 24, 1, 0, 0, 0},
        {VHU_SET_LOG_BASE, 16, 1, 0, 0, 0},
        {VHU_SET_BACKEND_REQ_FD, 0, 1, 0, 0, 0},
        {VHU_IOTLB_MSG, 0, 0, 0, 0, -ENOTSUP},
        {77, 0, 0, 0, 0, -ENOTSUP},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        struct vhu_msg m;
        memset(&m, 0, sizeof(m));
        m.request = cases[i].request;
        m.flags = VHU_VERSION;
        m.size = cases[i].size;
        m.n_fds = cases[i].fds;
        memcpy(m.p.raw, &cases[i].u64, 8);
        memcpy(m.p.raw + 8, &cases[i].u64b, 8);
        char why[128] = "";
        int rc = vhu_msg_check(&m, why, sizeof(why));
        if (rc != cases[i].expect)
            fail_msg("case %zu (%s): got %d, expected %d (%s)", i,
                     vhu_request_name(cases[i].request), rc, cases[i].expect, why);
        if (rc < 0)
            assert_true(strlen(why) > 0);
    }
}

static void test_parse_buffer(void **state)
{
    uint8_t buf[12 + 8];
    uint32_t hdr[3] = {VHU_SET_FEATURES, VHU_VERSION, 8};
    uint64_t features = 0x123456789;
    memcpy(buf, hdr, 12);
    memcpy(buf + 12, &features, 8);
    struct vhu_msg m;
    char why[128];
    assert_int_equal(vhu_msg_parse(buf, sizeof(buf), NULL, 0, &m, why, sizeof(why)), 0);
    assert_int_equal(m.p.u64, 0x123456789);
    assert_int_equal(vhu_msg_parse(buf, 11, NULL, 0, &m, why, sizeof(why)), -EPROTO);
    assert_int_equal(vhu_msg_parse(buf, 19, NULL, 0, &m, why, sizeof(why)), -EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_recv_rejects_non_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_recv_with_fds, setup, teardown),
        cmocka_unit_test(test_check_table),
        cmocka_unit_test(test_parse_buffer),
    };
    return cmocka_run_group_tests_name("vhost-user messages", tests, NULL, NULL);
}
