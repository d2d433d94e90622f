/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_status.c — `kvmkit host status`: what the host's parts say, in one
 * table. Each sample reads
 *   - each VM's console (the workload prints "KVMKIT-HOST seq=N link=up
 *     peer=RTT host=RTT" once a second, and the disk's marker file) and
 *     whether its QEMU runs;
 *   - kvmkit-switchd: ports and links (port.list), per-port packets and
 *     bytes (OpenFlow port statistics on <bridge>.mgmt: switchd's JSON-RPC
 *     has no per-port counters), megaflows (dpif.dump_flows) and cache hits
 *     (pmd.stats);
 *   - kvmkit-blkd: per-disk operations and bytes (bdev_stats), connection
 *     state (export_list).
 * Rates (IOPS, packets/s) are deltas between two samples: `status` alone
 * takes two, a second apart; `--watch` one per interval.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "ofp_actions.h"
#include "ofp_msg.h"
#include "switch/ofctl_client.h"

#define MAX_PORTS 64

struct vm_sample {
    bool qemu;           /* QEMU runs */
    bool ready;          /* the guest started its script */
    bool exited;         /* ... and it ended */
    char link[16];
    char marker[160];    /* what the guest read, "" if not (yet) */
    bool marker_failed;
    bool fio;
    long seq;
    double peer_last, host_last;       /* ms; < 0 lost, NAN none */
    long peer_sent, peer_ok, host_sent, host_ok;
    double peer_sum, host_sum;
};

struct port_sample {
    char bridge[HOST_NAMELEN], name[32], type[24];
    int ofport;
    bool link_up;
    bool have_stats;
    uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
};

struct disk_sample {
    bool have;
    bool connected;
    uint64_t reads, writes, flushes, read_bytes, write_bytes;
};

struct sample {
    double t;
    bool switchd, blkd;
    struct vm_sample vms[HOST_MAX_VMS];
    struct port_sample ports[MAX_PORTS];
    int n_ports;
    struct disk_sample disks[HOST_MAX_DISKS];
    long megaflows;
    uint64_t packets, simple_hits, emc_hits, mfc_hits, upcalls;
};

/* ---- VMs: the console ---- */

static double rtt_value(const char *v)
{
    if (!v || strcmp(v, "none") == 0)
        return NAN;
    if (strcmp(v, "-") == 0)
        return -1;
    return strtod(v, NULL);
}

/* Loss counts from the first answer: a peer still booting is not loss. */
static void rtt_count(double r, double *last, long *sent, long *ok, double *sum)
{
    *last = r;
    if (isnan(r) || (r < 0 && *ok == 0))
        return;
    (*sent)++;
    if (r >= 0) {
        (*ok)++;
        *sum += r;
    }
}

static const char *field(const char *line, const char *key, char *out, size_t size)
{
    const char *p = strstr(line, key);
    if (!p)
        return NULL;
    p += strlen(key);
    size_t n = strcspn(p, " \r\n");
    snprintf(out, size, "%.*s", (int)n, p);
    return out;
}

static void sample_vm(const struct host_config *c, int i, struct vm_sample *s)
{
    char p[1024], line[1024];
    memset(s, 0, sizeof(*s));
    s->peer_last = s->host_last = NAN;
    snprintf(p, sizeof(p), "%s/%s/qemu.pid", c->dir, c->vms[i].name);
    s->qemu = host_pid_alive(p, c->dir) != 0;
    snprintf(p, sizeof(p), "%s/%s/console.log", c->dir, c->vms[i].name);
    FILE *f = fopen(p, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char v[64];
        if (strstr(line, "KVMKIT-GUEST-READY"))
            s->ready = true;
        else if (strstr(line, "KVMKIT-GUEST-EXIT"))
            s->exited = true;
        else if (strncmp(line, "KVMKIT-HOST-MARKER ", 19) == 0) {
            host_copy(s->marker, sizeof(s->marker), line + 19);
            s->marker[strcspn(s->marker, "\r\n")] = 0;
        } else if (strncmp(line, "KVMKIT-HOST-MARKER-FAILED", 25) == 0)
            s->marker_failed = true;
        else if (strncmp(line, "KVMKIT-HOST-FIO", 15) == 0)
            s->fio = true;
        else if (strncmp(line, "KVMKIT-HOST seq=", 16) == 0) {
            s->seq = strtol(line + 16, NULL, 10);
            if (field(line, " link=", v, sizeof(v)))
                host_copy(s->link, sizeof(s->link), v);
            rtt_count(rtt_value(field(line, " peer=", v, sizeof(v))), &s->peer_last,
                      &s->peer_sent, &s->peer_ok, &s->peer_sum);
            rtt_count(rtt_value(field(line, " host=", v, sizeof(v))), &s->host_last,
                      &s->host_sent, &s->host_ok, &s->host_sum);
        }
    }
    fclose(f);
}

