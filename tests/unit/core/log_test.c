/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <unistd.h>

#include "kk_log.h"
#include "kk_test.h"

KK_LOG_COMPONENT(test_log, "testcomp");
KK_LOG_COMPONENT(other_log, "othercomp");

struct lines {
    char last[2048];
    int count;
    int level;
};

static struct lines captured;

static void sink(void *arg, enum kk_log_level level, const char *component, const char *line)
{
    struct lines *l = arg;
    snprintf(l->last, sizeof(l->last), "%s", line);
    l->count++;
    l->level = level;
}

static int setup(void **state)
{
    memset(&captured, 0, sizeof(captured));
    kk_log_set_sink(sink, &captured);
    kk_log_set_level(KK_LOG_INFO);
    kk_log_set_component_level("testcomp", -1);
    kk_log_set_component_level("othercomp", -1);
    return 0;
}

static int teardown(void **state)
{
    kk_log_set_sink(NULL, NULL);
    return 0;
}

static void test_bad_specs_change_nothing(void **state)
{
    assert_int_equal(kk_log_set_levels(""), -EINVAL);
    assert_int_equal(kk_log_set_levels("loud"), -EINVAL);
    assert_int_equal(kk_log_set_levels("debug,testcomp=loud"), -EINVAL);
    assert_int_equal(kk_log_set_levels("debug,=info"), -EINVAL);
    assert_int_equal(kk_log_set_levels("debug,nosuch=info"), -ENOENT);
    assert_int_equal(kk_log_set_levels("debug,,"), -EINVAL);
    assert_int_equal(kk_log_get_level(), KK_LOG_INFO); /* untouched */
    assert_int_equal(kk_log_set_component_level("nosuch", 1), -ENOENT);
    assert_int_equal(kk_log_level_parse("nope"), -EINVAL);
}

static void test_line_format_and_levels(void **state)
{
    kk_log_set_thread_name("worker7");
    KK_LOGI(test_log, "port %d up", 3);
    assert_int_equal(captured.count, 1);
    /* 2026-11-26T12:34:56.789Z INFO  testcomp [worker7] port 3 up */
    assert_int_equal(strlen(captured.last) > 24, 1);
    assert_int_equal(captured.last[4], '-');
    assert_int_equal(captured.last[10], 'T');
    assert_int_equal(captured.last[23], 'Z');
    assert_non_null(strstr(captured.last, " INFO  testcomp [worker7] port 3 up"));

    KK_LOGD(test_log, "hidden");
    assert_int_equal(captured.count, 1);
    assert_int_equal(kk_log_set_levels("warn,testcomp=debug"), 0);
    KK_LOGD(test_log, "shown");
    assert_int_equal(captured.count, 2);
    assert_int_equal(captured.level, KK_LOG_DEBUG);
    KK_LOGI(other_log, "hidden: global level is warn");
    assert_int_equal(captured.count, 2);
    KK_LOGE(other_log, "errors pass");
    assert_int_equal(captured.count, 3);
    assert_true(kk_log_enabled(&test_log, KK_LOG_DEBUG));
    assert_false(kk_log_enabled(&test_log, KK_LOG_TRACE));
}

static void test_control_characters_are_escaped(void **state)
{
    KK_LOGW(test_log, "peer said %s", "evil\nFAKE ERR line\r");
    assert_null(strchr(captured.last, '\n'));
    assert_null(strchr(captured.last, '\r'));
    assert_non_null(strstr(captured.last, "evil?FAKE ERR line?"));
}

static void test_rate_limited_call_site(void **state)
{
    for (int i = 0; i < 100; i++)
        KK_LOGW_RL(test_log, "flood %d", i);
    assert_int_equal(captured.count, KK_LOG_RL_BURST);
    assert_non_null(strstr(captured.last, "flood 9"));
}

static void test_ratelimit_window_reports_suppressed(void **state)
{
    struct kk_ratelimit rl = {0};
    uint32_t supp;
    int allowed = 0;
    for (int i = 0; i < 10; i++)
        allowed += kk_ratelimit_allow(&rl, 3, 20 * 1000 * 1000, &supp);
    assert_int_equal(allowed, 3);
    usleep(40000); /* a new window */
    assert_true(kk_ratelimit_allow(&rl, 3, 20 * 1000 * 1000, &supp));
    assert_int_equal(supp, 7);
    assert_true(kk_ratelimit_allow(&rl, 3, 20 * 1000 * 1000, &supp));
    assert_int_equal(supp, 0);
}

static void visit(void *arg, const char *name, int level)
{
    if (strcmp(name, "testcomp") == 0)
        (*(int *)arg)++;
}

static void test_components_are_registered(void **state)
{
    int found = 0;
    kk_log_for_each_component(visit, &found);
    assert_int_equal(found, 1);
    assert_string_equal(kk_log_level_name(KK_LOG_WARN), "WARN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_specs_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_format_and_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_characters_are_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limited_call_site, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ratelimit_window_reports_suppressed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_components_are_registered, setup, teardown),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
