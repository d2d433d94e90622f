/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvmkit-switchd's JSON-RPC methods (what `kvmkit vsctl`, `ofctl` and
 * `appctl` call). Every handler runs on the control thread and answers at
 * once; errors name the bridge, port, setting or flow at fault.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kk_err.h"
#include "kk_log.h"
#include "kk_reactor.h"
#include "switchd.h"

KK_LOG_COMPONENT_DECLARE(switchd_log);

#define RESPOND_EXISTS(req, rc, ...) kk_jsonrpc_respond_errno(req, rc, __VA_ARGS__)

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static struct sd_bridge *bridge_or_fail(struct switchd *sd, struct kk_jsonrpc_request *req,
                                        const char *name)
{
    struct sd_bridge *br = sd_bridge_find(sd, name);
    if (!br)
        kk_jsonrpc_respond_errno(req, -ENOENT, "no bridge named %s", name);
    return br;
}

/* Methods whose only parameter is {bridge}: the bridge, or NULL (answered). */
static struct sd_bridge *bridge_param(struct switchd *sd, struct kk_jsonrpc_request *req,
                                      const json_t *params)
{
    const char *bridge;
    if (kk_jsonrpc_unpack(req, params, "{s:s!}", "bridge", &bridge) < 0)
        return NULL;
    return bridge_or_fail(sd, req, bridge);
}

/* ---- bridges ------------------------------------------------------------------ */

static void rpc_bridge_add(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *name;
    int may_exist = 0;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s?b!}", "name", &name, "may_exist",
                          &may_exist) < 0)
        return;
    if (may_exist && sd_bridge_find(sd, name)) {
        kk_jsonrpc_respond(req, json_true());
        return;
    }
    char err[256] = "";
    int rc = sd_bridge_add(sd, name, err, sizeof(err));
    if (rc < 0)
        kk_jsonrpc_respond_errno(req, rc, "%s", err);
    else
        kk_jsonrpc_respond(req, json_true());
}

static void rpc_bridge_del(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *name;
    int if_exists = 0;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s?b!}", "name", &name, "if_exists",
                          &if_exists) < 0)
        return;
    struct sd_bridge *br = sd_bridge_find(sd, name);
    if (!br) {
        if (if_exists)
            kk_jsonrpc_respond(req, json_true());
        else
            kk_jsonrpc_respond_errno(req, -ENOENT, "no bridge named %s", name);
        return;
    }
    sd_bridge_del(sd, br);
    kk_jsonrpc_respond(req, json_true());
}

/* ---- OpenFlow controllers, fail mode, versions ----------------------------------- */

static void rpc_controller_set(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge;
    json_t *targets = NULL;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s?o!}", "bridge", &bridge, "targets", &targets) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    if (targets && !json_is_array(targets)) {
        kk_jsonrpc_respond_errno(req, -EINVAL, "targets: a list of tcp:IP[:PORT], ssl:, "
                                 "unix:PATH, ptcp:[PORT][:IP], punix:PATH");
        return;
    }
    char err[256] = "";
    int rc = sd_bridge_set_controllers(br, targets, err, sizeof(err));
    if (rc < 0)
        kk_jsonrpc_respond_errno(req, rc, "%s: %s", bridge, err);
    else
        kk_jsonrpc_respond(req, json_true());
}

static void controller_entry(void *arg, const struct sw_ofagent_controller *c)
{
    json_t *j = json_pack("{s:s, s:b, s:s, s:s, s:I, s:I}", "target", c->target, "is_connected",
                          c->connected, "role", c->role, "state", c->state, "msgs_in",
                          (json_int_t)c->msgs_in, "msgs_out", (json_int_t)c->msgs_out);
    if (c->version)
        json_object_set_new(j, "version", json_string(c->version == 1 ? "OpenFlow10"
                                                                       : "OpenFlow13"));
    if (c->last_error[0])
        json_object_set_new(j, "last_error", json_string(c->last_error));
    json_array_append_new(arg, j);
}

static void rpc_controller_get(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct sd_bridge *br = bridge_param(arg, req, params);
    if (!br)
        return;
    json_t *a = json_array();
    sw_ofagent_controllers(br->agent, controller_entry, a);
    kk_jsonrpc_respond(req, json_pack("{s:o, s:s, s:b, s:O}", "controllers", a, "fail_mode",
                                      br->fail_secure ? "secure" : "standalone", "fail_open",
                                      sw_ofproto_fail_open(br->ofproto), "protocols",
                                      br->protocols ? br->protocols : json_null()));
}

static void rpc_fail_mode_set(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge, *mode = NULL;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s?s!}", "bridge", &bridge, "mode", &mode) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    if (mode && strcmp(mode, "secure") && strcmp(mode, "standalone")) {
        kk_jsonrpc_respond_errno(req, -EINVAL, "fail mode '%s': secure or standalone", mode);
        return;
    }
    sd_bridge_set_fail_mode(br, mode && !strcmp(mode, "secure"));
    kk_jsonrpc_respond(req, json_true());
}

static void rpc_protocols_set(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge;
    json_t *protocols;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s:o!}", "bridge", &bridge, "protocols",
                          &protocols) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    char err[256] = "";
    int rc = json_is_array(protocols) ? sd_bridge_set_protocols(br, protocols, err, sizeof(err))
                                      : (snprintf(err, sizeof(err), "protocols: a list"), -EINVAL);
    if (rc < 0)
        kk_jsonrpc_respond_errno(req, rc, "%s: %s", bridge, err);
    else
        kk_jsonrpc_respond(req, json_true());
}

static void rpc_bridge_list(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    const char *names[256];
    size_t n = 0;
    json_t *a = json_array();
    for (struct sd_bridge *b = sd->bridges; b; b = b->next) {
        if (n == 256) {
            json_array_append_new(a, json_string(b->name));
            continue;
        }
        names[n++] = b->name;
    }
    qsort(names, n, sizeof(names[0]), cmp_str);
    for (size_t i = 0; i < n; i++)
        json_array_insert_new(a, i, json_string(names[i]));
    kk_jsonrpc_respond(req, a);
}

/* ---- ports ---------------------------------------------------------------------- */