/* ---- the switch ---- */

struct stats_reply {
    struct sample *s;
    const char *bridge;
    bool error;
};

static void on_port_stats(const struct ofp_msg *m, void *aux)
{
    struct stats_reply *r = aux;
    if (m->type != OFP_MSG_MULTIPART_REPLY) {
        r->error = true;
        return;
    }
    const struct ofp_multipart *mp = &m->u.multipart;
    for (size_t i = 0; i < mp->n; i++) {
        const struct ofp_port_stats *ps = &mp->list.port[i];
        for (int k = 0; k < r->s->n_ports; k++) {
            struct port_sample *p = &r->s->ports[k];
            if (strcmp(p->bridge, r->bridge) == 0 && (uint32_t)p->ofport == ps->port_no) {
                p->have_stats = true;
                p->rx_packets = ps->rx_packets;
                p->tx_packets = ps->tx_packets;
                p->rx_bytes = ps->rx_bytes;
                p->tx_bytes = ps->tx_bytes;
            }
        }
    }
}

static void port_stats(const struct host_config *c, const char *bridge, struct sample *s)
{
    char target[1100];
    snprintf(target, sizeof(target), "unix:%s/%s.mgmt", c->dir, bridge);
    struct ofc conn;
    memset(&conn, 0, sizeof(conn));
    /* ofc_open explains a failure on stderr; the table shows "-" anyway. */
    FILE *saved = stderr;
    FILE *null = fopen("/dev/null", "w");
    if (null)
        stderr = null;
    int rc = ofc_open(&conn, target, 1u << 0x04, 2000);
    stderr = saved;
    if (null)
        fclose(null);
    if (rc != 0)
        return;
    struct ofp_msg req = {.type = OFP_MSG_MULTIPART_REQUEST};
    req.u.multipart.type = OFPMP_PORT_STATS;
    req.u.multipart.u.port_no = OFPP_ANY;
    struct stats_reply r = {s, bridge, false};
    ofc_transact(&conn, &req, on_port_stats, &r);
    ofc_close(&conn);
}

static uint64_t u64(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v)
                                                            : 0;
}

static void sample_switch(const struct host_config *c, struct sample *s)
{
    char sock[1024];
    snprintf(sock, sizeof(sock), "%s/switchd.sock", c->dir);
    json_t *res;
    s->switchd = host_rpc(sock, "daemon.info", NULL, NULL, true) == 0;
    if (!s->switchd)
        return;
    for (int b = 0; b < c->n_bridges; b++) {
        if (host_rpc(sock, "port.list", json_pack("{s:s}", "bridge", c->bridges[b].name), &res,
                     true) < 0)
            continue;
        json_t *list = json_is_array(res) ? res : json_object_get(res, "ports");
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p) {
            if (s->n_ports == MAX_PORTS)
                break;
            struct port_sample *ps = &s->ports[s->n_ports++];
            memset(ps, 0, sizeof(*ps));
            snprintf(ps->bridge, sizeof(ps->bridge), "%s", c->bridges[b].name);
            const char *name = json_string_value(json_object_get(p, "name"));
            const char *type = json_string_value(json_object_get(p, "type"));
            snprintf(ps->name, sizeof(ps->name), "%s", name ? name : "?");
            snprintf(ps->type, sizeof(ps->type), "%s", type ? type : "?");
            ps->ofport = (int)json_integer_value(json_object_get(p, "ofport"));
            ps->link_up = json_is_true(json_object_get(p, "link_up"));
        }
        json_decref(res);
        port_stats(c, c->bridges[b].name, s);
    }
    if (host_rpc(sock, "dpif.dump_flows", NULL, &res, true) == 0) {
        json_t *flows = json_is_array(res) ? res : json_object_get(res, "flows");
        s->megaflows = (long)json_array_size(flows);
        json_decref(res);
    }
    if (host_rpc(sock, "pmd.stats", NULL, &res, true) == 0) {
        size_t i;
        json_t *p;
        json_array_foreach(res, i, p) {
            s->packets += u64(p, "packets");
            s->simple_hits += u64(p, "simple_hits");
            s->emc_hits += u64(p, "emc_hits");
            s->mfc_hits += u64(p, "mfc_hits");
            s->upcalls += u64(p, "upcalls");
        }
        json_decref(res);
    }
}

