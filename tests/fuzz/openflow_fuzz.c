/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: OpenFlow 1.0 and 1.3 messages from arbitrary bytes.
 *
 * The input is decoded as it is, and again with its version byte forced to
 * 0x01 and to 0x04 and its length field set to the input size (so that
 * every input reaches both versions' body decoders). For each:
 *   - ofp_decode() either succeeds or fails with -EBADMSG and an error
 *     whose wire (type, code) is the one of its version;
 *   - a decoded message encodes, the encoding decodes to an equal message
 *     (ofp_msg_equal) and re-encodes to the same bytes; its summary prints;
 *   - ofp_frame_len() agrees with the header.
 * libFuzzer's buffer is exactly @size bytes and the copies are exact-size
 * heap blocks, so ASan catches any read past the end. Any broken
 * invariant aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ofp_msg.h"
#include "ofp_print.h"

static void check(const uint8_t *data, size_t size)
{
    struct ofp_msg m;
    struct ofp_error err;
    int rc = ofp_decode(data, size, &m, &err);
    if (rc != 0) {
        if (rc != -EBADMSG || err.err == OFPERR_NONE)
            abort();
        struct ofp_error w;
        uint8_t v = size && data[0] == 0x01 ? 0x01 : 0x04;
        if (ofp_err_to_wire(err.err, v, &w) != 0 || w.type != err.type || w.code != err.code)
            abort();
        return;
    }
    if (ofp_frame_len(data, size) != (long)size)
        abort();
    struct ofp_buf b1, b2;
    ofp_buf_init(&b1);
    ofp_buf_init(&b2);
    if (ofp_encode(&m, &b1, &err) != 0)
        abort();
    struct ofp_msg back;
    if (ofp_decode(b1.data, b1.len, &back, &err) != 0)
        abort();
    if (!ofp_msg_equal(&m, &back) || !ofp_msg_equal(&back, &m))
        abort();
    if (ofp_encode(&back, &b2, NULL) != 0 || b2.len != b1.len ||
        memcmp(b1.data, b2.data, b1.len) != 0)
        abort();
    char text[512];
    size_t n = ofp_msg_summary(&m, text, sizeof(text));
    if (strlen(text) != (n < sizeof(text) ? n : sizeof(text) - 1))
        abort();
    if (m.type == OFP_MSG_FLOW_MOD)
        ofp_format_flow_mod(&m.u.flow_mod, m.version, text, sizeof(text));
    ofp_msg_free(&back);
    ofp_msg_free(&m);
    ofp_buf_free(&b1);
    ofp_buf_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size);
    if (size < 8 || size > 65535)
        return 0;
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    static const uint8_t versions[] = {0x01, 0x04};
    for (int i = 0; i < 2; i++) {
        memcpy(copy, data, size);
        copy[0] = versions[i];
        copy[2] = (uint8_t)(size >> 8);
        copy[3] = (uint8_t)size;
        check(copy, size);
    }
    free(copy);
    return 0;
}
