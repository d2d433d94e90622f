/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_up.c — `kvmkit host up` and `down`. Up checks everything it can
 * before starting anything (QEMU, the guest kernel, interfaces, root for the
 * host port), then: disks (mke2fs -d, `kvmkit img convert`), kvmkit-switchd
 * and its bridges and ports, kvmkit-blkd and its exports, one QEMU per VM.
 * A failure on the way tears down what was started. Down stops QEMU first
 * (so guests never see their backends vanish under them), then the daemons.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

#define PATHBUF 1024
#define LONGBUF 4200

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kvmkit host: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return -EINVAL;
}

static void path_of(char *out, const char *dir, const char *a, const char *b)
{
    host_path(out, PATHBUF, dir, a, b); /* dir is kept short (sockets), names shorter */
}

static bool in_path(const char *prog)
{
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char *copy = strdup(path), *save = NULL;
    bool found = false;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char p[PATHBUF];
        snprintf(p, sizeof(p), "%s/%s", d, prog);
        found = access(p, X_OK) == 0;
    }
    free(copy);
    return found;
}

/* The daemon next to kvmkit, else one in PATH. */
static void daemon_path(char *out, const char *name)
{
    snprintf(out, PATHBUF, "%s/%s", host_self_dir(), name);
    if (access(out, X_OK) != 0)
        snprintf(out, PATHBUF, "%s", name);
}

static bool iface_exists(const char *name)
{
    char p[128];
    snprintf(p, sizeof(p), "/sys/class/net/%s", name);
    return access(p, F_OK) == 0;
}

/* KVM when /dev/kvm opens and we are not ourselves a guest: a nested
 * hypervisor here boots a stock kernel slower than TCG does. */
static const char *resolve_accel(const char *accel)
{
    if (strcmp(accel, "auto") != 0)
        return accel;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return "tcg";
    close(fd);
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    bool guest = false;
    while (f && !guest && fgets(line, sizeof(line), f))
        if (strncmp(line, "flags", 5) == 0 && strstr(line, " hypervisor"))
            guest = true;
    if (f)
        fclose(f);
    return guest ? "tcg" : "kvm";
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return fail("%s: %s", path, strerror(errno));
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n;
    close(fd);
    return ok ? 0 : fail("%s: short write", path);
}

/* ---- checks before anything starts ---- */

static int preflight(const struct host_config *c, const char *accel)
{
    if (!in_path(c->qemu))
        return fail("QEMU '%s' not found (apt-get install qemu-system-x86, or set \"qemu\" "
                    "in the config)", c->qemu);
    if (access(c->kernel, R_OK) != 0)
        return fail("guest kernel %s: %s (build it: tests/e2e/guest/build.sh, or set "
                    "guest.kernel in the config)",
                    c->kernel, strerror(errno));
    if (access(c->initrd, R_OK) != 0)
        return fail("guest initrd %s: %s (see tests/e2e/guest/build.sh, or set guest.initrd)",
                    c->initrd, strerror(errno));
    if (strcmp(accel, "kvm") == 0 && access("/dev/kvm", R_OK | W_OK) != 0)
        return fail("accel kvm: /dev/kvm: %s (use \"accel\": \"tcg\")", strerror(errno));
    char p[PATHBUF];
    daemon_path(p, "kvmkit-switchd");
    if (!in_path(p))
        return fail("kvmkit-switchd not found next to kvmkit (%s) or in PATH", host_self_dir());
    daemon_path(p, "kvmkit-blkd");
    if (!in_path(p))
        return fail("kvmkit-blkd not found next to kvmkit (%s) or in PATH", host_self_dir());
    bool need_mkfs = false;
    for (int i = 0; i < c->n_disks; i++) {
        const struct host_disk *d = &c->disks[i];
        if (d->image[0] && access(d->image, R_OK | W_OK) != 0)
            return fail("disk %s: image %s: %s", d->name, d->image, strerror(errno));
        need_mkfs = need_mkfs || !d->image[0];
    }
    if (need_mkfs && !in_path("mke2fs"))
        return fail("mke2fs not found (apt-get install e2fsprogs)");
    for (int i = 0; i < c->n_vms; i++)
        if (c->vms[i].script[0] && access(c->vms[i].script, R_OK) != 0)
            return fail("vm %s: script %s: %s", c->vms[i].name, c->vms[i].script,
                        strerror(errno));
    for (int i = 0; i < c->n_bridges; i++) {
        const struct host_bridge *b = &c->bridges[i];
        if (b->has_host_port) {
            if (geteuid() != 0)
                return fail("bridge %s: the host port %s is a tap device: run as root, or "
                            "set \"host_port\": null", b->name, b->host_port);
            if (iface_exists(b->host_port))
                return fail("bridge %s: host port %s: an interface of that name exists "
                            "(another host up? pick another bridges[].host_port.name)",
                            b->name, b->host_port);
            if (!in_path("ip"))
                return fail("'ip' not found (apt-get install iproute2)");
        }
        for (int k = 0; k < b->n_ports; k++) {
            const struct host_port *hp = &b->ports[k];
            bool kernel = strcmp(hp->type, "tap") && strcmp(hp->type, "internal");
            if (kernel && !iface_exists(hp->name))
                return fail("bridge %s: port %s: no such network interface", b->name,
                            hp->name);
            if (geteuid() != 0)
                return fail("bridge %s: port %s needs root", b->name, hp->name);
        }
    }
    return 0;
}

