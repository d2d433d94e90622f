/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fish_inspect.c — kvmkit fish: inspect-os, inspect-get-roots and the
 * inspect-get-* fields of a root found by the last inspect-os (inspect.h),
 * and inspect-list-applications(2) (gfs_inspect_list_applications()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fish.h"

#define CMD(n) static int n(struct fish *f, const struct fish_cmd *c, int argc, char **argv)

CMD(cmd_inspect_os)
{
    (void)argc, (void)argv;
    /* as libguestfs: everything is unmounted first */
    gfs_umount_all(f->h);
    gfs_inspect_free(f->roots, f->nroots);
    f->roots = NULL;
    f->nroots = 0;
    struct gfs_os *roots;
    int n = gfs_inspect_os(f->h, &roots);
    if (n < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    f->roots = roots;
    f->nroots = n;
    for (int i = 0; i < n; i++)
        printf("%s\n", roots[i].root);
    return 0;
}

CMD(cmd_inspect_get_roots)
{
    (void)c, (void)argc, (void)argv;
    for (int i = 0; i < f->nroots; i++)
        printf("%s\n", f->roots[i].root);
    return 0;
}

/* The inspected root named by @arg, or NULL after the error. */
static const struct gfs_os *root_arg(struct fish *f, const struct fish_cmd *c, const char *arg)
{
    const struct gfs_device *d = fish_device_arg(f, c, arg);
    if (!d)
        return NULL;
    for (int i = 0; i < f->nroots; i++)
        if (strcmp(f->roots[i].root, d->name) == 0)
            return &f->roots[i];
    fish_daemon_error(f, c, "%s: root device not found: only call this function with a root "
                            "device previously returned by guestfs_inspect_os", d->name);
    return NULL;
}

CMD(cmd_inspect_field)
{
    (void)argc;
    const struct gfs_os *os = root_arg(f, c, argv[0]);
    if (!os)
        return -1;
    const char *what = c->name + strlen("inspect-get-");
    if (strcmp(what, "type") == 0)
        printf("%s\n", os->type);
    else if (strcmp(what, "distro") == 0)
        printf("%s\n", os->distro);
    else if (strcmp(what, "major-version") == 0)
        printf("%d\n", os->major_version);
    else if (strcmp(what, "minor-version") == 0)
        printf("%d\n", os->minor_version);
    else if (strcmp(what, "product-name") == 0)
        printf("%s\n", os->product_name);
    else if (strcmp(what, "product-variant") == 0)
        printf("%s\n", os->product_variant);
    else if (strcmp(what, "hostname") == 0)
        printf("%s\n", os->hostname);
    else if (strcmp(what, "arch") == 0)
        printf("%s\n", os->arch);
    else if (strcmp(what, "package-format") == 0)
        printf("%s\n", os->package_format);
    else if (strcmp(what, "package-management") == 0)
        printf("%s\n", os->package_management);
    else if (strcmp(what, "osinfo") == 0)
        printf("%s\n", os->osinfo);
    else if (strcmp(what, "format") == 0)
        printf("%s\n", os->format[0] ? os->format : "installed");
    else if (strcmp(what, "windows-systemroot") == 0 || strcmp(what, "windows-current-control-set") == 0)
        return fish_daemon_error(f, c, "not a Windows guest, or systemroot could not be "
                                       "determined");
    else if (strcmp(what, "mountpoints") == 0) {
        /* guestfish prints both lists last fstab entry first */
        if (os->nmountpoints == 0)
            printf("/: %s\n", os->root);
        for (size_t i = os->nmountpoints; i-- > 0;)
            printf("%s: %s\n", os->mountpoints[i].mountpoint, os->mountpoints[i].device);
    } else if (strcmp(what, "filesystems") == 0) {
        if (os->nfilesystems == 0)
            printf("%s\n", os->root);
        for (size_t i = os->nfilesystems; i-- > 0;)
            printf("%s\n", os->filesystems[i]);
    }
    return 0;
}

CMD(cmd_inspect_is)
{
    (void)argc;
    if (!root_arg(f, c, argv[0]))
        return -1;
    printf("false\n"); /* live CDs, netinst, multipart: disk images are installed systems */
    return 0;
}

static void print_app_field(const char *name, const char *v)
{
    printf("  %s: %s\n", name, v ? v : "");
}

CMD(cmd_inspect_list_applications)
{
    (void)argc;
    const struct gfs_os *os = root_arg(f, c, argv[0]);
    if (!os)
        return -1;
    /* libguestfs reads the package database through the mounted tree; its
     * first call there is filesize, which is what it reports unmounted */
    struct fish_cmd as_filesize = *c;
    as_filesize.name = "filesize";
    as_filesize.api = NULL;
    if (fish_need_root(f, &as_filesize) < 0)
        return -1;
    struct gfs_app *apps;
    int n = gfs_inspect_list_applications(f->h, os, &apps);
    if (n < 0)
        return fish_daemon_error(f, c, "%s", gfs_last_error(f->h));
    bool v2 = strcmp(c->name, "inspect-list-applications2") == 0;
    const char *p = v2 ? "app2_" : "app_";
    for (int i = 0; i < n; i++) {
        const struct gfs_app *a = &apps[i];
        char k[32];
        printf("[%d] = {\n", i);
#define F(name, v)                                      \
    do {                                                \
        snprintf(k, sizeof(k), "%s%s", p, name);        \
        print_app_field(k, v);                          \
    } while (0)
        F("name", a->name);
        F("display_name", "");
        printf("  %sepoch: %d\n", p, a->epoch);
        F("version", a->version);
        F("release", a->release);
        if (v2)
            F("arch", a->arch);
        F("install_path", "");
        F("trans_path", "");
        F("publisher", "");
        F("url", a->url);
        F("source_package", a->source_package);
        F("summary", a->summary);
        F("description", a->description);
        if (v2) {
            F("spare1", "");
            F("spare2", "");
            F("spare3", "");
            F("spare4", "");
        }
#undef F
        printf("}\n");
    }
    gfs_inspect_free_applications(apps, n);
    return 0;
}

#define D FISH_DAEMON
#define FIELD(n, desc) {"inspect-get-" n, NULL, D, 1, 1, "inspect-get-" n " root", desc, \
                        cmd_inspect_field}

const struct fish_cmd fish_inspect_cmds[] = {
    {"inspect-os", NULL, D, 0, 0, "inspect-os",
     "inspect disk and return list of operating systems found", cmd_inspect_os},
    {"inspect-get-roots", NULL, D, 0, 0, "inspect-get-roots",
     "return list of operating systems found by last inspection", cmd_inspect_get_roots},
    FIELD("type", "get type of inspected operating system"),
    FIELD("distro", "get distro of inspected operating system"),
    FIELD("major-version", "get major version of inspected operating system"),
    FIELD("minor-version", "get minor version of inspected operating system"),
    FIELD("product-name", "get product name of inspected operating system"),
    FIELD("product-variant", "get product variant of inspected operating system"),
    FIELD("hostname", "get hostname of the operating system"),
    FIELD("arch", "get architecture of inspected operating system"),
    FIELD("package-format", "get package format used by the operating system"),
    FIELD("package-management", "get package management tool used by the operating system"),
    FIELD("osinfo", "get a possible osinfo short ID corresponding to this operating system"),
    FIELD("format", "get format of inspected operating system"),
    FIELD("mountpoints", "get mountpoints of inspected operating system"),
    FIELD("filesystems", "get filesystems associated with inspected operating system"),
    FIELD("windows-systemroot", "get Windows systemroot of inspected operating system"),
    {"inspect-is-live", NULL, D, 1, 1, "inspect-is-live root",
     "get live flag for install disk", cmd_inspect_is},
    {"inspect-is-netinst", NULL, D, 1, 1, "inspect-is-netinst root",
     "get netinst (network installer) flag for install disk", cmd_inspect_is},
    {"inspect-is-multipart", NULL, D, 1, 1, "inspect-is-multipart root",
     "get multipart flag for install disk", cmd_inspect_is},
    {"inspect-list-applications", NULL, D, 1, 1, "inspect-list-applications root",
     "get list of applications installed in the operating system",
     cmd_inspect_list_applications},
    {"inspect-list-applications2", NULL, D, 1, 1, "inspect-list-applications2 root",
     "get list of applications installed in the operating system",
     cmd_inspect_list_applications},
    {NULL, NULL, 0, 0, 0, NULL, NULL, NULL},
};
