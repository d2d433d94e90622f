/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect.c — operating-system inspection (inspect.h): each readable
 * filesystem is mounted alone at "/" of the handle's tree and looked at;
 * one with /etc and a release file is a Linux root. Its fields come from
 * os-release (or the older release files), /etc/hostname, the ELF header
 * of a system binary, and /etc/fstab, whose sources are resolved to the
 * handle's devices by UUID, label, partition UUID/label or name.
 *
 * Every file here is the guest's and untrusted: reads are bounded
 * (INSPECT_MAX_FILE), lines are parsed with explicit lengths, and a field
 * that cannot be parsed stays "unknown".
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "inspect.h"

#define INSPECT_MAX_FILE (1u << 20)
#define INSPECT_MAX_FSTAB_LINES 4096

static void set(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size)
        len = size - 1;
    memcpy(dst, src, len);
    dst[len] = 0;
    /* Control characters from the guest never reach an output. */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7F)
            dst[i] = '?';
}

static int read_small(struct gfs_handle *h, const char *path, char **data, size_t *len)
{
    struct gfs_stat st;
    if (gfs_stat(h, path, &st) < 0 || !S_ISREG(st.mode))
        return -ENOENT;
    return gfs_read_file(h, path, INSPECT_MAX_FILE, data, len);
}

static bool is_dir(struct gfs_handle *h, const char *path)
{
    struct gfs_stat st;
    return gfs_stat(h, path, &st) == 0 && S_ISDIR(st.mode);
}

/* The next line of @data (without its newline), advancing *pos. */
static bool next_line(const char *data, size_t len, size_t *pos, const char **line, size_t *llen)
{
    if (*pos >= len)
        return false;
    const char *s = data + *pos;
    const char *nl = memchr(s, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - s) : len - *pos;
    *line = s;
    *llen = n;
    *pos += n + (nl ? 1 : 0);
    if (n && s[n - 1] == '\r')
        (*llen)--;
    return true;
}

/* An os-release value: unquoted, or in '...' or "..." with \-escapes. */
static void os_release_value(const char *v, size_t n, char *out, size_t size)
{
    size_t o = 0;
    if (n && (v[0] == '"' || v[0] == '\'')) {
        char q = v[0];
        for (size_t i = 1; i < n && v[i] != q; i++) {
            if (q == '"' && v[i] == '\\' && i + 1 < n)
                i++;
            if (o + 1 < size)
                out[o++] = v[i];
        }
    } else {
        while (n && isspace((unsigned char)v[n - 1]))
            n--;
        for (size_t i = 0; i < n && o + 1 < size; i++)
            out[o++] = v[i];
    }
    out[o] = 0;
    set(out, size, out, o);
}

/* "12", "22.04", "3.18.4": major and minor. */
static void parse_version(const char *s, int *major, int *minor)
{
    char *end;
    long ma = strtol(s, &end, 10);
    if (end == s || ma < 0 || ma > 1000000)
        return;
    *major = (int)ma;
    *minor = 0;
    if (*end == '.') {
        const char *m = end + 1;
        long mi = strtol(m, &end, 10);
        if (end != m && mi >= 0 && mi < 1000000)
            *minor = (int)mi;
    }
}

static const struct {
    const char *id, *distro;
} distro_ids[] = {
    {"debian", "debian"},          {"ubuntu", "ubuntu"},
    {"linuxmint", "linuxmint"},    {"kali", "kalilinux"},
    {"fedora", "fedora"},          {"rhel", "rhel"},
    {"centos", "centos"},          {"rocky", "rocky"},
    {"almalinux", "almalinux"},    {"ol", "oraclelinux"},
    {"alpine", "alpinelinux"},     {"arch", "archlinux"},
    {"opensuse", "opensuse"},      {"opensuse-leap", "opensuse"},
    {"opensuse-tumbleweed", "opensuse"}, {"sles", "sles"},
    {"gentoo", "gentoo"},          {"void", "voidlinux"},
    {"altlinux", "altlinux"},      {"mageia", "mageia"},
    {"clear-linux-os", "clearlinux"}, {"coreos", "coreos"},
};

