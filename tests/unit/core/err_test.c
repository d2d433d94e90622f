/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>

#include "kk_err.h"
#include "kk_test.h"

static void test_strerror_and_names(void **state)
{
    assert_string_equal(kk_strerror(-ENOENT), "No such file or directory");
    assert_string_equal(kk_strerror(ENOENT), "No such file or directory");
    assert_string_equal(kk_strerror(-99999), "Unknown error");
    assert_string_equal(kk_errname(-EINVAL), "EINVAL");
    assert_string_equal(kk_errname(-99999), "E?");
    errno = 0;
    assert_int_equal(kk_neg_errno(), -EIO);
    errno = EAGAIN;
    assert_int_equal(kk_neg_errno(), -EAGAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_and_names),
    };
    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
