/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_config.c — the `kvmkit host` configuration: JSON in, every default
 * filled in, everything checked before anything is started. The format is
 * documented in docs/quickstart.md ("Your own host") and `kvmkit host --help`.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "img/img_cmd.h"

#define DEFAULT_SUBNET "10.77.0"
#define DEFAULT_DISK_SIZE (64ull << 20)

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kvmkit host: config: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return -EINVAL;
}

/* Refuse keys of @obj not in the NULL-terminated @known. */
static int only_keys(json_t *obj, const char *where, const char *const known[])
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (int i = 0; known[i]; i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok)
            return bad("%s: unknown key '%s'", where, key);
    }
    return 0;
}

/* Copy string member @key into @dst when present. 1 if copied, 0 absent. */
static int get_str(json_t *obj, const char *key, const char *where, char *dst,
                   size_t size)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return bad("%s.%s: expected a string", where, key);
    if (strlen(json_string_value(v)) >= size)
        return bad("%s.%s: longer than %zu characters", where, key, size - 1);
    strcpy(dst, json_string_value(v));
    return 1;
}

static int get_int(json_t *obj, const char *key, const char *where, int lo, int hi,
                   int *dst)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return bad("%s.%s: expected an integer from %d to %d", where, key, lo, hi);
    *dst = (int)json_integer_value(v);
    return 1;
}

/* snprintf through a scratch buffer: the arguments may live in the same
 * configuration object as the destination. */
static void set_fmt(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_fmt(char *dst, size_t size, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    host_copy(dst, size, tmp);
}

static int check_name(const char *name, const char *where)
{
    size_t n = strlen(name);
    if (n == 0 || n >= HOST_NAMELEN || !isalpha((unsigned char)name[0]))
        return bad("%s: name '%s' must start with a letter and have 1 to %d characters",
                   where, name, HOST_NAMELEN - 1);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
            return bad("%s: name '%s': only letters, digits, '-' and '_'", where, name);
    return 0;
}

static int check_cidr(const char *cidr, const char *where)
{
    char ip[32];
    const char *slash = strchr(cidr, '/');
    struct in_addr a;
    if (!slash || slash - cidr >= (long)sizeof(ip))
        return bad("%s: '%s' is not an IPv4 address with a prefix (like 10.77.0.1/24)",
                   where, cidr);
    snprintf(ip, sizeof(ip), "%.*s", (int)(slash - cidr), cidr);
    char *end;
    long len = strtol(slash + 1, &end, 10);
    if (inet_pton(AF_INET, ip, &a) != 1 || *end || end == slash + 1 || len < 1 || len > 32)
        return bad("%s: '%s' is not an IPv4 address with a prefix (like 10.77.0.1/24)",
                   where, cidr);
    return 0;
}

void host_addr_ip(const char *cidr, char *out, size_t size)
{
    size_t n = strcspn(cidr, "/");
    if (n >= size)
        n = size - 1;
    memmove(out, cidr, n);
    out[n] = 0;
}

static int check_mac(const char *mac, const char *where)
{
    unsigned b[6];
    char tail;
    if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
               &tail) != 6 || strlen(mac) != 17)
        return bad("%s: '%s' is not a MAC address (like 52:54:00:77:00:01)", where, mac);
    if (b[0] & 1)
        return bad("%s: '%s' is a multicast MAC address", where, mac);
    return 0;
}

/* Relative paths are taken from the current directory. */
static int absolute(char *path, size_t size, const char *where)
{
    if (!path[0] || path[0] == '/')
        return 0;
    char cwd[512], out[1024];
    if (!getcwd(cwd, sizeof(cwd)))
        return bad("%s: cannot resolve '%s': %s", where, path, strerror(errno));
    snprintf(out, sizeof(out), "%s/%s", cwd, path);
    if (strlen(out) >= size)
        return bad("%s: path '%s' too long", where, out);
    strcpy(path, out);
    return 0;
}

