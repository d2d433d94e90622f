/* SPDX-License-Identifier: Apache-2.0 */
/*
 * switch_cli.h — `kvmkit vsctl`, `kvmkit ofctl` and `kvmkit appctl`: the
 * command-line front ends of kvmkit-switchd (modelled on ovs-vsctl,
 * ovs-ofctl and ovs-appctl). Each main returns the process exit status:
 * 0 done, 1 the daemon refused (its message is printed), 2 usage error,
 * 3 the daemon could not be reached.
 */
#ifndef KK_SWITCH_CLI_H
#define KK_SWITCH_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "kk_jsonrpc.h"

#define SWITCHD_DEFAULT_SOCKET "/run/kvmkit/switchd.sock"

int vsctl_main(int argc, char **argv);
void vsctl_help(FILE *out);
int ofctl_main(int argc, char **argv);
void ofctl_help(FILE *out);
int appctl_main(int argc, char **argv);
void appctl_help(FILE *out);

/* ---- shared helpers (switch_cli.c) ---------------------------------------- */

/* A connection to the daemon for one command (several calls may share it). */
struct sw_cli {
    const char *tool;                /* "vsctl", for messages */
    const char *socket;
    struct kk_jsonrpc_client *client;
};

/* The socket: $KVMKIT_SWITCHD_SOCKET or the default. */
const char *sw_cli_default_socket(void);

/*
 * Call @method with @params (stolen). Returns 0 and *result (a new
 * reference; may be NULL if @result is NULL), or the exit status after
 * printing why: 1 the daemon refused, 3 unreachable.
 */
int sw_cli_call(struct sw_cli *c, const char *method, json_t *params, json_t **result);
void sw_cli_close(struct sw_cli *c);

/* Print a JSON value indented. */
void sw_cli_print_json(const json_t *v);

/* "10,20,30" -> [10,20,30]; NULL after printing why. */
json_t *sw_cli_int_list(const char *tool, const char *what, const char *text);
/* "a,b" -> ["a","b"] */
json_t *sw_cli_str_list(const char *text);

#endif
