/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofagent.c — a bridge's OpenFlow agent (see ofagent.h).
 *
 * Layout: sessions (one per UP channel, or a capture buffer for
 * sw_ofagent_handle), sending with the snoop copy, the request handlers by
 * message type (multipart replies: ofagent_mp.c), asynchronous messages,
 * controllers and listeners, fail mode.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "kk_log.h"
#include "kk_reactor.h"
#include "ofagent.h"
#include "ofagent_internal.h"
#include "ofconv.h"
#include "ofp_msg.h"
#include "ofp_print.h"
#include "pkt_proto.h"

KK_LOG_COMPONENT(ofagent_log, "ofagent");

/* ---- sending -------------------------------------------------------------- */

static bool role_is_slave(const struct session *s)
{
    return s->c && ofp_conn_role(s->c) == OFP_CONN_ROLE_SLAVE;
}

static void snoop_copy(struct sw_ofagent *a, const void *msg, size_t len)
{
    if (!a->n_snoopers)
        return;
    for (struct session *s = a->sessions; s; s = s->next)
        if (s->snoop && s->c)
            ofp_conn_send_droppable(s->c, msg, len);
}

static int raw_send(struct session *s, const void *msg, size_t len, bool droppable)
{
    if (s->capture) {
        size_t at = s->capture->len;
        if (at + len > s->capture->cap) {
            size_t cap = s->capture->cap ? s->capture->cap : 4096;
            while (cap < at + len)
                cap *= 2;
            uint8_t *p = realloc(s->capture->data, cap);
            if (!p)
                return -ENOMEM;
            s->capture->data = p;
            s->capture->cap = cap;
        }
        memcpy(s->capture->data + at, msg, len);
        s->capture->len += len;
        return 0;
    }
    int rc = droppable ? ofp_conn_send_droppable(s->c, msg, len) : ofp_conn_send(s->c, msg, len);
    if (rc == 0 && s->controller)
        snoop_copy(s->a, msg, len);
    return rc;
}

/* Encode @m (version and xid set by the caller) and send it. */
int oa_send_msg(struct session *s, struct ofp_msg *m, bool droppable)
{
    struct sw_ofagent *a = s->a;
    struct ofp_error err = {0};
    ofp_buf_clear(&a->out);
    int rc = ofp_encode(m, &a->out, &err);
    if (rc) {
        KK_LOGW_RL(ofagent_log, "%s: cannot encode %s: %s", a->name,
                   ofp_msg_type_name(m->type, m->version), ofp_err_name(err.err));
        return rc;
    }
    return raw_send(s, a->out.data, a->out.len, droppable);
}

void oa_send_error(struct session *s, uint32_t xid, enum ofp_err e, const void *req,
                       size_t len)
{
    struct sw_ofagent *a = s->a;
    struct ofp_error err = {.err = e};
    ofp_buf_clear(&a->out);
    if (ofp_encode_error_reply(s->version, xid, &err, req, len, &a->out) == 0)
        raw_send(s, a->out.data, a->out.len, false);
    KK_LOGD(ofagent_log, "%s: refused a message (xid 0x%" PRIx32 "): %s", a->name, xid,
            ofp_err_name(e));
}

void oa_init_reply(struct ofp_msg *m, const struct session *s, enum ofp_msg_type type,
                       uint32_t xid)
{
    memset(m, 0, sizeof(*m));
    m->version = s->version;
    m->type = (uint8_t)type;
    m->xid = xid;
}

/*
 * Send a multipart reply whose list has @n entries of @size bytes at
 * @items, in as many messages as needed: each carries as many entries as
 * fit (OFPMPF_MORE on all but the last).
 */
void oa_send_multipart(struct session *s, uint32_t xid, uint16_t type, void *items,
                           size_t n, size_t size)
{
    struct ofp_msg m;
    size_t done = 0, chunk = n ? n : 1;
    do {
        size_t k = n - done < chunk ? n - done : chunk;
        oa_init_reply(&m, s, OFP_MSG_MULTIPART_REPLY, xid);
        m.u.multipart.type = type;
        m.u.multipart.list.any = items ? (uint8_t *)items + done * size : NULL;
        m.u.multipart.n = k;
        m.u.multipart.flags = done + k < n ? OFPMPF_MORE : 0;
        struct ofp_error err = {0};
        ofp_buf_clear(&s->a->out);
        int rc = ofp_encode(&m, &s->a->out, &err);
        if (rc == -EINVAL && err.err == OFPERR_OFPBRC_BAD_LEN && k > 1) {
            chunk = k / 2;   /* too long for one message: fewer entries */
            continue;
        }
        if (rc) {
            oa_send_error(s, xid, OFPERR_OFPBRC_MULTIPART_BUFFER_OVERFLOW, NULL, 0);
            return;
        }
        raw_send(s, s->a->out.data, s->a->out.len, false);
        done += k;
    } while (done < n);
}

/* ---- ports ---------------------------------------------------------------- */

static void collect_port(void *arg, const struct sw_port_info *info)
{
    struct port_list *l = arg;
    if (l->n < SW_OFP_MAX_PORTS)
        l->p[l->n++] = *info;
}

int oa_ports_get(struct sw_ofagent *a, struct port_list *l)
{
    l->n = 0;
    l->p = malloc(SW_OFP_MAX_PORTS * sizeof(*l->p));
    if (!l->p)
        return -ENOMEM;
    sw_ofproto_port_foreach(a->ofp, collect_port, l);
    return 0;
}

void oa_port_desc(struct sw_ofagent *a, uint8_t version, const struct sw_port_info *p,
                      struct ofp_port *o)
{
    memset(o, 0, sizeof(*o));
    o->port_no = p->ofport;
    if (!a->port_mac || !a->port_mac(a->arg, p->ofport, o->hw_addr))
        memset(o->hw_addr, 0, 6);
    size_t n = strlen(p->name);
    memcpy(o->name, p->name, n < sizeof(o->name) ? n : sizeof(o->name));
    o->config = p->config & (version == OFP10_VERSION ? PC_BITS_10 : PC_BITS_13);
    o->state = p->link_up ? 0 : OFPPS_LINK_DOWN;
    o->curr = OFPPF_10GB_FD | (version == OFP10_VERSION ? OFPPF_COPPER_10 : OFPPF_COPPER_13);
    o->supported = o->curr;
    if (version == OFP13_VERSION) {
        o->curr_speed = 10000000;
        o->max_speed = 10000000;
    }
}

bool oa_port_exists(struct port_list *l, uint32_t ofport, struct sw_port_info **out)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->p[i].ofport == ofport) {
            if (out)
                *out = &l->p[i];
            return true;
        }
    return false;
}

/* ---- flow-mod ------------------------------------------------------------- */

