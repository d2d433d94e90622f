/* SPDX-License-Identifier: Apache-2.0 */
/*
 * img_main.c — `kvmkit img` dispatch and the small subcommands: create,
 * info, check, resize, snapshot, map, compare, rebase, commit.
 * Names, options, output and exit codes follow qemu-img.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "img_cmd.h"
#include "kk_err.h"
#include "kk_log.h"
#include "kk_reactor.h"

void img_cmd_err(const char *sub, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "kvmkit img%s%s: ", sub ? " " : "", sub ? sub : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int img_cmd_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case '\0':
    case 'b':
    case 'B':
        break;
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    case 'p': case 'P': shift = 50; break;
    default:
        return -1;
    }
    if (*end && end[1] && !(end[1] == 'i' && end[2] == 'B' && !end[3]) &&
        !((end[1] == 'B') && !end[2]))
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes"))
        *out = true;
    else if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no"))
        *out = false;
    else
        return -1;
    return 0;
}

int img_cmd_parse_create_opts(const char *list, struct img_create_opts *o, char **copy)
{
    *copy = strdup(list);
    if (!*copy)
        return -1;
    char *save = NULL;
    for (char *item = strtok_r(*copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *val = strchr(item, '=');
        if (!val) {
            img_cmd_err("create", "option '%s' needs a value (key=value)", item);
            return -1;
        }
        *val++ = '\0';
        uint64_t n;
        bool b;
        if (!strcmp(item, "size")) {
            if (img_cmd_parse_size(val, &o->size) < 0)
                goto bad;
        } else if (!strcmp(item, "cluster_size")) {
            if (img_cmd_parse_size(val, &n) < 0 || n > UINT32_MAX)
                goto bad;
            o->cluster_size = (uint32_t)n;
        } else if (!strcmp(item, "refcount_bits")) {
            if (img_cmd_parse_size(val, &n) < 0 || n > 64)
                goto bad;
            o->refcount_bits = (int)n;
        } else if (!strcmp(item, "backing_file")) {
            o->backing_file = val;
        } else if (!strcmp(item, "backing_fmt")) {
            o->backing_format = val;
        } else if (!strcmp(item, "compression_type")) {
            if (!strcmp(val, "zlib"))
                o->compression = IMG_COMPRESS_ZLIB;
            else if (!strcmp(val, "zstd"))
                o->compression = IMG_COMPRESS_ZSTD;
            else
                goto bad;
        } else if (!strcmp(item, "extended_l2")) {
            if (parse_bool(val, &b) < 0)
                goto bad;
            o->extended_l2 = b;
        } else if (!strcmp(item, "lazy_refcounts")) {
            if (parse_bool(val, &b) < 0)
                goto bad;
            o->lazy_refcounts = b;
        } else if (!strcmp(item, "compat")) {
            if (!strcmp(val, "0.10") || !strcmp(val, "v2"))
                o->version = 2;
            else if (!strcmp(val, "1.1") || !strcmp(val, "v3"))
                o->version = 3;
            else
                goto bad;
        } else if (!strcmp(item, "data_file")) {
            o->data_file = val;
        } else if (!strcmp(item, "data_file_raw")) {
            if (parse_bool(val, &b) < 0)
                goto bad;
            o->data_file_raw = b;
        } else if (!strcmp(item, "preallocation")) {
            if (!strcmp(val, "off"))
                o->prealloc = IMG_PREALLOC_OFF;
            else if (!strcmp(val, "metadata"))
                o->prealloc = IMG_PREALLOC_METADATA;
            else if (!strcmp(val, "falloc"))
                o->prealloc = IMG_PREALLOC_FALLOC;
            else if (!strcmp(val, "full"))
                o->prealloc = IMG_PREALLOC_FULL;
            else
                goto bad;
        } else {
            img_cmd_err("create", "unknown option '%s'", item);
            return -1;
        }
        continue;
    bad:
        img_cmd_err("create", "invalid value '%s' for option '%s'", val, item);
        return -1;
    }
    return 0;
}

/* -U / --force-share on the command line: read without taking locks. */
static bool force_share;

int img_cmd_open(const char *path, const char *fmt, unsigned flags, struct img **out)
{
    if (force_share && !(flags & IMG_O_RDWR))
        flags |= IMG_O_FORCE_SHARE;
    struct img_open_opts o = {.format = fmt, .flags = flags};
    int rc = img_open(path, &o, out);
    if (rc < 0) {
        const char *why = img_last_error();
        fprintf(stderr, "kvmkit img: Could not open '%s': %s\n", path,
                *why ? why : kk_strerror(rc));
    }
    return rc;
}