static void add_port_common(struct switchd *sd, struct kk_jsonrpc_request *req,
                            const char *bridge, const char *name, json_t *members,
                            json_t *settings, int may_exist)
{
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    if (settings && !json_is_object(settings)) {
        kk_jsonrpc_respond_errno(req, -EINVAL, "settings must be an object of KEY: VALUE");
        return;
    }
    if (members && !json_is_array(members)) {
        kk_jsonrpc_respond_errno(req, -EINVAL, "members must be an array of interface names");
        return;
    }
    struct sd_port *existing = sd_port_find(sd, name);
    if (may_exist && existing && existing->br == br) {
        kk_jsonrpc_respond(req, json_true());
        return;
    }
    json_t *empty = settings ? NULL : json_object();
    char err[512] = "";
    int rc = sd_port_add(br, name, members, settings ? settings : empty, 0, err, sizeof(err));
    json_decref(empty);
    if (rc < 0) {
        kk_jsonrpc_respond_errno(req, rc, "%s", err);
        return;
    }
    struct sd_port *p = sd_port_find(sd, name);
    kk_jsonrpc_respond(req, json_pack("{s:s, s:i}", "name", name, "ofport",
                                      (int)(p ? p->ofport : 0)));
}

static void rpc_port_add(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    const char *bridge, *name;
    json_t *settings = NULL;
    int may_exist = 0;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s:s, s?o, s?b!}", "bridge", &bridge, "name",
                          &name, "settings", &settings, "may_exist", &may_exist) < 0)
        return;
    add_port_common(arg, req, bridge, name, NULL, settings, may_exist);
}

static void rpc_bond_add(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    const char *bridge, *name;
    json_t *settings = NULL, *members;
    int may_exist = 0;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s:s, s:o, s?o, s?b!}", "bridge", &bridge, "name",
                          &name, "members", &members, "settings", &settings, "may_exist",
                          &may_exist) < 0)
        return;
    add_port_common(arg, req, bridge, name, members, settings, may_exist);
}

static void rpc_port_del(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge = NULL, *name;
    int if_exists = 0;
    if (kk_jsonrpc_unpack(req, params, "{s?s, s:s, s?b!}", "bridge", &bridge, "name", &name,
                          "if_exists", &if_exists) < 0)
        return;
    struct sd_bridge *br = NULL;
    if (bridge && !(br = bridge_or_fail(sd, req, bridge)))
        return;
    struct sd_port *p = sd_port_find(sd, name);
    if (!p) {
        struct sd_iface *it;
        struct sd_port *bond = sd_iface_find(sd, name, &it);
        if (!bond && sd_forget_stale(sd, name, false)) {
            /* configured but never restored (its interface was missing) */
            sd_config_changed(sd);
            kk_jsonrpc_respond(req, json_true());
        } else if (if_exists)
            kk_jsonrpc_respond(req, json_true());
        else if (bond)
            kk_jsonrpc_respond_errno(req, -EINVAL, "%s is a member of bond %s: delete the bond",
                                     name, bond->name);
        else
            kk_jsonrpc_respond_errno(req, -ENOENT, "no port named %s", name);
        return;
    }
    if (br && p->br != br) {
        kk_jsonrpc_respond_errno(req, -ENOENT, "port %s is not in bridge %s (it is in %s)",
                                 name, bridge, p->br->name);
        return;
    }
    sd_port_del(p);
    kk_jsonrpc_respond(req, json_true());
}

static void rpc_port_set(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *name;
    json_t *settings;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s:o!}", "name", &name, "settings", &settings) < 0)
        return;
    if (!json_is_object(settings)) {
        kk_jsonrpc_respond_errno(req, -EINVAL, "settings must be an object of KEY: VALUE");
        return;
    }
    struct sd_port *p = sd_port_find(sd, name);
    if (!p) {
        kk_jsonrpc_respond_errno(req, -ENOENT, "no port named %s", name);
        return;
    }
    char err[512] = "";
    int rc = sd_port_set(p, settings, err, sizeof(err));
    if (rc < 0)
        kk_jsonrpc_respond_errno(req, rc, "%s", err);
    else
        kk_jsonrpc_respond(req, json_true());
}

static const char *iface_type(const struct sd_iface *i)
{
    return i->type;
}

/* A port as port.list shows it; with @stats its counters (a bond's: the
 * sum of its members'). */
static json_t *port_json(struct switchd *sd, struct sd_port *p, bool stats)
{
    struct sw_dpif_port_info info;
    bool up = false;
    uint64_t c[8] = {0};
    for (size_t i = 0; i < p->n_ifaces; i++) {
        if (sw_dpif_port_query(sd->dpif, p->ifaces[i].dp_port, &info) != 0)
            continue;
        up = up || info.link_up;
        uint64_t v[8] = {info.rx_packets, info.rx_bytes, info.rx_drops, info.rx_errors,
                         info.tx_packets, info.tx_bytes, info.tx_drops, info.tx_errors};
        for (int k = 0; k < 8; k++)
            c[k] += v[k];
    }
    json_t *j = json_pack("{s:s, s:i, s:s, s:b, s:b}", "name", p->name, "ofport",
                          (int)p->ofport, "type",
                          p->is_bond ? "bond" : iface_type(&p->ifaces[0]), "link_up", up,
                          "is_bond", p->is_bond);
    if (!p->is_bond) {
        json_object_set_new(j, "dp_port", json_integer(p->ifaces[0].dp_port));
    } else {
        json_t *m = json_array();
        for (size_t i = 0; i < p->n_ifaces; i++)
            json_array_append_new(m, json_pack("{s:s, s:i}", "name", p->ifaces[i].name,
                                               "dp_port", (int)p->ifaces[i].dp_port));
        json_object_set_new(j, "members", m);
        json_object_set_new(j, "dp_port", json_integer(-1));
    }
    if (stats) {
        static const char *const names[8] = {"rx_packets", "rx_bytes", "rx_dropped",
                                             "rx_errors", "tx_packets", "tx_bytes",
                                             "tx_dropped", "tx_errors"};
        json_t *st = json_object();
        for (int k = 0; k < 8; k++)
            json_object_set_new(st, names[k], json_integer((json_int_t)c[k]));
        json_object_set_new(j, "stats", st);
    }
    return j;
}

static int cmp_port_name(const void *a, const void *b)
{
    return strcmp((*(struct sd_port *const *)a)->name, (*(struct sd_port *const *)b)->name);
}

static int cmp_port_ofport(const void *a, const void *b)
{
    uint32_t x = (*(struct sd_port *const *)a)->ofport, y = (*(struct sd_port *const *)b)->ofport;
    return x < y ? -1 : x > y;
}

