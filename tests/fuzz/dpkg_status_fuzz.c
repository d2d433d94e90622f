/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the package-database parsers behind
 * gfs_inspect_list_applications() (lib/guestfs/inspect_apps.c). Input: a
 * dpkg status file (the corpus holds real-looking ones with continuation
 * lines, epochs, odd Status words); the same bytes also go through the apk
 * parser. Whatever the input, nothing may crash or hang, and every entry
 * that comes back must keep the documented invariants (non-empty name
 * without blanks or control characters, bounded fields, epoch >= 0).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inspect_internal.h"

static void check(const struct gfs_app *apps, int n)
{
    if (n < 0 || n > GFS_APPS_MAX_ENTRIES || (n == 0 && apps))
        abort();
    for (int i = 0; i < n; i++) {
        const struct gfs_app *a = &apps[i];
        if (!a->name[0] || strlen(a->name) > GFS_APPS_MAX_SHORT || a->epoch < 0 ||
            strlen(a->version) > GFS_APPS_MAX_SHORT || strlen(a->release) > GFS_APPS_MAX_SHORT ||
            strlen(a->arch) > GFS_APPS_MAX_SHORT || strlen(a->url) > GFS_APPS_MAX_URL ||
            strlen(a->source_package) > GFS_APPS_MAX_SHORT ||
            strlen(a->summary) > GFS_APPS_MAX_SUMMARY ||
            strlen(a->description) > GFS_APPS_MAX_DESCRIPTION)
            abort();
        for (const char *p = a->name; *p; p++)
            if ((unsigned char)*p <= 0x20 || *p == 0x7F)
                abort();
        if (i > 0 && strcmp(apps[i - 1].name, a->name) > 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gfs_app *apps;
    int n = gfs__parse_dpkg_status((const char *)data, size, &apps);
    gfs__sort_apps(apps, n);
    check(apps, n);
    gfs_inspect_free_applications(apps, n);
    n = gfs__parse_apk_installed((const char *)data, size, &apps);
    gfs__sort_apps(apps, n);
    check(apps, n);
    gfs_inspect_free_applications(apps, n);
    return 0;
}
