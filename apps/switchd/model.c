/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvmkit-switchd's model: bridges (one sw_ofproto each), ports and bonds
 * (datapath ports of the shared sw_dpif), mirrors, the datapath port ->
 * bridge map the upcall handler reads, the periodic run and the saved
 * configuration. Control thread only, except sd_upcall().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kk_config.h"
#include "kk_err.h"
#include "kk_log.h"
#include "kk_rcu.h"
#include "kk_reactor.h"
#include "kk_version.h"
#include "pkt.h"
#include "switchd.h"

KK_LOG_COMPONENT_DECLARE(switchd_log);

/* ---- lookups -------------------------------------------------------------- */

struct sd_bridge *sd_bridge_find(struct switchd *sd, const char *name)
{
    for (struct sd_bridge *b = sd->bridges; b; b = b->next)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}

struct sd_port *sd_port_find(struct switchd *sd, const char *name)
{
    for (struct sd_bridge *b = sd->bridges; b; b = b->next)
        for (struct sd_port *p = b->ports; p; p = p->next)
            if (strcmp(p->name, name) == 0)
                return p;
    return NULL;
}

struct sd_port *sd_iface_find(struct switchd *sd, const char *name, struct sd_iface **iface)
{
    for (struct sd_bridge *b = sd->bridges; b; b = b->next)
        for (struct sd_port *p = b->ports; p; p = p->next)
            for (size_t i = 0; i < p->n_ifaces; i++)
                if (strcmp(p->ifaces[i].name, name) == 0) {
                    if (iface)
                        *iface = &p->ifaces[i];
                    return p;
                }
    return NULL;
}

const char *sd_dp_port_name(struct switchd *sd, uint32_t dp_port)
{
    for (struct sd_bridge *b = sd->bridges; b; b = b->next)
        for (struct sd_port *p = b->ports; p; p = p->next)
            for (size_t i = 0; i < p->n_ifaces; i++)
                if (p->ifaces[i].dp_port == dp_port)
                    return p->ifaces[i].name;
    return NULL;
}

/* ---- the datapath port -> bridge map ------------------------------------- */

static void map_free(void *arg)
{
    free(arg);
}

/* Publish a copy of the map with @n entries changed. */
static int map_set(struct switchd *sd, const uint32_t *dp, size_t n, struct sw_ofproto *ofp)
{
    struct sd_map *old = sd->map, *m = malloc(sizeof(*m));
    if (!m)
        return -ENOMEM;
    if (old)
        memcpy(m, old, sizeof(*m));
    else
        memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < n; i++)
        if (dp[i] < SW_DPIF_MAX_PORTS)
            m->ofp[dp[i]] = ofp;
    kk_rcu_set(&sd->map, m);
    if (old)
        kk_rcu_call(map_free, old);
    return 0;
}

enum sw_upcall_result sd_upcall(void *arg, struct sw_upcall *up)
{
    struct switchd *sd = arg;
    const struct sd_map *m = kk_rcu_get(&sd->map);
    uint32_t in = up->key->in_port;
    struct sw_ofproto *ofp = m && in < SW_DPIF_MAX_PORTS ? m->ofp[in] : NULL;
    /* a port being added or removed: drop without caching anything */
    if (!ofp)
        return SW_UPCALL_NO_INSTALL;
    return sw_ofproto_upcall(ofp, up);
}

/* ---- packet-ins ----------------------------------------------------------------- */

/* Packet copies on their way from PMD threads to the control thread. */
#define SD_MAX_PACKET_INS 1024

struct packet_in_msg {
    struct switchd *sd;
    struct sw_ofproto *ofp;      /* the bridge when it was sent (looked up again) */
    uint32_t dp_port;
    uint64_t cookie, rule_cookie;
    size_t len;
    uint8_t data[];
};

static _Atomic unsigned packet_ins_pending;

static void deliver_packet_in(void *arg)
{
    struct packet_in_msg *m = arg;
    atomic_fetch_sub(&packet_ins_pending, 1);
    for (struct sd_bridge *br = m->sd->bridges; br; br = br->next) {
        if (br->ofproto != m->ofp || !br->agent)
            continue;
        struct sd_iface *iface = NULL;
        const char *name = sd_dp_port_name(m->sd, m->dp_port);
        struct sd_port *p = name ? sd_iface_find(m->sd, name, &iface) : NULL;
        if (p && p->br == br)
            sw_ofagent_packet_in(br->agent, p->ofport, m->cookie, m->rule_cookie, m->data,
                                 m->len);
        break;
    }
    free(m);
}

void sd_userspace(void *arg, const struct sw_odp_userspace *u, const struct pkt_buf *pkt,
                  uint32_t in_port)
{
    struct switchd *sd = arg;
    if (u->reason != SW_OFP_USERSPACE_CONTROLLER)
        return;
    const struct sd_map *map = kk_rcu_get(&sd->map);
    struct sw_ofproto *ofp = map && in_port < SW_DPIF_MAX_PORTS ? map->ofp[in_port] : NULL;
    if (!ofp)
        return;
    /* bounded: a flood of misses never queues without limit (dropped, like
     * packet-ins to a congested controller) */
    if (atomic_fetch_add(&packet_ins_pending, 1) >= SD_MAX_PACKET_INS) {
        atomic_fetch_sub(&packet_ins_pending, 1);
        return;
    }
    size_t len = pkt->pkt_len; /* every segment (large frames are chained) */
    struct packet_in_msg *m = malloc(sizeof(*m) + len);
    if (!m) {
        atomic_fetch_sub(&packet_ins_pending, 1);
        return;
    }
    m->sd = sd;
    m->ofp = ofp;
    m->dp_port = in_port;
    m->cookie = u->cookie;
    m->rule_cookie = u->cookie2;
    m->len = len;
    m->len = pkt_read(pkt, 0, m->data, (uint32_t)len);
    if (kk_reactor_send(sd->d.reactor, deliver_packet_in, m) < 0) {
        atomic_fetch_sub(&packet_ins_pending, 1);
        free(m);
    }
}

/* ---- the OpenFlow agent's hooks ------------------------------------------------- */

static void agent_changed(void *arg, unsigned what)
{
    struct sd_bridge *br = arg;
    br->of_dirty |= what;
    br->of_changed_ms = kk_now_us() / 1000;
}

static void agent_sync(void *arg, bool stats)
{
    struct sd_bridge *br = arg;
    if (stats)
        sd_push_stats(br->sd);
    sd_revalidate(br->sd);
}

static bool agent_port_mac(void *arg, uint32_t ofport, uint8_t mac[6])
{
    struct sd_bridge *br = arg;
    for (struct sd_port *p = br->ports; p; p = p->next)
        if (p->ofport == ofport && p->n_ifaces) {
            memcpy(mac, p->ifaces[0].mac, 6);
            return true;
        }
    return false;
}

static void flow_removed(void *arg, const struct sw_rule_info *rule, int reason)
{
    struct sd_bridge *br = arg;
    if (br->agent)
        sw_ofagent_flow_removed(br->agent, rule, reason);
}

static uint32_t protocols_bitmap(const json_t *protocols)
{
    if (!protocols)
        return OFP_VERSIONS_DEFAULT;
    uint32_t v = 0;
    size_t i;
    json_t *p;
    json_array_foreach(protocols, i, p) {
        const char *t = json_string_value(p);
        if (t && !strcmp(t, "OpenFlow10"))
            v |= 1u << 1;
        else if (t && !strcmp(t, "OpenFlow13"))
            v |= 1u << 4;
    }
    return v;
}

/* Save what changed through OpenFlow once it has been quiet for a second
 * (a controller installing 100,000 rules is not 100,000 file writes). */
