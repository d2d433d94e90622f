/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_proc.c — the processes of a `kvmkit host`: started detached (their
 * own session, so a Ctrl-C meant for the shell does not reach them and they
 * outlive `kvmkit host up`), known by pid files in the run directory, and
 * stopped only when /proc says the pid still is the process we started
 * (its command line names the run directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "kk_err.h"
#include "kk_jsonrpc.h"

double host_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void host_copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

int host_path(char *out, size_t size, const char *dir, const char *a, const char *b)
{
    const char *parts[4] = {dir, "/", a ? a : "", b ? b : ""};
    size_t len = 0;
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(parts[i]);
        if (len + n >= size) {
            host_copy(out + len, size - len, parts[i]);
            return -ENAMETOOLONG;
        }
        memcpy(out + len, parts[i], n);
        len += n;
    }
    out[len] = 0;
    return 0;
}

const char *host_self_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
        if (n <= 0) {
            strcpy(dir, ".");
        } else {
            dir[n] = 0;
            char *slash = strrchr(dir, '/');
            if (slash)
                *slash = 0;
        }
    }
    return dir;
}

/* Close every inherited descriptor from 3 up but @keep: a daemon must not
 * hold, say, a test harness's output pipe open for its whole life. */
static void close_inherited(int keep)
{
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < max; fd++)
        if (fd != keep)
            close(fd);
}

/* In the child: stdio redirected, then exec. On failure the errno goes
 * up @report (close-on-exec, so a successful exec closes it silently). */
static void child_exec(const char *const argv[], const char *log, int report, bool detach)
{
    if (detach)
        setsid();
    int in = open("/dev/null", O_RDONLY);
    if (in >= 0 && in != 0) {
        dup2(in, 0);
        close(in);
    }
    if (log) {
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (out < 0) {
            int e = errno;
            (void)!write(report, &e, sizeof(e));
            _exit(127);
        }
        dup2(out, 1);
        dup2(out, 2);
    }
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    char *args[64];
    size_t n = 0;
    while (argv[n] && n < 63)
        n++;
    memcpy(args, argv, n * sizeof(args[0])); /* exec's prototype predates const */
    args[n] = NULL;
    execvp(args[0], args);
    int e = errno;
    (void)!write(report, &e, sizeof(e));
    _exit(127);
}

static pid_t start(const char *const argv[], const char *log, bool detach)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return -e;
    }
    if (pid == 0) {
        close(p[0]);
        if (detach)
            close_inherited(p[1]);
        child_exec(argv, log, p[1], detach);
    }
    close(p[1]);
    int e = 0;
    ssize_t n = read(p[0], &e, sizeof(e));
    close(p[0]);
    if (n == (ssize_t)sizeof(e)) {
        waitpid(pid, NULL, 0);
        fprintf(stderr, "kvmkit host: cannot run %s: %s\n", argv[0], strerror(e));
        return -e;
    }
    return pid;
}

pid_t host_spawn(const char *const argv[], const char *log, const char *pidfile)
{
    pid_t pid = start(argv, log, true);
    if (pid < 0)
        return pid;
    FILE *f = fopen(pidfile, "w");
    if (!f) {
        int e = errno;
        fprintf(stderr, "kvmkit host: %s: %s\n", pidfile, strerror(e));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -e;
    }
    fprintf(f, "%d\n", (int)pid);
    fclose(f);
    return pid;
}