static void package_info(struct gfs_os *os)
{
    static const struct {
        const char *distro, *format, *mgmt;
    } t[] = {
        {"debian", "deb", "apt"},     {"ubuntu", "deb", "apt"},     {"linuxmint", "deb", "apt"},
        {"kalilinux", "deb", "apt"},  {"fedora", "rpm", "dnf"},     {"rocky", "rpm", "dnf"},
        {"almalinux", "rpm", "dnf"},  {"opensuse", "rpm", "zypper"}, {"sles", "rpm", "zypper"},
        {"alpinelinux", "apk", "apk"}, {"archlinux", "pacman", "pacman"},
        {"altlinux", "rpm", "apt"},   {"mageia", "rpm", "urpmi"},   {"voidlinux", "xbps", "xbps"},
        {"gentoo", "ebuild", "portage"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(os->distro, t[i].distro) == 0) {
            snprintf(os->package_format, sizeof(os->package_format), "%s", t[i].format);
            snprintf(os->package_management, sizeof(os->package_management), "%s", t[i].mgmt);
            return;
        }
    /* RHEL and its rebuilds: yum up to 7, dnf from 8. */
    if (!strcmp(os->distro, "rhel") || !strcmp(os->distro, "centos") ||
        !strcmp(os->distro, "oraclelinux")) {
        strcpy(os->package_format, "rpm");
        strcpy(os->package_management, os->major_version >= 8 ? "dnf" : "yum");
    }
}

/* libosinfo's short ids for the common distributions. */
static void osinfo_id(struct gfs_os *os)
{
    const char *d = os->distro;
    int ma = os->major_version, mi = os->minor_version;
    if (!strcmp(d, "debian") && ma > 0)
        snprintf(os->osinfo, sizeof(os->osinfo), "debian%d", ma);
    else if (!strcmp(d, "ubuntu") && ma > 0)
        snprintf(os->osinfo, sizeof(os->osinfo), "ubuntu%d.%02d", ma, mi);
    else if (!strcmp(d, "fedora") && ma > 0)
        snprintf(os->osinfo, sizeof(os->osinfo), "fedora%d", ma);
    else if ((!strcmp(d, "rhel") || !strcmp(d, "rocky") || !strcmp(d, "almalinux") ||
              !strcmp(d, "oraclelinux")) && ma > 0)
        snprintf(os->osinfo, sizeof(os->osinfo), "%s%d.%d",
                 !strcmp(d, "oraclelinux") ? "ol" : d, ma, mi);
    else if (!strcmp(d, "centos") && ma > 0)
        snprintf(os->osinfo, sizeof(os->osinfo), ma >= 8 ? "centos%d" : "centos%d.%d", ma, mi);
    else if (!strcmp(d, "alpinelinux") && ma > 0)
        snprintf(os->osinfo, sizeof(os->osinfo), "alpinelinux%d.%d", ma, mi);
    else if (!strcmp(d, "archlinux"))
        strcpy(os->osinfo, "archlinux");
}

static bool parse_os_release(struct gfs_handle *h, struct gfs_os *os)
{
    char *data;
    size_t len;
    if (read_small(h, "/etc/os-release", &data, &len) < 0 &&
        read_small(h, "/usr/lib/os-release", &data, &len) < 0)
        return false;
    char id[64] = "", version_id[64] = "", pretty[256] = "", variant[64] = "", name[128] = "";
    const char *line;
    size_t llen, pos = 0;
    while (next_line(data, len, &pos, &line, &llen)) {
        const char *eq = memchr(line, '=', llen);
        if (!eq || line[0] == '#')
            continue;
        size_t klen = (size_t)(eq - line);
        const char *v = eq + 1;
        size_t vlen = llen - klen - 1;
        struct {
            const char *key;
            char *out;
            size_t size;
        } keys[] = {
            {"ID", id, sizeof(id)},
            {"VERSION_ID", version_id, sizeof(version_id)},
            {"PRETTY_NAME", pretty, sizeof(pretty)},
            {"VARIANT", variant, sizeof(variant)},
            {"NAME", name, sizeof(name)},
        };
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if (strlen(keys[k].key) == klen && memcmp(line, keys[k].key, klen) == 0)
                os_release_value(v, vlen, keys[k].out, keys[k].size);
    }
    free(data);
    if (!id[0])
        return false;
    /* Debian's and CentOS's os-release give only the major version; as
     * libguestfs does, such a file is set aside for the release files
     * (debian_version "12.11" is then the product name and version). */
    if ((!strcmp(id, "debian") || !strcmp(id, "centos")) && !strchr(version_id, '.'))
        return false;
    for (size_t i = 0; i < sizeof(distro_ids) / sizeof(distro_ids[0]); i++)
        if (strcmp(id, distro_ids[i].id) == 0)
            snprintf(os->distro, sizeof(os->distro), "%s", distro_ids[i].distro);
    if (version_id[0])
        parse_version(version_id, &os->major_version, &os->minor_version);
    if (pretty[0])
        snprintf(os->product_name, sizeof(os->product_name), "%s", pretty);
    else if (name[0])
        snprintf(os->product_name, sizeof(os->product_name), "%s", name);
    if (variant[0])
        snprintf(os->product_variant, sizeof(os->product_variant), "%s", variant);
    return true;
}

/* The first line of a release file: product name and version. */
static bool parse_release_file(struct gfs_handle *h, const char *path, const char *distro,
                               struct gfs_os *os, bool set_name)
{
    char *data;
    size_t len;
    if (read_small(h, path, &data, &len) < 0)
        return false;
    const char *line;
    size_t llen, pos = 0;
    if (next_line(data, len, &pos, &line, &llen)) {
        char buf[256];
        set(buf, sizeof(buf), line, llen);
        if (set_name)
            snprintf(os->product_name, sizeof(os->product_name), "%s", buf);
        if (strcmp(os->distro, "unknown") == 0)
            snprintf(os->distro, sizeof(os->distro), "%s", distro);
        const char *d = buf;
        while (*d && !isdigit((unsigned char)*d))
            d++;
        if (*d && os->major_version == 0)
            parse_version(d, &os->major_version, &os->minor_version);
    }
    free(data);
    return true;
}

static void read_hostname(struct gfs_handle *h, struct gfs_os *os)
{
    static const char *files[] = {"/etc/hostname", "/etc/HOSTNAME", "/etc/sysconfig/network"};
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char *data;
        size_t len;
        if (read_small(h, files[f], &data, &len) < 0)
            continue;
        const char *line;
        size_t llen, pos = 0;
        bool found = false;
        while (!found && next_line(data, len, &pos, &line, &llen)) {
            if (f == 2) {
                if (llen > 9 && memcmp(line, "HOSTNAME=", 9) == 0) {
                    os_release_value(line + 9, llen - 9, os->hostname, sizeof(os->hostname));
                    found = os->hostname[0] != 0;
                }
                continue;
            }
            while (llen && isspace((unsigned char)*line))
                line++, llen--;
            while (llen && isspace((unsigned char)line[llen - 1]))
                llen--;
            if (llen && line[0] != '#') {
                set(os->hostname, sizeof(os->hostname), line, llen);
                found = true;
            }
        }
        free(data);
        if (found)
            return;
    }
}

