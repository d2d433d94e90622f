/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OpenFlow commands of `kvmkit ofctl`: each parses its arguments with
 * lib/openflow/ofp_parse.h, talks to the switch through ofctl_client.h and
 * prints replies with ofctl_print.c. Modifications are followed by a
 * BARRIER so that an OFPT_ERROR for them is seen before we exit; add-flows
 * parses the whole file, sends every flow-mod back to back and ends with
 * one BARRIER, reporting errors by line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kk_common.h"
#include "ofctl_internal.h"
#include "ofp_parse.h"
#include "ofp_print.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3

struct cmd_ctx {
    struct ofc c;
    const struct ofctl_options *o;
    /* port descriptions, fetched on the first name lookup */
    struct ofp_port *ports;
    size_t n_ports;
    bool have_ports;
    int errors;             /* OFPT_ERRORs seen */
    int conn_failed;        /* a transaction failed: exit 3 */
    /* add-flows: xid -> line */
    uint32_t *xids;
    unsigned *lines;
    size_t n_xids;
    const char *file;
};

static void print_error_other(struct ofc *c, const struct ofp_msg *m, void *aux)
{
    struct cmd_ctx *x = aux;
    (void)c;
    if (m->type != OFP_MSG_ERROR)
        return;
    x->errors++;
    if (x->n_xids) {
        /* add-flows: name the line */
        size_t lo = 0, hi = x->n_xids;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (x->xids[mid] < m->xid)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < x->n_xids && x->xids[lo] == m->xid)
            fprintf(stderr, "kvmkit ofctl: %s:%u: ", x->file, x->lines[lo]);
    }
    ofc_print_error(m, stderr);
}

/* ---- ports ---- */

struct ports_acc {
    struct cmd_ctx *x;
    int error;
};

static void add_ports(struct cmd_ctx *x, const struct ofp_port *p, size_t n)
{
    struct ofp_port *v = realloc(x->ports, (x->n_ports + n + 1) * sizeof(*v));
    if (!v)
        return;
    memcpy(v + x->n_ports, p, n * sizeof(*p));
    x->ports = v;
    x->n_ports += n;
}

static void on_ports(const struct ofp_msg *m, void *aux)
{
    struct ports_acc *a = aux;
    if (m->type == OFP_MSG_ERROR) {
        ofc_print_error(m, stderr);
        a->error = 1;
    } else if (m->type == OFP_MSG_FEATURES_REPLY) {
        add_ports(a->x, m->u.features.ports, m->u.features.n_ports);
    } else if (m->type == OFP_MSG_MULTIPART_REPLY && m->u.multipart.type == OFPMP_PORT_DESC) {
        add_ports(a->x, m->u.multipart.list.port_desc, m->u.multipart.n);
    }
}

static int fetch_ports(struct cmd_ctx *x)
{
    if (x->have_ports)
        return 0;
    struct ports_acc a = {x, 0};
    struct ofp_msg req = {.type = OFP_MSG_FEATURES_REQUEST};
    if (x->c.version != OFP10_VERSION) {
        req.type = OFP_MSG_MULTIPART_REQUEST;
        req.u.multipart.type = OFPMP_PORT_DESC;
    }
    int rc = ofc_transact(&x->c, &req, on_ports, &a);
    if (rc) {
        x->conn_failed = 1;
        return rc;
    }
    x->have_ports = true;
    return a.error ? -EPROTO : 0;
}

