/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/guestfs installed applications (inspect_apps.c): the dpkg status and
 * apk installed parsers on buffers. Malformed and hostile input first
 * (garbage, NUL bytes, bad epochs, overlong fields, too many entries,
 * random damage), then the fields and the version split as libguestfs
 * makes them, the sort, and the package formats that are not read.
 */
#include <errno.h>
#include <stdbool.h>

#include "inspect_internal.h"
#include "kk_test.h"

/* Append @s at text + *o. */
static void put(char *text, size_t *o, const char *s)
{
    size_t n = strlen(s);
    memcpy(text + *o, s, n);
    *o += n;
}

static int parse_dpkg(const char *s, struct gfs_app **apps)
{
    return gfs__parse_dpkg_status(s, strlen(s), apps);
}

/* Every entry's invariants, whatever the input. */
static void check_sane(const struct gfs_app *apps, int n)
{
    assert_true(n >= 0 && n <= GFS_APPS_MAX_ENTRIES);
    for (int i = 0; i < n; i++) {
        const struct gfs_app *a = &apps[i];
        assert_non_null(a->name);
        assert_true(a->name[0] != 0);
        for (const char *p = a->name; *p; p++)
            assert_true((unsigned char)*p > 0x20 && *p != 0x7F);
        assert_true(strlen(a->name) <= GFS_APPS_MAX_SHORT);
        assert_true(strlen(a->version) <= GFS_APPS_MAX_SHORT);
        assert_true(strlen(a->release) <= GFS_APPS_MAX_SHORT);
        assert_true(strlen(a->arch) <= GFS_APPS_MAX_SHORT);
        assert_true(strlen(a->url) <= GFS_APPS_MAX_URL);
        assert_true(strlen(a->source_package) <= GFS_APPS_MAX_SHORT);
        assert_true(strlen(a->summary) <= GFS_APPS_MAX_SUMMARY);
        assert_true(strlen(a->description) <= GFS_APPS_MAX_DESCRIPTION);
        assert_true(a->epoch >= 0);
        for (const char *p = a->description; *p; p++)
            assert_true((unsigned char)*p >= 0x20 || *p == '\n');
    }
}

static void test_garbage(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "",
        "\n\n\n",
        "Package\n",
        ":\n:\n",
        "Package: a\nStatus: install ok installed\n",          /* no Version */
        "Status: install ok installed\nVersion: 1\n",          /* no Package */
        "Package: \nStatus: install ok installed\nVersion: 1\n", /* empty name */
        "Package: a b\nStatus: install ok installed\nVersion: 1\n",
        " Package: a\n Status: install ok installed\n Version: 1\n", /* all continuation */
        "Package: a\nStatus: install ok installed\nVersion: x:1\n",
        "Package: a\nStatus: install ok installed\nVersion: :1\n",
        "Package: a\nStatus: install ok installed\nVersion: 2147483648:1\n",
        "Package: a\nStatus: install ok installed\nVersion: 99999999999:1\n",
        "Package: a\nStatus: install ok installed\nVersion: -1:1\n",
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        struct gfs_app *apps = (struct gfs_app *)1;
        assert_int_equal(parse_dpkg(inputs[i], &apps), 0);
        assert_null(apps);
    }
    /* Binary noise with NUL bytes: no crash, sane entries. */
    uint64_t seed = 42;
    char buf[4096];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (char)kk_test_rand(&seed);
        struct gfs_app *apps;
        int n = gfs__parse_dpkg_status(buf, sizeof(buf), &apps);
        check_sane(apps, n);
        gfs_inspect_free_applications(apps, n);
        n = gfs__parse_apk_installed(buf, sizeof(buf), &apps);
        check_sane(apps, n);
        gfs_inspect_free_applications(apps, n);
    }
}