/* The bridge's ports sorted; free the array. */
static struct sd_port **sorted_ports(struct sd_bridge *br, bool by_ofport, size_t *n)
{
    *n = 0;
    for (struct sd_port *p = br->ports; p; p = p->next)
        (*n)++;
    struct sd_port **v = calloc(*n + 1, sizeof(*v));
    if (!v) {
        *n = 0;
        return NULL;
    }
    size_t i = 0;
    for (struct sd_port *p = br->ports; p; p = p->next)
        v[i++] = p;
    qsort(v, *n, sizeof(*v), by_ofport ? cmp_port_ofport : cmp_port_name);
    return v;
}

static void rpc_port_list(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge, *by = NULL;
    int stats = 0;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s?s, s?b!}", "bridge", &bridge, "by", &by,
                          "stats", &stats) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    size_t n;
    struct sd_port **v = sorted_ports(br, by && strcmp(by, "ofport") == 0, &n);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, port_json(sd, v[i], stats));
    free(v);
    kk_jsonrpc_respond(req, a);
}

/* ---- mirrors ------------------------------------------------------------------ */

static void rpc_mirror_add(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge, *name, *out = NULL;
    json_t *src = NULL, *dst = NULL, *vlan = NULL;
    int all = 0;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s:s, s?o, s?o, s?o, s?b, s?s!}", "bridge", &bridge,
                          "name", &name, "select_src_port", &src, "select_dst_port", &dst,
                          "select_vlan", &vlan, "select_all", &all, "output_port", &out) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    json_t *spec = json_object();
    if (src)
        json_object_set(spec, "select_src_port", src);
    if (dst)
        json_object_set(spec, "select_dst_port", dst);
    if (vlan)
        json_object_set(spec, "select_vlan", vlan);
    if (all)
        json_object_set_new(spec, "select_all", json_true());
    if (out)
        json_object_set_new(spec, "output_port", json_string(out));
    char err[512] = "";
    int rc = sd_mirror_add(br, name, spec, err, sizeof(err));
    json_decref(spec);
    if (rc < 0)
        kk_jsonrpc_respond_errno(req, rc, "%s", err);
    else
        kk_jsonrpc_respond(req, json_true());
}

static void rpc_mirror_del(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge, *name;
    int if_exists = 0;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s:s, s?b!}", "bridge", &bridge, "name", &name,
                          "if_exists", &if_exists) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    if (sd_mirror_del(br, name) < 0 && !if_exists) {
        kk_jsonrpc_respond_errno(req, -ENOENT, "no mirror named %s in bridge %s", name, bridge);
        return;
    }
    kk_jsonrpc_respond(req, json_true());
}

static json_t *mirrors_json(struct sd_bridge *br)
{
    const char *names[SW_OFP_MAX_MIRRORS + 1];
    size_t n = 0;
    for (struct sd_mirror *m = br->mirrors; m && n < SW_OFP_MAX_MIRRORS; m = m->next)
        names[n++] = m->name;
    qsort(names, n, sizeof(names[0]), cmp_str);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        for (struct sd_mirror *m = br->mirrors; m; m = m->next)
            if (m->name == names[i])
                json_array_append(a, m->spec);
    return a;
}

static void rpc_mirror_list(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge;
    if (kk_jsonrpc_unpack(req, params, "{s:s!}", "bridge", &bridge) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (br)
        kk_jsonrpc_respond(req, mirrors_json(br));
}

/* ---- OpenFlow rules ------------------------------------------------------------- */

struct rule_ctx {
    json_t *out;
    uint64_t now_ms;
    bool for_save;
    bool failed; /* a rule did not fit its text buffer, or out of memory */
};

static void rule_entry(void *arg, const struct sw_rule_info *r)
{
    struct rule_ctx *c = arg;
    char text[8192];
    if (sw_rule_format(r, text, sizeof(text)) >= (int)sizeof(text)) {
        c->failed = true;
        return;
    }
    char *acts = strstr(text, " actions=");
    const char *actions = "drop";
    if (acts) {
        *acts = '\0';
        actions = acts + 9;
    } else if (strncmp(text, "actions=", 8) == 0) {
        actions = text + 8;
        text[0] = '\0';
    }
    if (c->for_save) {
        /* The prefix is bounded; the match and actions are not: no truncation. */
        char pre[192];
        size_t n = (size_t)snprintf(pre, sizeof(pre), "table=%u,", r->table_id);
        if (r->cookie)
            n += (size_t)snprintf(pre + n, sizeof(pre) - n, "cookie=0x%" PRIx64 ",", r->cookie);
        if (r->idle_timeout)
            n += (size_t)snprintf(pre + n, sizeof(pre) - n, "idle_timeout=%u,", r->idle_timeout);
        if (r->hard_timeout)
            n += (size_t)snprintf(pre + n, sizeof(pre) - n, "hard_timeout=%u,", r->hard_timeout);
        if (r->flags & SW_OFP_FLAG_SEND_FLOW_REM)
            n += (size_t)snprintf(pre + n, sizeof(pre) - n, "send_flow_rem,");
        if (r->flags & SW_OFP_FLAG_NO_COUNTS)
            snprintf(pre + n, sizeof(pre) - n, "no_counts,");
        char *line = NULL;
        if (asprintf(&line, "%s%s%sactions=%s", pre, text, *text ? "," : "", actions) < 0) {
            c->failed = true;
            return;
        }
        json_array_append_new(c->out, json_string(line));
        free(line);
        return;
    }
    double dur = c->now_ms > r->created_ms ? (double)(c->now_ms - r->created_ms) / 1000.0 : 0;
    json_array_append_new(
        c->out, json_pack("{s:i, s:i, s:I, s:f, s:I, s:I, s:i, s:i, s:s, s:s}", "table",
                          (int)r->table_id, "priority", (int)r->priority, "cookie",
                          (json_int_t)r->cookie, "duration", dur, "n_packets",
                          (json_int_t)r->n_packets, "n_bytes", (json_int_t)r->n_bytes,
                          "idle_timeout", (int)r->idle_timeout, "hard_timeout",
                          (int)r->hard_timeout, "match", text, "actions", actions));
}

/* The rules changed through ofctl: keep them in the configuration. */
void sd_save_flows(struct sd_bridge *br)
{
    struct rule_ctx c = {.out = json_array(), .for_save = true};
    char err[256];
    sw_ofproto_flow_dump(br->ofproto, NULL, rule_entry, &c, err, sizeof(err));
    if (c.failed) {
        /* Never save a cut rule: keep the last complete set and say so. */
        KK_LOGE(switchd_log, "%s: a rule's text exceeds 8 KiB (or out of memory): "
                "the rules in the configuration file were not updated", br->name);
        json_decref(c.out);
        return;
    }
    json_decref(br->flows);
    br->flows = c.out;
    sd_config_changed(br->sd);
}

static void rpc_flow_add(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge;
    json_t *flows;
    int strict = 0;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s:o, s?b!}", "bridge", &bridge, "flows", &flows,
                          "strict", &strict) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    size_t n = json_array_size(flows);
    if (!json_is_array(flows) || n == 0) {
        kk_jsonrpc_respond_errno(req, -EINVAL, "flows must be a non-empty array of flow texts");
        return;
    }
    /* parse everything first: a batch is added whole or not at all */
    struct sw_flow_mod *fms = calloc(n, sizeof(*fms));
    if (!fms) {
        kk_jsonrpc_respond_errno(req, -ENOMEM, "%zu flows", n);
        return;
    }
    size_t parsed = 0;
    int rc = 0;
    char err[512] = "";
    for (; parsed < n; parsed++) {
        const char *text = json_string_value(json_array_get(flows, parsed));
        if (!text) {
            kk_jsonrpc_respond_errno(req, -EINVAL, "flow %zu is not a string", parsed + 1);
            rc = -EINVAL;
            break;
        }
        rc = sw_flow_mod_parse(br->ofproto, SW_FM_ADD, text, &fms[parsed], err, sizeof(err));
        if (rc < 0) {
            if (n == 1)
                kk_jsonrpc_respond_errno(req, rc, "bad flow '%s': %s", text, err);
            else
                kk_jsonrpc_respond_errno(req, rc, "flow %zu of %zu ('%s'): %s", parsed + 1, n,
                                         text, err);
            break;
        }
    }
    unsigned added = 0;
    if (rc == 0) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = sw_ofproto_flow_mod(br->ofproto, SW_FM_ADD, &fms[i], NULL);
            if (rc < 0)
                kk_jsonrpc_respond_errno(req, rc, "flow %zu ('%s'): %s", i + 1,
                                         json_string_value(json_array_get(flows, i)),
                                         kk_strerror(rc));
            else
                added++;
        }
    }
    for (size_t i = 0; i < parsed; i++)
        sw_flow_mod_uninit(&fms[i]);
    free(fms);
    if (added) {
        KK_LOGI(switchd_log, "bridge %s: %u OpenFlow rule%s added", br->name, added,
                added == 1 ? "" : "s");
        sd_save_flows(br);
    }
    if (rc == 0)
        kk_jsonrpc_respond(req, json_pack("{s:i}", "added", (int)added));
}