static void save_openflow_changes(struct sd_bridge *br, bool now)
{
    if (!br->of_dirty || (!now && kk_now_us() / 1000 - br->of_changed_ms < 1000))
        return;
    unsigned what = br->of_dirty;
    br->of_dirty = 0;
    if (what & SW_OFAGENT_METERS)
        sd_save_meters(br);
    if (what & SW_OFAGENT_GROUPS)
        sd_save_groups(br);
    if (what & SW_OFAGENT_RULES)
        sd_save_flows(br);
}

/* The bridge's default rule (priority 0, everything, NORMAL) goes when
 * controllers are set and comes back when they are removed (fail mode
 * standalone), as in Open vSwitch. */
static void default_flow(struct sd_bridge *br, bool present)
{
    char err[256];
    unsigned n = 0;
    if (present) {
        char buf[64];
        if (sw_ofproto_dump_flows(br->ofproto, "table=0,priority=0", false, buf, sizeof(buf)) == 0 &&
            sw_ofproto_add_flow(br->ofproto, "table=0,priority=0,actions=NORMAL", err,
                                sizeof(err)) == 0)
            KK_LOGI(switchd_log, "%s: no controller: the default NORMAL rule is back", br->name);
        else
            return;
    } else {
        char buf[256];
        int len = sw_ofproto_dump_flows(br->ofproto, "table=0,priority=0", false, buf, sizeof(buf));
        /* only the default rule itself (exactly that match and action) */
        if (len <= 0 || (size_t)len >= sizeof(buf) || !strstr(buf, " priority=0 actions=NORMAL\n") ||
            strchr(buf, '\n') != buf + len - 1)
            return;
        sw_ofproto_del_flows(br->ofproto, "table=0,priority=0", true, &n, err, sizeof(err));
        if (!n)
            return;
        KK_LOGI(switchd_log, "%s: controllers set: the default NORMAL rule removed", br->name);
    }
    sd_save_flows(br);
}

int sd_bridge_set_controllers(struct sd_bridge *br, const json_t *targets, char *err,
                              size_t errlen)
{
    size_t n = targets ? json_array_size(targets) : 0;
    const char *t[16];
    if (n > 16) {
        snprintf(err, errlen, "at most 8 controllers");
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        t[i] = json_string_value(json_array_get(targets, i));
        if (!t[i]) {
            snprintf(err, errlen, "controller targets are strings");
            return -EINVAL;
        }
    }
    bool had = br->controllers && json_array_size(br->controllers);
    int rc = sw_ofagent_set_controllers(br->agent, t, n, err, errlen);
    if (rc)
        return rc;
    json_decref(br->controllers);
    br->controllers = n ? json_deep_copy(targets) : NULL;
    if (!had && n)
        default_flow(br, false);
    else if (had && !n && !br->fail_secure)
        default_flow(br, true);
    sd_config_changed(br->sd);
    return 0;
}

void sd_bridge_set_fail_mode(struct sd_bridge *br, bool secure)
{
    br->fail_secure = secure;
    sw_ofagent_set_fail_mode(br->agent, secure ? SW_FAIL_SECURE : SW_FAIL_STANDALONE);
    KK_LOGI(switchd_log, "%s: fail mode %s", br->name, secure ? "secure" : "standalone");
    sd_config_changed(br->sd);
}

int sd_bridge_set_protocols(struct sd_bridge *br, const json_t *protocols, char *err,
                            size_t errlen)
{
    size_t i;
    json_t *p;
    json_array_foreach(protocols, i, p) {
        const char *t = json_string_value(p);
        if (!t || (strcmp(t, "OpenFlow10") && strcmp(t, "OpenFlow13"))) {
            snprintf(err, errlen, "protocols: '%s' is not OpenFlow10 or OpenFlow13",
                     t ? t : "?");
            return -EINVAL;
        }
    }
    if (!json_array_size(protocols)) {
        snprintf(err, errlen, "protocols: give OpenFlow10, OpenFlow13 or both");
        return -EINVAL;
    }
    json_decref(br->protocols);
    br->protocols = json_deep_copy(protocols);
    sw_ofagent_set_versions(br->agent, protocols_bitmap(br->protocols));
    sd_config_changed(br->sd);
    return 0;
}

/* ---- configuration file ---------------------------------------------------- */

static json_t *port_config(const struct sd_port *p)
{
    json_t *j = json_pack("{s:s, s:O, s:i}", "name", p->name, "settings", p->settings, "ofport",
                          (int)p->ofport);
    if (p->is_bond) {
        json_t *m = json_array();
        for (size_t i = 0; i < p->n_ifaces; i++)
            json_array_append_new(m, json_string(p->ifaces[i].name));
        json_object_set_new(j, "members", m);
    }
    return j;
}

json_t *sd_config_json(struct switchd *sd)
{
    json_t *bridges = json_array();
    for (struct sd_bridge *b = sd->bridges; b; b = b->next) {
        json_t *ports = json_array(), *mirrors = json_array();
        for (struct sd_port *p = b->ports; p; p = p->next)
            json_array_append_new(ports, port_config(p));
        for (struct sd_mirror *m = b->mirrors; m; m = m->next)
            json_array_append(mirrors, m->spec);
        size_t i;
        json_t *v;
        json_array_foreach(b->stale, i, v)
            json_array_append(json_object_get(v, "output_port") ? mirrors : ports, v);
        json_t *bj = json_pack("{s:s, s:o, s:o}", "name", b->name, "ports", ports, "mirrors",
                               mirrors);
        if (b->flows)
            json_object_set(bj, "flows", b->flows);
        if (b->groups)
            json_object_set(bj, "groups", b->groups);
        if (b->meters)
            json_object_set(bj, "meters", b->meters);
        if (b->controllers)
            json_object_set(bj, "controllers", b->controllers);
        if (b->fail_secure)
            json_object_set_new(bj, "fail_mode", json_string("secure"));
        if (b->protocols)
            json_object_set(bj, "protocols", b->protocols);
        json_array_append_new(bridges, bj);
    }
    return json_pack("{s:i, s:o}", "version", 1, "bridges", bridges);
}

static void credit_rules(void *arg, const struct sw_flow_key *key, void *user,
                         const struct sw_mfc_flow_stats *delta)
{
    struct switchd *sd = arg;
    /* the owner is a bridge's ofproto; a bridge deleted since is skipped */
    for (struct sd_bridge *br = sd->bridges; br; br = br->next) {
        if ((void *)br->ofproto == user) {
            sw_ofproto_credit(br->ofproto, key, delta->packets, delta->bytes, delta->used_ms);
            return;
        }
    }
}

/* ---- meters: the datapath's, numbered across bridges ------------------------- */

static int dp_meter_set(void *arg, uint32_t *dp_id, const struct sw_meter_config *c)
{
    struct switchd *sd = arg;
    uint32_t id = *dp_id;
    if (id == UINT32_MAX) {
        for (id = 0; id < SW_DPIF_MAX_METERS && sd->dp_meter_used[id]; id++)
            ;
        if (id == SW_DPIF_MAX_METERS)
            return -ENOSPC;
    }
    int rc = sw_dpif_meter_set(sd->dpif, id, c);
    if (rc == 0) {
        sd->dp_meter_used[id] = true;
        *dp_id = id;
    }
    return rc;
}

static void dp_meter_del(void *arg, uint32_t dp_id)
{
    struct switchd *sd = arg;
    if (dp_id < SW_DPIF_MAX_METERS) {
        sw_dpif_meter_del(sd->dpif, dp_id);
        sd->dp_meter_used[dp_id] = false;
    }
}

static int dp_meter_stats(void *arg, uint32_t dp_id, struct sw_meter_stats *out)
{
    struct switchd *sd = arg;
    return sw_dpif_meter_stats(sd->dpif, dp_id, out);
}

void sd_push_stats(struct switchd *sd)
{
    sw_dpif_flow_push(sd->dpif, credit_rules, sd);
    sd->pushed_ms = kk_now_us() / 1000;
}

