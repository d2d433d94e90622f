/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fish_parse.c — guestfish's command-line syntax (guestfish(1), "COMMANDS"
 * and "QUOTING"):
 *
 *   - leading blanks are skipped; an empty line or one starting with '#'
 *     does nothing;
 *   - a leading '-' lets this one command fail without ending a script;
 *   - the command is the first word; arguments are separated by blanks;
 *   - "double quotes" allow C escapes: \\ \" \' \? \a \b \f \n \r \t \v,
 *     \ooo (exactly three octal digits) and \xHH (exactly two hex
 *     digits), the value 1-255; anything else is an error;
 *   - 'single quotes' take everything up to the next quote literally;
 *   - a quoted argument must be followed by a blank or the end of line;
 *   - '|' starts a shell command that gets the output;
 *   - at most 63 arguments ("too many arguments" at 64, as guestfish).
 *
 * Shell escapes ("!cmd", "<!cmd") and ~user expansion are not supported
 * (docs/guestfs-fish.md). Everything works in place on the line and is
 * bounded by it, so any input (long lines, stray quotes) is safe.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fish.h"

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode a double-quoted string starting after the quote, in place.
 * Returns the length of the decoded string; *end gets the closing quote's
 * position in the original buffer (the decoded bytes are at p). */
static long parse_double_quoted(char *p, char **end)
{
    char *out = p, *in = p;
    while (*in && *in != '"') {
        if (*in != '\\') {
            *out++ = *in++;
            continue;
        }
        int c;
        switch (in[1]) {
        case '\\': c = '\\'; break;
        case 'a': c = '\a'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'v': c = '\v'; break;
        case '"': c = '"'; break;
        case '\'': c = '\''; break;
        case '?': c = '?'; break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
            if (in[2] < '0' || in[2] > '7' || in[3] < '0' || in[3] > '7')
                goto bad;
            c = (in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0');
            if (c < 1 || c > 255)
                goto bad;
            *out++ = (char)c;
            in += 4;
            continue;
        case 'x':
            if (hexval(in[2]) < 0 || hexval(in[3]) < 0)
                goto bad;
            c = hexval(in[2]) * 16 + hexval(in[3]);
            if (c < 1)
                goto bad;
            *out++ = (char)c;
            in += 4;
            continue;
        default:
            goto bad;
        }
        *out++ = (char)c;
        in += 2;
        continue;
    bad:
        /* guestfish reports the offset in the partly decoded string */
        fprintf(stderr, "guestfish: invalid escape sequence in string (starting at offset %d)\n",
                (int)(out - p));
        return -1;
    }
    if (!*in) {
        fprintf(stderr, "guestfish: unterminated double quote\n");
        return -1;
    }
    *end = in;
    return out - p;
}

int fish_parse_line(char *buf, bool *exit_on_error, char **cmd, char **argv, int *argc,
                    char **pipe)
{
    *pipe = NULL;
    *argc = 0;
    for (;;) {
        while (*buf == ' ' || (*buf >= '\t' && *buf <= '\r'))
            buf++;
        if (!*buf || *buf == '#')
            return 0;
        if (*buf == '!' || (buf[0] == '<' && buf[1] == '!')) {
            fprintf(stderr, "guestfish: shell escapes ('!' and '<!') are not supported by "
                            "kvmkit fish\n");
            return -1;
        }
        if (*buf != '-')
            break;
        *exit_on_error = false;
        buf++;
    }
    size_t len = strcspn(buf, " \t");
    *cmd = buf;
    if (!buf[len])
        return 1;
    buf[len] = '\0';
    char *p = buf + len + 1;
    p += strspn(p, " \t");
    while (*p && *argc < FISH_MAX_ARGS) {
        char *arg, *next;
        if (*p == '"') {
            char *close;
            long n = parse_double_quoted(p + 1, &close);
            if (n < 0)
                return -1;
            if (close[1] && !blank(close[1])) {
                fprintf(stderr, "guestfish: command arguments not separated by whitespace\n");
                return -1;
            }
            arg = p + 1;
            arg[n] = '\0';
            next = close[1] ? close + 2 : close + 1;
        } else if (*p == '\'') {
            arg = p + 1;
            size_t n = strcspn(arg, "'");
            if (!arg[n]) {
                fprintf(stderr, "guestfish: unterminated single quote\n");
                return -1;
            }
            if (arg[n + 1] && !blank(arg[n + 1])) {
                fprintf(stderr, "guestfish: command arguments not separated by whitespace\n");
                return -1;
            }
            arg[n] = '\0';
            next = arg[n + 1] ? arg + n + 2 : arg + n + 1;
        } else if (*p == '|') {
            *p = '\0';
            *pipe = p + 1;
            break;
        } else {
            arg = p;
            size_t n = strcspn(p, " \t");
            next = p[n] ? p + n + 1 : p + n;
            p[n] = '\0';
        }
        argv[(*argc)++] = arg;
        p = next;
        p += strspn(p, " \t");
    }
    if (*argc == FISH_MAX_ARGS) { /* guestfish keeps a slot for the NULL */
        fprintf(stderr, "guestfish: too many arguments\n");
        return -1;
    }
    return 1;
}
