/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virt_inspector.c — `kvmkit virt-inspector`: the operating systems in disk
 * images, printed as libguestfs 1.48's virt-inspector prints them (the
 * same XML elements in the same order, the same omissions of "unknown"
 * and empty values, the same sorting of mount points and filesystems,
 * libxml2's two-space indentation), or the same content as JSON (--json,
 * docs/guestfs-inspect.md has the schema).
 *
 * Everything printed from the guest (names, versions, descriptions, labels)
 * is untrusted: XML gets &, <, >, " escaped (and \r as &#13;, as libxml2
 * writes it), control characters other than tab and newline become '?', and
 * invalid UTF-8 becomes U+FFFD, so the document is always well-formed; JSON
 * strings are escaped by jansson after the same UTF-8 repair.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gfs_opts.h"
#include "guestfs_cli.h"

#define PROG "virt-inspector"

void virt_inspector_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit virt-inspector [OPTIONS] -a IMAGE [-a IMAGE ...]\n"
            "\n"
            "Describe the operating systems in disk images (raw or qcow2) as XML, like\n"
            "libguestfs's virt-inspector: distribution, version, hostname, architecture,\n"
            "mount points, filesystems and installed applications (dpkg, apk). Nothing\n"
            "is booted; the images are only read.\n"
            "\n"
            "Options:\n"
            "  -a, --add IMAGE        a disk image (repeat for more disks: /dev/sda, sdb, ...)\n"
            "  --format FMT           format of the following -a images: raw, qcow2, auto\n"
            "  --no-applications      do not list the installed applications\n"
            "  --no-icon              accepted (icons are never printed)\n"
            "  --json                 print JSON with the same content instead of XML\n"
            "  -v, --verbose          print warnings about the images to stderr\n"
            "  --help                 show this help\n"
            "\n"
            "Exit status: 0, 1 if an image cannot be read or holds no operating system,\n"
            "2 on a usage error.\n");
}

/* ---- text from the guest ---- */

/* Length of the valid UTF-8 sequence at @s (1-4), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/*
 * @s made printable: valid UTF-8 (bad bytes become U+FFFD), control
 * characters except '\t' and '\n' become '?'. Malloc'd; NULL on ENOMEM.
 */
static char *clean_text(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n * 3 + 1);
    if (!d)
        return NULL;
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(u + i, n - i);
        if (k == 0) {
            memcpy(d + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else if (k == 1) {
            unsigned char c = u[i++];
            d[o++] = (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F ? '?'
                                                                                  : (char)c;
        } else {
            memcpy(d + o, u + i, k);
            o += k;
            i += k;
        }
    }
    d[o] = 0;
    return d;
}

/* ---- output: one interface, XML or JSON ---- */

struct out {
    bool json;
    int depth;      /* XML indentation level */
    json_t *root;   /* JSON document */
    json_t *os;     /* the current operating system object */
    bool failed;    /* an allocation failed */
};

static void xml_escaped(const char *s, bool attribute)
{
    char *c = clean_text(s);
    if (!c) {
        fputs("?", stdout);
        return;
    }
    for (const char *p = c; *p; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", stdout);
            break;
        case '<':
            fputs("&lt;", stdout);
            break;
        case '>':
            fputs("&gt;", stdout);
            break;
        case '"':
            fputs("&quot;", stdout);
            break;
        case '\r':
            fputs("&#13;", stdout);
            break;
        case '\n':
            fputs(attribute ? "&#10;" : "\n", stdout);
            break;
        case '\t':
            fputs(attribute ? "&#9;" : "\t", stdout);
            break;
        default:
            putchar(*p);
        }
    }
    free(c);
}

static void xml_indent(const struct out *o)
{
    for (int i = 0; i < o->depth; i++)
        fputs("  ", stdout);
}

static void xml_start(struct out *o, const char *name)
{
    xml_indent(o);
    printf("<%s>\n", name);
    o->depth++;
}

static void xml_end(struct out *o, const char *name)
{
    o->depth--;
    xml_indent(o);
    printf("</%s>\n", name);
}

static void xml_empty(const struct out *o, const char *name)
{
    xml_indent(o);
    printf("<%s/>\n", name);
}