void sd_revalidate(struct switchd *sd)
{
    bool pushed = false;
    for (struct sd_bridge *br = sd->bridges; br; br = br->next) {
        uint64_t seq = sw_ofproto_change_seq(br->ofproto);
        if (seq != br->seen_seq) {
            /* the rules the megaflows stood for get their traffic first */
            if (!pushed)
                sd_push_stats(sd);
            pushed = true;
            br->seen_seq = seq;
            sw_dpif_revalidate(sd->dpif, sw_ofproto_mfc_reval, br->ofproto);
        }
    }
}

void sd_config_changed(struct switchd *sd)
{
    /* a command returns once the datapath follows it: no stale megaflow
     * forwards a packet the new configuration would treat differently */
    sd_revalidate(sd);
    if (!sd->config_path || sd->restoring)
        return;
    json_t *c = sd_config_json(sd);
    int rc = kk_config_save(sd->config_path, c);
    json_decref(c);
    if (rc < 0)
        KK_LOGE(switchd_log, "cannot save the configuration to %s: %s", sd->config_path,
                kk_strerror(rc));
}

/* ---- settings -------------------------------------------------------------- */

struct port_cfg {
    const char *type;
    json_t *options;                 /* {key: string}, owned */
    int tag;                         /* -1: none */
    uint16_t trunks[4096];
    size_t n_trunks;
    bool has_vlan_mode;
    enum sw_vlan_mode vlan_mode;
    uint32_t ofport_request;
    struct sw_bond_settings bond;
    bool has_bond_mode, has_lacp;
};

static const struct {
    const char *type;
    const char *const options[6];
} port_types[] = {
    {"system", {"blocks", "promisc"}},
    {"afpacket", {"blocks", "promisc"}},
    {"internal", {"vnet_hdr"}},
    {"tap", {"vnet_hdr", "up"}},
    {"afxdp", {"queue", "frames", "mode", "xdp"}},
    {"pcap", {"rx", "tx", "loop"}},
    {"ring", {"peer", "size"}},
    {"vhost-user", {"path", "queues", "offload"}},
    {"vhost-user-client", {"path", "queues", "offload"}},
};

/* A setting's value as text: strings as they are, numbers and booleans too. */
static const char *value_text(const json_t *v, char *buf, size_t size)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, size, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_array(v)) {
        size_t n = 0, i;
        json_t *e;
        buf[0] = '\0';
        json_array_foreach(v, i, e)
            n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%lld", i ? "," : "",
                                  (long long)json_integer_value(e));
    } else
        return NULL;
    return buf;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!*s || *s == '-')
        return -EINVAL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_settings(const char *port, const json_t *settings, bool is_bond,
                          struct port_cfg *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->type = "system";
    c->options = json_object();
    c->tag = -1;
    c->bond.mode = SW_BOND_ACTIVE_BACKUP;
    c->bond.lacp = SW_BOND_LACP_OFF;
    const char *key;
    json_t *jv;
    char buf[1024];
    json_object_foreach((json_t *)(uintptr_t)settings, key, jv) {
        const char *v = value_text(jv, buf, sizeof(buf));
        unsigned long n;
        if (!v) {
            snprintf(err, errlen, "%s: the value of %s must be a string", port, key);
            return -EINVAL;
        }
        if (strcmp(key, "type") == 0) {
            size_t i;
            for (i = 0; i < KK_ARRAY_SIZE(port_types); i++)
                if (strcmp(port_types[i].type, v) == 0)
                    break;
            if (i == KK_ARRAY_SIZE(port_types)) {
                snprintf(err, errlen,
                         "%s: unknown port type '%s' (system, afpacket, afxdp, tap, internal, "
                         "pcap, ring, vhost-user, vhost-user-client)", port, v);
                return -EINVAL;
            }
            c->type = port_types[i].type;
        } else if (strncmp(key, "options:", 8) == 0 && key[8]) {
            json_object_set_new(c->options, key + 8, json_string(v));
        } else if (strcmp(key, "tag") == 0) {
            if (parse_uint(v, 4095, &n) < 0) {
                snprintf(err, errlen, "%s: tag must be a VLAN 0..4095, not '%s'", port, v);
                return -EINVAL;
            }
            c->tag = (int)n;
        } else if (strcmp(key, "trunks") == 0) {
            const char *s = v;
            while (*s) {
                char num[16];
                size_t len = strcspn(s, ",");
                snprintf(num, sizeof(num), "%.*s", (int)(len < 15 ? len : 15), s);
                if (len > 15 || parse_uint(num, 4095, &n) < 0 || c->n_trunks >= 4096) {
                    snprintf(err, errlen, "%s: trunks must be VLANs 0..4095 separated by "
                                          "commas, not '%s'", port, v);
                    return -EINVAL;
                }
                c->trunks[c->n_trunks++] = (uint16_t)n;
                s += len;
                if (*s)
                    s++;
            }
        } else if (strcmp(key, "vlan_mode") == 0) {
            if (sw_vlan_mode_from_string(v, &c->vlan_mode) < 0) {
                snprintf(err, errlen, "%s: vlan_mode must be access, trunk, native-tagged or "
                                      "native-untagged, not '%s'", port, v);
                return -EINVAL;
            }
            c->has_vlan_mode = true;
        } else if (strcmp(key, "ofport_request") == 0) {
            if (parse_uint(v, SW_OFPORT_MAX, &n) < 0 || n == 0) {
                snprintf(err, errlen, "%s: ofport_request must be 1..%u, not '%s'", port,
                         SW_OFPORT_MAX, v);
                return -EINVAL;
            }
            c->ofport_request = (uint32_t)n;
        } else if (is_bond && strcmp(key, "bond_mode") == 0) {
            if (sw_bond_mode_from_string(v, &c->bond.mode) < 0) {
                snprintf(err, errlen, "%s: bond_mode must be active-backup, balance-slb or "
                                      "balance-tcp, not '%s'", port, v);
                return -EINVAL;
            }
            c->has_bond_mode = true;
        } else if (is_bond && strcmp(key, "lacp") == 0) {
            if (sw_bond_lacp_from_string(v, &c->bond.lacp) < 0) {
                snprintf(err, errlen, "%s: lacp must be active, passive or off, not '%s'",
                         port, v);
                return -EINVAL;
            }
            c->has_lacp = true;
        } else if (is_bond && strcmp(key, "other_config:lacp-time") == 0) {
            if (strcmp(v, "fast") != 0 && strcmp(v, "slow") != 0) {
                snprintf(err, errlen, "%s: other_config:lacp-time must be fast or slow", port);
                return -EINVAL;
            }
            c->bond.lacp_fast = strcmp(v, "fast") == 0;
        } else if (is_bond && strcmp(key, "other_config:lacp-fallback-ab") == 0) {
            if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
                snprintf(err, errlen, "%s: other_config:lacp-fallback-ab must be true or false",
                         port);
                return -EINVAL;
            }
            c->bond.lacp_fallback_ab = strcmp(v, "true") == 0;
        } else if (is_bond && (strcmp(key, "other_config:bond-updelay") == 0 ||
                               strcmp(key, "other_config:bond-downdelay") == 0 ||
                               strcmp(key, "other_config:bond-rebalance-interval") == 0)) {
            if (parse_uint(v, 3600000, &n) < 0) {
                snprintf(err, errlen, "%s: %s must be milliseconds, not '%s'", port, key, v);
                return -EINVAL;
            }
            if (strstr(key, "updelay"))
                c->bond.updelay_ms = (uint32_t)n;
            else if (strstr(key, "downdelay"))
                c->bond.downdelay_ms = (uint32_t)n;
            else
                c->bond.rebalance_ms = (uint32_t)n;
        } else {
            snprintf(err, errlen,
                     "%s: unknown setting '%s' (type, options:KEY, tag, trunks, vlan_mode, "
                     "ofport_request%s)", port, key,
                     is_bond ? ", bond_mode, lacp, other_config:lacp-time, "
                               "other_config:lacp-fallback-ab, other_config:bond-updelay, "
                               "other_config:bond-downdelay, "
                               "other_config:bond-rebalance-interval"
                             : "");
            return -EINVAL;
        }
    }
    /* the options the type takes */
    size_t t = 0;
    while (strcmp(port_types[t].type, c->type) != 0)
        t++;
    json_object_foreach(c->options, key, jv) {
        bool ok = false;
        for (size_t i = 0; i < 6 && port_types[t].options[i]; i++)
            ok |= strcmp(port_types[t].options[i], key) == 0;
        if (!ok) {
            char allowed[256] = "";
            size_t len = 0;
            for (size_t i = 0; i < 6 && port_types[t].options[i]; i++)
                len += (size_t)snprintf(allowed + len, sizeof(allowed) - len, "%s%s",
                                        i ? ", " : "", port_types[t].options[i]);
            snprintf(err, errlen, "%s: unknown option '%s' for a %s port (options: %s)", port,
                     key, c->type, allowed);
            return -EINVAL;
        }
    }
    if (strcmp(c->type, "vhost-user-client") == 0 && !json_object_get(c->options, "path")) {
        snprintf(err, errlen, "%s: a vhost-user-client port needs options:path=SOCKET (QEMU's "
                              "server socket)", port);
        return -EINVAL;
    }
    if (strcmp(c->type, "pcap") == 0 && !json_object_get(c->options, "rx") &&
        !json_object_get(c->options, "tx")) {
        snprintf(err, errlen, "%s: a pcap port needs options:rx=FILE and/or options:tx=FILE",
                 port);
        return -EINVAL;
    }
    if (c->bond.mode == SW_BOND_BALANCE_TCP && c->bond.lacp == SW_BOND_LACP_OFF) {
        snprintf(err, errlen, "%s: bond_mode=balance-tcp needs lacp=active or passive", port);
        return -EINVAL;
    }
    if (!c->has_vlan_mode)
        c->vlan_mode = c->tag >= 0 ? SW_VLAN_MODE_ACCESS : SW_VLAN_MODE_TRUNK;
    return 0;
}

