/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fish.c — `kvmkit fish`: the shell. Options as guestfish's (-a, --format,
 * -i, -m, -f, -x, --ro, -h), commands from the command line (separated by
 * ':'), a script (-f or stdin) or an interactive prompt with line editing
 * and history (libedit), dispatch to the command tables (fish.h), help,
 * and guestfish's error conventions: in a script the first failing
 * command ends it with exit status 1 unless it is prefixed with '-';
 * errors read "FILE:LINE: libguestfs: error: ..." (interactive:
 * "libguestfs: error: ...").
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <editline/readline.h>

#include "fish.h"
#include "gfs_opts.h"
#include "guestfs_cli.h"
#include "kk_version.h"

#define FISH_PROMPT "><fs> "


/* ---- messages ---------------------------------------------------------- */

const char *fish_api_name(const struct fish_cmd *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s", c->api ? c->api : c->name);
    for (char *p = buf; *p; p++)
        if (*p == '-')
            *p = '_';
    return buf;
}

__attribute__((format(printf, 3, 0)))
static void verror(struct fish *f, const char *prefix, const char *fmt, va_list ap)
{
    fflush(stdout);
    if (f && f->input_file && !f->interactive)
        fprintf(stderr, "%s:%d: ", f->input_file, f->lineno);
    fprintf(stderr, "libguestfs: error: %s", prefix ? prefix : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int fish_error(struct fish *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(f, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int fish_daemon_error(struct fish *f, const struct fish_cmd *c, const char *fmt, ...)
{
    char name[64], prefix[80];
    snprintf(prefix, sizeof(prefix), "%s: ", fish_api_name(c, name, sizeof(name)));
    va_list ap;
    va_start(ap, fmt);
    verror(f, prefix, fmt, ap);
    va_end(ap);
    return -1;
}

const char *fish_strerror(int rc)
{
    return strerror(rc < 0 ? -rc : rc);
}

int fish_need_root(struct fish *f, const struct fish_cmd *c)
{
    char name[64];
    for (size_t i = 0; i < gfs_nmounts(f->h); i++)
        if (strcmp(gfs_mount_at(f->h, i)->mountpoint, "/") == 0)
            return 0;
    return fish_daemon_error(f, c, "%s_stub: you must call 'mount' first to mount the root "
                                   "filesystem", fish_api_name(c, name, sizeof(name)));
}

int fish_abs_path(struct fish *f, const struct fish_cmd *c, const char *path)
{
    char name[64];
    if (path[0] == '/')
        return 0;
    return fish_daemon_error(f, c, "%s_stub: path must start with a / character",
                             fish_api_name(c, name, sizeof(name)));
}

int fish_check_path(struct fish *f, const struct fish_cmd *c, const char *path)
{
    if (fish_need_root(f, c) < 0)
        return -1;
    return fish_abs_path(f, c, path);
}

const struct gfs_device *fish_device_arg(struct fish *f, const struct fish_cmd *c,
                                         const char *name)
{
    char api[64];
    const struct gfs_device *d = NULL;
    if (strncmp(name, "/dev/", 5) == 0)
        d = gfs_find_device(f->h, name);
    if (!d) {
        if (strncmp(name, "/dev/", 5) == 0)
            fish_daemon_error(f, c, "%s_stub: %s: No such file or directory",
                              fish_api_name(c, api, sizeof(api)), name);
        else
            fish_daemon_error(f, c, "%s_stub: %s: expecting a device name",
                              fish_api_name(c, api, sizeof(api)), name);
    }
    return d;
}

int fish_parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "true", "t", "yes", "y", "on"};
    static const char *const no[] = {"0", "false", "f", "no", "n", "off"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

int fish_parse_int(const struct fish_cmd *c, const char *argname, const char *s, int *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    int err = 0;
    if (end == s)
        err = 4; /* LONGINT_INVALID */
    else if (errno == ERANGE)
        err = 1; /* LONGINT_OVERFLOW */
    else if (*end) {
        /* xstrtol suffixes "0kKMGTPEZY": 1024-based multipliers */
        static const char suffixes[] = "kKMGTPEZY";
        const char *sp = strchr(suffixes, *end);
        if (*end == '0' || !sp || end[1])
            err = 2; /* LONGINT_INVALID_SUFFIX_CHAR */
        else {
            int shift = 10 * (*end == 'k' || *end == 'K' ? 1 : (int)(sp - suffixes));
            if (shift >= 63 || (v != 0 && (v > (LLONG_MAX >> shift) || v < (LLONG_MIN >> shift))))
                err = 1;
            else
                v *= 1LL << shift;
        }
    }
    if (err) {
        fprintf(stderr, "%s: %s: invalid integer parameter (%s returned %u)\n", c->name, argname,
                "xstrtoll", err);
        return -1;
    }
    if (v < -(2LL << 30) || v > (2LL << 30) - 1) {
        fprintf(stderr, "%s: %s: integer out of range\n", c->name, argname);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int fish_parse_optbools(const struct fish_cmd *c, int argc, char **argv, int first,
                        const char *const *names, int *values, size_t n)
{
    unsigned seen = 0;
    for (int i = first; i < argc; i++) {
        size_t k;
        size_t len = 0;
        for (k = 0; k < n; k++) {
            len = strlen(names[k]);
            if (strncmp(argv[i], names[k], len) == 0 && argv[i][len] == ':')
                break;
        }
        if (k == n) {
            fprintf(stderr, "%s: unknown optional argument \"%s\"\n", c->name, argv[i]);
            return -1;
        }
        int b = fish_parse_bool(argv[i] + len + 1);
        if (b < 0) {
            fprintf(stderr, "guestfish: '%s': invalid boolean value, use 'true' or 'false'\n",
                    argv[i] + len + 1);
            return -1;
        }
        if (seen & 1u << k) {
            fprintf(stderr, "%s: optional argument \"%s\" given more than once\n", c->name,
                    names[k]);
            return -1;
        }
        seen |= 1u << k;
        values[k] = b;
    }
    return 0;
}

void fish_print_strings(char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%s\n", v[i]);
}

FILE *fish_file_out(struct fish *f, const char *name)
{
    if (strcmp(name, "-") == 0)
        return stdout;
    FILE *fp = fopen(name, "w");
    if (!fp)
        fish_error(f, "%s: %s", name, strerror(errno));
    return fp;
}

int fish_file_out_close(struct fish *f, FILE *fp, const char *name)
{
    if (fp == stdout)
        return fflush(stdout) == 0 ? 0 : fish_error(f, "write: %s", strerror(errno));
    bool bad = ferror(fp);
    if (fclose(fp) != 0 || bad)
        return fish_error(f, "%s: %s", name, strerror(errno ? errno : EIO));
    return 0;
}

/* ---- commands ------------------------------------------------------------ */

static int cmd_echo(struct fish *f, const struct fish_cmd *c, int argc, char **argv)
{
    (void)f, (void)c;
    for (int i = 0; i < argc; i++)
        printf("%s%s", i ? " " : "", argv[i]);
    printf("\n");
    return 0;
}

static int cmd_supported(struct fish *f, const struct fish_cmd *c, int argc, char **argv)
{
    (void)f, (void)c, (void)argc, (void)argv;
    printf("%-20s %s\n", "linuxfsuuid", "yes");
    printf("%-20s %s\n", "xattr", "yes");
    return 0;
}

static const struct fish_cmd local_cmds[] = {
    {"echo", NULL, FISH_LOCAL, 0, FISH_MAX_ARGS, NULL, "display a line of text", cmd_echo},
    {"supported", NULL, FISH_LOCAL, 0, 0, NULL, "list supported groups of commands",
     cmd_supported},
    {NULL, NULL, 0, 0, 0, NULL, NULL, NULL},
};

static const struct fish_cmd *const tables[] = {
    local_cmds, fish_dev_cmds, fish_inspect_cmds, fish_file_cmds, fish_dir_cmds, fish_copy_cmds,
};

static const struct fish_cmd *lookup(const char *name)
{
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const struct fish_cmd *c = tables[t]; c->name; c++) {
            if (strcasecmp(c->name, name) == 0 || (c->alias && strcasecmp(c->alias, name) == 0))
                return c;
            /* the C name with underscores works too */
            size_t i;
            for (i = 0; c->name[i] && name[i]; i++) {
                char a = c->name[i] == '-' ? '_' : c->name[i];
                if ((name[i] | 0x20) != (a | 0x20) && !(a == '_' && name[i] == '_'))
                    break;
            }
            if (!c->name[i] && !name[i])
                return c;
        }
    return NULL;
}

static int cmp_cmd(const void *a, const void *b)
{
    return strcmp((*(const struct fish_cmd *const *)a)->name,
                  (*(const struct fish_cmd *const *)b)->name);
}

static void list_commands(void)
{
    const struct fish_cmd *all[512];
    size_t n = 0;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const struct fish_cmd *c = tables[t]; c->name && n < 512; c++)
            all[n++] = c;
    qsort(all, n, sizeof(all[0]), cmp_cmd);
    printf("    %-16s     %s\n", "Command", "Description");
    printf("%-20s %s\n", "help", "display a list of commands or help on a command");
    printf("%-20s %s\n", "quit", "quit guestfish");
    for (size_t i = 0; i < n; i++)
        printf("%-20s %s\n", all[i]->name, all[i]->summary);
    printf("    %s\n", "Use -h <cmd> / help <cmd> to show detailed help for a command.");
}

static int display_command(struct fish *f, const char *name)
{
    const struct fish_cmd *c = lookup(name);
    if (!c) {
        if (strcasecmp(name, "help") == 0) {
            printf("help - display a list of commands or help on a command\n"
                   "     help --list\n     help cmd\n     help\n");
            return 0;
        }
        if (strcasecmp(name, "quit") == 0 || strcasecmp(name, "exit") == 0 ||
            strcasecmp(name, "q") == 0) {
            printf("quit - quit guestfish\n     quit\n");
            return 0;
        }
        fprintf(stderr, "%s: command not known: %s\n", name,
                f && f->interactive ? "use 'help --list' to list all commands"
                                    : "use -h to list all commands");
        return -1;
    }
    printf("NAME\n    %s - %s\n\n", c->name, c->summary);
    if (c->synopsis)
        printf("SYNOPSIS\n     %s\n\n", c->synopsis);
    printf("DESCRIPTION\n    kvmkit fish runs this command in-process on lib/guestfs; its\n"
           "    output is guestfish's (see guestfish(1) and docs/guestfs-fish.md).\n");
    if (c->alias)
        printf("\n    You can use '%s' as an alias for this command.\n", c->alias);
    printf("\n");
    return 0;
}

static int display_help(struct fish *f, int argc, char **argv)
{
    if (argc == 0) {
        if (!f->launched)
            printf("Add disk images to examine using the ‘-a’ option.\n"
                   "Once you have done this, use the ‘run’ command.\n");
        else
            printf("Find out what filesystems are available using ‘list-filesystems’ and then\n"
                   "mount them to examine their contents using ‘mount-ro’.\n");
        printf("\nFor more information about a command, use ‘help cmd’.\n\n");
        return 0;
    }
    if (argc == 1) {
        if (strcmp(argv[0], "--list") == 0 || strcmp(argv[0], "-l") == 0) {
            list_commands();
            return 0;
        }
        return display_command(f, argv[0]);
    }
    fprintf(stderr, "use 'help', 'help <cmd>' or 'help -l|--list' to list all commands\n");
    return -1;
}

static void trace_command(struct fish *f, const struct fish_cmd *c, int argc, char **argv)
{
    char name[64];
    (void)f;
    fflush(stdout);
    fprintf(stderr, "libguestfs: trace: %s", fish_api_name(c, name, sizeof(name)));
    for (int i = 0; i < argc; i++)
        fprintf(stderr, " \"%s\"", argv[i]);
    fputc('\n', stderr);
}

static int run_action(struct fish *f, const char *cmd, int argc, char **argv)
{
    const struct fish_cmd *c = lookup(cmd);
    if (!c) {
        fprintf(stderr, "%s: unknown command\n", cmd);
        if (f->command_num == 1)
            fprintf(stderr, "Did you mean to open a disk image?  guestfish -a disk.img\n"
                            "For a list of commands:             guestfish -h\n"
                            "For complete documentation:         man guestfish\n");
        return -1;
    }
    int rc;
    if (argc < c->min_args || argc > c->max_args)
        rc = FISH_WRONG_ARGS;
    else if (c->kind == FISH_DAEMON && !f->launched) {
        char name[64];
        rc = fish_error(f, "%s: call launch before using this function\n(in guestfish, don't "
                           "forget to use the 'run' command)",
                        fish_api_name(c, name, sizeof(name)));
    } else {
        if (f->echo)
            trace_command(f, c, argc, argv);
        rc = c->run(f, c, argc, argv);
    }
    if (rc == FISH_WRONG_ARGS) {
        fprintf(stderr, "error: incorrect number of arguments\n");
        if (c->synopsis)
            fprintf(stderr, "usage: %s\n", c->synopsis);
        fprintf(stderr, "type 'help %s' for more help on %s\n", cmd, cmd);
        rc = -1;
    }
    return rc;
}

int fish_issue(struct fish *f, const char *cmd, int argc, char **argv, const char *pipecmd)
{
    int saved_stdout = -1, rc;
    pid_t pid = -1;
    f->command_num++;
    if (pipecmd) {
        int fd[2];
        if (fflush(stdout) == EOF || pipe(fd) < 0) {
            perror("pipe");
            return -1;
        }
        pid = fork();
        if (pid < 0) {
            perror("fork");
            close(fd[0]);
            close(fd[1]);
            return -1;
        }
        if (pid == 0) {
            close(fd[1]);
            if (dup2(fd[0], 0) < 0)
                _exit(1);
            close(fd[0]);
            execl("/bin/sh", "sh", "-c", pipecmd, (char *)NULL);
            _exit(127);
        }
        close(fd[0]);
        saved_stdout = dup(1);
        if (saved_stdout < 0 || dup2(fd[1], 1) < 0) {
            perror("failed to dup stdout");
            close(fd[1]);
            if (saved_stdout >= 0)
                close(saved_stdout);
            waitpid(pid, NULL, 0);
            return -1;
        }
        close(fd[1]);
    }
    if (strcasecmp(cmd, "help") == 0)
        rc = display_help(f, argc, argv);
    else if (strcasecmp(cmd, "quit") == 0 || strcasecmp(cmd, "exit") == 0 ||
             strcasecmp(cmd, "q") == 0) {
        f->quit = true;
        rc = 0;
    } else
        rc = run_action(f, cmd, argc, argv);
    if (fflush(stdout) == EOF && !pipecmd) {
        perror("failed to flush standard output");
        rc = -1;
    }
    clearerr(stdout);
    if (pipecmd) {
        dup2(saved_stdout, 1);
        close(saved_stdout);
        waitpid(pid, NULL, 0);
    }
    return rc;
}

/* ---- input ---------------------------------------------------------------- */

static char history_path[4096];
static void print_inspect_prompt(struct fish *f);

/* Run one line; -1 when it failed and the script must end. */
static int run_line(struct fish *f, char *line, bool global_exit_on_error)
{
    bool exit_on_error = global_exit_on_error;
    char *cmd, *argv[FISH_MAX_ARGS], *pipecmd;
    int argc;
    int r = fish_parse_line(line, &exit_on_error, &cmd, argv, &argc, &pipecmd);
    if (r < 0 && exit_on_error)
        return -1;
    if (r == 1 && fish_issue(f, cmd, argc, argv, pipecmd) < 0 && exit_on_error)
        return -1;
    return 0;
}

static int script(struct fish *f, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = 0;
    while (!f->quit && (n = getline(&line, &cap, in)) >= 0) {
        f->lineno++;
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = '\0';
        if (run_line(f, line, true) < 0) {
            status = 1;
            break;
        }
    }
    free(line);
    return status;
}

static void interactive(struct fish *f)
{
    const char *home = getenv("HOME");
    using_history();
    if (home && *home) {
        snprintf(history_path, sizeof(history_path), "%s/.kvmkit-fish_history", home);
        read_history(history_path);
    }
    printf("\nWelcome to kvmkit fish, a guestfish-compatible shell for looking\n"
           "inside virtual machine disk images (read-only, no appliance).\n\n"
           "Type: ‘help’ for help on commands\n"
           "      ‘quit’ to quit the shell\n\n");
    print_inspect_prompt(f);
    while (!f->quit) {
        char *line = readline(FISH_PROMPT);
        if (!line)
            break;
        f->lineno++;
        if (*line) {
            /* guestfish skips repeating the previous line in the history */
            HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1)
                                                  : NULL;
            if (!last || strcmp(last->line, line) != 0)
                add_history(line);
        }
        (void)run_line(f, line, false);
        free(line);
    }
    printf("\n");
    if (history_path[0]) {
        stifle_history(500);
        write_history(history_path);
    }
}

/* Commands on the command line: "cmd args : cmd args ...". */
static int cmdline(struct fish *f, int argc, char **argv)
{
    int i = 0;
    while (i < argc) {
        const char *cmd = argv[i++];
        if (strcmp(cmd, ":") == 0) {
            fprintf(stderr, "guestfish: empty command on command line\n");
            return 1;
        }
        bool exit_on_error = true;
        if (cmd[0] == '-') {
            exit_on_error = false;
            cmd++;
        }
        int first = i;
        while (i < argc && strcmp(argv[i], ":") != 0)
            i++;
        int nargs = i - first;
        if (i < argc)
            i++; /* the ':' */
        if (fish_issue(f, cmd, nargs, argv + first, NULL) < 0 && exit_on_error)
            return 1;
        if (f->quit)
            break;
    }
    return 0;
}

/* ---- start-up ------------------------------------------------------------- */

void fish_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit fish [--options] [cmd [: cmd : cmd ...]]\n"
            "\n"
            "A guestfish-compatible shell over disk images (raw, qcow2), read in-process\n"
            "by lib/guestfs: no appliance, no root, read-only.\n"
            "\n"
            "Options:\n"
            "  -a, --add IMAGE      add a disk image (/dev/sda, /dev/sdb, ... in order)\n"
            "  --format[=raw|qcow2] format of the following -a images (none: probe)\n"
            "  -f, --file FILE      read commands from FILE\n"
            "  -h, --cmd-help [CMD] list the commands, or describe CMD\n"
            "  -i, --inspector      inspect the disks and mount the OS's filesystems\n"
            "  -m, --mount DEV[:MOUNTPOINT]  mount DEV on MOUNTPOINT (default /)\n"
            "  -r, --ro             read-only (always: lib/guestfs only reads)\n"
            "  -x                   echo each command (to stderr) before running it\n"
            "  -v, --verbose        print the warnings of launch\n"
            "  -V, --version        print the version\n"
            "  --help               this help\n"
            "\n"
            "Without commands on the command line, commands are read from the -f file,\n"
            "from stdin when it is not a terminal, or interactively (history in\n"
            "~/.kvmkit-fish_history). In a script the first failing command ends it with\n"
            "exit status 1, unless the command is written with a leading '-'.\n"
            "\n"
            "Example: kvmkit fish --ro -a disk.img run : list-filesystems\n");
}

static int mount_at_start(struct fish *f, struct gfs_opts *o)
{
    for (size_t i = 0; i < o->nmounts; i++) {
        char *argv[2] = {o->mounts[i].device, o->mounts[i].mountpoint};
        char cmd[] = "mount-ro";
        const struct fish_cmd *c = lookup(cmd);
        if (c->run(f, c, 2, argv) < 0) {
            fprintf(stderr, "guestfish: ‘%s’ could not be mounted.\n", argv[0]);
            return -1;
        }
    }
    return 0;
}

static int inspect_at_start(struct fish *f)
{
    static const char advice[] =
        "\n"
        "If using guestfish ‘-i’ option, remove this option and instead\n"
        "use the commands ‘run’ followed by ‘list-filesystems’.\n"
        "You can then mount filesystems you want by hand using the\n"
        "‘mount’ or ‘mount-ro’ command.\n";
    struct gfs_os *roots;
    int n = gfs_inspect_os(f->h, &roots);
    if (n < 0)
        return fish_error(f, "inspect_os: %s", gfs_last_error(f->h));
    if (n != 1) {
        fprintf(stderr, "guestfish: %s\n%s", n == 0 ? "no operating system was found on this disk"
                                                     : "multi-boot operating systems are not supported",
                advice);
        gfs_inspect_free(roots, n);
        return -1;
    }
    f->roots = roots;
    f->nroots = n;
    /* as guestfish: shorter mount points first; a failure other than / is a warning */
    struct gfs_os *os = &roots[0];
    size_t done = 0, errors = 0;
    for (size_t len = 1; done < os->nmountpoints && len < sizeof(os->mountpoints[0].mountpoint);
         len++)
        for (size_t i = 0; i < os->nmountpoints; i++) {
            struct gfs_inspect_mp *mp = &os->mountpoints[i];
            if (strlen(mp->mountpoint) != len)
                continue;
            done++;
            char *argv[2] = {mp->device, mp->mountpoint};
            char cmd[] = "mount-ro";
            const struct fish_cmd *c = lookup(cmd);
            if (c->run(f, c, 2, argv) < 0) {
                if (strcmp(mp->mountpoint, "/") == 0)
                    return -1;
                errors++;
            }
        }
    if (errors)
        fprintf(stderr, "guestfish: some filesystems could not be mounted (ignored)\n");
    return 0;
}

static void print_inspect_prompt(struct fish *f)
{
    if (!f->roots)
        return;
    const struct gfs_os *os = &f->roots[0];
    if (strcmp(os->product_name, "unknown") != 0 && os->product_name[0])
        printf("Operating system: %s\n", os->product_name);
    /* sorted by mount point (strcasecmp) */
    size_t n = os->nmountpoints;
    const struct gfs_inspect_mp *order[64];
    if (n > 64)
        n = 64;
    for (size_t i = 0; i < n; i++)
        order[i] = &os->mountpoints[i];
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcasecmp(order[j]->mountpoint, order[j - 1]->mountpoint) < 0;
             j--) {
            const struct gfs_inspect_mp *t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        printf("%s mounted on %s\n", order[i]->device, order[i]->mountpoint);
    printf("\n");
}

int fish_main(int argc, char **argv)
{
    enum { OPT_HELP = 256, OPT_FORMAT, OPT_IGNORE, OPT_UNSUPPORTED };
    static const struct option long_opts[] = {
        {"add", required_argument, NULL, 'a'},
        {"cmd-help", optional_argument, NULL, 'h'},
        {"file", required_argument, NULL, 'f'},
        {"format", optional_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, OPT_HELP},
        {"inspector", no_argument, NULL, 'i'},
        {"mount", required_argument, NULL, 'm'},
        {"no-sync", no_argument, NULL, 'n'},
        {"ro", no_argument, NULL, 'r'},
        {"rw", no_argument, NULL, 'w'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"keys-from-stdin", no_argument, NULL, OPT_IGNORE},
        {"echo-keys", no_argument, NULL, OPT_IGNORE},
        {"progress-bars", no_argument, NULL, OPT_IGNORE},
        {"no-progress-bars", no_argument, NULL, OPT_IGNORE},
        {"selinux", no_argument, NULL, OPT_IGNORE},
        {"network", no_argument, NULL, OPT_IGNORE},
        {"no-dest-paths", no_argument, NULL, OPT_IGNORE},
        {"pipe-error", no_argument, NULL, OPT_IGNORE},
        {"domain", required_argument, NULL, 'd'},
        {"connect", required_argument, NULL, 'c'},
        {"new", required_argument, NULL, 'N'},
        {"listen", no_argument, NULL, OPT_UNSUPPORTED},
        {"remote", optional_argument, NULL, OPT_UNSUPPORTED},
        {"key", required_argument, NULL, OPT_UNSUPPORTED},
        {"blocksize", optional_argument, NULL, OPT_UNSUPPORTED},
        {NULL, 0, NULL, 0},
    };
    struct gfs_opts o;
    struct fish f = {0};
    const char *file = NULL;
    bool verbose = false;
    int c, idx;
    gfs_opts_init(&o, "guestfish");
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "+a:c:d:Df:h::im:nN:rvVwx", long_opts, &idx)) != -1) {
        int rc = 0;
        switch (c) {
        case 'a':
            rc = gfs_opts_add_drive(&o, optarg);
            break;
        case OPT_FORMAT:
            rc = gfs_opts_set_format(&o, optarg);
            break;
        case 'f':
            if (file) {
                fprintf(stderr, "guestfish: only one -f parameter can be given\n");
                rc = -1;
            }
            file = optarg;
            break;
        case 'h': {
            int r = 0;
            if (optarg)
                r = display_command(NULL, optarg);
            else if (optind < argc && argv[optind][0] != '-')
                r = display_command(NULL, argv[optind++]);
            else
                list_commands();
            gfs_opts_free(&o);
            return r == 0 ? 0 : 1;
        }
        case 'i':
            o.inspect = true;
            break;
        case 'm':
            rc = gfs_opts_add_mount(&o, optarg);
            break;
        case 'n': case 'r': case 'w': case 'D': case OPT_IGNORE:
            break;
        case 'v':
            verbose = true;
            break;
        case 'V':
            printf("kvmkit fish %s (guestfish 1.48 compatible)\n", KK_VERSION);
            gfs_opts_free(&o);
            return 0;
        case 'x':
            f.echo = true;
            break;
        case OPT_HELP:
            fish_help(stdout);
            gfs_opts_free(&o);
            return 0;
        case 'c': case 'd': case 'N': case OPT_UNSUPPORTED:
            fprintf(stderr, "guestfish: option %s%s is not supported by kvmkit fish (no "
                            "libvirt, no writes)\n",
                    c == OPT_UNSUPPORTED ? "--" : "-",
                    c == OPT_UNSUPPORTED ? long_opts[idx].name : (char[]){(char)c, 0});
            rc = -1;
            break;
        default:
            fprintf(stderr, "Try ‘kvmkit fish --help’ for more information.\n");
            rc = -1;
        }
        if (rc < 0) {
            gfs_opts_free(&o);
            return 1;
        }
    }
    if (o.inspect && o.nmounts) {
        fprintf(stderr, "guestfish: cannot use -i and -m together\n");
        gfs_opts_free(&o);
        return 1;
    }
    /* a broken pipe must not kill us half-way through a command */
    signal(SIGPIPE, SIG_IGN);
    f.interactive = !file && isatty(0);
    int status = 0;
    if (gfs_handle_new(&f.h) < 0) {
        fprintf(stderr, "guestfish: out of memory\n");
        gfs_opts_free(&o);
        return 1;
    }
    for (size_t i = 0; i < o.ndrives; i++)
        if (gfs_add_drive(f.h, o.drives[i].path, o.drives[i].format) < 0) {
            fish_error(&f, "%s", gfs_last_error(f.h));
            status = 1;
            goto out;
        }
    if (o.nmounts || o.inspect) {
        if (gfs_launch(f.h) < 0) {
            fish_error(&f, "%s", gfs_last_error(f.h));
            status = 1;
            goto out;
        }
        f.launched = true;
        if ((o.inspect && inspect_at_start(&f) < 0) || mount_at_start(&f, &o) < 0) {
            status = 1;
            goto out;
        }
    }
    if (verbose && f.launched)
        for (size_t i = 0; i < gfs_nwarnings(f.h); i++)
            fprintf(stderr, "guestfish: warning: %s\n", gfs_warning(f.h, i));
    FILE *in = stdin;
    if (file) {
        in = fopen(file, "r");
        if (!in) {
            fprintf(stderr, "guestfish: open: %s: %s\n", file, strerror(errno));
            status = 1;
            goto out;
        }
    }
    if (!f.interactive)
        f.input_file = file ? file : "*stdin*";
    if (optind < argc)
        status = cmdline(&f, argc - optind, argv + optind);
    else if (f.interactive)
        interactive(&f);
    else
        status = script(&f, in);
    if (in != stdin)
        fclose(in);
out:
    gfs_inspect_free(f.roots, f.nroots);
    gfs_handle_free(f.h);
    gfs_opts_free(&o);
    return status;
}
