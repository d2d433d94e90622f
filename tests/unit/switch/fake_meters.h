/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_meters.h — a meter provider for the switch unit tests that records
 * what a bridge asks of the datapath (include after cmocka.h). Each test
 * brings its own stats callback (the counters it wants to see back).
 */
#ifndef KK_TEST_FAKE_METERS_H
#define KK_TEST_FAKE_METERS_H

#include <stdbool.h>
#include <stdint.h>

#include "ofproto.h"

struct fake_meters {
    bool used[8];
    struct sw_meter_config cfg[8];
    unsigned sets, dels;
};

static inline int fake_meter_set(void *arg, uint32_t *dp_id, const struct sw_meter_config *c)
{
    struct fake_meters *f = arg;
    if (*dp_id == UINT32_MAX) {
        uint32_t i = 0;
        while (i < 8 && f->used[i])
            i++;
        if (i == 8)
            return -ENOSPC;
        *dp_id = i;
        f->used[i] = true;
    }
    f->cfg[*dp_id] = *c;
    f->sets++;
    return 0;
}

static inline void fake_meter_del(void *arg, uint32_t dp_id)
{
    struct fake_meters *f = arg;
    assert_true(dp_id < 8 && f->used[dp_id]);
    f->used[dp_id] = false;
    f->dels++;
}

#endif
