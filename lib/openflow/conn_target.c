/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenFlow connection targets: "tcp:IP[:PORT]", "ssl:IP[:PORT]",
 * "unix:PATH", "ptcp:[PORT][:IP]", "pssl:[PORT][:IP]", "punix:PATH".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conn_internal.h"

static const struct {
    const char *prefix;
    enum ofp_target_kind kind;
} kinds[] = {
    {"tcp:", OFP_TARGET_TCP},     {"ssl:", OFP_TARGET_SSL},     {"unix:", OFP_TARGET_UNIX},
    {"ptcp:", OFP_TARGET_PTCP},   {"pssl:", OFP_TARGET_PSSL},   {"punix:", OFP_TARGET_PUNIX},
};

static int fail(char *err, size_t errlen, const char *text, const char *fmt, ...)
    KK_PRINTF(4, 5);
static int fail(char *err, size_t errlen, const char *text, const char *fmt, ...)
{
    if (err && errlen) {
        char why[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        snprintf(err, errlen, "%.64s: %s", text, why);
    }
    return -EINVAL;
}

/* Decimal digits only (no sign, no spaces), at most 65535. */
static int parse_port(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 5)
        return -EINVAL;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > 65535)
        return -ERANGE;
    *out = v;
    return 0;
}

/* An IPv4 address, or an IPv6 one in brackets, of exactly @n bytes. */
static int parse_ip(const char *s, size_t n, uint16_t port, struct ofp_target *t)
{
    char buf[INET6_ADDRSTRLEN + 2];
    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    memset(&t->addr, 0, sizeof(t->addr));
    if (buf[0] == '[') {
        if (buf[n - 1] != ']')
            return -EINVAL;
        buf[n - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t->addr;
        if (inet_pton(AF_INET6, buf + 1, &a6->sin6_addr) != 1)
            return -EINVAL;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        t->addr_len = sizeof(*a6);
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&t->addr;
    if (inet_pton(AF_INET, buf, &a4->sin_addr) != 1)
        return -EINVAL;
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    t->addr_len = sizeof(*a4);
    return 0;
}

static void set_port(struct ofp_target *t, uint16_t port)
{
    t->port = port;
    if (t->addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&t->addr)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&t->addr)->sin_port = htons(port);
}

static const char *ip_hint(const char *ip, size_t n)
{
    if (memchr(ip, ':', n) && ip[0] != '[')
        return "an IPv6 address needs brackets, e.g. [::1]";
    for (size_t i = 0; i < n; i++) {
        if ((ip[i] >= 'a' && ip[i] <= 'z') || (ip[i] >= 'A' && ip[i] <= 'Z'))
            if (ip[0] != '[')
                return "not an IP address (host names are not resolved)";
    }
    return "not an IPv4 address or a bracketed IPv6 address";
}

/* "IP[:PORT]" for tcp:/ssl:. */
static int parse_active_inet(const char *text, const char *rest, struct ofp_target *t, char *err,
                             size_t errlen)
{
    size_t len = strlen(rest);
    size_t ip_len;
    const char *port_s = NULL;
    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');
        if (!close)
            return fail(err, errlen, text, "missing ']' after the IPv6 address");
        ip_len = (size_t)(close - rest) + 1;
        if (close[1] == ':')
            port_s = close + 2;
        else if (close[1] != '\0')
            return fail(err, errlen, text, "expected ':PORT' after ']'");
    } else {
        const char *colon = strchr(rest, ':');
        if (colon && strchr(colon + 1, ':'))
            return fail(err, errlen, text, "an IPv6 address needs brackets, e.g. [::1]");
        ip_len = colon ? (size_t)(colon - rest) : len;
        if (colon)
            port_s = colon + 1;
    }
    if (ip_len == 0)
        return fail(err, errlen, text, "missing IP address");
    uint32_t port = OFP_CONN_DEFAULT_PORT;
    if (port_s) {
        int rc = parse_port(port_s, strlen(port_s), &port);
        if (rc == -ERANGE || (rc == 0 && port == 0))
            return fail(err, errlen, text, "port out of range (1-65535)");
        if (rc < 0)
            return fail(err, errlen, text, "port '%.16s' is not a number", port_s);
    }
    if (parse_ip(rest, ip_len, (uint16_t)port, t) < 0)
        return fail(err, errlen, text, "%s", ip_hint(rest, ip_len));
    t->port = (uint16_t)port;
    return 0;
}