/* <name>text</name>, or <name attr="value">text</name>. */
static void xml_element(const struct out *o, const char *name, const char *attr,
                        const char *attr_value, const char *text)
{
    xml_indent(o);
    printf("<%s", name);
    if (attr) {
        printf(" %s=\"", attr);
        xml_escaped(attr_value, true);
        putchar('"');
    }
    putchar('>');
    xml_escaped(text, false);
    printf("</%s>\n", name);
}

static json_t *jstr(struct out *o, const char *s)
{
    char *c = clean_text(s);
    json_t *j = c ? json_string(c) : NULL;
    free(c);
    if (!j)
        o->failed = true;
    return j;
}

static void jset(struct out *o, json_t *obj, const char *key, json_t *value)
{
    if (!value || json_object_set_new(obj, key, value) != 0)
        o->failed = true;
}

static void jappend(struct out *o, json_t *arr, json_t *value)
{
    if (!value || json_array_append_new(arr, value) != 0)
        o->failed = true;
}

/* A string field, omitted when empty or "unknown" (@skip_unknown). */
static void os_field(struct out *o, const char *name, const char *value, bool skip_unknown)
{
    if (!value[0] || (skip_unknown && strcmp(value, "unknown") == 0))
        return;
    if (o->json)
        jset(o, o->os, name, jstr(o, value));
    else
        xml_element(o, name, NULL, NULL, value);
}

static void os_int(struct out *o, const char *name, int value)
{
    if (o->json) {
        jset(o, o->os, name, json_integer(value));
    } else {
        char buf[16];
        snprintf(buf, sizeof(buf), "%d", value);
        xml_element(o, name, NULL, NULL, buf);
    }
}

/* ---- sections ---- */

static int compare_mp(const void *pa, const void *pb)
{
    const struct gfs_inspect_mp *a = pa, *b = pb;
    size_t la = strlen(a->mountpoint), lb = strlen(b->mountpoint);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a->mountpoint, b->mountpoint);
}

static void output_mountpoints(struct out *o, const struct gfs_os *os)
{
    size_t n = os->nmountpoints;
    struct gfs_inspect_mp *mps = n ? malloc(n * sizeof(*mps)) : NULL;
    if (n && !mps) {
        o->failed = true;
        return;
    }
    if (n)
        memcpy(mps, os->mountpoints, n * sizeof(*mps));
    /* virt-inspector: shortest mount point first, then by name. */
    qsort(mps, n, sizeof(*mps), compare_mp);
    if (o->json) {
        json_t *arr = json_array();
        jset(o, o->os, "mountpoints", arr);
        for (size_t i = 0; arr && i < n; i++) {
            json_t *m = json_object();
            if (m) {
                jset(o, m, "dev", jstr(o, mps[i].device));
                jset(o, m, "mountpoint", jstr(o, mps[i].mountpoint));
            }
            jappend(o, arr, m);
        }
    } else if (n == 0) {
        xml_empty(o, "mountpoints");
    } else {
        xml_start(o, "mountpoints");
        for (size_t i = 0; i < n; i++)
            xml_element(o, "mountpoint", "dev", mps[i].device, mps[i].mountpoint);
        xml_end(o, "mountpoints");
    }
    free(mps);
}

static int compare_dev(const void *pa, const void *pb)
{
    return strcmp(pa, pb);
}

