/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_main.c — `kvmkit host`: the command line. See host.h.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

void host_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit host up     [-c CONFIG] [-d DIR] [--accel auto|kvm|tcg] [--wait SECS]\n"
            "       kvmkit host status [-d DIR] [--json] [--summary]\n"
            "                          [--watch [--interval SECS] [--duration SECS]]\n"
            "       kvmkit host down   [-d DIR]\n"
            "       kvmkit host restart [-d DIR] [--kill] switchd|blkd\n"
            "       kvmkit host exec   [-d DIR] [--timeout SECS] VM [--] COMMAND...\n"
            "       kvmkit host config [-c CONFIG] [-d DIR]\n"
            "\n"
            "A small KVM host on kvmkit: kvmkit-switchd with a bridge, a vhost-user port\n"
            "per VM and an internal port (a tap) for the host; kvmkit-blkd serving a qcow2\n"
            "disk per VM over vhost-user-blk (an ext4 filesystem with a marker file); a\n"
            "QEMU guest per VM on that port and disk, running a ping and fio workload.\n"
            "\n"
            "  up       start everything; with --wait, until every guest runs its workload\n"
            "  status   VMs (state, link, ping RTT to the peer VM and the host, the disk's\n"
            "           marker), switch ports (packets, bytes), megaflows and cache hits,\n"
            "           disks (IOPS, operations, bytes). --watch: refresh every interval\n"
            "           (a screen on a terminal, one line per refresh otherwise);\n"
            "           --summary: averages since up\n"
            "  down     stop QEMU, then the daemons (SIGTERM, 5 s, SIGKILL); remove sockets\n"
            "  restart  stop a daemon under the running guests (SIGTERM; --kill: SIGKILL,\n"
            "           as if it crashed) and start it again from its saved state; QEMU\n"
            "           reconnects, the guests' traffic and disk I/O resume; a daemon\n"
            "           that died is started again the same way\n"
            "  exec     run COMMAND (words joined by spaces, run by the guest's sh) in VM\n"
            "           through its agent (a virtio-serial port); prints its output and\n"
            "           exits with its status (124: no answer within --timeout, default\n"
            "           60 s; 125: the agent could not be reached)\n"
            "  config   print the configuration with every default filled in\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE   JSON configuration (default: the default host below)\n"
            "  -d, --dir DIR       run directory (default: the config's \"dir\",\n"
            "                      $KVMKIT_HOST_DIR, or ./kvmkit-host)\n"
            "      --accel A       override the config's accel\n"
            "      --wait SECS     up: wait for the guests (exit 1 if they are not up)\n"
            "      --json          status as JSON (with --watch: one object per line)\n"
            "      --kill          restart: SIGKILL instead of SIGTERM\n"
            "      --timeout SECS  exec: how long to wait for the command\n"
            "\n"
            "Configuration (every key optional; docs/quickstart.md has the details):\n"
            "  {\"dir\": \"/var/lib/kvmkit-host\", \"accel\": \"auto\",\n"
            "   \"qemu\": \"qemu-system-x86_64\",\n"
            "   \"guest\": {\"kernel\": \"build/guest/vmlinux\",\n"
            "             \"initrd\": \"build/guest/initramfs.cpio.gz\", \"append\": \"\"},\n"
            "   \"bridges\": [{\"name\": \"br0\",\n"
            "                \"host_port\": {\"name\": \"kkhost0\", \"address\": \"10.77.0.1/24\"},\n"
            "                \"ports\": [{\"name\": \"eth1\", \"type\": \"afpacket\"}]}],\n"
            "   \"disks\": [{\"name\": \"vm1-disk\", \"size\": \"64M\", \"marker\": \"TEXT\",\n"
            "              \"image\": \"existing.qcow2\", \"format\": \"qcow2\"}],\n"
            "   \"vms\": [{\"name\": \"vm1\", \"bridge\": \"br0\", \"tag\": 0,\n"
            "            \"mac\": \"52:54:00:77:00:01\", \"address\": \"10.77.0.11/24\",\n"
            "            \"disk\": \"vm1-disk\", \"memory\": \"512M\", \"cpus\": 1,\n"
            "            \"fio_iops\": 50, \"peer\": \"10.77.0.12\", \"script\": \"my.sh\"}]}\n"
            "Defaults: bridge br0 with host port kkhost0 (10.77.0.1/24); VMs vm1 and vm2\n"
            "(10.77.0.11, .12) each pinging the next; a 64 MiB disk per VM named VM-disk;\n"
            "accel auto = KVM when /dev/kvm opens and this is not itself a VM, else TCG.\n"
            "Environment: KVMKIT_GUEST_DIR (kernel and initrd), KVMKIT_QEMU, KVMKIT_HOST_DIR.\n"
            "\n"
            "Exit status: 0 done, 1 failed (the reason is printed), 2 usage error.\n");
}