/* The OpenFlow error for a message from the bridge's action parser. */
static enum ofp_err parse_error(uint8_t version, const char *msg)
{
    if (strstr(msg, "prerequisite"))
        return version == OFP10_VERSION ? OFPERR_OFPBAC_BAD_ARGUMENT
                                        : OFPERR_OFPBAC_MATCH_INCONSISTENT;
    if (strstr(msg, "goto_table"))
        return OFPERR_OFPBIC_BAD_TABLE_ID;
    if (!strncmp(msg, "meter", 5))
        return OFPERR_OFPMMFC_UNKNOWN_METER;
    if (!strncmp(msg, "group", 5))
        return OFPERR_OFPBAC_BAD_OUT_GROUP;
    if (!strncmp(msg, "output", 6) || strstr(msg, "port"))
        return OFPERR_OFPBAC_BAD_OUT_PORT;
    return OFPERR_OFPBAC_BAD_ARGUMENT;
}

/* Wire actions (1.0) or instructions (1.3) -> a parsed action list checked
 * against @key/@mask for table @table. */
static enum ofp_err build_actions(struct session *s, const struct ofp_action_list *acts,
                                  const struct ofp_instruction_list *insts,
                                  const struct sw_flow_key *key, const struct sw_flow_mask *mask,
                                  uint8_t table, bool packet_out, struct sw_ofpacts **out)
{
    char *text = s->a->text;   /* the agent's scratch: one message at a time */
    enum ofp_err e = insts        ? sw_instructions_text_from_ofp(insts, text, ACTION_TEXT_MAX)
                     : packet_out ? sw_packet_out_text_from_ofp(acts, s->version, text,
                                                                ACTION_TEXT_MAX)
                                  : sw_actions_text_from_ofp(acts, s->version, text,
                                                             ACTION_TEXT_MAX);
    if (!e) {
        char err[256];
        int rc = sw_ofpacts_parse(s->a->ofp, text, key, mask, table, out, err, sizeof(err));
        if (rc == -ENOMEM)
            e = OFPERR_OFPFMFC_UNKNOWN;
        else if (rc) {
            e = parse_error(s->version, err);
            KK_LOGD(ofagent_log, "%s: actions '%s' refused: %s", s->a->name, text, err);
        }
    }
    return e;
}

static void notify(struct sw_ofagent *a, unsigned what)
{
    if (a->changed)
        a->changed(a->arg, what);
}

static void handle_flow_mod(struct session *s, const struct ofp_msg *m, const void *raw,
                            size_t len)
{
    struct sw_ofagent *a = s->a;
    const struct ofp_flow_mod *f = &m->u.flow_mod;
    bool v10 = s->version == OFP10_VERSION;
    enum ofp_err e = OFPERR_NONE;
    if (role_is_slave(s)) {
        oa_send_error(s, m->xid, OFPERR_OFPBRC_IS_SLAVE, raw, len);
        return;
    }
    if (f->command > OFPFC_DELETE_STRICT) {
        oa_send_error(s, m->xid, OFPERR_OFPFMFC_BAD_COMMAND, raw, len);
        return;
    }
    bool add = f->command == OFPFC_ADD;
    bool del = f->command == OFPFC_DELETE || f->command == OFPFC_DELETE_STRICT;
    struct sw_flow_mod fm;
    memset(&fm, 0, sizeof(fm));
    if (v10) {
        fm.table_id = 0;
        fm.table_all = !add;
    } else if (f->table_id == OFPTT_ALL) {
        if (add) {
            oa_send_error(s, m->xid, OFPERR_OFPFMFC_BAD_TABLE_ID, raw, len);
            return;
        }
        fm.table_all = true;
    } else if (f->table_id >= SW_OFP_TABLES) {
        oa_send_error(s, m->xid, OFPERR_OFPFMFC_BAD_TABLE_ID, raw, len);
        return;
    } else {
        fm.table_id = f->table_id;
    }
    if (v10 && (f->flags & OFPFF10_EMERG)) {
        oa_send_error(s, m->xid, OFPERR_OFPFMFC_UNSUPPORTED, raw, len);
        return;
    }
    e = sw_match_from_ofp(&f->match, &fm.match, &fm.mask);
    if (e) {
        oa_send_error(s, m->xid, e, raw, len);
        return;
    }
    fm.priority = f->priority;
    fm.idle_timeout = f->idle_timeout;
    fm.hard_timeout = f->hard_timeout;
    if (f->flags & OFPFF_SEND_FLOW_REM)
        fm.flags |= SW_OFP_FLAG_SEND_FLOW_REM;
    if (!v10 && (f->flags & (OFPFF13_NO_PKT_COUNTS | OFPFF13_NO_BYT_COUNTS)))
        fm.flags |= SW_OFP_FLAG_NO_COUNTS;
    if (!v10 && (f->flags & OFPFF13_RESET_COUNTS))
        fm.flags |= SW_OFP_FLAG_RESET_COUNTS;
    if (add) {
        fm.cookie = f->cookie;
    } else if (!v10) {
        fm.cookie = f->cookie;
        fm.cookie_mask = f->cookie_mask;
    }
    if (del) {
        fm.out_port = f->out_port == OFPP_ANY ? 0 : f->out_port;
        if (!v10 && f->out_group != OFPG_ANY) {
            fm.has_out_group = true;
            fm.out_group = f->out_group;
        }
    } else {
        e = build_actions(s, v10 ? &f->actions : NULL, v10 ? NULL : &f->instructions, &fm.match,
                          &fm.mask, fm.table_all ? 0 : fm.table_id, false, &fm.actions);
        if (e) {
            oa_send_error(s, m->xid, e, raw, len);
            return;
        }
    }
    if (add && (f->flags & OFPFF_CHECK_OVERLAP) && sw_ofproto_flow_overlaps(a->ofp, &fm)) {
        sw_flow_mod_uninit(&fm);
        oa_send_error(s, m->xid, OFPERR_OFPFMFC_OVERLAP, raw, len);
        return;
    }
    static const enum sw_flow_mod_cmd cmds[] = {SW_FM_ADD, SW_FM_MODIFY, SW_FM_MODIFY_STRICT,
                                                SW_FM_DELETE, SW_FM_DELETE_STRICT};
    unsigned changed = 0;
    int rc = sw_ofproto_flow_mod(a->ofp, cmds[f->command], &fm, &changed);
    if (rc == 0 && v10 && !changed &&
        (f->command == OFPFC_MODIFY || f->command == OFPFC_MODIFY_STRICT)) {
        /* OpenFlow 1.0: a modify that matches nothing adds the flow */
        fm.cookie = f->cookie;
        fm.cookie_mask = 0;
        fm.table_all = false;
        rc = sw_ofproto_flow_mod(a->ofp, SW_FM_ADD, &fm, &changed);
    }
    sw_flow_mod_uninit(&fm);
    if (rc) {
        oa_send_error(s, m->xid, rc == -ENOMEM ? OFPERR_OFPFMFC_TABLE_FULL : OFPERR_OFPFMFC_UNKNOWN,
                   raw, len);
        return;
    }
    if (changed)
        notify(a, SW_OFAGENT_RULES);
    if (f->buffer_id != OFP_NO_BUFFER && !del)
        oa_send_error(s, m->xid, OFPERR_OFPBRC_BUFFER_UNKNOWN, raw, len);
}