static int lookup_port(void *aux, const char *name, uint32_t *port_no)
{
    struct cmd_ctx *x = aux;
    int rc = fetch_ports(x);
    if (rc)
        return rc;
    for (size_t i = 0; i < x->n_ports; i++) {
        if (strncmp(x->ports[i].name, name, sizeof(x->ports[i].name)) == 0 &&
            strlen(name) <= sizeof(x->ports[i].name)) {
            *port_no = x->ports[i].port_no;
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- helpers ---- */

static int refused_text(const char *cmd, const char *err)
{
    fprintf(stderr, "kvmkit ofctl: %s: %s\n", cmd, err);
    return EXIT_REFUSED;
}

static void on_barrier(const struct ofp_msg *m, void *aux)
{
    struct cmd_ctx *x = aux;
    if (m->type == OFP_MSG_ERROR) {
        x->errors++;
        ofc_print_error(m, stderr);
    }
}

/* Queue @msg, then a BARRIER; wait for the barrier reply. Errors for @msg
 * arrive before it and are printed. */
static int send_and_barrier(struct cmd_ctx *x, struct ofp_msg *msg)
{
    struct ofp_error err;
    int rc = ofc_queue(&x->c, msg, &err);
    if (rc) {
        fprintf(stderr, "kvmkit ofctl: cannot encode %s: %s\n",
                ofp_msg_type_name(msg->type, x->c.version), ofp_err_name(err.err));
        return EXIT_REFUSED;
    }
    struct ofp_msg barrier = {.type = OFP_MSG_BARRIER_REQUEST};
    rc = ofc_transact(&x->c, &barrier, on_barrier, x);
    if (rc)
        return EXIT_UNREACHABLE;
    return x->errors ? EXIT_REFUSED : 0;
}

/* Print the reply header once ("OFPST_FLOW reply (OF1.3) (xid=0x2):"). */
struct dump {
    struct cmd_ctx *x;
    bool header;
    const char *name;       /* "OFPST_FLOW" */
    int error;
    /* collected lists (tables) */
    struct ofp_table_stats *tables;
    size_t n_tables;
    uint32_t filter;        /* dump-groups: one group, or OFPG_ALL */
    size_t n_ports;         /* dump-ports: count for the header; dump-meters: printed */
    struct ofp_port_stats *port_stats;
};

static void header(struct dump *d, const struct ofp_msg *m, const char *suffix)
{
    if (d->header)
        return;
    d->header = true;
    printf("%s reply%s (xid=0x%x):%s\n", d->name, ofc_version_tag(m->version), m->xid,
           suffix ? suffix : "");
}

static bool reply_error(struct dump *d, const struct ofp_msg *m)
{
    if (m->type != OFP_MSG_ERROR)
        return false;
    ofc_print_error(m, stderr);
    d->error = 1;
    return true;
}

static void on_flows(const struct ofp_msg *m, void *aux)
{
    struct dump *d = aux;
    if (reply_error(d, m))
        return;
    const struct ofp_multipart *mp = &m->u.multipart;
    if (mp->type == OFPMP_AGGREGATE) {
        printf("OFPST_AGGREGATE reply%s (xid=0x%x): packet_count=%" PRIu64 " byte_count=%" PRIu64
               " flow_count=%" PRIu32 "\n",
               ofc_version_tag(m->version), m->xid, mp->u.aggregate.packet_count,
               mp->u.aggregate.byte_count, mp->u.aggregate.flow_count);
        return;
    }
    if (!d->x->o->no_stats)  /* ovs-ofctl --no-stats prints no header either */
        header(d, m, NULL);
    for (size_t i = 0; i < mp->n; i++)
        ofctl_print_flow(&mp->list.flow[i], m->version, !d->x->o->no_stats);
}

static int run_dump(struct cmd_ctx *x, struct ofp_msg *req, struct dump *d,
                    void (*cb)(const struct ofp_msg *, void *))
{
    d->x = x;
    int rc = ofc_transact(&x->c, req, cb, d);
    ofp_msg_free(req);
    if (rc)
        return EXIT_UNREACHABLE;
    return d->error ? EXIT_REFUSED : 0;
}

static int cmd_dump_flows(struct cmd_ctx *x, int argc, char **argv, bool aggregate)
{
    struct ofp_msg req;
    char err[512];
    struct ofp_port_names names = {lookup_port, x};
    if (ofp_parse_flow_stats_request(argc ? argv[0] : "", x->c.version,
                                     aggregate ? OFPMP_AGGREGATE : OFPMP_FLOW, &names, &req, err,
                                     sizeof(err)))
        return x->conn_failed ? EXIT_UNREACHABLE : refused_text("flow filter", err);
    struct dump d = {.name = "OFPST_FLOW"};
    return run_dump(x, &req, &d, on_flows);
}

static enum ofp_flow_mod_command flow_command(const char *cmd, bool strict)
{
    if (strcmp(cmd, "add-flow") == 0 || strcmp(cmd, "add-flows") == 0)
        return OFPFC_ADD;
    if (strcmp(cmd, "mod-flows") == 0)
        return strict ? OFPFC_MODIFY_STRICT : OFPFC_MODIFY;
    return strict ? OFPFC_DELETE_STRICT : OFPFC_DELETE;
}

static int cmd_flow_mod(struct cmd_ctx *x, const char *cmd, int argc, char **argv)
{
    struct ofp_msg fm;
    char err[512];
    struct ofp_port_names names = {lookup_port, x};
    if (ofp_parse_flow_mod(argc ? argv[0] : "", x->c.version, flow_command(cmd, x->o->strict),
                           &names, &fm, err, sizeof(err)))
        return x->conn_failed ? EXIT_UNREACHABLE : refused_text(cmd, err);
    int rc = send_and_barrier(x, &fm);
    ofp_msg_free(&fm);
    return rc;
}

/* An add-flows line may start with a command, as in ovs-ofctl 3.x. */
static enum ofp_flow_mod_command line_command(char **s)
{
    static const struct {
        const char *word;
        enum ofp_flow_mod_command cmd;
    } words[] = {{"add", OFPFC_ADD},
                 {"modify", OFPFC_MODIFY},
                 {"modify_strict", OFPFC_MODIFY_STRICT},
                 {"delete", OFPFC_DELETE},
                 {"delete_strict", OFPFC_DELETE_STRICT}};
    for (size_t i = 0; i < KK_ARRAY_SIZE(words); i++) {
        size_t n = strlen(words[i].word);
        if (strncmp(*s, words[i].word, n) == 0 && (*s)[n] == ' ') {
            *s += n + 1;
            return words[i].cmd;
        }
    }
    return OFPFC_ADD;
}

static int cmd_add_flows(struct cmd_ctx *x, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "kvmkit ofctl: %s: %s\n", path, strerror(errno));
        return EXIT_REFUSED;
    }
    x->file = strcmp(path, "-") == 0 ? "stdin" : path;
    struct ofp_port_names names = {lookup_port, x};
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    ssize_t len;
    unsigned lineno = 0;
    int rc = 0, bad = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && strchr("\r\n \t", line[len - 1]))
            line[--len] = '\0';
        char *s = line + strspn(line, " \t");
        if (!*s || *s == '#')
            continue;
        enum ofp_flow_mod_command cmd = line_command(&s);
        struct ofp_msg fm;
        char err[512];
        if (ofp_parse_flow_mod(s, x->c.version, cmd, &names, &fm, err, sizeof(err))) {
            if (x->conn_failed) {
                rc = EXIT_UNREACHABLE;
                break;
            }
            fprintf(stderr, "kvmkit ofctl: %s:%u: %s\n", x->file, lineno, err);
            if (++bad >= 20)
                break;
            continue;
        }
        if (bad) {  /* only report further bad lines: nothing is sent */
            ofp_msg_free(&fm);
            continue;
        }
        struct ofp_error e;
        if (ofc_queue(&x->c, &fm, &e)) {
            fprintf(stderr, "kvmkit ofctl: %s:%u: cannot encode: %s\n", x->file, lineno,
                    ofp_err_name(e.err));
            bad++;
            ofp_msg_free(&fm);
            continue;
        }
        if (x->n_xids == alloc) {
            alloc = alloc ? alloc * 2 : 1024;
            uint32_t *xs = realloc(x->xids, alloc * sizeof(*xs));
            unsigned *ls = realloc(x->lines, alloc * sizeof(*ls));
            if (xs)
                x->xids = xs;
            if (ls)
                x->lines = ls;
            if (!xs || !ls) {
                fprintf(stderr, "kvmkit ofctl: out of memory\n");
                rc = EXIT_REFUSED;
                ofp_msg_free(&fm);
                break;
            }
        }
        x->xids[x->n_xids] = fm.xid;
        x->lines[x->n_xids++] = lineno;
        ofp_msg_free(&fm);
    }
    free(line);
    if (f != stdin)
        fclose(f);
    if (bad || rc) {
        /* as ovs-ofctl: a file with a bad line changes nothing */
        ofp_buf_clear(&x->c.out);
        x->c.out_off = 0;
        if (bad)
            fprintf(stderr, "kvmkit ofctl: %s: nothing was sent\n", x->file);
        return rc ? rc : EXIT_REFUSED;
    }
    struct ofp_msg barrier = {.type = OFP_MSG_BARRIER_REQUEST};
    if (ofc_transact(&x->c, &barrier, on_barrier, x))
        return EXIT_UNREACHABLE;
    return x->errors ? EXIT_REFUSED : 0;
}