static void human_size(uint64_t v, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double d = (double)v;
    int u = 0;
    while (d >= 1024 && u < 6) {
        d /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%" PRIu64 " B", v);
    else
        snprintf(buf, len, "%.3g %s", d, units[u]);
}

/* ---- create ------------------------------------------------------------- */

static int cmd_create(int argc, char **argv)
{
    struct img_create_opts o = {.format = "raw"};
    char *copies[16] = {0};
    int ncopies = 0, c, status = 1;
    bool quiet = false;
    optind = 1;
    while ((c = getopt(argc, argv, "+f:o:b:F:uq")) != -1) {
        switch (c) {
        case 'f':
            o.format = optarg;
            break;
        case 'o':
            if (ncopies == 16 || img_cmd_parse_create_opts(optarg, &o, &copies[ncopies++]) < 0)
                goto out;
            break;
        case 'b':
            o.backing_file = optarg;
            break;
        case 'F':
            o.backing_format = optarg;
            break;
        case 'u':
            break;
        case 'q':
            quiet = true;
            break;
        default:
            status = 2;
            goto out;
        }
    }
    if (optind >= argc || argc - optind > 2) {
        img_cmd_err("create", "usage: create [-f FMT] [-o OPTIONS] [-b BACKING [-F FMT]] FILE [SIZE]");
        status = 2;
        goto out;
    }
    const char *file = argv[optind];
    if (optind + 1 < argc && img_cmd_parse_size(argv[optind + 1], &o.size) < 0) {
        img_cmd_err("create", "invalid size '%s'", argv[optind + 1]);
        status = 2;
        goto out;
    }
    if (optind + 1 >= argc && !o.backing_file && !o.size) {
        img_cmd_err("create", "a size is required without a backing file");
        status = 2;
        goto out;
    }
    if (!quiet)
        printf("Formatting '%s', fmt=%s size=%" PRIu64 "\n", file, o.format, o.size);
    int rc = img_create(file, &o);
    if (rc < 0) {
        img_cmd_err("create", "%s", *img_last_error() ? img_last_error() : kk_strerror(rc));
        goto out;
    }
    status = 0;
out:
    for (int i = 0; i < ncopies; i++)
        free(copies[i]);
    return status;
}

/* ---- info --------------------------------------------------------------- */

static json_t *info_json(struct img *img)
{
    struct img_info in;
    img_get_info(img, &in);
    json_t *j = json_object();
    json_object_set_new(j, "virtual-size", json_integer((json_int_t)in.virtual_size));
    json_object_set_new(j, "filename", json_string(img_filename(img)));
    json_object_set_new(j, "format", json_string(img_format(img)));
    json_object_set_new(j, "actual-size", json_integer((json_int_t)in.actual_size));
    json_object_set_new(j, "dirty-flag", json_boolean(in.dirty));
    if (!strcmp(img_format(img), "qcow2")) {
        json_object_set_new(j, "cluster-size", json_integer(in.cluster_size));
        json_t *d = json_object();
        json_object_set_new(d, "compat", json_string(in.version == 2 ? "0.10" : "1.1"));
        if (in.version >= 3) {
            json_object_set_new(d, "compression-type",
                                json_string(in.compression == IMG_COMPRESS_ZSTD ? "zstd" : "zlib"));
            json_object_set_new(d, "lazy-refcounts", json_boolean(in.lazy_refcounts));
            json_object_set_new(d, "refcount-bits", json_integer(in.refcount_bits));
            json_object_set_new(d, "corrupt", json_boolean(in.corrupt));
            json_object_set_new(d, "extended-l2", json_boolean(in.extended_l2));
            if (in.data_file[0]) {
                json_object_set_new(d, "data-file", json_string(in.data_file));
                json_object_set_new(d, "data-file-raw", json_boolean(in.data_file_raw));
            }
        } else {
            json_object_set_new(d, "compression-type", json_string("zlib"));
            json_object_set_new(d, "refcount-bits", json_integer(in.refcount_bits));
        }
        json_t *fs = json_object();
        json_object_set_new(fs, "type", json_string("qcow2"));
        json_object_set_new(fs, "data", d);
        json_object_set_new(j, "format-specific", fs);
    }
    if (img_backing_filename(img)) {
        json_object_set_new(j, "backing-filename", json_string(img_backing_filename(img)));
        const char *bf = img_backing_filename(img);
        char *full = NULL;
        if (bf[0] != '/' && strchr(img_filename(img), '/')) {
            char *copy = strdup(img_filename(img));
            if (copy && asprintf(&full, "%s/%s", dirname(copy), bf) < 0)
                full = NULL;
            free(copy);
        }
        json_object_set_new(j, "full-backing-filename", json_string(full ? full : bf));
        free(full);
        if (img_backing_format(img))
            json_object_set_new(j, "backing-filename-format", json_string(img_backing_format(img)));
    }
    struct img_snapshot *snaps = NULL;
    int n = img_snapshot_list(img, &snaps);
    if (n > 0) {
        json_t *a = json_array();
        for (int i = 0; i < n; i++) {
            json_t *s = json_object();
            json_object_set_new(s, "id", json_string(snaps[i].id));
            json_object_set_new(s, "name", json_string(snaps[i].name));
            json_object_set_new(s, "vm-state-size", json_integer((json_int_t)snaps[i].vm_state_size));
            json_object_set_new(s, "date-sec", json_integer(snaps[i].date_sec));
            json_object_set_new(s, "date-nsec", json_integer(snaps[i].date_nsec));
            json_object_set_new(s, "vm-clock-sec",
                                json_integer((json_int_t)(snaps[i].vm_clock_nsec / 1000000000)));
            json_object_set_new(s, "vm-clock-nsec",
                                json_integer((json_int_t)(snaps[i].vm_clock_nsec % 1000000000)));
            if (snaps[i].icount != UINT64_MAX)
                json_object_set_new(s, "icount", json_integer((json_int_t)snaps[i].icount));
            json_array_append_new(a, s);
        }
        json_object_set_new(j, "snapshots", a);
    }
    free(snaps);
    return j;
}

static void print_snapshots(struct img_snapshot *s, int n)
{
    printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
    for (int i = 0; i < n; i++) {
        char date[32], vms[32];
        time_t t = s[i].date_sec;
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
        human_size(s[i].vm_state_size, vms, sizeof(vms));
        uint64_t secs = s[i].vm_clock_nsec / 1000000000;
        printf("%-9s %-16s %8s %19s %04" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64 " %10s\n",
               s[i].id, s[i].name, vms, date, secs / 3600, (secs / 60) % 60, secs % 60,
               (s[i].vm_clock_nsec / 1000000) % 1000,
               s[i].icount == UINT64_MAX ? "--" : "0");
    }
}

static int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'O'},
        {"backing-chain", no_argument, NULL, 'B'},
        {"force-share", no_argument, NULL, 'U'},
        {NULL, 0, NULL, 0},
    };
    const char *fmt = NULL, *output = "human";
    bool chain = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:U", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'O':
            output = optarg;
            break;
        case 'B':
            chain = true;
            break;
        case 'U':
            break;
        default:
            return 2;
        }
    }
    if (optind + 1 != argc || (strcmp(output, "json") && strcmp(output, "human"))) {
        img_cmd_err("info", "usage: info [-f FMT] [--output=human|json] [--backing-chain] FILE");
        return 2;
    }
    struct img *img;
    /* Like qemu-img: the backing chain is opened only to be shown. */
    if (img_cmd_open(argv[optind], fmt, chain ? 0 : IMG_O_NO_BACKING, &img) < 0)
        return 1;
    bool json = !strcmp(output, "json");
    json_t *all = json ? json_array() : NULL;
    for (struct img *l = img; l; l = chain ? img_backing(l) : NULL) {
        json_t *j = info_json(l);
        if (json) {
            json_array_append(all, j);
        } else {
            char vs[32], ds[32];
            human_size(img_size(l), vs, sizeof(vs));
            human_size((uint64_t)json_integer_value(json_object_get(j, "actual-size")), ds, sizeof(ds));
            if (l != img)
                printf("\n");
            printf("image: %s\nfile format: %s\nvirtual size: %s (%" PRIu64 " bytes)\ndisk size: %s\n",
                   img_filename(l), img_format(l), vs, img_size(l), ds);
            json_t *cs = json_object_get(j, "cluster-size");
            if (cs)
                printf("cluster_size: %lld\n", (long long)json_integer_value(cs));
            if (img_backing_filename(l))
                printf("backing file: %s\n", img_backing_filename(l));
            if (img_backing_format(l))
                printf("backing file format: %s\n", img_backing_format(l));
            struct img_snapshot *s = NULL;
            int n = img_snapshot_list(l, &s);
            if (n > 0) {
                printf("Snapshot list:\n");
                print_snapshots(s, n);
            }
            free(s);
            json_t *fs = json_object_get(j, "format-specific");
            if (fs) {
                printf("Format specific information:\n");
                const char *k;
                json_t *v;
                json_object_foreach(json_object_get(fs, "data"), k, v) {
                    if (json_is_string(v))
                        printf("    %s: %s\n", k, json_string_value(v));
                    else if (json_is_boolean(v))
                        printf("    %s: %s\n", k, json_is_true(v) ? "true" : "false");
                    else
                        printf("    %s: %lld\n", k, (long long)json_integer_value(v));
                }
            }
        }
        json_decref(j);
    }
    if (json) {
        json_t *out = chain ? all : json_array_get(all, 0);
        char *s = json_dumps(out, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(all);
    }
    img_close(img);
    return 0;
}