/* Append ",key=value" with ',' escaped for pkt_spec_parse. */
static void spec_add(char *spec, size_t size, const char *key, const char *value)
{
    size_t n = strlen(spec);
    n += (size_t)snprintf(spec + n, n < size ? size - n : 0, "%s%s=",
                          spec[n - 1] == ':' ? "" : ",", key);
    for (const char *s = value; *s && n + 2 < size; s++) {
        if (*s == ',' || *s == '\\')
            spec[n++] = '\\';
        spec[n++] = *s;
    }
    spec[n < size ? n : size - 1] = '\0';
}

static void iface_spec(struct switchd *sd, const struct sd_iface *i, char *spec, size_t size)
{
    const char *t = i->type;
    const char *key;
    json_t *v;
    if (strcmp(t, "system") == 0 || strcmp(t, "afpacket") == 0) {
        snprintf(spec, size, "afpacket:");
        spec_add(spec, size, "iface", i->name);
    } else if (strcmp(t, "afxdp") == 0) {
        snprintf(spec, size, "afxdp:");
        spec_add(spec, size, "iface", i->name);
    } else if (strcmp(t, "tap") == 0 || strcmp(t, "internal") == 0) {
        snprintf(spec, size, "tap:");
        spec_add(spec, size, "name", i->name);
        if (strcmp(t, "internal") == 0)
            spec_add(spec, size, "up", "1");
    } else if (strcmp(t, "pcap") == 0) {
        snprintf(spec, size, "pcap:");
    } else if (strcmp(t, "ring") == 0) {
        snprintf(spec, size, "ring:");
        spec_add(spec, size, "name", i->name);
    } else {
        bool client = strcmp(t, "vhost-user-client") == 0;
        snprintf(spec, size, "vhost-user:");
        const char *path = json_string_value(json_object_get(i->options, "path"));
        char def[512];
        if (!path) {
            snprintf(def, sizeof(def), "%s/%s.sock", sd->vhost_dir, i->name);
            path = def;
        }
        spec_add(spec, size, "path", path);
        spec_add(spec, size, "server", client ? "0" : "1");
    }
    json_object_foreach(i->options, key, v) {
        if (strcmp(key, "path") != 0)
            spec_add(spec, size, key, json_string_value(v));
    }
}

static void iface_mac(const char *name, uint32_t salt, uint8_t mac[6])
{
    char path[128];
    snprintf(path, sizeof(path), "/sys/class/net/%s/address", name);
    FILE *f = fopen(path, "r");
    if (f) {
        unsigned m[6];
        int n = fscanf(f, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
        fclose(f);
        if (n == 6) {
            for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t)m[i];
            return;
        }
    }
    /* a stable locally administered address from the name */
    uint32_t h = 2166136261u ^ salt;
    for (const char *s = name; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    mac[0] = 0x02;
    mac[1] = 0x6b;
    mac[2] = (uint8_t)(h >> 24);
    mac[3] = (uint8_t)(h >> 16);
    mac[4] = (uint8_t)(h >> 8);
    mac[5] = (uint8_t)h;
}

/* ---- bridges --------------------------------------------------------------- */

int sd_bridge_add(struct switchd *sd, const char *name, char *err, size_t errlen)
{
    if (!*name || strlen(name) >= 64 || strpbrk(name, " \t\n/")) {
        snprintf(err, errlen, "bridge name '%s' is not valid (1-63 characters, no spaces or /)",
                 name);
        return -EINVAL;
    }
    if (sd_bridge_find(sd, name)) {
        snprintf(err, errlen, "bridge %s already exists", name);
        return -EEXIST;
    }
    if (sd_iface_find(sd, name, NULL)) {
        snprintf(err, errlen, "%s already exists as a port", name);
        return -EEXIST;
    }
    struct sd_bridge *br = calloc(1, sizeof(*br));
    if (!br || !(br->name = strdup(name))) {
        free(br);
        return -ENOMEM;
    }
    br->sd = sd;
    br->stale = json_array();
    iface_mac(name, 0x62726964, br->mac);
    static const struct sw_meter_provider meters = {
        .set = dp_meter_set, .del = dp_meter_del, .stats = dp_meter_stats};
    struct sw_meter_provider pv = meters;
    pv.arg = sd;
    struct sw_ofproto_settings s = {.name = name, .meters = &pv, .flow_removed = flow_removed,
                                    .flow_removed_arg = br};
    memcpy(s.mac, br->mac, 6);
    /* a restored bridge gets its saved rules, default one included */
    s.no_default_flow = sd->no_default_flow;
    int rc = sw_ofproto_create(&s, &br->ofproto);
    if (rc < 0) {
        snprintf(err, errlen, "bridge %s: %s", name, kk_strerror(rc));
        json_decref(br->stale);
        free(br->name);
        free(br);
        return rc;
    }
    /* OpenFlow: <dir>/<bridge>.mgmt for tools, .snoop for snoopers (as OVS) */
    char mgmt[4096], snoop[4096];
    snprintf(mgmt, sizeof(mgmt), "%s/%s.mgmt", sd->vhost_dir ? sd->vhost_dir : ".", name);
    snprintf(snoop, sizeof(snoop), "%s/%s.snoop", sd->vhost_dir ? sd->vhost_dir : ".", name);
    uint64_t dpid = 0;
    for (int i = 0; i < 6; i++)
        dpid = dpid << 8 | br->mac[i];
    struct sw_ofagent_settings as = {
        .name = name, .ofp = br->ofproto, .dpif = sd->dpif, .reactor = sd->d.reactor,
        .datapath_id = dpid, .mgmt_path = mgmt, .snoop_path = snoop,
        .versions = OFP_VERSIONS_DEFAULT, .sw_version = KK_VERSION, .changed = agent_changed,
        .sync = agent_sync, .port_mac = agent_port_mac, .arg = br};
    rc = sw_ofagent_create(&as, &br->agent);
    if (rc < 0) {
        snprintf(err, errlen, "bridge %s: cannot listen on %s: %s", name, mgmt, kk_strerror(rc));
        sw_ofproto_destroy(br->ofproto);
        json_decref(br->stale);
        free(br->name);
        free(br);
        return rc;
    }
    struct sd_bridge **pp = &sd->bridges;
    while (*pp)
        pp = &(*pp)->next;
    *pp = br;
    KK_LOGI(switchd_log, "bridge %s added (OpenFlow management socket %s)", name, mgmt);
    sd_config_changed(sd);
    return 0;
}

static enum sw_mfc_reval delete_bridge_flows(void *arg, const struct sw_flow_key *key,
                                             const struct sw_flow_mask *mask,
                                             const void *actions, size_t actions_len,
                                             void *user, const void **new_actions,
                                             size_t *new_len)
{
    return user == arg ? SW_MFC_DELETE : SW_MFC_KEEP;
}

static void port_unlink(struct sd_port *p);

int sd_bridge_del(struct switchd *sd, struct sd_bridge *br)
{
    while (br->mirrors) {
        struct sd_mirror *m = br->mirrors;
        br->mirrors = m->next;
        json_decref(m->spec);
        free(m->name);
        free(m);
    }
    while (br->ports)
        port_unlink(br->ports);
    /* no upcall can reach it any more (port_unlink synchronized): drop
     * the megaflows that name it before it goes */
    sw_dpif_revalidate(sd->dpif, delete_bridge_flows, br->ofproto);
    for (struct sd_bridge **pp = &sd->bridges; *pp; pp = &(*pp)->next)
        if (*pp == br) {
            *pp = br->next;
            break;
        }
    sw_ofagent_destroy(br->agent);
    sw_ofproto_destroy(br->ofproto);
    KK_LOGI(switchd_log, "bridge %s deleted", br->name);
    json_decref(br->controllers);
    json_decref(br->protocols);
    json_decref(br->flows);
    json_decref(br->groups);
    json_decref(br->meters);
    json_decref(br->stale);
    free(br->name);
    free(br);
    sd_config_changed(sd);
    return 0;
}

/* ---- ports ----------------------------------------------------------------- */

/* A port or mirror configured again (or its bridge deleted) is no longer
 * waiting to be restored. */
bool sd_forget_stale(struct switchd *sd, const char *name, bool mirror)
{
    bool found = false;
    for (struct sd_bridge *b = sd->bridges; b; b = b->next)
        for (size_t i = json_array_size(b->stale); i-- > 0;) {
            json_t *v = json_array_get(b->stale, i);
            bool is_mirror = json_object_get(v, "output_port") != NULL;
            const char *n = json_string_value(json_object_get(v, "name"));
            if (n && is_mirror == mirror && strcmp(n, name) == 0) {
                json_array_remove(b->stale, i);
                found = true;
            }
        }
    return found;
}

static uint32_t alloc_dp_port(struct switchd *sd)
{
    for (uint32_t i = 1; i < SW_DPIF_MAX_PORTS; i++)
        if (!sd->used_dp[i]) {
            sd->used_dp[i] = true;
            return i;
        }
    return SW_DPIF_PORT_NONE;
}

static void free_port(struct sd_port *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_ifaces; i++) {
        free(p->ifaces[i].name);
        json_decref(p->ifaces[i].options);
    }
    free(p->ifaces);
    json_decref(p->settings);
    free(p->trunks);
    free(p->vlan_mode);
    free(p->name);
    free(p);
}