static void test_status_words(void **state)
{
    (void)state;
    static const struct {
        const char *status;
        bool listed;
    } cases[] = {
        {"install ok installed", true},
        {"hold ok installed", true},
        {"install reinstreq installed", true},
        {"install  ok\tinstalled ", true},
        {"deinstall ok config-files", false},
        {"install ok half-installed", false}, /* libguestfs lists it */
        {"install ok unpacked", false},
        {"purge ok not-installed", false},
        {"installed", false},
        {"install ok installed extra", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "Package: p\nStatus: %s\nVersion: 1\n\n", cases[i].status);
        struct gfs_app *apps;
        int n = parse_dpkg(text, &apps);
        assert_int_equal(n, cases[i].listed ? 1 : 0);
        gfs_inspect_free_applications(apps, n);
    }
}

static void test_bounds(void **state)
{
    (void)state;
    size_t big = GFS_APPS_MAX_DESCRIPTION * 2;
    char *text = malloc(big + 4096);
    assert_non_null(text);
    struct gfs_app *apps;

    /* A name longer than the limit: the stanza is skipped. */
    size_t o = 0;
    put(text, &o, "Package: ");
    memset(text + o, 'n', GFS_APPS_MAX_SHORT + 1);
    o += GFS_APPS_MAX_SHORT + 1;
    put(text, &o, "\nStatus: install ok installed\nVersion: 1\n\n"
                  "Package: ok\nStatus: install ok installed\nVersion: 1\n");
    assert_int_equal(gfs__parse_dpkg_status(text, o, &apps), 1);
    assert_string_equal(apps[0].name, "ok");
    gfs_inspect_free_applications(apps, 1);

    /* An overlong URL is dropped, a long description cut (at a UTF-8
     * boundary), control characters replaced, NUL bytes harmless. */
    o = 0;
    put(text, &o, "Package: p\nStatus: install ok installed\nVersion: 1\nHomepage: ");
    memset(text + o, 'u', GFS_APPS_MAX_URL + 1);
    o += GFS_APPS_MAX_URL + 1;
    put(text, &o, "\nSource: s\x01rc (1.0)\nDescription: sum\x1bmary\n");
    while (o < big) {
        memcpy(text + o, " \xC3\xA9\xC3\xA9\xC3\xA9\n", 8); /* "ééé" lines */
        o += 8;
    }
    memcpy(text + o, " a\0b\n", 5);
    o += 5;
    assert_int_equal(gfs__parse_dpkg_status(text, o, &apps), 1);
    check_sane(apps, 1);
    assert_string_equal(apps[0].url, "");
    assert_string_equal(apps[0].source_package, "s?rc");
    assert_string_equal(apps[0].summary, "sum?mary");
    size_t dl = strlen(apps[0].description);
    /* 64 KiB of raw lines, less the blank that starts each 8-byte line */
    assert_true(dl > GFS_APPS_MAX_DESCRIPTION / 8 * 7 - 16 && dl <= GFS_APPS_MAX_DESCRIPTION);
    /* no split sequence at the end: the last byte ends "é" or a line */
    unsigned char last = (unsigned char)apps[0].description[dl - 1];
    assert_true(last == 0xA9 || last == '\n');
    gfs_inspect_free_applications(apps, 1);
    free(text);

    /* More entries than the limit: the first GFS_APPS_MAX_ENTRIES. */
    const char *stanza = "Package: p\nStatus: install ok installed\nVersion: 1\n\n";
    size_t sl = strlen(stanza), count = GFS_APPS_MAX_ENTRIES + 10;
    text = malloc(sl * count);
    assert_non_null(text);
    for (size_t i = 0; i < count; i++)
        memcpy(text + i * sl, stanza, sl);
    int n = gfs__parse_dpkg_status(text, sl * count, &apps);
    assert_int_equal(n, GFS_APPS_MAX_ENTRIES);
    gfs_inspect_free_applications(apps, n);
    free(text);
}

