/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: OpenFlow messages applied to a bridge by the agent.
 *
 * The first input byte picks the channel's version (even: 1.0, odd: 1.3);
 * the rest is cut into messages by their header's length (a length below
 * 8 ends the input, as it closes a real channel). Each message goes
 * through sw_ofagent_handle() on one bridge with three ports that lives
 * for the whole input, so flow-mods, group-mods and port-mods build state
 * that later multipart requests and packet-outs read. Invariants: every
 * reply is a whole OpenFlow message (header length within the reply
 * bytes, the channel's version) that the codec decodes; nothing crashes
 * or leaks (ASan).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_log.h"
#include "kk_rcu.h"
#include "ofagent.h"
#include "ofp_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fixed_clock(void *arg)
{
    (void)arg;
    return 1000000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool registered;
    if (!registered) {
        kk_rcu_register_thread();
        kk_log_set_levels("error");   /* refusals are logged at info/debug */
        registered = true;
    }
    if (size < 1)
        return 0;
    uint8_t version = (data[0] & 1) ? OFP13_VERSION : OFP10_VERSION;
    data++, size--;
    struct sw_ofproto_settings s = {.name = "br0", .now_ms = fixed_clock};
    struct sw_ofproto *ofp;
    if (sw_ofproto_create(&s, &ofp))
        abort();
    for (unsigned n = 1; n <= 3; n++) {
        char name[8];
        snprintf(name, sizeof(name), "p%u", n);
        struct sw_port_settings ps = {.name = name, .ofport = n, .dp_port = 10 + n};
        if (sw_ofproto_port_add(ofp, &ps, NULL))
            abort();
    }
    struct sw_ofagent_settings as = {.name = "br0", .ofp = ofp, .datapath_id = 1};
    struct sw_ofagent *a;
    if (sw_ofagent_create(&as, &a))
        abort();
    static uint8_t out[1 << 20];
    while (size >= 8) {
        long n = ofp_frame_len(data, size);
        if (n < 8 || (size_t)n > size)
            break;
        long r = sw_ofagent_handle(a, version, data, (size_t)n, out, sizeof(out));
        if (r < 0)
            abort();
        for (long off = 0; off < r;) {
            if (r - off < 8)
                abort();
            size_t len = (size_t)out[off + 2] << 8 | out[off + 3];
            if (len < 8 || off + (long)len > r || out[off] != version)
                abort();
            struct ofp_msg m;
            struct ofp_error e;
            if (ofp_decode(out + off, len, &m, &e) != 0)
                abort();
            ofp_msg_free(&m);
            off += (long)len;
        }
        data += n;
        size -= (size_t)n;
    }
    sw_ofagent_destroy(a);
    sw_ofproto_destroy(ofp);
    return 0;
}