static void rpc_flow_mod(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge, *flow;
    int strict = 0;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s:s, s?b!}", "bridge", &bridge, "flow", &flow,
                          "strict", &strict) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    char err[512] = "";
    int rc = sw_ofproto_mod_flows(br->ofproto, flow, strict, err, sizeof(err));
    if (rc < 0) {
        kk_jsonrpc_respond_errno(req, rc, "bad flow '%s': %s", flow, err);
        return;
    }
    KK_LOGI(switchd_log, "bridge %s: rules modified (%s)", br->name, flow);
    sd_save_flows(br);
    kk_jsonrpc_respond(req, json_true());
}

static void rpc_flow_del(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge, *match = "";
    int strict = 0;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s?s, s?b!}", "bridge", &bridge, "match", &match,
                          "strict", &strict) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    char err[512] = "";
    unsigned n = 0;
    int rc = sw_ofproto_del_flows(br->ofproto, match, strict, &n, err, sizeof(err));
    if (rc < 0) {
        kk_jsonrpc_respond_errno(req, rc, "bad match '%s': %s", match, err);
        return;
    }
    KK_LOGI(switchd_log, "bridge %s: %u rule%s deleted (%s)", br->name, n, n == 1 ? "" : "s",
            *match ? match : "all");
    sd_save_flows(br);
    kk_jsonrpc_respond(req, json_pack("{s:i}", "deleted", (int)n));
}

static void rpc_flow_dump(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge, *match = NULL;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s?s!}", "bridge", &bridge, "match", &match) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    sd_push_stats(sd); /* counters as of now */
    struct rule_ctx c = {.out = json_array(), .now_ms = mono_ms()};
    char err[512] = "";
    int rc = sw_ofproto_flow_dump(br->ofproto, match && *match ? match : NULL, rule_entry, &c,
                                  err, sizeof(err));
    if (rc < 0) {
        json_decref(c.out);
        kk_jsonrpc_respond_errno(req, rc, "bad match '%s': %s", match, err);
        return;
    }
    kk_jsonrpc_respond(req, json_pack("{s:o}", "flows", c.out));
}

/* ---- groups ---------------------------------------------------------------------- */

/* A dump's lines, without their leading space, as a JSON array. */
static json_t *dump_lines(int (*dump)(struct sw_ofproto *, uint32_t, bool, char *, size_t),
                          struct sw_ofproto *ofp, uint32_t which, bool stats)
{
    int n = dump(ofp, which, stats, NULL, 0);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!buf)
        return NULL;
    dump(ofp, which, stats, buf, (size_t)n + 1);
    json_t *a = json_array();
    for (char *line = buf, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break;
        *nl = '\0';
        json_array_append_new(a, json_string(line + strspn(line, " ")));
    }
    free(buf);
    return a;
}

/* Groups or meters changed: keep their texts (the dump's lines) in the configuration. */
static void objects_changed(struct sd_bridge *br, json_t **slot,
                            int (*dump)(struct sw_ofproto *, uint32_t, bool, char *, size_t),
                            uint32_t all)
{
    json_t *a = dump_lines(dump, br->ofproto, all, false);
    if (!a) {
        KK_LOGE(switchd_log, "%s: out of memory: the configuration file was not updated",
                br->name);
        return;
    }
    json_decref(*slot);
    *slot = json_array_size(a) ? a : (json_decref(a), NULL);
    sd_config_changed(br->sd);
}

void sd_save_groups(struct sd_bridge *br)
{
    objects_changed(br, &br->groups, sw_ofproto_dump_groups, SW_GROUP_WATCH_NONE);
}

void sd_save_meters(struct sd_bridge *br)
{
    objects_changed(br, &br->meters, sw_ofproto_dump_meters, 0);
}

/* ---- groups and meters: one handler set over a table of each kind ------------- */

enum obj_op { OBJ_ADD, OBJ_MOD, OBJ_DEL };

static int group_mod(struct sw_ofproto *ofp, enum obj_op op, const char *text, char *err,
                     size_t errlen)
{
    static const enum sw_group_mod_cmd cmds[] = {SW_GM_ADD, SW_GM_MODIFY, SW_GM_DELETE};
    return sw_ofproto_group_mod(ofp, cmds[op], text, err, errlen);
}

