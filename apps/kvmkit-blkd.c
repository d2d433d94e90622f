/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvmkit-blkd — the storage daemon: bdevs (lib/blk backends) served to VMs
 * over vhost-user-blk and to anything else over NBD.
 *
 * Threads: the control reactor (this thread) runs the JSON-RPC socket,
 * the vhost-user connections and the NBD listeners; N worker reactors,
 * pinned to the cores given with --cores, run the I/O: each virtqueue and
 * each NBD connection lives on one of them with its own bdev channel.
 *
 * State: every successful bdev_create/bdev_delete/bdev_resize/export_add/
 * export_remove rewrites the --config file atomically; on start the file
 * is read back and everything in it recreated in order, so a restarted
 * daemon (after a crash or an upgrade) serves the same disks on the same
 * sockets. A vhost-user-blk guest reconnects by itself (QEMU's reconnect
 * option or a server socket) and the inflight area lets it resume.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "blk.h"
#include "blk_backend.h"
#include "kk_config.h"
#include "kk_daemon.h"
#include "kk_err.h"
#include "kk_log.h"
#include "kk_version.h"
#include "nbd_server.h"
#include "vhost_blk.h"

KK_LOG_COMPONENT(blkd_log, "blkd");

#define MAX_WORKERS 64

enum export_kind { EXPORT_VHOST, EXPORT_NBD };

struct nbd_listener {
    struct nbd_server *srv;
    char *key;                   /* unix|tcp|cert|key|required */
    unsigned users;
    struct nbd_listener *next;
};

struct export {
    char *id;
    enum export_kind kind;
    json_t *params;              /* as given (for export_list and the config) */
    struct vblk_target *vblk;
    struct nbd_listener *nbd;
    char *nbd_name;
    struct export *next;
};

struct blkd {
    struct kk_daemon d;
    struct kk_reactor *workers[MAX_WORKERS];
    unsigned n_workers;
    const char *config_path;
    json_t *bdev_order;          /* array of bdev names in creation order */
    json_t *stale_bdevs;         /* config entries that failed to restore: kept in */
    json_t *stale_exports;       /* the file and retried on the next start */
    struct export *exports;
    struct nbd_listener *listeners;
    bool restoring;
};

/* ---- configuration ------------------------------------------------------- */

static void bdev_entry(struct blk_bdev *b, void *arg)
{
    json_t *map = arg;
    json_object_set_new(map, blk_bdev_name(b),
                        json_pack("{s:s, s:s, s:O}", "name", blk_bdev_name(b), "type",
                                  blk_bdev_type(b), "params", blk_bdev_params(b)));
}

static json_t *current_config(struct blkd *bd)
{
    json_t *map = json_object();
    blk_bdev_foreach(bdev_entry, map);
    json_t *bdevs = json_array();
    size_t i;
    json_t *name;
    json_array_foreach(bd->bdev_order, i, name) {
        json_t *e = json_object_get(map, json_string_value(name));
        if (e)
            json_array_append(bdevs, e);
    }
    json_decref(map);
    json_array_extend(bdevs, bd->stale_bdevs);
    /* newest first; start-up restores from the end (stale ones are older) */
    json_t *exports = json_array();
    for (struct export *e = bd->exports; e; e = e->next)
        json_array_append(exports, e->params);
    json_array_extend(exports, bd->stale_exports);
    return json_pack("{s:i, s:o, s:o}", "version", 1, "bdevs", bdevs, "exports", exports);
}

static int save_config(struct blkd *bd)
{
    if (!bd->config_path || bd->restoring)
        return 0;
    json_t *c = current_config(bd);
    int rc = kk_config_save(bd->config_path, c);
    json_decref(c);
    if (rc < 0)
        KK_LOGE(blkd_log, "cannot save %s: %s", bd->config_path, kk_strerror(rc));
    return rc;
}

/* ---- bdevs -------------------------------------------------------------------- */

