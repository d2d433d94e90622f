/* SPDX-License-Identifier: Apache-2.0 */
/*
 * group.c — OpenFlow groups of a bridge: the group table (sorted by id,
 * read by translations under cfg_lock), group-mods in ovs-ofctl syntax,
 * chain-loop checks and dumps. Translation of the group action is in
 * xlate.c.
 *
 * A group is immutable once published, except for its counters: a modify
 * builds a new one (its counters carried over) and swaps it in under the
 * write lock, so a translation sees the old group or the new one whole.
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

static const char *const type_names[] = {"all", "select", "indirect", "ff"};

const char *sw_group_type_name(enum sw_group_type t)
{
    return (unsigned)t < 4 ? type_names[t] : "?";
}

static void group_free(struct group *g)
{
    if (!g)
        return;
    for (unsigned i = 0; i < g->n_buckets; i++)
        sw_ofpacts_free(g->buckets[i].actions);
    free(g);
}

void sw__groups_free(struct sw_ofproto *ofp)
{
    for (unsigned i = 0; i < ofp->n_groups; i++)
        group_free(ofp->groups[i]);
    free(ofp->groups);
    ofp->groups = NULL;
    ofp->n_groups = ofp->cap_groups = 0;
}

/* Index of @id in the sorted table, or where it would go (*found false). */
static unsigned group_slot(const struct sw_ofproto *ofp, uint32_t id, bool *found)
{
    unsigned lo = 0, hi = ofp->n_groups;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (ofp->groups[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < ofp->n_groups && ofp->groups[lo]->id == id;
    return lo;
}

struct group *sw__group_find(const struct sw_ofproto *ofp, uint32_t id)
{
    bool found;
    unsigned i = group_slot(ofp, id, &found);
    return found ? ofp->groups[i] : NULL;
}

bool sw__group_exists(struct sw_ofproto *ofp, uint32_t id)
{
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    bool r = sw__group_find(ofp, id) != NULL;
    pthread_rwlock_unlock(&ofp->cfg_lock);
    return r;
}

/* ---- parsing ---- */

int sw__parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > max)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

/* Split @text (modified) at each ",bucket=" into the header and buckets. */
static unsigned split_buckets(char *text, char **buckets, unsigned max)
{
    unsigned n = 0;
    char *p = text;
    for (;;) {
        char *b = strstr(p, "bucket=");
        while (b && b != text && b[-1] != ',')
            b = strstr(b + 1, "bucket=");
        if (!b)
            break;
        if (b != text)
            b[-1] = '\0';
        if (n < max)
            buckets[n] = b + 7;
        n++;
        p = b + 7;
    }
    return n;
}

/* "weight:N,watch_port:P,...,actions=LIST" or "weight:N,...,LIST". */
static int parse_bucket(struct sw_ofproto *ofp, char *text, enum sw_group_type type,
                        struct group_bucket *b, char *err, size_t err_size)
{
    b->weight = type == SW_GROUP_SELECT ? 100 : 0;
    b->watch_port = SW_GROUP_WATCH_NONE;
    b->watch_group = SW_GROUP_WATCH_NONE;
    char *p = text;
    for (;;) {
        char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char *colon = memchr(p, ':', n);
        if (!colon)
            break;
        size_t klen = (size_t)(colon - p);
        bool w = klen == 6 && !strncasecmp(p, "weight", 6);
        bool wp = klen == 10 && !strncasecmp(p, "watch_port", 10);
        bool wg = klen == 11 && !strncasecmp(p, "watch_group", 11);
        bool id = klen == 9 && !strncasecmp(p, "bucket_id", 9);
        if (!w && !wp && !wg && !id)
            break; /* the actions start here */
        char val[64];
        size_t vlen = n - klen - 1;
        if (vlen >= sizeof(val))
            return sw__fail(err, err_size, "bucket: value too long in '%s'", text);
        memcpy(val, colon + 1, vlen);
        val[vlen] = '\0';
        uint32_t v;
        if (w) {
            if (sw__parse_u32(val, 65535, &v))
                return sw__fail(err, err_size, "bucket: bad weight '%s' (0..65535)", val);
            b->weight = (uint16_t)v;
        } else if (wp) {
            if (sw__parse_u32(val, SW_OFPORT_MAX, &v) || v == 0) {
                if (sw__ofport_from_text(ofp, val, &v))
                    return sw__fail(err, err_size, "bucket: unknown watch_port '%s'", val);
            }
            b->watch_port = v;
        } else if (wg) {
            if (sw__parse_u32(val, SW_GROUP_MAX_ID, &v))
                return sw__fail(err, err_size, "bucket: bad watch_group '%s'", val);
            b->watch_group = v;
        } else if (sw__parse_u32(val, UINT32_MAX, &v)) {
            return sw__fail(err, err_size, "bucket: bad bucket_id '%s'", val);
        }
        if (!comma) {
            p += n;
            break;
        }
        p = comma + 1;
    }
    if (!strncasecmp(p, "actions=", 8))
        p += 8;
    else if (!strncasecmp(p, "actions:", 8))
        p += 8;
    if (type == SW_GROUP_FF && b->watch_port == SW_GROUP_WATCH_NONE &&
        b->watch_group == SW_GROUP_WATCH_NONE)
        return sw__fail(err, err_size, "fast-failover bucket '%s' watches no port or group",
                        text);
    return sw_ofpacts_parse(ofp, p, NULL, NULL, 0, &b->actions, err, err_size);
}

/* Only plain actions in a bucket (no instructions, no resubmit). */
static int check_bucket_actions(const struct sw_ofpacts *a, char *err, size_t err_size)
{
    for (unsigned i = 0; a && i < a->n; i++) {
        switch (a->a[i].type) {
        case SWACT_GOTO_TABLE:
        case SWACT_CLEAR_ACTIONS:
        case SWACT_WRITE_ACTIONS:
        case SWACT_WRITE_METADATA:
        case SWACT_RESUBMIT:
        case SWACT_METER:
            return sw__fail(err, err_size,
                            "a bucket takes actions only (no goto_table, write_actions, "
                            "clear_actions, write_metadata, meter or resubmit)");
        default:
            break;
        }
    }
    return 0;
}

struct gm {
    uint32_t id;
    bool all;                       /* delete: every group */
    bool has_type;
    enum sw_group_type type;
    unsigned n_buckets;
    struct group_bucket buckets[SW_GROUP_MAX_BUCKETS];
};

static void gm_uninit(struct gm *gm)
{
    for (unsigned i = 0; i < gm->n_buckets; i++)
        sw_ofpacts_free(gm->buckets[i].actions);
    gm->n_buckets = 0;
}

static int gm_parse(struct sw_ofproto *ofp, enum sw_group_mod_cmd cmd, const char *text,
                    struct gm *gm, char *err, size_t err_size)
{
    memset(gm, 0, sizeof(*gm));
    gm->id = SW_GROUP_WATCH_NONE;
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)text[i]))
            copy[n++] = text[i];
    copy[n] = '\0';
    char *buckets[SW_GROUP_MAX_BUCKETS];
    unsigned nb = split_buckets(copy, buckets, SW_GROUP_MAX_BUCKETS);
    int r = 0;
    if (nb > SW_GROUP_MAX_BUCKETS)
        r = sw__fail(err, err_size, "more than %d buckets", SW_GROUP_MAX_BUCKETS);
    /* the header: group_id=N,type=T */
    for (char *tok = copy, *next; r == 0 && tok && *tok; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        char *eq = strchr(tok, '=');
        const char *v = eq ? eq + 1 : NULL;
        if (eq)
            *eq = '\0';
        if (!strcasecmp(tok, "group_id") && v) {
            if (cmd == SW_GM_DELETE && !strcasecmp(v, "all"))
                gm->all = true;
            else if (sw__parse_u32(v, SW_GROUP_MAX_ID, &gm->id))
                r = sw__fail(err, err_size, "group_id: bad value '%s' (0..%u)", v,
                             SW_GROUP_MAX_ID);
        } else if (!strcasecmp(tok, "type") && v) {
            gm->has_type = true;
            if (!strcasecmp(v, "all"))
                gm->type = SW_GROUP_ALL;
            else if (!strcasecmp(v, "select"))
                gm->type = SW_GROUP_SELECT;
            else if (!strcasecmp(v, "indirect"))
                gm->type = SW_GROUP_INDIRECT;
            else if (!strcasecmp(v, "ff") || !strcasecmp(v, "fast_failover"))
                gm->type = SW_GROUP_FF;
            else
                r = sw__fail(err, err_size, "type: '%s' is not all, select, indirect or ff", v);
        } else {
            r = sw__fail(err, err_size, "unknown group field '%s'", tok);
        }
    }
    if (r == 0 && cmd == SW_GM_DELETE) {
        if (nb || gm->has_type)
            r = sw__fail(err, err_size, "deleting takes group_id only");
        else if (gm->id == SW_GROUP_WATCH_NONE)
            gm->all = true;
    } else if (r == 0) {
        if (gm->id == SW_GROUP_WATCH_NONE)
            r = sw__fail(err, err_size, "group_id: missing");
        else if (!gm->has_type)
            r = sw__fail(err, err_size, "type: missing (all, select, indirect or ff)");
        else if (gm->type == SW_GROUP_INDIRECT && nb != 1)
            r = sw__fail(err, err_size, "an indirect group has exactly one bucket, not %u", nb);
    }
    for (unsigned i = 0; r == 0 && i < nb && cmd != SW_GM_DELETE; i++) {
        r = parse_bucket(ofp, buckets[i], gm->type, &gm->buckets[i], err, err_size);
        if (r == 0) {
            gm->n_buckets++;
            r = check_bucket_actions(gm->buckets[i].actions, err, err_size);
        }
    }
    free(copy);
    if (r)
        gm_uninit(gm);
    return r;
}