static int meter_mod(struct sw_ofproto *ofp, enum obj_op op, const char *text, char *err,
                     size_t errlen)
{
    static const enum sw_meter_mod_cmd cmds[] = {SW_MM_ADD, SW_MM_MODIFY, SW_MM_DELETE};
    return sw_ofproto_meter_mod(ofp, cmds[op], text, err, errlen);
}

struct obj_kind {
    const char *name;           /* "group": params "group", "group_id"; reply "groups" */
    const char *id_key, *list_key;
    int (*mod)(struct sw_ofproto *, enum obj_op, const char *, char *, size_t);
    int (*dump)(struct sw_ofproto *, uint32_t, bool, char *, size_t);
    size_t saved;               /* offset of the json_t * in struct sd_bridge */
    json_int_t no_id, max_id;   /* "all" in dumps, highest id */
    bool push_stats;            /* counters credited from megaflows: push before a dump */
};

static const struct obj_kind groups_kind = {
    "group", "group_id", "groups", group_mod, sw_ofproto_dump_groups,
    offsetof(struct sd_bridge, groups), SW_GROUP_WATCH_NONE, SW_GROUP_MAX_ID, true};
static const struct obj_kind meters_kind = {
    "meter", "meter_id", "meters", meter_mod, sw_ofproto_dump_meters,
    offsetof(struct sd_bridge, meters), 0, 0xffff0000ll, false};

static void obj_mod_rpc(struct switchd *sd, struct kk_jsonrpc_request *req, const json_t *params,
                        const struct obj_kind *k, enum obj_op op)
{
    const char *bridge, *text = "";
    if (kk_jsonrpc_unpack(req, params, op == OBJ_DEL ? "{s:s, s?s!}" : "{s:s, s:s!}", "bridge",
                          &bridge, k->name, &text) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    char err[512] = "";
    int rc = k->mod(br->ofproto, op, text, err, sizeof(err));
    if (rc < 0) {
        kk_jsonrpc_respond_errno(req, rc, "bad %s '%s': %s", k->name, text,
                                 err[0] ? err : kk_strerror(rc));
        return;
    }
    KK_LOGI(switchd_log, "bridge %s: %s %s: %s", br->name, k->name,
            op == OBJ_DEL ? "deleted" : op == OBJ_ADD ? "added" : "modified",
            *text ? text : "(all)");
    objects_changed(br, (json_t **)(void *)((char *)br + k->saved), k->dump,
                    (uint32_t)k->no_id);
    /* deleting one deletes the rules that use it */
    if (op == OBJ_DEL)
        sd_save_flows(br);
    kk_jsonrpc_respond(req, json_true());
}

static void obj_dump_rpc(struct switchd *sd, struct kk_jsonrpc_request *req,
                         const json_t *params, const struct obj_kind *k)
{
    const char *bridge;
    json_int_t id = k->no_id;
    int stats = 0;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s?I, s?b!}", "bridge", &bridge, k->id_key, &id,
                          "stats", &stats) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    if ((id < 0 || id > k->max_id) && id != k->no_id) {
        kk_jsonrpc_respond_errno(req, -EINVAL, "%s %lld out of range", k->id_key,
                                 (long long)id);
        return;
    }
    if (stats && k->push_stats)
        sd_push_stats(sd); /* counters as of now */
    json_t *a = dump_lines(k->dump, br->ofproto, (uint32_t)id, stats);
    if (!a) {
        kk_jsonrpc_respond_errno(req, -ENOMEM, "%s dump", k->name);
        return;
    }
    kk_jsonrpc_respond(req, json_pack("{s:o}", k->list_key, a));
}

#define OBJ_RPCS(kind, k)                                                                      \
    static void rpc_##kind##_add(void *arg, struct kk_jsonrpc_request *req,                   \
                                 const json_t *params)                                        \
    {                                                                                          \
        obj_mod_rpc(arg, req, params, &k, OBJ_ADD);                                            \
    }                                                                                          \
    static void rpc_##kind##_mod(void *arg, struct kk_jsonrpc_request *req,                   \
                                 const json_t *params)                                        \
    {                                                                                          \
        obj_mod_rpc(arg, req, params, &k, OBJ_MOD);                                            \
    }                                                                                          \
    static void rpc_##kind##_del(void *arg, struct kk_jsonrpc_request *req,                   \
                                 const json_t *params)                                        \
    {                                                                                          \
        obj_mod_rpc(arg, req, params, &k, OBJ_DEL);                                            \
    }                                                                                          \
    static void rpc_##kind##_dump(void *arg, struct kk_jsonrpc_request *req,                  \
                                  const json_t *params)                                       \
    {                                                                                          \
        obj_dump_rpc(arg, req, params, &k);                                                    \
    }

OBJ_RPCS(group, groups_kind)
OBJ_RPCS(meter, meters_kind)

/* ---- MAC table ------------------------------------------------------------------- */

static void fdb_entry(void *arg, const struct sw_fdb_entry *e)
{
    char mac[18];
    snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", e->mac[0], e->mac[1], e->mac[2],
             e->mac[3], e->mac[4], e->mac[5]);
    json_array_append_new(arg, json_pack("{s:s, s:i, s:i, s:s, s:i}", "port", e->port_name,
                                         "ofport", (int)e->ofport, "vlan",
                                         (int)e->vlan, "mac", mac, "age",
                                         (int)e->age_s));
}

static void rpc_fdb_show(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct sd_bridge *br = bridge_param(arg, req, params);
    if (!br)
        return;
    json_t *a = json_array();
    sw_ofproto_fdb_foreach(br->ofproto, fdb_entry, a);
    kk_jsonrpc_respond(req, json_pack("{s:o}", "entries", a));
}

static void rpc_fdb_flush(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge = NULL;
    if (kk_jsonrpc_unpack(req, params, "{s?s!}", "bridge", &bridge) < 0)
        return;
    if (bridge) {
        struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
        if (!br)
            return;
        sw_ofproto_fdb_flush(br->ofproto);
    } else {
        for (struct sd_bridge *br = sd->bridges; br; br = br->next)
            sw_ofproto_fdb_flush(br->ofproto);
    }
    sd_revalidate(sd);
    KK_LOGI(switchd_log, "MAC table%s flushed%s%s", bridge ? "" : "s", bridge ? " on " : "",
            bridge ? bridge : "");
    kk_jsonrpc_respond(req, json_true());
}