static int parse_bridge(json_t *j, int i, struct host_bridge *b)
{
    static const char *const keys[] = {"name", "host_port", "ports", NULL};
    char where[128];
    snprintf(where, sizeof(where), "bridges[%d]", i);
    if (!json_is_object(j))
        return bad("%s: expected an object", where);
    int rc = only_keys(j, where, keys);
    if (rc < 0 || (rc = get_str(j, "name", where, b->name, sizeof(b->name))) < 0)
        return rc;
    json_t *hp = json_object_get(j, "host_port");
    if (json_is_null(hp)) {
        b->has_host_port = false;
    } else if (hp) {
        static const char *const hkeys[] = {"name", "address", NULL};
        char w[160];
        snprintf(w, sizeof(w), "%s.host_port", where);
        if (!json_is_object(hp))
            return bad("%s: expected an object or null", w);
        b->has_host_port = true;
        if ((rc = only_keys(hp, w, hkeys)) < 0 ||
            (rc = get_str(hp, "name", w, b->host_port, sizeof(b->host_port))) < 0 ||
            (rc = get_str(hp, "address", w, b->host_address, sizeof(b->host_address))) < 0)
            return rc;
    }
    json_t *ports = json_object_get(j, "ports");
    if (ports) {
        if (!json_is_array(ports) || json_array_size(ports) > HOST_MAX_PORTS)
            return bad("%s.ports: expected an array of at most %d ports", where,
                       HOST_MAX_PORTS);
        size_t k;
        json_t *p;
        json_array_foreach(ports, k, p) {
            static const char *const pkeys[] = {"name", "type", NULL};
            char w[160];
            snprintf(w, sizeof(w), "%s.ports[%zu]", where, k);
            struct host_port *hp2 = &b->ports[b->n_ports++];
            strcpy(hp2->type, "afpacket");
            if (!json_is_object(p))
                return bad("%s: expected an object", w);
            if ((rc = only_keys(p, w, pkeys)) < 0 ||
                (rc = get_str(p, "name", w, hp2->name, sizeof(hp2->name))) < 0 ||
                (rc = get_str(p, "type", w, hp2->type, sizeof(hp2->type))) < 0)
                return rc;
            if (!hp2->name[0])
                return bad("%s: a port needs a name (a kernel interface)", w);
            if (strcmp(hp2->type, "afpacket") && strcmp(hp2->type, "afxdp") &&
                strcmp(hp2->type, "system") && strcmp(hp2->type, "tap") &&
                strcmp(hp2->type, "internal"))
                return bad("%s.type: '%s' is not afpacket, afxdp, system, tap or internal", w,
                           hp2->type);
        }
    }
    return 0;
}

static int parse_disk(json_t *j, int i, struct host_disk *d)
{
    static const char *const keys[] = {"name", "size", "image", "format", "marker", NULL};
    char where[128], size[32] = "";
    snprintf(where, sizeof(where), "disks[%d]", i);
    if (!json_is_object(j))
        return bad("%s: expected an object", where);
    int rc;
    if ((rc = only_keys(j, where, keys)) < 0 ||
        (rc = get_str(j, "name", where, d->name, sizeof(d->name))) < 0 ||
        (rc = get_str(j, "size", where, size, sizeof(size))) < 0 ||
        (rc = get_str(j, "image", where, d->image, sizeof(d->image))) < 0 ||
        (rc = get_str(j, "format", where, d->format, sizeof(d->format))) < 0 ||
        (rc = get_str(j, "marker", where, d->marker, sizeof(d->marker))) < 0)
        return rc;
    if (size[0] && (img_cmd_parse_size(size, &d->size) < 0 || d->size < (8u << 20) ||
                    d->size > (1ull << 40)))
        return bad("%s.size: '%s' is not a size from 8M to 1T", where, size);
    return 0;
}

