/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofconv.h — between OpenFlow wire structures (lib/openflow, decoded) and
 * the bridge's own (sw_flow_key/mask matches, sw_ofpacts action lists).
 *
 * Matches: an OXM match (1.0 matches decode into the same struct) maps to
 * flow-key bits field by field (VLAN VID/PCP share vlan_tci, DSCP/ECN
 * share nw_tos, ARP and ICMP fields share the nw_ and tp_ words, as flow.h
 * says). The
 * reverse picks each field's OXM name from the match's dl_type/nw_proto.
 * Flow-key fields OpenFlow's basic class cannot carry (second VLAN tag,
 * TTL, fragments, TCP flags, recirc_id) are left out of the reverse: a
 * rule added through OpenFlow never has them.
 *
 * Actions: wire actions and instructions become ovs-ofctl action text in
 * the bridge's syntax, which sw_ofpacts_parse() then validates against
 * the rule's match and table, so one parser checks every rule whatever
 * its origin. The reverse walks a sw_ofpacts list and emits the version's
 * actions (1.0) or instructions (1.3); an action the version cannot carry
 * (resubmit, push_vlan in 1.0, ...) is left out.
 *
 * Pure functions; the caller owns every buffer. Errors are OpenFlow
 * errors (enum ofp_err) for the agent to send back.
 */
#ifndef SW_OFCONV_H
#define SW_OFCONV_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "ofp_actions.h"
#include "ofp_match.h"

struct sw_ofpacts;

/* OXM match -> key/mask (zeroed first). OFPERR_NONE, OFPBMC_BAD_FIELD for a
 * field the bridge does not match on, OFPBMC_BAD_VALUE. */
enum ofp_err sw_match_from_ofp(const struct ofp_match_fields *m, struct sw_flow_key *key,
                               struct sw_flow_mask *mask);

/* key/mask -> OXM match (initialised first). */
void sw_match_to_ofp(const struct sw_flow_key *key, const struct sw_flow_mask *mask,
                     struct ofp_match_fields *m);

/* Wire actions of @version -> action text ("" for none). OFPERR_NONE, or
 * the error for an action the bridge cannot do (OFPBAC_BAD_TYPE,
 * OFPBAC_BAD_OUT_PORT, OFPBAC_BAD_QUEUE, OFPBAC_BAD_SET_TYPE,
 * OFPBAC_BAD_EXPERIMENTER) or OFPBAC_TOO_MANY when @size is too small. */
enum ofp_err sw_actions_text_from_ofp(const struct ofp_action_list *l, uint8_t version,
                                      char *buf, size_t size);
/* The same for a packet-out's actions, where output:TABLE (through the
 * tables from table 0) is allowed. */
enum ofp_err sw_packet_out_text_from_ofp(const struct ofp_action_list *l, uint8_t version,
                                         char *buf, size_t size);
/* 1.3 instructions -> action text, in the pipeline's order (meter, apply,
 * clear, write, metadata, goto). */
enum ofp_err sw_instructions_text_from_ofp(const struct ofp_instruction_list *l, char *buf,
                                           size_t size);

/*
 * A rule's actions -> wire lists of @version, allocated (free with
 * sw_ofconv_free_lists()). @key/@mask: the rule's match (picks the OXM
 * name of tp_src/tp_dst rewrites); may be NULL. 1.0 fills *actions; 1.3
 * fills *insts. Returns 0 or -ENOMEM.
 */
int sw_ofpacts_to_ofp(const struct sw_ofpacts *a, uint8_t version, const struct sw_flow_key *key,
                      const struct sw_flow_mask *mask, struct ofp_action_list *actions,
                      struct ofp_instruction_list *insts);
void sw_ofconv_free_lists(struct ofp_action_list *actions, struct ofp_instruction_list *insts);

#endif