/* Apply parsed settings to the port's VLAN/bond fields (kept for show). */
static void port_take_cfg(struct sd_port *p, const struct port_cfg *c)
{
    p->tag = c->tag;
    free(p->trunks);
    p->trunks = NULL;
    p->n_trunks = c->n_trunks;
    if (c->n_trunks) {
        p->trunks = malloc(sizeof(uint16_t) * c->n_trunks);
        if (p->trunks)
            memcpy(p->trunks, c->trunks, sizeof(uint16_t) * c->n_trunks);
        else
            p->n_trunks = 0;
    }
    free(p->vlan_mode);
    p->vlan_mode = c->has_vlan_mode ? strdup(sw_vlan_mode_to_string(c->vlan_mode)) : NULL;
    p->bond_settings = c->bond;
    p->bond_settings.name = p->name;
}

static void fill_ofp_settings(struct sd_port *p, const struct port_cfg *c,
                              struct sw_port_settings *s, uint32_t *members,
                              uint8_t (*macs)[6])
{
    memset(s, 0, sizeof(*s));
    s->name = p->name;
    s->vlan_mode = c->vlan_mode;
    s->tag = c->tag >= 0 ? (uint16_t)c->tag : 0;
    s->trunks = c->trunks;
    s->n_trunks = c->n_trunks;
    if (p->is_bond) {
        p->bond_settings = c->bond;
        p->bond_settings.name = p->name;
        memcpy(p->bond_settings.sys_id, p->br->mac, 6);
        s->bond = &p->bond_settings;
        for (size_t i = 0; i < p->n_ifaces; i++) {
            members[i] = p->ifaces[i].dp_port;
            memcpy(macs[i], p->ifaces[i].mac, 6);
        }
        s->members = members;
        s->member_macs = (const uint8_t(*)[6])macs;
        s->n_members = p->n_ifaces;
    } else {
        s->dp_port = p->ifaces[0].dp_port;
    }
}

static void sync_link(struct sd_port *p, struct sd_iface *i, bool force)
{
    struct sw_dpif_port_info info;
    struct switchd *sd = p->br->sd;
    if (sw_dpif_port_query(sd->dpif, i->dp_port, &info) < 0)
        return;
    if (info.link_up == i->link_up && !force)
        return;
    if (!force || !info.link_up)
        KK_LOGI(switchd_log, "%s %s: link %s", p->is_bond ? "bond member" : "port", i->name,
                info.link_up ? "up" : "down");
    i->link_up = info.link_up;
    sw_ofproto_set_link(p->br->ofproto, i->dp_port, i->link_up);
}