/* ---- group-mod and meter-mod ------------------------------------------------ */

struct txtbuf {
    char *p;
    size_t len, cap;
    bool overflow;
};

__attribute__((format(printf, 2, 3))) static void tput(struct txtbuf *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->cap - t->len)
        t->overflow = true;
    else
        t->len += (size_t)n;
}

static enum ofp_err group_error(int rc, const char *msg)
{
    switch (rc) {
    case -EEXIST:
        return OFPERR_OFPGMFC_GROUP_EXISTS;
    case -ENOENT:
        return OFPERR_OFPGMFC_UNKNOWN_GROUP;
    case -ELOOP:
        return OFPERR_OFPGMFC_LOOP;
    case -ENOSPC:
    case -ENOMEM:
        return OFPERR_OFPGMFC_OUT_OF_GROUPS;
    default:
        if (strstr(msg, "watch"))
            return OFPERR_OFPGMFC_BAD_WATCH;
        if (strstr(msg, "group") && strstr(msg, "does not exist"))
            return OFPERR_OFPGMFC_CHAINING_UNSUPPORTED;
        return OFPERR_OFPGMFC_BAD_BUCKET;
    }
}

static void handle_group_mod(struct session *s, const struct ofp_msg *m, const void *raw,
                             size_t len)
{
    const struct ofp_group_mod *g = &m->u.group_mod;
    if (role_is_slave(s)) {
        oa_send_error(s, m->xid, OFPERR_OFPBRC_IS_SLAVE, raw, len);
        return;
    }
    if (g->command > OFPGC_DELETE) {
        oa_send_error(s, m->xid, OFPERR_OFPGMFC_BAD_COMMAND, raw, len);
        return;
    }
    bool del = g->command == OFPGC_DELETE;
    if (g->group_id > OFPG_MAX && !(del && g->group_id == OFPG_ALL)) {
        oa_send_error(s, m->xid, OFPERR_OFPGMFC_INVALID_GROUP, raw, len);
        return;
    }
    if (!del && g->type > OFPGT_FF) {
        oa_send_error(s, m->xid, OFPERR_OFPGMFC_BAD_TYPE, raw, len);
        return;
    }
    if (g->n_buckets > SW_GROUP_MAX_BUCKETS) {
        oa_send_error(s, m->xid, OFPERR_OFPGMFC_OUT_OF_BUCKETS, raw, len);
        return;
    }
    struct txtbuf t = {.p = malloc(65536), .cap = 65536};
    char *acts = malloc(ACTION_TEXT_MAX);
    if (!t.p || !acts) {
        free(t.p);
        free(acts);
        oa_send_error(s, m->xid, OFPERR_OFPGMFC_OUT_OF_GROUPS, raw, len);
        return;
    }
    t.p[0] = '\0';
    enum ofp_err e = OFPERR_NONE;
    static const char *const types[] = {"all", "select", "indirect", "ff"};
    if (del) {
        if (g->group_id != OFPG_ALL)
            tput(&t, "group_id=%" PRIu32, g->group_id);
    } else {
        tput(&t, "group_id=%" PRIu32 ",type=%s", g->group_id, types[g->type]);
        for (size_t i = 0; i < g->n_buckets && !e; i++) {
            const struct ofp_bucket *b = &g->buckets[i];
            tput(&t, ",bucket=");
            if (g->type == OFPGT_SELECT)
                tput(&t, "weight:%u,", b->weight);
            if (b->watch_port != OFPP_ANY)
                tput(&t, "watch_port:%" PRIu32 ",", b->watch_port);
            if (b->watch_group != OFPG_ANY)
                tput(&t, "watch_group:%" PRIu32 ",", b->watch_group);
            e = sw_actions_text_from_ofp(&b->actions, s->version, acts, ACTION_TEXT_MAX);
            tput(&t, "actions=%s", *acts ? acts : "drop");
        }
    }
    if (!e && t.overflow)
        e = OFPERR_OFPGMFC_OUT_OF_BUCKETS;
    if (!e) {
        static const enum sw_group_mod_cmd cmds[] = {SW_GM_ADD, SW_GM_MODIFY, SW_GM_DELETE};
        char err[256] = "";
        int rc = sw_ofproto_group_mod(s->a->ofp, cmds[g->command], t.p, err, sizeof(err));
        if (rc) {
            e = group_error(rc, err);
            KK_LOGD(ofagent_log, "%s: group-mod '%s' refused: %s", s->a->name, t.p, err);
        } else {
            notify(s->a, SW_OFAGENT_GROUPS | (del ? SW_OFAGENT_RULES : 0));
        }
    }
    free(t.p);
    free(acts);
    if (e)
        oa_send_error(s, m->xid, e, raw, len);
}

static void handle_meter_mod(struct session *s, const struct ofp_msg *m, const void *raw,
                             size_t len)
{
    const struct ofp_meter_mod *mm = &m->u.meter_mod;
    if (role_is_slave(s)) {
        oa_send_error(s, m->xid, OFPERR_OFPBRC_IS_SLAVE, raw, len);
        return;
    }
    if (mm->command > OFPMC_DELETE) {
        oa_send_error(s, m->xid, OFPERR_OFPMMFC_BAD_COMMAND, raw, len);
        return;
    }
    bool del = mm->command == OFPMC_DELETE;
    if (mm->meter_id == 0 || (mm->meter_id > OFPM_MAX && !(del && mm->meter_id == OFPM_ALL))) {
        oa_send_error(s, m->xid, OFPERR_OFPMMFC_INVALID_METER, raw, len);
        return;
    }
    if (!del && ((mm->flags & OFPMF_KBPS) && (mm->flags & OFPMF_PKTPS))) {
        oa_send_error(s, m->xid, OFPERR_OFPMMFC_BAD_FLAGS, raw, len);
        return;
    }
    char text[1024];
    struct txtbuf t = {.p = text, .cap = sizeof(text)};
    text[0] = '\0';
    if (del) {
        if (mm->meter_id != OFPM_ALL)
            tput(&t, "meter=%" PRIu32, mm->meter_id);
    } else {
        if (!mm->n_bands || mm->n_bands > SW_METER_MAX_BANDS) {
            oa_send_error(s, m->xid, OFPERR_OFPMMFC_OUT_OF_BANDS, raw, len);
            return;
        }
        tput(&t, "meter=%" PRIu32 ",%s%s,bands=", mm->meter_id,
             (mm->flags & OFPMF_PKTPS) ? "pktps" : "kbps",
             (mm->flags & OFPMF_BURST) ? ",burst" : "");
        for (size_t i = 0; i < mm->n_bands; i++) {
            const struct ofp_meter_band *b = &mm->bands[i];
            if (b->type != OFPMBT_DROP) {
                oa_send_error(s, m->xid, OFPERR_OFPMMFC_BAD_BAND, raw, len);
                return;
            }
            if (!b->rate) {
                oa_send_error(s, m->xid, OFPERR_OFPMMFC_BAD_RATE, raw, len);
                return;
            }
            tput(&t, "%stype=drop,rate=%" PRIu32, i ? "," : "", b->rate);
            if (mm->flags & OFPMF_BURST)
                tput(&t, ",burst_size=%" PRIu32, b->burst_size);
        }
    }
    static const enum sw_meter_mod_cmd cmds[] = {SW_MM_ADD, SW_MM_MODIFY, SW_MM_DELETE};
    char err[256] = "";
    int rc = t.overflow ? -EINVAL : sw_ofproto_meter_mod(s->a->ofp, cmds[mm->command], text, err,
                                                           sizeof(err));
    if (!rc) {
        notify(s->a, SW_OFAGENT_METERS | (del ? SW_OFAGENT_RULES : 0));
        return;
    }
    KK_LOGD(ofagent_log, "%s: meter-mod '%s' refused: %s", s->a->name, text, err);
    /* -ENOTSUP: the bridge has no meters (the bands were checked above) */
    enum ofp_err e = rc == -EEXIST                     ? OFPERR_OFPMMFC_METER_EXISTS
                     : rc == -ENOENT                   ? OFPERR_OFPMMFC_UNKNOWN_METER
                     : rc == -ENOSPC || rc == -ENOTSUP ? OFPERR_OFPMMFC_OUT_OF_METERS
                                                       : OFPERR_OFPMMFC_BAD_BAND_VALUE;
    oa_send_error(s, m->xid, e, raw, len);
}