/* ---- check -------------------------------------------------------------- */

static int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'O'},
        {"repair", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *fmt = NULL, *output = "human";
    unsigned fix = 0;
    bool quiet = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:r:qU", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'O':
            output = optarg;
            break;
        case 'r':
            if (!strcmp(optarg, "leaks"))
                fix = IMG_CHECK_FIX_LEAKS;
            else if (!strcmp(optarg, "all"))
                fix = IMG_CHECK_FIX_LEAKS | IMG_CHECK_FIX_ERRORS;
            else {
                img_cmd_err("check", "-r must be 'leaks' or 'all'");
                return 2;
            }
            break;
        case 'q':
            quiet = true;
            break;
        case 'U':
            break;
        default:
            return 2;
        }
    }
    if (optind + 1 != argc) {
        img_cmd_err("check", "usage: check [-f FMT] [-r leaks|all] [--output=human|json] FILE");
        return 2;
    }
    struct img *img;
    unsigned flags = IMG_O_NO_BACKING | IMG_O_NO_REPAIR | (fix ? IMG_O_RDWR : 0);
    if (img_cmd_open(argv[optind], fmt, flags, &img) < 0)
        return 1;
    struct img_check_result r;
    int rc = img_check(img, fix, &r);
    if (rc < 0) {
        img_cmd_err("check", "%s", *img_last_error() ? img_last_error() : kk_strerror(rc));
        img_close(img);
        return 1;
    }
    bool qcow2 = !strcmp(img_format(img), "qcow2");
    uint64_t corrupt = r.corruptions - r.corruptions_fixed;
    uint64_t leaks = r.leaks - r.leaks_fixed;
    if (!strcmp(output, "json")) {
        json_t *j = json_object();
        if (qcow2) {
            json_object_set_new(j, "image-end-offset", json_integer((json_int_t)r.image_end_offset));
            json_object_set_new(j, "total-clusters", json_integer((json_int_t)r.total_clusters));
            json_object_set_new(j, "check-errors", json_integer((json_int_t)r.check_errors));
            json_object_set_new(j, "allocated-clusters", json_integer((json_int_t)r.allocated_clusters));
            if (corrupt)
                json_object_set_new(j, "corruptions", json_integer((json_int_t)corrupt));
            if (leaks)
                json_object_set_new(j, "leaks", json_integer((json_int_t)leaks));
            if (r.leaks_fixed)
                json_object_set_new(j, "leaks-fixed", json_integer((json_int_t)r.leaks_fixed));
            if (r.corruptions_fixed)
                json_object_set_new(j, "corruptions-fixed", json_integer((json_int_t)r.corruptions_fixed));
            json_object_set_new(j, "fragmented-clusters", json_integer((json_int_t)r.fragmented_clusters));
            json_object_set_new(j, "compressed-clusters", json_integer((json_int_t)r.compressed_clusters));
        }
        json_object_set_new(j, "filename", json_string(img_filename(img)));
        json_object_set_new(j, "format", json_string(img_format(img)));
        char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(j);
    } else if (!quiet) {
        if (r.leaks_fixed || r.corruptions_fixed)
            printf("The following inconsistencies were found and repaired:\n\n"
                   "    %" PRIu64 " leaked clusters\n    %" PRIu64 " corruptions\n\n",
                   r.leaks_fixed, r.corruptions_fixed);
        if (corrupt)
            printf("\n%" PRIu64 " errors were found on the image.\n"
                   "Data may be corrupted, or further writes to the image may corrupt it.\n",
                   corrupt);
        if (leaks)
            printf("\n%" PRIu64 " leaked clusters were found on the image.\n"
                   "This means waste of disk space, but no harm to data.\n", leaks);
        if (!corrupt && !leaks && !r.check_errors)
            printf("No errors were found on the image.\n");
        if (qcow2 && r.total_clusters) {
            double t = (double)r.total_clusters;
            printf("%" PRIu64 "/%" PRIu64 " = %.2f%% allocated, %.2f%% fragmented, %.2f%% compressed clusters\n",
                   r.allocated_clusters, r.total_clusters, 100.0 * (double)r.allocated_clusters / t,
                   r.allocated_clusters ? 100.0 * (double)r.fragmented_clusters / (double)r.allocated_clusters : 0.0,
                   r.allocated_clusters ? 100.0 * (double)r.compressed_clusters / (double)r.allocated_clusters : 0.0);
            printf("Image end offset: %" PRIu64 "\n", r.image_end_offset);
        }
    }
    img_close(img);
    if (r.check_errors)
        return 1;
    if (corrupt)
        return 2;
    if (leaks)
        return 3;
    return 0;
}

