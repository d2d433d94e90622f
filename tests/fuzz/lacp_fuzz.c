/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: LACPDUs from arbitrary frames.
 *
 * The input is one received frame (libFuzzer's buffer is exactly @size
 * bytes, so ASan catches any read past the end). Then:
 *   - sw_lacp_pdu_parse() either refuses it with a one-line reason or
 *     decodes it, and a decoded PDU builds back to a frame that parses to
 *     the same PDU;
 *   - the frame goes through sw_lacp_process_frame() of an instance with
 *     two members, followed by timer runs, and every PDU it sends parses.
 * Any broken invariant aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lacp.h"

static void check_sent(void *arg, uint32_t member, const void *frame, size_t len)
{
    (void)arg;
    (void)member;
    struct sw_lacp_pdu pdu;
    if (len != SW_LACP_FRAME_LEN || sw_lacp_pdu_parse(frame, len, &pdu, NULL, 0) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sw_lacp_pdu pdu;
    char err[128];
    int rc = sw_lacp_pdu_parse(data, size, &pdu, err, sizeof(err));
    if (rc != 0) {
        if (rc != -EINVAL || err[0] == '\0' || strchr(err, '\n'))
            abort();
    } else {
        uint8_t frame[SW_LACP_FRAME_LEN];
        static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
        struct sw_lacp_pdu back;
        if (sw_lacp_pdu_build(&pdu, mac, frame) != SW_LACP_FRAME_LEN ||
            sw_lacp_pdu_parse(frame, sizeof(frame), &back, NULL, 0) != 0 ||
            memcmp(&back.actor, &pdu.actor, sizeof(pdu.actor)) != 0 ||
            memcmp(&back.partner, &pdu.partner, sizeof(pdu.partner)) != 0 ||
            back.collector_max_delay != pdu.collector_max_delay)
            abort();
        if (!sw_lacp_is_lacp_frame(data, size))
            abort();
    }

    struct sw_lacp_settings s = {.name = "fuzz", .sys_id = {2, 0, 0, 0, 0, 9},
                                 .active = size & 1, .fast = size & 2};
    struct sw_lacp *lacp;
    if (sw_lacp_create(&s, &lacp) != 0)
        return 0;
    static const uint8_t m1[6] = {2, 0, 0, 0, 1, 1}, m2[6] = {2, 0, 0, 0, 1, 2};
    sw_lacp_member_add(lacp, 1, 1, 65535, m1);
    sw_lacp_member_add(lacp, 2, 2, 65535, m2);
    sw_lacp_member_set_link(lacp, 1, true);
    sw_lacp_member_set_link(lacp, 2, true);
    uint64_t now = 1000;
    sw_lacp_run(lacp, now, check_sent, NULL);
    if (sw_lacp_process_frame(lacp, 1, data, size, now) != rc)
        abort();
    for (int i = 0; i < 4; i++) {
        now = sw_lacp_run(lacp, now, check_sent, NULL);
        sw_lacp_process_frame(lacp, 2, data, size, now);
    }
    sw_lacp_run(lacp, now + 100000, check_sent, NULL);
    char text[4096];
    int n = sw_lacp_format(lacp, text, sizeof(text));
    if (n <= 0 || strlen(text) != (size_t)(n < (int)sizeof(text) ? n : (int)sizeof(text) - 1))
        abort();
    sw_lacp_destroy(lacp);
    return 0;
}