/* ---- storage ---- */

static void sample_storage(const struct host_config *c, struct sample *s)
{
    char sock[1024];
    snprintf(sock, sizeof(sock), "%s/blkd.sock", c->dir);
    json_t *exports = NULL;
    s->blkd = host_rpc(sock, "export_list", NULL, &exports, true) == 0;
    if (!s->blkd)
        return;
    for (int i = 0; i < c->n_disks; i++) {
        struct disk_sample *d = &s->disks[i];
        json_t *res;
        if (host_rpc(sock, "bdev_stats", json_pack("{s:s}", "name", c->disks[i].name), &res,
                     true) < 0)
            continue;
        json_t *ops = json_object_get(res, "ops"), *bytes = json_object_get(res, "bytes");
        d->have = true;
        d->reads = u64(ops, "read");
        d->writes = u64(ops, "write");
        d->flushes = u64(ops, "flush");
        d->read_bytes = u64(bytes, "read");
        d->write_bytes = u64(bytes, "write");
        json_decref(res);
        size_t k;
        json_t *e;
        json_array_foreach(exports, k, e) {
            const char *id = json_string_value(json_object_get(e, "id"));
            if (id && strcmp(id, c->disks[i].name) == 0)
                d->connected =
                    json_is_true(json_object_get(json_object_get(e, "state"), "connected"));
        }
    }
    json_decref(exports);
}

static void take_sample(const struct host_config *c, struct sample *s)
{
    memset(s, 0, sizeof(*s));
    s->t = host_now();
    for (int i = 0; i < c->n_vms; i++)
        sample_vm(c, i, &s->vms[i]);
    sample_switch(c, s);
    sample_storage(c, s);
}

/* ---- output ---- */

static const char *human(uint64_t v, char *buf, size_t size)
{
    const char *units = " KMGT";
    double d = (double)v;
    int u = 0;
    while (d >= 1000 && u < 4) {
        d /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu", (unsigned long long)v);
    else
        snprintf(buf, size, "%.1f%c", d, units[u]);
    return buf;
}

static const char *ms(double v, char *buf, size_t size)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else if (v < 0)
        snprintf(buf, size, "lost");
    else
        snprintf(buf, size, "%.2f", v);
    return buf;
}

static const char *loss(long sent, long ok, char *buf, size_t size)
{
    if (!sent)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%ld%%", (sent - ok) * 100 / sent);
    return buf;
}

static const char *vm_state(const struct vm_sample *v)
{
    if (!v->qemu)
        return v->exited ? "exited" : "stopped";
    if (v->seq || v->exited)
        return v->exited ? "done" : "running";
    return v->ready ? "starting" : "booting";
}

static const char *marker_state(const struct host_config *c, int i, const struct vm_sample *v)
{
    const struct host_vm *vm = &c->vms[i];
    if (!vm->disk[0])
        return "-";
    if (v->marker_failed)
        return "no fs";
    if (!v->marker[0])
        return "...";
    for (int k = 0; k < c->n_disks; k++)
        if (strcmp(c->disks[k].name, vm->disk) == 0)
            return strcmp(c->disks[k].marker, v->marker) == 0 ? "ok" : "WRONG";
    return "?";
}