static int do_bdev_create(struct blkd *bd, const char *name, const char *type, json_t *params,
                          char *err, size_t errlen)
{
    int rc = blk_bdev_create(name, type, params, err, errlen, NULL);
    if (rc == 0) {
        size_t i;
        json_t *v;
        json_array_foreach(bd->stale_bdevs, i, v) {
            if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0) {
                json_array_remove(bd->stale_bdevs, i);
                break;
            }
        }
        json_array_append_new(bd->bdev_order, json_string(name));
        save_config(bd);
    }
    return rc;
}

static void rpc_bdev_create(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct blkd *bd = arg;
    const char *name, *type;
    json_t *p = NULL;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s:s, s?o!}", "name", &name, "type", &type,
                          "params", &p) < 0)
        return;
    if (p && !json_is_object(p)) {
        kk_jsonrpc_respond_errno(req, -EINVAL, "params must be an object");
        return;
    }
    char err[256] = "";
    int rc = do_bdev_create(bd, name, type, p, err, sizeof(err));
    if (rc < 0) {
        kk_jsonrpc_respond_errno(req, rc, "bdev_create %s: %s", name, err);
        return;
    }
    struct blk_bdev *b;
    if (blk_bdev_open(name, false, &b) == 0) {
        kk_jsonrpc_respond(req, blk_bdev_to_json(b));
        blk_bdev_close(b);
    } else {
        kk_jsonrpc_respond(req, json_true());
    }
}

static void rpc_bdev_delete(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct blkd *bd = arg;
    const char *name;
    if (kk_jsonrpc_unpack(req, params, "{s:s!}", "name", &name) < 0)
        return;
    int rc = blk_bdev_delete(name);
    if (rc == -EBUSY) {
        kk_jsonrpc_respond_errno(req, rc, "bdev %s is in use (exported, or the base of another bdev)",
                                 name);
        return;
    }
    if (rc < 0) {
        kk_jsonrpc_respond_errno(req, rc, "bdev %s", name);
        return;
    }
    size_t i;
    json_t *n;
    json_array_foreach(bd->bdev_order, i, n) {
        if (strcmp(json_string_value(n), name) == 0) {
            json_array_remove(bd->bdev_order, i);
            break;
        }
    }
    save_config(bd);
    kk_jsonrpc_respond(req, json_true());
}

static void list_entry(struct blk_bdev *b, void *arg)
{
    json_array_append_new(arg, blk_bdev_to_json(b));
}

static void rpc_bdev_list(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    (void)arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    json_t *a = json_array();
    blk_bdev_foreach(list_entry, a);
    kk_jsonrpc_respond(req, a);
}

static void stats_entry(struct blk_bdev *b, void *arg)
{
    struct blk_stats *st = malloc(sizeof(*st));
    if (!st)
        return;
    blk_bdev_get_stats(b, st);
    json_t *j = blk_stats_to_json(st);
    json_object_set_new(j, "name", json_string(blk_bdev_name(b)));
    json_array_append_new(arg, j);
    free(st);
}

static void rpc_bdev_stats(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    (void)arg;
    const char *name = NULL;
    if (kk_jsonrpc_unpack(req, params, "{s?s!}", "name", &name) < 0)
        return;
    if (name) {
        struct blk_bdev *b;
        int rc = blk_bdev_open(name, false, &b);
        if (rc < 0) {
            kk_jsonrpc_respond_errno(req, rc, "bdev %s", name);
            return;
        }
        json_t *a = json_array();
        stats_entry(b, a);
        blk_bdev_close(b);
        json_t *one = json_incref(json_array_get(a, 0));
        json_decref(a);
        kk_jsonrpc_respond(req, one);
        return;
    }
    json_t *a = json_array();
    blk_bdev_foreach(stats_entry, a);
    kk_jsonrpc_respond(req, a);
}