static int parse_vm(json_t *j, int i, struct host_vm *v)
{
    static const char *const keys[] = {"name", "bridge", "tag", "mac", "address", "disk",
                                       "memory", "cpus", "fio_iops", "peer", "script",
                                       NULL};
    char where[128];
    snprintf(where, sizeof(where), "vms[%d]", i);
    if (!json_is_object(j))
        return bad("%s: expected an object", where);
    int rc;
    if ((rc = only_keys(j, where, keys)) < 0 ||
        (rc = get_str(j, "name", where, v->name, sizeof(v->name))) < 0 ||
        (rc = get_str(j, "bridge", where, v->bridge, sizeof(v->bridge))) < 0 ||
        (rc = get_int(j, "tag", where, 0, 4094, &v->tag)) < 0 ||
        (rc = get_str(j, "mac", where, v->mac, sizeof(v->mac))) < 0 ||
        (rc = get_str(j, "address", where, v->address, sizeof(v->address))) < 0 ||
        (rc = get_str(j, "memory", where, v->memory, sizeof(v->memory))) < 0 ||
        (rc = get_int(j, "cpus", where, 1, 64, &v->cpus)) < 0 ||
        (rc = get_int(j, "fio_iops", where, 0, 100000, &v->fio_iops)) < 0 ||
        (rc = get_str(j, "peer", where, v->peer, sizeof(v->peer))) < 0 ||
        (rc = get_str(j, "script", where, v->script, sizeof(v->script))) < 0)
        return rc;
    json_t *disk = json_object_get(j, "disk");
    if (json_is_null(disk))
        strcpy(v->disk, "-"); /* no disk; cleared after the defaults */
    else if ((rc = get_str(j, "disk", where, v->disk, sizeof(v->disk))) < 0)
        return rc;
    return 0;
}

static int parse_array(json_t *root, const char *key, int max, int *n,
                       int (*parse)(json_t *, int, void *), void *items, size_t item)
{
    json_t *a = json_object_get(root, key);
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > (size_t)max)
        return bad("%s: expected an array of at most %d entries", key, max);
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) {
        int rc = parse(e, (int)i, (char *)items + i * item);
        if (rc < 0)
            return rc;
        (*n)++;
    }
    return 1;
}

static struct host_bridge *find_bridge(struct host_config *c, const char *name)
{
    for (int i = 0; i < c->n_bridges; i++)
        if (strcmp(c->bridges[i].name, name) == 0)
            return &c->bridges[i];
    return NULL;
}

static struct host_disk *find_disk(struct host_config *c, const char *name)
{
    for (int i = 0; i < c->n_disks; i++)
        if (strcmp(c->disks[i].name, name) == 0)
            return &c->disks[i];
    return NULL;
}