static void print_text(FILE *o, const struct host_config *c, const json_t *state,
                       const struct sample *s, const struct sample *prev, bool summary)
{
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32];
    json_int_t started = json_integer_value(json_object_get(state, "started"));
    long up = started ? (long)(time(NULL) - started) : 0;
    fprintf(o, "kvmkit host %s  up %lds  accel %s  switchd %s  blkd %s\n", c->dir, up,
            json_string_value(json_object_get(state, "accel"))
                ? json_string_value(json_object_get(state, "accel"))
                : "?",
            s->switchd ? "running" : "DOWN", s->blkd ? "running" : "DOWN");

    fprintf(o, "\n%-8s %-9s %-5s %-15s %8s %5s %-15s %8s %5s %-8s %s\n", "VM", "state",
            "link", "peer", summary ? "avg ms" : "RTT ms", "loss", "host", summary ? "avg ms"
                                                                                : "RTT ms",
            "loss", "disk", "marker");
    for (int i = 0; i < c->n_vms; i++) {
        const struct host_vm *vm = &c->vms[i];
        const struct vm_sample *v = &s->vms[i];
        char host_ip[32] = "-";
        for (int b = 0; b < c->n_bridges; b++)
            if (strcmp(c->bridges[b].name, vm->bridge) == 0 && c->bridges[b].has_host_port &&
                vm->tag == 0)
                host_addr_ip(c->bridges[b].host_address, host_ip, sizeof(host_ip));
        double peer = summary ? (v->peer_ok ? v->peer_sum / (double)v->peer_ok
                                            : (v->peer_sent ? -1 : NAN))
                              : v->peer_last;
        double host = summary ? (v->host_ok ? v->host_sum / (double)v->host_ok
                                            : (v->host_sent ? -1 : NAN))
                              : v->host_last;
        fprintf(o, "%-8s %-9s %-5s %-15s %8s %5s %-15s %8s %5s %-8s %s\n", vm->name,
                vm_state(v), v->link[0] ? v->link : "-", vm->peer[0] ? vm->peer : "-",
                ms(peer, b1, sizeof(b1)), loss(v->peer_sent, v->peer_ok, b2, sizeof(b2)),
                host_ip, ms(host, b3, sizeof(b3)),
                loss(v->host_sent, v->host_ok, b4, sizeof(b4)), vm->disk[0] ? vm->disk : "-",
                marker_state(c, i, v));
    }

    double dt = prev ? s->t - prev->t : 0;
    fprintf(o, "\n%-8s %-10s %-18s %-4s %9s %9s %9s %9s", "bridge", "port", "type", "link",
            "rx pkts", "tx pkts", "rx bytes", "tx bytes");
    fprintf(o, dt > 0 ? " %8s %8s\n" : "\n", "rx pps", "tx pps");
    for (int i = 0; i < s->n_ports; i++) {
        const struct port_sample *p = &s->ports[i];
        fprintf(o, "%-8s %-10s %-18s %-4s", p->bridge, p->name, p->type,
                p->link_up ? "up" : "down");
        if (!p->have_stats) {
            fprintf(o, " %9s %9s %9s %9s\n", "-", "-", "-", "-");
            continue;
        }
        fprintf(o, " %9s %9s %9s %9s", human(p->rx_packets, b1, sizeof(b1)),
                human(p->tx_packets, b2, sizeof(b2)), human(p->rx_bytes, b3, sizeof(b3)),
                human(p->tx_bytes, b4, sizeof(b4)));
        const struct port_sample *q = NULL;
        for (int k = 0; prev && k < prev->n_ports; k++)
            if (strcmp(prev->ports[k].name, p->name) == 0 &&
                strcmp(prev->ports[k].bridge, p->bridge) == 0 && prev->ports[k].have_stats)
                q = &prev->ports[k];
        if (dt > 0 && q)
            fprintf(o, " %8.0f %8.0f", (double)(p->rx_packets - q->rx_packets) / dt,
                    (double)(p->tx_packets - q->tx_packets) / dt);
        fputc('\n', o);
    }
    uint64_t hits = s->simple_hits + s->emc_hits + s->mfc_hits;
    fprintf(o, "datapath: %ld megaflows, %s packets, cache hits %.1f%% (simple match %.1f%%, "
               "EMC %.1f%%, megaflow %.1f%%), %s upcalls\n",
            s->megaflows, human(s->packets, b1, sizeof(b1)),
            s->packets ? 100.0 * (double)hits / (double)s->packets : 0.0,
            s->packets ? 100.0 * (double)s->simple_hits / (double)s->packets : 0.0,
            s->packets ? 100.0 * (double)s->emc_hits / (double)s->packets : 0.0,
            s->packets ? 100.0 * (double)s->mfc_hits / (double)s->packets : 0.0,
            human(s->upcalls, b2, sizeof(b2)));

    json_t *ready = json_object_get(state, "ready");
    json_int_t ready_t = json_integer_value(json_object_get(ready, "time"));
    long since = ready_t ? (long)(time(NULL) - ready_t) : up;
    if (summary)
        fprintf(o, "\n%-8s %-10s %15s %9s %9s %9s %9s\n", "disk", "export", "avg IOPS (r+w)",
                "reads", "writes", "read B", "written B");
    else
        fprintf(o, "\n%-8s %-10s %7s %7s %9s %9s %9s %9s\n", "disk", "export", "r IOPS",
                "w IOPS", "reads", "writes", "read B", "written B");
    for (int i = 0; i < c->n_disks; i++) {
        const struct disk_sample *d = &s->disks[i];
        const struct disk_sample *q = prev ? &prev->disks[i] : NULL;
        if (!d->have) {
            fprintf(o, "%-8s %-10s\n", c->disks[i].name, "-");
            continue;
        }
        double r = 0, w = 0;
        if (summary && since > 0) {
            json_t *base = json_object_get(json_object_get(ready, "disk_ops"),
                                           c->disks[i].name);
            double ops = (double)(d->reads + d->writes - (uint64_t)json_integer_value(base));
            fprintf(o, "%-8s %-10s %15.0f %9s %9s %9s %9s\n", c->disks[i].name,
                    d->connected ? "connected" : "waiting", ops / (double)since,
                    human(d->reads, b1, sizeof(b1)), human(d->writes, b2, sizeof(b2)),
                    human(d->read_bytes, b5, sizeof(b5)), human(d->write_bytes, b6, sizeof(b6)));
            continue;
        } else if (q && q->have && dt > 0) {
            r = (double)(d->reads - q->reads) / dt;
            w = (double)(d->writes - q->writes) / dt;
        }
        fprintf(o, "%-8s %-10s %7.0f %7.0f %9s %9s %9s %9s\n", c->disks[i].name,
                d->connected ? "connected" : "waiting", r, w, human(d->reads, b1, sizeof(b1)),
                human(d->writes, b2, sizeof(b2)), human(d->read_bytes, b5, sizeof(b5)),
                human(d->write_bytes, b6, sizeof(b6)));
    }
    if (summary)
        fprintf(o, "(RTT: averages and loss since the first answer; IOPS: averaged over the "
                   "%lds since the guests were up)\n", since);
}