/* ---- chain loops ---- */

/* Groups @g's buckets name (group actions and watch_group), under cfg_lock
 * or for a group not yet published. */
static bool refers(const struct group_bucket *b, unsigned n, uint32_t id)
{
    for (unsigned i = 0; i < n; i++)
        if (b[i].watch_group == id || sw__ofpacts_uses_group(b[i].actions, id))
            return true;
    return false;
}

/* True if a chain from the buckets @b reaches group @target (the group
 * being added or modified, whose new buckets these are). */
static bool reaches(const struct sw_ofproto *ofp, const struct group_bucket *b, unsigned n,
                    uint32_t target, unsigned depth)
{
    if (depth > SW_OFP_MAX_RESUBMIT)
        return true; /* deeper than translation would follow: refuse */
    if (refers(b, n, target))
        return true;
    for (unsigned i = 0; i < ofp->n_groups; i++) {
        const struct group *g = ofp->groups[i];
        if (g->id != target && refers(b, n, g->id) &&
            reaches(ofp, g->buckets, g->n_buckets, target, depth + 1))
            return true;
    }
    return false;
}

/* Every group a bucket names exists (or is @self). Under cfg_lock. */
static int check_refs(const struct sw_ofproto *ofp, const struct gm *gm, char *err,
                      size_t err_size)
{
    for (unsigned i = 0; i < gm->n_buckets; i++) {
        const struct group_bucket *b = &gm->buckets[i];
        if (b->watch_group != SW_GROUP_WATCH_NONE && !sw__group_find(ofp, b->watch_group) &&
            b->watch_group != gm->id)
            return sw__fail(err, err_size, "bucket %u: watch_group %" PRIu32 " does not exist",
                            i, b->watch_group);
    }
    return 0;
}