/* ---- port-mod, table-mod, packet-out ----------------------------------------- */

static void send_port_status(struct sw_ofagent *a, uint8_t reason, const struct sw_port_info *p);

static void handle_port_mod(struct session *s, const struct ofp_msg *m, const void *raw,
                            size_t len)
{
    struct sw_ofagent *a = s->a;
    const struct ofp_port_mod *pm = &m->u.port_mod;
    if (role_is_slave(s)) {
        oa_send_error(s, m->xid, OFPERR_OFPBRC_IS_SLAVE, raw, len);
        return;
    }
    struct port_list l;
    if (oa_ports_get(a, &l)) {
        oa_send_error(s, m->xid, OFPERR_OFPPMFC_EPERM, raw, len);
        return;
    }
    struct sw_port_info *p;
    enum ofp_err e = OFPERR_NONE;
    uint32_t bits = s->version == OFP10_VERSION ? PC_BITS_10 : PC_BITS_13;
    if (!oa_port_exists(&l, pm->port_no, &p)) {
        e = OFPERR_OFPPMFC_BAD_PORT;
    } else {
        uint8_t mac[6] = {0};
        if (a->port_mac && a->port_mac(a->arg, p->ofport, mac) && memcmp(mac, pm->hw_addr, 6))
            e = OFPERR_OFPPMFC_BAD_HW_ADDR;
        else if (sw_ofproto_port_set_config(a->ofp, pm->port_no, pm->config & bits,
                                            pm->mask & bits))
            e = OFPERR_OFPPMFC_BAD_PORT;
    }
    free(l.p);
    if (e)
        oa_send_error(s, m->xid, e, raw, len);
    else
        KK_LOGI(ofagent_log, "%s: port %" PRIu32 " config now 0x%" PRIx32 " (mask 0x%" PRIx32
                ") by OpenFlow port-mod", a->name, pm->port_no, pm->config & bits, pm->mask & bits);
}

static void handle_packet_out(struct session *s, const struct ofp_msg *m, const void *raw,
                              size_t len)
{
    struct sw_ofagent *a = s->a;
    const struct ofp_packet_out *po = &m->u.packet_out;
    if (role_is_slave(s)) {
        oa_send_error(s, m->xid, OFPERR_OFPBRC_IS_SLAVE, raw, len);
        return;
    }
    if (po->buffer_id != OFP_NO_BUFFER) {
        oa_send_error(s, m->xid, OFPERR_OFPBRC_BUFFER_UNKNOWN, raw, len);
        return;
    }
    struct port_list l;
    if (oa_ports_get(a, &l)) {
        oa_send_error(s, m->xid, OFPERR_OFPBRC_EPERM, raw, len);
        return;
    }
    struct sw_port_info *in = NULL;
    bool ok = oa_port_exists(&l, po->in_port, &in) || po->in_port == OFPP_CONTROLLER ||
              po->in_port == OFPP_ANY || po->in_port == OFPP_LOCAL;
    uint32_t in_dp = in && !in->is_bond ? in->dp_port : SW_DPIF_PORT_NONE;
    free(l.p);
    if (!ok) {
        oa_send_error(s, m->xid, OFPERR_OFPBRC_BAD_PORT, raw, len);
        return;
    }
    if (po->data.len < 14 || po->data.len > 65535) {
        oa_send_error(s, m->xid, OFPERR_OFPBRC_BAD_PACKET, raw, len);
        return;
    }
    struct pkt_flow pf;
    struct pkt_layout lay;
    pkt_parse(po->data.data, po->data.len, &pf, &lay);
    struct sw_flow_key key;
    struct sw_flow_mask exact;
    sw_flow_from_pkt(&pf, &key);
    key.in_port = po->in_port;
    sw_flow_mask_exact(&exact);
    struct sw_ofpacts *acts = NULL;
    enum ofp_err e = build_actions(s, &po->actions, NULL, &key, &exact, 0, true, &acts);
    if (e) {
        oa_send_error(s, m->xid, e, raw, len);
        return;
    }
    struct sw_odp_buf odp;
    sw_odp_buf_init(&odp);
    int rc = sw_ofproto_xlate_actions(a->ofp, &key, po->in_port, acts, &odp);
    sw_ofpacts_free(acts);
    if (rc == 0 && odp.len && a->dpif)
        rc = sw_dpif_execute_bytes(a->dpif, po->data.data, po->data.len, in_dp, odp.data,
                                   odp.len);
    if (rc)
        oa_send_error(s, m->xid, OFPERR_OFPBAC_BAD_ARGUMENT, raw, len);
}

/* ---- dispatch -------------------------------------------------------------- */

static void update_miss(struct sw_ofagent *a);