/* "[PORT][:IP]" for ptcp:/pssl:. */
static int parse_passive_inet(const char *text, const char *rest, struct ofp_target *t, char *err,
                              size_t errlen)
{
    const char *colon = strchr(rest, ':');
    size_t port_len = colon ? (size_t)(colon - rest) : strlen(rest);
    uint32_t port = OFP_CONN_DEFAULT_PORT;
    if (port_len > 0) {
        int rc = parse_port(rest, port_len, &port);
        if (rc == -ERANGE)
            return fail(err, errlen, text, "port out of range (0-65535)");
        if (rc < 0)
            return fail(err, errlen, text, "port '%.*s' is not a number",
                        (int)KK_MIN(port_len, 16), rest);
    }
    if (colon) {
        const char *ip = colon + 1;
        if (parse_ip(ip, strlen(ip), (uint16_t)port, t) < 0)
            return fail(err, errlen, text, "%s", *ip ? ip_hint(ip, strlen(ip))
                                                     : "missing IP address after ':'");
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&t->addr;
        memset(&t->addr, 0, sizeof(t->addr));
        a4->sin_family = AF_INET;
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
        t->addr_len = sizeof(*a4);
    }
    set_port(t, (uint16_t)port);
    return 0;
}

static int parse_path(const char *text, const char *rest, struct ofp_target *t, char *err,
                      size_t errlen)
{
    struct sockaddr_un *un = (struct sockaddr_un *)&t->addr;
    size_t n = strlen(rest);
    if (n == 0)
        return fail(err, errlen, text, "missing socket path");
    if (n >= sizeof(un->sun_path))
        return fail(err, errlen, text, "socket path longer than %zu bytes",
                    sizeof(un->sun_path) - 1);
    memset(&t->addr, 0, sizeof(t->addr));
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, rest, n + 1);
    t->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    t->port = 0;
    return 0;
}

int ofp_target_parse(const char *text, struct ofp_target *out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!text || !out)
        return fail(err, errlen, "(null)", "no target");
    struct ofp_target t;
    memset(&t, 0, sizeof(t));
    const char *rest = NULL;
    for (size_t i = 0; i < KK_ARRAY_SIZE(kinds); i++) {
        size_t n = strlen(kinds[i].prefix);
        if (strncmp(text, kinds[i].prefix, n) == 0) {
            t.kind = kinds[i].kind;
            rest = text + n;
            break;
        }
    }
    if (!rest)
        return fail(err, errlen, text,
                    "unknown kind (tcp:, ssl:, unix:, ptcp:, pssl:, punix: are known)");
    int rc;
    switch (t.kind) {
    case OFP_TARGET_TCP:
    case OFP_TARGET_SSL:
        rc = parse_active_inet(text, rest, &t, err, errlen);
        break;
    case OFP_TARGET_PTCP:
    case OFP_TARGET_PSSL:
        rc = parse_passive_inet(text, rest, &t, err, errlen);
        break;
    default:
        rc = parse_path(text, rest, &t, err, errlen);
        break;
    }
    if (rc == 0)
        *out = t;
    return rc;
}

bool ofp_target_is_passive(const struct ofp_target *t)
{
    return t->kind == OFP_TARGET_PTCP || t->kind == OFP_TARGET_PSSL ||
           t->kind == OFP_TARGET_PUNIX;
}

bool ofp_target_is_ssl(const struct ofp_target *t)
{
    return t->kind == OFP_TARGET_SSL || t->kind == OFP_TARGET_PSSL;
}

/* "1.2.3.4" or "[::1]" */
static void format_ip(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
        snprintf(buf, len, "[%s]", ip);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
        snprintf(buf, len, "%s", ip);
    }
}

const char *ofp_target_format(const struct ofp_target *t, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN + 2];
    const struct sockaddr_un *un = (const struct sockaddr_un *)&t->addr;
    switch (t->kind) {
    case OFP_TARGET_TCP:
    case OFP_TARGET_SSL:
        format_ip(&t->addr, ip, sizeof(ip));
        snprintf(buf, len, "%s:%s:%u", t->kind == OFP_TARGET_TCP ? "tcp" : "ssl", ip, t->port);
        break;
    case OFP_TARGET_PTCP:
    case OFP_TARGET_PSSL:
        format_ip(&t->addr, ip, sizeof(ip));
        snprintf(buf, len, "%s:%u:%s", t->kind == OFP_TARGET_PTCP ? "ptcp" : "pssl", t->port, ip);
        break;
    case OFP_TARGET_UNIX:
    case OFP_TARGET_PUNIX:
        snprintf(buf, len, "%s:%s", t->kind == OFP_TARGET_UNIX ? "unix" : "punix", un->sun_path);
        break;
    default:
        snprintf(buf, len, "?");
        break;
    }
    return buf;
}

void ofp__peer_name(int fd, const struct ofp_target *t, char *buf, size_t len)
{
    if (t->kind == OFP_TARGET_UNIX || t->kind == OFP_TARGET_PUNIX) {
        snprintf(buf, len, "unix:%s", ((const struct sockaddr_un *)&t->addr)->sun_path);
        return;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0) {
        snprintf(buf, len, "?");
        return;
    }
    char ip[INET6_ADDRSTRLEN + 2];
    format_ip(&ss, ip, sizeof(ip));
    uint16_t port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                             : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    snprintf(buf, len, "%s:%s:%u", ofp_target_is_ssl(t) ? "ssl" : "tcp", ip, port);
}
