/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for lib/openflow/ofp_parse.c: any text as a flow (add,
 * modify, delete), a flow filter, a group, a meter and a packet-out, in 1.0
 * and 1.3. Whatever parses must encode (the parser validates what the
 * codec would refuse) and decode back to an equal message; whatever fails
 * must leave nothing allocated and an error message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ofp_parse.h"

/* Not assert(): the checks must hold in NDEBUG builds too. */
#define CHECK(x)                                                                           \
    do {                                                                                   \
        if (!(x))                                                                          \
            abort();                                                                       \
    } while (0)

static int lookup(void *aux, const char *name, uint32_t *port)
{
    (void)aux;
    if (strcmp(name, "p1") == 0) {
        *port = 1;
        return 0;
    }
    return -ENOENT;
}

static void check(int rc, struct ofp_msg *m, const char *err)
{
    if (rc) {
        CHECK(rc == -EINVAL || rc == -ENOMEM);
        CHECK(m->arena == NULL && err[0]);
        return;
    }
    struct ofp_buf b;
    struct ofp_error e;
    ofp_buf_init(&b);
    CHECK(ofp_encode(m, &b, &e) == 0);
    struct ofp_msg back;
    CHECK(ofp_decode(b.data, b.len, &back, &e) == 0);
    if (m->version == OFP13_VERSION)
        CHECK(ofp_msg_equal(m, &back));
    ofp_msg_free(&back);
    ofp_buf_free(&b);
    ofp_msg_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct ofp_port_names names = {lookup, NULL};
    static const uint8_t versions[] = {OFP10_VERSION, OFP13_VERSION};
    for (size_t v = 0; v < 2; v++) {
        struct ofp_msg m;
        char err[256];
        for (int cmd = OFPFC_ADD; cmd <= OFPFC_DELETE_STRICT; cmd++) {
            err[0] = '\0';
            check(ofp_parse_flow_mod(text, versions[v], cmd, &names, &m, err, sizeof(err)), &m,
                  err);
        }
        err[0] = '\0';
        check(ofp_parse_flow_stats_request(text, versions[v], OFPMP_FLOW, &names, &m, err,
                                           sizeof(err)), &m, err);
        err[0] = '\0';
        check(ofp_parse_group_mod(text, versions[v], OFPGC_ADD, &names, &m, err, sizeof(err)),
              &m, err);
        err[0] = '\0';
        check(ofp_parse_meter_mod(text, versions[v], OFPMC_ADD, &m, err, sizeof(err)), &m, err);
        err[0] = '\0';
        check(ofp_parse_packet_out(text, versions[v], &names, &m, err, sizeof(err)), &m, err);
    }
    free(text);
    return 0;
}