/* The architecture of an ELF binary from its header (e_ident, e_machine). */
static const char *elf_arch(const uint8_t *e, size_t n)
{
    if (n < 20 || memcmp(e, "\177ELF", 4) != 0)
        return NULL;
    bool is64 = e[4] == 2, le = e[5] == 1;
    uint16_t machine = le ? (uint16_t)(e[18] | e[19] << 8) : (uint16_t)(e[18] << 8 | e[19]);
    switch (machine) {
    case 3: return "i386";
    case 62: return "x86_64";
    case 183: return "aarch64";
    case 40: return "arm";
    case 20: return "ppc";
    case 21: return le ? "ppc64le" : "ppc64";
    case 22: return is64 ? "s390x" : "s390";
    case 243: return is64 ? "riscv64" : "riscv32";
    case 8: return is64 ? (le ? "mips64el" : "mips64") : (le ? "mipsel" : "mips");
    case 2: return is64 ? "sparc64" : "sparc";
    case 43: return "sparc64";
    case 258: return "loongarch64";
    default: return NULL;
    }
}

static void read_arch(struct gfs_handle *h, struct gfs_os *os)
{
    static const char *bins[] = {"/bin/bash", "/bin/ls", "/bin/echo", "/bin/rm", "/bin/sh",
                                 "/usr/bin/bash", "/usr/bin/ls", "/bin/busybox"};
    for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
        struct gfs_node n;
        struct gfs_stat st;
        if (gfs_resolve(h, bins[i], 0, &n) < 0 || gfs_fs_stat(n.fs, n.ino, &st) < 0 ||
            !S_ISREG(st.mode))
            continue;
        uint8_t e[64];
        int64_t r = gfs_fs_read(n.fs, n.ino, 0, e, sizeof(e));
        const char *a = r > 0 ? elf_arch(e, (size_t)r) : NULL;
        if (a) {
            snprintf(os->arch, sizeof(os->arch), "%s", a);
            return;
        }
    }
}

/* ---- fstab: sources to devices ------------------------------------------ */