static void output_filesystems(struct out *o, struct gfs_handle *h, const struct gfs_os *os)
{
    size_t n = os->nfilesystems;
    char(*fss)[GFS_DEVNAME_MAX] = n ? malloc(n * sizeof(*fss)) : NULL;
    if (n && !fss) {
        o->failed = true;
        return;
    }
    if (n)
        memcpy(fss, os->filesystems, n * sizeof(*fss));
    qsort(fss, n, sizeof(*fss), compare_dev);
    json_t *arr = NULL;
    if (o->json) {
        arr = json_array();
        jset(o, o->os, "filesystems", arr);
    } else if (n == 0) {
        xml_empty(o, "filesystems");
    } else {
        xml_start(o, "filesystems");
    }
    for (size_t i = 0; i < n; i++) {
        const struct gfs_device *d = gfs_find_device(h, fss[i]);
        const char *fields[3][2] = {
            {"type", d ? d->probe.type : ""},
            {"label", d ? d->probe.label : ""},
            {"uuid", d ? d->probe.uuid : ""},
        };
        if (o->json) {
            json_t *f = json_object();
            if (f) {
                jset(o, f, "dev", jstr(o, fss[i]));
                for (int k = 0; k < 3; k++)
                    if (fields[k][1][0])
                        jset(o, f, fields[k][0], jstr(o, fields[k][1]));
            }
            if (arr)
                jappend(o, arr, f);
            else
                json_decref(f);
            continue;
        }
        xml_indent(o);
        fputs("<filesystem dev=\"", stdout);
        xml_escaped(fss[i], true);
        fputs("\">\n", stdout);
        o->depth++;
        for (int k = 0; k < 3; k++)
            if (fields[k][1][0])
                xml_element(o, fields[k][0], NULL, NULL, fields[k][1]);
        xml_end(o, "filesystem");
    }
    if (!o->json && n)
        xml_end(o, "filesystems");
    free(fss);
}

static void output_applications(struct out *o, const struct gfs_app *apps, int n)
{
    json_t *arr = NULL;
    if (o->json) {
        arr = json_array();
        jset(o, o->os, "applications", arr);
    } else if (n == 0) {
        xml_empty(o, "applications");
        return;
    } else {
        xml_start(o, "applications");
    }
    for (int i = 0; i < n; i++) {
        const struct gfs_app *a = &apps[i];
        char epoch[16];
        snprintf(epoch, sizeof(epoch), "%d", a->epoch);
        /* virt-inspector's order; empty values (and epoch 0) are left out. */
        const char *fields[][2] = {
            {"name", a->name},
            {"epoch", a->epoch ? epoch : ""},
            {"version", a->version},
            {"release", a->release},
            {"arch", a->arch},
            {"url", a->url},
            {"source_package", a->source_package},
            {"summary", a->summary},
            {"description", a->description},
        };
        json_t *j = NULL;
        if (o->json)
            j = json_object();
        else
            xml_start(o, "application");
        for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
            if (!fields[k][1][0])
                continue;
            if (!o->json)
                xml_element(o, fields[k][0], NULL, NULL, fields[k][1]);
            else if (j && k == 1)
                jset(o, j, "epoch", json_integer(a->epoch));
            else if (j)
                jset(o, j, fields[k][0], jstr(o, fields[k][1]));
        }
        if (o->json) {
            if (arr)
                jappend(o, arr, j);
            else
                json_decref(j);
        } else {
            xml_end(o, "application");
        }
    }
    if (!o->json)
        xml_end(o, "applications");
}

/* One operating system; 0, or 1 when its applications could not be read. */
static int output_os(struct out *o, struct gfs_handle *h, const struct gfs_os *os, bool apps)
{
    if (o->json) {
        o->os = json_object();
        jappend(o, json_object_get(o->root, "operatingsystems"), o->os);
        if (!o->os)
            return 0;
    } else {
        xml_start(o, "operatingsystem");
    }
    os_field(o, "root", os->root, false);
    os_field(o, "name", os->type, true);
    os_field(o, "arch", os->arch, true);
    os_field(o, "distro", os->distro, true);
    os_field(o, "product_name", os->product_name, true);
    os_field(o, "product_variant", os->product_variant, true);
    os_int(o, "major_version", os->major_version);
    os_int(o, "minor_version", os->minor_version);
    os_field(o, "package_format", os->package_format, true);
    os_field(o, "package_management", os->package_management, true);
    os_field(o, "hostname", os->hostname, true);
    os_field(o, "osinfo", os->osinfo, true);
    output_mountpoints(o, os);
    output_filesystems(o, h, os);
    /* No drive mappings: they exist only for Windows guests. */
    int status = 0;
    if (apps) {
        int rc = gfs_inspect_mount(h, os);
        struct gfs_app *list = NULL;
        int n = rc < 0 ? rc : gfs_inspect_list_applications(h, os, &list);
        if (n >= 0) {
            output_applications(o, list, n);
        } else {
            /* The element is left out rather than printed empty: an
             * empty list would claim that nothing is installed. */
            fprintf(stderr, "%s: warning: %s: applications not listed: %s\n", PROG, os->root,
                    gfs_last_error(h));
            status = n == -EOPNOTSUPP ? 0 : 1;
        }
        gfs_inspect_free_applications(list, n);
        gfs_umount_all(h);
    }
    if (!o->json)
        xml_end(o, "operatingsystem");
    return status;
}