static void handle(struct session *s, const void *raw, size_t len)
{
    struct sw_ofagent *a = s->a;
    struct ofp_msg m;
    struct ofp_error err = {0};
    uint32_t xid = len >= 8 ? (uint32_t)((const uint8_t *)raw)[4] << 24 |
                                  (uint32_t)((const uint8_t *)raw)[5] << 16 |
                                  (uint32_t)((const uint8_t *)raw)[6] << 8 |
                                  ((const uint8_t *)raw)[7]
                            : 0;
    int rc = ofp_decode(raw, len, &m, &err);
    if (rc == -ENOMEM)
        return;
    if (rc) {
        oa_send_error(s, xid, err.err ? err.err : OFPERR_OFPBRC_BAD_TYPE, raw, len);
        return;
    }
    if (m.version != s->version) {
        oa_send_error(s, xid, OFPERR_OFPBRC_BAD_VERSION, raw, len);
        ofp_msg_free(&m);
        return;
    }
    struct ofp_msg r;
    switch (m.type) {
    case OFP_MSG_FEATURES_REQUEST: {
        oa_init_reply(&r, s, OFP_MSG_FEATURES_REPLY, m.xid);
        struct ofp_features_reply *f = &r.u.features;
        f->datapath_id = a->dpid;
        f->n_buffers = 0;
        f->n_tables = SW_OFP_TABLES;
        f->capabilities = OFPC_FLOW_STATS | OFPC_TABLE_STATS | OFPC_PORT_STATS |
                          (s->version == OFP13_VERSION ? OFPC_GROUP_STATS : 0);
        struct port_list l = {0};
        struct ofp_port *ports = NULL;
        if (s->version == OFP10_VERSION) {
            f->actions = 0x7ff;   /* output .. set_tp_dst; no enqueue */
            if (oa_ports_get(a, &l) == 0 && (ports = calloc(l.n ? l.n : 1, sizeof(*ports)))) {
                for (unsigned i = 0; i < l.n; i++)
                    oa_port_desc(a, s->version, &l.p[i], &ports[i]);
                f->ports = ports;
                f->n_ports = l.n;
            }
        }
        oa_send_msg(s, &r, false);
        free(ports);
        free(l.p);
        break;
    }
    case OFP_MSG_GET_CONFIG_REQUEST:
        oa_init_reply(&r, s, OFP_MSG_GET_CONFIG_REPLY, m.xid);
        r.u.config.flags = s->config_flags;
        r.u.config.miss_send_len = s->miss_send_len;
        oa_send_msg(s, &r, false);
        break;
    case OFP_MSG_SET_CONFIG:
        if (m.u.config.flags & ~3u) {
            oa_send_error(s, m.xid, OFPERR_OFPSCFC_BAD_FLAGS, raw, len);
            break;
        }
        s->config_flags = m.u.config.flags;
        s->miss_send_len = m.u.config.miss_send_len;
        s->wants_packet_in = true;
        update_miss(a);
        break;
    case OFP_MSG_FLOW_MOD:
        handle_flow_mod(s, &m, raw, len);
        break;
    case OFP_MSG_GROUP_MOD:
        handle_group_mod(s, &m, raw, len);
        break;
    case OFP_MSG_METER_MOD:
        handle_meter_mod(s, &m, raw, len);
        break;
    case OFP_MSG_PORT_MOD:
        handle_port_mod(s, &m, raw, len);
        break;
    case OFP_MSG_TABLE_MOD:
        if (role_is_slave(s))
            oa_send_error(s, m.xid, OFPERR_OFPBRC_IS_SLAVE, raw, len);
        else if (m.u.table_mod.table_id >= SW_OFP_TABLES && m.u.table_mod.table_id != OFPTT_ALL)
            oa_send_error(s, m.xid, OFPERR_OFPTMFC_BAD_TABLE, raw, len);
        else if (m.u.table_mod.config & ~3u)
            oa_send_error(s, m.xid, OFPERR_OFPTMFC_BAD_CONFIG, raw, len);
        break;
    case OFP_MSG_PACKET_OUT:
        handle_packet_out(s, &m, raw, len);
        break;
    case OFP_MSG_MULTIPART_REQUEST:
        oa_handle_multipart(s, &m, raw, len);
        break;
    case OFP_MSG_BARRIER_REQUEST:
        if (a->sync)
            a->sync(a->arg, false);
        oa_init_reply(&r, s, OFP_MSG_BARRIER_REPLY, m.xid);
        oa_send_msg(s, &r, false);
        break;
    case OFP_MSG_ROLE_REQUEST: {
        enum ofp_conn_role now = OFP_CONN_ROLE_EQUAL;
        int rrc = 0;
        if (m.u.role.role > OFPCR_ROLE_SLAVE)
            rrc = -EINVAL;
        else if (s->c)
            rrc = ofp_conn_request_role(s->c, (enum ofp_conn_role)m.u.role.role,
                                        m.u.role.generation_id, &now);
        else if (m.u.role.role != OFPCR_ROLE_NOCHANGE)
            now = (enum ofp_conn_role)m.u.role.role;
        if (rrc) {
            oa_send_error(s, m.xid, rrc == -ESTALE ? OFPERR_OFPRRFC_STALE : OFPERR_OFPRRFC_BAD_ROLE,
                       raw, len);
            break;
        }
        oa_init_reply(&r, s, OFP_MSG_ROLE_REPLY, m.xid);
        r.u.role.role = now;
        uint64_t gen = 0;
        if (a->roles)
            ofp_role_group_generation(a->roles, &gen);
        r.u.role.generation_id = gen;
        oa_send_msg(s, &r, false);
        update_miss(a);
        break;
    }
    case OFP_MSG_GET_ASYNC_REQUEST:
        oa_init_reply(&r, s, OFP_MSG_GET_ASYNC_REPLY, m.xid);
        r.u.async = s->async;
        oa_send_msg(s, &r, false);
        break;
    case OFP_MSG_SET_ASYNC:
        s->async = m.u.async;
        s->async_set = true;
        s->wants_packet_in = true;
        update_miss(a);
        break;
    case OFP_MSG_EXPERIMENTER: {
        struct ofp_error e = {0};
        ofp_experimenter_error(&m, ofp_is_nicira(&m, NULL), &e);
        oa_send_error(s, m.xid, e.err, raw, len);
        break;
    }
    case OFP_MSG_ERROR:
        KK_LOGI_RL(ofagent_log, "%s: the peer sent an error: type %u code %u", a->name,
                   m.u.error.type, m.u.error.code);
        break;
    case OFP_MSG_ECHO_REPLY:
    case OFP_MSG_BARRIER_REPLY:
        break;
    default:
        /* messages a switch sends, never receives */
        oa_send_error(s, m.xid, OFPERR_OFPBRC_BAD_TYPE, raw, len);
        break;
    }
    ofp_msg_free(&m);
}

/* ---- sessions ---------------------------------------------------------------- */

static void session_defaults(struct session *s)
{
    s->miss_send_len = DEFAULT_MISS_SEND_LEN;
    /* 1.3 defaults (7.3.10): master/equal get packet-ins (no match, action),
     * port-status and flow-removed; slaves only port-status */
    s->async.packet_in_mask[0] = 0x3;
    s->async.port_status_mask[0] = s->async.port_status_mask[1] = 0x7;
    s->async.flow_removed_mask[0] = 0xf;
}

static struct session *session_find(struct sw_ofagent *a, const struct ofp_conn *c)
{
    for (struct session *s = a->sessions; s; s = s->next)
        if (s->c == c)
            return s;
    return NULL;
}

static bool is_controller_conn(struct sw_ofagent *a, const struct ofp_conn *c)
{
    for (unsigned i = 0; i < a->n_ctl; i++)
        if (a->ctl[i].c == c)
            return true;
    return false;
}

