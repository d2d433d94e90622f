/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_err.h — error conventions.
 *
 * Every kvmkit function that can fail returns 0 (or a count) on success and a
 * negative errno on failure. Constructors take an out parameter:
 *     int kk_thing_create(..., struct kk_thing **out);
 * and destroy functions accept NULL. Bad input is never a reason to abort:
 * it is an -EINVAL (or a more precise code) and a log line saying why.
 */
#ifndef KK_ERR_H
#define KK_ERR_H

#include <errno.h>

/*
 * Describe an error code. Accepts a negative or positive errno.
 * Returns a static, thread-safe string such as "No such file or directory";
 * unknown codes give "Unknown error".
 */
const char *kk_strerror(int err);

/*
 * The symbolic name of an error code ("ENOENT"), negative or positive,
 * or "E?" when unknown. Static and thread-safe.
 */
const char *kk_errname(int err);

/* Return -errno, never 0 (falls back to -EIO if errno was not set). */
static inline int kk_neg_errno(void)
{
    return errno > 0 ? -errno : -EIO;
}

#endif /* KK_ERR_H */