/* Defaults, then every cross-reference and name checked. */
static int complete(struct host_config *c, bool disks_given)
{
    int rc;
    if (!c->accel[0])
        strcpy(c->accel, "auto");
    if (strcmp(c->accel, "auto") && strcmp(c->accel, "kvm") && strcmp(c->accel, "tcg"))
        return bad("accel: '%s' is not auto, kvm or tcg", c->accel);
    if (!c->qemu[0])
        snprintf(c->qemu, sizeof(c->qemu), "%s",
                 getenv("KVMKIT_QEMU") ? getenv("KVMKIT_QEMU") : "qemu-system-x86_64");
    const char *gdir = getenv("KVMKIT_GUEST_DIR") ? getenv("KVMKIT_GUEST_DIR")
                                                  : "build/guest";
    if (!c->kernel[0])
        snprintf(c->kernel, sizeof(c->kernel), "%s/vmlinux", gdir);
    if (!c->initrd[0])
        snprintf(c->initrd, sizeof(c->initrd), "%s/initramfs.cpio.gz", gdir);
    if ((rc = absolute(c->kernel, sizeof(c->kernel), "guest.kernel")) < 0 ||
        (rc = absolute(c->initrd, sizeof(c->initrd), "guest.initrd")) < 0 ||
        (rc = absolute(c->dir, sizeof(c->dir), "dir")) < 0)
        return rc;
    /* vhost-user and RPC sockets live in the run directory: sun_path is 108 bytes. */
    if (strlen(c->dir) > 80)
        return bad("dir: '%s' is too long for Unix socket paths (80 characters at most)",
                   c->dir);

    if (c->n_bridges == 0) {
        c->n_bridges = 1;
        strcpy(c->bridges[0].name, "br0");
        c->bridges[0].has_host_port = true;
    }
    for (int i = 0; i < c->n_bridges; i++) {
        struct host_bridge *b = &c->bridges[i];
        char where[32];
        snprintf(where, sizeof(where), "bridges[%d]", i);
        if (!b->name[0])
            snprintf(b->name, sizeof(b->name), "br%d", i);
        if ((rc = check_name(b->name, where)) < 0)
            return rc;
        for (int k = 0; k < i; k++)
            if (strcmp(c->bridges[k].name, b->name) == 0)
                return bad("%s: bridge '%s' is defined twice", where, b->name);
        if (b->has_host_port) {
            if (!b->host_port[0])
                snprintf(b->host_port, sizeof(b->host_port), "kkhost%u",
                         (unsigned)i % HOST_MAX_BRIDGES);
            if (!b->host_address[0])
                snprintf(b->host_address, sizeof(b->host_address), "%s.%d/24",
                         DEFAULT_SUBNET, i == 0 ? 1 : 0);
            if (i > 0 && strcmp(b->host_address, DEFAULT_SUBNET ".0/24") == 0)
                return bad("%s.host_port: give it an address", where);
            if (strlen(b->host_port) > 15)
                return bad("%s.host_port: '%s' is longer than an interface name (15)", where,
                           b->host_port);
            if ((rc = check_name(b->host_port, where)) < 0 ||
                (rc = check_cidr(b->host_address, where)) < 0)
                return rc;
        }
        for (int k = 0; k < b->n_ports; k++) {
            if (strlen(b->ports[k].name) > 15)
                return bad("%s: port '%s' is longer than an interface name (15)", where,
                           b->ports[k].name);
            if ((rc = check_name(b->ports[k].name, where)) < 0)
                return rc;
        }
    }

    if (c->n_vms == 0) {
        c->n_vms = 2;
        memset(c->vms, 0, 2 * sizeof(c->vms[0]));
        c->vms[0].fio_iops = c->vms[1].fio_iops = -1;
    }
    for (int i = 0; i < c->n_vms; i++) {
        struct host_vm *v = &c->vms[i];
        char where[32];
        snprintf(where, sizeof(where), "vms[%d]", i);
        if (!v->name[0])
            snprintf(v->name, sizeof(v->name), "vm%d", i + 1);
        if ((rc = check_name(v->name, where)) < 0)
            return rc;
        if (strlen(v->name) > 24) /* room for "-disk" */
            return bad("%s: name '%s' is longer than 24 characters", where, v->name);
        for (int k = 0; k < i; k++)
            if (strcmp(c->vms[k].name, v->name) == 0)
                return bad("%s: VM '%s' is defined twice", where, v->name);
        if (!v->bridge[0])
            strcpy(v->bridge, c->bridges[0].name);
        struct host_bridge *b = find_bridge(c, v->bridge);
        if (!b)
            return bad("%s.bridge: no bridge '%s'", where, v->bridge);
        for (int k = 0; k < c->n_bridges; k++) {
            if (c->bridges[k].has_host_port && strcmp(c->bridges[k].host_port, v->name) == 0)
                return bad("%s: '%s' is also a host port's name", where, v->name);
            for (int p = 0; p < c->bridges[k].n_ports; p++)
                if (strcmp(c->bridges[k].ports[p].name, v->name) == 0)
                    return bad("%s: '%s' is also a port's name", where, v->name);
        }
        if (!v->mac[0])
            set_fmt(v->mac, sizeof(v->mac), "52:54:00:77:%02x:%02x",
                    (unsigned)(b - c->bridges) & 0xff, (unsigned)(i + 1) & 0xff);
        if (!v->address[0])
            snprintf(v->address, sizeof(v->address), "%s.%d/24", DEFAULT_SUBNET, 11 + i);
        if (!v->memory[0])
            strcpy(v->memory, "512M");
        if (!v->cpus)
            v->cpus = 1;
        if (v->fio_iops < 0)
            v->fio_iops = 50;
        if ((rc = check_mac(v->mac, where)) < 0 || (rc = check_cidr(v->address, where)) < 0 ||
            (rc = absolute(v->script, sizeof(v->script), where)) < 0)
            return rc;
        if (v->peer[0] && strcmp(v->peer, "none") != 0) {
            struct in_addr a;
            if (inet_pton(AF_INET, v->peer, &a) != 1)
                return bad("%s.peer: '%s' is not an IPv4 address", where, v->peer);
        }
        if (strcmp(v->disk, "-") == 0) {
            v->disk[0] = 0;
        } else {
            if (!v->disk[0])
                set_fmt(v->disk, sizeof(v->disk), "%s-disk", v->name);
            if (!find_disk(c, v->disk)) {
                if (disks_given)
                    return bad("%s.disk: no disk '%s'", where, v->disk);
                if (c->n_disks == HOST_MAX_DISKS)
                    return bad("more than %d disks", HOST_MAX_DISKS);
                memset(&c->disks[c->n_disks], 0, sizeof(c->disks[0]));
                strcpy(c->disks[c->n_disks++].name, v->disk);
            }
            for (int k = 0; k < i; k++)
                if (strcmp(c->vms[k].disk, v->disk) == 0)
                    return bad("%s.disk: '%s' is already the disk of %s", where, v->disk,
                               c->vms[k].name);
        }
    }
    /* Each VM pings the next VM on its bridge (the last pings the first). */
    for (int i = 0; i < c->n_vms; i++) {
        struct host_vm *v = &c->vms[i];
        if (strcmp(v->peer, "none") == 0) {
            v->peer[0] = 0;
            continue;
        }
        if (v->peer[0])
            continue;
        for (int k = 1; k < c->n_vms; k++) {
            struct host_vm *o = &c->vms[(i + k) % c->n_vms];
            if (strcmp(o->bridge, v->bridge) == 0 && o->tag == v->tag) {
                host_addr_ip(o->address, v->peer, sizeof(v->peer));
                break;
            }
        }
    }
    for (int i = 0; i < c->n_disks; i++) {
        struct host_disk *d = &c->disks[i];
        char where[32];
        snprintf(where, sizeof(where), "disks[%d]", i);
        if (!d->name[0])
            snprintf(d->name, sizeof(d->name), "disk%d", i + 1);
        if ((rc = check_name(d->name, where)) < 0)
            return rc;
        for (int k = 0; k < i; k++)
            if (strcmp(c->disks[k].name, d->name) == 0)
                return bad("%s: disk '%s' is defined twice", where, d->name);
        if (!d->size)
            d->size = DEFAULT_DISK_SIZE;
        if (!d->format[0])
            strcpy(d->format, "qcow2");
        if (strcmp(d->format, "qcow2") && strcmp(d->format, "raw"))
            return bad("%s.format: '%s' is not qcow2 or raw", where, d->format);
        if ((rc = absolute(d->image, sizeof(d->image), where)) < 0)
            return rc;
        if (!d->marker[0])
            set_fmt(d->marker, sizeof(d->marker), "kvmkit disk %s", d->name);
        for (const char *p = d->marker; *p; p++)
            if (!isprint((unsigned char)*p) || *p == '\'' || *p == '\\')
                return bad("%s.marker: printable characters only, no quotes or backslashes",
                           where);
    }
    return 0;
}

