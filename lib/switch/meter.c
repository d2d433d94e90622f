/* SPDX-License-Identifier: Apache-2.0 */
/*
 * meter.c — OpenFlow meters of a bridge: the meter table (sorted by id,
 * read by translations under cfg_lock for the datapath number), meter-mods
 * in ovs-ofctl syntax and dumps. The datapath enforces them
 * (sw_dpif_meter_*), reached through the bridge's meter provider, which
 * numbers datapath meters across bridges.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ofproto_internal.h"

#define METER_MAX_ID 0xffff0000u /* OpenFlow's OFPM_MAX */

static unsigned meter_slot(const struct sw_ofproto *ofp, uint32_t id, bool *found)
{
    unsigned lo = 0, hi = ofp->n_meters;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (ofp->meters[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < ofp->n_meters && ofp->meters[lo].id == id;
    return lo;
}

uint32_t sw__meter_dp_id(const struct sw_ofproto *ofp, uint32_t id)
{
    bool found;
    unsigned i = meter_slot(ofp, id, &found);
    return found ? ofp->meters[i].dp_id : UINT32_MAX;
}

bool sw__meter_exists(struct sw_ofproto *ofp, uint32_t id)
{
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    bool r = sw__meter_dp_id(ofp, id) != UINT32_MAX;
    pthread_rwlock_unlock(&ofp->cfg_lock);
    return r;
}

void sw__meters_free(struct sw_ofproto *ofp)
{
    if (ofp->has_meter_provider)
        for (unsigned i = 0; i < ofp->n_meters; i++)
            ofp->meter_provider.del(ofp->meter_provider.arg, ofp->meters[i].dp_id);
    free(ofp->meters);
    ofp->meters = NULL;
    ofp->n_meters = 0;
}

/* ---- parsing ---- */

struct mm {
    uint32_t id;
    bool all;
    bool burst;
    struct sw_meter_config cfg;
};

/*
 * "meter=N,kbps|pktps,burst,stats,band[s]=type=drop,rate=R[,burst_size=B],
 * type=drop,rate=..." — each band starts at "type=".
 */
static int mm_parse(enum sw_meter_mod_cmd cmd, const char *text, struct mm *mm, char *err,
                    size_t err_size)
{
    memset(mm, 0, sizeof(*mm));
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)text[i]))
            copy[n++] = text[i];
    copy[n] = '\0';
    int r = 0;
    bool have_id = false, in_bands = false, kbps = false;
    struct sw_meter_band *band = NULL;
    for (char *tok = copy, *next; r == 0 && tok && *tok; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        /* "bands=type=drop": the band list starts with its first field */
        if (!strncasecmp(tok, "bands=", 6) || !strncasecmp(tok, "band=", 5)) {
            in_bands = true;
            tok = strchr(tok, '=') + 1;
            if (!*tok)
                continue;
        }
        char *eq = strchr(tok, '=');
        const char *v = eq ? eq + 1 : NULL;
        if (eq)
            *eq = '\0';
        if (in_bands) {
            uint32_t x;
            if (!strcasecmp(tok, "type") && v) {
                if (mm->cfg.n_bands == SW_METER_MAX_BANDS) {
                    r = sw__fail(err, err_size, "more than %d bands", SW_METER_MAX_BANDS);
                } else if (!strcasecmp(v, "dscp_remark")) {
                    r = sw__fail(err, err_size, "band type dscp_remark: not supported (drop "
                                 "bands only)");
                    r = -ENOTSUP;
                } else if (strcasecmp(v, "drop")) {
                    r = sw__fail(err, err_size, "band type '%s': not drop or dscp_remark", v);
                } else {
                    band = &mm->cfg.bands[mm->cfg.n_bands++];
                }
            } else if (!band) {
                r = sw__fail(err, err_size, "band: '%s' before type=", tok);
            } else if (!strcasecmp(tok, "rate") && v) {
                if (sw__parse_u32(v, UINT32_MAX, &x) || x == 0)
                    r = sw__fail(err, err_size, "band: bad rate '%s'", v);
                band->rate = x;
            } else if (!strcasecmp(tok, "burst_size") && v) {
                if (sw__parse_u32(v, UINT32_MAX, &x))
                    r = sw__fail(err, err_size, "band: bad burst_size '%s'", v);
                band->burst = x;
            } else if (!strcasecmp(tok, "prec_level") && v) {
                r = sw__fail(err, err_size, "band: prec_level is for dscp_remark bands");
            } else {
                r = sw__fail(err, err_size, "band: unknown field '%s'", tok);
            }
        } else if (!strcasecmp(tok, "meter") && v) {
            if (cmd == SW_MM_DELETE && !strcasecmp(v, "all"))
                mm->all = true;
            else if (sw__parse_u32(v, METER_MAX_ID, &mm->id) || mm->id == 0)
                r = sw__fail(err, err_size, "meter: bad id '%s' (1..0x%x)", v, METER_MAX_ID);
            have_id = true;
        } else if (!strcasecmp(tok, "kbps") && !v) {
            kbps = true;
        } else if (!strcasecmp(tok, "pktps") && !v) {
            mm->cfg.pktps = true;
        } else if (!strcasecmp(tok, "burst") && !v) {
            mm->burst = true;
        } else if (!strcasecmp(tok, "stats") && !v) {
            /* statistics are always kept */
        } else {
            r = sw__fail(err, err_size, "unknown meter field '%s'", tok);
        }
    }
    free(copy);
    if (r)
        return r;
    if (kbps && mm->cfg.pktps)
        return sw__fail(err, err_size, "kbps and pktps: choose one");
    if (cmd == SW_MM_DELETE) {
        if (mm->cfg.n_bands)
            return sw__fail(err, err_size, "deleting takes meter=N only");
        if (!have_id)
            mm->all = true;
        return 0;
    }
    if (!have_id || mm->all)
        return sw__fail(err, err_size, "meter: missing id");
    if (mm->cfg.n_bands == 0)
        return sw__fail(err, err_size, "a meter needs at least one band (bands=type=drop,rate=N)");
    for (unsigned i = 0; i < mm->cfg.n_bands; i++)
        if (mm->cfg.bands[i].rate == 0)
            return sw__fail(err, err_size, "band %u: rate missing", i);
    return 0;
}