/* ---- disks ---- */

static int make_disk(const struct host_config *c, const struct host_disk *d, char *image)
{
    if (d->image[0]) {
        snprintf(image, PATHBUF, "%s", d->image);
        return 0;
    }
    path_of(image, c->dir, d->name, ".qcow2");
    if (access(image, F_OK) == 0)
        return 0; /* kept from an earlier up: its data survives */
    char raw[PATHBUF], stage[PATHBUF], marker[PATHBUF + 32], log[PATHBUF], part[PATHBUF];
    path_of(raw, c->dir, d->name, ".raw");
    path_of(stage, c->dir, ".stage-", d->name);
    path_of(log, c->dir, "disks.log", NULL);
    path_of(part, c->dir, d->name, ".qcow2.part");
    mkdir(stage, 0755);
    snprintf(marker, sizeof(marker), "%s/kvmkit-marker", stage);
    char text[160];
    snprintf(text, sizeof(text), "%s\n", d->marker);
    int rc = write_file(marker, text, 0644);
    if (rc < 0)
        return rc;
    int fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)d->size) < 0) {
        rc = fail("%s: %s", raw, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    close(fd);
    const char *mkfs[] = {"mke2fs", "-q", "-F", "-t", "ext4", "-L", d->name, "-d", stage,
                    raw, NULL};
    rc = host_run(mkfs, log);
    if (rc != 0) {
        fail("disk %s: mke2fs failed (status %d):", d->name, rc);
        host_tail(log, 5);
        return -EIO;
    }
    char self[PATHBUF];
    snprintf(self, sizeof(self), "%s/kvmkit", host_self_dir());
    const char *conv[] = {self, "img", "convert", "-f", "raw", "-O", d->format, raw, part,
                    NULL};
    if (strcmp(d->format, "raw") == 0) {
        rc = rename(raw, part) == 0 ? 0 : -errno;
    } else {
        rc = host_run(conv, log);
        unlink(raw);
    }
    unlink(marker);
    rmdir(stage);
    if (rc != 0 || rename(part, image) < 0) {
        fail("disk %s: kvmkit img convert failed (status %d):", d->name, rc);
        host_tail(log, 5);
        return -EIO;
    }
    return 0;
}

/* ---- the guest's workload ---- */

/* The agent, first in every guest's script (the default workload's and a
 * user's own): `kvmkit host exec` (host_exec.c) runs commands through the
 * virtio-serial port org.kvmkit.agent. A request is one line "ID BASE64",
 * the command text in base64; the reply is the command's output (stdout and
 * stderr), then "\nKVMKIT-AGENT-END ID STATUS\n". One command at a time;
 * while no host end is connected, reads see end-of-file and the agent
 * opens the port again a second later. */
static const char guest_agent[] =
    "kvmkit_agent() {\n"
    "    for n in /sys/class/virtio-ports/*/name; do\n"
    "        [ \"$(cat \"$n\" 2>/dev/null)\" = " HOST_AGENT_PORT " ] || continue\n"
    "        p=${n%/name}\n"
    "        p=/dev/${p##*/}\n"
    "        while :; do\n"
    "            exec 3<>\"$p\" || return\n"
    "            while read -r id b64 <&3; do\n"
    "                echo \"$b64\" | base64 -d >/tmp/kvmkit-agent.sh\n"
    "                (cd /tmp && sh /tmp/kvmkit-agent.sh) </dev/null >&3 2>&1 3>&-\n"
    "                printf '\\nKVMKIT-AGENT-END %s %d\\n' \"$id\" $? >&3\n"
    "            done\n"
    "            exec 3<&-\n"
    "            sleep 1\n"
    "        done\n"
    "    done\n"
    "}\n"
    "kvmkit_agent </dev/null >/dev/null 2>&1 &\n";

static int write_guest_script(const struct host_config *c, const struct host_vm *v,
                              const char *path)
{
    if (v->script[0]) {
        FILE *in = fopen(v->script, "r");
        if (!in)
            return fail("vm %s: %s: %s", v->name, v->script, strerror(errno));
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
            fwrite(buf, 1, n, mem);
        fclose(in);
        fclose(mem);
        char *full = NULL;
        int rc = asprintf(&full, "# kvmkit host: the agent for `kvmkit host exec`\n%s"
                          "# %s\n%s", guest_agent, v->script, text ? text : "");
        free(text);
        if (rc < 0)
            return fail("out of memory");
        text = full;
        rc = write_file(path, text, 0644);
        free(text);
        return rc;
    }
    const char *host = "";
    char host_ip[32] = "";
    for (int i = 0; i < c->n_bridges; i++)
        if (strcmp(c->bridges[i].name, v->bridge) == 0 && c->bridges[i].has_host_port &&
            v->tag == 0) {
            host_addr_ip(c->bridges[i].host_address, host_ip, sizeof(host_ip));
            host = host_ip;
        }
    char fio[512] = "";
    if (v->fio_iops > 0 && v->disk[0])
        snprintf(fio, sizeof(fio),
                 "if [ -n \"$fs\" ]; then f=/mnt/kvmkit-fio.dat; rw=randrw; else "
                 "f=/dev/vda; rw=randread; fi\n"
                 "fio --name=kvmkit --filename=$f --size=16M --rw=$rw --bs=4k --direct=1 "
                 "--ioengine=libaio --iodepth=4 --rate_iops=%d --time_based --runtime=864000 "
                 "--output=/tmp/fio.log >/dev/null 2>&1 &\n"
                 "echo \"KVMKIT-HOST-FIO started on $f ($rw, %d IOPS)\"\n",
                 v->fio_iops, v->fio_iops);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f,
            "# The workload of VM %s, written by kvmkit host up: network, the disk's\n"
            "# marker file, fio in the background, then a ping of the peer and the host\n"
            "# every second, reported on the console for kvmkit host status; an iperf3\n"
            "# server, and the agent for kvmkit host exec.\n"
            "%s"
            "ip link set eth0 up\n"
            "ip addr add %s dev eth0\n"
            "iperf3 -s -D >/dev/null 2>&1\n"
            "fs=\n"
            "if [ -b /dev/vda ]; then\n"
            "    modprobe ext4 2>/dev/null\n"
            "    if mount -t ext4 /dev/vda /mnt 2>/tmp/mount.err; then\n"
            "        fs=/mnt\n"
            "        echo \"KVMKIT-HOST-MARKER $(cat /mnt/kvmkit-marker)\"\n"
            "    else\n"
            "        echo \"KVMKIT-HOST-MARKER-FAILED $(cat /tmp/mount.err)\"\n"
            "    fi\n"
            "fi\n"
            "%s"
            "rtt() {\n"
            "    [ -n \"$1\" ] || { echo none; return; }\n"
            "    r=$(ping -c 1 -W 1 \"$1\" 2>/dev/null | sed -n "
            "'s/.*min\\/avg\\/max = [^/]*\\/\\([^/]*\\)\\/.*/\\1/p')\n"
            "    echo \"${r:--}\"\n"
            "}\n"
            "seq=0\n"
            "while :; do\n"
            "    seq=$((seq + 1))\n"
            "    t0=$(date +%%s)\n"
            "    p=$(rtt %s)\n"
            "    h=$(rtt %s)\n"
            "    echo \"KVMKIT-HOST seq=$seq link=$(cat /sys/class/net/eth0/operstate) "
            "peer=$p host=$h\"\n"
            "    [ \"$(date +%%s)\" != \"$t0\" ] || sleep 1\n"
            "done\n",
            v->name, guest_agent, v->address, fio, v->peer, host);
    fclose(f);
    int rc = write_file(path, text, 0644);
    free(text);
    return rc;
}

