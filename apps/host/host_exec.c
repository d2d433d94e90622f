/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_exec.c — `kvmkit host exec VM -- COMMAND`: run a shell command in a
 * guest through its agent (the virtio-serial port org.kvmkit.agent, whose
 * host end is the QEMU socket <dir>/<vm>/agent.sock; the guest side is the
 * shell loop host_up.c puts first in every guest's script).
 *
 * Request: one line "ID BASE64" (the command text in base64, so it may hold
 * any bytes and newlines). Reply: the command's output, then
 * "\nKVMKIT-AGENT-END ID STATUS\n". Output before another ID's end line is
 * what an earlier, abandoned request printed late, and is dropped. One exec
 * per VM at a time (a lock file beside the socket).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* @len bytes of @in as base64 (no line breaks) into a new string. */
static char *base64(const char *in, size_t len)
{
    char *out = malloc(len / 3 * 4 + 8), *o = out;
    if (!out)
        return NULL;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)(uint8_t)in[i] << 16 | (uint32_t)(uint8_t)in[i + 1] << 8 |
                     (uint8_t)in[i + 2];
        *o++ = b64chars[v >> 18];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = b64chars[(v >> 6) & 63];
        *o++ = b64chars[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)(uint8_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)(uint8_t)in[i + 1] << 8;
        *o++ = b64chars[v >> 18];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = 0;
    return out;
}

/* All of @p to @fd: a socket by send() (a QEMU gone meanwhile is an error,
 * not SIGPIPE), anything else by write(). */
static int put_all(int fd, const char *p, size_t n, bool sock)
{
    while (n) {
        ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int host_exec(const char *dir, const char *vm, const char *command, double timeout_s)
{
    char real[PATH_MAX], sock[PATH_MAX + 64], lock[PATH_MAX + 64];
    if (!realpath(dir, real)) {
        fprintf(stderr, "kvmkit host: %s: %s\n", dir, strerror(errno));
        return HOST_EXEC_FAILED;
    }
    if (!vm[0] || strchr(vm, '/') || strcmp(vm, ".") == 0 || strcmp(vm, "..") == 0) {
        fprintf(stderr, "kvmkit host exec: '%s' is not a VM name\n", vm);
        return HOST_EXEC_FAILED;
    }
    snprintf(sock, sizeof(sock), "%s/%s/agent.sock", real, vm);
    snprintf(lock, sizeof(lock), "%s/%s/agent.lock", real, vm);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "kvmkit host exec: socket path too long: %s\n", sock);
        return HOST_EXEC_FAILED;
    }
    if (access(sock, F_OK) != 0) {
        fprintf(stderr, "kvmkit host exec: no agent socket for VM '%s' (%s: %s; is it up?)\n",
                vm, sock, strerror(errno));
        return HOST_EXEC_FAILED;
    }
    double deadline = host_now() + timeout_s;
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0) {
        fprintf(stderr, "kvmkit host exec: %s: %s\n", lock, strerror(errno));
        return HOST_EXEC_FAILED;
    }
    while (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
        if (host_now() > deadline) {
            fprintf(stderr, "kvmkit host exec: another exec in %s still runs after %.0f s\n",
                    vm, timeout_s);
            close(lfd);
            return HOST_EXEC_TIMEOUT;
        }
        usleep(50000);
    }
    strcpy(sa.sun_path, sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "kvmkit host exec: %s: %s (is QEMU of '%s' running?)\n", sock,
                strerror(errno), vm);
        if (fd >= 0)
            close(fd);
        close(lfd);
        return HOST_EXEC_FAILED;
    }
    struct host_agent_reply reply = {0};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(reply.id, sizeof(reply.id), "%d-%ld", (int)getpid(), (long)(ts.tv_nsec / 1000));
    char *enc = base64(command, strlen(command));
    char *req = NULL;
    int rc = HOST_EXEC_FAILED;
    if (!enc || asprintf(&req, "%s %s\n", reply.id, enc) < 0) {
        req = NULL;
        fprintf(stderr, "kvmkit host exec: out of memory\n");
        goto out;
    }
    if (put_all(fd, req, strlen(req), true) < 0) {
        fprintf(stderr, "kvmkit host exec: sending to %s: %s\n", sock, strerror(errno));
        goto out;
    }
    for (;;) {
        double left = deadline - host_now();
        if (left <= 0) {
            fprintf(stderr, "kvmkit host exec: no answer from %s's agent within %.0f s "
                            "(the command may still run in the guest)\n", vm, timeout_s);
            if (reply.len)
                put_all(STDOUT_FILENO, reply.buf, reply.len, false);
            rc = HOST_EXEC_TIMEOUT;
            goto out;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "kvmkit host exec: poll: %s\n", strerror(errno));
            goto out;
        }
        if (n <= 0)
            continue;
        char chunk[65536];
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr, "kvmkit host exec: %s closed the agent connection before the "
                            "command ended (QEMU stopped?)\n", vm);
            if (reply.len)
                put_all(STDOUT_FILENO, reply.buf, reply.len, false);
            goto out;
        }
        int done = host_agent_reply_feed(&reply, chunk, (size_t)r);
        if (done < 0) {
            fprintf(stderr, "kvmkit host exec: %s\n",
                    done == -EFBIG ? "more than 64 MiB of output: stopped reading"
                                   : "out of memory");
            goto out;
        }
        if (done) {
            if (put_all(STDOUT_FILENO, reply.buf, reply.out_len, false) < 0) {
                fprintf(stderr, "kvmkit host exec: writing the output: %s\n",
                        strerror(errno));
                goto out;
            }
            rc = reply.status;
            goto out;
        }
    }
out:
    host_agent_reply_free(&reply);
    free(req);
    free(enc);
    close(fd);
    close(lfd);
    return rc;
}
