/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_config.h — a daemon's persistent JSON configuration.
 *
 * A daemon keeps its configuration (bridges, ports, exports, ...) in one
 * JSON file and restores it on start. Saving is atomic: the new content is
 * written to a temporary file in the same directory, fsync'd, renamed over
 * the old file, and the directory is fsync'd; a crash at any point leaves
 * either the old or the new file, never a mix.
 *
 * Thread safety: the functions are reentrant; concurrent saves of the same
 * path from several threads leave one of them in place.
 */
#ifndef KK_CONFIG_H
#define KK_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/*
 * Read @path and parse it as a JSON object. Returns 0 and a new reference
 * in *out, or
 *   -ENOENT  the file does not exist (a first start: use defaults);
 *   -EINVAL  not valid JSON or not an object (logged with line and column);
 *   -EFBIG   larger than 64 MiB;
 *   another negative errno from open/read.
 */
int kk_config_load(const char *path, json_t **out);

/*
 * Atomically replace @path with @config (any JSON value), pretty-printed
 * with sorted keys and mode 0600. Returns 0 or a negative errno; on failure
 * the old file is untouched.
 */
int kk_config_save(const char *path, const json_t *config);

/*
 * Atomically replace @path with @len bytes of @data and mode @mode (same
 * protocol as kk_config_save()). Returns 0 or a negative errno.
 */
int kk_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif /* KK_CONFIG_H */