static void on_connected(void *arg, struct ofp_conn *c, uint8_t version)
{
    struct sw_ofagent *a = arg;
    struct session *s = calloc(1, sizeof(*s));
    if (!s) {
        ofp_conn_disconnect(c, "out of memory");
        return;
    }
    s->a = a;
    s->c = c;
    s->version = version;
    s->controller = is_controller_conn(a, c);
    s->snoop = a->snoop && ofp_conn_listener(c) == a->snoop;
    session_defaults(s);
    s->next = a->sessions;
    a->sessions = s;
    if (s->snoop)
        a->n_snoopers++;
    struct ofp_conn_stats st;
    ofp_conn_get_stats(c, &st);
    if (s->controller) {
        KK_LOGI(ofagent_log, "%s: connected to controller %s (OpenFlow %s)", a->name, st.target,
                version == OFP10_VERSION ? "1.0" : "1.3");
        if (sw_ofproto_fail_open(a->ofp))
            KK_LOGI(ofagent_log, "%s: leaving fail-open: a controller is connected", a->name);
        sw_ofproto_set_fail_open(a->ofp, false);
    } else {
        KK_LOGD(ofagent_log, "%s: %s connection from %s (OpenFlow %s)", a->name,
                s->snoop ? "snoop" : "management", st.peer,
                version == OFP10_VERSION ? "1.0" : "1.3");
    }
    update_miss(a);
}

static void update_fail_open(struct sw_ofagent *a);

static void on_disconnected(void *arg, struct ofp_conn *c, bool was_connected, const char *reason)
{
    struct sw_ofagent *a = arg;
    struct session **pp = &a->sessions;
    while (*pp && (*pp)->c != c)
        pp = &(*pp)->next;
    struct session *s = *pp;
    if (s) {
        *pp = s->next;
        if (s->snoop)
            a->n_snoopers--;
        if (s->controller) {
            struct ofp_conn_stats st;
            ofp_conn_get_stats(c, &st);
            KK_LOGW(ofagent_log, "%s: lost controller %s: %s", a->name, st.target,
                    reason ? reason : "closed");
        }
        free(s);
    } else if (is_controller_conn(a, c)) {
        struct ofp_conn_stats st;
        ofp_conn_get_stats(c, &st);
        KK_LOGD_RL(ofagent_log, "%s: controller %s unreachable: %s", a->name, st.target,
                   reason ? reason : "");
    }
    (void)was_connected;
    update_fail_open(a);
    update_miss(a);
}

static void on_message(void *arg, struct ofp_conn *c, uint8_t version, const void *msg,
                       size_t len)
{
    struct sw_ofagent *a = arg;
    struct session *s = session_find(a, c);
    if (!s || s->snoop)
        return;
    (void)version;
    if (s->controller)
        snoop_copy(a, msg, len);
    handle(s, msg, len);
}

static const struct ofp_conn_callbacks callbacks = {
    .connected = on_connected,
    .message = on_message,
    .disconnected = on_disconnected,
};

long sw_ofagent_handle(struct sw_ofagent *a, uint8_t version, const void *msg, size_t len,
                       void *out, size_t out_size)
{
    struct ofp_buf cap = {0};
    struct session s;
    memset(&s, 0, sizeof(s));
    s.a = a;
    s.capture = &cap;
    s.version = version;
    session_defaults(&s);
    handle(&s, msg, len);
    size_t n = cap.len < out_size ? cap.len : out_size;
    if (n)
        memcpy(out, cap.data, n);
    free(cap.data);
    return (long)n;
}

/* ---- asynchronous messages ------------------------------------------------------ */

/* Whether @s wants an async message of @kind (0 packet-in, 1 port-status,
 * 2 flow-removed) with @reason. */
static bool wants(const struct session *s, int kind, unsigned reason)
{
    if (!s->c || s->snoop)
        return false;
    if (!s->controller && kind == 0 && !s->wants_packet_in)
        return false;
    bool slave = ofp_conn_role(s->c) == OFP_CONN_ROLE_SLAVE;
    if (s->version == OFP10_VERSION && !s->async_set)
        return !(slave && kind != 1);
    const uint32_t *mask = kind == 0   ? s->async.packet_in_mask
                           : kind == 1 ? s->async.port_status_mask
                                       : s->async.flow_removed_mask;
    return reason < 32 && (mask[slave] & (1u << reason));
}

void sw_ofagent_packet_in(struct sw_ofagent *a, uint32_t in_ofport, uint64_t cookie,
                          uint64_t rule_cookie, const void *frame, size_t len)
{
    if (!a)
        return;
    unsigned reason = (unsigned)(cookie & 0xff);
    uint8_t table = (uint8_t)(cookie >> 16);
    if (len > 65535 - 128)
        len = 65535 - 128;   /* the message must fit in 64 KiB */
    for (struct session *s = a->sessions; s; s = s->next) {
        if (!wants(s, 0, reason))
            continue;
        struct ofp_msg m;
        oa_init_reply(&m, s, OFP_MSG_PACKET_IN, 0);
        struct ofp_packet_in *pi = &m.u.packet_in;
        pi->buffer_id = OFP_NO_BUFFER;
        pi->total_len = (uint16_t)len;
        pi->reason = (uint8_t)reason;
        pi->table_id = table;
        pi->cookie = rule_cookie;  /* all ones for a table miss */
        if (s->version == OFP10_VERSION) {
            pi->in_port = in_ofport;
        } else {
            ofp_match_init(&pi->match);
            ofp_match_set_uint(&pi->match, OFPXMT_IN_PORT, in_ofport, false, 0);
        }
        pi->data.data = frame;
        pi->data.len = len;
        oa_send_msg(s, &m, true);
    }
}

void sw_ofagent_flow_removed(void *agent, const struct sw_rule_info *rule, int reason)
{
    struct sw_ofagent *a = agent;
    if (!a)
        return;
    uint64_t now = sw_ofproto_now_ms(a->ofp);
    for (struct session *s = a->sessions; s; s = s->next) {
        if (!wants(s, 2, (unsigned)reason))
            continue;
        if (s->version == OFP10_VERSION && reason == SW_RR_GROUP_DELETE)
            continue;
        struct ofp_msg m;
        oa_init_reply(&m, s, OFP_MSG_FLOW_REMOVED, 0);
        struct ofp_flow_removed *fr = &m.u.flow_removed;
        sw_match_to_ofp(&rule->match, &rule->mask, &fr->match);
        fr->cookie = rule->cookie;
        fr->priority = (uint16_t)rule->priority;
        fr->reason = (uint8_t)reason;
        fr->table_id = rule->table_id;
        uint64_t d = now > rule->created_ms ? now - rule->created_ms : 0;
        fr->duration_sec = (uint32_t)(d / 1000);
        fr->duration_nsec = (uint32_t)(d % 1000) * 1000000u;
        fr->idle_timeout = rule->idle_timeout;
        fr->hard_timeout = rule->hard_timeout;
        fr->packet_count = rule->n_packets;
        fr->byte_count = rule->n_bytes;
        oa_send_msg(s, &m, false);
    }
}