static void rpc_bdev_resize(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct blkd *bd = arg;
    const char *name;
    json_t *size_j;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s:o!}", "name", &name, "size", &size_j) < 0)
        return;
    uint64_t size = 0;
    json_t *tmp = json_pack("{s:O}", "size", size_j);
    char err[128] = "";
    int rc = blk_param_size(tmp, "size", &size, err, sizeof(err));
    json_decref(tmp);
    if (rc < 0) {
        kk_jsonrpc_respond_errno(req, rc, "%s", err);
        return;
    }
    struct blk_bdev *b;
    rc = blk_bdev_open(name, false, &b);
    if (rc < 0) {
        kk_jsonrpc_respond_errno(req, rc, "bdev %s", name);
        return;
    }
    rc = blk_bdev_resize(b, size);
    if (rc == 0) {
        /* a restart recreates it at the new size */
        json_t *p = (json_t *)(uintptr_t)blk_bdev_params(b);
        if (strcmp(blk_bdev_type(b), "image") != 0)
            json_object_set_new(p, "size", json_integer((json_int_t)size));
        save_config(bd);
        kk_jsonrpc_respond(req, blk_bdev_to_json(b));
    } else {
        kk_jsonrpc_respond_errno(req, rc, "resize %s to %" PRIu64 " bytes", name, size);
    }
    blk_bdev_close(b);
}

/* ---- exports ------------------------------------------------------------------ */

static struct export *find_export(struct blkd *bd, const char *id)
{
    for (struct export *e = bd->exports; e; e = e->next) {
        if (strcmp(e->id, id) == 0)
            return e;
    }
    return NULL;
}

static void free_export(struct export *e)
{
    free(e->id);
    free(e->nbd_name);
    json_decref(e->params);
    free(e);
}

static int add_vhost(struct blkd *bd, struct export *e, const json_t *p, char *err,
                     size_t errlen)
{
    const char *socket = NULL, *bdev = NULL, *serial = NULL;
    int client = 0, ro = 0, nq = 0, qs = 0;
    json_error_t je;
    if (json_unpack_ex((json_t *)(uintptr_t)p, &je, JSON_STRICT,
                       "{s:s, s:s, s:s, s:s, s?b, s?b, s?i, s?i, s?s}", "id", &(const char *){0},
                       "type", &(const char *){0}, "bdev", &bdev, "socket", &socket, "client",
                       &client, "read_only", &ro, "num_queues", &nq, "queue_size", &qs,
                       "serial", &serial) < 0) {
        snprintf(err, errlen, "vhost-user-blk export: %s", je.text);
        return -EINVAL;
    }
    if (nq < 0 || nq > 64 || qs < 0 || qs > 32768) {
        snprintf(err, errlen, "num_queues must be 0..64 and queue_size 0..32768");
        return -EINVAL;
    }
    struct vblk_opts o = {
        .path = socket, .client = client, .bdev = bdev, .num_queues = (uint16_t)nq,
        .queue_size = (uint16_t)qs, .read_only = ro, .serial = serial,
    };
    int rc = vblk_target_create(bd->d.reactor, bd->workers, bd->n_workers, &o, &e->vblk);
    if (rc < 0)
        snprintf(err, errlen, "vhost-user-blk on %s for bdev %s: %s", socket, bdev,
                 kk_strerror(rc));
    return rc;
}

