/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Controller roles (OpenFlow 1.3, 6.3.5 "Role Change"): the bookkeeping
 * only; the codec decodes ROLE_REQUEST and encodes the reply or the
 * OFPRRFC_STALE error.
 */
#include <errno.h>
#include <stdlib.h>

#include "conn_internal.h"

struct ofp_role_group {
    struct ofp__role_member *members;
    bool has_generation;
    uint64_t generation;
};

int ofp_role_group_create(struct ofp_role_group **out)
{
    if (!out)
        return -EINVAL;
    struct ofp_role_group *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    *out = g;
    return 0;
}

void ofp_role_group_destroy(struct ofp_role_group *g)
{
    if (!g)
        return;
    while (g->members)
        ofp__role_leave(g->members);
    free(g);
}

bool ofp_role_group_generation(const struct ofp_role_group *g, uint64_t *out)
{
    if (g->has_generation && out)
        *out = g->generation;
    return g->has_generation;
}

void ofp__role_init(struct ofp__role_member *m)
{
    m->group = NULL;
    m->prev = m->next = NULL;
    m->role = OFP_CONN_ROLE_EQUAL;
    m->has_generation = false;
    m->generation = 0;
}

void ofp__role_leave(struct ofp__role_member *m)
{
    struct ofp_role_group *g = m->group;
    if (!g)
        return;
    if (m->prev)
        m->prev->next = m->next;
    else
        g->members = m->next;
    if (m->next)
        m->next->prev = m->prev;
    m->prev = m->next = NULL;
    m->group = NULL;
}

void ofp__role_join(struct ofp__role_member *m, struct ofp_role_group *g)
{
    if (m->group == g)
        return;
    ofp__role_leave(m);
    if (!g)
        return;
    m->group = g;
    m->next = g->members;
    if (g->members)
        g->members->prev = m;
    g->members = m;
}

void ofp__role_reset(struct ofp__role_member *m)
{
    m->role = OFP_CONN_ROLE_EQUAL;
}

int ofp__role_request(struct ofp__role_member *m, enum ofp_conn_role role, uint64_t generation_id,
                      enum ofp_conn_role *role_out)
{
    if (role != OFP_CONN_ROLE_NOCHANGE && role != OFP_CONN_ROLE_EQUAL &&
        role != OFP_CONN_ROLE_MASTER && role != OFP_CONN_ROLE_SLAVE)
        return -EINVAL;
    if (role == OFP_CONN_ROLE_MASTER || role == OFP_CONN_ROLE_SLAVE) {
        bool *has = m->group ? &m->group->has_generation : &m->has_generation;
        uint64_t *gen = m->group ? &m->group->generation : &m->generation;
        /* Signed distance, so the id may wrap around (6.3.5). */
        if (*has && (int64_t)(generation_id - *gen) < 0) {
            if (role_out)
                *role_out = m->role;
            return -ESTALE;
        }
        *has = true;
        *gen = generation_id;
    }
    if (role == OFP_CONN_ROLE_MASTER && m->group) {
        for (struct ofp__role_member *o = m->group->members; o; o = o->next) {
            if (o != m && o->role == OFP_CONN_ROLE_MASTER)
                o->role = OFP_CONN_ROLE_SLAVE;
        }
    }
    if (role != OFP_CONN_ROLE_NOCHANGE)
        m->role = role;
    if (role_out)
        *role_out = m->role;
    return 0;
}