static void send_port_status(struct sw_ofagent *a, uint8_t reason, const struct sw_port_info *p)
{
    for (struct session *s = a->sessions; s; s = s->next) {
        if (!wants(s, 1, reason))
            continue;
        struct ofp_msg m;
        oa_init_reply(&m, s, OFP_MSG_PORT_STATUS, 0);
        m.u.port_status.reason = reason;
        oa_port_desc(a, s->version, p, &m.u.port_status.desc);
        oa_send_msg(s, &m, false);
    }
}

/* Compare the ports with the last snapshot: port-status for each change. */
static void ports_poll(struct sw_ofagent *a)
{
    struct port_list l;
    if (oa_ports_get(a, &l))
        return;
    struct port_snap *snap = calloc(l.n ? l.n : 1, sizeof(*snap));
    if (!snap) {
        free(l.p);
        return;
    }
    for (unsigned i = 0; i < l.n; i++) {
        snap[i].ofport = l.p[i].ofport;
        snprintf(snap[i].name, sizeof(snap[i].name), "%s", l.p[i].name);
        snap[i].config = l.p[i].config;
        snap[i].link_up = l.p[i].link_up;
        if (!a->ports_known)
            continue;
        const struct port_snap *old = NULL;
        for (unsigned j = 0; j < a->n_ports && !old; j++)
            if (a->ports[j].ofport == snap[i].ofport && !strcmp(a->ports[j].name, snap[i].name))
                old = &a->ports[j];
        if (!old)
            send_port_status(a, OFPPR_ADD, &l.p[i]);
        else if (old->config != snap[i].config || old->link_up != snap[i].link_up)
            send_port_status(a, OFPPR_MODIFY, &l.p[i]);
    }
    for (unsigned j = 0; a->ports_known && j < a->n_ports; j++) {
        bool kept = false;
        for (unsigned i = 0; i < l.n && !kept; i++)
            kept = snap[i].ofport == a->ports[j].ofport && !strcmp(snap[i].name, a->ports[j].name);
        if (!kept) {
            struct sw_port_info gone;
            memset(&gone, 0, sizeof(gone));
            gone.ofport = a->ports[j].ofport;
            snprintf(gone.name, sizeof(gone.name), "%s", a->ports[j].name);
            gone.config = a->ports[j].config;
            send_port_status(a, OFPPR_DELETE, &gone);
        }
    }
    free(a->ports);
    a->ports = snap;
    a->n_ports = l.n;
    a->ports_known = true;
    free(l.p);
}

/* ---- controllers, fail mode -------------------------------------------------------- */

static unsigned controllers_up(const struct sw_ofagent *a)
{
    unsigned n = 0;
    for (const struct session *s = a->sessions; s; s = s->next)
        n += s->controller;
    return n;
}

static unsigned active_controllers(const struct sw_ofagent *a)
{
    unsigned n = 0;
    for (unsigned i = 0; i < a->n_ctl; i++)
        n += !a->ctl[i].passive;
    return n;
}

static void update_fail_open(struct sw_ofagent *a)
{
    bool on = a->fail_mode == SW_FAIL_STANDALONE && active_controllers(a) > 0 &&
              controllers_up(a) == 0;
    if (on != sw_ofproto_fail_open(a->ofp))
        KK_LOGI(ofagent_log, "%s: %s fail-open%s", a->name, on ? "entering" : "leaving",
                on ? " (fail mode standalone, no controller connected): NORMAL switching" : "");
    sw_ofproto_set_fail_open(a->ofp, on);
}

/* Table misses go to the controllers while a 1.0 controller (or a tool
 * that asked for packet-ins in 1.0) is connected, as 1.0 switches do. */
static void update_miss(struct sw_ofagent *a)
{
    bool on = false;
    uint16_t max_len = DEFAULT_MISS_SEND_LEN;
    for (const struct session *s = a->sessions; s; s = s->next) {
        if (s->version == OFP10_VERSION && s->c && !s->snoop &&
            (s->controller || s->wants_packet_in) && ofp_conn_role(s->c) != OFP_CONN_ROLE_SLAVE) {
            on = true;
            max_len = s->miss_send_len;
        }
    }
    sw_ofproto_set_miss(a->ofp, on, max_len);
}

static void conn_opts(const struct sw_ofagent *a, struct ofp_conn_opts *o)
{
    ofp_conn_opts_init(o);
    o->versions = a->versions;
    o->role_group = a->roles;
    /* a controller may come and go quickly in tests and failovers */
    o->backoff_min_ms = 500;
    o->backoff_max_ms = 4000;
}

static void controller_close(struct sw_ofagent *a, struct controller *c)
{
    if (c->c) {
        struct session *s = session_find(a, c->c);
        if (s)
            on_disconnected(a, c->c, true, "controller removed");
        ofp_conn_destroy(c->c);
    }
    if (c->l) {
        /* sessions of accepted channels go with the listener */
        struct session **pp = &a->sessions;
        while (*pp) {
            struct session *s = *pp;
            if (s->c && ofp_conn_listener(s->c) == c->l) {
                *pp = s->next;
                free(s);
            } else {
                pp = &s->next;
            }
        }
        ofp_listener_destroy(c->l);
    }
    memset(c, 0, sizeof(*c));
}

static int controller_open(struct sw_ofagent *a, struct controller *c, const char *target)
{
    struct ofp_conn_opts o;
    conn_opts(a, &o);
    if (c->target != target)
        snprintf(c->target, sizeof(c->target), "%s", target);
    struct ofp_target t;
    if (ofp_target_parse(target, &t, NULL, 0))
        return -EINVAL;
    c->passive = ofp_target_is_passive(&t);
    int rc = c->passive ? ofp_listener_create(a->r, target, &o, &callbacks, a, &c->l)
                        : ofp_conn_create(a->r, target, &o, &callbacks, a, &c->c);
    if (rc)
        KK_LOGE(ofagent_log, "%s: cannot %s %s: %s", a->name,
                c->passive ? "listen on" : "connect to", target, strerror(-rc));
    else
        KK_LOGI(ofagent_log, "%s: %s %s", a->name,
                c->passive ? "listening for controllers on" : "controller", target);
    return rc;
}