/* Random damage to a good file: whatever comes back is sane. */
static void test_random_damage(void **state)
{
    (void)state;
    static const char good[] =
        "Package: bash\nStatus: install ok installed\nArchitecture: amd64\n"
        "Source: bash (5.2.15-2)\nVersion: 5.2.15-2+b8\nHomepage: https://x/\n"
        "Description: GNU Bourne Again SHell\n Bash is ...\n .\n more\n\n"
        "Package: vim-tiny\nStatus: install ok installed\nVersion: 2:9.0-2\n\n";
    uint64_t seed = 7;
    char buf[sizeof(good)];
    for (int round = 0; round < 3000; round++) {
        memcpy(buf, good, sizeof(good));
        int flips = 1 + (int)(kk_test_rand(&seed) % 8);
        for (int i = 0; i < flips; i++) {
            size_t at = kk_test_rand(&seed) % (sizeof(good) - 1);
            static const char alphabet[] = ":- \n\0\t\x80\xff" "a1";
            buf[at] = alphabet[kk_test_rand(&seed) % (sizeof(alphabet) - 1)];
        }
        size_t len = kk_test_rand(&seed) % sizeof(good);
        struct gfs_app *apps;
        int n = gfs__parse_dpkg_status(buf, len, &apps);
        check_sane(apps, n);
        assert_true(n <= 2);
        gfs_inspect_free_applications(apps, n);
    }
}

static void test_dpkg_fields(void **state)
{
    (void)state;
    static const char text[] =
        "Package: bsdutils\n"
        "Status: install ok installed\n"
        "Architecture: amd64\n"
        "Source: util-linux (2.38.1-5+deb12u3)\n"
        "Version: 1:2.38.1-5+deb12u3\n"
        "Homepage: https://www.kernel.org/pub/linux/utils/util-linux/\n"
        "Description: basic utilities from 4.4BSD-Lite\n"
        " This package contains the bare minimum.\n"
        " .\n"
        " Second paragraph.\n"
        "\n"
        "Package: adduser\n"
        "Status: install ok installed\n"
        "Version: 3.134\n"
        "Architecture: all\n"
        "\n"
        "package: multi\r\n"
        "STATUS:   install ok installed\r\n"
        "Version:1.2-3-4\r\n"
        "Description: first\n"
        "Depends: x\n"
        " not a description line\n"
        "\n"
        "Package: last\n"
        "Status: install ok installed\n"
        "Version: 0:1.0\n"; /* no empty line at the end: still listed */
    struct gfs_app *apps;
    int n = parse_dpkg(text, &apps);
    assert_int_equal(n, 4);
    gfs__sort_apps(apps, n);
    assert_string_equal(apps[0].name, "adduser");
    assert_int_equal(apps[0].epoch, 0);
    assert_string_equal(apps[0].version, "3.134");
    assert_string_equal(apps[0].release, "");
    assert_string_equal(apps[0].arch, "all");
    assert_string_equal(apps[0].summary, "");
    assert_string_equal(apps[0].description, "");

    assert_string_equal(apps[1].name, "bsdutils");
    assert_int_equal(apps[1].epoch, 1);
    assert_string_equal(apps[1].version, "2.38.1");
    assert_string_equal(apps[1].release, "5+deb12u3");
    assert_string_equal(apps[1].arch, "amd64");
    assert_string_equal(apps[1].source_package, "util-linux");
    assert_string_equal(apps[1].url, "https://www.kernel.org/pub/linux/utils/util-linux/");
    assert_string_equal(apps[1].summary, "basic utilities from 4.4BSD-Lite");
    assert_string_equal(apps[1].description,
                        "This package contains the bare minimum.\n.\nSecond paragraph.");

    assert_string_equal(apps[2].name, "last");
    assert_int_equal(apps[2].epoch, 0);
    assert_string_equal(apps[2].version, "1.0");

    /* libguestfs's split: release after the first '-' */
    assert_string_equal(apps[3].name, "multi");
    assert_string_equal(apps[3].version, "1.2");
    assert_string_equal(apps[3].release, "3-4");
    assert_string_equal(apps[3].summary, "first");
    assert_string_equal(apps[3].description, "");
    gfs_inspect_free_applications(apps, n);
}

