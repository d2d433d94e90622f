/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fish.h — `kvmkit fish`, a guestfish-compatible shell on lib/guestfs.
 * Shared between the shell (fish.c: options, the command loop, help),
 * the parser (fish_parse.c) and the command files, split by topic:
 *   fish_dev.c     launch, devices, partitions, filesystems, mounts
 *   fish_inspect.c inspect-os and inspect-get-*
 *   fish_file.c    reading files: cat, head, tail, checksum, file, ...
 *   fish_dir.c     directories and metadata: ls, ll, find, du, stat, df
 *   fish_copy.c    download, copy-out, tar-out
 *
 * Every command prints what guestfish prints for it (the generated
 * printers of libguestfs: strings one a line, booleans true/false, tables
 * "key: value", structs "field: value") and fails with guestfish's
 * message: a function of the "daemon" prefixes its name ("cat: /nope: No
 * such file or directory"), argument checks name the stub
 * ("ls: ls_stub: you must call 'mount' first to mount the root
 * filesystem"). See docs/guestfs-fish.md for what differs.
 *
 * Threads: one; the shell owns the handle.
 */
#ifndef KK_FISH_H
#define KK_FISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "guestfs.h"
#include "inspect.h"

struct fish {
    struct gfs_handle *h;
    bool launched;
    /* the last inspect-os result (NULL, 0 before) */
    struct gfs_os *roots;
    int nroots;
    bool echo;          /* -x: echo each command to stderr */
    bool interactive;   /* errors printed without FILE:LINE */
    const char *input_file; /* "*stdin*" or the -f file */
    int lineno;
    bool quit;
    int command_num;    /* commands issued so far, from 1 */
};

/* A command. @min_args..@max_args counts optional "name:value" arguments
 * in the maximum. @run returns 0, -1 (error already printed) or
 * FISH_WRONG_ARGS. */
#define FISH_WRONG_ARGS (-2)

enum fish_kind {
    FISH_LOCAL,   /* runs in the shell (help, echo, ...) */
    FISH_LIBRARY, /* a library call: no launch needed, errors unprefixed */
    FISH_DAEMON,  /* an appliance call: launch needed, errors "name: ..." */
};

struct fish_cmd {
    const char *name;     /* "mount-ro" */
    const char *alias;    /* "run" for launch, or NULL */
    enum fish_kind kind;
    int min_args, max_args;
    const char *synopsis; /* "mount-ro mountable mountpoint" (NULL: none) */
    const char *summary;  /* guestfish's one-line description */
    int (*run)(struct fish *f, const struct fish_cmd *c, int argc, char **argv);
    const char *api;      /* the API named in errors when not the command's (cat: "download") */
};

/* Command tables of each topic file. */
extern const struct fish_cmd fish_dev_cmds[];
extern const struct fish_cmd fish_inspect_cmds[];
extern const struct fish_cmd fish_file_cmds[];
extern const struct fish_cmd fish_dir_cmds[];
extern const struct fish_cmd fish_copy_cmds[];

/* The name with '-' turned into '_' (the C API's name, used in errors). */
const char *fish_api_name(const struct fish_cmd *c, char *buf, size_t len);

/*
 * Print "libguestfs: error: MSG" as guestfish does (prefixed by
 * "FILE:LINE: " when not interactive). fish_daemon_error() prefixes the
 * API name of @c ("cat: "). Both return -1.
 */
int fish_error(struct fish *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fish_daemon_error(struct fish *f, const struct fish_cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks of the daemon's argument stubs; each prints the error and
 * returns -1 on failure. */
int fish_need_root(struct fish *f, const struct fish_cmd *c);
int fish_abs_path(struct fish *f, const struct fish_cmd *c, const char *path);
/* Both of the above, for a Pathname argument. */
int fish_check_path(struct fish *f, const struct fish_cmd *c, const char *path);
/* A Device/Mountable argument: the device, or NULL after the error. */
const struct gfs_device *fish_device_arg(struct fish *f, const struct fish_cmd *c,
                                         const char *name);
/* "true"/"false"/"yes"/"no"/"on"/"off"/"1"/"0": 1, 0, or -1 (message printed). */
int fish_parse_bool(const char *s);
/* guestfish's Int argument (xstrtoll with suffixes, 31 bits): 0 or -1
 * after printing the error. */
int fish_parse_int(const struct fish_cmd *c, const char *argname, const char *s, int *out);
/* Optional arguments "name:value" of boolean type; @names and @values
 * have @n entries. 0, or -1 after printing the error. */
int fish_parse_optbools(const struct fish_cmd *c, int argc, char **argv, int first,
                        const char *const *names, int *values, size_t n);

/* The errno of a lib/guestfs failure as strerror() text, for messages of
 * the form "PATH: No such file or directory". */
const char *fish_strerror(int rc);

/* Read a whole regular file of the guest (bounded) or print the error as
 * the daemon would ("NAME: PATH: No such file or directory"). */
int fish_read_file(struct fish *f, const struct fish_cmd *c, const char *path, char **data,
                   size_t *len);

/* Stream regular file @path in chunks to @cb (returns < 0 to stop), or
 * print the error. */
int fish_stream_file(struct fish *f, const struct fish_cmd *c, const char *path,
                     int (*cb)(void *arg, const void *buf, size_t len), void *arg);

/* checksum CSUMTYPE PATH as text into @out, or print the error. */
int fish_checksum(struct fish *f, const struct fish_cmd *c, const char *type, const char *path,
                  char *out, size_t outlen);

/* Open a local output file for a FileOut argument ("-" is stdout).
 * NULL after printing the error. */
FILE *fish_file_out(struct fish *f, const char *name);
int fish_file_out_close(struct fish *f, FILE *fp, const char *name);

/*
 * Parse one guestfish command line in place (@buf is modified): see
 * fish_parse.c. Returns 1 with *cmd, argv[0..*argc-1] (pointers into
 * @buf), 0 for nothing to run (blank, comment), -1 on a syntax error
 * (message printed). *exit_on_error is cleared by a leading '-'. *pipe
 * gets a "| shell command" or NULL.
 */
#define FISH_MAX_ARGS 64
int fish_parse_line(char *buf, bool *exit_on_error, char **cmd, char **argv, int *argc,
                    char **pipe);

/* Print a string list, one a line; a table "key: value". */
void fish_print_strings(char *const *v, size_t n);

/* The shell's entry points (guestfs_cli.h has fish_main/fish_help). */
int fish_issue(struct fish *f, const char *cmd, int argc, char **argv, const char *pipe);

#endif
