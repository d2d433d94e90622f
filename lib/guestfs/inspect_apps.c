/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect_apps.c — the installed applications of an inspected guest
 * (gfs_inspect_list_applications(), inspect.h): dpkg's status file and
 * apk's installed database, parsed as libguestfs 1.48 parses them
 * (lib/inspect-apps.c there: the same fields, the same version split, the
 * same sort), with these deliberate differences (docs/guestfs-inspect.md):
 *
 *  - dpkg: only entries whose status word is "installed" are listed
 *    (libguestfs looks for the substring, so "half-installed" counts);
 *  - a last stanza with no empty line after it is listed (libguestfs drops
 *    it; dpkg and apk read it);
 *  - lines have no length limit (libguestfs reads 1023-byte pieces) and
 *    field names are matched without case, with any blanks after ':';
 *  - control characters in values become '?'; names must be non-empty and
 *    free of blanks and control characters, else the stanza is skipped.
 *
 * rpm (rpmdb.sqlite or a BerkeleyDB Packages file) and pacman are not read:
 * -EOPNOTSUPP.
 *
 * The files are the guest's, untrusted: read whole but at most
 * GFS_APPS_MAX_DB bytes, parsed with explicit lengths (NUL bytes are
 * ordinary bytes), at most GFS_APPS_MAX_ENTRIES entries, each field bounded.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "inspect_internal.h"

struct span {
    const char *p;
    size_t n;
};

struct app_list {
    struct gfs_app *v;
    size_t n, cap;
    int rc; /* -ENOMEM once an allocation failed */
};

/* A copy of @n bytes with control characters (except '\n' when @keep_nl)
 * replaced by '?'. */
static char *copy_clean(const char *s, size_t n, bool keep_nl)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        d[i] = (c < 0x20 && !(keep_nl && c == '\n')) || c == 0x7F ? '?' : (char)c;
    }
    d[n] = 0;
    return d;
}

/* @n cut to at most @max bytes, not inside a UTF-8 sequence. */
static size_t cut_utf8(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static bool valid_name(struct span s)
{
    if (s.n == 0 || s.n > GFS_APPS_MAX_SHORT)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c <= 0x20 || c == 0x7F)
            return false;
    }
    return true;
}

static struct span trim(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
        n--;
    return (struct span){p, n};
}

/* The next line of [*pos, len) without its '\n'; false at the end. */
static bool next_line(const char *data, size_t len, size_t *pos, struct span *line)
{
    if (*pos >= len)
        return false;
    const char *s = data + *pos;
    const char *nl = memchr(s, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - s) : len - *pos;
    *line = (struct span){s, n};
    *pos += n + (nl ? 1 : 0);
    return true;
}

/* "Field:" at the start of @line (any case): the trimmed value after it. */
static bool field(struct span line, const char *name, struct span *value)
{
    size_t k = strlen(name);
    if (line.n <= k || line.p[k] != ':' || strncasecmp(line.p, name, k) != 0)
        return false;
    *value = trim(line.p + k + 1, line.n - k - 1);
    return true;
}

/*
 * [EPOCH:]VERSION[-RELEASE], split as libguestfs splits deb and apk
 * versions: the epoch before the first ':', the release after the first
 * '-' of the rest (minus a leading 'r' when @strip_r). False for an epoch
 * that is not a decimal number below 2^31.
 */
static bool split_version(struct span v, bool strip_r, int *epoch, struct span *version,
                          struct span *release)
{
    const char *colon = memchr(v.p, ':', v.n);
    *epoch = 0;
    if (colon) {
        size_t en = (size_t)(colon - v.p);
        if (en == 0 || en > 10)
            return false;
        uint64_t e = 0;
        for (size_t i = 0; i < en; i++) {
            if (v.p[i] < '0' || v.p[i] > '9')
                return false;
            e = e * 10 + (uint64_t)(v.p[i] - '0');
        }
        if (e > INT32_MAX)
            return false;
        *epoch = (int)e;
        v.n -= en + 1;
        v.p = colon + 1;
    }
    const char *dash = memchr(v.p, '-', v.n);
    if (dash) {
        *version = (struct span){v.p, (size_t)(dash - v.p)};
        *release = (struct span){dash + 1, v.n - version->n - 1};
        if (strip_r && release->n && release->p[0] == 'r') {
            release->p++;
            release->n--;
        }
    } else {
        *version = v;
        *release = (struct span){"", 0};
    }
    return true;
}

/* One parsed stanza; spans point into the database buffer. */
struct stanza {
    struct span name, version, arch, url, source, summary;
    struct span desc;      /* raw continuation lines (dpkg) or the T: value (apk) */
    bool desc_is_block;    /* desc holds " line\n line" continuation lines */
    bool have_version;
    bool installed;
};

