/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_agent.c — the host side of the guest agent's reply (see host_exec.c
 * for the protocol). Kept apart, with nothing but libc, for its fuzz target
 * (tests/fuzz/host_agent_fuzz.c): what comes back is written by the guest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

/* Find "\nKVMKIT-AGENT-END " followed by a whole line in @buf[@from, @len):
 * its offset, the ID's bounds and the status text; -1 when none is
 * complete. */
static long find_end(const char *buf, size_t len, size_t from, const char **id, size_t *id_len,
                     int *status)
{
    static const char tag[] = "\nKVMKIT-AGENT-END ";
    size_t t = sizeof(tag) - 1;
    for (size_t i = from; i + t <= len; i++) {
        if (memcmp(buf + i, tag, t) != 0)
            continue;
        const char *p = buf + i + t, *end = buf + len;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return -1; /* the rest of the line is still coming */
        const char *sp = memchr(p, ' ', (size_t)(nl - p));
        if (!sp)
            continue;
        /* STATUS: 1-3 digits, 0-255; anything else is not an end line. */
        int v = 0;
        const char *d = sp + 1;
        if (d == nl || nl - d > 3)
            continue;
        for (; d < nl && *d >= '0' && *d <= '9'; d++)
            v = v * 10 + (*d - '0');
        if (d != nl || v > 255)
            continue;
        *id = p;
        *id_len = (size_t)(sp - p);
        *status = v;
        return (long)i;
    }
    return -1;
}

int host_agent_reply_feed(struct host_agent_reply *r, const char *data, size_t n)
{
    if (r->done)
        return 1;
    if (n > HOST_AGENT_MAX_OUTPUT - r->len)
        return -EFBIG;
    if (r->cap - r->len < n) {
        size_t ncap = r->cap ? r->cap : 65536;
        while (ncap - r->len < n)
            ncap *= 2;
        char *nb = realloc(r->buf, ncap);
        if (!nb)
            return -ENOMEM;
        r->buf = nb;
        r->cap = ncap;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    const char *eid;
    size_t eid_len;
    int status;
    long at;
    while ((at = find_end(r->buf, r->len, r->scan, &eid, &eid_len, &status)) >= 0) {
        const char *line_end = memchr(r->buf + at + 1, '\n', r->len - (size_t)at - 1);
        size_t next = (size_t)(line_end - r->buf) + 1;
        if (eid_len == strlen(r->id) && memcmp(eid, r->id, eid_len) == 0) {
            /* Ours: everything before the end line is the output. */
            r->out_len = (size_t)at;
            r->status = status;
            r->done = true;
            return 1;
        }
        /* An abandoned request's late output and end: drop them. */
        memmove(r->buf, r->buf + next, r->len - next);
        r->len -= next;
        r->scan = 0;
    }
    /* An end line is shorter than 64 bytes with any ID we make; one longer
     * is not ours, so the scan never needs to look further back. */
    r->scan = r->len > 64 ? r->len - 64 : 0;
    return 0;
}

void host_agent_reply_free(struct host_agent_reply *r)
{
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = 0;
}
