/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofp_parse_internal.h — shared by the ovs-ofctl text parser's files:
 * ofp_parse.c (items, ports, matches, flows), ofp_parse_actions.c (action
 * lists and instructions) and ofp_parse_mod.c (groups, meters,
 * packet-outs). Not installed.
 */
#ifndef KK_OFP_PARSE_INTERNAL_H
#define KK_OFP_PARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kk_common.h"
#include "ofp_internal.h"
#include "ofp_parse.h"

#define DEFAULT_PRIORITY 0x8000
#define CONTROLLER_MAX_LEN 0xffff  /* OFPCML_NO_BUFFER */

/* One parse: the message being built and where the first error goes. */
struct ctx {
    uint8_t version;
    const struct ofp_port_names *names;
    struct ofp_msg *msg;
    char *err;
    size_t errlen;
    bool failed;
    /* action context: the flow's match (NULL for groups/packet-out) and
     * whether a VLAN tag is known to be there */
    const struct ofp_match_fields *match;
    bool vlan_known;
};

/* A growable action list. */
struct actvec {
    struct ofp_action *v;
    size_t n, cap;
};

/* OpenFlow 1.3 instructions as they are parsed. */
struct insts {
    struct actvec apply, write;
    bool has_write, has_clear, has_goto, has_metadata, has_meter;
    uint8_t goto_table;
    uint64_t metadata, metadata_mask;
    uint32_t meter;
};


static inline bool ofpp_is_v13(const struct ctx *c)
{
    return c->version == OFP13_VERSION;
}

/* errors and versions */
int ofpp_fail(struct ctx *c, const char *fmt, ...) KK_PRINTF(2, 3);
int ofpp_need13(struct ctx *c, const char *what);

/* items */
bool ofpp_next_item(char **pos, char **key, char **value);
char *ofpp_find_item(char *s, const char *word);
bool ofpp_parse_u64(const char *s, uint64_t max, uint64_t *out);
int ofpp_parse_num(struct ctx *c, const char *what, const char *s, uint64_t max, uint64_t *out);
int ofpp_port_of(struct ctx *c, const char *what, const char *s, uint32_t *out);

/* match values */
bool ofpp_parse_mac(const char *s, uint8_t *out);
int ofpp_parse_value(struct ctx *c, const char *what, enum ofp_oxm_field f, const char *s,
                     bool allow_mask, uint8_t *value, uint8_t *mask, bool *has_mask);
int ofpp_set_field(struct ctx *c, struct ofp_match_fields *m, const char *what,
                   enum ofp_oxm_field f, const uint8_t *value, const uint8_t *mask,
                   bool has_mask);
int ofpp_field_by_name(const char *name);
int ofpp_proto_of(const struct ofp_match_fields *m);

/* messages */
int ofpp_begin(struct ctx *c, const char *text, uint8_t version, struct ofp_msg *msg,
               enum ofp_msg_type type, char **copy);
int ofpp_end(struct ctx *c, int rc, char *copy);
char *ofpp_split_actions(char *s);

/* actions (ofp_parse_actions.c) */
int ofpp_parse_actions(struct ctx *c, char *text, struct actvec *a, struct insts *in);
int ofpp_to_list(struct ctx *c, const struct actvec *a, struct ofp_action_list *out);
int ofpp_to_instructions(struct ctx *c, struct insts *in, struct ofp_instruction_list *out);

#endif
