/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the files of `kvmkit ofctl`: ofctl_cli.c (options, SWITCH
 * forms, the JSON-RPC path to kvmkit-switchd), ofctl_of.c (the OpenFlow
 * commands), ofctl_print.c (ovs-ofctl's text for replies) and
 * ofctl_client.c (the connection).
 */
#ifndef KK_OFCTL_INTERNAL_H
#define KK_OFCTL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ofctl_client.h"
#include "ofp_msg.h"

struct ofctl_options {
    uint32_t versions;      /* bitmap of wire versions to offer (bit 1, bit 4) */
    bool strict;            /* mod-flows/del-flows */
    bool no_stats;          /* dump-flows */
    int timeout_ms;         /* -t; < 0 none */
};

/* Whether @cmd is an OpenFlow command of ours with @n arguments after
 * SWITCH; *known is set when the name is known at all. */
bool ofctl_of_command_ok(const char *cmd, int n, bool *known);

/* Run @cmd against @target (tcp:... or unix:...). Returns the exit status:
 * 0, 1 refused (an OFPT_ERROR or bad text), 2 usage, 3 unreachable. */
int ofctl_of_run(const char *target, const struct ofctl_options *o, const char *cmd, int argc,
                 char **argv);

/* ---- ofctl_print.c ---- */
void ofctl_port_name(uint32_t port, char *buf, size_t size);
void ofctl_print_ports(const struct ofp_port *ports, size_t n, uint8_t version);
void ofctl_print_features(const struct ofp_msg *m);
void ofctl_print_config(const struct ofp_msg *m);
void ofctl_print_flow(const struct ofp_flow_stats *fs, uint8_t version, bool stats);
void ofctl_print_port_stats(const struct ofp_port_stats *s, uint8_t version);
void ofctl_print_tables(const struct ofp_table_stats *t, size_t n, uint8_t version);
void ofctl_print_group_desc(const struct ofp_group_desc *g);
void ofctl_print_group_stats(const struct ofp_group_stats *g);
void ofctl_print_meter_config(const struct ofp_meter_config *mc);
void ofctl_print_meter_stats(const struct ofp_meter_stats *ms);

#endif