/* ---- resize ------------------------------------------------------------- */

static int cmd_resize(int argc, char **argv)
{
    const char *fmt = NULL;
    bool shrink = false;
    static const struct option opts[] = {
        {"shrink", no_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    /* A size such as "-1G" must not be taken for an option. */
    while (optind < argc && argv[optind][0] == '-' && !(argv[optind][1] >= '0' && argv[optind][1] <= '9')) {
        c = getopt_long(argc, argv, "+f:q", opts, NULL);
        if (c == -1)
            break;
        if (c == 'f')
            fmt = optarg;
        else if (c == 'S')
            shrink = true;
        else if (c != 'q')
            return 2;
    }
    if (optind + 2 != argc) {
        img_cmd_err("resize", "usage: resize [-f FMT] [--shrink] FILE [+|-]SIZE");
        return 2;
    }
    const char *s = argv[optind + 1];
    int sign = 0;
    if (*s == '+' || *s == '-')
        sign = *s++ == '+' ? 1 : -1;
    uint64_t v;
    if (img_cmd_parse_size(s, &v) < 0) {
        img_cmd_err("resize", "invalid size '%s'", argv[optind + 1]);
        return 2;
    }
    struct img *img;
    if (img_cmd_open(argv[optind], fmt, IMG_O_RDWR | IMG_O_NO_BACKING, &img) < 0)
        return 1;
    uint64_t cur = img_size(img), target = sign > 0 ? cur + v : sign < 0 ? cur - v : v;
    if ((sign < 0 && v > cur) || (target < cur && !shrink)) {
        img_cmd_err("resize", "shrinking needs --shrink (and is only possible for raw images)");
        img_close(img);
        return 1;
    }
    int rc = img_resize(img, target);
    img_close(img);
    if (rc < 0) {
        img_cmd_err("resize", "%s", *img_last_error() ? img_last_error() : kk_strerror(rc));
        return 1;
    }
    printf("Image resized.\n");
    return 0;
}

/* ---- snapshot ----------------------------------------------------------- */

static int cmd_snapshot(int argc, char **argv)
{
    const char *fmt = NULL, *name = NULL;
    int op = 0, c;
    optind = 1;
    while ((c = getopt(argc, argv, "+f:lc:a:d:qU")) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'l':
        case 'c':
        case 'a':
        case 'd':
            if (op) {
                img_cmd_err("snapshot", "only one of -l, -c, -a, -d");
                return 2;
            }
            op = c;
            name = optarg;
            break;
        case 'q':
        case 'U':
            break;
        default:
            return 2;
        }
    }
    if (!op || optind + 1 != argc) {
        img_cmd_err("snapshot", "usage: snapshot [-l | -c NAME | -a NAME | -d NAME] FILE");
        return 2;
    }
    struct img *img;
    unsigned flags = IMG_O_NO_BACKING | (op == 'l' ? 0 : IMG_O_RDWR);
    if (img_cmd_open(argv[optind], fmt, flags, &img) < 0)
        return 1;
    int rc = 0;
    if (op == 'l') {
        struct img_snapshot *s = NULL;
        int n = img_snapshot_list(img, &s);
        if (n > 0) {
            printf("Snapshot list:\n");
            print_snapshots(s, n);
        }
        free(s);
        rc = n < 0 ? n : 0;
    } else if (op == 'c') {
        rc = img_snapshot_create(img, name);
    } else if (op == 'a') {
        rc = img_snapshot_apply(img, name);
    } else {
        rc = img_snapshot_delete(img, name);
    }
    img_close(img);
    if (rc < 0) {
        img_cmd_err("snapshot", "%s", *img_last_error() ? img_last_error() : kk_strerror(rc));
        return 1;
    }
    return 0;
}

/* ---- map ---------------------------------------------------------------- */

struct map_entry {
    uint64_t start, length, offset;
    int depth;
    bool present, zero, data, has_offset;
    const char *file;
};

static void map_print(const struct map_entry *e, bool json, bool *first)
{
    if (json) {
        printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %d, \"present\": %s, "
               "\"zero\": %s, \"data\": %s",
               *first ? "[" : ",\n", e->start, e->length, e->depth, e->present ? "true" : "false",
               e->zero ? "true" : "false", e->data ? "true" : "false");
        if (e->has_offset)
            printf(", \"offset\": %" PRIu64, e->offset);
        printf("}");
    } else if (e->data && e->has_offset) {
        if (*first)
            printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
        printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", e->start, e->length, e->offset,
               e->file);
    } else {
        return;
    }
    *first = false;
}

