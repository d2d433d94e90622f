/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofp_parse.h — ovs-ofctl's text syntax into the codec's structs: flows
 * (flow-mods and flow-stats filters), groups, meters and packet-outs, for
 * OpenFlow 1.0 or 1.3.
 *
 * Design
 *   - The result is a caller-owned struct ofp_msg of the requested
 *     version and type, ready for ofp_encode(): every list (actions,
 *     instructions, buckets, bands, packet bytes) lives in msg->arena, so
 *     ofp_msg_free() releases it exactly as for a decoded message. On
 *     failure @msg holds nothing to free (it is zeroed).
 *   - The syntax is ovs-ofctl(8)'s "Flow Syntax", "Group Syntax", "Meter
 *     Syntax" and "Packet-Out Syntax": `key=value` (or `key:value`) items
 *     separated by commas or white space, `actions=` last. Field names are
 *     ovs-ofctl's (dl_src, nw_src, tp_dst, ...) and the OXM names
 *     (eth_src, ipv4_src, tcp_dst, ...). Fields whose meaning depends on
 *     the protocol (nw_src/nw_dst/nw_proto on ARP, tp_src/tp_dst on
 *     TCP/UDP/SCTP, icmp_type/icmp_code on ICMPv4/v6) are resolved after
 *     the whole match is read, so order does not matter.
 *   - Actions are mapped to the version, as ovs-ofctl -O does: 1.0 gets
 *     its own actions (mod_vlan_vid, mod_dl_src, enqueue...; a 1.3-only
 *     set_field of a field 1.0 can set becomes the 1.0 action); 1.3 gets
 *     set_field (mod_vlan_vid:V -> push_vlan:0x8100 first unless the
 *     match or an earlier action established a tag, then
 *     set_field:0x1000|V->vlan_vid; mod_nw_tos:T -> set_field:T>>2->ip_dscp;
 *     strip_vlan -> pop_vlan; enqueue:P:Q -> set_queue:Q,output:P) and
 *     instructions (write_actions(...), clear_actions, goto_table:N,
 *     write_metadata:V[/M], meter:N; the plain actions are apply_actions),
 *     put in the order OpenFlow executes them. What a version cannot
 *     express (dec_ttl, group, set_queue in 1.0; Nicira extensions in
 *     either) is an error, not a silent drop.
 *   - Errors are written to @err (snprintf semantics, may be NULL) and
 *     start with the name of the field or action at fault, e.g.
 *     "tp_dst: needs tcp, udp or sctp" or "output: bad port 'x'".
 *   - Prerequisites are checked (a field needs its protocol: nw_src needs
 *     ip or arp), unlike ovs-ofctl, which drops such fields with a warning.
 *
 * Port names: where a port may be named (in_port, output, enqueue,
 * watch_port, packet-out in_port), a number, a reserved name (LOCAL,
 * CONTROLLER, IN_PORT, NORMAL, FLOOD, ALL, TABLE, ANY/NONE; any case) or,
 * when @names is given, a name the callback resolves is accepted.
 *
 * Pure functions apart from the callback: any thread.
 */
#ifndef OFP_PARSE_H
#define OFP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "ofp_msg.h"

/* How port names are resolved (may be NULL: numbers and reserved names
 * only). @lookup returns 0 and sets *port_no (1.3 numbering), or a
 * negative errno (-ENOENT: no such port). */
struct ofp_port_names {
    int (*lookup)(void *aux, const char *name, uint32_t *port_no);
    void *aux;
};

/*
 * Parse a flow in ovs-ofctl syntax into a FLOW_MOD of @version
 * (OFP10_VERSION or OFP13_VERSION) with @command.
 *
 * Settings: table, priority (default 32768), cookie (add: value;
 * mod/del: value[/mask], masks 1.3 only), idle_timeout, hard_timeout,
 * send_flow_rem, check_overlap, reset_counts/no_packet_counts/
 * no_byte_counts (1.3), out_port, out_group (1.3). Defaults: buffer
 * none; out_port/out_group any; in 1.3 table 0 for add and modify and all
 * tables (0xff) for delete (ovs-ofctl modifies in all tables, an Open
 * vSwitch extension that OpenFlow 1.3 does not have: give table=N); 1.0
 * flow-mods have no table (only table=0 is accepted). actions= is
 * required for add and mod and
 * refused for delete.
 *
 * Returns 0 and fills @msg (free with ofp_msg_free()); -EINVAL for bad
 * text or something @version cannot express (@err says what); -ENOMEM.
 */
int ofp_parse_flow_mod(const char *text, uint8_t version, enum ofp_flow_mod_command command,
                       const struct ofp_port_names *names, struct ofp_msg *msg, char *err,
                       size_t errlen);

/*
 * Parse a dump-flows/dump-aggregate filter (match, table, out_port,
 * out_group, cookie=V/M; no actions) into a multipart request of @mp_type
 * (OFPMP_FLOW or OFPMP_AGGREGATE). "" means every flow. Same returns as
 * ofp_parse_flow_mod().
 */
int ofp_parse_flow_stats_request(const char *text, uint8_t version, enum ofp_mp_type mp_type,
                                 const struct ofp_port_names *names, struct ofp_msg *msg,
                                 char *err, size_t errlen);

/*
 * Parse a group (1.3 only: groups are not in OpenFlow 1.0) into a
 * GROUP_MOD with @command:
 *   group_id=N,type=all|select|indirect|ff,bucket=SETTINGS,actions=A,bucket=...
 * Bucket settings (before its actions): weight:N (select; default 1),
 * watch_port:P, watch_group:G, bucket_id:N (ignored); "bucket=output:2"
 * without actions= is accepted. For OFPGC_DELETE the text is "group_id=N",
 * "group_id=all" or "" (all groups).
 * Returns 0, -EINVAL (@err), -ENOMEM.
 */
int ofp_parse_group_mod(const char *text, uint8_t version, enum ofp_group_mod_command command,
                        const struct ofp_port_names *names, struct ofp_msg *msg, char *err,
                        size_t errlen);

/*
 * Parse a meter (1.3 only) into a METER_MOD with @command:
 *   meter=N,[kbps|pktps],[burst],[stats],band=type=drop|dscp_remark,rate=R
 *   [,burst_size=B][,prec_level=P],band=...
 * kbps is the default unit. For OFPMC_DELETE: "meter=N", "meter=all" or ""
 * (all meters). Returns 0, -EINVAL (@err), -ENOMEM.
 */
int ofp_parse_meter_mod(const char *text, uint8_t version, enum ofp_meter_mod_command command,
                        struct ofp_msg *msg, char *err, size_t errlen);

/*
 * Parse a packet-out: "in_port=P packet=HEX actions=A" (commas or spaces;
 * in_port and packet required, actions last; no buffer). Actions map to
 * the version as for flows (1.3 takes no instructions here).
 * Returns 0, -EINVAL (@err), -ENOMEM.
 */
int ofp_parse_packet_out(const char *text, uint8_t version, const struct ofp_port_names *names,
                         struct ofp_msg *msg, char *err, size_t errlen);

/*
 * One port: a number (in 1.0, 0xff00..0xffff are the reserved ports), a
 * reserved name, or a name @names resolves. Returns 0 and *port_no (1.3
 * numbering), -EINVAL (not a port; @err), or the lookup's error.
 */
int ofp_parse_port(const char *text, uint8_t version, const struct ofp_port_names *names,
                   uint32_t *port_no, char *err, size_t errlen);

#endif