/* ---- QEMU ---- */

static pid_t start_vm(const struct host_config *c, const struct host_vm *v, const char *accel)
{
    char vdir[PATHBUF], script[PATHBUF], console[PATHBUF], log[PATHBUF], pidf[PATHBUF];
    path_of(vdir, c->dir, v->name, NULL);
    mkdir(vdir, 0755);
    path_of(script, vdir, "guest.sh", NULL);
    path_of(console, vdir, "console.log", NULL);
    path_of(log, vdir, "qemu.log", NULL);
    path_of(pidf, vdir, "qemu.pid", NULL);
    unlink(console);
    unlink(log);
    int rc = write_guest_script(c, v, script);
    if (rc < 0)
        return rc;

    char smp[16], mem[64], con[PATHBUF + 32], fwcfg[PATHBUF + 32], append[400],
        net[PATHBUF + 64], nic[96], blk[PATHBUF + 64], accel_opt[32], agent[PATHBUF + 64];
    snprintf(smp, sizeof(smp), "%d", v->cpus);
    snprintf(mem, sizeof(mem), "memory-backend-memfd,id=mem,size=%s,share=on", v->memory);
    snprintf(con, sizeof(con), "file,id=con0,path=%s", console);
    snprintf(fwcfg, sizeof(fwcfg), "name=opt/run,file=%s", script);
    snprintf(append, sizeof(append), "console=ttyS0 quiet panic=-1 %s", c->append);
    snprintf(net, sizeof(net), "socket,id=net0,path=%s/%s.sock,reconnect=1", c->dir, v->name);
    /* vectors=0: QEMU 7.2 under TCG crashes starting a vhost-user NIC with MSI-X. */
    snprintf(nic, sizeof(nic), "virtio-net-pci,netdev=n0,mac=%s%s", v->mac,
             strcmp(accel, "tcg") == 0 ? ",vectors=0" : "");
    snprintf(blk, sizeof(blk), "socket,id=blk0,path=%s/%s.sock,reconnect=1", c->dir, v->disk);
    snprintf(agent, sizeof(agent), "socket,id=agent0,path=%s/agent.sock,server=on,wait=off",
             vdir);
    snprintf(accel_opt, sizeof(accel_opt), "%s", strcmp(accel, "kvm") == 0 ? "kvm"
                                                                            : "tcg,thread=multi");
    const char *argv[64];
    int n = 0;
    const char *fixed[] = {c->qemu, "-name", v->name, "-accel", accel_opt, "-cpu",
                           strcmp(accel, "kvm") == 0 ? "host" : "max", "-smp", smp, "-m",
                           v->memory, "-object", mem, "-numa", "node,memdev=mem",
                           "-nodefaults", "-display", "none", "-no-reboot", "-monitor", "none",
                           "-chardev", con, "-serial", "chardev:con0", "-kernel", c->kernel,
                           "-initrd", c->initrd, "-append", append, "-fw_cfg", fwcfg,
                           "-chardev", net, "-netdev", "vhost-user,id=n0,chardev=net0",
                           "-device", nic, "-device", "virtio-serial-pci",
                           "-chardev", agent, "-device",
                           "virtserialport,chardev=agent0,name=" HOST_AGENT_PORT};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        argv[n++] = fixed[i];
    if (v->disk[0]) {
        argv[n++] = "-chardev";
        argv[n++] = blk;
        argv[n++] = "-device";
        argv[n++] = "vhost-user-blk-pci,chardev=blk0,num-queues=1";
    }
    argv[n] = NULL;
    /* The command line, for people who start QEMU by hand (docs/qemu.md). */
    char cmdf[PATHBUF];
    path_of(cmdf, vdir, "qemu.cmd", NULL);
    FILE *cf = fopen(cmdf, "w");
    for (int i = 0; cf && i < n; i++)
        fprintf(cf, strchr(argv[i], ' ') ? "'%s'%s" : "%s%s", argv[i],
                i + 1 < n ? (argv[i + 1][0] == '-' ? " \\\n    " : " ") : "\n");
    if (cf)
        fclose(cf);
    /* QEMU's option parser wants commas in paths doubled; refuse them instead. */
    if (strchr(c->dir, ',') || strchr(c->kernel, ',') || strchr(c->initrd, ','))
        return fail("paths with commas are not supported (QEMU options)");
    return host_spawn(argv, log, pidf);
}

