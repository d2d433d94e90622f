/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host.h — `kvmkit host up|status|down`: a small KVM host from one JSON
 * configuration. kvmkit-switchd with a bridge, a vhost-user port per VM and
 * an internal port for the host; kvmkit-blkd serving a qcow2 disk per VM
 * (an ext4 filesystem holding a marker file); a QEMU guest per VM whose NIC
 * and disk are that port and that export.
 *
 * Everything lives in one run directory:
 *
 *   host.json                 the resolved configuration, pids, start time
 *   switchd.{sock,json,log,pid}, <bridge>.mgmt, <bridge>.snoop
 *   blkd.{sock,json,log,pid}
 *   <disk>.qcow2, <disk>.sock (vhost-user-blk export)
 *   <vm>.sock                 (vhost-user port of the switch)
 *   <vm>/guest.sh, console.log, qemu.log, qemu.pid, qemu.cmd (the command line),
 *        agent.sock (the guest agent's port, for exec), agent.lock
 *
 * Files: host_config.c (configuration: defaults, validation, the state
 * file), host_proc.c (processes: spawn detached, pid files, stop, RPC),
 * host_up.c (up, down, restart), host_status.c (status, the live view),
 * host_exec.c (exec through the guest agent), host_main.c (the command line). One thread; every function prints its own errors on
 * stderr, prefixed "kvmkit host: ", and returns 0 or a negative errno.
 */
#ifndef KK_HOST_H
#define KK_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#define HOST_MAX_BRIDGES 8
#define HOST_MAX_PORTS 16   /* extra kernel-interface ports per bridge */
#define HOST_MAX_DISKS 16
#define HOST_MAX_VMS 16
#define HOST_NAMELEN 32    /* names become file and port names; a host port's, an
                               * interface name, at most 15 characters */

struct host_port {
    char name[HOST_NAMELEN];
    char type[16];          /* afpacket, afxdp, tap, internal */
};

struct host_bridge {
    char name[HOST_NAMELEN];
    bool has_host_port;
    char host_port[HOST_NAMELEN];   /* internal port: a tap in the host */
    char host_address[32];           /* "10.77.0.1/24", "" for none */
    struct host_port ports[HOST_MAX_PORTS];
    int n_ports;
};

struct host_disk {
    char name[HOST_NAMELEN];
    uint64_t size;                   /* bytes (created disks) */
    char image[512];                 /* an existing qcow2/raw image, "" to create one */
    char format[8];                  /* of image: qcow2 or raw */
    char marker[128];                /* contents of /kvmkit-marker */
};

struct host_vm {
    char name[HOST_NAMELEN];
    char bridge[HOST_NAMELEN];
    int tag;                         /* VLAN of its port, 0 for none */
    char mac[18];
    char address[32];                /* "10.77.0.11/24" */
    char disk[HOST_NAMELEN];        /* "" for none */
    char memory[16];                 /* QEMU -m, e.g. 512M */
    int cpus;
    int fio_iops;                    /* 0: no fio in the default workload */
    char peer[32];                   /* address the workload pings ("" none) */
    char script[512];                /* user workload instead of the default */
};

struct host_config {
    char dir[256];                   /* the run directory, absolute */
    char accel[8];                   /* auto, kvm, tcg (auto resolved at up) */
    char qemu[256];
    char kernel[512], initrd[512], append[256];
    struct host_bridge bridges[HOST_MAX_BRIDGES];
    int n_bridges;
    struct host_disk disks[HOST_MAX_DISKS];
    int n_disks;
    struct host_vm vms[HOST_MAX_VMS];
    int n_vms;
};

/* ---- host_config.c ---- */

/* Fill @c from the JSON text in @path (NULL: no file, every default) and the
 * run directory @dir (NULL: the file's "dir", else $KVMKIT_HOST_DIR, else
 * ./kvmkit-host). Unknown keys, wrong types, bad names, sizes, addresses
 * and dangling references are refused with a message naming the key.
 * Returns 0 or -EINVAL / -ENOENT. */
int host_config_load(const char *path, const char *dir, struct host_config *c);

/* The configuration as JSON (every default spelled out): new reference. */
json_t *host_config_to_json(const struct host_config *c);

/* "10.77.0.1/24" -> "10.77.0.1" into @out. */
void host_addr_ip(const char *cidr, char *out, size_t size);

/* ---- host_proc.c ---- */

/* Start @argv detached (own session, stdin /dev/null, stdout and stderr
 * appended to @log), record its pid in @pidfile. Returns the pid, or
 * -errno with the reason printed (exec failures are reported, not hidden
 * in the log). */
pid_t host_spawn(const char *const argv[], const char *log, const char *pidfile);

/* The pid in @pidfile if that process is alive (not a zombie) and its
 * command line mentions @dir, else 0. */
pid_t host_pid_alive(const char *pidfile, const char *dir);

/* SIGTERM the processes in @pidfiles (those alive and ours per @dir), wait
 * up to @grace_ms for them to exit, SIGKILL the rest, wait again. Pid
 * files are removed. Returns how many needed SIGKILL. */
int host_stop(const char *const pidfiles[], int n, const char *dir, int grace_ms);

/* Call @method with @params (stolen) on the daemon at @sock; *result is a
 * new reference (may be NULL to drop it). Errors print "@what: ..." unless
 * @quiet. Returns 0, -EREMOTEIO (the daemon refused), or -errno. */
int host_rpc(const char *sock, const char *method, json_t *params, json_t **result,
             bool quiet);

/* Wait up to @ms for the daemon at @sock to answer daemon.info while @pid
 * lives. 0, -ETIMEDOUT, or -ESRCH (it exited). */
int host_wait_daemon(const char *sock, pid_t pid, int ms);

/* Run @argv to completion (stdout+stderr to @log, or inherited when NULL).
 * Returns its exit status, or -errno. */
int host_run(const char *const argv[], const char *log);

/* Print the last @lines lines of @path on stderr, indented. */
void host_tail(const char *path, int lines);

/* The directory kvmkit itself runs from (for kvmkit-switchd, kvmkit-blkd). */
const char *host_self_dir(void);

/* @dir + "/" + @a + @b (NULL: "") into @out, or @dir + "/" alone when @a is
 * NULL; truncated (and -ENAMETOOLONG) when it does not fit. */
int host_path(char *out, size_t size, const char *dir, const char *a, const char *b);

/* Copy @src into @dst of @size bytes, truncating. */
void host_copy(char *dst, size_t size, const char *src);

/* Monotonic seconds. */
double host_now(void);

/* ---- host_up.c ---- */
int host_up(const struct host_config *c, int wait_s);
int host_down(const char *dir, bool quiet);

/* The state file: the configuration and pids as `up` wrote them. */
int host_state_load(const char *dir, struct host_config *c, json_t **state);

/* Restart kvmkit-@daemon ("switchd" or "blkd") of the host in @dir under
 * its running guests: SIGTERM (or SIGKILL when @crash, as if it had
 * crashed), then start it again from the state it saved, give the host
 * ports their addresses again, wait until it answers. QEMU reconnects by
 * itself (its sockets have reconnect=1). 0 or a negative errno. */
int host_restart(const char *dir, const char *daemon, bool crash);

/* ---- host_exec.c ---- */

/* The name of the virtio-serial port of the guest agent. */
#define HOST_AGENT_PORT "org.kvmkit.agent"
#define HOST_EXEC_TIMEOUT 124  /* exit status: no answer in time */
#define HOST_EXEC_FAILED 125   /* exit status: the agent could not be used */

/* The agent's reply, read as it comes (it is the guest's, so untrusted):
 * set @id, feed every chunk read. Returns 1 when our end line came (then
 * @buf[0, @out_len) is the output and @status its exit status), 0 for more,
 * -EFBIG past HOST_AGENT_MAX_OUTPUT, -ENOMEM. Output and end lines of other
 * IDs (an abandoned request's) are dropped. */
#define HOST_AGENT_MAX_OUTPUT (64u << 20)
struct host_agent_reply {
    char id[32];
    char *buf;
    size_t len, cap, scan;
    size_t out_len;
    int status;
    bool done;
};
int host_agent_reply_feed(struct host_agent_reply *r, const char *data, size_t n);
void host_agent_reply_free(struct host_agent_reply *r);

/* Run the shell command @command in VM @vm of the host in @dir through its
 * agent port; its output (stdout and stderr together) goes to our stdout.
 * Returns its exit status (0-255), HOST_EXEC_TIMEOUT after @timeout_s, or
 * HOST_EXEC_FAILED (the reason printed). */
int host_exec(const char *dir, const char *vm, const char *command, double timeout_s);

/* ---- host_status.c ---- */
struct host_status_opts {
    bool json;
    bool watch;
    double interval_s;
    double duration_s;   /* watch: stop after this long (0: until signalled) */
    bool summary;        /* the final table: totals and averages since up */
};
int host_status(const char *dir, const struct host_status_opts *o);

/* Record in host.json when the guests were up and the disks' operation
 * counts then: the summary's averages start there, not at boot. */
int host_mark_ready(const struct host_config *c);

/* ---- host_main.c ---- */
int host_main(int argc, char **argv);
void host_help(FILE *out);

#endif