int host_config_load(const char *path, const char *dir, struct host_config *c)
{
    memset(c, 0, sizeof(*c));
    json_t *root = NULL;
    int rc = 0;
    bool disks_given = false;
    if (path) {
        json_error_t err;
        root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
        if (!root) {
            if (access(path, R_OK) != 0) {
                fprintf(stderr, "kvmkit host: config %s: %s\n", path, strerror(errno));
                return -ENOENT;
            }
            return bad("%s:%d:%d: %s", path, err.line, err.column, err.text);
        }
        if (!json_is_object(root)) {
            json_decref(root);
            return bad("%s: expected a JSON object", path);
        }
        static const char *const keys[] = {"dir", "accel", "qemu", "guest", "bridges",
                                           "disks", "vms", NULL};
        static const char *const gkeys[] = {"kernel", "initrd", "append", NULL};
        json_t *g = json_object_get(root, "guest");
        if ((rc = only_keys(root, "top level", keys)) < 0 ||
            (rc = get_str(root, "dir", "top level", c->dir, sizeof(c->dir))) < 0 ||
            (rc = get_str(root, "accel", "top level", c->accel, sizeof(c->accel))) < 0 ||
            (rc = get_str(root, "qemu", "top level", c->qemu, sizeof(c->qemu))) < 0)
            goto out;
        if (g && !json_is_object(g)) {
            rc = bad("guest: expected an object");
            goto out;
        }
        if (g && ((rc = only_keys(g, "guest", gkeys)) < 0 ||
                  (rc = get_str(g, "kernel", "guest", c->kernel, sizeof(c->kernel))) < 0 ||
                  (rc = get_str(g, "initrd", "guest", c->initrd, sizeof(c->initrd))) < 0 ||
                  (rc = get_str(g, "append", "guest", c->append, sizeof(c->append))) < 0))
            goto out;
        if ((rc = parse_array(root, "bridges", HOST_MAX_BRIDGES, &c->n_bridges,
                              (int (*)(json_t *, int, void *))parse_bridge, c->bridges,
                              sizeof(c->bridges[0]))) < 0)
            goto out;
        /* A bridge listed without host_port gets the default one. */
        json_t *ba = json_object_get(root, "bridges");
        for (int i = 0; i < c->n_bridges; i++)
            if (!json_object_get(json_array_get(ba, (size_t)i), "host_port"))
                c->bridges[i].has_host_port = true;
        if ((rc = parse_array(root, "disks", HOST_MAX_DISKS, &c->n_disks,
                              (int (*)(json_t *, int, void *))parse_disk, c->disks,
                              sizeof(c->disks[0]))) < 0)
            goto out;
        disks_given = rc == 1;
        if ((rc = parse_array(root, "vms", HOST_MAX_VMS, &c->n_vms,
                              (int (*)(json_t *, int, void *))parse_vm, c->vms,
                              sizeof(c->vms[0]))) < 0)
            goto out;
        /* fio_iops given as 0 means none; absent means the default. */
        json_t *va = json_object_get(root, "vms");
        for (int i = 0; i < c->n_vms; i++)
            if (!json_object_get(json_array_get(va, (size_t)i), "fio_iops"))
                c->vms[i].fio_iops = -1;
    }
    if (dir) {
        if (strlen(dir) >= sizeof(c->dir)) {
            rc = bad("dir: too long");
            goto out;
        }
        strcpy(c->dir, dir);
    }
    if (!c->dir[0])
        snprintf(c->dir, sizeof(c->dir), "%s",
                 getenv("KVMKIT_HOST_DIR") ? getenv("KVMKIT_HOST_DIR") : "kvmkit-host");
    rc = complete(c, disks_given);
out:
    json_decref(root);
    return rc < 0 ? rc : 0;
}