/* The Description continuation block without each line's first blank. */
static char *description_text(struct span block)
{
    char *d = malloc(block.n + 1);
    if (!d)
        return NULL;
    size_t o = 0, pos = 0;
    struct span line;
    while (next_line(block.p, block.n, &pos, &line)) {
        if (o)
            d[o++] = '\n';
        if (line.n) {
            memcpy(d + o, line.p + 1, line.n - 1);
            o += line.n - 1;
        }
    }
    d[o] = 0;
    return d;
}

static void app_clear(struct gfs_app *a)
{
    free(a->name);
    free(a->version);
    free(a->release);
    free(a->arch);
    free(a->url);
    free(a->source_package);
    free(a->summary);
    free(a->description);
    memset(a, 0, sizeof(*a));
}

static void add_stanza(struct app_list *l, const struct stanza *s, bool strip_r)
{
    if (l->rc || l->n >= GFS_APPS_MAX_ENTRIES || !s->installed || !s->have_version ||
        !valid_name(s->name))
        return;
    struct span version, release;
    int epoch;
    if (!split_version(s->version, strip_r, &epoch, &version, &release) ||
        version.n > GFS_APPS_MAX_SHORT || release.n > GFS_APPS_MAX_SHORT ||
        s->arch.n > GFS_APPS_MAX_SHORT || s->source.n > GFS_APPS_MAX_SHORT)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct gfs_app *v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->rc = -ENOMEM;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    struct gfs_app *a = &l->v[l->n];
    memset(a, 0, sizeof(*a));
    a->epoch = epoch;
    struct span url = s->url.n > GFS_APPS_MAX_URL ? (struct span){"", 0} : s->url;
    /* Source: "name" or "name (version)": the name only. */
    struct span src = s->source;
    for (size_t i = 0; i < src.n; i++)
        if (src.p[i] == ' ' || src.p[i] == '\t') {
            src.n = i;
            break;
        }
    a->name = copy_clean(s->name.p, s->name.n, false);
    a->version = copy_clean(version.p, version.n, false);
    a->release = copy_clean(release.p, release.n, false);
    a->arch = copy_clean(s->arch.p, s->arch.n, false);
    a->url = copy_clean(url.p, url.n, false);
    a->source_package = copy_clean(src.p, src.n, false);
    a->summary = copy_clean(s->summary.p, cut_utf8(s->summary.p, s->summary.n,
                                                   GFS_APPS_MAX_SUMMARY), false);
    if (s->desc_is_block) {
        struct span b = {s->desc.p, cut_utf8(s->desc.p, s->desc.n, GFS_APPS_MAX_DESCRIPTION)};
        char *text = description_text(b);
        a->description = text ? copy_clean(text, strlen(text), true) : NULL;
        free(text);
    } else {
        a->description = copy_clean(s->desc.p, cut_utf8(s->desc.p, s->desc.n,
                                                        GFS_APPS_MAX_DESCRIPTION), false);
    }
    if (!a->name || !a->version || !a->release || !a->arch || !a->url || !a->source_package ||
        !a->summary || !a->description) {
        app_clear(a);
        l->rc = -ENOMEM;
        return;
    }
    l->n++;
}

static int finish(struct app_list *l, struct gfs_app **apps)
{
    if (l->rc) {
        gfs_inspect_free_applications(l->v, (int)l->n);
        *apps = NULL;
        return l->rc;
    }
    if (l->n == 0) {
        free(l->v);
        l->v = NULL;
    }
    *apps = l->v;
    return (int)l->n;
}

int gfs__parse_dpkg_status(const char *data, size_t len, struct gfs_app **apps)
{
    struct app_list l = {0};
    struct stanza s = {0};
    bool in_desc = false, any = false;
    size_t pos = 0;
    struct span line, v;
    if (len > GFS_APPS_MAX_DB)
        len = GFS_APPS_MAX_DB;
    while (next_line(data, len, &pos, &line)) {
        if (line.n == 0) {
            if (any)
                add_stanza(&l, &s, false);
            memset(&s, 0, sizeof(s));
            in_desc = any = false;
            continue;
        }
        any = true;
        if (line.p[0] == ' ' || line.p[0] == '\t') {
            if (in_desc) {
                /* Continuation lines are contiguous in the buffer. */
                if (!s.desc.n)
                    s.desc.p = line.p;
                s.desc.n = (size_t)(line.p + line.n - s.desc.p);
            }
            continue;
        }
        in_desc = false;
        if (field(line, "Package", &v)) {
            s.name = v;
        } else if (field(line, "Status", &v)) {
            /* "WANT FLAG STATUS": the third word is the state. */
            struct span w = v;
            int words = 0;
            s.installed = false;
            while (w.n) {
                size_t k = 0;
                while (k < w.n && w.p[k] != ' ' && w.p[k] != '\t')
                    k++;
                words++;
                if (words == 3)
                    s.installed = k == 9 && memcmp(w.p, "installed", 9) == 0;
                w = trim(w.p + k, w.n - k);
            }
            if (words != 3)
                s.installed = false;
        } else if (field(line, "Version", &v)) {
            s.version = v;
            s.have_version = true;
        } else if (field(line, "Architecture", &v)) {
            s.arch = v;
        } else if (field(line, "Homepage", &v)) {
            s.url = v;
        } else if (field(line, "Source", &v)) {
            s.source = v;
        } else if (field(line, "Description", &v)) {
            s.summary = v;
            s.desc = (struct span){"", 0};
            s.desc_is_block = true;
            in_desc = true;
        }
    }
    if (any)
        add_stanza(&l, &s, false);
    return finish(&l, apps);
}