/* ---- group-mod ---- */

static int table_insert(struct sw_ofproto *ofp, unsigned at, struct group *g)
{
    if (ofp->n_groups == ofp->cap_groups) {
        unsigned cap = ofp->cap_groups ? ofp->cap_groups * 2 : 16;
        struct group **t = realloc(ofp->groups, cap * sizeof(*t));
        if (!t)
            return -ENOMEM;
        ofp->groups = t;
        ofp->cap_groups = cap;
    }
    memmove(ofp->groups + at + 1, ofp->groups + at, (ofp->n_groups - at) * sizeof(*ofp->groups));
    ofp->groups[at] = g;
    ofp->n_groups++;
    return 0;
}

int sw_ofproto_group_mod(struct sw_ofproto *ofp, enum sw_group_mod_cmd cmd, const char *text,
                         char *err, size_t err_size)
{
    if (!ofp || !text || (unsigned)cmd > SW_GM_DELETE)
        return sw__fail(err, err_size, "bad arguments");
    if (err_size)
        err[0] = '\0';
    struct gm *gm = malloc(sizeof(*gm));
    if (!gm)
        return -ENOMEM;
    pthread_mutex_lock(&ofp->mutex);
    int r = gm_parse(ofp, cmd, text, gm, err, err_size);
    if (r) {
        pthread_mutex_unlock(&ofp->mutex);
        free(gm);
        return r;
    }

    if (cmd == SW_GM_DELETE) {
        /* rules using a deleted group go with it (OpenFlow 1.3, 6.5) */
        pthread_rwlock_wrlock(&ofp->cfg_lock);
        struct group **gone = NULL;
        unsigned n_gone = 0;
        if (gm->all) {
            gone = ofp->groups;
            n_gone = ofp->n_groups;
            ofp->groups = NULL;
            ofp->n_groups = ofp->cap_groups = 0;
        } else {
            bool found;
            unsigned i = group_slot(ofp, gm->id, &found);
            if (found) {
                gone = malloc(sizeof(*gone));
                if (gone) {
                    gone[0] = ofp->groups[i];
                    n_gone = 1;
                    memmove(ofp->groups + i, ofp->groups + i + 1,
                            (ofp->n_groups - i - 1) * sizeof(*ofp->groups));
                    ofp->n_groups--;
                } else {
                    r = -ENOMEM;
                }
            }
        }
        pthread_rwlock_unlock(&ofp->cfg_lock);
        for (unsigned i = 0; i < n_gone; i++) {
            sw__ofproto_del_rules_with_group(ofp, gone[i]->id);
            group_free(gone[i]);
        }
        free(gone);
        if (n_gone)
            sw__ofproto_bump(ofp);
        pthread_mutex_unlock(&ofp->mutex);
        free(gm);
        return r; /* deleting a missing group is not an error (OpenFlow) */
    }

    struct group *g = calloc(1, sizeof(*g) + gm->n_buckets * sizeof(struct group_bucket));
    if (!g) {
        gm_uninit(gm);
        pthread_mutex_unlock(&ofp->mutex);
        free(gm);
        return -ENOMEM;
    }
    g->id = gm->id;
    g->type = gm->type;
    g->n_buckets = gm->n_buckets;
    memcpy(g->buckets, gm->buckets, gm->n_buckets * sizeof(struct group_bucket));
    gm->n_buckets = 0; /* owned by g now */
    g->created_ms = sw__ofproto_now(ofp);

    pthread_rwlock_wrlock(&ofp->cfg_lock);
    bool found;
    unsigned at = group_slot(ofp, g->id, &found);
    struct group *old = found ? ofp->groups[at] : NULL;
    if (found && cmd == SW_GM_ADD) {
        sw__fail(err, err_size, "group %" PRIu32 " exists", g->id);
        r = -EEXIST;
    } else if (!found && cmd == SW_GM_MODIFY) {
        sw__fail(err, err_size, "group %" PRIu32 " does not exist", g->id);
        r = -ENOENT;
    }
    if (r == 0) {
        struct gm probe;
        probe.id = g->id;
        probe.n_buckets = g->n_buckets;
        memcpy(probe.buckets, g->buckets, g->n_buckets * sizeof(struct group_bucket));
        r = check_refs(ofp, &probe, err, err_size);
    }
    if (r == 0 && reaches(ofp, g->buckets, g->n_buckets, g->id, 0)) {
        sw__fail(err, err_size, "group %" PRIu32 ": a chain of groups leads back to it", g->id);
        r = -ELOOP;
    }
    if (r == 0 && old) {
        /* modify: the group's counters carry over (its buckets start anew) */
        atomic_store(&g->n_packets, atomic_load(&old->n_packets));
        atomic_store(&g->n_bytes, atomic_load(&old->n_bytes));
        g->created_ms = old->created_ms;
        ofp->groups[at] = g;
    } else if (r == 0) {
        r = table_insert(ofp, at, g);
    }
    pthread_rwlock_unlock(&ofp->cfg_lock);
    if (r) {
        group_free(g);
    } else {
        group_free(old); /* no translation holds it: they run under the read lock */
        sw__ofproto_bump(ofp);
    }
    pthread_mutex_unlock(&ofp->mutex);
    free(gm);
    return r;
}