/* ---- datapath ----------------------------------------------------------------------- */

struct dump_ctx {
    struct switchd *sd;
    struct sw_ofproto *only;
    json_t *out;
    uint64_t now_ms;
};

static const char *dp_name(void *arg, uint32_t port)
{
    return sd_dp_port_name(arg, port);
}

static void dp_flow_entry(void *arg, const struct sw_dpif_flow_info *f)
{
    struct dump_ctx *c = arg;
    if (c->only && f->user != c->only)
        return;
    char match[SW_FLOW_FORMAT_MAX + 80], acts[4096];
    sw_flow_format(&f->key, &f->mask, match, sizeof(match));
    /* in_port by name, as operators know their ports */
    const char *name = f->mask.masks.in_port ? sd_dp_port_name(c->sd, f->key.in_port) : NULL;
    char *ip = strstr(match, "in_port=");
    if (name && ip == match) {
        char rest[sizeof(match)];
        const char *after = match + strcspn(match, ",");
        snprintf(rest, sizeof(rest), "in_port=%s%s", name, after);
        snprintf(match, sizeof(match), "%s", rest);
    }
    sw_odp_format(f->actions, f->actions_len, acts, sizeof(acts), dp_name, c->sd);
    const char *bridge = "";
    for (struct sd_bridge *b = c->sd->bridges; b; b = b->next)
        if (b->ofproto == f->user)
            bridge = b->name;
    double used = f->stats.packets && c->now_ms >= f->stats.used_ms
                      ? (double)(c->now_ms - f->stats.used_ms) / 1000.0
                      : -1;
    json_array_append_new(c->out,
                          json_pack("{s:s, s:s, s:I, s:I, s:f, s:s}", "bridge", bridge, "match",
                                    match, "packets", (json_int_t)f->stats.packets, "bytes",
                                    (json_int_t)f->stats.bytes, "used", used, "actions", acts));
}

static void rpc_dpif_dump_flows(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge = NULL;
    if (kk_jsonrpc_unpack(req, params, "{s?s!}", "bridge", &bridge) < 0)
        return;
    struct dump_ctx c = {.sd = sd, .out = json_array(), .now_ms = kk_now_us() / 1000};
    if (bridge) {
        struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
        if (!br) {
            json_decref(c.out);
            return;
        }
        c.only = br->ofproto;
    }
    sw_dpif_flow_dump(sd->dpif, dp_flow_entry, &c);
    kk_jsonrpc_respond(req, json_pack("{s:o}", "flows", c.out));
}

static void rpc_pmd_stats(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    json_t *a = json_array();
    for (unsigned i = 0; i < sw_dpif_n_pmds(sd->dpif); i++) {
        struct sw_dpif_pmd_stats s;
        if (sw_dpif_pmd_stats(sd->dpif, i, &s) < 0)
            continue;
        uint64_t total = s.busy_cycles + s.idle_cycles;
        json_array_append_new(
            a, json_pack("{s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}",
                         "pmd", (int)i, "cpu", (int)s.cpu, "n_rxq",
                         (int)s.n_rxq, "packets", (json_int_t)s.packets, "simple_hits",
                         (json_int_t)s.simple_hits, "emc_hits",
                         (json_int_t)s.emc_hits, "mfc_hits", (json_int_t)s.mfc_hits, "upcalls",
                         (json_int_t)s.upcalls, "upcall_fails", (json_int_t)s.upcall_fails,
                         "lost", (json_int_t)s.lost, "busy_cycles", (json_int_t)s.busy_cycles,
                         "idle_cycles", (json_int_t)s.idle_cycles, "cycles_per_packet",
                         s.packets ? (double)s.busy_cycles / (double)s.packets : 0.0,
                         "busy_pct", total ? 100.0 * (double)s.busy_cycles / (double)total : 0.0));
    }
    kk_jsonrpc_respond(req, a);
}

static void rpc_pmd_stats_clear(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    sw_dpif_pmd_stats_clear(sd->dpif);
    kk_jsonrpc_respond(req, json_true());
}

struct rxq_ctx {
    struct switchd *sd;
    json_t *pmds;
};

static void rxq_entry(void *arg, const struct sw_dpif_port_info *info)
{
    struct rxq_ctx *c = arg;
    for (uint16_t q = 0; q < info->n_rxq; q++) {
        struct sw_dpif_rxq_load l;
        if (sw_dpif_rxq_load(c->sd->dpif, info->port_no, q, &l) < 0)
            continue;
        json_t *slot = l.pmd >= 0 ? json_array_get(c->pmds, (size_t)l.pmd) : NULL;
        /* Share of one CPU since the queues were last assigned. */
        double usage = l.window_cycles ? 100.0 * (double)l.cycles / (double)l.window_cycles : 0;
        if (slot)
            json_array_append_new(json_object_get(slot, "rxqs"),
                                  json_pack("{s:s, s:i, s:i, s:I, s:f}", "port", info->name,
                                            "dp_port", (int)info->port_no, "queue", (int)q,
                                            "cycles", (json_int_t)l.cycles, "usage",
                                            usage > 100 ? 100.0 : usage));
    }
}

static void rpc_pmd_rxq_show(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    struct rxq_ctx c = {.sd = sd, .pmds = json_array()};
    for (unsigned i = 0; i < sw_dpif_n_pmds(sd->dpif); i++) {
        struct sw_dpif_pmd_stats s;
        int cpu = sw_dpif_pmd_stats(sd->dpif, i, &s) == 0 ? s.cpu : -1;
        json_array_append_new(c.pmds, json_pack("{s:i, s:i, s:[]}", "pmd", (int)i, "cpu",
                                                (int)cpu, "rxqs"));
    }
    sw_dpif_port_foreach(sd->dpif, rxq_entry, &c);
    kk_jsonrpc_respond(req, c.pmds);
}

static void rpc_pmd_rxq_rebalance(void *arg, struct kk_jsonrpc_request *req,
                                  const json_t *params)
{
    struct switchd *sd = arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    int rc = sw_dpif_rebalance(sd->dpif);
    if (rc < 0) {
        kk_jsonrpc_respond_errno(req, -rc, "rebalance");
        return;
    }
    kk_jsonrpc_respond(req, json_true());
}

