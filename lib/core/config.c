/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kk_config.h"
#include "kk_err.h"
#include "kk_log.h"

KK_LOG_COMPONENT(config_log, "config");

#define CONFIG_MAX_BYTES (64u << 20)

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return kk_neg_errno();
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return kk_neg_errno();
    int rc = fsync(fd) < 0 ? kk_neg_errno() : 0;
    close(fd);
    return rc;
}

int kk_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    if (!path || (!data && len))
        return -EINVAL;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int rc = kk_neg_errno();
        free(tmp);
        return rc;
    }
    int rc = write_all(fd, data, len);
    if (rc == 0 && fchmod(fd, mode) < 0)
        rc = kk_neg_errno();
    if (rc == 0 && fsync(fd) < 0)
        rc = kk_neg_errno();
    if (close(fd) < 0 && rc == 0)
        rc = kk_neg_errno();
    if (rc == 0 && rename(tmp, path) < 0)
        rc = kk_neg_errno();
    if (rc < 0) {
        unlink(tmp);
        KK_LOGE(config_log, "cannot write %s: %s", path, kk_strerror(rc));
        free(tmp);
        return rc;
    }
    free(tmp);
    /* Make the rename itself durable. */
    return fsync_dir_of(path);
}

int kk_config_save(const char *path, const json_t *config)
{
    if (!path || !config)
        return -EINVAL;
    char *text = json_dumps(config, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text)
        return -ENOMEM;
    size_t len = strlen(text);
    /* A trailing newline keeps editors and diff happy. */
    char *buf = realloc(text, len + 2);
    if (!buf) {
        free(text);
        return -ENOMEM;
    }
    buf[len++] = '\n';
    buf[len] = '\0';
    int rc = kk_file_write_atomic(path, buf, len, 0600);
    free(buf);
    return rc;
}

int kk_config_load(const char *path, json_t **out)
{
    if (!path || !out)
        return -EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kk_neg_errno();
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = kk_neg_errno();
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if ((uint64_t)st.st_size > CONFIG_MAX_BYTES) {
        close(fd);
        KK_LOGE(config_log, "%s: %lld bytes is too large for a configuration file", path,
                (long long)st.st_size);
        return -EFBIG;
    }
    json_error_t err;
    json_t *root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &err);
    close(fd);
    if (!root) {
        KK_LOGE(config_log, "%s:%d:%d: %s", path, err.line, err.column, err.text);
        return -EINVAL;
    }
    if (!json_is_object(root)) {
        KK_LOGE(config_log, "%s: the configuration must be a JSON object", path);
        json_decref(root);
        return -EINVAL;
    }
    *out = root;
    return 0;
}