static int cmd_map(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'O'},
        {NULL, 0, NULL, 0},
    };
    const char *fmt = NULL, *output = "human";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:U", opts, NULL)) != -1) {
        if (c == 'f')
            fmt = optarg;
        else if (c == 'O')
            output = optarg;
        else if (c != 'U')
            return 2;
    }
    if (optind + 1 != argc) {
        img_cmd_err("map", "usage: map [-f FMT] [--output=human|json] FILE");
        return 2;
    }
    struct img *img;
    if (img_cmd_open(argv[optind], fmt, 0, &img) < 0)
        return 1;
    int chain_len = 0;
    for (struct img *l = img; l; l = img_backing(l))
        chain_len++;
    bool json = !strcmp(output, "json"), first = true, have = false;
    struct map_entry cur = {0};
    uint64_t size = img_size(img);
    int rc = 0;
    for (uint64_t off = 0; off < size;) {
        struct img_status st;
        int depth;
        rc = img_block_status_chain(img, off, size - off, &st, &depth);
        if (rc < 0)
            break;
        struct img *layer = img;
        for (int i = 0; i < depth && img_backing(layer); i++)
            layer = img_backing(layer);
        struct map_entry e = {
            .start = off,
            .length = st.length,
            .depth = depth < chain_len ? depth : chain_len - 1,
            .present = depth < chain_len && (st.flags & IMG_BS_ALLOCATED),
            .zero = (st.flags & IMG_BS_ZERO) != 0,
            .data = (st.flags & IMG_BS_DATA) != 0,
            .has_offset = (st.flags & IMG_BS_OFFSET_VALID) && !(st.flags & IMG_BS_COMPRESSED),
            .offset = st.host_offset,
            .file = img_filename(layer),
        };
        if (have && cur.depth == e.depth && cur.present == e.present && cur.zero == e.zero &&
            cur.data == e.data && cur.has_offset == e.has_offset &&
            (!e.has_offset || cur.offset + cur.length == e.offset) && cur.file == e.file) {
            cur.length += e.length;
        } else {
            if (have)
                map_print(&cur, json, &first);
            cur = e;
            have = true;
        }
        off += st.length;
    }
    if (have)
        map_print(&cur, json, &first);
    if (json)
        printf("%s]\n", first ? "[" : "");
    img_close(img);
    if (rc < 0) {
        img_cmd_err("map", "%s", *img_last_error() ? img_last_error() : kk_strerror(rc));
        return 1;
    }
    return 0;
}

