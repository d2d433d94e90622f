/* SPDX-License-Identifier: Apache-2.0 */
/* Ports: spec strings, the type registry, common entry points. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_err.h"
#include "kk_log.h"
#include "port.h"
#include "port_internal.h"

KK_LOG_COMPONENT_DECLARE(pkt_log);

static const struct pkt_port_ops *const port_types[] = {
    &pkt_port_ring_ops,
    &pkt_port_tap_ops,
    &pkt_port_afpacket_ops,
    &pkt_port_afxdp_ops,
    &pkt_port_pcap_ops,
    &pkt_port_vhost_ops,
};

void pkt_port_list_types(void (*fn)(void *arg, const char *type, const char *help), void *arg)
{
    for (size_t i = 0; i < sizeof(port_types) / sizeof(port_types[0]); i++)
        fn(arg, port_types[i]->type, port_types[i]->help);
}

int pkt_spec_parse(const char *text, struct pkt_spec *spec, char *err, size_t errlen)
{
    memset(spec, 0, sizeof(*spec));
    const char *colon = strchr(text, ':');
    size_t tlen = colon ? (size_t)(colon - text) : strlen(text);
    if (tlen == 0 || tlen >= sizeof(spec->type)) {
        snprintf(err, errlen, "'%s': a port spec starts with its type, e.g. tap:name=tap0", text);
        return -EINVAL;
    }
    memcpy(spec->type, text, tlen);
    if (!colon || !colon[1])
        return 0;
    const char *p = colon + 1;
    while (*p) {
        if (spec->n == sizeof(spec->kv) / sizeof(spec->kv[0])) {
            snprintf(err, errlen, "'%s': more than %zu options", text,
                     sizeof(spec->kv) / sizeof(spec->kv[0]));
            return -EINVAL;
        }
        const char *eq = strchr(p, '=');
        const char *comma = strchr(p, ',');
        if (!eq || (comma && comma < eq)) {
            snprintf(err, errlen, "'%s': option without '=' near '%.20s'", text, p);
            return -EINVAL;
        }
        size_t klen = (size_t)(eq - p);
        if (klen == 0 || klen >= sizeof(spec->kv[0].key)) {
            snprintf(err, errlen, "'%s': bad option name near '%.20s'", text, p);
            return -EINVAL;
        }
        memcpy(spec->kv[spec->n].key, p, klen);
        for (unsigned i = 0; i < spec->n; i++) {
            if (strcmp(spec->kv[i].key, spec->kv[spec->n].key) == 0) {
                snprintf(err, errlen, "'%s': option '%s' given twice", text, spec->kv[i].key);
                return -EINVAL;
            }
        }
        /* The value runs to the next unescaped comma. */
        char *v = spec->kv[spec->n].value;
        size_t vlen = 0;
        p = eq + 1;
        while (*p && *p != ',') {
            if (*p == '\\' && p[1] == ',')
                p++;
            if (vlen + 1 >= sizeof(spec->kv[0].value)) {
                snprintf(err, errlen, "'%s': value of '%s' too long", text,
                         spec->kv[spec->n].key);
                return -EINVAL;
            }
            v[vlen++] = *p++;
        }
        spec->n++;
        if (*p == ',')
            p++;
    }
    return 0;
}

const char *pkt_spec_get(const struct pkt_spec *spec, const char *key)
{
    for (unsigned i = 0; i < spec->n; i++) {
        if (strcmp(spec->kv[i].key, key) == 0)
            return spec->kv[i].value;
    }
    return NULL;
}

int pkt_spec_get_uint(const struct pkt_spec *spec, const char *key, uint64_t def, uint64_t min,
                      uint64_t max, uint64_t *out, char *err, size_t errlen)
{
    const char *v = pkt_spec_get(spec, key);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || end == v || *end || v[0] == '-' || x < min || x > max) {
        snprintf(err, errlen, "%s: %s=%s: expected a number from %llu to %llu", spec->type,
                 key, v, (unsigned long long)min, (unsigned long long)max);
        return -EINVAL;
    }
    *out = x;
    return 0;
}