int gfs__parse_apk_installed(const char *data, size_t len, struct gfs_app **apps)
{
    struct app_list l = {0};
    struct stanza s = {.installed = true};
    bool any = false;
    size_t pos = 0;
    struct span line;
    if (len > GFS_APPS_MAX_DB)
        len = GFS_APPS_MAX_DB;
    while (next_line(data, len, &pos, &line)) {
        if (line.n == 0) {
            if (any)
                add_stanza(&l, &s, true);
            memset(&s, 0, sizeof(s));
            s.installed = true;
            any = false;
            continue;
        }
        any = true;
        if (line.n < 2 || line.p[1] != ':')
            continue;
        struct span v = {line.p + 2, line.n - 2};
        switch (line.p[0]) {
        case 'P':
            s.name = v;
            break;
        case 'V':
            s.version = v;
            s.have_version = true;
            break;
        case 'A':
            s.arch = v;
            break;
        case 'U':
            s.url = v;
            break;
        case 'T':
            s.desc = v;
            break;
        default:
            break;
        }
    }
    if (any)
        add_stanza(&l, &s, true);
    return finish(&l, apps);
}

static int compare_apps(const void *pa, const void *pb)
{
    const struct gfs_app *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    if (!c)
        c = strcmp(a->arch, b->arch);
    if (!c)
        c = strcmp(a->version, b->version);
    if (!c)
        c = strcmp(a->release, b->release);
    return c;
}

void gfs__sort_apps(struct gfs_app *apps, int n)
{
    if (apps && n > 1)
        qsort(apps, (size_t)n, sizeof(*apps), compare_apps);
}

static int list_from(struct gfs_handle *h, const char *path,
                     int (*parse)(const char *, size_t, struct gfs_app **), struct gfs_app **apps)
{
    struct gfs_stat st;
    int rc = gfs_stat(h, path, &st);
    if (rc < 0)
        return rc;
    if (!S_ISREG(st.mode))
        return gfs_set_error(h, -EINVAL, "%s: not a regular file", path);
    if (st.size > GFS_APPS_MAX_DB)
        return gfs_set_error(h, -EFBIG, "%s: %llu bytes, more than the %u read", path,
                             (unsigned long long)st.size, GFS_APPS_MAX_DB);
    char *data;
    size_t len;
    rc = gfs_read_file(h, path, GFS_APPS_MAX_DB, &data, &len);
    if (rc < 0)
        return rc;
    int n = parse(data, len, apps);
    free(data);
    if (n < 0)
        return gfs_set_error(h, n, "%s: out of memory", path);
    gfs__sort_apps(*apps, n);
    return n;
}

int gfs_inspect_list_applications(struct gfs_handle *h, const struct gfs_os *os,
                                  struct gfs_app **apps)
{
    *apps = NULL;
    if (strcmp(os->type, "linux") != 0)
        return 0;
    if (strcmp(os->package_format, "deb") == 0)
        return list_from(h, "/var/lib/dpkg/status", gfs__parse_dpkg_status, apps);
    if (strcmp(os->package_format, "apk") == 0)
        return list_from(h, "/lib/apk/db/installed", gfs__parse_apk_installed, apps);
    if (strcmp(os->package_format, "rpm") == 0)
        return gfs_set_error(h, -EOPNOTSUPP,
                             "rpm database (/var/lib/rpm/rpmdb.sqlite or Packages): "
                             "not read by lib/guestfs");
    if (strcmp(os->package_format, "pacman") == 0)
        return gfs_set_error(h, -EOPNOTSUPP,
                             "pacman database (/var/lib/pacman/local): not read by lib/guestfs");
    /* Unknown package format: no applications, as libguestfs. */
    return 0;
}

void gfs_inspect_free_applications(struct gfs_app *apps, int n)
{
    if (!apps)
        return;
    for (int i = 0; i < n; i++)
        app_clear(&apps[i]);
    free(apps);
}