int sw_ofagent_set_controllers(struct sw_ofagent *a, const char *const *targets, size_t n,
                               char *err, size_t errlen)
{
    if (n > MAX_CONTROLLERS) {
        snprintf(err, errlen, "at most %d controllers", MAX_CONTROLLERS);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        struct ofp_target t;
        char why[160];
        if (ofp_target_parse(targets[i], &t, why, sizeof(why))) {
            snprintf(err, errlen, "%s", why);
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(targets[i], targets[j])) {
                snprintf(err, errlen, "%s: given twice", targets[i]);
                return -EINVAL;
            }
    }
    struct controller keep[MAX_CONTROLLERS];
    unsigned n_keep = 0;
    bool used[MAX_CONTROLLERS] = {false};
    for (size_t i = 0; i < n; i++) {
        unsigned j;
        for (j = 0; j < a->n_ctl; j++)
            if (!used[j] && !strcmp(a->ctl[j].target, targets[i]))
                break;
        if (j < a->n_ctl) {
            keep[n_keep++] = a->ctl[j];
            used[j] = true;
        } else {
            memset(&keep[n_keep], 0, sizeof(keep[n_keep]));
            snprintf(keep[n_keep++].target, sizeof(keep[0].target), "%s", targets[i]);
        }
    }
    for (unsigned j = 0; j < a->n_ctl; j++)
        if (!used[j]) {
            KK_LOGI(ofagent_log, "%s: controller %s removed", a->name, a->ctl[j].target);
            controller_close(a, &a->ctl[j]);
        }
    memcpy(a->ctl, keep, n_keep * sizeof(keep[0]));
    a->n_ctl = n_keep;
    for (unsigned i = 0; i < a->n_ctl; i++)
        if (!a->ctl[i].c && !a->ctl[i].l)
            controller_open(a, &a->ctl[i], a->ctl[i].target);
    update_fail_open(a);
    update_miss(a);
    return 0;
}

void sw_ofagent_set_fail_mode(struct sw_ofagent *a, enum sw_fail_mode mode)
{
    if (!a)
        return;
    a->fail_mode = mode;
    update_fail_open(a);
}

unsigned sw_ofagent_n_controllers(const struct sw_ofagent *a)
{
    return a ? a->n_ctl : 0;
}

static int listeners_open(struct sw_ofagent *a)
{
    struct ofp_conn_opts o;
    conn_opts(a, &o);
    char target[4200];
    int rc = 0;
    if (a->mgmt_path) {
        snprintf(target, sizeof(target), "punix:%s", a->mgmt_path);
        rc = ofp_listener_create(a->r, target, &o, &callbacks, a, &a->mgmt);
        if (rc)
            KK_LOGE(ofagent_log, "%s: cannot listen on %s: %s", a->name, target, strerror(-rc));
    }
    if (!rc && a->snoop_path) {
        snprintf(target, sizeof(target), "punix:%s", a->snoop_path);
        int src = ofp_listener_create(a->r, target, &o, &callbacks, a, &a->snoop);
        if (src)
            KK_LOGW(ofagent_log, "%s: no snoop socket %s: %s", a->name, target, strerror(-src));
    }
    return rc;
}

static void listeners_close(struct sw_ofagent *a)
{
    struct session **pp = &a->sessions;
    while (*pp) {
        struct session *s = *pp;
        struct ofp_listener *l = s->c ? ofp_conn_listener(s->c) : NULL;
        if (l && (l == a->mgmt || l == a->snoop)) {
            *pp = s->next;
            if (s->snoop)
                a->n_snoopers--;
            free(s);
        } else {
            pp = &s->next;
        }
    }
    ofp_listener_destroy(a->mgmt);
    ofp_listener_destroy(a->snoop);
    a->mgmt = a->snoop = NULL;
}

void sw_ofagent_set_versions(struct sw_ofagent *a, uint32_t versions)
{
    if (!a || !versions || versions == a->versions)
        return;
    a->versions = versions;
    listeners_close(a);
    listeners_open(a);
    for (unsigned i = 0; i < a->n_ctl; i++) {
        char target[128];
        snprintf(target, sizeof(target), "%s", a->ctl[i].target);
        controller_close(a, &a->ctl[i]);
        controller_open(a, &a->ctl[i], target);
    }
    update_fail_open(a);
    update_miss(a);
}

void sw_ofagent_controllers(struct sw_ofagent *a,
                            void (*fn)(void *arg, const struct sw_ofagent_controller *c),
                            void *arg)
{
    for (unsigned i = 0; a && i < a->n_ctl; i++) {
        struct sw_ofagent_controller info;
        memset(&info, 0, sizeof(info));
        snprintf(info.target, sizeof(info.target), "%s", a->ctl[i].target);
        if (a->ctl[i].c) {
            struct ofp_conn_stats st;
            ofp_conn_get_stats(a->ctl[i].c, &st);
            info.connected = st.state == OFP_CONN_UP;
            info.state = ofp_conn_state_name(st.state);
            info.role = info.connected ? ofp_conn_role_name(st.role) : "other";
            info.version = st.version;
            snprintf(info.last_error, sizeof(info.last_error), "%s", st.last_error);
            info.msgs_in = st.msgs_in;
            info.msgs_out = st.msgs_out;
        } else {
            info.state = a->ctl[i].l ? "listening" : "failed";
            info.role = "other";
            if (a->ctl[i].l) {
                struct ofp_listener_stats ls;
                ofp_listener_get_stats(a->ctl[i].l, &ls);
                info.connected = ls.n_conns > 0;
            }
        }
        fn(arg, &info);
    }
}

void sw_ofagent_run(struct sw_ofagent *a)
{
    if (!a)
        return;
    ports_poll(a);
    update_fail_open(a);
}

int sw_ofagent_create(const struct sw_ofagent_settings *st, struct sw_ofagent **out)
{
    struct sw_ofagent *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    snprintf(a->name, sizeof(a->name), "%s", st->name ? st->name : "?");
    snprintf(a->sw_version, sizeof(a->sw_version), "%s", st->sw_version ? st->sw_version : "");
    a->ofp = st->ofp;
    a->dpif = st->dpif;
    a->r = st->reactor;
    a->dpid = st->datapath_id;
    a->versions = st->versions ? st->versions : (OFP_CONN_V10 | OFP_CONN_V13);
    a->changed = st->changed;
    a->sync = st->sync;
    a->port_mac = st->port_mac;
    a->arg = st->arg;
    a->mgmt_path = st->mgmt_path ? strdup(st->mgmt_path) : NULL;
    a->snoop_path = st->snoop_path ? strdup(st->snoop_path) : NULL;
    ofp_buf_init(&a->out);
    int rc = ofp_role_group_create(&a->roles);
    if (!rc && a->r)
        rc = listeners_open(a);
    if (rc) {
        sw_ofagent_destroy(a);
        return rc;
    }
    *out = a;
    return 0;
}

void sw_ofagent_destroy(struct sw_ofagent *a)
{
    if (!a)
        return;
    for (unsigned i = 0; i < a->n_ctl; i++)
        controller_close(a, &a->ctl[i]);
    listeners_close(a);
    while (a->sessions) {
        struct session *s = a->sessions;
        a->sessions = s->next;
        free(s);
    }
    ofp_role_group_destroy(a->roles);
    sw_ofproto_set_fail_open(a->ofp, false);
    sw_ofproto_set_miss(a->ofp, false, 0);
    ofp_buf_free(&a->out);
    free(a->ports);
    free(a->mgmt_path);
    free(a->snoop_path);
    free(a);
}
