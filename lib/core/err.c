/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "kk_err.h"

const char *kk_strerror(int err)
{
    if (err < 0)
        err = -err;
    const char *s = strerrordesc_np(err);
    return s ? s : "Unknown error";
}

const char *kk_errname(int err)
{
    if (err < 0)
        err = -err;
    const char *s = strerrorname_np(err);
    return s ? s : "E?";
}