/* One line per second when stdout is not a terminal. */
static void print_line(FILE *o, const struct host_config *c, const json_t *state,
                       const struct sample *s, const struct sample *prev)
{
    char b1[32], b2[32];
    json_int_t started = json_integer_value(json_object_get(state, "started"));
    fprintf(o, "t=%lds", started ? (long)(time(NULL) - started) : 0L);
    for (int i = 0; i < c->n_vms; i++) {
        const struct vm_sample *v = &s->vms[i];
        fprintf(o, " | %s %s link=%s peer=%s host=%s", c->vms[i].name, vm_state(v),
                v->link[0] ? v->link : "-", ms(v->peer_last, b1, sizeof(b1)),
                ms(v->host_last, b2, sizeof(b2)));
    }
    double dt = prev ? s->t - prev->t : 0;
    for (int i = 0; i < c->n_disks; i++) {
        const struct disk_sample *d = &s->disks[i], *q = prev ? &prev->disks[i] : NULL;
        double iops = q && dt > 0 ? (double)(d->reads + d->writes - q->reads - q->writes) / dt
                                  : 0;
        fprintf(o, " | %s %.0f IOPS", c->disks[i].name, iops);
    }
    uint64_t hits = s->simple_hits + s->emc_hits + s->mfc_hits;
    fprintf(o, " | %ld megaflows, hits %.1f%%\n", s->megaflows,
            s->packets ? 100.0 * (double)hits / (double)s->packets : 0.0);
    fflush(o);
}