/* ---- dumps ---- */


int sw_ofproto_group_foreach(struct sw_ofproto *ofp, uint32_t id,
                             void (*fn)(void *arg, const struct sw_group_desc *g), void *arg)
{
    if (!ofp)
        return 0;
    uint64_t now = sw__ofproto_now(ofp);
    /* the ids first (reference counts walk the rules, which takes the
     * bridge mutex: not under cfg_lock) */
    pthread_rwlock_rdlock(&ofp->cfg_lock);
    unsigned n = ofp->n_groups;
    uint32_t *ids = malloc((n ? n : 1) * sizeof(*ids));
    if (!ids) {
        pthread_rwlock_unlock(&ofp->cfg_lock);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n; i++)
        ids[i] = ofp->groups[i]->id;
    pthread_rwlock_unlock(&ofp->cfg_lock);
    struct sw_group_desc *d = malloc(sizeof(*d));
    if (!d) {
        free(ids);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        if (id != SW_GROUP_WATCH_NONE && ids[i] != id)
            continue;
        unsigned refs = sw__ofproto_count_rules_using(ofp, false, ids[i]);
        pthread_rwlock_rdlock(&ofp->cfg_lock);
        const struct group *g = sw__group_find(ofp, ids[i]);
        if (g) {
            d->id = g->id;
            d->type = g->type;
            d->duration_ms = now > g->created_ms ? now - g->created_ms : 0;
            d->ref_count = refs;
            d->n_packets = atomic_load(&g->n_packets);
            d->n_bytes = atomic_load(&g->n_bytes);
            d->n_buckets = g->n_buckets;
            for (unsigned b = 0; b < g->n_buckets; b++) {
                const struct group_bucket *k = &g->buckets[b];
                d->buckets[b].weight = k->weight;
                d->buckets[b].watch_port = k->watch_port;
                d->buckets[b].watch_group = k->watch_group;
                d->buckets[b].actions = k->actions;
                d->buckets[b].n_packets = atomic_load(&k->n_packets);
                d->buckets[b].n_bytes = atomic_load(&k->n_bytes);
            }
            fn(arg, d);
        }
        pthread_rwlock_unlock(&ofp->cfg_lock);
    }
    free(d);
    free(ids);
    return 0;
}