json_t *host_config_to_json(const struct host_config *c)
{
    json_t *bridges = json_array(), *disks = json_array(), *vms = json_array();
    for (int i = 0; i < c->n_bridges; i++) {
        const struct host_bridge *b = &c->bridges[i];
        json_t *ports = json_array();
        for (int k = 0; k < b->n_ports; k++)
            json_array_append_new(ports, json_pack("{s:s, s:s}", "name", b->ports[k].name,
                                                   "type", b->ports[k].type));
        json_array_append_new(
            bridges, json_pack("{s:s, s:o, s:o}", "name", b->name, "host_port",
                               b->has_host_port
                                   ? json_pack("{s:s, s:s}", "name", b->host_port, "address",
                                               b->host_address)
                                   : json_null(),
                               "ports", ports));
    }
    for (int i = 0; i < c->n_disks; i++) {
        const struct host_disk *d = &c->disks[i];
        char size[32];
        if (d->size % (1u << 20) == 0)
            snprintf(size, sizeof(size), "%lluM", (unsigned long long)(d->size >> 20));
        else
            snprintf(size, sizeof(size), "%lluK", (unsigned long long)(d->size >> 10));
        json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "name", d->name, "size", size, "format",
                              d->format, "marker", d->marker);
        if (d->image[0])
            json_object_set_new(j, "image", json_string(d->image));
        json_array_append_new(disks, j);
    }
    for (int i = 0; i < c->n_vms; i++) {
        const struct host_vm *v = &c->vms[i];
        json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:i, s:i, s:s}", "name", v->name,
                              "bridge", v->bridge, "tag", v->tag, "mac", v->mac, "address",
                              v->address, "memory", v->memory, "cpus", v->cpus, "fio_iops",
                              v->fio_iops, "peer", v->peer[0] ? v->peer : "none");
        json_object_set_new(j, "disk", v->disk[0] ? json_string(v->disk) : json_null());
        if (v->script[0])
            json_object_set_new(j, "script", json_string(v->script));
        json_array_append_new(vms, j);
    }
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:o, s:o, s:o}", "dir", c->dir,
                     "accel", c->accel, "qemu", c->qemu, "guest", "kernel", c->kernel,
                     "initrd", c->initrd, "append", c->append, "bridges", bridges, "disks",
                     disks, "vms", vms);
}
