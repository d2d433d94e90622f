/* SPDX-License-Identifier: Apache-2.0 */
/*
 * img_cmd.h — `kvmkit img`: qemu-img's subcommands on lib/image.
 * Each subcommand returns the process exit status.
 */
#ifndef KK_IMG_CMD_H
#define KK_IMG_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "image.h"
#include "kk_common.h"

int img_cmd_main(int argc, char **argv);
void img_cmd_help(FILE *out);

int img_cmd_convert(int argc, char **argv);
int img_cmd_bench(int argc, char **argv);

/* Shared helpers (img_main.c). */
int img_cmd_parse_size(const char *s, uint64_t *out);
/* Apply one "-o" option list to @o; returns 0 or prints why and returns -1. */
int img_cmd_parse_create_opts(const char *list, struct img_create_opts *o, char **strings_to_free);
int img_cmd_open(const char *path, const char *fmt, unsigned flags, struct img **out);
void img_cmd_err(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