static bool eq_ci(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

static const struct gfs_device *by_tag(struct gfs_handle *h, const char *tag, const char *v)
{
    for (size_t i = 0; i < gfs_ndevices(h); i++) {
        const struct gfs_device *d = gfs_device_at(h, i);
        if (!strcmp(tag, "UUID") && d->probe.uuid[0] && eq_ci(d->probe.uuid, v))
            return d;
        if (!strcmp(tag, "LABEL") && d->probe.label[0] && !strcmp(d->probe.label, v))
            return d;
        if (!d->part)
            continue;
        const struct gfs_part_table *t = gfs_disk_table(h, d->disk);
        if (!strcmp(tag, "PARTUUID") && t) {
            char id[40];
            if (t->type == GFS_TABLE_GPT)
                gfs_guid_format(d->part->unique_guid, id);
            else
                snprintf(id, sizeof(id), "%08x-%02x", t->mbr_signature, d->partnum);
            if (eq_ci(id, v))
                return d;
        }
        if (!strcmp(tag, "PARTLABEL") && t && t->type == GFS_TABLE_GPT && d->part->name[0] &&
            !strcmp(d->part->name, v))
            return d;
    }
    return NULL;
}

static const struct gfs_device *resolve_spec(struct gfs_handle *h, const char *spec)
{
    static const struct {
        const char *prefix, *tag;
    } tags[] = {
        {"UUID=", "UUID"},
        {"LABEL=", "LABEL"},
        {"PARTUUID=", "PARTUUID"},
        {"PARTLABEL=", "PARTLABEL"},
        {"/dev/disk/by-uuid/", "UUID"},
        {"/dev/disk/by-label/", "LABEL"},
        {"/dev/disk/by-partuuid/", "PARTUUID"},
        {"/dev/disk/by-partlabel/", "PARTLABEL"},
    };
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        size_t n = strlen(tags[i].prefix);
        if (strncmp(spec, tags[i].prefix, n) == 0) {
            char v[260];
            os_release_value(spec + n, strlen(spec + n), v, sizeof(v));
            return by_tag(h, tags[i].tag, v);
        }
    }
    if (strncmp(spec, "/dev/", 5) == 0)
        return gfs_find_device(h, spec);
    return NULL;
}