static void rpc_pmd_auto_lb(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    const struct sw_dpif_auto_lb *l = &sd->auto_lb_last;
    kk_jsonrpc_respond(req, json_pack("{s:b, s:i, s:i, s:i, s:I, s:I, s:{s:i, s:i, s:b}}",
                                      "enabled", sd->auto_lb_s > 0,
                                      "interval_s", (int)sd->auto_lb_s,
                                      "load_pct", (int)sd->auto_lb_load_pct,
                                      "improvement_pct", (int)sd->auto_lb_improve_pct,
                                      "checks", (json_int_t)sd->auto_lb_checks,
                                      "moves", (json_int_t)sd->auto_lb_moves,
                                      "last", "busiest_pct", (int)l->busiest_pct,
                                      "improvement_pct", (int)l->improvement_pct,
                                      "moved", l->moved));
}

/* ---- trace, bonds ---------------------------------------------------------------- */

static void rpc_trace(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    const char *bridge, *flow;
    if (kk_jsonrpc_unpack(req, params, "{s:s, s:s!}", "bridge", &bridge, "flow", &flow) < 0)
        return;
    struct sd_bridge *br = bridge_or_fail(sd, req, bridge);
    if (!br)
        return;
    size_t size = 65536;
    char *buf = malloc(size);
    int n = buf ? sw_ofproto_trace(br->ofproto, flow, buf, size) : -ENOMEM;
    if (n >= 0 && (size_t)n >= size) {
        size = (size_t)n + 1;
        char *b2 = realloc(buf, size);
        n = b2 ? sw_ofproto_trace(br->ofproto, flow, (buf = b2), size) : -ENOMEM;
    }
    if (n < 0)
        kk_jsonrpc_respond_errno(req, n, "bad flow '%s': %s", flow,
                                 n == -EINVAL && buf ? buf : kk_strerror(n));
    else
        kk_jsonrpc_respond(req, json_pack("{s:s}", "text", buf));
    free(buf);
}

/* The library's text names members by datapath port: name them. */
static void name_members(struct sd_port *p, const char *in, char *out, size_t size)
{
    size_t n = 0;
    const char *s = in;
    const char *active = NULL;
    while (*s && n + 1 < size) {
        if (strncmp(s, "member ", 7) == 0 && s[7] >= '0' && s[7] <= '9') {
            char *end;
            unsigned long dp = strtoul(s + 7, &end, 10);
            const char *name = NULL;
            for (size_t i = 0; i < p->n_ifaces; i++)
                if (p->ifaces[i].dp_port == dp)
                    name = p->ifaces[i].name;
            if (name) {
                if (s > in && s[-1] == '(')
                    active = name;
                n += (size_t)snprintf(out + n, size - n, "member %s", name);
                s = end;
                continue;
            }
        }
        out[n++] = *s++;
    }
    out[n < size ? n : size - 1] = '\0';
    /* ovs-appctl bond/show's "active member" line, with the name */
    const char *nl = strchr(out, '\n');
    if (nl && strstr(out, "bond_mode")) {
        char *copy = strdup(nl + 1);
        if (copy) {
            size_t head = (size_t)(nl + 1 - out);
            snprintf(out + head, size - head, "active member: %s\n%s", active ? active : "none",
                     copy);
            free(copy);
        }
    }
}

static void bond_text(struct switchd *sd, struct kk_jsonrpc_request *req, const json_t *params,
                      bool lacp)
{
    const char *name = NULL;
    if (kk_jsonrpc_unpack(req, params, "{s?s!}", "name", &name) < 0)
        return;
    size_t size = 1 << 16, len = 0;
    char *text = malloc(size), *buf = malloc(size), *named = malloc(size);
    if (!text || !buf || !named) {
        free(text);
        free(buf);
        free(named);
        kk_jsonrpc_respond_errno(req, -ENOMEM, "bond text");
        return;
    }
    text[0] = '\0';
    bool found = false;
    for (struct sd_bridge *br = sd->bridges; br; br = br->next)
        for (struct sd_port *p = br->ports; p; p = p->next) {
            if (!p->is_bond || (name && strcmp(name, p->name) != 0))
                continue;
            found = true;
            int n = lacp ? sw_ofproto_lacp_show(br->ofproto, p->name, buf, size)
                         : sw_ofproto_bond_show(br->ofproto, p->name, buf, size);
            if (n < 0)
                continue;
            name_members(p, buf, named, size);
            len += (size_t)snprintf(text + len, len < size ? size - len : 0, "%s%s",
                                    len ? "\n" : "", named);
        }
    free(buf);
    free(named);
    if (name && !found) {
        struct sd_port *p = sd_port_find(sd, name);
        if (p)
            kk_jsonrpc_respond_errno(req, -EINVAL, "port %s is not a bond", name);
        else
            kk_jsonrpc_respond_errno(req, -ENOENT, "no bond named %s", name);
    } else {
        kk_jsonrpc_respond(req, json_pack("{s:s}", "text", text));
    }
    free(text);
}

static void rpc_bond_show(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    bond_text(arg, req, params, false);
}

static void rpc_lacp_show(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    bond_text(arg, req, params, true);
}

/* ---- show ---------------------------------------------------------------------- */

static json_t *other_config(const json_t *settings)
{
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)settings, k, v)
        if (strncmp(k, "other_config:", 13) == 0 && json_is_string(v))
            json_object_set(o, k + 13, v);
    return o;
}

static json_t *show_port(struct sd_port *p)
{
    json_t *j = json_pack("{s:s}", "name", p->name);
    if (p->tag >= 0)
        json_object_set_new(j, "tag", json_integer(p->tag));
    if (p->n_trunks) {
        json_t *t = json_array();
        for (size_t i = 0; i < p->n_trunks; i++)
            json_array_append_new(t, json_integer(p->trunks[i]));
        json_object_set_new(j, "trunks", t);
    }
    if (p->vlan_mode)
        json_object_set_new(j, "vlan_mode", json_string(p->vlan_mode));
    if (p->is_bond) {
        json_object_set_new(j, "bond_mode",
                            json_string(sw_bond_mode_to_string(p->bond_settings.mode)));
        if (json_object_get(p->settings, "lacp"))
            json_object_set(j, "lacp", json_object_get(p->settings, "lacp"));
        json_object_set_new(j, "other_config", other_config(p->settings));
    }
    json_t *itfs = json_array();
    for (size_t i = 0; i < p->n_ifaces; i++)
        json_array_append_new(itfs, json_pack("{s:s, s:s, s:O}", "name", p->ifaces[i].name,
                                              "type", p->ifaces[i].type, "options",
                                              p->ifaces[i].options));
    json_object_set_new(j, "interfaces", itfs);
    return j;
}