int virt_inspector_main(int argc, char **argv)
{
    enum { OPT_FORMAT = 256, OPT_NO_APPS, OPT_NO_ICON, OPT_JSON, OPT_HELP };
    static const struct option opts[] = {
        {"add", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"no-applications", no_argument, NULL, OPT_NO_APPS},
        {"no-icon", no_argument, NULL, OPT_NO_ICON},
        {"json", no_argument, NULL, OPT_JSON},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct gfs_opts go;
    gfs_opts_init(&go, PROG);
    bool apps = true;
    struct out o = {0};
    int c, status = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+a:vx", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (gfs_opts_add_drive(&go, optarg) < 0)
                goto out;
            break;
        case OPT_FORMAT:
            if (gfs_opts_set_format(&go, optarg) < 0)
                goto out;
            break;
        case OPT_NO_APPS:
            apps = false;
            break;
        case OPT_NO_ICON:
            break;
        case OPT_JSON:
            o.json = true;
            break;
        case 'v':
            go.verbose = true;
            break;
        case 'x':
            break;
        case OPT_HELP:
            virt_inspector_help(stdout);
            status = 0;
            goto out;
        default:
            virt_inspector_help(stderr);
            goto out;
        }
    }
    if (optind != argc) {
        gfs_opts_error(&go, -EINVAL, "extra argument '%s' on the command line", argv[optind]);
        goto out;
    }
    if (go.ndrives == 0) {
        gfs_opts_error(&go, -EINVAL, "you must specify at least one -a option");
        virt_inspector_help(stderr);
        goto out;
    }

    status = 1;
    struct gfs_handle *h;
    int rc = gfs_handle_new(&h);
    if (rc < 0) {
        gfs_opts_error(&go, rc, "%s", strerror(-rc));
        goto out;
    }
    for (size_t i = 0; rc == 0 && i < go.ndrives; i++)
        rc = gfs_add_drive(h, go.drives[i].path, go.drives[i].format);
    if (rc == 0)
        rc = gfs_launch(h);
    if (rc < 0) {
        gfs_opts_error(&go, rc, "%s", gfs_last_error(h));
        gfs_handle_free(h);
        goto out;
    }
    if (go.verbose)
        for (size_t i = 0; i < gfs_nwarnings(h); i++)
            fprintf(stderr, "%s: warning: %s\n", PROG, gfs_warning(h, i));
    struct gfs_os *roots = NULL;
    int n = gfs_inspect_os(h, &roots);
    if (n <= 0) {
        if (n < 0)
            gfs_opts_error(&go, n, "inspection: %s", gfs_last_error(h));
        else
            gfs_opts_error(&go, -ENOENT,
                           "no operating system could be detected inside this disk image");
        gfs_handle_free(h);
        goto out;
    }

    status = 0;
    if (o.json) {
        o.root = json_object();
        if (o.root)
            jset(&o, o.root, "operatingsystems", json_array());
        else
            o.failed = true;
    } else {
        printf("<?xml version=\"1.0\"?>\n");
        xml_start(&o, "operatingsystems");
    }
    for (int i = 0; i < n && !o.failed; i++)
        status |= output_os(&o, h, &roots[i], apps);
    if (o.json) {
        char *text = o.failed ? NULL : json_dumps(o.root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text)
            printf("%s\n", text);
        else
            o.failed = true;
        free(text);
        json_decref(o.root);
    } else {
        xml_end(&o, "operatingsystems");
    }
    if (o.failed) {
        gfs_opts_error(&go, -ENOMEM, "out of memory");
        status = 1;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        gfs_opts_error(&go, -EIO, "writing the output: %s", strerror(errno));
        status = 1;
    }
    gfs_inspect_free(roots, n);
    gfs_handle_free(h);
out:
    gfs_opts_free(&go);
    return status;
}