static int add_nbd(struct blkd *bd, struct export *e, const json_t *p, char *err, size_t errlen)
{
    const char *bdev = NULL, *name = NULL, *unix_path = NULL, *tcp = NULL, *desc = NULL;
    const char *cert = NULL, *key = NULL;
    int ro = 0, tls_req = 0;
    json_int_t hs_limit = 10;
    json_error_t je;
    if (json_unpack_ex((json_t *)(uintptr_t)p, &je, JSON_STRICT,
                       "{s:s, s:s, s:s, s?s, s?s, s?s, s?s, s?b, s?s, s?s, s?b, s?I}", "id",
                       &(const char *){0}, "type", &(const char *){0}, "bdev", &bdev, "name",
                       &name, "unix", &unix_path, "tcp", &tcp, "description", &desc,
                       "read_only", &ro, "tls_cert", &cert, "tls_key", &key, "tls_required",
                       &tls_req, "handshake_limit", &hs_limit) < 0) {
        snprintf(err, errlen, "nbd export: %s", je.text);
        return -EINVAL;
    }
    if (hs_limit < 0 || hs_limit > 86400) {
        snprintf(err, errlen, "nbd export: handshake_limit: seconds from 0 (none) to 86400");
        return -EINVAL;
    }
    if (!unix_path && !tcp) {
        snprintf(err, errlen, "nbd export: give 'unix' (socket path) and/or 'tcp' (host:port)");
        return -EINVAL;
    }
    if (!cert != !key) {
        snprintf(err, errlen, "nbd export: tls_cert and tls_key go together");
        return -EINVAL;
    }
    char lkey[2048];
    snprintf(lkey, sizeof(lkey), "%s|%s|%s|%s|%d|%d", unix_path ? unix_path : "",
             tcp ? tcp : "", cert ? cert : "", key ? key : "", tls_req, (int)hs_limit);
    struct nbd_listener *l = NULL;
    for (struct nbd_listener *x = bd->listeners; x; x = x->next) {
        if (strcmp(x->key, lkey) == 0)
            l = x;
    }
    int rc;
    bool fresh = false;
    if (!l) {
        /* a socket already served with other settings is a conflict */
        for (struct nbd_listener *x = bd->listeners; x; x = x->next) {
            char u[1024];
            snprintf(u, sizeof(u), "%s|", unix_path ? unix_path : "\x01");
            if ((unix_path && strncmp(x->key, u, strlen(u)) == 0)) {
                snprintf(err, errlen, "nbd export: %s is already served with other settings",
                         unix_path);
                return -EADDRINUSE;
            }
        }
        l = calloc(1, sizeof(*l));
        if (!l || !(l->key = strdup(lkey))) {
            free(l);
            return -ENOMEM;
        }
        struct nbd_server_opts so = {
            .unix_path = unix_path, .tcp_addr = tcp, .tls_cert = cert, .tls_key = key,
            .tls_required = tls_req,
            .handshake_limit_ms = hs_limit ? (uint32_t)hs_limit * 1000 : UINT32_MAX,
        };
        rc = nbd_server_create(bd->d.reactor, bd->workers, bd->n_workers, &so, &l->srv);
        if (rc < 0) {
            snprintf(err, errlen, "nbd server on %s%s%s: %s", unix_path ? unix_path : "",
                     unix_path && tcp ? " and " : "", tcp ? tcp : "", kk_strerror(rc));
            free(l->key);
            free(l);
            return rc;
        }
        fresh = true;
    }
    struct nbd_export_opts xo = {
        .name = name ? name : "", .bdev = bdev, .description = desc, .read_only = ro,
    };
    rc = nbd_server_add_export(l->srv, &xo);
    if (rc < 0) {
        snprintf(err, errlen, "nbd export '%s' of bdev %s: %s", xo.name, bdev,
                 rc == -EEXIST ? "that export name is taken on this socket" : kk_strerror(rc));
        if (fresh) {
            nbd_server_destroy(l->srv);
            free(l->key);
            free(l);
        }
        return rc;
    }
    if (fresh) {
        l->next = bd->listeners;
        bd->listeners = l;
    }
    l->users++;
    e->nbd = l;
    e->nbd_name = strdup(xo.name);
    return e->nbd_name ? 0 : -ENOMEM;
}

static void drop_listener(struct blkd *bd, struct nbd_listener *l)
{
    if (--l->users > 0)
        return;
    for (struct nbd_listener **pp = &bd->listeners; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    nbd_server_destroy(l->srv);
    free(l->key);
    free(l);
}

static int do_export_add(struct blkd *bd, const json_t *p, char *err, size_t errlen)
{
    const char *id = json_string_value(json_object_get(p, "id"));
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!id || !*id || strlen(id) > 128) {
        snprintf(err, errlen, "export_add: 'id' (a string of 1-128 characters) is required");
        return -EINVAL;
    }
    if (find_export(bd, id)) {
        snprintf(err, errlen, "export %s exists", id);
        return -EEXIST;
    }
    struct export *e = calloc(1, sizeof(*e));
    if (!e || !(e->id = strdup(id))) {
        free(e);
        return -ENOMEM;
    }
    e->params = json_deep_copy(p);
    int rc;
    if (type && strcmp(type, "vhost-user-blk") == 0) {
        e->kind = EXPORT_VHOST;
        rc = add_vhost(bd, e, p, err, errlen);
    } else if (type && strcmp(type, "nbd") == 0) {
        e->kind = EXPORT_NBD;
        rc = add_nbd(bd, e, p, err, errlen);
    } else {
        snprintf(err, errlen, "export type must be \"vhost-user-blk\" or \"nbd\"");
        rc = -EINVAL;
    }
    if (rc < 0) {
        free_export(e);
        return rc;
    }
    e->next = bd->exports;
    bd->exports = e;
    size_t i;
    json_t *v;
    json_array_foreach(bd->stale_exports, i, v) {
        const char *sid = json_string_value(json_object_get(v, "id"));
        if (sid && strcmp(sid, id) == 0) {
            json_array_remove(bd->stale_exports, i);
            break;
        }
    }
    KK_LOGI(blkd_log, "export %s (%s) added", id, type);
    save_config(bd);
    return 0;
}