int pkt_spec_check_keys(const struct pkt_spec *spec, const char *const *allowed, char *err,
                        size_t errlen)
{
    for (unsigned i = 0; i < spec->n; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok = ok || strcmp(*a, spec->kv[i].key) == 0;
        if (!ok) {
            size_t used = (size_t)snprintf(err, errlen, "%s: unknown option '%s' (takes:",
                                           spec->type, spec->kv[i].key);
            for (const char *const *a = allowed; *a && used < errlen; a++)
                used += (size_t)snprintf(err + used, errlen - used, " %s", *a);
            if (used < errlen)
                snprintf(err + used, errlen - used, ")");
            return -EINVAL;
        }
    }
    return 0;
}

int pkt_port_open(const char *text, uint16_t id, struct pkt_pool *pool, struct pkt_port **out,
                  char *err, size_t errlen)
{
    struct pkt_spec spec;
    int rc = pkt_spec_parse(text, &spec, err, errlen);
    if (rc < 0)
        return rc;
    const struct pkt_port_ops *ops = NULL;
    for (size_t i = 0; i < sizeof(port_types) / sizeof(port_types[0]); i++) {
        if (strcmp(port_types[i]->type, spec.type) == 0)
            ops = port_types[i];
    }
    if (!ops) {
        size_t used = (size_t)snprintf(err, errlen, "unknown port type '%s' (known:", spec.type);
        for (size_t i = 0; i < sizeof(port_types) / sizeof(port_types[0]) && used < errlen; i++)
            used += (size_t)snprintf(err + used, errlen - used, " %s", port_types[i]->type);
        if (used < errlen)
            snprintf(err + used, errlen - used, ")");
        return -EINVAL;
    }
    struct pkt_port *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->ops = ops;
    p->id = id;
    p->pool = pool;
    p->n_rxq = p->n_txq = 1;
    snprintf(p->name, sizeof(p->name), "%.*s", (int)sizeof(p->name) - 1, text);
    err[0] = 0;
    rc = ops->open(p, &spec, err, errlen);
    if (rc < 0) {
        if (!err[0])
            snprintf(err, errlen, "%s: %s", text, kk_strerror(rc));
        free(p);
        return rc;
    }
    KK_LOGI(pkt_log, "port %u: %s opened (%u rx / %u tx queues)", id, p->name, p->n_rxq,
            p->n_txq);
    *out = p;
    return 0;
}

void pkt_port_close(struct pkt_port *p)
{
    if (!p)
        return;
    p->ops->close(p);
    KK_LOGI(pkt_log, "port %u: %s closed", p->id, p->name);
    free(p);
}

void pkt_port_set_rx_borrow(struct pkt_port *p, bool on)
{
    p->rx_borrow = on && p->ops->rx_done != NULL;
}

bool pkt_port_can_borrow(const struct pkt_port *p)
{
    return p->ops->rx_done != NULL;
}

bool pkt_port_link_up(struct pkt_port *p)
{
    return p->ops->link_up ? p->ops->link_up(p) : true;
}

int pkt_port_rx_fd(struct pkt_port *p, uint16_t q)
{
    return p->ops->rx_fd && q < p->n_rxq ? p->ops->rx_fd(p, q) : -1;
}

bool pkt_port_rx_arm(struct pkt_port *p, uint16_t q, bool enable)
{
    return p->ops->rx_arm && q < p->n_rxq ? p->ops->rx_arm(p, q, enable) : false;
}

void pkt_port_stats(const struct pkt_port *p, struct pkt_queue_stats *rx,
                    struct pkt_queue_stats *tx)
{
    memset(rx, 0, sizeof(*rx));
    memset(tx, 0, sizeof(*tx));
    for (unsigned q = 0; q < PKT_PORT_MAX_QUEUES; q++) {
        rx->packets += __atomic_load_n(&p->rx[q].packets, __ATOMIC_RELAXED);
        rx->bytes += __atomic_load_n(&p->rx[q].bytes, __ATOMIC_RELAXED);
        rx->drops += __atomic_load_n(&p->rx[q].drops, __ATOMIC_RELAXED);
        rx->errors += __atomic_load_n(&p->rx[q].errors, __ATOMIC_RELAXED);
        tx->packets += __atomic_load_n(&p->tx[q].packets, __ATOMIC_RELAXED);
        tx->bytes += __atomic_load_n(&p->tx[q].bytes, __ATOMIC_RELAXED);
        tx->drops += __atomic_load_n(&p->tx[q].drops, __ATOMIC_RELAXED);
        tx->errors += __atomic_load_n(&p->tx[q].errors, __ATOMIC_RELAXED);
    }
}
