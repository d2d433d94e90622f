/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kk_config.h"
#include "kk_test.h"

static char *path_in(const char *dir, const char *name)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void test_load_errors(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "cfg.json");
    json_t *cfg = NULL;
    assert_int_equal(kk_config_load(p, &cfg), -ENOENT);
    write_file(p, "{\"a\": 1,");
    assert_int_equal(kk_config_load(p, &cfg), -EINVAL);
    write_file(p, "[1, 2]");
    assert_int_equal(kk_config_load(p, &cfg), -EINVAL); /* not an object */
    write_file(p, "{\"a\": 1, \"a\": 2}");
    assert_int_equal(kk_config_load(p, &cfg), -EINVAL); /* duplicate key */
    assert_int_equal(kk_config_load(dir, &cfg), -EINVAL); /* a directory */
    assert_null(cfg);
    assert_int_equal(kk_config_load(NULL, &cfg), -EINVAL);
    free(p);
    kk_test_rmdir(dir);
}

static void test_save_and_load_round_trip(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *p = path_in(dir, "switchd.json");
    json_t *cfg = json_pack("{s:[{s:s, s:i}], s:b, s:s}", "ports", "name", "vm1", "ofport", 1,
                            "stp", 0, "name", "br0");
    assert_int_equal(kk_config_save(p, cfg), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    json_t *back = NULL;
    assert_int_equal(kk_config_load(p, &back), 0);
    assert_true(json_equal(cfg, back));
    json_decref(back);

    /* Replacing keeps exactly one file: no temporary left behind. */
    json_object_set_new(cfg, "name", json_string("br1"));
    assert_int_equal(kk_config_save(p, cfg), 0);
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(kk_config_load(p, &back), 0);
    assert_string_equal(json_string_value(json_object_get(back, "name")), "br1");
    json_decref(back);
    json_decref(cfg);
    free(p);
    kk_test_rmdir(dir);
}

static void test_save_failure_leaves_old_file(void **state)
{
    char *dir = kk_test_mkdtemp();
    char *missing = path_in(dir, "no/such/dir/cfg.json");
    json_t *cfg = json_pack("{s:i}", "x", 1);
    assert_int_equal(kk_config_save(missing, cfg), -ENOENT);
    free(missing);

    /* A directory in the way of the rename: the save fails, the directory
     * and nothing else remain. */
    char *p = path_in(dir, "cfg.json");
    assert_int_equal(mkdir(p, 0700), 0);
    char *inner = path_in(p, "keep");
    write_file(inner, "x");
    assert_true(kk_config_save(p, cfg) < 0);
    assert_int_equal(count_entries(dir), 1);
    unlink(inner);
    rmdir(p);
    free(inner);
    free(p);
    json_decref(cfg);
    assert_int_equal(kk_file_write_atomic(NULL, "", 0, 0600), -EINVAL);
    kk_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_save_and_load_round_trip),
        cmocka_unit_test(test_save_failure_leaves_old_file),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