int sd_port_add(struct sd_bridge *br, const char *name, const json_t *members,
                const json_t *settings, uint32_t ofport, char *err, size_t errlen)
{
    struct switchd *sd = br->sd;
    bool is_bond = members != NULL;
    size_t n = is_bond ? json_array_size(members) : 1;
    if (!*name || strlen(name) >= 64 || strpbrk(name, " \t\n/,")) {
        snprintf(err, errlen, "port name '%s' is not valid (1-63 characters, no spaces, / or ,)",
                 name);
        return -EINVAL;
    }
    if (sd_iface_find(sd, name, NULL) || sd_port_find(sd, name)) {
        snprintf(err, errlen, "port %s already exists", name);
        return -EEXIST;
    }
    if (sd_bridge_find(sd, name)) {
        snprintf(err, errlen, "%s already exists as a bridge", name);
        return -EEXIST;
    }
    if (is_bond && (n < 2 || n > 16)) {
        snprintf(err, errlen, "bond %s needs 2 to 16 interfaces", name);
        return -EINVAL;
    }
    for (size_t i = 0; is_bond && i < n; i++) {
        const char *m = json_string_value(json_array_get(members, i));
        if (!m || !*m || strlen(m) >= 64) {
            snprintf(err, errlen, "bond %s: interface names must be 1-63 characters", name);
            return -EINVAL;
        }
        if (sd_iface_find(sd, m, NULL) || sd_port_find(sd, m) || strcmp(m, name) == 0) {
            snprintf(err, errlen, "bond %s: interface %s already exists", name, m);
            return -EEXIST;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(m, json_string_value(json_array_get(members, k))) == 0) {
                snprintf(err, errlen, "bond %s: interface %s is listed twice", name, m);
                return -EINVAL;
            }
    }
    struct port_cfg *c = malloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    int rc = parse_settings(name, settings, is_bond, c, err, errlen);
    struct sd_port *p = NULL;
    size_t added = 0;
    bool in_ofproto = false, mapped = false;
    uint32_t dps[16];
    if (rc < 0)
        goto fail;
    rc = -ENOMEM;
    p = calloc(1, sizeof(*p));
    if (!p || !(p->name = strdup(name)) || !(p->ifaces = calloc(n, sizeof(*p->ifaces))))
        goto fail;
    p->br = br;
    p->is_bond = is_bond;
    p->n_ifaces = n;
    p->settings = json_deep_copy(settings);
    p->active_member = SW_BOND_NONE;
    port_take_cfg(p, c);
    for (size_t i = 0; i < n; i++) {
        struct sd_iface *it = &p->ifaces[i];
        it->name = strdup(is_bond ? json_string_value(json_array_get(members, i)) : name);
        it->type = (char *)(uintptr_t)c->type;
        it->options = json_incref(c->options);
        it->dp_port = SW_DPIF_PORT_NONE;
        if (!it->name)
            goto fail;
        iface_mac(it->name, (uint32_t)i, it->mac);
        it->dp_port = alloc_dp_port(sd);
        if (it->dp_port == SW_DPIF_PORT_NONE) {
            snprintf(err, errlen, "no free datapath port for %s", it->name);
            rc = -ENOSPC;
            goto fail;
        }
        dps[i] = it->dp_port;
    }
    /* the bridge knows the port before its first packet can arrive */
    uint32_t members_dp[16];
    uint8_t macs[16][6];
    struct sw_port_settings s;
    fill_ofp_settings(p, c, &s, members_dp, macs);
    s.ofport = ofport ? ofport : c->ofport_request;
    rc = sw_ofproto_port_add(br->ofproto, &s, &p->ofport);
    if (rc < 0) {
        if (rc == -EEXIST && s.ofport)
            snprintf(err, errlen, "%s: OpenFlow port %u is taken in bridge %s", name, s.ofport,
                     br->name);
        else
            snprintf(err, errlen, "%s: the bridge refused the port: %s", name, kk_strerror(rc));
        goto fail;
    }
    in_ofproto = true;
    if ((rc = map_set(sd, dps, n, br->ofproto)) < 0)
        goto fail;
    mapped = true;
    for (; added < n; added++) {
        struct sd_iface *it = &p->ifaces[added];
        char spec[2048];
        char perr[256] = "";
        iface_spec(sd, it, spec, sizeof(spec));
        uint32_t no = it->dp_port;
        rc = sw_dpif_port_add(sd->dpif, it->name, spec, &no, perr, sizeof(perr));
        if (rc < 0) {
            snprintf(err, errlen, "%s: cannot open %s (%s): %s", it->name, c->type, spec,
                     perr[0] ? perr : kk_strerror(rc));
            goto fail;
        }
    }
    struct sd_port **pp = &br->ports;
    while (*pp)
        pp = &(*pp)->next;
    *pp = p;
    sd_forget_stale(sd, name, false);
    for (size_t i = 0; i < n; i++) {
        p->ifaces[i].link_up = !is_bond;
        sync_link(p, &p->ifaces[i], true);
    }
    if (is_bond)
        KK_LOGI(switchd_log, "bond %s added to bridge %s (OpenFlow port %u, %zu members, %s)",
                name, br->name, p->ofport, n, sw_bond_mode_to_string(c->bond.mode));
    else
        KK_LOGI(switchd_log, "port %s added to bridge %s (OpenFlow port %u, datapath port %u, "
                             "type %s)", name, br->name, p->ofport, p->ifaces[0].dp_port,
                c->type);
    json_decref(c->options);
    free(c);
    sd_config_changed(sd);
    return 0;

fail:
    if (p) {
        for (size_t i = 0; i < added; i++)
            sw_dpif_port_del(sd->dpif, p->ifaces[i].dp_port);
        if (mapped) {
            map_set(sd, dps, n, NULL);
            kk_rcu_synchronize();
        }
        if (in_ofproto)
            sw_ofproto_port_del(br->ofproto, name);
        for (size_t i = 0; i < p->n_ifaces; i++)
            if (p->ifaces[i].dp_port < SW_DPIF_MAX_PORTS)
                sd->used_dp[p->ifaces[i].dp_port] = false;
    }
    free_port(p);
    json_decref(c->options);
    free(c);
    return rc;
}

/* Take a port out of everything and free it (no save). */
static void port_unlink(struct sd_port *p)
{
    struct sd_bridge *br = p->br;
    struct switchd *sd = br->sd;
    uint32_t dps[16];
    for (size_t i = 0; i < p->n_ifaces; i++) {
        sw_dpif_port_del(sd->dpif, p->ifaces[i].dp_port);
        dps[i] = p->ifaces[i].dp_port;
    }
    map_set(sd, dps, p->n_ifaces, NULL);
    kk_rcu_synchronize();
    sw_ofproto_port_del(br->ofproto, p->name);
    for (size_t i = 0; i < p->n_ifaces; i++)
        sd->used_dp[dps[i]] = false;
    for (struct sd_port **pp = &br->ports; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    KK_LOGI(switchd_log, "%s %s removed from bridge %s", p->is_bond ? "bond" : "port", p->name,
            br->name);
    free_port(p);
}

/* A mirror naming a port that is going away forgets it (and one that
 * outputs to it goes too), so the saved configuration stays valid. */
static void mirrors_forget(struct sd_bridge *br, const char *port)
{
    for (struct sd_mirror **mp = &br->mirrors; *mp;) {
        struct sd_mirror *m = *mp;
        const char *out = json_string_value(json_object_get(m->spec, "output_port"));
        if (out && strcmp(out, port) == 0) {
            *mp = m->next;
            sw_ofproto_mirror_del(br->ofproto, m->name);
            KK_LOGI(switchd_log, "mirror %s removed: its output port %s is gone", m->name, port);
            json_decref(m->spec);
            free(m->name);
            free(m);
            continue;
        }
        static const char *const keys[] = {"select_src_port", "select_dst_port"};
        for (int k = 0; k < 2; k++) {
            json_t *a = json_object_get(m->spec, keys[k]);
            for (size_t i = json_array_size(a); i-- > 0;)
                if (strcmp(json_string_value(json_array_get(a, i)), port) == 0)
                    json_array_remove(a, i);
        }
        mp = &m->next;
    }
}

int sd_port_del(struct sd_port *p)
{
    struct sd_bridge *br = p->br;
    mirrors_forget(br, p->name);
    port_unlink(p);
    sd_config_changed(br->sd);
    return 0;
}

int sd_port_set(struct sd_port *p, const json_t *settings, char *err, size_t errlen)
{
    json_t *merged = json_deep_copy(p->settings);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)settings, key, v) {
        if (strcmp(key, "type") == 0 || strncmp(key, "options:", 8) == 0 ||
            strcmp(key, "ofport_request") == 0) {
            char buf[512];
            const char *now = value_text(json_object_get(p->settings, key), buf, sizeof(buf));
            const char *want = value_text(v, buf + 256, 256);
            if (!(now && want && strcmp(now, want) == 0)) {
                snprintf(err, errlen, "%s: %s cannot be changed on a running port (delete the "
                                      "port and add it again)", p->name, key);
                json_decref(merged);
                return -EINVAL;
            }
        }
        const char *s = json_string_value(v);
        if (s && (!*s || strcmp(s, "[]") == 0))
            json_object_del(merged, key);    /* tag=[] clears, like ovs-vsctl clear */
        else
            json_object_set(merged, key, v);
    }
    struct port_cfg *c = malloc(sizeof(*c));
    if (!c) {
        json_decref(merged);
        return -ENOMEM;
    }
    int rc = parse_settings(p->name, merged, p->is_bond, c, err, errlen);
    if (rc == 0) {
        uint32_t members_dp[16];
        uint8_t macs[16][6];
        struct sw_port_settings s;
        struct sw_bond_settings saved = p->bond_settings;
        fill_ofp_settings(p, c, &s, members_dp, macs);
        rc = sw_ofproto_port_reconfigure(p->br->ofproto, &s);
        if (rc < 0) {
            p->bond_settings = saved;
            snprintf(err, errlen, "%s: the bridge refused the settings: %s", p->name,
                     kk_strerror(rc));
        } else {
            port_take_cfg(p, c);
            json_decref(p->settings);
            p->settings = merged;
            merged = NULL;
            KK_LOGI(switchd_log, "port %s reconfigured", p->name);
            sd_config_changed(p->br->sd);
        }
    }
    json_decref(merged);
    json_decref(c->options);
    free(c);
    return rc;
}

