/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvmkit — the command-line front end. Each component adds a subcommand
 * (kvmkit img, kvmkit vsctl, kvmkit blk, ...); this file only dispatches.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kk_err.h"
#include "kk_jsonrpc.h"
#include "kk_log.h"
#include "kk_version.h"
#include "blk/blk_cli.h"
#include "blkperf/blkperf.h"
#include "guestfs/guestfs_cli.h"
#include "host/host.h"
#include "img/img_cmd.h"
#include "switch/switch_cli.h"
#include "testpmd/testpmd.h"

struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*help)(FILE *out);
};

static int cmd_version(int argc, char **argv);
static int cmd_rpc(int argc, char **argv);
static void help_version(FILE *out);
static void help_rpc(FILE *out);

static const struct command commands[] = {
    {"img", "create, inspect, convert and check disk images (raw, qcow2)", img_cmd_main, img_cmd_help},
    {"testpmd", "forward, generate or sink packets on ports (tap, afpacket, pcap, ...)",
     testpmd_main, testpmd_help},
    {"blk", "manage kvmkit-blkd: bdevs and exports (vhost-user-blk, NBD)", blk_cli_main,
     blk_cli_help},
    {"blkperf", "drive block I/O at a bdev, a vhost-user-blk target or an NBD server",
     blkperf_main, blkperf_help},
    {"vsctl", "configure kvmkit-switchd: bridges, ports, bonds, mirrors", vsctl_main,
     vsctl_help},
    {"ofctl", "OpenFlow client for any switch or a kvmkit-switchd bridge (ovs-ofctl)", ofctl_main,
     ofctl_help},
    {"appctl", "inspect kvmkit-switchd: MAC tables, megaflows, PMD stats, trace, bonds",
     appctl_main, appctl_help},
    {"virt-filesystems", "list filesystems, partitions and devices in disk images",
     virt_filesystems_main, virt_filesystems_help},
    {"virt-ls", "list files in a disk image", virt_ls_main, virt_ls_help},
    {"virt-cat", "print files of a disk image", virt_cat_main, virt_cat_help},
    {"virt-copy-out", "copy files and directories out of a disk image", virt_copy_out_main,
     virt_copy_out_help},
    {"virt-tar-out", "pack a directory of a disk image into a tarball", virt_tar_out_main,
     virt_tar_out_help},
    {"virt-df", "free space on the filesystems of disk images", virt_df_main, virt_df_help},
    {"fish", "a guestfish-compatible shell over disk images (read-only, in-process)", fish_main,
     fish_help},
    {"virt-inspector", "describe the operating systems in disk images (XML or JSON)",
     virt_inspector_main, virt_inspector_help},
    {"mount", "mount a disk image's filesystems read-only with FUSE (like guestmount)",
     mount_main, mount_help},
    {"host", "bring up a small KVM host: switch, storage and QEMU guests (up, status, down)",
     host_main, host_help},
    {"rpc", "call a JSON-RPC method of a running kvmkit daemon", cmd_rpc, help_rpc},
    {"version", "print the kvmkit version", cmd_version, help_version},
};

/* The virt-* tools parse their own -h (human-readable sizes) and --help. */
static bool parses_own_help(const struct command *cmd)
{
    return cmd->run == virt_filesystems_main || cmd->run == virt_ls_main ||
           cmd->run == virt_cat_main || cmd->run == virt_copy_out_main ||
           cmd->run == virt_tar_out_main || cmd->run == virt_df_main ||
           cmd->run == fish_main; /* fish: -h lists its commands, "help" is one */
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit [--help] [--version] COMMAND [ARGS...]\n"
            "\n"
            "kvmkit is the I/O stack a KVM host runs beside QEMU: virtio backends,\n"
            "a packet framework, an OpenFlow switch, a storage kit and disk-image tools.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-17s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'kvmkit COMMAND --help' for a command's options.\n");
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
        if (strcmp(argv[i], "--") == 0)
            break;
    }
    return false;
}