/* ---- compare ------------------------------------------------------------ */

static int cmd_compare(int argc, char **argv)
{
    const char *f1 = NULL, *f2 = NULL;
    bool strict = false, quiet = false;
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "+f:F:sqpU")) != -1) {
        switch (c) {
        case 'f':
            f1 = optarg;
            break;
        case 'F':
            f2 = optarg;
            break;
        case 's':
            strict = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'p':
        case 'U':
            break;
        default:
            return 2;
        }
    }
    if (optind + 2 != argc) {
        img_cmd_err("compare", "usage: compare [-f FMT] [-F FMT] [-s] FILE1 FILE2");
        return 2;
    }
    struct img *a, *b;
    if (img_cmd_open(argv[optind], f1, 0, &a) < 0)
        return 2;
    if (img_cmd_open(argv[optind + 1], f2, 0, &b) < 0) {
        img_close(a);
        return 2;
    }
    uint64_t sa = img_size(a), sb = img_size(b), common = sa < sb ? sa : sb;
    int status = 0;
    if (strict && sa != sb) {
        if (!quiet)
            printf("Strict mode: Image size mismatch!\n");
        status = 1;
    }
    size_t chunk = 4u << 20;
    uint8_t *ba = malloc(chunk), *bb = malloc(chunk);
    for (uint64_t off = 0; status == 0 && off < (sa > sb ? sa : sb);) {
        size_t n = (size_t)((sa > sb ? sa : sb) - off < chunk ? (sa > sb ? sa : sb) - off : chunk);
        if (off < common && n > common - off)
            n = (size_t)(common - off);
        int rc = 0;
        /* Stretches both sides (or the longer one's tail) know to be zeros
         * are not read. */
        struct img_status za, zb;
        int da, db;
        struct img *longer = sa > sb ? a : b;
        if (off < common && img_block_status_chain(a, off, n, &za, &da) == 0 &&
            img_block_status_chain(b, off, n, &zb, &db) == 0 && (za.flags & IMG_BS_ZERO) &&
            (zb.flags & IMG_BS_ZERO)) {
            off += za.length < zb.length ? za.length : zb.length;
            continue;
        }
        if (off >= common && img_block_status_chain(longer, off, n, &za, &da) == 0 &&
            (za.flags & IMG_BS_ZERO)) {
            off += za.length;
            continue;
        }
        if (off < common) {
            rc = img_pread(a, ba, n, off);
            if (rc == 0)
                rc = img_pread(b, bb, n, off);
        } else {
            rc = img_pread(longer, ba, n, off);
            memset(bb, 0, n);
        }
        if (rc < 0) {
            img_cmd_err("compare", "error reading at offset %" PRIu64 ": %s", off,
                        *img_last_error() ? img_last_error() : kk_strerror(rc));
            status = 2;
            break;
        }
        if (memcmp(ba, bb, n) != 0) {
            size_t i = 0;
            while (ba[i] == bb[i])
                i++;
            if (!quiet) /* like qemu-img: the start of the 512-byte sector */
                printf("Content mismatch at offset %" PRIu64 "!\n", (uint64_t)((off + i) & ~(uint64_t)511));
            status = 1;
            break;
        }
        off += n;
    }
    if (status == 0 && !quiet)
        printf("Images are identical.\n");
    free(ba);
    free(bb);
    img_close(a);
    img_close(b);
    return status;
}

/* ---- rebase and commit -------------------------------------------------- */

static int cmd_rebase(int argc, char **argv)
{
    const char *fmt = NULL, *backing = NULL, *bfmt = NULL;
    bool unsafe = false;
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "+f:b:F:uqpt:T:U")) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'b': backing = optarg; break;
        case 'F': bfmt = optarg; break;
        case 'u': unsafe = true; break;
        case 'q': case 'p': case 't': case 'T': case 'U': break;
        default: return 2;
        }
    }
    if (optind + 1 != argc || !backing) {
        img_cmd_err("rebase", "usage: rebase [-f FMT] [-u] -b BACKING [-F FMT] FILE");
        return 2;
    }
    if (!*backing)
        backing = NULL;
    struct img *img;
    unsigned flags = IMG_O_RDWR | (unsafe ? IMG_O_NO_BACKING : 0);
    if (img_cmd_open(argv[optind], fmt, flags, &img) < 0)
        return 1;
    int rc = 0;
    if (!unsafe) {
        /* Copy into the image whatever reads differently through the new backing. */
        struct img *nb = NULL;
        if (backing) {
            char *path = NULL;
            if (backing[0] == '/' || !strchr(argv[optind], '/')) {
                path = strdup(backing);
            } else {
                char *copy = strdup(argv[optind]);
                if (copy && asprintf(&path, "%s/%s", dirname(copy), backing) < 0)
                    path = NULL;
                free(copy);
            }
            rc = path ? img_cmd_open(path, bfmt, 0, &nb) : -ENOMEM;
            free(path);
            if (rc < 0) {
                img_close(img);
                return 1;
            }
            if (!bfmt)
                bfmt = img_format(nb);
        }
        uint64_t size = img_size(img);
        size_t chunk = img_cluster_size(img);
        uint8_t *old = malloc(chunk), *nw = malloc(chunk);
        for (uint64_t off = 0; rc == 0 && off < size;) {
            struct img_status st;
            rc = img_block_status(img, off, size - off < chunk ? size - off : chunk, &st);
            if (rc < 0)
                break;
            if (!(st.flags & IMG_BS_ALLOCATED)) {
                size_t n = (size_t)st.length;
                rc = img_pread(img, old, n, off);
                memset(nw, 0, n);
                if (rc == 0 && nb && off < img_size(nb))
                    rc = img_pread(nb, nw, (size_t)(img_size(nb) - off < n ? img_size(nb) - off : n), off);
                if (rc == 0 && memcmp(old, nw, n))
                    rc = img_pwrite(img, old, n, off);
            }
            off += st.length;
        }
        free(old);
        free(nw);
        img_close(nb);
    }
    if (rc == 0)
        rc = img_set_backing(img, backing, backing ? bfmt : NULL);
    if (rc == 0)
        rc = img_flush(img);
    img_close(img);
    if (rc < 0) {
        img_cmd_err("rebase", "%s", *img_last_error() ? img_last_error() : kk_strerror(rc));
        return 1;
    }
    return 0;
}