static json_t *export_to_json(const struct export *e)
{
    json_t *j = json_deep_copy(e->params);
    if (e->vblk)
        json_object_set_new(j, "state", vblk_target_to_json(e->vblk));
    if (e->nbd)
        json_object_set_new(j, "state", nbd_server_to_json(e->nbd->srv));
    return j;
}

static void rpc_export_add(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct blkd *bd = arg;
    if (!json_is_object(params)) {
        kk_jsonrpc_respond_error(req, KK_JSONRPC_INVALID_PARAMS, "params must be an object");
        return;
    }
    char err[512] = "";
    int rc = do_export_add(bd, params, err, sizeof(err));
    if (rc < 0) {
        kk_jsonrpc_respond_errno(req, rc, "%s", err);
        return;
    }
    kk_jsonrpc_respond(req, export_to_json(bd->exports));
}

static void remove_export(struct blkd *bd, struct export *e)
{
    for (struct export **pp = &bd->exports; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    if (e->vblk)
        vblk_target_destroy(e->vblk);
    if (e->nbd) {
        nbd_server_remove_export(e->nbd->srv, e->nbd_name);
        drop_listener(bd, e->nbd);
    }
    KK_LOGI(blkd_log, "export %s removed", e->id);
    free_export(e);
}

static void rpc_export_remove(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct blkd *bd = arg;
    const char *id;
    if (kk_jsonrpc_unpack(req, params, "{s:s!}", "id", &id) < 0)
        return;
    struct export *e = find_export(bd, id);
    if (!e) {
        kk_jsonrpc_respond_errno(req, -ENOENT, "export %s", id);
        return;
    }
    remove_export(bd, e);
    save_config(bd);
    kk_jsonrpc_respond(req, json_true());
}

static void rpc_export_list(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct blkd *bd = arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    json_t *a = json_array();
    for (struct export *e = bd->exports; e; e = e->next)
        json_array_insert_new(a, 0, export_to_json(e));
    kk_jsonrpc_respond(req, a);
}

/* ---- start-up ---------------------------------------------------------------- */

static int restore(struct blkd *bd)
{
    json_t *c = NULL;
    int rc = kk_config_load(bd->config_path, &c);
    if (rc == -ENOENT) {
        KK_LOGI(blkd_log, "no configuration at %s yet: starting empty", bd->config_path);
        return 0;
    }
    if (rc < 0) {
        KK_LOGE(blkd_log, "cannot read %s: %s", bd->config_path, kk_strerror(rc));
        return rc;
    }
    bd->restoring = true;
    size_t i;
    json_t *v;
    unsigned failed = 0, bdevs = 0, exports = 0;
    json_array_foreach(json_object_get(c, "bdevs"), i, v) {
        char err[256] = "";
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *type = json_string_value(json_object_get(v, "type"));
        rc = name && type ? do_bdev_create(bd, name, type, json_object_get(v, "params"), err,
                                           sizeof(err))
                          : -EINVAL;
        if (rc < 0) {
            KK_LOGE(blkd_log, "restoring bdev %s: %s (kept in the configuration, retried on "
                              "the next start)", name ? name : "?", err);
            json_array_append(bd->stale_bdevs, v);
            failed++;
        } else {
            bdevs++;
        }
    }
    /* exports were saved newest first */
    json_t *ex = json_object_get(c, "exports");
    for (size_t k = json_array_size(ex); k-- > 0;) {
        char err[512] = "";
        rc = do_export_add(bd, json_array_get(ex, k), err, sizeof(err));
        if (rc < 0) {
            KK_LOGE(blkd_log, "restoring export: %s (kept in the configuration, retried on "
                              "the next start)", err);
            json_array_insert(bd->stale_exports, 0, json_array_get(ex, k));
            failed++;
        } else {
            exports++;
        }
    }
    bd->restoring = false;
    json_decref(c);
    KK_LOGI(blkd_log, "restored %u bdevs and %u exports from %s%s", bdevs, exports,
            bd->config_path, failed ? " (some failed: see above)" : "");
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit-blkd --rpc PATH [options]\n"
            "\n"
            "Serve block devices to VMs (vhost-user-blk) and to NBD clients, from RAM,\n"
            "files and block devices (io_uring), and raw/qcow2 images.\n"
            "\n"
            "Options:\n"
            "  -r, --rpc PATH        JSON-RPC control socket (required)\n"
            "  -c, --config FILE     keep the configuration here: restored at start, rewritten\n"
            "                        after every change (default: not kept)\n"
            "  -C, --cores LIST      worker reactors pinned to these CPUs, e.g. 2,3 (default:\n"
            "                        one unpinned worker)\n"
            "  -w, --workers N       N unpinned workers (instead of --cores)\n"
            "  -b, --busy-poll       workers never sleep (dedicated cores)\n"
            "  -i, --idle-us N       the longest a worker polls without work before it sleeps\n"
            "                        (default 8); within it the time adapts: work that comes\n"
            "                        soon after a sleep lengthens it, work that comes late\n"
            "                        (slow devices) shortens it to nothing\n"
            "  -l, --log SPEC        log levels, e.g. info,blk=debug,nbd=debug\n"
            "  -h, --help            show this help\n"
            "  -V, --version         show the version\n"
            "\n"
            "Methods (kvmkit blk ... or kvmkit rpc -s PATH METHOD JSON):\n"
            "  bdev_create {name, type, params}   types: malloc, null, file, image, error\n"
            "  bdev_delete {name}   bdev_list   bdev_stats [{name}]   bdev_resize {name, size}\n"
            "  export_add {id, type:\"vhost-user-blk\", bdev, socket, [num_queues, queue_size,\n"
            "              client, read_only, serial]}\n"
            "  export_add {id, type:\"nbd\", bdev, [name], unix and/or tcp, [read_only,\n"
            "              description, tls_cert, tls_key, tls_required,\n"
            "              handshake_limit (s, default 10, 0: none)]}\n"
            "  export_remove {id}   export_list\n"
            "  daemon.info   daemon.shutdown   log.set_levels {spec}\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rpc", required_argument, NULL, 'r'},   {"config", required_argument, NULL, 'c'},
        {"cores", required_argument, NULL, 'C'}, {"workers", required_argument, NULL, 'w'},
        {"busy-poll", no_argument, NULL, 'b'},   {"log", required_argument, NULL, 'l'},
        {"idle-us", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static struct blkd bd;
    const char *rpc = NULL;
    int cpus[MAX_WORKERS];
    unsigned n_cpus = 0, n_workers = 1;
    bool busy = false, pinned = false;
    uint32_t idle_us = 0;
    int c;
    while ((c = getopt_long(argc, argv, "r:c:C:w:bi:l:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            rpc = optarg;
            break;
        case 'c':
            bd.config_path = optarg;
            break;
        case 'C':
            if (kk_parse_cpu_list(optarg, cpus, MAX_WORKERS, &n_cpus) < 0) {
                fprintf(stderr, "kvmkit-blkd: --cores takes CPU numbers and ranges, e.g. 0,2-3\n");
                return 2;
            }
            pinned = true;
            n_workers = n_cpus;
            break;
        case 'w': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > MAX_WORKERS) {
                fprintf(stderr, "kvmkit-blkd: --workers must be 1..%d\n", MAX_WORKERS);
                return 2;
            }
            n_workers = (unsigned)v;
            break;
        }
        case 'b':
            busy = true;
            break;
        case 'i': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 1000000) {
                fprintf(stderr, "kvmkit-blkd: --idle-us must be 1..1000000\n");
                return 2;
            }
            idle_us = (uint32_t)v;
            break;
        }
        case 'l':
            if (kk_log_set_levels(optarg) < 0) {
                fprintf(stderr, "kvmkit-blkd: invalid log spec '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("kvmkit-blkd %s\n", KK_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!rpc || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (kk_daemon_init(&bd.d, "kvmkit-blkd", rpc) < 0)
        return 1;
    bd.bdev_order = json_array();
    bd.stale_bdevs = json_array();
    bd.stale_exports = json_array();
    for (unsigned i = 0; i < n_workers; i++) {
        struct kk_reactor_opts ro;
        kk_reactor_opts_init(&ro);
        char name[32];
        snprintf(name, sizeof(name), "blk-w%u", i);
        ro.name = name;
        ro.mode = busy ? KK_REACTOR_BUSY_POLL : KK_REACTOR_ADAPTIVE;
        ro.idle_us = idle_us ? idle_us : 8;
        ro.adapt_idle = true;
        int rc = kk_reactor_create(&ro, &bd.workers[i]);
        if (rc == 0)
            rc = kk_reactor_spawn(bd.workers[i], pinned ? cpus[i] : -1);
        if (rc < 0) {
            fprintf(stderr, "kvmkit-blkd: worker %u%s: %s\n", i,
                    pinned ? " (is the CPU online?)" : "", kk_strerror(rc));
            for (unsigned k = 0; k <= i; k++)
                kk_reactor_destroy(bd.workers[k]);
            kk_daemon_fini(&bd.d);
            return 1;
        }
        bd.n_workers++;
    }
    static const struct {
        const char *name;
        kk_jsonrpc_method_fn fn;
        const char *desc;
    } methods[] = {
        {"bdev_create", rpc_bdev_create, "create a bdev: {name, type, params}"},
        {"bdev_delete", rpc_bdev_delete, "delete an unused bdev: {name}"},
        {"bdev_list", rpc_bdev_list, "every bdev with its geometry and parameters"},
        {"bdev_stats", rpc_bdev_stats, "I/O counters and latency: [{name}]"},
        {"bdev_resize", rpc_bdev_resize, "grow or shrink: {name, size}"},
        {"export_add", rpc_export_add, "serve a bdev: {id, type: vhost-user-blk|nbd, bdev, ...}"},
        {"export_remove", rpc_export_remove, "stop serving: {id}"},
        {"export_list", rpc_export_list, "exports with their connection state"},
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        kk_jsonrpc_register(bd.d.rpc, methods[i].name, methods[i].fn, &bd, methods[i].desc);
    if (bd.config_path)
        restore(&bd);
    else
        KK_LOGI(blkd_log, "no --config: the configuration is not kept across restarts");
    KK_LOGI(blkd_log, "kvmkit-blkd %s: %u worker%s%s, control socket %s", KK_VERSION,
            bd.n_workers, bd.n_workers == 1 ? "" : "s", busy ? " (busy-poll)" : "", rpc);

    kk_daemon_run(&bd.d);

    KK_LOGI(blkd_log, "shutting down: closing exports, flushing bdevs");
    while (bd.exports)
        remove_export(&bd, bd.exports);
    /* delete in reverse creation order (stacked bdevs first) */
    for (size_t i = json_array_size(bd.bdev_order); i-- > 0;)
        blk_bdev_delete(json_string_value(json_array_get(bd.bdev_order, i)));
    for (unsigned i = 0; i < bd.n_workers; i++)
        kk_reactor_destroy(bd.workers[i]);
    json_decref(bd.bdev_order);
    json_decref(bd.stale_bdevs);
    json_decref(bd.stale_exports);
    kk_daemon_fini(&bd.d);
    return 0;
}