int host_run(const char *const argv[], const char *log)
{
    pid_t pid = start(argv, log, false);
    if (pid < 0)
        return pid;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Alive, not a zombie, and (when @dir) started for this run directory. */
static bool ours(pid_t pid, const char *dir)
{
    char path[64], buf[8192];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *rp = strrchr(buf, ')');
    if (!rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X')
        return false;
    if (!dir)
        return true;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (!buf[i])
            buf[i] = ' ';
    buf[n] = 0;
    return strstr(buf, dir) != NULL;
}

static pid_t read_pid(const char *pidfile)
{
    FILE *f = fopen(pidfile, "r");
    if (!f)
        return 0;
    int pid = 0;
    if (fscanf(f, "%d", &pid) != 1)
        pid = 0;
    fclose(f);
    return pid > 1 ? pid : 0;
}

pid_t host_pid_alive(const char *pidfile, const char *dir)
{
    pid_t pid = read_pid(pidfile);
    return pid && ours(pid, dir) ? pid : 0;
}

static void reap(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

int host_stop(const char *const pidfiles[], int n, const char *dir, int grace_ms)
{
    pid_t pids[64];
    int m = 0, killed = 0;
    for (int i = 0; i < n && m < 64; i++) {
        pid_t pid = host_pid_alive(pidfiles[i], dir);
        if (pid && kill(pid, SIGTERM) == 0)
            pids[m++] = pid;
    }
    for (int waited = 0; waited < grace_ms; waited += 50) {
        reap();
        bool any = false;
        for (int i = 0; i < m; i++)
            any = any || ours(pids[i], NULL);
        if (!any)
            break;
        sleep_ms(50);
    }
    for (int i = 0; i < m; i++) {
        if (ours(pids[i], NULL)) {
            kill(pids[i], SIGKILL);
            killed++;
        }
    }
    for (int waited = 0; killed && waited < 5000; waited += 50) {
        reap();
        bool any = false;
        for (int i = 0; i < m; i++)
            any = any || ours(pids[i], NULL);
        if (!any)
            break;
        sleep_ms(50);
    }
    for (int i = 0; i < n; i++)
        unlink(pidfiles[i]);
    return killed;
}

int host_rpc(const char *sock, const char *method, json_t *params, json_t **result, bool quiet)
{
    struct kk_jsonrpc_client *cl;
    if (result)
        *result = NULL;
    int rc = kk_jsonrpc_client_connect(sock, &cl);
    if (rc < 0) {
        if (!quiet)
            fprintf(stderr, "kvmkit host: %s: cannot connect to %s: %s\n", method, sock,
                    kk_strerror(rc));
        json_decref(params);
        return rc;
    }
    json_t *res = NULL, *err = NULL;
    rc = kk_jsonrpc_client_call(cl, method, params, 10000, &res, &err);
    kk_jsonrpc_client_close(cl);
    if (rc == -EREMOTEIO) {
        if (!quiet) {
            json_t *msg = json_object_get(err, "message");
            fprintf(stderr, "kvmkit host: %s: %s\n", method,
                    json_is_string(msg) ? json_string_value(msg) : "refused");
        }
        json_decref(err);
        return rc;
    }
    if (rc < 0) {
        if (!quiet)
            fprintf(stderr, "kvmkit host: %s: %s\n", method, kk_strerror(rc));
        return rc;
    }
    if (result)
        *result = res;
    else
        json_decref(res);
    return 0;
}

int host_wait_daemon(const char *sock, pid_t pid, int ms)
{
    for (int waited = 0; waited < ms; waited += 50) {
        if (host_rpc(sock, "daemon.info", NULL, NULL, true) == 0)
            return 0;
        reap();
        if (!ours(pid, NULL))
            return -ESRCH;
        sleep_ms(50);
    }
    return -ETIMEDOUT;
}

void host_tail(const char *path, int lines)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *ring[64] = {0};
    if (lines > 64)
        lines = 64;
    char buf[512];
    int n = 0;
    while (fgets(buf, sizeof(buf), f)) {
        free(ring[n % lines]);
        ring[n % lines] = strdup(buf);
        n++;
    }
    fclose(f);
    for (int i = n > lines ? n - lines : 0; i < n; i++) {
        char *l = ring[i % lines];
        if (l) {
            l[strcspn(l, "\r\n")] = 0;
            fprintf(stderr, "    %s\n", l);
        }
    }
    for (int i = 0; i < lines; i++)
        free(ring[i]);
}