/* ---- switch and storage ---- */

/* The host port's address, and the port up. */
static int host_port_address(const struct host_bridge *b)
{
    const char *addr[] = {"ip", "addr", "replace", b->host_address, "dev", b->host_port, NULL};
    const char *up[] = {"ip", "link", "set", b->host_port, "up", NULL};
    if (host_run(addr, NULL) != 0 || host_run(up, NULL) != 0)
        return fail("bridge %s: cannot give %s the address %s", b->name, b->host_port,
                    b->host_address);
    return 0;
}

static int setup_switch(const struct host_config *c)
{
    char sock[PATHBUF];
    path_of(sock, c->dir, "switchd.sock", NULL);
    for (int i = 0; i < c->n_bridges; i++) {
        const struct host_bridge *b = &c->bridges[i];
        int rc = host_rpc(sock, "bridge.add", json_pack("{s:s}", "name", b->name), NULL, false);
        if (rc < 0)
            return rc;
        for (int k = 0; k < c->n_vms; k++) {
            const struct host_vm *v = &c->vms[k];
            if (strcmp(v->bridge, b->name) != 0)
                continue;
            char path[PATHBUF], tag[8];
            snprintf(path, sizeof(path), "%s/%s.sock", c->dir, v->name);
            json_t *settings = json_pack("{s:s, s:s}", "type", "vhost-user", "options:path",
                                         path);
            if (v->tag) {
                snprintf(tag, sizeof(tag), "%d", v->tag);
                json_object_set_new(settings, "tag", json_string(tag));
            }
            rc = host_rpc(sock, "port.add",
                          json_pack("{s:s, s:s, s:o}", "bridge", b->name, "name", v->name,
                                    "settings", settings),
                          NULL, false);
            if (rc < 0)
                return rc;
        }
        for (int k = 0; k < b->n_ports; k++) {
            rc = host_rpc(sock, "port.add",
                          json_pack("{s:s, s:s, s:{s:s}}", "bridge", b->name, "name",
                                    b->ports[k].name, "settings", "type", b->ports[k].type),
                          NULL, false);
            if (rc < 0)
                return rc;
        }
        if (b->has_host_port) {
            rc = host_rpc(sock, "port.add",
                          json_pack("{s:s, s:s, s:{s:s}}", "bridge", b->name, "name",
                                    b->host_port, "settings", "type", "internal"),
                          NULL, false);
            if (rc < 0)
                return rc;
            if ((rc = host_port_address(b)) < 0)
                return rc;
        }
    }
    return 0;
}