static void rpc_show(void *arg, struct kk_jsonrpc_request *req, const json_t *params)
{
    struct switchd *sd = arg;
    if (kk_jsonrpc_unpack(req, params, "{!}") < 0)
        return;
    const char *names[256];
    size_t nb = 0;
    for (struct sd_bridge *b = sd->bridges; b && nb < 256; b = b->next)
        names[nb++] = b->name;
    qsort(names, nb, sizeof(names[0]), cmp_str);
    json_t *bridges = json_array();
    for (size_t i = 0; i < nb; i++) {
        struct sd_bridge *br = sd_bridge_find(sd, names[i]);
        size_t n;
        struct sd_port **v = sorted_ports(br, false, &n);
        json_t *ports = json_array();
        for (size_t k = 0; k < n; k++)
            json_array_append_new(ports, show_port(v[k]));
        free(v);
        json_array_append_new(bridges, json_pack("{s:s, s:o, s:o}", "name", br->name, "ports",
                                                 ports, "mirrors", mirrors_json(br)));
    }
    kk_jsonrpc_respond(req, json_pack("{s:o}", "bridges", bridges));
}

/* ---- registration -------------------------------------------------------------- */

static const struct {
    const char *name;
    kk_jsonrpc_method_fn fn;
    const char *desc;
} methods[] = {
    {"bridge.add", rpc_bridge_add, "{name, [may_exist]}: create a bridge"},
    {"bridge.del", rpc_bridge_del, "{name, [if_exists]}: delete a bridge and its ports"},
    {"bridge.list", rpc_bridge_list, "bridge names"},
    {"controller.set", rpc_controller_set,
     "{bridge, [targets]}: OpenFlow controllers (tcp:, ssl:, unix:, ptcp:, punix:); none: remove"},
    {"controller.get", rpc_controller_get,
     "{bridge}: controllers with their connection state, fail mode, protocols"},
    {"fail_mode.set", rpc_fail_mode_set, "{bridge, [mode]}: secure or standalone (default)"},
    {"protocols.set", rpc_protocols_set,
     "{bridge, protocols}: OpenFlow versions, [\"OpenFlow10\", \"OpenFlow13\"]"},
    {"port.add", rpc_port_add,
     "{bridge, name, [settings: {type, options:K, tag, trunks, vlan_mode, ofport_request}]}"},
    {"port.del", rpc_port_del, "{[bridge], name, [if_exists]}: remove a port or bond"},
    {"port.set", rpc_port_set, "{name, settings}: change tag, trunks, vlan_mode, bond settings"},
    {"port.list", rpc_port_list, "{bridge, [by: name|ofport], [stats]}: ports with ofport and link; "
                                     "stats: packet, byte, drop and error counters"},
    {"bond.add", rpc_bond_add,
     "{bridge, name, members, [settings: {bond_mode, lacp, other_config:K, tag, ...}]}"},
    {"mirror.add", rpc_mirror_add,
     "{bridge, name, [select_src_port], [select_dst_port], [select_vlan], [select_all], "
     "output_port}"},
    {"mirror.del", rpc_mirror_del, "{bridge, name, [if_exists]}"},
    {"mirror.list", rpc_mirror_list, "{bridge}: mirrors"},
    {"flow.add", rpc_flow_add, "{bridge, flows: [TEXT...]}: add OpenFlow rules (all or none)"},
    {"flow.mod", rpc_flow_mod, "{bridge, flow, [strict]}: change the actions of rules"},
    {"flow.del", rpc_flow_del, "{bridge, [match], [strict]}: delete rules"},
    {"flow.dump", rpc_flow_dump, "{bridge, [match]}: rules with counters"},
    {"group.add", rpc_group_add, "{bridge, group}: add an OpenFlow group (ovs-ofctl text)"},
    {"group.mod", rpc_group_mod, "{bridge, group}: replace a group's type and buckets"},
    {"group.del", rpc_group_del, "{bridge, [group]}: delete a group (\"group_id=N\") or all, "
                                 "with the rules that use it"},
    {"group.dump", rpc_group_dump, "{bridge, [group_id], [stats]}: groups, or their counters"},
    {"meter.add", rpc_meter_add, "{bridge, meter}: add an OpenFlow meter (ovs-ofctl text)"},
    {"meter.mod", rpc_meter_mod, "{bridge, meter}: replace a meter's bands"},
    {"meter.del", rpc_meter_del, "{bridge, [meter]}: delete a meter (\"meter=N\") or all, "
                                 "with the rules that use it"},
    {"meter.dump", rpc_meter_dump, "{bridge, [meter_id], [stats]}: meters, or their counters"},
    {"fdb.show", rpc_fdb_show, "{bridge}: learned MACs"},
    {"fdb.flush", rpc_fdb_flush, "{[bridge]}: forget learned MACs"},
    {"dpif.dump_flows", rpc_dpif_dump_flows, "{[bridge]}: megaflows with statistics"},
    {"pmd.stats", rpc_pmd_stats, "per PMD thread counters"},
    {"pmd.stats_clear", rpc_pmd_stats_clear, "zero the PMD counters"},
    {"pmd.rxq_show", rpc_pmd_rxq_show, "receive queues per PMD thread"},
    {"pmd.rxq_rebalance", rpc_pmd_rxq_rebalance, "reassign receive queues to PMD threads by load"},
    {"pmd.auto_lb", rpc_pmd_auto_lb, "automatic rebalancing: settings, checks, moves, last check"},
    {"ofproto.trace", rpc_trace, "{bridge, flow}: the pipeline's decision for a flow"},
    {"bond.show", rpc_bond_show, "{[name]}: bond state"},
    {"lacp.show", rpc_lacp_show, "{[name]}: LACP state"},
    {"show", rpc_show, "bridges, ports, bonds and mirrors"},
};

void sd_rpc_register(struct switchd *sd)
{
    for (size_t i = 0; i < KK_ARRAY_SIZE(methods); i++)
        kk_jsonrpc_register(sd->d.rpc, methods[i].name, methods[i].fn, sd, methods[i].desc);
}

void sd_rpc_help(FILE *out)
{
    for (size_t i = 0; i < KK_ARRAY_SIZE(methods); i++)
        fprintf(out, "  %-16s %s\n", methods[i].name, methods[i].desc);
    fprintf(out, "  %-16s %s\n", "daemon.info", "name, version, pid, uptime");
    fprintf(out, "  %-16s %s\n", "daemon.shutdown", "stop gracefully");
    fprintf(out, "  %-16s %s\n", "log.set_levels", "{spec}: e.g. info,switchd=debug");
    fprintf(out, "  %-16s %s\n", "rpc.methods", "list the methods");
}