/* ---- meter-mod ---- */

int sw_ofproto_meter_mod(struct sw_ofproto *ofp, enum sw_meter_mod_cmd cmd, const char *text,
                         char *err, size_t err_size)
{
    if (!ofp || !text || (unsigned)cmd > SW_MM_DELETE)
        return sw__fail(err, err_size, "bad arguments");
    if (err_size)
        err[0] = '\0';
    if (!ofp->has_meter_provider) {
        sw__fail(err, err_size, "this bridge has no datapath meters");
        return -ENOTSUP;
    }
    struct mm mm;
    int r = mm_parse(cmd, text, &mm, err, err_size);
    if (r)
        return r;
    /* without the burst flag the datapath's default burst applies */
    if (!mm.burst)
        for (unsigned i = 0; i < mm.cfg.n_bands; i++)
            mm.cfg.bands[i].burst = 0;
    const struct sw_meter_provider *pv = &ofp->meter_provider;
    pthread_mutex_lock(&ofp->mutex);

    if (cmd == SW_MM_DELETE) {
        pthread_rwlock_wrlock(&ofp->cfg_lock);
        struct meter_entry *gone = NULL;
        unsigned n_gone = 0;
        if (mm.all) {
            gone = ofp->meters;
            n_gone = ofp->n_meters;
            ofp->meters = NULL;
            ofp->n_meters = 0;
        } else {
            bool found;
            unsigned i = meter_slot(ofp, mm.id, &found);
            if (found) {
                gone = malloc(sizeof(*gone));
                if (gone) {
                    gone[0] = ofp->meters[i];
                    n_gone = 1;
                    memmove(ofp->meters + i, ofp->meters + i + 1,
                            (ofp->n_meters - i - 1) * sizeof(*ofp->meters));
                    ofp->n_meters--;
                } else {
                    r = -ENOMEM;
                }
            }
        }
        pthread_rwlock_unlock(&ofp->cfg_lock);
        for (unsigned i = 0; i < n_gone; i++) {
            /* the rules first, so no new megaflow names the meter */
            sw__ofproto_del_rules_with_meter(ofp, gone[i].id);
            pv->del(pv->arg, gone[i].dp_id);
        }
        free(gone);
        if (n_gone)
            sw__ofproto_bump(ofp);
        pthread_mutex_unlock(&ofp->mutex);
        return r;
    }

    pthread_rwlock_rdlock(&ofp->cfg_lock);
    bool found;
    unsigned at = meter_slot(ofp, mm.id, &found);
    uint32_t dp_id = found ? ofp->meters[at].dp_id : UINT32_MAX;
    uint64_t created = found ? ofp->meters[at].created_ms : sw__ofproto_now(ofp);
    unsigned n = ofp->n_meters;
    pthread_rwlock_unlock(&ofp->cfg_lock);
    if (found && cmd == SW_MM_ADD) {
        sw__fail(err, err_size, "meter %" PRIu32 " exists", mm.id);
        r = -EEXIST;
    } else if (!found && cmd == SW_MM_MODIFY) {
        sw__fail(err, err_size, "meter %" PRIu32 " does not exist", mm.id);
        r = -ENOENT;
    } else if (!found && n >= SW_OFP_MAX_METERS) {
        sw__fail(err, err_size, "a bridge has at most %d meters", SW_OFP_MAX_METERS);
        r = -ENOSPC;
    }
    if (r == 0) {
        r = pv->set(pv->arg, &dp_id, &mm.cfg);
        if (r < 0)
            sw__fail(err, err_size, "the datapath refused meter %" PRIu32 ": %s", mm.id,
                     r == -ENOSPC ? "no free datapath meter" : strerror(-r));
    }
    if (r == 0) {
        struct meter_entry e = {.id = mm.id, .dp_id = dp_id, .burst = mm.burst,
                                .created_ms = created, .cfg = mm.cfg};
        /* the table only changes under the write lock (translations read
         * it); the bridge mutex keeps @at and @n valid meanwhile */
        pthread_rwlock_wrlock(&ofp->cfg_lock);
        if (found) {
            ofp->meters[at] = e;
        } else {
            struct meter_entry *grown = realloc(ofp->meters, (n + 1) * sizeof(*grown));
            if (grown) {
                ofp->meters = grown;
                memmove(grown + at + 1, grown + at, (n - at) * sizeof(*grown));
                grown[at] = e;
                ofp->n_meters++;
            } else {
                r = -ENOMEM;
            }
        }
        pthread_rwlock_unlock(&ofp->cfg_lock);
        if (r == 0)
            sw__ofproto_bump(ofp);
        else
            pv->del(pv->arg, dp_id);
    }
    pthread_mutex_unlock(&ofp->mutex);
    return r;
}