static int setup_storage(const struct host_config *c)
{
    char sock[PATHBUF];
    path_of(sock, c->dir, "blkd.sock", NULL);
    for (int i = 0; i < c->n_disks; i++) {
        const struct host_disk *d = &c->disks[i];
        char image[PATHBUF], esock[PATHBUF];
        int rc = make_disk(c, d, image);
        if (rc < 0)
            return rc;
        rc = host_rpc(sock, "bdev_create",
                      json_pack("{s:s, s:s, s:{s:s, s:s}}", "name", d->name, "type", "image",
                                "params", "path", image, "format", d->format),
                      NULL, false);
        if (rc < 0)
            return rc;
        path_of(esock, c->dir, d->name, ".sock");
        rc = host_rpc(sock, "export_add",
                      json_pack("{s:s, s:s, s:s, s:s, s:i}", "id", d->name, "type",
                                "vhost-user-blk", "bdev", d->name, "socket", esock,
                                "num_queues", 1),
                      NULL, false);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The daemons' fixed arguments (up and restart start them the same way). */
static const char *const switchd_args[] = {"--log-level", "info", NULL};
static const char *const blkd_args[] = {"--workers", "1", NULL};

/* Start kvmkit-@name. @restore: from the state it saved (restart), else
 * from nothing (up configures it over RPC afterwards). */
static pid_t start_daemon(const struct host_config *c, const char *name, const char *prog,
                          const char *const extra[], bool restore)
{
    char path[PATHBUF], rpc[PATHBUF], conf[PATHBUF], log[PATHBUF], pidf[PATHBUF];
    daemon_path(path, prog);
    snprintf(rpc, sizeof(rpc), "%s/%s.sock", c->dir, name);
    snprintf(conf, sizeof(conf), "%s/%s.json", c->dir, name);
    snprintf(log, sizeof(log), "%s/%s.log", c->dir, name);
    snprintf(pidf, sizeof(pidf), "%s/%s.pid", c->dir, name);
    if (!restore)
        unlink(conf); /* the host configuration is the truth, not a daemon's last state */
    unlink(rpc);
    const char *argv[16] = {path, "--rpc", rpc, "--config", conf};
    int n = 5;
    for (int i = 0; extra[i] && n < 15; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = host_spawn(argv, log, pidf);
    if (pid < 0)
        return pid;
    int rc = host_wait_daemon(rpc, pid, 10000);
    if (rc < 0) {
        fail("%s %s (see %s):", prog, rc == -ESRCH ? "exited at start" : "did not answer",
             log);
        host_tail(log, 10);
        return rc;
    }
    return pid;
}

/* ---- state ---- */

static int write_state(const struct host_config *c, const char *accel)
{
    char path[PATHBUF], tmp[PATHBUF + 8];
    json_t *conf = host_config_to_json(c);
    path_of(path, c->dir, "config.json", NULL);
    int rc = json_dump_file(conf, path, JSON_INDENT(2));
    json_decref(conf);
    json_t *state = json_pack("{s:I, s:s, s:i}", "started", (json_int_t)time(NULL), "accel",
                              accel, "pid", (int)getpid());
    path_of(path, c->dir, "host.json", NULL);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    rc = rc || json_dump_file(state, tmp, JSON_INDENT(2)) || rename(tmp, path);
    json_decref(state);
    return rc ? fail("cannot write the state in %s", c->dir) : 0;
}

int host_state_load(const char *dir, struct host_config *c, json_t **state)
{
    char path[PATHBUF];
    path_of(path, dir, "config.json", NULL);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "kvmkit host: no host in %s (no config.json; kvmkit host up first)\n",
                dir);
        return -ENOENT;
    }
    int rc = host_config_load(path, dir, c);
    if (rc < 0)
        return rc;
    if (state) {
        path_of(path, dir, "host.json", NULL);
        *state = json_load_file(path, 0, NULL);
        if (!*state)
            *state = json_object();
    }
    return 0;
}

/* Wait until every VM's workload runs (its first status line, or for a
 * VM with its own script the guest's READY mark). */
static int wait_guests(const struct host_config *c, int wait_s)
{
    double deadline = host_now() + wait_s;
    for (;;) {
        int ready = 0;
        for (int i = 0; i < c->n_vms; i++) {
            const struct host_vm *v = &c->vms[i];
            char p[PATHBUF], pidf[PATHBUF], line[1024];
            snprintf(p, sizeof(p), "%s/%s/console.log", c->dir, v->name);
            snprintf(pidf, sizeof(pidf), "%s/%s/qemu.pid", c->dir, v->name);
            const char *mark = v->script[0] ? "KVMKIT-GUEST-READY" : "KVMKIT-HOST seq=";
            bool seen = false;
            FILE *f = fopen(p, "r");
            while (f && !seen && fgets(line, sizeof(line), f))
                seen = strstr(line, mark) != NULL;
            if (f)
                fclose(f);
            if (seen) {
                ready++;
                continue;
            }
            if (!host_pid_alive(pidf, c->dir)) {
                fail("vm %s: QEMU stopped before its guest was up; QEMU said:", v->name);
                snprintf(p, sizeof(p), "%s/%s/qemu.log", c->dir, v->name);
                host_tail(p, 10);
                fprintf(stderr, "  console:\n");
                snprintf(p, sizeof(p), "%s/%s/console.log", c->dir, v->name);
                host_tail(p, 10);
                return -EIO;
            }
        }
        if (ready == c->n_vms)
            return 0;
        if (host_now() > deadline)
            return fail("%d of %d guests up after %d s (consoles: %s/VM/console.log)", ready,
                        c->n_vms, wait_s, c->dir);
        usleep(200000);
    }
}

static bool host_running(const char *dir)
{
    char p[PATHBUF];
    const char *names[] = {"switchd.pid", "blkd.pid"};
    for (int i = 0; i < 2; i++) {
        path_of(p, dir, names[i], NULL);
        if (host_pid_alive(p, dir))
            return true;
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    bool any = false;
    while (d && !any && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s/qemu.pid", dir, e->d_name);
        any = host_pid_alive(p, dir) != 0;
    }
    if (d)
        closedir(d);
    return any;
}

int host_up(const struct host_config *c, int wait_s)
{
    const char *accel = resolve_accel(c->accel);
    if (host_running(c->dir))
        return fail("a host is already up in %s (kvmkit host down -d %s)", c->dir, c->dir);
    int rc = preflight(c, accel);
    if (rc < 0)
        return rc;
    if (mkdir(c->dir, 0755) < 0 && errno != EEXIST)
        return fail("run directory %s: %s", c->dir, strerror(errno));
    if ((rc = write_state(c, accel)) < 0)
        return rc;
    printf("kvmkit host: run directory %s (accel %s)\n", c->dir, accel);
    fflush(stdout);

    if ((rc = start_daemon(c, "switchd", "kvmkit-switchd", switchd_args, false)) < 0 ||
        (rc = setup_switch(c)) < 0)
        goto failed;
    printf("kvmkit host: kvmkit-switchd: %d bridge%s, ports up\n", c->n_bridges,
           c->n_bridges == 1 ? "" : "s");
    fflush(stdout);
    if ((rc = start_daemon(c, "blkd", "kvmkit-blkd", blkd_args, false)) < 0 ||
        (rc = setup_storage(c)) < 0)
        goto failed;
    printf("kvmkit host: kvmkit-blkd: %d disk%s exported\n", c->n_disks,
           c->n_disks == 1 ? "" : "s");
    fflush(stdout);
    for (int i = 0; i < c->n_vms; i++) {
        pid_t pid = start_vm(c, &c->vms[i], accel);
        if (pid < 0) {
            rc = pid;
            goto failed;
        }
        printf("kvmkit host: %s: QEMU pid %d, %s on %s%s%s\n", c->vms[i].name, (int)pid,
               c->vms[i].address, c->vms[i].bridge, c->vms[i].disk[0] ? ", disk " : "",
               c->vms[i].disk);
    }
    fflush(stdout);
    /* QEMU refuses bad options at once: catch that here, --wait or not. */
    for (int t = 0; t < 10; t++) {
        usleep(100000);
        for (int i = 0; i < c->n_vms; i++) {
            char vdir[PATHBUF], pidf[PATHBUF], log[PATHBUF];
            path_of(vdir, c->dir, c->vms[i].name, NULL);
            path_of(pidf, vdir, "qemu.pid", NULL);
            if (!host_pid_alive(pidf, c->dir)) {
                fail("vm %s: QEMU exited at start; it said:", c->vms[i].name);
                path_of(log, vdir, "qemu.log", NULL);
                host_tail(log, 10);
                rc = -EIO;
                goto failed;
            }
        }
    }
    if (wait_s > 0) {
        if ((rc = wait_guests(c, wait_s)) < 0)
            goto failed;
        host_mark_ready(c);
        printf("kvmkit host: %d guest%s up\n", c->n_vms, c->n_vms == 1 ? "" : "s");
    }
    return 0;
failed:
    fprintf(stderr, "kvmkit host: up failed; stopping what was started\n");
    host_down(c->dir, true);
    return rc;
}

int host_down(const char *dir, bool quiet)
{
    struct host_config c;
    char real[PATH_MAX];
    if (!realpath(dir, real)) {
        fprintf(stderr, "kvmkit host: %s: %s\n", dir, strerror(errno));
        return -ENOENT;
    }
    bool have_config = host_state_load(real, &c, NULL) == 0;
    /* QEMU first: every VM directory with a pid file, configured or not. */
    const char *pidfiles[HOST_MAX_VMS + 8];
    char store[HOST_MAX_VMS + 8][PATHBUF];
    int n = 0;
    DIR *d = opendir(real);
    struct dirent *e;
    while (d && n < HOST_MAX_VMS + 4 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char vdir[PATHBUF];
        path_of(vdir, real, e->d_name, NULL);
        path_of(store[n], vdir, "qemu.pid", NULL);
        if (access(store[n], F_OK) == 0) {
            pidfiles[n] = store[n];
            n++;
        }
    }
    if (d)
        closedir(d);
    int stopped = 0;
    for (int i = 0; i < n; i++)
        stopped += host_pid_alive(pidfiles[i], real) != 0;
    int killed = host_stop(pidfiles, n, real, 5000);
    /* The agent socket a killed QEMU could not remove. */
    for (int i = 0; i < n; i++) {
        char *slash = strrchr(store[i], '/');
        if (slash && (size_t)(slash - store[i]) + sizeof("/agent.sock") < PATHBUF) {
            strcpy(slash, "/agent.sock");
            unlink(store[i]);
        }
    }
    int m = 0;
    const char *names[] = {"switchd.pid", "blkd.pid"};
    for (int i = 0; i < 2; i++) {
        path_of(store[m], real, names[i], NULL);
        stopped += host_pid_alive(store[m], real) != 0;
        pidfiles[m] = store[m];
        m++;
    }
    killed += host_stop(pidfiles, m, real, 5000);
    /* Sockets a killed daemon could not remove; a host port it could not. */
    d = opendir(real);
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if ((len > 5 && strcmp(e->d_name + len - 5, ".sock") == 0) ||
            (len > 5 && strcmp(e->d_name + len - 5, ".mgmt") == 0) ||
            (len > 6 && strcmp(e->d_name + len - 6, ".snoop") == 0)) {
            char p[PATHBUF];
            path_of(p, real, e->d_name, NULL);
            unlink(p);
        }
    }
    if (d)
        closedir(d);
    for (int i = 0; have_config && i < c.n_bridges; i++) {
        if (c.bridges[i].has_host_port && iface_exists(c.bridges[i].host_port)) {
            const char *del[] = {"ip", "link", "del", c.bridges[i].host_port, NULL};
            host_run(del, "/dev/null");
        }
    }
    if (!quiet)
        printf("kvmkit host: down: %d process%s stopped (%d needed SIGKILL)\n", stopped,
               stopped == 1 ? "" : "es", killed);
    return 0;
}

/* ---- restart ---- */

int host_restart(const char *dir, const char *daemon, bool crash)
{
    struct host_config *c = calloc(1, sizeof(*c));
    char real[PATH_MAX];
    if (!c)
        return fail("out of memory");
    int rc = -ENOENT;
    if (!realpath(dir, real)) {
        fprintf(stderr, "kvmkit host: %s: %s\n", dir, strerror(errno));
        goto out;
    }
    if ((rc = host_state_load(real, c, NULL)) < 0)
        goto out;
    bool sw = strcmp(daemon, "switchd") == 0;
    if (!sw && strcmp(daemon, "blkd") != 0) {
        rc = fail("restart: '%s' is not a daemon of the host (switchd, blkd)", daemon);
        goto out;
    }
    char pidf[PATHBUF];
    path_of(pidf, real, daemon, ".pid");
    pid_t old = host_pid_alive(pidf, real);
    if (!old && !host_running(real)) {
        rc = fail("restart: no host is up in %s (kvmkit host up)", real);
        goto out;
    }
    if (!old) {
        /* It died (or was stopped by hand): start it again all the same. */
    } else if (crash) {
        /* As if it had crashed: no chance to flush or close anything. */
        kill(old, SIGKILL);
        for (int i = 0; i < 500 && kill(old, 0) == 0; i++)
            usleep(10000);
        unlink(pidf);
    } else {
        const char *one[] = {pidf};
        host_stop(one, 1, real, 10000);
    }
    pid_t pid = start_daemon(c, daemon, sw ? "kvmkit-switchd" : "kvmkit-blkd",
                             sw ? switchd_args : blkd_args, true);
    if (pid < 0) {
        rc = pid;
        goto out;
    }
    /* A restored internal port is a new tap: it needs its address again. */
    for (int i = 0; sw && i < c->n_bridges; i++) {
        const struct host_bridge *b = &c->bridges[i];
        if (!b->has_host_port)
            continue;
        for (int t = 0; t < 100 && !iface_exists(b->host_port); t++)
            usleep(50000);
        if ((rc = host_port_address(b)) < 0)
            goto out;
    }
    if (old)
        printf("kvmkit host: kvmkit-%s restarted: pid %d (was %d, %s); its state restored "
               "from %s/%s.json\n", daemon, (int)pid, (int)old, crash ? "killed" : "stopped",
               real, daemon);
    else
        printf("kvmkit host: kvmkit-%s was not running; started: pid %d, its state restored "
               "from %s/%s.json\n", daemon, (int)pid, real, daemon);
    rc = 0;
out:
    free(c);
    return rc;
}
