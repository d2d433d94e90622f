/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect_internal.h — the package-database parsers behind
 * gfs_inspect_list_applications() (inspect_apps.c), on a buffer, for the
 * unit tests and the fuzz target. Not installed.
 *
 * The buffers are the guest's files and untrusted: any bytes, any length up
 * to GFS_APPS_MAX_DB. Every entry that comes back has a non-empty name
 * without whitespace or control characters and fields no longer than the
 * limits below; a stanza that breaks them is skipped, never an error.
 *
 * Threads: no shared state; any thread.
 */
#ifndef GFS_INSPECT_INTERNAL_H
#define GFS_INSPECT_INTERNAL_H

#include <stddef.h>

#include "inspect.h"

#define GFS_APPS_MAX_DB (64u << 20)   /* bytes of a package database read */
#define GFS_APPS_MAX_ENTRIES 200000   /* applications listed */
#define GFS_APPS_MAX_SHORT 1024       /* name, version, release, arch, source */
#define GFS_APPS_MAX_URL 4096         /* url (longer: dropped) */
#define GFS_APPS_MAX_SUMMARY 4096     /* summary (longer: cut at a UTF-8 boundary) */
#define GFS_APPS_MAX_DESCRIPTION 65536 /* description (longer: cut) */

/*
 * dpkg's /var/lib/dpkg/status: RFC 822-like stanzas separated by empty
 * lines. Only entries whose Status is "WANT ok installed" are listed.
 * Package -> name; Version [EPOCH:]UPSTREAM[-REVISION] split as libguestfs
 * does (epoch, then version up to the first '-', release after it);
 * Architecture -> arch; Homepage -> url; Source's first word ->
 * source_package; Description's first line -> summary, its continuation
 * lines (one leading blank removed, joined with '\n') -> description.
 * Returns the number of entries (unsorted; *apps NULL when 0) or -ENOMEM.
 */
int gfs__parse_dpkg_status(const char *data, size_t len, struct gfs_app **apps);

/*
 * apk's /lib/apk/db/installed: "X:value" lines in stanzas separated by
 * empty lines. P -> name, V -> version/release (release after the first
 * '-', its leading 'r' removed), A -> arch, U -> url, T -> description
 * (as libguestfs: no summary, no source package). Returns the count
 * (unsorted) or -ENOMEM.
 */
int gfs__parse_apk_installed(const char *data, size_t len, struct gfs_app **apps);

/* Sort by name (strcmp, as libguestfs), ties by arch then version. */
void gfs__sort_apps(struct gfs_app *apps, int n);

#endif