int host_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"dir", required_argument, NULL, 'd'},
        {"accel", required_argument, NULL, 'a'},
        {"wait", required_argument, NULL, 'w'},
        {"json", no_argument, NULL, 'j'},
        {"watch", no_argument, NULL, 'W'},
        {"interval", required_argument, NULL, 'i'},
        {"duration", required_argument, NULL, 't'},
        {"summary", no_argument, NULL, 's'},
        {"kill", no_argument, NULL, 'k'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2) {
        host_help(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    const char *config = NULL, *dir = NULL, *accel = NULL;
    int wait_s = 0;
    bool kill9 = false;
    double timeout_s = 60;
    struct host_status_opts so = {.interval_s = 1};
    int c;
    optind = 2;
    /* '+': options end at the first operand (exec's command has its own). */
    while ((c = getopt_long(argc, argv, "+c:d:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'c': config = optarg; break;
        case 'd': dir = optarg; break;
        case 'a': accel = optarg; break;
        case 'w':
            wait_s = (int)strtol(optarg, &end, 10);
            if (*end || wait_s < 0 || wait_s > 86400) {
                fprintf(stderr, "kvmkit host: --wait wants whole seconds\n");
                return 2;
            }
            break;
        case 'j': so.json = true; break;
        case 'k': kill9 = true; break;
        case 'T':
            timeout_s = strtod(optarg, &end);
            if (*end || !(timeout_s > 0 && timeout_s <= 86400)) {
                fprintf(stderr, "kvmkit host: --timeout wants seconds\n");
                return 2;
            }
            break;
        case 'W': so.watch = true; break;
        case 's': so.summary = true; break;
        case 'i':
        case 't': {
            double v = strtod(optarg, &end);
            if (*end || v < (c == 'i' ? 0.1 : 0) || v > 86400) {
                fprintf(stderr, "kvmkit host: --%s wants seconds\n",
                        c == 'i' ? "interval" : "duration");
                return 2;
            }
            *(c == 'i' ? &so.interval_s : &so.duration_s) = v;
            break;
        }
        case 'h': host_help(stdout); return 0;
        default: host_help(stderr); return 2;
        }
    }
    bool operands = strcmp(cmd, "exec") == 0 || strcmp(cmd, "restart") == 0;
    if (optind < argc && !operands) {
        fprintf(stderr, "kvmkit host: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (strcmp(cmd, "up") == 0 || strcmp(cmd, "config") == 0) {
        struct host_config *hc = calloc(1, sizeof(*hc));
        if (!hc)
            return 1;
        int rc = host_config_load(config, dir, hc);
        if (rc == 0 && accel) {
            if (strcmp(accel, "auto") && strcmp(accel, "kvm") && strcmp(accel, "tcg")) {
                fprintf(stderr, "kvmkit host: --accel: '%s' is not auto, kvm or tcg\n", accel);
                free(hc);
                return 2;
            }
            snprintf(hc->accel, sizeof(hc->accel), "%s", accel);
        }
        if (rc == 0 && strcmp(cmd, "config") == 0) {
            json_t *j = host_config_to_json(hc);
            json_dumpf(j, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
            json_decref(j);
        } else if (rc == 0) {
            rc = host_up(hc, wait_s);
        }
        free(hc);
        return rc < 0 ? 1 : 0;
    }
    if (config) {
        fprintf(stderr, "kvmkit host %s: no -c (the run directory has the configuration)\n",
                cmd);
        return 2;
    }
    if (!dir)
        dir = getenv("KVMKIT_HOST_DIR") ? getenv("KVMKIT_HOST_DIR") : "kvmkit-host";
    if (strcmp(cmd, "status") == 0)
        return host_status(dir, &so) < 0 ? 1 : 0;
    if (strcmp(cmd, "down") == 0)
        return host_down(dir, false) < 0 ? 1 : 0;
    if (strcmp(cmd, "restart") == 0) {
        if (argc - optind != 1) {
            fprintf(stderr, "kvmkit host restart: name one daemon: switchd or blkd\n");
            return 2;
        }
        return host_restart(dir, argv[optind], kill9) < 0 ? 1 : 0;
    }
    if (strcmp(cmd, "exec") == 0) {
        if (optind < argc && strcmp(argv[optind], "--") == 0)
            optind++;
        const char *vm = optind < argc ? argv[optind++] : NULL;
        if (optind < argc && strcmp(argv[optind], "--") == 0)
            optind++;
        if (!vm || optind >= argc) {
            fprintf(stderr, "kvmkit host exec: usage: kvmkit host exec [-d DIR] VM [--] "
                            "COMMAND...\n");
            return 2;
        }
        size_t len = 1;
        for (int i = optind; i < argc; i++)
            len += strlen(argv[i]) + 1;
        char *text = calloc(1, len);
        if (!text)
            return HOST_EXEC_FAILED;
        for (int i = optind; i < argc; i++) {
            if (i > optind)
                strcat(text, " ");
            strcat(text, argv[i]);
        }
        int rc = host_exec(dir, vm, text, timeout_s);
        free(text);
        return rc;
    }
    fprintf(stderr, "kvmkit host: unknown command '%s' (up, status, down, restart, exec, "
                    "config)\n", cmd);
    return 2;
}