/* The path of @img's backing file as a name we can open (relative names
 * are relative to @img's directory). Caller frees. */
static char *backing_path(const char *img_path, const char *bf)
{
    char *path = NULL;
    if (bf[0] == '/' || !strchr(img_path, '/')) {
        path = strdup(bf);
    } else {
        char *copy = strdup(img_path);
        if (copy && asprintf(&path, "%s/%s", dirname(copy), bf) < 0)
            path = NULL;
        free(copy);
    }
    return path;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

#define COMMIT_MAX_LAYERS 64

static int cmd_commit(int argc, char **argv)
{
    const char *fmt = NULL, *base_name = NULL;
    bool keep = false;
    uint64_t rate = 0; /* bytes per second, 0: unlimited */
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "+f:dqpt:b:r:")) != -1) {
        if (c == 'f') {
            fmt = optarg;
        } else if (c == 'd') {
            keep = true;
        } else if (c == 'b') {
            base_name = optarg;
        } else if (c == 'r') {
            if (img_cmd_parse_size(optarg, &rate) < 0 || rate == 0) {
                img_cmd_err("commit", "-r %s: expected a rate in bytes per second (k, M, G)",
                            optarg);
                return 2;
            }
        } else if (c == '?') {
            return 2;
        }
    }
    if (optind + 1 != argc) {
        img_cmd_err("commit", "usage: commit [-f FMT] [-d] [-b BASE] [-r RATE] FILE");
        return 2;
    }
    /* As qemu-img: committing into a deeper base leaves the top alone (the
     * layers in between would otherwise show through it). */
    if (base_name)
        keep = true;
    /* Every layer is opened on its own (the base read-write), so that no
     * image is open twice. layers[0] is the top; the base is not in it. */
    struct img *layers[COMMIT_MAX_LAYERS];
    unsigned n_layers = 0;
    struct img *base = NULL;
    char *cur_path = strdup(argv[optind]);
    const char *cur_fmt = fmt;
    int rc = 0;
    for (;;) {
        struct img *l;
        if (!cur_path ||
            img_cmd_open(cur_path, cur_fmt, IMG_O_NO_BACKING | (n_layers == 0 && !keep ? IMG_O_RDWR : 0),
                         &l) < 0) {
            rc = -EINVAL;
            break;
        }
        layers[n_layers++] = l;
        const char *bf = img_backing_filename(l);
        if (!bf) {
            img_cmd_err("commit", base_name ? "'%s' is not in the backing chain of '%s'"
                                            : "'%s%s' has no backing file",
                        base_name ? base_name : "", argv[optind]);
            rc = -EINVAL;
            break;
        }
        char *next = backing_path(cur_path, bf);
        free(cur_path);
        cur_path = next;
        cur_fmt = img_backing_format(l);
        if (!next) {
            rc = -ENOMEM;
            break;
        }
        if (!base_name || same_file(next, base_name) || strcmp(bf, base_name) == 0) {
            if (img_cmd_open(next, cur_fmt, IMG_O_RDWR, &base) < 0)
                rc = -EINVAL;
            break;
        }
        if (n_layers == COMMIT_MAX_LAYERS) {
            img_cmd_err("commit", "backing chain deeper than %d", COMMIT_MAX_LAYERS);
            rc = -ELOOP;
            break;
        }
    }
    free(cur_path);
    if (rc < 0) {
        for (unsigned i = 0; i < n_layers; i++)
            img_close(layers[i]);
        return 1;
    }
    struct img *top = layers[0];
    uint64_t size = img_size(top) < img_size(base) ? img_size(top) : img_size(base);
    if (img_size(top) > img_size(base) && img_resize(base, img_size(top)) == 0)
        size = img_size(top);
    size_t chunk = 1u << 20;
    uint8_t *buf = malloc(chunk);
    uint64_t started = kk_now_us(), copied = 0;
    for (uint64_t off = 0; rc == 0 && off < size;) {
        /* The range's content is that of the first layer above the base
         * that allocates it; if none does, the base already has it. */
        uint64_t len = size - off < chunk ? size - off : chunk;
        struct img_status st = {0};
        unsigned owner = n_layers;
        for (unsigned i = 0; i < n_layers && rc == 0; i++) {
            struct img_status s2;
            rc = img_block_status(layers[i], off, len, &s2);
            if (rc < 0)
                break;
            if (s2.flags & IMG_BS_ALLOCATED) {
                owner = i;
                st = s2;
                break;
            }
            len = s2.length; /* unallocated here for this long: look deeper */
            st.length = len;
        }
        if (rc < 0)
            break;
        if (owner < n_layers) {
            if (st.flags & IMG_BS_ZERO) {
                rc = img_write_zeroes(base, off, st.length, 0);
            } else {
                rc = img_pread(layers[owner], buf, (size_t)st.length, off);
                if (rc == 0)
                    rc = img_pwrite(base, buf, (size_t)st.length, off);
            }
            copied += st.length;
            if (rc == 0 && rate) {
                /* -r: never ahead of rate bytes per second. */
                uint64_t due_us = copied * 1000000 / rate, spent = kk_now_us() - started;
                if (due_us > spent)
                    usleep((useconds_t)KK_MIN(due_us - spent, (uint64_t)1000000));
            }
        }
        off += st.length;
    }
    free(buf);
    if (rc == 0)
        rc = img_flush(base);
    /* Then empty the top image (unless -d): it reads through to its base. */
    if (rc == 0 && !keep)
        rc = img_unmap(top, 0, img_size(top));
    img_close(base);
    for (unsigned i = 0; i < n_layers; i++)
        img_close(layers[i]);
    if (rc < 0) {
        img_cmd_err("commit", "%s", *img_last_error() ? img_last_error() : kk_strerror(rc));
        return 1;
    }
    printf("Image committed.\n");
    return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *usage;
} subcommands[] = {
    {"bench", img_cmd_bench, "bench [-c COUNT] [-d DEPTH] [-f FMT] [-o OFFSET] [-s SIZE] [-S STEP] [-t CACHE] [-w] [--flush-interval=N] FILE"},
    {"check", cmd_check, "check [-f FMT] [--output=human|json] [-r leaks|all] FILE"},
    {"commit", cmd_commit,
     "commit [-f FMT] [-d] [-b BASE] [-r RATE] FILE   (-d: do not empty FILE; -b: commit\n"
     "        into BASE deeper in the chain, implies -d; -r: at most RATE bytes/s)"},
    {"compare", cmd_compare, "compare [-f FMT] [-F FMT] [-s] FILE1 FILE2"},
    {"convert", img_cmd_convert, "convert [-f FMT] [-O FMT] [-o OPTIONS] [-c] [-B BACKING [-F FMT]] [-l snapshot.name=S] [-p] [-n] [-m N] [-t CACHE] SRC DST"},
    {"create", cmd_create, "create [-f FMT] [-o OPTIONS] [-b BACKING [-F FMT]] FILE [SIZE]"},
    {"info", cmd_info, "info [-f FMT] [--output=human|json] [--backing-chain] FILE"},
    {"map", cmd_map, "map [-f FMT] [--output=human|json] FILE"},
    {"rebase", cmd_rebase, "rebase [-f FMT] [-u] -b BACKING [-F FMT] FILE"},
    {"resize", cmd_resize, "resize [-f FMT] [--shrink] FILE [+|-]SIZE"},
    {"snapshot", cmd_snapshot, "snapshot [-l | -c NAME | -a NAME | -d NAME] FILE"},
};