static json_t *sample_json(const struct host_config *c, const json_t *state,
                           const struct sample *s, const struct sample *prev)
{
    double dt = prev ? s->t - prev->t : 0;
    json_t *vms = json_array(), *ports = json_array(), *disks = json_array();
    for (int i = 0; i < c->n_vms; i++) {
        const struct vm_sample *v = &s->vms[i];
        json_t *j = json_pack(
            "{s:s, s:s, s:b, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:b}", "name", c->vms[i].name,
            "state", vm_state(v), "qemu", v->qemu, "link", v->link, "reports", (json_int_t)v->seq,
            "marker", marker_state(c, i, v), "peer_sent", (json_int_t)v->peer_sent, "peer_ok",
            (json_int_t)v->peer_ok, "host_sent", (json_int_t)v->host_sent, "host_ok",
            (json_int_t)v->host_ok, "fio", v->fio);
        json_object_set_new(j, "peer_rtt_ms",
                            v->peer_last >= 0 ? json_real(v->peer_last) : json_null());
        json_object_set_new(j, "host_rtt_ms",
                            v->host_last >= 0 ? json_real(v->host_last) : json_null());
        json_object_set_new(j, "peer_rtt_avg_ms",
                            v->peer_ok ? json_real(v->peer_sum / (double)v->peer_ok)
                                       : json_null());
        json_object_set_new(j, "host_rtt_avg_ms",
                            v->host_ok ? json_real(v->host_sum / (double)v->host_ok)
                                       : json_null());
        json_array_append_new(vms, j);
    }
    for (int i = 0; i < s->n_ports; i++) {
        const struct port_sample *p = &s->ports[i];
        json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:b}", "bridge", p->bridge, "name", p->name,
                              "type", p->type, "ofport", p->ofport, "link_up", p->link_up);
        if (p->have_stats) {
            json_object_set_new(j, "rx_packets", json_integer((json_int_t)p->rx_packets));
            json_object_set_new(j, "tx_packets", json_integer((json_int_t)p->tx_packets));
            json_object_set_new(j, "rx_bytes", json_integer((json_int_t)p->rx_bytes));
            json_object_set_new(j, "tx_bytes", json_integer((json_int_t)p->tx_bytes));
        }
        json_array_append_new(ports, j);
    }
    for (int i = 0; i < c->n_disks; i++) {
        const struct disk_sample *d = &s->disks[i], *q = prev ? &prev->disks[i] : NULL;
        json_t *j = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I}", "name", c->disks[i].name,
                              "connected", d->connected, "reads", (json_int_t)d->reads,
                              "writes", (json_int_t)d->writes, "flushes",
                              (json_int_t)d->flushes, "read_bytes", (json_int_t)d->read_bytes,
                              "write_bytes", (json_int_t)d->write_bytes);
        json_object_set_new(j, "iops",
                            json_real(q && dt > 0 ? (double)(d->reads + d->writes - q->reads -
                                                             q->writes) / dt
                                                  : 0));
        json_array_append_new(disks, j);
    }
    return json_pack("{s:s, s:O, s:O, s:b, s:b, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
                     "dir", c->dir, "started", json_object_get(state, "started"), "accel",
                     json_object_get(state, "accel"), "switchd", s->switchd, "blkd", s->blkd,
                     "vms", vms, "ports", ports, "disks", disks, "datapath", "megaflows",
                     (json_int_t)s->megaflows, "packets", (json_int_t)s->packets,
                     "simple_hits", (json_int_t)s->simple_hits, "emc_hits",
                     (json_int_t)s->emc_hits, "mfc_hits", (json_int_t)s->mfc_hits, "upcalls",
                     (json_int_t)s->upcalls);
}