static int add_fs(struct gfs_os *os, const char *dev)
{
    for (size_t i = 0; i < os->nfilesystems; i++)
        if (!strcmp(os->filesystems[i], dev))
            return 0;
    char(*n)[GFS_DEVNAME_MAX] = realloc(os->filesystems, (os->nfilesystems + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    os->filesystems = n;
    snprintf(n[os->nfilesystems++], GFS_DEVNAME_MAX, "%s", dev);
    return 0;
}

static int add_mp(struct gfs_os *os, const char *mp, const char *dev)
{
    for (size_t i = 0; i < os->nmountpoints; i++)
        if (!strcmp(os->mountpoints[i].mountpoint, mp))
            return 0;
    struct gfs_inspect_mp *n = realloc(os->mountpoints, (os->nmountpoints + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    os->mountpoints = n;
    n = &n[os->nmountpoints++];
    snprintf(n->mountpoint, sizeof(n->mountpoint), "%s", mp);
    snprintf(n->device, sizeof(n->device), "%s", dev);
    return add_fs(os, dev);
}

/* fstab fields are separated by blanks; "\040" and friends are octal escapes. */
static size_t fstab_field(const char *line, size_t len, size_t *pos, char *out, size_t size)
{
    while (*pos < len && isspace((unsigned char)line[*pos]))
        (*pos)++;
    size_t o = 0;
    while (*pos < len && !isspace((unsigned char)line[*pos])) {
        char c = line[(*pos)++];
        if (c == '\\' && *pos + 2 < len && line[*pos] >= '0' && line[*pos] <= '3') {
            c = (char)((line[*pos] - '0') * 64 + (line[*pos + 1] - '0') * 8 +
                       (line[*pos + 2] - '0'));
            *pos += 3;
        }
        if (o + 1 < size)
            out[o++] = c;
    }
    out[o] = 0;
    return o;
}

static int parse_fstab(struct gfs_handle *h, struct gfs_os *os)
{
    char *data;
    size_t len;
    if (read_small(h, "/etc/fstab", &data, &len) < 0)
        return 0;
    const char *line;
    size_t llen, pos = 0;
    int rc = 0;
    for (unsigned n = 0; rc == 0 && n < INSPECT_MAX_FSTAB_LINES &&
                         next_line(data, len, &pos, &line, &llen);
         n++) {
        char spec[512], file[256], type[64];
        size_t p = 0;
        if (!fstab_field(line, llen, &p, spec, sizeof(spec)) || spec[0] == '#')
            continue;
        if (!fstab_field(line, llen, &p, file, sizeof(file)))
            continue;
        fstab_field(line, llen, &p, type, sizeof(type));
        const struct gfs_device *d = resolve_spec(h, spec);
        if (!d)
            continue;
        if (!strcmp(type, "swap") || !strcmp(file, "none") || !strcmp(file, "swap")) {
            rc = add_fs(os, d->name);
            continue;
        }
        if (file[0] != '/')
            continue;
        rc = add_mp(os, file, d->name);
    }
    free(data);
    return rc;
}

/* ---- one filesystem ------------------------------------------------------- */

static int check_root(struct gfs_handle *h, const struct gfs_device *d, struct gfs_os *os)
{
    if (!is_dir(h, "/etc"))
        return 0;
    memset(os, 0, sizeof(*os));
    snprintf(os->root, sizeof(os->root), "%s", d->name);
    strcpy(os->type, "linux");
    strcpy(os->distro, "unknown");
    strcpy(os->product_name, "unknown");
    strcpy(os->product_variant, "unknown");
    strcpy(os->arch, "unknown");
    strcpy(os->hostname, "unknown");
    strcpy(os->package_format, "unknown");
    strcpy(os->package_management, "unknown");
    strcpy(os->osinfo, "unknown");
    strcpy(os->format, "installed");
    bool found = parse_os_release(h, os);
    static const struct {
        const char *path, *distro;
    } releases[] = {
        {"/etc/centos-release", "centos"}, {"/etc/fedora-release", "fedora"},
        {"/etc/redhat-release", "rhel"},  {"/etc/alpine-release", "alpinelinux"},
        {"/etc/arch-release", "archlinux"}, {"/etc/SuSE-release", "opensuse"},
        {"/etc/debian_version", "debian"},
    };
    for (size_t i = 0; !found && i < sizeof(releases) / sizeof(releases[0]); i++)
        found = parse_release_file(h, releases[i].path, releases[i].distro, os, true);
    if (!found)
        return 0;
    package_info(os);
    osinfo_id(os);
    read_hostname(h, os);
    read_arch(h, os);
    int rc = add_mp(os, "/", d->name);
    if (rc == 0)
        rc = parse_fstab(h, os);
    return rc < 0 ? rc : 1;
}

void gfs_inspect_free(struct gfs_os *roots, int n)
{
    for (int i = 0; roots && i < n; i++) {
        free(roots[i].mountpoints);
        free(roots[i].filesystems);
    }
    free(roots);
}

int gfs_inspect_os(struct gfs_handle *h, struct gfs_os **roots)
{
    if (!h || !roots)
        return -EINVAL;
    *roots = NULL;
    if (!gfs_launched(h))
        return gfs_set_error(h, -EINVAL, "inspect-os: the handle is not launched");
    gfs_umount_all(h);
    char saved[512];
    snprintf(saved, sizeof(saved), "%s", gfs_last_error(h));
    struct gfs_os *out = NULL;
    int n = 0, rc = 0;
    for (size_t i = 0; rc >= 0 && i < gfs_ndevices(h); i++) {
        const struct gfs_device *d = gfs_device_at(h, i);
        struct gfs_fs *fs;
        if (!d->probe.readable || gfs_device_fs(h, d, &fs) < 0)
            continue;
        if (gfs_mount(h, d->name, "/") < 0)
            continue;
        struct gfs_os os;
        rc = check_root(h, d, &os);
        gfs_umount_all(h);
        if (rc <= 0)
            continue;
        struct gfs_os *no = realloc(out, (size_t)(n + 1) * sizeof(*no));
        if (!no) {
            free(os.mountpoints);
            free(os.filesystems);
            rc = -ENOMEM;
            break;
        }
        out = no;
        out[n++] = os;
    }
    if (rc < 0) {
        gfs_inspect_free(out, n);
        return rc;
    }
    gfs_set_error(h, 0, "%s", saved);
    *roots = out;
    return n;
}

int gfs_inspect_mount(struct gfs_handle *h, const struct gfs_os *os)
{
    if (!h || !os)
        return -EINVAL;
    size_t n = os->nmountpoints;
    const struct gfs_inspect_mp **order = calloc(n ? n : 1, sizeof(*order));
    if (!order)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        order[i] = &os->mountpoints[i];
    /* shorter mount points first, stable */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strlen(order[j]->mountpoint) < strlen(order[j - 1]->mountpoint);
             j--) {
            const struct gfs_inspect_mp *t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        int r = gfs_mount(h, order[i]->device, order[i]->mountpoint);
        if (r == 0)
            continue;
        if (strcmp(order[i]->mountpoint, "/") == 0) {
            rc = r;
            break;
        }
        gfs_add_warning(h, "%s: not mounted on %s: %s", order[i]->device, order[i]->mountpoint,
                        gfs_last_error(h));
    }
    free(order);
    return rc;
}