static void test_apk(void **state)
{
    (void)state;
    static const char text[] =
        "C:Q1abc=\n"
        "P:musl\n"
        "V:1.2.4-r2\n"
        "A:x86_64\n"
        "T:the musl c library (libc) implementation\n"
        "U:https://musl.libc.org/\n"
        "o:musl\n"
        "\n"
        "P\n"            /* one character: ignored (libguestfs reads past it) */
        "Pbad\n"
        "P:busybox\n"
        "V:1.36.1-r5\n"
        "A:x86_64\n"
        "\n"
        "P:noversion\n"
        "\n"
        "P:alpine-baselayout\n"
        "V:3.4.3\n";
    struct gfs_app *apps;
    int n = gfs__parse_apk_installed(text, strlen(text), &apps);
    assert_int_equal(n, 3);
    check_sane(apps, n);
    gfs__sort_apps(apps, n);
    assert_string_equal(apps[0].name, "alpine-baselayout");
    assert_string_equal(apps[0].version, "3.4.3");
    assert_string_equal(apps[0].release, "");
    assert_string_equal(apps[1].name, "busybox");
    assert_string_equal(apps[1].release, "5");
    assert_string_equal(apps[2].name, "musl");
    assert_string_equal(apps[2].version, "1.2.4");
    assert_string_equal(apps[2].release, "2");
    assert_string_equal(apps[2].arch, "x86_64");
    assert_string_equal(apps[2].url, "https://musl.libc.org/");
    assert_string_equal(apps[2].description, "the musl c library (libc) implementation");
    assert_string_equal(apps[2].summary, "");
    assert_string_equal(apps[2].source_package, "");
    gfs_inspect_free_applications(apps, n);
}

static void test_sort(void **state)
{
    (void)state;
    /* strcmp order (as libguestfs): upper case and digits before lower
     * case, "lib" before "lib-x" before "lib2"; same name: by arch. */
    static const char text[] =
        "Package: libc6\nStatus: install ok installed\nVersion: 1\nArchitecture: i386\n\n"
        "Package: lib2\nStatus: install ok installed\nVersion: 1\n\n"
        "Package: libc6\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n"
        "Package: Zed\nStatus: install ok installed\nVersion: 1\n\n"
        "Package: lib-x\nStatus: install ok installed\nVersion: 1\n\n"
        "Package: 0ad\nStatus: install ok installed\nVersion: 1\n\n"
        "Package: lib\nStatus: install ok installed\nVersion: 1\n\n";
    static const char *const want[][2] = {
        {"0ad", ""}, {"Zed", ""}, {"lib", ""}, {"lib-x", ""},
        {"lib2", ""}, {"libc6", "amd64"}, {"libc6", "i386"},
    };
    struct gfs_app *apps;
    int n = parse_dpkg(text, &apps);
    assert_int_equal(n, 7);
    gfs__sort_apps(apps, n);
    for (int i = 0; i < n; i++) {
        assert_string_equal(apps[i].name, want[i][0]);
        assert_string_equal(apps[i].arch, want[i][1]);
    }
    gfs_inspect_free_applications(apps, n);
    gfs__sort_apps(NULL, 0);
    gfs_inspect_free_applications(NULL, 0);
}

static void test_formats(void **state)
{
    (void)state;
    struct gfs_handle *h;
    assert_int_equal(gfs_handle_new(&h), 0);
    struct gfs_os os = {0};
    struct gfs_app *apps = (struct gfs_app *)1;

    strcpy(os.type, "linux");
    strcpy(os.package_format, "rpm");
    assert_int_equal(gfs_inspect_list_applications(h, &os, &apps), -EOPNOTSUPP);
    assert_null(apps);
    assert_non_null(strstr(gfs_last_error(h), "rpm"));

    strcpy(os.package_format, "pacman");
    assert_int_equal(gfs_inspect_list_applications(h, &os, &apps), -EOPNOTSUPP);

    /* Unknown format, or not Linux: an empty list, as libguestfs. */
    strcpy(os.package_format, "unknown");
    assert_int_equal(gfs_inspect_list_applications(h, &os, &apps), 0);
    assert_null(apps);
    strcpy(os.type, "windows");
    strcpy(os.package_format, "deb");
    assert_int_equal(gfs_inspect_list_applications(h, &os, &apps), 0);

    /* deb with nothing mounted: an error, not an empty list. */
    strcpy(os.type, "linux");
    assert_true(gfs_inspect_list_applications(h, &os, &apps) < 0);
    assert_null(apps);
    gfs_handle_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_status_words),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_random_damage),
        cmocka_unit_test(test_dpkg_fields),
        cmocka_unit_test(test_apk),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
