/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what a guest's agent sends back to `kvmkit host exec`
 * (apps/host/host_agent.c). The guest is untrusted.
 *
 * Input: the first byte picks a chunk size (1-64), the rest is the reply
 * stream, fed in chunks as reads would deliver it, for a request of ID
 * "7-42". Checks: feeding stops at our end line and never before it; the
 * output is a prefix of what was fed after any dropped (other IDs') parts;
 * the status is 0-255; the byte after the output starts our end line;
 * a second feed after the end changes nothing. Any broken invariant aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)(data[0] % 64) + 1;
    const char *in = (const char *)data + 1;
    size_t n = size - 1, fed = 0;
    struct host_agent_reply r = {.id = "7-42"};
    int rc = 0;
    while (fed < n && rc == 0) {
        size_t k = n - fed < chunk ? n - fed : chunk;
        rc = host_agent_reply_feed(&r, in + fed, k);
        fed += k;
    }
    if (rc < 0 || r.len > fed)
        abort();
    if (rc == 1) {
        static const char end[] = "\nKVMKIT-AGENT-END 7-42 ";
        if (!r.done || r.status < 0 || r.status > 255 || r.out_len > r.len ||
            r.len - r.out_len < sizeof(end) - 1 ||
            memcmp(r.buf + r.out_len, end, sizeof(end) - 1) != 0)
            abort();
        size_t before = r.len;
        if (host_agent_reply_feed(&r, "x", 1) != 1 || r.len != before)
            abort();
    } else if (r.done) {
        abort();
    }
    host_agent_reply_free(&r);
    return 0;
}
