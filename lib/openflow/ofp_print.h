/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofp_print.h — text forms of decoded OpenFlow messages.
 *
 * Matches and actions use ovs-ofctl's syntax, so that what we log can be
 * pasted into ovs-ofctl (and lib/switch's parser):
 *
 *   priority=100,tcp,nw_src=10.0.0.0/8,tp_dst=80 actions=output:2,mod_vlan_vid:10
 *
 * Protocol shorthands (ip, tcp, udp, icmp, sctp, arp, ipv6, tcp6, udp6,
 * icmp6, sctp6) replace dl_type/nw_proto, as ovs-ofctl prints them;
 * addresses with prefix masks print as /len, other masks as /mask. The
 * per-message summary is one line: "OFPT_FLOW_MOD (OF1.3) xid=0x5: ...".
 *
 * All functions behave like snprintf(): they write at most @size bytes
 * including the NUL (nothing when size is 0) and return the length the
 * full text has. Pure functions: any thread.
 */
#ifndef OFP_PRINT_H
#define OFP_PRINT_H

#include <stddef.h>
#include <stdint.h>

#include "ofp_actions.h"
#include "ofp_match.h"
#include "ofp_msg.h"

/* "tcp,nw_src=10.0.0.0/8,tp_dst=80"; "" for a match-all. */
size_t ofp_format_match(const struct ofp_match_fields *m, char *buf, size_t size);

/* "output:2,mod_vlan_vid:10"; "drop" for an empty list. */
size_t ofp_format_actions(const struct ofp_action_list *l, char *buf, size_t size);

/* 1.3 instructions in ovs-ofctl's form: apply_actions print as plain
 * actions; "write_actions(...)", "clear_actions", "goto_table:N",
 * "write_metadata:0x1/0xff", "meter:N". "drop" for an empty list. */
size_t ofp_format_instructions(const struct ofp_instruction_list *l, char *buf, size_t size);

/* "[cookie=..,][table=..,][idle_timeout=..,][hard_timeout=..,]priority=N[,match]
 * actions=..." for the message's @version (1.0 actions, 1.3 instructions). */
size_t ofp_format_flow_mod(const struct ofp_flow_mod *fm, uint8_t version, char *buf,
                           size_t size);

/* One line describing @msg (any type). */
size_t ofp_msg_summary(const struct ofp_msg *msg, char *buf, size_t size);

#endif