static void help_version(FILE *out)
{
    fprintf(out, "Usage: kvmkit version\n\nPrint the kvmkit version.\n");
}

static int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        help_version(stderr);
        return 2;
    }
    printf("kvmkit %s\n", KK_VERSION);
    return 0;
}

static void help_rpc(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit rpc -s SOCKET [-t SECONDS] METHOD [PARAMS]\n"
            "\n"
            "Call METHOD on the daemon listening on the Unix socket SOCKET and print\n"
            "the result as JSON. PARAMS is a JSON object or array.\n"
            "'kvmkit rpc -s SOCKET rpc.methods' lists the methods a daemon offers.\n"
            "\n"
            "Options:\n"
            "  -s, --socket PATH    the daemon's control socket (required)\n"
            "  -t, --timeout SECS   give up after SECS seconds (default 30)\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 on success, 1 if the daemon answered with an error,\n"
            "2 on a usage error, 3 if the daemon could not be reached.\n");
}

static int cmd_rpc(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *socket_path = NULL;
    int timeout_s = 30;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+s:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            socket_path = optarg;
            break;
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v <= 0 || v > 86400) {
                fprintf(stderr, "kvmkit rpc: invalid timeout '%s'\n", optarg);
                return 2;
            }
            timeout_s = (int)v;
            break;
        }
        case 'h':
            help_rpc(stdout);
            return 0;
        default:
            help_rpc(stderr);
            return 2;
        }
    }
    if (!socket_path || optind >= argc || argc - optind > 2) {
        help_rpc(stderr);
        return 2;
    }
    const char *method = argv[optind];
    json_t *params = NULL;
    if (optind + 1 < argc) {
        json_error_t err;
        params = json_loads(argv[optind + 1], 0, &err);
        if (!params || (!json_is_object(params) && !json_is_array(params))) {
            fprintf(stderr, "kvmkit rpc: PARAMS must be a JSON object or array%s%s\n",
                    params ? "" : ": ", params ? "" : err.text);
            json_decref(params);
            return 2;
        }
    }
    struct kk_jsonrpc_client *client;
    int rc = kk_jsonrpc_client_connect(socket_path, &client);
    if (rc < 0) {
        fprintf(stderr, "kvmkit rpc: cannot connect to %s: %s\n", socket_path, kk_strerror(rc));
        json_decref(params);
        return 3;
    }
    json_t *result, *error;
    rc = kk_jsonrpc_client_call(client, method, params, timeout_s * 1000, &result, &error);
    kk_jsonrpc_client_close(client);
    if (rc == -EREMOTEIO) {
        json_t *msg = json_object_get(error, "message");
        fprintf(stderr, "kvmkit rpc: %s: error %lld: %s\n", method,
                (long long)json_integer_value(json_object_get(error, "code")),
                json_is_string(msg) ? json_string_value(msg) : "(no message)");
        json_decref(error);
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr, "kvmkit rpc: %s: %s\n", method, kk_strerror(rc));
        return 3;
    }
    char *text = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY);
    printf("%s\n", text ? text : "null");
    free(text);
    json_decref(result);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *arg = argv[1];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0) {
        if (argc > 2 && find_command(argv[2])) {
            find_command(argv[2])->help(stdout);
            return 0;
        }
        usage(stdout);
        return 0;
    }
    if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
        printf("kvmkit %s\n", KK_VERSION);
        return 0;
    }
    const struct command *cmd = find_command(arg);
    if (!cmd) {
        fprintf(stderr, "kvmkit: unknown command '%s'\n\n", arg);
        usage(stderr);
        return 2;
    }
    /* rpc and the virt-* tools parse their own -h (virt-*: human-readable sizes). */
    if (wants_help(argc - 1, argv + 1) && cmd->run != cmd_rpc && !parses_own_help(cmd)) {
        cmd->help(stdout);
        return 0;
    }
    return cmd->run(argc - 1, argv + 1);
}