/* ---- mirrors --------------------------------------------------------------- */

static int names_of(struct sd_bridge *br, const json_t *a, const char **out, size_t max,
                    size_t *n, char *err, size_t errlen)
{
    *n = 0;
    if (a && !json_is_array(a)) {
        snprintf(err, errlen, "port lists must be arrays of names");
        return -EINVAL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        struct sd_port *p = s ? sd_port_find(br->sd, s) : NULL;
        if (!p || p->br != br) {
            snprintf(err, errlen, "mirror: no port %s in bridge %s", s ? s : "?", br->name);
            return -ENOENT;
        }
        if (*n >= max) {
            snprintf(err, errlen, "mirror: too many ports");
            return -EINVAL;
        }
        out[(*n)++] = s;
    }
    return 0;
}

int sd_mirror_add(struct sd_bridge *br, const char *name, const json_t *spec, char *err,
                  size_t errlen)
{
    for (struct sd_mirror *m = br->mirrors; m; m = m->next)
        if (strcmp(m->name, name) == 0) {
            snprintf(err, errlen, "mirror %s already exists in bridge %s", name, br->name);
            return -EEXIST;
        }
    const char *src[SW_OFP_MAX_PORTS], *dst[SW_OFP_MAX_PORTS];
    static uint16_t vlans[4096];
    struct sw_mirror_settings s = {.name = name, .select_src = src, .select_dst = dst,
                                   .select_vlan = vlans};
    int rc = names_of(br, json_object_get(spec, "select_src_port"), src, SW_OFP_MAX_PORTS,
                      &s.n_select_src, err, errlen);
    if (rc == 0)
        rc = names_of(br, json_object_get(spec, "select_dst_port"), dst, SW_OFP_MAX_PORTS,
                      &s.n_select_dst, err, errlen);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(spec, "select_vlan"), i, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 4095 ||
            i >= 4096) {
            snprintf(err, errlen, "mirror %s: select_vlan takes VLANs 0..4095", name);
            return -EINVAL;
        }
        vlans[s.n_select_vlan++] = (uint16_t)json_integer_value(v);
    }
    s.select_all = json_is_true(json_object_get(spec, "select_all"));
    s.output = json_string_value(json_object_get(spec, "output_port"));
    if (!s.output) {
        snprintf(err, errlen, "mirror %s needs output-port=PORT", name);
        return -EINVAL;
    }
    struct sd_port *op = sd_port_find(br->sd, s.output);
    if (!op || op->br != br) {
        snprintf(err, errlen, "mirror %s: no port %s in bridge %s (output-port)", name,
                 s.output, br->name);
        return -ENOENT;
    }
    if (!s.select_all && !s.n_select_src && !s.n_select_dst) {
        snprintf(err, errlen, "mirror %s selects nothing: give select-src-port, "
                              "select-dst-port or select-all", name);
        return -EINVAL;
    }
    rc = sw_ofproto_mirror_set(br->ofproto, &s);
    if (rc < 0) {
        snprintf(err, errlen, "mirror %s: %s", name,
                 rc == -ENOSPC ? "too many mirrors (32)" : kk_strerror(rc));
        return rc;
    }
    struct sd_mirror *m = calloc(1, sizeof(*m));
    if (!m || !(m->name = strdup(name))) {
        free(m);
        sw_ofproto_mirror_del(br->ofproto, name);
        return -ENOMEM;
    }
    m->spec = json_deep_copy(spec);
    json_object_set_new(m->spec, "name", json_string(name));
    struct sd_mirror **mp = &br->mirrors;
    while (*mp)
        mp = &(*mp)->next;
    *mp = m;
    sd_forget_stale(br->sd, name, true);
    KK_LOGI(switchd_log, "mirror %s added to bridge %s (output %s)", name, br->name, s.output);
    sd_config_changed(br->sd);
    return 0;
}

int sd_mirror_del(struct sd_bridge *br, const char *name)
{
    for (struct sd_mirror **mp = &br->mirrors; *mp; mp = &(*mp)->next) {
        struct sd_mirror *m = *mp;
        if (strcmp(m->name, name) != 0)
            continue;
        *mp = m->next;
        sw_ofproto_mirror_del(br->ofproto, name);
        KK_LOGI(switchd_log, "mirror %s removed from bridge %s", name, br->name);
        json_decref(m->spec);
        free(m->name);
        free(m);
        sd_config_changed(br->sd);
        return 0;
    }
    return -ENOENT;
}

/* ---- the periodic run -------------------------------------------------------- */

static void send_lacp(void *arg, uint32_t dp_port, const void *frame, size_t len)
{
    struct switchd *sd = arg;
    struct sw_odp_buf *a = malloc(sizeof(*a));
    if (!a)
        return;
    sw_odp_buf_init(a);
    sw_odp_put_output(a, dp_port);
    int rc = sw_dpif_execute_bytes(sd->dpif, frame, len, SW_DPIF_PORT_NONE, a->data, a->len);
    if (rc < 0)
        KK_LOGW_RL(switchd_log, "LACPDU on datapath port %u not sent: %s", dp_port,
                   kk_strerror(rc));
    free(a);
}

/* The bond's active member and LACP state from its bond/show text (the
 * bond is the ofproto's; this is what it tells). */
static uint32_t bond_active(struct sd_bridge *br, struct sd_port *p, bool *negotiated)
{
    char buf[4096];
    *negotiated = false;
    if (sw_ofproto_bond_show(br->ofproto, p->name, buf, sizeof(buf)) < 0)
        return SW_BOND_NONE;
    *negotiated = strstr(buf, "lacp_status: negotiated") != NULL;
    const char *s = strstr(buf, "(member ");
    if (!s)
        return SW_BOND_NONE;
    return (uint32_t)strtoul(s + 8, NULL, 10);
}

static const char *member_name(struct sd_port *p, uint32_t dp)
{
    for (size_t i = 0; i < p->n_ifaces; i++)
        if (p->ifaces[i].dp_port == dp)
            return p->ifaces[i].name;
    return "none";
}

/* Every --pmd-auto-lb seconds: rebalance the receive queues if it pays. */
static void auto_lb(struct switchd *sd)
{
    uint64_t now_ms = kk_now_us() / 1000;
    if (!sd->auto_lb_s)
        return;
    if (!sd->auto_lb_next_ms) {
        sd->auto_lb_next_ms = now_ms + sd->auto_lb_s * 1000ull;
        return;
    }
    if (now_ms < sd->auto_lb_next_ms)
        return;
    sd->auto_lb_next_ms = now_ms + sd->auto_lb_s * 1000ull;
    int rc = sw_dpif_auto_lb(sd->dpif, sd->auto_lb_load_pct, sd->auto_lb_improve_pct,
                             &sd->auto_lb_last);
    sd->auto_lb_checks++;
    if (rc < 0)
        KK_LOGW(switchd_log, "pmd auto-lb: %s", kk_strerror(rc));
    else if (rc > 0)
        sd->auto_lb_moves++;
    else
        KK_LOGD(switchd_log, "pmd auto-lb: no change (busiest PMD %u%% busy, a reassignment "
                "would lower the load variance %u%%)", sd->auto_lb_last.busiest_pct,
                sd->auto_lb_last.improvement_pct);
}

