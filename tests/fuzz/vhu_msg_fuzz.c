/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: vhost-user message parsing and validation.
 *
 * Input: byte 0 says how many (dummy) file descriptors came with the
 * message (0..15, beyond the limit too); the rest is the message bytes.
 * A message that passes vhu_msg_check() must be internally consistent:
 * the checks below abort if validation let through a payload whose fields
 * would index past the structures a handler uses.
 */
#include <stdint.h>
#include <stdlib.h>

#include "vhu_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned n_fds = data[0] & 0x0f;
    int fds[16];
    for (unsigned i = 0; i < 16; i++)
        fds[i] = -1; /* never closed: -1 */
    struct vhu_msg m;
    char why[128];
    if (vhu_msg_parse(data + 1, size - 1, fds, n_fds, &m, why, sizeof(why)) < 0)
        return 0;
    if (vhu_msg_check(&m, why, sizeof(why)) < 0)
        return 0;
    vhu_request_name(m.request);
    /* Invariants a handler relies on after a successful check. */
    switch (m.request) {
    case VHU_SET_MEM_TABLE:
        if (m.p.mem.nregions == 0 || m.p.mem.nregions > VHU_MEM_TABLE_MAX ||
            m.n_fds != m.p.mem.nregions)
            abort();
        break;
    case VHU_GET_CONFIG:
    case VHU_SET_CONFIG:
        if (m.p.config.offset + m.p.config.size > VHU_CONFIG_MAX || m.size != 12 + m.p.config.size)
            abort();
        break;
    case VHU_SET_VRING_NUM:
    case VHU_SET_VRING_BASE:
    case VHU_GET_VRING_BASE:
    case VHU_SET_VRING_ENABLE:
        if (m.p.state.index >= VHU_MAX_QUEUES)
            abort();
        break;
    case VHU_SET_VRING_ADDR:
        if (m.p.addr.index >= VHU_MAX_QUEUES)
            abort();
        break;
    default:
        break;
    }
    return 0;
}