/* ---- show, ports, tables ---- */

static void on_features(const struct ofp_msg *m, void *aux)
{
    struct dump *d = aux;
    if (reply_error(d, m))
        return;
    if (m->type == OFP_MSG_FEATURES_REPLY)
        ofctl_print_features(m);
    else if (m->type == OFP_MSG_GET_CONFIG_REPLY)
        ofctl_print_config(m);
}

static void on_port_desc(const struct ofp_msg *m, void *aux)
{
    struct dump *d = aux;
    if (reply_error(d, m))
        return;
    header(d, m, NULL);
    ofctl_print_ports(m->u.multipart.list.port_desc, m->u.multipart.n, m->version);
}

static int cmd_show(struct cmd_ctx *x)
{
    struct dump d = {.x = x};
    struct ofp_msg req = {.type = OFP_MSG_FEATURES_REQUEST};
    if (ofc_transact(&x->c, &req, on_features, &d))
        return EXIT_UNREACHABLE;
    if (x->c.version != OFP10_VERSION) {
        struct ofp_msg pd = {.type = OFP_MSG_MULTIPART_REQUEST};
        pd.u.multipart.type = OFPMP_PORT_DESC;
        struct dump pdd = {.x = x, .name = "OFPST_PORT_DESC"};
        if (ofc_transact(&x->c, &pd, on_port_desc, &pdd))
            return EXIT_UNREACHABLE;
        d.error |= pdd.error;
    }
    struct ofp_msg cfg = {.type = OFP_MSG_GET_CONFIG_REQUEST};
    if (ofc_transact(&x->c, &cfg, on_features, &d))
        return EXIT_UNREACHABLE;
    return d.error ? EXIT_REFUSED : 0;
}