void sd_run(struct switchd *sd)
{
    auto_lb(sd);
    /* rule counters and idle timeouts follow the datapath once a second */
    if (kk_now_us() / 1000 - sd->pushed_ms >= SD_PUSH_PERIOD_MS)
        sd_push_stats(sd);
    for (struct sd_bridge *br = sd->bridges; br; br = br->next) {
        for (struct sd_port *p = br->ports; p; p = p->next)
            for (size_t i = 0; i < p->n_ifaces; i++)
                sync_link(p, &p->ifaces[i], false);
        sw_ofproto_run(br->ofproto, send_lacp, sd);
        sw_ofagent_run(br->agent);
        save_openflow_changes(br, false);
        for (struct sd_port *p = br->ports; p; p = p->next) {
            if (!p->is_bond)
                continue;
            bool neg;
            uint32_t a = bond_active(br, p, &neg);
            if (a != p->active_member) {
                if (p->active_member == SW_BOND_NONE)
                    KK_LOGI(switchd_log, "bond %s: active member %s", p->name,
                            member_name(p, a));
                else
                    KK_LOGW(switchd_log, "bond %s: active member %s -> %s (failover)",
                            p->name, member_name(p, p->active_member), member_name(p, a));
                p->active_member = a;
            }
            if (p->bond_settings.lacp != SW_BOND_LACP_OFF && neg != p->lacp_negotiated) {
                KK_LOGI(switchd_log, "bond %s: LACP %s", p->name,
                        neg ? "negotiated with the partner" : "not negotiated (no partner)");
                p->lacp_negotiated = neg;
            }
        }
    }
    sd_revalidate(sd);
}

/* ---- restore and shutdown ------------------------------------------------------ */

int sd_restore(struct switchd *sd)
{
    json_t *c = NULL;
    int rc = kk_config_load(sd->config_path, &c);
    if (rc == -ENOENT) {
        KK_LOGI(switchd_log, "no configuration at %s yet: starting empty", sd->config_path);
        return 0;
    }
    if (rc < 0) {
        KK_LOGE(switchd_log, "cannot read %s: %s", sd->config_path, kk_strerror(rc));
        return rc;
    }
    unsigned n_br = 0, n_ports = 0, n_mirrors = 0, n_flows = 0, n_groups = 0, n_meters = 0;
    unsigned failed = 0;
    sd->restoring = true;
    size_t i, j;
    json_t *bj, *v;
    json_array_foreach(json_object_get(c, "bridges"), i, bj) {
        char err[512] = "";
        const char *name = json_string_value(json_object_get(bj, "name"));
        json_t *flows = json_object_get(bj, "flows");
        sd->no_default_flow = json_is_array(flows);   /* saved rules replace the default */
        rc = name ? sd_bridge_add(sd, name, err, sizeof(err)) : -EINVAL;
        sd->no_default_flow = false;
        if (rc < 0) {
            KK_LOGE(switchd_log, "restore: bridge %s: %s", name ? name : "?", err);
            failed++;
            continue;
        }
        n_br++;
        struct sd_bridge *br = sd_bridge_find(sd, name);
        json_array_foreach(json_object_get(bj, "ports"), j, v) {
            const char *pn = json_string_value(json_object_get(v, "name"));
            json_t *settings = json_object_get(v, "settings");
            rc = pn && json_is_object(settings)
                     ? sd_port_add(br, pn, json_object_get(v, "members"), settings,
                                   (uint32_t)json_integer_value(json_object_get(v, "ofport")),
                                   err, sizeof(err))
                     : -EINVAL;
            if (rc < 0) {
                KK_LOGE(switchd_log, "restore: port %s of bridge %s: %s (kept in the "
                                     "configuration, retried on the next start)",
                        pn ? pn : "?", name, err);
                json_array_append(br->stale, v);
                failed++;
            } else {
                n_ports++;
            }
        }
        json_array_foreach(json_object_get(bj, "mirrors"), j, v) {
            const char *mn = json_string_value(json_object_get(v, "name"));
            rc = mn ? sd_mirror_add(br, mn, v, err, sizeof(err)) : -EINVAL;
            if (rc < 0) {
                KK_LOGE(switchd_log, "restore: mirror %s of bridge %s: %s (kept in the "
                                     "configuration, retried on the next start)",
                        mn ? mn : "?", name, err);
                if (json_object_get(v, "output_port"))
                    json_array_append(br->stale, v);
                failed++;
            } else {
                n_mirrors++;
            }
        }
        /* meters and groups before the rules that use them */
        json_array_foreach(json_object_get(bj, "meters"), j, v) {
            const char *text = json_string_value(v);
            if (!text || sw_ofproto_meter_mod(br->ofproto, SW_MM_ADD, text, err,
                                              sizeof(err)) < 0) {
                KK_LOGE(switchd_log, "restore: meter '%s' of bridge %s: %s",
                        text ? text : "?", name, err);
                failed++;
            } else {
                n_meters++;
            }
        }
        if (json_is_array(json_object_get(bj, "meters")))
            br->meters = json_incref(json_object_get(bj, "meters"));
        json_array_foreach(json_object_get(bj, "groups"), j, v) {
            const char *text = json_string_value(v);
            if (!text || sw_ofproto_group_mod(br->ofproto, SW_GM_ADD, text, err,
                                              sizeof(err)) < 0) {
                KK_LOGE(switchd_log, "restore: group '%s' of bridge %s: %s",
                        text ? text : "?", name, err);
                failed++;
            } else {
                n_groups++;
            }
        }
        if (json_is_array(json_object_get(bj, "groups")))
            br->groups = json_incref(json_object_get(bj, "groups"));
        if (json_is_array(flows)) {
            json_array_foreach(flows, j, v) {
                const char *text = json_string_value(v);
                if (!text || sw_ofproto_add_flow(br->ofproto, text, err, sizeof(err)) < 0) {
                    KK_LOGE(switchd_log, "restore: rule '%s' of bridge %s: %s",
                            text ? text : "?", name, err);
                    failed++;
                } else {
                    n_flows++;
                }
            }
            br->flows = json_incref(flows);
        }
        const char *fm = json_string_value(json_object_get(bj, "fail_mode"));
        if (fm && !strcmp(fm, "secure"))
            sd_bridge_set_fail_mode(br, true);
        json_t *protos = json_object_get(bj, "protocols");
        if (json_is_array(protos) && sd_bridge_set_protocols(br, protos, err, sizeof(err)) < 0)
            KK_LOGE(switchd_log, "restore: bridge %s: %s", name, err);
        json_t *ctl = json_object_get(bj, "controllers");
        if (json_is_array(ctl) && json_array_size(ctl)) {
            /* the saved rules already lack the default one */
            size_t nt = json_array_size(ctl);
            const char *t[8];
            for (size_t k = 0; k < nt && k < 8; k++)
                t[k] = json_string_value(json_array_get(ctl, k));
            if (nt <= 8 && sw_ofagent_set_controllers(br->agent, t, nt, err, sizeof(err)) == 0)
                br->controllers = json_incref(ctl);
            else
                KK_LOGE(switchd_log, "restore: controllers of bridge %s: %s", name, err);
        }
    }
    sd->restoring = false;
    json_decref(c);
    KK_LOGI(switchd_log, "restored %u bridges, %u ports, %u mirrors, %u OpenFlow meters, %u "
            "groups, %u rules from %s%s", n_br, n_ports, n_mirrors, n_meters, n_groups, n_flows,
            sd->config_path,
            failed ? " (some failed: see above)" : "");
    return 0;
}

void sd_shutdown(struct switchd *sd)
{
    /* OpenFlow changes of the last second are saved before going */
    for (struct sd_bridge *br = sd->bridges; br; br = br->next)
        save_openflow_changes(br, true);
    bool saved = sd->restoring;
    sd->restoring = true;     /* tearing down is not a configuration change */
    while (sd->bridges)
        sd_bridge_del(sd, sd->bridges);
    sd->restoring = saved;
}