void img_cmd_help(FILE *out)
{
    fprintf(out, "Usage: kvmkit img COMMAND [OPTIONS] ARGS\n\n"
                 "Create, inspect, convert and check disk images (raw, qcow2); the commands\n"
                 "and options are qemu-img's.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(out, "  %s\n", subcommands[i].usage);
    fprintf(out, "\nqcow2 -o options: compat=0.10|1.1, cluster_size, refcount_bits, extended_l2,\n"
                 "compression_type=zlib|zstd, lazy_refcounts, preallocation=off|metadata|falloc|full,\n"
                 "backing_file, backing_fmt, data_file, data_file_raw. Sizes take k, M, G, T suffixes (powers of 1024).\n");
}

int img_cmd_main(int argc, char **argv)
{
    if (argc < 2) {
        img_cmd_help(stderr);
        return 2;
    }
    for (int i = 2; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "-U") || !strcmp(argv[i], "--force-share"))
            force_share = true;
    }
    if (getenv("KVMKIT_LOG"))
        kk_log_set_levels(getenv("KVMKIT_LOG"));
    else
        kk_log_set_level(KK_LOG_ERR);
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (!strcmp(argv[1], subcommands[i].name))
            return subcommands[i].run(argc - 1, argv + 1);
    }
    img_cmd_err(NULL, "unknown command '%s'", argv[1]);
    img_cmd_help(stderr);
    return 2;
}