struct dump_ctx {
    struct sw__out o;
    bool stats;
};

static void dump_group(void *arg, const struct sw_group_desc *g)
{
    struct dump_ctx *c = arg;
    struct sw__out *o = &c->o;
    if (c->stats) {
        sw__put(o, " group_id=%" PRIu32 ",duration=%" PRIu64 ".%03" PRIu64 "s,ref_count=%u,"
            "packet_count=%" PRIu64 ",byte_count=%" PRIu64, g->id, g->duration_ms / 1000,
            g->duration_ms % 1000, g->ref_count, g->n_packets, g->n_bytes);
        for (unsigned b = 0; b < g->n_buckets; b++)
            sw__put(o, ",bucket%u:packet_count=%" PRIu64 ",byte_count=%" PRIu64, b,
                g->buckets[b].n_packets, g->buckets[b].n_bytes);
        sw__put(o, "\n");
        return;
    }
    sw__put(o, " group_id=%" PRIu32 ",type=%s", g->id, sw_group_type_name(g->type));
    for (unsigned b = 0; b < g->n_buckets; b++) {
        const struct sw_group_bucket_desc *k = &g->buckets[b];
        char acts[2048];
        sw_ofpacts_format(k->actions, acts, sizeof(acts));
        sw__put(o, ",bucket=");
        if (g->type == SW_GROUP_SELECT)
            sw__put(o, "weight:%u,", k->weight);
        if (k->watch_port != SW_GROUP_WATCH_NONE)
            sw__put(o, "watch_port:%" PRIu32 ",", k->watch_port);
        if (k->watch_group != SW_GROUP_WATCH_NONE)
            sw__put(o, "watch_group:%" PRIu32 ",", k->watch_group);
        sw__put(o, "actions=%s", acts);
    }
    sw__put(o, "\n");
}

int sw_ofproto_dump_groups(struct sw_ofproto *ofp, uint32_t id, bool stats, char *buf,
                           size_t size)
{
    struct dump_ctx c = {.o = {.buf = buf, .size = size}, .stats = stats};
    if (size)
        buf[0] = '\0';
    int rc = sw_ofproto_group_foreach(ofp, id, dump_group, &c);
    if (rc < 0)
        return rc;
    return c.o.len > INT32_MAX ? INT32_MAX : (int)c.o.len;
}