static int cmd_port_desc(struct cmd_ctx *x)
{
    if (x->c.version == OFP10_VERSION) {
        /* 1.0 has no port-desc multipart: the features reply carries them */
        struct dump d = {.x = x};
        struct ofp_msg req = {.type = OFP_MSG_FEATURES_REQUEST};
        if (ofc_transact(&x->c, &req, on_features, &d))
            return EXIT_UNREACHABLE;
        return d.error ? EXIT_REFUSED : 0;
    }
    struct ofp_msg pd = {.type = OFP_MSG_MULTIPART_REQUEST};
    pd.u.multipart.type = OFPMP_PORT_DESC;
    struct dump d = {.name = "OFPST_PORT_DESC"};
    return run_dump(x, &pd, &d, on_port_desc);
}

static void on_port_stats(const struct ofp_msg *m, void *aux)
{
    struct dump *d = aux;
    if (reply_error(d, m))
        return;
    const struct ofp_multipart *mp = &m->u.multipart;
    struct ofp_port_stats *v = realloc(d->port_stats, (d->n_ports + mp->n + 1) * sizeof(*v));
    if (!v)
        return;
    memcpy(v + d->n_ports, mp->list.port, mp->n * sizeof(*v));
    d->port_stats = v;
    d->n_ports += mp->n;
    if (!(mp->flags & OFPMPF_MORE)) {
        char count[32];
        snprintf(count, sizeof(count), " %zu ports", d->n_ports);
        header(d, m, count);
        for (size_t i = 0; i < d->n_ports; i++)
            ofctl_print_port_stats(&d->port_stats[i], m->version);
    }
}

static int cmd_dump_ports(struct cmd_ctx *x, int argc, char **argv)
{
    uint32_t port = OFPP_ANY;
    char err[256];
    struct ofp_port_names names = {lookup_port, x};
    if (argc && ofp_parse_port(argv[0], x->c.version, &names, &port, err, sizeof(err)))
        return x->conn_failed ? EXIT_UNREACHABLE : refused_text("dump-ports", err);
    struct ofp_msg req = {.type = OFP_MSG_MULTIPART_REQUEST};
    req.u.multipart.type = OFPMP_PORT_STATS;
    req.u.multipart.u.port_no = port;
    struct dump d = {.name = "OFPST_PORT"};
    int rc = run_dump(x, &req, &d, on_port_stats);
    free(d.port_stats);
    return rc;
}