/* ---- dumps ---- */


int sw_ofproto_meter_foreach(struct sw_ofproto *ofp, uint32_t id,
                             void (*fn)(void *arg, const struct sw_meter_desc *m), void *arg)
{
    if (!ofp)
        return 0;
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    unsigned n = ofp->n_meters;
    struct meter_entry *copy = malloc((n ? n : 1) * sizeof(*copy));
    if (copy && n)
        memcpy(copy, ofp->meters, n * sizeof(*copy));
    pthread_rwlock_unlock(&ofp->cfg_lock);
    if (!copy)
        return -ENOMEM;
    uint64_t now = sw__ofproto_now(ofp);
    for (unsigned i = 0; i < n; i++) {
        const struct meter_entry *m = &copy[i];
        if (id && m->id != id)
            continue;
        struct sw_meter_desc d;
        memset(&d, 0, sizeof(d));
        d.id = m->id;
        d.burst = m->burst;
        d.cfg = m->cfg;
        d.flow_count = sw__ofproto_count_rules_using(ofp, true, m->id);
        if (ofp->has_meter_provider)
            ofp->meter_provider.stats(ofp->meter_provider.arg, m->dp_id, &d.stats);
        d.duration_ms = now > m->created_ms ? now - m->created_ms : 0;
        fn(arg, &d);
    }
    free(copy);
    return 0;
}

struct dump_ctx {
    struct sw__out o;
    bool stats;
};

static void dump_meter(void *arg, const struct sw_meter_desc *m)
{
    struct dump_ctx *c = arg;
    struct sw__out *o = &c->o;
    if (!c->stats) {
        sw__put(o, " meter=%" PRIu32 ",%s%s,bands=", m->id, m->cfg.pktps ? "pktps" : "kbps",
            m->burst ? ",burst" : "");
        for (unsigned b = 0; b < m->cfg.n_bands; b++) {
            sw__put(o, "%stype=drop,rate=%" PRIu32, b ? "," : "", m->cfg.bands[b].rate);
            if (m->burst)
                sw__put(o, ",burst_size=%" PRIu32, m->cfg.bands[b].burst);
        }
        sw__put(o, "\n");
        return;
    }
    sw__put(o, " meter=%" PRIu32 ",flow_count=%u,packet_in_count=%" PRIu64
        ",byte_in_count=%" PRIu64 ",duration=%" PRIu64 ".%03" PRIu64 "s,bands=", m->id,
        m->flow_count, m->stats.packets, m->stats.bytes, m->duration_ms / 1000,
        m->duration_ms % 1000);
    for (unsigned b = 0; b < m->cfg.n_bands; b++)
        sw__put(o, "%s%u:packet_count=%" PRIu64 ",byte_count=%" PRIu64, b ? "," : "", b,
            m->stats.band_packets[b], m->stats.band_bytes[b]);
    sw__put(o, "\n");
}

int sw_ofproto_dump_meters(struct sw_ofproto *ofp, uint32_t id, bool stats, char *buf,
                           size_t size)
{
    struct dump_ctx c = {.o = {.buf = buf, .size = size}, .stats = stats};
    if (size)
        buf[0] = '\0';
    int rc = sw_ofproto_meter_foreach(ofp, id, dump_meter, &c);
    if (rc < 0)
        return rc;
    return c.o.len > INT32_MAX ? INT32_MAX : (int)c.o.len;
}