int host_mark_ready(const struct host_config *c)
{
    struct sample *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    sample_storage(c, s);
    char path[1024], tmp[1100];
    host_path(path, sizeof(path), c->dir, "host.json", NULL);
    host_path(tmp, sizeof(tmp), c->dir, "host.json", ".tmp");
    json_t *state = json_load_file(path, 0, NULL);
    json_t *disks = json_object();
    for (int i = 0; i < c->n_disks; i++)
        json_object_set_new(disks, c->disks[i].name,
                            json_integer((json_int_t)(s->disks[i].reads + s->disks[i].writes)));
    json_object_set_new(state, "ready", json_pack("{s:I, s:o}", "time", (json_int_t)time(NULL),
                                                  "disk_ops", disks));
    int rc = json_dump_file(state, tmp, JSON_INDENT(2)) == 0 && rename(tmp, path) == 0
                 ? 0
                 : -EIO;
    json_decref(state);
    free(s);
    return rc;
}

static volatile sig_atomic_t stop_watch;
static void on_signal(int sig)
{
    (void)sig;
    stop_watch = 1;
}

int host_status(const char *dir, const struct host_status_opts *o)
{
    struct host_config c;
    json_t *state;
    int rc = host_state_load(dir, &c, &state);
    if (rc < 0)
        return rc;
    struct sample *cur = calloc(1, sizeof(*cur)), *prev = calloc(1, sizeof(*prev));
    if (!cur || !prev) {
        free(cur);
        free(prev);
        json_decref(state);
        return -ENOMEM;
    }
    if (!o->watch) {
        take_sample(&c, prev);
        if (!o->summary && (prev->switchd || prev->blkd))
            usleep(1000000);
        take_sample(&c, cur);
        if (o->json) {
            json_t *j = sample_json(&c, state, cur, prev);
            json_dumpf(j, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
            json_decref(j);
        } else {
            print_text(stdout, &c, state, cur, o->summary ? NULL : prev, o->summary);
        }
        rc = cur->switchd || cur->blkd ? 0 : -ENOTCONN;
        goto out;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    bool tty = isatty(STDOUT_FILENO) && !o->json;
    double start = host_now();
    bool have_prev = false;
    while (!stop_watch) {
        take_sample(&c, cur);
        if (o->json) {
            json_t *j = sample_json(&c, state, cur, have_prev ? prev : NULL);
            json_dumpf(j, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            fflush(stdout);
            json_decref(j);
        } else if (tty) {
            char *text = NULL;
            size_t len = 0;
            FILE *m = open_memstream(&text, &len);
            print_text(m, &c, state, cur, have_prev ? prev : NULL, false);
            fprintf(m, "\n(refreshed every %.0f s; Ctrl-C stops", o->interval_s);
            if (o->duration_s > 0)
                fprintf(m, ", %.0f s left", o->duration_s - (host_now() - start));
            fprintf(m, ")\n");
            fclose(m);
            /* Home, draw, clear what the last screen left below. */
            fputs("\033[H", stdout);
            for (char *l = text, *nl; l && *l; l = nl) {
                nl = strchr(l, '\n');
                if (nl)
                    *nl++ = 0;
                printf("%s\033[K\n", l);
                if (!nl)
                    break;
            }
            fputs("\033[J", stdout);
            fflush(stdout);
            free(text);
        } else {
            print_line(stdout, &c, state, cur, have_prev ? prev : NULL);
        }
        struct sample *t = prev;
        prev = cur;
        cur = t;
        have_prev = true;
        if (o->duration_s > 0 && host_now() - start >= o->duration_s)
            break;
        double next = prev->t + o->interval_s;
        while (!stop_watch && host_now() < next)
            usleep(50000);
        if (o->duration_s > 0 && host_now() - start >= o->duration_s + 0.01)
            break;
    }
    rc = 0;
out:
    free(cur);
    free(prev);
    json_decref(state);
    return rc;
}