static void on_tables(const struct ofp_msg *m, void *aux)
{
    struct dump *d = aux;
    if (reply_error(d, m))
        return;
    const struct ofp_multipart *mp = &m->u.multipart;
    struct ofp_table_stats *v = realloc(d->tables, (d->n_tables + mp->n + 1) * sizeof(*v));
    if (!v)
        return;
    memcpy(v + d->n_tables, mp->list.table, mp->n * sizeof(*v));
    d->tables = v;
    d->n_tables += mp->n;
    if (!(mp->flags & OFPMPF_MORE)) {
        header(d, m, NULL);
        ofctl_print_tables(d->tables, d->n_tables, m->version);
    }
}

static int cmd_dump_tables(struct cmd_ctx *x)
{
    struct ofp_msg req = {.type = OFP_MSG_MULTIPART_REQUEST};
    req.u.multipart.type = OFPMP_TABLE;
    struct dump d = {.name = "OFPST_TABLE"};
    int rc = run_dump(x, &req, &d, on_tables);
    free(d.tables);
    return rc;
}

/* ---- groups and meters ---- */

static int parse_id(const char *cmd, const char *text, const char *prefix, uint32_t all,
                    uint32_t *id)
{
    size_t n = strlen(prefix);
    const char *v = strncmp(text, prefix, n) == 0 ? text + n : text;
    if (strcasecmp(v, "all") == 0) {
        *id = all;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long r = strtoull(v, &end, 0);
    if (errno || *end || end == v || r > UINT32_MAX || *v == '-') {
        fprintf(stderr, "kvmkit ofctl: %s: bad id '%s'\n", cmd, text);
        return -EINVAL;
    }
    *id = (uint32_t)r;
    return 0;
}

static void on_groups(const struct ofp_msg *m, void *aux)
{
    struct dump *d = aux;
    if (reply_error(d, m))
        return;
    const struct ofp_multipart *mp = &m->u.multipart;
    header(d, m, NULL);
    for (size_t i = 0; i < mp->n; i++) {
        if (mp->type == OFPMP_GROUP_DESC) {
            if (d->filter == OFPG_ALL || mp->list.group_desc[i].group_id == d->filter)
                ofctl_print_group_desc(&mp->list.group_desc[i]);
        } else {
            ofctl_print_group_stats(&mp->list.group[i]);
        }
    }
}

static int cmd_dump_groups(struct cmd_ctx *x, const char *cmd, int argc, char **argv)
{
    if (x->c.version == OFP10_VERSION)
        return refused_text(cmd, "groups need OpenFlow 1.3 (-O OpenFlow13)");
    uint32_t id = OFPG_ALL;
    if (argc && parse_id(cmd, argv[0], "group_id=", OFPG_ALL, &id))
        return EXIT_USAGE;
    bool stats = strcmp(cmd, "dump-group-stats") == 0;
    struct ofp_msg req = {.type = OFP_MSG_MULTIPART_REQUEST};
    req.u.multipart.type = stats ? OFPMP_GROUP : OFPMP_GROUP_DESC;
    if (stats)
        req.u.multipart.u.group_id = id;
    /* 1.3's group-desc request has no id: filter here */
    struct dump d = {.name = stats ? "OFPST_GROUP" : "OFPST_GROUP_DESC", .filter = id};
    return run_dump(x, &req, &d, on_groups);
}

static void on_meters(const struct ofp_msg *m, void *aux)
{
    struct dump *d = aux;
    if (reply_error(d, m))
        return;
    const struct ofp_multipart *mp = &m->u.multipart;
    header(d, m, NULL);
    for (size_t i = 0; i < mp->n; i++) {
        if (mp->type == OFPMP_METER_CONFIG) {
            if (d->n_ports++)  /* ovs-ofctl puts a blank line between meters */
                printf("\n");
            ofctl_print_meter_config(&mp->list.meter_config[i]);
        }
        else
            ofctl_print_meter_stats(&mp->list.meter[i]);
    }
}

static int cmd_dump_meters(struct cmd_ctx *x, const char *cmd, int argc, char **argv)
{
    if (x->c.version == OFP10_VERSION)
        return refused_text(cmd, "meters need OpenFlow 1.3 (-O OpenFlow13)");
    uint32_t id = OFPM_ALL;
    if (argc && parse_id(cmd, argv[0], "meter=", OFPM_ALL, &id))
        return EXIT_USAGE;
    bool stats = strcmp(cmd, "meter-stats") == 0;
    struct ofp_msg req = {.type = OFP_MSG_MULTIPART_REQUEST};
    req.u.multipart.type = stats ? OFPMP_METER : OFPMP_METER_CONFIG;
    req.u.multipart.u.meter_id = id;
    struct dump d = {.name = stats ? "OFPST_METER" : "OFPST_METER_CONFIG"};
    return run_dump(x, &req, &d, on_meters);
}

static int cmd_group_mod(struct cmd_ctx *x, const char *cmd, int argc, char **argv)
{
    enum ofp_group_mod_command gc = strcmp(cmd, "add-group") == 0   ? OFPGC_ADD
                                    : strcmp(cmd, "mod-group") == 0 ? OFPGC_MODIFY
                                                                    : OFPGC_DELETE;
    struct ofp_msg gm;
    char err[512];
    struct ofp_port_names names = {lookup_port, x};
    if (ofp_parse_group_mod(argc ? argv[0] : "", x->c.version, gc, &names, &gm, err,
                            sizeof(err)))
        return x->conn_failed ? EXIT_UNREACHABLE : refused_text(cmd, err);
    int rc = send_and_barrier(x, &gm);
    ofp_msg_free(&gm);
    return rc;
}

static int cmd_meter_mod(struct cmd_ctx *x, const char *cmd, int argc, char **argv)
{
    enum ofp_meter_mod_command mc = strcmp(cmd, "add-meter") == 0   ? OFPMC_ADD
                                    : strcmp(cmd, "mod-meter") == 0 ? OFPMC_MODIFY
                                                                    : OFPMC_DELETE;
    struct ofp_msg mm;
    char err[512];
    if (ofp_parse_meter_mod(argc ? argv[0] : "", x->c.version, mc, &mm, err, sizeof(err)))
        return refused_text(cmd, err);
    int rc = send_and_barrier(x, &mm);
    ofp_msg_free(&mm);
    return rc;
}

/* ---- packet-out, probe, snoop ---- */

static int cmd_packet_out(struct cmd_ctx *x, int argc, char **argv)
{
    /* "in_port=P packet=HEX actions=A", or the older IN_PORT ACTIONS
     * PACKET... (one packet-out per packet) */
    int rc = 0;
    for (int i = argc == 1 ? 0 : 2; rc == 0 && i < argc; i++) {
        char *text;
        if (argc == 1) {
            text = strdup(argv[0]);
        } else {
            size_t len = strlen(argv[0]) + strlen(argv[1]) + strlen(argv[i]) + 32;
            text = malloc(len);
            if (text)
                snprintf(text, len, "in_port=%s,packet=%s,actions=%s", argv[0], argv[i],
                         argv[1]);
        }
        if (!text)
            return EXIT_REFUSED;
        struct ofp_msg po;
        char err[512];
        struct ofp_port_names names = {lookup_port, x};
        if (ofp_parse_packet_out(text, x->c.version, &names, &po, err, sizeof(err))) {
            rc = x->conn_failed ? EXIT_UNREACHABLE : refused_text("packet-out", err);
        } else {
            rc = send_and_barrier(x, &po);
            ofp_msg_free(&po);
        }
        free(text);
    }
    return rc;
}

static void on_echo(const struct ofp_msg *m, void *aux)
{
    struct dump *d = aux;
    reply_error(d, m);
}

static int cmd_probe(struct cmd_ctx *x)
{
    struct ofp_msg req = {.type = OFP_MSG_ECHO_REQUEST};
    struct dump d = {.x = x};
    if (ofc_transact(&x->c, &req, on_echo, &d))
        return EXIT_UNREACHABLE;
    return d.error ? EXIT_REFUSED : 0;
}

static int cmd_snoop(struct cmd_ctx *x)
{
    char text[2048];
    ofp_msg_summary(&x->c.hello, text, sizeof(text));
    printf("%s\n", text);
    fflush(stdout);
    for (;;) {
        struct ofp_msg m;
        int rc = ofc_recv(&x->c, &m, -1);
        if (rc < 0)
            return rc == -EPIPE ? 0 : EXIT_UNREACHABLE;
        ofp_msg_summary(&m, text, sizeof(text));
        printf("%s\n", text);
        fflush(stdout);
        ofp_msg_free(&m);
    }
}

/* ---- table of commands ---- */

static const struct {
    const char *name;
    int min, max;   /* arguments after SWITCH */
} commands[] = {
    {"show", 0, 0},           {"dump-flows", 0, 1},      {"dump-aggregate", 0, 1},
    {"add-flow", 1, 1},       {"add-flows", 1, 1},       {"mod-flows", 1, 1},
    {"del-flows", 0, 1},      {"dump-ports", 0, 1},      {"dump-ports-desc", 0, 0},
    {"dump-port-desc", 0, 0}, {"dump-tables", 0, 0},     {"add-group", 1, 1},
    {"mod-group", 1, 1},      {"del-groups", 0, 1},      {"dump-groups", 0, 1},
    {"dump-group-stats", 0, 1}, {"add-meter", 1, 1},     {"mod-meter", 1, 1},
    {"del-meters", 0, 1},     {"dump-meters", 0, 1},     {"meter-stats", 0, 1},
    {"packet-out", 1, 64},    {"snoop", 0, 0},           {"probe", 0, 0},
};

bool ofctl_of_command_ok(const char *cmd, int n, bool *known)
{
    *known = false;
    for (size_t i = 0; i < KK_ARRAY_SIZE(commands); i++) {
        if (strcmp(cmd, commands[i].name) == 0) {
            *known = true;
            if (strcmp(cmd, "packet-out") == 0 && n == 2)
                return false;
            return n >= commands[i].min && n <= commands[i].max;
        }
    }
    return false;
}

int ofctl_of_run(const char *target, const struct ofctl_options *o, const char *cmd, int argc,
                 char **argv)
{
    struct cmd_ctx x;
    memset(&x, 0, sizeof(x));
    x.o = o;
    if (ofc_open(&x.c, target, o->versions, o->timeout_ms) != 0)
        return EXIT_UNREACHABLE;
    x.c.on_other = print_error_other;
    x.c.other_aux = &x;
    int rc;
    if (strcmp(cmd, "show") == 0)
        rc = cmd_show(&x);
    else if (strcmp(cmd, "dump-flows") == 0 || strcmp(cmd, "dump-aggregate") == 0)
        rc = cmd_dump_flows(&x, argc, argv, cmd[5] == 'a');
    else if (strcmp(cmd, "add-flows") == 0)
        rc = cmd_add_flows(&x, argv[0]);
    else if (strcmp(cmd, "add-flow") == 0 || strcmp(cmd, "mod-flows") == 0 ||
             strcmp(cmd, "del-flows") == 0)
        rc = cmd_flow_mod(&x, cmd, argc, argv);
    else if (strcmp(cmd, "dump-ports") == 0)
        rc = cmd_dump_ports(&x, argc, argv);
    else if (strcmp(cmd, "dump-ports-desc") == 0 || strcmp(cmd, "dump-port-desc") == 0)
        rc = cmd_port_desc(&x);
    else if (strcmp(cmd, "dump-tables") == 0)
        rc = cmd_dump_tables(&x);
    else if (strcmp(cmd, "add-group") == 0 || strcmp(cmd, "mod-group") == 0 ||
             strcmp(cmd, "del-groups") == 0)
        rc = cmd_group_mod(&x, cmd, argc, argv);
    else if (strcmp(cmd, "dump-groups") == 0 || strcmp(cmd, "dump-group-stats") == 0)
        rc = cmd_dump_groups(&x, cmd, argc, argv);
    else if (strcmp(cmd, "add-meter") == 0 || strcmp(cmd, "mod-meter") == 0 ||
             strcmp(cmd, "del-meters") == 0)
        rc = cmd_meter_mod(&x, cmd, argc, argv);
    else if (strcmp(cmd, "dump-meters") == 0 || strcmp(cmd, "meter-stats") == 0)
        rc = cmd_dump_meters(&x, cmd, argc, argv);
    else if (strcmp(cmd, "packet-out") == 0)
        rc = cmd_packet_out(&x, argc, argv);
    else if (strcmp(cmd, "snoop") == 0)
        rc = cmd_snoop(&x);
    else if (strcmp(cmd, "probe") == 0)
        rc = cmd_probe(&x);
    else
        rc = EXIT_USAGE;
    fflush(stdout);
    ofc_close(&x.c);
    free(x.ports);
    free(x.xids);
    free(x.lines);
    return rc;
}
